//! The agent hands the CIM model the image's account table and, while a request is served,
//! the identity it was authenticated with (issue 15).

extern crate std;

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use wsbmc_accounts::{AccountTable, Change, LockoutPolicy, NewPassword, PasswordError, Role};
use wsbmc_monitor::Monitor;
use wsbmc_wsman::Limits;

use super::*;
use wsbmc_time_std as _;

const ACCOUNT_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_Account";

/// Who the agent said was calling, each time the model asked.
type Seen = Rc<RefCell<Vec<Option<(String, Role)>>>>;

/// Records who the agent says is calling whenever the model asks.
struct Recorder {
    agent: Weak<Agent>,
    table: RefCell<AccountTable>,
    seen: Seen,
}

impl wsbmc_cim::Accounts for Recorder {
    fn table(&self) -> &RefCell<AccountTable> {
        &self.table
    }
    fn hash_password(&self, name: &str, password: &[u8]) -> Result<NewPassword, PasswordError> {
        NewPassword::new(name, password, b"0123456789abcdef", 2)
    }
    fn commit(&self, _change: Change) {}
    fn now_ms(&self) -> u64 {
        0
    }
    fn caller_sees_accounts(&self) -> bool {
        let caller = self.agent.upgrade().and_then(|a| a.request_caller());
        let sees = caller
            .as_ref()
            .is_some_and(|(_, r)| r.has(wsbmc_accounts::Privilege::ConfigureUsers));
        self.seen.borrow_mut().push(caller);
        sees
    }
}

fn enumerate(agent: &Agent, user: &str, role: Role) -> String {
    request(
        agent,
        user,
        role,
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
        ACCOUNT_URI,
        "",
        "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>20</w:MaxElements></n:Enumerate>",
    )
}

#[test]
fn the_model_sees_the_table_and_the_caller_of_the_request_being_served() {
    let agent = Rc::new(Agent::new(
        Monitor::new(Vec::new()),
        SystemInfo::new("host-1"),
        Limits::default(),
        7,
    ));
    let mut table = AccountTable::new(LockoutPolicy::default(), 2);
    let pw = NewPassword::new("boss", b"boss-pass-1", b"0123456789abcdef", 2).unwrap();
    table.create("boss", Role::Administrator, pw).unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        agent: Rc::downgrade(&agent),
        table: RefCell::new(table),
        seen: seen.clone(),
    };
    assert!(agent.set_accounts(Box::new(recorder)));
    assert!(agent.request_caller().is_none(), "no request, no caller");

    let body = enumerate(&agent, "boss", Role::Administrator);
    assert!(body.contains("<p:UserID>boss</p:UserID>"), "{body}");
    assert!(
        seen.borrow()
            .iter()
            .any(|c| c == &Some((String::from("boss"), Role::Administrator))),
        "{:?}",
        seen.borrow()
    );
    // The identity is the request's only: gone once it is answered.
    assert!(agent.request_caller().is_none());

    // A second table is refused: one table, one home.
    let other = Recorder {
        agent: Rc::downgrade(&agent),
        table: RefCell::new(AccountTable::new(LockoutPolicy::default(), 2)),
        seen: Rc::new(RefCell::new(Vec::new())),
    };
    assert!(!agent.set_accounts(Box::new(other)));
}

