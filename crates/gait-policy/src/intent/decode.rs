//! Typed decoding of an intent request the way the reference's
//! `encoding/json` decodes it into its Go structs.
//!
//! * Unknown members are ignored; member names select fields exactly or,
//!   failing that, case-insensitively ([`json_key_matches`]).
//! * Members are applied in document order. When two members select the
//!   same field (`"context"` and `"Context"`), the later one is decoded *into*
//!   the earlier result, as Go does: scalars are overwritten, objects and
//!   maps are merged, arrays are decoded element-wise into the existing
//!   elements and then truncated.
//! * `null` leaves strings, numbers, booleans, times and plain structs
//!   untouched and resets pointers, maps and slices.
//! * A value of the wrong JSON type is an error, as is an integer field
//!   holding a fraction, an exponent or a value beyond `i64`.
//! * Free-form objects (`args`, `auth_context`, the `args` of script steps)
//!   keep their member names as written.
//!
//! Document order is not kept by `serde_json::Value` (its maps are sorted),
//! so the text is parsed once into [`Json`], which keeps member order and
//! borrows strings from the input where they hold no escapes. The parse is
//! as strict as [`gait_digest::canonical::parse_strict`] (duplicate
//! members, lone surrogates, out-of-range numbers, trailing data and deep
//! nesting are errors); when it fails, `parse_strict` is run to report the
//! error exactly as it words and places it.

use std::borrow::Cow;

use gait_digest::GoTime;
use gait_digest::canonical::{Members, TreeBuilder, TreeSeed};
use serde::de::DeserializeSeed;
use serde_json::{Map, Number, Value};

use super::ambiguity::{MAX_DEPTH, Screen};
use super::error::{FieldPath, IntentError, excerpt};
use super::gostr::json_key_matches;

/// A JSON value that keeps object members in document order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// The JSON type name used in error messages.
    fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    /// Converts into a `serde_json::Value` (member names are unique: the
    /// strict parse has rejected duplicates), noting on `screen` the
    /// objects with case-variant member names.
    pub(crate) fn into_value_screened(self, screen: &Screen) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => Value::Number(n),
            Json::String(s) => Value::String(s.into_owned()),
            Json::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| item.into_value_screened(screen))
                    .collect(),
            ),
            Json::Object(members) => {
                screen.members(&members);
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v.into_value_screened(screen)))
                        .collect(),
                )
            }
        }
    }

    /// Converts from a `serde_json::Value` (members in its map order),
    /// borrowing its strings.
    pub(crate) fn from_value(value: &'a Value) -> Json<'a> {
        Json::from_value_screened(value, &Screen::default())
    }

    /// [`Json::from_value`], noting on `screen` the numbers that may be
    /// ambiguous. A container nested [`MAX_DEPTH`] deep is converted empty
    /// (the screen notes it), so a hand-built value cannot exhaust the
    /// stack.
    pub(crate) fn from_value_screened(value: &'a Value, screen: &Screen) -> Json<'a> {
        Json::convert(value, 0, screen)
    }

    fn convert(value: &'a Value, depth: usize, screen: &Screen) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => {
                screen.number(n);
                Json::Number(n.clone())
            }
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => {
                screen.truncate();
                match value {
                    Value::Array(_) => Json::Array(Vec::new()),
                    _ => Json::Object(Vec::new()),
                }
            }
            Value::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|item| Json::convert_item(item, depth + 1, screen))
                    .collect(),
            ),
            Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| {
                        (
                            Cow::Borrowed(k.as_str()),
                            Json::convert_item(v, depth + 1, screen),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// [`Json::convert`] with strings, the usual member value, converted
    /// in place.
    #[inline]
    fn convert_item(value: &'a Value, depth: usize, screen: &Screen) -> Json<'a> {
        match value {
            Value::String(s) => Json::String(Cow::Borrowed(s)),
            other => Json::convert(other, depth, screen),
        }
    }
}

/// Builds a [`Json`] for the strict parser of gait-digest
/// ([`TreeSeed`]), noting on its screen the numbers that may be ambiguous.
#[derive(Clone, Copy)]
struct JsonBuilder<'s> {
    screen: &'s Screen,
}

impl<'de> TreeBuilder<'de> for JsonBuilder<'_> {
    type Node = Json<'de>;

    fn null(self) -> Json<'de> {
        Json::Null
    }
    fn bool(self, v: bool) -> Json<'de> {
        Json::Bool(v)
    }
    fn i64(self, v: i64) -> Json<'de> {
        self.number(v.into())
    }
    fn u64(self, v: u64) -> Json<'de> {
        self.number(v.into())
    }
    fn f64(self, v: f64) -> Option<Json<'de>> {
        Number::from_f64(v).map(|n| self.number(n))
    }
    fn string(self, v: Cow<'de, str>) -> Json<'de> {
        Json::String(v)
    }
    fn array(self, items: Vec<Json<'de>>) -> Json<'de> {
        Json::Array(items)
    }
    fn object(self, members: Members<'de, Json<'de>>) -> Json<'de> {
        Json::Object(members)
    }
}

