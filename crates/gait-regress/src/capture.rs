//! Capture receipts (`gait capture`) and `--from` source resolution.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use gait_pack::runpack::{VerifyOptions, resolve_runpack_path, verify_runpack};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RegressError;
use crate::io::{MAX_JSON_FILE_BYTES, read_bounded, to_go_indented_json, write_atomic};

/// Capture receipt `schema_id`.
pub const CAPTURE_SCHEMA_ID: &str = "gait.capture.receipt";
/// Capture receipt `schema_version`.
pub const CAPTURE_SCHEMA_VERSION: &str = "1.0.0";
/// Where `gait capture` writes its receipt by default.
pub const DEFAULT_CAPTURE_PATH: &str = "gait-out/capture.json";

/// A session-chain checkpoint resolved to its runpack.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCheckpoint {
    /// The checkpoint's runpack.
    pub runpack_path: PathBuf,
    /// The chain file, as given.
    pub session_chain_path: String,
    /// The checkpoint index (1-based).
    pub checkpoint_index: i64,
    /// The checkpoint runpack's run id.
    pub run_id: String,
}

/// Resolves checkpoint `checkpoint` (`latest` or an index) of the session
/// chain at `chain` to its runpack.
///
/// The chain is read strictly; the selected checkpoint's digest must
/// recompute and its runpack must verify with the manifest digest the
/// chain records, so a fixture never starts from a checkpoint the chain
/// does not vouch for. Every session-chain input goes through here
/// (`--from <chain>.json` of `regress init|add|bootstrap` and `capture`,
/// capture receipts naming a chain).
pub fn resolve_session_checkpoint(
    chain: &str,
    checkpoint: &str,
) -> Result<SessionCheckpoint, RegressError> {
    let (cp, report) = gait_pack::runpack::resolve_checkpoint_runpack(Path::new(chain), checkpoint)
        .map_err(RegressError::SessionChain)?;
    let n = cp.checkpoint_index;
    let runpack_path = PathBuf::from(&cp.runpack_path);
    Ok(SessionCheckpoint {
        runpack_path,
        session_chain_path: chain.to_owned(),
        checkpoint_index: n,
        run_id: report.run_id,
    })
}

/// A resolved `--from`: the runpack to turn into a fixture and, for a
/// session-chain source, the chain and checkpoint it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Source {
    /// The runpack (or run pack) to read.
    pub runpack: PathBuf,
    /// The session chain and checkpoint index, when the source was one.
    pub session_chain: Option<(String, i64)>,
}

impl Source {
    fn runpack(path: PathBuf) -> Self {
        Self {
            runpack: path,
            session_chain: None,
        }
    }

    fn checkpoint(cp: SessionCheckpoint) -> Self {
        Self {
            runpack: cp.runpack_path,
            session_chain: Some((cp.session_chain_path, cp.checkpoint_index)),
        }
    }
}

fn is_json_path(p: &str) -> bool {
    p.to_lowercase().ends_with(".json")
}

/// `--checkpoint` only applies to a session chain: with a runpack source
/// it is refused rather than ignored.
fn checkpoint_without_chain(checkpoint: Option<&str>) -> Result<(), RegressError> {
    match checkpoint {
        Some(cp) => Err(RegressError::invalid(format!(
            "--checkpoint {} applies to session chains (--from <session_chain.json>)",
            cp.trim()
        ))),
        None => Ok(()),
    }
}

/// Resolves the `--from` of `regress init|bootstrap`: a session chain
/// (`.json`, see [`resolve_session_checkpoint`]), else a run id or runpack
/// path (see [`resolve_runpack_path`]).
pub fn resolve_source(from: &str, checkpoint: Option<&str>) -> Result<Source, RegressError> {
    let from = from.trim();
    if from.is_empty() {
        return Err(RegressError::invalid(
            "missing required --from <run_id|path>",
        ));
    }
    if is_json_path(from) {
        let cp = resolve_session_checkpoint(from, checkpoint.map_or("latest", str::trim))?;
        return Ok(Source::checkpoint(cp));
    }
    checkpoint_without_chain(checkpoint)?;
    resolve_runpack_path(from)
        .map(Source::runpack)
        .map_err(|e| RegressError::from_runpack("resolve --from", e))
}

