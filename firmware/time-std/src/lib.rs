//! The embassy-time driver of the std images (the host agent, the AST2600 image, tests, benches).
//!
//! Why not embassy-time's own `std` driver: it needs a fixed-size generic timer queue
//! (`generic-queue-N`). When more tasks wait than the queue has slots, scheduling a wake evicts
//! and wakes another waiting timer early; that task re-arms its timer, which evicts the next one,
//! and so on: with 7+ idle connections on an 8-slot queue the agent spun at ~150% CPU (issue 20,
//! finding 1). No fixed size is right for every connection count.
//!
//! Here the queue holds at most one entry per waker: a task that re-arms while it is already
//! queued only moves its deadline (to the earlier of the two, as embassy's queues do; an early
//! wake is harmless, the timer future re-checks and re-arms). So the queue grows with the number
//! of live tasks and never with the number of re-arms, and nothing is ever woken before its
//! deadline because of room. One thread sleeps until the earliest deadline and wakes what is due.
//!
//! Linking this crate (`use wsbmc_time_std as _;`) installs the driver; embassy-time must then be
//! built without its `std` and `generic-queue-*` features, or the two drivers' symbols collide.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use embassy_time_driver::{Driver, TICK_HZ};

/// Pending wakes, at most one per waker (compared with [`Waker::will_wake`]).
///
/// A plain vector: its length is bounded by the number of tasks waiting on a timer (tens to a
/// few hundred here), so the linear scans cost less than keeping a second index for dedup.
#[derive(Default)]
pub struct TimerQueue {
    entries: Vec<(u64, Waker)>,
}

impl TimerQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Number of distinct wakers queued.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The earliest deadline queued, if any.
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.iter().map(|(at, _)| *at).min()
    }

    /// Queues a wake of `waker` at tick `at`. A waker already queued keeps one entry, with the
    /// earlier deadline. Returns true when this made `at` the queue's earliest deadline, i.e.
    /// when the timer thread must re-compute how long it sleeps.
    pub fn schedule(&mut self, at: u64, waker: &Waker) -> bool {
        let earliest = self.next_deadline();
        if let Some(entry) = self.entries.iter_mut().find(|(_, w)| w.will_wake(waker)) {
            if at >= entry.0 {
                return false;
            }
            entry.0 = at;
        } else {
            self.entries.push((at, waker.clone()));
        }
        earliest.is_none_or(|e| at < e)
    }

    /// Removes every entry due at `now` and appends its waker to `due`, earliest deadline first.
    pub fn take_due(&mut self, now: u64, due: &mut Vec<Waker>) {
        let mut taken: Vec<(u64, Waker)> = Vec::new();
        let mut i = 0;
        while i < self.entries.len() {
            if self.entries[i].0 <= now {
                taken.push(self.entries.swap_remove(i));
            } else {
                i += 1;
            }
        }
        taken.sort_by_key(|(at, _)| *at);
        due.extend(taken.into_iter().map(|(_, w)| w));
    }
}

/// The driver: a monotonic clock from the first `now()`, and the queue served by one thread.
pub struct StdDriver {
    start: OnceLock<Instant>,
    queue: Mutex<TimerQueue>,
    changed: Condvar,
    thread: OnceLock<()>,
}

impl StdDriver {
    /// A driver whose clock starts at its first use.
    pub const fn new() -> Self {
        Self {
            start: OnceLock::new(),
            queue: Mutex::new(TimerQueue::new()),
            changed: Condvar::new(),
            thread: OnceLock::new(),
        }
    }

