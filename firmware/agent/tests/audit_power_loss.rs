//! Power cuts at every flash write and erase of the Session Audit name table's two
//! operations (issue 15), through the real store, SEL and table code:
//! - logging an audit record and then its names (`audit::add_named`, the log task's
//!   `LogCmd::Audit`);
//! - ClearLog (the log task's `LogCmd::Clear`: `Sel::clear`, then `audit::clear_names`).
//!
//! Each seed is a fixed workload (audit records with names unique to them, other records that
//! must never get names, a ClearLog every 25 operations, more than 32 records between clears
//! so table slots are reused). It runs once on steady power to count its writes and erases,
//! then once per count `n` with the power cut at the `n`th. After the cut the flash is mounted
//! again as an agent starting would mount it, and the test checks:
//! - the store and the SEL mount, and no SEL record or table entry is undecodable;
//! - the SEL holds what was acknowledged, or that plus the operation in flight;
//! - every name the table gives a record is the name that record was logged with: a wrong
//!   pairing fails, a missing name is allowed only where the cut could have lost it (the
//!   operation in flight); every name acknowledged for a record still in the SEL is shown;
//! - after a completed ClearLog the table is empty;
//! - the store keeps working: the rest of the workload runs on steady power, checked again.
//!
//! All records are stamped with the same time and carry the same event bytes, so the only
//! thing that tells two audit records apart is their RecordID: the hardest case for "never
//! another record's names". A failure prints the seed and the cut; `SEED=n CUT=m cargo test -p
//! wsbmc-agent --features accounts --test audit_power_loss` replays one.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::BTreeMap;

use futures_lite::future::block_on;
use wsbmc_agent::audit::{self, NameEntry, NameTable, SLOTS};
use wsbmc_agent::session_audit_event;
use wsbmc_cim::AuditNames;
use wsbmc_ipmi::sel::{EventType, GeneratorId, RECORD_LEN};
use wsbmc_sel::{Added, BmcSensors, Event, OverflowPolicy, Sel, SelConfig};
use wsbmc_store::{FaultFlash, PowerRail, Store, StoreKey};

const PAGE: usize = 256;
/// 32 entries of ~45 B plus the map's spare pages.
const MAP_PAGES: usize = 16;
const QUEUE_PAGES: usize = 6;
const OPS: usize = 75;
const CLEAR_EVERY: usize = 25;
const SEEDS: u64 = 2;
/// Every record's timestamp: records differ only by RecordID (and audit or not).
const NOW: u32 = 1_000;

type Flash<'a> = FaultFlash<'a, PAGE>;

#[derive(Debug, Clone)]
enum Op {
    /// A Session Audit record and its names.
    Audit(AuditNames),
    /// A threshold record: no names.
    Plain,
    Clear,
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn workload(seed: u64) -> Vec<Op> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    (0..OPS)
        .map(|i| {
            if i % CLEAR_EVERY == CLEAR_EVERY - 1 {
                return Op::Clear;
            }
            match rng.below(10) {
                0 | 1 => Op::Plain,
                // A login: the user only (or withheld).
                2 => Op::Audit(AuditNames {
                    user: None,
                    by: None,
                }),
                3..=5 => Op::Audit(AuditNames {
                    user: Some(format!("user{i}")),
                    by: None,
                }),
                // An account change, with a name near the longest kept.
                _ => Op::Audit(AuditNames {
                    user: Some(format!("{i}-{}", "n".repeat(rng.below(60) as usize))),
                    by: Some(format!("admin{i}")),
                }),
            }
        })
        .collect()
}

fn audit_event() -> Event {
    session_audit_event(&BmcSensors::default(), 0x2A, 0x6F, false, [0xF2, 0, 1])
}

fn plain_event() -> Event {
    Event {
        generator: GeneratorId::BMC,
        sensor_type: 0x01,
        sensor_number: 0x10,
        deassertion: false,
        event_type: EventType::THRESHOLD,
        data: [0x57, 0, 0],
    }
}

/// What was acknowledged: the SEL's records, the names every audit record ever stored was
/// logged with, and the table entries whose write completed (slot → record) since the last
/// clear.
#[derive(Debug, Clone, Default)]
struct Model {
    records: Vec<[u8; RECORD_LEN]>,
    /// Never pruned: an entry on flash must name a record that was stored with its names.
    names: BTreeMap<[u8; RECORD_LEN], AuditNames>,
    entries: BTreeMap<u8, [u8; RECORD_LEN]>,
}

/// Where a run stopped: the operation in flight and how far it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Mounting, before operation 0.
    Mount,
    /// The SEL write (an add, or a clear's).
    Record,
    /// The names write of an add whose record is stored, or a clear's removals.
    Names,
}

