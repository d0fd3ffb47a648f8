//! Typed response → envelope text.
//!
//! Output always uses the Windows prefixes (s, a, n, w, xsi, cim, f) because some client parsers
//! key on them (wsman.md §2.1), starts directly with `<s:Envelope` (no XML declaration) and
//! carries `xml:lang="en-US"`, as Windows responses do.

use alloc::string::String;
use alloc::vec::Vec;

use crate::envelope::{Charset, QName};
use crate::fault::Fault;
use crate::ns;
use crate::provider::{Epr, Identity, SelectorValue};
use crate::rng::Uuid;
use crate::xml::XmlWriter;

/// The header of a success response.
#[derive(Debug, Clone, Copy)]
pub struct ResponseHeader<'a> {
    pub action: &'a str,
    pub message_id: Uuid,
    pub relates_to: Option<&'a str>,
    /// `Some` when the client sent RequestTotalItemsCountEstimate; `Some(None)` renders nil.
    pub total_items: Option<Option<u64>>,
}

/// The body of a success response.
#[derive(Debug, Clone, Copy)]
pub enum ResponseBody<'a> {
    Empty,
    /// A body element the provider rendered (Get, Put, Invoke).
    Raw(&'a str),
    /// `n:EnumerateResponse`. `context: None` renders the empty context that tells wsmancli to
    /// stop; `items: None` means the client did not ask for optimized enumeration.
    Enumerate {
        context: Option<&'a str>,
        items: Option<&'a str>,
        end: bool,
    },
    /// `n:PullResponse`; the context is omitted on the last batch.
    Pull {
        context: Option<&'a str>,
        items: &'a str,
        end: bool,
    },
}

impl ResponseBody<'_> {
    /// Bytes of provider markup the envelope carries verbatim (items, a Get body).
    fn markup_len(&self) -> usize {
        match self {
            ResponseBody::Empty => 0,
            ResponseBody::Raw(markup) => markup.len(),
            ResponseBody::Enumerate { items, .. } => items.map_or(0, str::len),
            ResponseBody::Pull { items, .. } => items.len(),
        }
    }

    /// The same body with its verbatim markup left out: only the envelope's own elements.
    fn frame(&self) -> Self {
        match *self {
            ResponseBody::Raw(_) => ResponseBody::Raw(""),
            ResponseBody::Enumerate {
                context,
                items,
                end,
            } => ResponseBody::Enumerate {
                context,
                items: items.map(|_| ""),
                end,
            },
            ResponseBody::Pull { context, end, .. } => ResponseBody::Pull {
                context,
                items: "",
                end,
            },
            ResponseBody::Empty => ResponseBody::Empty,
        }
    }
}

/// The exact length of the envelope [`write_response`] writes for `head` and `body`, found by
/// writing only its frame (about 1 KiB) and adding the markup's length. Knowing it lets the
/// caller refuse an envelope over MaxEnvelopeSize before building it, and build it into one
/// allocation of the right size: a buffer grown by doubling holds up to twice the envelope, and
/// during each growth both copies at once, which on a small fixed heap shared by concurrent
/// connections fragments it until a later allocation fails.
pub fn response_len(head: &ResponseHeader<'_>, body: &ResponseBody<'_>) -> usize {
    let mut frame = XmlWriter::new();
    write_response(&mut frame, head, &body.frame());
    frame.len() + body.markup_len()
}

/// Every envelope's first attribute: Windows marks its responses English.
const XML_LANG: (&str, &str) = ("xml:lang", "en-US");

/// The attributes of every success envelope: [`XML_LANG`] and the prefixes it declares.
/// Providers may use `a`, `w`, `xsi` and `cim` in what they render without declaring them;
/// they declare their own class prefix.
const RESPONSE_ENVELOPE: [(&str, &str); 7] = [
    XML_LANG,
    ("xmlns:s", ns::SOAP),
    ("xmlns:a", ns::WSA),
    ("xmlns:n", ns::WSEN),
    ("xmlns:w", ns::WSMAN),
    ("xmlns:xsi", ns::XSI),
    ("xmlns:cim", ns::CIM),
];

