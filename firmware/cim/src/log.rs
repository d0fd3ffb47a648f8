//! The System Event Log as DSP1010 Record Log in the Windows provider's LogRecord flavour
//! (cim.md §3): one CIM_RecordLog, a CIM_LogRecord per SEL entry, and the log's capabilities.
//!
//! Every CIM view of a SEL record is written here, from the record itself: the platform hands
//! over the stored [`Record`] and the sensor it names ([`LogRecordView`]), never text.
//!
//! RecordFormat/RecordData follow Microsoft's documented examples character for character:
//! the first character is the delimiter `*`, byte arrays are space-separated upper-case hex in
//! wire order, the Event Dir/Type byte is split into `IPMI_AssertionEvent` (`true`/`false`) and
//! `IPMI_EventType`. The documented timestamped-OEM RecordData lacks the trailing delimiter its
//! RecordFormat has; that is copied too, since a console comparing against Windows output would
//! see the difference. Non-timestamped OEM and unspecified record types are not documented and
//! use the layout cim.md infers.

use alloc::borrow::Cow;
use alloc::string::String;
use wsbmc_wsman::text::{Dec, Hex, cat};

use wsbmc_ipmi::sel::{Body, EventType, Record, threshold_offset};

use crate::datetime::CimDateTime;
use crate::platform::{LogRecordView, LogView};
use crate::schema::{CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES, CIM_LOG_RECORD, CIM_RECORD_LOG};
use crate::sensor::device_id_of;
use crate::value::{Instance, Value};

/// The SEL's InstanceID (cim.md §3.1: `<OrgID>:<LocalID>`, "each BMC has one").
pub const LOG_ID: &str = "IPMI:SEL";
pub const CAPABILITIES_ID: &str = "wsbmc:SELCapabilities";

pub fn log_keys() -> [(&'static str, Cow<'static, str>); 1] {
    [("InstanceID", Cow::Borrowed(LOG_ID))]
}

/// The text keys of a record; MessageTimestamp, the datetime key, is returned apart because
/// selectors and properties spell it differently.
pub fn record_keys(view: &LogRecordView) -> ([(&'static str, String); 4], CimDateTime) {
    (
        [
            ("CreationClassName", String::from(CIM_LOG_RECORD.name)),
            ("LogCreationClassName", String::from(CIM_RECORD_LOG.name)),
            ("LogName", String::from(LOG_ID)),
            (
                "RecordID",
                String::from(Dec::new(view.record_id()).as_str()),
            ),
        ],
        CimDateTime::from_sel(view.timestamp()),
    )
}

pub fn log_instance(log: &dyn LogView) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_RECORD_LOG, 24);
    i.set_str("InstanceID", LOG_ID);
    let (health, operational, status) = if log.overflowed() {
        (10, 3, "Degraded")
    } else {
        (5, 2, "OK")
    };
    i.set_str("Caption", "IPMI SEL");
    i.set("CurrentNumberOfRecords", Value::U64(log.len() as u64));
    i.set_str("Description", "IPMI System Event Log");
    i.set_str("ElementName", "IPMI SEL");
    i.set_u16("EnabledDefault", 2);
    i.set_u16("EnabledState", if log.enabled() { 2 } else { 3 });
    i.set_u16("HealthState", health);
    i.set_u16("LogState", 2);
    // 0 is the schema's "undefined" for a store that cannot say.
    i.set(
        "MaxNumberOfRecords",
        Value::U64(log.capacity().unwrap_or(0)),
    );
    i.set_str("Name", "IPMI SEL");
    i.set_u16s("OperationalStatus", &[operational]);
    // 2 Wraps When Full, 7 Never Overwrites (the classic SEL stops when full).
    i.set_u16("OverwritePolicy", if log.wraps() { 2 } else { 7 });
    i.set_u16("RequestedState", 12);
    i.set_str("Status", status);
    i.set_empty("StatusDescriptions");
    i
}

