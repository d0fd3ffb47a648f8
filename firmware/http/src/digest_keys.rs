//! The stored form of a Digest credential, present in every build so an account record has one
//! shape whether or not this image verifies Digest.

use core::fmt;

/// The realm of every challenge: the one Basic uses, so one account serves both schemes and the
/// stored HA1 (which is bound to the realm) matches what clients hash.
pub const REALM: &str = "WSMAN";

/// HA1 = H(user:realm:password) for MD5 and SHA-256, the realm being [`crate::REALM`]: what the
/// store keeps for Digest. It is password-equivalent for this realm (RFC 7616 §5.13), so it is
/// kept like a key and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestKeys {
    pub md5: [u8; 16],
    pub sha256: [u8; 32],
}

impl fmt::Debug for DigestKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKeys { .. }")
    }
}

/// A password as every image keeps it, for an account made or changed over WS-Man or by
/// `wsbmc user`: wsbmc-accounts' policy checks and PBKDF2, and, in a build that verifies
/// Digest, the HA1s a Digest login is checked against (without them the account could log in
/// with Basic only). One place, so no image forgets the HA1s.
#[cfg(feature = "accounts")]
pub fn new_password(
    name: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<wsbmc_accounts::NewPassword, wsbmc_accounts::PasswordError> {
    let pw = wsbmc_accounts::NewPassword::new(name, password, salt, iterations)?;
    #[cfg(feature = "digest")]
    let pw = {
        let keys = DigestKeys::derive(name, password);
        pw.with_digest(wsbmc_accounts::DigestHa1 {
            md5: keys.md5,
            sha256: keys.sha256,
        })
    };
    Ok(pw)
}
