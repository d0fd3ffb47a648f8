//! TMP75/TMP105/LM75: pointer register, temperature (0), configuration (1), T_LOW (2), T_HIGH (3).

use wsbmc_hal::DeviceModel;

use super::{Inputs, SimModel};
use crate::SimI2cError;

pub(crate) struct Model {
    ptr: u8,
    config: u8,
    tlow: u16,
    thigh: u16,
}

/// LM75/TMP75 layout: 12-bit two's complement, 1/16 °C, left-justified.
fn tmp75_raw(mc: i32) -> i16 {
    let code = (f64::from(mc) / 62.5).round().clamp(-2048.0, 2047.0) as i16;
    code << 4
}

impl SimModel for Model {
    fn new(_: DeviceModel, _: u8) -> Self {
        Model {
            ptr: 0,
            config: 0,
            tlow: 0x4B00,
            thigh: 0x5000,
        }
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        self.ptr = first & 0x03;
        match (self.ptr, rest) {
            (1, [v, ..]) => self.config = *v,
            (2, [h, l, ..]) => self.tlow = u16::from_be_bytes([*h, *l]),
            (3, [h, l, ..]) => self.thigh = u16::from_be_bytes([*h, *l]),
            _ => {}
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        let bytes: Vec<u8> = match self.ptr {
            0 => tmp75_raw(inputs.value(0)).to_be_bytes().to_vec(),
            1 => vec![self.config],
            2 => self.tlow.to_be_bytes().to_vec(),
            _ => self.thigh.to_be_bytes().to_vec(),
        };
        for (b, v) in buf.iter_mut().zip(bytes.iter().cycle()) {
            *b = *v;
        }
        Ok(())
    }
}
