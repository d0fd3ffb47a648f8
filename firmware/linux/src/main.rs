//! `wsbmc`: the agent on Linux.
//!
//! On a development machine it serves a simulated board (the default board is compiled in, so
//! `cargo run` works from anywhere); on an embedded-Linux BMC it is the WS-Management service.
//! Everything protocol-related lives in the `no_std` crates; this file only turns a board file,
//! a listening socket and credentials into running tasks on one current-thread tokio runtime
//! (the shared HTTP futures are not `Send`).

mod account_socket;
#[cfg(feature = "sim")]
mod control;
#[cfg(feature = "sim")]
mod control_line;
mod fru;
mod kdf;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod net;
#[cfg(target_os = "linux")]
mod power;
mod provisioning;
mod push;
#[cfg(feature = "sim")]
mod sim;
mod state;
mod users;
mod wsman_accounts;

use std::cell::RefCell;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Parser, Subcommand, ValueEnum};
use embedded_io_adapters::tokio_1::FromTokio;
use log::{debug, info, warn};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wsbmc_accounts::LockoutPolicy;
#[cfg(feature = "sim")]
use wsbmc_accounts::Role;
use wsbmc_agent::Agent;
// Installs the embassy-time driver the shared code keeps time with (see that crate for why).
use wsbmc_board::Board;
use wsbmc_cim::{FirmwareKind, FirmwareView, Image, SystemInfo};
use wsbmc_http::{
    Account, Algorithm, Auth, Connection, HttpLimits, LoginOutcome, Offer, Slot, SlotPolicy, Slots,
};
use wsbmc_monitor::Monitor;
use wsbmc_time_std as _;
use wsbmc_wsman::Limits;

/// The simulated board `cargo run` serves when no `--board` is given.
#[cfg(feature = "sim")]
const BUILTIN_SIM_BOARD: &str = include_str!("../../../boards/sim/board.toml");

/// Development credentials, accepted only on the simulated board (the user name is also the
/// default for a password given without one).
const SIM_USER: &str = "admin";
#[cfg(feature = "sim")]
const SIM_PASSWORD: &str = "wsbmc-dev";

/// PBKDF2 rounds for the start-up hash of the password. Verified credentials are cached by the
/// HTTP layer, so this cost is paid once per client credential, not per request.
const PBKDF2_ITERATIONS: u32 = 20_000;

/// Connections served at once unless the board file or --max-connections says otherwise (was
/// 16; issue 20). An idle kept-alive connection costs 10–11 KiB of RSS (its 4 KiB buffer, task,
/// slot and socket state; measured by test_hostile.py, recorded in BENCHMARKS.md); a busy one
/// adds up to the request limit (512 KiB) plus its response, so 64 is about 40 MiB at the very
/// worst, within the AST2600's 1 GiB and any host.
const DEFAULT_MAX_CONNECTIONS: u32 = 64;

#[derive(Parser, Debug)]
#[command(name = "wsbmc", version, about = "WS-Management BMC agent")]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Which hardware the agent drives: the simulated board, or the Linux devices the board
    /// file names (`linux-dev` of each bus). A build without the `sim` feature (the production
    /// images) has only `linux`.
    #[arg(long, value_enum, default_value_t = Hal::DEFAULT)]
    hal: Hal,
    /// Serve the simulation control channel on this Unix socket (mode 0600); off by default.
    #[cfg(feature = "sim")]
    #[arg(long)]
    control: Option<PathBuf>,
    /// Plain-HTTP address; port 0 picks a free port (the chosen one is printed). Default on the
    /// simulated board 127.0.0.1:5985; with --hal linux plain HTTP is off unless this is given.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// HTTPS address; port 0 picks a free port. Default 127.0.0.1:5986 on the simulated board and
    /// 0.0.0.0:5986 with --hal linux; when --listen has port 0, port 0 on --listen's address.
    #[arg(long)]
    listen_https: Option<SocketAddr>,
    /// Serve no HTTPS listener.
    #[arg(long, conflicts_with = "listen_https")]
    no_https: bool,
    /// Accept Basic authentication over plain HTTP with --hal linux (the password then crosses
    /// the network in clear); the simulated board always accepts it.
    #[arg(long)]
    allow_basic_over_http: bool,
    /// A DNS name or IP address for the generated certificate's subjectAltName (repeatable).
    /// Default: localhost, 127.0.0.1, the listen addresses and, with --hal linux, the host name.
    #[arg(long = "tls-san", value_name = "NAME")]
    tls_sans: Vec<String>,
    /// Digest algorithms challenged with, in order (SHA-256, MD5); empty turns Digest off.
    #[arg(long, value_delimiter = ',', default_value = "SHA-256,MD5")]
    digest_algorithms: Vec<String>,
    /// How long a Digest nonce is accepted before it is answered stale=true (1 to 86400: zero
    /// would answer every request stale).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    digest_nonce_lifetime_s: u32,
    /// Failed logins within --lockout-window-s that lock an account (1 to 100; default 5, or
    /// the board file's [accounts] lockout-threshold, or what the state directory keeps).
    /// Given, it is stored.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=100))]
    lockout_threshold: Option<u8>,
    /// The window failures are counted in, seconds (1 to 86400; default 300, or the board
    /// file's lockout-window-s). Stored.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    lockout_window_s: Option<u32>,
    /// How long a locked account stays locked, seconds (1 to 86400; default 300, or the board
    /// file's lockout-duration-s); every account, the first Administrator included. Stored.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    lockout_duration_s: Option<u32>,
    /// Time a client gets to complete a TLS handshake (100 to 600000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(100..=600_000))]
    tls_handshake_timeout_ms: u32,
    /// TLS handshakes in progress at once (1 to 1024); more connections are dropped until one
    /// finishes.
    #[arg(long, default_value_t = wsbmc_tls::DEFAULT_MAX_HANDSHAKES as u32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    tls_max_handshakes: u32,
    /// Board description file; default: the built-in simulated board (required in a build
    /// without the simulator).
    #[arg(long)]
    board: Option<PathBuf>,
    /// User name for HTTP Basic authentication.
    #[arg(long, env = "WSBMC_USER", allow_hyphen_values = true)]
    user: Option<String>,
    /// Password for HTTP Basic authentication.
    #[arg(
        long,
        env = "WSBMC_PASSWORD",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    password: Option<String>,
    /// Read the password from the first line of this file instead (mode 0600 or stricter:
    /// a file others can read is refused). What scripts and tests use, so no password is
    /// ever in a process's argument list.
    #[arg(long, value_name = "PATH", conflicts_with = "password")]
    password_file: Option<PathBuf>,
    /// Concurrent connections served (1 to 65535; default 64, or the board file's). When all are
    /// taken an idle kept-alive connection is closed for the new one; if none is idle, the new
    /// one is answered 503 and closed.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65_535))]
    max_connections: Option<u32>,
    /// Connections one source address may hold (1 to 65535; default half of
    /// --max-connections); more from it are answered 503 unless one of its own is idle.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=65_535))]
    max_connections_per_source: Option<u32>,
    /// Bytes of items an Enumerate/Pull reply holds before the rest of it is streamed in
    /// chunks (4096 to 16777216; default 262144). Lower holds less per reply and renders the
    /// streamed items twice (once to measure the reply before it is sent).
    #[arg(long, value_parser = clap::value_parser!(u32).range(4096..=16_777_216))]
    stream_from: Option<u32>,
    /// How long a connection may stay open without authenticating (500 to 600000 ms; default
    /// 5000, or the board file's).
    #[arg(long, value_parser = clap::value_parser!(u32).range(500..=600_000))]
    auth_timeout_ms: Option<u32>,
    /// Directory for what survives a restart (the SEL, console-set thresholds); created if
    /// missing. Without it they are kept in RAM.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Erase the state directory's store (SEL, thresholds, stored account) before starting:
    /// the way back from a store that no longer mounts or lost its account.
    #[arg(long, requires = "state_dir")]
    reset_state: bool,
    /// PEM certificates HTTPS event sinks are verified against (a CA bundle, or a sink's own
    /// certificate); default: the system bundle, /etc/ssl/certs/ca-certificates.crt.
    #[arg(long, value_name = "PEM")]
    event_ca: Option<PathBuf>,
    /// How long a client may take to send a request's headers before it is disconnected
    /// (100 to 600000).
    #[arg(long, default_value_t = HttpLimits::DEFAULT.header_timeout_ms,
          value_parser = clap::value_parser!(u32).range(100..=600_000))]
    header_timeout_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Hal {
    #[cfg(feature = "sim")]
    Sim,
    Linux,
}

