//! The certificate install path (`wsbmc cert install`): a PEM chain and a PEM key parsed,
//! every certificate's DER checked by x509-parser, the validity of the end-entity one, and the
//! key matched to it (`Identity::from_pem`). Input is `[mode] cert-PEM NUL key-PEM`; with an
//! odd mode byte it is `subject NUL SAN NUL SAN...` for `wsbmc cert csr` instead, signed with a
//! key made once per process.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use wsbmc_fuzz::split_once;
use wsbmc_tls::cert;

thread_local! {
    /// A state directory with a generated pair, for the CSR path (which signs with the stored
    /// key). Removed when the process ends normally; it is small and in the temp dir otherwise.
    static DIR: PathBuf = {
        let dir = std::env::temp_dir().join(format!("wsbmc-fuzz-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = cert::ensure(&dir, &["localhost".to_string()]) {
            panic!("cannot make the CSR key: {e}");
        }
        dir
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first & 1 == 0 {
        let (cert_pem, key_pem) = split_once(rest, 0);
        if let Ok(id) = cert::Identity::from_pem(cert_pem, key_pem) {
            let _ = id.fingerprint();
            let _ = id.chain_pem();
        }
    } else {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let mut parts = text.split('\0');
        let subject = parts.next().unwrap_or("");
        let sans: Vec<String> = parts.take(8).map(str::to_string).collect();
        DIR.with(|dir| {
            let _ = cert::csr(dir, subject, &sans);
        });
    }
});
