//! Put and Invoke input: the instance representation of a Put on CIM_NumericSensor (threshold
//! changes, their order and ranges, unknown and read-only properties) and the `_INPUT` element
//! of the extrinsic methods (RequestPowerStateChange with its ManagedElement EPR,
//! RequestStateChange, ClearLog, ...), as the Body of an otherwise valid request on the test
//! board. Input is `[mode byte] [SelectorSet XML] NUL [Body XML]`; without a NUL the instance's
//! own selectors are used.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_fuzz::{cim_uri, envelope, serve, split_once};

const CPU_SELECTORS: &str = concat!(
    "<w:SelectorSet>",
    r#"<w:Selector Name="CreationClassName">CIM_NumericSensor</w:Selector>"#,
    r#"<w:Selector Name="DeviceID">CPU0 Temp(48.0.32)</w:Selector>"#,
    r#"<w:Selector Name="SystemCreationClassName">CIM_ComputerSystem</w:Selector>"#,
    r#"<w:Selector Name="SystemName">host-1</w:Selector>"#,
    "</w:SelectorSet>",
);

/// (class, action) pairs: Put on the sensor, then the methods the model implements.
const TARGETS: [(&str, &str); 8] = [
    (
        "CIM_NumericSensor",
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
    ),
    (
        "CIM_NumericSensor",
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put",
    ),
    ("CIM_PowerManagementService", "RequestPowerStateChange"),
    ("CIM_PowerManagementService", "RequestPowerStateChange"),
    ("CIM_NumericSensor", "RequestStateChange"),
    ("CIM_RecordLog", "ClearLog"),
    ("CIM_ComputerSystem", "RequestStateChange"),
    ("CIM_NumericSensor", "RestoreDefaultThresholds"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let (class, action) = TARGETS[usize::from(first & 7)];
    let action = if action.starts_with("http") {
        action.to_string()
    } else {
        format!("{}/{action}", cim_uri(class))
    };
    let (selectors, body) = match rest.contains(&0) {
        true => split_once(rest, 0),
        false if class == "CIM_NumericSensor" => (CPU_SELECTORS.as_bytes(), rest),
        false => (&b""[..], rest),
    };
    let request = envelope(&action, &cim_uri(class), selectors, body);
    serve(&[&request], wsbmc_fuzz::CONTENT_TYPES[0], Some("admin"));
});