impl Hal {
    /// The simulated board where it is built in, else the only mode there is.
    #[cfg(feature = "sim")]
    const DEFAULT: Hal = Hal::Sim;
    #[cfg(not(feature = "sim"))]
    const DEFAULT: Hal = Hal::Linux;

    /// Whether this is the simulated board (always false in a build without it).
    fn is_sim(self) -> bool {
        #[cfg(feature = "sim")]
        {
            self == Hal::Sim
        }
        #[cfg(not(feature = "sim"))]
        {
            false
        }
    }
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// The HTTPS certificate in a state directory: show it, make a CSR, install a signed one.
    Cert {
        /// The agent's --state-dir (before or after the action).
        #[arg(long, global = true)]
        state_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: CertAction,
    },
    /// The accounts in a state directory, of a stopped or a running agent: add, passwd, list,
    /// del (password from a prompt or stdin).
    User {
        /// The agent's --state-dir.
        #[arg(long, global = true)]
        state_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: users::UserAction,
    },
    /// Control a running agent's simulation through its control socket.
    #[cfg(feature = "sim")]
    Sim {
        /// The agent's `--control` socket.
        #[arg(long)]
        control: PathBuf,
        #[command(subcommand)]
        action: SimAction,
    },
}

#[derive(Subcommand, Debug)]
enum CertAction {
    /// Print the certificate chain (PEM) and its SHA-256 fingerprint.
    Show,
    /// Print a PKCS#10 request (PEM) signed with the stored key.
    Csr {
        /// The subject, e.g. "CN=bmc1.example.com,O=Example" (CN, O, OU, C, ST, L).
        #[arg(long)]
        subject: String,
        /// A DNS name or IP address for subjectAltName (repeatable).
        #[arg(long = "san", value_name = "NAME")]
        sans: Vec<String>,
    },
    /// Validate and install a certificate (chain, leaf first); a running agent serves it to
    /// new connections. Without --key the stored key is kept (the CSR round trip).
    Install {
        cert: PathBuf,
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

/// `wsbmc cert ...`: errors to stderr with exit status 2; nothing is changed on error.
fn cert_client(state_dir: &std::path::Path, action: &CertAction) -> ExitCode {
    use wsbmc_tls::cert;
    let result = match action {
        CertAction::Show => cert::Files::new(state_dir).load().map(|id| {
            format!(
                "{}SHA-256 fingerprint: {}\n",
                id.chain_pem(),
                id.fingerprint()
            )
        }),
        CertAction::Csr { subject, sans } => cert::csr(state_dir, subject, sans),
        CertAction::Install { cert: path, key } => (|| {
            let cert_pem = cert::read_bounded(path)?;
            let key_pem = key.as_deref().map(cert::read_bounded).transpose()?;
            let fp = cert::install(state_dir, &cert_pem, key_pem.as_deref())?;
            Ok(format!(
                "installed; SHA-256 fingerprint: {fp}\n(a running agent serves it to new connections)\n"
            ))
        })(),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wsbmc cert: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "sim")]
#[derive(Subcommand, Debug)]
enum SelAction {
    /// Append N "System Reconfigured" events (to try a large or full log).
    Fill { count: u16 },
}

#[cfg(feature = "sim")]
#[derive(Subcommand, Debug)]
enum SimAction {
    /// Pin a sensor to a value in its board units (°C, V, A, W, RPM).
    Set { key: String, value: String },
    /// Return a sensor to its waveform.
    Clear { key: String },
    /// Inject a device fault: nack, bus, timeout, stuck, slow, checksum, or none to clear.
    Fault { device: String, kind: String },
    /// Pull a device from the board: it stops answering.
    Remove { device: String },
    /// Put a pulled device back.
    Insert { device: String },
    /// Drive the host's power: on, off (soft), force-off, cycle or reset.
    Host { request: String },
    /// Work on the SEL.
    Sel {
        #[command(subcommand)]
        action: SelAction,
    },
    /// Set a power device's PMBus status: ok, failed, input-lost or predictive.
    Psu { device: String, condition: String },
    /// Drive a GPIO input (by its board-file name): high or low; or `LINE fault KIND` to break
    /// it (nack, bus, timeout, none).
    Gpio {
        line: String,
        /// `high`, `low` or `fault`.
        level: String,
        /// With `fault`: the kind.
        kind: Option<String>,
    },
    /// Host state, devices with their faults, and every sensor's reading.
    Status,
}

/// `wsbmc sim ...`: one request to the agent; errors to stderr with exit status 2.
#[cfg(feature = "sim")]
fn sim_client(control: &PathBuf, action: &SimAction) -> ExitCode {
    let line = match action {
        SimAction::Set { key, value } => format!("set {key} {value}"),
        SimAction::Clear { key } => format!("clear {key}"),
        SimAction::Fault { device, kind } => format!("fault {device} {kind}"),
        SimAction::Remove { device } => format!("remove {device}"),
        SimAction::Insert { device } => format!("insert {device}"),
        SimAction::Host { request } => format!("host {request}"),
        SimAction::Sel {
            action: SelAction::Fill { count },
        } => format!("sel fill {count}"),
        SimAction::Psu { device, condition } => format!("psu {device} {condition}"),
        SimAction::Gpio { line, level, kind } => match kind {
            Some(k) => format!("gpio {line} {level} {k}"),
            None => format!("gpio {line} {level}"),
        },
        SimAction::Status => "status".to_string(),
    };
    // Parsing here too gives the same message without a running agent.
    let result = control::Command::parse(&line).and_then(|c| control::request(control, &c));
    match result {
        Ok(body) => {
            print!("{body}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wsbmc sim: {e}");
            ExitCode::from(2)
        }
    }
}

/// A user name Basic authentication can carry: RFC 7617 splits user-id and password at the
/// first ':' and forbids control characters, so such a name could never log in.
fn check_user_name(user: &str) -> Result<(), &'static str> {
    if user.contains(':') {
        Err("a user name must not contain ':' (Basic authentication splits at it)")
    } else if user.chars().any(char::is_control) {
        Err("a user name must not contain control characters")
    } else {
        Ok(())
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    match &args.command {
        #[cfg(feature = "sim")]
        Some(Cmd::Sim { control, action }) => return sim_client(control, action),
        Some(Cmd::Cert { state_dir, action }) => {
            let Some(dir) = state_dir else {
                eprintln!("wsbmc cert: --state-dir DIR is required");
                return ExitCode::from(2);
            };
            return cert_client(dir, action);
        }
        Some(Cmd::User { state_dir, action }) => {
            let Some(dir) = state_dir else {
                eprintln!("wsbmc user: --state-dir DIR is required");
                return ExitCode::from(2);
            };
            let mut salt = [0u8; 16];
            salt[..8].copy_from_slice(&random_u64().to_le_bytes());
            salt[8..].copy_from_slice(&random_u64().to_le_bytes());
            return users::run(dir, action, PBKDF2_ITERATIONS, salt);
        }
        None => {}
    }

    let (board, board_name) = match &args.board {
        Some(path) => match wsbmc_board::load(path) {
            Ok(b) => (b, path.display().to_string()),
            Err(e) => {
                eprintln!("wsbmc: {e}");
                return ExitCode::from(2);
            }
        },
        #[cfg(feature = "sim")]
        None => match wsbmc_board::parse(BUILTIN_SIM_BOARD, "boards/sim/board.toml") {
            Ok(b) => (b, "built-in boards/sim/board.toml".to_string()),
            Err(e) => {
                eprintln!("wsbmc: built-in board: {e}");
                return ExitCode::from(2);
            }
        },
        #[cfg(not(feature = "sim"))]
        None => {
            eprintln!(
                "wsbmc: --board FILE is required: this build has no simulator (it was built \
                 without the `sim` feature) and so no built-in board"
            );
            return ExitCode::from(2);
        }
    };

    // An explicit credential (flags or environment) wins and is stored; without one the agent
    // uses the account stored in --state-dir, and only the simulated board falls back to the
    // development default (decided in `run`, once the store is mounted).
    let password = match &args.password_file {
        Some(path) => match users::read_password_file(path) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("wsbmc: --password-file: {e}");
                return ExitCode::from(2);
            }
        },
        None => args.password.clone(),
    };
    let given = match (args.user.clone(), password) {
        (u, Some(p)) => Some((u.unwrap_or_else(|| SIM_USER.to_string()), p)),
        (_, None) => None,
    };
    if given
        .as_ref()
        .is_some_and(|(u, p)| u.is_empty() || p.is_empty())
    {
        eprintln!("wsbmc: user name and password must not be empty");
        return ExitCode::from(2);
    }
    if let Some(user) = &args.user
        && let Err(e) = check_user_name(user)
    {
        eprintln!("wsbmc: --user {user:?}: {e}");
        return ExitCode::from(2);
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsbmc: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run(args, board, board_name, given))
}

