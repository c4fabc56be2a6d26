//! The crate's one error type.

use std::path::PathBuf;

/// Why a job operation was refused or could not complete.
///
/// The texts are the reference runtime's where it has one (§2 of the jobs
/// contract); [`JobError::is_internal`] separates I/O and contention
/// (exit 1 at the CLI) from refusals and invalid input (exit 6).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// No job id was given.
    #[error("job_id is required")]
    JobIdRequired,
    /// The job id is not a job runtime id.
    #[error("job_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{{0,127}}$")]
    InvalidJobId,
    /// The job id would leave the job root.
    #[error("job path escapes the job root")]
    EscapesRoot,
    /// The job has no folder or no state.
    #[error("job not found")]
    NotFound,
    /// `submit` of an id that already has a state.
    #[error("job already exists: {0}")]
    AlreadyExists(String),
    /// An operation that is not legal from the job's status.
    #[error("invalid transition: {event} from {from}")]
    InvalidTransition {
        /// The event the operation would have recorded.
        event: &'static str,
        /// The job's status.
        from: String,
    },
    /// `resume` from a status that cannot be resumed.
    #[error("invalid transition: resume requires paused, decision_needed, or blocked state")]
    NotResumable,
    /// A checkpoint's type, summary or required action is invalid.
    #[error("invalid checkpoint: {0}")]
    InvalidCheckpoint(&'static str),
    /// `checkpoint show` of an unknown checkpoint.
    #[error("checkpoint not found: {0}")]
    CheckpointNotFound(String),
    /// `approve` without an actor.
    #[error("approval actor is required")]
    ApprovalActorRequired,
    /// `resume` of a job whose decisions are not all approved.
    #[error("approval required: approval required before resume")]
    ApprovalRequired,
    /// The policy file could not be loaded.
    #[error("load policy: {0}")]
    LoadPolicy(#[source] gait_policy::PolicyError),
    /// `--policy-digest` is not a SHA-256 digest.
    #[error("invalid policy digest: {0:?} is not 64 hex characters (optionally prefixed sha256:)")]
    InvalidPolicyDigest(String),
    /// `--policy` and `--policy-digest` disagree.
    #[error("policy digest mismatch: provided={provided} computed={computed}")]
    PolicyDigestMismatch {
        /// `--policy-digest`.
        provided: String,
        /// The loaded policy's digest.
        computed: String,
    },
    /// A policy-bound resume without a digest.
    #[error(
        "policy evaluation required: policy digest is required when policy evaluation is enabled"
    )]
    PolicyEvaluationRequired,
    /// The identity given differs from the job's bound identity.
    #[error("identity binding mismatch: expected={expected} provided={provided}")]
    IdentityBindingMismatch {
        /// The bound identity.
        expected: String,
        /// `--identity`.
        provided: String,
    },
    /// Identity validation is required and no identity is known.
    #[error("identity validation required: identity is required for resume validation")]
    IdentityValidationRequired,
    /// The identity is revoked.
    #[error("identity revoked: {0}")]
    IdentityRevoked(String),
    /// The revocation list could not be read.
    #[error("read identity revocations {}: {source}", path.display())]
    ReadRevocations {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The revocation list is JSON of the wrong shape.
    #[error("parse identity revocations {}: {reason}", path.display())]
    ParseRevocations {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The environment changed since the job was submitted.
    #[error("environment fingerprint mismatch: expected={expected} actual={actual}")]
    EnvironmentMismatch {
        /// The job's fingerprint.
        expected: String,
        /// The current one.
        actual: String,
    },
    /// A job file could not be read.
    #[error("read {what}: {source}")]
    Read {
        /// `job state`, `job events` or `pending mutation`.
        what: &'static str,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A job file is not strict JSON.
    #[error("parse {what}: {source}")]
    Parse {
        /// `job state` or `pending mutation`.
        what: &'static str,
        /// The parser's reason.
        #[source]
        source: gait_digest::Error,
    },
    /// A job file is JSON but not an object.
    #[error("parse {what}: expected a JSON object")]
    NotObject {
        /// `job state` or `pending mutation`.
        what: &'static str,
    },
    /// A job file is a JSON object of the wrong shape.
    #[error("parse {what}: {source}")]
    Shape {
        /// `job state`, `job event` or `pending mutation`.
        what: &'static str,
        /// The decoder's reason.
        #[source]
        source: serde_json::Error,
    },
    /// A line of `events.jsonl` is not an event.
    #[error("parse job events: line {line}: {reason}")]
    EventLine {
        /// 1-based line number.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The state names no job.
    #[error("job state has no job_id")]
    MissingJobId,
    /// A pending mutation names another job or lacks a part.
    #[error("invalid pending mutation: {0}")]
    InvalidPending(&'static str),
    /// A snapshot whose state and events do not belong together.
    #[error("invalid job snapshot: {0}")]
    InvalidSnapshot(&'static str),
    /// A blocked dispatch for a job that is no longer emergency-stopped.
    #[error("job is no longer emergency-stopped")]
    NotStopped,
    /// The revision cannot be incremented.
    #[error("job revision overflows")]
    RevisionOverflow,
    /// A document could not be encoded.
    #[error("encode {what}: {source}")]
    Encode {
        /// What.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A job file or folder could not be written.
    #[error("write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: gait_sign::Error,
    },
    /// A job file could not be removed or truncated.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// `remove`, `truncate`, ...
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The event could not be appended.
    #[error("append job event: {0}")]
    AppendEvent(#[source] std::io::Error),
    /// A lock file could not be created or locked.
    #[error("acquire lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The job's state lock stayed taken for 2 s.
    #[error("state contention: lock timeout")]
    LockTimeout,
    /// The event log's append lock stayed taken for 30 s.
    #[error("append lock timeout")]
    AppendLockTimeout,
}

impl JobError {
    /// Whether this is an internal, I/O or contention failure (exit 1)
    /// rather than a refusal or invalid input (exit 6).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            JobError::Read { .. }
                | JobError::Encode { .. }
                | JobError::Write { .. }
                | JobError::Io { .. }
                | JobError::AppendEvent(_)
                | JobError::Lock { .. }
                | JobError::LockTimeout
                | JobError::AppendLockTimeout
                | JobError::RevisionOverflow
        )
    }
}
