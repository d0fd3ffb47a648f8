//! Replays envelopes in the shapes real clients send and compares the replies with golden files
//! after canonicalisation. `WSMAN_BLESS=1 cargo test` rewrites the goldens; review the diff.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::path::PathBuf;

struct Step {
    request: &'static str,
    golden: &'static str,
    user: Option<&'static str>,
    status: u16,
}

const fn step(request: &'static str, golden: &'static str, status: u16) -> Step {
    Step {
        request,
        golden,
        user: Some("admin"),
        status,
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn context_of(reply: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(reply).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == "EnumerationContext")
        .and_then(|n| n.text())
        .map(str::to_string)
}

/// Runs the steps against one fresh service (fixed seed and clock, so ids are stable).
fn replay(steps: &[Step]) {
    let provider = Fake::new(5);
    let mut svc = service();
    let mut context = String::new();
    let bless = std::env::var_os("WSMAN_BLESS").is_some();
    for s in steps {
        let req_path = fixtures().join(format!("{}.req.xml", s.request));
        let req = std::fs::read_to_string(&req_path).expect("request fixture");
        let req = req.replace("{{CONTEXT}}", &context);
        let reply = svc.handle(&provider, &meta(s.user), req.as_bytes());
        assert_eq!(reply.status, s.status, "{}: {}", s.golden, text(&reply));
        let got = text(&reply);
        assert!(got.starts_with("<s:Envelope xml:lang=\"en-US\""), "{got}");
        if let Some(c) = context_of(got) {
            context = c;
        }
        let golden_path = fixtures().join(format!("{}.resp.xml", s.golden));
        if bless {
            std::fs::write(&golden_path, got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden_path)
            .unwrap_or_else(|_| panic!("missing golden {golden_path:?}; run with WSMAN_BLESS=1"));
        assert_eq!(
            canonical(got),
            canonical(&want),
            "{} differs from golden",
            s.golden
        );
    }
}

#[test]
fn pypsrp_identify_then_get() {
    replay(&[
        step("pypsrp_identify", "pypsrp_identify", 200),
        step("pypsrp_get", "pypsrp_get", 200),
    ]);
}

#[test]
fn unauthenticated_identify_has_no_security_profiles() {
    replay(&[Step {
        request: "pypsrp_identify",
        golden: "identify_anonymous",
        user: None,
        status: 200,
    }]);
}

#[test]
fn pywinrm_optimized_enumerate_with_bogus_to_and_bare_must_understand() {
    replay(&[step("pywinrm_enumerate", "pywinrm_enumerate", 200)]);
}

#[test]
fn powershell_get_ciminstance_object_and_epr() {
    replay(&[step("winrm_enumerate", "winrm_enumerate", 200)]);
}

#[test]
fn intel_default_namespace_enumerate_pull_put_invoke() {
    replay(&[
        step("intel_enumerate", "intel_enumerate", 200),
        step("intel_pull", "intel_pull", 200),
        step("intel_put", "intel_put", 200),
        step("intel_invoke", "intel_invoke", 200),
        step("fault_invalid_context", "fault_invalid_context", 500),
    ]);
}

#[test]
fn openwsman_must_understand_core_headers_and_epr_paging() {
    replay(&[
        step("openwsman_identify", "openwsman_identify", 200),
        step("openwsman_enumerate", "openwsman_enumerate", 200),
        step("openwsman_pull", "openwsman_pull_1", 200),
        step("openwsman_pull", "openwsman_pull_2", 200),
    ]);
}

#[test]
fn fault_envelopes() {
    replay(&[
        step("fault_must_understand", "fault_must_understand", 500),
        step("fault_version_mismatch", "fault_version_mismatch", 500),
        step("fault_invalid_selectors", "fault_invalid_selectors", 500),
        step(
            "fault_action_not_supported",
            "fault_action_not_supported",
            500,
        ),
    ]);
}

#[test]
fn canonicaliser_ignores_prefixes_order_and_whitespace() {
    let a = r#"<a:x xmlns:a="urn:1" q="1" p="2"> <a:y>t</a:y></a:x>"#;
    let b = r#"<x xmlns="urn:1" p="2" q="1"><y> t </y></x>"#;
    assert_eq!(canonical(a), canonical(b));
    assert_ne!(
        canonical(a),
        canonical(r#"<x xmlns="urn:2" p="2" q="1"><y>t</y></x>"#)
    );
}
