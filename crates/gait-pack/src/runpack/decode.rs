//! Typed decoding of runpack JSON the way the reference's `encoding/json`
//! fills its Go structs, over a value already parsed strictly
//! ([`gait_digest::canonical::parse_strict`]: duplicate members, lone
//! surrogates and out-of-range numbers are errors).
//!
//! * Unknown members are ignored.
//! * [`Keys::Fold`] (record input, entry files): a member selects a field by
//!   its exact name or, failing that, case-insensitively as Go folds names.
//!   Two members selecting the same field are an error (Go lets the later
//!   one win). [`Keys::Exact`] (the manifest) matches names exactly.
//! * `null` leaves a field at its zero value.
//! * A value of the wrong JSON type is an error, as is an integer field
//!   holding a fraction, an exponent or a value beyond `i64`.

use gait_digest::GoTime;
// Go's name folding (one definition, shared with the trace validator's
// case-variant check).
use gait_digest::go_json::fold_member_name as fold;
use serde_json::{Map, Value};

/// How member names select struct fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    /// Exactly, or case-insensitively (Go's folding).
    Fold,
    /// Exactly only.
    Exact,
}

/// A JSON object being decoded into a struct.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
    keys: Keys,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(path: &str, field: &str, want: &str, got: &Value) -> String {
    format!(
        "cannot unmarshal {} into field {path}.{field} of type {want}",
        type_name(got)
    )
}

impl<'a> Obj<'a> {
    /// `value` as an object; `null` is `None`.
    pub(crate) fn of(value: &'a Value, path: &'a str, keys: Keys) -> Result<Option<Self>, String> {
        match value {
            Value::Null => Ok(None),
            Value::Object(map) => Ok(Some(Self { map, path, keys })),
            other => Err(format!(
                "cannot unmarshal {} into {path} of type object",
                type_name(other)
            )),
        }
    }

    /// The member selecting `field`, if any (`null` counts as absent).
    pub(crate) fn get(&self, field: &str) -> Result<Option<&'a Value>, String> {
        let mut found: Option<&'a Value> = None;
        match self.keys {
            Keys::Exact => found = self.map.get(field),
            Keys::Fold => {
                let want = fold(field);
                let mut count = 0usize;
                for (k, v) in self.map {
                    if k == field || fold(k) == want {
                        count += 1;
                        found = Some(v);
                    }
                }
                if count > 1 {
                    return Err(format!(
                        "{}: more than one member selects field {field:?}",
                        self.path
                    ));
                }
            }
        }
        Ok(found.filter(|v| !v.is_null()))
    }

    /// A string field (`""` when absent).
    pub(crate) fn string(&self, field: &str) -> Result<String, String> {
        match self.get(field)? {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(type_error(self.path, field, "string", other)),
        }
    }

    /// An integer field (0 when absent).
    pub(crate) fn int(&self, field: &str) -> Result<i64, String> {
        match self.get(field)? {
            None => Ok(0),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
                format!(
                    "cannot unmarshal number {n} into field {}.{field} of type int",
                    self.path
                )
            }),
            Some(other) => Err(type_error(self.path, field, "int", other)),
        }
    }

    /// A time field (Go's zero time when absent).
    pub(crate) fn time(&self, field: &str) -> Result<GoTime, String> {
        match self.get(field)? {
            None => Ok(GoTime::ZERO),
            Some(Value::String(s)) => {
                GoTime::parse(s).map_err(|e| format!("{}.{field}: {e}", self.path))
            }
            Some(other) => Err(type_error(self.path, field, "time", other)),
        }
    }

    /// A free-form object field (`map[string]any`): `None` when absent or
    /// `null`.
    pub(crate) fn map(&self, field: &str) -> Result<Option<Map<String, Value>>, String> {
        match self.get(field)? {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(other) => Err(type_error(self.path, field, "object", other)),
        }
    }

    /// A nested struct field (`None` when absent or `null`).
    pub(crate) fn object(&self, field: &str) -> Result<Option<Obj<'a>>, String> {
        match self.get(field)? {
            None => Ok(None),
            Some(v) => Obj::of(v, self.path, self.keys),
        }
    }

    /// A list field decoded element by element (`None` when absent or
    /// `null`, as Go leaves a nil slice).
    pub(crate) fn list<T>(
        &self,
        field: &str,
        mut each: impl FnMut(&'a Value) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, String> {
        match self.get(field)? {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(&mut each)
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(type_error(self.path, field, "array", other)),
        }
    }

    /// A list of strings.
    pub(crate) fn strings(&self, field: &str) -> Result<Vec<String>, String> {
        let path = self.path;
        Ok(self
            .list(field, |v| match v {
                Value::Null => Ok(String::new()),
                Value::String(s) => Ok(s.clone()),
                other => Err(type_error(path, field, "string", other)),
            })?
            .unwrap_or_default())
    }

    /// Fails on the first member (in name order) that selects none of
    /// `fields`, as Go's `DisallowUnknownFields`: `json: unknown field "x"`.
    pub(crate) fn reject_unknown(&self, fields: &[&str]) -> Result<(), String> {
        for k in self.map.keys() {
            let known = fields.iter().any(|f| match self.keys {
                Keys::Exact => k == f,
                Keys::Fold => k == f || fold(k) == fold(f),
            });
            if !known {
                return Err(format!("json: unknown field {k:?}"));
            }
        }
        Ok(())
    }

    /// How names are matched.
    pub(crate) fn keys(&self) -> Keys {
        self.keys
    }

    /// The path used in error messages.
    pub(crate) fn path(&self) -> &'a str {
        self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folding_and_exact() {
        let v = json!({"RUN_ID": "a", "\u{17F}chema_id": "s", "other": 1});
        let o = Obj::of(&v, "x", Keys::Fold).unwrap().unwrap();
        assert_eq!(o.string("run_id").unwrap(), "a");
        assert_eq!(o.string("schema_id").unwrap(), "s");
        let e = Obj::of(&v, "x", Keys::Exact).unwrap().unwrap();
        assert_eq!(e.string("run_id").unwrap(), "");
        let dup = json!({"run_id": "a", "Run_Id": "b"});
        let o = Obj::of(&dup, "x", Keys::Fold).unwrap().unwrap();
        assert!(o.string("run_id").is_err());
    }

    #[test]
    fn types() {
        let v = json!({"n": 1.5, "s": 3, "t": "nope", "m": [1], "i": 7, "z": null});
        let o = Obj::of(&v, "x", Keys::Fold).unwrap().unwrap();
        assert!(o.int("n").is_err());
        assert!(o.string("s").is_err());
        assert!(o.time("t").is_err());
        assert!(o.map("m").is_err());
        assert_eq!(o.int("i").unwrap(), 7);
        assert_eq!(o.string("z").unwrap(), "");
        assert!(o.time("z").unwrap().is_zero());
        assert!(Obj::of(&json!([1]), "x", Keys::Fold).is_err());
    }
}
