//! The unprovisioned state and its one-time secret (the design is in the crate documentation:
//! why this is no universal default password).
//!
//! A device with no account serves Identify and the provisioning path only ([`allows`]). The
//! path is a `CreateAccount` on `CIM_AccountManagementService` sent with Basic credentials
//! [`PROVISIONING_USER`] and the secret the image printed on its serial console; it creates
//! the first Administrator ([`AccountTable::provision`]) and closes the path.
//!
//! The secret is HMAC-SHA-256(seed, "wsbmc-provisioning" ‖ counter as 4 big-endian bytes), its
//! first 15 bytes (120 bits) written as 24 Crockford base-32 digits in groups of four
//! (`7K3M-Q0ZD-…`): no letters that read like digits, and a person may type it in either case,
//! with or without the dashes, with `O` for `0` or `I`/`L` for `1`.

use alloc::string::String;
use core::fmt;

use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::Role;
use crate::audit::{AuditEvent, AuditKind};
use crate::role::{Action, Operation};
use crate::table::{AccountError, AccountTable, NewPassword, PROVISIONING_USER, Write};

/// Bytes of the secret: 120 bits, beyond guessing even without a back-off.
pub const SECRET_LEN: usize = 15;

/// Base-32 digits of the secret.
pub const SECRET_DIGITS: usize = SECRET_LEN * 8 / 5;

/// Shortest device seed accepted: 128 bits.
pub const MIN_SEED_LEN: usize = 16;

/// What the HMAC authenticates besides the counter: a seed used for something else too
/// cannot yield this secret by accident.
const LABEL: &[u8] = b"wsbmc-provisioning";

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Why provisioning was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionError {
    /// The device seed is shorter than [`MIN_SEED_LEN`]: the image must not offer the path.
    ShortSeed,
    /// An account exists: the path is closed.
    AlreadyProvisioned,
    /// The secret does not match (audit it: [`ProvisionError::audit`]).
    WrongSecret,
    /// The first account itself is refused (name, password).
    Account(AccountError),
}

impl ProvisionError {
    /// The audit event of a refusal: a wrong secret is a failed login of
    /// [`PROVISIONING_USER`].
    pub fn audit(&self) -> Option<AuditEvent> {
        (*self == ProvisionError::WrongSecret)
            .then(|| AuditEvent::new(AuditKind::LoginFailed, PROVISIONING_USER, None))
    }

    /// What a CreateAccount through the provisioning path answers when
    /// [`AccountTable::provision_checked`] refuses: the account's own refusal as it is; any
    /// other (in practice another request provisioned the device between this one's login
    /// and now, so the path is closed) as [`AccountError::LastAdministrator`], which
    /// CreateAccount answers Failed (2).
    pub fn into_account_error(self) -> AccountError {
        match self {
            ProvisionError::Account(e) => e,
            _ => AccountError::LastAdministrator,
        }
    }
}

/// What an unprovisioned device lets through: Identify, and the one method that creates the
/// first Administrator. Everything else is refused (wsman: `wsman:AccessDenied`).
pub fn allows(op: &Operation<'_>) -> bool {
    match op.action {
        Action::Identify => true,
        Action::Invoke => {
            op.class
                .is_some_and(|c| c.eq_ignore_ascii_case("CIM_AccountManagementService"))
                && op
                    .method
                    .is_some_and(|m| m.eq_ignore_ascii_case("CreateAccount"))
        }
        _ => false,
    }
}

/// A provisioning secret. Its `Display` is what the serial console shows; `Debug` hides it,
/// so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisioningSecret([u8; SECRET_LEN]);

impl fmt::Debug for ProvisioningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProvisioningSecret(..)")
    }
}

