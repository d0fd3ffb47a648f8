//! An embassy-time driver on SysTick, ticking at 1 kHz.
//!
//! SysTick is a 24-bit down-counter with no compare register, so the driver counts its wraps:
//! with the reload set to one millisecond of core clock, every SysTick exception is one tick of
//! embassy time (the image enables `embassy-time/tick-hz-1_000`). The exception also checks the
//! timer queue, so alarms have millisecond resolution, which is all a BMC's protocol timeouts
//! and poll periods need. A millisecond interrupt costs well under 1% of the CPU.
//!
//! QEMU does not connect the SysTick reference clock on this machine, so the counter runs from
//! the core clock (CLKSOURCE = 1), which is also what silicon provides.

use core::cell::{Cell, RefCell};
use core::task::Waker;

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use critical_section::{CriticalSection, Mutex};
use embassy_time_driver::Driver;
use embassy_time_queue_utils::Queue;

/// Ticks per second this driver produces; must equal embassy-time's configured tick rate.
pub const TICK_HZ: u32 = 1_000;

const _: () = assert!(embassy_time_driver::TICK_HZ == TICK_HZ as u64);

struct SysTickDriver {
    ticks: Mutex<Cell<u64>>,
    /// Tick at which the queue next needs attention; `u64::MAX` when it is empty.
    alarm: Mutex<Cell<u64>>,
    queue: Mutex<RefCell<Queue>>,
}

impl SysTickDriver {
    /// Wakes every expired timer and re-arms the alarm for the next one.
    fn service(&self, cs: CriticalSection<'_>, now: u64) {
        let mut queue = self.queue.borrow_ref_mut(cs);
        let next = queue.next_expiration(now);
        self.alarm.borrow(cs).set(next);
    }

    fn tick(&self) {
        critical_section::with(|cs| {
            let ticks = self.ticks.borrow(cs);
            let now = ticks.get().wrapping_add(1);
            ticks.set(now);
            if now >= self.alarm.borrow(cs).get() {
                self.service(cs, now);
            }
        });
    }
}

impl Driver for SysTickDriver {
    fn now(&self) -> u64 {
        critical_section::with(|cs| self.ticks.borrow(cs).get())
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let changed = self.queue.borrow_ref_mut(cs).schedule_wake(at, waker);
            if changed {
                let now = self.ticks.borrow(cs).get();
                self.service(cs, now);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: SysTickDriver = SysTickDriver {
    ticks: Mutex::new(Cell::new(0)),
    alarm: Mutex::new(Cell::new(u64::MAX)),
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Starts the tick: one SysTick exception per millisecond of a `core_hz` core clock. Takes the
/// SYST peripheral by value so nothing else can reprogram it.
pub fn init(mut syst: SYST, core_hz: u32) {
    let reload = (core_hz / TICK_HZ).clamp(2, 1 << 24) - 1;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(reload);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    DRIVER.tick();
}
