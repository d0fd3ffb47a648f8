//! The Subscribe envelopes consoles send (tests/fixtures), parsed through wsman's envelope
//! parser as the wiring will, and the replies and deliveries they lead to, against golden XML
//! (tests/golden, compared byte for byte).
//!
//! `WSBMC_BLESS=1 cargo test -p wsbmc-eventing --test conformance` rewrites the goldens from
//! the current output; review the diff before committing it.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The consoles' shapes subscribe in Events, PushWithAck and Push modes and carry their terms,
// which a build without `push` refuses by design (DeliveryModeRequestedUnavailable; the unit
// tests in src/subscribe.rs check that refusal), so these run with the feature only.
#![cfg(feature = "push")]

use std::path::PathBuf;

use wsbmc_eventing::deliver::EndReason;
use wsbmc_eventing::subscribe::{self, AuthScheme, Expires};
use wsbmc_eventing::{
    Bookmark, Clock, Config, DeliveryKind, DeliveryMode, Event, Outcome, Subscribe, Table, ns,
    render,
};
use wsbmc_wsman::respond::{ResponseBody, ResponseHeader, write_response};
use wsbmc_wsman::rng::TokenGen;
use wsbmc_wsman::{Fault, FaultDetail, FaultKind, XmlWriter};

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(dir("fixtures").join(name)).unwrap()
}

/// Parses a whole request as the wiring will: wsman's bounded document parser, then the
/// Subscribe body with the header beside it.
fn parse(text: &str) -> Result<Subscribe, Fault> {
    let doc = wsbmc_wsman::envelope::parse_document(text, &wsbmc_wsman::Limits::default())
        .expect("wsman accepts the document");
    let root = doc.root_element();
    let header = root
        .children()
        .find(|n| n.tag_name().name() == "Header")
        .unwrap();
    let body = root
        .children()
        .find(|n| n.tag_name().name() == "Body")
        .unwrap();
    let subscribe = body.children().find(|n| n.is_element()).unwrap();
    subscribe::parse(subscribe, Some(header), &subscribe::Limits::default())
}

