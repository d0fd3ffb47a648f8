//! CIM `datetime` values and their two spellings.
//!
//! On the wire a datetime property is an element in the WS-CIM common namespace holding an
//! `xs:dateTime` (`cim:Datetime`) or an `xs:duration` (`cim:Interval`), which is what Windows and
//! PowerShell parse. Selectors are plain text, so a datetime key (CIM_LogRecord.MessageTimestamp)
//! is written there in the DMTF string form `yyyymmddhhmmss.mmmmmmsutc`, which is what CIM itself
//! calls the value. Everything is integer seconds: the sources (SEL, FRU) have no finer clock.

use alloc::string::String;

/// Seconds between 1970-01-01 and 1996-01-01, the epoch of IPMI FRU manufacturing dates.
pub const FRU_EPOCH: i64 = 820_454_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CimDateTime {
    /// A point in time, seconds since 1970-01-01 00:00:00 UTC.
    Timestamp(i64),
    /// A span of time in seconds.
    Interval(u64),
}

impl CimDateTime {
    /// CIM's "unknown" timestamp, 9999-01-01 00:00:00 UTC (`99990101000000.000000+000`).
    pub const UNKNOWN: CimDateTime = CimDateTime::Timestamp(days_from_civil(9999, 1, 1) * 86_400);

    /// An IPMI SEL timestamp. Values up to 0x20000000 count from BMC initialisation rather than
    /// from 1970, and 0xFFFFFFFF means "unspecified": neither is a point in time a console could
    /// show, so both become CIM's unknown timestamp.
    pub const fn from_sel(ts: u32) -> Self {
        if ts == u32::MAX || ts <= 0x2000_0000 {
            Self::UNKNOWN
        } else {
            CimDateTime::Timestamp(ts as i64)
        }
    }

    /// The `cim:Datetime` / `cim:Interval` element text.
    pub fn xml_text(&self) -> String {
        self.spell(true)
    }

    /// The DMTF string form, used where only text fits (selectors).
    pub fn cim_string(&self) -> String {
        self.spell(false)
    }

    /// Both spellings are the same six numbers laid out differently (see [`Layout`]), so one
    /// body writes them all.
    fn spell(&self, xml: bool) -> String {
        let (values, layout) = match *self {
            CimDateTime::Timestamp(t) => {
                (split(t), if xml { &XML_TIMESTAMP } else { &DMTF_TIMESTAMP })
            }
            CimDateTime::Interval(secs) => {
                let (d, h, m, s) = interval_parts(secs);
                (
                    [d, 0, h, m, s, 0],
                    if xml { &XML_INTERVAL } else { &DMTF_INTERVAL },
                )
            }
        };
        let mut out = String::with_capacity(25);
        out.push_str(layout.before);
        fields(&mut out, &values, &layout.fields);
        out.push_str(layout.after);
        out
    }

    /// Whether `text` spells this value in either form.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.trim();
        text == self.cim_string() || text == self.xml_text()
    }

    /// The name of the wrapper element in the common namespace.
    pub const fn element(&self) -> &'static str {
        match self {
            CimDateTime::Timestamp(_) => "cim:Datetime",
            CimDateTime::Interval(_) => "cim:Interval",
        }
    }
}

/// The DMTF string form of a timestamp written in either spelling, for matching a datetime key
/// a client sends back: `yyyymmddhhmmss.mmmmmm+000` as is, or a UTC `xs:dateTime`
/// (`YYYY-MM-DDTHH:MM:SS[.f]Z`) converted. `None` for anything else.
pub fn normalize(text: &str) -> Option<String> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() == 25 && b[14] == b'.' && b[..14].iter().all(u8::is_ascii_digit) {
        return Some(String::from(t));
    }
    let digits_at =
        |r: core::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits_at(0..4)
        && b[4] == b'-'
        && digits_at(5..7)
        && b[7] == b'-'
        && digits_at(8..10)
        && b[10] == b'T'
        && digits_at(11..13)
        && b[13] == b':'
        && digits_at(14..16)
        && b[16] == b':'
        && digits_at(17..19)
        && b.last() == Some(&b'Z');
    if !shape {
        return None;
    }
    let mut s = String::with_capacity(25);
    for r in [0..4, 5..7, 8..10, 11..13, 14..16, 17..19] {
        s.push_str(t.get(r)?);
    }
    s.push_str(".000000+000");
    Some(s)
}

