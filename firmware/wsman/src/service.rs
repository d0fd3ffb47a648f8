//! Request dispatch: bytes in, the kind of answer and its envelope out.
//!
//! [`Service`] owns what outlives one request (enumeration contexts, the message-id generator);
//! the [`Provider`] is passed per call, so the model can be a short-lived view over state the
//! caller holds a borrow of (the monitor cache, the SEL).
//!
//! # What `wsman:TimedOut` means here
//!
//! Providers never block (they read caches), and one dispatch does bounded work, so a request
//! that got as far as dispatch always finishes long before the shortest timeout a client can
//! ask for (Windows' MaxTimeoutms floor is 500 ms). Measuring the clock again after dispatch
//! would only turn finished work into a fault, so the service does not. TimedOut is answered
//! in exactly these cases:
//! - `wsman:OperationTimeout` or `wsen:MaxTime` of zero or less: nothing can be done in no time
//!   (openwsman does the same), decided before dispatch.
//! - A Pull whose provider has nothing ready yet (`next_item` answers `TimedOut`, see
//!   [`Provider::next_item`]) and nothing was gathered: the context stays where it was, its idle
//!   clock restarted, and the client retries the Pull as Windows clients do. An optimized
//!   Enumerate in the same situation answers an empty `w:Items` and a live context instead.
//!
//! # Repeated headers
//!
//! A header that may appear once (To, Action, MessageID, ReplyTo, FaultTo, ResourceURI,
//! SelectorSet, OptionSet, MaxEnvelopeSize, OperationTimeout, Locale, DataLocale, …) appearing
//! twice is `wsa:InvalidMessageInformationHeader`: taking the first or the last would let two
//! servers read one message differently.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub use wsbmc_accounts::Role;
#[cfg(feature = "authorize")]
use wsbmc_accounts::{Action, Operation as AuthOperation};

use crate::enumeration::{BatchLimits, Context, ContextTable};
#[cfg(feature = "stream")]
use crate::enumeration::{Planned, Rest, plan};
use crate::envelope::{self, Charset, Operation, Request};
use crate::fault::{Fault, FaultDetail, FaultKind};
use crate::ns;
use crate::provider::{EnumSpec, Provider, Target};
use crate::respond::{self, ResponseBody, ResponseHeader};
use crate::rng::{TokenGen, Uuid};
use crate::xml::XmlWriter;

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
    /// Most `=` characters a request may contain, which bounds its attributes (and the
    /// duplicate-attribute check, quadratic in an element's attributes): roxmltree
    /// reserves one attribute per `=` before it parses (6 KiB of `=` in a text would ask for
    /// ~150 KiB at once), and nothing else bounds the attributes of one element short of the
    /// request size. Its node table is bounded by `max_xml_nodes` (vendor/roxmltree/PATCHED.md).
    pub max_xml_attributes: u32,
    /// Most namespace declarations (`xmlns` occurrences). An element that declares one copies
    /// every namespace in scope into roxmltree's namespace table and checks each against its
    /// own declarations, so declarations on many elements cost memory and time quadratically
    /// in this count (never in the request size: it is checked on the raw text first).
    pub max_xml_namespaces: u32,
    /// Live enumeration contexts in all; one more answers QuotaLimit.
    pub max_enum_contexts: usize,
    /// Live enumeration contexts one authenticated user may hold; one more answers QuotaLimit
    /// even while the table has room, so one user (or one leaking client) cannot use up every
    /// other user's contexts. Counted by the user name the HTTP layer authenticated.
    pub max_enum_contexts_per_user: usize,
    /// Idle lifetime of an enumeration context between Pulls.
    pub enum_context_idle_ms: u64,
    /// Upper bound of OperationTimeout.
    pub max_operation_timeout_ms: u64,
    /// Items per Enumerate/Pull batch at most, whatever MaxElements says.
    pub max_batch_items: u32,
    /// Most levels of parentheses and NOTs a WQL filter may nest; deeper is
    /// `wsman:CannotProcessFilter`. The parser and evaluator recurse once per level (about
    /// 200 B of stack on thumbv7m), so this is a stack budget: the default suits a host; an
    /// MCU image with ~10 KiB of stack should set 4. Capped at [`crate::wql::MAX_DEPTH`].
    pub max_filter_depth: usize,
    /// Longest WQL filter text, in bytes; longer is `wsman:CannotProcessFilter`. Capped at
    /// [`crate::wql::MAX_QUERY_LEN`]. The query is tokenized and parsed while the request's
    /// DOM (and later its response) is held, so its length is heap on an MCU image.
    pub max_filter_len: usize,
    /// Most heap the open enumeration contexts may hold together, roughly (their strings plus
    /// a fixed cost per allocation, see `enumeration::context_bytes`); one more that would pass
    /// it answers `wsman:QuotaLimit` like one context too many. Contexts outlive requests, so
    /// on a small heap their filters, stored whole, must not be able to crowd out the next
    /// request.
    pub max_context_bytes: usize,
    /// Most bytes of items an Enumerate or Pull response holds before the rest of its batch is
    /// streamed ([`crate::stream`]): the size of the connection's output the platform keeps
    /// per response. `usize::MAX` (the default) never streams, for callers that want the whole
    /// body in [`Reply::body`].
    #[cfg(feature = "stream")]
    pub stream_from: usize,
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
            // Far above what any client sends (pypsrp and winrm: under 20 of each), and low
            // enough that roxmltree's per-element checks, quadratic in these counts (duplicate
            // attributes, redeclared prefixes), stay in the milliseconds on a 512 KiB request.
            // An MCU image sets its own, lower.
            max_xml_attributes: 2_048,
            max_xml_namespaces: 256,
            // Four users' worth of the per-user quota; a context holds ~300 B plus its filter.
            max_enum_contexts: 128,
            max_enum_contexts_per_user: 32,
            enum_context_idle_ms: 240_000,
            max_operation_timeout_ms: 60_000,
            max_batch_items: 32_000,
            max_filter_depth: crate::wql::MAX_DEPTH,
            max_filter_len: crate::wql::MAX_QUERY_LEN,
            max_context_bytes: usize::MAX,
            #[cfg(feature = "stream")]
            stream_from: usize::MAX,
        }
    }
}

