//! A flash that loses power in the middle of an operation, for power-loss tests.
//!
//! A cut interrupts exactly one write or erase and leaves it half done the way NOR parts do: a
//! write has programmed some bytes and some bits of others (a bit only ever goes 1→0), in order
//! or scattered; an erase has wiped some pages and, in the page it was working on, a prefix, a
//! few partly erased bytes after it, and nothing beyond (see `torn_erase` for why in order). After the cut every operation fails until [`PowerRail::restore`], which
//! stands for the reset: the test then mounts the same bytes with fresh objects and checks what
//! survived. sequential-storage has a similar mock behind a private feature; this one is ours so
//! its behaviour is part of this crate's contract, not of a semver-exempt test hook.

use core::cell::Cell;

use embedded_storage_async::nor_flash::{ErrorType, MultiwriteNorFlash, NorFlash, ReadNorFlash};

use crate::nor::{self, FlashError};

/// The supply shared by every flash of one simulated board, so that a single cut stops the map
/// and the queue regions at the same instant.
#[derive(Debug)]
pub struct PowerRail {
    /// Write/erase operations still allowed before the one that is cut; `None` never cuts.
    budget: Cell<Option<u32>>,
    lost: Cell<bool>,
    ops: Cell<u32>,
    rng: Cell<u64>,
}

impl PowerRail {
    /// A supply that never fails; counts operations, so a test can learn how many a workload
    /// takes and then cut uniformly inside it.
    pub const fn steady() -> Self {
        Self {
            budget: Cell::new(None),
            lost: Cell::new(false),
            ops: Cell::new(0),
            rng: Cell::new(0x9E37_79B9_7F4A_7C15),
        }
    }

    /// A supply that lets `ops` writes/erases complete and cuts the next one part way, with the
    /// damage drawn from `seed`.
    pub fn cut_after(ops: u32, seed: u64) -> Self {
        let rail = Self::steady();
        rail.budget.set(Some(ops));
        // xorshift must not start at zero.
        rail.rng.set(seed ^ 0x9E37_79B9_7F4A_7C15 | 1);
        rail
    }

    /// Whether the cut has happened.
    pub fn is_lost(&self) -> bool {
        self.lost.get()
    }

    /// Write and erase operations started so far, including a cut one.
    pub fn ops(&self) -> u32 {
        self.ops.get()
    }

    /// Power comes back and stays on: the reset after a cut.
    pub fn restore(&self) {
        self.lost.set(false);
        self.budget.set(None);
    }

    /// Arms another cut `ops` operations from now, for runs with several cuts.
    pub fn cut_again_after(&self, ops: u32) {
        self.lost.set(false);
        self.budget.set(Some(ops));
    }

    /// A fresh random number (xorshift64*): deterministic per seed so a failing run replays.
    pub fn random(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.random() % n as u64) as usize
        }
    }

    /// Starts one operation: `Ok(true)` if it runs to completion, `Ok(false)` if power fails
    /// during it, `Err` if power is already gone.
    fn begin(&self) -> Result<bool, FlashError> {
        if self.lost.get() {
            return Err(FlashError::PowerLost);
        }
        self.ops.set(self.ops.get().saturating_add(1));
        match self.budget.get() {
            None => Ok(true),
            Some(0) => {
                self.lost.set(true);
                Ok(false)
            }
            Some(n) => {
                self.budget.set(Some(n - 1));
                Ok(true)
            }
        }
    }
}

/// NOR flash in a caller-owned buffer whose power comes from a [`PowerRail`].
pub struct FaultFlash<'a, const ERASE: usize> {
    mem: &'a mut [u8],
    rail: &'a PowerRail,
}

impl<'a, const ERASE: usize> FaultFlash<'a, ERASE> {
    /// Wraps `mem` as it is (fill it with 0xFF for a blank part); the size is rounded down to
    /// whole pages.
    pub fn new(mem: &'a mut [u8], rail: &'a PowerRail) -> Self {
        const { assert!(ERASE > 0, "page size must not be zero") };
        let len = mem.len() - mem.len() % ERASE;
        let (mem, _) = mem.split_at_mut(len);
        Self { mem, rail }
    }
}

impl<const ERASE: usize> ErrorType for FaultFlash<'_, ERASE> {
    type Error = FlashError;
}

impl<const ERASE: usize> ReadNorFlash for FaultFlash<'_, ERASE> {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        if self.rail.is_lost() {
            return Err(FlashError::PowerLost);
        }
        let (start, end) = nor::range(offset, bytes.len(), self.mem.len())?;
        bytes.copy_from_slice(&self.mem[start..end]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.mem.len()
    }
}

