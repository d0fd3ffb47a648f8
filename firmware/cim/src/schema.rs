//! Classes and properties as data.
//!
//! Every class the model knows is a `const` [`ClassDef`]: its name, its parent, its key names
//! and the properties it declares itself. Nothing about a class is code, so the one renderer
//! ([`crate::render`]) serves every class, and adding a class is adding a table plus a value
//! source and its entry in `kind.rs`, never a serializer.

use alloc::string::String;
use core::cmp::Ordering;

use wsbmc_wsman::ns;

/// The CIM intrinsic types the model uses. There is no real32/real64: the firmware has no floats,
/// so properties of those types (PhysicalPackage.Depth and friends) are left out of the tables.
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
    /// A reference to another instance (association ends); rendered as EPR content.
    Reference,
}

/// One property a class declares (or overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropDef {
    pub name: &'static str,
    pub ty: CimType,
    pub array: bool,
    pub key: bool,
}

pub(crate) const fn p(name: &'static str, ty: CimType) -> PropDef {
    PropDef {
        name,
        ty,
        array: false,
        key: false,
    }
}

pub(crate) const fn a(name: &'static str, ty: CimType) -> PropDef {
    PropDef {
        name,
        ty,
        array: true,
        key: false,
    }
}

pub(crate) const fn k(name: &'static str) -> PropDef {
    PropDef {
        name,
        ty: CimType::String,
        array: false,
        key: true,
    }
}

/// A reference-typed key: every end of an association is one.
pub(crate) const fn r(name: &'static str) -> PropDef {
    PropDef {
        name,
        ty: CimType::Reference,
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

pub(crate) const fn abstract_class(
    name: &'static str,
    parent: Option<&'static ClassDef>,
    keys: &'static [&'static str],
    props: &'static [PropDef],
) -> ClassDef {
    ClassDef {
        name,
        parent,
        is_abstract: true,
        keys,
        props,
    }
}

pub(crate) const fn class(
    name: &'static str,
    parent: &'static ClassDef,
    keys: &'static [&'static str],
    props: &'static [PropDef],
) -> ClassDef {
    ClassDef {
        name,
        parent: Some(parent),
        is_abstract: false,
        keys,
        props,
    }
}

