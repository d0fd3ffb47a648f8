//! Backing off from a device that keeps timing out.
//!
//! A timed-out read costs the poller its whole read bound (hundreds of milliseconds) while a
//! NACK costs a few microseconds. A part holding SCL low, or a satellite that stopped answering,
//! would otherwise take the bound on every one of its sensors every period and starve the rest
//! of the board. So after [`TIMEOUTS_BEFORE_BACKOFF`] consecutive timeouts the device is left
//! alone for a back-off time that doubles up to [`MAX_BACKOFF_MS`]; its sensors keep reading
//! Timeout without bus traffic, and one probe read after each back-off tells whether it is back.
//! Anything other than a timeout (a reading, a NACK, a bus error) ends the back-off: those are
//! cheap, and a NACK means the part is simply absent.
//!
//! Keyed by device because a device is what the poller reads; on a real stuck bus every device
//! on it times out and backs off in turn.
//!
//! It also counts each device's failed reads (any error of a real read, NACKs included), which
//! the std images sum per bus for `wsbmc sim status`, and logs when a device starts and stops
//! failing: the edges only, since an absent part fails every poll.

use alloc::vec::Vec;

use wsbmc_hal::DeviceError;

pub const TIMEOUTS_BEFORE_BACKOFF: u8 = 2;
pub const FIRST_BACKOFF_MS: u32 = 1_000;
/// Long enough that a dead device costs under 10 % of the poller's time, short enough that a
/// recovered one is noticed within a few poll periods.
pub const MAX_BACKOFF_MS: u32 = 8_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Health {
    timeouts: u8,
    backoff_ms: u32,
    until_ms: u64,
    /// Failed real reads since start (saturating), for the operator.
    errors: u32,
    /// Whether the last real read failed, so only the edges are logged.
    failing: bool,
}

/// Per-device timeout history.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    devices: Vec<Health>,
}

impl Recovery {
    pub fn new(devices: usize) -> Self {
        Recovery {
            devices: (0..devices).map(|_| Health::default()).collect(),
        }
    }

    /// `Some(error)` when `device` is backing off at `now_ms`: record that instead of reading.
    pub fn gate(&self, device: u16, now_ms: u64) -> Option<DeviceError> {
        self.devices
            .get(usize::from(device))
            .filter(|h| h.until_ms > now_ms)
            .map(|_| DeviceError::Timeout)
    }

    /// Whether `device` is backing off at `now_ms`.
    pub fn backing_off(&self, device: u16, now_ms: u64) -> bool {
        self.gate(device, now_ms).is_some()
    }

    /// Failed real reads of each device since start, in device-table order.
    pub fn errors(&self) -> impl Iterator<Item = u32> + '_ {
        self.devices.iter().map(|h| h.errors)
    }

    /// Learns from one real read of `device` that finished at `now_ms`.
    pub fn observe(&mut self, device: u16, result: &Result<i32, DeviceError>, now_ms: u64) {
        let Some(h) = self.devices.get_mut(usize::from(device)) else {
            return;
        };
        let failed = result.is_err();
        if failed {
            h.errors = h.errors.saturating_add(1);
            if !h.failing {
                wsbmc_log::warn!(
                    "device {}: read failed ({} errors so far)",
                    device,
                    h.errors
                );
            }
        } else if h.failing {
            wsbmc_log::info!("device {}: reads again", device);
        }
        h.failing = failed;
        if *result != Err(DeviceError::Timeout) {
            *h = Health {
                errors: h.errors,
                failing: failed,
                ..Health::default()
            };
            return;
        }
        h.timeouts = h.timeouts.saturating_add(1);
        if h.timeouts >= TIMEOUTS_BEFORE_BACKOFF {
            h.backoff_ms = if h.backoff_ms == 0 {
                FIRST_BACKOFF_MS
            } else {
                h.backoff_ms.saturating_mul(2).min(MAX_BACKOFF_MS)
            };
            h.until_ms = now_ms.saturating_add(u64::from(h.backoff_ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Result<i32, DeviceError> = Err(DeviceError::Timeout);

    #[test]
    fn backs_off_after_consecutive_timeouts_and_doubles() {
        let mut r = Recovery::new(2);
        r.observe(0, &T, 0);
        assert_eq!(r.gate(0, 1), None, "one timeout is not a pattern");
        r.observe(0, &T, 500);
        assert_eq!(r.gate(0, 501), Some(DeviceError::Timeout));
        assert_eq!(r.gate(1, 501), None, "other devices are not affected");
        assert_eq!(r.gate(0, 1_500), None, "probe after the first back-off");
        // (probe at, back-off it starts)
        let table = [
            (1_500u64, 2_000u64),
            (3_500, 4_000),
            (7_500, 8_000),
            (15_500, 8_000),
        ];
        for (at, backoff) in table {
            r.observe(0, &T, at);
            assert!(r.backing_off(0, at + backoff - 1), "at {at}");
            assert!(!r.backing_off(0, at + backoff), "at {at}");
        }
    }

    #[test]
    fn anything_but_a_timeout_resets() {
        for other in [Ok(1), Err(DeviceError::Nack), Err(DeviceError::Bus)] {
            let mut r = Recovery::new(1);
            r.observe(0, &T, 0);
            r.observe(0, &T, 0);
            assert!(r.backing_off(0, 10));
            r.observe(0, &other, 1_000);
            assert!(!r.backing_off(0, 1_001));
            r.observe(0, &T, 1_100);
            assert!(!r.backing_off(0, 1_101), "count restarts");
        }
    }

    #[test]
    fn failed_reads_are_counted_per_device_and_survive_a_recovery() {
        let mut r = Recovery::new(2);
        for e in [T, Err(DeviceError::Nack), Err(DeviceError::Bus)] {
            r.observe(1, &e, 0);
        }
        r.observe(1, &Ok(5), 10);
        r.observe(1, &T, 20);
        r.observe(0, &Ok(1), 20);
        assert_eq!(r.errors().collect::<Vec<_>>(), [0, 4]);
        // The good read in between reset the back-off but not the count.
        assert!(r.devices[1].failing && !r.devices[0].failing);
    }

    #[test]
    fn nacks_never_back_off() {
        let mut r = Recovery::new(1);
        for t in 0..100 {
            r.observe(0, &Err(DeviceError::Nack), t);
        }
        assert!(!r.backing_off(0, 100));
        // Unknown devices are ignored rather than panicking.
        r.observe(9, &T, 0);
        assert_eq!(r.gate(9, 0), None);
    }
}