/// One boot: mounts the flash and runs `ops`, updating `model` as each step is acknowledged.
/// `Some((op index, stage))` where the power failed.
async fn run_ops(
    store_flash: (Flash<'_>, Flash<'_>),
    cfg: SelConfig,
    ops: &[Op],
    model: &mut Model,
) -> Result<(), (usize, Stage)> {
    let Ok(mut store) = Store::mount(store_flash.0, store_flash.1).await else {
        return Err((0, Stage::Mount));
    };
    let Ok(mut sel) = Sel::mount(&mut store, cfg).await else {
        return Err((0, Stage::Mount));
    };
    // What the log task holds in RAM after its start.
    let table = RefCell::new(NameTable::new(audit::load_names(&mut store).await));
    for (i, op) in ops.iter().enumerate() {
        let names = match op {
            Op::Audit(names) => Some(names),
            Op::Plain => None,
            Op::Clear => {
                // As the log task's LogCmd::Clear: the names only after the SEL's clear.
                if sel.clear(&mut store, NOW).await.is_err() {
                    return Err((i, Stage::Record));
                }
                model.records = sel.iter().map(|r| r.encode()).collect();
                if !audit::clear_names(&mut store, &table).await {
                    return Err((i, Stage::Names));
                }
                model.entries.clear();
                continue;
            }
        };
        let Some(names) = names else {
            if !matches!(
                sel.add(&mut store, &plain_event(), NOW).await,
                Ok(Added::Stored(_))
            ) {
                return Err((i, Stage::Record));
            }
            model.records = sel.iter().map(|r| r.encode()).collect();
            continue;
        };
        let (added, named) =
            audit::add_named(&mut sel, &mut store, &audit_event(), NOW, names.clone()).await;
        let (Ok(Added::Stored(id)), Some((entry, stored))) = (added, named) else {
            return Err((i, Stage::Record));
        };
        // Acknowledged by the SEL (a wrapping SEL drops its oldest records).
        model.records = sel.iter().map(|r| r.encode()).collect();
        model.names.insert(entry.record, names.clone());
        if !stored {
            return Err((i, Stage::Names));
        }
        model.entries.insert(NameEntry::slot(id.0), entry.record);
        table.borrow_mut().insert(entry);
    }
    Ok(())
}

/// Mounts the flash on steady power and checks it against `model` and the operation that was
/// in flight (`cut`); the model of what is now on flash.
fn check(
    label: &str,
    (map, queue): (&mut [u8], &mut [u8]),
    ops: &[Op],
    model: &Model,
    cut: Option<(usize, Stage)>,
    cleared_last: bool,
) -> Model {
    let cfg = config(map, queue);
    let rail = PowerRail::steady();
    block_on(async {
        let mut store = Store::mount(Flash::new(map, &rail), Flash::new(queue, &rail))
            .await
            .unwrap_or_else(|e| panic!("{label}: store remount: {e:?}"));
        let sel = Sel::mount(&mut store, cfg)
            .await
            .unwrap_or_else(|e| panic!("{label}: SEL remount: {e:?}"));
        assert_eq!(sel.undecodable(), 0, "{label}");
        let records: Vec<_> = sel.iter().map(|r| r.encode()).collect();
        // The SEL: what was acknowledged, or that plus the record in flight (an add's or a
        // clear's). A cut at the names step left the SEL as acknowledged.
        // A wrapping add may also have dropped the oldest records and then been cut.
        let in_flight = matches!(cut, Some((_, Stage::Record)));
        let done = match records.split_last() {
            Some((last, rest)) => model.records.ends_with(rest) && !model.records.contains(last),
            None => false,
        };
        assert!(
            records == model.records || in_flight && (done || model.records.ends_with(&records)),
            "{label}: SEL\nobserved {records:?}\nacknowledged {:?}",
            model.records
        );
        // Every slot decodes (a torn entry would be a store bug: its writes are atomic).
        for slot in 0..SLOTS {
            store
                .get::<NameEntry>(StoreKey::audit_name(slot as u8))
                .await
                .unwrap_or_else(|e| panic!("{label}: slot {slot}: {e:?}"));
        }
        let loaded = audit::load_names(&mut store).await;
        let table = NameTable::new(loaded.clone());
        // Names are written only after their record is stored: every entry on flash names a
        // record that was stored, with the names it was logged with, whether or not the
        // record is still in the SEL (an entry for a record that never was would name the
        // next record given its RecordID and bytes).
        for e in &loaded {
            assert_eq!(
                model.names.get(&e.record),
                Some(&e.names),
                "{label}: an entry for a record never stored with these names: {e:?}"
            );
        }
        // The names the op in flight may have written.
        let mut expected = model.names.clone();
        if let Some((i, Stage::Record | Stage::Names)) = cut
            && let Op::Audit(names) = &ops[i]
            && let Some(last) = records.last()
        {
            expected.entry(*last).or_insert_with(|| names.clone());
        }
        let in_flight_slot = records
            .last()
            .map(|r| NameEntry::slot(u16::from_le_bytes([r[0], r[1]])));
        for r in sel.iter() {
            let bytes = r.encode();
            match (table.names(&r), expected.get(&bytes)) {
                (None, _) => {}
                (Some(shown), Some(logged)) => {
                    assert_eq!(&shown, logged, "{label}: record {} wrongly named", r.id.0)
                }
                (Some(shown), None) => {
                    panic!("{label}: record {} never named shows {shown:?}", r.id.0)
                }
            }
        }
        // Nothing acknowledged is lost: an entry whose write completed names its record while
        // the record is in the SEL, unless the op in flight could have replaced or removed it.
        for (slot, rec) in &model.entries {
            let touched = match cut {
                Some((_, Stage::Mount)) | None => false,
                Some((i, _)) => match ops[i] {
                    Op::Clear => true,
                    Op::Audit(_) => Some(*slot) == in_flight_slot,
                    Op::Plain => false,
                },
            };
            if !touched && records.contains(rec) {
                let r = sel
                    .iter()
                    .find(|r| &r.encode() == rec)
                    .expect("the record is in the SEL");
                assert_eq!(
                    table.names(&r).as_ref(),
                    model.names.get(rec),
                    "{label}: acknowledged names of record {} lost",
                    r.id.0
                );
            }
        }
        // A clear that finished left no entry.
        if cut.is_none() && cleared_last {
            assert!(
                loaded.is_empty(),
                "{label}: entries after ClearLog: {loaded:?}"
            );
        }
        // The state on flash, as the next boot starts from it.
        let mut entries = BTreeMap::new();
        for e in &loaded {
            if records.contains(&e.record) {
                entries.insert(
                    NameEntry::slot(u16::from_le_bytes([e.record[0], e.record[1]])),
                    e.record,
                );
            }
        }
        Model {
            records,
            names: expected,
            entries,
        }
    })
}

