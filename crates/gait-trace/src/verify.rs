//! Offline verification of trace records.

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
    if bytes.len() > MAX_TRACE_BYTES {
        return Err(TraceError::TooLarge);
    }
    let doc = gait_digest::canonical::parse_strict(bytes).map_err(TraceError::Json)?;
    let Some(obj) = doc.as_object() else {
        return Err(TraceError::NotObject);
    };
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
