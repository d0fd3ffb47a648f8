//! Atmel/Microchip AT24Cxx (and every 24Cxx-compatible) I2C EEPROM, where boards keep their
//! IPMI FRU image.
//!
//! Parts up to 2 Kbit take one word-address byte; from 32 Kbit on two, most significant first.
//! (24C04–24C16 put the upper address bits into the device address; boards do not use them for
//! FRU data and they are not modelled.) Reads are sequential and may cross pages; writes must
//! not cross a page boundary, or the address counter wraps inside the page and overwrites its
//! start, so writes are split at page boundaries. After a write the part runs its internal cycle
//! (≤ 5 ms, tWR) and does not acknowledge its address until done; the driver polls for that
//! acknowledge a bounded number of times instead of sleeping, which needs no timer.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{Chip, DeviceModel, Driver};
use crate::DeviceError;

/// The sizes the board file names, with their addressing and page size (from the datasheets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum At24Size {
    /// 2 Kbit, 256 bytes, 8-byte pages, 1 address byte.
    C02,
    /// 32 Kbit, 4 KiB, 32-byte pages, 2 address bytes.
    C32,
    /// 64 Kbit, 8 KiB, 32-byte pages.
    C64,
    /// 256 Kbit, 32 KiB, 64-byte pages.
    C256,
}

impl At24Size {
    pub const fn bytes(self) -> usize {
        match self {
            At24Size::C02 => 256,
            At24Size::C32 => 4096,
            At24Size::C64 => 8192,
            At24Size::C256 => 32768,
        }
    }

    pub const fn page(self) -> usize {
        match self {
            At24Size::C02 => 8,
            At24Size::C32 | At24Size::C64 => 32,
            At24Size::C256 => 64,
        }
    }

    pub const fn address_bytes(self) -> usize {
        match self {
            At24Size::C02 => 1,
            _ => 2,
        }
    }
}

/// Bytes per read transfer: small enough for any MCU I2C driver's DMA limit and for Linux's
/// i2c-dev without a big kernel buffer, large enough that a FRU image is a handful of transfers.
const READ_CHUNK: usize = 32;
/// Acknowledge polls after a page write. At 100 kHz one poll (address + one byte) is ~0.2 ms, so
/// this covers several times the 5 ms write cycle.
const WRITE_POLLS: usize = 200;

pub struct At24<I> {
    i2c: I,
    address: u8,
    size: At24Size,
}

impl<I: I2c> At24<I> {
    pub fn new(i2c: I, address: u8, size: At24Size) -> Self {
        At24 { i2c, address, size }
    }

    pub fn size(&self) -> At24Size {
        self.size
    }

    pub fn release(self) -> I {
        self.i2c
    }

    fn word(&self, offset: usize) -> ([u8; 2], usize) {
        match self.size.address_bytes() {
            1 => ([offset as u8, 0], 1),
            _ => ((offset as u16).to_be_bytes(), 2),
        }
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), DeviceError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size.bytes() => Ok(()),
            _ => Err(DeviceError::NoSuchChannel),
        }
    }

    /// Fills `buf` from `offset`. Out-of-range requests are refused before any bus traffic.
    pub async fn read_bytes(&mut self, offset: usize, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.check(offset, buf.len())?;
        for (i, chunk) in buf.chunks_mut(READ_CHUNK).enumerate() {
            let (w, n) = self.word(offset + i * READ_CHUNK);
            self.i2c
                .write_read(self.address, &w[..n], chunk)
                .await
                .map_err(DeviceError::from_i2c)?;
        }
        Ok(())
    }

    /// Writes `data` at `offset`, page by page, waiting out each write cycle.
    pub async fn write_bytes(&mut self, offset: usize, data: &[u8]) -> Result<(), DeviceError> {
        self.check(offset, data.len())?;
        let page = self.size.page();
        let mut done = 0;
        while done < data.len() {
            let at = offset + done;
            let len = (page - at % page).min(data.len() - done);
            let (w, n) = self.word(at);
            let mut frame = [0u8; 2 + 64];
            frame[..n].copy_from_slice(&w[..n]);
            frame[n..n + len].copy_from_slice(&data[done..done + len]);
            self.i2c
                .write(self.address, &frame[..n + len])
                .await
                .map_err(DeviceError::from_i2c)?;
            self.wait_ready().await?;
            done += len;
        }
        Ok(())
    }

    async fn wait_ready(&mut self) -> Result<(), DeviceError> {
        for _ in 0..WRITE_POLLS {
            let mut b = [0u8; 1];
            let (w, n) = self.word(0);
            match self.i2c.write_read(self.address, &w[..n], &mut b).await {
                Ok(()) => return Ok(()),
                Err(e) => match DeviceError::from_i2c(e) {
                    DeviceError::Nack => continue,
                    other => return Err(other),
                },
            }
        }
        Err(DeviceError::Timeout)
    }

    /// Reads the FRU image (IPMI Platform Management FRU Information Storage Definition v1.0
    /// §8): the common header, then as far as its furthest area reaches, into `buf`. Returns
    /// the image's bytes for the FRU parser. A header with a bad checksum or format version is
    /// `BadData` (an erased part reads all 0xFF, which fails both).
    pub async fn read_fru<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b [u8], DeviceError> {
        let mut header = [0u8; 8];
        let mut hdr = [0u8; 2];
        let mut end = 8usize;
        let mut len = 0;
        // One read site for the header (stage 0), the first two bytes of each area it names
        // (1-5, by its offsets) and the image (6): each await of a read is a state of the
        // caller's future.
        for stage in 0..=6 {
            let (offset, dst): (usize, &mut [u8]) = match stage {
                0 => (0, &mut header),
                6 => {
                    len = end.min(self.size.bytes()).min(buf.len());
                    (0, &mut buf[..len])
                }
                s => {
                    // Each area offset is in 8-byte multiples; an area's own length (its
                    // second byte, also in multiples of 8) says where it ends, except the
                    // multirecord area's, which is walked by its parser and is read here up to
                    // the end of the part.
                    let start = usize::from(header[s]) * 8;
                    if start == 0 {
                        continue;
                    }
                    if s == 5 {
                        end = end.max(self.size.bytes());
                        continue;
                    }
                    (start, &mut hdr)
                }
            };
            self.read_bytes(offset, dst).await?;
            match stage {
                0 if header[0] & 0x0F != 0x01
                    || header.iter().fold(0u8, |a, b| a.wrapping_add(*b)) != 0 =>
                {
                    return Err(DeviceError::BadData);
                }
                0 | 6 => {}
                s => end = end.max(usize::from(header[s]) * 8 + usize::from(hdr[1]) * 8),
            }
        }
        Ok(&buf[..len])
    }

    /// An EEPROM has no sensor channels; present so the device table can treat it like the rest.
    pub async fn read(&mut self, _channel: u8) -> Result<i32, DeviceError> {
        Err(DeviceError::NoSuchChannel)
    }
}

