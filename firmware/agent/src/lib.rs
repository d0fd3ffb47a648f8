//! The agent: the shared core of every wsbmc image.
//!
//! One [`Agent`] holds the state every task shares (the monitor's reading cache and the WS-Man
//! service with its enumeration contexts) and is itself the HTTP [`Handler`]. Platforms differ
//! only in how they accept connections and which I2C type the devices use: the host agent and
//! the embedded-Linux image drive it from tokio, the bare-metal image from embassy.
//!
//! Sharing is by `RefCell` because every image runs the agent on one single-threaded executor
//! and no borrow is ever held across an `.await`: a request is handled synchronously from the
//! cache, and the poller releases the monitor while it waits on a bus.
#![no_std]

extern crate alloc;

#[cfg(feature = "accounts")]
pub mod audit;
#[cfg(feature = "eventing")]
mod events;
pub mod log;

use alloc::vec::Vec;
#[cfg(feature = "accounts")]
use alloc::{boxed::Box, string::String};
use core::cell::{Cell, OnceCell, RefCell};

use embassy_futures::select::select;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Instant, Timer, with_timeout};
use embedded_hal_async::i2c::I2c;
use embedded_storage_async::nor_flash::MultiwriteNorFlash;
#[cfg(feature = "software-inventory")]
use wsbmc_cim::FirmwareView;
#[cfg(feature = "ip-interface")]
use wsbmc_cim::IpEndpointView;
use wsbmc_cim::{
    ClearOutcome, DiscreteSensorView, FruView, LogView, Model, NotPersisted, Platform, PowerState,
    PowerTransition, RequestOutcome, SystemInfo,
};
use wsbmc_hal::power::{HostPower, PowerRequest};
use wsbmc_hal::{AnyDevice, DeviceError, GpioInputs, IpmiLink};
use wsbmc_http::{Handler, Outcome, Request, Response};
use wsbmc_monitor::{BmcSensor, DiscreteId, Monitor, Recovery, SensorId, Thresholds};
use wsbmc_sel::{Sel, SelConfig};
use wsbmc_store::Store;
#[cfg(any(
    feature = "stored",
    feature = "legacy-overrides",
    feature = "accounts-store",
    feature = "eventing-store"
))]
use wsbmc_store::StoreKey;
use wsbmc_wsman::{Limits, ReplyKind, RequestMeta, Service};

#[cfg(feature = "stored")]
use crate::log::StoredThresholds;
use crate::log::{LogCmd, LogShared};

/// Longest a single device read may take. SMBus caps clock stretching at 35 ms per transfer, so a
/// read still pending after this is a stuck bus, reported as a timeout rather than waited on.
const READ_TIMEOUT: Duration = Duration::from_millis(500);

/// The sensor the poller reads next.
enum Due {
    Numeric(SensorId),
    #[cfg(feature = "discrete")]
    Discrete(DiscreteId),
}

/// How the poller gets a sensor's reading: from a device on the bus (`states`: a discrete
/// sensor's state bits, else the scaled reading), or a result known without the bus.
enum Poll {
    Bus {
        device: u16,
        channel: u8,
        scale: i8,
        states: bool,
    },
    Known(Result<i32, DeviceError>),
}

/// How often the power task samples the host's state when nothing wakes it. Transitions take
/// seconds; a tenth of a second is well inside what a console can notice, and cheap.
const POWER_POLL: Duration = Duration::from_millis(100);

/// SEL records stored between two marks of the log ([`wsbmc_sel::Sel::checkpoint`]): at most
/// this many of the newest records can be lost from flash without the next start noticing,
/// for one map write per this many records.
#[cfg(feature = "sel-loss-detection")]
const CHECKPOINT_EVERY: u8 = 16;

/// The image's answer to "may a Pull render this many deferred events now?"
/// (`Agent::set_render_gate`).
#[cfg(feature = "eventing-deferred")]
pub type RenderGate = fn(usize) -> bool;

/// `!` under a name stable Rust accepts in `impl Future<Output = …>`: the output of the task
/// futures the agent hands back without wrapping them in an `async fn` of their own.
pub type Never = <fn() -> ! as HasOutput>::Output;

/// Names a function type's output, for [`Never`].
#[doc(hidden)]
pub trait HasOutput {
    type Output;
}

impl<O> HasOutput for fn() -> O {
    type Output = O;
}

/// The state shared by the poller, the power and log tasks, and every connection.
pub struct Agent {
    monitor: RefCell<Monitor>,
    wsman: RefCell<Service>,
    system: SystemInfo,
    /// Whether host-powered sensors have power, as the power task last reported. Starts true
    /// so a platform without power control reads every sensor.
    host_on: Cell<bool>,
    power: PowerShared,
    log: LogShared,
    /// Seconds for SEL timestamps: Unix time where the platform has a clock, otherwise seconds
    /// since start, which IPMI reads as "pre-init" time.
    clock: Cell<fn() -> u32>,
    /// The board's FRU, read once at start-up, for CIM_Chassis and CIM_Card.
    fru: OnceCell<FruView>,
    /// Firmware besides the BMC's own (host BIOS, satellite controllers), for the software
    /// inventory; filled at start-up.
    #[cfg(feature = "software-inventory")]
    firmware: RefCell<Vec<FirmwareView>>,
    /// The management network's addresses, as the image last read them.
    #[cfg(feature = "ip-interface")]
    ip: RefCell<Vec<IpEndpointView>>,
    /// Per device: the poller's timeout back-off and failed-read counts, here rather than in the
    /// poller so diagnostics can read the counts. Never borrowed across an `.await`.
    recovery: RefCell<Recovery>,
    /// Store operations (mount, SEL writes, marks, clears, threshold reads and writes) that
    /// failed since start.
    store_errors: Cell<u32>,
    /// Whether the last store operation failed: settings changes are refused until one
    /// succeeds, since a console cannot be told afterwards that its change was lost.
    store_failing: Cell<bool>,
    /// WS-Eventing subscriptions, fed from the log task (see `events`).
    #[cfg(feature = "eventing")]
    events: wsbmc_eventing::Source,
    /// Raised when the subscriptions may have something new to deliver (an event offered, a
    /// WS-Eventing request handled), so the image's delivery task sleeps until then or its
    /// next timer rather than polling.
    #[cfg(feature = "eventing")]
    events_wake: Signal<NoopRawMutex, ()>,
    /// Whether a Pull may render this many deferred events now (`set_render_gate`).
    #[cfg(feature = "eventing-deferred")]
    render_gate: Cell<Option<RenderGate>>,
    /// Which subscription each store slot holds, as last written (see `events::stored`).
    #[cfg(feature = "eventing-store")]
    stored_subs: events::stored::Slots,
    /// The image's account table as the CIM model manages it (DSP1034/DSP1039), set once at
    /// start-up by the image, which owns the table, its hashing and its persistence. Unset, the
    /// account classes are empty.
    #[cfg(feature = "accounts")]
    accounts: OnceCell<Box<dyn wsbmc_cim::Accounts>>,
    /// Who the request being handled was authenticated as: its user name (the buffer is reused
    /// from request to request) and role, `None` outside a request or for an unauthenticated
    /// Identify. For the account classes' audit and visibility ([`Self::request_caller`]).
    #[cfg(feature = "accounts")]
    caller: RefCell<(String, Option<wsbmc_http::Role>)>,
}

/// What the power task and the request handler share.
struct PowerShared {
    /// The host's state as last read; `None` until the power task has run (or if it cannot read).
    state: Cell<Option<wsbmc_hal::power::PowerState>>,
    /// A request accepted by the handler that the power task has not started yet.
    pending: Cell<Option<PowerRequest>>,
    /// The request whose transition the host is in, so a console sees a hard off or a cycle
    /// under way as that, not as whatever soft transition the state alone suggests.
    started: Cell<Option<PowerRequest>>,
    wake: Signal<NoopRawMutex, ()>,
    /// What the board can do; empty until a power task runs.
    transitions: Cell<&'static [PowerTransition]>,
}

