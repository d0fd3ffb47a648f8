//! Whole WS-Man requests through the service and the CIM model of the test board: envelope
//! parsing, action dispatch, Get/Enumerate/Pull/Release/Put/Invoke/Identify, filters and
//! enumeration contexts. Up to four requests per input (separated by four NUL bytes) share one
//! service, so a Pull can name the context an Enumerate opened. The first byte picks the
//! Content-Type and whether the caller is authenticated.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_fuzz::{CONTENT_TYPES, requests, serve};

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(first & 3)];
    let user = if first & 4 == 0 { Some("admin") } else { None };
    serve(&requests(rest, 4), content_type, user);
});
