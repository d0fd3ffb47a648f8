//! Discrete sensors: a reading that is a set of states rather than a number, as IPMI models
//! them. A sensor has an event/reading type (a generic one such as 0Bh redundancy, or 6Fh
//! sensor-specific, whose offsets the sensor type defines), a 15-bit state set (bit n = offset
//! n), and assertion/deassertion masks that say which edges are events. Missing readings carry
//! the same [`NoData`] reasons as numeric sensors.
//!
//! The rules mirror the threshold engine's: a failed read keeps the states as they were (a bus
//! glitch must not log a deassertion), a host-powered sensor with the host off reads HostOff and
//! drops its states, new assertions on host-powered sensors are held off while host power
//! changes, and each kind of event (offset × direction) is rate limited per sensor.

use alloc::string::String;
use alloc::vec::Vec;

use wsbmc_hal::DeviceError;

use crate::poller::{EVENT_WINDOW_MS, EVENTS_PER_WINDOW};
use crate::{NoData, PowerDomain};

/// The state bits IPMI defines: offsets 0..=14.
pub const STATE_BITS: u16 = 0x7FFF;
/// Event kinds per discrete sensor: 15 offsets, each asserted or deasserted.
pub const DISCRETE_EVENT_SLOTS: usize = 30;

/// Index of a discrete sensor in the board's discrete table (file order, so stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiscreteId(pub u16);

/// The BMC's own sensors: their states are set by the agent from what it knows (host power,
/// the SEL, logins, its own start), never read from a bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BmcSensor {
    /// Power Unit (09h): offset 0 asserted while the host is off.
    PowerUnit,
    /// Event Logging Disabled (10h): the SEL full, cleared.
    EventLog,
    /// Session Audit (2Ah): login outcomes.
    SessionAudit,
    /// System Event (12h): the BMC's own start.
    SystemEvent,
}

/// Where a discrete sensor's states come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscreteSource {
    /// A device of the board's device table: `channel` is a PMBus page for a power device's
    /// status, or a satellite's sensor number.
    Device { device: u16, channel: u8 },
    /// A GPIO input of the board's line table (index); while it is active (low when
    /// `active_low`), offset `offset` is asserted.
    Gpio {
        line: u16,
        offset: u8,
        active_low: bool,
    },
    /// Set by the agent.
    Bmc(BmcSensor),
}

/// Everything static about a discrete sensor, from the board file (or the agent, for its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscreteDesc {
    /// Stable identifier (`[a-z0-9_]+`) for the control channel and logs.
    pub key: String,
    /// IPMI sensor ID string: CIM ElementName and the DeviceID prefix.
    pub name: String,
    pub description: String,
    pub number: u8,
    pub owner: u8,
    pub lun: u8,
    pub entity_id: u8,
    pub entity_instance: u8,
    /// IPMI sensor type (table 42-3).
    pub sensor_type: u8,
    /// IPMI event/reading type: 02h..0Ch generic, 6Fh sensor-specific.
    pub reading_type: u8,
    /// States the sensor can report (bit n = offset n); CIM PossibleStates.
    pub readable: u16,
    /// States whose assertion is logged.
    pub assertion_mask: u16,
    /// States whose deassertion is logged.
    pub deassertion_mask: u16,
    pub poll_ms: u32,
    pub power: PowerDomain,
    pub source: DiscreteSource,
}

impl DiscreteSource {
    /// The states a GPIO source's electrical `level` means.
    pub const fn gpio_states(offset: u8, active_low: bool, level: bool) -> u16 {
        if level != active_low && offset < 15 {
            1 << offset
        } else {
            0
        }
    }
}

/// A discrete sensor's reading: its asserted states, or why there are none to tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscreteReading {
    States(u16),
    NoData(NoData),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteState {
    pub reading: DiscreteReading,
    /// Monotonic milliseconds of the last update.
    pub updated_ms: u64,
}

