//! The CIM_NumericSensor value source: one board sensor and its cached state as CIM values
//! (`reference/cim.md` §2.1, §2.5).

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use wsbmc_wsman::text::{Dec, Hex, cat};

use wsbmc_ipmi::{EntityId, SensorType, SensorTypeMode, Unit};
use wsbmc_monitor::{
    DiscreteDesc, DiscreteReading, NoData, Reading, SensorDesc, SensorState, Threshold,
};

use crate::host::status_of_health;
use crate::platform::DiscreteSensorView;
use crate::schema::{CIM_NUMERIC_SENSOR, CIM_SENSOR, ClassDef};
use crate::value::{Instance, Value};

/// The class of the scoping system every sensor names in its keys.
pub const SYSTEM_CREATION_CLASS_NAME: &str = "CIM_ComputerSystem";

/// The Windows-style DeviceID `NAME(number.lun.owner)`, decimal. It is a pure function of board
/// data, so an EPR stays valid across restarts and a Get needs no prior enumeration.
pub fn device_id(desc: &SensorDesc) -> String {
    device_id_of(&desc.name, desc.number, desc.lun, desc.owner)
}

/// The DeviceID of any sensor, numeric or discrete, from its IPMI identity.
pub fn device_id_of(name: &str, number: u8, lun: u8, owner: u8) -> String {
    cat(&[
        name,
        "(",
        Dec::new(number).as_str(),
        ".",
        Dec::new(lun).as_str(),
        ".",
        Dec::new(owner).as_str(),
        ")",
    ])
}

/// The CurrentState text of a threshold condition, as CIM_Sensor's description spells it.
pub const fn state_name(t: Threshold) -> &'static str {
    match t {
        Threshold::LowerNonCritical => "Lower Non-Critical",
        Threshold::UpperNonCritical => "Upper Non-Critical",
        Threshold::LowerCritical => "Lower Critical",
        Threshold::UpperCritical => "Upper Critical",
        Threshold::LowerFatal => "Lower Fatal",
        Threshold::UpperFatal => "Upper Fatal",
    }
}

/// What a sensor's status properties are derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Normal,
    /// The most severe asserted threshold.
    Threshold(Threshold),
    NoData(NoData),
}

/// Severity order for "most severe wins"; upper before lower at equal severity only so that the
/// choice is deterministic (both cannot be asserted by one physical reading).
const BY_SEVERITY: [Threshold; 6] = [
    Threshold::UpperFatal,
    Threshold::LowerFatal,
    Threshold::UpperCritical,
    Threshold::LowerCritical,
    Threshold::UpperNonCritical,
    Threshold::LowerNonCritical,
];

impl Condition {
    /// Uses the poller's asserted bits rather than re-comparing the reading, so the CIM state
    /// agrees with the hysteresis the threshold engine applied.
    pub fn of(state: &SensorState) -> Self {
        match state.reading {
            Reading::NoData(reason) => Condition::NoData(reason),
            Reading::Value(_) => BY_SEVERITY
                .iter()
                .find(|t| state.asserted & t.bit() != 0)
                .map_or(Condition::Normal, |t| Condition::Threshold(*t)),
        }
    }
}

/// The status properties that all follow from one [`Condition`].
///
/// One table, so CurrentState, HealthState, OperationalStatus, Status and StatusDescriptions can
/// never disagree with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusView {
    pub current_state: &'static str,
    pub health_state: u16,
    pub operational_status: u16,
    /// The deprecated CIM_ManagedSystemElement.Status; still read by older consoles.
    pub status: &'static str,
    pub description: &'static str,
    /// The deprecated CIM_LogicalDevice.Availability.
    pub availability: u16,
}

const fn view(
    current_state: &'static str,
    health_state: u16,
    operational_status: u16,
    status: &'static str,
    description: &'static str,
    availability: u16,
) -> StatusView {
    StatusView {
        current_state,
        health_state,
        operational_status,
        status,
        description,
        availability,
    }
}

/// HealthState values (CIM_ManagedSystemElement).
const UNKNOWN: u16 = 0;
const OK: u16 = 5;
const DEGRADED: u16 = 10;
const CRITICAL: u16 = 25;
const NON_RECOVERABLE: u16 = 30;

