//! The WS-Man provider over the monitor and the platform: resource URIs, namespaces, selectors
//! and enumeration cursors onto the class tables and value sources.
//!
//! Every instance the model can produce is an [`Item`]: a small value that names it (the host,
//! sensor 3, SEL record 17, the SystemDevice link to sensor 3, ...). Items are laid out in a
//! fixed sequence of [`Kind`]s, and an enumeration cursor is a (kind, index) position in that
//! sequence, so a cursor never depends on discovery order. Within the SEL's kinds the index is
//! the next RecordID rather than a position, so a cursor stays meaningful while the SEL grows
//! and wraps. Associations are items too: their ends are items, which makes traversal a comparison
//! of small values, and only the results are ever rendered.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Ref, RefCell, RefMut};

use wsbmc_ipmi::SensorTypeMode;
use wsbmc_monitor::{Monitor, SensorDesc, SensorState};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultDetail, FaultKind, Identity, Provider, Selector,
    SelectorValue, Target, XmlWriter, ns,
};

use crate::filter::{self, Plan};
#[cfg(feature = "ip-interface")]
use crate::network::{
    self, CIM_ELEMENT_SETTING_DATA, CIM_HOSTED_ACCESS_POINT, CIM_IP_PROTOCOL_ENDPOINT,
};
use crate::platform::{DiscreteSensorView, LogView, Platform};
use crate::profile::Profile;
use crate::render::render_projected;
use crate::schema::*;
#[cfg(feature = "software-inventory")]
use crate::software;
#[cfg(feature = "software-inventory")]
use crate::software::{
    CIM_ELEMENT_SOFTWARE_IDENTITY, CIM_INSTALLED_SOFTWARE_IDENTITY, CIM_SOFTWARE_IDENTITY,
};
use crate::value::{Instance, Value};
use crate::{host, log, physical, power, profile, sensor};

/// The implementation namespace: every class but the profile-registration ones lives here.
pub const NAMESPACE: &str = "root/cimv2";
/// DSP1033's namespace for profile registration.
pub const INTEROP: &str = "root/interop";

/// The classes whose instances live in root/interop.
static INTEROP_CLASSES: &[&ClassDef] = &[
    &CIM_REGISTERED_PROFILE,
    &CIM_REFERENCED_PROFILE,
    &CIM_ELEMENT_CONFORMS_TO_PROFILE,
];

/// What the model says about the system it runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// Name key of the host CIM_ComputerSystem and SystemName of every device. Must be stable
    /// across restarts (a system GUID or a configured name), because EPRs embed it.
    pub system_name: String,
    /// Name key of the BMC's own CIM_ComputerSystem and SystemName of the services it hosts.
    /// Stable for the same reason; derived from `system_name` unless configured.
    pub bmc_name: String,
    /// CIM_System.NameFormat of `system_name` ("UUID", "IP", ...), when known.
    pub name_format: Option<String>,
    /// The host's friendly name (FRU product name or hostname).
    pub element_name: String,
    /// Identify: ProductVendor.
    pub vendor: String,
    /// Identify: the product part of ProductVersion.
    pub product: String,
    /// Identify: the version part of ProductVersion.
    pub version: String,
    /// SensorType vocabulary; see [`SensorTypeMode`].
    pub sensor_types: SensorTypeMode,
    /// Which image this firmware is, for its CIM_SoftwareIdentity (DSP1023).
    pub image: crate::software::Image,
    /// When this firmware was built, seconds since 1970, when the build recorded it.
    pub build_secs: Option<i64>,
}

impl SystemInfo {
    /// A system named `system_name` that identifies itself as this firmware.
    pub fn new(system_name: impl Into<String>) -> Self {
        let system_name = system_name.into();
        Self {
            element_name: system_name.clone(),
            bmc_name: format!("{system_name}:BMC"),
            system_name,
            name_format: None,
            vendor: String::from("wsbmc"),
            product: String::from("wsbmc"),
            version: String::from(env!("CARGO_PKG_VERSION")),
            sensor_types: SensorTypeMode::Windows,
            image: crate::software::Image::Host,
            build_secs: None,
        }
    }
}

/// The model for one request.
///
/// Reads the monitor through short borrows inside each call and never holds one across calls,
/// so the poller can record between two Pulls and a Put can write.
#[derive(Clone, Copy)]
pub struct Model<'a> {
    monitor: &'a RefCell<Monitor>,
    system: &'a SystemInfo,
    platform: &'a dyn Platform,
}

impl core::fmt::Debug for Model<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Model")
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

/// A sensor, numeric (the monitor's table) or discrete (the platform's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SensorIx {
    Numeric(usize),
    Discrete(usize),
}

/// One instance the model can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Item {
    Host,
    Bmc,
    Domain,
    Collection,
    Sensor(SensorIx),
    Pms,
    PmCaps,
    Chassis,
    Card,
    Log,
    LogCaps,
    Record(usize),
    Profile(Profile),
    /// 0 host → BMC, 1 domain → host, 2 domain → BMC.
    SystemComponent(u8),
    SystemDevice(SensorIx),
    AssociatedSensor(SensorIx),
    HostedCollection,
    MemberOfCollection(SensorIx),
    HostedService,
    Apms,
    /// 0 power service → its capabilities, 1 log → its capabilities.
    ElementCapabilities(u8),
    CsPackage,
    Container,
    UseOfLog,
    /// A component profile → Base Server.
    ReferencedProfile(Profile),
    /// An index into [`CONFORMANCE`].
    Ectp(u8),
    LogManagesRecord(usize),
    /// Firmware `i` (DSP1023): 0 the BMC's own, then the platform's.
    #[cfg(feature = "software-inventory")]
    Software(u8),
    /// Firmware `i` → the system it runs on.
    #[cfg(feature = "software-inventory")]
    ElementSoftware(u8),
    /// The system → firmware `i` installed in it.
    #[cfg(feature = "software-inventory")]
    InstalledSoftware(u8),
    /// Address `i` of the BMC's management network (DSP1036).
    #[cfg(feature = "ip-interface")]
    IpEndpoint(u8),
    /// The settings that gave address `i` (DHCP, autoconfiguration, IPv6 static).
    #[cfg(feature = "ip-interface")]
    IpSettings(u8),
    /// The settings of static IPv4 address `i`, with mask and gateway.
    #[cfg(feature = "ip-interface")]
    IpStaticSettings(u8),
    /// The BMC → endpoint `i`.
    #[cfg(feature = "ip-interface")]
    HostedAccessPoint(u8),
    /// Endpoint `i` → its settings (static IPv4 ones when the flag is set).
    #[cfg(feature = "ip-interface")]
    ElementSettingData(u8, bool),
}

