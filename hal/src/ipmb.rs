//! IPMB transport and requester.
//!
//! [`Ipmb`] is the platform's half: put one frame on the bus, and hand over the next frame
//! addressed to us, waiting a bounded time. It knows nothing of sequence numbers or retries,
//! because those rules are the same on every platform while receiving is not: on Linux the kernel
//! queues frames written to the BMC's slave address (`/dev/ipmb-N`), on a microcontroller the
//! I2C peripheral's target mode does (embedded-hal has no target trait), in the simulator a
//! model answers.
//!
//! [`Requester`] is the shared half: one request, its response matched by sequence number,
//! addresses and command, with checksums verified, stray and corrupt frames skipped, and a
//! bounded number of attempts. Framing is `wsbmc_ipmi::ipmb`.
//!
//! [`IpmiLink`] is what a driver talking IPMI needs: a request in, a completion code and data
//! out. [`Requester`] is one link (frames on an IPMB it drives itself); the Linux HAL adds
//! another, the kernel's IPMI message handler (`/dev/ipmiN`), which does the framing, sequence
//! numbers and retries in the kernel for whatever system interface reaches the controller
//! (`ipmi-ipmb`, KCS, SSIF). The satellite driver is written against the link, so it runs over
//! either.

use wsbmc_ipmi::ipmb::{self, Header, MAX_FRAME, Sequence};

use crate::DeviceError;

/// A transport failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpmbError {
    /// The destination did not acknowledge the write: absent, unpowered or busy.
    Nack,
    /// The write failed on the bus (arbitration loss, stuck line).
    Bus,
    /// No frame arrived within the wait.
    Timeout,
}

/// One IPMB attachment point: a bus the BMC is a master on and a slave address it listens at.
#[allow(async_fn_in_trait)]
pub trait Ipmb {
    /// Our own 8-bit slave address, which responders answer to (rqSA).
    fn own_address(&self) -> u8;

    /// Writes one frame; byte 0 is the 8-bit slave address of the destination.
    async fn send(&mut self, frame: &[u8]) -> Result<(), IpmbError>;

    /// The next frame written to us, byte 0 being our own address, into `buf`; waits at most
    /// `timeout_ms`. A frame longer than `buf` is truncated to it (and then fails its checksum).
    async fn receive(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, IpmbError>;
}

/// The transport of a satellite that has not been bound to a bus: every send is unanswered, so
/// its sensors read as absent rather than the board failing to build.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIpmb;

impl Ipmb for NoIpmb {
    fn own_address(&self) -> u8 {
        ipmb::BMC_SA
    }

    async fn send(&mut self, _frame: &[u8]) -> Result<(), IpmbError> {
        Err(IpmbError::Nack)
    }

    async fn receive(&mut self, _buf: &mut [u8], _timeout_ms: u32) -> Result<usize, IpmbError> {
        Err(IpmbError::Timeout)
    }
}

/// Why a request got no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    Nack,
    Bus,
    /// No response on any attempt.
    Timeout,
    /// Only frames with bad checksums came back.
    Checksum,
    /// Only responses to other requests (wrong sequence number, command or address) came back.
    Sequence,
    /// The responder answered with a completion code other than success.
    Completion(u8),
    /// The request does not fit an IPMB frame, or the response does not fit the caller's buffer.
    Size,
}

impl From<RequestError> for DeviceError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Nack => DeviceError::Nack,
            RequestError::Bus => DeviceError::Bus,
            RequestError::Timeout => DeviceError::Timeout,
            RequestError::Checksum
            | RequestError::Sequence
            | RequestError::Completion(_)
            | RequestError::Size => DeviceError::BadData,
        }
    }
}

