//! Offline verification of trace records.

use gait_sign::{SignatureEnvelope, Trace, VerifyingKey};

/// The largest trace file accepted (traces are a few KiB).
pub const MAX_TRACE_BYTES: usize = 16 << 20;

/// What went wrong reading, writing or encoding a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// The bytes are not a trace record.
    #[error("parse trace record: {0}")]
    Parse(String),
    /// The record could not be encoded.
    #[error("encode trace record: {0}")]
    Encode(String),
    /// An unacceptable output path.
    #[error("{0}")]
    Path(String),
    /// The record could not be written.
    #[error("write trace record: {0}")]
    Write(String),
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
        return Err(TraceError::Parse(format!(
            "larger than {MAX_TRACE_BYTES} bytes"
        )));
    }
    let doc = gait_digest::canonical::parse_strict(bytes)
        .map_err(|e| TraceError::Parse(e.to_string()))?;
    let Some(obj) = doc.as_object() else {
        return Err(TraceError::Parse("not a JSON object".into()));
    };
    let text = |field: &str| -> Result<String, TraceError> {
        match obj.get(field) {
            None | Some(serde_json::Value::Null) => Ok(String::new()),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(TraceError::Parse(format!("{field}: expected a string"))),
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
            Err(e) => return Err(TraceError::Parse(format!("signature: {e}"))),
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
