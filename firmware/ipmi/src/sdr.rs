//! Sensor Data Records (IPMI 2.0 §43): the record header, Full (01h) and Compact (02h) sensor
//! records, Event-Only (03h), FRU Device Locator (11h) and MC Device Locator (12h) records.
//!
//! Decoding borrows from the input and returns an error value for any malformed record: SDRs
//! arrive from satellite controllers over IPMB, so a short or lying record must not bring the
//! BMC down (ipmi-rs indexes past the end of a 15-byte full record). Every field is kept, the
//! flag bytes as small typed views over the raw byte, so that encode(decode(x)) == x for every
//! record the decoder accepts, except the reserved bits, which the encoder writes as zero.
//!
//! Byte numbers in comments are the spec's, counting the 5 header bytes from 1.

use crate::EntityId;
use crate::SensorType;
use crate::cim::CimUnits;
use crate::convert::{AnalogFormat, ConvError, Conversion, Factors, Linearization};
use crate::text::{Text, TextEncoding, TextError};
use crate::unit::{RateUnit, Unit};

/// Why a record could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdrError {
    /// Fewer bytes than the record type's fixed part, or than the header's length claims.
    Truncated { needed: usize, got: usize },
    /// The ID string type/length byte claims more bytes than the record holds.
    IdStringOverrun,
    /// The record type does not match the decoder called.
    WrongType(u8),
    /// Encoding: the output buffer is too small.
    BufferTooSmall,
    /// Encoding: the ID string is longer than 16 bytes packed, or cannot be packed.
    IdString(TextError),
    /// Encoding: M or B beyond 10 bits, or an exponent beyond 4.
    FactorRange,
}

impl From<TextError> for SdrError {
    fn from(e: TextError) -> Self {
        SdrError::IdString(e)
    }
}

/// Record type codes (byte 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordType(pub u8);

impl RecordType {
    pub const FULL_SENSOR: Self = Self(0x01);
    pub const COMPACT_SENSOR: Self = Self(0x02);
    pub const EVENT_ONLY: Self = Self(0x03);
    pub const ENTITY_ASSOCIATION: Self = Self(0x08);
    pub const DEVICE_RELATIVE_ENTITY_ASSOCIATION: Self = Self(0x09);
    pub const GENERIC_DEVICE_LOCATOR: Self = Self(0x10);
    pub const FRU_DEVICE_LOCATOR: Self = Self(0x11);
    pub const MC_DEVICE_LOCATOR: Self = Self(0x12);
    pub const MC_CONFIRMATION: Self = Self(0x13);
    pub const BMC_MESSAGE_CHANNEL_INFO: Self = Self(0x14);
    pub const OEM: Self = Self(0xC0);
}

/// The 5-byte header every SDR starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    pub record_id: u16,
    /// BCD, minor version in the high nibble: 0x51 is "1.5", the version IPMI 1.5 and 2.0 use.
    pub version: u8,
    pub record_type: RecordType,
    /// Bytes following the header.
    pub length: u8,
}

impl Header {
    pub const LEN: usize = 5;
    pub const SDR_VERSION: u8 = 0x51;

    pub fn decode(bytes: &[u8]) -> Result<Self, SdrError> {
        let h = need(bytes, Self::LEN)?;
        Ok(Header {
            record_id: u16::from_le_bytes([h[0], h[1]]),
            version: h[2],
            record_type: RecordType(h[3]),
            length: h[4],
        })
    }

    pub fn encode(&self, out: &mut [u8]) -> Result<(), SdrError> {
        let o = out.get_mut(..Self::LEN).ok_or(SdrError::BufferTooSmall)?;
        o[..2].copy_from_slice(&self.record_id.to_le_bytes());
        o[2] = self.version;
        o[3] = self.record_type.0;
        o[4] = self.length;
        Ok(())
    }
}

fn need(bytes: &[u8], n: usize) -> Result<&[u8], SdrError> {
    bytes.get(..n).ok_or(SdrError::Truncated {
        needed: n,
        got: bytes.len(),
    })
}

/// Splits one record off the front of an SDR stream: the header and exactly `length` body
/// bytes, and the rest.
pub fn split_record(bytes: &[u8]) -> Result<(Header, &[u8], &[u8]), SdrError> {
    let header = Header::decode(bytes)?;
    let end = Header::LEN + usize::from(header.length);
    let rec = need(bytes, end)?;
    Ok((header, &rec[Header::LEN..], &bytes[end..]))
}

/// Bytes 6..=8: who owns the sensor and its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SensorKey {
    /// Byte 6 as is: 7-bit I2C slave address or software ID in bits 7:1, bit 0 = 1 for a
    /// software ID.
    pub owner_id: u8,
    /// Byte 7 bits 7:4.
    pub channel: u8,
    /// Byte 7 bits 3:2: the LUN of the FRU inventory device that owns the sensor.
    pub fru_owner_lun: u8,
    /// Byte 7 bits 1:0.
    pub owner_lun: u8,
    pub sensor_number: u8,
}

