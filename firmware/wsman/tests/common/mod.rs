//! Shared test scaffolding: a fake provider over a fixed table and an XML canonicaliser.
#![allow(dead_code)]

/// The golden-file check every golden suite shares, with its one bless variable.
#[path = "../../../../tests/support/golden.rs"]
pub mod golden;

use wsbmc_wsman::provider::Filter;
use wsbmc_wsman::wql::{self, Value};
use wsbmc_wsman::{
    Cursor, EnumSpec, Epr, Fault, FaultDetail, FaultKind, Identity, Limits, Property, Provider,
    Reply, Representation, RequestMeta, Selector, Service, Target, XmlWriter,
};

pub const CLASS: &str = "WSB_Fake";
pub const URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/WSB_Fake";
/// A class whose Get answers the fault its `Kind` selector names, for faults only a provider
/// decides (AccessDenied, InternalError, …).
pub const FAULTY_URI: &str = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/WSB_Faulty";
pub const SOAP_CT: &str = "application/soap+xml;charset=UTF-8";
pub const SEED: u64 = 0x5EED;
pub const NOW: u64 = 1_000_000;

/// `count` instances keyed by CreationClassName + DeviceID (`dev-000`…), with `padding`
/// characters of ElementName to make items as large as a test needs.
pub struct Fake {
    pub count: usize,
    pub padding: usize,
}

impl Fake {
    pub fn new(count: usize) -> Self {
        Self { count, padding: 0 }
    }

    fn device_id(i: usize) -> String {
        format!("dev-{i:03}")
    }

    fn render(&self, i: usize, name: Option<&str>, out: &mut XmlWriter) {
        out.open(
            "p:WSB_Fake",
            &[("xmlns:p", URI), ("xsi:type", "p:WSB_Fake_Type")],
        );
        out.leaf("p:CreationClassName", CLASS);
        out.leaf("p:DeviceID", &Self::device_id(i));
        let default = format!("Fake sensor {i}{}", "x".repeat(self.padding));
        out.leaf("p:ElementName", name.unwrap_or(&default));
        out.close("p:WSB_Fake");
    }

    fn epr(i: usize) -> Epr {
        Epr {
            resource_uri: URI.into(),
            selectors: vec![
                Selector::text("__cimnamespace", "root/cimv2"),
                Selector::text("CreationClassName", CLASS),
                Selector::text("DeviceID", Self::device_id(i)),
            ],
        }
    }

    fn check_uri(uri: &str, namespace: Option<&str>) -> Result<(), Fault> {
        if !uri.eq_ignore_ascii_case(URI) {
            return Err(Fault::unknown_resource());
        }
        if namespace.is_some_and(|n| n != "root/cimv2") {
            return Err(Fault::with_detail(
                FaultKind::DestinationUnreachable,
                FaultDetail::InvalidNamespace,
            ));
        }
        Ok(())
    }

    fn find(&self, target: &Target<'_>) -> Result<usize, Fault> {
        Self::check_uri(target.resource_uri, target.namespace)?;
        let mut dev = None;
        for s in target.selectors {
            match s.name.as_str() {
                n if n.eq_ignore_ascii_case("CreationClassName") => {
                    if s.as_text() != Some(CLASS) {
                        return Err(Fault::with_detail(
                            FaultKind::InvalidSelectors,
                            FaultDetail::InvalidValue,
                        ));
                    }
                }
                n if n.eq_ignore_ascii_case("DeviceID") => dev = s.as_text(),
                _ => {
                    return Err(Fault::with_detail(
                        FaultKind::InvalidSelectors,
                        FaultDetail::UnexpectedSelectors,
                    ));
                }
            }
        }
        let dev = dev.ok_or(Fault::with_detail(
            FaultKind::InvalidSelectors,
            FaultDetail::InsufficientSelectors,
        ))?;
        (0..self.count)
            .find(|i| Self::device_id(*i) == dev)
            .ok_or(Fault::with_detail(
                FaultKind::InvalidSelectors,
                FaultDetail::InvalidValue,
            ))
    }

    fn property(&self, i: usize, name: &str) -> Option<Value> {
        if name.eq_ignore_ascii_case("CreationClassName") {
            Some(Value::Str(CLASS.into()))
        } else if name.eq_ignore_ascii_case("DeviceID") {
            Some(Value::Str(Self::device_id(i)))
        } else if name.eq_ignore_ascii_case("ElementName") {
            Some(Value::Str(format!(
                "Fake sensor {i}{}",
                "x".repeat(self.padding)
            )))
        } else {
            None
        }
    }