impl Agent {
    /// `seed` must come from real entropy in production: it keys enumeration-context tokens.
    ///
    /// The BMC's own discrete sensors (host power, SEL, session audit, BMC start) are added to
    /// the monitor's discrete table here, after the board's, so every image has them.
    pub fn new(mut monitor: Monitor, system: SystemInfo, limits: Limits, seed: u64) -> Self {
        let bmc = wsbmc_sel::BmcSensors::default();
        if cfg!(feature = "discrete") {
            monitor.extend_discrete(bmc.discrete_descs());
            // No login has been audited yet: a reading of "nothing asserted", not Initializing.
            // A first reading asserts nothing, so there are no edges to log.
            if let Some(id) = monitor.discrete().find_bmc(BmcSensor::SessionAudit) {
                monitor.record_discrete(id, Ok(0), now_ms(), true);
            }
        }
        let log = LogShared::new(monitor.sensors(), bmc);
        #[cfg(feature = "discrete")]
        let log = log.with_discrete(monitor.discrete().descs());
        Self {
            monitor: RefCell::new(monitor),
            wsman: RefCell::new(Service::new(limits, seed)),
            system,
            host_on: Cell::new(true),
            power: PowerShared {
                state: Cell::new(None),
                pending: Cell::new(None),
                started: Cell::new(None),
                wake: Signal::new(),
                transitions: Cell::new(&[]),
            },
            log,
            clock: Cell::new(uptime_secs),
            fru: OnceCell::new(),
            #[cfg(feature = "software-inventory")]
            firmware: RefCell::new(Vec::new()),
            #[cfg(feature = "ip-interface")]
            ip: RefCell::new(Vec::new()),
            recovery: RefCell::new(Recovery::default()),
            store_errors: Cell::new(0),
            store_failing: Cell::new(false),
            #[cfg(feature = "eventing")]
            events: events::source(seed),
            #[cfg(feature = "eventing")]
            events_wake: Signal::new(),
            #[cfg(feature = "eventing-deferred")]
            render_gate: Cell::new(None),
            #[cfg(feature = "eventing-store")]
            stored_subs: RefCell::new(Default::default()),
            #[cfg(feature = "accounts")]
            accounts: OnceCell::new(),
            #[cfg(feature = "accounts")]
            caller: RefCell::new((String::new(), None)),
        }
    }

    /// The WS-Eventing subscriptions, for the image's delivery task (which polls the table's
    /// scheduler and feeds back what the sink answered) and diagnostics.
    #[cfg(feature = "eventing")]
    pub fn events(&self) -> &wsbmc_eventing::Source {
        &self.events
    }

    /// Bounds the subscriptions: at most `max_subscriptions` live ones (one more is answered
    /// with the quota fault) each with at most `max_queue` undelivered events (an overflow
    /// drops the oldest and counts it for DroppedEvents). For an image whose heap cannot hold
    /// the defaults (wsbmc-eventing's `Config`); call it before serving requests.
    /// Asked before a Pull renders `n` deferred events into its response (feature
    /// `eventing-deferred`): false answers the Pull `wsa:EndpointUnavailable` with the events
    /// kept. For an image whose heap can run short (the bare-metal one checks its free heap).
    #[cfg(feature = "eventing-deferred")]
    pub fn set_render_gate(&self, gate: RenderGate) {
        self.render_gate.set(Some(gate));
    }

