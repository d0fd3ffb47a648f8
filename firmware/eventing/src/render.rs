//! Rendering with wsman's [`XmlWriter`]: the response bodies of Subscribe, Renew and GetStatus
//! (the wiring puts them in wsman's envelope as a raw body), and the whole envelopes of the
//! messages this source sends to a subscriber.
//!
//! wsman's response envelope declares `s`, `a`, `n`, `w`, `xsi` and `cim` but not `e`, so each
//! body element here declares `xmlns:e` itself. Delivery envelopes are requests from this
//! source, so they carry a `wsa:ReplyTo` (anonymous: the Ack comes back on the same HTTP
//! exchange) and echo the NotifyTo reference parameters as headers (WS-Addressing 2004/08),
//! which is how Windows Event Collector finds its subscription (`e:Identifier`). They declare
//! the prefixes wsman's responses do (`a`, `w`, `xsi`, `cim`) plus `e`, so an indication that
//! cim renders for a response renders the same into a delivery; its class prefix it declares
//! itself, as a Provider's output does.

use alloc::string::String;

use wsbmc_wsman::XmlWriter;
use wsbmc_wsman::ns::{ANONYMOUS, SOAP};

use crate::deliver::{Delivery, DeliveryKind};
use crate::ns;
use crate::source::{Backlog, NoBacklog};
use crate::subscribe::{Endpoint, Expires};
use crate::table::{Body, Event, Subscription};

/// The text of `wse:Expires` in a response: a duration, or a date-time if that was asked.
pub fn expires_text(e: Expires) -> String {
    let mut s = String::new();
    match e {
        Expires::After(ms) => crate::datetime::format_duration(ms, &mut s),
        #[cfg(feature = "datetime")]
        Expires::At(unix) => crate::datetime::format(unix, &mut s),
    }
    s
}

/// `e:Expires` with its text, for the three responses that carry one: out of line, each of
/// them carried its own copy of the text's String and its drop.
#[inline(never)]
fn expires_leaf(out: &mut XmlWriter, e: Expires) {
    out.leaf("e:Expires", &expires_text(e));
}

fn manager_epr(out: &mut XmlWriter, manager: &str, id: &str) {
    out.open("e:SubscriptionManager", &[]);
    out.leaf("a:Address", manager);
    out.open("a:ReferenceParameters", &[]);
    out.leaf("e:Identifier", id);
    out.close("a:ReferenceParameters");
    out.close("e:SubscriptionManager");
}

/// `e:SubscribeResponse`: the manager EPR (`manager` is this service's own URL), the granted
/// expiry and, in Pull mode, the `n:EnumerationContext` to Pull with.
pub fn subscribe_response(
    out: &mut XmlWriter,
    sub: &Subscription,
    manager: &str,
    pull_context: Option<&str>,
) {
    out.open("e:SubscribeResponse", &[("xmlns:e", ns::WSE)]);
    manager_epr(out, manager, &sub.id);
    expires_leaf(out, sub.granted);
    if let Some(ctx) = pull_context {
        out.leaf("n:EnumerationContext", ctx);
    }
    out.close("e:SubscribeResponse");
}

/// `e:RenewResponse` with the granted expiry.
pub fn renew_response(out: &mut XmlWriter, granted: Expires) {
    out.open("e:RenewResponse", &[("xmlns:e", ns::WSE)]);
    expires_leaf(out, granted);
    out.close("e:RenewResponse");
}

/// `e:GetStatusResponse` with the time left.
pub fn get_status_response(out: &mut XmlWriter, left: Expires) {
    out.open("e:GetStatusResponse", &[("xmlns:e", ns::WSE)]);
    expires_leaf(out, left);
    out.close("e:GetStatusResponse");
}

/// The action URI a delivery goes out with.
pub fn delivery_action(sub: &Subscription, kind: DeliveryKind) -> &str {
    match kind {
        DeliveryKind::Event => sub
            .in_flight()
            .first()
            .map_or(ns::EVENT, |e| e.action.as_ref()),
        #[cfg(feature = "events")]
        DeliveryKind::Events => ns::EVENTS,
        DeliveryKind::Heartbeat => ns::HEARTBEAT,
        DeliveryKind::DroppedEvents(_) => ns::DROPPED_EVENTS,
        DeliveryKind::SubscriptionEnd(_) => ns::SUBSCRIPTION_END,
    }
}

