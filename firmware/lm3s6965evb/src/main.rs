//! wsbmc on the Stellaris LM3S6965 (Cortex-M3, 256 KiB flash, 64 KiB RAM), as QEMU models it in
//! `lm3s6965evb`.
//!
//! The same agent core as the host and embedded-Linux images (HTTP loop, WS-Man, CIM, monitor,
//! device drivers) runs on one embassy thread-mode executor. This file only wires it to the
//! chip: the Ethernet MAC under embassy-net (the board file's static `[network]`; QEMU's user
//! network expects 10.0.2.15/24), the I2C masters the board file's buses name under the device
//! drivers, SysTick under embassy-time, a fixed heap
//! for the XML parser and response bodies, and a pool of HTTP tasks that each own one listening
//! socket (a SYN that finds no listener is reset, so one task per concurrent connection).
//!
//! Memory is fixed at build time and sized for two concurrent WS-Man connections; every bound
//! below is what keeps that true under hostile input (see `HEAP_SIZE`).
#![no_std]
#![no_main]

extern crate alloc;

#[cfg(feature = "accounts")]
mod accounts;
mod board;
#[cfg(feature = "eventing")]
mod events;
mod executor;
#[cfg(feature = "at24")]
mod fru;
mod limits;
mod mem;
mod memfns;
#[cfg(feature = "push")]
mod push;

use alloc::vec::Vec;

use cortex_m_rt::{ExceptionFrame, exception};
use defmt::{error, info, warn};
use embassy_executor::Spawner;
use embassy_net::tcp::TcpSocket;
use embassy_net::{Ipv4Address, Ipv4Cidr, Stack, StackResources, StaticConfigV4};
use embassy_time::{Duration, Instant, Timer, with_timeout};
use static_cell::{ConstStaticCell, StaticCell};
use wsbmc_agent::{Agent, Never};
use wsbmc_chip_lm3s6965::enet::Ethernet;
use wsbmc_chip_lm3s6965::i2c::I2c;
use wsbmc_chip_lm3s6965::{sysctl, time};
use wsbmc_cim::SystemInfo;
use wsbmc_hal::AnyDevice;
#[cfg(not(feature = "accounts"))]
use wsbmc_http::Account;
use wsbmc_http::{Auth, HttpLimits, ResponseGate};
use wsbmc_monitor::Monitor;
use wsbmc_sel::{BmcSensors, OverflowPolicy, Sel, SelConfig};
use wsbmc_store::{RamFlash, Store};
use wsbmc_wsman::Limits;

use defmt_semihosting as _;

/// Concurrent HTTP connections, one listening task each. Two is the floor: with one, a client's
/// back-to-back connections race the re-listen and get reset.
const HTTP_TASKS: usize = 2;
const HTTP_PORT: u16 = 80;
/// Sockets besides the HTTP tasks': the push delivery task's one (feature `push`).
const PUSH_SOCKETS: usize = cfg!(feature = "push") as usize;

/// Per-connection memory, all of it inside the task's future (static RAM).
const TCP_RX_LEN: usize = 1024;
const TCP_TX_LEN: usize = 1024;
/// serve_connection's scratch: 256 B read-ahead plus the request head. WS-Man heads with Basic
/// credentials and a SOAPAction run 400–700 bytes.
const CONN_BUF_LEN: usize = 1536;

// MAX_BODY and MAX_ENVELOPE live in limits.rs, which the host heap tests include.
use limits::{MAX_BODY, MAX_ENVELOPE};

/// Inactivity bound of a TCP connection (no ACK progress), below HTTP's own timeouts.
const TCP_TIMEOUT: Duration = Duration::from_secs(30);

/// The board file's `[network]` address.
const IP: Ipv4Address = ipv4(board::IP_ADDRESS);

const fn ipv4(a: [u8; 4]) -> Ipv4Address {
    Ipv4Address::new(a[0], a[1], a[2], a[3])
}

defmt::timestamp!("{=u64:ms}", Instant::now().as_millis());

#[cortex_m_rt::entry]
fn main() -> ! {
    executor::run(|spawner| boot(&spawner))
}