    #[cfg(feature = "eventing")]
    fn backlog(&self) -> events::SelBacklog<'_> {
        events::SelBacklog {
            log: &self.log,
            system_name: &self.system.system_name,
            #[cfg(feature = "eventing-deferred")]
            gate: self.render_gate.get(),
        }
    }

    #[cfg(feature = "eventing")]
    pub fn set_event_bounds(&self, max_subscriptions: usize, max_queue: usize) {
        let mut table = self.events.table().borrow_mut();
        let cfg = table.config_mut();
        cfg.max_subscriptions = max_subscriptions;
        cfg.max_queue = max_queue;
    }

    /// Accepts Push, PushWithAck and Events subscriptions besides Pull: for an image that runs
    /// a delivery task. Without one those modes stay refused, since nothing would deliver them.
    /// With `eventing-deferred` Push and PushWithAck only: their one event is rendered as the
    /// message is made ([`Self::render_delivery`], behind the image's own heap check), where an
    /// Events batch would hold several at once.
    #[cfg(feature = "eventing")]
    pub fn enable_push_delivery(&mut self) {
        #[cfg(not(feature = "eventing-deferred"))]
        self.events.set_modes(events::ALL_MODES);
        #[cfg(feature = "eventing-deferred")]
        self.events.set_modes(events::DEFERRED_PUSH_MODES);
    }

    /// Refuses https NotifyTo and EndTo addresses at Subscribe, with the addressing fault: for
    /// an image whose delivery task has no TLS client (the bare-metal one).
    #[cfg(feature = "eventing")]
    pub fn deliver_over_http_only(&mut self) {
        self.events.set_http_only();
    }

    /// Writes the envelope of `d`, the message in flight for `sub`, rendering a deferred event
    /// from the SEL record it was queued as (wsbmc-eventing's `render::delivery_from`). False,
    /// with nothing written, when the message has no destination.
    #[cfg(feature = "eventing")]
    pub fn render_delivery(
        &self,
        out: &mut wsbmc_wsman::XmlWriter,
        sub: &wsbmc_eventing::Subscription,
        d: &wsbmc_eventing::Delivery,
        message_id: &str,
        manager: &str,
    ) -> bool {
        wsbmc_eventing::render::delivery_from(out, sub, d, message_id, manager, &self.backlog())
    }

    /// Gives the subscriptions the wall clock (Unix ms): Expires may then be a date-time, and
    /// a kept subscription keeps its absolute expiry across a restart (wsbmc-eventing's
    /// `persist`). For an image whose clock is set (the std images).
    #[cfg(feature = "eventing")]
    pub fn set_event_wall_clock(&mut self, wall: fn() -> u64) {
        self.events.set_wall_clock(wall);
    }

    /// Waits until the subscriptions may have something new to deliver (see `events_wake`).
    #[cfg(feature = "eventing")]
    pub async fn events_changed(&self) {
        self.events_wake.wait().await;
    }

    /// Wakes the delivery task: a delivery finished, so the subscription may send its next.
    #[cfg(feature = "eventing")]
    pub fn wake_delivery(&self) {
        self.events_wake.signal(());
    }

    /// Queues the store writes that bring the kept subscriptions in line with the table
    /// (changed records written, gone ones removed; see `events::stored`). Called after every
    /// WS-Eventing request and by the delivery task after each delivery; cheap when nothing
    /// changed. Without a mounted store nothing is queued. Half the log task's queue is left
    /// to SEL events: a write that would take more waits for the next call (the next
    /// delivery, request or timer). Without `eventing-store` nothing is kept and this does
    /// nothing.
    #[cfg(feature = "eventing")]
    pub fn persist_subscriptions(&self) {
        #[cfg(feature = "eventing-store")]
        self.sync_stored_subscriptions();
    }

    #[cfg(feature = "eventing-store")]
    fn sync_stored_subscriptions(&self) {
        if !self.log.is_enabled() {
            return;
        }
        let budget = self.log.room().saturating_sub(log::QUEUE_DEPTH / 2);
        events::stored::sync(
            &self.events,
            &self.stored_subs,
            now_ms(),
            budget,
            |key, value| self.log.send(LogCmd::Record(key, value)),
        );
    }

    /// Reads back the subscriptions the store keeps (at start, once the SEL is published),
    /// and queues for each what the SEL logged after its bookmark, so a restart loses no event
    /// it had not delivered. A record that does not read or decode is dropped with a warning.
    #[cfg(feature = "eventing-store")]
    async fn restore_subscriptions<F: MultiwriteNorFlash>(&self, store: &mut Store<F>) {
        use events::stored;
        use wsbmc_eventing::Backlog as _;
        let now = now_ms();
        let limits = self.events.table().borrow().config().limits;
        for slot in 0..stored::SLOTS as u8 {
            let Some(first_key) = StoreKey::subscription(slot, 0) else {
                break;
            };
            let first = match store.get::<stored::Chunk>(first_key).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(_) => {
                    self.note("subscription read", false);
                    stored::Chunk {
                        count: 0,
                        bytes: Vec::new(),
                    }
                }
            };
            let mut bytes = first.bytes;
            let mut whole = first.count >= 1;
            for c in 1..first.count {
                let chunk = match StoreKey::subscription(slot, c) {
                    Some(key) => store.get::<stored::Chunk>(key).await.ok().flatten(),
                    None => None,
                };
                match chunk {
                    Some(ch) if ch.count == first.count => bytes.extend_from_slice(&ch.bytes),
                    _ => {
                        whole = false;
                        break;
                    }
                }
            }
            let decoded = whole
                .then(|| {
                    wsbmc_eventing::persist::decode_at(&bytes, self.events.clock(now), &limits).ok()
                })
                .flatten();
            let Some(sub) = decoded else {
                wsbmc_log::warn!(
                    "a stored subscription (slot {}) does not read; dropped",
                    slot
                );
                let removed = store.remove(first_key).await.is_ok();
                self.note("subscription removal", removed);
                continue;
            };
            let id = sub.id.clone();
            let at_zero = wsbmc_eventing::persist::encode(&sub, 0);
            let resume = sub.last_record;
            let filter = sub.terms.filter.clone();
            if self.events.table().borrow_mut().restore(sub).is_err() {
                continue;
            }
            if let Some(s) = self.stored_subs.borrow_mut().get_mut(usize::from(slot)) {
                *s = Some(stored::slot(id.clone(), &at_zero, first.count));
            }
            if let Some(record) = resume {
                let backlog = self.backlog();
                let mut table = self.events.table().borrow_mut();
                let replayed = backlog.replay(
                    wsbmc_eventing::Bookmark::After(record),
                    filter.as_deref(),
                    &mut |e| table.offer(e, now, |s| s.id == id),
                );
                if replayed.is_err() {
                    wsbmc_log::warn!(
                        "subscription {}: the SEL no longer holds its bookmark's record; \
                         what was logged meanwhile is not delivered",
                        id.as_str()
                    );
                }
            }
            wsbmc_log::info!("subscription {} restored from the store", id.as_str());
        }
        self.events_wake.signal(());
    }

    /// Hands the CIM model the image's account table (once; a second call is ignored and says
    /// so with `false`).
    #[cfg(feature = "accounts")]
    pub fn set_accounts(&self, accounts: Box<dyn wsbmc_cim::Accounts>) -> bool {
        self.accounts.set(accounts).is_ok()
    }

    /// The user name and role the request being handled was authenticated with; `None` outside
    /// a request or for one let through unauthenticated (Identify). Read by the image's
    /// [`wsbmc_cim::Accounts`] while the model serves the request, which happens synchronously
    /// inside [`Handler::handle`].
    #[cfg(feature = "accounts")]
    pub fn request_caller(&self) -> Option<(String, wsbmc_http::Role)> {
        let c = self.caller.borrow();
        c.1.map(|role| (c.0.clone(), role))
    }

    /// Whether the caller of the request being served sees subscription `s` as DSP1054
    /// instances: its owner does (as only its owner may Renew or Unsubscribe it), and an
    /// Administrator sees every one; another user's sink address and filter are not shown.
    /// Without roles (no account table, or outside a request) every subscription is shown.
    #[cfg(feature = "subscription-classes")]
    fn sees_subscription(&self, s: &wsbmc_eventing::Subscription) -> bool {
        #[cfg(feature = "accounts")]
        {
            let c = self.caller.borrow();
            if let Some(role) = c.1 {
                return role == wsbmc_http::Role::Administrator || s.owner == c.0;
            }
        }
        let _ = s;
        true
    }

    /// Whether the log task can take a store write now: the store is mounted, its last
    /// operation succeeded, and the queue has room. Account changes ask this before anything
    /// changes, as threshold changes do ([`Platform::can_persist`]).
    #[cfg(feature = "accounts")]
    pub fn store_ready(&self) -> bool {
        self.log.is_enabled() && !self.store_failing.get() && self.log.has_room()
    }

    /// Replaces the management network's addresses (DSP1036): the image reads them at start-up
    /// and again when they may have changed, never on a request.
    #[cfg(feature = "ip-interface")]
    pub fn set_ip_endpoints(&self, endpoints: Vec<IpEndpointView>) {
        *self.ip.borrow_mut() = endpoints;
    }

    /// Adds a piece of firmware to the software inventory (the host BIOS a board file names).
    #[cfg(feature = "software-inventory")]
    pub fn add_firmware(&self, firmware: FirmwareView) {
        self.firmware.borrow_mut().push(firmware);
    }

    /// Asks every management controller among `devices` for its identity (IPMI Get Device ID)
    /// and adds its firmware to the software inventory, named by `name(device index)` (the
    /// board file's device name, so the InstanceID is stable). Run once before the poller; a
    /// controller that does not answer within the read timeout is left out, not waited on.
    #[cfg(feature = "software-inventory")]
    pub async fn identify_controllers<I: I2c, B: IpmiLink>(
        &self,
        devices: &mut [AnyDevice<I, B>],
        name: impl Fn(usize) -> alloc::string::String,
    ) {
        for (index, device) in devices.iter_mut().enumerate() {
            let Ok(Some((address, result))) =
                with_timeout(READ_TIMEOUT, device.controller_id()).await
            else {
                continue;
            };
            // A controller that answers with an error is as absent as one that does not answer:
            // its sensors already show it as unreadable.
            if let Ok(id) = result {
                self.add_firmware(FirmwareView::from_device_id(
                    &name(index),
                    address,
                    id.firmware_major,
                    id.firmware_minor,
                    id.manufacturer,
                    id.product,
                    id.device_id,
                ));
            }
        }
    }

    /// Gives the model the board's FRU data (read by the platform at start-up). The first
    /// set stands: every image reads one FRU, and the cell has no borrow flag or replace code
    /// to link. False when one was set already.
    pub fn set_fru(&self, fru: FruView) -> bool {
        self.fru.set(fru).is_ok()
    }

    /// Sets the clock SEL timestamps come from (seconds since 1970).
    pub fn set_clock(&self, clock: fn() -> u32) {
        self.clock.set(clock);
    }

    /// The System Event Log as the handler sees it.
    pub fn log(&self) -> &LogShared {
        &self.log
    }

    /// Failed reads of each device of the board since start (any error of a real read, NACKs
    /// included), in the order of the device table the poller was given; empty before it runs.
    pub fn device_errors(&self) -> Vec<u32> {
        self.recovery.borrow().errors().collect()
    }

    /// Store operations that failed since start.
    pub fn store_errors(&self) -> u32 {
        self.store_errors.get()
    }

    /// Whether the store's last operation failed (settings changes are refused meanwhile).
    pub fn store_failing(&self) -> bool {
        self.store_failing.get()
    }

    /// Records the outcome of one store operation, `what` naming it in the log: a failure is
    /// counted and logged, and any success ends the refusal of settings changes.
    fn note(&self, what: &str, ok: bool) {
        if !ok {
            let n = self.store_errors.get().saturating_add(1);
            self.store_errors.set(n);
            wsbmc_log::error!("store: {} failed ({} store errors so far)", what, n);
        }
        self.store_failing.set(!ok);
    }

    /// Read access to the cache, for diagnostics and tests.
    pub fn with_monitor<R>(&self, f: impl FnOnce(&Monitor) -> R) -> R {
        f(&self.monitor.borrow())
    }

    /// Polls every sensor at its interval, forever. The bus transfer happens with no borrow of
    /// the monitor held, so requests are served from the cache while a slow device answers.
    ///
    /// A device that keeps timing out is backed off (see [`wsbmc_monitor::recovery`]), and a
    /// host-powered sensor is not read while the host is off. A board without GPIO inputs
    /// passes [`wsbmc_hal::NoGpio`]: there is no `run_poller` without `gpio`, since a wrapper
    /// future around this one cost the bare-metal image flash for its own state machine.
    pub async fn run_poller_with_gpio<I: I2c, B: IpmiLink, G: GpioInputs>(
        &self,
        devices: &mut [AnyDevice<I, B>],
        gpio: &mut G,
    ) -> ! {
        *self.recovery.borrow_mut() = Recovery::new(devices.len());
        loop {
            let now = now_ms();
            // What to read is decided without awaiting, so the loop has one read site for both
            // kinds of sensor: every await is a state of the task's future, with its own resume
            // and drop code (flash on the bare-metal image).
            let Some((due, poll)) = self.next_poll(devices.len(), gpio, now) else {
                let next = {
                    let m = self.monitor.borrow();
                    let discrete = if cfg!(feature = "discrete") {
                        m.discrete().next_deadline()
                    } else {
                        None
                    };
                    match (m.next_deadline(), discrete) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                };
                match next {
                    Some(at) => Timer::at(Instant::from_millis(at)).await,
                    None => Timer::after_secs(1).await,
                }
                continue;
            };
            let result = match poll {
                Poll::Known(result) => result,
                Poll::Bus {
                    device,
                    channel,
                    scale,
                    states,
                } => match devices.get_mut(usize::from(device)) {
                    // `next_poll` saw the device in the table; kept for the type's sake.
                    None => Err(DeviceError::NoSuchChannel),
                    Some(dev) => {
                        // One await for a reading and a discrete sensor's states alike: each
                        // await is a state of the task's future, with its own resume and drop
                        // code.
                        let r =
                            match with_timeout(READ_TIMEOUT, dev.read_any(channel, scale, states))
                                .await
                            {
                                Ok(r) => r,
                                Err(_) => Err(DeviceError::Timeout),
                            };
                        self.recovery.borrow_mut().observe(device, &r, now_ms());
                        r
                    }
                },
            };
            match due {
                Due::Numeric(id) => self.record(id, result),
                // State bits: a `u16` widened by the read (or the GPIO mapping) above.
                #[cfg(feature = "discrete")]
                Due::Discrete(id) => self.record_discrete(id, result.map(|v| v as u16)),
            }
        }
    }

    /// The sensor due at `now` (discrete ones first) and how to read it: on the bus, or a
    /// result known without it. The rules of both kinds: no bus traffic for an unpowered
    /// sensor (the monitor ignores its result), a backing-off device counts as a timeout.
    fn next_poll<G: GpioInputs>(
        &self,
        devices: usize,
        gpio: &mut G,
        now: u64,
    ) -> Option<(Due, Poll)> {
        let m = self.monitor.borrow();
        let backing_off = |device: u16| self.recovery.borrow().backing_off(device, now);
        #[cfg(feature = "discrete")]
        if let Some(id) = m.discrete().next_due(now) {
            use wsbmc_monitor::DiscreteSource;
            let Some(d) = m.discrete().desc(id) else {
                return Some((
                    Due::Discrete(id),
                    Poll::Known(Err(DeviceError::NoSuchChannel)),
                ));
            };
            let poll = if !(self.host_on() || d.power == wsbmc_monitor::PowerDomain::Always) {
                Poll::Known(Err(DeviceError::Nack))
            } else {
                match d.source {
                    DiscreteSource::Device { device, .. } if usize::from(device) >= devices => {
                        Poll::Known(Err(DeviceError::NoSuchChannel))
                    }
                    DiscreteSource::Device { device, .. } if backing_off(device) => {
                        Poll::Known(Err(DeviceError::Timeout))
                    }
                    DiscreteSource::Device { device, channel } => Poll::Bus {
                        device,
                        channel,
                        scale: 0,
                        states: true,
                    },
                    DiscreteSource::Gpio {
                        line,
                        offset,
                        active_low,
                    } => Poll::Known(gpio.level(line).map(|level| {
                        i32::from(DiscreteSource::gpio_states(offset, active_low, level))
                    })),
                    DiscreteSource::Bmc(_) => Poll::Known(Err(DeviceError::NoSuchChannel)),
                }
            };
            return Some((Due::Discrete(id), poll));
        }
        #[cfg(not(feature = "discrete"))]
        let _ = &gpio;
        let id = m.next_due(now)?;
        let poll = match m.desc(id) {
            Some(d) if usize::from(d.source.device) < devices => {
                if !m.reads_bus(id, self.host_on()) {
                    Poll::Known(Err(DeviceError::Nack))
                } else if backing_off(d.source.device) {
                    Poll::Known(Err(DeviceError::Timeout))
                } else {
                    Poll::Bus {
                        device: d.source.device,
                        channel: d.source.channel,
                        scale: d.scale,
                        states: false,
                    }
                }
            }
            _ => Poll::Known(Err(DeviceError::NoSuchChannel)),
        };
        Some((Due::Numeric(id), poll))
    }

    /// Stores one poll result and sends the threshold edges it caused to the SEL.
    fn record(&self, id: SensorId, result: Result<i32, DeviceError>) {
        let mut monitor = self.monitor.borrow_mut();
        // `id` came from `next_due`, so it is in the table; an error here could only mean the
        // table changed under us, and skipping the sample is right.
        let Ok(recorded) = monitor.record(id, result, now_ms(), self.host_on()) else {
            return;
        };
        let Some((desc, mut window)) = monitor.desc_and_window(id) else {
            return;
        };
        let now = now_ms();
        for event in wsbmc_sel::threshold_events(desc, &recorded) {
            // The kind of a threshold event: its IPMI offset and direction.
            let slot = usize::from(event.data[0] & 0x0F) * 2 + usize::from(event.deassertion);
            if window.allow(slot, now) {
                self.log.send(LogCmd::Event(event));
            } else {
                self.log.count_limited(1);
            }
        }
    }

    #[cfg(feature = "discrete")]
    /// Stores one discrete result and sends the state edges its masks select to the SEL, rate
    /// limited per offset and direction like threshold events.
    fn record_discrete(&self, id: DiscreteId, result: Result<u16, DeviceError>) {
        let mut monitor = self.monitor.borrow_mut();
        let now = now_ms();
        let Some(rec) = monitor.record_discrete(id, result, now, self.host_on()) else {
            return;
        };
        let (events, limited) = allowed_discrete_edges(&mut monitor, id, &rec, now);
        self.log.count_limited(limited);
        for event in events {
            self.log.send(LogCmd::Event(event));
        }
    }

    /// Sets the states of one of the BMC's own sensors. Their SEL records are written where the
    /// change happens (the power task logs host power, the log task the SEL's own events), so
    /// nothing is logged here.
    pub fn set_bmc_sensor(&self, which: BmcSensor, states: u16) {
        if !cfg!(feature = "discrete") {
            return;
        }
        let mut monitor = self.monitor.borrow_mut();
        if let Some(id) = monitor.discrete().find_bmc(which) {
            // The edges are logged by the caller (see above), so the result is not needed.
            monitor.record_discrete(id, Ok(states), now_ms(), self.host_on());
        }
    }

    /// The SEL sensor's states after a change of the log: "SEL Full" (offset 4) at capacity,
    /// "SEL Almost Full" (offset 5) from 75 %, "Log area reset/cleared" (offset 2) once cleared
    /// since start. Returns the full/almost-full edges to log, rate limited.
    #[cfg(feature = "discrete")]
    fn update_event_log_sensor(&self, cleared: bool) -> Vec<wsbmc_sel::Event> {
        let (len, capacity) = self.log.fill();
        let mut monitor = self.monitor.borrow_mut();
        let Some(id) = monitor.discrete().find_bmc(BmcSensor::EventLog) else {
            return Vec::new();
        };
        let old = monitor.discrete().state(id).map_or(0, |s| s.states());
        let mut states = old & (1 << wsbmc_sel::EVENT_LOG_CLEARED);
        if cleared {
            states |= 1 << wsbmc_sel::EVENT_LOG_CLEARED;
        }
        if capacity > 0 && len >= capacity {
            states |= 1 << wsbmc_sel::EVENT_LOG_FULL;
        } else if wsbmc_sel::almost_full(len, capacity) {
            states |= 1 << wsbmc_sel::EVENT_LOG_ALMOST_FULL;
        }
        let now = now_ms();
        let Some(rec) = monitor.record_discrete(id, Ok(states), now, true) else {
            return Vec::new();
        };
        allowed_discrete_edges(&mut monitor, id, &rec, now).0
    }

    fn host_on(&self) -> bool {
        self.host_on.get()
    }

    /// Carries out power requests and follows the host's state, forever. `transitions` is what
    /// the board's power control can do; the CIM capabilities advertise exactly that.
    ///
    /// Each change of the host's rails is logged in the SEL and moves host-powered sensors
    /// between readings and "host off" at once.
    pub async fn run_power<P: HostPower>(
        &self,
        mut host: P,
        transitions: &'static [PowerTransition],
    ) -> ! {
        self.power.transitions.set(transitions);
        let mut last: Option<wsbmc_hal::power::PowerState> = None;
        loop {
            if let Some(request) = self.power.pending.get() {
                // A refusal here (the host started a transition of its own) is not an error
                // of the console's request, which was already answered: log and go on.
                let started = host.request(request).await.is_ok();
                self.power.started.set(started.then_some(request));
                self.power.pending.set(None);
            }
            match host.state() {
                Ok(state) => {
                    if let Some(prev) = last
                        && prev.rails_up() != state.rails_up()
                    {
                        let change = if state.rails_up() {
                            wsbmc_sel::HostPower::On
                        } else {
                            wsbmc_sel::HostPower::Off
                        };
                        self.log
                            .send(LogCmd::Event(wsbmc_sel::host_power(self.log.bmc(), change)));
                    }
                    if last.map(|p| p.rails_up()) != Some(state.rails_up()) {
                        self.set_bmc_sensor(
                            BmcSensor::PowerUnit,
                            u16::from(!state.rails_up()) << wsbmc_sel::power_unit_offset::POWER_OFF,
                        );
                    }
                    last = Some(state);
                    if !state.in_transition() {
                        self.power.started.set(None);
                    }
                    self.power.state.set(Some(state));
                    self.set_host_on(state.rails_up());
                }
                Err(_) => self.power.state.set(None),
            }
            select(self.power.wake.wait(), Timer::after(POWER_POLL)).await;
        }
    }

    /// Owns the store and the SEL, forever: mounts them, restores persisted thresholds, logs the
    /// BMC's start, then carries out the log commands other tasks queue. Flash writes happen
    /// only here, and each runs to completion before the next command is taken.
    ///
    /// If the SEL cannot be mounted the log stays disabled (CIM shows it so) and commands are
    /// drained and dropped, so the rest of the agent keeps working.
    ///
    /// `mounted` is shown the SEL once it is mounted, before anything is added.
    pub async fn run_log<F: MultiwriteNorFlash>(
        &self,
        mut store: Store<F>,
        config: SelConfig,
        mounted: impl FnOnce(&Sel),
    ) -> Never {
        match Sel::mount(&mut store, config).await {
            Ok(sel) => {
                mounted(&sel);
                self.run_mounted_log(store, sel).await
            }
            Err(_) => {
                self.note("SEL mount", false);
                loop {
                    // Events are lost with the log (logged once above); threshold changes
                    // never get here, since `persist_thresholds` refuses them while the log
                    // is off.
                    self.log.receive().await;
                }
            }
        }
    }

    /// [`Self::run_log`] with a log the caller mounted, to look at it first (the std images
    /// log [`Sel::lost`] where the operator reads it), or made ([`Sel::fresh`]: the bare-metal
    /// image, whose store starts blank at every boot, so it links no mount).
    ///
    /// A plain fn around an `async move` block, not an `async fn`: that would move its
    /// arguments into locals of its own, and its future would hold the store and the log twice
    /// (356 B of the bare-metal image's static RAM). The image awaits the future it hands back
    /// directly, with no wrapper state machine around it.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn holds its arguments twice"
    )]
    pub fn run_mounted_log<'a, F: MultiwriteNorFlash + 'a>(
        &'a self,
        mut store: Store<F>,
        mut sel: Sel,
    ) -> impl Future<Output = Never> + 'a {
        async move {
            // Every sensor's stored overrides, found by the sensor's board key (here rather than
            // in an async fn called once, whose future would nest in this one).
            #[cfg(any(feature = "stored", feature = "legacy-overrides"))]
            {
                let count = self.monitor.borrow().sensors().len();
                for i in 0..count {
                    let Ok(index) = u16::try_from(i) else { break };
                    #[cfg(feature = "stored")]
                    self.load_thresholds(&mut store, index).await;
                    #[cfg(feature = "legacy-overrides")]
                    self.drop_legacy_override(&mut store, index).await;
                }
            }
            #[cfg(feature = "accounts-store")]
            {
                let entries = audit::load_names(&mut store).await;
                *self.log.names().borrow_mut() = audit::NameTable::new(entries);
            }
            #[cfg(feature = "eventing")]
            {
                // A bookmark's replay reads the SEL as published.
                self.log.publish(&sel);
                #[cfg(feature = "eventing-store")]
                self.restore_subscriptions(&mut store).await;
            }
            // Records lost from flash (damage, or the file deleted or replaced) are a log area
            // reset the console must see: the SEL's own sensor's "log area reset/cleared" record,
            // stored without a clear mark so the records that survived stay.
            #[cfg(feature = "sel-loss-detection")]
            let lost = sel.lost().is_some();
            #[cfg(not(feature = "sel-loss-detection"))]
            let lost = false;
            // Account changes `wsbmc user` made while the agent was stopped, before "started".
            #[cfg(feature = "accounts-store")]
            self.log_pending_audits(&mut store, &mut sel).await;
            // The boot records, added by the loop's first pass (see there).
            let mut boot = Vec::with_capacity(2);
            if lost {
                boot.push(wsbmc_sel::log_cleared(self.log.bmc()));
            }
            boot.push(wsbmc_sel::bmc_started(self.log.bmc()));
            let mut boot = Some(boot);
            let mut cleared = lost;
            // Failed logins left out of the full log (`audit::crowds_out`), for the warning.
            #[cfg(feature = "accounts")]
            let mut unlogged: u32 = 0;
            // Records since the last checkpoint: a mark every few records bounds how many of the
            // newest could be lost unnoticed, at one map write per CHECKPOINT_EVERY records. It
            // starts due, so the log is marked once it has started, before the first command.
            #[cfg(feature = "sel-loss-detection")]
            let mut since_mark = CHECKPOINT_EVERY;
            loop {
                // After the start and after every command: publish, then the SEL's own sensor
                // follows the log (a log already full at start says so at once); its
                // full/almost-full edges are records too. The first pass adds the boot records
                // instead, and starts again. One add site for both, at the top of the loop so
                // the start and every command share it (each await site costs the bare-metal
                // image flash).
                self.log.publish(&sel);
                let booting = boot.is_some();
                #[cfg(feature = "discrete")]
                let events = match boot.take() {
                    Some(records) => records,
                    None => self.update_event_log_sensor(cleared),
                };
                #[cfg(not(feature = "discrete"))]
                let events = boot.take().unwrap_or_default();
                for event in events {
                    let added = sel.add(&mut store, &event, (self.clock.get())()).await;
                    self.note("SEL write", added.is_ok());
                    self.log.publish(&sel);
                }
                if booting {
                    self.set_bmc_sensor(BmcSensor::SystemEvent, 1 << wsbmc_sel::SYSTEM_EVENT_BOOT);
                    continue;
                }
                // The one checkpoint site (each await site costs the bare-metal image flash).
                #[cfg(feature = "sel-loss-detection")]
                if since_mark >= CHECKPOINT_EVERY {
                    let marked = sel.checkpoint(&mut store).await.is_ok();
                    self.note("SEL mark", marked);
                    if marked {
                        since_mark = 0;
                    }
                }
                let cmd = self.log.receive().await;
                let now = (self.clock.get())();
                // The commands that add an event end the match with it and share one add
                // below (each await site costs the bare-metal image flash); the others are
                // done in their arm. An audit event comes with the names its record has no
                // room for.
                #[cfg_attr(not(feature = "accounts"), allow(clippy::let_unit_value))]
                let (event, names) = match cmd {
                    #[cfg(feature = "accounts")]
                    LogCmd::Event(event) => (event, None),
                    #[cfg(not(feature = "accounts"))]
                    LogCmd::Event(event) => (event, ()),
                    #[cfg(feature = "accounts")]
                    LogCmd::Audit(event, _) if audit::crowds_out(&sel, &event) => {
                        unlogged = unlogged.saturating_add(1);
                        if unlogged.is_power_of_two() {
                            wsbmc_log::warn!(
                                "SEL almost full: {} failed logins not logged, to keep its records and room for other events",
                                unlogged
                            );
                        }
                        continue;
                    }
                    #[cfg(feature = "accounts")]
                    LogCmd::Audit(event, names) => (event, Some(names)),
                    LogCmd::Clear => {
                        let ok = sel.clear(&mut store, now).await.is_ok();
                        self.note("SEL clear", ok);
                        #[cfg(feature = "accounts-store")]
                        if ok {
                            let removed = audit::clear_names(&mut store, self.log.names()).await;
                            self.note("audit name removal", removed);
                        }
                        // Without the store side the table is in RAM only.
                        #[cfg(all(feature = "accounts", not(feature = "accounts-store")))]
                        if ok {
                            self.log.names().borrow_mut().clear();
                        }
                        cleared = ok || cleared;
                        #[cfg(feature = "sel-loss-detection")]
                        {
                            since_mark = CHECKPOINT_EVERY;
                        }
                        continue;
                    }
                    #[cfg(any(feature = "accounts-store", feature = "eventing-store"))]
                    LogCmd::Record(key, value) => {
                        let written = match value {
                            Some(bytes) => store.set(key, &log::Raw(&bytes)).await.is_ok(),
                            None => store.remove(key).await.is_ok(),
                        };
                        self.note("record write", written);
                        continue;
                    }
                    #[cfg(feature = "stored")]
                    LogCmd::Thresholds(sensor, t) => {
                        let written = match self.store_key(sensor) {
                            Some(key) => store.set(key, &t).await.is_ok(),
                            None => false,
                        };
                        self.note("threshold write", written);
                        // A failed write leaves what was stored before (the store's writes are
                        // atomic): the monitor goes back to that, as a restart would read it.
                        if !written {
                            self.load_thresholds(&mut store, sensor).await;
                        }
                        continue;
                    }
                };
                let added = sel.add(&mut store, &event, now).await;
                self.note("SEL write", added.is_ok());
                // The names before the indication, so its CIM_LogRecord carries them. Kept in
                // RAM even if their write failed, so they show until a restart.
                #[cfg(feature = "accounts")]
                if let Some(entry) = names.and_then(|n| audit::added_entry(&sel, &added, &n)) {
                    #[cfg(feature = "accounts-store")]
                    {
                        let stored = audit::store_entry(&mut store, &entry).await.is_ok();
                        self.note("audit name write", stored);
                    }
                    self.log.names().borrow_mut().insert(entry);
                }
                #[cfg(not(feature = "accounts"))]
                let () = names;
                // Subscribers see the record once it is stored (and so replayable).
                #[cfg(feature = "eventing")]
                if let Ok(wsbmc_sel::Added::Stored(id)) = added {
                    self.indicate_stored(&sel, id);
                }
                #[cfg(feature = "sel-loss-detection")]
                if let Ok(wsbmc_sel::Added::Stored(_)) = added {
                    since_mark += 1;
                }
            }
        }
    }

    /// Moves the Session Audit events `wsbmc user` left in the store (`audit::PendingAudit`)
    /// into the SEL, each stamped with the time of its change and with its names, then removes
    /// it. A power cut between the two would log it twice at the next start, so an event
    /// whose record is already among the newest records is only removed.
    #[cfg(feature = "accounts-store")]
    async fn log_pending_audits<F: MultiwriteNorFlash>(&self, store: &mut Store<F>, sel: &mut Sel) {
        for (slot, pending) in audit::load_pending(store).await {
            if let Some(p) = pending {
                let event = session_audit_event(
                    self.log.bmc(),
                    p.sensor_type,
                    p.event_type,
                    p.deassertion,
                    p.data,
                );
                let logged = sel
                    .iter()
                    .rev()
                    .take(usize::from(audit::PENDING_SLOTS))
                    .find(|r| r == &event.record(r.id, p.timestamp));
                let record = match logged {
                    Some(r) => Some(r),
                    None => match sel.add(store, &event, p.timestamp).await {
                        Ok(wsbmc_sel::Added::Stored(id)) => sel.find(id),
                        Ok(_) => None,
                        Err(_) => {
                            // Kept for the next start.
                            self.note("SEL write", false);
                            continue;
                        }
                    },
                };
                if let Some(record) = record {
                    match audit::store_names(store, &record, &p.names).await {
                        Ok(entry) => self.log.names().borrow_mut().insert(entry),
                        Err(_) => self.note("audit name write", false),
                    }
                }
            }
            let removed = store.remove(StoreKey::audit_pending(slot)).await.is_ok();
            self.note("pending audit removal", removed);
        }
    }

    /// Publishes the log and raises the CIM_InstCreation of the record just stored as `id`.
    #[cfg(feature = "eventing")]
    fn indicate_stored(&self, sel: &Sel, id: wsbmc_ipmi::sel::RecordId) {
        self.log.publish(sel);
        events::indicate(
            &self.events,
            &self.log,
            &self.system.system_name,
            id.0,
            now_ms(),
        );
        self.events_wake.signal(());
    }

    /// Firmware before issue 18 kept a sensor's overrides under its index in the board file,
    /// where inserting a sensor moved them onto a neighbour. Such an entry is dropped, with a
    /// warning naming the sensor the index points to now, not migrated: whether the board file
    /// changed since it was written cannot be known, and a limit on the wrong sensor (a
    /// critical threshold silenced on another part) is worse than asking the operator to set
    /// it again. Only indices of the current board are looked at, as the old firmware did;
    /// anything beyond is never read.
    #[cfg(feature = "legacy-overrides")]
    async fn drop_legacy_override<F: MultiwriteNorFlash>(&self, store: &mut Store<F>, index: u16) {
        let Some(old) = StoreKey::threshold_override(index) else {
            return;
        };
        match store.contains(old).await {
            Ok(false) => {}
            Ok(true) => {
                let key = self
                    .monitor
                    .borrow()
                    .desc(SensorId(index))
                    .map(|d| d.key.clone());
                wsbmc_log::warn!(
                    "sensor {}: a threshold override an older firmware kept by table index was \
                     dropped (board edits move indices); set it again if it is still wanted",
                    key.as_deref().unwrap_or("?")
                );
                let removed = store.remove(old).await.is_ok();
                self.note("old override removal", removed);
            }
            Err(_) => self.note("threshold read", false),
        }
    }

    /// Where numeric sensor `sensor`'s settings are stored: under its board key.
    #[cfg(feature = "stored")]
    fn store_key(&self, sensor: u16) -> Option<StoreKey> {
        let m = self.monitor.borrow();
        m.desc(SensorId(sensor)).map(|d| StoreKey::sensor(&d.key))
    }

    /// Logs a Session Audit (sensor type 2Ah) event from the BMC's own Session Audit sensor:
    /// a failed login, a lock or unlock, an account change (the accounts crate's
    /// `sel_event` gives the fields). `false` when the log queue is full (counted).
    /// `names` are kept beside the record (`audit`), since its 16 bytes have no room for them.
    #[cfg(feature = "accounts")]
    pub fn log_session_audit(
        &self,
        sensor_type: u8,
        event_type: u8,
        deassertion: bool,
        data: [u8; 3],
        names: wsbmc_cim::AuditNames,
    ) -> bool {
        let event = session_audit_event(self.log.bmc(), sensor_type, event_type, deassertion, data);
        self.log.send(LogCmd::Audit(event, names))
    }

    /// Queues a store write for the log task, which owns the store: `Some` CBOR bytes under
    /// `key`, or its removal. For the account table's records (issue 15). `false` when the
    /// queue is full (the change then lives until a restart only; it is counted).
    #[cfg(feature = "accounts-store")]
    pub fn persist_record(&self, key: StoreKey, value: Option<Vec<u8>>) -> bool {
        self.log.send(LogCmd::Record(key, value))
    }

    /// Puts sensor `sensor`'s thresholds to what the store holds for it: its stored set, or the
    /// board's defaults when nothing is stored, the store cannot be read (what a restart would
    /// show then too), or the stored set no longer fits the board (the board wins, with a
    /// warning).
    #[cfg(feature = "stored")]
    async fn load_thresholds<F: MultiwriteNorFlash>(&self, store: &mut Store<F>, sensor: u16) {
        let Some(key) = self.store_key(sensor) else {
            return;
        };
        let stored = match store.get::<StoredThresholds>(key).await {
            Ok(t) => t,
            Err(_) => {
                self.note("threshold read", false);
                None
            }
        };
        let id = SensorId(sensor);
        let mut m = self.monitor.borrow_mut();
        let fits = stored.is_some_and(|t| m.set_thresholds(id, Thresholds::from(t)).is_ok());
        if !fits {
            if stored.is_some() {
                wsbmc_log::warn!(
                    "sensor {}: stored thresholds do not fit the board; using its defaults",
                    sensor
                );
            }
            // `id` is from this board's table, so the only error (an unknown sensor) cannot occur.
            m.restore_default_thresholds(id).ok();
        }
    }

    /// Tells the poller whether the host's rails are up (from the platform's `HostPower`). On a
    /// change every host-powered sensor is made due at once, so it moves between HostOff and a
    /// reading within one poll rather than one period.
    pub fn set_host_on(&self, on: bool) {
        if self.host_on.replace(on) != on {
            self.monitor.borrow_mut().host_power_changed(now_ms());
        }
    }
}

