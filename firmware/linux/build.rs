//! Records when the firmware was built, for the BMC's CIM_SoftwareIdentity ReleaseDate
//! (DSP1023). `SOURCE_DATE_EPOCH` wins, so reproducible builds carry their source date; without
//! it, the time this script ran. It reruns only when that variable changes, so an incremental
//! build keeps the date of the build that last ran it.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok())
        });
    if let Some(secs) = secs {
        println!("cargo:rustc-env=WSBMC_BUILD_SECS={secs}");
    }
}