/// The keys are [`record_keys`]'s, set here from the static names rather than through its
/// owned strings: three allocations and copies fewer for every record rendered.
pub fn record_instance(view: &LogRecordView) -> Instance<'_> {
    let (device_id, sensor_name) = names(view);
    let sensor_name = sensor_name.unwrap_or(&device_id);
    let r = &view.record;
    let id = Dec::new(view.record_id());
    let mut i = Instance::with_capacity(&CIM_LOG_RECORD, 12);
    i.set_str("CreationClassName", CIM_LOG_RECORD.name);
    i.set_str("LogCreationClassName", CIM_RECORD_LOG.name);
    i.set_str("LogName", LOG_ID);
    i.set_string("RecordID", String::from(id.as_str()));
    i.set(
        "MessageTimestamp",
        Value::DateTime(CimDateTime::from_sel(view.timestamp())),
    );
    let title = cat(&["SEL record ", id.as_str()]);
    i.set_string("Caption", title.clone());
    // DataFormat, deprecated in favour of RecordFormat, is left NULL (unset renders as NULL).
    #[cfg(feature = "accounts")]
    let text = match &view.audit {
        Some(names) => audit_description(r, sensor_name, names),
        None => description(r, sensor_name),
    };
    #[cfg(not(feature = "accounts"))]
    let text = description(r, sensor_name);
    i.set_string("Description", text);
    i.set_string("ElementName", title);
    i.set_string("RecordData", record_data(r, &device_id));
    i.set_str("RecordFormat", record_format(r));
    i
}

/// The DeviceID and the name of the sensor a system event record names; a number the platform
/// does not know is `Sensor(<number>.0.32)`, which is its name too (`None`: the name is the
/// DeviceID, borrowed from it rather than copied). Empty for records that name no sensor (their
/// RecordData and Description do not use them).
fn names(view: &LogRecordView) -> (String, Option<&str>) {
    let Body::System(e) = view.record.body else {
        return (String::new(), Some(""));
    };
    match &view.sensor {
        Some(s) => (
            device_id_of(&s.name, e.sensor_number, s.lun, s.owner),
            Some(s.name.as_str()),
        ),
        None => (device_id_of("Sensor", e.sensor_number, 0, 0x20), None),
    }
}

/// RecordFormat of a system event record (type 0x02).
pub const SYSTEM_EVENT_FORMAT: &str = "*string CIM_Sensor.DeviceID*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[2] IPMI_GeneratorID*uint8 IPMI_EvMRev*uint8 IPMI_SensorType*uint8 IPMI_SensorNumber*boolean IPMI_AssertionEvent*uint8 IPMI_EventType*uint8 IPMI_EventData1*uint8 IPMI_EventData2*uint8 IPMI_EventData3*";

/// RecordFormat of a timestamped OEM record (types 0xC0-0xDF).
pub const OEM_TIMESTAMPED_FORMAT: &str = "*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[3] IPMI_ManufacturerID*uint8[6] IPMI_OEMDefinedData*";

/// RecordFormat of a non-timestamped OEM record (0xE0-0xFF) or a record of unspecified type.
pub const OEM_FORMAT: &str =
    "*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[13] IPMI_OEMDefinedData*";

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
        out.push_str(Hex::upper((*b).into(), 2).as_str());
    }
}

/// CIM_LogRecord.RecordData. `device_id` is the DeviceID of the sensor the record names (for
/// system events; ignored otherwise).
pub fn record_data(r: &Record, device_id: &str) -> String {
    let bytes = r.encode();
    let mut s = String::with_capacity(96);
    s.push('*');
    match r.body {
        Body::System(e) => {
            s.push_str(device_id);
            s.push('*');
            // RecordID, type, timestamp, generator ID, EvMRev, sensor type, sensor number.
            fields(&mut s, &bytes, &[2, 1, 4, 2, 1, 1, 1]);
            s.push_str(if e.deassertion { "false*" } else { "true*" });
            fields(&mut s, &[e.event_type.0], &[1]);
            fields(&mut s, &e.data, &[1, 1, 1]);
        }
        Body::OemTimestamped { .. } => {
            // RecordID, type, timestamp, manufacturer ID, then the OEM data without a '*'.
            fields(&mut s, &bytes, &[2, 1, 4, 3, 6]);
            s.pop();
        }
        Body::OemNonTimestamped { .. } | Body::Other { .. } => {
            fields(&mut s, &bytes, &[2, 1, 13]);
        }
    }
    s
}

