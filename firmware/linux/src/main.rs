//! `wsbmc`: the agent on Linux.
//!
//! On a development machine it serves a simulated board (the default board is compiled in, so
//! `cargo run` works from anywhere); on an embedded-Linux BMC it is the WS-Management service.
//! Everything protocol-related lives in the `no_std` crates; this file only turns a board file,
//! a listening socket and credentials into running tasks on one current-thread tokio runtime
//! (the shared HTTP futures are not `Send`).

mod control;
mod fru;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod power;
mod sim;
mod state;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use embedded_io_adapters::tokio_1::FromTokio;
use log::{debug, info, warn};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wsbmc_agent::Agent;
use wsbmc_board::Board;
use wsbmc_cim::SystemInfo;
use wsbmc_http::{Account, Auth, HttpLimits};
use wsbmc_monitor::Monitor;
use wsbmc_wsman::Limits;

/// The simulated board `cargo run` serves when no `--board` is given.
const BUILTIN_SIM_BOARD: &str = include_str!("../../../boards/sim/board.toml");

/// Development credentials, accepted only on the simulated board.
const SIM_USER: &str = "admin";
const SIM_PASSWORD: &str = "wsbmc-dev";

/// PBKDF2 rounds for the start-up hash of the password. Verified credentials are cached by the
/// HTTP layer, so this cost is paid once per client credential, not per request.
const PBKDF2_ITERATIONS: u32 = 20_000;

#[derive(Parser, Debug)]
#[command(name = "wsbmc", version, about = "WS-Management BMC agent")]
struct Args {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Which hardware the agent drives: the simulated board, or the Linux devices the board
    /// file names (`linux-dev` of each bus).
    #[arg(long, value_enum, default_value_t = Hal::Sim)]
    hal: Hal,
    /// Serve the simulation control channel on this Unix socket (mode 0600); off by default.
    #[arg(long)]
    control: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:5985")]
    listen: SocketAddr,
    /// Board description file; default: the built-in simulated board.
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
    /// Concurrent connections served; more are answered 503 and closed.
    #[arg(long)]
    max_connections: Option<u32>,
    /// Directory for what survives a restart (the SEL, console-set thresholds); created if
    /// missing. Without it they are kept in RAM.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// How long a client may take to send a request's headers before it is disconnected.
    #[arg(long, default_value_t = HttpLimits::DEFAULT.header_timeout_ms)]
    header_timeout_ms: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Hal {
    Sim,
    Linux,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Control a running agent's simulation through its control socket.
    Sim {
        /// The agent's `--control` socket.
        #[arg(long)]
        control: PathBuf,
        #[command(subcommand)]
        action: SimAction,
    },
}

#[derive(Subcommand, Debug)]
enum SelAction {
    /// Append N "System Reconfigured" events (to try a large or full log).
    Fill { count: u16 },
}

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

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();
    if let Some(Cmd::Sim { control, action }) = &args.command {
        return sim_client(control, action);
    }

    let (board, board_name) = match &args.board {
        Some(path) => match wsbmc_board::load(path) {
            Ok(b) => (b, path.display().to_string()),
            Err(e) => {
                eprintln!("wsbmc: {e}");
                return ExitCode::from(2);
            }
        },
        None => match wsbmc_board::parse(BUILTIN_SIM_BOARD, "boards/sim/board.toml") {
            Ok(b) => (b, "built-in boards/sim/board.toml".to_string()),
            Err(e) => {
                eprintln!("wsbmc: built-in board: {e}");
                return ExitCode::from(2);
            }
        },
    };

