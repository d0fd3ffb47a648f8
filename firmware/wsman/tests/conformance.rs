//! The conformance suite: replays every envelope in `tests/conformance/requests` (recorded from
//! pypsrp/pywinrm, or hand-written from reference/wsman.md where no client runs here) against
//! the service with the fixed `Fake` provider, and compares each reply with its golden file in
//! `tests/conformance/responses` after canonicalisation.
//!
//! `WSBMC_BLESS=1 cargo test -p wsbmc-wsman --test conformance` rewrites the goldens; review the
//! diff by hand before committing. Fault goldens are additionally checked against the fault
//! catalogue, so a fixture that stops triggering its fault cannot be blessed silently.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use wsbmc_wsman::{FaultKind, Limits, ReplyKind, RequestMeta, Role, Service};

/// The enumeration context the capture server handed out; replaced by the live one on replay.
const RECORDED_CONTEXT: &str = "uuid:C0A7E47C-0000-4000-8000-000000000001";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance")
}

#[derive(Clone, Copy)]
struct Step {
    request: &'static str,
    kind: ReplyKind,
    user: Option<&'static str>,
    /// Sent through `Service::handle_as` with this role; `None`: `handle` (every right).
    role: Option<Role>,
    utf16: bool,
    fault: Option<FaultKind>,
}

const fn ok(request: &'static str) -> Step {
    Step {
        request,
        kind: ReplyKind::Success,
        user: Some("admin"),
        role: None,
        utf16: false,
        fault: None,
    }
}

/// An Identify, answered with its response (the kind a caller without a user may get).
const fn identify(request: &'static str) -> Step {
    Step {
        kind: ReplyKind::Identify,
        ..ok(request)
    }
}

const fn fault(request: &'static str, kind: FaultKind) -> Step {
    Step {
        request,
        kind: ReplyKind::Fault,
        user: Some("admin"),
        role: None,
        utf16: false,
        fault: Some(kind),
    }
}

const fn as_role(step: Step, role: Role) -> Step {
    Step {
        role: Some(role),
        ..step
    }
}

struct Scenario {
    name: &'static str,
    limits: Limits,
    steps: Vec<Step>,
}

fn scenario(name: &'static str, steps: Vec<Step>) -> Scenario {
    Scenario {
        name,
        limits: Limits::default(),
        steps,
    }
}

fn context_of(reply: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(reply).ok()?;
    doc.descendants()
        .find(|n| n.tag_name().name() == "EnumerationContext")
        .and_then(|n| n.text())
        .map(str::to_string)
}

fn to_utf16(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn from_utf16(bytes: &[u8]) -> String {
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "UTF-16 replies carry a BOM");
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).expect("UTF-16 reply")
}

/// The SOAP code and subcode of a fault reply as `{ns}local`, resolved through the prefixes.
fn fault_codes(reply: &str) -> (String, Option<String>) {
    let doc = roxmltree::Document::parse(reply).expect("fault XML");
    let soap = "http://www.w3.org/2003/05/soap-envelope";
    let values: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name((soap, "Value")))
        .map(|n| {
            let (p, l) = n.text().unwrap_or("").split_once(':').expect("QName");
            format!(
                "{{{}}}{l}",
                n.lookup_namespace_uri(Some(p)).expect("prefix")
            )
        })
        .collect();
    (values[0].clone(), values.get(1).cloned())
}

fn check_fault_matches_catalogue(reply: &str, kind: FaultKind, what: &str) {
    let spec = kind.spec();
    let (code, sub) = fault_codes(reply);
    assert_eq!(
        code,
        format!(
            "{{http://www.w3.org/2003/05/soap-envelope}}{}",
            &spec.code.qname()[2..]
        ),
        "{what}"
    );
    assert_eq!(
        sub,
        spec.subcode
            .map(|(_, ns, local)| format!("{{{ns}}}{local}")),
        "{what}"
    );
    assert!(reply.contains(spec.action), "{what}: fault action");
}

