//! The simulated board: register-level device models on virtual I2C buses.
//!
//! The host agent runs the *real* drivers from `wsbmc-hal` against [`SimBus`] handles, so
//! everything above the bus (driver decoding, the monitor, thresholds, CIM) is exercised as on
//! hardware. Each device answers with the same registers and encodings as the part; what it
//! measures comes from a deterministic, seeded [`Waveform`] per channel, which a test or an
//! operator can pin with [`SimBoard::set_override`] and break with [`SimBoard::set_fault`].
//!
//! Devices are keyed by (bus name, 7-bit address) because real boards repeat addresses on
//! different buses.
//!
//! ```
//! use wsbmc_hal::{AnyDevice, DeviceModel};
//! use wsbmc_sim::{ManualClock, SimBoard, Waveform};
//!
//! let clock = ManualClock::new(0);
//! let board = SimBoard::new(42, clock.clone());
//! board.add_device("i2c1", 0x48, DeviceModel::Tmp75).unwrap();
//! board.set_waveform("i2c1", 0x48, 0, Waveform::constant(41_250)).unwrap();
//! let mut dev = AnyDevice::new(DeviceModel::Tmp75, board.bus("i2c1"), 0x48);
//! assert_eq!(futures_lite::future::block_on(dev.read(0)), Ok(41_250));
//! ```

mod clock;
mod host;
mod models;
pub mod satellite;
mod wave;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use embedded_hal::i2c::{ErrorKind, ErrorType, NoAcknowledgeSource, Operation};
use wsbmc_hal::DeviceModel;
use wsbmc_hal::ipmb::{Ipmb, IpmbError};
use wsbmc_ipmi::ipmb as frame;

pub use clock::{Clock, ManualClock, SystemClock};
pub use host::{HostTiming, SimHost};
pub use models::ADM1272_PMON_CONFIG_DEFAULT;
pub use wave::{ChannelKey, Waveform};

/// What a simulated power device reports in its PMBus status, for `wsbmc sim psu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsuCondition {
    Ok,
    /// Output off, power not good, with the input fine: the supply itself failed.
    Failed,
    /// Input under-voltage fault; the unit switched off for it.
    InputLost,
    /// An over-temperature warning: still running.
    Predictive,
}

impl PsuCondition {
    pub const ALL: [PsuCondition; 4] = [
        PsuCondition::Ok,
        PsuCondition::Failed,
        PsuCondition::InputLost,
        PsuCondition::Predictive,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PsuCondition::Ok => "ok",
            PsuCondition::Failed => "failed",
            PsuCondition::InputLost => "input-lost",
            PsuCondition::Predictive => "predictive",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// (STATUS_WORD, STATUS_INPUT) as a part in this condition sets them.
    pub const fn status(self) -> (u16, u8) {
        use wsbmc_hal::pmbus::{status_input as i, status_word as w};
        match self {
            PsuCondition::Ok => (0, 0),
            PsuCondition::Failed => (w::OFF | w::POWER_GOOD_N, 0),
            PsuCondition::InputLost => (
                w::OFF | w::POWER_GOOD_N | w::INPUT | w::VIN_UV_FAULT,
                i::VIN_UV_FAULT | i::UNIT_OFF_LOW_INPUT,
            ),
            PsuCondition::Predictive => (w::TEMPERATURE, 0),
        }
    }
}

/// GPIO inputs of a [`SimBoard`] for the poller.
#[derive(Clone)]
pub struct SimGpio {
    state: Arc<Mutex<BoardState>>,
    names: Vec<String>,
}

impl wsbmc_hal::GpioInputs for SimGpio {
    fn level(&mut self, line: u16) -> Result<bool, wsbmc_hal::DeviceError> {
        use wsbmc_hal::DeviceError;
        let name = self
            .names
            .get(usize::from(line))
            .ok_or(DeviceError::NoSuchChannel)?;
        let st = lock(&self.state);
        match st.gpio.get(name) {
            None | Some((_, Some(SimFault::Nack))) => Err(DeviceError::Nack),
            Some((_, Some(SimFault::BusError))) => Err(DeviceError::Bus),
            Some((_, Some(SimFault::Timeout))) => Err(DeviceError::Timeout),
            Some((level, _)) => Ok(*level),
        }
    }
}

/// A whole-device failure mode, as seen from the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// The address is not acknowledged: the part is absent or unpowered.
    Nack,
    /// Every transfer fails with a bus error (arbitration loss, glitch).
    BusError,
    /// Every transfer hangs for the board's stall time (see [`SimBoard::set_timeout_stall_ms`])
    /// and then fails with [`SimI2cError::Timeout`], like a part holding SCL low. A caller
    /// that bounds the read with its own timeout sees the timeout first.
    Timeout,
    /// The bus works but the measurement is frozen at the value it had when the fault was set,
    /// like a part whose ADC stopped converting.
    Stuck,
    /// Every transfer (or IPMB response) is delayed by the board's slow time (see
    /// [`SimBoard::set_slow_ms`]) and then succeeds.
    Slow,
    /// Data arrives damaged: an IPMB response with a bad checksum, or an I2C read whose last
    /// byte has its low bit flipped.
    BadChecksum,
}