    fn start(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    /// The queue even if a waker panicked while it was held: the entries stay consistent (each
    /// update is a single push, swap_remove or store), so refusing all timers would be worse.
    fn lock(&self) -> MutexGuard<'_, TimerQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer thread: wake what is due (outside the lock), then sleep until the earliest
    /// deadline or until a new earlier one is scheduled.
    fn run(&'static self) {
        let mut due = Vec::new();
        loop {
            let mut queue = self.lock();
            queue.take_due(self.now(), &mut due);
            if due.is_empty() {
                queue = match queue.next_deadline() {
                    None => self.changed.wait(queue).unwrap_or_else(|e| e.into_inner()),
                    Some(at) => {
                        let wait = ticks_to_duration(at.saturating_sub(self.now()));
                        self.changed
                            .wait_timeout(queue, wait)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                };
                drop(queue);
            } else {
                drop(queue);
                for waker in due.drain(..) {
                    waker.wake();
                }
            }
        }
    }
}

impl Default for StdDriver {
    fn default() -> Self {
        Self::new()
    }
}

/// Ticks (at embassy's `TICK_HZ`) to a sleep, capped so that `Instant + Duration` cannot overflow
/// for the "never" deadline `u64::MAX`; the thread simply re-checks after the cap.
fn ticks_to_duration(ticks: u64) -> Duration {
    const CAP: Duration = Duration::from_secs(3600);
    let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(TICK_HZ);
    u64::try_from(nanos).map_or(CAP, |n| Duration::from_nanos(n).min(CAP))
}

impl Driver for StdDriver {
    fn now(&self) -> u64 {
        let nanos = self.start().elapsed().as_nanos();
        u64::try_from(nanos * u128::from(TICK_HZ) / 1_000_000_000).unwrap_or(u64::MAX)
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        // The driver is only ever the `DRIVER` static below; the thread needs it `'static`.
        // The panic below is the one place this driver may stop the process (see there why).
        #[allow(clippy::panic)]
        self.thread.get_or_init(|| {
            std::thread::Builder::new()
                .name("embassy-time".into())
                .spawn(|| DRIVER.run())
                .map(drop)
                // Without the thread no timer would ever fire; there is no way to report this
                // through the driver interface, and running on would hang every timeout.
                .unwrap_or_else(|e| panic!("cannot start the timer thread: {e}"));
        });
        if self.lock().schedule(at, waker) {
            self.changed.notify_one();
        }
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: StdDriver = StdDriver::new());

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that records which id woke, and in which order.
    struct Probe {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
        count: AtomicUsize,
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn probes(n: usize) -> (Vec<Waker>, Arc<Mutex<Vec<usize>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let wakers = (0..n)
            .map(|id| {
                Waker::from(Arc::new(Probe {
                    id,
                    log: log.clone(),
                    count: AtomicUsize::new(0),
                }))
            })
            .collect();
        (wakers, log)
    }

    #[test]
    fn many_timers_all_kept_and_woken_in_deadline_order() {
        // Far more than any fixed queue: none is evicted or woken early.
        let (wakers, log) = probes(1000);
        let mut q = TimerQueue::new();
        for (i, w) in wakers.iter().enumerate() {
            // Deadlines out of insertion order: 1000 - i.
            q.schedule(1000 - i as u64, w);
        }
        assert_eq!(q.len(), 1000);
        let mut due = Vec::new();
        q.take_due(500, &mut due);
        assert_eq!(due.len(), 500, "only the due ones");
        due.drain(..).for_each(Waker::wake);
        assert_eq!(q.len(), 500);
        q.take_due(u64::MAX, &mut due);
        due.drain(..).for_each(Waker::wake);
        let order = log.lock().unwrap().clone();
        let expected: Vec<usize> = (0..1000).rev().collect();
        assert_eq!(order, expected, "earliest deadline first");
        assert!(q.is_empty());
    }

    #[test]
    fn rearming_waker_is_deduplicated_to_earliest_deadline() {
        let (wakers, log) = probes(2);
        let mut q = TimerQueue::new();
        assert!(q.schedule(100, &wakers[0]), "first entry is the earliest");
        // The same task re-arming (a clone compares equal with will_wake) keeps one entry.
        for at in [200, 150, 100, 300] {
            assert!(!q.schedule(at, &wakers[0].clone()));
        }
        assert_eq!(q.len(), 1);
        assert!(
            q.schedule(50, &wakers[0]),
            "an earlier deadline moves the entry"
        );
        assert_eq!((q.len(), q.next_deadline()), (1, Some(50)));
        assert!(!q.schedule(60, &wakers[1]));
        assert_eq!(q.len(), 2);
        let mut due = Vec::new();
        q.take_due(49, &mut due);
        assert!(due.is_empty(), "nothing woken before its deadline");
        q.take_due(60, &mut due);
        due.drain(..).for_each(Waker::wake);
        assert_eq!(*log.lock().unwrap(), vec![0, 1], "each woken once");
    }

    #[test]
    fn driver_fires_timers_through_the_thread() {
        let (wakers, log) = probes(64);
        let now = DRIVER.now();
        let ms = TICK_HZ / 1000;
        for (i, w) in wakers.iter().enumerate() {
            // Re-arm each a few times; the later ones must not add entries or early wakes.
            for k in 0..4 {
                DRIVER.schedule_wake(now + (20 + i as u64 % 8) * ms + k * ms, w);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while log.lock().unwrap().len() < 64 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(DRIVER.now() >= now + 20 * ms);
        let mut woken = log.lock().unwrap().clone();
        assert_eq!(woken.len(), 64, "each waker woken exactly once");
        woken.sort_unstable();
        assert_eq!(woken, (0..64).collect::<Vec<_>>());
    }

    #[test]
    fn ticks_convert_without_overflow() {
        assert_eq!(ticks_to_duration(TICK_HZ), Duration::from_secs(1));
        assert_eq!(ticks_to_duration(u64::MAX), Duration::from_secs(3600));
    }
}