/// The SEL event of a Session Audit (sensor type 2Ah) from the BMC's own Session Audit sensor
/// (the accounts crate's `sel_event` gives the fields): for the agent's log task and for
/// `wsbmc user` on a stopped agent's state dir, which write the same record.
#[cfg(feature = "accounts")]
pub fn session_audit_event(
    bmc: &wsbmc_sel::BmcSensors,
    sensor_type: u8,
    event_type: u8,
    deassertion: bool,
    data: [u8; 3],
) -> wsbmc_sel::Event {
    wsbmc_sel::Event {
        generator: bmc.generator,
        sensor_type,
        sensor_number: bmc.session_audit,
        deassertion,
        event_type: wsbmc_ipmi::sel::EventType(event_type),
        data,
    }
}

/// The rest of a streamed Enumerate/Pull response, and who asked for it: each piece is
/// rendered under the same caller as the body, with a fresh view of the model (no borrow of the
/// agent's state outlives a piece, so the poller runs between two of them).
#[cfg(feature = "stream")]
#[derive(Debug)]
pub struct Streamed {
    stream: wsbmc_wsman::ReplyStream,
    #[cfg(feature = "accounts")]
    caller: (String, Option<wsbmc_http::Role>),
}

/// Without `stream` every reply is whole: an uninhabited rest leaves the connection loop's
/// streaming path dead code, and the image links none of it.
#[cfg(not(feature = "stream"))]
pub type Streamed = core::convert::Infallible;

