//! CIM_LogRecord values of a SEL record, as the Windows IPMI provider renders them
//! (`reference/cim.md` §3.1, §3.2). The CIM model calls these; it never looks at record bytes.
//!
//! RecordFormat/RecordData follow Microsoft's documented examples character for character:
//! the first character is the delimiter `*`, byte arrays are space-separated upper-case hex in
//! wire order, the Event Dir/Type byte is split into `IPMI_AssertionEvent` (`true`/`false`) and
//! `IPMI_EventType`. The documented timestamped-OEM RecordData lacks the trailing delimiter its
//! RecordFormat has; that is copied too, since a console comparing against Windows output would
//! see the difference. Non-timestamped OEM and unspecified record types are not documented and
//! use the layout cim.md infers.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use wsbmc_ipmi::sel::{Body, EventType, Record, TIMESTAMP_UNSPECIFIED, threshold_offset};

use crate::watcher::BmcSensors;

/// RecordFormat of a system event record (type 0x02).
pub const SYSTEM_EVENT_FORMAT: &str = "*string CIM_Sensor.DeviceID*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[2] IPMI_GeneratorID*uint8 IPMI_EvMRev*uint8 IPMI_SensorType*uint8 IPMI_SensorNumber*boolean IPMI_AssertionEvent*uint8 IPMI_EventType*uint8 IPMI_EventData1*uint8 IPMI_EventData2*uint8 IPMI_EventData3*";

/// RecordFormat of a timestamped OEM record (types 0xC0-0xDF).
pub const OEM_TIMESTAMPED_FORMAT: &str = "*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[3] IPMI_ManufacturerID*uint8[6] IPMI_OEMDefinedData*";

/// RecordFormat of a non-timestamped OEM record (0xE0-0xFF) or a record of unspecified type.
pub const OEM_FORMAT: &str =
    "*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[13] IPMI_OEMDefinedData*";

/// CIM's "unknown" datetime, for records without a usable timestamp.
pub const UNKNOWN_DATETIME: &str = "99990101000000.000000+000";

/// CIM_LogRecord.RecordFormat.
pub fn record_format(r: &Record) -> &'static str {
    match r.body {
        Body::System(_) => SYSTEM_EVENT_FORMAT,
        Body::OemTimestamped { .. } => OEM_TIMESTAMPED_FORMAT,
        Body::OemNonTimestamped { .. } | Body::Other { .. } => OEM_FORMAT,
    }
}

fn hex(out: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02X}");
    }
}

/// CIM_LogRecord.RecordData. `device_id` is the DeviceID of the sensor the record names (for
/// system events; ignored otherwise), e.g. from [`device_id`] or the CIM sensor's own.
pub fn record_data(r: &Record, device_id: &str) -> String {
    let bytes = r.encode();
    let mut s = String::with_capacity(96);
    s.push('*');
    match r.body {
        Body::System(e) => {
            s.push_str(device_id);
            s.push('*');
            for field in [&bytes[0..2], &bytes[2..3], &bytes[3..7], &bytes[7..9]] {
                hex(&mut s, field);
                s.push('*');
            }
            for b in [e.evm_rev, e.sensor_type, e.sensor_number] {
                hex(&mut s, &[b]);
                s.push('*');
            }
            s.push_str(if e.deassertion { "false*" } else { "true*" });
            hex(&mut s, &[e.event_type.0]);
            s.push('*');
            for b in e.data {
                hex(&mut s, &[b]);
                s.push('*');
            }
        }
        Body::OemTimestamped { .. } => {
            for field in [&bytes[0..2], &bytes[2..3], &bytes[3..7], &bytes[7..10]] {
                hex(&mut s, field);
                s.push('*');
            }
            hex(&mut s, &bytes[10..16]);
        }
        Body::OemNonTimestamped { .. } | Body::Other { .. } => {
            for field in [&bytes[0..2], &bytes[2..3], &bytes[3..16]] {
                hex(&mut s, field);
                s.push('*');
            }
        }
    }
    s
}

/// CIM_LogRecord.RecordID: the SEL RecordID in decimal.
pub fn record_id(r: &Record) -> String {
    format!("{}", r.id.0)
}

