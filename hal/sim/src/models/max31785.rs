//! MAX31785: PMBus pages (0–5 fans, 6–12 temperatures, 13–16 external sensors, 17–22 ADC
//! voltages) selected with PAGE, read in DIRECT format.

use wsbmc_hal::DeviceModel;
use wsbmc_hal::devices::max31785;
use wsbmc_hal::pmbus;

use super::{Inputs, NACK_DATA, SimModel, encode, fill_le};
use crate::SimI2cError;

pub(crate) struct Model {
    page: u8,
    cmd: u8,
}

impl SimModel for Model {
    fn new(_: DeviceModel, _: u8) -> Self {
        Model { page: 0, cmd: 0 }
    }

    /// A faulted temperature page reads 0x7FFF.
    fn has_fault_flag(channel: u8) -> bool {
        (6..=12).contains(&channel)
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        self.cmd = first;
        if let (pmbus::PAGE, [p, ..]) = (first, rest) {
            if *p <= 22 || *p == 0xFF {
                self.page = *p;
            } else {
                return Err(NACK_DATA);
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        let word: u16 = match (self.cmd, self.page) {
            (pmbus::PAGE, p) => u16::from(p),
            (pmbus::READ_FAN_SPEED_1, p @ 0..=5) => inputs.value(p).clamp(0, 0xFFFF) as u16,
            (pmbus::READ_TEMPERATURE_1, p @ 6..=12) => {
                if inputs.channel_fault(p) {
                    0x7FFF
                } else {
                    encode(inputs.value(p), max31785::TEMP_COEFFICIENTS, -32768, 0x7FFE) as u16
                }
            }
            // Pages 13–16 poll external I2C sensors, none of which the model has.
            (pmbus::READ_TEMPERATURE_1, 13..=16) => 0x7FFF,
            (pmbus::READ_VOUT, p @ 17..=22) => {
                encode(inputs.value(p), max31785::VOLTAGE_COEFFICIENTS, 0, 0x7FFF) as u16
            }
            (0x9B, _) => 0x3030, // MFR_REVISION
            _ => return Err(NACK_DATA),
        };
        fill_le(buf, word);
        Ok(())
    }
}
