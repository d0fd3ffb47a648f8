//! The account table: up to 16 accounts, the rules every change must keep, and login.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use heapless::Vec as HVec;

use crate::audit::{AuditEvent, AuditKind};
use crate::lockout::{LockState, LockoutPolicy, Transition};
use crate::password::{KEY_LEN, PasswordRecord, derive};
use crate::role::Role;

/// Accounts a table holds: iDRAC's 16 user slots, which is also IPMI's usual user count, so a
/// slot is an IPMI user ID (slot + 1) and a store key.
pub const MAX_ACCOUNTS: usize = 16;

/// Longest name a new account may have: IPMI's 16-byte user name field (OpenBMC refuses
/// longer for the same reason; iDRAC's limit is 16 too).
pub const MAX_NAME_LEN: usize = 16;

/// Longest name a stored account may have: the single account before issue 15 could be
/// 64 bytes (firmware/linux `MAX_STORED_NAME`), and a migrated device must still log in.
pub const MAX_STORED_NAME_LEN: usize = 64;

/// Shortest password: OpenBMC's default `MinPasswordLength` and NIST SP 800-63B's minimum.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Longest password: bounds the work per login and fits IPMI 2.0's 20-byte limit many times
/// over; 64 bytes is what passphrase managers produce by default at most.
pub const MAX_PASSWORD_LEN: usize = 64;

/// The name the provisioning path is reached with (see [`crate::provision`]); no account may
/// take it.
pub const PROVISIONING_USER: &str = "provision";

/// Why a name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// Over [`MAX_NAME_LEN`] bytes.
    TooLong,
    /// Names start with an ASCII letter (OpenBMC's rule: a leading digit or sign confuses
    /// shells and tools that take a name or an ID).
    FirstNotLetter,
    /// Only ASCII letters, digits, `_`, `-` and `.`: what iDRAC and OpenBMC both accept, safe
    /// in a Basic header (no `:`), in XML without escaping, and in the IPMI user name field.
    BadCharacter,
    /// [`PROVISIONING_USER`].
    Reserved,
}

impl NameError {
    /// The variant's name, as `AccountError`'s text shows it: written out rather than through
    /// `Debug`, which would link a formatter call per variant for the same words.
    const fn variant(self) -> &'static str {
        match self {
            NameError::Empty => "Empty",
            NameError::TooLong => "TooLong",
            NameError::FirstNotLetter => "FirstNotLetter",
            NameError::BadCharacter => "BadCharacter",
            NameError::Reserved => "Reserved",
        }
    }
}

/// Why a password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
    /// A NUL byte: legacy records could not tell `pw` from `pw\0`, and no prompt produces one.
    Nul,
    /// The user name, in any case.
    SameAsName,
}

impl PasswordError {
    /// As [`NameError::variant`].
    const fn variant(self) -> &'static str {
        match self {
            PasswordError::TooShort => "TooShort",
            PasswordError::TooLong => "TooLong",
            PasswordError::Nul => "Nul",
            PasswordError::SameAsName => "SameAsName",
        }
    }
}

/// Why an account change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountError {
    Name(NameError),
    Password(PasswordError),
    /// Another account has this name (names are unique ignoring ASCII case, so `Admin` and
    /// `admin` cannot be two people in an audit trail).
    Duplicate,
    /// All [`MAX_ACCOUNTS`] slots are taken.
    Full,
    NotFound,
    /// The change would leave no enabled Administrator: nobody could manage accounts again.
    LastAdministrator,
    /// A [`NewPassword`] validated for another name.
    WrongName,
}

impl AccountError {
    /// The refusal in words, as two pieces to join (the second often empty): one text for
    /// `Display` and for the faults that quote it, which join the pieces without the
    /// formatting machinery.
    pub fn text(&self) -> [&'static str; 2] {
        match self {
            AccountError::Name(e) => ["invalid user name: ", e.variant()],
            AccountError::Password(e) => ["password refused: ", e.variant()],
            AccountError::Duplicate => ["an account with this name exists", ""],
            AccountError::Full => ["no free account slot", ""],
            AccountError::NotFound => ["no such account", ""],
            AccountError::LastAdministrator => [
                "the last enabled Administrator cannot be deleted, disabled or demoted",
                "",
            ],
            AccountError::WrongName => ["password validated for another account", ""],
        }
    }
}

impl fmt::Display for AccountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [what, detail] = self.text();
        f.write_str(what)?;
        f.write_str(detail)
    }
}