impl Condition {
    /// The status properties for this condition (cim.md §2.5).
    ///
    /// Threshold states follow the §2.5 table: non-critical → Degraded (10, [3]), critical →
    /// Critical failure (25, [6 Error]), fatal → Non-recoverable (30, [7]).
    ///
    /// No-data reasons all read CurrentState "Unknown" (there is no reading to classify, and
    /// CurrentState must stay within PossibleStates, which consoles read as the standard set) and
    /// differ in OperationalStatus, which is where CIM says *why*: not read yet → [8 Starting];
    /// device absent → [12 No Contact]; bus error or timeout → [13 Lost Communication]; garbage
    /// data → [0 Unknown]. Their HealthState is 0 Unknown: the BMC cannot vouch for the sensor.
    ///
    /// Host off is the exception and deliberately quiet: a host-powered sensor that cannot read
    /// while the operator has the host off is working as designed. It reports HealthState 5 OK
    /// and OperationalStatus [15 Dormant] ("inactive or quiesced"), with Availability 7 Power
    /// Off, so that consoles which roll sensor health up to the system (our own CIM_ComputerSystem
    /// does) do not raise an alarm for every host sensor whenever the host is switched off.
    /// Dormant rather than [10 Stopped], because Stopped describes the element itself having been
    /// stopped, and the sensor has not been.
    pub const fn view(self) -> StatusView {
        match self {
            Condition::Normal => view(
                "Normal",
                OK,
                2,
                "OK",
                "Reading is within the normal range",
                3,
            ),
            Condition::Threshold(t) => match t {
                Threshold::LowerNonCritical => view(
                    state_name(t),
                    DEGRADED,
                    3,
                    "Degraded",
                    "Reading is at or below the lower non-critical threshold",
                    3,
                ),
                Threshold::UpperNonCritical => view(
                    state_name(t),
                    DEGRADED,
                    3,
                    "Degraded",
                    "Reading is at or above the upper non-critical threshold",
                    3,
                ),
                Threshold::LowerCritical => view(
                    state_name(t),
                    CRITICAL,
                    6,
                    "Error",
                    "Reading is at or below the lower critical threshold",
                    3,
                ),
                Threshold::UpperCritical => view(
                    state_name(t),
                    CRITICAL,
                    6,
                    "Error",
                    "Reading is at or above the upper critical threshold",
                    3,
                ),
                Threshold::LowerFatal => view(
                    state_name(t),
                    NON_RECOVERABLE,
                    7,
                    "NonRecover",
                    "Reading is at or below the lower fatal threshold",
                    3,
                ),
                Threshold::UpperFatal => view(
                    state_name(t),
                    NON_RECOVERABLE,
                    7,
                    "NonRecover",
                    "Reading is at or above the upper fatal threshold",
                    3,
                ),
            },
            Condition::NoData(reason) => match reason {
                NoData::Initializing => view(
                    "Unknown",
                    UNKNOWN,
                    8,
                    "Starting",
                    "Sensor has not been read yet",
                    2,
                ),
                NoData::NotPresent => view(
                    "Unknown",
                    UNKNOWN,
                    12,
                    "No Contact",
                    "Sensor device does not respond",
                    11,
                ),
                NoData::BusError => view(
                    "Unknown",
                    UNKNOWN,
                    13,
                    "Lost Comm",
                    "Bus error while reading the sensor device",
                    2,
                ),
                NoData::Timeout => view(
                    "Unknown",
                    UNKNOWN,
                    13,
                    "Lost Comm",
                    "Timed out reading the sensor device",
                    2,
                ),
                NoData::Unavailable => view(
                    "Unknown",
                    UNKNOWN,
                    0,
                    "Unknown",
                    "Sensor device returned data that is not a reading",
                    2,
                ),
                NoData::HostOff => view(
                    "Unknown",
                    OK,
                    15,
                    "Stopped",
                    "Sensor reads only while the host is powered on",
                    7,
                ),
            },
        }
    }
}

/// SupportedThresholds (and the other threshold arrays) from a mask of [`Threshold::bit`]s,
/// in CIM ValueMap order.
fn threshold_list(mask: u8) -> Value<'static> {
    // Through a slice, so that `Value::u16s` has the one instantiation `set_u16s` has.
    let mut list = [0u16; Threshold::ALL.len()];
    let mut n = 0;
    for t in Threshold::ALL {
        if mask & t.bit() != 0 {
            list[n] = t as u16;
            n += 1;
        }
    }
    Value::u16s(list[..n].iter().copied())
}

/// The four key values of a sensor, alphabetical like the class's key list.
pub fn keys<'a>(desc: &'a SensorDesc, system_name: &'a str) -> [(&'static str, Cow<'a, str>); 4] {
    device_keys(&CIM_NUMERIC_SENSOR, device_id(desc), system_name)
}

/// Text for "no state asserted", as the Windows provider shows it; also in PossibleStates so
/// CurrentState always is one of them.
const NO_STATE: &str = "Deasserted";

