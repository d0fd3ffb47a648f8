//! The packed strings of SDR ID strings and FRU fields (BCD plus, 6-bit ASCII, 8-bit
//! ASCII+Latin 1, and the two-byte Unicode of non-English FRU areas).
//!
//! SDRs and FRU areas share the packings but not the type/length byte layout, so this module
//! only converts between characters and packed bytes; [`crate::sdr`] and [`crate::fru`] own the
//! type/length bytes. A [`Text`] either borrows the packed bytes off the wire (decoding lazily,
//! without allocation) or borrows a `&str` that an encoder will pack, so one type serves the
//! parser, the builder and comparisons between them.

use core::fmt;

/// How the bytes of a string are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextEncoding {
    /// Type 00b: "Unicode" in an SDR, "binary or unspecified" in a FRU area. Nobody agrees on
    /// what the SDR variant holds (ipmitool prints the bytes as they are), so it is shown as
    /// text when every byte is printable ASCII and as hex otherwise.
    Unspecified,
    /// Type 01b: two characters per byte, high nibble first: `0-9`, space, `-`, `.`; the three
    /// reserved codes are shown as `:`, `,`, `_` as ipmitool does, so output matches it.
    BcdPlus,
    /// Type 10b: four characters in three bytes, six bits each, least significant bits first,
    /// each character offset from 0x20 (so only ` ` to `_`, upper case).
    SixBitAscii,
    /// Type 11b (SDR, and FRU areas in English): one byte per character, ISO 8859-1.
    Latin1,
    /// Type 11b in a FRU area whose language code is not English: UCS-2, little endian.
    Ucs2Le,
}

const BCD_PLUS: [char; 16] = [
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-', '.', ':', ',', '_',
];

/// Why a string could not be packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// A character has no code in the requested packing.
    Unrepresentable(char),
    /// The packed form is longer than the field allows.
    TooLong,
}

/// A string as it is stored in an SDR or FRU field.
#[derive(Debug, Clone, Copy)]
pub enum Text<'a> {
    /// Packed bytes, as read from the wire.
    Packed {
        encoding: TextEncoding,
        bytes: &'a [u8],
    },
    /// Characters that an encoder packs with `encoding`.
    Str { encoding: TextEncoding, s: &'a str },
}

