//! `xs:duration` as WS-Management uses it for OperationTimeout and MaxTime.
//!
//! Clients send `PT60.000S`, `PT20S`, `PT1.000S` and the occasional `P0DT0H1M40S`; years and
//! months have no fixed length, so they are counted as 365 and 30 days (a timeout that long is
//! clamped anyway).

/// A parsed duration in milliseconds; `negative` for a leading `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub negative: bool,
    pub ms: u64,
}

/// Parses an `xs:duration`; `None` when the text is not one. Values saturate at `u64::MAX` ms.
pub fn parse(text: &str) -> Option<Duration> {
    let s = text.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut s = s.strip_prefix('P')?;
    let mut ms: u64 = 0;
    let mut any = false;
    let mut in_time = false;
    // Designators must appear in this order; `order` remembers the last one seen.
    let mut order = 0u8;
    while !s.is_empty() {
        if let Some(rest) = s.strip_prefix('T') {
            if in_time {
                return None;
            }
            in_time = true;
            s = rest;
            if s.is_empty() {
                return None;
            }
            continue;
        }
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let frac_digits = if s.as_bytes().get(digits) == Some(&b'.') {
            s[digits + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count()
        } else {
            0
        };
        let has_dot = s.as_bytes().get(digits) == Some(&b'.');
        let num_end = digits + if has_dot { 1 + frac_digits } else { 0 };
        if digits == 0 && frac_digits == 0 {
            return None;
        }
        let designator = *s.as_bytes().get(num_end)?;
        let whole = parse_u64_saturating(&s[..digits]);
        let (unit_ms, rank): (u64, u8) = match (in_time, designator) {
            (false, b'Y') => (365 * 86_400_000, 1),
            (false, b'M') => (30 * 86_400_000, 2),
            (false, b'D') => (86_400_000, 3),
            (true, b'H') => (3_600_000, 4),
            (true, b'M') => (60_000, 5),
            (true, b'S') => (1_000, 6),
            _ => return None,
        };
        if rank <= order || (has_dot && designator != b'S') {
            return None;
        }
        order = rank;
        ms = ms.saturating_add(whole.saturating_mul(unit_ms));
        if has_dot {
            // Milliseconds from the first three fraction digits; finer precision is dropped.
            let frac = &s[digits + 1..digits + 1 + frac_digits];
            let mut part = 0u64;
            for i in 0..3 {
                part = part * 10 + frac.as_bytes().get(i).map_or(0, |b| u64::from(b - b'0'));
            }
            ms = ms.saturating_add(part);
        }
        any = true;
        s = &s[num_end + 1..];
    }
    if !any {
        return None;
    }
    Some(Duration { negative, ms })
}

fn parse_u64_saturating(digits: &str) -> u64 {
    digits.bytes().fold(0u64, |acc, b| {
        acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Option<u64> {
        parse(s).map(|d| d.ms)
    }

    #[test]
    fn client_forms() {
        assert_eq!(ms("PT60.000S"), Some(60_000));
        assert_eq!(ms("PT20S"), Some(20_000));
        assert_eq!(ms("PT1.000S"), Some(1_000));
        assert_eq!(ms("PT0.5S"), Some(500));
        assert_eq!(ms("P0DT0H1M40S"), Some(100_000));
        assert_eq!(ms("P1D"), Some(86_400_000));
        assert_eq!(ms(" PT1M "), Some(60_000));
        assert_eq!(
            parse("-PT5S"),
            Some(Duration {
                negative: true,
                ms: 5_000
            })
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "P",
            "PT",
            "60",
            "PT60",
            "PTS",
            "P1H",
            "PT1D",
            "PT1S1M",
            "P1.5D",
            "PT1.S2",
            "PT-1S",
            "PT1\u{e9}S",
            "P\u{e9}",
            "PT1.\u{e9}S",
            "PxS",
            "P1M1Y",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn saturates() {
        assert_eq!(ms("P99999999999999999999999Y"), Some(u64::MAX));
    }
}
