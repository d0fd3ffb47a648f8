//! Accounts over WS-Man (DSP1034/DSP1039, issue 15): every rule of the account table sent as a
//! real request through the WS-Man service against the model, its reply compared with a golden
//! in `tests/fixtures/accounts/` (`WSBMC_BLESS=1 cargo test -p wsbmc-cim --test accounts`
//! rewrites them; review the diff), and what the table was asked to persist and audit checked.
#![cfg(feature = "accounts")]
// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::*;
use wsbmc_accounts::{AuditKind, NewPassword, Role, Write};
use wsbmc_wsman::{
    FaultDetail, FaultKind, Filter, Limits, Property, PropertyValue, Provider, ReplyKind,
    Representation, RequestMeta, Selector, Service, Target, XmlWriter,
};

const RU: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/";
const TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accounts")
}

fn envelope(action: &str, class: &str, selectors: &[(&str, &str)], body: &str) -> String {
    let sel: String = selectors
        .iter()
        .map(|(n, v)| format!(r#"<w:Selector Name="{n}">{v}</w:Selector>"#))
        .collect();
    let set = if sel.is_empty() {
        String::new()
    } else {
        format!("<w:SelectorSet>{sel}</w:SelectorSet>")
    };
    format!(
        concat!(
            r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" "#,
            r#"xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" "#,
            r#"xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" "#,
            r#"xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common"><s:Header>"#,
            "<a:To>http://bmc:5985/wsman</a:To>",
            "<w:ResourceURI s:mustUnderstand=\"true\">{ru}{class}</w:ResourceURI>",
            "<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>",
            "<a:Action s:mustUnderstand=\"true\">{action}</a:Action>",
            "<a:MessageID>uuid:00000000-0000-4000-8000-000000000015</a:MessageID>",
            "{set}<w:OperationTimeout>PT60S</w:OperationTimeout></s:Header><s:Body>{body}</s:Body></s:Envelope>"
        ),
        ru = RU,
        class = class,
        action = action,
        set = set,
        body = body
    )
}

fn account_sel(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CreationClassName", "CIM_Account".into()),
        ("Name", name.into()),
        ("SystemCreationClassName", "CIM_ComputerSystem".into()),
        ("SystemName", "host-1:BMC".into()),
    ]
}

fn as_pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(n, s)| (*n, s.as_str())).collect()
}

const BMC_EPR: &str = concat!(
    "<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>",
    "<a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</w:ResourceURI>",
    r#"<w:SelectorSet><w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector>"#,
    r#"<w:Selector Name="Name">host-1:BMC</w:Selector></w:SelectorSet></a:ReferenceParameters>"#
);

const HOST_EPR: &str = concat!(
    "<a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address>",
    "<a:ReferenceParameters><w:ResourceURI>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</w:ResourceURI>",
    r#"<w:SelectorSet><w:Selector Name="CreationClassName">CIM_ComputerSystem</w:Selector>"#,
    r#"<w:Selector Name="Name">host-1</w:Selector></w:SelectorSet></a:ReferenceParameters>"#
);

/// A CreateAccount request: the BMC as System and a template of `props` (raw elements).
fn create(props: &str) -> String {
    create_with(BMC_EPR, props)
}

fn create_with(system: &str, props: &str) -> String {
    create_input(&format!(
        r#"<p:System>{system}</p:System><p:AccountTemplate><q:CIM_Account xmlns:q="{RU}CIM_Account">{props}</q:CIM_Account></p:AccountTemplate>"#
    ))
}

/// A CreateAccount request whose CreateAccount_INPUT holds `parameters` (raw elements).
fn create_input(parameters: &str) -> String {
    let svc = "CIM_AccountManagementService";
    let body = format!(
        r#"<p:CreateAccount_INPUT xmlns:p="{RU}{svc}">{parameters}</p:CreateAccount_INPUT>"#
    );
    envelope(&format!("{RU}{svc}/CreateAccount"), svc, &[], &body)
}

fn template(user: &str, password: &str, role: Option<&str>) -> String {
    let role = role.map_or(String::new(), |r| format!("<q:Role>{r}</q:Role>"));
    format!("<q:UserID>{user}</q:UserID><q:UserPassword>{password}</q:UserPassword>{role}")
}