impl Handler for Agent {
    type Rest = Streamed;

    #[cfg(feature = "stream")]
    fn more(
        &self,
        rest: &mut Streamed,
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<bool, wsbmc_http::Unfinished> {
        #[cfg(feature = "accounts")]
        {
            let mut c = self.caller.borrow_mut();
            c.0.clear();
            c.0.push_str(&rest.caller.0);
            c.1 = rest.caller.1;
        }
        let platform = AsPlatform::of(self);
        let model = Model::new(&self.monitor, &self.system, &platform);
        let piece = rest
            .stream
            .pump(&model, out, room)
            .map_err(|_| wsbmc_http::Unfinished);
        #[cfg(feature = "accounts")]
        {
            self.caller.borrow_mut().1 = None;
        }
        piece
    }

    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response<Streamed> {
        let meta = RequestMeta {
            content_type: req.content_type,
            user: req.user,
            now_ms: now_ms(),
            security_profiles: Some(req.profiles),
        };
        #[cfg(feature = "accounts")]
        {
            let mut c = self.caller.borrow_mut();
            c.0.clear();
            c.0.push_str(req.user.unwrap_or_default());
            c.1 = req.user.and(req.role);
        }
        let platform = AsPlatform::of(self);
        let model = Model::new(&self.monitor, &self.system, &platform);
        #[cfg(feature = "eventing")]
        let reply = {
            let backlog = self.backlog();
            let view = self.events.with(&backlog);
            // Authenticated requests are authorized by their role; without one the request was
            // let through unauthenticated and wsman answers Identify only.
            let reply = self
                .wsman
                .borrow_mut()
                .handle_with_events(&model, &view, &meta, req.role, body);
            // A Subscribe (with a bookmark's replay), Renew or Unsubscribe may change what is
            // due; a request that changed nothing costs the delivery task one empty poll.
            if !self.events.table().borrow().is_empty() {
                self.events_wake.signal(());
            }
            self.persist_subscriptions();
            reply
        };
        #[cfg(not(feature = "eventing"))]
        let reply = {
            let mut wsman = self.wsman.borrow_mut();
            // As above.
            match req.role {
                Some(role) => wsman.handle_as(&model, &meta, role, body),
                None => wsman.handle(&model, &meta, body),
            }
        };
        #[cfg(feature = "accounts")]
        {
            self.caller.borrow_mut().1 = None;
        }
        // WS-Man says what kind of answer it wrote; HTTP picks the status line for it.
        let outcome = match reply.kind {
            ReplyKind::Success => Outcome::Served,
            ReplyKind::Identify => Outcome::Identify,
            ReplyKind::Fault => Outcome::Fault,
            ReplyKind::Unauthenticated => Outcome::Unauthenticated,
        };
        Response {
            outcome,
            content_type: reply.content_type,
            body: reply.body,
            #[cfg(not(feature = "stream"))]
            rest: None,
            #[cfg(feature = "stream")]
            rest: reply.stream.map(|stream| Streamed {
                stream,
                #[cfg(feature = "accounts")]
                caller: (
                    String::from(req.user.unwrap_or_default()),
                    req.user.and(req.role),
                ),
            }),
        }
    }
}

/// The agent as the model's [`Platform`]. The model takes a `&dyn Platform`, and a trait
/// object's vtable carries its type's drop glue: with the trait on `Agent` itself, the whole
/// agent's drop was linked into the bare-metal image (456 B of flash) though the agent is never
/// dropped. A reference has no drop glue; `Deref` lets the methods read the agent's fields as
/// their own. The log view is held the same way, as a reference beside the agent: `LogView`
/// is implemented on `&LogShared`, so its vtable carries no drop glue either (92 B, and 90 B
/// more with the audit name table, of code the image never runs).
pub(crate) struct AsPlatform<'a>(&'a Agent, &'a LogShared);

impl<'a> AsPlatform<'a> {
    pub(crate) fn of(agent: &'a Agent) -> Self {
        Self(agent, &agent.log)
    }
}

impl core::ops::Deref for AsPlatform<'_> {
    type Target = Agent;

