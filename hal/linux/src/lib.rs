//! The Linux HAL: what the embedded-Linux BMC image drives.
//!
//! * [`LinuxI2c`]: `/dev/i2c-N` (linux-embedded-hal's `I2cdev`) as an `embedded_hal_async` I2C
//!   bus, so the same drivers run as on the simulator and the bare-metal image.
//! * [`DevIpmb`]: IPMB through the kernel's `ipmb-dev-int` driver (`/dev/ipmb-N`).
//! * [`GpioHostPower`]: host power through the GPIO character device (uAPI v2): a power button
//!   output pulsed like a finger, a power-good input, an optional reset button.
#![cfg(target_os = "linux")]

mod gpio;
mod i2c;
mod ipmb;
mod power;

pub use gpio::{GpioError, LineDirection, Lines};
pub use i2c::LinuxI2c;
pub use ipmb::{DevIpmb, from_dev, to_dev};
pub use power::{GpioHostPower, PowerAction, PowerLines, PowerLogic, PowerTiming};
