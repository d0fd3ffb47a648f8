//! CIM conformance: replays the envelopes in `tests/conformance/cim/requests` (hand-written from
//! the shapes real consoles send: Intel DMT's wsman-messages, PowerShell's CIM cmdlets) through
//! the WS-Man service against the real model on the test board, and compares each reply with
//! `tests/conformance/cim/responses/<request>.xml` after canonicalisation.
//!
//! The WS-Man suite (`firmware/wsman/tests/conformance.rs`) replays protocol shapes against a
//! fake provider; these are the shapes whose meaning is the model's (which instance a Get
//! without selectors is, which system a ManagedElement names), so they need the model.
//!
//! `WSBMC_BLESS=1 cargo test -p wsbmc-cim --test conformance` rewrites the goldens; review the
//! diff by hand before committing.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::*;
use wsbmc_cim::PowerTransition;
use wsbmc_wsman::{Limits, ReplyKind, RequestMeta, Service};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/cim")
}

/// One request, the kind of reply it must get, and the power request it must leave behind.
struct Case {
    request: &'static str,
    kind: ReplyKind,
    power: Option<PowerTransition>,
}

const fn ok(request: &'static str, power: Option<PowerTransition>) -> Case {
    Case {
        request,
        kind: ReplyKind::Success,
        power,
    }
}

const fn fault(request: &'static str) -> Case {
    Case {
        request,
        kind: ReplyKind::Fault,
        power: None,
    }
}

fn cases() -> Vec<Case> {
    vec![
        ok("dmt_get_power_management_service", None),
        ok("dmt_get_chassis", None),
        fault("dmt_get_computer_system"),
        ok(
            "dmt_request_power_state_change",
            Some(PowerTransition::OffSoft),
        ),
        fault("dmt_request_power_state_change_bmc"),
        fault("dmt_request_power_state_change_chassis"),
        ok(
            "ps_invoke_cimmethod_request_power_state_change",
            Some(PowerTransition::Reset),
        ),
        // PowerShell's CIM cmdlets on the DSP1023 and DSP1036 classes (wsman.md 6.2):
        // Get-CimInstance -ResourceUri (Enumerate, ObjectAndEPR), Get-CimInstance -InputObject
        // (Get with the EPR's keys) and Get-CimAssociatedInstance (association filter).
        #[cfg(feature = "software-inventory")]
        ok("ps_get_ciminstance_softwareidentity", None),
        #[cfg(feature = "software-inventory")]
        ok("ps_get_ciminstance_elementsoftwareidentity", None),
        #[cfg(feature = "software-inventory")]
        ok("ps_get_ciminstance_installedsoftwareidentity", None),
        #[cfg(feature = "software-inventory")]
        ok("ps_get_ciminstance_inputobject_softwareidentity", None),
        #[cfg(feature = "software-inventory")]
        ok("ps_get_cimassociatedinstance_bmc_firmware", None),
        #[cfg(feature = "software-inventory")]
        ok("ps_get_cimassociatedinstance_host_firmware", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_ciminstance_ipprotocolendpoint", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_ciminstance_ipassignmentsettingdata", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_ciminstance_hostedaccesspoint", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_ciminstance_elementsettingdata", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_ciminstance_inputobject_ipprotocolendpoint", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_cimassociatedinstance_bmc_endpoints", None),
        #[cfg(feature = "ip-interface")]
        ok("ps_get_cimassociatedinstance_endpoint_settings", None),
    ]
}

/// Replays one request on a fresh board and service (fixed seed: MessageIDs are stable).
fn replay(case: &Case) -> Result<String, String> {
    let f = Fixture::full();
    let model = f.model();
    let path = root()
        .join("requests")
        .join(format!("{}.xml", case.request));
    let req = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut svc = Service::new(Limits::default(), 0x5EED);
    let meta = RequestMeta {
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some("admin"),
        now_ms: 1_000_000,
        security_profiles: None,
    };
    let reply = svc.handle(&model, &meta, &req);
    let body = String::from_utf8(reply.body).map_err(|e| format!("{}: {e}", case.request))?;
    if reply.kind != case.kind {
        return Err(format!(
            "{}: {:?} ≠ {:?}\n{body}",
            case.request, reply.kind, case.kind
        ));
    }
    let requested = f.platform.requests.borrow().last().copied();
    if requested != case.power {
        return Err(format!(
            "{}: power request {requested:?} ≠ {:?}",
            case.request, case.power
        ));
    }
    Ok(body)
}

#[test]
fn every_console_shape_replays_to_its_golden() {
    let mut failures = Vec::new();
    for case in cases() {
        let got = match replay(&case) {
            Ok(g) => g,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        let golden = root()
            .join("responses")
            .join(format!("{}.xml", case.request));
        if let Err(e) = golden::check(&golden, &got, canonical) {
            failures.push(format!("{}: {e}", case.request));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every request is replayed and every golden is produced: nothing on disk goes unchecked (in
/// a build with every class; a smaller build replays what it has).
#[cfg(all(feature = "software-inventory", feature = "ip-interface"))]
#[test]
fn no_orphan_requests_or_goldens() {
    let names: std::collections::BTreeSet<String> =
        cases().iter().map(|c| c.request.to_string()).collect();
    for dir in ["requests", "responses"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            panic!("no {dir} dir");
        };
        let orphans: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter_map(|n| n.strip_suffix(".xml").map(str::to_string))
            .filter(|n| !names.contains(n))
            .collect();
        assert!(orphans.is_empty(), "{dir} no case replays: {orphans:?}");
    }
}
