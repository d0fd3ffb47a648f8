//! Hostile requests from issue #20: parser-cost amplification (finding 2) and envelopes that
//! are malformed but used to be answered 200 (the XML half of finding 5). Each case is sent
//! through `Service::handle` as the HTTP layer would.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use wsbmc_wsman::{Limits, ReplyKind, RequestMeta, Service};

const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
const GET: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get";
const KEYS: &str = r#"<w:SelectorSet><w:Selector Name="CreationClassName">WSB_Fake</w:Selector><w:Selector Name="DeviceID">dev-001</w:Selector></w:SelectorSet>"#;

fn get(extra_headers: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:w="{WSMAN}"><s:Header><a:Action>{GET}</a:Action><a:MessageID>uuid:REQ</a:MessageID><w:ResourceURI>{URI}</w:ResourceURI>{KEYS}{extra_headers}</s:Header><s:Body/></s:Envelope>"#
    )
}

/// `(kind of reply, subcode local name, detail)` of the answer to `body`.
fn answer(svc: &mut Service, body: &[u8]) -> (ReplyKind, Option<String>, Option<String>) {
    answer_as(svc, body, SOAP_CT)
}

fn answer_as(
    svc: &mut Service,
    body: &[u8],
    content_type: &str,
) -> (ReplyKind, Option<String>, Option<String>) {
    let p = Fake::new(3);
    let m = RequestMeta {
        content_type: Some(content_type),
        ..meta(Some("admin"))
    };
    let reply = svc.handle(&p, &m, body);
    if reply.kind == ReplyKind::Success {
        return (ReplyKind::Success, None, None);
    }
    let (_, sub, detail) = fault_of(&reply);
    let sub = sub.map(|s| s.rsplit('}').next().unwrap_or("").to_string());
    (reply.kind, sub, detail)
}

fn ok() -> (ReplyKind, Option<String>, Option<String>) {
    (ReplyKind::Success, None, None)
}

fn fault(sub: &str, detail: Option<&str>) -> (ReplyKind, Option<String>, Option<String>) {
    (
        ReplyKind::Fault,
        Some(sub.to_string()),
        detail.map(str::to_string),
    )
}

/// A debug build on a loaded 2-core machine: the refused floods took seconds before the fix
/// (7 s in a release build for the namespace one), and take milliseconds now.
const FAST: Duration = Duration::from_millis(1500);

#[test]
fn namespace_and_attribute_floods_are_refused_before_parsing() {
    // Room for the whole flood: the namespace count, not the request size, must refuse it.
    let mut svc = Service::new(
        Limits {
            max_request_size: 1024 * 1024,
            ..Limits::default()
        },
        SEED,
    );
    // Issue #20 finding 2: 45 nested elements of 770 declarations each, ~516 KB.
    let mut flood = String::new();
    for e in 0..45 {
        flood.push_str("<e");
        for d in 0..770 {
            flood.push_str(&format!(" xmlns:p{d}=\"{e}\""));
        }
        flood.push('>');
    }
    flood.push_str(&"</e>".repeat(45));
    assert!(flood.len() > 500_000);
    let t = Instant::now();
    assert_eq!(
        answer(&mut svc, flood.as_bytes()),
        fault("EncodingLimit", Some("ServiceEnvelopeLimit"))
    );
    assert!(t.elapsed() < FAST, "{:?}", t.elapsed());

    // 40,000 attributes on one element in ~390 KB used to parse (0.9 s) and succeed.
    let mut attrs = String::new();
    for i in 0..40_000 {
        attrs.push_str(&format!(" a{i}=\"\""));
    }
    let body = get(&format!("<x:J xmlns:x=\"urn:x\"{attrs}/>"));
    let t = Instant::now();
    assert_eq!(
        answer(&mut svc, body.as_bytes()),
        fault("EncodingLimit", Some("ServiceEnvelopeLimit"))
    );
    assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
}

