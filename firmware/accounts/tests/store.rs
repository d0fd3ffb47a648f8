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

/// The account changes besides a password change, each cut at every write/erase in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    Create,
    Delete,
    Disable,
    Demote,
}

/// bob as the table shows him: absent, or (role, enabled, whether his password logs in).
fn bob(t: &mut AccountTable) -> Option<(Role, bool, bool)> {
    let (_, a) = t.get("bob")?;
    let (role, enabled) = (a.role(), a.enabled());
    Some((
        role,
        enabled,
        t.login("bob", b"bob-password", 0).result.is_ok(),
    ))
}

/// Power fails at every write/erase of creating, deleting, disabling or changing the role of
/// an account: after the reset the store mounts, the table loads, the Administrator is
/// untouched, and the account is as it was before the change or as the change left it.
#[test]
fn a_power_cut_during_a_create_delete_disable_or_role_change_leaves_the_old_or_the_new_account() {
    for edit in [Edit::Create, Edit::Delete, Edit::Disable, Edit::Demote] {
        let (mut saw_old, mut saw_new) = (false, false);
        for cut in 0..40u32 {
            for seed in 0..3u64 {
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
                            .create("admin", Role::Administrator, pw("admin", "admin-pass-1"))
                            .unwrap();
                        persist(&mut store, &t, c.write, 0).await;
                        if edit != Edit::Create {
                            let c = t
                                .create("bob", Role::Operator, pw("bob", "bob-password"))
                                .unwrap();
                            persist(&mut store, &t, c.write, 0).await;
                        }
                        // Churn so the map has to reclaim pages during the change.
                        for i in 0..(cut % 7) {
                            let n = format!("u{i}");
                            let c = t.create(&n, Role::ReadOnly, pw(&n, "password-1")).unwrap();
                            persist(&mut store, &t, c.write, 0).await;
                            let c = t.delete(&n).unwrap();
                            persist(&mut store, &t, c.write, 0).await;
                        }
                    }
                    let old = bob(&mut t.clone());
                    let armed = PowerRail::cut_after(cut, seed);
                    let change = match edit {
                        Edit::Create => t.create("bob", Role::Operator, pw("bob", "bob-password")),
                        Edit::Delete => t.delete("bob"),
                        Edit::Disable => t.set_enabled("bob", false),
                        Edit::Demote => t.set_role("bob", Role::ReadOnly),
                    }
                    .unwrap();
                    let new = bob(&mut t.clone());
                    assert_ne!(old, new, "{edit:?} changes bob");
                    {
                        let Ok(mut store) = Store::mount(
                            FaultFlash::<PAGE>::new(&mut m, &armed),
                            FaultFlash::<PAGE>::new(&mut q, &armed),
                        )
                        .await
                        else {
                            return;
                        };
                        // As the images persist a change, stopping at the first failure.
                        let _ = match change.write {
                            Write::Slot(s) => match t.slot_record(s, 0) {
                                Some(r) => store.set(StoreKey::account(s), &r).await,
                                None => store.remove(StoreKey::account(s)).await,
                            },
                            Write::Remove(s) => store.remove(StoreKey::account(s)).await,
                            Write::Settings => store.set(SETTINGS, &t.settings_record()).await,
                        };
                    }
                    armed.restore();
                    let mut store = Store::mount(
                        FaultFlash::<PAGE>::new(&mut m, &armed),
                        FaultFlash::<PAGE>::new(&mut q, &armed),
                    )
                    .await
                    .unwrap();
                    let mut back = load(&mut store).await;
                    assert!(
                        back.login("admin", b"admin-pass-1", 0).result.is_ok(),
                        "{edit:?} cut {cut} seed {seed}: the Administrator"
                    );
                    let seen = bob(&mut back);
                    assert!(
                        seen == old || seen == new,
                        "{edit:?} cut {cut} seed {seed}: {seen:?}, not {old:?} or {new:?}"
                    );
                    saw_old |= seen == old;
                    saw_new |= seen == new;
                });
            }
        }
        // No cut left a delete undone in these runs: its first write voids the record, and
        // whatever part of that write a cut lets through already voids it. The old state is
        // asked of the other three.
        assert!(
            (saw_old || edit == Edit::Delete) && saw_new,
            "{edit:?}: the cuts covered both outcomes (old {saw_old}, new {saw_new})"
        );
    }
}