impl JsonBuilder<'_> {
    fn number<'de>(self, n: Number) -> Json<'de> {
        self.screen.number(&n);
        Json::Number(n)
    }
}

/// Parses `bytes` with `seed`'s tree, requiring the whole input to be one value.
fn parse_with<'b>(bytes: &'b [u8], seed: JsonBuilder<'_>) -> Result<Json<'b>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // A duplicate's error message is never shown: `parse` reports
    // `parse_strict`'s error instead.
    let json = TreeSeed(seed).deserialize(&mut de)?;
    de.end()?;
    Ok(json)
}

/// Parses intent bytes strictly, keeping member order, in one pass.
///
/// Accepts exactly what [`gait_digest::canonical::parse_strict`] accepts;
/// on failure the error is `parse_strict`'s (same kind, message and
/// position).
pub(crate) fn parse(bytes: &[u8]) -> Result<Json<'_>, IntentError> {
    parse_screened(bytes, &Screen::default())
}

/// [`parse`], noting on `screen` the numbers that may be ambiguous.
pub(crate) fn parse_screened<'b>(
    bytes: &'b [u8],
    screen: &Screen,
) -> Result<Json<'b>, IntentError> {
    parse_with(bytes, JsonBuilder { screen }).map_err(|e| {
        let message = match gait_digest::canonical::parse_strict(bytes) {
            Err(strict) => strict.to_string(),
            Ok(_) => e.to_string(),
        };
        IntentError::Json { message }
    })
}

/// The former two-pass parse (strictly, then keeping member order), kept as
/// the reference the single pass is tested against.
#[cfg(test)]
pub(crate) fn parse_two_pass(bytes: &[u8]) -> Result<Json<'_>, IntentError> {
    gait_digest::canonical::parse_strict(bytes).map_err(|e| IntentError::Json {
        message: e.to_string(),
    })?;
    let screen = Screen::default();
    parse_with(bytes, JsonBuilder { screen: &screen }).map_err(|e| IntentError::Json {
        message: e.to_string(),
    })
}

fn type_error(path: &FieldPath<'_>, expected: &'static str, found: &Json<'_>) -> IntentError {
    IntentError::Type {
        path: path.render(),
        expected,
        found: found.type_name(),
    }
}

/// Decoding into an existing value, the way Go's `encoding/json` decodes
/// into a struct field that may already hold data. The JSON is consumed, so
/// strings and free-form objects move out of it.
pub(crate) trait Decode: Default {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        screen: &Screen,
    ) -> Result<(), IntentError>;
}

impl Decode for String {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        _: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => Ok(()),
            Json::String(s) => {
                match s {
                    Cow::Borrowed(b) => b.clone_into(self),
                    Cow::Owned(o) => *self = o,
                }
                Ok(())
            }
            other => Err(type_error(path, "string", &other)),
        }
    }
}

impl Decode for bool {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        _: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => Ok(()),
            Json::Bool(b) => {
                *self = b;
                Ok(())
            }
            other => Err(type_error(path, "boolean", &other)),
        }
    }
}

