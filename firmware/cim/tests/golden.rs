//! The rendered CIM_NumericSensor instance against a hand-checked fixture.
//!
//! Comparison is after canonicalisation (expanded names, sorted attributes, trimmed text,
//! whitespace-only text dropped), so the fixture can be indented for review while the test still
//! catches any change in element names, namespaces, order, nil-ness or values.

use std::fmt::Write as _;

use wsbmc_cim::{Model, SystemInfo};
use wsbmc_monitor::{
    PowerDomain, Quantity, Reading, SensorDesc, SensorSource, SensorState, Threshold, Thresholds,
};
use wsbmc_wsman::{Provider, Selector, Target, XmlWriter};

const URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor";

/// The envelope's namespace declarations the renderer relies on.
fn wrap(element: &str) -> String {
    format!(
        "<root xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\">{element}</root>"
    )
}

fn canon_node(node: roxmltree::Node<'_, '_>, out: &mut String) {
    if node.is_text() {
        let t = node.text().unwrap_or("").trim();
        if !t.is_empty() {
            let _ = write!(out, "{t:?}");
        }
        return;
    }
    if !node.is_element() {
        return;
    }
    let name = node.tag_name();
    let _ = write!(
        out,
        "({{{}}}{}",
        name.namespace().unwrap_or(""),
        name.name()
    );
    let mut attrs: Vec<String> = node
        .attributes()
        .map(|a| {
            format!(
                "{{{}}}{}={:?}",
                a.namespace().unwrap_or(""),
                a.name(),
                a.value()
            )
        })
        .collect();
    attrs.sort();
    for a in attrs {
        let _ = write!(out, " {a}");
    }
    for child in node.children() {
        canon_node(child, out);
    }
    out.push(')');
}

/// Canonical text of the first element inside `<root>`, one element per line so a mismatch
/// diff points at the property.
fn canonical(xml: &str) -> String {
    let doc = match roxmltree::Document::parse(xml) {
        Ok(d) => d,
        Err(e) => panic!("not XML ({e}): {xml}"),
    };
    let mut out = String::new();
    canon_node(doc.root_element(), &mut out);
    out.replace(")(", ")\n(")
}

fn cpu_temp() -> SensorDesc {
    let thresholds = Thresholds {
        lower_critical: Some(5_000),
        upper_non_critical: Some(85_000),
        upper_critical: Some(95_000),
        upper_fatal: Some(105_000),
        ..Thresholds::default()
    };
    SensorDesc {
        key: "cpu0_temp".into(),
        name: "CPU0 Temp".into(),
        description: String::new(),
        number: 48,
        owner: 32,
        lun: 0,
        entity_id: 3,
        entity_instance: 1,
        quantity: Quantity::Temperature,
        scale: -3,
        thresholds,
        default_thresholds: thresholds,
        settable: Threshold::UpperNonCritical.bit() | Threshold::UpperCritical.bit(),
        hysteresis: 2_000,
        min_readable: -128_000,
        max_readable: 127_000,
        nominal: Some(45_000),
        poll_ms: 1_000,
        power: PowerDomain::Always,
        source: SensorSource {
            device: 0,
            channel: 0,
        },
    }
}

fn render(desc: SensorDesc, state: SensorState) -> String {
    let sensors = vec![desc];
    let states = vec![state];
    let system = SystemInfo::new("host-1");
    let model = Model::from_parts(&sensors, &states, &system);
    let selectors = vec![
        Selector::text("CreationClassName", "CIM_NumericSensor"),
        Selector::text("DeviceID", "CPU0 Temp(48.0.32)"),
        Selector::text("SystemCreationClassName", "CIM_ComputerSystem"),
        Selector::text("SystemName", "host-1"),
    ];
    let mut out = XmlWriter::new();
    let target = Target {
        resource_uri: URI,
        selectors: &selectors,
        namespace: Some("root/cimv2"),
    };
    if let Err(f) = model.get(&target, &mut out) {
        panic!("get failed: {f:?}");
    }
    out.into_string()
}

#[test]
fn numeric_sensor_matches_the_golden_fixture() {
    let state = SensorState {
        reading: Reading::Value(87_500),
        updated_ms: 1_000,
        min: Some(40_000),
        max: Some(87_500),
        asserted: Threshold::UpperNonCritical.bit(),
    };
    let rendered = render(cpu_temp(), state);
    let fixture = include_str!("fixtures/cim_numeric_sensor.xml");
    assert_eq!(canonical(&wrap(&rendered)), canonical(&wrap(fixture)));
}

#[test]
fn sensor_names_cannot_break_the_document() {
    let mut desc = cpu_temp();
    desc.name = "A<&\"'>B".into();
    let sensors = vec![desc];
    let states = vec![SensorState::default()];
    let system = SystemInfo::new("h<1>");
    let model = Model::from_parts(&sensors, &states, &system);
    let spec = wsbmc_wsman::EnumSpec {
        resource_uri: URI.into(),
        namespace: None,
        filter: wsbmc_wsman::Filter::None,
    };
    let mut cursor = 0;
    let mut out = XmlWriter::new();
    let epr = model.next_item(&spec, &mut cursor, Some(&mut out));
    assert!(matches!(epr, Ok(Some(_))));
    let xml = wrap(out.as_str());
    let doc = roxmltree::Document::parse(&xml);
    let Ok(doc) = doc else {
        panic!("unparsable: {xml}");
    };
    let id = doc
        .descendants()
        .find(|n| n.has_tag_name((URI, "DeviceID")))
        .and_then(|n| n.text());
    assert_eq!(id, Some("A<&\"'>B(48.0.32)"));
}
