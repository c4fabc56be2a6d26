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
//! The check is folded into the one pass over an intent (building its
//! [`Json`] tree from the text or a `serde_json::Value`, then decoding it):
//! the pass raises a [`Screen`] when something may be ambiguous, and only
//! then is the tree walked ([`check`]) to name the first offending field
//! in document order. A well-formed intent is walked once, and the errors
//! are exactly the walk's.
//!
//! The walk is bounded: containers nested deeper than [`MAX_DEPTH`] are an
//! error (the strict parser never produces them).

use std::borrow::Cow;
use std::cell::Cell;
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
pub(crate) const MAX_DEPTH: usize = 2 * gait_digest::canonical::MAX_DEPTH;

/// Objects up to this many members compare names pairwise; larger ones
/// use a map of folded names.
const PAIRWISE_MEMBERS: usize = 16;

/// What the one pass over an intent (building its [`Json`] tree, then
/// decoding it) noticed: raised when the intent may be ambiguous, and only
/// then is the tree walked by [`check`] (see [`Screen::confirm`]).
///
/// Raised by
/// * a number that is not a safe integer or an ordinary double
///   ([`screens_number`]), while the tree is built;
/// * a container nested [`MAX_DEPTH`] deep, whose contents the tree then
///   leaves out ([`Screen::truncate`]);
/// * while decoding, a member name that is no exact field name of the
///   struct it is decoded into (two names equal once folded cannot both be
///   exact field names: these are distinct and lower case, and the strict
///   parse has refused repeated names), which covers the unknown members
///   and everything inside them, the decoder skips;
/// * while decoding, a free-form object (`args`, `auth_context`, and every
///   object inside them) with two member names equal once folded.
///
/// Every refusal of [`check`] raises it or makes the decoder fail first:
/// an object the decoder cannot take is a decoding error, which
/// [`Screen::confirm`] also checks behind.
#[derive(Debug, Default)]
pub(crate) struct Screen {
    raised: Cell<bool>,
    truncated: Cell<bool>,
}

impl Screen {
    /// Notes a number.
    #[inline]
    pub(crate) fn number(&self, n: &Number) {
        if screens_number(n) {
            self.raised.set(true);
        }
    }

    /// Notes the members of one free-form object.
    #[inline]
    pub(crate) fn members(&self, members: &[(Cow<'_, str>, Json<'_>)]) {
        if has_case_variant(members) {
            self.raised.set(true);
        }
    }

    /// Notes a member name that is no exact field name.
    #[inline]
    pub(crate) fn raise(&self) {
        self.raised.set(true);
    }

    /// Notes a container whose contents were left out: it is nested
    /// [`MAX_DEPTH`] deep, which [`check`] refuses.
    pub(crate) fn truncate(&self) {
        self.raised.set(true);
        self.truncated.set(true);
    }

    /// The decoded intent, unless the input is ambiguous: when the screen
    /// was raised or decoding failed, `recheck` walks the whole input
    /// (with [`check`], which names the first offending field in document
    /// order) and its error comes first, as ambiguity is refused before
    /// anything is decoded.
    pub(crate) fn confirm<T>(
        &self,
        decoded: Result<T, IntentError>,
        recheck: impl FnOnce() -> Result<(), IntentError>,
    ) -> Result<T, IntentError> {
        if self.raised.get() || decoded.is_err() {
            recheck()?;
            if self.truncated.get() {
                // Not reached: `check` refuses the container left empty.
                // An intent missing part of its input is never used.
                return Err(too_deep(&FieldPath::ROOT));
            }
        }
        decoded
    }
}

/// How [`check`] sees a number.
enum NumberClass {
    /// An integer within ±[`MAX_SAFE_INTEGER`], or a double an integer
    /// literal cannot have produced.
    Plain,
    /// An integer beyond ±[`MAX_SAFE_INTEGER`] within the 64-bit ranges.
    Imprecise,
    /// A double beyond the 64-bit integer ranges without a fraction: an
    /// integer literal, or a float; only the text tells.
    WideDouble,
}

fn classify(n: &Number) -> NumberClass {
    let exact = if let Some(u) = n.as_u64() {
        Some(u <= MAX_SAFE_INTEGER)
    } else {
        n.as_i64().map(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER)
    };
    match exact {
        Some(true) => NumberClass::Plain,
        Some(false) => NumberClass::Imprecise,
        None => {
            // A double. The parser gives integer literals as doubles only
            // beyond the u64 and i64 ranges (2^63 and more in magnitude).
            let f = n.as_f64().unwrap_or(0.0);
            if f.abs() < 9.0e18 || f.fract() != 0.0 {
                NumberClass::Plain
            } else {
                NumberClass::WideDouble
            }
        }
    }
}

