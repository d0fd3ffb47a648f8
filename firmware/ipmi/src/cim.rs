//! The CIM enumerations IPMI codes map onto, and the mapping of sensor types
//! (`reference/cim.md` §2.3). Unit mapping lives with the unit table in [`crate::unit`].
//!
//! The CIM numbers are DMTF schema facts (CIM_NumericSensor.BaseUnits, CIM_Sensor.SensorType,
//! CIM_NumericSensor.RateUnits ValueMaps); they are here, below the CIM crate, so that every
//! consumer of an IPMI code (the CIM model now, SEL rendering and indications later) agrees on
//! one mapping.

use crate::sensor_type::SensorType;
use crate::unit::Unit;

/// CIM_NumericSensor.BaseUnits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaseUnits(pub u16);

impl BaseUnits {
    pub const UNKNOWN: Self = Self(0);
    pub const OTHER: Self = Self(1);
    pub const DEGREES_C: Self = Self(2);
    pub const DEGREES_F: Self = Self(3);
    pub const DEGREES_K: Self = Self(4);
    pub const VOLTS: Self = Self(5);
    pub const AMPS: Self = Self(6);
    pub const WATTS: Self = Self(7);
    pub const JOULES: Self = Self(8);
    pub const COULOMBS: Self = Self(9);
    pub const VA: Self = Self(10);
    pub const NITS: Self = Self(11);
    pub const LUMENS: Self = Self(12);
    pub const LUX: Self = Self(13);
    pub const CANDELAS: Self = Self(14);
    pub const KPA: Self = Self(15);
    pub const PSI: Self = Self(16);
    pub const NEWTONS: Self = Self(17);
    pub const CFM: Self = Self(18);
    pub const RPM: Self = Self(19);
    pub const HERTZ: Self = Self(20);
    pub const SECONDS: Self = Self(21);
    pub const MINUTES: Self = Self(22);
    pub const HOURS: Self = Self(23);
    pub const DAYS: Self = Self(24);
    pub const WEEKS: Self = Self(25);
    pub const MILS: Self = Self(26);
    pub const INCHES: Self = Self(27);
    pub const FEET: Self = Self(28);
    pub const CUBIC_INCHES: Self = Self(29);
    pub const CUBIC_FEET: Self = Self(30);
    pub const METERS: Self = Self(31);
    pub const CUBIC_CENTIMETERS: Self = Self(32);
    pub const CUBIC_METERS: Self = Self(33);
    pub const LITERS: Self = Self(34);
    pub const FLUID_OUNCES: Self = Self(35);
    pub const RADIANS: Self = Self(36);
    pub const STERADIANS: Self = Self(37);
    pub const REVOLUTIONS: Self = Self(38);
    pub const CYCLES: Self = Self(39);
    pub const GRAVITIES: Self = Self(40);
    pub const OUNCES: Self = Self(41);
    pub const POUNDS: Self = Self(42);
    pub const FOOT_POUNDS: Self = Self(43);
    pub const OUNCE_INCHES: Self = Self(44);
    pub const GAUSS: Self = Self(45);
    pub const GILBERTS: Self = Self(46);
    pub const HENRIES: Self = Self(47);
    pub const FARADS: Self = Self(48);
    pub const OHMS: Self = Self(49);
    pub const SIEMENS: Self = Self(50);
    pub const MOLES: Self = Self(51);
    pub const BECQUERELS: Self = Self(52);
    pub const PPM: Self = Self(53);
    pub const DECIBELS: Self = Self(54);
    pub const DBA: Self = Self(55);
    pub const DBC: Self = Self(56);
    pub const GRAYS: Self = Self(57);
    pub const SIEVERTS: Self = Self(58);
    pub const COLOR_TEMPERATURE_K: Self = Self(59);
    pub const BITS: Self = Self(60);
    pub const BYTES: Self = Self(61);
    pub const WORDS: Self = Self(62);
    pub const DOUBLE_WORDS: Self = Self(63);
    pub const QUAD_WORDS: Self = Self(64);
    pub const PERCENTAGE: Self = Self(65);
    /// CIM 2.42 only; a Windows-era (2.9) client does not know it.
    pub const PASCALS: Self = Self(66);
}