/// Writes the fields of `bytes` of the given widths, in order, each as [`hex`] then `*`: one
/// loop for every record layout instead of a loop per layout.
fn fields(out: &mut String, mut bytes: &[u8], widths: &[u8]) {
    for &w in widths {
        let (field, rest) = bytes.split_at(usize::from(w).min(bytes.len()));
        hex(out, field);
        out.push('*');
        bytes = rest;
    }
}

/// The text of a system event's offset, for the event types this firmware logs and the generic
/// threshold table, as parts to be joined (a threshold text is built from its words, see
/// [`threshold_offset::parts`]); `None` for the rest.
pub fn offset_text(
    sensor_type: u8,
    event_type: EventType,
    offset: u8,
) -> Option<[&'static str; 4]> {
    if event_type == EventType::THRESHOLD {
        return threshold_offset::parts(offset);
    }
    wsbmc_ipmi::discrete::offset_info(sensor_type, event_type.0, offset)
        .map(|i| [i.text, "", "", ""])
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
                Some([a, b, c, d]) => cat(&[sensor_name, ": ", a, b, c, d, " (", dir, ")"]),
                None => cat(&[
                    sensor_name,
                    ": event type 0x",
                    Hex::lower(e.event_type.0.into(), 2).as_str(),
                    " offset 0x",
                    Hex::lower(e.offset().into(), 2).as_str(),
                    " (",
                    dir,
                    ")",
                ]),
            }
        }
        Body::OemTimestamped { manufacturer, .. } => cat(&[
            "OEM record (manufacturer ",
            Dec::new(manufacturer).as_str(),
            ")",
        ]),
        Body::OemNonTimestamped { record_type, .. } | Body::Other { record_type, .. } => cat(&[
            "OEM record type 0x",
            Hex::lower(record_type.into(), 2).as_str(),
        ]),
    }
}

/// CIM_LogRecord.Description of a Session Audit record the platform kept names for: the
/// record's own text, then which account change it was (when the record is one), the user and
/// who made the change, e.g. `"Session Audit: Session Deactivated (Asserted); account created;
/// user: bob; by: admin"`. Description rather than a new property: it is the text consoles show
/// (iDRAC's audit entries and OpenBMC's journal name the user in the message), CIM_LogRecord
/// 2.8 has no MessageArguments, and RecordData keeps the Windows layout of the 16 bytes.
/// Names are XML-escaped by the renderer like every string.
#[cfg(feature = "accounts")]
pub fn audit_description(r: &Record, sensor_name: &str, names: &crate::AuditNames) -> String {
    let mut s = description(r, sensor_name);
    if let Some(change) = account_change(r) {
        s.push_str("; ");
        s.push_str(change);
    }
    s.push_str("; user: ");
    s.push_str(
        names
            .user
            .as_deref()
            .unwrap_or("(withheld: not a valid user name)"),
    );
    if let Some(by) = &names.by {
        s.push_str("; by: ");
        s.push_str(by);
    }
    s
}

/// The account change a Session Audit record stands for: offset 01h with an OEM event data 3
/// (event data 1 bits 5:4 = 10b), whose low nibble is the change code the accounts crate's
/// `sel_event` writes.
#[cfg(feature = "accounts")]
fn account_change(r: &Record) -> Option<&'static str> {
    let Body::System(e) = r.body else { return None };
    if e.sensor_type != 0x2A || e.offset() != 0x01 || e.data[0] & 0x30 != 0x20 {
        return None;
    }
    Some(match e.data[2] & 0x0F {
        1 => "account created",
        2 => "account deleted",
        3 => "password changed",
        4 => "role changed",
        5 => "account enabled",
        6 => "account disabled",
        7 => "first Administrator provisioned",
        8 => "lockout settings changed",
        _ => return None,
    })
}

/// CIM PerceivedSeverity of a record: 2 Information, 3 Degraded/Warning, 6 Critical, 7 Fatal.
/// Threshold assertions take the threshold's severity; deassertions and everything else are
/// information. For the alert indications a record will raise.
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

