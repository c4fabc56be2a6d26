//! Signed trace records: the evidence every gate decision leaves.
//!
//! A [`TraceRecord`] (`gait.gate.trace` 1.0.0) names the tool call (tool,
//! args digest, intent digest), the policy (digest, id, version) and the
//! verdict, plus the context the decision used. It is signed with the
//! **trace** key role: Ed25519 over the SHA-256 of the canonical JSON of the
//! record without its `signature`.
//!
//! * [`trace_id`] and [`event_id`] derive the record's ids.
//! * [`TraceRecord::sign`] fills the signature; [`write_trace`] writes the
//!   record atomically (temporary file, fsync, rename) with mode 0600.
//! * [`verify_trace_bytes`] verifies a record offline with a public key.
//! * [`Decider`] is the one decision core every boundary decides through
//!   (gate, overlays, signed trace, durable record); [`Guard`] is its
//!   in-process boundary for an agent's tool dispatcher.
//! * [`Journal`] is the group-commit, hash-chained trace journal with
//!   signed checkpoints; [`JournalSink`] writes through it and
//!   [`verify_journal`] checks one offline.
//!
//! # Verification is strict
//!
//! The signed document is the record exactly as stored, minus
//! `signature`. A member added after signing (even one the schema does not
//! know) therefore fails verification instead of riding along unsigned.
//!
//! # Example
//!
//! ```
//! use gait_sign::{SigningKey, Trace};
//! use gait_policy::Verdict;
//! use gait_trace::{SignatureStatus, TraceRecord, verify_trace_bytes};
//!
//! let key = SigningKey::<Trace>::generate()?;
//! let mut record = TraceRecord::new(
//!     "tool.read",
//!     &"a".repeat(64),
//!     &"b".repeat(64),
//!     &"c".repeat(64),
//!     Verdict::Allow,
//! );
//! record.sign(&key)?;
//! let bytes = record.to_pretty_json();
//! let report = verify_trace_bytes(&bytes, key.verifying_key())?;
//! assert_eq!(report.status, SignatureStatus::Verified);
//! assert_eq!(report.verdict, "allow");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

mod build;
mod decide;
pub mod emergency;
pub mod explain;
mod guard;
pub mod journal;
mod record;
mod verify;

pub use build::{
    TraceOptions, approval_audit_record, build_trace, delegation_audit_record, recompute_ids,
};
pub use decide::{
    Boundary, DecideError, Decided, Decider, DecisionRequest, REASON_FAIL_CLOSED_INTENT_INVALID,
    REASON_GATE_EVALUATION_ERROR, REASON_TOOL_CHANGED, REASON_TOOL_NAME_AMBIGUOUS,
    ToolDefinitionCheck, TraceSigner, VIOLATION_INTENT_NOT_EVALUABLE,
};
pub use emergency::{FileJobStore, JobError, JobStatus, JobStore};
pub use guard::{
    CallRecorder, DirectorySink, FileSink, Guard, GuardMode, Guarded, MemorySink, RecordedCall,
    Refusal, TraceSink, refusal_message,
};
pub use journal::{
    Journal, JournalError, JournalOptions, JournalProblem, JournalReport, JournalSink, ProblemKind,
    Recovery, TornTail, verify_journal,
};
pub use record::{
    DelegationRef, StepVerdict, TRACE_SCHEMA_ID, TRACE_SCHEMA_VERSION, TraceRecord, event_id,
    trace_id, write_trace,
};
pub use verify::{
    FieldProblem, MAX_TRACE_BYTES, SignatureStatus, TraceError, TraceReport, ValidTrace,
    validate_trace_bytes, verify_trace_bytes,
};