impl SensorKey {
    fn decode(b: &[u8; 3]) -> Self {
        SensorKey {
            owner_id: b[0],
            channel: b[1] >> 4,
            fru_owner_lun: (b[1] >> 2) & 3,
            owner_lun: b[1] & 3,
            sensor_number: b[2],
        }
    }

    fn encode(&self) -> [u8; 3] {
        [
            self.owner_id,
            (self.channel << 4) | ((self.fru_owner_lun & 3) << 2) | (self.owner_lun & 3),
            self.sensor_number,
        ]
    }
}

/// Byte 10: entity instance number, bit 7 = logical container entity. Instances 60h..7Fh are
/// relative to the owning device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntityInstance(pub u8);

impl EntityInstance {
    pub const fn number(self) -> u8 {
        self.0 & 0x7F
    }
    pub const fn is_logical(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub const fn is_device_relative(self) -> bool {
        self.number() >= 0x60
    }
}

/// Byte 11, sensor initialization flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SensorInit(pub u8);

impl SensorInit {
    pub const SETTABLE: u8 = 1 << 7;
    pub const INIT_SCANNING: u8 = 1 << 6;
    pub const INIT_EVENTS: u8 = 1 << 5;
    pub const INIT_THRESHOLDS: u8 = 1 << 4;
    pub const INIT_HYSTERESIS: u8 = 1 << 3;
    pub const INIT_SENSOR_TYPE: u8 = 1 << 2;
    pub const EVENTS_ENABLED: u8 = 1 << 1;
    pub const SCANNING_ENABLED: u8 = 1 << 0;

    pub const fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// How a sensor's thresholds or hysteresis can be accessed (byte 12 bits 5:4 and 3:2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    None,
    Readable,
    ReadableSettable,
    /// Fixed values that cannot be read with a command; the SDR holds them.
    Fixed,
}

impl Access {
    const fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Access::None,
            1 => Access::Readable,
            2 => Access::ReadableSettable,
            _ => Access::Fixed,
        }
    }
}

/// Byte 12, sensor capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities(pub u8);

impl Capabilities {
    /// Bit 7: ignore the sensor when its entity is absent.
    pub const fn ignore_if_absent(self) -> bool {
        self.0 & 0x80 != 0
    }
    pub const fn auto_rearm(self) -> bool {
        self.0 & 0x40 != 0
    }
    pub const fn hysteresis(self) -> Access {
        Access::from_bits(self.0 >> 4)
    }
    pub const fn thresholds(self) -> Access {
        Access::from_bits(self.0 >> 2)
    }
    /// Bits 1:0: 0 per-threshold/state, 1 whole sensor only, 2 global only, 3 no events.
    pub const fn event_control(self) -> u8 {
        self.0 & 3
    }
}

/// A set of thresholds in IPMI bit order: bit 0 LNC, 1 LC, 2 LNR, 3 UNC, 4 UC, 5 UNR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ThresholdMask(pub u8);

/// The six thresholds, in IPMI bit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Threshold {
    LowerNonCritical = 0,
    LowerCritical = 1,
    LowerNonRecoverable = 2,
    UpperNonCritical = 3,
    UpperCritical = 4,
    UpperNonRecoverable = 5,
}

impl Threshold {
    pub const ALL: [Threshold; 6] = [
        Threshold::LowerNonCritical,
        Threshold::LowerCritical,
        Threshold::LowerNonRecoverable,
        Threshold::UpperNonCritical,
        Threshold::UpperCritical,
        Threshold::UpperNonRecoverable,
    ];

    /// The CIM SupportedThresholds / SettableThresholds enumeration value (0 LNC, 1 UNC, 2 LC,
    /// 3 UC, 4 LowerFatal, 5 UpperFatal): CIM interleaves lower and upper where IPMI groups.
    pub const fn cim(self) -> u16 {
        match self {
            Threshold::LowerNonCritical => 0,
            Threshold::UpperNonCritical => 1,
            Threshold::LowerCritical => 2,
            Threshold::UpperCritical => 3,
            Threshold::LowerNonRecoverable => 4,
            Threshold::UpperNonRecoverable => 5,
        }
    }
}

impl ThresholdMask {
    pub const fn contains(self, t: Threshold) -> bool {
        self.0 & (1 << t as u8) != 0
    }

    /// The members in CIM enumeration order, as CIM values, for SupportedThresholds.
    pub fn cim_values(self) -> impl Iterator<Item = u16> {
        let mut v: [Option<u16>; 6] = [None; 6];
        for t in Threshold::ALL {
            if self.contains(t) {
                v[usize::from(t.cim())] = Some(t.cim());
            }
        }
        v.into_iter().flatten()
    }
}

/// Six threshold values in IPMI order, for the raw bytes and for converted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Thresholds<T> {
    pub lnc: T,
    pub lc: T,
    pub lnr: T,
    pub unc: T,
    pub uc: T,
    pub unr: T,
}

