//! The real drivers against the simulated board: values round-trip through the register
//! encodings, faults surface as the right `DeviceError`, and the board is deterministic.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::num::NonZeroU32;
use std::pin::pin;

use embedded_hal_async::i2c::I2c;
use futures_lite::future::{block_on, poll_once};
use wsbmc_hal::devices::Adm1272;
use wsbmc_hal::{AnyDevice, DeviceError, DeviceModel};
use wsbmc_sim::{ManualClock, SimBoard, SimError, SimFault, SimI2cError, Waveform};

const BUS: &str = "i2c3";

fn board(seed: u64) -> (SimBoard, ManualClock) {
    let clock = ManualClock::new(1_000_000);
    (SimBoard::new(seed, clock.clone()), clock)
}

fn read(
    board: &SimBoard,
    model: DeviceModel,
    address: u8,
    channel: u8,
) -> Result<i32, DeviceError> {
    let mut dev = AnyDevice::new(model, board.bus(BUS), address);
    block_on(dev.read(channel))
}

/// Half a register count plus rounding, per (model, channel), in native units.
fn tolerance(model: DeviceModel, channel: u8) -> i32 {
    match (model, channel) {
        (DeviceModel::Tmp75 | DeviceModel::Tmp421, _) => 32,
        (DeviceModel::Emc1413, _) => 63,
        (DeviceModel::Max31785, 0..=5 | 17..=22) => 0,
        (DeviceModel::Max31785, _) => 5,
        // Default PMON_CONFIG: 100 V and 30 mV ranges, 1 mΩ.
        (DeviceModel::Adm1272, 0 | 1) => 13,
        (DeviceModel::Adm1272, 2) => 8,
        (DeviceModel::Adm1272, 3) => 48,
        (DeviceModel::Adm1272, _) => 120,
        // No measurement channels (EEPROMs), or tested in the satellite tests.
        _ => 0,
    }
}

fn sample_value(model: DeviceModel, channel: u8, i: i32) -> i32 {
    use wsbmc_hal::Quantity::*;
    let q = model.channel_info(channel).quantity;
    match q {
        Temperature => -20_000 + i * 7_919,
        Voltage => 900 + i * 1_733,
        Current => -3_000 + i * 2_111,
        Power => 1_000 + i * 29_717,
        FanSpeed => i * 1_499,
    }
}

trait ChannelInfoExt {
    fn channel_info(self, channel: u8) -> wsbmc_hal::devices::ChannelInfo;
}

impl ChannelInfoExt for DeviceModel {
    fn channel_info(self, channel: u8) -> wsbmc_hal::devices::ChannelInfo {
        *self
            .channels()
            .iter()
            .find(|c| c.channel == channel)
            .expect("channel in table")
    }
}

#[test]
fn every_model_round_trips_through_its_real_driver() {
    let (board, _clock) = board(7);
    for (i, &model) in DeviceModel::ALL.iter().enumerate() {
        let address = 0x40 + i as u8;
        board.add_device(BUS, address, model).unwrap();
        let mut dev = AnyDevice::new(model, board.bus(BUS), address);
        for info in model.channels() {
            for step in 0..8 {
                let want = sample_value(model, info.channel, step);
                board
                    .set_override(BUS, address, info.channel, Some(want))
                    .unwrap();
                let got = block_on(dev.read(info.channel))
                    .unwrap_or_else(|e| panic!("{model:?} {} = {want}: {e:?}", info.name));
                let tol = tolerance(model, info.channel);
                assert!(
                    (got - want).abs() <= tol,
                    "{model:?} {}: wrote {want}, read {got}, tolerance {tol}",
                    info.name
                );
            }
        }
    }
}

#[test]
fn waveforms_round_trip_over_time() {
    let (board, clock) = board(99);
    for (i, &model) in DeviceModel::ALL.iter().enumerate() {
        board.add_device(BUS, 0x20 + i as u8, model).unwrap();
    }
    for step in 0..50 {
        clock.advance(7_777);
        for (i, &model) in DeviceModel::ALL.iter().enumerate() {
            let address = 0x20 + i as u8;
            for info in model.channels() {
                let truth = board.physical_value(BUS, address, info.channel).unwrap();
                let got = read(&board, model, address, info.channel).unwrap();
                let tol = tolerance(model, info.channel);
                assert!(
                    (got - truth).abs() <= tol,
                    "step {step} {model:?} {}: truth {truth}, read {got}",
                    info.name
                );
            }
        }
    }
}

