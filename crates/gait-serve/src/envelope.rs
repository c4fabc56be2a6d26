//! A context envelope given at a boundary (`--context-envelope`): read and
//! verified by the one envelope parser (`gait_pack::runpack`, also used by
//! `gait run record`), and turned into the [`ContextEvidence`] the decision
//! core binds to each intent.

use std::path::PathBuf;

use gait_pack::runpack::{ContextEnvelope, read_context_envelope};
use gait_policy::context_evidence::ContextEvidence;
use gait_policy::intent::ContextEvidenceMode;

/// Why a boundary's context envelope cannot be used (exit 6).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The path climbs out of the working folder (`..`).
    #[error("context envelope path must be a local filesystem path")]
    NotLocal,
    /// The envelope cannot be read or is invalid.
    #[error("{0}")]
    Invalid(#[source] gait_pack::runpack::RunpackError),
    /// The verified digest is not a SHA-256 digest (cannot happen for a
    /// verified envelope; refused rather than assumed).
    #[error("context envelope digest is not sha256 hex")]
    Digest,
}

/// Checks that `path` (trimmed) is absolute or stays under the working
/// folder once cleaned, and returns the cleaned path.
///
/// # Errors
///
/// [`EnvelopeError::NotLocal`] for a path that climbs out with `..`.
pub fn local_envelope_path(path: &str) -> Result<PathBuf, EnvelopeError> {
    gait_digest::local_path(path.trim())
        .map(PathBuf::from)
        .ok_or(EnvelopeError::NotLocal)
}

/// Reads, verifies and converts the envelope at `path`.
///
/// # Errors
///
/// [`EnvelopeError`] for a non-local path or an unreadable or invalid
/// envelope.
pub fn load_context_evidence(path: &str) -> Result<ContextEvidence, EnvelopeError> {
    let path = local_envelope_path(path)?;
    let envelope = read_context_envelope(&path).map_err(EnvelopeError::Invalid)?;
    evidence_of(&envelope)
}

/// What the gate needs of a verified envelope.
///
/// # Errors
///
/// [`EnvelopeError::Digest`] if its digest is not SHA-256 hex.
pub fn evidence_of(envelope: &ContextEnvelope) -> Result<ContextEvidence, EnvelopeError> {
    let digest = gait_digest::Sha256Digest::parse_hex(&envelope.context_set_digest)
        .map_err(|_| EnvelopeError::Digest)?;
    let mode = match envelope.evidence_mode.as_str() {
        "required" => ContextEvidenceMode::Required,
        _ => ContextEvidenceMode::BestEffort,
    };
    Ok(ContextEvidence::new(
        digest,
        mode,
        envelope.records.iter().map(|r| r.ref_id.clone()).collect(),
        envelope.created_at,
        envelope.records.iter().map(|r| r.retrieved_at).collect(),
    ))
}