/// At the host's caps the worst layouts still parse, quickly: every attribute the `=` cap
/// allows on one element (the duplicate check is quadratic in that count), and the namespace
/// cap spent as many prefixes in scope, then redeclared on nested elements (the prefix
/// resolution is quadratic in that).
#[test]
fn the_worst_documents_within_the_caps_parse_quickly() {
    let l = Limits::default();
    let mut svc = service();
    let base = get("");
    let used_eq = base.bytes().filter(|&b| b == b'=').count();
    let used_ns = base.matches("xmlns").count();

    let n = l.max_xml_attributes as usize - used_eq - 1;
    let attrs: String = (0..n).map(|i| format!(" a{i}=\"\"")).collect();
    let body = get(&format!("<x:J xmlns:x=\"urn:x\"{attrs}/>"));
    let t = Instant::now();
    assert_eq!(answer(&mut svc, body.as_bytes()), ok());
    assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
    let one_more = get(&format!("<x:J xmlns:x=\"urn:x\"{attrs} z=\"\"/>"));
    assert_eq!(
        answer(&mut svc, one_more.as_bytes()),
        fault("EncodingLimit", Some("ServiceEnvelopeLimit"))
    );

    // Half the declarations on one element, the other half redeclaring 8 of them on each of
    // the nested elements below it.
    let spare = l.max_xml_namespaces as usize - used_ns;
    let wide = spare / 2;
    let mut ns = String::from("<x:J xmlns:x=\"urn:x\"");
    for d in 0..wide - 1 {
        ns.push_str(&format!(" xmlns:p{d}=\"u\""));
    }
    ns.push('>');
    let levels = (spare - wide) / 8;
    assert!(levels + 4 < l.max_xml_depth as usize);
    for _ in 0..levels {
        ns.push_str("<x:K");
        for d in 0..8 {
            ns.push_str(&format!(" xmlns:p{d}=\"v\""));
        }
        ns.push('>');
    }
    ns.push_str(&"</x:K>".repeat(levels));
    ns.push_str("</x:J>");
    let body = get(&ns);
    assert!(body.matches("xmlns").count() <= l.max_xml_namespaces as usize);
    let t = Instant::now();
    assert_eq!(answer(&mut svc, body.as_bytes()), ok());
    assert!(t.elapsed() < FAST, "{:?}", t.elapsed());
}

