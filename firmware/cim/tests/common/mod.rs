//! Shared fixtures for the integration tests: a board of two numeric sensors, a test platform
//! with a power controller, an in-memory SEL, FRU data and one discrete sensor, and helpers that
//! drive the model through the WS-Man `Provider` trait exactly as the service does.
#![allow(dead_code)]

/// The golden-file check every golden suite shares, with its one bless variable.
#[path = "../../../../tests/support/golden.rs"]
pub mod golden;

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;

use wsbmc_cim::{
    AddressOrigin, ClearOutcome, DiscreteSensorView, FirmwareKind, FirmwareView, FruView,
    IpEndpointView, LogRecordView, LogView, Model, Platform, PowerState, PowerTransition,
    RecordSensor, RequestOutcome, SystemInfo,
};
use wsbmc_ipmi::sel::Record;
use wsbmc_monitor::{
    Monitor, PowerDomain, Quantity, SensorDesc, SensorId, SensorSource, Threshold, Thresholds,
};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultDetail, FaultKind, Filter, Provider, Selector, Target,
    XmlWriter,
};

pub const SCHEMA: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
pub const ALL: &str = "http://schemas.dmtf.org/wbem/wscim/1/*";

pub fn uri(class: &str) -> String {
    format!("{SCHEMA}{class}")
}

