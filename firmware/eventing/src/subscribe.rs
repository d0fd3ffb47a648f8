//! `wse:Subscribe` → typed terms (DSP0226 §10.2, MS-WSMV 3.1.4.6, reference/wsman.md §3.11).
//!
//! The input is a document wsman has already parsed within its limits (node count, depth,
//! attributes), so this module bounds only what it keeps: address and reference-parameter
//! lengths and counts, filter text, credentials. Every refusal is the DSP0226 fault for it.
//!
//! Where elements sit: DSP0226 puts Heartbeats, ConnectionRetry, MaxElements, MaxTime,
//! MaxEnvelopeSize, Locale, ContentEncoding and Auth inside `wse:Delivery`, and SendBookmarks and
//! Bookmark beside it; clients are not consistent, so each is accepted at either level, once.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use roxmltree::Node;
use wsbmc_wsman::duration;

use crate::ns;
use wsbmc_wsman::text::{Dec, cat, parse_u64};
use wsbmc_wsman::{Fault, FaultDetail, FaultKind};

/// How events reach the subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// One event per message, no acknowledgement.
    Push,
    /// One event per message; the next waits for the sink's `wsman:Ack`.
    PushWithAck,
    /// Batches (`wsman:Events`), each acknowledged.
    Events,
    /// The subscriber pulls with `wsen:Pull` on the context the SubscribeResponse carries.
    Pull,
}

impl DeliveryMode {
    /// The mode a `Mode` URI names. openwsman's misspelt DMTF URIs (`…/wbmem/wsman/1/wsman/…`
    /// on the DMTF host, or on `schemas.xmlsoap.org`, from its `wsman-names.h`) are taken as
    /// the modes they mean, because its `wseventmgr` may send them; they are never emitted.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let uri = uri.trim();
        if uri == ns::MODE_PUSH {
            return Some(Self::Push);
        }
        let tail = MODE_PREFIXES.iter().find_map(|p| uri.strip_prefix(p))?;
        match tail {
            "PushWithAck" => Some(Self::PushWithAck),
            "Events" => Some(Self::Events),
            "Pull" => Some(Self::Pull),
            _ => None,
        }
    }

    pub const fn uri(self) -> &'static str {
        match self {
            Self::Push => ns::MODE_PUSH,
            Self::PushWithAck => ns::MODE_PUSH_WITH_ACK,
            Self::Events => ns::MODE_EVENTS,
            Self::Pull => ns::MODE_PULL,
        }
    }

    /// Whether this build delivers in the mode: Events (batches) only with the `events`
    /// feature. The bare-metal image offers no Events mode (one event is rendered at a time
    /// there), so it leaves the batching out of its delivery code.
    pub const fn built(self) -> bool {
        cfg!(feature = "events") || !matches!(self, Self::Events)
    }

    /// Whether the sink must answer each delivery with `wsman:Ack` (DSP0226: PushWithAck and
    /// Events).
    pub const fn acked(self) -> bool {
        matches!(self, Self::PushWithAck | Self::Events)
    }

    /// DSP1054 `CIM_ListenerDestinationWSManagement.DeliveryMode`.
    pub const fn dsp1054_value(self) -> u16 {
        match self {
            Self::Push => 2,
            Self::PushWithAck => 3,
            Self::Events => 4,
            Self::Pull => 5,
        }
    }
}

/// Where the mode URIs other than Push's sit: the DMTF wsman namespace, then openwsman's
/// misspellings of it (accepted on input only). One array, where a chain of two was an iterator
/// adapter of its own in the image.
const MODE_PREFIXES: [&str; 3] = [
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/",
    "http://schemas.dmtf.org/wbmem/wsman/1/wsman/",
    "http://schemas.xmlsoap.org/wbmem/wsman/1/wsman/",
];

/// One reference parameter of an EPR: echoed as a SOAP header of each message sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefParam {
    /// Namespace URI of the element (empty for none).
    pub namespace: String,
    pub local: String,
    pub text: String,
}

/// NotifyTo or EndTo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://` or `https://` URL.
    pub address: String,
    pub params: Vec<RefParam>,
}

impl Endpoint {
    pub fn is_https(&self) -> bool {
        starts_with_ignore_case(&self.address, "https://")
    }
}

/// When the subscription ends, as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expires {
    /// An `xs:duration` from now, in ms.
    After(u64),
    /// An `xs:dateTime`, in ms since the Unix epoch. Only with `datetime`: without it no
    /// request can ask for one, and the image that leaves it out (the bare-metal one) then
    /// carries neither the date-time writer nor the wall-clock arms of the table for nothing.
    #[cfg(feature = "datetime")]
    At(u64),
}

impl Expires {
    /// The duration asked, in ms; `None` for a date-time.
    pub fn duration_ms(self) -> Option<u64> {
        match self {
            Expires::After(ms) => Some(ms),
            #[cfg(feature = "datetime")]
            Expires::At(_) => None,
        }
    }
}

/// A `w:Bookmark` the subscriber sent back to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bookmark {
    /// `…/bookmark/earliest`: replay everything the SEL still holds.
    Earliest,
    /// Resume after this SEL RecordID.
    After(u16),
}

impl Bookmark {
    /// The bookmark text this source writes: `sel:<RecordID>` (opaque to the subscriber).
    pub fn parse(text: &str) -> Result<Self, Fault> {
        let text = text.trim();
        if text == ns::BOOKMARK_EARLIEST {
            return Ok(Self::Earliest);
        }
        text.strip_prefix(BOOKMARK_PREFIX)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            // wsman's one integer parser, not core's u16 copy; the digits are checked above.
            .and_then(|d| parse_u64(d).and_then(|n| u16::try_from(n).ok()))
            .map(Self::After)
            .ok_or_else(|| {
                refused(
                    FaultKind::InvalidBookmark,
                    Some(FaultDetail::Invalid),
                    "The bookmark was not written by this event source.".into(),
                )
            })
    }
}

/// Prefix of the bookmarks this source writes.
pub const BOOKMARK_PREFIX: &str = "sel:";

/// What to do with one event larger than MaxEnvelopeSize (`w:MaxEnvelopeSize/@Policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopePolicy {
    /// Drop it and tell the subscriber with DroppedEvents (also the default here).
    Notify,
    /// Drop it silently.
    Skip,
    /// End the subscription.
    CancelSubscription,
}

/// `w:ConnectionRetry Total="n">interval<`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRetry {
    pub total: u32,
    pub interval_ms: u64,
}

/// The HTTP authentication delivery uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    Basic,
    Digest,
}

/// Delivery credentials. Debug never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `wsman:Auth` (or a Windows policy's profile) with the credentials openwsman sends in
/// `wst:IssuedTokens`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAuth {
    pub scheme: AuthScheme,
    pub credentials: Option<Credentials>,
}

/// `w:ContentEncoding` of deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    Utf8,
    Utf16,
}

/// A parsed Subscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub mode: DeliveryMode,
    /// Where events go; `None` only in Pull mode.
    pub notify_to: Option<Endpoint>,
    /// Where SubscriptionEnd goes, if the subscriber wants it.
    pub end_to: Option<Endpoint>,
    pub expires: Option<Expires>,
    pub heartbeat_ms: Option<u64>,
    pub send_bookmarks: bool,
    pub bookmark: Option<Bookmark>,
    pub max_elements: Option<u32>,
    pub max_time_ms: Option<u64>,
    pub max_envelope_size: Option<u32>,
    pub envelope_policy: EnvelopePolicy,
    pub connection_retry: Option<ConnectionRetry>,
    /// `w:Locale/@xml:lang`.
    pub locale: Option<String>,
    pub content_encoding: Option<ContentEncoding>,
    /// WQL text, checked to parse within the limits; `None` means every event.
    pub filter: Option<String>,
    pub auth: Option<DeliveryAuth>,
}

