//! Who may talk to the endpoint: accounts, `Authorization` checking and the verification cache.
//!
//! Passwords are stored only as PBKDF2-HMAC-SHA256 derived keys, so a dump of the account table
//! (flash, a config file) does not hand out credentials. PBKDF2 is deliberately slow, and Basic
//! auth resends the password on every WS-Man request, so successful verifications are cached for
//! a few minutes keyed by a SHA-256 of the raw header value.
//!
//! Digest (RFC 7616, `crate::digest`) needs H(user:realm:password) per algorithm, which is
//! password-equivalent for the realm, so an account keeps those two HA1s beside the PBKDF2 key
//! and never the password. Digest costs one hash per request and needs no cache.
//!
//! Schemes are dispatched in [`Auth::check`] and the challenges written by
//! [`Auth::write_challenges`], both for what a listener [`Offer`]s.
//!
//! With the `accounts` feature (the std images) the accounts are a shared
//! [`wsbmc_accounts::AccountTable`] (issue 15): roles, enable/disable and the per-account
//! lockout are decided there, http keeps the transport's part (schemes, the cache, the
//! per-source back-off, where PBKDF2 runs). Without it (the bare-metal image, whose flash has
//! no room for the table) the accounts are a plain list and each is an Administrator.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt;

use embassy_time::{Duration, Instant};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

#[cfg(feature = "accounts")]
use alloc::rc::Rc;
pub use wsbmc_accounts::Role;
#[cfg(feature = "accounts")]
use wsbmc_accounts::{AccountTable, Attempt, Derived, LoginOutcome};

use crate::backoff::{Backoff, Source};
#[cfg(feature = "digest")]
use crate::digest::{self, Algorithm, Check, Nonces};
pub use crate::digest_keys::DigestKeys;
use crate::offer::Offer;
use crate::server::put;
use crate::split::{cut, pieces};

/// Length of the stored PBKDF2 output: one SHA-256 block, more would only slow verification.
pub const DERIVED_KEY_LEN: usize = 32;

/// Number of verified credentials remembered. A BMC has a handful of operators and consoles;
/// eight covers them while keeping the cache a fixed, small block of RAM. The images with RAM to
/// spare (feature `many-sources`) keep eight.
#[cfg(feature = "many-sources")]
pub const CACHE_SLOTS: usize = 8;
/// Verified credentials remembered without `many-sources`: the bare-metal image has one account,
/// so one valid credential, and two connections; each slot is 64 B of its 64 KiB of RAM.
#[cfg(not(feature = "many-sources"))]
pub const CACHE_SLOTS: usize = 2;

/// How long a verified credential is trusted without re-running PBKDF2. Short enough that a
/// password change (which rebuilds [`Auth`]) or a stolen header has a bounded window.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// The Basic challenge WS-Man clients expect (Windows, pywinrm and openwsman all use "WSMAN").
pub const BASIC_CHALLENGE: &str = "Basic realm=\"WSMAN\"";

/// One user, with the password reduced to a salted PBKDF2-HMAC-SHA256 key (for Basic) and,
/// when Digest is to be offered, the two HA1s RFC 7616 needs.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    name: String,
    salt: Vec<u8>,
    iterations: u32,
    key: [u8; DERIVED_KEY_LEN],
    /// The key was derived from the raw password (records made before issue 20): see
    /// [`Account::from_legacy_hash`].
    #[cfg(feature = "legacy-hash")]
    legacy: bool,
    digest: Option<DigestKeys>,
}

impl Account {
    /// Derives the stored key from a clear-text password, for the Linux binary that receives the
    /// password on its command line and a salt from the OS RNG. An iteration count of 0 is
    /// treated as 1 because PBKDF2 has no zero-round form.
    /// With the `digest` feature the Digest HA1s are derived too.
    pub fn hash(name: &str, password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let iterations = iterations.max(1);
        Self {
            name: String::from(name),
            salt: Vec::from(salt),
            iterations,
            key: derive(&password_key(password), salt, iterations),
            #[cfg(feature = "legacy-hash")]
            legacy: false,
            #[cfg(feature = "digest")]
            digest: Some(DigestKeys::derive(name, password)),
            #[cfg(not(feature = "digest"))]
            digest: None,
        }
    }

    /// Rebuilds an account from a record hashed ahead of time (PBKDF2 over
    /// [`password_key`] of the password, as [`Account::hash`] does), so a bare-metal image can
    /// embed a credential without ever containing the password.
    pub fn from_hash(name: &str, salt: &[u8], iterations: u32, key: [u8; DERIVED_KEY_LEN]) -> Self {
        Self {
            name: String::from(name),
            salt: Vec::from(salt),
            iterations: iterations.max(1),
            key,
            #[cfg(feature = "legacy-hash")]
            legacy: false,
            digest: None,
        }
    }

    /// Rebuilds an account from a record made before issue 20, whose key is PBKDF2 over the
    /// raw password. HMAC zero-pads a short key and hashes a long one, so with such a record
    /// the password followed by NUL bytes, and for a password over 64 bytes its SHA-256, would
    /// verify too. The NUL form is refused here (no password given on a command line or in the
    /// environment can contain NUL); the SHA-256 form of a long password cannot be told apart,
    /// so such a record should be replaced by giving the password again. Only the std images,
    /// which may find such a record in a state directory, build it (feature `legacy-hash`).
    #[cfg(feature = "legacy-hash")]
    pub fn from_legacy_hash(
        name: &str,
        salt: &[u8],
        iterations: u32,
        key: [u8; DERIVED_KEY_LEN],
    ) -> Self {
        Self {
            legacy: true,
            ..Self::from_hash(name, salt, iterations, key)
        }
    }

    /// Whether this account's key was derived by the pre-issue-20 scheme.
    pub fn is_legacy(&self) -> bool {
        #[cfg(feature = "legacy-hash")]
        return self.legacy;
        #[cfg(not(feature = "legacy-hash"))]
        false
    }

    /// Adds the Digest HA1s of a record hashed ahead of time (see [`DigestKeys::derive`]).
    pub fn with_digest(mut self, keys: DigestKeys) -> Self {
        self.digest = Some(keys);
        self
    }

    /// The Digest HA1s, for storing; `None` when this account cannot use Digest.
    pub fn digest_keys(&self) -> Option<&DigestKeys> {
        self.digest.as_ref()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The accounts crate's form of this record (key, scheme and Digest HA1s), for the table.
    pub fn record(&self) -> wsbmc_accounts::PasswordRecord {
        let scheme = if self.is_legacy() {
            wsbmc_accounts::Scheme::Legacy
        } else {
            wsbmc_accounts::Scheme::Prehashed
        };
        let record = wsbmc_accounts::PasswordRecord::from_parts(
            scheme,
            &self.salt,
            self.iterations,
            self.key,
        );
        match &self.digest {
            Some(k) => record.with_digest(wsbmc_accounts::DigestHa1 {
                md5: k.md5,
                sha256: k.sha256,
            }),
            None => record,
        }
    }

    pub fn salt(&self) -> &[u8] {
        &self.salt
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Exposed so tooling can print the record an image should embed.
    pub fn derived_key(&self) -> &[u8; DERIVED_KEY_LEN] {
        &self.key
    }

    /// What PBKDF2 runs over for a candidate `password`: [`password_key`] of it, or for a
    /// legacy record the password itself, where a NUL is refused (see
    /// [`Account::from_legacy_hash`]) by deriving from nothing, which no password matches.
    #[cfg(not(feature = "accounts"))]
    fn kdf_input(&self, password: &[u8]) -> KdfInput {
        #[cfg(feature = "legacy-hash")]
        if self.legacy {
            return if password.contains(&0) {
                Vec::new()
            } else {
                Vec::from(password)
            };
        }
        let input = password_key(password);
        #[cfg(feature = "legacy-hash")]
        let input = Vec::from(input);
        input
    }
}

impl fmt::Debug for Account {
    /// Hides the derived key: it is what an offline attack would start from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("iterations", &self.iterations)
            .field("digest", &self.digest.is_some())
            .finish_non_exhaustive()
    }
}

/// What PBKDF2 is keyed with: SHA-256 of the password, never the password itself. HMAC pads
/// keys shorter than its 64-byte block with zeros and replaces longer ones by their SHA-256, so
/// keyed with the raw password `pw`, `pw\0` and (for a long `pw`) SHA-256(`pw`) would all
/// verify (issue 20, finding 4). A fixed 32-byte key leaves exactly one password per key.
pub fn password_key(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; DERIVED_KEY_LEN] {
    let mut key = [0; DERIVED_KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut key);
    key
}

/// Monotonic milliseconds, the account table's clock.
#[cfg(feature = "accounts")]
fn now_ms(now: Instant) -> u64 {
    now.as_millis()
}

/// The account table as Digest sees it: name → (index, HA1s).
#[cfg(all(feature = "digest", not(feature = "accounts")))]
struct Table<'a>(&'a [Account]);