/// What the HTTP layer knows about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// The Content-Type header, if any. The HTTP layer has already refused a media type other
    /// than SOAP 1.2; only its charset parameter is read here, to decode the body.
    pub content_type: Option<&'a str>,
    /// The authenticated user, or `None` for an unauthenticated Identify attempt (the HTTP layer
    /// let it through only because of `WSMANIDENTIFY: unauthenticated` or `/wsman-anon/identify`).
    pub user: Option<&'a str>,
    /// Monotonic milliseconds, for context expiry.
    pub now_ms: u64,
    /// What the listener the request came in on offers (DSP0226 Annex C URIs), for Identify;
    /// `None` lists the service's own set ([`Service::set_security_profiles`]).
    pub security_profiles: Option<&'a [&'a str]>,
}

/// The answer to one request: what kind of answer it is, and its envelope. The HTTP layer
/// decides the status line from `kind`; nothing here speaks HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: ReplyKind,
    /// `application/soap+xml;charset=UTF-8` (or UTF-16), or `None` for an empty body.
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    /// The rest of a streamed response, which follows `body` on the wire; `None` when `body` is
    /// the whole of it (always, unless `Limits::stream_from` is set).
    #[cfg(feature = "stream")]
    pub stream: Option<crate::stream::ReplyStream>,
}

/// What kind of answer a [`Reply`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// A response envelope.
    Success,
    /// An Identify response, the one answer a caller without a user may receive.
    Identify,
    /// A SOAP fault envelope, whatever its code (Sender or Receiver).
    Fault,
    /// Nothing was done and the body is empty: the caller has no user (it was let through
    /// unauthenticated for Identify) and the request was not an Identify, or not even an
    /// envelope. Such a caller learns nothing else, not even a fault.
    Unauthenticated,
}

/// The WS-Management endpoint state.
pub struct Service {
    limits: Limits,
    tokens: TokenGen,
    contexts: ContextTable,
    machine: String,
    security_profiles: Vec<String>,
}

/// Where `render_streamed` leaves the rest of a streamed response for its [`Reply`]: passed
/// down the call, not kept in the service, which on the bare-metal image is static RAM.
#[cfg(feature = "stream")]
type Pending<'p> = &'p mut Option<crate::stream::ReplyStream>;
/// Without `stream` nothing is ever pending: a zero-sized stand-in, passed by value, which
/// leaves no argument in any call (the bare-metal image pays nothing for streaming).
#[cfg(not(feature = "stream"))]
type Pending<'p> = core::marker::PhantomData<&'p mut ()>;

/// What the streamed rest of a batch needs to render it: where it starts and how big it is, the
/// enumeration and its plan (shared with the context), the mode and the batch's limits.
#[cfg(feature = "stream")]
type Streamed = (
    Rest,
    (EnumSpec, crate::provider::EnumPlan),
    envelope::EnumMode,
    BatchLimits,
);

/// The event source a request may reach: the platform's, or none (`handle`). Without the
/// `eventing` feature it is nothing at all, so an image without eventing carries no trace of it.
#[cfg(feature = "eventing")]
type Ev<'e> = Option<&'e dyn crate::events::EventSource>;
#[cfg(not(feature = "eventing"))]
type Ev<'e> = core::marker::PhantomData<&'e ()>;

#[cfg(feature = "eventing")]
const NO_EVENTS: Ev<'static> = None;
#[cfg(not(feature = "eventing"))]
const NO_EVENTS: Ev<'static> = core::marker::PhantomData;

/// What dispatch decided, before it becomes bytes.
enum Outcome {
    /// A complete envelope in the request's charset: a response (`Success`) or a fault.
    Envelope { kind: ReplyKind, text: String },
    /// An Identify answer; the only thing an unauthenticated caller may receive.
    Identify(String),
}

