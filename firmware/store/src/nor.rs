//! NOR flash semantics shared by every flash in this crate.
//!
//! The store's power-loss guarantees come from sequential-storage, and they only hold if the
//! flash behaves like NOR: erase sets a whole page to 0xFF, a write can only clear bits, and
//! nothing is addressed outside the device or off its word grid. A RAM or file stand-in that
//! silently accepted a 0→1 write would let a bug pass every test and then corrupt a real part,
//! so these checks are the same for the test flashes and the production ones.

use embedded_storage_async::nor_flash::{NorFlashError, NorFlashErrorKind};

/// The word every flash here programs in. Four bytes is the common NOR program unit and what
/// sequential-storage's item headers are laid out for.
pub const WRITE_SIZE: usize = 4;

/// Why a flash operation was refused or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashError {
    /// The range leaves the device.
    OutOfBounds,
    /// The offset or length is not a multiple of the write or erase unit.
    NotAligned,
    /// The write would set a bit that is 0 back to 1, which NOR cannot do without an erase.
    /// `offset` is the first offending byte.
    SetsBits { offset: u32 },
    /// The fault-injecting flash lost power during or before this operation.
    PowerLost,
    /// The backing file failed (Linux only).
    #[cfg(any(test, feature = "std"))]
    Io(std::io::ErrorKind),
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            _ => NorFlashErrorKind::Other,
        }
    }
}

impl core::fmt::Display for FlashError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FlashError::OutOfBounds => f.write_str("flash access out of bounds"),
            FlashError::NotAligned => f.write_str("flash access not aligned"),
            FlashError::SetsBits { offset } => {
                write!(
                    f,
                    "flash write at {offset:#x} would set bits without an erase"
                )
            }
            FlashError::PowerLost => f.write_str("flash lost power"),
            #[cfg(any(test, feature = "std"))]
            FlashError::Io(kind) => write!(f, "flash file I/O failed: {kind}"),
        }
    }
}

/// The byte range `offset..offset+len` of a device of `capacity` bytes, or why not.
pub(crate) fn range(
    offset: u32,
    len: usize,
    capacity: usize,
) -> Result<(usize, usize), FlashError> {
    let start = usize::try_from(offset).map_err(|_| FlashError::OutOfBounds)?;
    let end = start.checked_add(len).ok_or(FlashError::OutOfBounds)?;
    if end > capacity {
        return Err(FlashError::OutOfBounds);
    }
    Ok((start, end))
}

/// Checks a write of `len` bytes at `offset`, returning its byte range.
pub(crate) fn write_range(
    offset: u32,
    len: usize,
    capacity: usize,
) -> Result<(usize, usize), FlashError> {
    if !(offset as usize).is_multiple_of(WRITE_SIZE) || !len.is_multiple_of(WRITE_SIZE) {
        return Err(FlashError::NotAligned);
    }
    range(offset, len, capacity)
}

/// Checks an erase of `from..to`, returning its byte range.
pub(crate) fn erase_range(
    from: u32,
    to: u32,
    erase_size: usize,
    capacity: usize,
) -> Result<(usize, usize), FlashError> {
    if from > to {
        return Err(FlashError::OutOfBounds);
    }
    if !(from as usize).is_multiple_of(erase_size) || !(to as usize).is_multiple_of(erase_size) {
        return Err(FlashError::NotAligned);
    }
    range(from, (to - from) as usize, capacity)
}

/// Refuses a program of `new` over `old` that would set any bit. Checked before anything is
/// written so a refused write leaves the flash untouched.
pub(crate) fn check_program(offset: u32, old: &[u8], new: &[u8]) -> Result<(), FlashError> {
    match old.iter().zip(new).position(|(o, n)| n & !o != 0) {
        None => Ok(()),
        Some(i) => Err(FlashError::SetsBits {
            offset: offset.saturating_add(i as u32),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_rules() {
        // (old, new, ok)
        let cases: &[(&[u8], &[u8], Option<u32>)] = &[
            (&[0xFF, 0xFF], &[0x00, 0x12], None),
            (&[0x0F, 0xF0], &[0x0F, 0xF0], None),
            (&[0x0F, 0xF0], &[0x07, 0x10], None),
            (&[0x0F, 0xF0], &[0x1F, 0xF0], Some(100)),
            (&[0x0F, 0xF0], &[0x0F, 0xF8], Some(101)),
        ];
        for (i, (old, new, bad)) in cases.iter().enumerate() {
            let got = check_program(100, old, new);
            let want = match bad {
                None => Ok(()),
                Some(offset) => Err(FlashError::SetsBits { offset: *offset }),
            };
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(write_range(4, 8, 16), Ok((4, 12)));
        assert_eq!(write_range(2, 4, 16), Err(FlashError::NotAligned));
        assert_eq!(write_range(0, 3, 16), Err(FlashError::NotAligned));
        assert_eq!(write_range(12, 8, 16), Err(FlashError::OutOfBounds));
        assert_eq!(
            write_range(u32::MAX - 3, 4, 16),
            Err(FlashError::OutOfBounds)
        );
        assert_eq!(erase_range(0, 256, 256, 512), Ok((0, 256)));
        assert_eq!(erase_range(256, 0, 256, 512), Err(FlashError::OutOfBounds));
        assert_eq!(erase_range(0, 100, 256, 512), Err(FlashError::NotAligned));
        assert_eq!(
            erase_range(256, 768, 256, 512),
            Err(FlashError::OutOfBounds)
        );
        assert_eq!(
            range(u32::MAX, usize::MAX, usize::MAX),
            Err(FlashError::OutOfBounds)
        );
    }
}