    fn deref(&self) -> &Agent {
        self.0
    }
}

impl Platform for AsPlatform<'_> {
    fn host_power(&self) -> PowerState {
        use wsbmc_hal::power::PowerState as Hal;
        match self.power.state.get() {
            Some(Hal::On | Hal::PoweringOff | Hal::Resetting) => PowerState::On,
            Some(Hal::Off | Hal::PoweringOn) => PowerState::Off,
            None if self.power.transitions.get().is_empty() => PowerState::On,
            None => PowerState::Unknown,
        }
    }

    fn power_in_progress(&self) -> Option<PowerTransition> {
        use wsbmc_hal::power::PowerState as Hal;
        if let Some(r) = self.power.pending.get() {
            return Some(transition_of(r));
        }
        let state = self.power.state.get()?;
        if state.in_transition()
            && let Some(r) = self.power.started.get()
        {
            return Some(transition_of(r));
        }
        match state {
            Hal::PoweringOn => Some(PowerTransition::On),
            Hal::PoweringOff => Some(PowerTransition::OffSoft),
            Hal::Resetting => Some(PowerTransition::Reset),
            Hal::On | Hal::Off => None,
        }
    }

    fn power_transitions(&self) -> &[PowerTransition] {
        self.power.transitions.get()
    }

    fn request_power(&self, target: PowerTransition) -> RequestOutcome {
        let Some(request) = request_of(target) else {
            return RequestOutcome::Unsupported;
        };
        if !self.power.transitions.get().contains(&target) {
            return RequestOutcome::Unsupported;
        }
        if self.power_in_progress().is_some() {
            return RequestOutcome::Busy;
        }
        self.power.pending.set(Some(request));
        self.power.wake.signal(());
        RequestOutcome::Accepted
    }

    /// Refuses a change while the store is not mounted, its last operation failed, or the log
    /// task's queue is full. The handler cannot wait for flash: a write that fails after the
    /// change was queued is reverted by the log task (the monitor goes back to what the store
    /// holds), counted and logged, and changes are refused from then on until a store
    /// operation succeeds again. Without `stored` nothing is queued, and the same
    /// gate still holds, so a console meets the same refusals on every image.
    fn can_persist(&self) -> Result<(), NotPersisted> {
        if self.log.is_enabled() && !self.store_failing.get() && self.log.has_room() {
            return Ok(());
        }
        wsbmc_log::warn!("a threshold change was refused: the store cannot keep it");
        Err(NotPersisted)
    }

    #[cfg(feature = "stored")]
    fn persist_thresholds(&self, key: &str, thresholds: &Thresholds) {
        let index = self.monitor.borrow().find_key(key);
        if let Some(SensorId(i)) = index {
            // `can_persist` saw room in the queue and nothing has run since (a request is
            // handled synchronously), so this is not refused; were it, `send` counts it.
            self.log
                .send(LogCmd::Thresholds(i, StoredThresholds::from(thresholds)));
        }
    }

    /// The change lives in the monitor until the next start: the store would not keep it
    /// longer (see the `stored` feature).
    #[cfg(not(feature = "stored"))]
    fn persist_thresholds(&self, _: &str, _: &Thresholds) {}

    fn fru(&self) -> Option<&FruView> {
        self.fru.get()
    }

    #[cfg(feature = "software-inventory")]
    fn firmware_count(&self) -> usize {
        self.firmware.borrow().len()
    }

    #[cfg(feature = "ip-interface")]
    fn ip_endpoint_count(&self) -> usize {
        self.ip.borrow().len()
    }

    #[cfg(feature = "ip-interface")]
    fn ip_endpoint(&self, index: usize) -> Option<IpEndpointView> {
        self.ip.borrow().get(index).cloned()
    }

    #[cfg(feature = "software-inventory")]
    fn firmware(&self, index: usize) -> Option<FirmwareView> {
        self.firmware.borrow().get(index).cloned()
    }

    fn discrete_sensor_count(&self) -> usize {
        if !cfg!(feature = "discrete") {
            return 0;
        }
        self.monitor.borrow().discrete().descs().len()
    }

    fn discrete_sensor(&self, index: usize) -> Option<DiscreteSensorView> {
        if !cfg!(feature = "discrete") {
            return None;
        }
        let m = self.monitor.borrow();
        let id = DiscreteId(u16::try_from(index).ok()?);
        let desc = m.discrete().desc(id)?;
        let state = m.discrete().state(id)?;
        Some(wsbmc_cim::sensor::discrete_view(desc, &state.reading))
    }

    fn log(&self) -> Option<&dyn LogView> {
        Some(&self.1)
    }

    #[cfg(feature = "accounts")]
    fn accounts(&self) -> Option<&dyn wsbmc_cim::Accounts> {
        self.accounts.get().map(|a| &**a)
    }

    #[cfg(feature = "subscription-classes")]
    fn subscription_count(&self) -> usize {
        self.events.table().try_borrow().map_or(0, |t| {
            events::live(&t, now_ms())
                .filter(|s| self.sees_subscription(s))
                .count()
        })
    }

    #[cfg(feature = "subscription-classes")]
    fn subscription(&self, index: usize) -> Option<wsbmc_cim::subscription::SubscriptionView> {
        let now = now_ms();
        let table = self.events.table().try_borrow().ok()?;
        let sub = events::live(&table, now)
            .filter(|s| self.sees_subscription(s))
            .nth(index)?;
        Some(events::subscription_view(sub, now))
    }

    /// The caller must see it ([`Agent::sees_subscription`]), as for the instance it deleted.
    /// The store forgets it and the delivery task stops after the request, as after an
    /// Unsubscribe (`handle` syncs both after every WS-Man request).
    #[cfg(feature = "subscription-classes")]
    fn end_subscription(&self, id: &str) -> bool {
        let Ok(mut table) = self.events.table().try_borrow_mut() else {
            return false;
        };
        let now = now_ms();
        let visible = events::live(&table, now).any(|s| s.id == id && self.sees_subscription(s));
        visible && table.remove(id).is_some()
    }

    fn clear_log(&self) -> ClearOutcome {
        if !self.log.is_enabled() {
            return ClearOutcome::Unsupported;
        }
        if self.log.send(LogCmd::Clear) {
            self.log.clear_now();
            ClearOutcome::Cleared
        } else {
            ClearOutcome::Failed
        }
    }
}

