//! Identifiers (run, session and job ids, identities) must be one line of
//! visible text.

use crate::Error;

/// The first character of `value` that has no place in an identifier: a C0
/// control (U+0000–U+001F, including newline and tab), DEL (U+007F), a C1
/// control (U+0080–U+009F), or the Unicode line and paragraph separators
/// (U+2028, U+2029). Such characters in an id can forge lines in logs,
/// journals and ticket footers, or hide part of a file name.
pub fn identifier_control_char(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))
}

/// `Err` with a message naming `field` and the character (as `U+XXXX`)
/// when `value` holds a character [`identifier_control_char`] refuses.
///
/// # Errors
///
/// [`Error::ControlCharacter`] naming `field` and the first refused
/// character.
pub fn check_identifier(field: &str, value: &str) -> Result<(), Error> {
    match identifier_control_char(value) {
        None => Ok(()),
        Some(found) => Err(Error::ControlCharacter {
            field: field.to_owned(),
            found,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_separator_characters_are_found() {
        for bad in [
            "a\nb",
            "a\rb",
            "\t",
            "a\u{0}",
            "a\u{1b}[31m",
            "\u{7f}",
            "\u{85}",
            "\u{9f}",
            "\u{2028}",
            "\u{2029}",
        ] {
            assert!(identifier_control_char(bad).is_some(), "{bad:?}");
            let msg = check_identifier("context.run_id", bad)
                .unwrap_err()
                .to_string();
            assert!(
                msg.starts_with("context.run_id contains a control character (U+"),
                "{msg}"
            );
        }
        for good in ["run_1", "sess-ü-東京", "a b", "job:alpha:7", ""] {
            assert_eq!(identifier_control_char(good), None, "{good:?}");
            assert!(check_identifier("x", good).is_ok());
        }
        assert_eq!(
            check_identifier("run_id", "a\nb").unwrap_err().to_string(),
            "run_id contains a control character (U+000A); identifiers must be one line of visible text"
        );
    }
}
