//! Micro-benchmarks of the hot paths that do not involve the network.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wsbmc_bench::{NUMERIC_SENSOR, enumerate, get};
use wsbmc_wsman::Limits;
use wsbmc_wsman::envelope::{parse, parse_document};

fn envelope_parsing(c: &mut Criterion) {
    let limits = Limits::default();
    let sel = [
        (
            "CreationClassName".to_string(),
            "CIM_NumericSensor".to_string(),
        ),
        ("DeviceID".to_string(), "CPU0 Temp(48.0.32)".to_string()),
        (
            "SystemCreationClassName".to_string(),
            "CIM_ComputerSystem".to_string(),
        ),
        ("SystemName".to_string(), "SIM-HOST-01".to_string()),
    ];
    let get = get(NUMERIC_SENSOR, &sel);
    let en = enumerate(NUMERIC_SENSOR, 32, Some("EnumerateObjectAndEPR"));
    for (name, text) in [("parse_get", get), ("parse_enumerate", en)] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let doc = parse_document(black_box(&text), &limits);
                if let Ok(doc) = doc {
                    black_box(parse(&doc, &limits).is_ok());
                }
            })
        });
    }
}

criterion_group!(benches, envelope_parsing);
criterion_main!(benches);
