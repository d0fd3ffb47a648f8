//! The keep-alive connection loop shared by every image.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_time::{Duration, Instant, with_deadline};
use embedded_io_async::{Read, Write};

use crate::auth::{Auth, Step, Verdict};
use crate::body::{BodyError, read_body};
use crate::bufio::{BufferedIo, HeadRead};
use crate::conn::Connection;
use crate::head::{Framing, analyse, parse, soap_media_type};
use crate::limits::HttpLimits;
use crate::offer::Offer;
use crate::{Handler, Request, Response};

/// The WS-Man endpoint every client uses.
pub const WSMAN_PATH: &str = "/wsman";
/// Longest a refused source in back-off waits for its 401 (feature `tarpit`): long enough to
/// pace a flood, short enough for a client's timeout.
#[cfg(feature = "tarpit")]
const TARPIT_MAX_MS: u32 = 2_000;

/// openwsman's and wsmancli's endpoint for unauthenticated Identify.
pub const ANON_IDENTIFY_PATH: &str = "/wsman-anon/identify";

/// Headers per request. WS-Man clients send about ten; each slot costs 16 bytes of stack on a
/// 32-bit MCU, so this is kept well below the 64 of edge-http, which parsed heads before.
const MAX_HEADERS: usize = 32;

/// The part of a small caller's buffer used as read-ahead; the rest holds the request head.
const READ_AHEAD: usize = 256;

/// From this size on (the std images pass 4 KiB), the caller's buffer is split evenly between
/// read-ahead and head, so that one read takes a whole request, head and body, where a 256-byte
/// read-ahead took three or four reads; heads still have 2 KiB, twice what WS-Man clients send.
const SPLIT_EVENLY_FROM: usize = 4096;

/// Smallest `buf` accepted by [`serve_connection`]: the read-ahead plus room for a minimal head.
/// 2–4 KiB is the practical size: Basic credentials and SOAP action headers are long.
pub const MIN_BUF_LEN: usize = READ_AHEAD + 256;

/// Bodies up to this size are sent in the same write as the head, so a Nagle-enabled socket
/// does not hold the small tail segment back waiting for an ACK.
const COALESCE_LIMIT: usize = 1024;

/// The same on a connection with a large read-ahead (a buffer of [`SPLIT_EVENLY_FROM`] or
/// more: the std images, whose heap has room for the copy): a Get's few-KiB response goes out
/// in one write, one syscall, not two; copying it costs far less than the second send.
const COALESCE_LIMIT_LARGE: usize = 16 * 1024;

/// Bound on writing the courtesy 408 after a timeout; the peer is already misbehaving.
const COURTESY_WRITE_MS: u32 = 1_000;

/// Which limit expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Headers,
    Body,
    Write,
}

/// Why a connection ended other than by an orderly close. The caller only logs it; the socket
/// should be dropped either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeError<E> {
    /// The transport failed.
    Io(E),
    /// A request took too long (a 408 was attempted before closing).
    Timeout(Phase),
    /// The request was refused with this status and the connection closed, because its framing
    /// or size made it impossible or unsafe to continue reading the stream.
    Rejected(u16),
    /// The peer closed in the middle of a request body.
    IncompleteBody,
    /// `buf` is shorter than [`MIN_BUF_LEN`].
    BufferTooSmall,
    /// The handler could not finish a streamed response ([`crate::Handler::more`]): the message
    /// was left without its last chunk, so the client sees it cut short, and the connection
    /// closed. Only with `stream`: without it nothing has been sent when a rest fails, and it
    /// is answered 500.
    #[cfg(feature = "stream")]
    Unfinished,
}

impl<E: fmt::Debug> fmt::Display for ServeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Io(e) => write!(f, "transport error: {e:?}"),
            ServeError::Timeout(phase) => write!(f, "timed out reading/writing {phase:?}"),
            ServeError::Rejected(status) => write!(f, "request rejected with {status}, closed"),
            ServeError::IncompleteBody => f.write_str("peer closed inside a request body"),
            ServeError::BufferTooSmall => f.write_str("connection buffer too small"),
            #[cfg(feature = "stream")]
            ServeError::Unfinished => f.write_str("streamed response could not be finished"),
        }
    }
}

/// Whether the loop goes on to the next request.
enum Next {
    KeepAlive,
    Close,
}