pub fn cpu_temp() -> SensorDesc {
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

pub fn fan() -> SensorDesc {
    SensorDesc {
        key: "fan1".into(),
        name: "FAN1".into(),
        number: 0x60,
        entity_id: 0x1D,
        quantity: Quantity::FanSpeed,
        scale: 0,
        thresholds: Thresholds {
            lower_critical: Some(500),
            ..Thresholds::default()
        },
        default_thresholds: Thresholds {
            lower_critical: Some(500),
            ..Thresholds::default()
        },
        settable: 0,
        hysteresis: 50,
        min_readable: 0,
        max_readable: 20_000,
        nominal: None,
        poll_ms: 250,
        ..cpu_temp()
    }
}

pub fn psu_status() -> DiscreteSensorView {
    DiscreteSensorView {
        name: "PSU1 Status".into(),
        number: 0x70,
        owner: 0x20,
        lun: 0,
        entity_id: 0x0A,
        entity_instance: 1,
        sensor_type: 0x08,
        possible_states: vec![
            "Presence detected".into(),
            "Power Supply Failure detected".into(),
        ],
        current_state: Some("Presence detected".into()),
        health_state: 5,
        poll_ms: 1_000,
    }
}

/// Microsoft's example record (cim.md §3.2: the SEL cleared, sensor 0x72) under `id` at
/// `timestamp`.
pub fn record(id: u16, timestamp: u32) -> LogRecordView {
    let mut bytes = wsbmc_ipmi::sel::examples::SYSTEM;
    bytes[0..2].copy_from_slice(&id.to_le_bytes());
    bytes[3..7].copy_from_slice(&timestamp.to_le_bytes());
    LogRecordView::new(
        Record::decode(&bytes),
        Some(RecordSensor {
            name: "SEL".into(),
            lun: 0,
            owner: 0x20,
        }),
    )
}

pub struct TestLog {
    pub records: RefCell<Vec<LogRecordView>>,
}

impl LogView for TestLog {
    fn len(&self) -> usize {
        self.records.borrow().len()
    }
    fn record(&self, index: usize) -> Option<LogRecordView> {
        self.records.borrow().get(index).cloned()
    }
    fn capacity(&self) -> Option<u64> {
        Some(512)
    }
}

pub struct TestPlatform {
    pub power: Cell<PowerState>,
    pub in_progress: Cell<Option<PowerTransition>>,
    pub offered: Vec<PowerTransition>,
    pub requests: RefCell<Vec<PowerTransition>>,
    pub fail: Cell<bool>,
    pub persisted: RefCell<Vec<(String, Thresholds)>>,
    pub log: Option<TestLog>,
    pub clear: Cell<ClearOutcome>,
    pub fru: Option<FruView>,
    pub discrete: Vec<DiscreteSensorView>,
    pub firmware: Vec<FirmwareView>,
    pub ip: Vec<IpEndpointView>,
    #[cfg(feature = "accounts")]
    pub accounts: Option<TestAccounts>,
    #[cfg(feature = "subscriptions")]
    pub subscriptions: Vec<wsbmc_cim::subscription::SubscriptionView>,
    /// The identifiers `Platform::end_subscription` was asked to end.
    #[cfg(feature = "subscriptions")]
    pub ended: RefCell<Vec<String>>,
}

impl TestPlatform {
    pub fn full() -> Self {
        Self {
            power: Cell::new(PowerState::On),
            in_progress: Cell::new(None),
            offered: PowerTransition::ALL.to_vec(),
            requests: RefCell::new(Vec::new()),
            fail: Cell::new(false),
            persisted: RefCell::new(Vec::new()),
            log: Some(TestLog {
                records: RefCell::new(vec![
                    record(1, 0x49C1_AC0F),
                    record(2, 0x49C4_FE7B),
                    record(3, 0),
                ]),
            }),
            clear: Cell::new(ClearOutcome::Cleared),
            fru: Some(FruView {
                chassis_type: Some(23),
                chassis_part_number: Some("CH-1U-01".into()),
                chassis_serial: Some("CS0001".into()),
                board_mfg_minutes: Some(14_000_000),
                board_manufacturer: Some("Example Boards".into()),
                board_product: Some("X1 Mainboard".into()),
                board_serial: Some("BS0001".into()),
                board_part_number: Some("MB-X1".into()),
                product_manufacturer: Some("Example Systems".into()),
                product_name: Some("X1 Server".into()),
                product_part_number: Some("SYS-X1".into()),
                product_version: Some("A01".into()),
                product_serial: Some("PS0001".into()),
                asset_tag: Some("ASSET-42".into()),
                system_guid: Some([
                    0x13, 0xAE, 0xE3, 0x55, 0xD2, 0xBF, 0xBB, 0x61, 0x17, 0xA0, 0x88, 0xAE, 0xDD,
                    0x70, 0x37, 0xEA,
                ]),
            }),
            discrete: vec![psu_status()],
            firmware: vec![host_bios(), psu_firmware()],
            ip: vec![eth0_v4(), eth0_v6()],
            #[cfg(feature = "accounts")]
            accounts: None,
            #[cfg(feature = "subscriptions")]
            subscriptions: vec![push_subscription(), pull_subscription()],
            #[cfg(feature = "subscriptions")]
            ended: RefCell::new(Vec::new()),
        }
    }

    /// Like the agent's minimal platform: no power control, no log, no FRU, no discrete sensors.
    pub fn bare() -> Self {
        Self {
            offered: Vec::new(),
            log: None,
            fru: None,
            discrete: Vec::new(),
            firmware: Vec::new(),
            ip: Vec::new(),
            #[cfg(feature = "subscriptions")]
            subscriptions: Vec::new(),
            ..Self::full()
        }
    }
}

impl Platform for TestPlatform {
    fn host_power(&self) -> PowerState {
        self.power.get()
    }
    fn power_in_progress(&self) -> Option<PowerTransition> {
        self.in_progress.get()
    }
    fn power_transitions(&self) -> &[PowerTransition] {
        &self.offered
    }
    fn request_power(&self, target: PowerTransition) -> RequestOutcome {
        if self.fail.get() {
            return RequestOutcome::Failed;
        }
        if self.in_progress.get().is_some() {
            return RequestOutcome::Busy;
        }
        self.requests.borrow_mut().push(target);
        self.in_progress.set(Some(target));
        RequestOutcome::Accepted
    }
    fn persist_thresholds(&self, key: &str, thresholds: &Thresholds) {
        self.persisted.borrow_mut().push((key.into(), *thresholds));
    }
    fn log(&self) -> Option<&dyn LogView> {
        self.log.as_ref().map(|l| l as &dyn LogView)
    }
    fn clear_log(&self) -> ClearOutcome {
        let outcome = self.clear.get();
        if outcome == ClearOutcome::Cleared
            && let Some(log) = &self.log
        {
            log.records.borrow_mut().clear();
        }
        outcome
    }
    fn fru(&self) -> Option<&FruView> {
        self.fru.as_ref()
    }
    fn discrete_sensor_count(&self) -> usize {
        self.discrete.len()
    }
    fn discrete_sensor(&self, index: usize) -> Option<DiscreteSensorView> {
        self.discrete.get(index).cloned()
    }
    fn firmware_count(&self) -> usize {
        self.firmware.len()
    }
    fn firmware(&self, index: usize) -> Option<FirmwareView> {
        self.firmware.get(index).cloned()
    }
    fn ip_endpoint_count(&self) -> usize {
        self.ip.len()
    }
    #[cfg(feature = "accounts")]
    fn accounts(&self) -> Option<&dyn wsbmc_cim::Accounts> {
        self.accounts
            .as_ref()
            .map(|a| a as &dyn wsbmc_cim::Accounts)
    }
    fn ip_endpoint(&self, index: usize) -> Option<IpEndpointView> {
        self.ip.get(index).cloned()
    }
    #[cfg(feature = "subscriptions")]
    fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }
    #[cfg(feature = "subscriptions")]
    fn subscription(&self, index: usize) -> Option<wsbmc_cim::subscription::SubscriptionView> {
        self.subscriptions.get(index).cloned()
    }
    #[cfg(feature = "subscriptions")]
    fn end_subscription(&self, id: &str) -> bool {
        self.ended.borrow_mut().push(id.to_string());
        true
    }
}