impl SimFault {
    /// The control-channel spelling.
    pub const fn name(self) -> &'static str {
        match self {
            SimFault::Nack => "nack",
            SimFault::BusError => "bus",
            SimFault::Timeout => "timeout",
            SimFault::Stuck => "stuck",
            SimFault::Slow => "slow",
            SimFault::BadChecksum => "checksum",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            SimFault::Nack,
            SimFault::BusError,
            SimFault::Timeout,
            SimFault::Stuck,
            SimFault::Slow,
            SimFault::BadChecksum,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }
}

/// The error a [`SimBus`] transfer returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimI2cError {
    Nack(NoAcknowledgeSource),
    Bus,
    /// The transfer did not finish. embedded-hal has no timeout kind, so this maps to
    /// [`ErrorKind::Other`].
    Timeout,
}

impl embedded_hal::i2c::Error for SimI2cError {
    fn kind(&self) -> ErrorKind {
        match self {
            SimI2cError::Nack(src) => ErrorKind::NoAcknowledge(*src),
            SimI2cError::Bus => ErrorKind::Bus,
            SimI2cError::Timeout => ErrorKind::Other,
        }
    }
}

impl fmt::Display for SimI2cError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimI2cError::Nack(src) => write!(f, "no acknowledge ({src})"),
            SimI2cError::Bus => f.write_str("bus error"),
            SimI2cError::Timeout => f.write_str("transfer timed out"),
        }
    }
}

impl std::error::Error for SimI2cError {}

/// Why a board-building or fault-injection call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// Two devices on one bus at one address would both drive the bus.
    DuplicateAddress {
        bus: String,
        address: u8,
    },
    /// Not a 7-bit address.
    InvalidAddress(u8),
    UnknownDevice {
        bus: String,
        address: u8,
    },
    NoSuchChannel {
        model: DeviceModel,
        channel: u8,
    },
    /// The part has no fault indication for this channel (only TMP421/EMC1413 remote diodes and
    /// MAX31785 temperature pages do).
    NoFaultFlag {
        model: DeviceModel,
        channel: u8,
    },
    /// The setting does not apply to this model.
    NotApplicable {
        model: DeviceModel,
    },
    /// The contents do not fit the EEPROM.
    TooLarge,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::DuplicateAddress { bus, address } => {
                write!(f, "bus {bus} already has a device at 0x{address:02x}")
            }
            SimError::InvalidAddress(a) => write!(f, "0x{a:02x} is not a 7-bit I2C address"),
            SimError::UnknownDevice { bus, address } => {
                write!(f, "no device at 0x{address:02x} on bus {bus}")
            }
            SimError::NoSuchChannel { model, channel } => {
                write!(f, "{} has no channel {channel}", model.name())
            }
            SimError::NoFaultFlag { model, channel } => {
                write!(f, "{} channel {channel} has no fault flag", model.name())
            }
            SimError::NotApplicable { model } => {
                write!(f, "setting does not apply to {}", model.name())
            }
            SimError::TooLarge => f.write_str("contents do not fit the EEPROM"),
        }
    }
}