/// The central instance of each profile (ElementConformsToProfile). Component profiles point at
/// the host as well as the autonomous one does, which DSP1033 allows and naive consoles need.
const CONFORMANCE: &[(Profile, Item)] = &[
    (Profile::BaseServer, Item::Host),
    (Profile::Sensors, Item::Host),
    (Profile::RecordLog, Item::Log),
    (Profile::PowerStateManagement, Item::Host),
    (Profile::PhysicalAsset, Item::Chassis),
    #[cfg(feature = "software-inventory")]
    (Profile::SoftwareInventory, Item::Host),
    // The interface is the BMC's: its system scopes the profile.
    #[cfg(feature = "ip-interface")]
    (Profile::IpInterface, Item::Bmc),
];

/// The kinds of items, in cursor order. Big, growing kinds (the SEL) come last so that
/// de-duplicating association results never rescans them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Bmc,
    Domain,
    Collection,
    Numeric,
    Discrete,
    Pms,
    PmCaps,
    Chassis,
    Card,
    Log,
    LogCaps,
    Profile,
    SystemComponent,
    SystemDevice,
    AssociatedSensor,
    HostedCollection,
    MemberOfCollection,
    HostedService,
    Apms,
    ElementCapabilities,
    CsPackage,
    Container,
    UseOfLog,
    ReferencedProfile,
    Ectp,
    #[cfg(feature = "software-inventory")]
    Software,
    #[cfg(feature = "software-inventory")]
    ElementSoftware,
    #[cfg(feature = "software-inventory")]
    InstalledSoftware,
    #[cfg(feature = "ip-interface")]
    IpEndpoint,
    #[cfg(feature = "ip-interface")]
    IpSettings,
    #[cfg(feature = "ip-interface")]
    IpStaticSettings,
    #[cfg(feature = "ip-interface")]
    HostedAccessPoint,
    #[cfg(feature = "ip-interface")]
    ElementSettingData,
    Record,
    LogManagesRecord,
}

const KINDS: &[Kind] = &[
    Kind::Host,
    Kind::Bmc,
    Kind::Domain,
    Kind::Collection,
    Kind::Numeric,
    Kind::Discrete,
    Kind::Pms,
    Kind::PmCaps,
    Kind::Chassis,
    Kind::Card,
    Kind::Log,
    Kind::LogCaps,
    Kind::Profile,
    Kind::SystemComponent,
    Kind::SystemDevice,
    Kind::AssociatedSensor,
    Kind::HostedCollection,
    Kind::MemberOfCollection,
    Kind::HostedService,
    Kind::Apms,
    Kind::ElementCapabilities,
    Kind::CsPackage,
    Kind::Container,
    Kind::UseOfLog,
    Kind::ReferencedProfile,
    Kind::Ectp,
    #[cfg(feature = "software-inventory")]
    Kind::Software,
    #[cfg(feature = "software-inventory")]
    Kind::ElementSoftware,
    #[cfg(feature = "software-inventory")]
    Kind::InstalledSoftware,
    #[cfg(feature = "ip-interface")]
    Kind::IpEndpoint,
    #[cfg(feature = "ip-interface")]
    Kind::IpSettings,
    #[cfg(feature = "ip-interface")]
    Kind::IpStaticSettings,
    #[cfg(feature = "ip-interface")]
    Kind::HostedAccessPoint,
    #[cfg(feature = "ip-interface")]
    Kind::ElementSettingData,
    Kind::Record,
    Kind::LogManagesRecord,
];

impl Kind {
    const fn class(self) -> &'static ClassDef {
        match self {
            Kind::Host | Kind::Bmc => &CIM_COMPUTER_SYSTEM,
            Kind::Domain => &CIM_ADMIN_DOMAIN,
            Kind::Collection => &CIM_SYSTEM_SPECIFIC_COLLECTION,
            Kind::Numeric => &CIM_NUMERIC_SENSOR,
            Kind::Discrete => &CIM_SENSOR,
            Kind::Pms => &CIM_POWER_MANAGEMENT_SERVICE,
            Kind::PmCaps => &CIM_POWER_MANAGEMENT_CAPABILITIES,
            Kind::Chassis => &CIM_CHASSIS,
            Kind::Card => &CIM_CARD,
            Kind::Log => &CIM_RECORD_LOG,
            Kind::LogCaps => &CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES,
            Kind::Record => &CIM_LOG_RECORD,
            Kind::Profile => &CIM_REGISTERED_PROFILE,
            Kind::SystemComponent => &CIM_SYSTEM_COMPONENT,
            Kind::SystemDevice => &CIM_SYSTEM_DEVICE,
            Kind::AssociatedSensor => &CIM_ASSOCIATED_SENSOR,
            Kind::HostedCollection => &CIM_HOSTED_COLLECTION,
            Kind::MemberOfCollection => &CIM_MEMBER_OF_COLLECTION,
            Kind::HostedService => &CIM_HOSTED_SERVICE,
            Kind::Apms => &CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE,
            Kind::ElementCapabilities => &CIM_ELEMENT_CAPABILITIES,
            Kind::CsPackage => &CIM_COMPUTER_SYSTEM_PACKAGE,
            Kind::Container => &CIM_CONTAINER,
            Kind::UseOfLog => &CIM_USE_OF_LOG,
            Kind::ReferencedProfile => &CIM_REFERENCED_PROFILE,
            Kind::Ectp => &CIM_ELEMENT_CONFORMS_TO_PROFILE,
            Kind::LogManagesRecord => &CIM_LOG_MANAGES_RECORD,
            #[cfg(feature = "software-inventory")]
            Kind::Software => &CIM_SOFTWARE_IDENTITY,
            #[cfg(feature = "software-inventory")]
            Kind::ElementSoftware => &CIM_ELEMENT_SOFTWARE_IDENTITY,
            #[cfg(feature = "software-inventory")]
            Kind::InstalledSoftware => &CIM_INSTALLED_SOFTWARE_IDENTITY,
            #[cfg(feature = "ip-interface")]
            Kind::IpEndpoint => &CIM_IP_PROTOCOL_ENDPOINT,
            #[cfg(feature = "ip-interface")]
            Kind::IpSettings => &network::CIM_IP_ASSIGNMENT_SETTING_DATA,
            #[cfg(feature = "ip-interface")]
            Kind::IpStaticSettings => &network::CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA,
            #[cfg(feature = "ip-interface")]
            Kind::HostedAccessPoint => &CIM_HOSTED_ACCESS_POINT,
            #[cfg(feature = "ip-interface")]
            Kind::ElementSettingData => &CIM_ELEMENT_SETTING_DATA,
        }
    }
}

/// How many of the variable-size kinds exist right now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    numeric: usize,
    discrete: usize,
    /// `None` when the platform keeps no log.
    log: Option<usize>,
    /// Firmware identities: the BMC's plus the platform's (at most 255).
    #[cfg(feature = "software-inventory")]
    firmware: usize,
    /// Addresses of the management network (at most 64).
    #[cfg(feature = "ip-interface")]
    ip: usize,
    /// Bit `i` set: address `i` is static IPv4, so its settings are the static subclass.
    #[cfg(feature = "ip-interface")]
    ip_static: u64,
}

impl Counts {
    fn sensors(&self) -> usize {
        self.numeric + self.discrete
    }