/// A route to IPMI controllers at message level: send one request, get its response data.
#[allow(async_fn_in_trait)]
pub trait IpmiLink {
    /// Sends `data` as command `cmd` of `net_fn` to LUN `lun` of the controller at 8-bit slave
    /// address `rs_sa`, and copies the response data (after the completion code) into `out`,
    /// returning its length. A completion code other than success is
    /// [`RequestError::Completion`]; a link that gives up waiting says [`RequestError::Timeout`].
    /// Every implementation bounds the time this takes.
    async fn request(
        &mut self,
        rs_sa: u8,
        net_fn: u8,
        lun: u8,
        cmd: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError>;
}

impl<T: Ipmb> IpmiLink for Requester<T> {
    async fn request(
        &mut self,
        rs_sa: u8,
        net_fn: u8,
        lun: u8,
        cmd: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError> {
        Requester::request(self, rs_sa, net_fn, lun, cmd, data, out).await
    }
}

/// An unbound link: every request goes unacknowledged, so a satellite without a route reads
/// as absent.
impl IpmiLink for NoIpmb {
    async fn request(
        &mut self,
        _rs_sa: u8,
        _net_fn: u8,
        _lun: u8,
        _cmd: u8,
        _data: &[u8],
        _out: &mut [u8],
    ) -> Result<usize, RequestError> {
        Err(RequestError::Nack)
    }
}

/// Wait for one response. IPMB v1.0 allows a responder 250 ms (tRSP… is per-byte; the
/// application-level "seq timeout" is 60 ms to 250 ms on real satellites), and the poller bounds
/// a whole read at 500 ms, so attempts × this must stay below that.
pub const DEFAULT_TIMEOUT_MS: u32 = 120;
/// Attempts per request: IPMI 2.0 §7.2 has the requester retry; three covers a collision and a
/// lost response without letting one dead satellite hold the poller.
pub const DEFAULT_ATTEMPTS: u8 = 3;
/// Frames accepted per attempt before giving up on it, so a chattering bus cannot keep the
/// requester waiting past its bound.
const MAX_FRAMES_PER_ATTEMPT: usize = 8;

/// Sends requests over an [`Ipmb`] transport and matches their responses.
#[derive(Debug)]
pub struct Requester<T> {
    transport: T,
    seq: Sequence,
    timeout_ms: u32,
    attempts: u8,
}

impl<T: Ipmb> Requester<T> {
    pub fn new(transport: T) -> Self {
        Requester {
            transport,
            seq: Sequence::new(0),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            attempts: DEFAULT_ATTEMPTS,
        }
    }

    /// Per-attempt response wait and number of attempts (at least one).
    pub fn with_timing(mut self, timeout_ms: u32, attempts: u8) -> Self {
        self.timeout_ms = timeout_ms;
        self.attempts = attempts.max(1);
        self
    }

