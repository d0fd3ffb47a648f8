//! Conversion property tests against a plain f64 evaluation of the IPMI formula.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use proptest::prelude::*;
use wsbmc_ipmi::convert::*;

fn decode(format: AnalogFormat, raw: u8) -> f64 {
    match format {
        AnalogFormat::Unsigned => f64::from(raw),
        AnalogFormat::TwosComplement => f64::from(raw as i8),
        // Ones' complement by its definition: negative numbers are the bitwise inverse.
        AnalogFormat::OnesComplement if raw & 0x80 != 0 => -f64::from(!raw),
        AnalogFormat::OnesComplement => f64::from(raw),
        AnalogFormat::NoReading => f64::NAN,
    }
}

fn reference(f: &Factors, raw: u8) -> f64 {
    let x = decode(f.format, raw);
    let lin = (f64::from(f.m) * x + f64::from(f.b) * 10f64.powi(f.b_exp.into()))
        * 10f64.powi(f.r_exp.into());
    match f.linearization.0 {
        0 => lin,
        1 => lin.ln(),
        2 => lin.log10(),
        3 => lin.log2(),
        4 => lin.exp(),
        5 => 10f64.powf(lin),
        6 => lin.exp2(),
        7 => 1.0 / lin,
        8 => lin * lin,
        9 => lin * lin * lin,
        10 => lin.sqrt(),
        11 => lin.cbrt(),
        _ => f64::NAN,
    }
}

fn linear_factors() -> impl Strategy<Value = Factors> {
    numeric_format().prop_flat_map(factors).prop_map(|mut f| {
        f.linearization = Linearization::LINEAR;
        f
    })
}

fn nonlinear_factors() -> impl Strategy<Value = Factors> {
    (numeric_format(), 1u8..=11)
        .prop_flat_map(|(fmt, l)| (factors(fmt), Just(l)))
        .prop_map(|(mut f, l)| {
            f.linearization = Linearization(l);
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn linear_matches_f64(f in linear_factors(), extra in -9i8..=9, raw in any::<u8>()) {
        let c = Conversion::new(f, extra).unwrap();
        let v = c.value(raw).unwrap();
        // In the IPMI unit: v · 10^(u - extra).
        let ours = f64::from(v) * 10f64.powi(c.unit_modifier() - i32::from(extra));
        let want = reference(&f, raw);
        let step = 10f64.powi(c.unit_modifier() - i32::from(extra));
        let tol = if c.is_exact() { 1e-9 * want.abs().max(step) } else { 0.5 * step * (1.0 + 1e-9) + 1e-12 * want.abs() };
        prop_assert!((ours - want).abs() <= tol, "{ours} vs {want} (u={}, exact={})", c.unit_modifier(), c.is_exact());
        // Exact conversions use u = Rexp + min(0, Bexp) + extra.
        if c.is_exact() {
            prop_assert_eq!(c.unit_modifier(), i32::from(f.r_exp) + i32::from(f.b_exp.min(0)) + i32::from(extra));
        }
    }

    #[test]
    fn linear_inverse_finds_the_byte(f in linear_factors(), raw in any::<u8>()) {
        let c = Conversion::new(f, 0).unwrap();
        let v = c.value(raw).unwrap();
        if f.m == 0 {
            prop_assert_eq!(c.raw(v), Err(ConvError::ZeroM));
        } else {
            let back = c.raw(v).unwrap();
            prop_assert_eq!(c.value(back), Ok(v));
        }
    }

    #[test]
    fn nonlinear_matches_f64(f in nonlinear_factors(), raw in any::<u8>()) {
        let c = Conversion::new(f, 0).unwrap();
        prop_assert!(!c.is_linear());
        let want = reference(&f, raw);
        match c.value(raw) {
            Ok(v) => {
                let step = 10f64.powi(c.unit_modifier());
                let ours = f64::from(v) * step;
                prop_assert!(want.is_finite());
                prop_assert!((ours - want).abs() <= 0.5 * step * (1.0 + 1e-9) + 1e-12 * want.abs(),
                    "{ours} vs {want} (u={})", c.unit_modifier());
            }
            Err(e) => {
                prop_assert_eq!(e, ConvError::Domain);
                prop_assert!(!want.is_finite(), "{want} refused");
            }
        }
    }

    #[test]
    fn hysteresis_and_resolution(f in linear_factors(), h in any::<u8>()) {
        let c = Conversion::new(f, 0).unwrap();
        if c.is_exact() {
            let res = c.resolution().unwrap();
            prop_assert_eq!(u64::from(res), u64::from(f.m.unsigned_abs()) * 10u64.pow(u32::from((-f.b_exp.min(0)) as u8)));
            prop_assert_eq!(c.hysteresis(h).map(u64::from), u64::from(res).checked_mul(u64::from(h)).filter(|&v| v <= u64::from(u32::MAX)));
        }
    }
}
