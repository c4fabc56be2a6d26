//! Request-size limits checked before a body is parsed.
//!
//! A request body is parsed into a `serde_json::Value` tree, and the
//! decision pipeline holds several copies of the call's arguments while
//! it decides (the request, the decoded call, the intent, its prepared
//! form, the canonical bytes of its digests). Each JSON value costs 32
//! bytes or more per copy however short its text is: one MiB of
//! `[0,0,0,…]` (half a million values) took about 96 MiB to decide. The
//! body cap alone therefore does not bound memory; the number of values
//! does. [`check_json_values`] counts them on the raw bytes, without
//! allocating, before anything is parsed.

use crate::error::ServeError;

/// The default most JSON values (scalars, arrays, objects and member
/// names each count one) in one request.
pub const DEFAULT_MAX_REQUEST_VALUES: usize = 16_384;

/// Counts the JSON values of `body` (every scalar, array, object and
/// member name counts one; invalid JSON is counted the same way, token by
/// token) and refuses a body with more than `max_values`. Stops counting
/// at the first value over the limit; never allocates.
///
/// # Errors
///
/// [`ServeError::InvalidInput`] naming the limit.
pub fn check_json_values(body: &[u8], max_values: usize) -> Result<(), ServeError> {
    let mut count = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut in_scalar = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        let starts = match b {
            b'"' => {
                in_string = true;
                in_scalar = false;
                true
            }
            b'[' | b'{' => {
                in_scalar = false;
                true
            }
            b']' | b'}' | b',' | b':' | b' ' | b'\t' | b'\n' | b'\r' => {
                in_scalar = false;
                false
            }
            _ => !std::mem::replace(&mut in_scalar, true),
        };
        if starts {
            count += 1;
            if count > max_values {
                return Err(ServeError::InvalidInput(format!(
                    "decode request: more than {max_values} JSON values in one request (max-request-values)"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn count(s: &str) -> usize {
        (0..64)
            .find(|&n| check_json_values(s.as_bytes(), n).is_ok())
            .unwrap()
    }

    #[test]
    fn counts_values_and_member_names() {
        assert_eq!(count(""), 0);
        assert_eq!(count("0"), 1);
        assert_eq!(count("[0,1,22,-3.5e7]"), 5);
        assert_eq!(count(r#"{"a":1,"b":[true,null]}"#), 7);
        assert_eq!(count(r#"["a,b:c[{", "\"", "\\"]"#), 4);
        assert_eq!(count("[[],{},[{}]]"), 5);
        // Invalid JSON is counted token by token.
        assert_eq!(count("[tru e,,,]"), 3);
        assert_eq!(count(r#""unterminated [ { 1 2"#), 1);
    }

    #[test]
    fn refuses_more_than_the_limit() {
        let dense = format!("[{}0]", "0,".repeat(100));
        assert!(check_json_values(dense.as_bytes(), 102).is_ok());
        let e = check_json_values(dense.as_bytes(), 101).unwrap_err();
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("more than 101 JSON values"), "{e}");
    }
}
