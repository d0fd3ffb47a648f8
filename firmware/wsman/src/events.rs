//! The boundary between the service and an event source (WS-Eventing, DSP0226 section 10).
//!
//! `wsman` parses the envelope and writes the response around what the source writes; the
//! source (the platform's, built on `wsbmc-eventing`) parses the eventing bodies, keeps the
//! subscriptions and renders the response bodies. Unlike a [`crate::Provider`], a source sees
//! the request's XML: the Subscribe body is a protocol element, not an instance, and its
//! delivery credentials may come in a header (openwsman's `wst:IssuedTokens`). wsman cannot
//! depend on the eventing crate (that crate renders with wsman's writer), so this trait is the
//! seam.
//!
//! Every method is synchronous and never waits: a Pull with nothing pending answers
//! `wsman:TimedOut` at once, and the client pulls again (as it does for an event log read as
//! it grows, see [`crate::Provider::next_item`]).

use roxmltree::Node;

use crate::fault::Fault;
use crate::xml::XmlWriter;

/// Which eventing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOp {
    Subscribe,
    Renew,
    GetStatus,
    Unsubscribe,
}

/// One eventing request, as the source sees it.
#[derive(Debug, Clone, Copy)]
pub struct EventRequest<'a, 'i> {
    pub op: EventOp,
    /// The authenticated user: the subscription's owner.
    pub user: &'a str,
    /// Monotonic milliseconds.
    pub now_ms: u64,
    /// The `s:Header` element, if the request had one: `wse:Identifier` for Renew, GetStatus
    /// and Unsubscribe, delivery credentials for Subscribe.
    pub header: Option<Node<'a, 'i>>,
    /// The first element of the `s:Body` (`wse:Subscribe`, `wse:Renew`, ...), if any.
    pub body: Option<Node<'a, 'i>>,
    /// The request's `wsa:To`: the address the subscription manager EPR names.
    pub to: Option<&'a str>,
    pub resource_uri: Option<&'a str>,
}

/// A Pull on a pull-mode subscription's context.
#[derive(Debug, Clone, Copy)]
pub struct EventPull<'a> {
    pub context: &'a str,
    pub user: &'a str,
    pub now_ms: u64,
    /// Events wanted at most (the request's MaxElements, clamped by the service).
    pub max_elements: u32,
    /// Bytes the items may take in the response.
    pub budget: usize,
}

/// The platform's event source.
pub trait EventSource {
    /// Decides one Subscribe, Renew, GetStatus or Unsubscribe and writes its response body
    /// (nothing for Unsubscribe). Faults are wsman's, with the eventing kinds.
    fn handle(&self, req: &EventRequest<'_, '_>, out: &mut XmlWriter) -> Result<(), Fault>;

    /// A Pull on `pull.context`: `None` when no pull subscription of this user has that
    /// context (the service then treats it as an enumeration context); otherwise the pending
    /// events, written as the `n:Items` content into `out`, or `wsman:TimedOut` when none is
    /// pending.
    fn pull(&self, pull: &EventPull<'_>, out: &mut XmlWriter) -> Option<Result<(), Fault>>;
}
