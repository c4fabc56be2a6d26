//! Runpacks: `runpack_<run_id>.zip`, the offline evidence of one agent run.
//!
//! A runpack holds five entries, all canonical JSON (RFC 8785):
//!
//! | entry | content |
//! |---|---|
//! | `run.json` | the run ([`Run`]) |
//! | `intents.jsonl` | one [`IntentRecord`] per line |
//! | `results.jsonl` | one [`ResultRecord`] per line |
//! | `refs.json` | reference receipts ([`Refs`]) |
//! | `manifest.json` | the SHA-256 of the four others, the manifest digest and optional Ed25519 signatures ([`Manifest`]) |
//!
//! * [`RunRecorder`] records a run: digests, normalization, capture policy,
//!   manifest, optional signature (a [`Trace`](gait_sign::Trace)-role key),
//!   deterministic zip, atomic 0600 write and a re-verification.
//! * [`verify_runpack`] checks a runpack from untrusted bytes and reports
//!   every problem ([`VerifyReport`]); [`read_runpack`] is the strict reader
//!   later stages use (any problem is an error).
//! * [`demo_input`] is the offline demo run (`gait demo`).
//! * [`replay_stub`] / [`replay_real`] replay a runpack (behind the
//!   interlocks of [`plan_replay`]); [`diff_runpacks`] compares two;
//!   [`runpack_receipt`] gives a verified runpack's ticket footer.
//!
//! Everything is byte-compatible with the reference implementation (see
//! `docs/compatibility.md`, "Runpacks", for the few deliberate
//! differences; the main one: a zip entry the manifest does not declare
//! fails verification).

mod context;
mod decode;
mod demo;
mod diff;
mod migrate;
mod model;
mod read;
mod receipt;
mod record;
mod reduce;
mod replay;
mod session;
mod timeline;
mod verify;

pub use context::{
    CONTEXT_ENVELOPE_SCHEMA_ID, CONTEXT_ENVELOPE_SCHEMA_VERSION, ContextEnvelope,
    MAX_CONTEXT_ENVELOPE_BYTES, parse_context_envelope, read_context_envelope,
};
pub use demo::{DEMO_RUN_ID, demo_input};
pub use diff::{DiffPrivacy, DiffSummary, RunpackDiff, diff_runpack_contents, diff_runpacks};
pub use migrate::{
    MigrateStatus, MigrateTarget, Migrated, RAW_STRIPPED_WARNING, SIGNATURES_DROPPED_WARNING,
    default_migrate_output, migrate_runpack,
};
pub use model::{
    AgentLineage, AgentLink, IntentRecord, KindId, Manifest, ManifestFile, PolicyRef, RefReceipt,
    Refs, RelationshipEdge, RelationshipEnvelope, ResultRecord, Run, RunEnv, TimelineEvent,
    canonical_bytes,
};
pub use read::{Runpack, read_runpack, read_runpack_from};
pub use receipt::{RunReceipt, runpack_receipt};
pub use record::{
    AppliedSettings, CaptureMode, EvidenceMode, MAX_INPUT_BYTES, Normalization,
    RAW_CAPTURE_WARNING, REFERENCE_STRIP_WARNING, RecordInput, RecordSettings, Recorded,
    RunRecorder, Written, runpack_file_name, ticket_footer, ticket_footer_matches,
};
pub use reduce::{
    REDUCE_REPORT_SCHEMA_ID, ReduceOutput, ReducePredicate, ReduceReport, Reduced,
    default_reduced_path, reduce_runpack, reduce_to_files, reduced_run_id,
};
pub use replay::{
    REAL_REPLAY_ENV, Replay, ReplayMode, ReplayPlan, ReplayRefused, ReplayRequest, ReplayStep,
    SHELL_TOOLS, classify_stub_type, plan_replay, replay_pack, replay_real, replay_stub,
    stub_digest,
};
pub use session::{
    MAX_CHECKPOINTS, MAX_SESSION_CHAIN_BYTES, SESSION_CHAIN_SCHEMA_ID,
    SESSION_CHECKPOINT_SCHEMA_ID, SESSION_SCHEMA_VERSION, SessionChain, SessionChainReport,
    SessionCheckpoint, checkpoint_digest, diff_session_chains, resolve_checkpoint_runpack,
    verify_chain, verify_session_chain,
};
pub use timeline::{ResultSummary, Timeline, TimelineEntry, timeline};
pub use verify::{
    HashMismatch, SignatureStatus, VerifyOptions, VerifyReport, verify_runpack, verify_runpack_file,
};

