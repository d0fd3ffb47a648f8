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
use wsbmc_http::client::{Answer, Target, basic_header, digest, parse_answer, request_head};
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
            Some((AuthScheme::Basic, c)) => Some(basic_header(&c.username, &c.password)),
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
        let Some(challenge) = digest::best(&answer.challenges) else {
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
        let header = challenge.authorization(
            &c.username,
            &c.password,
            "POST",
            &job.target.path,
            &cnonce,
            1,
        );
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
        Some(s.challenge.authorization(
            &c.username,
            &c.password,
            "POST",
            &job.target.path,
            &s.cnonce,
            s.nc,
        ))
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

impl From<&'static str> for ExchangeError {
    fn from(message: &'static str) -> Self {
        Self::new(message.into(), false)
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
        if let Some(a) = parse_answer(&buf, false, MAX_RESPONSE)? {
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
            let a = parse_answer(&buf, true, MAX_RESPONSE)?
                .ok_or_else(|| "the answer was cut short".to_string())?;
            return Ok((a, s));
        }
        if buf.len() + n > MAX_RESPONSE {
            return Err(format!("the answer is longer than {MAX_RESPONSE} bytes").into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