/// A Put of CIM_Account `name` with the given property elements (prefix `p`).
fn put_account(name: &str, props: &str) -> String {
    let body = format!(r#"<p:CIM_Account xmlns:p="{RU}CIM_Account">{props}</p:CIM_Account>"#);
    envelope(
        &format!("{TRANSFER}Put"),
        "CIM_Account",
        &as_pairs(&account_sel(name)),
        &body,
    )
}

fn put_settings(props: &str) -> String {
    let body = format!(
        r#"<p:CIM_AccountSettingData xmlns:p="{RU}CIM_AccountSettingData">{props}</p:CIM_AccountSettingData>"#
    );
    envelope(
        &format!("{TRANSFER}Put"),
        "CIM_AccountSettingData",
        &[("InstanceID", "wsbmc:accounts:settings")],
        &body,
    )
}

fn delete_account(name: &str) -> String {
    envelope(
        &format!("{TRANSFER}Delete"),
        "CIM_Account",
        &as_pairs(&account_sel(name)),
        "",
    )
}

fn request_state(name: &str, state: u16) -> String {
    let body = format!(
        r#"<p:RequestStateChange_INPUT xmlns:p="{RU}CIM_Account"><p:RequestedState>{state}</p:RequestedState></p:RequestStateChange_INPUT>"#
    );
    envelope(
        &format!("{RU}CIM_Account/RequestStateChange"),
        "CIM_Account",
        &as_pairs(&account_sel(name)),
        &body,
    )
}

/// Sends `request` to a service over the fixture's model; returns the reply kind and body.
fn send(f: &Fixture, request: &str) -> (ReplyKind, String) {
    let mut svc = Service::new(Limits::default(), 0x5EED);
    let meta = RequestMeta {
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some("admin"),
        now_ms: 1_000_000,
        security_profiles: None,
    };
    let reply = svc.handle(&f.model(), &meta, request.as_bytes());
    (reply.kind, String::from_utf8(reply.body).unwrap())
}

/// Sends `request`, checks the reply kind and compares the reply with golden `name`.
fn replay(f: &Fixture, name: &str, request: &str, kind: ReplyKind) -> String {
    let (got, body) = send(f, request);
    assert_eq!(got, kind, "{name}:\n{body}");
    let path = fixtures().join(format!("{name}.xml"));
    if let Err(e) = golden::check(&path, &body, canonical) {
        panic!("{name}: {e}");
    }
    body
}

fn return_value(body: &str) -> Option<u32> {
    let start = body.find("ReturnValue>")? + "ReturnValue>".len();
    let end = body[start..].find('<')? + start;
    body[start..end].parse().ok()
}

fn changes(f: &Fixture) -> Vec<(Write, AuditKind, String)> {
    f.accounts()
        .changes
        .borrow()
        .iter()
        .map(|c| (c.write, c.audit.kind, c.audit.user.clone()))
        .collect()
}

fn role_of(f: &Fixture, name: &str) -> Option<Role> {
    f.accounts().table.borrow().get(name).map(|(_, a)| a.role())
}

fn fill_table(f: &Fixture) {
    let mut t = f.accounts().table.borrow_mut();
    for i in 2..16 {
        let n = format!("user{i}");
        let pw = NewPassword::new(&n, b"password1", TEST_SALT, 2).unwrap();
        t.create(&n, Role::ReadOnly, pw).unwrap();
    }
}

// ---- CreateAccount ----------------------------------------------------------------------------

#[test]
fn create_account_makes_an_account_that_logs_in() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "create_ok",
        &create(&template("bob", "bob-secret-1", Some("Operator"))),
        ReplyKind::Success,
    );
    assert_eq!(return_value(&body), Some(0));
    assert!(body.contains("<w:Selector Name=\"Name\">bob</w:Selector>"));
    assert!(body.contains("wsbmc:identity:bob"));
    assert_eq!(role_of(&f, "bob"), Some(Role::Operator));
    assert!(f.accounts().logs_in("bob", "bob-secret-1"));
    assert_eq!(
        changes(&f),
        [(Write::Slot(2), AuditKind::Created, "bob".into())]
    );
    // The password is nowhere in the reply.
    assert!(!body.contains("bob-secret-1"));
}

#[test]
fn create_account_defaults_to_read_only_and_may_create_disabled() {
    let f = Fixture::with_accounts();
    let (_, body) = send(&f, &create(&template("carol", "carol-pass1", None)));
    assert_eq!(return_value(&body), Some(0));
    assert_eq!(role_of(&f, "carol"), Some(Role::ReadOnly));
    let (_, body) = send(
        &f,
        &create(&format!(
            "{}<q:EnabledState>3</q:EnabledState>",
            template("dave", "dave-pass-1", Some("administrator"))
        )),
    );
    assert_eq!(return_value(&body), Some(0));
    assert_eq!(role_of(&f, "dave"), Some(Role::Administrator));
    assert!(!f.accounts().logs_in("dave", "dave-pass-1"));
    let kinds: Vec<AuditKind> = changes(&f).into_iter().map(|c| c.1).collect();
    assert_eq!(
        kinds,
        [AuditKind::Created, AuditKind::Created, AuditKind::Disabled]
    );
}

/// Each rule of the table, as CreateAccount's ReturnValue; nothing is created or persisted.
#[test]
fn create_account_refusals_are_return_values() {
    let cases: [(&str, String, u32); 8] = [
        (
            "create_name_charset",
            template("bad name", "password-1", None),
            wsbmc_cim::account::NAME_REFUSED,
        ),
        (
            "create_name_too_long",
            template("a2345678901234567", "password-1", None),
            wsbmc_cim::account::NAME_REFUSED,
        ),
        (
            "create_name_first_not_letter",
            template("1abc", "password-1", None),
            wsbmc_cim::account::NAME_REFUSED,
        ),
        (
            "create_name_reserved",
            template("provision", "password-1", None),
            wsbmc_cim::account::NAME_REFUSED,
        ),
        (
            "create_password_short",
            template("erin", "short", None),
            wsbmc_cim::account::PASSWORD_REFUSED,
        ),
        (
            "create_password_is_name",
            template("frank.long", "FRANK.LONG", None),
            wsbmc_cim::account::PASSWORD_REFUSED,
        ),
        (
            "create_password_too_long",
            template("gina", &"x".repeat(65), None),
            wsbmc_cim::account::PASSWORD_REFUSED,
        ),
        (
            "create_duplicate",
            template("Admin", "password-1", None),
            wsbmc_cim::account::DUPLICATE,
        ),
    ];
    for (name, props, code) in cases {
        let f = Fixture::with_accounts();
        let body = replay(&f, name, &create(&props), ReplyKind::Success);
        assert_eq!(return_value(&body), Some(code), "{name}");
        assert!(changes(&f).is_empty(), "{name}");
        assert_eq!(f.accounts().table.borrow().list().count(), 2, "{name}");
    }
}