/// Checks a new account name against the rules of [`NameError`].
pub fn validate_name(name: &str) -> Result<(), NameError> {
    let first = name.bytes().next().ok_or(NameError::Empty)?;
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong);
    }
    if !first.is_ascii_alphabetic() {
        return Err(NameError::FirstNotLetter);
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(NameError::BadCharacter);
    }
    if name.eq_ignore_ascii_case(PROVISIONING_USER) {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// Checks a password for `name` against the rules of [`PasswordError`].
pub fn validate_password(name: &str, password: &[u8]) -> Result<(), PasswordError> {
    if password.len() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    if password.contains(&0) {
        return Err(PasswordError::Nul);
    }
    if password.eq_ignore_ascii_case(name.as_bytes()) {
        return Err(PasswordError::SameAsName);
    }
    Ok(())
}

/// A password that passed the policy for one user name, already hashed. Built apart from the
/// table so the slow hash can run off the request executor; the table only accepts it for
/// the name it was checked against.
#[derive(Debug, Clone)]
pub struct NewPassword {
    name: String,
    record: PasswordRecord,
}

impl NewPassword {
    /// Validates `password` for `name` and hashes it with `salt` (from the caller's RNG).
    pub fn new(
        name: &str,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self, PasswordError> {
        validate_password(name, password)?;
        Ok(Self {
            name: String::from(name),
            record: PasswordRecord::hash(password, salt, iterations),
        })
    }

    /// Adds the Digest HA1s http derived from the same name and password.
    pub fn with_digest(mut self, digest: crate::password::DigestHa1) -> Self {
        self.record = self.record.with_digest(digest);
        self
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) enabled: bool,
    pub(crate) password: PasswordRecord,
    pub(crate) lock: LockState,
}

impl Account {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn enabled(&self) -> bool {
        self.enabled
    }
    /// For http's Digest check and for storing; the key is never rendered.
    pub fn password(&self) -> &PasswordRecord {
        &self.password
    }
    pub fn is_locked(&self, now_ms: u64) -> bool {
        self.lock.is_locked(now_ms)
    }
}

/// What a change asks the caller to do: persist `write` and record `audit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub write: Write,
    pub audit: AuditEvent,
}

/// Which record to persist after a change (see [`crate::persist`]). One record per change, so a
/// power cut leaves the old or the new state of that account, never a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// Re-encode and store this slot ([`AccountTable::encode_slot`]).
    Slot(u8),
    /// Remove this slot's record.
    Remove(u8),
    /// Re-encode and store the settings ([`AccountTable::encode_settings`]).
    Settings,
}

/// Who a successful login proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub slot: u8,
    pub name: String,
    pub role: Role,
}

/// Why a login failed. Every variant must look the same on the wire (401 and a challenge):
/// they differ for logging only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown user or wrong password.
    BadCredentials,
    Disabled,
    Locked,
    /// The table changed between [`AccountTable::begin_login`] and
    /// [`AccountTable::finish_login`]; the caller may begin again.
    Stale,
}

/// The result of a login: the verdict, what to audit (an unlock, a failure, a lock), and
/// which slot to persist when the lock state changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOutcome {
    pub result: Result<Identity, Refused>,
    pub audit: HVec<AuditEvent, 3>,
    pub write: Option<Write>,
}

/// The salt of the record unknown names are checked against. Fixed and public: nothing is
/// protected by it, it only makes the work of a miss equal to the work of a hit.
const DUMMY_SALT: &[u8; 16] = b"wsbmc-no-account";

/// A login between [`AccountTable::begin_login`] and [`AccountTable::finish_login`]: the PBKDF2
/// work to do. Its fields are private, so the only way to a verdict is [`Attempt::derive`],
/// which does the same work whether the name exists or not: the caller cannot skip the dummy
/// verification of an unknown user. It owns its data, so it can be sent to a worker thread.
pub struct Attempt {
    slot: Option<u8>,
    claimed: String,
    input: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    generation: u32,
}

impl fmt::Debug for Attempt {
    /// Hides the KDF input (a hash of the candidate password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("claimed", &self.claimed)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// An [`Attempt`] whose PBKDF2 has run.
pub struct Derived {
    attempt: Attempt,
    key: [u8; KEY_LEN],
}

impl Attempt {
    /// Runs PBKDF2 (slow: on the std images, on a worker thread, never the request executor).
    pub fn derive(self) -> Derived {
        let key = derive(&self.input, &self.salt, self.iterations);
        Derived { attempt: self, key }
    }

    /// The name the login claimed (bounded), for logging.
    pub fn claimed(&self) -> &str {
        &self.claimed
    }
}

/// The table and its settings.
#[derive(Debug, Clone)]
pub struct AccountTable {
    pub(crate) slots: [Option<Account>; MAX_ACCOUNTS],
    pub(crate) policy: LockoutPolicy,
    /// PBKDF2 rounds of new records, and of the dummy record unknown names are checked with.
    pub(crate) iterations: u32,
    /// How many provisioning secrets have been used (see [`crate::provision`]).
    pub(crate) provisioning_counter: u32,
    /// Bumped by every change, so a login that began before a change cannot finish after it.
    generation: u32,
}

impl AccountTable {
    /// An empty table: an unprovisioned device. `iterations` is the PBKDF2 round count of new
    /// records (the images' figure, as `wsbmc_http::Account::hash` is given today).
    pub fn new(policy: LockoutPolicy, iterations: u32) -> Self {
        Self {
            slots: Default::default(),
            policy,
            iterations: iterations.max(1),
            provisioning_counter: 0,
            generation: 0,
        }
    }

