//! The poller's decisions, without the poller: which sensor to read next, what a read result does
//! to the cache, and which threshold changes a console may make. The agent owns the timer and the
//! buses and passes time in as `now_ms`, so every rule here runs the same on every image and in
//! tests without a clock.

use wsbmc_hal::DeviceError;

use crate::threshold::{OrderError, evaluate};
use crate::{Monitor, NoData, PowerDomain, Reading, SensorDesc, SensorId, Threshold, Thresholds};

/// How long after a host power change new lower-threshold assertions are held off (the 5 s
/// OpenBMC's threshold handling uses around power transitions).
pub const LOWER_HOLD_OFF_MS: u64 = 5_000;
/// Events of one kind (one threshold, one direction) a sensor may log per window.
pub const EVENTS_PER_WINDOW: u8 = 4;
/// The rate limit's window.
pub const EVENT_WINDOW_MS: u64 = 60_000;

/// Bits of the upper thresholds in an asserted mask.
const UPPER_MASK: u8 = Threshold::UpperNonCritical.bit()
    | Threshold::UpperCritical.bit()
    | Threshold::UpperFatal.bit();

/// The sensor id is not in the table. Ids come from the board file, so this is a caller bug or a
/// stale selector from a console, never a hardware condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownSensor(pub SensorId);

/// Why a console's threshold change was refused; the CIM side maps each to a WS-Man fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdError {
    UnknownSensor(SensorId),
    /// The board does not let consoles change this threshold.
    NotSettable(Threshold),
    /// The new value would break LNR ≤ LC ≤ LNC < UNC ≤ UC ≤ UNR.
    Order(OrderError),
}

impl From<DeviceError> for NoData {
    /// A NACK most often means the part is unpowered or unfitted, which consoles show as absent
    /// rather than as a fault; a part that answers nonsense is present but has nothing to say.
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Nack => NoData::NotPresent,
            DeviceError::Bus => NoData::BusError,
            DeviceError::Timeout => NoData::Timeout,
            DeviceError::BadData | DeviceError::NoSuchChannel => NoData::Unavailable,
        }
    }
}

/// What one [`Monitor::record`] changed, so a SEL watcher can log edges and an event queue can
/// notify subscribers without keeping its own copy of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: SensorId,
    pub old_reading: Reading,
    pub new_reading: Reading,
    pub old_asserted: u8,
    pub new_asserted: u8,
}

impl Recorded {
    /// Thresholds that went from deasserted to asserted on this reading (SEL "assertion" records).
    pub fn newly_asserted(&self) -> u8 {
        self.new_asserted & !self.old_asserted
    }

    /// Thresholds that went from asserted to deasserted (SEL "deassertion" records).
    pub fn newly_deasserted(&self) -> u8 {
        self.old_asserted & !self.new_asserted
    }

    /// True when the sensor gained or lost a reading or changed no-data reason: the edge a
    /// console sees as OperationalStatus changing, worth an event even without a threshold.
    pub fn availability_changed(&self) -> bool {
        match (self.old_reading, self.new_reading) {
            (Reading::Value(_), Reading::Value(_)) => false,
            (Reading::NoData(a), Reading::NoData(b)) => a != b,
            _ => true,
        }
    }
}

impl Monitor {
    fn index(&self, id: SensorId) -> Option<usize> {
        let i = usize::from(id.0);
        (i < self.descs.len()).then_some(i)
    }

