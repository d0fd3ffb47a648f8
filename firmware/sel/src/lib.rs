//! The System Event Log.
//!
//! One bounded log of IPMI SEL records (`wsbmc_ipmi::sel`) with RecordIDs, timestamps, a capacity
//! and an overflow policy, persisted in the store's queue and mirrored in RAM (with feature
//! `stored`; without it, for a store blank at every start, the RAM mirror is the log).
//!
//! Load-bearing choices:
//! - **RAM mirror.** Every live record is kept in RAM (16 bytes each), so listing, paging and
//!   lookup by RecordID never touch flash; flash is read once, at [`Sel::mount`]. The capacity is
//!   therefore a RAM budget as much as a flash one.
//! - **The flash queue always overwrites**, and the capacity is enforced in RAM. The store
//!   guarantees the newest `Store::queue_guaranteed_records` records survive its page-wise
//!   overwrite; [`Sel::mount`] refuses a capacity beyond that, so a record the log still counts
//!   is never lost to a wrap, while records the log no longer counts (wrapped out, or cleared)
//!   are reclaimed by the queue in its own time.
//! - **Clear is one append.** [`Sel::clear`] appends the "log area reset/cleared" record with a
//!   clear mark; at mount everything before the last mark is dropped. So a clear is atomic under
//!   power loss (the mark is there or it is not) and costs one record write, not an erase.
//! - **RecordIDs** increase by one per stored record, skip 0x0000 and 0xFFFF, and continue across
//!   clears and reboots (the next id follows the newest stored record), so (RecordID,
//!   timestamp) stays unique for consoles that cached earlier records.
//! - **Stop policy** refuses records at capacity and raises the overflow flag (persisted in the
//!   store map with feature `stored`), as a classic IPMI SEL does; a clear lowers it.
//! - **Loss is detected, not silent** (feature `loss-detection`). The map's SEL state keeps a mark of the newest RecordID and the
//!   record count ([`Sel::checkpoint`]); a queue that mounts with fewer records than the mark
//!   promises (its count plus the RecordIDs since), or an older newest record (flash damaged, the file
//!   deleted, truncated or replaced) is reported by [`Sel::lost`], and RecordIDs continue after
//!   the mark rather than restarting at 1. A store without a mark (a new device) is silent.
//! - **Cancellation:** the async methods write flash; never drop their futures midway (see
//!   `wsbmc_store`). The RAM mirror only changes after the flash write succeeded, so an error
//!   leaves the log as it was.
#![no_std]

extern crate alloc;

use alloc::collections::VecDeque;

use embedded_storage_async::nor_flash::MultiwriteNorFlash;
use minicbor::bytes::ByteArray;
use minicbor::{Decode, Encode};
use wsbmc_ipmi::sel::{
    Body, EVM_REV, EventType, GeneratorId, RECORD_LEN, Record, RecordId, SystemEvent,
};
use wsbmc_store::{Store, StoreError, StoreKey};

pub mod watcher;

pub use watcher::{
    BmcSensors, EVENT_LOG_ALMOST_FULL, EVENT_LOG_CLEARED, EVENT_LOG_FULL, HostPower,
    SYSTEM_EVENT_BOOT, almost_full, bmc_started, discrete_events, host_power, log_cleared,
    power_unit_offset, threshold_events,
};

/// What happens when the log is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowPolicy {
    /// Overwrite the oldest record (CIM OverwritePolicy 2, "Wraps When Full").
    Wrap,
    /// Refuse new records and set the overflow flag (CIM OverwritePolicy 7, "Never
    /// Overwrites"; the IPMI default).
    Stop,
}

/// The log's configuration, from the board or the agent's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelConfig {
    /// Most records the log holds.
    pub capacity: u16,
    pub policy: OverflowPolicy,
    /// Numbers and generator for the BMC's own sensors (the SEL itself, the BMC, host power).
    pub bmc: BmcSensors,
}

/// An event before the log gives it a RecordID and a timestamp: what the watcher produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    pub generator: GeneratorId,
    pub sensor_type: u8,
    pub sensor_number: u8,
    pub deassertion: bool,
    pub event_type: EventType,
    pub data: [u8; 3],
}

impl Event {
    /// The record this event becomes with `id` at `timestamp`.
    ///
    /// Out of line: inlined at both of its callers (add and clear) it cost the bare-metal
    /// image more flash than the calls do.
    #[inline(never)]
    pub const fn record(&self, id: RecordId, timestamp: u32) -> Record {
        Record {
            id,
            body: Body::System(SystemEvent {
                timestamp,
                generator: self.generator,
                evm_rev: EVM_REV,
                sensor_type: self.sensor_type,
                sensor_number: self.sensor_number,
                deassertion: self.deassertion,
                event_type: self.event_type,
                data: self.data,
            }),
        }
    }
}

