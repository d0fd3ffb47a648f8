//! The WS-Man provider over the monitor and the platform: resource URIs, namespaces, selectors
//! and enumeration cursors onto the class tables and value sources.
//!
//! Every instance the model can produce is an [`Item`]: a small value that names it (the host,
//! sensor 3, SEL record 17, the SystemDevice link to sensor 3, ...). Items are laid out in the
//! fixed sequence of kinds of `kind.rs`, the one table every per-kind lookup here reads, and an
//! enumeration cursor is a (kind, index) position in that sequence, so a cursor never depends on
//! discovery order. Within the SEL's kinds the index is the next RecordID rather than a
//! position, so a cursor stays meaningful while the SEL grows and wraps. Associations are items
//! too: their ends are items, which makes traversal a comparison of small values, and only the
//! results are ever rendered.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Ref, RefCell, RefMut};
use wsbmc_wsman::text::cat;

use wsbmc_ipmi::SensorTypeMode;
use wsbmc_monitor::{Monitor, SensorDesc, SensorState};
use wsbmc_wsman::enumeration::{Batch, BatchLimits, fill_from};
use wsbmc_wsman::envelope::EnumMode;
use wsbmc_wsman::provider::{EnumPlan, ItemWalk};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultDetail, FaultKind, Identity, Property, Provider,
    Representation, Selector, SelectorValue, Target, XmlWriter, ns,
};

use crate::filter::{self, Plan};
pub(crate) use crate::kind::Item;
use crate::kind::{KINDS, Kind};
#[cfg(feature = "ip-interface")]
use crate::network;
use crate::platform::{DiscreteSensorView, LogView, Platform};
use crate::profile::Profile;
use crate::render::{ClassMarkup, KeptMarkups, render_kept, render_with};
use crate::schema::*;
#[cfg(feature = "software-inventory")]
use crate::software;
use crate::value::{Instance, Value};
use crate::{host, sensor};

/// The implementation namespace: every class but the profile-registration ones lives here.
pub const NAMESPACE: &str = "root/cimv2";
/// DSP1033's namespace for profile registration.
pub const INTEROP: &str = "root/interop";

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
    /// Class markups kept from one request to the next. Here because this is what the agent
    /// keeps for the model across requests; it is no part of what the system is (a copy
    /// starts empty, and it never makes two `SystemInfo`s differ).
    markups: KeptMarkups,
}

