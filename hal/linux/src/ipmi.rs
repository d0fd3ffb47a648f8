//! IPMI through the kernel's message handler (`/dev/ipmiN`), with ipmi-rs's `File` as the
//! transport.
//!
//! Any system interface driver registers with the handler: `ipmi-ipmb` (one satellite on an
//! IPMB, which then answers as "the BMC" of the interface), KCS or SSIF. The kernel does the
//! framing, sequence numbers and retries, so this is a message-level [`IpmiLink`], not an
//! [`wsbmc_hal::Ipmb`] transport. A request goes either to the interface's own controller or,
//! bridged by that controller, to an IPMB address on one of its channels.
//!
//! Only ipmi-rs's transport is used (its `IpmiConnection` for `File`: two ioctls and a poll).
//! Its SDR decoding has known bugs and a panic on short records (reference/crates.md §1.1);
//! records are decoded by the satellite driver instead.
//!
//! The transport blocks: `send` is an ioctl, `recv` a `poll()` and an ioctl, and the file
//! descriptor is private to `File`, so it cannot be registered with tokio's reactor the way
//! [`crate::DevIpmb`] registers `/dev/ipmb-N`. Each exchange runs on tokio's blocking pool
//! instead, bounded by the wait given at open; the executor only awaits its completion, itself
//! under a timeout. A response that arrives after its request gave up stays queued in the
//! kernel and would be mistaken for the next request's answer, so every exchange skips
//! responses that are not to its own request (ipmi-rs matches the message ID).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipmi_rs::connection::{
    Address, Channel, IpmiConnection, LogicalUnit, Message, Request, RequestTargetAddress, Response,
};
use wsbmc_hal::ipmb::{IpmiLink, RequestError, Requester};
use wsbmc_ipmi::ipmb::cc;

use crate::DevIpmb;

/// How long one request waits for its response by default. A KCS or SSIF BMC answers in
/// milliseconds and `ipmi-ipmb` gives a satellite about 250 ms; the agent's poller abandons a
/// read after 500 ms, and a request can overrun its wait by up to one more wait while skipping
/// stale responses (see [`exchange`]), so this stays below half of that.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(240);
/// Largest request data the kernel takes (`IPMI_MAX_MSG_LENGTH` is 272 with netFn and cmd).
const MAX_DATA: usize = 255;
/// Stale responses skipped per request at most, so a flood cannot hold the blocking thread.
const MAX_STALE: usize = 8;

/// Kernel completion codes for a bridged request that never got through (include/uapi/linux/ipmi_msgdefs.h).
const LOST_ARBITRATION: u8 = 0x81;
const BUS_ERROR: u8 = 0x82;
const NAK_ON_WRITE: u8 = 0x83;

/// Where the requests of one [`DevIpmi`] go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpmiTarget {
    /// The controller behind the system interface itself (with `ipmi-ipmb`, the satellite).
    Interface,
    /// Bridged by that controller onto IPMB channel `n` (0 is the primary IPMB) to the
    /// requester's slave address.
    Bridged(u8),
}

/// One handle on `/dev/ipmiN`.
pub struct DevIpmi {
    file: Arc<Mutex<ipmi_rs::File>>,
    target: IpmiTarget,
    wait: Duration,
}

impl DevIpmi {
    /// Opens `path` (e.g. `/dev/ipmi0`); requests go to `target` and wait `wait` at most.
    pub fn open(path: &str, target: IpmiTarget, wait: Duration) -> io::Result<Self> {
        if let IpmiTarget::Bridged(n) = target
            && Channel::new(n).is_none()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("IPMB channel {n} is not a channel number"),
            ));
        }
        let file = ipmi_rs::File::new(path, wait)?;
        Ok(DevIpmi {
            file: Arc::new(Mutex::new(file)),
            target,
            wait,
        })
    }
}

