//! Build-time inputs of the bare-metal image, turned into Rust data so the image carries no TOML
//! parser and no clear-text password:
//!
//! - `memory.x` for cortex-m-rt's `link.x`;
//! - the board file (`boards/lm3s6965evb/board.toml`, or `WSBMC_BOARD`), validated by the same
//!   `wsbmc-board` loader the Linux binary uses and emitted as static tables by that crate's
//!   `emit::rust` (its buses' I2C controllers, `[network]` and `[store]` included);
//! - without the `accounts` feature, the HTTP account: `WSBMC_USER` / `WSBMC_PASSWORD`
//!   (defaults `admin` / `wsbmc-dev`, the development credentials of the simulated board)
//!   hashed with PBKDF2-HMAC-SHA256 at `WSBMC_PBKDF2_ITERATIONS` rounds (default 1000: one
//!   verification costs a Cortex-M3 at 50 MHz roughly 0.2 s, paid once per client credential
//!   thanks to the HTTP layer's cache) and a random salt (or `WSBMC_SALT`, 32 hex digits, for
//!   reproducible images);
//! - with `accounts` (issue 15), no account and no password at all: the image starts
//!   unprovisioned. Instead, 32 random bytes of provisioning seed (`WSBMC_PROVISIONING_SEED`,
//!   64 hex digits, for reproducible images) that src/accounts.rs derives the one-time secret
//!   from, and the PBKDF2 round count of the accounts made over WS-Man;
//! - a 64-bit seed for the network stack and enumeration-context keys (`WSBMC_SEED`, else
//!   random): the MCU has no hardware RNG, so the image mixes this with boot timing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

use wsbmc_board::Board;

const DEFAULT_USER: &str = "admin";
const DEFAULT_PASSWORD: &str = "wsbmc-dev";
const DEFAULT_ITERATIONS: u32 = 1000;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let manifest = PathBuf::from(env_var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env_var("OUT_DIR")?);

    // cortex-m-rt's link.x includes memory.x from the linker search path.
    fs::copy(manifest.join("memory.x"), out.join("memory.x"))
        .map_err(|e| format!("memory.x: {e}"))?;
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    for var in [
        "WSBMC_BOARD",
        "WSBMC_USER",
        "WSBMC_PASSWORD",
        "WSBMC_PBKDF2_ITERATIONS",
        "WSBMC_SALT",
        "WSBMC_SEED",
        "WSBMC_PROVISIONING_SEED",
        "SOURCE_DATE_EPOCH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let board_path = match env::var_os("WSBMC_BOARD") {
        Some(p) => PathBuf::from(p),
        None => manifest.join("../../boards/lm3s6965evb/board.toml"),
    };
    println!("cargo:rerun-if-changed={}", board_path.display());
    let board = wsbmc_board::load(&board_path).map_err(|e| e.to_string())?;
    check_driver_families(&board)?;
    check_no_board_discrete(&board)?;
    check_controllers(&board)?;

    let mut code = String::new();
    emit_board(&mut code, &board, &board_path)
        .map_err(|e| format!("{}: {e}", board_path.display()))?;
    emit_account(&mut code, &board)?;
    fs::write(out.join("board.rs"), code).map_err(|e| format!("board.rs: {e}"))?;
    Ok(())
}

/// The image polls and shows only the BMC's own discrete sensors (and carries only their state
/// texts, wsbmc-ipmi's `bmc-states`): a board's `[[discrete]]` sensors would be dropped
/// without a word, so a board that has some is refused.
fn check_no_board_discrete(board: &Board) -> Result<(), String> {
    match board.discrete.first() {
        None => Ok(()),
        Some(d) => Err(format!(
            "{} [[discrete]] sensor(s) (the first: {:?}): this image shows only the BMC's own \
             discrete sensors; remove them from the board file",
            board.discrete.len(),
            d.name
        )),
    }
}

