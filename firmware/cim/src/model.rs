//! The WS-Man provider over the monitor: resource URIs, selectors and enumeration cursors onto
//! the class tables and value sources.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wsbmc_ipmi::SensorTypeMode;
use wsbmc_monitor::{Monitor, SensorDesc, SensorState};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultDetail, FaultKind, Filter, Identity, Provider, Selector,
    Target, XmlWriter, ns,
};

use crate::render::render;
use crate::schema::{CIM_COMPUTER_SYSTEM, CIM_NUMERIC_SENSOR, CIM_SENSOR, ClassDef};
use crate::value::Instance;
use crate::{host, sensor};

/// The CIM namespace every class of this model lives in, emitted in every EPR.
pub const NAMESPACE: &str = "root/cimv2";
const INTEROP: &str = "root/interop";

/// Classes a resource URI may name. Abstract bases (CIM_LogicalDevice, CIM_ManagedElement) are
/// left out on purpose: enumerating "everything" belongs to the all-classes URI with a filter.
static ADDRESSABLE: &[&ClassDef] = &[&CIM_NUMERIC_SENSOR, &CIM_SENSOR, &CIM_COMPUTER_SYSTEM];

/// What the model says about the system it runs for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// Name key of the host CIM_ComputerSystem and SystemName of every device. Must be stable
    /// across restarts (a system GUID or a configured name), because EPRs embed it.
    pub system_name: String,
    /// CIM_System.NameFormat of `system_name` ("UUID", "IP", ...), when known.
    pub name_format: Option<String>,
    /// The host's friendly name (FRU product name or hostname).
    pub element_name: String,
    /// Identify: ProductVendor.
    pub vendor: String,
    /// Identify: the product part of ProductVersion.
    pub product: String,
    /// Identify: the version part of ProductVersion.
    pub version: String,
    /// SensorType vocabulary; see [`SensorTypeMode`].
    pub sensor_types: SensorTypeMode,
}

impl SystemInfo {
    /// A system named `system_name` that identifies itself as this firmware.
    pub fn new(system_name: impl Into<String>) -> Self {
        let system_name = system_name.into();
        Self {
            element_name: system_name.clone(),
            system_name,
            name_format: None,
            vendor: String::from("wsbmc"),
            product: String::from("wsbmc"),
            version: String::from(env!("CARGO_PKG_VERSION")),
            sensor_types: SensorTypeMode::Windows,
        }
    }
}

/// A read-only view of the model for one request.
///
/// Built per request from borrows of the monitor cache, so a request sees one consistent
/// snapshot and never waits on a bus.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    sensors: &'a [SensorDesc],
    states: &'a [SensorState],
    system: &'a SystemInfo,
}

/// One instance the model can produce, by position in the cursor space: the sensors in board
/// order, then the host system. Positions are stable because the sensor table is.
#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    Sensor(&'a SensorDesc, SensorState),
    Host,
}

impl<'a> Model<'a> {
    pub fn new(monitor: &'a Monitor, system: &'a SystemInfo) -> Self {
        Self::from_parts(monitor.sensors(), monitor.states(), system)
    }

    /// For callers holding the sensor table and a snapshot of the states separately. A sensor
    /// without a state reads as not yet initialised.
    pub fn from_parts(
        sensors: &'a [SensorDesc],
        states: &'a [SensorState],
        system: &'a SystemInfo,
    ) -> Self {
        Self {
            sensors,
            states,
            system,
        }
    }

    fn len(&self) -> usize {
        self.sensors.len() + 1
    }

