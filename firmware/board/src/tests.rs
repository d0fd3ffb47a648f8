use std::path::{Path, PathBuf};

use wsbmc_hal::{DeviceModel, Quantity};
use wsbmc_monitor::{Monitor, PowerDomain, SensorId, Threshold};

use crate::{BoardError, Limits, SimChannel, load, parse};

const GOOD: &str = r#"[board]
name = "t"
manufacturer = "wsbmc"
product = "p"
serial-number = "s"
system-guid = "5753424D-0000-0000-0000-000000000001"
bmc-name = "bmc"

[sim]
seed = 7

[limits]
max-connections = 4

[[bus]]
name = "i2c0"

[[bus]]
name = "i2c1"

[[device]]
name = "cpu"
model = "tmp421"
bus = "i2c0"
address = 0x4c

[[device]]
name = "fans"
model = "max31785"
bus = "i2c1"
address = 0x52

[[sensor]]
key = "cpu0_temp"
name = "CPU0 Temp"
number = 1
entity = "3.1"
device = "cpu"
channel = "remote1"
power = "host-on"
upper-non-critical = 85.0
upper-critical = 95
hysteresis = 2.0
sim = { base = 55.0, swing = 8.0, period-s = 120, noise = 0.5 }

[[sensor]]
key = "fan1"
name = "Fan1"
number = 2
entity = "29.1"
device = "fans"
channel = "fan1"
poll-ms = 500
lower-critical = 1000
lower-non-critical = 2000
settable = ["lower-critical", "lower-non-critical"]

[[sensor]]
key = "p12v"
name = "P12V"
number = 3
entity = "7.1"
device = "fans"
channel = "vsense1"
lower-non-critical = 11.4
upper-non-critical = 12.6
nominal = 12.0
owner = 0x2c
lun = 1

[sel]
capacity = 256
overflow = "stop"
"#;

const MARK: &str = "# <-";

/// Applies `(find, replace)` edits to [`GOOD`]; each `find` must occur exactly once so a case
/// cannot silently edit the wrong entry.
fn edit(edits: &[(&str, &str)]) -> String {
    let mut text = GOOD.to_string();
    for (find, replace) in edits {
        assert_eq!(
            text.matches(find).count(),
            1,
            "edit target {find:?} is not unique"
        );
        text = text.replacen(find, replace, 1);
    }
    text
}

fn marked_line(text: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(MARK))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "exactly one line must carry the marker");
    lines[0]
}

#[test]
fn good_board_converts_exactly() {
    let b = parse(GOOD, "t.toml").unwrap();
    assert_eq!(b.info.name, "t");
    assert_eq!(
        b.info.system_guid.as_deref(),
        Some("5753424d-0000-0000-0000-000000000001")
    );
    assert_eq!(
        b.info.cim_system_name(),
        "5753424d-0000-0000-0000-000000000001"
    );
    assert_eq!(b.buses.len(), 2);
    assert_eq!(b.devices[1].model, DeviceModel::Max31785);
    assert_eq!((b.devices[1].bus, b.devices[1].address), (1, 0x52));
    assert_eq!(
        b.limits,
        Limits {
            max_connections: Some(4),
            ..Limits::default()
        }
    );
    assert_eq!(
        b.sel,
        crate::SelSettings {
            capacity: 256,
            overflow: crate::SelOverflow::Stop,
        }
    );

    let cpu = &b.sensors[0];
    assert_eq!((cpu.quantity, cpu.scale), (Quantity::Temperature, -3));
    assert_eq!(cpu.thresholds.upper_non_critical, Some(85_000));
    assert_eq!(cpu.thresholds.upper_critical, Some(95_000));
    assert_eq!(cpu.thresholds, cpu.default_thresholds);
    assert_eq!(cpu.hysteresis, 2_000);
    assert_eq!((cpu.entity_id, cpu.entity_instance), (3, 1));
    assert_eq!((cpu.owner, cpu.lun), (0x20, 0));
    assert_eq!(cpu.power, PowerDomain::HostOn);
    assert_eq!(cpu.poll_ms, 1000);
    assert_eq!((cpu.min_readable, cpu.max_readable), (-128_000, 127_000));
    assert_eq!((cpu.source.device, cpu.source.channel), (0, 1));
    // Default settable: the non-critical thresholds the sensor has.
    assert_eq!(cpu.settable, Threshold::UpperNonCritical.bit());

    let fan = &b.sensors[1];
    assert_eq!((fan.quantity, fan.scale), (Quantity::FanSpeed, 0));
    assert_eq!(fan.thresholds.lower_critical, Some(1000));
    assert_eq!(fan.poll_ms, 500);
    assert_eq!(fan.power, PowerDomain::Always);
    assert_eq!(
        fan.settable,
        Threshold::LowerCritical.bit() | Threshold::LowerNonCritical.bit()
    );

    let v = &b.sensors[2];
    assert_eq!(v.quantity, Quantity::Voltage);
    assert_eq!(v.thresholds.lower_non_critical, Some(11_400));
    assert_eq!(v.thresholds.upper_non_critical, Some(12_600));
    assert_eq!(v.nominal, Some(12_000));
    assert_eq!((v.owner, v.lun), (0x2c, 1));
    assert_eq!(v.source.channel, 17);

    assert_eq!(b.sim.seed, 7);
    assert_eq!(
        b.sim.channels,
        vec![SimChannel {
            device: 0,
            channel: 1,
            base: 55_000,
            swing: 8_000,
            period_ms: 120_000,
            noise: 500,
        }]
    );
}

#[test]
fn sense_resistor_reaches_the_adm1272_and_defaults_to_none() {
    let b = parse(GOOD, "t.toml").unwrap();
    assert!(b.devices.iter().all(|d| d.sense_micro_ohms.is_none()));
    for (value, want) in [("10", 10), ("300", 300), ("100000", 100_000)] {
        let text = edit(&[
            ("model = \"max31785\"", "model = \"adm1272\""),
            (
                "address = 0x52",
                &format!("address = 0x52\nrsense-micro-ohm = {value}"),
            ),
            (
                "device = \"fans\"\nchannel = \"fan1\"",
                "device = \"fans\"\nchannel = \"iout\"",
            ),
            (
                "device = \"fans\"\nchannel = \"vsense1\"",
                "device = \"fans\"\nchannel = \"vin\"",
            ),
        ]);
        let b = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.devices[1].model, DeviceModel::Adm1272);
        assert_eq!(b.devices[1].sense_micro_ohms.map(|r| r.get()), Some(want));
        assert_eq!(b.devices[0].sense_micro_ohms, None);
    }
}

#[test]
fn same_address_on_another_bus_is_fine() {
    let text = edit(&[("address = 0x52", "address = 0x4c")]);
    assert!(parse(&text, "t.toml").is_ok());
}

#[test]
fn system_name_wins_over_guid() {
    let text = edit(&[("bmc-name", "system-name = \"HOST1\"\nbmc-name")]);
    let b = parse(&text, "t.toml").unwrap();
    assert_eq!(b.info.cim_system_name(), "HOST1");
}

