//! HTTPS for the std images (host agent, embedded Linux).
//!
//! TLS is a transport under the shared HTTP loop, not part of it: [`Acceptor::accept`] turns a
//! TCP stream into a rustls stream, which the caller wraps in `FromTokio` and hands to
//! `wsbmc_http::serve_connection_with` like any other socket.
//!
//! The policy is fixed here: TLS 1.2 and 1.3 only (rustls has nothing older), no renegotiation
//! (rustls never implements it), ring as the crypto provider (it cross-compiles for the static
//! armv7 image with the plain cross gcc; aws-lc-rs, rustls' default, needs cmake and more), a
//! deadline on each handshake and a bound on handshakes in flight, so a client that opens
//! connections and never finishes a handshake cannot pin the agent's tasks or CPU.
//!
//! The certificate lives in the state directory ([`cert`]); the acceptor re-reads it when the
//! files change, so `wsbmc cert install` takes effect for new connections without a restart,
//! and a pair that does not load leaves the old certificate serving.

pub mod cert;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use log::{info, warn};
use rustls::ServerConfig;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

pub use cert::{Identity, fingerprint};

/// Default time a client gets to complete a handshake. A real console needs a few round trips
/// (tens of milliseconds); ten seconds covers slow links without letting idle sockets linger.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default number of handshakes in flight. Handshakes are the CPU-heavy part of TLS (an ECDHE
/// plus a signature each); more than a few at once only means slower ones for everybody.
pub const DEFAULT_MAX_HANDSHAKES: usize = 4;

/// The crypto provider every config and check in this crate uses: ring. rustls 0.23.48
/// deprecated ring's provider because it has no post-quantum key exchange (X25519MLKEM768);
/// the alternative, aws-lc-rs, does not build for the static armv7 image with the cross gcc
/// alone. X25519, P-256 and P-384 remain, which every WinRM console negotiates.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config for `identity`: TLS 1.2 and 1.3, no client certificates.
pub fn server_config(identity: &Identity) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| format!("certificate and key: {e}"))?;
    // HTTP/1.1 only; offering it lets ALPN-speaking clients settle without guessing.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Why a TLS connection did not come up.
#[derive(Debug)]
pub enum AcceptError {
    /// [`Acceptor::max_handshakes`] are already in progress; the connection was dropped.
    Busy,
    /// The handshake did not complete within the deadline.
    Timeout,
    /// The handshake failed (protocol version, no shared cipher, peer closed, ...).
    Handshake(std::io::Error),
}

impl std::fmt::Display for AcceptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AcceptError::Busy => f.write_str("too many TLS handshakes in progress"),
            AcceptError::Timeout => f.write_str("TLS handshake timed out"),
            AcceptError::Handshake(e) => write!(f, "TLS handshake failed: {e}"),
        }
    }
}

/// Where the certificate comes from.
enum Source {
    /// The state directory's pair, re-read when a file's modification time changes.
    Dir(cert::Files),
    /// A pair made at start-up and held in memory (no state directory).
    Ephemeral,
}

struct Current {
    config: Arc<ServerConfig>,
    fingerprint: String,
    /// The file times the config was loaded from, or last failed to load from (so a bad pair
    /// is reported once, not on every connection).
    seen: Option<(SystemTime, SystemTime)>,
}

/// Accepts TLS connections with the current certificate.
///
/// Not `Send` (a `RefCell`): it lives on the agent's single-threaded executor beside the HTTP
/// futures; share it with `Rc`.
pub struct Acceptor {
    source: Source,
    current: RefCell<Current>,
    handshakes: Arc<Semaphore>,
    max_handshakes: usize,
    timeout: Duration,
}

impl Acceptor {
    /// Serves the pair in `dir` (see [`cert::ensure`] to create it first).
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<Rc<Self>, String> {
        let files = cert::Files::new(dir);
        let identity = files.load()?;
        let seen = files.mtimes();
        Self::build(Source::Dir(files), &identity, seen)
    }

    /// Serves a pair held in memory.
    pub fn ephemeral(identity: &Identity) -> Result<Rc<Self>, String> {
        Self::build(Source::Ephemeral, identity, None)
    }

    fn build(
        source: Source,
        identity: &Identity,
        seen: Option<(SystemTime, SystemTime)>,
    ) -> Result<Rc<Self>, String> {
        let config = server_config(identity)?;
        Ok(Rc::new(Self {
            source,
            current: RefCell::new(Current {
                config,
                fingerprint: identity.fingerprint(),
                seen,
            }),
            handshakes: Arc::new(Semaphore::new(DEFAULT_MAX_HANDSHAKES)),
            max_handshakes: DEFAULT_MAX_HANDSHAKES,
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }))
    }

    /// Changes the handshake deadline and bound; call before sharing.
    pub fn with_limits(self: Rc<Self>, timeout: Duration, max_handshakes: usize) -> Rc<Self> {
        let max = max_handshakes.max(1);
        match Rc::try_unwrap(self) {
            Ok(mut this) => {
                this.timeout = timeout;
                this.max_handshakes = max;
                this.handshakes = Arc::new(Semaphore::new(max));
                Rc::new(this)
            }
            Err(shared) => shared,
        }
    }

    pub fn max_handshakes(&self) -> usize {
        self.max_handshakes
    }

    /// SHA-256 fingerprint of the certificate new connections get.
    pub fn fingerprint(&self) -> String {
        self.refresh();
        self.current.borrow().fingerprint.clone()
    }

    /// Picks up a changed pair in the state directory. A pair that does not load (a half-done
    /// install, a bad file put there by hand) is logged and the old certificate keeps serving.
    fn refresh(&self) {
        let Source::Dir(files) = &self.source else {
            return;
        };
        let now = files.mtimes();
        if now.is_none() || now == self.current.borrow().seen {
            return;
        }
        let mut current = self.current.borrow_mut();
        current.seen = now;
        match files
            .load()
            .and_then(|id| Ok((server_config(&id)?, id.fingerprint())))
        {
            Ok((config, fingerprint)) => {
                info!("TLS certificate reloaded; SHA-256 fingerprint {fingerprint}");
                current.config = config;
                current.fingerprint = fingerprint;
            }
            Err(e) => warn!("TLS certificate in the state directory not used: {e}"),
        }
    }

    /// Runs the server handshake on `tcp`, bounded in time and in concurrency.
    pub async fn accept(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, AcceptError> {
        let Ok(_permit) = self.handshakes.clone().try_acquire_owned() else {
            return Err(AcceptError::Busy);
        };
        self.refresh();
        let config = self.current.borrow().config.clone();
        match tokio::time::timeout(self.timeout, TlsAcceptor::from(config).accept(tcp)).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(AcceptError::Handshake(e)),
            Err(_) => Err(AcceptError::Timeout),
        }
    }
}
