//! Request dispatch: bytes in, status and envelope out.
//!
//! [`Service`] owns what outlives one request (enumeration contexts, the message-id generator);
//! the [`Provider`] is passed per call, so the model can be a short-lived view over state the
//! caller holds a borrow of (the monitor cache, the SEL).

use alloc::vec::Vec;

use crate::provider::Provider;

/// Protocol limits. Every bound on untrusted input lives here and is set from the board file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest MaxEnvelopeSize honoured; larger requests are clamped to it.
    pub max_envelope_size: usize,
    /// Response size when the request carries no MaxEnvelopeSize (DSP0226: 32767).
    pub default_envelope_size: usize,
    /// MaxEnvelopeSize below this answers EncodingLimit/MinimumEnvelopeLimit.
    pub min_envelope_size: usize,
    /// Largest request envelope accepted, in bytes.
    pub max_request_size: usize,
    /// XML node cap handed to the parser.
    pub max_xml_nodes: u32,
    /// XML element nesting cap.
    pub max_xml_depth: u32,
    /// Live enumeration contexts; one more answers QuotaLimit.
    pub max_enum_contexts: usize,
    /// Idle lifetime of an enumeration context between Pulls.
    pub enum_context_idle_ms: u64,
    /// Upper bound of OperationTimeout.
    pub max_operation_timeout_ms: u64,
    /// Items per Enumerate/Pull batch at most, whatever MaxElements says.
    pub max_batch_items: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_size: 512_000,
            default_envelope_size: 32_767,
            min_envelope_size: 8_192,
            max_request_size: 512 * 1024,
            max_xml_nodes: 4_096,
            max_xml_depth: 32,
            max_enum_contexts: 32,
            enum_context_idle_ms: 240_000,
            max_operation_timeout_ms: 60_000,
            max_batch_items: 32_000,
        }
    }
}

/// What the HTTP layer knows about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// The Content-Type header, if any.
    pub content_type: Option<&'a str>,
    /// The authenticated user, or `None` for an unauthenticated Identify attempt (the HTTP layer
    /// let it through only because of `WSMANIDENTIFY: unauthenticated` or `/wsman-anon/identify`).
    pub user: Option<&'a str>,
    /// Monotonic milliseconds, for context expiry.
    pub now_ms: u64,
}

/// The HTTP answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// `application/soap+xml;charset=UTF-8` (or UTF-16), or `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
}

/// The WS-Management endpoint state.
pub struct Service {
    limits: Limits,
    seed: u64,
}

impl Service {
    /// `seed` feeds message ids and enumeration-context tokens; pass real entropy in production and
    /// a constant in golden tests.
    pub fn new(limits: Limits, seed: u64) -> Self {
        Self { limits, seed }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Handles one POSTed envelope.
    pub fn handle<P: Provider>(
        &mut self,
        provider: &P,
        meta: &RequestMeta<'_>,
        body: &[u8],
    ) -> Reply {
        let _ = (provider, meta, body, self.seed);
        Reply {
            status: 500,
            content_type: None,
            body: Vec::new(),
        }
    }
}
