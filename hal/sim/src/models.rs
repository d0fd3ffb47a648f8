//! Register-level models of each part, speaking the same register maps and encodings as the
//! silicon so the real drivers run their real code paths against them.
//!
//! A model sees a transaction as the part does: a write whose first byte is the pointer or
//! PMBus command (further bytes are register data), and reads that return bytes from the
//! current pointer. Physical values come from [`Inputs`]; encoding is done here with floats
//! (the simulator may use them) so it is computed independently of the drivers' integer
//! decoding.

use embedded_hal::i2c::NoAcknowledgeSource;
use wsbmc_hal::devices::adm1272::{self, Ranges};
use wsbmc_hal::devices::max31785;
use wsbmc_hal::pmbus::{self, Coefficients};
use wsbmc_hal::{DeviceModel, Quantity};

use wsbmc_hal::devices::At24Size;

use crate::SimI2cError;
use crate::satellite::{self, SatelliteRegs};

/// What a model may ask of the outside world while handling one transaction.
pub(crate) trait Inputs {
    /// The channel's physical value in native units at the transaction's time.
    fn value(&self, channel: u8) -> i32;
    /// Whether the part's own fault indication (open diode, sensor fault) is raised.
    fn channel_fault(&self, channel: u8) -> bool;
    /// Board constant for current/power parts.
    fn sense_micro_ohms(&self) -> u32;
}

const NACK_DATA: SimI2cError = SimI2cError::Nack(NoAcknowledgeSource::Data);

pub(crate) enum Regs {
    Tmp75 {
        ptr: u8,
        config: u8,
        tlow: u16,
        thigh: u16,
    },
    Tmp421 {
        ptr: u8,
        config1: u8,
        config2: u8,
        rate: u8,
        latched: [Option<u8>; 2],
    },
    Emc1413 {
        ptr: u8,
        config: u8,
        rate: u8,
        latched: [Option<u8>; 3],
    },
    Max31785 {
        page: u8,
        cmd: u8,
    },
    Adm1272 {
        cmd: u8,
        pmon_config: u16,
        /// STATUS_WORD and STATUS_INPUT as the part reports them (set by fault injection).
        status: (u16, u8),
    },
    At24 {
        ptr: usize,
        mem: Vec<u8>,
        size: At24Size,
    },
    Satellite(SatelliteRegs),
    /// Stands in while the real registers are borrowed out during a read.
    Empty,
}

/// ADM1272 PMON_CONFIG at power-up: 100 V and 30 mV ranges, VIN sampled, VOUT and temperature
/// not (so the driver's enabling write is exercised).
pub const ADM1272_PMON_CONFIG_DEFAULT: u16 = 0x3F35;

impl Regs {
    pub(crate) fn new(model: DeviceModel, address: u8) -> Self {
        if let Some(size) = model.eeprom() {
            // Erased EEPROM cells read as ones.
            return Regs::At24 {
                ptr: 0,
                mem: vec![0xFF; size.bytes()],
                size,
            };
        }
        match model {
            DeviceModel::Tmp75 => Regs::Tmp75 {
                ptr: 0,
                config: 0,
                tlow: 0x4B00,
                thigh: 0x5000,
            },
            DeviceModel::Tmp421 => Regs::Tmp421 {
                ptr: 0,
                config1: 0,
                config2: 0x1C,
                rate: 0x07,
                latched: [None; 2],
            },
            DeviceModel::Emc1413 => Regs::Emc1413 {
                ptr: 0,
                config: 0,
                rate: 0x06,
                latched: [None; 3],
            },
            DeviceModel::Max31785 => Regs::Max31785 { page: 0, cmd: 0 },
            DeviceModel::Adm1272 => Regs::Adm1272 {
                cmd: 0,
                pmon_config: ADM1272_PMON_CONFIG_DEFAULT,
                status: (0, 0),
            },
            DeviceModel::IpmbSatellite => Regs::Satellite(SatelliteRegs::new(address)),
            DeviceModel::At24c02
            | DeviceModel::At24c32
            | DeviceModel::At24c64
            | DeviceModel::At24c256 => Regs::Empty,
        }
    }