/// What this module keeps, at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_address_len: usize,
    pub max_ref_params: usize,
    pub max_ref_param_len: usize,
    pub max_filter_len: usize,
    /// WQL nesting (see wsman's `Limits::max_filter_depth`).
    pub max_filter_depth: usize,
    pub max_credential_len: usize,
    /// Shorter heartbeats answer UnsupportedFeature/Heartbeats rather than flood the sink.
    pub min_heartbeat_ms: u64,
    /// MaxElements above this is lowered to it.
    pub max_elements: u32,
    /// MaxEnvelopeSize above this is lowered to it.
    pub max_envelope_size: u32,
    /// ConnectionRetry Total above this is lowered to it.
    pub max_retries: u32,
    pub min_retry_interval_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_address_len: 512,
            max_ref_params: 8,
            max_ref_param_len: 256,
            max_filter_len: 1024,
            max_filter_depth: 8,
            max_credential_len: 128,
            min_heartbeat_ms: 1_000,
            max_elements: 64,
            max_envelope_size: 65_536,
            max_retries: 10,
            min_retry_interval_ms: 1_000,
        }
    }
}

/// DSP0226's smallest MaxEnvelopeSize.
pub const MIN_ENVELOPE_SIZE: u32 = 8192;

/// TokenType of the username token in `wst:IssuedTokens` (DSP0226 §10.2.8 / annex C).
#[cfg(feature = "push")]
const USERNAME_TOKEN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/token/userNameToken";

fn elements<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

fn is(node: Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, local: &str) -> Option<Node<'a, 'i>> {
    elements(node).find(|c| is(*c, ns, local))
}

fn text<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// A refusal and its text. Out of line, the text taken as it comes (a literal borrowed, a
/// built one moved): made in place at each of this module's refusals, each site carried wsman's
/// generic `Fault::message`, and `invalid` copied every text into a String of its own.
#[inline(never)]
fn refused(kind: FaultKind, detail: Option<FaultDetail>, text: Cow<'static, str>) -> Fault {
    Fault {
        kind,
        detail,
        message: Some(text),
    }
}

fn invalid(what: impl Into<Cow<'static, str>>) -> Fault {
    refused(FaultKind::InvalidMessage, None, what.into())
}

#[cfg(feature = "push")]
fn too_long(what: &str) -> Fault {
    refused(
        FaultKind::EncodingLimit,
        Some(FaultDetail::ServiceEnvelopeLimit),
        cat(&[what, " is longer than this event source keeps."]).into(),
    )
}

#[cfg(feature = "push")]
fn positive_u32(node: Node<'_, '_>, what: &str) -> Result<u32, Fault> {
    // wsman's one integer parser (str::parse's rules) rather than core's per-type copy.
    match parse_u64(text(node)) {
        Some(0) | None => Err(invalid(cat(&[what, " must be a positive integer."]))),
        Some(v) => Ok(u32::try_from(v).unwrap_or(u32::MAX)),
    }
}

#[cfg(feature = "push")]
fn positive_duration(node: Node<'_, '_>, what: &str) -> Result<u64, Fault> {
    match duration::parse(text(node)) {
        Some(d) if !d.negative && d.ms > 0 => Ok(d.ms),
        _ => Err(invalid(cat(&[what, " must be a positive xs:duration."]))),
    }
}

/// Parses an EPR (NotifyTo, EndTo): `wsa:Address` + reference parameters or properties.
#[cfg(feature = "push")]
fn endpoint(node: Node<'_, '_>, limits: &Limits, what: &str) -> Result<Endpoint, Fault> {
    let addr = child(node, ns::WSA, "Address")
        .map(text)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid(cat(&[what, " has no wsa:Address."])))?;
    if addr.len() > limits.max_address_len {
        return Err(too_long(what));
    }
    if !(starts_with_ignore_case(addr, "http://") || starts_with_ignore_case(addr, "https://")) {
        return Err(refused(
            FaultKind::EventSourceUnableToProcess,
            Some(FaultDetail::UnusableAddress),
            cat(&[what, " must be an http or https URL."]).into(),
        ));
    }
    let mut params = Vec::new();
    for holder in elements(node).filter(|c| {
        is(*c, ns::WSA, "ReferenceParameters") || is(*c, ns::WSA, "ReferenceProperties")
    }) {
        for p in elements(holder) {
            if elements(p).next().is_some() {
                return Err(refused(
                    FaultKind::EventSourceUnableToProcess,
                    None,
                    cat(&[
                        "A reference parameter of ",
                        what,
                        " holds elements; only text values are kept.",
                    ])
                    .into(),
                ));
            }
            if params.len() == limits.max_ref_params {
                return Err(refused(
                    FaultKind::EncodingLimit,
                    Some(FaultDetail::ServiceEnvelopeLimit),
                    cat(&[what, " has too many reference parameters."]).into(),
                ));
            }
            let value = text(p);
            if value.len() > limits.max_ref_param_len {
                return Err(too_long("A reference parameter"));
            }
            params.push(RefParam {
                namespace: p.tag_name().namespace().unwrap_or("").to_string(),
                local: p.tag_name().name().to_string(),
                text: value.to_string(),
            });
        }
    }
    Ok(Endpoint {
        address: addr.to_string(),
        params,
    })
}

#[cfg(feature = "push")]
fn profile(uri: &str) -> Option<(AuthScheme, bool)> {
    match uri.trim() {
        ns::PROFILE_HTTP_BASIC => Some((AuthScheme::Basic, false)),
        ns::PROFILE_HTTP_DIGEST => Some((AuthScheme::Digest, false)),
        ns::PROFILE_HTTPS_BASIC => Some((AuthScheme::Basic, true)),
        ns::PROFILE_HTTPS_DIGEST => Some((AuthScheme::Digest, true)),
        _ => None,
    }
}

#[cfg(feature = "push")]
fn unsupported_profile(uri: &str) -> Fault {
    refused(
        FaultKind::UnsupportedFeature,
        Some(FaultDetail::AuthorizationMode),
        cat(&[
            "The delivery security profile '",
            uri.trim(),
            "' is not supported; use http(s)/basic or http(s)/digest.",
        ])
        .into(),
    )
}

/// The profiles a Windows Event Collector lists in `NotifyTo/c:Policy`: the first one this
/// source can use; an error naming the first one when none is.
#[cfg(feature = "push")]
fn policy_profile(notify: Node<'_, '_>) -> Option<Result<(AuthScheme, bool), Fault>> {
    let policy = child(notify, ns::POLICY, "Policy")?;
    let mut first = None;
    for a in policy
        .descendants()
        .filter(|d| is(*d, ns::MS_AUTH, "Authentication"))
    {
        let uri = a.attribute("Profile").unwrap_or("");
        if let Some(p) = profile(uri) {
            return Some(Ok(p));
        }
        first.get_or_insert(uri);
    }
    first.map(|u| Err(unsupported_profile(u)))
}