#[cfg(all(feature = "digest", not(feature = "accounts")))]
impl digest::Lookup for Table<'_> {
    fn find(&self, user: &str) -> Option<(usize, DigestKeys)> {
        self.0
            .iter()
            .enumerate()
            .find(|(_, a)| a.name == user)
            .and_then(|(i, a)| a.digest.clone().map(|k| (i, k)))
    }
}

/// The shared account table as Digest sees it: name → (slot, HA1s).
#[cfg(all(feature = "digest", feature = "accounts"))]
impl digest::Lookup for AccountTable {
    fn find(&self, user: &str) -> Option<(usize, DigestKeys)> {
        let (slot, a) = self.get(user)?;
        let ha1 = a.password().digest()?;
        Some((
            usize::from(slot),
            DigestKeys {
                md5: ha1.md5,
                sha256: ha1.sha256,
            },
        ))
    }
}

/// Who a request proved to be: the name wsman records and the role it authorizes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Copy)]
struct CacheEntry {
    /// SHA-256 of the whole `Authorization` value: the cache never holds the password itself.
    key: [u8; 32],
    account: usize,
    /// The table's generation when verified (`accounts`): a change to any account since
    /// voids the entry, as replacing an account clears the cache without the feature.
    #[cfg(feature = "accounts")]
    generation: u32,
    inserted: Instant,
    expires: Instant,
}

/// The account table plus the verification cache.
///
/// Interior mutability is a `RefCell`, not a lock: connection tasks run on one single-threaded
/// executor (embassy, or a tokio `LocalSet`), so share it by `&'static` (a `StaticCell`) or `Rc`.
pub struct Auth {
    #[cfg(not(feature = "accounts"))]
    accounts: Vec<Account>,
    /// Shared with whoever manages accounts (the agent: CIM, the control socket, the store).
    #[cfg(feature = "accounts")]
    table: Rc<RefCell<AccountTable>>,
    /// Told every login the table decided: its audit events and the record to persist.
    #[cfg(feature = "accounts")]
    on_login: Option<LoginHook>,
    /// The device seed of the provisioning path ([`Auth::set_provisioning_seed`]); `None`,
    /// the path is closed (the simulated board, the bare-metal image).
    #[cfg(feature = "accounts")]
    provisioning_seed: Option<Vec<u8>>,
    cache: RefCell<[Option<CacheEntry>; CACHE_SLOTS]>,
    ttl: Duration,
    kdf_runs: Cell<u32>,
    backoff: Backoff,
    #[cfg(feature = "offload")]
    kdf: Option<alloc::boxed::Box<dyn Kdf>>,
    #[cfg(feature = "digest")]
    nonces: Nonces,
    /// Digest algorithms offered, in the order of the challenges (the client's preference
    /// usually follows: curl takes the first, so SHA-256 leads by default).
    #[cfg(feature = "digest")]
    algorithms: Vec<Algorithm>,
}

/// What [`Auth::on_login`] calls with each login the table decided.
#[cfg(feature = "accounts")]
pub type LoginHook = alloc::boxed::Box<dyn Fn(&LoginOutcome)>;

/// What [`Auth::check`] concluded about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials prove this user.
    User(Identity),
    /// A Digest response was right but its nonce is too old: challenge with `stale=true`.
    Stale,
    /// No credentials, or wrong ones: challenge.
    Denied,
    /// Credentials from a source in back-off after failed logins, refused without checking:
    /// challenge like [`Verdict::Denied`].
    Throttled,
}

impl Verdict {
    /// The user name proven, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Verdict::User(id) => Some(&id.name),
            _ => None,
        }
    }
}

/// What PBKDF2 runs over: a legacy record's raw password needs a buffer of its length; otherwise
/// it is always the 32 bytes of [`password_key`] (no allocation on the bare-metal image).
#[cfg(all(feature = "legacy-hash", not(feature = "accounts")))]
type KdfInput = Vec<u8>;
#[cfg(all(not(feature = "legacy-hash"), not(feature = "accounts")))]
type KdfInput = [u8; 32];

/// Where a check stands after [`Auth::begin`].
pub(crate) enum Step<'a> {
    Done(Verdict),
    /// PBKDF2 still has to run; the caller decides on which thread.
    Derive(Pending<'a>),
}

/// A Basic credential waiting for its PBKDF2: the input, salt and rounds, and what
/// [`Auth::finish`] needs afterwards.
#[cfg(not(feature = "accounts"))]
pub struct Pending<'a> {
    input: KdfInput,
    salt: &'a [u8],
    iterations: u32,
    cache_key: [u8; 32],
    found: Option<usize>,
    probe: usize,
    source: Option<Source>,
}

/// A Basic credential waiting for its PBKDF2: the table's [`Attempt`] (which does the same
/// work for an unknown name) and what [`Auth::finish`] needs afterwards.
#[cfg(feature = "accounts")]
pub struct Pending<'a> {
    attempt: Attempt,
    cache_key: [u8; 32],
    source: Option<Source>,
    _auth: core::marker::PhantomData<&'a Auth>,
}

#[cfg(feature = "accounts")]
impl Pending<'_> {
    /// The derivation, to run where the caller decides (it owns its data: `Send`).
    pub fn attempt(&self) -> &Attempt {
        &self.attempt
    }
}

#[cfg(not(feature = "accounts"))]
impl Pending<'_> {
    /// What PBKDF2 runs over (SHA-256 of the password, or a legacy record's raw password).
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    pub fn salt(&self) -> &[u8] {
        self.salt
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Runs the derivation on this thread.
    pub fn derive_inline(&self) -> [u8; DERIVED_KEY_LEN] {
        derive_key(&self.input, self.salt, self.iterations)
    }
}

/// Runs PBKDF2 somewhere other than the request executor (issue 20: a derivation costs ~2 ms,
/// and the std images serve every connection on one thread). `None` means it could not be run
/// now (the worker is saturated); the credential is then refused unchecked.
#[cfg(all(feature = "offload", not(feature = "accounts")))]
pub trait Kdf {
    fn derive<'a>(
        &'a self,
        pending: &'a Pending<'a>,
    ) -> core::pin::Pin<alloc::boxed::Box<dyn Future<Output = Option<[u8; DERIVED_KEY_LEN]>> + 'a>>;
}

