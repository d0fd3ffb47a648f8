//! Board description files.
//!
//! A board is data: `boards/<name>/board.toml` lists buses, devices, sensors and thresholds, and
//! this crate turns it into the monitor's sensor table. Parsing is strict (unknown keys are
//! errors) because a typo in a threshold name would otherwise silently leave a sensor without
//! an alarm. Every error names the file and line, so a board author never has to bisect the
//! file. Human units in the file (°C, V, A, W, RPM) are converted exactly to the integer native
//! scale of the sensor's quantity; no float survives the load. See `boards/README.md` for the
//! schema.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;

use wsbmc_hal::DeviceModel;
use wsbmc_monitor::{DiscreteDesc, SensorDesc, Threshold};

mod discrete;
pub mod emit;
mod raw;
mod validate;

pub use validate::MIN_AUTH_TIMEOUT_MS;

#[cfg(test)]
mod tests;

/// A validated board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    pub info: BoardInfo,
    pub buses: Vec<Bus>,
    /// Indexed by [`wsbmc_monitor::SensorSource::device`].
    pub devices: Vec<Device>,
    /// In file order; the index is the [`wsbmc_monitor::SensorId`].
    pub sensors: Vec<SensorDesc>,
    /// `[[discrete]]` in file order; the index is the [`wsbmc_monitor::DiscreteId`]. The BMC's
    /// own discrete sensors are not here: the agent adds them on every board.
    pub discrete: Vec<DiscreteDesc>,
    /// GPIO inputs the discrete sensors read, indexed by
    /// [`wsbmc_monitor::DiscreteSource::Gpio`]'s `line`; one entry per distinct (chip, line).
    pub gpio_inputs: Vec<GpioInput>,
    pub sim: Sim,
    pub limits: Limits,
    /// `[accounts]`: the lockout rule (the Linux images; flags override it).
    pub accounts: AccountSettings,
    pub sel: SelSettings,
    /// The host's power lines; `None` on a board whose BMC cannot switch the host.
    pub power: Option<PowerLines>,
    /// `[network]`: the static IPv4 configuration of an image that sets its own (bare metal).
    pub network: Option<Network>,
    /// `[store]`: the store's flash geometry for an image that fixes it at build time.
    pub store: Option<StoreLayout>,
}

/// The management port's static IPv4 configuration. Only the bare-metal image applies it (its
/// build requires it); the Linux images leave networking to the kernel and ignore it, after the
/// same validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    pub address: std::net::Ipv4Addr,
    /// The network mask as a prefix length, 1..=32.
    pub prefix_len: u8,
    /// Inside the address's subnet.
    pub gateway: Option<std::net::Ipv4Addr>,
}

/// The store's flash: page size and the pages of the settings map and of the SEL queue. Only an
/// image that sizes its store at build time uses it (bare metal, whose store is a RAM region);
/// the Linux images size their file-backed store themselves and ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLayout {
    /// Bytes, a power of two.
    pub page_size: u32,
    pub map_pages: u16,
    pub queue_pages: u16,
}

/// `[power]`: where the host's power button, reset button and power-good signal are wired, and
/// how long the BMC presses. Only the embedded-Linux image drives these (GPIO character device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerLines {
    /// A device path (`/dev/gpiochip0`), or the chip's name or label (`gpiochip0`,
    /// `1e780000.gpio`): chip numbering follows probe order, the label does not.
    pub gpio_chip: String,
    pub power_button: GpioLine,
    pub reset_button: Option<GpioLine>,
    pub power_good: GpioLine,
    /// Buttons are usually open-drain and pulled up, so pressed is low.
    pub buttons_active_low: bool,
    pub power_good_active_low: bool,
    pub timing: PowerTiming,
}

/// A GPIO input line a discrete sensor reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioInput {
    /// The chip (as [`PowerLines::gpio_chip`]); `None` when neither the sensor nor `[power]`
    /// names one, which only the simulated board can serve.
    pub chip: Option<String>,
    pub line: GpioLine,
    /// The level the simulated board starts the line at: the sensor's inactive level unless
    /// the file says `sim-active = true`.
    pub sim_level: bool,
}