/// Writes a success envelope.
pub fn write_response(out: &mut XmlWriter, head: &ResponseHeader<'_>, body: &ResponseBody<'_>) {
    out.open("s:Envelope", &RESPONSE_ENVELOPE);
    out.open("s:Header", &[]);
    out.leaf("a:To", ns::ANONYMOUS);
    out.leaf("a:Action", head.action);
    out.leaf("a:MessageID", head.message_id.as_str());
    if let Some(r) = head.relates_to {
        out.leaf("a:RelatesTo", r);
    }
    match head.total_items {
        Some(Some(n)) => {
            out.open("w:TotalItemsCountEstimate", &[]);
            out.text_int(false, n);
            out.close("w:TotalItemsCountEstimate");
        }
        Some(None) => out.empty("w:TotalItemsCountEstimate", &[("xsi:nil", "true")]),
        None => {}
    }
    out.close("s:Header");
    match body {
        ResponseBody::Empty => out.empty("s:Body", &[]),
        ResponseBody::Raw(markup) => {
            out.open("s:Body", &[]);
            out.raw(markup);
            out.close("s:Body");
        }
        ResponseBody::Enumerate {
            context,
            items,
            end,
        } => {
            out.open("s:Body", &[]);
            out.open("n:EnumerateResponse", &[]);
            match context {
                Some(c) => out.leaf("n:EnumerationContext", c),
                None => out.empty("n:EnumerationContext", &[]),
            }
            if let Some(items) = items {
                out.open("w:Items", &[]);
                out.raw(items);
                out.close("w:Items");
                if *end {
                    out.empty("w:EndOfSequence", &[]);
                }
            }
            out.close("n:EnumerateResponse");
            out.close("s:Body");
        }
        ResponseBody::Pull {
            context,
            items,
            end,
        } => {
            out.open("s:Body", &[]);
            out.open("n:PullResponse", &[]);
            if let Some(c) = context {
                out.leaf("n:EnumerationContext", c);
            }
            out.open("n:Items", &[]);
            out.raw(items);
            out.close("n:Items");
            if *end {
                out.empty("n:EndOfSequence", &[]);
            }
            out.close("n:PullResponse");
            out.close("s:Body");
        }
    }
    out.close("s:Envelope");
}

/// Writes the Identify response: empty header, as Windows sends it (wsman.md §3.2).
/// `profiles` is `None` for unauthenticated callers, which must not learn the security setup.
/// An iterator rather than a slice: the service lists either the listener's `&str`s or its own
/// `String`s, and one (not generic) copy of this serves both.
pub fn write_identify(
    out: &mut XmlWriter,
    identity: &Identity,
    profiles: Option<&mut dyn Iterator<Item = &str>>,
) {
    out.open(
        "s:Envelope",
        &[XML_LANG, ("xmlns:s", ns::SOAP), ("xmlns:wsmid", ns::WSMID)],
    );
    out.empty("s:Header", &[]);
    out.open("s:Body", &[]);
    out.open("wsmid:IdentifyResponse", &[]);
    out.leaf("wsmid:ProtocolVersion", ns::WSMAN);
    out.leaf("wsmid:ProductVendor", &identity.vendor);
    out.leaf("wsmid:ProductVersion", &identity.version);
    if let Some(profiles) = profiles {
        out.open("wsmid:SecurityProfiles", &[]);
        for p in profiles {
            out.leaf("wsmid:SecurityProfileName", p);
        }
        out.close("wsmid:SecurityProfiles");
    }
    out.close("wsmid:IdentifyResponse");
    out.close("s:Body");
    out.close("s:Envelope");
}

