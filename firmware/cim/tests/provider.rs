//! The model through the WS-Man `Provider` trait: Get and selectors, namespaces, polymorphic
//! and filtered enumeration, association traversal, Put and the extrinsic methods.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use wsbmc_cim::{ClearOutcome, PowerState, PowerTransition};
use wsbmc_monitor::Thresholds;
use wsbmc_wsman::envelope::{parse_properties, parse_representation};
use wsbmc_wsman::provider::AssociationFilter;
use wsbmc_wsman::{
    Epr, Fault, FaultDetail, FaultKind, Filter, Provider, Selector, SelectorValue, Target,
    XmlWriter,
};

const INTEROP: Option<&str> = Some("root/interop");

// ---- Get and selectors -----------------------------------------------------------------------

#[test]
fn get_by_all_four_keys() {
    let f = Fixture::full();
    let body = get(&f.model(), &uri("CIM_NumericSensor"), &cpu_keys(), None).unwrap_or_default();
    assert!(body.starts_with("<p:CIM_NumericSensor "));
    assert!(body.contains("<p:DeviceID>CPU0 Temp(48.0.32)</p:DeviceID>"));
    assert!(body.contains("<p:CurrentState>Upper Non-Critical</p:CurrentState>"));
}

#[test]
fn names_and_class_names_are_case_insensitive_values_are_not() {
    let f = Fixture::full();
    let m = f.model();
    let selectors = sel(&[
        ("creationclassname", "cim_numericsensor"),
        ("DEVICEID", "CPU0 Temp(48.0.32)"),
        ("systemCreationClassName", "cim_computersystem"),
        ("systemname", "host-1"),
    ]);
    let u = "HTTP://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/cim_numericSENSOR";
    let body = get(&m, u, &selectors, None).unwrap_or_default();
    assert!(body.contains("<p:CreationClassName>CIM_NumericSensor</p:CreationClassName>"));
    let mut s = cpu_keys();
    s[1] = Selector::text("DeviceID", "cpu0 temp(48.0.32)");
    assert_eq!(
        fault_of(get(&m, &uri("CIM_NumericSensor"), &s, None)),
        (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
    );
}

#[test]
fn get_through_a_base_class_is_polymorphic() {
    let f = Fixture::full();
    let m = f.model();
    for base in ["CIM_Sensor", "CIM_LogicalDevice"] {
        let body = get(&m, &uri(base), &cpu_keys(), None).unwrap_or_default();
        assert!(body.starts_with("<p:CIM_NumericSensor "), "{base}");
    }
    let mut s = cpu_keys();
    s[0] = Selector::text("CreationClassName", "CIM_ComputerSystem");
    assert_eq!(
        fault_of(get(&m, &uri("CIM_Sensor"), &s, None)),
        (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
    );
}

#[test]
fn selector_faults() {
    let f = Fixture::full();
    let m = f.model();
    let u = uri("CIM_NumericSensor");
    for i in 0..4 {
        let mut s = cpu_keys();
        s.remove(i);
        assert_eq!(
            fault_of(get(&m, &u, &s, None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::InsufficientSelectors)
            )
        );
    }
    let mut s = cpu_keys();
    s.push(Selector::text("Name", "x"));
    assert_eq!(
        fault_of(get(&m, &u, &s, None)),
        (
            FaultKind::InvalidSelectors,
            Some(FaultDetail::UnexpectedSelectors)
        )
    );
    let mut s = cpu_keys();
    s.push(Selector::text("deviceid", "CPU0 Temp(48.0.32)"));
    assert_eq!(
        fault_of(get(&m, &u, &s, None)),
        (
            FaultKind::InvalidSelectors,
            Some(FaultDetail::DuplicateSelectors)
        )
    );
    let mut s = cpu_keys();
    s[1] = Selector {
        name: "DeviceID".into(),
        value: SelectorValue::Epr(Box::new(epr("CIM_NumericSensor", Vec::new()))),
    };
    assert_eq!(
        fault_of(get(&m, &u, &s, None)),
        (FaultKind::InvalidSelectors, Some(FaultDetail::TypeMismatch))
    );
    // A reference key given as text is the same mismatch.
    let s = sel(&[("GroupComponent", "x"), ("PartComponent", "y")]);
    assert_eq!(
        fault_of(get(&m, &uri("CIM_SystemDevice"), &s, None)),
        (FaultKind::InvalidSelectors, Some(FaultDetail::TypeMismatch))
    );
}

#[test]
fn unknown_resources() {
    let f = Fixture::full();
    let m = f.model();
    for u in [
        uri("CIM_Fan"),
        uri(""),
        "http://example.com/CIM_NumericSensor".into(),
        ALL.into(),
        String::new(),
    ] {
        assert_eq!(
            fault_of(get(&m, &u, &cpu_keys(), None)),
            (
                FaultKind::DestinationUnreachable,
                Some(FaultDetail::InvalidResourceURI)
            ),
            "{u}"
        );
    }
    assert_eq!(
        fault_of(m.enumerate(&spec(&uri("CIM_Fan"), Filter::None))),
        (
            FaultKind::DestinationUnreachable,
            Some(FaultDetail::InvalidResourceURI)
        )
    );
}

#[test]
fn namespaces() {
    let f = Fixture::full();
    let m = f.model();
    let u = uri("CIM_NumericSensor");
    for ns in ["root/cimv2", "ROOT/CIMV2", "root\\cimv2", "/root/cimv2"] {
        assert!(get(&m, &u, &cpu_keys(), Some(ns)).is_ok(), "{ns}");
    }
    assert_eq!(
        fault_of(get(&m, &u, &cpu_keys(), INTEROP)),
        (
            FaultKind::DestinationUnreachable,
            Some(FaultDetail::InvalidResourceURI)
        )
    );
    assert_eq!(
        fault_of(get(&m, &u, &cpu_keys(), Some("root/nothing"))),
        (
            FaultKind::DestinationUnreachable,
            Some(FaultDetail::InvalidNamespace)
        )
    );
    // Profiles live in root/interop and are also served from root/cimv2 and without a namespace.
    let profile = sel(&[("InstanceID", "DMTF:Sensors:1.0.0")]);
    for ns in [INTEROP, Some("root/cimv2"), None] {
        let body = get(&m, &uri("CIM_RegisteredProfile"), &profile, ns).unwrap_or_default();
        assert!(
            body.contains("<p:RegisteredName>Sensors</p:RegisteredName>"),
            "{ns:?}"
        );
    }
    let mut s = spec(&uri("CIM_RegisteredProfile"), Filter::None);
    s.namespace = Some("root/interop".into());
    let items = walk_ok(&m, &s);
    assert_eq!(items.len(), 6 + SW + IP + SUB);
    assert!(
        items
            .iter()
            .all(|(e, _)| text_selector(e, "__cimnamespace") == Some("root/interop"))
    );
    // Enumerating a base class in root/interop yields only what lives there.
    let mut s = spec(&uri("CIM_ManagedElement"), Filter::None);
    s.namespace = Some("root/interop".into());
    // With the DSP1054 classes, the fixture's two subscriptions' filters and listeners too.
    assert_eq!(walk_ok(&m, &s).len(), 6 + SW + IP + 5 * SUB);
}

#[test]
fn profile_instance_ids_are_stable() {
    let f = Fixture::full();
    let ids: Vec<String> = walk_ok(
        &f.model(),
        &spec(&uri("CIM_RegisteredProfile"), Filter::None),
    )
    .iter()
    .filter_map(|(e, _)| text_selector(e, "InstanceID").map(String::from))
    .collect();
    let mut want = vec![
        "DMTF:Base Server:1.0.0",
        "DMTF:Sensors:1.0.0",
        "DMTF:Record Log:2.0.0",
        "DMTF:Power State Management:1.0.0",
        "DMTF:Physical Asset:1.0.0",
        "DMTF:Profile Registration:1.0.0",
    ];
    if SW == 1 {
        want.push("DMTF:Software Inventory:1.0.1");
    }
    if IP == 1 {
        want.push("DMTF:IP Interface:1.0.0");
    }
    if SUB == 1 {
        want.push("DMTF:Indications:1.2.2");
    }
    assert_eq!(ids, want);
    // Without a log there is no Record Log profile.
    let bare = Fixture::new(TestPlatform::bare());
    let n = walk_ok(
        &bare.model(),
        &spec(&uri("CIM_RegisteredProfile"), Filter::None),
    )
    .len();
    assert_eq!(n, 5 + SW + IP + SUB);
}

/// 1 when this build carries the DSP1023 classes (and their profile), else 0.
const SW: usize = cfg!(feature = "software-inventory") as usize;
/// 1 when this build carries the DSP1036 classes (and their profile), else 0.
const IP: usize = cfg!(feature = "ip-interface") as usize;
/// 1 when this build carries the DSP1054 classes (and their profile), else 0.
const SUB: usize = cfg!(feature = "subscriptions") as usize;

// ---- Enumeration ----------------------------------------------------------------------------

#[test]
fn every_enumerated_epr_gets_the_same_instance() {
    let f = Fixture::complete();
    let m = f.model();
    for class in wsbmc_cim::schema::ALL_CLASSES
        .iter()
        .filter(|c| !c.is_abstract)
    {
        let items = walk_ok(&m, &spec(&uri(class.name), Filter::None));
        assert!(!items.is_empty(), "{}", class.name);
        for (e, body) in items {
            let ns = text_selector(&e, "__cimnamespace");
            let keys: Vec<Selector> = e.selectors[1..].to_vec();
            let got = get(&m, &e.resource_uri, &keys, ns);
            assert_eq!(got.as_deref().ok(), Some(body.as_str()), "{}", class.name);
        }
    }
}

#[test]
fn counts_of_every_class() {
    let f = Fixture::full();
    let m = f.model();
    let count = |c: &str| walk_ok(&m, &spec(&uri(c), Filter::None)).len();
    assert_eq!(count("CIM_ComputerSystem"), 2);
    assert_eq!(count("CIM_NumericSensor"), 2);
    assert_eq!(count("CIM_Sensor"), 3);
    assert_eq!(count("CIM_SystemDevice"), 3);
    assert_eq!(count("CIM_AssociatedSensor"), 3);
    assert_eq!(count("CIM_MemberOfCollection"), 3);
    // Host → BMC, domain → host, domain → BMC; SystemDevice is a SystemComponent too.
    assert_eq!(count("CIM_SystemComponent"), 6);
    assert_eq!(count("CIM_LogRecord"), 3);
    assert_eq!(count("CIM_LogManagesRecord"), 3);
    assert_eq!(count("CIM_ElementConformsToProfile"), 5 + SW + IP + SUB);
    assert_eq!(count("CIM_ReferencedProfile"), 5 + SW + IP + SUB);
    // One filter, listener and subscription per subscription.
    #[cfg(feature = "subscriptions")]
    {
        assert_eq!(count("CIM_IndicationFilter"), 2);
        assert_eq!(count("CIM_ListenerDestination"), 2);
        assert_eq!(count("CIM_ListenerDestinationWSManagement"), 2);
        assert_eq!(count("CIM_IndicationSubscription"), 2);
    }
    // The BMC's firmware, the host BIOS and one satellite controller.
    #[cfg(feature = "software-inventory")]
    {
        assert_eq!(count("CIM_SoftwareIdentity"), 3);
        assert_eq!(count("CIM_ElementSoftwareIdentity"), 3);
        assert_eq!(count("CIM_InstalledSoftwareIdentity"), 3);
    }
    assert_eq!(count("CIM_ElementCapabilities"), 2);
    assert_eq!(count("CIM_Capabilities"), 2);
    assert_eq!(
        m.count_estimate(&spec(&uri("CIM_Sensor"), Filter::None)),
        Some(3)
    );
}

/// Every class renderer, walked: `Instance::set` checks each property name (and the value's
/// type) against the class in debug builds, so a renderer that misspells a property fails here
/// instead of leaving the property out of the wire output.
#[test]
fn every_class_renders_only_properties_of_its_schema() {
    let f = Fixture::complete();
    let m = f.model();
    let mut rendered = 0;
    for class in wsbmc_cim::schema::ALL_CLASSES
        .iter()
        .filter(|c| !c.is_abstract)
    {
        let items = walk_ok(&m, &spec(&class.resource_uri(), Filter::None));
        assert!(!items.is_empty(), "the full fixture has no {}", class.name);
        rendered += items.len();
    }
    assert!(rendered > 40, "{rendered}");
}

#[test]
#[should_panic(expected = "CIM_NumericSensor has no property CurrentReadng")]
fn a_misspelt_property_fails_the_tests() {
    let mut i = wsbmc_cim::Instance::new(&wsbmc_cim::schema::CIM_NUMERIC_SENSOR);
    i.set("CurrentReadng", wsbmc_cim::Value::S32(1));
}

#[test]
#[should_panic(expected = "CIM_NumericSensor.CurrentReading")]
fn a_value_of_the_wrong_type_fails_the_tests() {
    let mut i = wsbmc_cim::Instance::new(&wsbmc_cim::schema::CIM_NUMERIC_SENSOR);
    i.set("CurrentReading", wsbmc_cim::Value::str("1"));
}

#[test]
fn polymorphic_enumeration_returns_concrete_classes() {
    let f = Fixture::full();
    let items = walk_ok(&f.model(), &spec(&uri("CIM_Sensor"), Filter::None));
    let classes: Vec<String> = items.iter().map(|(_, b)| class_of(b)).collect();
    assert_eq!(
        classes,
        ["CIM_NumericSensor", "CIM_NumericSensor", "CIM_Sensor"]
    );
    assert_eq!(items[2].0.resource_uri, uri("CIM_Sensor"));
    assert!(
        items[2]
            .1
            .contains("<p:DeviceID>PSU1 Status(112.0.32)</p:DeviceID>")
    );
    assert_eq!(items[0].0.resource_uri, uri("CIM_NumericSensor"));
}

#[test]
fn epr_shape() {
    let f = Fixture::full();
    let items = walk_ok(&f.model(), &spec(&uri("CIM_NumericSensor"), Filter::None));
    let names: Vec<(&str, Option<&str>)> = items[0]
        .0
        .selectors
        .iter()
        .map(|s| (s.name.as_str(), s.as_text()))
        .collect();
    assert_eq!(
        names,
        [
            ("__cimnamespace", Some("root/cimv2")),
            ("CreationClassName", Some("CIM_NumericSensor")),
            ("DeviceID", Some("CPU0 Temp(48.0.32)")),
            ("SystemCreationClassName", Some("CIM_ComputerSystem")),
            ("SystemName", Some("host-1")),
        ]
    );
    let records = walk_ok(&f.model(), &spec(&uri("CIM_LogRecord"), Filter::None));
    assert_eq!(
        text_selector(&records[0].0, "MessageTimestamp"),
        Some("20090319022103.000000+000")
    );
    assert_eq!(
        text_selector(&records[2].0, "MessageTimestamp"),
        Some("99990101000000.000000+000")
    );
}

#[test]
fn log_record_get_accepts_either_timestamp_spelling() {
    let f = Fixture::full();
    let mut s = sel(&[
        ("CreationClassName", "CIM_LogRecord"),
        ("LogCreationClassName", "CIM_RecordLog"),
        ("LogName", "IPMI:SEL"),
        ("RecordID", "1"),
        ("MessageTimestamp", "2009-03-19T02:21:03Z"),
    ]);
    assert!(get(&f.model(), &uri("CIM_LogRecord"), &s, None).is_ok());
    s[4] = Selector::text("MessageTimestamp", "20090319022104.000000+000");
    assert!(get(&f.model(), &uri("CIM_LogRecord"), &s, None).is_err());
}

#[test]
fn next_item_is_side_effect_free_and_object_optional() {
    let f = Fixture::full();
    let m = f.model();
    let s = spec(&uri("CIM_NumericSensor"), Filter::None);
    let mut c1 = 0;
    let first = m.next_item(&s, &mut c1, None).ok().flatten();
    let mut c2 = 0;
    let mut out = XmlWriter::new();
    let again = m.next_item(&s, &mut c2, Some(&mut out)).ok().flatten();
    assert_eq!(first, again);
    assert_eq!(c1, c2);
    assert!(!out.is_empty());
    let mut end = u64::MAX;
    assert_eq!(m.next_item(&s, &mut end, None), Ok(None));
}

#[test]
fn a_growing_log_does_not_disturb_a_cursor() {
    let f = Fixture::full();
    let m = f.model();
    let s = spec(&uri("CIM_LogRecord"), Filter::None);
    let mut cursor = 0;
    let first = m.next_item(&s, &mut cursor, None).ok().flatten();
    assert!(first.is_some());
    if let Some(log) = &f.platform.log {
        log.records.borrow_mut().push(record(4, 0x5000_0000));
    }
    let rest = std::iter::from_fn(|| m.next_item(&s, &mut cursor, None).ok().flatten()).count();
    assert_eq!(rest, 3);
}

/// Issue #20 finding 8: a log that wraps while it is enumerated. The cursor holds the next
/// RecordID, so each Pull continues with the record after the last one returned, or with the
/// oldest one if that was overwritten in between: never a repeat, and never a gap except
/// records that were gone before the enumeration reached them. RecordIDs wrap past 0xFFFE too.
#[test]
fn a_wrapping_log_is_enumerated_without_gaps_or_repeats() {
    const CAP: usize = 20;
    let next_id = |id: u16| if id >= 0xFFFE { 1 } else { id + 1 };
    let f = Fixture::full();
    let Some(log) = &f.platform.log else {
        panic!("the full platform has a log")
    };
    let fill = |newest: &mut u16| {
        let mut records = log.records.borrow_mut();
        records.clear();
        *newest = 0xFFF0;
        for _ in 0..CAP {
            *newest = next_id(*newest);
            records.push(record(*newest, 0x5000_0000));
        }
    };
    let mut newest = 0;
    let append = |n: usize, newest: &mut u16| {
        let mut records = log.records.borrow_mut();
        for _ in 0..n {
            *newest = next_id(*newest);
            records.push(record(*newest, 0x5000_0000));
            if records.len() > CAP {
                records.remove(0);
            }
        }
    };
    let m = f.model();
    for class in ["CIM_LogRecord", "CIM_LogManagesRecord"] {
        fill(&mut newest);
        let s = spec(&uri(class), Filter::None);
        let mut cursor = m.enumerate(&s).expect("enumerate");
        let mut last: Option<u16> = None;
        let mut seen = Vec::new();
        let mut step = 0usize;
        loop {
            // Between Pulls of one to three items, zero to five new records arrive (faster
            // than they are read, so the log wraps under the reader), then the writer stops.
            append(if step < 150 { step % 6 } else { 0 }, &mut newest);
            let ids: Vec<u16> = log.records.borrow().iter().map(|r| r.record_id()).collect();
            let expected = match last {
                Some(l) if ids.contains(&next_id(l)) => Some(next_id(l)),
                Some(l) if next_id(l) == next_id(newest) => None,
                Some(_) | None => ids.first().copied(),
            };
            let mut got = None;
            for _ in 0..1 + step % 3 {
                let Some(epr) = m.next_item(&s, &mut cursor, None).expect("pull") else {
                    break;
                };
                let id = if class == "CIM_LogRecord" {
                    text_selector(&epr, "RecordID").map(str::to_string)
                } else {
                    epr.selectors
                        .iter()
                        .find(|s| s.name == "Record")
                        .and_then(|s| match &s.value {
                            SelectorValue::Epr(e) => text_selector(e, "RecordID"),
                            SelectorValue::Text(_) => None,
                        })
                        .map(str::to_string)
                };
                let id: u16 = id.and_then(|t| t.parse().ok()).expect("a RecordID");
                if got.is_none() {
                    got = Some(id);
                } else {
                    assert_eq!(
                        Some(id),
                        last.map(next_id),
                        "{class}: consecutive in a batch"
                    );
                }
                assert!(!seen.contains(&id), "{class}: {id} repeated");
                seen.push(id);
                last = Some(id);
            }
            assert_eq!(got, expected, "{class}: step {step}, log {ids:?}");
            if got.is_none() {
                break;
            }
            step += 1;
            assert!(step < 1000, "the enumeration catches up with the writer");
        }
        assert!(
            seen.len() > CAP,
            "{class}: read across wraps: {}",
            seen.len()
        );
        assert!(
            seen.iter().any(|&i| i > 0xFF00) && seen.iter().any(|&i| i < 0x100),
            "{class}: across the id wrap"
        );
    }
}

/// A log with gaps in its RecordIDs (survivors of damage) is still walked once, in order.
#[test]
fn a_log_with_gaps_in_its_record_ids_is_walked_once() {
    let f = Fixture::full();
    if let Some(log) = &f.platform.log {
        *log.records.borrow_mut() = [3, 4, 9, 10, 11, 40]
            .into_iter()
            .map(|id| record(id, 0x5000_0000))
            .collect();
    }
    let m = f.model();
    let ids: Vec<String> = walk_ok(&m, &spec(&uri("CIM_LogRecord"), Filter::None))
        .iter()
        .filter_map(|(epr, _)| text_selector(epr, "RecordID").map(str::to_string))
        .collect();
    assert_eq!(ids, ["3", "4", "9", "10", "11", "40"]);
}

#[test]
fn the_bare_platform() {
    let f = Fixture::new(TestPlatform::bare());
    let m = f.model();
    assert_eq!(
        walk_ok(&m, &spec(&uri("CIM_RecordLog"), Filter::None)).len(),
        0
    );
    assert_eq!(
        walk_ok(&m, &spec(&uri("CIM_Sensor"), Filter::None)).len(),
        2
    );
    let caps = walk_ok(
        &m,
        &spec(&uri("CIM_PowerManagementCapabilities"), Filter::None),
    );
    assert!(!caps[0].1.contains("PowerStatesSupported>"));
    let chassis = walk_ok(&m, &spec(&uri("CIM_Chassis"), Filter::None));
    assert!(chassis[0].1.contains("<p:SerialNumber xsi:nil=\"true\"/>"));
    assert_eq!(
        fault_of(get(
            &m,
            &uri("CIM_RecordLog"),
            &sel(&[("InstanceID", "IPMI:SEL")]),
            None
        )),
        (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
    );
}

// ---- Filters --------------------------------------------------------------------------------

#[test]
fn all_classes_needs_a_filter() {
    let f = Fixture::full();
    assert_eq!(
        fault_of(f.model().enumerate(&spec(ALL, Filter::None))),
        (
            FaultKind::UnsupportedFeature,
            Some(FaultDetail::FilteringRequired)
        )
    );
}

#[test]
fn selector_filter() {
    let f = Fixture::full();
    let m = f.model();
    let by = |u: &str, pairs: &[(&str, &str)]| walk(&m, &spec(u, Filter::Selector(sel(pairs))));
    let items = by(&uri("CIM_NumericSensor"), &[("DeviceID", "FAN1(96.0.32)")]);
    assert_eq!(items.map(|i| i.len()).ok(), Some(1));
    let items = by(
        &uri("CIM_Sensor"),
        &[("SensorType", "2"), ("HealthState", "10")],
    );
    assert_eq!(items.map(|i| i.len()).ok(), Some(1));
    // Arrays match when any element does.
    let items = by(&uri("CIM_ComputerSystem"), &[("Dedicated", "28")]);
    assert_eq!(
        items
            .ok()
            .map(|i| text_selector(&i[0].0, "Name").map(String::from)),
        Some(Some("host-1:BMC".into()))
    );
    // On the all-classes URI, classes without the property are skipped.
    let items = by(ALL, &[("creationclassname", "cim_computersystem")]);
    assert_eq!(items.map(|i| i.len()).ok(), Some(2));
    assert_eq!(
        fault_of(by(&uri("CIM_NumericSensor"), &[("NoSuchProperty", "1")])),
        (FaultKind::CannotProcessFilter, None)
    );
}

#[test]
fn wql() {
    let f = Fixture::full();
    let m = f.model();
    let q = |u: &str, text: &str| walk(&m, &spec(u, Filter::Wql(text.into())));
    let items = q(
        ALL,
        "SELECT * FROM CIM_NumericSensor WHERE CurrentReading > 80000",
    );
    let Ok(items) = items else {
        panic!("{items:?}")
    };
    assert_eq!(items.len(), 1);
    assert!(items[0].1.contains("CPU0 Temp(48.0.32)"));
    let Ok(items) = q(
        &uri("CIM_Sensor"),
        "select DeviceID, CurrentState from CIM_Sensor where HealthState = 5 or HealthState = 0",
    ) else {
        panic!("query")
    };
    // FAN1 has no reading yet (health 0); PSU1 is healthy; CPU0 is above UNC (10).
    assert_eq!(items.len(), 2);
    for (_, body) in &items {
        assert!(body.contains("<p:DeviceID>"));
        assert!(body.contains("<p:CurrentState>"));
        assert!(!body.contains("<p:Caption>"), "{body}");
    }
    let Ok(items) = q(
        ALL,
        "SELECT * FROM CIM_RegisteredProfile WHERE RegisteredName = 'Sensors'",
    ) else {
        panic!("query")
    };
    assert_eq!(items.len(), 1);
    for bad in [
        (ALL, "SELECT * FROM CIM_Nothing"),
        (ALL, "SELECT Nope FROM CIM_NumericSensor"),
        (ALL, "SELECT * FROM CIM_Sensor WHERE CurrentReading > 1"),
        (
            &uri("CIM_NumericSensor") as &str,
            "SELECT * FROM CIM_ComputerSystem",
        ),
        (ALL, "SELECT FROM"),
    ] {
        assert_eq!(
            fault_of(q(bad.0, bad.1)).0,
            FaultKind::CannotProcessFilter,
            "{}",
            bad.1
        );
    }
}

// ---- Associations ---------------------------------------------------------------------------

fn assoc(object: Epr) -> AssociationFilter {
    AssociationFilter {
        instances_of_association: false,
        object,
        association_class: None,
        result_class: None,
        role: None,
        result_role: None,
        include_result_property: Vec::new(),
    }
}

fn traverse(m: &wsbmc_cim::Model<'_>, af: AssociationFilter) -> Result<Vec<(Epr, String)>, Fault> {
    walk(m, &spec(ALL, Filter::Association(af)))
}

fn traverse_ok(m: &wsbmc_cim::Model<'_>, af: AssociationFilter) -> Vec<(Epr, String)> {
    match traverse(m, af) {
        Ok(items) => items,
        Err(f) => panic!("traversal failed: {f:?}"),
    }
}

#[test]
fn profile_discovery_reaches_every_sensor() {
    let f = Fixture::full();
    let m = f.model();
    let mut sensors_profile = sel(&[("InstanceID", "DMTF:Sensors:1.0.0")]);
    sensors_profile.insert(0, Selector::text("__cimnamespace", "root/interop"));
    let mut af = assoc(epr("CIM_RegisteredProfile", sensors_profile));
    af.association_class = Some("CIM_ElementConformsToProfile".into());
    af.result_class = Some("CIM_ComputerSystem".into());
    let hosts = traverse_ok(&m, af);
    assert_eq!(hosts.len(), 1);
    assert_eq!(text_selector(&hosts[0].0, "Name"), Some("host-1"));
    assert_eq!(
        text_selector(&hosts[0].0, "__cimnamespace"),
        Some("root/cimv2")
    );

    let mut af = assoc(hosts[0].0.clone());
    af.association_class = Some("CIM_SystemDevice".into());
    af.role = Some("GroupComponent".into());
    af.result_role = Some("PartComponent".into());
    let sensors = traverse_ok(&m, af);
    let ids: Vec<&str> = sensors
        .iter()
        .filter_map(|(e, _)| text_selector(e, "DeviceID"))
        .collect();
    assert_eq!(
        ids,
        [
            "CPU0 Temp(48.0.32)",
            "FAN1(96.0.32)",
            "PSU1 Status(112.0.32)"
        ]
    );
    assert_eq!(class_of(&sensors[2].1), "CIM_Sensor");
}

#[test]
fn host_to_log_to_records() {
    let f = Fixture::full();
    let m = f.model();
    let mut af = assoc(epr("CIM_ComputerSystem", host_keys()));
    af.association_class = Some("CIM_UseOfLog".into());
    let logs = traverse_ok(&m, af);
    assert_eq!(logs.len(), 1);
    assert_eq!(class_of(&logs[0].1), "CIM_RecordLog");

    let mut af = assoc(logs[0].0.clone());
    af.association_class = Some("CIM_LogManagesRecord".into());
    let records = traverse_ok(&m, af);
    let ids: Vec<&str> = records
        .iter()
        .filter_map(|(e, _)| text_selector(e, "RecordID"))
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);

    // The same links as association instances, each with the log as its Log end.
    let mut af = assoc(logs[0].0.clone());
    af.instances_of_association = true;
    af.result_class = Some("CIM_LogManagesRecord".into());
    af.role = Some("Log".into());
    let links = traverse_ok(&m, af);
    assert_eq!(links.len(), 3);
    assert!(
        links
            .iter()
            .all(|(_, b)| class_of(b) == "CIM_LogManagesRecord")
    );
    assert!(links[0].1.contains("<p:Record>"));
}

#[test]
fn associators_return_each_far_end_once() {
    let f = Fixture::full();
    let m = f.model();
    // CPU0 reaches the host through SystemDevice and AssociatedSensor, and the collection
    // through MemberOfCollection.
    let items = traverse_ok(&m, assoc(epr("CIM_NumericSensor", cpu_keys())));
    let classes: Vec<String> = items.iter().map(|(_, b)| class_of(b)).collect();
    assert_eq!(
        classes,
        ["CIM_ComputerSystem", "CIM_SystemSpecificCollection"]
    );
    // As references there are three links.
    let mut af = assoc(epr("CIM_NumericSensor", cpu_keys()));
    af.instances_of_association = true;
    let links = traverse_ok(&m, af);
    let classes: Vec<String> = links.iter().map(|(_, b)| class_of(b)).collect();
    assert_eq!(
        classes,
        [
            "CIM_SystemDevice",
            "CIM_AssociatedSensor",
            "CIM_MemberOfCollection"
        ]
    );
}

#[test]
fn everything_around_the_host() {
    let f = Fixture::full();
    let m = f.model();
    let items = traverse_ok(&m, assoc(epr("CIM_ComputerSystem", host_keys())));
    let mut classes: Vec<String> = items.iter().map(|(_, b)| class_of(b)).collect();
    classes.sort();
    classes.dedup();
    for want in [
        "CIM_AdminDomain",
        "CIM_Chassis",
        "CIM_ComputerSystem",
        "CIM_NumericSensor",
        "CIM_PowerManagementService",
        "CIM_RecordLog",
        "CIM_RegisteredProfile",
        "CIM_Sensor",
    ] {
        assert!(classes.iter().any(|c| c == want), "{want} in {classes:?}");
    }
    // Three profiles (four with Software Inventory) name the host as their central instance.
    let profiles = items
        .iter()
        .filter(|(_, b)| class_of(b) == "CIM_RegisteredProfile")
        .count();
    assert_eq!(profiles, 3 + SW);
}

#[test]
fn roles_and_result_classes_narrow() {
    let f = Fixture::full();
    let m = f.model();
    let bmc = epr(
        "CIM_ComputerSystem",
        sel(&[
            ("CreationClassName", "CIM_ComputerSystem"),
            ("Name", "host-1:BMC"),
        ]),
    );
    // The BMC is PartComponent of host and domain, and Antecedent of the service and collection.
    let mut af = assoc(bmc.clone());
    af.role = Some("PartComponent".into());
    let groups = traverse_ok(&m, af);
    assert_eq!(groups.len(), 2);
    let mut af = assoc(bmc.clone());
    af.result_class = Some("CIM_Service".into());
    let services = traverse_ok(&m, af);
    assert_eq!(services.len(), 1);
    assert_eq!(class_of(&services[0].1), "CIM_PowerManagementService");
    let mut af = assoc(bmc);
    af.association_class = Some("CIM_Dependency".into());
    af.result_role = Some("Dependent".into());
    let hosted = traverse_ok(&m, af);
    let classes: Vec<String> = hosted.iter().map(|(_, b)| class_of(b)).collect();
    // And of its two IP endpoints (HostedAccessPoint) when the build has DSP1036.
    assert_eq!(
        classes,
        [
            "CIM_SystemSpecificCollection",
            "CIM_PowerManagementService",
            "CIM_IPProtocolEndpoint",
            "CIM_IPProtocolEndpoint"
        ][..2 + 2 * IP]
    );
}

#[test]
fn include_result_property_projects() {
    let f = Fixture::full();
    let m = f.model();
    let mut af = assoc(epr("CIM_ComputerSystem", host_keys()));
    af.result_class = Some("CIM_NumericSensor".into());
    af.include_result_property = vec!["CurrentReading".into(), "deviceid".into()];
    let items = traverse_ok(&m, af);
    assert_eq!(items.len(), 2);
    for (_, body) in &items {
        let children = with_parsed(body, |n| n.children().filter(|c| c.is_element()).count());
        assert_eq!(children, 2, "{body}");
        assert!(body.contains("<p:DeviceID>"));
    }
}

#[test]
fn association_filter_faults() {
    let f = Fixture::full();
    let m = f.model();
    let host = epr("CIM_ComputerSystem", host_keys());
    let mut af = assoc(host.clone());
    af.association_class = Some("CIM_NoSuchAssociation".into());
    assert_eq!(fault_of(traverse(&m, af)).0, FaultKind::CannotProcessFilter);
    let mut af = assoc(host.clone());
    af.result_class = Some("CIM_Nope".into());
    assert_eq!(fault_of(traverse(&m, af)).0, FaultKind::CannotProcessFilter);
    let missing = epr(
        "CIM_ComputerSystem",
        sel(&[
            ("CreationClassName", "CIM_ComputerSystem"),
            ("Name", "other"),
        ]),
    );
    assert_eq!(
        fault_of(traverse(&m, assoc(missing))).0,
        FaultKind::CannotProcessFilter
    );
    let incomplete = epr("CIM_ComputerSystem", sel(&[("Name", "host-1")]));
    assert_eq!(
        fault_of(traverse(&m, assoc(incomplete))).0,
        FaultKind::CannotProcessFilter
    );
    assert_eq!(
        fault_of(traverse(&m, assoc(epr("CIM_Fan", Vec::new())))).0,
        FaultKind::CannotProcessFilter
    );
    // An association filter belongs on the all-classes URI.
    let s = spec(&uri("CIM_ComputerSystem"), Filter::Association(assoc(host)));
    assert_eq!(fault_of(m.enumerate(&s)).0, FaultKind::CannotProcessFilter);
}

#[test]
fn association_get_by_reference_keys() {
    let f = Fixture::full();
    let m = f.model();
    let keys = vec![
        Selector {
            name: "GroupComponent".into(),
            value: SelectorValue::Epr(Box::new(epr("CIM_ComputerSystem", host_keys()))),
        },
        Selector {
            // Addressed through a base class URI, as a console that only knows CIM_Sensor does.
            name: "PartComponent".into(),
            value: SelectorValue::Epr(Box::new(Epr {
                resource_uri: uri("CIM_Sensor"),
                selectors: cpu_keys(),
            })),
        },
    ];
    let body = get(&m, &uri("CIM_SystemDevice"), &keys, None).unwrap_or_default();
    assert!(body.starts_with("<p:CIM_SystemDevice "));
    assert!(body.contains("CPU0 Temp(48.0.32)"));
}

// ---- Put ------------------------------------------------------------------------------------

/// The current representation of CPU0 with `edit` applied to its text, Put back.
fn put_edit(f: &Fixture, edit: impl Fn(String) -> String) -> Result<String, Fault> {
    let m = f.model();
    let current = get(&m, &uri("CIM_NumericSensor"), &cpu_keys(), None)?;
    let body = edit(current);
    let xml = wrap(&body);
    let doc = match roxmltree::Document::parse(&xml) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {xml}"),
    };
    let Some(node) = doc.root_element().first_element_child() else {
        panic!("no body");
    };
    let keys = cpu_keys();
    let mut out = XmlWriter::new();
    m.put(
        &Target {
            resource_uri: &uri("CIM_NumericSensor"),
            selectors: &keys,
            namespace: None,
        },
        &parse_representation(node),
        &mut out,
    )?;
    Ok(out.into_string())
}

fn set(prop: &str, from: &str, to: &str) -> impl Fn(String) -> String {
    let old = format!("<p:{prop}>{from}</p:{prop}>");
    let new = format!("<p:{prop}>{to}</p:{prop}>");
    move |body: String| {
        assert!(body.contains(&old), "{old} not in {body}");
        body.replace(&old, &new)
    }
}

fn thresholds(f: &Fixture) -> Thresholds {
    f.monitor.borrow().sensors()[0].thresholds
}

#[test]
fn put_changes_a_settable_threshold_and_returns_the_instance() {
    let f = Fixture::full();
    let body = put_edit(&f, set("UpperThresholdNonCritical", "85000", "88000"));
    let Ok(body) = body else { panic!("{body:?}") };
    assert!(body.contains("<p:UpperThresholdNonCritical>88000</p:UpperThresholdNonCritical>"));
    assert_eq!(thresholds(&f).upper_non_critical, Some(88_000));
    let persisted = f.platform.persisted.borrow();
    assert_eq!(persisted.len(), 1);
    assert_eq!(persisted[0].0, "cpu0_temp");
    assert_eq!(persisted[0].1.upper_non_critical, Some(88_000));
}

#[test]
fn put_applies_changes_that_are_only_valid_together() {
    let f = Fixture::full();
    // UNC past the old UC: valid only with UC raised in the same Put.
    let r = put_edit(&f, |b| {
        set("UpperThresholdCritical", "95000", "104000")(set(
            "UpperThresholdNonCritical",
            "85000",
            "100000",
        )(b))
    });
    assert!(r.is_ok(), "{r:?}");
    let t = thresholds(&f);
    assert_eq!(
        (t.upper_non_critical, t.upper_critical),
        (Some(100_000), Some(104_000))
    );
}

#[test]
fn put_may_remove_a_settable_threshold() {
    let f = Fixture::full();
    let r = put_edit(&f, |b| {
        b.replace(
            "<p:UpperThresholdNonCritical>85000</p:UpperThresholdNonCritical>",
            "<p:UpperThresholdNonCritical xsi:nil=\"true\"/>",
        )
    });
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(thresholds(&f).upper_non_critical, None);
}

#[test]
fn put_ignores_readings_and_missing_properties() {
    let f = Fixture::full();
    let r = put_edit(&f, set("CurrentReading", "87500", "12"));
    assert!(r.is_ok(), "{r:?}");
    let minimal = "<p:CIM_NumericSensor xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor\"><p:UpperThresholdCritical>96000</p:UpperThresholdCritical></p:CIM_NumericSensor>";
    let r = put_edit(&f, |_| minimal.into());
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(thresholds(&f).upper_critical, Some(96_000));
    // Nothing changed, nothing persisted by the first Put.
    assert_eq!(f.platform.persisted.borrow().len(), 1);
}

#[test]
fn put_refusals() {
    let f = Fixture::full();
    let invalid = (
        FaultKind::InvalidRepresentation,
        Some(FaultDetail::InvalidValues),
    );
    let before = thresholds(&f);
    for edit in [
        // Not settable on this sensor.
        Box::new(set("LowerThresholdCritical", "5000", "6000")) as Box<dyn Fn(String) -> String>,
        // Read-only.
        Box::new(set("Caption", "CPU0 Temp", "Hot")),
        Box::new(set("MaxReadable", "127000", "1")),
        // A key.
        Box::new(set("DeviceID", "CPU0 Temp(48.0.32)", "x")),
        // Out of order: UNC above UC.
        Box::new(set("UpperThresholdNonCritical", "85000", "99000")),
        // Not a number.
        Box::new(set("UpperThresholdNonCritical", "85000", "hot")),
        // No such property.
        Box::new(|b: String| b.replace("<p:Accuracy xsi:nil=\"true\"/>", "<p:Nope>1</p:Nope>")),
        // A scalar twice.
        Box::new(|b: String| {
            b.replace(
                "<p:Caption>CPU0 Temp</p:Caption>",
                "<p:Caption>CPU0 Temp</p:Caption><p:Caption>CPU0 Temp</p:Caption>",
            )
        }),
        // Another class's element.
        Box::new(|b: String| b.replace("CIM_NumericSensor", "CIM_ComputerSystem")),
    ] {
        assert_eq!(fault_of(put_edit(&f, edit)), invalid);
    }
    assert_eq!(thresholds(&f), before);
    assert!(f.platform.persisted.borrow().is_empty());
    let wrong_ns = |b: String| {
        b.replacen(
            "xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor\"",
            "xmlns:p=\"http://example.com/CIM_NumericSensor\"",
            1,
        )
    };
    assert_eq!(
        fault_of(put_edit(&f, wrong_ns)),
        (
            FaultKind::InvalidRepresentation,
            Some(FaultDetail::InvalidNamespace)
        )
    );
}

#[test]
fn put_on_other_classes_is_not_supported() {
    let f = Fixture::full();
    let m = f.model();
    let xml = wrap(
        "<p:CIM_ComputerSystem xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem\"/>",
    );
    let Ok(doc) = roxmltree::Document::parse(&xml) else {
        panic!("xml")
    };
    let Some(node) = doc.root_element().first_element_child() else {
        panic!("body")
    };
    let keys = host_keys();
    let r = m.put(
        &Target {
            resource_uri: &uri("CIM_ComputerSystem"),
            selectors: &keys,
            namespace: None,
        },
        &parse_representation(node),
        &mut XmlWriter::new(),
    );
    assert_eq!(
        fault_of(r),
        (
            FaultKind::ActionNotSupported,
            Some(FaultDetail::ActionMismatch)
        )
    );
}

// ---- Methods --------------------------------------------------------------------------------

fn invoke(
    f: &Fixture,
    class: &str,
    keys: &[Selector],
    method: &str,
    params: &str,
) -> Result<u32, Fault> {
    let m = f.model();
    let xml = wrap(&format!(
        "<h:{method}_INPUT xmlns:h=\"{}\">{params}</h:{method}_INPUT>",
        uri(class)
    ));
    let doc = match roxmltree::Document::parse(&xml) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {xml}"),
    };
    let Some(input) = doc.root_element().first_element_child() else {
        panic!("no input");
    };
    let mut out = XmlWriter::new();
    m.invoke(
        &Target {
            resource_uri: &uri(class),
            selectors: keys,
            namespace: None,
        },
        method,
        &parse_properties(input),
        &mut out,
    )?;
    let body = out.into_string();
    let prefix = format!(
        "<p:{method}_OUTPUT xmlns:p=\"{}\"><p:ReturnValue>",
        uri(class)
    );
    assert!(body.starts_with(&prefix), "{body}");
    let code = body[prefix.len()..].split('<').next().unwrap_or("");
    match code.parse() {
        Ok(c) => Ok(c),
        Err(_) => panic!("{body}"),
    }
}

