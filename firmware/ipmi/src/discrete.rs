//! Discrete sensor states: the text and severity of each event offset (IPMI 2.0 table 42-2 for
//! the generic event/reading types 02h..0Ch, table 42-3 for the sensor-specific type 6Fh).
//!
//! One table serves the SEL's record text, a discrete sensor's CIM CurrentState and
//! PossibleStates, and its HealthState, so the three can never disagree. Only the sensor types
//! a BMC watches itself are listed; any other offset has no text (callers show its numbers).
//!
//! The four spellings the SEL already wrote before this table existed ("Power off/down", "Power
//! cycle", "Log area reset/cleared", "OEM System boot event") are kept as they were, so log
//! records read the same across an upgrade.

/// How bad an asserted state is. Maps onto CIM HealthState and PerceivedSeverity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A fact, not a problem (present, powered off, log cleared).
    Ok,
    /// Needs attention but the system runs (chassis opened, predictive failure, SEL full).
    Warning,
    /// A component failed (PSU failure, input lost, processor thermal trip).
    Critical,
}

impl Severity {
    /// CIM HealthState: 5 OK, 10 Degraded/Warning, 25 Critical failure.
    pub const fn health_state(self) -> u16 {
        match self {
            Severity::Ok => 5,
            Severity::Warning => 10,
            Severity::Critical => 25,
        }
    }

    /// CIM PerceivedSeverity of an assertion: 2 Information, 3 Degraded/Warning, 6 Critical.
    pub const fn perceived(self) -> u16 {
        match self {
            Severity::Ok => 2,
            Severity::Warning => 3,
            Severity::Critical => 6,
        }
    }
}

/// The text and severity of one offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetInfo {
    pub text: &'static str,
    pub severity: Severity,
}

#[cfg(feature = "bmc-states")]
use crate::names::{Packed, total_len};
#[cfg(feature = "bmc-states")]
use Severity::{Critical as C, Ok as O, Warning as W};

#[cfg(feature = "bmc-states")]
const fn o(text: &'static str, severity: Severity) -> OffsetInfo {
    OffsetInfo { text, severity }
}

/// The event/reading type of sensor-specific offsets.
pub const SENSOR_SPECIFIC: u8 = 0x6F;

#[cfg(feature = "bmc-states")]
const PHYSICAL_SECURITY: &[OffsetInfo] = &[
    o("General Chassis Intrusion", W),
    o("Drive Bay intrusion", W),
    o("I/O Card area intrusion", W),
    o("Processor area intrusion", W),
    o("LAN Leash Lost", W),
    o("Unauthorized dock", W),
    o("FAN area intrusion", W),
];

#[cfg(feature = "bmc-states")]
const PROCESSOR: &[OffsetInfo] = &[
    o("IERR", C),
    o("Thermal Trip", C),
    o("FRB1/BIST failure", C),
    o("FRB2/Hang in POST failure", C),
    o("FRB3/Processor Startup/Initialization failure", C),
    o("Configuration Error", C),
    o("SM BIOS Uncorrectable CPU-complex Error", C),
    o("Processor Presence detected", O),
    o("Processor disabled", W),
    o("Terminator Presence Detected", O),
    o("Processor Automatically Throttled", W),
    o("Machine Check Exception (Uncorrectable)", C),
    o("Correctable Machine Check Error", W),
];

#[cfg(feature = "bmc-states")]
const POWER_SUPPLY: &[OffsetInfo] = &[
    o("Presence detected", O),
    o("Power Supply Failure detected", C),
    o("Predictive Failure", W),
    o("Power Supply input lost (AC/DC)", C),
    o("Power Supply input lost or out-of-range", C),
    o("Power Supply input out-of-range, but present", W),
    o("Configuration error", W),
    o("Power Supply Inactive (in standby state)", O),
];

#[cfg(feature = "bmc-states")]
const POWER_UNIT: &[OffsetInfo] = &[
    o("Power off/down", O),
    o("Power cycle", O),
    o("240VA Power Down", C),
    o("Interlock Power Down", W),
    o("AC lost / Power input lost", C),
    o("Soft Power Control Failure", C),
    o("Power Unit Failure detected", C),
    o("Predictive Failure", W),
];

