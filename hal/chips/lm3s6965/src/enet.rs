//! The on-chip Ethernet MAC, as an `embassy-net-driver` [`Driver`].
//!
//! The controller has no DMA: frames move through two 2 KiB FIFOs, one 32-bit `DATA` register
//! access at a time. Each FIFO frame starts with a 16-bit length word:
//!
//! - RX: `len = frame + 6` (the length field itself plus the 4-byte FCS), followed by the frame
//!   and the FCS; the driver reads `ceil(len / 4)` words and keeps the frame.
//! - TX: `len = frame - 14` (the payload after the Ethernet header), followed by the frame; the
//!   MAC pads short frames and appends the FCS (TCTL.PADEN, TCTL.CRC), and `TR = 1` sends it.
//!
//! Reception is interrupt driven: the ISR masks the RX interrupt and wakes the stack, and the
//! driver unmasks it again only after finding the FIFO empty, so a burst of frames costs one
//! interrupt. QEMU models no PHY (no MII, link always up) and no address filter; this driver
//! needs neither, so it reports the link as up.

use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_sync::waitqueue::AtomicWaker;

use crate::regs::Block;
use crate::sysctl::{self, Peripheral};
use crate::{IRQ_ETHERNET, Irq};

// Safety: the Ethernet controller block of the LM3S6965 memory map.
const MAC: Block = unsafe { Block::new(0x4004_8000) };

const RIS_IACK: usize = 0x00;
const IM: usize = 0x04;
const RCTL: usize = 0x08;
const TCTL: usize = 0x0C;
const DATA: usize = 0x10;
const IA0: usize = 0x14;
const IA1: usize = 0x18;
const THR: usize = 0x1C;
const MDV: usize = 0x24;
const NP: usize = 0x34;
const TR: usize = 0x38;

const INT_RX: u32 = 1 << 0;
const INT_TXER: u32 = 1 << 1;
const INT_TXEMP: u32 = 1 << 2;
const INT_FOV: u32 = 1 << 3;
const INT_RXER: u32 = 1 << 4;
const INT_MD: u32 = 1 << 5;
const INT_PHY: u32 = 1 << 6;
const INT_ALL: u32 = INT_RX | INT_TXER | INT_TXEMP | INT_FOV | INT_RXER | INT_MD | INT_PHY;

const RCTL_RXEN: u32 = 1 << 0;
const RCTL_BADCRC: u32 = 1 << 3;
const RCTL_RSTFIFO: u32 = 1 << 4;

const TCTL_TXEN: u32 = 1 << 0;
const TCTL_PADEN: u32 = 1 << 1;
const TCTL_CRC: u32 = 1 << 2;
const TCTL_DUPLEX: u32 = 1 << 3;

const TR_NEWTX: u32 = 1 << 0;

/// THR value that disables early (threshold) transmission: frames go out only on `TR`.
const THR_OFF: u32 = 0x3F;

/// MII clock divider for a 50 MHz system clock (MDC ≤ 2.5 MHz). QEMU stores and ignores it.
const MDV_50MHZ: u32 = 0x0A;

/// Largest frame handed to or taken from the stack: 1500-byte IP MTU plus the Ethernet header,
/// without the FCS (the MAC adds and checks it).
pub const MTU: usize = 1514;

/// Smallest frame worth passing up: an Ethernet header.
const MIN_FRAME: usize = 14;

static WAKER: AtomicWaker = AtomicWaker::new();

/// Called from the Ethernet interrupt: acknowledges, masks further RX interrupts until the
/// driver has drained the FIFO, and wakes the network task.
pub(crate) fn on_interrupt() {
    let pending = MAC.read(RIS_IACK) & MAC.read(IM);
    MAC.write(RIS_IACK, pending);
    MAC.modify(IM, |v| v & !pending);
    WAKER.wake();
}

/// Enables the Ethernet line in the NVIC. Separate from [`Ethernet::new`] so the image decides
/// when interrupts start: after the network task that the interrupt wakes exists.
pub fn enable_interrupt() {
    // Safety: unmasking cannot break a critical section: the handler only touches the MAC
    // registers and an `AtomicWaker`, both of which are interrupt-safe.
    unsafe { cortex_m::peripheral::NVIC::unmask(Irq(IRQ_ETHERNET)) };
}

