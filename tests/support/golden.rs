//! The golden-file check every Rust golden suite uses (wsman conformance, cim conformance and
//! fixtures): compare a reply with its golden after the suite's canonicalisation or, when
//! `WSBMC_BLESS` is set, write the golden. One variable blesses every suite in the repository
//! (tests/e2e/test_console_reads.py reads the same one); review the diff before committing.
//!
//! Included by path (`#[path]`) from each suite's `tests/common`, not a crate: it is test code
//! only and needs nothing but std.

#![allow(dead_code)]

use std::path::Path;

/// The environment variable that turns every golden comparison into a rewrite.
pub const BLESS_VAR: &str = "WSBMC_BLESS";

/// Whether this run rewrites goldens instead of comparing with them.
pub fn blessing() -> bool {
    std::env::var_os(BLESS_VAR).is_some()
}

/// Compares `got` with the golden at `path` through `canonical`, or writes `got` there when
/// blessing. The error names the file and shows both canonical forms.
pub fn check(path: &Path, got: &str, canonical: impl Fn(&str) -> String) -> Result<(), String> {
    check_stored(path, got, got, canonical)
}

/// As [`check`], but blessing writes `stored` (e.g. `got` indented for review): the two must
/// have the same canonical form.
pub fn check_stored(
    path: &Path,
    got: &str,
    stored: &str,
    canonical: impl Fn(&str) -> String,
) -> Result<(), String> {
    if blessing() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        return std::fs::write(path, stored).map_err(|e| format!("{}: {e}", path.display()));
    }
    match std::fs::read_to_string(path) {
        Ok(want) => {
            let (want, got) = (canonical(&want), canonical(got));
            if want == got {
                Ok(())
            } else {
                Err(format!(
                    "differs from {}:\n--- want\n{want}\n--- got\n{got}",
                    path.display()
                ))
            }
        }
        Err(e) => Err(format!(
            "no golden {} ({e}); run with {BLESS_VAR}=1 and review the diff",
            path.display()
        )),
    }
}
