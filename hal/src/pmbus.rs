//! PMBus pieces shared by the PMBus drivers (MAX31785, ADM1272) and the simulator: command
//! codes and the DIRECT data format.
//!
//! DIRECT format (PMBus 1.x part II §7.2) relates a real-world value `X` to the two's-complement
//! register value `Y` by `Y = (m·X + b)·10^R`, so `X = (Y·10^-R − b) / m`. The part's datasheet
//! gives `m`, `b` and `R` per quantity. The same relation is IPMI's SDR linear conversion, which
//! is why it is written once here, in integers, and tested for exactness and overflow: the
//! drivers must not use floats, and `m` is often a 4–5 digit number that makes naive `i32`
//! arithmetic overflow on extreme raw values.

/// Selects the page (rail, fan, sensor) that later page-scoped commands address.
pub const PAGE: u8 = 0x00;
pub const READ_VIN: u8 = 0x88;
pub const READ_VOUT: u8 = 0x8B;
pub const READ_IOUT: u8 = 0x8C;
pub const READ_TEMPERATURE_1: u8 = 0x8D;
pub const READ_FAN_SPEED_1: u8 = 0x90;
pub const READ_PIN: u8 = 0x97;
pub const STATUS_WORD: u8 = 0x79;
pub const STATUS_INPUT: u8 = 0x7C;

/// STATUS_WORD bits (PMBus 1.2 part II §17.2): the low byte is STATUS_BYTE.
pub mod status_word {
    pub const NONE_OF_THE_ABOVE: u16 = 1 << 0;
    pub const CML: u16 = 1 << 1;
    pub const TEMPERATURE: u16 = 1 << 2;
    pub const VIN_UV_FAULT: u16 = 1 << 3;
    pub const IOUT_OC_FAULT: u16 = 1 << 4;
    pub const VOUT_OV_FAULT: u16 = 1 << 5;
    pub const OFF: u16 = 1 << 6;
    pub const BUSY: u16 = 1 << 7;
    pub const UNKNOWN: u16 = 1 << 8;
    pub const OTHER: u16 = 1 << 9;
    pub const FANS: u16 = 1 << 10;
    /// Negated: set when power is *not* good.
    pub const POWER_GOOD_N: u16 = 1 << 11;
    pub const MFR: u16 = 1 << 12;
    pub const INPUT: u16 = 1 << 13;
    pub const IOUT_POUT: u16 = 1 << 14;
    pub const VOUT: u16 = 1 << 15;
}

/// STATUS_INPUT bits (PMBus 1.2 part II §17.5).
pub mod status_input {
    pub const PIN_OP_WARNING: u8 = 1 << 0;
    pub const IIN_OC_WARNING: u8 = 1 << 1;
    pub const IIN_OC_FAULT: u8 = 1 << 2;
    /// "Unit off for insufficient input voltage".
    pub const UNIT_OFF_LOW_INPUT: u8 = 1 << 3;
    pub const VIN_UV_FAULT: u8 = 1 << 4;
    pub const VIN_UV_WARNING: u8 = 1 << 5;
    pub const VIN_OV_WARNING: u8 = 1 << 6;
    pub const VIN_OV_FAULT: u8 = 1 << 7;
}

/// IPMI Power Supply (sensor type 08h) offsets a PMBus status can tell.
pub mod psu_offset {
    pub const PRESENCE: u16 = 1 << 0;
    pub const FAILURE: u16 = 1 << 1;
    pub const PREDICTIVE_FAILURE: u16 = 1 << 2;
    pub const INPUT_LOST: u16 = 1 << 3;
}

/// A power device's PMBus status as IPMI Power Supply states. The device answered, so it is
/// present. Input lost: an input under-voltage fault or the unit off for low input; that also
/// switches the output off, which is then not a failure of the supply itself. Failure: an output
/// fault (over-voltage, over-current), or the output off or not power-good with the input fine.
/// Predictive failure: a warning that is not (yet) a fault: temperature, fans, input or output
/// warnings.
pub fn psu_states(word: u16, input: u8) -> u16 {
    use status_word as w;
    let input_lost = word & w::VIN_UV_FAULT != 0
        || input & (status_input::VIN_UV_FAULT | status_input::UNIT_OFF_LOW_INPUT) != 0;
    let output_fault = word & (w::VOUT_OV_FAULT | w::IOUT_OC_FAULT) != 0;
    let off = word & (w::OFF | w::POWER_GOOD_N) != 0;
    let failure = output_fault || (off && !input_lost);
    let input_warning = input
        & (status_input::VIN_UV_WARNING
            | status_input::VIN_OV_WARNING
            | status_input::IIN_OC_WARNING
            | status_input::PIN_OP_WARNING)
        != 0;
    let warning = word & (w::TEMPERATURE | w::FANS | w::IOUT_POUT | w::VOUT) != 0 || input_warning;
    let mut s = psu_offset::PRESENCE;
    if failure {
        s |= psu_offset::FAILURE;
    }
    if warning && !failure {
        s |= psu_offset::PREDICTIVE_FAILURE;
    }
    if input_lost {
        s |= psu_offset::INPUT_LOST;
    }
    s
}

