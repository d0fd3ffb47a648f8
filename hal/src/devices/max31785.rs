//! Maxim MAX31785 six-channel PMBus fan controller.
//!
//! Everything is paged: PAGE (0x00) selects fans 0–5, temperature sensors 6–16 (6–11 remote
//! diodes, 12 the internal sensor, 13–16 external I2C sensors) or ADC voltage monitors 17–22.
//! Readings are DIRECT format with the datasheet's coefficients: fan speed m=1 b=0 R=0 (RPM),
//! temperature m=1 b=0 R=2 (0.01 °C per count), voltage one count per millivolt (datasheet:
//! m=1 b=0 R=0 in mV; written here as m=1 b=0 R=3 in volts, the same relation). PAGE is written
//! before every reading rather than cached: another master or a part reset can change it, and a
//! wrong page would silently return another channel's value.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{ChannelInfo, Chip, DeviceModel, Driver, Step, Steps, run};
use crate::{DeviceError, Quantity};
use crate::pmbus::{self, Coefficients, direct_to_scaled};

const FAN_PAGES: core::ops::RangeInclusive<u8> = 0..=5;
const TEMP_PAGES: core::ops::RangeInclusive<u8> = 6..=16;
const VOLTAGE_PAGES: core::ops::RangeInclusive<u8> = 17..=22;

pub const FAN_COEFFICIENTS: Coefficients = Coefficients::new(1, 0, 0);
pub const TEMP_COEFFICIENTS: Coefficients = Coefficients::new(1, 0, 2);
pub const VOLTAGE_COEFFICIENTS: Coefficients = Coefficients::new(1, 0, 3);

/// The part reports a faulted (open or shorted) temperature sensor as 0x7FFF, which would
/// otherwise decode as 327.67 °C and trip every threshold.
const TEMP_FAULT: i16 = 0x7FFF;

pub struct Max31785<I> {
    i2c: I,
    address: u8,
}

impl<I: I2c> Max31785<I> {
    pub fn new(i2c: I, address: u8) -> Self {
        Max31785 { i2c, address }
    }

    pub fn release(self) -> I {
        self.i2c
    }

    /// Channel = page. Fans in RPM, temperatures in m°C, voltages in mV.
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        run(self, channel, false).await
    }
}

/// Two transfers: PAGE written, then the page kind's reading.
impl<I> Steps<I> for Max31785<I> {
    fn step(&mut self, channel: u8, _: bool, stage: u8, got: &[u8]) -> Step {
        let (fan, temp) = (FAN_PAGES.contains(&channel), TEMP_PAGES.contains(&channel));
        let command = if fan {
            pmbus::READ_FAN_SPEED_1
        } else if temp {
            pmbus::READ_TEMPERATURE_1
        } else if VOLTAGE_PAGES.contains(&channel) {
            pmbus::READ_VOUT
        } else {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        };
        let &[lo, hi] = got else {
            return if stage == 0 {
                Step::Write([pmbus::PAGE, channel, 0], 2)
            } else {
                Step::Read(command, 2)
            };
        };
        Step::Done(convert([lo, hi], fan, temp))
    }

    fn bus(&mut self) -> Option<(&mut I, u8)> {
        Some((&mut self.i2c, self.address))
    }
}

/// A page's word in its unit: RPM for a fan, m°C for a temperature, else mV.
fn convert(word: [u8; 2], fan: bool, temp: bool) -> Result<i32, DeviceError> {
    if fan {
        let raw = u16::from_le_bytes(word);
        direct_to_scaled(raw.into(), FAN_COEFFICIENTS, 0).ok_or(DeviceError::BadData)
    } else if temp {
        let raw = i16::from_le_bytes(word);
        if raw == TEMP_FAULT {
            return Err(DeviceError::BadData);
        }
        direct_to_scaled(raw.into(), TEMP_COEFFICIENTS, -3).ok_or(DeviceError::BadData)
    } else {
        let raw = i16::from_le_bytes(word);
        // The ADC measures 0 V upward; a negative count is not a measurement.
        if raw < 0 {
            return Err(DeviceError::BadData);
        }
        direct_to_scaled(raw.into(), VOLTAGE_COEFFICIENTS, -3).ok_or(DeviceError::BadData)
    }
}

