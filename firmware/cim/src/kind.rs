//! The one table of instance kinds: every lookup the model makes about a kind of instance (its
//! class, its namespace, how many there are, its keys, how it is built, the two ends of an
//! association) is derived from its entry in the [`kinds!`] table below.
//!
//! A kind is a class in one role: CIM_ComputerSystem is two kinds (the host and the BMC), and
//! each association between two particular ends is its own, named, kind (the host's
//! SystemComponent link to the BMC is [`Kind::HostHasBmc`]). The order of the table is the
//! order of every enumeration and the first half of an enumeration cursor. Big, growing kinds
//! (the SEL) stay last so that de-duplicating association results never rescans them.
//!
//! The table is a macro rather than a `static` array of function pointers: it expands into one
//! `match` per lookup, which is the code a hand-written model would have, and costs no table in
//! flash (a static table of ~40 entries cost the bare-metal image 1.1 KiB).
//!
//! Adding a class: its `ClassDef` in `schema.rs` (and `ALL_CLASSES`; a feature-gated class keeps
//! its table in its own module, as `software.rs` and `network.rs` do), its instance source (a
//! class module's `keys`/`instance` functions; a new module is one `mod` line in `lib.rs`), one
//! entry here per role it plays, and its golden fixture in `tests/fixtures` (blessed with
//! `WSBMC_BLESS=1 cargo test -p wsbmc-cim --test golden`). Nothing in `model.rs` changes.
//!
//! An entry, fields in this order, the optional ones left out when they do not apply:
//!
//! - `class`: the class of its instances;
//! - `interop: true`: it lives in root/interop (profile registration), not root/cimv2;
//! - `count`: how many slots it has right now (`|c: &Counts| -> usize`);
//! - `slot`: the item index in slot `i`, `None` for a slot that is empty right now (default:
//!   the slot itself);
//! - `sel: true`: slots are SEL positions, and a cursor into the kind holds the RecordID
//!   instead, so that it stays meaningful while the log wraps between Pulls (issue #20);
//! - either `keys` and `build` (a class module builds the instances: their key selectors, and
//!   the instance handed to a callback), or `ends` and optionally `values` (an association: its
//!   two ends as (role, item), and its own non-key properties when they have a source).

use alloc::borrow::Cow;
use alloc::vec::Vec;

use wsbmc_wsman::{Fault, Selector};

#[cfg(feature = "accounts")]
use crate::account::{self, Slots};
use crate::model::{Counts, Model, gone, text_keys};
#[cfg(feature = "ip-interface")]
use crate::network;
use crate::profile::Profile;
use crate::schema::*;
#[cfg(feature = "software-inventory")]
use crate::software;
#[cfg(feature = "subscriptions")]
use crate::subscription;
use crate::value::Instance;
use crate::{host, log, physical, power, profile, sensor};
#[cfg(feature = "accounts")]
use wsbmc_accounts::Role;

/// One instance the model can produce: its kind and its index within the kind (a sensor,
/// record, profile, firmware or address index; 0 for the single-instance kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) kind: Kind,
    pub(crate) ix: usize,
}

impl Item {
    pub(crate) const fn new(kind: Kind, ix: usize) -> Self {
        Self { kind, ix }
    }

    /// The numeric sensor's index in the monitor's table, when the item is one.
    pub(crate) fn numeric_sensor(&self) -> Option<usize> {
        (self.kind == Kind::NumericSensor).then_some(self.ix)
    }
}

// The signatures of an entry's functions, given to its closures so that they need no types.

fn as_count(f: impl Fn(&Counts) -> usize) -> impl Fn(&Counts) -> usize {
    f
}

fn as_slot(
    f: impl Fn(&Counts, usize) -> Option<usize>,
) -> impl Fn(&Counts, usize) -> Option<usize> {
    f
}

