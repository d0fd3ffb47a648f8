//! The FRU at start-up: read each FRU EEPROM through its driver, log what it holds, and hand the
//! first valid image to the agent for CIM_Chassis and CIM_Card. Read once: FRU data is written
//! at manufacture and does not change while the BMC runs.

use log::{info, warn};
use wsbmc_board::Board;
use wsbmc_cim::FruView;
use wsbmc_hal::AnyDevice;
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
                let view =
                    FruView::from_fru(&fru, |area, e| warn!("FRU {} {area} area: {e:?}", d.name));
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