#[test]
fn create_account_in_a_full_table() {
    let f = Fixture::with_accounts();
    fill_table(&f);
    let body = replay(
        &f,
        "create_table_full",
        &create(&template("extra", "password-1", None)),
        ReplyKind::Success,
    );
    assert_eq!(return_value(&body), Some(wsbmc_cim::account::TABLE_FULL));
    assert!(changes(&f).is_empty());
}

/// Malformed calls are faults, not return values.
#[test]
fn create_account_malformed_calls_are_faults() {
    let no_template = create_input(&format!("<p:System>{BMC_EPR}</p:System>"));
    let cases = [
        ("create_fault_no_template", no_template),
        (
            "create_fault_host_as_system",
            create_with(HOST_EPR, &template("bob", "bob-secret-1", None)),
        ),
        (
            "create_fault_bad_role",
            create(&template("bob", "bob-secret-1", Some("Root"))),
        ),
        (
            "create_fault_unknown_property",
            create(&format!(
                "{}<q:OrganizationName>x</q:OrganizationName>",
                template("bob", "bob-secret-1", None)
            )),
        ),
        (
            "create_fault_no_password",
            create("<q:UserID>bob</q:UserID>"),
        ),
        (
            "create_fault_name_not_user",
            create(&format!(
                "{}<q:ElementName>alice</q:ElementName>",
                template("bob", "bob-secret-1", None)
            )),
        ),
        (
            "create_fault_template_class",
            create_input(&format!(
                r#"<p:System>{BMC_EPR}</p:System><p:AccountTemplate><q:CIM_Role xmlns:q="{RU}CIM_Role"><q:Name>x</q:Name></q:CIM_Role></p:AccountTemplate>"#
            )),
        ),
        (
            "create_fault_unknown_parameter",
            create_input(&format!(
                "<p:System>{BMC_EPR}</p:System><p:Owner>x</p:Owner>"
            )),
        ),
        (
            "create_fault_system_twice",
            create_input(&format!(
                "<p:System>{BMC_EPR}</p:System><p:System>{BMC_EPR}</p:System>"
            )),
        ),
    ];
    for (name, request) in cases {
        let f = Fixture::with_accounts();
        let body = replay(&f, name, &request, ReplyKind::Fault);
        assert!(body.contains("InvalidParameter"), "{name}: {body}");
        assert!(changes(&f).is_empty(), "{name}");
    }
}

// ---- WS-Transfer Create -------------------------------------------------------------------------

fn transfer_create(class: &str, props: &str) -> String {
    let body = format!(r#"<q:{class} xmlns:q="{RU}{class}">{props}</q:{class}>"#);
    envelope(&format!("{TRANSFER}Create"), class, &[], &body)
}

#[test]
fn transfer_create_makes_an_account() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "transfer_create_ok",
        &transfer_create(
            "CIM_Account",
            &template("bob", "bob-secret-1", Some("ReadOnly")),
        ),
        ReplyKind::Success,
    );
    assert!(body.contains("ResourceCreated"), "{body}");
    assert!(
        body.contains("<w:Selector Name=\"Name\">bob</w:Selector>"),
        "{body}"
    );
    assert!(f.accounts().logs_in("bob", "bob-secret-1"));
    assert_eq!(
        changes(&f),
        [(Write::Slot(2), AuditKind::Created, "bob".into())]
    );
}

#[test]
fn transfer_create_refusals_are_faults() {
    let cases = [
        (
            "transfer_create_fault_duplicate",
            transfer_create("CIM_Account", &template("OP1", "password-1", None)),
            "AlreadyExists",
            false,
        ),
        (
            "transfer_create_fault_table_full",
            transfer_create("CIM_Account", &template("extra", "password-1", None)),
            "QuotaLimit",
            true,
        ),
        (
            "transfer_create_fault_name",
            transfer_create("CIM_Account", &template("a:b", "password-1", None)),
            "InvalidRepresentation",
            false,
        ),
        (
            "transfer_create_fault_password",
            transfer_create("CIM_Account", &template("hank", "short", None)),
            "InvalidRepresentation",
            false,
        ),
        (
            "transfer_create_fault_no_user",
            transfer_create("CIM_Account", "<q:UserPassword>password-1</q:UserPassword>"),
            "InvalidRepresentation",
            false,
        ),
        (
            "transfer_create_fault_role_class",
            transfer_create("CIM_Role", "<q:Name>Auditor</q:Name>"),
            "ActionNotSupported",
            false,
        ),
    ];
    for (name, request, fault, full) in cases {
        let f = Fixture::with_accounts();
        if full {
            fill_table(&f);
        }
        let before = f.accounts().table.borrow().list().count();
        let body = replay(&f, name, &request, ReplyKind::Fault);
        assert!(body.contains(fault), "{name}: {body}");
        assert!(changes(&f).is_empty(), "{name}");
        assert_eq!(f.accounts().table.borrow().list().count(), before, "{name}");
    }
}

// ---- Put ---------------------------------------------------------------------------------------

#[test]
fn put_changes_a_password() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "put_password_ok",
        &put_account("op1", "<p:UserPassword>new-op-pass</p:UserPassword>"),
        ReplyKind::Success,
    );
    assert!(!body.contains("new-op-pass"));
    assert!(f.accounts().logs_in("op1", "new-op-pass"));
    assert!(!f.accounts().logs_in("op1", "operator-pass"));
    assert_eq!(
        changes(&f),
        [(Write::Slot(1), AuditKind::PasswordChanged, "op1".into())]
    );
}

