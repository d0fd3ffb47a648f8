//! The System Event Log inside the agent.
//!
//! One task ([`crate::Agent::run_log`]) owns the store and the [`Sel`]. Flash writes are async
//! and must never be abandoned midway. The HTTP handler, meanwhile, is synchronous and must
//! never see a half-done write. So everyone else reaches the log through a bounded command queue
//! ([`LogShared::send`]) and reads the snapshot that the task publishes after each committed
//! change. The snapshot is a copy of the RAM mirror the SEL already keeps (16 bytes a record),
//! taken only when the log changes, which is rare next to how often it is read.

use alloc::string::ToString;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::channel::Channel;
use minicbor::{Decode, Encode};
use wsbmc_cim::{LogRecordView, LogView, RecordSensor};
use wsbmc_ipmi::sel::{Body, Record};
use wsbmc_monitor::{SensorDesc, Thresholds};
use wsbmc_sel::{BmcSensors, Event, OverflowPolicy, Sel};

/// Commands waiting for the log task. Threshold crossings come in bursts when a sensor swings
/// across several limits at once; 32 covers a whole board stepping over one limit together.
pub const QUEUE_DEPTH: usize = 32;

/// Work for the log task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogCmd {
    Event(Event),
    Clear,
    /// Persist a sensor's thresholds (by index in the board's sensor table).
    #[cfg(feature = "stored")]
    Thresholds(u16, StoredThresholds),
    /// Store a record already encoded as CBOR under a key, or remove the key (`None`): an
    /// account slot or the account settings (issue 15), which the accounts crate encodes, or
    /// a chunk of a WS-Eventing subscription (issue 16).
    #[cfg(any(feature = "accounts-store", feature = "eventing-store"))]
    Record(wsbmc_store::StoreKey, Option<Vec<u8>>),
    /// A Session Audit event and the names its record has no room for (issue 15): the record
    /// is added, then its names are kept beside it (`crate::audit`).
    #[cfg(feature = "accounts")]
    Audit(Event, wsbmc_cim::AuditNames),
}

/// CBOR bytes encoded elsewhere, written to the store as they are.
#[cfg(any(feature = "accounts-store", feature = "eventing-store"))]
pub(crate) struct Raw<'a>(pub &'a [u8]);

#[cfg(any(feature = "accounts-store", feature = "eventing-store"))]
impl<C> Encode<C> for Raw<'_> {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.writer_mut()
            .write_all(self.0)
            .map_err(minicbor::encode::Error::write)
    }
}

/// A sensor's thresholds as stored in the store's map (CBOR); `None` means "no such threshold".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode)]
pub struct StoredThresholds {
    #[n(0)]
    pub lower_non_critical: Option<i32>,
    #[n(1)]
    pub upper_non_critical: Option<i32>,
    #[n(2)]
    pub lower_critical: Option<i32>,
    #[n(3)]
    pub upper_critical: Option<i32>,
    #[n(4)]
    pub lower_fatal: Option<i32>,
    #[n(5)]
    pub upper_fatal: Option<i32>,
}

impl From<&Thresholds> for StoredThresholds {
    fn from(t: &Thresholds) -> Self {
        Self {
            lower_non_critical: t.lower_non_critical,
            upper_non_critical: t.upper_non_critical,
            lower_critical: t.lower_critical,
            upper_critical: t.upper_critical,
            lower_fatal: t.lower_fatal,
            upper_fatal: t.upper_fatal,
        }
    }
}

impl From<StoredThresholds> for Thresholds {
    fn from(t: StoredThresholds) -> Self {
        Self {
            lower_non_critical: t.lower_non_critical,
            upper_non_critical: t.upper_non_critical,
            lower_critical: t.lower_critical,
            upper_critical: t.upper_critical,
            lower_fatal: t.lower_fatal,
            upper_fatal: t.upper_fatal,
        }
    }
}

/// What the handler reads: the log as of the last committed change.
#[derive(Debug, Default)]
struct Snapshot {
    records: Vec<Record>,
    capacity: u16,
    wraps: bool,
    overflow: bool,
    /// False until the log task has mounted the store, and for good if mounting failed.
    enabled: bool,
}