type Outcome<E> = Result<Next, ServeError<E>>;

/// Serves HTTP/1.1 requests on one connection until the peer closes, asks to close, idles past
/// `limits.idle_timeout_ms`, or breaks the protocol.
///
/// `io` is any `embedded-io-async` stream: `embassy_net::tcp::TcpSocket`, or a tokio stream
/// wrapped in `embedded_io_adapters::tokio_1::FromTokio`. The future is not `Send`; on tokio run
/// it on a `current_thread` runtime with `LocalSet::spawn_local`. `buf` is this connection's
/// scratch area (at least [`MIN_BUF_LEN`], 2–4 KiB recommended); the request body is buffered
/// separately on the heap, bounded by `limits.max_body`.
///
/// Returns `Ok(())` for every orderly end (peer close, `Connection: close`, idle timeout).
pub async fn serve_connection<T, H>(
    io: T,
    handler: &H,
    auth: &Auth,
    limits: &HttpLimits,
    buf: &mut [u8],
) -> Result<(), ServeError<T::Error>>
where
    T: Read + Write,
    H: Handler + ?Sized,
{
    serve_connection_with(io, handler, auth, limits, &Offer::HTTP, buf, None).await
}

/// At most one response among the connections that share it: a connection holds the gate from
/// the moment its handler runs until the response is written (bounded by the write timeout),
/// and another connection's response waits for it.
///
/// For a server whose heap cannot hold two responses at once: on the bare-metal image a
/// response is up to 8 KiB, and two connections' responses plus their parsed requests do not
/// fit its 32 KiB heap. Requests are still read concurrently; only handling and sending take
/// turns. The price: a client that does not read its response holds the other connections'
/// answers back, for at most the write timeout (`HttpLimits::body_timeout_ms`). A host with
/// memory to spare serves without one ([`serve_connection`]).
pub struct ResponseGate(Mutex<NoopRawMutex, ()>);

impl ResponseGate {
    pub const fn new() -> Self {
        Self(Mutex::new(()))
    }
}

impl Default for ResponseGate {
    fn default() -> Self {
        Self::new()
    }
}

/// [`serve_connection`], taking turns with the other connections sharing `gate` to handle and
/// send responses.
pub async fn serve_connection_gated<T, H>(
    io: T,
    handler: &H,
    auth: &Auth,
    limits: &HttpLimits,
    buf: &mut [u8],
    gate: &ResponseGate,
) -> Result<(), ServeError<T::Error>>
where
    T: Read + Write,
    H: Handler + ?Sized,
{
    serve_connection_with(io, handler, auth, limits, &Offer::HTTP, buf, Some(gate)).await
}

/// [`serve_connection`] for a listener that offers `offer` (its transport and schemes), taking
/// turns with `gate` when given (see [`ResponseGate`]).
pub async fn serve_connection_with<T, H>(
    io: T,
    handler: &H,
    auth: &Auth,
    limits: &HttpLimits,
    offer: &Offer,
    buf: &mut [u8],
    gate: Option<&ResponseGate>,
) -> Result<(), ServeError<T::Error>>
where
    T: Read + Write,
    H: Handler + ?Sized,
{
    serve_connection_from(io, handler, auth, limits, offer, buf, gate, &()).await
}

