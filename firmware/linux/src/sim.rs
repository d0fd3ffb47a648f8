//! The simulated HAL: the board's devices as register-level models on virtual buses, read by
//! the real drivers, plus the simulated host behind the power button.

use wsbmc_board::Board;
use wsbmc_hal::{AnyDevice, DeviceModel, PowerState, Requester};
use wsbmc_ipmi::Text;
use wsbmc_ipmi::fru::{BoardInfo, Builder, Fields, ProductInfo};
use wsbmc_ipmi::ipmb::BMC_SA;
use wsbmc_sim::{HostTiming, SimBoard, SimBus, SimGpio, SimHost, SimIpmb, SystemClock, Waveform};

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
        // The model encodes through the same shunt the driver decodes with, so the board
        // file's values read back unscaled.
        if let Some(sense) = d.sense_micro_ohms {
            sim.set_sense_micro_ohms(bus_name(d.bus)?, d.address, sense)
                .map_err(|e| format!("device {:?}: {e}", d.name))?;
        }
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
                AnyDevice::bind_with_sense(d.model, sim.bus(bus), d.address, d.sense_micro_ohms)
            })
        })
        .collect::<Result<Devices, String>>()?;
    // GPIO inputs of discrete sensors, at the level the board file starts them at.
    for g in &board.gpio_inputs {
        sim.add_gpio(&g.sim_name(), g.sim_level);
    }
    // The host starts on, so a fresh agent reads every sensor.
    let host = SimHost::new(SystemClock::new(), PowerState::On, HostTiming::default());
    Ok((Sim { board: sim, host }, devices))
}

/// The GPIO line table the poller reads discrete sensors through, in the board's line order.
pub fn gpio(sim: &Sim, board: &Board) -> SimGpio {
    sim.board
        .gpio(board.gpio_inputs.iter().map(|g| g.sim_name()).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One ADM1272 on a 0.25 mΩ shunt: if either the model or the driver missed the board's
    /// value, the pinned current and power would read back 4× off.
    #[tokio::test(flavor = "current_thread")]
    async fn board_shunt_reaches_model_and_driver() {
        let text = r#"[board]
name = "t"
manufacturer = "m"
product = "p"
serial-number = "s"
system-name = "h"
bmc-name = "b"

[[bus]]
name = "i2c0"

[[device]]
name = "hsc"
model = "adm1272"
bus = "i2c0"
address = 0x10
rsense-micro-ohm = 250
"#;
        let board = wsbmc_board::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        let (sim, mut devices) = build(&board).unwrap_or_else(|e| panic!("{e}"));
        sim.board
            .set_override("i2c0", 0x10, 2, Some(40_000))
            .unwrap();
        sim.board
            .set_override("i2c0", 0x10, 3, Some(480_000))
            .unwrap();
        let current = devices[0].read(2).await.unwrap();
        let power = devices[0].read(3).await.unwrap();
        // One count: 1/(66.3·0.25) A and 1/(10.535·0.25) W at the power-on ranges.
        assert!((current - 40_000).abs() <= 61, "{current}");
        assert!((power - 480_000).abs() <= 380, "{power}");
    }
}
