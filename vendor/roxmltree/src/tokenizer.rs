use core::ops::Range;
use core::str;

use memchr::{memchr, memchr2};

use crate::{Error, TextPos};

type Result<T> = core::result::Result<T, Error>;

/// Extension methods for XML-subset only operations.
trait XmlCharExt {
    /// Checks if the value is within the
    /// [NameStartChar](https://www.w3.org/TR/xml/#NT-NameStartChar) range.
    fn is_xml_name_start(&self) -> bool;

    /// Checks if the value is within the
    /// [NameChar](https://www.w3.org/TR/xml/#NT-NameChar) range.
    fn is_xml_name(&self) -> bool;

    /// Checks if the value is within the
    /// [Char](https://www.w3.org/TR/xml/#NT-Char) range.
    fn is_xml_char(&self) -> bool;
}

impl XmlCharExt for char {
    #[inline]
    fn is_xml_name_start(&self) -> bool {
        // Check for ASCII first.
        if *self as u32 <= 128 {
            return (*self as u8).is_xml_name_start();
        }

        matches!(*self as u32,
            0x0000C0..=0x0000D6
            | 0x0000D8..=0x0000F6
            | 0x0000F8..=0x0002FF
            | 0x000370..=0x00037D
            | 0x00037F..=0x001FFF
            | 0x00200C..=0x00200D
            | 0x002070..=0x00218F
            | 0x002C00..=0x002FEF
            | 0x003001..=0x00D7FF
            | 0x00F900..=0x00FDCF
            | 0x00FDF0..=0x00FFFD
            | 0x010000..=0x0EFFFF)
    }

    /// wsbmc patch: a `NameStartChar` or one of the few more a `NameChar` may be (digits, `-`,
    /// `.`, U+00B7, U+0300 to U+036F, U+203F and U+2040), rather than a second copy of the
    /// start ranges (PATCHED.md).
    #[inline]
    fn is_xml_name(&self) -> bool {
        self.is_xml_name_start()
            || matches!(*self, '0'..='9' | '-' | '.' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
    }

    #[inline]
    fn is_xml_char(&self) -> bool {
        // Does not check for surrogate code points U+D800-U+DFFF,
        // since that check was performed by Rust when the `&str` was constructed.
        if (*self as u32) < 0x20 {
            return (*self as u8).is_xml_space();
        }

        !matches!(*self as u32, 0xFFFF | 0xFFFE)
    }
}

trait XmlByteExt {
    /// Checks if byte is a space.
    ///
    /// `[ \r\n\t]`
    fn is_xml_space(&self) -> bool;

    /// Checks if the value is within the
    /// [NameStartChar](https://www.w3.org/TR/xml/#NT-NameStartChar) range.
    fn is_xml_name_start(&self) -> bool;

    /// Checks if the value is within the
    /// [Char](https://www.w3.org/TR/xml/#NT-Char) range.
    fn is_xml_char(&self) -> bool;
}

impl XmlByteExt for u8 {
    #[inline]
    fn is_xml_space(&self) -> bool {
        matches!(*self, b' ' | b'\t' | b'\n' | b'\r')
    }

    #[inline]
    fn is_xml_name_start(&self) -> bool {
        matches!(*self, b'A'..=b'Z' | b'a'..=b'z' | b':' | b'_')
    }

