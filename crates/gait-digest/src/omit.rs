//! Go `omitempty` semantics for `#[serde(skip_serializing_if = …)]`.
//!
//! Go's `encoding/json` omits a field tagged `omitempty` when it holds the
//! empty value of its type: `false`, `0`, `""`, a nil pointer, or an empty
//! slice or map. It never omits a struct, and so never a `time.Time`: a zero
//! time is written as `0001-01-01T00:00:00Z` (see [`crate::GoTime`]).
//!
//! ```
//! use serde::Serialize;
//! #[derive(Serialize)]
//! struct Out {
//!     ok: bool,
//!     #[serde(skip_serializing_if = "gait_digest::is_go_empty")]
//!     error: String,
//! }
//! let json = serde_json::to_string(&Out { ok: true, error: String::new() }).unwrap();
//! assert_eq!(json, r#"{"ok":true}"#);
//! ```

use std::collections::{BTreeMap, HashMap};

/// A type with a Go "empty value" for `omitempty`.
pub trait GoEmpty {
    /// Whether Go would omit this value from a field tagged `omitempty`.
    fn is_go_empty(&self) -> bool;
}

/// Whether Go would omit `value` from a field tagged `omitempty`.
///
/// Use as `#[serde(skip_serializing_if = "gait_digest::is_go_empty")]`.
pub fn is_go_empty<T: GoEmpty + ?Sized>(value: &T) -> bool {
    value.is_go_empty()
}

impl GoEmpty for str {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl GoEmpty for String {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl GoEmpty for bool {
    fn is_go_empty(&self) -> bool {
        !*self
    }
}
macro_rules! int_empty {
    ($($t:ty),*) => {$(
        impl GoEmpty for $t {
            fn is_go_empty(&self) -> bool { *self == 0 }
        }
    )*};
}
int_empty!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);
impl GoEmpty for f64 {
    fn is_go_empty(&self) -> bool {
        *self == 0.0
    }
}
impl GoEmpty for f32 {
    fn is_go_empty(&self) -> bool {
        *self == 0.0
    }
}
impl<T> GoEmpty for Option<T> {
    fn is_go_empty(&self) -> bool {
        self.is_none()
    }
}
impl<T> GoEmpty for Vec<T> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl<T> GoEmpty for [T] {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl<K, V> GoEmpty for BTreeMap<K, V> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl<K, V, S> GoEmpty for HashMap<K, V, S> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
impl GoEmpty for serde_json::Map<String, serde_json::Value> {
    fn is_go_empty(&self) -> bool {
        self.is_empty()
    }
}
/// A generic JSON value is "empty" as Go's `any` field would be: only when
/// it is `null` (a nil interface).
impl GoEmpty for serde_json::Value {
    fn is_go_empty(&self) -> bool {
        self.is_null()
    }
}

/// Deserializes a value, treating JSON `null` as the type's default, as
/// Go's `encoding/json` leaves a field at its zero value on `null`.
///
/// Use as `#[serde(default, deserialize_with = "gait_digest::null_as_default")]`.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    let value: Option<T> = serde::Deserialize::deserialize(deserializer)?;
    Ok(value.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties() {
        assert!(is_go_empty(""));
        assert!(is_go_empty(&0u64));
        assert!(is_go_empty(&0.0f64));
        assert!(is_go_empty(&false));
        assert!(is_go_empty(&None::<u8>));
        assert!(is_go_empty(&Vec::<u8>::new()));
        assert!(is_go_empty(&serde_json::Value::Null));
        assert!(!is_go_empty("x"));
        assert!(!is_go_empty(&Some(0u8)));
        assert!(!is_go_empty(&serde_json::json!({})));
    }
}
