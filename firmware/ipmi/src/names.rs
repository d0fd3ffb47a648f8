//! Code-indexed name tables packed for flash: one byte string and 16-bit offsets.
//!
//! A `[&str; N]` table costs 8 bytes of pointer and length per name on top of the text. The
//! tables here (entity IDs, sensor types, unit types: ~200 names) are written as ordinary
//! `&str` arrays and packed at compile time into [`Packed`], 2 bytes a name, which saves ~1.2 KiB
//! of the bare-metal image's flash. The `&str` arrays themselves are only read by the compiler.

/// `N` names in one byte string: name `i` is `text[ends[i - 1]..ends[i]]` (from 0 for `i = 0`).
pub(crate) struct Packed<const N: usize, const LEN: usize> {
    text: [u8; LEN],
    ends: [u16; N],
}

/// Total length of `names`, the `LEN` of their [`Packed`] table.
pub(crate) const fn total_len(names: &[&str]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < names.len() {
        total += names[i].len();
        i += 1;
    }
    total
}

impl<const N: usize, const LEN: usize> Packed<N, LEN> {
    /// Packs `names` (compile time: a table that does not fit fails the build).
    pub(crate) const fn new(names: &[&str; N]) -> Self {
        assert!(LEN <= u16::MAX as usize);
        let mut text = [0u8; LEN];
        let mut ends = [0u16; N];
        let mut at = 0;
        let mut i = 0;
        while i < N {
            let name = names[i].as_bytes();
            let mut j = 0;
            while j < name.len() {
                text[at] = name[j];
                at += 1;
                j += 1;
            }
            ends[i] = at as u16;
            i += 1;
        }
        assert!(at == LEN);
        Self { text, ends }
    }

    /// Name `i`; `None` past the end of the table.
    pub(crate) const fn get(&'static self, i: usize) -> Option<&'static str> {
        if i >= N {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let (_, rest) = self.text.split_at(start);
        let (name, _) = rest.split_at(self.ends[i] as usize - start);
        // Whole names of valid `&str`s, so never the error arm.
        match core::str::from_utf8(name) {
            Ok(s) => Some(s),
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["a", "", "Power Supply", "µ"];
    static PACKED: Packed<4, { total_len(&NAMES) }> = Packed::new(&NAMES);

    #[test]
    fn every_name_comes_back() {
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(PACKED.get(i), Some(*name));
        }
        assert_eq!(PACKED.get(4), None);
    }
}
