//! Text rules the reference applies through Go's standard library, restated
//! for byte-identical results: lowercasing, path cleaning, durations (the
//! shared implementation in `gait_digest::go_duration`), and how an unquoted
//! YAML number or boolean reads when a string is expected.

// One implementation of each Go string rule serves the whole crate.
pub(crate) use crate::intent::gostr::{clean_path, is_env_assignment, lower};

/// Trim then lowercase, the reference's usual normalisation of a keyword.
pub(crate) fn trim_lower(s: &str) -> String {
    lower(s.trim())
}

/// The string the reference reads from an unquoted YAML scalar that its
/// parser types as a boolean, integer, float, infinity or NaN, when the
/// target field is a string.
///
/// The reference's YAML library types plain scalars by its own rules and the
/// decoder then formats the typed value: booleans as `true`/`false`, integers
/// in decimal (so `0x1F` reads as `31`, `017` as `15`), floats as Go's `%v`.
/// Anything it does not type stays the literal text.
pub(crate) fn plain_scalar_as_string(text: &str) -> String {
    match text {
        "true" | "True" | "TRUE" => return "true".to_owned(),
        "false" | "False" | "FALSE" => return "false".to_owned(),
        ".inf" | ".Inf" | ".INF" => return "+Inf".to_owned(),
        "-.inf" | "-.Inf" | "-.INF" => return "-Inf".to_owned(),
        ".nan" | ".NaN" | ".NAN" => return "NaN".to_owned(),
        _ => {}
    }
    match go_yaml_number(text) {
        Some(GoNumber::Int(i)) => i.to_string(),
        Some(GoNumber::Uint(u)) => u.to_string(),
        Some(GoNumber::Float(f)) => format_float(f),
        None => text.to_owned(),
    }
}

/// A number as the reference's YAML library types a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq)]
enum GoNumber {
    Int(i64),
    Uint(u64),
    Float(f64),
}