    fn item(&self, i: usize) -> Option<Item<'a>> {
        match self.sensors.get(i) {
            Some(d) => Some(Item::Sensor(
                d,
                self.states.get(i).copied().unwrap_or_default(),
            )),
            None if i == self.sensors.len() => Some(Item::Host),
            None => None,
        }
    }

    fn class_of(item: &Item<'_>) -> &'static ClassDef {
        match item {
            Item::Sensor(..) => &CIM_NUMERIC_SENSOR,
            Item::Host => &CIM_COMPUTER_SYSTEM,
        }
    }

    fn keys_of(&self, item: &Item<'a>) -> Vec<(&'static str, Cow<'a, str>)> {
        match item {
            Item::Sensor(d, _) => sensor::keys(d, &self.system.system_name).into(),
            Item::Host => host::keys(self.system).into(),
        }
    }

    fn instance_of(&self, item: &Item<'a>) -> Instance<'a> {
        match item {
            Item::Sensor(d, s) => {
                sensor::instance(d, s, &self.system.system_name, self.system.sensor_types)
            }
            Item::Host => host::instance(
                self.system,
                host::rolled_up_health(self.states.iter().take(self.sensors.len())),
            ),
        }
    }

    fn epr(&self, item: &Item<'a>) -> Epr {
        let mut selectors = Vec::with_capacity(5);
        selectors.push(Selector::text("__cimnamespace", NAMESPACE));
        for (name, value) in self.keys_of(item) {
            selectors.push(Selector::text(name, value.into_owned()));
        }
        Epr {
            resource_uri: Self::class_of(item).resource_uri(),
            selectors,
        }
    }

    /// The positions of the instances of `class` (polymorphically), in cursor order.
    fn positions(&self, class: &'static ClassDef) -> impl Iterator<Item = (usize, Item<'a>)> + '_ {
        (0..self.len()).filter_map(move |i| {
            self.item(i)
                .filter(|it| Self::class_of(it).is_a(class))
                .map(|it| (i, it))
        })
    }
}

/// The class a resource URI names. Class names match case-insensitively, as CIM names do; the
/// DMTF prefix does too, because clients differ in how they case the host part.
pub fn resolve_class(resource_uri: &str) -> Result<&'static ClassDef, Fault> {
    let prefix = ns::CIM_SCHEMA;
    let name = resource_uri
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| resource_uri.get(prefix.len()..));
    name.and_then(|n| {
        ADDRESSABLE
            .iter()
            .copied()
            .find(|c| c.name.eq_ignore_ascii_case(n))
    })
    .ok_or_else(|| Fault::unknown_resource().message(format!("no class at {resource_uri}")))
}

/// Every class of this model is in root/cimv2. An absent `__cimnamespace` means the default
/// namespace, which is the same one. root/interop exists (profile registration will live there)
/// but holds none of these classes, which makes the resource, not the namespace, the error.
pub fn check_namespace(namespace: Option<&str>, class: &ClassDef) -> Result<(), Fault> {
    let Some(raw) = namespace else {
        return Ok(());
    };
    // Windows spells namespaces with backslashes; both are the same path.
    let norm: String = raw
        .trim_start_matches(['/', '\\'])
        .chars()
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    if norm.eq_ignore_ascii_case(NAMESPACE) {
        Ok(())
    } else if norm.eq_ignore_ascii_case(INTEROP) {
        Err(Fault::unknown_resource()
            .message(format!("class {} is not in namespace {raw}", class.name)))
    } else {
        Err(Fault::with_detail(
            FaultKind::DestinationUnreachable,
            FaultDetail::InvalidNamespace,
        )
        .message(format!("namespace {raw} does not exist")))
    }
}

fn selector_fault(detail: FaultDetail, message: String) -> Fault {
    Fault::with_detail(FaultKind::InvalidSelectors, detail).message(message)
}

/// Matches the request's selectors onto `class`'s keys: one text value per key, in key order.
///
/// Unknown names are reported before missing ones because a misspelt key is both, and naming
/// the misspelling is the more useful answer.
fn key_values<'t>(class: &ClassDef, selectors: &'t [Selector]) -> Result<Vec<&'t str>, Fault> {
    let mut found: Vec<Option<&'t str>> = alloc::vec![None; class.keys.len()];
    for s in selectors {
        if s.name.eq_ignore_ascii_case("__cimnamespace") {
            continue;
        }
        let Some(idx) = class
            .keys
            .iter()
            .position(|k| k.eq_ignore_ascii_case(&s.name))
        else {
            return Err(selector_fault(
                FaultDetail::UnexpectedSelectors,
                format!("{} is not a key of {}", s.name, class.name),
            ));
        };
        if found[idx].is_some() {
            return Err(selector_fault(
                FaultDetail::DuplicateSelectors,
                format!("selector {} appears more than once", class.keys[idx]),
            ));
        }
        let Some(text) = s.as_text() else {
            return Err(selector_fault(
                FaultDetail::TypeMismatch,
                format!("selector {} must be text", class.keys[idx]),
            ));
        };
        found[idx] = Some(text);
    }
    let mut values = Vec::with_capacity(found.len());
    for (i, v) in found.into_iter().enumerate() {
        match v {
            Some(v) => values.push(v),
            None => {
                return Err(selector_fault(
                    FaultDetail::InsufficientSelectors,
                    format!("selector {} is missing", class.keys[i]),
                ));
            }
        }
    }
    Ok(values)
}

