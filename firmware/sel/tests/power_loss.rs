//! Power cuts inside flash writes and erases, over many seeded runs of a write-heavy workload:
//! SEL appends (wrapping the queue several times), clears, and map updates and removals.
//!
//! Each run starts from blank flash and goes through several boots. In each boot power fails at
//! a random write or erase (torn as `FaultFlash` tears it, possibly during mount); then power
//! comes back, the store and the log are mounted again, and the test checks:
//! - the store and the log always mount;
//! - nothing reads back undecodable;
//! - the state is exactly what was acknowledged before the cut, or that plus the one operation
//!   in flight (a clear may also stop halfway between its two writes, see `Sel::clear`).
//!
//! A failure prints the seed; `SEED=n cargo test -p wsbmc-sel --test power_loss` replays it, and
//! `DUMP=1` adds the page markers of both regions after each cut.

// The model carries the overflow flag across boots, which the store keeps with `stored`.
#![cfg(feature = "stored")]
// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use futures_lite::future::block_on;
use wsbmc_ipmi::sel::{EventType, GeneratorId, RecordId};
use wsbmc_sel::{Added, BmcSensors, Event, OverflowPolicy, Sel, SelConfig, log_cleared};
use wsbmc_store::{FaultFlash, PowerRail, Store, StoreKey};

const PAGE: usize = 256;
const MAP_PAGES: usize = 4;
const QUEUE_PAGES: usize = 6;
const RUNS: u64 = 2000;
const BOOTS_PER_RUN: usize = 4;
/// A boot's cut falls within this many flash writes/erases.
const MAX_BUDGET: u64 = 220;

type Flash<'a> = FaultFlash<'a, PAGE>;

/// Map keys the workload writes: small settings and a bigger account record, so the map has to
/// reclaim pages as well.
const SETTINGS: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Setting(u32),
    Account(u32),
}

fn key(k: u8) -> StoreKey {
    if k < SETTINGS {
        StoreKey::setting(k)
    } else {
        StoreKey::account(k - SETTINGS)
    }
}

fn account_bytes(n: u32) -> minicbor::bytes::ByteArray<40> {
    let mut b = [0u8; 40];
    for (i, chunk) in b.chunks_mut(4).enumerate() {
        chunk.copy_from_slice(&n.wrapping_add(i as u32).to_le_bytes());
    }
    minicbor::bytes::ByteArray::from(b)
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Add(Event, u32),
    Clear(u32),
    Set(u8, Value),
    Remove(u8),
}

/// What must be on flash: the acknowledged state.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Model {
    records: Vec<[u8; 16]>,
    next_id: RecordId,
    overflow: bool,
    map: BTreeMap<u8, Value>,
}