#[test]
fn put_disables_and_enables() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "put_disable_ok",
        &put_account("op1", "<p:EnabledState>3</p:EnabledState>"),
        ReplyKind::Success,
    );
    assert!(body.contains("<p:EnabledState>3</p:EnabledState>"));
    assert!(!f.accounts().logs_in("op1", "operator-pass"));
    let (kind, _) = send(
        &f,
        &put_account("op1", "<p:RequestedState>2</p:RequestedState>"),
    );
    assert_eq!(kind, ReplyKind::Success);
    assert!(f.accounts().logs_in("op1", "operator-pass"));
    let kinds: Vec<AuditKind> = changes(&f).into_iter().map(|c| c.1).collect();
    assert_eq!(kinds, [AuditKind::Disabled, AuditKind::Enabled]);
}

#[test]
fn put_refusals_are_faults_and_change_nothing() {
    let cases = [
        (
            "put_fault_password_short",
            put_account("op1", "<p:UserPassword>short</p:UserPassword>"),
        ),
        (
            "put_fault_password_too_long",
            put_account(
                "op1",
                &format!("<p:UserPassword>{}</p:UserPassword>", "y".repeat(65)),
            ),
        ),
        (
            "put_fault_last_administrator",
            put_account("admin", "<p:EnabledState>3</p:EnabledState>"),
        ),
        (
            "put_fault_read_only",
            put_account("op1", "<p:ElementName>operator</p:ElementName>"),
        ),
        (
            "put_fault_bad_state",
            put_account("op1", "<p:EnabledState>4</p:EnabledState>"),
        ),
        (
            "put_fault_unknown_property",
            put_account("op1", "<p:Owner>x</p:Owner>"),
        ),
        (
            "put_fault_given_twice",
            put_account("op1", "<p:UserID>op1</p:UserID><p:UserID>op1</p:UserID>"),
        ),
        (
            "put_fault_other_class",
            envelope(
                &format!("{TRANSFER}Put"),
                "CIM_Account",
                &as_pairs(&account_sel("op1")),
                &format!(r#"<p:CIM_Role xmlns:p="{RU}CIM_Role"><p:Name>op1</p:Name></p:CIM_Role>"#),
            ),
        ),
        (
            "put_fault_other_namespace",
            envelope(
                &format!("{TRANSFER}Put"),
                "CIM_Account",
                &as_pairs(&account_sel("op1")),
                &format!(
                    r#"<p:CIM_Account xmlns:p="{RU}CIM_Role"><p:Name>op1</p:Name></p:CIM_Account>"#
                ),
            ),
        ),
    ];
    for (name, request) in cases {
        let f = Fixture::with_accounts();
        let body = replay(&f, name, &request, ReplyKind::Fault);
        assert!(body.contains("InvalidRepresentation"), "{name}: {body}");
        assert!(changes(&f).is_empty(), "{name}");
        assert!(f.accounts().logs_in("admin", "admin-pass"), "{name}");
        assert!(f.accounts().logs_in("op1", "operator-pass"), "{name}");
    }
}

/// The password may not be the user name in any case (a name long enough for the length rule
/// not to refuse it first).
#[test]
fn put_refuses_the_user_name_as_password() {
    let f = Fixture::with_accounts();
    let pw = NewPassword::new("operator2", b"operator2-pw", TEST_SALT, 2).unwrap();
    f.accounts()
        .table
        .borrow_mut()
        .create("operator2", Role::Operator, pw)
        .unwrap();
    let body = replay(
        &f,
        "put_fault_password_is_name",
        &put_account("operator2", "<p:UserPassword>OPERATOR2</p:UserPassword>"),
        ReplyKind::Fault,
    );
    assert!(body.contains("the user name"), "{body}");
    assert!(changes(&f).is_empty());
    assert!(f.accounts().logs_in("operator2", "operator2-pw"));
}

/// `winrm set`: Get the instance, change one element, Put the whole representation back.
#[test]
fn put_of_the_whole_representation_round_trips() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let keys: Vec<Selector> = account_sel("op1")
        .into_iter()
        .map(|(n, v)| Selector::text(n, v))
        .collect();
    let target = Target {
        resource_uri: &uri("CIM_Account"),
        selectors: &keys,
        namespace: None,
    };
    // The Get reply, one element edited, as a Put body.
    let edited = |from: &str, to: &str| {
        let got = get(&m, &uri("CIM_Account"), &keys, None).unwrap();
        let wrapped = wrap(&got.replace(from, to));
        let doc = roxmltree::Document::parse(&wrapped).unwrap();
        let root = doc
            .root_element()
            .descendants()
            .find(|n| n.has_tag_name((uri("CIM_Account").as_str(), "CIM_Account")))
            .unwrap();
        Representation {
            class: "CIM_Account".into(),
            namespace: Some(uri("CIM_Account")),
            properties: root
                .children()
                .filter(|c| c.is_element())
                .map(|c| Property {
                    name: c.tag_name().name().into(),
                    value: if c.attribute(("http://www.w3.org/2001/XMLSchema-instance", "nil"))
                        == Some("true")
                    {
                        PropertyValue::Nil
                    } else {
                        PropertyValue::Text(c.text().unwrap_or("").trim().into())
                    },
                })
                .collect(),
        }
    };
    let body = edited(
        "<p:EnabledState>2</p:EnabledState>",
        "<p:EnabledState>3</p:EnabledState>",
    );
    let mut out = XmlWriter::new();
    m.put(&target, &body, &mut out).unwrap();
    assert!(out.as_str().contains("<p:EnabledState>3</p:EnabledState>"));
    assert_eq!(
        changes(&f),
        [(Write::Slot(1), AuditKind::Disabled, "op1".into())]
    );
    // Put back unchanged: nothing to do, nothing persisted.
    let mut out = XmlWriter::new();
    m.put(&target, &edited("", ""), &mut out).unwrap();
    assert_eq!(changes(&f).len(), 1);
    // RequestedState edited instead: enabled again.
    let body = edited(
        "<p:RequestedState>3</p:RequestedState>",
        "<p:RequestedState>2</p:RequestedState>",
    );
    let mut out = XmlWriter::new();
    m.put(&target, &body, &mut out).unwrap();
    assert!(out.as_str().contains("<p:EnabledState>2</p:EnabledState>"));
    assert_eq!(changes(&f).len(), 2);
}

