//! Request bytes → typed [`Request`].
//!
//! Everything a client may vary without changing meaning is absorbed here: prefixes (or a default
//! namespace, as Intel's tooling sends), header order, integer MessageIDs, relative or bogus
//! `wsa:To`, pywinrm's unqualified `mustUnderstand`, MI option noise. What comes out is only what
//! the dispatcher needs to decide, with every limit and header rule already applied, so a
//! `Request` that exists is one the service can act on.

use alloc::borrow::Cow;
use alloc::boxed::Box;
#[cfg(any(test, feature = "verbose-faults"))]
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use roxmltree::{Document, Node, ParsingOptions};

use crate::duration;
use crate::fault::{Fault, FaultDetail, FaultKind};
use crate::ns;
use crate::provider::{
    AssociationFilter, Epr, Filter, MAX_EPR_NESTING, Property, PropertyValue, Representation,
    Selector, SelectorValue,
};
use crate::service::Limits;
use crate::text::{Dec, cat};

/// The charset of the request, which is also the charset of the reply (wsman.md §1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Utf16,
}

/// What the Content-Type header says about the body's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetHint {
    /// No charset parameter (or no Content-Type at all): UTF-8 unless a BOM says otherwise.
    Unspecified,
    Utf8,
    Utf16Le,
    Utf16Be,
    /// A charset this service does not decode.
    Other,
}

/// The charset parameter of a Content-Type header (`None`: no header). The media type is not
/// looked at: the HTTP layer decides whether the body is SOAP at all (`wsbmc_http`'s
/// `soap_media_type`) and refuses it before it gets here.
pub fn charset(content_type: Option<&str>) -> CharsetHint {
    let Some(value) = content_type else {
        return CharsetHint::Unspecified;
    };
    let mut hint = CharsetHint::Unspecified;
    // The parameters after the media type, as `split(';').skip(1)` yields them, each cut at its
    // first '=' as `split_once('=')` cuts it; by byte, since both separators are ASCII: those
    // two and `FaultDetail::name`'s split were the bare-metal image's users of core's char
    // searcher and `Split`.
    let mut rest = crate::text::cut(value, b';').map(|(_, after)| after);
    while let Some(params) = rest {
        let param = match crate::text::cut(params, b';') {
            Some((param, after)) => {
                rest = Some(after);
                param
            }
            None => {
                rest = None;
                params
            }
        };
        let Some((name, val)) = crate::text::cut(param, b'=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            continue;
        }
        // Unquoted by hand: `trim_matches('"')` brought a two-ended char searcher (~100 B).
        let mut val = val.trim();
        while let Some(v) = val.strip_prefix('"') {
            val = v;
        }
        while let Some(v) = val.strip_suffix('"') {
            val = v;
        }
        let val = val.trim();
        hint = if val.eq_ignore_ascii_case("utf-8") || val.eq_ignore_ascii_case("utf8") {
            CharsetHint::Utf8
        } else if val.eq_ignore_ascii_case("utf-16") || val.eq_ignore_ascii_case("utf-16le") {
            CharsetHint::Utf16Le
        } else if val.eq_ignore_ascii_case("utf-16be") {
            CharsetHint::Utf16Be
        } else {
            CharsetHint::Other
        };
    }
    hint
}

/// Decodes the body to text. A BOM wins over the header, because WEF clients send one and a
/// mislabelled body is more likely than a lying BOM.
pub fn decode(body: &[u8], hint: CharsetHint) -> Result<(Cow<'_, str>, Charset), Fault> {
    let (text, charset) = decode_bytes(body, hint)?;
    declaration_agrees(&text, charset)?;
    Ok((text, charset))
}

/// The text must start the document itself and say nothing else about its encoding: a second
/// BOM (the first was the byte-order mark) is a U+FEFF before the prolog, which XML does not
/// allow, and an XML declaration naming an encoding the bytes are not in is in error (XML 1.0
/// §4.3.3). Either means the sender and this parser disagree about what the bytes say.
fn declaration_agrees(text: &str, charset: Charset) -> Result<(), Fault> {
    if text.starts_with('\u{FEFF}') {
        return Err(not_soap("The request has a second byte-order mark."));
    }
    #[cfg(feature = "encoding-declaration")]
    declared_encoding(text, charset)?;
    #[cfg(not(feature = "encoding-declaration"))]
    let _ = charset;
    Ok(())
}

/// The XML declaration's encoding, if any, must name the charset the bytes were decoded as.
#[cfg(feature = "encoding-declaration")]
fn declared_encoding(text: &str, charset: Charset) -> Result<(), Fault> {
    let Some(decl) = text.as_bytes().strip_prefix(b"<?xml") else {
        return Ok(());
    };
    let end = decl
        .windows(2)
        .position(|w| w == b"?>")
        .unwrap_or(decl.len());
    let decl = &decl[..end];
    let Some(at) = decl.windows(8).position(|w| w == b"encoding") else {
        return Ok(());
    };
    // `encoding S? = S? ("name" | 'name')`; anything malformed is roxmltree's to refuse.
    let mut value = decl[at + 8..].trim_ascii_start();
    value = value.strip_prefix(b"=").unwrap_or(value).trim_ascii_start();
    let Some((&quote, value)) = value.split_first() else {
        return Ok(());
    };
    let name = value.split(|&b| b == quote).next().unwrap_or(value);
    // One loop over a list per charset rather than a comparison per name: the bare-metal image
    // counts the bytes. US-ASCII names UTF-8 text only when the text is ASCII.
    let names: [&[u8]; 3] = match charset {
        Charset::Utf8 => [b"utf-8", b"utf8", b"us-ascii"],
        Charset::Utf16 => [b"utf-16", b"utf-16le", b"utf-16be"],
    };
    let ok = names.iter().any(|n| name.eq_ignore_ascii_case(n))
        && (!name.eq_ignore_ascii_case(b"us-ascii") || text.is_ascii());
    if ok {
        Ok(())
    } else {
        Err(
            Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::CharacterSet)
                .message("The XML declaration names an encoding the request is not in."),
        )
    }
}

fn decode_bytes(body: &[u8], hint: CharsetHint) -> Result<(Cow<'_, str>, Charset), Fault> {
    // Which decoder, then one call of it: `None` is UTF-8, `Some(big_endian)` UTF-16.
    let (bytes, utf16_be) = if let Some(rest) = body.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (rest, None)
    } else if let Some(rest) = body.strip_prefix(&[0xFF, 0xFE]) {
        (rest, Some(false))
    } else if let Some(rest) = body.strip_prefix(&[0xFE, 0xFF]) {
        (rest, Some(true))
    } else {
        // Without a BOM, the first character tells the byte order (XML 1.0 Appendix F): every
        // envelope starts with '<' or whitespace, an ASCII character with one zero byte in
        // UTF-16.
        let sniffed_be = match body {
            [0, b, ..] if b.is_ascii() && *b != 0 => Some(true),
            [b, 0, ..] if b.is_ascii() && *b != 0 => Some(false),
            _ => None,
        };
        let utf16_be = match hint {
            // A UTF-16 body mislabelled (or unlabelled) as UTF-8 can never be valid UTF-8 XML,
            // so decoding it as UTF-16 only turns a certain fault into a working request.
            CharsetHint::Unspecified => sniffed_be,
            CharsetHint::Utf8 => None,
            // `charset=UTF-16` names no byte order; RFC 2781 says big-endian, Windows means
            // little-endian, so the content decides and little-endian is the tie-break.
            CharsetHint::Utf16Le => Some(sniffed_be.unwrap_or(false)),
            CharsetHint::Utf16Be => Some(true),
            CharsetHint::Other => {
                return Err(Fault::with_detail(
                    FaultKind::EncodingLimit,
                    FaultDetail::CharacterSet,
                )
                .message("Only UTF-8 and UTF-16 are supported."));
            }
        };
        (body, utf16_be)
    };
    match utf16_be {
        None => utf8(bytes).map(|t| (Cow::Borrowed(t), Charset::Utf8)),
        Some(be) => utf16(bytes, be).map(|t| (Cow::Owned(t), Charset::Utf16)),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, Fault> {
    core::str::from_utf8(bytes).map_err(|_| {
        Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::CharacterSet)
            .message("The request is not valid UTF-8.")
    })
}

fn utf16(bytes: &[u8], big_endian: bool) -> Result<String, Fault> {
    let bad = || {
        Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::CharacterSet)
            .message("The request is not valid UTF-16.")
    };
    if !bytes.len().is_multiple_of(2) {
        return Err(bad());
    }
    let units = bytes.chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    // Measured first and allocated once at the exact size: reserving the worst case (3 bytes
    // per unit) would hold 1.5× the body for the ASCII envelopes clients actually send.
    let mut len = 0usize;
    for c in char::decode_utf16(units.clone()) {
        len = len.saturating_add(c.map_err(|_| bad())?.len_utf8());
    }
    let mut out = String::with_capacity(len);
    out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
    Ok(out)
}

/// The fault for XML that is not a SOAP 1.2 message (a second BOM, the Envelope's children,
/// s:mustUnderstand), saying what is wrong.
#[cfg(feature = "verbose-faults")]
fn not_soap(what: &'static str) -> Fault {
    Fault::new(FaultKind::SchemaValidationError).message(what)
}

/// The same fault with one text for all of them: a small image's flash holds one string, not
/// one per rule.
#[cfg(not(feature = "verbose-faults"))]
fn not_soap(_what: &'static str) -> Fault {
    Fault::new(FaultKind::SchemaValidationError)
        .message("The request is not a valid SOAP 1.2 message.")
}

/// The fault text for a request that is not XML, in roxmltree's own words: what it expected and
/// where, which is what a client author needs to fix the request.
#[cfg(feature = "verbose-faults")]
fn not_well_formed(e: &roxmltree::Error) -> String {
    format!("The request is not well-formed XML: {e}")
}

/// The fault text for a request that is not XML, with only where the parser stopped: roxmltree's
/// `Display` text for its errors costs ~3.5 KiB of flash, more than a small image can spare.
#[cfg(not(feature = "verbose-faults"))]
fn not_well_formed(e: &roxmltree::Error) -> String {
    let at = e.pos();
    cat(&[
        "The request is not well-formed XML (line ",
        Dec::new(at.row).as_str(),
        ", column ",
        Dec::new(at.col).as_str(),
        ").",
    ])
}

/// Parses text into a DOM within the node and depth limits.
///
/// The attribute and namespace limits are checked on the raw text first: roxmltree sizes its
/// attribute table from the count of `=` before it parses, so that count, not what the
/// document turns out to hold, decides how much it asks the allocator for.
pub fn parse_document<'i>(text: &'i str, limits: &Limits) -> Result<Document<'i>, Fault> {
    let too_many = |what: &str| {
        Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::ServiceEnvelopeLimit)
            .message(cat(&["The request has too many XML ", what, "."]))
    };
    let (equals, declarations) = count_markup(text.as_bytes());
    if equals > limits.max_xml_attributes as usize {
        return Err(too_many("attributes"));
    }
    if declarations > limits.max_xml_namespaces as usize {
        return Err(too_many("namespace declarations"));
    }
    // The vendored roxmltree refuses every DTD (SOAP 1.2 Part 1 §5 forbids one in a message).
    let opts = ParsingOptions {
        nodes_limit: limits.max_xml_nodes,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, opts).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => {
            Fault::with_detail(FaultKind::EncodingLimit, FaultDetail::ServiceEnvelopeLimit)
                .message("The request has too many XML nodes.")
        }
        // SOAP 1.2 Part 1 §5: a message has no processing instructions, and a receiver should
        // answer one with a Sender fault. The vendored roxmltree refuses them while parsing.
        roxmltree::Error::ProcessingInstruction(_) => {
            not_soap("A SOAP message has no processing instructions.")
        }
        e => Fault::new(FaultKind::SchemaValidationError).message(not_well_formed(&e)),
    })?;
    // roxmltree keeps nodes in document order, so a parent's depth is known before its children.
    let mut depth: Vec<u32> = vec![0; doc.descendants().count()];
    for node in doc.descendants() {
        let d = match node.parent() {
            Some(p) => depth.get(p.id().get_usize()).copied().unwrap_or(0) + 1,
            None => 0,
        };
        if d > limits.max_xml_depth {
            return Err(Fault::with_detail(
                FaultKind::EncodingLimit,
                FaultDetail::ServiceEnvelopeLimit,
            )
            .message("The request nests XML elements too deeply."));
        }
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = d;
        }
    }
    Ok(doc)
}

