use futures_lite::future::block_on;
use minicbor::{Decode, Encode};

use super::*;

const PAGE: usize = 256;
type Flash<'a> = RamFlash<'a, PAGE>;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(array)]
struct Account {
    #[n(0)]
    name: std::string::String,
    #[n(1)]
    privilege: u8,
}

fn blank() -> (std::vec::Vec<u8>, std::vec::Vec<u8>) {
    (std::vec![0xFF; 4 * PAGE], std::vec![0xFF; 4 * PAGE])
}

#[test]
fn first_mount_formats_and_values_persist() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        assert_eq!(s.get::<u32>(StoreKey::setting(1)).await, Ok(None));
        s.set(StoreKey::setting(1), &1000u32).await.unwrap();
        let acct = Account {
            name: "admin".into(),
            privilege: 4,
        };
        s.set(StoreKey::account(0), &acct).await.unwrap();
        s.set(StoreKey::setting(1), &250u32).await.unwrap();
        s.push(&[1u8, 2, 3], false).await.unwrap();
        s.push(&[4u8], false).await.unwrap();
        s.remove(StoreKey::account(0)).await.unwrap();
    });
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        assert_eq!(s.get::<u32>(StoreKey::setting(1)).await, Ok(Some(250)));
        assert_eq!(s.get::<Account>(StoreKey::account(0)).await, Ok(None));
        let mut seen = std::vec::Vec::new();
        s.for_each_queued(|b| seen.push(minicbor::decode::<std::vec::Vec<u8>>(b).unwrap()))
            .await
            .unwrap();
        assert_eq!(seen, [std::vec![1, 2, 3], std::vec![4]]);
    });
}

/// A blank store writes nothing until the map's first item, which its format record precedes:
/// the regions are then byte for byte what format and a first mount leave after the same
/// write, and they mount. One that is never written mounts too (as a new device).
#[test]
fn blank_on_erased_regions_is_what_format_and_a_first_mount_leave() {
    let write = |s: Store<Flash<'_>>| {
        let mut s = s;
        block_on(s.set(StoreKey::setting(1), &7u32)).unwrap();
    };
    let (mut m, mut q) = blank();
    block_on(Store::blank(Flash::new(&mut m), Flash::new(&mut q))).unwrap();
    assert_eq!((&m, &q), (&blank().0, &blank().1), "nothing is written");
    block_on(Store::mount(Flash::new(&mut m), Flash::new(&mut q))).unwrap();

    let (mut m, mut q) = blank();
    write(block_on(Store::blank(Flash::new(&mut m), Flash::new(&mut q))).unwrap());
    let (mut fm, mut fq) = blank();
    // Format erases whatever was there: start it from zeroes.
    fm.fill(0);
    fq.fill(0);
    write(block_on(Store::format(Flash::new(&mut fm), Flash::new(&mut fq))).unwrap());
    let (mut mm, mut mq) = blank();
    write(block_on(Store::mount(Flash::new(&mut mm), Flash::new(&mut mq))).unwrap());
    assert_eq!((&m, &q), (&fm, &fq));
    assert_eq!((&m, &q), (&mm, &mq));
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        assert_eq!(s.get::<u32>(StoreKey::setting(1)).await, Ok(Some(7)));
        s.set(StoreKey::setting(2), &8u32).await.unwrap();
        assert_eq!(s.get::<u32>(StoreKey::setting(2)).await, Ok(Some(8)));
    });
}

#[test]
fn wrong_type_is_a_decode_error_not_a_panic() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        s.set(StoreKey::setting(7), &"text").await.unwrap();
        assert_eq!(
            s.get::<u32>(StoreKey::setting(7)).await,
            Err(StoreError::Decode {
                key: Some(StoreKey::setting(7))
            })
        );
        let big = [0u8; MAX_VALUE_LEN];
        assert_eq!(
            s.set(StoreKey::setting(8), &minicbor::bytes::ByteArray::from(big))
                .await,
            Err(StoreError::TooBig)
        );
    });
}

#[test]
fn other_formats_are_refused_with_a_clear_error() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        let future = Format {
            version: FORMAT_VERSION + 1,
            engine_major: ENGINE_MAJOR,
        };
        s.set(StoreKey::FORMAT, &future).await.unwrap();
    });
    block_on(async {
        let err = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .err()
            .unwrap();
        assert_eq!(
            err,
            StoreError::FormatMismatch {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION
            }
        );
        assert!(std::format!("{err}").contains("format the store"));
        // Formatting is the way out, and it forgets everything.
        let mut s = Store::format(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        assert_eq!(s.get::<u32>(StoreKey::setting(1)).await, Ok(None));
    });
    block_on(async {
        Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
    });
}