/// The connection loop itself: [`serve_connection_with`] for a connection `conn` describes
/// (its source address for the back-off of failed logins, and the hooks of [`Connection`]).
///
/// Until a request authenticates, the connection lives at most `limits.auth_timeout_ms`: its
/// first head must be complete by then (or by `limits.header_timeout_ms`, if sooner), and it is
/// closed when that time is up between requests; after one has authenticated, it may idle
/// `limits.idle_timeout_ms` between requests.
// The per-connection context is passed piecewise so each borrow stays as narrow as it is.
#[allow(clippy::too_many_arguments)]
pub async fn serve_connection_from<T, H, C>(
    io: T,
    handler: &H,
    auth: &Auth,
    limits: &HttpLimits,
    offer: &Offer,
    buf: &mut [u8],
    gate: Option<&ResponseGate>,
    conn: &C,
) -> Result<(), ServeError<T::Error>>
where
    T: Read + Write,
    H: Handler + ?Sized,
    C: Connection + ?Sized,
{
    if buf.len() < MIN_BUF_LEN {
        return Err(ServeError::BufferTooSmall);
    }
    let ahead = if buf.len() >= SPLIT_EVENLY_FROM {
        buf.len() / 2
    } else {
        READ_AHEAD
    };
    let (read_ahead, head_buf) = buf.split_at_mut(ahead);
    let mut io = BufferedIo::new(io, read_ahead);
    let opened = Instant::now();
    let auth_deadline = later(opened, limits.auth_timeout_ms);
    let mut first = true;
    let mut authenticated = false;

    loop {
        // A fresh connection must start talking within the header timeout (and, not yet
        // authenticated, within the auth timeout); a kept-alive one may idle longer, and its
        // header clock starts at the first byte.
        let waited = if first {
            let deadline = later(opened, limits.header_timeout_ms).min(auth_deadline);
            with_deadline(deadline, io.wait_request())
                .await
                .map(|r| Some((r, deadline)))
        } else {
            let idle = later(Instant::now(), limits.idle_timeout_ms);
            let deadline = if authenticated {
                idle
            } else {
                idle.min(auth_deadline)
            };
            with_deadline(deadline, conn.while_idle(io.wait_request(), authenticated))
                .await
                .map(|r| r.map(|r| (r, later(Instant::now(), limits.header_timeout_ms))))
        };
        let header_deadline = match waited {
            Err(_) if first => return Err(ServeError::Timeout(Phase::Headers)),
            // Idle past the timeout, or closed to make room for another client.
            Err(_) | Ok(None) => return Ok(()),
            Ok(Some((Err(e), _))) => return Err(ServeError::Io(e)),
            Ok(Some((Ok(false), _))) => return Ok(()),
            Ok(Some((Ok(true), deadline))) => deadline,
        };
        first = false;

        match serve_request(
            &mut io,
            &mut *head_buf,
            header_deadline,
            handler,
            auth,
            limits,
            offer,
            gate,
            conn,
            &mut authenticated,
        )
        .await?
        {
            Next::KeepAlive => {}
            Next::Close => return Ok(()),
        }
    }
}