// ---- RequestStateChange -------------------------------------------------------------------------

#[test]
fn request_state_change_enables_and_disables() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "rsc_disable_ok",
        &request_state("op1", 3),
        ReplyKind::Success,
    );
    assert_eq!(return_value(&body), Some(0));
    assert!(!f.accounts().logs_in("op1", "operator-pass"));
    let body = replay(
        &f,
        "rsc_last_administrator",
        &request_state("admin", 3),
        ReplyKind::Success,
    );
    assert_eq!(
        return_value(&body),
        Some(wsbmc_cim::account::INVALID_STATE_TRANSITION)
    );
    let (_, body) = send(&f, &request_state("op1", 4));
    assert_eq!(return_value(&body), Some(1));
    let (_, body) = send(&f, &request_state("op1", 2));
    assert_eq!(return_value(&body), Some(0));
    let kinds: Vec<AuditKind> = changes(&f).into_iter().map(|c| c.1).collect();
    assert_eq!(kinds, [AuditKind::Disabled, AuditKind::Enabled]);
}

// ---- Delete ------------------------------------------------------------------------------------

#[test]
fn delete_removes_an_account() {
    let f = Fixture::with_accounts();
    replay(&f, "delete_ok", &delete_account("op1"), ReplyKind::Success);
    assert_eq!(role_of(&f, "op1"), None);
    assert!(!f.accounts().logs_in("op1", "operator-pass"));
    assert_eq!(
        changes(&f),
        [(Write::Remove(1), AuditKind::Deleted, "op1".into())]
    );
    // Gone: a second Delete names nothing.
    let (kind, body) = send(&f, &delete_account("op1"));
    assert_eq!(kind, ReplyKind::Fault);
    assert!(body.contains("InvalidSelectors"), "{body}");
}

#[test]
fn delete_of_the_last_administrator_is_refused() {
    let f = Fixture::with_accounts();
    let body = replay(
        &f,
        "delete_fault_last_administrator",
        &delete_account("admin"),
        ReplyKind::Fault,
    );
    assert!(body.contains("ActionNotSupported"), "{body}");
    assert!(changes(&f).is_empty());
    assert!(f.accounts().logs_in("admin", "admin-pass"));
}

#[test]
fn delete_of_another_class_is_not_supported() {
    let f = Fixture::with_accounts();
    let (kind, body) = send(
        &f,
        &envelope(
            &format!("{TRANSFER}Delete"),
            "CIM_Role",
            &[("CreationClassName", "CIM_Role"), ("Name", "Operator")],
            "",
        ),
    );
    assert_eq!(kind, ReplyKind::Fault);
    assert!(body.contains("ActionNotSupported"), "{body}");
}

#[test]
fn nothing_changes_when_the_store_cannot_keep_it() {
    let f = Fixture::with_accounts();
    f.accounts().can_persist.set(false);
    for request in [
        create(&template("bob", "bob-secret-1", None)),
        put_account("op1", "<p:UserPassword>new-op-pass</p:UserPassword>"),
        delete_account("op1"),
        put_settings("<p:MaximumSuccessiveLoginFailures>3</p:MaximumSuccessiveLoginFailures>"),
    ] {
        let (kind, body) = send(&f, &request);
        assert_eq!(kind, ReplyKind::Fault, "{body}");
        assert!(body.contains("InternalError"), "{body}");
    }
    assert!(changes(&f).is_empty());
    assert_eq!(f.accounts().table.borrow().list().count(), 2);
}

// ---- Lockout settings ------------------------------------------------------------------------------

#[test]
fn settings_are_set_by_put() {
    let f = Fixture::with_accounts();
    replay(
        &f,
        "put_settings_ok",
        &put_settings(concat!(
            "<p:MaximumSuccessiveLoginFailures>3</p:MaximumSuccessiveLoginFailures>",
            "<p:LockoutWindow><cim:Interval>PT600S</cim:Interval></p:LockoutWindow>",
            "<p:LockoutPeriod><cim:Interval>PT15M</cim:Interval></p:LockoutPeriod>"
        )),
        ReplyKind::Success,
    );
    let policy = f.accounts().table.borrow().policy();
    assert_eq!(
        (policy.threshold(), policy.window_ms(), policy.duration_ms()),
        (3, 600_000, 900_000)
    );
    assert_eq!(
        changes(&f),
        [(Write::Settings, AuditKind::PolicyChanged, "admin".into())]
    );
    // The new rule applies: three failures lock.
    for _ in 0..3 {
        assert!(!f.accounts().logs_in("op1", "wrong-pass"));
    }
    assert!(!f.accounts().logs_in("op1", "operator-pass"));
    // ... and a locked account reads as Enabled but Offline.
    let keys: Vec<Selector> = account_sel("op1")
        .into_iter()
        .map(|(n, v)| Selector::text(n, v))
        .collect();
    let got = get(&f.model(), &uri("CIM_Account"), &keys, None).unwrap();
    assert!(got.contains("<p:EnabledState>6</p:EnabledState>"), "{got}");
}

