//! Indications (DMTF DSP1054) as the WS-Eventing subscriptions show them: each subscription is
//! one CIM_IndicationFilter (what it selects), one CIM_ListenerDestinationWSManagement (where and
//! how it is delivered) and the CIM_IndicationSubscription that ties the two, all in root/interop
//! and read-only but for one thing: Delete of a CIM_IndicationSubscription ends the subscription
//! ([`delete`]). A subscription is made with WS-Eventing only (no Create), and Put answers
//! ActionNotSupported.
//!
//! The subscriptions come from the platform ([`crate::Platform::subscription`]), which reads its
//! event source's table; the model only places them. Every key is built from the subscription's
//! identifier (`uuid:…`), which the store keeps, so EPRs survive a restart of the agent.
//!
//! What is never shown: the sink credentials a Subscribe carried (`wsman:Auth`,
//! `wst:IssuedTokens`). DeliveryAuth names the scheme only, as the DMTF security profile URI.

use alloc::borrow::Cow;
use alloc::string::String;
use wsbmc_wsman::text::cat;

use crate::model::SystemInfo;
use crate::schema::{CIM_COMPUTER_SYSTEM, CIM_MANAGED_ELEMENT, CimType, ClassDef, k, p, r};
use crate::value::{Instance, Value};
use wsbmc_wsman::Fault;

/// The four keys of a filter and of a listener destination (system-scoped, like a service).
const SCOPED_KEYS: &[&str] = &[
    "CreationClassName",
    "Name",
    "SystemCreationClassName",
    "SystemName",
];

/// What a subscription selects: its WQL (DSP1054 §7.2).
pub static CIM_INDICATION_FILTER: ClassDef = crate::schema::class(
    "CIM_IndicationFilter",
    &CIM_MANAGED_ELEMENT,
    SCOPED_KEYS,
    &[
        k("CreationClassName"),
        p("IndividualSubscriptionSupported", CimType::Boolean),
        k("Name"),
        p("Query", CimType::String),
        p("QueryLanguage", CimType::String),
        p("SourceNamespace", CimType::String),
        crate::schema::a("SourceNamespaces", CimType::String),
        k("SystemCreationClassName"),
        k("SystemName"),
    ],
);

pub static CIM_LISTENER_DESTINATION: ClassDef = crate::schema::abstract_class(
    "CIM_ListenerDestination",
    Some(&CIM_MANAGED_ELEMENT),
    SCOPED_KEYS,
    &[
        k("CreationClassName"),
        k("Name"),
        p("OtherPersistenceType", CimType::String),
        p("OtherProtocol", CimType::String),
        p("PersistenceType", CimType::Uint16),
        p("Protocol", CimType::Uint16),
        k("SystemCreationClassName"),
        k("SystemName"),
    ],
);

/// Where and how a subscription is delivered (DSP1054 §7.4, the WS-Management listener).
pub static CIM_LISTENER_DESTINATION_WS_MANAGEMENT: ClassDef = crate::schema::class(
    "CIM_ListenerDestinationWSManagement",
    &CIM_LISTENER_DESTINATION,
    SCOPED_KEYS,
    &[
        p("ContentEncoding", CimType::String),
        p("DeliveryAuth", CimType::String),
        p("DeliveryMode", CimType::Uint16),
        p("Destination", CimType::String),
    ],
);

/// Filter ↔ handler: the subscription itself (DSP1054 §7.5).
pub static CIM_INDICATION_SUBSCRIPTION: ClassDef = ClassDef {
    name: "CIM_IndicationSubscription",
    parent: None,
    is_abstract: false,
    keys: &["Filter", "Handler"],
    props: &[
        p("FailureTriggerTimeInterval", CimType::Uint64),
        r("Filter"),
        r("Handler"),
        p("OnFatalErrorPolicy", CimType::Uint16),
        p("OtherOnFatalErrorPolicy", CimType::String),
        p("OtherSubscriptionState", CimType::String),
        p("RepeatNotificationPolicy", CimType::Uint16),
        p("SubscriptionDuration", CimType::Uint64),
        p("SubscriptionState", CimType::Uint16),
        p("SubscriptionTimeRemaining", CimType::Uint64),
    ],
};

/// How a subscription is delivered (CIM_ListenerDestinationWSManagement.DeliveryMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Push,
    PushWithAck,
    Events,
    Pull,
}

