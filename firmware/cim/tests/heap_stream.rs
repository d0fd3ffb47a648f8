//! Heap high-water mark of one large Enumerate on the host agent's limits, held whole and
//! streamed (`Limits::stream_from`, issue 17): held, the peak grows with the response; streamed,
//! it is what the service holds up front plus one piece, however many items follow.
//!
//! One test per file on purpose: the counting allocator is process-wide.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod heap_common;

use common::*;
use heap_common::*;
use wsbmc_cim::{Model, SystemInfo};
use wsbmc_wsman::{Limits, ReplyKind, Service};

/// An optimized Enumerate of every numeric sensor in one reply (MaxEnvelopeSize 512000).
fn enumerate_request() -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:wsen="http://schemas.xmlsoap.org/ws/2004/09/enumeration">
<s:Header><wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate</wsa:Action>
<wsman:MaxEnvelopeSize s:mustUnderstand="true">512000</wsman:MaxEnvelopeSize>
<wsa:MessageID>uuid:6d6c8a6e-0bd9-4a33-8f0a-000000000001</wsa:MessageID>
<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>
<wsman:ResourceURI s:mustUnderstand="true">{}</wsman:ResourceURI>
<wsa:To>http://127.0.0.1:5985/wsman</wsa:To></s:Header>
<s:Body><wsen:Enumerate><wsman:OptimizeEnumeration/><wsman:MaxElements>1000</wsman:MaxElements></wsen:Enumerate></s:Body></s:Envelope>"#,
        uri("CIM_NumericSensor")
    )
}

/// The response's bytes and the heap peak while producing them: the service's reply, then its
/// stream pumped 8 KiB at a time into one reused buffer, as the HTTP layer sends chunks.
fn run(stream_from: usize, count: u8) -> (Vec<u8>, usize, bool) {
    let monitor = sensors(count);
    let system = SystemInfo::new("host-1");
    let platform = TestPlatform::bare();
    let model = Model::new(&monitor, &system, &platform);
    let mut service = Service::new(
        Limits {
            stream_from,
            ..Limits::default()
        },
        7,
    );
    let request = enumerate_request();
    let meta = meta();
    let mut sent = Vec::new();
    let (streamed, peak) = peak_of(|| {
        let mut reply = service.handle(&model, &meta, request.as_bytes());
        assert_eq!(reply.kind, ReplyKind::Success);
        // What leaves the process is not held by it: copy it out of the count.
        let streamed = reply.stream.is_some();
        let mut chunk = Vec::with_capacity(8 * 1024 + 32);
        let body = std::mem::take(&mut reply.body);
        sent_push(&mut sent, &body);
        drop(body);
        if let Some(s) = reply.stream.as_mut() {
            loop {
                chunk.clear();
                let done = s.pump(&model, &mut chunk, 8 * 1024).expect("piece");
                sent_push(&mut sent, &chunk);
                if done {
                    break;
                }
            }
        }
        streamed
    });
    (sent, peak, streamed)
}

/// Appends outside the count (the socket's side of the write).
fn sent_push(sent: &mut Vec<u8>, bytes: &[u8]) {
    uncounted(|| sent.extend_from_slice(bytes));
}

#[test]
fn a_streamed_enumerate_holds_a_piece_not_the_response() {
    let (held, held_peak, streamed) = run(usize::MAX, 250);
    assert!(!streamed);
    let (got, stream_peak, streamed) = run(16 * 1024, 250);
    assert!(streamed);
    assert!(got == held, "the same bytes either way");
    let (_, small_peak, _) = run(16 * 1024, 60);
    println!(
        "enumerate of 250 sensors: response {} B; heap peak held {held_peak} B, streamed \
         {stream_peak} B (60 sensors streamed: {small_peak} B)",
        held.len()
    );
    assert!(held.len() > 200 * 1024, "{}", held.len());
    assert!(
        held_peak > held.len(),
        "held, the response is on the heap whole"
    );
    // 16 KiB of items and their envelope up front, one 8 KiB piece, the parsed request and an
    // item's temporaries; and not growing with the item count.
    assert!(stream_peak < 64 * 1024, "{stream_peak}");
    assert!(
        stream_peak.abs_diff(small_peak) < 4 * 1024,
        "{stream_peak} vs {small_peak}"
    );
}