    // An explicit credential (flags or environment) wins and is stored; without one the agent
    // uses the account stored in --state-dir, and only the simulated board falls back to the
    // development default (decided in `run`, once the store is mounted).
    let given = match (args.user.clone(), args.password.clone()) {
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
    let sensor_count = board.sensors.len();
    let limits = wsman_limits(&board);
    let agent = Rc::new(Agent::new(
        Monitor::with_discrete(board.sensors.clone(), board.discrete.clone()),
        system,
        limits,
        seed,
    ));
    agent.set_clock(unix_secs);
    let given = given.map(|(user, password)| {
        Account::hash(
            &user,
            password.as_bytes(),
            &random_u64().to_le_bytes(),
            PBKDF2_ITERATIONS,
        )
    });
    let stored = match state::start(&board, args.state_dir.as_deref(), &agent, given.as_ref()).await
    {
        Ok(stored) => stored,
        Err(e) => {
            eprintln!("wsbmc: {e}");
            return ExitCode::from(2);
        }
    };
    let account = match (given, stored) {
        (Some(a), _) => a,
        (None, Some(a)) => {
            info!("using the account stored in the state directory");
            a
        }
        (None, None) if args.hal == Hal::Sim => {
            info!(
                "no password given: using the simulated board's development password {SIM_PASSWORD:?}"
            );
            Account::hash(
                SIM_USER,
                SIM_PASSWORD.as_bytes(),
                &random_u64().to_le_bytes(),
                PBKDF2_ITERATIONS,
            )
        }
        (None, None) => {
            eprintln!(
                "wsbmc: no credentials: give --user/--password (or WSBMC_USER/WSBMC_PASSWORD) once \
                 with --state-dir to store them; the development default is for the simulated \
                 board only"
            );
            return ExitCode::from(2);
        }
    };
    let user = account.name().to_string();
    let hal = match start_hal(&args, &board, &agent).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("wsbmc: {board_name}: {e}");
            return ExitCode::from(2);
        }
    };

    let mut auth = Auth::new();
    auth.add_account(account);
    let auth = Rc::new(auth);
    let http_limits = Rc::new(HttpLimits {
        max_body: board
            .limits
            .max_request_size
            .map_or(HttpLimits::default().max_body, |n| n as usize),
        header_timeout_ms: args.header_timeout_ms,
        ..HttpLimits::default()
    });
    let max_connections = args
        .max_connections
        .or(board.limits.max_connections)
        .unwrap_or(16)
        .max(1) as usize;

    let listener = match TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("wsbmc: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("wsbmc: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The first stdout line is the contract scripts and tests read the bound address from.
    println!("listening on http://{addr}/wsman");
    let _ = std::io::stdout().flush();
    info!("board {board_name}: {sensor_count} sensors");
    info!("HTTP Basic authentication as user {user:?}");

    let poller = hal;

    let slots = Arc::new(Semaphore::new(max_connections));
    let accept = async {
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
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                debug!("{peer}: connection limit reached");
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
            };
            let (agent, auth, limits) = (agent.clone(), auth.clone(), http_limits.clone());
            tokio::task::spawn_local(async move {
                let mut buf = vec![0u8; 4096];
                let io = FromTokio::new(stream);
                if let Err(e) =
                    wsbmc_http::serve_connection(io, &*agent, &auth, &limits, &mut buf).await
                {
                    debug!("{peer}: {e:?}");
                }
                drop(permit);
            });
        }
    };

    let code = tokio::select! {
        () = accept => ExitCode::SUCCESS,
        () = shutdown_signal() => {
            info!("shutting down");
            ExitCode::SUCCESS
        }
    };
    poller.abort();
    code
}

/// Builds the HAL the arguments ask for and starts the tasks that own it: the poller, the host
/// power watcher and, on the simulated HAL, the control channel.
async fn start_hal(
    args: &Args,
    board: &Board,
    agent: &Rc<Agent>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    match args.hal {
        Hal::Sim => {
            let (sim, mut devices) = sim::build(board)?;
            if let Some(view) = fru::read(board, &mut devices).await {
                agent.set_fru(view);
            }
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

/// What the simulated host's power control can do: everything but a diagnostic interrupt,
/// so consoles can try every request a real board may offer.
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

/// Maps the board's `[limits]` onto the protocol limits.
fn wsman_limits(board: &Board) -> Limits {
    let mut limits = Limits::default();
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
