//! Enumeration contexts and byte-bounded paging.
//!
//! Clients abandon enumerations without Release (wsman.md §6.6 #20), so contexts expire after an
//! idle time and their number is capped; the table never grows past `Limits::max_enum_contexts`,
//! and no user holds more than `Limits::max_enum_contexts_per_user` of them.

use alloc::string::String;
use alloc::vec::Vec;

use crate::envelope::EnumMode;
use crate::fault::{Fault, FaultDetail, FaultKind};
use crate::provider::{Cursor, EnumPlan, EnumSpec, ItemWalk, PER_ALLOCATION, Provider};
use crate::respond::write_epr;
use crate::rng::Uuid;
use crate::xml::XmlWriter;

/// One live enumeration.
#[derive(Debug, Clone)]
pub struct Context {
    pub token: Uuid,
    /// Only the user who started an enumeration may continue it.
    pub user: String,
    pub spec: EnumSpec,
    /// What the provider worked out from `spec` at the Enumerate, for every Pull to reuse.
    pub plan: EnumPlan,
    pub mode: EnumMode,
    pub cursor: Cursor,
    pub last_used_ms: u64,
}

/// The bounded set of live contexts.
#[derive(Debug)]
pub struct ContextTable {
    entries: Vec<Context>,
    max: usize,
    /// Most contexts one user may hold, so one user cannot take every slot.
    max_per_user: usize,
    idle_ms: u64,
    /// Bound on the sum of [`context_bytes`] over the entries.
    max_bytes: usize,
}

/// Heap a stored context holds, roughly: its strings and selector tables, each with
/// [`PER_ALLOCATION`] on top, and the provider's plan. Bounded by `Limits::max_context_bytes`
/// over all contexts.
pub fn context_bytes(ctx: &Context) -> usize {
    use crate::provider::{Epr, Filter, Selector, SelectorValue};
    fn string(s: &str) -> usize {
        s.len() + PER_ALLOCATION
    }
    fn selectors(list: &[Selector]) -> usize {
        list.iter()
            .map(|s| {
                string(&s.name)
                    + match &s.value {
                        SelectorValue::Text(t) => string(t),
                        SelectorValue::Epr(e) => epr(e) + PER_ALLOCATION,
                    }
            })
            .sum::<usize>()
            + PER_ALLOCATION
    }
    fn epr(e: &Epr) -> usize {
        string(&e.resource_uri) + selectors(&e.selectors)
    }
    let spec = &ctx.spec;
    let filter = match &spec.filter {
        Filter::None => 0,
        Filter::Wql(q) => string(q),
        Filter::Selector(list) => selectors(list),
        Filter::Association(a) => {
            let opt = |s: &Option<String>| s.as_deref().map_or(0, string);
            epr(&a.object)
                + opt(&a.association_class)
                + opt(&a.result_class)
                + opt(&a.role)
                + opt(&a.result_role)
                + a.include_result_property
                    .iter()
                    .map(|p| string(p))
                    .sum::<usize>()
        }
    };
    core::mem::size_of::<Context>()
        + string(&ctx.user)
        + string(&spec.resource_uri)
        + spec.namespace.as_deref().map_or(0, string)
        + filter
        + ctx.plan.heap_bytes()
}

fn invalid_context() -> Fault {
    Fault::new(FaultKind::InvalidEnumerationContext)
}

impl ContextTable {
    pub fn new(max: usize, idle_ms: u64) -> Self {
        Self {
            entries: Vec::new(),
            max,
            max_per_user: max,
            idle_ms,
            max_bytes: usize::MAX,
        }
    }

    /// Bounds the heap the contexts hold together ([`context_bytes`]); unbounded by default.
    pub fn set_max_bytes(&mut self, max_bytes: usize) {
        self.max_bytes = max_bytes;
    }

