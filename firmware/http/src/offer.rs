//! What one listener offers: its transport and the authentication schemes it accepts, which is
//! also what an authenticated Identify reports as SecurityProfiles.

/// DSP0226 Annex C security profile URIs.
const HTTP_BASIC: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic";
const HTTP_DIGEST: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest";
const HTTPS_BASIC: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/basic";
const HTTPS_DIGEST: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/digest";

/// A listener's transport and schemes. The policy (e.g. no Basic over plain HTTP on real
/// hardware) is decided by the image; the connection loop only enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The stream is TLS.
    pub secure: bool,
    /// HTTP Basic is accepted and challenged with.
    pub basic: bool,
    /// HTTP Digest is accepted and challenged with (in builds that have it).
    pub digest: bool,
}

impl Offer {
    /// Plain HTTP with Basic and Digest: the development default, and the bare-metal image's.
    pub const HTTP: Self = Self {
        secure: false,
        basic: true,
        digest: true,
    };
    /// Used where no listener is involved (tests, [`crate::Auth::authenticate`]).
    pub const ALL: Self = Self::HTTP;

    /// The security profiles this offer amounts to; `digest_built` says whether this build can
    /// verify Digest at all.
    pub fn profiles(&self, digest_built: bool) -> &'static [&'static str] {
        match (self.secure, self.basic, self.digest && digest_built) {
            (false, true, true) => &[HTTP_BASIC, HTTP_DIGEST],
            (false, true, false) => &[HTTP_BASIC],
            (false, false, true) => &[HTTP_DIGEST],
            (true, true, true) => &[HTTPS_BASIC, HTTPS_DIGEST],
            (true, true, false) => &[HTTPS_BASIC],
            (true, false, true) => &[HTTPS_DIGEST],
            (_, false, false) => &[],
        }
    }
}

impl Default for Offer {
    fn default() -> Self {
        Self::HTTP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_list_exactly_what_is_offered() {
        assert_eq!(Offer::HTTP.profiles(true), &[HTTP_BASIC, HTTP_DIGEST]);
        assert_eq!(Offer::HTTP.profiles(false), &[HTTP_BASIC]);
        let tls_digest_only = Offer {
            secure: true,
            basic: false,
            digest: true,
        };
        assert_eq!(tls_digest_only.profiles(true), &[HTTPS_DIGEST]);
        let none = Offer {
            secure: true,
            basic: false,
            digest: false,
        };
        assert!(none.profiles(true).is_empty());
    }
}