    pub fn policy(&self) -> LockoutPolicy {
        self.policy
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Changes the lockout rule (`CIM_AccountSettingData`, the board file).
    pub fn set_policy(&mut self, policy: LockoutPolicy, by: &str) -> Change {
        self.policy = policy;
        self.generation = self.generation.wrapping_add(1);
        Change {
            write: Write::Settings,
            audit: AuditEvent::new(AuditKind::PolicyChanged, by, None),
        }
    }

    /// Accounts in slot order, with their slot.
    pub fn list(&self) -> impl Iterator<Item = (u8, &Account)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.as_ref().map(|a| (i as u8, a)))
    }

    /// The account named exactly `name`.
    pub fn get(&self, name: &str) -> Option<(u8, &Account)> {
        self.list().find(|(_, a)| a.name == name)
    }

    /// Whether any account exists; without one the device is unprovisioned.
    pub fn is_provisioned(&self) -> bool {
        self.list().next().is_some()
    }

    fn find(&self, name: &str) -> Result<u8, AccountError> {
        self.get(name).map(|(s, _)| s).ok_or(AccountError::NotFound)
    }

    fn slot_mut(&mut self, slot: u8) -> Result<&mut Account, AccountError> {
        self.slots
            .get_mut(usize::from(slot))
            .and_then(Option::as_mut)
            .ok_or(AccountError::NotFound)
    }

    fn changed(&mut self, kind: AuditKind, write: Write, name: &str, slot: u8) -> Change {
        self.generation = self.generation.wrapping_add(1);
        Change {
            write,
            audit: AuditEvent::new(kind, name, Some(slot)),
        }
    }

    /// Whether an enabled Administrator other than `slot` exists.
    fn other_admin(&self, slot: u8) -> bool {
        self.list()
            .any(|(s, a)| s != slot && a.enabled && a.role == Role::Administrator)
    }

    /// Refuses a change that would take `slot` out of the enabled Administrators when it is
    /// the last one.
    fn keep_an_admin(&self, slot: u8) -> Result<(), AccountError> {
        let a = self.slots[usize::from(slot)].as_ref();
        let is_admin = a.is_some_and(|a| a.enabled && a.role == Role::Administrator);
        if is_admin && !self.other_admin(slot) {
            return Err(AccountError::LastAdministrator);
        }
        Ok(())
    }

    /// Adds an account whose password was hashed elsewhere and is not checked against the
    /// policy: the credential an operator gave on the command line at first start, or the
    /// single account a state directory held before issue 15, which must keep working as it is
    /// (a short or legacy password included). The name is checked against the stored bound
    /// only, for the same reason; it must still be unique ignoring case and free of `:` (Basic
    /// splits there). An account of exactly this name gets the record and the role, enabled
    /// and unlocked: a credential given again at start wins over the stored one, as before
    /// issue 15 (the last-Administrator rule still holds).
    pub fn import(
        &mut self,
        name: &str,
        role: Role,
        password: PasswordRecord,
    ) -> Result<Change, AccountError> {
        if name.is_empty() {
            return Err(AccountError::Name(NameError::Empty));
        }
        if name.len() > MAX_STORED_NAME_LEN {
            return Err(AccountError::Name(NameError::TooLong));
        }
        if name.bytes().any(|b| b == b':' || b.is_ascii_control()) {
            return Err(AccountError::Name(NameError::BadCharacter));
        }
        if let Some((slot, _)) = self.get(name) {
            if role != Role::Administrator {
                self.keep_an_admin(slot)?;
            }
            let a = self.slot_mut(slot)?;
            a.password = password;
            a.role = role;
            a.enabled = true;
            a.lock = LockState::default();
            return Ok(self.changed(AuditKind::PasswordChanged, Write::Slot(slot), name, slot));
        }
        if self.list().any(|(_, a)| a.name.eq_ignore_ascii_case(name)) {
            return Err(AccountError::Duplicate);
        }
        let slot = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(AccountError::Full)?;
        self.slots[slot] = Some(Account {
            name: String::from(name),
            role,
            enabled: true,
            password,
            lock: LockState::default(),
        });
        let slot = slot as u8;
        Ok(self.changed(AuditKind::Created, Write::Slot(slot), name, slot))
    }

    /// Bumped by every change to an account (not by lock bookkeeping): a verification cached
    /// under an older generation may vouch for a password or an account that is gone.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Who `slot` is, if it may log in now (exists, enabled, not locked): for a credential
    /// verified before (http's cache), which must not outlive a lock or a disable.
    pub fn may_log_in(&self, slot: u8, now_ms: u64) -> Option<Identity> {
        let a = self.slots.get(usize::from(slot))?.as_ref()?;
        (a.enabled && !a.lock.is_locked(now_ms)).then(|| Identity {
            slot,
            name: a.name.clone(),
            role: a.role,
        })
    }