#[test]
fn bios_version_and_vendor() {
    let b = parse(&edit(&[]), "t.toml").unwrap();
    assert_eq!(b.info.bios_version, None);
    let text = edit(&[(
        "bmc-name",
        "bios-version = \"2.1\"\nbios-vendor = \"Acme\"\nbmc-name",
    )]);
    let b = parse(&text, "t.toml").unwrap();
    assert_eq!(b.info.bios_version.as_deref(), Some("2.1"));
    assert_eq!(b.info.bios_vendor.as_deref(), Some("Acme"));
    let text = edit(&[("bmc-name", "bios-vendor = \"Acme\"\nbmc-name")]);
    let e = parse(&text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("bios-vendor needs bios-version"), "{e}");
    let text = edit(&[("bmc-name", "bios-version = \" \"\nbmc-name")]);
    let e = parse(&text, "t.toml").unwrap_err().to_string();
    assert!(e.contains("bios-version must not be empty"), "{e}");
}

#[test]
fn the_example_message_renders_exactly() {
    let text = edit(&[("channel = \"remote1\"", "channel = \"remote3\"")]);
    let e = parse(&text, "boards/sim/board.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "boards/sim/board.toml:39: sensor \"cpu0_temp\": channel \"remote3\" does not exist on \
         tmp421 (channels: local, remote1)"
    );
}