fn as_keys(
    f: impl Fn(&Model<'_>, usize) -> Result<Vec<Selector>, Fault>,
) -> impl Fn(&Model<'_>, usize) -> Result<Vec<Selector>, Fault> {
    f
}

/// The key selectors of the account classes keyed by InstanceID alone (the other kinds read
/// their keys from the built instance, `model::key_selectors`). Out of line: the `vec!` of one
/// selector built in each such arm cost the bare-metal image's flash.
#[cfg(feature = "accounts")]
#[inline(never)]
fn by_instance_id(id: &str) -> Result<Vec<Selector>, Fault> {
    Ok(alloc::vec![Selector::text("InstanceID", id)])
}

/// Where a built instance goes: it may borrow data copied out of the monitor, so it only lives
/// for the call.
pub(crate) type Sink<'f> = &'f mut dyn FnMut(&Instance<'_>);

/// Hands a built instance to the sink, then drops it. One body for every builder: the sink's
/// call and the instance's drop inlined into each arm of [`Kind::build`] cost the bare-metal
/// image ~0.1 KiB of flash.
#[inline(never)]
fn give(f: Sink<'_>, i: Instance<'_>) -> Result<(), Fault> {
    f(&i);
    Ok(())
}

fn as_build(
    f: impl Fn(&Model<'_>, usize, Sink<'_>) -> Result<(), Fault>,
) -> impl Fn(&Model<'_>, usize, Sink<'_>) -> Result<(), Fault> {
    f
}

fn as_ends(
    f: impl Fn(usize) -> [(&'static str, Item); 2],
) -> impl Fn(usize) -> [(&'static str, Item); 2] {
    f
}

fn as_values(
    f: impl Fn(&Model<'_>, usize, &mut Instance<'_>),
) -> impl Fn(&Model<'_>, usize, &mut Instance<'_>) {
    f
}

/// The given value, else the default.
macro_rules! given_or {
    ($default:expr) => {
        $default
    };
    ($default:expr, $given:expr) => {
        $given
    };
}

macro_rules! kinds {
    ($(
        $(#[doc = $doc:expr])*
        $(#[cfg($cfg:meta)])?
        $name:ident {
            class: $class:expr,
            $(interop: $interop:literal,)?
            count: $count:expr,
            $(slot: $slot:expr,)?
            $(sel: $sel:literal,)?
            $(keys: $keys:expr,)?
            $(build: $build:expr,)?
            $(ends: $ends:expr, $(values: $values:expr,)?)?
        }
    )*) => {
        /// A kind of instance; see the module documentation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Kind {
            $( $(#[doc = $doc])* $(#[cfg($cfg)])? $name, )*
        }

        /// Every kind, in cursor order.
        pub(crate) static KINDS: &[Kind] = &[ $( $(#[cfg($cfg)])? Kind::$name, )* ];

        impl Kind {
            /// The class its instances are of.
            pub(crate) fn class(self) -> &'static ClassDef {
                match self { $( $(#[cfg($cfg)])? Kind::$name => &$class, )* }
            }

            /// Whether it lives in root/interop rather than root/cimv2.
            pub(crate) fn interop(self) -> bool {
                match self { $( $(#[cfg($cfg)])? Kind::$name => given_or!(false $(, $interop)?), )* }
            }

            /// Whether its slots are SEL positions (a cursor into it holds a RecordID).
            pub(crate) fn sel(self) -> bool {
                match self { $( $(#[cfg($cfg)])? Kind::$name => given_or!(false $(, $sel)?), )* }
            }

            /// How many slots it has right now.
            pub(crate) fn count(self, c: &Counts) -> usize {
                match self { $( $(#[cfg($cfg)])? Kind::$name => as_count($count)(c), )* }
            }

            /// The item index in slot `i`, or `None` when the slot is empty right now.
            pub(crate) fn slot(self, c: &Counts, i: usize) -> Option<usize> {
                match self {
                    $( $(#[cfg($cfg)])? Kind::$name => given_or!(Some(i) $(, as_slot($slot)(c, i))?), )*
                }
            }

            /// The key selectors of item `ix`; `None` for an association (its keys are its ends).
            pub(crate) fn keys(
                self,
                m: &Model<'_>,
                ix: usize,
            ) -> Option<Result<Vec<Selector>, Fault>> {
                match self {
                    $( $(#[cfg($cfg)])? Kind::$name => given_or!(None $(, Some(as_keys($keys)(m, ix)))?), )*
                }
            }

            /// Builds item `ix` and hands it to `f`; an association from its ends
            /// (`Model::build_association`). Every arm ends in one call whose result is this
            /// one's: no `Option` around it to copy the result into at each arm.
            pub(crate) fn build(
                self,
                m: &Model<'_>,
                ix: usize,
                f: &mut dyn FnMut(&Instance<'_>),
            ) -> Result<(), Fault> {
                match self {
                    $( $(#[cfg($cfg)])? Kind::$name => given_or!(m.build_association(Item::new(self, ix), f) $(, as_build($build)(m, ix, f))?), )*
                }
            }

            /// The two ends of association item `ix` as (role, end); `None` for a non-association.
            pub(crate) fn ends(self, ix: usize) -> Option<[(&'static str, Item); 2]> {
                let _ = ix;
                match self {
                    $( $(#[cfg($cfg)])? Kind::$name => given_or!(None $(, Some(as_ends($ends)(ix)))?), )*
                }
            }

            /// Sets association item `ix`'s own non-key properties on `i`.
            pub(crate) fn values(self, m: &Model<'_>, ix: usize, i: &mut Instance<'_>) {
                let _ = (m, ix, &i);
                match self {
                    $( $(#[cfg($cfg)])? Kind::$name => { $($( as_values($values)(m, ix, i); )?)? } )*
                }
            }
        }
    };
}

/// The central instance of each profile (ElementConformsToProfile). Component profiles point at
/// the host as well as the autonomous one does, which DSP1033 allows and naive consoles need.
pub(crate) const CONFORMANCE: &[(Profile, Item)] = &[
    (Profile::BaseServer, HOST),
    (Profile::Sensors, HOST),
    (Profile::RecordLog, Item::new(Kind::Log, 0)),
    (Profile::PowerStateManagement, HOST),
    (Profile::PhysicalAsset, Item::new(Kind::Chassis, 0)),
    #[cfg(feature = "software-inventory")]
    (Profile::SoftwareInventory, HOST),
    // The interface is the BMC's: its system scopes the profile.
    #[cfg(feature = "ip-interface")]
    (Profile::IpInterface, BMC),
    // DSP1034's and DSP1039's central instances are their services.
    #[cfg(feature = "accounts")]
    (
        Profile::SimpleIdentityManagement,
        Item::new(Kind::AccountService, 0),
    ),
    #[cfg(feature = "accounts")]
    (
        Profile::RoleBasedAuthorization,
        Item::new(Kind::RbaService, 0),
    ),
    // DSP1054's central instance would be a CIM_IndicationService, which this model does not
    // have: the BMC, whose event source the subscriptions are, scopes it.
    #[cfg(feature = "subscriptions")]
    (Profile::Indications, BMC),
];

/// The managed host.
pub(crate) const HOST: Item = Item::new(Kind::Host, 0);
/// The BMC's own system.
pub(crate) const BMC: Item = Item::new(Kind::Bmc, 0);

fn one(_: &Counts) -> usize {
    1
}

fn numeric(c: &Counts) -> usize {
    c.numeric
}

fn discrete(c: &Counts) -> usize {
    c.discrete
}

/// 1 when the platform keeps a log, else 0.
fn log_one(c: &Counts) -> usize {
    usize::from(c.log.is_some())
}

fn records(c: &Counts) -> usize {
    c.log.unwrap_or(0)
}

/// [`account::MAX_ACCOUNTS`] slots with an account table, else none.
#[cfg(feature = "accounts")]
fn account_slots(c: &Counts) -> usize {
    if c.accounts.is_some() {
        wsbmc_accounts::MAX_ACCOUNTS
    } else {
        0
    }
}

/// The slot's account, or `None` for a free slot.
#[cfg(feature = "accounts")]
fn account_in(c: &Counts, i: usize) -> Option<usize> {
    c.accounts.and_then(|s: Slots| s.role(i)).map(|_| i)
}

/// `n` with an account table, else none.
#[cfg(feature = "accounts")]
fn with_accounts(c: &Counts, n: usize) -> usize {
    if c.accounts.is_some() { n } else { 0 }
}

/// 1 when the caller sees the account settings, else 0.
#[cfg(feature = "accounts")]
fn settings_one(c: &Counts) -> usize {
    usize::from(c.accounts.is_some_and(|s: Slots| s.visible))
}

/// Account slots carry their role in the item index of the role membership: slot × 4 + role.
#[cfg(feature = "accounts")]
const ROLE_BITS: usize = 4;

#[cfg(feature = "accounts")]
fn account_service() -> Item {
    Item::new(Kind::AccountService, 0)
}

#[cfg(feature = "accounts")]
fn rba_service() -> Item {
    Item::new(Kind::RbaService, 0)
}

const GROUP: &str = "GroupComponent";
const PART: &str = "PartComponent";
const ANTE: &str = "Antecedent";
const DEP: &str = "Dependent";

/// The system firmware `i` runs on: the BMC's own firmware on the BMC, everything else (host
/// BIOS, satellite controllers inside the managed server) on the one host.
#[cfg(feature = "software-inventory")]
const fn software_system(i: usize) -> Item {
    if i == 0 { BMC } else { HOST }
}

#[cfg(feature = "software-inventory")]
fn firmware(c: &Counts) -> usize {
    c.firmware
}

#[cfg(feature = "ip-interface")]
fn ip(c: &Counts) -> usize {
    c.ip
}

#[cfg(feature = "subscriptions")]
fn subscriptions(c: &Counts) -> usize {
    c.subscriptions
}

/// In an [`Kind::IpEndpointSettings`] item's index: the endpoint's settings are the static IPv4
/// subclass. Endpoint indexes are below 64.
#[cfg(feature = "ip-interface")]
const STATIC_SETTINGS: usize = 1 << 8;

#[cfg(feature = "ip-interface")]
fn ip_settings_build(
    m: &Model<'_>,
    i: usize,
    f: &mut dyn FnMut(&Instance<'_>),
) -> Result<(), Fault> {
    let view = m.ip_endpoint(i)?;
    give(f, network::settings_instance(&view))
}

kinds! {
    // Systems, collection, services, physical elements, the log, profiles.

    /// The managed host (CIM_ComputerSystem).
    Host {
        class: CIM_COMPUTER_SYSTEM,
        count: one,
        keys: |m, _| Ok(text_keys(&host::keys(m.system()))),
        build: |m, _, f| give(f, host::instance(m.system(), m.host_health()?, m.host_power())),
    }
    /// The BMC's own system (CIM_ComputerSystem).
    Bmc {
        class: CIM_COMPUTER_SYSTEM,
        count: one,
        build: |m, _, f| give(f, host::bmc_instance(m.system())),
    }
    /// The IPMI domain (CIM_AdminDomain).
    Domain {
        class: CIM_ADMIN_DOMAIN,
        count: one,
        build: |m, _, f| give(f, host::domain_instance(m.host_health()?)),
    }
    /// The sensor collection (CIM_SystemSpecificCollection).
    Collection {
        class: CIM_SYSTEM_SPECIFIC_COLLECTION,
        count: one,
        build: |_, _, f| give(f, host::collection_instance()),
    }
    /// Numeric sensor `i` of the monitor's table.
    NumericSensor {
        class: CIM_NUMERIC_SENSOR,
        count: numeric,
        keys: |m, i| {
            let name = &m.system().system_name;
            m.with_numeric(i, |desc, _| text_keys(&sensor::keys(desc, name)))
        },
        build: |m, i, f| {
            let system = m.system();
            m.with_numeric(i, |desc, state| {
                f(&sensor::instance(
                    desc,
                    state,
                    &system.system_name,
                    system.sensor_types,
                ))
            })
        },
    }
    /// Discrete sensor `i` of the platform's.
    DiscreteSensor {
        class: CIM_SENSOR,
        count: discrete,
        build: |m, i, f| {
            let view = m.discrete(i)?;
            let system = m.system();
            give(f, sensor::discrete_instance(
                &view,
                &system.system_name,
                system.sensor_types,
            ))
        },
    }
    /// The power management service.
    PowerService {
        class: CIM_POWER_MANAGEMENT_SERVICE,
        count: one,
        build: |m, _, f| {
            let transitions = m.platform().power_transitions();
            give(f, power::service_instance(m.system(), transitions))
        },
    }
    /// The power management service's capabilities.
    PowerCapabilities {
        class: CIM_POWER_MANAGEMENT_CAPABILITIES,
        count: one,
        build: |m, _, f| give(f, power::capabilities_instance(m.platform().power_transitions())),
    }
    /// The chassis.
    Chassis {
        class: CIM_CHASSIS,
        count: one,
        build: |m, _, f| {
            give(f, physical::chassis_instance(m.platform().fru()))
        },
    }
    /// The baseboard.
    Card {
        class: CIM_CARD,
        count: one,
        build: |m, _, f| {
            give(f, physical::card_instance(m.platform().fru()))
        },
    }
    /// The SEL, when the platform keeps one.
    Log {
        class: CIM_RECORD_LOG,
        count: log_one,
        build: |m, _, f| {
            let l = m.log().ok_or_else(gone)?;
            give(f, log::log_instance(l))
        },
    }
    /// The SEL's capabilities.
    LogCapabilities {
        class: CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES,
        count: log_one,
        build: |_, _, f| give(f, log::capabilities_instance()),
    }
    /// Profile `i` of [`Profile::ALL`]; the Record Log one only with a log.
    Profile {
        class: CIM_REGISTERED_PROFILE,
        interop: true,
        count: |_| Profile::ALL.len(),
        slot: |c, i| c.has_profile(Profile::ALL[i]).then_some(i),
        build: |_, i, f| give(f, profile::instance(Profile::ALL[i])),
    }

    // Associations, each between two particular ends.

    /// CIM_SystemComponent: the host contains its BMC.
    HostHasBmc {
        class: CIM_SYSTEM_COMPONENT,
        count: one,
        ends: |_| [(GROUP, HOST), (PART, BMC)],
    }
    /// CIM_SystemComponent: the IPMI domain contains the host.
    DomainHasHost {
        class: CIM_SYSTEM_COMPONENT,
        count: one,
        ends: |_| [(GROUP, Item::new(Kind::Domain, 0)), (PART, HOST)],
    }
    /// CIM_SystemComponent: the IPMI domain contains the BMC.
    DomainHasBmc {
        class: CIM_SYSTEM_COMPONENT,
        count: one,
        ends: |_| [(GROUP, Item::new(Kind::Domain, 0)), (PART, BMC)],
    }
    /// CIM_SystemDevice: the host → numeric sensor `i`.
    HostHasNumericSensor {
        class: CIM_SYSTEM_DEVICE,
        count: numeric,
        ends: |i| [(GROUP, HOST), (PART, Item::new(Kind::NumericSensor, i))],
    }
    /// CIM_SystemDevice: the host → discrete sensor `i`.
    HostHasDiscreteSensor {
        class: CIM_SYSTEM_DEVICE,
        count: discrete,
        ends: |i| [(GROUP, HOST), (PART, Item::new(Kind::DiscreteSensor, i))],
    }
    /// CIM_AssociatedSensor: numeric sensor `i` watches the host.
    NumericSensorOfHost {
        class: CIM_ASSOCIATED_SENSOR,
        count: numeric,
        ends: |i| [(ANTE, Item::new(Kind::NumericSensor, i)), (DEP, HOST)],
    }
    /// CIM_AssociatedSensor: discrete sensor `i` watches the host.
    DiscreteSensorOfHost {
        class: CIM_ASSOCIATED_SENSOR,
        count: discrete,
        ends: |i| [(ANTE, Item::new(Kind::DiscreteSensor, i)), (DEP, HOST)],
    }
    /// CIM_HostedCollection: the BMC hosts the sensor collection.
    BmcHostsCollection {
        class: CIM_HOSTED_COLLECTION,
        count: one,
        ends: |_| [(ANTE, BMC), (DEP, Item::new(Kind::Collection, 0))],
    }
    /// CIM_MemberOfCollection: numeric sensor `i` is in the sensor collection.
    NumericSensorInCollection {
        class: CIM_MEMBER_OF_COLLECTION,
        count: numeric,
        ends: |i| {
            [
                ("Collection", Item::new(Kind::Collection, 0)),
                ("Member", Item::new(Kind::NumericSensor, i)),
            ]
        },
    }
    /// CIM_MemberOfCollection: discrete sensor `i` is in the sensor collection.
    DiscreteSensorInCollection {
        class: CIM_MEMBER_OF_COLLECTION,
        count: discrete,
        ends: |i| {
            [
                ("Collection", Item::new(Kind::Collection, 0)),
                ("Member", Item::new(Kind::DiscreteSensor, i)),
            ]
        },
    }
    /// CIM_HostedService: the BMC hosts the power management service.
    BmcHostsPowerService {
        class: CIM_HOSTED_SERVICE,
        count: one,
        ends: |_| [(ANTE, BMC), (DEP, Item::new(Kind::PowerService, 0))],
    }
    /// CIM_AssociatedPowerManagementService: the service switches the host; carries the host's
    /// power state.
    PowerServiceOfHost {
        class: CIM_ASSOCIATED_POWER_MANAGEMENT_SERVICE,
        count: one,
        ends: |_| {
            [
                ("ServiceProvided", Item::new(Kind::PowerService, 0)),
                ("UserOfService", HOST),
            ]
        },
        values: |m, _, i| {
            let p = m.host_power();
            power::association_values(i, p.state, p.in_progress, p.offered);
        },
    }
    /// CIM_ElementCapabilities: the power service → its capabilities.
    PowerServiceCapabilities {
        class: CIM_ELEMENT_CAPABILITIES,
        count: one,
        ends: |_| {
            [
                ("ManagedElement", Item::new(Kind::PowerService, 0)),
                ("Capabilities", Item::new(Kind::PowerCapabilities, 0)),
            ]
        },
    }
    /// CIM_ElementCapabilities: the log → its capabilities.
    LogCapabilitiesOfLog {
        class: CIM_ELEMENT_CAPABILITIES,
        count: log_one,
        ends: |_| {
            [
                ("ManagedElement", Item::new(Kind::Log, 0)),
                ("Capabilities", Item::new(Kind::LogCapabilities, 0)),
            ]
        },
    }
    /// CIM_ComputerSystemPackage: the chassis packages the host; carries the platform GUID.
    ChassisPackagesHost {
        class: CIM_COMPUTER_SYSTEM_PACKAGE,
        count: one,
        ends: |_| [(ANTE, Item::new(Kind::Chassis, 0)), (DEP, HOST)],
        values: |m, _, i| {
            i.set("PlatformGUID", physical::platform_guid(m.platform().fru()));
        },
    }
    /// CIM_Container: the chassis holds the baseboard. LocationWithinContainer has no source:
    /// NULL.
    ChassisContainsCard {
        class: CIM_CONTAINER,
        count: one,
        ends: |_| [(GROUP, Item::new(Kind::Chassis, 0)), (PART, Item::new(Kind::Card, 0))],
    }
    /// CIM_UseOfLog: the host's log. RecordedData has no source: NULL.
    LogOfHost {
        class: CIM_USE_OF_LOG,
        count: log_one,
        ends: |_| [(ANTE, Item::new(Kind::Log, 0)), (DEP, HOST)],
    }
    /// CIM_ReferencedProfile: component profile `i` of [`Profile::ALL`] (from 1) → Base Server.
    ProfileReferencesBaseServer {
        class: CIM_REFERENCED_PROFILE,
        interop: true,
        count: |_| Profile::ALL.len() - 1,
        slot: |c, i| c.has_profile(Profile::ALL[i + 1]).then_some(i + 1),
        ends: |i| {
            [
                (ANTE, Item::new(Kind::Profile, i)),
                (DEP, Item::new(Kind::Profile, 0)),
            ]
        },
    }
    /// CIM_ElementConformsToProfile: entry `i` of [`CONFORMANCE`].
    ProfileConformance {
        class: CIM_ELEMENT_CONFORMS_TO_PROFILE,
        interop: true,
        count: |_| CONFORMANCE.len(),
        slot: |c, i| c.has_profile(CONFORMANCE[i].0).then_some(i),
        ends: |i| {
            let (p, element) = CONFORMANCE[i % CONFORMANCE.len()];
            let at = Profile::ALL.iter().position(|q| *q == p).unwrap_or(0);
            [
                ("ConformantStandard", Item::new(Kind::Profile, at)),
                ("ManagedElement", element),
            ]
        },
    }

    // DSP1023 Software Inventory.

    /// Firmware `i`: 0 the BMC's own, then the platform's.
    #[cfg(feature = "software-inventory")]
    Software {
        class: software::CIM_SOFTWARE_IDENTITY,
        count: firmware,
        build: |m, i, f| match i {
            0 => give(f, software::bmc_instance(m.system())),
            i => give(f, software::instance(&m.firmware(i)?)),
        },
    }
    /// CIM_ElementSoftwareIdentity: firmware `i` → the system it runs on.
    #[cfg(feature = "software-inventory")]
    SoftwareOfSystem {
        class: software::CIM_ELEMENT_SOFTWARE_IDENTITY,
        count: firmware,
        ends: |i| [(ANTE, Item::new(Kind::Software, i)), (DEP, software_system(i))],
        values: |_, _, i| software::element_values(i),
    }
    /// CIM_InstalledSoftwareIdentity: the system → firmware `i` installed in it.
    #[cfg(feature = "software-inventory")]
    SoftwareInstalledInSystem {
        class: software::CIM_INSTALLED_SOFTWARE_IDENTITY,
        count: firmware,
        ends: |i| {
            [
                ("InstalledSoftware", Item::new(Kind::Software, i)),
                ("System", software_system(i)),
            ]
        },
    }

    // DSP1036 IP Interface.

    /// Address `i` of the BMC's management network.
    #[cfg(feature = "ip-interface")]
    IpEndpoint {
        class: network::CIM_IP_PROTOCOL_ENDPOINT,
        count: ip,
        build: |m, i, f| {
            let view = m.ip_endpoint(i)?;
            give(f, network::endpoint_instance(m.system(), &view))
        },
    }
    /// The settings that gave address `i` (DHCP, autoconfiguration, IPv6 static).
    #[cfg(feature = "ip-interface")]
    IpSettings {
        class: network::CIM_IP_ASSIGNMENT_SETTING_DATA,
        count: ip,
        slot: |c, i| (!c.ip_is_static(i)).then_some(i),
        build: ip_settings_build,
    }
    /// The settings of static IPv4 address `i`, with mask and gateway.
    #[cfg(feature = "ip-interface")]
    IpStaticSettings {
        class: network::CIM_STATIC_IP_ASSIGNMENT_SETTING_DATA,
        count: ip,
        slot: |c, i| c.ip_is_static(i).then_some(i),
        build: ip_settings_build,
    }
    /// CIM_HostedAccessPoint: the BMC → endpoint `i`.
    #[cfg(feature = "ip-interface")]
    BmcHostsIpEndpoint {
        class: network::CIM_HOSTED_ACCESS_POINT,
        count: ip,
        ends: |i| [(ANTE, BMC), (DEP, Item::new(Kind::IpEndpoint, i))],
    }
    /// CIM_ElementSettingData: endpoint `i` → its settings (the static IPv4 ones when the index
    /// carries [`STATIC_SETTINGS`]).
    #[cfg(feature = "ip-interface")]
    IpEndpointSettings {
        class: network::CIM_ELEMENT_SETTING_DATA,
        count: ip,
        slot: |c, i| Some(if c.ip_is_static(i) { i | STATIC_SETTINGS } else { i }),
        ends: |ix| {
            let i = ix & !STATIC_SETTINGS;
            let settings = if ix & STATIC_SETTINGS != 0 {
                Kind::IpStaticSettings
            } else {
                Kind::IpSettings
            };
            [
                ("ManagedElement", Item::new(Kind::IpEndpoint, i)),
                ("SettingData", Item::new(settings, i)),
            ]
        },
        values: |_, _, i| network::element_setting_values(i),
    }

    // DSP1034 Simple Identity Management and DSP1039 Role Based Authorization.

    /// Account slot `i`, when it holds an account.
    #[cfg(feature = "accounts")]
    Account {
        class: account::CIM_ACCOUNT,
        count: account_slots,
        slot: account_in,
        keys: |m, i| {
            let name = account::account_name(m, i)?;
            Ok(text_keys(&account::account_keys(m.system(), &name)))
        },
        build: |m, i, f| give(f, account::account_instance(m, i)?),
    }
    /// The identity of account slot `i`.
    #[cfg(feature = "accounts")]
    AccountIdentity {
        class: account::CIM_IDENTITY,
        count: account_slots,
        slot: account_in,
        keys: |m, i| {
            let name = account::account_name(m, i)?;
            by_instance_id(&account::identity_id(&name))
        },
        build: |m, i, f| give(f, account::identity_instance(&account::account_name(m, i)?)),
    }
    /// The account management service.
    #[cfg(feature = "accounts")]
    AccountService {
        class: account::CIM_ACCOUNT_MANAGEMENT_SERVICE,
        count: |c| with_accounts(c, 1),
        keys: |m, _| Ok(text_keys(&account::service_keys(m.system(), false))),
        build: |m, _, f| give(f, account::service_instance(m.system(), false)),
    }
    /// The role based authorization service.
    #[cfg(feature = "accounts")]
    RbaService {
        class: account::CIM_ROLE_BASED_AUTHORIZATION_SERVICE,
        count: |c| with_accounts(c, 1),
        keys: |m, _| Ok(text_keys(&account::service_keys(m.system(), true))),
        build: |m, _, f| give(f, account::service_instance(m.system(), true)),
    }
    /// Role `i` of `Role::ALL`.
    #[cfg(feature = "accounts")]
    Role {
        class: account::CIM_ROLE,
        count: |c| with_accounts(c, Role::ALL.len()),
        keys: |_, i| Ok(text_keys(&account::role_keys(Role::ALL[i % Role::ALL.len()]))),
        build: |_, i, f| give(f, account::role_instance(Role::ALL[i % Role::ALL.len()])),
    }
    /// Privilege `i` of [`account::PRIVILEGES`].
    #[cfg(feature = "accounts")]
    Privilege {
        class: account::CIM_PRIVILEGE,
        count: |c| with_accounts(c, account::PRIVILEGES.len()),
        keys: |_, i| {
            let p = account::PRIVILEGES[i % account::PRIVILEGES.len()];
            by_instance_id(&account::privilege_id(p))
        },
        build: |_, i, f| {
            let p = account::PRIVILEGES[i % account::PRIVILEGES.len()];
            give(f, account::privilege_instance(p))
        },
    }
    /// The lockout settings.
    #[cfg(feature = "accounts")]
    AccountSettings {
        class: account::CIM_ACCOUNT_SETTING_DATA,
        count: settings_one,
        keys: |_, _| by_instance_id(account::SETTINGS_ID),
        build: |m, _, f| {
            let policy = account::table(m.accounts()?)?.policy();
            give(f, account::settings_instance(policy))
        },
    }
    /// CIM_AccountOnSystem: the BMC → account `i`.
    #[cfg(feature = "accounts")]
    AccountOnBmc {
        class: account::CIM_ACCOUNT_ON_SYSTEM,
        count: account_slots,
        slot: account_in,
        ends: |i| [(ANTE, BMC), (DEP, Item::new(Kind::Account, i))],
    }
    /// CIM_ServiceAffectsElement: the account service manages account `i`.
    #[cfg(feature = "accounts")]
    AccountServiceManagesAccount {
        class: account::CIM_SERVICE_AFFECTS_ELEMENT,
        count: account_slots,
        slot: account_in,
        ends: |i| {
            [
                ("AffectingElement", account_service()),
                ("AffectedElement", Item::new(Kind::Account, i)),
            ]
        },
        values: |_, _, i| i.set_u16s("ElementEffects", &[5]),
    }
    /// CIM_AssignedIdentity: identity `i` → account `i`.
    #[cfg(feature = "accounts")]
    IdentityOfAccount {
        class: account::CIM_ASSIGNED_IDENTITY,
        count: account_slots,
        slot: account_in,
        ends: |i| {
            [
                ("IdentityInfo", Item::new(Kind::AccountIdentity, i)),
                ("ManagedElement", Item::new(Kind::Account, i)),
            ]
        },
    }
    /// CIM_MemberOfCollection: account `i`'s role collects its identity. The item index is
    /// slot × [`ROLE_BITS`] + role, so the ends need no table.
    #[cfg(feature = "accounts")]
    RoleHasIdentity {
        class: CIM_MEMBER_OF_COLLECTION,
        count: account_slots,
        slot: |c, i| {
            c.accounts
                .and_then(|s: Slots| s.role(i))
                .map(|r| i * ROLE_BITS + r)
        },
        ends: |ix| {
            [
                ("Collection", Item::new(Kind::Role, ix % ROLE_BITS)),
                ("Member", Item::new(Kind::AccountIdentity, ix / ROLE_BITS)),
            ]
        },
    }
    /// CIM_MemberOfCollection: grant `i` of `Role::privileges` (a role collects a privilege).
    #[cfg(feature = "accounts")]
    RoleHasPrivilege {
        class: CIM_MEMBER_OF_COLLECTION,
        count: |c| with_accounts(c, account::grant_count()),
        ends: |i| {
            let (r, p) = account::grant(i).unwrap_or((0, 0));
            [
                ("Collection", Item::new(Kind::Role, r)),
                ("Member", Item::new(Kind::Privilege, p)),
            ]
        },
    }
    /// CIM_RoleLimitedToTarget: role `i` applies to this management controller.
    #[cfg(feature = "accounts")]
    RoleOnBmc {
        class: account::CIM_ROLE_LIMITED_TO_TARGET,
        count: |c| with_accounts(c, Role::ALL.len()),
        ends: |i| [("DefiningRole", Item::new(Kind::Role, i)), ("TargetElement", BMC)],
    }
    /// CIM_ServiceAffectsElement: the authorization service manages role `i`.
    #[cfg(feature = "accounts")]
    RbaServiceManagesRole {
        class: account::CIM_SERVICE_AFFECTS_ELEMENT,
        count: |c| with_accounts(c, Role::ALL.len()),
        ends: |i| {
            [
                ("AffectingElement", rba_service()),
                ("AffectedElement", Item::new(Kind::Role, i)),
            ]
        },
        values: |_, _, i| i.set_u16s("ElementEffects", &[5]),
    }
    /// CIM_HostedService: the BMC hosts the account management service.
    #[cfg(feature = "accounts")]
    BmcHostsAccountService {
        class: CIM_HOSTED_SERVICE,
        count: |c| with_accounts(c, 1),
        ends: |_| [(ANTE, BMC), (DEP, account_service())],
    }
    /// CIM_HostedService: the BMC hosts the role based authorization service.
    #[cfg(feature = "accounts")]
    BmcHostsRbaService {
        class: CIM_HOSTED_SERVICE,
        count: |c| with_accounts(c, 1),
        ends: |_| [(ANTE, BMC), (DEP, rba_service())],
    }
    /// CIM_ElementSettingData: the account service → the lockout settings.
    #[cfg(feature = "accounts")]
    AccountServiceSettings {
        class: crate::network::CIM_ELEMENT_SETTING_DATA,
        count: settings_one,
        ends: |_| {
            [
                ("ManagedElement", account_service()),
                ("SettingData", Item::new(Kind::AccountSettings, 0)),
            ]
        },
        values: |_, _, i| i.set("IsCurrent", crate::value::Value::U16(1)),
    }

    // DSP1054 Indications: each WS-Eventing subscription as its filter, its listener and the
    // subscription joining them, in root/interop.

    /// The filter of subscription `i`.
    #[cfg(feature = "subscriptions")]
    IndicationFilter {
        class: subscription::CIM_INDICATION_FILTER,
        interop: true,
        count: subscriptions,
        build: |m, i, f| give(f, subscription::filter_instance(m.system(), &m.subscription(i)?)),
    }
    /// The listener destination of subscription `i`.
    #[cfg(feature = "subscriptions")]
    ListenerDestination {
        class: subscription::CIM_LISTENER_DESTINATION_WS_MANAGEMENT,
        interop: true,
        count: subscriptions,
        build: |m, i, f| give(f, subscription::listener_instance(m.system(), &m.subscription(i)?)),
    }
    /// CIM_IndicationSubscription: filter `i` → listener `i`.
    #[cfg(feature = "subscriptions")]
    Subscription {
        class: subscription::CIM_INDICATION_SUBSCRIPTION,
        interop: true,
        count: subscriptions,
        ends: |i| {
            [
                ("Filter", Item::new(Kind::IndicationFilter, i)),
                ("Handler", Item::new(Kind::ListenerDestination, i)),
            ]
        },
        values: |m, i, inst| {
            if let Ok(view) = m.subscription(i) {
                subscription::subscription_values(&view, inst);
            }
        },
    }

    // The SEL's records, last: the biggest kinds.

    /// SEL record `i` (a position).
    Record {
        class: CIM_LOG_RECORD,
        count: records,
        sel: true,
        keys: |m, i| {
            let view = m.record(i)?;
            let ([a, b, c, id], ts) = log::record_keys(&view);
            let ts = ts.cim_string();
            // MessageTimestamp sorts between LogName and RecordID. Through `text_keys`, not a
            // `Selector` built here for each key (68 B more of the bare-metal image).
            Ok(text_keys(&[
                (a.0, Cow::Borrowed(&a.1)),
                (b.0, Cow::Borrowed(&b.1)),
                (c.0, Cow::Borrowed(&c.1)),
                ("MessageTimestamp", Cow::Borrowed(&ts)),
                (id.0, Cow::Borrowed(&id.1)),
            ]))
        },
        build: |m, i, f| {
            let view = m.record(i)?;
            give(f, log::record_instance(&view))
        },
    }
    /// CIM_LogManagesRecord: the log → record `i` (a position).
    LogManagesRecord {
        class: CIM_LOG_MANAGES_RECORD,
        count: records,
        sel: true,
        ends: |i| [("Log", Item::new(Kind::Log, 0)), ("Record", Item::new(Kind::Record, i))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associations_name_their_ends_by_their_class_keys() {
        for &kind in KINDS {
            let class = kind.class();
            assert!(!class.is_abstract, "{kind:?}");
            match kind.ends(0) {
                Some(ends) => {
                    assert!(class.is_association(), "{kind:?}");
                    let mut roles: Vec<&str> = ends.iter().map(|(role, _)| *role).collect();
                    roles.sort_unstable();
                    assert_eq!(roles, class.keys, "{kind:?}");
                }
                None => assert!(!class.is_association(), "{kind:?}"),
            }
        }
    }

    #[test]
    fn every_kind_is_listed_once_and_only_profiles_and_subscriptions_are_interop() {
        for (i, &kind) in KINDS.iter().enumerate() {
            assert!(!KINDS[i + 1..].contains(&kind), "{kind:?}");
            let profile_class = [
                &CIM_REGISTERED_PROFILE,
                &CIM_REFERENCED_PROFILE,
                &CIM_ELEMENT_CONFORMS_TO_PROFILE,
                #[cfg(feature = "subscriptions")]
                &subscription::CIM_INDICATION_FILTER,
                #[cfg(feature = "subscriptions")]
                &subscription::CIM_LISTENER_DESTINATION_WS_MANAGEMENT,
                #[cfg(feature = "subscriptions")]
                &subscription::CIM_INDICATION_SUBSCRIPTION,
            ]
            .iter()
            .any(|c| core::ptr::eq(*c, kind.class()));
            assert_eq!(kind.interop(), profile_class, "{kind:?}");
        }
        // The SEL's kinds come last, so de-duplicating association results never rescans them.
        let sel: Vec<Kind> = KINDS.iter().copied().filter(|k| k.sel()).collect();
        assert_eq!(sel, [Kind::Record, Kind::LogManagesRecord]);
        assert_eq!(KINDS[KINDS.len() - 2..], sel[..]);
    }
}
