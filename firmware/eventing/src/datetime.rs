//! `xs:dateTime` for `wse:Expires`, and the text of both expiration forms in responses.
//!
//! A date-time is turned into milliseconds since the Unix epoch (UTC); one without a zone is
//! taken as UTC, as openwsman does. Years before 1970 and after 9999 are refused: an expiry
//! there is an error in the request either way.

use wsbmc_wsman::text::push_padded;

use alloc::string::String;

/// Milliseconds since 1970-01-01T00:00:00Z for `YYYY-MM-DDThh:mm:ss[.fff…][Z|±hh:mm]`.
pub fn parse(text: &str) -> Option<u64> {
    let s = text.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<u64> {
        let d = s.get(from..from + len)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0u64, |a, b| a * 10 + u64::from(b - b'0')))
    };
    let year = num(0, 4)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || s.get(10) != Some(&b'T') {
        return None;
    }
    let month = num(5, 2)?;
    let day = num(8, 2)?;
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return None;
    }
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut at = 19;
    let mut ms = 0u64;
    if s.get(at) == Some(&b'.') {
        at += 1;
        let digits = s
            .get(at..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        for i in 0..3 {
            ms = ms * 10
                + s.get(at + i)
                    .filter(|_| i < digits)
                    .map_or(0, |b| u64::from(b - b'0'));
        }
        at += digits;
    }
    let offset_min: i64 = match s.get(at..)? {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = two(*h1, *h2)?;
            let m = two(*m1, *m2)?;
            if h > 14 || m > 59 {
                return None;
            }
            let v = i64::from(h * 60 + m);
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let local = (days * 86_400 + hour * 3600 + minute * 60 + second) as i64;
    let utc = local.checked_sub(offset_min * 60)?;
    let secs = u64::try_from(utc).ok()?;
    secs.checked_mul(1000)?.checked_add(ms)
}

fn two(a: u8, b: u8) -> Option<u32> {
    (a.is_ascii_digit() && b.is_ascii_digit())
        .then(|| u32::from(a - b'0') * 10 + u32::from(b - b'0'))
}

fn leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date from 1970 on (the proleptic Gregorian calendar).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let days_before_year = (1970..y)
        .map(|yy| if leap(yy) { 366 } else { 365 })
        .sum::<u64>();
    let days_before_month = (1..m).map(|mm| days_in_month(y, mm)).sum::<u64>();
    days_before_year + days_before_month + d - 1
}

/// Writes `unix_ms` as `YYYY-MM-DDThh:mm:ss.mmmZ`.
pub fn format(unix_ms: u64, out: &mut String) {
    let secs = unix_ms / 1000;
    let mut days = secs / 86_400;
    let rem = secs % 86_400;
    let mut year = 1970;
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    // By hand, not `write!`: the image with eventing otherwise links `core::fmt` for this alone
    // (wsbmc_wsman::text says why).
    push_padded(out, year, 4);
    out.push('-');
    push_padded(out, month, 2);
    out.push('-');
    push_padded(out, days + 1, 2);
    out.push('T');
    push_padded(out, rem / 3600, 2);
    out.push(':');
    push_padded(out, rem % 3600 / 60, 2);
    out.push(':');
    push_padded(out, rem % 60, 2);
    out.push('.');
    push_padded(out, unix_ms % 1000, 3);
    out.push('Z');
}

/// Writes `ms` as an `xs:duration` the way Windows does: `PT<seconds>.<millis>S`.
pub fn format_duration(ms: u64, out: &mut String) {
    out.push_str("PT");
    push_padded(out, ms / 1000, 0);
    out.push('.');
    push_padded(out, ms % 1000, 3);
    out.push('S');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_clients_send() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2026-12-06T19:20:03Z"), Some(1_796_584_803_000));
        assert_eq!(parse("2026-12-06T19:20:03.5Z"), Some(1_796_584_803_500));
        assert_eq!(parse("2026-12-06T19:20:03.123456"), Some(1_796_584_803_123));
        assert_eq!(parse("2026-12-06T20:20:03+01:00"), Some(1_796_584_803_000));
        assert_eq!(parse("2026-12-06T18:20:03-01:00"), Some(1_796_584_803_000));
        assert_eq!(parse("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
    }

    #[test]
    fn refuses_what_is_not_a_date_time() {
        for bad in [
            "",
            "PT10S",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+1:00",
            "2026-01-01T00:00:00+15:00",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+01:00",
            "2026-01-01T00:00:00Zjunk",
            "२०२६-01-01T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [0, 1_796_584_803_123, 1_709_164_800_000, 253_402_300_799_999] {
            let mut s = String::new();
            format(ms, &mut s);
            assert_eq!(parse(&s), Some(ms), "{s}");
        }
        let mut s = String::new();
        format_duration(3_600_000, &mut s);
        assert_eq!(s, "PT3600.000S");
    }
}
