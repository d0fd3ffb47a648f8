//! The FRU at boot, as the Linux agent reads it (firmware/linux/src/fru.rs): each FRU EEPROM
//! through its driver, the first image that parses handed to the agent for CIM_Chassis and
//! CIM_Card. Read once: FRU data is written at manufacture and does not change while the BMC
//! runs, so the buffer it is read into is freed again before the agent starts serving.

use alloc::string::String;
use alloc::vec;

use defmt::{info, warn};
use wsbmc_chip_lm3s6965::i2c::I2c;
use wsbmc_cim::FruView;
use wsbmc_hal::AnyDevice;
use wsbmc_ipmi::Text;
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
        let view = view(&fru);
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

/// The decoded areas as the CIM model reads them. An area that is corrupt is left out (and
/// logged); the others still count, as on the host.
fn view(fru: &Fru<'_>) -> FruView {
    let s = |t: Text<'_>| {
        let v: String = t.chars().collect();
        (!v.is_empty()).then_some(v)
    };
    let mut v = FruView::default();
    match fru.chassis() {
        Ok(Some(c)) => {
            v.chassis_type = Some(c.chassis_type);
            v.chassis_part_number = s(c.part_number);
            v.chassis_serial = s(c.serial_number);
        }
        Ok(None) => {}
        Err(_) => warn!("FRU chassis area is corrupt"),
    }
    match fru.board() {
        Ok(Some(b)) => {
            v.board_mfg_minutes = (b.mfg_minutes != 0).then_some(b.mfg_minutes);
            v.board_manufacturer = s(b.manufacturer);
            v.board_product = s(b.product_name);
            v.board_serial = s(b.serial_number);
            v.board_part_number = s(b.part_number);
        }
        Ok(None) => {}
        Err(_) => warn!("FRU board area is corrupt"),
    }
    match fru.product() {
        Ok(Some(p)) => {
            v.product_manufacturer = s(p.manufacturer);
            v.product_name = s(p.product_name);
            v.product_part_number = s(p.part_number);
            v.product_version = s(p.version);
            v.product_serial = s(p.serial_number);
            v.asset_tag = s(p.asset_tag);
        }
        Ok(None) => {}
        Err(_) => warn!("FRU product area is corrupt"),
    }
    v
}
