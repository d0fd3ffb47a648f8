//! The systems: the managed host (the system every sensor's SystemName points at), the BMC
//! itself, and the Windows provider's admin domain and sensor collection that group them.

use alloc::borrow::Cow;
use wsbmc_wsman::text::cat;

use wsbmc_monitor::SensorState;

use crate::model::SystemInfo;
use crate::platform::{PowerState, PowerTransition};
use crate::schema::{CIM_ADMIN_DOMAIN, CIM_COMPUTER_SYSTEM, CIM_SYSTEM_SPECIFIC_COLLECTION};
use crate::sensor::Condition;
use crate::value::{Instance, Value};

/// Name of the admin domain. The Windows provider has one domain per BMC; there is nothing to
/// tell domains apart by on one endpoint, so the name is fixed.
pub const DOMAIN_NAME: &str = "IPMI";
/// InstanceID of the collection of every sensor (the Windows provider's "one
/// SystemSpecificCollection per BMC").
pub const SENSOR_COLLECTION_ID: &str = "wsbmc:Sensors";

/// The host's two key values, alphabetical like the class's key list.
pub fn keys(system: &SystemInfo) -> [(&'static str, Cow<'_, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_COMPUTER_SYSTEM.name)),
        ("Name", Cow::Borrowed(system.system_name.as_str())),
    ]
}

pub fn bmc_keys(system: &SystemInfo) -> [(&'static str, Cow<'_, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_COMPUTER_SYSTEM.name)),
        ("Name", Cow::Borrowed(system.bmc_name.as_str())),
    ]
}

/// Out of line: the key builder and the instance builder both call it, and inlined twice it
/// cost the bare-metal image more flash than the call does.
#[inline(never)]
pub fn domain_keys() -> [(&'static str, Cow<'static, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_ADMIN_DOMAIN.name)),
        ("Name", Cow::Borrowed(DOMAIN_NAME)),
    ]
}

/// The worst sensor health (DSP1004: system health rolls up its devices). Unknown (0) sensors do
/// not make the system unknown as long as some sensor reads; no readable sensor at all does.
pub fn rolled_up_health<'s>(states: impl IntoIterator<Item = &'s SensorState>) -> u16 {
    states
        .into_iter()
        .map(|s| Condition::of(s).view().health_state)
        .max()
        .unwrap_or(0)
}

/// OperationalStatus and Status that go with a HealthState, so the three never disagree.
pub const fn status_of_health(health: u16) -> (u16, &'static str) {
    match health {
        0 => (0, "Unknown"),
        5 => (2, "OK"),
        10 => (3, "Degraded"),
        30 => (7, "NonRecover"),
        _ => (6, "Error"),
    }
}

/// CIM_EnabledLogicalElement.EnabledState of the host: 2 Enabled (on), 3 Disabled (off).
pub const fn enabled_state(power: PowerState) -> u16 {
    match power {
        PowerState::On => 2,
        PowerState::Off => 3,
        PowerState::Unknown => 0,
    }
}

/// The RequestStateChange value a power transition corresponds to (cim.md §4.1): the inverse of
/// what `RequestStateChange` accepts, so RequestedState shows the request in flight.
pub const fn requested_state(t: PowerTransition) -> u16 {
    match t {
        PowerTransition::On => 2,
        PowerTransition::OffHard => 3,
        PowerTransition::OffSoft => 4,
        PowerTransition::Cycle => 10,
        PowerTransition::Reset => 11,
        // No RequestedState means "interrupt"; Other is the honest answer.
        PowerTransition::DiagnosticInterrupt => 1,
    }
}

/// What the host system shows of power control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPower<'p> {
    pub state: PowerState,
    pub in_progress: Option<PowerTransition>,
    pub offered: &'p [PowerTransition],
}

pub fn instance<'a>(system: &'a SystemInfo, health: u16, power: HostPower<'_>) -> Instance<'a> {
    let (operational, status) = status_of_health(health);
    // DSP1052: 5 No Change when nothing is pending, 12 Not Applicable when the system cannot
    // change state at all.
    let requested = match power.in_progress {
        Some(t) => requested_state(t),
        None if power.offered.is_empty() => 12,
        None => 5,
    };
    // 4 Enabled / 5 Not Implemented: whether a console can hard-reset the host.
    let reset = power.offered.contains(&PowerTransition::Reset);
    let mut i = Instance::with_capacity(&CIM_COMPUTER_SYSTEM, 32);
    i.set_keys(&mut keys(system));
    i.set_str("Caption", &system.element_name);
    i.set_u16s("Dedicated", &[0]);
    i.set_str("Description", "Managed host computer system");
    i.set_str("ElementName", &system.element_name);
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", enabled_state(power.state));
    i.set_u16("HealthState", health);
    i.set_empty("IdentifyingDescriptions");
    i.set("NameFormat", Value::opt_str(system.name_format.as_deref()));
    i.set_u16s("OperationalStatus", &[operational]);
    i.set_empty("OtherDedicatedDescriptions");
    i.set_empty("OtherIdentifyingInfo");
    i.set_empty("PowerManagementCapabilities");
    i.set_u16("RequestedState", requested);
    i.set_u16("ResetCapability", if reset { 4 } else { 5 });
    i.set_empty("Roles");
    i.set_str("Status", status);
    i.set_empty("StatusDescriptions");
    i
}