/// CIM_Sensor.SensorType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CimSensorType(pub u16);

impl CimSensorType {
    pub const UNKNOWN: Self = Self(0);
    pub const OTHER: Self = Self(1);
    pub const TEMPERATURE: Self = Self(2);
    pub const VOLTAGE: Self = Self(3);
    pub const CURRENT: Self = Self(4);
    pub const TACHOMETER: Self = Self(5);
    pub const COUNTER: Self = Self(6);
    pub const SWITCH: Self = Self(7);
    pub const LOCK: Self = Self(8);
    pub const HUMIDITY: Self = Self(9);
    pub const SMOKE_DETECTION: Self = Self(10);
    pub const PRESENCE: Self = Self(11);
    pub const AIR_FLOW: Self = Self(12);
    /// 13..=16 are newer than the Windows provider's schema (CIM 2.9 stops at 12).
    pub const POWER_CONSUMPTION: Self = Self(13);
    pub const POWER_PRODUCTION: Self = Self(14);
    pub const PRESSURE: Self = Self(15);
    pub const INTRUSION: Self = Self(16);
}

/// CIM_NumericSensor.RateUnits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RateUnits(pub u16);

impl RateUnits {
    pub const NONE: Self = Self(0);
    pub const PER_MICROSECOND: Self = Self(1);
    pub const PER_MILLISECOND: Self = Self(2);
    pub const PER_SECOND: Self = Self(3);
    pub const PER_MINUTE: Self = Self(4);
    pub const PER_HOUR: Self = Self(5);
    pub const PER_DAY: Self = Self(6);
    pub const PER_WEEK: Self = Self(7);
    pub const PER_MONTH: Self = Self(8);
    pub const PER_YEAR: Self = Self(9);
}

/// A CIM base unit plus the power of ten that has to be added to the sensor's UnitModifier
/// because CIM has no unit for the IPMI one (millisecond → Seconds, −3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CimUnits {
    pub base_units: BaseUnits,
    pub modifier: i8,
}

/// Which CIM SensorType vocabulary to answer in.
///
/// Windows consoles and the tools written against the Windows IPMI provider (MetricsHub, SCOM
/// packs) know only the CIM 2.9 values 0..=12 and look for power as "Other + Watts"; DMTF
/// DSP1009 1.1 clients expect the newer Power Consumption / Intrusion values. The default is the
/// Windows vocabulary because that is the compatibility target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SensorTypeMode {
    #[default]
    Windows,
    Dmtf,
}

impl SensorType {
    /// CIM_Sensor.SensorType for a sensor of this IPMI type reading in `unit`
    /// (`reference/cim.md` §2.3). The unit matters because IPMI types are broader than CIM's:
    /// a Fan sensor is a CIM Tachometer only when it reads RPM.
    pub const fn cim(self, unit: Unit, mode: SensorTypeMode) -> CimSensorType {
        let windows = matches!(mode, SensorTypeMode::Windows);
        match self {
            SensorType::RESERVED => CimSensorType::UNKNOWN,
            SensorType::TEMPERATURE => CimSensorType::TEMPERATURE,
            SensorType::VOLTAGE => CimSensorType::VOLTAGE,
            SensorType::CURRENT => CimSensorType::CURRENT,
            SensorType::FAN if unit.0 == Unit::RPM.0 => CimSensorType::TACHOMETER,
            SensorType::PHYSICAL_SECURITY if !windows => CimSensorType::INTRUSION,
            SensorType::OTHER_UNITS_BASED if !windows && unit.0 == Unit::WATTS.0 => {
                CimSensorType::POWER_CONSUMPTION
            }
            SensorType::BUTTON_SWITCH => CimSensorType::SWITCH,
            SensorType::ENTITY_PRESENCE => CimSensorType::PRESENCE,
            SensorType::BATTERY if unit.0 == Unit::VOLTS.0 => CimSensorType::VOLTAGE,
            _ => CimSensorType::OTHER,
        }
    }

