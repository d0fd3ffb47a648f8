//! Sensor reading conversion: IPMI's y = L[(M·x + B·10^Bexp)·10^Rexp] turned into the integer
//! plus power-of-ten that CIM_NumericSensor carries (`reference/cim.md` §2.6).
//!
//! For linear sensors every value of a sensor is an exact integer at one UnitModifier
//! u = Rexp + min(0, Bexp) + unit modifier, so the conversion is integer-only and exact. When
//! M, B and the exponents are so large that some raw byte would not fit an `i32` at that u (an
//! SDR nobody ships, but the bytes allow it), the UnitModifier is raised until all 256 raw
//! values fit and readings are rounded half away from zero; [`Conversion::is_exact`] says so.
//!
//! Non-linear sensors (linearization 1..=11) are evaluated in `f64` with `libm` and rounded to
//! a fixed UnitModifier of −3 relative to the IPMI unit (raised the same way if needed). The
//! error is the rounding, at most half a unit of the last digit: f64 keeps ~15.9 significant
//! digits and libm's functions are within an ulp or two, so for any value that fits the `i32`
//! the representation error dominates by many orders of magnitude. Their Resolution, Hysteresis
//! and Tolerance are not constants in the output unit, so they are reported as absent.
//! OEM linearizations (0x70..=0x7F) need *Get Sensor Reading Factors* per reading and are
//! refused here.

/// SDR Units 1 bits 7:6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnalogFormat {
    Unsigned,
    OnesComplement,
    TwosComplement,
    /// 11b: the sensor has no numeric reading (discrete, or a reading that means nothing).
    NoReading,
}

impl AnalogFormat {
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0x03 {
            0 => AnalogFormat::Unsigned,
            1 => AnalogFormat::OnesComplement,
            2 => AnalogFormat::TwosComplement,
            _ => AnalogFormat::NoReading,
        }
    }

    pub const fn bits(self) -> u8 {
        match self {
            AnalogFormat::Unsigned => 0,
            AnalogFormat::OnesComplement => 1,
            AnalogFormat::TwosComplement => 2,
            AnalogFormat::NoReading => 3,
        }
    }

    /// The signed count a raw byte stands for, or `None` when there is no numeric reading.
    ///
    /// Ones' complement has two zeros (0x00 and 0xFF) and a range of ±127; getting this wrong
    /// (as ipmi-rs does with `!x as i8`) inverts every sign.
    pub const fn decode(self, raw: u8) -> Option<i32> {
        match self {
            AnalogFormat::Unsigned => Some(raw as i32),
            AnalogFormat::TwosComplement => Some(raw as i8 as i32),
            AnalogFormat::OnesComplement => {
                if raw & 0x80 != 0 {
                    Some(-((!raw & 0x7F) as i32))
                } else {
                    Some(raw as i32)
                }
            }
            AnalogFormat::NoReading => None,
        }
    }

    /// The raw byte for a signed count, or `None` outside the format's range.
    pub const fn encode(self, count: i32) -> Option<u8> {
        match self {
            AnalogFormat::Unsigned if count >= 0 && count <= 255 => Some(count as u8),
            AnalogFormat::TwosComplement if count >= -128 && count <= 127 => {
                Some(count as i8 as u8)
            }
            AnalogFormat::OnesComplement if count >= 0 && count <= 127 => Some(count as u8),
            AnalogFormat::OnesComplement if count < 0 && count >= -127 => Some(!(-count as u8)),
            _ => None,
        }
    }
}

/// SDR byte 24, the linearization function L.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Linearization(pub u8);

impl Linearization {
    pub const LINEAR: Self = Self(0x00);
    pub const LN: Self = Self(0x01);
    pub const LOG10: Self = Self(0x02);
    pub const LOG2: Self = Self(0x03);
    pub const E: Self = Self(0x04);
    pub const EXP10: Self = Self(0x05);
    pub const EXP2: Self = Self(0x06);
    pub const ONE_OVER_X: Self = Self(0x07);
    pub const SQR: Self = Self(0x08);
    pub const CUBE: Self = Self(0x09);
    pub const SQRT: Self = Self(0x0A);
    pub const CUBE_ROOT: Self = Self(0x0B);

    pub const fn is_linear(self) -> bool {
        self.0 == 0
    }

    /// 0x70..=0x7F: factors change with the reading and must be fetched per reading.
    pub const fn is_oem(self) -> bool {
        self.0 >= 0x70 && self.0 <= 0x7F
    }