impl<T: Copy> Thresholds<T> {
    pub fn get(&self, t: Threshold) -> T {
        match t {
            Threshold::LowerNonCritical => self.lnc,
            Threshold::LowerCritical => self.lc,
            Threshold::LowerNonRecoverable => self.lnr,
            Threshold::UpperNonCritical => self.unc,
            Threshold::UpperCritical => self.uc,
            Threshold::UpperNonRecoverable => self.unr,
        }
    }
}

/// Bytes 21..=23: units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Units {
    /// Units 1 bits 7:6; kept here because the spec puts it in this byte, and used by the
    /// conversion of full records.
    pub format: AnalogFormat,
    pub rate: RateUnit,
    /// Units 1 bits 2:1: 0 none, 1 base/modifier, 2 base×modifier.
    pub modifier_kind: u8,
    pub percentage: bool,
    pub base: Unit,
    pub modifier: Unit,
}

impl Units {
    fn decode(b: &[u8; 3]) -> Self {
        Units {
            format: AnalogFormat::from_bits(b[0] >> 6),
            rate: RateUnit((b[0] >> 3) & 7),
            modifier_kind: (b[0] >> 1) & 3,
            percentage: b[0] & 1 != 0,
            base: Unit(b[1]),
            modifier: Unit(b[2]),
        }
    }

    fn encode(&self) -> [u8; 3] {
        [
            (self.format.bits() << 6)
                | ((self.rate.0 & 7) << 3)
                | ((self.modifier_kind & 3) << 1)
                | u8::from(self.percentage),
            self.base.0,
            self.modifier.0,
        ]
    }

    /// CIM BaseUnits and extra modifier: a percentage is CIM Percentage, and a compound unit
    /// (base per/times modifier) has no CIM form, so it is Other (`reference/cim.md` §2.4).
    pub fn cim(&self) -> CimUnits {
        if self.percentage {
            CimUnits {
                base_units: crate::BaseUnits::PERCENTAGE,
                modifier: 0,
            }
        } else if self.modifier_kind == 1 || self.modifier_kind == 2 {
            CimUnits {
                base_units: crate::BaseUnits::OTHER,
                modifier: 0,
            }
        } else {
            self.base.cim()
        }
    }
}

/// Bytes 6..=23, common to full and compact sensor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SensorCommon {
    pub key: SensorKey,
    pub entity_id: EntityId,
    pub entity_instance: EntityInstance,
    pub init: SensorInit,
    pub capabilities: Capabilities,
    pub sensor_type: SensorType,
    /// Event/Reading type code: 01h threshold, 02h..0Ch generic discrete, 6Fh sensor-specific.
    pub event_reading_type: u8,
    /// Bytes 15..16: assertion event mask; for threshold sensors bits 14:12 are the lower
    /// threshold reading mask.
    pub assertion_mask: u16,
    /// Bytes 17..18: deassertion event mask; for threshold sensors bits 14:12 are the upper
    /// threshold reading mask.
    pub deassertion_mask: u16,
    /// Bytes 19..20: for threshold sensors, byte 19 is the readable and byte 20 the settable
    /// threshold mask; for discrete sensors, the discrete reading mask.
    pub reading_mask: u16,
    pub units: Units,
}

const COMMON_LEN: usize = 18;

impl SensorCommon {
    fn decode(b: &[u8]) -> Result<Self, SdrError> {
        let b = need(b, COMMON_LEN)?;
        let le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Ok(SensorCommon {
            key: SensorKey::decode(&[b[0], b[1], b[2]]),
            entity_id: EntityId(b[3]),
            entity_instance: EntityInstance(b[4]),
            init: SensorInit(b[5]),
            capabilities: Capabilities(b[6]),
            sensor_type: SensorType(b[7]),
            event_reading_type: b[8],
            assertion_mask: le(9),
            deassertion_mask: le(11),
            reading_mask: le(13),
            units: Units::decode(&[b[15], b[16], b[17]]),
        })
    }

    fn encode(&self, o: &mut [u8]) {
        o[0..3].copy_from_slice(&self.key.encode());
        o[3] = self.entity_id.0;
        o[4] = self.entity_instance.0;
        o[5] = self.init.0;
        o[6] = self.capabilities.0;
        o[7] = self.sensor_type.0;
        o[8] = self.event_reading_type;
        o[9..11].copy_from_slice(&self.assertion_mask.to_le_bytes());
        o[11..13].copy_from_slice(&self.deassertion_mask.to_le_bytes());
        o[13..15].copy_from_slice(&self.reading_mask.to_le_bytes());
        o[15..18].copy_from_slice(&self.units.encode());
    }

    /// Whether bytes 19/20 are threshold masks (event/reading type 01h).
    pub const fn is_threshold(&self) -> bool {
        self.event_reading_type == 0x01
    }

    /// Thresholds whose values the SDR (or Get Sensor Threshold) provides: the readable mask,
    /// when the capabilities say thresholds exist at all.
    pub const fn readable_thresholds(&self) -> ThresholdMask {
        match (self.is_threshold(), self.capabilities.thresholds()) {
            (true, Access::Readable | Access::ReadableSettable | Access::Fixed) => {
                ThresholdMask((self.reading_mask & 0x3F) as u8)
            }
            _ => ThresholdMask(0),
        }
    }

