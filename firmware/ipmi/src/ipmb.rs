//! IPMB framing (Intelligent Platform Management Bus v1.0, IPMI 2.0 §7 and §5.5).
//!
//! An IPMB message is one I2C master write. The first byte is the responder's (for a request) or
//! requester's (for a response) 8-bit slave address, which on the wire is the I2C address byte
//! itself; this module keeps it as the first byte of the frame because every Linux interface
//! (`/dev/ipmb-N`, the i2c-slave backends) and every checksum includes it.
//!
//! ```text
//! request:  rsSA  netFn/rsLUN  chk1  rqSA  rqSeq/rqLUN  cmd         data…  chk2
//! response: rqSA  netFn/rqLUN  chk1  rsSA  rqSeq/rsLUN  cmd  cc     data…  chk2
//! ```
//!
//! chk1 covers the first two bytes and chk2 everything from the fourth byte; each is the two's
//! complement that makes its bytes sum to zero. One [`Header`] describes both directions: the
//! "destination" is the byte-0 address, the "source" the byte-3 address. A response is told
//! apart from a request by the odd netFn, never by position, because both arrive on the same
//! slave queue.
//!
//! Frames are at most [`MAX_FRAME`] bytes (IPMB v1.0 §2.2); decoding accepts only frames within
//! the limit and never indexes past what it checked.

/// Longest IPMB message, slave address through chk2. Longer frames are rejected by the Linux
/// `ipmi-ipmb` driver too (`IPMI_REQ_LEN_EXCEEDED_ERR`).
pub const MAX_FRAME: usize = 32;
/// Header bytes before the data of a request (through `cmd`).
pub const REQUEST_HEADER: usize = 6;
/// Smallest valid request: header and chk2.
pub const MIN_REQUEST: usize = REQUEST_HEADER + 1;
/// Smallest valid response: header, completion code and chk2.
pub const MIN_RESPONSE: usize = REQUEST_HEADER + 2;
/// Most data bytes a request can carry.
pub const MAX_REQUEST_DATA: usize = MAX_FRAME - MIN_REQUEST;
/// Most data bytes a response can carry after its completion code.
pub const MAX_RESPONSE_DATA: usize = MAX_FRAME - MIN_RESPONSE;

/// The BMC's own slave address on IPMB (IPMI 2.0 §5.5 "BMC SA = 20h").
pub const BMC_SA: u8 = 0x20;

/// Network functions the requester uses (IPMI 2.0 table 5-1). Responses use `netfn | 1`.
pub mod netfn {
    pub const SENSOR_EVENT: u8 = 0x04;
    pub const APP: u8 = 0x06;
    pub const STORAGE: u8 = 0x0A;
}

/// Command codes of the satellite-controller conversation.
pub mod cmd {
    /// App: Get Device ID (IPMI 2.0 §20.1).
    pub const GET_DEVICE_ID: u8 = 0x01;
    /// Sensor/Event: Get Device SDR Info (§35.2).
    pub const GET_DEVICE_SDR_INFO: u8 = 0x20;
    /// Sensor/Event: Get Device SDR (§35.3).
    pub const GET_DEVICE_SDR: u8 = 0x21;
    /// Sensor/Event: Reserve Device SDR Repository (§35.4).
    pub const RESERVE_DEVICE_SDR_REPOSITORY: u8 = 0x22;
    /// Sensor/Event: Get Sensor Reading (§35.14).
    pub const GET_SENSOR_READING: u8 = 0x2D;
    /// Storage: Get SDR Repository Info (§33.9), what a BMC has instead of a Device SDR.
    pub const GET_SDR_REPOSITORY_INFO: u8 = 0x20;
    /// Storage: Reserve SDR Repository (§33.11).
    pub const RESERVE_SDR_REPOSITORY: u8 = 0x22;
    /// Storage: Get SDR (§33.12), the same request and response layout as Get Device SDR.
    pub const GET_SDR: u8 = 0x23;
}

/// Completion codes the requester acts on (IPMI 2.0 table 5-2).
pub mod cc {
    pub const OK: u8 = 0x00;
    pub const NODE_BUSY: u8 = 0xC0;
    pub const INVALID_COMMAND: u8 = 0xC1;
    pub const TIMEOUT: u8 = 0xC3;
    /// Reservation cancelled or invalid reservation ID: re-reserve and read again.
    pub const RESERVATION_CANCELLED: u8 = 0xC5;
    /// "Cannot return number of requested data bytes": ask for a shorter piece.
    pub const CANNOT_RETURN_BYTES: u8 = 0xCA;
    pub const NOT_PRESENT: u8 = 0xCB;
    pub const UNSPECIFIED: u8 = 0xFF;
}