    /// Applies L. `None` for codes without a defined function.
    fn apply(self, x: f64) -> Option<f64> {
        Some(match self.0 {
            0x00 => x,
            0x01 => libm::log(x),
            0x02 => libm::log10(x),
            0x03 => libm::log2(x),
            0x04 => libm::exp(x),
            0x05 => libm::exp10(x),
            0x06 => libm::exp2(x),
            0x07 => 1.0 / x,
            0x08 => x * x,
            0x09 => x * x * x,
            0x0A => libm::sqrt(x),
            0x0B => libm::cbrt(x),
            _ => return None,
        })
    }
}

/// The conversion factors of a Full Sensor Record, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Factors {
    pub format: AnalogFormat,
    pub linearization: Linearization,
    /// 10-bit two's complement, −512..=511.
    pub m: i16,
    /// 10-bit two's complement, −512..=511.
    pub b: i16,
    /// 4-bit two's complement, −8..=7.
    pub b_exp: i8,
    /// 4-bit two's complement, −8..=7.
    pub r_exp: i8,
    /// 6 bits, in half raw counts.
    pub tolerance: u8,
    /// 10 bits, in hundredths of a percent before the exponent.
    pub accuracy: u16,
    /// 2 bits.
    pub accuracy_exp: u8,
}

impl Factors {
    /// y = x: what a sensor without an SDR (a board-file sensor read directly) converts with.
    pub const IDENTITY: Factors = Factors {
        format: AnalogFormat::Unsigned,
        linearization: Linearization::LINEAR,
        m: 1,
        b: 0,
        b_exp: 0,
        r_exp: 0,
        tolerance: 0,
        accuracy: 0,
        accuracy_exp: 0,
    };

    /// CIM Accuracy, in hundredths of a percent (IPMI already counts in them).
    pub const fn accuracy_hundredths_percent(&self) -> i32 {
        (self.accuracy & 0x3FF) as i32 * pow10_i64((self.accuracy_exp & 3) as u32) as i32
    }
}

/// Why a value could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvError {
    /// Analog format 11b: the sensor has no numeric reading.
    NoReading,
    /// An OEM or reserved linearization code.
    UnsupportedLinearization(u8),
    /// M = 0 (the inverse does not exist).
    ZeroM,
    /// L is undefined for this raw value (log of a negative, 1/0), or the result is infinite.
    Domain,
    /// The value lies outside what the raw byte can express (inverse conversion).
    OutOfRange,
    /// The factors are out of their field widths (M or B beyond 10 bits, exponents beyond 4).
    BadFactors,
}

const fn pow10_i64(e: u32) -> i64 {
    let mut v: i64 = 1;
    let mut i = 0;
    while i < e {
        v *= 10;
        i += 1;
    }
    v
}

/// Divides rounding half away from zero; `d > 0`.
const fn div_round(n: i64, d: i64) -> i64 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        if n < 0 { q - 1 } else { q + 1 }
    } else {
        q
    }
}

/// Linear sensors are evaluated in integers; this is the worst case, so `i64` never overflows:
/// |M·x| ≤ 512·255 and the largest power of ten applied is 10^8 (≈1.3·10^13), B·10^7 ≈ 5·10^9.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// value(x) = (M·x·10^m_pow + B·10^b_pow) / 10^shift.
    Linear { m_pow: u32, b_pow: u32, shift: u32 },
    /// value(x) = round(L(...) · 10^-out_exp), out_exp the exponent relative to the IPMI unit.
    NonLinear { out_exp: i32 },
}

/// A sensor's conversion from raw bytes to CIM integers, with its UnitModifier fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    factors: Factors,
    unit_modifier: i32,
    kind: Kind,
}

/// The UnitModifier non-linear sensors are shown at, relative to the IPMI unit.
pub const NON_LINEAR_EXPONENT: i32 = -3;