/// Writes a fault envelope (wsman.md §4.1).
pub fn write_fault(
    out: &mut XmlWriter,
    fault: &Fault,
    message_id: Uuid,
    relates_to: Option<&str>,
    machine: &str,
    not_understood: &[QName<'_>],
) {
    let spec = fault.kind.spec();
    // The subcode's prefix is declared unless it is one of the three every fault declares.
    let subcode_ns = match spec.subcode {
        Some(("n", uri, _)) => Some(("xmlns:n", uri)),
        Some(("x", uri, _)) => Some(("xmlns:x", uri)),
        #[cfg(feature = "eventing")]
        Some(("e", uri, _)) => Some(("xmlns:e", uri)),
        _ => None,
    };
    let decls = [
        XML_LANG,
        ("xmlns:s", ns::SOAP),
        ("xmlns:a", ns::WSA),
        ("xmlns:w", ns::WSMAN),
        subcode_ns.unwrap_or(XML_LANG),
    ];
    out.open(
        "s:Envelope",
        if subcode_ns.is_some() {
            &decls
        } else {
            &decls[..4]
        },
    );
    out.open("s:Header", &[]);
    out.leaf("a:Action", spec.action);
    out.leaf("a:MessageID", message_id.as_str());
    out.leaf("a:To", ns::ANONYMOUS);
    if let Some(r) = relates_to {
        out.leaf("a:RelatesTo", r);
    }
    for q in not_understood {
        // A fixed prefix is enough: each NotUnderstood element declares its own.
        match q.namespace {
            Some(uri) => {
                let mut qname = String::with_capacity(q.local.len() + 3);
                qname.push_str("nu:");
                qname.push_str(q.local);
                out.empty("s:NotUnderstood", &[("qname", &qname), ("xmlns:nu", uri)]);
            }
            None => out.empty("s:NotUnderstood", &[("qname", q.local)]),
        }
    }
    if fault.kind == crate::fault::FaultKind::VersionMismatch {
        out.open("s:Upgrade", &[]);
        out.empty(
            "s:SupportedEnvelope",
            &[("qname", "su:Envelope"), ("xmlns:su", ns::SOAP)],
        );
        out.close("s:Upgrade");
    }
    out.close("s:Header");

    let mut text = String::from(spec.reason);
    if let Some(m) = &fault.message {
        text.push(' ');
        text.push_str(m);
    }
    out.open("s:Body", &[]);
    out.open("s:Fault", &[]);
    out.open("s:Code", &[]);
    out.leaf("s:Value", spec.code.qname());
    if let Some((prefix, _, local)) = spec.subcode {
        out.open("s:Subcode", &[]);
        out.open("s:Value", &[]);
        out.text(prefix);
        out.text(":");
        out.text(local);
        out.close("s:Value");
        out.close("s:Subcode");
    }
    out.close("s:Code");
    out.open("s:Reason", &[]);
    out.leaf_with("s:Text", &[("xml:lang", "en-US")], &text);
    out.close("s:Reason");
    out.open("s:Detail", &[]);
    if let Some(d) = fault.detail {
        out.open("w:FaultDetail", &[]);
        out.text(ns::FAULT_DETAIL);
        out.text(d.name());
        out.close("w:FaultDetail");
    }
    let code = crate::text::Dec::new(fault.windows_code());
    out.open(
        "f:WSManFault",
        &[
            ("xmlns:f", ns::WSMANFAULT),
            ("Code", code.as_str()),
            ("Machine", machine),
        ],
    );
    out.leaf("f:Message", &text);
    out.close("f:WSManFault");
    out.close("s:Detail");
    out.close("s:Fault");
    out.close("s:Body");
    out.close("s:Envelope");
}

/// Writes EPR content (`a:Address` + `a:ReferenceParameters`) without a wrapper element, so it
/// serves `a:EndpointReference` items, reference-typed properties and nested selector EPRs alike.
pub fn write_epr(out: &mut XmlWriter, epr: &Epr) {
    out.leaf("a:Address", ns::ANONYMOUS);
    out.open("a:ReferenceParameters", &[]);
    out.leaf("w:ResourceURI", &epr.resource_uri);
    if !epr.selectors.is_empty() {
        out.open("w:SelectorSet", &[]);
        for s in &epr.selectors {
            match &s.value {
                SelectorValue::Text(t) => out.leaf_with("w:Selector", &[("Name", &s.name)], t),
                SelectorValue::Epr(inner) => {
                    out.open("w:Selector", &[("Name", &s.name)]);
                    out.open("a:EndpointReference", &[]);
                    write_epr(out, inner);
                    out.close("a:EndpointReference");
                    out.close("w:Selector");
                }
            }
        }
        out.close("w:SelectorSet");
    }
    out.close("a:ReferenceParameters");
}

/// `application/soap+xml` with the reply charset.
pub const fn content_type(charset: Charset) -> &'static str {
    match charset {
        Charset::Utf8 => "application/soap+xml;charset=UTF-8",
        Charset::Utf16 => "application/soap+xml;charset=UTF-16",
    }
}

/// Encoded size of `utf8_len` bytes of envelope text, as an upper bound: UTF-16 never needs more
/// than two bytes per UTF-8 byte, plus the BOM.
///
/// Out of line: inlined at its four call sites it cost the bare-metal image more flash than
/// the calls do.
#[inline(never)]
pub const fn encoded_len(utf8_len: usize, charset: Charset) -> usize {
    match charset {
        Charset::Utf8 => utf8_len,
        Charset::Utf16 => utf8_len.saturating_mul(2).saturating_add(2),
    }
}

