//! The board file exactly as written: serde structs that mirror the TOML, with spans kept on every
//! value a semantic check may reject, so the error can name its line. Nothing here is validated
//! beyond types; `validate` turns this into the monitor's tables.

use core::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawBoard {
    pub board: Spanned<RawInfo>,
    #[serde(default)]
    pub bus: Vec<Spanned<RawBus>>,
    #[serde(default)]
    pub device: Vec<Spanned<RawDevice>>,
    #[serde(default)]
    pub sensor: Vec<Spanned<RawSensor>>,
    #[serde(default)]
    pub discrete: Vec<Spanned<RawDiscrete>>,
    #[serde(default)]
    pub sim: Option<RawSimTop>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
    #[serde(default)]
    pub accounts: Option<RawAccounts>,
    #[serde(default)]
    pub sel: Option<RawSel>,
    #[serde(default)]
    pub power: Option<Spanned<RawPowerLines>>,
    #[serde(default)]
    pub network: Option<Spanned<RawNetwork>>,
    #[serde(default)]
    pub store: Option<Spanned<RawStore>>,
}

/// `[network]`: the management port's static IPv4 configuration, for images that configure it
/// themselves (the bare-metal image); the Linux images take theirs from the kernel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawNetwork {
    pub address: Spanned<String>,
    pub gateway: Option<Spanned<String>>,
}

