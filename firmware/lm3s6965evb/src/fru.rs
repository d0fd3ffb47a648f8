//! The FRU at boot, as the Linux agent reads it (firmware/linux/src/fru.rs): each FRU EEPROM
//! through its driver, the first image that parses handed to the agent for CIM_Chassis and
//! CIM_Card. Read once: FRU data is written at manufacture and does not change while the BMC
//! runs, so the buffer it is read into is freed again before the agent starts serving.

use alloc::vec;

use defmt::{info, warn};
use wsbmc_chip_lm3s6965::i2c::I2c;
use wsbmc_cim::FruView;
use wsbmc_hal::AnyDevice;
use wsbmc_ipmi::fru::Fru;

use crate::board;

/// Largest image read. The driver reads only as far as the header's areas reach, up to the end
/// of the part when there is a multi-record area; 4 KiB is an at24c32, and the heap is empty
/// at boot.
const MAX_FRU: usize = 4096;

/// Reads every FRU EEPROM of the board; returns the first image that parses.
pub async fn read(devices: &mut [AnyDevice<I2c>]) -> Option<FruView> {
    for (d, dev) in board::DEVICES.iter().zip(devices.iter_mut()) {
        let AnyDevice::At24(eeprom) = dev else {
            continue;
        };
        let mut buf = vec![0u8; eeprom.size().bytes().min(MAX_FRU)];
        let Ok(bytes) = eeprom.read_fru(&mut buf).await else {
            // An erased or absent part lands here too (its header fails the checksum).
            warn!("FRU {=str}: no valid FRU header", d.name);
            continue;
        };
        let Ok(fru) = Fru::parse(bytes) else {
            warn!("FRU {=str}: the image does not parse", d.name);
            continue;
        };
        let view = FruView::from_fru(&fru, |area, _| {
            warn!("FRU {=str} {=str} area is corrupt", d.name, area)
        });
        info!(
            "FRU {=str}: {=str} {=str} serial {=str}",
            d.name,
            view.board_manufacturer.as_deref().unwrap_or("?"),
            view.board_product.as_deref().unwrap_or("?"),
            view.board_serial.as_deref().unwrap_or("?")
        );
        return Some(view);
    }
    None
}