/// A capture receipt (field order as the reference writes it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CaptureReceipt {
    /// `gait.capture.receipt`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// Whether the capture succeeded.
    pub ok: bool,
    /// The `--from` value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `runpack` or `trace`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    /// The resolved artifact.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_path: String,
    /// The session chain, for checkpoint captures.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_chain_path: String,
    /// The run id (runpacks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    /// Where the receipt was written.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_path: String,
    /// Why the capture failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

impl CaptureReceipt {
    fn new(from: &str, artifact_type: &str, artifact_path: String, run_id: String) -> Self {
        Self {
            schema_id: CAPTURE_SCHEMA_ID.to_owned(),
            schema_version: CAPTURE_SCHEMA_VERSION.to_owned(),
            ok: true,
            from: from.to_owned(),
            artifact_type: artifact_type.to_owned(),
            artifact_path,
            run_id,
            ..Self::default()
        }
    }
}

/// Resolves `--from` into a receipt: a session chain or a gate trace
/// record (`.json`), else a run id or runpack path that verifies.
pub fn capture(from: &str, checkpoint: Option<&str>) -> Result<CaptureReceipt, RegressError> {
    let from = from.trim();
    if from.is_empty() {
        return Err(RegressError::invalid(
            "missing required --from <run_id|path>",
        ));
    }
    if is_json_path(from) {
        let bytes = read_bounded(Path::new(from), "capture source", MAX_JSON_FILE_BYTES)?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| RegressError::invalid(format!("parse {from}: {e}")))?;
        if value.get("schema_id").and_then(Value::as_str) == Some("gait.runpack.session_chain") {
            let cp = resolve_session_checkpoint(from, checkpoint.map_or("latest", str::trim))?;
            let mut receipt = CaptureReceipt::new(
                from,
                "runpack",
                cp.runpack_path.to_string_lossy().into_owned(),
                cp.run_id,
            );
            receipt.session_chain_path = from.to_owned();
            return Ok(receipt);
        }
        checkpoint_without_chain(checkpoint)?;
        validate_trace_record(&value).map_err(|source| RegressError::TraceRecord {
            path: from.to_owned(),
            source,
        })?;
        return Ok(CaptureReceipt::new(
            from,
            "trace",
            from.to_owned(),
            String::new(),
        ));
    }
    checkpoint_without_chain(checkpoint)?;
    let path =
        resolve_runpack_path(from).map_err(|e| RegressError::from_runpack("resolve --from", e))?;
    let bytes = read_bounded(&path, "runpack", crate::init::MAX_SOURCE_BYTES)?;
    let report = verify_runpack(Cursor::new(&bytes), &VerifyOptions::default())
        .map_err(|e| RegressError::from_runpack(&format!("verify {}", path.display()), e))?;
    Ok(CaptureReceipt::new(
        from,
        "runpack",
        path.to_string_lossy().into_owned(),
        report.run_id,
    ))
}

/// Writes `receipt` (with `output_path` set to `path`) as indented JSON.
pub fn write_capture_receipt(
    path: &Path,
    receipt: &mut CaptureReceipt,
) -> Result<(), RegressError> {
    receipt.output_path = path.to_string_lossy().replace('\\', "/");
    write_atomic(path, &to_go_indented_json(receipt)?, "capture receipt")
}

/// Reads a capture receipt; `None` when the file is not one (wrong schema,
/// not JSON), so that `regress add` can treat it as another source.
pub fn read_capture_receipt(path: &Path) -> Result<Option<CaptureReceipt>, RegressError> {
    let bytes = read_bounded(path, "capture receipt", MAX_JSON_FILE_BYTES)?;
    let Ok(receipt) = serde_json::from_slice::<CaptureReceipt>(&bytes) else {
        return Ok(None);
    };
    if receipt.schema_id != CAPTURE_SCHEMA_ID || receipt.schema_version != CAPTURE_SCHEMA_VERSION {
        return Ok(None);
    }
    if receipt.artifact_path.trim().is_empty() {
        return Err(RegressError::invalid(format!(
            "capture receipt {}: missing artifact_path",
            path.display()
        )));
    }
    Ok(Some(receipt))
}

