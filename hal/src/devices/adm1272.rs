//! Analog Devices ADM1272 PMBus hot-swap controller and power monitor.
//!
//! READ_VIN/VOUT/IOUT/TEMPERATURE_1 are 12-bit ADC results (a count above 0x0FFF cannot come
//! from the part), READ_PIN a 16-bit two's-complement product; all DIRECT format. The
//! coefficients depend on PMON_CONFIG (0xD4): bit 5 VRANGE selects the 100 V (set) or 60 V
//! input range, bit 0 IRANGE the 30 mV (set) or 15 mV sense range. Datasheet coefficients:
//!
//! | quantity | range | m | b | R |
//! |---|---|---|---|---|
//! | voltage | 60 V | 6770 | 0 | −2 |
//! | voltage | 100 V | 4062 | 0 | −2 |
//! | current | 15 mV | 1326 | 20480 | −1 |
//! | current | 30 mV | 663 | 20480 | −1 |
//! | power | 60 V, 15 mV | 3512 | 0 | −2 |
//! | power | 100 V, 15 mV | 21071 | 0 | −3 |
//! | power | 60 V, 30 mV | 17561 | 0 | −3 |
//! | power | 100 V, 30 mV | 10535 | 0 | −3 |
//! | temperature | | 42 | 31871 | −1 |
//!
//! Current and power `m` are per milliohm of sense resistor: the part measures a voltage, the
//! board's shunt turns it into amperes. The shunt is a board constant given at construction
//! (board file `rsense-micro-ohm`; default 1 mΩ, the datasheet's reference value) and folded
//! into the coefficients exactly: `(m·Rµ, 1000·b, R−3)`.
//!
//! VOUT, VIN and temperature sampling are separately enabled in PMON_CONFIG (bits 1, 2, 3) and
//! VOUT and temperature are off at power-up, which would leave those registers stale; the
//! driver enables them once, on first use, and caches the range bits from the same read.

use core::num::NonZeroU32;

use embedded_hal_async::i2c::I2c;

use super::{ChannelInfo, Chip, DeviceModel, Driver, Step, Steps, run};
use crate::{DeviceError, Quantity};
use crate::pmbus::{self, Coefficients, direct_to_scaled};

pub const PMON_CONFIG: u8 = 0xD4;
pub const PMON_VRANGE_100V: u16 = 1 << 5;
pub const PMON_IRANGE_30MV: u16 = 1 << 0;
pub const PMON_VOUT_EN: u16 = 1 << 1;
pub const PMON_VIN_EN: u16 = 1 << 2;
pub const PMON_TEMP1_EN: u16 = 1 << 3;
const PMON_ENABLES: u16 = PMON_VOUT_EN | PMON_VIN_EN | PMON_TEMP1_EN;

/// 1 mΩ: the value the datasheet's current and power coefficients are normalised to.
pub const DEFAULT_SENSE_MICRO_OHMS: NonZeroU32 = match NonZeroU32::new(1000) {
    Some(v) => v,
    None => NonZeroU32::MIN,
};

/// The shunts a board may declare. Below 10 µΩ a full-scale READ_PIN overflows the driver's
/// milliwatt `i32`; above 100 mΩ the 30 mV range would span only 0.3 A, far from any hot-swap
/// design. Either end is more likely a unit slip (mΩ or nΩ written as µΩ) than a real board.
pub const SENSE_MICRO_OHMS: core::ops::RangeInclusive<u32> = 10..=100_000;

const ADC_MAX: u16 = 0x0FFF;

/// The ranges PMON_CONFIG selected, which fix every coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ranges {
    pub high_voltage: bool,
    pub wide_current: bool,
}

impl Ranges {
    pub fn from_pmon_config(config: u16) -> Self {
        Ranges {
            high_voltage: config & PMON_VRANGE_100V != 0,
            wide_current: config & PMON_IRANGE_30MV != 0,
        }
    }

