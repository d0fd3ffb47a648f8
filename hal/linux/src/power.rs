//! Host power through GPIO lines: a power button output, a power-good input, an optional reset
//! button output.
//!
//! What the host is doing is inferred as a BMC does on real boards: power-good says whether the
//! rails are up, and a button press starts a transition that ends when power-good follows (or a
//! time limit passes and power-good alone decides again). The decisions are in [`PowerLogic`],
//! which takes time and the power-good level as inputs so it is tested without hardware.
//!
//! A forced off is the same button held past the chipset's override, which cuts the rails
//! whatever the OS does; a cycle from on is a forced off and, once power-good has fallen, a
//! press. Both take seconds, and the request is refused as busy for all of them.

use std::time::{Duration, Instant};

use wsbmc_hal::{HostPower, PowerError, PowerRequest, PowerState};

use crate::gpio::{GpioError, LineDirection, Lines, find_chip, find_line};

/// Timing of the button and the longest a transition may take before power-good alone decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerTiming {
    /// How long a "press" holds the button: long enough for the chipset's debounce, far short
    /// of the 4 s override that forces the host off.
    pub press_ms: u64,
    pub power_on_limit_ms: u64,
    pub soft_off_limit_ms: u64,
    pub reset_ms: u64,
    /// How long a forced off holds the button: past the override (4 s on most chipsets), with
    /// margin for one that counts slowly.
    pub force_off_ms: u64,
}

impl Default for PowerTiming {
    fn default() -> Self {
        PowerTiming {
            press_ms: 200,
            power_on_limit_ms: 10_000,
            soft_off_limit_ms: 60_000,
            reset_ms: 1_000,
            force_off_ms: 6_000,
        }
    }
}

/// How long power-good may take to fall once a forced off's hold ends. The override cuts the
/// rails within milliseconds, so power-good still up this long after the release means it did
/// not happen (a chipset that waits longer than the hold, a stuck power-good): the host reads
/// on again, and a cycle stops rather than pressing the button of a running host.
pub const FORCE_OFF_SETTLE_MS: u64 = 5_000;

/// How often a cycle looks at power-good between its forced off and its press: well inside
/// the settle time, and a press 50 ms late is nothing to a host that was just cut off.
const CYCLE_POLL_MS: u64 = 50;

/// The most times `request` asks [`PowerLogic::next`]: a bound on its loop that still lets the
/// logic, not the count, decide when a cycle gives up.
const MAX_NEXT: u64 = FORCE_OFF_SETTLE_MS / CYCLE_POLL_MS + 4;
const _: () = assert!(MAX_NEXT * CYCLE_POLL_MS > FORCE_OFF_SETTLE_MS);

/// What the lines must do for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    None,
    PressPower,
    PressReset,
    /// Hold the power button for `force_off_ms`.
    HoldPower,
}

/// What is left of a request once its first action has been carried out, from
/// [`PowerLogic::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerNext {
    /// Nothing: the request is done, or gave up and the state says where the host is.
    Done,
    /// Power-good has not followed yet; ask again shortly.
    Wait,
    /// Carry this out, then ask again.
    Then(PowerAction),
}

/// A transition under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pending {
    state: PowerState,
    /// Until the button is released the transition stands whatever power-good does: the
    /// override may cut the rails mid-hold, and the host must not read off (and take a new
    /// request) while the button is still down.
    held_until: u64,
    /// When power-good alone decides again.
    until: u64,
    /// The off half of a cycle: once power-good has fallen, the on half is still to come.
    then_on: bool,
}

impl Pending {
    fn new(state: PowerState, hold_ms: u64, limit_ms: u64, now_ms: u64) -> Self {
        Pending {
            state,
            held_until: now_ms.saturating_add(hold_ms),
            until: now_ms.saturating_add(limit_ms),
            then_on: false,
        }
    }
}

/// The state machine behind [`GpioHostPower`].
#[derive(Debug, Clone)]
pub struct PowerLogic {
    timing: PowerTiming,
    has_reset: bool,
    pending: Option<Pending>,
}

impl PowerLogic {
    pub fn new(timing: PowerTiming, has_reset: bool) -> Self {
        PowerLogic {
            timing,
            has_reset,
            pending: None,
        }
    }

