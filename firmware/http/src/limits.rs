//! Size and time bounds for one connection.

/// Every bound the connection loop enforces. Each one turns a resource a client could hold
/// forever (memory, a connection task) into a refusal with a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body accepted, in bytes. The body is buffered whole because the SOAP
    /// parser needs it contiguous, so this is also the per-connection heap peak. Larger requests
    /// get 413, which is what Windows answers too.
    pub max_body: usize,
    /// Time allowed from the first byte of a request (or from connection open) until the end of
    /// its head; bounds slow-loris clients.
    pub header_timeout_ms: u32,
    /// Time allowed to receive a whole body, and separately to write a whole response.
    pub body_timeout_ms: u32,
    /// How long a kept-alive connection may sit idle between requests before it is closed, so
    /// idle clients do not hold one of the few connection slots.
    pub idle_timeout_ms: u32,
    /// How long a connection may stay open without authenticating (issue 20: sixteen clients
    /// that sent one request without credentials and then idled held every slot for the whole
    /// idle timeout). It bounds the wait for the first request and, until a request
    /// authenticates, the connection's life; an anonymous Identify client simply reconnects.
    pub auth_timeout_ms: u32,
}

impl HttpLimits {
    /// 512 KiB comfortably holds the largest envelopes real clients send (WinRM's default
    /// MaxEnvelopeSize is 500 KiB); the timeouts follow common server defaults.
    pub const DEFAULT: Self = Self {
        max_body: 512 * 1024,
        header_timeout_ms: 10_000,
        body_timeout_ms: 30_000,
        idle_timeout_ms: 60_000,
        auth_timeout_ms: 5_000,
    };
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