/// Runs one scenario on a fresh service (fixed seed and clock) and returns the request files it
/// used. Mismatches are collected, so one run shows every difference.
fn run(s: &Scenario, failures: &mut Vec<String>) -> Vec<&'static str> {
    let provider = Fake::new(5);
    let mut svc = Service::new(s.limits.clone(), SEED);
    let mut context = RECORDED_CONTEXT.to_string();
    let mut used = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        used.push(step.request);
        let path = root()
            .join("requests")
            .join(format!("{}.xml", step.request));
        let req = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .replace(RECORDED_CONTEXT, &context);
        let (body, ct) = if step.utf16 {
            (to_utf16(&req), "application/soap+xml;charset=UTF-16")
        } else {
            (req.into_bytes(), SOAP_CT)
        };
        let meta = RequestMeta {
            content_type: Some(ct),
            user: step.user,
            now_ms: NOW + i as u64,
            security_profiles: None,
        };
        let reply = match step.role {
            Some(role) => svc.handle_as(&provider, &meta, role, &body),
            None => svc.handle(&provider, &meta, &body),
        };
        let got = if step.utf16 {
            assert_eq!(
                reply.content_type,
                Some("application/soap+xml;charset=UTF-16")
            );
            from_utf16(&reply.body)
        } else {
            assert_eq!(
                reply.content_type,
                Some("application/soap+xml;charset=UTF-8")
            );
            String::from_utf8(reply.body.clone()).expect("UTF-8 reply")
        };
        let what = format!("{} step {i} ({})", s.name, step.request);
        if !got.starts_with("<s:Envelope xml:lang=\"en-US\"") {
            failures.push(format!("{what}: not an en-US s:Envelope\n{got}"));
            continue;
        }
        if reply.kind != step.kind {
            failures.push(format!("{what}: {:?} ≠ {:?}\n{got}", reply.kind, step.kind));
            continue;
        }
        if let Some(kind) = step.fault {
            check_fault_matches_catalogue(&got, kind, &what);
        }
        if let Some(c) = context_of(&got).filter(|c| !c.is_empty()) {
            context = c;
        }
        let golden = root()
            .join("responses")
            .join(format!("{}.{i}.{}.xml", s.name, step.request));
        if let Err(e) = golden::check(&golden, &got, canonical) {
            failures.push(format!("{what}: {e}"));
        }
    }
    used
}

/// How a request triggers each fault kind. Exhaustive on purpose: a new kind does not compile
/// until it has a trigger and a golden.
fn fault_scenario(kind: FaultKind) -> Scenario {
    use FaultKind::*;
    let name = match kind {
        VersionMismatch => "fault_VersionMismatch",
        MustUnderstand => "fault_MustUnderstand",
        ActionNotSupported => "fault_ActionNotSupported",
        DestinationUnreachable => "fault_DestinationUnreachable",
        EndpointUnavailable => "fault_EndpointUnavailable",
        InvalidMessageInformationHeader => "fault_InvalidMessageInformationHeader",
        MessageInformationHeaderRequired => "fault_MessageInformationHeaderRequired",
        AccessDenied => "fault_AccessDenied",
        AlreadyExists => "fault_AlreadyExists",
        CannotProcessFilter => "fault_CannotProcessFilter",
        Concurrency => "fault_Concurrency",
        EncodingLimit => "fault_EncodingLimit",
        InternalError => "fault_InternalError",
        InvalidOptions => "fault_InvalidOptions",
        InvalidParameter => "fault_InvalidParameter",
        InvalidSelectors => "fault_InvalidSelectors",
        QuotaLimit => {
            return Scenario {
                name: "fault_QuotaLimit",
                limits: Limits {
                    max_enum_contexts: 1,
                    ..Limits::default()
                },
                steps: vec![ok("pypsrp_enumerate"), fault("fault_QuotaLimit", kind)],
            };
        }
        SchemaValidationError => "fault_SchemaValidationError",
        TimedOut => "fault_TimedOut",
        UnsupportedFeature => "fault_UnsupportedFeature",
        InvalidRepresentation => "fault_InvalidRepresentation",
        EnumCannotProcessFilter => "fault_EnumCannotProcessFilter",
        FilterDialectRequestedUnavailable => "fault_FilterDialectRequestedUnavailable",
        FilteringNotSupported => "fault_FilteringNotSupported",
        InvalidEnumerationContext => "fault_InvalidEnumerationContext",
        InvalidExpirationTime => "fault_InvalidExpirationTime",
        UnsupportedExpirationType => "fault_UnsupportedExpirationType",
        // The WS-Eventing kinds are not in `FaultKind::ALL`: a request reaches them only through
        // an `EventSource`, so wsbmc-eventing's service tests trigger each, with goldens.
        #[cfg(feature = "eventing")]
        k => panic!("{k:?} is triggered by the eventing crate's tests"),
    };
    scenario(name, vec![fault(name, kind)])
}