/// The result of [`Sel::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored (and on flash) under this id.
    Stored(RecordId),
    /// The log is full under [`OverflowPolicy::Stop`]; the overflow flag is set.
    Refused,
}

/// Why the log could not be mounted or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelError<E> {
    Store(StoreError<E>),
    /// The configured capacity is zero or exceeds what the queue region guarantees to keep.
    CapacityTooLarge {
        requested: u16,
        max: usize,
    },
}

impl<E> From<StoreError<E>> for SelError<E> {
    fn from(e: StoreError<E>) -> Self {
        SelError::Store(e)
    }
}

/// The flash form of one log entry: the 16 record bytes and flags. A CBOR array with numbered
/// fields so later versions can add fields old images skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
struct Stored {
    #[n(0)]
    record: ByteArray<RECORD_LEN>,
    #[n(1)]
    flags: u8,
}

/// Set on the record a clear appended: everything before it is gone.
const FLAG_CLEARS: u8 = 0x01;

/// Upper bound of an encoded [`Stored`]: array header 1, byte string header 1 + 16, flags ≤ 2.
pub const STORED_MAX_LEN: usize = 20;

/// The log's persistent state in the store map: the overflow flag and the mark of what the log
/// knew of its queue when it was written ([`Sel::checkpoint`], and every overflow change). One
/// entry rather than two: mount reads it once, and every write shares one code path (on the
/// bare-metal image a second map entry cost ~0.5 KiB of flash). A state written before the
/// mark moved here (issue 20's first version kept it under [`StoreKey::SEL_MARK`]) decodes with
/// no mark, which reads like a new device until the next checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Encode, Decode)]
#[cbor(array)]
struct State {
    #[n(0)]
    overflow: bool,
    /// RecordID of the newest record (0: none).
    #[n(1)]
    #[cbor(default)]
    newest: u16,
    /// Records in the log (0: no mark).
    #[n(2)]
    #[cbor(default)]
    len: u16,
}

/// The mark part of [`State`], when it has one.
#[cfg(feature = "loss-detection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mark {
    newest: u16,
    len: u16,
}

/// The System Event Log. The methods that change it take the [`Store`] it was mounted from;
/// passing another store is a caller bug that would split the RAM mirror from flash.
#[derive(Debug, Clone)]
pub struct Sel {
    config: SelConfig,
    /// Oldest first.
    records: VecDeque<[u8; RECORD_LEN]>,
    next_id: RecordId,
    overflow: bool,
    last_add: Option<u32>,
    last_erase: Option<u32>,
    undecodable: u32,
    /// Records lost from flash since the last [`Sel::checkpoint`], at least.
    #[cfg(feature = "loss-detection")]
    lost: Option<usize>,
}