impl<'a> Text<'a> {
    /// The empty string (packs to zero bytes in every encoding).
    pub const EMPTY: Text<'static> = Text::Packed {
        encoding: TextEncoding::Latin1,
        bytes: &[],
    };

    /// A string to be packed as 8-bit ASCII + Latin 1, the packing every console decodes.
    pub const fn new(s: &'a str) -> Self {
        Text::Str {
            encoding: TextEncoding::Latin1,
            s,
        }
    }

    /// A string to be packed with a chosen encoding (for EEPROM images that mimic real parts).
    pub const fn with_encoding(s: &'a str, encoding: TextEncoding) -> Self {
        Text::Str { encoding, s }
    }

    /// Packed bytes taken as they are.
    pub const fn packed(encoding: TextEncoding, bytes: &'a [u8]) -> Self {
        Text::Packed { encoding, bytes }
    }

    pub const fn encoding(&self) -> TextEncoding {
        match self {
            Text::Packed { encoding, .. } | Text::Str { encoding, .. } => *encoding,
        }
    }

    /// The packed bytes when this text came off the wire.
    pub const fn raw(&self) -> Option<&'a [u8]> {
        match self {
            Text::Packed { bytes, .. } => Some(bytes),
            Text::Str { .. } => None,
        }
    }

    /// The decoded characters.
    pub fn chars(&self) -> Chars<'a> {
        match *self {
            Text::Packed { encoding, bytes } => Chars::Packed {
                encoding: if encoding == TextEncoding::Unspecified && !printable(bytes) {
                    None
                } else {
                    Some(encoding)
                },
                bytes,
                pos: 0,
            },
            Text::Str { s, .. } => Chars::Str(s.chars()),
        }
    }

    /// Whether the decoded characters equal `s`. Lets callers compare without a buffer.
    pub fn eq_str(&self, s: &str) -> bool {
        self.chars().eq(s.chars())
    }

    /// The number of bytes [`Text::pack`] writes.
    pub fn packed_len(&self) -> Result<usize, TextError> {
        match *self {
            Text::Packed { bytes, .. } => Ok(bytes.len()),
            Text::Str { encoding, s } => {
                let n = s.chars().count();
                Ok(match encoding {
                    TextEncoding::BcdPlus => n.div_ceil(2),
                    TextEncoding::SixBitAscii => (n * 6).div_ceil(8),
                    TextEncoding::Latin1 => n,
                    TextEncoding::Ucs2Le => n * 2,
                    TextEncoding::Unspecified => s.len(),
                })
            }
        }
    }

    /// Packs into the front of `out`, returning the byte count.
    ///
    /// An odd-length BCD plus string is padded with a space, and a six-bit string whose length
    /// is 3 mod 4 decodes with one trailing space, because both packings only have whole bytes.
    pub fn pack(&self, out: &mut [u8]) -> Result<usize, TextError> {
        let len = self.packed_len()?;
        let out = out.get_mut(..len).ok_or(TextError::TooLong)?;
        match *self {
            Text::Packed { bytes, .. } => out.copy_from_slice(bytes),
            Text::Str { encoding, s } => match encoding {
                TextEncoding::Unspecified => out.copy_from_slice(s.as_bytes()),
                TextEncoding::Latin1 => {
                    for (o, c) in out.iter_mut().zip(s.chars()) {
                        *o = u8::try_from(u32::from(c))
                            .map_err(|_| TextError::Unrepresentable(c))?;
                    }
                }
                TextEncoding::Ucs2Le => {
                    for (o, c) in out.chunks_exact_mut(2).zip(s.chars()) {
                        let u = u16::try_from(u32::from(c))
                            .map_err(|_| TextError::Unrepresentable(c))?;
                        o.copy_from_slice(&u.to_le_bytes());
                    }
                }
                TextEncoding::BcdPlus => {
                    out.fill(0xAA);
                    for (i, c) in s.chars().enumerate() {
                        let code = BCD_PLUS
                            .iter()
                            .position(|&b| b == c)
                            .ok_or(TextError::Unrepresentable(c))?
                            as u8;
                        let shift = if i % 2 == 0 { 4 } else { 0 };
                        out[i / 2] = (out[i / 2] & !(0x0F << shift)) | (code << shift);
                    }
                }
                TextEncoding::SixBitAscii => {
                    out.fill(0);
                    for (i, c) in s.chars().enumerate() {
                        let code = u32::from(c);
                        if !(0x20..=0x5F).contains(&code) {
                            return Err(TextError::Unrepresentable(c));
                        }
                        let v = (code - 0x20) as u16;
                        let bit = i * 6;
                        let (byte, off) = (bit / 8, bit % 8);
                        let w = v << off;
                        out[byte] |= w as u8;
                        if let Some(next) = out.get_mut(byte + 1) {
                            *next |= (w >> 8) as u8;
                        }
                    }
                }
            },
        }
        Ok(len)
    }
}

/// The digits unprintable bytes are shown with; a table, not `char::from_digit` and
/// `to_ascii_uppercase`, which cost the bare-metal image more flash.
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn printable(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| (0x20..0x7F).contains(b))
}

impl PartialEq for Text<'_> {
    /// Texts are equal when they decode to the same characters, whatever their packing.
    fn eq(&self, other: &Self) -> bool {
        self.chars().eq(other.chars())
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.chars() {
            f.write_char(c)?;
        }
        Ok(())
    }
}