/// Counters a health endpoint or a log line can show.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub rx_frames: u32,
    pub tx_frames: u32,
    /// Frames dropped because they were shorter than a header or longer than [`MTU`].
    pub rx_dropped: u32,
}

/// The Ethernet MAC with one frame of buffer in each direction (the stack's own socket buffers
/// do the queueing, so more would only cost RAM).
pub struct Ethernet {
    mac: [u8; 6],
    rx_buf: [u8; MTU],
    tx_buf: [u8; MTU],
    stats: Stats,
}

impl Ethernet {
    /// Opens the clock gates, resets the RX FIFO and enables both directions with hardware
    /// padding and FCS. The MAC address is the one already in IA0/IA1 (QEMU preloads it from
    /// `-nic`; on a real board the boot code programs it from the user registers) unless `mac`
    /// overrides it.
    pub fn new(mac: Option<[u8; 6]>) -> Self {
        sysctl::enable(Peripheral::Ethernet);
        // Quiet and clean before anything is enabled.
        MAC.write(IM, 0);
        MAC.write(RIS_IACK, INT_ALL);
        MAC.write(MDV, MDV_50MHZ);
        let mac = match mac {
            Some(m) => {
                MAC.write(IA0, u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
                MAC.write(IA1, u32::from(m[4]) | (u32::from(m[5]) << 8));
                m
            }
            None => {
                let a = MAC.read(IA0).to_le_bytes();
                let b = MAC.read(IA1).to_le_bytes();
                [a[0], a[1], a[2], a[3], b[0], b[1]]
            }
        };
        MAC.write(THR, THR_OFF);
        MAC.write(TCTL, TCTL_TXEN | TCTL_PADEN | TCTL_CRC | TCTL_DUPLEX);
        MAC.write(RCTL, RCTL_RSTFIFO | RCTL_BADCRC);
        MAC.write(RCTL, RCTL_RXEN | RCTL_BADCRC);
        Self {
            mac,
            rx_buf: [0; MTU],
            tx_buf: [0; MTU],
            stats: Stats::default(),
        }
    }

    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Moves the frame at the head of the RX FIFO into `rx_buf`. Returns its length, or `None`
    /// when it had to be dropped (the FIFO is advanced past it either way).
    fn read_frame(&mut self) -> Option<usize> {
        let first = MAC.read(DATA);
        let header = RxHeader::parse(first);
        let keep = header.frame_len.filter(|n| (MIN_FRAME..=MTU).contains(n));
        let mut pos = 0;
        if let Some(n) = keep {
            // The first word carries the frame's first two bytes.
            let [_, _, b0, b1] = first.to_le_bytes();
            self.rx_buf[0] = b0;
            self.rx_buf[1] = b1;
            pos = 2.min(n);
        }
        for _ in 1..header.words {
            let word = MAC.read(DATA).to_le_bytes();
            if let Some(n) = keep {
                for b in word {
                    if pos < n {
                        self.rx_buf[pos] = b;
                        pos += 1;
                    }
                }
            }
        }
        match keep {
            Some(n) => {
                self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
                Some(n)
            }
            None => {
                self.stats.rx_dropped = self.stats.rx_dropped.wrapping_add(1);
                None
            }
        }
    }

    fn frames_waiting() -> bool {
        MAC.read(NP) & 0x3F != 0
    }

    fn tx_idle() -> bool {
        MAC.read(TR) & TR_NEWTX == 0
    }
}

/// The length word at the head of a received FIFO frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RxHeader {
    /// Bytes of the Ethernet frame (without FCS), or `None` for a corrupt length.
    pub frame_len: Option<usize>,
    /// 32-bit words the frame occupies in the FIFO, including the first.
    pub words: usize,
}

impl RxHeader {
    pub(crate) fn parse(first: u32) -> Self {
        let len = (first & 0xFFFF) as usize;
        // A length too short to hold its own field and FCS still occupies at least this word.
        Self {
            frame_len: len.checked_sub(6),
            words: len.div_ceil(4).max(1),
        }
    }
}

