//! SEL records (IPMI 2.0 §32): the 16-byte wire form and its typed meaning.
//!
//! Every 16-byte pattern decodes to something: record types other than 0x02 and the OEM ranges
//! are kept as raw bytes rather than refused, because a log read back from flash or from another
//! controller must still be listable and clearable even if this firmware does not understand a
//! record. The only decode error is a wrong length.
//!
//! Layout (little-endian multi-byte fields):
//! ```text
//! 0-1 RecordID  2 type  | 0x02:       3-6 timestamp 7-8 generator 9 EvMRev 10 sensor type
//!                       |             11 sensor number 12 event dir|type 13-15 event data 1-3
//!                       | 0xC0..0xDF: 3-6 timestamp 7-9 manufacturer ID 10-15 OEM data
//!                       | 0xE0..0xFF: 3-15 OEM data
//! ```

/// Size of every SEL record.
pub const RECORD_LEN: usize = 16;

/// Record type of a system event record.
pub const SYSTEM_EVENT: u8 = 0x02;

/// Event Message revision for IPMI 1.5 and 2.0 (0x03 is IPMI 1.0).
pub const EVM_REV: u8 = 0x04;

/// Timestamps at or below this are seconds since the BMC started, not since 1970: the clock had
/// not been set when the record was made (IPMI 2.0 §37.1).
pub const TIMESTAMP_PRE_INIT_MAX: u32 = 0x2000_0000;

/// "Timestamp unspecified".
pub const TIMESTAMP_UNSPECIFIED: u32 = 0xFFFF_FFFF;

/// A SEL RecordID. 0x0000 and 0xFFFF are reserved by Get SEL Entry ("first" and "last"), so a
/// stored record never carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub u16);

impl RecordId {
    /// The first id a fresh log hands out.
    pub const FIRST: Self = Self(0x0001);
    /// Get SEL Entry's "first entry" alias.
    pub const ALIAS_FIRST: Self = Self(0x0000);
    /// Get SEL Entry's "last entry" alias.
    pub const ALIAS_LAST: Self = Self(0xFFFF);

    /// Whether this id can name a stored record.
    pub const fn is_assignable(self) -> bool {
        self.0 != 0x0000 && self.0 != 0xFFFF
    }

    /// The id after this one: 0xFFFE wraps to 0x0001, skipping both reserved values.
    pub const fn next(self) -> Self {
        match self.0 {
            0xFFFE | 0xFFFF => Self(0x0001),
            n => Self(n + 1),
        }
    }
}

/// The Generator ID (IPMI 2.0 table 32-1): who produced the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GeneratorId(pub u16);

impl GeneratorId {
    /// The BMC itself: IPMB slave address 20h, channel 0, LUN 0 (how Windows shows "20 00").
    pub const BMC: Self = Self::ipmb(0x20, 0, 0);

    /// A controller on IPMB: `slave_address` in the 8-bit form (bit 0 is ignored), channel
    /// 0-15, LUN 0-3.
    pub const fn ipmb(slave_address: u8, channel: u8, lun: u8) -> Self {
        let lo = slave_address & 0xFE;
        let hi = ((channel & 0x0F) << 4) | (lun & 0x03);
        Self(u16::from_le_bytes([lo, hi]))
    }

    /// System software with 7-bit software ID `id` (e.g. 0x01 = BIOS, IPMI 2.0 §5.5).
    pub const fn software(id: u8) -> Self {
        Self(u16::from_le_bytes([(id << 1) | 1, 0]))
    }

    pub const fn to_le_bytes(self) -> [u8; 2] {
        self.0.to_le_bytes()
    }
}

/// The Event Type code (IPMI 2.0 table 42-1) of the Event Dir/Type byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventType(pub u8);

impl EventType {
    /// Threshold-based (table 42-2 offsets).
    pub const THRESHOLD: Self = Self(0x01);
    /// Sensor-specific: offsets are defined per sensor type (table 42-3).
    pub const SENSOR_SPECIFIC: Self = Self(0x6F);
}