fn rsc(f: &Fixture, params: &str) -> Result<u32, Fault> {
    invoke(
        f,
        "CIM_ComputerSystem",
        &host_keys(),
        "RequestStateChange",
        params,
    )
}

const BAD_PARAMETER: FaultKind = FaultKind::InvalidParameter;

#[test]
fn request_state_change_on_the_host() {
    let f = Fixture::full();
    assert_eq!(rsc(&f, "<h:RequestedState>11</h:RequestedState>"), Ok(0));
    assert_eq!(
        f.platform.requests.borrow().as_slice(),
        [PowerTransition::Reset]
    );
    // The host shows the request in flight.
    let body = get(&f.model(), &uri("CIM_ComputerSystem"), &host_keys(), None).unwrap_or_default();
    assert!(body.contains("<p:RequestedState>11</p:RequestedState>"));
    // A second request while the first is carried out is refused as busy.
    assert_eq!(rsc(&f, "<h:RequestedState>3</h:RequestedState>"), Ok(4099));
    f.platform.in_progress.set(None);
    for (state, want) in [
        (2, PowerTransition::On),
        (3, PowerTransition::OffHard),
        (4, PowerTransition::OffSoft),
        (10, PowerTransition::Cycle),
    ] {
        f.platform.in_progress.set(None);
        assert_eq!(
            rsc(&f, &format!("<h:RequestedState>{state}</h:RequestedState>")),
            Ok(0)
        );
        assert_eq!(f.platform.requests.borrow().last(), Some(&want));
    }
    f.platform.in_progress.set(None);
    // No Change succeeds without a request; Offline is a state this system cannot take; 99 is
    // outside the ValueMap.
    let n = f.platform.requests.borrow().len();
    assert_eq!(rsc(&f, "<h:RequestedState>5</h:RequestedState>"), Ok(0));
    assert_eq!(rsc(&f, "<h:RequestedState>6</h:RequestedState>"), Ok(1));
    assert_eq!(rsc(&f, "<h:RequestedState>99</h:RequestedState>"), Ok(5));
    assert_eq!(
        rsc(
            &f,
            "<h:RequestedState>2</h:RequestedState><h:TimeoutPeriod><cim:Interval>PT10S</cim:Interval></h:TimeoutPeriod>"
        ),
        Ok(4098)
    );
    // A nil TimeoutPeriod is no timeout.
    assert_eq!(
        rsc(
            &f,
            "<h:RequestedState>2</h:RequestedState><h:TimeoutPeriod xsi:nil=\"true\"/>"
        ),
        Ok(0)
    );
    assert_eq!(f.platform.requests.borrow().len(), n + 1);
    f.platform.in_progress.set(None);
    f.platform.fail.set(true);
    assert_eq!(rsc(&f, "<h:RequestedState>2</h:RequestedState>"), Ok(4));
}