    /// The state at `now_ms` with power-good at `pg`.
    pub fn state(&mut self, pg: bool, now_ms: u64) -> PowerState {
        if let Some(p) = self.pending {
            let followed = match p.state {
                PowerState::PoweringOn => pg,
                PowerState::PoweringOff => !pg && !p.then_on,
                _ => false,
            };
            if now_ms >= p.until || (followed && now_ms >= p.held_until) {
                self.pending = None;
            } else {
                return p.state;
            }
        }
        if pg { PowerState::On } else { PowerState::Off }
    }

    /// Decides what `request` needs, and records the transition it starts.
    pub fn begin(
        &mut self,
        request: PowerRequest,
        pg: bool,
        now_ms: u64,
    ) -> Result<PowerAction, PowerError> {
        let current = self.state(pg, now_ms);
        if current.in_transition() {
            return Err(PowerError::Busy(current));
        }
        let t = self.timing;
        let at = |state, hold_ms, limit_ms| Some(Pending::new(state, hold_ms, limit_ms, now_ms));
        let forced_off = at(
            PowerState::PoweringOff,
            t.force_off_ms,
            t.force_off_ms.saturating_add(FORCE_OFF_SETTLE_MS),
        );
        let (action, pending) = match (request, pg) {
            (PowerRequest::On, true) | (PowerRequest::Off | PowerRequest::ForceOff, false) => {
                (PowerAction::None, None)
            }
            (PowerRequest::On | PowerRequest::Cycle, false) => (
                PowerAction::PressPower,
                at(PowerState::PoweringOn, t.press_ms, t.power_on_limit_ms),
            ),
            (PowerRequest::Off, true) => (
                PowerAction::PressPower,
                at(PowerState::PoweringOff, t.press_ms, t.soft_off_limit_ms),
            ),
            (PowerRequest::ForceOff, true) => (PowerAction::HoldPower, forced_off),
            (PowerRequest::Cycle, true) => (
                PowerAction::HoldPower,
                forced_off.map(|p| Pending { then_on: true, ..p }),
            ),
            (PowerRequest::Reset, _) if !self.has_reset => return Err(PowerError::Unsupported),
            (PowerRequest::Reset, false) => (PowerAction::None, None),
            (PowerRequest::Reset, true) => (
                PowerAction::PressReset,
                at(PowerState::Resetting, t.press_ms, t.reset_ms),
            ),
        };
        self.pending = pending;
        Ok(action)
    }

    /// What `begin`'s request still needs once its action has been carried out: for a cycle
    /// from on, the press that powers the host up again, as soon as power-good has fallen
    /// after the forced off; for anything else, nothing.
    pub fn next(&mut self, pg: bool, now_ms: u64) -> PowerNext {
        let Some(p) = self.pending.filter(|p| p.then_on) else {
            return PowerNext::Done;
        };
        if !pg && now_ms >= p.held_until {
            let t = self.timing;
            self.pending = Some(Pending::new(
                PowerState::PoweringOn,
                t.press_ms,
                t.power_on_limit_ms,
                now_ms,
            ));
            PowerNext::Then(PowerAction::PressPower)
        } else if now_ms >= p.until {
            self.pending = None;
            PowerNext::Done
        } else {
            PowerNext::Wait
        }
    }
}

/// A line as the board file names it: its offset, or its name in the device tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRef {
    Offset(u32),
    Name(String),
}

impl std::fmt::Display for LineRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineRef::Offset(n) => write!(f, "line {n}"),
            LineRef::Name(s) => write!(f, "line \"{s}\""),
        }
    }
}

/// Where the lines are, as the board file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerLines {
    /// A device path, or a chip name or label (see [`crate::find_chip`]).
    pub chip: String,
    pub power_button: LineRef,
    pub power_good: LineRef,
    pub reset_button: Option<LineRef>,
    /// Buttons are usually open-drain, pulled up, pressed = low.
    pub buttons_active_low: bool,
    pub power_good_active_low: bool,
}

/// Which line could not be had, and why: at start-up an operator needs the role and the chip,
/// not just an errno.
#[derive(Debug)]
pub struct OpenError {
    pub what: String,
    pub error: GpioError,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.error)
    }
}

