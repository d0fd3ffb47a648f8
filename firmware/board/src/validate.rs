//! From the raw file to the monitor's tables. Checks run in file order and stop at the first
//! error, which always carries the line of the value at fault (or of the entry's `[[...]]`
//! header when the fault is the entry as a whole).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::ops::{Range, RangeInclusive};

use toml::Spanned;
use wsbmc_hal::devices::ChannelInfo;
use wsbmc_hal::{DeviceModel, Quantity};
use wsbmc_monitor::{PowerDomain, SensorDesc, SensorSource, Threshold, Thresholds};

use std::net::Ipv4Addr;

use crate::raw::{
    Decimal, RawAccounts, RawBoard, RawBus, RawDevice, RawInfo, RawLimits, RawLine, RawNetwork,
    RawPower, RawPowerLines, RawSel, RawSensor, RawSim, RawStore, RawThreshold,
};
use crate::{
    AccountSettings, Board, BoardError, BoardInfo, Bus, Device, GpioLine, Limits, Network,
    PowerLines, PowerTiming, SelOverflow, SelSettings, Sim, SimChannel, StoreLayout, threshold_key,
};

/// The IPMI sensor ID string is at most 16 bytes in a full SDR.
pub(crate) const MAX_NAME: usize = 16;
/// Faster than 100 ms starves the bus for nothing (sensors update at ~8 Hz at best); slower
/// than a minute makes a console's view too stale to act on.
pub(crate) const POLL_MS: Range<i64> = 100..60_001;
pub(crate) const DEFAULT_POLL_MS: u32 = 1000;
/// The BMC's own slave address, which is what a sensor owned by the BMC reports.
pub(crate) const DEFAULT_OWNER: u8 = 0x20;

pub struct Source<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl Source<'_> {
    pub fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub fn error_at_line(&self, line: usize, message: String) -> BoardError {
        BoardError {
            file: self.file.to_string(),
            line: Some(line),
            message,
        }
    }

    pub(crate) fn err(&self, span: Range<usize>, message: String) -> BoardError {
        self.error_at_line(self.line_of(span.start), message)
    }
}

pub(crate) fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

pub fn board(src: &Source<'_>, raw: RawBoard) -> Result<Board, BoardError> {
    let info = info(src, raw.board)?;
    let buses = buses(src, raw.bus)?;
    let devices = devices(src, &buses, raw.device)?;
    let mut sim = Sim {
        seed: raw.sim.map_or(0, |s| s.seed),
        channels: Vec::new(),
    };
    let sensors = sensors(src, &devices, raw.sensor, &mut sim.channels)?;
    let limits = limits(src, raw.limits.unwrap_or_default())?;
    let accounts = accounts(src, raw.accounts.unwrap_or_default())?;
    let sel = sel(src, raw.sel.unwrap_or_default())?;
    let power = raw.power.map(|p| power(src, p)).transpose()?;
    let (discrete, gpio_inputs) =
        crate::discrete::discrete(src, &devices, &sensors, power.as_ref(), raw.discrete)?;
    let network = raw.network.map(|n| network(src, n)).transpose()?;
    let store = raw.store.map(|s| store(src, s)).transpose()?;
    Ok(Board {
        info,
        buses,
        devices,
        sensors,
        discrete,
        gpio_inputs,
        sim,
        limits,
        accounts,
        sel,
        power,
        network,
        store,
    })
}

/// Largest MCU I2C controller index a board may name; the image's build checks its own chip.
const MAX_I2C_CONTROLLER: i64 = 15;

fn network(src: &Source<'_>, raw: Spanned<RawNetwork>) -> Result<Network, BoardError> {
    let raw = raw.into_inner();
    let a = &raw.address;
    let parsed = a.get_ref().split_once('/').and_then(|(ip, len)| {
        let ip: Ipv4Addr = ip.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|n| (1..=32).contains(n))?;
        Some((ip, len))
    });
    let Some((address, prefix_len)) = parsed else {
        return Err(src.err(
            a.span(),
            format!(
                "network: address {:?} is not an IPv4 address with a prefix length                  (a.b.c.d/1..32, e.g. \"10.0.2.15/24\")",
                a.get_ref()
            ),
        ));
    };
    let mask = u32::MAX << (32 - u32::from(prefix_len));
    let host = u32::from(address) & !mask;
    if address.is_unspecified() || address.is_broadcast() || address.is_multicast() {
        return Err(src.err(
            a.span(),
            format!("network: {address} cannot be the image's own address"),
        ));
    }
    // A /31 or /32 has no network or broadcast address; every other subnet has both.
    if prefix_len < 31 && (host == 0 || host == !mask) {
        return Err(src.err(
            a.span(),
            format!("network: {address}/{prefix_len} is the subnet's network or broadcast address"),
        ));
    }
    let gateway = match raw.gateway {
        None => None,
        Some(g) => {
            let Ok(gw) = g.get_ref().parse::<Ipv4Addr>() else {
                return Err(src.err(
                    g.span(),
                    format!("network: gateway {:?} is not an IPv4 address", g.get_ref()),
                ));
            };
            if u32::from(gw) & mask != u32::from(address) & mask || gw == address {
                return Err(src.err(
                    g.span(),
                    format!(
                        "network: gateway {gw} is not another host of {address}/{prefix_len}'s subnet"
                    ),
                ));
            }
            Some(gw)
        }
    };
    Ok(Network {
        address,
        prefix_len,
        gateway,
    })
}

