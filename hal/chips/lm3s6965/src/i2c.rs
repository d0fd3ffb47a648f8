//! The I2C master controllers, as `embedded_hal_async::i2c::I2c`.
//!
//! A byte moves per write to MCS (RUN, plus START on the first and STOP on the last); the driver
//! then waits for BUSY to clear and checks ERROR. Waiting yields to the executor between polls
//! instead of using the I2C interrupt: a byte at 100 kHz takes 90 µs, QEMU completes it before
//! the MCS write returns, and the agent's poller already bounds every device read in time.
//!
//! Each [`Operation`] of a transaction is sent as its own START…STOP transfer. QEMU's controller
//! model cannot issue a repeated START (it ignores START while the bus is held, and would keep
//! the old direction), and every part wsbmc drives (TMP75/105, TMP421, EMC1413, PMBus devices)
//! keeps its register pointer or command across a STOP, so write-then-read works either way.
//!
//! Handles are cheap and may be cloned, one per device; an async mutex per controller keeps two
//! handles' transactions from interleaving on the wire.

use embassy_futures::yield_now;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embedded_hal::i2c::{ErrorKind, NoAcknowledgeSource, Operation, SevenBitAddress};
use embedded_hal_async::i2c::I2c as _;

use crate::regs::Block;
use crate::sysctl::{self, Peripheral};

const MSA: usize = 0x00;
const MCS: usize = 0x04;
const MDR: usize = 0x08;
const MTPR: usize = 0x0C;
const MCR: usize = 0x20;

// MCS as written (commands).
const CMD_RUN: u32 = 1 << 0;
const CMD_START: u32 = 1 << 1;
const CMD_STOP: u32 = 1 << 2;
const CMD_ACK: u32 = 1 << 3;

// MCS as read (status).
const ST_BUSY: u32 = 1 << 0;
const ST_ERROR: u32 = 1 << 1;
const ST_ADRACK: u32 = 1 << 2;
const ST_DATACK: u32 = 1 << 3;
const ST_ARBLST: u32 = 1 << 4;
const ST_BUSBSY: u32 = 1 << 6;

const MCR_MFE: u32 = 1 << 4;

/// Polls of BUSY before a byte is declared lost. Each poll yields to the executor, so this is a
/// backstop for a wedged controller, not the timeout a caller should rely on.
const MAX_BUSY_POLLS: u32 = 10_000;

/// The two I2C controllers of the LM3S6965.
///
/// QEMU 10's `lm3s6965evb` has both, and both of their buses are named `i2c`; `-device
/// tmp105,bus=i2c` lands on the last one created, I2C1 at 0x4002_1000 (QEMU 7.2 had only I2C0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controller {
    I2c0,
    I2c1,
}

impl Controller {
    fn block(self) -> Block {
        match self {
            // Safety: I2C master 0 of the LM3S6965 memory map.
            Controller::I2c0 => unsafe { Block::new(0x4002_0000) },
            // Safety: I2C master 1 of the LM3S6965 memory map.
            Controller::I2c1 => unsafe { Block::new(0x4002_1000) },
        }
    }

    fn lock(self) -> &'static Mutex<CriticalSectionRawMutex, ()> {
        static I2C0: Mutex<CriticalSectionRawMutex, ()> = Mutex::new(());
        static I2C1: Mutex<CriticalSectionRawMutex, ()> = Mutex::new(());
        match self {
            Controller::I2c0 => &I2C0,
            Controller::I2c1 => &I2C1,
        }
    }

    pub fn base(self) -> usize {
        self.block().base()
    }
}

/// Why a transfer failed, as the controller reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The address (or, with `Data`, a written byte) was not acknowledged.
    Nack(NoAcknowledgeSource),
    ArbitrationLoss,
    /// BUSY never cleared.
    Stuck,
}

impl embedded_hal::i2c::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Nack(src) => ErrorKind::NoAcknowledge(*src),
            Error::ArbitrationLoss => ErrorKind::ArbitrationLoss,
            Error::Stuck => ErrorKind::Other,
        }
    }
}

/// A handle on one I2C controller in master mode at 100 kHz.
#[derive(Debug, Clone)]
pub struct I2c {
    ctl: Controller,
}

impl I2c {
    /// Opens the controller's clock gate, routes its pins, enables the master and sets the
    /// standard-mode SCL rate for `sysclk_hz`. Calling it again for the same controller is
    /// harmless.
    pub fn new(ctl: Controller, sysclk_hz: u32) -> Self {
        match ctl {
            Controller::I2c0 => {
                sysctl::enable(Peripheral::I2c0);
                sysctl::i2c_pins(Peripheral::GpioB, 2, 3);
            }
            Controller::I2c1 => {
                sysctl::enable(Peripheral::I2c1);
                sysctl::i2c_pins(Peripheral::GpioA, 6, 7);
            }
        }
        let regs = ctl.block();
        // Nothing moves until the master function is enabled (QEMU ignores MCS writes before).
        regs.write(MCR, MCR_MFE);
        regs.write(MTPR, tpr_for(sysclk_hz, 100_000));
        Self { ctl }
    }

