//! The board this image was built for: the tables wsbmc-board's emitter generates from the board
//! file (through `build.rs`), and how this chip binds its devices.

use wsbmc_chip_lm3s6965::i2c::{Controller, I2c};
use wsbmc_hal::AnyDevice;

include!(concat!(env!("OUT_DIR"), "/board.rs"));

impl DeviceRow {
    /// The row's driver on `i2c`, with the board constants the bare model does not carry.
    pub fn bind(&self, i2c: I2c) -> AnyDevice<I2c> {
        AnyDevice::bind_with_sense(self.model, i2c, self.address, self.sense_micro_ohms)
    }

    /// The controller the board file wires this device's bus to (build.rs checked the index).
    pub fn controller(&self) -> Controller {
        match BUS_CONTROLLERS.get(usize::from(self.bus)) {
            Some(0) => Controller::I2c0,
            _ => Controller::I2c1,
        }
    }
}