impl Default for DiscreteState {
    fn default() -> Self {
        Self {
            reading: DiscreteReading::NoData(NoData::Initializing),
            updated_ms: 0,
        }
    }
}

impl DiscreteState {
    /// The asserted states; none while there is no reading.
    pub fn states(&self) -> u16 {
        match self.reading {
            DiscreteReading::States(s) => s,
            DiscreteReading::NoData(_) => 0,
        }
    }
}

/// What one update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteRecorded {
    pub id: DiscreteId,
    pub old: DiscreteReading,
    pub new: DiscreteReading,
    old_states: u16,
    new_states: u16,
    assertion_mask: u16,
    deassertion_mask: u16,
}

impl DiscreteRecorded {
    /// States that were asserted by this update and are to be logged.
    pub fn asserted_events(&self) -> u16 {
        self.new_states & !self.old_states & self.assertion_mask
    }

    /// States that were deasserted by this update and are to be logged.
    pub fn deasserted_events(&self) -> u16 {
        self.old_states & !self.new_states & self.deassertion_mask
    }

    /// The events of this update as (offset, deassertion), deassertions first, lowest offset
    /// first within each direction: a PSU going from "failed" to "input lost" logs the end of
    /// one condition before the start of the next.
    pub fn events(&self) -> impl Iterator<Item = (u8, bool)> + '_ {
        // The 15 offsets of the deassertions, then those of the assertions, as one 30-bit set:
        // one filtered range rather than a chain of two.
        let both = u32::from(self.deasserted_events() & 0x7FFF)
            | u32::from(self.asserted_events() & 0x7FFF) << 15;
        (0..30u8)
            .filter(move |i| both & (1 << i) != 0)
            .map(|i| (i % 15, i < 15))
    }
}

/// The discrete half of the sensor model.
#[derive(Debug, Clone, Default)]
pub struct DiscreteTable {
    descs: Vec<DiscreteDesc>,
    states: Vec<DiscreteState>,
    due: Vec<u64>,
    events: Vec<(u64, [u8; DISCRETE_EVENT_SLOTS])>,
}

impl DiscreteTable {
    pub fn new(descs: Vec<DiscreteDesc>) -> Self {
        let n = descs.len();
        Self {
            descs,
            states: alloc::vec![DiscreteState::default(); n],
            due: alloc::vec![0; n],
            events: alloc::vec![(0, [0; DISCRETE_EVENT_SLOTS]); n],
        }
    }

    pub fn descs(&self) -> &[DiscreteDesc] {
        &self.descs
    }

    pub fn states(&self) -> &[DiscreteState] {
        &self.states
    }

    pub fn desc(&self, id: DiscreteId) -> Option<&DiscreteDesc> {
        self.descs.get(usize::from(id.0))
    }

    pub fn state(&self, id: DiscreteId) -> Option<&DiscreteState> {
        self.states.get(usize::from(id.0))
    }

    pub fn find_key(&self, key: &str) -> Option<DiscreteId> {
        self.position(|d| d.key == key)
    }

    /// The agent's own sensor of kind `which`, if the table has it.
    pub fn find_bmc(&self, which: BmcSensor) -> Option<DiscreteId> {
        self.position(|d| d.source == DiscreteSource::Bmc(which))
    }

    fn position(&self, f: impl Fn(&DiscreteDesc) -> bool) -> Option<DiscreteId> {
        self.descs
            .iter()
            .position(f)
            .and_then(|i| u16::try_from(i).ok())
            .map(DiscreteId)
    }