/// Runs an account table's [`Attempt`] somewhere other than the request executor (see the
/// one-account form above); `None` when it cannot run now (refused unchecked).
#[cfg(all(feature = "offload", feature = "accounts"))]
pub trait Kdf {
    fn derive(
        &self,
        attempt: Attempt,
    ) -> core::pin::Pin<alloc::boxed::Box<dyn Future<Output = Option<Derived>> + '_>>;
}

/// The user name an `Authorization` header claims (Basic or Digest), for logging a failed login
/// without the password. `None` when there is none or the header is malformed.
pub fn claimed_user(authorization: &str) -> Option<String> {
    let (scheme, credentials) = cut(authorization.trim(), b' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = crate::b64::decode(credentials)?;
        let (user, _) = basic_pair(&decoded)?;
        String::from_utf8(user.to_vec()).ok()
    } else if scheme.eq_ignore_ascii_case("Digest") {
        pieces(credentials, b',').find_map(|param| {
            let (name, value) = cut(param, b'=')?;
            name.trim()
                .eq_ignore_ascii_case("username")
                .then(|| String::from(value.trim().trim_matches('"')))
        })
    } else {
        None
    }
}

/// A decoded Basic credential split at its first colon: (user, password).
fn basic_pair(decoded: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = decoded.iter().position(|&b| b == b':')?;
    Some((decoded.get(..colon)?, decoded.get(colon + 1..)?))
}

/// PBKDF2-HMAC-SHA256 as accounts use it, for a thread that runs derivations off the executor.
pub fn derive_key(input: &[u8], salt: &[u8], iterations: u32) -> [u8; DERIVED_KEY_LEN] {
    derive(input, salt, iterations)
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Auth");
        #[cfg(not(feature = "accounts"))]
        d.field("accounts", &self.accounts);
        #[cfg(feature = "accounts")]
        d.field("accounts", &self.table.borrow().list().count());
        d.field("cached", &self.cached())
            .field("kdf_runs", &self.kdf_runs())
            .finish()
    }
}

impl Auth {
    /// An empty table refuses every authenticated request; only anonymous Identify gets through.
    pub fn new() -> Self {
        Self {
            #[cfg(not(feature = "accounts"))]
            accounts: Vec::new(),
            #[cfg(feature = "accounts")]
            table: Rc::new(RefCell::new(AccountTable::new(
                wsbmc_accounts::LockoutPolicy::default(),
                1,
            ))),
            #[cfg(feature = "accounts")]
            on_login: None,
            #[cfg(feature = "accounts")]
            provisioning_seed: None,
            cache: RefCell::new([None; CACHE_SLOTS]),
            ttl: DEFAULT_CACHE_TTL,
            kdf_runs: Cell::new(0),
            backoff: Backoff::new(),
            #[cfg(feature = "offload")]
            kdf: None,
            #[cfg(feature = "digest")]
            nonces: Nonces::new(),
            #[cfg(feature = "digest")]
            algorithms: alloc::vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }

    /// The key Digest nonces are authenticated with. Give each boot fresh entropy: until this
    /// is called the key is all zeros and nonces could be forged.
    #[cfg(feature = "digest")]
    pub fn set_nonce_secret(&mut self, secret: [u8; 32]) {
        self.nonces.set_secret(secret);
    }

    /// How long a Digest nonce is accepted (default [`crate::DEFAULT_NONCE_TTL`]).
    #[cfg(feature = "digest")]
    pub fn set_nonce_ttl(&mut self, ttl: Duration) {
        self.nonces.set_ttl(ttl);
    }

    /// The Digest algorithms challenged with, in order; empty turns Digest off.
    #[cfg(feature = "digest")]
    pub fn set_digest_algorithms(&mut self, algorithms: &[Algorithm]) {
        self.algorithms = Vec::from(algorithms);
    }

    /// Hashes and adds a user; see [`Account::hash`].
    pub fn add_user(&mut self, name: &str, password: &[u8], salt: &[u8], iterations: u32) {
        self.add_account(Account::hash(name, password, salt, iterations));
    }

    /// Adds a user, replacing any account of the same name. The cache is cleared because its
    /// entries refer to accounts by position and may vouch for a replaced password.
    #[cfg(not(feature = "accounts"))]
    pub fn add_account(&mut self, account: Account) {
        match self.accounts.iter_mut().find(|a| a.name == account.name) {
            Some(existing) => *existing = account,
            None => self.accounts.push(account),
        }
        self.cache.get_mut().fill(None);
    }

    #[cfg(not(feature = "accounts"))]
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Adds (or replaces) an Administrator in the table from a hashed record, without the
    /// password policy (see [`AccountTable::import`]): tests, and the one-account API's
    /// callers, whose names are checked before. A name no account can have (empty, `:`, too
    /// long) is not added: change the table through [`Auth::table`] to see why.
    #[cfg(feature = "accounts")]
    pub fn add_account(&mut self, account: Account) {
        let record = account.record();
        let _ = self
            .table
            .borrow_mut()
            .import(&account.name, Role::Administrator, record);
        self.cache.get_mut().fill(None);
    }

    /// Serves the accounts of `table`, shared with whoever manages them.
    #[cfg(feature = "accounts")]
    pub fn set_table(&mut self, table: Rc<RefCell<AccountTable>>) {
        self.table = table;
        self.cache.get_mut().fill(None);
    }

    /// The table served.
    #[cfg(feature = "accounts")]
    pub fn table(&self) -> &Rc<RefCell<AccountTable>> {
        &self.table
    }

    /// Opens the provisioning path (`wsbmc_accounts::provision`) while the table is empty:
    /// Basic credentials of [`wsbmc_accounts::PROVISIONING_USER`] with the one-time secret
    /// derived from `seed` then prove the identity of that reserved name, which wsman lets
    /// through for Identify and `CreateAccount` only. Once an account exists the name is an
    /// unknown user like any other. Only Basic: the secret is never stored as a Digest HA1.
    #[cfg(feature = "accounts")]
    pub fn set_provisioning_seed(&mut self, seed: Vec<u8>) {
        self.provisioning_seed = Some(seed);
    }

    /// Calls `hook` with every login the table decided (success, failure, lock, unlock), for
    /// the audit trail (SEL) and to persist a lock. Cache hits are not logins.
    #[cfg(feature = "accounts")]
    pub fn on_login(&mut self, hook: LoginHook) {
        self.on_login = Some(hook);
    }

    /// Changes how long a verification is trusted; `Duration::from_ticks(0)` disables the cache.
    pub fn set_cache_ttl(&mut self, ttl: Duration) {
        self.ttl = ttl;
        self.cache.get_mut().fill(None);
    }

    /// Number of PBKDF2 derivations run for incoming credentials since start-up. A cheap
    /// health metric (a climbing count means clients miss the cache, or someone is guessing).
    pub fn kdf_runs(&self) -> u32 {
        self.kdf_runs.get()
    }

    /// Number of credentials currently remembered (expired ones included until reused).
    pub fn cached(&self) -> usize {
        self.cache.borrow().iter().flatten().count()
    }

    /// Checks an `Authorization` header value against every scheme and returns the user it
    /// proves, if any (a request `POST /wsman` on a listener that offers everything).
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<Identity> {
        match self.check(authorization, "/wsman", &Offer::ALL) {
            Verdict::User(user) => Some(user),
            Verdict::Stale | Verdict::Denied | Verdict::Throttled => None,
        }
    }

    /// Checks an `Authorization` header of a `POST` to `target` (the request-target as sent,
    /// which a Digest `uri` must repeat) with the schemes `offer` allows. PBKDF2, when needed,
    /// runs here on the caller's thread; no back-off applies (the source is unknown).
    pub fn check(&self, authorization: Option<&str>, target: &str, offer: &Offer) -> Verdict {
        match self.begin(authorization, target, offer, None) {
            Step::Done(verdict) => verdict,
            Step::Derive(pending) => self.finish_inline(pending),
        }
    }

    /// Runs `pending`'s PBKDF2 on this thread and finishes the check.
    pub(crate) fn finish_inline(&self, pending: Pending<'_>) -> Verdict {
        #[cfg(not(feature = "accounts"))]
        {
            let key = pending.derive_inline();
            self.finish(pending, &key)
        }
        #[cfg(feature = "accounts")]
        {
            let Pending {
                attempt,
                cache_key,
                source,
                ..
            } = pending;
            self.finish(attempt.derive(), cache_key, source)
        }
    }

    /// Where Basic's PBKDF2 runs for requests served by the connection loop; without one it
    /// runs inline (the bare-metal image, which has no other thread).
    #[cfg(feature = "offload")]
    pub fn set_kdf(&mut self, kdf: alloc::boxed::Box<dyn Kdf>) {
        self.kdf = Some(kdf);
    }

    /// Runs `pending`'s derivation where [`Auth::set_kdf`] says, and finishes the check.
    #[cfg(feature = "offload")]
    pub(crate) async fn derive_and_finish(&self, pending: Pending<'_>) -> Verdict {
        #[cfg(not(feature = "accounts"))]
        if let Some(kdf) = &self.kdf {
            return match kdf.derive(&pending).await {
                Some(key) => self.finish(pending, &key),
                None => Verdict::Throttled,
            };
        }
        #[cfg(feature = "accounts")]
        if let Some(kdf) = &self.kdf {
            let Pending {
                attempt,
                cache_key,
                source,
                ..
            } = pending;
            return match kdf.derive(attempt).await {
                Some(derived) => self.finish(derived, cache_key, source),
                None => Verdict::Throttled,
            };
        }
        self.finish_inline(pending)
    }

    /// The back-off table of failed logins by source address.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The first half of a check: everything but PBKDF2. A source in back-off is refused here,
    /// unchecked; a Digest answer or a cached Basic credential is decided here; an uncached
    /// Basic credential comes back as the derivation still to run.
    pub(crate) fn begin(
        &self,
        authorization: Option<&str>,
        target: &str,
        offer: &Offer,
        source: Option<&Source>,
    ) -> Step<'_> {
        let Some(header) = authorization.map(str::trim_ascii) else {
            return Step::Done(Verdict::Denied);
        };
        let (scheme, credentials) = match cut(header, b' ') {
            Some((scheme, rest)) => (scheme, rest.trim_ascii()),
            None => (header, ""),
        };
        let now = Instant::now();
        let blocked = source.is_some_and(|s| self.backoff.blocked(s, now));
        let account = if scheme.eq_ignore_ascii_case("Basic") && offer.basic {
            let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
            if let Some(account) = self.cached_user(&key, now) {
                return Step::Done(self.done(Some(account), source));
            }
            if blocked {
                return Step::Done(Verdict::Throttled);
            }
            match self.basic(credentials, key, source) {
                Some(step) => return step,
                None => None,
            }
        } else if scheme.eq_ignore_ascii_case("Digest") && self.offers_digest(offer) {
            if blocked {
                return Step::Done(Verdict::Throttled);
            }
            #[cfg(all(feature = "digest", not(feature = "accounts")))]
            match digest::verify(
                &self.nonces,
                &Table(&self.accounts),
                credentials,
                "POST",
                target,
                &self.algorithms,
                now,
            ) {
                Check::Ok(index, _) => self.identity(index),
                Check::Stale => return Step::Done(Verdict::Stale),
                Check::Wrong(..) | Check::Denied => None,
            }
            #[cfg(all(feature = "digest", feature = "accounts"))]
            {
                let check = digest::verify(
                    &self.nonces,
                    &*self.table.borrow(),
                    credentials,
                    "POST",
                    target,
                    &self.algorithms,
                    now,
                );
                // The name is the header's `username`, which the table's `get` matched exactly:
                // the account's own name, for the audit.
                let (slot, right, claimed) = match check {
                    Check::Ok(slot, user) => (slot, true, user),
                    Check::Wrong(slot, user) => (slot, false, user),
                    Check::Stale => return Step::Done(Verdict::Stale),
                    Check::Denied => return Step::Done(self.done(None, source)),
                };
                let slot = u8::try_from(slot).unwrap_or(u8::MAX);
                let outcome = self.table.borrow_mut().finish_checked(
                    Some(slot),
                    &claimed,
                    right,
                    now_ms(now),
                );
                self.report(&outcome);
                outcome.result.ok().map(|id| Identity {
                    name: id.name,
                    role: id.role,
                })
            }
            #[cfg(not(feature = "digest"))]
            {
                let _ = target;
                None
            }
        } else {
            // A scheme this listener does not check (Negotiate, say) is no failed login.
            return Step::Done(Verdict::Denied);
        };
        Step::Done(self.done(account, source))
    }

