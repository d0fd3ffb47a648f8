//! Power State Management (DSP1027): the power management service the BMC hosts, its
//! capabilities, and the power-state values of the association to the host. Also the value
//! maps both power methods share, so RequestStateChange and RequestPowerStateChange cannot
//! disagree about what a number means.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::model::SystemInfo;
use crate::platform::{PowerState, PowerTransition};
use crate::schema::{
    CIM_COMPUTER_SYSTEM, CIM_POWER_MANAGEMENT_CAPABILITIES, CIM_POWER_MANAGEMENT_SERVICE,
};
use crate::value::Instance;

pub const SERVICE_NAME: &str = "Power Management Service";
pub const CAPABILITIES_ID: &str = "wsbmc:PowerManagementCapabilities";

/// The DSP1027 PowerState values a transition answers to. Soft off is both 8 (Off - Soft) and
/// 12 (Off - Soft Graceful): IPMI's only soft off is the ACPI request, which is graceful.
pub const fn power_states(t: PowerTransition) -> &'static [u16] {
    match t {
        PowerTransition::On => &[2],
        PowerTransition::OffHard => &[6],
        PowerTransition::OffSoft => &[8, 12],
        PowerTransition::Cycle => &[9],
        PowerTransition::Reset => &[10],
        PowerTransition::DiagnosticInterrupt => &[11],
    }
}

/// How a RequestPowerStateChange value is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    Transition(PowerTransition),
    /// A value of the ValueMap this BMC cannot perform (sleep states, hibernate, ...).
    NotSupported,
    /// Not a value of the ValueMap at all.
    Invalid,
}

/// Decodes RequestPowerStateChange's PowerState (cim.md §4.2).
pub const fn from_power_state(v: u16) -> Requested {
    match v {
        2 => Requested::Transition(PowerTransition::On),
        6 => Requested::Transition(PowerTransition::OffHard),
        8 | 12 => Requested::Transition(PowerTransition::OffSoft),
        9 => Requested::Transition(PowerTransition::Cycle),
        10 => Requested::Transition(PowerTransition::Reset),
        11 => Requested::Transition(PowerTransition::DiagnosticInterrupt),
        1 | 3..=5 | 7 | 13..=16 => Requested::NotSupported,
        _ => Requested::Invalid,
    }
}

/// Decodes CIM_ComputerSystem.RequestStateChange's RequestedState (cim.md §4.1: 2 on, 3 off,
/// 4 shut down, 10 reboot, 11 reset). 5 (No Change) is handled by the caller.
pub const fn from_requested_state(v: u16) -> Requested {
    match v {
        2 => Requested::Transition(PowerTransition::On),
        3 => Requested::Transition(PowerTransition::OffHard),
        4 => Requested::Transition(PowerTransition::OffSoft),
        10 => Requested::Transition(PowerTransition::Cycle),
        11 => Requested::Transition(PowerTransition::Reset),
        6..=9 => Requested::NotSupported,
        _ => Requested::Invalid,
    }
}

/// DSP1027 PowerState of the host: 2 On, 8 Off - Soft (what IPMI's power bit can tell), 0
/// Unknown.
pub const fn power_state(s: PowerState) -> u16 {
    match s {
        PowerState::On => 2,
        PowerState::Off => 8,
        PowerState::Unknown => 0,
    }
}

/// Every PowerState value the offered transitions answer to, ascending.
pub fn supported_states(offered: &[PowerTransition]) -> Vec<u16> {
    available_states(PowerState::Unknown, offered)
}

/// The states a console may request now: from off only power-on makes sense, from on
/// everything but power-on; when the state is unknown, everything offered. Ascending and each
/// once, by way of a bit per state (every PowerState value is below 16): no sort, no dedup.
pub fn available_states(state: PowerState, offered: &[PowerTransition]) -> Vec<u16> {
    let mut mask = 0u32;
    for &t in offered {
        let now = match state {
            PowerState::On => t != PowerTransition::On,
            PowerState::Off => t == PowerTransition::On,
            PowerState::Unknown => true,
        };
        if now {
            for &s in power_states(t) {
                mask |= 1 << s;
            }
        }
    }
    // Pushed in a loop: a collect linked Vec's from-iterator code for this one iterator.
    let mut states = Vec::new();
    for s in 0..16u16 {
        if mask & (1 << s) != 0 {
            states.push(s);
        }
    }
    states
}

/// Out of line: the key builder and the instance builder both call it, and inlined twice it
/// cost the bare-metal image more flash than the call does.
#[inline(never)]
pub fn service_keys(system: &SystemInfo) -> [(&'static str, Cow<'_, str>); 4] {
    [
        (
            "CreationClassName",
            Cow::Borrowed(CIM_POWER_MANAGEMENT_SERVICE.name),
        ),
        ("Name", Cow::Borrowed(SERVICE_NAME)),
        (
            "SystemCreationClassName",
            Cow::Borrowed(CIM_COMPUTER_SYSTEM.name),
        ),
        ("SystemName", Cow::Borrowed(system.bmc_name.as_str())),
    ]
}