#[test]
fn data_without_a_format_record_is_refused() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        s.set(StoreKey::setting(1), &5u8).await.unwrap();
        s.remove(StoreKey::FORMAT).await.unwrap();
    });
    block_on(async {
        let err = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .err();
        assert_eq!(err, Some(StoreError::Unversioned));
    });
    // A queue with records next to an empty map is foreign data too.
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        s.push(&1u8, false).await.unwrap();
    });
    m.fill(0xFF);
    block_on(async {
        let err = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .err();
        assert_eq!(err, Some(StoreError::Unversioned));
    });
}

#[test]
fn garbage_flash_never_panics() {
    // Random bytes in both regions: mount must return, Ok or an error, without panicking.
    let rail = PowerRail::cut_after(u32::MAX, 7);
    for seed in 0..50u64 {
        let rail_seed = PowerRail::cut_after(0, seed);
        let mut m: std::vec::Vec<u8> = (0..4 * PAGE).map(|_| rail_seed.random() as u8).collect();
        let mut q: std::vec::Vec<u8> = (0..4 * PAGE).map(|_| rail_seed.random() as u8).collect();
        let _ = block_on(Store::mount(
            FaultFlash::<PAGE>::new(&mut m, &rail),
            FaultFlash::<PAGE>::new(&mut q, &rail),
        ));
    }
}

#[test]
fn geometry_is_checked() {
    let mut m = std::vec![0xFF; PAGE];
    let mut q = std::vec![0xFF; 4 * PAGE];
    let r = block_on(Store::mount(Flash::new(&mut m), Flash::new(&mut q)));
    assert_eq!(r.err(), Some(StoreError::Geometry));
}

#[test]
fn queue_overwrites_only_when_asked_and_keeps_its_guarantee() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        let record = [0xA5u8; 16];
        let len = minicbor::len(minicbor::bytes::ByteArray::from(record));
        let guaranteed = s.queue_guaranteed_records(len);
        assert!(guaranteed > 0);
        let mut pushed = 0u32;
        loop {
            let mut r = record;
            r[..4].copy_from_slice(&pushed.to_le_bytes());
            match s.push(&minicbor::bytes::ByteArray::from(r), false).await {
                Ok(()) => pushed += 1,
                Err(StoreError::Full) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(pushed as usize >= guaranteed);
        for extra in 0..100u32 {
            let mut r = record;
            r[..4].copy_from_slice(&(pushed + extra).to_le_bytes());
            s.push(&minicbor::bytes::ByteArray::from(r), true)
                .await
                .unwrap();
            let mut ids = std::vec::Vec::new();
            s.for_each_queued(|b| {
                let r: minicbor::bytes::ByteArray<16> = minicbor::decode(b).unwrap();
                ids.push(u32::from_le_bytes([r[0], r[1], r[2], r[3]]));
            })
            .await
            .unwrap();
            let newest = pushed + extra;
            assert!(ids.len() >= guaranteed, "{} < {guaranteed}", ids.len());
            // Contiguous and ending with the newest record.
            for (i, id) in ids.iter().rev().enumerate() {
                assert_eq!(*id, newest - i as u32);
            }
        }
    });
}

#[test]
fn torn_erase_that_reads_partially_open_is_erased_again() {
    // Page 0 is the queue's current page; page 1 is what an erase cut short can look like when
    // cells do not erase front to back: start marker still set, end marker erased, garbage in
    // between. Without the repair the queue would take page 1 for its newest page.
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        for i in 0..3u8 {
            s.push(&i, false).await.unwrap();
        }
    });
    q[PAGE] = 0x00;
    q[PAGE + 4..PAGE + 40].fill(0x5A);
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        s.push(&3u8, false).await.unwrap();
        let mut seen = std::vec::Vec::new();
        s.for_each_queued(|b| seen.push(minicbor::decode::<u8>(b).unwrap()))
            .await
            .unwrap();
        assert_eq!(seen, [0, 1, 2, 3]);
    });
    assert!(q[PAGE..2 * PAGE].iter().all(|b| *b == 0xFF));
}

#[test]
fn open_looking_page_with_leftovers_is_erased_again() {
    let (mut m, mut q) = blank();
    block_on(async {
        Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
    });
    // Both markers read unset, but the page is not blank: a torn erase or a torn start marker.
    q[2 * PAGE] = 0xF7;
    q[2 * PAGE + 100] = 0x00;
    block_on(async {
        Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
    });
    assert!(q.iter().all(|b| *b == 0xFF));
}

