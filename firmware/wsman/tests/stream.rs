//! Streamed Enumerate/Pull responses (`Limits::stream_from`): the body and the pieces of the
//! stream, put together, are byte for byte the response a service that holds it whole sends,
//! whatever the split points, in UTF-8 and UTF-16, and no piece holds more than it was given
//! room for plus one item.

#![cfg(feature = "stream")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use wsbmc_wsman::{Limits, Provider, Reply, ReplyKind, RequestMeta, Service};

const SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
const WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
const WSEN: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration";
const ENUMERATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate";
const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";

fn envelope(action: &str, headers: &str, body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="{SOAP}" xmlns:a="{WSA}" xmlns:w="{WSMAN}" xmlns:n="{WSEN}"><s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:REQ</a:MessageID><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><w:ResourceURI>{URI}</w:ResourceURI>{headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn encode(s: &str, utf16: bool) -> Vec<u8> {
    if utf16 {
        let mut b = vec![0xFF, 0xFE];
        b.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
        b
    } else {
        s.as_bytes().to_vec()
    }
}

fn limits(stream_from: usize) -> Limits {
    Limits {
        stream_from,
        ..Limits::default()
    }
}

/// The whole response: the body, then the stream pumped `room` bytes at a time. Checks each
/// piece stays within `room` plus one item (`item_max` bytes of output).
fn whole<P: Provider>(p: &P, mut r: Reply, room: usize, item_max: usize) -> (Vec<u8>, usize) {
    let mut out = r.body;
    let mut pieces = 0;
    if let Some(s) = r.stream.as_mut() {
        loop {
            let mut piece = Vec::new();
            let done = s.pump(p, &mut piece, room).expect("stream");
            assert!(
                piece.len() <= room.max(item_max) + 200,
                "piece of {} bytes for room {room}",
                piece.len()
            );
            out.extend_from_slice(&piece);
            pieces += 1;
            if done {
                break;
            }
        }
    }
    (out, pieces)
}

/// One Enumerate (optimized or not) and the Pulls that finish it; every response's bytes.
fn session(
    p: &Fake,
    stream_from: usize,
    room: usize,
    utf16: bool,
    headers: &str,
    pull_extra: &str,
) -> (Vec<Vec<u8>>, usize) {
    let mut svc = Service::new(limits(stream_from), SEED);
    let ct = if utf16 {
        "application/soap+xml;charset=UTF-16"
    } else {
        "application/soap+xml;charset=UTF-8"
    };
    let m = RequestMeta {
        content_type: Some(ct),
        user: Some("admin"),
        now_ms: NOW,
        security_profiles: None,
    };
    let item_max = 2 * (400 + p.padding);
    let mut replies = Vec::new();
    let mut streamed = 0;
    let body =
        "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>7</w:MaxElements></n:Enumerate>";
    let r = svc.handle(p, &m, &encode(&envelope(ENUMERATE, headers, body), utf16));
    assert_eq!(r.kind, ReplyKind::Success);
    streamed += usize::from(r.stream.is_some());
    let (bytes, _) = whole(p, r, room, item_max);
    replies.push(bytes);
    for _ in 0..100 {
        let text = decode(replies.last().unwrap(), utf16);
        let Some(ctx) = context_of(&text) else { break };
        let pull = format!(
            "<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext><n:MaxElements>1000</n:MaxElements>{pull_extra}</n:Pull>"
        );
        let r = svc.handle(p, &m, &encode(&envelope(PULL, headers, &pull), utf16));
        assert_eq!(r.kind, ReplyKind::Success, "{}", decode(&r.body, utf16));
        streamed += usize::from(r.stream.is_some());
        let (bytes, _) = whole(p, r, room, item_max);
        replies.push(bytes);
    }
    (replies, streamed)
}

fn decode(b: &[u8], utf16: bool) -> String {
    if utf16 {
        assert_eq!(&b[..2], &[0xFF, 0xFE]);
        let u: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&u).expect("utf-16")
    } else {
        String::from_utf8(b.to_vec()).expect("utf-8")
    }
}

fn context_of(reply: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(reply).expect("well-formed");
    doc.descendants()
        .find(|n| n.has_tag_name((WSEN, "EnumerationContext")))
        .and_then(|n| n.text())
        .map(str::to_string)
}

#[test]
fn a_streamed_response_is_the_held_response_byte_for_byte() {
    let p = Fake {
        count: 60,
        padding: 300,
    };
    let mes = "<w:MaxEnvelopeSize>60000</w:MaxEnvelopeSize>";
    for utf16 in [false, true] {
        let (want, streamed) = session(&p, usize::MAX, 4096, utf16, mes, "");
        assert_eq!(streamed, 0);
        assert!(want.len() >= 2, "the batch spans a Pull");
        // Split points: before the first item, inside the first, at item boundaries and in
        // between, and past the batch (nothing streamed); pieces of one byte to many items.
        for stream_from in [1, 100, 500, 537, 538, 539, 1000, 4096, 20_000, 59_000] {
            for room in [1, 7, 538, 4096, 100_000] {
                let (got, streamed) = session(&p, stream_from, room, utf16, mes, "");
                assert_eq!(got.len(), want.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g == w,
                        "reply {i} differs (utf16={utf16}, stream_from={stream_from}, room={room})"
                    );
                }
                if stream_from < 20_000 {
                    assert!(streamed > 0, "stream_from={stream_from}");
                }
            }
        }
    }
}

