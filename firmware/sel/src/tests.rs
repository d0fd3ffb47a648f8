use alloc::vec;
use alloc::vec::Vec;

use futures_lite::future::block_on;
use wsbmc_ipmi::sel::Body;
use wsbmc_store::RamFlash;

use super::*;

const PAGE: usize = 256;
type Flash<'a> = RamFlash<'a, PAGE>;

struct Board {
    map: Vec<u8>,
    queue: Vec<u8>,
}

impl Board {
    fn new(queue_pages: usize) -> Self {
        Self {
            map: vec![0xFF; 4 * PAGE],
            queue: vec![0xFF; queue_pages * PAGE],
        }
    }

    /// Mounts store and log, runs `f`, and drops both: one boot.
    fn boot<R>(
        &mut self,
        config: SelConfig,
        f: impl AsyncFnOnce(&mut Store<Flash<'_>>, &mut Sel) -> R,
    ) -> R {
        block_on(async {
            let mut store = Store::mount(Flash::new(&mut self.map), Flash::new(&mut self.queue))
                .await
                .unwrap();
            let mut sel = Sel::mount(&mut store, config).await.unwrap();
            f(&mut store, &mut sel).await
        })
    }
}

fn config(capacity: u16, policy: OverflowPolicy) -> SelConfig {
    SelConfig {
        capacity,
        policy,
        bmc: BmcSensors::default(),
    }
}

fn event(n: u8) -> Event {
    Event {
        generator: GeneratorId::BMC,
        sensor_type: 0x01,
        sensor_number: n,
        deassertion: false,
        event_type: EventType::THRESHOLD,
        data: [0x57, n, 85],
    }
}

fn numbers(sel: &Sel) -> Vec<u8> {
    sel.iter()
        .map(|r| match r.body {
            Body::System(e) => e.sensor_number,
            _ => panic!("not a system event"),
        })
        .collect()
}

#[test]
fn ids_timestamps_and_persistence() {
    let mut b = Board::new(6);
    let cfg = config(20, OverflowPolicy::Wrap);
    b.boot(cfg, async |store, sel| {
        assert!(sel.is_empty());
        assert_eq!(sel.next_id(), RecordId(1));
        for n in 0..5 {
            let added = sel
                .add(store, &event(n), 1_000 + u32::from(n))
                .await
                .unwrap();
            assert_eq!(added, Added::Stored(RecordId(u16::from(n) + 1)));
        }
        assert_eq!(sel.last_add_timestamp(), Some(1_004));
    });
    b.boot(cfg, async |store, sel| {
        assert_eq!(sel.len(), 5);
        assert_eq!(numbers(sel), [0, 1, 2, 3, 4]);
        let r = sel.find(RecordId(3)).unwrap();
        assert_eq!(r.timestamp(), Some(1_002));
        assert_eq!(sel.position(RecordId(3)), Some(2));
        assert_eq!(sel.find(RecordId(6)), None);
        assert_eq!(sel.get(4).map(|r| r.id), Some(RecordId(5)));
        assert_eq!(sel.last_add_timestamp(), Some(1_004));
        assert_eq!(
            sel.add(store, &event(5), 2_000).await.unwrap(),
            Added::Stored(RecordId(6))
        );
    });
}

#[test]
fn wrap_overwrites_the_oldest() {
    let mut b = Board::new(6);
    let cfg = config(10, OverflowPolicy::Wrap);
    b.boot(cfg, async |store, sel| {
        for n in 0..25 {
            sel.add(store, &event(n), 0).await.unwrap();
            assert_eq!(sel.len(), usize::from(n + 1).min(10));
        }
        assert_eq!(numbers(sel), (15..25).collect::<Vec<_>>());
        assert!(!sel.overflow());
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(numbers(sel), (15..25).collect::<Vec<_>>());
        assert_eq!(sel.next_id(), RecordId(26));
        assert_eq!(sel.find(RecordId(16)).map(|r| r.id), Some(RecordId(16)));
        assert_eq!(sel.find(RecordId(15)), None);
    });
}

#[test]
fn stop_refuses_and_flags_until_cleared() {
    let mut b = Board::new(6);
    let cfg = config(4, OverflowPolicy::Stop);
    b.boot(cfg, async |store, sel| {
        for n in 0..4 {
            assert!(matches!(
                sel.add(store, &event(n), 0).await.unwrap(),
                Added::Stored(_)
            ));
        }
        assert_eq!(sel.add(store, &event(9), 0).await.unwrap(), Added::Refused);
        assert_eq!(sel.add(store, &event(9), 0).await.unwrap(), Added::Refused);
        assert!(sel.overflow());
        assert_eq!(numbers(sel), [0, 1, 2, 3]);
    });
    b.boot(cfg, async |store, sel| {
        assert!(sel.overflow());
        assert_eq!(numbers(sel), [0, 1, 2, 3]);
        let id = sel.clear(store, 5_000).await.unwrap();
        assert_eq!(id, RecordId(5));
        assert!(!sel.overflow());
        assert_eq!(sel.len(), 1);
    });
    b.boot(cfg, async |store, sel| {
        assert!(!sel.overflow());
        assert_eq!(sel.len(), 1);
        assert_eq!(sel.last_erase_timestamp(), Some(5_000));
        let r = sel.get(0).unwrap();
        let Body::System(e) = r.body else {
            panic!("not a system event")
        };
        assert_eq!(
            (e.sensor_type, e.sensor_number, e.data),
            (0x10, 0x72, [2, 0xFF, 0xFF])
        );
        assert_eq!(r.timestamp(), Some(5_000));
        assert_eq!(
            sel.add(store, &event(1), 0).await.unwrap(),
            Added::Stored(RecordId(6))
        );
    });
}

#[test]
fn clear_survives_reboots_and_wraps_of_the_queue() {
    let mut b = Board::new(6);
    let cfg = config(16, OverflowPolicy::Wrap);
    b.boot(cfg, async |store, sel| {
        for n in 0..12 {
            sel.add(store, &event(n), 0).await.unwrap();
        }
        sel.clear(store, 1).await.unwrap();
        for n in 100..103 {
            sel.add(store, &event(n), 0).await.unwrap();
        }
    });
    b.boot(cfg, async |store, sel| {
        assert_eq!(numbers(sel), [0x72, 100, 101, 102]);
        // Push the queue round several times: the cleared records must never come back.
        for round in 0..6u8 {
            for n in 0..20 {
                sel.add(store, &event(n), u32::from(round)).await.unwrap();
            }
            sel.clear(store, 2).await.unwrap();
        }
        assert_eq!(sel.len(), 1);
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.len(), 1);
        assert_eq!(numbers(sel), [0x72]);
    });
}