/// The username token of `wst:IssuedTokens` in the request header, if any.
#[cfg(feature = "push")]
fn issued_credentials(header: Node<'_, '_>, limits: &Limits) -> Result<Option<Credentials>, Fault> {
    let Some(tokens) = child(header, ns::WST, "IssuedTokens") else {
        return Ok(None);
    };
    for rstr in elements(tokens).filter(|c| is(*c, ns::WST, "RequestSecurityTokenResponse")) {
        if child(rstr, ns::WST, "TokenType").map(text) != Some(USERNAME_TOKEN) {
            continue;
        }
        let Some(token) = rstr
            .descendants()
            .find(|d| is(*d, ns::WSSE, "UsernameToken"))
        else {
            continue;
        };
        let user = child(token, ns::WSSE, "Username").map(text).unwrap_or("");
        // A password keeps its spaces: trimming would change the secret.
        let pass = child(token, ns::WSSE, "Password")
            .and_then(|p| p.text())
            .unwrap_or("");
        if user.is_empty() {
            return Err(invalid("The delivery username token has no Username."));
        }
        if user.len() > limits.max_credential_len || pass.len() > limits.max_credential_len {
            return Err(too_long("A delivery credential"));
        }
        return Ok(Some(Credentials {
            username: user.to_string(),
            password: pass.to_string(),
        }));
    }
    Ok(None)
}

/// The Subscribe terms [`fill`] reads, one per element name it knows (the two Filters are one
/// term: either counts as the other's second).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Term {
    Delivery,
    NotifyTo,
    EndTo,
    Expires,
    Filter,
    #[cfg(feature = "push")]
    Heartbeats,
    SendBookmarks,
    Bookmark,
    #[cfg(feature = "push")]
    MaxElements,
    #[cfg(feature = "push")]
    MaxTime,
    #[cfg(feature = "push")]
    MaxEnvelopeSize,
    #[cfg(feature = "push")]
    ConnectionRetry,
    Locale,
    ContentEncoding,
    #[cfg(feature = "push")]
    Auth,
}

/// Where a term may sit: among Subscribe's children, Delivery's, or either.
const TOP: u8 = 1;
const IN_DELIVERY: u8 = 2;
const EITHER: u8 = TOP | IN_DELIVERY;

/// (in the wse namespace, else wsman; local name; where; term). One lookup in this table, then a
/// match on the term, where a match on (namespace, name) compared strings arm by arm and each arm
/// had its own once-only check: the bare-metal image's `fill` was the largest function of the
/// eventing crate. Without `push` the delivery-only wsman terms are not listed, so they are
/// ignored as any other wsman extension is.
const TERMS: &[(bool, &str, u8, Term)] = &[
    (true, "Delivery", TOP, Term::Delivery),
    (true, "NotifyTo", IN_DELIVERY, Term::NotifyTo),
    (true, "EndTo", TOP, Term::EndTo),
    (true, "Expires", TOP, Term::Expires),
    (true, "Filter", TOP, Term::Filter),
    (false, "Filter", EITHER, Term::Filter),
    #[cfg(feature = "push")]
    (false, "Heartbeats", EITHER, Term::Heartbeats),
    (false, "SendBookmarks", EITHER, Term::SendBookmarks),
    (false, "Bookmark", EITHER, Term::Bookmark),
    #[cfg(feature = "push")]
    (false, "MaxElements", EITHER, Term::MaxElements),
    #[cfg(feature = "push")]
    (false, "MaxTime", EITHER, Term::MaxTime),
    #[cfg(feature = "push")]
    (false, "MaxEnvelopeSize", EITHER, Term::MaxEnvelopeSize),
    #[cfg(feature = "push")]
    (false, "ConnectionRetry", EITHER, Term::ConnectionRetry),
    (false, "Locale", EITHER, Term::Locale),
    (false, "ContentEncoding", EITHER, Term::ContentEncoding),
    #[cfg(feature = "push")]
    (false, "Auth", EITHER, Term::Auth),
];

/// Parses the `wse:Subscribe` element. `header` is the request's `s:Header`, for the delivery
/// credentials openwsman sends there; `None` if the caller has none.
pub fn parse(
    subscribe: Node<'_, '_>,
    header: Option<Node<'_, '_>>,
    limits: &Limits,
) -> Result<Subscribe, Fault> {
    if !is(subscribe, ns::WSE, "Subscribe") {
        return Err(invalid("The body is not a wse:Subscribe."));
    }
    let mut out = Subscribe {
        mode: DeliveryMode::Push,
        notify_to: None,
        end_to: None,
        expires: None,
        heartbeat_ms: None,
        send_bookmarks: false,
        bookmark: None,
        max_elements: None,
        max_time_ms: None,
        max_envelope_size: None,
        envelope_policy: EnvelopePolicy::Notify,
        connection_retry: None,
        locale: None,
        content_encoding: None,
        filter: None,
        auth: None,
    };
    // Filled through a reference: a refusal then returns its fault alone, where with `out`
    // owned there every `?` dropped its fields (endpoints, filter, credentials) again.
    fill(&mut out, subscribe, header, limits)?;
    Ok(out)
}

