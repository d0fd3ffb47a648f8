//! A bounded WQL subset for the `http://schemas.microsoft.com/wbem/wsman/1/WQL` filter dialect.
//!
//! `winrm enumerate -filter:"…"` sends WQL by default and `Get-CimInstance -Filter/-Query` builds
//! it (wsman.md §3.7), so a BMC that rejects every query is painful to script against. What is
//! accepted:
//!
//! ```text
//! SELECT * | p1, p2 FROM Class [WHERE cond]
//! cond := cond OR cond | cond AND cond | NOT cond | ( cond )
//!       | operand (= | <> | != | < | > | <= | >=) operand
//!       | operand IS [NOT] NULL
//! operand := Property | 'text' | "text" | 123 | -5 | TRUE | FALSE | NULL
//! ```
//!
//! Keywords are case-insensitive. String literals use `\` escapes (`\'`, `\"`, `\\`) or a doubled
//! quote. Everything is bounded (text length, token count, nesting depth), because the query
//! arrives from an untrusted client and the parser runs on a 64 KiB MCU; any excess, like any
//! syntax error, is `wsman:CannotProcessFilter`.
//!
//! Evaluation follows SQL's three-valued logic: a comparison involving NULL (or a property the
//! provider does not know, or two values of different types) is *unknown*; AND/OR/NOT combine
//! unknowns as SQL does, and an unknown result at the top does not match. Property names are
//! handed to the lookup callback exactly as the query spells them: the provider must match them
//! case-insensitively, as WMI does.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::casefold;
use crate::fault::{Fault, FaultKind};
use crate::provider::PER_ALLOCATION;
use crate::text::{Dec, cat};

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Most tokens a query may have; bounds the tree size independently of the text length.
pub const MAX_TOKENS: usize = 512;
/// Most levels of parentheses and NOTs [`parse`] accepts, and the ceiling of the
/// `max_filter_depth` a service may configure ([`parse_nested`]): the parser, the evaluator and
/// the tree's drop recurse once per level, so this bounds their stack. A level costs about 200 B
/// of stack on thumbv7m (parse: two frames of ~100 B; evaluation: one), so 16 levels suit a host;
/// a 64 KiB MCU should configure fewer (see `Limits::max_filter_depth`).
pub const MAX_DEPTH: usize = 16;

/// The fault texts of [`MAX_QUERY_LEN`] and [`MAX_TOKENS`], written out (a test checks the
/// numbers) rather than built from the constants on each refusal, which took ~50 B of the
/// bare-metal image's flash per text.
const TOO_LONG: &str = "The WQL query is longer than 4096 bytes.";
const TOO_MANY_TOKENS: &str = "The WQL query has more than 512 tokens.";

/// A parsed `SELECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The class after FROM, as written.
    pub class: String,
    /// `None` for `SELECT *`, otherwise the projected property names as written.
    pub properties: Option<Vec<String>>,
    /// The WHERE condition, if any.
    pub condition: Option<Expr>,
    /// What [`Query::heap_bytes`] answers.
    heap: usize,
}

impl Query {
    /// Heap the parsed query holds, as counted while it was built: every string, vector and
    /// box at its capacity, with [`PER_ALLOCATION`] on top of each (a string that was parsed
    /// and then dropped, such as the `NULL` of a literal, is counted too: an estimate, but never
    /// one below what the tree holds). Counted there rather than by a walk of the tree, whose
    /// recursion cost the bare-metal image a little more flash than the counting.
    pub fn heap_bytes(&self) -> usize {
        self.heap
    }
}

/// A literal or property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Property(String),
    Literal(Value),
}

/// A WHERE condition. AND and OR are n-ary so that long chains do not deepen the tree: only
/// parentheses and NOT add depth, and those are bounded by [`MAX_DEPTH`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare {
        op: CmpOp,
        left: Operand,
        right: Operand,
    },
    /// `operand IS NULL` (`negated: false`) or `operand IS NOT NULL`.
    IsNull {
        operand: Operand,
        negated: bool,
    },
}