    /// Bounds the contexts one user may hold; the table's size by default.
    pub fn set_max_per_user(&mut self, max_per_user: usize) {
        self.max_per_user = max_per_user;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn expire(&mut self, now_ms: u64) {
        let idle = self.idle_ms;
        self.entries
            .retain(|c| now_ms.saturating_sub(c.last_used_ms) <= idle);
    }

    /// Whether one more context fits, for `user` and in the table.
    pub fn has_room(&mut self, user: &str, now_ms: u64) -> bool {
        self.expire(now_ms);
        self.entries.len() < self.max
            && self.entries.iter().filter(|c| c.user == user).count() < self.max_per_user
    }

    /// Stores a context. A plan that holds its parsed WQL query ([`EnumPlan::holds_query`]) is
    /// kept instead of the query's text when that fits the byte bound; when only the text
    /// fits (a parse tree is several times its text), the text is kept and the plan dropped,
    /// and each batch works the plan out again, as before plans were kept.
    pub fn insert(&mut self, mut ctx: Context, now_ms: u64) -> Result<(), Fault> {
        if !self.has_room(&ctx.user, now_ms) {
            return Err(Fault::new(FaultKind::QuotaLimit)
                .message("Too many enumerations are open; release or finish one first."));
        }
        let held: usize = match self.max_bytes {
            usize::MAX => 0,
            _ => self.entries.iter().map(context_bytes).sum(),
        };
        let fits = |c: &Context| held.saturating_add(context_bytes(c)) <= self.max_bytes;
        if ctx.plan.holds_query()
            && let crate::provider::Filter::Wql(text) = &mut ctx.spec.filter
        {
            let text = core::mem::take(text);
            // Kept with the plan if that fits; else with the text, and the plan dropped. One
            // `push` below for both: the context is large, and each push inlined its move.
            if !fits(&ctx) {
                ctx.spec.filter = crate::provider::Filter::Wql(text);
                ctx.plan = EnumPlan::default();
            }
        }
        if !fits(&ctx) {
            return Err(Fault::new(FaultKind::QuotaLimit).message(
                "The open enumerations hold too much state; release or finish one first.",
            ));
        }
        self.entries.push(ctx);
        Ok(())
    }

    /// Removes and returns the context for a Pull; the caller puts it back if items remain.
    /// Someone else's token is as invalid as an unknown one, so tokens cannot be probed.
    pub fn take(&mut self, token: &str, user: &str, now_ms: u64) -> Result<Context, Fault> {
        self.expire(now_ms);
        let i = self
            .entries
            .iter()
            .position(|c| c.token.as_str() == token && c.user == user)
            .ok_or_else(invalid_context)?;
        Ok(self.entries.swap_remove(i))
    }

    /// Returns a context taken with [`Self::take`]; it cannot overflow the table because it
    /// held a slot a moment ago.
    pub fn put_back(&mut self, mut ctx: Context, now_ms: u64) {
        ctx.last_used_ms = now_ms;
        self.entries.push(ctx);
    }
}

/// Items rendered for one Enumerate/Pull response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub items: String,
    pub count: u32,
    /// Nothing is left after these items.
    pub end: bool,
}

/// How far one batch may go.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_items: u32,
    /// Bytes the items may take in the envelope text.
    pub budget: usize,
    /// Bytes the envelope adds around the items: the batch buffer keeps that much room, so the
    /// service assembles the response in it instead of in a second buffer.
    pub spare: usize,
    /// `wsen:MaxCharacters`: the most Unicode characters the items may take together. A hard
    /// cap, as WS-Enumeration §4.1 says; an item that alone is larger is not skipped (that would
    /// lose it silently) but faulted, so the client can retry with a larger value.
    pub max_characters: Option<u64>,
}

fn not_ready(f: &Fault) -> bool {
    f.kind == FaultKind::TimedOut
}

/// Renders items from `*cursor` on until a limit is reached: the provider's
/// [`Provider::fill_planned`] with the plan of the enumeration's Enumerate, which by default is
/// [`fill_from`] over its `next_item`.
pub fn fill<P: Provider>(
    provider: &P,
    (spec, plan): (&EnumSpec, &EnumPlan),
    mode: EnumMode,
    cursor: &mut Cursor,
    lim: BatchLimits,
) -> Result<Batch, Fault> {
    provider.fill_planned(spec, plan, mode, cursor, lim)
}

