//! The streamed part of an Enumerate or Pull response.
//!
//! A batch larger than `Limits::stream_from` is not held whole: [`crate::enumeration::plan`]
//! renders its first items, measures the rest without keeping it, and the service answers with
//! the envelope up to the end of those first items (`Reply::body`) and a [`ReplyStream`] for the
//! remainder. The HTTP layer sends the body, then asks the stream for one piece at a time,
//! sending each before it asks for the next, so a response holds one piece (and at most one
//! item larger than a piece) however many items it carries.
//!
//! # Why nothing can go wrong after the first byte
//!
//! Everything the envelope says before its items (EnumerationContext, whether EndOfSequence
//! follows, TotalItemsCountEstimate) and every fault a batch can raise (MaxEnvelopeSize,
//! MaxCharacters, a provider's fault on any item) were decided by `plan`, which rendered every
//! item once before the response existed. The stream renders the same items again from the
//! same cursor with the same side-effect-free walk ([`crate::provider::ItemWalk::next`]).
//! The provider is a view over state the caller may change between two pieces (a poller
//! updating a reading), so a piece is bounded again by what is left of the batch's own byte
//! and character budgets: an item that grew past them, or a provider fault that was not there
//! before, is [`Broken`], and the caller must end the transfer without its last chunk, so the
//! client sees a truncated response rather than one that breaks its MaxEnvelopeSize or lies.
//! Items that disappeared in the meantime (a cleared SEL) make the batch shorter, which is
//! what a client would have seen a moment later anyway.
//!
//! UTF-16 replies stream too: each piece is converted as it is rendered (the BOM went out with
//! the body), since budgets are counted in UTF-8 text and the conversion needs no look-ahead.

use alloc::string::String;
use alloc::vec::Vec;

use crate::enumeration::{BatchLimits, fill_capped};
use crate::envelope::{Charset, EnumMode};
use crate::fault::FaultKind;
use crate::provider::{Cursor, EnumPlan, EnumSpec, Provider};

/// What is left of a response after its body: items to render from a cursor, then the
/// envelope's closing tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyStream {
    pub(crate) spec: EnumSpec,
    /// The plan of the enumeration's Enumerate, shared with its context.
    pub(crate) plan: EnumPlan,
    pub(crate) mode: EnumMode,
    pub(crate) cursor: Cursor,
    /// Items still to send.
    pub(crate) remaining: u32,
    /// UTF-8 bytes the items may still take.
    pub(crate) budget_left: usize,
    /// Characters the items may still take, with MaxCharacters.
    pub(crate) chars_left: Option<u64>,
    /// The envelope after the items (`</n:Items>` on), in UTF-8.
    pub(crate) tail: String,
    pub(crate) charset: Charset,
}

/// The stream cannot go on as planned (see the module docs); end the transfer unfinished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broken;

impl ReplyStream {
    /// Appends the next piece, about `room` bytes of output (more only for a single item larger
    /// than that), to `out`. `Ok(true)` when the response is complete: the envelope's end is in
    /// `out` and there is nothing more to ask.
    pub fn pump<P: Provider>(
        &mut self,
        provider: &P,
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<bool, Broken> {
        if self.remaining > 0 {
            let cap = match self.charset {
                Charset::Utf8 => room,
                Charset::Utf16 => room / 2,
            }
            .max(1);
            let lim = BatchLimits {
                max_items: self.remaining,
                budget: self.budget_left,
                spare: 0,
                max_characters: self.chars_left,
            };
            let spec = (&self.spec, &self.plan);
            let batch = match fill_capped(provider, spec, self.mode, &mut self.cursor, lim, cap) {
                Ok(b) => b,
                // A slow item that was ready a moment ago: the batch ends here, short.
                Err(f) if f.kind == FaultKind::TimedOut => {
                    self.remaining = 0;
                    return self.finish(out);
                }
                Err(_) => return Err(Broken),
            };
            if batch.count == 0 && !batch.end {
                return Err(Broken);
            }
            self.budget_left = self.budget_left.saturating_sub(batch.items.len());
            if let Some(left) = &mut self.chars_left {
                *left = left.saturating_sub(batch.items.chars().count() as u64);
            }
            self.remaining = if batch.end {
                0
            } else {
                self.remaining.saturating_sub(batch.count)
            };
            encode_into(out, &batch.items, self.charset);
        }
        if self.remaining == 0 {
            return self.finish(out);
        }
        Ok(false)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, Broken> {
        encode_into(out, &self.tail, self.charset);
        self.tail = String::new();
        Ok(true)
    }

    /// Pumps the whole rest into `out`, for a peer that cannot take a streamed body (HTTP/1.0)
    /// and for tests: the body then is the response a non-streaming service would have sent.
    pub fn finish_into<P: Provider>(
        &mut self,
        provider: &P,
        out: &mut Vec<u8>,
    ) -> Result<(), Broken> {
        while !self.pump(provider, out, 16 * 1024)? {}
        Ok(())
    }
}

/// Appends `text` in `charset` (UTF-16 little-endian without BOM: it starts the body).
pub fn encode_into(out: &mut Vec<u8>, text: &str, charset: Charset) {
    match charset {
        Charset::Utf8 => out.extend_from_slice(text.as_bytes()),
        Charset::Utf16 => {
            out.reserve(text.len().saturating_mul(2));
            for u in text.encode_utf16() {
                out.extend_from_slice(&u.to_le_bytes());
            }
        }
    }
}
