//! Durations as the reference writes and reads them: Go's
//! `time.ParseDuration` and `time.Duration.String()`.
//!
//! The reference takes durations on the command line (`gait approve --ttl
//! 1h30m`) and in policies (`mcp_trust.max_age`), and the policy digest
//! covers the formatted form, so both directions must be byte-identical.
//!
//! ```
//! use gait_digest::go_duration::{format_go_duration, parse_go_duration};
//!
//! assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
//! assert_eq!(format_go_duration(5_400_000_000_000), "1h30m0s");
//! assert!(parse_go_duration("1d").is_err());
//! ```

use crate::Error;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
/// Go durations are `int64` nanoseconds: magnitudes above 2^63 overflow.
const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => NANOSECOND,
        "us" | "\u{b5}s" | "\u{3bc}s" => MICROSECOND,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        _ => return None,
    })
}

/// Parses a duration as Go's `time.ParseDuration`: an optionally signed
/// sequence of decimal numbers, each with an optional fraction and a unit
/// (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), such as `1h30m` or `1.5s`; the
/// bare `0` is allowed. The input is not trimmed.
///
/// Returns nanoseconds (always within the range of Go's `int64`), or the
/// reference's error message (`time: invalid duration "…"`, `time: missing
/// unit in duration "…"`, `time: unknown unit "…" in duration "…"`).
///
/// # Errors
///
/// [`Error::InvalidDuration`], [`Error::MissingDurationUnit`] or
/// [`Error::UnknownDurationUnit`].
pub fn parse_go_duration(orig: &str) -> Result<i128, Error> {
    let invalid = || Error::InvalidDuration {
        input: orig.to_owned(),
    };
    let mut s = orig;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes().first().copied().unwrap_or(b'x');
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part: overflow is an error.
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, rest) = s.split_at(int_len);
        let mut whole: u64 = 0;
        for b in int_digits.bytes() {
            if whole > LIMIT / 10 {
                return Err(invalid());
            }
            whole = whole * 10 + u64::from(b - b'0');
            if whole > LIMIT {
                return Err(invalid());
            }
        }
        s = rest;
        // Fraction: digits past what fits are ignored.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut has_frac = false;
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (frac_digits, rest) = rest.split_at(frac_len);
            has_frac = frac_len > 0;
            let mut overflow = false;
            for b in frac_digits.bytes() {
                if overflow {
                    continue;
                }
                if frac > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = frac * 10 + u64::from(b - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                frac = next;
                scale *= 10.0;
            }
            s = rest;
        }
        if int_len == 0 && !has_frac {
            return Err(invalid());
        }
        let unit_len = s
            .bytes()
            .take_while(|&b| b != b'.' && !b.is_ascii_digit())
            .count();
        if unit_len == 0 {
            return Err(Error::MissingDurationUnit {
                input: orig.to_owned(),
            });
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let Some(unit_ns) = unit_nanos(unit) else {
            return Err(Error::UnknownDurationUnit {
                unit: unit.to_owned(),
                input: orig.to_owned(),
            });
        };
        if whole > LIMIT / unit_ns {
            return Err(invalid());
        }
        let mut value = whole * unit_ns;
        if frac > 0 {
            // The reference's float arithmetic, truncated toward zero.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "restates Go's float64 step exactly"
            )]
            let extra = (frac as f64 * (unit_ns as f64 / scale)) as u64;
            value = value.checked_add(extra).ok_or_else(invalid)?;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        // total <= 2^63: the negation is at least i64::MIN.
        return Ok(-i128::from(total));
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(i128::from(total))
}

