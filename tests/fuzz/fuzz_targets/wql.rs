//! The WQL subset (`SELECT ... FROM ... WHERE ...`): the tokenizer, the precedence parser and
//! its depth bound, then the evaluation of the condition against a row whose properties are
//! of every value type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsbmc_wsman::wql::{self, MAX_DEPTH, Value};

fn lookup(name: &str) -> Option<Value> {
    match name.len() % 5 {
        0 => None,
        1 => Some(Value::Null),
        2 => Some(Value::Bool(name.len().is_multiple_of(2))),
        3 => Some(Value::Int(name.len() as i64 * 1_000 - 40_000)),
        _ => Some(Value::Str(name.to_ascii_lowercase())),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for query in [
        wql::parse(text).ok(),
        wql::parse_nested(text, MAX_DEPTH / 2).ok(),
    ]
    .into_iter()
    .flatten()
    {
        if let Some(cond) = &query.condition {
            let _ = cond.eval(&lookup);
            let _ = cond.properties();
        }
    }
});
