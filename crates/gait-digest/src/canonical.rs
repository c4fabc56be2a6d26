//! RFC 8785 JSON Canonicalization Scheme (JCS).
//!
//! The output is byte-identical with the reference implementation's
//! canonicalizer (gowebpki/jcs):
//!
//! * no insignificant whitespace;
//! * object members sorted by their names compared as UTF-16 code-unit
//!   sequences (a shorter prefix sorts first);
//! * strings re-escaped: `"` and `\` with a backslash, BS, FF, LF, CR and TAB
//!   as `\b \f \n \r \t`, every other control character below U+0020 as
//!   `\u00xx` (lowercase hex), and everything else (DEL and all non-ASCII)
//!   emitted as raw UTF-8;
//! * every number goes through an IEEE-754 double and is printed the way
//!   ECMAScript's `Number.prototype.toString` prints it (`-0` becomes `0`,
//!   integers beyond 2^53 are rounded, `1e+21`, `1.5e-7`).
//!
//! Parsing raw bytes ([`from_slice`], [`parse_strict`]) additionally rejects
//! what RFC 8785 assumes away: duplicate member names, lone surrogates,
//! numbers outside the f64 range, trailing data and nesting deeper than
//! [`MAX_DEPTH`].

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::digest::hex_digit;
use crate::error::{Error, excerpt};
use crate::number::write_es_number;

/// The deepest nesting of arrays and objects the strict parser accepts.
///
/// This is serde_json's own recursion limit; it keeps parsing in bounded
/// stack on hostile input.
pub const MAX_DEPTH: usize = 128;

/// Canonicalizes a JSON value into a fresh buffer.
///
/// Cannot fail for a `serde_json::Value`: it holds no duplicate keys and no
/// non-finite numbers.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Canonicalizes a JSON value, appending to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_by(|a, b| utf16_cmp(a.0, b.0));
    out.push(b'{');
    for (i, (key, value)) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key);
        out.push(b':');
        write_value(out, value);
    }
    out.push(b'}');
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    // `as_f64` is total without `arbitrary_precision`: integers are converted
    // with round-to-nearest-even, exactly as parsing their text as a double.
    let f = n.as_f64().unwrap_or(0.0);
    write_es_number(out, f);
}

/// Writes `s` as a canonical JSON string literal.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                hex_digit(b >> 4),
                hex_digit(b),
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Compares two strings as sequences of UTF-16 code units, the member order
/// RFC 8785 prescribes.
///
/// UTF-8 byte order equals code-point order, which differs from UTF-16 order
/// only where one string has a character in U+E000..=U+FFFF (UTF-8 lead byte
/// 0xEE or 0xEF) and the other a supplementary character (lead byte 0xF0 and
/// above, a surrogate pair in UTF-16) at the first point of difference.
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let Some(i) = ab.iter().zip(bb).position(|(x, y)| x != y) else {
        return ab.len().cmp(&bb.len());
    };
    // Both strings agree before `i`, so they share character boundaries up
    // to the character holding `i`. Find its first byte.
    let mut s = i;
    while s > 0 && ab.get(s).is_some_and(|&c| c & 0xC0 == 0x80) {
        s -= 1;
    }
    let (la, lb) = (ab.get(s).copied().unwrap_or(0), bb.get(s).copied().unwrap_or(0));
    let upper_bmp = |c: u8| c == 0xEE || c == 0xEF;
    let astral = |c: u8| c >= 0xF0;
    if upper_bmp(la) && astral(lb) {
        Ordering::Greater
    } else if astral(la) && upper_bmp(lb) {
        Ordering::Less
    } else {
        ab.get(i).cmp(&bb.get(i))
    }
}

/// Parses JSON text strictly: duplicate member names, lone surrogates,
/// numbers outside the f64 range, trailing data and nesting deeper than
/// [`MAX_DEPTH`] are errors.
///
/// Numbers keep serde_json's representation (`i64`, `u64` or `f64`);
/// canonicalization routes each of them through f64.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)?;
    Ok(value)
}

/// Parses JSON text strictly (see [`parse_strict`]) and returns its
/// canonical form.
pub fn from_slice(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(to_vec(&parse_strict(bytes)?))
}

/// Serializes `value` with serde, then canonicalizes it.
pub fn to_vec_from<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let v = serde_json::to_value(value).map_err(|e| Error::Unrepresentable(e.to_string()))?;
    Ok(to_vec(&v))
}

const DUPLICATE_MARKER: &str = "\u{0}gait-duplicate-key\u{0}";

fn json_error(e: serde_json::Error) -> Error {
    let message = e.to_string();
    if let Some(rest) = message.strip_prefix(DUPLICATE_MARKER) {
        let key = rest.split(DUPLICATE_MARKER).next().unwrap_or_default();
        return Error::DuplicateKey {
            key: excerpt(key),
            line: e.line(),
            column: e.column(),
        };
    }
    // serde_json appends " at line L column C"; keep only the description.
    let text = match message.rfind(" at line ") {
        Some(pos) if e.line() > 0 => message.get(..pos).unwrap_or(&message).to_owned(),
        _ => message,
    };
    Error::Json {
        line: e.line(),
        column: e.column(),
        message: text,
    }
}

/// A seed that builds a `serde_json::Value` but rejects duplicate keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_MARKER}{key}{DUPLICATE_MARKER}"
                )));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(from_slice(s.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn sorts_by_utf16_code_units() {
        // U+FB33 (BMP, above the surrogates) sorts after U+1F600 in UTF-16.
        let out = canon(r#"{"\ufb33":1,"\ud83d\ude00":2,"a":3}"#);
        assert_eq!(out, "{\"a\":3,\"\u{1F600}\":2,\"\u{FB33}\":1}");
    }

    #[test]
    fn prefix_sorts_first() {
        assert_eq!(canon(r#"{"ab":1,"a":2,"":3}"#), r#"{"":3,"a":2,"ab":1}"#);
    }

    #[test]
    fn rejects_duplicates_and_reports_key() {
        let err = from_slice(br#"{"a":1,"b":{"x":1,"x":2}}"#).unwrap_err();
        match err {
            Error::DuplicateKey { key, line, .. } => {
                assert_eq!(key, "x");
                assert_eq!(line, 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn escapes_like_jcs() {
        assert_eq!(
            canon(r#""\u0000\u001f\b\f\n\r\t\"\\\/\u007f\u00e9""#),
            "\"\\u0000\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\u{7f}\u{e9}\""
        );
    }

    #[test]
    fn numbers_go_through_f64() {
        assert_eq!(canon("[-0, 1.0, 1e2, 9007199254740993, 1e21, 0.0000015]"), "[0,1,100,9007199254740992,1e+21,0.0000015]");
        assert_eq!(canon("18446744073709551615"), "18446744073709552000");
        assert_eq!(canon("-9223372036854775808"), "-9223372036854776000");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            &b"{"[..],
            b"[1,]",
            b"1 2",
            b"\"\\ud800\"",
            b"1e400",
            b"NaN",
            b"\"\xff\"",
            b"{\"a\" 1}",
        ] {
            assert!(from_slice(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(from_slice(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(from_slice(ok.as_bytes()).is_ok());
    }
}