impl std::error::Error for OpenError {}

pub struct GpioHostPower {
    button: Lines,
    reset: Option<Lines>,
    power_good: Lines,
    logic: PowerLogic,
    epoch: Instant,
}

impl GpioHostPower {
    /// Finds the chip and lines and requests them. The buttons start released, so opening
    /// never presses anything; the requests stay held, so no other process can press either.
    pub fn open(lines: &PowerLines, timing: PowerTiming) -> Result<Self, OpenError> {
        let chip = find_chip(&lines.chip).map_err(|error| OpenError {
            what: format!("GPIO chip \"{}\"", lines.chip),
            error,
        })?;
        let mut taken: Vec<(u32, &str)> = Vec::new();
        let mut request = |role: &'static str, line: &LineRef, direction, active_low| {
            let what = || format!("{role} ({line} of {chip})");
            let offset = match line {
                LineRef::Offset(n) => *n,
                LineRef::Name(name) => find_line(&chip, name).map_err(|error| OpenError {
                    what: what(),
                    error,
                })?,
            };
            if let Some((_, other)) = taken.iter().find(|(o, _)| *o == offset) {
                return Err(OpenError {
                    what: what(),
                    error: GpioError::Request(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("offset {offset} is also {other}"),
                    )),
                });
            }
            taken.push((offset, role));
            let consumer = format!("wsbmc:{role}");
            let fail = |error| OpenError {
                what: what(),
                error,
            };
            let l =
                Lines::request(&chip, &[offset], direction, active_low, &consumer).map_err(fail)?;
            if direction == LineDirection::Output {
                // The request already asks for "released", but not every controller applies a
                // value given while the pin is still an input (QEMU's Aspeed model drops it,
                // leaving an active-low button pressed); one explicit write settles it.
                l.set(0).map_err(fail)?;
            }
            Ok(l)
        };
        let out = LineDirection::Output;
        let button = request(
            "power-button",
            &lines.power_button,
            out,
            lines.buttons_active_low,
        )?;
        let reset = match &lines.reset_button {
            Some(l) => Some(request("reset-button", l, out, lines.buttons_active_low)?),
            None => None,
        };
        let power_good = request(
            "power-good",
            &lines.power_good,
            LineDirection::Input,
            lines.power_good_active_low,
        )?;
        Ok(GpioHostPower {
            button,
            logic: PowerLogic::new(timing, reset.is_some()),
            reset,
            power_good,
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn pg(&self) -> Result<bool, PowerError> {
        self.power_good
            .get()
            .map(|b| b & 1 == 1)
            .map_err(|_| PowerError::Io)
    }

    async fn press(line: &Lines, ms: u64) -> Result<(), PowerError> {
        /// Releases the button when dropped, so a caller that drops the request's future
        /// mid-press does not leave it held: held, a press becomes a forced off.
        struct Held<'a>(&'a Lines);
        impl Drop for Held<'_> {
            fn drop(&mut self) {
                let _ = self.0.set(0);
            }
        }
        line.set(1).map_err(|_| PowerError::Io)?;
        let held = Held(line);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        std::mem::forget(held);
        line.set(0).map_err(|_| PowerError::Io)
    }

    async fn act(&self, action: PowerAction) -> Result<(), PowerError> {
        let t = self.logic.timing;
        match action {
            PowerAction::None => Ok(()),
            PowerAction::PressPower => Self::press(&self.button, t.press_ms).await,
            PowerAction::HoldPower => Self::press(&self.button, t.force_off_ms).await,
            PowerAction::PressReset => match &self.reset {
                Some(line) => Self::press(line, t.press_ms).await,
                None => Err(PowerError::Unsupported),
            },
        }
    }
}

impl HostPower for GpioHostPower {
    fn state(&mut self) -> Result<PowerState, PowerError> {
        let pg = self.pg()?;
        let now = self.now_ms();
        Ok(self.logic.state(pg, now))
    }