#[test]
fn request_state_change_parameter_faults() {
    let f = Fixture::full();
    assert_eq!(fault_of(rsc(&f, "")).0, BAD_PARAMETER);
    assert_eq!(
        fault_of(rsc(&f, "<h:RequestedState xsi:nil=\"true\"/>")).0,
        BAD_PARAMETER
    );
    assert_eq!(
        fault_of(rsc(&f, "<h:RequestedState>on</h:RequestedState>")),
        (BAD_PARAMETER, Some(FaultDetail::TypeMismatch))
    );
    assert_eq!(
        fault_of(rsc(&f, "<h:RequestedState>70000</h:RequestedState>")),
        (BAD_PARAMETER, Some(FaultDetail::TypeMismatch))
    );
    assert_eq!(
        fault_of(rsc(
            &f,
            "<h:RequestedState>2</h:RequestedState><h:Force>1</h:Force>"
        )),
        (BAD_PARAMETER, Some(FaultDetail::InvalidName))
    );
    assert_eq!(
        fault_of(rsc(
            &f,
            "<h:RequestedState>2</h:RequestedState><h:requestedstate>3</h:requestedstate>"
        )),
        (BAD_PARAMETER, Some(FaultDetail::InvalidName))
    );
    // Parameters match by local name in any namespace and case.
    assert_eq!(rsc(&f, "<requestedstate>2</requestedstate>"), Ok(0));
    assert!(f.platform.requests.borrow().len() == 1);
}