/// CIM names are case-insensitive; "alphabetical" therefore ignores ASCII case, which keeps the
/// order stable whatever spelling a schema revision used.
pub fn name_order(a: &str, b: &str) -> Ordering {
    // The renderer orders every property of every instance with this. Its pairing of a value
    // with its property compares equal names, which are mostly the same literal (one pointer
    // compare) or, when the linker kept two copies of it (a builder's "Caption" and the
    // table's, from different codegen units), the same bytes; names that differ mostly share
    // a prefix ("LowerThreshold..."). So the common prefix is skipped by plain byte equality,
    // and only the first differing bytes are compared without case.
    if core::ptr::eq(a, b) || a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    for (x, y) in a.iter().zip(b).skip(same) {
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    a.len().cmp(&b.len())
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

    /// Associations are the classes whose keys are references.
    pub fn is_association(&self) -> bool {
        self.keys.iter().any(|key| {
            self.property(key)
                .is_some_and(|p| p.ty == CimType::Reference)
        })
    }

    /// Every property of the class, inherited ones included, alphabetical. A subclass's
    /// declaration of a name replaces the parent's (CIM_System re-declares Name as a key).
    ///
    /// Every class's own table is alphabetical, so the full list is a merge of the tables up
    /// the inheritance chain, walked lazily: no allocation and no sort per call, which matters
    /// because the renderer asks once per instance.
    pub fn properties(&self) -> Properties {
        let mut chain = [&[][..]; MAX_INHERITANCE];
        let mut len = 0;
        let mut c: Option<&ClassDef> = Some(self);
        while let Some(class) = c {
            // The tables are static and checked by a test to be no deeper than the array.
            if let Some(slot) = chain.get_mut(len).filter(|_| !class.props.is_empty()) {
                *slot = class.props;
                len += 1;
            }
            c = class.parent;
        }
        Properties { chain, len }
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

/// The deepest inheritance chain (a class and its ancestors) [`ClassDef::properties`] merges.
const MAX_INHERITANCE: usize = 8;

/// The iterator [`ClassDef::properties`] returns: the remaining tables of the class and its
/// ancestors, most derived first.
#[derive(Debug, Clone)]
pub struct Properties {
    chain: [&'static [PropDef]; MAX_INHERITANCE],
    len: usize,
}

impl Iterator for Properties {
    type Item = &'static PropDef;

    fn next(&mut self) -> Option<&'static PropDef> {
        let chain = self.chain.get_mut(..self.len)?;
        // The smallest head; on equal names the most derived table (first) wins.
        let mut best: Option<&'static PropDef> = None;
        for table in chain.iter() {
            if let Some(head) = table.first()
                && best.is_none_or(|b| name_order(head.name, b.name).is_lt())
            {
                best = Some(head);
            }
        }
        let best = best?;
        // Consume that name from every table, dropping the shadowed declarations.
        for table in chain.iter_mut() {
            if let Some((head, rest)) = table.split_first()
                && (core::ptr::eq(head, best) || head.name.eq_ignore_ascii_case(best.name))
            {
                *table = rest;
            }
        }
        Some(best)
    }
}

/// The class called `name` (case-insensitively), abstract ones included.
pub fn class_named(name: &str) -> Option<&'static ClassDef> {
    ALL_CLASSES
        .iter()
        .copied()
        .find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Keys of every CIM_LogicalDevice: the device is scoped by its system (DSP0004 weak key).
const DEVICE_KEYS: &[&str] = &[
    "CreationClassName",
    "DeviceID",
    "SystemCreationClassName",
    "SystemName",
];
const SYSTEM_KEYS: &[&str] = &["CreationClassName", "Name"];
const SERVICE_KEYS: &[&str] = &[
    "CreationClassName",
    "Name",
    "SystemCreationClassName",
    "SystemName",
];
pub(crate) const INSTANCE_ID: &[&str] = &["InstanceID"];
const PHYSICAL_KEYS: &[&str] = &["CreationClassName", "Tag"];
pub(crate) const DEPENDENCY_KEYS: &[&str] = &["Antecedent", "Dependent"];
const COMPONENT_KEYS: &[&str] = &["GroupComponent", "PartComponent"];

use CimType::{Boolean, DateTime, Sint16, Sint32, Uint16, Uint32, Uint64};
const STR: CimType = CimType::String;

// ---- Managed elements -------------------------------------------------------------------------

pub static CIM_MANAGED_ELEMENT: ClassDef = abstract_class(
    "CIM_ManagedElement",
    None,
    &[],
    &[
        p("Caption", STR),
        p("Description", STR),
        p("ElementName", STR),
    ],
);

pub static CIM_MANAGED_SYSTEM_ELEMENT: ClassDef = abstract_class(
    "CIM_ManagedSystemElement",
    Some(&CIM_MANAGED_ELEMENT),
    &[],
    &[
        p("HealthState", Uint16),
        p("InstallDate", DateTime),
        p("Name", STR),
        a("OperationalStatus", Uint16),
        p("Status", STR),
        a("StatusDescriptions", STR),
    ],
);

pub static CIM_LOGICAL_ELEMENT: ClassDef = abstract_class(
    "CIM_LogicalElement",
    Some(&CIM_MANAGED_SYSTEM_ELEMENT),
    &[],
    &[],
);

pub static CIM_ENABLED_LOGICAL_ELEMENT: ClassDef = abstract_class(
    "CIM_EnabledLogicalElement",
    Some(&CIM_LOGICAL_ELEMENT),
    &[],
    &[
        p("EnabledDefault", Uint16),
        p("EnabledState", Uint16),
        p("OtherEnabledState", STR),
        p("RequestedState", Uint16),
        p("TimeOfLastStateChange", DateTime),
    ],
);

// ---- Devices ----------------------------------------------------------------------------------

pub static CIM_LOGICAL_DEVICE: ClassDef = abstract_class(
    "CIM_LogicalDevice",
    Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    DEVICE_KEYS,
    &[
        a("AdditionalAvailability", Uint16),
        p("Availability", Uint16),
        k("CreationClassName"),
        k("DeviceID"),
        p("ErrorCleared", Boolean),
        p("ErrorDescription", STR),
        a("IdentifyingDescriptions", STR),
        p("LastErrorCode", Uint32),
        p("MaxQuiesceTime", Uint64),
        a("OtherIdentifyingInfo", STR),
        a("PowerManagementCapabilities", Uint16),
        p("PowerManagementSupported", Boolean),
        p("PowerOnHours", Uint64),
        p("StatusInfo", Uint16),
        k("SystemCreationClassName"),
        k("SystemName"),
        p("TotalPowerOnHours", Uint64),
    ],
);

/// A discrete sensor (state strings, no reading), and the base of every sensor.
pub static CIM_SENSOR: ClassDef = class(
    "CIM_Sensor",
    &CIM_LOGICAL_DEVICE,
    DEVICE_KEYS,
    &[
        p("CurrentState", STR),
        p("OtherSensorTypeDescription", STR),
        p("PollingInterval", Uint64),
        a("PossibleStates", STR),
        p("SensorType", Uint16),
    ],
);

pub static CIM_NUMERIC_SENSOR: ClassDef = class(
    "CIM_NumericSensor",
    &CIM_SENSOR,
    DEVICE_KEYS,
    &[
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
);

// ---- Systems ----------------------------------------------------------------------------------

pub static CIM_SYSTEM: ClassDef = abstract_class(
    "CIM_System",
    Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    SYSTEM_KEYS,
    &[
        k("CreationClassName"),
        k("Name"),
        p("NameFormat", STR),
        p("PrimaryOwnerContact", STR),
        p("PrimaryOwnerName", STR),
        a("Roles", STR),
    ],
);

/// Both the managed host and the BMC itself (Dedicated 28, Management Controller).
pub static CIM_COMPUTER_SYSTEM: ClassDef = class(
    "CIM_ComputerSystem",
    &CIM_SYSTEM,
    SYSTEM_KEYS,
    &[
        a("Dedicated", Uint16),
        a("IdentifyingDescriptions", STR),
        a("OtherDedicatedDescriptions", STR),
        a("OtherIdentifyingInfo", STR),
        a("PowerManagementCapabilities", Uint16),
        p("ResetCapability", Uint16),
    ],
);

/// The Windows provider's grouping of the systems it manages (cim.md §1.2).
pub static CIM_ADMIN_DOMAIN: ClassDef = class("CIM_AdminDomain", &CIM_SYSTEM, SYSTEM_KEYS, &[]);

// ---- Collections ------------------------------------------------------------------------------

pub static CIM_COLLECTION: ClassDef =
    abstract_class("CIM_Collection", Some(&CIM_MANAGED_ELEMENT), &[], &[]);

/// The Windows provider's "one SystemSpecificCollection per BMC" that ties the sensors to it.
pub static CIM_SYSTEM_SPECIFIC_COLLECTION: ClassDef = class(
    "CIM_SystemSpecificCollection",
    &CIM_COLLECTION,
    INSTANCE_ID,
    &[k("InstanceID")],
);

// ---- Services and capabilities ----------------------------------------------------------------

pub static CIM_SERVICE: ClassDef = abstract_class(
    "CIM_Service",
    Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    SERVICE_KEYS,
    &[
        k("CreationClassName"),
        k("Name"),
        p("PrimaryOwnerContact", STR),
        p("PrimaryOwnerName", STR),
        p("Started", Boolean),
        p("StartMode", STR),
        k("SystemCreationClassName"),
        k("SystemName"),
    ],
);

pub static CIM_POWER_MANAGEMENT_SERVICE: ClassDef = class(
    "CIM_PowerManagementService",
    &CIM_SERVICE,
    SERVICE_KEYS,
    &[],
);

pub static CIM_CAPABILITIES: ClassDef = abstract_class(
    "CIM_Capabilities",
    Some(&CIM_MANAGED_ELEMENT),
    INSTANCE_ID,
    &[k("InstanceID")],
);

pub static CIM_POWER_MANAGEMENT_CAPABILITIES: ClassDef = class(
    "CIM_PowerManagementCapabilities",
    &CIM_CAPABILITIES,
    INSTANCE_ID,
    &[
        p("OtherPowerChangeCapabilities", STR),
        a("PowerChangeCapabilities", Uint16),
        a("PowerStatesSupported", Uint16),
        a("RequestedPowerStatesSupported", Uint16),
    ],
);

/// The record log's state-change capabilities (DSP1010; VMware ships the same).
pub static CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES: ClassDef = class(
    "CIM_EnabledLogicalElementCapabilities",
    &CIM_CAPABILITIES,
    INSTANCE_ID,
    &[
        p("ElementNameEditSupported", Boolean),
        p("ElementNameMask", STR),
        p("MaxElementNameLen", Uint16),
        a("RequestedStatesSupported", Uint16),
    ],
);

// ---- Logs -------------------------------------------------------------------------------------

pub static CIM_LOG: ClassDef = abstract_class(
    "CIM_Log",
    Some(&CIM_ENABLED_LOGICAL_ELEMENT),
    &[],
    &[
        p("CurrentNumberOfRecords", Uint64),
        p("LogState", Uint16),
        p("MaxNumberOfRecords", Uint64),
        p("OverwritePolicy", Uint16),
    ],
);

pub static CIM_RECORD_LOG: ClassDef =
    class("CIM_RecordLog", &CIM_LOG, INSTANCE_ID, &[k("InstanceID")]);

/// One SEL entry, in the CIM 2.8 shape the Windows provider and VMware use (a ManagedElement
/// keyed by its log, its id and its timestamp).
pub static CIM_LOG_RECORD: ClassDef = class(
    "CIM_LogRecord",
    &CIM_MANAGED_ELEMENT,
    &[
        "CreationClassName",
        "LogCreationClassName",
        "LogName",
        "MessageTimestamp",
        "RecordID",
    ],
    &[
        k("CreationClassName"),
        p("DataFormat", STR),
        k("LogCreationClassName"),
        k("LogName"),
        PropDef {
            name: "MessageTimestamp",
            ty: DateTime,
            array: false,
            key: true,
        },
        p("RecordData", STR),
        p("RecordFormat", STR),
        k("RecordID"),
    ],
);

// ---- Physical elements ------------------------------------------------------------------------

pub static CIM_PHYSICAL_ELEMENT: ClassDef = abstract_class(
    "CIM_PhysicalElement",
    Some(&CIM_MANAGED_SYSTEM_ELEMENT),
    PHYSICAL_KEYS,
    &[
        p("CanBeFRUed", Boolean),
        k("CreationClassName"),
        p("ManufactureDate", DateTime),
        p("Manufacturer", STR),
        p("Model", STR),
        p("OtherIdentifyingInfo", STR),
        p("PartNumber", STR),
        p("PoweredOn", Boolean),
        p("SerialNumber", STR),
        p("SKU", STR),
        k("Tag"),
        p("UserTracking", STR),
        p("VendorEquipmentType", STR),
        p("Version", STR),
    ],
);

pub static CIM_PHYSICAL_PACKAGE: ClassDef = abstract_class(
    "CIM_PhysicalPackage",
    Some(&CIM_PHYSICAL_ELEMENT),
    PHYSICAL_KEYS,
    &[
        p("HotSwappable", Boolean),
        p("PackageType", Uint16),
        p("Removable", Boolean),
        p("RemovalConditions", Uint16),
        p("Replaceable", Boolean),
    ],
);

pub static CIM_PHYSICAL_FRAME: ClassDef = abstract_class(
    "CIM_PhysicalFrame",
    Some(&CIM_PHYSICAL_PACKAGE),
    PHYSICAL_KEYS,
    &[
        p("AudibleAlarm", Boolean),
        p("BreachDescription", STR),
        p("CableManagementStrategy", STR),
        p("IsLocked", Boolean),
        p("LockPresent", Boolean),
        p("SecurityBreach", Uint16),
        a("ServiceDescriptions", STR),
        a("ServicePhilosophy", Uint16),
        p("VisibleAlarm", Boolean),
    ],
);

pub static CIM_CHASSIS: ClassDef = class(
    "CIM_Chassis",
    &CIM_PHYSICAL_FRAME,
    PHYSICAL_KEYS,
    &[
        p("ChassisPackageType", Uint16),
        p("ChassisTypeDescription", STR),
        p("MultipleSystemSupport", Boolean),
        p("NumberOfPowerCords", Uint16),
    ],
);

/// The baseboard (HostingBoard = true).
pub static CIM_CARD: ClassDef = class(
    "CIM_Card",
    &CIM_PHYSICAL_PACKAGE,
    PHYSICAL_KEYS,
    &[
        p("HostingBoard", Boolean),
        a("OperatingVoltages", Sint16),
        p("RequirementsDescription", STR),
        p("RequiresDaughterBoard", Boolean),
        p("SlotLayout", STR),
        p("SpecialRequirements", Boolean),
    ],
);

// ---- Profile registration (DSP1033) -----------------------------------------------------------

pub static CIM_REGISTERED_PROFILE: ClassDef = class(
    "CIM_RegisteredProfile",
    &CIM_MANAGED_ELEMENT,
    INSTANCE_ID,
    &[
        a("AdvertiseTypeDescriptions", STR),
        a("AdvertiseTypes", Uint16),
        k("InstanceID"),
        p("OtherRegisteredOrganization", STR),
        p("RegisteredName", STR),
        p("RegisteredOrganization", Uint16),
        p("RegisteredVersion", STR),
    ],
);

// ---- Associations -----------------------------------------------------------------------------

pub static CIM_DEPENDENCY: ClassDef = abstract_class(
    "CIM_Dependency",
    None,
    DEPENDENCY_KEYS,
    &[r("Antecedent"), r("Dependent")],
);

pub static CIM_COMPONENT: ClassDef = abstract_class(
    "CIM_Component",
    None,
    COMPONENT_KEYS,
    &[r("GroupComponent"), r("PartComponent")],
);

/// Host → BMC, and the admin domain → both systems.
pub static CIM_SYSTEM_COMPONENT: ClassDef =
    class("CIM_SystemComponent", &CIM_COMPONENT, COMPONENT_KEYS, &[]);

/// Host → every sensor.
pub static CIM_SYSTEM_DEVICE: ClassDef = class(
    "CIM_SystemDevice",
    &CIM_SYSTEM_COMPONENT,
    COMPONENT_KEYS,
    &[],
);

/// Sensor → what it watches.
pub static CIM_ASSOCIATED_SENSOR: ClassDef = class(
    "CIM_AssociatedSensor",
    &CIM_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

pub static CIM_HOSTED_DEPENDENCY: ClassDef = abstract_class(
    "CIM_HostedDependency",
    Some(&CIM_DEPENDENCY),
    DEPENDENCY_KEYS,
    &[],
);

/// BMC → the power management service.
pub static CIM_HOSTED_SERVICE: ClassDef = class(
    "CIM_HostedService",
    &CIM_HOSTED_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

/// BMC → its sensor collection.
pub static CIM_HOSTED_COLLECTION: ClassDef = class(
    "CIM_HostedCollection",
    &CIM_HOSTED_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

/// Sensor collection → each sensor.
pub static CIM_MEMBER_OF_COLLECTION: ClassDef = ClassDef {
    name: "CIM_MemberOfCollection",
    parent: None,
    is_abstract: false,
    keys: &["Collection", "Member"],
    props: &[r("Collection"), r("Member")],
};

/// Record log → the system whose events it records.
pub static CIM_USE_OF_LOG: ClassDef = class(
    "CIM_UseOfLog",
    &CIM_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[p("RecordedData", STR)],
);

pub static CIM_LOG_MANAGES_RECORD: ClassDef = ClassDef {
    name: "CIM_LogManagesRecord",
    parent: None,
    is_abstract: false,
    keys: &["Log", "Record"],
    props: &[r("Log"), r("Record")],
};

pub static CIM_ELEMENT_CAPABILITIES: ClassDef = ClassDef {
    name: "CIM_ElementCapabilities",
    parent: None,
    is_abstract: false,
    keys: &["Capabilities", "ManagedElement"],
    props: &[r("Capabilities"), r("ManagedElement")],
};

pub static CIM_SERVICE_AVAILABLE_TO_ELEMENT: ClassDef = ClassDef {
    name: "CIM_ServiceAvailableToElement",
    parent: None,
    is_abstract: true,
    keys: &["ServiceProvided", "UserOfService"],
    props: &[r("ServiceProvided"), r("UserOfService")],
};

/// Power management service → the host it switches, with the host's power state (DSP1027).
pub static CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE: ClassDef = class(
    "CIM_AssociatedPowerManagementService",
    &CIM_SERVICE_AVAILABLE_TO_ELEMENT,
    &["ServiceProvided", "UserOfService"],
    &[
        a("AvailableRequestedPowerStates", Uint16),
        p("OtherPowerState", STR),
        p("OtherRequestedPowerState", STR),
        p("PowerOnTime", DateTime),
        p("PowerState", Uint16),
        p("RequestedPowerState", Uint16),
        p("TransitioningToPowerState", Uint16),
    ],
);

pub static CIM_SYSTEM_PACKAGING: ClassDef = abstract_class(
    "CIM_SystemPackaging",
    Some(&CIM_DEPENDENCY),
    DEPENDENCY_KEYS,
    &[],
);

/// Chassis → host.
pub static CIM_COMPUTER_SYSTEM_PACKAGE: ClassDef = class(
    "CIM_ComputerSystemPackage",
    &CIM_SYSTEM_PACKAGING,
    DEPENDENCY_KEYS,
    &[p("PlatformGUID", STR)],
);

/// Chassis → baseboard.
pub static CIM_CONTAINER: ClassDef = class(
    "CIM_Container",
    &CIM_COMPONENT,
    COMPONENT_KEYS,
    &[p("LocationWithinContainer", STR)],
);

/// Component profile → the profile that references it.
pub static CIM_REFERENCED_PROFILE: ClassDef = class(
    "CIM_ReferencedProfile",
    &CIM_DEPENDENCY,
    DEPENDENCY_KEYS,
    &[],
);

/// Profile → its central instance.
pub static CIM_ELEMENT_CONFORMS_TO_PROFILE: ClassDef = ClassDef {
    name: "CIM_ElementConformsToProfile",
    parent: None,
    is_abstract: false,
    keys: &["ConformantStandard", "ManagedElement"],
    props: &[r("ConformantStandard"), r("ManagedElement")],
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
    &CIM_ADMIN_DOMAIN,
    &CIM_COLLECTION,
    &CIM_SYSTEM_SPECIFIC_COLLECTION,
    &CIM_SERVICE,
    &CIM_POWER_MANAGEMENT_SERVICE,
    &CIM_CAPABILITIES,
    &CIM_POWER_MANAGEMENT_CAPABILITIES,
    &CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES,
    &CIM_LOG,
    &CIM_RECORD_LOG,
    &CIM_LOG_RECORD,
    &CIM_PHYSICAL_ELEMENT,
    &CIM_PHYSICAL_PACKAGE,
    &CIM_PHYSICAL_FRAME,
    &CIM_CHASSIS,
    &CIM_CARD,
    &CIM_REGISTERED_PROFILE,
    &CIM_DEPENDENCY,
    &CIM_COMPONENT,
    &CIM_SYSTEM_COMPONENT,
    &CIM_SYSTEM_DEVICE,
    &CIM_ASSOCIATED_SENSOR,
    &CIM_HOSTED_DEPENDENCY,
    &CIM_HOSTED_SERVICE,
    &CIM_HOSTED_COLLECTION,
    &CIM_MEMBER_OF_COLLECTION,
    &CIM_USE_OF_LOG,
    &CIM_LOG_MANAGES_RECORD,
    &CIM_ELEMENT_CAPABILITIES,
    &CIM_SERVICE_AVAILABLE_TO_ELEMENT,
    &CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE,
    &CIM_SYSTEM_PACKAGING,
    &CIM_COMPUTER_SYSTEM_PACKAGE,
    &CIM_CONTAINER,
    &CIM_REFERENCED_PROFILE,
    &CIM_ELEMENT_CONFORMS_TO_PROFILE,
    #[cfg(feature = "software-inventory")]
    &crate::software::CIM_SOFTWARE_IDENTITY,
    #[cfg(feature = "software-inventory")]
    &crate::software::CIM_ELEMENT_SOFTWARE_IDENTITY,
    #[cfg(feature = "software-inventory")]
    &crate::software::CIM_INSTALLED_SOFTWARE_IDENTITY,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_SERVICE_ACCESS_POINT,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_PROTOCOL_ENDPOINT,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_IP_PROTOCOL_ENDPOINT,
    #[cfg(any(feature = "ip-interface", feature = "accounts"))]
    &crate::network::CIM_SETTING_DATA,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_IP_ASSIGNMENT_SETTING_DATA,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA,
    #[cfg(feature = "ip-interface")]
    &crate::network::CIM_HOSTED_ACCESS_POINT,
    #[cfg(any(feature = "ip-interface", feature = "accounts"))]
    &crate::network::CIM_ELEMENT_SETTING_DATA,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ACCOUNT,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_IDENTITY,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_SECURITY_SERVICE,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ACCOUNT_MANAGEMENT_SERVICE,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ROLE_BASED_AUTHORIZATION_SERVICE,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ROLE,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_PRIVILEGE,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ACCOUNT_SETTING_DATA,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ACCOUNT_ON_SYSTEM,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_SERVICE_AFFECTS_ELEMENT,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ASSIGNED_IDENTITY,
    #[cfg(feature = "accounts")]
    &crate::account::CIM_ROLE_LIMITED_TO_TARGET,
    #[cfg(feature = "subscriptions")]
    &crate::subscription::CIM_INDICATION_FILTER,
    #[cfg(feature = "subscriptions")]
    &crate::subscription::CIM_LISTENER_DESTINATION,
    #[cfg(feature = "subscriptions")]
    &crate::subscription::CIM_LISTENER_DESTINATION_WS_MANAGEMENT,
    #[cfg(feature = "subscriptions")]
    &crate::subscription::CIM_INDICATION_SUBSCRIPTION,
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn sorted(names: &[&str]) -> bool {
        names
            .windows(2)
            .all(|w| name_order(w[0], w[1]) == Ordering::Less)
    }

    #[test]
    fn name_order_is_the_order_of_the_lowercased_names() {
        let names = [
            "",
            "a",
            "A",
            "ab",
            "aB",
            "Ab",
            "abc",
            "b",
            "_",
            "Z",
            "z",
            "Caption",
            "caption",
            "CAPTIONS",
            "LowerThresholdCritical",
            "LowerThresholdFatal",
            "lowerthresholdfatal",
            "LowerThreshold",
            "Name",
            "NameFormat",
            "[",
            "`",
            "@",
        ];
        for a in names {
            for b in names {
                let want = a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase());
                assert_eq!(name_order(a, b), want, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn every_table_is_alphabetical_and_free_of_duplicates() {
        for class in ALL_CLASSES {
            let own: Vec<&str> = class.props.iter().map(|p| p.name).collect();
            assert!(sorted(&own), "{}: own properties out of order", class.name);
            let all: Vec<&str> = class.properties().map(|p| p.name).collect();
            assert!(sorted(&all), "{}: properties out of order", class.name);
            assert!(sorted(class.keys), "{}: keys out of order", class.name);
        }
    }

    /// `model::check_selectors` tracks the keys a request named in a `u32`.
    #[test]
    fn key_lists_fit_the_selector_check() {
        for class in ALL_CLASSES {
            assert!(class.keys.len() <= 32, "{} has too many keys", class.name);
        }
    }

    #[test]
    fn inheritance_chains_fit_the_merge() {
        for class in ALL_CLASSES {
            let mut depth = 0;
            let mut c = Some(*class);
            while let Some(x) = c {
                depth += 1;
                c = x.parent;
            }
            assert!(depth <= MAX_INHERITANCE, "{} is too deep", class.name);
        }
    }

    #[test]
    fn key_lists_match_the_key_flags() {
        for class in ALL_CLASSES {
            let flagged: Vec<&str> = class
                .properties()
                .filter(|p| p.key)
                .map(|p| p.name)
                .collect();
            assert_eq!(flagged, class.keys, "{}", class.name);
            for key in class.keys {
                let p = class.property(key);
                assert!(
                    p.is_some_and(|p| !p.array
                        && matches!(
                            p.ty,
                            CimType::String | CimType::Reference | CimType::DateTime
                        )),
                    "{}.{key}",
                    class.name
                );
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
        let names: Vec<&str> = CIM_NUMERIC_SENSOR.properties().map(|p| p.name).collect();
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
            .filter(|p| p.name == "Name")
            .count();
        assert_eq!(count, 1);
    }

    #[test]
    fn names_are_unique_and_parents_are_listed() {
        for (i, class) in ALL_CLASSES.iter().enumerate() {
            assert!(
                ALL_CLASSES[i + 1..].iter().all(|c| c.name != class.name),
                "{}",
                class.name
            );
            if let Some(parent) = class.parent {
                assert!(ALL_CLASSES.iter().any(|c| core::ptr::eq(*c, parent)));
            }
            assert!(class_named(&class.name.to_ascii_lowercase()).is_some());
        }
    }

    #[test]
    fn associations_are_the_classes_with_reference_keys() {
        assert!(CIM_SYSTEM_DEVICE.is_association());
        assert!(CIM_SYSTEM_DEVICE.is_a(&CIM_COMPONENT));
        assert!(CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE.is_association());
        assert!(!CIM_COMPUTER_SYSTEM.is_association());
        assert!(!CIM_LOG_RECORD.is_association());
        for class in ALL_CLASSES {
            // An association's keys are exactly its two references.
            if class.is_association() {
                assert_eq!(class.keys.len(), 2, "{}", class.name);
            }
        }
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
