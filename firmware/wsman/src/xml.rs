//! A minimal XML writer for responses.
//!
//! Responses are built forward into one buffer and never re-parsed, so the writer does no
//! well-formedness bookkeeping: callers pair `open`/`close` themselves. What it does guarantee is
//! escaping of every text and attribute value, because instance data (sensor names from a board
//! file, SEL text) must never be able to break the envelope.

use alloc::string::String;

/// Forward-only XML output into a growable string.
///
/// `len`/`truncate` let the enumeration pager render an item speculatively and drop it again when
/// it would push the envelope past the client's MaxEnvelopeSize. A [bounded](Self::bounded)
/// writer is how it does so without a second buffer: output past the bound is dropped (and
/// [`Self::overflowed`] says so) instead of growing the buffer past what the response may take.
#[derive(Debug, Clone)]
pub struct XmlWriter {
    buf: String,
    /// Most bytes the content may reach; `usize::MAX` for an unbounded writer.
    limit: usize,
    /// Capacity kept beyond `limit` for whatever the caller adds around the content later.
    spare: usize,
    /// Something was dropped because it would have passed `limit`.
    overflowed: bool,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// First allocation of a bounded writer when its bound is larger: DSP0226's smallest
/// MaxEnvelopeSize, so the common response on a small image is one allocation that never moves.
const FIRST_CAPACITY: usize = 8192;

impl XmlWriter {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: String::with_capacity(n),
            limit: usize::MAX,
            spare: 0,
            overflowed: false,
        }
    }

    /// A writer whose content never passes `limit` bytes and whose buffer never holds more than
    /// `limit + spare`. A write that would pass `limit` is dropped whole and sets
    /// [`Self::overflowed`]; the caller truncates back to a mark it took before. The buffer
    /// starts at `min(limit, 8 KiB) + spare` and doubles from there as needed, never past the
    /// bound, so a bounded response never asks the heap for more than its budget.
    pub fn bounded(limit: usize, spare: usize) -> Self {
        Self {
            buf: String::with_capacity(limit.min(FIRST_CAPACITY).saturating_add(spare)),
            limit,
            spare,
            overflowed: false,
        }
    }

    /// Most bytes the content may reach (`usize::MAX` unbounded): what a caller may size its
    /// own per-response heap by.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether output was dropped at the bound since the last [`Self::truncate`].
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Appends `s` within the bound. Unbounded writers append exactly as `String` does.
    fn put(&mut self, s: &str) {
        if self.fits(s.len()) {
            self.buf.push_str(s);
        } else {
            self.put_growing(s);
        }
    }

    /// Whether `n` more bytes go in without growing the buffer or passing the bound: the
    /// common case, kept small enough to inline into every caller, which a response's many short
    /// pieces (`<`, a tag, `>`) pay for each.
    #[inline]
    fn fits(&self, n: usize) -> bool {
        !self.overflowed
            && n <= self.buf.capacity() - self.buf.len()
            && self.buf.len() + n <= self.limit
    }

    /// [`Self::put`] when the buffer must grow or the bound is reached.
    #[inline(never)]
    fn put_growing(&mut self, s: &str) {
        if self.limit == usize::MAX {
            self.buf.push_str(s);
            return;
        }
        let need = self.buf.len().saturating_add(s.len());
        if self.overflowed || need > self.limit {
            self.overflowed = true;
            return;
        }
        if need > self.buf.capacity() {
            // Room for the spare whenever the buffer moves, so it never has to move again for it.
            let target = self
                .buf
                .capacity()
                .saturating_mul(2)
                .max(need.saturating_add(self.spare))
                .min(self.limit.saturating_add(self.spare));
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.push_str(s);
    }

    /// One ASCII byte of markup (`<`, `>`, `"`, a space): pushed without a copy call.
    fn put_char(&mut self, c: char) {
        if c.is_ascii() && self.fits(1) {
            self.buf.push(c);
        } else {
            self.put(c.encode_utf8(&mut [0; 4]));
        }
    }

    /// `<name attr="v" ...>`; attribute values are escaped.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.put_char('<');
        self.put(name);
        if !attrs.is_empty() {
            self.attrs(attrs);
        }
        self.put_char('>');
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.put("</");
        self.put(name);
        self.put_char('>');
    }

    /// `<name attr="v" .../>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.put_char('<');
        self.put(name);
        self.attrs(attrs);
        self.put("/>");
    }

    /// `<name>text</name>` with the text escaped.
    pub fn leaf(&mut self, name: &str, text: &str) {
        self.open(name, &[]);
        self.text(text);
        self.close(name);
    }

    /// `<name attrs>text</name>` with text and attributes escaped.
    pub fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.text(text);
        self.close(name);
    }

    /// Escaped character data.
    pub fn text(&mut self, text: &str) {
        self.escaped(text, false);
    }

    /// Character data or an attribute value, escaped: one copy of the escaper for both (each
    /// closure passed to [`escape_with`] was its own copy in the bare-metal image).
    #[inline(never)]
    fn escaped(&mut self, text: &str, attr: bool) {
        // Most text needs nothing. One pass tests every byte without a branch per byte (so the
        // host's compiler vectorizes it), and clean text goes in with one copy: the byte-wise
        // scan of `escape_with`, run on every text value of every instance, was 15% of an
        // Enumerate's instructions on the host (issue 17).
        let special = text.bytes().fold(false, |any, b| any | may_need_escape(b));
        if !special {
            self.put(text);
            return;
        }
        escape_with(text, attr, |s| self.put(s));
    }

    /// Pre-formed markup, for fragments the caller built with another `XmlWriter`.
    pub fn raw(&mut self, markup: &str) {
        self.put(markup);
    }

    /// A decimal integer as character data, `-` first when `negative` (and `magnitude` > 0),
    /// exactly as `{}` formats it. Written by hand rather than through `core::fmt`: on the
    /// bare-metal image each formatted integer type links its own `Display` code, and these
    /// are the hottest of them (every CIM integer property).
    pub fn text_int(&mut self, negative: bool, magnitude: u64) {
        // Only ASCII digits and '-', which never need escaping. Most CIM integers are small
        // (states, types, units): one or two digits go in without the digit loop and the
        // UTF-8 check of `Dec::as_str`, 3% of an Enumerate's instructions on the host
        // (issue 17).
        if !negative && magnitude < 100 {
            let (tens, ones) = ((magnitude / 10) as u8, (magnitude % 10) as u8);
            if tens > 0 {
                self.put_char(char::from(b'0' + tens));
            }
            self.put_char(char::from(b'0' + ones));
            return;
        }
        self.put(crate::text::Dec::from_parts(negative, magnitude).as_str());
    }

    /// Formatted character data (numbers), escaped like `text`.
    pub fn text_fmt(&mut self, args: core::fmt::Arguments<'_>) {
        use core::fmt::Write;
        let start = self.buf.len();
        // Writing into the buffer cannot fail: past the bound, output is dropped, not an error.
        let _ = Put(self).write_fmt(args);
        if self
            .buf
            .get(start..)
            .is_some_and(|t| t.bytes().any(needs_escape))
        {
            let tail = self.buf.split_off(start);
            self.text(&tail);
        }
    }

    /// Makes room for `additional` more bytes, growing by doubling as `String` would but never
    /// to more than `limit` bytes when the content itself fits in `limit`: a buffer bounded by a
    /// response budget then never allocates past that budget.
    pub fn reserve_within(&mut self, additional: usize, limit: usize) {
        let need = self.buf.len().saturating_add(additional);
        if need <= self.buf.capacity() {
            return;
        }
        let target = self.buf.capacity().saturating_mul(2).min(limit).max(need);
        self.buf.reserve_exact(target - self.buf.len());
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops everything written after byte `len` (a value previously returned by [`Self::len`]).
    /// Clears [`Self::overflowed`]: what was dropped is gone with what is truncated.
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
        self.overflowed = false;
    }

    pub fn as_str(&self) -> &str {
        &self.buf
    }

    pub fn into_string(self) -> String {
        self.buf
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            self.put_char(' ');
            self.put(k);
            self.put("=\"");
            self.escaped(v, true);
            self.put_char('"');
        }
    }
}

