//! The System Event Log as DSP1010 Record Log in the Windows provider's LogRecord flavour
//! (cim.md §3): one CIM_RecordLog, a CIM_LogRecord per SEL entry, and the log's capabilities.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

use crate::datetime::CimDateTime;
use crate::platform::{LogRecordView, LogView};
use crate::schema::{CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES, CIM_LOG_RECORD, CIM_RECORD_LOG};
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
            ("RecordID", format!("{}", view.record_id)),
        ],
        CimDateTime::from_sel(view.timestamp),
    )
}

pub fn log_instance(log: &dyn LogView) -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_RECORD_LOG, 24);
    i.set("InstanceID", Value::str(LOG_ID));
    i.set("Caption", Value::str("IPMI SEL"));
    i.set("Description", Value::str("IPMI System Event Log"));
    i.set("ElementName", Value::str("IPMI SEL"));
    i.set("Name", Value::str("IPMI SEL"));
    let (health, operational, status) = if log.overflowed() {
        (10, 3, "Degraded")
    } else {
        (5, 2, "OK")
    };
    i.set("HealthState", Value::U16(health));
    i.set("OperationalStatus", Value::u16s([operational]));
    i.set("Status", Value::str(status));
    i.set("StatusDescriptions", Value::empty_array());
    i.set(
        "EnabledState",
        Value::U16(if log.enabled() { 2 } else { 3 }),
    );
    i.set("RequestedState", Value::U16(12));
    i.set("EnabledDefault", Value::U16(2));
    // 0 is the schema's "undefined" for a store that cannot say.
    i.set(
        "MaxNumberOfRecords",
        Value::U64(log.capacity().unwrap_or(0)),
    );
    i.set("CurrentNumberOfRecords", Value::U64(log.len() as u64));
    // 2 Wraps When Full, 7 Never Overwrites (the classic SEL stops when full).
    i.set(
        "OverwritePolicy",
        Value::U16(if log.wraps() { 2 } else { 7 }),
    );
    i.set("LogState", Value::U16(2));
    i
}

pub fn record_instance(view: &LogRecordView) -> Instance<'_> {
    let (keys, timestamp) = record_keys(view);
    let mut i = Instance::with_capacity(&CIM_LOG_RECORD, 12);
    for (name, value) in keys {
        i.set(name, Value::string(value));
    }
    i.set("MessageTimestamp", Value::DateTime(timestamp));
    let title = format!("SEL record {}", view.record_id);
    i.set("Caption", Value::string(title.clone()));
    i.set("ElementName", Value::string(title));
    i.set("Description", Value::opt_str(view.description.as_deref()));
    i.set("RecordFormat", Value::str(&view.record_format));
    i.set("RecordData", Value::str(&view.record_data));
    // Deprecated in favour of RecordFormat.
    i.set("DataFormat", Value::Null);
    i
}

pub fn capabilities_instance() -> Instance<'static> {
    let mut i = Instance::with_capacity(&CIM_ENABLED_LOGICAL_ELEMENT_CAPABILITIES, 8);
    i.set("InstanceID", Value::str(CAPABILITIES_ID));
    i.set("Caption", Value::str("IPMI SEL Capabilities"));
    i.set(
        "Description",
        Value::str("What a console can change about the IPMI SEL"),
    );
    i.set("ElementName", Value::str("IPMI SEL Capabilities"));
    // Logging cannot be switched off through CIM (no RequestStateChange on the log), and the
    // log's name is fixed.
    i.set("RequestedStatesSupported", Value::empty_array());
    i.set("ElementNameEditSupported", Value::Bool(false));
    i.set("MaxElementNameLen", Value::Null);
    i.set("ElementNameMask", Value::Null);
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ClassDef;

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
            record_id: 1,
            timestamp: 0x49C1_AC0F,
            record_format: String::from("*uint8 X*"),
            record_data: String::from("*01*"),
            description: None,
        };
        let r = record_instance(&view);
        conforms(&r, &CIM_LOG_RECORD);
        assert_eq!(r.get("RecordID"), Some(&Value::str("1")));
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
}
