//! Push delivery for the std images (issue 16): the task that carries out what the
//! subscription table's scheduler decides (wsbmc-eventing's `deliver`), over HTTP or HTTPS.
//!
//! The loop: `poll(now)` says which message a subscription sends next → `render::delivery`
//! writes its envelope → a task of its own POSTs it to NotifyTo (EndTo for SubscriptionEnd)
//! with the credentials the Subscribe carried (Basic up front; Digest after the sink's 401
//! challenge) → the answer is classified (`deliver::classify`: 2xx, Ack, DeliveryRefused) and
//! fed back with `complete(id, outcome, now)`, which decides retries, back-off and the end.
//!
//! Keep-alive: a subscription's connection stays open after an answer that allows it (HTTP/1.1
//! without `Connection: close`, a body of known length), for its next message to the same
//! origin, at most [`KEEP_ALIVE_IDLE`] idle; one kept connection per subscription, so the table's
//! cap bounds them, and it is closed when its subscription ends. A sink that closed it while
//! idle is noticed before reuse (a peek), and a race with the sink's own idle timeout (the
//! connection closes before any byte of an answer) is tried once more on a new connection. The
//! Digest challenge is kept too (nonce, opaque, a cnonce, nc counting up, RFC 7616 3.4), so a
//! delivery after the first is one exchange, not two; a 401 (`stale=true`, or a nonce the sink
//! no longer takes) is answered by one re-authentication with the new challenge.
//!
//! Why it never blocks the poller or a request: the table is borrowed only to poll, render and
//! complete, never across an `.await`; the network exchange runs in its own task, bounded by
//! [`EXCHANGE_TIMEOUT`] end to end (connect, TLS, request, answer) and by [`MAX_RESPONSE`]
//! bytes. The scheduler keeps one message in flight per subscription, and [`MAX_IN_FLIGHT`]
//! caps the connections this task holds at once. Between messages it sleeps until the table's
//! next timer (a batch's MaxTime, a heartbeat, a retry, an expiry) or until the agent says
//! something changed (an event offered, a WS-Eventing request).
//!
//! Credentials never reach a log line: what is logged names the subscription and the sink's
//! host and port only (not the path, which a collector may use as a secret, nor any user
//! info, which a NotifyTo URL may not carry: such a URL is refused).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use wsbmc_agent::Agent;
use wsbmc_eventing::deliver::{self, DeliveryKind, Outcome};
use wsbmc_eventing::render;
use wsbmc_eventing::subscribe::{AuthScheme, Credentials, DeliveryAuth};
use wsbmc_eventing::table::format_uuid;
use wsbmc_wsman::XmlWriter;
use wsbmc_wsman::rng::TokenGen;

/// Longest one delivery may take, from connect to the end of the answer (a Digest exchange's
/// two requests together). A sink that takes longer is a failed try, retried with back-off.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer read from a sink (headers and body): an Ack or a fault is well under 4 KiB.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// Deliveries in flight at once, across subscriptions (the table's cap is 8 subscriptions,
/// each with at most one message out).
pub const MAX_IN_FLIGHT: usize = 8;

/// Longest a connection to a sink is kept open with nothing to send. Under the idle timeouts
/// of the servers collectors run on (HTTP.sys 120 s, nginx 75 s); a sink that closes sooner
/// (Apache's 5 s) is noticed before reuse. A subscription sending more often than this (events,
/// heartbeats) keeps one connection.
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(30);

/// Longest sleep without a timer due: a safety net only, every change wakes the task.
const IDLE_WAKEUP: Duration = Duration::from_secs(60);

/// The system bundle HTTPS deliveries trust when no `--event-ca` is given (Debian's path).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A TLS client config trusting the certificates of `pem` (a CA bundle, or a sink's own
/// self-signed certificate).
pub fn client_config(pem: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not valid PEM: {e:?}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("a certificate is not usable as a trust anchor: {e}"))?;
    }
    if roots.is_empty() {
        return Err("no CERTIFICATE block".into());
    }
    let config = ClientConfig::builder_with_provider(wsbmc_tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where a delivery goes, from a NotifyTo or EndTo address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Without brackets for an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// The request target: path and query, `/` at least.
    pub path: String,
}