fn store(src: &Source<'_>, raw: Spanned<RawStore>) -> Result<StoreLayout, BoardError> {
    let raw = raw.into_inner();
    let p = &raw.page_size;
    // The store keeps records of tens of bytes in pages; below 128 B a page holds too few to
    // pay for its header, above 64 KiB no NOR flash erases in one go.
    let page_size = u32::try_from(*p.get_ref())
        .ok()
        .filter(|n| n.is_power_of_two() && (128..=65_536).contains(n))
        .ok_or_else(|| {
            src.err(
                p.span(),
                format!(
                    "store: page-size = {} is not a power of two in 128..=65536",
                    p.get_ref()
                ),
            )
        })?;
    // Each region needs two spare pages to rotate through; the queue needs one more to hold
    // any record at all.
    let pages = |what: &str, v: &Spanned<i64>, min: u16| {
        u16::try_from(*v.get_ref())
            .ok()
            .filter(|n| (min..=1024).contains(n))
            .ok_or_else(|| {
                src.err(
                    v.span(),
                    format!("store: {what} = {} is outside {min}..=1024", v.get_ref()),
                )
            })
    };
    Ok(StoreLayout {
        page_size,
        map_pages: pages("map-pages", &raw.map_pages, 2)?,
        queue_pages: pages("queue-pages", &raw.queue_pages, 3)?,
    })
}

fn info(src: &Source<'_>, raw: Spanned<RawInfo>) -> Result<BoardInfo, BoardError> {
    let span = raw.span();
    let raw = raw.into_inner();
    let name = non_empty(src, "board name", raw.name)?;
    let bmc_name = non_empty(src, "bmc-name", raw.bmc_name)?;
    let system_guid = raw.system_guid.map(|g| guid(src, g)).transpose()?;
    let system_name = raw
        .system_name
        .map(|n| non_empty(src, "system-name", n))
        .transpose()?;
    let bios_version = raw
        .bios_version
        .map(|n| non_empty(src, "bios-version", n))
        .transpose()?;
    let bios_vendor = raw
        .bios_vendor
        .map(|n| non_empty(src, "bios-vendor", n))
        .transpose()?;
    if bios_vendor.is_some() && bios_version.is_none() {
        return Err(src.err(
            span,
            "[board] bios-vendor needs bios-version: the vendor describes that firmware".into(),
        ));
    }
    if system_guid.is_none() && system_name.is_none() {
        return Err(src.err(
            span,
            "[board] needs system-guid or system-name: the host's CIM SystemName comes from one"
                .into(),
        ));
    }
    Ok(BoardInfo {
        name,
        manufacturer: raw.manufacturer,
        product: raw.product,
        serial_number: raw.serial_number,
        system_guid,
        system_name,
        bmc_name,
        bios_version,
        bios_vendor,
    })
}

fn non_empty(src: &Source<'_>, what: &str, s: Spanned<String>) -> Result<String, BoardError> {
    if s.get_ref().trim().is_empty() {
        return Err(src.err(s.span(), format!("{what} must not be empty")));
    }
    Ok(s.into_inner())
}