impl Conversion {
    /// Builds the conversion for `factors`, with `unit_extra` the power of ten CIM needs on top
    /// for the IPMI unit ([`crate::CimUnits::modifier`]).
    pub fn new(factors: Factors, unit_extra: i8) -> Result<Self, ConvError> {
        if !(-512..=511).contains(&factors.m)
            || !(-512..=511).contains(&factors.b)
            || !(-8..=7).contains(&factors.b_exp)
            || !(-8..=7).contains(&factors.r_exp)
        {
            return Err(ConvError::BadFactors);
        }
        if factors.format == AnalogFormat::NoReading {
            return Err(ConvError::NoReading);
        }
        let raws = 0..=255u8;
        if factors.linearization.is_linear() {
            let min_b = factors.b_exp.min(0);
            let m_pow = (-min_b) as u32;
            let b_pow = factors.b_exp.max(0) as u32;
            let mut kind = Kind::Linear {
                m_pow,
                b_pow,
                shift: 0,
            };
            let mut conv = Conversion {
                factors,
                unit_modifier: i32::from(factors.r_exp) + i32::from(min_b) + i32::from(unit_extra),
                kind,
            };
            // The extreme values are at the ends of the raw range; take the larger magnitude.
            let max_abs = raws
                .filter_map(|x| conv.linear_scaled(x))
                .map(i64::abs)
                .max()
                .unwrap_or(0);
            let mut shift = 0;
            while div_round(max_abs, pow10_i64(shift)) > i64::from(i32::MAX) {
                shift += 1;
            }
            if let Kind::Linear { shift: s, .. } = &mut kind {
                *s = shift;
            }
            conv.kind = kind;
            conv.unit_modifier += shift as i32;
            Ok(conv)
        } else {
            if factors.linearization.apply(1.0).is_none() {
                return Err(ConvError::UnsupportedLinearization(factors.linearization.0));
            }
            let mut conv = Conversion {
                factors,
                unit_modifier: NON_LINEAR_EXPONENT + i32::from(unit_extra),
                kind: Kind::NonLinear {
                    out_exp: NON_LINEAR_EXPONENT,
                },
            };
            let max_abs = raws
                .filter_map(|x| conv.nonlinear_f64(x))
                .fold(0.0f64, |a, y| a.max(libm::fabs(y)));
            let mut out_exp = NON_LINEAR_EXPONENT;
            while max_abs * libm::pow(10.0, f64::from(-out_exp)) > f64::from(i32::MAX)
                && out_exp < 400
            {
                out_exp += 1;
            }
            conv.kind = Kind::NonLinear { out_exp };
            conv.unit_modifier = out_exp + i32::from(unit_extra);
            Ok(conv)
        }
    }

    pub const fn factors(&self) -> &Factors {
        &self.factors
    }

    /// CIM UnitModifier: every value this conversion returns is counted in 10^this of the CIM
    /// base unit.
    pub const fn unit_modifier(&self) -> i32 {
        self.unit_modifier
    }

    /// CIM IsLinear.
    pub const fn is_linear(&self) -> bool {
        matches!(self.kind, Kind::Linear { .. })
    }

    /// Whether every converted value is exactly the IPMI value (linear, no scale raised).
    pub const fn is_exact(&self) -> bool {
        matches!(self.kind, Kind::Linear { shift: 0, .. })
    }

    /// The unrounded linear value at 10^(u - shift), in i64.
    fn linear_scaled(&self, raw: u8) -> Option<i64> {
        let Kind::Linear { m_pow, b_pow, .. } = self.kind else {
            return None;
        };
        let x = i64::from(self.factors.format.decode(raw)?);
        Some(
            i64::from(self.factors.m) * x * pow10_i64(m_pow)
                + i64::from(self.factors.b) * pow10_i64(b_pow),
        )
    }

    fn nonlinear_f64(&self, raw: u8) -> Option<f64> {
        let f = &self.factors;
        let x = f64::from(f.format.decode(raw)?);
        let lin = (f64::from(f.m) * x + f64::from(f.b) * libm::pow(10.0, f64::from(f.b_exp)))
            * libm::pow(10.0, f64::from(f.r_exp));
        let y = f.linearization.apply(lin)?;
        y.is_finite().then_some(y)
    }

    /// The CIM value of a raw byte (a reading, threshold, nominal or limit): counted in
    /// 10^[`Self::unit_modifier`] of the base unit.
    pub fn value(&self, raw: u8) -> Result<i32, ConvError> {
        match self.kind {
            Kind::Linear { shift, .. } => {
                let v = self.linear_scaled(raw).ok_or(ConvError::NoReading)?;
                i32::try_from(div_round(v, pow10_i64(shift))).map_err(|_| ConvError::OutOfRange)
            }
            Kind::NonLinear { out_exp } => {
                let y = self.nonlinear_f64(raw).ok_or(ConvError::Domain)?;
                let scaled = libm::round(y * libm::pow(10.0, f64::from(-out_exp)));
                if scaled.abs() > f64::from(i32::MAX) {
                    return Err(ConvError::OutOfRange);
                }
                Ok(scaled as i32)
            }
        }
    }

