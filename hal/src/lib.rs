//! Hardware abstraction for wsbmc.
//!
//! Device drivers are generic over `embedded_hal_async::i2c::I2c`, own their bus handle, and
//! return integers in a fixed native scale per quantity (see [`Quantity::native_scale`]); the
//! monitor never sees a register. [`AnyDevice`] closes the set of drivers into one type so a
//! board's device table needs no trait objects on the bare-metal image.
#![cfg_attr(not(test), no_std)]

pub mod devices;
pub mod ipmb;
pub mod pmbus;
pub mod power;

pub use devices::{AnyDevice, DeviceModel, GpioInputs, NoGpio};
pub use ipmb::{Ipmb, IpmbError, IpmiLink, NoIpmb, RequestError, Requester};
pub use power::{HostPower, PowerError, PowerRequest, PowerState};

/// What a sensor channel measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantity {
    Temperature,
    Voltage,
    Current,
    Power,
    FanSpeed,
}

impl Quantity {
    /// Power of ten of one driver count: temperatures in m°C, voltages in mV, currents in mA,
    /// power in mW (all -3), fan speed in RPM (0). Fixed per quantity so board files and CIM's
    /// UnitModifier agree without per-driver knowledge.
    pub const fn native_scale(self) -> i8 {
        match self {
            Quantity::FanSpeed => 0,
            _ => -3,
        }
    }

    /// The IPMI sensor type and unit a quantity is reported as, wherever it is reported: the
    /// sensor type byte of the SEL records a threshold crossing writes and CIM_NumericSensor's
    /// IPMI codes must agree, or a console could not match a record to its sensor. Power has no
    /// IPMI sensor type of its own: it is "Other Units-based" in Watts, which is what
    /// Windows-era consoles recognise as power (reference/cim.md §1.6).
    pub const fn ipmi_codes(self) -> (wsbmc_ipmi::SensorType, wsbmc_ipmi::Unit) {
        use wsbmc_ipmi::{SensorType, Unit};
        match self {
            Quantity::Temperature => (SensorType::TEMPERATURE, Unit::DEGREES_C),
            Quantity::Voltage => (SensorType::VOLTAGE, Unit::VOLTS),
            Quantity::Current => (SensorType::CURRENT, Unit::AMPS),
            Quantity::Power => (SensorType::OTHER_UNITS_BASED, Unit::WATTS),
            Quantity::FanSpeed => (SensorType::FAN, Unit::RPM),
        }
    }
}

/// Why a driver could not produce a reading. The monitor maps these to no-data reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceError {
    /// The address did not acknowledge: the part is absent or powered off.
    Nack,
    /// Arbitration loss, bus error, or any other transfer failure.
    Bus,
    /// The transfer did not complete in time (stuck bus, clock stretching).
    Timeout,
    /// The part answered with data that cannot be a reading (wrong ID, fault flag, short read).
    BadData,
    /// The channel number does not exist on this model.
    NoSuchChannel,
}

impl DeviceError {
    /// Classifies an embedded-hal I2C error.
    pub fn from_i2c<E: embedded_hal::i2c::Error>(e: E) -> Self {
        use embedded_hal::i2c::ErrorKind;
        match e.kind() {
            ErrorKind::NoAcknowledge(_) => DeviceError::Nack,
            ErrorKind::ArbitrationLoss | ErrorKind::Bus | ErrorKind::Overrun => DeviceError::Bus,
            _ => DeviceError::Bus,
        }
    }
}
