//! EMC1413: internal (0) and two external (1, 2) diodes, high bytes latching low bytes, the
//! configuration and rate registers at their read and write addresses, and the External Diode
//! Fault register (0x1B).

use wsbmc_hal::DeviceModel;

use super::{Inputs, SimModel};
use crate::SimI2cError;

pub(crate) struct Model {
    ptr: u8,
    config: u8,
    rate: u8,
    latched: [Option<u8>; 3],
}

/// EMC1413 layout: 11 bits of 1/8 °C, left-justified.
fn q5_raw(mc: i32, extended: bool) -> u16 {
    if extended {
        let code = ((f64::from(mc) + 64_000.0) / 125.0)
            .round()
            .clamp(0.0, 2047.0) as u16;
        code << 5
    } else {
        let code = (f64::from(mc) / 125.0).round().clamp(-1024.0, 1023.0) as i16;
        (code << 5) as u16
    }
}

impl SimModel for Model {
    fn new(_: DeviceModel, _: u8) -> Self {
        Model {
            ptr: 0,
            config: 0,
            rate: 0x06,
            latched: [None; 3],
        }
    }

    /// The External Diode Fault bits of the two external diodes.
    fn has_fault_flag(channel: u8) -> bool {
        channel == 1 || channel == 2
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        self.ptr = first;
        if let [v, ..] = rest {
            match first {
                0x03 | 0x09 => self.config = *v,
                0x04 | 0x0A => self.rate = *v & 0x0F,
                _ => {}
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        const HIGH: [u8; 3] = [0x00, 0x01, 0x23];
        const LOW: [u8; 3] = [0x29, 0x10, 0x24];
        let extended = self.config & 0x04 != 0;
        for b in buf.iter_mut() {
            let r = self.ptr;
            *b = if let Some(ch) = HIGH.iter().position(|&h| h == r) {
                let raw = q5_raw(inputs.value(ch as u8), extended);
                self.latched[ch] = Some(raw as u8);
                (raw >> 8) as u8
            } else if let Some(ch) = LOW.iter().position(|&l| l == r) {
                match self.latched[ch].take() {
                    Some(v) => v,
                    None => q5_raw(inputs.value(ch as u8), extended) as u8,
                }
            } else {
                match r {
                    0x03 | 0x09 => self.config,
                    0x04 | 0x0A => self.rate,
                    0x1B => {
                        (u8::from(inputs.channel_fault(1)) << 1)
                            | (u8::from(inputs.channel_fault(2)) << 2)
                    }
                    0xFD => 0x21,
                    0xFE => 0x5D,
                    0xFF => 0x04,
                    _ => 0x00,
                }
            };
        }
        Ok(())
    }
}