    pub fn voltage(self) -> Coefficients {
        if self.high_voltage {
            Coefficients::new(4062, 0, -2)
        } else {
            Coefficients::new(6770, 0, -2)
        }
    }

    /// Current coefficients for a 1 mΩ shunt; see [`with_sense`].
    pub fn current(self) -> Coefficients {
        if self.wide_current {
            Coefficients::new(663, 20480, -1)
        } else {
            Coefficients::new(1326, 20480, -1)
        }
    }

    /// Power coefficients for a 1 mΩ shunt; see [`with_sense`].
    pub fn power(self) -> Coefficients {
        match (self.high_voltage, self.wide_current) {
            (false, false) => Coefficients::new(3512, 0, -2),
            (true, false) => Coefficients::new(21071, 0, -3),
            (false, true) => Coefficients::new(17561, 0, -3),
            (true, true) => Coefficients::new(10535, 0, -3),
        }
    }

    pub fn temperature(self) -> Coefficients {
        Coefficients::new(42, 31871, -1)
    }
}

/// Rescales per-milliohm coefficients to a shunt of `micro_ohms`, exactly, in integers.
pub fn with_sense(c: Coefficients, micro_ohms: NonZeroU32) -> Coefficients {
    Coefficients::new(
        c.m.saturating_mul(i64::from(micro_ohms.get())),
        c.b.saturating_mul(1000),
        c.r.saturating_sub(3),
    )
}

pub struct Adm1272<I> {
    i2c: I,
    address: u8,
    sense: NonZeroU32,
    ranges: Option<Ranges>,
}

impl<I: I2c> Adm1272<I> {
    /// With the default 1 mΩ sense resistor.
    pub fn new(i2c: I, address: u8) -> Self {
        Self::with_sense_micro_ohms(i2c, address, DEFAULT_SENSE_MICRO_OHMS)
    }

    pub fn with_sense_micro_ohms(i2c: I, address: u8, sense: NonZeroU32) -> Self {
        Adm1272 {
            i2c,
            address,
            sense,
            ranges: None,
        }
    }

    pub fn release(self) -> I {
        self.i2c
    }

    pub fn sense_micro_ohms(&self) -> NonZeroU32 {
        self.sense
    }

    /// Channels: 0 VIN (mV), 1 VOUT (mV), 2 IOUT (mA), 3 PIN (mW), 4 temperature (m°C).
    pub async fn read(&mut self, channel: u8) -> Result<i32, DeviceError> {
        run(self, channel, false).await
    }

    /// The supply's status as IPMI Power Supply states ([`pmbus::psu_states`]).
    pub async fn psu_states(&mut self) -> Result<u16, DeviceError> {
        self.read_states(0).await
    }

    /// Page `channel` (0: the part has one) of the supply's status as IPMI Power Supply states
    /// ([`pmbus::psu_states`]).
    pub async fn read_states(&mut self, channel: u8) -> Result<u16, DeviceError> {
        // The states are a u16, widened by the step.
        run(self, channel, true).await.map(|v| v as u16)
    }