/// [`parse`]'s terms, read into `out`. Out of line: inlined back into `parse`, the bare-metal
/// image measured 568 B larger (BENCHMARKS.md, the fourteenth pass, Push).
#[inline(never)]
fn fill(
    out: &mut Subscribe,
    subscribe: Node<'_, '_>,
    header: Option<Node<'_, '_>>,
    limits: &Limits,
) -> Result<(), Fault> {
    // Terms seen so far, a bit each, to refuse a second one of each.
    let mut seen = 0u32;
    let mut delivery = None;
    #[cfg(feature = "push")]
    let mut profile_uri: Option<(AuthScheme, bool)> = None;
    // Subscribe's own children, then Delivery's: the wsman extensions may sit at either level.
    // Extended, not collected: the one extend below serves both (a collect of this filter
    // linked its own copy).
    let mut pending: Vec<Node<'_, '_>> = Vec::new();
    pending.extend(elements(subscribe));
    let top_level = pending.len();
    let mut i = 0;
    while let Some(&c) = pending.get(i) {
        let place = if i < top_level { TOP } else { IN_DELIVERY };
        i += 1;
        let local = c.tag_name().name();
        let wse = match c.tag_name().namespace() {
            Some(ns::WSE) => true,
            Some(ns::WSMAN) => false,
            // Extensions in other namespaces are ignored, as WS-Eventing allows.
            _ => continue,
        };
        let term = TERMS
            .iter()
            .find(|t| t.0 == wse && t.1 == local && t.2 & place != 0)
            .map(|t| t.3);
        let Some(term) = term else {
            if wse {
                return Err(invalid(cat(&["wse:", local, " is not expected here."])));
            }
            // Other wsman extensions (e.g. a future option) are not ours to refuse. Without
            // push delivery that includes the terms only a delivery task uses (heartbeats,
            // batching, retries, delivery credentials): a Pull subscription has none.
            continue;
        };
        // Pull only: NotifyTo and EndTo are taken as often as they come, and not kept (there
        // is nowhere to deliver to, and no SubscriptionEnd is ever sent).
        let counted = cfg!(feature = "push") || !matches!(term, Term::NotifyTo | Term::EndTo);
        let bit = 1 << term as u32;
        if counted && seen & bit != 0 {
            let name = if term == Term::Filter {
                "Filter"
            } else if wse {
                &cat(&["wse:", local])
            } else {
                &cat(&["wsman:", local])
            };
            return Err(invalid(cat(&[name, " appears more than once."])));
        }
        seen |= bit;
        match term {
            Term::Delivery => {
                delivery = Some(c);
                pending.extend(elements(c));
            }
            #[cfg(feature = "push")]
            Term::NotifyTo => {
                out.notify_to = Some(endpoint(c, limits, "wse:NotifyTo")?);
                if let Some(p) = policy_profile(c) {
                    profile_uri = Some(p?);
                }
            }
            #[cfg(feature = "push")]
            Term::EndTo => {
                out.end_to = Some(endpoint(c, limits, "wse:EndTo")?);
            }
            #[cfg(not(feature = "push"))]
            Term::NotifyTo | Term::EndTo => {}
            Term::Expires => {
                out.expires = Some(expires(text(c))?);
            }
            Term::Filter => {
                out.filter = Some(filter(c, limits)?);
            }
            #[cfg(feature = "push")]
            Term::Heartbeats => {
                let ms = positive_duration(c, "wsman:Heartbeats")?;
                if ms < limits.min_heartbeat_ms {
                    return Err(refused(
                        FaultKind::UnsupportedFeature,
                        Some(FaultDetail::Heartbeats),
                        cat(&[
                            "Heartbeats more often than every ",
                            Dec::new(limits.min_heartbeat_ms).as_str(),
                            " ms are not supported.",
                        ])
                        .into(),
                    ));
                }
                out.heartbeat_ms = Some(ms);
            }
            Term::SendBookmarks => {
                out.send_bookmarks = true;
            }
            Term::Bookmark => {
                // A bookmark with markup in it is none this source wrote: refused as an empty
                // one is, by the same fault.
                let t = if elements(c).next().is_some() {
                    ""
                } else {
                    text(c)
                };
                out.bookmark = Some(Bookmark::parse(t)?);
            }
            #[cfg(feature = "push")]
            Term::MaxElements => {
                out.max_elements =
                    Some(positive_u32(c, "wsman:MaxElements")?.min(limits.max_elements));
            }
            #[cfg(feature = "push")]
            Term::MaxTime => {
                out.max_time_ms = Some(positive_duration(c, "wsman:MaxTime")?);
            }
            #[cfg(feature = "push")]
            Term::MaxEnvelopeSize => {
                let size = positive_u32(c, "wsman:MaxEnvelopeSize")?;
                if size < MIN_ENVELOPE_SIZE {
                    return Err(refused(
                        FaultKind::EncodingLimit,
                        Some(FaultDetail::MinimumEnvelopeLimit),
                        "wsman:MaxEnvelopeSize is below 8192.".into(),
                    ));
                }
                out.max_envelope_size = Some(size.min(limits.max_envelope_size));
                out.envelope_policy = match c.attribute("Policy").map(str::trim) {
                    None | Some("Notify") => EnvelopePolicy::Notify,
                    Some("Skip") => EnvelopePolicy::Skip,
                    Some("CancelSubscription") => EnvelopePolicy::CancelSubscription,
                    Some(_) => {
                        return Err(refused(FaultKind::UnsupportedFeature, Some(FaultDetail::MaxEnvelopePolicy), "The MaxEnvelopeSize policy is not one of Notify, Skip, CancelSubscription.".into()));
                    }
                };
            }
            #[cfg(feature = "push")]
            Term::ConnectionRetry => {
                let total = c
                    .attribute("Total")
                    .and_then(|t| parse_u64(t.trim()))
                    .and_then(|t| u32::try_from(t).ok())
                    .filter(|&t| t > 0)
                    .ok_or_else(|| {
                        invalid("wsman:ConnectionRetry needs a positive Total attribute.")
                    })?;
                let interval = positive_duration(c, "wsman:ConnectionRetry")?;
                out.connection_retry = Some(ConnectionRetry {
                    total: total.min(limits.max_retries),
                    interval_ms: interval.max(limits.min_retry_interval_ms),
                });
            }
            Term::Locale => {
                let lang = c
                    .attribute((wsbmc_wsman::ns::XML, "lang"))
                    .map(str::trim)
                    .unwrap_or("");
                if lang.is_empty()
                    || lang.len() > 35
                    || !lang.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(refused(
                        FaultKind::UnsupportedFeature,
                        Some(FaultDetail::Locale),
                        "wsman:Locale needs an xml:lang language tag.".into(),
                    ));
                }
                out.locale = Some(lang.to_string());
            }
            Term::ContentEncoding => {
                let t = text(c);
                out.content_encoding = Some(if t.eq_ignore_ascii_case("UTF-8") {
                    ContentEncoding::Utf8
                } else if t.eq_ignore_ascii_case("UTF-16") {
                    ContentEncoding::Utf16
                } else {
                    return Err(refused(
                        FaultKind::UnsupportedFeature,
                        Some(FaultDetail::EncodingType),
                        "wsman:ContentEncoding must be UTF-8 or UTF-16.".into(),
                    ));
                });
            }
            #[cfg(feature = "push")]
            Term::Auth => {
                let uri = c.attribute("Profile").unwrap_or("");
                profile_uri = Some(profile(uri).ok_or_else(|| unsupported_profile(uri))?);
            }
        }
    }
    let delivery = delivery.ok_or_else(|| invalid("The Subscribe has no wse:Delivery."))?;
    out.mode = match delivery.attribute("Mode") {
        None => DeliveryMode::Push,
        Some(uri) => DeliveryMode::from_uri(uri).ok_or_else(|| {
            refused(
                FaultKind::DeliveryModeRequestedUnavailable,
                None,
                cat(&[
                    "The delivery mode '",
                    uri.trim(),
                    "' is not supported; use Push, PushWithAck, Events or Pull.",
                ])
                .into(),
            )
        })?,
    };
    #[cfg(not(feature = "push"))]
    if out.mode != DeliveryMode::Pull {
        return Err(refused(
            FaultKind::DeliveryModeRequestedUnavailable,
            None,
            "This event source delivers in Pull mode only.".into(),
        ));
    }
    #[cfg(feature = "push")]
    match (&out.notify_to, out.mode) {
        (None, DeliveryMode::Pull) => {}
        (None, _) => return Err(invalid("A push delivery mode needs wse:NotifyTo.")),
        (Some(_), DeliveryMode::Pull) => {
            // Pull has nowhere to push to; the address is not used.
            out.notify_to = None;
        }
        (Some(_), _) => {}
    }
    #[cfg(feature = "push")]
    let credentials = match header {
        Some(h) => issued_credentials(h, limits)?,
        None => None,
    };
    #[cfg(not(feature = "push"))]
    let _ = header;
    #[cfg(feature = "push")]
    {
        out.auth = match (profile_uri, credentials) {
            (None, None) => None,
            // Credentials without a profile: Basic, the one every sink takes.
            (None, Some(c)) => Some(DeliveryAuth {
                scheme: AuthScheme::Basic,
                credentials: Some(c),
            }),
            (Some((scheme, https)), credentials) => {
                if let Some(n) = &out.notify_to
                    && n.is_https() != https
                {
                    return Err(refused(
                        FaultKind::EventSourceUnableToProcess,
                        Some(FaultDetail::UnusableAddress),
                        "The delivery security profile and the NotifyTo scheme disagree.".into(),
                    ));
                }
                Some(DeliveryAuth {
                    scheme,
                    credentials,
                })
            }
        };
        if out.mode == DeliveryMode::Pull {
            out.auth = None;
        }
    }
    Ok(())
}

