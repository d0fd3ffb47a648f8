//! The indications a SEL record raises (DSP1054), rendered for WS-Eventing deliveries.
//!
//! Every SEL record raises a `CIM_InstCreation` whose SourceInstance is the new
//! `CIM_LogRecord`; a system event record (a threshold crossing, a discrete sensor's change, a
//! host power transition: all logged against a sensor) raises a `CIM_AlertIndication` too, in
//! the shape Intel AMT consoles parse (IndicationTime, AlertType, PerceivedSeverity,
//! AlertingManagedElement as the sensor's EPR, MessageID, Message, MessageArguments,
//! OwningEntity). Both come from the record alone, so a live event and one replayed from the
//! SEL for a Bookmark are the same indication.
//!
//! Each [`Indication`] carries its properties as WQL values, so a subscription's filter
//! (`SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5`) is evaluated against the
//! indication itself ([`Indication::matches`]).

#[cfg(test)]
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use wsbmc_wsman::text::{Dec, Hex, cat};

use wsbmc_ipmi::sel::{Body, EventType};
use wsbmc_wsman::wql;
use wsbmc_wsman::{Epr, Selector, XmlWriter, write_epr};

use crate::datetime::CimDateTime;
use crate::log::{description, offset_text, perceived_severity, record_instance};
use crate::model::{NAMESPACE, text_keys};
use crate::platform::LogRecordView;
use crate::schema::{CIM_NUMERIC_SENSOR, CIM_SENSOR};
use crate::sensor::{device_id_of, device_keys};

pub const ALERT_INDICATION: &str = "CIM_AlertIndication";
pub const INST_CREATION: &str = "CIM_InstCreation";
/// The organisation that defines the MessageIDs below (`OwningEntity`).
pub const OWNING_ENTITY: &str = "wsbmc";

/// One indication: its class, the action it is delivered with (the class's resource URI), its
/// rendered element, the SEL record it comes from, and its properties for filters. The action
/// is one of two constants: borrowed, an indication raised without rendering (the bare-metal
/// image's) allocates nothing for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indication {
    pub class: &'static str,
    pub action: &'static str,
    pub body: String,
    pub record_id: u16,
    props: Vec<(&'static str, wql::Value)>,
}

impl Indication {
    /// Whether a subscription with `filter` (WQL, or `None` for every event) wants this one.
    /// The query's class is this indication's class or their superclass `CIM_Indication`; a
    /// filter that no longer parses (it did at Subscribe) matches nothing.
    pub fn matches(&self, filter: Option<&str>) -> bool {
        let Some(text) = filter else { return true };
        let Ok(q) = wql::parse(text) else {
            return false;
        };
        if !q.class.eq_ignore_ascii_case(self.class)
            && !q.class.eq_ignore_ascii_case("CIM_Indication")
        {
            return false;
        }
        match &q.condition {
            None => true,
            Some(c) => c.eval(&|name: &str| {
                self.props
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            }),
        }
    }
}

fn class_uri(class: &str) -> String {
    let mut s = String::from(wsbmc_wsman::ns::CIM_SCHEMA);
    s.push_str(class);
    s
}

fn open(out: &mut XmlWriter, class: &str) -> (String, String) {
    let root = cat(&["p:", class]);
    let uri = class_uri(class);
    let ty = cat(&[&root, "_Type"]);
    out.open(&root, &[("xmlns:p", &uri), ("xsi:type", &ty)]);
    (root, uri)
}

fn datetime(out: &mut XmlWriter, tag: &str, t: CimDateTime) {
    out.open(tag, &[]);
    out.leaf("cim:Datetime", &t.xml_text());
    out.close(tag);
}

/// The action URIs of the two classes (their resource URIs), for events that keep no copy.
pub const INST_CREATION_ACTION: &str =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_InstCreation";
pub const ALERT_INDICATION_ACTION: &str =
    "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication";

/// The indications `view` (a record just stored, or replayed) raises: the InstCreation, then
/// the AlertIndication for a system event record. `system_name` is the SystemName of the
/// sensors' EPRs.
pub fn of_record(view: &LogRecordView, system_name: &str) -> Vec<Indication> {
    let mut w = XmlWriter::new();
    let mut out = vec![inst_creation(view, Some(&mut w))];
    if let Some(first) = out.first_mut() {
        first.body = w.into_string();
    }
    let mut w = XmlWriter::new();
    if let Some(mut a) = alert(view, system_name, Some(&mut w)) {
        a.body = w.into_string();
        out.push(a);
    }
    out
}

/// What [`of_record`] yields, without rendering (every `body` empty): enough to evaluate
/// filters and queue each indication as its record and its place in this list (`part`), to be
/// rendered by [`render_part`] when delivered. For an image whose heap cannot hold queued
/// indications rendered (the bare-metal one).
pub fn unrendered(view: &LogRecordView, system_name: &str) -> Vec<Indication> {
    let mut out = vec![inst_creation(view, None)];
    if let Some(a) = alert(view, system_name, None) {
        out.push(a);
    }
    out
}