/// Channel numbers are the part's PMBus pages, so the driver needs no translation table.
/// Pages 13–16 (temperatures the part itself polls from external I2C sensors) are left out:
/// a BMC reads those sensors directly.
const MAX31785_CHANNELS: &[ChannelInfo] = {
    use Quantity::{FanSpeed, Temperature, Voltage};
    const fn ch(name: &'static str, channel: u8, quantity: Quantity) -> ChannelInfo {
        ChannelInfo::new(name, channel, quantity)
    }
    &[
        ch("fan1", 0, FanSpeed),
        ch("fan2", 1, FanSpeed),
        ch("fan3", 2, FanSpeed),
        ch("fan4", 3, FanSpeed),
        ch("fan5", 4, FanSpeed),
        ch("fan6", 5, FanSpeed),
        ch("temp1", 6, Temperature),
        ch("temp2", 7, Temperature),
        ch("vsense1", 17, Voltage),
        ch("vsense2", 18, Voltage),
        ch("temp3", 8, Temperature),
        ch("temp4", 9, Temperature),
        ch("temp5", 10, Temperature),
        ch("temp6", 11, Temperature),
        ch("internal", 12, Temperature),
        ch("vsense3", 19, Voltage),
        ch("vsense4", 20, Voltage),
        ch("vsense5", 21, Voltage),
        ch("vsense6", 22, Voltage),
    ]
};

impl<I> Chip for Max31785<I> {
    const CHANNELS: &'static [ChannelInfo] = MAX31785_CHANNELS;
}

impl<I: I2c, B> Driver<I, B> for Max31785<I> {
    fn bind(_: DeviceModel, i2c: I, address: u8, _: Option<NonZeroU32>) -> Option<Self> {
        Some(Self::new(i2c, address))
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::Max31785
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Max31785::read(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::test_util::*;

    const A: u8 = 0x52;

    fn reading(page: u8, cmd: u8, word: u16) -> Vec<T> {
        vec![
            T::write(A, vec![0x00, page]),
            T::write_read(A, vec![cmd], word.to_le_bytes().to_vec()),
        ]
    }

    fn run(tx: &[T], channel: u8) -> Result<i32, DeviceError> {
        let mut mock = Mock::new(tx);
        let mut dev = Max31785::new(mock.clone(), A);
        let r = block_on(dev.read(channel));
        mock.done();
        r
    }

    #[test]
    fn fans() {
        assert_eq!(run(&reading(0, 0x90, 8_400), 0), Ok(8_400));
        assert_eq!(run(&reading(5, 0x90, 0), 5), Ok(0));
        // Unsigned: fast fans are not negative.
        assert_eq!(run(&reading(3, 0x90, 40_000), 3), Ok(40_000));
    }

    #[test]
    fn temperatures() {
        assert_eq!(run(&reading(6, 0x8D, 2_550), 6), Ok(25_500));
        assert_eq!(run(&reading(12, 0x8D, 4_217), 12), Ok(42_170));
        assert_eq!(run(&reading(7, 0x8D, (-1_050i16) as u16), 7), Ok(-10_500));
        assert_eq!(run(&reading(16, 0x8D, 0), 16), Ok(0));
    }

    #[test]
    fn voltages() {
        assert_eq!(run(&reading(17, 0x8B, 12_034), 17), Ok(12_034));
        assert_eq!(run(&reading(22, 0x8B, 3_300), 22), Ok(3_300));
    }

    #[test]
    fn bad_data() {
        assert_eq!(run(&reading(6, 0x8D, 0x7FFF), 6), Err(DeviceError::BadData));
        assert_eq!(
            run(&reading(18, 0x8B, 0x8000), 18),
            Err(DeviceError::BadData)
        );
    }

    #[test]
    fn nack_on_page_write_and_bus_error_on_read() {
        let tx = [T::write(A, vec![0x00, 0]).with_error(NACK)];
        assert_eq!(run(&tx, 0), Err(DeviceError::Nack));
        let mut tx = reading(6, 0x8D, 0);
        tx[1] = T::write_read(A, vec![0x8D], vec![0, 0]).with_error(BUS);
        assert_eq!(run(&tx, 6), Err(DeviceError::Bus));
    }

    #[test]
    fn unknown_pages() {
        assert_eq!(run(&[], 23), Err(DeviceError::NoSuchChannel));
        assert_eq!(run(&[], 0xFF), Err(DeviceError::NoSuchChannel));
    }
}