    /// Adds an account (enabled) in the lowest free slot.
    pub fn create(
        &mut self,
        name: &str,
        role: Role,
        password: NewPassword,
    ) -> Result<Change, AccountError> {
        validate_name(name).map_err(AccountError::Name)?;
        if password.name != name {
            return Err(AccountError::WrongName);
        }
        if self.list().any(|(_, a)| a.name.eq_ignore_ascii_case(name)) {
            return Err(AccountError::Duplicate);
        }
        let slot = self
            .slots
            .iter()
            .position(Option::is_none)
            .ok_or(AccountError::Full)?;
        self.slots[slot] = Some(Account {
            name: String::from(name),
            role,
            enabled: true,
            password: password.record,
            lock: LockState::default(),
        });
        let slot = slot as u8;
        Ok(self.changed(AuditKind::Created, Write::Slot(slot), name, slot))
    }

    /// Replaces an account's password. Does not unlock it: a lock is the guesser's problem,
    /// and an administrator who wants it gone has [`AccountTable::unlock`].
    pub fn set_password(
        &mut self,
        name: &str,
        password: NewPassword,
    ) -> Result<Change, AccountError> {
        if password.name != name {
            return Err(AccountError::WrongName);
        }
        let slot = self.find(name)?;
        self.slot_mut(slot)?.password = password.record;
        Ok(self.changed(AuditKind::PasswordChanged, Write::Slot(slot), name, slot))
    }

    pub fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<Change, AccountError> {
        let slot = self.find(name)?;
        if !enabled {
            self.keep_an_admin(slot)?;
        }
        self.slot_mut(slot)?.enabled = enabled;
        let kind = if enabled {
            AuditKind::Enabled
        } else {
            AuditKind::Disabled
        };
        Ok(self.changed(kind, Write::Slot(slot), name, slot))
    }

    pub fn set_role(&mut self, name: &str, role: Role) -> Result<Change, AccountError> {
        let slot = self.find(name)?;
        if role != Role::Administrator {
            self.keep_an_admin(slot)?;
        }
        self.slot_mut(slot)?.role = role;
        Ok(self.changed(AuditKind::RoleChanged, Write::Slot(slot), name, slot))
    }

    pub fn delete(&mut self, name: &str) -> Result<Change, AccountError> {
        let slot = self.find(name)?;
        self.keep_an_admin(slot)?;
        self.slots[usize::from(slot)] = None;
        Ok(self.changed(AuditKind::Deleted, Write::Remove(slot), name, slot))
    }

    /// Ends a lock before its time (an administrator's decision).
    pub fn unlock(&mut self, name: &str) -> Result<Change, AccountError> {
        let slot = self.find(name)?;
        self.slot_mut(slot)?.lock.succeed();
        Ok(self.changed(AuditKind::Unlocked, Write::Slot(slot), name, slot))
    }

    /// Ends the locks whose period is over, for a periodic tick (so the unlock is audited
    /// when it happens, not at the next login). Returns the events; each changed slot should
    /// be persisted.
    pub fn expire_locks(&mut self, now_ms: u64) -> HVec<Change, MAX_ACCOUNTS> {
        let mut out = HVec::new();
        for (i, a) in self.slots.iter_mut().enumerate() {
            if let Some(a) = a
                && a.lock.expire(now_ms) == Transition::Unlocked
            {
                let slot = i as u8;
                // Cannot overflow: one event per slot at most.
                let _ = out.push(Change {
                    write: Write::Slot(slot),
                    audit: AuditEvent::new(AuditKind::Unlocked, &a.name, Some(slot)),
                });
            }
        }
        out
    }

    /// Starts a login: the PBKDF2 work for `name` and `password`, against the account's record
    /// or, for a name no account has, against a fixed dummy record of the same round count.
    pub fn begin_login(&self, name: &str, password: &[u8]) -> Attempt {
        let found = self.get(name);
        let (slot, input, salt, iterations) = match found {
            Some((slot, a)) => {
                let r = &a.password;
                // A legacy record refuses a NUL-bearing password by deriving from nothing.
                let input = r.kdf_input(password).unwrap_or_default();
                (Some(slot), input, r.salt.clone(), r.iterations)
            }
            None => {
                let dummy = PasswordRecord::from_parts(
                    crate::password::Scheme::Prehashed,
                    DUMMY_SALT,
                    self.iterations,
                    [0; KEY_LEN],
                );
                let input = dummy.kdf_input(password).unwrap_or_default();
                (None, input, dummy.salt, dummy.iterations)
            }
        };
        Attempt {
            slot,
            claimed: AuditEvent::new(AuditKind::LoginFailed, name, None).user,
            input,
            salt,
            iterations,
            generation: self.generation,
        }
    }