    #[inline]
    fn is_xml_char(&self) -> bool {
        *self > 0x20 || self.is_xml_space()
    }
}

/// wsbmc patch: the ASCII `NameChar` bytes as a bit set (one bit per byte, in four words: 16 B
/// of flash on the bare-metal image, where a `[bool; 128]` took 128), for `consume_qname`.
const ASCII_NAME: [u32; 4] = {
    let mut t = [0u32; 4];
    let mut b = 0;
    while b < 128 {
        if matches!(b as u8, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b':' | b'_' | b'-' | b'.') {
            t[b / 32] |= 1 << (b % 32);
        }
        b += 1;
    }
    t
};

/// wsbmc patch: one pass over the bytes, turning to the character check at the first that is
/// not ASCII, instead of `is_ascii` over the whole value (a word-at-a-time loop inlined into
/// `parse_start_tag`) and then a second pass. The first character that is not an XML character
/// is the one reported, as before (PATCHED.md).
#[inline]
fn is_xml_str(s: &str, value_start: usize, stream: &mut Stream<'_>) -> Result<()> {
    for (i, b) in s.as_bytes().iter().enumerate() {
        if !b.is_ascii() {
            return is_xml_str_unicode(s, value_start, stream);
        }
        if !b.is_xml_char() {
            return Err(Error::NonXmlChar(*b as char, stream.gen_text_pos_from(value_start + i)));
        }
    }

    Ok(())
}

#[cold]
#[inline(never)]
fn is_xml_str_unicode(s: &str, value_start: usize, stream: &mut Stream<'_>) -> Result<()> {
    for (i, ch) in s.char_indices() {
        if !ch.is_xml_char() {
            return Err(Error::NonXmlChar(ch, stream.gen_text_pos_from(value_start + i)));
        }
    }

    Ok(())
}

/// Whether `name` starts with a `NameStartChar`.
fn is_xml_name_start(name: &str) -> bool {
    if let Some(b) = name.as_bytes().first() {
        if *b < 128 {
            return b.is_xml_name_start();
        } else if let Some(c) = name.chars().next() {
            return c.is_xml_name_start();
        }
    }

    false
}

/// A string slice.
///
/// Like `&str`, but also contains the position in the input XML
/// from which it was parsed.
#[must_use]
#[derive(Clone, Copy)]
pub struct StrSpan<'input> {
    text: &'input str,
    start: usize,
}

impl<'input> From<&'input str> for StrSpan<'input> {
    #[inline]
    fn from(text: &'input str) -> Self {
        StrSpan { text, start: 0 }
    }
}

impl<'input> StrSpan<'input> {
    #[inline]
    pub fn from_substr(text: &'input str, start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        StrSpan {
            text: &text[start..end],
            start,
        }
    }

    #[inline]
    pub fn range(&self) -> Range<usize> {
        self.start..(self.start + self.text.len())
    }

    #[inline]
    pub fn as_str(&self) -> &'input str {
        self.text
    }

    #[inline]
    fn slice_region(&self, start: usize, end: usize) -> &'input str {
        &self.text[start..end]
    }
}

