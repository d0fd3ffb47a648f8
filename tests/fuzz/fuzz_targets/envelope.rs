//! The SOAP envelope parser alone: Content-Type charset, BOM and UTF-16 decoding, the DOM
//! within the node, depth, attribute and namespace limits, and the request it yields (headers,
//! selectors, EPRs, Enumerate/Pull bodies). The first byte picks the Content-Type, so UTF-8 and
//! UTF-16 (LE and BE, with and without a BOM) bodies are both reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_wsman::Limits;
use wsbmc_wsman::envelope::{charset, decode, parse, parse_document};

const CONTENT_TYPES: [Option<&str>; 8] = [
    Some("application/soap+xml;charset=UTF-8"),
    Some("application/soap+xml;charset=UTF-16"),
    Some("application/soap+xml; charset=\"utf-16be\""),
    Some("application/soap+xml"),
    None,
    Some("application/soap+xml;charset=ISO-8859-1"),
    Some("application/soap+xml;charset=utf8;action=x"),
    Some("text/xml"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let hint = charset(CONTENT_TYPES[usize::from(first & 7)]);
    let limits = Limits::default();
    let Ok((text, _charset)) = decode(body, hint) else {
        return;
    };
    let Ok(doc) = parse_document(&text, &limits) else {
        return;
    };
    let _ = parse(&doc, &limits);
});
