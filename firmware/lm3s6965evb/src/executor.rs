//! A thread-mode embassy executor that sleeps with WFI.
//!
//! embassy-executor's Cortex-M executor idles with WFE, which QEMU's TCG treats as a yield, not
//! a halt: an idle guest would spin a host core at 100%. WFI halts in QEMU and on silicon. The
//! classic race (work pended between the check and the sleep) is closed by checking with
//! interrupts masked: WFI still wakes on a pending interrupt with PRIMASK set, and the handler
//! runs as soon as interrupts are re-enabled.

use core::pin::pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use embassy_executor::{Spawner, raw};
use static_cell::StaticCell;

/// Set whenever a task is woken; cleared before each poll round.
static WORK: AtomicBool = AtomicBool::new(true);

#[unsafe(export_name = "__pender")]
fn pender(_context: *mut ()) {
    WORK.store(true, Ordering::Release);
}

/// Runs the executor forever, after `init` has spawned the first tasks.
pub fn run(init: impl FnOnce(Spawner)) -> ! {
    static EXECUTOR: StaticCell<raw::Executor> = StaticCell::new();
    let executor: &'static raw::Executor = EXECUTOR.init(raw::Executor::new(core::ptr::null_mut()));
    init(executor.spawner());
    loop {
        WORK.store(false, Ordering::Release);
        // Safety: `poll` runs only here, in thread mode, never re-entered (the pender above only
        // sets a flag), which is the contract of `raw::Executor::poll`.
        unsafe { executor.poll() };
        cortex_m::interrupt::disable();
        if !WORK.load(Ordering::Acquire) {
            cortex_m::asm::wfi();
        }
        // Safety: undoes the `disable` just above; no critical section is open in thread mode
        // here, so enabling cannot break one.
        unsafe { cortex_m::interrupt::enable() };
    }
}

/// Runs `future` to its end before the executor starts, by polling it until it is ready. For
/// the boot's one wait, the FRU read: its I2C transfers poll the controller and yield, and
/// nothing else needs waking yet (the tasks that could be are not spawned), so a loop with a
/// waker that does nothing serves where a task's state machine would cost flash.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