#[cfg(feature = "stream")]
/// A batch planned for streaming: the part rendered up front, and what follows it measured but
/// not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The items rendered up front. `first.end` is whether the whole batch (including `rest`)
    /// ends the enumeration.
    pub first: Batch,
    /// Items after `first`, counted and measured but not held; `None` when `first` is the whole
    /// batch.
    pub rest: Option<Rest>,
}

#[cfg(feature = "stream")]
/// The streamed part of a [`Planned`] batch: where it starts, how many items and bytes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rest {
    pub cursor: Cursor,
    pub count: u32,
    /// UTF-8 bytes of the items' text, as measured.
    pub bytes: usize,
    /// Characters of the items' text, as measured (0 when the batch has no MaxCharacters).
    pub chars: u64,
}

#[cfg(feature = "stream")]
/// One [`fill`] of at most `cap` bytes (less when `lim.budget` is less). An item larger than
/// `cap` that still fits `lim.budget` is rendered alone, so holding at most `cap` bytes never
/// changes which items a batch takes; only an item too large for the whole budget faults.
pub fn fill_capped<P: Provider>(
    provider: &P,
    spec: (&EnumSpec, &EnumPlan),
    mode: EnumMode,
    cursor: &mut Cursor,
    lim: BatchLimits,
    cap: usize,
) -> Result<Batch, Fault> {
    let small = BatchLimits {
        budget: lim.budget.min(cap),
        ..lim
    };
    match fill(provider, spec, mode, cursor, small) {
        Err(f) if f.kind == FaultKind::EncodingLimit && small.budget < lim.budget => {
            let one = BatchLimits {
                max_items: 1,
                spare: 0,
                ..lim
            };
            fill(provider, spec, mode, cursor, one)
        }
        r => r,
    }
}

#[cfg(feature = "stream")]
/// [`fill`] for a batch that may be larger than the caller wants to hold: at most `hold` bytes
/// of items are rendered and kept (`Planned::first`), exactly as `fill` with that budget would;
/// the items after them that the batch's own limits still admit are rendered slice by slice,
/// counted and dropped (`Planned::rest`), so the caller can stream them later from
/// `rest.cursor`. Everything a response states before its items (whether more follow, the
/// context, its size against MaxEnvelopeSize and MaxCharacters) is decided here, before a byte
/// of it is sent; every fault a batch can raise is raised here too.
///
/// With `hold >= lim.budget` this is `fill`, item for item and fault for fault.
pub fn plan<P: Provider>(
    provider: &P,
    spec: (&EnumSpec, &EnumPlan),
    mode: EnumMode,
    cursor: &mut Cursor,
    lim: BatchLimits,
    hold: usize,
) -> Result<Planned, Fault> {
    let mut first = fill_capped(provider, spec, mode, cursor, lim, hold)?;
    if first.end || first.count >= lim.max_items || hold >= lim.budget {
        return Ok(Planned { first, rest: None });
    }
    // `first` stopped at `hold`, at a slow item, or at the batch's own limits; going on from
    // its end tells which, at the cost of one more item render in the last two cases.
    let start = *cursor;
    let mut used = first.items.len();
    let mut chars = match lim.max_characters {
        Some(_) => first.items.chars().count() as u64,
        None => 0,
    };
    let mut count = 0u32;
    let mut rest_chars = 0u64;
    let mut end = false;
    while first.count.saturating_add(count) < lim.max_items {
        let sub = BatchLimits {
            max_items: lim.max_items - first.count - count,
            budget: lim.budget.saturating_sub(used),
            spare: 0,
            max_characters: lim.max_characters.map(|m| m.saturating_sub(chars)),
        };
        let b = match fill_capped(provider, spec, mode, cursor, sub, hold) {
            Ok(b) => b,
            // Nothing ready, or the next item does not fit what is left: the batch ends here,
            // with more to come, as `fill` ends it.
            Err(f) if matches!(f.kind, FaultKind::TimedOut | FaultKind::EncodingLimit) => break,
            Err(f) => return Err(f),
        };
        used += b.items.len();
        if lim.max_characters.is_some() {
            let n = b.items.chars().count() as u64;
            rest_chars += n;
            chars += n;
        }
        count += b.count;
        end = b.end;
        if b.end || b.count == 0 {
            break;
        }
    }
    first.end = end;
    let rest = (count > 0).then(|| Rest {
        cursor: start,
        count,
        bytes: used - first.items.len(),
        chars: rest_chars,
    });
    if rest.is_none() {
        *cursor = start;
    }
    Ok(Planned { first, rest })
}

