//! The FRU at start-up: read each FRU EEPROM through its driver, log what it holds, and hand the
//! first valid image to the agent for CIM_Chassis and CIM_Card. Read once: FRU data is written
//! at manufacture and does not change while the BMC runs.

use log::{info, warn};
use wsbmc_board::Board;
use wsbmc_cim::FruView;
use wsbmc_hal::AnyDevice;
use wsbmc_ipmi::Text;
use wsbmc_ipmi::fru::Fru;

/// Reads every FRU EEPROM of the board; returns the first image that parses.
pub async fn read<I, B>(board: &Board, devices: &mut [AnyDevice<I, B>]) -> Option<FruView>
where
    I: embedded_hal_async::i2c::I2c,
    B: wsbmc_hal::IpmiLink,
{
    let mut first = None;
    for (d, dev) in board.devices.iter().zip(devices.iter_mut()) {
        let AnyDevice::At24(eeprom) = dev else {
            continue;
        };
        let mut buf = vec![0u8; eeprom.size().bytes().min(4096)];
        let bytes = match eeprom.read_fru(&mut buf).await {
            Ok(b) => b,
            Err(e) => {
                warn!("FRU {}: cannot read: {e:?}", d.name);
                continue;
            }
        };
        match Fru::parse(bytes) {
            Ok(fru) => {
                let view = view(&fru);
                info!(
                    "FRU {}: {} {} serial {}",
                    d.name,
                    view.board_manufacturer.as_deref().unwrap_or("?"),
                    view.board_product.as_deref().unwrap_or("?"),
                    view.board_serial.as_deref().unwrap_or("?")
                );
                first.get_or_insert(view);
            }
            Err(e) => warn!("FRU {}: {e:?}", d.name),
        }
    }
    first
}

/// The decoded areas as the CIM model reads them. An area that is corrupt is left out (and
/// logged); the others still count.
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
        Err(e) => warn!("FRU chassis area: {e:?}"),
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
        Err(e) => warn!("FRU board area: {e:?}"),
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
        Err(e) => warn!("FRU product area: {e:?}"),
    }
    v
}