fn scenarios() -> Vec<Scenario> {
    use FaultKind::*;
    let mut all = vec![
        // Recorded from pypsrp.
        scenario(
            "pypsrp",
            vec![
                ok("pypsrp_get"),
                ok("pypsrp_put"),
                ok("pypsrp_invoke"),
                ok("pypsrp_enumerate"),
                ok("pypsrp_release"),
                ok("pypsrp_enumerate"),
                ok("pypsrp_pull"),
                fault("pypsrp_pull", InvalidEnumerationContext),
                ok("pypsrp_enumerate_optimized"),
                ok("pypsrp_create"),
                ok("pypsrp_delete"),
                // pypsrp marks its OptionSet mustUnderstand; only MustComply options insist.
                ok("pypsrp_get_optionset"),
                fault("pypsrp_config_probe", DestinationUnreachable),
            ],
        ),
        // Recorded from pywinrm: its shell operations are refused cleanly, and Get/Enumerate/Pull
        // built on its own header work despite the bogus To and unqualified mustUnderstand.
        scenario(
            "pywinrm",
            vec![
                ok("pywinrm_get"),
                ok("pywinrm_enumerate"),
                ok("pypsrp_enumerate"),
                ok("pywinrm_pull"),
                fault("pywinrm_open_shell", DestinationUnreachable),
                fault("pywinrm_close_shell", DestinationUnreachable),
            ],
        ),
        scenario(
            "winrm",
            vec![
                ok("hand_winrm_get"),
                ok("hand_winrm_set"),
                ok("hand_winrm_invoke"),
                ok("hand_winrm_enumerate_wql"),
                ok("hand_winrm_enumerate_selector"),
                ok("hand_winrm_create"),
                ok("hand_winrm_delete"),
            ],
        ),
        // MaxElements 32000 fits everything in the EnumerateResponse; Pull then has nothing.
        scenario(
            "winrm_enumerate_then_stale_pull",
            vec![
                ok("hand_winrm_enumerate"),
                fault("hand_winrm_pull", InvalidEnumerationContext),
            ],
        ),
        scenario(
            "winrm_utf16",
            vec![
                Step {
                    utf16: true,
                    ..ok("hand_winrm_get")
                },
                Step {
                    utf16: true,
                    ..fault("fault_InvalidSelectors", InvalidSelectors)
                },
            ],
        ),
        scenario(
            "powershell",
            vec![
                ok("hand_ps_get_ciminstance"),
                ok("hand_ps_get_ciminstance_filter"),
                ok("hand_ps_invoke_cimmethod"),
                fault("hand_ps_get_cimassociatedinstance", FilteringNotSupported),
            ],
        ),
        scenario(
            "openwsman",
            vec![
                Step {
                    user: None,
                    ..identify("hand_openwsman_identify")
                },
                identify("hand_openwsman_identify"),
                ok("hand_openwsman_get"),
                ok("hand_openwsman_enumerate_estimate"),
                ok("hand_openwsman_pull_estimate"),
                ok("hand_openwsman_pull_estimate"),
            ],
        ),
        scenario(
            "intel",
            vec![
                ok("hand_intel_enumerate"),
                ok("hand_intel_pull"),
                ok("hand_intel_get"),
                ok("hand_intel_put"),
                ok("hand_intel_invoke"),
            ],
        ),
        // Authorization (issue 15): a ReadOnly user reads but is refused a Put and an Invoke
        // with AccessDenied before the provider sees them; an Operator may Invoke but not
        // write the BMC's own configuration (the fake class is no sensor).
        scenario(
            "role_readonly",
            vec![
                as_role(ok("hand_intel_enumerate"), Role::ReadOnly),
                as_role(ok("hand_intel_get"), Role::ReadOnly),
                as_role(fault("hand_intel_put", AccessDenied), Role::ReadOnly),
                as_role(fault("hand_intel_invoke", AccessDenied), Role::ReadOnly),
            ],
        ),
        scenario(
            "role_operator",
            vec![
                as_role(ok("hand_intel_invoke"), Role::Operator),
                as_role(fault("hand_intel_put", AccessDenied), Role::Operator),
                as_role(ok("hand_intel_put"), Role::Administrator),
            ],
        ),
        // The first client shapes (requests `replay_*`, formerly tests/golden.rs): pypsrp's
        // Identify (with and without credentials) then Get; pywinrm's optimized Enumerate with a
        // bogus To and bare mustUnderstand; PowerShell Get-CimInstance (object and EPR); Intel
        // AMT SDK style Enumerate/Pull/Put/Invoke in the default namespace; openwsman's
        // mustUnderstand core headers and EPR paging; and the basic fault envelopes.
        scenario(
            "replay_pypsrp",
            vec![identify("replay_pypsrp_identify"), ok("replay_pypsrp_get")],
        ),
        scenario(
            "replay_anonymous",
            vec![Step {
                user: None,
                ..identify("replay_pypsrp_identify")
            }],
        ),
        scenario("replay_pywinrm", vec![ok("replay_pywinrm_enumerate")]),
        scenario("replay_powershell", vec![ok("replay_winrm_enumerate")]),
        scenario(
            "replay_intel",
            vec![
                ok("replay_intel_enumerate"),
                ok("replay_intel_pull"),
                ok("replay_intel_put"),
                ok("replay_intel_invoke"),
                fault("replay_fault_invalid_context", InvalidEnumerationContext),
            ],
        ),
        scenario(
            "replay_openwsman",
            vec![
                identify("replay_openwsman_identify"),
                ok("replay_openwsman_enumerate"),
                ok("replay_openwsman_pull"),
                ok("replay_openwsman_pull"),
            ],
        ),
        scenario(
            "replay_faults",
            vec![
                fault("replay_fault_must_understand", MustUnderstand),
                fault("replay_fault_version_mismatch", VersionMismatch),
                fault("replay_fault_invalid_selectors", InvalidSelectors),
                fault("replay_fault_action_not_supported", ActionNotSupported),
            ],
        ),
        // Protocol decisions beyond one fault per kind.
        scenario(
            "pull_resource_mismatch_keeps_context",
            vec![
                ok("pypsrp_enumerate"),
                fault("fault_PullResourceMismatch", InvalidEnumerationContext),
                ok("pypsrp_pull"),
            ],
        ),
        scenario(
            "pull_limits",
            vec![
                ok("pypsrp_enumerate"),
                fault("fault_PullMaxTimeZero", TimedOut),
                fault("fault_PullMaxCharacters", EncodingLimit),
                ok("hand_intel_pull"),
            ],
        ),
        scenario(
            "header_rules",
            vec![
                ok("optionset_must_understand_tolerated"),
                fault("fault_DataLocale", UnsupportedFeature),
                fault("fault_RepeatedMessageID", InvalidMessageInformationHeader),
            ],
        ),
    ];
    all.extend(ALL_KINDS.iter().map(|k| fault_scenario(*k)));
    all
}