/// Where a delivery goes: NotifyTo, or EndTo for SubscriptionEnd. `None` when the
/// subscription has no such endpoint (then there is nothing to send).
pub fn destination(sub: &Subscription, kind: DeliveryKind) -> Option<&Endpoint> {
    match kind {
        DeliveryKind::SubscriptionEnd(_) => sub.terms.end_to.as_ref(),
        _ => sub.terms.notify_to.as_ref(),
    }
}

/// An event's markup: as it was rendered, or a deferred one rendered now. A deferred event
/// rendered when it was raised (the platform chose what to queue from the indication), so a
/// failure now is a record the platform no longer decodes: the body stays empty.
fn event_body(out: &mut XmlWriter, e: &Event, backlog: &dyn Backlog) {
    match &e.body {
        Body::Rendered(b) => out.raw(b),
        Body::Deferred { record, part } => {
            let _ = backlog.render(record, *part, out);
        }
    }
}

/// Each event as a `w:Event` item with its action: an Events-mode batch's body, and a Pull's
/// items (source.rs), one copy for both.
pub(crate) fn event_items(out: &mut XmlWriter, events: &[Event], backlog: &dyn Backlog) {
    for e in events {
        out.open("w:Event", &[("Action", e.action.as_ref())]);
        event_body(out, e, backlog);
        out.close("w:Event");
    }
}

/// `w:DroppedEvents` counting `n`: a DroppedEvents message's body, and a Pull's first item.
pub(crate) fn dropped_events(out: &mut XmlWriter, n: u32) {
    out.open("w:DroppedEvents", &[("Action", ns::EVENT)]);
    out.text_int(false, u64::from(n));
    out.close("w:DroppedEvents");
}

/// Reference parameters as headers; each declares its own namespace on a private prefix.
fn ref_param_headers(out: &mut XmlWriter, to: &Endpoint) {
    for p in &to.params {
        if p.namespace.is_empty() {
            out.leaf(&p.local, &p.text);
        } else {
            let mut name = String::from("r:");
            name.push_str(&p.local);
            out.leaf_with(&name, &[("xmlns:r", &p.namespace)], &p.text);
        }
    }
}

/// The whole envelope of `d`, the message in flight for `sub` ([`crate::Table::poll`] gave
/// it). `message_id` is a fresh `uuid:` the caller also matches the Ack's RelatesTo against;
/// `manager` is this service's own URL (for SubscriptionEnd). Returns `false`, writing
/// nothing, when the message has no destination.
pub fn delivery(
    out: &mut XmlWriter,
    sub: &Subscription,
    d: &Delivery,
    message_id: &str,
    manager: &str,
) -> bool {
    delivery_from(out, sub, d, message_id, manager, &NoBacklog)
}