    /// A reading's transfers: PMON_CONFIG the first time (read, with any sampling that is off
    /// enabled by a write, then the ranges remembered; a failure leaves nothing remembered, so
    /// the next read tries again), then the channel's word.
    fn reading(&mut self, channel: u8, stage: u8, got: &[u8]) -> Step {
        if channel > 4 {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        }
        let (ranges, config_read) = match (self.ranges, got) {
            (Some(r), _) => (r, false),
            (None, &[lo, hi]) => {
                let config = u16::from_le_bytes([lo, hi]);
                if config & PMON_ENABLES != PMON_ENABLES && stage == 1 {
                    let [lo, hi] = (config | PMON_ENABLES).to_le_bytes();
                    return Step::Write([PMON_CONFIG, lo, hi], 3);
                }
                let r = Ranges::from_pmon_config(config);
                self.ranges = Some(r);
                (r, true)
            }
            (None, _) => return Step::Read(PMON_CONFIG, 2),
        };
        let (command, mut c) = match channel {
            0 => (pmbus::READ_VIN, ranges.voltage()),
            1 => (pmbus::READ_VOUT, ranges.voltage()),
            2 => (pmbus::READ_IOUT, ranges.current()),
            3 => (pmbus::READ_PIN, ranges.power()),
            _ => (pmbus::READ_TEMPERATURE_1, ranges.temperature()),
        };
        // The word is the last two bytes, once read: after PMON_CONFIG's, when those were read.
        let (false, &[.., lo, hi]) = (config_read, got) else {
            return Step::Read(command, 2);
        };
        // Current and power are measured across the sense resistor: one scaling for both.
        if matches!(channel, 2 | 3) {
            c = with_sense(c, self.sense);
        }
        let word = [lo, hi];
        let raw = if channel == 3 {
            // PIN is a signed reading; the others are 12-bit ADC values.
            i32::from(i16::from_le_bytes(word))
        } else {
            let raw = u16::from_le_bytes(word);
            if raw > ADC_MAX {
                return Step::Done(Err(DeviceError::BadData));
            }
            i32::from(raw)
        };
        Step::Done(direct_to_scaled(raw, c, -3).ok_or(DeviceError::BadData))
    }
}

/// Readings as above; the states from STATUS_WORD, with STATUS_INPUT read only when the word
/// points at the input, so a healthy part costs one transfer.
impl<I: I2c> Steps<I> for Adm1272<I> {
    fn step(&mut self, channel: u8, states: bool, stage: u8, got: &[u8]) -> Step {
        if !states {
            return self.reading(channel, stage, got);
        }
        if channel != 0 {
            return Step::Done(Err(DeviceError::NoSuchChannel));
        }
        let (word, input) = match *got {
            [lo, hi] => {
                let word = u16::from_le_bytes([lo, hi]);
                if word & (pmbus::status_word::INPUT | pmbus::status_word::VIN_UV_FAULT) != 0 {
                    return Step::Read(pmbus::STATUS_INPUT, 1);
                }
                (word, 0)
            }
            [lo, hi, input, ..] => (u16::from_le_bytes([lo, hi]), input),
            _ => return Step::Read(pmbus::STATUS_WORD, 2),
        };
        Step::Done(Ok(pmbus::psu_states(word, input).into()))
    }

    fn bus(&mut self) -> Option<(&mut I, u8)> {
        Some((&mut self.i2c, self.address))
    }
}

impl<I> Chip for Adm1272<I> {
    const CHANNELS: &'static [ChannelInfo] = &[
        ChannelInfo::new("vin", 0, Quantity::Voltage),
        ChannelInfo::new("vout", 1, Quantity::Voltage),
        ChannelInfo::new("iout", 2, Quantity::Current),
        ChannelInfo::new("pin", 3, Quantity::Power),
        ChannelInfo::new("temp", 4, Quantity::Temperature),
    ];
    const SENSE_MICRO_OHMS: Option<core::ops::RangeInclusive<u32>> = Some(SENSE_MICRO_OHMS);
}

impl<I: I2c, B> Driver<I, B> for Adm1272<I> {
    /// The board's shunt, when it gives one; else the datasheet's 1 mΩ.
    fn bind(_: DeviceModel, i2c: I, address: u8, sense: Option<NonZeroU32>) -> Option<Self> {
        Some(match sense {
            Some(sense) => Self::with_sense_micro_ohms(i2c, address, sense),
            None => Self::new(i2c, address),
        })
    }

    fn model(&self) -> DeviceModel {
        DeviceModel::Adm1272
    }

    fn read(&mut self, channel: u8) -> impl Future<Output = Result<i32, DeviceError>> {
        Adm1272::read(self, channel)
    }