    /// Decides a login whose PBKDF2 ran, at monotonic time `now_ms`: the lock is checked
    /// first (a locked account refuses even the right password), then the key.
    pub fn finish_login(&mut self, derived: Derived, now_ms: u64) -> LoginOutcome {
        let Derived { attempt, key } = derived;
        if attempt.generation != self.generation {
            return LoginOutcome {
                result: Err(Refused::Stale),
                audit: HVec::new(),
                write: None,
            };
        }
        let right = attempt.slot.is_some_and(|slot| {
            self.slots
                .get(usize::from(slot))
                .and_then(Option::as_ref)
                .is_some_and(|a| a.password.matches(&key))
        }) && !attempt.input.is_empty();
        self.decide(attempt.slot, &attempt.claimed, right, now_ms)
    }

    /// Decides a login whose credential was checked outside this table (HTTP Digest, whose
    /// HA1s http keeps in the record and verifies itself): `slot` is the account the name
    /// designates (`None` for an unknown name), `right` whether the credential proved it.
    /// Locks, disables and failure counting apply exactly as for [`AccountTable::finish_login`].
    pub fn finish_checked(
        &mut self,
        slot: Option<u8>,
        claimed: &str,
        right: bool,
        now_ms: u64,
    ) -> LoginOutcome {
        let claimed = AuditEvent::new(AuditKind::LoginFailed, claimed, None).user;
        self.decide(slot, &claimed, right, now_ms)
    }