/// How many `=` (an upper bound on attributes) and `xmlns` (every namespace declaration is one;
/// the name cannot overlap itself) `text` holds, in one pass of one compare per byte. Counting
/// with a byte filter and then a 5-byte window at every offset was ~12% of an Identify's
/// instructions on the host. memchr2 would halve what is left, for +196 B of the bare-metal
/// image's flash; not worth it there.
fn count_markup(text: &[u8]) -> (usize, usize) {
    let (mut equals, mut xmlns) = (0, 0);
    for (at, &b) in text.iter().enumerate() {
        if b == b'=' {
            equals += 1;
        } else if b == b'x'
            && text
                .get(at..)
                .is_some_and(|rest| rest.starts_with(b"xmlns"))
        {
            xmlns += 1;
        }
    }
    (equals, xmlns)
}

/// A header qualified name, for `s:NotUnderstood`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QName<'a> {
    pub namespace: Option<&'a str>,
    pub local: &'a str,
}

/// Why a request was refused before dispatch, with what the fault envelope needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<'a> {
    pub fault: Fault,
    /// The request's MessageID when it could be read, for `wsa:RelatesTo`.
    pub relates_to: Option<&'a str>,
    /// Headers behind an `s:MustUnderstand` fault.
    pub not_understood: Vec<QName<'a>>,
}

/// One `wsman:Option`. The service ignores options a provider does not claim
/// ([`crate::Provider::supports_option`]) unless the option says `MustComply="true"`. A
/// mustUnderstand on the OptionSet itself is not taken as insisting on every option in it:
/// pypsrp marks every OptionSet so, for shell options (`WINRS_*`) a BMC has no use for, and
/// refusing those would break a client for nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOption<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// `MustComply="true"` on the option.
    pub must_comply: bool,
}

/// The SOAP header, with limits already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub to: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Exactly as sent (not trimmed), because it is echoed in `wsa:RelatesTo`.
    pub message_id: Option<&'a str>,
    pub resource_uri: Option<&'a str>,
    /// Selectors without `__cimnamespace`.
    pub selectors: Vec<Selector>,
    pub namespace: Option<String>,
    pub options: Vec<RequestOption<'a>>,
    /// Effective response size cap in bytes (default, or the client's value clamped).
    pub max_envelope_size: usize,
    /// Effective timeout (the client's value clamped, or the service maximum).
    pub operation_timeout_ms: u64,
    pub locale: Option<&'a str>,
    pub data_locale: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub request_total_items: bool,
}

/// `wsman:EnumerationMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumMode {
    Objects,
    Epr,
    ObjectAndEpr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumerateBody {
    pub optimize: bool,
    pub max_elements: Option<u32>,
    pub mode: EnumMode,
    pub filter: Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullBody<'a> {
    pub context: &'a str,
    pub max_elements: Option<u32>,
    pub max_characters: Option<u64>,
    pub max_time_ms: Option<u64>,
}

/// What the request asks for.
#[derive(Debug, Clone)]
pub enum Operation<'a, 'i> {
    Identify,
    Get,
    /// The new representation, if the body had one.
    Put(Option<Node<'a, 'i>>),
    /// The new resource's representation, if the body had one.
    Create(Option<Node<'a, 'i>>),
    Delete,
    Enumerate(EnumerateBody),
    Pull(PullBody<'a>),
    Release(&'a str),
    Renew,
    GetStatus,
    /// `<ResourceURI>/<method>` with its `<method>_INPUT` element.
    Invoke {
        method: &'a str,
        input: Node<'a, 'i>,
    },
    /// A WS-Eventing request, for the platform's [`crate::events::EventSource`].
    #[cfg(feature = "eventing")]
    Event {
        op: crate::events::EventOp,
        /// The `s:Header` element, for `wse:Identifier` and delivery credentials.
        header: Option<Node<'a, 'i>>,
        /// The first element of the `s:Body`.
        body: Option<Node<'a, 'i>>,
    },
    /// An action this service does not know.
    Unknown,
}

#[derive(Debug, Clone)]
pub struct Request<'a, 'i> {
    pub header: Header<'a>,
    pub op: Operation<'a, 'i>,
}

type Parsed<'a, T> = Result<T, Rejection<'a>>;

fn element_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(Node::is_element)
}

fn is(node: Node<'_, '_>, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && node.tag_name().namespace() == Some(ns)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, local: &str) -> Option<Node<'a, 'i>> {
    find(node, Some(ns), local)
}

/// The first child element called `local`, in any namespace.
fn local_child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    find(node, None, local)
}

/// The first child element called `local`, in namespace `ns` or, when that is `None`, in any.
/// One search for [`child`] and [`local_child`], so that the two readings of an EPR can be one
/// function ([`epr_at`]).
fn find<'a, 'i>(node: Node<'a, 'i>, ns: Option<&str>, local: &str) -> Option<Node<'a, 'i>> {
    element_children(node)
        .find(|c| c.tag_name().name() == local && (ns.is_none() || c.tag_name().namespace() == ns))
}

fn text<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

fn is_true(v: &str) -> bool {
    matches!(v.trim(), "true" | "1")
}

/// Only the SOAP-namespaced attribute counts: pywinrm's bare `mustUnderstand` is not one.
fn must_understand(node: Node<'_, '_>) -> bool {
    node.attribute((ns::SOAP, "mustUnderstand"))
        .is_some_and(is_true)
}

fn is_anonymous(addr: &str) -> bool {
    addr == ns::ANONYMOUS || addr == ns::ANONYMOUS_W3C
}

/// A header this service processes: any other marked mustUnderstand is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hdr {
    To,
    Action,
    MessageId,
    ReplyTo,
    FaultTo,
    From,
    RelatesTo,
    ResourceUri,
    SelectorSet,
    OptionSet,
    MaxEnvelopeSize,
    OperationTimeout,
    Locale,
    FragmentTransfer,
    RequestTotalItems,
    DataLocale,
    SessionId,
    OperationId,
    SequenceId,
    ActivityId,
    MachineId,
}

/// The namespaces of [`HEADERS`], by the index a row holds.
const HEADER_NS: [&str; 4] = [ns::WSA, ns::WSMAN, ns::WSMV, ns::MACHINEID];

/// Every header this service understands: namespace (index into [`HEADER_NS`]), local name,
/// what it is, and whether it may appear only once. One table instead of three hand-written
/// chains of string matches (understood, once-only, what to do), which the bare-metal image
/// held as three copies of the names' comparisons.
///
/// Once only: a second copy would leave the meaning of the message up to which one a server
/// happens to read, so it is refused as an invalid message information header (WS-Addressing
/// treats a duplicated addressing header the same way). Headers a request may legitimately
/// repeat (wsa:RelatesTo), or that are ignored anyway, are not once-only.
const HEADERS: [(u8, &str, Hdr, bool); 21] = [
    (0, "To", Hdr::To, true),
    (0, "Action", Hdr::Action, true),
    (0, "MessageID", Hdr::MessageId, true),
    (0, "ReplyTo", Hdr::ReplyTo, true),
    (0, "FaultTo", Hdr::FaultTo, true),
    (0, "From", Hdr::From, true),
    (0, "RelatesTo", Hdr::RelatesTo, false),
    (1, "ResourceURI", Hdr::ResourceUri, true),
    (1, "SelectorSet", Hdr::SelectorSet, true),
    (1, "OptionSet", Hdr::OptionSet, true),
    (1, "MaxEnvelopeSize", Hdr::MaxEnvelopeSize, true),
    (1, "OperationTimeout", Hdr::OperationTimeout, true),
    (1, "Locale", Hdr::Locale, true),
    (1, "FragmentTransfer", Hdr::FragmentTransfer, true),
    (
        1,
        "RequestTotalItemsCountEstimate",
        Hdr::RequestTotalItems,
        true,
    ),
    (2, "DataLocale", Hdr::DataLocale, true),
    (2, "SessionId", Hdr::SessionId, true),
    (2, "OperationID", Hdr::OperationId, false),
    (2, "SequenceId", Hdr::SequenceId, false),
    (2, "ActivityId", Hdr::ActivityId, false),
    (3, "MachineID", Hdr::MachineId, false),
];

/// The row of [`HEADERS`] for a header element: `(what, row index, once only)`; `None` for a
/// header this service does not understand.
fn header_kind(node: Node<'_, '_>) -> Option<(Hdr, usize, bool)> {
    let name = node.tag_name();
    let nsi = HEADER_NS
        .iter()
        .position(|n| Some(*n) == name.namespace())?;
    HEADERS
        .iter()
        .enumerate()
        .find_map(|(i, &(n, local, hdr, once))| {
            (usize::from(n) == nsi && local == name.name()).then_some((hdr, i, once))
        })
}

fn understood(node: Node<'_, '_>) -> bool {
    header_kind(node).is_some()
}

/// Parses a document into a request. `doc` must come from [`parse_document`], which bounds its
/// depth; the recursive EPR parsing below relies on that.
pub fn parse<'a, 'i>(doc: &'a Document<'i>, limits: &Limits) -> Parsed<'a, Request<'a, 'i>> {
    let root = doc.root_element();
    let root_ns = root.tag_name().namespace();
    if root_ns != Some(ns::SOAP) || root.tag_name().name() != "Envelope" {
        // A SOAP 1.1 client still uses 2004/08 addressing; answer its MessageID if it has one.
        let relates_to = element_children(root)
            .find(|c| c.tag_name().name() == "Header")
            .and_then(|h| child(h, ns::WSA, "MessageID"))
            .and_then(|m| m.text())
            .filter(|t| !t.trim().is_empty());
        let reject = |fault: Fault| Rejection {
            fault,
            relates_to,
            not_understood: Vec::new(),
        };
        return Err(reject(if root.tag_name().name() == "Envelope" {
            Fault::new(FaultKind::VersionMismatch)
        } else {
            Fault::new(FaultKind::SchemaValidationError)
                .message("The root element is not a SOAP Envelope.")
        }));
    }
    let header_el = child(root, ns::SOAP, "Header");
    let body_el = child(root, ns::SOAP, "Body");

    let message_id = header_el
        .and_then(|h| child(h, ns::WSA, "MessageID"))
        .and_then(|m| m.text())
        .filter(|t| !t.trim().is_empty());
    let reject = |fault: Fault| Rejection {
        fault,
        relates_to: message_id,
        not_understood: Vec::new(),
    };

    // SOAP 1.2 Part 1 §5.1: an optional Header, then the Body, then nothing. A second Body or
    // Header, or a Header after the Body, leaves which one counts to the reader, so it is
    // refused rather than guessed (0: nothing yet, 1: Header seen, 2: Body seen).
    let mut seen = 0u8;
    for c in element_children(root) {
        let step = match (c.tag_name().namespace(), c.tag_name().name()) {
            (Some(ns::SOAP), "Header") => 1,
            (Some(ns::SOAP), "Body") => 2,
            _ => 3,
        };
        if step <= seen || step == 3 {
            return Err(reject(not_soap(
                "A SOAP Envelope holds one optional Header, then one Body, and nothing else.",
            )));
        }
        seen = step;
    }

    if let Some(h) = header_el {
        // The eventing headers are understood on the eventing actions only: there the event
        // source reads them (the subscription a Renew, GetStatus or Unsubscribe is for, and the
        // delivery credentials openwsman's Subscribe carries, marked mustUnderstand).
        #[cfg(feature = "eventing")]
        let eventing = child(h, ns::WSA, "Action")
            .map(text)
            .and_then(event_op)
            .is_some();
        // One pass reads each header's s:mustUnderstand once, for both rules: the value is an
        // xs:boolean (SOAP 1.2 Part 1 §5.2.3), so any other is not a SOAP message and neither
        // reading of it is safe to act on (that fault wins wherever it is); a true one on a
        // header this service does not process is refused. A loop rather than
        // `filter().map().collect()`, whose specialised collect was 580 B of the bare-metal
        // image for this one list.
        let mut not_understood: Vec<QName<'a>> = Vec::new();
        for c in element_children(h) {
            let Some(value) = c.attribute((ns::SOAP, "mustUnderstand")) else {
                continue;
            };
            let value = value.trim();
            if !matches!(value, "true" | "false" | "1" | "0") {
                return Err(reject(not_soap(
                    "s:mustUnderstand must be true, false, 1 or 0.",
                )));
            }
            if !is_true(value) || understood(c) {
                continue;
            }
            let q = QName {
                namespace: c.tag_name().namespace(),
                local: c.tag_name().name(),
            };
            #[cfg(feature = "eventing")]
            if eventing && event_header(&q) {
                continue;
            }
            not_understood.push(q);
        }
        if !not_understood.is_empty() {
            return Err(Rejection {
                fault: Fault::new(FaultKind::MustUnderstand),
                relates_to: message_id,
                not_understood,
            });
        }
    }
    let Some(body_el) = body_el else {
        return Err(reject(
            Fault::new(FaultKind::SchemaValidationError).message("The envelope has no SOAP Body."),
        ));
    };

    let header = parse_header(header_el, message_id, limits).map_err(reject)?;
    let payload = element_children(body_el).next();
    let op = operation(&header, header_el, payload, limits).map_err(reject)?;
    Ok(Request { header, op })
}