#[cfg(feature = "bmc-states")]
const DRIVE_SLOT: &[OffsetInfo] = &[
    o("Drive Presence", O),
    o("Drive Fault", C),
    o("Predictive Failure", W),
    o("Hot Spare", O),
    o("Consistency Check / Parity Check in progress", O),
    o("In Critical Array", C),
    o("In Failed Array", C),
    o("Rebuild/Remap in progress", W),
    o("Rebuild/Remap Aborted", W),
];

#[cfg(feature = "bmc-states")]
const EVENT_LOGGING_DISABLED: &[OffsetInfo] = &[
    o("Correctable Memory Error Logging Disabled", W),
    o("Event Type Logging Disabled", W),
    o("Log area reset/cleared", O),
    o("All Event Logging Disabled", W),
    o("SEL Full", W),
    o("SEL Almost Full", W),
    o("Correctable Machine Check Error Logging Disabled", W),
];

#[cfg(feature = "bmc-states")]
const SYSTEM_EVENT: &[OffsetInfo] = &[
    o("System Reconfigured", O),
    o("OEM System boot event", O),
    o("Undetermined system hardware failure", C),
    o("Entry added to Auxiliary Log", O),
    o("PEF Action", O),
    o("Timestamp Clock Synch", O),
];

#[cfg(feature = "bmc-states")]
const SESSION_AUDIT: &[OffsetInfo] = &[
    o("Session Activated", O),
    o("Session Deactivated", O),
    o("Invalid Username or Password", W),
    o("Invalid password disable", C),
];

#[cfg(feature = "bmc-states")]
const ENTITY_PRESENCE: &[OffsetInfo] = &[
    o("Entity Present", O),
    o("Entity Absent", W),
    o("Entity Disabled", W),
];

/// Generic event/reading types 02h..0Ch (table 42-2), indexed by type - 2.
#[cfg(feature = "bmc-states")]
const GENERIC: [&[OffsetInfo]; 11] = [
    // 02h DMI-based usage state
    &[
        o("Transition to Idle", O),
        o("Transition to Active", O),
        o("Transition to Busy", O),
    ],
    // 03h digital discrete
    &[o("State Deasserted", O), o("State Asserted", W)],
    // 04h predictive failure
    &[
        o("Predictive Failure deasserted", O),
        o("Predictive Failure asserted", W),
    ],
    // 05h limit
    &[o("Limit Not Exceeded", O), o("Limit Exceeded", W)],
    // 06h performance
    &[o("Performance Met", O), o("Performance Lags", W)],
    // 07h severity
    &[
        o("transition to OK", O),
        o("transition to Non-Critical from OK", W),
        o("transition to Critical from less severe", C),
        o("transition to Non-recoverable from less severe", C),
        o("transition to Non-Critical from more severe", W),
        o("transition to Critical from Non-recoverable", C),
        o("transition to Non-recoverable", C),
        o("Monitor", O),
        o("Informational", O),
    ],
    // 08h availability: presence
    &[
        o("Device Removed/Device Absent", W),
        o("Device Inserted/Device Present", O),
    ],
    // 09h availability: enabled
    &[o("Device Disabled", W), o("Device Enabled", O)],
    // 0Ah availability: power state
    &[
        o("transition to Running", O),
        o("transition to In Test", O),
        o("transition to Power Off", O),
        o("transition to On Line", O),
        o("transition to Off Line", W),
        o("transition to Off Duty", O),
        o("transition to Degraded", W),
        o("transition to Power Save", O),
        o("Install Error", C),
    ],
    // 0Bh redundancy
    &[
        o("Fully Redundant", O),
        o("Redundancy Lost", C),
        o("Redundancy Degraded", W),
        o("Non-redundant: Sufficient Resources from Redundant", W),
        o(
            "Non-redundant: Sufficient Resources from Insufficient Resources",
            W,
        ),
        o("Non-redundant: Insufficient Resources", C),
        o("Redundancy Degraded from Fully Redundant", W),
        o("Redundancy Degraded from Non-redundant", W),
    ],
    // 0Ch ACPI device power state
    &[
        o("D0 Power State", O),
        o("D1 Power State", O),
        o("D2 Power State", O),
        o("D3 Power State", O),
    ],
];

/// The offsets a sensor of `sensor_type` with event/reading type `reading_type` can report; empty
/// for threshold sensors, OEM types and sensor types not in the table.
#[cfg(feature = "bmc-states")]
pub fn offsets(sensor_type: u8, reading_type: u8) -> &'static [OffsetInfo] {
    match group(sensor_type, reading_type) {
        Some(g) => GROUPS[g],
        None => &[],
    }
}