/// The log as every task but the log task sees it.
pub struct LogShared {
    snapshot: RefCell<Snapshot>,
    queue: Channel<NoopRawMutex, LogCmd, QUEUE_DEPTH>,
    /// Commands refused because the queue was full; reported, never silently lost.
    dropped: Cell<u32>,
    /// Threshold events the per-sensor rate limit kept out of the log.
    limited: Cell<u32>,
    bmc: BmcSensors,
    /// (sensor number, the sensor as records name it) of the board's sensors, for the CIM view
    /// of the records; one entry a number. A list, not a `BTreeMap`: a few dozen entries built
    /// once, and the map's node code was ~1.5 KiB of the bare-metal image's flash.
    sensors: Vec<(u8, RecordSensor)>,
    /// The names of Session Audit records, as the log task last stored them.
    #[cfg(feature = "accounts")]
    names: RefCell<crate::audit::NameTable>,
}

impl LogShared {
    pub fn new(sensors: &[SensorDesc], bmc: BmcSensors) -> Self {
        let mut table = Vec::new();
        for d in sensors {
            name_sensor(&mut table, d.number, record_sensor(&d.name, d.lun, d.owner));
        }
        let sensors = table;
        Self {
            snapshot: RefCell::new(Snapshot::default()),
            queue: Channel::new(),
            dropped: Cell::new(0),
            limited: Cell::new(0),
            bmc,
            sensors,
            #[cfg(feature = "accounts")]
            names: RefCell::new(crate::audit::NameTable::default()),
        }
    }

    /// The audit name table, for the log task.
    #[cfg(feature = "accounts")]
    pub(crate) fn names(&self) -> &RefCell<crate::audit::NameTable> {
        &self.names
    }

    /// Adds the board's discrete sensors to the names records are rendered with.
    #[cfg(feature = "discrete")]
    pub fn with_discrete(mut self, descs: &[wsbmc_monitor::DiscreteDesc]) -> Self {
        for d in descs {
            name_sensor(
                &mut self.sensors,
                d.number,
                record_sensor(&d.name, d.lun, d.owner),
            );
        }
        self
    }

    /// Records in the log and how many fit, as last published (for the SEL's own sensor).
    #[cfg(any(test, feature = "discrete"))]
    pub(crate) fn fill(&self) -> (usize, usize) {
        let s = self.snapshot.borrow();
        (s.records.len(), usize::from(s.capacity))
    }

    pub fn bmc(&self) -> &BmcSensors {
        &self.bmc
    }

    /// Queues `cmd` without waiting. A full queue drops the command and counts it: the caller
    /// (the poller, a request handler) must never block on flash.
    pub fn send(&self, cmd: LogCmd) -> bool {
        let ok = self.queue.try_send(cmd).is_ok();
        if !ok {
            self.dropped.set(self.dropped.get().saturating_add(1));
        }
        ok
    }

    /// Whether [`LogShared::send`] would take a command now.
    pub fn has_room(&self) -> bool {
        !self.queue.is_full()
    }

    /// Commands the queue takes now.
    #[cfg(feature = "eventing-store")]
    pub(crate) fn room(&self) -> usize {
        self.queue.free_capacity()
    }

    /// Queues `cmd`, waiting while the queue is full: for producers that may wait (the sim
    /// control channel), never for the poller or a request handler.
    pub async fn send_wait(&self, cmd: LogCmd) {
        self.queue.send(cmd).await;
    }

    /// Counts threshold events the rate limit refused.
    pub fn count_limited(&self, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.limited.set(self.limited.get().saturating_add(n));
    }

    /// Threshold events the per-sensor rate limit kept out of the log.
    pub fn limited(&self) -> u32 {
        self.limited.get()
    }

    /// Commands dropped because the log task fell behind.
    pub fn dropped(&self) -> u32 {
        self.dropped.get()
    }

    pub(crate) async fn receive(&self) -> LogCmd {
        self.queue.receive().await
    }

    /// Publishes the log's state after a committed change.
    pub(crate) fn publish(&self, sel: &Sel) {
        let mut s = self.snapshot.borrow_mut();
        s.records.clear();
        s.records.extend(sel.iter());
        s.capacity = sel.capacity() as u16;
        s.wraps = sel.policy() == OverflowPolicy::Wrap;
        s.overflow = sel.overflow();
        s.enabled = true;
    }