pub enum Token<'input> {
    // <!-- text -->
    Comment(&'input str, Range<usize>),

    // <ns:elem
    ElementStart(&'input str, &'input str, usize),

    // ns:attr="value"
    Attribute(Range<usize>, u16, u8, &'input str, &'input str, StrSpan<'input>),

    ElementEnd(ElementEnd<'input>, Range<usize>),

    // Contains text between elements including whitespaces.
    // Basically everything between `>` and `<`.
    // Except `]]>`, which is not allowed and will lead to an error.
    Text(&'input str, Range<usize>),

    // <![CDATA[text]]>
    Cdata(&'input str, Range<usize>),
}

/// `ElementEnd` token.
#[derive(Clone, Copy)]
pub enum ElementEnd<'input> {
    /// Indicates `>`
    Open,
    /// Indicates `</ns:name>`
    Close(&'input str, &'input str),
    /// Indicates `/>`
    Empty,
}

pub trait XmlEvents<'input> {
    fn token(&mut self, token: Token<'input>) -> Result<()>;
}

// document ::= prolog element Misc*
//
// wsbmc patch: a document type declaration is always refused (`Error::DtdDetected`), so the
// DTD parser (internal subset, entity declarations, external IDs) and entity expansion are not
// in this copy (PATCHED.md). Upstream refused it too unless `ParsingOptions::allow_dtd`.
pub fn parse<'input>(
    text: &'input str,
    events: &mut impl XmlEvents<'input>,
) -> Result<()> {
    let s = &mut Stream::new(text);

    parse_declaration(s)?;

    parse_misc(s, events)?;

    s.skip_spaces();
    if s.starts_with(b"<!DOCTYPE") {
        return Err(Error::DtdDetected);
    }

    s.skip_spaces();
    if s.curr_byte().ok() == Some(b'<') && parse_start_tag(s, events)? {
        parse_content(s, events)?;
    }

    parse_misc(s, events)?;

    if !s.at_end() {
        return Err(Error::UnknownToken(s.gen_text_pos()));
    }

    Ok(())
}

// Misc ::= Comment | PI | S
fn parse_misc<'input>(s: &mut Stream<'input>, events: &mut impl XmlEvents<'input>) -> Result<()> {
    while !s.at_end() {
        s.skip_spaces();
        if s.starts_with(b"<!--") {
            parse_comment(s, events)?;
        } else if s.starts_with(b"<?") {
            return Err(refuse_pi(s));
        } else {
            break;
        }
    }

    Ok(())
}

// XMLDecl ::= '<?xml' VersionInfo EncodingDecl? SDDecl? S? '?>'
//
// We don't actually return a token for the XML declaration and only validate it.
fn parse_declaration(s: &mut Stream) -> Result<()> {
    // Skip UTF-8 BOM.
    if s.starts_with(&[0xEF, 0xBB, 0xBF]) {
        s.advance(3);
    }

    // wsbmc patch: any XML whitespace may follow `<?xml` (XML 1.0 §2.8, `VersionInfo ::= S
    // 'version' ...`); upstream took only a space and read `<?xml` + tab or newline as a
    // processing instruction, which this copy refuses.
    if !s.starts_with_declaration() {
        return Ok(())
    }

    fn consume_spaces(s: &mut Stream) -> Result<()> {
        if s.starts_with_space() {
            s.skip_spaces();
        } else if !s.starts_with(b"?>") && !s.at_end() {
            return Err(Error::InvalidChar2(
                "a whitespace",
                s.curr_byte_unchecked(),
                s.gen_text_pos(),
            ));
        }

        Ok(())
    }

    s.advance(5); // <?xml
    consume_spaces(s)?;

    // The `version` "attribute" is mandatory.
    if !s.starts_with(b"version") {
        // Will trigger the InvalidString error, which is what we want.
        return s.skip_string(b"version");
    }
    let _ = parse_attribute(s)?;
    consume_spaces(s)?;

    if s.starts_with(b"encoding") {
        let _ = parse_attribute(s)?;
        consume_spaces(s)?;
    }

    if s.starts_with(b"standalone") {
        let _ = parse_attribute(s)?;
    }

    s.skip_spaces();
    s.skip_string(b"?>")?;

    Ok(())
}

// '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'
fn parse_comment<'input>(s: &mut Stream<'input>, events: &mut impl XmlEvents<'input>) -> Result<()> {
    let start = s.pos();
    s.advance(4);
    let text = s.consume_chars_until(b"-->", 0)?;
    s.skip_string(b"-->")?;

    // wsbmc patch: a byte scan, not `str::contains`, which links the standard library's
    // substring searcher (PATCHED.md).
    if text.as_bytes().windows(2).any(|w| w == b"--") {
        return Err(Error::InvalidComment(s.gen_text_pos_from(start)));
    }

    if text.ends_with('-') {
        return Err(Error::InvalidComment(s.gen_text_pos_from(start)));
    }

    let range = s.range_from(start);
    events.token(Token::Comment(text, range))?;

    Ok(())
}

// PI       ::= '<?' PITarget (S (Char* - (Char* '?>' Char*)))? '?>'
//
// wsbmc patch: a processing instruction is refused (`Error::ProcessingInstruction`) instead of
// parsed: SOAP 1.2 Part 1 §5 says a message has none and a receiver should fault one
// (PATCHED.md). An XML declaration anywhere but the start is still `UnexpectedDeclaration`.
#[cold]
fn refuse_pi(s: &Stream<'_>) -> Error {
    if s.starts_with_declaration() {
        Error::UnexpectedDeclaration(s.gen_text_pos())
    } else {
        Error::ProcessingInstruction(s.gen_text_pos())
    }
}

