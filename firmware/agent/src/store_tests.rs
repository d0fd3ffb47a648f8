//! The agent over a store that fails: a console's change the store cannot keep is answered with
//! a fault and leaves nothing changed, every failed store operation is counted, and a failed
//! write puts the monitor back to what the store holds.

extern crate std;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::cell::{Cell, RefCell};
use std::string::ToString;

use alloc::vec::Vec;
use embassy_futures::select::{Either, select};
use embassy_futures::yield_now;
use embedded_storage_async::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};
use futures_lite::future::block_on;
use wsbmc_monitor::{
    Monitor, PowerDomain, Quantity, SensorDesc, SensorSource, Threshold, Thresholds,
};
use wsbmc_sel::{BmcSensors, OverflowPolicy, SelConfig};
use wsbmc_store::{FlashError, Store};
use wsbmc_wsman::Limits;

use super::*;
#[cfg(all(feature = "legacy-overrides", not(feature = "stored")))]
use crate::log::StoredThresholds;
use wsbmc_time_std as _;

const PAGE: usize = 512;

/// A NOR flash in RAM whose writes and erases fail while `broken` is set, as a worn-out or
/// write-protected part does; reads keep working. Its bytes outlive it (a `'static` cell), so a
/// test can mount them again as a restart does.
struct Flaky {
    mem: &'static RefCell<Vec<u8>>,
    broken: &'static Cell<bool>,
}

impl Flaky {
    fn new(pages: usize, broken: &'static Cell<bool>) -> Self {
        Self::on(
            Box::leak(Box::new(RefCell::new(vec![0xFF; pages * PAGE]))),
            broken,
        )
    }

    fn on(mem: &'static RefCell<Vec<u8>>, broken: &'static Cell<bool>) -> Self {
        Self { mem, broken }
    }

    fn range(&self, offset: u32, len: usize) -> Result<core::ops::Range<usize>, FlashError> {
        let start = offset as usize;
        let end = start.checked_add(len).ok_or(FlashError::OutOfBounds)?;
        if end > self.mem.borrow().len() {
            return Err(FlashError::OutOfBounds);
        }
        Ok(start..end)
    }

    fn check(&self) -> Result<(), FlashError> {
        if self.broken.get() {
            Err(FlashError::PowerLost)
        } else {
            Ok(())
        }
    }
}

impl ErrorType for Flaky {
    type Error = FlashError;
}

impl ReadNorFlash for Flaky {
    const READ_SIZE: usize = 1;
    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let r = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(&self.mem.borrow()[r]);
        Ok(())
    }
    fn capacity(&self) -> usize {
        self.mem.borrow().len()
    }
}

impl NorFlash for Flaky {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;
    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        self.check()?;
        let r = self.range(from, (to - from) as usize)?;
        self.mem.borrow_mut()[r].fill(0xFF);
        Ok(())
    }
    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        self.check()?;
        let r = self.range(offset, bytes.len())?;
        // NOR: programming only clears bits.
        for (cell, b) in self.mem.borrow_mut()[r].iter_mut().zip(bytes) {
            *cell &= *b;
        }
        Ok(())
    }
}

impl MultiwriteNorFlash for Flaky {}

const UNC_DEFAULT: i32 = 85_000;

fn cpu_temp() -> SensorDesc {
    let thresholds = Thresholds {
        upper_non_critical: Some(UNC_DEFAULT),
        upper_critical: Some(95_000),
        ..Thresholds::default()
    };
    SensorDesc {
        key: "cpu0_temp".into(),
        name: "CPU0 Temp".into(),
        description: String::new(),
        number: 48,
        owner: 0x20,
        lun: 0,
        entity_id: 3,
        entity_instance: 1,
        quantity: Quantity::Temperature,
        scale: -3,
        thresholds,
        default_thresholds: thresholds,
        settable: Threshold::UpperNonCritical.bit(),
        hysteresis: 0,
        min_readable: -128_000,
        max_readable: 127_000,
        nominal: None,
        poll_ms: 1_000,
        power: PowerDomain::Always,
        source: SensorSource {
            device: 0,
            channel: 0,
        },
    }
}

fn agent() -> Agent {
    agent_of(vec![cpu_temp()])
}

fn agent_of(sensors: Vec<SensorDesc>) -> Agent {
    Agent::new(
        Monitor::new(sensors),
        SystemInfo::new("host-1"),
        Limits::default(),
        7,
    )
}

fn config() -> SelConfig {
    SelConfig {
        capacity: 16,
        policy: OverflowPolicy::Wrap,
        bmc: BmcSensors::default(),
    }
}

const SENSOR_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor";