    /// CIM_Sensor.OtherSensorTypeDescription: the IPMI type name whenever the CIM type had to
    /// fall back to Other, so a console still learns what the sensor is.
    pub const fn other_description(self, cim: CimSensorType) -> Option<&'static str> {
        if cim.0 == CimSensorType::OTHER.0 {
            Some(self.name())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analog_types_map_directly() {
        let w = SensorTypeMode::Windows;
        assert_eq!(
            SensorType::TEMPERATURE.cim(Unit::DEGREES_C, w),
            CimSensorType(2)
        );
        assert_eq!(SensorType::VOLTAGE.cim(Unit::VOLTS, w), CimSensorType(3));
        assert_eq!(SensorType::CURRENT.cim(Unit::AMPS, w), CimSensorType(4));
        assert_eq!(SensorType::FAN.cim(Unit::RPM, w), CimSensorType(5));
    }

    #[test]
    fn fan_without_rpm_is_other() {
        let t = SensorType::FAN.cim(Unit::UNSPECIFIED, SensorTypeMode::Windows);
        assert_eq!(t, CimSensorType::OTHER);
        assert_eq!(SensorType::FAN.other_description(t), Some("Fan"));
    }

    #[test]
    fn power_is_other_for_windows_and_power_consumption_for_dmtf() {
        let st = SensorType::OTHER_UNITS_BASED;
        let w = st.cim(Unit::WATTS, SensorTypeMode::Windows);
        assert_eq!(w, CimSensorType::OTHER);
        assert_eq!(st.other_description(w), Some("Other Units-based Sensor"));
        let d = st.cim(Unit::WATTS, SensorTypeMode::Dmtf);
        assert_eq!(d, CimSensorType::POWER_CONSUMPTION);
        assert_eq!(st.other_description(d), None);
        assert_eq!(
            st.cim(Unit::JOULES, SensorTypeMode::Dmtf),
            CimSensorType::OTHER
        );
    }

    #[test]
    fn discrete_types() {
        let w = SensorTypeMode::Windows;
        assert_eq!(
            SensorType::BUTTON_SWITCH.cim(Unit::UNSPECIFIED, w),
            CimSensorType(7)
        );
        assert_eq!(
            SensorType::ENTITY_PRESENCE.cim(Unit::UNSPECIFIED, w),
            CimSensorType(11)
        );
        assert_eq!(
            SensorType::PHYSICAL_SECURITY.cim(Unit::UNSPECIFIED, w),
            CimSensorType(1)
        );
        assert_eq!(
            SensorType::PHYSICAL_SECURITY.cim(Unit::UNSPECIFIED, SensorTypeMode::Dmtf),
            CimSensorType(16)
        );
        assert_eq!(SensorType::BATTERY.cim(Unit::VOLTS, w), CimSensorType(3));
        assert_eq!(
            SensorType::BATTERY.cim(Unit::UNSPECIFIED, w),
            CimSensorType(1)
        );
        assert_eq!(
            SensorType::PROCESSOR.cim(Unit::UNSPECIFIED, w),
            CimSensorType(1)
        );
        assert_eq!(SensorType(0xC5).cim(Unit::UNSPECIFIED, w), CimSensorType(1));
        assert_eq!(
            SensorType::RESERVED.cim(Unit::UNSPECIFIED, w),
            CimSensorType(0)
        );
    }

    #[test]
    fn windows_mode_never_leaves_the_cim_2_9_range() {
        for st in 0..=u8::MAX {
            for unit in 0..=u8::MAX {
                let t = SensorType(st).cim(Unit(unit), SensorTypeMode::Windows);
                assert!(t.0 <= 12, "{st:#x}/{unit} -> {t:?}");
            }
        }
    }
}