/// Whether [`check`] must look at a number.
#[inline]
pub(crate) fn screens_number(n: &Number) -> bool {
    !matches!(classify(n), NumberClass::Plain)
}

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
        match classify(n) {
            NumberClass::Plain => Ok(()),
            NumberClass::Imprecise => Err(imprecise(path, &n.to_string())),
            NumberClass::WideDouble => {
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
    // Names equal but for ASCII letter case are equal once folded (their
    // other characters are the same); ASCII names are equal once folded
    // only so. Both tests compare lengths first.
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return false;
    }
    a.chars().map(fold).eq(b.chars().map(fold))
}

/// Refuses the first pair of member names (in document order) that are
/// equal once folded.
fn case_variants(
    members: &[(Cow<'_, str>, Json<'_>)],
    path: &FieldPath<'_>,
) -> Result<(), IntentError> {
    match first_case_variant(members) {
        Some((first, second)) => Err(IntentError::CaseVariantMembers {
            path: path.render(),
            first: excerpt(first),
            second: excerpt(second),
        }),
        None => Ok(()),
    }
}

/// Whether two member names are equal once folded: whether
/// [`first_case_variant`] finds a pair, answered faster for the usual
/// object of a few ASCII names. Two ASCII names are equal once folded only
/// if their lengths, first bytes and last bytes are (ignoring case), so one
/// integer comparison rules most pairs out.
fn has_case_variant(members: &[(Cow<'_, str>, Json<'_>)]) -> bool {
    match members {
        [] | [_] => return false,
        [(a, _), (b, _)] => return fold_eq(a, b),
        _ if members.len() > PAIRWISE_MEMBERS => return first_case_variant(members).is_some(),
        _ => {}
    }
    let mut keys = [0usize; PAIRWISE_MEMBERS];
    for (key, (name, _)) in keys.iter_mut().zip(members) {
        let bytes = name.as_bytes();
        if !bytes.is_ascii() {
            return first_case_variant(members).is_some();
        }
        let first = bytes.first().map_or(0, u8::to_ascii_lowercase);
        let last = bytes.last().map_or(0, u8::to_ascii_lowercase);
        *key = (bytes.len() << 16) | (usize::from(first) << 8) | usize::from(last);
    }
    members
        .iter()
        .zip(&keys)
        .enumerate()
        .skip(1)
        .any(|(j, ((b, _), kb))| {
            members
                .iter()
                .zip(&keys)
                .take(j)
                .any(|((a, _), ka)| ka == kb && a.eq_ignore_ascii_case(b))
        })
}