impl fmt::Display for ProvisioningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl ProvisioningSecret {
    /// The secret of `seed` for the `counter`-th provisioning.
    pub fn derive(seed: &[u8], counter: u32) -> Result<Self, ProvisionError> {
        if seed.len() < MIN_SEED_LEN {
            return Err(ProvisionError::ShortSeed);
        }
        let mut mac =
            hmac::Hmac::<Sha256>::new_from_slice(seed).map_err(|_| ProvisionError::ShortSeed)?;
        mac.update(LABEL);
        mac.update(&counter.to_be_bytes());
        let mut out = [0; SECRET_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes()[..SECRET_LEN]);
        Ok(Self(out))
    }

    /// What [`Display`](fmt::Display) shows: the digits in groups of four joined by `-`.
    /// Spelled here, not through `to_string`: the bare-metal image shows it with no other
    /// `core::fmt` text writer to share.
    pub fn text(&self) -> String {
        let mut out = String::with_capacity(SECRET_DIGITS + (SECRET_DIGITS - 1) / 4);
        for (i, d) in self.digits().iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(CROCKFORD[usize::from(*d)]));
        }
        out
    }

    /// The 24 five-bit digits, most significant first.
    fn digits(&self) -> [u8; SECRET_DIGITS] {
        let mut out = [0; SECRET_DIGITS];
        for (i, d) in out.iter_mut().enumerate() {
            let bit = i * 5;
            let hi = u16::from(self.0[bit / 8]) << 8;
            let lo = self.0.get(bit / 8 + 1).copied().map_or(0, u16::from);
            *d = (((hi | lo) >> (11 - bit % 8)) & 0x1F) as u8;
        }
        out
    }

    /// Whether `typed` is this secret, in constant time over the digits (case, dashes and
    /// spaces ignored; `O` reads as `0`, `I` and `L` as `1`, as Crockford's alphabet says).
    pub fn matches(&self, typed: &str) -> bool {
        let mut got = [0u8; SECRET_DIGITS];
        let mut n = 0usize;
        let mut valid = true;
        for c in typed.bytes() {
            let v = match c.to_ascii_uppercase() {
                b'-' | b' ' => continue,
                b'O' => 0,
                b'I' | b'L' => 1,
                u => match CROCKFORD.iter().position(|&a| a == u) {
                    Some(p) => p as u8,
                    None => {
                        valid = false;
                        0
                    }
                },
            };
            if let Some(slot) = got.get_mut(n) {
                *slot = v;
            }
            n += 1;
        }
        let same: bool = self.digits().ct_eq(&got).into();
        same & valid & (n == SECRET_DIGITS)
    }
}

/// What provisioning changed: write the settings (the bumped counter) first, then the slot,
/// so a power cut between them leaves an unprovisioned device with a fresh secret rather
/// than an account whose secret still works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    pub writes: [Write; 2],
    pub audit: AuditEvent,
}

impl AccountTable {
    /// The secret the image shows on its serial console while unprovisioned.
    pub fn provisioning_secret(&self, seed: &[u8]) -> Result<ProvisioningSecret, ProvisionError> {
        ProvisioningSecret::derive(seed, self.provisioning_counter)
    }

    /// The provisioning path: with the right secret and no account yet, creates `name` as an
    /// enabled Administrator and uses the secret up (the counter moves on).
    pub fn provision(
        &mut self,
        seed: &[u8],
        typed_secret: &str,
        name: &str,
        password: NewPassword,
    ) -> Result<Provisioned, ProvisionError> {
        let secret = self.provisioning_secret(seed)?;
        if self.is_provisioned() {
            return Err(ProvisionError::AlreadyProvisioned);
        }
        if !secret.matches(typed_secret) {
            return Err(ProvisionError::WrongSecret);
        }
        self.provision_checked(name, password)
    }