    fn matches(&self, i: usize, filter: &Filter) -> bool {
        match filter {
            Filter::Wql(q) => match wql::parse(q) {
                Ok(q) => q
                    .condition
                    .is_none_or(|c| c.eval(&|name| self.property(i, name))),
                Err(_) => false,
            },
            Filter::Selector(sels) => sels.iter().all(|s| match s.name.as_str() {
                "DeviceID" => s.as_text() == Some(&Self::device_id(i)),
                "CreationClassName" => s.as_text() == Some(CLASS),
                _ => false,
            }),
            _ => true,
        }
    }
}

impl Provider for Fake {
    fn identity(&self) -> Identity {
        Identity {
            vendor: "wsbmc test".into(),
            version: "OS: 0.0.0 SP: 0.0 Stack: 3.0".into(),
        }
    }

    fn get(&self, target: &Target<'_>, out: &mut XmlWriter) -> Result<(), Fault> {
        if target.resource_uri.eq_ignore_ascii_case(FAULTY_URI) {
            let kind = target
                .selectors
                .iter()
                .find(|s| s.name == "Kind")
                .and_then(|s| s.as_text())
                .and_then(kind_named)
                .ok_or(Fault::new(FaultKind::InvalidSelectors))?;
            return Err(Fault::new(kind).message("WSB_Faulty was asked to fail."));
        }
        let i = self.find(target)?;
        self.render(i, None, out);
        Ok(())
    }

    fn enumerate(&self, spec: &EnumSpec) -> Result<Cursor, Fault> {
        if let Filter::Association(_) = spec.filter {
            return Err(Fault::new(FaultKind::FilteringNotSupported));
        }
        Self::check_uri(&spec.resource_uri, spec.namespace.as_deref())?;
        match &spec.filter {
            Filter::Wql(q) => {
                let q = wql::parse(q)?;
                if !q.class.eq_ignore_ascii_case(CLASS) {
                    return Err(Fault::new(FaultKind::CannotProcessFilter)
                        .message("The query is about another class."));
                }
                let props = q
                    .condition
                    .as_ref()
                    .map(|c| c.properties())
                    .unwrap_or_default();
                if let Some(p) = props.iter().find(|p| self.property(0, p).is_none()) {
                    return Err(Fault::new(FaultKind::CannotProcessFilter)
                        .message(format!("WSB_Fake has no property '{p}'.")));
                }
                Ok(0)
            }
            _ => Ok(0),
        }
    }

    fn next_item(
        &self,
        spec: &EnumSpec,
        cursor: &mut Cursor,
        object: Option<&mut XmlWriter>,
    ) -> Result<Option<Epr>, Fault> {
        let mut i = *cursor as usize;
        while i < self.count && !self.matches(i, &spec.filter) {
            i += 1;
        }
        if i >= self.count {
            *cursor = i as u64;
            return Ok(None);
        }
        if let Some(out) = object {
            self.render(i, None, out);
        }
        *cursor = i as u64 + 1;
        Ok(Some(Self::epr(i)))
    }

    fn count_estimate(&self, _spec: &EnumSpec) -> Option<u64> {
        Some(self.count as u64)
    }

    fn put(
        &self,
        target: &Target<'_>,
        body: &Representation,
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        let i = self.find(target)?;
        if body.class != CLASS {
            return Err(Fault::with_detail(
                FaultKind::InvalidRepresentation,
                FaultDetail::InvalidValues,
            ));
        }
        let name = body
            .properties
            .iter()
            .find(|p| p.name == "ElementName")
            .and_then(|p| p.value.text());
        self.render(i, name, out);
        Ok(())
    }

    fn create(&self, target: &Target<'_>, body: &Representation) -> Result<Epr, Fault> {
        Self::check_uri(target.resource_uri, target.namespace)?;
        if body.class != CLASS {
            return Err(Fault::with_detail(
                FaultKind::InvalidRepresentation,
                FaultDetail::InvalidValues,
            ));
        }
        let dev = body
            .properties
            .iter()
            .find(|p| p.name == "DeviceID")
            .and_then(|p| p.value.text())
            .ok_or(Fault::with_detail(
                FaultKind::InvalidRepresentation,
                FaultDetail::MissingValues,
            ))?;
        if (0..self.count).any(|i| Self::device_id(i) == dev) {
            return Err(Fault::new(FaultKind::AlreadyExists));
        }
        Ok(Epr {
            resource_uri: URI.into(),
            selectors: vec![
                Selector::text("__cimnamespace", "root/cimv2"),
                Selector::text("CreationClassName", CLASS),
                Selector::text("DeviceID", dev),
            ],
        })
    }

    fn delete(&self, target: &Target<'_>) -> Result<(), Fault> {
        self.find(target).map(|_| ())
    }

