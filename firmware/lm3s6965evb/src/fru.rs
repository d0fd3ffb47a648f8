//! The FRU at boot, as the Linux agent reads it (firmware/linux/src/fru.rs): each FRU EEPROM
//! through its driver, the first image that parses handed to the agent for CIM_Chassis and
//! CIM_Card. Read once: FRU data is written at manufacture and does not change while the BMC
//! runs, so the buffer it is read into is freed again before the agent starts serving.

use alloc::vec;
use alloc::vec::Vec;

use defmt::{info, warn};
use wsbmc_chip_lm3s6965::i2c::I2c;
use wsbmc_cim::FruView;
use wsbmc_hal::devices::At24;
use wsbmc_hal::{AnyDevice, DeviceError};
use wsbmc_ipmi::fru::Fru;

use crate::board;

/// Largest image read. The driver reads only as far as the header's areas reach, up to the end
/// of the part when there is a multi-record area; 4 KiB is an at24c32, and the heap is empty
/// at boot.
const MAX_FRU: usize = 4096;

/// Device `i` of the board if it is a FRU EEPROM: its name, the driver and a buffer to read it
/// into. The boot runs each read itself (`executor::block_on`): an async `read` called once
/// nested its state machine in the boot's and cost more flash than the loop it held.
pub fn eeprom(
    devices: &mut [AnyDevice<I2c>],
    i: usize,
) -> Option<(&'static str, &mut At24<I2c>, Vec<u8>)> {
    let (Some(d), Some(AnyDevice::At24(eeprom))) = (board::DEVICES.get(i), devices.get_mut(i))
    else {
        return None;
    };
    let buf = vec![0u8; eeprom.size().bytes().min(MAX_FRU)];
    Some((d.name, eeprom, buf))
}

/// The agent's view of the image `read` gave for EEPROM `name`, if it parses.
pub fn view(name: &str, read: Result<&[u8], DeviceError>) -> Option<FruView> {
    let Ok(bytes) = read else {
        // An erased or absent part lands here too (its header fails the checksum).
        warn!("FRU {=str}: no valid FRU header", name);
        return None;
    };
    let Ok(fru) = Fru::parse(bytes) else {
        warn!("FRU {=str}: the image does not parse", name);
        return None;
    };
    let view = FruView::from_fru(&fru, |area, _| {
        warn!("FRU {=str} {=str} area is corrupt", name, area)
    });
    info!(
        "FRU {=str}: {=str} {=str} serial {=str}",
        name,
        view.board_manufacturer.as_deref().unwrap_or("?"),
        view.board_product.as_deref().unwrap_or("?"),
        view.board_serial.as_deref().unwrap_or("?")
    );
    Some(view)
}