fn guid(src: &Source<'_>, g: Spanned<String>) -> Result<String, BoardError> {
    let s = g.get_ref();
    let groups: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|p| p.len()).collect();
    let hex = groups
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()));
    if lens != [8, 4, 4, 4, 12] || !hex {
        return Err(src.err(
            g.span(),
            format!(
                "system-guid \"{s}\" is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex)"
            ),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

fn buses(src: &Source<'_>, raw: Vec<Spanned<RawBus>>) -> Result<Vec<Bus>, BoardError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for b in raw {
        let b = b.into_inner();
        let name = b.name.get_ref();
        if !is_key(name) {
            return Err(src.err(
                b.name.span(),
                format!("bus \"{name}\": name must match [a-z0-9_]+"),
            ));
        }
        let line = src.line_of(b.name.span().start);
        if let Some(first) = seen.insert(name.clone(), line) {
            return Err(src.err(
                b.name.span(),
                format!("bus \"{name}\": name already used on line {first}"),
            ));
        }
        let fail = |span: Range<usize>, msg: &str| src.err(span, format!("bus \"{name}\": {msg}"));
        let ipmi_dev = match b.ipmi_dev {
            Some(dev) if b.ipmb_dev.is_some() => {
                return Err(fail(
                    dev.span(),
                    "ipmi-dev and ipmb-dev are two routes to the same satellites; give one",
                ));
            }
            Some(dev) if !dev.get_ref().starts_with('/') => {
                return Err(fail(
                    dev.span(),
                    "ipmi-dev must be an absolute path (/dev/ipmiN)",
                ));
            }
            Some(dev) => Some(dev.into_inner()),
            None => None,
        };
        let ipmi_channel = match b.ipmi_channel {
            Some(ch) if ipmi_dev.is_none() => {
                return Err(fail(ch.span(), "ipmi-channel needs ipmi-dev"));
            }
            // IPMI 2.0 table 6-1: 0 is the primary IPMB, 1..=0xB are implementation-specific.
            Some(ch) => Some(
                u8::try_from(*ch.get_ref())
                    .ok()
                    .filter(|c| *c <= 0x0B)
                    .ok_or_else(|| {
                        fail(ch.span(), "ipmi-channel must be an IPMI channel 0..=11")
                    })?,
            ),
            None => None,
        };
        let i2c_controller = match b.i2c_controller {
            Some(c) => Some(
                u8::try_from(*c.get_ref())
                    .ok()
                    .filter(|n| i64::from(*n) <= MAX_I2C_CONTROLLER)
                    .ok_or_else(|| {
                        fail(
                            c.span(),
                            &format!("i2c-controller must be 0..={MAX_I2C_CONTROLLER}"),
                        )
                    })?,
            ),
            None => None,
        };
        if let Some(n) = i2c_controller
            && let Some(other) = out.iter().find(|o: &&Bus| o.i2c_controller == Some(n))
        {
            return Err(fail(
                b.name.span(),
                &format!("i2c-controller {n} is already bus \"{}\"", other.name),
            ));
        }
        out.push(Bus {
            name: b.name.into_inner(),
            description: b.description,
            linux_dev: b.linux_dev,
            ipmb_dev: b.ipmb_dev,
            ipmi_dev,
            ipmi_channel,
            i2c_controller,
        });
    }
    Ok(out)
}

fn devices(
    src: &Source<'_>,
    buses: &[Bus],
    raw: Vec<Spanned<RawDevice>>,
) -> Result<Vec<Device>, BoardError> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut addresses: HashMap<(u16, u8), String> = HashMap::new();
    // Buses whose ipmi-dev reaches exactly one controller (no ipmi-channel): its satellite.
    let mut direct: HashMap<u16, String> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for d in raw {
        let d = d.into_inner();
        let name = d.name.get_ref().clone();
        let fail =
            |span: Range<usize>, msg: String| src.err(span, format!("device \"{name}\": {msg}"));
        if !is_key(&name) {
            return Err(fail(d.name.span(), "name must match [a-z0-9_]+".into()));
        }
        if let Some(first) = names.insert(name.clone(), src.line_of(d.name.span().start)) {
            return Err(fail(
                d.name.span(),
                format!("name already used on line {first}"),
            ));
        }
        let model = DeviceModel::from_name(d.model.get_ref()).ok_or_else(|| {
            let known: Vec<&str> = DeviceModel::ALL.iter().map(|m| m.name()).collect();
            fail(
                d.model.span(),
                format!(
                    "unknown model \"{}\" (known: {})",
                    d.model.get_ref(),
                    known.join(", ")
                ),
            )
        })?;
        let bus = buses
            .iter()
            .position(|b| &b.name == d.bus.get_ref())
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| {
                let known: Vec<&str> = buses.iter().map(|b| b.name.as_str()).collect();
                fail(
                    d.bus.span(),
                    format!(
                        "unknown bus \"{}\" (buses: {})",
                        d.bus.get_ref(),
                        if known.is_empty() {
                            "none declared".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })?;
        let address = u8::try_from(*d.address.get_ref())
            .ok()
            .filter(|a| *a <= 0x7f)
            .ok_or_else(|| {
                fail(
                    d.address.span(),
                    format!(
                        "address {} is not a 7-bit I2C address (0x00..=0x7f)",
                        d.address.get_ref()
                    ),
                )
            })?;
        if let Some(other) = addresses.insert((bus, address), name.clone()) {
            return Err(fail(
                d.address.span(),
                format!(
                    "address {address:#04x} on bus \"{}\" is already used by device \"{other}\"",
                    d.bus.get_ref()
                ),
            ));
        }
        let on = buses.get(usize::from(bus));
        if model.is_satellite()
            && on.is_some_and(|b| b.ipmi_dev.is_some() && b.ipmi_channel.is_none())
            && let Some(other) = direct.insert(bus, name.clone())
        {
            return Err(fail(
                d.bus.span(),
                format!(
                    "bus \"{}\" reaches a single controller through ipmi-dev, and that is \"{other}\" \
                     (set ipmi-channel to bridge to several)",
                    d.bus.get_ref()
                ),
            ));
        }
        let sense_micro_ohms = d
            .rsense_micro_ohm
            .map(|r| sense_resistor(model, &r).map_err(|msg| fail(r.span(), msg)))
            .transpose()?;
        out.push(Device {
            name,
            description: d.description,
            model,
            bus,
            address,
            sense_micro_ohms,
        });
    }
    Ok(out)
}

/// `rsense-micro-ohm`, accepted only where a driver uses it: on any other part it would be
/// silently ignored, and a board author would believe the readings were scaled.
fn sense_resistor(model: DeviceModel, r: &Spanned<i64>) -> Result<NonZeroU32, String> {
    let Some(range) = model.sense_micro_ohms() else {
        let with: Vec<&str> = DeviceModel::ALL
            .iter()
            .filter(|m| m.sense_micro_ohms().is_some())
            .map(|m| m.name())
            .collect();
        return Err(format!(
            "rsense-micro-ohm applies only to an {}; a {} has no sense resistor",
            with.join(" or "),
            model.name()
        ));
    };
    u32::try_from(*r.get_ref())
        .ok()
        .filter(|v| range.contains(v))
        .and_then(NonZeroU32::new)
        .ok_or_else(|| {
            format!(
                "rsense-micro-ohm {} is outside {}..={} (µΩ: 300 is 0.3 mΩ)",
                r.get_ref(),
                range.start(),
                range.end()
            )
        })
}

/// Readable range when the board does not say: what the usual parts for each quantity can
/// physically report, so a console's gauge has sane ends.
fn default_readable(q: Quantity) -> (i32, i32) {
    match q {
        Quantity::Temperature => (-128_000, 127_000),
        Quantity::Voltage => (0, 60_000),
        Quantity::Current => (0, 100_000),
        Quantity::Power => (0, 2_000_000),
        Quantity::FanSpeed => (0, 30_000),
    }
}

/// The keys numeric and discrete sensors share: the poll period (within [`POLL_MS`]), the IPMI
/// sensor owner (a slave address byte) and LUN (0..=3), with their defaults. `fail` names the
/// sensor in the error, at the value's own line.
pub(crate) fn poll_owner_lun(
    poll_ms: &Option<Spanned<i64>>,
    owner: &Option<Spanned<i64>>,
    lun: &Option<Spanned<i64>>,
    fail: &dyn Fn(Range<usize>, String) -> BoardError,
) -> Result<(u32, u8, u8), BoardError> {
    let poll_ms = match poll_ms {
        None => DEFAULT_POLL_MS,
        Some(p) => u32::try_from(*p.get_ref())
            .ok()
            .filter(|v| POLL_MS.contains(&i64::from(*v)))
            .ok_or_else(|| {
                fail(
                    p.span(),
                    format!(
                        "poll-ms = {} is outside {}..={}",
                        p.get_ref(),
                        POLL_MS.start,
                        POLL_MS.end - 1
                    ),
                )
            })?,
    };
    let owner = match owner {
        None => DEFAULT_OWNER,
        Some(o) => u8::try_from(*o.get_ref())
            .map_err(|_| fail(o.span(), format!("owner {} is not a byte", o.get_ref())))?,
    };
    let lun = match lun {
        None => 0,
        Some(l) => u8::try_from(*l.get_ref())
            .ok()
            .filter(|l| *l <= 3)
            .ok_or_else(|| fail(l.span(), format!("lun {} is outside 0..=3", l.get_ref())))?,
    };
    Ok((poll_ms, owner, lun))
}

fn to_threshold(t: RawThreshold) -> Threshold {
    match t {
        RawThreshold::LowerNonCritical => Threshold::LowerNonCritical,
        RawThreshold::UpperNonCritical => Threshold::UpperNonCritical,
        RawThreshold::LowerCritical => Threshold::LowerCritical,
        RawThreshold::UpperCritical => Threshold::UpperCritical,
        RawThreshold::LowerFatal => Threshold::LowerFatal,
        RawThreshold::UpperFatal => Threshold::UpperFatal,
    }
}

fn sensors(
    src: &Source<'_>,
    devices: &[Device],
    raw: Vec<Spanned<RawSensor>>,
    sim: &mut Vec<SimChannel>,
) -> Result<Vec<SensorDesc>, BoardError> {
    let mut keys: HashMap<String, usize> = HashMap::new();
    // The name is the CIM ElementName a console lists sensors by: two alike are ambiguous.
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut numbers: HashMap<u8, String> = HashMap::new();
    let mut sources: HashMap<(u16, u8), String> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for s in raw {
        let s = s.into_inner();
        let key = s.key.get_ref().clone();
        let fail =
            |span: Range<usize>, msg: String| src.err(span, format!("sensor \"{key}\": {msg}"));

        if !is_key(&key) {
            return Err(fail(s.key.span(), "key must match [a-z0-9_]+".into()));
        }
        if let Some(first) = keys.insert(key.clone(), src.line_of(s.key.span().start)) {
            return Err(fail(
                s.key.span(),
                format!("key already used on line {first}"),
            ));
        }

        let name = s.name.get_ref();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(fail(
                s.name.span(),
                format!(
                    "name \"{name}\" must be 1 to {MAX_NAME} printable ASCII characters (IPMI sensor ID string)"
                ),
            ));
        }
        if let Some(first) = names.insert(name.clone(), src.line_of(s.name.span().start)) {
            return Err(fail(
                s.name.span(),
                format!("name \"{name}\" already used on line {first}"),
            ));
        }

        let number = u8::try_from(*s.number.get_ref())
            .ok()
            .filter(|n| *n != 0xff)
            .ok_or_else(|| {
                fail(
                    s.number.span(),
                    format!(
                        "number {} is out of range (0..=254; 255 is reserved by IPMI)",
                        s.number.get_ref()
                    ),
                )
            })?;
        let bmc = crate::discrete::BMC_NUMBERS;
        if bmc.contains(&number) {
            return Err(fail(
                s.number.span(),
                format!(
                    "number {number} is one of the BMC's own sensors ({}..={})",
                    bmc.start,
                    bmc.end - 1
                ),
            ));
        }
        if let Some(other) = numbers.insert(number, key.clone()) {
            return Err(fail(
                s.number.span(),
                format!("number {number} is already used by sensor \"{other}\""),
            ));
        }

        let (entity_id, entity_instance) = entity(s.entity.get_ref()).ok_or_else(|| {
            fail(
                s.entity.span(),
                format!(
                    "entity \"{}\" must be \"<id>.<instance>\" with both in 0..=255 (e.g. \"3.1\")",
                    s.entity.get_ref()
                ),
            )
        })?;

        let (device_index, device) = devices
            .iter()
            .enumerate()
            .find(|(_, d)| &d.name == s.device.get_ref())
            .ok_or_else(|| {
                fail(
                    s.device.span(),
                    format!("unknown device \"{}\"", s.device.get_ref()),
                )
            })?;
        let device_index = u16::try_from(device_index)
            .map_err(|_| fail(s.device.span(), "too many devices".into()))?;
        let model = device.model;
        let channel = sensor_channel(&s, model, &fail)?;
        let channel_span = s
            .channel
            .as_ref()
            .map(|c| c.span())
            .or_else(|| s.remote_sensor.as_ref().map(|r| r.span()))
            .unwrap_or_else(|| s.device.span());
        if let Some(other) = sources.insert((device_index, channel.channel), key.clone()) {
            return Err(fail(
                channel_span,
                format!(
                    "channel \"{}\" of device \"{}\" is already read by sensor \"{other}\"",
                    channel.name, device.name
                ),
            ));
        }
        let quantity = channel.quantity;
        let scale = quantity.native_scale();
        let unit = unit(quantity);

        let value = |what: &str, d: &Spanned<Decimal>| {
            d.get_ref().scaled(scale).ok_or_else(|| {
                fail(
                    d.span(),
                    format!(
                        "{what} = {} {unit} does not fit the sensor's range",
                        d.get_ref()
                    ),
                )
            })
        };
        let opt = |what: &str, d: &Option<Spanned<Decimal>>| {
            d.as_ref().map(|d| value(what, d)).transpose()
        };

        let spans = [
            (Threshold::LowerNonCritical, &s.lower_non_critical),
            (Threshold::UpperNonCritical, &s.upper_non_critical),
            (Threshold::LowerCritical, &s.lower_critical),
            (Threshold::UpperCritical, &s.upper_critical),
            (Threshold::LowerFatal, &s.lower_fatal),
            (Threshold::UpperFatal, &s.upper_fatal),
        ];
        let mut thresholds = Thresholds::default();
        for (t, d) in &spans {
            thresholds.set(*t, opt(threshold_key(*t), d)?);
        }
        if let Err(e) = thresholds.check_order() {
            let field = |t: Threshold| {
                spans
                    .iter()
                    .find(|(k, _)| *k == t)
                    .and_then(|(_, d)| d.as_ref())
            };
            let (Some(lo), Some(hi)) = (field(e.lower), field(e.higher)) else {
                return Err(fail(s.key.span(), "thresholds are out of order".into()));
            };
            let relation = if !e.lower.is_upper() && e.higher.is_upper() {
                "below"
            } else {
                "at most"
            };
            return Err(fail(
                hi.span(),
                format!(
                    "{} ({} {unit}) must be {relation} {} ({} {unit})",
                    threshold_key(e.lower),
                    lo.get_ref(),
                    threshold_key(e.higher),
                    hi.get_ref()
                ),
            ));
        }

        let hysteresis = match &s.hysteresis {
            None => 0,
            Some(h) => u32::try_from(value("hysteresis", h)?)
                .map_err(|_| fail(h.span(), "hysteresis must not be negative".into()))?,
        };

        let supported = thresholds.supported_mask();
        let settable = match &s.settable {
            // Windows lets consoles change only the non-critical pair; critical limits protect
            // the hardware and belong to whoever wrote the board file.
            None => {
                supported & (Threshold::LowerNonCritical.bit() | Threshold::UpperNonCritical.bit())
            }
            Some(list) => {
                let mut mask = 0;
                for t in list.get_ref().iter().copied().map(to_threshold) {
                    if supported & t.bit() == 0 {
                        return Err(fail(
                            list.span(),
                            format!(
                                "settable names {} but the sensor has no {} threshold",
                                threshold_key(t),
                                threshold_key(t)
                            ),
                        ));
                    }
                    mask |= t.bit();
                }
                mask
            }
        };

        let (default_min, default_max) = default_readable(quantity);
        let min_readable = opt("min-readable", &s.min_readable)?.unwrap_or(default_min);
        let max_readable = opt("max-readable", &s.max_readable)?.unwrap_or(default_max);
        if min_readable >= max_readable {
            let span = s
                .max_readable
                .as_ref()
                .or(s.min_readable.as_ref())
                .map_or_else(|| s.key.span(), |d| d.span());
            return Err(fail(
                span,
                format!(
                    "min-readable ({min_readable}) must be below max-readable ({max_readable}), in 10^{scale} {unit}"
                ),
            ));
        }
        let nominal = opt("nominal", &s.nominal)?;

        let (poll_ms, owner, lun) = poll_owner_lun(&s.poll_ms, &s.owner, &s.lun, &fail)?;

        if let Some(w) = &s.sim {
            let wave = sim_channel(w.get_ref(), scale).map_err(|m| fail(w.span(), m))?;
            sim.push(SimChannel {
                device: device_index,
                channel: channel.channel,
                ..wave
            });
        }

        out.push(SensorDesc {
            key: key.clone(),
            name: name.clone(),
            description: s.description,
            number,
            owner,
            lun,
            entity_id,
            entity_instance,
            quantity,
            scale,
            thresholds,
            default_thresholds: thresholds,
            settable,
            hysteresis,
            min_readable,
            max_readable,
            nominal,
            poll_ms,
            power: match s.power {
                None | Some(RawPower::Always) => PowerDomain::Always,
                Some(RawPower::HostOn) => PowerDomain::HostOn,
            },
            source: SensorSource {
                device: device_index,
                channel: channel.channel,
            },
        });
    }
    Ok(out)
}

/// Quantity names for `quantity`, as the satellite sensors of a board file spell them.
const QUANTITIES: &[(&str, Quantity)] = &[
    ("temperature", Quantity::Temperature),
    ("voltage", Quantity::Voltage),
    ("current", Quantity::Current),
    ("power", Quantity::Power),
    ("fan", Quantity::FanSpeed),
];

/// The channel a sensor reads: a named channel of an I2C part, or a satellite's sensor number
/// with the quantity the board declares for it. Each kind of device takes only its own keys,
/// so a sensor moved between kinds cannot keep a key that silently means nothing.
fn sensor_channel(
    s: &RawSensor,
    model: DeviceModel,
    fail: &dyn Fn(Range<usize>, String) -> BoardError,
) -> Result<ChannelInfo, BoardError> {
    if model.is_satellite() {
        if let Some(c) = &s.channel {
            return Err(fail(
                c.span(),
                "a sensor on an IPMB satellite names remote-sensor and quantity, not channel"
                    .into(),
            ));
        }
        let Some(number) = &s.remote_sensor else {
            return Err(fail(
                s.device.span(),
                "a sensor on an IPMB satellite needs remote-sensor (the satellite's sensor number)"
                    .into(),
            ));
        };
        let n = u8::try_from(*number.get_ref())
            .ok()
            .filter(|n| *n != 0xff)
            .ok_or_else(|| {
                fail(
                    number.span(),
                    format!(
                        "remote-sensor {} is out of range (0..=254)",
                        number.get_ref()
                    ),
                )
            })?;
        let Some(q) = &s.quantity else {
            return Err(fail(
                s.device.span(),
                "a sensor on an IPMB satellite needs quantity (temperature, voltage, current, power or fan)".into(),
            ));
        };
        let quantity = QUANTITIES
            .iter()
            .find(|(name, _)| name == q.get_ref())
            .map(|(_, q)| *q)
            .ok_or_else(|| {
                let names: Vec<&str> = QUANTITIES.iter().map(|(n, _)| *n).collect();
                fail(
                    q.span(),
                    format!(
                        "unknown quantity \"{}\" (quantities: {})",
                        q.get_ref(),
                        names.join(", ")
                    ),
                )
            })?;
        return Ok(ChannelInfo {
            name: "remote-sensor",
            channel: n,
            quantity,
        });
    }
    for (what, span) in [
        ("remote-sensor", s.remote_sensor.as_ref().map(|r| r.span())),
        ("quantity", s.quantity.as_ref().map(|q| q.span())),
    ] {
        if let Some(span) = span {
            return Err(fail(
                span,
                format!(
                    "{what} applies only to sensors on an IPMB satellite, and {} is not one",
                    model.name()
                ),
            ));
        }
    }
    let Some(c) = &s.channel else {
        return Err(fail(s.device.span(), "missing channel".into()));
    };
    model.channel(c.get_ref()).ok_or_else(|| {
        let names: Vec<&str> = model.channels().iter().map(|c| c.name).collect();
        fail(
            c.span(),
            if names.is_empty() {
                format!(
                    "{} has no sensor channels (it is storage, not a sensor)",
                    model.name()
                )
            } else {
                format!(
                    "channel \"{}\" does not exist on {} (channels: {})",
                    c.get_ref(),
                    model.name(),
                    names.join(", ")
                )
            },
        )
    })
}

fn sim_channel(w: &RawSim, scale: i8) -> Result<SimChannel, String> {
    let num = |what: &str, d: &Decimal| {
        d.scaled(scale)
            .ok_or_else(|| format!("sim {what} = {d} does not fit the sensor's range"))
    };
    let non_negative = |what: &str, d: &Option<Decimal>| match d {
        None => Ok(0),
        Some(d) => num(what, d).and_then(|v| {
            if v < 0 {
                Err(format!("sim {what} must not be negative"))
            } else {
                Ok(v)
            }
        }),
    };
    let period_ms = match &w.period_s {
        None => 60_000,
        Some(p) => p
            .scaled(-3)
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| format!("sim period-s = {p} must be a positive number of seconds"))?,
    };
    Ok(SimChannel {
        device: 0,
        channel: 0,
        base: num("base", &w.base)?,
        swing: non_negative("swing", &w.swing)?,
        period_ms,
        noise: non_negative("noise", &w.noise)?,
    })
}

pub(crate) fn entity(s: &str) -> Option<(u8, u8)> {
    let (id, instance) = s.split_once('.')?;
    let byte = |p: &str| {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            p.parse::<u8>().ok()
        }
    };
    Some((byte(id)?, byte(instance)?))
}