impl std::error::Error for SimError {}

struct SimDevice {
    model: DeviceModel,
    regs: models::Regs,
    /// False while the part is pulled from the board: it NACKs whatever the fault says.
    present: bool,
    fault: Option<SimFault>,
    stuck_at_ms: u64,
    waveforms: BTreeMap<u8, Waveform>,
    overrides: BTreeMap<u8, i32>,
    channel_faults: BTreeMap<u8, bool>,
    sense_micro_ohms: u32,
}

struct DeviceInputs<'a> {
    dev: &'a SimDevice,
    seed: u64,
    bus: &'a str,
    address: u8,
    t_ms: u64,
}

impl DeviceInputs<'_> {
    fn key(&self, channel: u8) -> ChannelKey<'_> {
        ChannelKey {
            seed: self.seed,
            bus: self.bus,
            address: self.address,
            channel,
        }
    }
}

impl models::Inputs for DeviceInputs<'_> {
    fn value(&self, channel: u8) -> i32 {
        if let Some(&v) = self.dev.overrides.get(&channel) {
            return v;
        }
        if let Some(w) = self.dev.waveforms.get(&channel) {
            return w.sample(&self.key(channel), self.t_ms);
        }
        // Input power follows input voltage and current unless the board says otherwise, so
        // an ADM1272's readings stay mutually consistent.
        if self.dev.model == DeviceModel::Adm1272 && channel == 3 {
            let mw = i64::from(self.value(0)) * i64::from(self.value(2)) / 1000;
            return mw.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
        }
        models::default_waveform(self.dev.model, channel).sample(&self.key(channel), self.t_ms)
    }

    fn channel_fault(&self, channel: u8) -> bool {
        self.dev
            .channel_faults
            .get(&channel)
            .copied()
            .unwrap_or(false)
    }

    fn sense_micro_ohms(&self) -> u32 {
        self.dev.sense_micro_ohms
    }
}

struct BoardState {
    /// GPIO input lines by name: level, and a fault that makes reads fail.
    gpio: BTreeMap<String, (bool, Option<SimFault>)>,
    seed: u64,
    clock: Arc<dyn Clock>,
    stall_ms: u64,
    slow_ms: u64,
    buses: BTreeMap<String, BTreeMap<u8, SimDevice>>,
    /// IPMB frames on their way to a requester, keyed by (bus, requester's 8-bit address), each
    /// with the clock time it arrives.
    inbox: BTreeMap<(String, u8), Inbox>,
}

/// Frames with the clock time each arrives.
type Inbox = VecDeque<(u64, Vec<u8>)>;

/// Frames queued per requester at most; older ones are dropped, as a full kernel queue does.
const INBOX_LIMIT: usize = 16;

fn channel_exists(model: DeviceModel, channel: u8) -> bool {
    if model.is_satellite() {
        satellite::sensor(channel).is_some()
    } else {
        model.channels().iter().any(|c| c.channel == channel)
    }
}

impl BoardState {
    fn device_mut(&mut self, bus: &str, address: u8) -> Result<&mut SimDevice, SimError> {
        self.buses
            .get_mut(bus)
            .and_then(|b| b.get_mut(&address))
            .ok_or_else(|| SimError::UnknownDevice {
                bus: bus.to_owned(),
                address,
            })
    }