/// DIRECT-format coefficients. Wider than the 16-bit fields PMBus puts on the wire because
/// drivers fold board constants into them (the ADM1272 multiplies `m` by its sense resistor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coefficients {
    pub m: i64,
    pub b: i64,
    pub r: i8,
}

impl Coefficients {
    pub const fn new(m: i64, b: i64, r: i8) -> Self {
        Coefficients { m, b, r }
    }
}

/// Exponents beyond this cannot come from a real part and would only serve to overflow.
const MAX_EXP: u32 = 24;

fn pow10(e: i32) -> Option<i128> {
    if e < 0 || e as u32 > MAX_EXP {
        return None;
    }
    // 10^MAX_EXP is far inside i128, so plain multiplication is exact; `checked_pow` would
    // spend ~0.8 KiB of flash on 128-bit overflow checks that can never fire.
    let mut p: i128 = 1;
    for _ in 0..e {
        p *= 10;
    }
    Some(p)
}

/// Integer division rounding half away from zero: readings are reported to the nearest count,
/// and symmetric rounding keeps negative temperatures the mirror of positive ones.
///
/// `None` where the checked form `n.checked_div(d)`, `checked_rem`, `|r|·2` and `|d|` gives up:
/// `d == 0`, `MIN / -1`, `|r| >= 2^126`, `d == MIN`, or a rounded quotient past `i128`.
pub(crate) fn div_round(n: i128, d: i128) -> Option<i128> {
    if d == 0 || d == i128::MIN || (n == i128::MIN && d == -1) {
        return None;
    }
    let (uq, ur) = udiv_rem(n.unsigned_abs(), d.unsigned_abs());
    if ur >= 1 << 126 {
        return None;
    }
    let same_sign = (n < 0) == (d < 0);
    // |q| <= 2^127, and 2^127 only as MIN / 1 (negative): the cast and negation are exact.
    let q = if same_sign {
        uq as i128
    } else {
        (uq as i128).wrapping_neg()
    };
    if ur * 2 >= d.unsigned_abs() {
        q.checked_add(if same_sign { 1 } else { -1 })
    } else {
        Some(q)
    }
}

/// `n / d` and `n % d` for `d != 0`, one bit at a time. On a 32-bit target LLVM expands every
/// 128-bit division inline (there is no library call for it): ~1 KiB of Thumb code in
/// `div_round`, against ~100 B for this loop; it runs 128 steps a DIRECT reading.
#[inline(never)]
fn udiv_rem(n: u128, d: u128) -> (u128, u128) {
    // The dividend's bits leave `nq` at the top as the quotient's enter at the bottom (only
    // one-bit shifts, which are cheap on a 32-bit core); after 128 steps `nq` is the quotient.
    let mut nq = n;
    let mut r = 0u128;
    for _ in 0..128 {
        // r < d <= 2^127 before the shift, so 2r + 1 fits.
        r = (r << 1) | (nq >> 127);
        nq <<= 1;
        if r >= d {
            r -= d;
            nq |= 1;
        }
    }
    (nq, r)
}

/// Decodes a DIRECT-format register value into an integer in units of `10^scale` (for example
/// `scale = -3` gives millivolts for a voltage whose coefficients are expressed in volts),
/// rounded to the nearest count.
///
/// Returns `None` when the result cannot be represented (`m == 0`, exponents out of any real
/// part's range, or a result outside `i32`): the caller turns that into `BadData` instead of
/// reporting a wrapped number.
pub fn direct_to_scaled(raw: i32, c: Coefficients, scale: i8) -> Option<i32> {
    // N = (Y·10^-R − b)·10^-scale / m, rearranged so every power of ten is non-negative:
    // N = (Y·10^(a+s+k) − b·10^(s+k)) / (m·10^k).
    let a = -i32::from(c.r);
    let s = -i32::from(scale);
    let k = 0.max(-(a + s)).max(-s);
    let num = mul(i128::from(raw), pow10(a + s + k)?)?
        .checked_sub(mul(i128::from(c.b), pow10(s + k)?)?)?;
    let den = mul(i128::from(c.m), pow10(k)?)?;
    i32::try_from(div_round(num, den)?).ok()
}

