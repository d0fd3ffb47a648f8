//! The unprovisioned start of `--hal linux` (issue 15): no account, no default password.
//!
//! A BMC image whose state directory holds no account starts *unprovisioned*. It serves
//! Identify and one way to make the first Administrator: a `CreateAccount` on
//! `CIM_AccountManagementService` sent with HTTP Basic user `provision` and a one-time secret
//! that only its serial console shows (`wsbmc_accounts::provision` has the rules; http checks
//! the secret, wsman refuses everything else with `wsman:AccessDenied`).
//!
//! The secret is derived from a **device seed**: 32 bytes from the kernel's RNG
//! (`/dev/urandom`), made once at the first unprovisioned start and kept as
//! `provisioning.seed` (mode 0600) in the state directory, beside the store. So the secret is
//! the same across restarts until it is used (an operator can read it off the console at any
//! boot), differs per device (the seed is random, never a MAC address or serial number), and
//! moves on once used (the table's provisioning counter). `--reset-state` removes the seed with
//! the store: the next secret is new. Without `--state-dir` the seed lives in RAM and changes
//! every start, as the accounts would not survive one either.
//!
//! The secret is written to stderr (the serial console on the AST2600 image, where /init runs
//! the agent), never to the WS-Man responses, the log macros or the command line.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use wsbmc_accounts::ProvisioningSecret;
use wsbmc_accounts::provision::MIN_SEED_LEN;

/// The seed file in the state directory.
pub const SEED_FILE: &str = "provisioning.seed";

/// Bytes of a new seed: 256 bits.
const SEED_LEN: usize = 32;

/// Longest seed file read: a seed written at manufacture may be longer than ours, not huge.
const MAX_SEED_LEN: u64 = 4096;

/// The device seed: the state directory's (made on first use), or a fresh one in RAM.
pub fn seed(state_dir: Option<&Path>) -> Result<Vec<u8>, String> {
    let Some(dir) = state_dir else {
        return random_seed();
    };
    let path = dir.join(SEED_FILE);
    match std::fs::File::open(&path) {
        Ok(f) => {
            let mut seed = Vec::new();
            f.take(MAX_SEED_LEN)
                .read_to_end(&mut seed)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if seed.len() < MIN_SEED_LEN {
                return Err(format!(
                    "{}: {} bytes, a device seed needs at least {MIN_SEED_LEN}; remove it to \
                     make a new one (the provisioning secret then changes)",
                    path.display(),
                    seed.len()
                ));
            }
            Ok(seed)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let seed = random_seed()?;
            write_new(dir, &seed).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(seed)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// 32 bytes from the kernel's RNG; no fallback: a guessable seed would be a default password.
fn random_seed() -> Result<Vec<u8>, String> {
    let mut seed = vec![0u8; SEED_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("no device seed: /dev/urandom: {e}"))?;
    Ok(seed)
}

/// Writes the seed whole or not at all: a temporary file (0600), synced, renamed into place,
/// and the directory synced, so a power cut leaves no seed (a new one is made) rather than a
/// torn one.
fn write_new(dir: &Path, seed: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{SEED_FILE}.new"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(seed)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(SEED_FILE))?;
    std::fs::File::open(dir)?.sync_all()
}

/// What the console shows while the device is unprovisioned.
/// `bmc_name` is the BMC's `CIM_ComputerSystem` Name, which CreateAccount's `System` parameter
/// and the service's `SystemName` key must repeat: a console cannot enumerate it before the
/// first account exists, so the console shows it with the secret.
pub fn announce(secret: &ProvisioningSecret, bmc_name: &str) {
    // Straight to stderr, not through `log`: RUST_LOG must not be able to hide it, and the
    // log macros' other sinks must never carry it.
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "wsbmc: UNPROVISIONED: no account exists. Create the first Administrator with \
         CreateAccount on CIM_AccountManagementService, HTTP Basic user \"provision\" and \
         the one-time secret below as its password (README: \"Provisioning\"); the BMC's \
         CIM_ComputerSystem Name is {bmc_name:?}.\n\
         wsbmc: provisioning secret: {secret}"
    );
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_seed_is_made_once_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("wsbmc-seed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let first = seed(Some(&dir)).unwrap();
        assert_eq!(first.len(), SEED_LEN);
        let meta = std::fs::metadata(dir.join(SEED_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(seed(Some(&dir)).unwrap(), first);
        assert!(!dir.join(format!("{SEED_FILE}.new")).exists());
        // Two devices (directories, or RAM) differ.
        assert_ne!(seed(None).unwrap(), first);
        // A short seed is refused, naming the file and the way out.
        std::fs::write(dir.join(SEED_FILE), b"short").unwrap();
        let e = seed(Some(&dir)).unwrap_err();
        assert!(e.contains(SEED_FILE) && e.contains("remove it"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
