//! TI TMP75 / TMP105 and LM75-compatible local temperature sensors.
//!
//! The temperature register (pointer 0x00) is a big-endian 16-bit two's-complement value,
//! left-justified: the TMP75 fills 12 bits (0.0625 °C), an LM75 at its default resolution 9
//! bits. Reading it as 1/256 °C covers every resolution without knowing the configuration, and
//! the unused low nibble is always zero on these parts, so a set bit there means the bytes did
//! not come from a temperature register.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{ChannelInfo, Chip, DeviceModel, Driver, Step, Steps, q8_to_millicelsius, run};
use crate::{DeviceError, Quantity};

const REG_TEMPERATURE: u8 = 0x00;

pub struct Tmp75<I> {
    i2c: I,
    address: u8,
}

impl<I: I2c> Tmp75<I> {
    pub fn new(i2c: I, address: u8) -> Self {
        Tmp75 { i2c, address }
    }

    /// Gives the bus back, e.g. to rebind it after a board change.
    pub fn release(self) -> I {
        self.i2c
    }

    /// Temperature in m°C.
    pub async fn read_temperature(&mut self) -> Result<i32, DeviceError> {
        self.read(0).await
    }

    /// Channel 0 is the temperature.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        run(self, channel, false).await
    }
}

/// One transfer: the temperature register.
impl<I> Steps<I> for Tmp75<I> {
    fn step(&mut self, channel: u8, _: bool, _: u8, got: &[u8]) -> Step {
        if channel != 0 {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        }
        let &[high, low] = got else {
            return Step::Read(REG_TEMPERATURE, 2);
        };
        let raw = i16::from_be_bytes([high, low]);
        Step::Done(if raw & 0x000F != 0 {
            Err(DeviceError::BadData)
        } else {
            Ok(q8_to_millicelsius(raw.into()))
        })
    }

    fn bus(&mut self) -> Option<(&mut I, u8)> {
        Some((&mut self.i2c, self.address))
    }
}

impl<I> Chip for Tmp75<I> {
    const CHANNELS: &'static [ChannelInfo] = &[ChannelInfo::new("temp", 0, Quantity::Temperature)];
}

impl<I: I2c, B> Driver<I, B> for Tmp75<I> {
    fn bind(_: DeviceModel, i2c: I, address: u8, _: Option<NonZeroU32>) -> Option<Self> {
        Some(Self::new(i2c, address))
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::Tmp75
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Tmp75::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::test_util::*;

    fn run(tx: &[T], channel: u8) -> Result<i32, DeviceError> {
        let mut mock = Mock::new(tx);
        let mut dev = Tmp75::new(mock.clone(), 0x48);
        let r = block_on(dev.read(channel));
        mock.done();
        r
    }

    #[test]
    fn reads_datasheet_values() {
        for (bytes, expect) in [
            ([0x7F, 0xF0], 127_938), // 127.9375
            ([0x64, 0x00], 100_000),
            ([0x19, 0x00], 25_000),
            ([0x00, 0x40], 250),
            ([0x00, 0x00], 0),
            ([0xFF, 0xC0], -250),
            ([0xE7, 0x00], -25_000),
            ([0xC9, 0x00], -55_000),
            ([0x80, 0x00], -128_000),
        ] {
            let tx = [T::write_read(0x48, vec![0x00], bytes.to_vec())];
            assert_eq!(run(&tx, 0), Ok(expect), "{bytes:02x?}");
        }
    }

    #[test]
    fn nack_means_absent() {
        let tx = [T::write_read(0x48, vec![0x00], vec![0, 0]).with_error(NACK)];
        assert_eq!(run(&tx, 0), Err(DeviceError::Nack));
    }

    #[test]
    fn bus_error() {
        let tx = [T::write_read(0x48, vec![0x00], vec![0, 0]).with_error(BUS)];
        assert_eq!(run(&tx, 0), Err(DeviceError::Bus));
        let tx =
            [T::write_read(0x48, vec![0x00], vec![0, 0]).with_error(ErrorKind::ArbitrationLoss)];
        assert_eq!(run(&tx, 0), Err(DeviceError::Bus));
    }

    #[test]
    fn low_nibble_set_is_bad_data() {
        let tx = [T::write_read(0x48, vec![0x00], vec![0x19, 0x01])];
        assert_eq!(run(&tx, 0), Err(DeviceError::BadData));
        // A floating bus reads all ones.
        let tx = [T::write_read(0x48, vec![0x00], vec![0xFF, 0xFF])];
        assert_eq!(run(&tx, 0), Err(DeviceError::BadData));
    }

    #[test]
    fn unknown_channel() {
        assert_eq!(run(&[], 1), Err(DeviceError::NoSuchChannel));
    }
}