/// The first pair of member names (in document order of the second) that
/// are equal once folded.
fn first_case_variant<'m>(members: &'m [(Cow<'_, str>, Json<'_>)]) -> Option<(&'m str, &'m str)> {
    if members.len() <= PAIRWISE_MEMBERS {
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
                .map(|((a, _), _)| (&**a, &**b))
        })
    } else {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(members.len());
        members.iter().enumerate().find_map(|(j, (b, _))| {
            let folded: String = b.chars().map(fold).collect();
            match seen.get(&folded) {
                Some(&i) => members.get(i).map(|(a, _)| (&**a, &**b)),
                None => {
                    seen.insert(folded, j);
                    None
                }
            }
        })
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
    use proptest::prelude::*;

    use super::*;
    use crate::intent::{Intent, decode};

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

    /// The former order: parse, walk the whole tree with [`check`], then
    /// decode and normalize. The screened single pass must give the same
    /// result on every input.
    fn two_walks_slice(bytes: &[u8]) -> Result<Intent, IntentError> {
        let json = decode::parse(bytes)?;
        check(&json, Some(bytes), &FieldPath::ROOT)?;
        Intent::from_raw(&mut decode::decode_intent(json, &Screen::default())?)
    }

    fn two_walks_value(value: &serde_json::Value) -> Result<Intent, IntentError> {
        let json = Json::from_value(value);
        check(&json, None, &FieldPath::ROOT)?;
        Intent::from_raw(&mut decode::decode_intent(json, &Screen::default())?)
    }

    /// Member names: field names of the intent and its parts, their case
    /// and Go-folding variants, and unknown names.
    const NAMES: &[&str] = &[
        "tool_name",
        "TOOL_NAME",
        "args",
        "Args",
        "targets",
        "kind",
        r"\u212aind",
        "KIND",
        "value",
        "context",
        "Context",
        "identity",
        "risk_class",
        r"ri\u017fk_class",
        "auth_context",
        "credential_ttl_seconds",
        "script",
        "steps",
        "created_at",
        "x",
        "X",
        "extra",
        r"\u00e9",
        r"\u00c9",
    ];

    /// Intent-like JSON text: objects with members from [`NAMES`] in any
    /// order (repeats too), strings, safe and imprecise integers, doubles.
    fn intent_like() -> impl Strategy<Value = String> {
        // Strings, safe and imprecise integers (also as doubles), doubles.
        let leaves = r#""t" "path" "2026-02-18T00:00:00Z" null true 7 -3 1.5 9007199254740991
            9007199254740992 -9007199254740993 18446744073709551615 123456789012345678901234
            1e19 12345678901234567890.0"#;
        let leaf = prop::sample::select(leaves.split_whitespace().collect::<Vec<_>>())
            .prop_map(str::to_owned);
        let value = leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(
                    |members| {
                        let parts: Vec<String> = members
                            .into_iter()
                            .map(|(k, v)| format!("\"{k}\":{v}"))
                            .collect();
                        format!("{{{}}}", parts.join(","))
                    }
                ),
            ]
        });
        // At the root, mostly the members holding free-form objects.
        let root_name = prop_oneof![
            2 => prop::sample::select(vec!["args", "context"]),
            1 => prop::sample::select(NAMES),
        ];
        prop::collection::vec((root_name, value), 0..6).prop_map(|members| {
            let parts: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!(",\"{k}\":{v}"))
                .collect();
            format!(
                r#"{{"tool_name":"t","context":{{"identity":"i","workspace":"/w","risk_class":"high"}}{}}}"#,
                parts.concat()
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// The screened single pass refuses exactly what the former
        /// separate walk refused, with the same error, and otherwise
        /// gives the same intent: from text and from a value.
        #[test]
        fn screened_pass_equals_separate_walk(text in intent_like()) {
            let bytes = text.as_bytes();
            let decoded = Intent::from_json_slice(bytes);
            prop_assert_eq!(&decoded, &two_walks_slice(bytes), "{}", text);
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
                prop_assert_eq!(Intent::from_value(&value), two_walks_value(&value), "{}", text);
            }
        }

        /// The fast test for case variants answers as the exact search.
        #[test]
        fn fast_case_variant_test_equals_search(
            names in prop::collection::vec(
                prop::sample::select(vec![
                    "a", "A", "ab", "aB", "ba", "s", "\u{17f}", "k", "K", "\u{212a}",
                    "kind", "\u{212a}ind", "risk", "ri\u{17f}k", "\u{e9}", "\u{c9}", "",
                    "tool_name", "TOOL_NAME", "tool_nam", "xtool_name",
                ]),
                0..20,
            ),
        ) {
            let mut members: Vec<(Cow<'_, str>, Json<'_>)> = Vec::new();
            for name in names {
                if !members.iter().any(|(k, _)| k == name) {
                    members.push((Cow::Borrowed(name), Json::Null));
                }
            }
            prop_assert_eq!(
                has_case_variant(&members),
                first_case_variant(&members).is_some(),
                "{:?}", members
            );
        }
    }

    #[test]
    fn screen_is_raised_only_when_needed() {
        let raised = |text: &str| {
            let screen = Screen::default();
            let json = decode::parse_screened(text.as_bytes(), &screen).unwrap();
            let _ = decode::decode_intent(json, &screen);
            screen.raised.get()
        };
        // Exact field names and free-form names without variants: walked
        // once.
        assert!(!raised(
            r#"{"tool_name":"t","args":{"a":{"b":[1,{"c":2}]},"B":1},
                "targets":[{"kind":"path","value":"/a"}],"context":{"identity":"i"}}"#
        ));
        for text in [
            r#"{"TOOL_NAME":"t"}"#,
            r#"{"tool_name":"t","unknown":1}"#,
            r#"{"args":{"a":1,"A":2}}"#,
            r#"{"args":{"x":[{"a":1,"A":2}]}}"#,
            r#"{"args":{"n":9007199254740992}}"#,
            r#"{"args":{"n":1e19}}"#,
        ] {
            assert!(raised(text), "{text}");
        }
    }

    #[test]
    fn deep_values_are_refused_without_deep_recursion() {
        let mut value = serde_json::json!({"a": 1});
        for _ in 0..(MAX_DEPTH + 5) {
            value = serde_json::json!({ "args": value });
        }
        let err = Intent::from_value(&value).unwrap_err();
        assert!(err.to_string().contains("nested deeper than"), "{err}");
        assert_eq!(err, two_walks_value(&value).unwrap_err());
    }
}
