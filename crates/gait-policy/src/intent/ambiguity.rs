//! Refusal of JSON input that two readers could understand differently.
//!
//! * **Case-variant member names.** The reference decodes intents the way
//!   Go's `encoding/json` does: a member name selects a field exactly or,
//!   failing that, ignoring letter case. `{"tool_name":"tool.write",
//!   "TOOL_NAME":"tool.read"}` is then decided as `tool.read`, while any
//!   exact-key reader (the wrapper that runs the tool) sees `tool.write`.
//!   Two member names of one object that are equal under the decoder's
//!   folding (ASCII letter case, plus `ſ` as `s` and the Kelvin sign as
//!   `k`, see [`json_key_matches`](super::gostr::json_key_matches)) are
//!   refused, in every object at every depth (free-form `args` included).
//! * **Imprecise integers.** Every number is digested as an IEEE double, so
//!   two integers beyond 2^53 − 1 that round to the same double
//!   (`12345678901234567` and `12345678901234568`) share one digest, and
//!   one approval binds both. An integer literal (a JSON number without a
//!   fraction or an exponent) whose magnitude exceeds 2^53 − 1 is refused;
//!   such ids belong in strings. A number written with a fraction or an
//!   exponent (`12345678901234567.0`, `1.2345678901234567e16`) is a
//!   floating-point number by every JSON reader's account and is kept (and
//!   digested) as the double it denotes.
//!
//! The walk is bounded: containers nested deeper than [`MAX_DEPTH`] are an
//! error (the strict parser never produces them).

use std::collections::HashMap;

use serde_json::Number;

use super::decode::Json;
use super::error::{FieldPath, IntentError, excerpt};

/// The largest magnitude an IEEE double holds together with every smaller
/// integer: 2^53 − 1 (JavaScript's `Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The deepest nesting the walk follows: twice the strict parser's limit,
/// so it never refuses parsed text, while a hand-built value cannot
/// exhaust the stack.
const MAX_DEPTH: usize = 2 * gait_digest::canonical::MAX_DEPTH;

/// Objects up to this many members compare names pairwise; larger ones
/// use a map of folded names.
const PAIRWISE_MEMBERS: usize = 16;

/// Checks a parsed document. `bytes` is its text when the tree was parsed
/// from it (members in document order): integer literals beyond the `u64`
/// and `i64` ranges, which the parser hands over as doubles, are then
/// recognized from the text. Without it, such numbers count as floats.
pub(crate) fn check(
    json: &Json<'_>,
    bytes: Option<&[u8]>,
    root: &FieldPath<'_>,
) -> Result<(), IntentError> {
    let mut walk = Walk {
        bytes,
        numbers: 0,
        wide_double: false,
        names: true,
    };
    walk.value(json, root, 0)
}

/// Checks only the integers of a document parsed from `bytes` (in document
/// order), for a boundary that decodes the document again as a value.
pub(crate) fn check_integers(
    json: &Json<'_>,
    bytes: &[u8],
    root: &FieldPath<'_>,
) -> Result<(), IntentError> {
    let mut walk = Walk {
        bytes: Some(bytes),
        numbers: 0,
        wide_double: false,
        names: false,
    };
    walk.value(json, root, 0)
}

