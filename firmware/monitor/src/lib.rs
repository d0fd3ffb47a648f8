//! The BMC's sensor model.
//!
//! A [`SensorDesc`] is what the board file says about a sensor; a [`SensorState`] is what the
//! poller last learned. Readings are integers scaled by a power of ten (CIM's UnitModifier) or a
//! reason why there is no reading; there are no floats and no sentinel values. The WS-Man side
//! only ever reads a [`Monitor`]; the poller is the only writer, so a request never waits on a bus.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

pub use wsbmc_hal::{DeviceError, Quantity};

pub mod discrete;
mod poller;
pub mod recovery;
mod threshold;

pub use discrete::{
    BmcSensor, DiscreteDesc, DiscreteId, DiscreteReading, DiscreteRecorded, DiscreteSource,
    DiscreteState, DiscreteTable,
};
pub use poller::{
    EVENT_WINDOW_MS, EVENTS_PER_WINDOW, EventWindow, LOWER_HOLD_OFF_MS, Recorded, ThresholdError,
    UnknownSensor,
};
pub use recovery::Recovery;
pub use threshold::{OrderError, evaluate};

/// Distinct threshold events of one sensor: IPMI's twelve threshold offsets (each threshold
/// going low and going high), each asserted or deasserted.
pub const EVENT_SLOTS: usize = 24;

/// Index of a sensor in the board's sensor table. Stable for the life of the image because the
/// table comes from the board file, never from discovery order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SensorId(pub u16);

/// The six IPMI thresholds. CIM calls non-recoverable "Fatal"; the names here follow CIM because
/// that is what consoles show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Thresholds {
    pub lower_non_critical: Option<i32>,
    pub upper_non_critical: Option<i32>,
    pub lower_critical: Option<i32>,
    pub upper_critical: Option<i32>,
    pub lower_fatal: Option<i32>,
    pub upper_fatal: Option<i32>,
}

/// One threshold, numbered as CIM's SupportedThresholds ValueMap (0..=5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Threshold {
    LowerNonCritical = 0,
    UpperNonCritical = 1,
    LowerCritical = 2,
    UpperCritical = 3,
    LowerFatal = 4,
    UpperFatal = 5,
}

impl Threshold {
    pub const ALL: [Threshold; 6] = [
        Threshold::LowerNonCritical,
        Threshold::UpperNonCritical,
        Threshold::LowerCritical,
        Threshold::UpperCritical,
        Threshold::LowerFatal,
        Threshold::UpperFatal,
    ];

    pub const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub const fn is_upper(self) -> bool {
        matches!(
            self,
            Threshold::UpperNonCritical | Threshold::UpperCritical | Threshold::UpperFatal
        )
    }
}

impl Thresholds {
    pub fn get(&self, t: Threshold) -> Option<i32> {
        match t {
            Threshold::LowerNonCritical => self.lower_non_critical,
            Threshold::UpperNonCritical => self.upper_non_critical,
            Threshold::LowerCritical => self.lower_critical,
            Threshold::UpperCritical => self.upper_critical,
            Threshold::LowerFatal => self.lower_fatal,
            Threshold::UpperFatal => self.upper_fatal,
        }
    }

    pub fn set(&mut self, t: Threshold, v: Option<i32>) {
        match t {
            Threshold::LowerNonCritical => self.lower_non_critical = v,
            Threshold::UpperNonCritical => self.upper_non_critical = v,
            Threshold::LowerCritical => self.lower_critical = v,
            Threshold::UpperCritical => self.upper_critical = v,
            Threshold::LowerFatal => self.lower_fatal = v,
            Threshold::UpperFatal => self.upper_fatal = v,
        }
    }

    /// Bit mask (by [`Threshold::bit`]) of the thresholds that have a value.
    pub fn supported_mask(&self) -> u8 {
        Threshold::ALL
            .iter()
            .filter(|t| self.get(**t).is_some())
            .fold(0, |m, t| m | t.bit())
    }
}

/// When a sensor can be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerDomain {
    /// Standby power: always readable.
    Always,
    /// Only while the host is on; reads as `NoData::HostOff` otherwise, which is quiet, not an alarm.
    HostOn,
}

/// Where a sensor's value comes from: a device of the board's device table and one of its channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorSource {
    pub device: u16,
    pub channel: u8,
}

/// Everything static about a sensor, from the board file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorDesc {
    /// Stable identifier from the board file (`[a-z0-9_]+`), used for overrides and logs.
    pub key: String,
    /// The IPMI sensor ID string (at most 16 characters); CIM ElementName and the DeviceID prefix.
    pub name: String,
    /// Free text shown as part of the CIM Description.
    pub description: String,
    /// IPMI sensor number, owner (slave address of the controller) and LUN: with `name` they
    /// make the Windows-style DeviceID `name(number.lun.owner)`.
    pub number: u8,
    pub owner: u8,
    pub lun: u8,
    /// IPMI entity ID and instance of what the sensor watches (e.g. 3.1 = processor 1).
    pub entity_id: u8,
    pub entity_instance: u8,
    pub quantity: Quantity,
    /// Power of ten of one count of every value below (CIM UnitModifier).
    pub scale: i8,
    pub thresholds: Thresholds,
    /// Board defaults, for RestoreDefaultThresholds.
    pub default_thresholds: Thresholds,
    /// Mask of thresholds a console may change (by [`Threshold::bit`]).
    pub settable: u8,
    /// Hysteresis applied when a threshold deasserts, in counts.
    pub hysteresis: u32,
    pub min_readable: i32,
    pub max_readable: i32,
    pub nominal: Option<i32>,
    pub poll_ms: u32,
    pub power: PowerDomain,
    pub source: SensorSource,
}