/// `[store]`: the flash geometry of the settings map and the SEL queue, for images whose store
/// is sized at build time (the bare-metal image). Wider than the final types so an
/// out-of-range value gets our message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStore {
    pub page_size: Spanned<i64>,
    pub map_pages: Spanned<i64>,
    pub queue_pages: Spanned<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawInfo {
    pub name: Spanned<String>,
    pub manufacturer: String,
    pub product: String,
    pub serial_number: String,
    pub system_guid: Option<Spanned<String>>,
    pub system_name: Option<Spanned<String>>,
    pub bmc_name: Spanned<String>,
    pub bios_version: Option<Spanned<String>>,
    pub bios_vendor: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawBus {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub linux_dev: Option<String>,
    pub ipmb_dev: Option<String>,
    pub ipmi_dev: Option<Spanned<String>>,
    /// Wider than u8 so an out-of-range channel gets our message, not serde's.
    pub ipmi_channel: Option<Spanned<i64>>,
    /// The MCU's I2C controller this bus is wired to (bare-metal image).
    pub i2c_controller: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDevice {
    pub name: Spanned<String>,
    pub model: Spanned<String>,
    pub bus: Spanned<String>,
    /// Wider than u8 so an out-of-range address gets our message, not serde's.
    pub address: Spanned<i64>,
    #[serde(default)]
    pub description: String,
    /// ADM1272 only. Wider than u32 so a negative or huge value gets our message.
    pub rsense_micro_ohm: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawPower {
    Always,
    HostOn,
}

/// Threshold names as the board file spells them, for `settable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawThreshold {
    LowerNonCritical,
    UpperNonCritical,
    LowerCritical,
    UpperCritical,
    LowerFatal,
    UpperFatal,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSensor {
    pub key: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub number: Spanned<i64>,
    pub entity: Spanned<String>,
    pub device: Spanned<String>,
    /// For I2C parts: a channel of the model.
    pub channel: Option<Spanned<String>>,
    /// For IPMB satellites: the satellite's own sensor number.
    pub remote_sensor: Option<Spanned<i64>>,
    /// For IPMB satellites: what the remote sensor measures, which the board must know before
    /// the satellite's SDRs are read (units and thresholds are in the board file).
    pub quantity: Option<Spanned<String>>,
    #[serde(default)]
    pub power: Option<RawPower>,
    pub poll_ms: Option<Spanned<i64>>,
    pub lower_non_critical: Option<Spanned<Decimal>>,
    pub upper_non_critical: Option<Spanned<Decimal>>,
    pub lower_critical: Option<Spanned<Decimal>>,
    pub upper_critical: Option<Spanned<Decimal>>,
    pub lower_fatal: Option<Spanned<Decimal>>,
    pub upper_fatal: Option<Spanned<Decimal>>,
    pub hysteresis: Option<Spanned<Decimal>>,
    pub settable: Option<Spanned<Vec<RawThreshold>>>,
    pub min_readable: Option<Spanned<Decimal>>,
    pub max_readable: Option<Spanned<Decimal>>,
    pub nominal: Option<Spanned<Decimal>>,
    pub owner: Option<Spanned<i64>>,
    pub lun: Option<Spanned<i64>>,
    pub sim: Option<Spanned<RawSim>>,
}

/// `[[discrete]]`: a sensor whose reading is a set of states.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDiscrete {
    pub key: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub number: Spanned<i64>,
    pub entity: Spanned<String>,
    /// IPMI sensor type (table 42-3), e.g. 0x08 power supply.
    pub sensor_type: Spanned<i64>,
    /// IPMI event/reading type: 0x6F sensor-specific (default) or generic 0x02..=0x0C.
    pub reading_type: Option<Spanned<i64>>,
    /// A device with states (a PMBus power device, an IPMB satellite).
    pub device: Option<Spanned<String>>,
    /// With a satellite device: the satellite's sensor number.
    pub remote_sensor: Option<Spanned<i64>>,
    /// A GPIO input: line offset or name.
    pub gpio: Option<Spanned<RawLine>>,
    /// The GPIO chip of `gpio` (default: `[power] gpio-chip`).
    pub gpio_chip: Option<Spanned<String>>,
    pub active_low: Option<bool>,
    /// With `gpio`, simulated board only: the line starts active (a fitted CPU's presence).
    pub sim_active: Option<bool>,
    /// With `gpio`: the offset asserted while the line is active.
    pub offset: Option<Spanned<i64>>,
    /// Offsets the sensor can report (default: every offset its type defines, or `offset`).
    pub states: Option<Spanned<Vec<i64>>>,
    /// Offsets whose assertion / deassertion is logged (default: `states`).
    pub assert: Option<Spanned<Vec<i64>>>,
    pub deassert: Option<Spanned<Vec<i64>>>,
    #[serde(default)]
    pub power: Option<RawPower>,
    pub poll_ms: Option<Spanned<i64>>,
    pub owner: Option<Spanned<i64>>,
    pub lun: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSim {
    pub base: Decimal,
    pub swing: Option<Decimal>,
    pub period_s: Option<Decimal>,
    pub noise: Option<Decimal>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSimTop {
    #[serde(default)]
    pub seed: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSel {
    pub capacity: Option<Spanned<u32>>,
    pub overflow: Option<Spanned<String>>,
}

/// `[accounts]`: the lockout rule of the board's BMC.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAccounts {
    pub lockout_threshold: Option<Spanned<u32>>,
    pub lockout_window_s: Option<Spanned<u32>>,
    pub lockout_duration_s: Option<Spanned<u32>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    pub max_envelope_size: Option<Spanned<u32>>,
    pub max_enum_contexts: Option<Spanned<u32>>,
    pub enum_context_idle_s: Option<Spanned<u32>>,
    pub max_request_size: Option<Spanned<u32>>,
    pub max_connections: Option<Spanned<u32>>,
    pub max_connections_per_source: Option<Spanned<u32>>,
    pub auth_timeout_ms: Option<Spanned<u32>>,
}

/// `[power]`: the host's power lines on a GPIO chip. The required keys are `Option`s here only
/// so that a missing one gets a message naming the table rather than serde's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPowerLines {
    pub gpio_chip: Option<Spanned<String>>,
    pub power_button: Option<Spanned<RawLine>>,
    pub reset_button: Option<Spanned<RawLine>>,
    pub power_good: Option<Spanned<RawLine>>,
    pub buttons_active_low: Option<bool>,
    pub power_good_active_low: Option<bool>,
    pub press_ms: Option<Spanned<i64>>,
    pub power_on_timeout_ms: Option<Spanned<i64>>,
    pub soft_off_timeout_ms: Option<Spanned<i64>>,
    pub reset_ms: Option<Spanned<i64>>,
    pub force_off_ms: Option<Spanned<i64>>,
}

/// A GPIO line as the board file names it: an offset on the chip, or the line's name from the
/// device tree (`gpio-line-names`), which survives a pin-out change the offset would not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawLine {
    Offset(i64),
    Name(String),
}

impl<'de> Deserialize<'de> for RawLine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawLine;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a line offset (integer) or a line name (string)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawLine, E> {
                Ok(RawLine::Offset(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawLine, E> {
                Ok(RawLine::Offset(i64::try_from(v).unwrap_or(i64::MAX)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawLine, E> {
                Ok(RawLine::Name(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number from the board file kept as decimal text, so `12.6` V becomes exactly 12600 mV.
///
/// TOML hands floats over as f64; Rust prints an f64 as the shortest decimal that reads back to
/// the same f64, which is the literal the author wrote for any literal of up to 15 significant
/// digits. Scaling that text, instead of multiplying the f64, avoids 12.6 × 1000 = 12599.999….
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    pub(crate) fn from_text(text: &str) -> Self {
        Decimal(text.to_string())
    }

    /// The value in counts of 10^`scale`, rounded half away from zero; `None` if it does not fit
    /// an i32 or the scale is positive (no quantity has one).
    pub fn scaled(&self, scale: i8) -> Option<i32> {
        let k = usize::try_from(-i32::from(scale)).ok()?;
        let (neg, s) = match self.0.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, self.0.as_str()),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let kept = frac.bytes().chain(core::iter::repeat(b'0')).take(k);
        let mut n: i64 = 0;
        for c in int.bytes().chain(kept) {
            let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
            n = n.checked_mul(10)?.checked_add(i64::from(d))?;
        }
        // Half away from zero on the magnitude: the first dropped digit alone decides, because
        // a 5 followed by anything is at least half.
        if frac.as_bytes().get(k).is_some_and(|d| *d >= b'5') {
            n = n.checked_add(1)?;
        }
        i32::try_from(if neg { -n } else { n }).ok()
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Decimal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
                Ok(Decimal(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
                if v.is_finite() {
                    Ok(Decimal(format!("{v}")))
                } else {
                    Err(E::custom("expected a finite number, not nan or inf"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::Decimal;

    #[test]
    fn exact_scaling() {
        let f = |v: f64| Decimal(format!("{v}"));
        let cases: &[(Decimal, i8, Option<i32>)] = &[
            (f(12.6), -3, Some(12_600)),
            (f(0.1 + 0.2), -3, Some(300)),
            (f(95.0), -3, Some(95_000)),
            (f(-40.5), -3, Some(-40_500)),
            (f(1.0005), -3, Some(1_001)),
            (f(1.0004999), -3, Some(1_000)),
            (f(-1.0005), -3, Some(-1_001)),
            (f(-0.0004), -3, Some(0)),
            (f(2.5), 0, Some(3)),
            (f(-2.5), 0, Some(-3)),
            (Decimal("8000".into()), 0, Some(8_000)),
            (Decimal("-7".into()), -3, Some(-7_000)),
            (f(2_147_483.647), -3, Some(i32::MAX)),
            (f(2_147_483.648), -3, None),
            (f(-2_147_483.648), -3, Some(i32::MIN)),
            (f(1e300), -3, None),
            (f(1e-300), -3, Some(0)),
            (Decimal("1".into()), 1, None),
        ];
        for (d, scale, want) in cases {
            assert_eq!(d.scaled(*scale), *want, "{d} at 10^{scale}");
        }
    }
}
