//! ADM1272: PMBus hot-swap controller with PMON_CONFIG's ranges and sampling enables, READ_VIN,
//! READ_VOUT, READ_IOUT and READ_PIN through the board's shunt, READ_TEMPERATURE_1, and the
//! status registers fault injection sets.

use wsbmc_hal::DeviceModel;
use wsbmc_hal::devices::adm1272::{self, Ranges};
use wsbmc_hal::pmbus;

use super::{Inputs, NACK_DATA, SimModel, encode, fill_le, scale_m};
use crate::{SimI2cError, Waveform};

/// ADM1272 PMON_CONFIG at power-up: 100 V and 30 mV ranges, VIN sampled, VOUT and temperature
/// not (so the driver's enabling write is exercised).
pub const ADM1272_PMON_CONFIG_DEFAULT: u16 = 0x3F35;

pub(crate) struct Model {
    cmd: u8,
    pmon_config: u16,
    /// STATUS_WORD and STATUS_INPUT as the part reports them (set by fault injection).
    status: (u16, u8),
}

impl SimModel for Model {
    fn new(_: DeviceModel, _: u8) -> Self {
        Model {
            cmd: 0,
            pmon_config: ADM1272_PMON_CONFIG_DEFAULT,
            status: (0, 0),
        }
    }

    /// VOUT sits just below VIN.
    fn default_waveform(channel: u8) -> Option<Waveform> {
        (channel == 1).then(|| Waveform::new(11_950, 40, 90_000, 10))
    }

    fn set_pmbus_status(&mut self, word: u16, input: u8) -> bool {
        self.status = (word, input);
        true
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        self.cmd = first;
        if let (adm1272::PMON_CONFIG, [lo, hi, ..]) = (first, rest) {
            self.pmon_config = u16::from_le_bytes([*lo, *hi]);
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        let ranges = Ranges::from_pmon_config(self.pmon_config);
        let sense = f64::from(inputs.sense_micro_ohms()) / 1000.0;
        let on = |bit: u16| self.pmon_config & bit != 0;
        let word: u16 = match self.cmd {
            adm1272::PMON_CONFIG => self.pmon_config,
            pmbus::STATUS_WORD => self.status.0,
            pmbus::STATUS_INPUT => u16::from(self.status.1),
            pmbus::READ_VIN if on(adm1272::PMON_VIN_EN) => {
                encode(inputs.value(0), ranges.voltage(), 0, 0x0FFF) as u16
            }
            pmbus::READ_VOUT if on(adm1272::PMON_VOUT_EN) => {
                encode(inputs.value(1), ranges.voltage(), 0, 0x0FFF) as u16
            }
            pmbus::READ_IOUT => {
                encode(inputs.value(2), scale_m(ranges.current(), sense), 0, 0x0FFF) as u16
            }
            pmbus::READ_PIN => encode(
                inputs.value(3),
                scale_m(ranges.power(), sense),
                i32::from(i16::MIN),
                i32::from(i16::MAX),
            ) as i16 as u16,
            pmbus::READ_TEMPERATURE_1 if on(adm1272::PMON_TEMP1_EN) => {
                encode(inputs.value(4), ranges.temperature(), 0, 0x0FFF) as u16
            }
            // Sampling disabled since power-up: the register never got a result.
            pmbus::READ_VIN | pmbus::READ_VOUT | pmbus::READ_TEMPERATURE_1 => 0,
            _ => return Err(NACK_DATA),
        };
        fill_le(buf, word);
        Ok(())
    }
}
