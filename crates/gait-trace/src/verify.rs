//! Offline verification of trace records.

use gait_policy::Verdict;
use gait_sign::{SignatureEnvelope, Trace, VerifyingKey};

/// The largest trace file accepted (traces are a few KiB).
pub const MAX_TRACE_BYTES: usize = 16 << 20;

/// What went wrong reading, writing or encoding a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The bytes are more than [`MAX_TRACE_BYTES`].
    #[error("parse trace record: larger than {max} bytes", max = MAX_TRACE_BYTES)]
    TooLarge,
    /// The bytes are not strict JSON.
    #[error("parse trace record: {0}")]
    Json(#[source] gait_digest::Error),
    /// The JSON is not an object.
    #[error("parse trace record: not a JSON object")]
    NotObject,
    /// A member that must be a string is not one.
    #[error("parse trace record: {0}: expected a string")]
    NotString(&'static str),
    /// The `signature` member is not a signature envelope.
    #[error("parse trace record: signature: {0}")]
    Envelope(#[source] gait_sign::VerifyFailure),
    /// The record could not be encoded.
    #[error("encode trace record: {0}")]
    Encode(#[source] serde_json::Error),
    /// A relative output path climbs out of the working directory.
    #[error("trace path must not contain '..': {}", .0.display())]
    PathEscapes(std::path::PathBuf),
    /// Two member names of one object differ only in letter case (Go's
    /// `encoding/json` would read them as one field, the later winning).
    #[error("parse trace record: member names {first:?} and {second:?} differ only in case")]
    CaseVariantMembers {
        /// One name.
        first: String,
        /// The other.
        second: String,
    },
    /// A field fails [`validate_trace_bytes`].
    #[error("invalid trace record: {field}: {problem}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// A key was given and the record's signature does not verify with it.
    #[error("trace signature not verified: {reason}")]
    SignatureNotVerified {
        /// Why (`trace signature missing`, `signature mismatch`, ...).
        reason: String,
    },
    /// The record could not be written (by [`crate::write_trace`] or a
    /// [`crate::TraceSink`]).
    #[error("write trace record: {0}")]
    Write(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The outcome of a signature check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureStatus {
    /// The signature verifies with the given key.
    Verified,
    /// It does not (or there is none).
    Failed,
}

impl SignatureStatus {
    /// `verified` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Verified => "verified",
            SignatureStatus::Failed => "failed",
        }
    }
}

/// What [`verify_trace_bytes`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TraceReport {
    /// The record's `trace_id` (as claimed; trust it only when verified).
    pub trace_id: String,
    /// The record's `verdict` (as claimed).
    pub verdict: String,
    /// Verified or failed.
    pub status: SignatureStatus,
    /// The envelope's key id, when the signature was checked.
    pub key_id: String,
    /// Why verification failed, when it failed with a reason.
    pub error: Option<String>,
}

/// Verifies a trace record's signature with `key`.
///
/// A file that is not a JSON object, has duplicate keys, or whose
/// `trace_id`/`verdict` are not strings is an error (bad input). A record
/// that parses but whose signature is missing or does not verify is a
/// report with [`SignatureStatus::Failed`].
pub fn verify_trace_bytes(
    bytes: &[u8],
    key: &VerifyingKey<Trace>,
) -> Result<TraceReport, TraceError> {
    let doc = parse_record(bytes)?;
    let Some(obj) = doc.as_object() else {
        return Err(TraceError::NotObject);
    };
    check_signature(obj, key)
}

/// The one parse of a trace file: the size bound, then strict JSON
/// (duplicate members refused).
fn parse_record(bytes: &[u8]) -> Result<serde_json::Value, TraceError> {
    if bytes.len() > MAX_TRACE_BYTES {
        return Err(TraceError::TooLarge);
    }
    gait_digest::canonical::parse_strict(bytes).map_err(TraceError::Json)
}

/// The signature check of [`verify_trace_bytes`], over the parsed record.
fn check_signature(
    obj: &serde_json::Map<String, serde_json::Value>,
    key: &VerifyingKey<Trace>,
) -> Result<TraceReport, TraceError> {
    let text = |field: &'static str| -> Result<String, TraceError> {
        match obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(TraceError::NotString(field)),
        }
    };
    let trace_id = text("trace_id")?;
    let verdict = text("verdict")?;
    let failed = |error: String| TraceReport {
        trace_id: trace_id.clone(),
        verdict: verdict.clone(),
        status: SignatureStatus::Failed,
        key_id: String::new(),
        error: Some(error),
    };
    let envelope = match obj.get("signature") {
        None | Some(serde_json::Value::Null) => {
            return Ok(failed("trace signature missing".into()));
        }
        Some(v) => match SignatureEnvelope::from_value(v) {
            Ok(e) => e,
            Err(e) => return Err(TraceError::Envelope(e)),
        },
    };
    let mut signable = obj.clone();
    signable.remove("signature");
    match key.verify_value(&serde_json::Value::Object(signable), &envelope) {
        Ok(()) => Ok(TraceReport {
            trace_id,
            verdict,
            status: SignatureStatus::Verified,
            key_id: envelope.key_id,
            error: None,
        }),
        Err(gait_sign::VerifyFailure::BadSignature) => Ok(TraceReport {
            key_id: envelope.key_id,
            error: None,
            ..failed(String::new())
        }),
        Err(e) => Ok(failed(e.to_string())),
    }
}