// EmptyElemTag ::= '<' Name (S Attribute)* S? '/>'
// STag         ::= '<' Name (S Attribute)* S? '>'
//
// Returns `true` for a start tag, i.e. when the element's content still has to be parsed.
fn parse_start_tag<'input>(s: &mut Stream<'input>, events: &mut impl XmlEvents<'input>) -> Result<bool> {
    let start = s.pos();
    s.advance(1); // <
    let (prefix, local) = s.consume_qname()?;
    events.token(Token::ElementStart(prefix, local, start))?;

    let mut open = false;
    while !s.at_end() {
        let has_space = s.starts_with_space();
        s.skip_spaces();
        let start = s.pos();
        match s.curr_byte()? {
            b'/' => {
                s.advance(1);
                s.consume_byte(b'>')?;
                let range = s.range_from(start);
                events.token(Token::ElementEnd(ElementEnd::Empty, range))?;
                break;
            }
            b'>' => {
                s.advance(1);
                let range = s.range_from(start);
                events.token(Token::ElementEnd(ElementEnd::Open, range))?;
                open = true;
                break;
            }
            _ => {
                // An attribute must be preceded with a whitespace.
                if !has_space {
                    // Will always trigger an error. Which is what we want.
                    s.consume_spaces()?;
                }

                // Manual inlining of `parse_attribute` for performance.
                // We cannot mark `parse_attribute` as `#[inline(always)]`
                // because it will blow up the binary size.
                let (prefix, local) = s.consume_qname()?;
                let qname_end = s.pos();
                let qname_len = u16::try_from(qname_end - start).unwrap_or(u16::MAX);
                s.consume_eq()?;
                let eq_len = u8::try_from(s.pos() - qname_end).unwrap_or(u8::MAX);
                let quote = s.consume_quote()?;
                // The attribute value must not contain the < character.
                let value_start = s.pos();
                s.advance_until2(quote, b'<')?;
                let value = s.slice_back_span(value_start);
                is_xml_str(value.as_str(), value_start, s)?;
                s.consume_byte(quote)?;
                let end = s.pos();
                events.token(Token::Attribute(start..end, qname_len, eq_len, prefix, local, value))?;
            }
        }
    }

    Ok(open)
}

// Attribute ::= Name Eq AttValue
fn parse_attribute<'input>(
    s: &mut Stream<'input>,
) -> Result<(&'input str, &'input str, StrSpan<'input>)> {
    let (prefix, local) = s.consume_qname()?;
    s.consume_eq()?;
    let quote = s.consume_quote()?;
    // The attribute value must not contain the < character.
    let value_start = s.pos();
    s.consume_chars_until(&[quote], b'<')?;
    let value = s.slice_back_span(value_start);
    s.consume_byte(quote)?;
    Ok((prefix, local, value))
}

// content ::= CharData? ((element | Reference | CDSect | PI | Comment) CharData?)*
// element ::= EmptyElemTag | STag content ETag
//
// Nested elements are parsed iteratively, tracking the depth explicitly
// instead of recursing, so deeply nested documents cannot overflow the stack.
// An end tag at depth 0 closes the caller's element and ends this call.
pub fn parse_content<'input>(
    s: &mut Stream<'input>,
    events: &mut impl XmlEvents<'input>,
) -> Result<()> {
    let mut depth: u32 = 0;

    while !s.at_end() {
        match s.curr_byte() {
            Ok(b'<') => match s.next_byte() {
                Ok(b'!') => {
                    if s.starts_with(b"<!--") {
                        parse_comment(s, events)?;
                    } else if s.starts_with(b"<![CDATA[") {
                        parse_cdata(s, events)?;
                    } else {
                        return Err(Error::UnknownToken(s.gen_text_pos()));
                    }
                }
                Ok(b'?') => return Err(refuse_pi(s)),
                Ok(b'/') => {
                    parse_close_element(s, events)?;
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                Ok(_) => {
                    if parse_start_tag(s, events)? {
                        depth = depth.checked_add(1).ok_or(Error::NodesLimitReached)?;
                    }
                }
                Err(_) => return Err(Error::UnknownToken(s.gen_text_pos())),
            },
            Ok(_) => parse_text(s, events)?,
            Err(_) => return Err(Error::UnknownToken(s.gen_text_pos())),
        }
    }

    Ok(())
}

// CDSect  ::= CDStart CData CDEnd
// CDStart ::= '<![CDATA['
// CData   ::= (Char* - (Char* ']]>' Char*))
// CDEnd   ::= ']]>'
fn parse_cdata<'input>(s: &mut Stream<'input>, events: &mut impl XmlEvents<'input>) -> Result<()> {
    let start = s.pos();
    s.advance(9); // <![CDATA[
    let text = s.consume_chars_until(b"]]>", 0)?;
    s.skip_string(b"]]>")?;
    let range = s.range_from(start);
    events.token(Token::Cdata(text, range))?;
    Ok(())
}

// '</' Name S? '>'
fn parse_close_element<'input>(
    s: &mut Stream<'input>,
    events: &mut impl XmlEvents<'input>,
) -> Result<()> {
    let start = s.pos();
    s.advance(2); // </

    let (prefix, tag_name) = s.consume_qname()?;
    s.skip_spaces();
    s.consume_byte(b'>')?;

    let range = s.range_from(start);
    events.token(Token::ElementEnd(
        ElementEnd::Close(prefix, tag_name),
        range,
    ))?;
    Ok(())
}

