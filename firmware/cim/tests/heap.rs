//! Heap high-water mark of one optimized Enumerate, with the bare-metal image's limits (8 KiB
//! envelopes) and a dozen sensors: more than one response holds, so the batch fills its whole
//! byte budget.
//!
//! The image serves two connections from a 32 KiB heap, so what one request holds at its peak
//! is the figure its RAM budget rests on. A response used to exist twice at its peak (the item
//! batch, then the envelope copied around it), the batch grew by reallocation and each item was
//! rendered into a scratch buffer grown by doubling first: 2.6× the envelope per request, which
//! two concurrent enumerations could not get from the image's heap. This test holds the peak to
//! one envelope buffer plus what the parsed request and one item need.
//!
//! One test per file on purpose: the counting allocator is process-wide.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod heap_common;

use common::*;
use heap_common::*;
use wsbmc_cim::{Model, SystemInfo};
use wsbmc_wsman::{ReplyKind, Service};

/// What pypsrp sends for `enumerate(..., optimize=True, max_elements=32)`.
fn enumerate_request() -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration">
<s:Header><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</wsa:Action>
<wsman:DataLocale s:mustUnderstand="false" xml:lang="en-US"/><wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/>
<wsman:MaxEnvelopeSize s:mustUnderstand="true">153600</wsman:MaxEnvelopeSize>
<wsa:MessageID>uuid:6d6c8a6e-0bd9-4a33-8f0a-000000000001</wsa:MessageID>
<wsman:OperationTimeout>PT20S</wsman:OperationTimeout>
<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>
<wsman:ResourceURI s:mustUnderstand="true">{}</wsman:ResourceURI>
<wsa:To>http://127.0.0.1:5985/wsman</wsa:To></s:Header>
<s:Body><wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>32</wsman:MaxElements></wsen:Enumerate></s:Body></s:Envelope>"#,
        uri("CIM_NumericSensor")
    )
}

#[test]
fn a_full_enumerate_batch_is_held_once_at_its_peak() {
    let monitor = twelve_sensors();
    let system = SystemInfo::new("host-1");
    let platform = TestPlatform::bare();
    let model = Model::new(&monitor, &system, &platform);
    let mut service = Service::new(image_limits(), 7);
    let request = enumerate_request();
    let meta = meta();

    let (reply, peak) = peak_of(|| service.handle(&model, &meta, request.as_bytes()));

    assert_eq!(
        reply.kind,
        ReplyKind::Success,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let text = String::from_utf8_lossy(&reply.body);
    // The batch filled the envelope (more sensors than fit), so this is the worst case.
    assert!(text.contains("<n:EnumerationContext>"), "{text}");
    assert!(reply.body.len() > 6 * 1024, "{}", reply.body.len());
    println!(
        "enumerate: response {} B, heap peak {peak} B during the request",
        reply.body.len()
    );
    // The envelope's buffer once (8 KiB), plus the parsed request and one item's temporaries:
    // 15.2 KiB here (64-bit), where a batch, an item scratch grown by doubling and a second
    // envelope buffer peaked at 20.0 KiB.
    assert!(
        peak <= 16 * 1024,
        "heap peak {peak} B for a {} B response",
        reply.body.len()
    );
}
