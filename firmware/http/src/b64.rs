//! Base64 decoding of Basic credentials (RFC 4648 §4, the standard alphabet with padding).
//!
//! Only decoding is needed, of one short header value per login, so a plain loop does it: the
//! base64 crate's general engine (configurable alphabets and padding modes, chunked fast paths)
//! cost ~0.7 KiB of the bare-metal image's flash for the same answers. It accepts exactly what
//! that engine's `STANDARD` configuration accepts: a length that is a multiple of four, at most
//! two `=` and only at the end, and no set bits after the last encoded byte (a non-canonical
//! encoding is refused, not rounded). The unit tests check this against the base64 crate.

use alloc::vec::Vec;

/// The 6-bit value of one standard-alphabet symbol.
fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes padded standard base64; `None` for anything the `STANDARD` engine would refuse.
pub fn decode(input: &str) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let quads = bytes.chunks_exact(4);
    let last = quads.len().saturating_sub(1);
    for (i, quad) in quads.enumerate() {
        // Padding only in the last quad, as its last one or two symbols.
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i != last) {
            return None;
        }
        let mut word = 0u32;
        for &c in &quad[..4 - pad] {
            word = (word << 6) | sextet(c)?;
        }
        // As if the padding were zero symbols: 24 bits, of which the last `pad` bytes (the
        // padding's bits and the two or four bits after the last encoded byte) must be zero.
        // One write for every quad.
        let word = word << (6 * pad);
        let kept = 3 - pad;
        if word & (0xFF_FFFF >> (8 * kept)) != 0 {
            return None;
        }
        out.extend_from_slice(word.to_be_bytes().get(1..1 + kept)?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::decode;
    use alloc::string::String;
    use alloc::vec::Vec;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    fn agrees(input: &str) {
        assert_eq!(
            decode(input),
            STANDARD.decode(input).ok(),
            "decoding {input:?}"
        );
    }

    #[test]
    fn round_trips_every_length_and_byte() {
        for len in 0..=40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + len * 11) as u8).collect();
            let encoded = STANDARD.encode(&data);
            assert_eq!(decode(&encoded).as_deref(), Some(&data[..]));
        }
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode(&STANDARD.encode(&all)), Some(all));
        assert_eq!(
            decode("YWRtaW46d3NibWMtZGV2").as_deref(),
            Some(&b"admin:wsbmc-dev"[..])
        );
    }

    #[test]
    fn refuses_what_the_standard_engine_refuses() {
        for input in [
            "",
            "=",
            "==",
            "===",
            "====",
            "A",
            "AB",
            "ABC",
            "AB=",
            "A===",
            "AB==",
            "ABC=",
            "ABE=",
            "ABF=",
            "AR==",
            "AQ==",
            "AA==AA==",
            "AAA=AAAA",
            "AB=C",
            "A=BC",
            "ABCD=",
            "ABCD ",
            " ABCD",
            "AB\r\n",
            "AB-_",
            "AB*D",
            "QUJD",
            "QUJDRA==",
            "QUJDRB==",
            "QUJDRA=",
            "QU JD",
            "YWRtaW46d3NibWMtZGV2",
            "YWRtaW46d3NibWMtZGV2=",
            "\u{e9}AAA",
            "AAA\u{0}",
        ] {
            agrees(input);
        }
    }

    /// Every string of up to three symbols over a small alphabet that hits each class (letters,
    /// digits, the two specials, padding, something outside), and every one of four: the two
    /// implementations answer the same for all of them.
    #[test]
    fn agrees_exhaustively_on_short_inputs() {
        let symbols = ['A', 'B', 'Q', 'g', 'z', '0', '9', '+', '/', '=', '-', ' '];
        let mut input = String::new();
        fn walk(input: &mut String, symbols: &[char], depth: usize) {
            agrees(input);
            if depth == 0 {
                return;
            }
            for &c in symbols {
                input.push(c);
                walk(input, symbols, depth - 1);
                input.pop();
            }
        }
        walk(&mut input, &symbols, 4);
        // Eight symbols: padding in the first quad, or in the second beside all shapes.
        for first in ["AAAA", "AA==", "AAA="] {
            for second in ["BBBB", "BB==", "BBB=", "BQ==", "BBC=", "=BBB"] {
                agrees(&alloc::format!("{first}{second}"));
            }
        }
    }
}