impl Service {
    /// `seed` feeds message ids and enumeration-context tokens; pass real entropy in production and
    /// a constant in golden tests.
    pub fn new(limits: Limits, seed: u64) -> Self {
        let mut contexts = ContextTable::new(limits.max_enum_contexts, limits.enum_context_idle_ms);
        contexts.set_max_bytes(limits.max_context_bytes);
        contexts.set_max_per_user(limits.max_enum_contexts_per_user);
        Self {
            limits,
            tokens: TokenGen::new(seed),
            contexts,
            machine: String::from("wsbmc"),
            security_profiles: vec![crate::text::cat(&[ns::SECPROFILE, "http/basic"])],
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The `Machine` attribute of `f:WSManFault` (Windows puts the host name there).
    pub fn set_machine_name(&mut self, name: impl Into<String>) {
        self.machine = name.into();
    }

    /// Security profile URIs an authenticated Identify lists when the request does not say what
    /// its listener offers (default: http/basic); the HTTP layer knows which schemes and
    /// transports it actually offers and passes them per request.
    pub fn set_security_profiles(&mut self, profiles: Vec<String>) {
        self.security_profiles = profiles;
    }

    /// Live enumeration contexts (for diagnostics and tests).
    pub fn open_enumerations(&self) -> usize {
        self.contexts.len()
    }

    /// Handles one POSTed envelope from a caller with every right (tests, tools; an
    /// authenticated request from the network goes through [`Service::handle_as`]).
    /// WS-Eventing requests answer ActionNotSupported, as any action without a handler does.
    pub fn handle<P: Provider>(
        &mut self,
        provider: &P,
        meta: &RequestMeta<'_>,
        body: &[u8],
    ) -> Reply {
        self.handle_with(provider, NO_EVENTS, meta, None, body)
    }

    /// Handles one POSTed envelope from an authenticated user of `role`: the operation is
    /// authorized ([`wsbmc_accounts::authorize`]) before dispatch, and a refusal is the
    /// `wsman:AccessDenied` fault (HTTP 500, as Windows answers; reference/wsman.md).
    pub fn handle_as<P: Provider>(
        &mut self,
        provider: &P,
        meta: &RequestMeta<'_>,
        role: Role,
        body: &[u8],
    ) -> Reply {
        self.handle_with(provider, NO_EVENTS, meta, Some(role), body)
    }

    /// Handles one POSTed envelope, with `events` deciding Subscribe, Renew, GetStatus and
    /// Unsubscribe, and Pulls on its pull subscriptions' contexts. `role` is the caller's, as
    /// in [`Service::handle_as`]; `None` for a caller with every right.
    #[cfg(feature = "eventing")]
    pub fn handle_with_events<P: Provider>(
        &mut self,
        provider: &P,
        events: &dyn crate::events::EventSource,
        meta: &RequestMeta<'_>,
        role: Option<Role>,
        body: &[u8],
    ) -> Reply {
        self.handle_with(provider, Some(events), meta, role, body)
    }

    fn handle_with<P: Provider>(
        &mut self,
        provider: &P,
        ev: Ev<'_>,
        meta: &RequestMeta<'_>,
        role: Option<Role>,
        body: &[u8],
    ) -> Reply {
        let hint = envelope::charset(meta.content_type);
        let mut charset = Charset::Utf8;
        #[cfg(feature = "stream")]
        let mut stream = None;
        #[cfg(feature = "stream")]
        let pending = &mut stream;
        #[cfg(not(feature = "stream"))]
        let pending = core::marker::PhantomData;
        let outcome = self.process(
            provider,
            (ev, role),
            meta,
            body,
            (hint, &mut charset),
            pending,
        );
        let (kind, text) = match outcome {
            Outcome::Identify(text) => (ReplyKind::Identify, text),
            // Unauthenticated callers were let through for Identify only; anything else they
            // send is answered as if it had never been let through.
            Outcome::Envelope { .. } if meta.user.is_none() => {
                return Reply {
                    kind: ReplyKind::Unauthenticated,
                    content_type: None,
                    body: Vec::new(),
                    #[cfg(feature = "stream")]
                    stream: None,
                };
            }
            Outcome::Envelope { kind, text } => (kind, text),
        };
        Reply {
            kind,
            content_type: Some(respond::content_type(charset)),
            body: respond::encode(text, charset),
            #[cfg(feature = "stream")]
            stream: stream.filter(|_| kind == ReplyKind::Success),
        }
    }

    fn process<P: Provider>(
        &mut self,
        provider: &P,
        (ev, role): (Ev<'_>, Option<Role>),
        meta: &RequestMeta<'_>,
        body: &[u8],
        (hint, charset): (envelope::CharsetHint, &mut Charset),
        pending: Pending<'_>,
    ) -> Outcome {
        if body.len() > self.limits.max_request_size {
            return self.fault(
                &Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::ServiceEnvelopeLimit)
                    .message("The request is larger than the service accepts."),
                None,
                &[],
            );
        }
        let text = match envelope::decode(body, hint) {
            Ok((text, cs)) => {
                *charset = cs;
                text
            }
            Err(f) => return self.fault(&f, None, &[]),
        };
        let doc = match envelope::parse_document(&text, &self.limits) {
            Ok(doc) => doc,
            Err(f) => return self.fault(&f, None, &[]),
        };
        let req = match envelope::parse(&doc, &self.limits) {
            Ok(req) => req,
            Err(r) => return self.fault(&r.fault, r.relates_to, &r.not_understood),
        };
        if let Operation::Identify = req.op {
            let mut out = XmlWriter::new();
            let identity = provider.identity();
            let mut listener = meta.security_profiles.map(|l| l.iter().copied());
            let mut own = self.security_profiles.iter().map(String::as_str);
            let profiles: &mut dyn Iterator<Item = &str> = match &mut listener {
                Some(l) => l,
                None => &mut own,
            };
            respond::write_identify(&mut out, &identity, meta.user.map(|_| profiles));
            return Outcome::Identify(out.into_string());
        }
        if meta.user.is_none() {
            return Outcome::Envelope {
                kind: ReplyKind::Unauthenticated,
                text: String::new(),
            };
        }
        let relates_to = req.header.message_id;
        #[cfg(feature = "authorize")]
        if let Some(role) = role {
            let op = operation_of(&req);
            // The reserved name no account can have is the provisioning path's caller (http
            // proved its one-time secret): Identify and CreateAccount only, whatever its role.
            let refusal = if meta
                .user
                .is_some_and(|u| u.eq_ignore_ascii_case(wsbmc_accounts::PROVISIONING_USER))
            {
                (!wsbmc_accounts::provision::allows(&op)).then(|| {
                    String::from(
                        "The device is not provisioned: only CreateAccount on \
                         CIM_AccountManagementService, to create the first Administrator.",
                    )
                })
            } else {
                wsbmc_accounts::authorize(role, &op)
                    .err()
                    .map(|denied| denied.message())
            };
            if let Some(message) = refusal {
                let f = Fault::new(FaultKind::AccessDenied).message(message);
                return self.fault(&f, relates_to, &[]);
            }
        }
        #[cfg(not(feature = "authorize"))]
        if role.is_some_and(|r| r != Role::Administrator) {
            return self.fault(&Fault::new(FaultKind::AccessDenied), relates_to, &[]);
        }
        if let Some(opt) = req
            .header
            .options
            .iter()
            .find(|o| o.must_comply && !provider.supports_option(o.name))
        {
            let f = Fault::with_detail(FaultKind::InvalidOptions, FaultDetail::NotSupported)
                .message(crate::text::cat(&[
                    "The option '",
                    opt.name,
                    "' is not supported, and the request requires it.",
                ]));
            return self.fault(&f, relates_to, &[]);
        }
        if Detached::applies(&req.op) {
            let mut detached = Detached::of(req);
            // Get, Enumerate and Pull write the largest responses and need nothing from the
            // DOM to do it: the DOM (and a decoded UTF-16 copy) is freed before the response
            // exists, so a request's heap peak is the larger of the two, not their sum. (A
            // whole CIM_NumericSensor is ~3.7 KB of body; with its DOM beside it, a plain
            // pypsrp Get took 16 KB of the bare-metal image's heap, past its 14 KiB reserve.)
            drop(doc);
            drop(text);
            let req = detached.view();
            self.answer(provider, ev, meta, req, (*charset, pending))
        } else {
            self.answer(provider, ev, meta, req, (*charset, pending))
        }
    }

    /// Dispatches one authenticated request: its response, or its fault relating to it. Out of
    /// line: it is called for detached and DOM-backed requests alike, and one copy of it (and
    /// of `dispatch`, inlined here) is enough flash.
    #[inline(never)]
    fn answer<P: Provider>(
        &mut self,
        provider: &P,
        ev: Ev<'_>,
        meta: &RequestMeta<'_>,
        req: Request<'_, '_>,
        out: (Charset, Pending<'_>),
    ) -> Outcome {
        let relates_to = req.header.message_id;
        match self.dispatch(provider, ev, meta, req, out) {
            Ok(text) => Outcome::Envelope {
                kind: ReplyKind::Success,
                text,
            },
            Err(f) => self.fault(&f, relates_to, &[]),
        }
    }

    fn fault(
        &mut self,
        fault: &Fault,
        relates_to: Option<&str>,
        not_understood: &[envelope::QName<'_>],
    ) -> Outcome {
        let mut out = XmlWriter::new();
        let id = self.tokens.next_uuid();
        respond::write_fault(
            &mut out,
            fault,
            id,
            relates_to,
            &self.machine,
            not_understood,
        );
        Outcome::Envelope {
            kind: ReplyKind::Fault,
            text: out.into_string(),
        }
    }

    /// Decides one authenticated request and renders its success envelope.
    fn dispatch<P: Provider>(
        &mut self,
        provider: &P,
        ev: Ev<'_>,
        meta: &RequestMeta<'_>,
        req: Request<'_, '_>,
        (charset, pending): (Charset, Pending<'_>),
    ) -> Result<String, Fault> {
        let Request { header: h, op } = req;
        let h = &h;
        let resource = || h.resource_uri.ok_or_else(Fault::unknown_resource);
        let target = |uri| Target {
            resource_uri: uri,
            selectors: &h.selectors,
            namespace: h.namespace.as_deref(),
        };
        // What the operation leaves for the response's body: the markup it rendered, or
        // nothing (an empty `s:Body`). Every such operation is answered by the one `render`
        // below; Enumerate and Pull render their batches themselves.
        let body: Option<XmlWriter> = match op {
            Operation::Identify => return Err(Fault::new(FaultKind::InternalError)),
            Operation::Get => {
                let mut body = XmlWriter::new();
                provider.get(&target(resource()?), &mut body)?;
                Some(body)
            }
            Operation::Put(new) => {
                let uri = resource()?;
                let new = new.ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidRepresentation, FaultDetail::MissingValues)
                        .message("Put needs the new representation in the body.")
                })?;
                let new = envelope::parse_representation(new);
                let mut body = XmlWriter::new();
                provider.put(&target(uri), &new, &mut body)?;
                Some(body)
            }
            Operation::Create(new) => {
                let uri = resource()?;
                let new = new.ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidRepresentation, FaultDetail::MissingValues)
                        .message("Create needs the new representation in the body.")
                })?;
                let epr = provider.create(&target(uri), &envelope::parse_representation(new))?;
                let mut body = XmlWriter::new();
                body.open("x:ResourceCreated", &[("xmlns:x", ns::WXF)]);
                respond::write_epr(&mut body, &epr);
                body.close("x:ResourceCreated");
                Some(body)
            }
            Operation::Delete => {
                provider.delete(&target(resource()?))?;
                None
            }
            Operation::Invoke { method, input } => {
                let mut body = XmlWriter::new();
                let target = target(resource()?);
                let input = envelope::parse_properties(input);
                provider.invoke(&target, method, &input, &mut body)?;
                Some(body)
            }
            Operation::Enumerate(mut e) => {
                let spec = EnumSpec {
                    resource_uri: String::from(resource()?),
                    namespace: h.namespace.clone(),
                    // Moved, not copied: the request is done with it.
                    filter: core::mem::replace(&mut e.filter, crate::provider::Filter::None),
                };
                return self.enumerate(provider, meta, h, spec, &e, (charset, pending));
            }
            Operation::Pull(p) => return self.pull(provider, ev, meta, h, &p, (charset, pending)),
            Operation::Release(token) => {
                let user = meta.user.unwrap_or("");
                let ctx = self.contexts.take(token, user, meta.now_ms)?;
                if let Err(f) = same_resource(h, &ctx) {
                    self.contexts.put_back(ctx, meta.now_ms);
                    return Err(f);
                }
                None
            }
            #[cfg(feature = "eventing")]
            Operation::Event { op, header, body } => {
                let Some(events) = ev else {
                    return Err(not_supported(h));
                };
                let req = crate::events::EventRequest {
                    op,
                    user: meta.user.unwrap_or(""),
                    now_ms: meta.now_ms,
                    header,
                    body,
                    to: h.to,
                    resource_uri: h.resource_uri,
                };
                let mut out = XmlWriter::new();
                events.handle(&req, &mut out)?;
                (!out.as_str().is_empty()).then_some(out)
            }
            Operation::Renew | Operation::GetStatus | Operation::Unknown => {
                return Err(not_supported(h));
            }
        };
        let body = body
            .as_ref()
            .map_or(ResponseBody::Empty, |b| ResponseBody::Raw(b.as_str()));
        self.render(h, &response_action(h), None, &body, charset)
    }

    /// The header of a response to `h`, under a fresh MessageID.
    fn head<'a>(
        &mut self,
        h: &envelope::Header<'a>,
        action: &'a str,
        total_items: Option<Option<u64>>,
    ) -> ResponseHeader<'a> {
        ResponseHeader {
            action,
            message_id: self.tokens.next_uuid(),
            relates_to: h.message_id,
            total_items,
        }
    }

    fn render(
        &mut self,
        h: &envelope::Header<'_>,
        action: &str,
        total_items: Option<Option<u64>>,
        body: &ResponseBody<'_>,
        charset: Charset,
    ) -> Result<String, Fault> {
        let head = self.head(h, action, total_items);
        // Measured first, then written into one allocation of exactly that size (see
        // `respond::response_len`); an envelope that cannot be sent is never built.
        let len = respond::response_len(&head, body);
        if respond::encoded_len(len, charset) > h.max_envelope_size {
            return Err(too_big());
        }
        let mut out = XmlWriter::with_capacity(len);
        respond::write_response(&mut out, &head, body);
        debug_assert_eq!(out.len(), len, "response_len disagrees with write_response");
        Ok(out.into_string())
    }

    /// Bytes left for items once the rest of the envelope is written, and the bytes of the rest:
    /// the envelope is measured with the worst case of everything else (full context token and
    /// EndOfSequence both).
    fn item_budget(
        h: &envelope::Header<'_>,
        action: &str,
        total_items: Option<Option<u64>>,
        pull: bool,
        charset: Charset,
    ) -> Result<(usize, usize), Fault> {
        let dummy = Uuid::PLACEHOLDER;
        let token = dummy.as_str();
        let head = ResponseHeader {
            action,
            message_id: Uuid::PLACEHOLDER,
            relates_to: h.message_id,
            total_items,
        };
        let body = if pull {
            ResponseBody::Pull {
                context: Some(token),
                items: "",
                end: true,
            }
        } else {
            ResponseBody::Enumerate {
                context: Some(token),
                items: Some(""),
                end: true,
            }
        };
        let frame = respond::response_len(&head, &body);
        let skeleton = respond::encoded_len(frame, charset);
        let free = h
            .max_envelope_size
            .checked_sub(skeleton)
            .ok_or_else(too_big)?;
        let budget = match charset {
            Charset::Utf8 => free,
            Charset::Utf16 => free / 2,
        };
        Ok((budget, frame))
    }

    /// Renders an Enumerate or Pull response around its items in the items' own buffer, which
    /// [`crate::enumeration::fill`] sized with room for the envelope: the items are never copied
    /// into a second buffer. The output is byte for byte what [`Self::render`] writes: `body`
    /// is the response body with empty items (its frame), and the items go where its items
    /// element closes.
    fn render_batch(
        &mut self,
        h: &envelope::Header<'_>,
        action: &str,
        total_items: Option<Option<u64>>,
        body: ResponseBody<'_>,
        items: String,
        charset: Charset,
    ) -> Result<String, Fault> {
        let head = self.head(h, action, total_items);
        let close = items_close(&body);
        // The room left in the items' buffer is what the frame needs (`fill` kept it for the
        // worst-case frame), so the frame is one allocation rather than a string of doublings.
        let room = items.capacity().saturating_sub(items.len()).min(2048);
        let mut frame = XmlWriter::with_capacity(room);
        respond::write_response(&mut frame, &head, &body);
        let len = frame.len() + items.len();
        if respond::encoded_len(len, charset) > h.max_envelope_size {
            return Err(too_big());
        }
        let frame = frame.as_str();
        // Text from the request is escaped, so the last closing tag is the envelope's own.
        let at = rfind_ascii(frame, close).unwrap_or(frame.len());
        let mut out = items;
        out.reserve_exact(frame.len());
        out.insert_str(0, frame.get(..at).unwrap_or(""));
        out.push_str(frame.get(at..).unwrap_or(""));
        Ok(out)
    }

    /// [`Self::render_batch`] for a batch whose items after `items` are streamed: returns the
    /// envelope up to the end of `items` and leaves the rest (the items from `rest.cursor`, then
    /// the envelope's end) in `pending`. The whole envelope's size is known from the plan,
    /// so MaxEnvelopeSize is checked here, before anything is sent.
    #[cfg(feature = "stream")]
    #[allow(clippy::too_many_arguments)]
    fn render_streamed(
        &mut self,
        h: &envelope::Header<'_>,
        action: &str,
        total_items: Option<Option<u64>>,
        body: ResponseBody<'_>,
        items: String,
        (rest, (spec, plan), mode, lim): Streamed,
        (charset, pending): (Charset, Pending<'_>),
    ) -> Result<String, Fault> {
        let head = self.head(h, action, total_items);
        let close = items_close(&body);
        let mut frame = XmlWriter::with_capacity(2048);
        respond::write_response(&mut frame, &head, &body);
        let len = frame.len() + items.len() + rest.bytes;
        if respond::encoded_len(len, charset) > h.max_envelope_size {
            return Err(too_big());
        }
        let frame = frame.as_str();
        // Text from the request is escaped, so the last closing tag is the envelope's own.
        let at = rfind_ascii(frame, close).unwrap_or(frame.len());
        let used_chars = match lim.max_characters {
            Some(_) => items.chars().count() as u64,
            None => 0,
        };
        *pending = Some(crate::stream::ReplyStream {
            spec,
            plan,
            mode,
            cursor: rest.cursor,
            remaining: rest.count,
            budget_left: lim.budget.saturating_sub(items.len()),
            chars_left: lim.max_characters.map(|m| m.saturating_sub(used_chars)),
            tail: String::from(frame.get(at..).unwrap_or("")),
            charset,
        });
        let mut out = items;
        out.insert_str(0, frame.get(..at).unwrap_or(""));
        Ok(out)
    }

    fn enumerate<P: Provider>(
        &mut self,
        provider: &P,
        meta: &RequestMeta<'_>,
        h: &envelope::Header<'_>,
        spec: EnumSpec,
        e: &envelope::EnumerateBody,
        (charset, pending): (Charset, Pending<'_>),
    ) -> Result<String, Fault> {
        let user = meta.user.unwrap_or("");
        let action = response_action(h);
        let action = action.as_str();
        // The request is worked out here, once: every Pull reuses the plan from the context.
        let (mut cursor, eplan) = provider.prepare(&spec)?;
        let total = h
            .request_total_items
            .then(|| provider.count_planned(&spec, &eplan));
        if !e.optimize {
            let token = self.tokens.next_uuid();
            self.contexts.insert(
                Context {
                    token,
                    user: String::from(user),
                    spec,
                    plan: eplan,
                    mode: e.mode,
                    cursor,
                    last_used_ms: meta.now_ms,
                },
                meta.now_ms,
            )?;
            let body = ResponseBody::Enumerate {
                context: Some(token.as_str()),
                items: None,
                end: false,
            };
            return self.render(h, action, total, &body, charset);
        }
        let (budget, spare) = Self::item_budget(h, action, total, false, charset)?;
        let lim = BatchLimits {
            max_items: self.batch_size(e.max_elements),
            budget,
            spare,
            max_characters: None,
        };
        #[cfg(feature = "stream")]
        let hold = self.limits.stream_from;
        #[cfg(feature = "stream")]
        let planned = match plan(provider, (&spec, &eplan), e.mode, &mut cursor, lim, hold) {
            Ok(p) => p,
            // Nothing ready yet: an empty first batch and a context to Pull from later.
            Err(f) if f.kind == FaultKind::TimedOut => Planned {
                first: crate::enumeration::Batch {
                    items: String::new(),
                    count: 0,
                    end: false,
                },
                rest: None,
            },
            Err(f) => return Err(f),
        };
        #[cfg(feature = "stream")]
        let streamed = planned
            .rest
            .map(|rest| (rest, (spec.clone(), eplan.clone()), e.mode, lim));
        #[cfg(feature = "stream")]
        let batch = planned.first;
        #[cfg(not(feature = "stream"))]
        let batch =
            match crate::enumeration::fill(provider, (&spec, &eplan), e.mode, &mut cursor, lim) {
                Ok(b) => b,
                // Nothing ready yet: an empty first batch and a context to Pull from later.
                Err(f) if f.kind == FaultKind::TimedOut => crate::enumeration::Batch {
                    items: String::new(),
                    count: 0,
                    end: false,
                },
                Err(f) => return Err(f),
            };
        let token = if batch.end {
            None
        } else {
            let token = self.tokens.next_uuid();
            self.contexts.insert(
                Context {
                    token,
                    user: String::from(user),
                    spec,
                    plan: eplan,
                    mode: e.mode,
                    cursor,
                    last_used_ms: meta.now_ms,
                },
                meta.now_ms,
            )?;
            Some(token)
        };
        let body = ResponseBody::Enumerate {
            context: token.as_ref().map(|t| t.as_str()),
            items: Some(""),
            end: batch.end,
        };
        #[cfg(feature = "stream")]
        if let Some(s) = streamed {
            let out = (charset, pending);
            return self.render_streamed(h, action, total, body, batch.items, s, out);
        }
        #[cfg(not(feature = "stream"))]
        let _ = pending;
        self.render_batch(h, action, total, body, batch.items, charset)
    }

    fn pull<P: Provider>(
        &mut self,
        provider: &P,
        ev: Ev<'_>,
        meta: &RequestMeta<'_>,
        h: &envelope::Header<'_>,
        p: &envelope::PullBody<'_>,
        (charset, pending): (Charset, Pending<'_>),
    ) -> Result<String, Fault> {
        let user = meta.user.unwrap_or("");
        let action = response_action(h);
        let action = action.as_str();
        #[cfg(feature = "eventing")]
        if let Some(events) = ev {
            // A pull subscription's context stays the same for its life: the response names
            // it again, and never ends the sequence (Unsubscribe or expiry does).
            let (budget, _) = Self::item_budget(h, action, None, true, charset)?;
            let pull = crate::events::EventPull {
                context: p.context,
                user,
                now_ms: meta.now_ms,
                max_elements: self.batch_size(Some(p.max_elements.unwrap_or(1))),
                budget,
            };
            let mut items = XmlWriter::new();
            if let Some(r) = events.pull(&pull, &mut items) {
                r?;
                let body = ResponseBody::Pull {
                    context: Some(p.context),
                    items: items.as_str(),
                    end: false,
                };
                return self.render(h, action, None, &body, charset);
            }
        }
        #[cfg(not(feature = "eventing"))]
        let _ = ev;
        let mut ctx = self.contexts.take(p.context, user, meta.now_ms)?;
        if let Err(f) = same_resource(h, &ctx) {
            self.contexts.put_back(ctx, meta.now_ms);
            return Err(f);
        }
        let total = h
            .request_total_items
            .then(|| provider.count_planned(&ctx.spec, &ctx.plan));
        let (budget, spare) = match Self::item_budget(h, action, total, true, charset) {
            Ok(b) => b,
            Err(f) => {
                self.contexts.put_back(ctx, meta.now_ms);
                return Err(f);
            }
        };
        let lim = BatchLimits {
            max_items: self.batch_size(Some(p.max_elements.unwrap_or(1))),
            budget,
            spare,
            max_characters: p.max_characters,
        };
        let mut cursor = ctx.cursor;
        #[cfg(feature = "stream")]
        let hold = self.limits.stream_from;
        #[cfg(feature = "stream")]
        let planned = match plan(
            provider,
            (&ctx.spec, &ctx.plan),
            ctx.mode,
            &mut cursor,
            lim,
            hold,
        ) {
            Ok(p) => p,
            Err(f) => {
                // The client may retry (e.g. with a larger MaxEnvelopeSize); keep its place.
                self.contexts.put_back(ctx, meta.now_ms);
                return Err(f);
            }
        };
        #[cfg(feature = "stream")]
        let streamed = planned
            .rest
            .map(|rest| (rest, (ctx.spec.clone(), ctx.plan.clone()), ctx.mode, lim));
        #[cfg(feature = "stream")]
        let batch = planned.first;
        #[cfg(not(feature = "stream"))]
        let batch = match crate::enumeration::fill(
            provider,
            (&ctx.spec, &ctx.plan),
            ctx.mode,
            &mut cursor,
            lim,
        ) {
            Ok(b) => b,
            Err(f) => {
                // The client may retry (e.g. with a larger MaxEnvelopeSize); keep its place.
                self.contexts.put_back(ctx, meta.now_ms);
                return Err(f);
            }
        };
        let token = ctx.token;
        let context = if batch.end {
            None
        } else {
            ctx.cursor = cursor;
            self.contexts.put_back(ctx, meta.now_ms);
            Some(token)
        };
        let body = ResponseBody::Pull {
            context: context.as_ref().map(|t| t.as_str()),
            items: "",
            end: batch.end,
        };
        #[cfg(feature = "stream")]
        if let Some(s) = streamed {
            let out = (charset, pending);
            return self.render_streamed(h, action, total, body, batch.items, s, out);
        }
        #[cfg(not(feature = "stream"))]
        let _ = pending;
        self.render_batch(h, action, total, body, batch.items, charset)
    }

    fn batch_size(&self, requested: Option<u32>) -> u32 {
        requested
            .unwrap_or(1)
            .min(self.limits.max_batch_items)
            .max(1)
    }
}

/// A Get, Enumerate, Pull or Release with the header strings its dispatch reads copied out of the
/// DOM, so the DOM can be freed before the response is built. Owned parts of the request move
/// over as they are; what dispatch does not read for these operations (To, locales, session,
/// options) is left behind.
struct Detached {
    /// The header's and the operation's strings, back to back; the ranges below index it.
    strings: String,
    action: Option<core::ops::Range<usize>>,
    message_id: Option<core::ops::Range<usize>>,
    resource_uri: Option<core::ops::Range<usize>>,
    selectors: Vec<crate::provider::Selector>,
    namespace: Option<String>,
    max_envelope_size: usize,
    operation_timeout_ms: u64,
    request_total_items: bool,
    op: DetachedOp,
}

enum DetachedOp {
    Get,
    Enumerate(envelope::EnumerateBody),
    Pull {
        context: core::ops::Range<usize>,
        max_elements: Option<u32>,
        max_characters: Option<u64>,
        max_time_ms: Option<u64>,
    },
    Release(core::ops::Range<usize>),
}

impl Detached {
    /// Whether a request of this operation is detached from its DOM before dispatch; the
    /// others keep it (their bodies are DOM nodes: Put, Create, Invoke, eventing).
    fn applies(op: &Operation<'_, '_>) -> bool {
        matches!(
            op,
            Operation::Get | Operation::Enumerate(_) | Operation::Pull(_) | Operation::Release(_)
        )
    }

    /// The parts of a Get, Enumerate, Pull or Release ([`Self::applies`]) that dispatch reads.
    fn of(req: Request<'_, '_>) -> Self {
        let Request { header: h, op } = req;
        let mut strings = String::new();
        let mut keep = |s: Option<&str>| {
            s.map(|s| {
                let start = strings.len();
                strings.push_str(s);
                start..strings.len()
            })
        };
        let action = keep(h.action);
        let message_id = keep(h.message_id);
        let resource_uri = keep(h.resource_uri);
        let op = match op {
            Operation::Get => DetachedOp::Get,
            Operation::Enumerate(e) => DetachedOp::Enumerate(e),
            Operation::Pull(p) => DetachedOp::Pull {
                context: keep(Some(p.context)).unwrap_or_default(),
                max_elements: p.max_elements,
                max_characters: p.max_characters,
                max_time_ms: p.max_time_ms,
            },
            Operation::Release(token) => DetachedOp::Release(keep(Some(token)).unwrap_or_default()),
            _ => DetachedOp::Release(0..0),
        };
        Self {
            strings,
            action,
            message_id,
            resource_uri,
            selectors: h.selectors,
            namespace: h.namespace,
            max_envelope_size: h.max_envelope_size,
            operation_timeout_ms: h.operation_timeout_ms,
            request_total_items: h.request_total_items,
            op,
        }
    }

    /// The request again, borrowing the strings and taking the owned parts back (once). Options
    /// were checked before detaching.
    fn view(&mut self) -> Request<'_, '_> {
        let op = core::mem::replace(&mut self.op, DetachedOp::Release(0..0));
        let s = |r: &Option<core::ops::Range<usize>>| {
            r.as_ref().and_then(|r| self.strings.get(r.clone()))
        };
        let header = envelope::Header {
            to: None,
            action: s(&self.action),
            message_id: s(&self.message_id),
            resource_uri: s(&self.resource_uri),
            selectors: core::mem::take(&mut self.selectors),
            namespace: self.namespace.take(),
            options: Vec::new(),
            max_envelope_size: self.max_envelope_size,
            operation_timeout_ms: self.operation_timeout_ms,
            locale: None,
            data_locale: None,
            session_id: None,
            request_total_items: self.request_total_items,
        };
        let op = match op {
            DetachedOp::Get => Operation::Get,
            DetachedOp::Enumerate(e) => Operation::Enumerate(e),
            DetachedOp::Pull {
                context,
                max_elements,
                max_characters,
                max_time_ms,
            } => Operation::Pull(envelope::PullBody {
                context: self.strings.get(context).unwrap_or(""),
                max_elements,
                max_characters,
                max_time_ms,
            }),
            DetachedOp::Release(token) => Operation::Release(self.strings.get(token).unwrap_or("")),
        };
        Request { header, op }
    }
}

/// A Pull or Release names the resource it continues; one naming another resource than the
/// Enumerate did is refused, and the context survives the mistake. Clients that leave the
/// ResourceURI out of Pull are accepted, and the comparison ignores case like resource lookup.
fn same_resource(h: &envelope::Header<'_>, ctx: &Context) -> Result<(), Fault> {
    match h.resource_uri {
        Some(uri) if !uri.eq_ignore_ascii_case(&ctx.spec.resource_uri) => Err(Fault::new(
            FaultKind::InvalidEnumerationContext,
        )
        .message(crate::text::cat(&[
            "The enumeration context belongs to '",
            &ctx.spec.resource_uri,
            "', not to '",
            uri,
            "'.",
        ]))),
        _ => Ok(()),
    }
}

/// Where the last `needle` starts in `haystack`. A plain scan instead of `str::rfind`: the
/// standard library's substring search (the Two-Way searcher) is ~1.4 KiB of the bare-metal
/// image's flash, and this is its only user besides two checks in the XML parser, for an 11-byte
/// needle searched once per response. `needle` starts with an ASCII byte (a closing tag), so a
/// match starts on a char boundary.
fn rfind_ascii(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?)
        .rev()
        .find(|&i| h.get(i..i + n.len()) == Some(n))
}

/// What follows the last `/` of a resource URI (all of it without one): its class. By
/// [`rfind_ascii`], not `rsplit_once('/')`, whose reverse char searcher was ~300 B of the
/// bare-metal image for this one split.
#[cfg(feature = "authorize")]
fn last_segment(uri: &str) -> &str {
    rfind_ascii(uri, "/")
        .and_then(|i| uri.get(i + 1..))
        .unwrap_or(uri)
}

/// The closing tag of an Enumerate or Pull response's items element: the items are spliced in
/// where it stands in the rendered frame.
fn items_close(body: &ResponseBody<'_>) -> &'static str {
    match body {
        ResponseBody::Pull { .. } => "</n:Items>",
        _ => "</w:Items>",
    }
}

fn too_big() -> Fault {
    Fault::with_detail(
        FaultKind::EncodingLimit,
        FaultDetail::MaxEnvelopeSizeExceeded,
    )
    .message("The response does not fit in the requested MaxEnvelopeSize.")
}

/// ActionNotSupported for the request's action.
fn not_supported(h: &envelope::Header<'_>) -> Fault {
    Fault::new(FaultKind::ActionNotSupported).message(crate::text::cat(&[
        "The action '",
        h.action.unwrap_or(""),
        "' is not supported.",
    ]))
}

/// A response's wsa:Action: the request's with `Response` appended (DSP0226 and WS-Transfer /
/// WS-Enumeration name every response action so). The request's action is one of the exact
/// action URIs `envelope::parse` matched, so this renders the same text as a table of response
/// URIs would, without a second copy of each long URI in flash.
fn response_action(h: &envelope::Header<'_>) -> String {
    let mut action = String::from(h.action.unwrap_or(""));
    action.push_str("Response");
    action
}

#[cfg(feature = "authorize")]
/// What [`wsbmc_accounts::authorize`] decides on: the action, the class (the resource URI's
/// last segment; `None` when there is no URI, as for Pull and Release, whose context was
/// authorized when it was made and is bound to its user) and an Invoke's method.
fn operation_of<'r>(req: &'r Request<'_, '_>) -> AuthOperation<'r> {
    let class = req.header.resource_uri.map(last_segment);
    let action = match &req.op {
        Operation::Identify => Action::Identify,
        Operation::Get => Action::Get,
        Operation::Put(_) => Action::Put,
        Operation::Create(_) => Action::Create,
        Operation::Delete => Action::Delete,
        Operation::Enumerate(_) => Action::Enumerate,
        Operation::Pull(_) => Action::Pull,
        Operation::Release(_) => Action::Release,
        Operation::Renew => Action::Renew,
        Operation::GetStatus => Action::GetStatus,
        Operation::Invoke { method, .. } => {
            return AuthOperation {
                action: Action::Invoke,
                class,
                method: Some(method),
            };
        }
        #[cfg(feature = "eventing")]
        Operation::Event { op, .. } => match op {
            crate::events::EventOp::Subscribe => Action::Subscribe,
            crate::events::EventOp::Renew => Action::Renew,
            crate::events::EventOp::GetStatus => Action::GetStatus,
            crate::events::EventOp::Unsubscribe => Action::Unsubscribe,
        },
        // Answered with ActionNotSupported whatever the role: nothing is done.
        Operation::Unknown => Action::Get,
    };
    AuthOperation::new(action, class)
}

#[cfg(test)]
mod tests {
    use super::rfind_ascii;

    #[cfg(feature = "authorize")]
    #[test]
    fn last_segment_is_what_rsplit_once_leaves() {
        for uri in [
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_NumericSensor",
            "http://x/",
            "/",
            "CIM_Account",
            "",
            "a//b",
            "é/ü/ß",
        ] {
            let want = uri.rsplit_once('/').map_or(uri, |(_, last)| last);
            assert_eq!(super::last_segment(uri), want, "{uri:?}");
        }
    }

    #[test]
    fn rfind_ascii_finds_the_last_match_like_str_rfind() {
        for (h, n) in [
            ("<w:Items></w:Items></w:Items>x", "</w:Items>"),
            ("</w:Items>", "</w:Items>"),
            ("é</n:Items>ü", "</n:Items>"),
            ("<w:Items>", "</w:Items>"),
            ("", "</w:Items>"),
            ("ab", "abc"),
        ] {
            assert_eq!(rfind_ascii(h, n), h.rfind(n), "{h:?} {n:?}");
        }
    }
}
