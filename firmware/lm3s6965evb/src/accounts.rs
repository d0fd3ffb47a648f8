//! The image's accounts (issue 15, feature `accounts`): one `wsbmc_accounts::AccountTable` of
//! up to 16 accounts with roles, shared by http (the login: per-account lockout, per-source
//! back-off, the dummy verify of unknown names) and the agent (the DSP1034/DSP1039 classes:
//! CIM_Account instances, CreateAccount, Put and Delete over WS-Man, authorized per action by
//! wsman's `authorize`). An account changed over WS-Man is what the next login is checked
//! against, at once: http's verification cache entries carry the table's generation.
//!
//! **Unprovisioned start.** The image has no build-time account and no default password (the
//! issue's SB-327/PSTI rule). At boot the table is empty, and the console (defmt over
//! semihosting, this image's only log) shows a one-time secret: the HMAC of the device seed
//! (`wsbmc_accounts::provision`). HTTP Basic user `provision` with that secret may send
//! Identify and the CreateAccount that makes the first Administrator, nothing else; after it
//! the name is an unknown user like any other.
//!
//! **The device seed** is the build's 32 random bytes (build.rs, `PROVISIONING_SEED`) followed
//! by the boot seed the image mixes for its network stack (`mix_seed`). The build part carries
//! the secrecy; the boot part makes a boot's secret differ from the last one's only as far as
//! boot timing differs, which on QEMU it often does not (two boots of one image may show the
//! same secret). As the table is blank at every boot, a secret spent before a reset provisions
//! the device again after it: whoever saw the console then can, as anybody at the console
//! could anyway. That is enough for QEMU, but not for a real board: every device flashed with
//! one image would share the build part, and the boot part is timing, not entropy. A real board takes a per-device seed written at
//! manufacture (a protected flash page or OTP), or draws one from a hardware RNG at its first
//! boot and keeps it in flash, as the Linux image keeps `provisioning.seed` in its state
//! directory; and it keeps the table's provisioning counter in the store, so a spent secret
//! stays spent across a reset.
//!
//! **What survives a reset: nothing.** This board's store is RAM, blank at every boot (main.rs,
//! `log_task`), so the table lives in RAM only and is not written to the store: writing its
//! records there would cost flash (wsbmc-accounts' `persist`, the agent's `accounts-store`)
//! for records no boot could read back. After a reset the image is unprovisioned again, with a
//! new secret. The audit events (failed logins, locks, account changes) go to the SEL as
//! Session Audit records with their user names, which also last until a reset.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use defmt::{info, warn};
use embassy_time::Instant;
use wsbmc_accounts::{
    AccountError, AccountTable, Change, LockoutPolicy, NewPassword, PROVISIONING_USER,
    PasswordError, Privilege, ProvisionError, Role,
};
use wsbmc_agent::Agent;
use wsbmc_http::Auth;

use crate::board;

/// The image's [`wsbmc_cim::Accounts`]: the table http authenticates against, audited to the
/// SEL.
struct ImageAccounts {
    agent: &'static Agent,
    table: Rc<RefCell<AccountTable>>,
    /// Salt source for new passwords: splitmix64 over the boot seed (the MCU has no RNG). A
    /// salt only needs to differ between records, which a counter through a bijection gives.
    salt_state: Cell<u64>,
}

/// Sets up the empty table `auth` made, hands it to the agent, and opens the provisioning path
/// with its secret on the console. `seed` is the boot seed (`mix_seed`).
///
/// Out of line, like `start_agent`: the table is ~2.4 KiB by value (16 slots), and inlined
/// into `boot` its temporaries would deepen the boot frame, the stack's deepest point.
/// The table is `auth`'s own, reset in place: a second one, handed over with `set_table`,
/// would be a second temporary here and leave a hole of its size early in the heap.
#[inline(never)]
pub fn start(auth: &mut Auth, agent: &'static Agent, seed: u64) {
    let table = auth.table().clone();
    // Auth::new's table counts a single PBKDF2 round; unknown names must cost what a real
    // login does (the dummy verify), so the table takes the image's round count.
    *table.borrow_mut() = AccountTable::new(lockout_policy(), board::PBKDF2_ITERATIONS);
    let mut device_seed = Vec::with_capacity(board::PROVISIONING_SEED.len() + 8);
    device_seed.extend_from_slice(&board::PROVISIONING_SEED);
    device_seed.extend_from_slice(&seed.to_le_bytes());
    match table.borrow().provisioning_secret(&device_seed) {
        Ok(secret) => {
            let secret = secret.text();
            info!(
                "UNPROVISIONED: no account exists. Create the first Administrator with \
                 CreateAccount on CIM_AccountManagementService, HTTP Basic user \"provision\" \
                 and the one-time secret below as its password; the BMC's CIM_ComputerSystem \
                 Name is \"{=str}:BMC\".",
                board::SYSTEM_NAME
            );
            info!("provisioning secret: {=str}", secret.as_str());
        }
        // The seed is 40 bytes, over the minimum: not reached, and then nobody can log in.
        Err(_) => warn!("no provisioning secret: the device cannot be provisioned"),
    }
    auth.set_provisioning_seed(device_seed);
    auth.on_login(Box::new(move |outcome| {
        for event in &outcome.audit {
            audit(agent, event, None);
        }
    }));
    let accounts = ImageAccounts {
        agent,
        table,
        salt_state: Cell::new(seed ^ 0x7361_6c74_7361_6c74), // "saltsalt"
    };
    if !agent.set_accounts(Box::new(accounts)) {
        warn!("accounts: the agent had a table already");
    }
}