/// A PushWithAck subscription with a WQL filter and Digest sink credentials.
#[cfg(feature = "subscriptions")]
pub fn push_subscription() -> wsbmc_cim::subscription::SubscriptionView {
    use wsbmc_cim::subscription::{Mode, SinkAuth, SubscriptionView};
    SubscriptionView {
        id: "uuid:6c1f0d2e-4b7a-4e39-9a51-0d9f6b2c8e11".into(),
        query: Some("SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5".into()),
        mode: Mode::PushWithAck,
        destination: Some("http://127.0.0.1:9090/sink".into()),
        auth: Some(SinkAuth::Digest),
        content_encoding: Some("UTF-8"),
        duration_s: Some(3600),
        remaining_s: 3540,
    }
}

/// A Pull subscription without a filter.
#[cfg(feature = "subscriptions")]
pub fn pull_subscription() -> wsbmc_cim::subscription::SubscriptionView {
    use wsbmc_cim::subscription::{Mode, SubscriptionView};
    SubscriptionView {
        id: "uuid:0b8e3a57-91c4-4d2f-8e6a-5f4c3b2a1d09".into(),
        query: None,
        mode: Mode::Pull,
        destination: None,
        auth: None,
        content_encoding: None,
        duration_s: Some(600),
        remaining_s: 600,
    }
}

/// The BMC's static IPv4 address, as the QEMU user network gives it.
pub fn eth0_v4() -> IpEndpointView {
    IpEndpointView {
        interface: "eth0".into(),
        index: 0,
        address: "10.0.2.15".parse().expect("address"),
        prefix_len: 24,
        gateway: Some("10.0.2.2".parse().expect("address")),
        origin: AddressOrigin::Static,
    }
}

/// Its IPv6 link-local address.
pub fn eth0_v6() -> IpEndpointView {
    IpEndpointView {
        interface: "eth0".into(),
        index: 0,
        address: "fe80::5054:ff:fe12:3456".parse().expect("address"),
        prefix_len: 64,
        gateway: None,
        origin: AddressOrigin::LinkLocal,
    }
}

/// The host BIOS as a board file names it.
pub fn host_bios() -> FirmwareView {
    FirmwareView {
        id: "bios".into(),
        kind: FirmwareKind::HostBios,
        element_name: "Host BIOS".into(),
        version: "2.4.1".into(),
        numbers: None,
        manufacturer: Some("Example BIOS Co".into()),
        release_secs: Some(1_700_000_000),
        identity: Vec::new(),
    }
}

/// A PSU's management controller as its Get Device ID answered.
pub fn psu_firmware() -> FirmwareView {
    FirmwareView::from_device_id("psu2_mc", 0x58, 1, 0x23, 0x00_2A7C, 0x0102, 0x20)
}

pub struct Fixture {
    pub monitor: RefCell<Monitor>,
    pub system: SystemInfo,
    pub platform: TestPlatform,
}

