//! Splitting header text at an ASCII byte. `str::split`, `split_once` and `find` with a char
//! pattern each link core's `CharSearcher` (its UTF-8 decoding and memchr set-up) into this
//! crate, once per pattern method; every separator an HTTP header has is one ASCII byte, and a
//! byte below 0x80 never falls inside a character, so a byte scan cuts at the same places.

/// `s` cut at its first `sep`, as `s.split_once(char::from(sep))` cuts it.
pub(crate) fn cut(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The pieces of `s` between `sep`s, as `s.split(char::from(sep))` yields them (an empty `s`
/// is one empty piece, a trailing `sep` ends with one).
pub(crate) fn pieces(s: &str, sep: u8) -> Pieces<'_> {
    Pieces { rest: Some(s), sep }
}

pub(crate) struct Pieces<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        Some(match cut(rest, self.sep) {
            Some((piece, after)) => {
                self.rest = Some(after);
                piece
            }
            None => {
                self.rest = None;
                rest
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn cuts_and_pieces_are_what_the_char_patterns_give() {
        for s in ["", ",", "a", "a,b", ",a,,b,", "é,ü", "k=v=w", "  x , y "] {
            for sep in [b',', b'=', b' '] {
                let c = char::from(sep);
                assert_eq!(cut(s, sep), s.split_once(c), "{s:?} at {c:?}");
                assert_eq!(
                    pieces(s, sep).collect::<Vec<_>>(),
                    s.split(c).collect::<Vec<_>>(),
                    "{s:?} at {c:?}"
                );
            }
        }
    }
}