fn unit(q: Quantity) -> &'static str {
    match q {
        Quantity::Temperature => "°C",
        Quantity::Voltage => "V",
        Quantity::Current => "A",
        Quantity::Power => "W",
        Quantity::FanSpeed => "RPM",
    }
}

fn sel(src: &Source<'_>, raw: RawSel) -> Result<SelSettings, BoardError> {
    let mut sel = SelSettings::default();
    if let Some(c) = raw.capacity {
        // RecordIDs 0x0000 and 0xFFFF are reserved, so at most 65534 records are addressable.
        sel.capacity = match u16::try_from(*c.get_ref()) {
            Ok(n) if (1..=65_534).contains(&n) => n,
            _ => {
                return Err(src.err(c.span(), "sel: capacity must be between 1 and 65534".into()));
            }
        };
    }
    if let Some(o) = raw.overflow {
        sel.overflow = match o.get_ref().as_str() {
            "wrap" => SelOverflow::Wrap,
            "stop" => SelOverflow::Stop,
            other => {
                return Err(src.err(
                    o.span(),
                    format!("sel: overflow {other:?} is not one of \"wrap\", \"stop\""),
                ));
            }
        };
    }
    Ok(sel)
}

/// Smallest envelope a WS-Man service must be able to send and receive (DSP0226 sets 8192
/// octets as the minimum MaxEnvelopeSize); a request bound below it refuses every real client.
const MIN_ENVELOPE: u32 = 8192;
/// Largest request body: the body is buffered whole per connection, so this bounds the heap a
/// client can make the agent hold (32 times the 512 KiB default).
const MAX_REQUEST: u32 = 16 * 1024 * 1024;