/// Every table above, in the order [`group`] numbers them.
#[cfg(feature = "bmc-states")]
const GROUPS: [&[OffsetInfo]; 20] = [
    board(PHYSICAL_SECURITY),
    board(PROCESSOR),
    board(POWER_SUPPLY),
    POWER_UNIT,
    board(DRIVE_SLOT),
    EVENT_LOGGING_DISABLED,
    SYSTEM_EVENT,
    board(ENTITY_PRESENCE),
    SESSION_AUDIT,
    board(GENERIC[0]),
    board(GENERIC[1]),
    board(GENERIC[2]),
    board(GENERIC[3]),
    board(GENERIC[4]),
    board(GENERIC[5]),
    board(GENERIC[6]),
    board(GENERIC[7]),
    board(GENERIC[8]),
    board(GENERIC[9]),
    board(GENERIC[10]),
];

/// A group only a board's own discrete sensors use: empty without the `states` feature, so an
/// image with just the BMC's sensors does not carry its texts.
#[cfg(feature = "bmc-states")]
const fn board(group: &'static [OffsetInfo]) -> &'static [OffsetInfo] {
    if cfg!(feature = "states") { group } else { &[] }
}

/// Which of [`GROUPS`] describes a sensor.
#[cfg(feature = "bmc-states")]
const fn group(sensor_type: u8, reading_type: u8) -> Option<usize> {
    match reading_type {
        SENSOR_SPECIFIC => match sensor_type {
            0x05 => Some(0),
            0x07 => Some(1),
            0x08 => Some(2),
            0x09 => Some(3),
            0x0D => Some(4),
            0x10 => Some(5),
            0x12 => Some(6),
            0x25 => Some(7),
            0x2A => Some(8),
            _ => None,
        },
        0x02..=0x0C => Some(9 + (reading_type - 2) as usize),
        _ => None,
    }
}

// What the image keeps of the tables (they are read only by the compiler and by `offsets`, which
// the board build uses): every offset's text packed (`crate::names`) and its severity in one flat
// list, and where each group starts in it. 3 bytes an offset instead of a 12-byte `OffsetInfo`.

/// How many offsets all groups have together.
#[cfg(feature = "bmc-states")]
const COUNT: usize = {
    let mut n = 0;
    let mut g = 0;
    while g < GROUPS.len() {
        n += GROUPS[g].len();
        g += 1;
    }
    n
};

/// Index of each group's first offset in the flat list; the last entry is [`COUNT`].
#[cfg(feature = "bmc-states")]
static STARTS: [u8; 21] = {
    assert!(COUNT <= u8::MAX as usize);
    let mut out = [0u8; 21];
    let mut g = 0;
    while g < GROUPS.len() {
        out[g + 1] = out[g] + GROUPS[g].len() as u8;
        g += 1;
    }
    out
};

#[cfg(feature = "bmc-states")]
const fn flat_texts() -> [&'static str; COUNT] {
    let mut out = [""; COUNT];
    let (mut i, mut g) = (0, 0);
    while g < GROUPS.len() {
        let mut k = 0;
        while k < GROUPS[g].len() {
            out[i] = GROUPS[g][k].text;
            i += 1;
            k += 1;
        }
        g += 1;
    }
    out
}

#[cfg(feature = "bmc-states")]
static TEXTS: Packed<COUNT, { total_len(&flat_texts()) }> = Packed::new(&flat_texts());

#[cfg(feature = "bmc-states")]
static SEVERITIES: [Severity; COUNT] = {
    let mut out = [Severity::Ok; COUNT];
    let (mut i, mut g) = (0, 0);
    while g < GROUPS.len() {
        let mut k = 0;
        while k < GROUPS[g].len() {
            out[i] = GROUPS[g][k].severity;
            i += 1;
            k += 1;
        }
        g += 1;
    }
    out
};

/// The range of the flat list that holds a sensor's offsets.
#[cfg(feature = "bmc-states")]
fn flat_range(sensor_type: u8, reading_type: u8) -> core::ops::Range<usize> {
    match group(sensor_type, reading_type) {
        Some(g) => usize::from(STARTS[g])..usize::from(STARTS[g + 1]),
        None => 0..0,
    }
}

/// One offset's text and severity, or `None` when the table has no such offset.
#[cfg(feature = "bmc-states")]
pub fn offset_info(sensor_type: u8, reading_type: u8, offset: u8) -> Option<OffsetInfo> {
    let i = flat_range(sensor_type, reading_type).nth(usize::from(offset))?;
    Some(OffsetInfo {
        text: TEXTS.get(i)?,
        severity: *SEVERITIES.get(i)?,
    })
}

/// Without the `states` feature: the four offsets the BMC's own records use, as the SEL wrote
/// them before the table existed.
#[cfg(not(feature = "bmc-states"))]
pub fn offset_info(sensor_type: u8, reading_type: u8, offset: u8) -> Option<OffsetInfo> {
    let text = match (reading_type, sensor_type, offset) {
        (SENSOR_SPECIFIC, 0x10, 0x02) => "Log area reset/cleared",
        (SENSOR_SPECIFIC, 0x09, 0x00) => "Power off/down",
        (SENSOR_SPECIFIC, 0x09, 0x01) => "Power cycle",
        (SENSOR_SPECIFIC, 0x12, 0x01) => "OEM System boot event",
        _ => return None,
    };
    Some(OffsetInfo {
        text,
        severity: Severity::Ok,
    })
}

/// The offsets a table defines, as a state mask (bit n = offset n); at most 15 bits, as in an SDR.
#[cfg(feature = "bmc-states")]
pub fn defined_mask(sensor_type: u8, reading_type: u8) -> u16 {
    let n = flat_range(sensor_type, reading_type).len().min(15);
    ((1u32 << n) - 1) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        // (sensor type, reading type, offset, text, severity)
        type Case = (u8, u8, u8, Option<(&'static str, Severity)>);
        let cases: &[Case] = &[
            (0x08, 0x6F, 0, Some(("Presence detected", O))),
            (0x08, 0x6F, 1, Some(("Power Supply Failure detected", C))),
            (0x08, 0x6F, 2, Some(("Predictive Failure", W))),
            (0x08, 0x6F, 3, Some(("Power Supply input lost (AC/DC)", C))),
            (0x05, 0x6F, 0, Some(("General Chassis Intrusion", W))),
            (0x07, 0x6F, 1, Some(("Thermal Trip", C))),
            (0x07, 0x6F, 7, Some(("Processor Presence detected", O))),
            (0x0D, 0x6F, 0, Some(("Drive Presence", O))),
            (0x09, 0x6F, 0, Some(("Power off/down", O))),
            (0x10, 0x6F, 2, Some(("Log area reset/cleared", O))),
            (0x10, 0x6F, 4, Some(("SEL Full", W))),
            (0x12, 0x6F, 1, Some(("OEM System boot event", O))),
            (0x2A, 0x6F, 2, Some(("Invalid Username or Password", W))),
            (0x08, 0x0B, 1, Some(("Redundancy Lost", C))),
            (0x05, 0x03, 1, Some(("State Asserted", W))),
            (0x08, 0x6F, 8, None),
            (0x01, 0x6F, 0, None),
            (0x08, 0x01, 0, None),
            (0x08, 0x0D, 0, None),
            (0xC0, 0x6F, 0, None),
        ];
        for (st, rt, off, want) in cases {
            let got = offset_info(*st, *rt, *off).map(|i| (i.text, i.severity));
            assert_eq!(got, *want, "{st:#04x}/{rt:#04x}/{off}");
        }
    }

    #[test]
    fn masks_fit_fifteen_bits() {
        for rt in 0..=0xFFu8 {
            for st in [
                0x05, 0x07, 0x08, 0x09, 0x0D, 0x10, 0x12, 0x25, 0x2A, 0x01, 0xFF,
            ] {
                let m = defined_mask(st, rt);
                assert_eq!(m & 0x8000, 0, "{st:#04x}/{rt:#04x}");
                assert_eq!(m.count_ones() as usize, offsets(st, rt).len().min(15));
            }
        }
        assert_eq!(defined_mask(0x08, 0x6F), 0xFF);
        assert_eq!(defined_mask(0x05, 0x6F), 0x7F);
    }

    #[test]
    fn the_packed_form_answers_as_the_tables_do() {
        for rt in 0..=0xFFu8 {
            for st in 0..=0xFFu8 {
                for off in 0..16u8 {
                    assert_eq!(
                        offset_info(st, rt, off),
                        offsets(st, rt).get(usize::from(off)).copied(),
                        "{st:#04x}/{rt:#04x}/{off}"
                    );
                }
            }
        }
    }
}