#[test]
fn every_error_names_its_line() {
    // (edits, substring the message must contain); the marked line is where the error must point.
    let m = MARK;
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        // TOML and serde level.
        (
            vec![("number = 2", format!("number = = 2 {m}"))],
            "extra `=`",
        ),
        (
            vec![(
                "key = \"fan1\"",
                format!("key = \"fan1\"\ncolour = \"red\" {m}"),
            )],
            "unknown field `colour`",
        ),
        (
            vec![("number = 2", format!("number = \"two\" {m}"))],
            "invalid type",
        ),
        (
            vec![
                (
                    "[[sensor]]\nkey = \"fan1\"",
                    format!("[[sensor]] {m}\nkey = \"fan1\""),
                ),
                ("entity = \"29.1\"\n", String::new()),
            ],
            "missing field `entity`",
        ),
        (
            vec![("power = \"host-on\"", format!("power = \"sometimes\" {m}"))],
            "unknown variant",
        ),
        (
            vec![(
                "settable = [\"lower-critical\", ",
                format!("settable = [\"bogus\", {m}\n"),
            )],
            "unknown variant `bogus`",
        ),
        (
            vec![("upper-critical = 95", format!("upper-critical = nan {m}"))],
            "finite",
        ),
        (
            vec![("seed = 7", format!("seed = 7\nspeed = 1 {m}"))],
            "unknown field `speed`",
        ),
        // [board]
        (
            vec![(
                "system-guid = \"5753424D-0000-0000-0000-000000000001\"",
                format!("system-guid = \"5753424D-0000-0000-0000-00000000001\" {m}"),
            )],
            "is not a GUID",
        ),
        (
            vec![
                ("[board]", format!("[board] {m}")),
                (
                    "system-guid = \"5753424D-0000-0000-0000-000000000001\"\n",
                    String::new(),
                ),
            ],
            "needs system-guid or system-name",
        ),
        (
            vec![("bmc-name = \"bmc\"", format!("bmc-name = \" \" {m}"))],
            "bmc-name must not be empty",
        ),
        // [sel]
        (
            vec![("capacity = 256", format!("capacity = 65535 {m}"))],
            "capacity must be between 1 and 65534",
        ),
        (
            vec![("overflow = \"stop\"", format!("overflow = \"never\" {m}"))],
            "overflow \"never\" is not one of",
        ),
        // [limits]
        (
            vec![("max-connections = 4", format!("max-connections = 0 {m}"))],
            "max-connections must be positive",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nmax-request-size = 1 {m}"),
            )],
            "limits: max-request-size = 1 is outside 8192..=16777216",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nmax-request-size = 4294967295 {m}"),
            )],
            "max-request-size = 4294967295 is outside",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nmax-envelope-size = 100 {m}"),
            )],
            "max-envelope-size = 100 is outside 8192..",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nenum-context-idle-s = 0 {m}"),
            )],
            "enum-context-idle-s must be positive",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nmax-connections-per-source = 0 {m}"),
            )],
            "max-connections-per-source must be positive",
        ),
        (
            vec![(
                "max-connections = 4",
                format!("max-connections = 4\nauth-timeout-ms = 10 {m}"),
            )],
            "auth-timeout-ms = 10 is outside 500..=600000",
        ),
        (
            vec![("name = \"Fan1\"", format!("name = \"CPU0 Temp\" {m}"))],
            "sensor \"fan1\": name \"CPU0 Temp\" already used on line 35",
        ),
        // [[bus]]
        (
            vec![
                ("name = \"i2c1\"", format!("name = \"i2c0\" {m}")),
                ("bus = \"i2c1\"", "bus = \"i2c0\"".into()),
            ],
            "bus \"i2c0\": name already used on line 16",
        ),
        (
            vec![
                ("name = \"i2c1\"", format!("name = \"I2C-1\" {m}")),
                ("bus = \"i2c1\"", "bus = \"I2C-1\"".into()),
            ],
            "must match [a-z0-9_]+",
        ),
        // [[device]]
        (
            vec![
                ("name = \"fans\"", format!("name = \"cpu\" {m}")),
                (
                    "device = \"fans\"\nchannel = \"fan1\"",
                    "device = \"cpu\"\nchannel = \"fan1\"".into(),
                ),
            ],
            "device \"cpu\": name already used on line 22",
        ),
        (
            vec![("name = \"fans\"", format!("name = \"Fans!\" {m}"))],
            "device \"Fans!\": name must match",
        ),
        (
            vec![("model = \"max31785\"", format!("model = \"max31790\" {m}"))],
            "unknown model \"max31790\" (known: tmp75, tmp421, emc1413, max31785, adm1272, at24c02, at24c32, at24c64, at24c256, ipmb-satellite)",
        ),
        (
            vec![(
                "channel = \"fan1\"",
                format!("channel = \"fan1\"\nremote-sensor = 3 {m}"),
            )],
            "remote-sensor applies only to sensors on an IPMB satellite, and max31785 is not one",
        ),
        (
            vec![(
                "channel = \"fan1\"",
                format!("channel = \"fan1\"\nquantity = \"fan\" {m}"),
            )],
            "quantity applies only to sensors on an IPMB satellite",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"ipmb-satellite\"".into()),
                ("channel = \"fan1\"", format!("channel = \"fan1\" {m}")),
            ],
            "sensor \"fan1\": a sensor on an IPMB satellite names remote-sensor and quantity, not channel",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"at24c02\"".into()),
                ("channel = \"fan1\"", format!("channel = \"fan1\" {m}")),
            ],
            "at24c02 has no sensor channels",
        ),
        (
            vec![(
                "address = 0x52",
                format!("address = 0x52\nrsense-micro-ohm = 300 {m}"),
            )],
            "device \"fans\": rsense-micro-ohm applies only to an adm1272; a max31785 has no sense resistor",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"adm1272\"".into()),
                (
                    "address = 0x52",
                    format!("address = 0x52\nrsense-micro-ohm = 0 {m}"),
                ),
            ],
            "rsense-micro-ohm 0 is outside 10..=100000",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"adm1272\"".into()),
                (
                    "address = 0x52",
                    format!("address = 0x52\nrsense-micro-ohm = -300 {m}"),
                ),
            ],
            "rsense-micro-ohm -300 is outside",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"adm1272\"".into()),
                (
                    "address = 0x52",
                    format!("address = 0x52\nrsense-micro-ohm = 9 {m}"),
                ),
            ],
            "rsense-micro-ohm 9 is outside",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"adm1272\"".into()),
                (
                    "address = 0x52",
                    format!("address = 0x52\nrsense-micro-ohm = 5000000000 {m}"),
                ),
            ],
            "rsense-micro-ohm 5000000000 is outside",
        ),
        (
            vec![
                ("model = \"max31785\"", "model = \"adm1272\"".into()),
                (
                    "address = 0x52",
                    format!("address = 0x52\nrsense-micro-ohm = 0.3 {m}"),
                ),
            ],
            "invalid type: floating point `0.3`, expected i64",
        ),
        (
            vec![("bus = \"i2c1\"", format!("bus = \"i2c7\" {m}"))],
            "unknown bus \"i2c7\" (buses: i2c0, i2c1)",
        ),
        (
            vec![("address = 0x52", format!("address = 0x80 {m}"))],
            "address 128 is not a 7-bit I2C address",
        ),
        (
            vec![("address = 0x52", format!("address = -1 {m}"))],
            "is not a 7-bit I2C address",
        ),
        (
            vec![
                ("address = 0x52", format!("address = 0x4c {m}")),
                ("bus = \"i2c1\"", "bus = \"i2c0\"".into()),
            ],
            "address 0x4c on bus \"i2c0\" is already used by device \"cpu\"",
        ),
        // [[sensor]] identity
        (
            vec![("key = \"fan1\"", format!("key = \"Fan-1\" {m}"))],
            "sensor \"Fan-1\": key must match [a-z0-9_]+",
        ),
        (
            vec![("key = \"fan1\"", format!("key = \"cpu0_temp\" {m}"))],
            "sensor \"cpu0_temp\": key already used on line 34",
        ),
        (
            vec![(
                "name = \"Fan1\"",
                format!("name = \"Fan1 Speed Sensor\" {m}"),
            )],
            "name \"Fan1 Speed Sensor\" must be 1 to 16",
        ),
        (
            vec![("name = \"Fan1\"", format!("name = \"\" {m}"))],
            "must be 1 to 16",
        ),
        (
            vec![("number = 2", format!("number = 1 {m}"))],
            "sensor \"fan1\": number 1 is already used by sensor \"cpu0_temp\"",
        ),
        (
            vec![("number = 2", format!("number = 255 {m}"))],
            "255 is reserved",
        ),
        (
            vec![("number = 2", format!("number = 256 {m}"))],
            "number 256 is out of range",
        ),
        (
            vec![("entity = \"29.1\"", format!("entity = \"29\" {m}"))],
            "entity \"29\" must be",
        ),
        (
            vec![("entity = \"29.1\"", format!("entity = \"29.256\" {m}"))],
            "entity \"29.256\" must be",
        ),
        (
            vec![("device = \"cpu\"", format!("device = \"gpu\" {m}"))],
            "sensor \"cpu0_temp\": unknown device \"gpu\"",
        ),
        (
            vec![("channel = \"vsense1\"", format!("channel = \"fan1\" {m}"))],
            "sensor \"p12v\": channel \"fan1\" of device \"fans\" is already read by sensor \"fan1\"",
        ),
        // [[sensor]] values
        (
            vec![("upper-critical = 95", format!("upper-critical = 80 {m}"))],
            "sensor \"cpu0_temp\": upper-non-critical (85 °C) must be at most upper-critical (80 °C)",
        ),
        (
            vec![
                (
                    "lower-non-critical = 11.4",
                    "lower-non-critical = 12.6".into(),
                ),
                (
                    "upper-non-critical = 12.6",
                    format!("upper-non-critical = 12.6 {m}"),
                ),
            ],
            "lower-non-critical (12.6 V) must be below upper-non-critical (12.6 V)",
        ),
        (
            vec![(
                "lower-non-critical = 2000",
                format!("lower-non-critical = 900 {m}"),
            )],
            "lower-critical (1000 RPM) must be at most lower-non-critical (900 RPM)",
        ),
        (
            vec![(
                "upper-critical = 95",
                format!("upper-critical = 3000000.0 {m}"),
            )],
            "upper-critical = 3000000 °C does not fit",
        ),
        (
            vec![("hysteresis = 2.0", format!("hysteresis = -1.0 {m}"))],
            "hysteresis must not be negative",
        ),
        (
            vec![(
                "settable = [\"lower-critical\", \"lower-non-critical\"]",
                format!("settable = [\"upper-critical\"] {m}"),
            )],
            "settable names upper-critical but the sensor has no upper-critical threshold",
        ),
        (
            vec![("poll-ms = 500", format!("poll-ms = 50 {m}"))],
            "poll-ms = 50 is outside 100..=60000",
        ),
        (
            vec![("poll-ms = 500", format!("poll-ms = 60001 {m}"))],
            "poll-ms = 60001 is outside",
        ),
        (
            vec![(
                "nominal = 12.0",
                format!("nominal = 12.0\nmin-readable = 5\nmax-readable = 5 {m}"),
            )],
            "min-readable (5000) must be below max-readable (5000)",
        ),
        (
            vec![(
                "nominal = 12.0",
                format!("nominal = 12.0\nmin-readable = 100 {m}"),
            )],
            "must be below max-readable (60000)",
        ),
        (
            vec![("owner = 0x2c", format!("owner = 0x100 {m}"))],
            "owner 256 is not a byte",
        ),
        (
            vec![("lun = 1", format!("lun = 4 {m}"))],
            "lun 4 is outside 0..=3",
        ),
        (
            vec![("period-s = 120", format!("period-s = 0 }} {m}\n#"))],
            "sim period-s = 0 must be a positive number of seconds",
        ),
        (
            vec![("swing = 8.0", format!("swing = -8.0 }} {m}\n#"))],
            "sim swing must not be negative",
        ),
        (
            vec![
                ("noise = 0.5", "noise = 0.5, wobble = 1".into()),
                ("sim = {", format!("{m}\nsim = {{")),
            ],
            "unknown field `wobble`",
        ),
    ];
    for (i, (edits, want)) in cases.iter().enumerate() {
        let edits: Vec<(&str, &str)> = edits.iter().map(|(f, r)| (*f, r.as_str())).collect();
        let text = edit(&edits);
        let line = if want.starts_with("unknown field `wobble`") {
            // The inline table's span is the `sim = {` line, which follows the marker.
            marked_line(&text) + 1
        } else {
            marked_line(&text)
        };
        let err = match parse(&text, "t.toml") {
            Ok(_) => panic!("case {i} ({want}) parsed:\n{text}"),
            Err(e) => e,
        };
        assert_eq!(err.file, "t.toml", "case {i}");
        assert!(
            err.message.contains(want),
            "case {i}: {err} does not contain {want:?}"
        );
        assert_eq!(err.line, Some(line), "case {i}: {err}");
        let rendered = err.to_string();
        assert!(
            rendered.starts_with(&format!("t.toml:{line}: ")) && !rendered.contains('\n'),
            "case {i}: {rendered}"
        );
    }
}