/// Why a frame could not be encoded or decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Shorter than the smallest message of its kind.
    TooShort,
    /// Longer than [`MAX_FRAME`], or the caller's buffer cannot hold the frame.
    TooLong,
    /// chk1 (over the address and netFn/LUN) does not sum to zero.
    HeaderChecksum,
    /// chk2 (over the rest) does not sum to zero.
    DataChecksum,
    /// A LUN above 3 or a sequence number above 63 was given to the encoder.
    FieldRange,
}

/// The addressing part of an IPMB message, shared by requests and responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Byte 0: the 8-bit slave address the frame is written to.
    pub dest_sa: u8,
    /// Network function, even for requests and odd for responses.
    pub net_fn: u8,
    /// LUN in byte 1 (rsLUN in a request, rqLUN in a response).
    pub dest_lun: u8,
    /// Byte 3: the 8-bit slave address of the sender.
    pub src_sa: u8,
    /// Sequence number, 0..=63, echoed by the responder.
    pub seq: u8,
    /// LUN in byte 4 (rqLUN in a request, rsLUN in a response).
    pub src_lun: u8,
    pub cmd: u8,
}

impl Header {
    pub const fn is_response(&self) -> bool {
        self.net_fn & 1 == 1
    }

    /// The header of the response to this request: addresses and LUNs swapped, netFn odd,
    /// sequence and command echoed.
    pub const fn response(&self) -> Header {
        Header {
            dest_sa: self.src_sa,
            net_fn: self.net_fn | 1,
            dest_lun: self.src_lun,
            src_sa: self.dest_sa,
            seq: self.seq,
            src_lun: self.dest_lun,
            cmd: self.cmd,
        }
    }

    /// Whether `resp` answers this request: what the requester checks before believing a frame
    /// off a bus that other controllers also write to.
    pub const fn matches_response(&self, resp: &Header) -> bool {
        resp.is_response()
            && resp.net_fn == (self.net_fn | 1)
            && resp.dest_sa == self.src_sa
            && resp.src_sa == self.dest_sa
            && resp.seq == self.seq
            && resp.cmd == self.cmd
            && resp.dest_lun == self.src_lun
            && resp.src_lun == self.dest_lun
    }
}

/// The two's-complement checksum that makes `bytes` plus the checksum sum to zero mod 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |acc, b| acc.wrapping_add(*b))
        .wrapping_neg()
}

/// Writes `header` and `body` (for a response, the completion code followed by data) as a frame
/// into `out`, returning its length.
pub fn encode(header: &Header, body: &[u8], out: &mut [u8]) -> Result<usize, FrameError> {
    if header.dest_lun > 3 || header.src_lun > 3 || header.seq > 63 || header.net_fn > 63 {
        return Err(FrameError::FieldRange);
    }
    let len = MIN_REQUEST + body.len();
    if len > MAX_FRAME {
        return Err(FrameError::TooLong);
    }
    let frame = out.get_mut(..len).ok_or(FrameError::TooLong)?;
    frame[0] = header.dest_sa;
    frame[1] = (header.net_fn << 2) | header.dest_lun;
    frame[2] = checksum(&frame[..2]);
    frame[3] = header.src_sa;
    frame[4] = (header.seq << 2) | header.src_lun;
    frame[5] = header.cmd;
    frame[REQUEST_HEADER..len - 1].copy_from_slice(body);
    frame[len - 1] = checksum(&frame[3..len - 1]);
    Ok(len)
}

/// Encodes a response: `completion` then `data`.
pub fn encode_response(
    header: &Header,
    completion: u8,
    data: &[u8],
    out: &mut [u8],
) -> Result<usize, FrameError> {
    let mut body = [0u8; MAX_FRAME];
    let n = data.len() + 1;
    let b = body.get_mut(..n).ok_or(FrameError::TooLong)?;
    b[0] = completion;
    b[1..].copy_from_slice(data);
    encode(header, b, out)
}

/// Splits a frame into its header and body (everything between `cmd` and chk2), checking both
/// checksums and the length bounds.
pub fn decode(frame: &[u8]) -> Result<(Header, &[u8]), FrameError> {
    if frame.len() > MAX_FRAME {
        return Err(FrameError::TooLong);
    }
    if frame.len() < MIN_REQUEST {
        return Err(FrameError::TooShort);
    }
    if checksum(&frame[..3]) != 0 {
        return Err(FrameError::HeaderChecksum);
    }
    if checksum(&frame[3..]) != 0 {
        return Err(FrameError::DataChecksum);
    }
    let header = Header {
        dest_sa: frame[0],
        net_fn: frame[1] >> 2,
        dest_lun: frame[1] & 3,
        src_sa: frame[3],
        seq: frame[4] >> 2,
        src_lun: frame[4] & 3,
        cmd: frame[5],
    };
    Ok((header, &frame[REQUEST_HEADER..frame.len() - 1]))
}

/// A decoded response: header, completion code and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    pub header: Header,
    pub completion: u8,
    pub data: &'a [u8],
}

