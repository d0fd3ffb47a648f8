//! Writes the SDR file for QEMU's `ipmi-bmc-sim` (`-device ipmi-bmc-sim,sdrfile=FILE`) that the
//! x86 IPMI end-to-end test boots with (scripts/qemu-x86-ipmi, tests/e2e/test_x86_ipmi.py).
//!
//!     cargo run -p wsbmc-ipmi --example bmc-sim-sdrs -- OUT
//!
//! The file is the records back to back, as the simulator loads them (it renumbers them from 0).
//! Sensor 1 has two records, because the simulator and wsbmc each read a different one:
//!
//! * a compact record: QEMU 10's `ipmi_init_sensors_from_sdrs` makes a sensor present (and
//!   answers Get Sensor Reading for it) only from compact records, and scans it if the record's
//!   initialisation byte says so;
//! * a full record: a compact record has no conversion factors, so wsbmc's satellite driver
//!   reads only full records. M = 1, B = 305, R = -1: the simulator's reading stays at raw 0
//!   (nothing sets it), which reads 30.5 °C, so B and R are both seen to apply.

use std::process::ExitCode;

use wsbmc_ipmi::sdr::{
    Capabilities, CompactSensor, Direction, EntityInstance, FullSensor, SensorCommon, SensorInit,
    SensorKey, Sharing, Thresholds, Units,
};
use wsbmc_ipmi::{AnalogFormat, EntityId, Factors, RateUnit, SensorType, Text, Unit};

/// The simulator's own address: the owner of its sensors.
const BMC_SA: u8 = 0x20;
const SENSOR: u8 = 1;
const NAME: &str = "Inlet Temp";

fn common(format: AnalogFormat) -> SensorCommon {
    SensorCommon {
        key: SensorKey {
            owner_id: BMC_SA,
            channel: 0,
            fru_owner_lun: 0,
            owner_lun: 0,
            sensor_number: SENSOR,
        },
        entity_id: EntityId(0x37), // air inlet
        entity_instance: EntityInstance(1),
        // Scanning and events enabled (bits 6 and 5 are what the simulator looks at).
        init: SensorInit(0x63),
        capabilities: Capabilities(0x40), // auto re-arm, no thresholds
        sensor_type: SensorType::TEMPERATURE,
        event_reading_type: 0x01,
        assertion_mask: 0,
        deassertion_mask: 0,
        reading_mask: 0,
        units: Units {
            format,
            rate: RateUnit::NONE,
            modifier_kind: 0,
            percentage: false,
            base: Unit::DEGREES_C,
            modifier: Unit::UNSPECIFIED,
        },
    }
}

fn records() -> Result<Vec<u8>, String> {
    let compact = CompactSensor {
        common: common(AnalogFormat::Unsigned),
        sharing: Sharing {
            direction: Direction::INPUT,
            id_modifier_type: 0,
            share_count: 0,
            entity_instance_increments: false,
            id_modifier_offset: 0,
        },
        hysteresis_positive: 0,
        hysteresis_negative: 0,
        oem: 0,
        id: Text::new(NAME),
    };
    let full = FullSensor {
        common: common(AnalogFormat::Unsigned),
        factors: Factors {
            format: AnalogFormat::Unsigned,
            m: 1,
            b: 305,
            b_exp: 0,
            r_exp: -1,
            ..Factors::IDENTITY
        },
        direction: Direction::INPUT,
        analog_flags: 0,
        nominal: 0,
        normal_max: 0,
        normal_min: 0,
        max_reading: 0xFF,
        min_reading: 0,
        thresholds: Thresholds {
            unr: 0,
            uc: 0,
            unc: 0,
            lnr: 0,
            lc: 0,
            lnc: 0,
        },
        hysteresis_positive: 0,
        hysteresis_negative: 0,
        oem: 0,
        id: Text::new(NAME),
    };
    let mut out = Vec::new();
    let mut buf = [0u8; 80];
    let n = compact
        .encode(0, &mut buf)
        .map_err(|e| format!("compact record: {e:?}"))?;
    out.extend_from_slice(&buf[..n]);
    let n = full
        .encode(1, &mut buf)
        .map_err(|e| format!("full record: {e:?}"))?;
    out.extend_from_slice(&buf[..n]);
    Ok(out)
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: bmc-sim-sdrs OUT");
        return ExitCode::from(2);
    };
    match records().and_then(|r| std::fs::write(&path, r).map_err(|e| format!("{path}: {e}"))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bmc-sim-sdrs: {e}");
            ExitCode::FAILURE
        }
    }
}
