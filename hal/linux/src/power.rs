//! Host power through GPIO lines: a power button output, a power-good input, an optional reset
//! button output.
//!
//! What the host is doing is inferred as a BMC does on real boards: power-good says whether the
//! rails are up, and a button press starts a transition that ends when power-good follows (or a
//! time limit passes and power-good alone decides again). The decisions are in [`PowerLogic`],
//! which takes time and the power-good level as inputs so it is tested without hardware.

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
}

impl Default for PowerTiming {
    fn default() -> Self {
        PowerTiming {
            press_ms: 200,
            power_on_limit_ms: 10_000,
            soft_off_limit_ms: 60_000,
            reset_ms: 1_000,
        }
    }
}

/// What the lines must do for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerAction {
    None,
    PressPower,
    PressReset,
}

/// The state machine behind [`GpioHostPower`].
#[derive(Debug, Clone)]
pub struct PowerLogic {
    timing: PowerTiming,
    has_reset: bool,
    /// A transition under way and when it gives up.
    pending: Option<(PowerState, u64)>,
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
        if let Some((s, until)) = self.pending {
            let done = match s {
                PowerState::PoweringOn => pg,
                PowerState::PoweringOff => !pg,
                _ => false,
            };
            if done || now_ms >= until {
                self.pending = None;
            } else {
                return s;
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
        let (action, pending) = match (request, pg) {
            (PowerRequest::On, true) | (PowerRequest::Off, false) => (PowerAction::None, None),
            (PowerRequest::On | PowerRequest::Cycle, false) => (
                PowerAction::PressPower,
                Some((PowerState::PoweringOn, t.power_on_limit_ms)),
            ),
            (PowerRequest::Off, true) => (
                PowerAction::PressPower,
                Some((PowerState::PoweringOff, t.soft_off_limit_ms)),
            ),
            // A cycle from on needs off and then on again, two presses seconds apart; the
            // caller does that as two requests.
            (PowerRequest::Cycle, true) => return Err(PowerError::Unsupported),
            (PowerRequest::Reset, _) if !self.has_reset => return Err(PowerError::Unsupported),
            (PowerRequest::Reset, false) => (PowerAction::None, None),
            (PowerRequest::Reset, true) => (
                PowerAction::PressReset,
                Some((PowerState::Resetting, t.reset_ms)),
            ),
        };
        self.pending = pending.map(|(s, limit)| (s, now_ms.saturating_add(limit)));
        Ok(action)
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
        line.set(1).map_err(|_| PowerError::Io)?;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        // Release even if the caller's future is about to be dropped: a held button is a
        // forced power-off after four seconds.
        line.set(0).map_err(|_| PowerError::Io)
    }
}

impl HostPower for GpioHostPower {
    fn state(&mut self) -> Result<PowerState, PowerError> {
        let pg = self.pg()?;
        let now = self.now_ms();
        Ok(self.logic.state(pg, now))
    }

    async fn request(&mut self, request: PowerRequest) -> Result<(), PowerError> {
        let pg = self.pg()?;
        let now = self.now_ms();
        let press_ms = self.logic.timing.press_ms;
        match self.logic.begin(request, pg, now)? {
            PowerAction::None => Ok(()),
            PowerAction::PressPower => Self::press(&self.button, press_ms).await,
            PowerAction::PressReset => match &self.reset {
                Some(line) => Self::press(line, press_ms).await,
                None => Err(PowerError::Unsupported),
            },
        }
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
            (PowerRequest::Cycle, true, Err(PowerError::Unsupported), On),
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

    #[test]
    fn reset_lasts_its_time() {
        let mut l = logic();
        l.begin(PowerRequest::Reset, true, 0).unwrap();
        assert_eq!(l.state(true, 99), Resetting);
        assert_eq!(l.state(true, 100), On);
    }
}