// The per-connection context is passed piecewise so each borrow stays as narrow as it is.
#[allow(clippy::too_many_arguments)]
async fn serve_request<T, H, C>(
    io: &mut BufferedIo<'_, T>,
    head_buf: &mut [u8],
    header_deadline: Instant,
    handler: &H,
    auth: &Auth,
    limits: &HttpLimits,
    offer: &Offer,
    gate: Option<&ResponseGate>,
    conn: &C,
    authenticated: &mut bool,
) -> Outcome<T::Error>
where
    T: Read + Write,
    H: Handler + ?Sized,
    C: Connection + ?Sized,
{
    // The head's room also bounds a chunked body's extensions and trailer section.
    let room = head_buf.len();
    // A request that ends early is answered at one await per kind of ending, after this block:
    // an await per place it can end was a state of the connection's future each, with its
    // resume and drop code (flash, on the bare-metal image). A served request, a refusal and
    // an early rejection are then written at one await too, each with what it returns after
    // the write; the response gate's turn, when held, is carried to it.
    // A refusal's extra header lines (a 401's challenges), for that write to borrow.
    let refusal_extra: Cow<'static, str>;
    let (plan, reply, _turn, outcome) = 'answered: {
        let early = 'early: {
            let read = match with_deadline(header_deadline, io.read_head(&mut *head_buf)).await {
                Ok(Ok(len)) => Ok(len),
                Ok(Err(HeadRead::Io(e))) => return Err(ServeError::Io(e)),
                // The peer hung up before completing a head: nobody is left to answer.
                Ok(Err(HeadRead::Closed)) => return Ok(Next::Close),
                Ok(Err(HeadRead::TooLong)) => Err(431),
                Err(_) => break 'early Early::Timeout(Phase::Headers),
            };
            let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let analysed = read
                .and_then(|len| parse(head_buf.get(..len).unwrap_or_default(), &mut fields))
                .and_then(|raw| {
                    // Methods are case-sensitive (RFC 9110 §9.1) and every registered one is
                    // upper-case, so a token with a lower-case letter (`post`) is a method this
                    // server does not implement (501, as §9.1 recommends for an unrecognized
                    // method); the method table `parse` shares with edge-http matches it as POST.
                    if raw.method.bytes().any(|b| b.is_ascii_lowercase()) {
                        return Err(501);
                    }
                    analyse(&raw).map_err(|e| e.status())
                })
                .and_then(|head| match head.framing {
                    Framing::Length(len) if len > limits.max_body as u64 => Err(413),
                    _ => Ok(head),
                });
            let head = match analysed {
                Ok(head) => head,
                Err(status) => break 'early Early::Reject(status),
            };
            // A well-framed request that will not be served, refused at one site below this block.
            let (status, extra): (u16, Cow<'static, str>) = 'refused: {
                let anonymous_path = head.path == ANON_IDENTIFY_PATH;
                let refusal = if !anonymous_path && head.path != WSMAN_PATH {
                    Some((404, ""))
                } else if !head.post {
                    Some((405, "Allow: POST\r\n"))
                } else if head.content_coded {
                    // RFC 9110 §15.5.16: a 415 for a content coding names the codings accepted.
                    Some((415, "Accept-Encoding: identity\r\n"))
                } else {
                    None
                };
                if let Some((status, extra)) = refusal {
                    break 'refused (status, Cow::Borrowed(extra));
                }
                let verdict =
                    match auth.begin(head.authorization, head.target, offer, conn.source()) {
                        Step::Done(verdict) => verdict,
                        #[cfg(feature = "offload")]
                        Step::Derive(pending) => auth.derive_and_finish(pending).await,
                        #[cfg(not(feature = "offload"))]
                        Step::Derive(pending) => auth.finish_inline(pending),
                    };
                if matches!(verdict, Verdict::Denied)
                    && let Some(authorization) = head.authorization
                {
                    conn.login_failed(authorization);
                }
                let user = match verdict {
                    Verdict::User(ref user) => {
                        *authenticated = true;
                        Some(user)
                    }
                    _ if anonymous_path || head.identify_header => None,
                    Verdict::Stale | Verdict::Denied | Verdict::Throttled => {
                        // A source in back-off is answered when its wait ends (at most
                        // TARPIT_MAX_MS), not at once: a client that sends its next guess as soon
                        // as it has the 401 would otherwise keep the executor busy refusing it, at
                        // the cost of every other source's latency. The wait is a timer, not work;
                        // the source's own connection slots are what it holds meanwhile.
                        #[cfg(feature = "tarpit")]
                        if matches!(verdict, Verdict::Throttled)
                            && let Some(source) = conn.source()
                            && let Some(until) =
                                auth.backoff().waiting_until(source, Instant::now())
                        {
                            let cap = later(Instant::now(), TARPIT_MAX_MS);
                            embassy_time::Timer::at(until.min(cap)).await;
                        }
                        let mut challenges = String::new();
                        let stale = matches!(verdict, Verdict::Stale);
                        auth.write_challenges(&mut challenges, offer, stale);
                        break 'refused (401, Cow::Owned(challenges));
                    }
                };

                let body_deadline = later(Instant::now(), limits.body_timeout_ms);
                let received = with_deadline(body_deadline, async {
                    if head.expect_continue && head.framing.may_have_body() {
                        io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                            .await
                            .map_err(BodyError::Io)?;
                        io.flush().await.map_err(BodyError::Io)?;
                    }
                    read_body(io, head.framing, limits.max_body, true, room).await
                })
                .await;
                let body = match received {
                    Ok(Ok(body)) => body,
                    Ok(Err(e)) => break 'early Early::Reject(body_failure(e)?),
                    Err(_) => break 'early Early::Timeout(Phase::Body),
                };

                let request = Request {
                    path: head.path,
                    content_type: head.content_type,
                    user: user.map(|u| u.name.as_str()),
                    role: user.map(|u| u.role),
                    profiles: offer.profiles(crate::DIGEST_BUILT),
                };
                // Held until the response is written: see `ResponseGate`.
                let turn = match gate {
                    Some(gate) => Some(gate.0.lock().await),
                    None => None,
                };
                #[cfg(feature = "stream")]
                let mut rest = None;
                #[cfg_attr(not(feature = "stream"), allow(unused_mut))]
                let (status, content_type, mut reply) = answer(
                    handler,
                    &request,
                    &body,
                    #[cfg(feature = "stream")]
                    &mut rest,
                );
                drop(body);
                let close = !head.keep_alive;
                let plan = Reply {
                    status,
                    content_type,
                    extra: "",
                    close,
                    http10_keep_alive: !close && !head.http11,
                };
                #[cfg(feature = "stream")]
                match rest {
                    Some(rest) if head.http11 => {
                        write_streamed(io, &plan, reply, rest, handler, limits).await?;
                        return Ok(if close { Next::Close } else { Next::KeepAlive });
                    }
                    // HTTP/1.0 has no chunked framing: the rest is collected and sent with a length.
                    // One write site either way, so the connection future stays the size it was.
                    Some(mut rest) => {
                        while !handler
                            .more(&mut rest, &mut reply, CHUNK_ROOM)
                            .map_err(|crate::Unfinished| ServeError::Unfinished)?
                        {
                        }
                    }
                    None => {}
                }
                let next = if close { Next::Close } else { Next::KeepAlive };
                break 'answered (plan, reply, turn, Ok(next));
            };
            // A well-framed request that will not be served (404, 405, 415, 401) keeps the
            // connection if the unread body can be skipped cheaply. After `Expect:
            // 100-continue` the client may or may not be sending the body, so the stream
            // position is unknown and the only safe continuation is to close. Answered at the
            // one write below (an async fn of its own was a nested future, with its own write).
            let mut close = !head.keep_alive || head.expect_continue;
            if !close {
                let deadline = later(Instant::now(), limits.body_timeout_ms);
                match with_deadline(
                    deadline,
                    read_body(io, head.framing, limits.max_body, false, room),
                )
                .await
                {
                    Ok(Ok(_)) => {}
                    Ok(Err(BodyError::Io(e))) => return Err(ServeError::Io(e)),
                    Ok(Err(BodyError::Incomplete)) => return Err(ServeError::IncompleteBody),
                    Ok(Err(_)) | Err(_) => close = true,
                }
            }
            refusal_extra = extra;
            let plan = Reply {
                status,
                content_type: None,
                extra: &refusal_extra,
                close,
                http10_keep_alive: !close && !head.http11,
            };
            let next = if close { Next::Close } else { Next::KeepAlive };
            break 'answered (plan, Vec::new(), None, Ok(next));
        };
        match early {
            Early::Reject(status) => (
                Reply::rejecting(status),
                Vec::new(),
                None,
                Err(ServeError::Rejected(status)),
            ),
            Early::Timeout(phase) => {
                courtesy_408(io).await;
                return Err(ServeError::Timeout(phase));
            }
        }
    };
    write_reply(io, &plan, &reply, limits).await?;
    outcome
}