impl Fixture {
    /// CPU0 at 87.5 °C (above UNC), FAN1 never read.
    pub fn new(platform: TestPlatform) -> Self {
        let mut monitor = Monitor::new(vec![cpu_temp(), fan()]);
        let recorded = monitor.record(SensorId(0), Ok(87_500), 1_000, true);
        assert!(recorded.is_ok());
        let mut system = SystemInfo::new("host-1");
        // A fixed version and build date, so goldens do not move with the crate version.
        system.version = "0.1.0".into();
        system.build_secs = Some(1_767_225_600);
        Self {
            monitor: RefCell::new(monitor),
            system,
            platform,
        }
    }

    pub fn full() -> Self {
        Self::new(TestPlatform::full())
    }

    /// The full board, with an account table when the build manages accounts: every concrete
    /// class has instances.
    pub fn complete() -> Self {
        #[cfg(feature = "accounts")]
        return Self::with_accounts();
        #[cfg(not(feature = "accounts"))]
        Self::full()
    }

    /// The full board with an account table: `admin` (Administrator) and `op1` (Operator).
    #[cfg(feature = "accounts")]
    pub fn with_accounts() -> Self {
        let mut platform = TestPlatform::full();
        platform.accounts = Some(TestAccounts::new());
        Self::new(platform)
    }

    /// The account side of the platform (panics without one: a test helper).
    #[cfg(feature = "accounts")]
    pub fn accounts(&self) -> &TestAccounts {
        match &self.platform.accounts {
            Some(a) => a,
            None => panic!("no account table in this fixture"),
        }
    }

    pub fn model(&self) -> Model<'_> {
        Model::new(&self.monitor, &self.system, &self.platform)
    }
}

pub fn sel(pairs: &[(&str, &str)]) -> Vec<Selector> {
    pairs.iter().map(|(n, v)| Selector::text(*n, *v)).collect()
}

pub fn host_keys() -> Vec<Selector> {
    sel(&[
        ("CreationClassName", "CIM_ComputerSystem"),
        ("Name", "host-1"),
    ])
}

pub fn cpu_keys() -> Vec<Selector> {
    sel(&[
        ("CreationClassName", "CIM_NumericSensor"),
        ("DeviceID", "CPU0 Temp(48.0.32)"),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "host-1"),
    ])
}

pub fn epr(class: &str, selectors: Vec<Selector>) -> Epr {
    Epr {
        resource_uri: uri(class),
        selectors,
    }
}

pub fn get(
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

pub fn fault_of<T: std::fmt::Debug>(r: Result<T, Fault>) -> (FaultKind, Option<FaultDetail>) {
    match r {
        Ok(v) => panic!("expected a fault, got {v:?}"),
        Err(f) => (f.kind, f.detail),
    }
}

pub fn spec(uri: &str, filter: Filter) -> EnumSpec {
    EnumSpec {
        resource_uri: uri.to_string(),
        namespace: None,
        filter,
    }
}

/// Every item of an enumeration, as (EPR, rendered object), Pulling one at a time.
pub fn walk(m: &Model<'_>, spec: &EnumSpec) -> Result<Vec<(Epr, String)>, Fault> {
    let mut cursor: Cursor = m.enumerate(spec)?;
    let mut items = Vec::new();
    loop {
        let mut out = XmlWriter::new();
        match m.next_item(spec, &mut cursor, Some(&mut out))? {
            Some(epr) => items.push((epr, out.into_string())),
            None => break,
        }
        assert!(items.len() < 10_000, "enumeration does not end");
    }
    Ok(items)
}

pub fn walk_ok(m: &Model<'_>, spec: &EnumSpec) -> Vec<(Epr, String)> {
    match walk(m, spec) {
        Ok(items) => items,
        Err(f) => panic!("enumeration failed: {f:?}"),
    }
}

/// The class (root element local name) of a rendered instance.
pub fn class_of(body: &str) -> String {
    body.trim_start_matches("<p:")
        .split([' ', '>'])
        .next()
        .unwrap_or("")
        .to_string()
}

pub fn text_selector<'a>(epr: &'a Epr, name: &str) -> Option<&'a str> {
    epr.selectors
        .iter()
        .find(|s| s.name == name)
        .and_then(Selector::as_text)
}