impl SystemInfo {
    /// A system named `system_name` that identifies itself as this firmware.
    pub fn new(system_name: impl Into<String>) -> Self {
        let system_name = system_name.into();
        Self {
            element_name: system_name.clone(),
            bmc_name: cat(&[&system_name, ":BMC"]),
            system_name,
            name_format: None,
            vendor: String::from("wsbmc"),
            product: String::from("wsbmc"),
            version: String::from(env!("CARGO_PKG_VERSION")),
            sensor_types: SensorTypeMode::Windows,
            image: crate::software::Image::Host,
            build_secs: None,
            markups: KeptMarkups::default(),
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

/// How many of the variable-size kinds exist right now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) numeric: usize,
    pub(crate) discrete: usize,
    /// `None` when the platform keeps no log.
    pub(crate) log: Option<usize>,
    /// Firmware identities: the BMC's plus the platform's (at most 255).
    #[cfg(feature = "software-inventory")]
    pub(crate) firmware: usize,
    /// Addresses of the management network (at most 64).
    #[cfg(feature = "ip-interface")]
    pub(crate) ip: usize,
    /// Bit `i` set: address `i` is static IPv4, so its settings are the static subclass.
    #[cfg(feature = "ip-interface")]
    pub(crate) ip_static: u64,
    /// The account slots and their roles; `None` when the platform has no account table.
    #[cfg(feature = "accounts")]
    pub(crate) accounts: Option<crate::account::Slots>,
    /// WS-Eventing subscriptions (at most 255).
    #[cfg(feature = "subscriptions")]
    pub(crate) subscriptions: usize,
}

impl Counts {
    #[cfg(feature = "ip-interface")]
    pub(crate) fn ip_is_static(&self, i: usize) -> bool {
        i < 64 && self.ip_static & (1 << i) != 0
    }

    pub(crate) fn has_profile(&self, p: Profile) -> bool {
        #[cfg(feature = "accounts")]
        if matches!(
            p,
            Profile::SimpleIdentityManagement | Profile::RoleBasedAuthorization
        ) {
            return self.accounts.is_some();
        }
        p != Profile::RecordLog || self.log.is_some()
    }

    fn count(&self, kind: Kind) -> usize {
        kind.count(self)
    }

    /// Item `i` of `kind`, or `None` when that slot is empty (a profile of a missing log).
    fn item(&self, kind: Kind, i: usize) -> Option<Item> {
        if i >= self.count(kind) {
            return None;
        }
        kind.slot(self, i).map(|ix| Item::new(kind, ix))
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
    item.kind.class()
}

/// The namespace an item lives in.
pub(crate) fn namespace_of(item: &Item) -> &'static str {
    if item.kind.interop() {
        INTEROP
    } else {
        NAMESPACE
    }
}

/// The two ends of an association item, as (role, end); `None` for a non-association.
pub(crate) fn refs(item: &Item) -> Option<[(&'static str, Item); 2]> {
    item.kind.ends(item.ix)
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
        .ok_or_else(|| Fault::unknown_resource().message(cat(&["no class at ", resource_uri])))
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
        let norm = raw.trim_start_matches(['/', '\\']).replace('\\', "/");
        if norm.eq_ignore_ascii_case(NAMESPACE) {
            Ok(Ns::Cimv2)
        } else if norm.eq_ignore_ascii_case(INTEROP) {
            Ok(Ns::Interop)
        } else {
            Err(Fault::with_detail(
                FaultKind::DestinationUnreachable,
                FaultDetail::InvalidNamespace,
            )
            .message(cat(&["namespace ", raw, " does not exist"])))
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
        if self == Ns::Interop && !KINDS.iter().any(|k| k.interop() && k.class().is_a(class)) {
            return Err(Fault::unknown_resource().message(cat(&[
                "class ",
                class.name,
                " is not in namespace ",
                INTEROP,
            ])));
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

pub(crate) fn internal(what: impl Into<Cow<'static, str>>) -> Fault {
    Fault::new(FaultKind::InternalError).message(what)
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
    // Bit `i`: key `i` was named. A bit set, not a `Vec<bool>`: no class has more than 32 keys
    // (a test checks), and the allocation cost the bare-metal image's flash.
    let bit = |i: usize| 1u32.checked_shl(i as u32).unwrap_or(0);
    let mut found = 0u32;
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
                cat(&[&s.name, " is not a key of ", class.name]),
            ));
        };
        if found & bit(idx) != 0 {
            return Err(selector_fault(
                FaultDetail::DuplicateSelectors,
                cat(&["selector ", class.keys[idx], " appears more than once"]),
            ));
        }
        let is_ref = class
            .property(class.keys[idx])
            .is_some_and(|p| p.ty == CimType::Reference);
        if is_ref != matches!(s.value, SelectorValue::Epr(_)) {
            let want = if is_ref { "an EPR" } else { "text" };
            return Err(selector_fault(
                FaultDetail::TypeMismatch,
                cat(&["selector ", class.keys[idx], " must be ", want]),
            ));
        }
        found |= bit(idx);
    }
    if let Some(i) = (0..class.keys.len()).find(|&i| found & bit(i) == 0) {
        return Err(selector_fault(
            FaultDetail::InsufficientSelectors,
            cat(&["selector ", class.keys[i], " is missing"]),
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
    // Counted and searched in place rather than collected into two `Vec`s first (the collects
    // cost the bare-metal image's flash): `have`'s `__cimnamespace` is skipped, and no other
    // name finds `want`'s, so searching all of `want` finds what searching its keys would.
    let keys = |s: &'_ [Selector]| {
        s.iter()
            .filter(|s| !s.name.eq_ignore_ascii_case("__cimnamespace"))
            .count()
    };
    keys(have) == keys(want)
        && have.iter().all(|h| {
            h.name.eq_ignore_ascii_case("__cimnamespace")
                || want
                    .iter()
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
pub(crate) fn text_keys(keys: &[(&'static str, Cow<'_, str>)]) -> Vec<Selector> {
    let mut out = Vec::with_capacity(keys.len());
    for (n, v) in keys {
        out.push(Selector::text(*n, String::from(&**v)));
    }
    out
}

/// The key selectors of a built instance, `None` when a key is not text. The kinds that name no
/// key builder read their keys here: one copy instead of a key builder per kind beside its
/// instance builder (~0.5 KiB of the bare-metal image). The numeric sensors and log records
/// (the hot paths; a record's datetime key is spelled apart as a selector) and the host (its
/// build rolls up every sensor's health, and every association with the host names it) keep
/// their own.
fn key_selectors(i: &Instance<'_>) -> Option<Vec<Selector>> {
    let mut out = Vec::with_capacity(i.class.keys.len());
    for key in i.class.keys {
        let Some(Value::Str(text)) = i.get(key) else {
            return None;
        };
        out.push(Selector::text(*key, String::from(&**text)));
    }
    Some(out)
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

    pub(crate) fn log(&self) -> Option<&'a dyn LogView> {
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
            #[cfg(feature = "accounts")]
            accounts: match self.platform.accounts() {
                Some(a) => Some(crate::account::Slots::of(
                    &*a.table()
                        .try_borrow()
                        .map_err(|_| internal("the account table is busy"))?,
                    a.caller_sees_accounts(),
                )),
                None => None,
            },
            #[cfg(feature = "subscriptions")]
            subscriptions: self.platform.subscription_count().min(255),
        })
    }

    /// Subscription `i` of the platform's event source.
    #[cfg(feature = "subscriptions")]
    pub(crate) fn subscription(
        &self,
        i: usize,
    ) -> Result<crate::subscription::SubscriptionView, Fault> {
        self.platform.subscription(i).ok_or_else(gone)
    }

    /// The platform's account table; a fault when it has none (the classes are then empty, so
    /// only a stale EPR gets here).
    #[cfg(feature = "accounts")]
    pub(crate) fn accounts(&self) -> Result<&'a dyn crate::account::Accounts, Fault> {
        self.platform.accounts().ok_or_else(gone)
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

    pub(crate) fn discrete(&self, i: usize) -> Result<DiscreteSensorView, Fault> {
        self.platform.discrete_sensor(i).ok_or_else(gone)
    }

    /// Address `i` of the management network.
    #[cfg(feature = "ip-interface")]
    pub(crate) fn ip_endpoint(&self, i: usize) -> Result<network::IpEndpointView, Fault> {
        self.platform.ip_endpoint(i).ok_or_else(gone)
    }

    /// Platform firmware behind identity `i` (1-based: 0 is the BMC's own).
    #[cfg(feature = "software-inventory")]
    pub(crate) fn firmware(&self, i: usize) -> Result<software::FirmwareView, Fault> {
        i.checked_sub(1)
            .and_then(|j| self.platform.firmware(j))
            .ok_or_else(gone)
    }

    pub(crate) fn record(&self, i: usize) -> Result<crate::platform::LogRecordView, Fault> {
        self.log().and_then(|l| l.record(i)).ok_or_else(gone)
    }

    /// The key selectors of an item, alphabetical like its class's key list.
    pub(crate) fn keys(&self, item: &Item) -> Result<Vec<Selector>, Fault> {
        if let Some(keys) = item.kind.keys(self, item.ix) {
            return keys;
        }
        let Some(ends) = refs(item) else {
            let mut keys = None;
            self.with_instance_dyn(item, &mut |i| keys = key_selectors(i))?;
            return keys.ok_or_else(|| internal("a key without a text value"));
        };
        let mut out = Vec::with_capacity(2);
        for key in class_of(item).keys {
            let (_, end) = ends
                .iter()
                .find(|(role, _)| role == key)
                .ok_or_else(|| internal("an association end without a role"))?;
            out.push(Selector {
                name: String::from(*key),
                value: SelectorValue::Epr(Box::new(self.epr(end)?)),
            });
        }
        Ok(out)
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
    pub(crate) fn host_health(&self) -> Result<u16, Fault> {
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

    pub(crate) fn host_power(&self) -> host::HostPower<'a> {
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

    /// [`Self::with_instance`]'s body, once: generic over `f`, this dispatch was compiled
    /// again for each caller (~1.2 KiB of the bare-metal image's flash each).
    fn with_instance_dyn(
        &self,
        item: &Item,
        f: &mut dyn FnMut(&Instance<'_>),
    ) -> Result<(), Fault> {
        item.kind.build(self, item.ix, f)
    }

    /// Builds association `item` from its two ends and hands it to `f` ([`Kind::build`]'s arm
    /// for every association).
    pub(crate) fn build_association(
        &self,
        item: Item,
        f: &mut dyn FnMut(&Instance<'_>),
    ) -> Result<(), Fault> {
        let ends = refs(&item).ok_or_else(|| internal("an item without a source"))?;
        let mut i = Instance::with_capacity(class_of(&item), 9);
        for (role, end) in &ends {
            i.set(role, Value::epr(self.epr(end)?));
        }
        // Associations without a value source leave their own properties (UseOfLog.RecordedData,
        // Container.LocationWithinContainer) NULL.
        item.kind.values(self, item.ix, &mut i);
        f(&i);
        Ok(())
    }

    /// Renders `item`, projected to `only` when given.
    pub(crate) fn render_item(
        &self,
        item: &Item,
        out: &mut XmlWriter,
        only: Option<&[String]>,
    ) -> Result<(), Fault> {
        let kept = &self.system.markups;
        self.with_instance(item, |i| render_kept(out, i, kept, only))
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
        let log = |kind: Kind| if kind.sel() { self.log() } else { None };
        for (k, &kind) in KINDS.iter().enumerate().skip(start_kind) {
            if !want(kind.class()) {
                continue;
            }
            let from = match (k == start_kind, log(kind)) {
                (false, _) => 0,
                (true, None) => start_index,
                (true, Some(l)) => l.resume_position(start_index as u16),
            };
            for i in from..counts.count(kind) {
                let Some(item) = counts.item(kind, i) else {
                    continue;
                };
                if f(&item)? {
                    let at = match log(kind) {
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
                let found = match item.numeric_sensor() {
                    Some(i) => self.with_numeric(i, |desc, _| {
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
                    cat(&["no ", class.name, " instance has these keys"]),
                )
            })?;
        Ok((class, item))
    }
}

/// An item that existed when the cursor or selectors were resolved but is gone now (the SEL was
/// cleared): to the client that is an instance that does not exist.
pub(crate) fn gone() -> Fault {
    selector_fault(
        FaultDetail::InvalidValue,
        String::from("the instance no longer exists"),
    )
}

/// One batch of an enumeration over the model, with the plan (kept from the Enumerate) and the
/// counts (worked out once per batch).
struct Walk<'m, 's> {
    model: &'m Model<'m>,
    spec: &'s EnumSpec,
    plan: &'s Plan,
    counts: Counts,
    /// The markup of the class rendered last: taken from the kept ones, given back at the end.
    markup: Option<ClassMarkup>,
}

impl ItemWalk for Walk<'_, '_> {
    fn next(
        &mut self,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
        epr: bool,
    ) -> Result<Option<Option<Epr>>, Fault> {
        let planned = (self.spec, self.plan);
        let Some((pos, result)) = filter::next_in(self.model, planned, &self.counts, *cursor)?
        else {
            return Ok(None);
        };
        if let Some(out) = object {
            let (only, cache) = (self.plan.projection(self.spec), &mut self.markup);
            let kept = &self.model.system.markups;
            self.model.with_instance(&result, |i| {
                let markup = match cache {
                    Some(m) if core::ptr::eq(m.class(), i.class) => m,
                    _ => {
                        if let Some(last) = cache.take() {
                            kept.give(last);
                        }
                        cache.insert(kept.take(i.class))
                    }
                };
                render_with(out, i, markup, only);
            })?;
        }
        let epr = if epr {
            Some(self.model.epr(&result)?)
        } else {
            None
        };
        *cursor = pos + 1;
        Ok(Some(epr))
    }
}

/// The batch's markup goes back to the kept ones for the next request.
impl Drop for Walk<'_, '_> {
    fn drop(&mut self) {
        if let Some(markup) = self.markup.take() {
            self.model.system.markups.give(markup);
        }
    }
}

/// The plan [`Provider::prepare`] kept for `spec`, or, when the context could not keep it
/// (the bare-metal image's context bytes hold a long query's text but not its parse tree),
/// one worked out again from the spec.
fn plan_for<'p>(
    spec: &EnumSpec,
    kept: &'p EnumPlan,
    built: &'p mut Option<Plan>,
) -> Result<&'p Plan, Fault> {
    match kept.get::<Plan>() {
        Some(p) => Ok(p),
        None => Ok(built.insert(Plan::new(spec)?)),
    }
}

impl Provider for Model<'_> {
    fn identity(&self) -> Identity {
        Identity {
            vendor: self.system.vendor.clone(),
            version: cat(&[&self.system.product, " ", &self.system.version]),
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

    /// The request is worked out here, once per enumeration (its class, namespace, parsed
    /// filter and projection), and every batch of it reuses the plan.
    fn prepare(&self, spec: &EnumSpec) -> Result<(Cursor, EnumPlan), Fault> {
        Ok((0, EnumPlan::new(Plan::new(spec)?)))
    }

    fn next_item(
        &self,
        spec: &EnumSpec,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault> {
        let plan = Plan::new(spec)?;
        let Some((pos, result)) = filter::next(self, (spec, &plan), *cursor)? else {
            return Ok(None);
        };
        if let Some(out) = object {
            self.render_item(&result, out, plan.projection(spec))?;
        }
        let epr = self.epr(&result)?;
        *cursor = pos + 1;
        Ok(Some(epr))
    }

    fn fill_batch(
        &self,
        spec: &EnumSpec,
        mode: EnumMode,
        cursor: &mut Cursor,
        lim: BatchLimits,
    ) -> Result<Batch, Fault> {
        let plan = EnumPlan::new(Plan::new(spec)?);
        self.fill_planned(spec, &plan, mode, cursor, lim)
    }

    /// The item counts are worked out once for the batch, not once per item as `next_item`
    /// must; the plan comes from the Enumerate.
    fn fill_planned(
        &self,
        spec: &EnumSpec,
        plan: &EnumPlan,
        mode: EnumMode,
        cursor: &mut Cursor,
        lim: BatchLimits,
    ) -> Result<Batch, Fault> {
        let mut built = None;
        let mut walk = Walk {
            model: self,
            spec,
            plan: plan_for(spec, plan, &mut built)?,
            counts: self.counts()?,
            markup: None,
        };
        fill_from(&mut walk, mode, cursor, lim)
    }

    fn count_estimate(&self, spec: &EnumSpec) -> Option<u64> {
        self.count_planned(spec, &EnumPlan::new(Plan::new(spec).ok()?))
    }

    fn count_planned(&self, spec: &EnumSpec, plan: &EnumPlan) -> Option<u64> {
        let mut built = None;
        let plan = plan_for(spec, plan, &mut built).ok()?;
        // No counts, no items: the count the per-item walk gave when it could not read them.
        let Ok(counts) = self.counts() else {
            return Some(0);
        };
        let mut cursor = 0;
        let mut n = 0u64;
        while let Ok(Some((pos, _))) = filter::next_in(self, (spec, plan), &counts, cursor) {
            n += 1;
            cursor = pos + 1;
        }
        Some(n)
    }

    fn put(
        &self,
        target: &Target<'_>,
        body: &Representation,
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        crate::write::put(self, target, body, out)
    }

    fn invoke(
        &self,
        target: &Target<'_>,
        method: &str,
        input: &[Property],
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        crate::method::invoke(self, target, method, input, out)
    }

    /// WS-Transfer Create: of a CIM_Account only (`crate::account`).
    #[cfg(feature = "accounts")]
    fn create(&self, target: &Target<'_>, body: &Representation) -> Result<Epr, Fault> {
        let class = resolve_class(target.resource_uri)?;
        Ns::parse(target.namespace)?.check_class(class)?;
        if !core::ptr::eq(class, &crate::account::CIM_ACCOUNT) {
            return Err(
                Fault::action_mismatch().message(cat(&["Create is not supported on ", class.name]))
            );
        }
        crate::account::create_resource(self, body)
    }

    /// WS-Transfer Delete: of a CIM_Account (`crate::account`) or a CIM_IndicationSubscription
    /// (`crate::subscription::delete`); any other class answers ActionNotSupported.
    #[cfg(any(feature = "accounts", feature = "subscriptions"))]
    fn delete(&self, target: &Target<'_>) -> Result<(), Fault> {
        let (_, item) = self.target(target)?;
        #[cfg(feature = "subscriptions")]
        if item.kind == Kind::Subscription {
            return crate::subscription::delete(self, &item);
        }
        #[cfg(feature = "accounts")]
        if item.kind == Kind::Account {
            return crate::account::delete(self, &item);
        }
        Err(Fault::action_mismatch().message(cat(&[
            "Delete is not supported on ",
            item.kind.class().name,
        ])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{PowerState, RequestOutcome};
    use crate::testutil::{cpu_temp, fan};
    use wsbmc_monitor::Thresholds;
    use wsbmc_wsman::{Filter, Limits, RequestMeta, Service};

    struct Board;
    impl Platform for Board {
        fn host_power(&self) -> PowerState {
            PowerState::On
        }
        fn request_power(&self, _: crate::platform::PowerTransition) -> RequestOutcome {
            RequestOutcome::Unsupported
        }
        fn persist_thresholds(&self, _: &str, _: &Thresholds) {}
    }

    const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
    const WSEN: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";

    fn envelope(action: &str, body: &str) -> String {
        cat(&[
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/"#,
            action,
            r#"</a:Action><a:MessageID>uuid:1</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_Sensor</w:ResourceURI><w:RequestTotalItemsCountEstimate/></s:Header><s:Body>"#,
            body,
            "</s:Body></s:Envelope>",
        ])
    }

    /// Issue 17, "parse once": an Enumerate with a WQL filter builds its plan (class, namespace,
    /// parsed query) once, and the Pulls that page through it (each with a count estimate)
    /// build none; the items are those the filter admits.
    #[test]
    fn pulls_reuse_the_plan_of_the_enumerate() {
        let cpu1 = SensorDesc {
            key: String::from("cpu1_temp"),
            name: String::from("CPU1 Temp"),
            number: 49,
            ..cpu_temp()
        };
        let monitor = RefCell::new(Monitor::new(alloc::vec![cpu_temp(), fan(), cpu1]));
        let system = SystemInfo::new("h");
        let model = Model::new(&monitor, &system, &Board);
        let mut svc = Service::new(Limits::default(), 7);
        let meta = RequestMeta {
            content_type: Some("application/soap+xml;charset=UTF-8"),
            user: Some("admin"),
            now_ms: 1,
            security_profiles: None,
        };
        let plans = || filter::tests::PLANS.with(|n| n.get());
        let filter = r#"<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT ElementName FROM CIM_NumericSensor WHERE ElementName &lt;&gt; 'FAN1'</w:Filter>"#;
        let start = plans();
        let reply = svc.handle(
            &model,
            &meta,
            envelope(
                "Enumerate",
                &cat(&["<n:Enumerate>", filter, "</n:Enumerate>"]),
            )
            .as_bytes(),
        );
        let mut text = String::from_utf8(reply.body).unwrap_or_default();
        assert_eq!(plans() - start, 1, "{text}");
        let mut names = Vec::new();
        for _ in 0..10 {
            let doc = roxmltree::Document::parse(&text).expect("well-formed");
            assert!(
                !doc.descendants().any(|n| n.has_tag_name((SOAP, "Fault"))),
                "{text}"
            );
            names.extend(
                doc.descendants()
                    .filter(|n| n.tag_name().name() == "ElementName")
                    .map(|n| String::from(n.text().unwrap_or(""))),
            );
            let Some(ctx) = doc
                .descendants()
                .find(|n| n.has_tag_name((WSEN, "EnumerationContext")))
                .and_then(|n| n.text())
            else {
                break;
            };
            let pull = cat(&[
                "<n:Pull><n:EnumerationContext>",
                ctx,
                "</n:EnumerationContext><n:MaxElements>1</n:MaxElements></n:Pull>",
            ]);
            let reply = svc.handle(&model, &meta, envelope("Pull", &pull).as_bytes());
            text = String::from_utf8(reply.body).unwrap_or_default();
        }
        assert_eq!(names, ["CPU0 Temp", "CPU1 Temp"], "one per Pull");
        assert_eq!(plans() - start, 1, "no Pull built a plan");
        // The per-item walk, by contrast, works the request out for every item it is asked for.
        let spec = EnumSpec {
            resource_uri: cat(&[ns::CIM_SCHEMA, "CIM_Sensor"]),
            namespace: None,
            filter: Filter::None,
        };
        let mut cursor = 0;
        while model
            .next_item(&spec, &mut cursor, None)
            .ok()
            .flatten()
            .is_some()
        {}
        assert!(plans() - start > 2);
    }
}
