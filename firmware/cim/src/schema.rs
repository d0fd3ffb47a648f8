//! Classes and properties as data.
//!
//! Every class the model knows is a `const` [`ClassDef`]: its name, its parent, its key names
//! and the properties it declares itself. Nothing about a class is code, so the one renderer
//! ([`crate::render`]) serves every class, and adding a class is adding a table plus a value
//! source, never a serializer.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use wsbmc_wsman::ns;

/// The CIM intrinsic types the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CimType {
    String,
    Boolean,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Sint8,
    Sint16,
    Sint32,
    Sint64,
    DateTime,
}

/// One property a class declares (or overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropDef {
    pub name: &'static str,
    pub ty: CimType,
    pub array: bool,
    pub key: bool,
}

const fn p(name: &'static str, ty: CimType) -> PropDef {
    PropDef {
        name,
        ty,
        array: false,
        key: false,
    }
}

const fn a(name: &'static str, ty: CimType) -> PropDef {
    PropDef {
        name,
        ty,
        array: true,
        key: false,
    }
}

const fn k(name: &'static str) -> PropDef {
    PropDef {
        name,
        ty: CimType::String,
        array: false,
        key: true,
    }
}

/// A CIM class.
#[derive(Debug)]
pub struct ClassDef {
    pub name: &'static str,
    pub parent: Option<&'static ClassDef>,
    /// Abstract classes are addressable only as the base of a polymorphic request.
    pub is_abstract: bool,
    /// Every key of the class, inherited ones included, in the alphabetical order EPRs use.
    pub keys: &'static [&'static str],
    /// The properties this class declares or overrides, alphabetical.
    pub props: &'static [PropDef],
}

/// CIM names are case-insensitive; "alphabetical" therefore ignores ASCII case, which keeps the
/// order stable whatever spelling a schema revision used.
pub fn name_order(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// A class is identified by its name; the tables hold one definition per name.
impl PartialEq for ClassDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for ClassDef {}

impl ClassDef {
    /// The class's resource URI, which is also the XML namespace of its instances (DSP0227).
    pub fn resource_uri(&self) -> String {
        let mut s = String::with_capacity(ns::CIM_SCHEMA.len() + self.name.len());
        s.push_str(ns::CIM_SCHEMA);
        s.push_str(self.name);
        s
    }

    /// Whether an instance of `self` is also an instance of `base`.
    pub fn is_a(&self, base: &ClassDef) -> bool {
        let mut c = Some(self);
        while let Some(class) = c {
            if core::ptr::eq(class, base) {
                return true;
            }
            c = class.parent;
        }
        false
    }

    /// Every property of the class, inherited ones included, alphabetical. A subclass's
    /// declaration of a name replaces the parent's (CIM_System re-declares Name as a key).
    pub fn properties(&self) -> Vec<&'static PropDef> {
        let mut out: Vec<&'static PropDef> = Vec::new();
        let mut c: Option<&ClassDef> = Some(self);
        while let Some(class) = c {
            for prop in class.props {
                if !out.iter().any(|q| q.name.eq_ignore_ascii_case(prop.name)) {
                    out.push(prop);
                }
            }
            c = class.parent;
        }
        out.sort_by(|x, y| name_order(x.name, y.name));
        out
    }

    pub fn property(&self, name: &str) -> Option<&'static PropDef> {
        let mut c: Option<&ClassDef> = Some(self);
        while let Some(class) = c {
            if let Some(p) = class
                .props
                .iter()
                .find(|p| p.name.eq_ignore_ascii_case(name))
            {
                return Some(p);
            }
            c = class.parent;
        }
        None
    }
}

/// Keys of every CIM_LogicalDevice: the device is scoped by its system (DSP0004 weak key).
const DEVICE_KEYS: &[&str] = &[
    "CreationClassName",
    "DeviceID",
    "SystemCreationClassName",
    "SystemName",
];
const SYSTEM_KEYS: &[&str] = &["CreationClassName", "Name"];

use CimType::{Boolean, DateTime, Sint32, Uint16, Uint32, Uint64};

pub static CIM_MANAGED_ELEMENT: ClassDef = ClassDef {
    name: "CIM_ManagedElement",
    parent: None,
    is_abstract: true,
    keys: &[],
    props: &[
        p("Caption", CimType::String),
        p("Description", CimType::String),
        p("ElementName", CimType::String),
    ],
};

