//! Host power on the embedded-Linux image: the board's `[power]` lines through the GPIO
//! character device.

use wsbmc_board::{GpioLine, PowerLines};
use wsbmc_cim::PowerTransition;
use wsbmc_hal_linux::{GpioHostPower, LineRef, PowerTiming};

/// What a power button and power-good can do: a press for on and soft off, a hold past the
/// chipset's override for hard off, and both with power-good between them for a cycle. A
/// diagnostic interrupt needs a line of its own, which board files do not have.
const BUTTON: &[PowerTransition] = &[
    PowerTransition::On,
    PowerTransition::OffHard,
    PowerTransition::OffSoft,
    PowerTransition::Cycle,
];
const BUTTON_AND_RESET: &[PowerTransition] = &[
    PowerTransition::On,
    PowerTransition::OffHard,
    PowerTransition::OffSoft,
    PowerTransition::Cycle,
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

/// The GPIO inputs of the board's discrete sensors, requested as inputs. A line without a chip
/// of its own uses `[power] gpio-chip`; one with neither cannot be read on real hardware.
pub fn sensor_inputs(
    board: &wsbmc_board::Board,
) -> Result<wsbmc_hal_linux::GpioInputLines, String> {
    let inputs = board
        .gpio_inputs
        .iter()
        .map(|g| {
            g.chip.clone().map(|c| (c, line(&g.line))).ok_or_else(|| {
                format!(
                    "gpio {}: no gpio-chip (give one on the sensor or in [power])",
                    g.line
                )
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    wsbmc_hal_linux::GpioInputLines::request(&inputs).map_err(|e| format!("sensor inputs: {e}"))
}

/// Requests the lines; the error names the line and chip that could not be had.
pub fn open(lines: &PowerLines) -> Result<GpioHostPower, String> {
    let t = lines.timing;
    let timing = PowerTiming {
        press_ms: u64::from(t.press_ms),
        power_on_limit_ms: u64::from(t.power_on_timeout_ms),
        soft_off_limit_ms: u64::from(t.soft_off_timeout_ms),
        reset_ms: u64::from(t.reset_ms),
        force_off_ms: u64::from(t.force_off_ms),
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
        let without = transitions(&lines(None));
        let with = transitions(&lines(Some(GpioLine::Offset(2))));
        assert!(!without.contains(&PowerTransition::Reset));
        assert!(with.contains(&PowerTransition::Reset));
        // The power button alone does every off and the cycle, with or without a reset line.
        for offered in [without, with] {
            for t in [
                PowerTransition::On,
                PowerTransition::OffHard,
                PowerTransition::OffSoft,
                PowerTransition::Cycle,
            ] {
                assert!(offered.contains(&t), "{t:?} not offered");
            }
            assert!(!offered.contains(&PowerTransition::DiagnosticInterrupt));
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
