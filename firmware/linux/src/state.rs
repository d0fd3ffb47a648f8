//! Where the agent keeps what must survive a restart: the SEL and console-set thresholds.
//!
//! With `--state-dir` the store lives in two files of NOR-flash semantics (pwrite + fdatasync per
//! write, so an acknowledged record is on disk); without it, in RAM for the life of the process,
//! which is what a development run on the simulated board wants.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::rc::Rc;

use log::{info, warn};
use minicbor::{Decode, Encode};
use wsbmc_agent::Agent;
use wsbmc_board::{Board, SelOverflow};
use wsbmc_http::{Account, DERIVED_KEY_LEN, DigestKeys};
use wsbmc_sel::{BmcSensors, OverflowPolicy, Sel, SelConfig};
use wsbmc_store::{FileFlash, RamFlash, Store, StoreKey};

/// Flash page size of the store. 4 KiB is the erase block of the SPI NOR parts BMCs boot from.
const PAGE: usize = 4096;

/// Pages for the key-value map: thresholds of every sensor and a few settings fit many times
/// over, and the spare pages let the map rotate without ever erasing live data.
const MAP_PAGES: usize = 8;

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

/// The console account as stored: the PBKDF2 hash for Basic and the HA1s for Digest (realm
/// WSMAN, MD5 and SHA-256), never the password. Records written before Digest existed have no
/// HA1s; such an account works with Basic only until the password is given again.
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
    /// How `key` was derived: 2 for PBKDF2 keyed with SHA-256 of the password (issue 20,
    /// finding 4); absent in records written before, whose key is PBKDF2 of the raw password.
    #[n(6)]
    scheme: Option<u8>,
}

/// The `scheme` of records written now.
const SCHEME_PREHASHED: u8 = 2;

/// Longest user name stored; the store's values are small (240 bytes with everything else).
const MAX_STORED_NAME: usize = 64;

/// Beside the store, made when an account is stored in it: so a start that finds no account
/// in the map can tell a device never provisioned (fine) from one whose account was lost (the
/// map damaged, deleted or replaced), which must not fall back to a default password.
const PROVISIONED: &str = "account.provisioned";

/// How to start over, in the words of the errors: the one way out that needs no tools.
const RESET: &str = "--reset-state --user NAME --password PASSWORD (this erases the SEL, the \
     stored thresholds and the account; move the directory aside first to keep a copy)";

