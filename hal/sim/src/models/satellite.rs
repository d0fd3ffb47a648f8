//! An IPMB satellite controller: its model ([`crate::satellite`]) answers IPMB requests through
//! `SimIpmb`; on the plain I2C handle it ignores writes and reads as a floating bus.

use wsbmc_hal::DeviceModel;

use super::{Inputs, SimModel};
use crate::satellite::{self, SatelliteRegs};
use crate::{SimI2cError, Waveform};

pub(crate) type Model = SatelliteRegs;

impl SimModel for SatelliteRegs {
    fn new(_: DeviceModel, address: u8) -> Self {
        SatelliteRegs::new(address)
    }

    /// Its sensors' own defaults; an unknown sensor reads a flat zero.
    fn default_waveform(channel: u8) -> Option<Waveform> {
        Some(satellite::sensor(channel).map_or(Waveform::new(0, 0, 60_000, 0), |s| s.default))
    }

    /// A satellite PSU controller reports the condition as its status sensor's state bits.
    fn set_pmbus_status(&mut self, word: u16, input: u8) -> bool {
        self.set_psu_states(wsbmc_hal::pmbus::psu_states(word, input));
        true
    }

    fn satellite(&mut self) -> Option<&mut SatelliteRegs> {
        Some(self)
    }

    fn write(&mut self, _: u8, _: &[u8]) -> Result<(), SimI2cError> {
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _: &dyn Inputs) -> Result<(), SimI2cError> {
        buf.fill(0xFF);
        Ok(())
    }
}