impl<const ERASE: usize> NorFlash for FaultFlash<'_, ERASE> {
    const WRITE_SIZE: usize = nor::WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let (start, end) = nor::erase_range(from, to, ERASE, self.mem.len())?;
        if self.rail.begin()? {
            self.mem[start..end].fill(0xFF);
            Ok(())
        } else {
            torn_erase(self.rail, &mut self.mem[start..end], ERASE);
            Err(FlashError::PowerLost)
        }
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let (start, end) = nor::write_range(offset, bytes.len(), self.mem.len())?;
        nor::check_program(offset, &self.mem[start..end], bytes)?;
        if self.rail.begin()? {
            self.mem[start..end].copy_from_slice(bytes);
            Ok(())
        } else {
            torn_write(self.rail, &mut self.mem[start..end], bytes);
            Err(FlashError::PowerLost)
        }
    }
}

/// Programs `new` over `target` as far as a cut lets it get. Either a prefix completes and the
/// next byte is partly programmed (a part that writes byte by byte), or each byte independently
/// ends up programmed, partly programmed or untouched (a part that programs a word in parallel).
fn torn_write(rail: &PowerRail, target: &mut [u8], new: &[u8]) {
    let partial = |old: u8, new: u8| old & !((old & !new) & rail.random() as u8);
    if rail.random() & 1 == 0 {
        let stop = rail.below(target.len() + 1);
        for (i, (t, n)) in target.iter_mut().zip(new).enumerate() {
            if i < stop {
                *t = *n;
            } else if i == stop {
                *t = partial(*t, *n);
            }
        }
    } else {
        for (t, n) in target.iter_mut().zip(new) {
            match rail.below(3) {
                0 => *t = *n,
                1 => *t = partial(*t, *n),
                _ => {}
            }
        }
    }
}

/// Erases `pages` as far as a cut lets it get. The erase runs through the pages in address
/// order: pages before a random one are blank; in that one a random prefix is blank, the next
/// few bytes are partly erased (random bits back to 1) and the rest is untouched; later pages are
/// untouched.
///
/// In-order is the model sequential-storage is built against: it recognises a torn erase by a
/// blank start marker next to a still-programmed end marker. A part whose erase leaves cells in
/// random states across the whole page can instead leave both markers programmed over garbage,
/// which no marker-based scheme can tell from a closed page; the store does not claim to survive
/// that (see `finish_torn_erases` in the crate root for the cases it does repair).
fn torn_erase(rail: &PowerRail, pages: &mut [u8], erase_size: usize) {
    let stop = rail.below(pages.len() / erase_size);
    for (i, page) in pages.chunks_mut(erase_size).enumerate() {
        if i < stop {
            page.fill(0xFF);
        } else if i == stop {
            let blank = rail.below(erase_size + 1);
            let fuzzy = rail.below(9);
            for (j, b) in page.iter_mut().enumerate() {
                if j < blank {
                    *b = 0xFF;
                } else if j < blank + fuzzy {
                    *b |= rail.random() as u8;
                }
            }
        }
    }
}

impl<const ERASE: usize> MultiwriteNorFlash for FaultFlash<'_, ERASE> {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    #[test]
    fn cut_tears_one_operation_and_stops_the_rest() {
        for seed in 0..200u64 {
            let mut mem = [0xFFu8; 64];
            let rail = PowerRail::cut_after(1, seed);
            let mut f = FaultFlash::<32>::new(&mut mem, &rail);
            block_on(async {
                f.write(0, &[0x00; 4]).await.unwrap();
                assert_eq!(f.write(4, &[0x00; 8]).await, Err(FlashError::PowerLost));
                assert!(rail.is_lost());
                let mut b = [0u8; 1];
                assert_eq!(f.read(0, &mut b).await, Err(FlashError::PowerLost));
                assert_eq!(f.erase(0, 32).await, Err(FlashError::PowerLost));
            });
            // The completed write stays, the torn one only cleared bits, nothing else moved.
            assert_eq!(&mem[..4], &[0; 4]);
            assert!(mem[12..].iter().all(|b| *b == 0xFF));

            rail.restore();
            let mut f = FaultFlash::<32>::new(&mut mem, &rail);
            block_on(async {
                let rail_before = rail.ops();
                f.erase(0, 64).await.unwrap();
                assert_eq!(rail.ops(), rail_before + 1);
            });
            assert!(mem.iter().all(|b| *b == 0xFF));
        }
    }

    #[test]
    fn torn_erase_only_sets_bits_and_stays_in_range() {
        let mut saw_partial = false;
        for seed in 0..200u64 {
            let mut mem = [0x00u8; 96];
            let rail = PowerRail::cut_after(0, seed);
            let mut f = FaultFlash::<32>::new(&mut mem, &rail);
            let r = block_on(f.erase(32, 96));
            assert_eq!(r, Err(FlashError::PowerLost));
            assert!(mem[..32].iter().all(|b| *b == 0));
            saw_partial |= mem[32..].iter().any(|b| *b != 0 && *b != 0xFF);
        }
        assert!(saw_partial);
    }
}