/// [`delivery`] for a platform that queues deferred events ([`Body::Deferred`]): `backlog`
/// renders them into the envelope as the message is made (the bare-metal image, whose heap
/// cannot hold its queues rendered). The caller checks it has the heap for that first, as a
/// Pull does with [`Backlog::can_render`].
pub fn delivery_from(
    out: &mut XmlWriter,
    sub: &Subscription,
    d: &Delivery,
    message_id: &str,
    manager: &str,
    backlog: &dyn Backlog,
) -> bool {
    let Some(to) = destination(sub, d.kind) else {
        return false;
    };
    out.open(
        "s:Envelope",
        &[
            ("xmlns:s", SOAP),
            ("xmlns:a", ns::WSA),
            ("xmlns:w", ns::WSMAN),
            ("xmlns:e", ns::WSE),
            ("xmlns:xsi", wsbmc_wsman::ns::XSI),
            ("xmlns:cim", wsbmc_wsman::ns::CIM),
        ],
    );
    out.open("s:Header", &[]);
    out.leaf("a:To", &to.address);
    out.leaf("a:Action", delivery_action(sub, d.kind));
    out.leaf("a:MessageID", message_id);
    out.open("a:ReplyTo", &[]);
    out.leaf("a:Address", ANONYMOUS);
    out.close("a:ReplyTo");
    ref_param_headers(out, to);
    let end = matches!(d.kind, DeliveryKind::SubscriptionEnd(_));
    if !end && sub.terms.mode.acked() {
        out.empty("w:AckRequested", &[]);
    }
    if !end && sub.terms.send_bookmarks {
        // The bookmark once this message is delivered: its last SEL record, or the one before.
        let last = sub
            .in_flight()
            .iter()
            .rev()
            .find_map(|e| e.record_id)
            .or(sub.last_record);
        if let Some(r) = last {
            out.open("w:Bookmark", &[]);
            out.text(crate::subscribe::BOOKMARK_PREFIX);
            out.text_int(false, u64::from(r));
            out.close("w:Bookmark");
        }
    }
    out.close("s:Header");
    // A heartbeat's body is empty; every other kind's is opened and closed once here, not in
    // each arm.
    let heartbeat = d.kind == DeliveryKind::Heartbeat;
    if heartbeat {
        out.empty("s:Body", &[]);
    } else {
        out.open("s:Body", &[]);
    }
    match d.kind {
        DeliveryKind::Event => {
            if let Some(e) = sub.in_flight().first() {
                event_body(out, e, backlog);
            }
        }
        #[cfg(feature = "events")]
        DeliveryKind::Events => {
            out.open("w:Events", &[]);
            event_items(out, sub.in_flight(), backlog);
            out.close("w:Events");
        }
        DeliveryKind::Heartbeat => {}
        DeliveryKind::DroppedEvents(n) => dropped_events(out, n),
        DeliveryKind::SubscriptionEnd(status) => {
            out.open("e:SubscriptionEnd", &[]);
            manager_epr(out, manager, &sub.id);
            out.leaf("e:Status", status);
            let reason = if status == ns::STATUS_SOURCE_CANCELLING {
                "An event was larger than the subscription's MaxEnvelopeSize."
            } else if status == ns::STATUS_SOURCE_SHUTTING_DOWN {
                "The event source is shutting down."
            } else {
                "The event sink did not answer; delivery was retried and given up."
            };
            out.leaf_with("e:Reason", &[("xml:lang", "en-US")], reason);
            out.close("e:SubscriptionEnd");
        }
    }
    if !heartbeat {
        out.close("s:Body");
    }
    out.close("s:Envelope");
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscribe::{DeliveryMode, RefParam};
    use crate::table::tests_support::terms;
    use crate::table::{Clock, Config, Event, Table};
    use alloc::vec;

    fn table(mode: DeliveryMode) -> (Table, String) {
        let mut t = Table::new(Config::default());
        let mut req = terms(mode);
        if let Some(n) = req.notify_to.as_mut() {
            n.params = vec![
                RefParam {
                    namespace: ns::WSE.into(),
                    local: "Identifier".into(),
                    text: "ABC".into(),
                },
                RefParam {
                    namespace: String::new(),
                    local: "Plain".into(),
                    text: "<&>".into(),
                },
            ];
        }
        req.send_bookmarks = true;
        let id = t
            .subscribe(req, "u", Clock::monotonic(0), &mut || 5)
            .unwrap()
            .id
            .clone();
        (t, id)
    }

    fn render(t: &Table, d: &Delivery) -> String {
        let mut out = XmlWriter::new();
        assert!(delivery(
            &mut out,
            t.get(&d.id).unwrap(),
            d,
            "uuid:M",
            "http://bmc/wsman"
        ));
        let s = out.into_string();
        roxmltree::Document::parse(&s).expect("well-formed");
        s
    }

    #[test]
    fn push_event_carries_its_own_action_and_reference_parameters() {
        let (mut t, _) = table(DeliveryMode::PushWithAck);
        t.offer(
            Event::new(Some(7), "urn:alert", r#"<p:A xmlns:p="urn:p"/>"#),
            0,
            |_| true,
        );
        let d = t.poll(0).unwrap();
        let s = render(&t, &d);
        assert!(s.contains("<a:Action>urn:alert</a:Action>"));
        assert!(s.contains(r#"<r:Identifier xmlns:r="http://schemas.xmlsoap.org/ws/2004/08/eventing">ABC</r:Identifier>"#));
        assert!(s.contains("<Plain>&lt;&amp;&gt;</Plain>"));
        assert!(s.contains("<w:AckRequested/>"));
        assert!(s.contains("<w:Bookmark>sel:7</w:Bookmark>"));
        assert!(s.contains(r#"<s:Body><p:A xmlns:p="urn:p"/></s:Body>"#));
    }

    #[test]
    fn push_without_ack_requests_none() {
        let (mut t, _) = table(DeliveryMode::Push);
        t.offer(
            Event::new(None, "urn:alert", r#"<p:A xmlns:p="urn:p"/>"#),
            0,
            |_| true,
        );
        let d = t.poll(0).unwrap();
        let s = render(&t, &d);
        assert!(!s.contains("AckRequested"));
        // No record, no earlier record: no bookmark yet.
        assert!(!s.contains("Bookmark"));
    }

    #[cfg(feature = "events")]
    #[test]
    fn heartbeat_carries_the_last_bookmark() {
        let (mut t, id) = table(DeliveryMode::Events);
        t.offer(Event::new(Some(3), "urn:a", "<x/>"), 0, |_| true);
        assert_eq!(t.poll(30_000).unwrap().kind, DeliveryKind::Events);
        t.complete(
            &id,
            crate::deliver::Outcome::Accepted { acked: true },
            30_000,
        );
        // The same subscription with heartbeats, as the store would give it back.
        let mut sub = t.get(&id).unwrap().clone();
        sub.terms.heartbeat_ms = Some(1_000);
        let mut t = Table::new(Config::default());
        t.restore(sub).unwrap();
        let d = t.poll(31_000).unwrap();
        assert_eq!(d.kind, DeliveryKind::Heartbeat);
        let s = render(&t, &d);
        assert!(s.contains("<w:Bookmark>sel:3</w:Bookmark>"));
        assert!(s.contains("<s:Body/>"));
    }

    #[test]
    fn frame_estimate_bounds_the_rendered_envelope() {
        let (mut t, _) = table(DeliveryMode::Events);
        for i in 0..20 {
            t.offer(
                Event::new(
                    Some(i),
                    "urn:some/long/action/uri",
                    r#"<p:X xmlns:p="urn:p">ü&amp;</p:X>"#,
                ),
                0,
                |_| true,
            );
        }
        let d = t.poll(100_000).unwrap();
        let sub = t.get(&d.id).unwrap();
        let s = render(&t, &d);
        let bound = crate::deliver::frame_len(sub)
            + sub
                .in_flight()
                .iter()
                .map(crate::deliver::event_len)
                .sum::<usize>();
        assert!(s.len() <= bound, "{} > {bound}", s.len());
    }

    #[test]
    fn no_destination_renders_nothing() {
        let (mut t, id) = table(DeliveryMode::Push);
        t.offer(Event::new(None, "urn:a", "<x/>"), 0, |_| true);
        t.poll(0).unwrap();
        let d = Delivery {
            id,
            kind: DeliveryKind::SubscriptionEnd(ns::STATUS_DELIVERY_FAILURE),
            attempt: 0,
        };
        let mut out = XmlWriter::new();
        assert!(!delivery(
            &mut out,
            t.get(&d.id).unwrap(),
            &d,
            "uuid:M",
            "http://bmc/"
        ));
        assert!(out.is_empty());
    }

    /// A deferred event goes out rendered by the platform's backlog as the message is made.
    #[test]
    fn a_deferred_event_is_rendered_into_its_push_by_the_backlog() {
        struct Sel;
        impl Backlog for Sel {
            fn replay(
                &self,
                _: crate::Bookmark,
                _: Option<&str>,
                _: &mut dyn FnMut(Event),
            ) -> Result<(), wsbmc_wsman::Fault> {
                Ok(())
            }
            fn render(&self, record: &[u8; 16], part: u8, out: &mut XmlWriter) -> bool {
                assert_eq!((record[0], part), (4, 1));
                out.raw(r#"<p:R xmlns:p="urn:p"/>"#);
                true
            }
        }
        let (mut t, _) = table(DeliveryMode::Push);
        t.offer(Event::deferred(9, "urn:alert", [4; 16], 1), 0, |_| true);
        let d = t.poll(0).unwrap();
        let sub = t.get(&d.id).unwrap();
        let mut out = XmlWriter::new();
        assert!(delivery_from(
            &mut out,
            sub,
            &d,
            "uuid:M",
            "http://bmc/wsman",
            &Sel
        ));
        let s = out.into_string();
        roxmltree::Document::parse(&s).expect("well-formed");
        assert!(s.contains("<a:Action>urn:alert</a:Action>"), "{s}");
        assert!(
            s.contains(r#"<s:Body><p:R xmlns:p="urn:p"/></s:Body>"#),
            "{s}"
        );
        assert!(s.contains("<w:Bookmark>sel:9</w:Bookmark>"), "{s}");
        // Without a backlog that renders, the body is empty rather than wrong.
        let mut out = XmlWriter::new();
        assert!(delivery(&mut out, sub, &d, "uuid:M", "http://bmc/wsman"));
        assert!(!out.into_string().contains("p:R"));
    }
}