/// The reference YAML library's number typing: optional sign, underscores
/// ignored, `0x`/`0o`/`0b` prefixes, a leading `0` meaning octal, and a
/// single `.` making a float (an exponent without a dot is not a number).
fn go_yaml_number(text: &str) -> Option<GoNumber> {
    if text.is_empty() || text.starts_with('_') {
        return None;
    }
    let dots = text.matches('.').count();
    if dots > 1 {
        return None;
    }
    let negative = text.starts_with('-');
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    let unsigned = unsigned.strip_prefix('-').unwrap_or(unsigned);
    let digits: String = unsigned.chars().filter(|&c| c != '_').collect();
    let (body, radix) = if let Some(rest) = digits.strip_prefix("0x") {
        (rest.to_owned(), 16)
    } else if let Some(rest) = digits.strip_prefix("0o") {
        (rest.to_owned(), 8)
    } else if let Some(rest) = digits.strip_prefix("0b") {
        (rest.to_owned(), 2)
    } else if digits.starts_with('0') && digits.len() > 1 && dots == 0 {
        (digits.clone(), 8)
    } else if dots == 1 {
        let signed = if negative {
            format!("-{digits}")
        } else {
            digits
        };
        return parse_go_float(&signed).map(GoNumber::Float);
    } else {
        (digits, 10)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    if negative {
        let signed = format!("-{body}");
        i64::from_str_radix(&signed, radix).ok().map(GoNumber::Int)
    } else {
        u64::from_str_radix(&body, radix).ok().map(GoNumber::Uint)
    }
}

/// Go's `strconv.ParseFloat` for the decimal forms that can reach it here
/// (digits with one `.`, optional exponent).
fn parse_go_float(s: &str) -> Option<f64> {
    let ok = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if !ok {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Formats a float as Go's `fmt.Sprint(float64)` (`%v`): the shortest
/// round-tripping digits, in exponent form (`1e+06`, two-digit exponent at
/// least) when the decimal exponent is below -4 or at least 6, else plain.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: `d[.ddd]e[-]x`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{exp_sign}{:02}", exp.unsigned_abs());
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!(
            "0.{}{digits}",
            "0".repeat(usize::try_from(-point).unwrap_or(0))
        )
    } else if point >= n {
        format!(
            "{digits}{}",
            "0".repeat(usize::try_from(point - n).unwrap_or(0))
        )
    } else {
        let split = usize::try_from(point).unwrap_or(0);
        let (int, frac) = digits.split_at(split.min(digits.len()));
        format!("{int}.{frac}")
    };
    format!("{sign}{body}")
}

/// Parses a duration as Go's `time.ParseDuration` (see
/// [`gait_digest::go_duration::parse_go_duration`]). Returns nanoseconds,
/// or the error whose text is the reference's message.
pub(crate) fn parse_duration(orig: &str) -> Result<i64, gait_digest::Error> {
    let nanos = gait_digest::go_duration::parse_go_duration(orig)?;
    // Always within i64: Go durations are int64 nanoseconds.
    i64::try_from(nanos).map_err(|_| gait_digest::Error::InvalidDuration {
        input: orig.to_owned(),
    })
}

/// Formats nanoseconds as Go's `time.Duration.String()` (see
/// [`gait_digest::go_duration::format_go_duration`]).
pub(crate) fn format_duration(nanos: i64) -> String {
    gait_digest::go_duration::format_go_duration(i128::from(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_matches_go_simple_mapping() {
        assert_eq!(lower("Tool.READ"), "tool.read");
        assert_eq!(lower("\u{130}STANBUL"), "istanbul");
        assert_eq!(lower("ΟΔΟΣ"), "οδοσ");
        assert_eq!(lower("straße"), "straße");
    }

    #[test]
    fn clean_path_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//a//b/", "/a/b"),
            ("a/./b", "a/b"),
            ("a/../..", ".."),
            ("../../a", "../../a"),
            ("/../a", "/a"),
            ("/a/b/../../..", "/"),
            ("a/b/../c/.", "a/c"),
            ("./", "."),
        ] {
            assert_eq!(clean_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn env_assignment_detection() {
        assert!(is_env_assignment("TOKEN=abc"));
        assert!(is_env_assignment("_X1=/tmp"));
        assert!(!is_env_assignment("/tmp/x=y"));
        assert!(!is_env_assignment("1A=b"));
        assert!(!is_env_assignment("NAME"));
    }

    #[test]
    fn plain_scalars_read_as_the_reference_reads_them() {
        for (input, want) in [
            ("123", "123"),
            ("+12", "12"),
            ("-5", "-5"),
            ("0x1F", "31"),
            ("017", "15"),
            ("0o17", "15"),
            ("0b101", "5"),
            ("1_000", "1000"),
            ("1.50", "1.5"),
            ("1e3", "1e3"),
            ("1.0e3", "1000"),
            ("0.00001", "1e-05"),
            ("True", "true"),
            ("FALSE", "false"),
            (".inf", "+Inf"),
            ("08", "08"),
            ("99999999999999999999", "99999999999999999999"),
        ] {
            assert_eq!(plain_scalar_as_string(input), want, "{input:?}");
        }
    }

    #[test]
    fn float_format_matches_go_percent_v() {
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.5, "0.5"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (123456789.0, "1.23456789e+08"),
            (1e21, "1e+21"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.25e-7, "-1.25e-07"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(format_float(f), want, "{f}");
        }
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("24h"), Ok(24 * 3_600_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration(".5ms"), Ok(500_000));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-2m"), Ok(-120_000_000_000));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration(".s").is_err());
        assert!(parse_duration("9999999999h").is_err());
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"1d\""
        );
    }

    #[test]
    fn durations_format_like_go() {
        for (nanos, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_500_000_000, "1.5s"),
            (60_000_000_000, "1m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (86_400_000_000_000, "24h0m0s"),
            (5_400_500_000_000, "1h30m0.5s"),
            (-2_000_000_000, "-2s"),
            (i64::MAX, "2562047h47m16.854775807s"),
        ] {
            assert_eq!(format_duration(nanos), want, "{nanos}");
        }
    }
}