/// Generic threshold event offsets (IPMI 2.0 table 42-2), the low nibble of event data 1.
pub mod threshold_offset {
    pub const LNC_GOING_LOW: u8 = 0x00;
    pub const LNC_GOING_HIGH: u8 = 0x01;
    pub const LC_GOING_LOW: u8 = 0x02;
    pub const LC_GOING_HIGH: u8 = 0x03;
    pub const LNR_GOING_LOW: u8 = 0x04;
    pub const LNR_GOING_HIGH: u8 = 0x05;
    pub const UNC_GOING_LOW: u8 = 0x06;
    pub const UNC_GOING_HIGH: u8 = 0x07;
    pub const UC_GOING_LOW: u8 = 0x08;
    pub const UC_GOING_HIGH: u8 = 0x09;
    pub const UNR_GOING_LOW: u8 = 0x0A;
    pub const UNR_GOING_HIGH: u8 = 0x0B;

    /// Table 42-2's text for an offset in four parts to be joined (`"Upper " "Critical"
    /// " - going " "high"`), `None` above 0x0B. Parts rather than twelve whole texts: the table
    /// is three words in two directions on two sides, and the whole texts cost the bare-metal
    /// image's flash four times what the parts do.
    pub const fn parts(offset: u8) -> Option<[&'static str; 4]> {
        if offset > UNR_GOING_HIGH {
            return None;
        }
        let side = if offset < UNC_GOING_LOW {
            "Lower "
        } else {
            "Upper "
        };
        let severity = match offset % 6 / 2 {
            0 => "Non-critical",
            1 => "Critical",
            _ => "Non-recoverable",
        };
        let direction = if offset.is_multiple_of(2) {
            "low"
        } else {
            "high"
        };
        Some([side, severity, " - going ", direction])
    }
}

/// Event data 1 flags for threshold events (IPMI 2.0 table 29-6): which of data 2/3 carry
/// values. When a flag is clear the byte is "unspecified" and holds 0xFF.
pub mod threshold_data1 {
    /// Event data 2 holds the trigger reading.
    pub const READING_IN_DATA2: u8 = 0b01 << 6;
    /// Event data 3 holds the trigger threshold.
    pub const THRESHOLD_IN_DATA3: u8 = 0b01 << 4;
}

/// A system event record's content (type 0x02).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemEvent {
    /// Seconds since 1970 UTC, or since BMC start when ≤ [`TIMESTAMP_PRE_INIT_MAX`].
    pub timestamp: u32,
    pub generator: GeneratorId,
    pub evm_rev: u8,
    pub sensor_type: u8,
    pub sensor_number: u8,
    /// Bit 7 of the Event Dir/Type byte: the condition went away.
    pub deassertion: bool,
    /// Bits 6:0 of the Event Dir/Type byte.
    pub event_type: EventType,
    pub data: [u8; 3],
}

impl SystemEvent {
    /// The Event Dir/Type byte.
    pub const fn dir_type(&self) -> u8 {
        ((self.deassertion as u8) << 7) | (self.event_type.0 & 0x7F)
    }

    /// The event offset (low nibble of event data 1) for threshold, generic and sensor-specific
    /// events alike.
    pub const fn offset(&self) -> u8 {
        self.data[0] & 0x0F
    }
}

/// What a record holds after its RecordID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body {
    System(SystemEvent),
    /// Types 0xC0-0xDF.
    OemTimestamped {
        record_type: u8,
        timestamp: u32,
        /// IANA enterprise number, 24 bits.
        manufacturer: u32,
        data: [u8; 6],
    },
    /// Types 0xE0-0xFF.
    OemNonTimestamped {
        record_type: u8,
        data: [u8; 13],
    },
    /// Any other type: unspecified by IPMI, kept verbatim.
    Other {
        record_type: u8,
        data: [u8; 13],
    },
}

/// One SEL record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Record {
    pub id: RecordId,
    pub body: Body,
}

/// The input was not 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthError(pub usize);

impl Record {
    pub const fn record_type(&self) -> u8 {
        match self.body {
            Body::System(_) => SYSTEM_EVENT,
            Body::OemTimestamped { record_type, .. }
            | Body::OemNonTimestamped { record_type, .. }
            | Body::Other { record_type, .. } => record_type,
        }
    }

    /// The record's timestamp, for the types that have one.
    pub const fn timestamp(&self) -> Option<u32> {
        match self.body {
            Body::System(e) => Some(e.timestamp),
            Body::OemTimestamped { timestamp, .. } => Some(timestamp),
            _ => None,
        }
    }