/// What the request asks for: an Identify by its body alone, anything else by its `wsa:Action`,
/// which it must then have, with a `wsa:MessageID`. Apart from [`parse`] so that the `Header`
/// is moved into the `Request` at one place.
fn operation<'a, 'i>(
    header: &Header<'a>,
    header_el: Option<Node<'a, 'i>>,
    payload: Option<Node<'a, 'i>>,
    limits: &Limits,
) -> Result<Operation<'a, 'i>, Fault> {
    if let Some(p) = payload {
        let name = p.tag_name();
        if name.name() == "Identify"
            && matches!(name.namespace(), Some(ns::WSMID) | Some(ns::WSMID_TYPO))
        {
            return Ok(Operation::Identify);
        }
    }
    let Some(action) = header.action else {
        return Err(Fault::new(FaultKind::MessageInformationHeaderRequired)
            .message("The request has no wsa:Action header."));
    };
    if header.message_id.is_none() {
        return Err(Fault::new(FaultKind::MessageInformationHeaderRequired)
            .message("The request has no wsa:MessageID header."));
    }
    #[cfg(feature = "eventing")]
    if let Some(op) = event_op(action) {
        return Ok(Operation::Event {
            op,
            header: header_el,
            body: payload,
        });
    }
    #[cfg(not(feature = "eventing"))]
    let _ = header_el;
    parse_operation(action, header.resource_uri, payload, limits)
}

/// Headers the event source reads, on an eventing action.
#[cfg(feature = "eventing")]
fn event_header(q: &QName<'_>) -> bool {
    match q.namespace {
        Some(ns::WSE) => q.local == "Identifier",
        Some(ns::WST) => q.local == "IssuedTokens",
        _ => false,
    }
}

/// The WS-Eventing request an action names, if it names one.
#[cfg(feature = "eventing")]
fn event_op(action: &str) -> Option<crate::events::EventOp> {
    use crate::events::EventOp;
    match action.strip_prefix(ns::WSE)? {
        "/Subscribe" => Some(EventOp::Subscribe),
        "/Renew" => Some(EventOp::Renew),
        "/GetStatus" => Some(EventOp::GetStatus),
        "/Unsubscribe" => Some(EventOp::Unsubscribe),
        _ => None,
    }
}

fn missing_element(name: &str) -> Fault {
    Fault::new(FaultKind::SchemaValidationError).message(cat(&[
        "The request is missing the element titled '",
        name,
        "'.",
    ]))
}

fn parse_operation<'a, 'i>(
    action: &'a str,
    resource_uri: Option<&'a str>,
    payload: Option<Node<'a, 'i>>,
    limits: &Limits,
) -> Result<Operation<'a, 'i>, Fault> {
    // The action URIs are the WS-Transfer and WS-Enumeration namespaces plus a verb (ns::action):
    // matched as namespace and verb so that flash holds each namespace once, not every URI whole.
    let transfer = action.strip_prefix(ns::WXF);
    let enumeration = action.strip_prefix(ns::WSEN);
    Ok(match (transfer, enumeration) {
        (Some("/Get"), _) => Operation::Get,
        (Some("/Put"), _) => Operation::Put(payload),
        (Some("/Create"), _) => Operation::Create(payload),
        (Some("/Delete"), _) => Operation::Delete,
        (_, Some("/Enumerate")) => {
            let e = wsen_body(payload, "Enumerate")?;
            Operation::Enumerate(parse_enumerate(e, limits)?)
        }
        (_, Some("/Pull")) => {
            let p = wsen_body(payload, "Pull")?;
            Operation::Pull(parse_pull(p)?)
        }
        (_, Some("/Release")) => {
            let r = wsen_body(payload, "Release")?;
            let ctx = child(r, ns::WSEN, "EnumerationContext")
                .ok_or_else(|| missing_element("EnumerationContext"))?;
            Operation::Release(text(ctx))
        }
        (_, Some("/Renew")) => Operation::Renew,
        (_, Some("/GetStatus")) => Operation::GetStatus,
        _ => match resource_uri.and_then(|uri| method_of(action, uri)) {
            Some(method) => {
                let input = payload
                    .filter(|p| {
                        let n = p.tag_name().name();
                        n.len() == method.len() + 6
                            && n.get(..method.len())
                                .is_some_and(|m| m.eq_ignore_ascii_case(method))
                            && n.get(method.len()..)
                                .is_some_and(|s| s.eq_ignore_ascii_case("_INPUT"))
                    })
                    .ok_or_else(|| missing_element(&cat(&[method, "_INPUT"])))?;
                Operation::Invoke { method, input }
            }
            None => Operation::Unknown,
        },
    })
}

/// The `wsen:<local>` body an enumeration action must carry. Out of line: its fault is built at
/// one place for the three actions.
#[inline(never)]
fn wsen_body<'a, 'i>(payload: Option<Node<'a, 'i>>, local: &str) -> Result<Node<'a, 'i>, Fault> {
    payload
        .filter(|p| is(*p, ns::WSEN, local))
        .ok_or_else(|| missing_element(local))
}

/// `<ResourceURI>/<Method>` → `Method`. Windows preserves the URI's case but matches it
/// case-insensitively, so this does too.
fn method_of<'a>(action: &'a str, resource_uri: &str) -> Option<&'a str> {
    let prefix = action.get(..resource_uri.len())?;
    if !prefix.eq_ignore_ascii_case(resource_uri) {
        return None;
    }
    let method = action.get(resource_uri.len()..)?.strip_prefix('/')?;
    if method.is_empty() || method.bytes().any(|b| matches!(b, b'/' | b'?' | b'#')) {
        return None;
    }
    Some(method)
}

fn parse_header<'a>(
    header: Option<Node<'a, '_>>,
    message_id: Option<&'a str>,
    limits: &Limits,
) -> Result<Header<'a>, Fault> {
    let mut h = Header {
        to: None,
        action: None,
        message_id,
        resource_uri: None,
        selectors: Vec::new(),
        namespace: None,
        options: Vec::new(),
        max_envelope_size: limits.default_envelope_size.min(limits.max_envelope_size),
        operation_timeout_ms: limits.max_operation_timeout_ms,
        locale: None,
        data_locale: None,
        session_id: None,
        request_total_items: false,
    };
    if let Some(header) = header {
        read_headers(&mut h, header, limits)?;
    }
    Ok(h)
}

/// The understood headers of `header` into `h`: filled in place, so that the large `Header`
/// is moved once, by [`parse_header`]'s one return.
fn read_headers<'a>(
    h: &mut Header<'a>,
    header: Node<'a, '_>,
    limits: &Limits,
) -> Result<(), Fault> {
    // The once-only headers seen so far, one bit per row of HEADERS.
    let mut seen = 0u32;
    for el in element_children(header) {
        let Some((hdr, row, once)) = header_kind(el) else {
            continue;
        };
        let name = el.tag_name().name();
        if once {
            if seen & (1 << row) != 0 {
                return Err(Fault::new(FaultKind::InvalidMessageInformationHeader)
                    .message(cat(&["The header '", name, "' appears more than once."])));
            }
            seen |= 1 << row;
        }
        match hdr {
            Hdr::To => h.to = Some(text(el)),
            Hdr::Action => h.action = Some(text(el)).filter(|t| !t.is_empty()),
            Hdr::ReplyTo | Hdr::FaultTo => {
                let addr = child(el, ns::WSA, "Address").map(text).ok_or_else(|| {
                    Fault::new(FaultKind::InvalidMessageInformationHeader).message(cat(&[
                        "wsa:",
                        name,
                        " has no wsa:Address.",
                    ]))
                })?;
                if !is_anonymous(addr) {
                    return Err(Fault::with_detail(
                        FaultKind::UnsupportedFeature,
                        FaultDetail::AddressingMode,
                    )
                    .message(cat(&[
                        "wsa:",
                        name,
                        " must be the anonymous address.",
                    ])));
                }
            }
            Hdr::ResourceUri => h.resource_uri = Some(text(el)).filter(|t| !t.is_empty()),
            Hdr::SelectorSet => {
                let mut sels = parse_selector_set(el)?;
                if let Some(i) = sels
                    .iter()
                    .position(|s| s.name.eq_ignore_ascii_case("__cimnamespace"))
                {
                    let sel = sels.remove(i);
                    match sel.value {
                        SelectorValue::Text(t) => h.namespace = Some(t),
                        SelectorValue::Epr(_) => {
                            return Err(Fault::with_detail(
                                FaultKind::InvalidSelectors,
                                FaultDetail::TypeMismatch,
                            )
                            .message("__cimnamespace must be text."));
                        }
                    }
                }
                h.selectors = sels;
            }
            Hdr::OptionSet => {
                for opt in element_children(el).filter(|o| is(*o, ns::WSMAN, "Option")) {
                    if h.options.len() >= MAX_OPTIONS {
                        return Err(Fault::with_detail(
                            FaultKind::EncodingLimit,
                            FaultDetail::OptionLimit,
                        )
                        .message("The request carries too many options."));
                    }
                    h.options.push(RequestOption {
                        name: opt.attribute("Name").unwrap_or(""),
                        value: text(opt),
                        must_comply: opt.attribute("MustComply").is_some_and(is_true),
                    });
                }
            }
            Hdr::MaxEnvelopeSize => {
                let v = crate::text::parse_u64(text(el)).ok_or_else(|| {
                    Fault::new(FaultKind::InvalidMessageInformationHeader)
                        .message("wsman:MaxEnvelopeSize is not a number.")
                })?;
                if v < limits.min_envelope_size as u64 {
                    return Err(Fault::with_detail(
                        FaultKind::EncodingLimit,
                        FaultDetail::MinimumEnvelopeLimit,
                    )
                    .message(cat(&[
                        "MaxEnvelopeSize must be at least ",
                        Dec::usize(limits.min_envelope_size).as_str(),
                        ".",
                    ])));
                }
                h.max_envelope_size = usize::try_from(v)
                    .unwrap_or(usize::MAX)
                    .min(limits.max_envelope_size);
            }
            Hdr::OperationTimeout => {
                let d = duration::parse(text(el)).ok_or_else(|| {
                    Fault::with_detail(
                        FaultKind::InvalidMessageInformationHeader,
                        FaultDetail::OperationTimeout,
                    )
                    .message("wsman:OperationTimeout is not an xs:duration.")
                })?;
                if d.negative || d.ms == 0 {
                    return Err(Fault::new(FaultKind::TimedOut));
                }
                h.operation_timeout_ms = d.ms.min(limits.max_operation_timeout_ms);
            }
            Hdr::Locale | Hdr::DataLocale => {
                let (slot, detail) = match hdr {
                    Hdr::Locale => (&mut h.locale, FaultDetail::Locale),
                    _ => (&mut h.data_locale, FaultDetail::DataLocale),
                };
                *slot = el.attribute((ns::XML, "lang"));
                check_locale(el, *slot, detail)?;
            }
            Hdr::SessionId => h.session_id = Some(text(el)),
            Hdr::FragmentTransfer => {
                return Err(Fault::with_detail(
                    FaultKind::UnsupportedFeature,
                    FaultDetail::FragmentLevelAccess,
                ));
            }
            Hdr::RequestTotalItems => h.request_total_items = true,
            _ => {}
        }
    }
    Ok(())
}

