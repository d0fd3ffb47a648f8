//! The user names of Session Audit SEL records (issue 15), kept in the store beside the SEL.
//!
//! A SEL record is 16 bytes and has room for an IPMI user ID only, which is reused when an
//! account is deleted and is 0 for a name no account has. The names (who the record is about
//! and who made an account change) are kept in a small table in the store's map:
//! - **Bounded:** [`SLOTS`] entries, entry `id % SLOTS` for the record with RecordID `id`, so
//!   the newest [`SLOTS`] SEL records always keep their names and an older audit record loses
//!   its names (it is rendered without them) once a later record takes its slot. Each name is
//!   at most [`MAX_NAME`] bytes.
//! - **Never another record's names:** an entry holds the whole 16-byte record it names, and a
//!   record is only given names whose entry holds exactly its bytes (RecordID, timestamp, event
//!   data). A slot reused by a later record, a RecordID reused after ClearLog or a wrap, or an
//!   entry whose record was lost, names nothing.
//! - **Power-cut safe** like the rest of the store: each entry is one map item, written after
//!   its record is on flash. A cut between the two leaves a record without names, never names
//!   without their record being checked.
//! - **Cleared with the log:** ClearLog removes the entries (the check above already keeps
//!   them from the new records; removing them frees the map).
//!
//! On the wire of the store an entry is a CBOR array: the record as a byte string, then the
//! user name and the changer's name, each a text string or null.
//!
//! The store side (entries and the pending events of `wsbmc user`) is the `accounts-store`
//! feature: an image whose store does not outlive a restart (the bare-metal image's RAM store,
//! erased at every start) keeps the table in RAM only, where the same slot and record-bytes
//! rules apply, and no CLI can leave it pending events.

use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "accounts-store")]
use core::cell::RefCell;

use embedded_storage_async::nor_flash::MultiwriteNorFlash;
#[cfg(feature = "accounts-store")]
use minicbor::{Decode, Decoder, Encode, Encoder};
use wsbmc_cim::AuditNames;
use wsbmc_ipmi::SensorType;
use wsbmc_ipmi::sel::{Body, RECORD_LEN, Record};
use wsbmc_sel::{Added, Event, Sel, SelError};
use wsbmc_store::Store;
#[cfg(feature = "accounts-store")]
use wsbmc_store::{StoreError, StoreKey};

/// Entries in the table: the newest 32 SEL records keep their names whatever else is logged,
/// and 32 entries of at most ~160 B (typically ~40 B) fit the std images' 32 KiB map beside
/// the accounts and subscriptions many times over.
pub const SLOTS: u16 = 32;

/// Longest name kept, in bytes: the longest stored account name (a migrated single account).
pub const MAX_NAME: usize = 64;

/// One entry: the record it names and its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    pub record: [u8; RECORD_LEN],
    pub names: AuditNames,
}

impl NameEntry {
    /// The table slot of the record with RecordID `id`.
    pub fn slot(id: u16) -> u8 {
        // SLOTS is below 256, so the remainder fits.
        (id % SLOTS) as u8
    }

    /// The table slot of this entry's record.
    fn own_slot(&self) -> u8 {
        Self::slot(u16::from_le_bytes([self.record[0], self.record[1]]))
    }
}

/// `name` as the table keeps it: cut to [`MAX_NAME`] bytes on a character boundary, with
/// control characters (which XML 1.0 cannot carry even escaped) shown as `?`. The renderer
/// escapes the rest.
pub fn bounded_name(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    // By byte rather than `str::replace(char::is_control, ..)`, whose predicate searcher was
    // ~280 B of the bare-metal image: the control characters are C0 and DEL (one byte each)
    // and C1 (U+0080..U+009F, 0xC2 then 0x80..0x9F); any other byte is copied as it is, so
    // what comes out is UTF-8 when what went in was.
    let bytes = name.as_bytes().get(..end).unwrap_or_default();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let c1 = b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..0xA0).contains(n));
        i += 1 + usize::from(c1);
        out.push(if b < 0x20 || b == 0x7F || c1 { b'?' } else { b });
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(feature = "accounts-store")]
impl<C> Encode<C> for NameEntry {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        e.array(3)?.bytes(&self.record)?;
        encode_names(&self.names, e)
    }
}

