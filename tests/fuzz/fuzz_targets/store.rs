//! Mounting the store on arbitrary flash bytes (what a corrupt, truncated or foreign
//! `map.flash`/`sel.flash` holds): torn-erase repair, the format record, the map's and the
//! queue's item headers and CRCs, then the SEL's load from the queue, reads of stored values
//! and one write and remount, as at the agent's start.
//!
//! Two modes, by the first byte's top bit: the input *is* the flash (map region, then queue
//! region; bytes past it read erased), or the input is XORed onto a store this target first
//! writes (format record, settings, a SEL with a clear and a dozen records), which reaches
//! the deep paths of a valid-looking but damaged store without seeds that spell out CRCs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_sel::{BmcSensors, HostPower, OverflowPolicy, Sel, SelConfig};
use wsbmc_store::{RamFlash, Store, StoreKey};

/// A small page keeps the input small; the layout logic is the same as with 4 KiB pages.
const PAGE: usize = 256;
const MAP_PAGES: usize = 4;
const QUEUE_PAGES: usize = 6;
const MAP_LEN: usize = MAP_PAGES * PAGE;
const QUEUE_LEN: usize = QUEUE_PAGES * PAGE;

type Flash<'a> = RamFlash<'a, PAGE>;

/// Writes a store the way the agent does at first start and after some use.
async fn populate(map: &mut [u8], queue: &mut [u8], config: SelConfig) {
    let Ok(mut store) = Store::format(Flash::erased(map), Flash::erased(queue)).await else {
        panic!("formatting blank RAM flash failed");
    };
    let bmc = BmcSensors::default();
    let _ = store.set(StoreKey::setting(1), &3u32).await;
    let _ = store.set(StoreKey::account(0), &0x1234_5678_9ABC_u64).await;
    let Ok(mut sel) = Sel::mount(&mut store, config).await else {
        return;
    };
    let _ = sel
        .add(&mut store, &wsbmc_sel::bmc_started(&bmc), 100)
        .await;
    let _ = sel.clear(&mut store, 200).await;
    for i in 0..12u32 {
        let change = if i.is_multiple_of(2) {
            HostPower::On
        } else {
            HostPower::Off
        };
        let _ = sel
            .add(&mut store, &wsbmc_sel::host_power(&bmc, change), 300 + i)
            .await;
    }
    let _ = store.set(StoreKey::setting(1), &4u32).await;
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let policy = if first & 1 == 0 {
        OverflowPolicy::Wrap
    } else {
        OverflowPolicy::Stop
    };
    let config = SelConfig {
        capacity: u16::from((first >> 1) & 0x0F) + 1,
        policy,
        bmc: BmcSensors::default(),
    };
    let mut map = [0xFFu8; MAP_LEN];
    let mut queue = [0xFFu8; QUEUE_LEN];
    let xor = first & 0x80 != 0;
    embassy_futures::block_on(async {
        if xor {
            populate(&mut map, &mut queue, config).await;
        }
        for (i, &b) in rest.iter().take(MAP_LEN + QUEUE_LEN).enumerate() {
            let cell = if i < MAP_LEN {
                &mut map[i]
            } else {
                &mut queue[i - MAP_LEN]
            };
            *cell = if xor { *cell ^ b } else { b };
        }
        let Ok(mut store) = Store::mount(Flash::new(&mut map), Flash::new(&mut queue)).await else {
            return;
        };
        let _ = store.get::<u32>(StoreKey::setting(1)).await;
        let _ = store.get::<u64>(StoreKey::account(0)).await;
        if let Some(key) = StoreKey::threshold_override(0) {
            let _ = store.get::<u64>(key).await;
        }
        if let Ok(sel) = Sel::mount(&mut store, config).await {
            for r in sel.iter() {
                let _ = wsbmc_cim::log::record_data(&r, "fuzz");
                let _ = wsbmc_cim::log::description(&r, "fuzz");
            }
        }
        // What was there must not stop a write from being read back, now and after a remount.
        if store.set(StoreKey::setting(1), &7u32).await.is_ok() {
            assert_eq!(
                store.get::<u32>(StoreKey::setting(1)).await.ok(),
                Some(Some(7))
            );
            let (m, q) = store.into_flash();
            if let Ok(mut again) = Store::mount(m, q).await {
                assert_eq!(
                    again.get::<u32>(StoreKey::setting(1)).await.ok(),
                    Some(Some(7))
                );
            }
        }
    });
});