pub fn capabilities_instance() -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES, 8);
    i.set_str("InstanceID", CAPABILITIES_ID);
    i.set_str("Caption", "IPMI SEL Capabilities");
    i.set_str(
        "Description",
        "What a console can change about the IPMI SEL",
    );
    i.set_str("ElementName", "IPMI SEL Capabilities");
    // Logging cannot be switched off through CIM (no RequestStateChange on the log), and the
    // log's name is fixed.
    // ElementNameMask and MaxElementNameLen are left NULL (unset renders as NULL).
    i.set_bool("ElementNameEditSupported", false);
    i.set_empty("RequestedStatesSupported");
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::RecordSensor;
    use crate::schema::ClassDef;
    use wsbmc_ipmi::sel::examples::{OEM_TIMESTAMPED as WINDOWS_OEM, SYSTEM as WINDOWS_SYSTEM};
    use wsbmc_ipmi::sel::{EVM_REV, GeneratorId, RecordId, SystemEvent};

    fn sel_sensor() -> Option<RecordSensor> {
        Some(RecordSensor {
            name: String::from("SEL"),
            lun: 0,
            owner: 0x20,
        })
    }

    struct Log;

    impl LogView for Log {
        fn len(&self) -> usize {
            3
        }
        fn record(&self, _index: usize) -> Option<LogRecordView> {
            None
        }
        fn capacity(&self) -> Option<u64> {
            Some(512)
        }
        fn overflowed(&self) -> bool {
            true
        }
    }

    fn conforms(i: &Instance<'_>, class: &ClassDef) {
        for p in class.properties() {
            let n = i.values.iter().filter(|(name, _)| *name == p.name).count();
            assert!(n <= 1, "{}", p.name);
            assert!(i.get(p.name).is_none_or(|v| v.conforms(p)), "{}", p.name);
        }
        for key in class.keys {
            assert!(i.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn instances_conform() {
        let view = LogRecordView {
            record: Record::decode(&WINDOWS_SYSTEM),
            sensor: sel_sensor(),
            #[cfg(feature = "accounts")]
            audit: None,
        };
        let r = record_instance(&view);
        conforms(&r, &CIM_LOG_RECORD);
        assert_eq!(r.get("RecordID"), Some(&Value::str("1")));
        // The instance's keys are the ones its EPR is built from.
        let (keys, timestamp) = record_keys(&view);
        for (name, value) in &keys {
            assert_eq!(r.get(name), Some(&Value::str(value)), "{name}");
        }
        assert_eq!(r.get("MessageTimestamp"), Some(&Value::DateTime(timestamp)));
        // Both in render order, so the renderer's sort is one pass (issue 17).
        assert!(r.in_render_order());
        assert!(log_instance(&Log).in_render_order());
        assert!(capabilities_instance().in_render_order());
        conforms(&log_instance(&Log), &CIM_RECORD_LOG);
        conforms(
            &capabilities_instance(),
            &CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES,
        );
    }

    #[test]
    fn log_state() {
        let i = log_instance(&Log);
        assert_eq!(i.get("CurrentNumberOfRecords"), Some(&Value::U64(3)));
        assert_eq!(i.get("MaxNumberOfRecords"), Some(&Value::U64(512)));
        assert_eq!(i.get("OverwritePolicy"), Some(&Value::U16(7)));
        assert_eq!(i.get("HealthState"), Some(&Value::U16(10)));
    }

    #[test]
    fn matches_microsofts_examples() {
        let r = Record::decode(&WINDOWS_SYSTEM);
        assert_eq!(
            record_format(&r),
            "*string CIM_Sensor.DeviceID*uint8[2] IPMI_RecordID*uint8 IPMI_RecordType*uint8[4] IPMI_Timestamp*uint8[2] IPMI_GeneratorID*uint8 IPMI_EvMRev*uint8 IPMI_SensorType*uint8 IPMI_SensorNumber*boolean IPMI_AssertionEvent*uint8 IPMI_EventType*uint8 IPMI_EventData1*uint8 IPMI_EventData2*uint8 IPMI_EventData3*"
        );
        let view = LogRecordView {
            record: r,
            sensor: sel_sensor(),
            #[cfg(feature = "accounts")]
            audit: None,
        };
        assert_eq!(names(&view), (String::from("SEL(114.0.32)"), Some("SEL")));
        let i = record_instance(&view);
        assert_eq!(
            i.get("RecordData"),
            Some(&Value::str(
                "*SEL(114.0.32)*01 00*02*0F AC C1 49*20 00*04*10*72*true*6F*02*FF*FF*"
            ))
        );
        assert_eq!(
            i.get("Description"),
            Some(&Value::str("SEL: Log area reset/cleared (Asserted)"))
        );
        assert_eq!(
            i.get("MessageTimestamp").map(
                |v| matches!(v, Value::DateTime(t) if t.cim_string() == "20090319022103.000000+000")
            ),
            Some(true)
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
        let view = LogRecordView {
            record: r,
            sensor: None,
            #[cfg(feature = "accounts")]
            audit: None,
        };
        assert_eq!(view.timestamp(), u32::MAX);
        assert_eq!(names(&view), (String::new(), Some("")));
        assert_eq!(description(&r, ""), "OEM record type 0xe1");
    }

    #[test]
    fn an_unknown_sensor_is_named_by_its_number() {
        let mut b = WINDOWS_SYSTEM;
        b[11] = 0x05;
        let view = LogRecordView {
            record: Record::decode(&b),
            sensor: None,
            #[cfg(feature = "accounts")]
            audit: None,
        };
        // The name is the DeviceID.
        assert_eq!(names(&view), (String::from("Sensor(5.0.32)"), None));
        assert_eq!(
            record_instance(&view).get("Description"),
            Some(&Value::str(
                "Sensor(5.0.32): Log area reset/cleared (Asserted)"
            ))
        );
    }

    #[cfg(feature = "accounts")]
    #[test]
    fn audit_records_name_the_user_and_who_changed_the_account() {
        // A Session Audit record (sensor type 2Ah) of the BMC's audit sensor, with its names.
        let view = |data: [u8; 3], user: Option<&str>, by: Option<&str>| LogRecordView {
            record: Record {
                id: RecordId(9),
                body: Body::System(SystemEvent {
                    timestamp: 0,
                    generator: GeneratorId::BMC,
                    evm_rev: EVM_REV,
                    sensor_type: 0x2A,
                    sensor_number: 0x73,
                    deassertion: false,
                    event_type: EventType(0x6F),
                    data,
                }),
            },
            sensor: None,
            audit: Some(crate::AuditNames {
                user: user.map(String::from),
                by: by.map(String::from),
            }),
        };
        let audit = |data: [u8; 3], user: Option<&str>, by: Option<&str>| {
            let v = view(data, user, by);
            let i = record_instance(&v);
            match i.get("Description") {
                Some(Value::Str(s)) => String::from(s.as_ref()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            audit([0xF2, 0, 1], Some("mallory"), None),
            "Sensor(115.0.32): Invalid Username or Password (Asserted); user: mallory"
        );
        assert_eq!(
            audit([0xE1, 3, 0x31], Some("bob"), Some("admin")),
            "Sensor(115.0.32): Session Deactivated (Asserted); account created; user: bob; by: admin"
        );
        assert!(
            audit([0xF2, 0, 1], None, None).ends_with("user: (withheld: not a valid user name)")
        );
        // The renderer escapes names like any string.
        let mut out = wsbmc_wsman::XmlWriter::new();
        let escaped = view([0xF2, 1, 1], Some("a<b&c"), None);
        crate::render::render(&mut out, &record_instance(&escaped));
        let xml = out.into_string();
        assert!(xml.contains("user: a&lt;b&amp;c"), "{xml}");
    }

    #[test]
    fn threshold_record_text_and_severity() {
        let e = SystemEvent {
            timestamp: 0,
            generator: GeneratorId::BMC,
            evm_rev: EVM_REV,
            sensor_type: 0x01,
            sensor_number: 0x30,
            deassertion: false,
            event_type: EventType::THRESHOLD,
            data: [0x59, 96, 95],
        };
        let r = Record {
            id: RecordId(0x1234),
            body: Body::System(e),
        };
        assert_eq!(
            description(&r, "CPU0 Temp"),
            "CPU0 Temp: Upper Critical - going high (Asserted)"
        );
        assert_eq!(perceived_severity(&r), 6);
        assert_eq!(
            record_data(&r, "CPU0 Temp(48.0.32)"),
            "*CPU0 Temp(48.0.32)*34 12*02*00 00 00 00*20 00*04*01*30*true*01*59*60*5F*"
        );
        let r = Record {
            id: RecordId(2),
            body: Body::System(SystemEvent {
                deassertion: true,
                ..e
            }),
        };
        assert_eq!(perceived_severity(&r), 2);
        assert!(description(&r, "T").ends_with("(Deasserted)"));
    }
}
