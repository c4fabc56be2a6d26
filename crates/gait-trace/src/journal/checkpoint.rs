//! Signed checkpoints: the journal's head digest, record count and
//! segment list, signed with the trace key, one JSON line each in
//! `checkpoints.jsonl`, each naming the digest of the line before it.

use gait_digest::{GoTime, hex, sha256};
use gait_sign::{SignatureEnvelope, SigningKey, Trace, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::JournalError;

/// `schema_id` of journal checkpoints.
pub const CHECKPOINT_SCHEMA_ID: &str = "gait.trace.journal.checkpoint";
/// `schema_version` of journal checkpoints.
pub const CHECKPOINT_SCHEMA_VERSION: &str = "1.0.0";
/// The checkpoints file in a journal directory.
pub(crate) const CHECKPOINTS_FILE: &str = "checkpoints.jsonl";
/// The largest checkpoint line accepted.
pub(crate) const MAX_CHECKPOINT_LINE: usize = 1 << 20;

/// Why a checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckpointReason {
    /// The journal was opened (after recovery).
    Open,
    /// The configured interval was reached.
    Interval,
    /// A segment was sealed and a new one started.
    Rotate,
    /// Asked for ([`crate::Journal::checkpoint`]).
    Manual,
    /// Clean shutdown ([`crate::Journal::close`]).
    Shutdown,
}

/// One segment as a checkpoint lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SegmentEntry {
    /// The file name (`segment-00000001.gjl`).
    pub name: String,
    /// The sequence number of its first record.
    pub first_seq: u64,
    /// Its records at checkpoint time.
    pub records: u64,
}

/// A signed journal checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Checkpoint {
    /// [`CHECKPOINT_SCHEMA_ID`].
    pub schema_id: String,
    /// [`CHECKPOINT_SCHEMA_VERSION`].
    pub schema_version: String,
    /// When it was made (UTC, RFC 3339).
    pub created_at: String,
    /// Why it was made.
    pub reason: CheckpointReason,
    /// Records in the journal (sequence numbers `0..record_count`).
    pub record_count: u64,
    /// Lowercase hex link digest of record `record_count - 1` (64 zeros
    /// when empty).
    pub head: String,
    /// SHA-256 (hex) of the previous checkpoint line (64 zeros for the first).
    pub prev_checkpoint: String,
    /// The segments, in order.
    pub segments: Vec<SegmentEntry>,
    /// Ed25519 over the canonical JSON of the checkpoint without `signature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureEnvelope>,
}

impl Checkpoint {
    /// A signed checkpoint line (no newline).
    pub(crate) fn signed_line(
        key: &SigningKey<Trace>,
        reason: CheckpointReason,
        record_count: u64,
        head: &[u8; 32],
        prev_checkpoint: &[u8; 32],
        segments: Vec<SegmentEntry>,
    ) -> Result<Vec<u8>, JournalError> {
        let mut cp = Checkpoint {
            schema_id: CHECKPOINT_SCHEMA_ID.to_owned(),
            schema_version: CHECKPOINT_SCHEMA_VERSION.to_owned(),
            created_at: GoTime::now_utc().format(),
            reason,
            record_count,
            head: hex(head),
            prev_checkpoint: hex(prev_checkpoint),
            segments,
            signature: None,
        };
        let value = serde_json::to_value(&cp).map_err(JournalError::Encode)?;
        cp.signature = Some(key.sign_value(&value));
        serde_json::to_vec(&cp).map_err(JournalError::Encode)
    }

    /// Parses a checkpoint line and checks its signature with `key`.
    pub(crate) fn parse_line(
        line: &[u8],
        key: &VerifyingKey<Trace>,
    ) -> Result<Checkpoint, CheckpointProblem> {
        if line.len() > MAX_CHECKPOINT_LINE {
            return Err(CheckpointProblem::Malformed("line too long".into()));
        }
        let value = gait_digest::canonical::parse_strict(line)
            .map_err(|e| CheckpointProblem::Malformed(e.to_string()))?;
        let cp: Checkpoint = serde_json::from_value(value.clone())
            .map_err(|e| CheckpointProblem::Malformed(e.to_string()))?;
        if cp.schema_id != CHECKPOINT_SCHEMA_ID || cp.schema_version != CHECKPOINT_SCHEMA_VERSION {
            return Err(CheckpointProblem::Malformed(format!(
                "unsupported schema {} {}",
                cp.schema_id, cp.schema_version
            )));
        }
        key.verify_embedded(&value, "signature")
            .map_err(|e| CheckpointProblem::Signature(e.to_string()))?;
        // Byte-exact: a variant spelling of the same document (member
        // order, escapes, letter case of an unsigned field) is refused.
        if serde_json::to_vec(&cp).ok().as_deref() != Some(line) {
            return Err(CheckpointProblem::Malformed(
                "not in the form the journal writes".into(),
            ));
        }
        Ok(cp)
    }

    /// The head as bytes.
    pub(crate) fn head_bytes(&self) -> Option<[u8; 32]> {
        gait_digest::Sha256Digest::parse_hex(&self.head)
            .ok()
            .map(|d| *d.as_bytes())
    }
}

/// Why a checkpoint line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckpointProblem {
    Malformed(String),
    Signature(String),
}

impl std::fmt::Display for CheckpointProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointProblem::Malformed(m) => write!(f, "malformed checkpoint: {m}"),
            CheckpointProblem::Signature(m) => write!(f, "checkpoint signature: {m}"),
        }
    }
}

/// The digest chaining a checkpoint line to the next.
pub(crate) fn line_digest(line: &[u8]) -> [u8; 32] {
    *sha256(line).as_bytes()
}

/// Splits a checkpoints file into whole lines (each with its byte offset)
/// and the length of a torn last line (bytes after the last newline).
pub(crate) fn split_lines(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    let mut lines = Vec::new();
    let mut start = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push((
                u64::try_from(start).unwrap_or(u64::MAX),
                bytes.get(start..i).unwrap_or_default(),
            ));
            start = i + 1;
        }
    }
    (lines, bytes.len().saturating_sub(start))
}