impl Sel {
    /// Loads the log from `store`'s queue: drops everything before the last clear, keeps the
    /// newest `capacity` records, and resumes RecordIDs after the newest.
    pub async fn mount<F: MultiwriteNorFlash>(
        store: &mut Store<F>,
        config: SelConfig,
    ) -> Result<Self, SelError<F::Error>> {
        let cap = capacity(store, &config)?;
        let mut records: VecDeque<[u8; RECORD_LEN]> = VecDeque::with_capacity(cap);
        let mut undecodable = 0u32;
        let mut last_erase = None;
        #[cfg(feature = "loss-detection")]
        let mut clear_id = None;
        let scan = store
            .for_each_queued(|bytes| match minicbor::decode::<Stored>(bytes) {
                Ok(s) => {
                    if s.flags & FLAG_CLEARS != 0 {
                        records.clear();
                        let r = Record::decode(&s.record);
                        last_erase = r.timestamp();
                        #[cfg(feature = "loss-detection")]
                        {
                            clear_id = Some(r.id);
                        }
                    }
                    if records.len() == cap {
                        records.pop_front();
                    }
                    records.push_back(*s.record);
                }
                // Whole (CRC-checked) bytes that are not our entry: a format change or a bug.
                // Skipped and counted rather than failing the mount: the rest of the log is fine.
                Err(_) => undecodable = undecodable.saturating_add(1),
            })
            .await;
        // Damage the store cannot repair (a zeroed or overwritten region) would leave the log
        // unmountable for good: its records are lost either way, so the region is erased (below,
        // with nothing to rewrite) and the loss reported, and the map's settings and account
        // stay.
        #[cfg(feature = "loss-detection")]
        let corrupt = matches!(scan, Err(StoreError::Corrupted));
        #[cfg(feature = "loss-detection")]
        if corrupt {
            records.clear();
            last_erase = None;
            clear_id = None;
        } else {
            scan?;
        }
        #[cfg(not(feature = "loss-detection"))]
        scan?;
        let state = store
            .get::<State>(StoreKey::SEL_STATE)
            .await?
            .unwrap_or_default();
        let overflow = state.overflow;
        let newest = records.back().map(Record::decode);
        #[cfg(feature = "loss-detection")]
        let (next_id, lost) = {
            let mark = (state.len > 0).then_some(Mark {
                newest: state.newest,
                len: state.len,
            });
            let (next_id, lost) = recovery(&records, newest, clear_id, corrupt, cap, mark);
            // What is left of a damaged queue is rewritten into a clean one: pages the store
            // could not read (random bytes, flipped bits) would otherwise stay in the region and
            // can hide records written after them. A cut midway loses the survivors, which the
            // mark then reports at the next mount. A corrupted region has no survivors: it is
            // only erased. Written here rather than in a function of its own: its future nested
            // in this one cost the bare-metal image's flash more than its code.
            if lost.is_some() {
                store.erase_queue().await?;
                for r in &records {
                    let stored = Stored {
                        record: ByteArray::from(*r),
                        flags: 0,
                    };
                    store.push(&stored, true).await?;
                }
            }
            (next_id, lost)
        };
        #[cfg(not(feature = "loss-detection"))]
        let next_id = newest.map_or(RecordId::FIRST, |r| r.id.next());
        Ok(Self {
            config,
            next_id,
            last_add: newest.and_then(|r| r.timestamp()),
            records,
            overflow,
            last_erase,
            undecodable,
            #[cfg(feature = "loss-detection")]
            lost,
        })
    }

    /// An empty log on a store that [`Store::format`] has just made: what [`Sel::mount`] finds
    /// there (no records, no state, RecordIDs from the first), without reading the flash. For
    /// a store that starts blank at every boot (the bare-metal image keeps it in RAM), where
    /// mount's reading and recovery could never find anything. On any other store the log
    /// would not match its flash: mount it.
    pub fn fresh<F: MultiwriteNorFlash>(
        store: &Store<F>,
        config: SelConfig,
    ) -> Result<Self, SelError<F::Error>> {
        let cap = capacity(store, &config)?;
        Ok(Self {
            config,
            records: VecDeque::with_capacity(cap),
            next_id: RecordId::FIRST,
            overflow: false,
            last_add: None,
            last_erase: None,
            undecodable: 0,
            #[cfg(feature = "loss-detection")]
            lost: None,
        })
    }

    /// Records lost from flash, at least, found at mount: fewer than the last
    /// [`Sel::checkpoint`] promised (with the records added since), a newest record older than the
    /// mark's, or a queue region damaged beyond repair (erased; `Some(0)` when no mark says how
    /// much it held). `None` when nothing was lost or the store has no mark (a new device).
    pub fn lost(&self) -> Option<usize> {
        #[cfg(feature = "loss-detection")]
        return self.lost;
        #[cfg(not(feature = "loss-detection"))]
        None
    }

    /// Writes the mark [`Sel::lost`] compares with at the next mount: the newest RecordID and
    /// the record count. Called after mount and now and then while records are added (each
    /// call is one map write); records added after the last call and lost with the newest
    /// ones can go unnoticed, which bounds how often it is worth calling.
    pub async fn checkpoint<F: MultiwriteNorFlash>(
        &mut self,
        store: &mut Store<F>,
    ) -> Result<(), SelError<F::Error>> {
        #[cfg(feature = "loss-detection")]
        {
            store
                .set(StoreKey::SEL_STATE, &self.state(self.overflow))
                .await?;
            self.lost = None;
        }
        #[cfg(not(feature = "loss-detection"))]
        let _ = store;
        Ok(())
    }

