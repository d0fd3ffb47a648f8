//! Power-of-ten arithmetic on integer readings.
//!
//! Readings are integers counted in 10^scale of a unit (CIM's UnitModifier), never floats; moving
//! a value between scales (a unit whose CIM form needs an extra modifier, a board threshold given
//! in another scale) is the one arithmetic step the model needs, and it must neither overflow
//! silently nor depend on float rounding.

/// 10^`exp` as an `i32`, or `None` when it does not fit (exp > 9).
pub const fn pow10(exp: u32) -> Option<i32> {
    let mut v: i32 = 1;
    let mut i = 0;
    while i < exp {
        v = match v.checked_mul(10) {
            Some(v) => v,
            None => return None,
        };
        i += 1;
    }
    Some(v)
}

/// Re-expresses `value` × 10^`from` in units of 10^`to`.
///
/// Going to a finer scale multiplies and fails on overflow; going to a coarser one divides and
/// rounds half away from zero, the rounding a person reading the number expects for either sign.
pub const fn rescale(value: i32, from: i8, to: i8) -> Option<i32> {
    let diff = from as i32 - to as i32;
    if diff >= 0 {
        match pow10(diff as u32) {
            Some(f) => value.checked_mul(f),
            None if value == 0 => Some(0),
            None => None,
        }
    } else {
        let Some(f) = pow10(diff.unsigned_abs()) else {
            // Dividing by more than 10^9 leaves nothing of an i32.
            return Some(0);
        };
        let q = value / f;
        let r = value % f;
        // |r| < f ≤ 10^9, so doubling cannot overflow as i64.
        if 2 * (r as i64).abs() >= f as i64 {
            Some(if value < 0 { q - 1 } else { q + 1 })
        } else {
            Some(q)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers() {
        assert_eq!(pow10(0), Some(1));
        assert_eq!(pow10(3), Some(1000));
        assert_eq!(pow10(9), Some(1_000_000_000));
        assert_eq!(pow10(10), None);
    }

    #[test]
    fn finer_scale_multiplies() {
        assert_eq!(rescale(42, 0, -3), Some(42_000));
        assert_eq!(rescale(-5, -1, -3), Some(-500));
        assert_eq!(rescale(3_000_000, 0, -3), None);
        assert_eq!(rescale(0, 9, -9), Some(0));
        assert_eq!(rescale(1, 9, -9), None);
    }

    #[test]
    fn coarser_scale_rounds_half_away_from_zero() {
        assert_eq!(rescale(42_499, -3, 0), Some(42));
        assert_eq!(rescale(42_500, -3, 0), Some(43));
        assert_eq!(rescale(-42_500, -3, 0), Some(-43));
        assert_eq!(rescale(-42_499, -3, 0), Some(-42));
        assert_eq!(rescale(i32::MAX, -3, 0), Some(2_147_484));
        assert_eq!(rescale(i32::MIN, -3, 0), Some(-2_147_484));
        assert_eq!(rescale(i32::MAX, -10, 0), Some(0));
        assert_eq!(rescale(7, 2, 2), Some(7));
    }
}