/// One spelling of a datetime: `before`, then each of the six values as `fields` says
/// (`(width, then)`, see [`fields`]), then `after`. Data rather than code per spelling: the
/// formatting costs the bare-metal image's flash once.
struct Layout {
    before: &'static str,
    fields: [(u8, u8); 6],
    after: &'static str,
}

/// `yyyy-mm-ddThh:mm:ssZ` (`xs:dateTime`).
const XML_TIMESTAMP: Layout = Layout {
    before: "",
    fields: [
        (4, b'-'),
        (2, b'-'),
        (2, b'T'),
        (2, b':'),
        (2, b':'),
        (2, b'Z'),
    ],
    after: "",
};

/// `yyyymmddhhmmss.mmmmmm+000` (DMTF).
const DMTF_TIMESTAMP: Layout = Layout {
    before: "",
    fields: [(4, 0), (2, 0), (2, 0), (2, 0), (2, 0), (2, 0)],
    after: ".000000+000",
};

/// `PdDThHmMsS` (`xs:duration`); the values are (days, -, hours, minutes, seconds, -).
const XML_INTERVAL: Layout = Layout {
    before: "P",
    fields: [
        (1, b'D'),
        (0, b'T'),
        (1, b'H'),
        (1, b'M'),
        (1, b'S'),
        (0, 0),
    ],
    after: "",
};

/// `ddddddddhhmmss.mmmmmm:000` (DMTF); the values as for [`XML_INTERVAL`].
const DMTF_INTERVAL: Layout = Layout {
    before: "",
    fields: [(8, 0), (0, 0), (2, 0), (2, 0), (2, 0), (0, 0)],
    after: ".000000:000",
};

/// Appends each value with its `(width, then)`: the value in decimal, zero-padded to at least
/// `width` digits (a width of 0 writes no digits, for a lone separator), then the byte `then`
/// unless it is 0. The same text as `format!("{value:0width$}")`, without `core::fmt`: on the
/// bare-metal image every timestamp goes through here, and the formatting machinery costs flash
/// per call site.
fn fields(out: &mut String, values: &[u64; 6], layout: &[(u8, u8); 6]) {
    for (&value, &(width, then)) in values.iter().zip(layout) {
        if width > 0 {
            let mut digits = [b'0'; 20];
            let mut at = digits.len();
            let mut n = value;
            while n > 0 {
                at -= 1;
                digits[at] = b'0' + (n % 10) as u8;
                n /= 10;
            }
            at = at.min(digits.len().saturating_sub(usize::from(width)));
            for &b in digits.get(at..).unwrap_or_default() {
                out.push(char::from(b));
            }
        }
        if then != 0 {
            out.push(char::from(then));
        }
    }
}

fn interval_parts(secs: u64) -> (u64, u64, u64, u64) {
    (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60)
}