/// Floor of `auth-timeout-ms` (and of the agent's `--auth-timeout-ms`).
pub const MIN_AUTH_TIMEOUT_MS: u32 = 500;

fn accounts(src: &Source<'_>, raw: RawAccounts) -> Result<AccountSettings, BoardError> {
    let get = |what: &str, v: Option<Spanned<u32>>, max: u32| match v {
        Some(v) if !(1..=max).contains(v.get_ref()) => Err(src.err(
            v.span(),
            format!("accounts: {what} = {} is outside 1..={max}", v.get_ref()),
        )),
        v => Ok(v.map(Spanned::into_inner)),
    };
    Ok(AccountSettings {
        // At most 100: fits the u8 the lockout rule keeps.
        lockout_threshold: get("lockout-threshold", raw.lockout_threshold, 100)?.map(|n| n as u8),
        lockout_window_s: get("lockout-window-s", raw.lockout_window_s, 86_400)?,
        lockout_duration_s: get("lockout-duration-s", raw.lockout_duration_s, 86_400)?,
    })
}

fn limits(src: &Source<'_>, raw: RawLimits) -> Result<Limits, BoardError> {
    let get = |what: &str, v: Option<Spanned<u32>>, range: RangeInclusive<u32>| match v {
        Some(v) if *v.get_ref() == 0 && *range.start() == 1 => {
            Err(src.err(v.span(), format!("limits: {what} must be positive")))
        }
        Some(v) if !range.contains(v.get_ref()) => Err(src.err(
            v.span(),
            format!(
                "limits: {what} = {} is outside {}..={}",
                v.get_ref(),
                range.start(),
                range.end()
            ),
        )),
        v => Ok(v.map(Spanned::into_inner)),
    };
    Ok(Limits {
        max_envelope_size: get(
            "max-envelope-size",
            raw.max_envelope_size,
            MIN_ENVELOPE..=MAX_REQUEST,
        )?,
        max_enum_contexts: get("max-enum-contexts", raw.max_enum_contexts, 1..=65_535)?,
        enum_context_idle_s: get("enum-context-idle-s", raw.enum_context_idle_s, 1..=86_400)?,
        max_request_size: get(
            "max-request-size",
            raw.max_request_size,
            MIN_ENVELOPE..=MAX_REQUEST,
        )?,
        max_connections: get("max-connections", raw.max_connections, 1..=65_535)?,
        max_connections_per_source: get(
            "max-connections-per-source",
            raw.max_connections_per_source,
            1..=65_535,
        )?,
        // Below half a second a client on a slow link could not finish a 401 round trip.
        auth_timeout_ms: get(
            "auth-timeout-ms",
            raw.auth_timeout_ms,
            MIN_AUTH_TIMEOUT_MS..=600_000,
        )?,
    })
}