    /// Page 0 (the part has one) of its status.
    fn read_states(&mut self, channel: u8) -> impl Future<Output = Result<u16, DeviceError>> {
        Adm1272::read_states(self, channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::test_util::*;

    #[test]
    fn psu_status_over_the_bus() {
        use pmbus::psu_offset::*;
        let word = |w: u16| T::write_read(0x10, vec![0x79], w.to_le_bytes().to_vec());
        // Healthy: one transfer. Input lost: STATUS_INPUT read too. Absent: NACK. Bus error.
        let mut mock = Mock::new(&[
            word(0),
            word(0x2848),
            T::write_read(0x10, vec![0x7C], vec![0x18]),
            word(0x0840),
            T::write_read(0x10, vec![0x79], vec![0, 0]).with_error(NACK),
            T::write_read(0x10, vec![0x79], vec![0, 0]).with_error(BUS),
        ]);
        let mut dev = Adm1272::new(mock.clone(), 0x10);
        assert_eq!(block_on(dev.psu_states()), Ok(PRESENCE));
        assert_eq!(block_on(dev.psu_states()), Ok(PRESENCE | INPUT_LOST));
        assert_eq!(block_on(dev.psu_states()), Ok(PRESENCE | FAILURE));
        assert_eq!(block_on(dev.psu_states()), Err(DeviceError::Nack));
        assert_eq!(block_on(dev.psu_states()), Err(DeviceError::Bus));
        mock.done();
    }

    const A: u8 = 0x10;
    const CONFIG_60V_15MV: u16 = 0x3F10 | PMON_ENABLES;

    fn init(config: u16) -> Vec<T> {
        let mut v = vec![T::write_read(
            A,
            vec![PMON_CONFIG],
            config.to_le_bytes().to_vec(),
        )];
        if config & PMON_ENABLES != PMON_ENABLES {
            let [lo, hi] = (config | PMON_ENABLES).to_le_bytes();
            v.push(T::write(A, vec![PMON_CONFIG, lo, hi]));
        }
        v
    }

    fn word(cmd: u8, w: u16) -> T {
        T::write_read(A, vec![cmd], w.to_le_bytes().to_vec())
    }

    fn run_on(dev_sense: Option<u32>, tx: &[T], channels: &[u8]) -> Vec<Result<i32, DeviceError>> {
        let mut mock = Mock::new(tx);
        let mut dev = match dev_sense.and_then(NonZeroU32::new) {
            Some(s) => Adm1272::with_sense_micro_ohms(mock.clone(), A, s),
            None => Adm1272::new(mock.clone(), A),
        };
        let r = channels.iter().map(|&c| block_on(dev.read(c))).collect();
        mock.done();
        r
    }

    #[test]
    fn enables_sampling_once_and_caches_ranges() {
        // Power-on default 0x3F35: 100 V, 30 mV, VIN on, VOUT and TEMP1 off.
        let mut tx = init(0x3F35);
        tx.push(word(0x88, 487));
        tx.push(word(0x8D, 3292));
        let r = run_on(None, &tx, &[0, 4]);
        assert_eq!(r, vec![Ok(11_989), Ok(24_976)]); // 487/40.62 V
    }

    #[test]
    fn all_channels_60v_15mv() {
        let mut tx = init(CONFIG_60V_15MV);
        tx.extend([
            word(0x88, 812),         // 11.994 V
            word(0x8B, 805),         // 11.891 V
            word(0x8C, 2048 + 1326), // 10 A at 1 mΩ
            word(0x97, 4214),        // 119.99 W
            word(0x8D, 3292),
        ]);
        let r = run_on(None, &tx, &[0, 1, 2, 3, 4]);
        assert_eq!(
            r,
            vec![Ok(11_994), Ok(11_891), Ok(10_000), Ok(119_989), Ok(24_976)]
        );
    }

    #[test]
    fn negative_current_and_sense_resistor() {
        // 0.5 mΩ: the same count means twice the current.
        let mut tx = init(CONFIG_60V_15MV);
        tx.extend([word(0x8C, 2048 - 663), word(0x8C, 2048 + 1326)]);
        let r = run_on(Some(500), &tx, &[2, 2]);
        assert_eq!(r, vec![Ok(-10_000), Ok(20_000)]);
    }

    #[test]
    fn qemu_shunt_current_and_power() {
        // QEMU's model: 0.3 mΩ, power-on 100 V / 30 mV ranges. Its reset values, 25 A and
        // 300 W, encode (with its m truncated to 198 and 3160) as 2543 and 948 counts; exact
        // coefficients read them back as 4.95 A / 0.1989 and 948 W / 3.1605.
        let mut tx = init(0x3F35);
        tx.extend([
            word(0x8C, 2543),
            word(0x97, 948),
            word(0x8C, 2048 + 1989), // 2048 + 19.89·I: 100 A exactly, where m = 198 would not be
            word(0x8C, 2048 - 1989),
            word(0x97, 31_605), // 10 kW exactly
        ]);
        let r = run_on(Some(300), &tx, &[2, 3, 2, 2, 3]);
        assert_eq!(
            r,
            vec![
                Ok(24_887),
                Ok(299_953),
                Ok(100_000),
                Ok(-100_000),
                Ok(10_000_000)
            ]
        );
    }

    #[test]
    fn every_count_decodes_at_both_ends_of_the_board_range() {
        let configs = [0, PMON_VRANGE_100V, PMON_IRANGE_30MV, 0x3F35];
        for sense in [*SENSE_MICRO_OHMS.start(), *SENSE_MICRO_OHMS.end()] {
            let sense = NonZeroU32::new(sense).expect("range excludes 0");
            for config in configs {
                let r = Ranges::from_pmon_config(config);
                let i = with_sense(r.current(), sense);
                let p = with_sense(r.power(), sense);
                for y in 0..=i32::from(ADC_MAX) {
                    assert!(
                        direct_to_scaled(y, i, -3).is_some(),
                        "{sense} {config:#x} {y}"
                    );
                }
                for y in [i16::MIN, -1, 0, 1, i16::MAX] {
                    assert!(direct_to_scaled(y.into(), p, -3).is_some(), "{sense} {y}");
                }
            }
        }
    }

    #[test]
    fn wide_ranges() {
        let config = PMON_ENABLES | PMON_VRANGE_100V | PMON_IRANGE_30MV;
        let mut tx = init(config);
        tx.extend([
            word(0x88, 4062 / 2),
            word(0x8C, 2048 + 663),
            word(0x97, 10535),
        ]);
        let r = run_on(None, &tx, &[0, 2, 3]);
        assert_eq!(r, vec![Ok(50_000), Ok(10_000), Ok(1_000_000)]);
    }

    #[test]
    fn impossible_adc_count_is_bad_data() {
        let mut tx = init(CONFIG_60V_15MV);
        tx.extend([word(0x88, 0x1000), word(0x8D, 0xFFFF)]);
        let r = run_on(None, &tx, &[0, 4]);
        assert_eq!(
            r,
            vec![Err(DeviceError::BadData), Err(DeviceError::BadData)]
        );
    }

    #[test]
    fn nack_then_recovery_rereads_config() {
        let mut tx = vec![T::write_read(A, vec![PMON_CONFIG], vec![0, 0]).with_error(NACK)];
        tx.extend(init(CONFIG_60V_15MV));
        tx.push(word(0x88, 812));
        let r = run_on(None, &tx, &[0, 0]);
        assert_eq!(r, vec![Err(DeviceError::Nack), Ok(11_994)]);
    }

    #[test]
    fn bus_error_on_reading() {
        let mut tx = init(CONFIG_60V_15MV);
        tx.push(T::write_read(A, vec![0x97], vec![0, 0]).with_error(BUS));
        let r = run_on(None, &tx, &[3]);
        assert_eq!(r, vec![Err(DeviceError::Bus)]);
    }

    #[test]
    fn unknown_channel() {
        assert_eq!(
            run_on(None, &[], &[5]),
            vec![Err(DeviceError::NoSuchChannel)]
        );
    }
}