    /// The earliest due time of a polled sensor (the agent's own sensors are never due) no
    /// later than `by`, and its index, the lowest on ties: the one scan behind
    /// [`DiscreteTable::next_due`] and [`DiscreteTable::next_deadline`].
    fn earliest(&self, by: u64) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for (i, (d, &due)) in self.descs.iter().zip(&self.due).enumerate() {
            if !matches!(d.source, DiscreteSource::Bmc(_))
                && due <= by
                && best.is_none_or(|(_, b)| due < b)
            {
                best = Some((i, due));
            }
        }
        best
    }

    /// The most overdue polled sensor at `now_ms`.
    pub fn next_due(&self, now_ms: u64) -> Option<DiscreteId> {
        let (i, _) = self.earliest(now_ms)?;
        u16::try_from(i).ok().map(DiscreteId)
    }

    /// When the next polled sensor is due.
    pub fn next_deadline(&self) -> Option<u64> {
        self.earliest(u64::MAX).map(|(_, due)| due)
    }

    /// Makes host-powered sensors due at once (host power changed).
    pub fn mark_due(&mut self, domain: PowerDomain, now_ms: u64) {
        for (d, due) in self.descs.iter().zip(self.due.iter_mut()) {
            if d.power == domain {
                *due = (*due).min(now_ms);
            }
        }
    }

    /// Applies one poll (or, for the agent's own sensors, one update) at `now_ms`.
    ///
    /// States outside the sensor's readable mask are dropped: a part's reserved status bits
    /// must not become states no console can name. While `hold_new_until` is in the future, a
    /// host-powered sensor asserts no new state (its inputs float while rails ramp); states
    /// already asserted stay.
    pub fn record(
        &mut self,
        id: DiscreteId,
        result: Result<u16, DeviceError>,
        now_ms: u64,
        host_on: bool,
        hold_new_until: u64,
    ) -> Option<DiscreteRecorded> {
        let i = usize::from(id.0);
        let desc = self.descs.get(i)?;
        let state = &mut self.states[i];
        let old = state.reading;
        let old_states = state.states();
        state.reading = if desc.power == PowerDomain::HostOn && !host_on {
            DiscreteReading::NoData(NoData::HostOff)
        } else {
            match result {
                Ok(bits) => {
                    let mut bits = bits & desc.readable & STATE_BITS;
                    if desc.power == PowerDomain::HostOn && now_ms < hold_new_until {
                        bits &= old_states;
                    }
                    DiscreteReading::States(bits)
                }
                // Keep the states through a failed read, as the threshold engine keeps its
                // assertions, unless the sensor never had a reading.
                Err(e) => match old {
                    DiscreteReading::States(_) if e != DeviceError::Nack => old,
                    _ => DiscreteReading::NoData(e.into()),
                },
            }
        };
        state.updated_ms = now_ms;
        let new_states = state.states();

        self.due[i] = crate::poller::next_due(self.due[i], now_ms, desc.poll_ms);

        Some(DiscreteRecorded {
            id,
            old,
            new: state.reading,
            old_states,
            new_states,
            assertion_mask: desc.assertion_mask,
            deassertion_mask: desc.deassertion_mask,
        })
    }

    /// Whether sensor `id` may log one more event of `offset` in direction `deassertion` at
    /// `now_ms`: the threshold engine's limit ([`EVENTS_PER_WINDOW`] per [`EVENT_WINDOW_MS`]
    /// per kind), so a chattering intrusion switch cannot flood the SEL.
    pub fn allow_event(
        &mut self,
        id: DiscreteId,
        offset: u8,
        deassertion: bool,
        now_ms: u64,
    ) -> bool {
        let Some((start, counts)) = self.events.get_mut(usize::from(id.0)) else {
            return false;
        };
        if now_ms.saturating_sub(*start) >= EVENT_WINDOW_MS || *start > now_ms {
            *start = now_ms;
            *counts = [0; DISCRETE_EVENT_SLOTS];
        }
        let slot = usize::from(offset) * 2 + usize::from(deassertion);
        match counts.get_mut(slot) {
            Some(n) if *n < EVENTS_PER_WINDOW => {
                *n += 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const PRESENT: u16 = 1 << 0;
    const FAILED: u16 = 1 << 1;
    const PREDICTIVE: u16 = 1 << 2;
    const INPUT_LOST: u16 = 1 << 3;

    fn psu(power: PowerDomain) -> DiscreteDesc {
        DiscreteDesc {
            key: "psu0_status".into(),
            name: "PSU0 Status".into(),
            description: String::new(),
            number: 0x80,
            owner: 0x20,
            lun: 0,
            entity_id: 10,
            entity_instance: 1,
            sensor_type: 0x08,
            reading_type: 0x6F,
            readable: 0x0F,
            // Presence is logged only when it goes away, as most BMCs do: a PSU being present
            // is not news at every start.
            assertion_mask: FAILED | PREDICTIVE | INPUT_LOST,
            deassertion_mask: PRESENT | FAILED | PREDICTIVE | INPUT_LOST,
            poll_ms: 1000,
            power,
            source: DiscreteSource::Device {
                device: 0,
                channel: 0,
            },
        }
    }

    fn table() -> DiscreteTable {
        let mut bmc = psu(PowerDomain::Always);
        bmc.key = "power_unit".into();
        bmc.source = DiscreteSource::Bmc(BmcSensor::PowerUnit);
        DiscreteTable::new(vec![
            psu(PowerDomain::Always),
            psu(PowerDomain::HostOn),
            bmc,
        ])
    }

    const A: DiscreteId = DiscreteId(0);
    const H: DiscreteId = DiscreteId(1);

    #[test]
    fn state_changes_become_events() {
        type Step = (
            Result<u16, DeviceError>,
            DiscreteReading,
            &'static [(u8, bool)],
        );
        use DiscreteReading::{NoData as N, States as S};
        let steps: &[Step] = &[
            // First reading: present, nothing logged (presence assertions are masked).
            (Ok(PRESENT), S(PRESENT), &[]),
            (Ok(PRESENT | FAILED), S(PRESENT | FAILED), &[(1, false)]),
            // A bus error keeps the states: no deassertion, no reassertion.
            (Err(DeviceError::Bus), S(PRESENT | FAILED), &[]),
            (Ok(PRESENT | FAILED), S(PRESENT | FAILED), &[]),
            // Failure clears while input is lost: end of one, start of the other.
            (
                Ok(PRESENT | INPUT_LOST),
                S(PRESENT | INPUT_LOST),
                &[(1, true), (3, false)],
            ),
            (Ok(PRESENT), S(PRESENT), &[(3, true)]),
            // Bits outside the readable mask never become states.
            (Ok(PRESENT | 0x8000 | 0x0100), S(PRESENT), &[]),
            // Pulled: presence deasserts (a NACK is absence, not a kept state).
            (Err(DeviceError::Nack), N(NoData::NotPresent), &[(0, true)]),
            (
                Ok(PRESENT | PREDICTIVE),
                S(PRESENT | PREDICTIVE),
                &[(2, false)],
            ),
        ];
        let mut t = table();
        for (i, (res, reading, events)) in steps.iter().enumerate() {
            let r = t.record(A, *res, i as u64 * 1000, true, 0).unwrap();
            assert_eq!(r.new, *reading, "step {i}");
            assert_eq!(r.events().collect::<Vec<_>>(), *events, "step {i}");
            assert_eq!(t.state(A).unwrap().reading, *reading, "step {i}");
        }
    }

    #[test]
    fn no_data_reasons_match_numeric_sensors() {
        let table_ = [
            (DeviceError::Nack, NoData::NotPresent),
            (DeviceError::Bus, NoData::BusError),
            (DeviceError::Timeout, NoData::Timeout),
            (DeviceError::BadData, NoData::Unavailable),
        ];
        for (e, want) in table_ {
            let mut t = table();
            let r = t.record(A, Err(e), 5, true, 0).unwrap();
            assert_eq!(r.new, DiscreteReading::NoData(want), "{e:?}");
            assert_eq!(r.events().count(), 0);
        }
    }

    #[test]
    fn events_list_deassertions_then_assertions_by_offset() {
        let r = DiscreteRecorded {
            id: DiscreteId(0),
            old: DiscreteReading::States(0),
            new: DiscreteReading::States(0),
            old_states: 1 << 14 | 1 << 2 | 1,
            new_states: 1 << 15 | 1 << 13 | 1 << 3,
            assertion_mask: 0xFFFF,
            deassertion_mask: 0xFFFF,
        };
        // Offset 15 is not a state: neither direction reports it.
        assert_eq!(
            r.events().collect::<Vec<_>>(),
            vec![(0, true), (2, true), (14, true), (3, false), (13, false)]
        );
    }

    #[test]
    fn host_off_and_hold_off() {
        let mut t = table();
        t.record(H, Ok(PRESENT | FAILED), 0, true, 0).unwrap();
        // Host off: HostOff, and the failure deasserts quietly... as a deassertion event.
        let r = t.record(H, Ok(PRESENT | FAILED), 1000, false, 0).unwrap();
        assert_eq!(r.new, DiscreteReading::NoData(NoData::HostOff));
        assert_eq!(r.events().collect::<Vec<_>>(), vec![(0, true), (1, true)]);
        // Host back on at 2000, hold-off until 7000: nothing new asserts inside it.
        let r = t.record(H, Ok(PRESENT | FAILED), 2000, true, 7000).unwrap();
        assert_eq!(r.new, DiscreteReading::States(0));
        let r = t.record(H, Ok(PRESENT | FAILED), 7000, true, 7000).unwrap();
        assert_eq!(r.new, DiscreteReading::States(PRESENT | FAILED));
        assert_eq!(r.events().collect::<Vec<_>>(), vec![(1, false)]);
        // Standby sensors ignore the hold-off.
        let r = t.record(A, Ok(FAILED), 2000, true, 7000).unwrap();
        assert_eq!(r.new, DiscreteReading::States(FAILED));
    }

    #[test]
    fn gpio_levels_to_states() {
        // (offset, active low, level, states)
        let cases = [
            (0, false, true, 0x0001),
            (0, false, false, 0),
            (0, true, false, 0x0001),
            (0, true, true, 0),
            (7, false, true, 0x0080),
            (15, false, true, 0),
        ];
        for (offset, low, level, want) in cases {
            assert_eq!(DiscreteSource::gpio_states(offset, low, level), want);
        }
    }

    #[test]
    fn rate_limit_per_kind() {
        let mut t = table();
        for k in 0..u64::from(EVENTS_PER_WINDOW) {
            assert!(t.allow_event(A, 1, false, k));
        }
        assert!(!t.allow_event(A, 1, false, 10));
        assert!(t.allow_event(A, 1, true, 10));
        assert!(t.allow_event(H, 1, false, 10));
        assert!(t.allow_event(A, 1, false, EVENT_WINDOW_MS));
        assert!(!t.allow_event(A, 15, false, 0));
        assert!(!t.allow_event(DiscreteId(9), 0, false, 0));
    }

    #[test]
    fn schedule_skips_bmc_sensors() {
        let mut t = table();
        assert_eq!(t.next_due(0), Some(A));
        t.record(A, Ok(0), 0, true, 0).unwrap();
        assert_eq!(t.next_due(0), Some(H));
        t.record(H, Ok(0), 0, true, 0).unwrap();
        assert_eq!(t.next_due(0), None);
        assert_eq!(t.next_deadline(), Some(1000));
        t.mark_due(PowerDomain::HostOn, 10);
        assert_eq!(t.next_due(10), Some(H));
        assert_eq!(t.find_bmc(BmcSensor::PowerUnit), Some(DiscreteId(2)));
        assert_eq!(t.find_bmc(BmcSensor::EventLog), None);
        assert_eq!(t.find_key("power_unit"), Some(DiscreteId(2)));
        assert!(t.record(DiscreteId(3), Ok(0), 0, true, 0).is_none());
    }
}
