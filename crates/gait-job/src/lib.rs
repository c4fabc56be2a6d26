//! The durable job runtime of Gait: `gait job submit|status|checkpoint|
//! pause|stop|cancel|approve|resume|inspect`, the emergency-stop lookup of
//! the tool boundaries, and the reader behind `gait pack build --type job`.
//!
//! A job lives in `<root>/<job_id>/` (root default `./gait-out/jobs`):
//! `state.json` (`gait.job.runtime` 1.0.0, the current state),
//! `events.jsonl` (one `gait.job.event` per mutation, in revision order),
//! and, only while a commit is under way or after a crash in one,
//! `pending_mutation.json`. The formats are byte-compatible with the
//! reference runtime.
//!
//! This crate is the one implementation of that format and of its commit
//! protocol ([`JobRuntime`]): lock (`state.json.lock`, created exclusively
//! and held with an OS lock), settle a pending mutation, read, decide
//! ([`apply`], a pure function), write marker → state → event → remove
//! marker. Every reader settles a pending mutation first, so a crash at
//! any point leaves either the old or the new state, never a mix.
//!
//! The state machine is stricter than the reference's: an emergency stop
//! is final except for `cancel` (no checkpoint or approval can bring a
//! stopped job back), and each decision-needed checkpoint needs its own
//! approval recorded after it.
//!
//! ```
//! use gait_job::{CheckpointRequest, JobRuntime, Operation, ResumeRequest, Status, SubmitRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let jobs = JobRuntime::new(dir.path());
//! let job = jobs.submit(&SubmitRequest {
//!     job_id: "job_1".into(),
//!     actor: "worker_1".into(),
//!     environment_fingerprint: "envfp:ci".into(),
//!     ..SubmitRequest::default()
//! })?;
//! assert_eq!(job.revision, 1);
//!
//! // A decision is needed: resume waits for an approval given after it.
//! jobs.add_checkpoint("job_1", &CheckpointRequest {
//!     checkpoint_type: "decision-needed".into(),
//!     summary: "ship?".into(),
//!     required_action: "approve deploy".into(),
//!     ..CheckpointRequest::default()
//! })?;
//! let resume = ResumeRequest {
//!     environment_fingerprint: "envfp:ci".into(),
//!     ..ResumeRequest::default()
//! };
//! assert!(jobs.resume("job_1", &resume).is_err());
//! jobs.apply("job_1", &Operation::approve("reviewer", "lgtm"))?;
//! assert_eq!(jobs.resume("job_1", &resume)?.state.status(), Some(Status::Running));
//!
//! // An emergency stop is final: only cancel is accepted after it.
//! jobs.apply("job_1", &Operation::stop("secops"))?;
//! assert!(jobs.apply("job_1", &Operation::approve("reviewer", "")).is_err());
//! assert!(jobs.resume("job_1", &resume).is_err());
//! let (state, events) = jobs.inspect("job_1")?;
//! assert!(state.is_emergency_stopped());
//! assert_eq!(events.len(), 5);
//! # Ok(())
//! # }
//! ```

#![deny(unreachable_pub)]

mod error;
mod invariants;
mod lock;
mod model;
mod ops;
mod store;

#[cfg(test)]
mod tests;

pub use error::JobError;
pub use invariants::{
    SAFETY_INVARIANT_VERSION, default_environment_fingerprint, safety_invariant_hash,
    safety_invariants,
};
pub use model::{
    CheckpointType, EVENT_SCHEMA_ID, EventType, JobApproval, JobCheckpoint, JobEvent, JobState,
    PENDING_SCHEMA_ID, PendingMutation, SCHEMA_VERSION, STATE_SCHEMA_ID, Status, StopReason,
    parse_events,
};
pub use ops::{
    Applied, CheckpointRequest, CheckpointSpec, MAX_SUMMARY_BYTES, Operation, PolicyBinding,
    PolicyInput, ResumeInputs, ResumeRequest, SubmitRequest, apply, decisions_approved,
    read_revocations, submit,
};
pub use store::{
    DEFAULT_JOB_ROOT, DurabilityIssue, DurabilityKind, EVENTS_FILE, EVENTS_LOCK_FILE, JobRuntime,
    MAX_JOB_FILE_BYTES, PENDING_FILE, STATE_FILE, STATE_LOCK_FILE, durability_issues,
    is_valid_job_id,
};

/// Reason code of a call refused because its job is emergency-stopped (and
/// of the `stop` operation itself).
pub const REASON_EMERGENCY_STOP_PREEMPTED: &str = "emergency_stop_preempted";
/// Reason code of a call refused because its job's state could not be read.
pub const REASON_EMERGENCY_STOP_STATE_UNAVAILABLE: &str = "emergency_stop_state_unavailable";
/// Violation of both emergency-stop reasons.
pub const VIOLATION_EMERGENCY_STOP_ACTIVE: &str = "emergency_stop_active";