    fn sensor(&self, j: usize) -> Option<SensorIx> {
        if j < self.numeric {
            Some(SensorIx::Numeric(j))
        } else if j < self.sensors() {
            Some(SensorIx::Discrete(j - self.numeric))
        } else {
            None
        }
    }

    #[cfg(feature = "ip-interface")]
    fn ip_is_static(&self, i: usize) -> bool {
        i < 64 && self.ip_static & (1 << i) != 0
    }

    fn has_profile(&self, p: Profile) -> bool {
        p != Profile::RecordLog || self.log.is_some()
    }

    fn count(&self, kind: Kind) -> usize {
        let log = usize::from(self.log.is_some());
        match kind {
            Kind::Numeric => self.numeric,
            Kind::Discrete => self.discrete,
            Kind::SystemDevice | Kind::AssociatedSensor | Kind::MemberOfCollection => {
                self.sensors()
            }
            Kind::Log | Kind::LogCaps | Kind::UseOfLog => log,
            Kind::Record | Kind::LogManagesRecord => self.log.unwrap_or(0),
            Kind::Profile => Profile::ALL.len(),
            Kind::ReferencedProfile => Profile::ALL.len() - 1,
            Kind::SystemComponent => 3,
            Kind::ElementCapabilities => 2,
            Kind::Ectp => CONFORMANCE.len(),
            #[cfg(feature = "software-inventory")]
            Kind::Software | Kind::ElementSoftware | Kind::InstalledSoftware => self.firmware,
            #[cfg(feature = "ip-interface")]
            Kind::IpEndpoint
            | Kind::IpSettings
            | Kind::IpStaticSettings
            | Kind::HostedAccessPoint
            | Kind::ElementSettingData => self.ip,
            _ => 1,
        }
    }

    /// Item `i` of `kind`, or `None` when that slot is empty (a profile of a missing log).
    fn item(&self, kind: Kind, i: usize) -> Option<Item> {
        if i >= self.count(kind) {
            return None;
        }
        let small = u8::try_from(i).ok();
        let item = match kind {
            Kind::Host => Item::Host,
            Kind::Bmc => Item::Bmc,
            Kind::Domain => Item::Domain,
            Kind::Collection => Item::Collection,
            Kind::Numeric => Item::Sensor(SensorIx::Numeric(i)),
            Kind::Discrete => Item::Sensor(SensorIx::Discrete(i)),
            Kind::Pms => Item::Pms,
            Kind::PmCaps => Item::PmCaps,
            Kind::Chassis => Item::Chassis,
            Kind::Card => Item::Card,
            Kind::Log => Item::Log,
            Kind::LogCaps => Item::LogCaps,
            Kind::Record => Item::Record(i),
            Kind::Profile => {
                let p = Profile::ALL[i];
                if !self.has_profile(p) {
                    return None;
                }
                Item::Profile(p)
            }
            Kind::SystemComponent => Item::SystemComponent(small?),
            Kind::SystemDevice => Item::SystemDevice(self.sensor(i)?),
            Kind::AssociatedSensor => Item::AssociatedSensor(self.sensor(i)?),
            Kind::HostedCollection => Item::HostedCollection,
            Kind::MemberOfCollection => Item::MemberOfCollection(self.sensor(i)?),
            Kind::HostedService => Item::HostedService,
            Kind::Apms => Item::Apms,
            Kind::ElementCapabilities => {
                if i == 1 && self.log.is_none() {
                    return None;
                }
                Item::ElementCapabilities(small?)
            }
            Kind::CsPackage => Item::CsPackage,
            Kind::Container => Item::Container,
            Kind::UseOfLog => Item::UseOfLog,
            Kind::ReferencedProfile => {
                let p = Profile::ALL[i + 1];
                if !self.has_profile(p) {
                    return None;
                }
                Item::ReferencedProfile(p)
            }
            Kind::Ectp => {
                let (p, _) = CONFORMANCE[i];
                if !self.has_profile(p) {
                    return None;
                }
                Item::Ectp(small?)
            }
            Kind::LogManagesRecord => Item::LogManagesRecord(i),
            #[cfg(feature = "software-inventory")]
            Kind::Software => Item::Software(small?),
            #[cfg(feature = "software-inventory")]
            Kind::ElementSoftware => Item::ElementSoftware(small?),
            #[cfg(feature = "software-inventory")]
            Kind::InstalledSoftware => Item::InstalledSoftware(small?),
            #[cfg(feature = "ip-interface")]
            Kind::IpEndpoint => Item::IpEndpoint(small?),
            #[cfg(feature = "ip-interface")]
            Kind::IpSettings if !self.ip_is_static(i) => Item::IpSettings(small?),
            #[cfg(feature = "ip-interface")]
            Kind::IpStaticSettings if self.ip_is_static(i) => Item::IpStaticSettings(small?),
            #[cfg(feature = "ip-interface")]
            Kind::IpSettings | Kind::IpStaticSettings => return None,
            #[cfg(feature = "ip-interface")]
            Kind::HostedAccessPoint => Item::HostedAccessPoint(small?),
            #[cfg(feature = "ip-interface")]
            Kind::ElementSettingData => Item::ElementSettingData(small?, self.ip_is_static(i)),
        };
        Some(item)
    }
}

/// Cursor = kind position in the high half, index within the kind in the low half.
fn cursor_of(kind: usize, index: usize) -> Cursor {
    ((kind as u64) << 32) | (index as u64 & 0xFFFF_FFFF)
}

fn split_cursor(c: Cursor) -> (usize, usize) {
    ((c >> 32) as usize, (c & 0xFFFF_FFFF) as usize)
}