    /// The raw byte whose value is nearest to `value` (a threshold write), ties resolved away
    /// from zero in raw counts. `OutOfRange` when the nearest count is not a byte in the format.
    pub fn raw(&self, value: i32) -> Result<u8, ConvError> {
        match self.kind {
            Kind::Linear {
                m_pow,
                b_pow,
                shift,
            } => {
                let f = &self.factors;
                if f.m == 0 {
                    return Err(ConvError::ZeroM);
                }
                let num = i64::from(value) * pow10_i64(shift) - i64::from(f.b) * pow10_i64(b_pow);
                let den = i64::from(f.m) * pow10_i64(m_pow);
                let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
                let count = div_round(num, den);
                let count = i32::try_from(count).map_err(|_| ConvError::OutOfRange)?;
                f.format.encode(count).ok_or(ConvError::OutOfRange)
            }
            Kind::NonLinear { .. } => {
                // L may be non-monotonic over the byte range (sqr of a signed value), so the
                // nearest byte is found by looking at all of them.
                let mut best: Option<(u8, u64)> = None;
                for raw in 0..=255u8 {
                    let Ok(v) = self.value(raw) else { continue };
                    let d = (i64::from(v) - i64::from(value)).unsigned_abs();
                    if best.is_none_or(|(_, bd)| d < bd) {
                        best = Some((raw, d));
                    }
                }
                best.map(|(r, _)| r).ok_or(ConvError::Domain)
            }
        }
    }

    /// CIM Resolution: the value of one raw count, |M|·10^-min(0,Bexp) at the chosen modifier.
    /// `None` for non-linear sensors, whose step size varies with the reading.
    pub fn resolution(&self) -> Option<u32> {
        let Kind::Linear { m_pow, shift, .. } = self.kind else {
            return None;
        };
        let r = div_round(
            i64::from(self.factors.m).abs() * pow10_i64(m_pow),
            pow10_i64(shift),
        );
        u32::try_from(r).ok()
    }

    /// CIM Hysteresis for a raw hysteresis count: count × Resolution.
    pub fn hysteresis(&self, raw_count: u8) -> Option<u32> {
        let Kind::Linear { m_pow, shift, .. } = self.kind else {
            return None;
        };
        let r = div_round(
            i64::from(self.factors.m).abs() * pow10_i64(m_pow) * i64::from(raw_count),
            pow10_i64(shift),
        );
        u32::try_from(r).ok()
    }

    /// CIM Tolerance: the SDR tolerance is in half raw counts, so tolerance × Resolution / 2.
    pub fn tolerance(&self) -> Option<i32> {
        let Kind::Linear { m_pow, shift, .. } = self.kind else {
            return None;
        };
        let t = div_round(
            i64::from(self.factors.m).abs()
                * pow10_i64(m_pow)
                * i64::from(self.factors.tolerance & 0x3F),
            2 * pow10_i64(shift),
        );
        i32::try_from(t).ok()
    }