    /// Thresholds that Set Sensor Threshold may change.
    pub const fn settable_thresholds(&self) -> ThresholdMask {
        match (self.is_threshold(), self.capabilities.thresholds()) {
            (true, Access::ReadableSettable) => {
                ThresholdMask(((self.reading_mask >> 8) & 0x3F) as u8)
            }
            _ => ThresholdMask(0),
        }
    }
}

/// Sensor direction (full byte 29 bits 1:0, compact byte 24 bits 7:6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Direction(pub u8);

impl Direction {
    pub const UNSPECIFIED: Self = Self(0);
    pub const INPUT: Self = Self(1);
    pub const OUTPUT: Self = Self(2);
}

/// Record sharing (compact bytes 24..25, event-only bytes 13..14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sharing {
    pub direction: Direction,
    /// 0 numeric, 1 alpha.
    pub id_modifier_type: u8,
    /// Number of sensors sharing the record (0 and 1 both mean one).
    pub share_count: u8,
    pub entity_instance_increments: bool,
    pub id_modifier_offset: u8,
}

impl Sharing {
    fn decode(b: [u8; 2]) -> Self {
        Sharing {
            direction: Direction(b[0] >> 6),
            id_modifier_type: (b[0] >> 4) & 3,
            share_count: b[0] & 0x0F,
            entity_instance_increments: b[1] & 0x80 != 0,
            id_modifier_offset: b[1] & 0x7F,
        }
    }

    fn encode(&self) -> [u8; 2] {
        [
            ((self.direction.0 & 3) << 6)
                | ((self.id_modifier_type & 3) << 4)
                | (self.share_count & 0x0F),
            (u8::from(self.entity_instance_increments) << 7) | (self.id_modifier_offset & 0x7F),
        ]
    }
}

/// The longest ID string the spec allows in a record.
pub const ID_STRING_MAX: usize = 16;

fn id_encoding(bits: u8) -> TextEncoding {
    match bits & 3 {
        0 => TextEncoding::Unspecified,
        1 => TextEncoding::BcdPlus,
        2 => TextEncoding::SixBitAscii,
        _ => TextEncoding::Latin1,
    }
}

fn id_bits(e: TextEncoding) -> u8 {
    match e {
        TextEncoding::Unspecified | TextEncoding::Ucs2Le => 0,
        TextEncoding::BcdPlus => 1,
        TextEncoding::SixBitAscii => 2,
        TextEncoding::Latin1 => 3,
    }
}

/// Decodes an ID string type/length byte and its bytes, which must lie within `rest`. Lengths
/// up to 31 (the field's width) are accepted, though the spec caps them at 16: records from
/// the field sometimes exceed it, and the bytes are there.
fn decode_id(rest: &[u8]) -> Result<Text<'_>, SdrError> {
    let (&tl, bytes) = rest
        .split_first()
        .ok_or(SdrError::Truncated { needed: 1, got: 0 })?;
    let len = usize::from(tl & 0x1F);
    let bytes = bytes.get(..len).ok_or(SdrError::IdStringOverrun)?;
    Ok(Text::packed(id_encoding(tl >> 6), bytes))
}

/// Writes the type/length byte and string at `out[0..]`, returning the bytes written.
fn encode_id(id: &Text<'_>, out: &mut [u8]) -> Result<usize, SdrError> {
    let len = id.packed_len()?;
    if len > ID_STRING_MAX {
        return Err(SdrError::IdString(TextError::TooLong));
    }
    let (tl, rest) = out.split_first_mut().ok_or(SdrError::BufferTooSmall)?;
    let rest = rest.get_mut(..len).ok_or(SdrError::BufferTooSmall)?;
    id.pack(rest)?;
    *tl = (id_bits(id.encoding()) << 6) | len as u8;
    Ok(1 + len)
}

/// Writes header + body, where `body` fills `out[5..]` and returns the body length.
fn encode_record(
    record_id: u16,
    record_type: RecordType,
    out: &mut [u8],
    body: impl FnOnce(&mut [u8]) -> Result<usize, SdrError>,
) -> Result<usize, SdrError> {
    if out.len() < Header::LEN {
        return Err(SdrError::BufferTooSmall);
    }
    let n = body(&mut out[Header::LEN..])?;
    Header {
        record_id,
        version: Header::SDR_VERSION,
        record_type,
        length: u8::try_from(n).map_err(|_| SdrError::BufferTooSmall)?,
    }
    .encode(out)?;
    Ok(Header::LEN + n)
}

fn check_type(h: &Header, t: RecordType) -> Result<(), SdrError> {
    if h.record_type == t {
        Ok(())
    } else {
        Err(SdrError::WrongType(h.record_type.0))
    }
}

