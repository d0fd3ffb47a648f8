//! `[[discrete]]`: sensors whose reading is a set of states. Checked as strictly as the numeric
//! sensors (every error names its line): the type and reading type must be ones IPMI defines
//! offsets for, every offset listed must exist, and the source must be able to produce states.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use wsbmc_ipmi::discrete::{SENSOR_SPECIFIC, defined_mask, offsets};
use wsbmc_monitor::{DiscreteDesc, DiscreteSource, PowerDomain, SensorDesc};

use crate::raw::{RawDiscrete, RawLine, RawPower};
use crate::validate::{
    MAX_LINE_NAME, MAX_LINE_OFFSET, MAX_NAME, Source, entity, is_key, poll_owner_lun,
};
use crate::{BoardError, Device, GpioInput, GpioLine, PowerLines};

/// Sensor numbers of the BMC's own sensors (`wsbmc_sel::BmcSensors::default()`: system event,
/// power unit, SEL, session audit), which every board gets and no board sensor may take.
pub const BMC_NUMBERS: Range<u8> = 0x70..0x74;

/// Validates the `[[discrete]]` entries against the devices, the numeric sensors (keys and
/// numbers are one namespace) and the power lines (a line cannot be both).
pub fn discrete(
    src: &Source<'_>,
    devices: &[Device],
    numeric: &[SensorDesc],
    power: Option<&PowerLines>,
    raw: Vec<Spanned<RawDiscrete>>,
) -> Result<(Vec<DiscreteDesc>, Vec<GpioInput>), BoardError> {
    let mut keys: HashMap<String, String> = numeric
        .iter()
        .map(|s| (s.key.clone(), "a numeric sensor".to_string()))
        .collect();
    let mut numbers: HashMap<u8, String> =
        numeric.iter().map(|s| (s.number, s.key.clone())).collect();
    // Discrete sensors are CIM_Sensor instances too: their names share the numeric ones'
    // ElementName namespace.
    let mut names: HashMap<String, String> = numeric
        .iter()
        .map(|s| (s.name.clone(), format!("sensor \"{}\"", s.key)))
        .collect();
    let mut sources: HashMap<(u16, u8), String> = HashMap::new();
    let mut lines: Vec<GpioInput> = Vec::new();
    let mut out = Vec::with_capacity(raw.len());
    for d in raw {
        let span = d.span();
        let d = d.into_inner();
        let key = d.key.get_ref().clone();
        let fail =
            |span: Range<usize>, msg: String| src.err(span, format!("discrete \"{key}\": {msg}"));
        if !is_key(&key) {
            return Err(fail(d.key.span(), "key must match [a-z0-9_]+".into()));
        }
        let here = format!("line {}", src.line_of(d.key.span().start));
        if let Some(first) = keys.insert(key.clone(), here) {
            return Err(fail(d.key.span(), format!("key already used by {first}")));
        }
        let name = d.name.get_ref();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(fail(
                d.name.span(),
                format!(
                    "name \"{name}\" must be 1 to {MAX_NAME} printable ASCII characters (IPMI sensor ID string)"
                ),
            ));
        }
        if let Some(first) = names.insert(name.clone(), format!("discrete \"{key}\"")) {
            return Err(fail(
                d.name.span(),
                format!("name \"{name}\" is already used by {first}"),
            ));
        }
        let number = u8::try_from(*d.number.get_ref())
            .ok()
            .filter(|n| *n != 0xff)
            .ok_or_else(|| {
                fail(
                    d.number.span(),
                    format!(
                        "number {} is out of range (0..=254; 255 is reserved by IPMI)",
                        d.number.get_ref()
                    ),
                )
            })?;
        if BMC_NUMBERS.contains(&number) {
            return Err(fail(
                d.number.span(),
                format!(
                    "number {number} is one of the BMC's own sensors ({}..={})",
                    BMC_NUMBERS.start,
                    BMC_NUMBERS.end - 1
                ),
            ));
        }
        if let Some(other) = numbers.insert(number, key.clone()) {
            return Err(fail(
                d.number.span(),
                format!("number {number} is already used by sensor \"{other}\""),
            ));
        }
        let (entity_id, entity_instance) = entity(d.entity.get_ref()).ok_or_else(|| {
            fail(
                d.entity.span(),
                format!(
                    "entity \"{}\" must be \"<id>.<instance>\" with both in 0..=255 (e.g. \"10.1\")",
                    d.entity.get_ref()
                ),
            )
        })?;
        let sensor_type = u8::try_from(*d.sensor_type.get_ref()).map_err(|_| {
            fail(
                d.sensor_type.span(),
                format!("sensor-type {} is not a byte", d.sensor_type.get_ref()),
            )
        })?;
        let reading_type = match &d.reading_type {
            None => SENSOR_SPECIFIC,
            Some(r) => u8::try_from(*r.get_ref())
                .ok()
                .filter(|r| *r == SENSOR_SPECIFIC || (0x02..=0x0C).contains(r))
                .ok_or_else(|| {
                    fail(
                        r.span(),
                        format!(
                            "reading-type {:#x} is not a discrete one (0x6f sensor-specific, or generic 0x02..=0x0c; thresholds are [[sensor]])",
                            r.get_ref()
                        ),
                    )
                })?,
        };
        let defined = defined_mask(sensor_type, reading_type);
        if defined == 0 {
            return Err(fail(
                d.sensor_type.span(),
                format!(
                    "sensor-type {sensor_type:#04x} with reading-type {reading_type:#04x} has no states this firmware can name"
                ),
            ));
        }
        let mask = |what: &str, list: &Spanned<Vec<i64>>| -> Result<u16, BoardError> {
            let mut m = 0u16;
            for o in list.get_ref() {
                let bit = u8::try_from(*o)
                    .ok()
                    .filter(|o| *o < 15 && defined & (1 << o) != 0)
                    .ok_or_else(|| {
                        fail(
                            list.span(),
                            format!(
                                "{what} names offset {o}, which sensor-type {sensor_type:#04x} does not define (0..={})",
                                offsets(sensor_type, reading_type).len().min(15) - 1
                            ),
                        )
                    })?;
                m |= 1 << bit;
            }
            Ok(m)
        };

        let power_domain = match d.power {
            None | Some(RawPower::Always) => PowerDomain::Always,
            Some(RawPower::HostOn) => PowerDomain::HostOn,
        };
        let (source, source_states) = match (&d.device, &d.gpio) {
            (Some(_), Some(g)) => {
                return Err(fail(
                    g.span(),
                    "give one source: device or gpio, not both".into(),
                ));
            }
            (None, None) => {
                return Err(fail(
                    span,
                    "needs a source: device (a PMBus power device or IPMB satellite) or gpio"
                        .into(),
                ));
            }
            (Some(dev), None) => {
                for (k, present) in [
                    ("gpio-chip", d.gpio_chip.is_some()),
                    ("active-low", d.active_low.is_some()),
                    ("offset", d.offset.is_some()),
                    ("sim-active", d.sim_active.is_some()),
                ] {
                    if present {
                        return Err(fail(
                            dev.span(),
                            format!("{k} applies to a gpio source only"),
                        ));
                    }
                }
                let (index, device) = devices
                    .iter()
                    .enumerate()
                    .find(|(_, x)| &x.name == dev.get_ref())
                    .ok_or_else(|| {
                        fail(dev.span(), format!("unknown device \"{}\"", dev.get_ref()))
                    })?;
                let index = u16::try_from(index)
                    .map_err(|_| fail(dev.span(), "too many devices".into()))?;
                if !device.model.has_states() {
                    return Err(fail(
                        dev.span(),
                        format!(
                            "device \"{}\" is a {}, which has no states (adm1272 and ipmb-satellite do)",
                            device.name,
                            device.model.name()
                        ),
                    ));
                }
                let channel = if device.model.is_satellite() {
                    let r = d.remote_sensor.as_ref().ok_or_else(|| {
                        fail(
                            dev.span(),
                            "a sensor on an IPMB satellite needs remote-sensor".into(),
                        )
                    })?;
                    u8::try_from(*r.get_ref())
                        .ok()
                        .filter(|n| *n != 0xff)
                        .ok_or_else(|| {
                            fail(
                                r.span(),
                                format!("remote-sensor {} is out of range (0..=254)", r.get_ref()),
                            )
                        })?
                } else {
                    if let Some(r) = &d.remote_sensor {
                        return Err(fail(
                            r.span(),
                            "remote-sensor applies to an IPMB satellite only".into(),
                        ));
                    }
                    if (sensor_type, reading_type) != (0x08, SENSOR_SPECIFIC) {
                        return Err(fail(
                            d.sensor_type.span(),
                            "a PMBus status reads as a power supply: sensor-type 0x08, reading-type 0x6f"
                                .into(),
                        ));
                    }
                    0
                };
                if let Some(other) = sources.insert((index, channel), key.clone()) {
                    return Err(fail(
                        dev.span(),
                        format!(
                            "the states of \"{}\" are already read by \"{other}\"",
                            device.name
                        ),
                    ));
                }
                // A PMBus status tells presence, failure, predictive failure and input lost.
                let states = if device.model.is_satellite() {
                    defined
                } else {
                    0x0F
                };
                (
                    DiscreteSource::Device {
                        device: index,
                        channel,
                    },
                    states,
                )
            }
            (None, Some(g)) => {
                if let Some(r) = &d.remote_sensor {
                    return Err(fail(
                        r.span(),
                        "remote-sensor applies to a satellite only".into(),
                    ));
                }
                let line = gpio_line(g).map_err(|m| fail(g.span(), m))?;
                let chip = d
                    .gpio_chip
                    .as_ref()
                    .map(|c| c.get_ref().clone())
                    .or_else(|| power.map(|p| p.gpio_chip.clone()));
                if let Some(p) = power
                    && chip.as_deref() == Some(p.gpio_chip.as_str())
                {
                    let used = [
                        Some(&p.power_button),
                        p.reset_button.as_ref(),
                        Some(&p.power_good),
                    ];
                    if used.iter().flatten().any(|l| **l == line) {
                        return Err(fail(
                            g.span(),
                            format!("gpio {line} is one of the [power] lines"),
                        ));
                    }
                }
                let Some(offset) = &d.offset else {
                    return Err(fail(
                        g.span(),
                        "a gpio source needs offset (the state asserted while the line is active)"
                            .into(),
                    ));
                };
                let bit = u8::try_from(*offset.get_ref())
                    .ok()
                    .filter(|o| *o < 15 && defined & (1 << o) != 0)
                    .ok_or_else(|| {
                        fail(
                            offset.span(),
                            format!(
                                "offset {} is not a state sensor-type {sensor_type:#04x} defines",
                                offset.get_ref()
                            ),
                        )
                    })?;
                let active_low = d.active_low.unwrap_or(false);
                let sim_level = d.sim_active.unwrap_or(false) != active_low;
                let input = GpioInput {
                    chip,
                    line,
                    sim_level,
                };
                let index = match lines
                    .iter()
                    .position(|l| l.chip == input.chip && l.line == input.line)
                {
                    Some(i) => i,
                    None => {
                        lines.push(input);
                        lines.len() - 1
                    }
                };
                let line = u16::try_from(index)
                    .map_err(|_| fail(g.span(), "too many gpio lines".into()))?;
                (
                    DiscreteSource::Gpio {
                        line,
                        offset: bit,
                        active_low,
                    },
                    1u16 << bit,
                )
            }
        };

        let readable = match &d.states {
            None => source_states,
            Some(list) => {
                let m = mask("states", list)?;
                if m & !source_states != 0 {
                    return Err(fail(
                        list.span(),
                        format!(
                            "states lists offsets this source cannot report (it reports mask {source_states:#06x})"
                        ),
                    ));
                }
                m
            }
        };
        let subset = |what: &str, list: &Option<Spanned<Vec<i64>>>| -> Result<u16, BoardError> {
            match list {
                None => Ok(readable),
                Some(l) => {
                    let m = mask(what, l)?;
                    if m & !readable != 0 {
                        return Err(fail(
                            l.span(),
                            format!("{what} names an offset that is not in states"),
                        ));
                    }
                    Ok(m)
                }
            }
        };
        let assertion_mask = subset("assert", &d.assert)?;
        let deassertion_mask = subset("deassert", &d.deassert)?;

        let (poll_ms, owner, lun) = poll_owner_lun(&d.poll_ms, &d.owner, &d.lun, &fail)?;
        out.push(DiscreteDesc {
            key: key.clone(),
            name: name.clone(),
            description: d.description,
            number,
            owner,
            lun,
            entity_id,
            entity_instance,
            sensor_type,
            reading_type,
            readable,
            assertion_mask,
            deassertion_mask,
            poll_ms,
            power: power_domain,
            source,
        });
    }
    Ok((out, lines))
}

fn gpio_line(l: &Spanned<RawLine>) -> Result<GpioLine, String> {
    match l.get_ref() {
        RawLine::Offset(n) => u32::try_from(*n)
            .ok()
            .filter(|n| i64::from(*n) <= MAX_LINE_OFFSET)
            .map(GpioLine::Offset)
            .ok_or_else(|| format!("gpio = {n} is not a line offset (0..={MAX_LINE_OFFSET})")),
        RawLine::Name(s) => {
            if s.is_empty()
                || s.len() > MAX_LINE_NAME
                || !s.bytes().all(|b| (0x21..0x7f).contains(&b))
            {
                Err(format!(
                    "gpio = \"{s}\" must be a line name of 1 to {MAX_LINE_NAME} printable ASCII characters without spaces"
                ))
            } else {
                Ok(GpioLine::Name(s.clone()))
            }
        }
    }
}
