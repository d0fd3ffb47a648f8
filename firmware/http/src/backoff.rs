//! Per-source back-off for failed logins (issue 20, finding 3).
//!
//! A failed login from an address makes that address wait before its next credential is even
//! checked: the first few failures are free (typos), then each one doubles the wait, up to a
//! cap. While an address waits, its credentials are refused without running PBKDF2, so guessing
//! costs the BMC almost nothing and gets the guesser about one try per wait; other addresses are
//! not affected. A success from the address forgets it.
//!
//! The table is small and fixed: when it is full the entry whose wait ended longest ago (or a
//! free one) is reused, so a flood from many addresses costs no memory, only the precision of
//! the oldest entries. It is keyed by address only, so an accounts layer can use the same table
//! for per-user rules beside it.

use core::cell::RefCell;

use embassy_time::{Duration, Instant};

/// An IPv6 address, or an IPv4 one mapped into IPv6 (`::ffff:a.b.c.d`).
pub type Source = [u8; 16];

/// Addresses remembered. A guesser with more addresses than this pushes its own entries out
/// and regains untimed tries, so the std images (feature `many-sources`) remember 256, a
/// linear search of 8 KiB per check; the bare-metal image, with 64 KiB of RAM, 8.
#[cfg(feature = "many-sources")]
pub const BACKOFF_SLOTS: usize = 256;
/// Addresses remembered; see the `many-sources` feature.
#[cfg(not(feature = "many-sources"))]
pub const BACKOFF_SLOTS: usize = 8;

/// Failures from an address before it has to wait.
pub const FREE_FAILURES: u8 = 3;

/// The first wait after the free failures; each further failure doubles it.
const FIRST_WAIT_MS: u64 = 1_000;

/// The longest wait.
const MAX_WAIT_MS: u64 = 30_000;

#[derive(Clone, Copy)]
struct Entry {
    source: Source,
    failures: u8,
    until: Instant,
}

/// The table; interior mutability for the single-threaded executor, like [`crate::Auth`].
pub struct Backoff {
    entries: RefCell<[Option<Entry>; BACKOFF_SLOTS]>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl Backoff {
    pub const fn new() -> Self {
        Self {
            entries: RefCell::new([None; BACKOFF_SLOTS]),
        }
    }

    /// Whether `source` must still wait: its credentials are then refused unchecked.
    pub fn blocked(&self, source: &Source, now: Instant) -> bool {
        self.entries
            .borrow()
            .iter()
            .flatten()
            .any(|e| e.source == *source && now < e.until)
    }

    /// When `source`'s wait ends, if it is waiting at `now`.
    #[cfg(feature = "tarpit")]
    pub fn waiting_until(&self, source: &Source, now: Instant) -> Option<Instant> {
        self.entries
            .borrow()
            .iter()
            .flatten()
            .find(|e| e.source == *source && now < e.until)
            .map(|e| e.until)
    }

    /// Records a failed login from `source`; returns how many it has now.
    pub fn failed(&self, source: &Source, now: Instant) -> u8 {
        let mut entries = self.entries.borrow_mut();
        // Its own entry, else a free one, else the one whose wait ended longest ago.
        let mut index = 0;
        let mut rank = (3u8, Instant::MAX);
        for (i, e) in entries.iter().enumerate() {
            let r = match e {
                Some(e) if e.source == *source => (0, Instant::MIN),
                None => (1, Instant::MIN),
                Some(e) => (2, e.until),
            };
            if r < rank {
                rank = r;
                index = i;
            }
        }
        let slot = &mut entries[index];
        let failures = match slot {
            Some(e) if e.source == *source => e.failures.saturating_add(1),
            _ => 1,
        };
        let wait = match failures.checked_sub(FREE_FAILURES + 1) {
            None => 0,
            Some(doublings) => (FIRST_WAIT_MS << doublings.min(8)).min(MAX_WAIT_MS),
        };
        *slot = Some(Entry {
            source: *source,
            failures,
            until: now + Duration::from_millis(wait),
        });
        failures
    }

    /// Forgets `source` after a successful login.
    pub fn succeeded(&self, source: &Source) {
        for slot in self.entries.borrow_mut().iter_mut() {
            if slot.is_some_and(|e| e.source == *source) {
                *slot = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(1_000_000 + ms)
    }

    #[test]
    fn free_failures_then_doubling_waits_per_source() {
        let b = Backoff::new();
        let one = [1; 16];
        let two = [2; 16];
        for n in 1..=FREE_FAILURES {
            assert_eq!(b.failed(&one, at(0)), n);
            assert!(!b.blocked(&one, at(0)));
        }
        b.failed(&one, at(0));
        assert!(b.blocked(&one, at(999)));
        assert!(!b.blocked(&one, at(1_000)));
        // Another address is not affected.
        assert!(!b.blocked(&two, at(10)));
        b.failed(&one, at(1_000));
        assert!(b.blocked(&one, at(2_999)));
        assert!(!b.blocked(&one, at(3_000)));
        for _ in 0..40 {
            b.failed(&one, at(3_000));
        }
        assert!(b.blocked(&one, at(3_000 + MAX_WAIT_MS - 1)));
        assert!(!b.blocked(&one, at(3_000 + MAX_WAIT_MS)));
        b.succeeded(&one);
        assert!(!b.blocked(&one, at(3_001)));
        assert_eq!(b.failed(&one, at(3_001)), 1);
    }

    /// The tarpit answers a waiting source when its wait ends: the end is the one `blocked`
    /// goes by.
    #[cfg(feature = "tarpit")]
    #[test]
    fn waiting_until_is_the_end_of_the_wait() {
        let b = Backoff::new();
        let one = [1; 16];
        for _ in 0..FREE_FAILURES {
            b.failed(&one, at(0));
        }
        assert_eq!(b.waiting_until(&one, at(0)), None);
        b.failed(&one, at(0));
        assert_eq!(b.waiting_until(&one, at(10)), Some(at(1_000)));
        assert_eq!(b.waiting_until(&one, at(1_000)), None);
        assert_eq!(b.waiting_until(&[2; 16], at(10)), None);
    }

    #[test]
    fn a_flood_of_addresses_reuses_the_oldest_entries() {
        let b = Backoff::new();
        let victim = [9; 16];
        for _ in 0..=FREE_FAILURES {
            b.failed(&victim, at(0));
        }
        assert!(b.blocked(&victim, at(1)));
        for i in 0..(BACKOFF_SLOTS * 3) {
            let mut source = [0; 16];
            source[..8].copy_from_slice(&(i as u64).to_le_bytes());
            b.failed(&source, at(i as u64));
        }
        // Bounded: the table never grows, and forgetting only ever unblocks.
        assert_eq!(b.entries.borrow().iter().flatten().count(), BACKOFF_SLOTS);
    }
}
