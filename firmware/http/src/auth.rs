//! Who may talk to the endpoint: accounts, `Authorization` checking and the verification cache.
//!
//! Passwords are stored only as PBKDF2-HMAC-SHA256 derived keys, so a dump of the account table
//! (flash, a config file) does not hand out credentials. PBKDF2 is deliberately slow, and Basic
//! auth resends the password on every WS-Man request, so successful verifications are cached for
//! a few minutes keyed by a SHA-256 of the raw header value.
//!
//! Schemes are dispatched in [`Auth::authenticate`] and the challenges are written by
//! [`Auth::write_challenges`]; Digest support will add one arm to each and keep its own nonce
//! state, without touching the connection loop.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt::{self, Write as _};

use base64::Engine as _;
use embassy_time::{Duration, Instant};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// Length of the stored PBKDF2 output: one SHA-256 block, more would only slow verification.
pub const DERIVED_KEY_LEN: usize = 32;

/// Number of verified credentials remembered. A BMC has a handful of operators and consoles;
/// eight covers them while keeping the cache a fixed, small block of RAM.
pub const CACHE_SLOTS: usize = 8;

/// How long a verified credential is trusted without re-running PBKDF2. Short enough that a
/// password change (which rebuilds [`Auth`]) or a stolen header has a bounded window.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// The Basic challenge WS-Man clients expect (Windows, pywinrm and openwsman all use "WSMAN").
pub const BASIC_CHALLENGE: &str = "Basic realm=\"WSMAN\"";

/// One user, with the password reduced to a salted PBKDF2-HMAC-SHA256 key.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    name: String,
    salt: Vec<u8>,
    iterations: u32,
    key: [u8; DERIVED_KEY_LEN],
}

impl Account {
    /// Derives the stored key from a clear-text password, for the Linux binary that receives the
    /// password on its command line and a salt from the OS RNG. An iteration count of 0 is
    /// treated as 1 because PBKDF2 has no zero-round form.
    pub fn hash(name: &str, password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let iterations = iterations.max(1);
        Self {
            name: String::from(name),
            salt: Vec::from(salt),
            iterations,
            key: derive(password, salt, iterations),
        }
    }

    /// Rebuilds an account from a record hashed ahead of time, so a bare-metal image can embed
    /// a credential without ever containing the password.
    pub fn from_hash(name: &str, salt: &[u8], iterations: u32, key: [u8; DERIVED_KEY_LEN]) -> Self {
        Self {
            name: String::from(name),
            salt: Vec::from(salt),
            iterations: iterations.max(1),
            key,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
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

    fn password_matches(&self, password: &[u8]) -> bool {
        derive(password, &self.salt, self.iterations)
            .ct_eq(&self.key)
            .into()
    }
}

impl fmt::Debug for Account {
    /// Hides the derived key: it is what an offline attack would start from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("name", &self.name)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; DERIVED_KEY_LEN] {
    let mut key = [0; DERIVED_KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut key);
    key
}

#[derive(Clone, Copy)]
struct CacheEntry {
    /// SHA-256 of the whole `Authorization` value: the cache never holds the password itself.
    key: [u8; 32],
    account: usize,
    inserted: Instant,
    expires: Instant,
}

/// The account table plus the verification cache.
///
/// Interior mutability is a `RefCell`, not a lock: connection tasks run on one single-threaded
/// executor (embassy, or a tokio `LocalSet`), so share it by `&'static` (a `StaticCell`) or `Rc`.
pub struct Auth {
    accounts: Vec<Account>,
    cache: RefCell<[Option<CacheEntry>; CACHE_SLOTS]>,
    ttl: Duration,
    kdf_runs: Cell<u32>,
}

impl Default for Auth {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("accounts", &self.accounts)
            .field("cached", &self.cached())
            .field("kdf_runs", &self.kdf_runs())
            .finish()
    }
}

impl Auth {
    /// An empty table refuses every authenticated request; only anonymous Identify gets through.
    pub fn new() -> Self {
        Self {
            accounts: Vec::new(),
            cache: RefCell::new([None; CACHE_SLOTS]),
            ttl: DEFAULT_CACHE_TTL,
            kdf_runs: Cell::new(0),
        }
    }

    /// Hashes and adds a user; see [`Account::hash`].
    pub fn add_user(&mut self, name: &str, password: &[u8], salt: &[u8], iterations: u32) {
        self.add_account(Account::hash(name, password, salt, iterations));
    }