/// A console's Put of UpperThresholdNonCritical = `unc` on the sensor, through the handler.
fn put_unc(agent: &Agent, unc: i32) -> Response<crate::Streamed> {
    let selectors = [
        ("CreationClassName", "CIM_NumericSensor".to_string()),
        (
            "DeviceID",
            wsbmc_cim::sensor::device_id_of("CPU0 Temp", 48, 0, 0x20),
        ),
        ("SystemCreationClassName", "CIM_ComputerSystem".to_string()),
        ("SystemName", "host-1".to_string()),
    ]
    .iter()
    .map(|(k, v)| format!("<w:Selector Name=\"{k}\">{v}</w:Selector>"))
    .collect::<String>();
    let body = format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><s:Header>\
         <a:To>http://127.0.0.1/wsman</a:To>\
         <w:ResourceURI s:mustUnderstand=\"true\">{SENSOR_URI}</w:ResourceURI>\
         <a:ReplyTo><a:Address s:mustUnderstand=\"true\">\
         http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
         <a:Action s:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2004/09/transfer/Put\
         </a:Action><a:MessageID>uuid:00000000-0000-0000-0000-00000000000{n}</a:MessageID>\
         <w:SelectorSet>{selectors}</w:SelectorSet></s:Header><s:Body>\
         <p:CIM_NumericSensor xmlns:p=\"{SENSOR_URI}\">\
         <p:UpperThresholdNonCritical>{unc}</p:UpperThresholdNonCritical>\
         </p:CIM_NumericSensor></s:Body></s:Envelope>",
        n = unc % 10,
    );
    let req = Request {
        path: "/wsman",
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some("admin"),
        role: Some(wsbmc_http::Role::Administrator),
        profiles: &[],
    };
    agent.handle(&req, body.as_bytes())
}

fn unc(agent: &Agent) -> Option<i32> {
    unc_of(agent, "cpu0_temp")
}

fn unc_of(agent: &Agent, key: &str) -> Option<i32> {
    agent.with_monitor(|m| {
        let id = m.find_key(key).unwrap();
        m.thresholds(id).unwrap().upper_non_critical
    })
}

fn text(r: &Response<crate::Streamed>) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn is_internal_error(r: &Response<crate::Streamed>) -> bool {
    let t = text(r);
    r.outcome.status() == 500 && t.contains(":InternalError<") && t.contains("settings store")
}

/// Lets the log task run until it has nothing left to do.
async fn settle() {
    for _ in 0..64 {
        yield_now().await;
    }
}

/// Runs `body` beside the agent's log task on a store over `map` and `queue`.
fn with_log_task(agent: &Agent, map: Flaky, queue: Flaky, body: impl AsyncFnOnce()) {
    block_on(async {
        let store = Store::mount(map, queue).await.unwrap();
        match select(agent.run_log(store, config(), |_| ()), async {
            settle().await;
            body().await
        })
        .await
        {
            Either::First(never) => never,
            Either::Second(()) => {}
        }
    });
}

#[cfg(feature = "stored")]
#[test]
fn a_put_the_store_cannot_keep_answers_a_fault_and_changes_nothing() {
    let broken: &'static Cell<bool> = Box::leak(Box::new(Cell::new(false)));
    let agent = agent();
    with_log_task(
        &agent,
        Flaky::new(2, broken),
        Flaky::new(4, broken),
        async || {
            assert!(agent.log().is_enabled());
            assert_eq!(agent.store_errors(), 0);
            assert!(!agent.store_failing());
            let ok = put_unc(&agent, 88_000);
            assert_eq!(ok.outcome.status(), 200, "{}", text(&ok));
            settle().await;
            assert_eq!(unc(&agent), Some(88_000));
            assert_eq!(agent.store_errors(), 0);

            // The flash stops taking writes. The handler cannot wait for flash, so the Put that
            // meets the failure is queued; its write fails, is counted, and the monitor goes
            // back to what the store holds.
            broken.set(true);
            assert_eq!(put_unc(&agent, 90_000).outcome.status(), 200);
            settle().await;
            assert_eq!(unc(&agent), Some(88_000), "reverted to the stored value");
            assert_eq!(agent.store_errors(), 1);
            assert!(agent.store_failing());

            // From then on a change is refused with a fault and nothing changes.
            let refused = put_unc(&agent, 91_000);
            assert!(is_internal_error(&refused), "{}", text(&refused));
            assert_eq!(unc(&agent), Some(88_000));
            settle().await;
            assert_eq!(unc(&agent), Some(88_000));

            // A failing SEL write is counted as well.
            agent
                .log()
                .send(LogCmd::Event(wsbmc_sel::bmc_started(agent.log().bmc())));
            settle().await;
            assert_eq!(agent.store_errors(), 2);

            // Once the store takes a write again, changes are accepted again.
            broken.set(false);
            agent
                .log()
                .send(LogCmd::Event(wsbmc_sel::bmc_started(agent.log().bmc())));
            settle().await;
            assert!(!agent.store_failing());
            assert_eq!(put_unc(&agent, 92_000).outcome.status(), 200);
            settle().await;
            assert_eq!(unc(&agent), Some(92_000));
            assert_eq!(agent.store_errors(), 2);
        },
    );
}