/// A GPIO chip has at most 65536 lines (gpiolib counts them in a u16).
pub(crate) const MAX_LINE_OFFSET: i64 = 0xffff;
/// The kernel's GPIO_MAX_NAME_SIZE (32) includes the terminating NUL.
pub(crate) const MAX_LINE_NAME: usize = 31;
/// Shorter than this and a chipset's debounce may not see the press; the upper end stays far
/// from the 4 s hold that forces a host off.
const PRESS_MS: Range<i64> = 20..2_001;
/// How long a transition may take before power-good alone decides the state again.
const TRANSITION_MS: Range<i64> = 100..600_001;
/// A forced-off hold: most chipsets override at 4 s; the range leaves room for the ones that
/// differ (and for tests), while beyond 20 s the BMC would only keep consoles waiting.
const FORCE_OFF_MS: Range<i64> = 1_000..20_001;

fn power(src: &Source<'_>, raw: Spanned<RawPowerLines>) -> Result<PowerLines, BoardError> {
    let table = raw.span();
    let raw = raw.into_inner();
    let fail = |span: Range<usize>, msg: String| src.err(span, format!("power: {msg}"));
    let missing = |key: &str, why: &str| fail(table.clone(), format!("missing {key} ({why})"));

    let chip = raw.gpio_chip.ok_or_else(|| {
        missing(
            "gpio-chip",
            "a /dev/gpiochipN path, or the chip's name or label",
        )
    })?;
    let name = chip.get_ref();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(fail(
            chip.span(),
            format!("gpio-chip \"{name}\" must be a path or chip label without spaces"),
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(fail(
            chip.span(),
            format!(
                "gpio-chip \"{name}\" must be an absolute path (/dev/gpiochipN) or a chip label"
            ),
        ));
    }

    let button = raw.power_button.ok_or_else(|| {
        missing(
            "power-button",
            "the output line that presses the host's power button",
        )
    })?;
    let good = raw.power_good.ok_or_else(|| {
        missing(
            "power-good",
            "the input line that says the host's rails are up",
        )
    })?;
    let mut seen: Vec<(GpioLine, &str)> = Vec::new();
    let mut line = |key: &'static str, l: &Spanned<RawLine>| -> Result<GpioLine, BoardError> {
        let parsed = match l.get_ref() {
            RawLine::Offset(n) => u32::try_from(*n)
                .ok()
                .filter(|n| i64::from(*n) <= MAX_LINE_OFFSET)
                .map(GpioLine::Offset)
                .ok_or_else(|| {
                    fail(
                        l.span(),
                        format!("{key} = {n} is not a line offset (0..={MAX_LINE_OFFSET})"),
                    )
                })?,
            RawLine::Name(s) => {
                if s.is_empty()
                    || s.len() > MAX_LINE_NAME
                    || !s.bytes().all(|b| (0x20..0x7f).contains(&b))
                {
                    return Err(fail(
                        l.span(),
                        format!(
                            "{key} = \"{s}\" must be a line name of 1 to {MAX_LINE_NAME} printable ASCII characters"
                        ),
                    ));
                }
                GpioLine::Name(s.clone())
            }
        };
        if let Some((_, other)) = seen.iter().find(|(g, _)| *g == parsed) {
            return Err(fail(
                l.span(),
                format!("{key} is {parsed}, which {other} already uses"),
            ));
        }
        seen.push((parsed.clone(), key));
        Ok(parsed)
    };
    let power_button = line("power-button", &button)?;
    let reset_button = raw
        .reset_button
        .as_ref()
        .map(|l| line("reset-button", l))
        .transpose()?;
    let power_good = line("power-good", &good)?;

    let ms = |key: &str, v: &Option<Spanned<i64>>, range: Range<i64>, default: u32| match v {
        None => Ok(default),
        Some(v) => u32::try_from(*v.get_ref())
            .ok()
            .filter(|n| range.contains(&i64::from(*n)))
            .ok_or_else(|| {
                fail(
                    v.span(),
                    format!(
                        "{key} = {} is outside {}..={}",
                        v.get_ref(),
                        range.start,
                        range.end - 1
                    ),
                )
            }),
    };
    let d = PowerTiming::default();
    let press_ms = ms("press-ms", &raw.press_ms, PRESS_MS, d.press_ms)?;
    let timing = PowerTiming {
        press_ms,
        power_on_timeout_ms: ms(
            "power-on-timeout-ms",
            &raw.power_on_timeout_ms,
            TRANSITION_MS,
            d.power_on_timeout_ms,
        )?,
        soft_off_timeout_ms: ms(
            "soft-off-timeout-ms",
            &raw.soft_off_timeout_ms,
            TRANSITION_MS,
            d.soft_off_timeout_ms,
        )?,
        reset_ms: ms("reset-ms", &raw.reset_ms, TRANSITION_MS, d.reset_ms)?,
        force_off_ms: ms(
            "force-off-ms",
            &raw.force_off_ms,
            FORCE_OFF_MS,
            d.force_off_ms,
        )?,
    };
    if reset_button.is_none()
        && let Some(r) = &raw.reset_ms
    {
        return Err(fail(
            r.span(),
            "reset-ms applies only with a reset-button".into(),
        ));
    }
    // A transition that ends before the press does would report the old state mid-press, and
    // a forced off no longer than a press would be a soft off.
    for (key, v, value) in [
        (
            "power-on-timeout-ms",
            &raw.power_on_timeout_ms,
            timing.power_on_timeout_ms,
        ),
        (
            "soft-off-timeout-ms",
            &raw.soft_off_timeout_ms,
            timing.soft_off_timeout_ms,
        ),
        ("reset-ms", &raw.reset_ms, timing.reset_ms),
        ("force-off-ms", &raw.force_off_ms, timing.force_off_ms),
    ] {
        if value <= press_ms {
            let span = v
                .as_ref()
                .or(raw.press_ms.as_ref())
                .map_or_else(|| table.clone(), |s| s.span());
            return Err(fail(
                span,
                format!("{key} ({value}) must be longer than press-ms ({press_ms})"),
            ));
        }
    }
    Ok(PowerLines {
        gpio_chip: chip.into_inner(),
        power_button,
        reset_button,
        power_good,
        buttons_active_low: raw.buttons_active_low.unwrap_or(true),
        power_good_active_low: raw.power_good_active_low.unwrap_or(false),
        timing,
    })
}
