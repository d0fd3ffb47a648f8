//! The HTTP/1.1 side of the WS-Man endpoint.
//!
//! One connection loop ([`serve_connection`]) serves every image: it is generic over
//! `embedded-io-async` streams, so a tokio `TcpStream` behind `FromTokio` and an embassy-net
//! `TcpSocket` run the very same code. It parses the request head (`head.rs`, httparse's rules)
//! and reads the body (`body.rs`, Content-Length or chunked) itself, with no HTTP library, and
//! adds what a BMC needs around them: routing to the two WS-Man paths, Basic
//! authentication with a verification cache and Digest (RFC 7616, feature `digest`) in
//! [`Auth`], each listener's schemes ([`Offer`]), and hard limits on size and time
//! ([`HttpLimits`]) so a hostile or broken client can neither exhaust memory nor pin a task.
//! TLS is not here: it is a stream under this loop (the `wsbmc-tls` crate on the std images).
#![no_std]

extern crate alloc;

/// The unit tests run the timeouts outside embassy-executor, on the std images' time driver.
#[cfg(test)]
use wsbmc_time_std as _;

mod auth;
mod b64;
mod backoff;
mod body;
mod bufio;
#[cfg(feature = "client")]
pub mod client;
mod conn;
#[cfg(feature = "digest")]
mod digest;
mod digest_keys;
mod head;
mod limits;
#[cfg(feature = "digest")]
mod md5;
mod offer;
mod server;
mod slots;
mod split;

use alloc::vec::Vec;

#[cfg(feature = "offload")]
pub use auth::Kdf;
/// The table's side of a login, for the std images' PBKDF2 worker and the audit hook.
#[cfg(feature = "accounts")]
pub use auth::LoginHook;
pub use auth::{
    Account, Auth, BASIC_CHALLENGE, CACHE_SLOTS, DEFAULT_CACHE_TTL, DERIVED_KEY_LEN, Identity,
    Pending, Role, Verdict, claimed_user, derive_key, password_key,
};
pub use backoff::{BACKOFF_SLOTS, Backoff, FREE_FAILURES, Source};
pub use conn::Connection;
#[cfg(feature = "digest")]
pub use digest::{Algorithm, DEFAULT_NONCE_TTL, NONCE_SLOTS};
#[cfg(feature = "accounts")]
pub use digest_keys::new_password;
pub use digest_keys::{DigestKeys, REALM};
pub use head::soap_media_type;
pub use limits::HttpLimits;
pub use offer::Offer;
pub use server::{
    ANON_IDENTIFY_PATH, MIN_BUF_LEN, Phase, ResponseGate, ServeError, WSMAN_PATH, serve_connection,
    serve_connection_from, serve_connection_gated, serve_connection_with,
};
pub use slots::{Refused, Slot, SlotPolicy, Slots};
#[cfg(feature = "accounts")]
pub use wsbmc_accounts::{AccountTable, Attempt, Derived, LoginOutcome};

/// Whether this build verifies HTTP Digest (the `digest` feature).
pub const DIGEST_BUILT: bool = cfg!(feature = "digest");

/// What the handler learns about one request once HTTP framing and authentication are done.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The request path, e.g. `/wsman` or `/wsman-anon/identify`.
    pub path: &'a str,
    /// The Content-Type header. Its media type has been checked (SOAP 1.2, or no header at
    /// all, see [`soap_media_type`]); the handler reads only its parameters (the charset).
    pub content_type: Option<&'a str>,
    /// The authenticated user name, or `None` when the request was let through unauthenticated
    /// as an anonymous Identify (`WSMANIDENTIFY: unauthenticated` or `/wsman-anon/identify`).
    pub user: Option<&'a str>,
    /// The authenticated user's role, for authorizing the operation (`None` with `user`).
    pub role: Option<Role>,
    /// The security profiles (DSP0226 Annex C URIs) of the listener the request came in on,
    /// for Identify.
    pub profiles: &'static [&'static str],
}

/// What the application made of a request. The connection loop turns it into the status line:
/// every HTTP status this endpoint answers is decided in this crate, the application only says
/// what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response envelope: 200.
    Served,
    /// An Identify response: 200, and the only answer a caller let through unauthenticated
    /// (`WSMANIDENTIFY: unauthenticated` or `/wsman-anon/identify`) may receive.
    Identify,
    /// A SOAP fault envelope: 500 for every fault, Sender or Receiver, as Windows answers
    /// (reference/wsman.md §1.4); every client parses the fault body on a 500.
    Fault,
    /// The caller was let through unauthenticated for Identify and asked for something else:
    /// 401 with an empty body, as if it had never been let through.
    Unauthenticated,
    /// The application cannot take the request now (the bare-metal image's heap reserve is
    /// short): 503 with an empty body.
    Unavailable,
}

impl Outcome {
    /// The status line's code.
    pub const fn status(self) -> u16 {
        match self {
            Outcome::Served | Outcome::Identify => 200,
            Outcome::Fault => 500,
            Outcome::Unauthenticated => 401,
            Outcome::Unavailable => 503,
        }
    }
}

/// The handler's answer; the connection loop adds the status line (from `outcome`),
/// Content-Length (or chunked framing, for a response with a `rest`) and the connection
/// headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<R = core::convert::Infallible> {
    pub outcome: Outcome,
    /// The body's media type (`application/soap+xml;charset=...`), `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// What follows `body` when the handler did not hold the whole response: the loop sends
    /// `body` and then asks [`Handler::more`] for one piece at a time, sending each before it
    /// asks for the next (see `server::write_streamed`).
    pub rest: Option<R>,
}

impl<R> Response<R> {
    /// An answer without a body.
    pub const fn empty(outcome: Outcome) -> Self {
        Self {
            outcome,
            content_type: None,
            body: Vec::new(),
            rest: None,
        }
    }
}

/// The application behind `/wsman`. Synchronous on purpose: a WS-Man request never waits on a
/// bus, so handling is pure computation over cached state. A response too large to hold is
/// produced piece by piece, each piece synchronously, with the connection's write between
/// two pieces: `Rest` carries what the handler needs to go on, and no borrow of its state is
/// held across that write.
pub trait Handler {
    /// The state of a response that continues after its body; `Infallible` for a handler that
    /// always answers whole.
    type Rest;

    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response<Self::Rest>;

    /// Appends the next piece of a response to `out`: about `room` bytes (more only when one
    /// indivisible part is larger). `Ok(true)` when the response is complete; `Err` when it
    /// cannot be completed, and the connection ends without finishing the message. A handler
    /// that always answers whole (`Rest = Infallible`) never has it called and keeps this
    /// default.
    fn more(
        &self,
        rest: &mut Self::Rest,
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<bool, Unfinished> {
        let _ = (rest, out, room);
        Err(Unfinished)
    }
}

/// A streamed response cannot be completed ([`Handler::more`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfinished;