/// Why there is no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// Not read yet since start.
    Initializing,
    /// The device did not acknowledge: absent or unpowered.
    NotPresent,
    BusError,
    Timeout,
    /// The device answered nonsense.
    Unavailable,
    /// The sensor only reads while the host is on, and it is off.
    HostOff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Value(i32),
    NoData(NoData),
}

/// What the poller last learned about one sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorState {
    pub reading: Reading,
    /// Monotonic milliseconds of the last poll, successful or not.
    pub updated_ms: u64,
    pub min: Option<i32>,
    pub max: Option<i32>,
    /// Asserted thresholds (by [`Threshold::bit`]), with hysteresis applied.
    pub asserted: u8,
}

impl Default for SensorState {
    fn default() -> Self {
        Self {
            reading: Reading::NoData(NoData::Initializing),
            updated_ms: 0,
            min: None,
            max: None,
            asserted: 0,
        }
    }
}

/// The sensor table and its reading cache.
#[derive(Debug, Clone)]
pub struct Monitor {
    descs: Vec<SensorDesc>,
    states: Vec<SensorState>,
    /// Per sensor, the monotonic millisecond at which it is next due for a poll.
    due: Vec<u64>,
    /// Until this monotonic millisecond, new lower-threshold assertions are held off: rails ramp
    /// through their lower limits while host power changes (see [`Monitor::host_power_changed`]).
    hold_lower_until: u64,
    /// Per sensor, the current event window: its start and the events allowed so far per slot
    /// (see [`Monitor::allow_event`]).
    events: Vec<(u64, [u8; EVENT_SLOTS])>,
    /// The discrete (state) sensors, polled and rate limited by the same rules.
    discrete: DiscreteTable,
}

impl Monitor {
    pub fn new(descs: Vec<SensorDesc>) -> Self {
        let states = descs.iter().map(|_| SensorState::default()).collect();
        // Everything is due at once after reset: the cache should leave Initializing as soon as
        // the poller gets to run, not one period later.
        // Zeros by `vec!`, not a map and collect over the descriptions (each its own copy).
        let due = alloc::vec![0; descs.len()];
        let events = alloc::vec![(0, [0; EVENT_SLOTS]); descs.len()];
        Self {
            descs,
            states,
            due,
            hold_lower_until: 0,
            events,
            discrete: DiscreteTable::default(),
        }
    }

    /// A monitor with discrete sensors besides the numeric ones.
    pub fn with_discrete(descs: Vec<SensorDesc>, discrete: Vec<DiscreteDesc>) -> Self {
        let mut m = Self::new(descs);
        m.discrete = DiscreteTable::new(discrete);
        m
    }

    /// Appends discrete sensors (the agent's own) after the board's.
    pub fn extend_discrete(&mut self, more: Vec<DiscreteDesc>) {
        let mut descs = self.discrete.descs().to_vec();
        descs.extend(more);
        self.discrete = DiscreteTable::new(descs);
    }

    pub fn discrete(&self) -> &DiscreteTable {
        &self.discrete
    }

    /// Applies one discrete poll result (or an agent update of its own sensor) at `now_ms`,
    /// with the host-power hold-off the threshold engine applies to lower thresholds.
    pub fn record_discrete(
        &mut self,
        id: DiscreteId,
        result: Result<u16, DeviceError>,
        now_ms: u64,
        host_on: bool,
    ) -> Option<DiscreteRecorded> {
        let hold = self.hold_lower_until;
        self.discrete.record(id, result, now_ms, host_on, hold)
    }

    /// Whether discrete sensor `id` may log one more event of this kind (see
    /// [`DiscreteTable::allow_event`]).
    pub fn allow_discrete_event(
        &mut self,
        id: DiscreteId,
        offset: u8,
        deassertion: bool,
        now_ms: u64,
    ) -> bool {
        self.discrete.allow_event(id, offset, deassertion, now_ms)
    }

    pub fn sensors(&self) -> &[SensorDesc] {
        &self.descs
    }

    pub fn states(&self) -> &[SensorState] {
        &self.states
    }

    pub fn desc(&self, id: SensorId) -> Option<&SensorDesc> {
        self.descs.get(usize::from(id.0))
    }

    pub fn state(&self, id: SensorId) -> Option<&SensorState> {
        self.states.get(usize::from(id.0))
    }

    pub fn find_key(&self, key: &str) -> Option<SensorId> {
        self.descs
            .iter()
            .position(|d| d.key == key)
            .and_then(|i| u16::try_from(i).ok())
            .map(SensorId)
    }
}
