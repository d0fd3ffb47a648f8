//! The CIM model of the BMC, in the style of the Windows IPMI provider.
//!
//! Classes are data ([`schema`]), instances are (property, value) lists built by one value source
//! per area ([`sensor`], [`host`], [`power`], [`log`], [`physical`], [`profile`]), and one
//! renderer ([`render`]) writes any instance as WS-CIM XML. [`Model`] puts that behind the
//! WS-Man [`wsbmc_wsman::Provider`] trait: it resolves resource URIs, validates selectors and
//! namespaces, walks enumerations and association filters by a cursor that is a position in the
//! instance sequence, and carries out Put ([`write`]) and methods ([`method`]).
//!
//! Namespaces: the implementation classes live in `root/cimv2`; CIM_RegisteredProfile,
//! CIM_ReferencedProfile and CIM_ElementConformsToProfile live in `root/interop` (DSP1033) and
//! are also served when a request names `root/cimv2` or no namespace, because the Windows
//! provider kept its profiles in its implementation namespace. Every EPR carries the instance's
//! own namespace.
//!
//! What the model cannot do itself (power, SEL, FRU, persistence) comes through [`Platform`].
#![no_std]

extern crate alloc;

#[cfg(feature = "accounts")]
pub mod account;
pub mod datetime;
mod filter;
pub mod host;
#[cfg(feature = "indications")]
pub mod indication;
pub(crate) mod kind;
pub mod log;
pub mod method;
pub mod model;
pub mod network;
pub mod physical;
pub mod platform;
pub mod power;
pub mod profile;
pub mod render;
pub mod schema;
pub mod sensor;
pub mod software;
#[cfg(feature = "subscriptions")]
pub mod subscription;
pub mod value;
mod write;

#[cfg(feature = "accounts")]
pub use account::Accounts;
pub use datetime::CimDateTime;
pub use model::{INTEROP, Model, NAMESPACE, SystemInfo};
pub use network::{AddressOrigin, IpEndpointView};
#[cfg(feature = "accounts")]
pub use platform::AuditNames;
pub use platform::{
    ClearOutcome, DiscreteSensorView, FruView, LogRecordView, LogView, NotPersisted, Platform,
    PowerState, PowerTransition, RecordSensor, RequestOutcome,
};
pub use software::{FirmwareKind, FirmwareView, Image};
pub use value::{Instance, Value};

#[cfg(test)]
pub(crate) mod testutil {
    use alloc::string::String;

    use wsbmc_monitor::{
        PowerDomain, Quantity, Reading, SensorDesc, SensorSource, SensorState, Threshold,
        Thresholds,
    };

    /// A processor temperature sensor with LC, UNC, UC and UF thresholds.
    pub fn cpu_temp() -> SensorDesc {
        let thresholds = Thresholds {
            lower_critical: Some(5_000),
            upper_non_critical: Some(85_000),
            upper_critical: Some(95_000),
            upper_fatal: Some(105_000),
            ..Thresholds::default()
        };
        SensorDesc {
            key: String::from("cpu0_temp"),
            name: String::from("CPU0 Temp"),
            description: String::new(),
            number: 48,
            owner: 32,
            lun: 0,
            entity_id: 3,
            entity_instance: 1,
            quantity: Quantity::Temperature,
            scale: -3,
            thresholds,
            default_thresholds: thresholds,
            settable: Threshold::UpperNonCritical.bit() | Threshold::UpperCritical.bit(),
            hysteresis: 2_000,
            min_readable: -128_000,
            max_readable: 127_000,
            nominal: Some(45_000),
            poll_ms: 1_000,
            power: PowerDomain::Always,
            source: SensorSource {
                device: 0,
                channel: 0,
            },
        }
    }

    pub fn fan() -> SensorDesc {
        SensorDesc {
            key: String::from("fan1"),
            name: String::from("FAN1"),
            number: 0x60,
            entity_id: 0x1D,
            quantity: Quantity::FanSpeed,
            scale: 0,
            thresholds: Thresholds {
                lower_critical: Some(500),
                ..Thresholds::default()
            },
            settable: 0,
            hysteresis: 50,
            min_readable: 0,
            max_readable: 20_000,
            nominal: None,
            poll_ms: 250,
            ..cpu_temp()
        }
    }

    pub fn state(reading: Reading, asserted: u8) -> SensorState {
        SensorState {
            reading,
            updated_ms: 1,
            min: None,
            max: None,
            asserted,
        }
    }
}