#[test]
fn settings_refusals() {
    let cases = [
        (
            "put_settings_fault_zero_threshold",
            "<p:MaximumSuccessiveLoginFailures>0</p:MaximumSuccessiveLoginFailures>",
        ),
        (
            "put_settings_fault_threshold_too_big",
            "<p:MaximumSuccessiveLoginFailures>256</p:MaximumSuccessiveLoginFailures>",
        ),
        (
            "put_settings_fault_period_too_long",
            "<p:LockoutPeriod><cim:Interval>P2D</cim:Interval></p:LockoutPeriod>",
        ),
        (
            "put_settings_fault_window_zero",
            "<p:LockoutWindow><cim:Interval>PT0S</cim:Interval></p:LockoutWindow>",
        ),
        (
            "put_settings_fault_window_months",
            "<p:LockoutWindow><cim:Interval>P1M</cim:Interval></p:LockoutWindow>",
        ),
        (
            "put_settings_fault_read_only",
            "<p:PasswordHistoryDepth>3</p:PasswordHistoryDepth>",
        ),
    ];
    for (name, props) in cases {
        let f = Fixture::with_accounts();
        let body = replay(&f, name, &put_settings(props), ReplyKind::Fault);
        assert!(body.contains("InvalidRepresentation"), "{name}: {body}");
        assert!(changes(&f).is_empty(), "{name}");
        assert_eq!(
            f.accounts().table.borrow().policy(),
            wsbmc_accounts::LockoutPolicy::default(),
            "{name}"
        );
    }
}

// ---- Reading -----------------------------------------------------------------------------------------

#[test]
fn the_password_is_never_rendered() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let bodies = wsbmc_cim::schema::ALL_CLASSES
        .iter()
        .filter(|c| !c.is_abstract)
        .flat_map(|c| walk_ok(&m, &spec(&uri(c.name), Filter::None)));
    for (_, body) in bodies {
        for secret in ["admin-pass", "operator-pass", "0123456789abcdef"] {
            assert!(!body.contains(secret), "{body}");
        }
        if body.contains("CIM_Account ") || body.starts_with("<p:CIM_Account ") {
            assert!(
                body.contains("<p:UserPassword xsi:nil=\"true\"/>"),
                "{body}"
            );
        }
    }
}

#[test]
fn instances_and_links_of_the_two_profiles() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let count = |c: &str| walk_ok(&m, &spec(&uri(c), Filter::None)).len();
    assert_eq!(count("CIM_Account"), 2);
    assert_eq!(count("CIM_Identity"), 2);
    assert_eq!(count("CIM_Role"), 3);
    assert_eq!(count("CIM_Privilege"), 5);
    assert_eq!(count("CIM_AccountOnSystem"), 2);
    assert_eq!(count("CIM_AssignedIdentity"), 2);
    // 3 sensors in the sensor collection, 2 identities in their roles, 10 role privileges.
    assert_eq!(count("CIM_MemberOfCollection"), 3 + 2 + 10);
    // 2 accounts managed, 3 roles managed.
    assert_eq!(count("CIM_ServiceAffectsElement"), 5);
    assert_eq!(count("CIM_RoleLimitedToTarget"), 3);
    // The power service and the two account services.
    assert_eq!(count("CIM_HostedService"), 3);
    let profiles = walk_ok(&m, &spec(&uri("CIM_RegisteredProfile"), Filter::None));
    let sim = profiles
        .iter()
        .find(|(_, b)| b.contains("DMTF:Simple Identity Management:1.0.1"))
        .unwrap();
    let rba = profiles
        .iter()
        .find(|(_, b)| b.contains("DMTF:Role Based Authorization:1.0.0"))
        .unwrap();
    for (name, body) in [
        ("registered_profile_sim", &sim.1),
        ("registered_profile_rba", &rba.1),
    ] {
        let path = fixtures().join(format!("{name}.xml"));
        if let Err(e) = golden::check(&path, body, canonical) {
            panic!("{name}: {e}");
        }
    }
    // Both conform through their services and reference Base Server.
    let ectp: Vec<String> = walk_ok(
        &m,
        &spec(&uri("CIM_ElementConformsToProfile"), Filter::None),
    )
    .into_iter()
    .map(|(_, b)| b)
    .collect();
    assert!(
        ectp.iter().any(|b| b.contains("Simple Identity Management")
            && b.contains("CIM_AccountManagementService"))
    );
    assert!(ectp.iter().any(|b| b.contains("Role Based Authorization")
        && b.contains("CIM_RoleBasedAuthorizationService")));
    let refs = walk_ok(&m, &spec(&uri("CIM_ReferencedProfile"), Filter::None));
    assert!(
        refs.iter()
            .any(|(_, b)| b.contains("Simple Identity Management") && b.contains("Base Server"))
    );
}

