//! The board loader: TOML syntax, the raw schema (serde) and the validation that turns it into
//! a `Board` (ranges, floors and ceilings, unique names, bus and device references, thresholds,
//! discrete states), whose errors must name the line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `load` reads the file bounded and refuses non-UTF-8 before it parses.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = wsbmc_board::parse(text, "fuzz.toml") {
        // Formatting the error is part of the path an operator sees.
        let _ = e.to_string();
    }
});