fn expires(t: &str) -> Result<Expires, Fault> {
    let bad = || {
        refused(
            FaultKind::EventInvalidExpirationTime,
            None,
            "wse:Expires must be a positive xs:duration or a future xs:dateTime.".into(),
        )
    };
    if t.starts_with('P') || t.starts_with("-P") {
        match duration::parse(t) {
            Some(d) if !d.negative && d.ms > 0 => Ok(Expires::After(d.ms)),
            _ => Err(bad()),
        }
    } else {
        #[cfg(feature = "datetime")]
        return crate::datetime::parse(t).map(Expires::At).ok_or_else(bad);
        #[cfg(not(feature = "datetime"))]
        return Err(refused(
            FaultKind::EventUnsupportedExpirationType,
            None,
            "This event source takes wse:Expires as an xs:duration only.".into(),
        ));
    }
}

fn filter(f: Node<'_, '_>, limits: &Limits) -> Result<String, Fault> {
    // No Dialect means XPath (WS-Eventing's default), which is not offered.
    let dialect = f.attribute("Dialect").map(str::trim).unwrap_or("");
    if !dialect.eq_ignore_ascii_case(ns::DIALECT_WQL) {
        return Err(refused(
            FaultKind::FilteringRequestedUnavailable,
            None,
            cat(&[
                "The filter dialect '",
                dialect,
                "' is not supported; use ",
                ns::DIALECT_WQL,
                ".",
            ])
            .into(),
        ));
    }
    let q = text(f);
    if q.is_empty() {
        return Err(refused(
            FaultKind::CannotProcessFilter,
            None,
            "The WQL filter is empty.".into(),
        ));
    }
    if q.len() > limits.max_filter_len {
        return Err(refused(
            FaultKind::CannotProcessFilter,
            None,
            cat(&[
                "The WQL filter is longer than ",
                Dec::usize(limits.max_filter_len).as_str(),
                " bytes.",
            ])
            .into(),
        ));
    }
    wsbmc_wsman::wql::parse_nested(q, limits.max_filter_depth).map_err(|e| {
        let mut f = Fault::new(FaultKind::CannotProcessFilter);
        f.message = e.message;
        f
    })?;
    Ok(q.to_string())
}

/// The `wse:Identifier` header of a Renew, GetStatus or Unsubscribe (the manager EPR's
/// reference parameter echoed back); `None` when absent or empty.
pub fn identifier<'a>(header: Node<'a, '_>) -> Option<&'a str> {
    child(header, ns::WSE, "Identifier")
        .map(text)
        .filter(|t| !t.is_empty())
}

/// A `wse:Renew` body: the requested expiry, `None` for the default.
pub fn parse_renew(renew: Node<'_, '_>) -> Result<Option<Expires>, Fault> {
    if !is(renew, ns::WSE, "Renew") {
        return Err(invalid("The body is not a wse:Renew."));
    }
    let mut out = None;
    for c in elements(renew) {
        if is(c, ns::WSE, "Expires") {
            if out.is_some() {
                return Err(invalid("wse:Expires appears more than once."));
            }
            out = Some(expires(text(c))?);
        } else if c.tag_name().namespace() == Some(ns::WSE) {
            return Err(invalid("Only wse:Expires may be in a wse:Renew."));
        }
    }
    Ok(out)
}

/// The default build (push delivery, date-time expirations).
#[cfg(test)]
#[cfg(all(feature = "push", feature = "datetime"))]
mod tests {
    use super::*;
    use alloc::format;

    const HEAD: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wst="http://schemas.xmlsoap.org/ws/2005/02/trust" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">"#;

    fn run(header: &str, body: &str) -> Result<Subscribe, Fault> {
        let text =
            format!("{HEAD}<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>");
        let doc = roxmltree::Document::parse(&text).unwrap();
        let root = doc.root_element();
        let h = root.first_element_child().unwrap();
        let b = h.next_sibling_element().unwrap();
        parse(
            b.first_element_child().unwrap(),
            Some(h),
            &Limits::default(),
        )
    }

    fn sub(inner: &str) -> Result<Subscribe, Fault> {
        run("", &format!("<e:Subscribe>{inner}</e:Subscribe>"))
    }

    fn push(extra_delivery: &str, extra: &str) -> Result<Subscribe, Fault> {
        sub(&format!(
            r#"<e:Delivery Mode="{}"><e:NotifyTo><a:Address>http://127.0.0.1:8080/sink</a:Address></e:NotifyTo>{extra_delivery}</e:Delivery>{extra}"#,
            ns::MODE_PUSH
        ))
    }

    fn kind(r: Result<Subscribe, Fault>) -> (FaultKind, Option<FaultDetail>) {
        let f = r.unwrap_err();
        (f.kind, f.detail)
    }

    #[test]
    fn modes_by_uri_including_openwsman_typos() {
        for (uri, mode) in [
            (ns::MODE_PUSH, DeliveryMode::Push),
            (ns::MODE_PUSH_WITH_ACK, DeliveryMode::PushWithAck),
            (ns::MODE_EVENTS, DeliveryMode::Events),
            (ns::MODE_PULL, DeliveryMode::Pull),
            (
                "http://schemas.dmtf.org/wbmem/wsman/1/wsman/PushWithAck",
                DeliveryMode::PushWithAck,
            ),
            (
                "http://schemas.xmlsoap.org/wbmem/wsman/1/wsman/Pull",
                DeliveryMode::Pull,
            ),
        ] {
            assert_eq!(DeliveryMode::from_uri(uri), Some(mode), "{uri}");
        }
        for bad in [
            "",
            "pull",
            "http://schemas.dmtf.org/wbem/wsman/1/wsman/Push",
            "http://schemas.xmlsoap.org/ws/2005/02/management/Pull",
        ] {
            assert_eq!(DeliveryMode::from_uri(bad), None, "{bad}");
        }
        assert_eq!(DeliveryMode::Events.dsp1054_value(), 4);
    }

    #[test]
    fn minimal_push_and_default_mode() {
        let s = push("", "").unwrap();
        assert_eq!(s.mode, DeliveryMode::Push);
        assert_eq!(s.notify_to.unwrap().address, "http://127.0.0.1:8080/sink");
        let s = sub(
            "<e:Delivery><e:NotifyTo><a:Address>https://h/x</a:Address></e:NotifyTo></e:Delivery>",
        )
        .unwrap();
        assert_eq!(s.mode, DeliveryMode::Push);
        assert!(s.notify_to.unwrap().is_https());
    }

    #[test]
    fn unknown_mode_is_delivery_mode_requested_unavailable() {
        let r = sub(
            r#"<e:Delivery Mode="urn:x"><e:NotifyTo><a:Address>http://h/</a:Address></e:NotifyTo></e:Delivery>"#,
        );
        assert_eq!(kind(r), (FaultKind::DeliveryModeRequestedUnavailable, None));
    }

