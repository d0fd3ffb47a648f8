//! A simulated host behind the power button: the state machine a real board goes through, with
//! its delays, so a console sees PoweringOn for a couple of seconds and a second request during
//! that time is refused, as on hardware.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use wsbmc_hal::{HostPower, PowerError, PowerRequest, PowerState};

use crate::Clock;

/// How long each transition takes. The defaults are a small server's: rails and BIOS hand-over
/// about 2 s, an ACPI soft off about 1 s, a warm reset about 1 s. Tests use shorter ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostTiming {
    pub power_on_ms: u64,
    pub soft_off_ms: u64,
    pub reset_ms: u64,
}

impl Default for HostTiming {
    fn default() -> Self {
        HostTiming {
            power_on_ms: 2_000,
            soft_off_ms: 1_000,
            reset_ms: 1_000,
        }
    }
}

struct Inner {
    timing: HostTiming,
    /// Where the host settles once `phases` have run out.
    rest: PowerState,
    /// Transition phases still to run, each with the clock time it ends at.
    phases: VecDeque<(PowerState, u64)>,
}

impl Inner {
    fn advance(&mut self, now: u64) -> PowerState {
        while self.phases.front().is_some_and(|(_, end)| *end <= now) {
            self.phases.pop_front();
        }
        self.phases.front().map_or(self.rest, |(s, _)| *s)
    }
}

/// The simulated host. Cheap to clone; clones share the host.
#[derive(Clone)]
pub struct SimHost {
    inner: Arc<Mutex<Inner>>,
    clock: Arc<dyn Clock>,
}

impl SimHost {
    /// A host in state `initial` (settled states only: a transition is started by a request).
    pub fn new(clock: impl Clock + 'static, initial: PowerState, timing: HostTiming) -> Self {
        let rest = if initial.rails_up() {
            PowerState::On
        } else {
            PowerState::Off
        };
        SimHost {
            inner: Arc::new(Mutex::new(Inner {
                timing,
                rest,
                phases: VecDeque::new(),
            })),
            clock: Arc::new(clock),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_timing(&self, timing: HostTiming) {
        self.lock().timing = timing;
    }

    /// The state now.
    pub fn power_state(&self) -> PowerState {
        let now = self.clock.now_ms();
        self.lock().advance(now)
    }

    /// Starts a transition, or refuses with `Busy` while one runs.
    pub fn start(&self, request: PowerRequest) -> Result<(), PowerError> {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        let current = st.advance(now);
        if current.in_transition() {
            return Err(PowerError::Busy(current));
        }
        let t = st.timing;
        let on = |at: u64| (PowerState::PoweringOn, at.saturating_add(t.power_on_ms));
        let phases: Vec<(PowerState, u64)> = match (request, current) {
            (PowerRequest::On, PowerState::On)
            | (PowerRequest::Off | PowerRequest::ForceOff, PowerState::Off) => vec![],
            (PowerRequest::On | PowerRequest::Cycle, _) if current == PowerState::Off => {
                vec![on(now)]
            }
            // The simulated OS never refuses a soft off, so a forced one differs only in name:
            // both take the off delay, which keeps a console's "busy" window the same for both.
            (PowerRequest::Off | PowerRequest::ForceOff, _) => {
                vec![(PowerState::PoweringOff, now.saturating_add(t.soft_off_ms))]
            }
            (PowerRequest::Cycle, _) => {
                let off_end = now.saturating_add(t.soft_off_ms);
                vec![(PowerState::PoweringOff, off_end), on(off_end)]
            }
            // A reset with the host off has nothing to reset.
            (PowerRequest::Reset, PowerState::Off) => vec![],
            (PowerRequest::Reset, _) => vec![(PowerState::Resetting, now + t.reset_ms)],
            (PowerRequest::On, _) => vec![on(now)],
        };
        st.rest = match request {
            PowerRequest::Off | PowerRequest::ForceOff => PowerState::Off,
            PowerRequest::Reset => current,
            PowerRequest::On | PowerRequest::Cycle => PowerState::On,
        };
        st.phases = phases.into();
        Ok(())
    }
}

impl HostPower for SimHost {
    fn state(&mut self) -> Result<PowerState, PowerError> {
        Ok(self.power_state())
    }

    async fn request(&mut self, request: PowerRequest) -> Result<(), PowerError> {
        self.start(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use PowerState::*;

    fn host(initial: PowerState) -> (SimHost, ManualClock) {
        let clock = ManualClock::new(0);
        let t = HostTiming {
            power_on_ms: 200,
            soft_off_ms: 100,
            reset_ms: 50,
        };
        (SimHost::new(clock.clone(), initial, t), clock)
    }

    #[test]
    fn power_on_takes_its_time_and_refuses_overlap() {
        let (h, c) = host(Off);
        assert_eq!(h.power_state(), Off);
        h.start(PowerRequest::On).unwrap();
        assert_eq!(h.power_state(), PoweringOn);
        c.advance(199);
        assert_eq!(
            h.start(PowerRequest::Off),
            Err(PowerError::Busy(PoweringOn))
        );
        assert_eq!(h.power_state(), PoweringOn);
        c.advance(1);
        assert_eq!(h.power_state(), On);
    }

    #[test]
    fn request_table() {
        // (initial, request, states sampled at 0, 60, 120, 320 ms)
        let table: &[(PowerState, PowerRequest, [PowerState; 4])] = &[
            (On, PowerRequest::Off, [PoweringOff, PoweringOff, Off, Off]),
            (
                On,
                PowerRequest::ForceOff,
                [PoweringOff, PoweringOff, Off, Off],
            ),
            (Off, PowerRequest::ForceOff, [Off, Off, Off, Off]),
            (On, PowerRequest::On, [On, On, On, On]),
            (Off, PowerRequest::Off, [Off, Off, Off, Off]),
            (On, PowerRequest::Reset, [Resetting, On, On, On]),
            (Off, PowerRequest::Reset, [Off, Off, Off, Off]),
            (
                On,
                PowerRequest::Cycle,
                [PoweringOff, PoweringOff, PoweringOn, On],
            ),
            (
                Off,
                PowerRequest::Cycle,
                [PoweringOn, PoweringOn, PoweringOn, On],
            ),
        ];
        for (initial, req, states) in table {
            let (h, c) = host(*initial);
            h.start(*req).unwrap();
            let mut last = 0;
            for (at, want) in [0u64, 60, 120, 320].iter().zip(states) {
                c.advance(at - last);
                last = *at;
                assert_eq!(h.power_state(), *want, "{initial:?} {req:?} at {at}");
            }
        }
    }

    #[test]
    fn trait_view() {
        let (mut h, c) = host(On);
        assert_eq!(HostPower::state(&mut h), Ok(On));
        futures_lite::future::block_on(h.request(PowerRequest::Reset)).unwrap();
        assert_eq!(
            futures_lite::future::block_on(h.request(PowerRequest::Off)),
            Err(PowerError::Busy(Resetting))
        );
        c.advance(50);
        assert_eq!(HostPower::state(&mut h), Ok(On));
    }
}