fn parse_text<'input>(s: &mut Stream<'input>, events: &mut impl XmlEvents<'input>) -> Result<()> {
    let start = s.pos();
    let text = s.consume_chars_until(b"<", 0)?;

    // According to the spec, `]]>` must not appear inside a Text node.
    // https://www.w3.org/TR/xml/#syntax
    //
    // Search for `>` first, since it's a bit faster than looking for `]]>`.
    // wsbmc patch: a byte scan for `]]>`, as in parse_comment, and `memchr` for the `>`
    // (`str::contains` with a `char` linked a searcher of its own).
    if memchr(b'>', text.as_bytes()).is_some() && text.as_bytes().windows(3).any(|w| w == b"]]>") {
        return Err(Error::InvalidCharacterData(s.gen_text_pos()));
    }

    let range = s.range_from(start);
    events.token(Token::Text(text, range))?;
    Ok(())
}

/// Representation of the [Reference](https://www.w3.org/TR/xml/#NT-Reference) value.
#[derive(Clone, Copy)]
pub enum Reference<'input> {
    /// An entity reference.
    ///
    /// <https://www.w3.org/TR/xml/#NT-EntityRef>
    Entity(&'input str),

    /// A character reference.
    ///
    /// <https://www.w3.org/TR/xml/#NT-CharRef>
    Char(char),
}

#[derive(Clone)]
pub struct Stream<'input> {
    pos: usize,
    end: usize,
    span: StrSpan<'input>,
}

impl<'input> Stream<'input> {
    #[inline]
    pub fn new(text: &'input str) -> Self {
        Stream {
            pos: 0,
            end: text.len(),
            span: text.into(),
        }
    }

    #[inline]
    pub fn from_substr(text: &'input str, fragment: Range<usize>) -> Self {
        Stream {
            pos: fragment.start,
            end: fragment.end,
            span: text.into(),
        }
    }

    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    #[inline]
    pub fn curr_byte(&self) -> Result<u8> {
        if self.at_end() {
            return Err(Error::UnexpectedEndOfStream);
        }

        Ok(self.curr_byte_unchecked())
    }

    #[inline]
    pub fn curr_byte_unchecked(&self) -> u8 {
        self.span.text.as_bytes()[self.pos]
    }

    #[inline]
    fn next_byte(&self) -> Result<u8> {
        if self.pos + 1 >= self.end {
            return Err(Error::UnexpectedEndOfStream);
        }

        Ok(self.span.as_str().as_bytes()[self.pos + 1])
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        &self.span.text.as_bytes()[self.pos..self.end]
    }

    #[inline]
    pub fn advance(&mut self, n: usize) {
        debug_assert!(self.pos + n <= self.end);
        self.pos += n;
    }

    #[inline]
    /// `<?xml` and a whitespace: the XML declaration, not a processing instruction.
    fn starts_with_declaration(&self) -> bool {
        self.starts_with(b"<?xml")
            && matches!(self.as_bytes().get(5), Some(b' ' | b'\t' | b'\n' | b'\r'))
    }

    fn starts_with(&self, text: &[u8]) -> bool {
        self.span.text.as_bytes()[self.pos..self.end].starts_with(text)
    }

    fn consume_byte(&mut self, c: u8) -> Result<()> {
        let curr = self.curr_byte()?;
        if curr != c {
            return Err(Error::InvalidChar(c, curr, self.gen_text_pos()));
        }

        self.advance(1);
        Ok(())
    }

    // Unlike `consume_byte()` will not return any errors.
    fn try_consume_byte(&mut self, c: u8) -> bool {
        match self.curr_byte() {
            Ok(b) if b == c => {
                self.advance(1);
                true
            }
            _ => false,
        }
    }

    fn skip_string(&mut self, text: &'static [u8]) -> Result<()> {
        if !self.starts_with(text) {
            let pos = self.gen_text_pos();

            // Assume that all input `text` are valid UTF-8 strings, so unwrap is safe.
            let expected = str::from_utf8(text).unwrap();

            return Err(Error::InvalidString(expected, pos));
        }

        self.advance(text.len());
        Ok(())
    }

