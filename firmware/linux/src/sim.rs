//! The simulated HAL: the board's devices as register-level models on virtual buses, read by
//! the real drivers.

use wsbmc_board::Board;
use wsbmc_hal::AnyDevice;
use wsbmc_sim::{SimBoard, SimBus, SystemClock, Waveform};

/// Builds the simulated board and one driver per device, in board order.
pub fn build(board: &Board) -> Result<Vec<AnyDevice<SimBus>>, String> {
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
            .map_err(|e| format!("device {:?}: {e:?}", d.name))?;
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
            .map_err(|e| format!("device {:?}: {e:?}", d.name))?;
    }
    board
        .devices
        .iter()
        .map(|d| {
            Ok(AnyDevice::new(
                d.model,
                sim.bus(bus_name(d.bus)?),
                d.address,
            ))
        })
        .collect()
}
