#[cfg(feature = "stored")]
use alloc::format;
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
    #[cfg(feature = "stored")]
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

#[cfg(feature = "stored")]
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

/// A fresh log on a formatted store is the log mount finds there, checks its capacity as mount
/// does, and what it adds mounts back.
/// Without `stored` the queue keeps none of the log, so a fresh log's capacity is not bounded
/// by it: the bare-metal image's one-page queue (the least the store takes) holds a 32-record
/// log in RAM, full and wrapping like any other, and its flash stays blank.
#[cfg(not(feature = "stored"))]
#[test]
fn a_log_that_is_not_stored_is_not_bounded_by_the_queue() {
    let mut b = Board::new(1);
    block_on(async {
        let mut store = Store::blank(Flash::new(&mut b.map), Flash::new(&mut b.queue))
            .await
            .unwrap();
        assert!(Sel::fresh(&store, config(0, OverflowPolicy::Stop)).is_err());
        let mut sel = Sel::fresh(&store, config(32, OverflowPolicy::Wrap)).unwrap();
        for n in 0..40 {
            sel.add(&mut store, &event(n), u32::from(n)).await.unwrap();
        }
        assert_eq!(numbers(&sel), (8..40).collect::<Vec<u8>>());
    });
    assert!(b.queue.iter().all(|&x| x == 0xFF), "the queue was written");
}

#[cfg(feature = "stored")]
#[test]
fn a_fresh_log_is_what_mount_finds_on_a_formatted_store() {
    let mut b = Board::new(4);
    let cfg = config(16, OverflowPolicy::Stop);
    block_on(async {
        let mut store = Store::format(Flash::new(&mut b.map), Flash::new(&mut b.queue))
            .await
            .unwrap();
        let mut sel = Sel::fresh(&store, cfg).unwrap();
        let mounted = Sel::mount(&mut store, cfg).await.unwrap();
        assert_eq!(format!("{sel:?}"), format!("{mounted:?}"));
        assert_eq!(
            Sel::fresh(&store, config(17, OverflowPolicy::Stop)).err(),
            Some(SelError::CapacityTooLarge {
                requested: 17,
                max: 16
            })
        );
        assert!(Sel::fresh(&store, config(0, OverflowPolicy::Stop)).is_err());
        for n in 0..17 {
            sel.add(&mut store, &event(n), u32::from(n)).await.unwrap();
        }
        assert!(sel.overflow());
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(numbers(sel), (0..16).collect::<Vec<u8>>());
        assert_eq!(sel.next_id(), RecordId(17));
        assert!(sel.overflow());
    });
}

#[cfg(feature = "stored")]
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

#[cfg(feature = "stored")]
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

#[cfg(feature = "stored")]
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

#[cfg(feature = "stored")]
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

/// Without `stored` (a store blank at every start) the RAM mirror is the log: records are
/// added, refused, cleared and wrapped as with it, and the store's regions stay blank.
#[cfg(not(feature = "stored"))]
#[test]
fn without_stored_the_log_lives_in_ram_and_writes_nothing() {
    let mut b = Board::new(4);
    block_on(async {
        let mut store = Store::blank(Flash::new(&mut b.map), Flash::new(&mut b.queue))
            .await
            .unwrap();
        let mut sel = Sel::fresh(&store, config(4, OverflowPolicy::Stop)).unwrap();
        for n in 0..4 {
            let added = sel.add(&mut store, &event(n), u32::from(n)).await;
            assert_eq!(added, Ok(Added::Stored(RecordId(u16::from(n) + 1))));
        }
        assert_eq!(sel.add(&mut store, &event(9), 9).await, Ok(Added::Refused));
        assert!(sel.overflow());
        assert_eq!(numbers(&sel), [0, 1, 2, 3]);
        assert_eq!(sel.clear(&mut store, 5_000).await, Ok(RecordId(5)));
        assert!(!sel.overflow());
        assert_eq!(sel.len(), 1);
        assert_eq!(sel.last_erase_timestamp(), Some(5_000));

        let mut wrap = Sel::fresh(&store, config(3, OverflowPolicy::Wrap)).unwrap();
        for n in 0..5 {
            wrap.add(&mut store, &event(n), 0).await.unwrap();
        }
        assert_eq!(numbers(&wrap), [2, 3, 4]);
        assert_eq!(wrap.next_id(), RecordId(6));
    });
    assert!(
        b.map.iter().chain(&b.queue).all(|&x| x == 0xFF),
        "nothing written"
    );
}