/// Class-name keys compare case-insensitively like CIM class names; every other key is exact,
/// so two sensors whose names differ only in case stay two instances.
fn key_matches(name: &str, have: &str, want: &str) -> bool {
    if name.ends_with("ClassName") {
        have.eq_ignore_ascii_case(want)
    } else {
        have == want
    }
}

impl<'a> Model<'a> {
    fn find(&self, class: &'static ClassDef, want: &[&str]) -> Option<Item<'a>> {
        self.positions(class).map(|(_, it)| it).find(|it| {
            let have = self.keys_of(it);
            have.len() == want.len()
                && have
                    .iter()
                    .zip(class.keys)
                    .zip(want)
                    .all(|(((hn, hv), kn), w)| hn == kn && key_matches(kn, hv, w))
        })
    }

    fn check_spec(spec: &EnumSpec) -> Result<&'static ClassDef, Fault> {
        let class = resolve_class(&spec.resource_uri)?;
        check_namespace(spec.namespace.as_deref(), class)?;
        match spec.filter {
            Filter::None => Ok(class),
            // The dispatcher recognised the dialect, but this model evaluates none yet.
            Filter::Selector(_) | Filter::Wql(_) | Filter::Association(_) => {
                Err(Fault::new(FaultKind::FilterDialectRequestedUnavailable)
                    .message(format!("{} does not support filtering", class.name)))
            }
        }
    }
}

