//! The heap, and the two numbers the RAM budget is checked against at run time: the heap's and
//! the stack's high-water marks.
//!
//! RAM is 64 KiB: `.data` + `.bss` (task futures, socket buffers, this heap) from the bottom,
//! the main stack from the top down into whatever is left. The heap is a fixed array in `.bss`
//! so the linker, not a run-time surprise, says whether static RAM fits.

use core::alloc::{GlobalAlloc, Layout};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};

use embedded_alloc::LlffHeap;

/// Heap for the XML parser, request and response bodies, the sensor table and the SEL index.
///
/// Sized so that the worst case the request limits allow fits by arithmetic, not by luck: an
/// allocation failure resets the board, and parsing and rendering allocate infallibly.
/// - Long-lived state: ~7.0 KiB measured at idle after the e2e tests (sensor table and cache,
///   SEL index, service state), plus open enumeration contexts, at most 1.5 KiB together
///   (`Limits::max_context_bytes` in main.rs).
/// - Each connection outside the response gate: its request body, at most `MAX_BODY` (4 KiB),
///   allocated fallibly (a body that does not fit is answered 503, never a reset).
/// - The one request being handled (`ResponseGate`): at most 13.2 KiB measured on this image
///   (a selector filter at the attribute limit; a DOM at the node limit, or the longest WQL
///   filter, beside an 8 KiB response come close). The request's DOM is freed before an
///   Enumerate or Pull response is built, and roxmltree's tables are reserved once
///   (vendor/roxmltree/PATCHED.md), so the parse and the response never add up.
///   firmware/cim/tests/heap_hostile.rs measures every request shape at the limits on the host;
///   the e2e hostile test sends them two at a time.
///
/// - The accounts (feature `accounts`, src/accounts.rs): the table, ~2.4 KiB by value for its
///   16 slots, and each account's name and salt beside it, under 100 B an account with the
///   allocator's rounding: 4 KiB with the table full. They get heap of their own in the sum
///   rather than a share of the 2.3 KiB left for fragmentation: with the table in that share,
///   two hostile clients at the limits left no 5.6 KiB hole in 13 KiB free, and the board reset.
///
/// Total: 7 + 1.5 + 2 × 4 + 13.2 = 29.7 KiB of 32 (33.7 of 36 with accounts); the rest is for
/// the allocator's rounding and fragmentation. `HANDLE_RESERVE` in main.rs is checked before
/// each request is handled, so if the long-lived part ever outgrows its estimate, the answer is
/// 503, not a reset.
pub const HEAP_SIZE: usize = 32 * 1024 + ACCOUNTS_HEAP;

const ACCOUNTS_HEAP: usize = if cfg!(feature = "accounts") {
    4 * 1024
} else {
    0
};

/// The pattern cortex-m-rt's `paint-stack` fills the stack with at reset.
const STACK_PAINT: u32 = 0xCCCC_CCCC;

struct CountingHeap {
    heap: LlffHeap,
    used: AtomicUsize,
    peak: AtomicUsize,
    /// High-water mark since [`begin_window`]: what one request took.
    window: AtomicUsize,
}

// Safety: delegates to `LlffHeap`, a correct `GlobalAlloc`; the counters only observe sizes.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Safety: the caller upholds `GlobalAlloc::alloc`'s contract, forwarded unchanged.
        let p = unsafe { self.heap.alloc(layout) };
        if p.is_null() {
            // The allocation-failure panic that follows says nothing (immediate-abort: it is the
            // HardFault log's PC); this line names the size, and the fill level tells a leak or
            // a burst (heap too small) from fragmentation (used well below the size).
            defmt::error!(
                "heap: {=usize} B allocation failed with {=usize} B in use",
                layout.size(),
                self.used.load(Ordering::Relaxed)
            );
        } else {
            let now = self.used.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            self.peak.fetch_max(now, Ordering::Relaxed);
            self.window.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Safety: `ptr` came from `alloc` above with this `layout` (caller's contract).
        unsafe { self.heap.dealloc(ptr, layout) };
        self.used.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static HEAP: CountingHeap = CountingHeap {
    heap: LlffHeap::empty(),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
    window: AtomicUsize::new(0),
};

/// Hands the heap its memory. Must run once, first thing in `main`, before anything allocates.
pub fn init_heap() {
    static mut MEMORY: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // Safety: called once at boot before any allocation; `MEMORY` is referenced nowhere else,
    // so the heap becomes the sole owner of this memory for the rest of the program.
    unsafe { HEAP.heap.init(&raw mut MEMORY as usize, HEAP_SIZE) }
}

/// Bytes currently allocated (requested sizes, without allocator overhead).
pub fn heap_used() -> usize {
    HEAP.used.load(Ordering::Relaxed)
}

/// Bytes not allocated (requested sizes; the allocator's rounding and fragmentation come out
/// of this too).
pub fn heap_free() -> usize {
    HEAP_SIZE.saturating_sub(heap_used())
}

/// Starts measuring one request's heap: [`window_peak`] is the high-water mark from here.
pub fn begin_window() {
    HEAP.window.store(heap_used(), Ordering::Relaxed);
}

pub fn window_peak() -> usize {
    HEAP.window.load(Ordering::Relaxed)
}

pub fn heap_peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}

// Safety: both symbols are defined by cortex-m-rt's link.x; only their addresses are used,
// never their contents as Rust values.
unsafe extern "C" {
    /// Lowest address of the stack region (end of `.bss`), from cortex-m-rt's linker script.
    static mut _stack_end: u32;
    /// Initial stack pointer: the top of RAM.
    static mut _stack_start: u32;
    /// Bounds of `.text`, from cortex-m-rt's linker script.
    static __stext: u32;
    static __etext: u32;
}

/// Fills `out` with the words between the stack pointer and the top of the stack that look like
/// Thumb return addresses (odd, inside `.text`), innermost first, and returns how many it found.
/// A heuristic backtrace for the HardFault log (where panics end): stale words can appear too, but the real callers
/// are always among them.
pub fn code_addresses_on_stack(out: &mut [u32]) -> usize {
    let text = (&raw const __stext as usize)..(&raw const __etext as usize);
    let top = stack_bounds().1;
    let mut addr = cortex_m::register::msp::read() as usize & !3;
    let mut n = 0;
    // At most 2 KiB of stack: the frames nearest the panic are the ones that say where it was.
    let end = top.min(addr.saturating_add(2048));
    while addr < end && n < out.len() {
        // Safety: `addr` is word aligned and between the live stack pointer and the top of the
        // stack region, which is RAM this program owns; reading it has no side effects.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word & 1 == 1
            && text.contains(&(word as usize & !1))
            && let Some(slot) = out.get_mut(n)
        {
            *slot = word & !1;
            n += 1;
        }
        addr += 4;
    }
    n
}

fn stack_bounds() -> (usize, usize) {
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Bytes the stack region spans (RAM left after static data).
pub fn stack_size() -> usize {
    let (bottom, top) = stack_bounds();
    top - bottom
}

/// Deepest the stack has been since reset: the distance from the top to the lowest word no
/// longer holding the paint pattern.
pub fn stack_peak() -> usize {
    let (bottom, top) = stack_bounds();
    let mut addr = bottom;
    while addr < top {
        // Safety: `bottom..top` is the stack region of RAM, word aligned (the linker script
        // asserts it). Words below the live stack pointer are not in use; a word an interrupt
        // writes concurrently reads as either value, and either answer is a valid estimate.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != STACK_PAINT {
            break;
        }
        addr += 4;
    }
    top - addr
}