/// Manifest `schema_id`.
pub const MANIFEST_SCHEMA_ID: &str = "gait.runpack.manifest";
/// Schema version of every runpack record.
pub const SCHEMA_VERSION: &str = "1.0.0";
/// `run.json` `schema_id`.
pub const RUN_SCHEMA_ID: &str = "gait.runpack.run";
/// `intents.jsonl` record `schema_id`.
pub const INTENT_SCHEMA_ID: &str = "gait.runpack.intent";
/// `results.jsonl` record `schema_id`.
pub const RESULT_SCHEMA_ID: &str = "gait.runpack.result";
/// `refs.json` `schema_id`.
pub const REFS_SCHEMA_ID: &str = "gait.runpack.refs";
/// The producer version recorded when none is given.
pub const DEFAULT_PRODUCER_VERSION: &str = "0.0.0-dev";

/// The four payload entries every runpack must declare.
pub const REQUIRED_FILES: [&str; 4] = ["run.json", "intents.jsonl", "results.jsonl", "refs.json"];
/// The manifest entry.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Largest entry read or hashed (100 MiB, as the reference).
pub const MAX_ENTRY_BYTES: u64 = 100 << 20;
/// Longest `intents.jsonl` / `results.jsonl` line (10 MiB).
pub const MAX_JSONL_LINE_BYTES: usize = 10 << 20;

/// Why a runpack could not be recorded, read or verified.
///
/// The variant is the exit-code class: [`Invalid`](Self::Invalid) is bad
/// input (exit 6), [`Verification`](Self::Verification) means the evidence
/// does not verify (exit 2), [`Io`](Self::Io) is a failure of the local
/// environment and [`Internal`](Self::Internal) a broken internal contract
/// (both exit 1), [`Unsafe`](Self::Unsafe) an unsafe operation refused
/// (exit 8). An [`Archive`](Self::Archive) error keeps the zip layer's
/// error as its source and takes its class from it (unsafe zip: 2, I/O: 1,
/// else 6); the `is_*` methods answer for every variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunpackError {
    /// Bad input: unreadable or malformed files, schema errors, bad flags.
    #[error("{0}")]
    Invalid(String),
    /// The artifact does not verify (duplicates, tampering, unsafe zip).
    #[error("{0}")]
    Verification(String),
    /// Writing failed.
    #[error("{0}")]
    Io(String),
    /// An internal contract does not hold (such as the ticket-footer
    /// format).
    #[error("{0}")]
    Internal(String),
    /// An unsafe operation was refused (real replay without its
    /// interlocks).
    #[error("{0}")]
    Unsafe(String),
    /// The zip layer refused the runpack: an unsafe archive is a
    /// verification failure, an I/O error a failure of the environment,
    /// anything else bad input.
    #[error("{context}: {source}")]
    Archive {
        /// What was being done (`open zip`, `read run.json`).
        context: String,
        /// The archive error.
        #[source]
        source: crate::archive::ArchiveError,
    },
}

impl RunpackError {
    /// Whether this is a verification failure (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        match self {
            RunpackError::Verification(_) => true,
            RunpackError::Archive { source, .. } => {
                matches!(source, crate::archive::ArchiveError::Unsafe(_))
            }
            _ => false,
        }
    }

    /// Whether this is an I/O failure of the local environment (exit 1).
    pub fn is_io(&self) -> bool {
        match self {
            RunpackError::Io(_) => true,
            RunpackError::Archive { source, .. } => {
                matches!(source, crate::archive::ArchiveError::Io(_))
            }
            _ => false,
        }
    }

    /// Whether an internal contract failed (exit 1).
    pub fn is_internal(&self) -> bool {
        matches!(self, RunpackError::Internal(_))
    }

    /// Whether an unsafe operation was refused (exit 8).
    pub fn is_unsafe(&self) -> bool {
        matches!(self, RunpackError::Unsafe(_))
    }
}

/// Opens an archive with the runpack limits; an unsafe archive is a
/// verification failure, anything else unreadable is bad input.
pub(crate) fn open_archive<R: std::io::Read + std::io::Seek>(
    reader: R,
) -> Result<crate::archive::Archive<R>, RunpackError> {
    let limits = crate::archive::Limits {
        max_entry_bytes: MAX_ENTRY_BYTES,
        ..crate::archive::Limits::default()
    };
    crate::archive::Archive::open_with(reader, limits).map_err(|e| archive_error("open zip", e))
}

pub(crate) fn archive_error(what: &str, e: crate::archive::ArchiveError) -> RunpackError {
    RunpackError::Archive {
        context: what.to_owned(),
        source: e,
    }
}

