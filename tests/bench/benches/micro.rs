//! Micro-benchmarks of the hot paths that do not involve the network: envelope parsing, the
//! whole request path through the service and the CIM model, and instance rendering.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wsbmc_bench::{NUMERIC_SENSOR, element_text, enumerate, get, pull};
use wsbmc_cim::{Model, Platform, PowerState, PowerTransition, RequestOutcome, SystemInfo};
use wsbmc_monitor::{Monitor, SensorId, Thresholds};
use wsbmc_wsman::envelope::{parse, parse_document};
use wsbmc_wsman::{Limits, ReplyKind, RequestMeta, Service};

const BENCH_BOARD: &str = include_str!("../../../boards/bench/board.toml");

struct HostOn;

impl Platform for HostOn {
    fn host_power(&self) -> PowerState {
        PowerState::On
    }
    fn power_transitions(&self) -> &[PowerTransition] {
        &[]
    }
    fn request_power(&self, _: PowerTransition) -> RequestOutcome {
        RequestOutcome::Unsupported
    }
    fn persist_thresholds(&self, _: &str, _: &Thresholds) {}
}

/// The 64-sensor bench board with a reading in every sensor.
fn monitor() -> (RefCell<Monitor>, SystemInfo) {
    let board = wsbmc_board::parse(BENCH_BOARD, "boards/bench/board.toml").expect("bench board");
    let system = SystemInfo::new(board.info.cim_system_name());
    let mut m = Monitor::new(board.sensors);
    for i in 0..m.sensors().len() {
        let _ = m.record(SensorId(i as u16), Ok(42_000 + i as i32), 1, true);
    }
    (RefCell::new(m), system)
}

fn selectors() -> Vec<(String, String)> {
    [
        ("CreationClassName", "CIM_NumericSensor"),
        ("DeviceID", "Temp 0.0(1.0.32)"),
        ("SystemCreationClassName", "CIM_ComputerSystem"),
        ("SystemName", "BENCH-HOST-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn envelope_parsing(c: &mut Criterion) {
    let limits = Limits::default();
    let get = get(NUMERIC_SENSOR, &selectors());
    let en = enumerate(NUMERIC_SENSOR, 32, Some("EnumerateObjectAndEPR"));
    for (name, text) in [("parse_get", get), ("parse_enumerate", en)] {
        c.bench_function(name, |b| {
            b.iter(|| {
                if let Ok(doc) = parse_document(black_box(&text), &limits) {
                    black_box(parse(&doc, &limits).is_ok());
                }
            })
        });
    }
}

fn service(c: &mut Criterion) {
    let (monitor, system) = monitor();
    let model = Model::new(&monitor, &system, &HostOn);
    let mut svc = Service::new(Limits::default(), 1);
    let meta = RequestMeta {
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some("admin"),
        now_ms: 1,
        security_profiles: None,
    };
    let get = get(NUMERIC_SENSOR, &selectors());
    c.bench_function("service_get_numeric_sensor", |b| {
        b.iter(|| {
            let r = svc.handle(&model, &meta, black_box(get.as_bytes()));
            assert_eq!(r.kind, ReplyKind::Success);
            black_box(r.body.len())
        })
    });
    let en = enumerate(NUMERIC_SENSOR, 32, None);
    c.bench_function("service_enumerate_pull_64_sensors", |b| {
        b.iter(|| {
            let mut r = svc.handle(&model, &meta, en.as_bytes());
            let mut items = 0;
            loop {
                let text = std::str::from_utf8(&r.body).expect("utf-8");
                items += text.matches(":CIM_NumericSensor ").count();
                if text.contains("EndOfSequence") {
                    break;
                }
                let ctx = element_text(text, "EnumerationContext")
                    .expect("context")
                    .to_string();
                r = svc.handle(&model, &meta, pull(NUMERIC_SENSOR, &ctx, 32).as_bytes());
            }
            assert_eq!(items, 64);
        })
    });
}

/// SDR reading conversion (IPMI's y = L[(M·x + B·10^Bexp)·10^Rexp]) of every raw byte, for a
/// typical linear voltage SDR and a non-linear one.
fn sdr_conversion(c: &mut Criterion) {
    use wsbmc_ipmi::{AnalogFormat, Conversion, Factors, Linearization};
    let linear = Factors {
        format: AnalogFormat::TwosComplement,
        m: 63,
        b: -12,
        b_exp: 1,
        r_exp: -3,
        ..Factors::IDENTITY
    };
    let sqrt = Factors {
        linearization: Linearization::SQRT,
        m: 5,
        r_exp: -1,
        ..Factors::IDENTITY
    };
    for (name, f) in [
        ("sdr_convert_256_linear", linear),
        ("sdr_convert_256_sqrt", sqrt),
    ] {
        let conv = Conversion::new(f, 0).expect("valid factors");
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut sum = 0i64;
                for raw in 0..=255u8 {
                    sum += i64::from(conv.value(black_box(raw)).unwrap_or(0));
                }
                black_box(sum)
            })
        });
    }
}

criterion_group!(benches, envelope_parsing, service, sdr_conversion);
criterion_main!(benches);
