//! Strategies shared by the property tests: well-formed SDR and FRU values whose fields stay
//! within their bit widths, so that encode → decode must give them back unchanged.
#![allow(dead_code)]

use proptest::prelude::*;
use wsbmc_ipmi::convert::{AnalogFormat, Factors, Linearization};
use wsbmc_ipmi::sdr::*;
use wsbmc_ipmi::{EntityId, RateUnit, SensorType, TextEncoding, Unit};

pub fn format() -> impl Strategy<Value = AnalogFormat> {
    prop_oneof![
        Just(AnalogFormat::Unsigned),
        Just(AnalogFormat::OnesComplement),
        Just(AnalogFormat::TwosComplement),
        Just(AnalogFormat::NoReading),
    ]
}

pub fn numeric_format() -> impl Strategy<Value = AnalogFormat> {
    prop_oneof![
        Just(AnalogFormat::Unsigned),
        Just(AnalogFormat::OnesComplement),
        Just(AnalogFormat::TwosComplement),
    ]
}

/// A string and the packing to use; lengths keep the packed form within 16 bytes and avoid
/// the padding characters BCD plus and 6-bit ASCII add to some lengths.
pub fn id_string() -> impl Strategy<Value = (String, TextEncoding)> {
    prop_oneof![
        "[ -~\u{a0}-\u{ff}]{0,16}".prop_map(|s| (s, TextEncoding::Latin1)),
        "[ -~]{0,16}".prop_map(|s| (s, TextEncoding::Unspecified)),
        "([0-9 .-]{2}){0,8}".prop_map(|s| (s, TextEncoding::BcdPlus)),
        "([ -_]{4}){0,5}".prop_map(|s| (s, TextEncoding::SixBitAscii)),
        "([ -_]{4}){0,4}[ -_]{1,2}".prop_map(|s| (s, TextEncoding::SixBitAscii)),
    ]
}

pub fn key() -> impl Strategy<Value = SensorKey> {
    (any::<u8>(), 0u8..16, 0u8..4, 0u8..4, any::<u8>()).prop_map(|(o, c, f, l, n)| SensorKey {
        owner_id: o,
        channel: c,
        fru_owner_lun: f,
        owner_lun: l,
        sensor_number: n,
    })
}

pub fn units(format: AnalogFormat) -> impl Strategy<Value = Units> {
    (0u8..8, 0u8..4, any::<bool>(), any::<u8>(), any::<u8>()).prop_map(move |(r, k, p, b, m)| {
        Units {
            format,
            rate: RateUnit(r),
            modifier_kind: k,
            percentage: p,
            base: Unit(b),
            modifier: Unit(m),
        }
    })
}

pub fn common(format: AnalogFormat) -> impl Strategy<Value = SensorCommon> {
    (key(), any::<[u8; 6]>(), any::<[u16; 3]>(), units(format)).prop_map(|(key, b, m, units)| {
        SensorCommon {
            key,
            entity_id: EntityId(b[0]),
            entity_instance: EntityInstance(b[1]),
            init: SensorInit(b[2]),
            capabilities: Capabilities(b[3]),
            sensor_type: SensorType(b[4]),
            event_reading_type: b[5],
            assertion_mask: m[0],
            deassertion_mask: m[1],
            reading_mask: m[2],
            units,
        }
    })
}

pub fn factors(format: AnalogFormat) -> impl Strategy<Value = Factors> {
    (
        0u8..0x80,
        -512i16..512,
        -512i16..512,
        -8i8..8,
        -8i8..8,
        0u8..64,
        0u16..1024,
        0u8..4,
    )
        .prop_map(move |(l, m, b, be, re, t, a, ae)| Factors {
            format,
            linearization: Linearization(l),
            m,
            b,
            b_exp: be,
            r_exp: re,
            tolerance: t,
            accuracy: a,
            accuracy_exp: ae,
        })
}

/// The owned parts of a full sensor record; the test borrows the ID string from it.
#[derive(Debug, Clone)]
pub struct FullParts {
    pub common: SensorCommon,
    pub factors: Factors,
    pub direction: u8,
    pub bytes: [u8; 15],
    pub id: (String, TextEncoding),
}

impl FullParts {
    pub fn record(&self) -> FullSensor<'_> {
        let b = &self.bytes;
        FullSensor {
            common: self.common,
            factors: self.factors,
            direction: Direction(self.direction),
            analog_flags: b[0],
            nominal: b[1],
            normal_max: b[2],
            normal_min: b[3],
            max_reading: b[4],
            min_reading: b[5],
            thresholds: Thresholds {
                lnc: b[6],
                lc: b[7],
                lnr: b[8],
                unc: b[9],
                uc: b[10],
                unr: b[11],
            },
            hysteresis_positive: b[12],
            hysteresis_negative: b[13],
            oem: b[14],
            id: wsbmc_ipmi::Text::with_encoding(&self.id.0, self.id.1),
        }
    }
}

pub fn full_parts() -> impl Strategy<Value = FullParts> {
    format()
        .prop_flat_map(|f| {
            (
                common(f),
                factors(f),
                0u8..4,
                any::<[u8; 15]>(),
                id_string(),
            )
        })
        .prop_map(|(common, factors, direction, bytes, id)| FullParts {
            common,
            factors,
            direction,
            bytes,
            id,
        })
}

pub fn sharing() -> impl Strategy<Value = Sharing> {
    (0u8..4, 0u8..4, 0u8..16, any::<bool>(), 0u8..128).prop_map(|(d, t, c, e, o)| Sharing {
        direction: Direction(d),
        id_modifier_type: t,
        share_count: c,
        entity_instance_increments: e,
        id_modifier_offset: o,
    })
}
