//! The Linux HAL: each device on the bus device its board entry names.

use wsbmc_board::{Board, Bus};
use wsbmc_hal::{AnyDevice, DeviceModel};
use wsbmc_hal_linux::{DevIpmb, DevIpmi, IPMI_DEFAULT_WAIT, IpmiTarget, LinuxI2c, LinuxLink};

pub type Devices = Vec<AnyDevice<LinuxI2c, LinuxLink>>;

/// A satellite's route: frames on the bus's `ipmb-dev`, or messages through its `ipmi-dev`
/// (the board validator allows only one of them).
fn satellite_link(name: &str, bus: &Bus) -> Result<LinuxLink, String> {
    if let Some(path) = bus.ipmi_dev.as_deref() {
        let target = match bus.ipmi_channel {
            Some(channel) => IpmiTarget::Bridged(channel),
            None => IpmiTarget::Interface,
        };
        let dev =
            DevIpmi::open(path, target, IPMI_DEFAULT_WAIT).map_err(|e| format!("{path}: {e}"))?;
        log::info!("satellite {name}: {path} ({target:?})");
        return Ok(LinuxLink::Ipmi(dev));
    }
    let path = bus.ipmb_dev.as_deref().ok_or_else(|| {
        format!(
            "device {name:?}: bus {:?} has no ipmb-dev or ipmi-dev for --hal linux",
            bus.name
        )
    })?;
    let dev = DevIpmb::open(path).map_err(|e| format!("{path}: {e}"))?;
    Ok(LinuxLink::ipmb(dev))
}

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
                let link = satellite_link(&d.name, bus)?;
                return Ok(AnyDevice::satellite(link, d.address));
            }
            let path = bus.linux_dev.as_deref().ok_or_else(|| {
                format!(
                    "device {:?}: bus {:?} has no linux-dev for --hal linux",
                    d.name, bus.name
                )
            })?;
            let i2c = LinuxI2c::open(path).map_err(|e| format!("{path}: {e}"))?;
            Ok(AnyDevice::bind_with_sense(
                d.model,
                i2c,
                d.address,
                d.sense_micro_ohms,
            ))
        })
        .collect()
}