/// `a.checked_mul(b)`, by shift-and-add on the magnitudes, out of line: the library's 128-bit
/// multiply with its overflow check is ~0.4 KiB of Thumb code, this loop about a third of it.
/// It runs 128 steps, a few times a DIRECT reading.
#[inline(never)]
fn mul(a: i128, b: i128) -> Option<i128> {
    let ua = a.unsigned_abs();
    let mut ub = b.unsigned_abs();
    let mut p = 0u128;
    for _ in 0..128 {
        // p doubles for each of b's bits, from the top: past 2^128 the product overflows.
        if p >> 127 != 0 {
            return None;
        }
        p <<= 1;
        if ub >> 127 != 0 {
            p = p.checked_add(ua)?;
        }
        ub <<= 1;
    }
    if (a < 0) != (b < 0) {
        // Down to i128::MIN, whose magnitude is 2^127.
        (p <= 1 << 127).then(|| (p as i128).wrapping_neg())
    } else {
        i128::try_from(p).ok()
    }
}

/// Encodes an integer in units of `10^scale` into a DIRECT-format register value, rounded to
/// the nearest count. The inverse of [`direct_to_scaled`] up to the register's quantisation;
/// used to program limits and by the simulator's tests.
pub fn scaled_to_direct(value: i32, c: Coefficients, scale: i8) -> Option<i32> {
    // Y = (m·N·10^scale + b)·10^R = (m·N·10^(scale+R+k) + b·10^(R+k)) / 10^k.
    let sr = i32::from(scale) + i32::from(c.r);
    let r = i32::from(c.r);
    let k = 0.max(-sr).max(-r);
    let num = i128::from(c.m)
        .checked_mul(i128::from(value))?
        .checked_mul(pow10(sr + k)?)?
        .checked_add(i128::from(c.b).checked_mul(pow10(r + k)?)?)?;
    i32::try_from(div_round(num, pow10(k)?)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psu_states_table() {
        use psu_offset::*;
        use status_input as i;
        use status_word as w;
        // (STATUS_WORD, STATUS_INPUT, states)
        let cases: &[(u16, u8, u16)] = &[
            (0, 0, PRESENCE),
            (w::NONE_OF_THE_ABOVE, 0, PRESENCE),
            (w::OFF | w::POWER_GOOD_N, 0, PRESENCE | FAILURE),
            (w::VOUT_OV_FAULT | w::VOUT, 0, PRESENCE | FAILURE),
            (w::IOUT_OC_FAULT | w::IOUT_POUT, 0, PRESENCE | FAILURE),
            (
                w::OFF | w::POWER_GOOD_N | w::INPUT | w::VIN_UV_FAULT,
                i::VIN_UV_FAULT | i::UNIT_OFF_LOW_INPUT,
                PRESENCE | INPUT_LOST,
            ),
            (
                w::OFF | w::INPUT,
                i::UNIT_OFF_LOW_INPUT,
                PRESENCE | INPUT_LOST,
            ),
            (w::TEMPERATURE, 0, PRESENCE | PREDICTIVE_FAILURE),
            (w::FANS, 0, PRESENCE | PREDICTIVE_FAILURE),
            (w::INPUT, i::VIN_UV_WARNING, PRESENCE | PREDICTIVE_FAILURE),
            // A warning beside a failure is not "predictive" any more.
            (w::TEMPERATURE | w::OFF, 0, PRESENCE | FAILURE),
            (w::INPUT, 0, PRESENCE),
        ];
        for (word, input, want) in cases {
            assert_eq!(psu_states(*word, *input), *want, "{word:#06x}/{input:#04x}");
        }
    }

    const MILLI: i8 = -3;

    #[test]
    fn exact_values() {
        // MAX31785 temperature: m=1, b=0, R=2 → 0.01 °C per count.
        let t = Coefficients::new(1, 0, 2);
        assert_eq!(direct_to_scaled(2550, t, MILLI), Some(25_500));
        assert_eq!(direct_to_scaled(-1025, t, MILLI), Some(-10_250));
        // Fan speed straight through in RPM.
        assert_eq!(
            direct_to_scaled(12_345, Coefficients::new(1, 0, 0), 0),
            Some(12_345)
        );
        // Offset b: ADM1272 current, 15 mV range, 1 mΩ: Y = 132.6·I + 2048.
        let i = Coefficients::new(1326, 20480, -1);
        assert_eq!(direct_to_scaled(2048, i, MILLI), Some(0));
        assert_eq!(direct_to_scaled(2048 + 1326, i, MILLI), Some(10_000));
    }

    #[test]
    fn datasheet_examples() {
        // ADM1272 60 V range: 6770 counts per 100 V.
        let v = Coefficients::new(6770, 0, -2);
        assert_eq!(direct_to_scaled(812, v, MILLI), Some(11_994)); // 11.9940… V
        // ADM1272 temperature: Y = (42·T + 31871)/10.
        let t = Coefficients::new(42, 31871, -1);
        assert_eq!(direct_to_scaled(3292, t, MILLI), Some(24_976)); // 24.976… °C
        assert_eq!(direct_to_scaled(3187, t, MILLI), Some(-24)); // −0.0238 °C
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        let thirds = Coefficients::new(3, 0, 0);
        assert_eq!(direct_to_scaled(1, thirds, MILLI), Some(333));
        assert_eq!(direct_to_scaled(2, thirds, MILLI), Some(667));
        assert_eq!(direct_to_scaled(-2, thirds, MILLI), Some(-667));
        let sixteenths = Coefficients::new(16, 0, 0);
        assert_eq!(direct_to_scaled(1, sixteenths, MILLI), Some(63)); // 62.5
        assert_eq!(direct_to_scaled(-1, sixteenths, MILLI), Some(-63));
        assert_eq!(direct_to_scaled(3, sixteenths, MILLI), Some(188)); // 187.5
        // Coarser output than the register: 1499 mV → 1 V, 1500 mV → 2 V.
        let mv = Coefficients::new(1, 0, 3);
        assert_eq!(direct_to_scaled(1499, mv, 0), Some(1));
        assert_eq!(direct_to_scaled(1500, mv, 0), Some(2));
        assert_eq!(direct_to_scaled(-1500, mv, 0), Some(-2));
    }

    #[test]
    fn negative_coefficients_and_values() {
        let neg_m = Coefficients::new(-4, 0, 0);
        assert_eq!(direct_to_scaled(8, neg_m, 0), Some(-2));
        assert_eq!(direct_to_scaled(-8, neg_m, 0), Some(2));
        let neg_b = Coefficients::new(1, -100, 0);
        assert_eq!(direct_to_scaled(-100, neg_b, 0), Some(0));
        assert_eq!(
            direct_to_scaled(i32::from(i16::MIN), Coefficients::new(1, 0, 2), MILLI),
            Some(-327_680)
        );
    }

    #[test]
    fn extreme_raw_values_never_overflow() {
        let sets = [
            Coefficients::new(1, 0, 0),
            Coefficients::new(1, 0, -15),
            Coefficients::new(32767, -32768, 15),
            Coefficients::new(21071 * 100_000, 0, -6),
            Coefficients::new(-32768, 32767, -15),
            Coefficients::new(0, 0, 0),
            Coefficients::new(1, 0, i8::MIN),
            Coefficients::new(1, 0, i8::MAX),
        ];
        for c in sets {
            for raw in [
                i32::MIN,
                i32::MIN + 1,
                -1,
                0,
                1,
                i32::MAX,
                i16::MIN.into(),
                u16::MAX.into(),
            ] {
                for scale in [i8::MIN, -9, -3, 0, 3, i8::MAX] {
                    // Must not panic; None is the correct answer for unrepresentable results.
                    let _ = direct_to_scaled(raw, c, scale);
                    let _ = scaled_to_direct(raw, c, scale);
                }
            }
        }
        assert_eq!(direct_to_scaled(0, Coefficients::new(0, 0, 0), 0), None);
        assert_eq!(
            direct_to_scaled(i32::MAX, Coefficients::new(1, 0, -9), MILLI),
            None
        );
    }

    #[test]
    fn encode_inverts_decode_within_one_count() {
        let sets = [
            (Coefficients::new(6770, 0, -2), MILLI),
            (Coefficients::new(663, 20480, -1), MILLI),
            (Coefficients::new(42, 31871, -1), MILLI),
            (Coefficients::new(1, 0, 2), MILLI),
            (Coefficients::new(10535, 0, -3), MILLI),
        ];
        for (c, scale) in sets {
            for y in 0..4096 {
                let n = direct_to_scaled(y, c, scale).expect("in range");
                let back = scaled_to_direct(n, c, scale).expect("in range");
                assert_eq!(back, y, "{c:?} y={y} n={n}");
            }
        }
    }

    #[test]
    fn decode_is_monotonic_over_all_i16() {
        let c = Coefficients::new(1326, 20480, -1);
        let mut prev = i32::MIN;
        for y in i16::MIN..=i16::MAX {
            let n = direct_to_scaled(y.into(), c, MILLI).expect("fits");
            assert!(n >= prev);
            prev = n;
        }
    }

    #[test]
    fn div_round_edges() {
        assert_eq!(div_round(5, 2), Some(3));
        assert_eq!(div_round(-5, 2), Some(-3));
        assert_eq!(div_round(5, -2), Some(-3));
        assert_eq!(div_round(4, 3), Some(1));
        assert_eq!(div_round(1, 0), None);
        assert_eq!(div_round(i128::MIN, -1), None);
    }

    /// The checked `i128` form `div_round` had before its own long division, as the oracle.
    fn div_round_checked(n: i128, d: i128) -> Option<i128> {
        if d == 0 {
            return None;
        }
        let q = n.checked_div(d)?;
        let r = n.checked_rem(d)?;
        if r.checked_abs()?.checked_mul(2)? >= d.checked_abs()? {
            let away = if (n < 0) == (d < 0) { 1 } else { -1 };
            q.checked_add(away)
        } else {
            Some(q)
        }
    }

    /// Appends `count` values of a deterministic spread of magnitudes (xorshift from `seed`),
    /// each with both signs and of every width, to `values`.
    fn spread(values: &mut Vec<i128>, seed: u128, count: u32) {
        let mut x = seed;
        for i in 0..count {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x >> (i % 127)) as i128;
            values.push(v);
            values.push(v.wrapping_neg());
        }
    }

    #[test]
    fn mul_agrees_with_checked_mul() {
        let mut values = vec![
            0i128,
            1,
            -1,
            2,
            -2,
            3,
            10,
            -10,
            i128::MAX,
            i128::MIN,
            i128::MIN + 1,
        ];
        values.extend([
            1i128 << 63,
            -(1i128 << 63),
            1 << 64,
            (1 << 64) - 1,
            1 << 126,
            -(1 << 126),
        ]);
        values.extend([
            i128::from(i64::MAX),
            i128::from(i64::MIN),
            10i128.pow(24),
            -(10i128.pow(18)),
        ]);
        spread(&mut values, 0x2545_F491_4F6C_DD1D_9E37_79B9_7F4A_7C15, 300);
        for &a in &values {
            for &b in &values {
                assert_eq!(mul(a, b), a.checked_mul(b), "{a} * {b}");
            }
        }
        // Exactly i128::MIN, and one past it either way.
        assert_eq!(mul(1 << 126, -2), Some(i128::MIN));
        assert_eq!(mul(-(1 << 126), 2), Some(i128::MIN));
        assert_eq!(mul(1 << 126, 2), None);
        assert_eq!(mul(i128::MIN, -1), None);
        assert_eq!(mul(i128::MIN, 1), Some(i128::MIN));
    }

    #[test]
    fn div_round_agrees_with_checked_i128_division() {
        let mut values = vec![
            0i128,
            1,
            -1,
            2,
            -2,
            3,
            -3,
            7,
            10,
            -10,
            1 << 126,
            -(1 << 126),
            (1 << 126) + 1,
            i128::MAX,
            i128::MAX - 1,
            i128::MIN,
            i128::MIN + 1,
            i128::MAX / 2,
            i128::MIN / 2,
            i128::from(i64::MAX),
            i128::from(i64::MIN),
            i128::from(u64::MAX),
            10i128.pow(24),
            -(10i128.pow(24)),
        ];
        spread(&mut values, 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834, 400);
        for &n in &values {
            for &d in &values {
                assert_eq!(div_round(n, d), div_round_checked(n, d), "{n} / {d}");
            }
        }
        for n in -300i128..=300 {
            for d in -25i128..=25 {
                assert_eq!(div_round(n, d), div_round_checked(n, d), "{n} / {d}");
            }
        }
    }
}