    /// Consumes characters up to the first that starts `end` or is the byte `other` (0 for none:
    /// NUL is never an XML character, so it is refused before it could stop the scan), or to
    /// the end of the text; a character that is not an XML character is `NonXmlChar` there.
    ///
    /// wsbmc patch: one function for the four scans (comments, CDATA, text, the XML
    /// declaration's values), not one inlined copy of a generic scanner per closure
    /// (PATCHED.md). Same stops, same errors.
    #[inline(never)]
    fn consume_chars_until(&mut self, end: &[u8], other: u8) -> Result<&'input str> {
        let start = self.pos;
        for c in self.chars() {
            if !c.is_xml_char() {
                return Err(Error::NonXmlChar(c, self.gen_text_pos()));
            } else if self.starts_with(end) || c as u32 == u32::from(other) {
                break;
            }
            self.advance(c.len_utf8());
        }

        Ok(self.slice_back(start))
    }

    #[inline]
    fn advance_until2(&mut self, needle1: u8, needle2: u8) -> Result<()> {
        match memchr2(needle1, needle2, self.as_bytes()) {
            Some(pos) => {
                self.advance(pos);
                Ok(())
            }
            None => Err(Error::UnexpectedEndOfStream),
        }
    }

    #[inline]
    fn chars(&self) -> str::Chars<'input> {
        self.span.as_str()[self.pos..self.end].chars()
    }

    #[inline]
    fn slice_back(&self, pos: usize) -> &'input str {
        self.span.slice_region(pos, self.pos)
    }

    #[inline]
    fn slice_back_span(&self, pos: usize) -> StrSpan<'input> {
        StrSpan::from_substr(self.span.text, pos, self.pos)
    }

    #[inline]
    fn range_from(&self, start: usize) -> Range<usize> {
        start..self.pos
    }

    #[inline]
    fn skip_spaces(&mut self) {
        while self.starts_with_space() {
            self.advance(1);
        }
    }

    #[inline]
    fn starts_with_space(&self) -> bool {
        !self.at_end() && self.curr_byte_unchecked().is_xml_space()
    }

    // Like `skip_spaces()`, but checks that first char is actually a space.
    fn consume_spaces(&mut self) -> Result<()> {
        if self.at_end() {
            return Err(Error::UnexpectedEndOfStream);
        }

        if !self.starts_with_space() {
            return Err(Error::InvalidChar2(
                "a whitespace",
                self.curr_byte_unchecked(),
                self.gen_text_pos(),
            ));
        }

        self.skip_spaces();
        Ok(())
    }

    /// Consumes according to: <https://www.w3.org/TR/xml/#NT-Reference>
    #[inline(never)]
    pub fn consume_reference(&mut self) -> Option<Reference<'input>> {
        if !self.try_consume_byte(b'&') {
            return None;
        }

        let reference = if self.try_consume_byte(b'#') {
            let radix = if self.try_consume_byte(b'x') { 16 } else { 10 };

            // wsbmc patch: the digits are read and accumulated in one loop (checked multiply
            // and add), rather than scanned by one closure per radix and then read by
            // `u32::from_str_radix`, whose generic code was this copy's only use of it on the
            // bare-metal image. Same result: no digit, or a value past `u32`, is `None`.
            let start = self.pos;
            let mut n = 0u32;
            while let Ok(b) = self.curr_byte() {
                let d = match b {
                    b'0'..=b'9' => b - b'0',
                    b'a'..=b'f' | b'A'..=b'F' if radix == 16 => (b | 0x20) - b'a' + 10,
                    _ => break,
                };
                n = n.checked_mul(radix)?.checked_add(u32::from(d))?;
                self.advance(1);
            }
            if self.pos == start {
                return None;
            }

            // wsbmc patch: a reference to no character at all (a surrogate, or past U+10FFFF)
            // is malformed (XML 1.0 §4.1, WFC: Legal Character); upstream read it as U+FFFD,
            // a legal character, and accepted the document.
            let c = char::from_u32(n)?;
            if !c.is_xml_char() {
                return None;
            }

            Reference::Char(c)
        } else {
            // wsbmc patch: the name is the run `name_end` finds (the one `consume_qname` scans
            // with), which must start with a `NameStartChar`, instead of a second scanner over
            // decoded characters. Same names (PATCHED.md).
            let start = self.pos;
            let name = self.span.slice_region(start, self.name_end(start));
            if !is_xml_name_start(name) {
                return None;
            }
            self.advance(name.len());
            match name {
                "quot" => Reference::Char('"'),
                "amp" => Reference::Char('&'),
                "apos" => Reference::Char('\''),
                "lt" => Reference::Char('<'),
                "gt" => Reference::Char('>'),
                _ => Reference::Entity(name),
            }
        };

        self.consume_byte(b';').ok()?;

        Some(reference)
    }

    /// Where the run of `NameChar`s (`:` among them) that starts at byte `pos` ends.
    ///
    /// wsbmc patch: keeps its position in a local and tests each ASCII byte against a 128-bit
    /// set (four words), instead of a bounds-checked read, five range tests and a store of
    /// `self.pos` per byte (names were ~10% of a small request's parsing instructions); shared
    /// by qualified names and entity references (PATCHED.md).
    fn name_end(&self, mut pos: usize) -> usize {
        let bytes = &self.span.text.as_bytes()[..self.end];
        while let Some(&b) = bytes.get(pos) {
            if b < 128 {
                if ASCII_NAME[usize::from(b >> 5)] >> (b & 31) & 1 == 0 {
                    break;
                }
                pos += 1;
            } else {
                // Fallback to Unicode code point.
                match self.span.text[pos..self.end].chars().next() {
                    Some(c) if c.is_xml_name() => pos += c.len_utf8(),
                    _ => break,
                }
            }
        }
        pos
    }

    /// Consumes a qualified XML name and returns it.
    ///
    /// Consumes according to: <https://www.w3.org/TR/xml-names/#ns-qualnames>
    #[inline(never)]
    fn consume_qname(&mut self) -> Result<(&'input str, &'input str)> {
        let start = self.pos();
        self.pos = self.name_end(start);
        let name = self.slice_back(start);

        // wsbmc patch: the name is split at its first `:` after the scan; a second one is
        // still an invalid name, at the name's start as before.
        let (prefix, local) = match memchr(b':', name.as_bytes()) {
            Some(i) => {
                let local = &name[i + 1..];
                if memchr(b':', local.as_bytes()).is_some() {
                    // Multiple `:` is an error.
                    return Err(Error::InvalidName(self.gen_text_pos_from(start)));
                }
                (&name[..i], local)
            }
            None => (&name[..0], name),
        };

        // Prefix must be empty or start with a `NameStartChar`.
        if !prefix.is_empty() && !is_xml_name_start(prefix) {
            return Err(Error::InvalidName(self.gen_text_pos_from(start)));
        }

        // Local name must start with a `NameStartChar`.
        if !is_xml_name_start(local) {
            return Err(Error::InvalidName(self.gen_text_pos_from(start)));
        }

        Ok((prefix, local))
    }

    fn consume_eq(&mut self) -> Result<()> {
        self.skip_spaces();
        self.consume_byte(b'=')?;
        self.skip_spaces();

        Ok(())
    }

    fn consume_quote(&mut self) -> Result<u8> {
        let c = self.curr_byte()?;
        if c == b'\'' || c == b'"' {
            self.advance(1);
            Ok(c)
        } else {
            Err(Error::InvalidChar2("a quote", c, self.gen_text_pos()))
        }
    }

    /// Calculates a current absolute position.
    ///
    /// This operation is very expensive. Use only for errors.
    #[inline(never)]
    pub fn gen_text_pos(&self) -> TextPos {
        text_pos(self.span.as_str(), self.pos)
    }

    /// Calculates an absolute position at `pos`.
    ///
    /// This operation is very expensive. Use only for errors.
    #[inline(never)]
    pub fn gen_text_pos_from(&self, pos: usize) -> TextPos {
        text_pos(self.span.as_str(), pos)
    }
}

/// The row and column of byte `pos` of `text` (past the end: of its end), both from 1, the
/// column counted in characters.
///
/// wsbmc patch: one forward pass over the bytes, counting a character at each byte that does
/// not continue one (UTF-8 continuation bytes are `0b10xx_xxxx`), instead of counting the rows
/// over the bytes and then the columns over the characters decoded backwards. Same figures for
/// a `pos` on a character boundary, the only ones the parser makes (PATCHED.md).
fn text_pos(text: &str, pos: usize) -> TextPos {
    let mut row = 1;
    let mut col = 1;
    for &b in text.as_bytes().iter().take(pos) {
        if b == b'\n' {
            row += 1;
            col = 1;
        } else if b & 0xC0 != 0x80 {
            col += 1;
        }
    }
    TextPos::new(row, col)
}
