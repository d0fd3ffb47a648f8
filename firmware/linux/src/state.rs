//! Where the agent keeps what must survive a restart: the SEL and console-set thresholds.
//!
//! With `--state-dir` the store lives in two files of NOR-flash semantics (pwrite + fdatasync per
//! write, so an acknowledged record is on disk); without it, in RAM for the life of the process,
//! which is what a development run on the simulated board wants.

use std::path::Path;
use std::rc::Rc;

use log::{info, warn};
use wsbmc_agent::Agent;
use wsbmc_board::{Board, SelOverflow};
use wsbmc_sel::{BmcSensors, OverflowPolicy, SelConfig};
use wsbmc_store::{FileFlash, RamFlash, Store};

/// Flash page size of the store. 4 KiB is the erase block of the SPI NOR parts BMCs boot from.
const PAGE: usize = 4096;

/// Pages for the key-value map: thresholds of every sensor and a few settings fit many times
/// over, and the spare pages let the map rotate without ever erasing live data.
const MAP_PAGES: usize = 8;

/// Pages for the SEL queue: about 130 records fit a page, and two spare pages cover the
/// page-wise overwrite plus records torn by a power cut.
fn queue_pages(capacity: u16) -> usize {
    usize::from(capacity).div_ceil(128) + 2
}

fn config(board: &Board) -> SelConfig {
    SelConfig {
        capacity: board.sel.capacity,
        policy: match board.sel.overflow {
            SelOverflow::Wrap => OverflowPolicy::Wrap,
            SelOverflow::Stop => OverflowPolicy::Stop,
        },
        bmc: BmcSensors::default(),
    }
}

/// Mounts the store and starts the task that owns it and the SEL.
pub async fn start(
    board: &Board,
    state_dir: Option<&Path>,
    agent: &Rc<Agent>,
) -> Result<(), String> {
    let config = config(board);
    let queue_len = queue_pages(config.capacity) * PAGE;
    let map_len = MAP_PAGES * PAGE;
    match state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("state directory {}: {e}", dir.display()))?;
            let open = |name: &str, len: usize| {
                let path = dir.join(name);
                FileFlash::<PAGE>::open(&path, len).map_err(|e| format!("{}: {e}", path.display()))
            };
            let store = Store::mount(open("map.flash", map_len)?, open("sel.flash", queue_len)?)
                .await
                .map_err(|e| format!("state directory {}: {e:?}", dir.display()))?;
            info!("SEL and settings kept in {}", dir.display());
            let agent = agent.clone();
            tokio::task::spawn_local(async move { agent.run_log(store, config).await });
        }
        None => {
            // Leaked once at start-up: the RAM "flash" lives as long as the process.
            let map: &'static mut [u8] = Box::leak(vec![0xFF; map_len].into_boxed_slice());
            let queue: &'static mut [u8] = Box::leak(vec![0xFF; queue_len].into_boxed_slice());
            let store = Store::mount(
                RamFlash::<PAGE>::erased(map),
                RamFlash::<PAGE>::erased(queue),
            )
            .await
            .map_err(|e| format!("RAM store: {e:?}"))?;
            warn!("SEL kept in RAM only; pass --state-dir DIR to keep it across restarts");
            let agent = agent.clone();
            tokio::task::spawn_local(async move { agent.run_log(store, config).await });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_pages_grow_with_capacity() {
        assert_eq!(queue_pages(1), 3);
        assert_eq!(queue_pages(512), 6);
        assert_eq!(queue_pages(3000), 26);
    }
}
