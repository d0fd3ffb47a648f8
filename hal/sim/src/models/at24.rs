//! 24Cxx EEPROMs: one or two word-address bytes, sequential reads that wrap at the end, page
//! writes that wrap inside the page as the silicon does.

use wsbmc_hal::DeviceModel;
use wsbmc_hal::devices::At24Size;

use super::{Inputs, SimModel};
use crate::SimI2cError;

pub(crate) struct Model {
    ptr: usize,
    mem: Vec<u8>,
    size: At24Size,
}

impl SimModel for Model {
    fn new(model: DeviceModel, _: u8) -> Self {
        // The registry binds only the at24 models here; the smallest part stands in otherwise.
        let size = model.eeprom().unwrap_or(At24Size::C02);
        // Erased EEPROM cells read as ones.
        Model {
            ptr: 0,
            mem: vec![0xFF; size.bytes()],
            size,
        }
    }

    fn load_eeprom(&mut self, bytes: &[u8]) -> bool {
        match self.mem.get_mut(..bytes.len()) {
            Some(head) => {
                head.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    fn write(&mut self, first: u8, rest: &[u8]) -> Result<(), SimI2cError> {
        let size = self.size;
        let (addr, payload) = if size.address_bytes() == 1 {
            (usize::from(first), rest)
        } else {
            let Some((&lo, payload)) = rest.split_first() else {
                // Only the high address byte: the part latches nothing useful.
                return Ok(());
            };
            (usize::from(u16::from_be_bytes([first, lo])), payload)
        };
        let n = size.bytes();
        self.ptr = addr % n;
        // Page writes wrap inside the page, as the silicon does.
        let page = size.page();
        let base = self.ptr - self.ptr % page;
        for (i, b) in payload.iter().enumerate() {
            let at = base + (self.ptr % page + i) % page;
            self.mem[at] = *b;
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], _: &dyn Inputs) -> Result<(), SimI2cError> {
        for b in buf.iter_mut() {
            *b = self.mem[self.ptr];
            self.ptr = (self.ptr + 1) % self.mem.len();
        }
        Ok(())
    }
}
