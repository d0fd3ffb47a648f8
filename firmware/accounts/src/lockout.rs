//! Per-account lockout: `threshold` consecutive failures within `window` lock the account for
//! `duration`, whatever account it is (OpenBMC's lockout once exempted root: phosphor-user-
//! manager#2). Time is passed in as monotonic milliseconds; nothing here reads a clock.

/// The lockout rule. Defaults: 5 failures in 300 s lock for 300 s (issue 15, and the values
/// iDRAC and OpenBMC ship).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    threshold: u8,
    window_ms: u64,
    duration_ms: u64,
}

/// Longest window or lock accepted: a day. A longer lock is a denial of service an attacker
/// can cause with a few guesses.
pub const MAX_PERIOD_MS: u64 = 24 * 60 * 60 * 1000;

/// A policy that cannot be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyError {
    /// A threshold of 0 would switch lockout off: refused, lockout always applies.
    ZeroThreshold,
    /// A window or a lock of 0 ms (no lockout in effect) or over [`MAX_PERIOD_MS`].
    Period,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            threshold: 5,
            window_ms: 300_000,
            duration_ms: 300_000,
        }
    }
}

impl LockoutPolicy {
    pub fn new(threshold: u8, window_ms: u64, duration_ms: u64) -> Result<Self, PolicyError> {
        if threshold == 0 {
            return Err(PolicyError::ZeroThreshold);
        }
        for period in [window_ms, duration_ms] {
            if period == 0 || period > MAX_PERIOD_MS {
                return Err(PolicyError::Period);
            }
        }
        Ok(Self {
            threshold,
            window_ms,
            duration_ms,
        })
    }
    pub fn threshold(&self) -> u8 {
        self.threshold
    }
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }
    pub fn duration_ms(&self) -> u64 {
        self.duration_ms
    }
}

/// What one account's failures look like now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockState {
    failures: u8,
    first_failure_ms: u64,
    locked_until_ms: Option<u64>,
}

/// What a failure or an expiry changed, for the audit trail and the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Locked,
    Unlocked,
}

impl LockState {
    /// Locked until `until_ms` (a state loaded from the store).
    #[cfg(feature = "persist")]
    pub(crate) fn locked_until(until_ms: u64) -> Self {
        Self {
            locked_until_ms: Some(until_ms),
            ..Self::default()
        }
    }

    /// Ends a lock whose period is over. Returns [`Transition::Unlocked`] when it did.
    pub fn expire(&mut self, now_ms: u64) -> Transition {
        match self.locked_until_ms {
            Some(until) if now_ms >= until => {
                *self = Self::default();
                Transition::Unlocked
            }
            _ => Transition::None,
        }
    }

    pub fn is_locked(&self, now_ms: u64) -> bool {
        self.locked_until_ms.is_some_and(|until| now_ms < until)
    }

    /// Milliseconds of lock left at `now_ms` (what is persisted: monotonic time restarts at
    /// boot, so an absolute instant would mean nothing after a restart).
    pub fn remaining_ms(&self, now_ms: u64) -> Option<u64> {
        self.locked_until_ms
            .filter(|&until| now_ms < until)
            .map(|until| until - now_ms)
    }

    pub fn failures(&self) -> u8 {
        self.failures
    }

    /// Counts a failed login. A failure while locked neither extends the lock nor counts:
    /// otherwise a guesser could keep the real user out forever.
    pub fn fail(&mut self, policy: &LockoutPolicy, now_ms: u64) -> Transition {
        if self.is_locked(now_ms) {
            return Transition::None;
        }
        let expired = self.expire(now_ms);
        let in_window =
            self.failures > 0 && now_ms.saturating_sub(self.first_failure_ms) < policy.window_ms;
        if in_window {
            self.failures = self.failures.saturating_add(1);
        } else {
            self.failures = 1;
            self.first_failure_ms = now_ms;
        }
        if self.failures >= policy.threshold {
            *self = Self {
                failures: 0,
                first_failure_ms: 0,
                locked_until_ms: Some(now_ms.saturating_add(policy.duration_ms)),
            };
            return Transition::Locked;
        }
        expired
    }

    /// A successful login: the count starts over.
    pub fn succeed(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_in_the_window_lock_for_the_period() {
        let p = LockoutPolicy::default();
        let mut s = LockState::default();
        for i in 0..4 {
            assert_eq!(s.fail(&p, i * 1000), Transition::None);
            assert!(!s.is_locked(i * 1000));
        }
        assert_eq!(s.fail(&p, 4000), Transition::Locked);
        assert!(s.is_locked(4000));
        assert_eq!(s.remaining_ms(4000), Some(300_000));
        // Failing while locked does not extend it.
        assert_eq!(s.fail(&p, 100_000), Transition::None);
        assert!(s.is_locked(303_999));
        assert_eq!(s.expire(303_999), Transition::None);
        assert!(!s.is_locked(304_000));
        assert_eq!(s.expire(304_000), Transition::Unlocked);
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn failures_outside_the_window_start_over_and_success_resets() {
        let p = LockoutPolicy::new(3, 10_000, 5_000).unwrap();
        let mut s = LockState::default();
        s.fail(&p, 0);
        s.fail(&p, 5_000);
        // The third comes after the window opened by the first: it starts a new count.
        assert_eq!(s.fail(&p, 10_000), Transition::None);
        assert_eq!(s.failures(), 1);
        s.fail(&p, 11_000);
        s.succeed();
        assert_eq!(s.fail(&p, 12_000), Transition::None);
        assert_eq!(s.failures(), 1);
        s.fail(&p, 12_001);
        assert_eq!(s.fail(&p, 12_002), Transition::Locked);
    }

    #[test]
    fn a_failure_after_the_lock_ended_counts_from_one() {
        let p = LockoutPolicy::new(2, 10_000, 1_000).unwrap();
        let mut s = LockState::default();
        s.fail(&p, 0);
        assert_eq!(s.fail(&p, 1), Transition::Locked);
        assert_eq!(s.fail(&p, 2_000), Transition::Unlocked);
        assert_eq!(s.failures(), 1);
        assert!(!s.is_locked(2_000));
    }

    #[test]
    fn policies_that_would_switch_lockout_off_are_refused() {
        assert_eq!(LockoutPolicy::new(0, 1, 1), Err(PolicyError::ZeroThreshold));
        assert_eq!(LockoutPolicy::new(1, 0, 1), Err(PolicyError::Period));
        assert_eq!(LockoutPolicy::new(1, 1, 0), Err(PolicyError::Period));
        assert_eq!(
            LockoutPolicy::new(1, 1, MAX_PERIOD_MS + 1),
            Err(PolicyError::Period)
        );
        let p = LockoutPolicy::default();
        assert_eq!(
            (p.threshold(), p.window_ms(), p.duration_ms()),
            (5, 300_000, 300_000)
        );
    }
}
