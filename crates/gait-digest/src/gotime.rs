//! Timestamps in the reference's JSON form (Go `time.Time`, RFC 3339 with
//! nanoseconds).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, excerpt};

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch.
const ZERO_UNIX: i64 = -62_135_596_800;

/// A point in time with the UTC offset it was written with.
///
/// Formatting follows Go's `time.RFC3339Nano`, which the reference uses for
/// every timestamp it serializes:
///
/// * up to nine fractional digits with trailing zeros trimmed, and no
///   fraction at all when it is zero (`…:00Z`, `…:00.5Z`);
/// * the parsed offset is preserved (`+02:00` stays `+02:00`), and a zero
///   offset prints as `Z`;
/// * the zero value is `0001-01-01T00:00:00Z` and, unlike other empty
///   values, is never omitted from JSON.
///
/// Ordering and equality compare the instant first, then the offset.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoTime {
    unix_secs: i64,
    nanos: u32,
    offset_secs: i32,
}

impl Default for GoTime {
    fn default() -> Self {
        Self::ZERO
    }
}

impl GoTime {
    /// Go's zero time, `0001-01-01T00:00:00Z`.
    pub const ZERO: GoTime = GoTime {
        unix_secs: ZERO_UNIX,
        nanos: 0,
        offset_secs: 0,
    };

    /// The current time in UTC.
    pub fn now_utc() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            unix_secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos(),
            offset_secs: 0,
        }
    }

    /// A UTC time from Unix seconds and nanoseconds (`nanos` is clamped to
    /// below one second).
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Self {
            unix_secs: secs,
            nanos: nanos.min(999_999_999),
            offset_secs: 0,
        }
    }

    /// Whether this is Go's zero time (at any offset).
    pub fn is_zero(&self) -> bool {
        self.unix_secs == ZERO_UNIX && self.nanos == 0
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.unix_secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Nanoseconds since the Unix epoch.
    pub fn unix_nanos(&self) -> i128 {
        i128::from(self.unix_secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The UTC offset in seconds east of Greenwich.
    pub fn offset_seconds(&self) -> i32 {
        self.offset_secs
    }

    /// The same instant expressed in UTC.
    pub fn to_utc(self) -> Self {
        Self {
            offset_secs: 0,
            ..self
        }
    }

    /// This instant plus `secs` seconds (saturating), keeping the offset.
    pub fn add_seconds(self, secs: i64) -> Self {
        Self {
            unix_secs: self.unix_secs.saturating_add(secs),
            ..self
        }
    }

    /// Whether `self` is strictly before `other` as instants.
    pub fn is_before(&self, other: &GoTime) -> bool {
        self.unix_nanos() < other.unix_nanos()
    }

    /// Whether `self` is strictly after `other` as instants.
    pub fn is_after(&self, other: &GoTime) -> bool {
        self.unix_nanos() > other.unix_nanos()
    }

    /// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`) as Go's
    /// `time.Parse(time.RFC3339Nano, …)` does: fraction digits beyond nine
    /// are truncated, the offset is kept.
    pub fn parse(text: &str) -> Result<Self, Error> {
        parse_rfc3339(text).map_err(|reason| Error::InvalidTime {
            input: excerpt(text),
            reason,
        })
    }

    /// Formats as Go's `time.RFC3339` layout: like [`GoTime::format`] but
    /// with the fraction of a second dropped (truncated, not rounded), as
    /// the reference prints expiry times in command output
    /// (`2036-11-22T17:18:34Z`).
    pub fn format_rfc3339(&self) -> String {
        Self { nanos: 0, ..*self }.format()
    }

    /// Formats as Go's RFC3339Nano.
    pub fn format(&self) -> String {
        let local = self.unix_secs.saturating_add(i64::from(self.offset_secs));
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return self.format_slow(y, m, d, sod);
        }
        // The common case without `format!` (traces format several times
        // per decision): fixed-width digits into one buffer.
        let mut out = String::with_capacity(36);
        push_digits(&mut out, y.unsigned_abs(), 4);
        push_two(&mut out, '-', m);
        push_two(&mut out, '-', d);
        push_two(&mut out, 'T', sod / 3600);
        push_two(&mut out, ':', (sod % 3600) / 60);
        push_two(&mut out, ':', sod % 60);
        if self.nanos != 0 {
            // Nine digits with the trailing zeros cut.
            let mut nanos = self.nanos;
            let mut width = 9;
            while nanos.is_multiple_of(10) {
                nanos /= 10;
                width -= 1;
            }
            out.push('.');
            push_digits(&mut out, u64::from(nanos), width);
        }
        if self.offset_secs == 0 {
            out.push('Z');
        } else {
            let abs = i64::from(self.offset_secs.unsigned_abs());
            push_two(
                &mut out,
                if self.offset_secs < 0 { '-' } else { '+' },
                abs / 3600,
            );
            push_two(&mut out, ':', (abs % 3600) / 60);
        }
        out
    }

    /// `format` for years outside 0..=9999 (`format!` widths, as before).
    fn format_slow(&self, y: i64, m: i64, d: i64, sod: i64) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            sod / 3600,
            (sod % 3600) / 60,
            sod % 60
        );
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        if self.offset_secs == 0 {
            s.push('Z');
        } else {
            let sign = if self.offset_secs < 0 { '-' } else { '+' };
            let abs = self.offset_secs.unsigned_abs();
            s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60));
        }
        s
    }
}

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format())
    }
}

