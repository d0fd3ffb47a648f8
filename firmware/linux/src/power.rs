//! Host power on the embedded-Linux image: the board's `[power]` lines through the GPIO
//! character device.

use wsbmc_board::{GpioLine, PowerLines};
use wsbmc_cim::PowerTransition;
use wsbmc_hal_linux::{GpioHostPower, LineRef, PowerTiming};

/// What a power button and power-good can do. A hard off needs the button held for seconds,
/// and a cycle from on needs two presses with the host's shutdown between them; neither is a
/// single press, so neither is offered rather than faked with one.
const BUTTON: &[PowerTransition] = &[PowerTransition::On, PowerTransition::OffSoft];
const BUTTON_AND_RESET: &[PowerTransition] = &[
    PowerTransition::On,
    PowerTransition::OffSoft,
    PowerTransition::Reset,
];

/// The transitions the board's lines support, for CIM's capabilities and request checks.
pub fn transitions(lines: &PowerLines) -> &'static [PowerTransition] {
    if lines.reset_button.is_some() {
        BUTTON_AND_RESET
    } else {
        BUTTON
    }
}

fn line(l: &GpioLine) -> LineRef {
    match l {
        GpioLine::Offset(n) => LineRef::Offset(*n),
        GpioLine::Name(s) => LineRef::Name(s.clone()),
    }
}

/// Requests the lines; the error names the line and chip that could not be had.
pub fn open(lines: &PowerLines) -> Result<GpioHostPower, String> {
    let t = lines.timing;
    let timing = PowerTiming {
        press_ms: u64::from(t.press_ms),
        power_on_limit_ms: u64::from(t.power_on_timeout_ms),
        soft_off_limit_ms: u64::from(t.soft_off_timeout_ms),
        reset_ms: u64::from(t.reset_ms),
    };
    let hal = wsbmc_hal_linux::PowerLines {
        chip: lines.gpio_chip.clone(),
        power_button: line(&lines.power_button),
        power_good: line(&lines.power_good),
        reset_button: lines.reset_button.as_ref().map(line),
        buttons_active_low: lines.buttons_active_low,
        power_good_active_low: lines.power_good_active_low,
    };
    GpioHostPower::open(&hal, timing).map_err(|e| format!("power lines: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(reset: Option<GpioLine>) -> PowerLines {
        PowerLines {
            gpio_chip: "/nonexistent/gpiochip9".into(),
            power_button: GpioLine::Offset(1),
            reset_button: reset,
            power_good: GpioLine::Name("PWR_GOOD".into()),
            buttons_active_low: true,
            power_good_active_low: false,
            timing: Default::default(),
        }
    }

    #[test]
    fn reset_is_offered_only_with_a_reset_line() {
        assert_eq!(transitions(&lines(None)), BUTTON);
        let with = transitions(&lines(Some(GpioLine::Offset(2))));
        assert!(with.contains(&PowerTransition::Reset));
        for t in [PowerTransition::OffHard, PowerTransition::Cycle] {
            assert!(!with.contains(&t), "{t:?} is not one press");
        }
    }

    #[test]
    fn a_missing_chip_is_an_error_naming_it() {
        let e = open(&lines(None)).err().unwrap_or_default();
        // A path is taken as given; opening it is what fails, for the first line requested.
        assert!(
            e.starts_with("power lines: power-button (line 1 of /nonexistent/gpiochip9): open: "),
            "{e}"
        );
    }
}