pub static CIM_MANAGED_SYSTEM_ELEMENT: ClassDef = ClassDef {
    name: "CIM_ManagedSystemElement",
    parent: Some(&CIM_MANAGED_ELEMENT),
    is_abstract: true,
    keys: &[],
    props: &[
        p("HealthState", Uint16),
        p("InstallDate", DateTime),
        p("Name", CimType::String),
        a("OperationalStatus", Uint16),
        p("Status", CimType::String),
        a("StatusDescriptions", CimType::String),
    ],
};

pub static CIM_LOGICAL_ELEMENT: ClassDef = ClassDef {
    name: "CIM_LogicalElement",
    parent: Some(&CIM_MANAGED_SYSTEM_ELEMENT),
    is_abstract: true,
    keys: &[],
    props: &[],
};

pub static CIM_ENABLED_LOGICAL_ELEMENT: ClassDef = ClassDef {
    name: "CIM_EnabledLogicalElement",
    parent: Some(&CIM_LOGICAL_ELEMENT),
    is_abstract: true,
    keys: &[],
    props: &[
        p("EnabledDefault", Uint16),
        p("EnabledState", Uint16),
        p("OtherEnabledState", CimType::String),
        p("RequestedState", Uint16),
        p("TimeOfLastStateChange", DateTime),
    ],
};

pub static CIM_LOGICAL_DEVICE: ClassDef = ClassDef {
    name: "CIM_LogicalDevice",
    parent: Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    is_abstract: true,
    keys: DEVICE_KEYS,
    props: &[
        a("AdditionalAvailability", Uint16),
        p("Availability", Uint16),
        k("CreationClassName"),
        k("DeviceID"),
        p("ErrorCleared", Boolean),
        p("ErrorDescription", CimType::String),
        a("IdentifyingDescriptions", CimType::String),
        p("LastErrorCode", Uint32),
        p("MaxQuiesceTime", Uint64),
        a("OtherIdentifyingInfo", CimType::String),
        a("PowerManagementCapabilities", Uint16),
        p("PowerManagementSupported", Boolean),
        p("PowerOnHours", Uint64),
        p("StatusInfo", Uint16),
        k("SystemCreationClassName"),
        k("SystemName"),
        p("TotalPowerOnHours", Uint64),
    ],
};

/// Concrete in CIM (discrete sensors will be its instances); today it has none of its own and
/// answers polymorphically with the numeric sensors.
pub static CIM_SENSOR: ClassDef = ClassDef {
    name: "CIM_Sensor",
    parent: Some(&CIM_LOGICAL_DEVICE),
    is_abstract: false,
    keys: DEVICE_KEYS,
    props: &[
        p("CurrentState", CimType::String),
        p("OtherSensorTypeDescription", CimType::String),
        p("PollingInterval", Uint64),
        a("PossibleStates", CimType::String),
        p("SensorType", Uint16),
    ],
};

pub static CIM_NUMERIC_SENSOR: ClassDef = ClassDef {
    name: "CIM_NumericSensor",
    parent: Some(&CIM_SENSOR),
    is_abstract: false,
    keys: DEVICE_KEYS,
    props: &[
        p("Accuracy", Sint32),
        p("BaseUnits", Uint16),
        p("CurrentReading", Sint32),
        a("EnabledThresholds", Uint16),
        p("Hysteresis", Uint32),
        p("IsLinear", Boolean),
        p("LowerThresholdCritical", Sint32),
        p("LowerThresholdFatal", Sint32),
        p("LowerThresholdNonCritical", Sint32),
        p("MaxReadable", Sint32),
        p("MinReadable", Sint32),
        p("NominalReading", Sint32),
        p("NormalMax", Sint32),
        p("NormalMin", Sint32),
        p("RateUnits", Uint16),
        p("Resolution", Uint32),
        a("SettableThresholds", Uint16),
        a("SupportedThresholds", Uint16),
        p("Tolerance", Sint32),
        p("UnitModifier", Sint32),
        p("UpperThresholdCritical", Sint32),
        p("UpperThresholdFatal", Sint32),
        p("UpperThresholdNonCritical", Sint32),
    ],
};

