//! Microchip (SMSC) EMC1413: one internal and two external diodes.
//!
//! Registers (datasheet register map): high bytes 0x00 internal, 0x01 external 1, 0x23
//! external 2; low bytes 0x29, 0x10, 0x24 with 1/8 °C in bits 7:5. Reading the high byte
//! latches the low byte, so high is read first. The configuration register reads at 0x03; its
//! bit 2 selects the extended range (unsigned, +64 °C offset). The External Diode Fault
//! register (0x1B) flags an open or shorted diode in bit 1 (external 1) and bit 2 (external 2);
//! the temperature registers then hold a meaningless value, so it is checked first.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{ChannelInfo, Chip, DeviceModel, Driver, Step, Steps, q8_to_millicelsius, run};
use crate::{DeviceError, Quantity};

const REG_CONFIG: u8 = 0x03;
const CONFIG_RANGE: u8 = 0x04;
const REG_DIODE_FAULT: u8 = 0x1B;
const REG_HIGH: [u8; 3] = [0x00, 0x01, 0x23];
const REG_LOW: [u8; 3] = [0x29, 0x10, 0x24];

pub struct Emc1413<I> {
    i2c: I,
    address: u8,
}

impl<I: I2c> Emc1413<I> {
    pub fn new(i2c: I, address: u8) -> Self {
        Emc1413 { i2c, address }
    }

    pub fn release(self) -> I {
        self.i2c
    }

    /// Channel 0 is the internal diode, 1 and 2 the external ones; m°C.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        run(self, channel, false).await
    }
}

/// One-byte transfers: an external diode's fault flags first, then the configuration, the
/// high byte and the low one.
impl<I> Steps<I> for Emc1413<I> {
    fn step(&mut self, channel: u8, _: bool, _: u8, got: &[u8]) -> Step {
        let idx = usize::from(channel);
        let (Some(&high_reg), Some(&low_reg)) = (REG_HIGH.get(idx), REG_LOW.get(idx)) else {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        };
        let got = match got.split_first() {
            _ if channel == 0 => got,
            None => return Step::Read(REG_DIODE_FAULT, 1),
            Some((faults, _)) if faults & (1 << channel) != 0 => {
                return Step::Done(Err(DeviceError::BadData));
            }
            Some((_, rest)) => rest,
        };
        let (config, high, low) = match *got {
            [] => return Step::Read(REG_CONFIG, 1),
            [_] => return Step::Read(high_reg, 1),
            [_, _] => return Step::Read(low_reg, 1),
            [config, high, low, ..] => (config, high, low),
        };
        let joined = u16::from_be_bytes([high, low & 0xE0]);
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

impl<I> Chip for Emc1413<I> {
    const CHANNELS: &'static [ChannelInfo] = &[
        ChannelInfo::new("local", 0, Quantity::Temperature),
        ChannelInfo::new("remote1", 1, Quantity::Temperature),
        ChannelInfo::new("remote2", 2, Quantity::Temperature),
    ];
}

impl<I: I2c, B> Driver<I, B> for Emc1413<I> {
    fn bind(_: DeviceModel, i2c: I, address: u8, _: Option<NonZeroU32>) -> Option<Self> {
        Some(Self::new(i2c, address))
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::Emc1413
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Emc1413::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::test_util::*;

    const A: u8 = 0x4D;

    fn reading(channel: u8, fault: u8, config: u8, high: u8, low: u8) -> Vec<T> {
        let c = usize::from(channel);
        let mut v = Vec::new();
        if channel != 0 {
            v.push(T::write_read(A, vec![0x1B], vec![fault]));
        }
        v.push(T::write_read(A, vec![0x03], vec![config]));
        v.push(T::write_read(A, vec![REG_HIGH[c]], vec![high]));
        v.push(T::write_read(A, vec![REG_LOW[c]], vec![low]));
        v
    }

    fn run(tx: &[T], channel: u8) -> Result<i32, DeviceError> {
        let mut mock = Mock::new(tx);
        let mut dev = Emc1413::new(mock.clone(), A);
        let r = block_on(dev.read(channel));
        mock.done();
        r
    }

    #[test]
    fn all_three_channels() {
        assert_eq!(run(&reading(0, 0, 0, 0x19, 0x20), 0), Ok(25_125));
        assert_eq!(run(&reading(1, 0, 0, 0x46, 0xE0), 1), Ok(70_875));
        assert_eq!(run(&reading(2, 0, 0, 0xF6, 0x00), 2), Ok(-10_000));
        // Bits 4:0 are not temperature.
        assert_eq!(run(&reading(2, 0, 0, 0x19, 0x1F), 2), Ok(25_000));
    }

    #[test]
    fn extended_range() {
        assert_eq!(run(&reading(1, 0, CONFIG_RANGE, 0x59, 0x80), 1), Ok(25_500));
        assert_eq!(
            run(&reading(0, 0, CONFIG_RANGE, 0x00, 0x00), 0),
            Ok(-64_000)
        );
    }

    #[test]
    fn diode_fault_is_bad_data_and_per_channel() {
        let tx = reading(1, 0x02, 0, 0, 0);
        assert_eq!(run(&tx[..1], 1), Err(DeviceError::BadData));
        let tx = reading(2, 0x04, 0, 0, 0);
        assert_eq!(run(&tx[..1], 2), Err(DeviceError::BadData));
        // External 2's fault does not poison external 1.
        assert_eq!(run(&reading(1, 0x04, 0, 0x19, 0), 1), Ok(25_000));
    }

    #[test]
    fn nack_and_bus_error() {
        let tx = [T::write_read(A, vec![0x1B], vec![0]).with_error(NACK)];
        assert_eq!(run(&tx, 1), Err(DeviceError::Nack));
        let mut tx = reading(0, 0, 0, 0, 0);
        tx[1] = T::write_read(A, vec![0x00], vec![0]).with_error(BUS);
        assert_eq!(run(&tx[..2], 0), Err(DeviceError::Bus));
    }

    #[test]
    fn unknown_channel() {
        assert_eq!(run(&[], 3), Err(DeviceError::NoSuchChannel));
    }
}
