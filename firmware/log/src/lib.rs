//! One small set of log macros for the core crates, as DESIGN.md promised: `error!`, `warn!` and
//! `info!` compile to `defmt` on the bare-metal image, to the `log` facade on the std images,
//! and to nothing (arguments still type-checked) when the binary enabled neither, e.g. in a
//! library's own unit tests.
//!
//! Call sites use only `{}` placeholders with integers, `bool` and `&str`: those are the types
//! both backends format (defmt's `Format`, log's `Display`) without pulling `core::fmt` into the
//! bare-metal image. Each defmt call site costs that image a few bytes of flash (the string
//! itself stays in the ELF), so log failures and rare state changes, not every poll.
//!
//! If both features are on (never in one image; `cargo clippy --all-features` does it) `defmt`
//! wins, since a bare-metal build must never reach for `log`.
#![no_std]

#[cfg(feature = "defmt")]
#[doc(hidden)]
pub use defmt;
#[cfg(all(feature = "log", not(feature = "defmt")))]
#[doc(hidden)]
pub use log;

/// Logs at one level through the backend the binary chose. Not for direct use.
#[cfg(feature = "defmt")]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    (error, $($arg:tt)+) => {{
        // defmt's macros name the crate `defmt` at the call site; this brings it into scope.
        use $crate::defmt;
        defmt::error!($($arg)+)
    }};
    (warn, $($arg:tt)+) => {{
        use $crate::defmt;
        defmt::warn!($($arg)+)
    }};
    (info, $($arg:tt)+) => {{
        use $crate::defmt;
        defmt::info!($($arg)+)
    }};
}

/// Logs at one level through the backend the binary chose. Not for direct use.
#[cfg(all(feature = "log", not(feature = "defmt")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    (error, $($arg:tt)+) => { $crate::log::error!($($arg)+) };
    (warn, $($arg:tt)+) => { $crate::log::warn!($($arg)+) };
    (info, $($arg:tt)+) => { $crate::log::info!($($arg)+) };
}

/// No backend: the format string and arguments are checked and nothing is emitted.
#[cfg(not(any(feature = "log", feature = "defmt")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __log {
    ($level:ident, $($arg:tt)+) => {{
        if false {
            let _ = ::core::format_args!($($arg)+);
        }
    }};
}

/// A failure the firmware handled but an operator should see (a write that did not reach
/// flash, a store that does not mount).
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::__log!(error, $($arg)+) };
}

/// Something degraded that the firmware works around (a device that stopped answering, a
/// stored setting that no longer applies).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::__log!(warn, $($arg)+) };
}

/// A rare state change worth a line (a device answering again).
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::__log!(info, $($arg)+) };
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_macro_expands_with_integers_and_text() {
        let (n, name) = (3u32, "cpu0_temp");
        crate::error!("store: {} write errors", n);
        crate::warn!("sensor {}: override dropped", name);
        crate::info!("bus {} answers again", 1u8);
        crate::warn!("no arguments");
    }
}