#[test]
fn power_is_not_supported_on_the_bare_platform() {
    let f = Fixture::new(TestPlatform::bare());
    assert_eq!(rsc(&f, "<h:RequestedState>2</h:RequestedState>"), Ok(1));
    let body = get(&f.model(), &uri("CIM_ComputerSystem"), &host_keys(), None).unwrap_or_default();
    assert!(body.contains("<p:RequestedState>12</p:RequestedState>"));
}

#[test]
fn request_state_change_elsewhere_is_not_supported() {
    let f = Fixture::full();
    let bmc = sel(&[
        ("CreationClassName", "CIM_ComputerSystem"),
        ("Name", "host-1:BMC"),
    ]);
    let r = invoke(
        &f,
        "CIM_ComputerSystem",
        &bmc,
        "RequestStateChange",
        "<h:RequestedState>11</h:RequestedState>",
    );
    assert_eq!(r, Ok(1));
    let r = invoke(
        &f,
        "CIM_NumericSensor",
        &cpu_keys(),
        "RequestStateChange",
        "<h:RequestedState>3</h:RequestedState>",
    );
    assert_eq!(r, Ok(1));
    let r = invoke(&f, "CIM_NumericSensor", &cpu_keys(), "Reset", "");
    assert_eq!(r, Ok(1));
    assert!(f.platform.requests.borrow().is_empty());
}

