//! WS-Eventing Push and PushWithAck delivery on this image (issue 16, feature `push`).
//!
//! One task with one socket of its own: `poll(now)` says which message a subscription sends
//! next → the agent renders its envelope (a deferred event from its SEL record, as a Pull
//! does) → it is POSTed to NotifyTo (EndTo for SubscriptionEnd) with the Subscribe's Basic or
//! Digest credentials → the answer is classified (`deliver::classify`: 2xx, Ack,
//! DeliveryRefused) and fed back with `complete`, which decides retries, back-off and the end.
//! The client's request and answer handling is wsbmc-http's `client`, the std images' too.
//!
//! Why it is small: one message at a time (the table keeps one in flight per subscription;
//! with two subscriptions the second waits for the first), plain `http://` only (no TLS client
//! fits: an https NotifyTo is refused at Subscribe, `Agent::deliver_over_http_only`), NotifyTo
//! hosts as IPv4 literals (no DNS resolver is linked), a 128 B receive and 256 B send buffer
//! (the body and the answer live on the heap, and only while a message is out), a connection
//! per request (no keep-alive, and a Digest sink's challenge is answered afresh for each
//! message: two requests where the std images, which keep both, send one). Each costs flash
//! this image does not have.
//!
//! Why it never blocks the poller or a request: everything here awaits (connect, write, read,
//! each exchange bounded by [`EXCHANGE_TIMEOUT`]); the table is borrowed only to poll, render
//! and complete, never across an await. Heap: a message is made only when
//! [`HEAP_NEEDED`] is free beside the `HANDLE_RESERVE` a request needs, so a delivery never
//! turns a request that would have been served into a 503 or a failed allocation; short of it,
//! the message waits in the queue and the task looks again in a second.
//!
//! Credentials never reach a log line: what is logged names the subscription and the sink's
//! host and port only.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use defmt::{debug, info, warn};
use embassy_net::tcp::{State as TcpState, TcpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_time::{Duration, Instant, with_timeout};
use wsbmc_agent::Agent;
use wsbmc_eventing::deliver::{self, EndReason, Outcome};
use wsbmc_eventing::render;
use wsbmc_eventing::subscribe::{AuthScheme, Credentials};
#[cfg(feature = "digest")]
use wsbmc_http::client::digest;
use wsbmc_http::client::{Answer, Target, basic_header, parse_answer, request_head};
use wsbmc_wsman::XmlWriter;
use wsbmc_wsman::rng::TokenGen;

/// Socket buffers: an answer is read into the heap as it comes, a body written from it, so
/// these only pace the transfer.
const RX_LEN: usize = 128;
const TX_LEN: usize = 256;

/// Largest answer read from a sink, head and body: an Ack or a fault is well under this.
const MAX_ANSWER: usize = 2 * 1024;

/// Bytes the answer buffer grows by per read.
const READ_STEP: usize = 256;

/// Heap a message takes while it is out, beyond `HANDLE_RESERVE`: its envelope and the
/// renderer's scratch (`events::RENDER_PER_EVENT`), the answer, and the request head with a
/// Digest header. Arithmetic, an upper bound.
const HEAP_NEEDED: usize = crate::events::RENDER_PER_EVENT + MAX_ANSWER + 512;

/// Longest one delivery may take, connect to the end of the answer (a Digest exchange's two
/// requests together). A sink that takes longer is a failed try, retried with back-off.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest sleep without a timer due: a safety net only, every change wakes the task.
const IDLE_WAKEUP: Duration = Duration::from_secs(60);

/// One message to send, taken out of the table so no borrow is held while it goes.
struct Job {
    id: String,
    target: Target,
    auth: Option<(AuthScheme, Credentials)>,
    message_id: String,
    body: String,
}

/// The task's socket and what it needs between messages.
struct Client<'s> {
    socket: TcpSocket<'s>,
    ids: TokenGen,
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

#[embassy_executor::task]
pub async fn push_task(stack: Stack<'static>, agent: &'static Agent, seed: u64) -> ! {
    let mut rx = [0u8; RX_LEN];
    let mut tx = [0u8; TX_LEN];
    let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
    socket.set_timeout(Some(EXCHANGE_TIMEOUT));
    let mut client = Client {
        socket,
        ids: TokenGen::new(seed ^ 0x7075_7368_0000_0001),
    };
    // This service's own URL, for the SubscriptionManager EPR of a SubscriptionEnd whose
    // subscription recorded no `wsa:To` of its own (build.rs spells it from the board file).
    let manager = crate::board::SERVICE_URL;
    loop {
        let now = now_ms();
        let roomy = crate::mem::heap_free() >= crate::HANDLE_RESERVE + HEAP_NEEDED;
        let job = if roomy {
            prepare(agent, now, &mut client.ids, manager)
        } else {
            None
        };
        if let Some(job) = job {
            // On the heap while it runs (inside `HEAP_NEEDED`'s answer share): as part of this
            // task's future it would be static RAM for good.
            let outcome = match with_timeout(EXCHANGE_TIMEOUT, Box::pin(client.send(&job))).await {
                Ok(o) => o,
                Err(_) => {
                    warn!(
                        "push {=str}: no answer within {=u64} s",
                        job.id.as_str(),
                        EXCHANGE_TIMEOUT.as_secs()
                    );
                    Outcome::Failed
                }
            };
            // Whatever state the exchange left the connection in (a timeout among them), the
            // socket is freed for the next message.
            client.disconnect().await;
            let ended = agent
                .events()
                .table()
                .borrow_mut()
                .complete(&job.id, outcome, now_ms());
            note_end(ended);
            continue;
        }
        let mut wait = match agent.events().table().borrow().next_wakeup() {
            // A timer already due that poll did not take: look again soon rather than spin.
            Some(t) => Duration::from_millis(t.saturating_sub(now).max(10)),
            None => IDLE_WAKEUP,
        };
        if !roomy {
            wait = wait.min(Duration::from_secs(1));
        }
        let _ = with_timeout(wait.min(IDLE_WAKEUP), agent.events_changed()).await;
    }
}

/// The next message due, rendered and taken out of the table; `None` when nothing is due. A
/// message that cannot be made (no destination, an address this image cannot send to) is a
/// failed try, so the scheduler's retries and end apply as for a sink that does not answer.
fn prepare(agent: &Agent, now: u64, ids: &mut TokenGen, manager: &str) -> Option<Job> {
    // Each poll moves a subscription in flight (or removes it), so this ends; the bound only
    // guards against a scheduler bug turning into a busy loop.
    for _ in 0..8 {
        let mut table = agent.events().table().borrow_mut();
        let d = table.poll(now)?;
        let message_id = String::from(ids.next_uuid().as_str());
        let job = table.get(&d.id).and_then(|sub| {
            let to = render::destination(sub, d.kind)?;
            let target = Target::parse(&to.address).ok()?;
            let mut out = XmlWriter::new();
            let manager = sub.manager.as_deref().unwrap_or(manager);
            if !agent.render_delivery(&mut out, sub, &d, &message_id, manager) {
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
                .as_ref()
                .filter(|_| notify.is_some_and(|n| n.same_origin(&target)))
                .and_then(|a| Some((a.scheme, a.credentials.clone()?)));
            Some(Job {
                id: d.id.clone(),
                target,
                auth,
                message_id,
                body: out.into_string(),
            })
        });
        if job.is_some() {
            return job;
        }
        warn!("push {=str}: the message cannot be made", d.id.as_str());
        let ended = table.complete(&d.id, Outcome::Failed, now);
        drop(table);
        note_end(ended);
    }
    None
}

fn note_end(ended: Option<deliver::Ended>) {
    if let Some(e) = ended {
        let reason = match e.reason {
            EndReason::Refused => "refused by the sink",
            EndReason::DeliveryFailure => "delivery failure",
            EndReason::Cancelled => "an event larger than MaxEnvelopeSize",
        };
        info!(
            "push {=str}: subscription ended: {=str}",
            e.id.as_str(),
            reason
        );
    }
}

/// Four decimal octets (no DNS resolver is linked), each one or more ASCII digits up to 255
/// (leading zeros allowed, as the client's `number` took them). One pass over the bytes: a
/// `split('.')` and core's address parser each cost more flash.
fn ipv4(host: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    let mut n = 0u32;
    let mut digits = false;
    // A `.` after the last octet stores it by the same step as the others.
    for b in host.bytes().chain([b'.']) {
        if b == b'.' {
            *octets.get_mut(i)? = u8::try_from(n).ok().filter(|_| digits)?;
            i += 1;
            n = 0;
            digits = false;
        } else {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = (n * 10 + u32::from(d)).min(256);
            digits = true;
        }
    }
    (i == 4).then(|| Ipv4Addr::from(octets))
}

impl Client<'_> {
    /// Sends one message and classifies the answer. The sink is logged as host and port, the
    /// scheme in the format string: `Target::origin` would build a String for each line, and
    /// defmt formats on the host anyway (only `http://` reaches here; `connect` says so).
    async fn send(&mut self, job: &Job) -> Outcome {
        debug!(
            "push {=str}: to http://{=str}:{=u16}",
            job.id.as_str(),
            job.target.host.as_str(),
            job.target.port
        );
        match self.exchange(job).await {
            Ok(answer) => {
                let limits = wsbmc_wsman::Limits::default();
                let outcome =
                    deliver::classify(answer.status, &answer.body, &job.message_id, &limits);
                if !matches!(outcome, Outcome::Accepted { .. }) {
                    warn!(
                        "push {=str}: http://{=str}:{=u16} answered {=u16}",
                        job.id.as_str(),
                        job.target.host.as_str(),
                        job.target.port,
                        answer.status
                    );
                }
                outcome
            }
            Err(f) => {
                warn!(
                    "push {=str}: delivery to http://{=str}:{=u16} failed: {=str}",
                    job.id.as_str(),
                    job.target.host.as_str(),
                    job.target.port,
                    f
                );
                Outcome::Failed
            }
        }
    }

    /// One delivery, each request on a connection of its own: Basic credentials go with the
    /// first request; Digest ones answer the challenge of the sink's 401 with a second.
    // Without `digest` the loop's one repeat (the challenge answered) is compiled out.
    #[cfg_attr(not(feature = "digest"), allow(clippy::never_loop))]
    async fn exchange(&mut self, job: &Job) -> Result<Answer, &'static str> {
        #[cfg_attr(not(feature = "digest"), allow(unused_mut))]
        let mut authorization = match &job.auth {
            Some((AuthScheme::Basic, c)) => Some(basic_header(&c.username, &c.password)),
            _ => None,
        };
        #[cfg(feature = "digest")]
        let mut challenged = false;
        loop {
            let head = request_head(&job.target, job.body.len(), authorization.as_deref());
            self.disconnect().await;
            self.connect(&job.target).await?;
            let answer = self.exchange_on(&head, job.body.as_bytes()).await?;
            // Without the `digest` feature a Digest sink's 401 is the answer: a failed try.
            #[cfg(feature = "digest")]
            if let Some((AuthScheme::Digest, c)) = &job.auth
                && answer.status == 401
                && !challenged
                && let Some(challenge) = digest::best(&answer.challenges)
            {
                let cnonce = self.ids.next_uuid();
                authorization = Some(challenge.authorization(
                    &c.username,
                    &c.password,
                    "POST",
                    &job.target.path,
                    cnonce.as_str(),
                    1,
                ));
                challenged = true;
                continue;
            }
            return Ok(answer);
        }
    }

    async fn connect(&mut self, t: &Target) -> Result<(), &'static str> {
        if t.https {
            return Err("https is not delivered to by this image");
        }
        let ip = ipv4(&t.host).ok_or("the sink's host is not an IPv4 address (no DNS here)")?;
        self.socket
            .connect(IpEndpoint::new(ip.into(), t.port))
            .await
            .map_err(|_| "connect")?;
        // The head and body go in two writes; Nagle would hold the body back an RTT.
        self.socket.set_nagle_enabled(false);
        Ok(())
    }

    /// Closes the connection (gracefully when the sink lets it, within a second) and resets
    /// what is left, so the socket is free to connect again at once: a close from this side
    /// would otherwise hold it in TIME-WAIT.
    async fn disconnect(&mut self) {
        if self.socket.state() == TcpState::Closed {
            return;
        }
        self.socket.close();
        // The close, then the reset, each get a second to reach the wire, through one await:
        // each await of a flush inlines the socket's flush and a timer.
        let mut aborted = false;
        loop {
            let _ = with_timeout(Duration::from_secs(1), self.socket.flush()).await;
            if aborted {
                return;
            }
            self.socket.abort();
            aborted = true;
        }
    }

    async fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), &'static str> {
        while !bytes.is_empty() {
            match self.socket.write(bytes).await {
                Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
                _ => return Err("write"),
            }
        }
        Ok(())
    }

    /// Sends one request and reads its answer into the heap, at most [`MAX_ANSWER`] bytes.
    async fn exchange_on(&mut self, head: &str, body: &[u8]) -> Result<Answer, &'static str> {
        // One await for head and body: each inlines the socket's write path.
        for part in [head.as_bytes(), body] {
            self.write_all(part).await?;
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            if let Some(a) = parse_answer(&buf, false, MAX_ANSWER)? {
                return Ok(a);
            }
            let len = buf.len();
            if len >= MAX_ANSWER {
                return Err("the answer is too long");
            }
            // Fallibly: an answer that finds no heap is a failed try, not a reset.
            if buf.try_reserve_exact(READ_STEP).is_err() {
                return Err("no heap for the answer");
            }
            buf.resize(len + READ_STEP, 0);
            let n = self
                .socket
                .read(buf.get_mut(len..).unwrap_or_default())
                .await
                .map_err(|_| "read")?;
            buf.truncate(len + n);
            if n == 0 {
                return parse_answer(&buf, true, MAX_ANSWER)?.ok_or("the answer was cut short");
            }
        }
    }
}
