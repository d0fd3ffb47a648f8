//! The certificate lifecycle: a self-signed pair at first start, a CSR from the stored key, and
//! a validated install.
//!
//! Files in the state directory (both 0600, written to a temporary name and renamed, so a
//! reader never sees half a file):
//! - `tls-key.pem`: the private key (PKCS#8), ECDSA P-256 when generated here;
//! - `tls-cert.pem`: the certificate chain, end-entity first.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest as _, Sha256};

/// Key file name in the state directory.
pub const KEY_FILE: &str = "tls-key.pem";
/// Certificate (chain) file name in the state directory.
pub const CERT_FILE: &str = "tls-cert.pem";

/// Lifetime of a generated self-signed certificate. Consoles pin it by fingerprint or trust it
/// explicitly, so a long life avoids surprise expiry on a BMC nobody logs into for years; an
/// operator who wants rotation installs a CA-signed one.
const SELF_SIGNED_DAYS: i64 = 3650;

/// Largest PEM file read (a chain of a few certificates is a few KiB).
const MAX_PEM: u64 = 256 * 1024;

/// A certificate chain and its private key, parsed and checked to belong together.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Parses and validates a PEM chain and key: every certificate parses, the end-entity one
    /// is within its validity period now, and the key is the one its public key belongs to.
    /// The errors are written for the operator who runs `wsbmc cert install`.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, String> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the certificate file is not valid PEM: {e:?}"))?;
        let Some(leaf) = chain.first() else {
            return Err("the certificate file holds no CERTIFICATE block".into());
        };
        for (i, der) in chain.iter().enumerate() {
            let (rest, cert) = x509_parser::parse_x509_certificate(der)
                .map_err(|e| format!("certificate {} of the chain does not parse: {e}", i + 1))?;
            if !rest.is_empty() {
                return Err(format!(
                    "certificate {} of the chain has trailing bytes",
                    i + 1
                ));
            }
            if i == 0 {
                let validity = cert.validity();
                let now = x509_parser::time::ASN1Time::now();
                if now > validity.not_after {
                    return Err(format!("the certificate expired on {}", validity.not_after));
                }
                if now < validity.not_before {
                    return Err(format!(
                        "the certificate is not valid before {}",
                        validity.not_before
                    ));
                }
            }
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| format!("the key file holds no usable private key: {e:?}"))?;
        let certified = rustls::sign::CertifiedKey::new(
            chain.clone(),
            crate::provider()
                .key_provider
                .load_private_key(key.clone_key())
                .map_err(|e| format!("the private key is not usable: {e}"))?,
        );
        certified.keys_match().map_err(|e| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                "the private key does not match the certificate".to_string()
            }
            other => format!("the private key cannot be checked against the certificate: {other}"),
        })?;
        let _ = leaf;
        Ok(Self { chain, key })
    }

    /// SHA-256 over the end-entity certificate's DER, as `AB:CD:...` (what browsers and
    /// `openssl x509 -fingerprint -sha256` print).
    pub fn fingerprint(&self) -> String {
        self.chain
            .first()
            .map_or_else(String::new, |c| fingerprint(c))
    }

    /// The chain as PEM.
    pub fn chain_pem(&self) -> String {
        self.chain.iter().map(|c| pem("CERTIFICATE", c)).collect()
    }
}

/// SHA-256 fingerprint of one DER certificate, colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn pem(label: &str, der: &[u8]) -> String {
    use std::fmt::Write as _;
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", String::from_utf8_lossy(line));
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