#[cfg(feature = "accounts-store")]
impl<'b, C> Decode<'b, C> for NameEntry {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, minicbor::decode::Error> {
        if d.array()? != Some(3) {
            return Err(minicbor::decode::Error::message(
                "audit name entry: not 3 fields",
            ));
        }
        let record = <[u8; RECORD_LEN]>::try_from(d.bytes()?)
            .map_err(|_| minicbor::decode::Error::message("audit name entry: record length"))?;
        let names = decode_names(d)?;
        Ok(Self { record, names })
    }
}

/// The entry naming `record` (already in the SEL): its bytes and its names, bounded.
pub fn entry(record: &Record, names: &AuditNames) -> NameEntry {
    NameEntry {
        record: record.encode(),
        names: AuditNames {
            user: names.user.as_deref().map(bounded_name),
            by: names.by.as_deref().map(bounded_name),
        },
    }
}

/// Stores the names of `record` (already in the SEL), replacing whatever its slot held.
#[cfg(feature = "accounts-store")]
pub async fn store_names<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
    record: &Record,
    names: &AuditNames,
) -> Result<NameEntry, StoreError<F::Error>> {
    let entry = entry(record, names);
    store_entry(store, &entry).await?;
    Ok(entry)
}

/// Writes `entry` to its slot in the store.
#[cfg(feature = "accounts-store")]
pub async fn store_entry<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
    entry: &NameEntry,
) -> Result<(), StoreError<F::Error>> {
    store
        .set(StoreKey::audit_name(entry.own_slot()), entry)
        .await
}

/// The entry naming the record an add stored, if it stored one (a refused or dropped event
/// has no record to name). The log task names an audit event's record with it right after
/// the event's add, the same add every event goes through.
pub fn added_entry<E>(
    sel: &Sel,
    added: &Result<Added, SelError<E>>,
    names: &AuditNames,
) -> Option<NameEntry> {
    match added {
        Ok(Added::Stored(id)) => sel.find(*id).map(|r| entry(&r, names)),
        _ => None,
    }
}

/// Logs `event` and then its names: the order the power-cut guarantee rests on (a cut between
/// the two leaves a record without names). What the log task does for `LogCmd::Audit`, and
/// what tests/audit_power_loss.rs cuts power in. Besides the SEL's answer, when the record was
/// stored: its entry for the table in RAM (kept even if its write failed, so the names show
/// until a restart) and whether the write succeeded.
pub async fn add_named<F: MultiwriteNorFlash>(
    sel: &mut Sel,
    store: &mut Store<F>,
    event: &Event,
    now: u32,
    names: AuditNames,
) -> (Result<Added, SelError<F::Error>>, Option<(NameEntry, bool)>) {
    let added = sel.add(store, event, now).await;
    let Some(entry) = added_entry(sel, &added, &names) else {
        return (added, None);
    };
    #[cfg(feature = "accounts-store")]
    let stored = store_entry(store, &entry).await.is_ok();
    #[cfg(not(feature = "accounts-store"))]
    let stored = true;
    (added, Some((entry, stored)))
}

/// After ClearLog: empties `table` and removes its entries from the store. `false` if a
/// removal failed (see [`remove_names`]).
#[cfg(feature = "accounts-store")]
pub async fn clear_names<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
    table: &RefCell<NameTable>,
) -> bool {
    let slots = table.borrow_mut().take_slots();
    remove_names(store, slots.into_iter()).await
}

/// Every entry the store holds. An entry that does not decode is skipped (its record shows
/// no names); the next record in its slot overwrites it.
#[cfg(feature = "accounts-store")]
pub async fn load_names<F: MultiwriteNorFlash>(store: &mut Store<F>) -> Vec<NameEntry> {
    let mut entries = Vec::new();
    for slot in 0..SLOTS {
        if let Ok(Some(e)) = store
            .get::<NameEntry>(StoreKey::audit_name(slot as u8))
            .await
        {
            entries.push(e);
        }
    }
    entries
}