/// Decodes a frame that must be a response (odd netFn, completion code present).
pub fn decode_response(frame: &[u8]) -> Result<Response<'_>, FrameError> {
    let (header, body) = decode(frame)?;
    let (&completion, data) = body.split_first().ok_or(FrameError::TooShort)?;
    Ok(Response {
        header,
        completion,
        data,
    })
}

/// A 6-bit rolling sequence number, so the requester can tell a late answer to an earlier
/// attempt from the answer to the current one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequence(u8);

impl Sequence {
    pub const fn new(start: u8) -> Self {
        Sequence(start & 63)
    }

    /// The next number to use; wraps 63 → 0.
    pub fn take(&mut self) -> u8 {
        let s = self.0;
        self.0 = (self.0 + 1) & 63;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Header {
        Header {
            dest_sa: 0x60,
            net_fn: netfn::SENSOR_EVENT,
            dest_lun: 0,
            src_sa: BMC_SA,
            seq: 5,
            src_lun: 2,
            cmd: cmd::GET_SENSOR_READING,
        }
    }

    #[test]
    fn request_bytes_match_the_spec_layout() {
        let mut buf = [0u8; MAX_FRAME];
        let n = encode(&req(), &[0x10], &mut buf).unwrap();
        // 60 10 90 | 20 16 2d 10 | 8d: each checksummed part sums to zero.
        assert_eq!(&buf[..n], &[0x60, 0x10, 0x90, 0x20, 0x16, 0x2D, 0x10, 0x8D]);
        let (h, body) = decode(&buf[..n]).unwrap();
        assert_eq!(h, req());
        assert_eq!(body, &[0x10]);
        assert!(!h.is_response());
    }

    #[test]
    fn response_round_trip_and_matching() {
        let mut buf = [0u8; MAX_FRAME];
        let rh = req().response();
        let n = encode_response(&rh, cc::OK, &[0x42, 0xC0, 0x00], &mut buf).unwrap();
        let r = decode_response(&buf[..n]).unwrap();
        assert_eq!(r.header, rh);
        assert_eq!(r.completion, cc::OK);
        assert_eq!(r.data, &[0x42, 0xC0, 0x00]);
        assert!(req().matches_response(&r.header));
        let mut other = r.header;
        other.seq = 6;
        assert!(!req().matches_response(&other));
        other = r.header;
        other.src_sa = 0x62;
        assert!(!req().matches_response(&other));
        // A request echoed back is not a response.
        assert!(!req().matches_response(&req()));
    }

    #[test]
    fn checksums_are_checked() {
        let mut buf = [0u8; MAX_FRAME];
        let n = encode(&req(), &[0x10], &mut buf).unwrap();
        let mut bad = buf;
        bad[2] ^= 1;
        assert_eq!(decode(&bad[..n]), Err(FrameError::HeaderChecksum));
        let mut bad = buf;
        bad[n - 1] ^= 0x80;
        assert_eq!(decode(&bad[..n]), Err(FrameError::DataChecksum));
        let mut bad = buf;
        bad[6] = 0x11;
        assert_eq!(decode(&bad[..n]), Err(FrameError::DataChecksum));
    }

    #[test]
    fn length_bounds() {
        let mut buf = [0u8; 64];
        assert_eq!(
            encode(&req(), &[0; MAX_REQUEST_DATA + 1], &mut buf),
            Err(FrameError::TooLong)
        );
        assert_eq!(
            encode(&req(), &[0; MAX_REQUEST_DATA], &mut buf),
            Ok(MAX_FRAME)
        );
        assert_eq!(
            encode(&req(), &[0; 4], &mut buf[..8]),
            Err(FrameError::TooLong)
        );
        assert_eq!(decode(&buf[..MIN_REQUEST - 1]), Err(FrameError::TooShort));
        assert_eq!(decode(&buf[..MAX_FRAME + 1]), Err(FrameError::TooLong));
        // A request-sized frame is not a response: no completion code.
        let n = encode(&req().response(), &[], &mut buf).unwrap();
        assert_eq!(decode_response(&buf[..n]), Err(FrameError::TooShort));
        let mut h = req();
        h.seq = 64;
        assert_eq!(encode(&h, &[], &mut buf), Err(FrameError::FieldRange));
        h = req();
        h.dest_lun = 4;
        assert_eq!(encode(&h, &[], &mut buf), Err(FrameError::FieldRange));
    }

    #[test]
    fn decode_never_panics_on_any_short_frame() {
        let mut x: u32 = 1;
        for len in 0..=MAX_FRAME + 2 {
            for _ in 0..200 {
                let mut f = [0u8; MAX_FRAME + 2];
                for b in f.iter_mut().take(len) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *b = x as u8;
                }
                let _ = decode_response(&f[..len]);
            }
        }
    }

    #[test]
    fn sequence_wraps_at_six_bits() {
        let mut s = Sequence::new(62);
        assert_eq!([s.take(), s.take(), s.take()], [62, 63, 0]);
        assert_eq!(Sequence::new(200).take(), 200 & 63);
    }
}