/// Iterator over the characters of a [`Text`].
#[derive(Debug, Clone)]
pub enum Chars<'a> {
    /// `encoding` is `None` for unprintable unspecified bytes, shown as hex digit pairs.
    Packed {
        encoding: Option<TextEncoding>,
        bytes: &'a [u8],
        pos: usize,
    },
    Str(core::str::Chars<'a>),
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (encoding, bytes, pos) = match self {
            Chars::Str(c) => return c.next(),
            Chars::Packed {
                encoding,
                bytes,
                pos,
            } => (*encoding, *bytes, pos),
        };
        let i = *pos;
        let c = match encoding {
            None => {
                let b = *bytes.get(i / 2)?;
                let nib = if i % 2 == 0 { b >> 4 } else { b & 0x0F };
                char::from(HEX_UPPER[usize::from(nib)])
            }
            Some(TextEncoding::Unspecified | TextEncoding::Latin1) => char::from(*bytes.get(i)?),
            Some(TextEncoding::Ucs2Le) => {
                let lo = *bytes.get(2 * i)?;
                let hi = *bytes.get(2 * i + 1)?;
                char::from_u32(u32::from(u16::from_le_bytes([lo, hi]))).unwrap_or('\u{FFFD}')
            }
            Some(TextEncoding::BcdPlus) => {
                let b = *bytes.get(i / 2)?;
                BCD_PLUS[usize::from(if i % 2 == 0 { b >> 4 } else { b & 0x0F })]
            }
            Some(TextEncoding::SixBitAscii) => {
                let bit = i * 6;
                if bit + 6 > bytes.len() * 8 {
                    return None;
                }
                let (byte, off) = (bit / 8, bit % 8);
                let lo = u16::from(bytes[byte]);
                let hi = u16::from(bytes.get(byte + 1).copied().unwrap_or(0));
                let v = ((lo | (hi << 8)) >> off) & 0x3F;
                char::from(v as u8 + 0x20)
            }
        };
        *pos = i + 1;
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::{String, ToString};

    fn roundtrip(s: &str, enc: TextEncoding) -> String {
        let mut buf = [0u8; 64];
        let n = Text::with_encoding(s, enc).pack(&mut buf).unwrap();
        Text::packed(enc, &buf[..n]).to_string()
    }

    #[test]
    fn six_bit_packs_four_chars_in_three_bytes() {
        // "IPMI" in 6-bit codes (ASCII - 0x20): I=0x29, P=0x30, M=0x2D, I=0x29.
        let mut buf = [0u8; 3];
        assert_eq!(
            Text::with_encoding("IPMI", TextEncoding::SixBitAscii).pack(&mut buf),
            Ok(3)
        );
        // Bits, LSB first: 0x29 001001, 0x30 110000, 0x2D 101101, 0x29 001001.
        assert_eq!(buf, [0x29, 0xDC, 0xA6]);
        assert_eq!(
            Text::packed(TextEncoding::SixBitAscii, &buf).to_string(),
            "IPMI"
        );
        assert_eq!(roundtrip("AB", TextEncoding::SixBitAscii), "AB");
        assert_eq!(roundtrip("ABC", TextEncoding::SixBitAscii), "ABC ");
    }

    #[test]
    fn bcd_plus() {
        let mut buf = [0u8; 2];
        assert_eq!(
            Text::with_encoding("1-2", TextEncoding::BcdPlus).pack(&mut buf),
            Ok(2)
        );
        assert_eq!(buf, [0x1B, 0x2A]);
        assert_eq!(roundtrip("12.5", TextEncoding::BcdPlus), "12.5");
        assert_eq!(
            Text::with_encoding("x", TextEncoding::BcdPlus).pack(&mut buf),
            Err(TextError::Unrepresentable('x'))
        );
    }

    #[test]
    fn latin1_and_ucs2() {
        assert_eq!(roundtrip("Zürich", TextEncoding::Latin1), "Zürich");
        assert_eq!(roundtrip("Ωmega", TextEncoding::Ucs2Le), "Ωmega");
        let mut buf = [0u8; 4];
        assert_eq!(
            Text::new("Ω").pack(&mut buf),
            Err(TextError::Unrepresentable('Ω'))
        );
        assert_eq!(Text::new("toolong").pack(&mut buf), Err(TextError::TooLong));
    }

    #[test]
    fn unspecified_bytes_show_as_hex_unless_printable() {
        assert_eq!(
            Text::packed(TextEncoding::Unspecified, b"CPU").to_string(),
            "CPU"
        );
        assert_eq!(
            Text::packed(TextEncoding::Unspecified, &[0x01, 0xAB]).to_string(),
            "01AB"
        );
    }

    #[test]
    fn equality_ignores_packing() {
        let mut buf = [0u8; 8];
        let n = Text::with_encoding("12", TextEncoding::BcdPlus)
            .pack(&mut buf)
            .unwrap();
        assert_eq!(
            Text::packed(TextEncoding::BcdPlus, &buf[..n]),
            Text::new("12")
        );
        assert!(Text::new("12").eq_str("12"));
    }
}