pub fn service_instance<'a>(system: &'a SystemInfo, offered: &[PowerTransition]) -> Instance<'a> {
    // 2 Enabled when there is something to switch, 5 Not Applicable on a board without power
    // control.
    let enabled = if offered.is_empty() { 5 } else { 2 };
    let mut i = Instance::with_capacity(&CIM_POWER_MANAGEMENT_SERVICE, 24);
    i.set_keys(&mut service_keys(system));
    i.set_str("Caption", SERVICE_NAME);
    i.set_str("Description", "Switches the managed host's power");
    i.set_str("ElementName", SERVICE_NAME);
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", enabled);
    i.set_u16("HealthState", 5);
    i.set_u16s("OperationalStatus", &[2]);
    i.set_u16("RequestedState", 12);
    i.set_bool("Started", true);
    i.set_str("StartMode", "Automatic");
    i.set_str("Status", "OK");
    i.set_empty("StatusDescriptions");
    i
}

pub fn capabilities_instance(offered: &[PowerTransition]) -> Instance<'static> {
    // 3 Power State Settable, 4 Power Cycling Supported, 6 Off Hard Power Cycling Supported,
    // 7 HW Reset Supported, 8 Graceful Shutdown Supported.
    let mut change = Vec::new();
    if !offered.is_empty() {
        change.push(3);
    }
    if offered.contains(&PowerTransition::Cycle) {
        change.extend([4, 6]);
    }
    if offered.contains(&PowerTransition::Reset) {
        change.push(7);
    }
    if offered.contains(&PowerTransition::OffSoft) {
        change.push(8);
    }
    let states = supported_states(offered);
    let mut i = Instance::with_capacity(&CIM_POWER_MANAGEMENT_CAPABILITIES, 8);
    i.set_str("InstanceID", CAPABILITIES_ID);
    i.set_str("Caption", "Power Management Capabilities");
    i.set_str("Description", "The host power changes this BMC can make");
    i.set_str("ElementName", "Power Management Capabilities");
    // OtherPowerChangeCapabilities is left NULL (unset renders as NULL).
    i.set_u16s("PowerChangeCapabilities", &change);
    i.set_u16s("PowerStatesSupported", &states);
    i.set_u16s("RequestedPowerStatesSupported", &states);
    i
}

/// The DSP1027 properties of CIM_AssociatedPowerManagementService.
pub fn association_values(
    i: &mut Instance<'_>,
    state: PowerState,
    in_progress: Option<PowerTransition>,
    offered: &[PowerTransition],
) {
    let now = power_state(state);
    // OtherPowerState, OtherRequestedPowerState and PowerOnTime are left NULL (unset renders
    // as NULL).
    i.set_u16("PowerState", now);
    // The last request while it is being carried out; otherwise the state the host is in, which
    // is what the last request (or power-on default) asked for.
    let requested = in_progress.map_or(now, |t| power_states(t)[0]);
    i.set_u16("RequestedPowerState", requested);
    // 19 No Change when nothing is under way.
    let transitioning = in_progress.map_or(19, |t| power_states(t)[0]);
    i.set_u16("TransitioningToPowerState", transitioning);
    i.set_u16s(
        "AvailableRequestedPowerStates",
        &available_states(state, offered),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::PowerTransition as T;
    use crate::value::Value;

    #[test]
    fn the_two_method_value_maps() {
        assert_eq!(from_power_state(2), Requested::Transition(T::On));
        assert_eq!(from_power_state(12), Requested::Transition(T::OffSoft));
        assert_eq!(from_power_state(7), Requested::NotSupported);
        assert_eq!(from_power_state(0), Requested::Invalid);
        assert_eq!(from_power_state(17), Requested::Invalid);
        assert_eq!(from_requested_state(11), Requested::Transition(T::Reset));
        assert_eq!(from_requested_state(10), Requested::Transition(T::Cycle));
        assert_eq!(from_requested_state(6), Requested::NotSupported);
        assert_eq!(from_requested_state(12), Requested::Invalid);
        // Every transition's first PowerState decodes back to it.
        for t in T::ALL {
            // available_states keeps them as bits of a u32 and reads back the first 16.
            assert!(power_states(t).iter().all(|s| *s < 16), "{t:?}");
            assert_eq!(
                from_power_state(power_states(t)[0]),
                Requested::Transition(t)
            );
        }
    }

    #[test]
    fn available_states_follow_the_current_state() {
        let all = T::ALL;
        assert_eq!(available_states(PowerState::Off, &all), [2]);
        assert_eq!(
            available_states(PowerState::On, &all),
            [6, 8, 9, 10, 11, 12]
        );
        assert_eq!(
            available_states(PowerState::Unknown, &all),
            [2, 6, 8, 9, 10, 11, 12]
        );
        assert!(available_states(PowerState::On, &[]).is_empty());
    }

    #[test]
    fn instances_are_in_render_order() {
        let system = SystemInfo::new("h");
        assert!(service_instance(&system, &T::ALL).in_render_order());
        assert!(service_instance(&system, &[]).in_render_order());
        assert!(capabilities_instance(&T::ALL).in_render_order());
    }

    #[test]
    fn capabilities_follow_the_offered_transitions() {
        let i = capabilities_instance(&[T::On, T::OffSoft, T::Reset]);
        assert_eq!(
            i.get("PowerChangeCapabilities"),
            Some(&Value::u16s([3, 7, 8]))
        );
        assert_eq!(
            i.get("PowerStatesSupported"),
            Some(&Value::u16s([2, 8, 10, 12]))
        );
        let none = capabilities_instance(&[]);
        assert_eq!(
            none.get("PowerChangeCapabilities"),
            Some(&Value::empty_array())
        );
    }
}