/// Brings the board up and spawns the long-running tasks, before the executor first polls. A
/// plain function, not a task: as a future, everything it holds across its one wait (the FRU
/// read) was a state of that future, with its resume and drop paths in flash. Out of line, so
/// its frame (~2.8 KiB) is popped before the executor's loop runs on the same stack for ever.
#[inline(never)]
fn boot(spawner: &Spawner) {
    mem::init_heap();
    info!(
        "wsbmc {} on lm3s6965evb, board {}",
        env!("CARGO_PKG_VERSION"),
        board::BOARD_NAME
    );

    let Some(core) = cortex_m::Peripherals::take() else {
        error!("core peripherals already taken");
        return;
    };
    let sysclk = match sysctl::init_clocks() {
        Some(hz) => hz,
        None => {
            warn!("PLL did not lock; running from the reset clock");
            RESET_SYSCLK_HZ
        }
    };
    time::init(core.SYST, sysclk);
    info!("sysclk {=u32} Hz, SysTick 1 kHz", sysclk);

    #[cfg_attr(not(feature = "at24"), allow(unused_mut))]
    let mut devices = build_devices(sysclk);

    let seed = mix_seed();
    let agent = start_agent(seed);
    // The first FRU EEPROM whose image parses describes the chassis and card.
    #[cfg(feature = "at24")]
    for i in 0..devices.len() {
        let Some((name, eeprom, mut buf)) = fru::eeprom(&mut devices, i) else {
            continue;
        };
        if let Some(view) = fru::view(name, executor::block_on(eeprom.read_fru(&mut buf))) {
            agent.set_fru(view);
            break;
        }
    }

    static AUTH: StaticCell<Auth> = StaticCell::new();
    let auth: &'static Auth = AUTH.init({
        let mut auth = Auth::new();
        // With `accounts` the table starts empty and the image unprovisioned (src/accounts.rs);
        // without, the one build-time account.
        #[cfg(feature = "accounts")]
        accounts::start(&mut auth, agent, seed);
        #[cfg(not(feature = "accounts"))]
        {
            let account = Account::from_hash(
                board::USER,
                &board::SALT,
                board::PBKDF2_ITERATIONS,
                board::DERIVED_KEY,
            );
            #[cfg(feature = "digest")]
            let account = account.with_digest(wsbmc_http::DigestKeys {
                md5: board::HA1_MD5,
                sha256: board::HA1_SHA256,
            });
            auth.add_account(account);
        }
        // No RNG on this MCU: the nonce key comes from the boot-mixed seed, so it differs per
        // boot but is only as unpredictable as that seed (see mix_seed).
        #[cfg(feature = "digest")]
        auth.set_nonce_secret(nonce_secret(seed));
        auth
    });
    static HTTP_LIMITS: StaticCell<HttpLimits> = StaticCell::new();
    let http_limits: &'static HttpLimits = HTTP_LIMITS.init(HttpLimits {
        max_body: board::LIMITS
            .max_request_size
            .map_or(MAX_BODY, |n| (n as usize).min(MAX_BODY)),
        // Idle keep-alive connections hold one of very few slots; free them sooner than a
        // server with sockets to spare would.
        idle_timeout_ms: 10_000,
        auth_timeout_ms: match board::LIMITS.auth_timeout_ms {
            Some(ms) => ms,
            None => HttpLimits::DEFAULT.auth_timeout_ms,
        },
        ..HttpLimits::DEFAULT
    });
    if let Some(n) = board::LIMITS.max_connections
        && n as usize > HTTP_TASKS
    {
        warn!(
            "board asks for {=u32} connections; this image serves {=usize}",
            n, HTTP_TASKS
        );
    }

    // The connections take turns to handle a request and send its response, so the heap holds
    // one response (up to `MAX_ENVELOPE`) at a time beside the other connection's request. Two
    // responses at once, each with its parsed request, need more than the heap has: two
    // concurrent enumerations failed to allocate without it.
    static GATE: StaticCell<ResponseGate> = StaticCell::new();
    let gate: &'static ResponseGate = GATE.init(ResponseGate::new());

    let (stack, runner) = start_network(seed);
    spawn(spawner, net_task(runner), "net");
    spawn(spawner, poller_task(agent, devices), "poller");
    match fresh_log() {
        Some((store, sel)) => spawn(spawner, log_task(agent, store, sel), "log"),
        None => {
            error!("store: the RAM flash or the SEL configuration was refused; the SEL is disabled")
        }
    }
    for id in 0..HTTP_TASKS {
        spawn(
            spawner,
            http_task(id, stack, agent, auth, http_limits, gate),
            "http",
        );
    }
    spawn(spawner, stats_task(agent), "stats");
    #[cfg(feature = "push")]
    spawn(spawner, push::push_task(stack, agent, seed), "push");
    // The configuration is static (`net_config`): embassy-net applies it when the stack is
    // made, so it is up here, with no task to wait for it.
    #[cfg(feature = "ip-interface")]
    agent.set_ip_endpoints(ip_endpoints(&net_config().ipv4));
    // Interrupts only once every task that can be woken exists.
    wsbmc_chip_lm3s6965::enet::enable_interrupt();
    info!(
        "ready: http://{}:{=u16}/wsman, {=usize} sensors, {=usize} connections",
        IP,
        HTTP_PORT,
        board::SENSORS.len(),
        HTTP_TASKS
    );
}