/// Every device of the board needs its driver enabled as a feature of this crate (Cargo.toml
/// `[features]`, named as the hal's driver registry names it); otherwise its sensors would
/// silently read NotPresent.
fn check_driver_families(board: &Board) -> Result<(), String> {
    for d in &board.devices {
        let family = d.model.feature();
        let var = format!(
            "CARGO_FEATURE_{}",
            family.to_ascii_uppercase().replace('-', "_")
        );
        if env::var_os(&var).is_none() {
            return Err(format!(
                "device {:?} is a {}, but the image is built without the {family:?} driver; \
                 add it to the default features in firmware/lm3s6965evb/Cargo.toml",
                d.name,
                d.model.name()
            ));
        }
    }
    Ok(())
}

fn env_var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

/// The board's tables, as wsbmc-board emits them for every image that compiles its board in,
/// and when the image was built (for the BMC firmware's CIM_SoftwareIdentity ReleaseDate:
/// SOURCE_DATE_EPOCH for reproducible images, else now).
fn emit_board(code: &mut String, b: &Board, path: &Path) -> Result<(), String> {
    code.push_str(&wsbmc_board::emit::rust(b, &path.display().to_string())?);
    let built = env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| i64::try_from(d.as_secs()).ok())
        })
        .unwrap_or(0);
    writeln!(code, "pub const BUILD_SECS: i64 = {built};").map_err(|e| e.to_string())?;
    // This service's own URL (src/push.rs), spelled here rather than formatted at run time.
    if let Some(n) = &b.network {
        writeln!(
            code,
            "#[cfg_attr(not(feature = \"push\"), allow(dead_code))]\n\
             pub const SERVICE_URL: &str = \"http://{}/wsman\";",
            n.address
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The LM3S6965 has two I2C controllers, I2C0 and I2C1.
const I2C_CONTROLLERS: u8 = 2;

/// Every bus must name a controller this chip has (the board loader only bounds the index).
fn check_controllers(board: &Board) -> Result<(), String> {
    for bus in &board.buses {
        if let Some(n) = bus.i2c_controller
            && n >= I2C_CONTROLLERS
        {
            return Err(format!(
                "bus {:?}: i2c-controller {n}, but the LM3S6965 has I2C0 and I2C1 only",
                bus.name
            ));
        }
    }
    Ok(())
}

fn emit_account(code: &mut String, board: &Board) -> Result<(), String> {
    let iterations =
        match env::var("WSBMC_PBKDF2_ITERATIONS") {
            Ok(s) => s.parse::<u32>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("WSBMC_PBKDF2_ITERATIONS={s:?} is not a positive integer")
            })?,
            Err(_) => DEFAULT_ITERATIONS,
        };
    let seed: u64 = match env::var("WSBMC_SEED") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("WSBMC_SEED={s:?} is not a u64"))?,
        Err(_) => u64::from_le_bytes(random()?),
    };
    writeln!(code, "pub const BUILD_SEED: u64 = {seed:#018x};").map_err(|e| e.to_string())?;
    writeln!(code, "pub const PBKDF2_ITERATIONS: u32 = {iterations};")
        .map_err(|e| e.to_string())?;
    if env::var_os("CARGO_FEATURE_ACCOUNTS").is_some() {
        emit_lockout(code, board)?;
        return emit_provisioning(code);
    }
    let user = env::var("WSBMC_USER").unwrap_or_else(|_| DEFAULT_USER.to_string());
    let password = env::var("WSBMC_PASSWORD").unwrap_or_else(|_| DEFAULT_PASSWORD.to_string());
    if user.is_empty() || password.is_empty() {
        return Err("WSBMC_USER and WSBMC_PASSWORD must not be empty".to_string());
    }
    if password == DEFAULT_PASSWORD {
        println!(
            "cargo:warning=image built with the development password; set WSBMC_PASSWORD for a real board"
        );
    }
    let salt: [u8; 16] = match env::var("WSBMC_SALT") {
        Ok(hex) => parse_hex(&hex).ok_or_else(|| "WSBMC_SALT must be 32 hex digits".to_string())?,
        Err(_) => random()?,
    };

    // Keyed with SHA-256 of the password, as wsbmc-http's `Account::hash` does (issue 20,
    // finding 4: keyed with the raw password, HMAC would also accept it padded with NULs).
    let mut key = [0u8; 32];
    let password_key: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(password.as_bytes()).into()
    };
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password_key, &salt, iterations, &mut key);

    let w = |code: &mut String, s: String| {
        code.push_str(&s);
        code.push('\n');
    };
    w(code, format!("pub const USER: &str = {user:?};"));
    w(code, format!("pub const SALT: [u8; 16] = {salt:?};"));
    w(code, format!("pub const DERIVED_KEY: [u8; 32] = {key:?};"));
    // The Digest HA1s, H(user:WSMAN:password), for the `digest` feature: like the PBKDF2 key,
    // computed here so the image never contains the password.
    if env::var_os("CARGO_FEATURE_DIGEST").is_some() {
        use md5::Digest as _;
        let secret = format!("{user}:WSMAN:{password}");
        let ha1_md5: [u8; 16] = md5::Md5::digest(secret.as_bytes()).into();
        let ha1_sha256: [u8; 32] = sha2::Sha256::digest(secret.as_bytes()).into();
        w(code, format!("pub const HA1_MD5: [u8; 16] = {ha1_md5:?};"));
        w(
            code,
            format!("pub const HA1_SHA256: [u8; 32] = {ha1_sha256:?};"),
        );
    }
    Ok(())
}

