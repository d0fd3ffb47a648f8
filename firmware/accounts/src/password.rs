//! The stored form of a password, as `firmware/http` and `firmware/linux` store it today:
//! PBKDF2-HMAC-SHA256 keyed with SHA-256 of the password (scheme 2), or, for records written
//! before issue 20, keyed with the raw password (the legacy scheme, no scheme field). The
//! Digest HA1s are kept beside it, opaque: http derives them and checks Digest itself.

use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// Length of the PBKDF2 output (one SHA-256 block), as in `wsbmc_http::DERIVED_KEY_LEN`.
pub const KEY_LEN: usize = 32;

/// Longest salt accepted: the images use 16 bytes; 32 leaves room without unbounded input.
pub const MAX_SALT_LEN: usize = 32;

/// The `scheme` value records written since issue 20 carry (firmware/linux `SCHEME_PREHASHED`).
pub const SCHEME_PREHASHED: u8 = 2;

/// How the key was derived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// PBKDF2 keyed with SHA-256 of the password.
    Prehashed,
    /// PBKDF2 keyed with the raw password (records from before issue 20). A password with a
    /// NUL byte is refused for these, since HMAC's zero padding would make `pw` and `pw\0`
    /// the same key.
    Legacy,
}

/// The Digest HA1s (H(user:WSMAN:password) for MD5 and SHA-256), opaque here.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestHa1 {
    pub md5: [u8; 16],
    pub sha256: [u8; 32],
}

/// A password as stored: never the password itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordRecord {
    pub(crate) scheme: Scheme,
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u32,
    pub(crate) key: [u8; KEY_LEN],
    pub(crate) digest: Option<DigestHa1>,
}

impl fmt::Debug for PasswordRecord {
    /// Hides the key and the HA1s: they are what an offline attack starts from.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("scheme", &self.scheme)
            .field("iterations", &self.iterations)
            .field("digest", &self.digest.is_some())
            .finish_non_exhaustive()
    }
}

/// PBKDF2-HMAC-SHA256, as `wsbmc_http::derive_key`.
pub fn derive(input: &[u8], salt: &[u8], iterations: u32) -> [u8; KEY_LEN] {
    let mut key = [0; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(input, salt, iterations.max(1), &mut key);
    key
}

impl PasswordRecord {
    /// Hashes `password` by the current scheme. The salt comes from the caller's RNG (this
    /// crate reads no randomness); it is truncated to [`MAX_SALT_LEN`].
    pub fn hash(password: &[u8], salt: &[u8], iterations: u32) -> Self {
        let salt = &salt[..salt.len().min(MAX_SALT_LEN)];
        let iterations = iterations.max(1);
        Self {
            scheme: Scheme::Prehashed,
            salt: Vec::from(salt),
            iterations,
            key: derive(Sha256::digest(password).as_slice(), salt, iterations),
            digest: None,
        }
    }

    /// A record hashed elsewhere (an image's embedded credential, a stored one).
    pub fn from_parts(scheme: Scheme, salt: &[u8], iterations: u32, key: [u8; KEY_LEN]) -> Self {
        Self {
            scheme,
            salt: Vec::from(&salt[..salt.len().min(MAX_SALT_LEN)]),
            iterations: iterations.max(1),
            key,
            digest: None,
        }
    }

    /// Adds the Digest HA1s http derived for the same password.
    pub fn with_digest(mut self, digest: DigestHa1) -> Self {
        self.digest = Some(digest);
        self
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    pub fn salt(&self) -> &[u8] {
        &self.salt
    }
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
    pub fn key(&self) -> &[u8; KEY_LEN] {
        &self.key
    }
    pub fn digest(&self) -> Option<&DigestHa1> {
        self.digest.as_ref()
    }

    /// What PBKDF2 runs over for a candidate: SHA-256 of it, or for a legacy record the
    /// candidate itself (`None`, matching nothing, when it holds a NUL).
    pub(crate) fn kdf_input(&self, password: &[u8]) -> Option<Vec<u8>> {
        match self.scheme {
            Scheme::Prehashed => Some(Vec::from(Sha256::digest(password).as_slice())),
            Scheme::Legacy if password.contains(&0) => None,
            Scheme::Legacy => Some(Vec::from(password)),
        }
    }

    /// Whether a derived key matches, in constant time.
    pub(crate) fn matches(&self, derived: &[u8; KEY_LEN]) -> bool {
        bool::from(self.key.ct_eq(derived))
    }

    /// Derives and compares on this thread (tests, the CLI); the login path goes through
    /// [`crate::Attempt`] so the derivation can run elsewhere.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self.kdf_input(password) {
            Some(input) => self.matches(&derive(&input, &self.salt, self.iterations)),
            None => {
                // Same work as a real check.
                let _ = derive(&[], &self.salt, self.iterations);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_records_verify_only_their_password() {
        let r = PasswordRecord::hash(b"correct horse", b"saltsalt", 3);
        assert!(r.verify(b"correct horse"));
        assert!(!r.verify(b"correct horse\0"));
        assert!(!r.verify(b"Correct horse"));
        assert_eq!(r.scheme(), Scheme::Prehashed);
        // The debug form holds no key material.
        let shown = alloc::format!("{r:?}");
        assert!(!shown.contains("key:"), "{shown}");
    }

    #[test]
    fn legacy_records_verify_the_raw_password_and_refuse_the_nul_form() {
        let key = derive(b"oldpass", b"salt", 2);
        let r = PasswordRecord::from_parts(Scheme::Legacy, b"salt", 2, key);
        assert!(r.verify(b"oldpass"));
        assert!(!r.verify(b"oldpass\0"));
        assert!(!r.verify(b"other"));
    }

    /// The key matches what `wsbmc_http::Account::hash` stores: PBKDF2 over SHA-256(password).
    #[test]
    fn the_scheme_is_pbkdf2_over_the_sha256_of_the_password() {
        let r = PasswordRecord::hash(b"pw", b"s", 5);
        let expected = derive(Sha256::digest(b"pw").as_slice(), b"s", 5);
        assert_eq!(r.key(), &expected);
    }
}