/// Without `stored` (a store blank at every start) the log and a threshold change live in RAM
/// only: nothing is written for them, so a store that takes no writes neither reverts the
/// change nor loses the record, and no store error refuses the next change.
#[cfg(not(feature = "stored"))]
#[test]
fn without_stored_the_log_and_changes_live_in_ram_and_nothing_is_written() {
    let broken: &'static Cell<bool> = Box::leak(Box::new(Cell::new(false)));
    let agent = agent();
    with_log_task(
        &agent,
        Flaky::new(2, broken),
        Flaky::new(4, broken),
        async || {
            broken.set(true);
            let ok = put_unc(&agent, 88_000);
            assert_eq!(ok.outcome.status(), 200, "{}", text(&ok));
            settle().await;
            assert_eq!(unc(&agent), Some(88_000), "kept: no write to fail");

            let before = agent.log().fill().0;
            agent
                .log()
                .send(LogCmd::Event(wsbmc_sel::bmc_started(agent.log().bmc())));
            settle().await;
            assert_eq!(agent.log().fill().0, before + 1, "the record is in the log");
            assert_eq!(agent.store_errors(), 0);
            assert!(!agent.store_failing());
            let ok = put_unc(&agent, 91_000);
            assert_eq!(ok.outcome.status(), 200, "{}", text(&ok));
            settle().await;
            assert_eq!(unc(&agent), Some(91_000));
        },
    );
}

#[test]
fn without_a_mounted_store_a_put_is_refused_and_nothing_changes() {
    // No log task: the store never mounted (as when it cannot be).
    let agent = agent();
    let refused = put_unc(&agent, 88_000);
    assert!(is_internal_error(&refused), "{}", text(&refused));
    assert_eq!(unc(&agent), Some(UNC_DEFAULT));
}

#[cfg(feature = "stored")]
#[test]
fn a_store_failing_from_the_start_is_counted_and_refuses_changes() {
    let broken: &'static Cell<bool> = Box::leak(Box::new(Cell::new(false)));
    let agent = agent();
    // The store mounts, then takes no write: the SEL cannot write its first record.
    block_on(async {
        let store = Store::mount(Flaky::new(2, broken), Flaky::new(4, broken))
            .await
            .unwrap();
        broken.set(true);
        let body = async {
            settle().await;
            assert!(agent.store_errors() >= 1);
            let refused = put_unc(&agent, 88_000);
            assert!(is_internal_error(&refused), "{}", text(&refused));
            assert_eq!(unc(&agent), Some(UNC_DEFAULT));
        };
        match select(agent.run_log(store, config(), |_| ()), body).await {
            Either::First(never) => never,
            Either::Second(()) => {}
        }
    });
}

/// A sensor the board file lists before cpu0_temp after an edit: without keying by identity,
/// cpu0_temp's override (stored at index 0) would land on it.
#[cfg(feature = "stored")]
fn inserted() -> SensorDesc {
    SensorDesc {
        key: "inlet_temp".into(),
        name: "Inlet Temp".into(),
        number: 1,
        ..cpu_temp()
    }
}

/// Two flash regions that survive the agents run on them, and the switch that breaks them.
#[cfg(any(feature = "stored", feature = "legacy-overrides"))]
struct Board {
    map: &'static RefCell<Vec<u8>>,
    queue: &'static RefCell<Vec<u8>>,
    broken: &'static Cell<bool>,
}

#[cfg(any(feature = "stored", feature = "legacy-overrides"))]
impl Board {
    fn new() -> Self {
        Self {
            map: Box::leak(Box::new(RefCell::new(vec![0xFF; 2 * PAGE]))),
            queue: Box::leak(Box::new(RefCell::new(vec![0xFF; 4 * PAGE]))),
            broken: Box::leak(Box::new(Cell::new(false))),
        }
    }

    /// One start of an agent with `sensors` on this board's flash, running `body`.
    fn start(&self, sensors: Vec<SensorDesc>, body: impl AsyncFnOnce(&Agent)) {
        let agent = agent_of(sensors);
        with_log_task(
            &agent,
            Flaky::on(self.map, self.broken),
            Flaky::on(self.queue, self.broken),
            async || body(&agent).await,
        );
    }