async fn run(
    args: Args,
    board: Board,
    board_name: String,
    given: Option<(String, String)>,
) -> ExitCode {
    let seed = random_u64();

    let mut system = SystemInfo::new(board.info.cim_system_name());
    system.element_name = board.info.product.clone();
    system.vendor = board.info.manufacturer.clone();
    // The same binary is the host agent and, built for armv7, the AST2600 image.
    system.image = if cfg!(target_arch = "arm") {
        Image::Ast2600
    } else {
        Image::Host
    };
    system.build_secs = option_env!("WSBMC_BUILD_SECS").and_then(|s| s.parse().ok());
    let bmc_name = system.bmc_name.clone();
    let sensor_count = board.sensors.len();
    let mut limits = wsman_limits(&board);
    if let Some(v) = args.stream_from {
        limits.stream_from = v as usize;
    }
    let mut agent = Agent::new(
        Monitor::with_discrete(board.sensors.clone(), board.discrete.clone()),
        system,
        limits,
        seed,
    );
    // This image runs a delivery task (push.rs), so it offers the push modes too.
    agent.enable_push_delivery();
    // Subscriptions keep their absolute expiry across a restart, and Expires may be a date-time.
    agent.set_event_wall_clock(unix_ms);
    let agent = Rc::new(agent);
    agent.set_clock(unix_secs);
    let given = given.map(|(user, password)| {
        Account::hash(
            &user,
            password.as_bytes(),
            &random_u64().to_le_bytes(),
            PBKDF2_ITERATIONS,
        )
    });
    if let Some(bios) = bios_firmware(&board) {
        agent.add_firmware(bios);
    }
    // The lockout rule: each setting from its flag, else the board file's [accounts], else
    // the default (5 failures in 300 s lock for 300 s); when either gives any, the rule is
    // stored. With neither, the stored rule (or the default) applies.
    let board_lockout = board.accounts;
    let threshold = args.lockout_threshold.or(board_lockout.lockout_threshold);
    let window_s = args.lockout_window_s.or(board_lockout.lockout_window_s);
    let duration_s = args.lockout_duration_s.or(board_lockout.lockout_duration_s);
    let policy = if threshold.is_some() || window_s.is_some() || duration_s.is_some() {
        let d = LockoutPolicy::default();
        match LockoutPolicy::new(
            threshold.unwrap_or(d.threshold()),
            window_s.map_or(d.window_ms(), |s| u64::from(s) * 1000),
            duration_s.map_or(d.duration_ms(), |s| u64::from(s) * 1000),
        ) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("wsbmc: lockout: {e:?}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    // Only the simulated board adds to the table here (its development account).
    #[cfg_attr(not(feature = "sim"), allow(unused_mut))]
    let mut table = match state::start(
        &board,
        args.state_dir.as_deref(),
        args.reset_state,
        &agent,
        given.as_ref(),
        policy,
        PBKDF2_ITERATIONS,
    )
    .await
    {
        Ok(table) => table,
        Err(e) => {
            eprintln!("wsbmc: {e}");
            return ExitCode::from(2);
        }
    };
    // A user named without a password is only a stored account's name, never a way to reach
    // the development default under another name.
    if given.is_none()
        && let Some(user) = args.user.as_deref()
        && table.get(user).is_none()
    {
        eprintln!(
            "wsbmc: --user {user:?} given without a password: give --password (or \
             WSBMC_PASSWORD) too; without one only the accounts stored in --state-dir are used"
        );
        return ExitCode::from(2);
    }
    // The development default lives in RAM only: nothing about it is stored, locks included.
    #[cfg_attr(not(feature = "sim"), allow(unused_mut))]
    let mut dev_default = false;
    // Real hardware with no account: the provisioning path's device seed and secret.
    let mut unprovisioned = None;
    if table.is_provisioned() {
        if given.is_none() {
            info!("using the accounts stored in the state directory");
        }
    } else {
        #[cfg(feature = "sim")]
        if args.hal == Hal::Sim {
            info!(
                "no password given: using the simulated board's development password {SIM_PASSWORD:?}"
            );
            let dev = Account::hash(
                SIM_USER,
                SIM_PASSWORD.as_bytes(),
                &random_u64().to_le_bytes(),
                PBKDF2_ITERATIONS,
            );
            // Not stored: the development default is never written to a state directory.
            if let Err(e) = table.import(SIM_USER, Role::Administrator, dev.record()) {
                eprintln!("wsbmc: {e}");
                return ExitCode::from(2);
            }
            dev_default = true;
        }
        if !table.is_provisioned() {
            // No default password on real hardware: the device starts unprovisioned, and a
            // person at its serial console makes the first Administrator (provisioning.rs).
            let seed = match provisioning::seed(args.state_dir.as_deref()) {
                Ok(seed) => seed,
                Err(e) => {
                    eprintln!("wsbmc: {e}");
                    return ExitCode::from(2);
                }
            };
            match table.provisioning_secret(&seed) {
                Ok(secret) => unprovisioned = Some((seed, secret)),
                Err(e) => {
                    eprintln!("wsbmc: provisioning: {e:?}");
                    return ExitCode::from(2);
                }
            }
        }
    }
    let user = table
        .list()
        .map(|(_, a)| a.name().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let hal = match start_hal(&args, &board, &agent).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("wsbmc: {board_name}: {e}");
            return ExitCode::from(2);
        }
    };

    let mut auth = Auth::new();
    if let Some((seed, _)) = &unprovisioned {
        auth.set_provisioning_seed(seed.clone());
    }
    // Shared with the login hook, which persists locks through the log task.
    let table = Rc::new(RefCell::new(table));
    auth.set_table(table.clone());
    {
        let agent = agent.clone();
        let table = table.clone();
        auth.on_login(Box::new(move |outcome: &LoginOutcome| {
            log_login(outcome);
            for event in &outcome.audit {
                let e = wsbmc_accounts::sel_event(event);
                let names = wsbmc_cim::AuditNames {
                    user: event.logged_name().map(String::from),
                    by: None,
                };
                agent.log_session_audit(e.sensor_type, e.event_type, e.deassertion, e.data, names);
            }
            if let Some(w) = outcome.write.filter(|_| !dev_default) {
                state::queue_record(&agent, &table.borrow(), w);
            }
        }));
    }

    // The CIM account classes manage the same table http authenticates against.
    agent.set_accounts(Box::new(wsman_accounts::AgentAccounts::new(
        &agent,
        table.clone(),
        PBKDF2_ITERATIONS,
        dev_default,
        random_u64,
    )));

    // `wsbmc user ...` on this running agent's state directory comes through its account
    // socket and changes the accounts here, as WS-Man does (account_socket.rs).
    if let Some(dir) = &args.state_dir {
        match account_socket::bind(dir) {
            Ok(listener) => {
                let accounts = Rc::new(wsman_accounts::AgentAccounts::new(
                    &agent,
                    table.clone(),
                    PBKDF2_ITERATIONS,
                    dev_default,
                    random_u64,
                ));
                tokio::task::spawn_local(account_socket::serve(listener, accounts));
            }
            Err(e) => {
                warn!("account socket: {e}; `wsbmc user` cannot change this agent's accounts")
            }
        }
    }

    // PBKDF2 (about 2 ms) runs on a worker thread, not on the executor every connection shares.
    match kdf::Worker::start() {
        Ok(worker) => auth.set_kdf(Box::new(worker)),
        Err(e) => warn!("no password worker thread ({e}); PBKDF2 runs on the executor"),
    }
    // Digest nonces are MACed with a per-boot key: nonces from before a restart are refused.
    let mut secret = [0u8; 32];
    for chunk in secret.chunks_mut(8) {
        chunk.copy_from_slice(&random_u64().to_le_bytes());
    }
    auth.set_nonce_secret(secret);
    auth.set_nonce_ttl(embassy_time::Duration::from_secs(u64::from(
        args.digest_nonce_lifetime_s,
    )));
    let mut algorithms = Vec::new();
    for name in args.digest_algorithms.iter().filter(|n| !n.is_empty()) {
        match name.to_ascii_uppercase().as_str() {
            "SHA-256" | "SHA256" => algorithms.push(Algorithm::Sha256),
            "MD5" => algorithms.push(Algorithm::Md5),
            other => {
                eprintln!("wsbmc: --digest-algorithms: {other:?} is not SHA-256 or MD5");
                return ExitCode::from(2);
            }
        }
    }
    auth.set_digest_algorithms(&algorithms);
    let auth = Rc::new(auth);
    let http_limits = Rc::new(HttpLimits {
        max_body: board
            .limits
            .max_request_size
            .map_or(HttpLimits::default().max_body, |n| n as usize),
        header_timeout_ms: args.header_timeout_ms,
        auth_timeout_ms: args
            .auth_timeout_ms
            .or(board.limits.auth_timeout_ms)
            .unwrap_or(HttpLimits::DEFAULT.auth_timeout_ms),
        ..HttpLimits::default()
    });
    // Both sources are floored at 1 where they are read (clap range, board validation).
    let max_connections = args
        .max_connections
        .or(board.limits.max_connections)
        .unwrap_or(DEFAULT_MAX_CONNECTIONS) as usize;
    let per_source = args
        .max_connections_per_source
        .or(board.limits.max_connections_per_source)
        .map(|n| n as usize);
    let policy = SlotPolicy::new(max_connections, per_source);
    info!(
        "{} connections, {} per source address",
        policy.max, policy.per_source
    );

    let Some(listeners) = plan_listeners(&args) else {
        eprintln!("wsbmc: no listener: give --listen or leave HTTPS on");
        return ExitCode::from(2);
    };
    let acceptor = match listeners.https {
        Some(_) => match tls_acceptor(&args) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("wsbmc: TLS: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let mut bound = Vec::new();
    for (addr, secure) in [(listeners.http, false), (listeners.https, true)] {
        let Some(addr) = addr else { continue };
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("wsbmc: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        };
        match listener.local_addr() {
            Ok(a) => bound.push((listener, a, secure)),
            Err(e) => {
                eprintln!("wsbmc: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // The first stdout line is the contract scripts and tests read the bound address from
    // (plain HTTP when it is on); the fingerprint lets a console pin the certificate.
    for (_, addr, secure) in &bound {
        let scheme = if *secure { "https" } else { "http" };
        println!("listening on {scheme}://{addr}/wsman");
    }
    if let Some(acceptor) = &acceptor {
        println!(
            "certificate SHA-256 fingerprint: {}",
            acceptor.fingerprint()
        );
    }
    let _ = std::io::stdout().flush();
    info!("board {board_name}: {sensor_count} sensors");
    match &unprovisioned {
        Some((_, secret)) => provisioning::announce(secret, &bmc_name),
        None => info!("accounts: {user}"),
    }
    if !listeners.basic_over_http && listeners.http.is_some() {
        info!("plain HTTP accepts Digest only (--allow-basic-over-http to accept Basic too)");
    }
    // The first listener's address: what the host agent knows of its network (the AST2600
    // image listens on 0.0.0.0 and reads its interfaces instead).
    if let Some((_, addr, _)) = bound.first() {
        watch_network(&agent, *addr);
    }

    let poller = hal;

    // Push delivery: the first listener's URL is the SubscriptionManager a SubscriptionEnd
    // names when its subscription recorded no address of its own (no wsa:To).
    let manager = bound.first().map_or_else(String::new, |(_, addr, secure)| {
        format!("{}://{addr}/wsman", if *secure { "https" } else { "http" })
    });
    let sink_tls = match event_trust(args.event_ca.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wsbmc: --event-ca: {e}");
            return ExitCode::from(2);
        }
    };
    let delivery = tokio::task::spawn_local(
        push::Deliverer::new(agent.clone(), manager, sink_tls, random_u64()).run(),
    );

    let slots = Slots::new(policy);
    let shared = Rc::new(Shared {
        agent: agent.clone(),
        auth,
        limits: http_limits,
        slots,
    });
    let mut accepts = tokio::task::JoinSet::new();
    for (listener, _, secure) in bound {
        let offer = Offer {
            secure,
            basic: secure || listeners.basic_over_http,
            digest: true,
        };
        let tls = if secure { acceptor.clone() } else { None };
        accepts.spawn_local(accept_loop(listener, shared.clone(), offer, tls));
    }
    let accept = async { while accepts.join_next().await.is_some() {} };

    let code = tokio::select! {
        () = accept => ExitCode::SUCCESS,
        () = shutdown_signal() => {
            info!("shutting down");
            ExitCode::SUCCESS
        }
    };
    poller.abort();
    delivery.abort();
    code
}

/// Trust for HTTPS event sinks: `--event-ca`'s certificates (an error if they do not load),
/// else the system bundle if there is one, else none (HTTPS deliveries then fail, logged).
fn event_trust(
    path: Option<&std::path::Path>,
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, String> {
    match path {
        Some(p) => {
            let pem = wsbmc_tls::cert::read_bounded(p)?;
            push::client_config(&pem)
                .map(Some)
                .map_err(|e| format!("{}: {e}", p.display()))
        }
        None => Ok(
            wsbmc_tls::cert::read_bounded(std::path::Path::new(push::SYSTEM_CA_BUNDLE))
                .ok()
                .and_then(|pem| push::client_config(&pem).ok()),
        ),
    }
}

/// Logs what the account table decided about a login: locks, unlocks and logins while locked,
/// with the user name (the SEL record, logged beside, has room for the user ID only). A plain
/// failure is left to the connection's `login_failed`, whose line also names the source, so a
/// wrong password is one line of the log, not two.
fn log_login(outcome: &LoginOutcome) {
    for event in &outcome.audit {
        if event.kind != wsbmc_accounts::AuditKind::LoginFailed {
            warn!("account audit: {:?} for user {:?}", event.kind, event.user);
        }
    }
}

/// What every connection task shares.
struct Shared {
    agent: Rc<Agent>,
    auth: Rc<Auth>,
    limits: Rc<HttpLimits>,
    slots: Rc<Slots>,
}

/// Which listeners run, decided from the arguments and the HAL.
struct Listeners {
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    /// Basic is accepted over plain HTTP: always on the simulated board (the development
    /// default), on real hardware only when asked.
    basic_over_http: bool,
}

/// Real hardware serves HTTPS and, only when asked, plain HTTP; the simulated board serves
/// both. `None` when nothing would listen.
fn plan_listeners(args: &Args) -> Option<Listeners> {
    let sim = args.hal.is_sim();
    let http = match args.listen {
        Some(addr) => Some(addr),
        None if sim => Some(SocketAddr::from(([127, 0, 0, 1], 5985))),
        None => None,
    };
    let https = if args.no_https {
        None
    } else {
        Some(match (args.listen_https, args.listen) {
            (Some(addr), _) => addr,
            // Tests and scripts ask for a free port; the HTTPS side follows suit.
            (None, Some(plain)) if plain.port() == 0 => SocketAddr::new(plain.ip(), 0),
            (None, _) if sim => SocketAddr::from(([127, 0, 0, 1], 5986)),
            (None, _) => SocketAddr::from(([0, 0, 0, 0], 5986)),
        })
    };
    if http.is_none() && https.is_none() {
        return None;
    }
    Some(Listeners {
        http,
        https,
        basic_over_http: sim || args.allow_basic_over_http,
    })
}

/// The names the generated certificate is valid for.
fn certificate_names(args: &Args) -> Vec<String> {
    if !args.tls_sans.is_empty() {
        return args.tls_sans.clone();
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if args.hal == Hal::Linux
        && let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname")
    {
        names.push(host.trim().to_string());
    }
    for addr in [args.listen, args.listen_https].into_iter().flatten() {
        if !addr.ip().is_unspecified() {
            names.push(addr.ip().to_string());
        }
    }
    names.retain(|n| !n.is_empty());
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The TLS acceptor: the state directory's certificate (made at first start), or an
/// ephemeral one without a state directory.
fn tls_acceptor(args: &Args) -> Result<Rc<wsbmc_tls::Acceptor>, String> {
    let names = certificate_names(args);
    let acceptor = match &args.state_dir {
        Some(dir) => {
            if wsbmc_tls::cert::ensure(dir, &names)? {
                info!(
                    "made a self-signed TLS certificate for {names:?} in {}",
                    dir.display()
                );
            }
            wsbmc_tls::Acceptor::from_dir(dir)?
        }
        None => {
            warn!("TLS certificate is ephemeral; pass --state-dir DIR to keep one across restarts");
            wsbmc_tls::Acceptor::ephemeral(&wsbmc_tls::cert::ephemeral(&names)?)?
        }
    };
    Ok(acceptor.with_limits(
        std::time::Duration::from_millis(u64::from(args.tls_handshake_timeout_ms)),
        args.tls_max_handshakes as usize,
    ))
}

/// Accepts on one listener until the process ends; each connection is its own local task.
async fn accept_loop(
    listener: TcpListener,
    shared: Rc<Shared>,
    offer: Offer,
    tls: Option<Rc<wsbmc_tls::Acceptor>>,
) {
    loop {
        let (mut stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let source = match peer.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        let slot = match shared.slots.admit(source) {
            Ok(slot) => slot,
            Err(refused) => {
                debug!("{peer}: {refused:?}");
                if tls.is_some() {
                    // A plain-text 503 would be garbage to a TLS client: just close.
                    continue;
                }
                tokio::task::spawn_local(async move {
                    let _ = stream
                        .write_all(
                            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                              Connection: close\r\nRetry-After: 1\r\n\r\n",
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
                continue;
            }
        };
        let conn = Conn { slot, peer };
        let (shared, tls) = (shared.clone(), tls.clone());
        tokio::task::spawn_local(async move {
            let mut buf = vec![0u8; 4096];
            let result = match tls {
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => serve(stream, &shared, &offer, &mut buf, &conn).await,
                    Err(e) => {
                        debug!("{peer}: {e}");
                        Ok(())
                    }
                },
                None => serve(stream, &shared, &offer, &mut buf, &conn).await,
            };
            if let Err(e) = result {
                debug!("{peer}: {e:?}");
            }
            drop(conn);
        });
    }
}

/// One connection's HTTP loop, over TCP or over TLS on TCP: the same loop whatever carries it.
async fn serve<S>(
    stream: S,
    shared: &Shared,
    offer: &Offer,
    buf: &mut [u8],
    conn: &Conn,
) -> Result<(), wsbmc_http::ServeError<std::io::Error>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    wsbmc_http::serve_connection_from(
        FromTokio::new(stream),
        &*shared.agent,
        &shared.auth,
        &shared.limits,
        offer,
        buf,
        None,
        conn,
    )
    .await
}

/// One connection as the HTTP loop sees it: its slot (idle closing, the source's back-off) and
/// its peer, for the log.
struct Conn {
    slot: Slot,
    peer: SocketAddr,
}

impl Connection for Conn {
    fn source(&self) -> Option<&wsbmc_http::Source> {
        self.slot.source()
    }

    fn while_idle<F: std::future::Future>(
        &self,
        wait: F,
        authenticated: bool,
    ) -> impl std::future::Future<Output = Option<F::Output>> {
        self.slot.while_idle(wait, authenticated)
    }

    fn login_failed(&self, authorization: &str) {
        // The user name only: a Basic header carries the password.
        let user = wsbmc_http::claimed_user(authorization).unwrap_or_default();
        warn!("{}: failed login for user {user:?}", self.peer.ip());
    }
}

/// Builds the HAL the arguments ask for and starts the tasks that own it: the poller, the host
/// power watcher and, on the simulated HAL, the control channel.
async fn start_hal(
    args: &Args,
    board: &Board,
    agent: &Rc<Agent>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    match args.hal {
        #[cfg(feature = "sim")]
        Hal::Sim => {
            let (sim, mut devices) = sim::build(board)?;
            if let Some(view) = fru::read(board, &mut devices).await {
                agent.set_fru(view);
            }
            agent
                .identify_controllers(&mut devices, |i| device_name(board, i))
                .await;
            if let Some(path) = &args.control {
                let listener = control::bind(path)
                    .map_err(|e| format!("control socket {}: {e}", path.display()))?;
                info!("sim control channel on {}", path.display());
                let target = Rc::new(control::Target {
                    board: board.clone(),
                    sim: sim.clone(),
                    agent: agent.clone(),
                });
                tokio::task::spawn_local(control::serve(listener, target));
            }
            {
                let (agent, host) = (agent.clone(), sim.host.clone());
                tokio::task::spawn_local(async move {
                    agent.run_power(host, SIM_POWER_TRANSITIONS).await
                });
            }
            let agent = agent.clone();
            let mut gpio = sim::gpio(&sim, board);
            Ok(tokio::task::spawn_local(async move {
                agent.run_poller_with_gpio(&mut devices, &mut gpio).await
            }))
        }
        Hal::Linux => {
            #[cfg(feature = "sim")]
            if args.control.is_some() {
                return Err("--control drives the simulation; it needs --hal sim".into());
            }
            linux_hal(board, agent).await
        }
    }
}

#[cfg(target_os = "linux")]
async fn linux_hal(
    board: &Board,
    agent: &Rc<Agent>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let mut devices = linux::build(board)?;
    if let Some(view) = fru::read(board, &mut devices).await {
        agent.set_fru(view);
    }
    agent
        .identify_controllers(&mut devices, |i| device_name(board, i))
        .await;
    // Without [power] the BMC cannot switch the host: it is taken as always on (so host-powered
    // sensors read), and power requests are answered "not supported".
    let agent_ = agent.clone();
    match &board.power {
        Some(lines) => {
            let host = power::open(lines)?;
            let transitions = power::transitions(lines);
            info!(
                "host power: {} on GPIO chip {:?}, power-good {}",
                lines.power_button, lines.gpio_chip, lines.power_good
            );
            tokio::task::spawn_local(async move { agent_.run_power(host, transitions).await })
        }
        None => tokio::task::spawn_local(async move {
            agent_.run_power(wsbmc_hal::power::AlwaysOn, &[]).await
        }),
    };
    // After the power lines, so a board whose GPIO chip is missing is reported for those first.
    let mut gpio = power::sensor_inputs(board)?;
    if !board.gpio_inputs.is_empty() {
        info!(
            "{} GPIO inputs for discrete sensors",
            board.gpio_inputs.len()
        );
    }
    let agent = agent.clone();
    Ok(tokio::task::spawn_local(async move {
        agent.run_poller_with_gpio(&mut devices, &mut gpio).await
    }))
}

#[cfg(not(target_os = "linux"))]
async fn linux_hal(_: &Board, _: &Rc<Agent>) -> Result<tokio::task::JoinHandle<()>, String> {
    Err("--hal linux needs Linux".into())
}

/// How often the management network's addresses are read again: a DHCP renewal or a link
/// change shows within this; reading costs one netlink dump and one small /proc file.
const NETWORK_REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

/// Feeds the IP Interface classes from the kernel's view of the network, now and every
/// [`NETWORK_REFRESH`], on the agent's executor (the reads do not block on anything remote).
#[cfg(target_os = "linux")]
fn watch_network(agent: &Rc<Agent>, listen: SocketAddr) {
    agent.set_ip_endpoints(net::read(listen));
    let agent = agent.clone();
    tokio::task::spawn_local(async move {
        loop {
            tokio::time::sleep(NETWORK_REFRESH).await;
            agent.set_ip_endpoints(net::read(listen));
        }
    });
}

/// Elsewhere the listening address is all the agent knows of its network.
#[cfg(not(target_os = "linux"))]
fn watch_network(agent: &Rc<Agent>, listen: SocketAddr) {
    let _ = NETWORK_REFRESH;
    if !listen.ip().is_unspecified() {
        agent.set_ip_endpoints(vec![wsbmc_cim::IpEndpointView {
            interface: "listen".into(),
            index: 0,
            address: listen.ip(),
            prefix_len: if listen.is_ipv4() { 32 } else { 128 },
            gateway: None,
            origin: wsbmc_cim::AddressOrigin::Static,
        }]);
    }
}

/// The board file's name of device `index`: the stable part of a controller's firmware
/// InstanceID.
fn device_name(board: &Board, index: usize) -> String {
    board
        .devices
        .get(index)
        .map_or_else(|| format!("device{index}"), |d| d.name.clone())
}

/// The host BIOS as the board file states it, for the software inventory.
fn bios_firmware(board: &Board) -> Option<FirmwareView> {
    let version = board.info.bios_version.clone()?;
    Some(FirmwareView {
        id: "bios".into(),
        kind: FirmwareKind::HostBios,
        element_name: "Host BIOS".into(),
        version,
        numbers: None,
        manufacturer: board.info.bios_vendor.clone(),
        release_secs: None,
        identity: Vec::new(),
    })
}

/// What the simulated host's power control can do: everything but a diagnostic interrupt,
/// so consoles can try every request a real board may offer.
#[cfg(feature = "sim")]
const SIM_POWER_TRANSITIONS: &[wsbmc_cim::PowerTransition] = &[
    wsbmc_cim::PowerTransition::On,
    wsbmc_cim::PowerTransition::OffHard,
    wsbmc_cim::PowerTransition::OffSoft,
    wsbmc_cim::PowerTransition::Cycle,
    wsbmc_cim::PowerTransition::Reset,
];

/// Seconds since 1970 for SEL timestamps.
fn unix_secs() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// Milliseconds since 1970, for subscription expiries.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Bytes of items an Enumerate/Pull response holds before the rest of its batch is streamed
/// as chunks (`--stream-from`): a larger reply holds this much and one 8 KiB chunk at a time
/// instead of all of it (MaxEnvelopeSize may ask for 512,000 B). Streamed items are rendered
/// twice (the reply is measured before its first byte leaves), which made the bench's
/// Enumerate+Pull of 64 sensors (two ~100 KB replies) cost 2.7x the instructions at 16 KiB and
/// 1.7x at 64 KiB (BENCHMARKS.md); at 256 KiB the replies clients ask for with their default
/// MaxEnvelopeSize (153,600 B for pywinrm and pypsrp) go out whole, as before.
const STREAM_FROM: usize = 256 * 1024;

/// Maps the board's `[limits]` onto the protocol limits.
fn wsman_limits(board: &Board) -> Limits {
    let mut limits = Limits {
        stream_from: STREAM_FROM,
        ..Limits::default()
    };
    let l = &board.limits;
    if let Some(v) = l.max_envelope_size {
        limits.max_envelope_size = v as usize;
    }
    if let Some(v) = l.max_enum_contexts {
        limits.max_enum_contexts = v as usize;
    }
    if let Some(v) = l.enum_context_idle_s {
        limits.enum_context_idle_ms = u64::from(v) * 1000;
    }
    if let Some(v) = l.max_request_size {
        limits.max_request_size = v as usize;
    }
    limits
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Entropy for enumeration-context tokens and the password salt.
fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut b)
    }) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => {
            // No /dev/urandom: fall back to time and address-space noise rather than refuse to run.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            t ^ (&b as *const _ as u64).rotate_left(32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_basic_cannot_carry_are_refused() {
        assert!(check_user_name("admin").is_ok());
        assert!(check_user_name("dom\\user.name@x").is_ok());
        assert!(check_user_name("a:b").is_err());
        assert!(check_user_name("a\nb").is_err());
    }

    #[test]
    fn numeric_options_have_floors() {
        let parse = |extra: &[&str]| {
            Args::try_parse_from(["wsbmc"].iter().chain(extra)).map_err(|e| e.to_string())
        };
        assert!(parse(&[]).is_ok());
        for (opt, low) in [
            ("--header-timeout-ms", "99"),
            ("--max-connections", "0"),
            ("--tls-handshake-timeout-ms", "0"),
            ("--tls-max-handshakes", "0"),
            ("--digest-nonce-lifetime-s", "0"),
        ] {
            let e = parse(&[opt, low]).unwrap_err();
            assert!(e.contains(opt), "{opt}: {e}");
        }
        assert!(parse(&["--header-timeout-ms", "100", "--max-connections", "1"]).is_ok());
    }

    fn parse(args: &[&str]) -> Result<Args, String> {
        Args::try_parse_from(["wsbmc"].iter().chain(args)).map_err(|e| e.to_string())
    }

    #[cfg(feature = "sim")]
    #[test]
    fn the_host_build_defaults_to_the_simulated_board() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.hal, Hal::Sim);
        assert!(args.hal.is_sim());
        assert!(parse(&["sim", "--control", "/x", "status"]).is_ok());
        assert!(parse(&["--control", "/x"]).is_ok());
    }

    /// The production images (built without `sim`): `--hal linux` is the only mode, and there is
    /// no way to ask for the simulator, its control socket or its subcommand.
    #[cfg(not(feature = "sim"))]
    #[test]
    fn a_build_without_the_simulator_refuses_it() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.hal, Hal::Linux);
        assert!(!args.hal.is_sim());
        let e = parse(&["--hal", "sim"]).unwrap_err();
        assert!(
            e.contains("invalid value 'sim'") && e.contains("linux"),
            "{e}"
        );
        assert!(parse(&["--control", "/x"]).is_err());
        assert!(parse(&["sim", "--control", "/x", "status"]).is_err());
    }
}
