//! The satellite driver and the EEPROM driver against the simulated parts.

// A test fails by panicking: its helpers unwrap, expect and panic like its #[test] functions
// (clippy.toml allows that only inside those and #[cfg(test)] code).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures_lite::future::block_on;
use wsbmc_hal::devices::{At24, At24Size, Satellite};
use wsbmc_hal::ipmb::{RequestError, Requester};
use wsbmc_hal::{AnyDevice, DeviceError, DeviceModel};
use wsbmc_sim::satellite::PSU_SENSORS;
use wsbmc_sim::{SimBoard, SimFault, SimIpmb, SystemClock, Waveform};

const BUS: &str = "ipmb0";
const SAT: u8 = 0x30;

fn board() -> SimBoard {
    let b = SimBoard::new(1, SystemClock::new());
    b.add_device(BUS, SAT, DeviceModel::IpmbSatellite).unwrap();
    b
}

fn sat(b: &SimBoard) -> Satellite<Requester<SimIpmb>> {
    // Short waits keep the fault tests quick; the logic is the same.
    let r = Requester::new(b.ipmb(BUS, 0x20)).with_timing(40, 2);
    Satellite::with_link(Some(r), SAT)
}

#[test]
fn reads_every_sensor_through_its_sdr() {
    let b = board();
    let mut s = sat(&b);
    let id = block_on(s.device_id()).unwrap();
    assert_eq!(id.ipmi_version, 0x51);
    assert_eq!(block_on(s.sdr_count()).unwrap() as usize, PSU_SENSORS.len());
    for p in PSU_SENSORS {
        let step = (i32::from(p.m))
            * 10i32.pow((i32::from(p.r_exp) - i32::from(p.quantity.native_scale())).max(0) as u32);
        let v = p.default.base;
        b.set_override(BUS, SAT, p.number, Some(v)).unwrap();
        let scale = p.quantity.native_scale();
        let got = block_on(s.read_scaled(p.number, scale)).unwrap();
        assert!(
            (got - v).abs() <= step / 2 + 1,
            "{} read {got}, set {v}",
            p.name
        );
    }
    assert_eq!(block_on(s.read(0x7F)), Err(DeviceError::NoSuchChannel));
}

#[test]
fn through_any_device() {
    let b = board();
    let mut d: AnyDevice<wsbmc_sim::SimBus, Requester<SimIpmb>> =
        AnyDevice::satellite(Requester::new(b.ipmb(BUS, 0x20)), SAT);
    assert_eq!(d.model(), DeviceModel::IpmbSatellite);
    b.set_waveform(BUS, SAT, 1, Waveform::constant(31_000))
        .unwrap();
    assert_eq!(block_on(d.read(1)), Ok(31_000));
    // The fan reads in RPM.
    b.set_override(BUS, SAT, 7, Some(6_500)).unwrap();
    assert_eq!(block_on(d.read_scaled(7, 0)), Ok(6_500));
}

#[test]
fn faults() {
    let b = board();
    let mut s = sat(&b);
    assert!(block_on(s.read(1)).is_ok());
    let table = [
        (SimFault::Nack, DeviceError::Nack),
        (SimFault::BusError, DeviceError::Bus),
        (SimFault::Timeout, DeviceError::Timeout),
        (SimFault::BadChecksum, DeviceError::BadData),
    ];
    for (fault, want) in table {
        b.set_fault(BUS, SAT, Some(fault)).unwrap();
        assert_eq!(block_on(s.read(1)), Err(want), "{fault:?}");
        b.set_fault(BUS, SAT, None).unwrap();
        assert!(block_on(s.read(1)).is_ok(), "recovers from {fault:?}");
    }
}