    /// Adds a user, replacing any account of the same name. The cache is cleared because its
    /// entries refer to accounts by position and may vouch for a replaced password.
    pub fn add_account(&mut self, account: Account) {
        match self.accounts.iter_mut().find(|a| a.name == account.name) {
            Some(existing) => *existing = account,
            None => self.accounts.push(account),
        }
        self.cache.get_mut().fill(None);
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
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

    /// Checks an `Authorization` header value and returns the user it proves, if any.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&str> {
        let header = authorization?.trim();
        let (scheme, credentials) = match header.split_once(' ') {
            Some((scheme, rest)) => (scheme, rest.trim()),
            None => (header, ""),
        };
        let account = if scheme.eq_ignore_ascii_case("Basic") {
            self.basic(header, credentials)
        } else {
            None
        }?;
        self.accounts.get(account).map(|a| a.name.as_str())
    }

    /// Appends the `WWW-Authenticate` header lines of a 401 to a response head.
    pub(crate) fn write_challenges(&self, head: &mut String) -> fmt::Result {
        write!(head, "WWW-Authenticate: {BASIC_CHALLENGE}\r\n")
    }

    fn basic(&self, header: &str, credentials: &str) -> Option<usize> {
        let key: [u8; 32] = Sha256::digest(header.as_bytes()).into();
        let now = Instant::now();
        if let Some(account) = self.cache_lookup(&key, now) {
            return Some(account);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        let (user, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let account = self.verify_password(user, password)?;
        self.cache_insert(key, account, now);
        Some(account)
    }

    /// Runs exactly one PBKDF2 whether or not the user exists, so response time does not reveal
    /// valid user names.
    fn verify_password(&self, user: &[u8], password: &[u8]) -> Option<usize> {
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
        let matches = self.accounts[probe].password_matches(password);
        found.filter(|_| matches)
    }

    fn cache_lookup(&self, key: &[u8; 32], now: Instant) -> Option<usize> {
        let mut cache = self.cache.borrow_mut();
        for slot in cache.iter_mut() {
            let Some(entry) = slot else { continue };
            if bool::from(entry.key.ct_eq(key)) {
                if now < entry.expires {
                    return Some(entry.account);
                }
                *slot = None;
            }
        }
        None
    }

    fn cache_insert(&self, key: [u8; 32], account: usize, now: Instant) {
        if self.ttl.as_ticks() == 0 {
            return;
        }
        let entry = CacheEntry {
            key,
            account,
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
        let account = Account::hash("u", b"password", b"salt", 1);
        let expected = [
            0x12, 0x0f, 0xb6, 0xcf, 0xfc, 0xf8, 0xb3, 0x2c, 0x43, 0xe7, 0x22, 0x52, 0x56, 0xc4,
            0xf8, 0x37, 0xa8, 0x65, 0x48, 0xc9, 0x2c, 0xcc, 0x35, 0x48, 0x08, 0x05, 0x98, 0x7c,
            0xb7, 0x0b, 0xe1, 0x7b,
        ];
        assert_eq!(account.derived_key(), &expected);
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
            Some("admin")
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
        assert_eq!(auth.authenticate(Some(&basic("root", "secret"))), None);
        // An unknown user still costs one derivation, like a known one.
        assert_eq!(auth.kdf_runs(), 1);
        // The scheme is case-insensitive and surrounding blanks are ignored.
        let lower = basic("admin", "secret").replace("Basic", "basic");
        assert_eq!(auth.authenticate(Some(&lower)), Some("admin"));
    }

    #[test]
    fn password_may_contain_colons() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"a:b:c", b"salt", 2);
        assert_eq!(
            auth.authenticate(Some(&basic("admin", "a:b:c"))),
            Some("admin")
        );
    }

    #[test]
    fn empty_table_refuses_everyone_without_panicking() {
        let auth = Auth::new();
        assert_eq!(auth.authenticate(Some(&basic("admin", "x"))), None);
        assert_eq!(auth.kdf_runs(), 0);
    }

    #[test]
    fn cache_hit_skips_derivation_and_failures_are_not_cached() {
        let mut auth = Auth::new();
        auth.add_user("admin", b"secret", b"salt", 2);
        let good = basic("admin", "secret");
        assert_eq!(auth.authenticate(Some(&good)), Some("admin"));
        assert_eq!(auth.authenticate(Some(&good)), Some("admin"));
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
            assert_eq!(
                auth.authenticate(Some(&basic(name, "pw"))),
                Some(name.as_str())
            );
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
        assert_eq!(auth.authenticate(Some(&old)), Some("admin"));
        auth.add_user("admin", b"new", b"salt", 1);
        assert_eq!(auth.accounts().len(), 1);
        assert_eq!(auth.authenticate(Some(&old)), None);
        assert_eq!(
            auth.authenticate(Some(&basic("admin", "new"))),
            Some("admin")
        );
    }

    #[test]
    fn debug_output_does_not_leak_the_key() {
        let account = Account::hash("admin", b"secret", b"salt", 1);
        let text = alloc::format!("{account:?}");
        assert!(text.contains("admin"));
        assert!(!text.contains("key"));
    }
}