/// What is wrong with one field of a trace record ([`TraceError::InvalidField`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// `schema_id` is not `gait.gate.trace`.
    WrongSchema,
    /// A required text field is absent or blank.
    Empty,
    /// A required text field is not a string.
    NotString,
    /// `created_at` is absent, not RFC 3339, or the zero time.
    MissingTime,
    /// A digest is not exactly 64 lowercase hex characters.
    NotDigest,
    /// The verdict is not exactly one of `allow`, `block`, `dry_run`,
    /// `require_approval` (a padded or differently cased verdict is
    /// refused, never trimmed).
    UnknownVerdict,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FieldProblem::WrongSchema => "must be gait.gate.trace",
            FieldProblem::Empty => "must not be empty",
            FieldProblem::NotString => "must be a string",
            FieldProblem::MissingTime => "must be a non-zero RFC 3339 time",
            FieldProblem::NotDigest => "must be 64 lowercase hex characters",
            FieldProblem::UnknownVerdict => {
                "must be exactly one of allow, block, dry_run, require_approval"
            }
        })
    }
}

/// A trace record that [`validate_trace_bytes`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidTrace {
    /// The record's `trace_id`.
    pub trace_id: String,
    /// The record's verdict.
    pub verdict: Verdict,
    /// [`SignatureStatus::Verified`] when a key was given (a record that
    /// does not verify is an error then); `None` when no key was given and
    /// the signature was not checked.
    pub signature: Option<SignatureStatus>,
}