    fn transact(
        &mut self,
        bus: &str,
        address: u8,
        ops: &mut [Operation<'_>],
    ) -> Result<(), SimI2cError> {
        let now = self.clock.now_ms();
        let seed = self.seed;
        let Some(dev) = self.buses.get_mut(bus).and_then(|b| b.get_mut(&address)) else {
            return Err(SimI2cError::Nack(NoAcknowledgeSource::Address));
        };
        if !dev.present {
            return Err(SimI2cError::Nack(NoAcknowledgeSource::Address));
        }
        match dev.fault {
            Some(SimFault::Nack) => return Err(SimI2cError::Nack(NoAcknowledgeSource::Address)),
            Some(SimFault::BusError) => return Err(SimI2cError::Bus),
            Some(SimFault::Timeout) => return Err(SimI2cError::Timeout),
            _ => {}
        }
        let t_ms = if dev.fault == Some(SimFault::Stuck) {
            dev.stuck_at_ms
        } else {
            now
        };
        for op in ops.iter_mut() {
            match op {
                Operation::Write(bytes) => dev.regs.write(bytes)?,
                Operation::Read(buf) => {
                    // Split borrow: the registers change while the inputs only read.
                    let mut regs = std::mem::replace(&mut dev.regs, models::Regs::Empty);
                    let inputs = DeviceInputs {
                        dev,
                        seed,
                        bus,
                        address,
                        t_ms,
                    };
                    let r = regs.read(buf, &inputs);
                    dev.regs = regs;
                    r?;
                    if dev.fault == Some(SimFault::BadChecksum)
                        && let Some(last) = buf.last_mut()
                    {
                        *last ^= 0x01;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A simulated board: any number of named buses with device models on them. Cheap to clone;
/// clones share the same board.
#[derive(Clone)]
pub struct SimBoard {
    state: Arc<Mutex<BoardState>>,
}

fn lock(state: &Mutex<BoardState>) -> MutexGuard<'_, BoardState> {
    // A panic while holding the lock cannot leave the register maps half-updated in a way
    // that matters to a simulation; keep serving rather than poisoning every bus.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Default for [`SimFault::Timeout`]: long enough that any sane poller's own timeout fires
/// first, short enough that a caller without one is not wedged.
pub const DEFAULT_TIMEOUT_STALL_MS: u64 = 1_000;
/// Default for [`SimFault::Slow`]: longer than an IPMB requester's per-attempt wait, so a slow
/// satellite's late answers arrive while the requester waits for its retry, and shorter than
/// the poller's bound on one I2C read.
pub const DEFAULT_SLOW_MS: u64 = 150;

impl SimBoard {
    /// An empty board. `seed` fixes every waveform's phase and noise; `clock` is the time base
    /// (a closure `Fn() -> u64` works, as do [`SystemClock`] and [`ManualClock`]).
    pub fn new(seed: u64, clock: impl Clock + 'static) -> Self {
        SimBoard {
            state: Arc::new(Mutex::new(BoardState {
                seed,
                clock: Arc::new(clock),
                stall_ms: DEFAULT_TIMEOUT_STALL_MS,
                slow_ms: DEFAULT_SLOW_MS,
                buses: BTreeMap::new(),
                inbox: BTreeMap::new(),
                gpio: BTreeMap::new(),
            })),
        }
    }

    pub fn seed(&self) -> u64 {
        lock(&self.state).seed
    }

    /// Places a part at `address` on `bus` (creating the bus on first use).
    pub fn add_device(&self, bus: &str, address: u8, model: DeviceModel) -> Result<(), SimError> {
        if address > 0x7F {
            return Err(SimError::InvalidAddress(address));
        }
        let mut st = lock(&self.state);
        let devices = st.buses.entry(bus.to_owned()).or_default();
        if devices.contains_key(&address) {
            return Err(SimError::DuplicateAddress {
                bus: bus.to_owned(),
                address,
            });
        }
        devices.insert(
            address,
            SimDevice {
                model,
                regs: models::Regs::new(model, address),
                present: true,
                fault: None,
                stuck_at_ms: 0,
                waveforms: BTreeMap::new(),
                overrides: BTreeMap::new(),
                channel_faults: BTreeMap::new(),
                sense_micro_ohms: wsbmc_hal::devices::adm1272::DEFAULT_SENSE_MICRO_OHMS.get(),
            },
        );
        Ok(())
    }

    fn with_channel<R>(
        &self,
        bus: &str,
        address: u8,
        channel: u8,
        f: impl FnOnce(&mut SimDevice) -> Result<R, SimError>,
    ) -> Result<R, SimError> {
        let mut st = lock(&self.state);
        let dev = st.device_mut(bus, address)?;
        if !channel_exists(dev.model, channel) {
            return Err(SimError::NoSuchChannel {
                model: dev.model,
                channel,
            });
        }
        f(dev)
    }

    /// Sets what `channel` measures over time, in the channel's native units.
    pub fn set_waveform(
        &self,
        bus: &str,
        address: u8,
        channel: u8,
        waveform: Waveform,
    ) -> Result<(), SimError> {
        self.with_channel(bus, address, channel, |d| {
            d.waveforms.insert(channel, waveform);
            Ok(())
        })
    }

    /// Pins `channel` to a fixed value (native units), replacing its waveform; `None` returns it
    /// to the waveform.
    pub fn set_override(
        &self,
        bus: &str,
        address: u8,
        channel: u8,
        value: Option<i32>,
    ) -> Result<(), SimError> {
        self.with_channel(bus, address, channel, |d| {
            match value {
                Some(v) => d.overrides.insert(channel, v),
                None => d.overrides.remove(&channel),
            };
            Ok(())
        })
    }

    /// Injects (or with `None` clears) a whole-device fault.
    pub fn set_fault(
        &self,
        bus: &str,
        address: u8,
        fault: Option<SimFault>,
    ) -> Result<(), SimError> {
        let mut st = lock(&self.state);
        let now = st.clock.now_ms();
        let dev = st.device_mut(bus, address)?;
        if fault == Some(SimFault::Stuck) && dev.fault != Some(SimFault::Stuck) {
            dev.stuck_at_ms = now;
        }
        dev.fault = fault;
        Ok(())
    }

    pub fn fault(&self, bus: &str, address: u8) -> Result<Option<SimFault>, SimError> {
        Ok(lock(&self.state).device_mut(bus, address)?.fault)
    }

    /// Raises or clears the part's own per-channel fault indication: the TMP421 remote OPEN
    /// bit, an EMC1413 External Diode Fault bit, or a MAX31785 temperature page's 0x7FFF.
    pub fn set_channel_fault(
        &self,
        bus: &str,
        address: u8,
        channel: u8,
        faulted: bool,
    ) -> Result<(), SimError> {
        self.with_channel(bus, address, channel, |d| {
            if !models::has_fault_flag(d.model, channel) {
                return Err(SimError::NoFaultFlag {
                    model: d.model,
                    channel,
                });
            }
            d.channel_faults.insert(channel, faulted);
            Ok(())
        })
    }

    /// A shunt part's (an ADM1272's) sense resistor, which turns its sense voltage into
    /// current; must match what the driver was built with. Default 1 mΩ.
    pub fn set_sense_micro_ohms(
        &self,
        bus: &str,
        address: u8,
        micro_ohms: NonZeroU32,
    ) -> Result<(), SimError> {
        let mut st = lock(&self.state);
        let dev = st.device_mut(bus, address)?;
        if dev.model.sense_micro_ohms().is_none() {
            return Err(SimError::NotApplicable { model: dev.model });
        }
        dev.sense_micro_ohms = micro_ohms.get();
        Ok(())
    }

    /// Sets a power device's PMBus status (see [`PsuCondition`]).
    pub fn set_psu_condition(
        &self,
        bus: &str,
        address: u8,
        condition: PsuCondition,
    ) -> Result<(), SimError> {
        let mut st = lock(&self.state);
        let dev = st.device_mut(bus, address)?;
        let (word, input) = condition.status();
        if dev.regs.set_pmbus_status(word, input) {
            Ok(())
        } else {
            Err(SimError::NotApplicable { model: dev.model })
        }
    }

    /// Adds (or resets) GPIO input line `name` at `level`.
    pub fn add_gpio(&self, name: &str, level: bool) {
        lock(&self.state)
            .gpio
            .insert(name.to_owned(), (level, None));
    }

    /// Drives an existing GPIO input line; false if the board has no such line.
    pub fn set_gpio(&self, name: &str, level: bool) -> bool {
        match lock(&self.state).gpio.get_mut(name) {
            Some(l) => {
                l.0 = level;
                true
            }
            None => false,
        }
    }

    /// Makes reads of a GPIO line fail (Nack: the expander is gone; BusError; Timeout), or
    /// with `None` work again; false if the board has no such line.
    pub fn set_gpio_fault(&self, name: &str, fault: Option<SimFault>) -> bool {
        match lock(&self.state).gpio.get_mut(name) {
            Some(l) => {
                l.1 = fault;
                true
            }
            None => false,
        }
    }

    /// Every GPIO line with its level.
    pub fn gpio_lines(&self) -> Vec<(String, bool)> {
        lock(&self.state)
            .gpio
            .iter()
            .map(|(n, l)| (n.clone(), l.0))
            .collect()
    }

    /// The board's GPIO inputs as a HAL line table: index `i` is `names[i]`.
    pub fn gpio(&self, names: Vec<String>) -> SimGpio {
        SimGpio {
            state: self.state.clone(),
            names,
        }
    }

    /// How long a [`SimFault::Timeout`] transfer hangs before failing.
    pub fn set_timeout_stall_ms(&self, ms: u64) {
        lock(&self.state).stall_ms = ms;
    }

    /// How late a [`SimFault::Slow`] device answers.
    pub fn set_slow_ms(&self, ms: u64) {
        lock(&self.state).slow_ms = ms;
    }

    /// Pulls the part from the board (`false`: it NACKs everything) or puts it back. Faults,
    /// overrides and EEPROM contents survive, as they would on the part itself.
    pub fn set_present(&self, bus: &str, address: u8, present: bool) -> Result<(), SimError> {
        lock(&self.state).device_mut(bus, address)?.present = present;
        Ok(())
    }

    pub fn present(&self, bus: &str, address: u8) -> Result<bool, SimError> {
        Ok(lock(&self.state).device_mut(bus, address)?.present)
    }

    /// Writes an EEPROM's contents from offset 0, as a programmer would before assembly.
    pub fn load_eeprom(&self, bus: &str, address: u8, bytes: &[u8]) -> Result<(), SimError> {
        let mut st = lock(&self.state);
        let dev = st.device_mut(bus, address)?;
        if dev.model.eeprom().is_none() {
            return Err(SimError::NotApplicable { model: dev.model });
        }
        if dev.regs.load_eeprom(bytes) {
            Ok(())
        } else {
            Err(SimError::TooLarge)
        }
    }

    /// An IPMB attachment on bus `name` listening at 8-bit address `own_address`, for
    /// satellite drivers to own.
    pub fn ipmb(&self, name: &str, own_address: u8) -> SimIpmb {
        SimIpmb {
            state: self.state.clone(),
            bus: Arc::from(name),
            own_address,
        }
    }

    /// The true physical value of a channel now (native units), before register quantisation:
    /// what a correct driver should read back, give or take one register count.
    pub fn physical_value(&self, bus: &str, address: u8, channel: u8) -> Result<i32, SimError> {
        let mut st = lock(&self.state);
        let now = st.clock.now_ms();
        let seed = st.seed;
        let dev = st.device_mut(bus, address)?;
        if !channel_exists(dev.model, channel) {
            return Err(SimError::NoSuchChannel {
                model: dev.model,
                channel,
            });
        }
        let t_ms = if dev.fault == Some(SimFault::Stuck) {
            dev.stuck_at_ms
        } else {
            now
        };
        let inputs = DeviceInputs {
            dev,
            seed,
            bus,
            address,
            t_ms,
        };
        Ok(models::Inputs::value(&inputs, channel))
    }

    /// Every device, in (bus, address) order.
    pub fn devices(&self) -> Vec<(String, u8, DeviceModel)> {
        let st = lock(&self.state);
        st.buses
            .iter()
            .flat_map(|(bus, devs)| devs.iter().map(move |(a, d)| (bus.clone(), *a, d.model)))
            .collect()
    }

    /// A handle to bus `name` for a driver to own. The name is resolved per transfer, so a
    /// handle to a bus with no devices (yet) simply sees every address NACK.
    pub fn bus(&self, name: &str) -> SimBus {
        SimBus {
            state: self.state.clone(),
            name: Arc::from(name),
        }
    }
}

impl fmt::Debug for SimBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBoard")
            .field("seed", &self.seed())
            .field("devices", &self.devices())
            .finish()
    }
}

/// One virtual I2C bus, implementing `embedded_hal_async::i2c::I2c`. Clones address the same
/// bus, as `embassy-embedded-hal`'s shared-bus devices do on hardware.
#[derive(Clone)]
pub struct SimBus {
    state: Arc<Mutex<BoardState>>,
    name: Arc<str>,
}

impl SimBus {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Debug for SimBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimBus").field("name", &self.name).finish()
    }
}

impl ErrorType for SimBus {
    type Error = SimI2cError;
}

impl embedded_hal_async::i2c::I2c for SimBus {
    async fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let (slow, clock, slow_ms) = {
            let mut st = lock(&self.state);
            let slow = st
                .buses
                .get_mut(&*self.name)
                .and_then(|b| b.get_mut(&address))
                .is_some_and(|d| d.present && d.fault == Some(SimFault::Slow));
            (slow, st.clock.clone(), st.slow_ms)
        };
        if slow {
            // The answer is taken after the delay, so it is as fresh as the part would give.
            let deadline = clock.now_ms().saturating_add(slow_ms);
            Stall { clock, deadline }.await;
        }
        let (result, clock, stall_ms) = {
            let mut st = lock(&self.state);
            let r = st.transact(&self.name, address, operations);
            (r, st.clock.clone(), st.stall_ms)
        };
        if result == Err(SimI2cError::Timeout) {
            let deadline = clock.now_ms().saturating_add(stall_ms);
            Stall { clock, deadline }.await;
        }
        result
    }
}

/// An IPMB attachment on a simulated bus: requests go to the satellite model at the frame's
/// address, and its responses come back after the model's delay. Clones share the inbox.
#[derive(Clone)]
pub struct SimIpmb {
    state: Arc<Mutex<BoardState>>,
    bus: Arc<str>,
    own_address: u8,
}

impl fmt::Debug for SimIpmb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimIpmb")
            .field("bus", &self.bus)
            .field("own_address", &self.own_address)
            .finish()
    }
}

impl BoardState {
    /// Delivers a request frame to the satellite at its address; queues any answer.
    fn ipmb_send(&mut self, bus: &str, frame_bytes: &[u8]) -> Result<(), IpmbError> {
        let now = self.clock.now_ms();
        let (seed, slow_ms) = (self.seed, self.slow_ms);
        let address = frame_bytes.first().map_or(0, |a| a >> 1);
        let Some(dev) = self.buses.get_mut(bus).and_then(|b| b.get_mut(&address)) else {
            return Err(IpmbError::Nack);
        };
        if !dev.present {
            return Err(IpmbError::Nack);
        }
        match dev.fault {
            Some(SimFault::Nack) => return Err(IpmbError::Nack),
            Some(SimFault::BusError) => return Err(IpmbError::Bus),
            // The write is acknowledged, and then nothing ever comes back.
            Some(SimFault::Timeout) => return Ok(()),
            _ => {}
        }
        // A frame that fails its checksums is dropped by the responder, as IPMB requires.
        let Ok((header, body)) = frame::decode(frame_bytes) else {
            return Ok(());
        };
        if header.is_response() {
            return Ok(());
        }
        let t_ms = if dev.fault == Some(SimFault::Stuck) {
            dev.stuck_at_ms
        } else {
            now
        };
        let mut regs = std::mem::replace(&mut dev.regs, models::Regs::Empty);
        let answer = regs.satellite().map(|sat| {
            let inputs = DeviceInputs {
                dev,
                seed,
                bus,
                address,
                t_ms,
            };
            sat.handle(&header, body, &|ch| models::Inputs::value(&inputs, ch))
        });
        dev.regs = regs;
        let Some((code, data)) = answer else {
            // Not a satellite: an I2C part acknowledges the bytes and has nothing to say.
            return Ok(());
        };
        let mut out = [0u8; frame::MAX_FRAME];
        let data = &data[..data.len().min(frame::MAX_RESPONSE_DATA)];
        let Ok(n) = frame::encode_response(&header.response(), code, data, &mut out) else {
            return Ok(());
        };
        let mut reply = out[..n].to_vec();
        if dev.fault == Some(SimFault::BadChecksum)
            && let Some(last) = reply.last_mut()
        {
            *last ^= 0x5A;
        }
        let at = if dev.fault == Some(SimFault::Slow) {
            now.saturating_add(slow_ms)
        } else {
            now
        };
        let q = self
            .inbox
            .entry((bus.to_owned(), header.src_sa))
            .or_default();
        if q.len() >= INBOX_LIMIT {
            q.pop_front();
        }
        q.push_back((at, reply));
        Ok(())
    }