#[test]
fn slow_satellite_answers_late_and_stray_answers_are_skipped() {
    let b = board();
    let mut s = sat(&b);
    assert!(block_on(s.read(1)).is_ok());
    // 60 ms late against a 40 ms wait: the first attempt's answer arrives during the second
    // attempt's wait and is skipped as a stray, which restarts the wait. The second attempt's own
    // answer is then due 100 ms after the first send, exactly when that restarted wait ends, so
    // on the wall clock it is a tie which comes first: the answer (Ok) or the end of the wait
    // (the strays seen, so Sequence). Either is right; never a timeout, and never a stray taken
    // for the answer (the sequence check has its own unit test in the HAL).
    b.set_slow_ms(60);
    b.set_fault(BUS, SAT, Some(SimFault::Slow)).unwrap();
    // Its own slave address, so its late answers still in flight afterwards are not strays in
    // the satellite driver's inbox below.
    let mut r = Requester::new(b.ipmb(BUS, 0x24)).with_timing(40, 3);
    let mut out = [0u8; 8];
    let got = block_on(r.request(0x60, 0x04, 0, 0x2D, &[1], &mut out));
    assert!(
        matches!(got, Ok(3) | Err(RequestError::Sequence)),
        "{got:?}"
    );
    // Far too slow: nothing within the attempts.
    b.set_slow_ms(500);
    assert_eq!(block_on(s.read(1)), Err(DeviceError::Timeout));
}

#[test]
fn removed_and_reinserted() {
    let b = board();
    let mut s = sat(&b);
    assert!(block_on(s.read(2)).is_ok());
    b.set_present(BUS, SAT, false).unwrap();
    assert!(!b.present(BUS, SAT).unwrap());
    assert_eq!(block_on(s.read(2)), Err(DeviceError::Nack));
    b.set_present(BUS, SAT, true).unwrap();
    assert!(block_on(s.read(2)).is_ok());
}

#[test]
fn eeprom_holds_a_fru_image() {
    let b = SimBoard::new(1, SystemClock::new());
    b.add_device("i2c0", 0x50, DeviceModel::At24c02).unwrap();
    b.add_device("i2c0", 0x51, DeviceModel::At24c64).unwrap();
    let mut img = vec![0u8; 40];
    img[..8].copy_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0xFE]);
    img[8] = 1;
    img[9] = 4;
    b.load_eeprom("i2c0", 0x50, &img).unwrap();
    let mut e = At24::new(b.bus("i2c0"), 0x50, At24Size::C02);
    let mut buf = [0u8; 256];
    assert_eq!(block_on(e.read_fru(&mut buf)).unwrap(), &img[..]);
    // Writes go through page by page and read back, with 16-bit addressing too.
    let mut e = At24::new(b.bus("i2c0"), 0x51, At24Size::C64);
    let data: Vec<u8> = (0..100).collect();
    block_on(e.write_bytes(0x1F00 - 50, &data)).unwrap();
    let mut back = vec![0u8; 100];
    block_on(e.read_bytes(0x1F00 - 50, &mut back)).unwrap();
    assert_eq!(back, data);
    // An erased part has no FRU image.
    let mut buf = [0u8; 64];
    assert_eq!(block_on(e.read_fru(&mut buf)), Err(DeviceError::BadData));
    assert!(b.load_eeprom("i2c0", 0x50, &[0; 300]).is_err());
}

#[test]
fn psu_status_sensor_state_bits() {
    use wsbmc_hal::pmbus::psu_offset::*;
    use wsbmc_sim::PsuCondition;
    use wsbmc_sim::satellite::PSU_STATUS_SENSOR;
    let b = board();
    let mut s = sat(&b);
    for (c, want) in [
        (PsuCondition::Ok, PRESENCE),
        (PsuCondition::Failed, PRESENCE | FAILURE),
        (PsuCondition::InputLost, PRESENCE | INPUT_LOST),
        (PsuCondition::Ok, PRESENCE),
    ] {
        b.set_psu_condition(BUS, SAT, c).unwrap();
        assert_eq!(
            block_on(s.read_states(PSU_STATUS_SENSOR)),
            Ok(want),
            "{c:?}"
        );
    }
    b.set_fault(BUS, SAT, Some(SimFault::Nack)).unwrap();
    assert_eq!(
        block_on(s.read_states(PSU_STATUS_SENSOR)),
        Err(DeviceError::Nack)
    );
}