fn config(map: &[u8], queue: &[u8]) -> SelConfig {
    let probe = PowerRail::steady();
    let (mut m, mut q) = (map.to_vec(), queue.to_vec());
    let capacity = block_on(Store::mount(
        Flash::new(&mut m, &probe),
        Flash::new(&mut q, &probe),
    ))
    .unwrap()
    .queue_guaranteed_records(wsbmc_sel::STORED_MAX_LEN);
    SelConfig {
        capacity: capacity as u16,
        policy: OverflowPolicy::Wrap,
        bmc: BmcSensors::default(),
    }
}

/// Runs `seed`'s workload with the power cut at write/erase `cut` (`None`: never), then, after
/// the reset, cut once more at a point drawn from the seed, then the rest on steady power;
/// the number of writes and erases the first boot started.
fn run(seed: u64, cut: Option<u32>) -> u32 {
    let ops = workload(seed);
    let mut map = vec![0xFFu8; MAP_PAGES * PAGE];
    let mut queue = vec![0xFFu8; QUEUE_PAGES * PAGE];
    let cfg = config(&map, &queue);
    let mut rng = Rng((seed << 20 ^ u64::from(cut.unwrap_or(0))).wrapping_mul(0x2545_F491) | 1);
    let mut model = Model::default();
    let (mut start, mut cut_at, mut first_ops) = (0, cut, None);
    for boot in 0.. {
        let rail = match cut_at {
            Some(n) => PowerRail::cut_after(n, seed ^ boot),
            None => PowerRail::steady(),
        };
        let rest = &ops[start..];
        let stopped = block_on(run_ops(
            (Flash::new(&mut map, &rail), Flash::new(&mut queue, &rail)),
            cfg,
            rest,
            &mut model,
        ));
        first_ops.get_or_insert(rail.ops());
        let label = format!("seed {seed} cut {cut:?} boot {boot} cut {cut_at:?}");
        match stopped {
            Ok(()) => {
                assert!(!rail.is_lost(), "{label}");
                let cleared_last = matches!(rest.last(), Some(Op::Clear));
                check(
                    &label,
                    (&mut map, &mut queue),
                    &ops,
                    &model,
                    None,
                    cleared_last,
                );
                if cut_at.is_none() {
                    break;
                }
                // The cut fell after the end of the workload: nothing left to run.
                start = ops.len();
            }
            Err((i, stage)) => {
                let i = start + i;
                assert!(rail.is_lost(), "{label}: op {i} failed with power on");
                let label = format!("{label} (op {i} {:?}, {stage:?})", ops.get(i));
                let at = Some((i, stage));
                model = check(&label, (&mut map, &mut queue), &ops, &model, at, false);
                // A cut while mounting interrupted no operation.
                start = if stage == Stage::Mount { i } else { i + 1 };
            }
        }
        // The second boot is cut once more, the third runs on steady power.
        cut_at = (boot == 0).then(|| rng.below(150) as u32);
    }
    first_ops.unwrap_or(0)
}

#[test]
fn a_power_cut_never_pairs_a_record_with_another_records_names() {
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse().ok());
    if let (Some(seed), Some(cut)) = (env("SEED"), env("CUT")) {
        run(seed, Some(cut as u32));
        return;
    }
    let mut cuts = 0;
    for seed in 0..SEEDS {
        let total = run(seed, None);
        assert!(total > 100, "seed {seed}: only {total} writes and erases");
        for cut in 0..total {
            run(seed, Some(cut));
            cuts += 1;
        }
    }
    eprintln!("{cuts} power cuts checked");
}