    fn ids(&self) -> impl Iterator<Item = SensorId> + '_ {
        (0..self.descs.len()).filter_map(|i| u16::try_from(i).ok().map(SensorId))
    }

    /// The earliest due time no later than `by` and its index, the lowest index on ties: the one
    /// scan behind [`Monitor::next_due`] and [`Monitor::next_deadline`]. Ids end at u16::MAX, so
    /// the scan does too: a sensor past that has no id to be polled by.
    fn earliest(&self, by: u64) -> Option<(usize, u64)> {
        let mut best: Option<(usize, u64)> = None;
        for (i, &due) in self.due.iter().enumerate().take(usize::from(u16::MAX) + 1) {
            if due <= by && best.is_none_or(|(_, b)| due < b) {
                best = Some((i, due));
            }
        }
        best
    }

    /// The most overdue sensor at `now_ms`, lowest id first on ties, or `None` if nothing is due.
    /// Serving the most overdue first keeps one slow device from starving the rest.
    pub fn next_due(&self, now_ms: u64) -> Option<SensorId> {
        let (i, _) = self.earliest(now_ms)?;
        u16::try_from(i).ok().map(SensorId)
    }

    /// Every sensor due at `now_ms`, in table order, for a poller that reads a batch per wake-up.
    pub fn due(&self, now_ms: u64) -> impl Iterator<Item = SensorId> + '_ {
        self.ids()
            .filter(move |id| self.due[usize::from(id.0)] <= now_ms)
    }

    /// When the poller must next wake up; `None` only for a board without sensors.
    pub fn next_deadline(&self) -> Option<u64> {
        self.earliest(u64::MAX).map(|(_, due)| due)
    }

    /// When one sensor is next due.
    pub fn due_at(&self, id: SensorId) -> Option<u64> {
        self.due.get(usize::from(id.0)).copied()
    }

    /// Makes every sensor of `domain` due at `now_ms`. Call it on a host power transition so the
    /// host-powered sensors change between HostOff and a reading within one poll, not one period.
    pub fn mark_due(&mut self, domain: PowerDomain, now_ms: u64) {
        for (d, due) in self.descs.iter().zip(self.due.iter_mut()) {
            if d.power == domain {
                *due = (*due).min(now_ms);
            }
        }
    }

    /// The host's power changed at `now_ms`: host-powered sensors are polled at once, and for
    /// [`LOWER_HOLD_OFF_MS`] no sensor asserts a *new* lower threshold. While the host powers on
    /// or off, its rails (and the 12 V input feeding them) dip through their lower limits as a
    /// matter of course; an alarm then would be noise, and a real under-voltage is still there,
    /// and asserted, once the hold-off ends. Thresholds already asserted stay asserted, and upper
    /// thresholds are never held.
    pub fn host_power_changed(&mut self, now_ms: u64) {
        self.mark_due(PowerDomain::HostOn, now_ms);
        self.discrete.mark_due(PowerDomain::HostOn, now_ms);
        self.hold_lower_until = now_ms.saturating_add(LOWER_HOLD_OFF_MS);
    }

    /// Whether sensor `id` may log one more event of kind `slot` (below [`EVENT_SLOTS`]: IPMI
    /// threshold offset × 2 + deassertion) at `now_ms`: at most [`EVENTS_PER_WINDOW`] of each kind
    /// per [`EVENT_WINDOW_MS`]. The noise to suppress is one threshold flapping (a reading
    /// dithering inside its hysteresis band, a loose connector), which would fill a SEL of a few
    /// hundred records in minutes and push out what matters; distinct transitions (a sensor
    /// crossing several limits on its way up) are each logged. The caller counts refusals.
    pub fn allow_event(&mut self, id: SensorId, slot: usize, now_ms: u64) -> bool {
        self.desc_and_window(id)
            .is_some_and(|(_, mut window)| window.allow(slot, now_ms))
    }

    /// Sensor `id`'s description beside its event window: the events a record raised borrow
    /// the description, so each can be admitted as it is made, with nothing collected first.
    pub fn desc_and_window(&mut self, id: SensorId) -> Option<(&SensorDesc, EventWindow<'_>)> {
        let i = self.index(id)?;
        Some((&self.descs[i], EventWindow(&mut self.events[i])))
    }

    /// Whether the poller should touch the bus for this sensor: a host-powered part is unpowered
    /// while the host is off, and reading it would only produce NACKs. When this is false the
    /// poller still calls [`Monitor::record`] (with any result) to keep the schedule and the cache
    /// honest.
    pub fn reads_bus(&self, id: SensorId, host_on: bool) -> bool {
        self.desc(id)
            .is_some_and(|d| host_on || d.power == PowerDomain::Always)
    }

    /// Applies one poll result at `now_ms` and reschedules the sensor.
    ///
    /// A failed read keeps the asserted thresholds as they were: a transient bus error must not
    /// log a deassertion and a fresh assertion a second later. A host-powered sensor with the
    /// host off reads HostOff and drops its assertions, because an unpowered rail reading zero is
    /// expected, not an alarm; `result` is ignored then.
    pub fn record(
        &mut self,
        id: SensorId,
        result: Result<i32, DeviceError>,
        now_ms: u64,
        host_on: bool,
    ) -> Result<Recorded, UnknownSensor> {
        let i = self.index(id).ok_or(UnknownSensor(id))?;
        let desc = &self.descs[i];
        let state = &mut self.states[i];
        let old_reading = state.reading;
        let old_asserted = state.asserted;

        if desc.power == PowerDomain::HostOn && !host_on {
            state.reading = Reading::NoData(NoData::HostOff);
            state.asserted = 0;
        } else {
            match result {
                Ok(v) => {
                    state.reading = Reading::Value(v);
                    state.min = Some(state.min.map_or(v, |m| m.min(v)));
                    state.max = Some(state.max.map_or(v, |m| m.max(v)));
                    let mut asserted = evaluate(&desc.thresholds, desc.hysteresis, old_asserted, v);
                    if now_ms < self.hold_lower_until {
                        asserted &= old_asserted | UPPER_MASK;
                    }
                    state.asserted = asserted;
                }
                Err(e) => state.reading = Reading::NoData(e.into()),
            }
        }
        state.updated_ms = now_ms;

        self.due[i] = next_due(self.due[i], now_ms, desc.poll_ms);

        Ok(Recorded {
            id,
            old_reading,
            new_reading: state.reading,
            old_asserted,
            new_asserted: state.asserted,
        })
    }

    /// A console's change of one threshold (`None` removes it). Only thresholds the board marks
    /// settable may change, and the result must stay ordered. The asserted mask is re-evaluated
    /// at the next [`Monitor::record`], so threshold edges reach the SEL through one path only.
    pub fn set_threshold(
        &mut self,
        id: SensorId,
        threshold: Threshold,
        value: Option<i32>,
    ) -> Result<(), ThresholdError> {
        let i = self.index(id).ok_or(ThresholdError::UnknownSensor(id))?;
        let desc = &mut self.descs[i];
        if desc.settable & threshold.bit() == 0 {
            return Err(ThresholdError::NotSettable(threshold));
        }
        let mut next = desc.thresholds;
        next.set(threshold, value);
        next.check_order().map_err(ThresholdError::Order)?;
        desc.thresholds = next;
        Ok(())
    }

    /// Replaces a sensor's whole threshold set, as restored from the store at start-up. The set
    /// may differ from the board's defaults only in settable thresholds and must be ordered; a
    /// stored set that no longer fits the board (the board file changed) is refused whole.
    pub fn set_thresholds(
        &mut self,
        id: SensorId,
        thresholds: Thresholds,
    ) -> Result<(), ThresholdError> {
        let i = self.index(id).ok_or(ThresholdError::UnknownSensor(id))?;
        let desc = &mut self.descs[i];
        if let Some(t) = Threshold::ALL.into_iter().find(|t| {
            desc.settable & t.bit() == 0 && thresholds.get(*t) != desc.default_thresholds.get(*t)
        }) {
            return Err(ThresholdError::NotSettable(t));
        }
        thresholds.check_order().map_err(ThresholdError::Order)?;
        desc.thresholds = thresholds;
        Ok(())
    }

    /// Puts back the board file's thresholds (CIM RestoreDefaultThresholds).
    pub fn restore_default_thresholds(&mut self, id: SensorId) -> Result<(), UnknownSensor> {
        let i = self.index(id).ok_or(UnknownSensor(id))?;
        let desc = &mut self.descs[i];
        desc.thresholds = desc.default_thresholds;
        Ok(())
    }

    /// The thresholds in force for a sensor, after any console changes.
    pub fn thresholds(&self, id: SensorId) -> Option<&Thresholds> {
        self.desc(id).map(|d| &d.thresholds)
    }
}