/// The board file's `[accounts]` lockout rule, the default (5 failures in 5 minutes lock for
/// 5 minutes) for what it leaves out. The loader checked the ranges the rule accepts.
fn lockout_policy() -> LockoutPolicy {
    let d = LockoutPolicy::default();
    // A board without `[accounts]` (this one) links no rule checking: the constants fold.
    if board::LOCKOUT_THRESHOLD.is_none()
        && board::LOCKOUT_WINDOW_S.is_none()
        && board::LOCKOUT_DURATION_S.is_none()
    {
        return d;
    }
    LockoutPolicy::new(
        board::LOCKOUT_THRESHOLD.unwrap_or(d.threshold()),
        board::LOCKOUT_WINDOW_S.map_or(d.window_ms(), |s| u64::from(s) * 1000),
        board::LOCKOUT_DURATION_S.map_or(d.duration_ms(), |s| u64::from(s) * 1000),
    )
    .unwrap_or(d)
}

/// A Session Audit record in the SEL, with the user name (and who made a change) beside it.
fn audit(agent: &Agent, event: &wsbmc_accounts::AuditEvent, by: Option<String>) {
    let e = wsbmc_accounts::sel_event(event);
    let names = wsbmc_cim::AuditNames {
        user: event.logged_name().map(String::from),
        by,
    };
    if !agent.log_session_audit(e.sensor_type, e.event_type, e.deassertion, e.data, names) {
        warn!("accounts: an audit record was dropped: the log queue is full");
    }
}

impl ImageAccounts {
    fn salt(&self) -> [u8; 16] {
        let mut salt = [0u8; 16];
        let mut state = self.salt_state.get();
        for half in salt.chunks_mut(8) {
            half.copy_from_slice(&wsbmc_wsman::rng::splitmix(&mut state).to_le_bytes());
        }
        self.salt_state.set(state);
        salt
    }
}

impl wsbmc_cim::Accounts for ImageAccounts {
    fn table(&self) -> &RefCell<AccountTable> {
        &self.table
    }

    /// The policy check and the hash, on the request path: only an authenticated
    /// Administrator (ConfigureUsers, which wsman checks first) gets here, for a new account
    /// or a password change, so the PBKDF2 rounds block the executor for no anonymous caller.
    fn hash_password(&self, name: &str, password: &[u8]) -> Result<NewPassword, PasswordError> {
        let iterations = self
            .table
            .try_borrow()
            .map_or(board::PBKDF2_ITERATIONS, |t| t.iterations());
        wsbmc_http::new_password(name, password, &self.salt(), iterations)
    }

    /// The provisioning path's caller (http proved the one-time secret, wsman let only
    /// CreateAccount through) makes the first Administrator, whatever role the template
    /// names, and spends the secret; every other caller creates as asked.
    fn create(
        &self,
        table: &mut AccountTable,
        name: &str,
        role: Role,
        password: NewPassword,
    ) -> Result<Change, AccountError> {
        if !self.caller().eq_ignore_ascii_case(PROVISIONING_USER) {
            return table.create(name, role, password);
        }
        let p = table
            .provision_checked(name, password)
            .map_err(ProvisionError::into_account_error)?;
        info!("provisioned: the first Administrator exists; the provisioning path is closed");
        let [_, write] = p.writes;
        Ok(Change {
            write,
            audit: p.audit,
        })
    }

    /// Audited to the SEL; nothing to persist (the store is RAM, see the module's comment).
    fn commit(&self, change: Change) {
        audit(self.agent, &change.audit, Some(self.caller()));
    }

    fn now_ms(&self) -> u64 {
        Instant::now().as_millis()
    }

    /// The authenticated user of the request being served.
    fn caller(&self) -> String {
        self.agent
            .request_caller()
            .map_or_else(|| String::from("wsman"), |(name, _)| name)
    }

    /// Whether the request's authenticated role holds ConfigureUsers; no identity, no accounts.
    fn caller_sees_accounts(&self) -> bool {
        self.agent
            .request_caller()
            .is_some_and(|(_, role)| role.has(Privilege::ConfigureUsers))
    }
}
