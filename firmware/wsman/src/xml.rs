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
/// it would push the envelope past the client's MaxEnvelopeSize.
#[derive(Debug, Default, Clone)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        Self { buf: String::new() }
    }

    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: String::with_capacity(n),
        }
    }

    /// `<name attr="v" ...>`; attribute values are escaped.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.attrs(attrs);
        self.buf.push('>');
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name attr="v" .../>`.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.attrs(attrs);
        self.buf.push_str("/>");
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
        escape_into(&mut self.buf, text, false);
    }

    /// Pre-formed markup, for fragments the caller built with another `XmlWriter`.
    pub fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// Formatted character data (numbers), escaped like `text`.
    pub fn text_fmt(&mut self, args: core::fmt::Arguments<'_>) {
        use core::fmt::Write;
        let start = self.buf.len();
        // Writing into a String cannot fail.
        let _ = self.buf.write_fmt(args);
        if self.buf[start..].bytes().any(needs_escape) {
            let tail = self.buf.split_off(start);
            escape_into(&mut self.buf, &tail, false);
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
    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    pub fn as_str(&self) -> &str {
        &self.buf
    }

    pub fn into_string(self) -> String {
        self.buf
    }

    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape_into(&mut self.buf, v, true);
            self.buf.push('"');
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
    let bytes = text.as_bytes();
    let mut clean = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
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
        out.push_str(text.get(clean..i).unwrap_or(""));
        out.push_str(replacement);
        i += len;
        clean = i;
    }
    out.push_str(text.get(clean..).unwrap_or(""));
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
    fn formatted_numbers() {
        let mut w = XmlWriter::new();
        w.text_fmt(format_args!("{}", -42i32));
        assert_eq!(w.as_str(), "-42");
    }
}