    /// The first frame due for `(bus, own)` by now, or when the next one is due.
    fn ipmb_take(&mut self, bus: &str, own: u8) -> Result<Vec<u8>, Option<u64>> {
        let now = self.clock.now_ms();
        let Some(q) = self.inbox.get_mut(&(bus.to_owned(), own)) else {
            return Err(None);
        };
        match q.iter().position(|(at, _)| *at <= now) {
            Some(i) => q.remove(i).map(|(_, f)| f).ok_or(None),
            None => Err(q.iter().map(|(at, _)| *at).min()),
        }
    }
}

impl Ipmb for SimIpmb {
    fn own_address(&self) -> u8 {
        self.own_address
    }

    async fn send(&mut self, frame_bytes: &[u8]) -> Result<(), IpmbError> {
        lock(&self.state).ipmb_send(&self.bus, frame_bytes)
    }

    async fn receive(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, IpmbError> {
        let clock = lock(&self.state).clock.clone();
        let deadline = clock.now_ms().saturating_add(u64::from(timeout_ms));
        loop {
            let next = lock(&self.state).ipmb_take(&self.bus, self.own_address);
            match next {
                Ok(f) => {
                    let n = f.len().min(buf.len());
                    buf[..n].copy_from_slice(&f[..n]);
                    return Ok(n);
                }
                Err(due) => {
                    if clock.now_ms() >= deadline {
                        return Err(IpmbError::Timeout);
                    }
                    let wake = due.map_or(deadline, |d| d.min(deadline));
                    Stall {
                        clock: clock.clone(),
                        deadline: wake,
                    }
                    .await;
                }
            }
        }
    }
}

/// Pending until the board clock passes `deadline`. Re-checked on a shared ticker thread
/// rather than by self-waking, so a stalled transfer does not spin an executor thread, and on
/// the board's own clock so a [`ManualClock`] test controls when it ends.
struct Stall {
    clock: Arc<dyn Clock>,
    deadline: u64,
}

impl Future for Stall {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.clock.now_ms() >= self.deadline {
            Poll::Ready(())
        } else {
            wake_soon(cx.waker().clone());
            Poll::Pending
        }
    }
}

const TICK: Duration = Duration::from_millis(5);

fn wake_soon(waker: Waker) {
    type Queue = Arc<Mutex<Vec<Waker>>>;
    static PENDING: OnceLock<Option<Queue>> = OnceLock::new();
    let queue = PENDING.get_or_init(|| {
        let q: Queue = Arc::default();
        let worker = q.clone();
        std::thread::Builder::new()
            .name("wsbmc-sim-stall".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(TICK);
                    let due =
                        std::mem::take(&mut *worker.lock().unwrap_or_else(|e| e.into_inner()));
                    due.into_iter().for_each(Waker::wake);
                }
            })
            .ok()
            .map(|_| q)
    });
    match queue {
        Some(q) => q.lock().unwrap_or_else(|e| e.into_inner()).push(waker),
        // No ticker thread: fall back to re-polling at once rather than never waking.
        None => waker.wake(),
    }
}
