//! The simulation's control channel: a local Unix socket the `wsbmc sim ...` subcommand (or a
//! test) uses to pin sensor values, inject device faults, pull devices and drive the host's
//! power, while the agent runs.
//!
//! Protocol: the client connects, writes one request line of at most
//! [`MAX_REQUEST`](crate::control_line::MAX_REQUEST) bytes
//! (words separated by spaces, e.g. `fault fan_ctl timeout`), and reads the reply until EOF. The
//! reply's first line is `ok` or `error: <message>`; `status` adds one line per item. One
//! request per connection keeps the server free of framing state, and the bound keeps a
//! misbehaving client from making the agent buffer without limit.
//!
//! The socket is created mode 0600: whoever can write to it can make the BMC report anything.

use std::fmt::Write as _;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use log::{info, warn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use wsbmc_agent::Agent;
use wsbmc_board::Board;

pub use crate::control_line::Command;
use crate::control_line::LineReader;
use crate::sim::Sim;

/// A client that has not sent its line by then is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest reply the client accepts: `status` on a large board is a few KiB.
const MAX_REPLY: u64 = 256 * 1024;

/// What the control channel acts on.
pub struct Target {
    pub board: Board,
    pub sim: Sim,
    pub agent: Rc<Agent>,
}

impl Target {
    fn device(&self, name: &str) -> Result<(&wsbmc_board::Device, &str), String> {
        let d = self
            .board
            .devices
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| format!("no device {name:?}"))?;
        let bus = self
            .board
            .buses
            .get(usize::from(d.bus))
            .map(|b| b.name.as_str())
            .ok_or_else(|| format!("device {name:?} has no bus"))?;
        Ok((d, bus))
    }

    /// (bus, address, channel, scale) of a sensor key.
    fn sensor(&self, key: &str) -> Result<(&str, u8, u8, i8), String> {
        let s = self
            .board
            .sensors
            .iter()
            .find(|s| s.key == key)
            .ok_or_else(|| format!("no sensor {key:?}"))?;
        let d = self
            .board
            .devices
            .get(usize::from(s.source.device))
            .ok_or_else(|| format!("sensor {key:?} has no device"))?;
        let (_, bus) = self.device(&d.name)?;
        Ok((bus, d.address, s.source.channel, s.scale))
    }

    /// Carries out one command; the reply body after `ok`.
    pub fn execute(&self, cmd: &Command) -> Result<String, String> {
        let sim = &self.sim.board;
        match cmd {
            Command::Set { key, value } => {
                let (bus, addr, ch, scale) = self.sensor(key)?;
                let v = wsbmc_board::scale_decimal(value, scale).ok_or_else(|| {
                    format!(
                        "{value:?} is not a number that fits the sensor (human units, e.g. 42.5)"
                    )
                })?;
                sim.set_override(bus, addr, ch, Some(v))
                    .map_err(|e| e.to_string())?;
                info!("control: {key} pinned to {value}");
                Ok(String::new())
            }
            Command::Clear { key } => {
                let (bus, addr, ch, _) = self.sensor(key)?;
                sim.set_override(bus, addr, ch, None)
                    .map_err(|e| e.to_string())?;
                info!("control: {key} back to its waveform");
                Ok(String::new())
            }
            Command::Fault { device, fault } => {
                let (d, bus) = self.device(device)?;
                sim.set_fault(bus, d.address, *fault)
                    .map_err(|e| e.to_string())?;
                info!(
                    "control: fault {} on {device}",
                    fault.map_or("none", |f| f.name())
                );
                Ok(String::new())
            }
            Command::Remove { device } | Command::Insert { device } => {
                let present = matches!(cmd, Command::Insert { .. });
                let (d, bus) = self.device(device)?;
                sim.set_present(bus, d.address, present)
                    .map_err(|e| e.to_string())?;
                info!(
                    "control: {device} {}",
                    if present { "inserted" } else { "removed" }
                );
                Ok(String::new())
            }
            Command::Host { request } => {
                self.sim.host.start(*request).map_err(|e| match e {
                    wsbmc_hal::PowerError::Busy(s) => {
                        format!("host is {}: try again when it has finished", s.name())
                    }
                    other => format!("{other:?}"),
                })?;
                info!("control: host {}", request.name());
                Ok(String::new())
            }
            // Needs to wait on the log queue: carried out by `fill_sel` from `serve`.
            Command::SelFill { .. } => Err("sel fill is served asynchronously".into()),
            Command::Psu { device, condition } => {
                let (d, bus) = self.device(device)?;
                sim.set_psu_condition(bus, d.address, *condition)
                    .map_err(|e| e.to_string())?;
                info!("control: {device} status {}", condition.name());
                Ok(String::new())
            }
            Command::Gpio { line, high } => {
                if !sim.set_gpio(line, *high) {
                    return Err(self.no_line(line));
                }
                info!(
                    "control: gpio {line} {}",
                    if *high { "high" } else { "low" }
                );
                Ok(String::new())
            }
            Command::GpioFault { line, fault } => {
                if !sim.set_gpio_fault(line, *fault) {
                    return Err(self.no_line(line));
                }
                info!(
                    "control: gpio {line} fault {}",
                    fault.map_or("none", |f| f.name())
                );
                Ok(String::new())
            }
            Command::Status => Ok(self.status()),
        }
    }

    /// Queues `count` events for the log task, waiting whenever its queue is full, so a large
    /// fill neither drops events nor grows memory.
    async fn fill_sel(&self, count: u16) -> String {
        let bmc = *self.agent.log().bmc();
        let event = wsbmc_sel::Event {
            generator: bmc.generator,
            sensor_type: 0x12,
            sensor_number: bmc.system_event,
            deassertion: false,
            event_type: wsbmc_ipmi::sel::EventType::SENSOR_SPECIFIC,
            // System Event offset 00h, "System Reconfigured"; no event data.
            data: [0x00, 0xFF, 0xFF],
        };
        for _ in 0..count {
            self.agent
                .log()
                .send_wait(wsbmc_agent::log::LogCmd::Event(event))
                .await;
        }
        info!("control: {count} events queued for the SEL");
        String::new()
    }

    fn no_line(&self, line: &str) -> String {
        let names: Vec<String> = self
            .board
            .gpio_inputs
            .iter()
            .map(|g| g.sim_name())
            .collect();
        format!("no gpio line {line:?} (lines: {})", names.join(", "))
    }

    fn status(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "host {}", self.sim.host.power_state().name());
        // Failed reads per device (the poller's table is the board's device table, in order)
        // and summed per bus: a bus whose every device fails is the bus, not the parts.
        let errors = self.agent.device_errors();
        let mut bus_errors = vec![0u32; self.board.buses.len()];
        for (i, d) in self.board.devices.iter().enumerate() {
            let n = errors.get(i).copied().unwrap_or(0);
            if let Some(sum) = bus_errors.get_mut(usize::from(d.bus)) {
                *sum = sum.saturating_add(n);
            }
            let Ok((_, bus)) = self.device(&d.name) else {
                continue;
            };
            let present = self.sim.board.present(bus, d.address).unwrap_or(false);
            let fault = self.sim.board.fault(bus, d.address).ok().flatten();
            let _ = writeln!(
                out,
                "device {} {} {bus} 0x{:02x} {} fault={} errors={n}",
                d.name,
                d.model.name(),
                d.address,
                if present { "present" } else { "removed" },
                fault.map_or("none", |f| f.name())
            );
        }
        for (bus, n) in self.board.buses.iter().zip(&bus_errors) {
            let _ = writeln!(out, "bus {} errors={n}", bus.name);
        }
        let _ = writeln!(
            out,
            "store errors={} {}",
            self.agent.store_errors(),
            if self.agent.store_failing() {
                "failing"
            } else {
                "ok"
            }
        );
        self.agent.with_monitor(|m| {
            for (desc, state) in m.sensors().iter().zip(m.states()) {
                let reading = match state.reading {
                    wsbmc_monitor::Reading::Value(v) => format!("{v}e{}", desc.scale),
                    wsbmc_monitor::Reading::NoData(n) => format!("{n:?}"),
                };
                let _ = writeln!(out, "sensor {} {reading}", desc.key);
            }
            let d = m.discrete();
            for (desc, state) in d.descs().iter().zip(d.states()) {
                let reading = match state.reading {
                    wsbmc_monitor::DiscreteReading::States(s) => format!("states=0x{s:04x}"),
                    wsbmc_monitor::DiscreteReading::NoData(n) => format!("{n:?}"),
                };
                let _ = writeln!(out, "discrete {} {reading}", desc.key);
            }
        });
        for (line, high) in self.sim.board.gpio_lines() {
            let _ = writeln!(out, "gpio {line} {}", if high { "high" } else { "low" });
        }
        out
    }
}