#[cfg(feature = "stored")]
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

#[cfg(feature = "stored")]
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

#[cfg(feature = "loss-detection")]
/// Boots once, adds `n` records and marks the log, as the agent does after mount.
fn fill_and_mark(b: &mut Board, cfg: SelConfig, n: u8) {
    b.boot(cfg, async |store, sel| {
        for i in 0..n {
            sel.add(store, &event(i), 0).await.unwrap();
        }
        sel.checkpoint(store).await.unwrap();
    });
}

#[cfg(feature = "loss-detection")]
/// Issue #20 finding 6: a new device (no mark) is silent; a log whose queue is gone (file
/// deleted, or zeroed to blank) is reported with how much was lost, and its RecordIDs continue
/// after the newest the mark knew instead of restarting at 1.
#[test]
fn a_lost_queue_is_reported_and_ids_continue() {
    let mut b = Board::new(10);
    let cfg = config(50, OverflowPolicy::Wrap);
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.lost(), None, "new device")
    });
    fill_and_mark(&mut b, cfg, 30);
    b.boot(cfg, async |_, sel| assert_eq!(sel.lost(), None, "intact"));
    b.queue.fill(0xFF);
    b.boot(cfg, async |store, sel| {
        assert_eq!(sel.lost(), Some(30));
        assert!(sel.is_empty());
        assert_eq!(sel.next_id(), RecordId(31));
        assert_eq!(
            sel.add(store, &event(99), 0).await.unwrap(),
            Added::Stored(RecordId(31))
        );
        sel.checkpoint(store).await.unwrap();
        assert_eq!(sel.lost(), None);
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.lost(), None, "reported once, then marked");
        assert_eq!(sel.next_id(), RecordId(32));
    });
}

#[cfg(feature = "loss-detection")]
/// Damaged records (their CRC fails, so the store skips them) leave a short log.
#[test]
fn flipped_bits_in_the_queue_are_reported() {
    let mut b = Board::new(10);
    let cfg = config(50, OverflowPolicy::Wrap);
    fill_and_mark(&mut b, cfg, 1);
    // 39 more records after the mark: the RecordIDs since it, not only its count, say how
    // many there should be.
    b.boot(cfg, async |store, sel| {
        for i in 0..39 {
            sel.add(store, &event(i), 0).await.unwrap();
        }
    });
    for at in (PAGE + 40..2 * PAGE).step_by(7) {
        b.queue[at] ^= 0x5A;
    }
    let kept = b.boot(cfg, async |store, sel| {
        let lost = sel.lost().expect("loss found");
        assert!(
            lost > 0 && sel.len() + lost >= 40,
            "{lost} of 40, {} kept",
            sel.len()
        );
        assert!(sel.len() < 40);
        assert_eq!(sel.next_id(), RecordId(41), "the newest survived");
        for i in 0..3 {
            sel.add(store, &event(i), 0).await.unwrap();
        }
        sel.checkpoint(store).await.unwrap();
        sel.len()
    });
    // The survivors were rewritten into a clean queue: the next mount finds all of them and
    // the records added after, and no further loss.
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.lost(), None);
        assert_eq!(sel.len(), kept);
        assert_eq!(sel.next_id(), RecordId(44));
    });
}

#[cfg(feature = "loss-detection")]
/// A queue replaced by an older copy of itself ends before the mark's newest record.
#[test]
fn an_older_queue_is_reported() {
    let mut b = Board::new(10);
    let cfg = config(50, OverflowPolicy::Wrap);
    fill_and_mark(&mut b, cfg, 10);
    let old = b.queue.clone();
    fill_and_mark(&mut b, cfg, 10);
    b.queue = old;
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.lost(), Some(10));
        assert_eq!(sel.len(), 10);
        assert_eq!(sel.next_id(), RecordId(21));
    });
}