impl GpioInput {
    /// The name the simulated board and `wsbmc sim gpio` know the line by.
    pub fn sim_name(&self) -> String {
        match &self.line {
            GpioLine::Name(n) => n.clone(),
            GpioLine::Offset(n) => format!("line{n}"),
        }
    }
}

/// A GPIO line: its offset on the chip, or its name in the device tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GpioLine {
    Offset(u32),
    Name(String),
}

impl fmt::Display for GpioLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpioLine::Offset(n) => write!(f, "line {n}"),
            GpioLine::Name(s) => write!(f, "line \"{s}\""),
        }
    }
}

/// How long the BMC holds a button, and how long a transition may take before power-good alone
/// decides the state again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerTiming {
    pub press_ms: u32,
    pub power_on_timeout_ms: u32,
    pub soft_off_timeout_ms: u32,
    /// How long the host counts as resetting after a reset press (power-good does not drop).
    pub reset_ms: u32,
    /// How long a forced off holds the power button: past the chipset's override (4 s on most),
    /// with margin for one that counts slowly or starts late.
    pub force_off_ms: u32,
}

impl Default for PowerTiming {
    fn default() -> Self {
        PowerTiming {
            press_ms: 200,
            power_on_timeout_ms: 10_000,
            soft_off_timeout_ms: 60_000,
            reset_ms: 1_000,
            force_off_ms: 6_000,
        }
    }
}

/// The System Event Log's size and what happens when it is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelSettings {
    /// Records kept; the store must be able to guarantee them (the agent checks at mount).
    pub capacity: u16,
    pub overflow: SelOverflow,
}

/// CIM OverwritePolicy of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelOverflow {
    /// Overwrite the oldest record: a full log keeps logging what happens now, which is what
    /// operators reading a log after an incident need most.
    Wrap,
    /// Refuse new records and raise the overflow flag (the classic IPMI behaviour).
    Stop,
}

impl Default for SelSettings {
    fn default() -> Self {
        Self {
            capacity: 512,
            overflow: SelOverflow::Wrap,
        }
    }
}

/// Identity of the board and the host it manages, for the CIM system instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardInfo {
    pub name: String,
    pub manufacturer: String,
    pub product: String,
    pub serial_number: String,
    /// Canonical lower-case 8-4-4-4-12 form.
    pub system_guid: Option<String>,
    pub system_name: Option<String>,
    pub bmc_name: String,
    /// The host's BIOS version, for the software inventory, when the board file states it.
    pub bios_version: Option<String>,
    pub bios_vendor: Option<String>,
}

impl BoardInfo {
    /// The host's CIM SystemName. The host name wins when the board gives one because that is
    /// what the Windows provider shows; otherwise the GUID, which is at least stable across
    /// reinstalls. Validation guarantees one of the two exists.
    pub fn cim_system_name(&self) -> &str {
        self.system_name
            .as_deref()
            .or(self.system_guid.as_deref())
            .unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bus {
    pub name: String,
    pub description: String,
    /// The character device on the embedded-Linux image (e.g. `/dev/i2c-1`); ignored elsewhere.
    pub linux_dev: Option<String>,
    /// The `ipmb-dev-int` character device (e.g. `/dev/ipmb-0`) for IPMB satellites on this bus
    /// on the embedded-Linux image.
    pub ipmb_dev: Option<String>,
    /// The kernel IPMI device (e.g. `/dev/ipmi0`: `ipmi-ipmb`, KCS or SSIF) satellites on this
    /// bus are reached through on the embedded-Linux image instead; never with `ipmb_dev`.
    pub ipmi_dev: Option<String>,
    /// With `ipmi_dev`: the IPMB channel the interface's controller bridges requests onto, to
    /// each satellite's address. Without it, the one satellite on the bus is that controller.
    pub ipmi_channel: Option<u8>,
    /// `i2c-controller`: the index of the MCU's I2C controller the bus is wired to, for the
    /// bare-metal image (which requires it); the other images ignore it.
    pub i2c_controller: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    pub description: String,
    pub model: DeviceModel,
    /// Index into [`Board::buses`].
    pub bus: u16,
    /// 7-bit I2C address.
    pub address: u8,
    /// `rsense-micro-ohm`: the ADM1272's current shunt, which alone turns the part's sense
    /// voltage into amperes and watts. `None` (and always for other models) keeps the driver's
    /// default.
    pub sense_micro_ohms: Option<NonZeroU32>,
}

/// Inputs for the simulated HAL, which has no physics and needs to be told what to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sim {
    /// Seed for the noise generator, so simulated runs are reproducible.
    pub seed: u64,
    pub channels: Vec<SimChannel>,
}

/// One simulated waveform: `base + swing·sin(2πt/period) + uniform(±noise)`, all in the
/// channel's native scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimChannel {
    /// Index into [`Board::devices`].
    pub device: u16,
    /// The model's channel number (as in [`wsbmc_monitor::SensorSource::channel`]).
    pub channel: u8,
    pub base: i32,
    pub swing: i32,
    pub period_ms: u32,
    pub noise: i32,
}