/// A role's members are its accounts' identities: Operator has op1, Administrator has admin.
#[test]
fn identities_are_members_of_their_roles() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let members = walk_ok(&m, &spec(&uri("CIM_MemberOfCollection"), Filter::None));
    let op = members
        .iter()
        .find(|(_, b)| b.contains("wsbmc:identity:op1"))
        .unwrap();
    assert!(op.1.contains("<w:Selector Name=\"Name\">Operator</w:Selector>"));
    let admin = members
        .iter()
        .find(|(_, b)| b.contains("wsbmc:identity:admin"))
        .unwrap();
    assert!(
        admin
            .1
            .contains("<w:Selector Name=\"Name\">Administrator</w:Selector>")
    );
    // After a role change the link follows.
    f.accounts()
        .table
        .borrow_mut()
        .set_role("op1", Role::ReadOnly)
        .unwrap();
    let members = walk_ok(&m, &spec(&uri("CIM_MemberOfCollection"), Filter::None));
    let op = members
        .iter()
        .find(|(_, b)| b.contains("wsbmc:identity:op1"))
        .unwrap();
    assert!(op.1.contains("<w:Selector Name=\"Name\">ReadOnly</w:Selector>"));
}

/// A caller without ConfigureUsers reaches no account through a base class or an association,
/// and not the settings; the roles and privileges stay readable.
#[test]
fn accounts_are_hidden_from_a_caller_who_may_not_see_them() {
    let f = Fixture::with_accounts();
    f.accounts().sees.set(false);
    let m = f.model();
    for class in [
        "CIM_Account",
        "CIM_Identity",
        "CIM_AccountSettingData",
        "CIM_AccountOnSystem",
        "CIM_AssignedIdentity",
    ] {
        assert!(
            walk_ok(&m, &spec(&uri(class), Filter::None)).is_empty(),
            "{class}"
        );
    }
    for base in [
        "CIM_EnabledLogicalElement",
        "CIM_Dependency",
        "CIM_ManagedElement",
        "CIM_MemberOfCollection",
        "CIM_ServiceAffectsElement",
        "CIM_ElementSettingData",
    ] {
        for (_, body) in walk_ok(&m, &spec(&uri(base), Filter::None)) {
            assert!(
                !body.contains("CIM_Account<") && !body.contains(">admin<"),
                "{base}: {body}"
            );
            assert!(!body.contains("wsbmc:identity:"), "{base}: {body}");
            assert!(!body.contains("wsbmc:accounts:settings"), "{base}: {body}");
        }
    }
    assert_eq!(walk_ok(&m, &spec(&uri("CIM_Role"), Filter::None)).len(), 3);
    assert_eq!(
        walk_ok(&m, &spec(&uri("CIM_Privilege"), Filter::None)).len(),
        5
    );
    // Nor can it be addressed.
    let (kind, body) = send(&f, &delete_account("op1"));
    assert_eq!(kind, ReplyKind::Fault, "{body}");
    assert!(body.contains("InvalidSelectors"), "{body}");
    assert!(changes(&f).is_empty());
}

#[test]
fn a_disabled_administrator_needs_an_enabled_one_left() {
    let f = Fixture::with_accounts();
    let request = create(&format!(
        "{}<q:EnabledState>3</q:EnabledState>",
        template("root2", "root2-pass", Some("Administrator"))
    ));
    // With admin enabled: fine.
    let (_, body) = send(&f, &request);
    assert_eq!(return_value(&body), Some(0));
    // An empty table (no enabled Administrator): refused, nothing created; enabled is fine.
    let g = Fixture::with_accounts();
    *g.accounts().table.borrow_mut() =
        wsbmc_accounts::AccountTable::new(wsbmc_accounts::LockoutPolicy::default(), 2);
    let (_, body) = send(&g, &request);
    assert_eq!(return_value(&body), Some(2));
    assert_eq!(g.accounts().table.borrow().list().count(), 0);
    assert!(changes(&g).is_empty());
    let (_, body) = send(
        &g,
        &create(&template("root2", "root2-pass", Some("Administrator"))),
    );
    assert_eq!(return_value(&body), Some(0));
}

/// The console's walk (DSP1034/DSP1039 discovery): profile → service → accounts → identity →
/// role → privileges, with the association filter.
#[test]
fn the_profiles_lead_to_the_accounts_roles_and_privileges() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let assoc = |object: wsbmc_wsman::Epr, association: &str, result: &str| {
        let af = wsbmc_wsman::provider::AssociationFilter {
            instances_of_association: false,
            object,
            association_class: Some(association.into()),
            result_class: Some(result.into()),
            role: None,
            result_role: None,
            include_result_property: Vec::new(),
        };
        walk_ok(&m, &spec(ALL, Filter::Association(af)))
    };
    let mut profile = sel(&[("InstanceID", "DMTF:Simple Identity Management:1.0.1")]);
    profile.insert(0, Selector::text("__cimnamespace", "root/interop"));
    let services = assoc(
        epr("CIM_RegisteredProfile", profile),
        "CIM_ElementConformsToProfile",
        "CIM_AccountManagementService",
    );
    assert_eq!(services.len(), 1);
    let accounts = assoc(
        services[0].0.clone(),
        "CIM_ServiceAffectsElement",
        "CIM_Account",
    );
    let names: Vec<&str> = accounts
        .iter()
        .filter_map(|(e, _)| text_selector(e, "Name"))
        .collect();
    assert_eq!(names, ["admin", "op1"]);
    let identity = assoc(
        accounts[1].0.clone(),
        "CIM_AssignedIdentity",
        "CIM_Identity",
    );
    assert_eq!(identity.len(), 1);
    let role = assoc(identity[0].0.clone(), "CIM_MemberOfCollection", "CIM_Role");
    assert_eq!(role.len(), 1);
    assert_eq!(text_selector(&role[0].0, "Name"), Some("Operator"));
    let privileges = assoc(role[0].0.clone(), "CIM_MemberOfCollection", "CIM_Privilege");
    let granted: Vec<&str> = privileges
        .iter()
        .filter_map(|(e, _)| text_selector(e, "InstanceID"))
        .collect();
    assert_eq!(
        granted,
        [
            "wsbmc:privilege:Login",
            "wsbmc:privilege:ConfigureComponents",
            "wsbmc:privilege:ConfigureSelf"
        ]
    );
    let systems = assoc(
        accounts[0].0.clone(),
        "CIM_AccountOnSystem",
        "CIM_ComputerSystem",
    );
    assert_eq!(text_selector(&systems[0].0, "Name"), Some("host-1:BMC"));
    let settings = assoc(
        services[0].0.clone(),
        "CIM_ElementSettingData",
        "CIM_AccountSettingData",
    );
    assert_eq!(settings.len(), 1);
}