#[test]
fn extended_ranges_read_hot_parts() {
    let (board, _) = board(1);
    board.add_device(BUS, 0x4C, DeviceModel::Tmp421).unwrap();
    board.add_device(BUS, 0x4D, DeviceModel::Emc1413).unwrap();
    let mut bus = board.bus(BUS);
    block_on(bus.write(0x4C, &[0x09, 0x04])).unwrap();
    block_on(bus.write(0x4D, &[0x09, 0x04])).unwrap();
    // The configuration reads back where the part reports it.
    let mut cfg = [0u8];
    block_on(bus.write_read(0x4D, &[0x03], &mut cfg)).unwrap();
    assert_eq!(cfg, [0x04]);
    for mc in [150_000, -60_000, 25_000] {
        board.set_override(BUS, 0x4C, 1, Some(mc)).unwrap();
        board.set_override(BUS, 0x4D, 2, Some(mc)).unwrap();
        assert_eq!(read(&board, DeviceModel::Tmp421, 0x4C, 1), Ok(mc));
        assert_eq!(read(&board, DeviceModel::Emc1413, 0x4D, 2), Ok(mc));
    }
    // Standard range clips at the register's limit rather than wrapping.
    block_on(bus.write(0x4C, &[0x09, 0x00])).unwrap();
    board.set_override(BUS, 0x4C, 1, Some(150_000)).unwrap();
    assert_eq!(read(&board, DeviceModel::Tmp421, 0x4C, 1), Ok(127_938));
}

#[test]
fn adm1272_driver_enables_sampling_and_sim_honours_it() {
    let (board, _) = board(3);
    board.add_device(BUS, 0x10, DeviceModel::Adm1272).unwrap();
    board.set_override(BUS, 0x10, 1, Some(11_900)).unwrap();
    let mut bus = board.bus(BUS);
    let mut w = [0u8; 2];
    // Before the driver runs, VOUT sampling is off and the register holds nothing.
    block_on(bus.write_read(0x10, &[0x8B], &mut w)).unwrap();
    assert_eq!(w, [0, 0]);
    let got = read(&board, DeviceModel::Adm1272, 0x10, 1).unwrap();
    assert!((got - 11_900).abs() <= 13, "{got}");
    block_on(bus.write_read(0x10, &[0xD4], &mut w)).unwrap();
    assert_eq!(u16::from_le_bytes(w), 0x3F3F);
}

#[test]
fn adm1272_sense_resistor_matches_between_sim_and_driver() {
    let (board, _) = board(3);
    board.add_device(BUS, 0x11, DeviceModel::Adm1272).unwrap();
    let half_mohm = NonZeroU32::new(500).unwrap();
    board.set_sense_micro_ohms(BUS, 0x11, half_mohm).unwrap();
    board.set_override(BUS, 0x11, 2, Some(45_000)).unwrap();
    let mut dev = Adm1272::with_sense_micro_ohms(board.bus(BUS), 0x11, half_mohm);
    let got = block_on(dev.read(2)).unwrap();
    assert!((got - 45_000).abs() <= 16, "{got}");
    assert_eq!(
        board.set_sense_micro_ohms(BUS, 0x12, half_mohm),
        Err(SimError::UnknownDevice {
            bus: BUS.into(),
            address: 0x12
        })
    );
}

#[test]
fn adm1272_power_follows_voltage_and_current() {
    let (board, _) = board(5);
    board.add_device(BUS, 0x10, DeviceModel::Adm1272).unwrap();
    board.set_override(BUS, 0x10, 0, Some(12_000)).unwrap();
    board.set_override(BUS, 0x10, 2, Some(10_000)).unwrap();
    assert_eq!(board.physical_value(BUS, 0x10, 3), Ok(120_000));
    let got = read(&board, DeviceModel::Adm1272, 0x10, 3).unwrap();
    assert!((got - 120_000).abs() <= 48, "{got}");
}

