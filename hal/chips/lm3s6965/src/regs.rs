//! Volatile access to a block of 32-bit memory-mapped registers.

use core::ptr::{read_volatile, write_volatile};

/// The base address of one peripheral's register block.
///
/// Only this crate builds one, and only from the datasheet's memory map, which is what makes the
/// safe `read`/`write` below sound: none of these peripherals can write to memory (there is no
/// DMA in use), so a register access can change device state but never Rust-visible memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block(usize);

impl Block {
    /// # Safety
    /// `base` must be the start of a register block of the LM3S6965 memory map, valid for
    /// aligned 32-bit volatile accesses at every offset the driver uses.
    pub(crate) const unsafe fn new(base: usize) -> Self {
        Self(base)
    }

    pub(crate) fn base(self) -> usize {
        self.0
    }

    pub(crate) fn read(self, offset: usize) -> u32 {
        // Safety: `Block::new`'s contract makes `base + offset` an aligned device register.
        unsafe { read_volatile((self.0 + offset) as *const u32) }
    }

    pub(crate) fn write(self, offset: usize, value: u32) {
        // Safety: as in `read`; writes only change the peripheral's state.
        unsafe { write_volatile((self.0 + offset) as *mut u32, value) }
    }

    pub(crate) fn modify(self, offset: usize, f: impl FnOnce(u32) -> u32) {
        let v = self.read(offset);
        self.write(offset, f(v));
    }
}