    /// CIM Accuracy in hundredths of a percent; independent of the unit.
    pub const fn accuracy(&self) -> i32 {
        self.factors.accuracy_hundredths_percent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(m: i16, b: i16, b_exp: i8, r_exp: i8, format: AnalogFormat) -> Factors {
        Factors {
            format,
            m,
            b,
            b_exp,
            r_exp,
            ..Factors::IDENTITY
        }
    }

    #[test]
    fn ones_complement_keeps_the_sign() {
        let oc = AnalogFormat::OnesComplement;
        assert_eq!(oc.decode(0x19), Some(25));
        assert_eq!(oc.decode(0xE6), Some(-25));
        assert_eq!(oc.decode(0xFF), Some(0));
        assert_eq!(oc.decode(0x80), Some(-127));
        assert_eq!(oc.encode(-25), Some(0xE6));
        assert_eq!(oc.encode(-128), None);
        for raw in 0..=255u8 {
            let v = oc.decode(raw).unwrap();
            let back = oc.encode(v).unwrap();
            assert_eq!(oc.decode(back), Some(v));
        }
    }

    #[test]
    fn voltage_in_millivolts() {
        // 12 V rail: M = 63, Rexp = -3 → 63 mV per count, u = -3.
        let c = Conversion::new(f(63, 0, 0, -3, AnalogFormat::Unsigned), 0).unwrap();
        assert_eq!(c.unit_modifier(), -3);
        assert_eq!(c.value(190), Ok(11_970));
        assert_eq!(c.resolution(), Some(63));
        assert_eq!(c.raw(12_000), Ok(190));
        assert_eq!(c.raw(11_990), Ok(190));
        assert!(c.is_linear() && c.is_exact());
    }

    #[test]
    fn negative_b_exponent_moves_into_the_modifier() {
        // y = (2x + 5·10^-1)·10^0 → u = -1, value = 20x + 5.
        let c = Conversion::new(f(2, 5, -1, 0, AnalogFormat::Unsigned), 0).unwrap();
        assert_eq!(c.unit_modifier(), -1);
        assert_eq!(c.value(10), Ok(205));
        assert_eq!(c.resolution(), Some(20));
        assert_eq!(c.hysteresis(2), Some(40));
        // y = (x + 3·10^2) → u = 0, value = x + 300.
        let c = Conversion::new(f(1, 3, 2, 0, AnalogFormat::TwosComplement), 0).unwrap();
        assert_eq!(c.value(0xFF), Ok(299));
    }

    #[test]
    fn unit_extra_modifier_only_moves_the_modifier() {
        let c = Conversion::new(f(1, 0, 0, 0, AnalogFormat::Unsigned), -3).unwrap();
        assert_eq!(c.unit_modifier(), -3);
        assert_eq!(c.value(7), Ok(7));
    }

    #[test]
    fn huge_factors_raise_the_modifier_instead_of_overflowing() {
        let c = Conversion::new(f(511, 511, -8, 7, AnalogFormat::Unsigned), 0).unwrap();
        assert!(!c.is_exact());
        for raw in 0..=255u8 {
            c.value(raw).unwrap();
        }
        let big = Conversion::new(f(-512, -512, 7, 7, AnalogFormat::TwosComplement), 0).unwrap();
        assert!(big.value(0).is_ok());
    }

    #[test]
    fn negative_m_inverse() {
        let c = Conversion::new(f(-2, 100, 0, 0, AnalogFormat::Unsigned), 0).unwrap();
        assert_eq!(c.value(10), Ok(80));
        assert_eq!(c.raw(80), Ok(10));
        assert_eq!(c.raw(81), Ok(10)); // 9.5 counts rounds away from zero
        assert_eq!(c.raw(-500), Err(ConvError::OutOfRange));
    }

    #[test]
    fn tolerance_and_accuracy() {
        let mut fac = f(5, 0, 0, -2, AnalogFormat::Unsigned);
        fac.tolerance = 3;
        fac.accuracy = 150;
        fac.accuracy_exp = 1;
        let c = Conversion::new(fac, 0).unwrap();
        assert_eq!(c.tolerance(), Some(8)); // 3 × 5 / 2 = 7.5
        assert_eq!(c.accuracy(), 1500);
    }

    #[test]
    fn non_linear() {
        let mut fac = f(1, 0, 0, 0, AnalogFormat::Unsigned);
        fac.linearization = Linearization::SQRT;
        let c = Conversion::new(fac, 0).unwrap();
        assert!(!c.is_linear());
        assert_eq!(c.unit_modifier(), -3);
        assert_eq!(c.value(2), Ok(1414));
        assert_eq!(c.raw(1414), Ok(2));
        assert_eq!(c.resolution(), None);
        fac.linearization = Linearization::LN;
        let c = Conversion::new(fac, 0).unwrap();
        assert_eq!(c.value(0), Err(ConvError::Domain));
        fac.linearization = Linearization::EXP10;
        let c = Conversion::new(fac, 0).unwrap();
        assert!(c.unit_modifier() > 200);
        assert_eq!(c.value(0), Ok(0));
        fac.linearization = Linearization(0x71);
        assert_eq!(
            Conversion::new(fac, 0),
            Err(ConvError::UnsupportedLinearization(0x71))
        );
    }

    #[test]
    fn no_reading_format() {
        assert_eq!(
            Conversion::new(f(1, 0, 0, 0, AnalogFormat::NoReading), 0),
            Err(ConvError::NoReading)
        );
    }
}