/// How a request ended before it was served, for [`serve_request`]'s one answer of each kind.
enum Early {
    /// Refused with this status, the head or body unusable: the connection closes.
    Reject(u16),
    /// The head or the body did not arrive in time.
    Timeout(Phase),
}

/// The status, media type and body answering a request that has been read whole. The media
/// type is checked here, with the body read, rather than with the head's other refusals: its
/// answer keeps the connection and follows a 100 Continue like any answer from the handler.
/// Out of line, so the connection future stays small.
///
/// With `stream` a rest the handler leaves goes to `rest_out`, for the caller to stream.
/// Without it the answer is always whole: a rest is collected here into the body (nothing has
/// been sent, so a rest that cannot be finished is a 500), and the function has the shape it
/// had before streaming, which the bare-metal image's flash measures (a fourth, zero-sized
/// member of the returned tuple still moved the connection future's code by ~50 B).
#[inline(never)]
fn answer<H: Handler + ?Sized>(
    handler: &H,
    request: &Request<'_>,
    body: &[u8],
    #[cfg(feature = "stream")] rest_out: &mut Option<H::Rest>,
) -> (u16, Option<&'static str>, Vec<u8>) {
    if soap_media_type(request.content_type) {
        let Response {
            outcome,
            content_type,
            body,
            rest,
        } = handler.handle(request, body);
        #[cfg(feature = "stream")]
        {
            *rest_out = rest;
            (outcome.status(), content_type, body)
        }
        #[cfg(not(feature = "stream"))]
        {
            let mut body = body;
            if let Some(mut rest) = rest {
                loop {
                    match handler.more(&mut rest, &mut body, CHUNK_ROOM) {
                        Ok(true) => break,
                        Ok(false) => {}
                        Err(crate::Unfinished) => return (500, None, Vec::new()),
                    }
                }
            }
            (outcome.status(), content_type, body)
        }
    } else if request.user.is_none() {
        // Let through unauthenticated for Identify, which a body that is not SOAP cannot be.
        (crate::Outcome::Unauthenticated.status(), None, Vec::new())
    } else {
        (415, None, Vec::new())
    }
}