impl Mode {
    /// DeliveryMode: 2 Push, 3 PushWithAck, 4 Events, 5 Pull.
    const fn code(self) -> u16 {
        match self {
            Mode::Push => 2,
            Mode::PushWithAck => 3,
            Mode::Events => 4,
            Mode::Pull => 5,
        }
    }
}

/// The scheme the source authenticates to the sink with; never the credentials themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkAuth {
    Basic,
    Digest,
}

impl SinkAuth {
    /// The DSP0226 security profile URI (`wsman:Auth/@Profile`) of the scheme.
    const fn profile(self) -> &'static str {
        match self {
            SinkAuth::Basic => "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/basic",
            SinkAuth::Digest => "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/digest",
        }
    }
}

/// One subscription as the platform reads it from its event source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionView {
    /// The `wse:Identifier` (`uuid:…`): every key is made from it.
    pub id: String,
    /// The WQL the subscriber filtered with; `None` selects every indication.
    pub query: Option<String>,
    pub mode: Mode,
    /// NotifyTo's address; `None` for Pull (the subscriber fetches, nothing is sent).
    pub destination: Option<String>,
    pub auth: Option<SinkAuth>,
    /// `UTF-8` / `UTF-16` when the subscriber asked for one.
    pub content_encoding: Option<&'static str>,
    /// The expiry granted at the last Subscribe or Renew, in seconds; `None` when it was asked
    /// for as a date-time (then only the time left is known).
    pub duration_s: Option<u64>,
    /// Seconds left until it expires.
    pub remaining_s: u64,
}

/// The query a subscription without a filter has: it selects every indication (DSP1054 lets
/// a filter select all; WS-Eventing without a filter delivers everything).
pub const SELECT_ALL: &str = "SELECT * FROM CIM_Indication";
const FILTER_PREFIX: &str = "wsbmc:filter:";
const LISTENER_PREFIX: &str = "wsbmc:listener:";

fn scoped<'a>(
    system: &'a SystemInfo,
    class: &'static ClassDef,
    name: String,
) -> [(&'static str, Cow<'a, str>); 4] {
    [
        ("CreationClassName", Cow::Borrowed(class.name)),
        ("Name", Cow::Owned(name)),
        (
            "SystemCreationClassName",
            Cow::Borrowed(CIM_COMPUTER_SYSTEM.name),
        ),
        ("SystemName", Cow::Borrowed(system.bmc_name.as_str())),
    ]
}

pub fn filter_keys<'a>(system: &'a SystemInfo, id: &str) -> [(&'static str, Cow<'a, str>); 4] {
    scoped(system, &CIM_INDICATION_FILTER, cat(&[FILTER_PREFIX, id]))
}

pub fn listener_keys<'a>(system: &'a SystemInfo, id: &str) -> [(&'static str, Cow<'a, str>); 4] {
    scoped(
        system,
        &CIM_LISTENER_DESTINATION_WS_MANAGEMENT,
        cat(&[LISTENER_PREFIX, id]),
    )
}

pub fn filter_instance<'a>(system: &'a SystemInfo, view: &SubscriptionView) -> Instance<'a> {
    let mut i = Instance::with_capacity(&CIM_INDICATION_FILTER, 12);
    i.set_keys(&mut filter_keys(system, &view.id));
    i.set_str("Caption", "WS-Eventing subscription filter");
    i.set_string(
        "Description",
        cat(&["The filter of WS-Eventing subscription ", &view.id]),
    );
    i.set_string("ElementName", cat(&[FILTER_PREFIX, &view.id]));
    // One subscription per filter: a filter exists only as its subscription's.
    i.set_bool("IndividualSubscriptionSupported", false);
    i.set_string(
        "Query",
        view.query
            .clone()
            .unwrap_or_else(|| String::from(SELECT_ALL)),
    );
    // The only dialect a Subscribe may filter with (see wsbmc-eventing's parser).
    i.set_str("QueryLanguage", "WQL");
    i.set_str("SourceNamespace", crate::NAMESPACE);
    i.set_strs("SourceNamespaces", &[crate::NAMESPACE]);
    i
}

