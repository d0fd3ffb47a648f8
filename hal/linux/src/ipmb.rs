//! IPMB through `/dev/ipmb-N` (the kernel's `ipmb-dev-int` driver).
//!
//! The driver registers an I2C slave at the BMC's address and queues every message written to
//! it; `read()` hands one over as `[len, own SA, netFn/LUN, chk1, rqSA, …, chk2]`, `len`
//! counting the bytes after itself. `write()` takes the same layout with byte 1 the destination
//! address; in `i2c-protocol` mode (the device-tree property this image expects) it is sent as
//! one raw I2C write, which is IPMB. The driver checks only chk1, so the requester checks the
//! rest. The file is non-blocking and read through tokio's `AsyncFd`, so waiting for a response
//! does not hold the runtime.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::unix::AsyncFd;
use wsbmc_hal::ipmb::{Ipmb, IpmbError};
use wsbmc_ipmi::ipmb::{BMC_SA, MAX_FRAME};

/// Largest message the driver hands over (`IPMB_MAX_MSG_LEN`).
const DEV_MAX: usize = 128;

/// A frame (starting with the destination address) in the driver's write layout.
pub fn to_dev(frame: &[u8], out: &mut [u8]) -> Option<usize> {
    let len = u8::try_from(frame.len()).ok()?;
    let dst = out.get_mut(..frame.len() + 1)?;
    dst[0] = len;
    dst[1..].copy_from_slice(frame);
    Some(frame.len() + 1)
}

/// The frame inside a message the driver handed over; `None` if the length byte lies.
pub fn from_dev(msg: &[u8]) -> Option<&[u8]> {
    let (&len, rest) = msg.split_first()?;
    rest.get(..usize::from(len))
}

pub struct DevIpmb {
    file: AsyncFd<File>,
    own: u8,
}

impl DevIpmb {
    /// Opens `path` (e.g. `/dev/ipmb-0`); we answer to the BMC's standard address.
    pub fn open(path: &str) -> io::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)?;
        // SAFETY: `register` requires that the descriptor stays open and is not registered
        // elsewhere while the AsyncFd lives; the File is moved into it and owned by it alone.
        let file = unsafe { AsyncFd::register(file) }.map_err(io::Error::from)?;
        Ok(DevIpmb { file, own: BMC_SA })
    }
}

impl Ipmb for DevIpmb {
    fn own_address(&self) -> u8 {
        self.own
    }

    async fn send(&mut self, frame: &[u8]) -> Result<(), IpmbError> {
        let mut msg = [0u8; MAX_FRAME + 1];
        let n = to_dev(frame, &mut msg).ok_or(IpmbError::Bus)?;
        match self.file.get_mut().write(&msg[..n]) {
            Ok(_) => Ok(()),
            // The driver passes the adapter's error up: ENXIO/EREMOTEIO is the address NACK.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENXIO | libc::EREMOTEIO)) => {
                Err(IpmbError::Nack)
            }
            Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => Err(IpmbError::Timeout),
            Err(_) => Err(IpmbError::Bus),
        }
    }

    async fn receive(&mut self, buf: &mut [u8], timeout_ms: u32) -> Result<usize, IpmbError> {
        let wait = std::time::Duration::from_millis(u64::from(timeout_ms));
        let read = async {
            loop {
                let mut guard = self.file.readable_mut().await.map_err(|_| IpmbError::Bus)?;
                let mut msg = [0u8; DEV_MAX];
                match guard.try_io(|f| f.get_mut().read(&mut msg)) {
                    Ok(Ok(n)) => {
                        let Some(frame) = from_dev(&msg[..n]) else {
                            continue;
                        };
                        let k = frame.len().min(buf.len());
                        buf[..k].copy_from_slice(&frame[..k]);
                        return Ok(k);
                    }
                    Ok(Err(_)) => return Err(IpmbError::Bus),
                    Err(_would_block) => continue,
                }
            }
        };
        tokio::time::timeout(wait, read)
            .await
            .unwrap_or(Err(IpmbError::Timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_layout_round_trip() {
        let frame = [0x60, 0x10, 0x90, 0x20, 0x14, 0x2D, 0x01, 0x9E];
        let mut msg = [0u8; 16];
        let n = to_dev(&frame, &mut msg).unwrap();
        assert_eq!(
            &msg[..n],
            &[8, 0x60, 0x10, 0x90, 0x20, 0x14, 0x2D, 0x01, 0x9E]
        );
        assert_eq!(from_dev(&msg[..n]), Some(&frame[..]));
        // A length byte longer than the message is refused, not trusted.
        assert_eq!(from_dev(&[9, 1, 2]), None);
        assert_eq!(from_dev(&[]), None);
        assert_eq!(to_dev(&frame, &mut [0u8; 4]), None);
    }
}
