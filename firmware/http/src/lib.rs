//! The HTTP/1.1 side of the WS-Man endpoint.
#![no_std]

extern crate alloc;

use alloc::vec::Vec;

/// What the handler learns about one request once HTTP framing and authentication are done.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The request path, e.g. `/wsman` or `/wsman-anon/identify`.
    pub path: &'a str,
    pub content_type: Option<&'a str>,
    /// The authenticated user name, or `None` when the request was let through unauthenticated
    /// as an anonymous Identify (`WSMANIDENTIFY: unauthenticated` or `/wsman-anon/identify`).
    pub user: Option<&'a str>,
}

/// The handler's answer; the connection loop adds Content-Length and connection headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

/// The application behind `/wsman`. Synchronous on purpose: a WS-Man request never waits on a
/// bus, so handling is pure computation over cached state.
pub trait Handler {
    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response;
}