/// A discrete sensor's CIM view: PossibleStates are the names of its readable offsets,
/// CurrentState the asserted ones joined with `.,` (as the Windows provider does), HealthState
/// the most severe asserted offset's. No reading shows as Unknown, except a host-powered sensor
/// with the host off, which is quiet (OK), as numeric sensors are.
pub fn discrete_view(desc: &DiscreteDesc, reading: &DiscreteReading) -> DiscreteSensorView {
    use wsbmc_ipmi::discrete::{Severity, offset_info};
    let name = |offset: u8| {
        offset_info(desc.sensor_type, desc.reading_type, offset).map(|i| (i.text, i.severity))
    };
    let bits = |mask: u16| (0..15u8).filter(move |b| mask & (1 << b) != 0);
    // Pushed in a loop: collecting the filtered names brought its own copy of Vec's
    // from-iterator code into the image (200 B).
    let mut possible: Vec<String> = Vec::new();
    for (t, _) in bits(desc.readable).filter_map(name) {
        possible.push(String::from(t));
    }
    possible.push(String::from(NO_STATE));
    let (current_state, health_state) = match reading {
        DiscreteReading::States(s) => {
            // Written straight into the one String: no list of the asserted names to join.
            let mut text = String::new();
            let mut worst = Severity::Ok;
            for (at, (t, severity)) in bits(*s).filter_map(name).enumerate() {
                if at > 0 {
                    text.push_str(".,");
                }
                text.push_str(t);
                worst = worst.max(severity);
            }
            if text.is_empty() {
                text.push_str(NO_STATE);
            }
            (Some(text), worst.health_state())
        }
        DiscreteReading::NoData(NoData::HostOff) => (None, 5),
        DiscreteReading::NoData(_) => (None, 0),
    };
    DiscreteSensorView {
        name: desc.name.clone(),
        number: desc.number,
        owner: desc.owner,
        lun: desc.lun,
        entity_id: desc.entity_id,
        entity_instance: desc.entity_instance,
        sensor_type: desc.sensor_type,
        possible_states: possible,
        current_state,
        health_state,
        poll_ms: desc.poll_ms,
    }
}

/// The keys of a discrete sensor.
pub fn discrete_keys<'a>(
    view: &DiscreteSensorView,
    system_name: &'a str,
) -> [(&'static str, Cow<'a, str>); 4] {
    device_keys(
        &CIM_SENSOR,
        device_id_of(&view.name, view.number, view.lun, view.owner),
        system_name,
    )
}

/// Out of line: the four keys' array was built again at each of its three callers.
#[inline(never)]
pub(crate) fn device_keys<'a>(
    class: &'static ClassDef,
    device_id: String,
    system_name: &'a str,
) -> [(&'static str, Cow<'a, str>); 4] {
    [
        ("CreationClassName", Cow::Borrowed(class.name)),
        ("DeviceID", Cow::Owned(device_id)),
        (
            "SystemCreationClassName",
            Cow::Borrowed(SYSTEM_CREATION_CLASS_NAME),
        ),
        ("SystemName", Cow::Borrowed(system_name)),
    ]
}

/// The CIM_NumericSensor properties [`instance`] leaves NULL (unset: the renderer writes
/// `xsi:nil` for them, and filters and Put read an unset property as NULL). Data, not one
/// `set_null` call each: ~20 B of the bare-metal image's flash per property. Resolution,
/// Tolerance and Accuracy are not known: the driver's step is not part of the board file, and
/// a guess of one count would claim a precision the part may not have. The unit tests check
/// that the builder sets every other property.
#[cfg(test)]
pub(crate) const NUMERIC_NULL: [&str; NUMERIC_NULL_COUNT] = [
    "Accuracy",
    "ErrorCleared",
    "ErrorDescription",
    "InstallDate",
    "LastErrorCode",
    "MaxQuiesceTime",
    "NormalMax",
    "NormalMin",
    "OtherEnabledState",
    "PowerOnHours",
    "Resolution",
    "StatusInfo",
    "TimeOfLastStateChange",
    "Tolerance",
    "TotalPowerOnHours",
];

const NUMERIC_NULL_COUNT: usize = 15;

/// "<DeviceID>:<text><joint><entity> <instance>", the Windows-style Description (cim.md §1.6)
/// that consoles such as MetricsHub split on ':' and " for ". One body for the numeric and the
/// discrete builder.
#[inline(never)]
fn describe(id: &str, text: &str, joint: &str, entity_id: u8, entity_instance: u8) -> String {
    cat(&[
        id,
        ":",
        text,
        joint,
        EntityId(entity_id).name(),
        " ",
        Dec::new(entity_instance).as_str(),
    ])
}

/// The run of properties from OtherIdentifyingInfo to PowerManagementSupported, which numeric
/// and discrete sensors set alike (in render order, between OperationalStatus and RequestedState).
/// `ipmi` is (owner, LUN, number, entity, entity instance), the order of
/// IdentifyingDescriptions. One out-of-line body instead of a copy in each builder.
#[inline(never)]
fn set_identity<'a>(
    i: &mut Instance<'a>,
    ipmi: [u8; 5],
    ipmi_type: SensorType,
    sensor_type: wsbmc_ipmi::CimSensorType,
    poll_ms: u32,
    possible: Vec<Value<'a>>,
) {
    let [owner, lun, number, entity_id, entity_instance] = ipmi;
    i.set(
        "OtherIdentifyingInfo",
        Value::Array(alloc::vec![
            Value::string(cat(&["0x", Hex::lower(owner.into(), 2).as_str()])),
            // An IPMI LUN is two bits: its text is a constant, not an allocation per instance.
            "0123".get(usize::from(lun)..=usize::from(lun)).map_or_else(
                || Value::string(String::from(Dec::new(lun).as_str())),
                Value::str,
            ),
            Value::string(cat(&["0x", Hex::lower(number.into(), 2).as_str()])),
            Value::string(cat(&[
                Dec::new(entity_id).as_str(),
                ".",
                Dec::new(entity_instance).as_str(),
            ])),
        ]),
    );
    i.set(
        "OtherSensorTypeDescription",
        ipmi_type
            .other_description(sensor_type)
            .map_or(Value::Null, Value::str),
    );
    // A poll period past u64 nanoseconds cannot come from a u32 of milliseconds; saturate anyway
    // rather than reason about it twice.
    i.set(
        "PollingInterval",
        Value::U64(u64::from(poll_ms).saturating_mul(1_000_000)),
    );
    i.set("PossibleStates", Value::Array(possible));
    i.set_empty("PowerManagementCapabilities");
    i.set_bool("PowerManagementSupported", false);
}