/// The envelope's namespace declarations the renderer relies on.
pub fn wrap(element: &str) -> String {
    format!(
        "<root xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:cim=\"http://schemas.dmtf.org/wbem/wscim/1/common\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\">{element}</root>"
    )
}

/// Runs `f` on the parsed root element of `element` (wrapped in the envelope's declarations).
pub fn with_parsed<R>(element: &str, f: impl FnOnce(roxmltree::Node<'_, '_>) -> R) -> R {
    let xml = wrap(element);
    let doc = match roxmltree::Document::parse(&xml) {
        Ok(d) => d,
        Err(e) => panic!("not XML ({e}): {xml}"),
    };
    let first = doc.root_element().first_element_child();
    match first {
        Some(node) => f(node),
        None => panic!("empty: {xml}"),
    }
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

/// Canonical text of an element (expanded names, sorted attributes, trimmed text,
/// whitespace-only text dropped), one element per line so a mismatch diff points at the property.
pub fn canonical(element: &str) -> String {
    let xml = wrap(element);
    let doc = match roxmltree::Document::parse(&xml) {
        Ok(d) => d,
        Err(e) => panic!("not XML ({e}): {xml}"),
    };
    let mut out = String::new();
    canon_node(doc.root_element(), &mut out);
    out.replace(")(", ")\n(")
}

/// An account table as the agent would hold it, recording what it was asked to persist and
/// audit.
#[cfg(feature = "accounts")]
pub struct TestAccounts {
    pub table: RefCell<wsbmc_accounts::AccountTable>,
    pub changes: RefCell<Vec<wsbmc_accounts::Change>>,
    pub now: Cell<u64>,
    /// `false`: the store cannot keep a change now.
    pub can_persist: Cell<bool>,
    /// `false`: the caller lacks ConfigureUsers.
    pub sees: Cell<bool>,
}

#[cfg(feature = "accounts")]
pub const TEST_SALT: &[u8] = b"0123456789abcdef";

#[cfg(feature = "accounts")]
impl TestAccounts {
    pub fn new() -> Self {
        use wsbmc_accounts::{AccountTable, LockoutPolicy, NewPassword, Role};
        let mut table = AccountTable::new(LockoutPolicy::default(), 2);
        for (name, role, pw) in [
            ("admin", Role::Administrator, "admin-pass"),
            ("op1", Role::Operator, "operator-pass"),
        ] {
            let pw = match NewPassword::new(name, pw.as_bytes(), TEST_SALT, 2) {
                Ok(p) => p,
                Err(e) => panic!("{e:?}"),
            };
            if let Err(e) = table.create(name, role, pw) {
                panic!("{e}");
            }
        }
        Self {
            table: RefCell::new(table),
            changes: RefCell::new(Vec::new()),
            now: Cell::new(1_000),
            can_persist: Cell::new(true),
            sees: Cell::new(true),
        }
    }

    /// Whether `name` logs in with `password` now.
    pub fn logs_in(&self, name: &str, password: &str) -> bool {
        self.table
            .borrow_mut()
            .login(name, password.as_bytes(), self.now.get())
            .result
            .is_ok()
    }
}

#[cfg(feature = "accounts")]
impl wsbmc_cim::Accounts for TestAccounts {
    fn table(&self) -> &RefCell<wsbmc_accounts::AccountTable> {
        &self.table
    }
    fn hash_password(
        &self,
        name: &str,
        password: &[u8],
    ) -> Result<wsbmc_accounts::NewPassword, wsbmc_accounts::PasswordError> {
        wsbmc_accounts::NewPassword::new(name, password, TEST_SALT, 2)
    }
    fn can_persist(&self) -> Result<(), wsbmc_cim::NotPersisted> {
        if self.can_persist.get() {
            Ok(())
        } else {
            Err(wsbmc_cim::NotPersisted)
        }
    }
    fn commit(&self, change: wsbmc_accounts::Change) {
        self.changes.borrow_mut().push(change);
    }
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn caller(&self) -> String {
        "admin".into()
    }
    fn caller_sees_accounts(&self) -> bool {
        self.sees.get()
    }
}
