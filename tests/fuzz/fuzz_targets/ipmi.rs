//! IPMI wire formats from a bus or a satellite controller: SDR records (every type, the record
//! walk, the conversion factors and the numeric properties they give), FRU images (common
//! header, the three info areas, multi-records, and the CIM view the model builds from them),
//! IPMB frames and responses, and SEL records. The first byte picks which decoder leads; all
//! run on every input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_ipmi::{fru::Fru, ipmb, sdr, sel};

fn sdrs(bytes: &[u8]) {
    for record in sdr::records(bytes).take(64) {
        let Ok((_, record)) = record else {
            break;
        };
        let _ = record.id().map(|t| t.chars().count());
        if let sdr::Record::Full(full) = record {
            if let Ok(conv) = full.conversion() {
                for raw in [0u8, 1, 0x7F, 0x80, 0xFF] {
                    if let Ok(v) = conv.value(raw) {
                        let _ = conv.raw(v);
                    }
                }
                let _ = conv.resolution();
                let _ = conv.hysteresis(3);
                let _ = conv.tolerance();
            }
            let _ = full.numeric();
        }
    }
    let _ = sdr::Record::decode(bytes);
}

fn fru(bytes: &[u8]) {
    let Ok(fru) = Fru::parse(bytes) else {
        return;
    };
    let _ = fru.internal_use();
    if let Ok(Some(chassis)) = fru.chassis() {
        let _ = chassis.part_number.chars().count();
    }
    let _ = fru.board();
    let _ = fru.product();
    for r in fru.multi_records().take(64) {
        if r.is_err() {
            break;
        }
    }
    let _ = wsbmc_cim::FruView::from_fru(&fru, |_, _| {});
}

fn ipmb_frames(bytes: &[u8]) {
    let _ = ipmb::decode(bytes);
    let _ = ipmb::decode_response(bytes);
}

fn sel_records(bytes: &[u8]) {
    for chunk in bytes.chunks(sel::RECORD_LEN) {
        if let Ok(r) = sel::Record::from_slice(chunk) {
            let _ = r.timestamp();
            assert_eq!(sel::Record::decode(&r.encode()), r);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    match first % 4 {
        0 => sdrs(rest),
        1 => fru(rest),
        2 => ipmb_frames(rest),
        _ => sel_records(rest),
    }
});
