//! A flash in a file, for the host agent and the embedded-Linux image.
//!
//! Every write and erase is a `pwrite` followed by `fdatasync` before the future completes: the
//! store acknowledges a SEL record or a setting only after its flash operation returned, so the
//! bytes must be on the disk by then or a power cut could take back what was acknowledged. mmap
//! (what embedded-storage-file uses) gives no such ordering. The file is the flash image byte for
//! byte, so it can be inspected with `xxd` and copied between machines.
//!
//! The calls block. They are short (one record, one page) and the BMC has nothing better to do
//! while its log is written, so they run on the async task rather than a blocking pool.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::vec;

use embedded_storage_async::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};

use crate::nor::{self, FlashError};

/// NOR flash backed by a file of exactly `capacity` bytes with pages of `ERASE` bytes.
#[derive(Debug)]
pub struct FileFlash<const ERASE: usize> {
    file: File,
    capacity: usize,
}

impl<const ERASE: usize> FileFlash<ERASE> {
    /// Opens the flash image at `path`, creating a blank (all 0xFF) one if the file does not
    /// exist or is empty. An existing image of another size is refused rather than grown or cut:
    /// a size change moves page boundaries and would make the contents unreadable.
    pub fn open(path: impl AsRef<Path>, capacity: usize) -> io::Result<Self> {
        if capacity == 0 || !capacity.is_multiple_of(ERASE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "flash capacity must be a non-zero multiple of the page size",
            ));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // The map holds the account's password hash: readable by the agent's user only.
            .mode(0o600)
            .open(path)?;
        let meta = file.metadata()?;
        // `mode` applies only when the file is created; an older, looser image is tightened.
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        let len = meta.len();
        if len == 0 {
            let blank = vec![0xFFu8; ERASE];
            for page in 0..capacity / ERASE {
                file.write_all_at(&blank, (page * ERASE) as u64)?;
            }
            file.sync_all()?;
        } else if len != capacity as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                std::format!(
                    "flash image is {len} bytes, expected {capacity}: refusing to reinterpret it"
                ),
            ));
        }
        Ok(Self { file, capacity })
    }

    fn sync(&self) -> Result<(), FlashError> {
        self.file.sync_data().map_err(|e| FlashError::Io(e.kind()))
    }
}

fn io(e: io::Error) -> FlashError {
    FlashError::Io(e.kind())
}

impl<const ERASE: usize> ErrorType for FileFlash<ERASE> {
    type Error = FlashError;
}

impl<const ERASE: usize> ReadNorFlash for FileFlash<ERASE> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        nor::range(offset, bytes.len(), self.capacity)?;
        self.file
            .read_exact_at(bytes, u64::from(offset))
            .map_err(io)
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}

impl<const ERASE: usize> NorFlash for FileFlash<ERASE> {
    const WRITE_SIZE: usize = nor::WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let (start, end) = nor::erase_range(from, to, ERASE, self.capacity)?;
        let blank = vec![0xFFu8; ERASE];
        for page in (start..end).step_by(ERASE) {
            self.file.write_all_at(&blank, page as u64).map_err(io)?;
        }
        self.sync()
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        nor::write_range(offset, bytes.len(), self.capacity)?;
        let mut old = vec![0u8; bytes.len()];
        self.file
            .read_exact_at(&mut old, u64::from(offset))
            .map_err(io)?;
        nor::check_program(offset, &old, bytes)?;
        self.file
            .write_all_at(bytes, u64::from(offset))
            .map_err(io)?;
        self.sync()
    }
}

impl<const ERASE: usize> MultiwriteNorFlash for FileFlash<ERASE> {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let mut p = std::env::temp_dir();
        p.push(std::format!(
            "wsbmc-store-{}-{name}.bin",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn image_is_private_when_created_and_tightened_when_loose() {
        let path = temp_path("mode");
        drop(FileFlash::<256>::open(&path, 512).unwrap());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(FileFlash::<256>::open(&path, 512).unwrap());
        assert_eq!(mode(&path), 0o600);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn survives_reopen_and_keeps_nor_rules() {
        let path = temp_path("reopen");
        block_on(async {
            let mut f = FileFlash::<256>::open(&path, 1024).unwrap();
            let mut b = [0u8; 8];
            f.read(1016, &mut b).await.unwrap();
            assert_eq!(b, [0xFF; 8]);
            f.write(256, &[1, 2, 3, 4]).await.unwrap();
            assert_eq!(
                f.write(256, &[0xFF, 2, 3, 4]).await,
                Err(FlashError::SetsBits { offset: 256 })
            );
            assert_eq!(f.write(1024, &[0; 4]).await, Err(FlashError::OutOfBounds));
            assert_eq!(f.erase(0, 100).await, Err(FlashError::NotAligned));
            drop(f);

            let mut f = FileFlash::<256>::open(&path, 1024).unwrap();
            f.read(256, &mut b[..4]).await.unwrap();
            assert_eq!(&b[..4], &[1, 2, 3, 4]);
            f.erase(256, 512).await.unwrap();
            f.read(256, &mut b[..4]).await.unwrap();
            assert_eq!(&b[..4], &[0xFF; 4]);
        });
        let err = FileFlash::<256>::open(&path, 2048).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = FileFlash::<256>::open(&path, 1000).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let _ = std::fs::remove_file(&path);
    }
}