pub static CIM_SYSTEM: ClassDef = ClassDef {
    name: "CIM_System",
    parent: Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    is_abstract: true,
    keys: SYSTEM_KEYS,
    props: &[
        k("CreationClassName"),
        k("Name"),
        p("NameFormat", CimType::String),
        p("PrimaryOwnerContact", CimType::String),
        p("PrimaryOwnerName", CimType::String),
        a("Roles", CimType::String),
    ],
};

pub static CIM_COMPUTER_SYSTEM: ClassDef = ClassDef {
    name: "CIM_ComputerSystem",
    parent: Some(&CIM_SYSTEM),
    is_abstract: false,
    keys: SYSTEM_KEYS,
    props: &[
        a("Dedicated", Uint16),
        a("IdentifyingDescriptions", CimType::String),
        a("OtherDedicatedDescriptions", CimType::String),
        a("OtherIdentifyingInfo", CimType::String),
        a("PowerManagementCapabilities", Uint16),
        p("ResetCapability", Uint16),
    ],
};

/// Every class table, for the consistency tests and for lookups by name.
pub static ALL_CLASSES: &[&ClassDef] = &[
    &CIM_MANAGED_ELEMENT,
    &CIM_MANAGED_SYSTEM_ELEMENT,
    &CIM_LOGICAL_ELEMENT,
    &CIM_ENABLED_LOGICAL_ELEMENT,
    &CIM_LOGICAL_DEVICE,
    &CIM_SENSOR,
    &CIM_NUMERIC_SENSOR,
    &CIM_SYSTEM,
    &CIM_COMPUTER_SYSTEM,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> bool {
        names
            .windows(2)
            .all(|w| name_order(w[0], w[1]) == Ordering::Less)
    }

    #[test]
    fn every_table_is_alphabetical_and_free_of_duplicates() {
        for class in ALL_CLASSES {
            let own: Vec<&str> = class.props.iter().map(|p| p.name).collect();
            assert!(sorted(&own), "{}: own properties out of order", class.name);
            let all: Vec<&str> = class.properties().iter().map(|p| p.name).collect();
            assert!(sorted(&all), "{}: properties out of order", class.name);
            assert!(sorted(class.keys), "{}: keys out of order", class.name);
        }
    }

    #[test]
    fn key_lists_match_the_key_flags() {
        for class in ALL_CLASSES {
            let flagged: Vec<&str> = class
                .properties()
                .iter()
                .filter(|p| p.key)
                .map(|p| p.name)
                .collect();
            assert_eq!(flagged, class.keys, "{}", class.name);
            for key in class.keys {
                let p = class.property(key);
                assert!(p.is_some_and(|p| p.ty == CimType::String && !p.array));
            }
        }
    }

    #[test]
    fn concrete_classes_have_keys() {
        for class in ALL_CLASSES.iter().filter(|c| !c.is_abstract) {
            assert!(!class.keys.is_empty(), "{}", class.name);
        }
    }

    #[test]
    fn numeric_sensor_has_the_windows_property_set() {
        let names: Vec<&str> = CIM_NUMERIC_SENSOR
            .properties()
            .iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names.len(), 59);
        for n in [
            "Caption",
            "DeviceID",
            "CurrentReading",
            "PossibleStates",
            "SupportedThresholds",
            "MaxQuiesceTime",
            "TimeOfLastStateChange",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }

    #[test]
    fn subclass_override_replaces_the_parent_declaration() {
        let name = CIM_COMPUTER_SYSTEM.property("name");
        assert!(name.is_some_and(|p| p.key));
        let count = CIM_COMPUTER_SYSTEM
            .properties()
            .iter()
            .filter(|p| p.name == "Name")
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn inheritance() {
        assert!(CIM_NUMERIC_SENSOR.is_a(&CIM_SENSOR));
        assert!(CIM_NUMERIC_SENSOR.is_a(&CIM_MANAGED_ELEMENT));
        assert!(!CIM_SENSOR.is_a(&CIM_NUMERIC_SENSOR));
        assert!(!CIM_COMPUTER_SYSTEM.is_a(&CIM_SENSOR));
        assert_eq!(
            CIM_NUMERIC_SENSOR.resource_uri(),
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor"
        );
    }
}