/// Renders items from `*cursor` on until a limit is reached, advancing `*cursor` past the
/// returned items only. Each item is rendered speculatively at the end of the batch and cut off
/// again if it does not fit, which is why [`ItemWalk::next`] must be side-effect free.
///
/// The batch is one [bounded](XmlWriter::bounded) buffer: it never grows past the byte budget
/// plus the room the envelope needs around it, and an item that does not fit is dropped as it is
/// written rather than rendered whole somewhere else first. On the bare-metal image, a separate
/// scratch buffer per item, a batch grown by reallocation and an envelope copied around the
/// batch made one 8 KiB response hold about 20 KiB of heap at its peak
/// (firmware/cim/tests/heap.rs measures it); two concurrent enumerations did not fit.
///
/// A provider that has nothing ready (`TimedOut`) ends a non-empty batch early, as "more to
/// come"; with nothing gathered yet the fault goes to the caller.
pub fn fill_from<W: ItemWalk>(
    walk: &mut W,
    mode: EnumMode,
    cursor: &mut Cursor,
    lim: BatchLimits,
) -> Result<Batch, Fault> {
    let mut out = XmlWriter::bounded(lim.budget, lim.spare);
    let mut count = 0u32;
    let mut chars: u64 = 0;
    let mut pos = *cursor;
    let batch = |out: XmlWriter, count, end| Batch {
        items: out.into_string(),
        count,
        end,
    };
    loop {
        if count >= lim.max_items {
            // Full: peek (no instance, no EPR) to tell the client whether to come back.
            let mut probe = pos;
            let more = match walk.next(&mut probe, None, false) {
                Ok(item) => item.is_some(),
                Err(f) if not_ready(&f) => true,
                Err(f) => return Err(f),
            };
            *cursor = pos;
            return Ok(batch(out, count, !more));
        }
        let mark = out.len();
        let mut next = pos;
        let written = write_item(walk, mode, &mut next, &mut out);
        let overflowed = out.overflowed();
        if !matches!(written, Ok(true)) || overflowed {
            out.truncate(mark);
        }
        match written {
            Ok(true) => {}
            Ok(false) => {
                *cursor = pos;
                return Ok(batch(out, count, true));
            }
            Err(f) if not_ready(&f) && count > 0 => {
                *cursor = pos;
                return Ok(batch(out, count, false));
            }
            Err(f) => return Err(f),
        }
        if overflowed {
            if count == 0 {
                // Alone too large. Which limit it breaks matters only with MaxCharacters, and
                // only then is it rendered whole, once, to tell; the batch buffer goes first,
                // so the two are never held at once.
                drop(out);
                if lim.max_characters.is_none() {
                    return Err(too_big_for_envelope());
                }
                let mut item = XmlWriter::new();
                let mut next = pos;
                write_item(walk, mode, &mut next, &mut item)?;
                return Err(too_large(lim, item.as_str()));
            }
            *cursor = pos;
            return Ok(batch(out, count, false));
        }
        if let Some(max) = lim.max_characters {
            let item_chars = out.as_str().get(mark..).map_or(0, |t| t.chars().count()) as u64;
            if chars + item_chars > max {
                out.truncate(mark);
                if count == 0 {
                    return Err(max_characters_exceeded());
                }
                *cursor = pos;
                return Ok(batch(out, count, false));
            }
            chars += item_chars;
        }
        count += 1;
        pos = next;
    }
}