#[test]
fn device_faults_surface_as_device_errors() {
    let (board, _) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    board.add_device(BUS, 0x52, DeviceModel::Max31785).unwrap();
    board.set_fault(BUS, 0x48, Some(SimFault::Nack)).unwrap();
    assert_eq!(
        read(&board, DeviceModel::Tmp75, 0x48, 0),
        Err(DeviceError::Nack)
    );
    board
        .set_fault(BUS, 0x48, Some(SimFault::BusError))
        .unwrap();
    assert_eq!(
        read(&board, DeviceModel::Tmp75, 0x48, 0),
        Err(DeviceError::Bus)
    );
    board
        .set_fault(BUS, 0x52, Some(SimFault::BusError))
        .unwrap();
    assert_eq!(
        read(&board, DeviceModel::Max31785, 0x52, 0),
        Err(DeviceError::Bus)
    );
    board.set_fault(BUS, 0x48, None).unwrap();
    assert!(read(&board, DeviceModel::Tmp75, 0x48, 0).is_ok());
    assert_eq!(board.fault(BUS, 0x52), Ok(Some(SimFault::BusError)));
}

#[test]
fn absent_devices_and_buses_nack() {
    let (board, _) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    assert_eq!(
        read(&board, DeviceModel::Tmp75, 0x49, 0),
        Err(DeviceError::Nack)
    );
    let mut other = AnyDevice::new(DeviceModel::Tmp75, board.bus("nowhere"), 0x48);
    assert_eq!(block_on(other.read(0)), Err(DeviceError::Nack));
    // A handle taken before the device exists sees it once added.
    board
        .add_device("nowhere", 0x48, DeviceModel::Tmp75)
        .unwrap();
    assert!(block_on(other.read(0)).is_ok());
}

#[test]
fn timeout_fault_hangs_until_the_stall_ends() {
    let (board, clock) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    board.set_timeout_stall_ms(500);
    board.set_fault(BUS, 0x48, Some(SimFault::Timeout)).unwrap();
    let mut bus = board.bus(BUS);
    let mut buf = [0u8; 2];
    {
        let mut fut = pin!(bus.write_read(0x48, &[0], &mut buf));
        assert!(block_on(poll_once(fut.as_mut())).is_none(), "must hang");
        clock.advance(499);
        assert!(block_on(poll_once(fut.as_mut())).is_none(), "still hanging");
        clock.advance(1);
        assert_eq!(block_on(fut), Err(SimI2cError::Timeout));
    }
    // Through the driver, the hang ends as a transfer failure (embedded-hal has no timeout
    // kind; a poller's own timeout is what yields DeviceError::Timeout).
    let mut dev = AnyDevice::new(DeviceModel::Tmp75, board.bus(BUS), 0x48);
    let mut fut = pin!(dev.read(0));
    assert!(block_on(poll_once(fut.as_mut())).is_none());
    clock.advance(500);
    assert_eq!(block_on(fut), Err(DeviceError::Bus));
}

#[test]
fn timeout_with_real_clock_wakes_the_executor() {
    let board = SimBoard::new(1, wsbmc_sim::SystemClock::new());
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    board.set_timeout_stall_ms(30);
    board.set_fault(BUS, 0x48, Some(SimFault::Timeout)).unwrap();
    let started = std::time::Instant::now();
    let mut dev = AnyDevice::new(DeviceModel::Tmp75, board.bus(BUS), 0x48);
    assert_eq!(block_on(dev.read(0)), Err(DeviceError::Bus));
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
}

#[test]
fn stuck_freezes_the_value_until_cleared() {
    let (board, clock) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    board
        .set_waveform(BUS, 0x48, 0, Waveform::new(40_000, 10_000, 60_000, 0))
        .unwrap();
    board.set_fault(BUS, 0x48, Some(SimFault::Stuck)).unwrap();
    let frozen = read(&board, DeviceModel::Tmp75, 0x48, 0).unwrap();
    for _ in 0..10 {
        clock.advance(7_000);
        assert_eq!(read(&board, DeviceModel::Tmp75, 0x48, 0), Ok(frozen));
    }
    board.set_fault(BUS, 0x48, None).unwrap();
    let moving: Vec<_> = (0..5)
        .map(|_| {
            clock.advance(7_000);
            read(&board, DeviceModel::Tmp75, 0x48, 0).unwrap()
        })
        .collect();
    assert!(moving.iter().any(|&v| v != frozen), "{moving:?}");
}

