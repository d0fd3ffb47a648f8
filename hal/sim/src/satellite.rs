//! A simulated satellite controller on IPMB: a power supply's management controller with its own
//! SDR repository and threshold sensors, answering the commands a BMC sends it.
//!
//! The SDR bytes and the reading encoding are written here from the IPMI 2.0 tables (full sensor
//! record, table 43-1; Get Sensor Reading, §35.14) with floats, independently of the driver's
//! integer decoding, so a test that reads a known value back checks both.

use wsbmc_hal::Quantity;
use wsbmc_ipmi::ipmb::{Header, MAX_RESPONSE_DATA, cc, cmd, netfn};

use crate::Waveform;

/// One sensor of the satellite and its linear conversion `y = M·x·10^R` (B = 0 throughout,
/// which is what most PSU controllers use).
#[derive(Debug, Clone, Copy)]
pub struct SatelliteSensor {
    pub number: u8,
    pub name: &'static str,
    pub quantity: Quantity,
    pub m: i16,
    pub r_exp: i8,
    /// IPMI sensor type (table 42-3) and base unit (table 43-15) for the SDR.
    pub sensor_type: u8,
    pub unit: u8,
    pub default: Waveform,
    /// Upper non-critical and critical thresholds, in native units, for the SDR.
    pub upper: (i32, i32),
}

/// Table-row constructor; the argument list is the table's columns.
#[allow(clippy::too_many_arguments)]
const fn s(
    number: u8,
    name: &'static str,
    quantity: Quantity,
    m: i16,
    r_exp: i8,
    sensor_type: u8,
    unit: u8,
    default: Waveform,
    upper: (i32, i32),
) -> SatelliteSensor {
    SatelliteSensor {
        number,
        name,
        quantity,
        m,
        r_exp,
        sensor_type,
        unit,
        default,
        upper,
    }
}

const fn w(base: i32, swing: i32, period_ms: u32, noise: i32) -> Waveform {
    Waveform {
        base,
        swing,
        period_ms,
        noise,
    }
}

/// The satellite's sensors: a 1200 W power supply controller.
pub const PSU_SENSORS: &[SatelliteSensor] = &[
    s(
        0x01,
        "PSU Inlet Temp",
        Quantity::Temperature,
        1,
        0,
        0x01,
        1,
        w(27_000, 2_000, 400_000, 0),
        (55_000, 60_000),
    ),
    s(
        0x02,
        "PSU Hotspot",
        Quantity::Temperature,
        1,
        0,
        0x01,
        1,
        w(48_000, 4_000, 300_000, 0),
        (95_000, 105_000),
    ),
    s(
        0x03,
        "PSU Vin",
        Quantity::Voltage,
        2,
        0,
        0x02,
        4,
        w(230_000, 4_000, 90_000, 0),
        (264_000, 270_000),
    ),
    s(
        0x04,
        "PSU Vout",
        Quantity::Voltage,
        6,
        -2,
        0x02,
        4,
        w(12_060, 60, 60_000, 0),
        (12_600, 13_200),
    ),
    s(
        0x05,
        "PSU Iout",
        Quantity::Current,
        4,
        -1,
        0x03,
        5,
        w(38_000, 6_000, 120_000, 0),
        (90_000, 100_000),
    ),
    s(
        0x06,
        "PSU Pout",
        Quantity::Power,
        5,
        0,
        0x0B,
        6,
        w(460_000, 70_000, 120_000, 0),
        (1_100_000, 1_200_000),
    ),
    s(
        0x07,
        "PSU Fan",
        Quantity::FanSpeed,
        100,
        0,
        0x04,
        18,
        w(6_500, 500, 200_000, 0),
        (20_000, 22_000),
    ),
    s(
        0x08,
        "PSU 3V3 Stby",
        Quantity::Voltage,
        2,
        -2,
        0x02,
        4,
        w(3_320, 20, 60_000, 0),
        (3_460, 3_600),
    ),
];

pub fn sensor(number: u8) -> Option<&'static SatelliteSensor> {
    PSU_SENSORS.iter().find(|s| s.number == number)
}