/// The reply body bytes in the request's charset (UTF-16 little-endian with BOM, as Windows).
pub fn encode(text: String, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => text.into_bytes(),
        Charset::Utf16 => {
            let mut out = Vec::with_capacity(text.len() * 2 + 2);
            out.extend_from_slice(&[0xFF, 0xFE]);
            for u in text.encode_utf16() {
                out.extend_from_slice(&u.to_le_bytes());
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{FaultDetail, FaultKind, SoapCode};
    use crate::rng::TokenGen;
    use alloc::string::ToString;

    /// Every catalogue entry renders to XML whose subcode QName resolves to the namespace the
    /// table claims, with the fault action that belongs to that namespace.
    #[test]
    fn every_fault_kind_renders_consistently() {
        let mut ids = TokenGen::new(3);
        #[cfg(feature = "eventing")]
        let all = FaultKind::ALL.into_iter().chain(FaultKind::EVENTING);
        #[cfg(not(feature = "eventing"))]
        let all = FaultKind::ALL.into_iter();
        for kind in all {
            let spec = kind.spec();
            let fault = Fault::with_detail(kind, FaultDetail::InvalidValue).message("x<&>");
            let mut out = XmlWriter::new();
            write_fault(&mut out, &fault, ids.next_uuid(), Some("id&1"), "m\"", &[]);
            let doc = roxmltree::Document::parse(out.as_str()).expect("fault XML");
            let values: Vec<_> = doc
                .descendants()
                .filter(|n| n.has_tag_name((ns::SOAP, "Value")))
                .collect();
            let (code_prefix, code_local) = values[0]
                .text()
                .and_then(|t| t.split_once(':'))
                .expect("code");
            assert_eq!(
                values[0].lookup_namespace_uri(Some(code_prefix)),
                Some(ns::SOAP)
            );
            assert_eq!(code_local, &spec.code.qname()[2..]);
            match spec.subcode {
                None => {
                    assert!(matches!(
                        spec.code,
                        SoapCode::VersionMismatch | SoapCode::MustUnderstand
                    ));
                    assert_eq!(values.len(), 1);
                }
                Some((prefix, uri, local)) => {
                    let (p, l) = values[1]
                        .text()
                        .and_then(|t| t.split_once(':'))
                        .expect("sub");
                    assert_eq!((p, l), (prefix, local));
                    assert_eq!(
                        values[1].lookup_namespace_uri(Some(p)),
                        Some(uri),
                        "{kind:?}"
                    );
                    let want_action = match uri {
                        ns::WSA => ns::action::FAULT_ADDRESSING,
                        ns::WSMAN => ns::action::FAULT_WSMAN,
                        ns::WXF => ns::action::FAULT_TRANSFER,
                        ns::WSEN => ns::action::FAULT_ENUMERATION,
                        ns::WSE => ns::action::FAULT_EVENTING,
                        _ => panic!("unexpected subcode namespace"),
                    };
                    assert_eq!(spec.action, want_action, "{kind:?}");
                }
            }
            let text = |local: &str| {
                doc.descendants()
                    .find(|n| n.tag_name().name() == local)
                    .and_then(|n| n.text())
                    .unwrap_or("")
                    .to_string()
            };
            assert_eq!(text("RelatesTo"), "id&1");
            assert!(text("Text").ends_with("x<&>"));
            assert_eq!(
                text("FaultDetail"),
                "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/InvalidValue"
            );
            let wf = doc
                .descendants()
                .find(|n| n.has_tag_name((ns::WSMANFAULT, "WSManFault")))
                .expect("f:WSManFault");
            assert_eq!(wf.attribute("Machine"), Some("m\""));
            assert!(
                wf.attribute("Code")
                    .and_then(|c| c.parse::<u32>().ok())
                    .is_some()
            );
        }
    }

    #[test]
    fn detail_codes_override_kind_codes() {
        let f = Fault::with_detail(
            FaultKind::EncodingLimit,
            FaultDetail::MaxEnvelopeSizeExceeded,
        );
        assert_eq!(f.windows_code(), 2150858824);
        assert_eq!(
            Fault::new(FaultKind::EncodingLimit).windows_code(),
            2150858805
        );
        assert_eq!(
            Fault::new(FaultKind::InvalidSelectors).windows_code(),
            2150858843
        );
    }

    #[test]
    fn nested_epr_selectors_render_recursively() {
        use crate::provider::{Selector, SelectorValue};
        use alloc::boxed::Box;
        use alloc::vec;
        let inner = Epr {
            resource_uri: "u2".into(),
            selectors: vec![Selector::text("K", "a&b")],
        };
        let outer = Epr {
            resource_uri: "u1".into(),
            selectors: vec![Selector {
                name: "Ref".into(),
                value: SelectorValue::Epr(Box::new(inner)),
            }],
        };
        let mut out = XmlWriter::new();
        write_epr(&mut out, &outer);
        assert!(
            out.as_str()
                .contains(r#"<w:Selector Name="Ref"><a:EndpointReference><a:Address>"#)
        );
        assert!(
            out.as_str()
                .contains(r#"<w:Selector Name="K">a&amp;b</w:Selector>"#)
        );
    }
}