/// Per-board overrides of the WS-Man service limits; `None` keeps the agent's default. Kept as
/// plain numbers because the agent, not the board file, knows what each limit protects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub max_envelope_size: Option<u32>,
    pub max_enum_contexts: Option<u32>,
    pub enum_context_idle_s: Option<u32>,
    pub max_request_size: Option<u32>,
    pub max_connections: Option<u32>,
    /// Connections one source address may hold (default: half of max-connections).
    pub max_connections_per_source: Option<u32>,
    /// How long a connection may stay open without authenticating, in milliseconds.
    pub auth_timeout_ms: Option<u32>,
}

/// `[accounts]`: the account lockout rule (issue 15) of a board's BMC; `None` keeps the
/// agent's default (or what its state directory keeps). The same ranges as the agent's
/// `--lockout-*` flags, which override these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountSettings {
    /// Failed logins within the window that lock an account, 1..=100.
    pub lockout_threshold: Option<u8>,
    /// The window failures are counted in, seconds, 1..=86400.
    pub lockout_window_s: Option<u32>,
    /// How long a locked account stays locked, seconds, 1..=86400.
    pub lockout_duration_s: Option<u32>,
}

/// A board file problem, rendered as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardError {
    pub file: String,
    /// 1-based; `None` only when the file could not be read at all.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for BoardError {}

/// Largest board file read. The largest board in the tree is a few KiB; the bound keeps a
/// wrong path (`/dev/zero`, a disk image) from being read into memory without end.
pub const MAX_BOARD_FILE: u64 = 1024 * 1024;

/// Reads and validates a board file; errors name `path` as given.
pub fn load(path: &Path) -> Result<Board, BoardError> {
    use std::io::Read as _;
    let file = path.display().to_string();
    let fail = |message: String| BoardError {
        file: file.clone(),
        line: None,
        message,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BOARD_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| fail(format!("cannot read board file: {e}")))?;
    if bytes.len() as u64 > MAX_BOARD_FILE {
        return Err(fail(format!(
            "board file larger than {MAX_BOARD_FILE} bytes: refusing to read it"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| fail(format!("cannot read board file: not UTF-8 ({e})")))?;
    parse(&text, &file)
}

/// Parses and validates board text; `file_name` only labels errors.
pub fn parse(text: &str, file_name: &str) -> Result<Board, BoardError> {
    let src = validate::Source {
        text,
        file: file_name,
    };
    let raw: raw::RawBoard = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| src.line_of(s.start)).unwrap_or(1);
        src.error_at_line(line, e.message().trim_end().replace('\n', " "))
    })?;
    validate::board(&src, raw)
}

/// A decimal number in human units (`42.5`, `-3`, `12.06`) as counts of 10^`scale`, rounded half
/// away from zero, exactly as board files are read; `None` if it is not a plain decimal or does
/// not fit. Used by tools that take values in the board's units, like the sim control channel.
pub fn scale_decimal(text: &str, scale: i8) -> Option<i32> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    raw::Decimal::from_text(text).scaled(scale)
}

/// The board-file spelling of a threshold, for messages and for tools that write board files.
pub const fn threshold_key(t: Threshold) -> &'static str {
    match t {
        Threshold::LowerNonCritical => "lower-non-critical",
        Threshold::UpperNonCritical => "upper-non-critical",
        Threshold::LowerCritical => "lower-critical",
        Threshold::UpperCritical => "upper-critical",
        Threshold::LowerFatal => "lower-fatal",
        Threshold::UpperFatal => "upper-fatal",
    }
}
