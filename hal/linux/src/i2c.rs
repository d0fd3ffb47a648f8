//! `/dev/i2c-N` as an async bus.
//!
//! The kernel's i2c-dev interface is blocking. A transfer to a sensor is a handful of bytes at
//! 100–400 kHz, well under a few milliseconds, and the poller is the only task that touches the
//! buses, so the transfer runs inline on the single-threaded runtime: `spawn_blocking` would
//! cost a thread hand-off per transfer (more than the transfer itself) and would need the bus
//! handle to move between threads. What inline costs is that HTTP requests wait behind a
//! transfer in flight; clock stretching is capped at 35 ms by SMBus and the kernel's adapter
//! timeout bounds a stuck bus, which is what the poller's back-off then deals with.

use embedded_hal::i2c::{ErrorType, I2c as _, Operation};
use linux_embedded_hal::{I2CError, I2cdev};

pub struct LinuxI2c {
    dev: I2cdev,
    path: String,
}

impl LinuxI2c {
    /// Opens `path` (e.g. `/dev/i2c-1`). One handle per device is fine: the kernel serialises
    /// transfers on the adapter.
    pub fn open(path: &str) -> std::io::Result<Self> {
        let dev = I2cdev::new(path).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        Ok(LinuxI2c {
            dev,
            path: path.to_string(),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

impl ErrorType for LinuxI2c {
    type Error = I2CError;
}

impl embedded_hal_async::i2c::I2c for LinuxI2c {
    async fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.dev.transaction(address, operations)
    }
}