impl Expr {
    /// Whether an instance matches. `lookup` returns a property's value by the name as written in
    /// the query (match it case-insensitively); `None` means the instance has no such property,
    /// which compares like NULL.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        self.eval3(lookup) == Some(true)
    }

    /// Three-valued evaluation: `None` is SQL's *unknown*.
    fn eval3(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<bool> {
        match self {
            Expr::And(parts) => {
                let mut all = Some(true);
                for p in parts {
                    match p.eval3(lookup) {
                        Some(false) => return Some(false),
                        Some(true) => {}
                        None => all = None,
                    }
                }
                all
            }
            Expr::Or(parts) => {
                let mut any = Some(false);
                for p in parts {
                    match p.eval3(lookup) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => any = None,
                    }
                }
                any
            }
            Expr::Not(inner) => inner.eval3(lookup).map(|b| !b),
            leaf => leaf.eval_leaf(lookup),
        }
    }

    /// A comparison or NULL test. Never inlined: the property values it fetches would otherwise
    /// sit in every recursive frame of [`Self::eval3`].
    #[inline(never)]
    fn eval_leaf(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> Option<bool> {
        match self {
            Expr::IsNull { operand, negated } => {
                let is_null = matches!(resolve(operand, lookup), Value::Null);
                Some(is_null != *negated)
            }
            Expr::Compare { op, left, right } => {
                let ord = compare(&resolve(left, lookup), &resolve(right, lookup), *op)?;
                Some(match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::Ne => ord != Ordering::Equal,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Le => ord != Ordering::Greater,
                    CmpOp::Ge => ord != Ordering::Less,
                })
            }
            Expr::And(_) | Expr::Or(_) | Expr::Not(_) => None,
        }
    }

    /// Every property name the condition refers to, as written, so a provider can refuse a query
    /// about properties its class does not have instead of silently matching nothing.
    pub fn properties(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_properties(&mut out);
        out
    }

    fn collect_properties<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut operand = |o: &'a Operand| {
            if let Operand::Property(p) = o {
                out.push(p.as_str());
            }
        };
        match self {
            Expr::And(parts) | Expr::Or(parts) => {
                for p in parts {
                    p.collect_properties(out);
                }
            }
            Expr::Not(inner) => inner.collect_properties(out),
            Expr::IsNull { operand: o, .. } => operand(o),
            Expr::Compare { left, right, .. } => {
                operand(left);
                operand(right);
            }
        }
    }
}

fn resolve(o: &Operand, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    match o {
        Operand::Literal(v) => v.clone(),
        Operand::Property(p) => lookup(p).unwrap_or(Value::Null),
    }
}

/// Orders two values, or `None` (unknown) for NULLs, mismatched types and ordering booleans.
/// Strings compare case-insensitively, as WQL does on Windows (by `char::to_lowercase`, through
/// [`casefold::folded`], which maps the same without core's 11.7 KiB table).
fn compare(a: &Value, b: &Value, op: CmpOp) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(casefold::folded(x).cmp(casefold::folded(y))),
        (Value::Bool(x), Value::Bool(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Some(x.cmp(y)),
        _ => None,
    }
}