    fn supports_option(&self, name: &str) -> bool {
        name == "wsbmc:Supported"
    }

    fn invoke(
        &self,
        target: &Target<'_>,
        method: &str,
        input: &[Property],
        out: &mut XmlWriter,
    ) -> Result<(), Fault> {
        self.find(target)?;
        if method != "RequestStateChange" {
            return Err(Fault::action_mismatch());
        }
        let state = input
            .iter()
            .find(|p| p.name == "RequestedState")
            .and_then(|p| p.value.text())
            .ok_or(Fault::with_detail(
                FaultKind::InvalidParameter,
                FaultDetail::MissingValues,
            ))?;
        out.open("p:RequestStateChange_OUTPUT", &[("xmlns:p", URI)]);
        let rv = if state.trim() == "3" { "0" } else { "5" };
        out.leaf("p:ReturnValue", rv);
        out.close("p:RequestStateChange_OUTPUT");
        Ok(())
    }
}

/// The fault kind called `name` (its variant name), for WSB_Faulty.
pub fn kind_named(name: &str) -> Option<FaultKind> {
    ALL_KINDS.iter().copied().find(|k| format!("{k:?}") == name)
}

/// Every fault kind. `conformance.rs` matches on `FaultKind` exhaustively, so a new kind fails to
/// compile there until it has a trigger.
pub const ALL_KINDS: [FaultKind; 27] = FaultKind::ALL;

pub fn service() -> Service {
    Service::new(Limits::default(), SEED)
}

pub fn meta(user: Option<&str>) -> RequestMeta<'_> {
    RequestMeta {
        content_type: Some(SOAP_CT),
        user,
        now_ms: NOW,
        security_profiles: None,
    }
}

pub fn send(svc: &mut Service, p: &Fake, body: &str) -> Reply {
    svc.handle(p, &meta(Some("admin")), body.as_bytes())
}

pub fn text(reply: &Reply) -> &str {
    std::str::from_utf8(&reply.body).expect("utf-8 reply")
}

/// Canonical form for golden comparison: Clark names (`{ns}local`), attributes sorted, namespace
/// declarations dropped (prefixes do not matter), whitespace-only text dropped, text trimmed.
pub fn canonical(xml: &str) -> String {
    let doc = roxmltree::Document::parse(xml).expect("well-formed XML");
    let mut out = String::new();
    canon_node(doc.root_element(), 0, &mut out);
    out
}

fn clark(ns: Option<&str>, local: &str) -> String {
    match ns {
        Some(ns) => format!("{{{ns}}}{local}"),
        None => local.to_string(),
    }
}

fn canon_node(node: roxmltree::Node<'_, '_>, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let name = clark(node.tag_name().namespace(), node.tag_name().name());
    let mut attrs: Vec<String> = node
        .attributes()
        .map(|a| format!("{}=\"{}\"", clark(a.namespace(), a.name()), a.value()))
        .collect();
    attrs.sort();
    out.push_str(&indent);
    out.push('<');
    out.push_str(&name);
    for a in &attrs {
        out.push(' ');
        out.push_str(a);
    }
    out.push_str(">\n");
    for c in node.children() {
        if c.is_element() {
            canon_node(c, depth + 1, out);
        } else if c.is_text() {
            let t = c.text().unwrap_or("").trim();
            if !t.is_empty() {
                out.push_str(&indent);
                out.push_str("  ");
                out.push_str(t);
                out.push('\n');
            }
        }
    }
}

/// `(code, subcode, detail)` of a fault reply, as local names / the detail URI's last segment.
pub fn fault_of(reply: &Reply) -> (String, Option<String>, Option<String>) {
    let body = text(reply);
    let doc = roxmltree::Document::parse(body).expect("fault is XML");
    let soap = "http://www.w3.org/2003/05/soap-envelope";
    let code = doc
        .descendants()
        .find(|n| n.has_tag_name((soap, "Code")))
        .expect("s:Code");
    let values: Vec<_> = code
        .descendants()
        .filter(|n| n.has_tag_name((soap, "Value")))
        .map(|n| {
            // Resolve the QName so a wrong prefix declaration fails the test.
            let t = n.text().unwrap_or("").trim();
            let (prefix, local) = t.split_once(':').expect("QName");
            let ns = n
                .lookup_namespace_uri(Some(prefix))
                .expect("prefix declared");
            format!("{{{ns}}}{local}")
        })
        .collect();
    let detail = doc
        .descendants()
        .find(|n| n.tag_name().name() == "FaultDetail")
        .and_then(|n| n.text())
        .map(|t| t.rsplit('/').next().unwrap_or("").to_string());
    (values[0].clone(), values.get(1).cloned(), detail)
}