/// Builds the agent into its static. Like [`start_network`], a plain function kept out of line:
/// inlined into `boot`, the temporaries of both would share one frame of ~10 KiB, the
/// deepest point the stack ever reaches, and the RAM budget reserves the stack for that peak.
#[inline(never)]
fn start_agent(seed: u64) -> &'static Agent {
    let mut system = SystemInfo::new(board::SYSTEM_NAME);
    system.element_name = board::PRODUCT.into();
    system.vendor = board::MANUFACTURER.into();
    system.image = wsbmc_cim::Image::BareMetal;
    // This image's own version and build date (build.rs), for its CIM_SoftwareIdentity: not
    // the version of the CIM crate, which SystemInfo::new starts from.
    system.version = env!("CARGO_PKG_VERSION").into();
    system.build_secs = Some(board::BUILD_SECS);
    static AGENT: StaticCell<Agent> = StaticCell::new();
    // `init_with`: the agent is built by the closure the cell calls, one move fewer of it.
    let agent = AGENT.init_with(|| {
        Agent::new(
            Monitor::new(board::sensor_table()),
            system,
            wsman_limits(),
            seed,
        )
    });
    // src/push.rs delivers Push and PushWithAck, over http:// only.
    #[cfg(feature = "push")]
    {
        agent.enable_push_delivery();
        agent.deliver_over_http_only();
    }
    let agent: &'static Agent = agent;
    // The board has no host power lines, so there is no power task: the host is always on, as
    // on a Linux board without [power] (whose power task reads `AlwaysOn`). Without this the
    // Power Unit sensor would read "Initializing" for ever.
    #[cfg(feature = "discrete")]
    agent.set_bmc_sensor(wsbmc_monitor::BmcSensor::PowerUnit, 0);
    #[cfg(feature = "eventing")]
    events::init(agent);
    agent
}

/// The management network as embassy-net has it configured, for the IP Interface classes: the
/// IPv4 address, its prefix and the gateway of the configuration [`start_network`] gave the
/// stack (`how`), which embassy-net applies as given when the stack is made, and their origin.
/// The configuration is static, so reading it once is enough; a DHCP configuration
/// (embassy-net's `dhcpv4` feature) makes the match below non-exhaustive, so whoever adds it
/// must also read the lease from the stack and say when it changes.
#[cfg(feature = "ip-interface")]
fn ip_endpoints(how: &embassy_net::ConfigV4) -> alloc::vec::Vec<wsbmc_cim::IpEndpointView> {
    let c = match how {
        embassy_net::ConfigV4::Static(c) => c,
        embassy_net::ConfigV4::None => return alloc::vec::Vec::new(),
    };
    alloc::vec![wsbmc_cim::IpEndpointView {
        interface: "eth0".into(),
        index: 0,
        address: core::net::IpAddr::V4(c.address.address()),
        prefix_len: c.address.prefix_len(),
        gateway: c.gateway.map(core::net::IpAddr::V4),
        origin: wsbmc_cim::AddressOrigin::Static,
    }]
}