#[test]
fn channel_fault_flags_become_bad_data() {
    let (board, _) = board(11);
    board.add_device(BUS, 0x4C, DeviceModel::Tmp421).unwrap();
    board.add_device(BUS, 0x4D, DeviceModel::Emc1413).unwrap();
    board.add_device(BUS, 0x52, DeviceModel::Max31785).unwrap();
    board.set_channel_fault(BUS, 0x4C, 1, true).unwrap();
    board.set_channel_fault(BUS, 0x4D, 2, true).unwrap();
    board.set_channel_fault(BUS, 0x52, 7, true).unwrap();
    assert_eq!(
        read(&board, DeviceModel::Tmp421, 0x4C, 1),
        Err(DeviceError::BadData)
    );
    assert!(read(&board, DeviceModel::Tmp421, 0x4C, 0).is_ok());
    assert_eq!(
        read(&board, DeviceModel::Emc1413, 0x4D, 2),
        Err(DeviceError::BadData)
    );
    assert!(read(&board, DeviceModel::Emc1413, 0x4D, 1).is_ok());
    assert_eq!(
        read(&board, DeviceModel::Max31785, 0x52, 7),
        Err(DeviceError::BadData)
    );
    assert!(read(&board, DeviceModel::Max31785, 0x52, 6).is_ok());
    board.set_channel_fault(BUS, 0x4C, 1, false).unwrap();
    assert!(read(&board, DeviceModel::Tmp421, 0x4C, 1).is_ok());
    assert_eq!(
        board.set_channel_fault(BUS, 0x4C, 0, true),
        Err(SimError::NoFaultFlag {
            model: DeviceModel::Tmp421,
            channel: 0
        })
    );
}

#[test]
fn override_replaces_waveform_and_clears() {
    let (board, _) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    board
        .set_waveform(BUS, 0x48, 0, Waveform::constant(30_000))
        .unwrap();
    board.set_override(BUS, 0x48, 0, Some(90_000)).unwrap();
    assert_eq!(read(&board, DeviceModel::Tmp75, 0x48, 0), Ok(90_000));
    board.set_override(BUS, 0x48, 0, None).unwrap();
    assert_eq!(read(&board, DeviceModel::Tmp75, 0x48, 0), Ok(30_000));
}

#[test]
fn builder_rejects_bad_input() {
    let (board, _) = board(11);
    board.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    assert_eq!(
        board.add_device(BUS, 0x48, DeviceModel::Tmp421),
        Err(SimError::DuplicateAddress {
            bus: BUS.into(),
            address: 0x48
        })
    );
    board.add_device("i2c4", 0x48, DeviceModel::Tmp421).unwrap();
    assert_eq!(
        board.add_device(BUS, 0x80, DeviceModel::Tmp75),
        Err(SimError::InvalidAddress(0x80))
    );
    assert_eq!(
        board.set_waveform(BUS, 0x48, 1, Waveform::constant(0)),
        Err(SimError::NoSuchChannel {
            model: DeviceModel::Tmp75,
            channel: 1
        })
    );
    assert_eq!(
        board.set_fault(BUS, 0x50, Some(SimFault::Nack)),
        Err(SimError::UnknownDevice {
            bus: BUS.into(),
            address: 0x50
        })
    );
    assert_eq!(
        board.devices(),
        vec![
            (BUS.to_string(), 0x48, DeviceModel::Tmp75),
            ("i2c4".to_string(), 0x48, DeviceModel::Tmp421),
        ]
    );
    // Same address on two buses are two devices.
    board.set_override("i2c4", 0x48, 0, Some(1_000)).unwrap();
    board.set_override(BUS, 0x48, 0, Some(2_000)).unwrap();
    let mut a = AnyDevice::new(DeviceModel::Tmp421, board.bus("i2c4"), 0x48);
    assert_eq!(block_on(a.read(0)), Ok(1_000));
    assert_eq!(read(&board, DeviceModel::Tmp75, 0x48, 0), Ok(2_000));
}