#[cfg(feature = "loss-detection")]
/// What a working log does between marks is not loss: wrapping, clearing, refusing when full.
#[test]
fn wraps_clears_and_refusals_are_not_loss() {
    let mut b = Board::new(10);
    let cfg = config(20, OverflowPolicy::Wrap);
    fill_and_mark(&mut b, cfg, 15);
    b.boot(cfg, async |store, sel| {
        assert_eq!(sel.lost(), None);
        for i in 0..30 {
            sel.add(store, &event(i), 0).await.unwrap();
        }
    });
    b.boot(cfg, async |store, sel| {
        assert_eq!(sel.lost(), None, "wrapped");
        sel.checkpoint(store).await.unwrap();
        sel.clear(store, 0).await.unwrap();
        sel.add(store, &event(1), 0).await.unwrap();
    });
    b.boot(cfg, async |_, sel| {
        assert_eq!(sel.lost(), None, "cleared");
        assert_eq!(sel.len(), 2);
    });
    let stop = config(4, OverflowPolicy::Stop);
    let mut b = Board::new(10);
    fill_and_mark(&mut b, stop, 6);
    b.boot(stop, async |_, sel| {
        assert_eq!(sel.lost(), None, "refused");
        assert_eq!(sel.len(), 4);
    });
}

#[cfg(feature = "loss-detection")]
/// A queue region damaged beyond what the store repairs (zeroed, or random bytes) is erased and
/// reported, so the log works again instead of staying unmountable.
#[test]
fn a_zeroed_or_random_queue_is_erased_and_reported() {
    for garbage in [0u8, 0x5A] {
        let mut b = Board::new(10);
        let cfg = config(50, OverflowPolicy::Wrap);
        fill_and_mark(&mut b, cfg, 30);
        for (i, byte) in b.queue.iter_mut().enumerate() {
            *byte = if garbage == 0 {
                0
            } else {
                (i as u8).wrapping_mul(167) ^ garbage
            };
        }
        b.boot(cfg, async |store, sel| {
            assert_eq!(sel.lost(), Some(30), "{garbage:#x}");
            assert!(sel.is_empty());
            assert_eq!(
                sel.add(store, &event(1), 0).await.unwrap(),
                Added::Stored(RecordId(31))
            );
        });
        b.boot(cfg, async |_, sel| assert_eq!(sel.len(), 1));
    }
}

/// The mark shares the state's map entry: a state written before it did (only the overflow
/// flag) still decodes, with no mark, and a full state round-trips.
#[test]
fn state_entries_old_and_new_decode() {
    let old = minicbor::decode::<State>(&[0x81, 0xF5]).unwrap();
    assert_eq!(
        old,
        State {
            overflow: true,
            newest: 0,
            len: 0
        }
    );
    let now = State {
        overflow: false,
        newest: 0x1234,
        len: 32,
    };
    let mut buf = [0u8; 16];
    let mut cursor = minicbor::encode::write::Cursor::new(&mut buf[..]);
    minicbor::encode(now, &mut cursor).unwrap();
    let len = cursor.position();
    assert_eq!(minicbor::decode::<State>(&buf[..len]).unwrap(), now);
}

#[cfg(feature = "loss-detection")]
/// Raising the overflow flag writes the mark too: a refused record does not make the mark stale.
#[test]
fn the_overflow_flag_keeps_the_mark() {
    let mut b = Board::new(6);
    b.boot(config(4, OverflowPolicy::Stop), async |store, sel| {
        for i in 0..5 {
            sel.add(store, &event(i), 0).await.unwrap();
        }
        assert!(sel.overflow());
    });
    b.boot(config(4, OverflowPolicy::Stop), async |_, sel| {
        assert!(sel.overflow());
        assert_eq!(sel.lost(), None);
        assert_eq!(sel.len(), 4);
    });
}