/// The IP configuration: the board file's static `[network]` (for QEMU's user network,
/// 10.0.2.15/24 via 10.0.2.2).
fn net_config() -> embassy_net::Config {
    embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(IP, board::IP_PREFIX_LEN),
        gateway: board::IP_GATEWAY.map(ipv4),
        dns_servers: Default::default(),
    })
}

/// Builds the MAC and the IP stack in place. Its temporaries (the driver's frame buffers among
/// them) live on the stack for a moment (when the boot was a task, this kept them out of its
/// future, which is static RAM). Out of line for the same reason as [`start_agent`].
#[inline(never)]
fn start_network(
    seed: u64,
) -> (
    Stack<'static>,
    &'static mut embassy_net::Runner<'static, &'static mut Ethernet>,
) {
    // The MAC (3 KiB of frame buffers) goes straight into its static and the stack drives it by
    // reference, so no by-value copy of it passes through this frame.
    static ETH: StaticCell<Ethernet> = StaticCell::new();
    let eth = ETH.init_with(|| Ethernet::new(None));
    let mac = eth.mac_address();
    info!("mac {=[u8]:02x}", mac);
    let config = net_config();
    static RESOURCES: StaticCell<StackResources<{ HTTP_TASKS + PUSH_SOCKETS }>> = StaticCell::new();
    let (stack, runner) =
        embassy_net::new(eth, config, RESOURCES.init(StackResources::new()), seed);
    static NET_RUNNER: StaticCell<embassy_net::Runner<'static, &'static mut Ethernet>> =
        StaticCell::new();
    (stack, NET_RUNNER.init(runner))
}

/// System clock if the PLL cannot be started: QEMU's reading of the reset RCC (200 MHz / 16).
const RESET_SYSCLK_HZ: u32 = 12_500_000;

fn spawn<S>(
    spawner: &Spawner,
    token: Result<embassy_executor::SpawnToken<S>, embassy_executor::SpawnError>,
    what: &str,
) {
    match token {
        Ok(t) => spawner.spawn(t),
        Err(_) => cannot_spawn(what),
    }
}

/// Out of line: `spawn` is generic over the task, and each of its copies carried this log call.
#[inline(never)]
fn cannot_spawn(what: &str) {
    error!("cannot spawn the {=str} task", what)
}

/// Builds the device table, each device on the controller its bus is wired to (the board
/// file's `i2c-controller`: QEMU 10 wires `bus=i2c` to I2C1, a real board wherever its
/// schematic says).
fn build_devices(sysclk: u32) -> Vec<AnyDevice<I2c>> {
    board::DEVICES
        .iter()
        .map(|d| {
            let ctl = d.controller();
            info!(
                "device {=str}: {=str} at {=u8:#04x}",
                d.name,
                d.model.name(),
                d.address
            );
            d.bind(I2c::new(ctl, sysclk))
        })
        .collect()
}

fn wsman_limits() -> Limits {
    let l = &board::LIMITS;
    let mut limits = limits::base();
    if let Some(v) = l.max_envelope_size {
        limits.max_envelope_size = (v as usize).min(MAX_ENVELOPE);
    }
    if let Some(v) = l.max_enum_contexts {
        limits.max_enum_contexts = (v as usize).min(limits.max_enum_contexts);
    }
    if let Some(v) = l.enum_context_idle_s {
        limits.enum_context_idle_ms = u64::from(v) * 1000;
    }
    if let Some(v) = l.max_request_size {
        limits.max_request_size = (v as usize).min(MAX_BODY);
    }
    limits
}

/// 32 bytes for the Digest nonce MAC key, expanded from the boot seed with splitmix64.
#[cfg(feature = "digest")]
fn nonce_secret(seed: u64) -> [u8; 32] {
    let mut state = seed ^ 0x6469_6765_7374_6b65; // "digestke"
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        chunk.copy_from_slice(&wsbmc_wsman::rng::splitmix(&mut state).to_le_bytes());
    }
    out
}