    /// Empties the snapshot at once for ClearLog, so a console that reads right after its
    /// ClearLog returned sees an empty log even before the task has committed the clear.
    pub(crate) fn clear_now(&self) {
        let mut s = self.snapshot.borrow_mut();
        s.records.clear();
        s.overflow = false;
    }

    pub fn is_enabled(&self) -> bool {
        self.snapshot.borrow().enabled
    }

    /// The sensor record `r` names: a board sensor, one of the BMC's own, or `None` (a number
    /// nobody knows, or a record that names no sensor).
    /// `record` as the model shows it: with the sensor it names (and, with accounts, the names
    /// kept beside an audit record).
    pub(crate) fn view_of(&self, record: Record) -> LogRecordView {
        let view = LogRecordView::new(record, self.sensor(&record));
        #[cfg(feature = "accounts")]
        let view = LogRecordView {
            audit: self.names.borrow().names(&record),
            ..view
        };
        view
    }

    fn sensor(&self, r: &Record) -> Option<RecordSensor> {
        let Body::System(e) = r.body else { return None };
        let number = e.sensor_number;
        if let Some((_, s)) = self.sensors.iter().find(|(n, _)| *n == number) {
            return Some(s.clone());
        }
        let (lun, owner) = self.bmc.lun_owner();
        self.bmc
            .name(number)
            .map(|name| record_sensor(name, lun, owner))
    }
}

fn record_sensor(name: &str, lun: u8, owner: u8) -> RecordSensor {
    RecordSensor {
        name: name.to_string(),
        lun,
        owner,
    }
}

/// Names sensor `number` in `table`: a repeated number keeps the last sensor, as a map insert
/// would.
fn name_sensor(table: &mut Vec<(u8, RecordSensor)>, number: u8, sensor: RecordSensor) {
    match table.iter_mut().find(|(n, _)| *n == number) {
        Some(entry) => *entry = (number, sensor),
        None => table.push((number, sensor)),
    }
}

/// On a reference: the model reaches the log as a `&dyn LogView`, and a reference's vtable has
/// no drop glue to link (see `AsPlatform`).
impl LogView for &LogShared {
    fn len(&self) -> usize {
        self.snapshot.borrow().records.len()
    }

    fn record(&self, index: usize) -> Option<LogRecordView> {
        let record = *self.snapshot.borrow().records.get(index)?;
        Some(self.view_of(record))
    }

    fn record_id(&self, index: usize) -> Option<u16> {
        self.snapshot.borrow().records.get(index).map(|r| r.id.0)
    }

    fn capacity(&self) -> Option<u64> {
        let c = self.snapshot.borrow().capacity;
        (c > 0).then_some(u64::from(c))
    }

    fn wraps(&self) -> bool {
        self.snapshot.borrow().wraps
    }

    fn overflowed(&self) -> bool {
        self.snapshot.borrow().overflow
    }

    fn enabled(&self) -> bool {
        self.is_enabled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_round_trip_through_cbor() {
        let t = StoredThresholds {
            upper_critical: Some(95_000),
            lower_critical: Some(-5),
            ..Default::default()
        };
        let mut buf = [0u8; 64];
        let n = {
            let mut w = minicbor::encode::write::Cursor::new(&mut buf[..]);
            minicbor::encode(t, &mut w).unwrap();
            w.position()
        };
        let back: StoredThresholds = minicbor::decode(&buf[..n]).unwrap();
        assert_eq!(back, t);
        assert_eq!(StoredThresholds::from(&Thresholds::from(back)), t);
    }

    #[test]
    fn a_full_queue_counts_what_it_drops() {
        let log = LogShared::new(&[], BmcSensors::default());
        for _ in 0..QUEUE_DEPTH {
            assert!(log.send(LogCmd::Clear));
        }
        assert!(!log.send(LogCmd::Clear));
        assert_eq!(log.dropped(), 1);
    }

    #[test]
    fn a_repeated_sensor_number_keeps_the_last_sensor() {
        let mut table = Vec::new();
        name_sensor(&mut table, 7, record_sensor("A", 0, 0x20));
        name_sensor(&mut table, 9, record_sensor("B", 0, 0x20));
        name_sensor(&mut table, 7, record_sensor("C", 1, 0x20));
        assert_eq!(
            table,
            [
                (7, record_sensor("C", 1, 0x20)),
                (9, record_sensor("B", 0, 0x20))
            ]
        );
    }
}
