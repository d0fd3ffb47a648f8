//! Register-level drivers for the TI (Luminary Micro) LM3S6965, the MCU of the Stellaris
//! LM3S6965 evaluation board that QEMU models as `lm3s6965evb`.
//!
//! Only what the bare-metal wsbmc image needs, and only what QEMU models, is here:
//!
//! - [`sysctl`]: clock tree (PLL at 50 MHz) and peripheral clock gating;
//! - [`enet`]: the on-chip Ethernet MAC as an `embassy-net-driver` [`Driver`](embassy_net_driver::Driver);
//! - [`i2c`]: the I2C masters as `embedded_hal_async::i2c::I2c`, the bus type of every device
//!   driver in `wsbmc-hal`;
//! - [`time`] (feature `time-driver`): an embassy-time driver on SysTick.
//!
//! There is no PAC: the LM3S6965 register maps are small, and writing the few registers by
//! offset keeps the dependency graph and the flash image small. Register offsets and bits come
//! from the LM3S6965 datasheet; where QEMU's model differs from the silicon, the driver follows
//! the behaviour both accept and the difference is noted where it matters.
//!
//! Interrupts are dispatched by [`on_interrupt`], which the image calls from cortex-m-rt's
//! `DefaultHandler`: that avoids a device crate just to name the vector table entries.
#![no_std]

pub mod enet;
pub mod i2c;
mod regs;
pub mod sysctl;
#[cfg(feature = "time-driver")]
pub mod time;

/// NVIC interrupt number of the Ethernet controller (vector 58).
pub const IRQ_ETHERNET: u16 = 42;

/// Handles a device interrupt by its NVIC number. Returns `false` for a line no driver here owns,
/// so the caller can mask it instead of re-entering the handler forever.
pub fn on_interrupt(irqn: i16) -> bool {
    match u16::try_from(irqn) {
        Ok(IRQ_ETHERNET) => {
            enet::on_interrupt();
            true
        }
        _ => false,
    }
}

/// Masks an NVIC line that has no handler, so a stray level-triggered source cannot livelock the
/// core by re-entering `DefaultHandler`.
pub fn mask_interrupt(irqn: i16) {
    if let Ok(n) = u16::try_from(irqn) {
        cortex_m::peripheral::NVIC::mask(Irq(n));
    }
}

/// A device interrupt line, by NVIC number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Irq(pub u16);

// Safety: `number` returns the NVIC line this value was built from; the LM3S6965 has 54 lines
// (0..=53) and the NVIC ignores writes to bits of lines it does not implement.
unsafe impl cortex_m::interrupt::InterruptNumber for Irq {
    fn number(self) -> u16 {
        self.0
    }
}