/// The MCU has no RNG: mix the per-build seed with boot timing (SysTick phase and uptime after
/// the I2C probes), which at least differs between boots of one image.
fn mix_seed() -> u64 {
    let jitter = u64::from(cortex_m::peripheral::SYST::get_current());
    let mut z = board::BUILD_SEED ^ jitter.rotate_left(32) ^ Instant::now().as_ticks();
    // One splitmix64 step (its finaliser), so nearby inputs give unrelated seeds.
    wsbmc_wsman::rng::splitmix(&mut z)
}

/// The runner's own future is the task: an `async fn` awaiting it would nest it in a second
/// state machine, whose states and drop paths cost flash.
#[embassy_executor::task]
fn net_task(
    runner: &'static mut embassy_net::Runner<'static, &'static mut Ethernet>,
) -> impl Future<Output = Never> {
    runner.run()
}

/// The poller's future is the task, as for [`net_task`]. The devices and the (absent) GPIO
/// lines are the task's for ever, so they are leaked rather than moved into a wrapper future:
/// a zero-sized `Box` allocates nothing, and the device table was on the heap already.
#[embassy_executor::task]
fn poller_task(agent: &'static Agent, devices: Vec<AnyDevice<I2c>>) -> impl Future<Output = Never> {
    let gpio: &'static mut wsbmc_hal::NoGpio =
        alloc::boxed::Box::leak(alloc::boxed::Box::new(wsbmc_hal::NoGpio));
    agent.run_poller_with_gpio(devices.leak(), gpio)
}

/// The store's RAM "flash" (the board file's `[store]`, which says why these sizes): the page
/// size, the settings map's pages and the SEL queue's.
use board::{MAP_PAGES, QUEUE_PAGES, STORE_PAGE};

/// The store and the SEL. This board has no non-volatile memory to spare, so the store is RAM,
/// blank at every boot: the log starts empty ([`Sel::fresh`]) rather than being mounted, since a
/// mount's checks, recovery and loss detection could find nothing here (~8 KiB of flash). Since
/// the fifteenth pass nothing is written to it either: the SEL's records and console-set
/// thresholds live in their RAM copies until reset, and the image leaves off the features that
/// write them (wsbmc-sel's and wsbmc-agent's `stored`), which a board with flash turns on. The
/// regions below are therefore the least the store accepts (the board file's `[store]`: 640 B),
/// and the SEL, not stored, is not bounded by them. Made by `boot`, before the executor runs
/// (`Store::blank` waits for nothing), so the log task is the agent's own future.
fn fresh_log() -> Option<(Store<RamFlash<'static, STORE_PAGE>>, Sel)> {
    static MAP: ConstStaticCell<[u8; MAP_PAGES * STORE_PAGE]> =
        ConstStaticCell::new([0; MAP_PAGES * STORE_PAGE]);
    static QUEUE: ConstStaticCell<[u8; QUEUE_PAGES * STORE_PAGE]> =
        ConstStaticCell::new([0; QUEUE_PAGES * STORE_PAGE]);
    let config = SelConfig {
        capacity: board::SEL_CAPACITY,
        policy: if board::SEL_WRAPS {
            OverflowPolicy::Wrap
        } else {
            OverflowPolicy::Stop
        },
        bmc: BmcSensors::default(),
    };
    let store = executor::block_on(Store::blank(
        RamFlash::<STORE_PAGE>::erased(MAP.take()),
        RamFlash::<STORE_PAGE>::erased(QUEUE.take()),
    ))
    .ok()?;
    let sel = Sel::fresh(&store, config).ok()?;
    Some((store, sel))
}

/// Owns the store and the SEL ([`fresh_log`]). The agent's future is the task, as for
/// [`net_task`].
#[embassy_executor::task]
fn log_task(
    agent: &'static Agent,
    store: Store<RamFlash<'static, STORE_PAGE>>,
    sel: Sel,
) -> impl Future<Output = Never> {
    agent.run_mounted_log(store, sel)
}

