//! `xs:duration` as WS-Management uses it for OperationTimeout and MaxTime.
//!
//! Clients send `PT60.000S`, `PT20S`, `PT1.000S` and the occasional `P0DT0H1M40S`; years and
//! months have no fixed length, so they are counted as 365 and 30 days (a timeout that long is
//! clamped anyway).

/// A parsed duration in milliseconds; `negative` for a leading `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub negative: bool,
    pub ms: u64,
}

/// The designators in the order they must appear: letter, whether it belongs after the `T`,
/// and its length in milliseconds. A designator's rank is its index + 1.
const UNITS: [(u8, bool, u64); 6] = [
    (b'Y', false, 365 * 86_400_000),
    (b'M', false, 30 * 86_400_000),
    (b'D', false, 86_400_000),
    (b'H', true, 3_600_000),
    (b'M', true, 60_000),
    (b'S', true, 1_000),
];

/// Parses an `xs:duration`; `None` when the text is not one. Values saturate at `u64::MAX` ms.
///
/// One pass over the bytes with a table of designators: the bare-metal image held the
/// sub-slicing (each with its char-boundary check) and a match per designator.
pub fn parse(text: &str) -> Option<Duration> {
    let b = text.trim().as_bytes();
    let (negative, b) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    let b = b.strip_prefix(b"P")?;
    let digit = |i: usize| {
        b.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u64::from(c - b'0'))
    };
    let mut i = 0;
    let mut ms: u64 = 0;
    let mut any = false;
    let mut in_time = false;
    // Designators must appear in this order; `order` remembers the rank of the last one seen.
    let mut order = 0;
    while i < b.len() {
        if b[i] == b'T' {
            if in_time || i + 1 == b.len() {
                return None;
            }
            in_time = true;
            i += 1;
            continue;
        }
        let start = i;
        let mut whole = 0u64;
        while let Some(d) = digit(i) {
            whole = whole.saturating_mul(10).saturating_add(d);
            i += 1;
        }
        let mut digits = i - start;
        let has_dot = b.get(i) == Some(&b'.');
        // Milliseconds from the first three fraction digits; finer precision is dropped.
        let mut part = 0u64;
        if has_dot {
            i += 1;
            let frac = i;
            while let Some(d) = digit(i) {
                if i - frac < 3 {
                    part = part * 10 + d;
                }
                i += 1;
            }
            for _ in (i - frac)..3 {
                part *= 10;
            }
            digits += i - frac;
        }
        if digits == 0 {
            return None;
        }
        let designator = *b.get(i)?;
        let (k, &(_, _, unit)) = UNITS
            .iter()
            .enumerate()
            .find(|(_, (d, time, _))| *d == designator && *time == in_time)?;
        let rank = k + 1;
        if rank <= order || (has_dot && designator != b'S') {
            return None;
        }
        order = rank;
        ms = ms
            .saturating_add(whole.saturating_mul(unit))
            .saturating_add(part);
        any = true;
        i += 1;
    }
    if !any {
        return None;
    }
    Some(Duration { negative, ms })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    /// The parser before the table, kept to compare against.
    fn reference(text: &str) -> Option<Duration> {
        let s = text.trim();
        let (negative, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut s = s.strip_prefix('P')?;
        let mut ms: u64 = 0;
        let mut any = false;
        let mut in_time = false;
        // Designators must appear in this order; `order` remembers the last one seen.
        let mut order = 0u8;
        while !s.is_empty() {
            if let Some(rest) = s.strip_prefix('T') {
                if in_time {
                    return None;
                }
                in_time = true;
                s = rest;
                if s.is_empty() {
                    return None;
                }
                continue;
            }
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            let frac_digits = if s.as_bytes().get(digits) == Some(&b'.') {
                s[digits + 1..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count()
            } else {
                0
            };
            let has_dot = s.as_bytes().get(digits) == Some(&b'.');
            let num_end = digits + if has_dot { 1 + frac_digits } else { 0 };
            if digits == 0 && frac_digits == 0 {
                return None;
            }
            let designator = *s.as_bytes().get(num_end)?;
            let whole = parse_u64_saturating(&s[..digits]);
            let (unit_ms, rank): (u64, u8) = match (in_time, designator) {
                (false, b'Y') => (365 * 86_400_000, 1),
                (false, b'M') => (30 * 86_400_000, 2),
                (false, b'D') => (86_400_000, 3),
                (true, b'H') => (3_600_000, 4),
                (true, b'M') => (60_000, 5),
                (true, b'S') => (1_000, 6),
                _ => return None,
            };
            if rank <= order || (has_dot && designator != b'S') {
                return None;
            }
            order = rank;
            ms = ms.saturating_add(whole.saturating_mul(unit_ms));
            if has_dot {
                // Milliseconds from the first three fraction digits; finer precision is dropped.
                let frac = &s[digits + 1..digits + 1 + frac_digits];
                let mut part = 0u64;
                for i in 0..3 {
                    part = part * 10 + frac.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
                }
                ms = ms.saturating_add(part);
            }
            any = true;
            s = &s[num_end + 1..];
        }
        if !any {
            return None;
        }
        Some(Duration { negative, ms })
    }

    fn parse_u64_saturating(digits: &str) -> u64 {
        digits.bytes().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
    }

    /// Every string of up to five symbols from the alphabet the grammar cares about, and longer
    /// generated ones, parse to the same result as the parser before the table.
    #[test]
    fn agrees_with_the_reference_parser() {
        const ALPHABET: [&str; 14] = [
            "P", "T", "Y", "M", "D", "H", "S", ".", "-", "0", "7", "12", " ", "\u{e9}",
        ];
        let mut n = 0u64;
        let mut word = vec![0usize; 0];
        loop {
            let text: String = word.iter().map(|&k| ALPHABET[k]).collect();
            assert_eq!(parse(&text), reference(&text), "{text:?}");
            n += 1;
            // Next word in counting order over the alphabet, up to six symbols.
            let mut k = 0;
            loop {
                if k == word.len() {
                    word.push(0);
                    break;
                }
                word[k] += 1;
                if word[k] < ALPHABET.len() {
                    break;
                }
                word[k] = 0;
                k += 1;
            }
            if word.len() > 5 {
                break;
            }
        }
        assert!(n > 500_000);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..200_000 {
            let mut text = String::from(if seed & 1 == 0 { "P" } else { "-P" });
            for _ in 0..(seed >> 8) % 12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let piece = match seed % 8 {
                    0 => "T",
                    1 => ".",
                    2 => "999999999999",
                    _ => ["Y", "M", "D", "H", "S", "1", "25", "0.5", "123456"]
                        [(seed >> 3) as usize % 9],
                };
                text.push_str(piece);
            }
            assert_eq!(parse(&text), reference(&text), "{text:?}");
        }
    }

    fn ms(s: &str) -> Option<u64> {
        parse(s).map(|d| d.ms)
    }

    #[test]
    fn client_forms() {
        assert_eq!(ms("PT60.000S"), Some(60_000));
        assert_eq!(ms("PT20S"), Some(20_000));
        assert_eq!(ms("PT1.000S"), Some(1_000));
        assert_eq!(ms("PT0.5S"), Some(500));
        assert_eq!(ms("P0DT0H1M40S"), Some(100_000));
        assert_eq!(ms("P1D"), Some(86_400_000));
        assert_eq!(ms(" PT1M "), Some(60_000));
        assert_eq!(
            parse("-PT5S"),
            Some(Duration {
                negative: true,
                ms: 5_000
            })
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "P",
            "PT",
            "60",
            "PT60",
            "PTS",
            "P1H",
            "PT1D",
            "PT1S1M",
            "P1.5D",
            "PT1.S2",
            "PT-1S",
            "PT1\u{e9}S",
            "P\u{e9}",
            "PT1.\u{e9}S",
            "PxS",
            "P1M1Y",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn saturates() {
        assert_eq!(ms("P99999999999999999999999Y"), Some(u64::MAX));
    }
}