    /// Appends `event` at `now` (seconds since 1970, or since BMC start before the clock is
    /// set). Returns once the record is on flash.
    pub async fn add<F: MultiwriteNorFlash>(
        &mut self,
        store: &mut Store<F>,
        event: &Event,
        now: u32,
    ) -> Result<Added, SelError<F::Error>> {
        if self.is_full() && self.config.policy == OverflowPolicy::Stop {
            if !self.overflow {
                #[cfg(feature = "stored")]
                store.set(StoreKey::SEL_STATE, &self.state(true)).await?;
                self.overflow = true;
            }
            return Ok(Added::Refused);
        }
        let record = event.record(self.next_id, now);
        #[cfg(feature = "stored")]
        store.push(&stored(&record, 0), true).await?;
        #[cfg(not(feature = "stored"))]
        let _ = store;
        self.appended(record, 0);
        Ok(Added::Stored(record.id))
    }

    /// ClearLog: empties the log, lowers the overflow flag and logs the "log area
    /// reset/cleared" event, whose RecordID is returned.
    pub async fn clear<F: MultiwriteNorFlash>(
        &mut self,
        store: &mut Store<F>,
        now: u32,
    ) -> Result<RecordId, SelError<F::Error>> {
        // The flag goes first: a cut between the two leaves a full log with the flag down, and
        // the next refused record raises it again; the other order could leave an empty log
        // that claims to have dropped records.
        if self.overflow {
            #[cfg(feature = "stored")]
            store.set(StoreKey::SEL_STATE, &self.state(false)).await?;
            self.overflow = false;
        }
        let record = log_cleared(&self.config.bmc).record(self.next_id, now);
        #[cfg(feature = "stored")]
        store.push(&stored(&record, FLAG_CLEARS), true).await?;
        #[cfg(not(feature = "stored"))]
        let _ = store;
        self.appended(record, FLAG_CLEARS);
        self.last_erase = Some(now);
        Ok(record.id)
    }

    /// The [`State`] to write: `overflow` and the log's mark as it stands.
    #[cfg(feature = "stored")]
    fn state(&self, overflow: bool) -> State {
        State {
            overflow,
            newest: self.records.back().map_or(0, |r| Record::decode(r).id.0),
            len: u16::try_from(self.records.len()).unwrap_or(u16::MAX),
        }
    }

    /// Takes `record` (stored on flash with `flags`) into the log in RAM. The push itself is
    /// awaited by [`Sel::add`] and [`Sel::clear`] directly: an async `append` around it nested
    /// one more future in both, which cost the bare-metal image more flash than the two calls.
    fn appended(&mut self, record: Record, flags: u8) {
        if flags & FLAG_CLEARS != 0 {
            self.records.clear();
        }
        if self.is_full() {
            self.records.pop_front();
        }
        self.records.push_back(record.encode());
        self.next_id = record.id.next();
        self.last_add = record.timestamp();
    }

    /// Number of records (CIM CurrentNumberOfRecords).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.records.len() >= usize::from(self.config.capacity)
    }

    /// CIM MaxNumberOfRecords.
    pub fn capacity(&self) -> usize {
        usize::from(self.config.capacity)
    }

    pub fn policy(&self) -> OverflowPolicy {
        self.config.policy
    }

    pub fn config(&self) -> &SelConfig {
        &self.config
    }

    /// Records were refused because the log was full (IPMI Get SEL Info overflow bit).
    pub fn overflow(&self) -> bool {
        self.overflow
    }

    /// Timestamp of the newest record (Get SEL Info "most recent addition").
    pub fn last_add_timestamp(&self) -> Option<u32> {
        self.last_add
    }

    /// Timestamp of the last clear (Get SEL Info "most recent erase").
    pub fn last_erase_timestamp(&self) -> Option<u32> {
        self.last_erase
    }

    /// Entries found on flash at mount that did not decode (skipped).
    pub fn undecodable(&self) -> u32 {
        self.undecodable
    }

    /// The RecordID the next stored record will get.
    pub fn next_id(&self) -> RecordId {
        self.next_id
    }

    /// The record at `index`, oldest first.
    pub fn get(&self, index: usize) -> Option<Record> {
        self.records.get(index).map(Record::decode)
    }

    /// All records, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Record> + ExactSizeIterator + '_ {
        self.records.iter().map(Record::decode)
    }

    /// The record with RecordID `id`. Ids are consecutive in the log, so the index is computed
    /// from the oldest id; a linear search covers a log whose ids are not consecutive (one
    /// written by other firmware).
    pub fn find(&self, id: RecordId) -> Option<Record> {
        let first = self.get(0)?;
        let distance = id_distance(first.id, id);
        if let Some(r) = self.get(distance).filter(|r| r.id == id) {
            return Some(r);
        }
        self.iter().find(|r| r.id == id)
    }

    /// The index of the record with RecordID `id`, for paging from a record onwards.
    pub fn position(&self, id: RecordId) -> Option<usize> {
        let first = self.get(0)?;
        let distance = id_distance(first.id, id);
        if self.get(distance).is_some_and(|r| r.id == id) {
            return Some(distance);
        }
        self.iter().position(|r| r.id == id)
    }
}