/// CIM_LogRecord.MessageTimestamp as a CIM datetime (UTC). Records without a timestamp, or with
/// the "unspecified" one, get CIM's "unknown" value. Pre-init timestamps (seconds since BMC
/// start) are rendered as they are, i.e. as a moment in early 1970, which is how ipmitool's
/// raw output reads too; a console can recognise them by the year.
pub fn message_timestamp(r: &Record) -> String {
    match r.timestamp() {
        Some(t) if t != TIMESTAMP_UNSPECIFIED => cim_datetime(t),
        _ => String::from(UNKNOWN_DATETIME),
    }
}

/// `yyyymmddhhmmss.000000+000` for `secs` since 1970-01-01 UTC.
pub fn cim_datetime(secs: u32) -> String {
    let days = i64::from(secs / 86_400);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}.000000+000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The Windows-style DeviceID `NAME(number.lun.owner)` (decimal), the same shape the CIM
/// sensors use, for sensors that are not in the board table.
pub fn device_id(name: &str, number: u8, lun: u8, owner: u8) -> String {
    format!("{name}({number}.{lun}.{owner})")
}

impl BmcSensors {
    /// The name of one of the BMC's own sensors, for DeviceID and Description.
    pub fn name(&self, sensor_number: u8) -> Option<&'static str> {
        if sensor_number == self.event_log {
            Some("SEL")
        } else if sensor_number == self.system_event {
            Some("BMC")
        } else if sensor_number == self.power_unit {
            Some("Host Power")
        } else if sensor_number == self.session_audit {
            Some("Session Audit")
        } else {
            None
        }
    }

    /// The DeviceID of one of the BMC's own sensors, e.g. `SEL(114.0.32)`.
    pub fn device_id(&self, sensor_number: u8) -> Option<String> {
        let [owner, hi] = self.generator.to_le_bytes();
        self.name(sensor_number)
            .map(|n| device_id(n, sensor_number, hi & 0x03, owner))
    }
}

/// The text of a system event's offset, for the event types this firmware logs and the generic
/// threshold table; `None` for the rest.
pub fn offset_text(sensor_type: u8, event_type: EventType, offset: u8) -> Option<&'static str> {
    if event_type == EventType::THRESHOLD {
        return threshold_offset::name(offset);
    }
    wsbmc_ipmi::discrete::offset_info(sensor_type, event_type.0, offset).map(|i| i.text)
}

/// CIM_LogRecord.Description: `"<SensorName>: <event offset text> (Asserted|Deasserted)"`; an
/// offset without a known text is shown by its numbers.
pub fn description(r: &Record, sensor_name: &str) -> String {
    match r.body {
        Body::System(e) => {
            let dir = if e.deassertion {
                "Deasserted"
            } else {
                "Asserted"
            };
            match offset_text(e.sensor_type, e.event_type, e.offset()) {
                Some(t) => format!("{sensor_name}: {t} ({dir})"),
                None => format!(
                    "{sensor_name}: event type {:#04x} offset {:#04x} ({dir})",
                    e.event_type.0,
                    e.offset()
                ),
            }
        }
        Body::OemTimestamped { manufacturer, .. } => {
            format!("OEM record (manufacturer {manufacturer})")
        }
        Body::OemNonTimestamped { record_type, .. } | Body::Other { record_type, .. } => {
            format!("OEM record type {record_type:#04x}")
        }
    }
}