/// The status a body that could not be read is rejected with, or the error when nobody is left
/// to answer. A plain fn, so the caller's one reply write is the only future (an async fn here
/// nested its own state machine, with four `reject` futures, in the request's).
fn body_failure<E>(error: BodyError<E>) -> Result<u16, ServeError<E>> {
    match error {
        BodyError::Io(e) => Err(ServeError::Io(e)),
        BodyError::Incomplete => Err(ServeError::IncompleteBody),
        BodyError::TooLarge => Ok(413),
        BodyError::Invalid => Ok(400),
        BodyError::TrailerTooLong => Ok(431),
        BodyError::NoMemory => Ok(503),
    }
}

/// Best effort only: tells a slow client why it is being dropped.
async fn courtesy_408<T: Read + Write>(io: &mut BufferedIo<'_, T>) {
    let head = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let _ = with_deadline(later(Instant::now(), COURTESY_WRITE_MS), async {
        io.write_all(head).await?;
        io.flush().await
    })
    .await;
}

/// The response head, minus Content-Length which comes from the body.
struct Reply<'a> {
    status: u16,
    content_type: Option<&'a str>,
    /// Extra header lines, each ending in CRLF.
    extra: &'a str,
    close: bool,
    /// HTTP/1.0 clients keep the connection only when told so explicitly.
    http10_keep_alive: bool,
}

impl Reply<'_> {
    /// Answers and closes: the rest of the stream cannot be trusted or is not worth reading.
    fn rejecting(status: u16) -> Self {
        Reply {
            status,
            content_type: None,
            extra: "",
            close: true,
            http10_keep_alive: false,
        }
    }
}

/// The head, in one allocation with room for `spare` more bytes (a body sent in the same
/// write): growing it line by line and then by the body cost three or four reallocations.
/// `body_len` is `None` for a chunked body.
fn render_head(plan: &Reply<'_>, body_len: Option<usize>, spare: usize) -> String {
    // The status line, Content-Length, Connection and the blank line take at most 112 bytes.
    let lines = plan.content_type.map_or(0, |c| c.len() + 16) + plan.extra.len();
    let mut head = String::with_capacity(112 + lines + spare);
    put(&mut head, "HTTP/1.1 ");
    push_decimal(&mut head, plan.status.into());
    head.push(' ');
    put(&mut head, reason(plan.status));
    put(&mut head, "\r\n");
    if let Some(content_type) = plan.content_type {
        put(&mut head, "Content-Type: ");
        put(&mut head, content_type);
        put(&mut head, "\r\n");
    }
    match body_len {
        Some(len) => {
            put(&mut head, "Content-Length: ");
            push_decimal(&mut head, len);
            put(&mut head, "\r\n");
        }
        None => put(&mut head, "Transfer-Encoding: chunked\r\n"),
    }
    put(&mut head, plan.extra);
    if plan.close {
        put(&mut head, "Connection: close\r\n");
    } else if plan.http10_keep_alive {
        put(&mut head, "Connection: keep-alive\r\n");
    }
    put(&mut head, "\r\n");
    head
}

/// `out.push_str(s)`, out of line: inlined, its reserve and copy were repeated at each piece
/// of every head.
#[inline(never)]
pub(crate) fn put(out: &mut String, s: &str) {
    out.push_str(s);
}