#[test]
fn max_characters_and_max_envelope_size_bound_a_streamed_batch_as_a_held_one() {
    let p = Fake {
        count: 40,
        padding: 50,
    };
    let mes = "<w:MaxEnvelopeSize>9000</w:MaxEnvelopeSize>";
    for extra in ["", "<n:MaxCharacters>2000</n:MaxCharacters>"] {
        for utf16 in [false, true] {
            let (want, _) = session(&p, usize::MAX, 4096, utf16, mes, extra);
            for stream_from in [1, 300, 1999, 2000, 2001, 5000] {
                let (got, _) = session(&p, stream_from, 333, utf16, mes, extra);
                assert!(
                    got == want,
                    "{extra} utf16={utf16} stream_from={stream_from}"
                );
            }
        }
    }
}

/// Between two pieces the provider's data may change (a poller updates readings). Items that
/// grew past what is left of the budget break the stream rather than pass MaxEnvelopeSize;
/// items that disappeared end it short but well-formed.
#[test]
fn a_stream_over_changed_data_ends_short_or_breaks_never_overruns() {
    let mes = "<w:MaxEnvelopeSize>20000</w:MaxEnvelopeSize>";
    let body =
        "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>100</w:MaxElements></n:Enumerate>";
    let request = envelope(ENUMERATE, mes, body);
    let before = Fake {
        count: 60,
        padding: 300,
    };
    let start = || {
        let mut svc = Service::new(limits(2000), SEED);
        let r = svc.handle(&before, &meta(Some("admin")), request.as_bytes());
        assert_eq!(r.kind, ReplyKind::Success);
        assert!(r.stream.is_some());
        r
    };
    // Grown: every item 200 characters longer than when the reply was planned.
    let grown = Fake {
        count: 60,
        padding: 500,
    };
    let mut r = start();
    let stream = r.stream.as_mut().unwrap();
    let mut out = r.body.clone();
    let mut broke = false;
    for _ in 0..100 {
        match stream.pump(&grown, &mut out, 4096) {
            Ok(true) => break,
            Ok(false) => {}
            Err(_) => {
                broke = true;
                break;
            }
        }
    }
    assert!(broke, "grown items cannot all fit what the reply promised");
    assert!(
        out.len() <= 20000,
        "{} bytes sent past MaxEnvelopeSize",
        out.len()
    );
    // Shrunk: the enumeration lost its last items; the reply ends with those it still has.
    let shrunk = Fake {
        count: 5,
        padding: 300,
    };
    let mut r = start();
    let mut out = r.body.clone();
    let stream = r.stream.as_mut().unwrap();
    while !stream.pump(&shrunk, &mut out, 4096).expect("ends short") {}
    let text = String::from_utf8(out).unwrap();
    assert!(text.len() <= 20000);
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let ids = doc
        .descendants()
        .filter(|n| n.has_tag_name((URI, "DeviceID")))
        .count();
    assert!(ids >= 1, "{ids}");
}