    #[test]
    fn push_needs_notify_to_and_pull_drops_it() {
        let r = sub(&format!(r#"<e:Delivery Mode="{}"/>"#, ns::MODE_EVENTS));
        assert_eq!(kind(r), (FaultKind::InvalidMessage, None));
        let s = sub(&format!(r#"<e:Delivery Mode="{}"/>"#, ns::MODE_PULL)).unwrap();
        assert_eq!((s.mode, s.notify_to), (DeliveryMode::Pull, None));
        assert_eq!(kind(sub("")), (FaultKind::InvalidMessage, None));
    }

    #[test]
    fn notify_to_must_be_http() {
        let r = sub(
            r#"<e:Delivery><e:NotifyTo><a:Address>ftp://h/</a:Address></e:NotifyTo></e:Delivery>"#,
        );
        assert_eq!(
            kind(r),
            (
                FaultKind::EventSourceUnableToProcess,
                Some(FaultDetail::UnusableAddress)
            )
        );
        let r = sub(r#"<e:Delivery><e:NotifyTo/></e:Delivery>"#);
        assert_eq!(kind(r), (FaultKind::InvalidMessage, None));
    }

    #[test]
    fn reference_parameters_are_kept_and_bounded() {
        let s = sub(r#"<e:Delivery><e:NotifyTo><a:Address>http://h/</a:Address><a:ReferenceProperties><e:Identifier> ABC </e:Identifier></a:ReferenceProperties><a:ReferenceParameters><x:K xmlns:x="urn:k">v</x:K></a:ReferenceParameters></e:NotifyTo></e:Delivery>"#).unwrap();
        let p = s.notify_to.unwrap().params;
        assert_eq!(p.len(), 2);
        assert_eq!(
            (
                p[0].namespace.as_str(),
                p[0].local.as_str(),
                p[0].text.as_str()
            ),
            (ns::WSE, "Identifier", "ABC")
        );
        assert_eq!(
            (p[1].namespace.as_str(), p[1].text.as_str()),
            ("urn:k", "v")
        );

        let many: String = (0..9).map(|i| format!("<k{i}>v</k{i}>")).collect();
        let r = sub(&format!(
            "<e:Delivery><e:NotifyTo><a:Address>http://h/</a:Address><a:ReferenceParameters>{many}</a:ReferenceParameters></e:NotifyTo></e:Delivery>"
        ));
        assert_eq!(
            kind(r),
            (
                FaultKind::EncodingLimit,
                Some(FaultDetail::ServiceEnvelopeLimit)
            )
        );
        let long = "v".repeat(257);
        let r = sub(&format!(
            "<e:Delivery><e:NotifyTo><a:Address>http://h/</a:Address><a:ReferenceParameters><k>{long}</k></a:ReferenceParameters></e:NotifyTo></e:Delivery>"
        ));
        assert_eq!(
            kind(r),
            (
                FaultKind::EncodingLimit,
                Some(FaultDetail::ServiceEnvelopeLimit)
            )
        );
        let r = sub(
            "<e:Delivery><e:NotifyTo><a:Address>http://h/</a:Address><a:ReferenceParameters><k><deep/></k></a:ReferenceParameters></e:NotifyTo></e:Delivery>",
        );
        assert_eq!(kind(r), (FaultKind::EventSourceUnableToProcess, None));
        let addr = format!("http://h/{}", "a".repeat(600));
        let r = sub(&format!(
            "<e:Delivery><e:NotifyTo><a:Address>{addr}</a:Address></e:NotifyTo></e:Delivery>"
        ));
        assert_eq!(
            kind(r),
            (
                FaultKind::EncodingLimit,
                Some(FaultDetail::ServiceEnvelopeLimit)
            )
        );
    }

    #[test]
    fn end_to_is_parsed() {
        let s = push("", "<e:EndTo><a:Address>http://h/end</a:Address></e:EndTo>").unwrap();
        assert_eq!(s.end_to.unwrap().address, "http://h/end");
    }

    #[test]
    fn expires_forms_and_faults() {
        assert_eq!(
            push("", "<e:Expires>PT600.000S</e:Expires>")
                .unwrap()
                .expires,
            Some(Expires::After(600_000))
        );
        assert_eq!(
            push("", "<e:Expires>2026-12-06T19:20:03Z</e:Expires>")
                .unwrap()
                .expires,
            Some(Expires::At(1_796_584_803_000))
        );
        for bad in ["PT0S", "-PT5S", "P", "soon", "", "2026-13-01T00:00:00Z"] {
            let r = push("", &format!("<e:Expires>{bad}</e:Expires>"));
            assert_eq!(
                kind(r),
                (FaultKind::EventInvalidExpirationTime, None),
                "{bad}"
            );
        }
    }

    #[test]
    fn heartbeats_and_batching_terms() {
        let s = push(
            "<w:Heartbeats>PT20.000S</w:Heartbeats><w:MaxElements>20</w:MaxElements><w:MaxTime>PT30S</w:MaxTime><w:MaxEnvelopeSize Policy=\"Skip\">153600</w:MaxEnvelopeSize>",
            "",
        )
        .unwrap();
        assert_eq!(s.heartbeat_ms, Some(20_000));
        assert_eq!(s.max_elements, Some(20));
        assert_eq!(s.max_time_ms, Some(30_000));
        // Lowered to what this source keeps.
        assert_eq!(s.max_envelope_size, Some(65_536));
        assert_eq!(s.envelope_policy, EnvelopePolicy::Skip);
        assert_eq!(
            push("<w:MaxElements>100000</w:MaxElements>", "")
                .unwrap()
                .max_elements,
            Some(64)
        );

        assert_eq!(
            kind(push("<w:Heartbeats>PT0.1S</w:Heartbeats>", "")),
            (FaultKind::UnsupportedFeature, Some(FaultDetail::Heartbeats))
        );
        assert_eq!(
            kind(push("<w:Heartbeats>often</w:Heartbeats>", "")),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push("<w:MaxElements>0</w:MaxElements>", "")),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push("<w:MaxTime>PT0S</w:MaxTime>", "")),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push("<w:MaxEnvelopeSize>4096</w:MaxEnvelopeSize>", "")),
            (
                FaultKind::EncodingLimit,
                Some(FaultDetail::MinimumEnvelopeLimit)
            )
        );
        assert_eq!(
            kind(push(
                "<w:MaxEnvelopeSize Policy=\"Maybe\">9000</w:MaxEnvelopeSize>",
                ""
            )),
            (
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::MaxEnvelopePolicy)
            )
        );
        assert_eq!(
            push(
                "<w:MaxEnvelopeSize Policy=\"CancelSubscription\">9000</w:MaxEnvelopeSize>",
                ""
            )
            .unwrap()
            .envelope_policy,
            EnvelopePolicy::CancelSubscription
        );
    }

    #[test]
    fn duplicates_are_invalid_messages() {
        assert_eq!(
            kind(push(
                "<w:Heartbeats>PT20S</w:Heartbeats>",
                "<w:Heartbeats>PT20S</w:Heartbeats>"
            )),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push(
                "",
                "<e:Expires>PT1S</e:Expires><e:Expires>PT1S</e:Expires>"
            )),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push("", "<e:Delivery/>")),
            (FaultKind::InvalidMessage, None)
        );
        assert_eq!(
            kind(push("", "<e:Bogus/>")),
            (FaultKind::InvalidMessage, None)
        );
    }

    #[test]
    fn connection_retry() {
        let s = push(
            "<w:ConnectionRetry Total=\"3\">PT60S</w:ConnectionRetry>",
            "",
        )
        .unwrap();
        assert_eq!(
            s.connection_retry,
            Some(ConnectionRetry {
                total: 3,
                interval_ms: 60_000
            })
        );
        let s = push(
            "<w:ConnectionRetry Total=\"99\">PT0.01S</w:ConnectionRetry>",
            "",
        )
        .unwrap();
        assert_eq!(
            s.connection_retry,
            Some(ConnectionRetry {
                total: 10,
                interval_ms: 1_000
            })
        );
        for bad in [
            "<w:ConnectionRetry>PT60S</w:ConnectionRetry>",
            "<w:ConnectionRetry Total=\"0\">PT6S</w:ConnectionRetry>",
            "<w:ConnectionRetry Total=\"1\">x</w:ConnectionRetry>",
        ] {
            assert_eq!(
                kind(push(bad, "")),
                (FaultKind::InvalidMessage, None),
                "{bad}"
            );
        }
    }

