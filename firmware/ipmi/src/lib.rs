//! IPMI wire formats and code tables, `no_std` and allocation-free.
//!
//! The code tables are the IPMI 2.0 numbering (sensor types, table 42-3; unit types, table 43-15;
//! entity IDs, table 43-13) together with the mapping onto the CIM enumerations that
//! CIM_NumericSensor carries (`reference/cim.md` §2.3, §2.4). They live here rather than in the
//! CIM crate because the SDR and SEL codecs decode the same codes, and because the mapping is a
//! fact about IPMI, not about any one CIM class.
#![no_std]

pub mod cim;
pub mod convert;
pub mod discrete;
pub mod entity;
pub mod fru;
pub mod ipmb;
mod names;
pub mod scale;
pub mod sdr;
pub mod sel;
pub mod sensor_type;
pub mod text;
pub mod unit;

pub use cim::{BaseUnits, CimSensorType, CimUnits, RateUnits, SensorTypeMode};
pub use convert::{AnalogFormat, ConvError, Conversion, Factors, Linearization};
pub use entity::EntityId;
pub use sensor_type::SensorType;
pub use text::{Text, TextEncoding};
pub use unit::{RateUnit, Unit};