/// Full Sensor Record (type 01h).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FullSensor<'a> {
    pub common: SensorCommon,
    /// Conversion factors; `factors.format` mirrors `common.units.format`, and the encoder
    /// writes `common.units.format`.
    pub factors: Factors,
    pub direction: Direction,
    /// Byte 31 bits 0..2: nominal, normal max, normal min are given.
    pub analog_flags: u8,
    pub nominal: u8,
    pub normal_max: u8,
    pub normal_min: u8,
    pub max_reading: u8,
    pub min_reading: u8,
    pub thresholds: Thresholds<u8>,
    pub hysteresis_positive: u8,
    pub hysteresis_negative: u8,
    pub oem: u8,
    pub id: Text<'a>,
}

/// Body bytes of a full record before the ID string type/length byte.
const FULL_FIXED: usize = 42;
/// Body bytes of a compact record before the ID string type/length byte.
const COMPACT_FIXED: usize = 26;
/// Body bytes of an event-only record before the ID string type/length byte.
const EVENT_ONLY_FIXED: usize = 11;
/// Body bytes of a locator record before the ID string type/length byte.
const LOCATOR_FIXED: usize = 10;

const fn sign_extend(v: u16, bits: u32) -> i16 {
    let shift = 16 - bits;
    ((v << shift) as i16) >> shift
}

impl<'a> FullSensor<'a> {
    /// Decodes the body (the bytes after the header).
    pub fn decode_body(b: &'a [u8]) -> Result<Self, SdrError> {
        let common = SensorCommon::decode(b)?;
        let f = need(b, FULL_FIXED + 1)?;
        let f = &f[COMMON_LEN..];
        // f[0] is byte 24.
        let m = sign_extend(u16::from(f[1]) | (u16::from(f[2] >> 6) << 8), 10);
        let bb = sign_extend(u16::from(f[3]) | (u16::from(f[4] >> 6) << 8), 10);
        let accuracy = u16::from(f[4] & 0x3F) | (u16::from(f[5] >> 4) << 6);
        let r_exp = (f[6] as i8) >> 4;
        let b_exp = ((f[6] << 4) as i8) >> 4;
        let factors = Factors {
            format: common.units.format,
            linearization: Linearization(f[0] & 0x7F),
            m,
            b: bb,
            b_exp,
            r_exp,
            tolerance: f[2] & 0x3F,
            accuracy,
            accuracy_exp: (f[5] >> 2) & 3,
        };
        Ok(FullSensor {
            common,
            factors,
            direction: Direction(f[5] & 3),
            analog_flags: f[7],
            nominal: f[8],
            normal_max: f[9],
            normal_min: f[10],
            max_reading: f[11],
            min_reading: f[12],
            thresholds: Thresholds {
                unr: f[13],
                uc: f[14],
                unc: f[15],
                lnr: f[16],
                lc: f[17],
                lnc: f[18],
            },
            hysteresis_positive: f[19],
            hysteresis_negative: f[20],
            // f[21], f[22] reserved.
            oem: f[23],
            id: decode_id(&b[FULL_FIXED..])?,
        })
    }