/// Resolves the `--from` of `regress add`: a capture receipt of a runpack
/// (or of a session-chain checkpoint), else as [`resolve_source`].
pub fn resolve_add_source(from: &str, checkpoint: Option<&str>) -> Result<Source, RegressError> {
    let trimmed = from.trim();
    let p = Path::new(trimmed);
    if is_json_path(trimmed) && p.is_file() {
        if let Some(receipt) = read_capture_receipt(p)? {
            if receipt.artifact_type != "runpack" {
                return Err(RegressError::invalid(format!(
                    "capture receipt artifact_type {:?} is not supported by regress add",
                    receipt.artifact_type
                )));
            }
            let chain = receipt.session_chain_path.trim();
            if !chain.is_empty() {
                let cp = resolve_session_checkpoint(chain, checkpoint.map_or("latest", str::trim))?;
                return Ok(Source::checkpoint(cp));
            }
            checkpoint_without_chain(checkpoint)?;
            return Ok(Source::runpack(PathBuf::from(receipt.artifact_path)));
        }
    }
    resolve_source(trimmed, checkpoint)
}

fn is_sha256_lower_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Why a gate trace record is not accepted as a capture source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceRecordError {
    /// `schema_id` is not `gait.gate.trace`.
    #[error("unexpected trace schema_id {0:?}")]
    SchemaId(String),
    /// A required field is empty.
    #[error("trace {0} must not be empty")]
    Empty(&'static str),
    /// `created_at` is not an RFC 3339 time.
    #[error("trace created_at must be an RFC 3339 time")]
    CreatedAt,
    /// A digest field is not lowercase SHA-256 hex.
    #[error("trace {0} must be a 64-character lowercase hex sha256")]
    Digest(&'static str),
    /// The verdict is not one a gate writes.
    #[error("unsupported trace verdict {0:?}")]
    Verdict(String),
}

/// The structural checks the reference applies before accepting a trace
/// record as a capture source.
fn validate_trace_record(v: &Value) -> Result<(), TraceRecordError> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default()
    };
    if s("schema_id") != "gait.gate.trace" {
        return Err(TraceRecordError::SchemaId(s("schema_id").to_owned()));
    }
    for field in [
        "schema_version",
        "producer_version",
        "trace_id",
        "tool_name",
    ] {
        if s(field).is_empty() {
            return Err(TraceRecordError::Empty(field));
        }
    }
    let created =
        gait_digest::GoTime::parse(s("created_at")).map_err(|_| TraceRecordError::CreatedAt)?;
    if created.is_zero() {
        return Err(TraceRecordError::Empty("created_at"));
    }
    for field in ["args_digest", "intent_digest", "policy_digest"] {
        if !is_sha256_lower_hex(s(field)) {
            return Err(TraceRecordError::Digest(field));
        }
    }
    if !matches!(
        s("verdict"),
        "allow" | "block" | "dry_run" | "require_approval"
    ) {
        return Err(TraceRecordError::Verdict(s("verdict").to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn trace() -> Value {
        let h = "ab".repeat(32);
        serde_json::json!({
            "schema_id": "gait.gate.trace",
            "schema_version": "1.0.0",
            "producer_version": "0.0.0-dev",
            "trace_id": "t1",
            "tool_name": "tool.read",
            "created_at": "2026-02-05T00:00:00Z",
            "args_digest": h,
            "intent_digest": h,
            "policy_digest": h,
            "verdict": "allow",
        })
    }

    #[test]
    fn trace_record_errors_name_the_field_in_the_reference_words() {
        assert_eq!(validate_trace_record(&trace()), Ok(()));
        let with = |k: &str, v: &str| {
            let mut t = trace();
            t[k] = Value::String(v.to_owned());
            validate_trace_record(&t).unwrap_err()
        };
        let cases = [
            (with("schema_id", "x"), "unexpected trace schema_id \"x\""),
            (with("trace_id", " "), "trace trace_id must not be empty"),
            (
                with("created_at", "yesterday"),
                "trace created_at must be an RFC 3339 time",
            ),
            (
                with("intent_digest", &"AB".repeat(32)),
                "trace intent_digest must be a 64-character lowercase hex sha256",
            ),
            (
                with("verdict", "maybe"),
                "unsupported trace verdict \"maybe\"",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
        let e = RegressError::TraceRecord {
            path: "t.json".into(),
            source: TraceRecordError::Verdict("maybe".into()),
        };
        assert_eq!(
            e.to_string(),
            "t.json is not a valid gate trace record: unsupported trace verdict \"maybe\""
        );
        assert!(!e.is_io());
        assert!(std::error::Error::source(&e).is_some());
    }
}