/// Stores `given` as the account, or reads the stored one back when none is given. `Err` when
/// an account was stored before and cannot be read back now.
async fn account(
    store: &mut Store<FileFlash<PAGE>>,
    given: Option<&Account>,
    dir: &Path,
) -> Result<Option<Account>, String> {
    let key = StoreKey::account(0);
    let marker = dir.join(PROVISIONED);
    let lost = |why: &str| {
        format!(
            "the console account stored in {} is lost ({why}); refusing to start with none \
             or a default one: start with --user NAME --password PASSWORD (or \
             WSBMC_USER/WSBMC_PASSWORD) to store it again, or start over with {RESET}",
            dir.display()
        )
    };
    Ok(match given {
        Some(a) if a.name().len() <= MAX_STORED_NAME => {
            let stored = StoredAccount {
                name: a.name().to_string(),
                salt: a.salt().to_vec(),
                iterations: a.iterations(),
                key: a.derived_key().to_vec(),
                ha1_md5: a.digest_keys().map(|k| k.md5.to_vec()),
                ha1_sha256: a.digest_keys().map(|k| k.sha256.to_vec()),
                scheme: (!a.is_legacy()).then_some(SCHEME_PREHASHED),
            };
            match store.set(key, &stored).await {
                Ok(()) => {
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
                Err(e) => warn!("could not store the account: {e:?}"),
            }
            None
        }
        Some(_) => {
            warn!("user name longer than {MAX_STORED_NAME} bytes: the account is not stored");
            None
        }
        None => match store.get::<StoredAccount>(key).await {
            Ok(Some(s)) => {
                let dk: [u8; DERIVED_KEY_LEN] = s
                    .key
                    .as_slice()
                    .try_into()
                    .map_err(|_| lost("its key has the wrong length"))?;
                let account = match s.scheme {
                    Some(SCHEME_PREHASHED) => {
                        Account::from_hash(&s.name, &s.salt, s.iterations, dk)
                    }
                    // A scheme this build does not know is an account it cannot check: refused
                    // like a lost one, never replaced by a default password.
                    Some(_) => return Err(lost("its password scheme is unknown to this build")),
                    None => {
                        // Deliberately kept working rather than dropped: it is the only account.
                        // Its password followed by NULs is refused; a long password's SHA-256
                        // cannot be, hence the warning.
                        warn!(
                            "the stored account was hashed by an older wsbmc (PBKDF2 of the raw \
                             password); give --user/--password once to re-hash it"
                        );
                        Account::from_legacy_hash(&s.name, &s.salt, s.iterations, dk)
                    }
                };
                let md5 = s.ha1_md5.as_deref().and_then(|k| k.try_into().ok());
                let sha256 = s.ha1_sha256.as_deref().and_then(|k| k.try_into().ok());
                Some(match (md5, sha256) {
                    (Some(md5), Some(sha256)) => account.with_digest(DigestKeys { md5, sha256 }),
                    _ => {
                        warn!(
                            "the stored account has no Digest keys (stored by an older wsbmc): \
                             Basic only until --user/--password are given again"
                        );
                        account
                    }
                })
            }
            Ok(None) if marker.exists() => {
                return Err(lost("map.flash no longer holds it"));
            }
            Ok(None) => None,
            Err(e) => return Err(lost(&format!("unreadable: {e}"))),
        },
    })
}

/// Removes the store's files and the provisioning marker, for `--reset-state`.
fn reset(dir: &Path) -> Result<(), String> {
    for name in ["map.flash", "sel.flash", PROVISIONED] {
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
) -> Result<Option<Account>, String> {
    let config = config(board);
    let queue_len = queue_pages(config.capacity) * PAGE;
    let map_len = MAP_PAGES * PAGE;
    match state_dir {
        Some(dir) => {
            private_dir(dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
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
            let stored = account(&mut store, given, dir).await?;
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
            Ok(None)
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

    /// Issue #20 finding 6: an account stored once and then lost from the map (damage, or the
    /// map replaced) is an error naming the way back, never "no account" (which would let the
    /// simulated board fall back to its development password); a device never provisioned
    /// has no account, silently; --reset-state forgets the account along with the store.
    #[test]
    fn a_lost_account_is_refused_with_the_way_back() {
        let dir = std::env::temp_dir().join(format!("wsbmc-state-acct-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        private_dir(&dir).unwrap();
        let given = Account::hash("op", b"secret-pw", b"saltsalt", 1000);
        {
            let mut store = mount(&dir);
            assert_eq!(block_on(account(&mut store, None, &dir)).unwrap(), None);
            assert_eq!(
                block_on(account(&mut store, Some(&given), &dir)).unwrap(),
                None
            );
        }
        assert_eq!(mode(&dir.join(PROVISIONED)), 0o600);
        {
            let mut store = mount(&dir);
            let back = block_on(account(&mut store, None, &dir)).unwrap();
            assert_eq!(back.map(|a| a.name().to_string()).as_deref(), Some("op"));
            block_on(store.remove(StoreKey::account(0))).unwrap();
            let e = block_on(account(&mut store, None, &dir)).unwrap_err();
            assert!(e.contains("is lost") && e.contains("--reset-state"), "{e}");
            assert!(e.contains("--user NAME --password PASSWORD"), "{e}");
            // An account given again is stored again.
            block_on(account(&mut store, Some(&given), &dir)).unwrap();
            assert!(block_on(account(&mut store, None, &dir)).unwrap().is_some());
        }
        reset(&dir).unwrap();
        assert!(!dir.join(PROVISIONED).exists() && !dir.join("map.flash").exists());
        let mut store = mount(&dir);
        assert_eq!(block_on(account(&mut store, None, &dir)).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn queue_pages_grow_with_capacity() {
        assert_eq!(queue_pages(1), 3);
        assert_eq!(queue_pages(512), 6);
        assert_eq!(queue_pages(3000), 26);
    }
}

#[cfg(test)]
mod account_tests {
    use super::*;

    fn with_store(check: impl AsyncFnOnce(&mut Store<FileFlash<PAGE>>, &Path)) {
        let dir = std::env::temp_dir().join(format!(
            "wsbmc-state-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let open = |name: &str, len: usize| {
                FileFlash::<PAGE>::open(dir.join(name), len).expect("flash file")
            };
            let mut store = Store::mount(
                open("map.flash", MAP_PAGES * PAGE),
                open("sel.flash", 3 * PAGE),
            )
            .await
            .expect("mount");
            check(&mut store, &dir).await;
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 20, finding 4: new records say how their key was derived; records written before
    /// (no scheme) load as legacy accounts, which refuse the NUL-padded password.
    #[test]
    fn account_records_carry_their_scheme_and_old_ones_load_as_legacy() {
        with_store(async |store, dir| {
            let given = Account::hash("admin", b"secret", b"salt", 2);
            assert!(
                account(store, Some(&given), dir)
                    .await
                    .expect("stored")
                    .is_none()
            );
            let loaded = account(store, None, dir)
                .await
                .expect("stored")
                .expect("an account");
            assert!(!loaded.is_legacy());
            assert_eq!(loaded.derived_key(), given.derived_key());

            // A record as wsbmc wrote it before: no scheme (its key was PBKDF2 of the raw
            // password; any 32 bytes do here).
            let record = StoredAccount {
                name: "old".into(),
                salt: b"salt".to_vec(),
                iterations: 2,
                key: vec![7; DERIVED_KEY_LEN],
                ha1_md5: None,
                ha1_sha256: None,
                scheme: None,
            };
            store
                .set(StoreKey::account(0), &record)
                .await
                .expect("write an old record");
            let loaded = account(store, None, dir)
                .await
                .expect("old record loads")
                .expect("an account");
            assert!(loaded.is_legacy());
            assert_eq!(loaded.name(), "old");

            // A scheme this build does not know is refused like a lost account, never
            // replaced by the development password.
            let record = StoredAccount {
                scheme: Some(9),
                ..record
            };
            store
                .set(StoreKey::account(0), &record)
                .await
                .expect("write a future record");
            let e = account(store, None, dir).await.expect_err("unknown scheme");
            assert!(e.contains("scheme") && e.contains("--reset-state"), "{e}");
        });
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
