//! A flash in RAM, for the bare-metal image (whose QEMU machine has no writable flash model the
//! firmware can use) and for tests. It forgets everything at reset, but it keeps NOR rules, so
//! code that works on it works on a real part.

use embedded_storage_async::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};

use crate::nor::{self, FlashError};

/// NOR flash over a caller-owned buffer with pages of `ERASE` bytes.
///
/// The buffer is borrowed rather than owned so that it can live in a `static` on the MCU, and so
/// that a test can drop the flash (a "reset") and mount the same bytes again.
pub struct RamFlash<'a, const ERASE: usize> {
    mem: &'a mut [u8],
}

impl<'a, const ERASE: usize> RamFlash<'a, ERASE> {
    /// Wraps `mem` as it is: pass a buffer filled with 0xFF for a blank part, or the bytes a
    /// previous instance left behind to remount them. The usable size is `mem.len()` rounded
    /// down to whole pages.
    pub fn new(mem: &'a mut [u8]) -> Self {
        const { assert!(ERASE > 0, "page size must not be zero") };
        let len = mem.len() - mem.len() % ERASE;
        let (mem, _) = mem.split_at_mut(len);
        Self { mem }
    }

    /// A blank part: every byte erased.
    pub fn erased(mem: &'a mut [u8]) -> Self {
        mem.fill(0xFF);
        Self::new(mem)
    }
}

impl<const ERASE: usize> ErrorType for RamFlash<'_, ERASE> {
    type Error = FlashError;
}

impl<const ERASE: usize> ReadNorFlash for RamFlash<'_, ERASE> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let (start, end) = nor::range(offset, bytes.len(), self.mem.len())?;
        bytes.copy_from_slice(&self.mem[start..end]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const ERASE: usize> NorFlash for RamFlash<'_, ERASE> {
    const WRITE_SIZE: usize = nor::WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let (start, end) = nor::erase_range(from, to, ERASE, self.mem.len())?;
        self.mem[start..end].fill(0xFF);
        Ok(())
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let (start, end) = nor::write_range(offset, bytes.len(), self.mem.len())?;
        let target = &mut self.mem[start..end];
        nor::check_program(offset, target, bytes)?;
        target.copy_from_slice(bytes);
        Ok(())
    }
}

/// Rewriting a word is allowed as long as it only clears bits, which `write` enforces; the
/// queue relies on this to mark records popped in place.
impl<const ERASE: usize> MultiwriteNorFlash for RamFlash<'_, ERASE> {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn nor_rules_hold() {
        let mut mem = [0u8; 100];
        let mut f = RamFlash::<32>::erased(&mut mem);
        assert_eq!(f.capacity(), 96);
        block_on(async {
            f.write(4, &[0x0F, 0xF0, 0x00, 0xFF]).await.unwrap();
            // Clearing more bits is fine; setting one is not, and changes nothing.
            f.write(4, &[0x0E, 0xF0, 0x00, 0x7F]).await.unwrap();
            assert_eq!(
                f.write(4, &[0x1E, 0xF0, 0x00, 0x7F]).await,
                Err(FlashError::SetsBits { offset: 4 })
            );
            let mut b = [0u8; 4];
            f.read(4, &mut b).await.unwrap();
            assert_eq!(b, [0x0E, 0xF0, 0x00, 0x7F]);
            assert_eq!(f.erase(0, 16).await, Err(FlashError::NotAligned));
            assert_eq!(f.erase(0, 128).await, Err(FlashError::OutOfBounds));
            f.erase(0, 32).await.unwrap();
            f.read(4, &mut b).await.unwrap();
            assert_eq!(b, [0xFF; 4]);
            assert_eq!(f.write(96, &[0; 4]).await, Err(FlashError::OutOfBounds));
        });
    }
}
