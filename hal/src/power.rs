//! Host power control: the contract between whoever asks for a power change (a console's
//! `RequestPowerStateChange`, the control CLI) and the board's power lines.
//!
//! A transition takes seconds on real hardware (a power supply ramping, a BIOS handing over),
//! and a second request while one is under way is how boards end up half-on: the power button
//! pressed again mid-sequence reads as a 4-second override on many chipsets. So a request made
//! while the state is a transition is refused with [`PowerError::Busy`], distinct from a line
//! failure, and a console gets "try again" rather than "broken".

/// What the host is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerState {
    Off,
    On,
    PoweringOn,
    PoweringOff,
    Resetting,
}

impl PowerState {
    /// True while a transition is under way and requests are refused.
    pub const fn in_transition(self) -> bool {
        matches!(
            self,
            PowerState::PoweringOn | PowerState::PoweringOff | PowerState::Resetting
        )
    }

    /// Whether host-powered sensors have power. During power-on the rails are still ramping and
    /// readings would be garbage; during a soft off the OS is still shutting down on live rails,
    /// and a warm reset keeps them up.
    pub const fn rails_up(self) -> bool {
        matches!(
            self,
            PowerState::On | PowerState::PoweringOff | PowerState::Resetting
        )
    }

    pub const fn name(self) -> &'static str {
        match self {
            PowerState::Off => "off",
            PowerState::On => "on",
            PowerState::PoweringOn => "powering-on",
            PowerState::PoweringOff => "powering-off",
            PowerState::Resetting => "resetting",
        }
    }
}

/// A change a client may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowerRequest {
    On,
    /// Orderly (ACPI soft) off: a short press the OS handles, and may ignore.
    Off,
    /// Off whatever the OS does: what a console's "hard off" (iDRAC's Force Off, IPMI chassis
    /// power down) means. On a power button, a hold past the chipset's override.
    ForceOff,
    /// Off, then on again. The off is forced, as IPMI's chassis power cycle is: a host that
    /// needs a cycle is often one that no longer answers a soft off.
    Cycle,
    /// Warm reset: rails stay up.
    Reset,
}

impl PowerRequest {
    /// The request a name of [`name`](PowerRequest::name) stands for; `None` for any other.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "on" => Some(PowerRequest::On),
            "off" => Some(PowerRequest::Off),
            "force-off" => Some(PowerRequest::ForceOff),
            "cycle" => Some(PowerRequest::Cycle),
            "reset" => Some(PowerRequest::Reset),
            _ => None,
        }
    }

    /// The name the control CLI and logs use; [`from_name`](PowerRequest::from_name) reads it.
    pub const fn name(self) -> &'static str {
        match self {
            PowerRequest::On => "on",
            PowerRequest::Off => "off",
            PowerRequest::ForceOff => "force-off",
            PowerRequest::Cycle => "cycle",
            PowerRequest::Reset => "reset",
        }
    }

    /// Every request, for help texts and tests.
    pub const ALL: [PowerRequest; 5] = [
        PowerRequest::On,
        PowerRequest::Off,
        PowerRequest::ForceOff,
        PowerRequest::Cycle,
        PowerRequest::Reset,
    ];
}

/// Why a request was not carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerError {
    /// A transition is in progress; ask again once it has finished.
    Busy(PowerState),
    /// The power line could not be driven or read (GPIO error, device gone).
    Io,
    /// The board has no way to do this (e.g. no reset line).
    Unsupported,
}

/// The board's host power control.
///
/// `request` returns once the request is accepted and the transition started (the button pulse
/// sent), not once it has finished: finishing takes seconds, and the caller polls [`state`]
/// instead of holding a console's HTTP request open. A forced off or a cycle returns only once
/// the button has been held and released (seconds), so the caller must not run it where it
/// blocks anything but power requests. A request that leaves the state unchanged
/// (on while on, off while off) succeeds without touching the lines, as IPMI chassis control does.
///
/// [`state`]: HostPower::state
#[allow(async_fn_in_trait)]
pub trait HostPower {
    /// The host's state now, derived from the power-good input and any transition in progress.
    fn state(&mut self) -> Result<PowerState, PowerError>;

    async fn request(&mut self, request: PowerRequest) -> Result<(), PowerError>;
}

/// A board without host power control: the host is always on, and every request is refused.
/// What a board file without power lines gets, so host-powered sensors keep reading.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlwaysOn;

impl HostPower for AlwaysOn {
    fn state(&mut self) -> Result<PowerState, PowerError> {
        Ok(PowerState::On)
    }

    async fn request(&mut self, _request: PowerRequest) -> Result<(), PowerError> {
        Err(PowerError::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_and_rails() {
        use PowerState::*;
        for (s, busy, rails) in [
            (Off, false, false),
            (On, false, true),
            (PoweringOn, true, false),
            (PoweringOff, true, true),
            (Resetting, true, true),
        ] {
            assert_eq!(s.in_transition(), busy, "{s:?}");
            assert_eq!(s.rails_up(), rails, "{s:?}");
        }
    }

    #[test]
    fn request_names() {
        for r in PowerRequest::ALL {
            assert_eq!(PowerRequest::from_name(r.name()), Some(r));
        }
        assert_eq!(
            PowerRequest::from_name("force-off"),
            Some(PowerRequest::ForceOff)
        );
        for bad in ["ON", "forceoff", "force_off", ""] {
            assert_eq!(PowerRequest::from_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn always_on() {
        let mut p = AlwaysOn;
        assert_eq!(p.state(), Ok(PowerState::On));
        assert_eq!(
            futures_lite::future::block_on(p.request(PowerRequest::Off)),
            Err(PowerError::Unsupported)
        );
    }
}