    #[cfg(feature = "legacy-overrides")]
    fn store(&self) -> Store<Flaky> {
        block_on(Store::mount(
            Flaky::on(self.map, self.broken),
            Flaky::on(self.queue, self.broken),
        ))
        .unwrap()
    }
}

#[cfg(feature = "stored")]
#[test]
fn an_override_stays_with_its_sensor_when_one_is_inserted_before_it() {
    let board = Board::new();
    board.start(vec![cpu_temp()], async |agent| {
        assert_eq!(put_unc(agent, 88_000).outcome.status(), 200);
        settle().await;
    });
    board.start(vec![cpu_temp()], async |agent| {
        assert_eq!(unc(agent), Some(88_000), "restored after a restart");
    });
    // The board file gains a sensor before cpu0_temp: every index moves by one.
    board.start(vec![inserted(), cpu_temp()], async |agent| {
        assert_eq!(unc_of(agent, "cpu0_temp"), Some(88_000));
        assert_eq!(unc_of(agent, "inlet_temp"), Some(UNC_DEFAULT));
        // And the new sensor's own override lands on it alone.
        let t = Thresholds {
            upper_non_critical: Some(60_000),
            ..cpu_temp().thresholds
        };
        let platform = crate::AsPlatform::of(agent);
        platform.can_persist().unwrap();
        platform.persist_thresholds("inlet_temp", &t);
        settle().await;
    });
    board.start(vec![cpu_temp(), inserted()], async |agent| {
        assert_eq!(unc_of(agent, "cpu0_temp"), Some(88_000));
        assert_eq!(unc_of(agent, "inlet_temp"), Some(60_000));
    });
}

#[cfg(feature = "legacy-overrides")]
#[test]
fn an_override_kept_by_index_is_dropped_not_applied() {
    let board = Board::new();
    {
        // What firmware before issue 18 left: sensor 0's set under its index.
        let mut store = board.store();
        let old = StoredThresholds {
            upper_non_critical: Some(70_000),
            upper_critical: Some(95_000),
            ..Default::default()
        };
        let key = wsbmc_store::StoreKey::threshold_override(0).unwrap();
        block_on(store.set(key, &old)).unwrap();
    }
    board.start(vec![cpu_temp()], async |agent| {
        assert_eq!(unc(agent), Some(UNC_DEFAULT), "not applied");
        assert_eq!(agent.store_errors(), 0);
    });
    let mut store = board.store();
    let key = wsbmc_store::StoreKey::threshold_override(0).unwrap();
    assert_eq!(
        block_on(store.contains(key)),
        Ok(false),
        "and gone for good"
    );
}

/// The log task's side of a Session Audit event: the record goes through the SEL as every event
/// does and then carries its names (bounded), a record logged without names has none, and
/// ClearLog takes the names with the records. With and without `accounts-store`.
#[cfg(feature = "accounts")]
#[test]
fn an_audit_record_carries_its_names_until_the_log_is_cleared() {
    let broken: &'static Cell<bool> = Box::leak(Box::new(Cell::new(false)));
    let agent = agent();
    let audit_names = |agent: &Agent| {
        (0..agent.log().len())
            .filter_map(|i| agent.log().record(i))
            .map(|v| v.audit)
            .collect::<Vec<_>>()
    };
    let long = "x".repeat(100);
    let names = wsbmc_cim::AuditNames {
        user: Some("bob\u{7}".into()),
        by: Some(long.clone()),
    };
    with_log_task(
        &agent,
        Flaky::new(4, broken),
        Flaky::new(4, broken),
        async || {
            let before = agent.log().len();
            assert!(agent.log_session_audit(0x2A, 0x6F, false, [0xE1, 2, 0x31], names));
            assert!(
                agent
                    .log
                    .send(LogCmd::Event(wsbmc_sel::bmc_started(agent.log.bmc())))
            );
            settle().await;
            let shown = audit_names(&agent);
            assert_eq!(shown.len(), before + 2);
            assert_eq!(
                shown[before],
                Some(wsbmc_cim::AuditNames {
                    user: Some("bob?".into()),
                    by: Some(long[..audit::MAX_NAME].into()),
                })
            );
            assert_eq!(shown[before + 1], None, "a plain record has no names");
            assert!(agent.log.send(LogCmd::Clear));
            settle().await;
            assert!(agent.log().len() > 0, "the clear is itself logged");
            assert!(audit_names(&agent).iter().all(Option::is_none));
            assert_eq!(agent.store_errors(), 0);
        },
    );
}