#[embassy_executor::task(pool_size = HTTP_TASKS)]
async fn http_task(
    id: usize,
    stack: Stack<'static>,
    agent: &'static Agent,
    auth: &'static Auth,
    limits: &'static HttpLimits,
    gate: &'static ResponseGate,
) -> ! {
    let mut rx = [0u8; TCP_RX_LEN];
    let mut tx = [0u8; TCP_TX_LEN];
    let mut buf = [0u8; CONN_BUF_LEN];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        socket.set_timeout(Some(TCP_TIMEOUT));
        if let Err(e) = socket.accept(HTTP_PORT).await {
            warn!("http{=usize}: accept: {}", id, e);
            Timer::after_millis(100).await;
            continue;
        }
        // Responses are written head+body in one go; Nagle would hold the tail back an RTT.
        socket.set_nagle_enabled(false);
        let started = Instant::now();
        let handler = Guarded(agent);
        // The peer's IPv4 address, mapped into IPv6, keys the back-off of failed logins; the
        // image is IPv4-only.
        let mut source: wsbmc_http::Source = [0; 16];
        if let Some(ep) = socket.remote_endpoint() {
            let embassy_net::IpAddress::Ipv4(v4) = ep.addr;
            source[10] = 0xff;
            source[11] = 0xff;
            source[12..].copy_from_slice(&v4.octets());
        }
        let result = wsbmc_http::serve_connection_from(
            &mut socket,
            &handler,
            auth,
            limits,
            &wsbmc_http::Offer::HTTP,
            &mut buf,
            Some(gate),
            &source,
        )
        .await;
        if let Err(e) = result {
            log_serve_error(id, &e);
        }
        socket.close();
        let _ = with_timeout(Duration::from_secs(2), socket.flush()).await;
        defmt::debug!(
            "http{=usize}: served for {=u64} ms",
            id,
            started.elapsed().as_millis()
        );
    }
}

/// Free heap a request needs before it is handled: the largest peak of any request within
/// `wsman_limits` on this image (13.2 KiB, a selector filter at the attribute limit; the e2e
/// hostile test sends every shape at the limits and fails if one needs more than this), plus
/// room for the allocator's rounding. See `mem::HEAP_SIZE` for the budget it is part of.
const HANDLE_RESERVE: usize = 14 * 1024;