    /// The provisioning path for an image whose transport checked the secret already (http
    /// proves the Basic credentials of [`PROVISIONING_USER`] against
    /// [`AccountTable::provisioning_secret`] before the request reaches the CIM model, which
    /// never sees the secret). Still refused once an account exists: two requests proven
    /// while the table was empty must not both create an Administrator.
    pub fn provision_checked(
        &mut self,
        name: &str,
        password: NewPassword,
    ) -> Result<Provisioned, ProvisionError> {
        if self.is_provisioned() {
            return Err(ProvisionError::AlreadyProvisioned);
        }
        let change = self
            .create(name, Role::Administrator, password)
            .map_err(ProvisionError::Account)?;
        self.provisioning_counter = self.provisioning_counter.wrapping_add(1);
        Ok(Provisioned {
            writes: [Write::Settings, change.write],
            audit: AuditEvent {
                kind: AuditKind::Provisioned,
                ..change.audit
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockout::LockoutPolicy;
    use crate::table::tests::{IT, pw};
    use alloc::string::ToString;

    const SEED: &[u8; 32] = b"a per-device seed of 32 bytes..!";

    /// CreateAccount's answer to each refusal: the account's own error as it is, the closed
    /// path (and the refusals http already ruled out) as LastAdministrator, Failed (2).
    #[test]
    fn a_provisioning_refusal_is_the_account_error_create_answers() {
        assert_eq!(
            ProvisionError::Account(AccountError::Full).into_account_error(),
            AccountError::Full
        );
        for e in [
            ProvisionError::AlreadyProvisioned,
            ProvisionError::WrongSecret,
            ProvisionError::ShortSeed,
        ] {
            assert_eq!(e.into_account_error(), AccountError::LastAdministrator);
        }
    }

    #[test]
    fn unprovisioned_allows_identify_and_create_account_only() {
        assert!(allows(&Operation::new(Action::Identify, None)));
        assert!(allows(&Operation::invoke(
            "CIM_AccountManagementService",
            "CreateAccount"
        )));
        for op in [
            Operation::new(Action::Enumerate, Some("CIM_NumericSensor")),
            Operation::new(Action::Get, Some("CIM_AccountManagementService")),
            Operation::invoke("CIM_ComputerSystem", "RequestStateChange"),
            Operation::invoke("CIM_AccountManagementService", "DeleteAccount"),
            Operation::new(Action::Put, Some("CIM_Account")),
        ] {
            assert!(!allows(&op), "{op:?}");
        }
    }

    #[test]
    fn the_secret_is_per_device_per_counter_and_shown_in_groups() {
        let a = ProvisioningSecret::derive(SEED, 0).unwrap();
        let b = ProvisioningSecret::derive(b"another device's seed, 32 bytes.", 0).unwrap();
        let c = ProvisioningSecret::derive(SEED, 1).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
        let shown = a.to_string();
        assert_eq!(shown.len(), 29);
        assert_eq!(shown.matches('-').count(), 5);
        assert!(shown.bytes().all(|b| b == b'-' || CROCKFORD.contains(&b)));
        assert_eq!(alloc::format!("{a:?}"), "ProvisioningSecret(..)");
        assert_eq!(
            ProvisioningSecret::derive(&SEED[..15], 0),
            Err(ProvisionError::ShortSeed)
        );
    }

    #[test]
    fn the_secret_matches_as_people_type_it_and_nothing_else() {
        let s = ProvisioningSecret::derive(SEED, 0).unwrap();
        let shown = s.to_string();
        assert!(s.matches(&shown));
        assert!(s.matches(&shown.to_lowercase()));
        assert!(s.matches(&shown.replace('-', "")));
        assert!(s.matches(&shown.replace('-', " ")));
        assert!(s.matches(&shown.replace('0', "O").replace('1', "l")));
        assert!(!s.matches(&shown[..28]));
        assert!(!s.matches(&(shown.clone() + "0")));
        assert!(!s.matches(""));
        assert!(!s.matches(&shown.replacen(|c: char| c.is_ascii_alphanumeric(), "U", 1)));
        // One digit off.
        let mut off = shown.into_bytes();
        off[0] = if off[0] == b'2' { b'3' } else { b'2' };
        assert!(!s.matches(core::str::from_utf8(&off).unwrap()));
    }

    /// Known answer: the digits are the HMAC's first 120 bits, five at a time.
    #[test]
    fn digits_are_the_bits_in_order() {
        let s = ProvisioningSecret([0xFF; SECRET_LEN]);
        assert_eq!(s.to_string(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
        let mut b = [0; SECRET_LEN];
        b[0] = 0b0000_1000; // digit 0 = 00001, digit 1 = 000..
        b[14] = 0b0000_0011; // last digit = 00011
        assert_eq!(
            ProvisioningSecret(b).to_string(),
            "1000-0000-0000-0000-0000-0003"
        );
    }

    /// The form http-checked images use: same writes and audit, counter moved on, and closed
    /// once an account exists (two requests proven while the table was empty).
    #[test]
    fn checked_provisioning_creates_one_administrator_and_spends_the_secret() {
        let mut t = AccountTable::new(LockoutPolicy::default(), IT);
        let secret = t.provisioning_secret(SEED).unwrap();
        let p = t
            .provision_checked("first", pw("first", "first-pass"))
            .unwrap();
        assert_eq!(p.writes, [Write::Settings, Write::Slot(0)]);
        assert_eq!(p.audit.kind, AuditKind::Provisioned);
        assert_eq!(t.get("first").unwrap().1.role(), Role::Administrator);
        assert_ne!(t.provisioning_secret(SEED).unwrap(), secret);
        assert_eq!(
            t.provision_checked("second", pw("second", "second-pass")),
            Err(ProvisionError::AlreadyProvisioned)
        );
        assert!(t.get("second").is_none());
    }

    #[test]
    fn provisioning_creates_the_first_administrator_once() {
        let mut t = AccountTable::new(LockoutPolicy::default(), IT);
        assert!(!t.is_provisioned());
        let secret = t.provisioning_secret(SEED).unwrap().to_string();
        // A wrong secret is refused and audited.
        let e = t
            .provision(
                SEED,
                "0000-0000-0000-0000-0000-0000",
                "admin",
                pw("admin", "admin-pass"),
            )
            .unwrap_err();
        assert_eq!(e, ProvisionError::WrongSecret);
        assert_eq!(e.audit().unwrap().user, PROVISIONING_USER);
        // The first account's own rules apply.
        assert_eq!(
            t.provision(SEED, &secret, "1x", pw("1x", "admin-pass")),
            Err(ProvisionError::Account(AccountError::Name(
                crate::NameError::FirstNotLetter
            )))
        );
        assert_eq!(
            t.provision(SEED, &secret, "provision", pw("provision", "admin-pass")),
            Err(ProvisionError::Account(AccountError::Name(
                crate::NameError::Reserved
            )))
        );
        let p = t
            .provision(SEED, &secret, "admin", pw("admin", "admin-pass"))
            .unwrap();
        assert_eq!(p.writes, [Write::Settings, Write::Slot(0)]);
        assert_eq!(p.audit.kind, AuditKind::Provisioned);
        assert_eq!(p.audit.user, "admin");
        assert!(t.is_provisioned());
        assert_eq!(t.get("admin").unwrap().1.role(), Role::Administrator);
        assert!(t.login("admin", b"admin-pass", 0).result.is_ok());
        // Single use: the path is closed, and the secret shown before is spent.
        assert_eq!(
            t.provision(SEED, &secret, "other", pw("other", "other-pass")),
            Err(ProvisionError::AlreadyProvisioned)
        );
        assert!(!t.provisioning_secret(SEED).unwrap().matches(&secret));
        // The spent counter survives a restart.
        #[cfg(feature = "persist")]
        {
            let back = AccountTable::load(
                Some(crate::StoredSettings::from_bytes(&t.encode_settings())),
                [],
                0,
                LockoutPolicy::default(),
                IT,
            )
            .unwrap()
            .table;
            assert!(!back.provisioning_secret(SEED).unwrap().matches(&secret));
        }
    }
}