/// [year, month, day, hour, minute, second] of a Unix timestamp; years before 0 or after 9999
/// are clamped, because the DMTF form has four year digits (and so none is negative).
fn split(t: i64) -> [u64; 6] {
    const MIN_DAY: i64 = days_from_civil(0, 1, 1);
    let max = days_from_civil(10_000, 1, 1) * 86_400 - 1;
    // Counted from 0000-01-01 the clamped time is never negative: one unsigned division.
    let t = t.clamp(MIN_DAY * 86_400, max).abs_diff(MIN_DAY * 86_400);
    // At most 10,000 years of days, so the day number fits an i32, and the calendar arithmetic
    // runs on the 32-bit divider rather than through 64-bit division calls.
    let days = (t / 86_400) as i32 + MIN_DAY as i32;
    // The remainder < 86400, so every part fits a u32.
    let sod = (t % 86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    [
        y as u64,
        m.into(),
        d.into(),
        (sod / 3_600).into(),
        (sod / 60 % 60).into(),
        (sod % 60).into(),
    ]
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era/day-of-era method: 400-year
/// eras of 146097 days, years starting in March so the leap day ends the year).
pub const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`], for the days of years 0 to 9999 (what [`split`] clamps
/// to): i32 throughout, which the Cortex-M3 divides in hardware.
pub const fn civil_from_days(z: i32) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400) as i64;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn the_windows_sel_examples() {
        // cim.md §3.1: 0x49C1AC0F is 2009-03-19 02:21:03 UTC.
        let t = CimDateTime::from_sel(0x49C1_AC0F);
        assert_eq!(t.xml_text(), "2009-03-19T02:21:03Z");
        assert_eq!(t.cim_string(), "20090319022103.000000+000");
        assert_eq!(
            CimDateTime::from_sel(0x49C4_FE7B).xml_text(),
            "2009-03-21T14:49:31Z"
        );
    }

    #[test]
    fn unknown_and_pre_init_timestamps() {
        for ts in [0, 0x2000_0000, u32::MAX] {
            let t = CimDateTime::from_sel(ts);
            assert_eq!(t, CimDateTime::UNKNOWN);
            assert_eq!(t.cim_string(), "99990101000000.000000+000");
            assert_eq!(t.xml_text(), "9999-01-01T00:00:00Z");
        }
    }

    #[test]
    fn calendar_round_trips() {
        for days in [-719_468, -1, 0, 59, 365, 10_957, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), i64::from(days), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(
            CimDateTime::Timestamp(FRU_EPOCH).xml_text(),
            "1996-01-01T00:00:00Z"
        );
    }

    /// The hand-written fields are the text `format!` wrote before them.
    #[test]
    fn fields_spell_what_format_spelled() {
        let stamps = [
            i64::MIN,
            -1,
            0,
            59,
            86_399,
            1_237_429_263,
            253_402_300_799,
            i64::MAX,
        ];
        for t in stamps {
            let [y, mo, d, h, mi, s] = split(t);
            let v = CimDateTime::Timestamp(t);
            assert_eq!(
                v.xml_text(),
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            );
            assert_eq!(
                v.cim_string(),
                format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.000000+000")
            );
        }
        for secs in [
            0,
            1,
            59,
            3_600,
            90_061,
            8_640_000_000,
            8_640_000_000_000,
            u64::MAX,
        ] {
            let (d, h, m, s) = interval_parts(secs);
            let v = CimDateTime::Interval(secs);
            assert_eq!(v.xml_text(), format!("P{d}DT{h}H{m}M{s}S"));
            assert_eq!(
                v.cim_string(),
                format!("{d:08}{h:02}{m:02}{s:02}.000000:000")
            );
        }
    }

    #[test]
    fn intervals() {
        let i = CimDateTime::Interval(90_061);
        assert_eq!(i.xml_text(), "P1DT1H1M1S");
        assert_eq!(i.cim_string(), "00000001010101.000000:000");
        assert_eq!(i.element(), "cim:Interval");
    }

    #[test]
    fn either_spelling_matches() {
        let t = CimDateTime::from_sel(0x49C1_AC0F);
        assert!(t.matches("20090319022103.000000+000"));
        assert!(t.matches(" 2009-03-19T02:21:03Z "));
        assert!(!t.matches("2009-03-19"));
    }

    #[test]
    fn normalisation() {
        assert_eq!(
            normalize("2009-03-19T02:21:03Z").as_deref(),
            Some("20090319022103.000000+000")
        );
        assert_eq!(
            normalize("2009-03-19T02:21:03.5Z").as_deref(),
            Some("20090319022103.000000+000")
        );
        assert_eq!(
            normalize("20090319022103.000000+000").as_deref(),
            Some("20090319022103.000000+000")
        );
        assert_eq!(normalize("2009-03-19T02:21:03+01:00"), None);
        assert_eq!(normalize("yesterday"), None);
    }

    #[test]
    fn out_of_range_years_clamp() {
        assert_eq!(
            CimDateTime::Timestamp(i64::MAX).xml_text(),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(
            CimDateTime::Timestamp(i64::MIN).cim_string(),
            "00000101000000.000000+000"
        );
    }
}
