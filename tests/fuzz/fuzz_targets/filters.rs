//! The Enumerate filters: a SelectorFilter's SelectorSet, a cimbinding association filter
//! (AssociatedInstances/AssociationInstances with an EPR), and a WQL filter, as the content of
//! `<w:Filter>` in an otherwise valid Enumerate on the test board, followed by a Pull of the
//! context it opens. The first byte picks the dialect, the ResourceURI and the enumeration mode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_fuzz::{ENUMERATE, PULL, cim_uri, envelope, serve};

const DIALECTS: [&str; 4] = [
    "http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter",
    "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter",
    "http://schemas.microsoft.com/wbem/wsman/1/WQL",
    "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf",
];

const RESOURCES: [&str; 4] = [
    "CIM_NumericSensor",
    "*",
    "CIM_ComputerSystem",
    "CIM_LogRecord",
];

const MODES: [&str; 4] = [
    "",
    "<w:EnumerationMode>EnumerateEPR</w:EnumerationMode>",
    "<w:EnumerationMode>EnumerateObjectAndEPR</w:EnumerationMode>",
    "<w:OptimizeEnumeration/><w:MaxElements>2</w:MaxElements>",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, filter)) = data.split_first() else {
        return;
    };
    let dialect = DIALECTS[usize::from(first & 3)];
    let resource = match RESOURCES[usize::from((first >> 2) & 3)] {
        "*" => "http://schemas.dmtf.org/wbem/wscim/1/*".to_string(),
        class => cim_uri(class),
    };
    let mode = MODES[usize::from((first >> 4) & 3)];
    let mut body = format!("<n:Enumerate>{mode}<w:Filter Dialect=\"{dialect}\">").into_bytes();
    body.extend_from_slice(filter);
    body.extend_from_slice(b"</w:Filter></n:Enumerate>");
    let enumerate = envelope(ENUMERATE, &resource, b"", &body);
    let pull = envelope(
        PULL,
        &resource,
        b"",
        b"<n:Pull><n:EnumerationContext>@CTX@</n:EnumerationContext><n:MaxElements>5</n:MaxElements></n:Pull>",
    );
    serve(
        &[&enumerate, &pull],
        wsbmc_fuzz::CONTENT_TYPES[0],
        Some("admin"),
    );
});