    #[test]
    fn bookmarks() {
        let s = push("", "<w:SendBookmarks/>").unwrap();
        assert!(s.send_bookmarks);
        let s = push(
            "",
            &format!("<w:Bookmark>{}</w:Bookmark>", ns::BOOKMARK_EARLIEST),
        )
        .unwrap();
        assert_eq!(s.bookmark, Some(Bookmark::Earliest));
        let s = push("", "<w:Bookmark> sel:65535 </w:Bookmark>").unwrap();
        assert_eq!(s.bookmark, Some(Bookmark::After(65535)));
        for bad in [
            "sel:65536",
            "sel:",
            "sel:-1",
            "xyz",
            "<BookmarkList><Bookmark/></BookmarkList>",
        ] {
            let r = push("", &format!("<w:Bookmark>{bad}</w:Bookmark>"));
            assert_eq!(
                kind(r),
                (FaultKind::InvalidBookmark, Some(FaultDetail::Invalid)),
                "{bad}"
            );
        }
    }

    /// The refusals of a term given twice or in the wrong place, and of a bookmark with markup
    /// in it, word for word: the wire text a client sees.
    #[test]
    fn repeated_and_misplaced_terms_are_refused_by_name() {
        let message = |r: Result<Subscribe, Fault>| {
            let f = r.unwrap_err();
            (f.kind, f.detail, f.message.unwrap_or_default().into_owned())
        };
        let invalid = |m: &str| (FaultKind::InvalidMessage, None, m.to_string());
        for (delivery, outside, text) in [
            (
                "",
                "<e:Expires>PT1H</e:Expires><e:Expires>PT1H</e:Expires>",
                "wse:Expires appears more than once.",
            ),
            (
                "<w:Heartbeats>PT10S</w:Heartbeats>",
                "<w:Heartbeats>PT10S</w:Heartbeats>",
                "wsman:Heartbeats appears more than once.",
            ),
            (
                "<w:MaxTime>PT10S</w:MaxTime>",
                "<w:MaxTime>PT10S</w:MaxTime>",
                "wsman:MaxTime appears more than once.",
            ),
            (
                "<w:SendBookmarks/>",
                "<w:SendBookmarks/>",
                "wsman:SendBookmarks appears more than once.",
            ),
            (
                "",
                r#"<e:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM CIM_AlertIndication</e:Filter><w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM CIM_AlertIndication</w:Filter>"#,
                "Filter appears more than once.",
            ),
            (
                "",
                r#"<e:EndTo><a:Address>http://127.0.0.1/e</a:Address></e:EndTo><e:EndTo><a:Address>http://127.0.0.1/e</a:Address></e:EndTo>"#,
                "wse:EndTo appears more than once.",
            ),
            (
                "<e:Expires>PT1H</e:Expires>",
                "",
                "wse:Expires is not expected here.",
            ),
            ("<e:Delivery/>", "", "wse:Delivery is not expected here."),
            (
                "",
                "<e:NotifyTo><a:Address>http://127.0.0.1/n</a:Address></e:NotifyTo>",
                "wse:NotifyTo is not expected here.",
            ),
            ("", "<e:Unheard/>", "wse:Unheard is not expected here."),
        ] {
            assert_eq!(message(push(delivery, outside)), invalid(text), "{text}");
        }
        let second = format!(r#"<e:Delivery Mode="{}"/>"#, ns::MODE_PULL);
        assert_eq!(
            message(push("", &second)),
            invalid("wse:Delivery appears more than once.")
        );
        // Unknown wsman terms and other namespaces are not refused.
        assert!(push("<w:Unheard/>", r#"<x:Other xmlns:x="urn:x"/><w:Unheard/>"#).is_ok());
        assert_eq!(
            message(push("", "<w:Bookmark><w:Inner/></w:Bookmark>")),
            (
                FaultKind::InvalidBookmark,
                Some(FaultDetail::Invalid),
                "The bookmark was not written by this event source.".to_string()
            )
        );
    }

    #[test]
    fn locale_and_content_encoding() {
        let s = push(
            r#"<w:Locale xml:lang="en-US"/><w:ContentEncoding>utf-16</w:ContentEncoding>"#,
            "",
        )
        .unwrap();
        assert_eq!(s.locale.as_deref(), Some("en-US"));
        assert_eq!(s.content_encoding, Some(ContentEncoding::Utf16));
        assert_eq!(
            kind(push("<w:Locale/>", "")),
            (FaultKind::UnsupportedFeature, Some(FaultDetail::Locale))
        );
        assert_eq!(
            kind(push("<w:ContentEncoding>EBCDIC</w:ContentEncoding>", "")),
            (
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::EncodingType)
            )
        );
    }

    #[test]
    fn filters() {
        let s = push("", &format!(r#"<w:Filter Dialect="{}">SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity &gt;= 5</w:Filter>"#, ns::DIALECT_WQL)).unwrap();
        assert_eq!(
            s.filter.as_deref(),
            Some("SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5")
        );
        // Dialect URIs compare case-insensitively, as wsman's enumeration filters do.
        let s = push("", r#"<e:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/wql">select * from CIM_InstCreation</e:Filter>"#).unwrap();
        assert!(s.filter.is_some());
        assert_eq!(
            kind(push("", "<w:Filter>/x</w:Filter>")),
            (FaultKind::FilteringRequestedUnavailable, None)
        );
        assert_eq!(
            kind(push(
                "",
                r#"<w:Filter Dialect="http://schemas.microsoft.com/win/2004/08/events/eventquery">q</w:Filter>"#
            )),
            (FaultKind::FilteringRequestedUnavailable, None)
        );
        let wql = |q: &str| {
            push(
                "",
                &format!(r#"<w:Filter Dialect="{}">{q}</w:Filter>"#, ns::DIALECT_WQL),
            )
        };
        assert_eq!(kind(wql("")), (FaultKind::CannotProcessFilter, None));
        assert_eq!(
            kind(wql("SELEKT nothing")),
            (FaultKind::CannotProcessFilter, None)
        );
        assert_eq!(
            kind(wql(&format!(
                "SELECT * FROM C WHERE A = '{}'",
                "x".repeat(1100)
            ))),
            (FaultKind::CannotProcessFilter, None)
        );
        let deep = format!(
            "SELECT * FROM C WHERE {}A = 1{}",
            "(".repeat(12),
            ")".repeat(12)
        );
        assert_eq!(kind(wql(&deep)), (FaultKind::CannotProcessFilter, None));
        assert_eq!(
            kind(push(
                "",
                &format!(
                    r#"<w:Filter Dialect="{0}">SELECT * FROM A</w:Filter><e:Filter Dialect="{0}">SELECT * FROM A</e:Filter>"#,
                    ns::DIALECT_WQL
                )
            )),
            (FaultKind::InvalidMessage, None)
        );
    }

    #[test]
    fn auth_profiles_and_issued_credentials() {
        let tokens = r#"<wst:IssuedTokens><wst:RequestSecurityTokenResponse><wst:TokenType>http://schemas.dmtf.org/wbem/wsman/1/wsman/token/userNameToken</wst:TokenType><wst:RequestedSecurityToken><wsse:UsernameToken><wsse:Username>sink</wsse:Username><wsse:Password> p w </wsse:Password></wsse:UsernameToken></wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse></wst:IssuedTokens>"#;
        let body = |profile: &str, addr: &str| {
            format!(
                r#"<e:Subscribe><e:Delivery Mode="{}"><e:NotifyTo><a:Address>{addr}</a:Address></e:NotifyTo><w:Auth Profile="{profile}"/></e:Delivery></e:Subscribe>"#,
                ns::MODE_PUSH_WITH_ACK
            )
        };
        let s = run(tokens, &body(ns::PROFILE_HTTP_DIGEST, "http://h/")).unwrap();
        let auth = s.auth.unwrap();
        assert_eq!(auth.scheme, AuthScheme::Digest);
        let c = auth.credentials.unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("sink", " p w ")
        );
        // Debug output never shows the password.
        assert!(!format!("{c:?}").contains("p w"));
        let s = run("", &body(ns::PROFILE_HTTPS_BASIC, "https://h/")).unwrap();
        assert_eq!(
            s.auth,
            Some(DeliveryAuth {
                scheme: AuthScheme::Basic,
                credentials: None
            })
        );
        // Credentials alone mean Basic.
        let s = run(tokens, r#"<e:Subscribe><e:Delivery><e:NotifyTo><a:Address>http://h/</a:Address></e:NotifyTo></e:Delivery></e:Subscribe>"#).unwrap();
        assert_eq!(s.auth.unwrap().scheme, AuthScheme::Basic);

        let r = run(
            "",
            &body(
                "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos",
                "http://h/",
            ),
        );
        assert_eq!(
            kind(r),
            (
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::AuthorizationMode)
            )
        );
        let r = run("", &body(ns::PROFILE_HTTPS_DIGEST, "http://h/"));
        assert_eq!(
            kind(r),
            (
                FaultKind::EventSourceUnableToProcess,
                Some(FaultDetail::UnusableAddress)
            )
        );
        let long = "x".repeat(200);
        let r = run(
            &tokens.replace("sink", &long),
            &body(ns::PROFILE_HTTP_BASIC, "http://h/"),
        );
        assert_eq!(
            kind(r),
            (
                FaultKind::EncodingLimit,
                Some(FaultDetail::ServiceEnvelopeLimit)
            )
        );
        let r = run(
            &tokens.replace("sink", ""),
            &body(ns::PROFILE_HTTP_BASIC, "http://h/"),
        );
        assert_eq!(kind(r), (FaultKind::InvalidMessage, None));
    }

    #[test]
    fn renew_bodies_and_identifier_headers() {
        let doc = |body: &str| {
            format!(
                "{HEAD}<s:Header><e:Identifier> uuid:X </e:Identifier></s:Header><s:Body>{body}</s:Body></s:Envelope>"
            )
        };
        let text = doc("<e:Renew><e:Expires>PT60S</e:Expires></e:Renew>");
        let d = roxmltree::Document::parse(&text).unwrap();
        let h = d.root_element().first_element_child().unwrap();
        assert_eq!(identifier(h), Some("uuid:X"));
        let b = h
            .next_sibling_element()
            .unwrap()
            .first_element_child()
            .unwrap();
        assert_eq!(parse_renew(b).unwrap(), Some(Expires::After(60_000)));
        for (body, want) in [
            ("<e:Renew/>", Ok(None)),
            (
                "<e:Renew><e:Expires>PT0S</e:Expires></e:Renew>",
                Err(FaultKind::EventInvalidExpirationTime),
            ),
            (
                "<e:Renew><e:Expires>PT1S</e:Expires><e:Expires>PT1S</e:Expires></e:Renew>",
                Err(FaultKind::InvalidMessage),
            ),
            (
                "<e:Renew><e:Bogus/></e:Renew>",
                Err(FaultKind::InvalidMessage),
            ),
            ("<e:Subscribe/>", Err(FaultKind::InvalidMessage)),
        ] {
            let text = doc(body);
            let d = roxmltree::Document::parse(&text).unwrap();
            let b = d
                .root_element()
                .last_element_child()
                .unwrap()
                .first_element_child()
                .unwrap();
            assert_eq!(parse_renew(b).map_err(|e| e.kind), want, "{body}");
        }
        let text = format!("{HEAD}<s:Header><e:Identifier/></s:Header><s:Body/></s:Envelope>");
        let d = roxmltree::Document::parse(&text).unwrap();
        assert_eq!(
            identifier(d.root_element().first_element_child().unwrap()),
            None
        );
    }

    #[test]
    fn not_a_subscribe() {
        let r = run("", "<e:Renew/>");
        assert_eq!(kind(r), (FaultKind::InvalidMessage, None));
    }
}

/// The Pull-only build (`cargo test -p wsbmc-eventing --no-default-features --lib`): what the
/// bare-metal image accepts and refuses.
#[cfg(test)]
#[cfg(all(not(feature = "push"), not(feature = "datetime")))]
mod pull_only_tests {
    use super::*;
    use alloc::format;

    fn sub(inner: &str) -> Result<Subscribe, Fault> {
        let text = format!(
            r#"<e:Subscribe xmlns:e="{}" xmlns:a="{}" xmlns:w="{}">{inner}</e:Subscribe>"#,
            ns::WSE,
            ns::WSA,
            ns::WSMAN
        );
        let doc = roxmltree::Document::parse(&text).unwrap();
        parse(doc.root_element(), None, &Limits::default())
    }

    #[test]
    fn pull_is_accepted_and_delivery_terms_are_ignored() {
        let s = sub(&format!(
            r#"<e:Delivery Mode="{}"><e:NotifyTo><a:Address>ftp://x</a:Address></e:NotifyTo><w:Heartbeats>PT0.001S</w:Heartbeats><w:Auth Profile="urn:nothing"/></e:Delivery><e:EndTo/><e:Expires>PT60S</e:Expires><w:Filter Dialect="{}">SELECT * FROM CIM_AlertIndication</w:Filter>"#,
            ns::MODE_PULL,
            ns::DIALECT_WQL
        ))
        .unwrap();
        assert_eq!(s.mode, DeliveryMode::Pull);
        assert_eq!(s.expires, Some(Expires::After(60_000)));
        assert!(s.notify_to.is_none() && s.end_to.is_none() && s.auth.is_none());
        assert_eq!(s.heartbeat_ms, None);
        assert!(s.filter.is_some());
    }

    #[test]
    fn other_modes_and_date_time_expiries_are_refused() {
        for mode in [ns::MODE_PUSH, ns::MODE_PUSH_WITH_ACK, ns::MODE_EVENTS] {
            let e = sub(&format!(
                r#"<e:Delivery Mode="{mode}"><e:NotifyTo><a:Address>http://127.0.0.1/</a:Address></e:NotifyTo></e:Delivery>"#
            ))
            .unwrap_err();
            assert_eq!(e.kind, FaultKind::DeliveryModeRequestedUnavailable);
        }
        // No Mode attribute means Push.
        let e = sub("<e:Delivery/>").unwrap_err();
        assert_eq!(e.kind, FaultKind::DeliveryModeRequestedUnavailable);
        let e = sub(&format!(
            r#"<e:Delivery Mode="{}"/><e:Expires>2030-01-01T00:00:00Z</e:Expires>"#,
            ns::MODE_PULL
        ))
        .unwrap_err();
        assert_eq!(e.kind, FaultKind::EventUnsupportedExpirationType);
    }
}