/// `config`'s capacity as a length, if `store`'s queue guarantees to keep that many records.
///
/// Without `stored` the queue holds none of the log (its RAM mirror is all of it), so only a
/// zero capacity is refused: a board whose store nothing writes (the bare-metal image) gives
/// it the least RAM the store accepts rather than room for records that never come.
fn capacity<F: MultiwriteNorFlash>(
    store: &Store<F>,
    config: &SelConfig,
) -> Result<usize, SelError<F::Error>> {
    #[cfg(feature = "stored")]
    let max = store.queue_guaranteed_records(STORED_MAX_LEN);
    #[cfg(not(feature = "stored"))]
    let max = {
        let _ = store; // not written: no bound from its queue
        usize::from(u16::MAX)
    };
    if usize::from(config.capacity) > max || config.capacity == 0 {
        return Err(SelError::CapacityTooLarge {
            requested: config.capacity,
            max,
        });
    }
    Ok(usize::from(config.capacity))
}

/// Compares the mounted log with the mark: the next RecordID (after the mark's newest when
/// records were lost) and how many were lost, if any ([`Sel::mount`] then rewrites what
/// survived into a clean queue).
#[cfg(feature = "loss-detection")]
fn recovery(
    records: &VecDeque<[u8; RECORD_LEN]>,
    newest: Option<Record>,
    clear_id: Option<RecordId>,
    corrupt: bool,
    cap: usize,
    mark: Option<Mark>,
) -> (RecordId, Option<usize>) {
    let mut next_id = newest.map_or(RecordId::FIRST, |r| r.id.next());
    let lost = mark.and_then(|m| {
        let lost = match corrupt {
            true => Some(usize::from(m.len)),
            false => missing(records, newest.map(|r| r.id), clear_id, m, cap),
        };
        // RecordIDs resume after the newest the mark knew, when that is later.
        let after_mark = RecordId(m.newest).next();
        if lost.is_some() && id_distance(next_id, after_mark) < HALF_CYCLE {
            next_id = after_mark;
        }
        lost
    });
    // A region erased for damage is a loss even without a mark to count it by.
    (next_id, lost.or(corrupt.then_some(0)))
}

/// The queue entry of `record`.
#[cfg(feature = "stored")]
fn stored(record: &Record, flags: u8) -> Stored {
    Stored {
        record: ByteArray::from(record.encode()),
        flags,
    }
}

/// Half the RecordID cycle: a distance below it is "later", above it "earlier".
#[cfg(feature = "loss-detection")]
const HALF_CYCLE: usize = 0xFFFE / 2;

/// How many records the mark promises that the mounted log does not have, if any. Without a
/// clear since the mark, the log holds as many records as the mark's count plus the records
/// added since (the RecordIDs between the mark's newest and the log's), up to the capacity.
/// Gaps in the RecordIDs are not counted themselves: survivors of an earlier loss keep theirs.
#[cfg(feature = "loss-detection")]
fn missing(
    records: &VecDeque<[u8; RECORD_LEN]>,
    newest: Option<RecordId>,
    clear_id: Option<RecordId>,
    mark: Mark,
    cap: usize,
) -> Option<usize> {
    let Some(newest) = newest else {
        return Some(usize::from(mark.len));
    };
    let marked = RecordId(mark.newest);
    let added = id_distance(marked, newest);
    if added >= HALF_CYCLE {
        // The newest record is older than the mark's: the newer ones are gone.
        return Some(id_distance(newest, marked).max(1));
    }
    if clear_id.is_some_and(|c| c != marked && id_distance(marked, c) < HALF_CYCLE) {
        return None;
    }
    let expected = (usize::from(mark.len) + added).min(cap);
    let lost = expected.saturating_sub(records.len());
    (lost > 0).then_some(lost)
}

/// How many `next()` steps lead from `from` to `to` in the 0x0001..=0xFFFE cycle.
fn id_distance(from: RecordId, to: RecordId) -> usize {
    const CYCLE: i32 = 0xFFFE;
    let d = (i32::from(to.0) - i32::from(from.0)).rem_euclid(CYCLE);
    d as usize
}

#[cfg(test)]
mod tests;