/// The class an item is an instance of.
pub(crate) fn class_of(item: &Item) -> &'static ClassDef {
    match item {
        Item::Host | Item::Bmc => &CIM_COMPUTER_SYSTEM,
        Item::Domain => &CIM_ADMIN_DOMAIN,
        Item::Collection => &CIM_SYSTEM_SPECIFIC_COLLECTION,
        Item::Sensor(SensorIx::Numeric(_)) => &CIM_NUMERIC_SENSOR,
        Item::Sensor(SensorIx::Discrete(_)) => &CIM_SENSOR,
        Item::Pms => &CIM_POWER_MANAGEMENT_SERVICE,
        Item::PmCaps => &CIM_POWER_MANAGEMENT_CAPABILITIES,
        Item::Chassis => &CIM_CHASSIS,
        Item::Card => &CIM_CARD,
        Item::Log => &CIM_RECORD_LOG,
        Item::LogCaps => &CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES,
        Item::Record(_) => &CIM_LOG_RECORD,
        Item::Profile(_) => &CIM_REGISTERED_PROFILE,
        Item::SystemComponent(_) => &CIM_SYSTEM_COMPONENT,
        Item::SystemDevice(_) => &CIM_SYSTEM_DEVICE,
        Item::AssociatedSensor(_) => &CIM_ASSOCIATED_SENSOR,
        Item::HostedCollection => &CIM_HOSTED_COLLECTION,
        Item::MemberOfCollection(_) => &CIM_MEMBER_OF_COLLECTION,
        Item::HostedService => &CIM_HOSTED_SERVICE,
        Item::Apms => &CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE,
        Item::ElementCapabilities(_) => &CIM_ELEMENT_CAPABILITIES,
        Item::CsPackage => &CIM_COMPUTER_SYSTEM_PACKAGE,
        Item::Container => &CIM_CONTAINER,
        Item::UseOfLog => &CIM_USE_OF_LOG,
        Item::ReferencedProfile(_) => &CIM_REFERENCED_PROFILE,
        Item::Ectp(_) => &CIM_ELEMENT_CONFORMS_TO_PROFILE,
        Item::LogManagesRecord(_) => &CIM_LOG_MANAGES_RECORD,
        #[cfg(feature = "software-inventory")]
        Item::Software(_) => &CIM_SOFTWARE_IDENTITY,
        #[cfg(feature = "software-inventory")]
        Item::ElementSoftware(_) => &CIM_ELEMENT_SOFTWARE_IDENTITY,
        #[cfg(feature = "software-inventory")]
        Item::InstalledSoftware(_) => &CIM_INSTALLED_SOFTWARE_IDENTITY,
        #[cfg(feature = "ip-interface")]
        Item::IpEndpoint(_) => &CIM_IP_PROTOCOL_ENDPOINT,
        #[cfg(feature = "ip-interface")]
        Item::IpSettings(_) => &network::CIM_IP_ASSIGNMENT_SETTING_DATA,
        #[cfg(feature = "ip-interface")]
        Item::IpStaticSettings(_) => &network::CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA,
        #[cfg(feature = "ip-interface")]
        Item::HostedAccessPoint(_) => &CIM_HOSTED_ACCESS_POINT,
        #[cfg(feature = "ip-interface")]
        Item::ElementSettingData(..) => &CIM_ELEMENT_SETTING_DATA,
    }
}

/// The namespace an item lives in.
pub(crate) fn namespace_of(item: &Item) -> &'static str {
    let class = class_of(item);
    if INTEROP_CLASSES.iter().any(|c| core::ptr::eq(*c, class)) {
        INTEROP
    } else {
        NAMESPACE
    }
}

/// The two ends of an association item, as (role, end); `None` for a non-association.
pub(crate) fn refs(item: &Item) -> Option<[(&'static str, Item); 2]> {
    const GROUP: &str = "GroupComponent";
    const PART: &str = "PartComponent";
    const ANTE: &str = "Antecedent";
    const DEP: &str = "Dependent";
    Some(match *item {
        Item::SystemComponent(0) => [(GROUP, Item::Host), (PART, Item::Bmc)],
        Item::SystemComponent(1) => [(GROUP, Item::Domain), (PART, Item::Host)],
        Item::SystemComponent(_) => [(GROUP, Item::Domain), (PART, Item::Bmc)],
        Item::SystemDevice(s) => [(GROUP, Item::Host), (PART, Item::Sensor(s))],
        Item::AssociatedSensor(s) => [(ANTE, Item::Sensor(s)), (DEP, Item::Host)],
        Item::HostedCollection => [(ANTE, Item::Bmc), (DEP, Item::Collection)],
        Item::MemberOfCollection(s) => [
            ("Collection", Item::Collection),
            ("Member", Item::Sensor(s)),
        ],
        Item::HostedService => [(ANTE, Item::Bmc), (DEP, Item::Pms)],
        Item::Apms => [
            ("ServiceProvided", Item::Pms),
            ("UserOfService", Item::Host),
        ],
        Item::ElementCapabilities(0) => [
            ("ManagedElement", Item::Pms),
            ("Capabilities", Item::PmCaps),
        ],
        Item::ElementCapabilities(_) => [
            ("ManagedElement", Item::Log),
            ("Capabilities", Item::LogCaps),
        ],
        Item::CsPackage => [(ANTE, Item::Chassis), (DEP, Item::Host)],
        Item::Container => [(GROUP, Item::Chassis), (PART, Item::Card)],
        Item::UseOfLog => [(ANTE, Item::Log), (DEP, Item::Host)],
        Item::ReferencedProfile(p) => [
            (ANTE, Item::Profile(p)),
            (DEP, Item::Profile(Profile::BaseServer)),
        ],
        Item::Ectp(e) => {
            let (p, element) = CONFORMANCE[usize::from(e) % CONFORMANCE.len()];
            [
                ("ConformantStandard", Item::Profile(p)),
                ("ManagedElement", element),
            ]
        }
        Item::LogManagesRecord(i) => [("Log", Item::Log), ("Record", Item::Record(i))],
        #[cfg(feature = "software-inventory")]
        Item::ElementSoftware(i) => [(ANTE, Item::Software(i)), (DEP, software_system(i))],
        #[cfg(feature = "software-inventory")]
        Item::InstalledSoftware(i) => [
            ("InstalledSoftware", Item::Software(i)),
            ("System", software_system(i)),
        ],
        #[cfg(feature = "ip-interface")]
        Item::HostedAccessPoint(i) => [(ANTE, Item::Bmc), (DEP, Item::IpEndpoint(i))],
        #[cfg(feature = "ip-interface")]
        Item::ElementSettingData(i, fixed) => [
            ("ManagedElement", Item::IpEndpoint(i)),
            (
                "SettingData",
                if fixed {
                    Item::IpStaticSettings(i)
                } else {
                    Item::IpSettings(i)
                },
            ),
        ],
        _ => return None,
    })
}

/// The system firmware `i` runs on: the BMC's own firmware on the BMC, everything else (host
/// BIOS, satellite controllers inside the managed server) on the one host.
#[cfg(feature = "software-inventory")]
const fn software_system(i: u8) -> Item {
    if i == 0 { Item::Bmc } else { Item::Host }
}

/// What a resource URI addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    Class(&'static ClassDef),
    /// The all-classes URI (DSP0227), usable only with a filter.
    All,
}