    pub fn transport(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Sends `data` as command `cmd` of `net_fn` to LUN `lun` at 8-bit slave address `rs_sa`,
    /// and copies the response data (after the completion code) into `out`, returning its
    /// length. A completion code other than success is an error carrying the code; "node busy"
    /// is retried like a lost response.
    pub async fn request(
        &mut self,
        rs_sa: u8,
        net_fn: u8,
        lun: u8,
        cmd: u8,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RequestError> {
        let mut frame = [0u8; MAX_FRAME];
        let mut rx = [0u8; MAX_FRAME];
        // What went wrong, most informative first: a corrupt frame says more than a stray one,
        // which says more than silence.
        let mut worst = RequestError::Timeout;
        for _ in 0..self.attempts {
            let header = Header {
                dest_sa: rs_sa,
                net_fn,
                dest_lun: lun & 3,
                src_sa: self.transport.own_address(),
                seq: self.seq.take(),
                src_lun: 0,
                cmd,
            };
            let n = ipmb::encode(&header, data, &mut frame).map_err(|_| RequestError::Size)?;
            match self.transport.send(&frame[..n]).await {
                Ok(()) => {}
                Err(IpmbError::Nack) => {
                    worst = RequestError::Nack;
                    continue;
                }
                Err(IpmbError::Bus) => {
                    worst = RequestError::Bus;
                    continue;
                }
                Err(IpmbError::Timeout) => continue,
            }
            for _ in 0..MAX_FRAMES_PER_ATTEMPT {
                let len = match self.transport.receive(&mut rx, self.timeout_ms).await {
                    Ok(len) => len.min(rx.len()),
                    Err(IpmbError::Timeout) => break,
                    Err(IpmbError::Nack) | Err(IpmbError::Bus) => {
                        worst = worse(worst, RequestError::Bus);
                        break;
                    }
                };
                let resp = match ipmb::decode_response(&rx[..len]) {
                    Ok(r) => r,
                    Err(ipmb::FrameError::HeaderChecksum | ipmb::FrameError::DataChecksum) => {
                        worst = worse(worst, RequestError::Checksum);
                        continue;
                    }
                    Err(_) => {
                        worst = worse(worst, RequestError::Sequence);
                        continue;
                    }
                };
                if !header.matches_response(&resp.header) {
                    worst = worse(worst, RequestError::Sequence);
                    continue;
                }
                match resp.completion {
                    ipmb::cc::OK => {
                        let dst = out.get_mut(..resp.data.len()).ok_or(RequestError::Size)?;
                        dst.copy_from_slice(resp.data);
                        return Ok(resp.data.len());
                    }
                    ipmb::cc::NODE_BUSY => {
                        worst = worse(worst, RequestError::Completion(ipmb::cc::NODE_BUSY));
                        break;
                    }
                    code => return Err(RequestError::Completion(code)),
                }
            }
        }
        Err(worst)
    }
}

fn rank(e: RequestError) -> u8 {
    match e {
        RequestError::Timeout => 0,
        RequestError::Nack => 1,
        RequestError::Bus => 2,
        RequestError::Sequence => 3,
        RequestError::Completion(_) => 4,
        RequestError::Checksum => 5,
        RequestError::Size => 6,
    }
}

fn worse(a: RequestError, b: RequestError) -> RequestError {
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
pub(crate) mod mock {
    //! A scripted transport: each `send` is checked against the next expectation and queues the
    //! responses the script gives for it, built from the request actually sent so sequence
    //! numbers line up unless the script says otherwise.

    use std::collections::VecDeque;
    use std::vec::Vec;

    use wsbmc_ipmi::ipmb::{self, Header, MAX_FRAME};

    use super::{Ipmb, IpmbError};

    /// What the responder does with one request.
    #[derive(Clone)]
    pub enum Reply {
        /// Answer with completion code and data.
        Ok(u8, Vec<u8>),
        /// The write is not acknowledged.
        Nack,
        /// The write fails on the bus.
        Bus,
        /// Nothing comes back.
        Silent,
        /// An answer with chk2 corrupted.
        BadChecksum(Vec<u8>),
        /// An answer carrying a different sequence number.
        WrongSeq(Vec<u8>),
        /// A stray answer with a wrong sequence number first, then the right one.
        StrayThen(Vec<u8>),
    }

    pub struct Expect {
        pub net_fn: u8,
        pub cmd: u8,
        pub data: Vec<u8>,
        pub reply: Reply,
    }

    pub fn expect(net_fn: u8, cmd: u8, data: &[u8], reply: Reply) -> Expect {
        Expect {
            net_fn,
            cmd,
            data: data.to_vec(),
            reply,
        }
    }

    pub struct MockIpmb {
        pub script: VecDeque<Expect>,
        pub inbox: VecDeque<Vec<u8>>,
        pub sent: usize,
    }

    impl MockIpmb {
        pub fn new(script: Vec<Expect>) -> Self {
            MockIpmb {
                script: script.into(),
                inbox: VecDeque::new(),
                sent: 0,
            }
        }

        pub fn done(&self) {
            assert!(
                self.script.is_empty(),
                "{} expected requests not sent",
                self.script.len()
            );
        }
    }

    fn answer(req: &Header, seq: u8, cc: u8, data: &[u8]) -> Vec<u8> {
        let mut h = req.response();
        h.seq = seq;
        let mut out = [0u8; MAX_FRAME];
        let n = ipmb::encode_response(&h, cc, data, &mut out).expect("fits");
        out[..n].to_vec()
    }

    impl Ipmb for MockIpmb {
        fn own_address(&self) -> u8 {
            0x20
        }

        async fn send(&mut self, frame: &[u8]) -> Result<(), IpmbError> {
            self.sent += 1;
            let (h, body) = ipmb::decode(frame).expect("requester sends valid frames");
            let e = self.script.pop_front().expect("unexpected request");
            assert_eq!(
                (h.net_fn, h.cmd, body),
                (e.net_fn, e.cmd, e.data.as_slice())
            );
            assert_eq!(h.dest_sa, 0x60);
            match e.reply {
                Reply::Ok(cc, d) => self.inbox.push_back(answer(&h, h.seq, cc, &d)),
                Reply::Nack => return Err(IpmbError::Nack),
                Reply::Bus => return Err(IpmbError::Bus),
                Reply::Silent => {}
                Reply::BadChecksum(d) => {
                    let mut f = answer(&h, h.seq, 0, &d);
                    if let Some(last) = f.last_mut() {
                        *last ^= 0x55;
                    }
                    self.inbox.push_back(f);
                }
                Reply::WrongSeq(d) => self.inbox.push_back(answer(&h, (h.seq + 7) & 63, 0, &d)),
                Reply::StrayThen(d) => {
                    self.inbox
                        .push_back(answer(&h, (h.seq + 63) & 63, 0, &[0xEE]));
                    self.inbox.push_back(answer(&h, h.seq, 0, &d));
                }
            }
            Ok(())
        }

        async fn receive(&mut self, buf: &mut [u8], _timeout_ms: u32) -> Result<usize, IpmbError> {
            let f = self.inbox.pop_front().ok_or(IpmbError::Timeout)?;
            let n = f.len().min(buf.len());
            buf[..n].copy_from_slice(&f[..n]);
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::mock::*;
    use super::*;
    use futures_lite::future::block_on;
    use wsbmc_ipmi::ipmb::{cc, cmd, netfn};

    fn run(script: Vec<Expect>) -> (Result<Vec<u8>, RequestError>, usize) {
        let mut r = Requester::new(MockIpmb::new(script));
        let mut out = [0u8; 32];
        let res = block_on(r.request(
            0x60,
            netfn::SENSOR_EVENT,
            0,
            cmd::GET_SENSOR_READING,
            &[0x01],
            &mut out,
        ))
        .map(|n| out[..n].to_vec());
        r.transport().done();
        (res, r.transport().sent)
    }

    fn e(reply: Reply) -> Expect {
        expect(netfn::SENSOR_EVENT, cmd::GET_SENSOR_READING, &[0x01], reply)
    }

    #[test]
    fn success_first_try() {
        let (r, sent) = run(vec![e(Reply::Ok(0, vec![0x19, 0xC0]))]);
        assert_eq!(r, Ok(vec![0x19, 0xC0]));
        assert_eq!(sent, 1);
    }

    #[test]
    fn retries_after_silence_and_nack() {
        let (r, sent) = run(vec![
            e(Reply::Silent),
            e(Reply::Nack),
            e(Reply::Ok(0, vec![7])),
        ]);
        assert_eq!(r, Ok(vec![7]));
        assert_eq!(sent, 3);
    }

    #[test]
    fn failures_after_all_attempts() {
        let table: &[(Reply, RequestError)] = &[
            (Reply::Silent, RequestError::Timeout),
            (Reply::Nack, RequestError::Nack),
            (Reply::Bus, RequestError::Bus),
            (Reply::BadChecksum(vec![1]), RequestError::Checksum),
            (Reply::WrongSeq(vec![1]), RequestError::Sequence),
            (
                Reply::Ok(cc::NODE_BUSY, vec![]),
                RequestError::Completion(cc::NODE_BUSY),
            ),
        ];
        for (reply, want) in table {
            let script = (0..DEFAULT_ATTEMPTS).map(|_| e(reply.clone())).collect();
            let (r, sent) = run(script);
            assert_eq!(r, Err(*want));
            assert_eq!(sent, usize::from(DEFAULT_ATTEMPTS));
        }
    }

    #[test]
    fn stray_response_is_skipped() {
        let (r, sent) = run(vec![e(Reply::StrayThen(vec![0x33]))]);
        assert_eq!(r, Ok(vec![0x33]));
        assert_eq!(sent, 1);
    }

    #[test]
    fn bad_checksum_then_good_retry() {
        let (r, _) = run(vec![
            e(Reply::BadChecksum(vec![1])),
            e(Reply::Ok(0, vec![2])),
        ]);
        assert_eq!(r, Ok(vec![2]));
    }

    #[test]
    fn error_completion_is_not_retried() {
        let (r, sent) = run(vec![e(Reply::Ok(cc::NOT_PRESENT, vec![]))]);
        assert_eq!(r, Err(RequestError::Completion(cc::NOT_PRESENT)));
        assert_eq!(sent, 1);
        assert_eq!(
            DeviceError::from(RequestError::Completion(0xCB)),
            DeviceError::BadData
        );
    }

    #[test]
    fn oversized_request_and_response() {
        let mut r = Requester::new(MockIpmb::new(vec![]));
        let mut out = [0u8; 4];
        assert_eq!(
            block_on(r.request(0x60, netfn::APP, 0, 1, &[0; 40], &mut out)),
            Err(RequestError::Size)
        );
        let mut r = Requester::new(MockIpmb::new(vec![expect(
            netfn::APP,
            cmd::GET_DEVICE_ID,
            &[],
            Reply::Ok(0, vec![0; 11]),
        )]));
        assert_eq!(
            block_on(r.request(0x60, netfn::APP, 0, cmd::GET_DEVICE_ID, &[], &mut out)),
            Err(RequestError::Size)
        );
    }

    /// The same exchange through the message-level trait the satellite driver uses.
    async fn via_link<L: IpmiLink>(link: &mut L, out: &mut [u8]) -> Result<usize, RequestError> {
        link.request(
            0x60,
            netfn::SENSOR_EVENT,
            0,
            cmd::GET_SENSOR_READING,
            &[0x01],
            out,
        )
        .await
    }

    #[test]
    fn requester_is_a_link() {
        let mut r = Requester::new(MockIpmb::new(vec![
            e(Reply::Nack),
            e(Reply::Ok(0, vec![0x19, 0xC0])),
        ]));
        let mut out = [0u8; 8];
        assert_eq!(block_on(via_link(&mut r, &mut out)), Ok(2));
        assert_eq!(&out[..2], &[0x19, 0xC0]);
        r.transport().done();
        assert_eq!(
            block_on(via_link(&mut NoIpmb, &mut out)),
            Err(RequestError::Nack)
        );
    }

    #[test]
    fn unbound_transport_reads_absent() {
        let mut r = Requester::new(NoIpmb);
        let mut out = [0u8; 4];
        assert_eq!(
            block_on(r.request(0x60, netfn::APP, 0, 1, &[], &mut out)),
            Err(RequestError::Nack)
        );
    }
}