/// Issue 17, "parse once": the plan a provider works out at the Enumerate is kept in the context
/// and handed to every later batch (each Pull, its count estimate, the streamed rest of a
/// reply), never worked out again. The provider here faults on any batch without the plan of
/// the one Enumerate it saw, and counts how often it is asked to plan.
#[test]
fn every_pull_and_piece_reuses_the_enumerates_plan() {
    use std::cell::Cell;
    use wsbmc_wsman::enumeration::{Batch, BatchLimits, fill_from};
    use wsbmc_wsman::envelope::EnumMode;
    use wsbmc_wsman::provider::{EnumPlan, PerItem, ProviderPlan};
    use wsbmc_wsman::{Cursor, EnumSpec, Epr, Fault, FaultKind, Identity, Target, XmlWriter};

    /// A plan nothing but `prepare` makes: the number of the Enumerate it was made for.
    struct Mark(u32);
    impl ProviderPlan for Mark {
        fn heap_bytes(&self) -> usize {
            0
        }
    }
    struct Planning {
        fake: Fake,
        prepared: Cell<u32>,
        batches: Cell<u32>,
        counted: Cell<u32>,
    }
    impl Planning {
        fn check(&self, plan: &EnumPlan) -> Result<(), Fault> {
            match plan.get::<Mark>() {
                Some(Mark(n)) if *n == self.prepared.get() => Ok(()),
                _ => Err(Fault::new(FaultKind::InternalError).message("not the Enumerate's plan")),
            }
        }
    }
    impl Provider for Planning {
        fn identity(&self) -> Identity {
            self.fake.identity()
        }
        fn get(&self, t: &Target<'_>, o: &mut XmlWriter) -> Result<(), Fault> {
            self.fake.get(t, o)
        }
        fn enumerate(&self, s: &EnumSpec) -> Result<Cursor, Fault> {
            self.fake.enumerate(s)
        }
        fn prepare(&self, s: &EnumSpec) -> Result<(Cursor, EnumPlan), Fault> {
            let cursor = self.fake.enumerate(s)?;
            self.prepared.set(self.prepared.get() + 1);
            Ok((cursor, EnumPlan::new(Mark(self.prepared.get()))))
        }
        fn next_item(
            &self,
            s: &EnumSpec,
            c: &mut Cursor,
            o: Option<&mut XmlWriter>,
        ) -> Result<Option<Epr>, Fault> {
            self.fake.next_item(s, c, o)
        }
        fn fill_planned(
            &self,
            s: &EnumSpec,
            plan: &EnumPlan,
            mode: EnumMode,
            c: &mut Cursor,
            lim: BatchLimits,
        ) -> Result<Batch, Fault> {
            self.check(plan)?;
            self.batches.set(self.batches.get() + 1);
            fill_from(&mut PerItem::new(&self.fake, s), mode, c, lim)
        }
        fn count_planned(&self, s: &EnumSpec, plan: &EnumPlan) -> Option<u64> {
            self.check(plan).ok()?;
            self.counted.set(self.counted.get() + 1);
            self.fake.count_estimate(s)
        }
    }

    let p = Planning {
        fake: Fake {
            count: 40,
            padding: 300,
        },
        prepared: Cell::new(0),
        batches: Cell::new(0),
        counted: Cell::new(0),
    };
    let mut svc = Service::new(limits(2000), SEED);
    let m = meta(Some("admin"));
    let headers = "<w:RequestTotalItemsCountEstimate/>";
    let body = r#"<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>3</w:MaxElements><w:Filter Dialect="http://schemas.microsoft.com/wbem/wsman/1/WQL">SELECT * FROM WSB_Fake WHERE DeviceID &lt;&gt; 'dev-003'</w:Filter></n:Enumerate>"#;
    let r = svc.handle(&p, &m, envelope(ENUMERATE, headers, body).as_bytes());
    let (mut requests, mut streamed) = (1u32, u32::from(r.stream.is_some()));
    let (bytes, _) = whole(&p, r, 4096, 2000);
    let mut text = String::from_utf8(bytes).unwrap();
    let mut ids = Vec::new();
    loop {
        assert!(!text.contains("Fault"), "{text}");
        let doc = roxmltree::Document::parse(&text).expect("well-formed");
        ids.extend(
            doc.descendants()
                .filter(|n| n.has_tag_name((URI, "DeviceID")))
                .map(|n| n.text().unwrap_or("").to_string()),
        );
        let Some(ctx) = context_of(&text) else { break };
        let pull = format!(
            "<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext><n:MaxElements>{}</n:MaxElements></n:Pull>",
            if requests % 2 == 0 { 2 } else { 20 }
        );
        let r = svc.handle(&p, &m, envelope(PULL, headers, &pull).as_bytes());
        requests += 1;
        streamed += u32::from(r.stream.is_some());
        let (bytes, _) = whole(&p, r, 1024, 2000);
        text = String::from_utf8(bytes).unwrap();
        assert!(requests < 100, "does not end");
    }
    assert_eq!(ids.len(), 39, "{ids:?}");
    assert!(!ids.iter().any(|i| i == "dev-003"));
    assert!(requests > 2 && streamed > 0, "{requests} {streamed}");
    assert_eq!(p.prepared.get(), 1, "planned once, at the Enumerate");
    assert_eq!(p.counted.get(), requests);
    assert!(
        p.batches.get() > requests,
        "streamed pieces are batches too"
    );
}