#[test]
fn record_ids_wrap_past_ffff() {
    let mut b = Board::new(6);
    let cfg = config(8, OverflowPolicy::Wrap);
    b.boot(cfg, async |store, sel| {
        // Start the log near the top of the id space by hand.
        sel.next_id = RecordId(0xFFFC);
        let mut ids = Vec::new();
        for n in 0..5 {
            if let Added::Stored(id) = sel.add(store, &event(n), 0).await.unwrap() {
                ids.push(id.0);
            }
        }
        assert_eq!(ids, [0xFFFC, 0xFFFD, 0xFFFE, 0x0001, 0x0002]);
        assert_eq!(sel.find(RecordId(0x0001)).map(|r| r.id.0), Some(1));
        assert_eq!(sel.position(RecordId(0x0002)), Some(4));
        assert_eq!(sel.position(RecordId(0xFFFD)), Some(1));
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.next_id(), RecordId(3));
        assert_eq!(sel.len(), 5);
    });
}

#[test]
fn capacity_is_checked_against_the_flash() {
    let mut b = Board::new(4);
    block_on(async {
        let mut store = Store::mount(Flash::new(&mut b.map), Flash::new(&mut b.queue))
            .await
            .unwrap();
        let max = store.queue_guaranteed_records(STORED_MAX_LEN);
        // 4 pages of 256 bytes, 28-byte items: 8 per page, 2 pages usable.
        assert_eq!(max, 16);
        let too_big = Sel::mount(&mut store, config(17, OverflowPolicy::Wrap)).await;
        assert_eq!(
            too_big.err(),
            Some(SelError::CapacityTooLarge {
                requested: 17,
                max: 16
            })
        );
        assert!(
            Sel::mount(&mut store, config(0, OverflowPolicy::Wrap))
                .await
                .is_err()
        );
        assert!(
            Sel::mount(&mut store, config(16, OverflowPolicy::Wrap))
                .await
                .is_ok()
        );
    });
}

#[test]
fn foreign_queue_entries_are_skipped_not_fatal() {
    let mut b = Board::new(6);
    let cfg = config(10, OverflowPolicy::Wrap);
    b.boot(cfg, async |store, sel| {
        sel.add(store, &event(1), 0).await.unwrap();
        store.push(&"not a SEL entry", true).await.unwrap();
        sel.add(store, &event(2), 0).await.unwrap();
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(numbers(sel), [1, 2]);
        assert_eq!(sel.undecodable(), 1);
    });
}

#[test]
fn stored_entry_size_bound_holds() {
    for flags in [0u8, FLAG_CLEARS, 0xFF] {
        let s = Stored {
            record: ByteArray::from([0xFF; RECORD_LEN]),
            flags,
        };
        let mut buf = [0u8; 64];
        let mut c = minicbor::encode::write::Cursor::new(&mut buf[..]);
        minicbor::encode(s, &mut c).unwrap();
        assert!(c.position() <= STORED_MAX_LEN);
    }
}

#[test]
fn id_distance_wraps() {
    let cases = [
        (1, 1, 0),
        (1, 5, 4),
        (0xFFFE, 1, 1),
        (0xFFFD, 2, 3),
        (5, 1, 0xFFFA),
    ];
    for (from, to, d) in cases {
        assert_eq!(id_distance(RecordId(from), RecordId(to)), d, "{from} {to}");
    }
}
