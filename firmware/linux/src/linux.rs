//! The Linux HAL: each device on the bus device its board entry names.

use wsbmc_board::Board;
use wsbmc_hal::{AnyDevice, DeviceModel};
use wsbmc_hal_linux::{DevIpmb, LinuxI2c};

pub type Devices = Vec<AnyDevice<LinuxI2c, DevIpmb>>;

/// Opens one handle per device: the kernel serialises transfers per adapter, and a handle per
/// device keeps the drivers' ownership model (each owns its bus) without a shared-bus layer.
pub fn build(board: &Board) -> Result<Devices, String> {
    board
        .devices
        .iter()
        .map(|d| {
            let bus = board
                .buses
                .get(usize::from(d.bus))
                .ok_or_else(|| format!("device {:?} refers to a missing bus", d.name))?;
            if d.model == DeviceModel::IpmbSatellite {
                let path = bus.ipmb_dev.as_deref().ok_or_else(|| {
                    format!(
                        "device {:?}: bus {:?} has no ipmb-dev for --hal linux",
                        d.name, bus.name
                    )
                })?;
                let ipmb = DevIpmb::open(path).map_err(|e| format!("{path}: {e}"))?;
                return Ok(AnyDevice::satellite(ipmb, d.address));
            }
            let path = bus.linux_dev.as_deref().ok_or_else(|| {
                format!(
                    "device {:?}: bus {:?} has no linux-dev for --hal linux",
                    d.name, bus.name
                )
            })?;
            let i2c = LinuxI2c::open(path).map_err(|e| format!("{path}: {e}"))?;
            Ok(AnyDevice::bind(d.model, i2c, d.address))
        })
        .collect()
}