/// The FIFO words of a frame to send: the length word (payload length and the first two frame
/// bytes), then the rest of the frame packed little-endian, the last word zero-padded.
pub(crate) fn tx_words(frame: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let payload = frame.len().saturating_sub(MIN_FRAME) as u32;
    let b = |i: usize| u32::from(frame.get(i).copied().unwrap_or(0));
    let first = (payload & 0xFFFF) | (b(0) << 16) | (b(1) << 24);
    let rest = frame.get(2..).unwrap_or(&[]);
    core::iter::once(first).chain(rest.chunks(4).map(|c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        u32::from_le_bytes(w)
    }))
}

pub struct EthRxToken<'a> {
    frame: &'a mut [u8],
}

impl RxToken for EthRxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        f(self.frame)
    }
}

pub struct EthTxToken<'a> {
    buf: &'a mut [u8; MTU],
    tx_frames: &'a mut u32,
}

impl TxToken for EthTxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // The stack never asks for more than the MTU it was given; clamp rather than panic.
        let frame = &mut self.buf[..len.min(MTU)];
        let r = f(frame);
        for word in tx_words(frame) {
            MAC.write(DATA, word);
        }
        MAC.write(TR, TR_NEWTX);
        *self.tx_frames = self.tx_frames.wrapping_add(1);
        r
    }
}

impl Driver for Ethernet {
    type RxToken<'a> = EthRxToken<'a>;
    type TxToken<'a> = EthTxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        // Register before looking, and unmask before looking again, so a frame landing in
        // between raises an interrupt that finds the waker in place.
        WAKER.register(cx.waker());
        if !Self::frames_waiting() {
            MAC.modify(IM, |v| v | INT_RX);
            if !Self::frames_waiting() {
                return None;
            }
        }
        if !Self::tx_idle() {
            // The reply token must be usable; retry once the previous frame has left.
            MAC.modify(IM, |v| v | INT_TXEMP);
            return None;
        }
        let len = self.read_frame()?;
        let Self {
            rx_buf,
            tx_buf,
            stats,
            ..
        } = self;
        Some((
            EthRxToken {
                frame: &mut rx_buf[..len],
            },
            EthTxToken {
                buf: tx_buf,
                tx_frames: &mut stats.tx_frames,
            },
        ))
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        WAKER.register(cx.waker());
        if !Self::tx_idle() {
            MAC.modify(IM, |v| v | INT_TXEMP);
            if !Self::tx_idle() {
                return None;
            }
        }
        Some(EthTxToken {
            buf: &mut self.tx_buf,
            tx_frames: &mut self.stats.tx_frames,
        })
    }

    fn link_state(&mut self, _cx: &mut Context) -> LinkState {
        LinkState::Up
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn rx_header_counts_length_field_and_fcs() {
        // A 60-byte frame: len = 66, 17 words (66 / 4 rounded up).
        let h = RxHeader::parse(66 | (0xAB << 16));
        assert_eq!(h.frame_len, Some(60));
        assert_eq!(h.words, 17);
    }

    #[test]
    fn rx_header_of_corrupt_length_still_consumes_a_word() {
        let h = RxHeader::parse(3);
        assert_eq!(h.frame_len, None);
        assert_eq!(h.words, 1);
        assert_eq!(RxHeader::parse(0).words, 1);
    }

    #[test]
    fn tx_words_carry_payload_length_and_first_two_bytes() {
        let frame: Vec<u8> = (0u8..21).collect();
        let words: Vec<u32> = tx_words(&frame).collect();
        assert_eq!(words[0], 7 | (0 << 16) | (1 << 24));
        assert_eq!(words[1], u32::from_le_bytes([2, 3, 4, 5]));
        // 19 bytes after the first two: 4 full words and one of 3 bytes, zero-padded.
        assert_eq!(words.len(), 1 + 5);
        assert_eq!(words[5], u32::from_le_bytes([18, 19, 20, 0]));
    }

    #[test]
    fn tx_then_rx_framing_round_trips() {
        // What QEMU does with a sent frame and hands back on receive, in FIFO words.
        let frame: Vec<u8> = (0..64u32).map(|i| (i * 7) as u8).collect();
        let mut bytes: Vec<u8> = tx_words(&frame).flat_map(u32::to_le_bytes).collect();
        bytes.truncate(2 + frame.len());
        assert_eq!(&bytes[2..], &frame[..]);
        let h = RxHeader::parse((frame.len() + 6) as u32);
        assert_eq!(h.frame_len, Some(frame.len()));
    }
}