impl Decode for i64 {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        _: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => Ok(()),
            Json::Number(n) => {
                if let Some(v) = n.as_i64() {
                    *self = v;
                    return Ok(());
                }
                // Go parses the literal with `strconv.ParseInt`: fractions,
                // exponents and values beyond i64 fail. The parser reports
                // the literal `-0` (which Go accepts) as the double -0.0;
                // `-0.0` and `-0e0` look the same and are accepted too.
                match n.as_f64() {
                    Some(f) if f == 0.0 && f.is_sign_negative() => {
                        *self = 0;
                        Ok(())
                    }
                    _ => Err(IntentError::Type {
                        path: path.render(),
                        expected: "integer",
                        found: "non-integer number",
                    }),
                }
            }
            other => Err(type_error(path, "integer", &other)),
        }
    }
}

/// A Go `time.Time` field: `None` until a time is decoded.
pub(crate) type RawTime = Option<GoTime>;

impl Decode for Option<GoTime> {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        _: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => Ok(()),
            Json::String(s) => match GoTime::parse(&s) {
                Ok(t) => {
                    *self = Some(t);
                    Ok(())
                }
                Err(_) => Err(IntentError::Time {
                    path: path.render(),
                    value: excerpt(&s),
                }),
            },
            other => Err(type_error(path, "RFC 3339 string", &other)),
        }
    }
}

/// A Go `map[string]any` field: `None` is a nil map.
pub(crate) type RawMap = Option<Map<String, Value>>;

impl Decode for Option<Map<String, Value>> {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        screen: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => {
                *self = None;
                Ok(())
            }
            Json::Object(members) => {
                screen.members(&members);
                let map = self.get_or_insert_with(Map::new);
                for (key, value) in members {
                    map.insert(key.into_owned(), value.into_value_screened(screen));
                }
                Ok(())
            }
            other => Err(type_error(path, "object", &other)),
        }
    }
}

/// A Go slice field.
impl<T: Decode> Decode for Vec<T> {
    fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        screen: &Screen,
    ) -> Result<(), IntentError> {
        match json {
            Json::Null => {
                self.clear();
                Ok(())
            }
            Json::Array(items) => {
                let len = items.len();
                for (i, item) in items.into_iter().enumerate() {
                    if i >= self.len() {
                        self.push(T::default());
                    }
                    if let Some(slot) = self.get_mut(i) {
                        slot.decode_into(item, &path.index(i), screen)?;
                    }
                }
                self.truncate(len);
                Ok(())
            }
            other => Err(type_error(path, "array", &other)),
        }
    }
}

/// Declares a Go struct: its fields, their JSON names, and how to decode
/// into it. `Option<Struct>` fields are Go pointers.
macro_rules! go_struct {
    ($(#[$meta:meta])* $name:ident { $($field:ident : $ty:ty = $json:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, PartialEq)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty,)+
        }

        impl $name {
            const FIELDS: &'static [&'static str] = &[$($json),+];
        }

        impl Decode for $name {
            fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        screen: &Screen,
    ) -> Result<(), IntentError> {
                match json {
                    Json::Null => Ok(()),
                    Json::Object(members) => {
                        for (key, value) in members {
                            // An exact name first (one string match), then
                            // a case-folded one.
                            let field = match &*key {
                                $($json => $json,)+
                                other => {
                                    // Only a name that is no exact field
                                    // name can be a case variant of
                                    // another (field names are distinct
                                    // and lower case).
                                    screen.raise();
                                    match folded_field(Self::FIELDS, other) {
                                        Some(field) => field,
                                        None => continue,
                                    }
                                }
                            };
                            match field {
                                $($json => self.$field.decode_into(value, &path.key($json), screen)?,)+
                                _ => {}
                            }
                        }
                        Ok(())
                    }
                    other => Err(type_error(path, "object", &other)),
                }
            }
        }

        impl Decode for Option<$name> {
            fn decode_into(
        &mut self,
        json: Json<'_>,
        path: &FieldPath<'_>,
        screen: &Screen,
    ) -> Result<(), IntentError> {
                match json {
                    Json::Null => {
                        *self = None;
                        Ok(())
                    }
                    other => self.get_or_insert_with(Default::default).decode_into(other, path, screen),
                }
            }
        }
    };
}