/// Without a table there are no account instances and no account profiles.
#[test]
fn a_platform_without_a_table_shows_nothing_of_it() {
    let f = Fixture::full();
    let m = f.model();
    assert!(walk_ok(&m, &spec(&uri("CIM_Account"), Filter::None)).is_empty());
    assert!(walk_ok(&m, &spec(&uri("CIM_Role"), Filter::None)).is_empty());
    let profiles = walk_ok(&m, &spec(&uri("CIM_RegisteredProfile"), Filter::None));
    assert!(!profiles.iter().any(|(_, b)| b.contains("Identity")));
    let (kind, body) = send(&f, &create(&template("bob", "bob-secret-1", None)));
    assert_eq!(kind, ReplyKind::Fault, "{body}");
}

// ---- The whole life of an account, at the provider ---------------------------------------------------

/// Creates an account, changes its password, disables it and deletes it, through the Provider
/// trait as the service calls it, checking the table's `Change` of each step.
#[test]
fn an_account_from_creation_to_deletion() {
    let f = Fixture::with_accounts();
    let m = f.model();
    let svc_keys = vec![
        Selector::text("CreationClassName", "CIM_AccountManagementService"),
        Selector::text("Name", "Account Management Service"),
        Selector::text("SystemCreationClassName", "CIM_ComputerSystem"),
        Selector::text("SystemName", "host-1:BMC"),
    ];
    let bmc = wsbmc_wsman::Epr {
        resource_uri: uri("CIM_ComputerSystem"),
        selectors: vec![
            Selector::text("CreationClassName", "CIM_ComputerSystem"),
            Selector::text("Name", "host-1:BMC"),
        ],
    };
    let text = |s: &str| PropertyValue::Text(s.into());
    let template = Representation {
        class: "CIM_Account".into(),
        namespace: Some(uri("CIM_Account")),
        properties: vec![
            Property {
                name: "UserID".into(),
                value: text("zoe"),
            },
            Property {
                name: "UserPassword".into(),
                value: text("zoe-first-pw"),
            },
            Property {
                name: "Role".into(),
                value: text("ReadOnly"),
            },
        ],
    };
    let input = vec![
        Property {
            name: "System".into(),
            value: PropertyValue::Epr(bmc),
        },
        Property {
            name: "AccountTemplate".into(),
            value: PropertyValue::Instance(Box::new(template)),
        },
    ];
    let target = Target {
        resource_uri: &uri("CIM_AccountManagementService"),
        selectors: &svc_keys,
        namespace: None,
    };
    let mut out = XmlWriter::new();
    m.invoke(&target, "CreateAccount", &input, &mut out)
        .unwrap();
    assert_eq!(return_value(out.as_str()), Some(0));
    assert!(f.accounts().logs_in("zoe", "zoe-first-pw"));

    let keys: Vec<Selector> = account_sel("zoe")
        .into_iter()
        .map(|(n, v)| Selector::text(n, v))
        .collect();
    let account = Target {
        resource_uri: &uri("CIM_Account"),
        selectors: &keys,
        namespace: None,
    };
    let put = |props: Vec<Property>| {
        let mut out = XmlWriter::new();
        m.put(
            &account,
            &Representation {
                class: "CIM_Account".into(),
                namespace: None,
                properties: props,
            },
            &mut out,
        )
        .map(|()| out.as_str().to_string())
    };
    put(vec![Property {
        name: "UserPassword".into(),
        value: text("zoe-second-pw"),
    }])
    .unwrap();
    assert!(!f.accounts().logs_in("zoe", "zoe-first-pw"));
    assert!(f.accounts().logs_in("zoe", "zoe-second-pw"));
    // Policy: too short (and the name, in another case) is refused.
    let refused = put(vec![Property {
        name: "UserPassword".into(),
        value: text("ZOE"),
    }]);
    assert_eq!(
        fault_of(refused),
        (
            FaultKind::InvalidRepresentation,
            Some(FaultDetail::InvalidValues)
        )
    );
    put(vec![Property {
        name: "EnabledState".into(),
        value: text("3"),
    }])
    .unwrap();
    assert!(!f.accounts().logs_in("zoe", "zoe-second-pw"));
    m.delete(&account).unwrap();
    assert_eq!(role_of(&f, "zoe"), None);

    assert_eq!(
        changes(&f),
        [
            (Write::Slot(2), AuditKind::Created, "zoe".into()),
            (Write::Slot(2), AuditKind::PasswordChanged, "zoe".into()),
            (Write::Slot(2), AuditKind::Disabled, "zoe".into()),
            (Write::Remove(2), AuditKind::Deleted, "zoe".into()),
        ]
    );
}
