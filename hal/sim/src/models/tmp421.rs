//! TMP421: local (0) and remote (1) temperatures, high bytes 0x00/0x01 and low bytes 0x10/0x11
//! (latched by the high-byte read), configuration 1/2 and conversion rate, and the remote
//! channel's OPEN flag in its low byte's bit 0.

use wsbmc_hal::DeviceModel;

use super::{Inputs, SimModel};
use crate::SimI2cError;

pub(crate) struct Model {
    ptr: u8,
    config1: u8,
    config2: u8,
    rate: u8,
    latched: [Option<u8>; 2],
}

/// TMP421 layout: 12 bits of 1/16 °C, left-justified; extended range adds 64 °C and is unsigned.
fn q4_raw(mc: i32, extended: bool, lsb_mc: f64) -> u16 {
    if extended {
        let code = ((f64::from(mc) + 64_000.0) / lsb_mc)
            .round()
            .clamp(0.0, 4095.0) as u16;
        code << 4
    } else {
        let code = (f64::from(mc) / lsb_mc).round().clamp(-2048.0, 2047.0) as i16;
        (code << 4) as u16
    }
}

impl SimModel for Model {
    fn new(_: DeviceModel, _: u8) -> Self {
        Model {
            ptr: 0,
            config1: 0,
            config2: 0x1C,
            rate: 0x07,
            latched: [None; 2],
        }
    }

    /// The remote diode's OPEN bit.
    fn has_fault_flag(channel: u8) -> bool {
        channel == 1
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        self.ptr = first;
        if let [v, ..] = rest {
            match first {
                0x09 => self.config1 = *v,
                0x0A => self.config2 = *v,
                0x0B => self.rate = *v & 0x07,
                _ => {}
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        for b in buf.iter_mut() {
            let extended = self.config1 & 0x04 != 0;
            *b = match self.ptr {
                ch @ 0x00..=0x01 => {
                    let raw = q4_raw(inputs.value(ch), extended, 62.5)
                        | u16::from(ch == 1 && inputs.channel_fault(1));
                    self.latched[usize::from(ch)] = Some(raw as u8);
                    (raw >> 8) as u8
                }
                lo @ 0x10..=0x11 => {
                    let ch = lo - 0x10;
                    match self.latched[usize::from(ch)].take() {
                        Some(v) => v,
                        None => {
                            (q4_raw(inputs.value(ch), extended, 62.5)
                                | u16::from(ch == 1 && inputs.channel_fault(1)))
                                as u8
                        }
                    }
                }
                0x08 => 0x00,
                0x09 => self.config1,
                0x0A => self.config2,
                0x0B => self.rate,
                0xFE => 0x55,
                0xFF => 0x21,
                _ => 0x00,
            };
        }
        Ok(())
    }
}