/// The agent behind a last check of the heap. The limits are chosen so that every request fits
/// beside the other connection's body and the long-lived state (`mem::HEAP_SIZE`); this check
/// is what still holds if that arithmetic is ever wrong (state grown past its estimate), because
/// parsing and rendering allocate infallibly and a failed allocation resets the board. A request
/// that finds too little free heap is answered 503 before anything is parsed.
struct Guarded(&'static Agent);

impl wsbmc_http::Handler for Guarded {
    /// Whole replies only: the agent is built without `stream`, so its rest is this same
    /// uninhabited type (a build that turned streaming on would not compile here), and the
    /// connection future drops the streaming path (its state would be RAM in every connection
    /// task).
    type Rest = core::convert::Infallible;

    fn handle(
        &self,
        req: &wsbmc_http::Request<'_>,
        body: &[u8],
    ) -> wsbmc_http::Response<Self::Rest> {
        let free = mem::heap_free();
        if free < HANDLE_RESERVE {
            warn!(
                "http: {=usize} B of heap free, {=usize} needed; answering 503",
                free, HANDLE_RESERVE
            );
            return wsbmc_http::Response::empty(wsbmc_http::Outcome::Unavailable);
        }
        let before = mem::heap_used();
        mem::begin_window();
        let response = self.0.handle(req, body);
        // The reserve is only as good as the measurement behind it: say so if a request ever
        // needed more (the e2e test fails on this line).
        let needed = mem::window_peak().saturating_sub(before);
        if needed > HANDLE_RESERVE {
            warn!(
                "http: a request needed {=usize} B of heap, more than the {=usize} B reserved",
                needed, HANDLE_RESERVE
            );
        }
        response
    }
}

/// Why a connection ended, through defmt alone: `Debug2Format` would link `core::fmt` and the
/// derived `Debug` of every type in the error (~3 KiB of flash) for one log line.
fn log_serve_error(id: usize, e: &wsbmc_http::ServeError<embassy_net::tcp::Error>) {
    use wsbmc_http::{Phase, ServeError};
    match e {
        ServeError::Io(e) => info!("http{=usize}: connection ended: transport: {}", id, e),
        ServeError::Timeout(phase) => {
            let phase = match phase {
                Phase::Headers => "headers",
                Phase::Body => "body",
                Phase::Write => "write",
            };
            info!(
                "http{=usize}: connection ended: timeout ({=str})",
                id, phase
            )
        }
        ServeError::Rejected(status) => info!(
            "http{=usize}: connection ended: rejected with {=u16}",
            id, status
        ),
        ServeError::IncompleteBody => info!("http{=usize}: connection ended: body cut short", id),
        ServeError::BufferTooSmall => {
            error!("http{=usize}: connection ended: buffer too small", id)
        }
    }
}

/// Periodic health line: heap and stack high-water marks, the numbers the RAM budget rests on.
#[embassy_executor::task]
async fn stats_task(agent: &'static Agent) -> ! {
    loop {
        Timer::after_secs(STATS_PERIOD_S).await;
        let sensors = agent.with_monitor(|m| m.sensors().len());
        info!(
            "stats: heap used {=usize} B (peak {=usize}) of {=usize}, stack peak {=usize} B of {=usize}, {=usize} sensors",
            mem::heap_used(),
            mem::heap_peak(),
            mem::HEAP_SIZE,
            mem::stack_peak(),
            mem::stack_size(),
            sensors
        );
    }
}

const STATS_PERIOD_S: u64 = 10;

/// Every device interrupt lands here (there is no device crate to name vectors); the chip crate
/// dispatches by number. cortex-m-rt requires the handler to be an `unsafe fn`; its body does
/// nothing unsafe.
#[cortex_m_rt::exception]
unsafe fn DefaultHandler(irqn: i16) {
    if !wsbmc_chip_lm3s6965::on_interrupt(irqn) {
        wsbmc_chip_lm3s6965::mask_interrupt(irqn);
    }
}

/// Logs where the fault happened and resets: a BMC must come back on its own, and the log line is
/// all the evidence a field unit keeps. Untrusted input must never get here (the core's rule); if
/// it does, the reset bounds the damage to one reboot.
///
/// This is also where every panic ends: the image is built with `panic=immediate-abort`
/// (.cargo/config.toml), so a panic site is an undefined instruction (`udf`), which faults as a
/// UsageFault with CFSR's UNDEFINSTR bit (0x0001_0000) set, escalated to this handler (HFSR's
/// FORCED bit, 0x4000_0000). The stacked PC is then the panic site itself:
/// `addr2line -ife <elf> <pc> <lr> <addresses>` names the function, the functions inlined into
/// it, and the call chain. The fault status and address registers say what any other fault was
/// (a bus or memory fault sets MMFAR or BFAR). There is no `#[panic_handler]`: immediate-abort
/// needs none, and no panic reaches one. cortex-m-rt requires an `unsafe fn` here; the body
/// only reads the system control block and the stack.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    // Safety: SCB::PTR is the architectural address of the system control block; these four
    // registers are read-only in effect here (reading them clears nothing).
    let scb = unsafe { &*cortex_m::peripheral::SCB::PTR };
    let mut trace = [0u32; 12];
    let n = mem::code_addresses_on_stack(&mut trace);
    error!(
        "hard fault at pc {=u32:#010x}, lr {=u32:#010x}; cfsr {=u32:#010x} hfsr {=u32:#010x} \
         mmfar {=u32:#010x} bfar {=u32:#010x}; code addresses on the stack: {=[?]:#010x}; \
         resetting",
        frame.pc(),
        frame.lr(),
        scb.cfsr.read(),
        scb.hfsr.read(),
        scb.mmfar.read(),
        scb.bfar.read(),
        trace.get(..n).unwrap_or(&[])
    );
    cortex_m::peripheral::SCB::sys_reset()
}