    pub fn controller(&self) -> Controller {
        self.ctl
    }

    /// Whether a device answers at `address`, by addressing it for a one-byte read: a bring-up
    /// aid for finding which controller a bus is wired to (a board file then names it).
    pub async fn probe(&mut self, address: SevenBitAddress) -> bool {
        let mut byte = [0u8; 1];
        self.transaction(address, &mut [Operation::Read(&mut byte)])
            .await
            .is_ok()
    }

    /// Waits for the byte to complete and classifies a failure. After an error with the bus
    /// still held, a STOP releases it so the next transfer starts clean.
    async fn finish(&self, first: bool) -> Result<(), Error> {
        let regs = self.ctl.block();
        let mut polls = 0;
        let status = loop {
            let s = regs.read(MCS);
            if s & ST_BUSY == 0 {
                break s;
            }
            polls += 1;
            if polls >= MAX_BUSY_POLLS {
                regs.write(MCS, CMD_STOP);
                return Err(Error::Stuck);
            }
            yield_now().await;
        };
        if status & ST_ERROR == 0 {
            return Ok(());
        }
        if status & ST_BUSBSY != 0 && status & ST_ARBLST == 0 {
            regs.write(MCS, CMD_STOP);
        }
        Err(classify(status, first))
    }
}

/// Maps an MCS error status to an error. Silicon flags a missing address ACK with ADRACK; QEMU's
/// model instead reports ARBLST when no device answers a START, so ARBLST on the first byte of
/// a transfer is read as an address NACK (a real arbitration loss there is rare on a
/// single-master BMC bus, and retrying it as a NACK is harmless).
fn classify(status: u32, first: bool) -> Error {
    if status & ST_ADRACK != 0 {
        Error::Nack(NoAcknowledgeSource::Address)
    } else if status & ST_DATACK != 0 {
        Error::Nack(NoAcknowledgeSource::Data)
    } else if status & ST_ARBLST != 0 && first {
        Error::Nack(NoAcknowledgeSource::Address)
    } else if status & ST_ARBLST != 0 {
        Error::ArbitrationLoss
    } else {
        Error::Nack(NoAcknowledgeSource::Unknown)
    }
}

/// MTPR for an SCL rate: SCL = SysClk / (20 · (TPR + 1)), rounded so SCL never exceeds `scl_hz`.
fn tpr_for(sysclk_hz: u32, scl_hz: u32) -> u32 {
    let div = 20 * scl_hz.max(1);
    sysclk_hz.div_ceil(div).saturating_sub(1).clamp(1, 0x7F)
}

impl embedded_hal::i2c::ErrorType for I2c {
    type Error = Error;
}

impl embedded_hal_async::i2c::I2c for I2c {
    async fn transaction(
        &mut self,
        address: SevenBitAddress,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let _bus = self.ctl.lock().lock().await;
        let regs = self.ctl.block();
        // Writes and reads share one byte loop, so the transfer has one wait (`finish`) and
        // the transaction's future one state for it, not one per direction.
        for op in operations {
            let (read, len) = match op {
                Operation::Write(bytes) => (false, bytes.len()),
                Operation::Read(buf) => (true, buf.len()),
            };
            regs.write(MSA, (u32::from(address) << 1) | u32::from(read));
            // An empty write is an address-only transfer (a "quick write"): START then STOP
            // with no data byte. An empty read moves nothing.
            let quick = !read && len == 0;
            for i in 0..len.max(usize::from(quick)) {
                let cmd = if quick {
                    CMD_START | CMD_STOP
                } else {
                    let mut cmd = CMD_RUN;
                    if i == 0 {
                        cmd |= CMD_START;
                    }
                    // STOP after the last byte; a read ACKs every byte before it.
                    if i + 1 == len {
                        cmd |= CMD_STOP;
                    } else if read {
                        cmd |= CMD_ACK;
                    }
                    cmd
                };
                if let Operation::Write(bytes) = op
                    && let Some(b) = bytes.get(i)
                {
                    regs.write(MDR, u32::from(*b));
                }
                regs.write(MCS, cmd);
                self.finish(i == 0).await?;
                if let Operation::Read(buf) = op
                    && let Some(slot) = buf.get_mut(i)
                {
                    *slot = regs.read(MDR) as u8;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpr_gives_100khz_at_50mhz() {
        assert_eq!(tpr_for(50_000_000, 100_000), 24);
        // Never faster than asked.
        let tpr = tpr_for(12_500_000, 100_000);
        assert!(12_500_000 / (20 * (tpr + 1)) <= 100_000);
    }

    #[test]
    fn qemu_no_device_is_an_address_nack() {
        // ERROR | ARBLST | IDLE, as QEMU reports a START nobody acknowledged.
        assert_eq!(
            classify(0x32, true),
            Error::Nack(NoAcknowledgeSource::Address)
        );
        assert_eq!(classify(0x32, false), Error::ArbitrationLoss);
        assert_eq!(
            classify(ST_ERROR | ST_DATACK, false),
            Error::Nack(NoAcknowledgeSource::Data)
        );
    }
}
