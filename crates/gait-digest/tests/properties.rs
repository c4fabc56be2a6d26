//! Property tests for canonical JSON, UTF-16 ordering, timestamps and
//! digest hex.
//!
//! `serde_json_canonicalizer` serves as an independent RFC 8785 oracle.

// clippy.toml's `allow-*-in-tests` covers `#[test]` bodies only; the helper
// functions of this test file may panic on malformed test data too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Ordering;
use std::fmt::Write as _;

use gait_digest::{GoTime, Sha256Digest, canonical};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Characters biased towards what JCS treats specially: controls, the
/// escaped ASCII characters, and both sides of the UTF-16/UTF-8 ordering
/// difference (U+E000..=U+FFFF versus supplementary characters).
fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::char::range('a', 'e'),
        2 => prop::char::range(' ', '~'),
        1 => prop::char::range('\0', '\u{1f}'),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{7f}', '\u{80}', '\u{2028}', '\u{d7ff}']),
        3 => prop::char::range('\u{e000}', '\u{ffff}'),
        3 => prop::char::range('\u{10000}', '\u{10ffff}'),
        1 => any::<char>(),
    ]
}

fn json_string() -> impl Strategy<Value = String> {
    prop::collection::vec(json_char(), 0..8).prop_map(|chars| chars.into_iter().collect())
}

/// Finite doubles of every class: zeros, subnormals, normals of any
/// magnitude, and "nice" decimals.
/// Member names from a small alphabet, so that names in one object often
/// share a prefix and then differ across the UTF-16/UTF-8 ordering boundary.
fn json_key() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        'a',
        'b',
        '\u{7f}',
        '\u{e9}',
        '\u{d7ff}',
        '\u{e000}',
        '\u{fb33}',
        '\u{ffff}',
        '\u{10000}',
        '\u{1f600}',
        '\u{10ffff}',
    ]);
    prop_oneof![
        3 => prop::collection::vec(tricky, 0..4).prop_map(|chars| chars.into_iter().collect()),
        1 => json_string(),
    ]
}

fn finite_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        (-1_000_000i64..1_000_000, 0u32..8).prop_map(|(m, e)| m as f64 / 10f64.powi(e as i32)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        any::<u64>().prop_map(|u| Value::Number(u.into())),
        finite_f64().prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        json_string().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

// ---------------------------------------------------------------------------
// A JSON text writer with controllable member order and escaping
// ---------------------------------------------------------------------------

/// How [`write_text`] lays out JSON text that must canonicalize identically
/// to the value it came from.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Member order of every object is rotated by this much (mod len).
    rotate: usize,
    /// Reverse member order (after rotating).
    reverse: bool,
    /// Write every non-ASCII and every special character as `\uXXXX`
    /// (surrogate pairs for supplementary characters).
    escape_all: bool,
    /// Put insignificant whitespace around every token.
    spaced: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (0usize..8, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(rotate, reverse, escape_all, spaced)| Layout {
            rotate,
            reverse,
            escape_all,
            spaced,
        },
    )
}

fn write_json_string(out: &mut String, s: &str, layout: Layout) {
    if !layout.escape_all {
        out.push_str(&serde_json::to_string(s).unwrap());
        return;
    }
    out.push('"');
    for (i, unit) in s.encode_utf16().enumerate() {
        // Alternate the hex case: both are valid JSON.
        if i % 2 == 0 {
            write!(out, "\\u{unit:04x}").unwrap();
        } else {
            write!(out, "\\u{unit:04X}").unwrap();
        }
    }
    out.push('"');
}

fn write_text(out: &mut String, value: &Value, layout: Layout) {
    let ws = if layout.spaced { " \n\t" } else { "" };
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws);
                write_text(out, item, layout);
                out.push_str(ws);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            if !members.is_empty() {
                let len = members.len();
                members.rotate_left(layout.rotate % len);
            }
            if layout.reverse {
                members.reverse();
            }
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(ws);
                write_json_string(out, key, layout);
                out.push_str(ws);
                out.push(':');
                out.push_str(ws);
                write_text(out, item, layout);
                out.push_str(ws);
            }
            out.push('}');
        }
        Value::String(s) => write_json_string(out, s, layout),
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

