//! Text built from parts and integers without `core::fmt`: the one decimal and hex writer of the
//! crates that reach the wire (wsman, cim and what renders through them).
//!
//! Why not `format!`: on the bare-metal image `core::fmt` (its argument walker, padding,
//! per-type `Display` code) stays linked while a single `format!`, `write!` or integer
//! `to_string` remains on a path the image compiles, and removing it needs every site gone at
//! once (BENCHMARKS.md, "the ninth pass"). The functions here write the same text `{}`, `{:02X}`
//! and `{:#04x}` write; the unit tests compare them with `core::fmt`.

use alloc::string::String;

/// `s` cut at its first `sep` (an ASCII byte, so never inside a character), as
/// `s.split_once(char::from(sep))` cuts it.
pub(crate) fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The parts joined into one string, allocated once at their total length.
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// An integer's decimal text as `{}` writes it, held on the stack (no allocation), for a part
/// of [`cat`] or a writer's `put`.
pub struct Dec {
    digits: [u8; 20],
    at: usize,
}

impl Dec {
    /// The text of an unsigned integer (any width: every unsigned type widens to `u64`).
    pub fn new(n: impl Into<u64>) -> Self {
        Self::from_parts(false, n.into())
    }

    /// The text of a signed integer.
    pub fn signed(n: impl Into<i64>) -> Self {
        let n = n.into();
        Self::from_parts(n < 0, n.unsigned_abs())
    }

    /// A `usize` (lengths, limits, counts), which has no `Into<u64>`.
    pub fn usize(n: usize) -> Self {
        Self::from_parts(false, n as u64)
    }

    /// The text of `-magnitude` when `negative` (and the magnitude is not 0), else `magnitude`.
    /// Out of line: one copy of the digit loop for every caller.
    #[inline(never)]
    pub fn from_parts(negative: bool, magnitude: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut n = magnitude;
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 {
                break;
            }
        }
        // u64::MAX has 20 digits, which fill the buffer; a signed magnitude is at most 2^63
        // (19 digits), so the sign always has its byte.
        if negative && magnitude != 0 && at > 0 {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'-';
            }
        }
        Self { digits, at }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits and '-' were written.
        self.digits
            .get(self.at..)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or("")
    }
}