    /// Encodes the whole record (header included) into `out`, returning its length.
    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        let fa = &self.factors;
        if !(-512..=511).contains(&fa.m)
            || !(-512..=511).contains(&fa.b)
            || !(-8..=7).contains(&fa.b_exp)
            || !(-8..=7).contains(&fa.r_exp)
        {
            return Err(SdrError::FactorRange);
        }
        encode_record(record_id, RecordType::FULL_SENSOR, out, |o| {
            let o_fixed = o.get_mut(..FULL_FIXED).ok_or(SdrError::BufferTooSmall)?;
            self.common.encode(o_fixed);
            let f = &mut o_fixed[COMMON_LEN..];
            let m = fa.m as u16 & 0x3FF;
            let b = fa.b as u16 & 0x3FF;
            f[0] = fa.linearization.0 & 0x7F;
            f[1] = m as u8;
            f[2] = ((m >> 8) as u8) << 6 | (fa.tolerance & 0x3F);
            f[3] = b as u8;
            f[4] = ((b >> 8) as u8) << 6 | (fa.accuracy & 0x3F) as u8;
            f[5] = (((fa.accuracy >> 6) & 0x0F) as u8) << 4
                | (fa.accuracy_exp & 3) << 2
                | (self.direction.0 & 3);
            f[6] = ((fa.r_exp as u8) << 4) | (fa.b_exp as u8 & 0x0F);
            f[7] = self.analog_flags;
            f[8] = self.nominal;
            f[9] = self.normal_max;
            f[10] = self.normal_min;
            f[11] = self.max_reading;
            f[12] = self.min_reading;
            let t = &self.thresholds;
            f[13..19].copy_from_slice(&[t.unr, t.uc, t.unc, t.lnr, t.lc, t.lnc]);
            f[19] = self.hysteresis_positive;
            f[20] = self.hysteresis_negative;
            f[21] = 0;
            f[22] = 0;
            f[23] = self.oem;
            Ok(FULL_FIXED + encode_id(&self.id, &mut o[FULL_FIXED..])?)
        })
    }

    /// Decodes a whole record, header included.
    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Self), SdrError> {
        let (h, body, _) = split_record(bytes)?;
        check_type(&h, RecordType::FULL_SENSOR)?;
        Ok((h, Self::decode_body(body)?))
    }

    /// The conversion to CIM integers, with the unit's extra modifier folded in.
    pub fn conversion(&self) -> Result<Conversion, ConvError> {
        let mut f = self.factors;
        f.format = self.common.units.format;
        Conversion::new(f, self.common.units.cim().modifier)
    }

    /// Every numeric CIM_NumericSensor property the SDR determines (`reference/cim.md` §2.1,
    /// §2.6), converted at one UnitModifier.
    pub fn numeric(&self) -> Result<NumericProperties, ConvError> {
        let c = self.conversion()?;
        let val = |raw: u8| c.value(raw).ok();
        let flag = |bit: u8, raw: u8| {
            if self.analog_flags & bit != 0 {
                val(raw)
            } else {
                None
            }
        };
        let readable = self.common.readable_thresholds();
        let thr = |t: Threshold| {
            if readable.contains(t) {
                val(self.thresholds.get(t))
            } else {
                None
            }
        };
        // With M < 0 the largest raw byte is the smallest value.
        let (max_raw, min_raw) = if self.factors.m < 0 {
            (self.min_reading, self.max_reading)
        } else {
            (self.max_reading, self.min_reading)
        };
        let hysteresis = if matches!(self.common.capabilities.hysteresis(), Access::None) {
            None
        } else {
            let h = self.hysteresis_positive.max(self.hysteresis_negative);
            c.hysteresis(h)
        };
        Ok(NumericProperties {
            unit_modifier: c.unit_modifier(),
            is_linear: c.is_linear(),
            nominal: flag(1, self.nominal),
            normal_max: flag(2, self.normal_max),
            normal_min: flag(4, self.normal_min),
            max_readable: val(max_raw),
            min_readable: val(min_raw),
            thresholds: Thresholds {
                lnc: thr(Threshold::LowerNonCritical),
                lc: thr(Threshold::LowerCritical),
                lnr: thr(Threshold::LowerNonRecoverable),
                unc: thr(Threshold::UpperNonCritical),
                uc: thr(Threshold::UpperCritical),
                unr: thr(Threshold::UpperNonRecoverable),
            },
            supported_thresholds: readable,
            settable_thresholds: self.common.settable_thresholds(),
            resolution: c.resolution(),
            hysteresis,
            tolerance: c.tolerance(),
            accuracy: Some(c.accuracy()),
        })
    }
}

/// The CIM_NumericSensor numbers an SDR fixes, all in 10^`unit_modifier` of the CIM unit
/// except `accuracy` (hundredths of a percent). `None` where the SDR does not give the value
/// or it cannot be converted (a raw byte outside L's domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumericProperties {
    pub unit_modifier: i32,
    pub is_linear: bool,
    pub nominal: Option<i32>,
    pub normal_max: Option<i32>,
    pub normal_min: Option<i32>,
    pub max_readable: Option<i32>,
    pub min_readable: Option<i32>,
    pub thresholds: Thresholds<Option<i32>>,
    pub supported_thresholds: ThresholdMask,
    pub settable_thresholds: ThresholdMask,
    pub resolution: Option<u32>,
    pub hysteresis: Option<u32>,
    pub tolerance: Option<i32>,
    pub accuracy: Option<i32>,
}

/// Compact Sensor Record (type 02h): no conversion factors, so no numeric reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactSensor<'a> {
    pub common: SensorCommon,
    pub sharing: Sharing,
    pub hysteresis_positive: u8,
    pub hysteresis_negative: u8,
    pub oem: u8,
    pub id: Text<'a>,
}

impl<'a> CompactSensor<'a> {
    pub fn decode_body(b: &'a [u8]) -> Result<Self, SdrError> {
        let common = SensorCommon::decode(b)?;
        let f = need(b, COMPACT_FIXED + 1)?;
        let f = &f[COMMON_LEN..];
        Ok(CompactSensor {
            common,
            sharing: Sharing::decode([f[0], f[1]]),
            hysteresis_positive: f[2],
            hysteresis_negative: f[3],
            // f[4..7] reserved.
            oem: f[7],
            id: decode_id(&b[COMPACT_FIXED..])?,
        })
    }

    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        encode_record(record_id, RecordType::COMPACT_SENSOR, out, |o| {
            let o_fixed = o.get_mut(..COMPACT_FIXED).ok_or(SdrError::BufferTooSmall)?;
            self.common.encode(o_fixed);
            let f = &mut o_fixed[COMMON_LEN..];
            f[0..2].copy_from_slice(&self.sharing.encode());
            f[2] = self.hysteresis_positive;
            f[3] = self.hysteresis_negative;
            f[4..7].fill(0);
            f[7] = self.oem;
            Ok(COMPACT_FIXED + encode_id(&self.id, &mut o[COMPACT_FIXED..])?)
        })
    }

    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Self), SdrError> {
        let (h, body, _) = split_record(bytes)?;
        check_type(&h, RecordType::COMPACT_SENSOR)?;
        Ok((h, Self::decode_body(body)?))
    }
}

