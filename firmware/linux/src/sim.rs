//! The simulated HAL: the board's devices as register-level models on virtual buses, read by
//! the real drivers, plus the simulated host behind the power button.

use wsbmc_board::Board;
use wsbmc_hal::{AnyDevice, DeviceModel, PowerState, Requester};
use wsbmc_ipmi::Text;
use wsbmc_ipmi::fru::{BoardInfo, Builder, Fields, ProductInfo};
use wsbmc_ipmi::ipmb::BMC_SA;
use wsbmc_sim::{HostTiming, SimBoard, SimBus, SimHost, SimIpmb, SystemClock, Waveform};

/// The device table the poller owns on the simulated HAL.
pub type Devices = Vec<AnyDevice<SimBus, Requester<SimIpmb>>>;

/// Everything the control channel needs to reach the simulation.
#[derive(Clone)]
pub struct Sim {
    pub board: SimBoard,
    pub host: SimHost,
}

/// Builds the simulated board and one driver per device, in board order.
pub fn build(board: &Board) -> Result<(Sim, Devices), String> {
    let sim = SimBoard::new(board.sim.seed, SystemClock::new());
    let bus_name = |i: u16| {
        board
            .buses
            .get(usize::from(i))
            .map(|b| b.name.as_str())
            .ok_or_else(|| format!("device refers to bus #{i}, which does not exist"))
    };
    for d in &board.devices {
        sim.add_device(bus_name(d.bus)?, d.address, d.model)
            .map_err(|e| format!("device {:?}: {e}", d.name))?;
        if d.model.eeprom().is_some() {
            let image = fru_image(board)?;
            sim.load_eeprom(bus_name(d.bus)?, d.address, &image)
                .map_err(|e| format!("device {:?}: {e}", d.name))?;
        }
    }
    for c in &board.sim.channels {
        let d = board
            .devices
            .get(usize::from(c.device))
            .ok_or_else(|| format!("sim channel refers to device #{}", c.device))?;
        let wave = Waveform {
            base: c.base,
            swing: c.swing,
            period_ms: c.period_ms,
            noise: c.noise,
        };
        sim.set_waveform(bus_name(d.bus)?, d.address, c.channel, wave)
            .map_err(|e| format!("device {:?}: {e}", d.name))?;
    }
    let devices = board
        .devices
        .iter()
        .map(|d| {
            let bus = bus_name(d.bus)?;
            Ok(if d.model == DeviceModel::IpmbSatellite {
                AnyDevice::satellite(Requester::new(sim.ipmb(bus, BMC_SA)), d.address)
            } else {
                AnyDevice::bind(d.model, sim.bus(bus), d.address)
            })
        })
        .collect::<Result<Devices, String>>()?;
    // The host starts on, so a fresh agent reads every sensor.
    let host = SimHost::new(SystemClock::new(), PowerState::On, HostTiming::default());
    Ok((Sim { board: sim, host }, devices))
}

/// The board's FRU image as its EEPROM would hold it: board and product areas from `[board]`.
fn fru_image(board: &Board) -> Result<Vec<u8>, String> {
    let i = &board.info;
    let board_area = BoardInfo {
        language: 0,
        mfg_minutes: 0,
        manufacturer: Text::new(&i.manufacturer),
        product_name: Text::new(&i.product),
        serial_number: Text::new(&i.serial_number),
        part_number: Text::new(&i.name),
        fru_file_id: Text::EMPTY,
        custom: Fields::EMPTY,
    };
    let product = ProductInfo {
        language: 0,
        manufacturer: Text::new(&i.manufacturer),
        product_name: Text::new(&i.product),
        part_number: Text::new(&i.name),
        version: Text::EMPTY,
        serial_number: Text::new(&i.serial_number),
        asset_tag: Text::EMPTY,
        fru_file_id: Text::EMPTY,
        custom: Fields::EMPTY,
    };
    let mut out = vec![0xFFu8; 256];
    let n = Builder::new()
        .board(board_area)
        .product(product)
        .write(&mut out)
        .map_err(|e| format!("board info does not fit a 256-byte FRU image: {e:?}"))?;
    out.truncate(n);
    Ok(out)
}