/// The vendored roxmltree's prefix resolution looks an inherited prefix up among the element's
/// own declarations only: a redeclared prefix must still shadow the inherited one, and the
/// others must still be inherited.
#[test]
fn redeclared_prefixes_shadow_and_the_rest_are_inherited() {
    let doc = roxmltree::Document::parse(
        r#"<a:r xmlns:a="u1" xmlns:b="u2" xmlns:c="u3"><b:k xmlns:b="v2" xmlns="d"><c:l/><a:m/><n/><b:o xmlns:a="w1"><a:p/></b:o></b:k></a:r>"#,
    )
    .expect("xml");
    let ns = |name: &str| {
        doc.descendants()
            .find(|n| n.tag_name().name() == name)
            .and_then(|n| n.tag_name().namespace())
            .map(str::to_string)
    };
    assert_eq!(ns("k").as_deref(), Some("v2"));
    assert_eq!(ns("l").as_deref(), Some("u3"));
    assert_eq!(ns("m").as_deref(), Some("u1"));
    assert_eq!(ns("n").as_deref(), Some("d"));
    assert_eq!(ns("o").as_deref(), Some("v2"));
    assert_eq!(ns("p").as_deref(), Some("w1"));
    let k = doc
        .descendants()
        .find(|n| n.tag_name().name() == "k")
        .expect("k");
    assert_eq!(k.namespaces().len(), 4, "a, c inherited; b, default own");
    assert!(
        roxmltree::Document::parse(r#"<r xmlns:a="1" xmlns:a="2"/>"#).is_err(),
        "a prefix declared twice on one element"
    );
}

/// References to code points that are not XML characters are not well-formed (XML 1.0 §4.1);
/// they used to be read as U+FFFD.
#[test]
fn character_references_to_non_characters_are_faults() {
    let mut svc = service();
    for r in [
        "&#x110000;",
        "&#xD800;",
        "&#xDFFF;",
        "&#1114112;",
        "&#55296;",
        "&#x0;",
        "&#x1F;",
        "&#xFFFE;",
        "&#xFFFF;",
        "&#x100000000;",
    ] {
        for place in [
            format!("<x:J xmlns:x=\"urn:x\">a{r}b</x:J>"),
            format!("<x:J xmlns:x=\"urn:x\" v=\"a{r}b\"/>"),
        ] {
            assert_eq!(
                answer(&mut svc, get(&place).as_bytes()),
                fault("SchemaValidationError", None),
                "{place}"
            );
        }
    }
    for r in [
        "&#x9;",
        "&#xD7FF;",
        "&#xE000;",
        "&#xFFFD;",
        "&#x10FFFF;",
        "&#65;",
    ] {
        let place = format!("<x:J xmlns:x=\"urn:x\" v=\"{r}\">{r}</x:J>");
        assert_eq!(answer(&mut svc, get(&place).as_bytes()), ok(), "{place}");
    }
}

#[cfg(feature = "encoding-declaration")]
#[test]
fn an_encoding_declaration_must_name_the_encoding_of_the_bytes() {
    let mut svc = service();
    let decl = |enc: &str| format!("<?xml version=\"1.0\" encoding={enc}?>{}", get(""));
    for enc in [
        "\"EBCDIC-US\"",
        "\"UTF-16\"",
        "'utf-16le'",
        "\"ISO-8859-1\"",
        "\"\"",
    ] {
        assert_eq!(
            answer(&mut svc, decl(enc).as_bytes()),
            fault("EncodingLimit", Some("CharacterSet")),
            "{enc}"
        );
    }
    for enc in ["\"UTF-8\"", "'utf-8'", "\"utf8\"", "\"US-ASCII\""] {
        assert_eq!(answer(&mut svc, decl(enc).as_bytes()), ok(), "{enc}");
    }
    assert_eq!(
        answer(
            &mut svc,
            format!("<?xml version=\"1.0\"?>{}", get("")).as_bytes()
        ),
        ok()
    );
    // A BOM-marked UTF-8 body declaring UTF-8 is fine.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(decl("\"UTF-8\"").bytes());
    assert_eq!(answer(&mut svc, &bom), ok());
    // UTF-16 bytes must say UTF-16 (or nothing).
    let utf16 = |text: &str| {
        let mut b = vec![0xFF, 0xFE];
        b.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        b
    };
    let ct16 = "application/soap+xml;charset=UTF-16";
    assert_eq!(answer_as(&mut svc, &utf16(&decl("\"UTF-16\"")), ct16), ok());
    assert_eq!(
        answer_as(&mut svc, &utf16(&decl("\"UTF-8\"")), ct16),
        fault("EncodingLimit", Some("CharacterSet"))
    );
}

#[test]
fn a_doubled_byte_order_mark_is_a_fault() {
    let mut svc = service();
    let mut twice = vec![0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF];
    twice.extend(get("").bytes());
    assert_eq!(
        answer(&mut svc, &twice),
        fault("SchemaValidationError", None)
    );
    let mut once = vec![0xEF, 0xBB, 0xBF];
    once.extend(get("").bytes());
    assert_eq!(answer(&mut svc, &once), ok());
    let mut twice16 = vec![0xFF, 0xFE, 0xFF, 0xFE];
    twice16.extend(get("").encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(
        answer_as(&mut svc, &twice16, "application/soap+xml;charset=UTF-16"),
        fault("SchemaValidationError", None)
    );
}

/// SOAP 1.2 Part 1 §5.1: an optional Header, then one Body, then nothing else.
#[test]
fn the_envelope_holds_one_header_then_one_body() {
    let mut svc = service();
    let base = get("");
    let header_start = base.find("<s:Header>").expect("header");
    let header_end = base.find("</s:Header>").expect("header") + "</s:Header>".len();
    let header = &base[header_start..header_end];
    let open = &base[..header_start];
    let envelope = |children: &str| format!("{open}{children}</s:Envelope>");
    for children in [
        format!("{header}<s:Body/><s:Body/>"),
        format!("{header}{header}<s:Body/>"),
        format!("<s:Body/>{header}"),
        format!("{header}<s:Body/>{header}"),
        format!("{header}<s:Body/><x:Extra xmlns:x=\"urn:x\"/>"),
        format!("<x:Extra xmlns:x=\"urn:x\"/>{header}<s:Body/>"),
    ] {
        assert_eq!(
            answer(&mut svc, envelope(&children).as_bytes()),
            fault("SchemaValidationError", None),
            "{children}"
        );
    }
    assert_eq!(
        answer(&mut svc, envelope(&format!("{header}<s:Body/>")).as_bytes()),
        ok()
    );
}

/// `s:mustUnderstand` is an xs:boolean; pywinrm's unqualified attribute is not SOAP's and
/// stays ignored whatever it says.
#[test]
fn must_understand_is_a_boolean() {
    let mut svc = service();
    let with = |v: &str| {
        get(&format!(
            "<w:OperationTimeout s:mustUnderstand=\"{v}\">PT10S</w:OperationTimeout>"
        ))
    };
    for v in ["maybe", "", "yes", "TRUE", "2"] {
        assert_eq!(
            answer(&mut svc, with(v).as_bytes()),
            fault("SchemaValidationError", None),
            "{v:?}"
        );
    }
    for v in ["true", "false", "1", "0", " true "] {
        assert_eq!(answer(&mut svc, with(v).as_bytes()), ok(), "{v:?}");
    }
    let bare = get("<w:OperationTimeout mustUnderstand=\"maybe\">PT10S</w:OperationTimeout>");
    assert_eq!(answer(&mut svc, bare.as_bytes()), ok());
}