#[test]
fn unreadable_file_has_no_line() {
    let e = load(Path::new("/nonexistent/board.toml")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/board.toml: cannot read board file")
    );
    let _: &dyn std::error::Error = &e as &BoardError;
}

#[test]
fn endless_or_huge_file_is_refused_with_a_bound() {
    let start = std::time::Instant::now();
    let e = load(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(e.line, None);
    assert!(
        e.to_string()
            .starts_with("/dev/zero: board file larger than 1048576 bytes"),
        "{e}"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

fn sim_board_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards/sim/board.toml")
}

#[test]
fn sim_board_loads() {
    let b = load(&sim_board_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.info.manufacturer, "wsbmc");
    assert!(b.sensors.len() >= 40, "{}", b.sensors.len());
    assert_eq!(b.devices.len(), 16);
    // Every sensor part, an IPMB satellite and at least one FRU EEPROM; not every EEPROM size.
    for model in DeviceModel::ALL.iter().filter(|m| m.eeprom().is_none()) {
        assert!(
            b.devices.iter().any(|d| d.model == *model),
            "{} unused",
            model.name()
        );
    }
    assert!(b.devices.iter().any(|d| d.model.eeprom().is_some()));
    let sense = |name: &str| {
        let d = b.devices.iter().find(|d| d.name == name);
        d.and_then(|d| d.sense_micro_ohms).map(|r| r.get())
    };
    assert_eq!((sense("psu0_hsc"), sense("psu1_hsc")), (None, Some(500)));
    let sat: Vec<_> = b
        .sensors
        .iter()
        .filter(|s| b.devices[usize::from(s.source.device)].model == DeviceModel::IpmbSatellite)
        .collect();
    assert!(sat.len() >= 4);
    let fan = sat.iter().find(|s| s.key == "psu2_fan").unwrap();
    assert_eq!(
        (fan.quantity, fan.scale, fan.source.channel),
        (Quantity::FanSpeed, 0, 7)
    );
    assert_eq!(fan.owner, 0x60);
    assert_eq!(b.buses[2].ipmb_dev.as_deref(), Some("/dev/ipmb-2"));

    let m = Monitor::new(b.sensors.clone());
    let get = |key: &str| m.desc(m.find_key(key).unwrap()).unwrap();
    let cpu = get("cpu0_temp");
    assert_eq!(cpu.thresholds.upper_non_critical, Some(85_000));
    assert_eq!(cpu.thresholds.upper_critical, Some(95_000));
    assert_eq!(cpu.thresholds.upper_fatal, Some(105_000));
    assert_eq!((cpu.entity_id, cpu.entity_instance), (3, 1));
    let vin = get("psu0_vin");
    assert_eq!(vin.thresholds.lower_critical, Some(10_800));
    assert_eq!(vin.thresholds.lower_non_critical, Some(11_400));
    assert_eq!(vin.thresholds.upper_non_critical, Some(12_600));
    assert_eq!(vin.thresholds.upper_critical, Some(13_200));
    let p3v3 = get("p3v3");
    assert_eq!(p3v3.thresholds.lower_non_critical, Some(3_135));
    let fan = get("fan0_speed");
    assert_eq!(fan.quantity, Quantity::FanSpeed);
    assert_eq!(fan.thresholds.lower_critical, Some(1_000));
    assert_eq!(fan.thresholds.lower_non_critical, Some(2_000));
    let inlet = get("inlet_temp");
    assert_eq!(inlet.thresholds.upper_non_critical, Some(40_000));
    assert_eq!(inlet.thresholds.upper_critical, Some(45_000));
}

/// A healthy simulated board must read Normal: every waveform, at its extremes, stays strictly
/// inside the non-critical band (and clear of the hysteresis band), so the monitor asserts
/// nothing.
#[test]
fn sim_board_waveforms_read_normal() {
    let b = load(&sim_board_path()).unwrap_or_else(|e| panic!("{e}"));
    let mut m = Monitor::new(b.sensors.clone());
    for (i, s) in b.sensors.iter().enumerate() {
        let wave = b
            .sim
            .channels
            .iter()
            .find(|c| c.device == s.source.device && c.channel == s.source.channel)
            .unwrap_or_else(|| panic!("{} has no sim waveform", s.key));
        assert!(wave.period_ms > 0);
        let id = SensorId(u16::try_from(i).unwrap());
        let lo = wave.base - wave.swing - wave.noise;
        let hi = wave.base + wave.swing + wave.noise;
        assert!(lo >= s.min_readable && hi <= s.max_readable, "{}", s.key);
        for (t, v) in [lo, wave.base, hi].into_iter().enumerate() {
            let r = m.record(id, Ok(v), t as u64 * 1000, true).unwrap();
            assert_eq!(
                r.new_asserted, 0,
                "{} reads {v} outside its normal band",
                s.key
            );
        }
        if let Some(unc) = s.thresholds.upper_non_critical {
            assert!(hi < unc - i32::try_from(s.hysteresis).unwrap(), "{}", s.key);
        }
        if let Some(lnc) = s.thresholds.lower_non_critical {
            assert!(lo > lnc + i32::try_from(s.hysteresis).unwrap(), "{}", s.key);
        }
    }
    let mut numbers: Vec<u8> = b.sensors.iter().map(|s| s.number).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), b.sensors.len());
}

#[test]
fn every_board_in_the_tree_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path().join("board.toml");
        if path.exists() {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 3, "{n} boards");
}

/// [`GOOD`] with a `[power]` table whose body is `body`; the header carries [`MARK`] when
/// `mark_header` (errors about the table as a whole point there).
fn with_power(body: &str, mark_header: bool) -> String {
    let header = if mark_header {
        format!("[power] {MARK}")
    } else {
        "[power]".to_string()
    };
    format!("{GOOD}\n{header}\n{body}")
}

const POWER: &str = "gpio-chip = \"1e780000.gpio\"
power-button = 121
reset-button = \"RESET_BUTTON\"
power-good = 120
";