/// Builds the CIM_NumericSensor instance of one sensor.
pub fn instance<'a>(
    desc: &'a SensorDesc,
    state: &SensorState,
    system_name: &'a str,
    mode: SensorTypeMode,
) -> Instance<'a> {
    let (ipmi_type, ipmi_unit) = desc.quantity.ipmi_codes();
    let units = ipmi_unit.cim();
    let sensor_type = ipmi_type.cim(ipmi_unit, mode);
    let status = Condition::of(state).view();
    let supported = desc.thresholds.supported_mask();
    let mut keys = keys(desc, system_name);
    // Borrowed from the key, which `set_keys` moves into the instance only after this: no copy
    // of the DeviceID per instance.
    let id: &str = &keys[1].1;

    // Windows style "<DeviceID>:<text> for <entity> <instance>" (cim.md §1.6), which consoles
    // such as MetricsHub split on ':' and " for ". The board's free text, when it gives one, is
    // the better <text>; otherwise the IPMI type name says what the sensor is.
    let description = if desc.description.is_empty() {
        describe(
            id,
            ipmi_type.name(),
            " sensor for ",
            desc.entity_id,
            desc.entity_instance,
        )
    } else {
        describe(
            id,
            &desc.description,
            " for ",
            desc.entity_id,
            desc.entity_instance,
        )
    };

    // The array value itself, built once: no list of names copied into a second one.
    let mut possible: Vec<Value<'a>> = Vec::with_capacity(2 + supported.count_ones() as usize);
    possible.push(Value::str("Unknown"));
    possible.push(Value::str("Normal"));
    for t in Threshold::ALL {
        if supported & t.bit() != 0 {
            possible.push(Value::str(state_name(t)));
        }
    }

    let t = &desc.thresholds;
    let reading = match state.reading {
        Reading::Value(v) => Value::S32(v),
        Reading::NoData(_) => Value::Null,
    };

    // The properties in NUMERIC_NULL are left unset, which renders as NULL: no code per
    // property for what no sensor has.
    let mut i = Instance::with_capacity(&CIM_NUMERIC_SENSOR, 59 - NUMERIC_NULL_COUNT);
    i.set_keys(&mut keys);
    i.set_empty("AdditionalAvailability");
    i.set_u16("Availability", status.availability);
    i.set_u16("BaseUnits", units.base_units.0);
    i.set_str("Caption", &desc.name);
    i.set("CurrentReading", reading);
    i.set_str("CurrentState", status.current_state);
    i.set_string("Description", description);
    i.set_str("ElementName", &desc.name);
    // Scanning is always on: the poller reads every sensor; there is no per-sensor disable yet.
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", 2);
    // Threshold events are always armed for every threshold that exists.
    i.set("EnabledThresholds", threshold_list(supported));
    i.set_u16("HealthState", status.health_state);
    i.set("Hysteresis", Value::U32(desc.hysteresis));
    i.set_strs(
        "IdentifyingDescriptions",
        &["OwnerID", "LUN", "SensorNumber", "Entity"],
    );
    // Drivers return linear integers; nothing non-linear reaches the monitor.
    i.set_bool("IsLinear", true);
    i.set("LowerThresholdCritical", Value::opt_s32(t.lower_critical));
    i.set("LowerThresholdFatal", Value::opt_s32(t.lower_fatal));
    i.set(
        "LowerThresholdNonCritical",
        Value::opt_s32(t.lower_non_critical),
    );
    i.set("MaxReadable", Value::S32(desc.max_readable));
    i.set("MinReadable", Value::S32(desc.min_readable));
    i.set_str("Name", &desc.name);
    i.set("NominalReading", Value::opt_s32(desc.nominal));
    i.set_u16s("OperationalStatus", &[status.operational_status]);
    set_identity(
        &mut i,
        [
            desc.owner,
            desc.lun,
            desc.number,
            desc.entity_id,
            desc.entity_instance,
        ],
        ipmi_type,
        sensor_type,
        desc.poll_ms,
        possible,
    );
    i.set_u16("RateUnits", 0);
    i.set_u16("RequestedState", 12);
    i.set_u16("SensorType", sensor_type.0);
    i.set("SettableThresholds", threshold_list(desc.settable));
    i.set_str("Status", status.status);
    i.set_strs("StatusDescriptions", &[status.description]);
    i.set("SupportedThresholds", threshold_list(supported));
    i.set(
        "UnitModifier",
        Value::S32(i32::from(desc.scale) + i32::from(units.modifier)),
    );
    i.set("UpperThresholdCritical", Value::opt_s32(t.upper_critical));
    i.set("UpperThresholdFatal", Value::opt_s32(t.upper_fatal));
    i.set(
        "UpperThresholdNonCritical",
        Value::opt_s32(t.upper_non_critical),
    );
    i
}