/// Event-Only Sensor Record (type 03h): a sensor that only sends events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventOnlySensor<'a> {
    pub key: SensorKey,
    pub entity_id: EntityId,
    pub entity_instance: EntityInstance,
    pub sensor_type: SensorType,
    pub event_reading_type: u8,
    pub sharing: Sharing,
    pub oem: u8,
    pub id: Text<'a>,
}

impl<'a> EventOnlySensor<'a> {
    pub fn decode_body(b: &'a [u8]) -> Result<Self, SdrError> {
        let f = need(b, EVENT_ONLY_FIXED + 1)?;
        Ok(EventOnlySensor {
            key: SensorKey::decode(&[f[0], f[1], f[2]]),
            entity_id: EntityId(f[3]),
            entity_instance: EntityInstance(f[4]),
            sensor_type: SensorType(f[5]),
            event_reading_type: f[6],
            sharing: Sharing::decode([f[7], f[8]]),
            // f[9] reserved.
            oem: f[10],
            id: decode_id(&b[EVENT_ONLY_FIXED..])?,
        })
    }

    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        encode_record(record_id, RecordType::EVENT_ONLY, out, |o| {
            let f = o
                .get_mut(..EVENT_ONLY_FIXED)
                .ok_or(SdrError::BufferTooSmall)?;
            f[0..3].copy_from_slice(&self.key.encode());
            f[3] = self.entity_id.0;
            f[4] = self.entity_instance.0;
            f[5] = self.sensor_type.0;
            f[6] = self.event_reading_type;
            f[7..9].copy_from_slice(&self.sharing.encode());
            f[9] = 0;
            f[10] = self.oem;
            Ok(EVENT_ONLY_FIXED + encode_id(&self.id, &mut o[EVENT_ONLY_FIXED..])?)
        })
    }

    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Self), SdrError> {
        let (h, body, _) = split_record(bytes)?;
        check_type(&h, RecordType::EVENT_ONLY)?;
        Ok((h, Self::decode_body(body)?))
    }
}

/// FRU Device Locator (type 11h): where a FRU inventory device is and what it describes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FruDeviceLocator<'a> {
    /// Byte 6: 7-bit address of the controller that gives access, in bits 7:1.
    pub access_address: u8,
    /// Byte 7: FRU device ID for a logical device, else the 7-bit slave address in bits 7:1.
    pub fru_device_id: u8,
    /// Byte 8 bit 7: accessed through FRU commands at a management controller (logical).
    pub logical: bool,
    /// Byte 8 bits 4:3.
    pub access_lun: u8,
    /// Byte 8 bits 2:0.
    pub private_bus: u8,
    /// Byte 9 bits 7:4.
    pub channel: u8,
    /// Byte 11, device type (IPMI table 43-12; 10h = FRU inventory device behind a controller).
    pub device_type: u8,
    pub device_type_modifier: u8,
    pub entity_id: EntityId,
    pub entity_instance: EntityInstance,
    pub oem: u8,
    pub id: Text<'a>,
}

impl<'a> FruDeviceLocator<'a> {
    pub fn decode_body(b: &'a [u8]) -> Result<Self, SdrError> {
        let f = need(b, LOCATOR_FIXED + 1)?;
        Ok(FruDeviceLocator {
            access_address: f[0],
            fru_device_id: f[1],
            logical: f[2] & 0x80 != 0,
            access_lun: (f[2] >> 3) & 3,
            private_bus: f[2] & 7,
            channel: f[3] >> 4,
            // f[4] reserved.
            device_type: f[5],
            device_type_modifier: f[6],
            entity_id: EntityId(f[7]),
            entity_instance: EntityInstance(f[8]),
            oem: f[9],
            id: decode_id(&b[LOCATOR_FIXED..])?,
        })
    }

    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        encode_record(record_id, RecordType::FRU_DEVICE_LOCATOR, out, |o| {
            let f = o.get_mut(..LOCATOR_FIXED).ok_or(SdrError::BufferTooSmall)?;
            f[0] = self.access_address;
            f[1] = self.fru_device_id;
            f[2] = (u8::from(self.logical) << 7)
                | ((self.access_lun & 3) << 3)
                | (self.private_bus & 7);
            f[3] = self.channel << 4;
            f[4] = 0;
            f[5] = self.device_type;
            f[6] = self.device_type_modifier;
            f[7] = self.entity_id.0;
            f[8] = self.entity_instance.0;
            f[9] = self.oem;
            Ok(LOCATOR_FIXED + encode_id(&self.id, &mut o[LOCATOR_FIXED..])?)
        })
    }

    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Self), SdrError> {
        let (h, body, _) = split_record(bytes)?;
        check_type(&h, RecordType::FRU_DEVICE_LOCATOR)?;
        Ok((h, Self::decode_body(body)?))
    }
}

