//! Where the agent keeps what must survive a restart: the SEL and console-set thresholds.
//!
//! With `--state-dir` the store lives in two files of NOR-flash semantics (pwrite + fdatasync per
//! write, so an acknowledged record is on disk); without it, in RAM for the life of the process,
//! which is what a development run on the simulated board wants.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::rc::Rc;

use log::{info, warn};
#[cfg(test)]
use minicbor::{Decode, Encode};
use wsbmc_accounts::{
    AccountTable, LockoutPolicy, MAX_ACCOUNTS, Role, StoredSettings, StoredSlot, Write,
};
use wsbmc_agent::Agent;
use wsbmc_board::{Board, SelOverflow};
use wsbmc_http::Account;
use wsbmc_sel::{BmcSensors, OverflowPolicy, Sel, SelConfig};
use wsbmc_store::{FileFlash, RamFlash, Store, StoreKey};

/// Flash page size of the store. 4 KiB is the erase block of the SPI NOR parts BMCs boot from.
pub const PAGE: usize = 4096;

/// Pages for the key-value map: thresholds of every sensor and a few settings fit many times
/// over, and the spare pages let the map rotate without ever erasing live data.
pub const MAP_PAGES: usize = 8;

/// Pages for the SEL queue: about 130 records fit a page, and two spare pages cover the
/// page-wise overwrite plus records torn by a power cut.
fn queue_pages(capacity: u16) -> usize {
    usize::from(capacity).div_ceil(128) + 2
}

fn config(board: &Board) -> SelConfig {
    SelConfig {
        capacity: board.sel.capacity,
        policy: match board.sel.overflow {
            SelOverflow::Wrap => OverflowPolicy::Wrap,
            SelOverflow::Stop => OverflowPolicy::Stop,
        },
        bmc: BmcSensors::default(),
    }
}

/// The console account as firmware before issue 15 stored it, under `StoreKey::account(0)`:
/// the PBKDF2 hash for Basic and the HA1s for Digest. Such a record is migrated by
/// [`AccountTable::load`] (an enabled Administrator) and rewritten in the slot format; it is
/// kept here to write such records in tests.
#[cfg(test)]
#[derive(Debug, Encode, Decode)]
struct StoredAccount {
    #[n(0)]
    name: String,
    #[cbor(n(1), with = "minicbor::bytes")]
    salt: Vec<u8>,
    #[n(2)]
    iterations: u32,
    #[cbor(n(3), with = "minicbor::bytes")]
    key: Vec<u8>,
    #[cbor(n(4), with = "minicbor::bytes")]
    ha1_md5: Option<Vec<u8>>,
    #[cbor(n(5), with = "minicbor::bytes")]
    ha1_sha256: Option<Vec<u8>>,
    #[n(6)]
    scheme: Option<u8>,
}

/// Where the account table's settings (lockout policy, PBKDF2 rounds, provisioning counter)
/// are kept; the slots are under `StoreKey::account(0..16)`.
pub const ACCOUNT_SETTINGS: StoreKey = StoreKey::setting(15);

/// Beside the store, made when an account is stored in it: so a start that finds no account
/// in the map can tell a device never provisioned (fine) from one whose accounts were lost (the
/// map damaged, deleted or replaced), which must not fall back to a default password.
const PROVISIONED: &str = "account.provisioned";

/// How to start over, in the words of the errors: the one way out that needs no tools.
const RESET: &str = "--reset-state --user NAME --password PASSWORD (this erases the SEL, the \
     stored thresholds and the accounts; move the directory aside first to keep a copy)";

/// Monotonic milliseconds: the clock http's logins and the table's locks run on.
pub fn now_ms() -> u64 {
    embassy_time::Instant::now().as_millis()
}

/// Writes what a table change asks for to the store.
pub async fn write_record(
    store: &mut Store<FileFlash<PAGE>>,
    table: &AccountTable,
    write: Write,
) -> Result<(), String> {
    let done = match write {
        Write::Slot(s) => match table.slot_record(s, now_ms()) {
            Some(r) => store.set(StoreKey::account(s), &r).await,
            None => store.remove(StoreKey::account(s)).await,
        },
        Write::Remove(s) => store.remove(StoreKey::account(s)).await,
        Write::Settings => store.set(ACCOUNT_SETTINGS, &table.settings_record()).await,
    };
    done.map_err(|e| format!("could not store the account change: {e:?}"))
}