/// The field a member name that is no exact field name selects, by
/// case-folded comparison.
fn folded_field(fields: &[&'static str], key: &str) -> Option<&'static str> {
    fields.iter().find(|f| json_key_matches(key, f)).copied()
}

go_struct!(
    /// `gait.gate.intent_request` as the reference's struct holds it.
    RawIntent {
        schema_id: String = "schema_id",
        schema_version: String = "schema_version",
        created_at: RawTime = "created_at",
        producer_version: String = "producer_version",
        tool_name: String = "tool_name",
        args: RawMap = "args",
        args_digest: String = "args_digest",
        intent_digest: String = "intent_digest",
        script_hash: String = "script_hash",
        script: Option<RawScript> = "script",
        targets: Vec<RawTarget> = "targets",
        arg_provenance: Vec<RawArgProvenance> = "arg_provenance",
        skill_provenance: Option<RawSkillProvenance> = "skill_provenance",
        delegation: Option<RawDelegation> = "delegation",
        relationship: Option<RawRelationship> = "relationship",
        context: RawContext = "context",
    }
);

go_struct!(RawScript {
    steps: Vec<RawScriptStep> = "steps",
});

go_struct!(RawScriptStep {
    tool_name: String = "tool_name",
    args: RawMap = "args",
    targets: Vec<RawTarget> = "targets",
    arg_provenance: Vec<RawArgProvenance> = "arg_provenance",
});

go_struct!(RawTarget {
    kind: String = "kind",
    value: String = "value",
    operation: String = "operation",
    sensitivity: String = "sensitivity",
    endpoint_class: String = "endpoint_class",
    endpoint_domain: String = "endpoint_domain",
    destructive: bool = "destructive",
    discovery_method: String = "discovery_method",
    read_only_hint: bool = "read_only_hint",
    destructive_hint: bool = "destructive_hint",
    idempotent_hint: bool = "idempotent_hint",
    open_world_hint: bool = "open_world_hint",
});

go_struct!(RawArgProvenance {
    arg_path: String = "arg_path",
    source: String = "source",
    source_ref: String = "source_ref",
    integrity_digest: String = "integrity_digest",
});

go_struct!(RawSkillProvenance {
    skill_name: String = "skill_name",
    skill_version: String = "skill_version",
    source: String = "source",
    publisher: String = "publisher",
    digest: String = "digest",
    signature_key_id: String = "signature_key_id",
});

go_struct!(RawDelegation {
    requester_identity: String = "requester_identity",
    scope_class: String = "scope_class",
    token_refs: Vec<String> = "token_refs",
    chain: Vec<RawDelegationLink> = "chain",
    issued_at: RawTime = "issued_at",
    expires_at: RawTime = "expires_at",
});

go_struct!(RawDelegationLink {
    delegator_identity: String = "delegator_identity",
    delegate_identity: String = "delegate_identity",
    scope_class: String = "scope_class",
    token_ref: String = "token_ref",
    issued_at: RawTime = "issued_at",
    expires_at: RawTime = "expires_at",
});

go_struct!(RawAgentIdentity {
    lifecycle_states: Vec<String> = "lifecycle_states",
    owner: String = "owner",
    manifest_digest: String = "manifest_digest",
    publisher: String = "publisher",
    source: String = "source",
    issued_at: RawTime = "issued_at",
    approved_at: RawTime = "approved_at",
    expires_at: RawTime = "expires_at",
    revoked: bool = "revoked",
});

go_struct!(RawSandbox {
    network_mode: String = "network_mode",
    writable_paths: Vec<String> = "writable_paths",
    read_only_roots: Vec<String> = "read_only_roots",
    env_exposure_mode: String = "env_exposure_mode",
    timeout_seconds: i64 = "timeout_seconds",
    filesystem_isolation: String = "filesystem_isolation",
    user_mode: String = "user_mode",
    evidence_ref: String = "evidence_ref",
    evidence_digest: String = "evidence_digest",
});

go_struct!(RawContext {
    identity: String = "identity",
    workspace: String = "workspace",
    risk_class: String = "risk_class",
    phase: String = "phase",
    agent_id: String = "agent_id",
    agent_identity: Option<RawAgentIdentity> = "agent_identity",
    run_id: String = "run_id",
    workflow_id: String = "workflow_id",
    repo: String = "repo",
    environment: String = "environment",
    job_id: String = "job_id",
    session_id: String = "session_id",
    request_id: String = "request_id",
    credential_ref: String = "credential_ref",
    credential_source: String = "credential_source",
    credential_access_type: String = "credential_access_type",
    credential_issuer: String = "credential_issuer",
    credential_subject: String = "credential_subject",
    credential_owner: String = "credential_owner",
    credential_target_binding: String = "credential_target_binding",
    credential_run_binding: String = "credential_run_binding",
    credential_job_binding: String = "credential_job_binding",
    credential_ttl_seconds: i64 = "credential_ttl_seconds",
    approval_ref: String = "approval_ref",
    wrkr_inventory_ref: String = "wrkr_inventory_ref",
    agent_action_bom_ref: String = "agent_action_bom_ref",
    auth_context: RawMap = "auth_context",
    sandbox: Option<RawSandbox> = "sandbox",
    credential_scopes: Vec<String> = "credential_scopes",
    environment_fingerprint: String = "environment_fingerprint",
    context_set_digest: String = "context_set_digest",
    context_evidence_mode: String = "context_evidence_mode",
    context_refs: Vec<String> = "context_refs",
});

go_struct!(RawRelationship {
    parent_ref: Option<RawNodeRef> = "parent_ref",
    entity_refs: Vec<RawNodeRef> = "entity_refs",
    policy_ref: Option<RawPolicyRef> = "policy_ref",
    agent_chain: Vec<RawAgentLink> = "agent_chain",
    edges: Vec<RawEdge> = "edges",
    parent_record_id: String = "parent_record_id",
    related_record_ids: Vec<String> = "related_record_ids",
    related_entity_ids: Vec<String> = "related_entity_ids",
    agent_lineage: Vec<RawAgentLineage> = "agent_lineage",
});

go_struct!(RawNodeRef {
    kind: String = "kind",
    id: String = "id",
});

go_struct!(RawPolicyRef {
    policy_id: String = "policy_id",
    policy_version: String = "policy_version",
    policy_digest: String = "policy_digest",
    matched_rule_ids: Vec<String> = "matched_rule_ids",
});

go_struct!(RawAgentLink {
    identity: String = "identity",
    role: String = "role",
});

go_struct!(RawEdge {
    kind: String = "kind",
    from: RawNodeRef = "from",
    to: RawNodeRef = "to",
});

go_struct!(RawAgentLineage {
    agent_id: String = "agent_id",
    delegated_by: String = "delegated_by",
    delegation_record_id: String = "delegation_record_id",
});

/// Decodes the top-level document, noting on `screen` the member names
/// that may be case variants (see [`Screen`]).
pub(crate) fn decode_intent(json: Json<'_>, screen: &Screen) -> Result<RawIntent, IntentError> {
    let mut raw = RawIntent::default();
    raw.decode_into(json, &FieldPath::ROOT, screen)?;
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// JSON-like text: valid documents with possible duplicate members
    /// (also spelled with escapes), lone surrogates, out-of-range numbers,
    /// then sometimes cut short or followed by garbage.
    fn json_text() -> impl Strategy<Value = String> {
        let scalar = prop::sample::select(vec![
            "null",
            "true",
            "false",
            "0",
            "-0",
            "1.5",
            "-12",
            "1e400",
            "-1e400",
            "1e21",
            "18446744073709551616",
            "\"s\"",
            "\"\\ud800\"",
            "\"\\u00e9\\n\"",
            "\"é\"",
            "01",
            "+1",
            "\"\\x\"",
            "nul",
        ])
        .prop_map(str::to_owned);
        let text = scalar.prop_recursive(4, 40, 5, |inner| {
            let key = prop::sample::select(vec![
                "a",
                "b",
                "A",
                "\\u0061",
                "tool_name",
                "TOOL_NAME",
                "\\ud83d\\ude00",
                "\\ud800",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                prop::collection::vec((key, inner), 0..5).prop_map(|members| {
                    let parts: Vec<String> = members
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect();
                    format!("{{{}}}", parts.join(","))
                }),
            ]
        });
        (text, any::<u8>(), any::<usize>(), "[ \\]}x,\"]{0,2}").prop_map(|(text, op, at, extra)| {
            let at = at % (text.len() + 1);
            match op % 4 {
                0 if text.is_char_boundary(at) => text.get(..at).unwrap_or_default().to_owned(),
                1 => format!("{text}{extra}"),
                _ => text,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The single pass accepts and rejects exactly what the former two
        /// passes did, with the same tree and the same error.
        #[test]
        fn single_pass_equals_two_passes(text in json_text()) {
            let bytes = text.as_bytes();
            prop_assert_eq!(parse(bytes), parse_two_pass(bytes), "{}", text);
        }

        #[test]
        fn single_pass_equals_two_passes_on_bytes(
            bytes in prop::collection::vec(
                prop::sample::select(b"{}[]\":,\\ u0123abdef9.-+eE\xc3\xa9\xff".to_vec()),
                0..40,
            ),
        ) {
            prop_assert_eq!(parse(&bytes), parse_two_pass(&bytes));
        }
    }

    #[test]
    fn errors_are_parse_stricts() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"[{"x":{"b":1,"b":1}}]"#,
            r#"{"a":1"#,
            r#"{} x"#,
            r#""\ud800""#,
            "1e400",
        ] {
            let strict = gait_digest::canonical::parse_strict(text.as_bytes()).unwrap_err();
            assert_eq!(
                parse(text.as_bytes()),
                Err(IntentError::Json {
                    message: strict.to_string()
                }),
                "{text}"
            );
        }
        let deep = "[".repeat(1000);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(IntentError::Json { .. })
        ));
    }

    fn decode(text: &str) -> Result<RawIntent, IntentError> {
        decode_intent(parse(text.as_bytes())?, &Screen::default())
    }

    #[test]
    fn keeps_document_order() {
        let json = parse(br#"{"b":1,"a":{"z":1,"y":2}}"#).unwrap();
        let Json::Object(members) = json else {
            panic!()
        };
        assert_eq!(members[0].0, "b");
        assert!(matches!(members[0].0, Cow::Borrowed(_)));
        let Json::Object(inner) = &members[1].1 else {
            panic!()
        };
        assert_eq!(inner[0].0, "z");
    }

    #[test]
    fn strict_parse_rejects_duplicates_and_garbage() {
        assert!(matches!(
            decode(r#"{"a":1,"a":2}"#),
            Err(IntentError::Json { .. })
        ));
        assert!(matches!(decode(r#"{"a":1"#), Err(IntentError::Json { .. })));
        assert!(matches!(decode(r#"{} x"#), Err(IntentError::Json { .. })));
        assert!(matches!(
            decode(r#""\ud800""#),
            Err(IntentError::Json { .. })
        ));
    }

    #[test]
    fn unknown_keys_ignored_and_case_folded() {
        let raw = decode(
            r#"{"TOOL_NAME":"x","Unknown":{"deep":[1]},"Context":{"Identity":"me","RISK_CLASS":"high"}}"#,
        )
        .unwrap();
        assert_eq!(raw.tool_name, "x");
        assert_eq!(raw.context.identity, "me");
        assert_eq!(raw.context.risk_class, "high");
    }

    #[test]
    fn exact_name_wins_only_by_order() {
        // Both select tool_name; the later member is decoded last.
        assert_eq!(
            decode(r#"{"tool_name":"a","TOOL_NAME":"b"}"#)
                .unwrap()
                .tool_name,
            "b"
        );
        assert_eq!(
            decode(r#"{"TOOL_NAME":"b","tool_name":"a"}"#)
                .unwrap()
                .tool_name,
            "a"
        );
    }

    #[test]
    fn repeated_objects_merge_like_go() {
        let raw = decode(
            r#"{"context":{"identity":"a","workspace":"w"},"CONTEXT":{"identity":"b"},
                "args":{"x":1},"ARGS":{"y":2},
                "targets":[{"kind":"path","value":"/a"},{"kind":"url"}],"Targets":[{"value":"/b"}]}"#,
        )
        .unwrap();
        assert_eq!(raw.context.identity, "b");
        assert_eq!(raw.context.workspace, "w");
        let args = raw.args.unwrap();
        assert_eq!(args.len(), 2);
        assert_eq!(raw.targets.len(), 1);
        assert_eq!(raw.targets[0].kind, "path");
        assert_eq!(raw.targets[0].value, "/b");
    }

    #[test]
    fn nulls_follow_go() {
        let raw = decode(
            r#"{"tool_name":"t","TOOL_NAME":null,"args":null,"targets":null,"script":null,
                "context":null,"delegation":{"requester_identity":"r"},"Delegation":null}"#,
        )
        .unwrap();
        assert_eq!(raw.tool_name, "t");
        assert!(raw.args.is_none());
        assert!(raw.targets.is_empty());
        assert!(raw.script.is_none());
        assert!(raw.delegation.is_none());
        let raw =
            decode(r#"{"targets":[null],"context":{"credential_scopes":[null,"a"]}}"#).unwrap();
        assert_eq!(raw.targets, vec![RawTarget::default()]);
        assert_eq!(
            raw.context.credential_scopes,
            vec![String::new(), "a".to_owned()]
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode(r#"{"tool_name":5}"#).unwrap_err();
        assert_eq!(err.to_string(), "tool_name: expected string, found number");
        let err = decode(r#"{"targets":[{"kind":"path","destructive":"yes"}]}"#).unwrap_err();
        assert_eq!(err.path(), Some("targets[0].destructive"));
        let err = decode(r#"{"args":[]}"#).unwrap_err();
        assert_eq!(err.path(), Some("args"));
        let err = decode(r#"{"targets":{}}"#).unwrap_err();
        assert_eq!(err.path(), Some("targets"));
        let err = decode(r#"[]"#).unwrap_err();
        assert_eq!(err.to_string(), "intent: expected object, found array");
        let err = decode(r#"{"relationship":{"edges":[{"from":"x"}]}}"#).unwrap_err();
        assert_eq!(err.path(), Some("relationship.edges[0].from"));
        // Outputs are ignored but still typed.
        let err = decode(r#"{"args_digest":1}"#).unwrap_err();
        assert_eq!(err.path(), Some("args_digest"));
        assert!(decode("null").is_ok());
    }

    #[test]
    fn integers_are_go_int64() {
        let ttl = |v: &str| {
            decode(&format!(
                r#"{{"context":{{"credential_ttl_seconds":{v}}}}}"#
            ))
            .map(|r| r.context.credential_ttl_seconds)
        };
        assert_eq!(ttl("600").unwrap(), 600);
        assert_eq!(ttl("-5").unwrap(), -5);
        assert_eq!(ttl("-0").unwrap(), 0);
        assert_eq!(ttl("9223372036854775807").unwrap(), i64::MAX);
        for bad in [
            "1.5",
            "1e3",
            "1.0",
            "0.0",
            "9223372036854775808",
            "\"60\"",
            "true",
        ] {
            let err = ttl(bad).unwrap_err();
            assert_eq!(err.path(), Some("context.credential_ttl_seconds"), "{bad}");
        }
    }

    #[test]
    fn times_are_rfc3339() {
        let raw = decode(r#"{"created_at":"2026-02-18T01:00:00+01:00"}"#).unwrap();
        assert_eq!(
            raw.created_at.unwrap().format(),
            "2026-02-18T01:00:00+01:00"
        );
        let err = decode(r#"{"created_at":"2026-02-18"}"#).unwrap_err();
        assert!(matches!(err, IntentError::Time { .. }));
        assert_eq!(err.path(), Some("created_at"));
        let err = decode(r#"{"delegation":{"chain":[{"issued_at":5}]}}"#).unwrap_err();
        assert_eq!(err.path(), Some("delegation.chain[0].issued_at"));
        assert!(
            decode(r#"{"created_at":null}"#)
                .unwrap()
                .created_at
                .is_none()
        );
    }

    #[test]
    fn free_form_objects_keep_keys() {
        let raw =
            decode(r#"{"args":{"Path":"/x","PATH":"/y"},"context":{"auth_context":{"A":1}}}"#)
                .unwrap();
        let args = raw.args.unwrap();
        assert!(args.contains_key("Path") && args.contains_key("PATH"));
        assert!(raw.context.auth_context.unwrap().contains_key("A"));
    }
}