/// CIM PerceivedSeverity: 2 Information, 3 Degraded/Warning, 6 Critical, 7 Fatal. Threshold
/// assertions take the threshold's severity; deassertions and everything else are information.
pub fn perceived_severity(r: &Record) -> u16 {
    let Body::System(e) = r.body else { return 2 };
    if e.deassertion {
        return 2;
    }
    if e.event_type != EventType::THRESHOLD {
        return wsbmc_ipmi::discrete::offset_info(e.sensor_type, e.event_type.0, e.offset())
            .map_or(2, |i| i.severity.perceived());
    }
    match e.offset() {
        0x00..=0x01 | 0x06..=0x07 => 3,
        0x02..=0x03 | 0x08..=0x09 => 6,
        0x04..=0x05 | 0x0A..=0x0B => 7,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsbmc_ipmi::sel::{GeneratorId, RecordId};

    const WINDOWS_SYSTEM: [u8; 16] = [
        0x01, 0x00, 0x02, 0x0F, 0xAC, 0xC1, 0x49, 0x20, 0x00, 0x04, 0x10, 0x72, 0x6F, 0x02, 0xFF,
        0xFF,
    ];
    const WINDOWS_OEM: [u8; 16] = [
        0x03, 0x00, 0xDD, 0x7B, 0xFE, 0xC4, 0x49, 0x37, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0,
        0x00,
    ];

    #[test]
    fn matches_microsofts_examples() {
        let r = Record::decode(&WINDOWS_SYSTEM);
        assert_eq!(
            record_format(&r),
            "*string CIM_Sensor.DeviceID*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[2] IPMI_GeneratorID*uint8 IPMI_EvMRev*uint8 IPMI_SensorType*uint8 IPMI_SensorNumber*boolean IPMI_AssertionEvent*uint8 IPMI_EventType*uint8 IPMI_EventData1*uint8 IPMI_EventData2*uint8 IPMI_EventData3*"
        );
        let bmc = BmcSensors::default();
        let id = bmc.device_id(0x72).unwrap();
        assert_eq!(id, "SEL(114.0.32)");
        assert_eq!(
            record_data(&r, &id),
            "*SEL(114.0.32)*01 00*02*0F AC C1 49*20 00*04*10*72*true*6F*02*FF*FF*"
        );
        assert_eq!(message_timestamp(&r), "20090319022103.000000+000");
        assert_eq!(record_id(&r), "1");
        assert_eq!(
            description(&r, "SEL"),
            "SEL: Log area reset/cleared (Asserted)"
        );

        let r = Record::decode(&WINDOWS_OEM);
        assert_eq!(
            record_format(&r),
            "*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[3] IPMI_ManufacturerID*uint8[6] IPMI_OEMDefinedData*"
        );
        assert_eq!(
            record_data(&r, "ignored"),
            "*03 00*DD*7B FE C4 49*37 01 00*00 00 00 00 C0 00"
        );
        assert_eq!(message_timestamp(&r), "20090321144931.000000+000");
    }

    #[test]
    fn other_records() {
        let mut b = [0x11u8; 16];
        b[2] = 0xE1;
        let r = Record::decode(&b);
        assert_eq!(record_format(&r), OEM_FORMAT);
        assert_eq!(
            record_data(&r, "x"),
            "*11 11*E1*11 11 11 11 11 11 11 11 11 11 11 11 11*"
        );
        assert_eq!(message_timestamp(&r), UNKNOWN_DATETIME);
        let mut b = WINDOWS_SYSTEM;
        b[3..7].copy_from_slice(&[0xFF; 4]);
        assert_eq!(message_timestamp(&Record::decode(&b)), UNKNOWN_DATETIME);
    }

    #[test]
    fn threshold_record_text_and_severity() {
        let e = crate::Event {
            generator: GeneratorId::BMC,
            sensor_type: 0x01,
            sensor_number: 0x30,
            deassertion: false,
            event_type: EventType::THRESHOLD,
            data: [0x59, 96, 95],
        };
        let r = e.record(RecordId(0x1234), 0);
        assert_eq!(
            description(&r, "CPU0 Temp"),
            "CPU0 Temp: Upper Critical - going high (Asserted)"
        );
        assert_eq!(perceived_severity(&r), 6);
        assert_eq!(record_id(&r), "4660");
        assert_eq!(
            record_data(&r, "CPU0 Temp(48.0.32)"),
            "*CPU0 Temp(48.0.32)*34 12*02*00 00 00 00*20 00*04*01*30*true*01*59*60*5F*"
        );
        assert_eq!(message_timestamp(&r), "19700101000000.000000+000");
        let r = crate::Event {
            deassertion: true,
            ..e
        }
        .record(RecordId(2), 0);
        assert_eq!(perceived_severity(&r), 2);
        assert!(description(&r, "T").ends_with("(Deasserted)"));
    }

    #[test]
    fn datetimes() {
        let cases = [
            (0u32, "19700101000000.000000+000"),
            (951_782_400, "20000229000000.000000+000"),
            (1_237_429_263, "20090319022103.000000+000"),
            (4_102_444_799, "20991231235959.000000+000"),
            (0xFFFF_FFFE, "21060207062814.000000+000"),
        ];
        for (secs, want) in cases {
            assert_eq!(cim_datetime(secs), want, "{secs}");
        }
    }
}