/// The state edges of discrete update `rec` that the per-offset rate limit lets through, and
/// how many it kept out. One collect for both places that log them (a poll's and the SEL
/// sensor's), where each had its own.
#[cfg(feature = "discrete")]
fn allowed_discrete_edges(
    monitor: &mut Monitor,
    id: DiscreteId,
    rec: &wsbmc_monitor::DiscreteRecorded,
    now: u64,
) -> (Vec<wsbmc_sel::Event>, usize) {
    let Some(desc) = monitor.discrete().desc(id) else {
        return (Vec::new(), 0);
    };
    let mut events = Vec::new();
    for e in wsbmc_sel::discrete_events(desc, rec) {
        events.push(e);
    }
    let all = events.len();
    events.retain(|e| monitor.allow_discrete_event(id, e.data[0], e.deassertion, now));
    let limited = all - events.len();
    (events, limited)
}

/// The HostPower request that carries out a CIM transition. A hard off must not depend on the
/// OS (a console uses it on a host that ignores the soft one), so it is the forced off.
fn request_of(t: PowerTransition) -> Option<PowerRequest> {
    match t {
        PowerTransition::On => Some(PowerRequest::On),
        PowerTransition::OffHard => Some(PowerRequest::ForceOff),
        PowerTransition::OffSoft => Some(PowerRequest::Off),
        PowerTransition::Cycle => Some(PowerRequest::Cycle),
        PowerTransition::Reset => Some(PowerRequest::Reset),
        PowerTransition::DiagnosticInterrupt => None,
    }
}