impl IpmiLink for DevIpmi {
    async fn request(
        &mut self,
        rs_sa: u8,
        net_fn: u8,
        lun: u8,
        cmd: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError> {
        if data.len() > MAX_DATA {
            return Err(RequestError::Size);
        }
        let lun = LogicalUnit::from_low_bits(lun);
        let target = match self.target {
            IpmiTarget::Interface => RequestTargetAddress::Bmc(lun),
            IpmiTarget::Bridged(n) => RequestTargetAddress::BmcOrIpmb(
                Address(rs_sa),
                Channel::new(n).ok_or(RequestError::Size)?,
                lun,
            ),
        };
        let mut request = Request::new(Message::new_raw(net_fn, cmd, data.to_vec()), target);
        let file = self.file.clone();
        let wait = self.wait;
        let job = tokio::task::spawn_blocking(move || {
            // A panic elsewhere while holding the lock leaves the file itself usable.
            let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
            exchange(&mut *file, &mut request, wait)
        });
        // The blocking side is bounded by `wait` (plus one more while skipping stale
        // responses); this outer bound only guards against the pool being starved.
        let response = match tokio::time::timeout(wait * 3, job).await {
            Ok(Ok(r)) => r?,
            Ok(Err(_join)) => return Err(RequestError::Bus),
            Err(_elapsed) => return Err(RequestError::Timeout),
        };
        copy_response(&response, out)
    }
}

/// Sends `request` and waits for its own response, skipping stale ones, for about `wait`.
fn exchange<C>(
    conn: &mut C,
    request: &mut Request,
    wait: Duration,
) -> Result<Response, RequestError>
where
    C: IpmiConnection<SendError = io::Error, RecvError = io::Error>,
{
    let deadline = Instant::now() + wait;
    let (net_fn, cmd) = (request.netfn_raw(), request.cmd());
    conn.send(request).map_err(|e| send_error(&e))?;
    for _ in 0..=MAX_STALE {
        match conn.recv() {
            Ok(r) if r.netfn_raw() == (net_fn | 1) && r.cmd() == cmd => return Ok(r),
            // Another command's response under our message ID cannot happen with one
            // request in flight per handle; treat it like a stale one.
            Ok(_) => {}
            // poll() found nothing within the wait.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Err(RequestError::Timeout),
            // A response to an earlier, abandoned request (ipmi-rs reports the message ID
            // mismatch as an error), or something that is not a response: skip it.
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            break;
        }
    }
    Err(RequestError::Timeout)
}

fn send_error(e: &io::Error) -> RequestError {
    match e.raw_os_error() {
        // The message does not fit, or the address is not one the handler knows.
        Some(libc::EMSGSIZE) => RequestError::Size,
        _ => RequestError::Bus,
    }
}

/// The response data after the completion code, or the completion code as the error, with the
/// kernel's own codes for undeliverable bridged requests turned into transport errors.
fn copy_response(r: &Response, out: &mut [u8]) -> Result<usize, RequestError> {
    match r.cc() {
        cc::OK => {
            let data = r.data();
            out.get_mut(..data.len())
                .ok_or(RequestError::Size)?
                .copy_from_slice(data);
            Ok(data.len())
        }
        cc::TIMEOUT => Err(RequestError::Timeout),
        NAK_ON_WRITE => Err(RequestError::Nack),
        LOST_ARBITRATION | BUS_ERROR => Err(RequestError::Bus),
        code => Err(RequestError::Completion(code)),
    }
}

/// The link a satellite has on the Linux HAL: frames on `/dev/ipmb-N`, or messages through
/// `/dev/ipmiN`.
pub enum LinuxLink {
    Ipmb(Requester<DevIpmb>),
    Ipmi(DevIpmi),
}

impl LinuxLink {
    pub fn ipmb(dev: DevIpmb) -> Self {
        LinuxLink::Ipmb(Requester::new(dev))
    }
}

impl IpmiLink for LinuxLink {
    async fn request(
        &mut self,
        rs_sa: u8,
        net_fn: u8,
        lun: u8,
        cmd: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError> {
        match self {
            LinuxLink::Ipmb(r) => r.request(rs_sa, net_fn, lun, cmd, data, out).await,
            LinuxLink::Ipmi(d) => d.request(rs_sa, net_fn, lun, cmd, data, out).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// A scripted connection: each `recv` pops the next outcome.
    struct Script {
        sent: Vec<(u8, u8, Vec<u8>)>,
        replies: VecDeque<io::Result<Response>>,
        send_error: Option<i32>,
    }

    impl IpmiConnection for Script {
        type SendError = io::Error;
        type RecvError = io::Error;
        type Error = io::Error;

        fn send(&mut self, request: &mut Request) -> io::Result<()> {
            if let Some(errno) = self.send_error {
                return Err(io::Error::from_raw_os_error(errno));
            }
            self.sent
                .push((request.netfn_raw(), request.cmd(), request.data().to_vec()));
            Ok(())
        }

        fn recv(&mut self) -> io::Result<Response> {
            self.replies
                .pop_front()
                .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()))
        }

        fn send_recv(&mut self, request: &mut Request) -> io::Result<Response> {
            self.send(request)?;
            self.recv()
        }
    }

    fn resp(net_fn: u8, cmd: u8, body: &[u8]) -> io::Result<Response> {
        Response::new(Message::new_raw(net_fn, cmd, body.to_vec()), 0)
            .ok_or_else(|| io::Error::other("empty"))
    }

    fn script(replies: Vec<io::Result<Response>>) -> Script {
        Script {
            sent: vec![],
            replies: replies.into(),
            send_error: None,
        }
    }

    fn reading_request() -> Request {
        Request::new(
            Message::new_raw(0x04, 0x2D, vec![0x10]),
            RequestTargetAddress::Bmc(LogicalUnit::Zero),
        )
    }

    fn run(s: &mut Script) -> Result<Vec<u8>, RequestError> {
        let r = exchange(s, &mut reading_request(), Duration::from_millis(200))?;
        let mut out = [0u8; 8];
        let n = copy_response(&r, &mut out)?;
        Ok(out[..n].to_vec())
    }

    #[test]
    fn response_data_after_completion_code() {
        let mut s = script(vec![resp(0x05, 0x2D, &[0, 25, 0xC0, 0])]);
        assert_eq!(run(&mut s), Ok(vec![25, 0xC0, 0]));
        assert_eq!(s.sent, vec![(0x04, 0x2D, vec![0x10])]);
    }

    #[test]
    fn stale_responses_are_skipped() {
        let mut s = script(vec![
            Err(io::Error::other("Invalid sequence number on response")),
            resp(0x0B, 0x23, &[0, 1, 2]),
            resp(0x05, 0x2D, &[0, 7, 0xC0]),
        ]);
        assert_eq!(run(&mut s), Ok(vec![7, 0xC0]));
        // Nothing but stale ones: bounded, then a timeout.
        let mut s = script(
            (0..2 * MAX_STALE)
                .map(|_| Err(io::Error::other("stale")))
                .collect(),
        );
        assert_eq!(run(&mut s), Err(RequestError::Timeout));
        assert!(s.replies.len() >= MAX_STALE - 1);
    }

    #[test]
    fn silence_and_errors_map_to_request_errors() {
        assert_eq!(run(&mut script(vec![])), Err(RequestError::Timeout));
        let table: &[(u8, RequestError)] = &[
            (cc::TIMEOUT, RequestError::Timeout),
            (NAK_ON_WRITE, RequestError::Nack),
            (BUS_ERROR, RequestError::Bus),
            (LOST_ARBITRATION, RequestError::Bus),
            (cc::NOT_PRESENT, RequestError::Completion(cc::NOT_PRESENT)),
            (
                cc::INVALID_COMMAND,
                RequestError::Completion(cc::INVALID_COMMAND),
            ),
        ];
        for (code, want) in table {
            let mut s = script(vec![resp(0x05, 0x2D, &[*code])]);
            assert_eq!(run(&mut s), Err(*want), "cc {code:#x}");
        }
        let mut s = script(vec![]);
        s.send_error = Some(libc::EMSGSIZE);
        assert_eq!(run(&mut s), Err(RequestError::Size));
        s.send_error = Some(libc::EINVAL);
        assert_eq!(run(&mut s), Err(RequestError::Bus));
    }

    #[test]
    fn response_larger_than_buffer() {
        let mut s = script(vec![resp(0x05, 0x2D, &[0; 12])]);
        assert_eq!(run(&mut s), Err(RequestError::Size));
    }

    #[test]
    fn open_refuses_bad_channel_and_missing_device() {
        let bad = DevIpmi::open("/dev/null", IpmiTarget::Bridged(0x0C), DEFAULT_WAIT);
        assert!(bad.is_err());
        let missing = DevIpmi::open("/nonexistent/ipmi0", IpmiTarget::Interface, DEFAULT_WAIT);
        assert!(missing.is_err());
    }
}