/// Formats nanoseconds as Go's `time.Duration.String()`: `72h3m0.5s`,
/// `1.5ms`, `0s`. From one second up, the hours and minutes that apply are
/// followed by seconds (`24h0m0s`); below a second the largest fitting unit
/// is used (`ns`, `µs`, `ms`).
///
/// Any `i128` is accepted; within the `int64` range the text is the
/// reference's.
pub fn format_go_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let mut u = nanos.unsigned_abs();
    let second = u128::from(SECOND);
    if u < second {
        let (unit, prec) = if u < u128::from(MICROSECOND) {
            ("ns", 0)
        } else if u < u128::from(MILLISECOND) {
            ("\u{b5}s", 3)
        } else {
            ("ms", 6)
        };
        let (frac, whole) = fraction(u, prec);
        return format!("{sign}{whole}{frac}{unit}");
    }
    let (frac, secs) = fraction(u, 9);
    u = secs;
    let mut out = format!("{}{frac}s", u % 60);
    u /= 60;
    if u > 0 {
        out = format!("{}m{out}", u % 60);
        u /= 60;
        if u > 0 {
            out = format!("{u}h{out}");
        }
    }
    format!("{sign}{out}")
}

/// Splits off the low `prec` decimal digits of `v` as a fraction string
/// (`.5`, trailing zeros trimmed, empty when zero) and returns the rest.
fn fraction(v: u128, prec: u32) -> (String, u128) {
    if prec == 0 {
        return (String::new(), v);
    }
    let div = 10u128.pow(prec);
    let low = v % div;
    if low == 0 {
        return (String::new(), v / div);
    }
    let digits = format!("{low:0width$}", width = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / div)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn parses_like_go() {
        assert_eq!(parse_go_duration("24h"), Ok(24 * 3_600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_go_duration("1µs"), Ok(1_000));
        assert_eq!(parse_go_duration("1μs"), Ok(1_000));
        assert_eq!(parse_go_duration("1us"), Ok(1_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("+0"), Ok(0));
        assert_eq!(parse_go_duration("-2m"), Ok(-120_000_000_000));
        assert_eq!(parse_go_duration("1h1h"), Ok(7_200_000_000_000));
        assert_eq!(parse_go_duration("1.s"), Ok(1_000_000_000));
        assert_eq!(
            parse_go_duration("0.3333333333333333333h"),
            Ok(1_200_000_000_000)
        );
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("-").is_err());
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("1d").is_err());
        assert!(parse_go_duration(".s").is_err());
        assert!(parse_go_duration(" 1h").is_err());
        assert!(parse_go_duration("9999999999h").is_err());
        assert_eq!(
            parse_go_duration("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
        assert_eq!(
            parse_go_duration("10").unwrap_err().to_string(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse_go_duration("x").unwrap_err().to_string(),
            "time: invalid duration \"x\""
        );
    }

    #[test]
    fn int64_bounds() {
        assert_eq!(
            parse_go_duration("9223372036854775807ns"),
            Ok(i128::from(i64::MAX))
        );
        assert!(parse_go_duration("9223372036854775808ns").is_err());
        assert_eq!(
            parse_go_duration("-9223372036854775808ns"),
            Ok(i128::from(i64::MIN))
        );
        assert!(parse_go_duration("-9223372036854775809ns").is_err());
        assert_eq!(
            parse_go_duration("2562047h47m16.854775807s"),
            Ok(i128::from(i64::MAX))
        );
        assert!(parse_go_duration("2562048h").is_err());
    }

    #[test]
    fn formats_like_go() {
        for (nanos, want) in [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (86_400_000_000_000, "24h0m0s"),
            (5_400_500_000_000, "1h30m0.5s"),
            (-2_000_000_000, "-2s"),
            (-1_500, "-1.5µs"),
            (i128::from(i64::MAX), "2562047h47m16.854775807s"),
            (i128::from(i64::MIN), "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(format_go_duration(nanos), want, "{nanos}");
        }
    }

    #[test]
    fn round_trips() {
        for text in ["1h0m0s", "1.5s", "2m3.000000004s", "-7ms", "1µs", "0s"] {
            let n = parse_go_duration(text).unwrap();
            assert_eq!(format_go_duration(n), text);
        }
    }
}