#[test]
fn power_lines_load_with_defaults() {
    use crate::{GpioLine, PowerTiming};
    assert_eq!(parse(GOOD, "t.toml").unwrap().power, None);
    let p = parse(&with_power(POWER, false), "t.toml")
        .unwrap()
        .power
        .unwrap();
    assert_eq!(p.gpio_chip, "1e780000.gpio");
    assert_eq!(p.power_button, GpioLine::Offset(121));
    assert_eq!(p.reset_button, Some(GpioLine::Name("RESET_BUTTON".into())));
    assert_eq!(p.power_good, GpioLine::Offset(120));
    assert!(p.buttons_active_low);
    assert!(!p.power_good_active_low);
    assert_eq!(p.timing, PowerTiming::default());

    let body = "gpio-chip = \"/dev/gpiochip3\"
power-button = \"POWER_BUTTON\"
power-good = \"PS_PWROK\"
buttons-active-low = false
power-good-active-low = true
press-ms = 300
power-on-timeout-ms = 5000
soft-off-timeout-ms = 30000
force-off-ms = 1500
";
    let p = parse(&with_power(body, false), "t.toml")
        .unwrap()
        .power
        .unwrap();
    assert_eq!(p.gpio_chip, "/dev/gpiochip3");
    assert_eq!(p.reset_button, None);
    assert!(!p.buttons_active_low && p.power_good_active_low);
    assert_eq!(
        p.timing,
        PowerTiming {
            press_ms: 300,
            power_on_timeout_ms: 5_000,
            soft_off_timeout_ms: 30_000,
            reset_ms: 1_000,
            force_off_ms: 1_500,
        }
    );
}