fn transition_of(r: PowerRequest) -> PowerTransition {
    match r {
        PowerRequest::On => PowerTransition::On,
        PowerRequest::Off => PowerTransition::OffSoft,
        PowerRequest::ForceOff => PowerTransition::OffHard,
        PowerRequest::Cycle => PowerTransition::Cycle,
        PowerRequest::Reset => PowerTransition::Reset,
    }
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
}

/// Seconds since start, the SEL's clock until a platform sets a real one.
fn uptime_secs() -> u32 {
    u32::try_from(Instant::now().as_secs()).unwrap_or(u32::MAX)
}

/// Builds the device table of a board from `(model, bus handle, address)` triples.
pub fn devices<I: I2c>(
    table: impl IntoIterator<Item = (wsbmc_hal::DeviceModel, I, u8)>,
) -> Vec<AnyDevice<I>> {
    table
        .into_iter()
        .map(|(model, bus, address)| AnyDevice::new(model, bus, address))
        .collect()
}

#[cfg(test)]
mod store_tests;

#[cfg(test)]
mod tests {
    use super::*;
    // The std images' embassy-time driver: these tests run the timers outside embassy-executor.
    use wsbmc_time_std as _;

    #[test]
    fn every_transition_maps_to_its_own_request_and_back() {
        for t in PowerTransition::ALL {
            match request_of(t) {
                Some(r) => assert_eq!(transition_of(r), t, "{t:?}"),
                None => assert_eq!(t, PowerTransition::DiagnosticInterrupt),
            }
        }
        // The hard off must not be left to the OS.
        assert_eq!(
            request_of(PowerTransition::OffHard),
            Some(PowerRequest::ForceOff)
        );
        assert_eq!(
            request_of(PowerTransition::OffSoft),
            Some(PowerRequest::Off)
        );
    }
}

#[cfg(all(test, feature = "accounts"))]
mod accounts_tests;