/// `action` on `uri` as `user` with `role`, `headers` added to the envelope's header.
fn request(
    agent: &Agent,
    user: &str,
    role: Role,
    action: &str,
    uri: &str,
    headers: &str,
    body: &str,
) -> String {
    let envelope = alloc::format!(
        "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:n=\"http://schemas.xmlsoap.org/ws/2004/09/enumeration\" \
         xmlns:e=\"http://schemas.xmlsoap.org/ws/2004/08/eventing\" \
         xmlns:w=\"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd\"><s:Header>\
         <a:To>http://127.0.0.1/wsman</a:To>\
         <w:ResourceURI s:mustUnderstand=\"true\">{uri}</w:ResourceURI>\
         <a:ReplyTo><a:Address s:mustUnderstand=\"true\">\
         http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>\
         <a:Action s:mustUnderstand=\"true\">{action}</a:Action>\
         <a:MessageID>uuid:00000000-0000-0000-0000-000000000002</a:MessageID>{headers}</s:Header>\
         <s:Body>{body}</s:Body></s:Envelope>"
    );
    let req = Request {
        path: "/wsman",
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some(user),
        role: Some(role),
        profiles: &[],
    };
    let r = agent.handle(&req, envelope.as_bytes());
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A subscription's DSP1054 instances are its owner's and the Administrators' to see: another
/// user does not learn its sink address or filter.
#[cfg(feature = "subscription-classes")]
#[test]
fn a_subscription_is_shown_to_its_owner_and_administrators_only() {
    let agent = Agent::new(
        Monitor::new(Vec::new()),
        SystemInfo::new("host-1"),
        Limits::default(),
        7,
    );
    let subscribe = request(
        &agent,
        "viewer",
        Role::ReadOnly,
        "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe",
        // The indication class (a ReadOnly user may not subscribe to `*`, which spans the
        // account classes).
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication",
        "",
        "<e:Subscribe><e:Delivery Mode=\"http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\"/>\
         <e:Expires>PT600S</e:Expires></e:Subscribe>",
    );
    assert!(subscribe.contains("SubscribeResponse"), "{subscribe}");
    let filters = |user: &str, role: Role| {
        let body = request(
            &agent,
            user,
            role,
            "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_IndicationFilter",
            "<w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/interop</w:Selector>\
             </w:SelectorSet>",
            "<n:Enumerate><w:OptimizeEnumeration/><w:MaxElements>20</w:MaxElements></n:Enumerate>",
        );
        assert!(body.contains("EnumerateResponse"), "{body}");
        body.matches("<p:CIM_IndicationFilter ").count()
    };
    assert_eq!(filters("viewer", Role::ReadOnly), 1);
    assert_eq!(filters("boss", Role::Administrator), 1);
    assert_eq!(filters("other", Role::Operator), 0);
    assert_eq!(filters("other2", Role::ReadOnly), 0);
}

/// Delete of a CIM_IndicationSubscription unsubscribes: by its owner (even ReadOnly, who may
/// Unsubscribe) or an Administrator. Another user gets the answer its Get gets (the instance is
/// not there for it); the filter and listener are not deletable on their own.
#[cfg(feature = "subscription-classes")]
#[test]
fn deleting_a_subscription_instance_unsubscribes_for_its_owner_and_administrators_only() {
    const CIM: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
    const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/";
    let agent = Agent::new(
        Monitor::new(Vec::new()),
        SystemInfo::new("host-1"),
        Limits::default(),
        7,
    );
    let subscribe = || {
        let r = request(
            &agent,
            "viewer",
            Role::ReadOnly,
            "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe",
            "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_AlertIndication",
            "",
            "<e:Subscribe><e:Delivery Mode=\"http://schemas.dmtf.org/wbem/wsman/1/wsman/Pull\"/>\
             <e:Expires>PT600S</e:Expires></e:Subscribe>",
        );
        assert!(r.contains("SubscribeResponse"), "{r}");
    };
    // The selector set of the one subscription's EPR, as its owner enumerates it.
    let selectors = || {
        let r = request(
            &agent,
            "viewer",
            Role::ReadOnly,
            "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate",
            &alloc::format!("{CIM}CIM_IndicationSubscription"),
            "<w:SelectorSet><w:Selector Name=\"__cimnamespace\">root/interop</w:Selector>\
             </w:SelectorSet>",
            "<n:Enumerate><w:OptimizeEnumeration/>\
             <w:EnumerationMode>EnumerateEPR</w:EnumerationMode></n:Enumerate>",
        );
        let start = r.find("<w:SelectorSet>").expect("an EPR");
        let end = r
            .find("</a:ReferenceParameters></a:EndpointReference></w:Items>")
            .expect("one EPR");
        String::from(&r[start..end])
    };
    let body = |reply: &str| {
        let start = reply.find("<s:Body>").expect("a body");
        String::from(&reply[start..])
    };
    let on = |user: &str, role: Role, action: &str, class: &str, sel: &str| {
        request(
            &agent,
            user,
            role,
            &alloc::format!("{TRANSFER}{action}"),
            &alloc::format!("{CIM}{class}"),
            sel,
            "",
        )
    };
    let live = || agent.events().table().borrow().len();

    subscribe();
    let sel = selectors();
    // Another user, even an Operator: Delete answers what Get answers, and nothing ends.
    let get = on(
        "other",
        Role::Operator,
        "Get",
        "CIM_IndicationSubscription",
        &sel,
    );
    let delete = on(
        "other",
        Role::Operator,
        "Delete",
        "CIM_IndicationSubscription",
        &sel,
    );
    assert!(get.contains("InvalidSelectors"), "{get}");
    assert_eq!(body(&get), body(&delete));
    assert_eq!(live(), 1);
    // The filter's own Delete stays refused, even to an Administrator.
    let filter_sel = &sel[sel.find("<w:SelectorSet>").map_or(0, |i| i + 1)..];
    let filter_sel = &filter_sel[filter_sel.find("<w:SelectorSet>").expect("the filter's")..];
    let filter_sel = &filter_sel[..filter_sel
        .find("</a:ReferenceParameters>")
        .expect("its end")];
    let r = on(
        "boss",
        Role::Administrator,
        "Delete",
        "CIM_IndicationFilter",
        filter_sel,
    );
    assert!(r.contains("ActionNotSupported"), "{r}");
    assert_eq!(live(), 1);
    // Its ReadOnly owner may: it is the owner's Unsubscribe.
    let r = on(
        "viewer",
        Role::ReadOnly,
        "Delete",
        "CIM_IndicationSubscription",
        &sel,
    );
    assert!(r.contains("transfer/DeleteResponse"), "{r}");
    assert_eq!(live(), 0);
    let again = on(
        "viewer",
        Role::ReadOnly,
        "Delete",
        "CIM_IndicationSubscription",
        &sel,
    );
    assert!(again.contains("InvalidSelectors"), "{again}");
    // An Administrator may end another user's.
    subscribe();
    let sel = selectors();
    let r = on(
        "boss",
        Role::Administrator,
        "Delete",
        "CIM_IndicationSubscription",
        &sel,
    );
    assert!(r.contains("transfer/DeleteResponse"), "{r}");
    assert_eq!(live(), 0);
}