    fn decide(
        &mut self,
        slot: Option<u8>,
        claimed: &str,
        right: bool,
        now_ms: u64,
    ) -> LoginOutcome {
        let mut audit = HVec::new();
        let mut write = None;
        let mut locked_out = false;
        let policy = self.policy;
        // One exit for every verdict: each refusal is audited below, in one place.
        let result = 'decided: {
            let Some(slot) = slot else {
                break 'decided Err(Refused::BadCredentials);
            };
            let Ok(account) = self.slot_mut(slot) else {
                break 'decided Err(Refused::Stale);
            };
            if account.lock.expire(now_ms) == Transition::Unlocked {
                let _ = audit.push(AuditEvent::new(
                    AuditKind::Unlocked,
                    &account.name,
                    Some(slot),
                ));
                write = Some(Write::Slot(slot));
            }
            if account.lock.is_locked(now_ms) {
                break 'decided Err(Refused::Locked);
            }
            if right && account.enabled {
                account.lock.succeed();
                break 'decided Ok(Identity {
                    slot,
                    name: account.name.clone(),
                    role: account.role,
                });
            }
            if !account.enabled {
                // Not counted towards a lock: the account cannot log in anyway.
                break 'decided Err(Refused::Disabled);
            }
            if account.lock.fail(&policy, now_ms) == Transition::Locked {
                locked_out = true;
                write = Some(Write::Slot(slot));
            }
            Err(Refused::BadCredentials)
        };
        // A refusal is audited under the claimed name (a stale login was not decided), and
        // the lock it caused after it.
        let failed = match result {
            Ok(_) | Err(Refused::Stale) => None,
            Err(Refused::Locked) => Some(AuditKind::LoginWhileLocked),
            Err(_) => Some(AuditKind::LoginFailed),
        };
        if let Some(kind) = failed {
            let _ = audit.push(AuditEvent::new(kind, claimed, slot));
        }
        if locked_out {
            let _ = audit.push(AuditEvent::new(AuditKind::LockedOut, claimed, slot));
        }
        LoginOutcome {
            result,
            audit,
            write,
        }
    }

    /// [`AccountTable::begin_login`], derive and [`AccountTable::finish_login`] on this
    /// thread: for the bare-metal image (one executor, nothing to offload to) and tests.
    pub fn login(&mut self, name: &str, password: &[u8], now_ms: u64) -> LoginOutcome {
        let derived = self.begin_login(name, password).derive();
        self.finish_login(derived, now_ms)
    }

    #[cfg(feature = "persist")]
    /// Inserts an account as loaded from the store (no validation of the name beyond its
    /// stored bound: a migrated name must keep working).
    pub(crate) fn insert_loaded(&mut self, slot: u8, account: Account) -> bool {
        match self.slots.get_mut(usize::from(slot)) {
            Some(s @ None) => {
                *s = Some(account);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const IT: u32 = 2;

    #[test]
    fn an_account_error_reads_the_same_through_display_and_text() {
        use alloc::string::ToString;
        let all = [
            (
                AccountError::Name(NameError::TooLong),
                "invalid user name: TooLong",
            ),
            (
                AccountError::Password(PasswordError::Nul),
                "password refused: Nul",
            ),
            (AccountError::Duplicate, "an account with this name exists"),
            (AccountError::Full, "no free account slot"),
            (AccountError::NotFound, "no such account"),
            (
                AccountError::LastAdministrator,
                "the last enabled Administrator cannot be deleted, disabled or demoted",
            ),
            (
                AccountError::WrongName,
                "password validated for another account",
            ),
        ];
        for (e, want) in all {
            assert_eq!(e.to_string(), want);
            assert_eq!(e.text().concat(), want);
        }
    }

    pub(crate) fn pw(name: &str, password: &str) -> NewPassword {
        NewPassword::new(name, password.as_bytes(), b"0123456789abcdef", IT).unwrap()
    }

    pub(crate) fn table_with_admin() -> AccountTable {
        let mut t = AccountTable::new(LockoutPolicy::default(), IT);
        t.create("admin", Role::Administrator, pw("admin", "admin-pass"))
            .unwrap();
        t
    }

    /// The text cim's faults quote: each variant by its name, as `Debug` would spell it.
    #[test]
    fn an_account_error_names_the_rule_it_broke() {
        use alloc::format;
        for e in [
            NameError::Empty,
            NameError::TooLong,
            NameError::FirstNotLetter,
            NameError::BadCharacter,
            NameError::Reserved,
        ] {
            let shown = format!("{}", AccountError::Name(e));
            assert_eq!(shown, format!("invalid user name: {e:?}"));
        }
        for e in [
            PasswordError::TooShort,
            PasswordError::TooLong,
            PasswordError::Nul,
            PasswordError::SameAsName,
        ] {
            let shown = format!("{}", AccountError::Password(e));
            assert_eq!(shown, format!("password refused: {e:?}"));
        }
        assert_eq!(
            format!("{}", AccountError::Name(NameError::TooLong)),
            "invalid user name: TooLong"
        );
    }

    #[test]
    fn names_follow_the_chosen_rules() {
        assert_eq!(validate_name(""), Err(NameError::Empty));
        assert_eq!(validate_name("a234567890123456"), Ok(()));
        assert_eq!(validate_name("a2345678901234567"), Err(NameError::TooLong));
        assert_eq!(validate_name("1admin"), Err(NameError::FirstNotLetter));
        assert_eq!(validate_name("_x"), Err(NameError::FirstNotLetter));
        for bad in ["a:b", "a b", "a<b", "a&b", "aé", "a\0", "a/b"] {
            assert_eq!(validate_name(bad), Err(NameError::BadCharacter), "{bad}");
        }
        assert_eq!(validate_name("John.Doe-2_x"), Ok(()));
        assert_eq!(validate_name("Provision"), Err(NameError::Reserved));
    }

    #[test]
    fn passwords_follow_the_policy() {
        assert_eq!(
            validate_password("u", b"1234567"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(validate_password("u", b"12345678"), Ok(()));
        assert_eq!(validate_password("u", &[b'x'; 64]), Ok(()));
        assert_eq!(
            validate_password("u", &[b'x'; 65]),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            validate_password("u", b"1234\x005678"),
            Err(PasswordError::Nul)
        );
        assert_eq!(
            validate_password("operator1", b"OPERATOR1"),
            Err(PasswordError::SameAsName)
        );
        assert!(NewPassword::new("u", b"short", b"s", 1).is_err());
    }

    #[test]
    fn create_list_and_verify() {
        let mut t = table_with_admin();
        let c = t
            .create("op", Role::Operator, pw("op", "op-password"))
            .unwrap();
        assert_eq!(c.write, Write::Slot(1));
        assert_eq!(c.audit.kind, AuditKind::Created);
        assert_eq!(c.audit.user_id, Some(2));
        let names: Vec<_> = t.list().map(|(s, a)| (s, String::from(a.name()))).collect();
        assert_eq!(names, [(0, "admin".into()), (1, "op".into())]);
        let ok = t.login("op", b"op-password", 0);
        assert_eq!(
            ok.result,
            Ok(Identity {
                slot: 1,
                name: "op".into(),
                role: Role::Operator
            })
        );
        assert!(ok.audit.is_empty());
        let bad = t.login("op", b"wrong-password", 0);
        assert_eq!(bad.result, Err(Refused::BadCredentials));
        assert_eq!(bad.audit[0].kind, AuditKind::LoginFailed);
        // Login names are exact: `OP` is another (unknown) name.
        assert_eq!(
            t.login("OP", b"op-password", 0).result,
            Err(Refused::BadCredentials)
        );
    }

    #[test]
    fn creation_refusals() {
        let mut t = table_with_admin();
        assert_eq!(
            t.create("Admin", Role::ReadOnly, pw("Admin", "whatever1")),
            Err(AccountError::Duplicate)
        );
        assert_eq!(
            t.create("9x", Role::ReadOnly, pw("9x", "whatever1")),
            Err(AccountError::Name(NameError::FirstNotLetter))
        );
        assert_eq!(
            t.create("bob", Role::ReadOnly, pw("alice", "whatever1")),
            Err(AccountError::WrongName)
        );
        for i in 1..MAX_ACCOUNTS {
            let n = alloc::format!("user{i}");
            t.create(&n, Role::ReadOnly, pw(&n, "password1")).unwrap();
        }
        assert_eq!(
            t.create("extra", Role::ReadOnly, pw("extra", "password1")),
            Err(AccountError::Full)
        );
        // A freed slot is reused.
        assert_eq!(t.delete("user3").unwrap().write, Write::Remove(3));
        assert_eq!(
            t.create("extra", Role::ReadOnly, pw("extra", "password1"))
                .unwrap()
                .write,
            Write::Slot(3)
        );
    }

    #[test]
    fn the_last_enabled_administrator_stays() {
        let mut t = table_with_admin();
        assert_eq!(t.delete("admin"), Err(AccountError::LastAdministrator));
        assert_eq!(
            t.set_enabled("admin", false),
            Err(AccountError::LastAdministrator)
        );
        assert_eq!(
            t.set_role("admin", Role::Operator),
            Err(AccountError::LastAdministrator)
        );
        // A disabled second Administrator does not count.
        t.create("root2", Role::Administrator, pw("root2", "password2"))
            .unwrap();
        t.set_enabled("root2", false).unwrap();
        assert_eq!(t.delete("admin"), Err(AccountError::LastAdministrator));
        // An enabled one does.
        assert_eq!(
            t.set_enabled("root2", true).unwrap().audit.kind,
            AuditKind::Enabled
        );
        assert_eq!(
            t.set_role("admin", Role::ReadOnly).unwrap().audit.kind,
            AuditKind::RoleChanged
        );
        assert_eq!(t.delete("root2"), Err(AccountError::LastAdministrator));
        assert_eq!(t.set_role("admin", Role::Administrator).map(|_| ()), Ok(()));
        assert_eq!(t.delete("root2").unwrap().audit.kind, AuditKind::Deleted);
        assert_eq!(t.delete("nobody"), Err(AccountError::NotFound));
    }

    #[test]
    fn password_change_and_disable() {
        let mut t = table_with_admin();
        t.create("ro", Role::ReadOnly, pw("ro", "first-pass"))
            .unwrap();
        let c = t.set_password("ro", pw("ro", "second-pass")).unwrap();
        assert_eq!(c.audit.kind, AuditKind::PasswordChanged);
        assert!(t.login("ro", b"first-pass", 0).result.is_err());
        assert!(t.login("ro", b"second-pass", 0).result.is_ok());
        assert_eq!(
            t.set_password("ro", pw("admin", "x-password")),
            Err(AccountError::WrongName)
        );
        t.set_enabled("ro", false).unwrap();
        let out = t.login("ro", b"second-pass", 0);
        assert_eq!(out.result, Err(Refused::Disabled));
        assert_eq!(out.audit[0].kind, AuditKind::LoginFailed);
    }

    #[test]
    fn lockout_applies_to_the_first_administrator_and_refuses_the_right_password() {
        let mut t = table_with_admin();
        for i in 0..4 {
            let o = t.login("admin", b"wrong-pass", i);
            assert_eq!(o.result, Err(Refused::BadCredentials));
            assert_eq!(o.write, None);
        }
        let o = t.login("admin", b"wrong-pass", 4);
        assert_eq!(o.write, Some(Write::Slot(0)));
        let kinds: Vec<_> = o.audit.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [AuditKind::LoginFailed, AuditKind::LockedOut]);
        let o = t.login("admin", b"admin-pass", 5);
        assert_eq!(o.result, Err(Refused::Locked));
        assert_eq!(o.audit[0].kind, AuditKind::LoginWhileLocked);
        assert!(t.get("admin").unwrap().1.is_locked(300_003));
        // After the period: the unlock is audited and the right password works.
        let o = t.login("admin", b"admin-pass", 300_004);
        assert!(o.result.is_ok());
        assert_eq!(o.audit[0].kind, AuditKind::Unlocked);
        assert_eq!(o.write, Some(Write::Slot(0)));
    }

    #[test]
    fn success_resets_the_count_and_unknown_users_lock_nothing() {
        let mut t = table_with_admin();
        for i in 0..4 {
            t.login("admin", b"wrong-pass", i);
        }
        assert!(t.login("admin", b"admin-pass", 5).result.is_ok());
        for i in 0..4 {
            assert_eq!(t.login("admin", b"wrong-pass", 6 + i).write, None);
        }
        for i in 0..100 {
            let o = t.login("ghost", b"whatever", i);
            assert_eq!(o.result, Err(Refused::BadCredentials));
            assert_eq!(o.audit[0].user_id, None);
            assert_eq!(o.audit[0].user, "ghost");
        }
    }

    #[test]
    fn expiry_tick_and_manual_unlock() {
        let mut t = table_with_admin();
        for i in 0..5 {
            t.login("admin", b"wrong-pass", i);
        }
        assert!(t.expire_locks(1000).is_empty());
        let ch = t.expire_locks(300_004);
        assert_eq!(ch.len(), 1);
        assert_eq!(ch[0].audit.kind, AuditKind::Unlocked);
        for i in 0..5 {
            t.login("admin", b"wrong-pass", 400_000 + i);
        }
        assert_eq!(t.unlock("admin").unwrap().write, Write::Slot(0));
        assert!(t.login("admin", b"admin-pass", 400_010).result.is_ok());
    }

    /// Unknown names run the same PBKDF2 (same round count) as known ones: the attempt for an
    /// unknown name carries the table's rounds and a salt of a real record's length.
    #[test]
    fn unknown_users_get_the_same_work() {
        let t = table_with_admin();
        let known = t.begin_login("admin", b"x");
        let unknown = t.begin_login("nobody", b"x");
        assert_eq!(known.iterations, unknown.iterations);
        assert_eq!(known.salt.len(), unknown.salt.len());
        assert_eq!(known.input.len(), unknown.input.len());
        assert_eq!(unknown.slot, None);
    }

    /// With a threshold of 1 a failure right after a lock expired ends one lock and starts the
    /// next: all three events are kept.
    #[test]
    fn an_unlock_failure_and_lock_in_one_login_are_all_audited() {
        let mut t = AccountTable::new(LockoutPolicy::new(1, 1_000, 1_000).unwrap(), IT);
        t.create("admin", Role::Administrator, pw("admin", "admin-pass"))
            .unwrap();
        assert_eq!(t.login("admin", b"wrong-pass", 0).audit.len(), 2);
        let o = t.login("admin", b"wrong-pass", 1_000);
        let kinds: Vec<_> = o.audit.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                AuditKind::Unlocked,
                AuditKind::LoginFailed,
                AuditKind::LockedOut
            ]
        );
    }

    /// PBKDF2 can run on a worker thread: the attempt owns what it needs.
    #[test]
    fn attempts_can_be_sent_to_a_worker() {
        fn send<T: Send + 'static>() {}
        send::<Attempt>();
        send::<Derived>();
    }

    /// A credential given at first start or stored before issue 15 is taken as it is, short
    /// password included, but names stay unique and `:`-free.
    #[test]
    fn imported_records_skip_the_password_policy_only() {
        let mut t = AccountTable::new(LockoutPolicy::default(), IT);
        let short = PasswordRecord::hash(b"pw", b"salt", IT);
        let c = t
            .import("admin", Role::Administrator, short.clone())
            .unwrap();
        assert_eq!(
            (c.write, c.audit.kind),
            (Write::Slot(0), AuditKind::Created)
        );
        assert!(t.login("admin", b"pw", 0).result.is_ok());
        assert_eq!(
            t.import("ADMIN", Role::ReadOnly, short.clone()),
            Err(AccountError::Duplicate)
        );
        // The same name again replaces the record (a password given again at start).
        let other = PasswordRecord::hash(b"pw2", b"salt", IT);
        let c = t.import("admin", Role::Administrator, other).unwrap();
        assert_eq!(c.audit.kind, AuditKind::PasswordChanged);
        assert!(t.login("admin", b"pw", 1).result.is_err());
        assert!(t.login("admin", b"pw2", 2).result.is_ok());
        assert_eq!(
            t.import("admin", Role::ReadOnly, short.clone()),
            Err(AccountError::LastAdministrator)
        );
        assert_eq!(
            t.import("a:b", Role::ReadOnly, short.clone()),
            Err(AccountError::Name(NameError::BadCharacter))
        );
        assert_eq!(
            t.import("", Role::ReadOnly, short),
            Err(AccountError::Name(NameError::Empty))
        );
    }

    /// Digest is verified by http; the table still counts the failures and enforces the lock.
    #[test]
    fn externally_checked_logins_lock_like_basic_ones() {
        let mut t = table_with_admin();
        let g = t.generation();
        for i in 0..5 {
            let o = t.finish_checked(Some(0), "admin", false, i);
            assert_eq!(o.result, Err(Refused::BadCredentials));
        }
        assert_eq!(t.generation(), g, "lock bookkeeping is no account change");
        assert_eq!(
            t.finish_checked(Some(0), "admin", true, 10).result,
            Err(Refused::Locked)
        );
        assert_eq!(t.may_log_in(0, 10), None);
        assert_eq!(
            t.finish_checked(None, "ghost", true, 10).result,
            Err(Refused::BadCredentials)
        );
        assert!(t.may_log_in(0, 300_005).is_some());
        assert_eq!(
            t.finish_checked(Some(0), "admin", true, 300_005)
                .result
                .map(|i| i.role),
            Ok(Role::Administrator)
        );
        t.create("x1", Role::ReadOnly, pw("x1", "password1"))
            .unwrap();
        assert_ne!(t.generation(), g);
    }

    #[test]
    fn a_login_across_a_change_is_stale() {
        let mut t = table_with_admin();
        let a = t.begin_login("admin", b"admin-pass").derive();
        t.create("x1", Role::ReadOnly, pw("x1", "password1"))
            .unwrap();
        assert_eq!(t.finish_login(a, 0).result, Err(Refused::Stale));
    }
}
