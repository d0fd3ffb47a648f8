//! The Linux HAL: what the embedded-Linux BMC image drives.
//!
//! * [`LinuxI2c`]: `/dev/i2c-N` (linux-embedded-hal's `I2cdev`) as an `embedded_hal_async` I2C
//!   bus, so the same drivers run as on the simulator and the bare-metal image.
//! * [`DevIpmb`]: IPMB through the kernel's `ipmb-dev-int` driver (`/dev/ipmb-N`).
//! * [`DevIpmi`]: IPMI messages through the kernel's message handler (`/dev/ipmiN`: `ipmi-ipmb`,
//!   KCS, SSIF) with ipmi-rs as the transport; [`LinuxLink`] is either route for a satellite.
//! * [`GpioHostPower`]: host power through the GPIO character device (uAPI v2): a power button
//!   output pulsed like a finger, a power-good input, an optional reset button.
#![cfg(target_os = "linux")]

mod gpio;
mod i2c;
mod ipmb;
mod ipmi;
mod power;

pub use gpio::{GpioError, GpioInputLines, LineDirection, Lines, find_chip, find_line};
pub use i2c::LinuxI2c;
pub use ipmb::{DevIpmb, from_dev, to_dev};
pub use ipmi::{DEFAULT_WAIT as IPMI_DEFAULT_WAIT, DevIpmi, IpmiTarget, LinuxLink};
pub use power::{
    FORCE_OFF_SETTLE_MS, GpioHostPower, LineRef, OpenError, PowerAction, PowerLines, PowerLogic,
    PowerNext, PowerTiming,
};