    /// The wire form. The record type byte is taken from the variant; an OEM variant holding a
    /// type outside its range is written as given (it came from `decode` or from the caller).
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        b[0..2].copy_from_slice(&self.id.0.to_le_bytes());
        b[2] = self.record_type();
        match &self.body {
            Body::System(e) => {
                b[3..7].copy_from_slice(&e.timestamp.to_le_bytes());
                b[7..9].copy_from_slice(&e.generator.to_le_bytes());
                b[9] = e.evm_rev;
                b[10] = e.sensor_type;
                b[11] = e.sensor_number;
                b[12] = e.dir_type();
                b[13..16].copy_from_slice(&e.data);
            }
            Body::OemTimestamped {
                timestamp,
                manufacturer,
                data,
                ..
            } => {
                b[3..7].copy_from_slice(&timestamp.to_le_bytes());
                b[7..10].copy_from_slice(&manufacturer.to_le_bytes()[..3]);
                b[10..16].copy_from_slice(data);
            }
            Body::OemNonTimestamped { data, .. } | Body::Other { data, .. } => {
                b[3..16].copy_from_slice(data);
            }
        }
        b
    }

    /// Decodes a 16-byte record. Total: every byte pattern has a meaning.
    pub fn decode(b: &[u8; RECORD_LEN]) -> Self {
        let id = RecordId(u16::from_le_bytes([b[0], b[1]]));
        let record_type = b[2];
        let timestamp = u32::from_le_bytes([b[3], b[4], b[5], b[6]]);
        let mut rest = [0u8; 13];
        rest.copy_from_slice(&b[3..16]);
        let body = match record_type {
            SYSTEM_EVENT => Body::System(SystemEvent {
                timestamp,
                generator: GeneratorId(u16::from_le_bytes([b[7], b[8]])),
                evm_rev: b[9],
                sensor_type: b[10],
                sensor_number: b[11],
                deassertion: b[12] & 0x80 != 0,
                event_type: EventType(b[12] & 0x7F),
                data: [b[13], b[14], b[15]],
            }),
            0xC0..=0xDF => {
                let mut data = [0u8; 6];
                data.copy_from_slice(&b[10..16]);
                Body::OemTimestamped {
                    record_type,
                    timestamp,
                    manufacturer: u32::from_le_bytes([b[7], b[8], b[9], 0]),
                    data,
                }
            }
            0xE0..=0xFF => Body::OemNonTimestamped {
                record_type,
                data: rest,
            },
            _ => Body::Other {
                record_type,
                data: rest,
            },
        };
        Self { id, body }
    }

    /// Decodes from a slice that must be exactly 16 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self, LengthError> {
        let b: &[u8; RECORD_LEN] = b.try_into().map_err(|_| LengthError(b.len()))?;
        Ok(Self::decode(b))
    }
}

