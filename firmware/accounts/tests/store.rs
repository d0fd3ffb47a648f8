//! The records through the real store (firmware/store): they fit its values, read back through
//! its typed `get`, and a power cut during an account change leaves the old or the new
//! account, never a store the table refuses.

// A test fails by panicking (clippy.toml allows it only inside #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_lite::future::block_on;
use wsbmc_accounts::persist::{StoredSettings, StoredSlot};
use wsbmc_accounts::{AccountTable, LockoutPolicy, NewPassword, Role, Write};
use wsbmc_store::{FaultFlash, PowerRail, Store, StoreKey};

const PAGE: usize = 256;
/// Where these tests keep the settings record; the agent assigns the real setting number.
const SETTINGS: StoreKey = StoreKey::setting(15);
const IT: u32 = 2;
type Flash<'a> = FaultFlash<'a, PAGE>;

fn pw(name: &str, password: &str) -> NewPassword {
    NewPassword::new(name, password.as_bytes(), b"0123456789abcdef", IT).unwrap()
}

async fn persist(store: &mut Store<Flash<'_>>, table: &AccountTable, write: Write, now: u64) {
    match write {
        Write::Slot(s) => match table.slot_record(s, now) {
            Some(r) => store.set(StoreKey::account(s), &r).await.unwrap(),
            None => store.remove(StoreKey::account(s)).await.unwrap(),
        },
        Write::Remove(s) => store.remove(StoreKey::account(s)).await.unwrap(),
        Write::Settings => store.set(SETTINGS, &table.settings_record()).await.unwrap(),
    }
}

async fn load(store: &mut Store<Flash<'_>>) -> AccountTable {
    let settings = store.get::<StoredSettings>(SETTINGS).await.unwrap();
    let mut slots = Vec::new();
    for s in 0..16u8 {
        if let Some(r) = store.get::<StoredSlot>(StoreKey::account(s)).await.unwrap() {
            slots.push((s, r));
        }
    }
    AccountTable::load(settings, slots, 0, LockoutPolicy::default(), IT)
        .unwrap()
        .table
}

#[test]
fn a_full_table_round_trips_through_the_store() {
    let rail = PowerRail::steady();
    // 16 records of 80-130 bytes live (130 with the Digest HA1s), plus the map's spare pages: what the images' map regions
    // must hold once the table is wired (firmware/linux has 8 pages of 4 KiB).
    let (mut m, mut q) = (vec![0xFF; 16 * PAGE], vec![0xFF; 3 * PAGE]);
    block_on(async {
        let mut store = Store::mount(
            FaultFlash::<PAGE>::new(&mut m, &rail),
            FaultFlash::<PAGE>::new(&mut q, &rail),
        )
        .await
        .unwrap();
        let mut t = AccountTable::new(LockoutPolicy::default(), IT);
        for i in 0..16 {
            // The longest name a new account may have.
            let name = format!("user{i:02}-abcdefghi");
            assert_eq!(name.len(), 16);
            let c = t
                .create(&name, Role::Administrator, pw(&name, "password-1"))
                .unwrap();
            persist(&mut store, &t, c.write, 0).await;
        }
        persist(&mut store, &t, Write::Settings, 0).await;
        let back = load(&mut store).await;
        assert_eq!(back.list().count(), 16);
        for ((_, a), (_, b)) in back.list().zip(t.list()) {
            assert_eq!(a, b);
        }
    });
}

/// Power fails at every write/erase of a password change in turn: after the reset the store
/// mounts and the table loads, with the old password or the new one.
#[test]
fn a_power_cut_during_a_change_leaves_the_old_or_the_new_account() {
    let mut saw_old = false;
    let mut saw_new = false;
    for cut in 0..40u32 {
        for seed in 0..4u64 {
            let rail = PowerRail::steady();
            let (mut m, mut q) = (vec![0xFF; 4 * PAGE], vec![0xFF; 3 * PAGE]);
            block_on(async {
                let mut t = AccountTable::new(LockoutPolicy::default(), IT);
                {
                    let mut store = Store::mount(
                        FaultFlash::<PAGE>::new(&mut m, &rail),
                        FaultFlash::<PAGE>::new(&mut q, &rail),
                    )
                    .await
                    .unwrap();
                    let c = t
                        .create("admin", Role::Administrator, pw("admin", "old-password"))
                        .unwrap();
                    persist(&mut store, &t, c.write, 0).await;
                    // Churn so the map has to reclaim pages during the change.
                    for i in 0..(cut % 7) {
                        let n = format!("u{i}");
                        let c = t.create(&n, Role::ReadOnly, pw(&n, "password-1")).unwrap();
                        persist(&mut store, &t, c.write, 0).await;
                        let c = t.delete(&n).unwrap();
                        persist(&mut store, &t, c.write, 0).await;
                    }
                }
                let armed = PowerRail::cut_after(cut, seed);
                {
                    let Ok(mut store) = Store::mount(
                        FaultFlash::<PAGE>::new(&mut m, &armed),
                        FaultFlash::<PAGE>::new(&mut q, &armed),
                    )
                    .await
                    else {
                        return;
                    };
                    let c = t
                        .set_password("admin", pw("admin", "new-password"))
                        .unwrap();
                    if let Write::Slot(s) = c.write
                        && let Some(r) = t.slot_record(s, 0)
                    {
                        let _ = store.set(StoreKey::account(s), &r).await;
                    }
                }
                armed.restore();
                let mut store = Store::mount(
                    FaultFlash::<PAGE>::new(&mut m, &armed),
                    FaultFlash::<PAGE>::new(&mut q, &armed),
                )
                .await
                .unwrap();
                let mut back = load(&mut store).await;
                let old = back.login("admin", b"old-password", 0).result.is_ok();
                let new = back.login("admin", b"new-password", 0).result.is_ok();
                assert!(old ^ new, "cut {cut} seed {seed}: old {old} new {new}");
                saw_old |= old;
                saw_new |= new;
            });
        }
    }
    assert!(saw_old && saw_new, "the cuts covered both outcomes");
}