/// Binds the socket at `path` with mode 0600. A stale socket from an earlier run is replaced;
/// any other file there is left alone and is an error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            // Only a socket nobody listens on is left over from an agent that died; a live
            // one belongs to a running agent, which must keep its control channel.
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "{} is the control socket of a running agent",
                            path.display()
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("{} exists and cannot be checked: {e}", path.display()),
                    ));
                }
            }
            std::fs::remove_file(path)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves control requests forever, one at a time: each is a few microseconds of work.
pub async fn serve(listener: UnixListener, target: Rc<Target>) {
    loop {
        let mut stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                warn!("control: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, read_line(&mut stream)).await {
            Ok(Ok(line)) => match Command::parse(&line) {
                Ok(Command::SelFill { count }) => format!("ok\n{}", target.fill_sel(count).await),
                Ok(c) => match target.execute(&c) {
                    Ok(body) => format!("ok\n{body}"),
                    Err(e) => format!("error: {e}\n"),
                },
                Err(e) => format!("error: {e}\n"),
            },
            Ok(Err(e)) => format!("error: {e}\n"),
            Err(_) => "error: request timed out\n".to_string(),
        };
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

/// One line, bounded ([`LineReader`]): the client may close after it or not.
async fn read_line(stream: &mut UnixStream) -> Result<String, String> {
    let mut reader = LineReader::new();
    let mut chunk = [0u8; 128];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if let Some(line) = reader.push(&chunk[..n]) {
            return line;
        }
    }
}

/// The client side: sends `cmd` to the agent at `path`, returns the reply body or the error.
pub fn request(path: &PathBuf, cmd: &Command) -> Result<String, String> {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let mut s = UnixStream::connect(path)
        .map_err(|e| format!("cannot reach the agent at {}: {e}", path.display()))?;
    let _ = s.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = s.set_write_timeout(Some(REQUEST_TIMEOUT));
    s.write_all(format!("{}\n", cmd.to_line()).as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    crate::account_socket::read_reply(s, MAX_REPLY)
}