#[test]
fn power_errors_name_their_line() {
    let m = MARK;
    let without = |key: &str| {
        POWER
            .lines()
            .filter(|l| !l.starts_with(key))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let marked = |find: &str, replace: &str| {
        assert_eq!(POWER.matches(find).count(), 1, "{find:?}");
        POWER.replacen(find, &format!("{replace} {m}"), 1)
    };
    // (table body, whether the header carries the marker, substring of the message)
    let cases: Vec<(String, bool, &str)> = vec![
        (without("gpio-chip"), true, "power: missing gpio-chip"),
        (without("power-button"), true, "power: missing power-button"),
        (without("power-good"), true, "power: missing power-good"),
        (
            format!("{POWER}power-led = 3 {m}\n"),
            false,
            "unknown field `power-led`",
        ),
        (
            marked("gpio-chip = \"1e780000.gpio\"", "gpio-chip = \"\""),
            false,
            "gpio-chip \"\" must be a path or chip label",
        ),
        (
            marked(
                "gpio-chip = \"1e780000.gpio\"",
                "gpio-chip = \"dev/gpiochip0\"",
            ),
            false,
            "must be an absolute path",
        ),
        (
            marked("power-good = 120", "power-good = 121"),
            false,
            "power-good is line 121, which power-button already uses",
        ),
        (
            marked("power-good = 120", "power-good = \"RESET_BUTTON\""),
            false,
            "power-good is line \"RESET_BUTTON\", which reset-button already uses",
        ),
        (
            marked("power-button = 121", "power-button = -1"),
            false,
            "power-button = -1 is not a line offset (0..=65535)",
        ),
        (
            marked("power-good = 120", "power-good = 65536"),
            false,
            "power-good = 65536 is not a line offset",
        ),
        (
            marked("power-good = 120", "power-good = \"\""),
            false,
            "must be a line name of 1 to 31 printable ASCII characters",
        ),
        (
            marked(
                "power-good = 120",
                "power-good = \"a-name-far-longer-than-the-kernel-allows\"",
            ),
            false,
            "must be a line name",
        ),
        (
            marked("power-good = 120", "power-good = 1.5"),
            false,
            "invalid type",
        ),
        (
            format!("{POWER}press-ms = 5000 {m}\n"),
            false,
            "press-ms = 5000 is outside 20..=2000",
        ),
        (
            format!("{POWER}press-ms = 0 {m}\n"),
            false,
            "press-ms = 0 is outside",
        ),
        (
            format!("{POWER}soft-off-timeout-ms = -3 {m}\n"),
            false,
            "soft-off-timeout-ms = -3 is outside 100..=600000",
        ),
        (
            format!("{POWER}press-ms = 1500\nreset-ms = 1000 {m}\n"),
            false,
            "reset-ms (1000) must be longer than press-ms (1500)",
        ),
        (
            format!("{POWER}force-off-ms = 500 {m}\n"),
            false,
            "force-off-ms = 500 is outside 1000..=20000",
        ),
        (
            format!("{POWER}force-off-ms = 20001 {m}\n"),
            false,
            "force-off-ms = 20001 is outside 1000..=20000",
        ),
        (
            format!("{POWER}press-ms = 1500\nreset-ms = 2000\nforce-off-ms = 1200 {m}\n"),
            false,
            "force-off-ms (1200) must be longer than press-ms (1500)",
        ),
        (
            format!("{}reset-ms = 500 {m}\n", without("reset-button")),
            false,
            "reset-ms applies only with a reset-button",
        ),
        (
            format!("{POWER}buttons-active-low = \"yes\" {m}\n"),
            false,
            "invalid type",
        ),
    ];
    for (i, (body, mark_header, want)) in cases.iter().enumerate() {
        let text = with_power(body, *mark_header);
        let line = marked_line(&text);
        let err = match parse(&text, "t.toml") {
            Ok(_) => panic!("case {i} ({want}) parsed:\n{text}"),
            Err(e) => e,
        };
        assert!(
            err.message.contains(want),
            "case {i}: {err} does not contain {want:?}"
        );
        assert_eq!(err.line, Some(line), "case {i}: {err}");
        assert!(err.to_string().starts_with(&format!("t.toml:{line}: ")));
    }
}

/// [`GOOD`] with a satellite bus whose `[[bus]]` body is `bus` and `sats` satellites on it.
fn with_ipmi_bus(bus: &str, sats: usize) -> String {
    let mut text = edit(&[(
        "[[bus]]\nname = \"i2c1\"\n",
        &format!("[[bus]]\nname = \"i2c1\"\n\n[[bus]]\nname = \"sat\"\n{bus}"),
    )]);
    for i in 0..sats {
        text.push_str(&format!(
            "\n[[device]]\nname = \"sat{i}\"\nmodel = \"ipmb-satellite\"\nbus = \"sat\" # bus{i}\naddress = {}\n",
            0x30 + i
        ));
    }
    text
}

#[test]
fn ipmi_dev_buses_load() {
    let b = parse(&with_ipmi_bus("ipmi-dev = \"/dev/ipmi0\"\n", 1), "t.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let bus = b.buses.iter().find(|b| b.name == "sat").unwrap();
    assert_eq!(bus.ipmi_dev.as_deref(), Some("/dev/ipmi0"));
    assert_eq!((bus.ipmi_channel, bus.ipmb_dev.as_deref()), (None, None));
    // Bridged: several satellites on one interface.
    let text = with_ipmi_bus("ipmi-dev = \"/dev/ipmi1\"\nipmi-channel = 0\n", 3);
    let b = parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let bus = b.buses.iter().find(|b| b.name == "sat").unwrap();
    assert_eq!(bus.ipmi_channel, Some(0));
    assert_eq!(b.devices.len(), 5);
}

#[test]
fn ipmi_dev_errors_name_their_line() {
    let m = MARK;
    let cases: Vec<(String, &str)> = vec![
        (
            with_ipmi_bus(
                &format!("ipmb-dev = \"/dev/ipmb-0\"\nipmi-dev = \"/dev/ipmi0\" {m}\n"),
                1,
            ),
            "ipmi-dev and ipmb-dev are two routes",
        ),
        (
            with_ipmi_bus(&format!("ipmi-dev = \"ipmi0\" {m}\n"), 1),
            "ipmi-dev must be an absolute path",
        ),
        (
            with_ipmi_bus(&format!("ipmi-channel = 0 {m}\n"), 1),
            "ipmi-channel needs ipmi-dev",
        ),
        (
            with_ipmi_bus(
                &format!("ipmi-dev = \"/dev/ipmi0\"\nipmi-channel = 12 {m}\n"),
                1,
            ),
            "ipmi-channel must be an IPMI channel 0..=11",
        ),
        (
            with_ipmi_bus(
                &format!("ipmi-dev = \"/dev/ipmi0\"\nipmi-channel = -1 {m}\n"),
                1,
            ),
            "ipmi-channel must be an IPMI channel 0..=11",
        ),
        (
            with_ipmi_bus(&format!("ipmi-dev = 0 {m}\n"), 1),
            "invalid type",
        ),
        (
            with_ipmi_bus(&format!("ipmi-devices = \"/dev/ipmi0\" {m}\n"), 1),
            "unknown field `ipmi-devices`",
        ),
        (
            with_ipmi_bus("ipmi-dev = \"/dev/ipmi0\"\n", 2).replace("# bus1", m),
            "reaches a single controller through ipmi-dev, and that is \"sat0\"",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let line = marked_line(text);
        let err = match parse(text, "t.toml") {
            Ok(_) => panic!("case {i} ({want}) parsed:\n{text}"),
            Err(e) => e,
        };
        assert!(
            err.message.contains(want),
            "case {i}: {err} does not contain {want:?}"
        );
        assert_eq!(err.line, Some(line), "case {i}: {err}");
    }
}

/// [`GOOD`] plus a PMBus power device and `body` (discrete entries).
fn with_discrete(body: &str) -> String {
    format!(
        "{GOOD}\n[[device]]\nname = \"psu\"\nmodel = \"adm1272\"\nbus = \"i2c1\"\naddress = 0x10\n\n{body}"
    )
}

const DISCRETE: &str = r#"[[discrete]]
key = "psu0_status"
name = "PSU0 Status"
number = 0x80
entity = "10.1"
sensor-type = 0x08
device = "psu"
assert = [1, 2, 3]

[[discrete]]
key = "intrusion"
name = "Intrusion"
number = 0x81
entity = "23.1"
sensor-type = 0x05
gpio = "CHASSIS_INTRUSION"
active-low = true
offset = 0
power = "host-on"
poll-ms = 200
"#;

#[test]
fn discrete_sensors_load() {
    use crate::GpioLine;
    use wsbmc_monitor::{DiscreteSource, PowerDomain};
    let b = parse(&with_discrete(DISCRETE), "t.toml").unwrap();
    assert_eq!(b.discrete.len(), 2);
    let psu = &b.discrete[0];
    assert_eq!(
        (psu.sensor_type, psu.reading_type, psu.number),
        (0x08, 0x6F, 0x80)
    );
    assert_eq!(
        (psu.entity_id, psu.entity_instance, psu.owner),
        (10, 1, 0x20)
    );
    assert_eq!(psu.readable, 0x0F);
    assert_eq!(psu.assertion_mask, 0x0E);
    assert_eq!(psu.deassertion_mask, 0x0F);
    assert_eq!(
        psu.source,
        DiscreteSource::Device {
            device: 2,
            channel: 0
        }
    );
    let intr = &b.discrete[1];
    assert_eq!(intr.readable, 0x01);
    assert_eq!(intr.power, PowerDomain::HostOn);
    assert_eq!(intr.poll_ms, 200);
    assert_eq!(
        intr.source,
        DiscreteSource::Gpio {
            line: 0,
            offset: 0,
            active_low: true
        }
    );
    assert_eq!(b.gpio_inputs.len(), 1);
    assert_eq!(
        b.gpio_inputs[0].line,
        GpioLine::Name("CHASSIS_INTRUSION".into())
    );
    assert_eq!(b.gpio_inputs[0].chip, None);
    assert!(b.gpio_inputs[0].sim_level, "active low and inactive: high");
    assert_eq!(b.gpio_inputs[0].sim_name(), "CHASSIS_INTRUSION");
    assert!(parse(GOOD, "t.toml").unwrap().discrete.is_empty());
}

#[test]
fn discrete_errors_name_their_line() {
    let m = MARK;
    // (find in DISCRETE, replacement (carrying the marker), substring of the message)
    let cases: &[(&str, String, &str)] = &[
        (
            "key = \"intrusion\"",
            format!("key = \"cpu0_temp\" {m}"),
            "key already used",
        ),
        (
            "key = \"intrusion\"",
            format!("key = \"In\" {m}"),
            "[a-z0-9_]+",
        ),
        (
            "number = 0x81",
            format!("number = 0x80 {m}"),
            "already used by sensor \"psu0_status\"",
        ),
        (
            "name = \"Intrusion\"",
            format!("name = \"PSU0 Status\" {m}"),
            "name \"PSU0 Status\" is already used by discrete \"psu0_status\"",
        ),
        (
            "name = \"Intrusion\"",
            format!("name = \"Fan1\" {m}"),
            "name \"Fan1\" is already used by sensor \"fan1\"",
        ),
        (
            "number = 0x81",
            format!("number = 1 {m}"),
            "already used by sensor \"cpu0_temp\"",
        ),
        (
            "number = 0x81",
            format!("number = 0x71 {m}"),
            "BMC's own sensors",
        ),
        ("number = 0x81", format!("number = 255 {m}"), "out of range"),
        (
            "sensor-type = 0x05",
            format!("sensor-type = 0x01 {m}"),
            "no states",
        ),
        (
            "sensor-type = 0x05",
            format!("sensor-type = 0x05\nreading-type = 0x01 {m}"),
            "not a discrete one",
        ),
        (
            "offset = 0",
            format!("offset = 9 {m}"),
            "offset 9 is not a state",
        ),
        (
            "offset = 0\n",
            format!("states = [0] {m}\n"),
            "needs offset",
        ),
        (
            "assert = [1, 2, 3]",
            format!("assert = [1, 2, 3, 4] {m}"),
            "not in states",
        ),
        (
            "assert = [1, 2, 3]",
            format!("assert = [1, 20] {m}"),
            "does not define",
        ),
        (
            "device = \"psu\"",
            format!("device = \"fans\" {m}"),
            "has no states",
        ),
        (
            "device = \"psu\"",
            format!("device = \"nope\" {m}"),
            "unknown device",
        ),
        (
            "device = \"psu\"",
            format!("device = \"psu\"\ngpio = 3 {m}"),
            "not both",
        ),
        (
            "entity = \"23.1\"",
            format!("entity = \"23\" {m}"),
            "entity",
        ),
        ("poll-ms = 200", format!("poll-ms = 5 {m}"), "poll-ms"),
        (
            "gpio = \"CHASSIS_INTRUSION\"",
            format!("gpio = \"A B\" {m}"),
            "without spaces",
        ),
        (
            "sensor-type = 0x08",
            format!("sensor-type = 0x07 {m}"),
            "power supply",
        ),
    ];
    for (find, replace, want) in cases {
        assert_eq!(DISCRETE.matches(find).count(), 1, "{find:?}");
        let text = with_discrete(&DISCRETE.replacen(find, replace, 1));
        let e = parse(&text, "t.toml").expect_err(replace);
        assert!(e.message.contains(want), "{replace}: {}", e.message);
        // A missing key is reported at the source that needs it (the gpio line, above).
        let line = marked_line(&text) - usize::from(*want == "needs offset") * 2;
        assert_eq!(e.line, Some(line), "{replace}: {}", e.message);
    }
    // A numeric sensor cannot take a BMC number either, and says where.
    let text = with_discrete(DISCRETE).replacen("number = 3\n", &format!("number = 0x72 {m}\n"), 1);
    let e = parse(&text, "t.toml").unwrap_err();
    assert!(e.message.contains("BMC's own sensors"), "{}", e.message);
    assert_eq!(e.line, Some(marked_line(&text)));
    // No source at all: the entry's header line.
    let text = with_discrete(&DISCRETE.replacen("device = \"psu\"\n", "", 1));
    let e = parse(&text, "t.toml").unwrap_err();
    assert!(e.message.contains("needs a source"), "{}", e.message);
}

#[test]
fn gpio_lines_of_power_are_refused_and_lines_are_shared() {
    let body = format!(
        "{DISCRETE}\n[[discrete]]\nkey = \"cpu_trip\"\nname = \"CPU Trip\"\nnumber = 0x82\nentity = \"3.1\"\nsensor-type = 0x07\ngpio = \"CHASSIS_INTRUSION\"\noffset = 1\n"
    );
    let b = parse(&with_discrete(&body), "t.toml").unwrap();
    assert_eq!(
        b.gpio_inputs.len(),
        1,
        "one line read by two sensors is one input"
    );
    let text = format!(
        "{}\n[power]\n{POWER}",
        with_discrete(&DISCRETE.replace("\"CHASSIS_INTRUSION\"", "120"))
    );
    let e = parse(&text, "t.toml").unwrap_err();
    assert!(e.message.contains("[power] lines"), "{}", e.message);
}

#[test]
fn sim_board_has_discrete_sensors() {
    let b = load(&sim_board_path()).unwrap();
    let keys: Vec<&str> = b.discrete.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "psu0_status",
            "psu1_status",
            "psu2_status",
            "chassis_intrusion",
            "cpu0_presence",
            "cpu1_presence",
            "cpu0_thermtrip"
        ]
    );
    let names: Vec<(String, bool)> = b
        .gpio_inputs
        .iter()
        .map(|g| (g.sim_name(), g.sim_level))
        .collect();
    // Intrusion closed (active low: high), CPUs fitted (low), no thermal trip (high).
    assert_eq!(
        names,
        [
            ("CHASSIS_INTRUSION_N".to_string(), true),
            ("CPU0_SKTOCC_N".to_string(), false),
            ("CPU1_SKTOCC_N".to_string(), false),
            ("CPU0_THERMTRIP_N".to_string(), true),
        ]
    );
}

/// The `[features]` table of a manifest in this repository, by its path from the root.
fn manifest_features(path: &str) -> toml::Table {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join(path)).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    manifest["features"].as_table().unwrap().clone()
}

