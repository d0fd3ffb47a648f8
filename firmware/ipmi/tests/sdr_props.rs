//! SDR property tests: encode → decode round trips and decoders that never panic.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use proptest::prelude::*;
use wsbmc_ipmi::sdr::*;
use wsbmc_ipmi::{EntityId, SensorType, Text};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn full_sensor_round_trips(parts in full_parts(), rid in any::<u16>()) {
        let rec = parts.record();
        let mut buf = [0u8; 80];
        let n = rec.encode(rid, &mut buf).unwrap();
        let (h, back) = FullSensor::decode(&buf[..n]).unwrap();
        prop_assert_eq!(h.record_id, rid);
        prop_assert_eq!(h.record_type, RecordType::FULL_SENSOR);
        prop_assert_eq!(usize::from(h.length) + 5, n);
        prop_assert_eq!(back, rec);
        // Re-encoding the decoded record gives the same bytes.
        let mut again = [0u8; 80];
        let m = back.encode(rid, &mut again).unwrap();
        prop_assert_eq!(&buf[..n], &again[..m]);
        // Every prefix is an error, never a panic.
        for cut in 0..n {
            prop_assert!(FullSensor::decode(&buf[..cut]).is_err());
        }
    }

    #[test]
    fn compact_sensor_round_trips(
        c in format().prop_flat_map(common),
        s in sharing(),
        b in any::<[u8; 3]>(),
        id in id_string(),
        rid in any::<u16>(),
    ) {
        let rec = CompactSensor {
            common: c,
            sharing: s,
            hysteresis_positive: b[0],
            hysteresis_negative: b[1],
            oem: b[2],
            id: Text::with_encoding(&id.0, id.1),
        };
        let mut buf = [0u8; 64];
        let n = rec.encode(rid, &mut buf).unwrap();
        let (h, back) = CompactSensor::decode(&buf[..n]).unwrap();
        prop_assert_eq!(h.record_id, rid);
        prop_assert_eq!(back, rec);
        for cut in 0..n {
            prop_assert!(CompactSensor::decode(&buf[..cut]).is_err());
        }
    }

    #[test]
    fn event_only_round_trips(
        k in key(),
        s in sharing(),
        b in any::<[u8; 5]>(),
        id in id_string(),
    ) {
        let rec = EventOnlySensor {
            key: k,
            entity_id: EntityId(b[0]),
            entity_instance: EntityInstance(b[1]),
            sensor_type: SensorType(b[2]),
            event_reading_type: b[3],
            sharing: s,
            oem: b[4],
            id: Text::with_encoding(&id.0, id.1),
        };
        let mut buf = [0u8; 64];
        let n = rec.encode(7, &mut buf).unwrap();
        let (_, r, rest) = Record::decode(&buf[..n]).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert_eq!(r, Record::EventOnly(rec));
    }

    #[test]
    fn locators_round_trip(
        b in any::<[u8; 9]>(),
        lun in 0u8..4,
        bus in 0u8..8,
        ch in 0u8..16,
        logical in any::<bool>(),
        id in id_string(),
    ) {
        let fru = FruDeviceLocator {
            access_address: b[0],
            fru_device_id: b[1],
            logical,
            access_lun: lun,
            private_bus: bus,
            channel: ch,
            device_type: b[2],
            device_type_modifier: b[3],
            entity_id: EntityId(b[4]),
            entity_instance: EntityInstance(b[5]),
            oem: b[6],
            id: Text::with_encoding(&id.0, id.1),
        };
        let mc = McDeviceLocator {
            slave_address: b[0],
            channel: ch,
            power_state_init: b[7],
            capabilities: b[8],
            entity_id: EntityId(b[4]),
            entity_instance: EntityInstance(b[5]),
            oem: b[6],
            id: Text::with_encoding(&id.0, id.1),
        };
        let mut buf = [0u8; 128];
        let n1 = fru.encode(1, &mut buf).unwrap();
        let n2 = mc.encode(2, &mut buf[n1..]).unwrap();
        let mut it = records(&buf[..n1 + n2]);
        let (h1, r1) = it.next().unwrap().unwrap();
        let (h2, r2) = it.next().unwrap().unwrap();
        prop_assert!(it.next().is_none());
        prop_assert_eq!((h1.record_id, h2.record_id), (1, 2));
        prop_assert_eq!(r1, Record::FruLocator(fru));
        prop_assert_eq!(r2, Record::McLocator(mc));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for (_, rec) in records(&bytes).flatten() {
                if let Some(id) = rec.id() {
                    let _ = id.chars().count();
                }
                if let Record::Full(f) = rec {
                    if let Ok(c) = f.conversion() {
                        for raw in 0..=255u8 {
                            let _ = c.value(raw);
                        }
                        let _ = c.raw(i32::MAX);
                        let _ = c.raw(i32::MIN);
                    }
                    let _ = f.numeric();
                }
                let mut buf = [0u8; 300];
                let _ = rec.encode(0, &mut buf);
        }
    }

    #[test]
    fn typed_header_then_random_body_never_panics(
        ty in prop_oneof![Just(1u8), Just(2), Just(3), Just(0x11), Just(0x12)],
        body in proptest::collection::vec(any::<u8>(), 0..70),
    ) {
        let mut bytes = vec![0, 0, 0x51, ty, body.len() as u8];
        bytes.extend_from_slice(&body);
        if let Ok((_, rec, _)) = Record::decode(&bytes) {
            let _ = rec.id().map(|t| t.to_string());
            if let Record::Full(f) = rec {
                let _ = f.numeric();
            }
        }
    }
}