    /// Returns once the last button is released: for a cycle from on that is the forced off,
    /// the wait for power-good and the press (seconds), during which the caller holds the
    /// request and refuses others as busy.
    async fn request(&mut self, request: PowerRequest) -> Result<(), PowerError> {
        let pg = self.pg()?;
        let now = self.now_ms();
        let action = self.logic.begin(request, pg, now)?;
        self.act(action).await?;
        for _ in 0..MAX_NEXT {
            let pg = self.pg()?;
            let now = self.now_ms();
            match self.logic.next(pg, now) {
                PowerNext::Done => return Ok(()),
                PowerNext::Wait => tokio::time::sleep(Duration::from_millis(CYCLE_POLL_MS)).await,
                PowerNext::Then(action) => self.act(action).await?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PowerState::*;

    fn logic() -> PowerLogic {
        PowerLogic::new(
            PowerTiming {
                press_ms: 10,
                power_on_limit_ms: 1_000,
                soft_off_limit_ms: 2_000,
                reset_ms: 100,
                force_off_ms: 600,
            },
            true,
        )
    }

    #[test]
    fn power_on_ends_when_power_good_rises() {
        let mut l = logic();
        assert_eq!(
            l.begin(PowerRequest::On, false, 0),
            Ok(PowerAction::PressPower)
        );
        assert_eq!(l.state(false, 10), PoweringOn);
        assert_eq!(
            l.begin(PowerRequest::Off, false, 20),
            Err(PowerError::Busy(PoweringOn))
        );
        assert_eq!(l.state(true, 500), On);
        assert_eq!(l.begin(PowerRequest::On, true, 600), Ok(PowerAction::None));
    }

    #[test]
    fn a_transition_that_never_completes_times_out() {
        let mut l = logic();
        l.begin(PowerRequest::On, false, 0).unwrap();
        assert_eq!(l.state(false, 999), PoweringOn);
        assert_eq!(l.state(false, 1_000), Off);
    }

    #[test]
    fn request_table() {
        // (request, power good, action or error, state right after)
        let table: &[(
            PowerRequest,
            bool,
            Result<PowerAction, PowerError>,
            PowerState,
        )] = &[
            (
                PowerRequest::Off,
                true,
                Ok(PowerAction::PressPower),
                PoweringOff,
            ),
            (PowerRequest::Off, false, Ok(PowerAction::None), Off),
            (
                PowerRequest::Cycle,
                false,
                Ok(PowerAction::PressPower),
                PoweringOn,
            ),
            (
                PowerRequest::Cycle,
                true,
                Ok(PowerAction::HoldPower),
                PoweringOff,
            ),
            (
                PowerRequest::ForceOff,
                true,
                Ok(PowerAction::HoldPower),
                PoweringOff,
            ),
            (PowerRequest::ForceOff, false, Ok(PowerAction::None), Off),
            (
                PowerRequest::Reset,
                true,
                Ok(PowerAction::PressReset),
                Resetting,
            ),
            (PowerRequest::Reset, false, Ok(PowerAction::None), Off),
        ];
        for (req, pg, want, after) in table {
            let mut l = logic();
            assert_eq!(l.begin(*req, *pg, 0), *want, "{req:?} pg={pg}");
            assert_eq!(l.state(*pg, 1), *after, "{req:?} pg={pg}");
        }
        let mut l = PowerLogic::new(PowerTiming::default(), false);
        assert_eq!(
            l.begin(PowerRequest::Reset, true, 0),
            Err(PowerError::Unsupported)
        );
    }

    /// (time in ms, power-good then, the state it must give)
    type Step = (u64, bool, PowerState);

    /// Walks the fake clock through `steps`.
    fn follow(l: &mut PowerLogic, steps: &[Step]) {
        for (at, pg, want) in steps {
            assert_eq!(l.state(*pg, *at), *want, "at {at} ms, pg={pg}");
        }
    }

    #[test]
    fn forced_off_holds_then_waits_for_power_good() {
        const HOLD: u64 = 600;
        const SETTLE_END: u64 = HOLD + FORCE_OFF_SETTLE_MS;
        // (name, power-good over time and the state it must give)
        let table: &[(&str, &[Step])] = &[
            (
                // The override fires mid-hold: still off-in-progress (and busy) until release.
                "override mid-hold",
                &[
                    (1, true, PoweringOff),
                    (400, false, PoweringOff),
                    (HOLD, false, Off),
                ],
            ),
            (
                "power-good falls after release",
                &[(HOLD, true, PoweringOff), (HOLD + 30, false, Off)],
            ),
            (
                // No override: after the settle time power-good alone decides, and says on.
                "power-good never falls",
                &[(SETTLE_END - 1, true, PoweringOff), (SETTLE_END, true, On)],
            ),
        ];
        for (name, steps) in table {
            let mut l = logic();
            assert_eq!(
                l.begin(PowerRequest::ForceOff, true, 0),
                Ok(PowerAction::HoldPower),
                "{name}"
            );
            assert_eq!(
                l.begin(PowerRequest::On, true, 1),
                Err(PowerError::Busy(PoweringOff)),
                "{name}"
            );
            assert_eq!(
                l.next(true, HOLD),
                PowerNext::Done,
                "{name}: a forced off is one step"
            );
            follow(&mut l, steps);
        }
    }

    #[test]
    fn cycle_from_on_is_forced_off_then_a_press() {
        const HOLD: u64 = 600;
        let mut l = logic();
        assert_eq!(
            l.begin(PowerRequest::Cycle, true, 0),
            Ok(PowerAction::HoldPower)
        );
        // Power-good falls mid-hold: the host is still mid-cycle, not off, and busy.
        assert_eq!(l.state(false, 400), PoweringOff);
        assert_eq!(
            l.begin(PowerRequest::On, false, 400),
            Err(PowerError::Busy(PoweringOff))
        );
        assert_eq!(
            l.next(false, 400),
            PowerNext::Wait,
            "the button is still held"
        );
        assert_eq!(
            l.next(false, HOLD),
            PowerNext::Then(PowerAction::PressPower)
        );
        assert_eq!(l.state(false, HOLD + 1), PoweringOn);
        assert_eq!(l.next(false, HOLD + 10), PowerNext::Done);
        follow(
            &mut l,
            &[(HOLD + 500, false, PoweringOn), (HOLD + 600, true, On)],
        );

        // Power-good follows only after the release: the press waits for it.
        let mut l = logic();
        l.begin(PowerRequest::Cycle, true, 0).unwrap();
        assert_eq!(l.next(true, HOLD), PowerNext::Wait);
        assert_eq!(l.next(true, HOLD + 50), PowerNext::Wait);
        assert_eq!(
            l.next(false, HOLD + 100),
            PowerNext::Then(PowerAction::PressPower)
        );
        assert_eq!(l.state(false, HOLD + 101), PoweringOn);
    }

    #[test]
    fn cycle_stops_when_power_good_never_falls() {
        const SETTLE_END: u64 = 600 + FORCE_OFF_SETTLE_MS;
        let mut l = logic();
        l.begin(PowerRequest::Cycle, true, 0).unwrap();
        assert_eq!(l.next(true, SETTLE_END - 1), PowerNext::Wait);
        assert_eq!(l.state(true, SETTLE_END - 1), PoweringOff);
        // No press for a host that is still running: it reads on, and takes requests again.
        assert_eq!(l.next(true, SETTLE_END), PowerNext::Done);
        assert_eq!(l.state(true, SETTLE_END), On);
        assert_eq!(
            l.begin(PowerRequest::ForceOff, true, SETTLE_END),
            Ok(PowerAction::HoldPower)
        );
    }

    #[test]
    fn the_wait_for_a_cycle_is_bounded_by_the_state_too() {
        // A caller that stops asking `next` (its future dropped) leaves no endless transition.
        let mut l = logic();
        l.begin(PowerRequest::Cycle, true, 0).unwrap();
        assert_eq!(l.state(false, 700), PoweringOff);
        assert_eq!(l.state(false, 600 + FORCE_OFF_SETTLE_MS), Off);
        assert_eq!(l.next(false, 600 + FORCE_OFF_SETTLE_MS), PowerNext::Done);
    }

    #[test]
    fn reset_lasts_its_time() {
        let mut l = logic();
        l.begin(PowerRequest::Reset, true, 0).unwrap();
        assert_eq!(l.state(true, 99), Resetting);
        assert_eq!(l.state(true, 100), On);
    }
}