fn host_epr_xml() -> String {
    "<h:ManagedElement><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address><a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</w:ResourceURI><w:SelectorSet><w:Selector Name=\"CreationClassName\">CIM_ComputerSystem</w:Selector><w:Selector Name=\"Name\">host-1</w:Selector></w:SelectorSet></a:ReferenceParameters></h:ManagedElement>".into()
}

fn rpsc(f: &Fixture, params: &str) -> Result<u32, Fault> {
    let pms = sel(&[
        ("CreationClassName", "CIM_PowerManagementService"),
        ("Name", "Power Management Service"),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "host-1:BMC"),
    ]);
    invoke(
        f,
        "CIM_PowerManagementService",
        &pms,
        "RequestPowerStateChange",
        params,
    )
}

#[test]
fn request_power_state_change() {
    let f = Fixture::full();
    let me = host_epr_xml();
    assert_eq!(
        rpsc(&f, &format!("<h:PowerState>12</h:PowerState>{me}")),
        Ok(0)
    );
    assert_eq!(
        f.platform.requests.borrow().as_slice(),
        [PowerTransition::OffSoft]
    );
    // The association shows it.
    let items = walk_ok(
        &f.model(),
        &spec(&uri("CIM_AssociatedPowerManagementService"), Filter::None),
    );
    assert!(
        items[0]
            .1
            .contains("<p:TransitioningToPowerState>8</p:TransitioningToPowerState>")
    );
    assert_eq!(
        rpsc(&f, &format!("<h:PowerState>2</h:PowerState>{me}")),
        Ok(4099)
    );
    f.platform.in_progress.set(None);
    assert_eq!(
        rpsc(&f, &format!("<h:PowerState>3</h:PowerState>{me}")),
        Ok(1)
    );
    assert_eq!(
        rpsc(&f, &format!("<h:PowerState>0</h:PowerState>{me}")),
        Ok(5)
    );
    assert_eq!(
        rpsc(
            &f,
            &format!(
                "<h:PowerState>2</h:PowerState>{me}<h:Time><cim:Datetime>2030-01-01T00:00:00Z</cim:Datetime></h:Time>"
            )
        ),
        Ok(1)
    );
    // AMT tooling sends the EPR without namespaces.
    let bare = "<h:ManagedElement><Address>x</Address><ReferenceParameters><ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</ResourceURI><SelectorSet><Selector Name=\"CreationClassName\">CIM_ComputerSystem</Selector><Selector Name=\"Name\">host-1</Selector></SelectorSet></ReferenceParameters></h:ManagedElement>";
    assert_eq!(
        rpsc(&f, &format!("<h:PowerState>10</h:PowerState>{bare}")),
        Ok(0)
    );
    assert_eq!(
        f.platform.requests.borrow().last(),
        Some(&PowerTransition::Reset)
    );
}