/// Writes indication `part` of `view` (its place in [`of_record`]'s list) into `out`, as
/// [`of_record`] renders it. False, writing nothing, when the record raises no such part.
pub fn render_part(view: &LogRecordView, system_name: &str, part: u8, out: &mut XmlWriter) -> bool {
    match part {
        0 => {
            inst_creation(view, Some(out));
            true
        }
        1 => alert(view, system_name, Some(out)).is_some(),
        _ => false,
    }
}

/// The CIM_InstCreation of any record, written into `out` when given.
/// IndicationIdentifier, `sel:<record id>`, which both indications of a record carry.
#[inline(never)]
fn identifier(view: &LogRecordView) -> String {
    cat(&["sel:", Dec::new(view.record_id()).as_str()])
}

fn inst_creation(view: &LogRecordView, out: Option<&mut XmlWriter>) -> Indication {
    let time = CimDateTime::from_sel(view.timestamp());
    let id = identifier(view);
    if let Some(w) = out {
        let (root, _) = open(w, INST_CREATION);
        w.leaf("p:IndicationIdentifier", &id);
        datetime(w, "p:IndicationTime", time);
        w.open("p:SourceInstance", &[]);
        crate::render::render(w, &record_instance(view));
        w.close("p:SourceInstance");
        w.close(&root);
    }
    Indication {
        class: INST_CREATION,
        action: INST_CREATION_ACTION,
        body: String::new(),
        record_id: view.record_id(),
        props: vec![
            ("IndicationTime", wql::Value::Str(time.cim_string())),
            ("IndicationIdentifier", wql::Value::Str(id)),
        ],
    }
}

