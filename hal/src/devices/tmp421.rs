//! TI TMP421: one local sensor and one remote diode.
//!
//! Each temperature is split over a high byte (0x00 local, 0x01 remote) and a low byte (0x10,
//! 0x11) whose bits 7:4 are 1/16 °C; the low byte's bit 0 is the remote channel's OPEN flag
//! (diode disconnected), bits 3:1 are status, not temperature. Configuration register 1 (0x09)
//! bit 2 selects the extended range, in which the high byte is unsigned with a +64 °C offset
//! (−64…+191 °C) instead of two's complement. The range is re-read with every reading because a
//! host or a reset may change it, and reading under the wrong assumption is off by 64 °C.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{ChannelInfo, Chip, DeviceModel, Driver, Step, Steps, q8_to_millicelsius, run};
use crate::{DeviceError, Quantity};

const REG_CONFIG_1: u8 = 0x09;
const CONFIG_RANGE: u8 = 0x04;
const REG_HIGH: [u8; 2] = [0x00, 0x01];
const REG_LOW: [u8; 2] = [0x10, 0x11];
const LOW_OPEN: u8 = 0x01;

pub struct Tmp421<I> {
    i2c: I,
    address: u8,
}

impl<I: I2c> Tmp421<I> {
    pub fn new(i2c: I, address: u8) -> Self {
        Tmp421 { i2c, address }
    }

    pub fn release(self) -> I {
        self.i2c
    }

    /// Channel 0 is the local sensor, 1 the remote diode; m°C.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        run(self, channel, false).await
    }
}

/// Three one-byte transfers: the configuration, then the high byte, then the low one.
impl<I> Steps<I> for Tmp421<I> {
    fn step(&mut self, channel: u8, _: bool, _: u8, got: &[u8]) -> Step {
        let idx = usize::from(channel);
        let (Some(&high_reg), Some(&low_reg)) = (REG_HIGH.get(idx), REG_LOW.get(idx)) else {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        };
        let (config, high, low) = match *got {
            [] => return Step::Read(REG_CONFIG_1, 1),
            [_] => return Step::Read(high_reg, 1),
            [_, _] => return Step::Read(low_reg, 1),
            [config, high, low, ..] => (config, high, low),
        };
        if channel != 0 && low & LOW_OPEN != 0 {
            return Step::Done(Err(DeviceError::BadData));
        }
        let joined = u16::from_be_bytes([high, low & 0xF0]);
        let q8 = if config & CONFIG_RANGE != 0 {
            i32::from(joined) - 64 * 256
        } else {
            i32::from(joined as i16)
        };
        Step::Done(Ok(q8_to_millicelsius(q8)))
    }

    fn bus(&mut self) -> Option<(&mut I, u8)> {
        Some((&mut self.i2c, self.address))
    }
}

impl<I> Chip for Tmp421<I> {
    const CHANNELS: &'static [ChannelInfo] = &[
        ChannelInfo::new("local", 0, Quantity::Temperature),
        ChannelInfo::new("remote1", 1, Quantity::Temperature),
    ];
}

impl<I: I2c, B> Driver<I, B> for Tmp421<I> {
    fn bind(_: DeviceModel, i2c: I, address: u8, _: Option<NonZeroU32>) -> Option<Self> {
        Some(Self::new(i2c, address))
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::Tmp421
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Tmp421::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::test_util::*;

    const A: u8 = 0x4C;

    fn reading(channel: u8, config: u8, high: u8, low: u8) -> Vec<T> {
        let c = usize::from(channel);
        vec![
            T::write_read(A, vec![0x09], vec![config]),
            T::write_read(A, vec![REG_HIGH[c]], vec![high]),
            T::write_read(A, vec![REG_LOW[c]], vec![low]),
        ]
    }

    fn run(tx: &[T], channel: u8) -> Result<i32, DeviceError> {
        let mut mock = Mock::new(tx);
        let mut dev = Tmp421::new(mock.clone(), A);
        let r = block_on(dev.read(channel));
        mock.done();
        r
    }

    #[test]
    fn standard_range() {
        assert_eq!(run(&reading(0, 0x00, 0x19, 0x00), 0), Ok(25_000));
        assert_eq!(run(&reading(1, 0x00, 0x32, 0x80), 1), Ok(50_500));
        assert_eq!(run(&reading(1, 0x00, 0xE7, 0x00), 1), Ok(-25_000));
        assert_eq!(run(&reading(0, 0x00, 0xFF, 0xF0), 0), Ok(-63)); // −0.0625
        // Status bits 3:1 are not temperature.
        assert_eq!(run(&reading(1, 0x00, 0x19, 0x0E), 1), Ok(25_000));
    }

    #[test]
    fn extended_range_has_64_degree_offset() {
        assert_eq!(run(&reading(0, CONFIG_RANGE, 0x59, 0x00), 0), Ok(25_000));
        assert_eq!(run(&reading(1, CONFIG_RANGE, 0x00, 0x00), 1), Ok(-64_000));
        assert_eq!(run(&reading(1, CONFIG_RANGE, 0xFF, 0xF0), 1), Ok(191_938));
        assert_eq!(
            run(&reading(1, CONFIG_RANGE | 0x40, 0xB4, 0x40), 1),
            Ok(116_250)
        );
    }

    #[test]
    fn open_remote_diode_is_bad_data() {
        assert_eq!(
            run(&reading(1, 0x00, 0x00, 0x01), 1),
            Err(DeviceError::BadData)
        );
        assert_eq!(
            run(&reading(1, CONFIG_RANGE, 0x00, 0x01), 1),
            Err(DeviceError::BadData)
        );
    }

    #[test]
    fn nack_and_bus_error() {
        let tx = [T::write_read(A, vec![0x09], vec![0]).with_error(NACK)];
        assert_eq!(run(&tx, 0), Err(DeviceError::Nack));
        let mut tx = reading(1, 0, 0x19, 0);
        tx[2] = T::write_read(A, vec![0x11], vec![0]).with_error(BUS);
        assert_eq!(run(&tx, 1), Err(DeviceError::Bus));
    }

    #[test]
    fn unknown_channel() {
        assert_eq!(run(&[], 2), Err(DeviceError::NoSuchChannel));
    }
}