#[test]
fn sensor_keys_tag_the_sensor_and_round_trip_on_flash() {
    // Pinned: the tags are on flash, so the hash must never change between builds.
    assert_eq!(key_hash(""), 0x811C_9DC5);
    assert_eq!(key_hash("a"), 0xE40C_292C);
    let keys = [
        StoreKey::sensor("inlet_temp"),
        StoreKey::sensor("inlet_temp_2"),
        StoreKey::sensor(""),
        StoreKey::FORMAT,
        StoreKey::setting(3),
        StoreKey::threshold_override(3).unwrap(),
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b);
        }
        let mut buf = [0u8; 16];
        let n = a.serialize_into(&mut buf).unwrap();
        assert_eq!(StoreKey::get_len(&buf[..n]), Ok(n));
        assert_eq!(StoreKey::deserialize_from(&buf[..n]), Ok((*a, n)));
    }
    assert_eq!(
        StoreKey::sensor("inlet_temp"),
        StoreKey::sensor("inlet_temp")
    );
    let mut buf = [0u8; 8];
    assert_eq!(StoreKey::sensor("a").serialize_into(&mut buf), Ok(6));
    assert_eq!(buf[..6], [0x00, 0x40, 0x2C, 0x29, 0x0C, 0xE4]);
    // The 16-bit keys keep sequential-storage's u16 layout: stores written before still read.
    assert_eq!(StoreKey::setting(3).serialize_into(&mut buf), Ok(2));
    assert_eq!(buf[..2], 0x1003u16.to_le_bytes());
    assert_eq!(
        StoreKey::threshold_override(3).map(StoreKey::raw),
        Some(0x8003)
    );
    // A per-sensor key cut short on flash is refused, not read past.
    assert!(StoreKey::deserialize_from(&[0x00, 0x40, 5, 6]).is_err());
    assert!(StoreKey::sensor("a").serialize_into(&mut buf[..4]).is_err());
}

#[test]
fn per_sensor_keys_are_values_of_their_own() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        s.set(StoreKey::sensor("cpu0_temp"), &1u32).await.unwrap();
        s.set(StoreKey::sensor("cpu1_temp"), &2u32).await.unwrap();
        s.set(StoreKey::setting(0), &3u32).await.unwrap();
        s.set(StoreKey::sensor("cpu0_temp"), &4u32).await.unwrap();
    });
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        assert_eq!(
            s.get::<u32>(StoreKey::sensor("cpu0_temp")).await,
            Ok(Some(4))
        );
        assert_eq!(
            s.get::<u32>(StoreKey::sensor("cpu1_temp")).await,
            Ok(Some(2))
        );
        assert_eq!(s.get::<u32>(StoreKey::sensor("cpu2_temp")).await, Ok(None));
        assert_eq!(s.get::<u32>(StoreKey::setting(0)).await, Ok(Some(3)));
    });
}

#[test]
fn read_hands_over_the_raw_bytes_and_contains_looks_without_decoding() {
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        let key = StoreKey::sensor("cpu0_temp");
        assert_eq!(s.read(key, |b| b.len()).await, Ok(None));
        assert_eq!(s.contains(key).await, Ok(false));
        s.set(key, &"cpu0_temp").await.unwrap();
        let name = s
            .read(key, |b| {
                minicbor::decode::<&str>(b).is_ok_and(|n| n == "cpu0_temp")
            })
            .await;
        assert_eq!(name, Ok(Some(true)));
        assert_eq!(s.contains(key).await, Ok(true));
    });
}

#[test]
fn subscription_keys_are_their_own_and_a_chunk_fits() {
    let mut seen = std::collections::BTreeSet::new();
    for slot in 0..16 {
        for chunk in 0..64 {
            let k = StoreKey::subscription(slot, chunk).unwrap();
            assert_eq!(k.raw() & 0xF000, 0x3000);
            assert!(seen.insert(k.raw()));
        }
    }
    assert_eq!(StoreKey::subscription(16, 0), None);
    assert_eq!(StoreKey::subscription(0, 64), None);
    assert!(!seen.contains(&StoreKey::account(0).raw()));
    assert!(!seen.contains(&StoreKey::setting(0).raw()));
    // The agent's chunk: a two-item array of the chunk count and 192 bytes.
    let (mut m, mut q) = blank();
    block_on(async {
        let mut s = Store::mount(Flash::new(&mut m), Flash::new(&mut q))
            .await
            .unwrap();
        let key = StoreKey::subscription(15, 63).unwrap();
        let chunk = (23u8, minicbor::bytes::ByteArray::from([7u8; 192]));
        s.set(key, &chunk).await.unwrap();
        assert_eq!(
            s.get::<(u8, minicbor::bytes::ByteArray<192>)>(key).await,
            Ok(Some(chunk))
        );
    });
}
