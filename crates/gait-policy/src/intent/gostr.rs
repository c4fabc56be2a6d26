//! String, path and heuristic helpers whose results must equal the
//! reference's (Go's `strings`, `path`, `path/filepath` and its own
//! credential heuristics).
//!
//! * Trimming: Go's `strings.TrimSpace` strips Unicode `White_Space`, the
//!   same set as [`str::trim`], so plain `trim()` is used throughout.
//! * Lowercasing: Go maps each rune through `unicode.ToLower` (simple case
//!   mapping, no context); see [`lower`].

use std::borrow::Cow;

/// Go's `strings.ToLower`: every character is mapped on its own with the
/// simple lowercase mapping.
///
/// Rust's [`str::to_lowercase`] differs in two places: it lowercases a final
/// capital sigma to `ς` by context, and it maps `İ` (U+0130) to two
/// characters. Per-character mapping keeping the first character of the
/// full mapping gives Go's result for both.
pub(crate) fn lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// [`str::trim`] (Go's `strings.TrimSpace`), answering without a scan when
/// both ends are ASCII characters that are not white space (the common
/// case).
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    let plain = |b: &u8| b.is_ascii() && !matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) if plain(first) && plain(last) => s,
        (None, _) => s,
        _ => s.trim(),
    }
}

/// [`lower`] of a trimmed string, trimmed again (lowercasing never creates
/// white space at the ends, so this is `lower(trim(s))`).
pub(crate) fn lower_trim(s: &str) -> String {
    lower(trim(s))
}

/// [`lower_trim`] without allocating when `s` is already trimmed ASCII
/// without capitals (the common case for wire values like `path`).
pub(crate) fn lower_trim_cow(s: &str) -> Cow<'_, str> {
    let t = trim(s);
    if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(t)
    } else {
        Cow::Owned(lower(t))
    }
}

/// `s` trimmed, reusing its buffer when there is nothing to trim.
pub(crate) fn trim_owned(s: String) -> String {
    let t = trim(&s);
    if t.len() == s.len() { s } else { t.to_owned() }
}

/// [`lower_trim`] of an owned string, reusing its buffer when it is already
/// trimmed ASCII without capitals.
pub(crate) fn lower_trim_owned(s: String) -> String {
    let unchanged = matches!(lower_trim_cow(&s), Cow::Borrowed(b) if b.len() == s.len());
    if unchanged { s } else { lower_trim(&s) }
}

/// Go's `strings.ToLower` applied to bytes that may not be UTF-8 (a URL host
/// after percent-decoding): every byte that does not start a valid UTF-8
/// sequence becomes U+FFFD on its own, as Go's rune iteration does.
pub(crate) fn lower_bytes(bytes: &[u8]) -> String {
    if bytes.is_ascii() {
        return String::from_utf8_lossy(bytes).to_ascii_lowercase();
    }
    let mut text = String::with_capacity(bytes.len() + 3);
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                text.push_str(std::str::from_utf8(good).unwrap_or_default());
                text.push('\u{FFFD}');
                rest = bad.get(1..).unwrap_or_default();
            }
        }
    }
    lower(&text)
}

/// Whether `s` is exactly 64 lowercase hexadecimal characters
/// (`^[a-f0-9]{64}$`).
/// Go's `path.Clean` (and `filepath.Clean` on Unix), shared with the
/// rest of the workspace.
pub(crate) use gait_digest::clean_path;

pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Go's `path.Base`: the last element after trailing slashes are removed;
/// `.` for the empty string and `/` for a string of slashes.
pub(crate) fn base_name(path: &str) -> &str {
    if path.is_empty() {
        return ".";
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/";
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed.get(i + 1..).unwrap_or_default(),
        None => trimmed,
    }
}

/// Whether `value` starts with an environment assignment `NAME=`
/// (`^[A-Za-z_][A-Za-z0-9_]*=`).
pub(crate) fn is_env_assignment(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return false,
    }
    for &b in bytes.get(1..).unwrap_or_default() {
        if b == b'=' {
            return true;
        }
        if !(b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
    }
    false
}

/// Key suffixes that mark a reference to a credential rather than the
/// credential itself.
const CREDENTIAL_KEY_EXEMPT_SUFFIXES: [&str; 16] = [
    "_ref",
    "_refs",
    "_digest",
    "_digests",
    "_hash",
    "_issuer",
    "_source",
    "_type",
    "_ttl",
    "_ttl_seconds",
    "_id",
    "_ids",
    "_name",
    "_names",
    "_scope",
    "_scopes",
];