/// Options kept per request. PowerShell sends about six; the XML node limit bounds the parse, this
/// bounds what is kept and checked per option.
const MAX_OPTIONS: usize = 64;

/// Replies are English only; a client that insists (mustUnderstand) on another language is told so.
fn check_locale(el: Node<'_, '_>, lang: Option<&str>, detail: FaultDetail) -> Result<(), Fault> {
    let english = lang.is_none_or(|l| {
        l.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("en"))
            && matches!(l.as_bytes().get(2), None | Some(b'-'))
    });
    if must_understand(el) && !english {
        return Err(Fault::with_detail(FaultKind::UnsupportedFeature, detail)
            .message("Only English (en-US) is supported."));
    }
    Ok(())
}

/// `wsman:SelectorSet` → selectors, refusing duplicate names (matched case-insensitively,
/// because key names are).
pub fn parse_selector_set(set: Node<'_, '_>) -> Result<Vec<Selector>, Fault> {
    selector_set(set, 0, true)
}

/// A selector set inside `nesting` enclosing EPRs, read `strict`ly or not as [`epr_at`] says.
/// An EPR-valued selector recurses, so the nesting is bounded by [`MAX_EPR_NESTING`] rather
/// than only by the XML depth: a frame pair costs ~330 B of stack on thumbv7m, and no
/// association key needs more than a level or two.
fn selector_set(set: Node<'_, '_>, nesting: usize, strict: bool) -> Result<Vec<Selector>, Fault> {
    let mut out: Vec<Selector> = Vec::new();
    for sel in element_children(set) {
        if strict && !is(sel, ns::WSMAN, "Selector") {
            continue;
        }
        let name = sel.attribute("Name").ok_or_else(|| {
            Fault::new(FaultKind::InvalidSelectors).message("A selector has no Name attribute.")
        })?;
        if strict && out.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            return Err(Fault::with_detail(
                FaultKind::InvalidSelectors,
                FaultDetail::DuplicateSelectors,
            )
            .message(cat(&["The selector '", name, "' appears more than once."])));
        }
        let value = match find(sel, strict.then_some(ns::WSA), "EndpointReference") {
            Some(epr) => SelectorValue::Epr(Box::new(epr_at(epr, nesting + 1, strict)?)),
            None => SelectorValue::Text(text(sel).to_string()),
        };
        out.push(Selector {
            name: name.to_string(),
            value,
        });
    }
    Ok(out)
}

/// EPR content (`wsa:Address` + `wsa:ReferenceParameters`) inside `node`.
pub fn parse_epr(node: Node<'_, '_>) -> Result<Epr, Fault> {
    epr_at(node, 0, true)
}

/// The fault text for EPRs nested past [`MAX_EPR_NESTING`], written out (a test checks the
/// number) rather than built from the constant on each refusal.
const TOO_DEEP_EPR: &str = "Endpoint references nest deeper than 2 levels.";

/// An EPR that is the value of a selector `nesting` levels down (0: not inside a selector).
/// `strict` is how a request's own EPRs are read (headers, filters): `wsa:` and `wsman:` names
/// only, `wsa:ReferenceProperties` as well as `wsa:ReferenceParameters`, duplicate selectors
/// refused. Otherwise it is [`epr_value`]'s reading: names in any namespace, every element of
/// a selector set a selector, duplicates kept, an `EndpointReference` wrapper looked through at
/// each level, and any fault only means "not an EPR".
fn epr_at(node: Node<'_, '_>, nesting: usize, strict: bool) -> Result<Epr, Fault> {
    if nesting > MAX_EPR_NESTING {
        return Err(
            Fault::with_detail(FaultKind::InvalidSelectors, FaultDetail::InvalidValue)
                .message(TOO_DEEP_EPR),
        );
    }
    let qualified = |name: &'static str| strict.then_some(name);
    let node = match strict {
        true => node,
        false => local_child(node, "EndpointReference").unwrap_or(node),
    };
    let params = find(node, qualified(ns::WSA), "ReferenceParameters")
        .or_else(|| strict.then(|| child(node, ns::WSA, "ReferenceProperties"))?)
        .ok_or_else(|| {
            Fault::with_detail(FaultKind::InvalidSelectors, FaultDetail::InvalidValue)
                .message("An endpoint reference has no wsa:ReferenceParameters.")
        })?;
    let resource_uri = find(params, qualified(ns::WSMAN), "ResourceURI")
        .map(text)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Fault::with_detail(FaultKind::InvalidSelectors, FaultDetail::InvalidValue)
                .message("An endpoint reference has no wsman:ResourceURI.")
        })?;
    let selectors = match find(params, qualified(ns::WSMAN), "SelectorSet") {
        Some(set) => selector_set(set, nesting, strict)?,
        None => Vec::new(),
    };
    Ok(Epr {
        resource_uri: resource_uri.to_string(),
        selectors,
    })
}

/// The instance element of a Put or Create body, typed for the provider.
pub fn parse_representation(node: Node<'_, '_>) -> Representation {
    Representation {
        class: node.tag_name().name().to_string(),
        namespace: node.tag_name().namespace().map(String::from),
        properties: parse_properties(node),
    }
}

/// The property elements of a Put or Create body, or the parameters of a `<Method>_INPUT`, in
/// document order. Never fails: what a value means (and whether a name is known) is the
/// provider's to decide, so its faults stay its own. Bounded like the DOM it reads (the
/// envelope's size and node limits).
pub fn parse_properties(node: Node<'_, '_>) -> Vec<Property> {
    // A loop, not `map().collect()`: see `parse`'s not-understood list.
    let mut out = Vec::new();
    for c in element_children(node) {
        out.push(Property {
            name: c.tag_name().name().to_string(),
            value: property_value(c),
        });
    }
    out
}

/// An element holding text is a text value; one holding elements is an EPR when it reads as one
/// ([`epr_value`]), else (with `embedded-instances`) an embedded instance when its child holds
/// elements, else a wrapped value (its first element's text: `cim:Datetime`, ...).
fn property_value(node: Node<'_, '_>) -> PropertyValue {
    #[cfg(feature = "embedded-instances")]
    if let Some(instance) = embedded_instance(node) {
        return instance;
    }
    plain_value(node)
}

/// [`property_value`] without embedded instances: what the properties of an embedded instance
/// are read with, so nesting stops at one level.
fn plain_value(node: Node<'_, '_>) -> PropertyValue {
    if node.attribute((ns::XSI, "nil")) == Some("true") {
        return PropertyValue::Nil;
    }
    let Some(first) = element_children(node).next() else {
        return PropertyValue::Text(text(node).to_string());
    };
    match epr_value(node) {
        Some(epr) => PropertyValue::Epr(epr),
        None => PropertyValue::Wrapped(text(first).to_string()),
    }
}

/// An embedded instance (DSP0227 §7): the element's child is an instance element whose own
/// children are its properties; an EPR is not one.
#[cfg(feature = "embedded-instances")]
fn embedded_instance(node: Node<'_, '_>) -> Option<PropertyValue> {
    if node.attribute((ns::XSI, "nil")) == Some("true") {
        return None;
    }
    let first = element_children(node).next()?;
    element_children(first).next()?;
    // EPR content, even broken or nested too deep, stays what it was: not an instance.
    let epr_part =
        ["EndpointReference", "Address", "ReferenceParameters"].contains(&first.tag_name().name());
    if epr_part || epr_value(node).is_some() {
        return None;
    }
    // A loop, not `map().collect()`: see `parse`'s not-understood list.
    let mut properties = Vec::new();
    for c in element_children(first) {
        properties.push(Property {
            name: c.tag_name().name().to_string(),
            value: plain_value(c),
        });
    }
    Some(PropertyValue::Instance(Box::new(Representation {
        class: first.tag_name().name().to_string(),
        namespace: first.tag_name().namespace().map(String::from),
        properties,
    })))
}

/// EPR content as a property value, with or without an `EndpointReference` wrapper. Read by
/// local names, more leniently than the headers' EPRs ([`parse_epr`]): clients put Address and
/// ReferenceParameters in whatever namespace their serializer chose (AMT tooling sends them
/// unqualified). Deeper than [`MAX_EPR_NESTING`] is not an EPR (the recursion must not be the
/// client's to choose), nor is anything [`epr_at`] would refuse.
fn epr_value(node: Node<'_, '_>) -> Option<Epr> {
    epr_at(node, 0, false).ok()
}

fn positive_u32(node: Node<'_, '_>, what: &str) -> Result<u32, Fault> {
    match crate::text::parse_u64(text(node)) {
        Some(0) | None => Err(Fault::new(FaultKind::SchemaValidationError)
            .message(cat(&[what, " must be a positive integer."]))),
        Some(v) => Ok(u32::try_from(v).unwrap_or(u32::MAX)),
    }
}

fn parse_enumerate(e: Node<'_, '_>, limits: &Limits) -> Result<EnumerateBody, Fault> {
    let mut body = EnumerateBody {
        optimize: false,
        max_elements: None,
        mode: EnumMode::Objects,
        filter: Filter::None,
    };
    let filters = element_children(e)
        .filter(|c| {
            c.tag_name().name() == "Filter"
                && matches!(c.tag_name().namespace(), Some(ns::WSMAN) | Some(ns::WSEN))
        })
        .count();
    if filters > 1 {
        return Err(Fault::new(FaultKind::EnumCannotProcessFilter)
            .message("The request carries more than one filter."));
    }
    for c in element_children(e) {
        match (c.tag_name().namespace(), c.tag_name().name()) {
            (Some(ns::WSMAN), "OptimizeEnumeration") => body.optimize = true,
            (Some(ns::WSMAN), "MaxElements") => {
                body.max_elements = Some(positive_u32(c, "wsman:MaxElements")?)
            }
            (Some(ns::WSMAN), "EnumerationMode") => {
                body.mode = match text(c) {
                    "EnumerateEPR" => EnumMode::Epr,
                    "EnumerateObjectAndEPR" => EnumMode::ObjectAndEpr,
                    other => {
                        return Err(Fault::with_detail(
                            FaultKind::UnsupportedFeature,
                            FaultDetail::EnumerationMode,
                        )
                        .message(cat(&[
                            "The enumeration mode '",
                            other,
                            "' is not supported.",
                        ])));
                    }
                }
            }
            (Some(ns::WSMAN) | Some(ns::WSEN), "Filter") => body.filter = parse_filter(c, limits)?,
            (Some(ns::WSEN), "EndTo") => {
                return Err(Fault::with_detail(
                    FaultKind::UnsupportedFeature,
                    FaultDetail::AddressingMode,
                )
                .message("wsen:EndTo is not supported."));
            }
            // wsen:Expires, wsmb:PolymorphismMode and extensions are ignored, as Windows does.
            _ => {}
        }
    }
    Ok(body)
}