/// Checks that `bytes` are a well-formed `gait.gate.trace` record, as a
/// consumer that acts on its verdict (the wrappers' `enforce`) needs it:
///
/// * strict JSON (the parse of [`verify_trace_bytes`]: size bound,
///   duplicate members refused), a JSON object, and no object anywhere with
///   two member names equal but for letter case;
/// * `schema_id` (trimmed) is `gait.gate.trace`;
/// * `schema_version`, `producer_version`, `trace_id`, `tool_name` are
///   non-blank strings;
/// * `created_at` is a non-zero RFC 3339 time;
/// * `args_digest`, `intent_digest`, `policy_digest` are exactly 64
///   lowercase hex characters;
/// * `verdict` is exactly `allow`, `block`, `dry_run` or
///   `require_approval` (not trimmed: `" block"` is refused);
/// * with a `key`, the signature verifies with it ([`verify_trace_bytes`]'s
///   check).
///
/// ```
/// use gait_sign::{SigningKey, Trace};
/// use gait_policy::Verdict;
/// use gait_trace::{TraceRecord, validate_trace_bytes};
///
/// let key = SigningKey::<Trace>::generate()?;
/// let mut record = TraceRecord::new("tool.read", &"a".repeat(64), &"b".repeat(64), &"c".repeat(64), Verdict::Block);
/// record.created_at = gait_digest::GoTime::now_utc();
/// record.sign(&key)?;
/// let bytes = record.to_pretty_json();
/// assert_eq!(validate_trace_bytes(&bytes, Some(key.verifying_key()))?.verdict, Verdict::Block);
/// let other = SigningKey::<Trace>::generate()?;
/// assert!(validate_trace_bytes(&bytes, Some(other.verifying_key())).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn validate_trace_bytes(
    bytes: &[u8],
    key: Option<&VerifyingKey<Trace>>,
) -> Result<ValidTrace, TraceError> {
    let doc = parse_record(bytes)?;
    let Some(obj) = doc.as_object() else {
        return Err(TraceError::NotObject);
    };
    if let Some((first, second)) = gait_digest::go_json::find_case_variant_members(&doc) {
        return Err(TraceError::CaseVariantMembers { first, second });
    }
    let invalid =
        |field: &'static str, problem: FieldProblem| TraceError::InvalidField { field, problem };
    let text = |field: &'static str| -> Result<&str, TraceError> {
        match obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(""),
            Some(serde_json::Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(invalid(field, FieldProblem::NotString)),
        }
    };
    if text("schema_id")?.trim() != crate::TRACE_SCHEMA_ID {
        return Err(invalid("schema_id", FieldProblem::WrongSchema));
    }
    for field in [
        "schema_version",
        "producer_version",
        "trace_id",
        "tool_name",
    ] {
        if text(field)?.trim().is_empty() {
            return Err(invalid(field, FieldProblem::Empty));
        }
    }
    let created = text("created_at")?;
    match gait_digest::GoTime::parse(created) {
        Ok(t) if !t.is_zero() => {}
        _ => return Err(invalid("created_at", FieldProblem::MissingTime)),
    }
    for field in ["args_digest", "intent_digest", "policy_digest"] {
        let d = text(field)?;
        let hex = d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(invalid(field, FieldProblem::NotDigest));
        }
    }
    let verdict_text = text("verdict")?;
    let Some(verdict) = Verdict::ALL
        .into_iter()
        .find(|v| v.as_str() == verdict_text)
    else {
        return Err(invalid("verdict", FieldProblem::UnknownVerdict));
    };
    let signature = match key {
        None => None,
        Some(key) => {
            let report = check_signature(obj, key)?;
            if report.status != SignatureStatus::Verified {
                let reason = report
                    .error
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| "signature does not verify with the given key".to_owned());
                return Err(TraceError::SignatureNotVerified { reason });
            }
            Some(SignatureStatus::Verified)
        }
    };
    Ok(ValidTrace {
        trace_id: text("trace_id")?.to_owned(),
        verdict,
        signature,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

    use super::*;
    use gait_sign::SigningKey;
    use serde_json::{Value, json};

    fn record() -> Value {
        json!({
            "schema_id": "gait.gate.trace",
            "schema_version": "1.0.0",
            "created_at": "2001-02-03T04:05:06Z",
            "producer_version": "0.0.0-fixture",
            "trace_id": "t1",
            "tool_name": "tool.read",
            "args_digest": "a".repeat(64),
            "intent_digest": "b".repeat(64),
            "policy_digest": "c".repeat(64),
            "verdict": "allow"
        })
    }

    fn with(field: &str, value: Value) -> Vec<u8> {
        let mut r = record();
        if let Some(o) = r.as_object_mut() {
            if value.is_null() {
                o.remove(field);
            } else {
                o.insert(field.to_owned(), value);
            }
        }
        serde_json::to_vec(&r).unwrap()
    }

    fn field_problem(bytes: &[u8]) -> Option<(&'static str, FieldProblem)> {
        match validate_trace_bytes(bytes, None) {
            Err(TraceError::InvalidField { field, problem }) => Some((field, problem)),
            _ => None,
        }
    }

    #[test]
    fn validate_accepts_a_well_formed_unsigned_record() {
        let v = validate_trace_bytes(&serde_json::to_vec(&record()).unwrap(), None).unwrap();
        assert_eq!(v.verdict, Verdict::Allow);
        assert_eq!(v.trace_id, "t1");
        assert_eq!(v.signature, None);
        // Any RFC 3339 form of the time is accepted; the schema id is trimmed.
        let b = with("created_at", json!("2001-02-03T05:05:06.5+01:00"));
        assert!(validate_trace_bytes(&b, None).is_ok());
        let b = with("schema_id", json!(" gait.gate.trace "));
        assert!(validate_trace_bytes(&b, None).is_ok());
    }

    #[test]
    fn validate_refuses_each_malformed_field() {
        use FieldProblem::*;
        let cases = [
            ("schema_id", json!("gait.gate.other"), WrongSchema),
            ("schema_version", json!(" "), Empty),
            ("producer_version", Value::Null, Empty),
            ("trace_id", json!(""), Empty),
            ("tool_name", json!(7), NotString),
            ("created_at", Value::Null, MissingTime),
            ("created_at", json!("0001-01-01T00:00:00Z"), MissingTime),
            ("created_at", json!("yesterday"), MissingTime),
            ("args_digest", json!("A".repeat(64)), NotDigest),
            ("intent_digest", json!("b".repeat(63)), NotDigest),
            (
                "policy_digest",
                json!(format!("{} ", "c".repeat(64))),
                NotDigest,
            ),
            ("verdict", json!("deny"), UnknownVerdict),
            ("verdict", json!(" block"), UnknownVerdict),
            ("verdict", json!("Block"), UnknownVerdict),
            ("verdict", Value::Null, UnknownVerdict),
        ];
        for (field, value, problem) in cases {
            let got = field_problem(&with(field, value.clone()));
            assert_eq!(got, Some((field, problem)), "{field} = {value}");
        }
        assert!(matches!(
            validate_trace_bytes(b"trace_id=nope", None),
            Err(TraceError::Json(_))
        ));
        assert!(matches!(
            validate_trace_bytes(b"[1]", None),
            Err(TraceError::NotObject)
        ));
    }

    #[test]
    fn validate_refuses_case_variant_members() {
        let text = serde_json::to_string(&record()).unwrap().replace(
            r#""verdict":"allow""#,
            r#""verdict":"block","Verdict":"allow""#,
        );
        assert!(matches!(
            validate_trace_bytes(text.as_bytes(), None),
            Err(TraceError::CaseVariantMembers { .. })
        ));
        let nested = with("agent", json!({"id": "a", "ID": "b"}));
        assert!(matches!(
            validate_trace_bytes(&nested, None),
            Err(TraceError::CaseVariantMembers { .. })
        ));
        // Exact duplicates are refused by the strict parse.
        let dup = serde_json::to_string(&record()).unwrap().replace(
            r#""verdict":"allow""#,
            r#""verdict":"block","verdict":"allow""#,
        );
        assert!(matches!(
            validate_trace_bytes(dup.as_bytes(), None),
            Err(TraceError::Json(_))
        ));
    }

    #[test]
    fn validate_with_a_key_requires_a_signature_that_verifies() {
        let key = SigningKey::<Trace>::generate().unwrap();
        let other = SigningKey::<Trace>::generate().unwrap();
        let mut r = crate::TraceRecord::new(
            "tool.write",
            &"a".repeat(64),
            &"b".repeat(64),
            &"c".repeat(64),
            Verdict::Block,
        );
        r.created_at = gait_digest::GoTime::now_utc();
        let unsigned = r.to_pretty_json();
        assert!(matches!(
            validate_trace_bytes(&unsigned, Some(key.verifying_key())),
            Err(TraceError::SignatureNotVerified { .. })
        ));
        r.sign(&key).unwrap();
        let signed = r.to_pretty_json();
        let ok = validate_trace_bytes(&signed, Some(key.verifying_key())).unwrap();
        assert_eq!(ok.signature, Some(SignatureStatus::Verified));
        assert_eq!(ok.verdict, Verdict::Block);
        assert!(matches!(
            validate_trace_bytes(&signed, Some(other.verifying_key())),
            Err(TraceError::SignatureNotVerified { .. })
        ));
        // A verdict rewritten after signing no longer verifies.
        let forged = String::from_utf8(signed)
            .unwrap()
            .replace("\"block\"", "\"allow\"");
        assert!(matches!(
            validate_trace_bytes(forged.as_bytes(), Some(key.verifying_key())),
            Err(TraceError::SignatureNotVerified { .. })
        ));
        // Without a key the same forged record is well-formed.
        assert!(validate_trace_bytes(forged.as_bytes(), None).is_ok());
    }
}