/// The CIM_AlertIndication of a system event record, written into `out` when given; `None`
/// for OEM records (they name no sensor).
fn alert(
    view: &LogRecordView,
    system_name: &str,
    out: Option<&mut XmlWriter>,
) -> Option<Indication> {
    let Body::System(e) = view.record.body else {
        return None;
    };
    let (name, lun, owner) = match &view.sensor {
        Some(s) => (s.name.as_str(), s.lun, s.owner),
        None => ("Sensor", 0, 0x20),
    };
    let time = CimDateTime::from_sel(view.timestamp());
    let severity = perceived_severity(&view.record);
    let message = description(&view.record, name);
    let message_id = cat(&[
        "IPMI",
        Hex::upper(e.sensor_type.into(), 2).as_str(),
        Hex::upper(e.event_type.0.into(), 2).as_str(),
        Hex::upper(e.offset().into(), 2).as_str(),
    ]);
    // 5 Device Alert: a sensor of the managed system raised it.
    let alert_type: u16 = 5;
    if let Some(w) = out {
        let device_id = device_id_of(name, e.sensor_number, lun, owner);
        // Threshold events are logged against numeric sensors, the rest against discrete ones.
        let class = if e.event_type == EventType::THRESHOLD {
            &CIM_NUMERIC_SENSOR
        } else {
            &CIM_SENSOR
        };
        // The sensor's keys as its own EPR has them (`sensor::device_keys`), then the namespace.
        let mut selectors = text_keys(&device_keys(class, device_id, system_name));
        selectors.push(Selector::text("__cimnamespace", NAMESPACE));
        let epr = Epr {
            resource_uri: class.resource_uri(),
            selectors,
        };
        let state = match offset_text(e.sensor_type, e.event_type, e.offset()) {
            Some(parts) => cat(&parts),
            None => cat(&["offset 0x", Hex::lower(e.offset().into(), 2).as_str()]),
        };
        let direction = if e.deassertion {
            "Deasserted"
        } else {
            "Asserted"
        };
        let (root, _) = open(w, ALERT_INDICATION);
        // Properties in alphabetical order, like every instance this firmware renders.
        w.leaf("p:AlertType", Dec::new(alert_type).as_str());
        w.open("p:AlertingManagedElement", &[]);
        write_epr(w, &epr);
        w.close("p:AlertingManagedElement");
        w.leaf("p:IndicationIdentifier", &identifier(view));
        datetime(w, "p:IndicationTime", time);
        w.leaf("p:Message", &message);
        for arg in [name, state.as_str(), direction] {
            w.leaf("p:MessageArguments", arg);
        }
        w.leaf("p:MessageID", &message_id);
        w.leaf("p:OwningEntity", OWNING_ENTITY);
        w.leaf("p:PerceivedSeverity", Dec::new(severity).as_str());
        w.leaf("p:SystemName", system_name);
        w.close(&root);
    }
    Some(Indication {
        class: ALERT_INDICATION,
        action: ALERT_INDICATION_ACTION,
        body: String::new(),
        record_id: view.record_id(),
        props: vec![
            ("AlertType", wql::Value::Int(i64::from(alert_type))),
            ("PerceivedSeverity", wql::Value::Int(i64::from(severity))),
            ("MessageID", wql::Value::Str(message_id)),
            ("Message", wql::Value::Str(message)),
            ("OwningEntity", wql::Value::Str(String::from(OWNING_ENTITY))),
            ("IndicationTime", wql::Value::Str(time.cim_string())),
            ("SystemName", wql::Value::Str(String::from(system_name))),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::RecordSensor;
    use wsbmc_ipmi::sel::{GeneratorId, Record, RecordId, SystemEvent};

    fn record(id: u16, deassertion: bool, offset: u8) -> LogRecordView {
        LogRecordView {
            record: Record {
                id: RecordId(id),
                body: Body::System(SystemEvent {
                    timestamp: 0x6000_0000,
                    generator: GeneratorId(0x20),
                    evm_rev: 4,
                    sensor_type: 0x01,
                    sensor_number: 3,
                    deassertion,
                    event_type: EventType::THRESHOLD,
                    data: [0x50 | offset, 80, 75],
                }),
            },
            sensor: Some(RecordSensor {
                name: String::from("CPU Temp"),
                lun: 0,
                owner: 0x20,
            }),
            #[cfg(feature = "accounts")]
            audit: None,
        }
    }

    #[test]
    fn a_threshold_record_raises_creation_and_alert() {
        // Upper critical going high (offset 9).
        let ind = of_record(&record(7, false, 0x09), "host-1");
        assert_eq!(ind.len(), 2);
        assert_eq!(ind[0].class, INST_CREATION);
        assert!(ind[0].body.contains("<p:CIM_LogRecord"));
        assert!(ind[0].body.contains("<p:RecordID>7</p:RecordID>"));
        let a = &ind[1];
        assert_eq!(a.class, ALERT_INDICATION);
        assert_eq!(
            a.action,
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication"
        );
        assert!(
            a.body
                .contains("<p:PerceivedSeverity>6</p:PerceivedSeverity>")
        );
        assert!(a.body.contains("CPU Temp(3.0.32)"));
        // The alerting sensor's EPR: its keys in its own EPR's order, then the namespace.
        assert!(a.body.contains(concat!(
            r#"<w:SelectorSet><w:Selector Name="CreationClassName">CIM_NumericSensor</w:Selector>"#,
            r#"<w:Selector Name="DeviceID">CPU Temp(3.0.32)</w:Selector>"#,
            r#"<w:Selector Name="SystemCreationClassName">CIM_ComputerSystem</w:Selector>"#,
            r#"<w:Selector Name="SystemName">host-1</w:Selector>"#,
            r#"<w:Selector Name="__cimnamespace">root/cimv2</w:Selector></w:SelectorSet>"#
        )));
        assert!(
            a.body
                .contains("<p:MessageArguments>Asserted</p:MessageArguments>")
        );
        roxmltree::Document::parse(&format!(
            r#"<r xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">{}{}</r>"#,
            ind[0].body, a.body
        ))
        .unwrap();
    }

    #[test]
    fn filters_are_evaluated_against_the_indication() {
        let ind = of_record(&record(7, false, 0x09), "host-1");
        let sev5 = Some("SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5");
        assert!(ind[1].matches(sev5));
        assert!(!ind[0].matches(sev5), "another class");
        assert!(ind[0].matches(None));
        assert!(ind[0].matches(Some("SELECT * FROM CIM_Indication")));
        // A deassertion is information (2): filtered out.
        let off = of_record(&record(8, true, 0x09), "host-1");
        assert!(!off[1].matches(sev5));
        assert!(off[1].matches(Some(
            "SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity < 5"
        )));
    }

    #[test]
    fn a_deferred_part_renders_as_of_record_does_and_filters_alike() {
        let sev5 = Some("SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5");
        for view in [record(7, false, 0x09), record(8, true, 0x09)] {
            let rendered = of_record(&view, "host-1");
            let bare = unrendered(&view, "host-1");
            assert_eq!(rendered.len(), bare.len());
            for (part, (r, b)) in rendered.iter().zip(&bare).enumerate() {
                assert!(b.body.is_empty());
                assert_eq!(
                    (r.class, &r.action, r.record_id),
                    (b.class, &b.action, b.record_id)
                );
                assert_eq!(r.matches(sev5), b.matches(sev5));
                let mut w = XmlWriter::new();
                assert!(render_part(&view, "host-1", part as u8, &mut w));
                assert_eq!(w.into_string(), r.body);
            }
            let mut w = XmlWriter::new();
            assert!(!render_part(&view, "host-1", 2, &mut w));
            assert!(w.into_string().is_empty());
        }
        assert_eq!(INST_CREATION_ACTION, class_uri(INST_CREATION));
        assert_eq!(ALERT_INDICATION_ACTION, class_uri(ALERT_INDICATION));
    }
}
