//! `wsbmc`: the agent on Linux.
//!
//! On a development machine it serves a simulated board (the default board is compiled in, so
//! `cargo run` works from anywhere); on an embedded-Linux BMC it is the WS-Management service.
//! Everything protocol-related lives in the `no_std` crates; this file only turns a board file,
//! a listening socket and credentials into running tasks on one current-thread tokio runtime
//! (the shared HTTP futures are not `Send`).

mod sim;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;

use clap::Parser;
use embedded_io_adapters::tokio_1::FromTokio;
use log::{debug, info, warn};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wsbmc_agent::Agent;
use wsbmc_board::Board;
use wsbmc_cim::SystemInfo;
use wsbmc_http::{Auth, HttpLimits};
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
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, default_value = "127.0.0.1:5985")]
    listen: SocketAddr,
    /// Board description file; default: the built-in simulated board.
    #[arg(long)]
    board: Option<PathBuf>,
    /// User name for HTTP Basic authentication.
    #[arg(long, env = "WSBMC_USER")]
    user: Option<String>,
    /// Password for HTTP Basic authentication.
    #[arg(long, env = "WSBMC_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Concurrent connections served; more are answered 503 and closed.
    #[arg(long)]
    max_connections: Option<u32>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = Args::parse();

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

    // Only the simulated HAL exists on this binary so far, so the development default applies.
    let (user, password) = match (args.user.clone(), args.password.clone()) {
        (Some(u), Some(p)) => (u, p),
        (u, None) => {
            let user = u.unwrap_or_else(|| SIM_USER.to_string());
            info!("no password given: using the simulated board's development password");
            (user, SIM_PASSWORD.to_string())
        }
        (None, Some(p)) => (SIM_USER.to_string(), p),
    };
    if user.is_empty() || password.is_empty() {
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
    local.block_on(&runtime, run(args, board, board_name, user, password))
}

async fn run(
    args: Args,
    board: Board,
    board_name: String,
    user: String,
    password: String,
) -> ExitCode {
    let seed = random_u64();
    let mut devices = match sim::build(&board) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("wsbmc: {board_name}: {e}");
            return ExitCode::from(2);
        }
    };

    let mut system = SystemInfo::new(board.info.cim_system_name());
    system.element_name = board.info.product.clone();
    system.vendor = board.info.manufacturer.clone();
    let sensor_count = board.sensors.len();
    let limits = wsman_limits(&board);
    let agent = Rc::new(Agent::new(
        Monitor::new(board.sensors),
        system,
        limits,
        seed,
    ));

    let mut auth = Auth::new();
    auth.add_user(
        &user,
        password.as_bytes(),
        &random_u64().to_le_bytes(),
        PBKDF2_ITERATIONS,
    );
    let auth = Rc::new(auth);
    let http_limits = Rc::new(HttpLimits {
        max_body: board
            .limits
            .max_request_size
            .map_or(HttpLimits::default().max_body, |n| n as usize),
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

    let poller = {
        let agent = agent.clone();
        tokio::task::spawn_local(async move { agent.run_poller(&mut devices).await })
    };

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