/// `zip contains duplicate entries: a, b` when the archive has any.
pub(crate) fn reject_duplicates<R: std::io::Read + std::io::Seek>(
    archive: &crate::archive::Archive<R>,
) -> Result<(), RunpackError> {
    if archive.duplicates().is_empty() {
        return Ok(());
    }
    Err(RunpackError::Verification(format!(
        "zip contains duplicate entries: {}",
        archive.duplicates().join(", ")
    )))
}

/// Parses and checks `manifest.json` (member names matched exactly).
pub(crate) fn parse_manifest(bytes: &[u8]) -> Result<(serde_json::Value, Manifest), RunpackError> {
    let bad = |e: String| RunpackError::Invalid(format!("parse manifest.json: {e}"));
    let raw = gait_digest::canonical::parse_strict(bytes).map_err(|e| bad(e.to_string()))?;
    let obj = decode::Obj::of(&raw, "manifest", decode::Keys::Exact)
        .map_err(bad)?
        .ok_or_else(|| bad("manifest is null".to_owned()))?;
    let manifest = Manifest::decode(obj).map_err(bad)?;
    if manifest.schema_id != MANIFEST_SCHEMA_ID {
        return Err(RunpackError::Invalid(
            "manifest schema_id must be gait.runpack.manifest".to_owned(),
        ));
    }
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(RunpackError::Invalid(
            "manifest schema_version must be 1.0.0".to_owned(),
        ));
    }
    if manifest.run_id.is_empty() {
        return Err(RunpackError::Invalid("manifest missing run_id".to_owned()));
    }
    Ok((raw, manifest))
}

/// Finds a runpack from a command-line argument: text containing `/` or
/// `\` or ending in `.zip` (any case) is a path that must exist; anything
/// else is a run id looked up as `gait-out/runpack_<id>.zip`, then
/// `~/.gait/runpacks/runpack_<id>.zip`.
pub fn resolve_runpack_path(input: &str) -> Result<std::path::PathBuf, RunpackError> {
    use std::path::{Path, PathBuf};
    let is_file = |p: &Path| p.metadata().is_ok_and(|m| !m.is_dir());
    if input.is_empty() {
        return Err(RunpackError::Invalid("missing run_id or path".to_owned()));
    }
    if input.contains(['/', '\\']) || input.to_lowercase().ends_with(".zip") {
        let p = PathBuf::from(input);
        return if is_file(&p) {
            Ok(p)
        } else {
            Err(RunpackError::Invalid(format!("runpack not found: {input}")))
        };
    }
    let name = format!("runpack_{input}.zip");
    let mut candidates = vec![Path::new("gait-out").join(&name)];
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        candidates.push(
            PathBuf::from(home)
                .join(".gait")
                .join("runpacks")
                .join(&name),
        );
    }
    candidates
        .into_iter()
        .find(|c| is_file(c))
        .ok_or_else(|| RunpackError::Invalid(format!("runpack not found for run_id: {input}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_paths() {
        let dir = std::env::temp_dir();
        assert!(matches!(
            resolve_runpack_path("no/such/runpack.zip"),
            Err(RunpackError::Invalid(m)) if m == "runpack not found: no/such/runpack.zip"
        ));
        assert!(matches!(
            resolve_runpack_path("NOPE.ZIP"),
            Err(RunpackError::Invalid(m)) if m == "runpack not found: NOPE.ZIP"
        ));
        assert!(matches!(
            resolve_runpack_path("run_surely_not_here_42"),
            Err(RunpackError::Invalid(m)) if m.starts_with("runpack not found for run_id")
        ));
        assert!(resolve_runpack_path("").is_err());
        // A directory is not a runpack.
        let d = dir.display().to_string() + "/";
        assert!(resolve_runpack_path(&d).is_err());
    }

    #[test]
    fn archive_errors_take_their_class_from_the_source() {
        use crate::archive::ArchiveError;
        use std::error::Error as _;
        let e = archive_error("open zip", ArchiveError::Unsafe("dup".into()));
        assert!(e.is_verification_failure() && !e.is_io());
        assert_eq!(e.to_string(), "open zip: unsafe zip archive: dup");
        assert!(e.source().is_some());
        let e = archive_error("read run.json", ArchiveError::Io("eio".into()));
        assert!(e.is_io() && !e.is_verification_failure());
        let e = archive_error("open zip", ArchiveError::NotAnArchive("eof".into()));
        assert!(!e.is_io() && !e.is_verification_failure() && !e.is_unsafe());
    }

    #[test]
    fn error_classes() {
        assert!(RunpackError::Verification("x".into()).is_verification_failure());
        assert!(RunpackError::Io("x".into()).is_io());
        assert!(!RunpackError::Invalid("x".into()).is_io());
        assert!(RunpackError::Internal("x".into()).is_internal());
        assert!(RunpackError::Unsafe("x".into()).is_unsafe());
    }
}