/// Removes the entries of `slots` (after ClearLog). `false` if a removal failed (the entry
/// stays, and names no new record, see the module documentation).
#[cfg(feature = "accounts-store")]
pub async fn remove_names<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
    slots: impl Iterator<Item = u8>,
) -> bool {
    let mut ok = true;
    for slot in slots {
        ok &= store.remove(StoreKey::audit_name(slot)).await.is_ok();
    }
    ok
}

/// The entries a log keeps in RAM, one per slot.
#[derive(Debug, Default)]
pub struct NameTable {
    entries: Vec<NameEntry>,
}

impl NameTable {
    pub fn new(entries: Vec<NameEntry>) -> Self {
        let mut t = Self::default();
        for e in entries {
            t.insert(e);
        }
        t
    }

    /// Puts `entry` in its slot, replacing the slot's previous entry.
    pub fn insert(&mut self, entry: NameEntry) {
        let slot = entry.own_slot();
        match self.entries.iter_mut().find(|e| e.own_slot() == slot) {
            Some(e) => *e = entry,
            None => self.entries.push(entry),
        }
    }

    /// The names of `record`, if its slot holds exactly this record.
    pub fn names(&self, record: &Record) -> Option<AuditNames> {
        let bytes = record.encode();
        self.entries
            .iter()
            .find(|e| e.record == bytes)
            .map(|e| e.names.clone())
    }

    /// Empties the table (after ClearLog, where the store keeps no entries to remove).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Empties the table, giving the slots that held an entry.
    pub fn take_slots(&mut self) -> Vec<u8> {
        self.entries.drain(..).map(|e| e.own_slot()).collect()
    }
}

/// Pending events a stopped agent's state dir holds at most: `wsbmc user` refuses a change
/// past it (start the agent once to move them into the SEL), so no change goes unaudited.
#[cfg(feature = "accounts-store")]
pub const PENDING_SLOTS: u8 = 16;

/// A Session Audit event waiting in the store for the agent to log it: an account change
/// `wsbmc user` made while the agent was stopped. The CLI does not write the SEL itself: the
/// SEL's capacity, overflow policy and sensor numbers are the board's, which the CLI does not
/// have, and mounting the log with another capacity would let it drop records. The agent
/// logs it at start (before its own "started" record), stamped with the time of the change.
#[cfg(feature = "accounts-store")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAudit {
    /// When the change was made (SEL timestamp: seconds since 1970).
    pub timestamp: u32,
    pub sensor_type: u8,
    pub event_type: u8,
    pub deassertion: bool,
    pub data: [u8; 3],
    pub names: AuditNames,
}

#[cfg(feature = "accounts-store")]
impl<C> Encode<C> for PendingAudit {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut Encoder<W>,
        _: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        let [d1, d2, d3] = self.data;
        let event = [
            self.sensor_type,
            self.event_type,
            u8::from(self.deassertion),
            d1,
            d2,
            d3,
        ];
        e.array(4)?.u32(self.timestamp)?.bytes(&event)?;
        encode_names(&self.names, e)
    }
}

#[cfg(feature = "accounts-store")]
impl<'b, C> Decode<'b, C> for PendingAudit {
    fn decode(d: &mut Decoder<'b>, _: &mut C) -> Result<Self, minicbor::decode::Error> {
        if d.array()? != Some(4) {
            return Err(minicbor::decode::Error::message(
                "pending audit: not 4 fields",
            ));
        }
        let timestamp = d.u32()?;
        let [sensor_type, event_type, deassertion, d1, d2, d3] = <[u8; 6]>::try_from(d.bytes()?)
            .map_err(|_| minicbor::decode::Error::message("pending audit: event length"))?;
        let names = decode_names(d)?;
        Ok(Self {
            timestamp,
            sensor_type,
            event_type,
            deassertion: deassertion != 0,
            data: [d1, d2, d3],
            names,
        })
    }
}