fn check(name: &str, rendered: &str) {
    roxmltree::Document::parse(rendered).unwrap_or_else(|e| panic!("{name}: not XML: {e}"));
    let path = dir("golden").join(format!("{name}.xml"));
    if std::env::var_os("WSBMC_BLESS").is_some() {
        std::fs::write(&path, format!("{rendered}\n")).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{name}: {e} (bless with WSBMC_BLESS=1)"));
    assert_eq!(
        rendered,
        want.trim_end_matches('\n'),
        "{name} differs from its golden"
    );
}

const MANAGER: &str = "http://127.0.0.1:5985/wsman";

/// A whole response envelope around a body, as wsman's service writes it.
fn response(action: &str, relates_to: &str, body: &str) -> String {
    let mut out = XmlWriter::new();
    let head = ResponseHeader {
        action,
        message_id: TokenGen::new(7).next_uuid(),
        relates_to: Some(relates_to),
        total_items: None,
    };
    let body = if body.is_empty() {
        ResponseBody::Empty
    } else {
        ResponseBody::Raw(body)
    };
    write_response(&mut out, &head, &body);
    out.into_string()
}

fn body(f: impl FnOnce(&mut XmlWriter)) -> String {
    let mut out = XmlWriter::new();
    f(&mut out);
    out.into_string()
}

/// The next message for `table`, rendered.
fn deliver(table: &mut Table, now: u64, kind: DeliveryKind) -> (String, String) {
    let d = table.poll(now).expect("a delivery is due");
    assert_eq!(d.kind, kind);
    let sub = table.get(&d.id).unwrap();
    let mut out = XmlWriter::new();
    assert!(render::delivery(
        &mut out,
        sub,
        &d,
        "uuid:00000000-0000-4000-8000-0000000000AA",
        MANAGER
    ));
    (d.id, out.into_string())
}

fn alert(record: u16, severity: u8) -> Event {
    let body = format!(
        r#"<p:CIM_AlertIndication xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication"><p:AlertType>2</p:AlertType><p:PerceivedSeverity>{severity}</p:PerceivedSeverity><p:MessageID>PLAT0001</p:MessageID></p:CIM_AlertIndication>"#
    );
    Event::new(
        Some(record),
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication",
        body,
    )
}

fn random() -> impl FnMut() -> u128 {
    let mut g = TokenGen::new(42);
    move || g.next_u128()
}

#[test]
fn wec_events_with_kerberos_and_an_event_log_query_is_refused() {
    // The first refusal is the filter (Subscribe's own children are read before Delivery's).
    let text = fixture("wec-subscribe-events.xml");
    let e = parse(&text).unwrap_err();
    assert_eq!(
        (e.kind, e.detail),
        (FaultKind::FilteringRequestedUnavailable, None)
    );
    // Without the query, the Kerberos-only policy is what cannot be honoured.
    let start = text.find("<w:Filter").unwrap();
    let end = text.find("</w:Filter>").unwrap() + "</w:Filter>".len();
    let e = parse(&format!("{}{}", &text[..start], &text[end..])).unwrap_err();
    assert_eq!(
        (e.kind, e.detail),
        (
            FaultKind::UnsupportedFeature,
            Some(FaultDetail::AuthorizationMode)
        )
    );
    assert!(e.message.unwrap().contains("spnego-kerberos"));
}

#[cfg(feature = "events")]
#[test]
fn wec_events_with_basic_and_wql_is_accepted_and_delivers_batches() {
    use wsbmc_eventing::subscribe::{ContentEncoding, EnvelopePolicy};
    let terms = parse(&fixture("wec-subscribe-events-basic-wql.xml")).unwrap();
    assert_eq!(terms.mode, DeliveryMode::Events);
    assert_eq!(terms.heartbeat_ms, Some(3_600_000));
    assert_eq!(terms.max_elements, Some(20));
    assert_eq!(terms.max_time_ms, Some(30_000));
    assert_eq!(terms.max_envelope_size, Some(65_536));
    assert_eq!(terms.envelope_policy, EnvelopePolicy::Notify);
    assert_eq!(terms.locale.as_deref(), Some("en-US"));
    assert_eq!(terms.content_encoding, Some(ContentEncoding::Utf16));
    assert!(terms.send_bookmarks);
    assert_eq!(terms.connection_retry.unwrap().total, 5);
    assert_eq!(terms.auth.as_ref().unwrap().scheme, AuthScheme::Basic);
    let notify = terms.notify_to.as_ref().unwrap();
    assert_eq!(notify.params.len(), 1);
    assert_eq!(
        notify.params[0].text,
        "6F2B8D4A-3C1E-4B9F-A7D5-0E8C6B4A2F19"
    );
    assert!(terms.end_to.is_some());
    assert_eq!(
        terms.filter.as_deref(),
        Some("SELECT * FROM CIM_AlertIndication WHERE PerceivedSeverity >= 5")
    );

    // No Expires in the request: a day, so the hourly heartbeat comes due.
    let mut t = Table::new(Config {
        default_expiry_ms: 86_400_000,
        ..Config::default()
    });
    let sub = t
        .subscribe(terms, "admin", Clock::monotonic(0), &mut random())
        .unwrap();
    let id = sub.id.clone();
    let b = body(|o| render::subscribe_response(o, sub, MANAGER, None));
    check(
        "wec-subscribe-response",
        &response(
            ns::SUBSCRIBE_RESPONSE,
            "uuid:0B5B2A6C-1D8F-4E63-9B43-5D4E2C7B1A10",
            &b,
        ),
    );

    t.offer(alert(11, 6), 1_000, |_| true);
    t.offer(alert(12, 5), 2_000, |_| true);
    assert_eq!(t.poll(30_999), None);
    let (_, batch) = deliver(&mut t, 31_000, DeliveryKind::Events);
    check("wec-events-batch", &batch);
    assert_eq!(
        t.complete(&id, Outcome::Accepted { acked: true }, 31_100),
        None
    );
    assert_eq!(t.get(&id).unwrap().last_record, Some(12));

    let (_, hb) = deliver(&mut t, 31_100 + 3_600_000, DeliveryKind::Heartbeat);
    check("wec-heartbeat", &hb);

    // The sink stops answering: five retries, then SubscriptionEnd to EndTo.
    let mut now = 31_100 + 3_600_000;
    t.complete(&id, Outcome::Failed, now);
    for _ in 0..5 {
        now = t.next_wakeup().unwrap();
        t.poll(now).unwrap();
        t.complete(&id, Outcome::Failed, now);
    }
    let (_, end) = deliver(
        &mut t,
        now,
        DeliveryKind::SubscriptionEnd(ns::STATUS_DELIVERY_FAILURE),
    );
    check("wec-subscription-end", &end);
    let ended = t.complete(&id, Outcome::Failed, now).unwrap();
    assert_eq!(ended.reason, EndReason::DeliveryFailure);
    assert!(t.is_empty());
}

#[test]
fn wseventmgr_push_with_ack_is_accepted_with_its_credentials() {
    let terms = parse(&fixture("wseventmgr-subscribe-pushwithack.xml")).unwrap();
    assert_eq!(terms.mode, DeliveryMode::PushWithAck);
    assert_eq!(terms.expires, Some(Expires::After(600_000)));
    assert_eq!(terms.heartbeat_ms, Some(10_000));
    let auth = terms.auth.clone().unwrap();
    assert_eq!(auth.scheme, AuthScheme::Digest);
    let creds = auth.credentials.unwrap();
    assert_eq!(
        (creds.username.as_str(), creds.password.as_str()),
        ("sink", "sink-secret")
    );
    assert_eq!(
        terms.filter.as_deref(),
        Some("SELECT * FROM CIM_AlertIndication")
    );

    let mut t = Table::new(Config {
        max_queue: 2,
        ..Config::default()
    });
    let sub = t
        .subscribe(terms, "admin", Clock::monotonic(0), &mut random())
        .unwrap();
    let id = sub.id.clone();
    let b = body(|o| render::subscribe_response(o, sub, MANAGER, None));
    let resp = response(
        ns::SUBSCRIBE_RESPONSE,
        "uuid:1c3f8e2a-7b4d-1d9e-8002-3a7e5d2c1b0f",
        &b,
    );
    // The delivery password is never echoed.
    assert!(!resp.contains("sink-secret"));
    check("wseventmgr-subscribe-response", &resp);

    t.offer(alert(40, 6), 10, |_| true);
    let (_, push) = deliver(&mut t, 10, DeliveryKind::Event);
    assert!(!push.contains("sink-secret"));
    check("wseventmgr-push-event", &push);
    t.complete(&id, Outcome::Accepted { acked: true }, 20);

    // Three events into a queue of two: the oldest is dropped and reported first.
    for r in 41..44 {
        t.offer(alert(r, 3), 30, |_| true);
    }
    let (_, dropped) = deliver(&mut t, 30, DeliveryKind::DroppedEvents(1));
    check("wseventmgr-dropped-events", &dropped);
    t.complete(&id, Outcome::Accepted { acked: true }, 40);

    let granted = t
        .renew(
            &id,
            "admin",
            Some(Expires::After(1_200_000)),
            Clock::monotonic(50),
        )
        .unwrap();
    let b = body(|o| render::renew_response(o, granted));
    check(
        "renew-response",
        &response(ns::RENEW_RESPONSE, "uuid:renew", &b),
    );
    let left = t
        .get_status(&id, "admin", Clock::monotonic(60_050))
        .unwrap();
    assert_eq!(left, Expires::After(1_140_000));
    let b = body(|o| render::get_status_response(o, left));
    check(
        "get-status-response",
        &response(ns::GET_STATUS_RESPONSE, "uuid:status", &b),
    );
    // The sink refuses: gone at once.
    t.poll(60_050).unwrap();
    let end = t.complete(&id, Outcome::Refused, 60_060).unwrap();
    assert_eq!(end.reason, EndReason::Refused);
}

#[test]
fn wseventmgr_pull_from_the_earliest_bookmark() {
    let terms = parse(&fixture("wseventmgr-subscribe-pull-earliest.xml")).unwrap();
    assert_eq!(terms.mode, DeliveryMode::Pull);
    assert_eq!(terms.bookmark, Some(Bookmark::Earliest));
    assert_eq!(terms.notify_to, None);
    let mut t = Table::new(Config::default());
    let sub = t
        .subscribe(terms, "admin", Clock::monotonic(0), &mut random())
        .unwrap();
    let id = sub.id.clone();
    let b = body(|o| render::subscribe_response(o, sub, MANAGER, Some(&id)));
    check(
        "pull-subscribe-response",
        &response(
            ns::SUBSCRIBE_RESPONSE,
            "uuid:1c3f8e2a-7b4d-1d9e-8002-3a7e5d2c1b0f",
            &b,
        ),
    );
    // Replaying the SEL is the wiring's job: it offers the held records to this subscription.
    for r in 1..=3 {
        t.offer(alert(r, 2), 5, |s| s.id == id);
    }
    let batch = t.pull(&id, "admin", 10, 32_000, 6).unwrap();
    assert_eq!(batch.events.len(), 3);
    assert_eq!(
        t.get(&id).unwrap().bookmark_text().as_deref(),
        Some("sel:3")
    );
}

#[test]
fn openwsman_misspelt_mode_is_taken_as_meant() {
    let text = fixture("wseventmgr-subscribe-pushwithack.xml").replace(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/PushWithAck",
        "http://schemas.dmtf.org/wbmem/wsman/1/wsman/PushWithAck",
    );
    assert_eq!(parse(&text).unwrap().mode, DeliveryMode::PushWithAck);
}