/// The BMC's own system (DSP1018 Service Processor): Dedicated 28 Management Controller.
pub fn bmc_instance(system: &SystemInfo) -> Instance<'_> {
    let mut i = Instance::with_capacity(&CIM_COMPUTER_SYSTEM, 32);
    i.set_keys(&mut bmc_keys(system));
    i.set_str("Caption", "BMC");
    i.set_u16s("Dedicated", &[28]);
    i.set_str(
        "Description",
        "Baseboard management controller of the managed host",
    );
    i.set_str("ElementName", "BMC");
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", 2);
    // The BMC answering this request is by definition up.
    i.set_u16("HealthState", 5);
    i.set_strs("IdentifyingDescriptions", &["Firmware Version"]);
    i.set_str("NameFormat", "Other");
    i.set_u16s("OperationalStatus", &[2]);
    i.set_empty("OtherDedicatedDescriptions");
    i.set(
        "OtherIdentifyingInfo",
        Value::Array(alloc::vec![Value::string(cat(&[
            &system.product,
            " ",
            &system.version
        ]))]),
    );
    i.set_empty("PowerManagementCapabilities");
    i.set_u16("RequestedState", 12);
    i.set_u16("ResetCapability", 5);
    i.set_empty("Roles");
    i.set_str("Status", "OK");
    i.set_empty("StatusDescriptions");
    i
}

/// The Windows provider's AdminDomain, grouping the host and the BMC.
pub fn domain_instance(health: u16) -> Instance<'static> {
    let (operational, status) = status_of_health(health);
    let mut i = Instance::with_capacity(&CIM_ADMIN_DOMAIN, 24);
    i.set_keys(&mut domain_keys());
    i.set_str("Caption", "IPMI management domain");
    i.set_str("Description", "The systems managed through this BMC");
    i.set_str("ElementName", "IPMI management domain");
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", 5);
    i.set_u16("HealthState", health);
    i.set_str("NameFormat", "Other");
    i.set_u16s("OperationalStatus", &[operational]);
    i.set_u16("RequestedState", 12);
    i.set_empty("Roles");
    i.set_str("Status", status);
    i.set_empty("StatusDescriptions");
    i
}

pub fn collection_instance() -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_SYSTEM_SPECIFIC_COLLECTION, 4);
    i.set_str("InstanceID", SENSOR_COLLECTION_ID);
    i.set_str("Caption", "Sensors");
    i.set_str("Description", "Every sensor of the BMC");
    i.set_str("ElementName", "Sensors");
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ClassDef;
    use crate::testutil::state;
    use wsbmc_monitor::{NoData, Reading, Threshold};

    fn conforms(i: &Instance<'_>, class: &ClassDef) {
        for p in class.properties() {
            let n = i.values.iter().filter(|(name, _)| *name == p.name).count();
            assert!(n <= 1, "{}", p.name);
            assert!(i.get(p.name).is_none_or(|v| v.conforms(p)), "{}", p.name);
        }
        for (name, _) in &i.values {
            assert!(class.property(name).is_some(), "{name}");
        }
        for key in class.keys {
            assert!(i.get(key).is_some(), "{key}");
        }
        // In render order, so the renderer's sort is one pass (issue 17).
        assert!(i.in_render_order(), "{}", class.name);
    }

    const ON: HostPower<'static> = HostPower {
        state: PowerState::On,
        in_progress: None,
        offered: &[],
    };

    #[test]
    fn every_property_has_at_most_one_conforming_value() {
        let system = SystemInfo::new("h");
        conforms(&instance(&system, 5, ON), &CIM_COMPUTER_SYSTEM);
        conforms(&bmc_instance(&system), &CIM_COMPUTER_SYSTEM);
        conforms(&domain_instance(5), &CIM_ADMIN_DOMAIN);
        conforms(&collection_instance(), &CIM_SYSTEM_SPECIFIC_COLLECTION);
    }

    #[test]
    fn host_and_bmc_have_different_names() {
        let system = SystemInfo::new("h");
        assert_ne!(keys(&system)[1].1, bmc_keys(&system)[1].1);
        assert_eq!(
            bmc_instance(&system).get("Dedicated"),
            Some(&Value::u16s([28]))
        );
    }

    #[test]
    fn power_shows_in_the_state_properties() {
        let system = SystemInfo::new("h");
        let get = |p: HostPower<'_>, name: &str| instance(&system, 5, p).get(name).cloned();
        assert_eq!(get(ON, "EnabledState"), Some(Value::U16(2)));
        assert_eq!(get(ON, "RequestedState"), Some(Value::U16(12)));
        assert_eq!(get(ON, "ResetCapability"), Some(Value::U16(5)));
        let off = HostPower {
            state: PowerState::Off,
            in_progress: Some(PowerTransition::On),
            offered: &[PowerTransition::On, PowerTransition::Reset],
        };
        assert_eq!(get(off, "EnabledState"), Some(Value::U16(3)));
        assert_eq!(get(off, "RequestedState"), Some(Value::U16(2)));
        assert_eq!(get(off, "ResetCapability"), Some(Value::U16(4)));
        let idle = HostPower {
            in_progress: None,
            ..off
        };
        assert_eq!(get(idle, "RequestedState"), Some(Value::U16(5)));
        let unknown = HostPower {
            state: PowerState::Unknown,
            ..ON
        };
        assert_eq!(get(unknown, "EnabledState"), Some(Value::U16(0)));
    }

    #[test]
    fn health_is_the_worst_sensor() {
        let ok = state(Reading::Value(1), 0);
        let off = state(Reading::NoData(NoData::HostOff), 0);
        let lost = state(Reading::NoData(NoData::BusError), 0);
        let crit = state(Reading::Value(1), Threshold::UpperCritical.bit());
        assert_eq!(rolled_up_health([&ok, &off]), 5);
        assert_eq!(rolled_up_health([&ok, &lost]), 5);
        assert_eq!(rolled_up_health([&lost]), 0);
        assert_eq!(rolled_up_health([&ok, &crit, &off]), 25);
        assert_eq!(rolled_up_health([]), 0);
    }
}