fn text_of(value: &Value, layout: Layout) -> String {
    let mut out = String::new();
    write_text(&mut out, value, layout);
    out
}

fn utf16_reference(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z as Unix seconds.
const MIN_SECS: i64 = -62_135_596_800;
const MAX_SECS: i64 = 253_402_300_799;

proptest! {
    /// (a) Canonical output is a fixed point of the strict parser.
    #[test]
    fn canonical_is_idempotent(value in json_value()) {
        let canon = canonical::to_vec(&value);
        let again = canonical::from_slice(&canon).unwrap();
        prop_assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(canon).unwrap()
        );
    }

    /// (b) Member order, escaping and whitespace of the input text do not
    /// matter: every layout canonicalizes to the same bytes as the value.
    #[test]
    fn member_order_and_layout_do_not_matter(
        value in json_value(),
        first in layout(),
        second in layout(),
    ) {
        let expected = String::from_utf8(canonical::to_vec(&value)).unwrap();
        let a = text_of(&value, first);
        let b = text_of(&value, second);
        let ca = String::from_utf8(canonical::from_slice(a.as_bytes()).unwrap()).unwrap();
        let cb = String::from_utf8(canonical::from_slice(b.as_bytes()).unwrap()).unwrap();
        prop_assert_eq!(&ca, &expected, "layout {:?}: {}", first, a);
        prop_assert_eq!(&cb, &expected, "layout {:?}: {}", second, b);
    }

    /// (b) An object's members written as text in two arbitrary
    /// permutations canonicalize identically.
    #[test]
    fn shuffled_members_canonicalize_identically(
        (members, shuffled) in prop::collection::btree_map(json_key(), json_value(), 0..12)
            .prop_flat_map(|map| {
                let members: Vec<(String, Value)> = map.into_iter().collect();
                (Just(members.clone()), Just(members).prop_shuffle())
            }),
    ) {
        let text = |members: &[(String, Value)]| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| {
                    format!("{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap())
                })
                .collect();
            format!("{{{}}}", body.join(","))
        };
        let a = canonical::from_slice(text(&members).as_bytes()).unwrap();
        let b = canonical::from_slice(text(&shuffled).as_bytes()).unwrap();
        prop_assert_eq!(String::from_utf8(a).unwrap(), String::from_utf8(b).unwrap());
    }

    /// `from_slice` (which builds no `serde_json::Value`) agrees with
    /// `to_vec(parse_strict(..))` on every text, errors included: valid
    /// layouts of arbitrary values, and the same texts with one byte
    /// replaced or a member duplicated.
    #[test]
    fn raw_path_matches_value_path(
        value in json_value(),
        layout in layout(),
        edit in (any::<prop::sample::Index>(), any::<u8>()),
        duplicate in any::<bool>(),
    ) {
        let mut text = text_of(&value, layout).into_bytes();
        let check = |text: &[u8]| -> Result<(), TestCaseError> {
            let raw = canonical::from_slice(text);
            let via_value = canonical::parse_strict(text).map(|v| canonical::to_vec(&v));
            prop_assert_eq!(raw, via_value, "{}", String::from_utf8_lossy(text));
            Ok(())
        };
        check(&text)?;
        if duplicate && let Value::Object(map) = &value && let Some((k, v)) = map.iter().next() {
            let member = format!(",{}:{}", serde_json::to_string(k).unwrap(), serde_json::to_string(v).unwrap());
            let mut dup = text.clone();
            let close = dup.iter().rposition(|&b| b == b'}').unwrap();
            dup.splice(close..close, member.into_bytes());
            check(&dup)?;
        }
        if !text.is_empty() {
            let at = edit.0.index(text.len());
            text[at] = edit.1;
            check(&text)?;
        }
    }

    /// (c) Agreement with an independent RFC 8785 implementation.
    #[test]
    fn agrees_with_serde_json_canonicalizer(value in json_value()) {
        let ours = String::from_utf8(canonical::to_vec(&value)).unwrap();
        let oracle = String::from_utf8(serde_json_canonicalizer::to_vec(&value).unwrap()).unwrap();
        prop_assert_eq!(ours, oracle);
    }

    /// (d) `utf16_cmp` is the order of UTF-16 code-unit sequences.
    #[test]
    fn utf16_cmp_matches_encode_utf16(
        prefix in json_string(),
        a in json_string(),
        b in json_string(),
    ) {
        let (pa, pb) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
        for (x, y) in [(&a, &b), (&pa, &pb), (&pa, &prefix), (&prefix, &pb), (&a, &a)] {
            prop_assert_eq!(canonical::utf16_cmp(x, y), utf16_reference(x, y), "{:?} vs {:?}", x, y);
            prop_assert_eq!(canonical::utf16_cmp(y, x), utf16_reference(y, x), "{:?} vs {:?}", y, x);
        }
    }

    /// (d) Single characters across the U+E000..=U+FFFF / supplementary
    /// boundary, after a shared prefix.
    #[test]
    fn utf16_cmp_single_characters(prefix in json_string(), x in json_char(), y in json_char()) {
        let (a, b) = (format!("{prefix}{x}"), format!("{prefix}{y}"));
        prop_assert_eq!(canonical::utf16_cmp(&a, &b), utf16_reference(&a, &b));
    }

    /// (e) RFC3339Nano formatting round-trips through parsing, at any UTC
    /// offset in whole minutes.
    #[test]
    fn gotime_round_trips(
        local_secs in MIN_SECS..=MAX_SECS,
        nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000, (0u32..1000).prop_map(|n| n * 1_000_000)],
        offset_minutes in -1439i32..=1439,
        zero_form in prop::sample::select(vec!["Z", "+00:00", "-00:00"]),
    ) {
        // Build the text from the local wall-clock time: format it as UTC,
        // then swap the `Z` for the offset.
        let wall = GoTime::from_unix(local_secs, nanos).format();
        let stem = wall.strip_suffix('Z').unwrap();
        let offset_text = if offset_minutes == 0 {
            zero_form.to_owned()
        } else {
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let abs = offset_minutes.unsigned_abs();
            format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
        };
        let text = format!("{stem}{offset_text}");

        let parsed = GoTime::parse(&text).unwrap();
        prop_assert_eq!(parsed.unix_seconds(), local_secs - i64::from(offset_minutes) * 60);
        prop_assert_eq!(parsed.subsec_nanos(), nanos);
        prop_assert_eq!(parsed.offset_seconds(), offset_minutes * 60);

        let formatted = parsed.format();
        let expected = if offset_minutes == 0 { format!("{stem}Z") } else { text.clone() };
        prop_assert_eq!(&formatted, &expected);
        prop_assert_eq!(GoTime::parse(&formatted).unwrap(), parsed);

        // The serde form is the same text.
        let json = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_str::<GoTime>(&json).unwrap(), parsed);
    }

    /// (e) UTC times anywhere in years 0001..=9999.
    #[test]
    fn gotime_utc_round_trips(secs in MIN_SECS..=MAX_SECS, nanos in 0u32..1_000_000_000) {
        let t = GoTime::from_unix(secs, nanos);
        let text = t.format();
        prop_assert_eq!(text.len(), if nanos == 0 { 20 } else { 21 + format!("{nanos:09}").trim_end_matches('0').len() });
        let back = GoTime::parse(&text).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back.unix_nanos(), i128::from(secs) * 1_000_000_000 + i128::from(nanos));
    }

    /// (f) Digest hex round-trips, and parsing accepts any mix of cases.
    #[test]
    fn sha256_hex_round_trips(bytes in any::<[u8; 32]>(), upper in any::<[bool; 64]>()) {
        let digest = Sha256Digest::from_bytes(bytes);
        let hex = digest.to_hex();
        prop_assert_eq!(hex.len(), 64);
        prop_assert!(hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        prop_assert_eq!(digest.to_string(), hex.clone());

        let mixed: String = hex
            .chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(Sha256Digest::parse_hex(&mixed).unwrap(), digest);
        prop_assert_eq!(mixed.parse::<Sha256Digest>().unwrap(), digest);
        prop_assert_eq!(Sha256Digest::parse_hex(&hex.to_uppercase()).unwrap(), digest);

        let json = serde_json::to_string(&digest).unwrap();
        prop_assert_eq!(serde_json::from_str::<Sha256Digest>(&json).unwrap(), digest);
    }
}
