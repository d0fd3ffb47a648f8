//! `Authorization` header values: the Basic base64 and `user:password` split and the Digest
//! parameter list (quoted strings, escapes, duplicates, nonce and nc decoding), as
//! `Auth::check` sees them after the HTTP head is parsed. The first byte picks the
//! request-target the Digest `uri` must match and the listener's schemes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_http::{Auth, Offer, Verdict};
use wsbmc_time_std as _;

thread_local! {
    /// Two accounts, one with Digest keys; one PBKDF2 iteration so a miss costs little.
    static AUTH: &'static Auth = {
        let mut a = Auth::new();
        a.add_user("admin", b"secret", b"salt-fuzz", 1);
        a.add_user("operator", b"p\xC3\xA4ss", b"salt-two", 1);
        Box::leak(Box::new(a))
    };
}

const TARGETS: [&str; 4] = [
    "/wsman",
    "/wsman-anon/identify",
    "/wsman?x=%20y",
    "http://127.0.0.1/wsman",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    // Header values reach `check` as text (head.rs takes a non-UTF-8 Authorization for none).
    let Ok(header) = std::str::from_utf8(rest) else {
        return;
    };
    let target = TARGETS[usize::from(first & 3)];
    let offer = Offer {
        secure: first & 4 != 0,
        basic: first & 8 == 0,
        digest: first & 16 == 0,
    };
    let auth = AUTH.with(|a| *a);
    let verdict = auth.check(Some(header), target, &offer);
    if let Verdict::User(user) = verdict {
        // Only the right password proves a user.
        assert!(user.name == "admin" || user.name == "operator", "{user:?}");
    }
    let _ = auth.authenticate(Some(header));
});