#[test]
fn short_full_record_is_an_error() {
    // The case ipmi-rs panics on: a full sensor body of 15 bytes.
    let mut bytes = vec![0x01, 0x00, 0x51, 0x01, 15];
    bytes.extend_from_slice(&[0u8; 15]);
    assert!(matches!(
        Record::decode(&bytes),
        Err(SdrError::Truncated { .. })
    ));
    // A header that claims more than is there.
    assert!(Record::decode(&[0, 0, 0x51, 1, 60, 0, 0]).is_err());
    // An ID string longer than the record.
    let mut bytes = vec![0x01, 0x00, 0x51, 0x12, 12];
    bytes.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xC5, b'a']);
    assert_eq!(Record::decode(&bytes), Err(SdrError::IdStringOverrun));
}

#[test]
fn cpu_temperature_full_record() {
    // A typical threshold temperature sensor: °C, M = 1, readable LNC/LC/UNC/UC, UC settable.
    let rec = FullSensor {
        common: SensorCommon {
            key: SensorKey {
                owner_id: 0x20,
                channel: 0,
                fru_owner_lun: 0,
                owner_lun: 0,
                sensor_number: 0x30,
            },
            entity_id: EntityId(0x03),
            entity_instance: EntityInstance(1),
            init: SensorInit(0x7F),
            capabilities: Capabilities(0x68), // auto re-arm, hysteresis r/w, thresholds r/w
            sensor_type: SensorType::TEMPERATURE,
            event_reading_type: 0x01,
            assertion_mask: 0x7A95,
            deassertion_mask: 0x7A95,
            reading_mask: 0x101B,
            units: Units {
                format: wsbmc_ipmi::AnalogFormat::TwosComplement,
                rate: wsbmc_ipmi::RateUnit::NONE,
                modifier_kind: 0,
                percentage: false,
                base: wsbmc_ipmi::Unit::DEGREES_C,
                modifier: wsbmc_ipmi::Unit::UNSPECIFIED,
            },
        },
        factors: wsbmc_ipmi::Factors {
            format: wsbmc_ipmi::AnalogFormat::TwosComplement,
            ..wsbmc_ipmi::Factors::IDENTITY
        },
        direction: Direction::INPUT,
        analog_flags: 0x01,
        nominal: 45,
        normal_max: 0,
        normal_min: 0,
        max_reading: 0x7F,
        min_reading: 0x80,
        thresholds: Thresholds {
            lnc: 5,
            lc: 0,
            lnr: 0,
            unc: 85,
            uc: 95,
            unr: 0,
        },
        hysteresis_positive: 2,
        hysteresis_negative: 2,
        oem: 0,
        id: Text::new("CPU Temp"),
    };
    let mut buf = [0u8; 64];
    let n = rec.encode(0x0010, &mut buf).unwrap();
    assert_eq!(n, 48 + 8);
    assert_eq!(&buf[..5], &[0x10, 0x00, 0x51, 0x01, 51]);
    assert_eq!(buf[47], 0xC8); // Latin 1, 8 bytes
    let p = rec.numeric().unwrap();
    assert_eq!(p.unit_modifier, 0);
    assert!(p.is_linear);
    assert_eq!(p.nominal, Some(45));
    assert_eq!(p.normal_max, None);
    assert_eq!((p.min_readable, p.max_readable), (Some(-128), Some(127)));
    assert_eq!(p.thresholds.unc, Some(85));
    assert_eq!(p.thresholds.uc, Some(95));
    assert_eq!(p.thresholds.lnc, Some(5));
    assert_eq!(p.thresholds.unr, None);
    assert_eq!(
        p.supported_thresholds.cim_values().collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        p.settable_thresholds.cim_values().collect::<Vec<_>>(),
        vec![3]
    );
    assert_eq!(p.resolution, Some(1));
    assert_eq!(p.hysteresis, Some(2));
    let (_, back) = FullSensor::decode(&buf[..n]).unwrap();
    assert!(back.id.eq_str("CPU Temp"));
}

#[test]
fn negative_m_swaps_readable_limits() {
    let mut parts = FullParts {
        common: SensorCommon {
            key: SensorKey {
                owner_id: 0x20,
                channel: 0,
                fru_owner_lun: 0,
                owner_lun: 0,
                sensor_number: 1,
            },
            entity_id: EntityId(7),
            entity_instance: EntityInstance(0),
            init: SensorInit(0),
            capabilities: Capabilities(0),
            sensor_type: SensorType::VOLTAGE,
            event_reading_type: 1,
            assertion_mask: 0,
            deassertion_mask: 0,
            reading_mask: 0,
            units: Units {
                format: wsbmc_ipmi::AnalogFormat::Unsigned,
                rate: wsbmc_ipmi::RateUnit::NONE,
                modifier_kind: 0,
                percentage: false,
                base: wsbmc_ipmi::Unit::VOLTS,
                modifier: wsbmc_ipmi::Unit::UNSPECIFIED,
            },
        },
        factors: wsbmc_ipmi::Factors {
            m: -1,
            b: 300,
            ..wsbmc_ipmi::Factors::IDENTITY
        },
        direction: 0,
        bytes: [0; 15],
        id: (String::new(), wsbmc_ipmi::TextEncoding::Latin1),
    };
    parts.bytes[4] = 200; // max reading byte
    parts.bytes[5] = 10; // min reading byte
    let p = parts.record().numeric().unwrap();
    assert_eq!(p.max_readable, Some(290));
    assert_eq!(p.min_readable, Some(100));
    // M = -1 encodes as 0x3FF and decodes back to -1 (ipmi-rs reads -513).
    let mut buf = [0u8; 64];
    let n = parts.record().encode(1, &mut buf).unwrap();
    assert_eq!(buf[24], 0xFF);
    assert_eq!(buf[25] >> 6, 3);
    assert_eq!(FullSensor::decode(&buf[..n]).unwrap().1.factors.m, -1);
}
