//! The CIM_ComputerSystem value source for the managed host: the system every sensor's
//! SystemName points at, so that a console following a sensor's scoping keys finds an instance.

use alloc::borrow::Cow;

use crate::model::SystemInfo;
use crate::schema::CIM_COMPUTER_SYSTEM;
use crate::sensor::Condition;
use crate::value::{Instance, Value};
use wsbmc_monitor::SensorState;

/// The host's two key values, alphabetical like the class's key list.
pub fn keys(system: &SystemInfo) -> [(&'static str, Cow<'_, str>); 2] {
    [
        ("CreationClassName", Cow::Borrowed(CIM_COMPUTER_SYSTEM.name)),
        ("Name", Cow::Borrowed(system.system_name.as_str())),
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

pub fn instance<'a>(system: &'a SystemInfo, health: u16) -> Instance<'a> {
    let (operational, status) = match health {
        0 => (0, "Unknown"),
        5 => (2, "OK"),
        10 => (3, "Degraded"),
        30 => (7, "NonRecover"),
        _ => (6, "Error"),
    };
    let mut i = Instance::with_capacity(&CIM_COMPUTER_SYSTEM, 32);
    let [ccn, name] = keys(system);
    i.set(ccn.0, Value::Str(ccn.1));
    i.set(name.0, Value::Str(name.1));
    i.set("Caption", Value::str(&system.element_name));
    i.set("Description", Value::str("Managed host computer system"));
    i.set("ElementName", Value::str(&system.element_name));
    i.set(
        "NameFormat",
        system
            .name_format
            .as_deref()
            .map_or(Value::Null, Value::str),
    );
    i.set("HealthState", Value::U16(health));
    i.set("OperationalStatus", Value::u16s([operational]));
    i.set("Status", Value::str(status));
    i.set("StatusDescriptions", Value::empty_array());
    // Host power state comes with power control; until then the model does not know it.
    i.set("EnabledState", Value::U16(0));
    i.set("RequestedState", Value::U16(12));
    i.set("EnabledDefault", Value::U16(2));
    i.set("Dedicated", Value::u16s([0]));
    i.set("Roles", Value::empty_array());
    i.set("OtherDedicatedDescriptions", Value::empty_array());
    i.set("OtherIdentifyingInfo", Value::empty_array());
    i.set("IdentifyingDescriptions", Value::empty_array());
    i.set("PowerManagementCapabilities", Value::empty_array());
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::state;
    use wsbmc_monitor::{NoData, Reading, Threshold};

    #[test]
    fn every_property_has_exactly_one_conforming_value() {
        let system = SystemInfo::new("h");
        let i = instance(&system, 5);
        for p in CIM_COMPUTER_SYSTEM.properties() {
            let n = i.values.iter().filter(|(name, _)| *name == p.name).count();
            assert!(n <= 1, "{}", p.name);
            assert!(i.get(p.name).is_none_or(|v| v.conforms(p)), "{}", p.name);
        }
        for (name, _) in &i.values {
            assert!(CIM_COMPUTER_SYSTEM.property(name).is_some(), "{name}");
        }
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