/// The board file's `[accounts]` lockout rule (issue 15), each setting `None` where the file
/// leaves it to the default (wsbmc-accounts' `LockoutPolicy::default()`, applied by
/// src/accounts.rs). The loader has checked the ranges.
fn emit_lockout(code: &mut String, board: &Board) -> Result<(), String> {
    let a = &board.accounts;
    writeln!(
        code,
        "pub const LOCKOUT_THRESHOLD: Option<u8> = {:?};\n\
         pub const LOCKOUT_WINDOW_S: Option<u32> = {:?};\n\
         pub const LOCKOUT_DURATION_S: Option<u32> = {:?};",
        a.lockout_threshold, a.lockout_window_s, a.lockout_duration_s
    )
    .map_err(|e| e.to_string())
}

/// The `accounts` image's provisioning seed. A build-time password would be the same on every
/// device flashed with the image, which the issue forbids, so there is none; the seed is what
/// the one-time secret on the console is derived from (src/accounts.rs mixes in the boot seed,
/// so each boot shows a new one). It is per image, not per device: a real board takes its
/// seed from manufacturing or its own RNG instead (src/accounts.rs).
fn emit_provisioning(code: &mut String) -> Result<(), String> {
    for var in ["WSBMC_USER", "WSBMC_PASSWORD"] {
        if env::var_os(var).is_some() {
            return Err(format!(
                "{var} is set, but an image with `accounts` has no build-time account: it \
                 starts unprovisioned (firmware/lm3s6965evb/README.md, \"Accounts\")"
            ));
        }
    }
    let seed: [u8; 32] = match env::var("WSBMC_PROVISIONING_SEED") {
        Ok(hex) => parse_hex(&hex)
            .ok_or_else(|| "WSBMC_PROVISIONING_SEED must be 64 hex digits".to_string())?,
        Err(_) => random()?,
    };
    writeln!(code, "pub const PROVISIONING_SEED: [u8; 32] = {seed:?};").map_err(|e| e.to_string())
}

fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.trim();
    if s.len() != 2 * N || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn random<const N: usize>() -> Result<[u8; N], String> {
    use std::io::Read as _;
    let mut b = [0u8; N];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(b)
}