/// Whether `bytes` may hold an integer literal beyond the `u64` and `i64`
/// ranges: one needs at least 19 digits in a row.
pub(crate) fn may_hold_wide_integer(bytes: &[u8]) -> bool {
    let mut run = 0usize;
    for &b in bytes {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 19 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Like [`check`] without the text, and reports whether the tree holds a
/// double that could have been written as an integer literal beyond the
/// `u64`/`i64` range (then the caller checks the text with [`check`] on a
/// document-order parse).
pub(crate) fn check_tree(json: &Json<'_>, root: &FieldPath<'_>) -> Result<bool, IntentError> {
    let mut walk = Walk {
        bytes: None,
        numbers: 0,
        wide_double: false,
        names: true,
    };
    walk.value(json, root, 0)?;
    Ok(walk.wide_double)
}

struct Walk<'b> {
    bytes: Option<&'b [u8]>,
    /// Numbers seen so far, in document order.
    numbers: usize,
    /// Whether a double beyond the integer ranges was seen.
    wide_double: bool,
    /// Whether member names are checked too.
    names: bool,
}

impl Walk<'_> {
    fn value(
        &mut self,
        json: &Json<'_>,
        path: &FieldPath<'_>,
        depth: usize,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null | Json::Bool(_) | Json::String(_) => Ok(()),
            Json::Number(n) => {
                let index = self.numbers;
                self.numbers += 1;
                self.number(n, index, path)
            }
            Json::Array(items) => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(path));
                }
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &path.index(i), depth + 1)?;
                }
                Ok(())
            }
            Json::Object(members) => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(path));
                }
                if self.names {
                    case_variants(members, path)?;
                }
                for (key, value) in members {
                    self.value(value, &path.key(key), depth + 1)?;
                }
                Ok(())
            }
        }
    }

    fn number(
        &mut self,
        n: &Number,
        index: usize,
        path: &FieldPath<'_>,
    ) -> Result<(), IntentError> {
        let exact = if let Some(u) = n.as_u64() {
            Some(u <= MAX_SAFE_INTEGER)
        } else {
            n.as_i64().map(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER)
        };
        match exact {
            Some(true) => Ok(()),
            Some(false) => Err(imprecise(path, &n.to_string())),
            None => {
                // A double. The parser gives integer literals as doubles only
                // beyond the u64 and i64 ranges (2^63 and more in magnitude).
                let f = n.as_f64().unwrap_or(0.0);
                if f.abs() < 9.0e18 || f.fract() != 0.0 {
                    return Ok(());
                }
                self.wide_double = true;
                match self.bytes.and_then(|b| nth_number_literal(b, index)) {
                    Some(literal) if is_integer_literal(literal) => {
                        Err(imprecise(path, &String::from_utf8_lossy(literal)))
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

fn too_deep(path: &FieldPath<'_>) -> IntentError {
    IntentError::invalid(
        path,
        format!("nested deeper than {MAX_DEPTH} arrays and objects"),
    )
}

fn imprecise(path: &FieldPath<'_>, literal: &str) -> IntentError {
    IntentError::ImpreciseInteger {
        path: path.render(),
        literal: excerpt(literal),
    }
}

/// The folded form of one character: what the decoder's case-insensitive
/// member matching treats as equal.
fn fold(c: char) -> char {
    match c {
        '\u{17F}' => 's',
        '\u{212A}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

fn fold_eq(a: &str, b: &str) -> bool {
    // The common case, ASCII names: folding is ASCII lowercasing, and
    // equal names have equal lengths (checked first).
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().map(fold).eq(b.chars().map(fold))
}

/// Refuses the first pair of member names (in document order) that are
/// equal once folded.
fn case_variants(
    members: &[(std::borrow::Cow<'_, str>, Json<'_>)],
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    let found = if members.len() <= PAIRWISE_MEMBERS {
        // Whether each name is ASCII, found once: two ASCII names are
        // equal once folded only if their byte lengths are equal, so most
        // pairs cost a length comparison.
        let mut ascii = [false; PAIRWISE_MEMBERS];
        for (flag, (name, _)) in ascii.iter_mut().zip(members) {
            *flag = name.is_ascii();
        }
        members.iter().enumerate().find_map(|(j, (b, _))| {
            let b_ascii = *ascii.get(j)?;
            members
                .iter()
                .zip(&ascii)
                .take(j)
                .find(|((a, _), a_ascii)| {
                    if **a_ascii && b_ascii {
                        a.len() == b.len() && a.eq_ignore_ascii_case(b)
                    } else {
                        fold_eq(a, b)
                    }
                })
                .map(|((a, _), _)| (a, b))
        })
    } else {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(members.len());
        members.iter().enumerate().find_map(|(j, (b, _))| {
            let folded: String = b.chars().map(fold).collect();
            match seen.get(&folded) {
                Some(&i) => members.get(i).map(|(a, _)| (a, b)),
                None => {
                    seen.insert(folded, j);
                    None
                }
            }
        })
    };
    match found {
        Some((first, second)) => Err(IntentError::CaseVariantMembers {
            path: path.render(),
            first: excerpt(first),
            second: excerpt(second),
        }),
        None => Ok(()),
    }
}

/// Whether a number literal is an integer: no fraction, no exponent.
fn is_integer_literal(literal: &[u8]) -> bool {
    !literal.iter().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// The text of the `index`-th number (counted from 0 in document order) of
/// valid JSON text.
fn nth_number_literal(bytes: &[u8], index: usize) -> Option<&[u8]> {
    let mut seen = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                // Skip the string, escapes included.
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += match c {
                        b'\\' => 2,
                        b'"' => break,
                        _ => 1,
                    };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while bytes
                    .get(i)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    i += 1;
                }
                if seen == index {
                    return bytes.get(start..i);
                }
                seen += 1;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::decode;

    fn check_text(text: &str) -> Result<(), IntentError> {
        let json = decode::parse(text.as_bytes())?;
        check(&json, Some(text.as_bytes()), &FieldPath::ROOT)
    }

    #[test]
    fn finds_number_literals_in_order() {
        let text = br#"{"a\"1":[-1.5e3,"2",{"x":true,"y":12}],"b":null,"c":-0}"#;
        assert_eq!(nth_number_literal(text, 0), Some(&b"-1.5e3"[..]));
        assert_eq!(nth_number_literal(text, 1), Some(&b"12"[..]));
        assert_eq!(nth_number_literal(text, 2), Some(&b"-0"[..]));
        assert_eq!(nth_number_literal(text, 3), None);
    }

    #[test]
    fn folds_like_the_decoder() {
        assert!(fold_eq("tool_name", "TOOL_NAME"));
        assert!(fold_eq("risk_class", "ri\u{17F}k_cla\u{17F}\u{17F}"));
        assert!(fold_eq("kind", "\u{212A}ind"));
        assert!(!fold_eq("tool_name", "tool_nam"));
        assert!(!fold_eq("\u{e9}", "\u{c9}"));
    }

    #[test]
    fn refuses_case_variants_with_path_and_names() {
        let err = check_text(r#"{"context":{"args":{"Path":1,"x":2,"PATH":3}}}"#).unwrap_err();
        assert_eq!(
            err,
            IntentError::CaseVariantMembers {
                path: "context.args".into(),
                first: "Path".into(),
                second: "PATH".into(),
            }
        );
        // Large objects take the map path.
        let members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{\"o\":[{{{},\"K7\":0}}]}}", members.join(","));
        let err = check_text(&text).unwrap_err();
        assert_eq!(err.path(), Some("o[0]"));
        assert!(err.to_string().contains("\"k7\" and \"K7\""), "{err}");
        assert!(check_text(&format!("{{{}}}", members.join(","))).is_ok());
    }

    #[test]
    fn refuses_integers_a_double_cannot_hold() {
        assert!(check_text(r#"{"a":9007199254740991,"b":-9007199254740991}"#).is_ok());
        for (text, literal) in [
            (r#"{"args":{"n":9007199254740992}}"#, "9007199254740992"),
            (r#"{"args":{"n":-9007199254740992}}"#, "-9007199254740992"),
            (
                r#"{"args":{"n":18446744073709551615}}"#,
                "18446744073709551615",
            ),
            (
                r#"{"args":{"n":123456789012345678901234}}"#,
                "123456789012345678901234",
            ),
            (
                r#"{"args":{"n":-123456789012345678901234}}"#,
                "-123456789012345678901234",
            ),
        ] {
            let err = check_text(text).unwrap_err();
            assert_eq!(
                err,
                IntentError::ImpreciseInteger {
                    path: "args.n".into(),
                    literal: literal.into()
                },
                "{text}"
            );
        }
        // Fractions and exponents are doubles by every reader's account.
        for ok in [
            "12345678901234567.0",
            "1.2345678901234567e16",
            "1e300",
            "-1E19",
            "123456789012345678901234.5",
        ] {
            assert!(
                check_text(&format!(r#"{{"s":"9999999999999999999","n":{ok}}}"#)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn wide_integer_prefilter() {
        assert!(!may_hold_wide_integer(b"{\"n\":922337203685477580}"));
        assert!(may_hold_wide_integer(b"{\"n\":-9223372036854775809}"));
        assert!(may_hold_wide_integer(b"[18446744073709551616]"));
    }

    #[test]
    fn depth_is_bounded_for_built_values() {
        let mut value = serde_json::json!(1);
        for _ in 0..(MAX_DEPTH + 5) {
            value = serde_json::Value::Array(vec![value]);
        }
        let json = Json::from_value(&value);
        assert!(matches!(
            check(&json, None, &FieldPath::ROOT),
            Err(IntentError::Invalid { .. })
        ));
    }
}