fn strings(v: &toml::Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// Cargo features cannot be generated, so the lists the manifests keep by hand are checked
/// against the hal's one registration point (`with_drivers!`): every driver has its feature in the
/// hal (enabling nothing else) and in `all-drivers`, the bare-metal image forwards every one
/// of them under the same name (so a board with a new chip needs only a default-list change),
/// and no manifest names a driver feature the registry does not have.
#[test]
fn driver_features_match_the_registry() {
    use wsbmc_hal::devices::DRIVER_FEATURES;
    let hal = manifest_features("hal/Cargo.toml");
    for f in DRIVER_FEATURES {
        assert_eq!(
            hal.get(*f).map(strings),
            Some(vec![]),
            "hal/Cargo.toml: [features] {f} = []"
        );
    }
    assert_eq!(strings(&hal["all-drivers"]), DRIVER_FEATURES);
    let mut declared: Vec<&str> = hal.keys().map(String::as_str).collect();
    declared.retain(|k| !matches!(*k, "default" | "all-drivers"));
    declared.sort_unstable();
    let mut registered = DRIVER_FEATURES.to_vec();
    registered.sort_unstable();
    assert_eq!(
        declared, registered,
        "hal/Cargo.toml declares other features"
    );

    let image = manifest_features("firmware/lm3s6965evb/Cargo.toml");
    for f in DRIVER_FEATURES {
        let forward = format!("wsbmc-hal/{f}");
        assert_eq!(
            image.get(*f).map(strings),
            Some(vec![forward.as_str()]),
            "firmware/lm3s6965evb/Cargo.toml: [features] {f} = [\"{forward}\"]"
        );
    }
    for (name, enables) in &image {
        for e in strings(enables) {
            if let Some(f) = e.strip_prefix("wsbmc-hal/") {
                assert!(DRIVER_FEATURES.contains(&f), "{name} enables {e}");
                assert_eq!(name, f, "{name} forwards another driver's feature");
            }
        }
    }
}

/// Every model the registry derives has a unique board-file name and a feature from the list.
#[test]
fn registry_names_and_features_are_consistent() {
    let mut names: Vec<&str> = DeviceModel::ALL.iter().map(|m| m.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), DeviceModel::ALL.len());
    for m in DeviceModel::ALL {
        assert!(wsbmc_hal::devices::DRIVER_FEATURES.contains(&m.feature()));
        assert_eq!(DeviceModel::from_name(m.name()), Some(*m));
    }
}

/// [`GOOD`] with `extra` appended (tables after `[sel]`).
fn with_tail(extra: &str) -> String {
    format!("{GOOD}\n{extra}")
}

