//! JSON text as the reference's CLI prints it.
//!
//! The reference marshals each output struct, decodes it into a generic map
//! and marshals that again, so its `--json` output has object keys in
//! byte-wise sorted order, numbers printed from doubles, and Go's
//! `encoding/json` string escaping: `<`, `>` and `&` as `\u003c`, `\u003e`
//! and `\u0026`, U+2028 and U+2029 escaped, and control characters as `\b`,
//! `\f`, `\n`, `\r`, `\t` or `\u00xx`.

use serde_json::Value;

use crate::digest::hex_digit;
use crate::number::write_es_number;

/// Compact JSON with sorted keys and Go's escaping (no trailing newline).
pub fn to_sorted_string(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write(&mut out, value, false);
    // Only valid UTF-8 is ever written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `value` as [`to_sorted_string`] writes it, except that integers
/// are printed exactly (as Go prints `int64` fields) instead of through a
/// double.
pub fn write_sorted_exact_integers(out: &mut Vec<u8>, value: &Value) {
    write(out, value, true);
}

fn write(out: &mut Vec<u8>, value: &Value, exact_integers: bool) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) if exact_integers && (n.is_i64() || n.is_u64()) => {
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::Number(n) => write_es_number(out, n.as_f64().unwrap_or(0.0)),
        Value::String(s) => write_go_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(out, item, exact_integers);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_go_string(out, k);
                out.push(b':');
                write(out, v, exact_integers);
            }
            out.push(b'}');
        }
    }
}

/// Writes `s` as a JSON string literal escaped as Go's `encoding/json` does
/// with HTML escaping on.
pub fn write_go_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' | '\u{2028}' | '\u{2029}' => {
                let v = u32::from(c);
                out.extend_from_slice(b"\\u");
                for shift in [12u32, 8, 4, 0] {
                    out.push(hex_digit(((v >> shift) & 0xf) as u8));
                }
            }
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Go's name folding, as `encoding/json` matches a member name to a field:
/// ASCII letters upper-cased, any other character mapped through lower
/// then upper case (so U+212A KELVIN SIGN folds to `K` and U+017F LATIN
/// SMALL LETTER LONG S to `S`).
pub fn fold_member_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            for l in c.to_lowercase() {
                out.extend(l.to_uppercase());
            }
        }
    }
    out
}

/// The first two member names of one object, anywhere in `value`, that
/// are different but equal once folded ([`fold_member_name`]): the first
/// such object found depth first, its names in the map's member order.
///
/// Go's `encoding/json` decodes such members into the same field and lets
/// the later one win, so `{"verdict":"block","Verdict":"allow"}` reads as
/// `allow` there and as `block` for an exact-key reader. A strict reader
/// refuses the document instead. The walk is iterative (no recursion), so
/// a hand-built value of any depth is safe.
pub fn find_case_variant_members(value: &Value) -> Option<(String, String)> {
    let mut stack: Vec<&Value> = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if map.len() > 1 {
                    let mut seen: std::collections::HashMap<String, &str> =
                        std::collections::HashMap::with_capacity(map.len());
                    for name in map.keys() {
                        if let Some(first) = seen.insert(fold_member_name(name), name) {
                            return Some((first.to_owned(), name.clone()));
                        }
                    }
                }
                // Reversed so that earlier members are visited first.
                stack.extend(map.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_variant_members_are_found_at_any_depth() {
        assert_eq!(fold_member_name("Verdict"), "VERDICT");
        assert_eq!(fold_member_name("\u{212A}ey"), fold_member_name("key"));
        assert_eq!(fold_member_name("\u{17F}ig"), fold_member_name("sig"));
        assert_eq!(
            find_case_variant_members(&json!({"a": 1, "b": [1, {"c": 2}]})),
            None
        );
        let top = find_case_variant_members(&json!({"verdict": "block", "Verdict": "allow"}));
        let (a, b) = top.unwrap_or_default();
        assert_eq!(fold_member_name(&a), fold_member_name(&b));
        assert_ne!(a, b);
        let nested = json!({"x": [{"y": {"tool_name": 1, "TOOL_NAME": 2}}]});
        assert!(find_case_variant_members(&nested).is_some());
        let kelvin = json!({"key": 1, "\u{212A}ey": 2});
        assert!(find_case_variant_members(&kelvin).is_some());
        // Exact duplicates never reach a Value (the strict parser refuses them).
        assert!(crate::canonical::parse_strict(br#"{"a":1,"a":2}"#).is_err());
    }

    #[test]
    fn golden_error_envelope() {
        let v = json!({"ok": false, "error": "missing required --policy", "error_code": "invalid_input",
            "error_category": "invalid_input", "retryable": false, "hint": "check command usage and input schema",
            "correlation_id": "cid-golden-invalid"});
        assert_eq!(
            to_sorted_string(&v),
            r#"{"correlation_id":"cid-golden-invalid","error":"missing required --policy","error_category":"invalid_input","error_code":"invalid_input","hint":"check command usage and input schema","ok":false,"retryable":false}"#
        );
    }

    #[test]
    fn html_and_separators_escaped() {
        let v = json!({"b": "<a&b>\u{2028}\u{1}\u{7f}é", "a": 1.5, "c": 3});
        assert_eq!(
            to_sorted_string(&v),
            "{\"a\":1.5,\"b\":\"\\u003ca\\u0026b\\u003e\\u2028\\u0001\u{7f}é\",\"c\":3}"
        );
    }
}