fn parse_filter(f: Node<'_, '_>, limits: &Limits) -> Result<Filter, Fault> {
    let cannot = |what: &'static str| Fault::new(FaultKind::CannotProcessFilter).message(what);
    // No Dialect means XPath (DSP0226), which is not offered.
    let dialect = f.attribute("Dialect").map(str::trim).unwrap_or("");
    if dialect.eq_ignore_ascii_case(ns::dialect::SELECTOR) {
        let set = child(f, ns::WSMAN, "SelectorSet")
            .ok_or_else(|| cannot("A selector filter needs a wsman:SelectorSet."))?;
        Ok(Filter::Selector(parse_selector_set(set)?))
    } else if dialect.eq_ignore_ascii_case(ns::dialect::WQL) {
        let q = text(f);
        if q.is_empty() {
            return Err(cannot("The WQL filter is empty."));
        }
        let max_len = limits.max_filter_len.min(crate::wql::MAX_QUERY_LEN);
        if q.len() > max_len {
            return Err(Fault::new(FaultKind::CannotProcessFilter).message(cat(&[
                "The WQL query is longer than ",
                Dec::usize(max_len).as_str(),
                " bytes.",
            ])));
        }
        // Syntax and nesting are checked here, against the service's limit, so every provider
        // gets only queries that parse within it; the text still travels as is, and the
        // provider parses it again (no deeper than here) to match classes and properties.
        crate::wql::parse_nested(q, limits.max_filter_depth)?;
        Ok(Filter::Wql(q.to_string()))
    } else if dialect.eq_ignore_ascii_case(ns::dialect::ASSOCIATION) {
        parse_association(f).map(Filter::Association)
    } else {
        Err(
            Fault::new(FaultKind::FilterDialectRequestedUnavailable).message(cat(&[
                "The filter dialect '",
                dialect,
                "' is not supported.",
            ])),
        )
    }
}

fn parse_association(f: Node<'_, '_>) -> Result<AssociationFilter, Fault> {
    let cannot = |what: &'static str| Fault::new(FaultKind::CannotProcessFilter).message(what);
    let (q, instances_of_association) = match child(f, ns::WSMB, "AssociatedInstances") {
        Some(q) => (q, false),
        None => (
            child(f, ns::WSMB, "AssociationInstances").ok_or_else(|| {
                cannot("An association filter needs AssociatedInstances or AssociationInstances.")
            })?,
            true,
        ),
    };
    let object = child(q, ns::WSMB, "Object")
        .ok_or_else(|| cannot("An association filter needs an Object."))?;
    let object = parse_epr(object).map_err(|e| Fault {
        kind: FaultKind::CannotProcessFilter,
        ..e
    })?;
    let opt = |local: &str| {
        child(q, ns::WSMB, local)
            .map(text)
            .filter(|t| !t.is_empty())
            .map(ToString::to_string)
    };
    let mut include_result_property = Vec::new();
    for c in element_children(q) {
        if is(c, ns::WSMB, "IncludeResultProperty") {
            include_result_property.push(text(c).to_string());
        }
    }
    Ok(AssociationFilter {
        instances_of_association,
        object,
        association_class: opt("AssociationClassName"),
        result_class: opt("ResultClassName"),
        role: opt("Role"),
        result_role: opt("ResultRole"),
        include_result_property,
    })
}