/// The records of Microsoft's CIM_LogRecord documentation (reference/cim.md §3.2), as stored:
/// what tests of the decoder and of the CIM view compare against Windows' own output.
pub mod examples {
    /// A system event: the SEL cleared (RecordID 1, sensor 0x72 Event Logging Disabled,
    /// offset 02h, 2009-03-19 02:21:03 UTC).
    pub const SYSTEM: [u8; 16] = [
        0x01, 0x00, 0x02, 0x0F, 0xAC, 0xC1, 0x49, 0x20, 0x00, 0x04, 0x10, 0x72, 0x6F, 0x02, 0xFF,
        0xFF,
    ];
    /// A timestamped OEM record (RecordID 3, type 0xDD).
    pub const OEM_TIMESTAMPED: [u8; 16] = [
        0x03, 0x00, 0xDD, 0x7B, 0xFE, 0xC4, 0x49, 0x37, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0,
        0x00,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::examples::{OEM_TIMESTAMPED as WINDOWS_OEM, SYSTEM as WINDOWS_SYSTEM};

    #[test]
    fn windows_examples_decode() {
        let r = Record::decode(&WINDOWS_SYSTEM);
        assert_eq!(r.id, RecordId(1));
        assert_eq!(
            r.body,
            Body::System(SystemEvent {
                timestamp: 1_237_429_263,
                generator: GeneratorId::BMC,
                evm_rev: EVM_REV,
                sensor_type: 0x10,
                sensor_number: 0x72,
                deassertion: false,
                event_type: EventType::SENSOR_SPECIFIC,
                data: [0x02, 0xFF, 0xFF],
            })
        );
        let r = Record::decode(&WINDOWS_OEM);
        assert_eq!(r.id, RecordId(3));
        assert_eq!(
            r.body,
            Body::OemTimestamped {
                record_type: 0xDD,
                timestamp: 0x49C4_FE7B,
                manufacturer: 311,
                data: [0, 0, 0, 0, 0xC0, 0],
            }
        );
        assert_eq!(r.timestamp(), Some(0x49C4_FE7B));
    }

    #[test]
    fn every_kind_round_trips() {
        let mut cases = [
            WINDOWS_SYSTEM,
            WINDOWS_OEM,
            [0u8; 16],
            [0xFF; 16],
            [0x5A; 16],
        ];
        cases[2][2] = 0xE5;
        cases[4][12] = 0x81; // deassertion of a threshold event
        cases[4][2] = SYSTEM_EVENT;
        for (i, bytes) in cases.iter().enumerate() {
            let r = Record::decode(bytes);
            assert_eq!(&r.encode(), bytes, "case {i}");
        }
        let r = Record::decode(&cases[4]);
        let Body::System(e) = r.body else {
            panic!("not a system event")
        };
        assert!(e.deassertion);
        assert_eq!(e.event_type, EventType::THRESHOLD);
        assert_eq!(e.dir_type(), 0x81);
        assert!(matches!(
            Record::decode(&[0u8; 16]).body,
            Body::Other { record_type: 0, .. }
        ));
    }

    #[test]
    fn every_byte_pattern_decodes_and_round_trips() {
        // Walk each position through all values: decode must be total and encode its inverse.
        for pos in 0..RECORD_LEN {
            for v in 0..=255u8 {
                let mut b = WINDOWS_SYSTEM;
                b[pos] = v;
                assert_eq!(Record::decode(&b).encode(), b, "pos {pos} value {v:#04x}");
            }
        }
    }

    #[test]
    fn length_is_checked() {
        assert_eq!(Record::from_slice(&[0; 15]), Err(LengthError(15)));
        assert_eq!(Record::from_slice(&[0; 17]), Err(LengthError(17)));
        assert!(Record::from_slice(&WINDOWS_SYSTEM).is_ok());
    }

    #[test]
    fn record_ids_skip_the_reserved_values() {
        let cases = [
            (0x0001, 0x0002),
            (0x7FFF, 0x8000),
            (0xFFFD, 0xFFFE),
            (0xFFFE, 0x0001),
            (0xFFFF, 0x0001),
            (0x0000, 0x0001),
        ];
        for (from, to) in cases {
            assert_eq!(RecordId(from).next(), RecordId(to), "{from:#06x}");
        }
        assert!(!RecordId::ALIAS_FIRST.is_assignable());
        assert!(!RecordId::ALIAS_LAST.is_assignable());
        assert!(RecordId::FIRST.is_assignable());
    }

    #[test]
    fn generator_ids() {
        assert_eq!(GeneratorId::BMC.to_le_bytes(), [0x20, 0x00]);
        assert_eq!(GeneratorId::ipmb(0x2D, 6, 3).to_le_bytes(), [0x2C, 0x63]);
        assert_eq!(GeneratorId::software(0x01).to_le_bytes(), [0x03, 0x00]);
    }

    #[test]
    fn threshold_offset_names() {
        // Table 42-2, whole.
        let table = [
            "Lower Non-critical - going low",
            "Lower Non-critical - going high",
            "Lower Critical - going low",
            "Lower Critical - going high",
            "Lower Non-recoverable - going low",
            "Lower Non-recoverable - going high",
            "Upper Non-critical - going low",
            "Upper Non-critical - going high",
            "Upper Critical - going low",
            "Upper Critical - going high",
            "Upper Non-recoverable - going low",
            "Upper Non-recoverable - going high",
        ];
        for (offset, text) in (0u8..).zip(table) {
            let parts = threshold_offset::parts(offset).expect("an offset of the table");
            let mut joined = [0u8; 40];
            let mut at = 0;
            for part in parts {
                joined[at..at + part.len()].copy_from_slice(part.as_bytes());
                at += part.len();
            }
            assert_eq!(&joined[..at], text.as_bytes(), "offset {offset:#04x}");
        }
        assert_eq!(threshold_offset::parts(0x0C), None);
        assert_eq!(threshold_offset::parts(0xFF), None);
    }
}