fn snapshot(seed: u64, t_ms: u64) -> Vec<i32> {
    let clock = ManualClock::new(t_ms);
    let board = SimBoard::new(seed, clock);
    let mut out = Vec::new();
    for (i, &model) in DeviceModel::ALL.iter().enumerate() {
        let address = 0x30 + i as u8;
        board.add_device(BUS, address, model).unwrap();
        for info in model.channels() {
            board
                .set_waveform(
                    BUS,
                    address,
                    info.channel,
                    Waveform::new(50_000, 5_000, 60_000, 100),
                )
                .unwrap();
            out.push(read(&board, model, address, info.channel).unwrap());
            out.push(board.physical_value(BUS, address, info.channel).unwrap());
        }
    }
    out
}

#[test]
fn same_seed_same_values_different_seed_different_phase() {
    for t in [0, 12_345, 3_600_000] {
        assert_eq!(snapshot(2024, t), snapshot(2024, t));
        assert_ne!(snapshot(2024, t), snapshot(2025, t));
    }
    let key = |seed| wsbmc_sim::ChannelKey {
        seed,
        bus: BUS,
        address: 0x48,
        channel: 0,
    };
    assert_ne!(Waveform::phase(&key(1)), Waveform::phase(&key(2)));
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<SimBoard>();
    check::<wsbmc_sim::SimBus>();
}

#[test]
fn psu_conditions_read_as_power_supply_states() {
    use wsbmc_hal::pmbus::psu_offset::*;
    use wsbmc_sim::PsuCondition;
    let (b, _) = board(1);
    b.add_device(BUS, 0x10, DeviceModel::Adm1272).unwrap();
    let mut dev = AnyDevice::new(DeviceModel::Adm1272, b.bus(BUS), 0x10);
    let table = [
        (PsuCondition::Ok, PRESENCE),
        (PsuCondition::Failed, PRESENCE | FAILURE),
        (PsuCondition::InputLost, PRESENCE | INPUT_LOST),
        (PsuCondition::Predictive, PRESENCE | PREDICTIVE_FAILURE),
        (PsuCondition::Ok, PRESENCE),
    ];
    for (c, want) in table {
        b.set_psu_condition(BUS, 0x10, c).unwrap();
        assert_eq!(block_on(dev.read_states(0)), Ok(want), "{c:?}");
        assert_eq!(PsuCondition::from_name(c.name()), Some(c));
    }
    b.set_fault(BUS, 0x10, Some(SimFault::Nack)).unwrap();
    assert_eq!(block_on(dev.read_states(0)), Err(DeviceError::Nack));
    b.add_device(BUS, 0x48, DeviceModel::Tmp75).unwrap();
    assert!(matches!(
        b.set_psu_condition(BUS, 0x48, PsuCondition::Failed),
        Err(SimError::NotApplicable { .. })
    ));
}

#[test]
fn gpio_lines_levels_and_faults() {
    use wsbmc_hal::GpioInputs;
    let (b, _) = board(1);
    b.add_gpio("intrusion", false);
    let mut g = b.gpio(vec!["intrusion".into(), "missing".into()]);
    assert_eq!(g.level(0), Ok(false));
    assert!(b.set_gpio("intrusion", true));
    assert_eq!(g.level(0), Ok(true));
    assert!(!b.set_gpio("nope", true));
    assert_eq!(g.level(1), Err(DeviceError::Nack));
    assert_eq!(g.level(2), Err(DeviceError::NoSuchChannel));
    assert!(b.set_gpio_fault("intrusion", Some(SimFault::BusError)));
    assert_eq!(g.level(0), Err(DeviceError::Bus));
    assert!(b.set_gpio_fault("intrusion", None));
    assert_eq!(g.level(0), Ok(true));
    assert_eq!(b.gpio_lines(), vec![("intrusion".to_string(), true)]);
}