/// Management Controller Device Locator (type 12h).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McDeviceLocator<'a> {
    /// Byte 6: the controller's 7-bit slave address in bits 7:1.
    pub slave_address: u8,
    /// Byte 7 bits 3:0.
    pub channel: u8,
    /// Byte 8: ACPI notification flags (bits 7:5), log-init-error flags (3:2), global
    /// initialization (1:0).
    pub power_state_init: u8,
    /// Byte 9: device capabilities (chassis, bridge, event generator/receiver, FRU, SEL, SDR,
    /// sensor device).
    pub capabilities: u8,
    pub entity_id: EntityId,
    pub entity_instance: EntityInstance,
    pub oem: u8,
    pub id: Text<'a>,
}

impl<'a> McDeviceLocator<'a> {
    pub fn decode_body(b: &'a [u8]) -> Result<Self, SdrError> {
        let f = need(b, LOCATOR_FIXED + 1)?;
        Ok(McDeviceLocator {
            slave_address: f[0],
            channel: f[1] & 0x0F,
            power_state_init: f[2],
            capabilities: f[3],
            // f[4..7] reserved.
            entity_id: EntityId(f[7]),
            entity_instance: EntityInstance(f[8]),
            oem: f[9],
            id: decode_id(&b[LOCATOR_FIXED..])?,
        })
    }

    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        encode_record(record_id, RecordType::MC_DEVICE_LOCATOR, out, |o| {
            let f = o.get_mut(..LOCATOR_FIXED).ok_or(SdrError::BufferTooSmall)?;
            f[0] = self.slave_address;
            f[1] = self.channel & 0x0F;
            f[2] = self.power_state_init;
            f[3] = self.capabilities;
            f[4..7].fill(0);
            f[7] = self.entity_id.0;
            f[8] = self.entity_instance.0;
            f[9] = self.oem;
            Ok(LOCATOR_FIXED + encode_id(&self.id, &mut o[LOCATOR_FIXED..])?)
        })
    }

    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Self), SdrError> {
        let (h, body, _) = split_record(bytes)?;
        check_type(&h, RecordType::MC_DEVICE_LOCATOR)?;
        Ok((h, Self::decode_body(body)?))
    }
}

/// Any SDR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Record<'a> {
    Full(FullSensor<'a>),
    Compact(CompactSensor<'a>),
    EventOnly(EventOnlySensor<'a>),
    FruLocator(FruDeviceLocator<'a>),
    McLocator(McDeviceLocator<'a>),
    /// A type this crate does not decode, body kept as is.
    Other {
        record_type: RecordType,
        body: &'a [u8],
    },
}

impl<'a> Record<'a> {
    /// Decodes the first record of `bytes`; returns it with its header and the bytes after it.
    pub fn decode(bytes: &'a [u8]) -> Result<(Header, Record<'a>, &'a [u8]), SdrError> {
        let (h, body, rest) = split_record(bytes)?;
        let r = match h.record_type {
            RecordType::FULL_SENSOR => Record::Full(FullSensor::decode_body(body)?),
            RecordType::COMPACT_SENSOR => Record::Compact(CompactSensor::decode_body(body)?),
            RecordType::EVENT_ONLY => Record::EventOnly(EventOnlySensor::decode_body(body)?),
            RecordType::FRU_DEVICE_LOCATOR => {
                Record::FruLocator(FruDeviceLocator::decode_body(body)?)
            }
            RecordType::MC_DEVICE_LOCATOR => Record::McLocator(McDeviceLocator::decode_body(body)?),
            record_type => Record::Other { record_type, body },
        };
        Ok((h, r, rest))
    }

    pub fn encode(&self, record_id: u16, out: &mut [u8]) -> Result<usize, SdrError> {
        match self {
            Record::Full(r) => r.encode(record_id, out),
            Record::Compact(r) => r.encode(record_id, out),
            Record::EventOnly(r) => r.encode(record_id, out),
            Record::FruLocator(r) => r.encode(record_id, out),
            Record::McLocator(r) => r.encode(record_id, out),
            Record::Other { record_type, body } => {
                encode_record(record_id, *record_type, out, |o| {
                    o.get_mut(..body.len())
                        .ok_or(SdrError::BufferTooSmall)?
                        .copy_from_slice(body);
                    Ok(body.len())
                })
            }
        }
    }

    /// The ID string, for the record types that have one.
    pub fn id(&self) -> Option<Text<'a>> {
        match self {
            Record::Full(r) => Some(r.id),
            Record::Compact(r) => Some(r.id),
            Record::EventOnly(r) => Some(r.id),
            Record::FruLocator(r) => Some(r.id),
            Record::McLocator(r) => Some(r.id),
            Record::Other { .. } => None,
        }
    }
}

/// Iterates the records of a concatenated SDR repository image; stops after the first error.
pub fn records(bytes: &[u8]) -> Records<'_> {
    Records { rest: bytes }
}

#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(Header, Record<'a>), SdrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match Record::decode(self.rest) {
            Ok((h, r, rest)) => {
                self.rest = rest;
                Some(Ok((h, r)))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}