impl Provider for Model<'_> {
    fn identity(&self) -> Identity {
        Identity {
            vendor: self.system.vendor.clone(),
            version: format!("{} {}", self.system.product, self.system.version),
        }
    }

    fn get(&self, target: &Target<'_>, out: &mut XmlWriter) -> Result<(), Fault> {
        let class = resolve_class(target.resource_uri)?;
        check_namespace(target.namespace, class)?;
        let want = key_values(class, target.selectors)?;
        let item = self.find(class, &want).ok_or_else(|| {
            selector_fault(
                FaultDetail::InvalidValue,
                format!("no {} instance has these keys", class.name),
            )
        })?;
        render(out, &self.instance_of(&item));
        Ok(())
    }

    fn enumerate(&self, spec: &EnumSpec) -> Result<Cursor, Fault> {
        Self::check_spec(spec)?;
        Ok(0)
    }

    fn next_item(
        &self,
        spec: &EnumSpec,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault> {
        let class = Self::check_spec(spec)?;
        let Ok(start) = usize::try_from(*cursor) else {
            return Ok(None);
        };
        let Some((pos, item)) = self.positions(class).find(|(i, _)| *i >= start) else {
            return Ok(None);
        };
        if let Some(out) = object {
            render(out, &self.instance_of(&item));
        }
        *cursor = pos as u64 + 1;
        Ok(Some(self.epr(&item)))
    }

    fn count_estimate(&self, spec: &EnumSpec) -> Option<u64> {
        let class = Self::check_spec(spec).ok()?;
        Some(self.positions(class).count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{cpu_temp, fan, state};
    use alloc::string::ToString;
    use alloc::vec;
    use wsbmc_monitor::{NoData, Reading, Threshold};
    use wsbmc_wsman::SelectorValue;
    use wsbmc_wsman::provider::AssociationFilter;

    const NS_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor";
    const SENSOR_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_Sensor";
    const CS_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem";

    struct Fixture {
        sensors: Vec<SensorDesc>,
        states: Vec<SensorState>,
        system: SystemInfo,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                sensors: vec![cpu_temp(), fan()],
                states: vec![
                    state(Reading::Value(50_000), Threshold::UpperNonCritical.bit()),
                    state(Reading::NoData(NoData::HostOff), 0),
                ],
                system: SystemInfo::new("host-1"),
            }
        }

        fn model(&self) -> Model<'_> {
            Model::from_parts(&self.sensors, &self.states, &self.system)
        }
    }

    fn sel(pairs: &[(&str, &str)]) -> Vec<Selector> {
        pairs.iter().map(|(n, v)| Selector::text(*n, *v)).collect()
    }

    fn cpu_keys() -> Vec<Selector> {
        sel(&[
            ("CreationClassName", "CIM_NumericSensor"),
            ("DeviceID", "CPU0 Temp(48.0.32)"),
            ("SystemCreationClassName", "CIM_ComputerSystem"),
            ("SystemName", "host-1"),
        ])
    }

    fn get(
        m: &Model<'_>,
        uri: &str,
        selectors: &[Selector],
        ns: Option<&str>,
    ) -> Result<String, Fault> {
        let mut out = XmlWriter::new();
        m.get(
            &Target {
                resource_uri: uri,
                selectors,
                namespace: ns,
            },
            &mut out,
        )?;
        Ok(out.into_string())
    }

    fn fault_of(r: Result<String, Fault>) -> (FaultKind, Option<FaultDetail>) {
        match r {
            Ok(body) => panic!("expected a fault, got {body}"),
            Err(f) => (f.kind, f.detail),
        }
    }

    fn spec(uri: &str) -> EnumSpec {
        EnumSpec {
            resource_uri: uri.to_string(),
            namespace: None,
            filter: Filter::None,
        }
    }

    fn walk(m: &Model<'_>, spec: &EnumSpec) -> Vec<(Epr, String)> {
        let mut cursor = match m.enumerate(spec) {
            Ok(c) => c,
            Err(f) => panic!("enumerate: {f:?}"),
        };
        let mut items = Vec::new();
        loop {
            let mut out = XmlWriter::new();
            match m.next_item(spec, &mut cursor, Some(&mut out)) {
                Ok(Some(epr)) => items.push((epr, out.into_string())),
                Ok(None) => break,
                Err(f) => panic!("next_item: {f:?}"),
            }
            assert!(items.len() < 100, "enumeration does not end");
        }
        items
    }

    #[test]
    fn get_by_all_four_keys() {
        let f = Fixture::new();
        let body = get(&f.model(), NS_URI, &cpu_keys(), None).unwrap_or_default();
        assert!(body.starts_with("<p:CIM_NumericSensor "));
        assert!(body.contains("<p:DeviceID>CPU0 Temp(48.0.32)</p:DeviceID>"));
        assert!(body.contains("<p:CurrentState>Upper Non-Critical</p:CurrentState>"));
    }

    #[test]
    fn names_and_class_names_are_case_insensitive() {
        let f = Fixture::new();
        let selectors = sel(&[
            ("creationclassname", "cim_numericsensor"),
            ("DEVICEID", "CPU0 Temp(48.0.32)"),
            ("systemCreationClassName", "cim_computersystem"),
            ("systemname", "host-1"),
        ]);
        let uri = "HTTP://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/cim_numericSENSOR";
        let body = get(&f.model(), uri, &selectors, None).unwrap_or_default();
        // Canonical case on output, whatever the request said.
        assert!(body.starts_with("<p:CIM_NumericSensor xmlns:p=\"http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor\""));
        assert!(body.contains("<p:CreationClassName>CIM_NumericSensor</p:CreationClassName>"));
    }

    #[test]
    fn device_id_is_exact() {
        let f = Fixture::new();
        let mut s = cpu_keys();
        s[1] = Selector::text("DeviceID", "cpu0 temp(48.0.32)");
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &s, None)),
            (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
        );
    }

    #[test]
    fn get_through_the_base_class_is_polymorphic() {
        let f = Fixture::new();
        let body = get(&f.model(), SENSOR_URI, &cpu_keys(), None).unwrap_or_default();
        assert!(body.starts_with("<p:CIM_NumericSensor "));
    }

    #[test]
    fn base_class_get_rejects_a_foreign_creation_class() {
        let f = Fixture::new();
        let mut s = cpu_keys();
        s[0] = Selector::text("CreationClassName", "CIM_ComputerSystem");
        assert_eq!(
            fault_of(get(&f.model(), SENSOR_URI, &s, None)),
            (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
        );
    }

    #[test]
    fn missing_key_is_insufficient() {
        let f = Fixture::new();
        for i in 0..4 {
            let mut s = cpu_keys();
            s.remove(i);
            assert_eq!(
                fault_of(get(&f.model(), NS_URI, &s, None)),
                (
                    FaultKind::InvalidSelectors,
                    Some(FaultDetail::InsufficientSelectors)
                ),
                "without key {i}"
            );
        }
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &[], None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::InsufficientSelectors)
            )
        );
    }

    #[test]
    fn unknown_key_is_unexpected() {
        let f = Fixture::new();
        let mut s = cpu_keys();
        s.push(Selector::text("Name", "x"));
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &s, None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::UnexpectedSelectors)
            )
        );
        // A misspelt key is reported as the unexpected name, not as the missing one.
        let mut s = cpu_keys();
        s[1] = Selector::text("DeviceId_", "CPU0 Temp(48.0.32)");
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &s, None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::UnexpectedSelectors)
            )
        );
    }

    #[test]
    fn same_key_twice_in_different_case_is_duplicate() {
        let f = Fixture::new();
        let mut s = cpu_keys();
        s.push(Selector::text("deviceid", "CPU0 Temp(48.0.32)"));
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &s, None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::DuplicateSelectors)
            )
        );
    }

    #[test]
    fn epr_valued_key_is_a_type_mismatch() {
        let f = Fixture::new();
        let mut s = cpu_keys();
        s[1] = Selector {
            name: "DeviceID".to_string(),
            value: SelectorValue::Epr(alloc::boxed::Box::new(Epr {
                resource_uri: NS_URI.to_string(),
                selectors: Vec::new(),
            })),
        };
        assert_eq!(
            fault_of(get(&f.model(), NS_URI, &s, None)),
            (FaultKind::InvalidSelectors, Some(FaultDetail::TypeMismatch))
        );
    }

    #[test]
    fn no_such_instance_is_invalid_value() {
        let f = Fixture::new();
        for i in 0..4 {
            let mut s = cpu_keys();
            s[i] = Selector::text(s[i].name.clone(), "nope");
            assert_eq!(
                fault_of(get(&f.model(), NS_URI, &s, None)),
                (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue)),
                "wrong key {i}"
            );
        }
    }

    #[test]
    fn unknown_class_is_an_unknown_resource() {
        let f = Fixture::new();
        for uri in [
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_Fan",
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_LogicalDevice",
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/",
            "http://example.com/CIM_NumericSensor",
            "http://schemas.dmtf.org/wbem/wscim/1/*",
            "",
        ] {
            assert_eq!(
                fault_of(get(&f.model(), uri, &cpu_keys(), None)),
                (
                    FaultKind::DestinationUnreachable,
                    Some(FaultDetail::InvalidResourceURI)
                ),
                "{uri}"
            );
            assert!(f.model().enumerate(&spec(uri)).is_err());
        }
    }

    #[test]
    fn namespaces() {
        let f = Fixture::new();
        let m = f.model();
        for ns in ["root/cimv2", "ROOT/CIMV2", "root\\cimv2", "/root/cimv2"] {
            assert!(get(&m, NS_URI, &cpu_keys(), Some(ns)).is_ok(), "{ns}");
        }
        assert_eq!(
            fault_of(get(&m, NS_URI, &cpu_keys(), Some("root/interop"))),
            (
                FaultKind::DestinationUnreachable,
                Some(FaultDetail::InvalidResourceURI)
            )
        );
        assert_eq!(
            fault_of(get(&m, NS_URI, &cpu_keys(), Some("root/nothing"))),
            (
                FaultKind::DestinationUnreachable,
                Some(FaultDetail::InvalidNamespace)
            )
        );
        let mut s = spec(NS_URI);
        s.namespace = Some("root/hardware".to_string());
        assert!(m.enumerate(&s).is_err());
    }

    #[test]
    fn filters_are_not_available_yet() {
        let f = Fixture::new();
        let m = f.model();
        let filters = [
            Filter::Selector(cpu_keys()),
            Filter::Wql("SELECT * FROM CIM_NumericSensor".to_string()),
            Filter::Association(AssociationFilter {
                instances_of_association: false,
                object: Epr {
                    resource_uri: CS_URI.to_string(),
                    selectors: Vec::new(),
                },
                association_class: None,
                result_class: None,
                role: None,
                result_role: None,
                include_result_property: Vec::new(),
            }),
        ];
        for filter in filters {
            let mut s = spec(NS_URI);
            s.filter = filter;
            let err = m.enumerate(&s).err().map(|f| f.kind);
            assert_eq!(err, Some(FaultKind::FilterDialectRequestedUnavailable));
            assert_eq!(m.count_estimate(&s), None);
        }
    }

    #[test]
    fn enumerate_numeric_sensors() {
        let f = Fixture::new();
        let m = f.model();
        let items = walk(&m, &spec(NS_URI));
        assert_eq!(items.len(), 2);
        assert_eq!(m.count_estimate(&spec(NS_URI)), Some(2));
        let (epr, body) = &items[0];
        assert_eq!(epr.resource_uri, NS_URI);
        let names: Vec<(&str, Option<&str>)> = epr
            .selectors
            .iter()
            .map(|s| (s.name.as_str(), s.as_text()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("__cimnamespace", Some("root/cimv2")),
                ("CreationClassName", Some("CIM_NumericSensor")),
                ("DeviceID", Some("CPU0 Temp(48.0.32)")),
                ("SystemCreationClassName", Some("CIM_ComputerSystem")),
                ("SystemName", Some("host-1")),
            ]
        );
        assert!(body.contains("<p:DeviceID>CPU0 Temp(48.0.32)</p:DeviceID>"));
        assert!(
            items[1]
                .1
                .contains("<p:DeviceID>FAN1(96.0.32)</p:DeviceID>")
        );
    }

    #[test]
    fn every_enumerated_epr_gets_the_same_instance() {
        let f = Fixture::new();
        let m = f.model();
        for uri in [NS_URI, SENSOR_URI, CS_URI] {
            for (epr, body) in walk(&m, &spec(uri)) {
                let ns = epr.selectors[0].as_text();
                let got = get(&m, &epr.resource_uri, &epr.selectors[1..], ns);
                assert_eq!(got.as_deref().ok(), Some(body.as_str()), "{uri}");
            }
        }
    }

    #[test]
    fn enumerate_base_class_yields_concrete_elements() {
        let f = Fixture::new();
        let m = f.model();
        let items = walk(&m, &spec(SENSOR_URI));
        assert_eq!(items.len(), 2);
        for (epr, body) in &items {
            assert_eq!(epr.resource_uri, NS_URI);
            assert!(body.starts_with("<p:CIM_NumericSensor "));
        }
    }

    #[test]
    fn host_system() {
        let f = Fixture::new();
        let m = f.model();
        let items = walk(&m, &spec(CS_URI));
        assert_eq!(items.len(), 1);
        let (epr, body) = &items[0];
        assert_eq!(epr.selectors.len(), 3);
        assert_eq!(epr.selectors[2].as_text(), Some("host-1"));
        // One sensor above UNC (10), one quiet because the host is off (5).
        assert!(body.contains("<p:HealthState>10</p:HealthState>"));
        let s = sel(&[
            ("CreationClassName", "CIM_ComputerSystem"),
            ("Name", "host-1"),
        ]);
        assert!(get(&m, CS_URI, &s, None).is_ok());
        let s = sel(&[("CreationClassName", "CIM_ComputerSystem")]);
        assert_eq!(
            fault_of(get(&m, CS_URI, &s, None)),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::InsufficientSelectors)
            )
        );
    }

    #[test]
    fn next_item_is_side_effect_free_and_object_optional() {
        let f = Fixture::new();
        let m = f.model();
        let s = spec(NS_URI);
        let mut c1 = 0;
        let first = m.next_item(&s, &mut c1, None).ok().flatten();
        let mut c2 = 0;
        let mut out = XmlWriter::new();
        let again = m.next_item(&s, &mut c2, Some(&mut out)).ok().flatten();
        assert_eq!(first, again);
        assert_eq!(c1, c2);
        assert!(!out.is_empty());
        // Past the end, and a cursor beyond any table.
        let mut end = u64::MAX;
        assert_eq!(m.next_item(&s, &mut end, None), Ok(None));
    }

    #[test]
    fn empty_sensor_table() {
        let system = SystemInfo::new("h");
        let m = Model::from_parts(&[], &[], &system);
        assert_eq!(walk(&m, &spec(NS_URI)).len(), 0);
        assert_eq!(m.count_estimate(&spec(CS_URI)), Some(1));
    }

    #[test]
    fn model_over_a_monitor() {
        let monitor = Monitor::new(vec![cpu_temp()]);
        let system = SystemInfo::new("h");
        let m = Model::new(&monitor, &system);
        let items = walk(&m, &spec(NS_URI));
        assert_eq!(items.len(), 1);
        assert!(
            items[0]
                .1
                .contains("<p:CurrentState>Unknown</p:CurrentState>")
        );
        assert!(items[0].1.contains("<p:CurrentReading xsi:nil=\"true\"/>"));
    }

    #[test]
    fn identity() {
        let mut system = SystemInfo::new("h");
        system.vendor = "Example".to_string();
        system.product = "wsbmc".to_string();
        system.version = "1.2.3".to_string();
        let m = Model::from_parts(&[], &[], &system);
        let id = m.identity();
        assert_eq!(id.vendor, "Example");
        assert_eq!(id.version, "wsbmc 1.2.3");
    }
}