/// The raw byte for a native-unit value: `x = y / (M·10^R)`, unsigned, clamped to a byte.
pub fn encode_raw(s: &SatelliteSensor, native: i32) -> u8 {
    let y = f64::from(native) * 10f64.powi(i32::from(s.quantity.native_scale()));
    let x = y / (f64::from(s.m) * 10f64.powi(i32::from(s.r_exp)));
    x.round().clamp(0.0, 255.0) as u8
}

/// The full sensor record of `s` as record `id` (header included).
fn full_record(id: u16, s: &SatelliteSensor, owner: u8) -> Vec<u8> {
    let name = s.name.as_bytes();
    let mut r = vec![0u8; 48 + name.len()];
    r[..2].copy_from_slice(&id.to_le_bytes());
    r[2] = 0x51;
    r[3] = 0x01;
    r[4] = (r.len() - 5) as u8;
    r[5] = owner;
    r[7] = s.number;
    r[8] = 10; // entity: power supply
    r[9] = 1;
    r[10] = 0x7F; // scanning, events, thresholds, hysteresis, type initialised
    r[11] = 0x68; // readable/settable thresholds, auto-rearm
    r[12] = s.sensor_type;
    r[13] = 0x01; // threshold based
    r[18] = 0x38; // settable: UNC, UC, UNR
    r[19] = 0x38; // readable
    r[20] = 0x00; // unsigned
    r[21] = s.unit;
    let m = (s.m as u16) & 0x3FF;
    r[24] = m as u8;
    r[25] = ((m >> 8) as u8) << 6;
    r[29] = (s.r_exp as u8 & 0x0F) << 4;
    r[30] = 0x01; // nominal reading given
    r[31] = encode_raw(s, s.default.base);
    r[34] = 0xFF; // sensor max
    r[37] = encode_raw(s, s.upper.1); // UC
    r[38] = encode_raw(s, s.upper.0); // UNC
    r[47] = 0xC0 | name.len() as u8; // 8-bit ASCII
    r[48..].copy_from_slice(name);
    r
}

/// The satellite's own discrete Power Supply status sensor (08h, sensor-specific): its state
/// bits are what Get Sensor Reading returns in bytes 3 and 4. It has no SDR here: a board names
/// its type and states, as for any discrete sensor.
pub const PSU_STATUS_SENSOR: u8 = 0x40;

/// The satellite's protocol state.
#[derive(Debug, Clone)]
pub(crate) struct SatelliteRegs {
    records: Vec<Vec<u8>>,
    reservation: u16,
    /// State bits of [`PSU_STATUS_SENSOR`].
    psu_states: u16,
}

impl SatelliteRegs {
    pub(crate) fn new(address7: u8) -> Self {
        let records = PSU_SENSORS
            .iter()
            .enumerate()
            .map(|(i, s)| full_record(i as u16, s, address7 << 1))
            .collect();
        SatelliteRegs {
            records,
            reservation: 0,
            psu_states: wsbmc_hal::pmbus::psu_offset::PRESENCE,
        }
    }

    /// Sets the status sensor's states, as the supply's controller would from its PMBus status.
    pub(crate) fn set_psu_states(&mut self, states: u16) {
        self.psu_states = states & 0x7FFF;
    }

    /// Answers one request: completion code and data. `value` gives a sensor's native value.
    pub(crate) fn handle(
        &mut self,
        h: &Header,
        data: &[u8],
        value: &dyn Fn(u8) -> i32,
    ) -> (u8, Vec<u8>) {
        match (h.net_fn, h.cmd) {
            (netfn::APP, cmd::GET_DEVICE_ID) => (
                cc::OK,
                vec![
                    0x21, 0x01, 0x01, 0x00, 0x51, 0x03, 0x57, 0x01, 0x00, 0x12, 0x00,
                ],
            ),
            (netfn::SENSOR_EVENT, cmd::GET_DEVICE_SDR_INFO) => {
                let count = if data.first().is_some_and(|b| b & 1 == 1) {
                    self.records.len()
                } else {
                    PSU_SENSORS.len()
                };
                (cc::OK, vec![count as u8, 0x01])
            }
            (netfn::SENSOR_EVENT, cmd::RESERVE_DEVICE_SDR_REPOSITORY) => {
                self.reservation = self.reservation.wrapping_add(1).max(1);
                (cc::OK, self.reservation.to_le_bytes().to_vec())
            }
            (netfn::SENSOR_EVENT, cmd::GET_DEVICE_SDR) => self.get_sdr(data),
            (netfn::SENSOR_EVENT, cmd::GET_SENSOR_READING)
                if data.first() == Some(&PSU_STATUS_SENSOR) =>
            {
                let [lo, hi] = self.psu_states.to_le_bytes();
                (cc::OK, vec![0, 0xC0, lo, hi])
            }
            (netfn::SENSOR_EVENT, cmd::GET_SENSOR_READING) => {
                let Some(s) = data.first().and_then(|n| sensor(*n)) else {
                    return (cc::NOT_PRESENT, vec![]);
                };
                let v = value(s.number);
                let raw = encode_raw(s, v);
                let mut status = 0u8;
                if v >= s.upper.0 {
                    status |= 0x08;
                }
                if v >= s.upper.1 {
                    status |= 0x10;
                }
                (cc::OK, vec![raw, 0xC0, status])
            }
            _ => (cc::INVALID_COMMAND, vec![]),
        }
    }

