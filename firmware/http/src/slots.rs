//! Connection slots with a policy (issue 20, finding 3): a cap on connections, a smaller cap
//! per source address, and, when a cap is reached, an idle kept-alive connection closed to
//! admit the new one (as nginx does) rather than the new one refused.
//!
//! For a server that accepts in one place and runs each connection as its own task (the std
//! images); the bare-metal image has a fixed task per connection and does not use it.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;

use embassy_futures::select::{Either, select};
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::Instant;

use crate::backoff::Source;
use crate::conn::Connection;

/// How many connections, and how many from one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPolicy {
    pub max: usize,
    pub per_source: usize,
}

impl SlotPolicy {
    /// `per_source` defaults to half the slots (at least one): one address, or two, cannot take
    /// them all, while a console's pool of a few connections fits easily.
    pub fn new(max: usize, per_source: Option<usize>) -> Self {
        let max = max.max(1);
        let per_source = per_source.unwrap_or(max.div_ceil(2)).clamp(1, max);
        Self { max, per_source }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is busy with a request (none idle to close).
    Full,
    /// Its address holds `per_source` busy connections already.
    SourceFull,
}

struct Entry {
    id: u64,
    source: Source,
    /// Between requests of a kept-alive connection.
    idle: bool,
    authenticated: bool,
    idle_since: Instant,
    close: Rc<Signal<NoopRawMutex, ()>>,
}

/// The table of open connections. Single-threaded like the executor it serves: share by `Rc`.
pub struct Slots {
    policy: SlotPolicy,
    entries: RefCell<Vec<Entry>>,
    next_id: Cell<u64>,
    closed_for_others: Cell<u64>,
}

impl Slots {
    pub fn new(policy: SlotPolicy) -> Rc<Self> {
        Rc::new(Self {
            policy,
            entries: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
            closed_for_others: Cell::new(0),
        })
    }

    pub fn policy(&self) -> SlotPolicy {
        self.policy
    }

    /// Connections holding a slot now.
    pub fn in_use(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Idle connections closed so far to admit another.
    pub fn closed_for_others(&self) -> u64 {
        self.closed_for_others.get()
    }

    /// Admits a connection from `source`, closing an idle one if a cap is reached: at the
    /// per-source cap one of the same address, at the global cap any; unauthenticated before
    /// authenticated, then the longest idle.
    pub fn admit(self: &Rc<Self>, source: Source) -> Result<Slot, Refused> {
        let mut entries = self.entries.borrow_mut();
        let from_source = entries.iter().filter(|e| e.source == source).count();
        if from_source >= self.policy.per_source {
            if !self.close_idle(&mut entries, Some(&source)) {
                return Err(Refused::SourceFull);
            }
        } else if entries.len() >= self.policy.max && !self.close_idle(&mut entries, None) {
            return Err(Refused::Full);
        }
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1));
        let close = Rc::new(Signal::new());
        entries.push(Entry {
            id,
            source,
            idle: false,
            authenticated: false,
            idle_since: Instant::now(),
            close: close.clone(),
        });
        Ok(Slot {
            slots: self.clone(),
            id,
            source,
            close,
        })
    }

    /// Takes the best idle victim (of `source` when given) out of the table and tells its task
    /// to close; the slot counts as free at once.
    fn close_idle(&self, entries: &mut Vec<Entry>, source: Option<&Source>) -> bool {
        let victim = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.idle && source.is_none_or(|s| e.source == *s))
            .min_by_key(|(_, e)| (e.authenticated, e.idle_since))
            .map(|(i, _)| i);
        match victim {
            Some(i) => {
                let entry = entries.swap_remove(i);
                entry.close.signal(());
                self.closed_for_others
                    .set(self.closed_for_others.get().saturating_add(1));
                true
            }
            None => false,
        }
    }

    fn set_idle(&self, id: u64, idle: bool, authenticated: bool) {
        if let Some(e) = self.entries.borrow_mut().iter_mut().find(|e| e.id == id) {
            e.idle = idle;
            e.authenticated = authenticated;
            e.idle_since = Instant::now();
        }
    }
}

/// One admitted connection's slot; dropping it frees the slot.
pub struct Slot {
    slots: Rc<Slots>,
    id: u64,
    source: Source,
    close: Rc<Signal<NoopRawMutex, ()>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.entries.borrow_mut().retain(|e| e.id != self.id);
    }
}

impl Connection for Slot {
    fn source(&self) -> Option<&Source> {
        Some(&self.source)
    }

    async fn while_idle<F: Future>(&self, wait: F, authenticated: bool) -> Option<F::Output> {
        self.slots.set_idle(self.id, true, authenticated);
        let outcome = match select(wait, self.close.wait()).await {
            Either::First(out) => Some(out),
            Either::Second(()) => None,
        };
        self.slots.set_idle(self.id, false, authenticated);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_per_source_cap_is_half() {
        assert_eq!(SlotPolicy::new(16, None).per_source, 8);
        assert_eq!(SlotPolicy::new(1, None).per_source, 1);
        assert_eq!(SlotPolicy::new(4, Some(100)).per_source, 4);
        assert_eq!(SlotPolicy::new(4, Some(0)).per_source, 1);
    }

    #[test]
    fn per_source_cap_and_idle_eviction() {
        let slots = Slots::new(SlotPolicy::new(4, Some(2)));
        let a = [1; 16];
        let b = [2; 16];
        let a1 = slots.admit(a).expect("first");
        let a2 = slots.admit(a).expect("second");
        assert_eq!(slots.admit(a).err(), Some(Refused::SourceFull));
        let b1 = slots.admit(b).expect("other source");
        let b2 = slots.admit(b).expect("other source");
        assert_eq!(slots.in_use(), 4);
        // Full, none idle: refused.
        assert_eq!(slots.admit([3; 16]).err(), Some(Refused::Full));
        // Idle ones are closed for newcomers, unauthenticated first.
        slots.set_idle(b1.id, true, true);
        slots.set_idle(a1.id, true, false);
        let c = slots.admit([3; 16]).expect("an idle one was closed");
        assert!(a1.close.signaled());
        assert!(!b1.close.signaled());
        assert_eq!(slots.in_use(), 4);
        assert_eq!(slots.closed_for_others(), 1);
        // At its own cap, a source's idle connection makes room for its new one: the one idle
        // longest.
        slots.set_idle(b2.id, true, true);
        let b3 = slots.admit(b).expect("b's idle one was closed");
        assert!(b1.close.signaled());
        assert!(!b2.close.signaled());
        drop((a1, a2, b1, b2, b3, c));
        assert_eq!(slots.in_use(), 0);
    }
}