    /// The Basic credential decoded once for both the provisioning path and the ordinary
    /// login (each decoded and split it on its own before); `None` when it does not decode.
    fn basic(&self, credentials: &str, key: [u8; 32], source: Option<&Source>) -> Option<Step<'_>> {
        let decoded = crate::b64::decode(credentials)?;
        let (user, password) = basic_pair(&decoded)?;
        #[cfg(feature = "accounts")]
        if let Some(proven) = self.provisioning_login(user, password) {
            return Some(Step::Done(self.done(proven, source)));
        }
        self.prepare_basic(user, password, key, source)
            .map(Step::Derive)
    }

    /// Basic credentials for the provisioning path: `None` when they are not for it (another
    /// name, no seed, or an account exists already: the ordinary login then refuses the
    /// reserved name), else whether the secret matched. Never cached, so the first request
    /// after provisioning is checked again and refused. A wrong secret is audited as a failed
    /// login of the reserved name and counts for the source's back-off like any other.
    #[cfg(feature = "accounts")]
    fn provisioning_login(&self, user: &[u8], password: &[u8]) -> Option<Option<Identity>> {
        use wsbmc_accounts::{PROVISIONING_USER, ProvisionError};
        let seed = self.provisioning_seed.as_deref()?;
        if !user.eq_ignore_ascii_case(PROVISIONING_USER.as_bytes()) {
            return None;
        }
        let secret = {
            let table = self.table.borrow();
            if table.is_provisioned() {
                return None;
            }
            table.provisioning_secret(seed).ok()?
        };
        // Not UTF-8 cannot be the secret's digits.
        let right = core::str::from_utf8(password).is_ok_and(|typed| secret.matches(typed));
        if right {
            return Some(Some(Identity {
                name: String::from(PROVISIONING_USER),
                // Least privilege: wsman decides by the reserved name (Identify and
                // CreateAccount only), and anything that looked at the role alone would
                // see a reader.
                role: Role::ReadOnly,
            }));
        }
        if let Some(event) = ProvisionError::WrongSecret.audit() {
            let mut outcome = LoginOutcome {
                result: Err(wsbmc_accounts::Refused::BadCredentials),
                audit: Default::default(),
                write: None,
            };
            let _ = outcome.audit.push(event);
            self.report(&outcome);
        }
        Some(None)
    }

    /// The second half of a check, once `key` is derived for `pending`.
    #[cfg(not(feature = "accounts"))]
    pub(crate) fn finish(&self, pending: Pending<'_>, key: &[u8; DERIVED_KEY_LEN]) -> Verdict {
        let matches = self
            .accounts
            .get(pending.probe)
            .is_some_and(|a| bool::from(key.ct_eq(&a.key)));
        let account = pending.found.filter(|_| matches);
        if let Some(account) = account {
            self.cache_insert(pending.cache_key, account, Instant::now());
        }
        self.done(
            account.and_then(|a| self.identity(a)),
            pending.source.as_ref(),
        )
    }

    /// The second half of a check, once the attempt's PBKDF2 ran: the table decides (lock,
    /// disable, password), its events go to the hook, a success is cached.
    #[cfg(feature = "accounts")]
    pub(crate) fn finish(
        &self,
        derived: Derived,
        cache_key: [u8; 32],
        source: Option<Source>,
    ) -> Verdict {
        let now = Instant::now();
        let outcome = self.table.borrow_mut().finish_login(derived, now_ms(now));
        self.report(&outcome);
        let identity = match outcome.result {
            Ok(id) => {
                let generation = self.table.borrow().generation();
                self.cache_insert(cache_key, usize::from(id.slot), generation, now);
                Some(Identity {
                    name: id.name,
                    role: id.role,
                })
            }
            Err(_) => None,
        };
        self.done(identity, source.as_ref())
    }

    #[cfg(feature = "accounts")]
    fn report(&self, outcome: &LoginOutcome) {
        if let Some(hook) = &self.on_login {
            hook(outcome);
        }
    }

    /// Who the account at `index` of the one-account list is: each is an Administrator.
    #[cfg(not(feature = "accounts"))]
    fn identity(&self, index: usize) -> Option<Identity> {
        self.accounts.get(index).map(|a| Identity {
            name: a.name.clone(),
            role: Role::Administrator,
        })
    }

    /// The account a cached credential vouches for, if it may still log in.
    #[cfg(not(feature = "accounts"))]
    fn cached_user(&self, key: &[u8; 32], now: Instant) -> Option<Identity> {
        self.cache_lookup(key, now)
            .and_then(|(index, _)| self.identity(index))
    }

    /// The account a cached credential vouches for, if nothing changed in the table since it
    /// was verified and the account may still log in (a lock or a disable since then ends it:
    /// the credential is then checked again, and the table refuses it with its audit).
    #[cfg(feature = "accounts")]
    fn cached_user(&self, key: &[u8; 32], now: Instant) -> Option<Identity> {
        let (slot, generation) = self.cache_lookup(key, now)?;
        let table = self.table.borrow();
        let id = (generation == table.generation())
            .then(|| table.may_log_in(u8::try_from(slot).ok()?, now_ms(now)))
            .flatten();
        if id.is_none() {
            self.cache_forget(key);
        }
        id.map(|id| Identity {
            name: id.name,
            role: id.role,
        })
    }

    /// Records the outcome of a checked credential against its source.
    fn done(&self, account: Option<Identity>, source: Option<&Source>) -> Verdict {
        match account {
            Some(a) => {
                if let Some(source) = source {
                    self.backoff.succeeded(source);
                }
                Verdict::User(a)
            }
            None => {
                if let Some(source) = source {
                    self.backoff.failed(source, Instant::now());
                }
                Verdict::Denied
            }
        }
    }

    /// Whether a listener with `offer` challenges with Digest: the listener allows it, this
    /// build has it, and some algorithm is configured.
    pub fn offers_digest(&self, offer: &Offer) -> bool {
        #[cfg(feature = "digest")]
        {
            offer.digest && !self.algorithms.is_empty()
        }
        #[cfg(not(feature = "digest"))]
        {
            let _ = offer;
            false
        }
    }

    /// Appends the `WWW-Authenticate` header lines of a 401 to a response head: Digest (one
    /// line per algorithm, sharing one fresh nonce) before Basic, as the listener offers them.
    pub(crate) fn write_challenges(&self, head: &mut String, offer: &Offer, stale: bool) {
        #[cfg(feature = "digest")]
        if self.offers_digest(offer) {
            let mut nonce = String::new();
            self.nonces.issue(Instant::now(), &mut nonce);
            digest::write_challenges(head, &self.algorithms, &nonce, stale);
        }
        #[cfg(not(feature = "digest"))]
        let _ = stale;
        if offer.basic {
            put(head, "WWW-Authenticate: ");
            put(head, BASIC_CHALLENGE);
            put(head, "\r\n");
        }
    }

    /// Decodes Basic credentials into the derivation that checks them: the table's attempt,
    /// which does the same work for a name no account has.
    #[cfg(feature = "accounts")]
    fn prepare_basic(
        &self,
        user: &[u8],
        password: &[u8],
        cache_key: [u8; 32],
        source: Option<&Source>,
    ) -> Option<Pending<'_>> {
        // A name that is not UTF-8 is no account's; it still costs the dummy derivation.
        let user = core::str::from_utf8(user).unwrap_or("\u{fffd}");
        self.kdf_runs.set(self.kdf_runs.get().saturating_add(1));
        Some(Pending {
            attempt: self.table.borrow().begin_login(user, password),
            cache_key,
            source: source.copied(),
            _auth: core::marker::PhantomData,
        })
    }

    /// Decodes Basic credentials into the derivation that checks them. Exactly one PBKDF2 runs
    /// whether or not the user exists (against the first account when none has the name), so
    /// response time does not reveal valid user names.
    #[cfg(not(feature = "accounts"))]
    fn prepare_basic(
        &self,
        user: &[u8],
        password: &[u8],
        cache_key: [u8; 32],
        source: Option<&Source>,
    ) -> Option<Pending<'_>> {
        let mut found = None;
        for (index, account) in self.accounts.iter().enumerate() {
            let same: bool = account.name.as_bytes().ct_eq(user).into();
            if same && found.is_none() {
                found = Some(index);
            }
        }
        let probe = found.or(if self.accounts.is_empty() {
            None
        } else {
            Some(0)
        })?;
        self.kdf_runs.set(self.kdf_runs.get().saturating_add(1));
        let account = &self.accounts[probe];
        Some(Pending {
            input: account.kdf_input(password),
            salt: &account.salt,
            iterations: account.iterations,
            cache_key,
            found,
            probe,
            source: source.copied(),
        })
    }

    /// The account (and, with `accounts`, the table generation) a cached credential was
    /// verified for.
    fn cache_lookup(&self, key: &[u8; 32], now: Instant) -> Option<(usize, u32)> {
        let mut cache = self.cache.borrow_mut();
        for slot in cache.iter_mut() {
            let Some(entry) = slot else { continue };
            if bool::from(entry.key.ct_eq(key)) {
                if now < entry.expires {
                    #[cfg(feature = "accounts")]
                    return Some((entry.account, entry.generation));
                    #[cfg(not(feature = "accounts"))]
                    return Some((entry.account, 0));
                }
                *slot = None;
            }
        }
        None
    }

    #[cfg(feature = "accounts")]
    fn cache_forget(&self, key: &[u8; 32]) {
        for slot in self.cache.borrow_mut().iter_mut() {
            if slot.is_some_and(|e| bool::from(e.key.ct_eq(key))) {
                *slot = None;
            }
        }
    }

    fn cache_insert(
        &self,
        key: [u8; 32],
        account: usize,
        #[cfg(feature = "accounts")] generation: u32,
        now: Instant,
    ) {
        if self.ttl.as_ticks() == 0 {
            return;
        }
        let entry = CacheEntry {
            key,
            account,
            #[cfg(feature = "accounts")]
            generation,
            inserted: now,
            expires: now.saturating_add(self.ttl),
        };
        let mut cache = self.cache.borrow_mut();
        // Prefer a free or expired slot; otherwise the oldest entry goes.
        let mut victim = 0;
        let mut victim_rank = (true, Instant::MAX);
        for (index, slot) in cache.iter().enumerate() {
            let rank = match slot {
                None => (false, Instant::MIN),
                Some(e) if e.expires <= now => (false, e.inserted),
                Some(e) => (true, e.inserted),
            };
            if rank < victim_rank {
                victim = index;
                victim_rank = rank;
            }
        }
        if let Some(slot) = cache.get_mut(victim) {
            *slot = Some(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// An account `add_user` made: an Administrator in either build.
    fn id(name: &str) -> Identity {
        Identity {
            name: name.into(),
            role: Role::Administrator,
        }
    }

    fn basic(user: &str, password: &str) -> String {
        let mut raw = String::from(user);
        raw.push(':');
        raw.push_str(password);
        let mut header = String::from("Basic ");
        header.push_str(&base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()));
        header
    }

    #[test]
    fn derivation_matches_rfc7914_vector() {
        // PBKDF2-HMAC-SHA256("password", "salt", c=1, dkLen=32).
        let expected = [
            0x12, 0x0f, 0xb6, 0xcf, 0xfc, 0xf8, 0xb3, 0x2c, 0x43, 0xe7, 0x22, 0x52, 0x56, 0xc4,
            0xf8, 0x37, 0xa8, 0x65, 0x48, 0xc9, 0x2c, 0xcc, 0x35, 0x48, 0x08, 0x05, 0x98, 0x7c,
            0xb7, 0x0b, 0xe1, 0x7b,
        ];
        assert_eq!(derive(b"password", b"salt", 1), expected);
        // New accounts key PBKDF2 with SHA-256 of the password.
        let account = Account::hash("u", b"password", b"salt", 1);
        assert_eq!(
            account.derived_key(),
            &derive(&password_key(b"password"), b"salt", 1)
        );
        #[cfg(feature = "legacy-hash")]
        {
            let legacy = Account::from_legacy_hash("u", b"salt", 1, expected);
            let mut auth = Auth::new();
            auth.add_account(legacy);
            assert_eq!(
                auth.authenticate(Some(&basic("u", "password"))),
                Some(id("u"))
            );
        }
    }

    /// Issue 20, finding 4: exactly one password authenticates an account.
    #[test]
    fn padded_and_prehashed_passwords_do_not_authenticate() {
        let long = "L".repeat(80);
        let mut auth = Auth::new();
        auth.add_user("short", b"password", b"salt", 1);
        auth.add_user("long", long.as_bytes(), b"salt", 1);
        auth.set_cache_ttl(Duration::from_ticks(0));
        assert_eq!(
            auth.authenticate(Some(&basic("short", "password"))),
            Some(id("short"))
        );
        assert_eq!(
            auth.authenticate(Some(&basic("long", &long))),
            Some(id("long"))
        );
        for nuls in [1, 2, 54] {
            let padded = alloc::format!("password{}", "\0".repeat(nuls));
            assert_eq!(auth.authenticate(Some(&basic("short", &padded))), None);
        }
        let raw: [u8; 32] = Sha256::digest(long.as_bytes()).into();
        let mut header = b"long:".to_vec();
        header.extend_from_slice(&raw);
        let header = alloc::format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(&header)
        );
        assert_eq!(auth.authenticate(Some(&header)), None);

        // A record made by the old scheme still verifies its password, and refuses the NUL form.
        #[cfg(feature = "legacy-hash")]
        legacy_record_refuses_the_nul_form();
    }

    #[cfg(feature = "legacy-hash")]
    fn legacy_record_refuses_the_nul_form() {
        let old = derive(b"password", b"salt", 1);
        let mut legacy = Auth::new();
        legacy.add_account(Account::from_legacy_hash("old", b"salt", 1, old));
        legacy.set_cache_ttl(Duration::from_ticks(0));
        assert_eq!(
            legacy.authenticate(Some(&basic("old", "password"))),
            Some(id("old"))
        );
        assert_eq!(legacy.authenticate(Some(&basic("old", "password\0"))), None);
        #[cfg(not(feature = "accounts"))]
        assert!(legacy.accounts()[0].is_legacy());
    }

    #[test]
    fn prehashed_record_verifies_like_hashed_one() {
        let hashed = Account::hash("admin", b"secret", b"NaCl", 3);
        let mut auth = Auth::new();
        auth.add_account(Account::from_hash(
            "admin",
            hashed.salt(),
            hashed.iterations(),
            *hashed.derived_key(),
        ));
        assert_eq!(
            auth.authenticate(Some(&basic("admin", "secret"))),
            Some(id("admin"))
        );
        assert_eq!(auth.authenticate(Some(&basic("admin", "wrong"))), None);
    }

    #[test]
    fn rejects_malformed_headers_and_unknown_users() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"secret", b"salt", 2);
        assert_eq!(auth.authenticate(None), None);
        assert_eq!(auth.authenticate(Some("Basic")), None);
        assert_eq!(auth.authenticate(Some("Basic !!!not-base64")), None);
        // "adminsecret" has no colon.
        assert_eq!(auth.authenticate(Some("Basic YWRtaW5zZWNyZXQ=")), None);
        assert_eq!(auth.authenticate(Some("Digest username=\"admin\"")), None);
        assert_eq!(auth.authenticate(Some("Digest")), None);
        assert_eq!(auth.authenticate(Some(&basic("root", "secret"))), None);
        // An unknown user still costs one derivation, like a known one.
        assert_eq!(auth.kdf_runs(), 1);
        // The scheme is case-insensitive and surrounding blanks are ignored.
        let lower = basic("admin", "secret").replace("Basic", "basic");
        assert_eq!(auth.authenticate(Some(&lower)), Some(id("admin")));
        let spaced = basic("admin", "secret").replace("Basic ", " \tBasic \t ") + " \t";
        assert_eq!(auth.authenticate(Some(&spaced)), Some(id("admin")));
        // Blanks are spaces and tabs (RFC 9110's OWS), as the head parser trims them: a
        // Unicode space is part of the credentials, which then do not decode.
        let nbsp = basic("admin", "secret") + "\u{a0}";
        assert_eq!(auth.authenticate(Some(&nbsp)), None);
    }

    #[test]
    fn password_may_contain_colons() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"a:b:c", b"salt", 2);
        assert_eq!(
            auth.authenticate(Some(&basic("admin", "a:b:c"))),
            Some(id("admin"))
        );
    }

    #[test]
    fn empty_table_refuses_everyone_without_panicking() {
        let auth = Auth::new();
        assert_eq!(auth.authenticate(Some(&basic("admin", "x"))), None);
        // The table runs its dummy derivation even then: an unprovisioned device's answer
        // takes as long as a provisioned one's.
        let runs = if cfg!(feature = "accounts") { 1 } else { 0 };
        assert_eq!(auth.kdf_runs(), runs);
    }

    #[test]
    fn cache_hit_skips_derivation_and_failures_are_not_cached() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"secret", b"salt", 2);
        let good = basic("admin", "secret");
        assert_eq!(auth.authenticate(Some(&good)), Some(id("admin")));
        assert_eq!(auth.authenticate(Some(&good)), Some(id("admin")));
        assert_eq!(auth.kdf_runs(), 1);
        let bad = basic("admin", "nope");
        assert_eq!(auth.authenticate(Some(&bad)), None);
        assert_eq!(auth.authenticate(Some(&bad)), None);
        assert_eq!(auth.kdf_runs(), 3);
        assert_eq!(auth.cached(), 1);
    }

    #[test]
    fn cache_is_bounded_and_evicts_the_oldest() {
        let mut auth = Auth::new();
        let names: Vec<String> = (0..=CACHE_SLOTS)
            .map(|i| alloc::format!("user{i}"))
            .collect();
        for name in &names {
            auth.add_user(name, b"pw", b"salt", 1);
        }
        for name in &names {
            assert_eq!(auth.authenticate(Some(&basic(name, "pw"))), Some(id(name)));
        }
        assert_eq!(auth.cached(), CACHE_SLOTS);
        let runs = auth.kdf_runs();
        // The newest is still cached, the oldest was evicted.
        auth.authenticate(Some(&basic(&names[CACHE_SLOTS], "pw")));
        assert_eq!(auth.kdf_runs(), runs);
        auth.authenticate(Some(&basic(&names[0], "pw")));
        assert_eq!(auth.kdf_runs(), runs + 1);
        assert_eq!(auth.cached(), CACHE_SLOTS);
    }

    #[test]
    fn replacing_an_account_drops_cached_verifications() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"old", b"salt", 1);
        let old = basic("admin", "old");
        assert_eq!(auth.authenticate(Some(&old)), Some(id("admin")));
        auth.add_user("admin", b"new", b"salt", 1);
        #[cfg(not(feature = "accounts"))]
        assert_eq!(auth.accounts().len(), 1);
        #[cfg(feature = "accounts")]
        assert_eq!(auth.table().borrow().list().count(), 1);
        assert_eq!(auth.authenticate(Some(&old)), None);
        assert_eq!(
            auth.authenticate(Some(&basic("admin", "new"))),
            Some(id("admin"))
        );
    }

    #[test]
    fn debug_output_does_not_leak_the_key() {
        let account = Account::hash("admin", b"secret", b"salt", 1);
        let text = alloc::format!("{account:?}");
        assert!(text.contains("admin"));
        assert!(!text.contains("key"));
    }

    #[cfg(feature = "digest")]
    mod digest_flow {
        use super::*;
        use crate::digest::tests::client_response;

        fn auth() -> Auth {
            let mut auth = Auth::new();
            auth.set_nonce_secret([42; 32]);
            auth.add_user("admin", b"secret", b"salt", 1);
            auth
        }

        /// The nonce of the first Digest challenge, as a client reads it.
        fn challenge(auth: &Auth, offer: &Offer) -> (String, String) {
            let mut head = String::new();
            auth.write_challenges(&mut head, offer, false);
            let start = head.find("nonce=\"").expect("a nonce") + 7;
            let end = start + head[start..].find('"').expect("closing quote");
            (head[start..end].into(), head)
        }

        fn header(alg: Algorithm, password: &str, nonce: &str, nc: u32, uri: &str) -> String {
            let nc = alloc::format!("{nc:08x}");
            let response = client_response(alg, "admin", password, nonce, &nc, "c0ffee", uri);
            alloc::format!(
                "Digest username=\"admin\", realm=\"WSMAN\", nonce=\"{nonce}\", uri=\"{uri}\", \
                 algorithm={}, qop=auth, nc={nc}, cnonce=\"c0ffee\", response=\"{response}\"",
                alg.token()
            )
        }

        #[test]
        fn challenges_offer_digest_then_basic_as_the_listener_allows() {
            let auth = auth();
            let (_, head) = challenge(&auth, &Offer::HTTP);
            let lines: Vec<&str> = head.lines().collect();
            assert_eq!(lines.len(), 3, "{head}");
            assert!(lines[0].contains("Digest realm=\"WSMAN\", qop=\"auth\", algorithm=SHA-256"));
            assert!(lines[1].contains("algorithm=MD5"));
            assert_eq!(lines[2], "WWW-Authenticate: Basic realm=\"WSMAN\"");
            let digest_only = Offer {
                secure: false,
                basic: false,
                digest: true,
            };
            let (_, head) = challenge(&auth, &digest_only);
            assert!(!head.contains("Basic"));
        }

        #[test]
        fn both_algorithms_verify_and_no_pbkdf2_runs() {
            let auth = auth();
            for alg in [Algorithm::Sha256, Algorithm::Md5] {
                let (nonce, _) = challenge(&auth, &Offer::HTTP);
                let h = header(alg, "secret", &nonce, 1, "/wsman");
                assert_eq!(
                    auth.check(Some(&h), "/wsman", &Offer::HTTP),
                    Verdict::User(id("admin"))
                );
                let h = header(alg, "secret", &nonce, 2, "/wsman");
                assert_eq!(
                    auth.check(Some(&h), "/wsman", &Offer::HTTP),
                    Verdict::User(id("admin"))
                );
            }
            assert_eq!(auth.kdf_runs(), 0);
        }

        #[test]
        fn replayed_count_wrong_password_uri_or_nonce_are_denied() {
            let auth = auth();
            let (nonce, _) = challenge(&auth, &Offer::HTTP);
            let ok = header(Algorithm::Sha256, "secret", &nonce, 5, "/wsman");
            assert_eq!(
                auth.check(Some(&ok), "/wsman", &Offer::HTTP),
                Verdict::User(id("admin"))
            );
            // The very same header again, and a lower count: replays.
            assert_eq!(
                auth.check(Some(&ok), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            let lower = header(Algorithm::Sha256, "secret", &nonce, 4, "/wsman");
            assert_eq!(
                auth.check(Some(&lower), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            let wrong = header(Algorithm::Sha256, "nope", &nonce, 6, "/wsman");
            assert_eq!(
                auth.check(Some(&wrong), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            // A wrong password did not consume count 6.
            let six = header(Algorithm::Sha256, "secret", &nonce, 6, "/wsman");
            assert_eq!(
                auth.check(Some(&six), "/wsman", &Offer::HTTP),
                Verdict::User(id("admin"))
            );
            // The uri must be the request's target.
            let other = header(Algorithm::Sha256, "secret", &nonce, 7, "/other");
            assert_eq!(
                auth.check(Some(&other), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            // A nonce the server never issued.
            let forged = header(
                Algorithm::Sha256,
                "secret",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                1,
                "/wsman",
            );
            assert_eq!(
                auth.check(Some(&forged), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            // Missing qop (RFC 2069 style) and an unknown algorithm.
            let no_qop = ok.replace("qop=auth, ", "");
            assert_eq!(
                auth.check(Some(&no_qop), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            let sess = header(Algorithm::Sha256, "secret", &nonce, 8, "/wsman")
                .replace("algorithm=SHA-256", "algorithm=SHA-256-sess");
            assert_eq!(
                auth.check(Some(&sess), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
        }

        #[test]
        fn expired_nonce_is_stale_only_with_the_right_password() {
            let mut auth = auth();
            auth.set_nonce_ttl(Duration::from_millis(0));
            let (nonce, _) = challenge(&auth, &Offer::HTTP);
            let start = Instant::now();
            while Instant::now() <= start + Duration::from_millis(2) {}
            let good = header(Algorithm::Md5, "secret", &nonce, 1, "/wsman");
            assert_eq!(
                auth.check(Some(&good), "/wsman", &Offer::HTTP),
                Verdict::Stale
            );
            let bad = header(Algorithm::Md5, "wrong", &nonce, 2, "/wsman");
            assert_eq!(
                auth.check(Some(&bad), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
            let mut head = String::new();
            auth.write_challenges(&mut head, &Offer::HTTP, true);
            assert_eq!(head.matches("stale=true").count(), 2);
        }

        #[test]
        fn schemes_the_listener_does_not_offer_are_refused() {
            let auth = auth();
            let digest_only = Offer {
                secure: false,
                basic: false,
                digest: true,
            };
            assert_eq!(
                auth.check(Some(&basic("admin", "secret")), "/wsman", &digest_only),
                Verdict::Denied
            );
            let basic_only = Offer {
                secure: true,
                basic: true,
                digest: false,
            };
            let (nonce, _) = challenge(&auth, &Offer::HTTP);
            let h = header(Algorithm::Sha256, "secret", &nonce, 1, "/wsman");
            assert_eq!(auth.check(Some(&h), "/wsman", &basic_only), Verdict::Denied);
            let mut only_md5 = auth;
            only_md5.set_digest_algorithms(&[Algorithm::Md5]);
            let (nonce, head) = challenge(&only_md5, &Offer::HTTP);
            assert!(!head.contains("SHA-256"));
            let h = header(Algorithm::Sha256, "secret", &nonce, 1, "/wsman");
            assert_eq!(
                only_md5.check(Some(&h), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
        }

        #[test]
        fn prehashed_digest_keys_verify() {
            let mut auth = Auth::new();
            auth.set_nonce_secret([3; 32]);
            let hashed = Account::hash("admin", b"secret", b"salt", 1);
            let keys = hashed.digest_keys().expect("derived").clone();
            auth.add_account(
                Account::from_hash("admin", b"salt", 1, *hashed.derived_key()).with_digest(keys),
            );
            let (nonce, _) = challenge(&auth, &Offer::HTTP);
            let h = header(Algorithm::Md5, "secret", &nonce, 1, "/wsman");
            assert_eq!(
                auth.check(Some(&h), "/wsman", &Offer::HTTP),
                Verdict::User(id("admin"))
            );
            // Without keys the account cannot use Digest.
            let mut basic_only = Auth::new();
            basic_only.add_account(Account::from_hash(
                "admin",
                b"salt",
                1,
                *hashed.derived_key(),
            ));
            let (nonce, _) = challenge(&basic_only, &Offer::HTTP);
            let h = header(Algorithm::Md5, "secret", &nonce, 1, "/wsman");
            assert_eq!(
                basic_only.check(Some(&h), "/wsman", &Offer::HTTP),
                Verdict::Denied
            );
        }
    }
}

/// The table-backed build (issue 15): roles, the lockout, the cache against a lock.
#[cfg(test)]
#[cfg(feature = "accounts")]
mod table_tests {
    use super::*;
    use alloc::vec;
    use base64::Engine as _;
    use wsbmc_accounts::{AuditKind, LockoutPolicy, NewPassword};

    fn basic(user: &str, password: &str) -> String {
        let raw = alloc::format!("{user}:{password}");
        alloc::format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
        )
    }

    fn auth_with(policy: LockoutPolicy) -> (Auth, Rc<RefCell<Vec<AuditKind>>>) {
        let mut table = AccountTable::new(policy, 2);
        for (name, role) in [
            ("admin", Role::Administrator),
            ("op", Role::Operator),
            ("viewer", Role::ReadOnly),
        ] {
            let pw = NewPassword::new(name, b"password-1", b"0123456789abcdef", 2).unwrap();
            table.create(name, role, pw).unwrap();
        }
        let mut auth = Auth::new();
        auth.set_table(Rc::new(RefCell::new(table)));
        let seen = Rc::new(RefCell::new(Vec::new()));
        let log = seen.clone();
        auth.on_login(alloc::boxed::Box::new(move |o: &LoginOutcome| {
            log.borrow_mut().extend(o.audit.iter().map(|e| e.kind));
        }));
        (auth, seen)
    }

    #[test]
    fn the_role_reaches_the_identity() {
        let (auth, _) = auth_with(LockoutPolicy::default());
        for (name, role) in [
            ("admin", Role::Administrator),
            ("op", Role::Operator),
            ("viewer", Role::ReadOnly),
        ] {
            let id = auth.authenticate(Some(&basic(name, "password-1")));
            assert_eq!(id.map(|i| (i.name, i.role)), Some((name.into(), role)));
        }
        assert_eq!(auth.authenticate(Some(&basic("op", "password-2"))), None);
    }

    /// Five wrong passwords lock the account: then the right one, even cached, is refused
    /// like a wrong one, and the failures, the lock and the refusal are audited.
    #[test]
    fn a_locked_account_refuses_the_right_password_even_cached() {
        let (auth, seen) = auth_with(LockoutPolicy::new(5, 60_000, 60_000).unwrap());
        let good = basic("admin", "password-1");
        assert!(auth.authenticate(Some(&good)).is_some());
        let runs = auth.kdf_runs();
        assert!(auth.authenticate(Some(&good)).is_some());
        assert_eq!(auth.kdf_runs(), runs, "cached");
        for _ in 0..5 {
            assert_eq!(auth.authenticate(Some(&basic("admin", "wrong-pass"))), None);
        }
        assert_eq!(auth.authenticate(Some(&good)), None);
        assert!(auth.table().borrow().get("admin").unwrap().1.is_locked(0));
        let kinds = seen.borrow().clone();
        assert_eq!(
            kinds,
            vec![
                AuditKind::LoginFailed,
                AuditKind::LoginFailed,
                AuditKind::LoginFailed,
                AuditKind::LoginFailed,
                AuditKind::LoginFailed,
                AuditKind::LockedOut,
                AuditKind::LoginWhileLocked,
            ]
        );
        // Other accounts are unaffected.
        assert!(
            auth.authenticate(Some(&basic("op", "password-1")))
                .is_some()
        );
    }

    /// A change to the table (here a disable) voids cached verifications.
    #[test]
    fn a_disabled_account_is_refused_at_once() {
        let (auth, _) = auth_with(LockoutPolicy::default());
        let good = basic("viewer", "password-1");
        assert!(auth.authenticate(Some(&good)).is_some());
        auth.table()
            .borrow_mut()
            .set_enabled("viewer", false)
            .unwrap();
        assert_eq!(auth.authenticate(Some(&good)), None);
    }

    #[cfg(feature = "digest")]
    #[test]
    fn digest_guesses_count_towards_the_lock() {
        use crate::digest::tests::client_response;
        let mut table = AccountTable::new(LockoutPolicy::new(2, 60_000, 60_000).unwrap(), 2);
        let account = Account::hash("admin", b"password-1", b"salt", 2);
        table
            .import("admin", Role::Administrator, account.record())
            .unwrap();
        let mut auth = Auth::new();
        auth.set_nonce_secret([7; 32]);
        auth.set_table(Rc::new(RefCell::new(table)));
        let header = |password: &str, nc: u32| {
            let mut head = String::new();
            auth.write_challenges(&mut head, &Offer::HTTP, false);
            let start = head.find("nonce=\"").unwrap() + 7;
            let nonce = &head[start..start + head[start..].find('"').unwrap()];
            let nc = alloc::format!("{nc:08x}");
            let r = client_response(
                Algorithm::Sha256,
                "admin",
                password,
                nonce,
                &nc,
                "c0ffee",
                "/wsman",
            );
            alloc::format!(
                "Digest username=\"admin\", realm=\"WSMAN\", nonce=\"{nonce}\", uri=\"/wsman\", \
                 algorithm=SHA-256, qop=auth, nc={nc}, cnonce=\"c0ffee\", response=\"{r}\""
            )
        };
        let ok = auth.check(Some(&header("password-1", 1)), "/wsman", &Offer::HTTP);
        assert_eq!(ok.user(), Some("admin"));
        for nc in 2..4 {
            let v = auth.check(Some(&header("guess", nc)), "/wsman", &Offer::HTTP);
            assert_eq!(v, Verdict::Denied);
        }
        let v = auth.check(Some(&header("password-1", 5)), "/wsman", &Offer::HTTP);
        assert_eq!(v, Verdict::Denied, "locked");
    }
}