/// The same change as bytes for the log task, which owns the store once the agent runs.
pub fn queue_record(agent: &Agent, table: &AccountTable, write: Write) -> bool {
    match write {
        Write::Slot(s) => {
            agent.persist_record(StoreKey::account(s), table.encode_slot(s, now_ms()))
        }
        Write::Remove(s) => agent.persist_record(StoreKey::account(s), None),
        Write::Settings => agent.persist_record(ACCOUNT_SETTINGS, Some(table.encode_settings())),
    }
}

/// Reads the account table from the store (migrating the single account of firmware before
/// issue 15), applies `policy` when given, adds `given` as an Administrator (replacing an
/// account of that name), and writes back what changed. `Err` when accounts were stored
/// before and cannot be read back now: never "no account", which could let the simulated
/// board fall back to its development password.
pub async fn load_accounts(
    store: &mut Store<FileFlash<PAGE>>,
    given: Option<&Account>,
    dir: &Path,
    policy: Option<LockoutPolicy>,
    iterations: u32,
) -> Result<AccountTable, String> {
    let marker = dir.join(PROVISIONED);
    let lost = |why: &str| {
        format!(
            "the accounts stored in {} are lost ({why}); refusing to start with none or a \
             default one: start with --user NAME --password PASSWORD (or \
             WSBMC_USER/WSBMC_PASSWORD) to store one again, or start over with {RESET}",
            dir.display()
        )
    };
    let settings = store
        .get::<StoredSettings>(ACCOUNT_SETTINGS)
        .await
        .map_err(|e| lost(&format!("unreadable: {e:?}")))?;
    let mut slots = Vec::new();
    for s in 0..MAX_ACCOUNTS as u8 {
        match store.get::<StoredSlot>(StoreKey::account(s)).await {
            Ok(Some(r)) => slots.push((s, r)),
            Ok(None) => {}
            Err(e) => return Err(lost(&format!("unreadable: {e:?}"))),
        }
    }
    let loaded = AccountTable::load(
        settings,
        slots,
        now_ms(),
        policy.unwrap_or_default(),
        iterations,
    )
    .map_err(|e| lost(&format!("{e:?}")))?;
    let mut writes = loaded.writes().to_vec();
    if loaded.migrated {
        info!("the account stored by an older wsbmc is now an Administrator in the account table");
    }
    let mut table = loaded.table;
    if let Some(p) = policy
        && p != table.policy()
    {
        writes.push(table.set_policy(p, "command line").write);
    }
    if let Some(a) = given {
        let change = table
            .import(a.name(), Role::Administrator, a.record())
            .map_err(|e| format!("account {:?}: {e}", a.name()))?;
        writes.push(change.write);
    }
    if !table.is_provisioned() && marker.exists() {
        return Err(lost("map.flash no longer holds them"));
    }
    for w in writes {
        write_record(store, &table, w).await?;
    }
    mark_provisioned(dir, &table);
    Ok(table)
}

/// Makes the marker that says accounts were stored here, once the table has one.
pub fn mark_provisioned(dir: &Path, table: &AccountTable) {
    if !table.is_provisioned() {
        return;
    }
    let marker = dir.join(PROVISIONED);
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&marker);
    if let Err(e) = made {
        warn!("{}: {e}", marker.display());
    }
}

/// Takes the state directory for this process: an exclusive lock on `agent.lock`, held as
/// long as the returned file is open. The agent holds it while it runs, and `wsbmc user`
/// takes it too, so the two never write the store at once.
pub fn lock_dir(dir: &Path) -> Result<std::fs::File, String> {
    let path = dir.join("agent.lock");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(format!("{} is held by another process", path.display()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(format!("{}: {e}", path.display())),
    }
}

/// Removes the store's files and the provisioning marker, for `--reset-state`.
fn reset(dir: &Path) -> Result<(), String> {
    // The provisioning seed too: a device started over gets a new one-time secret.
    for name in [
        "map.flash",
        "sel.flash",
        PROVISIONED,
        crate::provisioning::SEED_FILE,
    ] {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", path.display())),
        }
    }
    warn!(
        "--reset-state: the SEL, stored thresholds and account in {} are erased",
        dir.display()
    );
    Ok(())
}