/// The fault for a first item that does not fit the batch on its own: MaxCharacters is checked
/// before the envelope budget, as for any other item.
fn too_large(lim: BatchLimits, item: &str) -> Fault {
    if lim
        .max_characters
        .is_some_and(|max| item.chars().count() as u64 > max)
    {
        return max_characters_exceeded();
    }
    too_big_for_envelope()
}

fn too_big_for_envelope() -> Fault {
    Fault::with_detail(
        FaultKind::EncodingLimit,
        FaultDetail::MaxEnvelopeSizeExceeded,
    )
    .message("The next item does not fit in the requested MaxEnvelopeSize.")
}

fn max_characters_exceeded() -> Fault {
    Fault::new(FaultKind::EncodingLimit)
        .message("The next item is larger than the requested wsen:MaxCharacters.")
}

/// Writes one item in the requested mode; `false` when the enumeration is exhausted.
fn write_item<W: ItemWalk>(
    walk: &mut W,
    mode: EnumMode,
    cursor: &mut Cursor,
    out: &mut XmlWriter,
) -> Result<bool, Fault> {
    match mode {
        EnumMode::Objects => Ok(walk.next(cursor, Some(out), false)?.is_some()),
        EnumMode::Epr => match walk.next(cursor, None, true)? {
            Some(epr) => {
                write_epr_element(out, epr);
                Ok(true)
            }
            None => Ok(false),
        },
        EnumMode::ObjectAndEpr => {
            out.open("w:Item", &[]);
            match walk.next(cursor, Some(out), true)? {
                Some(epr) => {
                    write_epr_element(out, epr);
                    out.close("w:Item");
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    }
}

/// An item's `a:EndpointReference` (a walk asked for the EPR always returns one).
fn write_epr_element(out: &mut XmlWriter, epr: Option<crate::provider::Epr>) {
    out.open("a:EndpointReference", &[]);
    if let Some(epr) = epr {
        write_epr(out, &epr);
    }
    out.close("a:EndpointReference");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;
    use crate::provider::{Epr, Filter, Identity, Selector, Target};
    use crate::rng::TokenGen;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    struct Fixed(u64);

    impl Provider for Fixed {
        fn identity(&self) -> Identity {
            Identity {
                vendor: String::new(),
                version: String::new(),
            }
        }
        fn get(&self, _: &Target<'_>, _: &mut XmlWriter) -> Result<(), Fault> {
            Err(Fault::unknown_resource())
        }
        fn enumerate(&self, _: &EnumSpec) -> Result<Cursor, Fault> {
            Ok(0)
        }
        fn next_item(
            &self,
            _: &EnumSpec,
            cursor: &mut Cursor,
            object: Option<&mut XmlWriter>,
        ) -> Result<Option<Epr>, Fault> {
            if *cursor >= self.0 {
                return Ok(None);
            }
            let i = *cursor;
            *cursor += 1;
            if let Some(o) = object {
                o.leaf("p:I", &format!("{i:04}"));
            }
            Ok(Some(Epr {
                resource_uri: "u".into(),
                selectors: vec![Selector::text("K", i.to_string())],
            }))
        }
    }

    fn spec() -> EnumSpec {
        EnumSpec {
            resource_uri: "u".into(),
            namespace: None,
            filter: Filter::None,
        }
    }

    /// [`fill`] of the test spec for a provider that keeps no plan.
    fn fill_unplanned<P: Provider>(
        p: &P,
        mode: EnumMode,
        c: &mut Cursor,
        lim: BatchLimits,
    ) -> Result<Batch, Fault> {
        fill(p, (&spec(), &EnumPlan::default()), mode, c, lim)
    }

    fn lim(max_items: u32, budget: usize) -> BatchLimits {
        BatchLimits {
            max_items,
            budget,
            spare: 0,
            max_characters: None,
        }
    }

    #[test]
    fn batches_by_count_and_detects_end_exactly() {
        let p = Fixed(3);
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(2, 1000)).expect("ok");
        assert_eq!((b.count, b.end, c), (2, false, 2));
        assert_eq!(b.items, "<p:I>0000</p:I><p:I>0001</p:I>");
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(1, 1000)).expect("ok");
        assert_eq!((b.count, b.end, c), (1, true, 3));
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(5, 1000)).expect("ok");
        assert_eq!((b.count, b.end, b.items.as_str()), (0, true, ""));
    }

    #[test]
    fn batches_by_bytes_and_faults_when_nothing_fits() {
        let p = Fixed(10);
        let mut c = 0;
        // Each object item is 15 bytes.
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(100, 40)).expect("ok");
        assert_eq!((b.count, b.end, c), (2, false, 2));
        let f = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(100, 10)).expect_err("too small");
        assert_eq!(f.detail, Some(FaultDetail::MaxEnvelopeSizeExceeded));
        assert_eq!(c, 2, "a failed batch leaves the cursor alone");
    }

    #[test]
    fn max_characters_is_a_hard_cap() {
        let p = Fixed(10);
        let l = |m| BatchLimits {
            max_items: 100,
            budget: 10_000,
            spare: 0,
            max_characters: Some(m),
        };
        // Each item is exactly 15 characters.
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, l(44)).expect("ok");
        assert_eq!((b.count, b.end, c), (2, false, 2));
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, l(45)).expect("ok");
        assert_eq!((b.count, c), (3, 5));
        let f = fill_unplanned(&p, EnumMode::Objects, &mut c, l(14)).expect_err("too small");
        assert_eq!(f.kind, FaultKind::EncodingLimit);
        assert_eq!(c, 5, "a refused item stays for the next Pull");
    }

    /// Items 0..ready are available; asking beyond them is "nothing ready yet".
    struct Growing {
        ready: u64,
    }

    impl Provider for Growing {
        fn identity(&self) -> Identity {
            Fixed(0).identity()
        }
        fn get(&self, t: &Target<'_>, o: &mut XmlWriter) -> Result<(), Fault> {
            Fixed(0).get(t, o)
        }
        fn enumerate(&self, _: &EnumSpec) -> Result<Cursor, Fault> {
            Ok(0)
        }
        fn next_item(
            &self,
            spec: &EnumSpec,
            cursor: &mut Cursor,
            object: Option<&mut XmlWriter>,
        ) -> Result<Option<Epr>, Fault> {
            if *cursor >= self.ready {
                return Err(Fault::new(FaultKind::TimedOut));
            }
            Fixed(u64::MAX).next_item(spec, cursor, object)
        }
    }

    #[test]
    fn nothing_ready_ends_the_batch_or_times_out() {
        let p = Growing { ready: 2 };
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::ObjectAndEpr, &mut c, lim(10, 10_000)).expect("ok");
        assert_eq!((b.count, b.end, c), (2, false, 2));
        assert!(b.items.ends_with("</w:Item>"), "no half-written item");
        let f = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(10, 10_000)).expect_err("none");
        assert_eq!(f.kind, FaultKind::TimedOut);
        assert_eq!(c, 2);
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::Objects, &mut c, lim(2, 10_000)).expect("ok");
        assert_eq!(
            (b.count, b.end),
            (2, false),
            "the peek's not-ready means more to come"
        );
    }

    /// Counts what a batch asks of its walk: EPRs only where the mode sends them, and none
    /// for the "more?" peek, which renders nothing either.
    struct Recording {
        items: u64,
        eprs: u32,
        objects: u32,
        peeks: u32,
    }

    impl ItemWalk for Recording {
        fn next(
            &mut self,
            cursor: &mut Cursor,
            object: Option<&mut XmlWriter>,
            epr: bool,
        ) -> Result<Option<Option<Epr>>, Fault> {
            if *cursor >= self.items {
                return Ok(None);
            }
            let i = *cursor;
            *cursor += 1;
            match object {
                Some(o) => {
                    self.objects += 1;
                    o.leaf("p:I", &format!("{i:04}"));
                }
                None if !epr => self.peeks += 1,
                None => {}
            }
            self.eprs += u32::from(epr);
            Ok(Some(epr.then(|| Epr {
                resource_uri: "u".into(),
                selectors: Vec::new(),
            })))
        }
    }

    #[test]
    fn objects_mode_builds_no_epr_and_the_peek_renders_nothing() {
        let walk = |mode| {
            let mut w = Recording {
                items: 5,
                eprs: 0,
                objects: 0,
                peeks: 0,
            };
            let mut c = 0;
            let b = fill_from(&mut w, mode, &mut c, lim(2, 1000)).expect("ok");
            assert_eq!((b.count, b.end, c), (2, false, 2));
            (w.objects, w.eprs, w.peeks)
        };
        assert_eq!(walk(EnumMode::Objects), (2, 0, 1));
        assert_eq!(walk(EnumMode::Epr), (0, 2, 1));
        assert_eq!(walk(EnumMode::ObjectAndEpr), (2, 2, 1));
    }

    #[test]
    fn item_modes() {
        let p = Fixed(1);
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::ObjectAndEpr, &mut c, lim(5, 10_000)).expect("ok");
        assert!(
            b.items
                .starts_with("<w:Item><p:I>0000</p:I><a:EndpointReference><a:Address>")
        );
        assert!(b.items.ends_with("</a:EndpointReference></w:Item>"));
        let mut c = 0;
        let b = fill_unplanned(&p, EnumMode::Epr, &mut c, lim(5, 10_000)).expect("ok");
        assert!(b.items.starts_with("<a:EndpointReference><a:Address>"));
        assert!(!b.items.contains("p:I"));
    }

    fn ctx(tg: &mut TokenGen, user: &str, now: u64) -> Context {
        Context {
            token: tg.next_uuid(),
            user: user.into(),
            spec: spec(),
            plan: EnumPlan::default(),
            mode: EnumMode::Objects,
            cursor: 0,
            last_used_ms: now,
        }
    }

    #[test]
    fn table_quota_expiry_and_user_binding() {
        let mut g = TokenGen::new(7);
        let mut t = ContextTable::new(2, 1000);
        let a = ctx(&mut g, "alice", 0);
        let tok = a.token;
        t.insert(a, 0).expect("room");
        t.insert(ctx(&mut g, "bob", 0), 0).expect("room");
        let f = t.insert(ctx(&mut g, "bob", 10), 10).expect_err("full");
        assert_eq!(f.kind, FaultKind::QuotaLimit);
        assert_eq!(
            t.take(tok.as_str(), "bob", 10).expect_err("x").kind,
            FaultKind::InvalidEnumerationContext
        );
        let c = t.take(tok.as_str(), "alice", 10).expect("mine");
        t.put_back(c, 500);
        // bob's context idles out at 1001; alice's was touched at 500.
        assert_eq!(t.len(), 2);
        t.insert(ctx(&mut g, "carol", 1200), 1200)
            .expect("expired slot reused");
        assert!(t.take(tok.as_str(), "alice", 1200).is_ok());
        assert!(t.take(tok.as_str(), "alice", 1200).is_err(), "taken once");
        assert!(t.take("uuid:nope", "alice", 1200).is_err());
    }

    /// Issue #20 finding 8: one user filling their quota leaves the rest of the table to the
    /// others; releasing one of theirs gives that user room again, and the table's own bound
    /// still holds across users.
    #[test]
    fn the_quota_is_per_user() {
        let mut g = TokenGen::new(7);
        let mut t = ContextTable::new(5, 1000);
        t.set_max_per_user(2);
        let first = ctx(&mut g, "mallory", 0);
        let tok = first.token;
        t.insert(first, 0).expect("room");
        t.insert(ctx(&mut g, "mallory", 0), 0).expect("room");
        let f = t
            .insert(ctx(&mut g, "mallory", 0), 0)
            .expect_err("over quota");
        assert_eq!(f.kind, FaultKind::QuotaLimit);
        t.insert(ctx(&mut g, "alice", 0), 0)
            .expect("alice has her own quota");
        t.insert(ctx(&mut g, "alice", 0), 0).expect("room");
        assert_eq!(
            t.insert(ctx(&mut g, "alice", 0), 0).expect_err("x").kind,
            FaultKind::QuotaLimit
        );
        t.insert(ctx(&mut g, "bob", 0), 0).expect("room");
        assert_eq!(
            t.insert(ctx(&mut g, "carol", 0), 0).expect_err("x").kind,
            FaultKind::QuotaLimit,
            "the table is full"
        );
        t.take(tok.as_str(), "mallory", 0).expect("hers");
        t.insert(ctx(&mut g, "mallory", 0), 0)
            .expect("room again after finishing one");
    }

    #[test]
    fn contexts_are_bounded_by_what_they_hold() {
        let mut g = TokenGen::new(7);
        let mut t = ContextTable::new(4, 1000);
        let plain = context_bytes(&ctx(&mut g, "alice", 0));
        let mut big = ctx(&mut g, "alice", 0);
        big.spec.filter = Filter::Wql("x".repeat(300));
        assert!(context_bytes(&big) >= plain + 300);
        t.set_max_bytes(plain + context_bytes(&big));
        t.insert(ctx(&mut g, "alice", 0), 0).expect("room");
        t.insert(big.clone(), 0).expect("room, to the byte");
        let f = t.insert(big, 0).expect_err("over the byte bound");
        assert_eq!(f.kind, FaultKind::QuotaLimit);
        assert_eq!(t.len(), 2, "below the count bound all the same");
    }

    /// A provider's plan kept in the context counts against the byte bound: its own
    /// allocation and what it holds.
    #[test]
    fn contexts_count_their_plan() {
        struct Holds(usize);
        impl crate::provider::ProviderPlan for Holds {
            fn heap_bytes(&self) -> usize {
                self.0
            }
        }
        let mut g = TokenGen::new(7);
        let plain = context_bytes(&ctx(&mut g, "alice", 0));
        let mut planned = ctx(&mut g, "alice", 0);
        planned.plan = EnumPlan::new(Holds(1000));
        assert!(context_bytes(&planned) >= plain + 1000 + PER_ALLOCATION);
        let shared = planned.clone();
        assert_eq!(shared.plan, planned.plan, "one plan, shared");
        assert_ne!(shared.plan, EnumPlan::new(Holds(1000)), "not an equal one");
    }

    /// A plan holding its parsed query replaces the query's text in the context when it fits
    /// the byte bound; when only the text fits, the text stays and the plan goes.
    #[test]
    fn a_parsed_query_replaces_its_text_when_it_fits() {
        struct Parsed;
        impl crate::provider::ProviderPlan for Parsed {
            fn heap_bytes(&self) -> usize {
                1000
            }
            fn holds_query(&self) -> bool {
                true
            }
        }
        let mut g = TokenGen::new(7);
        let with_query = |g: &mut TokenGen| {
            let mut c = ctx(g, "alice", 0);
            c.spec.filter = Filter::Wql("x".repeat(100));
            c.plan = EnumPlan::new(Parsed);
            c
        };
        let mut t = ContextTable::new(4, 1000);
        t.insert(with_query(&mut g), 0).expect("unbounded");
        let kept = t.entries.pop().expect("kept");
        assert!(kept.plan.holds_query());
        assert_eq!(kept.spec.filter, Filter::Wql(String::new()));
        let mut light = with_query(&mut g);
        light.plan = EnumPlan::default();
        t.set_max_bytes(context_bytes(&light));
        t.insert(with_query(&mut g), 0).expect("the text fits");
        let kept = t.entries.pop().expect("kept");
        assert!(!kept.plan.holds_query());
        assert_eq!(kept.spec.filter, Filter::Wql("x".repeat(100)));
        t.set_max_bytes(context_bytes(&light) - 1);
        let f = t.insert(with_query(&mut g), 0).expect_err("neither fits");
        assert_eq!(f.kind, FaultKind::QuotaLimit);
    }
}