fn cannot(what: impl Into<alloc::borrow::Cow<'static, str>>) -> Fault {
    Fault::new(FaultKind::CannotProcessFilter).message(what)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Star,
    Comma,
    LParen,
    RParen,
    Op(CmpOp),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, Fault> {
    let mut toks = Vec::new();
    let mut it = text.chars().peekable();
    while let Some(&c) = it.peek() {
        if toks.len() >= MAX_TOKENS {
            return Err(cannot(TOO_MANY_TOKENS));
        }
        // The grammar is ASCII (keywords, names, numbers); only string literals may hold other
        // characters. ASCII tests also keep the Unicode property tables out of the MCU image.
        if c.is_ascii_whitespace() {
            it.next();
            continue;
        }
        let tok = match c {
            '*' => {
                it.next();
                Tok::Star
            }
            ',' => {
                it.next();
                Tok::Comma
            }
            '(' => {
                it.next();
                Tok::LParen
            }
            ')' => {
                it.next();
                Tok::RParen
            }
            '=' => {
                it.next();
                Tok::Op(CmpOp::Eq)
            }
            '!' => {
                it.next();
                match it.next() {
                    Some('=') => Tok::Op(CmpOp::Ne),
                    _ => return Err(cannot("'!' must be followed by '=' in WQL.")),
                }
            }
            '<' => {
                it.next();
                match it.peek() {
                    Some('=') => {
                        it.next();
                        Tok::Op(CmpOp::Le)
                    }
                    Some('>') => {
                        it.next();
                        Tok::Op(CmpOp::Ne)
                    }
                    _ => Tok::Op(CmpOp::Lt),
                }
            }
            '>' => {
                it.next();
                if matches!(it.peek(), Some('=')) {
                    it.next();
                    Tok::Op(CmpOp::Ge)
                } else {
                    Tok::Op(CmpOp::Gt)
                }
            }
            '\'' | '"' => {
                it.next();
                let mut s = String::new();
                loop {
                    match it.next() {
                        None => return Err(cannot("A WQL string literal is not terminated.")),
                        Some('\\') => match it.next() {
                            Some(e) => s.push(e),
                            None => return Err(cannot("A WQL string literal is not terminated.")),
                        },
                        Some(q) if q == c => {
                            // A doubled quote stands for one quote character.
                            if matches!(it.peek(), Some(n) if *n == c) {
                                it.next();
                                s.push(c);
                            } else {
                                break;
                            }
                        }
                        Some(ch) => s.push(ch),
                    }
                }
                Tok::Str(s)
            }
            '-' | '0'..='9' => {
                let mut digits = String::new();
                if c == '-' {
                    it.next();
                    digits.push('-');
                }
                while let Some(&d) = it.peek() {
                    if d.is_ascii_digit() {
                        digits.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                if matches!(it.peek(), Some(ch) if ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '.')
                {
                    return Err(cannot("WQL numbers must be decimal integers."));
                }
                let n = crate::text::parse_i64(&digits)
                    .ok_or_else(|| cannot(cat(&["'", &digits, "' is not a 64-bit integer."])))?;
                Tok::Int(n)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut id = String::new();
                while let Some(&d) = it.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        id.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                Tok::Ident(id)
            }
            other => {
                let mut utf8 = [0u8; 4];
                return Err(cannot(cat(&[
                    "Unexpected character '",
                    other.encode_utf8(&mut utf8),
                    "' in WQL.",
                ])));
            }
        };
        toks.push(tok);
    }
    Ok(toks)
}

fn is_keyword(tok: Option<&Tok>, kw: &str) -> bool {
    matches!(tok, Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
}

/// Words that cannot be property or class names, so `SELECT FROM` is an error, not a property.
const RESERVED: [&str; 10] = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE",
];

fn is_reserved(s: &str) -> bool {
    RESERVED.iter().any(|k| s.eq_ignore_ascii_case(k))
}

/// Why the parser stopped. Kept to one pointer-sized word (no `Fault`, no formatting) because
/// it is returned through every level of the recursive descent, and on the bare-metal image each
/// byte of a recursive frame is paid once per nesting level; [`parse_nested`] builds the `Fault`
/// once, at the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    /// The message, complete.
    Error(&'static str),
    /// Parentheses and NOTs nest deeper than the limit (the message names the limit).
    TooDeep,
}

type Parsed<T> = Result<T, Syntax>;

/// `(items)` as one expression: a single item stands for itself, so `a = 1` is not an
/// AND of one.
fn collapse(mut items: Vec<Expr>, n_ary: fn(Vec<Expr>) -> Expr, heap: &mut usize) -> Expr {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    // Trimmed: a parsed query is kept for an enumeration's life (its plan), and a doubled
    // capacity was a third of a long OR chain's heap.
    items.shrink_to_fit();
    *heap += items.capacity() * core::mem::size_of::<Expr>() + PER_ALLOCATION;
    n_ary(items)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Most levels of parentheses and NOTs accepted.
    max_depth: usize,
    /// Heap of the tree built so far ([`Query::heap_bytes`]).
    heap: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// Moves the next token out (leaving a placeholder): the parser never looks back, and
    /// taking the token saves cloning the string it may carry.
    fn bump(&mut self) -> Option<Tok> {
        let t = self
            .toks
            .get_mut(self.pos)
            .map(|t| core::mem::replace(t, Tok::Comma));
        self.pos += 1;
        // Every string the tree keeps was moved out of a token here.
        if let Some(Tok::Ident(s) | Tok::Str(s)) = &t {
            self.heap += s.capacity() + PER_ALLOCATION;
        }
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if is_keyword(self.peek(), kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_keyword(&mut self, kw: &str, missing: &'static str) -> Parsed<()> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(Syntax::Error(missing))
        }
    }

    fn name(&mut self, missing: &'static str) -> Parsed<String> {
        if matches!(self.peek(), Some(Tok::Ident(s)) if !is_reserved(s))
            && let Some(Tok::Ident(s)) = self.bump()
        {
            return Ok(s);
        }
        Err(Syntax::Error(missing))
    }

    fn query(&mut self) -> Parsed<Query> {
        self.expect_keyword("SELECT", "WQL: expected SELECT.")?;
        let properties = if matches!(self.peek(), Some(Tok::Star)) {
            self.pos += 1;
            None
        } else {
            let mut props = Vec::new();
            loop {
                props.push(self.name("WQL: expected a property name.")?);
                if matches!(self.peek(), Some(Tok::Comma)) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            props.shrink_to_fit();
            self.heap += props.capacity() * core::mem::size_of::<String>() + PER_ALLOCATION;
            Some(props)
        };
        self.expect_keyword("FROM", "WQL: expected FROM.")?;
        let class = self.name("WQL: expected a class name.")?;
        let condition = if self.keyword("WHERE") {
            Some(self.condition(0)?)
        } else {
            None
        };
        if self.peek().is_some() {
            return Err(Syntax::Error("WQL: unexpected text after the query."));
        }
        Ok(Query {
            class,
            properties,
            condition,
            heap: self.heap,
        })
    }

    /// `factor {AND factor} {OR factor {AND factor}}`, AND binding tighter. Both chains are
    /// loops in this one frame, so a nesting level costs exactly this frame and [`Self::factor`]'s.
    fn condition(&mut self, depth: usize) -> Parsed<Expr> {
        let mut any = Vec::new();
        let mut all = Vec::new();
        loop {
            all.push(self.factor(depth)?);
            if self.keyword("AND") {
                continue;
            }
            any.push(collapse(
                core::mem::take(&mut all),
                Expr::And,
                &mut self.heap,
            ));
            if !self.keyword("OR") {
                return Ok(collapse(any, Expr::Or, &mut self.heap));
            }
        }
    }

    /// `{NOT} (condition)` or `{NOT} predicate`. A run of NOTs is counted rather than recursed
    /// into; each NOT and each parenthesis is one level of `depth`, because each deepens the
    /// tree that evaluation and drop walk recursively.
    fn factor(&mut self, depth: usize) -> Parsed<Expr> {
        let mut nots = 0;
        while self.keyword("NOT") {
            nots += 1;
        }
        let depth = depth + nots;
        if depth > self.max_depth {
            return Err(Syntax::TooDeep);
        }
        let mut e = if matches!(self.peek(), Some(Tok::LParen)) {
            if depth + 1 > self.max_depth {
                return Err(Syntax::TooDeep);
            }
            self.pos += 1;
            let inner = self.condition(depth + 1)?;
            if !matches!(self.bump(), Some(Tok::RParen)) {
                return Err(Syntax::Error("WQL: missing ')'."));
            }
            inner
        } else {
            self.predicate()?
        };
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
            self.heap += core::mem::size_of::<Expr>() + PER_ALLOCATION;
        }
        Ok(e)
    }

    /// `operand op operand` or `operand IS [NOT] NULL`. Never inlined: its temporaries (two
    /// operands, a token) would otherwise sit in every recursive frame of [`Self::factor`].
    #[inline(never)]
    fn predicate(&mut self) -> Parsed<Expr> {
        let left = self.operand()?;
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            self.expect_keyword("NULL", "WQL: expected NULL.")?;
            return Ok(Expr::IsNull {
                operand: left,
                negated,
            });
        }
        let op = match self.bump() {
            Some(Tok::Op(op)) => op,
            _ => return Err(Syntax::Error("WQL: expected a comparison operator.")),
        };
        let right = self.operand()?;
        Ok(Expr::Compare { op, left, right })
    }

    fn operand(&mut self) -> Parsed<Operand> {
        Ok(match self.bump() {
            Some(Tok::Str(s)) => Operand::Literal(Value::Str(s)),
            Some(Tok::Int(n)) => Operand::Literal(Value::Int(n)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("TRUE") => {
                Operand::Literal(Value::Bool(true))
            }
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("FALSE") => {
                Operand::Literal(Value::Bool(false))
            }
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("NULL") => Operand::Literal(Value::Null),
            Some(Tok::Ident(s)) if !is_reserved(&s) => Operand::Property(s),
            _ => return Err(Syntax::Error("WQL: expected a property or a literal.")),
        })
    }
}

/// Parses WQL text with up to [`MAX_DEPTH`] levels of nesting; every error is
/// `wsman:CannotProcessFilter` with a message saying what.
pub fn parse(text: &str) -> Result<Query, Fault> {
    parse_nested(text, MAX_DEPTH)
}

/// Parses WQL text accepting at most `max_depth` levels of parentheses and NOTs (capped at
/// [`MAX_DEPTH`]). The service passes `Limits::max_filter_depth` here, so a query that nests
/// deeper than the image's stack allows is a `wsman:CannotProcessFilter`, never a stack overflow.
pub fn parse_nested(text: &str, max_depth: usize) -> Result<Query, Fault> {
    if text.len() > MAX_QUERY_LEN {
        return Err(cannot(TOO_LONG));
    }
    let toks = tokenize(text)?;
    let max_depth = max_depth.min(MAX_DEPTH);
    let mut parser = Parser {
        toks,
        pos: 0,
        max_depth,
        heap: 0,
    };
    parser.query().map_err(|e| match e {
        Syntax::Error(message) => cannot(message),
        Syntax::TooDeep => cannot(cat(&[
            "WQL: conditions nest deeper than ",
            Dec::usize(max_depth).as_str(),
            " levels.",
        ])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn the_written_out_limit_texts_name_the_limits() {
        let built = |pre: &str, n: usize, post: &str| cat(&[pre, Dec::usize(n).as_str(), post]);
        assert_eq!(
            TOO_LONG,
            built("The WQL query is longer than ", MAX_QUERY_LEN, " bytes.")
        );
        assert_eq!(
            TOO_MANY_TOKENS,
            built("The WQL query has more than ", MAX_TOKENS, " tokens.")
        );
    }

    fn row(name: &str) -> Option<Value> {
        match name.to_ascii_lowercase().as_str() {
            "name" => Some(Value::Str("Fan1".into())),
            "reading" => Some(Value::Int(42)),
            "low" => Some(Value::Int(-5)),
            "enabled" => Some(Value::Bool(true)),
            "nothing" => Some(Value::Null),
            _ => None,
        }
    }

    fn matches(q: &str) -> bool {
        let query = parse(q).unwrap_or_else(|f| panic!("{q}: {f:?}"));
        query.condition.as_ref().is_none_or(|c| c.eval(&row))
    }

    fn where_(cond: &str) -> bool {
        matches(&format!("SELECT * FROM C WHERE {cond}"))
    }

    #[test]
    fn select_lists_and_classes() {
        let q = parse("select * from CIM_NumericSensor").expect("ok");
        assert_eq!(q.class, "CIM_NumericSensor");
        assert_eq!(q.properties, None);
        assert_eq!(q.condition, None);
        let q = parse("SELECT Name ,CurrentReading FROM CIM_Sensor").expect("ok");
        assert_eq!(
            q.properties,
            Some(vec!["Name".to_string(), "CurrentReading".to_string()])
        );
        let q = parse("  Select  *\n FROM\tX  Where a = 1 ").expect("ok");
        assert_eq!(q.class, "X");
        assert!(q.condition.is_some());
    }

    #[test]
    fn comparisons() {
        assert!(where_("Reading = 42"));
        assert!(where_("reading <> 41 AND Reading != 43"));
        assert!(where_(
            "Reading > 41 AND Reading >= 42 AND Reading < 43 AND Reading <= 42"
        ));
        assert!(!where_("Reading < 42"));
        assert!(where_("Low = -5 AND Low < 0"));
        assert!(where_("42 = Reading"), "literal on the left");
        assert!(
            where_("Name = 'fan1'"),
            "strings compare case-insensitively"
        );
        assert!(where_("Name = \"FAN1\""));
        assert!(where_("Name < 'Fan2' AND Name > 'Fan0'"));
        assert!(where_("Enabled = TRUE AND Enabled <> false"));
        assert!(!where_("Enabled < TRUE"), "booleans are not ordered");
    }

    #[test]
    fn type_mismatch_and_unknown_properties_never_match() {
        assert!(!where_("Reading = '42'"));
        assert!(
            !where_("NOT Reading = '42'"),
            "mismatch is unknown, NOT keeps it"
        );
        assert!(!where_("Name = 1"));
        assert!(!where_("Missing = 1"));
        assert!(!where_("Missing <> 1"));
    }

    #[test]
    fn null_is_three_valued() {
        assert!(!where_("Nothing = NULL"));
        assert!(!where_("Nothing <> NULL"));
        assert!(!where_("NOT Nothing = 1"));
        assert!(where_("Nothing IS NULL"));
        assert!(where_("Missing IS NULL"), "an absent property is NULL");
        assert!(where_("Name IS NOT NULL"));
        assert!(!where_("Name IS NULL"));
        // unknown OR true = true; unknown AND false = false; unknown AND true = unknown.
        assert!(where_("Nothing = 1 OR Reading = 42"));
        assert!(!where_("Nothing = 1 AND Reading = 42"));
        assert!(where_("NOT (Nothing = 1 AND Reading = 41)"));
        assert!(!where_("NOT (Nothing = 1 OR Reading = 41)"));
    }

    #[test]
    fn precedence_not_and_or() {
        // AND binds tighter than OR: true OR (false AND false).
        assert!(where_("Reading = 42 OR Reading = 1 AND Reading = 2"));
        // Parentheses override: (true OR false) AND false.
        assert!(!where_("(Reading = 42 OR Reading = 1) AND Reading = 2"));
        // NOT binds tighter than AND: (NOT false) AND true.
        assert!(where_("NOT Reading = 1 AND Reading = 42"));
        assert!(!where_("NOT (Reading = 1 OR Reading = 42)"));
        assert!(where_("NOT NOT Reading = 42"));
        let q = parse("SELECT * FROM C WHERE a = 1 OR b = 2 AND c = 3").expect("ok");
        match q.condition {
            Some(Expr::Or(parts)) => {
                assert_eq!(parts.len(), 2);
                assert!(matches!(parts[1], Expr::And(ref a) if a.len() == 2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keywords_are_case_insensitive_names_are_as_written() {
        let q = parse("sElEcT * fRoM c wHeRe NoT a iS nOt NuLl aNd b = TrUe").expect("ok");
        let props = q.condition.as_ref().expect("cond").properties();
        assert_eq!(props, vec!["a", "b"]);
    }

    #[test]
    fn string_escapes() {
        let lit = |q: &str| match parse(q).expect("ok").condition {
            Some(Expr::Compare {
                right: Operand::Literal(Value::Str(s)),
                ..
            }) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(lit(r"SELECT * FROM C WHERE a = 'it\'s'"), "it's");
        assert_eq!(lit("SELECT * FROM C WHERE a = 'it''s'"), "it's");
        assert_eq!(
            lit(r#"SELECT * FROM C WHERE a = "say \"hi\"""#),
            "say \"hi\""
        );
        assert_eq!(
            lit(r"SELECT * FROM C WHERE a = 'back\\slash'"),
            r"back\slash"
        );
        assert_eq!(lit("SELECT * FROM C WHERE a = 'x\"y'"), "x\"y");
        assert_eq!(lit("SELECT * FROM C WHERE a = ''"), "");
    }

    #[test]
    fn malformed_queries_are_cannot_process_filter() {
        for q in [
            "",
            "SELECT",
            "SELECT * FROM",
            "SELECT FROM C",
            "SELECT *, a FROM C",
            "SELECT a, FROM C",
            "SELECT * C",
            "DELETE FROM C",
            "SELECT * FROM C WHERE",
            "SELECT * FROM C WHERE a",
            "SELECT * FROM C WHERE a =",
            "SELECT * FROM C WHERE = 1",
            "SELECT * FROM C WHERE (a = 1",
            "SELECT * FROM C WHERE a = 1)",
            "SELECT * FROM C WHERE a = 'open",
            "SELECT * FROM C WHERE a = 1 AND",
            "SELECT * FROM C WHERE a IS 1",
            "SELECT * FROM C WHERE a LIKE 'x%'",
            "SELECT * FROM C WHERE a = 1.5",
            "SELECT * FROM C WHERE a = 0x10",
            "SELECT * FROM C WHERE a = 99999999999999999999",
            "SELECT * FROM C WHERE a ! 1",
            "SELECT * FROM C WHERE a = 1; DROP",
            "SELECT * FROM C extra",
            "SELECT * FROM C WHERE a == 1",
        ] {
            let f = parse(q).expect_err(q);
            assert_eq!(f.kind, FaultKind::CannotProcessFilter, "{q}");
            assert!(f.message.is_some(), "{q}");
        }
    }

    #[test]
    fn the_configured_depth_is_a_fault_not_a_crash() {
        let deep = |n: usize| {
            format!(
                "SELECT * FROM C WHERE {}a = 1{}",
                "(NOT ".repeat(n / 2),
                ")".repeat(n / 2)
            )
        };
        assert!(parse_nested(&deep(4), 4).is_ok(), "at the limit");
        let f = parse_nested(&deep(6), 4).expect_err("over the limit");
        assert_eq!(f.kind, FaultKind::CannotProcessFilter);
        assert_eq!(
            f.message.as_deref(),
            Some("WQL: conditions nest deeper than 4 levels.")
        );
        // A limit above the ceiling is the ceiling.
        assert!(parse_nested(&deep(MAX_DEPTH + 2), usize::MAX).is_err());
        // Far past any limit (what a hostile client sends) is the same fault.
        let hostile = format!("SELECT * FROM C WHERE {}a = 1", "(".repeat(1000));
        assert_eq!(
            parse_nested(&hostile, 4).map_err(|f| f.kind),
            Err(FaultKind::CannotProcessFilter)
        );
    }

    #[test]
    fn bounds() {
        let long = format!("SELECT * FROM C WHERE a = '{}'", "x".repeat(MAX_QUERY_LEN));
        assert!(parse(&long).is_err());
        let many = format!("SELECT * FROM C WHERE {}", vec!["a = 1"; 200].join(" OR "));
        assert!(parse(&many).is_err(), "too many tokens");
        let fine = format!("SELECT * FROM C WHERE {}", vec!["a = 1"; 100].join(" OR "));
        assert!(parse(&fine).is_ok());
        let deep = |n: usize| {
            format!(
                "SELECT * FROM C WHERE {}a = 1{}",
                "(".repeat(n),
                ")".repeat(n)
            )
        };
        assert!(parse(&deep(MAX_DEPTH)).is_ok(), "at the limit");
        assert!(parse(&deep(MAX_DEPTH + 1)).is_err());
        let nots = |n: usize| format!("SELECT * FROM C WHERE {}a = 1", "NOT ".repeat(n));
        assert!(parse(&nots(MAX_DEPTH)).is_ok());
        assert!(parse(&nots(MAX_DEPTH + 1)).is_err());
        // NOTs and parentheses count together.
        let mixed = |n: usize| {
            format!(
                "SELECT * FROM C WHERE {}a = 1{}",
                "NOT (".repeat(n),
                ")".repeat(n)
            )
        };
        assert!(parse(&mixed(MAX_DEPTH / 2)).is_ok());
        assert!(parse(&mixed(MAX_DEPTH / 2 + 1)).is_err());
        assert!(parse(&format!("SELECT * FROM C WHERE a = {}", i64::MIN)).is_ok());
    }

    /// What the tree holds, walked: every string, vector and box at its capacity.
    fn walked(q: &Query) -> usize {
        fn string(s: &String) -> usize {
            s.capacity() + PER_ALLOCATION
        }
        fn operand(o: &Operand) -> usize {
            match o {
                Operand::Property(s) | Operand::Literal(Value::Str(s)) => string(s),
                Operand::Literal(_) => 0,
            }
        }
        fn expr(e: &Expr) -> usize {
            match e {
                Expr::And(p) | Expr::Or(p) => {
                    p.capacity() * core::mem::size_of::<Expr>()
                        + PER_ALLOCATION
                        + p.iter().map(expr).sum::<usize>()
                }
                Expr::Not(inner) => core::mem::size_of::<Expr>() + PER_ALLOCATION + expr(inner),
                Expr::IsNull { operand: o, .. } => operand(o),
                Expr::Compare { left, right, .. } => operand(left) + operand(right),
            }
        }
        string(&q.class)
            + q.properties.as_ref().map_or(0, |p| {
                p.capacity() * core::mem::size_of::<String>()
                    + PER_ALLOCATION
                    + p.iter().map(string).sum::<usize>()
            })
            + q.condition.as_ref().map_or(0, expr)
    }

    /// The count kept while parsing is never below what the tree holds (the enumeration
    /// context's byte bound relies on it), and above it only by the literal keywords' strings
    /// the parser read and dropped.
    #[test]
    fn heap_bytes_cover_the_tree() {
        for text in [
            "SELECT * FROM C",
            "select A, Bb, Ccc from C where A = 1",
            "SELECT * FROM C WHERE NOT NOT (A = 'x' OR B <> \"it''s\") AND C IS NOT NULL",
            "SELECT * FROM C WHERE a=1 OR b=2 OR c=3 OR (d=4 AND e=5 AND NOT f=TRUE)",
            "SELECT * FROM C WHERE A = NULL OR B = FALSE",
        ] {
            let q = parse(text).expect(text);
            let (counted, held) = (q.heap_bytes(), walked(&q));
            assert!(counted >= held, "{text}: {counted} < {held}");
            assert!(
                counted <= held + 2 * (8 + PER_ALLOCATION),
                "{text}: {counted} vs {held}"
            );
        }
    }
}