/// `n` in decimal, as `{}` writes it. By hand rather than through `core::fmt`, which the
/// bare-metal image links only while some `format!`/`write!` remains (wsbmc-wsman's `text`
/// module says why); this crate does not depend on wsman, so it keeps its own few lines, one
/// copy for the server's and the client's heads.
pub(crate) fn push_decimal(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    for &d in digits.get(at..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

async fn write_reply<T: Read + Write>(
    io: &mut BufferedIo<'_, T>,
    plan: &Reply<'_>,
    body: &[u8],
    limits: &HttpLimits,
) -> Result<(), ServeError<T::Error>> {
    let limit = if io.read_ahead_len() > READ_AHEAD {
        COALESCE_LIMIT_LARGE
    } else {
        COALESCE_LIMIT
    };
    let coalesce = body.len() <= limit;
    let spare = if coalesce { body.len() } else { 0 };
    let mut head = render_head(plan, Some(body.len()), spare).into_bytes();
    if coalesce {
        head.extend_from_slice(body);
    }
    let written = with_deadline(later(Instant::now(), limits.body_timeout_ms), async {
        io.write_all(&head).await?;
        if !coalesce {
            io.write_all(body).await?;
        }
        io.flush().await
    })
    .await;
    write_outcome(written)
}

/// Data bytes a streamed chunk is given room for (one item larger than that makes a larger
/// chunk): the piece of a response the connection holds at once while streaming.
const CHUNK_ROOM: usize = 8 * 1024;

#[cfg(feature = "stream")]
/// Room kept before a chunk's data for its size line: up to 16 hex digits and CRLF.
const CHUNK_PREFIX: usize = 18;

#[cfg(feature = "stream")]
/// The last chunk and the empty trailer that end a chunked message.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(feature = "stream")]
/// Frames `buf[CHUNK_PREFIX..]` as one chunk where it lies: writes its size line into the end
/// of the prefix and CRLF after the data, and returns where the chunk starts. The size has no
/// leading zeros, so the framing is what any HTTP/1.1 server writes.
fn frame_chunk(buf: &mut Vec<u8>) -> usize {
    let (line, at) = chunk_line(buf.len().saturating_sub(CHUNK_PREFIX));
    if let Some(prefix) = buf.get_mut(at..CHUNK_PREFIX) {
        prefix.copy_from_slice(line.get(at..).unwrap_or_default());
    }
    buf.extend_from_slice(b"\r\n");
    at
}

#[cfg(feature = "stream")]
/// A chunk's size line for `len` data bytes: `line[at..]`.
fn chunk_line(len: usize) -> ([u8; CHUNK_PREFIX], usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = len;
    let mut line = [0u8; CHUNK_PREFIX];
    let mut at = CHUNK_PREFIX - 2;
    line[at..].copy_from_slice(b"\r\n");
    loop {
        at -= 1;
        line[at] = HEX[n & 15];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    (line, at)
}

#[cfg(feature = "stream")]
/// Sends a response whose rest the handler produces piece by piece: the head with
/// `Transfer-Encoding: chunked` and the body as the first chunk in one write, then each piece
/// as a chunk, the last together with the terminating chunk. One piece is held at a time, in
/// one buffer reused for all of them; each write is bounded by the write timeout.
async fn write_streamed<T: Read + Write, H: Handler + ?Sized>(
    io: &mut BufferedIo<'_, T>,
    plan: &Reply<'_>,
    body: Vec<u8>,
    mut rest: H::Rest,
    handler: &H,
    limits: &HttpLimits,
) -> Result<(), ServeError<T::Error>> {
    let mut first = render_head(plan, None, CHUNK_PREFIX + body.len() + 2).into_bytes();
    // A zero-size chunk would end the message: an empty body is no chunk at all.
    if !body.is_empty() {
        let (line, at) = chunk_line(body.len());
        first.extend_from_slice(line.get(at..).unwrap_or_default());
        first.extend_from_slice(&body);
        first.extend_from_slice(b"\r\n");
    }
    drop(body);
    write_timed(io, &first, limits).await?;
    drop(first);
    // The buffer every later chunk is framed in.
    let mut chunk = Vec::with_capacity(CHUNK_PREFIX + CHUNK_ROOM + 2 + LAST_CHUNK.len());
    loop {
        chunk.clear();
        chunk.resize(CHUNK_PREFIX, 0);
        let done = handler
            .more(&mut rest, &mut chunk, CHUNK_ROOM)
            .map_err(|crate::Unfinished| ServeError::Unfinished)?;
        let start = if chunk.len() > CHUNK_PREFIX {
            frame_chunk(&mut chunk)
        } else {
            CHUNK_PREFIX
        };
        if done {
            chunk.extend_from_slice(LAST_CHUNK);
        }
        write_timed(io, chunk.get(start..).unwrap_or_default(), limits).await?;
        if done {
            return Ok(());
        }
    }
}

#[cfg(feature = "stream")]
/// Writes and flushes `bytes` within the write timeout.
async fn write_timed<T: Read + Write>(
    io: &mut BufferedIo<'_, T>,
    bytes: &[u8],
    limits: &HttpLimits,
) -> Result<(), ServeError<T::Error>> {
    let written = with_deadline(later(Instant::now(), limits.body_timeout_ms), async {
        io.write_all(bytes).await?;
        io.flush().await
    })
    .await;
    write_outcome(written)
}

/// A reply write bounded by `with_deadline`, as the loop reports it: the write's own error, or
/// the write timeout.
fn write_outcome<E>(
    written: Result<Result<(), E>, embassy_time::TimeoutError>,
) -> Result<(), ServeError<E>> {
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServeError::Io(e)),
        Err(_) => Err(ServeError::Timeout(Phase::Write)),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn millis(ms: u32) -> Duration {
    Duration::from_millis(u64::from(ms))
}

/// `base` plus `ms`, saturating. Out of line because embassy-time's `Instant::saturating_add`
/// (tick conversion, checked add, `Instant::MAX` fallback) was otherwise inlined at each of the
/// connection loop's and request's deadline sites, 18-28 B of image flash apiece.
#[inline(never)]
fn later(base: Instant, ms: u32) -> Instant {
    base.saturating_add(millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_carries_length_and_connection_decision() {
        let plan = Reply {
            status: 401,
            content_type: None,
            extra: "WWW-Authenticate: Basic realm=\"WSMAN\"\r\n",
            close: false,
            http10_keep_alive: false,
        };
        let head = render_head(&plan, Some(0), 0);
        assert_eq!(
            head,
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Basic realm=\"WSMAN\"\r\n\r\n"
        );
        let plan = Reply {
            status: 200,
            content_type: Some("application/soap+xml;charset=UTF-8"),
            extra: "",
            close: true,
            http10_keep_alive: false,
        };
        let head = render_head(&plan, Some(42), 0);
        assert!(head.contains("Content-Type: application/soap+xml;charset=UTF-8\r\n"));
        assert!(head.contains("Content-Length: 42\r\n"));
        assert!(head.ends_with("Connection: close\r\n\r\n"));
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding"));
    }

    #[test]
    fn unknown_status_still_renders_a_valid_line() {
        assert_eq!(reason(299), "");
        let plan = Reply {
            status: 299,
            content_type: None,
            extra: "",
            close: false,
            http10_keep_alive: true,
        };
        let head = render_head(&plan, Some(0), 0);
        assert!(head.starts_with("HTTP/1.1 299 \r\n"));
        assert!(head.contains("Connection: keep-alive\r\n"));
    }

    #[cfg(feature = "stream")]
    #[test]
    fn a_chunk_is_framed_where_it_lies() {
        for (len, line) in [
            (1, "1"),
            (9, "9"),
            (10, "a"),
            (15, "f"),
            (16, "10"),
            (255, "ff"),
            (CHUNK_ROOM, "2000"),
            (CHUNK_ROOM + 1, "2001"),
            (70_000, "11170"),
        ] {
            let mut buf = alloc::vec![0u8; CHUNK_PREFIX];
            buf.extend((0..len).map(|i| b'a' + (i % 26) as u8));
            let start = frame_chunk(&mut buf);
            let chunk = &buf[start..];
            let want_head = alloc::format!("{line}\r\n");
            assert!(chunk.starts_with(want_head.as_bytes()), "{len}");
            assert_eq!(chunk.len(), want_head.len() + len + 2);
            assert!(chunk.ends_with(b"\r\n"));
            assert_eq!(chunk[want_head.len()], b'a');
            assert_eq!(
                chunk[want_head.len() + len - 1],
                b'a' + ((len - 1) % 26) as u8
            );
        }
        let (line, at) = chunk_line(usize::MAX);
        assert_eq!(
            &line[at..],
            b"ffffffffffffffff\r\n",
            "the prefix holds any size"
        );
    }

    #[test]
    fn a_streamed_head_is_chunked_and_has_no_length() {
        let plan = Reply {
            status: 200,
            content_type: Some("application/soap+xml;charset=UTF-16"),
            extra: "",
            close: false,
            http10_keep_alive: false,
        };
        let head = render_head(&plan, None, 0);
        assert!(head.contains("Transfer-Encoding: chunked\r\n"));
        assert!(!head.contains("Content-Length"));
        assert!(head.ends_with("\r\n\r\n"));
    }
}
