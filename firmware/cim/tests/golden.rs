//! One rendered instance of every concrete class against a hand-checked fixture.
//!
//! Comparison is after canonicalisation (expanded names, sorted attributes, trimmed text,
//! whitespace-only text dropped), so the fixtures can be indented for review while the test
//! still catches any change in element names, namespaces, order, nil-ness or values.
//!
//! `WSBMC_BLESS=1 cargo test -p wsbmc-cim --test golden` rewrites the fixtures from the current
//! output; review the diff before committing it.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use wsbmc_cim::schema::ALL_CLASSES;
use wsbmc_cim::{Model, SystemInfo};
use wsbmc_monitor::{Reading, SensorState, Threshold};
use wsbmc_wsman::{EnumSpec, Filter, Provider, XmlWriter};

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `CIM_NumericSensor` → `cim_numeric_sensor`.
fn snake(class: &str) -> String {
    let mut out = String::from("cim");
    for c in class.trim_start_matches("CIM_").chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Indents the flat renderer output one element per line, text kept inline.
fn pretty(xml: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = xml;
    let mut last_was_text = false;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        if !text.is_empty() {
            out.push_str(text);
            last_was_text = true;
        }
        let end = rest[start..]
            .find('>')
            .map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..end];
        rest = &rest[end..];
        if tag.starts_with("</") {
            depth = depth.saturating_sub(1);
            if !last_was_text {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
            out.push_str(tag);
            last_was_text = false;
        } else {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&"  ".repeat(depth));
            out.push_str(tag);
            if !tag.ends_with("/>") {
                depth += 1;
            }
            last_was_text = false;
        }
    }
    out.push('\n');
    out
}

fn check(name: &str, rendered: &str) {
    let path = fixture_dir().join(format!("{name}.xml"));
    if let Err(e) = golden::check_stored(&path, rendered, &pretty(rendered), canonical) {
        panic!("{name}: {e}");
    }
}

/// The first enumerated instance whose concrete class is `class`.
fn first_of(m: &Model<'_>, class: &str) -> Option<String> {
    walk_ok(m, &spec(&uri(class), Filter::None))
        .into_iter()
        .map(|(_, body)| body)
        .find(|body| class_of(body) == class)
}

#[test]
fn every_concrete_class_matches_its_fixture() {
    // With an account table, so the DSP1034/DSP1039 classes have instances; the first
    // instance of every other class is the same as without one (their kinds come first).
    #[cfg(feature = "accounts")]
    let f = Fixture::with_accounts();
    #[cfg(not(feature = "accounts"))]
    let f = Fixture::full();
    let m = f.model();
    let mut checked = 0;
    for class in ALL_CLASSES.iter().filter(|c| !c.is_abstract) {
        let Some(body) = first_of(&m, class.name) else {
            panic!("no instance of {}", class.name);
        };
        check(&snake(class.name), &body);
        checked += 1;
    }
    // 27 classes, the three of DSP1023, the five of DSP1036 and the twelve of DSP1034/DSP1039
    // (CIM_ElementSettingData is in both) and the three of DSP1054 when this build carries them.
    assert_eq!(
        checked,
        27 + 3 * usize::from(cfg!(feature = "software-inventory"))
            + 4 * usize::from(cfg!(feature = "ip-interface"))
            + usize::from(cfg!(any(feature = "ip-interface", feature = "accounts")))
            + 11 * usize::from(cfg!(feature = "accounts"))
            + 3 * usize::from(cfg!(feature = "subscriptions"))
    );
}

#[test]
fn the_bmc_system_matches_its_fixture() {
    let f = Fixture::full();
    let items = walk_ok(&f.model(), &spec(&uri("CIM_ComputerSystem"), Filter::None));
    assert_eq!(items.len(), 2);
    check("cim_computer_system_bmc", &items[1].1);
}

#[cfg(feature = "software-inventory")]
#[test]
fn platform_firmware_matches_its_fixtures() {
    let f = Fixture::full();
    let items = walk_ok(
        &f.model(),
        &spec(&uri("CIM_SoftwareIdentity"), Filter::None),
    );
    assert_eq!(items.len(), 3);
    check("cim_software_identity_bios", &items[1].1);
    check("cim_software_identity_satellite", &items[2].1);
}

#[test]
fn numeric_sensor_get_matches_the_fixture() {
    let f = Fixture::full();
    let body = get(
        &f.model(),
        &uri("CIM_NumericSensor"),
        &cpu_keys(),
        Some("root/cimv2"),
    );
    match body {
        Ok(b) => check("cim_numeric_sensor", &b),
        Err(e) => panic!("{e:?}"),
    }
}