/// Whether an object key names credential material: it contains `token`,
/// `secret`, `api[_-]?key`, `access[_-]?key`, `password` or `credential`
/// (case-insensitively) and does not end in a reference-like suffix.
pub(crate) fn key_suggests_credential(key: &str) -> bool {
    let trimmed = trim(key);
    if trimmed.is_ascii() {
        return ascii_key_suggests_credential(trimmed.as_bytes());
    }
    let key = lower(trimmed);
    if key.is_empty() {
        return false;
    }
    if CREDENTIAL_KEY_EXEMPT_SUFFIXES
        .iter()
        .any(|suffix| key.ends_with(suffix))
    {
        return false;
    }
    // The reference matches a case-insensitive regular expression, whose
    // folding also equates `ſ` (U+017F) with `s` (the Kelvin sign is already
    // `k` after lowercasing). Fold it before the plain substring tests.
    let folded: String = key
        .chars()
        .map(|c| if c == '\u{17F}' { 's' } else { c })
        .collect();
    CREDENTIAL_KEY_WORDS.iter().any(|w| folded.contains(w))
}

const CREDENTIAL_KEY_WORDS: [&str; 10] = [
    "token",
    "secret",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "access-key",
    "password",
    "credential",
];

/// [`key_suggests_credential`] of an ASCII key (already trimmed), without
/// allocating: the same suffix and substring tests, ASCII case-insensitive.
fn ascii_key_suggests_credential(key: &[u8]) -> bool {
    if key.is_empty() {
        return false;
    }
    let ends_with = |suffix: &[u8]| {
        key.len() >= suffix.len()
            && key
                .get(key.len() - suffix.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
    };
    if CREDENTIAL_KEY_EXEMPT_SUFFIXES
        .iter()
        .any(|suffix| ends_with(suffix.as_bytes()))
    {
        return false;
    }
    CREDENTIAL_KEY_WORDS.iter().any(|w| {
        key.windows(w.len())
            .any(|window| window.eq_ignore_ascii_case(w.as_bytes()))
    })
}

/// Whether a string value looks like a raw secret rather than a reference.
///
/// Values with a reference prefix (`env:`, `stub:`, `cmd:`, `ref:`,
/// `sha256:`, any case) and bare 64-hex digests are fine; known token
/// prefixes are always secrets; otherwise a value of at least 16 bytes with
/// no space, tab, CR or LF and at least one ASCII letter and one ASCII digit
/// is treated as a secret.
pub(crate) fn looks_like_credential_value(value: &str) -> bool {
    let trimmed = trim(value);
    if trimmed.is_empty() {
        return false;
    }
    let lowered = lower(trimmed);
    if ["env:", "stub:", "cmd:", "ref:", "sha256:"]
        .iter()
        .any(|p| lowered.starts_with(p))
    {
        return false;
    }
    if is_hex64(&lowered) {
        return false;
    }
    if ["ghp_", "gho_", "github_pat_", "sk-", "AKIA", "ASIA"]
        .iter()
        .any(|p| trimmed.starts_with(p))
    {
        return true;
    }
    if trimmed.len() < 16 || trimmed.contains([' ', '\t', '\r', '\n']) {
        return false;
    }
    let has_alpha = trimmed.bytes().any(|b| b.is_ascii_alphabetic());
    let has_digit = trimmed.bytes().any(|b| b.is_ascii_digit());
    has_alpha && has_digit
}

/// Whether a JSON member name selects the struct field `field` under Go's
/// `encoding/json` rules: an exact match, or a match after Unicode case
/// folding.
///
/// Field names here are lowercase ASCII, so folding reduces to ASCII case
/// plus the two non-ASCII characters whose fold orbit reaches an ASCII
/// letter: `ſ` (U+017F, like `s`) and the Kelvin sign (U+212A, like `k`).
pub(crate) fn json_key_matches(key: &str, field: &str) -> bool {
    if key == field {
        return true;
    }
    let mut expected = field.bytes();
    for c in key.chars() {
        let folded = match c {
            '\u{17F}' => b's',
            '\u{212A}' => b'k',
            c if c.is_ascii() => (c as u8).to_ascii_lowercase(),
            _ => return false,
        };
        match expected.next() {
            Some(b) if b.to_ascii_lowercase() == folded => {}
            _ => return false,
        }
    }
    expected.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_is_per_character() {
        assert_eq!(lower("ABC"), "abc");
        assert_eq!(lower("ΟΔΟΣ"), "οδοσ"); // no final-sigma rule
        assert_eq!(lower("İX"), "ix"); // U+0130 maps to one character
        assert_eq!(lower("ẞ"), "ß");
        assert_eq!(lower_trim("  Tool.Write\u{3000}"), "tool.write");
    }

    #[test]
    fn lower_bytes_replaces_each_bad_byte() {
        assert_eq!(lower_bytes(b"ExAmple"), "example");
        assert_eq!(lower_bytes(&[0xE2, 0x82, b'A']), "\u{FFFD}\u{FFFD}a");
        assert_eq!(lower_bytes("ÉCOLE".as_bytes()), "école");
        assert_eq!(lower_bytes(&[0xFF]), "\u{FFFD}");
    }

    #[test]
    fn fast_trim_equals_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\tab\n",
            "\u{b}x\u{c}",
            "\u{1c}x\u{1f}",
            "\u{85}x",
            "x\u{a0}",
            "é",
            "\u{3000}",
            "a b",
            "\r",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
        for b in 0..=0x7fu8 {
            let c = char::from(b);
            for s in [format!("{c}x"), format!("x{c}"), c.to_string()] {
                assert_eq!(trim(&s), s.trim(), "{s:?}");
            }
        }
    }

    #[test]
    fn trim_matches_go_trimspace() {
        // U+0085, U+00A0, U+2028 and U+3000 are White_Space; U+200B is not.
        assert_eq!("\u{85}\u{A0}x\u{2028}\u{3000}".trim(), "x");
        assert_eq!("\u{200B}x".trim(), "\u{200B}x");
    }

    #[test]
    fn clean_path_like_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("//", "/"),
            ("a/b/../c", "a/c"),
            ("/../a", "/a"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("a/./b/", "a/b"),
            ("/tmp//work/./x/", "/tmp/work/x"),
            ("abc/def/../../..", ".."),
            ("./", "."),
            ("a/..", "."),
        ] {
            assert_eq!(clean_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn base_name_like_go() {
        for (input, want) in [
            ("", "."),
            ("/", "/"),
            ("///", "/"),
            ("tool.write", "tool.write"),
            ("mcp/fs/read_file", "read_file"),
            ("a/b/", "b"),
        ] {
            assert_eq!(base_name(input), want, "{input:?}");
        }
    }

    #[test]
    fn env_assignments() {
        assert!(is_env_assignment("AWS_SECRET=abc"));
        assert!(is_env_assignment("_X="));
        assert!(!is_env_assignment("1X=a"));
        assert!(!is_env_assignment("/tmp/a=b"));
        assert!(!is_env_assignment("NAME"));
    }

    #[test]
    fn credential_keys() {
        assert!(key_suggests_credential("access_token"));
        assert!(key_suggests_credential("API-Key"));
        assert!(key_suggests_credential("db_password"));
        assert!(key_suggests_credential("ſecret")); // folds like the regexp
        assert!(!key_suggests_credential("credential_ref"));
        assert!(!key_suggests_credential("token_ids"));
        assert!(!key_suggests_credential("path"));
        assert!(!key_suggests_credential(""));
    }

    #[test]
    fn credential_values() {
        assert!(looks_like_credential_value(
            "ghp_1234567890abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(looks_like_credential_value("sk-x"));
        assert!(looks_like_credential_value("AKIAxyz"));
        assert!(looks_like_credential_value(
            "A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6"
        ));
        assert!(!looks_like_credential_value("env:GAIT_EXPORT:deadbeef"));
        assert!(!looks_like_credential_value("REF:abcdef0123456789abcdef"));
        assert!(!looks_like_credential_value("short-token"));
        assert!(!looks_like_credential_value("abcdefghijklmnopqrstuvwxyz")); // no digit
        assert!(!looks_like_credential_value("abc def 1234567890 xyz"));
        assert!(!looks_like_credential_value(&"AB".repeat(32))); // 64 hex, any case
        assert!(!looks_like_credential_value("   "));
    }

    #[test]
    fn json_keys_fold_like_go() {
        assert!(json_key_matches("tool_name", "tool_name"));
        assert!(json_key_matches("TOOL_NAME", "tool_name"));
        assert!(json_key_matches("Tool_Name", "tool_name"));
        assert!(json_key_matches(
            "ri\u{17F}k_cla\u{17F}\u{17F}",
            "risk_class"
        ));
        assert!(json_key_matches("\u{212A}ind", "kind"));
        assert!(!json_key_matches("toolname", "tool_name"));
        assert!(!json_key_matches("tool_name ", "tool_name"));
        assert!(!json_key_matches("tool_nam", "tool_name"));
        assert!(!json_key_matches("tööl_name", "tool_name"));
    }
}
