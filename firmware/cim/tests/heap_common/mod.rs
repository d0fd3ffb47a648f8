//! What the heap tests share: a process-wide counting allocator and the bare-metal image's
//! limits. Each heap test is its own test binary with one test, because the counter is global.
// Each heap test binary uses a different part of this (and of the image's limits file).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use core::cell::RefCell;

use wsbmc_monitor::{Monitor, SensorId};
use wsbmc_wsman::{Limits, RequestMeta};

use crate::common::cpu_temp;

struct Counting;

static ON: AtomicBool = AtomicBool::new(false);
static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// Safety: forwards to the system allocator unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Safety: the caller upholds `GlobalAlloc::alloc`'s contract, forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && ON.load(Ordering::Relaxed) {
            let now = USED.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: `ptr` came from `alloc` with this layout (caller's contract).
        unsafe { System.dealloc(ptr, layout) };
        if ON.load(Ordering::Relaxed) {
            // Blocks allocated before counting started may be freed while counting: saturate.
            let _ = USED.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(layout.size()))
            });
        }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most `f` holds on the heap at once, counting only what it allocates itself.
pub fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    USED.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ON.store(true, Ordering::Relaxed);
    let r = f();
    ON.store(false, Ordering::Relaxed);
    (r, PEAK.load(Ordering::Relaxed))
}

/// Runs `f` with the count paused: for what a test does on behalf of something outside the
/// process (the socket a response is written to).
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    let was = ON.swap(false, Ordering::Relaxed);
    let r = f();
    ON.store(was, Ordering::Relaxed);
    r
}

/// The bare-metal image's own limits: its source file, included, not a copy.
#[path = "../../../lm3s6965evb/src/limits.rs"]
mod image;

/// The image's request body cap (firmware/lm3s6965evb/src/limits.rs).
pub const MAX_BODY: usize = image::MAX_BODY;

/// The image's WS-Man limits before a board overrides them (firmware/lm3s6965evb/src/limits.rs).
pub fn image_limits() -> Limits {
    image::base()
}

/// A dozen numeric sensors, each with a reading: more items than one 8 KiB response holds.
pub fn twelve_sensors() -> RefCell<Monitor> {
    sensors(12)
}

/// `n` numeric sensors (`temp0`...), each with a reading.
pub fn sensors(n: u8) -> RefCell<Monitor> {
    let sensors = (0..n)
        .map(|i| {
            let mut s = cpu_temp();
            s.key = format!("temp{i}");
            s.name = format!("Temp {i}");
            s.number = 1 + i;
            s
        })
        .collect::<Vec<_>>();
    let mut monitor = Monitor::new(sensors);
    for i in 0..u16::from(n) {
        assert!(monitor.record(SensorId(i), Ok(40_000), 1_000, true).is_ok());
    }
    RefCell::new(monitor)
}

/// An authenticated UTF-8 request, as the HTTP layer hands it over.
pub fn meta() -> RequestMeta<'static> {
    RequestMeta {
        content_type: Some("application/soap+xml;charset=UTF-8"),
        user: Some("admin"),
        now_ms: 2_000,
        security_profiles: None,
    }
}