/// Appends `n` in decimal with leading zeros to at least `width` digits, as `{n:0width$}`
/// writes it.
pub fn push_padded(out: &mut String, n: u64, width: usize) {
    let d = Dec::new(n);
    let digits = d.as_str();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// `n`'s last `width` hex digits (at most 8), upper case like `{:0width$X}` for a value that
/// fits the width (every caller passes one that does), held on the stack.
pub struct Hex {
    digits: [u8; 8],
    len: usize,
}

impl Hex {
    pub fn upper(n: u32, width: usize) -> Self {
        Self::new(n, width, b'A')
    }

    pub fn lower(n: u32, width: usize) -> Self {
        Self::new(n, width, b'a')
    }

    #[inline(never)]
    fn new(n: u32, width: usize, ten: u8) -> Self {
        let len = width.min(8);
        let mut digits = [0u8; 8];
        for (i, d) in digits.iter_mut().take(len).enumerate() {
            let nibble = ((n >> (4 * (len - 1 - i))) & 0xF) as u8;
            *d = if nibble < 10 {
                b'0' + nibble
            } else {
                ten + nibble - 10
            };
        }
        Self { digits, len }
    }

    pub fn as_str(&self) -> &str {
        self.digits
            .get(..self.len)
            .and_then(|d| core::str::from_utf8(d).ok())
            .unwrap_or("")
    }
}

/// `s` as `str::parse::<u64>` reads it: an optional `+`, then one or more ASCII digits, and
/// no overflow. One out-of-line parser for every integer type (through [`parse_i64`] and
/// `try_from`): the library's is generic, and each type parsed had its own inlined copy
/// (~0.2-0.35 KiB each on the bare-metal image).
#[inline(never)]
pub fn parse_u64(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for b in digits.bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `s` as `str::parse::<i64>` reads it: one optional sign, then one or more ASCII digits, and
/// no overflow. A narrower type is `parse_i64(s).and_then(|n| T::try_from(n).ok())`, which
/// accepts exactly what `str::parse::<T>` does.
pub fn parse_i64(s: &str) -> Option<i64> {
    match s.strip_prefix('-') {
        // "-+1" is refused, as by the library: one sign only.
        Some(magnitude) if !magnitude.starts_with('+') => {
            let n = parse_u64(magnitude)?;
            // Down to i64::MIN, whose magnitude is 2^63.
            (n <= 1 << 63).then(|| (n as i64).wrapping_neg())
        }
        Some(_) => None,
        None => i64::try_from(parse_u64(s)?).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn cut_cuts_where_split_once_cuts() {
        for s in [
            "",
            ";",
            "a;b;c",
            "text/xml; charset=utf-8",
            "é;ü=ß",
            "x=",
            "=y",
            "no sep",
        ] {
            for sep in [b';', b'=', b' '] {
                assert_eq!(cut(s, sep), s.split_once(char::from(sep)), "{s:?} {sep}");
            }
        }
    }

    #[test]
    fn dec_writes_what_display_writes() {
        for n in [
            0u64,
            7,
            10,
            42,
            99,
            100,
            65_535,
            1_000_000,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(Dec::new(n).as_str(), format!("{n}"));
        }
        for n in [
            0i64,
            -1,
            1,
            -42,
            128,
            -128,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            assert_eq!(Dec::signed(n).as_str(), format!("{n}"));
        }
        assert_eq!(Dec::usize(usize::MAX).as_str(), format!("{}", usize::MAX));
        assert_eq!(Dec::from_parts(true, 0).as_str(), "0");
        assert_eq!(Dec::new(255u8).as_str(), "255");
    }

    #[test]
    fn hex_writes_what_upper_and_lower_hex_write() {
        for b in 0..=255u8 {
            assert_eq!(Hex::upper(b.into(), 2).as_str(), format!("{b:02X}"));
            assert_eq!(Hex::lower(b.into(), 2).as_str(), format!("{b:02x}"));
            // `{:#04x}` is "0x" and two digits for every u8.
            assert_eq!(
                cat(&["0x", Hex::lower(b.into(), 2).as_str()]),
                format!("{b:#04x}")
            );
        }
        for n in [0u16, 0x1, 0xAB, 0xBEEF, 0xFFFF] {
            assert_eq!(Hex::upper(n.into(), 4).as_str(), format!("{n:04X}"));
        }
        assert_eq!(Hex::upper(0xDEAD_BEEF, 8).as_str(), "DEADBEEF");
    }

    #[test]
    fn parsers_accept_what_str_parse_accepts() {
        let mut texts: alloc::vec::Vec<alloc::string::String> = [
            "",
            "+",
            "-",
            "0",
            "+0",
            "-0",
            "00",
            "007",
            "+-1",
            "-+1",
            "++1",
            "--1",
            " 1",
            "1 ",
            "1a",
            "a1",
            "1.0",
            "1e3",
            "0x10",
            "42",
            "-42",
            "+42",
            "\u{661}",
            "１",
            "127",
            "128",
            "-128",
            "-129",
            "255",
            "256",
            "32767",
            "32768",
            "-32768",
            "-32769",
            "65535",
            "65536",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "-18446744073709551615",
            "99999999999999999999999",
            "+18446744073709551615",
            "-00000000000000000000009223372036854775808",
        ]
        .iter()
        .map(|t| alloc::string::String::from(*t))
        .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x >> (x % 64);
            texts.push(format!("{n}"));
            texts.push(format!("-{n}"));
            texts.push(format!("+{}", n % 100_000));
        }
        for t in &texts {
            assert_eq!(parse_u64(t), t.parse::<u64>().ok(), "{t:?}");
            assert_eq!(parse_i64(t), t.parse::<i64>().ok(), "{t:?}");
            let i = parse_i64(t);
            let u = parse_u64(t);
            assert_eq!(
                i.and_then(|n| i32::try_from(n).ok()),
                t.parse::<i32>().ok(),
                "{t:?}"
            );
            assert_eq!(
                i.and_then(|n| i8::try_from(n).ok()),
                t.parse::<i8>().ok(),
                "{t:?}"
            );
            assert_eq!(
                u.and_then(|n| u16::try_from(n).ok()),
                t.parse::<u16>().ok(),
                "{t:?}"
            );
            assert_eq!(
                u.and_then(|n| u8::try_from(n).ok()),
                t.parse::<u8>().ok(),
                "{t:?}"
            );
            assert_eq!(
                u.and_then(|n| u32::try_from(n).ok()),
                t.parse::<u32>().ok(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn push_padded_writes_what_zero_padded_display_writes() {
        for n in [0u64, 7, 42, 999, 1000, 12_345, u64::MAX] {
            for width in 0..=6 {
                let mut s = String::from("x");
                push_padded(&mut s, n, width);
                assert_eq!(s, format!("x{n:0width$}"));
            }
        }
    }

    #[test]
    fn cat_joins_in_one_allocation() {
        let s = cat(&["a", "", "bc", Dec::new(12u8).as_str()]);
        assert_eq!(s, "abc12");
        assert_eq!(s.capacity(), 5);
        assert_eq!(cat(&[]), "");
    }
}