impl Target {
    /// Parses an `http://` or `https://` URL. User info is refused (a password in a URL would
    /// end up wherever URLs are shown); the error never repeats the URL.
    pub fn parse(url: &str) -> Result<Self, &'static str> {
        let (https, rest) = if let Some(r) = strip_prefix_ignore_case(url, "https://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ignore_case(url, "http://") {
            (false, r)
        } else {
            return Err("not an http or https URL");
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err("a URL with user info is not delivered to");
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or("unclosed IPv6 literal")?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err("no host");
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| "bad port")?,
            None if https => 443,
            None => 80,
        };
        if port == 0 {
            return Err("bad port");
        }
        // The fragment is not sent; a missing path is "/".
        let tail = tail.split('#').next().unwrap_or("");
        if tail.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err("bad path");
        }
        let path = if tail.starts_with('/') {
            tail.to_string()
        } else {
            format!("/{tail}")
        };
        Ok(Self {
            https,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// Same scheme, host and port: where credentials given for one may go to the other.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.https == other.https
            && self.port == other.port
            && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// What a log line may say about the sink: scheme, host and port.
    fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }

    fn host_header(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// One message to send, taken out of the table so no borrow is held while it goes.
struct Job {
    id: String,
    kind: DeliveryKind,
    attempt: u32,
    target: Target,
    auth: Option<DeliveryAuth>,
    message_id: String,
    body: String,
}

/// A connection to a sink, plain or TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(t) => t,
            Conn::Tls(t) => t.get_ref().0,
        }
    }

    /// Whether the sink closed the connection while it was kept idle (or it failed). Bytes the
    /// sink sent unasked also rule out plain HTTP (no answer can be matched to them); on TLS
    /// they may be a session ticket, and a close_notify among them shows as an unanswered
    /// exchange, which is tried again on a new connection.
    fn closed_while_idle(&self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        match self.tcp().poll_peek(&mut cx, &mut buf) {
            Poll::Pending => false,
            Poll::Ready(Ok(0) | Err(_)) => true,
            Poll::Ready(Ok(_)) => matches!(self, Conn::Plain(_)),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(t) => Pin::new(t).poll_read(cx, buf),
            Conn::Tls(t) => Pin::new(t.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(t) => Pin::new(t).poll_write(cx, buf),
            Conn::Tls(t) => Pin::new(t.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(t) => Pin::new(t).poll_flush(cx),
            Conn::Tls(t) => Pin::new(t.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(t) => Pin::new(t).poll_shutdown(cx),
            Conn::Tls(t) => Pin::new(t.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A subscription's connection between two of its messages.
struct Kept {
    /// Where it goes: reused for a message to the same origin only.
    target: Target,
    conn: Conn,
    since: Instant,
}

/// A Digest challenge a subscription's sink gave, kept to answer its next messages up front.
struct DigestSession {
    target: Target,
    challenge: digest::Challenge,
    /// One client nonce per server nonce, as `-sess` algorithms need (H(A1) binds both).
    cnonce: String,
    /// The last nonce count sent with it.
    nc: u32,
}

/// The delivery task's state.
pub struct Deliverer {
    agent: Rc<Agent>,
    /// This service's own URL, for the SubscriptionManager EPR of a SubscriptionEnd whose
    /// subscription recorded no address of its own (one made without a `wsa:To`).
    manager: String,
    /// Trust for HTTPS sinks; `None` fails every HTTPS delivery (logged).
    tls: Option<Arc<ClientConfig>>,
    in_flight: Cell<usize>,
    ids: RefCell<TokenGen>,
    limits: wsbmc_wsman::Limits,
    /// Kept-alive connections, by subscription (taken out while a message is in flight).
    kept: RefCell<HashMap<String, Kept>>,
    /// Digest challenges, by subscription.
    digest: RefCell<HashMap<String, DigestSession>>,
}

fn now_ms() -> u64 {
    // The clock the agent gives the table (`Agent`'s requests and log task use it too).
    embassy_time::Instant::now().as_millis()
}

impl Deliverer {
    pub fn new(
        agent: Rc<Agent>,
        manager: String,
        tls: Option<Arc<ClientConfig>>,
        seed: u64,
    ) -> Rc<Self> {
        Rc::new(Self {
            agent,
            manager,
            tls,
            in_flight: Cell::new(0),
            ids: RefCell::new(TokenGen::new(seed)),
            limits: wsbmc_wsman::Limits::default(),
            kept: RefCell::new(HashMap::new()),
            digest: RefCell::new(HashMap::new()),
        })
    }

    /// Runs forever: sends what is due, then sleeps until the next timer or a change.
    pub async fn run(self: Rc<Self>) {
        loop {
            let now = now_ms();
            self.dispatch(now);
            // Polling expires subscriptions; the store forgets them too.
            self.agent.persist_subscriptions();
            let idle_left = self.prune();
            let capped = self.in_flight.get() >= MAX_IN_FLIGHT;
            let next = self.agent.events().table().borrow().next_wakeup();
            let wait = match next {
                // At the cap only a completion (which wakes the task) lets another go.
                _ if capped => IDLE_WAKEUP,
                // A timer already due that poll did not take (a subscription in flight):
                // look again soon rather than spin.
                Some(t) => Duration::from_millis(t.saturating_sub(now).max(10)),
                None => IDLE_WAKEUP,
            };
            let wait = idle_left.map_or(wait, |left| wait.min(left));
            tokio::select! {
                () = self.agent.events_changed() => {}
                () = tokio::time::sleep(wait.min(IDLE_WAKEUP)) => {}
            }
        }
    }

    /// Starts every delivery due at `now`, up to the in-flight cap.
    fn dispatch(self: &Rc<Self>, now: u64) {
        // Each poll moves a subscription in flight (or removes it), so this ends; the bound
        // only guards against a scheduler bug turning into a busy loop.
        for _ in 0..64 {
            if self.in_flight.get() >= MAX_IN_FLIGHT {
                return;
            }
            let job = {
                let mut table = self.agent.events().table().borrow_mut();
                let Some(d) = table.poll(now) else { return };
                let message_id = format_uuid(self.ids.borrow_mut().next_u128());
                let prepared = table.get(&d.id).and_then(|sub| {
                    let to = render::destination(sub, d.kind)?;
                    let target = match Target::parse(&to.address) {
                        Ok(t) => t,
                        Err(why) => {
                            warn!("subscription {}: cannot deliver: {why}", d.id);
                            return None;
                        }
                    };
                    let mut out = XmlWriter::new();
                    // The manager the SubscribeResponse named (the address the subscription
                    // arrived on); the first listener only for one made without a wsa:To.
                    let manager = sub.manager.as_deref().unwrap_or(&self.manager);
                    if !render::delivery(&mut out, sub, &d, &message_id, manager) {
                        return None;
                    }
                    // The credentials were given for NotifyTo: an EndTo elsewhere gets none.
                    let notify = sub
                        .terms
                        .notify_to
                        .as_ref()
                        .and_then(|n| Target::parse(&n.address).ok());
                    let auth = sub
                        .terms
                        .auth
                        .clone()
                        .filter(|_| notify.is_some_and(|n| n.same_origin(&target)));
                    Some(Job {
                        id: d.id.clone(),
                        kind: d.kind,
                        attempt: d.attempt,
                        target,
                        auth,
                        message_id: message_id.clone(),
                        body: out.into_string(),
                    })
                });
                match prepared {
                    Some(job) => job,
                    None => {
                        // Nothing can be sent: a failed try, so the scheduler's retries and
                        // end apply as for a sink that does not answer.
                        let ended = table.complete(&d.id, Outcome::Failed, now);
                        drop(table);
                        self.note_end(ended);
                        continue;
                    }
                }
            };
            self.in_flight.set(self.in_flight.get() + 1);
            let me = self.clone();
            tokio::task::spawn_local(async move {
                let outcome = me.send(&job).await;
                me.in_flight.set(me.in_flight.get().saturating_sub(1));
                let ended =
                    me.agent
                        .events()
                        .table()
                        .borrow_mut()
                        .complete(&job.id, outcome, now_ms());
                me.note_end(ended);
                // A delivered bookmark, or an end, changes what the store keeps.
                me.agent.persist_subscriptions();
                me.agent.wake_delivery();
            });
        }
    }

    /// Closes the kept connections idle for [`KEEP_ALIVE_IDLE`] or whose subscription is gone,
    /// and forgets gone subscriptions' Digest challenges. Returns how long until the next kept
    /// connection's idle time runs out.
    fn prune(&self) -> Option<Duration> {
        let table = self.agent.events().table().borrow();
        let mut kept = self.kept.borrow_mut();
        kept.retain(|id, k| table.get(id).is_some() && k.since.elapsed() < KEEP_ALIVE_IDLE);
        self.digest
            .borrow_mut()
            .retain(|id, _| table.get(id).is_some());
        kept.values()
            .map(|k| KEEP_ALIVE_IDLE.saturating_sub(k.since.elapsed()))
            .min()
    }

    fn note_end(&self, ended: Option<deliver::Ended>) {
        if let Some(e) = ended {
            info!("subscription {} ended: {:?}", e.id, e.reason);
        }
    }

    /// Sends one job and classifies the answer.
    async fn send(&self, job: &Job) -> Outcome {
        debug!(
            "subscription {}: {:?} (try {}) to {}",
            job.id,
            job.kind,
            job.attempt + 1,
            job.target.origin()
        );
        match tokio::time::timeout(EXCHANGE_TIMEOUT, self.exchange(job)).await {
            Ok(Ok(answer)) => {
                let outcome =
                    deliver::classify(answer.status, &answer.body, &job.message_id, &self.limits);
                if !matches!(outcome, Outcome::Accepted { .. }) {
                    warn!(
                        "subscription {}: {} answered {} ({:?})",
                        job.id,
                        job.target.origin(),
                        answer.status,
                        outcome
                    );
                }
                outcome
            }
            Ok(Err(e)) => {
                warn!(
                    "subscription {}: delivery to {} failed: {e}",
                    job.id,
                    job.target.origin()
                );
                Outcome::Failed
            }
            Err(_) => {
                warn!(
                    "subscription {}: {} did not answer within {:?}",
                    job.id,
                    job.target.origin(),
                    EXCHANGE_TIMEOUT
                );
                Outcome::Failed
            }
        }
    }

    /// One delivery: Basic credentials go with the first request. Digest ones answer the
    /// challenge kept from the subscription's last exchange (nc one higher), or else the one
    /// the sink's 401 gives, with a second request; a kept nonce the sink refuses (401, stale
    /// or not) is answered once with the new challenge.
    async fn exchange(&self, job: &Job) -> Result<Answer, String> {
        let creds = job
            .auth
            .as_ref()
            .and_then(|a| a.credentials.as_ref().map(|c| (a.scheme, c)));
        let first = match creds {
            Some((AuthScheme::Basic, c)) => Some(basic_header(c)),
            Some((AuthScheme::Digest, c)) => self.next_digest(job, c),
            None => None,
        };
        let answer = self.post(job, first.as_deref()).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let Some((AuthScheme::Digest, c)) = creds else {
            return Ok(answer);
        };
        self.digest.borrow_mut().remove(&job.id);
        let Some(challenge) = answer
            .challenges
            .iter()
            .filter_map(|h| digest::Challenge::parse(h))
            .max_by_key(|ch| ch.algorithm.preference())
        else {
            return Ok(answer);
        };
        if first.is_some() {
            debug!(
                "subscription {}: {} refused the kept Digest nonce (stale={}); once more",
                job.id,
                job.target.origin(),
                challenge.stale
            );
        }
        let cnonce = format!("{:032x}", self.ids.borrow_mut().next_u128());
        let header = challenge.authorization(c, "POST", &job.target.path, &cnonce, 1);
        let answer = self.post(job, Some(&header)).await?;
        if answer.status != 401 {
            self.digest.borrow_mut().insert(
                job.id.clone(),
                DigestSession {
                    target: job.target.clone(),
                    challenge,
                    cnonce,
                    nc: 1,
                },
            );
        }
        Ok(answer)
    }

    /// The `Authorization` answering the subscription's kept Digest challenge, when it has one
    /// for this origin.
    fn next_digest(&self, job: &Job, c: &Credentials) -> Option<String> {
        let mut sessions = self.digest.borrow_mut();
        let s = sessions
            .get_mut(&job.id)
            .filter(|s| s.target.same_origin(&job.target))?;
        // Past 2^32 - 1 uses the sink's challenge starts a new session.
        s.nc = s.nc.checked_add(1)?;
        Some(
            s.challenge
                .authorization(c, "POST", &job.target.path, &s.cnonce, s.nc),
        )
    }

    /// One request and its answer, on the subscription's kept connection when it has a usable
    /// one, else on a new one; the connection is kept afterwards when the answer allows.
    async fn post(&self, job: &Job, authorization: Option<&str>) -> Result<Answer, String> {
        let head = request_head(&job.target, job.body.len(), authorization);
        if let Some(conn) = self.reusable(job) {
            match exchange_on(conn, &head, job.body.as_bytes()).await {
                Ok((answer, conn)) => {
                    self.keep(job, conn, &answer).await;
                    return Ok(answer);
                }
                // The sink closed it before answering anything: its idle timeout raced this
                // request, which it never read. Once more on a new connection.
                Err(e) if e.unanswered => debug!(
                    "subscription {}: the kept connection to {} was closed ({}); reconnecting",
                    job.id,
                    job.target.origin(),
                    e.message
                ),
                Err(e) => return Err(e.message),
            }
        }
        let conn = self.connect(&job.target).await?;
        let (answer, conn) = exchange_on(conn, &head, job.body.as_bytes())
            .await
            .map_err(|e| e.message)?;
        self.keep(job, conn, &answer).await;
        Ok(answer)
    }

    /// The subscription's kept connection, if it goes to `job`'s origin, has not idled too
    /// long and the sink has not closed it. Taken out of the pool either way (dropped, so
    /// closed, when unusable).
    fn reusable(&self, job: &Job) -> Option<Conn> {
        let k = self.kept.borrow_mut().remove(&job.id)?;
        let usable = k.target.same_origin(&job.target)
            && k.since.elapsed() < KEEP_ALIVE_IDLE
            && !k.conn.closed_while_idle();
        usable.then_some(k.conn)
    }

    /// Keeps `conn` for the subscription's next message when `answer` allows (replacing, so
    /// closing, one it kept for another origin); else closes it.
    async fn keep(&self, job: &Job, mut conn: Conn, answer: &Answer) {
        if answer.keep_alive {
            self.kept.borrow_mut().insert(
                job.id.clone(),
                Kept {
                    target: job.target.clone(),
                    conn,
                    since: Instant::now(),
                },
            );
        } else {
            let _ = conn.shutdown().await;
        }
    }

    async fn connect(&self, t: &Target) -> Result<Conn, String> {
        let tcp = TcpStream::connect((t.host.as_str(), t.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        if !t.https {
            return Ok(Conn::Plain(tcp));
        }
        let config = self
            .tls
            .clone()
            .ok_or("HTTPS: no trust anchors (give --event-ca)")?;
        let name = ServerName::try_from(t.host.clone())
            .map_err(|_| "HTTPS: the host is not a DNS name or IP address".to_string())?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        Ok(Conn::Tls(Box::new(tls)))
    }
}

fn basic_header(c: &Credentials) -> String {
    use base64::Engine as _;
    let mut plain = Vec::with_capacity(c.username.len() + c.password.len() + 1);
    plain.extend_from_slice(c.username.as_bytes());
    plain.push(b':');
    plain.extend_from_slice(c.password.as_bytes());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(&plain)
    )
}

fn request_head(t: &Target, len: usize, authorization: Option<&str>) -> String {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n\
         Content-Length: {len}\r\nUser-Agent: wsbmc\r\n",
        t.path,
        t.host_header()
    );
    if let Some(a) = authorization {
        head.push_str("Authorization: ");
        head.push_str(a);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// What a sink answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// `WWW-Authenticate` values.
    pub challenges: Vec<String>,
    pub body: Vec<u8>,
    /// Whether the connection may carry the next request: HTTP/1.1 without `Connection:
    /// close` (or 1.0 with `keep-alive`), the answer's end known from its framing, and nothing
    /// after it.
    pub keep_alive: bool,
}

/// A failed exchange.
struct ExchangeError {
    message: String,
    /// Nothing of an answer arrived: the request went unread (a kept connection the sink
    /// had closed) or was never sent.
    unanswered: bool,
}

impl ExchangeError {
    fn new(message: String, unanswered: bool) -> Self {
        Self {
            message,
            unanswered,
        }
    }
}

impl From<String> for ExchangeError {
    fn from(message: String) -> Self {
        Self::new(message, false)
    }
}

/// Sends one request and reads its answer; the connection is handed back for reuse.
async fn exchange_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    head: &str,
    body: &[u8],
) -> Result<(Answer, S), ExchangeError> {
    let unsent = |e: std::io::Error| ExchangeError::new(format!("write: {e}"), true);
    s.write_all(head.as_bytes()).await.map_err(unsent)?;
    s.write_all(body).await.map_err(unsent)?;
    s.flush().await.map_err(unsent)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(a) = parse_answer(&buf, false)? {
            return Ok((a, s));
        }
        let n = match s.read(&mut chunk).await {
            Ok(n) => n,
            // A TLS peer that closes without close_notify: what was read is all there is.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(ExchangeError::new(format!("read: {e}"), buf.is_empty())),
        };
        if n == 0 {
            if buf.is_empty() {
                return Err(ExchangeError::new("closed before answering".into(), true));
            }
            let a =
                parse_answer(&buf, true)?.ok_or_else(|| "the answer was cut short".to_string())?;
            return Ok((a, s));
        }
        if buf.len() + n > MAX_RESPONSE {
            return Err(format!("the answer is longer than {MAX_RESPONSE} bytes").into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Parses an HTTP/1.x answer from `buf`: `None` while incomplete (at `eof`, a body without a
/// length ends there). Interim 1xx answers are skipped.
pub fn parse_answer(buf: &[u8], eof: bool) -> Result<Option<Answer>, String> {
    let mut start = 0;
    loop {
        let rest = &buf[start..];
        let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if eof {
                Err("the answer has no complete header".into())
            } else {
                Ok(None)
            };
        };
        let head = std::str::from_utf8(&rest[..end]).map_err(|_| "the header is not UTF-8")?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err("not an HTTP/1.x answer".into());
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or("bad status line")?;
        let mut length = None;
        let mut chunked = false;
        let mut challenges = Vec::new();
        // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it unless told.
        let mut keep_alive = version == "HTTP/1.1";
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("www-authenticate") {
                challenges.push(value.to_string());
            } else if name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case("keep-alive") && version == "HTTP/1.0" {
                        keep_alive = true;
                    }
                }
            }
        }
        let body_at = start + end + 4;
        if (100..200).contains(&status) {
            start = body_at;
            continue;
        }
        let body = &buf[body_at..];
        // Where the answer ends, when its framing says (an answer read to EOF has no next).
        let mut end = None;
        let body = if chunked {
            match dechunk(body)? {
                Some((b, used)) => {
                    end = Some(body_at + used);
                    b
                }
                None if eof => return Err("the chunked body was cut short".into()),
                None => return Ok(None),
            }
        } else if let Some(n) = length {
            if n > MAX_RESPONSE {
                return Err("the answer is too long".into());
            }
            if body.len() < n {
                return if eof {
                    Err("the body was cut short".into())
                } else {
                    Ok(None)
                };
            }
            end = Some(body_at + n);
            body[..n].to_vec()
        } else if status == 204 || status == 304 {
            end = Some(body_at);
            Vec::new()
        } else if eof {
            body.to_vec()
        } else {
            return Ok(None);
        };
        return Ok(Some(Answer {
            status,
            challenges,
            body,
            keep_alive: keep_alive && end == Some(buf.len()),
        }));
    }
}

/// Decodes a chunked body: `None` until the last chunk and the trailers have arrived; else the
/// body and how many bytes of `b` it took.
fn dechunk(mut b: &[u8]) -> Result<Option<(Vec<u8>, usize)>, String> {
    let total = b.len();
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&b[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        if size > MAX_RESPONSE {
            return Err("a chunk is too long".into());
        }
        b = &b[eol + 2..];
        if size == 0 {
            // Trailers (none, usually) end with an empty line.
            let rest = if b.starts_with(b"\r\n") {
                Some(2)
            } else {
                b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
            };
            return Ok(rest.map(|r| (out, total - b.len() + r)));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// The client side of HTTP Digest (RFC 7616): MD5 and SHA-256, with and without `-sess`,
/// `qop=auth` when offered.
pub mod digest {
    use md5::Md5;
    use sha2::{Digest as _, Sha256};
    use wsbmc_eventing::subscribe::Credentials;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Algorithm {
        Md5,
        Md5Sess,
        Sha256,
        Sha256Sess,
    }

    impl Algorithm {
        fn name(self) -> &'static str {
            match self {
                Algorithm::Md5 => "MD5",
                Algorithm::Md5Sess => "MD5-sess",
                Algorithm::Sha256 => "SHA-256",
                Algorithm::Sha256Sess => "SHA-256-sess",
            }
        }

        /// SHA-256 over MD5 when a sink offers both.
        pub fn preference(self) -> u8 {
            match self {
                Algorithm::Md5 | Algorithm::Md5Sess => 0,
                Algorithm::Sha256 | Algorithm::Sha256Sess => 1,
            }
        }

        fn hash(self, data: &str) -> String {
            let bytes: Vec<u8> = match self {
                Algorithm::Md5 | Algorithm::Md5Sess => Md5::digest(data.as_bytes()).to_vec(),
                Algorithm::Sha256 | Algorithm::Sha256Sess => {
                    Sha256::digest(data.as_bytes()).to_vec()
                }
            };
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    }

    /// A `WWW-Authenticate: Digest ...` challenge.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Challenge {
        pub realm: String,
        pub nonce: String,
        pub opaque: Option<String>,
        pub algorithm: Algorithm,
        /// Whether `qop=auth` was offered.
        pub qop_auth: bool,
        /// `stale=true`: the credentials were right, the nonce had expired.
        pub stale: bool,
    }

    impl Challenge {
        /// `None` for another scheme, an unknown algorithm, or a challenge without realm or
        /// nonce.
        pub fn parse(header: &str) -> Option<Self> {
            let h = header.trim_start();
            let (scheme, rest) = h.split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("Digest") {
                return None;
            }
            let (mut realm, mut nonce, mut opaque) = (None, None, None);
            let mut algorithm = Algorithm::Md5;
            let mut qop_auth = false;
            let mut stale = false;
            for (k, v) in params(rest)? {
                match k.to_ascii_lowercase().as_str() {
                    "realm" => realm = Some(v),
                    "nonce" => nonce = Some(v),
                    "opaque" => opaque = Some(v),
                    "qop" => qop_auth = v.split(',').any(|q| q.trim().eq_ignore_ascii_case("auth")),
                    "stale" => stale = v.eq_ignore_ascii_case("true"),
                    "algorithm" => {
                        algorithm = match v.to_ascii_uppercase().as_str() {
                            "MD5" => Algorithm::Md5,
                            "MD5-SESS" => Algorithm::Md5Sess,
                            "SHA-256" => Algorithm::Sha256,
                            "SHA-256-SESS" => Algorithm::Sha256Sess,
                            _ => return None,
                        }
                    }
                    _ => {}
                }
            }
            Some(Self {
                realm: realm?,
                nonce: nonce?,
                opaque,
                algorithm,
                qop_auth,
                stale,
            })
        }

        /// The `Authorization` value answering this challenge for `method uri`, the `nc`-th
        /// request with this nonce (counted from 1).
        pub fn authorization(
            &self,
            c: &Credentials,
            method: &str,
            uri: &str,
            cnonce: &str,
            nc: u32,
        ) -> String {
            let alg = self.algorithm;
            let mut ha1 = alg.hash(&format!("{}:{}:{}", c.username, self.realm, c.password));
            if matches!(alg, Algorithm::Md5Sess | Algorithm::Sha256Sess) {
                ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", self.nonce));
            }
            let ha2 = alg.hash(&format!("{method}:{uri}"));
            let nc = format!("{nc:08x}");
            let response = if self.qop_auth {
                alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
            } else {
                alg.hash(&format!("{ha1}:{}:{ha2}", self.nonce))
            };
            let mut h = format!(
                "Digest username={}, realm={}, nonce={}, uri={}, algorithm={}, response=\"{response}\"",
                quote(&c.username),
                quote(&self.realm),
                quote(&self.nonce),
                quote(uri),
                alg.name()
            );
            if self.qop_auth {
                h.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
            }
            if let Some(o) = &self.opaque {
                h.push_str(", opaque=");
                h.push_str(&quote(o));
            }
            h
        }
    }

    fn quote(s: &str) -> String {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for ch in s.chars() {
            if ch == '"' || ch == '\\' {
                q.push('\\');
            }
            q.push(ch);
        }
        q.push('"');
        q
    }

    /// `k=v, k="v"` pairs; `None` when malformed.
    fn params(mut s: &str) -> Option<Vec<(String, String)>> {
        let mut out = Vec::new();
        loop {
            s = s.trim_start_matches([' ', '\t', ',']);
            if s.is_empty() {
                return Some(out);
            }
            let eq = s.find('=')?;
            let key = s[..eq].trim().to_string();
            s = s[eq + 1..].trim_start();
            let value = if let Some(q) = s.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\\' => v.push(chars.next()?.1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        c => v.push(c),
                    }
                }
                s = &q[end?..];
                v
            } else {
                let end = s.find(',').unwrap_or(s.len());
                let v = s[..end].trim().to_string();
                s = &s[end..];
                v
            };
            out.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_refuse_user_info() {
        let t = Target::parse("http://127.0.0.1:8080/sink?x=1#frag").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8080, "/sink?x=1")
        );
        let t = Target::parse("HTTPS://[::1]/").unwrap();
        assert_eq!((t.https, t.host.as_str(), t.port), (true, "::1", 443));
        assert_eq!(t.origin(), "https://[::1]:443");
        assert_eq!(t.host_header(), "[::1]");
        assert_eq!(Target::parse("http://h").unwrap().path, "/");
        assert!(Target::parse("http://user:secret@h/").is_err());
        assert!(Target::parse("ftp://h/").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:0/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
        assert!(Target::parse("http://h/a b").is_err());
        assert!(Target::parse("http://h/a\r\nX: y").is_err());
        // Credentials for NotifyTo go to an EndTo of the same origin only.
        let notify = Target::parse("http://Sink:8080/a").unwrap();
        assert!(notify.same_origin(&Target::parse("http://sink:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("http://other:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("https://sink:8080/end").unwrap()));
        assert!(!notify.same_origin(&Target::parse("http://sink:8081/end").unwrap()));
    }

    #[test]
    fn answers_parse_with_length_chunks_or_eof() {
        let a = parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", false)
            .unwrap()
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"abc"[..]));
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", false).unwrap(),
            None
        );
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", true).is_err());
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n";
        let a = parse_answer(chunked, false).unwrap().unwrap();
        assert_eq!(a.body, b"abcde");
        assert_eq!(
            parse_answer(&chunked[..chunked.len() - 2], false).unwrap(),
            None
        );
        let a = parse_answer(b"HTTP/1.0 202 Accepted\r\n\r\nxyz", true)
            .unwrap()
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (202, &b"xyz"[..]));
        assert_eq!(
            parse_answer(b"HTTP/1.0 202 Accepted\r\n\r\nxyz", false).unwrap(),
            None
        );
        let a = parse_answer(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 No\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\"\r\nWWW-Authenticate: Basic realm=\"r\"\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(a.status, 401);
        assert_eq!(a.challenges.len(), 2);
        assert!(parse_answer(b"SSH-2.0\r\n\r\n", true).is_err());
        assert!(
            parse_answer(
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
                false
            )
            .is_err()
        );
    }

    fn creds() -> Credentials {
        Credentials {
            username: "Mufasa".into(),
            password: "Circle of Life".into(),
        }
    }

    #[test]
    fn digest_answers_the_rfc_7616_examples() {
        // RFC 7616 section 3.9.1, SHA-256 and MD5.
        for (alg, expect) in [
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ] {
            let header = format!(
                "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={alg}, \
                 nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            );
            let ch = digest::Challenge::parse(&header).unwrap();
            assert!(ch.qop_auth);
            let h = ch.authorization(
                &creds(),
                "GET",
                "/dir/index.html",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                1,
            );
            assert!(h.contains(&format!("response=\"{expect}\"")), "{h}");
            assert!(h.contains("opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""));
            assert!(h.contains("nc=00000001"));
        }
        assert_eq!(digest::Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(digest::Challenge::parse("Digest realm=\"x\""), None);
        assert_eq!(
            digest::Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-512"),
            None
        );
        assert_eq!(
            digest::Challenge::parse("Digest realm=\"x, nonce=\"n"),
            None
        );
    }

    #[test]
    fn a_kept_digest_challenge_counts_its_uses_and_stale_is_read() {
        let ch = digest::Challenge::parse(
            "Digest realm=\"r\", qop=\"auth\", algorithm=SHA-256, nonce=\"n\", stale=TRUE",
        )
        .unwrap();
        assert!(ch.stale);
        let first = ch.authorization(&creds(), "POST", "/s", "c", 1);
        let next = ch.authorization(&creds(), "POST", "/s", "c", 0x1a);
        assert!(
            first.contains("nc=00000001") && next.contains("nc=0000001a"),
            "{next}"
        );
        // The count is hashed in: the same request with another count is another response.
        let response = |h: &str| h.split("response=").nth(1).unwrap()[..66].to_string();
        assert_ne!(response(&first), response(&next));
        assert!(
            !digest::Challenge::parse("Digest realm=\"r\", nonce=\"n\"")
                .unwrap()
                .stale
        );
    }

    #[test]
    fn answers_say_whether_the_connection_may_be_kept() {
        let keep = |raw: &[u8], eof: bool| parse_answer(raw, eof).unwrap().unwrap().keep_alive;
        assert!(keep(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Close\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(!keep(
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(keep(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
            false
        ));
        assert!(keep(b"HTTP/1.1 204 No Content\r\n\r\n", false));
        // A body that ends at EOF leaves nothing to reuse; bytes past the answer neither.
        assert!(!keep(b"HTTP/1.1 200 OK\r\n\r\nabc", true));
        assert!(!keep(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
            false
        ));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n";
        assert!(keep(chunked, false));
        let trailers =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nX: y\r\n\r\n";
        assert!(keep(trailers, false));
        // The trailers' end has not arrived yet.
        assert_eq!(
            parse_answer(&trailers[..trailers.len() - 2], false).unwrap(),
            None
        );
    }

    /// The check before a kept connection is reused: open and quiet is usable; closed by the
    /// sink, or with bytes nobody asked for, is not.
    #[tokio::test(flavor = "current_thread")]
    async fn a_kept_connection_the_sink_closed_or_wrote_on_is_not_reused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conn = Conn::Plain(TcpStream::connect(addr).await.unwrap());
        let (mut server, _) = listener.accept().await.unwrap();
        assert!(!conn.closed_while_idle());
        server.write_all(b"HTTP/1.1 408 x\r\n\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(conn.closed_while_idle(), "unasked bytes");

        let conn = Conn::Plain(TcpStream::connect(addr).await.unwrap());
        let (server, _) = listener.accept().await.unwrap();
        assert!(!conn.closed_while_idle());
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(conn.closed_while_idle(), "closed by the sink");
    }

    /// An exchange on a connection the sink closed before answering says so, which is what
    /// lets a kept connection's request go again on a new one; a cut-short answer does not.
    #[tokio::test(flavor = "current_thread")]
    async fn an_unanswered_exchange_is_told_from_a_cut_short_answer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for (reply, unanswered) in [
            (&b""[..], true),
            (&b"HTTP/1.1 200 OK\r\nContent-Le"[..], false),
        ] {
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let serve = async move {
                let mut buf = [0u8; 256];
                let _ = server.read(&mut buf).await;
                server.write_all(reply).await.unwrap();
            };
            let (result, ()) =
                tokio::join!(exchange_on(client, "POST / HTTP/1.1\r\n\r\n", b""), serve);
            match result {
                Err(e) => assert_eq!(e.unanswered, unanswered, "{}", e.message),
                Ok(_) => panic!("no answer was complete"),
            }
        }
    }

    #[test]
    fn digest_quotes_what_it_echoes() {
        let ch = digest::Challenge::parse(r#"Digest realm="a\"b", nonce="n""#).unwrap();
        assert_eq!(ch.realm, "a\"b");
        let c = Credentials {
            username: "we\"ird".into(),
            password: "p".into(),
        };
        let h = ch.authorization(&c, "POST", "/", "c", 1);
        assert!(
            h.starts_with(r#"Digest username="we\"ird", realm="a\"b""#),
            "{h}"
        );
    }

    #[test]
    fn basic_header_encodes_the_pair() {
        let c = Credentials {
            username: "Aladdin".into(),
            password: "open sesame".into(),
        };
        assert_eq!(basic_header(&c), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }
}
