//! The threshold engine: pure functions over integers, so the same code decides alarms on every
//! image and the tests need no clock and no bus.

use crate::{Threshold, Thresholds};

/// The chain a console and the board file must respect, from lowest to highest. IPMI requires it
/// so that "at or below LC" implies "at or below LNC"; a console that breaks it would get alarms
/// that contradict each other.
const ORDER: [Threshold; 6] = [
    Threshold::LowerFatal,
    Threshold::LowerCritical,
    Threshold::LowerNonCritical,
    Threshold::UpperNonCritical,
    Threshold::UpperCritical,
    Threshold::UpperFatal,
];

/// Two thresholds whose values are out of order: `lower` must be below (or, on the same side,
/// at most) `higher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderError {
    pub lower: Threshold,
    pub higher: Threshold,
}

impl Thresholds {
    /// Checks LNR ≤ LC ≤ LNC < UNC ≤ UC ≤ UNR over the thresholds that are present. Equal values
    /// are allowed on one side (a board may collapse critical into fatal) but never across the
    /// normal band, which would leave no value that reads Normal.
    pub fn check_order(&self) -> Result<(), OrderError> {
        for (i, lower) in ORDER.iter().enumerate() {
            let Some(lv) = self.get(*lower) else { continue };
            for higher in &ORDER[i + 1..] {
                let Some(hv) = self.get(*higher) else {
                    continue;
                };
                let across = !lower.is_upper() && higher.is_upper();
                if lv > hv || (across && lv == hv) {
                    return Err(OrderError {
                        lower: *lower,
                        higher: *higher,
                    });
                }
            }
        }
        Ok(())
    }
}

/// One Schmitt trigger per threshold: assert at or beyond the threshold, deassert only once the
/// value is back by more than `hysteresis`, so a reading that hovers at the limit produces one
/// SEL entry rather than one per poll.
pub fn evaluate(thresholds: &Thresholds, hysteresis: u32, asserted: u8, value: i32) -> u8 {
    let v = i64::from(value);
    let h = i64::from(hysteresis);
    Threshold::ALL.iter().fold(0, |mask, t| {
        let Some(limit) = thresholds.get(*t) else {
            return mask;
        };
        let limit = i64::from(limit);
        let was = asserted & t.bit() != 0;
        let now = if t.is_upper() {
            if was { v >= limit - h } else { v >= limit }
        } else if was {
            v <= limit + h
        } else {
            v <= limit
        };
        if now { mask | t.bit() } else { mask }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> Thresholds {
        Thresholds {
            lower_non_critical: Some(5_000),
            upper_non_critical: Some(85_000),
            lower_critical: Some(0),
            upper_critical: Some(95_000),
            lower_fatal: None,
            upper_fatal: Some(105_000),
        }
    }

    const UNC: u8 = Threshold::UpperNonCritical.bit();
    const UC: u8 = Threshold::UpperCritical.bit();
    const UNR: u8 = Threshold::UpperFatal.bit();
    const LNC: u8 = Threshold::LowerNonCritical.bit();
    const LC: u8 = Threshold::LowerCritical.bit();

    #[test]
    fn schmitt_table() {
        // (previously asserted, value, expected) with hysteresis 2 °C.
        let cases: &[(u8, i32, u8)] = &[
            (0, 50_000, 0),
            (0, 84_999, 0),
            (0, 85_000, UNC),
            (UNC, 84_000, UNC),
            (UNC, 83_000, UNC),
            (UNC, 82_999, 0),
            (0, 95_000, UNC | UC),
            (UNC | UC, 93_500, UNC | UC),
            (UNC | UC, 92_999, UNC),
            (0, 200_000, UNC | UC | UNR),
            (UNC | UC | UNR, 103_001, UNC | UC | UNR),
            (UNC | UC | UNR, 102_999, UNC | UC),
            (0, 5_000, LNC),
            (0, 5_001, 0),
            (LNC, 7_000, LNC),
            (LNC, 7_001, 0),
            (0, -1, LNC | LC),
            (LNC | LC, 2_000, LNC | LC),
            (LNC | LC, 2_001, LNC),
            // Bits for thresholds the sensor does not have never survive.
            (Threshold::LowerFatal.bit(), 50_000, 0),
        ];
        for (i, (was, v, want)) in cases.iter().enumerate() {
            assert_eq!(
                evaluate(&temp(), 2_000, *was, *v),
                *want,
                "case {i}: was {was:#08b} value {v}"
            );
        }
    }

    #[test]
    fn extremes_do_not_overflow() {
        let t = Thresholds {
            upper_non_critical: Some(i32::MIN),
            lower_non_critical: Some(i32::MAX),
            ..Thresholds::default()
        };
        assert_eq!(evaluate(&t, u32::MAX, UNC | LNC, i32::MIN), UNC | LNC);
        assert_eq!(evaluate(&t, 0, 0, i32::MAX), UNC | LNC);
    }

    #[test]
    fn order_table() {
        use Threshold::*;
        let t = |pairs: &[(Threshold, i32)]| {
            let mut t = Thresholds::default();
            for (k, v) in pairs {
                t.set(*k, Some(*v));
            }
            t
        };
        type Case<'a> = (&'a [(Threshold, i32)], Result<(), (Threshold, Threshold)>);
        let cases: &[Case] = &[
            (&[], Ok(())),
            (&[(UpperCritical, 1)], Ok(())),
            (
                &[(LowerFatal, 1), (LowerCritical, 1), (LowerNonCritical, 1)],
                Ok(()),
            ),
            (
                &[(UpperNonCritical, 9), (UpperCritical, 9), (UpperFatal, 9)],
                Ok(()),
            ),
            (
                &[(LowerNonCritical, 9), (UpperNonCritical, 9)],
                Err((LowerNonCritical, UpperNonCritical)),
            ),
            (
                &[(LowerFatal, 9), (UpperFatal, 9)],
                Err((LowerFatal, UpperFatal)),
            ),
            (
                &[(LowerCritical, 10), (UpperFatal, 5)],
                Err((LowerCritical, UpperFatal)),
            ),
            (
                &[(UpperNonCritical, 10), (UpperCritical, 9)],
                Err((UpperNonCritical, UpperCritical)),
            ),
            (
                &[(LowerCritical, 10), (LowerNonCritical, 9)],
                Err((LowerCritical, LowerNonCritical)),
            ),
            (&[(LowerNonCritical, 1), (UpperNonCritical, 2)], Ok(())),
        ];
        for (i, (pairs, want)) in cases.iter().enumerate() {
            let got = t(pairs).check_order().map_err(|e| (e.lower, e.higher));
            assert_eq!(got, *want, "case {i}");
        }
    }
}
