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
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::fault::{Fault, FaultKind};

/// Longest query text accepted, in bytes.
pub const MAX_QUERY_LEN: usize = 4096;
/// Most tokens a query may have; bounds the tree size independently of the text length.
pub const MAX_TOKENS: usize = 512;
/// Deepest nesting of parentheses and NOTs; bounds parser and evaluator recursion.
pub const MAX_DEPTH: usize = 16;

/// A parsed `SELECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The class after FROM, as written.
    pub class: String,
    /// `None` for `SELECT *`, otherwise the projected property names as written.
    pub properties: Option<Vec<String>>,
    /// The WHERE condition, if any.
    pub condition: Option<Expr>,
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
/// Strings compare case-insensitively, as WQL does on Windows.
fn compare(a: &Value, b: &Value, op: CmpOp) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(
            x.chars()
                .flat_map(char::to_lowercase)
                .cmp(y.chars().flat_map(char::to_lowercase)),
        ),
        (Value::Bool(x), Value::Bool(y)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Some(x.cmp(y)),
        _ => None,
    }
}

fn cannot(what: impl Into<String>) -> Fault {
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
    let mut it = text.char_indices().peekable();
    while let Some(&(_, c)) = it.peek() {
        if toks.len() >= MAX_TOKENS {
            return Err(cannot(format!(
                "The WQL query has more than {MAX_TOKENS} tokens."
            )));
        }
        if c.is_whitespace() {
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
                    Some((_, '=')) => Tok::Op(CmpOp::Ne),
                    _ => return Err(cannot("'!' must be followed by '=' in WQL.")),
                }
            }
            '<' => {
                it.next();
                match it.peek() {
                    Some((_, '=')) => {
                        it.next();
                        Tok::Op(CmpOp::Le)
                    }
                    Some((_, '>')) => {
                        it.next();
                        Tok::Op(CmpOp::Ne)
                    }
                    _ => Tok::Op(CmpOp::Lt),
                }
            }
            '>' => {
                it.next();
                if matches!(it.peek(), Some((_, '='))) {
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
                        Some((_, '\\')) => match it.next() {
                            Some((_, e)) => s.push(e),
                            None => return Err(cannot("A WQL string literal is not terminated.")),
                        },
                        Some((_, q)) if q == c => {
                            // A doubled quote stands for one quote character.
                            if matches!(it.peek(), Some((_, n)) if *n == c) {
                                it.next();
                                s.push(c);
                            } else {
                                break;
                            }
                        }
                        Some((_, ch)) => s.push(ch),
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
                while let Some(&(_, d)) = it.peek() {
                    if d.is_ascii_digit() {
                        digits.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                if matches!(it.peek(), Some((_, ch)) if ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                {
                    return Err(cannot("WQL numbers must be decimal integers."));
                }
                let n = digits
                    .parse::<i64>()
                    .map_err(|_| cannot(format!("'{digits}' is not a 64-bit integer.")))?;
                Tok::Int(n)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut id = String::new();
                while let Some(&(_, d)) = it.peek() {
                    if d.is_alphanumeric() || d == '_' {
                        id.push(d);
                        it.next();
                    } else {
                        break;
                    }
                }
                Tok::Ident(id)
            }
            other => return Err(cannot(format!("Unexpected character '{other}' in WQL."))),
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

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
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

    fn expect_keyword(&mut self, kw: &str) -> Result<(), Fault> {
        if self.keyword(kw) {
            Ok(())
        } else {
            Err(cannot(format!("WQL: expected {kw}.")))
        }
    }

    fn name(&mut self, what: &str) -> Result<String, Fault> {
        match self.bump() {
            Some(Tok::Ident(s)) if !is_reserved(&s) => Ok(s),
            _ => Err(cannot(format!("WQL: expected a {what} name."))),
        }
    }

    fn query(&mut self) -> Result<Query, Fault> {
        self.expect_keyword("SELECT")?;
        let properties = if self.peek() == Some(&Tok::Star) {
            self.pos += 1;
            None
        } else {
            let mut props = Vec::new();
            loop {
                props.push(self.name("property")?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            Some(props)
        };
        self.expect_keyword("FROM")?;
        let class = self.name("class")?;
        let condition = if self.keyword("WHERE") {
            Some(self.or(0)?)
        } else {
            None
        };
        if self.peek().is_some() {
            return Err(cannot("WQL: unexpected text after the query."));
        }
        Ok(Query {
            class,
            properties,
            condition,
        })
    }

    fn or(&mut self, depth: usize) -> Result<Expr, Fault> {
        let mut parts = Vec::new();
        parts.push(self.and(depth)?);
        while self.keyword("OR") {
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, Fault> {
        let mut parts = Vec::new();
        parts.push(self.not(depth)?);
        while self.keyword("AND") {
            parts.push(self.not(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(parts)
        })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, Fault> {
        if depth >= MAX_DEPTH {
            return Err(cannot(format!(
                "WQL: conditions nest deeper than {MAX_DEPTH} levels."
            )));
        }
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            if self.bump() != Some(Tok::RParen) {
                return Err(cannot("WQL: missing ')'."));
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            self.expect_keyword("NULL")?;
            return Ok(Expr::IsNull {
                operand: left,
                negated,
            });
        }
        let op = match self.bump() {
            Some(Tok::Op(op)) => op,
            _ => return Err(cannot("WQL: expected a comparison operator.")),
        };
        let right = self.operand()?;
        Ok(Expr::Compare { op, left, right })
    }

    fn operand(&mut self) -> Result<Operand, Fault> {
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
            _ => return Err(cannot("WQL: expected a property or a literal.")),
        })
    }
}

/// Parses WQL text; every error is `wsman:CannotProcessFilter` with a message saying what.
pub fn parse(text: &str) -> Result<Query, Fault> {
    if text.len() > MAX_QUERY_LEN {
        return Err(cannot(format!(
            "The WQL query is longer than {MAX_QUERY_LEN} bytes."
        )));
    }
    let toks = tokenize(text)?;
    Parser { toks, pos: 0 }.query()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

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
        assert!(parse(&deep(MAX_DEPTH - 1)).is_ok());
        assert!(parse(&deep(MAX_DEPTH)).is_err());
        let nots = format!(
            "SELECT * FROM C WHERE {}a = 1",
            "NOT ".repeat(MAX_DEPTH + 1)
        );
        assert!(parse(&nots).is_err());
        assert!(parse(&format!("SELECT * FROM C WHERE a = {}", i64::MIN)).is_ok());
    }
}