impl Model {
    fn apply(&mut self, op: &Op, cfg: &SelConfig) {
        let cap = usize::from(cfg.capacity);
        match *op {
            Op::Add(e, now) => {
                if self.records.len() >= cap && cfg.policy == OverflowPolicy::Stop {
                    self.overflow = true;
                    return;
                }
                if self.records.len() >= cap {
                    self.records.remove(0);
                }
                self.records.push(e.record(self.next_id, now).encode());
                self.next_id = self.next_id.next();
            }
            Op::Clear(now) => {
                self.overflow = false;
                self.records = vec![log_cleared(&cfg.bmc).record(self.next_id, now).encode()];
                self.next_id = self.next_id.next();
            }
            Op::Set(k, v) => {
                self.map.insert(k, v);
            }
            Op::Remove(k) => {
                self.map.remove(&k);
            }
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

async fn observe(store: &mut Store<Flash<'_>>, sel: &Sel) -> Model {
    let mut map = BTreeMap::new();
    for k in 0..SETTINGS + 1 {
        if k < SETTINGS {
            if let Some(v) = store.get::<u32>(key(k)).await.expect("setting decodes") {
                map.insert(k, Value::Setting(v));
            }
        } else if let Some(b) = store
            .get::<minicbor::bytes::ByteArray<40>>(key(k))
            .await
            .expect("account decodes")
        {
            let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            assert_eq!(b, account_bytes(n), "account record is whole");
            map.insert(k, Value::Account(n));
        }
    }
    Model {
        records: sel.iter().map(|r| r.encode()).collect(),
        next_id: sel.next_id(),
        overflow: sel.overflow(),
        map,
    }
}

fn next_op(rng: &mut Rng, clock: &mut u32, counter: &mut u32) -> Op {
    *clock += 1;
    *counter += 1;
    match rng.below(100) {
        0..=64 => {
            let n = rng.below(0x60) as u8;
            Op::Add(
                Event {
                    generator: GeneratorId::BMC,
                    sensor_type: 0x01,
                    sensor_number: n,
                    deassertion: rng.below(2) == 0,
                    event_type: EventType::THRESHOLD,
                    data: [0x57, *counter as u8, n],
                },
                *clock,
            )
        }
        65..=67 => Op::Clear(*clock),
        68..=94 => {
            let k = rng.below(u64::from(SETTINGS) + 1) as u8;
            let v = if k < SETTINGS {
                Value::Setting(*counter)
            } else {
                Value::Account(*counter)
            };
            Op::Set(k, v)
        }
        _ => Op::Remove(rng.below(u64::from(SETTINGS) + 1) as u8),
    }
}

async fn run_op(store: &mut Store<Flash<'_>>, sel: &mut Sel, op: &Op) -> Result<(), String> {
    let r = match *op {
        Op::Add(e, now) => sel.add(store, &e, now).await.map(|a| {
            let _: Added = a;
        }),
        Op::Clear(now) => sel.clear(store, now).await.map(|_| ()),
        Op::Set(k, Value::Setting(v)) => store.set(key(k), &v).await.map_err(Into::into),
        Op::Set(k, Value::Account(n)) => store
            .set(key(k), &account_bytes(n))
            .await
            .map_err(Into::into),
        Op::Remove(k) => store.remove(key(k)).await.map_err(Into::into),
    };
    r.map_err(|e| format!("{e:?}"))
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let policy = if seed % 3 == 2 {
        OverflowPolicy::Stop
    } else {
        OverflowPolicy::Wrap
    };
    let mut map_mem = vec![0xFFu8; MAP_PAGES * PAGE];
    let mut queue_mem = vec![0xFFu8; QUEUE_PAGES * PAGE];
    let max = {
        let probe = PowerRail::steady();
        let (mut m, mut q) = (map_mem.clone(), queue_mem.clone());
        block_on(Store::mount(
            Flash::new(&mut m, &probe),
            Flash::new(&mut q, &probe),
        ))
        .unwrap()
        .queue_guaranteed_records(wsbmc_sel::STORED_MAX_LEN)
    };
    let cfg = SelConfig {
        // The most the flash guarantees: the hardest case for "nothing acknowledged is lost".
        capacity: max as u16,
        policy,
        bmc: BmcSensors::default(),
    };
    let mut model = Model {
        records: Vec::new(),
        next_id: RecordId::FIRST,
        overflow: false,
        map: BTreeMap::new(),
    };
    let (mut clock, mut counter) = (1_000u32, 0u32);
    let rail = PowerRail::cut_after(u32::MAX, seed);

    for boot in 0..BOOTS_PER_RUN {
        rail.cut_again_after(rng.below(MAX_BUDGET) as u32);
        // One boot under failing power: run operations until the cut.
        let pending = block_on(async {
            let map = Flash::new(&mut map_mem, &rail);
            let queue = Flash::new(&mut queue_mem, &rail);
            let Ok(mut store) = Store::mount(map, queue).await else {
                assert!(
                    rail.is_lost(),
                    "seed {seed} boot {boot}: mount failed with power on"
                );
                return None;
            };
            let Ok(mut sel) = Sel::mount(&mut store, cfg).await else {
                assert!(
                    rail.is_lost(),
                    "seed {seed} boot {boot}: SEL mount failed with power on"
                );
                return None;
            };
            loop {
                let op = next_op(&mut rng, &mut clock, &mut counter);
                match run_op(&mut store, &mut sel, &op).await {
                    Ok(()) => model.apply(&op, &cfg),
                    Err(e) => {
                        assert!(
                            rail.is_lost(),
                            "seed {seed} boot {boot}: {op:?} failed: {e}"
                        );
                        return Some(op);
                    }
                }
            }
        });

        // Power back: everything acknowledged must be there, and nothing corrupt.
        if std::env::var("DUMP").is_ok() {
            eprintln!(
                "boot {boot} cut in {pending:?} after {} ops; model ids {:?}",
                rail.ops(),
                model
                    .records
                    .iter()
                    .map(|r| u16::from_le_bytes([r[0], r[1]]))
                    .collect::<Vec<_>>()
            );
            for (name, mem) in [("queue", &queue_mem), ("map", &map_mem)] {
                for (i, page) in mem.chunks(PAGE).enumerate() {
                    eprintln!(
                        "  {name} page {i}: start {:02x?} end {:02x?} first item {:02x?}",
                        &page[..4],
                        &page[PAGE - 4..],
                        &page[4..24]
                    );
                }
            }
        }
        rail.restore();
        let observed = block_on(async {
            let map = Flash::new(&mut map_mem, &rail);
            let queue = Flash::new(&mut queue_mem, &rail);
            let mut store = Store::mount(map, queue)
                .await
                .unwrap_or_else(|e| panic!("seed {seed} boot {boot}: remount: {e:?}"));
            let sel = Sel::mount(&mut store, cfg)
                .await
                .unwrap_or_else(|e| panic!("seed {seed} boot {boot}: SEL remount: {e:?}"));
            assert_eq!(sel.undecodable(), 0, "seed {seed} boot {boot}");
            observe(&mut store, &sel).await
        });
        let mut allowed = vec![model.clone()];
        if let Some(op) = &pending {
            let mut done = model.clone();
            done.apply(op, &cfg);
            allowed.push(done);
            if matches!(op, Op::Clear(_)) {
                let mut half = model.clone();
                half.overflow = false;
                allowed.push(half);
            }
        }
        assert!(
            allowed.contains(&observed),
            "seed {seed} boot {boot}: after a cut in {pending:?}\nobserved {observed:#?}\nallowed {allowed:#?}"
        );
        model = observed;
    }
}

#[test]
fn power_cuts_never_lose_acknowledged_data() {
    if let Some(seed) = std::env::var("SEED").ok().and_then(|s| s.parse().ok()) {
        run(seed);
        return;
    }
    for seed in 0..RUNS {
        run(seed);
    }
}