/// The bare-metal image's build-time keys: `i2c-controller`, `[network]`, `[store]`. Every
/// image's loader reads and validates them; only that image uses them.
#[test]
fn build_time_keys_load() {
    let text = edit(&[
        ("name = \"i2c0\"", "name = \"i2c0\"\ni2c-controller = 0"),
        ("name = \"i2c1\"", "name = \"i2c1\"\ni2c-controller = 1"),
    ]);
    let text = format!(
        "{text}\n[network]\naddress = \"192.168.7.20/23\"\ngateway = \"192.168.6.1\"\n\n\
         [store]\npage-size = 1024\nmap-pages = 3\nqueue-pages = 8\n"
    );
    let b = parse(&text, "t.toml").unwrap();
    assert_eq!(b.buses[0].i2c_controller, Some(0));
    assert_eq!(b.buses[1].i2c_controller, Some(1));
    let n = b.network.unwrap();
    assert_eq!(n.address, std::net::Ipv4Addr::new(192, 168, 7, 20));
    assert_eq!(n.prefix_len, 23);
    assert_eq!(n.gateway, Some(std::net::Ipv4Addr::new(192, 168, 6, 1)));
    let s = b.store.unwrap();
    assert_eq!((s.page_size, s.map_pages, s.queue_pages), (1024, 3, 8));
    // All optional for the loader: a board without them has none.
    let b = parse(GOOD, "t.toml").unwrap();
    assert!(b.network.is_none() && b.store.is_none());
    assert!(b.buses.iter().all(|bus| bus.i2c_controller.is_none()));
    // /31 and /32 have no network or broadcast address to refuse.
    let b = parse(&with_tail("[network]\naddress = \"10.0.0.0/31\""), "t.toml").unwrap();
    assert_eq!(b.network.unwrap().gateway, None);
}

#[test]
fn build_time_key_errors_name_their_line() {
    let m = MARK;
    let net = |body: &str| with_tail(&format!("[network]\n{body}\n"));
    let store = |body: &str| with_tail(&format!("[store]\n{body}\n"));
    let cases: Vec<(String, &str)> = vec![
        (
            edit(&[(
                "name = \"i2c1\"",
                &format!("name = \"i2c1\"\ni2c-controller = 16 {m}"),
            )]),
            "i2c-controller must be 0..=15",
        ),
        (
            edit(&[(
                "name = \"i2c1\"",
                &format!("name = \"i2c1\"\ni2c-controller = -1 {m}"),
            )]),
            "i2c-controller must be 0..=15",
        ),
        (
            edit(&[
                ("name = \"i2c0\"", "name = \"i2c0\"\ni2c-controller = 1"),
                (
                    "name = \"i2c1\"",
                    &format!("name = \"i2c1\" {m}\ni2c-controller = 1"),
                ),
            ]),
            "i2c-controller 1 is already bus \"i2c0\"",
        ),
        (
            net(&format!("address = \"10.0.2.15\" {m}")),
            "not an IPv4 address with a prefix length",
        ),
        (
            net(&format!("address = \"10.0.2.15/33\" {m}")),
            "not an IPv4 address with a prefix length",
        ),
        (
            net(&format!("address = \"10.0.2.256/24\" {m}")),
            "not an IPv4 address with a prefix length",
        ),
        (
            net(&format!("address = \"10.0.2.255/24\" {m}")),
            "network or broadcast address",
        ),
        (
            net(&format!("address = \"0.0.0.0/8\" {m}")),
            "cannot be the image's own address",
        ),
        (
            net(&format!(
                "address = \"10.0.2.15/24\"\ngateway = \"10.0.3.1\" {m}"
            )),
            "not another host of 10.0.2.15/24's subnet",
        ),
        (
            net(&format!("address = \"10.0.2.15/24\"\ngateway = \"gw\" {m}")),
            "gateway \"gw\" is not an IPv4 address",
        ),
        (
            net(&format!(
                "address = \"10.0.2.15/24\"\nnetmask = \"255.0.0.0\" {m}"
            )),
            "unknown field `netmask`",
        ),
        (
            store(&format!(
                "page-size = 500 {m}\nmap-pages = 2\nqueue-pages = 4"
            )),
            "page-size = 500 is not a power of two in 128..=65536",
        ),
        (
            store(&format!(
                "page-size = 64 {m}\nmap-pages = 2\nqueue-pages = 4"
            )),
            "page-size = 64 is not a power of two",
        ),
        (
            store(&format!(
                "page-size = 512\nmap-pages = 1 {m}\nqueue-pages = 4"
            )),
            "map-pages = 1 is outside 2..=1024",
        ),
        (
            store(&format!(
                "page-size = 512\nmap-pages = 2\nqueue-pages = 2 {m}"
            )),
            "queue-pages = 2 is outside 3..=1024",
        ),
    ];
    for (text, want) in cases {
        let err = parse(&text, "t.toml").unwrap_err();
        assert!(err.message.contains(want), "{want:?} not in {err}");
        assert_eq!(err.line, Some(marked_line(&text)), "{want}: {err}");
        assert!(err.to_string().starts_with("t.toml:"), "{err}");
    }
    // A missing required key of the table points at the table.
    let text = with_tail(&format!("[store] {m}\npage-size = 512\nmap-pages = 2"));
    let err = parse(&text, "t.toml").unwrap_err();
    assert!(err.message.contains("missing field `queue-pages`"), "{err}");
    assert_eq!(err.line, Some(marked_line(&text)), "{err}");
}

/// `[accounts]` (issue 15): the lockout rule, each key optional, the agent's flag ranges, an
/// out-of-range value named with its line.
#[test]
fn accounts_table_sets_the_lockout_rule() {
    assert_eq!(
        parse(GOOD, "t.toml").unwrap().accounts,
        crate::AccountSettings::default()
    );
    let text = edit(&[(
        "[sim]",
        "[accounts]\nlockout-threshold = 3\nlockout-duration-s = 60\n\n[sim]",
    )]);
    let b = parse(&text, "t.toml").unwrap();
    assert_eq!(
        b.accounts,
        crate::AccountSettings {
            lockout_threshold: Some(3),
            lockout_window_s: None,
            lockout_duration_s: Some(60),
        }
    );
    for (line, want) in [
        (
            "lockout-threshold = 0",
            "accounts: lockout-threshold = 0 is outside 1..=100",
        ),
        (
            "lockout-threshold = 101",
            "lockout-threshold = 101 is outside 1..=100",
        ),
        (
            "lockout-window-s = 86401",
            "lockout-window-s = 86401 is outside 1..=86400",
        ),
        (
            "lockout-duration-s = 0",
            "lockout-duration-s = 0 is outside 1..=86400",
        ),
    ] {
        let text = edit(&[("[sim]", &format!("[accounts]\n{line}\n\n[sim]"))]);
        let e = parse(&text, "t.toml").unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        assert_eq!(
            e.line,
            Some(text.lines().position(|l| l == line).unwrap() + 1)
        );
    }
    let text = edit(&[("[sim]", "[accounts]\nlockout = 3\n\n[sim]")]);
    assert!(parse(&text, "t.toml").is_err(), "unknown keys are refused");
}