/// Builds the CIM_Sensor instance of one discrete sensor: the LogicalDevice part exactly as a
/// numeric sensor has it, the state strings from the view.
pub fn discrete_instance<'a>(
    view: &'a DiscreteSensorView,
    system_name: &'a str,
    mode: SensorTypeMode,
) -> Instance<'a> {
    let ipmi_type = SensorType(view.sensor_type);
    let sensor_type = ipmi_type.cim(Unit::UNSPECIFIED, mode);
    let mut keys = discrete_keys(view, system_name);
    let description = describe(
        &keys[1].1,
        ipmi_type.name(),
        " sensor for ",
        view.entity_id,
        view.entity_instance,
    );
    let (operational, status) = status_of_health(view.health_state);
    let mut possible: Vec<Value<'a>> = Vec::with_capacity(view.possible_states.len() + 1);
    possible.push(Value::str("Unknown"));
    for s in &view.possible_states {
        possible.push(Value::str(s));
    }

    let mut i = Instance::with_capacity(&CIM_SENSOR, 36);
    i.set_keys(&mut keys);
    i.set_empty("AdditionalAvailability");
    i.set_u16("Availability", 3);
    i.set_str("Caption", &view.name);
    // "Unknown" when there is no reading, as for numeric sensors, so CurrentState stays within
    // PossibleStates.
    i.set_str(
        "CurrentState",
        view.current_state.as_deref().unwrap_or("Unknown"),
    );
    i.set_string("Description", description);
    i.set_str("ElementName", &view.name);
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", 2);
    i.set_u16("HealthState", view.health_state);
    i.set_strs(
        "IdentifyingDescriptions",
        &["OwnerID", "LUN", "SensorNumber", "Entity"],
    );
    // InstallDate is left NULL: unset, as for numeric sensors (NUMERIC_NULL).
    i.set_str("Name", &view.name);
    i.set_u16s("OperationalStatus", &[operational]);
    set_identity(
        &mut i,
        [
            view.owner,
            view.lun,
            view.number,
            view.entity_id,
            view.entity_instance,
        ],
        ipmi_type,
        sensor_type,
        view.poll_ms,
        possible,
    );
    i.set_u16("RequestedState", 12);
    i.set_u16("SensorType", sensor_type.0);
    i.set_str("Status", status);
    i.set_empty("StatusDescriptions");
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{cpu_temp, fan, state};
    use alloc::vec;
    use wsbmc_monitor::Quantity;

    fn build(desc: &SensorDesc, st: SensorState) -> Instance<'_> {
        instance(desc, &st, "host-1", SensorTypeMode::Windows)
    }

    fn get<'i>(i: &'i Instance<'_>, name: &str) -> &'i Value<'i> {
        match i.get(name) {
            Some(v) => v,
            None => panic!("no value for {name}"),
        }
    }

    #[test]
    fn every_property_has_exactly_one_conforming_value_or_is_null_by_the_table() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::Value(42_000), 0));
        let props = CIM_NUMERIC_SENSOR.properties();
        assert_eq!(i.values.len() + NUMERIC_NULL.len(), props.clone().count());
        for p in props {
            let n = i.values.iter().filter(|(name, _)| *name == p.name).count();
            let null = NUMERIC_NULL.contains(&p.name);
            assert_eq!(n, usize::from(!null), "{}", p.name);
            assert!(i.get(p.name).is_none_or(|v| v.conforms(p)), "{}", p.name);
        }
        assert!(
            NUMERIC_NULL
                .iter()
                .all(|n| CIM_NUMERIC_SENSOR.property(n).is_some())
        );
        // In render order, so the renderer's sort is one pass (issue 17).
        assert!(i.in_render_order());
    }

    /// What a batch's kept markup of CIM_NumericSensor holds on the heap with its template, for
    /// BENCHMARKS.md (issue 17): bounded by `render`'s 8 KiB template bound, and the rendering
    /// is the per-property path's byte for byte.
    #[test]
    fn a_kept_markup_with_its_template_is_bounded() {
        extern crate std;
        use crate::render::{ClassMarkup, render, render_with};
        use wsbmc_wsman::XmlWriter;
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::Value(42_000), 0));
        let mut markup = ClassMarkup::new(&CIM_NUMERIC_SENSOR);
        let bare = markup.heap_bytes();
        let mut kept = XmlWriter::new();
        render_with(&mut kept, &i, &mut markup, None);
        let mut fresh = XmlWriter::new();
        render(&mut fresh, &i);
        assert_eq!(kept.as_str(), fresh.as_str());
        let held = markup.heap_bytes();
        std::println!(
            "CIM_NumericSensor: markup {bare} B, with layout and template {held} B, instance {} B",
            kept.len()
        );
        assert!(
            held > bare + 1024 && held < bare + 8192 + 2048,
            "{bare} {held}"
        );
    }

    #[test]
    fn identity_and_units() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::Value(42_000), 0));
        assert_eq!(get(&i, "DeviceID"), &Value::str("CPU0 Temp(48.0.32)"));
        assert_eq!(
            get(&i, "Description"),
            &Value::str("CPU0 Temp(48.0.32):Temperature sensor for Processor 1")
        );
        assert_eq!(get(&i, "SystemName"), &Value::str("host-1"));
        assert_eq!(
            get(&i, "SystemCreationClassName"),
            &Value::str("CIM_ComputerSystem")
        );
        assert_eq!(
            get(&i, "CreationClassName"),
            &Value::str("CIM_NumericSensor")
        );
        assert_eq!(get(&i, "SensorType"), &Value::U16(2));
        assert_eq!(get(&i, "BaseUnits"), &Value::U16(2));
        assert_eq!(get(&i, "UnitModifier"), &Value::S32(-3));
        assert_eq!(get(&i, "OtherSensorTypeDescription"), &Value::Null);
        assert_eq!(get(&i, "PollingInterval"), &Value::U64(1_000_000_000));
        assert_eq!(get(&i, "CurrentReading"), &Value::S32(42_000));
    }

    #[test]
    fn board_description_replaces_the_type_name() {
        let mut desc = cpu_temp();
        desc.description = String::from("CPU0 die temperature");
        let i = build(&desc, state(Reading::Value(1), 0));
        assert_eq!(
            get(&i, "Description"),
            &Value::str("CPU0 Temp(48.0.32):CPU0 die temperature for Processor 1")
        );
    }

    #[test]
    fn quantities_map_to_cim_types_and_units() {
        let cases = [
            (Quantity::Temperature, 2, 2, None),
            (Quantity::Voltage, 3, 5, None),
            (Quantity::Current, 4, 6, None),
            (Quantity::Power, 1, 7, Some("Other Units-based Sensor")),
            (Quantity::FanSpeed, 5, 19, None),
        ];
        for (q, st, bu, other) in cases {
            let mut desc = cpu_temp();
            desc.quantity = q;
            let i = build(&desc, state(Reading::Value(1), 0));
            assert_eq!(get(&i, "SensorType"), &Value::U16(st), "{q:?}");
            assert_eq!(get(&i, "BaseUnits"), &Value::U16(bu), "{q:?}");
            assert_eq!(
                get(&i, "OtherSensorTypeDescription"),
                &other.map_or(Value::Null, Value::str),
                "{q:?}"
            );
        }
    }

    #[test]
    fn power_in_dmtf_mode_is_power_consumption() {
        let mut desc = cpu_temp();
        desc.quantity = Quantity::Power;
        let i = instance(
            &desc,
            &state(Reading::Value(1), 0),
            "h",
            SensorTypeMode::Dmtf,
        );
        assert_eq!(get(&i, "SensorType"), &Value::U16(13));
    }

    #[test]
    fn thresholds_and_their_lists() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::Value(1), 0));
        assert_eq!(get(&i, "LowerThresholdNonCritical"), &Value::Null);
        assert_eq!(get(&i, "LowerThresholdCritical"), &Value::S32(5_000));
        assert_eq!(get(&i, "UpperThresholdNonCritical"), &Value::S32(85_000));
        assert_eq!(get(&i, "UpperThresholdCritical"), &Value::S32(95_000));
        assert_eq!(get(&i, "LowerThresholdFatal"), &Value::Null);
        assert_eq!(get(&i, "UpperThresholdFatal"), &Value::S32(105_000));
        assert_eq!(get(&i, "SupportedThresholds"), &Value::u16s([1, 2, 3, 5]));
        assert_eq!(get(&i, "EnabledThresholds"), &Value::u16s([1, 2, 3, 5]));
        assert_eq!(get(&i, "SettableThresholds"), &Value::u16s([1, 3]));
        assert_eq!(
            get(&i, "PossibleStates"),
            &Value::strs([
                "Unknown",
                "Normal",
                "Upper Non-Critical",
                "Lower Critical",
                "Upper Critical",
                "Upper Fatal"
            ])
        );
        assert_eq!(get(&i, "Hysteresis"), &Value::U32(2_000));
        assert_eq!(get(&i, "MaxReadable"), &Value::S32(127_000));
        assert_eq!(get(&i, "MinReadable"), &Value::S32(-128_000));
        assert_eq!(get(&i, "NominalReading"), &Value::S32(45_000));
    }

    #[test]
    fn sensor_without_thresholds_has_empty_lists() {
        let mut desc = fan();
        desc.thresholds = wsbmc_monitor::Thresholds::default();
        let i = build(&desc, state(Reading::Value(1), 0));
        assert_eq!(get(&i, "SupportedThresholds"), &Value::empty_array());
        assert_eq!(
            get(&i, "PossibleStates"),
            &Value::strs(["Unknown", "Normal"])
        );
        assert_eq!(get(&i, "NominalReading"), &Value::Null);
        assert_eq!(get(&i, "PollingInterval"), &Value::U64(250_000_000));
        assert_eq!(get(&i, "UnitModifier"), &Value::S32(0));
    }

    /// (CurrentState, HealthState, OperationalStatus, Status) of a sensor in `st`.
    fn status_of(st: SensorState) -> (String, u16, Vec<u16>, String) {
        let desc = cpu_temp();
        let i = build(&desc, st);
        let Value::Str(cs) = get(&i, "CurrentState") else {
            panic!("CurrentState")
        };
        let Value::U16(hs) = get(&i, "HealthState") else {
            panic!("HealthState")
        };
        let Value::Array(os) = get(&i, "OperationalStatus") else {
            panic!("OperationalStatus")
        };
        let os = os
            .iter()
            .map(|v| match v {
                Value::U16(n) => *n,
                _ => panic!("OperationalStatus element"),
            })
            .collect();
        let Value::Str(s) = get(&i, "Status") else {
            panic!("Status")
        };
        let Value::Array(d) = get(&i, "StatusDescriptions") else {
            panic!("StatusDescriptions")
        };
        assert_eq!(d.len(), 1, "one description per OperationalStatus entry");
        (String::from(cs.as_ref()), *hs, os, String::from(s.as_ref()))
    }

    fn s(cs: &str, hs: u16, os: u16, st: &str) -> (String, u16, Vec<u16>, String) {
        (String::from(cs), hs, vec![os], String::from(st))
    }

    const UNC: u8 = Threshold::UpperNonCritical.bit();
    const UC: u8 = Threshold::UpperCritical.bit();
    const UF: u8 = Threshold::UpperFatal.bit();
    const LNC: u8 = Threshold::LowerNonCritical.bit();
    const LC: u8 = Threshold::LowerCritical.bit();
    const LF: u8 = Threshold::LowerFatal.bit();

    #[test]
    fn reading_states() {
        let v = Reading::Value(50_000);
        assert_eq!(status_of(state(v, 0)), s("Normal", 5, 2, "OK"));
        assert_eq!(
            status_of(state(v, UNC)),
            s("Upper Non-Critical", 10, 3, "Degraded")
        );
        assert_eq!(
            status_of(state(v, LNC)),
            s("Lower Non-Critical", 10, 3, "Degraded")
        );
        assert_eq!(
            status_of(state(v, UNC | UC)),
            s("Upper Critical", 25, 6, "Error")
        );
        assert_eq!(
            status_of(state(v, LNC | LC)),
            s("Lower Critical", 25, 6, "Error")
        );
        assert_eq!(
            status_of(state(v, UNC | UC | UF)),
            s("Upper Fatal", 30, 7, "NonRecover")
        );
        assert_eq!(
            status_of(state(v, LNC | LC | LF)),
            s("Lower Fatal", 30, 7, "NonRecover")
        );
    }

    #[test]
    fn most_severe_threshold_wins_whatever_the_bit_order() {
        let v = Reading::Value(0);
        assert_eq!(status_of(state(v, UF)).0, "Upper Fatal");
        assert_eq!(status_of(state(v, UC | LNC)).0, "Upper Critical");
        assert_eq!(status_of(state(v, LC | UNC)).0, "Lower Critical");
        assert_eq!(status_of(state(v, LF | UC)).0, "Lower Fatal");
    }

    #[test]
    fn no_data_states() {
        let nd = |r| state(Reading::NoData(r), 0);
        assert_eq!(
            status_of(nd(NoData::Initializing)),
            s("Unknown", 0, 8, "Starting")
        );
        assert_eq!(
            status_of(nd(NoData::Unavailable)),
            s("Unknown", 0, 0, "Unknown")
        );
        assert_eq!(
            status_of(nd(NoData::NotPresent)),
            s("Unknown", 0, 12, "No Contact")
        );
        assert_eq!(
            status_of(nd(NoData::BusError)),
            s("Unknown", 0, 13, "Lost Comm")
        );
        assert_eq!(
            status_of(nd(NoData::Timeout)),
            s("Unknown", 0, 13, "Lost Comm")
        );
        assert_eq!(
            status_of(nd(NoData::HostOff)),
            s("Unknown", 5, 15, "Stopped")
        );
    }

    #[test]
    fn no_data_reading_is_null_and_stale_bits_are_ignored() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::NoData(NoData::BusError), UC));
        assert_eq!(get(&i, "CurrentReading"), &Value::Null);
        assert_eq!(get(&i, "CurrentState"), &Value::str("Unknown"));
    }

    #[test]
    fn host_off_is_quiet() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::NoData(NoData::HostOff), 0));
        assert_eq!(get(&i, "Availability"), &Value::U16(7));
        assert_eq!(get(&i, "HealthState"), &Value::U16(5));
    }

    #[test]
    fn current_state_is_always_a_possible_state() {
        let desc = cpu_temp();
        let readings = [
            Reading::Value(0),
            Reading::NoData(NoData::Initializing),
            Reading::NoData(NoData::HostOff),
        ];
        for r in readings {
            for mask in 0..64u8 {
                // Only thresholds the sensor has can be asserted.
                let mask = mask & desc.thresholds.supported_mask();
                let i = build(&desc, state(r, mask));
                let Value::Array(ps) = get(&i, "PossibleStates") else {
                    panic!("PossibleStates")
                };
                assert!(ps.contains(get(&i, "CurrentState")), "{r:?} {mask:#x}");
            }
        }
    }

    fn discrete() -> DiscreteSensorView {
        DiscreteSensorView {
            name: String::from("PSU1 Status"),
            number: 0x70,
            owner: 0x20,
            lun: 0,
            entity_id: 0x0A,
            entity_instance: 1,
            sensor_type: 0x08,
            possible_states: vec![
                String::from("Presence detected"),
                String::from("Power Supply Failure detected"),
            ],
            current_state: Some(String::from("Presence detected")),
            health_state: 5,
            poll_ms: 1_000,
        }
    }

    #[test]
    fn discrete_sensor_instance() {
        let view = discrete();
        let i = discrete_instance(&view, "host-1", SensorTypeMode::Windows);
        for p in CIM_SENSOR.properties() {
            let n = i.values.iter().filter(|(name, _)| *name == p.name).count();
            assert!(n <= 1, "{}", p.name);
            assert!(i.get(p.name).is_none_or(|v| v.conforms(p)), "{}", p.name);
        }
        assert!(i.in_render_order());
        assert_eq!(get(&i, "DeviceID"), &Value::str("PSU1 Status(112.0.32)"));
        assert_eq!(get(&i, "CreationClassName"), &Value::str("CIM_Sensor"));
        assert_eq!(get(&i, "SensorType"), &Value::U16(1));
        assert_eq!(
            get(&i, "OtherSensorTypeDescription"),
            &Value::str("Power Supply")
        );
        assert_eq!(get(&i, "CurrentState"), &Value::str("Presence detected"));
        let mut none = discrete();
        none.current_state = None;
        let i = discrete_instance(&none, "h", SensorTypeMode::Windows);
        let Value::Array(ps) = get(&i, "PossibleStates") else {
            panic!("PossibleStates")
        };
        assert!(ps.contains(get(&i, "CurrentState")));
    }

    #[test]
    fn discrete_views_from_states() {
        let psu = psu_desc();
        // (reading, CurrentState, HealthState)
        let cases: &[(DiscreteReading, Option<&str>, u16)] = &[
            (DiscreteReading::States(0x01), Some("Presence detected"), 5),
            (
                DiscreteReading::States(0x03),
                Some("Presence detected.,Power Supply Failure detected"),
                25,
            ),
            (
                DiscreteReading::States(0x05),
                Some("Presence detected.,Predictive Failure"),
                10,
            ),
            (DiscreteReading::States(0), Some("Deasserted"), 5),
            (DiscreteReading::NoData(NoData::NotPresent), None, 0),
            (DiscreteReading::NoData(NoData::HostOff), None, 5),
        ];
        for (reading, current, health) in cases {
            let v = discrete_view(&psu, reading);
            assert_eq!(v.current_state.as_deref(), *current, "{reading:?}");
            assert_eq!(v.health_state, *health, "{reading:?}");
            assert_eq!(
                v.possible_states,
                [
                    "Presence detected",
                    "Power Supply Failure detected",
                    "Predictive Failure",
                    "Power Supply input lost (AC/DC)",
                    "Deasserted"
                ]
            );
        }
    }

    fn psu_desc() -> DiscreteDesc {
        DiscreteDesc {
            key: "psu0_status".into(),
            name: "PSU0 Status".into(),
            description: String::new(),
            number: 0xA0,
            owner: 0x20,
            lun: 0,
            entity_id: 10,
            entity_instance: 1,
            sensor_type: 0x08,
            reading_type: 0x6F,
            readable: 0x0F,
            assertion_mask: 0x0E,
            deassertion_mask: 0x0F,
            poll_ms: 1000,
            power: wsbmc_monitor::PowerDomain::Always,
            source: wsbmc_monitor::DiscreteSource::Device {
                device: 0,
                channel: 0,
            },
        }
    }

    #[test]
    fn identifying_info() {
        let desc = cpu_temp();
        let i = build(&desc, state(Reading::Value(1), 0));
        assert_eq!(
            get(&i, "OtherIdentifyingInfo"),
            &Value::strs(["0x20", "0", "0x30", "3.1"])
        );
    }
}