fn needs_escape(b: u8) -> bool {
    matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'')
}

/// Escapes `text` into `out`. Control characters that XML 1.0 cannot carry at all are replaced
/// with U+FFFD rather than emitted, so a corrupt SEL string cannot make the response unparsable.
///
/// Runs of bytes that need nothing are copied whole: everything that needs attention is an ASCII
/// byte or starts with 0xEF (U+FFFE and U+FFFF are EF BF BE/BF in UTF-8), so the runs always end
/// on character boundaries.
pub fn escape_into(out: &mut String, text: &str, attr: bool) {
    escape_with(text, attr, |s| out.push_str(s));
}

/// Whether `b` may start something [`escape_with`] replaces, in text or in an attribute: the
/// one test both its scan and [`XmlWriter::escaped`]'s clean-text check make. `|`, not `||`, so
/// the check over a whole text has no branch per byte.
fn may_need_escape(b: u8) -> bool {
    (b < 0x20) | matches!(b, b'<' | b'>' | b'&' | b'"' | b'\'' | 0xEF)
}

/// [`escape_into`] for any sink, piece by piece.
fn escape_with(text: &str, attr: bool, mut put: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut clean = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // Most bytes are none of the cases below in either mode: passed over with one test
        // (the escaper is shared by text and attributes, so `attr` is not known here).
        if !may_need_escape(b) {
            i += 1;
            continue;
        }
        let (replacement, len): (&str, usize) = match b {
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'"' if attr => ("&quot;", 1),
            b'\'' if attr => ("&apos;", 1),
            // Attribute-value normalisation would turn these into spaces; keep them exact.
            b'\t' if attr => ("&#9;", 1),
            b'\n' if attr => ("&#10;", 1),
            b'\r' if attr => ("&#13;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            0..0x20 => ("\u{FFFD}", 1),
            0xEF if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => ("\u{FFFD}", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        put(text.get(clean..i).unwrap_or(""));
        put(replacement);
        i += len;
        clean = i;
    }
    put(text.get(clean..).unwrap_or(""));
}

/// `fmt::Write` through the bound of a writer.
struct Put<'a>(&'a mut XmlWriter);

impl core::fmt::Write for Put<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.put(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut w = XmlWriter::new();
        w.leaf_with("p:X", &[("Name", "a\"b<c")], "1 < 2 & 3 > 0 'q'");
        assert_eq!(
            w.as_str(),
            "<p:X Name=\"a&quot;b&lt;c\">1 &lt; 2 &amp; 3 &gt; 0 'q'</p:X>"
        );
    }

    #[test]
    fn control_characters_never_reach_the_output() {
        let mut w = XmlWriter::new();
        w.text("a\u{1}b\u{0}c");
        assert_eq!(w.as_str(), "a\u{FFFD}b\u{FFFD}c");
        assert!(roxmltree::Document::parse(&alloc::format!("<r>{}</r>", w.as_str())).is_ok());
    }

    #[test]
    fn escaping_keeps_other_characters_and_replaces_non_characters() {
        let mut w = XmlWriter::new();
        w.text("é\u{FFFE}x\u{FFFF}\u{FFFD}\u{EFBF}\t\n&");
        assert_eq!(w.as_str(), "é\u{FFFD}x\u{FFFD}\u{FFFD}\u{EFBF}\t\n&amp;");
        let mut w = XmlWriter::new();
        w.empty("a", &[("v", "\t\n\r'\u{7}")]);
        assert_eq!(w.as_str(), "<a v=\"&#9;&#10;&#13;&apos;\u{FFFD}\"/>");
    }

    #[test]
    fn truncate_drops_a_speculative_item() {
        let mut w = XmlWriter::new();
        w.empty("a", &[]);
        let mark = w.len();
        w.leaf("b", "x");
        w.truncate(mark);
        assert_eq!(w.as_str(), "<a/>");
    }

    #[test]
    fn reserve_within_never_grows_past_the_limit() {
        let mut w = XmlWriter::new();
        for _ in 0..100 {
            w.reserve_within(70, 1000);
            if w.len() + 70 > 1000 {
                break;
            }
            w.raw(&"x".repeat(70));
            assert!(w.buf.capacity() <= 1000, "{}", w.buf.capacity());
        }
        assert_eq!(w.len(), 980);
    }

    #[test]
    fn a_bounded_writer_drops_what_passes_its_bound_and_never_grows_past_it() {
        let mut w = XmlWriter::bounded(100, 20);
        let cap = w.buf.capacity();
        assert!((120..=128).contains(&cap), "{cap}");
        w.leaf("a", &"x".repeat(60));
        let mark = w.len();
        assert!(!w.overflowed());
        w.leaf("b", &"y".repeat(60));
        w.text_fmt(format_args!("{}", 7));
        assert!(w.overflowed());
        assert_eq!(w.buf.capacity(), cap);
        w.truncate(mark);
        assert!(!w.overflowed());
        assert_eq!(w.as_str(), alloc::format!("<a>{}</a>", "x".repeat(60)));
        // The spare is there for the caller, after the content.
        w.buf.push_str(&"z".repeat(20));
        assert_eq!(w.buf.capacity(), cap);
    }

    #[test]
    fn formatted_numbers() {
        let mut w = XmlWriter::new();
        w.text_fmt(format_args!("{}", -42i32));
        assert_eq!(w.as_str(), "-42");
    }

    #[test]
    fn text_int_writes_what_display_writes() {
        let cases: [(bool, u64); 8] = [
            (false, 0),
            (true, 0),
            (false, 7),
            (true, 42),
            (false, 1_000_000),
            (false, u64::MAX),
            (true, i64::MIN.unsigned_abs()),
            (true, 128),
        ];
        for (negative, magnitude) in cases {
            let mut w = XmlWriter::new();
            w.text_int(negative, magnitude);
            let want = if negative && magnitude != 0 {
                alloc::format!("-{magnitude}")
            } else {
                alloc::format!("{magnitude}")
            };
            assert_eq!(w.as_str(), want);
        }
        let mut w = XmlWriter::new();
        w.text_int(true, i64::MIN.unsigned_abs());
        assert_eq!(w.as_str(), alloc::format!("{}", i64::MIN));
        // The one- and two-digit path and its edges, both signs.
        for magnitude in 0..=120u64 {
            for negative in [false, true] {
                let mut w = XmlWriter::new();
                w.text_int(negative, magnitude);
                let n = if negative {
                    -(magnitude as i64)
                } else {
                    magnitude as i64
                };
                assert_eq!(w.as_str(), alloc::format!("{n}"));
            }
        }
    }
}
