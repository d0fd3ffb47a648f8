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

use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

use embassy_time::{Duration, Instant, Timer, with_timeout};
use embedded_hal_async::i2c::I2c;
use wsbmc_cim::{Model, Platform, PowerState, PowerTransition, RequestOutcome, SystemInfo};
use wsbmc_hal::{AnyDevice, DeviceError, Ipmb};
use wsbmc_http::{Handler, Request, Response};
use wsbmc_monitor::{Monitor, PowerDomain, Recovery, Thresholds};
use wsbmc_wsman::{Limits, RequestMeta, Service};

/// Longest a single device read may take. SMBus caps clock stretching at 35 ms per transfer, so a
/// read still pending after this is a stuck bus, reported as a timeout rather than waited on.
const READ_TIMEOUT: Duration = Duration::from_millis(500);

/// The state shared by the poller and every connection.
pub struct Agent {
    monitor: RefCell<Monitor>,
    wsman: RefCell<Service>,
    system: SystemInfo,
    /// Whether host-powered sensors have power, as the platform's HostPower last reported.
    /// Starts true so a platform without power control reads every sensor.
    host_on: Cell<bool>,
    platform: BasePlatform,
}

/// The platform of a board without power control, SEL or FRU wiring yet: the host is taken to
/// be on (as the poller's `host_on` starts), every power request is refused as not supported,
/// and threshold changes live until restart.
#[derive(Debug, Default)]
pub struct BasePlatform;

impl Platform for BasePlatform {
    fn host_power(&self) -> PowerState {
        PowerState::On
    }

    fn power_transitions(&self) -> &[PowerTransition] {
        &[]
    }

    fn request_power(&self, _target: PowerTransition) -> RequestOutcome {
        RequestOutcome::Unsupported
    }

    fn persist_thresholds(&self, _key: &str, _thresholds: &Thresholds) {}
}

impl Agent {
    /// `seed` must come from real entropy in production: it keys enumeration-context tokens.
    pub fn new(monitor: Monitor, system: SystemInfo, limits: Limits, seed: u64) -> Self {
        Self {
            monitor: RefCell::new(monitor),
            wsman: RefCell::new(Service::new(limits, seed)),
            system,
            host_on: Cell::new(true),
            platform: BasePlatform,
        }
    }

    /// Read access to the cache, for diagnostics and tests.
    pub fn with_monitor<R>(&self, f: impl FnOnce(&Monitor) -> R) -> R {
        f(&self.monitor.borrow())
    }

    /// Polls every sensor at its interval, forever. The bus transfer happens with no borrow of
    /// the monitor held, so requests are served from the cache while a slow device answers.
    ///
    /// A device that keeps timing out is backed off (see [`wsbmc_monitor::recovery`]), and a
    /// host-powered sensor is not read while the host is off.
    pub async fn run_poller<I: I2c, B: Ipmb>(&self, devices: &mut [AnyDevice<I, B>]) -> ! {
        let mut recovery = Recovery::new(devices.len());
        loop {
            let now = now_ms();
            let due = self.monitor.borrow().next_due(now);
            match due {
                Some(id) => {
                    let (source, scale, reads_bus) = {
                        let m = self.monitor.borrow();
                        let d = m.desc(id);
                        (
                            d.map(|d| d.source),
                            d.map_or(0, |d| d.scale),
                            m.reads_bus(id, self.host_on()),
                        )
                    };
                    let result = match source.and_then(|s| {
                        devices
                            .get_mut(usize::from(s.device))
                            .map(|d| (d, s.device, s.channel))
                    }) {
                        // The monitor ignores the result of an unpowered sensor.
                        Some(_) if !reads_bus => Err(DeviceError::Nack),
                        Some((_, index, _)) if recovery.backing_off(index, now) => {
                            Err(DeviceError::Timeout)
                        }
                        Some((device, index, channel)) => {
                            let r = match with_timeout(
                                READ_TIMEOUT,
                                device.read_scaled(channel, scale),
                            )
                            .await
                            {
                                Ok(r) => r,
                                Err(_) => Err(DeviceError::Timeout),
                            };
                            recovery.observe(index, &r, now_ms());
                            r
                        }
                        None => Err(DeviceError::NoSuchChannel),
                    };
                    // `id` came from `next_due`, so it is in the table; an error here could
                    // only mean the table changed under us, and skipping the sample is right.
                    let _ = self
                        .monitor
                        .borrow_mut()
                        .record(id, result, now_ms(), self.host_on());
                }
                None => {
                    let next = self.monitor.borrow().next_deadline();
                    match next {
                        Some(at) => Timer::at(Instant::from_millis(at)).await,
                        None => Timer::after_secs(1).await,
                    }
                }
            }
        }
    }

    fn host_on(&self) -> bool {
        self.host_on.get()
    }

    /// Tells the poller whether the host's rails are up (from the platform's `HostPower`). On a
    /// change every host-powered sensor is made due at once, so it moves between HostOff and a
    /// reading within one poll rather than one period.
    pub fn set_host_on(&self, on: bool) {
        if self.host_on.replace(on) != on {
            self.monitor
                .borrow_mut()
                .mark_due(PowerDomain::HostOn, now_ms());
        }
    }
}

impl Handler for Agent {
    fn handle(&self, req: &Request<'_>, body: &[u8]) -> Response {
        let meta = RequestMeta {
            content_type: req.content_type,
            user: req.user,
            now_ms: now_ms(),
        };
        let model = Model::new(&self.monitor, &self.system, &self.platform);
        let reply = self.wsman.borrow_mut().handle(&model, &meta, body);
        Response {
            status: reply.status,
            content_type: reply.content_type,
            body: reply.body,
        }
    }
}

fn now_ms() -> u64 {
    Instant::now().as_millis()
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