/// The error for a store that does not mount, with what to do about it.
fn unmountable(dir: &Path, what: &str) -> String {
    format!(
        "state directory {}: {what}. To recover, start with {RESET}",
        dir.display()
    )
}

/// Mounts the store, stores or loads the console account, and starts the task that owns the
/// store and the SEL. Returns the stored account when none was given.
pub async fn start(
    board: &Board,
    state_dir: Option<&Path>,
    reset_state: bool,
    agent: &Rc<Agent>,
    given: Option<&Account>,
    policy: Option<LockoutPolicy>,
    iterations: u32,
) -> Result<AccountTable, String> {
    let config = config(board);
    let queue_len = queue_pages(config.capacity) * PAGE;
    let map_len = MAP_PAGES * PAGE;
    match state_dir {
        Some(dir) => {
            private_dir(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
            // Held for the life of the process: `wsbmc user` refuses while it is.
            let lock = lock_dir(dir).map_err(|e| {
                format!(
                    "state directory {}: {e} (is another wsbmc using it?)",
                    dir.display()
                )
            })?;
            std::mem::forget(lock);
            if reset_state {
                reset(dir)?;
            }
            let open = |name: &str, len: usize| {
                let path = dir.join(name);
                FileFlash::<PAGE>::open(&path, len)
                    .map_err(|e| unmountable(dir, &format!("{}: {e}", path.display())))
            };
            let mut store =
                Store::mount(open("map.flash", map_len)?, open("sel.flash", queue_len)?)
                    .await
                    .map_err(|e| unmountable(dir, &e.to_string()))?;
            info!("SEL, settings and the account kept in {}", dir.display());
            let stored = load_accounts(&mut store, given, dir, policy, iterations).await?;
            // Mounted here rather than in the log task, to say what was lost where the operator
            // reads the agent's log; the log task records it in the SEL.
            let sel = Sel::mount(&mut store, config).await;
            match sel.as_ref().map(Sel::lost) {
                Ok(Some(lost)) => warn!(
                    "SEL: records lost from {} ({}; damaged, deleted or replaced): the \
                     surviving records are kept, RecordIDs continue, and a \"log area \
                     reset/cleared\" record marks the loss",
                    dir.join("sel.flash").display(),
                    match lost {
                        0 => "the region was unreadable and is erased".to_string(),
                        n => format!("at least {n}"),
                    }
                ),
                Ok(None) => {}
                Err(e) => warn!(
                    "SEL: {} does not mount ({e:?}); event logging is off until a start with {RESET}",
                    dir.join("sel.flash").display()
                ),
            }
            let agent = agent.clone();
            tokio::task::spawn_local(async move {
                match sel {
                    Ok(sel) => agent.run_mounted_log(store, sel).await,
                    Err(_) => agent.run_log(store, config, |_| ()).await,
                }
            });
            Ok(stored)
        }
        None => {
            // Leaked once at start-up: the RAM "flash" lives as long as the process.
            let map: &'static mut [u8] = Box::leak(vec![0xFF; map_len].into_boxed_slice());
            let queue: &'static mut [u8] = Box::leak(vec![0xFF; queue_len].into_boxed_slice());
            let store = Store::mount(
                RamFlash::<PAGE>::erased(map),
                RamFlash::<PAGE>::erased(queue),
            )
            .await
            .map_err(|e| format!("RAM store: {e:?}"))?;
            warn!("SEL kept in RAM only; pass --state-dir DIR to keep it across restarts");
            let agent = agent.clone();
            tokio::task::spawn_local(async move { agent.run_log(store, config, |_| ()).await });
            let mut table = AccountTable::new(policy.unwrap_or_default(), iterations);
            if let Some(a) = given {
                table
                    .import(a.name(), Role::Administrator, a.record())
                    .map_err(|e| format!("account {:?}: {e}", a.name()))?;
            }
            Ok(table)
        }
    }
}

/// Most entries looked at when tightening an existing state directory: it holds a handful of
/// files, and a directory full of something else must not stall the start.
const MAX_DIR_ENTRIES: usize = 256;

/// Creates the state directory 0700 (it holds the account's password hash and the TLS key), or
/// tightens an existing one and the regular files in it to 0700/0600, with a warning, when an
/// older wsbmc or a hand-made directory left them readable by others.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::fs::Permissions;
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        warn!(
            "state directory {} was mode {mode:o}; tightening it to 700",
            dir.display()
        );
        std::fs::set_permissions(dir, Permissions::from_mode(0o700))?;
    }
    for entry in std::fs::read_dir(dir)?.take(MAX_DIR_ENTRIES) {
        let entry = entry?;
        // symlink_metadata: a link is left alone rather than followed out of the directory.
        let meta = entry.path().symlink_metadata()?;
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_file() && mode & 0o077 != 0 {
            warn!(
                "{} was mode {mode:o}; tightening it to 600",
                entry.path().display()
            );
            std::fs::set_permissions(entry.path(), Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use wsbmc_accounts::NewPassword;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn state_dir_is_created_private_and_loose_modes_are_tightened() {
        let base = std::env::temp_dir().join(format!("wsbmc-state-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("nested/state");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.join("map.flash");
        std::fs::write(&file, b"x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
        let _ = std::fs::remove_dir_all(&base);
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn mount(dir: &Path) -> Store<FileFlash<PAGE>> {
        let map = FileFlash::<PAGE>::open(dir.join("map.flash"), MAP_PAGES * PAGE).unwrap();
        let queue = FileFlash::<PAGE>::open(dir.join("sel.flash"), 3 * PAGE).unwrap();
        block_on(Store::mount(map, queue)).unwrap()
    }

    /// Issue 15: the single account an older wsbmc stored (slot 0, no version) loads as an
    /// enabled Administrator and is rewritten in the slot format; accounts added later and
    /// the lockout settings survive a restart; accounts once stored and then lost are an
    /// error naming the way back, never "no account".
    #[test]
    fn the_old_account_migrates_and_the_table_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("wsbmc-state-acct-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        private_dir(&dir).unwrap();
        let old = Account::hash("op", b"secret-pw", b"saltsalt", 1000);
        {
            let mut store = mount(&dir);
            let record = StoredAccount {
                name: "op".into(),
                salt: old.salt().to_vec(),
                iterations: old.iterations(),
                key: old.derived_key().to_vec(),
                ha1_md5: None,
                ha1_sha256: None,
                scheme: Some(2),
            };
            block_on(store.set(StoreKey::account(0), &record)).unwrap();
            std::fs::write(dir.join(PROVISIONED), b"").unwrap();
            let table = block_on(load_accounts(&mut store, None, &dir, None, 20_000)).unwrap();
            let (slot, a) = table.get("op").unwrap();
            assert_eq!((slot, a.role()), (0, Role::Administrator));
            assert!(a.password().verify(b"secret-pw"));
            // The dummy for unknown names costs what the migrated record does.
            assert_eq!(table.iterations(), 1000);
        }
        let policy = LockoutPolicy::new(3, 10_000, 20_000).unwrap();
        {
            let mut store = mount(&dir);
            let mut table =
                block_on(load_accounts(&mut store, None, &dir, Some(policy), 20_000)).unwrap();
            assert_eq!(table.policy(), policy);
            let pw = NewPassword::new("viewer", b"viewer-pass", b"salt", 2).unwrap();
            let c = table.create("viewer", Role::ReadOnly, pw).unwrap();
            block_on(write_record(&mut store, &table, c.write)).unwrap();
            for i in 0..3 {
                let o = table.login("viewer", b"wrong-pass", i);
                if let Some(w) = o.write {
                    block_on(write_record(&mut store, &table, w)).unwrap();
                }
            }
        }
        {
            let mut store = mount(&dir);
            let table = block_on(load_accounts(&mut store, None, &dir, None, 20_000)).unwrap();
            assert_eq!(table.policy(), policy, "the settings survive");
            let (_, v) = table.get("viewer").unwrap();
            assert_eq!(v.role(), Role::ReadOnly);
            assert!(v.is_locked(now_ms()), "the lock survives");
            assert_eq!(mode(&dir.join("map.flash")), 0o600);
            for s in 0..2 {
                block_on(store.remove(StoreKey::account(s))).unwrap();
            }
            let e = block_on(load_accounts(&mut store, None, &dir, None, 20_000)).unwrap_err();
            assert!(e.contains("are lost") && e.contains("--reset-state"), "{e}");
        }
        reset(&dir).unwrap();
        assert!(!dir.join(PROVISIONED).exists() && !dir.join("map.flash").exists());
        let mut store = mount(&dir);
        let table = block_on(load_accounts(&mut store, None, &dir, None, 20_000)).unwrap();
        assert!(!table.is_provisioned());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_state_dir_is_locked_while_held() {
        let dir = std::env::temp_dir().join(format!("wsbmc-state-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        private_dir(&dir).unwrap();
        let held = lock_dir(&dir).unwrap();
        assert!(lock_dir(&dir).unwrap_err().contains("held by another"));
        drop(held);
        assert!(lock_dir(&dir).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn queue_pages_grow_with_capacity() {
        assert_eq!(queue_pages(1), 3);
        assert_eq!(queue_pages(512), 6);
        assert_eq!(queue_pages(3000), 26);
    }
    /// Writes `write`'s record of `table` to any store (the power-cut test's flash).
    async fn put<F: embedded_storage_async::nor_flash::MultiwriteNorFlash>(
        store: &mut Store<F>,
        table: &AccountTable,
        write: Write,
    ) -> Result<(), String> {
        let done = match write {
            Write::Slot(s) => match table.slot_record(s, 0) {
                Some(r) => store.set(StoreKey::account(s), &r).await,
                None => store.remove(StoreKey::account(s)).await,
            },
            Write::Remove(s) => store.remove(StoreKey::account(s)).await,
            Write::Settings => store.set(ACCOUNT_SETTINGS, &table.settings_record()).await,
        };
        done.map_err(|e| format!("{e:?}"))
    }

    /// The table as the agent reads it at start: settings and every slot, then `load`.
    async fn read_table<F: embedded_storage_async::nor_flash::MultiwriteNorFlash>(
        store: &mut Store<F>,
    ) -> AccountTable {
        let settings = store
            .get::<StoredSettings>(ACCOUNT_SETTINGS)
            .await
            .expect("settings readable");
        let mut slots = Vec::new();
        for s in 0..MAX_ACCOUNTS as u8 {
            if let Some(r) = store
                .get::<StoredSlot>(StoreKey::account(s))
                .await
                .expect("slot readable")
            {
                slots.push((s, r));
            }
        }
        AccountTable::load(settings, slots, 0, LockoutPolicy::default(), 2)
            .expect("records load")
            .table
    }

    /// Issue 15: a power cut at every write or erase of an account change leaves the old or
    /// the new account, never a store that does not mount or a table that does not load. The
    /// changes are the provisioning of the first Administrator (settings with the spent
    /// secret, then the slot, as wsman_accounts.rs queues them) and a password change; the
    /// cut is store/src/fault.rs's PowerRail (a NOR write or erase torn part way).
    #[test]
    fn a_power_cut_during_an_account_change_leaves_the_old_or_the_new_account() {
        use wsbmc_store::{FaultFlash, PowerRail};
        const SEED: &[u8] = b"a device seed of thirty-two byte";
        let pw = |name: &str, p: &str| NewPassword::new(name, p.as_bytes(), b"salt", 2).unwrap();
        for change in ["provision", "passwd"] {
            let mut cuts = 0;
            for cut in 0..10_000u32 {
                let mut m = vec![0xFF; MAP_PAGES * PAGE];
                let mut q = vec![0xFF; 3 * PAGE];
                // Before: provisioning starts from an empty store, the password change from
                // a provisioned one.
                let mut table = AccountTable::new(LockoutPolicy::default(), 2);
                let old_secret = table.provisioning_secret(SEED).unwrap();
                if change == "passwd" {
                    let p = table
                        .provision_checked("first", pw("first", "old-pass-1"))
                        .unwrap();
                    let steady = PowerRail::steady();
                    block_on(async {
                        let mut s = Store::mount(
                            FaultFlash::<PAGE>::new(&mut m, &steady),
                            FaultFlash::<PAGE>::new(&mut q, &steady),
                        )
                        .await
                        .unwrap();
                        for w in p.writes {
                            put(&mut s, &table, w).await.unwrap();
                        }
                    });
                }
                // The change, with the power cut after `cut` operations.
                let rail = PowerRail::cut_after(cut, u64::from(cut));
                let writes: Vec<Write> = match change {
                    "provision" => table
                        .provision_checked("first", pw("first", "new-pass-1"))
                        .unwrap()
                        .writes
                        .to_vec(),
                    _ => vec![
                        table
                            .set_password("first", pw("first", "new-pass-1"))
                            .unwrap()
                            .write,
                    ],
                };
                block_on(async {
                    let Ok(mut s) = Store::mount(
                        FaultFlash::<PAGE>::new(&mut m, &rail),
                        FaultFlash::<PAGE>::new(&mut q, &rail),
                    )
                    .await
                    else {
                        return;
                    };
                    for w in writes {
                        if put(&mut s, &table, w).await.is_err() {
                            return;
                        }
                    }
                });
                let finished = !rail.is_lost();
                rail.restore();
                // After: the store mounts, the table loads, and it is the old or the new.
                let steady = PowerRail::steady();
                let mut back = block_on(async {
                    let mut s = Store::mount(
                        FaultFlash::<PAGE>::new(&mut m, &steady),
                        FaultFlash::<PAGE>::new(&mut q, &steady),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{change}, cut {cut}: {e:?}"));
                    read_table(&mut s).await
                });
                match change {
                    "provision" => {
                        if back.is_provisioned() {
                            assert!(back.login("first", b"new-pass-1", 0).result.is_ok());
                            // The slot is written after the spent secret: never an account
                            // whose secret still works.
                            assert!(
                                !back
                                    .provisioning_secret(SEED)
                                    .unwrap()
                                    .matches(&old_secret.to_string()),
                                "cut {cut}"
                            );
                        } else {
                            assert!(!finished, "cut {cut}: provisioning finished but lost");
                            assert_eq!(back.list().count(), 0);
                        }
                    }
                    _ => {
                        let new = back.login("first", b"new-pass-1", 0).result.is_ok();
                        let old = back.login("first", b"old-pass-1", 0).result.is_ok();
                        assert!(new ^ old, "cut {cut}: new {new}, old {old}");
                        assert!(new || !finished, "cut {cut}: finished but old");
                    }
                }
                if finished {
                    break;
                }
                cuts += 1;
            }
            assert!(cuts > 0, "{change}: no operation was cut");
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    /// Threshold overrides are stored under a 32-bit tag of the sensor's board key
    /// (`StoreKey::sensor`): two sensors of one board must never share one, or a console's
    /// override of one would apply to both. Checked for every board shipped.
    #[test]
    fn every_shipped_board_gives_its_sensors_distinct_store_keys() {
        let boards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards");
        let mut checked = 0;
        for entry in std::fs::read_dir(&boards).expect("boards/") {
            let path = entry.expect("entry").path().join("board.toml");
            if !path.exists() {
                continue;
            }
            let board = wsbmc_board::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let mut seen = std::collections::HashMap::new();
            for s in &board.sensors {
                if let Some(other) = seen.insert(StoreKey::sensor(&s.key), &s.key) {
                    panic!(
                        "{}: {} and {other} share a store key",
                        path.display(),
                        s.key
                    );
                }
            }
            checked += 1;
        }
        assert!(
            checked >= 4,
            "only {checked} boards found under {}",
            boards.display()
        );
    }
}