#[test]
fn fixture_names() {
    assert_eq!(snake("CIM_NumericSensor"), "cim_numeric_sensor");
    assert_eq!(
        snake("CIM_AssociatedPowerManagementService"),
        "cim_associated_power_management_service"
    );
}

#[test]
fn sensor_names_cannot_break_the_document() {
    let mut desc = cpu_temp();
    desc.name = "A<&\"'>B".into();
    let monitor = std::cell::RefCell::new(wsbmc_monitor::Monitor::new(vec![desc]));
    let system = SystemInfo::new("h<1>");
    let platform = TestPlatform::bare();
    let model = Model::new(&monitor, &system, &platform);
    let spec = EnumSpec {
        resource_uri: uri("CIM_NumericSensor"),
        namespace: None,
        filter: Filter::None,
    };
    let mut cursor = 0;
    let mut out = XmlWriter::new();
    let epr = model.next_item(&spec, &mut cursor, Some(&mut out));
    assert!(matches!(epr, Ok(Some(_))));
    let id = with_parsed(out.as_str(), |node| {
        node.descendants()
            .find(|n| n.has_tag_name((uri("CIM_NumericSensor").as_str(), "DeviceID")))
            .and_then(|n| n.text())
            .map(String::from)
    });
    assert_eq!(id.as_deref(), Some("A<&\"'>B(48.0.32)"));
}

#[test]
fn state_reaches_the_rendering() {
    // The fixture's CPU0 is above UNC; a second reading back in range clears it.
    let f = Fixture::full();
    let recorded =
        f.monitor
            .borrow_mut()
            .record(wsbmc_monitor::SensorId(0), Ok(40_000), 2_000, true);
    assert!(recorded.is_ok());
    let state: SensorState = f.monitor.borrow().states()[0];
    assert_eq!(state.reading, Reading::Value(40_000));
    assert_eq!(state.asserted & Threshold::UpperNonCritical.bit(), 0);
    let body = get(&f.model(), &uri("CIM_NumericSensor"), &cpu_keys(), None).unwrap_or_default();
    assert!(body.contains("<p:CurrentState>Normal</p:CurrentState>"));
}

fn discrete_desc(
    key: &str,
    name: &str,
    number: u8,
    entity: (u8, u8),
    sensor_type: u8,
    readable: u16,
) -> wsbmc_monitor::DiscreteDesc {
    wsbmc_monitor::DiscreteDesc {
        key: key.into(),
        name: name.into(),
        description: String::new(),
        number,
        owner: 0x20,
        lun: 0,
        entity_id: entity.0,
        entity_instance: entity.1,
        sensor_type,
        reading_type: 0x6F,
        readable,
        assertion_mask: readable,
        deassertion_mask: readable,
        poll_ms: 1000,
        power: wsbmc_monitor::PowerDomain::Always,
        source: wsbmc_monitor::DiscreteSource::Gpio {
            line: 0,
            offset: 0,
            active_low: false,
        },
    }
}

/// Discrete sensors as the agent feeds them from the monitor: a failed PSU (Critical), an open
/// chassis (Degraded), and a pulled PSU (no reading: Unknown).
#[test]
fn monitor_fed_discrete_sensors_match_their_fixtures() {
    use wsbmc_cim::sensor::discrete_view;
    use wsbmc_monitor::{DiscreteReading, NoData};
    let psu = discrete_desc("psu0_status", "PSU0 Status", 0xA0, (10, 1), 0x08, 0x0F);
    let intrusion = discrete_desc("chassis_intrusion", "Intrusion", 0xA2, (23, 1), 0x05, 0x01);
    let mut platform = TestPlatform::full();
    platform.discrete = vec![
        discrete_view(&psu, &DiscreteReading::States(0x03)),
        discrete_view(&intrusion, &DiscreteReading::States(0x01)),
        discrete_view(&psu, &DiscreteReading::NoData(NoData::NotPresent)),
    ];
    let f = Fixture::new(platform);
    let items: Vec<String> = walk_ok(&f.model(), &spec(&uri("CIM_Sensor"), Filter::None))
        .into_iter()
        .map(|(_, body)| body)
        .filter(|body| class_of(body) == "CIM_Sensor")
        .collect();
    assert_eq!(items.len(), 3);
    check("cim_sensor_psu_failed", &items[0]);
    check("cim_sensor_intrusion", &items[1]);
    check("cim_sensor_psu_absent", &items[2]);
}