pub fn listener_instance<'a>(system: &'a SystemInfo, view: &SubscriptionView) -> Instance<'a> {
    let mut i = Instance::with_capacity(&CIM_LISTENER_DESTINATION_WS_MANAGEMENT, 14);
    i.set_keys(&mut listener_keys(system, &view.id));
    i.set_str("Caption", "WS-Eventing event sink");
    i.set("ContentEncoding", Value::opt_str(view.content_encoding));
    i.set(
        "DeliveryAuth",
        Value::opt_str(view.auth.map(SinkAuth::profile)),
    );
    i.set_u16("DeliveryMode", view.mode.code());
    i.set_string(
        "Description",
        cat(&["Where WS-Eventing subscription ", &view.id, " is delivered"]),
    );
    // Pull: nothing is sent anywhere, so there is no destination (NULL).
    i.set(
        "Destination",
        view.destination.clone().map_or(Value::Null, Value::string),
    );
    i.set_string("ElementName", cat(&[LISTENER_PREFIX, &view.id]));
    // 2 Permanent: the subscription is kept across a restart of the agent.
    i.set_u16("PersistenceType", 2);
    // 4 WS-Management.
    i.set_u16("Protocol", 4);
    i
}

/// The subscription's own values (its ends are set by the model).
pub fn subscription_values(view: &SubscriptionView, i: &mut Instance<'_>) {
    // 4 Remove: a sink that cannot be reached ends the subscription (SubscriptionEnd).
    i.set_u16("OnFatalErrorPolicy", 4);
    i.set(
        "SubscriptionDuration",
        view.duration_s.map_or(Value::Null, Value::U64),
    );
    // 2 Enabled: an ended subscription is gone from the table, so every shown one delivers.
    i.set_u16("SubscriptionState", 2);
    i.set("SubscriptionTimeRemaining", Value::U64(view.remaining_s));
}

/// Delete of a CIM_IndicationSubscription: the subscription ends as a WS-Eventing Unsubscribe
/// ends it, and its filter and listener destination go with it (they exist only as its ends).
///
/// - **No SubscriptionEnd to the sink.** Whoever deletes the instance asked for the end, as an
///   Unsubscribe asks: WS-Eventing sends SubscriptionEnd only when the source ends a subscription
///   on its own (delivery failure, shutdown), and a sink told of an end it caused would try to
///   subscribe again. An Administrator who deletes another user's subscription ends it the same
///   way; its owner finds out as after an Unsubscribe (Renew: UnableToRenew, GetStatus: no such
///   subscription).
/// - **Who may.** Only callers that see the instance reach this: its owner and Administrators
///   (the platform hides the rest, `Platform::subscription`), so another user's Delete answers
///   what its Get answers, "no instance has these keys", and learns nothing of whether it
///   exists. The platform checks again when it removes it.
/// - **Delete of the filter or the listener destination** stays ActionNotSupported: each is
///   referenced by its live subscription, and DSP1054 (like the WBEM servers that implement it)
///   refuses to delete a filter or handler a subscription still references; deleting the
///   subscription is the one way to end it.
pub(crate) fn delete(model: &crate::Model<'_>, item: &crate::kind::Item) -> Result<(), Fault> {
    let id = model.subscription(item.ix)?.id;
    if model.platform().end_subscription(&id) {
        Ok(())
    } else {
        Err(crate::model::gone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(mode: Mode) -> SubscriptionView {
        SubscriptionView {
            id: String::from("uuid:00000000-0000-4000-8000-000000000001"),
            query: None,
            mode,
            destination: (mode != Mode::Pull).then(|| String::from("http://127.0.0.1:9/sink")),
            auth: Some(SinkAuth::Digest),
            content_encoding: None,
            duration_s: Some(600),
            remaining_s: 599,
        }
    }

    #[test]
    fn builders_set_values_in_render_order_and_of_their_types() {
        let system = SystemInfo::new("host");
        for mode in [Mode::Push, Mode::PushWithAck, Mode::Events, Mode::Pull] {
            let v = view(mode);
            let f = filter_instance(&system, &v);
            let l = listener_instance(&system, &v);
            let mut s = Instance::new(&CIM_INDICATION_SUBSCRIPTION);
            subscription_values(&v, &mut s);
            for i in [&f, &l, &s] {
                assert!(i.in_render_order(), "{:?}", i.class.name);
            }
            assert_eq!(l.get("DeliveryMode"), Some(&Value::U16(mode.code())));
            assert_eq!(f.get("Query").and_then(Value::as_str), Some(SELECT_ALL));
        }
    }

    #[test]
    fn keys_are_made_from_the_identifier_only() {
        let system = SystemInfo::new("host");
        let v = view(Mode::Push);
        let keys = filter_keys(&system, &v.id);
        assert_eq!(
            keys[1].1,
            "wsbmc:filter:uuid:00000000-0000-4000-8000-000000000001"
        );
        let keys = listener_keys(&system, &v.id);
        assert_eq!(keys[0].1, "CIM_ListenerDestinationWSManagement");
    }
}