impl DeviceModel {
    /// The EEPROM geometry of the at24 models.
    pub const fn eeprom(self) -> Option<At24Size> {
        match self {
            DeviceModel::At24c02 => Some(At24Size::C02),
            DeviceModel::At24c32 => Some(At24Size::C32),
            DeviceModel::At24c64 => Some(At24Size::C64),
            DeviceModel::At24c256 => Some(At24Size::C256),
            _ => None,
        }
    }
}

/// Storage, not a sensor: no channels.
impl<I> Chip for At24<I> {}

/// No channel to read: its every read is refused as one of no such channel.
impl<I> super::Steps<I> for At24<I> {}

impl<I: I2c, B> Driver<I, B> for At24<I> {
    fn bind(model: DeviceModel, i2c: I, address: u8, _: Option<NonZeroU32>) -> Option<Self> {
        Some(Self::new(i2c, address, model.eeprom()?))
    }

    fn model(&self) -> DeviceModel {
        match self.size {
            At24Size::C02 => DeviceModel::At24c02,
            At24Size::C32 => DeviceModel::At24c32,
            At24Size::C64 => DeviceModel::At24c64,
            At24Size::C256 => DeviceModel::At24c256,
        }
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        At24::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::devices::test_util::*;

    const A: u8 = 0x50;

    #[test]
    fn sizes() {
        for (s, bytes, page, ab) in [
            (At24Size::C02, 256, 8, 1),
            (At24Size::C32, 4096, 32, 2),
            (At24Size::C64, 8192, 32, 2),
            (At24Size::C256, 32768, 64, 2),
        ] {
            assert_eq!((s.bytes(), s.page(), s.address_bytes()), (bytes, page, ab));
        }
    }

    #[test]
    fn eight_bit_addressing_reads_in_chunks() {
        let data: Vec<u8> = (0..40).collect();
        let mut mock = Mock::new(&[
            T::write_read(A, vec![0x10], data[..32].to_vec()),
            T::write_read(A, vec![0x30], data[32..].to_vec()),
        ]);
        let mut e = At24::new(mock.clone(), A, At24Size::C02);
        let mut buf = [0u8; 40];
        block_on(e.read_bytes(0x10, &mut buf)).unwrap();
        assert_eq!(&buf[..], &data[..]);
        mock.done();
    }

    #[test]
    fn sixteen_bit_addressing() {
        let mut mock = Mock::new(&[T::write_read(A, vec![0x0F, 0xFE], vec![1, 2])]);
        let mut e = At24::new(mock.clone(), A, At24Size::C32);
        let mut buf = [0u8; 2];
        block_on(e.read_bytes(0x0FFE, &mut buf)).unwrap();
        assert_eq!(buf, [1, 2]);
        mock.done();
    }

    #[test]
    fn out_of_range_is_refused_without_traffic() {
        let mut mock = Mock::new(&[]);
        let mut e = At24::new(mock.clone(), A, At24Size::C02);
        let mut buf = [0u8; 2];
        assert_eq!(
            block_on(e.read_bytes(255, &mut buf)),
            Err(DeviceError::NoSuchChannel)
        );
        assert_eq!(
            block_on(e.write_bytes(usize::MAX, &[1])),
            Err(DeviceError::NoSuchChannel)
        );
        assert_eq!(block_on(e.read(0)), Err(DeviceError::NoSuchChannel));
        mock.done();
    }

    #[test]
    fn writes_split_at_pages_and_poll_for_ack() {
        // 10 bytes at 0x06 on an 8-byte-page part: 2 bytes to 0x06, then 8 to 0x08.
        let mut mock = Mock::new(&[
            T::write(A, vec![0x06, 0, 1]),
            T::write_read(A, vec![0x00], vec![0]).with_error(NACK),
            T::write_read(A, vec![0x00], vec![0xAA]),
            T::write(A, vec![0x08, 2, 3, 4, 5, 6, 7, 8, 9]),
            T::write_read(A, vec![0x00], vec![0xAA]),
        ]);
        let mut e = At24::new(mock.clone(), A, At24Size::C02);
        block_on(e.write_bytes(6, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).unwrap();
        mock.done();
    }

    #[test]
    fn errors() {
        let table: &[(ErrorKind, DeviceError)] =
            &[(NACK, DeviceError::Nack), (BUS, DeviceError::Bus)];
        for (kind, want) in table {
            let mut mock = Mock::new(&[T::write_read(A, vec![0, 0], vec![0; 8]).with_error(*kind)]);
            let mut e = At24::new(mock.clone(), A, At24Size::C64);
            let mut buf = [0u8; 8];
            assert_eq!(block_on(e.read_bytes(0, &mut buf)), Err(*want));
            mock.done();
        }
        // A bus error while polling for the write cycle is not waited out.
        let mut mock = Mock::new(&[
            T::write(A, vec![0, 0, 7]),
            T::write_read(A, vec![0, 0], vec![0]).with_error(BUS),
        ]);
        let mut e = At24::new(mock.clone(), A, At24Size::C64);
        assert_eq!(block_on(e.write_bytes(0, &[7])), Err(DeviceError::Bus));
        mock.done();
    }

    /// A FRU image: common header, a board area of 16 bytes at offset 8, a product area of 24
    /// bytes at offset 24.
    fn fru() -> Vec<u8> {
        let mut img = vec![0u8; 48];
        img[..8].copy_from_slice(&[0x01, 0, 0, 1, 3, 0, 0, 0]);
        img[7] = 0u8.wrapping_sub(img[..7].iter().fold(0u8, |a, b| a.wrapping_add(*b)));
        img[8] = 1;
        img[9] = 2;
        img[24] = 1;
        img[25] = 3;
        img
    }

    #[test]
    fn reads_fru_image_to_its_last_area() {
        let img = fru();
        let mut mock = Mock::new(&[
            T::write_read(A, vec![0x00], img[..8].to_vec()),
            T::write_read(A, vec![0x08], img[8..10].to_vec()),
            T::write_read(A, vec![0x18], img[24..26].to_vec()),
            T::write_read(A, vec![0x00], img[..32].to_vec()),
            T::write_read(A, vec![0x20], img[32..48].to_vec()),
        ]);
        let mut e = At24::new(mock.clone(), A, At24Size::C02);
        let mut buf = [0u8; 256];
        let got = block_on(e.read_fru(&mut buf)).unwrap();
        assert_eq!(got, &img[..]);
        mock.done();
    }

    #[test]
    fn a_multirecord_area_is_read_to_the_end_of_the_part() {
        // Header only: the multirecord area at offset 8, no other area; the part (a 24C02) is
        // then read whole, 256 bytes in chunks, with no area header read before.
        let mut img = vec![0u8; 256];
        img[..8].copy_from_slice(&[0x01, 0, 0, 0, 0, 1, 0, 0]);
        img[7] = 0u8.wrapping_sub(img[..7].iter().fold(0u8, |a, b| a.wrapping_add(*b)));
        let mut tx = vec![T::write_read(A, vec![0x00], img[..8].to_vec())];
        for at in (0..256).step_by(READ_CHUNK) {
            tx.push(T::write_read(
                A,
                vec![at as u8],
                img[at..at + READ_CHUNK].to_vec(),
            ));
        }
        let mut mock = Mock::new(&tx);
        let mut e = At24::new(mock.clone(), A, At24Size::C02);
        let mut buf = [0u8; 512];
        assert_eq!(block_on(e.read_fru(&mut buf)), Ok(&img[..]));
        mock.done();
    }

    #[test]
    fn blank_or_corrupt_fru_is_bad_data() {
        for header in [vec![0xFF; 8], {
            let mut h = fru()[..8].to_vec();
            h[7] ^= 1;
            h
        }] {
            let mut mock = Mock::new(&[T::write_read(A, vec![0x00], header)]);
            let mut e = At24::new(mock.clone(), A, At24Size::C02);
            let mut buf = [0u8; 64];
            assert_eq!(block_on(e.read_fru(&mut buf)), Err(DeviceError::BadData));
            mock.done();
        }
    }
}
