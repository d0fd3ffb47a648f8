//! WS-Eventing input: a Subscribe envelope (delivery mode, NotifyTo/EndTo with reference
//! parameters, Expires as a duration or a date-time, Heartbeats, Bookmark, ConnectionRetry,
//! wsman:Auth and issued credentials, the WQL filter), a Renew body, and a stored subscription
//! read back from flash. Input is `[mode byte] [bytes]`: mode 0 an envelope whose Body is a
//! Subscribe, 1 one whose Body is a Renew, 2 the CBOR record the store keeps.
//!
//! A Subscribe that parses is granted, persisted and restored: what comes back must be the
//! subscription that went in, or a restart would deliver under other terms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_eventing::subscribe::{self, Limits};
use wsbmc_eventing::{Clock, Config, Table, persist, render};
use wsbmc_wsman::XmlWriter;
use wsbmc_wsman::envelope::parse_document;

const NOW_MS: u64 = 1_000_000;

fn header_and_body<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
) -> Option<(roxmltree::Node<'a, 'i>, roxmltree::Node<'a, 'i>)> {
    let root = doc.root_element();
    let mut header = None;
    let mut body = None;
    for c in root.children().filter(|c| c.is_element()) {
        match c.tag_name().name() {
            "Header" => header = Some(c),
            "Body" => body = Some(c),
            _ => {}
        }
    }
    Some((header?, body?.first_element_child()?))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    if mode % 3 == 2 {
        if let Ok(sub) = persist::decode(rest, NOW_MS, &limits) {
            let again = persist::encode(&sub, NOW_MS);
            let back = persist::decode(&again, NOW_MS, &limits);
            assert!(back.is_ok_and(|b| b.terms == sub.terms && b.id == sub.id));
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(doc) = parse_document(text, &wsbmc_wsman::Limits::default()) else {
        return;
    };
    let Some((header, body)) = header_and_body(&doc) else {
        return;
    };
    let _ = subscribe::identifier(header);
    if mode % 3 == 1 {
        let _ = subscribe::parse_renew(body);
        return;
    }
    let Ok(terms) = subscribe::parse(body, Some(header), &limits) else {
        return;
    };
    let mut table = Table::new(Config::default());
    let mut next = 0x0123_4567_89ab_cdef_u128;
    let mut random = || {
        next = next.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        next
    };
    let clock = Clock {
        now_ms: NOW_MS,
        unix_ms: Some(1_800_000_000_000),
    };
    let Ok(sub) = table.subscribe(terms, "admin", clock, &mut random) else {
        return;
    };
    let mut out = XmlWriter::new();
    render::subscribe_response(&mut out, sub, "http://127.0.0.1/wsman", Some("uuid:ctx"));
    let stored = persist::encode(sub, NOW_MS);
    let back = persist::decode(&stored, NOW_MS, &limits);
    // What a restart restores is the expiry granted, not the one asked for.
    let mut expect = sub.terms.clone();
    expect.expires = Some(sub.granted);
    assert!(
        back.as_ref()
            .is_ok_and(|b| b.terms == expect && b.id == sub.id && b.expires_at == sub.expires_at),
        "a stored subscription reads back changed: {back:?}"
    );
});
