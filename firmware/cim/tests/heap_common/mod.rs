//! What the heap tests share: a process-wide counting allocator and the bare-metal image's
//! limits. Each heap test is its own test binary with one test, because the counter is global.

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

/// The image's request body cap (firmware/lm3s6965evb/src/main.rs `MAX_BODY`).
pub const MAX_BODY: usize = 4 * 1024;

/// The image's WS-Man limits (firmware/lm3s6965evb/src/main.rs `wsman_limits`).
pub fn image_limits() -> Limits {
    Limits {
        max_envelope_size: 8192,
        default_envelope_size: 8192,
        min_envelope_size: 8192,
        max_request_size: MAX_BODY,
        max_xml_nodes: 128,
        max_xml_depth: 24,
        max_enum_contexts: 4,
        // The image takes the default, which is above its table size.
        max_enum_contexts_per_user: Limits::default().max_enum_contexts_per_user,
        enum_context_idle_ms: 60_000,
        max_operation_timeout_ms: 60_000,
        max_batch_items: 64,
        max_filter_depth: 4,
        max_xml_attributes: 48,
        max_xml_namespaces: 16,
        max_filter_len: 256,
        max_context_bytes: 1536,
    }
}

/// A dozen numeric sensors, each with a reading: more items than one 8 KiB response holds.
pub fn twelve_sensors() -> RefCell<Monitor> {
    let sensors = (0..12u8)
        .map(|i| {
            let mut s = cpu_temp();
            s.key = format!("temp{i}");
            s.name = format!("Temp {i}");
            s.number = 1 + i;
            s
        })
        .collect::<Vec<_>>();
    let mut monitor = Monitor::new(sensors);
    for i in 0..12 {
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