#[test]
fn request_power_state_change_faults() {
    let f = Fixture::full();
    let bmc = host_epr_xml().replace(">host-1<", ">host-1:BMC<");
    assert_eq!(
        fault_of(rpsc(&f, &format!("<h:PowerState>2</h:PowerState>{bmc}"))),
        (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
    );
    assert_eq!(
        fault_of(rpsc(&f, "<h:PowerState>2</h:PowerState>")).0,
        BAD_PARAMETER
    );
    assert_eq!(
        fault_of(rpsc(
            &f,
            "<h:PowerState>2</h:PowerState><h:ManagedElement>host</h:ManagedElement>"
        )),
        (BAD_PARAMETER, Some(FaultDetail::TypeMismatch))
    );
    assert_eq!(fault_of(rpsc(&f, &host_epr_xml())).0, BAD_PARAMETER);
    assert!(f.platform.requests.borrow().is_empty());
}

/// The shape Intel AMT consoles send (DMT wsman-messages, CIM_PowerManagementService
/// RequestPowerStateChange): no SelectorSet on the service, and the managed system named
/// `CIM_ComputerSystem` / `ManagedSystem`, unqualified Address and ReferenceParameters.
fn amt_managed_element(name: &str, class: &str) -> String {
    format!(
        "<h:ManagedElement><Address xmlns=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\">http://schemas.xmlsoap.org/ws/2004/08/addressing</Address><ReferenceParameters xmlns=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"><ResourceURI xmlns=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/{class}</ResourceURI><SelectorSet xmlns=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><Selector Name=\"CreationClassName\">{class}</Selector><Selector Name=\"Name\">{name}</Selector></SelectorSet></ReferenceParameters></h:ManagedElement>"
    )
}

fn amt_rpsc(f: &Fixture, params: &str) -> Result<u32, Fault> {
    invoke(
        f,
        "CIM_PowerManagementService",
        &[],
        "RequestPowerStateChange",
        params,
    )
}

#[test]
fn request_power_state_change_in_the_amt_shape() {
    let f = Fixture::full();
    let me = amt_managed_element("ManagedSystem", "CIM_ComputerSystem");
    assert_eq!(
        amt_rpsc(&f, &format!("<h:PowerState>8</h:PowerState>{me}")),
        Ok(0)
    );
    assert_eq!(
        f.platform.requests.borrow().as_slice(),
        [PowerTransition::OffSoft]
    );
    // The host's own name without service selectors, and __cimnamespace alone, work too.
    f.platform.in_progress.set(None);
    let host = amt_managed_element("host-1", "CIM_ComputerSystem");
    let ns_only = sel(&[("__cimnamespace", "root/cimv2")]);
    let r = invoke(
        &f,
        "CIM_PowerManagementService",
        &ns_only,
        "RequestPowerStateChange",
        &format!("<h:PowerState>2</h:PowerState>{host}"),
    );
    assert_eq!(r, Ok(0));
}

#[test]
fn request_power_state_change_in_the_amt_shape_refusals() {
    let f = Fixture::full();
    let refused = |params: String| fault_of(amt_rpsc(&f, &params));
    // The BMC itself, in any case.
    for bmc in ["host-1:BMC", "HOST-1:bmc"] {
        let me = amt_managed_element(bmc, "CIM_ComputerSystem");
        assert_eq!(
            refused(format!("<h:PowerState>8</h:PowerState>{me}")),
            (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
        );
    }
    // Something that is not a computer system.
    let chassis = amt_managed_element("ManagedSystem", "CIM_Chassis");
    assert_eq!(
        refused(format!("<h:PowerState>8</h:PowerState>{chassis}")),
        (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
    );
    // A computer system URI whose CreationClassName names another class.
    let other = amt_managed_element("ManagedSystem", "CIM_ComputerSystem")
        .replace(">CIM_ComputerSystem</Selector>", ">CIM_Chassis</Selector>");
    assert_eq!(
        refused(format!("<h:PowerState>8</h:PowerState>{other}")),
        (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
    );
    // A key a computer system does not have.
    let extra = amt_managed_element("ManagedSystem", "CIM_ComputerSystem").replace(
        "</SelectorSet>",
        "<Selector Name=\"DeviceID\">x</Selector></SelectorSet>",
    );
    assert_eq!(
        refused(format!("<h:PowerState>8</h:PowerState>{extra}")),
        (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
    );
    // No Name at all.
    let anon = amt_managed_element("ManagedSystem", "CIM_ComputerSystem")
        .replace("<Selector Name=\"Name\">ManagedSystem</Selector>", "");
    assert_eq!(
        refused(format!("<h:PowerState>8</h:PowerState>{anon}")),
        (BAD_PARAMETER, Some(FaultDetail::InvalidValue))
    );
    assert!(f.platform.requests.borrow().is_empty());
}

#[test]
fn single_instance_classes_need_no_selectors() {
    let f = Fixture::full();
    let m = f.model();
    for class in [
        "CIM_Chassis",
        "CIM_Card",
        "CIM_PowerManagementService",
        "CIM_PowerManagementCapabilities",
        "CIM_RecordLog",
        "CIM_AdminDomain",
        "CIM_SystemSpecificCollection",
        "CIM_Service",
    ] {
        let body = match get(&m, &uri(class), &[], None) {
            Ok(b) => b,
            Err(e) => panic!("{class}: {e:?}"),
        };
        let listed = walk_ok(&m, &spec(&uri(class), Filter::None));
        assert_eq!(listed.len(), 1, "{class}");
        assert_eq!(body, listed[0].1, "{class}");
        // __cimnamespace alone is still no SelectorSet.
        let ns = sel(&[("__cimnamespace", "root/cimv2")]);
        assert_eq!(
            get(&m, &uri(class), &ns, Some("root/cimv2")).ok(),
            Some(body)
        );
    }
    // One profile-registration class instance would be needed in root/interop; there are many.
    assert_eq!(
        fault_of(get(
            &m,
            &uri("CIM_RegisteredProfile"),
            &[],
            Some("root/interop")
        )),
        (
            FaultKind::InvalidSelectors,
            Some(FaultDetail::InsufficientSelectors)
        )
    );
}

#[test]
fn several_instances_still_need_selectors() {
    let f = Fixture::full();
    let m = f.model();
    // Two computer systems (host and BMC), two numeric sensors, several log records, and an
    // abstract class with several subclasses.
    for class in [
        "CIM_ComputerSystem",
        "CIM_NumericSensor",
        "CIM_LogRecord",
        "CIM_System",
    ] {
        assert_eq!(
            fault_of(get(&m, &uri(class), &[], None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::InsufficientSelectors)
            ),
            "{class}"
        );
    }
    // No instance at all: the log of a platform without one.
    let bare = Fixture::new(TestPlatform::bare());
    assert_eq!(
        fault_of(get(&bare.model(), &uri("CIM_RecordLog"), &[], None)),
        (
            FaultKind::InvalidSelectors,
            Some(FaultDetail::InsufficientSelectors)
        )
    );
    // Put and Invoke resolve the same way: a Put on the single chassis is refused as a Put
    // (ActionNotSupported), not for its selectors, and ClearLog runs on the one log.
    assert_eq!(invoke(&f, "CIM_RecordLog", &[], "ClearLog", ""), Ok(0));
    assert_eq!(
        fault_of(invoke(
            &f,
            "CIM_NumericSensor",
            &[],
            "RestoreDefaultThresholds",
            ""
        )),
        (
            FaultKind::InvalidSelectors,
            Some(FaultDetail::InsufficientSelectors)
        )
    );
}

#[test]
fn put_without_selectors_on_a_single_sensor() {
    // A board with one numeric sensor: the Put needs no SelectorSet.
    let f = Fixture {
        monitor: std::cell::RefCell::new(wsbmc_monitor::Monitor::new(vec![cpu_temp()])),
        ..Fixture::full()
    };
    let m = f.model();
    let Ok(current) = get(&m, &uri("CIM_NumericSensor"), &[], None) else {
        panic!("no single sensor");
    };
    let body = current.replace(
        "<p:UpperThresholdNonCritical>85000</p:UpperThresholdNonCritical>",
        "<p:UpperThresholdNonCritical>88000</p:UpperThresholdNonCritical>",
    );
    let xml = wrap(&body);
    let Ok(doc) = roxmltree::Document::parse(&xml) else {
        panic!("{xml}")
    };
    let Some(node) = doc.root_element().first_element_child() else {
        panic!("no body");
    };
    let put = |class: &str| {
        let mut out = XmlWriter::new();
        m.put(
            &Target {
                resource_uri: &uri(class),
                selectors: &[],
                namespace: None,
            },
            &parse_representation(node),
            &mut out,
        )
        .map(|()| out.into_string())
    };
    let Ok(after) = put("CIM_NumericSensor") else {
        panic!("Put without selectors refused");
    };
    assert!(after.contains("<p:UpperThresholdNonCritical>88000</p:UpperThresholdNonCritical>"));
    // The single chassis resolves, and is refused as a Put, not for its selectors.
    assert_eq!(
        fault_of(put("CIM_Chassis")),
        (
            FaultKind::ActionNotSupported,
            Some(FaultDetail::ActionMismatch)
        )
    );
}

#[test]
fn power_capabilities_and_available_states() {
    let f = Fixture::full();
    let m = f.model();
    let caps = walk_ok(
        &m,
        &spec(&uri("CIM_PowerManagementCapabilities"), Filter::None),
    );
    for s in [2, 6, 8, 9, 10, 11, 12] {
        assert!(caps[0].1.contains(&format!(
            "<p:PowerStatesSupported>{s}</p:PowerStatesSupported>"
        )));
    }
    f.platform.power.set(PowerState::Off);
    let apms = walk_ok(
        &m,
        &spec(&uri("CIM_AssociatedPowerManagementService"), Filter::None),
    );
    assert!(apms[0].1.contains("<p:PowerState>8</p:PowerState>"));
    assert!(
        apms[0]
            .1
            .contains("<p:AvailableRequestedPowerStates>2</p:AvailableRequestedPowerStates>")
    );
    assert!(
        !apms[0]
            .1
            .contains("<p:AvailableRequestedPowerStates>6</p:AvailableRequestedPowerStates>")
    );
    let host = get(&m, &uri("CIM_ComputerSystem"), &host_keys(), None).unwrap_or_default();
    assert!(host.contains("<p:EnabledState>3</p:EnabledState>"));
}

#[test]
fn clear_log() {
    let f = Fixture::full();
    let log = sel(&[("InstanceID", "IPMI:SEL")]);
    f.platform.clear.set(ClearOutcome::Failed);
    assert_eq!(invoke(&f, "CIM_RecordLog", &log, "ClearLog", ""), Ok(4));
    f.platform.clear.set(ClearOutcome::Unsupported);
    assert_eq!(invoke(&f, "CIM_RecordLog", &log, "ClearLog", ""), Ok(1));
    f.platform.clear.set(ClearOutcome::Cleared);
    assert_eq!(invoke(&f, "CIM_RecordLog", &log, "ClearLog", ""), Ok(0));
    assert_eq!(
        walk_ok(&f.model(), &spec(&uri("CIM_LogRecord"), Filter::None)).len(),
        0
    );
    let body = get(&f.model(), &uri("CIM_RecordLog"), &log, None).unwrap_or_default();
    assert!(body.contains("<p:CurrentNumberOfRecords>0</p:CurrentNumberOfRecords>"));
    assert_eq!(
        fault_of(invoke(
            &f,
            "CIM_RecordLog",
            &log,
            "ClearLog",
            "<h:Now>1</h:Now>"
        ))
        .0,
        BAD_PARAMETER
    );
}

#[test]
fn restore_default_thresholds() {
    let f = Fixture::full();
    assert!(put_edit(&f, set("UpperThresholdNonCritical", "85000", "90000")).is_ok());
    assert_eq!(
        invoke(
            &f,
            "CIM_NumericSensor",
            &cpu_keys(),
            "RestoreDefaultThresholds",
            ""
        ),
        Ok(0)
    );
    assert_eq!(thresholds(&f).upper_non_critical, Some(85_000));
    let persisted = f.platform.persisted.borrow();
    assert_eq!(persisted.len(), 2);
    assert_eq!(persisted[1].1.upper_non_critical, Some(85_000));
}

#[test]
fn unknown_methods_and_targets() {
    let f = Fixture::full();
    assert_eq!(
        fault_of(invoke(&f, "CIM_NumericSensor", &cpu_keys(), "Explode", "")),
        (
            FaultKind::ActionNotSupported,
            Some(FaultDetail::ActionMismatch)
        )
    );
    // ClearLog is not a method of a system.
    assert_eq!(
        fault_of(invoke(
            &f,
            "CIM_ComputerSystem",
            &host_keys(),
            "ClearLog",
            ""
        ))
        .0,
        FaultKind::ActionNotSupported
    );
    // RestoreDefaultThresholds exists on numeric sensors only.
    let psu = sel(&[
        ("CreationClassName", "CIM_Sensor"),
        ("DeviceID", "PSU1 Status(112.0.32)"),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "host-1"),
    ]);
    assert_eq!(
        fault_of(invoke(
            &f,
            "CIM_Sensor",
            &psu,
            "RestoreDefaultThresholds",
            ""
        ))
        .0,
        FaultKind::ActionNotSupported
    );
    let nobody = sel(&[
        ("CreationClassName", "CIM_ComputerSystem"),
        ("Name", "nobody"),
    ]);
    assert_eq!(
        fault_of(invoke(
            &f,
            "CIM_ComputerSystem",
            &nobody,
            "RequestStateChange",
            "<h:RequestedState>2</h:RequestedState>"
        )),
        (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
    );
}

#[test]
fn method_names_match_in_any_case_and_answer_in_canonical_case() {
    let f = Fixture::full();
    let m = f.model();
    let xml = wrap("<restoredefaultthresholds_INPUT/>");
    let Ok(doc) = roxmltree::Document::parse(&xml) else {
        panic!("xml")
    };
    let Some(input) = doc.root_element().first_element_child() else {
        panic!("input")
    };
    let keys = cpu_keys();
    let mut out = XmlWriter::new();
    let r = m.invoke(
        &Target {
            resource_uri: &uri("CIM_NumericSensor"),
            selectors: &keys,
            namespace: None,
        },
        "restoredefaultthresholds",
        &parse_properties(input),
        &mut out,
    );
    assert_eq!(r, Ok(()));
    assert!(
        out.as_str()
            .starts_with("<p:RestoreDefaultThresholds_OUTPUT ")
    );
}

// ---- Software Inventory (DSP1023) -----------------------------------------------------------

#[cfg(feature = "software-inventory")]
fn versions_through(m: &wsbmc_cim::Model<'_>, system: Epr, association: &str) -> Vec<String> {
    let mut af = assoc(system);
    af.association_class = Some(association.into());
    af.result_class = Some("CIM_SoftwareIdentity".into());
    traverse_ok(m, af)
        .iter()
        .map(|(e, _)| text_selector(e, "InstanceID").unwrap_or("").to_string())
        .collect()
}

#[cfg(feature = "software-inventory")]
#[test]
fn firmware_belongs_to_the_right_system() {
    let f = Fixture::full();
    let m = f.model();
    let bmc = epr(
        "CIM_ComputerSystem",
        sel(&[
            ("CreationClassName", "CIM_ComputerSystem"),
            ("Name", "host-1:BMC"),
        ]),
    );
    let host = epr("CIM_ComputerSystem", host_keys());
    for association in [
        "CIM_InstalledSoftwareIdentity",
        "CIM_ElementSoftwareIdentity",
    ] {
        assert_eq!(
            versions_through(&m, bmc.clone(), association),
            ["wsbmc:firmware:bmc"]
        );
        assert_eq!(
            versions_through(&m, host.clone(), association),
            ["wsbmc:firmware:bios", "wsbmc:firmware:psu2_mc"]
        );
    }
    // The host BIOS is classified as BIOS, the satellite's firmware as firmware, and the
    // satellite's IPMI identity is there.
    let bios = get(
        &m,
        &uri("CIM_SoftwareIdentity"),
        &sel(&[("InstanceID", "wsbmc:firmware:bios")]),
        None,
    )
    .unwrap_or_default();
    assert!(
        bios.contains("<p:Classifications>11</p:Classifications>"),
        "{bios}"
    );
    assert!(bios.contains("<p:VersionString>2.4.1</p:VersionString>"));
    assert!(bios.contains("<p:MajorVersion>2</p:MajorVersion>"));
    let psu = get(
        &m,
        &uri("CIM_SoftwareIdentity"),
        &sel(&[("InstanceID", "wsbmc:firmware:psu2_mc")]),
        None,
    )
    .unwrap_or_default();
    assert!(
        psu.contains("<p:VersionString>1.23</p:VersionString>"),
        "{psu}"
    );
    assert!(psu.contains("<p:IdentityInfoValue>10876</p:IdentityInfoValue>"));
    assert!(psu.contains("<p:IdentityInfoValue>0x0102</p:IdentityInfoValue>"));
    // Without platform firmware, the BMC's own is still there: no SelectorSet needed.
    let bare = Fixture::new(TestPlatform::bare());
    let only = get(&bare.model(), &uri("CIM_SoftwareIdentity"), &[], None).unwrap_or_default();
    assert!(only.contains("<p:InstanceID>wsbmc:firmware:bmc</p:InstanceID>"));
}

#[cfg(feature = "software-inventory")]
#[test]
fn software_inventory_is_registered() {
    let f = Fixture::full();
    let m = f.model();
    let mut profile = sel(&[("InstanceID", "DMTF:Software Inventory:1.0.1")]);
    profile.insert(0, Selector::text("__cimnamespace", "root/interop"));
    let mut af = assoc(epr("CIM_RegisteredProfile", profile));
    af.association_class = Some("CIM_ElementConformsToProfile".into());
    let central = traverse_ok(&m, af);
    assert_eq!(central.len(), 1);
    assert_eq!(text_selector(&central[0].0, "Name"), Some("host-1"));
    // And it is a component of Base Server.
    let refs = walk_ok(&m, &spec(&uri("CIM_ReferencedProfile"), Filter::None));
    assert!(
        refs.iter()
            .any(|(_, b)| b.contains("DMTF:Software Inventory:1.0.1"))
    );
}

// ---- IP Interface (DSP1036) -----------------------------------------------------------------

#[cfg(feature = "ip-interface")]
#[test]
fn the_bmc_hosts_its_ip_endpoints_with_their_settings() {
    let f = Fixture::full();
    let m = f.model();
    let bmc = epr(
        "CIM_ComputerSystem",
        sel(&[
            ("CreationClassName", "CIM_ComputerSystem"),
            ("Name", "host-1:BMC"),
        ]),
    );
    let mut af = assoc(bmc);
    af.association_class = Some("CIM_HostedAccessPoint".into());
    let endpoints = traverse_ok(&m, af);
    let names: Vec<&str> = endpoints
        .iter()
        .filter_map(|(e, _)| text_selector(e, "Name"))
        .collect();
    assert_eq!(names, ["eth0:IPv4:0", "eth0:IPv6:0"]);
    let v4 = &endpoints[0].1;
    assert!(
        v4.contains("<p:IPv4Address>10.0.2.15</p:IPv4Address>"),
        "{v4}"
    );
    assert!(v4.contains("<p:SubnetMask>255.255.255.0</p:SubnetMask>"));
    assert!(v4.contains("<p:AddressOrigin>3</p:AddressOrigin>"));
    assert!(v4.contains("<p:ProtocolIFType>4096</p:ProtocolIFType>"));
    let v6 = &endpoints[1].1;
    assert!(
        v6.contains("<p:IPv6Address>fe80::5054:ff:fe12:3456</p:IPv6Address>"),
        "{v6}"
    );
    assert!(v6.contains("<p:IPv6SubnetPrefixLength>64</p:IPv6SubnetPrefixLength>"));
    assert!(v6.contains("<p:AddressOrigin>10</p:AddressOrigin>"));

    // Static IPv4 settings carry the gateway; the link-local ones are the base class.
    let mut af = assoc(endpoints[0].0.clone());
    af.association_class = Some("CIM_ElementSettingData".into());
    let settings = traverse_ok(&m, af);
    assert_eq!(settings.len(), 1);
    assert_eq!(
        class_of(&settings[0].1),
        "CIM_StaticIPAssignmentSettingData"
    );
    assert!(
        settings[0]
            .1
            .contains("<p:GatewayIPv4Address>10.0.2.2</p:GatewayIPv4Address>")
    );
    let mut af = assoc(endpoints[1].0.clone());
    af.association_class = Some("CIM_ElementSettingData".into());
    let settings = traverse_ok(&m, af);
    assert_eq!(class_of(&settings[0].1), "CIM_IPAssignmentSettingData");

    // Polymorphism: the base settings class enumerates both.
    let all = walk_ok(&m, &spec(&uri("CIM_IPAssignmentSettingData"), Filter::None));
    assert_eq!(all.len(), 2);
    // The profile's scoping instance is the BMC.
    let mut profile = sel(&[("InstanceID", "DMTF:IP Interface:1.0.0")]);
    profile.insert(0, Selector::text("__cimnamespace", "root/interop"));
    let mut af = assoc(epr("CIM_RegisteredProfile", profile));
    af.association_class = Some("CIM_ElementConformsToProfile".into());
    let central = traverse_ok(&m, af);
    assert_eq!(text_selector(&central[0].0, "Name"), Some("host-1:BMC"));
}

// ---- Batches: the plan worked out once per batch ----------------------------------------------

/// The model's own batch walk (plan, counts and projection worked out once, no EPR built in
/// Objects mode, the "more?" peek rendering nothing) writes byte for byte what the per-item walk
/// over `next_item` writes, for every mode, batch size and kind of enumeration, and leaves the
/// cursor in the same place.
#[test]
fn batches_match_the_per_item_walk() {
    use wsbmc_wsman::enumeration::{BatchLimits, fill_from};
    use wsbmc_wsman::envelope::EnumMode;
    use wsbmc_wsman::provider::PerItem;

    let f = Fixture::full();
    let m = f.model();
    let mut associators = assoc(epr("CIM_NumericSensor", cpu_keys()));
    associators.include_result_property = vec!["Name".into(), "ElementName".into()];
    let specs = [
        spec(&uri("CIM_NumericSensor"), Filter::None),
        spec(&uri("CIM_Sensor"), Filter::None),
        spec(&uri("CIM_LogRecord"), Filter::None),
        spec(
            ALL,
            Filter::Wql(
                "select DeviceID, CurrentState from CIM_Sensor where HealthState = 5".into(),
            ),
        ),
        spec(
            &uri("CIM_NumericSensor"),
            Filter::Selector(sel(&[("DeviceID", "CPU0 Temp(48.0.32)")])),
        ),
        spec(ALL, Filter::Association(associators)),
    ];
    for s in &specs {
        for mode in [EnumMode::Objects, EnumMode::Epr, EnumMode::ObjectAndEpr] {
            for max_items in [1, 3, 100] {
                let lim = BatchLimits {
                    max_items,
                    budget: 64 * 1024,
                    spare: 0,
                    max_characters: None,
                };
                let (mut own, mut per_item) = (0, 0);
                for round in 0.. {
                    assert!(round < 1000, "{s:?} does not end");
                    let a = m.fill_batch(s, mode, &mut own, lim).expect("own walk");
                    let b = fill_from(&mut PerItem::new(&m, s), mode, &mut per_item, lim)
                        .expect("per-item walk");
                    assert_eq!(a, b, "{s:?} {mode:?} {max_items}");
                    assert_eq!(own, per_item);
                    if a.end {
                        break;
                    }
                }
            }
        }
    }
}

// ---- DSP1054 subscriptions ------------------------------------------------------------------

/// The subscription classes are read-only but for one thing: Put of each is ActionNotSupported,
/// Delete too for the filter and the listener, while Delete of a CIM_IndicationSubscription asks
/// the platform to end that subscription (its Unsubscribe); each enumerated EPR gets its
/// instance back in root/interop.
#[cfg(feature = "subscriptions")]
#[test]
fn subscription_classes_are_read_only_and_get_by_their_eprs() {
    let f = Fixture::complete();
    let m = f.model();
    for class in [
        "CIM_IndicationFilter",
        "CIM_ListenerDestinationWSManagement",
        "CIM_IndicationSubscription",
    ] {
        let items = walk_ok(&m, &spec(&uri(class), Filter::None));
        assert_eq!(items.len(), 2, "{class}");
        let (epr, body) = &items[0];
        assert_eq!(text_selector(epr, "__cimnamespace"), Some("root/interop"));
        let keys: Vec<Selector> = epr.selectors[1..].to_vec();
        let target = Target {
            resource_uri: &epr.resource_uri,
            selectors: &keys,
            namespace: Some("root/interop"),
        };
        assert_eq!(
            get(&m, &epr.resource_uri, &keys, Some("root/interop")).as_deref(),
            Ok(body.as_str())
        );
        let xml = wrap(body);
        let doc = match roxmltree::Document::parse(&xml) {
            Ok(d) => d,
            Err(e) => panic!("{e}: {xml}"),
        };
        let Some(node) = doc.root_element().first_element_child() else {
            panic!("no body");
        };
        let mut out = XmlWriter::new();
        let put = m.put(&target, &parse_representation(node), &mut out);
        assert_eq!(fault_of(put).0, FaultKind::ActionNotSupported, "{class}");
        if class == "CIM_IndicationSubscription" {
            assert_eq!(m.delete(&target), Ok(()));
            assert_eq!(
                *f.platform.ended.borrow(),
                [f.platform.subscriptions[0].id.clone()]
            );
        } else {
            assert_eq!(
                fault_of(m.delete(&target)).0,
                FaultKind::ActionNotSupported,
                "{class}"
            );
        }
    }
    // Without a filter, the filter selects every indication.
    let filters = walk_ok(&m, &spec(&uri("CIM_IndicationFilter"), Filter::None));
    assert!(
        filters[1]
            .1
            .contains("<p:Query>SELECT * FROM CIM_Indication</p:Query>")
    );
    let listeners = walk_ok(
        &m,
        &spec(&uri("CIM_ListenerDestinationWSManagement"), Filter::None),
    );
    // Pull: nothing is delivered anywhere.
    assert!(
        listeners[1]
            .1
            .contains("<p:DeliveryMode>5</p:DeliveryMode>")
    );
    assert!(
        listeners[1]
            .1
            .contains(r#"<p:Destination xsi:nil="true"/>"#)
    );
}