/// The pair's paths in a state directory.
pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY_FILE)
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    pub fn exists(&self) -> bool {
        self.key_path().exists() && self.cert_path().exists()
    }

    /// Modification times of (key, certificate), `None` if either is missing.
    pub fn mtimes(&self) -> Option<(SystemTime, SystemTime)> {
        let m = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
        Some((m(self.key_path())?, m(self.cert_path())?))
    }

    pub fn read_key(&self) -> Result<Vec<u8>, String> {
        read_bounded(&self.key_path())
    }

    pub fn read_cert(&self) -> Result<Vec<u8>, String> {
        read_bounded(&self.cert_path())
    }

    pub fn load(&self) -> Result<Identity, String> {
        Identity::from_pem(&self.read_cert()?, &self.read_key()?)
    }

    /// Writes the pair: the key first, then the certificate, each atomically. A reader that
    /// catches the moment between the two sees a mismatched pair, refuses it and keeps what it
    /// had, then picks the pair up once the certificate lands.
    fn store(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
        // 0700 when `wsbmc cert` makes the state directory before the agent ever ran: it holds
        // the key (the agent tightens an existing looser one at start).
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| format!("state directory {}: {e}", self.dir.display()))?;
        write_private(&self.key_path(), key_pem)?;
        write_private(&self.cert_path(), cert_pem)
    }
}

/// Reads a file of at most [`MAX_PEM`] bytes.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if out.len() as u64 > MAX_PEM {
        return Err(format!(
            "{}: larger than {MAX_PEM} bytes, not a certificate or key",
            path.display()
        ));
    }
    Ok(out)
}

/// Writes `data` to `path` with mode 0600 through a temporary file and a rename.
fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("pem.new");
    let _ = fs::remove_file(&tmp);
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// A fresh ECDSA P-256 key and a self-signed X.509 v3 certificate for `sans` (DNS names or IP
/// addresses), the first of which is also the subject CN. Returns (certificate PEM, key PEM).
pub fn self_signed(sans: &[String]) -> Result<(String, String), String> {
    let key = KeyPair::generate().map_err(|e| format!("key generation: {e}"))?;
    let mut params =
        CertificateParams::new(sans.to_vec()).map_err(|e| format!("subject names: {e}"))?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        sans.first().map_or("wsbmc", String::as_str),
    );
    dn.push(DnType::OrganizationName, "wsbmc");
    params.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("self-signing: {e}"))?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Makes a self-signed pair for `sans` in `dir` unless one is there. Returns true if it made
/// one.
pub fn ensure(dir: &Path, sans: &[String]) -> Result<bool, String> {
    let files = Files::new(dir);
    if files.exists() {
        return Ok(false);
    }
    let (cert_pem, key_pem) = self_signed(sans)?;
    files.store(cert_pem.as_bytes(), key_pem.as_bytes())?;
    Ok(true)
}

/// An in-memory self-signed identity, for an agent without a state directory.
pub fn ephemeral(sans: &[String]) -> Result<Identity, String> {
    let (cert_pem, key_pem) = self_signed(sans)?;
    Identity::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
}

/// A PKCS#10 request signed with the stored key. `subject` is `CN=...,O=...` (CN, O, OU, C,
/// ST, L); `sans` are DNS names or IP addresses.
pub fn csr(dir: &Path, subject: &str, sans: &[String]) -> Result<String, String> {
    let files = Files::new(dir);
    let key_pem = files.read_key()?;
    let key_text = std::str::from_utf8(&key_pem)
        .map_err(|_| format!("{}: not PEM text", files.key_path().display()))?;
    let key =
        KeyPair::from_pem(key_text).map_err(|e| format!("{}: {e}", files.key_path().display()))?;
    let mut params =
        CertificateParams::new(sans.to_vec()).map_err(|e| format!("subject names: {e}"))?;
    params.distinguished_name = parse_subject(subject)?;
    let csr = params
        .serialize_request(&key)
        .map_err(|e| format!("certificate request: {e}"))?;
    csr.pem().map_err(|e| format!("certificate request: {e}"))
}