    /// Replaces an EEPROM's contents from offset 0 (the rest keeps its bytes).
    pub(crate) fn load_eeprom(&mut self, bytes: &[u8]) -> bool {
        match self {
            Regs::At24 { mem, .. } if bytes.len() <= mem.len() => {
                mem[..bytes.len()].copy_from_slice(bytes);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn satellite(&mut self) -> Option<&mut SatelliteRegs> {
        match self {
            Regs::Satellite(s) => Some(s),
            _ => None,
        }
    }

    /// Sets a PMBus part's STATUS_WORD and STATUS_INPUT (a satellite PSU controller: its status
    /// sensor's states); false for parts without them.
    pub(crate) fn set_pmbus_status(&mut self, word: u16, input: u8) -> bool {
        match self {
            Regs::Adm1272 { status, .. } => {
                *status = (word, input);
                true
            }
            // A satellite PSU controller reports the same condition as state bits.
            Regs::Satellite(sat) => {
                sat.set_psu_states(wsbmc_hal::pmbus::psu_states(word, input));
                true
            }
            _ => false,
        }
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), SimI2cError> {
        let Some((&first, rest)) = data.split_first() else {
            return Ok(()); // SMBus quick command: the address ACK is all there is.
        };
        match self {
            Regs::Tmp75 {
                ptr,
                config,
                tlow,
                thigh,
            } => {
                *ptr = first & 0x03;
                match (*ptr, rest) {
                    (1, [v, ..]) => *config = *v,
                    (2, [h, l, ..]) => *tlow = u16::from_be_bytes([*h, *l]),
                    (3, [h, l, ..]) => *thigh = u16::from_be_bytes([*h, *l]),
                    _ => {}
                }
            }
            Regs::Tmp421 {
                ptr,
                config1,
                config2,
                rate,
                ..
            } => {
                *ptr = first;
                if let [v, ..] = rest {
                    match first {
                        0x09 => *config1 = *v,
                        0x0A => *config2 = *v,
                        0x0B => *rate = *v & 0x07,
                        _ => {}
                    }
                }
            }
            Regs::Emc1413 {
                ptr, config, rate, ..
            } => {
                *ptr = first;
                if let [v, ..] = rest {
                    match first {
                        0x03 | 0x09 => *config = *v,
                        0x04 | 0x0A => *rate = *v & 0x0F,
                        _ => {}
                    }
                }
            }
            Regs::Max31785 { page, cmd } => {
                *cmd = first;
                if let (pmbus::PAGE, [p, ..]) = (first, rest) {
                    if *p <= 22 || *p == 0xFF {
                        *page = *p;
                    } else {
                        return Err(NACK_DATA);
                    }
                }
            }
            Regs::Adm1272 {
                cmd, pmon_config, ..
            } => {
                *cmd = first;
                if let (adm1272::PMON_CONFIG, [lo, hi, ..]) = (first, rest) {
                    *pmon_config = u16::from_le_bytes([*lo, *hi]);
                }
            }
            Regs::At24 { ptr, mem, size } => {
                let (addr, payload) = if size.address_bytes() == 1 {
                    (usize::from(first), rest)
                } else {
                    let Some((&lo, payload)) = rest.split_first() else {
                        // Only the high address byte: the part latches nothing useful.
                        return Ok(());
                    };
                    (usize::from(u16::from_be_bytes([first, lo])), payload)
                };
                let n = size.bytes();
                *ptr = addr % n;
                // Page writes wrap inside the page, as the silicon does.
                let page = size.page();
                let base = *ptr - *ptr % page;
                for (i, b) in payload.iter().enumerate() {
                    let at = base + (*ptr % page + i) % page;
                    mem[at] = *b;
                }
            }
            // IPMB frames written to a satellite through the plain I2C handle are ignored;
            // satellites are spoken to through `SimIpmb`.
            Regs::Satellite(_) | Regs::Empty => {}
        }
        Ok(())
    }

    pub(crate) fn read(&mut self, buf: &mut [u8], inputs: &dyn Inputs) -> Result<(), SimI2cError> {
        match self {
            Regs::Tmp75 {
                ptr,
                config,
                tlow,
                thigh,
            } => {
                let bytes: Vec<u8> = match *ptr {
                    0 => tmp75_raw(inputs.value(0)).to_be_bytes().to_vec(),
                    1 => vec![*config],
                    2 => tlow.to_be_bytes().to_vec(),
                    _ => thigh.to_be_bytes().to_vec(),
                };
                for (b, v) in buf.iter_mut().zip(bytes.iter().cycle()) {
                    *b = *v;
                }
            }
            Regs::Tmp421 {
                ptr,
                config1,
                config2,
                rate,
                latched,
            } => {
                for b in buf.iter_mut() {
                    let extended = *config1 & 0x04 != 0;
                    *b = match *ptr {
                        ch @ 0x00..=0x01 => {
                            let raw = q4_raw(inputs.value(ch), extended, 62.5)
                                | u16::from(ch == 1 && inputs.channel_fault(1));
                            latched[usize::from(ch)] = Some(raw as u8);
                            (raw >> 8) as u8
                        }
                        lo @ 0x10..=0x11 => {
                            let ch = lo - 0x10;
                            match latched[usize::from(ch)].take() {
                                Some(v) => v,
                                None => {
                                    (q4_raw(inputs.value(ch), extended, 62.5)
                                        | u16::from(ch == 1 && inputs.channel_fault(1)))
                                        as u8
                                }
                            }
                        }
                        0x08 => 0x00,
                        0x09 => *config1,
                        0x0A => *config2,
                        0x0B => *rate,
                        0xFE => 0x55,
                        0xFF => 0x21,
                        _ => 0x00,
                    };
                }
            }
            Regs::Emc1413 {
                ptr,
                config,
                rate,
                latched,
            } => {
                const HIGH: [u8; 3] = [0x00, 0x01, 0x23];
                const LOW: [u8; 3] = [0x29, 0x10, 0x24];
                let extended = *config & 0x04 != 0;
                for b in buf.iter_mut() {
                    let r = *ptr;
                    *b = if let Some(ch) = HIGH.iter().position(|&h| h == r) {
                        let raw = q5_raw(inputs.value(ch as u8), extended);
                        latched[ch] = Some(raw as u8);
                        (raw >> 8) as u8
                    } else if let Some(ch) = LOW.iter().position(|&l| l == r) {
                        match latched[ch].take() {
                            Some(v) => v,
                            None => q5_raw(inputs.value(ch as u8), extended) as u8,
                        }
                    } else {
                        match r {
                            0x03 | 0x09 => *config,
                            0x04 | 0x0A => *rate,
                            0x1B => {
                                (u8::from(inputs.channel_fault(1)) << 1)
                                    | (u8::from(inputs.channel_fault(2)) << 2)
                            }
                            0xFD => 0x21,
                            0xFE => 0x5D,
                            0xFF => 0x04,
                            _ => 0x00,
                        }
                    };
                }
            }
            Regs::Max31785 { page, cmd } => {
                let word: u16 = match (*cmd, *page) {
                    (pmbus::PAGE, p) => u16::from(p),
                    (pmbus::READ_FAN_SPEED_1, p @ 0..=5) => inputs.value(p).clamp(0, 0xFFFF) as u16,
                    (pmbus::READ_TEMPERATURE_1, p @ 6..=12) => {
                        if inputs.channel_fault(p) {
                            0x7FFF
                        } else {
                            encode(inputs.value(p), max31785::TEMP_COEFFICIENTS, -32768, 0x7FFE)
                                as u16
                        }
                    }
                    // Pages 13–16 poll external I2C sensors, none of which the model has.
                    (pmbus::READ_TEMPERATURE_1, 13..=16) => 0x7FFF,
                    (pmbus::READ_VOUT, p @ 17..=22) => {
                        encode(inputs.value(p), max31785::VOLTAGE_COEFFICIENTS, 0, 0x7FFF) as u16
                    }
                    (0x9B, _) => 0x3030, // MFR_REVISION
                    _ => return Err(NACK_DATA),
                };
                fill_le(buf, word);
            }
            Regs::Adm1272 {
                cmd,
                pmon_config,
                status,
            } => {
                let ranges = Ranges::from_pmon_config(*pmon_config);
                let sense = f64::from(inputs.sense_micro_ohms()) / 1000.0;
                let on = |bit: u16| *pmon_config & bit != 0;
                let word: u16 = match *cmd {
                    adm1272::PMON_CONFIG => *pmon_config,
                    pmbus::STATUS_WORD => status.0,
                    pmbus::STATUS_INPUT => u16::from(status.1),
                    pmbus::READ_VIN if on(adm1272::PMON_VIN_EN) => {
                        encode(inputs.value(0), ranges.voltage(), 0, 0x0FFF) as u16
                    }
                    pmbus::READ_VOUT if on(adm1272::PMON_VOUT_EN) => {
                        encode(inputs.value(1), ranges.voltage(), 0, 0x0FFF) as u16
                    }
                    pmbus::READ_IOUT => {
                        encode(inputs.value(2), scale_m(ranges.current(), sense), 0, 0x0FFF) as u16
                    }
                    pmbus::READ_PIN => encode(
                        inputs.value(3),
                        scale_m(ranges.power(), sense),
                        i32::from(i16::MIN),
                        i32::from(i16::MAX),
                    ) as i16 as u16,
                    pmbus::READ_TEMPERATURE_1 if on(adm1272::PMON_TEMP1_EN) => {
                        encode(inputs.value(4), ranges.temperature(), 0, 0x0FFF) as u16
                    }
                    // Sampling disabled since power-up: the register never got a result.
                    pmbus::READ_VIN | pmbus::READ_VOUT | pmbus::READ_TEMPERATURE_1 => 0,
                    _ => return Err(NACK_DATA),
                };
                fill_le(buf, word);
            }
            Regs::At24 { ptr, mem, .. } => {
                for b in buf.iter_mut() {
                    *b = mem[*ptr];
                    *ptr = (*ptr + 1) % mem.len();
                }
            }
            Regs::Satellite(_) | Regs::Empty => buf.fill(0xFF),
        }
        Ok(())
    }
}

fn fill_le(buf: &mut [u8], word: u16) {
    for (b, v) in buf
        .iter_mut()
        .zip(word.to_le_bytes().iter().chain(std::iter::repeat(&0xFF)))
    {
        *b = *v;
    }
}

/// `(coefficients-per-mΩ, shunt in mΩ)` → coefficients with `m` scaled, as floats allow.
struct ScaledM {
    m: f64,
    b: f64,
    r: i32,
}

fn scale_m(c: Coefficients, sense_milliohms: f64) -> ScaledM {
    ScaledM {
        m: c.m as f64 * sense_milliohms,
        b: c.b as f64,
        r: i32::from(c.r),
    }
}

impl From<Coefficients> for ScaledM {
    fn from(c: Coefficients) -> Self {
        scale_m(c, 1.0)
    }
}

/// PMBus DIRECT encoding of a native-unit (10^-3 or RPM) value: `Y = (m·X + b)·10^R`.
fn encode(native: i32, c: impl Into<ScaledM>, lo: i32, hi: i32) -> i32 {
    let c = c.into();
    // Every DIRECT quantity in these parts is milli-scaled except fan RPM, whose
    // coefficients are m=1 b=0 R=0 and whose callers pass RPM directly.
    let x = f64::from(native) / 1000.0;
    let y = (c.m * x + c.b) * 10f64.powi(c.r);
    (y.round() as i64).clamp(i64::from(lo), i64::from(hi)) as i32
}

/// LM75/TMP75 layout: 12-bit two's complement, 1/16 °C, left-justified.
fn tmp75_raw(mc: i32) -> i16 {
    let code = (f64::from(mc) / 62.5).round().clamp(-2048.0, 2047.0) as i16;
    code << 4
}

/// TMP421 layout: 12 bits of 1/16 °C, left-justified; extended range adds 64 °C and is unsigned.
fn q4_raw(mc: i32, extended: bool, lsb_mc: f64) -> u16 {
    if extended {
        let code = ((f64::from(mc) + 64_000.0) / lsb_mc)
            .round()
            .clamp(0.0, 4095.0) as u16;
        code << 4
    } else {
        let code = (f64::from(mc) / lsb_mc).round().clamp(-2048.0, 2047.0) as i16;
        (code << 4) as u16
    }
}

/// EMC1413 layout: 11 bits of 1/8 °C, left-justified.
fn q5_raw(mc: i32, extended: bool) -> u16 {
    if extended {
        let code = ((f64::from(mc) + 64_000.0) / 125.0)
            .round()
            .clamp(0.0, 2047.0) as u16;
        code << 5
    } else {
        let code = (f64::from(mc) / 125.0).round().clamp(-1024.0, 1023.0) as i16;
        (code << 5) as u16
    }
}

/// Whether the part flags a fault on `channel` itself (what [`crate::SimBoard::set_channel_fault`]
/// raises): the TMP421 remote OPEN bit, an EMC1413 External Diode Fault bit, a MAX31785
/// temperature page's 0x7FFF.
pub(crate) fn has_fault_flag(model: DeviceModel, channel: u8) -> bool {
    match model {
        DeviceModel::Tmp421 => channel == 1,
        DeviceModel::Emc1413 => channel == 1 || channel == 2,
        DeviceModel::Max31785 => (6..=12).contains(&channel),
        _ => false,
    }
}

/// What a channel reads when the board file gave it no waveform: plausible, gently moving
/// values so an unconfigured board still looks alive.
pub(crate) fn default_waveform(model: DeviceModel, channel: u8) -> crate::Waveform {
    use crate::Waveform as W;
    if model == DeviceModel::IpmbSatellite {
        return satellite::sensor(channel).map_or(W::new(0, 0, 60_000, 0), |s| s.default);
    }
    let quantity = model
        .channels()
        .iter()
        .find(|c| c.channel == channel)
        .map_or(Quantity::Temperature, |c| c.quantity);
    match (model, channel, quantity) {
        (DeviceModel::Adm1272, 1, _) => W::new(11_950, 40, 90_000, 10),
        (_, _, Quantity::Temperature) => W::new(35_000, 3_000, 600_000, 250),
        (_, _, Quantity::FanSpeed) => W::new(8_000, 400, 300_000, 30),
        (_, _, Quantity::Voltage) => W::new(12_000, 40, 90_000, 10),
        (_, _, Quantity::Current) => W::new(8_000, 2_000, 120_000, 100),
        (_, _, Quantity::Power) => W::new(96_000, 24_000, 120_000, 1_000),
    }
}