/// The two name fields every stored entry ends with: text or null each.
#[cfg(feature = "accounts-store")]
fn encode_names<W: minicbor::encode::Write>(
    names: &AuditNames,
    e: &mut Encoder<W>,
) -> Result<(), minicbor::encode::Error<W::Error>> {
    for name in [&names.user, &names.by] {
        match name {
            Some(n) => e.str(n)?,
            None => e.null()?,
        };
    }
    Ok(())
}

#[cfg(feature = "accounts-store")]
fn decode_names(d: &mut Decoder<'_>) -> Result<AuditNames, minicbor::decode::Error> {
    Ok(AuditNames {
        user: decode_name(d)?,
        by: decode_name(d)?,
    })
}

/// A name field of an entry: a text string (bounded as it is read: flash is untrusted) or null.
#[cfg(feature = "accounts-store")]
fn decode_name(d: &mut Decoder<'_>) -> Result<Option<String>, minicbor::decode::Error> {
    if d.datatype()? == minicbor::data::Type::Null {
        d.null()?;
        return Ok(None);
    }
    Ok(Some(bounded_name(d.str()?)))
}

/// Keeps `event` in the first free pending slot, for `wsbmc user` on a stopped agent. `Ok(false)`
/// when all [`PENDING_SLOTS`] are taken.
#[cfg(feature = "accounts-store")]
pub async fn store_pending<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
    event: &PendingAudit,
) -> Result<bool, StoreError<F::Error>> {
    for n in 0..PENDING_SLOTS {
        let key = StoreKey::audit_pending(n);
        if !store.contains(key).await? {
            store.set(key, event).await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a pending slot is free (checked before a change is made).
#[cfg(feature = "accounts-store")]
pub async fn pending_room<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
) -> Result<bool, StoreError<F::Error>> {
    for n in 0..PENDING_SLOTS {
        if !store.contains(StoreKey::audit_pending(n)).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The pending events with their slots, oldest change first. One that does not decode is
/// returned as `None` so the caller removes it (it can never be logged).
#[cfg(feature = "accounts-store")]
pub async fn load_pending<F: MultiwriteNorFlash>(
    store: &mut Store<F>,
) -> Vec<(u8, Option<PendingAudit>)> {
    let mut pending = Vec::new();
    for n in 0..PENDING_SLOTS {
        match store.get::<PendingAudit>(StoreKey::audit_pending(n)).await {
            Ok(Some(p)) => pending.push((n, Some(p))),
            Ok(None) => {}
            Err(StoreError::Decode { .. }) => pending.push((n, None)),
            Err(_) => {}
        }
    }
    pending.sort_by_key(|(_, p)| p.as_ref().map_or(0, |p| p.timestamp));
    pending
}

/// Session Audit's "Invalid Username or Password" (IPMI 2.0 table 42-3, sensor type 2Ah).
const FAILED_LOGIN: u8 = 0x02;

fn is_failed_login(sensor_type: u8, deassertion: bool, data1: u8) -> bool {
    sensor_type == SensorType::SESSION_AUDIT.0 && !deassertion && data1 & 0x0F == FAILED_LOGIN
}

/// Whether `event` is a failed login the log leaves out. Anybody who reaches the port can
/// cause failed logins; in a log that wraps (the bare-metal image keeps 32 records) a flood of
/// them would otherwise push out what the sensors, the host and account changes logged. So a
/// failed login is logged while the log is under three quarters full ("SEL Almost Full"),
/// which leaves the last quarter to the rest and keeps the SEL sensor's own records from
/// wrapping the log, and in a full log only in place of an older failed login. Locks, unlocks
/// and account changes are logged as every event is, and a wrong password still counts
/// towards its account's lock.
pub fn crowds_out(sel: &Sel, event: &Event) -> bool {
    is_failed_login(event.sensor_type, event.deassertion, event.data[0])
        && wsbmc_sel::almost_full(sel.len(), sel.capacity())
        && !(sel.is_full()
            && sel.get(0).is_some_and(|r| match r.body {
                Body::System(e) => is_failed_login(e.sensor_type, e.deassertion, e.data[0]),
                _ => false,
            }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use wsbmc_ipmi::sel::examples::SYSTEM;

    fn record(id: u16, data3: u8) -> Record {
        let mut b = SYSTEM;
        b[0..2].copy_from_slice(&id.to_le_bytes());
        b[15] = data3;
        Record::decode(&b)
    }

    /// A store on RAM flash; mounting the same buffers again is a restart.
    #[cfg(feature = "accounts-store")]
    async fn mount<'a>(
        map: &'a mut [u8],
        queue: &'a mut [u8],
    ) -> Store<wsbmc_store::RamFlash<'a, 1024>> {
        Store::mount(
            wsbmc_store::RamFlash::<1024>::new(map),
            wsbmc_store::RamFlash::<1024>::new(queue),
        )
        .await
        .unwrap()
    }

    fn names(user: &str) -> AuditNames {
        AuditNames {
            user: Some(user.into()),
            by: None,
        }
    }

    #[test]
    #[cfg(feature = "accounts-store")]
    fn entries_round_trip_through_the_store_and_survive_a_remount() {
        futures_lite::future::block_on(async {
            let mut map = vec![0xFF; 4 * 1024];
            let mut queue = vec![0xFF; 2 * 1024];
            let mut store = mount(&mut map, &mut queue).await;
            let r = record(5, 1);
            let with_by = AuditNames {
                user: Some("bob".into()),
                by: Some("admin".into()),
            };
            store_names(&mut store, &r, &with_by).await.unwrap();
            store_names(&mut store, &record(6, 1), &AuditNames::default())
                .await
                .unwrap();
            // A remount of the same flash, as after a restart (the old store is released).
            let _ = store;
            let mut store = mount(&mut map, &mut queue).await;
            let table = NameTable::new(load_names(&mut store).await);
            assert_eq!(table.names(&r), Some(with_by));
            assert_eq!(table.names(&record(6, 1)), Some(AuditNames::default()));
            assert_eq!(table.names(&record(7, 1)), None);
        });
    }

    #[test]
    #[cfg(feature = "accounts-store")]
    fn pending_events_round_trip_and_are_bounded_in_number() {
        futures_lite::future::block_on(async {
            let mut map = vec![0xFF; 8 * 1024];
            let mut queue = vec![0xFF; 2 * 1024];
            let mut store = mount(&mut map, &mut queue).await;
            let event = |t: u32| PendingAudit {
                timestamp: t,
                sensor_type: 0x2A,
                event_type: 0x6F,
                deassertion: false,
                data: [0xE1, 2, 0x31],
                names: AuditNames {
                    user: Some("bob".into()),
                    by: Some("the local CLI".into()),
                },
            };
            for t in (0..u32::from(PENDING_SLOTS)).rev() {
                assert!(pending_room(&mut store).await.unwrap());
                assert!(store_pending(&mut store, &event(t)).await.unwrap());
            }
            assert!(!pending_room(&mut store).await.unwrap());
            assert!(!store_pending(&mut store, &event(99)).await.unwrap());
            let pending = load_pending(&mut store).await;
            assert_eq!(pending.len(), usize::from(PENDING_SLOTS));
            // Oldest change first.
            assert_eq!(pending[0].1, Some(event(0)));
            assert_eq!(pending[15].1, Some(event(15)));
        });
    }

    /// A flood of failed logins fills a log to three quarters and no further, and in a full
    /// log takes only the place of an older failed login: the records logged before it, and
    /// the room for those after it, stay.
    #[test]
    fn failed_logins_never_push_another_record_out_of_the_log() {
        use wsbmc_sel::{OverflowPolicy, SelConfig};
        let event = |sensor_type: u8, data1: u8| Event {
            generator: wsbmc_ipmi::sel::GeneratorId::BMC,
            sensor_type,
            sensor_number: 1,
            deassertion: false,
            event_type: wsbmc_ipmi::sel::EventType::SENSOR_SPECIFIC,
            data: [data1, 0, 0],
        };
        let (threshold, failed, lock) = (event(0x01, 0x59), event(0x2A, 0xF2), event(0x2A, 0xF3));
        let (t, f, l) = ((0x01, 0x59), (0x2A, 0xF2), (0x2A, 0xF3));
        futures_lite::future::block_on(async {
            let (mut map, mut queue) = (vec![0xFF; 1024], vec![0xFF; 1536]);
            let mut store = Store::blank(
                wsbmc_store::RamFlash::<512>::new(&mut map),
                wsbmc_store::RamFlash::<512>::new(&mut queue),
            )
            .await
            .unwrap();
            let config = SelConfig {
                capacity: 8,
                policy: OverflowPolicy::Wrap,
                bmc: Default::default(),
            };
            let mut sel = Sel::fresh(&store, config).unwrap();
            let kinds = |sel: &Sel| -> Vec<(u8, u8)> {
                sel.iter()
                    .map(|r| match r.body {
                        Body::System(e) => (e.sensor_type, e.data[0]),
                        _ => (0, 0),
                    })
                    .collect()
            };
            let mut log = async |sel: &mut Sel, events: &[&Event]| {
                for e in events {
                    if !crowds_out(sel, e) {
                        sel.add(&mut store, e, 0).await.unwrap();
                    }
                }
                kinds(sel)
            };
            log(&mut sel, &[&threshold, &lock]).await;
            let flood = [&failed; 20];
            assert_eq!(log(&mut sel, &flood).await, [t, l, f, f, f, f]);
            // The last quarter is the others', and a full log wraps past its oldest for them.
            assert_eq!(
                log(&mut sel, &[&threshold, &threshold, &lock]).await,
                [l, f, f, f, f, t, t, l]
            );
            assert_eq!(log(&mut sel, &flood).await, [l, f, f, f, f, t, t, l]);
            // Once the oldest record is a failed login, the next one may take its place.
            log(&mut sel, &[&lock]).await;
            assert_eq!(log(&mut sel, &[&failed]).await, [f, f, f, t, t, l, l, f]);
        });
    }

    #[test]
    fn a_reused_slot_or_record_id_never_shows_another_records_names() {
        let mut t = NameTable::default();
        let old = record(3, 1);
        t.insert(NameEntry {
            record: old.encode(),
            names: names("alice"),
        });
        // A later record in the same slot replaces the entry: the old record has no names.
        let later = record(3 + SLOTS, 1);
        t.insert(NameEntry {
            record: later.encode(),
            names: names("mallory"),
        });
        assert_eq!(t.names(&old), None);
        assert_eq!(t.names(&later), Some(names("mallory")));
        // The same RecordID after a clear, with other bytes, is another record.
        assert_eq!(t.names(&record(3 + SLOTS, 2)), None);
        assert_eq!(t.take_slots(), [3]);
        assert_eq!(t.names(&later), None);
    }

    #[test]
    fn names_are_bounded_and_free_of_control_characters() {
        assert_eq!(bounded_name("a\u{1}b\nc"), "a?b?c");
        let long = "é".repeat(100);
        assert_eq!(bounded_name(&long).len(), MAX_NAME);
        assert_eq!(bounded_name("x".repeat(200).as_str()).len(), MAX_NAME);
        // Every control character (C0, DEL, C1) and only those, as `char::is_control` says.
        for name in [
            "\u{0}\u{1f} \u{7e}\u{7f}",
            "\u{80}a\u{9f}\u{a0}\u{ff}",
            "é\u{85}ü\u{c2}\u{2028}",
            "名前\u{9c}",
        ] {
            assert_eq!(bounded_name(name), name.replace(char::is_control, "?"));
        }
    }

    #[test]
    #[cfg(feature = "accounts-store")]
    fn an_entry_that_does_not_decode_is_an_error_not_a_panic() {
        for bytes in [
            &[0x83, 0x41, 0x00, 0xF6, 0xF6][..],
            &[0x82][..],
            &[0x83, 0x50][..],
            &[][..],
        ] {
            assert!(minicbor::decode::<NameEntry>(bytes).is_err(), "{bytes:?}");
            assert!(
                minicbor::decode::<PendingAudit>(bytes).is_err(),
                "{bytes:?}"
            );
        }
    }
}