fn parse_subject(subject: &str) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    for part in subject.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| format!("subject part {part:?} is not NAME=VALUE"))?;
        let ty = match name.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "C" => DnType::CountryName,
            "ST" => DnType::StateOrProvinceName,
            "L" => DnType::LocalityName,
            other => {
                return Err(format!(
                    "subject attribute {other:?} not supported (CN, O, OU, C, ST, L)"
                ));
            }
        };
        dn.push(ty, value.trim());
    }
    Ok(dn)
}

/// Validates `cert_pem` with `key_pem` (or, without one, the stored key) and stores the pair.
/// Nothing is written unless the pair is valid, so a refused install leaves the old
/// certificate in place. Returns the new fingerprint.
pub fn install(dir: &Path, cert_pem: &[u8], key_pem: Option<&[u8]>) -> Result<String, String> {
    let files = Files::new(dir);
    let stored;
    let key_pem = match key_pem {
        Some(k) => k,
        None => {
            stored = files.read_key()?;
            &stored
        }
    };
    let identity = Identity::from_pem(cert_pem, key_pem)?;
    // The chain is stored as parsed (re-encoded), so stray text around the PEM blocks does not
    // travel along.
    files.store(identity.chain_pem().as_bytes(), key_pem)?;
    Ok(identity.fingerprint())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsbmc-tls-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn generated_pair_is_private_valid_and_has_the_sans() {
        let dir = tmp("gen");
        let sans = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        assert!(ensure(&dir, &sans).expect("generate"));
        assert!(!ensure(&dir, &sans).expect("kept"));
        for f in [KEY_FILE, CERT_FILE] {
            let mode = fs::metadata(dir.join(f))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let dir_mode = fs::metadata(&dir).expect("dir").permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let id = Files::new(&dir).load().expect("valid pair");
        let (_, cert) = x509_parser::parse_x509_certificate(&id.chain[0]).expect("parses");
        assert_eq!(cert.version(), x509_parser::x509::X509Version::V3);
        let san = cert
            .subject_alternative_name()
            .expect("well-formed")
            .expect("has SANs");
        let text = format!("{:?}", san.value.general_names);
        assert!(text.contains("localhost"), "{text}");
        assert!(text.contains("127"), "{text}");
        assert_eq!(id.fingerprint().len(), 32 * 3 - 1);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_input_is_refused_and_the_old_pair_stays() {
        let dir = tmp("bad");
        ensure(&dir, &["localhost".to_string()]).expect("generate");
        let files = Files::new(&dir);
        let before = files.read_cert().expect("cert");
        let err = install(&dir, b"garbage", None).expect_err("garbage");
        assert!(err.contains("no CERTIFICATE"), "{err}");
        let (other_cert, other_key) = self_signed(&["other".to_string()]).expect("other");
        let err = install(&dir, other_cert.as_bytes(), None).expect_err("mismatch");
        assert!(err.contains("does not match"), "{err}");
        let err = install(&dir, other_cert.as_bytes(), Some(b"not a key")).expect_err("key");
        assert!(err.contains("no usable private key"), "{err}");
        assert_eq!(files.read_cert().expect("cert"), before);
        // With its own key the other pair installs.
        install(&dir, other_cert.as_bytes(), Some(other_key.as_bytes())).expect("valid");
        assert_ne!(files.read_cert().expect("cert"), before);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn csr_carries_subject_and_sans_and_unknown_attributes_are_refused() {
        let dir = tmp("csr");
        ensure(&dir, &["localhost".to_string()]).expect("generate");
        let pem = csr(&dir, "CN=bmc1.example, O=Example", &["bmc1.example".into()]).expect("csr");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let err = csr(&dir, "XX=1", &[]).expect_err("unknown attribute");
        assert!(err.contains("XX"), "{err}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn pem_encoding_round_trips() {
        let id = ephemeral(&["localhost".to_string()]).expect("ephemeral");
        let again: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(id.chain_pem().as_bytes())
                .collect::<Result<_, _>>()
                .expect("parses");
        assert_eq!(again, id.chain);
    }
}