fn parse_pull<'a>(p: Node<'a, '_>) -> Result<PullBody<'a>, Fault> {
    let ctx = child(p, ns::WSEN, "EnumerationContext")
        .ok_or_else(|| missing_element("EnumerationContext"))?;
    let mut body = PullBody {
        context: text(ctx),
        max_elements: None,
        max_characters: None,
        max_time_ms: None,
    };
    if let Some(m) = child(p, ns::WSEN, "MaxElements") {
        body.max_elements = Some(positive_u32(m, "wsen:MaxElements")?);
    }
    if let Some(m) = child(p, ns::WSEN, "MaxCharacters") {
        body.max_characters = Some(u64::from(positive_u32(m, "wsen:MaxCharacters")?));
    }
    if let Some(m) = child(p, ns::WSEN, "MaxTime") {
        let d = duration::parse(text(m)).ok_or_else(|| {
            Fault::new(FaultKind::SchemaValidationError)
                .message("wsen:MaxTime is not an xs:duration.")
        })?;
        // Nothing can be gathered in no time; openwsman treats OperationTimeout the same way.
        if d.negative || d.ms == 0 {
            return Err(Fault::new(FaultKind::TimedOut)
                .message("wsen:MaxTime leaves no time to gather items."));
        }
        body.max_time_ms = Some(d.ms);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn markup_is_counted_as_byte_and_window_scans_count_it() {
        let scans = |t: &[u8]| {
            let equals = t.iter().filter(|&&b| b == b'=').count();
            (equals, t.windows(5).filter(|w| w == b"xmlns").count())
        };
        for text in [
            &b""[..],
            b"xmln",
            b"xmlns",
            b"xxmlns",
            b"xmlnxmlns",
            b"xmlnsxmlns:a xmlns",
            b"<a xmlns='u' b:xmlns='v'>x</a>xmln",
            b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxmlns",
            b"=x=xmlns==",
        ] {
            assert_eq!(
                count_markup(text),
                scans(text),
                "{:?}",
                core::str::from_utf8(text)
            );
        }
        assert_eq!(count_markup(HEAD.as_bytes()), (4, 4));
    }

    const HEAD: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><s:Header>"#;

    fn env(headers: &str, body: &str) -> String {
        format!("{HEAD}{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>")
    }

    fn get_headers(extra: &str) -> String {
        format!(
            "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action><a:MessageID>uuid:1</a:MessageID><w:ResourceURI>http://x/C</w:ResourceURI>{extra}"
        )
    }

    fn parse_str(xml: &str) -> Result<(), Fault> {
        let doc = parse_document(xml, &limits())?;
        parse(&doc, &limits()).map(|_| ()).map_err(|r| r.fault)
    }

    /// The properties of the first element of `xml`, as a provider receives them.
    fn properties_of(xml: &str) -> Representation {
        let doc = roxmltree::Document::parse(xml).expect("xml");
        parse_representation(doc.root_element())
    }

    fn value_of(inner: &str) -> PropertyValue {
        let xml = format!(
            r#"<p:C xmlns:p="http://x/C" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">{inner}</p:C>"#
        );
        let mut r = properties_of(&xml);
        assert_eq!(r.properties.len(), 1, "{inner}");
        r.properties.remove(0).value
    }

    const REF: &str = "<a:ReferenceParameters><w:ResourceURI>http://x/S</w:ResourceURI><w:SelectorSet><w:Selector Name=\"N\"> s </w:Selector></w:SelectorSet></a:ReferenceParameters>";

    fn ref_epr() -> Epr {
        Epr {
            resource_uri: "http://x/S".into(),
            selectors: vec![Selector::text("N", "s")],
        }
    }

    #[test]
    fn a_representation_is_its_class_namespace_and_properties_in_order() {
        let r = properties_of(
            r#"<p:CIM_X xmlns:p="http://x/CIM_X"><p:B> 2 </p:B><p:A>1</p:A><p:A>3</p:A><Q/></p:CIM_X>"#,
        );
        assert_eq!(r.class, "CIM_X");
        assert_eq!(r.namespace.as_deref(), Some("http://x/CIM_X"));
        let got: Vec<(&str, Option<&str>)> = r
            .properties
            .iter()
            .map(|p| (p.name.as_str(), p.value.text()))
            .collect();
        assert_eq!(
            got,
            [
                ("B", Some("2")),
                ("A", Some("1")),
                ("A", Some("3")),
                ("Q", Some(""))
            ]
        );
        assert_eq!(properties_of("<C/>").namespace, None);
    }

    #[test]
    fn property_values_are_typed() {
        assert_eq!(
            value_of(r#"<p:V xsi:nil="true">5</p:V>"#),
            PropertyValue::Nil
        );
        assert_eq!(
            value_of(r#"<p:V xsi:nil="false">5</p:V>"#),
            PropertyValue::Text("5".into())
        );
        assert_eq!(
            value_of("<p:V>\n 5 \n</p:V>"),
            PropertyValue::Text("5".into())
        );
        let dt = value_of("<p:V>\n <cim:Datetime> 2026-01-01T00:00:00Z </cim:Datetime>\n</p:V>");
        assert_eq!(dt, PropertyValue::Wrapped("2026-01-01T00:00:00Z".into()));
        assert_eq!(dt.text(), Some(""));
        assert_eq!(dt.wrapped(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(PropertyValue::Text("x".into()).wrapped(), Some(""));
        assert_eq!(PropertyValue::Nil.text(), None);
    }

    /// CreateAccount's AccountTemplate: the instance element inside the parameter, its
    /// properties read one level deep (an instance inside it is only a wrapped value).
    #[cfg(feature = "embedded-instances")]
    #[test]
    fn embedded_instances_are_one_level_deep() {
        let v = value_of(concat!(
            r#"<p:T><q:CIM_Account xmlns:q="http://x/CIM_Account">"#,
            "<q:UserID> bob </q:UserID><q:UserPassword>pw</q:UserPassword>",
            r#"<q:Deep><q:CIM_X><q:Y>1</q:Y></q:CIM_X></q:Deep><q:N xsi:nil="true"/>"#,
            "</q:CIM_Account></p:T>"
        ));
        let PropertyValue::Instance(r) = v else {
            panic!("{v:?}");
        };
        assert_eq!(r.class, "CIM_Account");
        assert_eq!(r.namespace.as_deref(), Some("http://x/CIM_Account"));
        let names: Vec<&str> = r.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["UserID", "UserPassword", "Deep", "N"]);
        assert_eq!(r.properties[0].value, PropertyValue::Text("bob".into()));
        assert_eq!(r.properties[2].value, PropertyValue::Wrapped(String::new()));
        assert_eq!(r.properties[3].value, PropertyValue::Nil);
        // Still a wrapped value: a datetime's wrapper holds text, not elements.
        let dt = value_of("<p:V><cim:Datetime>2026-01-01T00:00:00Z</cim:Datetime></p:V>");
        assert_eq!(dt, PropertyValue::Wrapped("2026-01-01T00:00:00Z".into()));
        // And an EPR is an EPR.
        let epr = format!("<p:V><a:Address>x</a:Address>{REF}</p:V>");
        assert_eq!(value_of(&epr), PropertyValue::Epr(ref_epr()));
    }

    #[test]
    fn epr_values_are_read_by_local_name_with_or_without_a_wrapper() {
        let wrapped = format!(
            "<p:V><a:EndpointReference><a:Address>x</a:Address>{REF}</a:EndpointReference></p:V>"
        );
        assert_eq!(value_of(&wrapped), PropertyValue::Epr(ref_epr()));
        let bare = format!("<p:V><a:Address>x</a:Address>{REF}</p:V>");
        assert_eq!(value_of(&bare), PropertyValue::Epr(ref_epr()));
        // AMT tooling sends the parts unqualified.
        let unqualified = "<p:V><ReferenceParameters><ResourceURI>http://x/S</ResourceURI><SelectorSet><Selector Name=\"N\">s</Selector></SelectorSet></ReferenceParameters></p:V>";
        assert_eq!(value_of(unqualified), PropertyValue::Epr(ref_epr()));
        // Not EPRs: no ResourceURI, an empty one, a selector without a name. The first element's
        // text is all that is left of them.
        let no_uri = "<p:V><a:ReferenceParameters><w:SelectorSet/></a:ReferenceParameters></p:V>";
        assert_eq!(value_of(no_uri), PropertyValue::Wrapped(String::new()));
        let empty_uri = "<p:V><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI> </w:ResourceURI></a:ReferenceParameters></p:V>";
        assert_eq!(value_of(empty_uri), PropertyValue::Wrapped("x".into()));
        let unnamed = "<p:V><a:ReferenceParameters><w:ResourceURI>http://x/S</w:ResourceURI><w:SelectorSet><w:Selector>s</w:Selector></w:SelectorSet></a:ReferenceParameters></p:V>";
        assert_eq!(value_of(unnamed), PropertyValue::Wrapped(String::new()));
    }

    #[test]
    fn the_written_out_nesting_text_names_the_limit() {
        assert_eq!(
            TOO_DEEP_EPR,
            cat(&[
                "Endpoint references nest deeper than ",
                Dec::usize(MAX_EPR_NESTING).as_str(),
                " levels.",
            ])
        );
    }

    #[test]
    fn epr_values_nest_only_so_deep() {
        // An EPR whose selector is an EPR whose selector ..., `n` levels below the value.
        let nested = |n: usize| {
            let mut inner = String::from(REF);
            for _ in 0..n {
                inner = format!(
                    "<a:ReferenceParameters><w:ResourceURI>http://x/S</w:ResourceURI><w:SelectorSet><w:Selector Name=\"R\"><a:EndpointReference>{inner}</a:EndpointReference></w:Selector></w:SelectorSet></a:ReferenceParameters>"
                );
            }
            format!("<p:V>{inner}</p:V>")
        };
        assert!(matches!(
            value_of(&nested(MAX_EPR_NESTING)),
            PropertyValue::Epr(_)
        ));
        assert!(matches!(
            value_of(&nested(MAX_EPR_NESTING + 1)),
            PropertyValue::Wrapped(_)
        ));
    }

    /// The two EPR readers as they were before they became one function ([`epr_at`] with
    /// `strict` or not), kept as the reference the merged one is checked against.
    mod before_merge {
        use super::super::*;

        pub fn selector_set(set: Node<'_, '_>, nesting: usize) -> Result<Vec<Selector>, Fault> {
            let mut out: Vec<Selector> = Vec::new();
            for sel in element_children(set).filter(|s| is(*s, ns::WSMAN, "Selector")) {
                let name = sel.attribute("Name").ok_or_else(|| {
                    Fault::new(FaultKind::InvalidSelectors)
                        .message("A selector has no Name attribute.")
                })?;
                if out.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
                    return Err(Fault::with_detail(
                        FaultKind::InvalidSelectors,
                        FaultDetail::DuplicateSelectors,
                    )
                    .message(cat(&[
                        "The selector '",
                        name,
                        "' appears more than once.",
                    ])));
                }
                let value = match child(sel, ns::WSA, "EndpointReference") {
                    Some(epr) => SelectorValue::Epr(Box::new(epr_at(epr, nesting + 1)?)),
                    None => SelectorValue::Text(text(sel).to_string()),
                };
                out.push(Selector {
                    name: name.to_string(),
                    value,
                });
            }
            Ok(out)
        }

        pub fn epr_at(node: Node<'_, '_>, nesting: usize) -> Result<Epr, Fault> {
            if nesting > MAX_EPR_NESTING {
                return Err(Fault::with_detail(
                    FaultKind::InvalidSelectors,
                    FaultDetail::InvalidValue,
                )
                .message(cat(&[
                    "Endpoint references nest deeper than ",
                    Dec::usize(MAX_EPR_NESTING).as_str(),
                    " levels.",
                ])));
            }
            let params = child(node, ns::WSA, "ReferenceParameters")
                .or_else(|| child(node, ns::WSA, "ReferenceProperties"))
                .ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidSelectors, FaultDetail::InvalidValue)
                        .message("An endpoint reference has no wsa:ReferenceParameters.")
                })?;
            let resource_uri = child(params, ns::WSMAN, "ResourceURI")
                .map(text)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    Fault::with_detail(FaultKind::InvalidSelectors, FaultDetail::InvalidValue)
                        .message("An endpoint reference has no wsman:ResourceURI.")
                })?;
            let selectors = match child(params, ns::WSMAN, "SelectorSet") {
                Some(set) => selector_set(set, nesting)?,
                None => Vec::new(),
            };
            Ok(Epr {
                resource_uri: resource_uri.to_string(),
                selectors,
            })
        }

        pub fn epr_value(node: Node<'_, '_>, nesting: usize) -> Option<Epr> {
            if nesting > MAX_EPR_NESTING {
                return None;
            }
            let node = local_child(node, "EndpointReference").unwrap_or(node);
            let params = local_child(node, "ReferenceParameters")?;
            let uri = local_child(params, "ResourceURI")?.text()?.trim();
            if uri.is_empty() {
                return None;
            }
            let mut selectors = Vec::new();
            if let Some(set) = local_child(params, "SelectorSet") {
                for s in element_children(set) {
                    let name = s.attribute("Name")?;
                    let value = match local_child(s, "EndpointReference") {
                        Some(inner) => SelectorValue::Epr(Box::new(epr_value(inner, nesting + 1)?)),
                        None => SelectorValue::Text(text(s).to_string()),
                    };
                    selectors.push(Selector {
                        name: name.to_string(),
                        value,
                    });
                }
            }
            Some(Epr {
                resource_uri: uri.to_string(),
                selectors,
            })
        }
    }

    /// A generated EPR-ish element: each part in the right namespace, another, none, or left
    /// out; selectors named, unnamed, duplicated or not `Selector`s; EPR-valued selectors
    /// nested past the limit; wrappers where they do and do not belong.
    fn random_epr(rng: &mut u64, depth: usize) -> String {
        fn next(rng: &mut u64, n: u64) -> u64 {
            *rng ^= *rng << 13;
            *rng ^= *rng >> 7;
            *rng ^= *rng << 17;
            *rng % n
        }
        /// Mostly the right prefix (0: wsa, 1: wsman), else another, none, or the value's own.
        fn prefix(rng: &mut u64, right: usize) -> &'static str {
            const PREFIXES: [&str; 4] = ["a:", "w:", "", "p:"];
            match next(rng, 6) {
                0 => PREFIXES[(right + 1) % 4],
                1 => "",
                2 => "p:",
                _ => PREFIXES[right],
            }
        }
        let mut out = String::new();
        let wrapped = next(rng, 4) == 0;
        if wrapped {
            let p = prefix(rng, 0);
            out += &format!("<{p}EndpointReference>");
        }
        if next(rng, 3) == 0 {
            out += "<a:Address>x</a:Address>";
        }
        let params = match next(rng, 8) {
            0 => "ReferenceProperties",
            1 => "Other",
            _ => "ReferenceParameters",
        };
        let pp = prefix(rng, 0);
        out += &format!("<{pp}{params}>");
        if next(rng, 6) != 0 {
            let p = prefix(rng, 1);
            let uri = ["http://x/S", " ", "", " http://x/T "][next(rng, 4) as usize];
            out += &format!("<{p}ResourceURI>{uri}</{p}ResourceURI>");
        }
        if next(rng, 4) != 0 {
            let p = prefix(rng, 1);
            out += &format!("<{p}SelectorSet>");
            for _ in 0..next(rng, 4) {
                let sp = prefix(rng, 1);
                let local = if next(rng, 8) == 0 {
                    "Other"
                } else {
                    "Selector"
                };
                let name = ["Name=\"N\"", "Name=\"n\"", "Name=\"M\"", ""][next(rng, 4) as usize];
                out += &format!("<{sp}{local} {name}>");
                if depth < 4 && next(rng, 3) == 0 {
                    let ep = prefix(rng, 0);
                    let inner = random_epr(rng, depth + 1);
                    out += &format!("<{ep}EndpointReference>{inner}</{ep}EndpointReference>");
                } else {
                    out += " v ";
                }
                out += &format!("</{sp}{local}>");
            }
            out += &format!("</{p}SelectorSet>");
        }
        out += &format!("</{pp}{params}>");
        if wrapped {
            // Sometimes the wrapper's end tag names another prefix: not well-formed, skipped.
            let p = prefix(rng, 0);
            out += &format!("</{p}EndpointReference>");
        }
        out
    }

    #[test]
    fn the_merged_epr_reader_reads_as_the_two_before_it() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let (mut parsed, mut strict_ok, mut lenient_ok) = (0, 0, 0);
        for _ in 0..40_000 {
            let inner = random_epr(&mut rng, 0);
            let xml = format!(
                r#"<p:V xmlns:p="http://x/C" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">{inner}</p:V>"#
            );
            let Ok(doc) = roxmltree::Document::parse(&xml) else {
                continue;
            };
            parsed += 1;
            let node = doc.root_element();
            let strict = parse_epr(node);
            assert_eq!(strict, before_merge::epr_at(node, 0), "{xml}");
            strict_ok += usize::from(strict.is_ok());
            let lenient = epr_value(node);
            assert_eq!(lenient, before_merge::epr_value(node, 0), "{xml}");
            lenient_ok += usize::from(lenient.is_some());
            for set in node
                .descendants()
                .filter(|n| n.tag_name().name() == "SelectorSet")
            {
                assert_eq!(
                    parse_selector_set(set),
                    before_merge::selector_set(set, 0),
                    "{xml}"
                );
            }
        }
        // The generator reaches both outcomes of both readers.
        assert!(parsed > 20_000, "{parsed}");
        assert!(
            strict_ok > 1_000 && strict_ok < parsed - 1_000,
            "{strict_ok}"
        );
        assert!(
            lenient_ok > 1_000 && lenient_ok < parsed - 1_000,
            "{lenient_ok}"
        );
    }

    fn with_request<R>(xml: &str, f: impl FnOnce(Request<'_, '_>) -> R) -> R {
        let doc = parse_document(xml, &limits()).expect("well-formed");
        let req = parse(&doc, &limits()).expect("valid");
        f(req)
    }

    /// Both settings of `verbose-faults` answer with a SchemaValidationError; only the text
    /// differs (the host's is the parser's own; the image's says where parsing stopped).
    #[test]
    fn malformed_xml_text_follows_the_verbosity_feature() {
        let Err(fault) = parse_document("<a>\n  <b></a>", &limits()) else {
            panic!("mismatched tags parsed");
        };
        assert_eq!(fault.kind, FaultKind::SchemaValidationError);
        let text = fault.message.unwrap_or_default();
        if cfg!(feature = "verbose-faults") {
            assert_eq!(
                text,
                "The request is not well-formed XML: expected 'b' tag, not 'a' at 2:6"
            );
        } else {
            assert_eq!(
                text,
                "The request is not well-formed XML (line 2, column 6)."
            );
        }
        // The names in roxmltree's errors are there exactly when the text shows them (its
        // `error-names` feature follows verbose-faults), and so is its `row:col` position.
        for (xml, name, at) in [
            ("<x:a/>", "'x'", "1:2"),
            ("<a b='1' b='2'/>", "'b'", "1:10"),
            ("<a>&nbsp;</a>", "'nbsp'", "1:4"),
        ] {
            let Err(fault) = parse_document(xml, &limits()) else {
                panic!("{xml} parsed");
            };
            let text = fault.message.unwrap_or_default();
            assert_eq!(
                text.contains(name),
                cfg!(feature = "verbose-faults"),
                "{text}"
            );
            assert_eq!(
                text.contains(at),
                cfg!(feature = "verbose-faults"),
                "{text}"
            );
        }
    }

    #[test]
    fn charsets() {
        let cases = [
            ("application/soap+xml;charset=UTF-8", CharsetHint::Utf8),
            (
                "Application/SOAP+XML; charset=\"utf-16\"; action=x",
                CharsetHint::Utf16Le,
            ),
            (
                "application/soap+xml; action=\"x\";charset=utf-8",
                CharsetHint::Utf8,
            ),
            (
                "application/soap+xml;charset=utf-16be",
                CharsetHint::Utf16Be,
            ),
            ("application/soap+xml", CharsetHint::Unspecified),
            ("application/soap+xml;charset=latin1", CharsetHint::Other),
            // Only the parameters count: the media type is the HTTP layer's to check.
            ("charset=utf-16", CharsetHint::Unspecified),
        ];
        for (value, hint) in cases {
            assert_eq!(charset(Some(value)), hint, "{value}");
        }
        assert_eq!(charset(None), CharsetHint::Unspecified);
    }

    /// The hand-written unquoting takes off what `trim_matches('"')` did: every quote at
    /// either end, with whitespace trimmed outside and inside them.
    #[test]
    fn charset_values_are_unquoted_as_trim_matches_unquotes_them() {
        let hint_of = |val: &str| match val {
            v if v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8") => {
                CharsetHint::Utf8
            }
            v if v.eq_ignore_ascii_case("utf-16") || v.eq_ignore_ascii_case("utf-16le") => {
                CharsetHint::Utf16Le
            }
            v if v.eq_ignore_ascii_case("utf-16be") => CharsetHint::Utf16Be,
            _ => CharsetHint::Other,
        };
        let parts = ["\"", " ", "\u{a0}", "utf-8", "UTF-16BE", "x", "'"];
        let mut tried = 0;
        for a in parts {
            for b in parts {
                for c in parts {
                    for d in parts {
                        let val = format!("{a}{b}{c}{d}");
                        let old = hint_of(val.trim().trim_matches('"').trim());
                        let header = format!("application/soap+xml; charset={val}");
                        assert_eq!(charset(Some(&header)), old, "{val:?}");
                        tried += 1;
                    }
                }
            }
        }
        assert_eq!(tried, 7 * 7 * 7 * 7);
    }

    #[test]
    fn utf16_byte_order_is_sniffed_without_bom() {
        let le: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = "<a/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        for hint in [CharsetHint::Utf16Le, CharsetHint::Unspecified] {
            assert_eq!(
                decode(&le, hint).expect("le"),
                (Cow::Borrowed("<a/>"), Charset::Utf16)
            );
            assert_eq!(
                decode(&be, hint).expect("be"),
                (Cow::Borrowed("<a/>"), Charset::Utf16)
            );
        }
        let mut bom_be = vec![0xFE, 0xFF];
        bom_be.extend_from_slice(&be);
        assert_eq!(decode(&bom_be, CharsetHint::Utf8).expect("bom").0, "<a/>");
        // An explicit UTF-8 label is believed (the XML parser then refuses the NULs).
        assert_eq!(
            decode(&le, CharsetHint::Utf8).expect("nuls").1,
            Charset::Utf8
        );
        // UTF-8 with a BOM.
        assert_eq!(
            decode(b"\xEF\xBB\xBF<a/>", CharsetHint::Unspecified)
                .expect("u8")
                .1,
            Charset::Utf8
        );
    }

    #[test]
    fn decodes_utf16_with_and_without_bom() {
        let mut le = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(
            decode(&le, CharsetHint::Unspecified).expect("ok").0,
            "<a>é</a>"
        );
        let be: Vec<u8> = "<b/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(
            decode(&be, CharsetHint::Utf16Be).expect("ok").1,
            Charset::Utf16
        );
        assert!(decode(&[0xFF, 0xFE, 0x00], CharsetHint::Unspecified).is_err());
        assert!(decode(&[0xC3], CharsetHint::Utf8).is_err());
        assert!(decode(b"<a/>", CharsetHint::Other).is_err());
    }

    #[test]
    fn depth_and_node_limits() {
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        let f = parse_document(&deep, &limits()).expect_err("too deep");
        assert_eq!(f.detail, Some(FaultDetail::ServiceEnvelopeLimit));
        let wide = format!("<a>{}</a>", "<b/>".repeat(5000));
        let f = parse_document(&wide, &limits()).expect_err("too many");
        assert_eq!(f.kind, FaultKind::EncodingLimit);
        let f = parse_document("<a>", &limits()).expect_err("malformed");
        assert_eq!(f.kind, FaultKind::SchemaValidationError);
    }

    #[test]
    fn soap11_is_a_version_mismatch() {
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
        assert_eq!(
            parse_str(xml).expect_err("1.1").kind,
            FaultKind::VersionMismatch
        );
        assert_eq!(
            parse_str("<Foo/>").expect_err("x").kind,
            FaultKind::SchemaValidationError
        );
    }

    /// A selector set whose EPR-valued selector nests `n` EPRs deep.
    fn nested_epr_selectors(n: usize) -> String {
        let open = r#"<w:SelectorSet><w:Selector Name="R"><a:EndpointReference><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://x/D</w:ResourceURI>"#;
        let close = "</a:ReferenceParameters></a:EndpointReference></w:Selector></w:SelectorSet>";
        format!(
            r#"{}<w:SelectorSet><w:Selector Name="I">1</w:Selector></w:SelectorSet>{}"#,
            open.repeat(n),
            close.repeat(n)
        )
    }

    #[test]
    fn epr_selectors_nest_only_so_deep() {
        let at_limit = env(&get_headers(&nested_epr_selectors(MAX_EPR_NESTING)), "");
        assert!(parse_str(&at_limit).is_ok());
        let over = env(&get_headers(&nested_epr_selectors(MAX_EPR_NESTING + 1)), "");
        let f = parse_str(&over).expect_err("too deep");
        assert_eq!(
            (f.kind, f.detail),
            (FaultKind::InvalidSelectors, Some(FaultDetail::InvalidValue))
        );
    }

    #[test]
    fn wql_nesting_is_limited_by_the_service_limits() {
        let enumerate = |query: &str| {
            env(
                "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action><a:MessageID>uuid:1</a:MessageID><w:ResourceURI>http://x/C</w:ResourceURI>",
                &format!(
                    r#"<n:Enumerate><w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">{query}</w:Filter></n:Enumerate>"#
                ),
            )
        };
        let nested = |n: usize| {
            enumerate(&format!(
                "SELECT * FROM C WHERE {}a = 1{}",
                "NOT (".repeat(n),
                ")".repeat(n)
            ))
        };
        let limits = Limits {
            max_filter_depth: 4,
            ..Limits::default()
        };
        let run = |xml: &str| {
            let doc = parse_document(xml, &limits).expect("well-formed");
            parse(&doc, &limits).map(|_| ()).map_err(|r| r.fault.kind)
        };
        assert_eq!(run(&nested(2)), Ok(()), "at the limit");
        assert_eq!(run(&nested(3)), Err(FaultKind::CannotProcessFilter));
    }

    #[test]
    fn selectors_namespace_and_duplicates() {
        let xml = env(
            &get_headers(
                r#"<w:SelectorSet><w:Selector Name="__cimnamespace">root/cimv2</w:Selector><w:Selector Name="K">v</w:Selector><w:Selector Name="R"><a:EndpointReference><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://x/D</w:ResourceURI><w:SelectorSet><w:Selector Name="I">1</w:Selector></w:SelectorSet></a:ReferenceParameters></a:EndpointReference></w:Selector></w:SelectorSet>"#,
            ),
            "",
        );
        with_request(&xml, |r| {
            assert_eq!(r.header.namespace.as_deref(), Some("root/cimv2"));
            assert_eq!(r.header.selectors.len(), 2);
            assert_eq!(r.header.selectors[0], Selector::text("K", "v"));
            match &r.header.selectors[1].value {
                SelectorValue::Epr(e) => {
                    assert_eq!(e.resource_uri, "http://x/D");
                    assert_eq!(e.selectors, vec![Selector::text("I", "1")]);
                }
                SelectorValue::Text(_) => panic!("expected EPR"),
            }
        });
        let dup = env(
            &get_headers(
                r#"<w:SelectorSet><w:Selector Name="K">1</w:Selector><w:Selector Name="k">2</w:Selector></w:SelectorSet>"#,
            ),
            "",
        );
        let f = parse_str(&dup).expect_err("dup");
        assert_eq!(
            (f.kind, f.detail),
            (
                FaultKind::InvalidSelectors,
                Some(FaultDetail::DuplicateSelectors)
            )
        );
    }

    #[test]
    fn header_limits_and_rules() {
        let cases: &[(&str, FaultKind, Option<FaultDetail>)] = &[
            (
                "<w:MaxEnvelopeSize>100</w:MaxEnvelopeSize>",
                FaultKind::EncodingLimit,
                Some(FaultDetail::MinimumEnvelopeLimit),
            ),
            (
                "<w:MaxEnvelopeSize>lots</w:MaxEnvelopeSize>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                "<w:OperationTimeout>soon</w:OperationTimeout>",
                FaultKind::InvalidMessageInformationHeader,
                Some(FaultDetail::OperationTimeout),
            ),
            (
                "<w:OperationTimeout>PT0S</w:OperationTimeout>",
                FaultKind::TimedOut,
                None,
            ),
            (
                "<a:ReplyTo><a:Address>http://evil/</a:Address></a:ReplyTo>",
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::AddressingMode),
            ),
            (
                "<a:FaultTo><a:Address>http://evil/</a:Address></a:FaultTo>",
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::AddressingMode),
            ),
            (
                "<a:ReplyTo/>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                "<a:To>a</a:To><a:To>b</a:To>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                "<w:ResourceURI>http://x/C</w:ResourceURI>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                "<w:OperationTimeout>PT1S</w:OperationTimeout><w:OperationTimeout>PT2S</w:OperationTimeout>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                "<w:SelectorSet/><w:SelectorSet/>",
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                r#"<w:Locale xml:lang="en-US"/><w:Locale xml:lang="en-US"/>"#,
                FaultKind::InvalidMessageInformationHeader,
                None,
            ),
            (
                r#"<w:Locale xml:lang="de-DE" s:mustUnderstand="true"/>"#,
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::Locale),
            ),
            (
                "<w:FragmentTransfer>x</w:FragmentTransfer>",
                FaultKind::UnsupportedFeature,
                Some(FaultDetail::FragmentLevelAccess),
            ),
        ];
        for (extra, kind, detail) in cases {
            let f = parse_str(&env(&get_headers(extra), "")).expect_err(extra);
            assert_eq!((f.kind, f.detail), (*kind, *detail), "{extra}");
        }
        let ok = env(
            &get_headers(
                r#"<w:MaxEnvelopeSize>99999999999</w:MaxEnvelopeSize><w:OperationTimeout>PT9999S</w:OperationTimeout><w:Locale xml:lang="de-DE" s:mustUnderstand="false"/><w:OptionSet s:mustUnderstand="true"><w:Option Name="a">1</w:Option></w:OptionSet>"#,
            ),
            "",
        );
        with_request(&ok, |r| {
            assert_eq!(r.header.max_envelope_size, 512_000);
            assert_eq!(r.header.operation_timeout_ms, 60_000);
            assert_eq!(
                r.header.options,
                vec![RequestOption {
                    name: "a",
                    value: "1",
                    must_comply: false,
                }]
            );
        });
        let opts = env(
            &get_headers(
                r#"<w:OptionSet><w:Option Name="a" MustComply="true">1</w:Option><w:Option Name="b" MustComply="false" xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></w:OptionSet><a:MessageID>uuid:1</a:MessageID>"#,
            ),
            "",
        );
        // The duplicate MessageID is refused, and the first one is still echoed.
        let doc = parse_document(&opts, &limits()).expect("xml");
        let r = parse(&doc, &limits()).expect_err("dup");
        assert_eq!(r.relates_to, Some("uuid:1"));
        let opts = opts.replace(
            "<a:MessageID>uuid:1</a:MessageID></s:Header>",
            "</s:Header>",
        );
        with_request(&opts, |r| {
            let flags: Vec<_> = r
                .header
                .options
                .iter()
                .map(|o| (o.name, o.must_comply))
                .collect();
            assert_eq!(flags, vec![("a", true), ("b", false)]);
        });
        // Headers that may repeat (unknown ones, MS extras) are not refused.
        let extras = r#"<p:OperationID xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">1</p:OperationID><p:OperationID xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">2</p:OperationID><x:Y xmlns:x="urn:y"/><x:Y xmlns:x="urn:y"/>"#;
        assert!(parse_str(&env(&get_headers(extras), "")).is_ok());
    }

    /// The header table holds what the three hand-written lists it replaced held: the headers
    /// understood under mustUnderstand, and which of them may appear only once.
    #[test]
    fn header_table_is_the_understood_and_once_only_lists() {
        let kind = |nsuri: &str, local: &str| {
            let xml = format!(r#"<p:{local} xmlns:p="{nsuri}"/>"#);
            let doc = Document::parse(&xml).expect("xml");
            header_kind(doc.root_element()).map(|(_, _, once)| once)
        };
        let lists: &[(&str, &[&str], &[&str])] = &[
            (
                ns::WSA,
                &["To", "Action", "MessageID", "ReplyTo", "FaultTo", "From"],
                &["RelatesTo"],
            ),
            (
                ns::WSMAN,
                &[
                    "ResourceURI",
                    "SelectorSet",
                    "OptionSet",
                    "MaxEnvelopeSize",
                    "OperationTimeout",
                    "Locale",
                    "FragmentTransfer",
                    "RequestTotalItemsCountEstimate",
                ],
                &[],
            ),
            (
                ns::WSMV,
                &["DataLocale", "SessionId"],
                &["OperationID", "SequenceId", "ActivityId"],
            ),
            (ns::MACHINEID, &[], &["MachineID"]),
        ];
        let mut rows = 0;
        for (nsuri, once, repeatable) in lists {
            for local in *once {
                assert_eq!(kind(nsuri, local), Some(true), "{local}");
                assert_eq!(kind(nsuri, &local.to_lowercase()), None, "{local}");
                assert_eq!(kind("urn:other", local), None, "{local}");
            }
            for local in *repeatable {
                assert_eq!(kind(nsuri, local), Some(false), "{local}");
            }
            rows += once.len() + repeatable.len();
        }
        assert_eq!(rows, HEADERS.len());
        for (nsuri, local) in [
            (ns::WSMAN, "To"),
            (ns::WSA, "ResourceURI"),
            (ns::WSE, "Identifier"),
            (
                "http://schemas.xmlsoap.org/ws/2005/02/trust",
                "IssuedTokens",
            ),
            (ns::SOAP, "Header"),
            (ns::WSA, "Address"),
        ] {
            assert_eq!(kind(nsuri, local), None, "{local}");
        }
        assert!(
            Document::parse("<Action/>").is_ok_and(|d| header_kind(d.root_element()).is_none())
        );
    }

    #[test]
    fn must_understand_only_counts_soap_attribute() {
        let unknown = r#"<x:Foo xmlns:x="urn:x" s:mustUnderstand="1"/><x:Bar xmlns:x="urn:x" mustUnderstand="true"/>"#;
        let xml = env(&get_headers(unknown), "");
        let doc = parse_document(&xml, &limits()).expect("xml");
        let r = parse(&doc, &limits()).expect_err("mU");
        assert_eq!(r.fault.kind, FaultKind::MustUnderstand);
        assert_eq!(r.relates_to, Some("uuid:1"));
        assert_eq!(
            r.not_understood,
            vec![QName {
                namespace: Some("urn:x"),
                local: "Foo"
            }]
        );
        let lenient = r#"<x:Bar xmlns:x="urn:x" mustUnderstand="true"/><x:Baz xmlns:x="urn:x" s:mustUnderstand="false"/>"#;
        assert!(parse_str(&env(&get_headers(lenient), "")).is_ok());
    }

    #[test]
    fn required_headers() {
        let no_action = env("<a:MessageID>1</a:MessageID>", "");
        assert_eq!(
            parse_str(&no_action).expect_err("x").kind,
            FaultKind::MessageInformationHeaderRequired
        );
        let no_id = env(
            "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>",
            "",
        );
        assert_eq!(
            parse_str(&no_id).expect_err("x").kind,
            FaultKind::MessageInformationHeaderRequired
        );
        let no_body = format!("{HEAD}</s:Header></s:Envelope>");
        assert_eq!(
            parse_str(&no_body).expect_err("x").kind,
            FaultKind::SchemaValidationError
        );
    }

    #[test]
    fn identify_in_both_namespaces_without_headers() {
        for nsuri in [ns::WSMID, ns::WSMID_TYPO] {
            let xml = format!(
                r#"<s:Envelope xmlns:s="{}"><s:Header/><s:Body><i:Identify xmlns:i="{nsuri}"/></s:Body></s:Envelope>"#,
                ns::SOAP
            );
            with_request(&xml, |r| assert!(matches!(r.op, Operation::Identify)));
        }
    }

    #[test]
    fn enumerate_bodies() {
        let headers = "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action><a:MessageID>1</a:MessageID><w:ResourceURI>http://x/C</w:ResourceURI>";
        let e = |body: &str| env(headers, &format!("<n:Enumerate>{body}</n:Enumerate>"));
        with_request(
            &e(
                "<w:OptimizeEnumeration/><w:MaxElements>32000</w:MaxElements><w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>",
            ),
            |r| match r.op {
                Operation::Enumerate(b) => {
                    assert!(b.optimize);
                    assert_eq!(b.max_elements, Some(32000));
                    assert_eq!(b.mode, EnumMode::ObjectAndEpr);
                }
                _ => panic!("not enumerate"),
            },
        );
        let filt = |dialect: &str, inner: &str| {
            e(&format!(
                r#"<w:Filter Dialect="{dialect}">{inner}</w:Filter>"#
            ))
        };
        with_request(
            &filt(
                "http://schemas.microsoft.com/wbem/wsman/1/wql",
                "SELECT * FROM C",
            ),
            |r| match r.op {
                Operation::Enumerate(b) => {
                    assert_eq!(b.filter, Filter::Wql("SELECT * FROM C".into()))
                }
                _ => panic!(),
            },
        );
        with_request(
            &filt(
                ns::dialect::SELECTOR,
                r#"<w:SelectorSet><w:Selector Name="A">1</w:Selector></w:SelectorSet>"#,
            ),
            |r| match r.op {
                Operation::Enumerate(b) => {
                    assert_eq!(b.filter, Filter::Selector(vec![Selector::text("A", "1")]))
                }
                _ => panic!(),
            },
        );
        let assoc = r#"<b:AssociatedInstances xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"><b:Object><a:Address>x</a:Address><a:ReferenceParameters><w:ResourceURI>http://x/S</w:ResourceURI><w:SelectorSet><w:Selector Name="N">s</w:Selector></w:SelectorSet></a:ReferenceParameters></b:Object><b:AssociationClassName>CIM_SystemDevice</b:AssociationClassName><b:ResultClassName>CIM_Sensor</b:ResultClassName><b:IncludeResultProperty>A</b:IncludeResultProperty><b:IncludeResultProperty>B</b:IncludeResultProperty></b:AssociatedInstances>"#;
        with_request(
            &filt(
                "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/AssociationFilter",
                assoc,
            ),
            |r| match r.op {
                Operation::Enumerate(b) => match b.filter {
                    Filter::Association(a) => {
                        assert!(!a.instances_of_association);
                        assert_eq!(a.object.resource_uri, "http://x/S");
                        assert_eq!(a.association_class.as_deref(), Some("CIM_SystemDevice"));
                        assert_eq!(a.result_class.as_deref(), Some("CIM_Sensor"));
                        assert_eq!(a.role, None);
                        assert_eq!(a.include_result_property, vec!["A", "B"]);
                    }
                    _ => panic!(),
                },
                _ => panic!(),
            },
        );
        let faults: &[(String, FaultKind)] = &[
            (
                filt("urn:xpath", "x"),
                FaultKind::FilterDialectRequestedUnavailable,
            ),
            (
                e("<w:Filter>/x</w:Filter>"),
                FaultKind::FilterDialectRequestedUnavailable,
            ),
            (filt(ns::dialect::WQL, ""), FaultKind::CannotProcessFilter),
            (
                filt(ns::dialect::ASSOCIATION, "<x/>"),
                FaultKind::CannotProcessFilter,
            ),
            (
                e(
                    r#"<w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">a</w:Filter><n:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">b</n:Filter>"#,
                ),
                FaultKind::EnumCannotProcessFilter,
            ),
            (
                e("<w:EnumerationMode>Bogus</w:EnumerationMode>"),
                FaultKind::UnsupportedFeature,
            ),
            (
                e("<w:MaxElements>0</w:MaxElements>"),
                FaultKind::SchemaValidationError,
            ),
            (e("<n:EndTo/>"), FaultKind::UnsupportedFeature),
            (env(headers, ""), FaultKind::SchemaValidationError),
        ];
        for (xml, kind) in faults {
            assert_eq!(parse_str(xml).expect_err(xml).kind, *kind, "{xml}");
        }
    }

    #[test]
    fn invoke_and_unknown_actions() {
        let h = |action: &str| {
            format!(
                "<a:Action>{action}</a:Action><a:MessageID>1</a:MessageID><w:ResourceURI>http://x/CIM_Sys</w:ResourceURI>"
            )
        };
        let xml = env(
            &h("http://x/CIM_Sys/RequestStateChange"),
            r#"<p:RequestStateChange_INPUT xmlns:p="http://x/CIM_Sys"><p:RequestedState>2</p:RequestedState></p:RequestStateChange_INPUT>"#,
        );
        with_request(&xml, |r| match r.op {
            Operation::Invoke { method, input } => {
                assert_eq!(method, "RequestStateChange");
                assert_eq!(input.tag_name().name(), "RequestStateChange_INPUT");
            }
            _ => panic!(),
        });
        let missing = env(&h("http://x/CIM_Sys/Reset"), "");
        assert_eq!(
            parse_str(&missing).expect_err("x").kind,
            FaultKind::SchemaValidationError
        );
        with_request(&env(&h("http://x/Other/Reset"), ""), |r| {
            assert!(matches!(r.op, Operation::Unknown))
        });
        with_request(&env(&h("http://x/CIM_Sys/a/b"), ""), |r| {
            assert!(matches!(r.op, Operation::Unknown))
        });
        assert_eq!(method_of("http://x/C/M", "http://X/c"), Some("M"));
        assert_eq!(method_of("http://x/C", "http://x/C"), None);
    }

    /// The limits checked on the raw text: each refuses one past it before roxmltree
    /// allocates, with the service-envelope fault; at the limit the request parses.
    #[test]
    fn attribute_namespace_and_filter_length_limits() {
        let limits = Limits {
            max_xml_attributes: 8,
            max_xml_namespaces: 4,
            max_filter_len: 64,
            ..Limits::default()
        };
        let run = |xml: &str| {
            parse_document(xml, &limits)
                .and_then(|doc| parse(&doc, &limits).map(|_| ()).map_err(|r| r.fault))
                .map_err(|f| (f.kind, f.detail))
        };
        let limit = Err((
            FaultKind::EncodingLimit,
            Some(FaultDetail::ServiceEnvelopeLimit),
        ));
        // HEAD has four namespace declarations, so four `=` of the eight are taken.
        let get = |extra: &str| env(&get_headers(extra), "");
        assert_eq!(run(&get("<w:P a='1' b='2' c='3' d='4'/>")), Ok(()));
        assert_eq!(run(&get("<w:P a='1' b='2' c='3' d='4' e='5'/>")), limit);
        assert_eq!(
            run(&get("<w:P>a=b c=d e=f g=h i=j</w:P>")),
            limit,
            "any '=' counts"
        );
        assert_eq!(run(&get("<w:P xmlns:q='u'/>")), limit);
        let wql = |q: &str| {
            env(
                "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</a:Action><a:MessageID>1</a:MessageID><w:ResourceURI>http://x/C</w:ResourceURI>",
                &format!(
                    "<n:Enumerate><w:Filter Dialect='http://schemas.microsoft.com/wbem/wsman/1/WQL'>{q}</w:Filter></n:Enumerate>"
                ),
            )
        };
        let at = format!("SELECT * FROM C WHERE {}", "a IS NULL OR ".repeat(2));
        let at = format!("{at}{}", "b".repeat(64 - at.len() - " IS NULL".len()));
        assert_eq!(run(&wql(&format!("{at} IS NULL"))), Ok(()));
        assert_eq!(
            run(&wql(&format!("{at}c IS NULL"))).map_err(|e| e.0),
            Err(FaultKind::CannotProcessFilter)
        );
    }

    #[test]
    fn utf16_bodies_decode_to_their_exact_size() {
        let text = "<a>é\u{4e2d}x</a>";
        let mut body = vec![0xFF, 0xFE];
        body.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let (decoded, charset) = decode(&body, CharsetHint::Unspecified).expect("UTF-16");
        assert_eq!(charset, Charset::Utf16);
        assert_eq!(decoded, text);
        let Cow::Owned(s) = decoded else {
            panic!("UTF-16 decodes to an owned string")
        };
        assert_eq!(s.capacity(), text.len());
    }

    #[test]
    fn pull_body() {
        let xml = env(
            "<a:Action>http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull</a:Action><a:MessageID>1</a:MessageID>",
            "<n:Pull><n:EnumerationContext> uuid:X </n:EnumerationContext><n:MaxElements>999</n:MaxElements><n:MaxCharacters>99999</n:MaxCharacters><n:MaxTime>PT5S</n:MaxTime></n:Pull>",
        );
        with_request(&xml, |r| match r.op {
            Operation::Pull(p) => assert_eq!(
                p,
                PullBody {
                    context: "uuid:X",
                    max_elements: Some(999),
                    max_characters: Some(99999),
                    max_time_ms: Some(5000)
                }
            ),
            _ => panic!(),
        });
    }
}