/// One sensor's event rate limit (see [`Monitor::allow_event`]).
pub struct EventWindow<'a>(&'a mut (u64, [u8; crate::EVENT_SLOTS]));

impl EventWindow<'_> {
    /// As [`Monitor::allow_event`], for this sensor.
    pub fn allow(&mut self, slot: usize, now_ms: u64) -> bool {
        let (start, counts) = &mut *self.0;
        if now_ms.saturating_sub(*start) >= EVENT_WINDOW_MS || *start > now_ms {
            *start = now_ms;
            *counts = [0; crate::EVENT_SLOTS];
        }
        match counts.get_mut(slot) {
            Some(n) if *n < EVENTS_PER_WINDOW => {
                *n += 1;
                true
            }
            _ => false,
        }
    }
}

/// When a sensor read at `now_ms` (due at `due`) is next due. Keeps the cadence when the poller is
/// merely late; after a long stall (or an early, forced read) restarts the period from now instead
/// of firing a burst of catch-up reads. Numeric and discrete sensors poll alike.
pub(crate) fn next_due(due: u64, now_ms: u64, poll_ms: u32) -> u64 {
    let period = u64::from(poll_ms.max(1));
    // On cadence when less than a period late (`due + period > now_ms` without the overflow);
    // one saturating add, since each inlined copy costs the bare-metal image flash.
    let from = if due <= now_ms && now_ms - due < period {
        due
    } else {
        now_ms
    };
    from.saturating_add(period)
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    use super::*;
    use crate::{Quantity, SensorDesc, SensorSource, SensorState};

    /// The cadence rule as first written (two saturating sums), against which the one-sum form
    /// is checked at the edges where the sums saturate.
    fn next_due_with_sums(due: u64, now_ms: u64, poll_ms: u32) -> u64 {
        let period = u64::from(poll_ms.max(1));
        let cadence = due.saturating_add(period);
        if due <= now_ms && cadence > now_ms {
            cadence
        } else {
            now_ms.saturating_add(period)
        }
    }

    #[test]
    fn next_due_matches_the_rule_with_sums() {
        let times = [
            0,
            1,
            999,
            1000,
            1001,
            5000,
            u64::MAX - 1001,
            u64::MAX - 1000,
            u64::MAX - 999,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &due in &times {
            for &now in &times {
                for poll in [0, 1, 1000, u32::MAX] {
                    assert_eq!(
                        next_due(due, now, poll),
                        next_due_with_sums(due, now, poll),
                        "due {due} now {now} poll {poll}"
                    );
                }
            }
        }
    }

    const UNC: u8 = Threshold::UpperNonCritical.bit();
    const UC: u8 = Threshold::UpperCritical.bit();
    const LNC: u8 = Threshold::LowerNonCritical.bit();

    fn desc(key: &str, poll_ms: u32, power: PowerDomain) -> SensorDesc {
        let thresholds = Thresholds {
            lower_non_critical: Some(5_000),
            upper_non_critical: Some(85_000),
            upper_critical: Some(95_000),
            ..Thresholds::default()
        };
        SensorDesc {
            key: key.into(),
            name: key.into(),
            description: String::new(),
            number: 1,
            owner: 0x20,
            lun: 0,
            entity_id: 3,
            entity_instance: 1,
            quantity: Quantity::Temperature,
            scale: -3,
            thresholds,
            default_thresholds: thresholds,
            settable: LNC | UNC,
            hysteresis: 2_000,
            min_readable: -128_000,
            max_readable: 127_000,
            nominal: None,
            poll_ms,
            power,
            source: SensorSource {
                device: 0,
                channel: 0,
            },
        }
    }

    fn monitor() -> Monitor {
        Monitor::new(vec![
            desc("a", 1000, PowerDomain::Always),
            desc("b", 500, PowerDomain::HostOn),
            desc("c", 2000, PowerDomain::Always),
        ])
    }

    const A: SensorId = SensorId(0);
    const B: SensorId = SensorId(1);
    const C: SensorId = SensorId(2);

    #[test]
    fn all_due_at_start_then_by_period() {
        let mut m = monitor();
        assert_eq!(m.next_deadline(), Some(0));
        assert_eq!(m.due(0).collect::<Vec<_>>(), vec![A, B, C]);
        for id in [A, B, C] {
            assert_eq!(m.next_due(10), Some(id));
            m.record(id, Ok(20_000), 10, true).unwrap();
        }
        assert_eq!(m.next_due(10), None);
        // Late by 10 ms, the periods still count from the original deadline.
        assert_eq!(m.next_deadline(), Some(500));
        // (now, expected next_due) while never recording: the earliest deadline wins.
        let table: &[(u64, Option<SensorId>)] = &[
            (499, None),
            (500, Some(B)),
            (1000, Some(B)),
            (2000, Some(B)),
        ];
        for (now, want) in table {
            assert_eq!(m.next_due(*now), *want, "now {now}");
        }
        assert_eq!(m.due(1000).collect::<Vec<_>>(), vec![A, B]);
        assert_eq!(m.due(2000).collect::<Vec<_>>(), vec![A, B, C]);
    }

    #[test]
    fn most_overdue_first() {
        let mut m = monitor();
        m.record(A, Ok(1), 0, true).unwrap(); // due 1000
        m.record(B, Ok(1), 400, true).unwrap(); // due 900
        m.record(C, Ok(1), 0, true).unwrap(); // due 2000
        assert_eq!(m.next_due(1500), Some(B));
        m.record(B, Ok(1), 1500, true).unwrap();
        assert_eq!(m.next_due(1500), Some(A));
    }

    #[test]
    fn reschedule_keeps_cadence_or_restarts() {
        // (due before, now, expected due after) for a 1000 ms sensor.
        let table: &[(u64, u64, u64)] = &[
            (1000, 1000, 2000),
            (1000, 1300, 2000), // late: keep the cadence
            (1000, 2000, 3000), // a whole period late: restart from now
            (1000, 5000, 6000), // long stall: no catch-up burst
            (1000, 400, 1400),  // early forced read: restart from now
        ];
        for (before, now, after) in table {
            let mut m = monitor();
            m.due[0] = *before;
            m.record(A, Ok(1), *now, true).unwrap();
            assert_eq!(m.due_at(A), Some(*after), "due {before} now {now}");
        }
    }

    #[test]
    fn mark_due_only_touches_domain() {
        let mut m = monitor();
        for id in [A, B, C] {
            m.record(id, Ok(1), 0, true).unwrap();
        }
        m.mark_due(PowerDomain::HostOn, 100);
        assert_eq!(m.due(100).collect::<Vec<_>>(), vec![B]);
    }

    #[test]
    fn device_errors_map_to_no_data() {
        let table = [
            (DeviceError::Nack, NoData::NotPresent),
            (DeviceError::Bus, NoData::BusError),
            (DeviceError::Timeout, NoData::Timeout),
            (DeviceError::BadData, NoData::Unavailable),
            (DeviceError::NoSuchChannel, NoData::Unavailable),
        ];
        for (e, want) in table {
            let mut m = monitor();
            let r = m.record(A, Err(e), 7, true).unwrap();
            assert_eq!(r.new_reading, Reading::NoData(want));
            let s = m.state(A).unwrap();
            assert_eq!(s.reading, Reading::NoData(want));
            assert_eq!(s.updated_ms, 7);
            assert_eq!((s.min, s.max), (None, None));
        }
    }

    #[test]
    fn min_max_and_updated() {
        let mut m = monitor();
        for (t, v) in [(0, 30_000), (1000, 25_000), (2000, 41_000), (3000, 33_000)] {
            m.record(A, Ok(v), t, true).unwrap();
        }
        m.record(A, Err(DeviceError::Bus), 4000, true).unwrap();
        let s = m.state(A).unwrap();
        assert_eq!((s.min, s.max), (Some(25_000), Some(41_000)));
        assert_eq!(s.updated_ms, 4000);
        assert_eq!(s.reading, Reading::NoData(NoData::BusError));
    }

    #[test]
    fn record_sequence_reports_edges() {
        // (value or error, host_on, asserted after, newly asserted, newly deasserted)
        type Step = (Result<i32, DeviceError>, bool, u8, u8, u8);
        let steps: &[Step] = &[
            (Ok(50_000), true, 0, 0, 0),
            (Ok(86_000), true, UNC, UNC, 0),
            (Ok(96_000), true, UNC | UC, UC, 0),
            (Err(DeviceError::Timeout), true, UNC | UC, 0, 0),
            (Ok(94_000), true, UNC | UC, 0, 0),
            (Ok(92_000), true, UNC, 0, UC),
            (Ok(82_000), true, 0, 0, UNC),
            (Ok(4_000), true, LNC, LNC, 0),
            (Ok(6_000), true, LNC, 0, 0),
            (Ok(7_500), true, 0, 0, LNC),
        ];
        let mut m = monitor();
        for (i, (res, host_on, asserted, up, down)) in steps.iter().enumerate() {
            let r = m.record(A, *res, i as u64 * 1000, *host_on).unwrap();
            assert_eq!(r.new_asserted, *asserted, "step {i}");
            assert_eq!(r.newly_asserted(), *up, "step {i}");
            assert_eq!(r.newly_deasserted(), *down, "step {i}");
            assert_eq!(m.state(A).unwrap().asserted, *asserted, "step {i}");
        }
    }

    #[test]
    fn host_off_quiets_host_powered_sensors() {
        let mut m = monitor();
        let r = m.record(B, Ok(90_000), 0, true).unwrap();
        assert_eq!(r.new_asserted, UNC);
        assert!(r.availability_changed());

        // The result is ignored: an unpowered part's NACK is not an alarm.
        let r = m.record(B, Err(DeviceError::Nack), 500, false).unwrap();
        assert_eq!(r.new_reading, Reading::NoData(NoData::HostOff));
        assert_eq!(r.newly_deasserted(), UNC);
        assert!(r.availability_changed());
        assert_eq!(m.state(B).unwrap().max, Some(90_000));
        let r = m.record(B, Ok(0), 1000, false).unwrap();
        assert_eq!(r.new_reading, Reading::NoData(NoData::HostOff));
        assert!(!r.availability_changed());

        // Standby sensors do not care.
        let r = m.record(A, Ok(90_000), 0, false).unwrap();
        assert_eq!(r.new_reading, Reading::Value(90_000));
        assert_eq!(r.new_asserted, UNC);

        assert!(m.reads_bus(A, false));
        assert!(!m.reads_bus(B, false));
        assert!(m.reads_bus(B, true));
        assert!(!m.reads_bus(SensorId(9), true));
    }

    #[test]
    fn unknown_ids_are_errors() {
        let mut m = monitor();
        let bad = SensorId(3);
        assert_eq!(m.record(bad, Ok(1), 0, true), Err(UnknownSensor(bad)));
        assert_eq!(
            m.set_threshold(bad, Threshold::UpperNonCritical, Some(1)),
            Err(ThresholdError::UnknownSensor(bad))
        );
        assert_eq!(m.restore_default_thresholds(bad), Err(UnknownSensor(bad)));
        assert_eq!(m.due_at(bad), None);
    }

    #[test]
    fn set_threshold_table() {
        use Threshold::*;
        let order = |lower, higher| Err(ThresholdError::Order(OrderError { lower, higher }));
        let table: &[(Threshold, Option<i32>, Result<(), ThresholdError>)] = &[
            (UpperNonCritical, Some(80_000), Ok(())),
            (UpperNonCritical, Some(95_000), Ok(())),
            (
                UpperNonCritical,
                Some(95_001),
                order(UpperNonCritical, UpperCritical),
            ),
            (
                UpperNonCritical,
                Some(5_000),
                order(LowerNonCritical, UpperNonCritical),
            ),
            (UpperNonCritical, None, Ok(())),
            (LowerNonCritical, Some(-40_000), Ok(())),
            (
                LowerNonCritical,
                Some(85_000),
                order(LowerNonCritical, UpperNonCritical),
            ),
            (
                UpperCritical,
                Some(100_000),
                Err(ThresholdError::NotSettable(UpperCritical)),
            ),
            (
                UpperFatal,
                None,
                Err(ThresholdError::NotSettable(UpperFatal)),
            ),
        ];
        for (t, v, want) in table {
            let mut m = monitor();
            let before = *m.thresholds(A).unwrap();
            assert_eq!(m.set_threshold(A, *t, *v), *want, "{t:?} = {v:?}");
            let after = *m.thresholds(A).unwrap();
            if want.is_ok() {
                assert_eq!(after.get(*t), *v);
            } else {
                assert_eq!(
                    after, before,
                    "a refused change leaves the thresholds alone"
                );
            }
        }
    }

    #[test]
    fn lower_assertions_are_held_off_after_a_host_power_change() {
        // (ms since the power change, reading, asserted mask expected afterwards)
        let lnc = LNC;
        let table: &[(u64, i32, u8)] = &[
            (0, 4_000, 0),              // below LNC, but the rails are ramping
            (4_999, 4_000, 0),          // still inside the hold-off
            (5_000, 4_000, lnc),        // hold-off over: asserts
            (6_000, 100_000, UNC | UC), // upper thresholds are never held; LNC clears
        ];
        let mut m = monitor();
        m.record(A, Ok(20_000), 0, true).unwrap();
        m.host_power_changed(10_000);
        for (dt, v, want) in table {
            let r = m.record(A, Ok(*v), 10_000 + dt, true).unwrap();
            assert_eq!(r.new_asserted, *want, "+{dt} ms at {v}");
        }
        // An assertion made before the change is kept through the hold-off.
        let mut m = monitor();
        m.record(A, Ok(4_000), 0, true).unwrap();
        m.host_power_changed(1_000);
        assert_eq!(
            m.record(A, Ok(4_000), 1_500, true).unwrap().new_asserted,
            LNC
        );
    }

    #[test]
    fn each_kind_of_event_is_rate_limited_per_sensor() {
        let mut m = monitor();
        let per = u64::from(EVENTS_PER_WINDOW);
        // One threshold flapping: the first `per` pass, then nothing until the window ends.
        for k in 0..per {
            assert!(m.allow_event(A, 7, k * 100), "event {k}");
        }
        assert!(!m.allow_event(A, 7, 1_000));
        // Other kinds on the same sensor, and the same kind on another sensor, are unaffected.
        assert!(m.allow_event(A, 9, 1_000));
        assert!(m.allow_event(A, 7 * 2 + 1, 1_000));
        assert!(m.allow_event(B, 7, 1_000));
        // A new window.
        assert!(m.allow_event(A, 7, EVENT_WINDOW_MS));
        // Out-of-range slots and sensors are refused, not a panic.
        assert!(!m.allow_event(A, crate::EVENT_SLOTS, 0));
        assert!(!m.allow_event(SensorId(99), 0, 0));
    }

    #[test]
    fn whole_threshold_sets_are_checked_against_the_board() {
        let mut m = monitor();
        let defaults = m.desc(A).unwrap().default_thresholds;
        // Both settable thresholds moved together, in an order one-at-a-time changes could not
        // take (the new LNC is above the old UNC).
        let moved = Thresholds {
            lower_non_critical: Some(86_000),
            upper_non_critical: Some(90_000),
            ..defaults
        };
        assert_eq!(m.set_thresholds(A, moved), Ok(()));
        assert_eq!(m.thresholds(A), Some(&moved));
        let critical = Thresholds {
            upper_critical: Some(99_000),
            ..defaults
        };
        assert_eq!(
            m.set_thresholds(A, critical),
            Err(ThresholdError::NotSettable(Threshold::UpperCritical))
        );
        let unordered = Thresholds {
            upper_non_critical: Some(96_000),
            ..defaults
        };
        assert!(matches!(
            m.set_thresholds(A, unordered),
            Err(ThresholdError::Order(_))
        ));
        assert_eq!(m.thresholds(A), Some(&moved), "refused sets change nothing");
    }

    #[test]
    fn changed_threshold_applies_at_next_record_and_restores() {
        let mut m = monitor();
        m.record(A, Ok(70_000), 0, true).unwrap();
        m.set_threshold(A, Threshold::UpperNonCritical, Some(60_000))
            .unwrap();
        assert_eq!(m.state(A).unwrap().asserted, 0);
        let r = m.record(A, Ok(70_000), 1000, true).unwrap();
        assert_eq!(r.newly_asserted(), UNC);
        m.restore_default_thresholds(A).unwrap();
        assert_eq!(
            m.thresholds(A),
            Some(&m.desc(A).unwrap().default_thresholds)
        );
        let r = m.record(A, Ok(70_000), 2000, true).unwrap();
        assert_eq!(r.newly_deasserted(), UNC);
    }

    #[test]
    fn discrete_sensors_share_the_host_power_hold_off() {
        use crate::{DiscreteDesc, DiscreteId, DiscreteReading, DiscreteSource};
        let d = DiscreteDesc {
            key: "cpu0_trip".into(),
            name: "CPU0 Trip".into(),
            description: String::new(),
            number: 0xA5,
            owner: 0x20,
            lun: 0,
            entity_id: 3,
            entity_instance: 1,
            sensor_type: 0x07,
            reading_type: 0x6F,
            readable: 0x02,
            assertion_mask: 0x02,
            deassertion_mask: 0x02,
            poll_ms: 500,
            power: PowerDomain::HostOn,
            source: DiscreteSource::Gpio {
                line: 0,
                offset: 1,
                active_low: true,
            },
        };
        let mut m = Monitor::with_discrete(vec![desc("a", 1000, PowerDomain::Always)], vec![d]);
        let id = DiscreteId(0);
        m.record_discrete(id, Ok(0), 0, true).unwrap();
        m.host_power_changed(10_000);
        // Due at once, and a trip seen while the rails ramp is held until the hold-off ends.
        assert_eq!(m.discrete().next_due(10_000), Some(id));
        let r = m.record_discrete(id, Ok(0x02), 10_100, true).unwrap();
        assert_eq!(r.new, DiscreteReading::States(0));
        let r = m
            .record_discrete(id, Ok(0x02), 10_000 + LOWER_HOLD_OFF_MS, true)
            .unwrap();
        assert_eq!(r.new, DiscreteReading::States(0x02));
        assert_eq!(r.events().collect::<Vec<_>>(), vec![(1, false)]);
        assert!(m.allow_discrete_event(id, 1, false, 0));
        assert_eq!(m.record_discrete(DiscreteId(1), Ok(0), 0, true), None);
    }

    #[test]
    fn empty_board() {
        let m = Monitor::new(Vec::new());
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.next_due(u64::MAX), None);
        assert_eq!(m.states(), &[] as &[SensorState]);
    }
}