    fn get_sdr(&self, data: &[u8]) -> (u8, Vec<u8>) {
        let [r0, r1, i0, i1, offset, len] = data else {
            return (0xC7, vec![]); // request data length invalid
        };
        let (rsv, id) = (
            u16::from_le_bytes([*r0, *r1]),
            u16::from_le_bytes([*i0, *i1]),
        );
        // A reservation is needed for partial reads past the start of a record (§33.12).
        if *offset != 0 && (rsv == 0 || rsv != self.reservation) {
            return (cc::RESERVATION_CANCELLED, vec![]);
        }
        let Some(rec) = self.records.get(usize::from(id)) else {
            return (cc::NOT_PRESENT, vec![]);
        };
        let (offset, len) = (usize::from(*offset), usize::from(*len));
        if len + 2 > MAX_RESPONSE_DATA {
            return (cc::CANNOT_RETURN_BYTES, vec![]);
        }
        let Some(bytes) = rec.get(offset..offset + len) else {
            return (0xC9, vec![]); // parameter out of range
        };
        let next = if usize::from(id) + 1 < self.records.len() {
            id + 1
        } else {
            0xFFFF
        };
        let mut out = next.to_le_bytes().to_vec();
        out.extend_from_slice(bytes);
        (cc::OK, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_numbers() {
        let t = sensor(0x01).unwrap();
        assert_eq!(encode_raw(t, 27_000), 27);
        let v = sensor(0x04).unwrap();
        assert_eq!(encode_raw(v, 12_000), 200);
        let f = sensor(0x07).unwrap();
        assert_eq!(encode_raw(f, 6_500), 65);
        assert_eq!(encode_raw(f, 1_000_000), 255);
        assert_eq!(encode_raw(t, -5_000), 0);
    }

    #[test]
    fn sdr_pieces_need_a_reservation_past_offset_zero() {
        let mut regs = SatelliteRegs::new(0x30);
        let get = |regs: &SatelliteRegs, rsv: u16, off: u8, len: u8| {
            let r = rsv.to_le_bytes();
            regs.get_sdr(&[r[0], r[1], 0, 0, off, len])
        };
        assert_eq!(get(&regs, 0, 0, 5).0, cc::OK);
        assert_eq!(get(&regs, 0, 5, 16).0, cc::RESERVATION_CANCELLED);
        let h = Header {
            dest_sa: 0x60,
            net_fn: netfn::SENSOR_EVENT,
            dest_lun: 0,
            src_sa: 0x20,
            seq: 0,
            src_lun: 0,
            cmd: cmd::RESERVE_DEVICE_SDR_REPOSITORY,
        };
        let (code, rsv) = regs.handle(&h, &[], &|_| 0);
        assert_eq!(code, cc::OK);
        let rsv = u16::from_le_bytes([rsv[0], rsv[1]]);
        assert_eq!(get(&regs, rsv, 5, 16).0, cc::OK);
        assert_eq!(get(&regs, rsv, 5, 23).0, cc::CANNOT_RETURN_BYTES);
        assert_eq!(get(&regs, rsv, 250, 4).0, 0xC9);
        assert_eq!(regs.get_sdr(&[0; 3]).0, 0xC7);
    }
}