#[test]
fn every_recorded_and_hand_written_request_replays_to_its_golden() {
    let mut failures = Vec::new();
    let mut used = BTreeSet::new();
    for s in scenarios() {
        used.extend(run(&s, &mut failures));
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("requests"))
        .expect("requests dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".xml"))
                .map(str::to_string)
        })
        .collect();
    let used: BTreeSet<String> = used.into_iter().map(str::to_string).collect();
    let unused: Vec<_> = on_disk.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "fixtures no scenario replays: {unused:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_fault_kind_has_a_trigger() {
    let names: BTreeSet<_> = ALL_KINDS.iter().map(|k| fault_scenario(*k).name).collect();
    assert_eq!(names.len(), ALL_KINDS.len());
    for k in ALL_KINDS {
        assert_eq!(kind_named(&format!("{k:?}")), Some(k));
    }
}

#[test]
fn goldens_have_no_orphans() {
    let expected: BTreeSet<String> = scenarios()
        .iter()
        .flat_map(|s| {
            s.steps
                .iter()
                .enumerate()
                .map(|(i, st)| format!("{}.{i}.{}.xml", s.name, st.request))
                .collect::<Vec<_>>()
        })
        .collect();
    let Ok(dir) = std::fs::read_dir(root().join("responses")) else {
        return;
    };
    let orphans: Vec<String> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.ends_with(".xml") && !expected.contains(n))
        .collect();
    assert!(
        orphans.is_empty(),
        "goldens no scenario produces: {orphans:?}"
    );
}

/// The `__cimnamespace` selector reaches the provider exactly as sent, whatever its spelling.
#[test]
fn cimnamespace_passes_through_untouched() {
    use std::cell::RefCell;
    use wsbmc_wsman::{Cursor, EnumSpec, Epr, Fault, Identity, Provider, Target, XmlWriter};
    struct Spy(RefCell<Vec<Option<String>>>);
    impl Provider for Spy {
        fn identity(&self) -> Identity {
            Fake::new(0).identity()
        }
        fn get(&self, t: &Target<'_>, _: &mut XmlWriter) -> Result<(), Fault> {
            self.0.borrow_mut().push(t.namespace.map(str::to_string));
            assert!(t.selectors.iter().all(|s| s.name != "__cimnamespace"));
            Err(Fault::new(FaultKind::InvalidSelectors))
        }
        fn enumerate(&self, spec: &EnumSpec) -> Result<Cursor, Fault> {
            self.0.borrow_mut().push(spec.namespace.clone());
            Ok(0)
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
    let spy = Spy(RefCell::new(Vec::new()));
    let mut svc = service();
    for ns in ["root/cimv2", r"root\CIMV2", "Interop"] {
        for file in ["hand_openwsman_get", "hand_ps_get_ciminstance"] {
            let req = std::fs::read_to_string(root().join("requests").join(format!("{file}.xml")))
                .expect("fixture")
                .replace(">root/cimv2<", &format!(">{ns}<"));
            svc.handle(&spy, &meta(Some("admin")), req.as_bytes());
        }
    }
    let seen: Vec<Option<String>> = spy.0.into_inner();
    let want: Vec<Option<String>> = ["root/cimv2", r"root\CIMV2", "Interop"]
        .iter()
        .flat_map(|n| [Some(n.to_string()), Some(n.to_string())])
        .collect();
    assert_eq!(seen, want);
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
