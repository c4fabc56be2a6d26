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

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;
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

/// Canonicalizes a JSON object's members, appending to `out` (the same
/// bytes as [`write_value`] of `Value::Object`, without building one).
pub fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    // serde_json's map iterates in UTF-8 byte order, which is UTF-16 order
    // unless two names first differ at a U+E000..=U+FFFF character versus a
    // supplementary one. A sequence is sorted when each adjacent pair is,
    // so check that (no allocation) and sort only when it is not.
    let keys = map.keys();
    let in_order = keys
        .clone()
        .zip(keys.skip(1))
        .all(|(a, b)| utf16_cmp(a, b) == Ordering::Less);
    if in_order {
        write_members(out, map.iter());
    } else {
        let mut members: Vec<(&String, &Value)> = map.iter().collect();
        members.sort_by(|a, b| utf16_cmp(a.0, b.0));
        write_members(out, members.into_iter());
    }
}

fn write_members<'v>(out: &mut Vec<u8>, members: impl Iterator<Item = (&'v String, &'v Value)>) {
    out.push(b'{');
    for (i, (key, value)) in members.enumerate() {
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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes packed in `w` must be escaped in a JSON
/// string: below 0x20, `"` or `\`. (The classic "has zero byte" and "has
/// byte less than n" word tricks: exact as a yes/no answer.)
fn word_needs_escape(w: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    let quote = has_zero(w ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(w ^ (ONES * u64::from(b'\\')));
    (below_space | quote | backslash) != 0
}

/// Writes `s` as a canonical JSON string literal.
pub fn write_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (c, chunk) in bytes.chunks(8).enumerate() {
        // Most strings (ids, digests, names) need no escaping at all: skip
        // them eight bytes at a time.
        let needs_escape = match <[u8; 8]>::try_from(chunk) {
            Ok(word) => word_needs_escape(u64::from_le_bytes(word)),
            Err(_) => chunk.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\'),
        };
        if !needs_escape {
            continue;
        }
        for (j, &b) in chunk.iter().enumerate() {
            let i = c * 8 + j;
            write_escaped_byte(out, bytes, &mut start, i, b);
        }
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// If byte `b` at index `i` of `bytes` needs escaping, flushes the pending
/// unescaped run `bytes[*start..i]`, writes the escape and moves `*start`
/// past `b`.
#[inline(always)]
fn write_escaped_byte(out: &mut Vec<u8>, bytes: &[u8], start: &mut usize, i: usize, b: u8) {
    let escape: &[u8] = match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        0x08 => b"\\b",
        0x0c => b"\\f",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x00..=0x1f => &[b'\\', b'u', b'0', b'0', hex_digit(b >> 4), hex_digit(b)],
        _ => return,
    };
    out.extend_from_slice(bytes.get(*start..i).unwrap_or_default());
    out.extend_from_slice(escape);
    *start = i + 1;
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
    let (la, lb) = (
        ab.get(s).copied().unwrap_or(0),
        bb.get(s).copied().unwrap_or(0),
    );
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
///
/// The result equals `to_vec(&parse_strict(bytes)?)`, and the errors are
/// the same, but no `serde_json::Value` is built: strings borrow from the
/// input where they hold no escapes, and members are kept in a vector
/// sorted once.
pub fn from_slice(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let node = TreeSeed(NodeBuilder)
        .deserialize(&mut de)
        .map_err(json_error)?;
    de.end().map_err(json_error)?;
    let mut out = Vec::with_capacity(bytes.len());
    node.write(&mut out);
    Ok(out)
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

/// A parsed JSON value for [`from_slice`]: numbers already doubles, strings
/// borrowed from the input where possible, object members sorted in UTF-16
/// order.
enum Node<'a> {
    Null,
    Bool(bool),
    Number(f64),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl Node<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(f) => write_es_number(out, *f),
            Node::String(s) => write_string(out, s),
            Node::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Node::Object(members) => {
                out.push(b'{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, key);
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}

/// Objects up to this many members look for duplicate names by a linear
/// scan; larger ones switch to a hash set.
const LINEAR_SCAN_MEMBERS: usize = 32;

/// The members of one JSON object in document order.
pub type Members<'de, N> = Vec<(Cow<'de, str>, N)>;

/// How one kind of JSON tree is built from what the parser reads, for
/// [`TreeSeed`]. Methods take the builder by value (it is `Copy`: a unit
/// struct or a few references).
pub trait TreeBuilder<'de>: Copy {
    /// A node of the tree.
    type Node;
    /// `null`.
    fn null(self) -> Self::Node;
    /// `true` or `false`.
    fn bool(self, v: bool) -> Self::Node;
    /// A negative integer within the `i64` range.
    fn i64(self, v: i64) -> Self::Node;
    /// A non-negative integer within the `u64` range.
    fn u64(self, v: u64) -> Self::Node;
    /// Any other number; `None` refuses it as out of range.
    fn f64(self, v: f64) -> Option<Self::Node>;
    /// A string, borrowed from the input where it holds no escapes.
    fn string(self, v: Cow<'de, str>) -> Self::Node;
    /// An array.
    fn array(self, items: Vec<Self::Node>) -> Self::Node;
    /// An object: its members in document order, names distinct.
    fn object(self, members: Members<'de, Self::Node>) -> Self::Node;
}

/// Parses one JSON value into the tree `B` builds, strictly: a member name
/// that repeats an earlier one of its object is refused as soon as it is
/// read (so the parser's error position is the repeated name's; the error
/// reads as [`Error::DuplicateKey`] through [`parse_strict`]'s error
/// mapping), and a number `B` refuses is "number out of range".
///
/// The one strict, order-keeping parser: this module's canonicalization
/// from raw bytes and gait-policy's intent decoder both build on it.
#[derive(Debug, Clone, Copy)]
pub struct TreeSeed<B>(pub B);

impl<'de, B: TreeBuilder<'de>> DeserializeSeed<'de> for TreeSeed<B> {
    type Value = B::Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<B::Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, B: TreeBuilder<'de>> Visitor<'de> for TreeSeed<B> {
    type Value = B::Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<B::Node, E> {
        Ok(self.0.bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<B::Node, E> {
        Ok(self.0.i64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<B::Node, E> {
        Ok(self.0.u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<B::Node, E> {
        self.0
            .f64(v)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<B::Node, E> {
        Ok(self.0.string(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<B::Node, E> {
        Ok(self.0.string(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<B::Node, E> {
        Ok(self.0.string(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<B::Node, E> {
        Ok(self.0.null())
    }
    fn visit_none<E>(self) -> Result<B::Node, E> {
        Ok(self.0.null())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<B::Node, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<B::Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(self.0.array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<B::Node, A::Error> {
        let mut members: Members<'de, B::Node> =
            Vec::with_capacity(access.size_hint().unwrap_or(0).min(1024));
        let mut seen: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = access.next_key_seed(KeySeed)? {
            // Checked as soon as the name is read, so the error position is
            // the one `parse_strict` reports.
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let duplicate = members.iter().any(|(k, _)| *k == key);
                    if !duplicate && members.len() >= LINEAR_SCAN_MEMBERS {
                        let mut set: HashSet<Cow<'de, str>> =
                            members.iter().map(|(k, _)| k.clone()).collect();
                        set.insert(key.clone());
                        seen = Some(set);
                    }
                    duplicate
                }
            };
            if duplicate {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_MARKER}{key}{DUPLICATE_MARKER}"
                )));
            }
            let value = access.next_value_seed(self)?;
            members.push((key, value));
        }
        Ok(self.0.object(members))
    }
}

/// Builds [`Node`]s for [`from_slice`].
#[derive(Clone, Copy)]
struct NodeBuilder;

impl<'de> TreeBuilder<'de> for NodeBuilder {
    type Node = Node<'de>;

    fn null(self) -> Node<'de> {
        Node::Null
    }
    fn bool(self, v: bool) -> Node<'de> {
        Node::Bool(v)
    }
    // Integers become doubles exactly as `Number::as_f64` converts them
    // (round to nearest, ties to even), so both paths print the same.
    #[expect(
        clippy::cast_precision_loss,
        reason = "RFC 8785: every number is a double"
    )]
    fn i64(self, v: i64) -> Node<'de> {
        Node::Number(v as f64)
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "RFC 8785: every number is a double"
    )]
    fn u64(self, v: u64) -> Node<'de> {
        Node::Number(v as f64)
    }
    fn f64(self, v: f64) -> Option<Node<'de>> {
        v.is_finite().then_some(Node::Number(v))
    }
    fn string(self, v: Cow<'de, str>) -> Node<'de> {
        Node::String(v)
    }
    fn array(self, items: Vec<Node<'de>>) -> Node<'de> {
        Node::Array(items)
    }
    fn object(self, mut members: Members<'de, Node<'de>>) -> Node<'de> {
        // Names are distinct, so an unstable sort is deterministic.
        members.sort_unstable_by(|a, b| utf16_cmp(&a.0, &b.0));
        Node::Object(members)
    }
}

/// A member name, borrowed from the input when it holds no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
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
    fn duplicates_in_large_objects() {
        // Past the linear-scan limit, duplicates are found through a set;
        // errors match the `parse_strict` path, position included.
        for n in [
            LINEAR_SCAN_MEMBERS - 1,
            LINEAR_SCAN_MEMBERS,
            LINEAR_SCAN_MEMBERS + 1,
            100,
        ] {
            let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
            let ok = format!("{{{}}}", members.join(","));
            assert_eq!(
                from_slice(ok.as_bytes()).unwrap(),
                to_vec(&parse_strict(ok.as_bytes()).unwrap())
            );
            for dup in [0, n / 2, n - 1] {
                let bad = format!("{{{},\n\"k{dup}\":true}}", members.join(","));
                let err = from_slice(bad.as_bytes()).unwrap_err();
                assert_eq!(err, parse_strict(bad.as_bytes()).unwrap_err());
                assert!(
                    matches!(&err, Error::DuplicateKey { key, line: 2, .. } if *key == format!("k{dup}")),
                    "{err:?}"
                );
            }
        }
        // Escaped and unescaped spellings of one name are duplicates.
        assert!(matches!(
            from_slice(br#"{"a\u00e9":1,"a\u00E9":2}"#),
            Err(Error::DuplicateKey { .. })
        ));
        assert!(matches!(
            from_slice("{\"\u{e9}\":1,\"\\u00e9\":2}".as_bytes()),
            Err(Error::DuplicateKey { .. })
        ));
    }

    #[test]
    fn word_test_is_exact() {
        let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        let fillers = [
            b'x', 0x00, 0x1f, 0x20, 0x21, 0x22, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        for filler in fillers {
            for b in 0..=255u8 {
                for pos in 0..8 {
                    let mut word = [filler; 8];
                    word[pos] = b;
                    let expected = word.iter().any(|&c| needs(c));
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(word)),
                        expected,
                        "{word:02x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn long_strings_escape_in_every_word_position() {
        for len in 0..40 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', ' ', '\u{e9}'] {
                    let s: String = (0..len)
                        .map(|i| if i == at { special } else { 'x' })
                        .collect();
                    let value = Value::String(s.clone());
                    let expected = serde_json_canonicalizer::to_vec(&value).unwrap();
                    assert_eq!(to_vec(&value), expected, "{s:?}");
                }
            }
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
        assert_eq!(
            canon("[-0, 1.0, 1e2, 9007199254740993, 1e21, 0.0000015]"),
            "[0,1,100,9007199254740992,1e+21,0.0000015]"
        );
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
            assert!(
                from_slice(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
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