/// The class (or all classes) a resource URI names. Class names match case-insensitively, as
/// CIM names do; the DMTF prefix does too, because clients differ in how they case the host
/// part. Abstract classes are addressable: they answer polymorphically with their subclasses.
pub(crate) fn resolve(resource_uri: &str) -> Result<Scope, Fault> {
    let all = [
        ns::CIM_ALL_CLASSES,
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/*",
    ];
    if all.iter().any(|a| a.eq_ignore_ascii_case(resource_uri)) {
        return Ok(Scope::All);
    }
    let prefix = ns::CIM_SCHEMA;
    resource_uri
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| resource_uri.get(prefix.len()..))
        .and_then(class_named)
        .map(Scope::Class)
        .ok_or_else(|| Fault::unknown_resource().message(format!("no class at {resource_uri}")))
}

pub fn resolve_class(resource_uri: &str) -> Result<&'static ClassDef, Fault> {
    match resolve(resource_uri)? {
        Scope::Class(c) => Ok(c),
        Scope::All => {
            Err(Fault::unknown_resource()
                .message("the all-classes URI addresses no single instance"))
        }
    }
}

/// A requested `__cimnamespace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// Absent: the default namespace, which admits every class.
    Default,
    Cimv2,
    Interop,
}

impl Ns {
    /// Parses `__cimnamespace`. Windows spells namespaces with backslashes; both are the same
    /// path. An unknown namespace is DestinationUnreachable/InvalidNamespace (OMI's mapping of
    /// CIM_ERR_INVALID_NAMESPACE).
    pub(crate) fn parse(raw: Option<&str>) -> Result<Self, Fault> {
        let Some(raw) = raw else {
            return Ok(Ns::Default);
        };
        let norm: String = raw
            .trim_start_matches(['/', '\\'])
            .chars()
            .map(|c| if c == '\\' { '/' } else { c })
            .collect();
        if norm.eq_ignore_ascii_case(NAMESPACE) {
            Ok(Ns::Cimv2)
        } else if norm.eq_ignore_ascii_case(INTEROP) {
            Ok(Ns::Interop)
        } else {
            Err(Fault::with_detail(
                FaultKind::DestinationUnreachable,
                FaultDetail::InvalidNamespace,
            )
            .message(format!("namespace {raw} does not exist")))
        }
    }

    /// Whether an item is visible in this namespace. root/cimv2 also shows the profile classes:
    /// the Windows provider kept CIM_RegisteredProfile in its implementation namespace, and
    /// scripts written against it look there. root/interop shows only profile registration.
    pub(crate) fn admits(self, item: &Item) -> bool {
        match self {
            Ns::Default | Ns::Cimv2 => true,
            Ns::Interop => namespace_of(item) == INTEROP,
        }
    }

    /// Whether any instance of `class` can be visible in this namespace: asking root/interop for
    /// a sensor is asking for a resource that is not there.
    pub(crate) fn check_class(self, class: &ClassDef) -> Result<(), Fault> {
        if self == Ns::Interop && !INTEROP_CLASSES.iter().any(|c| c.is_a(class)) {
            return Err(Fault::unknown_resource().message(format!(
                "class {} is not in namespace {INTEROP}",
                class.name
            )));
        }
        Ok(())
    }
}

/// Kept for callers that only need the yes/no of a namespace for one class.
pub fn check_namespace(namespace: Option<&str>, class: &ClassDef) -> Result<(), Fault> {
    Ns::parse(namespace)?.check_class(class)
}

pub(crate) fn selector_fault(detail: FaultDetail, message: String) -> Fault {
    Fault::with_detail(FaultKind::InvalidSelectors, detail).message(message)
}

pub(crate) fn internal(what: &str) -> Fault {
    Fault::new(FaultKind::InternalError).message(String::from(what))
}

/// Whether a request names any key: `__cimnamespace` alone (PowerShell always sends it) is no
/// SelectorSet as far as instance resolution goes.
pub(crate) fn has_keys(selectors: &[Selector]) -> bool {
    selectors
        .iter()
        .any(|s| !s.name.eq_ignore_ascii_case("__cimnamespace"))
}

/// Checks the request's selectors against `class`'s keys: every key once, nothing else, text
/// for text keys and an EPR for reference keys.
///
/// Unknown names are reported before missing ones because a misspelt key is both, and naming
/// the misspelling is the more useful answer.
pub(crate) fn check_selectors(class: &ClassDef, selectors: &[Selector]) -> Result<(), Fault> {
    let mut found = alloc::vec![false; class.keys.len()];
    for s in selectors {
        if s.name.eq_ignore_ascii_case("__cimnamespace") {
            continue;
        }
        let Some(idx) = class
            .keys
            .iter()
            .position(|k| k.eq_ignore_ascii_case(&s.name))
        else {
            return Err(selector_fault(
                FaultDetail::UnexpectedSelectors,
                format!("{} is not a key of {}", s.name, class.name),
            ));
        };
        if found[idx] {
            return Err(selector_fault(
                FaultDetail::DuplicateSelectors,
                format!("selector {} appears more than once", class.keys[idx]),
            ));
        }
        let is_ref = class
            .property(class.keys[idx])
            .is_some_and(|p| p.ty == CimType::Reference);
        if is_ref != matches!(s.value, SelectorValue::Epr(_)) {
            let want = if is_ref { "an EPR" } else { "text" };
            return Err(selector_fault(
                FaultDetail::TypeMismatch,
                format!("selector {} must be {want}", class.keys[idx]),
            ));
        }
        found[idx] = true;
    }
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(selector_fault(
            FaultDetail::InsufficientSelectors,
            format!("selector {} is missing", class.keys[i]),
        ));
    }
    Ok(())
}

/// Class-name keys compare case-insensitively like CIM class names; datetime keys in either
/// spelling; every other key is exact, so two sensors whose names differ only in case stay two
/// instances.
fn text_key_matches(class: &ClassDef, name: &str, have: &str, want: &str) -> bool {
    if name.ends_with("ClassName") {
        return have.eq_ignore_ascii_case(want);
    }
    if class
        .property(name)
        .is_some_and(|p| p.ty == CimType::DateTime)
    {
        return crate::datetime::normalize(want).is_some_and(|w| w == have);
    }
    have == want
}

/// Whether the client's EPR `want` names the instance whose EPR is `have`: the same instance,
/// addressed through its class or a base class, with `__cimnamespace` and the address ignored.
pub(crate) fn epr_matches(have: &Epr, want: &Epr) -> bool {
    let (Ok(Scope::Class(have_class)), Ok(Scope::Class(want_class))) =
        (resolve(&have.resource_uri), resolve(&want.resource_uri))
    else {
        return false;
    };
    have_class.is_a(want_class) && selectors_match(have_class, &have.selectors, &want.selectors)
}

/// Whether the selectors `want` (names any case, `__cimnamespace` ignored) are exactly the keys
/// `have` of an instance of `class`.
pub(crate) fn selectors_match(class: &ClassDef, have: &[Selector], want: &[Selector]) -> bool {
    let is_ns = |s: &&Selector| s.name.eq_ignore_ascii_case("__cimnamespace");
    let have: Vec<&Selector> = have.iter().filter(|s| !is_ns(s)).collect();
    let want: Vec<&Selector> = want.iter().filter(|s| !is_ns(s)).collect();
    have.len() == want.len()
        && have.iter().all(|h| {
            want.iter()
                .find(|w| w.name.eq_ignore_ascii_case(&h.name))
                .is_some_and(|w| match (&h.value, &w.value) {
                    (SelectorValue::Text(a), SelectorValue::Text(b)) => {
                        text_key_matches(class, &h.name, a, b)
                    }
                    (SelectorValue::Epr(a), SelectorValue::Epr(b)) => epr_matches(a, b),
                    _ => false,
                })
        })
}

/// [`selectors_match`] for an instance whose keys are all text, given as (name, value) pairs.
fn text_keys_match(
    class: &ClassDef,
    have: &[(&'static str, Cow<'_, str>)],
    want: &[Selector],
) -> bool {
    let want_len = want
        .iter()
        .filter(|s| !s.name.eq_ignore_ascii_case("__cimnamespace"))
        .count();
    have.len() == want_len
        && have.iter().all(|(name, value)| {
            want.iter()
                .find(|w| w.name.eq_ignore_ascii_case(name))
                .is_some_and(|w| match &w.value {
                    SelectorValue::Text(t) => text_key_matches(class, name, value, t),
                    SelectorValue::Epr(_) => false,
                })
        })
}

/// The selectors of a class's text keys. A slice, not an iterator by value: the key arrays have
/// several lengths, and one copy of this serves them all.
fn text_keys(keys: &[(&'static str, Cow<'_, str>)]) -> Vec<Selector> {
    keys.iter()
        .map(|(n, v)| Selector::text(*n, String::from(&**v)))
        .collect()
}

impl<'a> Model<'a> {
    pub fn new(
        monitor: &'a RefCell<Monitor>,
        system: &'a SystemInfo,
        platform: &'a dyn Platform,
    ) -> Self {
        Self {
            monitor,
            system,
            platform,
        }
    }

    pub(crate) fn system(&self) -> &'a SystemInfo {
        self.system
    }

    pub(crate) fn platform(&self) -> &'a dyn Platform {
        self.platform
    }

    /// A short read borrow of the monitor. A failed borrow cannot happen on the single-threaded
    /// agent (nothing holds one across a request), but untrusted input must never be able to
    /// turn a bug into a panic, so it is a fault.
    pub(crate) fn monitor(&self) -> Result<Ref<'a, Monitor>, Fault> {
        self.monitor
            .try_borrow()
            .map_err(|_| internal("the sensor cache is busy"))
    }

    pub(crate) fn monitor_mut(&self) -> Result<RefMut<'a, Monitor>, Fault> {
        self.monitor
            .try_borrow_mut()
            .map_err(|_| internal("the sensor cache is busy"))
    }

    fn log(&self) -> Option<&'a dyn LogView> {
        self.platform.log()
    }

    pub(crate) fn counts(&self) -> Result<Counts, Fault> {
        Ok(Counts {
            numeric: self.monitor()?.sensors().len(),
            discrete: self.platform.discrete_sensor_count(),
            log: self.log().map(|l| l.len()),
            #[cfg(feature = "software-inventory")]
            firmware: 1 + self.platform.firmware_count().min(254),
            #[cfg(feature = "ip-interface")]
            ip: self.platform.ip_endpoint_count().min(64),
            #[cfg(feature = "ip-interface")]
            ip_static: (0..self.platform.ip_endpoint_count().min(64))
                .filter(|&i| self.platform.ip_endpoint(i).is_some_and(|v| v.static_v4()))
                .fold(0, |bits, i| bits | (1 << i)),
        })
    }

    /// Calls `f` on numeric sensor `i` in place (no copy of its strings): the hot paths (every
    /// rendered sensor, every candidate of a Get) only read it. `f` must not borrow the monitor
    /// mutably, which no renderer or filter does.
    pub(crate) fn with_numeric<R>(
        &self,
        i: usize,
        f: impl FnOnce(&SensorDesc, &SensorState) -> R,
    ) -> Result<R, Fault> {
        let m = self.monitor()?;
        let desc = m.sensors().get(i).ok_or_else(gone)?;
        let state = m.states().get(i).copied().unwrap_or_default();
        Ok(f(desc, &state))
    }

    pub(crate) fn numeric(&self, i: usize) -> Result<(SensorDesc, SensorState), Fault> {
        let m = self.monitor()?;
        let desc = m.sensors().get(i).cloned().ok_or_else(gone)?;
        let state = m.states().get(i).copied().unwrap_or_default();
        Ok((desc, state))
    }

    fn discrete(&self, i: usize) -> Result<DiscreteSensorView, Fault> {
        self.platform.discrete_sensor(i).ok_or_else(gone)
    }

    /// Address `i` of the management network.
    #[cfg(feature = "ip-interface")]
    fn ip_endpoint(&self, i: u8) -> Result<network::IpEndpointView, Fault> {
        self.platform.ip_endpoint(usize::from(i)).ok_or_else(gone)
    }

    /// Platform firmware behind identity `i` (1-based: 0 is the BMC's own).
    #[cfg(feature = "software-inventory")]
    fn firmware(&self, i: u8) -> Result<software::FirmwareView, Fault> {
        usize::from(i)
            .checked_sub(1)
            .and_then(|j| self.platform.firmware(j))
            .ok_or_else(gone)
    }

    fn record(&self, i: usize) -> Result<crate::platform::LogRecordView, Fault> {
        self.log().and_then(|l| l.record(i)).ok_or_else(gone)
    }

    /// The key selectors of an item, alphabetical like its class's key list.
    pub(crate) fn keys(&self, item: &Item) -> Result<Vec<Selector>, Fault> {
        let system = self.system;
        Ok(match item {
            Item::Host => text_keys(&host::keys(system)),
            Item::Bmc => text_keys(&host::bmc_keys(system)),
            Item::Domain => text_keys(&host::domain_keys()),
            Item::Collection => {
                alloc::vec![Selector::text("InstanceID", host::SENSOR_COLLECTION_ID)]
            }
            Item::Sensor(SensorIx::Numeric(i)) => self.with_numeric(*i, |desc, _| {
                text_keys(&sensor::keys(desc, &system.system_name))
            })?,
            Item::Sensor(SensorIx::Discrete(i)) => {
                let view = self.discrete(*i)?;
                text_keys(&sensor::discrete_keys(&view, &system.system_name))
            }
            Item::Pms => text_keys(&power::service_keys(system)),
            Item::PmCaps => alloc::vec![Selector::text("InstanceID", power::CAPABILITIES_ID)],
            Item::Chassis => text_keys(&physical::chassis_keys()),
            Item::Card => text_keys(&physical::card_keys()),
            Item::Log => text_keys(&log::log_keys()),
            Item::LogCaps => alloc::vec![Selector::text("InstanceID", log::CAPABILITIES_ID)],
            Item::Record(i) => {
                let view = self.record(*i)?;
                let (keys, ts) = log::record_keys(&view);
                let mut out: Vec<Selector> = keys
                    .into_iter()
                    .map(|(n, v)| Selector::text(n, v))
                    .collect();
                // MessageTimestamp sorts between LogName and RecordID.
                out.insert(3, Selector::text("MessageTimestamp", ts.cim_string()));
                out
            }
            Item::Profile(p) => alloc::vec![Selector::text("InstanceID", p.instance_id())],
            #[cfg(feature = "software-inventory")]
            Item::Software(0) => text_keys(&software::keys_of(software::BMC_ID)),
            #[cfg(feature = "software-inventory")]
            Item::Software(i) => text_keys(&software::keys_of(&self.firmware(*i)?.id)),
            #[cfg(feature = "ip-interface")]
            Item::IpEndpoint(i) => {
                text_keys(&network::endpoint_keys(system, &self.ip_endpoint(*i)?))
            }
            #[cfg(feature = "ip-interface")]
            Item::IpSettings(i) | Item::IpStaticSettings(i) => alloc::vec![Selector::text(
                "InstanceID",
                network::settings_id(&self.ip_endpoint(*i)?)
            )],
            assoc => {
                let ends = refs(assoc).ok_or_else(|| internal("an item without keys"))?;
                let class = class_of(assoc);
                let mut out = Vec::with_capacity(2);
                for key in class.keys {
                    let (_, end) = ends
                        .iter()
                        .find(|(role, _)| role == key)
                        .ok_or_else(|| internal("an association end without a role"))?;
                    out.push(Selector {
                        name: String::from(*key),
                        value: SelectorValue::Epr(Box::new(self.epr(end)?)),
                    });
                }
                out
            }
        })
    }

    /// The EPR of an item, `__cimnamespace` first (wsman.md §5.2: every emitted EPR carries it).
    pub(crate) fn epr(&self, item: &Item) -> Result<Epr, Fault> {
        let keys = self.keys(item)?;
        let mut selectors = Vec::with_capacity(keys.len() + 1);
        selectors.push(Selector::text("__cimnamespace", namespace_of(item)));
        selectors.extend(keys);
        Ok(Epr {
            resource_uri: class_of(item).resource_uri(),
            selectors,
        })
    }

    /// The host's health: the worst of every sensor, numeric and discrete.
    fn host_health(&self) -> Result<u16, Fault> {
        let numeric = {
            let m = self.monitor()?;
            let n = m.sensors().len();
            host::rolled_up_health(m.states().iter().take(n))
        };
        let discrete = (0..self.platform.discrete_sensor_count())
            .filter_map(|i| self.platform.discrete_sensor(i))
            .map(|v| v.health_state)
            .max();
        Ok(discrete.map_or(numeric, |d| d.max(numeric)))
    }

    fn host_power(&self) -> host::HostPower<'a> {
        host::HostPower {
            state: self.platform.host_power(),
            in_progress: self.platform.power_in_progress(),
            offered: self.platform.power_transitions(),
        }
    }

    /// Builds the instance of `item` and hands it to `f`. The instance may borrow data copied out
    /// of the monitor, so it only lives for the call.
    pub(crate) fn with_instance<R>(
        &self,
        item: &Item,
        f: impl FnOnce(&Instance<'_>) -> R,
    ) -> Result<R, Fault> {
        let mut f = Some(f);
        let mut out = None;
        self.with_instance_dyn(item, &mut |i| {
            if let Some(f) = f.take() {
                out = Some(f(i));
            }
        })?;
        out.ok_or_else(|| internal("an instance was not built"))
    }

    /// [`Self::with_instance`]'s body, once: generic over `f`, this match of every class was
    /// compiled again for each caller (~1.2 KiB of the bare-metal image's flash each).
    fn with_instance_dyn(
        &self,
        item: &Item,
        f: &mut dyn FnMut(&Instance<'_>),
    ) -> Result<(), Fault> {
        let system = self.system;
        let mode = system.sensor_types;
        match item {
            Item::Host => f(&host::instance(
                system,
                self.host_health()?,
                self.host_power(),
            )),
            Item::Bmc => f(&host::bmc_instance(system)),
            Item::Domain => f(&host::domain_instance(self.host_health()?)),
            Item::Collection => f(&host::collection_instance()),
            Item::Sensor(SensorIx::Numeric(i)) => self.with_numeric(*i, |desc, state| {
                f(&sensor::instance(desc, state, &system.system_name, mode))
            })?,
            Item::Sensor(SensorIx::Discrete(i)) => {
                let view = self.discrete(*i)?;
                f(&sensor::discrete_instance(&view, &system.system_name, mode))
            }
            Item::Pms => f(&power::service_instance(
                system,
                self.platform.power_transitions(),
            )),
            Item::PmCaps => f(&power::capabilities_instance(
                self.platform.power_transitions(),
            )),
            Item::Chassis => {
                let fru = self.platform.fru();
                f(&physical::chassis_instance(fru.as_ref()))
            }
            Item::Card => {
                let fru = self.platform.fru();
                f(&physical::card_instance(fru.as_ref()))
            }
            Item::Log => {
                let l = self.log().ok_or_else(gone)?;
                f(&log::log_instance(l))
            }
            Item::LogCaps => f(&log::capabilities_instance()),
            Item::Record(i) => {
                let view = self.record(*i)?;
                f(&log::record_instance(&view))
            }
            Item::Profile(p) => f(&profile::instance(*p)),
            #[cfg(feature = "software-inventory")]
            Item::Software(0) => f(&software::bmc_instance(system)),
            #[cfg(feature = "software-inventory")]
            Item::Software(i) => {
                let view = self.firmware(*i)?;
                f(&software::instance(&view))
            }
            #[cfg(feature = "ip-interface")]
            Item::IpEndpoint(i) => {
                let view = self.ip_endpoint(*i)?;
                f(&network::endpoint_instance(system, &view))
            }
            #[cfg(feature = "ip-interface")]
            Item::IpSettings(i) | Item::IpStaticSettings(i) => {
                let view = self.ip_endpoint(*i)?;
                f(&network::settings_instance(&view))
            }
            other => {
                let ends = refs(other).ok_or_else(|| internal("an item without a source"))?;
                let mut i = Instance::with_capacity(class_of(other), 9);
                for (role, end) in &ends {
                    i.set(role, Value::epr(self.epr(end)?));
                }
                match other {
                    Item::Apms => {
                        let p = self.host_power();
                        power::association_values(&mut i, p.state, p.in_progress, p.offered);
                    }
                    Item::CsPackage => {
                        let fru = self.platform.fru();
                        i.set("PlatformGUID", physical::platform_guid(fru.as_ref()));
                    }
                    #[cfg(feature = "software-inventory")]
                    Item::ElementSoftware(_) => software::element_values(&mut i),
                    #[cfg(feature = "ip-interface")]
                    Item::ElementSettingData(..) => network::element_setting_values(&mut i),
                    // The other associations' own properties (UseOfLog.RecordedData,
                    // Container.LocationWithinContainer) have no source: NULL.
                    _ => {}
                }
                f(&i)
            }
        }
        Ok(())
    }

    /// Renders `item`, projected to `only` when given.
    pub(crate) fn render_item(
        &self,
        item: &Item,
        out: &mut XmlWriter,
        only: Option<&[String]>,
    ) -> Result<(), Fault> {
        self.with_instance(item, |i| render_projected(out, i, only))
    }

    /// Calls `f` on each present item at or after `cursor`, in cursor order, restricted to kinds
    /// `want` admits, until `f` returns `Some`; returns that result and the item's cursor.
    pub(crate) fn scan<R>(
        &self,
        cursor: Cursor,
        counts: &Counts,
        want: impl Fn(&'static ClassDef) -> bool,
        mut f: impl FnMut(&Item) -> Result<Option<R>, Fault>,
    ) -> Result<Option<(Cursor, R)>, Fault> {
        let mut found = None;
        let at = self.scan_dyn(cursor, counts, &want, &mut |item| {
            found = f(item)?;
            Ok(found.is_some())
        })?;
        Ok(at.zip(found))
    }

    /// [`Self::scan`]'s loop, once (generic, it was compiled again for each caller): stops at
    /// the first item `f` accepts and returns its cursor.
    fn scan_dyn(
        &self,
        cursor: Cursor,
        counts: &Counts,
        want: &dyn Fn(&'static ClassDef) -> bool,
        f: &mut dyn FnMut(&Item) -> Result<bool, Fault>,
    ) -> Result<Option<Cursor>, Fault> {
        let (start_kind, start_index) = split_cursor(cursor);
        // Within the SEL's kinds a cursor holds the RecordID, not the position: the log wraps
        // between Pulls, and a position would then skip or repeat records (issue #20).
        let log = |kind: Kind| match kind {
            Kind::Record | Kind::LogManagesRecord => self.log(),
            _ => None,
        };
        for (k, kind) in KINDS.iter().enumerate().skip(start_kind) {
            if !want(kind.class()) {
                continue;
            }
            let from = match (k == start_kind, log(*kind)) {
                (false, _) => 0,
                (true, None) => start_index,
                (true, Some(l)) => l.resume_position(start_index as u16),
            };
            for i in from..counts.count(*kind) {
                let Some(item) = counts.item(*kind, i) else {
                    continue;
                };
                if f(&item)? {
                    let at = match log(*kind) {
                        Some(l) => usize::from(l.record_id(i).ok_or_else(gone)?),
                        None => i,
                    };
                    return Ok(Some(cursor_of(k, at)));
                }
            }
        }
        Ok(None)
    }

    /// Whether an item of a kind before `cursor`'s satisfies `f`; used to drop duplicate
    /// association results (within one kind every association has a distinct far end).
    pub(crate) fn any_before(
        &self,
        cursor: Cursor,
        counts: &Counts,
        want: impl Fn(&'static ClassDef) -> bool,
        mut f: impl FnMut(&Item) -> bool,
    ) -> bool {
        let (kind, _) = split_cursor(cursor);
        KINDS.iter().take(kind).any(|k| {
            want(k.class())
                && (0..counts.count(*k))
                    .filter_map(|i| counts.item(*k, i))
                    .any(|item| f(&item))
        })
    }

    /// The instance `class` and `selectors` name (polymorphically), after the selectors were
    /// checked against the class's keys.
    pub(crate) fn find(
        &self,
        class: &'static ClassDef,
        selectors: &[Selector],
        namespace: Ns,
    ) -> Result<Option<Item>, Fault> {
        let counts = self.counts()?;
        let found = self.scan(
            0,
            &counts,
            |c| c.is_a(class),
            |item| {
                if !namespace.admits(item) {
                    return Ok(None);
                }
                // Numeric sensors are most of the instances: their keys are compared where
                // they lie instead of being built into selectors first.
                let found = match item {
                    Item::Sensor(SensorIx::Numeric(i)) => self.with_numeric(*i, |desc, _| {
                        text_keys_match(
                            class_of(item),
                            &sensor::keys(desc, &self.system.system_name),
                            selectors,
                        )
                    })?,
                    _ => selectors_match(class_of(item), &self.keys(item)?, selectors),
                };
                Ok(found.then_some(*item))
            },
        )?;
        Ok(found.map(|(_, item)| item))
    }

    /// The one instance of `class` (polymorphically) visible in `namespace`, or `None` when there
    /// are none or several. WS-Man services answer a Get, Put or Invoke without a SelectorSet
    /// when the class has a single instance (AMT does, and Intel's DMT library relies on it for
    /// CIM_PowerManagementService, CIM_Chassis, ...); deciding it here, from the instance
    /// sequence, covers every class at once, present and future. The walk stops at the second
    /// instance, so a class with thousands (log records) costs two steps.
    pub(crate) fn only_instance(
        &self,
        class: &'static ClassDef,
        namespace: Ns,
    ) -> Result<Option<Item>, Fault> {
        let counts = self.counts()?;
        let mut first = None;
        let second = self.scan(
            0,
            &counts,
            |c| c.is_a(class),
            |item| {
                if !namespace.admits(item) {
                    return Ok(None);
                }
                if first.is_none() {
                    first = Some(*item);
                    return Ok(None);
                }
                Ok(Some(()))
            },
        )?;
        Ok(if second.is_some() { None } else { first })
    }

    /// The instance a request's resource URI, selectors and namespace name; the faults are the
    /// Get faults of wsman.md §3.3.
    pub(crate) fn target(&self, target: &Target<'_>) -> Result<(&'static ClassDef, Item), Fault> {
        let class = resolve_class(target.resource_uri)?;
        let namespace = Ns::parse(target.namespace)?;
        namespace.check_class(class)?;
        if !has_keys(target.selectors)
            && let Some(item) = self.only_instance(class, namespace)?
        {
            return Ok((class, item));
        }
        check_selectors(class, target.selectors)?;
        let item = self
            .find(class, target.selectors, namespace)?
            .ok_or_else(|| {
                selector_fault(
                    FaultDetail::InvalidValue,
                    format!("no {} instance has these keys", class.name),
                )
            })?;
        Ok((class, item))
    }
}

/// An item that existed when the cursor or selectors were resolved but is gone now (the SEL was
/// cleared): to the client that is an instance that does not exist.
fn gone() -> Fault {
    selector_fault(
        FaultDetail::InvalidValue,
        String::from("the instance no longer exists"),
    )
}

impl Provider for Model<'_> {
    fn identity(&self) -> Identity {
        Identity {
            vendor: self.system.vendor.clone(),
            version: format!("{} {}", self.system.product, self.system.version),
        }
    }

    fn get(&self, target: &Target<'_>, out: &mut XmlWriter) -> Result<(), Fault> {
        let (_, item) = self.target(target)?;
        self.render_item(&item, out, None)
    }

    fn enumerate(&self, spec: &EnumSpec) -> Result<Cursor, Fault> {
        Plan::new(spec)?;
        Ok(0)
    }

    fn next_item(
        &self,
        spec: &EnumSpec,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault> {
        let plan = Plan::new(spec)?;
        let Some((pos, result)) = filter::next(self, &plan, *cursor)? else {
            return Ok(None);
        };
        if let Some(out) = object {
            self.render_item(&result, out, plan.projection())?;
        }
        let epr = self.epr(&result)?;
        *cursor = pos + 1;
        Ok(Some(epr))
    }

    fn count_estimate(&self, spec: &EnumSpec) -> Option<u64> {
        let plan = Plan::new(spec).ok()?;
        let mut cursor = 0;
        let mut n = 0u64;
        while let Ok(Some((pos, _))) = filter::next(self, &plan, cursor) {
            n += 1;
            cursor = pos + 1;
        }
        Some(n)
    }

    fn put(
        &self,
        target: &Target<'_>,
        body: roxmltree::Node<'_, '_>,
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        crate::write::put(self, target, body, out)
    }

    fn invoke(
        &self,
        target: &Target<'_>,
        method: &str,
        input: roxmltree::Node<'_, '_>,
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        crate::method::invoke(self, target, method, input, out)
    }
}
