//! The consoles' Subscribe envelopes (tests/fixtures) and the requests that follow them, sent
//! through wsman's real service with a [`Source`] as its event source, the way the agent wires
//! it; every reply against a golden (tests/golden/service-*.xml, byte for byte).
//!
//! `WSBMC_BLESS=1 cargo test -p wsbmc-eventing --test service` rewrites the goldens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use wsbmc_eventing::subscribe::Bookmark;
use wsbmc_eventing::{Backlog, Config, DeliveryMode, Event, NoBacklog, Source};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultKind, Identity, Limits, Provider, ReplyKind, RequestMeta,
    Service, Target, XmlWriter,
};

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(dir("fixtures").join(name)).unwrap()
}

fn check(name: &str, rendered: &str) {
    roxmltree::Document::parse(rendered).unwrap_or_else(|e| panic!("{name}: not XML: {e}"));
    let path = dir("golden").join(format!("service-{name}.xml"));
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

/// A model with no instances: eventing needs none.
struct Empty;

impl Provider for Empty {
    fn identity(&self) -> Identity {
        Identity {
            vendor: "test".into(),
            version: "0".into(),
        }
    }
    fn get(&self, _: &Target<'_>, _: &mut XmlWriter) -> Result<(), Fault> {
        Err(Fault::unknown_resource())
    }
    fn enumerate(&self, _: &EnumSpec) -> Result<Cursor, Fault> {
        Err(Fault::unknown_resource())
    }
    fn next_item(
        &self,
        _: &EnumSpec,
        _: &mut Cursor,
        _: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault> {
        Ok(None)
    }
}

/// A SEL holding records 1..=3, each an alert of severity = its RecordID + 1.
struct Sel;

fn alert(record: u16, severity: u8) -> Event {
    let body = format!(
        r#"<p:CIM_AlertIndication xmlns:p="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication"><p:AlertType>2</p:AlertType><p:PerceivedSeverity>{severity}</p:PerceivedSeverity></p:CIM_AlertIndication>"#
    );
    Event::new(
        Some(record),
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication",
        body,
    )
}

impl Backlog for Sel {
    fn replay(
        &self,
        b: Bookmark,
        _filter: Option<&str>,
        sink: &mut dyn FnMut(Event),
    ) -> Result<(), Fault> {
        let from = match b {
            Bookmark::Earliest => 1,
            Bookmark::After(r) if (1..=3).contains(&r) => r + 1,
            Bookmark::After(_) => {
                return Err(Fault::with_detail(
                    FaultKind::InvalidBookmark,
                    wsbmc_wsman::FaultDetail::Expired,
                ));
            }
        };
        for r in from..=3 {
            sink(alert(r, r as u8 + 1));
        }
        Ok(())
    }
}

/// Every filter accepts every event here (cim evaluates WQL against indications; its tests
/// cover that).
fn all(_: Option<&str>) -> bool {
    true
}

struct Harness {
    service: Service,
    source: Source,
    now: u64,
}

impl Harness {
    fn new(modes: &'static [DeliveryMode], cfg: Config) -> Self {
        Self {
            service: Service::new(Limits::default(), 7),
            source: Source::new(cfg, 42, modes),
            now: 1_000,
        }
    }

    fn send_as(&mut self, user: &str, text: &str) -> (ReplyKind, String) {
        let meta = RequestMeta {
            content_type: Some("application/soap+xml;charset=UTF-8"),
            user: Some(user),
            now_ms: self.now,
            security_profiles: None,
        };
        let view = self.source.with(&Sel);
        let r = self
            .service
            .handle_with_events(&Empty, &view, &meta, None, text.as_bytes());
        (r.kind, String::from_utf8(r.body).unwrap())
    }

    fn send(&mut self, text: &str) -> (ReplyKind, String) {
        self.send_as("admin", text)
    }
}

const PULL_ONLY: &[DeliveryMode] = &[DeliveryMode::Pull];
#[cfg(feature = "push")]
const ALL_MODES: &[DeliveryMode] = &[
    DeliveryMode::Push,
    DeliveryMode::PushWithAck,
    DeliveryMode::Events,
    DeliveryMode::Pull,
];

/// A request envelope with `action`, `identifier` (a `wse:Identifier` header) and `body`.
fn request(action: &str, id: &str, identifier: Option<&str>, body: &str) -> String {
    let ident = identifier
        .map(|i| format!("<e:Identifier>{i}</e:Identifier>"))
        .unwrap_or_default();
    format!(
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:e="http://schemas.xmlsoap.org/ws/2004/08/eventing" xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:To>http://127.0.0.1:5985/wsman</a:To><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/*</w:ResourceURI><a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo><a:Action>{action}</a:Action><a:MessageID>{id}</a:MessageID>{ident}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

const E: &str = "http://schemas.xmlsoap.org/ws/2004/08/eventing";
const PULL: &str = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull";

fn pull(ctx: &str, id: &str) -> String {
    request(
        PULL,
        id,
        None,
        &format!(
            "<n:Pull><n:EnumerationContext>{ctx}</n:EnumerationContext><n:MaxElements>10</n:MaxElements></n:Pull>"
        ),
    )
}

/// The `e:Identifier` of a SubscribeResponse.
fn identifier_of(reply: &str) -> String {
    let doc = roxmltree::Document::parse(reply).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name((E, "Identifier")))
        .and_then(|n| n.text())
        .unwrap()
        .to_string()
}

fn subcode(reply: &str) -> String {
    let doc = roxmltree::Document::parse(reply).unwrap();
    let values: Vec<_> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "Value")
        .collect();
    values[1].text().unwrap().to_string()
}

#[test]
fn wseventmgr_pull_from_earliest_replays_the_sel_through_the_service() {
    let mut h = Harness::new(PULL_ONLY, Config::default());
    let (kind, reply) = h.send(&fixture("wseventmgr-subscribe-pull-earliest.xml"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("pull-subscribe", &reply);
    let id = identifier_of(&reply);
    // The SubscribeResponse's EnumerationContext is the identifier; Pull hands the replay over.
    assert!(reply.contains(&format!(
        "<n:EnumerationContext>{id}</n:EnumerationContext>"
    )));
    let (kind, reply) = h.send(&pull(&id, "uuid:pull-1"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("pull-events", &reply);
    // Nothing more pending: TimedOut at once, and the subscription stays.
    let (kind, reply) = h.send(&pull(&id, "uuid:pull-2"));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "w:TimedOut");
    // A new event reaches the next Pull.
    h.source.offer(alert(4, 6), h.now, &all);
    let (kind, reply) = h.send(&pull(&id, "uuid:pull-3"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    assert!(reply.contains("<p:PerceivedSeverity>6</p:PerceivedSeverity>"));
    // Another user's Pull on this context is no pull subscription of theirs: the enumeration
    // table answers, and it knows no such context.
    let (kind, reply) = h.send_as("operator", &pull(&id, "uuid:pull-4"));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "n:InvalidEnumerationContext");
}

#[test]
fn renew_get_status_unsubscribe_through_the_service() {
    let mut h = Harness::new(PULL_ONLY, Config::default());
    let (_, reply) = h.send(&fixture("wseventmgr-subscribe-pull-earliest.xml"));
    let id = identifier_of(&reply);
    h.now += 60_000;
    let (kind, reply) = h.send(&request(
        &format!("{E}/Renew"),
        "uuid:renew",
        Some(&id),
        "<e:Renew><e:Expires>PT1200S</e:Expires></e:Renew>",
    ));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("renew", &reply);
    h.now += 60_000;
    let (kind, reply) = h.send(&request(
        &format!("{E}/GetStatus"),
        "uuid:status",
        Some(&id),
        "<e:GetStatus/>",
    ));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("get-status", &reply);
    // Someone else's identifier is unknown to them.
    let (kind, reply) = h.send_as(
        "operator",
        &request(
            &format!("{E}/Unsubscribe"),
            "uuid:unsub-other",
            Some(&id),
            "<e:Unsubscribe/>",
        ),
    );
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "a:DestinationUnreachable");
    let (kind, reply) = h.send(&request(
        &format!("{E}/Unsubscribe"),
        "uuid:unsub",
        Some(&id),
        "<e:Unsubscribe/>",
    ));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("unsubscribe", &reply);
    assert!(h.source.table().borrow().is_empty());
    // Renew after Unsubscribe: UnableToRenew, from wsman's catalogue.
    let (kind, reply) = h.send(&request(
        &format!("{E}/Renew"),
        "uuid:renew-gone",
        Some(&id),
        "<e:Renew/>",
    ));
    assert_eq!(kind, ReplyKind::Fault);
    check("fault-unable-to-renew", &reply);
    // GetStatus with no identifier at all.
    let (kind, reply) = h.send(&request(
        &format!("{E}/GetStatus"),
        "uuid:status-none",
        None,
        "<e:GetStatus/>",
    ));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "a:DestinationUnreachable");
}

#[test]
fn push_modes_are_refused_where_only_pull_is_delivered() {
    let mut h = Harness::new(PULL_ONLY, Config::default());
    let (kind, reply) = h.send(&fixture("wseventmgr-subscribe-pushwithack.xml"));
    assert_eq!(kind, ReplyKind::Fault);
    check("fault-pushwithack-unavailable", &reply);
    let (kind, reply) = h.send(&fixture("wec-subscribe-events-basic-wql.xml"));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "e:DeliveryModeRequestedUnavailable");
    assert!(h.source.table().borrow().is_empty());
}

/// Needs `events` (and so `push`): without it the crate refuses Events (the test below), and
/// without `push` every mode but Pull (the test above).
#[cfg(feature = "events")]
#[test]
fn consoles_subscribe_envelopes_are_accepted_where_their_mode_is_delivered() {
    let mut h = Harness::new(ALL_MODES, Config::default());
    let (kind, reply) = h.send(&fixture("wec-subscribe-events-basic-wql.xml"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("wec-subscribe", &reply);
    let (kind, reply) = h.send(&fixture("wseventmgr-subscribe-pushwithack.xml"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    check("wseventmgr-subscribe", &reply);
    // Windows Event Collector's Kerberos + event-log query is refused as the eventing crate
    // decides, through wsman's catalogue.
    let (kind, reply) = h.send(&fixture("wec-subscribe-events.xml"));
    assert_eq!(kind, ReplyKind::Fault);
    check("fault-wec-kerberos", &reply);
}

/// The bare-metal image's build: push without batches. Events is refused even where the
/// source is told to offer it, as a mode it does not offer is; PushWithAck is taken.
#[cfg(all(feature = "push", not(feature = "events")))]
#[test]
fn events_mode_is_refused_by_a_build_without_it() {
    let mut h = Harness::new(ALL_MODES, Config::default());
    let (kind, reply) = h.send(&fixture("wec-subscribe-events-basic-wql.xml"));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "e:DeliveryModeRequestedUnavailable");
    assert!(h.source.table().borrow().is_empty());
    let (kind, reply) = h.send(&fixture("wseventmgr-subscribe-pushwithack.xml"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
}

#[test]
fn quota_past_the_cap_and_bad_bookmarks() {
    let cfg = Config {
        max_subscriptions: 1,
        ..Config::default()
    };
    let mut h = Harness::new(PULL_ONLY, cfg);
    let sub = fixture("wseventmgr-subscribe-pull-earliest.xml");
    assert_eq!(h.send(&sub).0, ReplyKind::Success);
    let (kind, reply) = h.send(&sub);
    assert_eq!(kind, ReplyKind::Fault);
    check("fault-quota", &reply);
    // A bookmark past what the SEL holds: InvalidBookmark/Expired, and no subscription made.
    let mut h = Harness::new(PULL_ONLY, Config::default());
    let gone = sub.replace(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest",
        "sel:900",
    );
    assert_ne!(gone, sub);
    let (kind, reply) = h.send(&gone);
    assert_eq!(kind, ReplyKind::Fault);
    check("fault-bookmark-expired", &reply);
    assert!(h.source.table().borrow().is_empty());
    // No body at all: wse:InvalidMessage.
    let (kind, reply) = h.send(&request(&format!("{E}/Subscribe"), "uuid:empty", None, ""));
    assert_eq!(kind, ReplyKind::Fault);
    assert_eq!(subcode(&reply), "e:InvalidMessage");
}

#[test]
fn without_an_event_source_eventing_actions_are_not_supported() {
    let mut service = Service::new(Limits::default(), 7);
    let meta = RequestMeta {
        content_type: None,
        user: Some("admin"),
        now_ms: 0,
        security_profiles: None,
    };
    let text = fixture("wseventmgr-subscribe-pull-earliest.xml");
    let r = service.handle(&Empty, &meta, text.as_bytes());
    assert_eq!(r.kind, ReplyKind::Fault);
    assert_eq!(
        subcode(std::str::from_utf8(&r.body).unwrap()),
        "a:ActionNotSupported"
    );
    // And the NoBacklog source refuses a resume it cannot honour.
    let source = Source::new(Config::default(), 1, PULL_ONLY);
    let view = source.with(&NoBacklog);
    let gone = text.replace(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/bookmark/earliest",
        "sel:1",
    );
    let r = service.handle_with_events(&Empty, &view, &meta, None, gone.as_bytes());
    assert_eq!(
        subcode(std::str::from_utf8(&r.body).unwrap()),
        "w:InvalidBookmark"
    );
}

#[test]
fn a_replay_longer_than_the_queue_keeps_the_newest_and_reports_the_rest_dropped() {
    let cfg = Config {
        max_queue: 2,
        ..Config::default()
    };
    let mut h = Harness::new(PULL_ONLY, cfg);
    let (_, reply) = h.send(&fixture("wseventmgr-subscribe-pull-earliest.xml"));
    let id = identifier_of(&reply);
    let (kind, reply) = h.send(&pull(&id, "uuid:pull-dropped"));
    assert_eq!(kind, ReplyKind::Success, "{reply}");
    let doc = roxmltree::Document::parse(&reply).unwrap();
    let items = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Items")
        .unwrap();
    let kids: Vec<_> = items.children().filter(|n| n.is_element()).collect();
    assert_eq!(kids.len(), 3, "{reply}");
    assert_eq!(kids[0].tag_name().name(), "DroppedEvents");
    assert_eq!(kids[0].text(), Some("1"));
    // Records 2 and 3 (severities 3 and 4) are kept; record 1 was dropped.
    assert!(reply.contains("<p:PerceivedSeverity>3</p:PerceivedSeverity>"));
    assert!(reply.contains("<p:PerceivedSeverity>4</p:PerceivedSeverity>"));
    assert!(!reply.contains("<p:PerceivedSeverity>2</p:PerceivedSeverity>"));
}
