//! The account table as the CIM model manages it over WS-Man (DSP1034/DSP1039, issue 15).
//!
//! One table, one home: this is the same `Rc<RefCell<AccountTable>>` http authenticates
//! against, so an account created, changed, disabled or deleted over WS-Man is what the next
//! login is checked against, at once. http's verification cache needs no call from here: each
//! entry remembers the table's generation, and every account change bumps it, so a cached
//! Basic credential of a changed account is verified again (and refused if it no longer
//! holds).
//!
//! A change goes where the CLI's and the login hook's go: its record to the store through the
//! log task ([`state::queue_record`]), its audit to the SEL as a Session Audit event (the IPMI
//! record has room for the user ID, slot + 1, only) and to the agent's log with the user name
//! and who made it.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use log::{info, warn};
use wsbmc_accounts::{
    AccountError, AccountTable, Change, NewPassword, PROVISIONING_USER, PasswordError, Privilege,
    ProvisionError, Role,
};
use wsbmc_agent::Agent;
use wsbmc_cim::NotPersisted;

use crate::state;

/// The agent's [`wsbmc_cim::Accounts`]: the shared table, persisted and audited as the rest of
/// the agent does.
pub struct AgentAccounts {
    /// Weak: the agent owns this (`Agent::set_accounts`) and only calls it while serving a
    /// request, so the agent is always there when it is called.
    agent: Weak<Agent>,
    table: Rc<RefCell<AccountTable>>,
    /// PBKDF2 rounds for a new password when the table is busy (it never is when the model
    /// asks; the table's own count wins).
    iterations: u32,
    /// The simulated board's development default is in the table, and it lives in RAM only:
    /// nothing is written to the store then (a stored account list without the default
    /// Administrator could leave the next start without one). Changes last until the agent
    /// stops, with a warning.
    ram_only: bool,
    /// Salt source: the agent's entropy.
    random: fn() -> u64,
}

impl AgentAccounts {
    pub fn new(
        agent: &Rc<Agent>,
        table: Rc<RefCell<AccountTable>>,
        iterations: u32,
        ram_only: bool,
        random: fn() -> u64,
    ) -> Self {
        Self {
            agent: Rc::downgrade(agent),
            table,
            iterations,
            ram_only,
            random,
        }
    }

    /// Persists and audits a change made by `by` through `via` (WS-Man, or the account
    /// socket of `wsbmc user` on a running agent): the SEL's Session Audit record, the
    /// agent's log with the names, the record through the log task.
    pub fn commit_by(&self, change: Change, by: &str, via: &str) {
        let Some(agent) = self.agent.upgrade() else {
            return;
        };
        // At warn, as the login hook logs failed logins: an audit line an operator keeps.
        warn!(
            "account audit: {:?} for user {:?} by {by:?} over {via}",
            change.audit.kind, change.audit.user
        );
        let e = wsbmc_accounts::sel_event(&change.audit);
        let names = wsbmc_cim::AuditNames {
            user: change.audit.logged_name().map(String::from),
            by: Some(by.to_string()),
        };
        if !agent.log_session_audit(e.sensor_type, e.event_type, e.deassertion, e.data, names) {
            warn!("the SEL record of an account change was dropped: the log queue is full");
        }
        if self.ram_only {
            warn!(
                "account change kept in RAM only: the development default account is in use \
                 (start with --user/--password and --state-dir to keep accounts)"
            );
            return;
        }
        let queued = match self.table.try_borrow() {
            Ok(table) => state::queue_record(&agent, &table, change.write),
            Err(_) => false,
        };
        if !queued {
            warn!("an account change could not be queued for the store: it lasts until a restart");
        }
    }

    fn salt(&self) -> [u8; 16] {
        let mut salt = [0u8; 16];
        salt[..8].copy_from_slice(&(self.random)().to_le_bytes());
        salt[8..].copy_from_slice(&(self.random)().to_le_bytes());
        salt
    }
}

impl wsbmc_cim::Accounts for AgentAccounts {
    fn table(&self) -> &RefCell<AccountTable> {
        &self.table
    }

    /// The policy check and the hash, with the agent's salt, round count and Digest HA1s, as
    /// `wsbmc user` does. This runs on the request path, on the executor every connection
    /// shares: about 2 ms of PBKDF2 at 20,000 rounds, for a password change or a new account
    /// only, which only an authenticated caller holding ConfigureUsers (an Administrator) gets
    /// to ask for (wsman authorizes before the model sees the request). Logins, which anybody
    /// can send, keep going to the password worker (kdf.rs).
    fn hash_password(&self, name: &str, password: &[u8]) -> Result<NewPassword, PasswordError> {
        let iterations = self
            .table
            .try_borrow()
            .map_or(self.iterations, |t| t.iterations());
        wsbmc_http::new_password(name, password, &self.salt(), iterations)
    }

    /// No while the store is not mounted, its last operation failed or the log task's queue
    /// is full: a change the console was told succeeded must survive a restart.
    fn can_persist(&self) -> Result<(), NotPersisted> {
        if self.ram_only {
            return Ok(());
        }
        match self.agent.upgrade() {
            Some(agent) if agent.store_ready() => Ok(()),
            _ => {
                warn!("an account change was refused: the store cannot keep it");
                Err(NotPersisted)
            }
        }
    }

    /// The provisioning path's caller (http proved its one-time secret, wsman let only
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
        // The spent counter first, then the slot (`commit`): a power cut between the two
        // leaves an unprovisioned device with a fresh secret, never an account whose secret
        // still works. The marker that says accounts were stored here is made at the next
        // start, once the slot is surely on flash (state::load_accounts).
        if !self.ram_only
            && !self
                .agent
                .upgrade()
                .is_some_and(|agent| state::queue_record(&agent, table, p.writes[0]))
        {
            warn!("the spent provisioning secret could not be queued for the store");
        }
        info!("provisioned: {name:?} is the first Administrator; the provisioning path is closed");
        let [_, write] = p.writes;
        Ok(Change {
            write,
            audit: p.audit,
        })
    }

    fn commit(&self, change: Change) {
        self.commit_by(change, &self.caller(), "WS-Man");
    }

    fn now_ms(&self) -> u64 {
        state::now_ms()
    }

    /// The authenticated user of the request being served.
    fn caller(&self) -> String {
        self.agent
            .upgrade()
            .and_then(|a| a.request_caller())
            .map_or_else(|| String::from("wsman"), |(name, _)| name)
    }

    /// Whether the request's authenticated role holds ConfigureUsers; no identity, no accounts.
    fn caller_sees_accounts(&self) -> bool {
        self.agent
            .upgrade()
            .and_then(|a| a.request_caller())
            .is_some_and(|(_, role)| role.has(Privilege::ConfigureUsers))
    }
}