impl fmt::Debug for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoTime({})", self.format())
    }
}

impl std::str::FromStr for GoTime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.format())
    }
}

impl<'de> Deserialize<'de> for GoTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Result<u32, &'static str> {
    let part = b.get(at..at + n).ok_or("too short")?;
    let mut v = 0u32;
    for &c in part {
        if !c.is_ascii_digit() {
            return Err("expected a digit");
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn expect(b: &[u8], at: usize, c: u8) -> Result<(), &'static str> {
    if b.get(at) == Some(&c) {
        Ok(())
    } else {
        Err("unexpected character")
    }
}

fn parse_rfc3339(text: &str) -> Result<GoTime, &'static str> {
    let b = text.as_bytes();
    let year = digits(b, 0, 4)?;
    expect(b, 4, b'-')?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b'-')?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b'T')?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b':')?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b':')?;
    let second = digits(b, 17, 2)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            let d = u32::from(b.get(i).copied().unwrap_or(b'0') - b'0');
            if i - start < 9 {
                nanos = nanos * 10 + d;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return Err("empty fraction");
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i32 = match b.get(i) {
        Some(b'Z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            expect(b, i + 3, b':')?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return Err("offset out of range");
            }
            i += 6;
            let v = i32::try_from(oh * 3600 + om * 60).map_err(|_| "offset out of range")?;
            if sign == b'-' { -v } else { v }
        }
        _ => return Err("missing time zone offset"),
    };
    if i != b.len() {
        return Err("extra text after time");
    }
    if !(1..=12).contains(&month) {
        return Err("month out of range");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day out of range");
    }
    if hour > 23 {
        return Err("hour out of range");
    }
    if minute > 59 {
        return Err("minute out of range");
    }
    if second > 59 {
        return Err("second out of range");
    }
    let days = days_from_civil(i64::from(year), month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok(GoTime {
        unix_secs: local - i64::from(offset_secs),
        nanos,
        offset_secs,
    })
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Pushes the last `width` decimal digits of `v`, zero-padded.
fn push_digits(out: &mut String, v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let start = buf.len().saturating_sub(width);
    let mut v = v;
    for slot in buf.iter_mut().skip(start).rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    for &b in buf.iter().skip(start) {
        out.push(char::from(b));
    }
}

/// Pushes `sep` then `v` (0..=99) as two digits.
fn push_two(out: &mut String, sep: char, v: i64) {
    let v = v.clamp(0, 99) as u8;
    out.push(sep);
    out.push(char::from(b'0' + v / 10));
    out.push(char::from(b'0' + v % 10));
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast formatter writes exactly what the `format!` one does.
    #[test]
    fn fast_format_equals_the_format_macro_path() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for i in 0..20_000u64 {
            let secs =
                (next() % 253_402_300_799) as i64 - if i % 7 == 0 { 62_135_596_800 } else { 0 };
            let nanos = match i % 4 {
                0 => 0,
                1 => (next() % 1_000_000_000) as u32,
                2 => ((next() % 1000) * 1_000_000) as u32,
                _ => 1,
            };
            let offset = ((next() % 57_600) as i32 - 28_800) / 60 * 60;
            let t = GoTime {
                unix_secs: secs,
                nanos,
                offset_secs: if i % 3 == 0 { 0 } else { offset },
            };
            let local = t.unix_secs + i64::from(t.offset_secs);
            let (y, m, d) = civil_from_days(local.div_euclid(86_400));
            assert_eq!(
                t.format(),
                t.format_slow(y, m, d, local.rem_euclid(86_400)),
                "{secs} {nanos} {offset}"
            );
        }
    }

    fn rt(s: &str) -> String {
        GoTime::parse(s).unwrap().format()
    }

    #[test]
    fn go_rfc3339nano_forms() {
        assert_eq!(rt("2026-02-05T00:00:00Z"), "2026-02-05T00:00:00Z");
        assert_eq!(rt("2026-02-05T00:00:00.500Z"), "2026-02-05T00:00:00.5Z");
        assert_eq!(
            rt("2026-02-24T12:42:58.228785000Z"),
            "2026-02-24T12:42:58.228785Z"
        );
        assert_eq!(rt("2026-02-05T00:00:00.000Z"), "2026-02-05T00:00:00Z");
        assert_eq!(rt("2026-02-05T02:00:00+02:00"), "2026-02-05T02:00:00+02:00");
        assert_eq!(rt("2026-02-05T00:00:00+00:00"), "2026-02-05T00:00:00Z");
        assert_eq!(rt("2026-02-05T00:00:00-00:00"), "2026-02-05T00:00:00Z");
        assert_eq!(
            rt("2026-02-05T00:00:00.1234567891234Z"),
            "2026-02-05T00:00:00.123456789Z"
        );
        assert_eq!(rt("0001-01-01T00:00:00Z"), "0001-01-01T00:00:00Z");
        assert_eq!(rt("2024-02-29T23:59:59-05:30"), "2024-02-29T23:59:59-05:30");
    }

    #[test]
    fn rfc3339_seconds_layout() {
        let f = |s: &str| GoTime::parse(s).unwrap().format_rfc3339();
        assert_eq!(f("2036-11-22T17:18:34.843495838Z"), "2036-11-22T17:18:34Z");
        assert_eq!(
            f("2026-02-05T02:00:00.999+02:00"),
            "2026-02-05T02:00:00+02:00"
        );
        assert_eq!(f("2026-02-05T00:00:00Z"), "2026-02-05T00:00:00Z");
        assert_eq!(
            GoTime::from_unix(-1, 500_000_000).format_rfc3339(),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn zero_time() {
        assert!(GoTime::ZERO.is_zero());
        assert_eq!(GoTime::default().format(), "0001-01-01T00:00:00Z");
        assert!(GoTime::parse("0001-01-01T00:00:00Z").unwrap().is_zero());
        assert_eq!(GoTime::from_unix(0, 0).format(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn offsets_are_the_same_instant() {
        let a = GoTime::parse("2026-02-05T02:00:00+02:00").unwrap();
        let b = GoTime::parse("2026-02-05T00:00:00Z").unwrap();
        assert_eq!(a.unix_nanos(), b.unix_nanos());
        assert_eq!(a.to_utc(), b);
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2026-02-05",
            "2026-02-05T00:00:00",
            "2026-02-05 00:00:00Z",
            "2026-13-05T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-02-05T24:00:00Z",
            "2026-02-05T00:60:00Z",
            "2026-02-05T00:00:60Z",
            "2026-02-05T00:00:00.Z",
            "2026-02-05T00:00:00+24:00",
            "2026-02-05T00:00:00+0200",
            "2026-02-05T00:00:00Zjunk",
            "２026-02-05T00:00:00Z",
        ] {
            assert!(GoTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-719_162i64, -1, 0, 1, 11_016, 20_489, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            let back = days_from_civil(y, u32::try_from(m).unwrap(), u32::try_from(d).unwrap());
            assert_eq!(back, days);
        }
    }
}
