//! The on-disk documents: `gait.job.runtime` (state), `gait.job.event`,
//! `gait.job.pending_mutation`, and the typed statuses they carry.
//!
//! The documents keep their text fields as strings (a state written by
//! another implementation is read as it is); the runtime's decisions are
//! made on the enums ([`Status`], [`CheckpointType`], [`EventType`]).

use gait_digest::{GoTime, null_as_default};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::JobError;

/// `schema_id` of a job state.
pub const STATE_SCHEMA_ID: &str = "gait.job.runtime";
/// `schema_id` of a job event.
pub const EVENT_SCHEMA_ID: &str = "gait.job.event";
/// `schema_id` of a pending mutation marker.
pub const PENDING_SCHEMA_ID: &str = "gait.job.pending_mutation";
/// `schema_version` of the three documents.
pub const SCHEMA_VERSION: &str = "1.0.0";

/// A job checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobCheckpoint {
    #[serde(default, deserialize_with = "null_as_default")]
    pub checkpoint_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default", rename = "type")]
    pub checkpoint_type: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub summary: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub required_action: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reason_code: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub actor: String,
}

/// A recorded approval of a job.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobApproval {
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub actor: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub reason: String,
}

/// A job's state (`gait.job.runtime` 1.0.0), fields in write order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobState {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub updated_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub stop_reason: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_reason_code: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_fingerprint: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub safety_invariant_version: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub safety_invariant_hash: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub safety_invariants: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub policy_digest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub policy_ref: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub identity: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub revision: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub checkpoints: Vec<JobCheckpoint>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub approvals: Vec<JobApproval>,
}

/// One job event (`gait.job.event` 1.0.0), fields in write order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobEvent {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    #[serde(default, deserialize_with = "null_as_default")]
    pub job_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub revision: i64,
    #[serde(default, deserialize_with = "null_as_default", rename = "type")]
    pub event_type: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub actor: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub reason_code: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Map::is_empty"
    )]
    pub payload: Map<String, Value>,
}

/// `pending_mutation.json`: present only while a commit is under way (or
/// after a crash in one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct PendingMutation {
    #[serde(default)]
    pub schema_id: String,
    #[serde(default)]
    pub schema_version: String,
    #[serde(default)]
    pub created_at: GoTime,
    #[serde(default)]
    pub job_id: String,
    /// Absent for `submit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_state: Option<JobState>,
    pub updated_state: JobState,
    pub event: JobEvent,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value of a wire text (exact match).
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// A job's status.
    Status {
        /// Working.
        Running = "running",
        /// Paused by a user.
        Paused = "paused",
        /// Waiting for a decision (an approval).
        DecisionNeeded = "decision_needed",
        /// Blocked on something outside the job.
        Blocked = "blocked",
        /// Finished (terminal).
        Completed = "completed",
        /// Cancelled (terminal).
        Cancelled = "cancelled",
        /// Emergency-stopped (final: only `cancel` is accepted).
        EmergencyStopped = "emergency_stopped",
    }
}

impl Status {
    /// Whether the status is final for every operation that could run
    /// the job again: completed, cancelled and emergency-stopped. (A stop
    /// can still be turned into a cancellation.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Cancelled | Status::EmergencyStopped
        )
    }
}

text_enum! {
    /// A job's stop reason.
    StopReason {
        /// Not stopped.
        None = "none",
        /// `pause`.
        PausedByUser = "paused_by_user",
        /// A decision-needed checkpoint.
        DecisionNeeded = "decision_needed",
        /// A blocked checkpoint.
        Blocked = "blocked",
        /// A completed checkpoint.
        Completed = "completed",
        /// `cancel`.
        CancelledByUser = "cancelled_by_user",
        /// `stop`.
        EmergencyStopped = "emergency_stopped",
    }
}

text_enum! {
    /// A checkpoint's type.
    CheckpointType {
        /// A plan (status unchanged).
        Plan = "plan",
        /// Progress (status unchanged).
        Progress = "progress",
        /// A decision is needed (status `decision_needed`).
        DecisionNeeded = "decision-needed",
        /// Blocked (status `blocked`).
        Blocked = "blocked",
        /// Completed (status `completed`).
        Completed = "completed",
    }
}

impl CheckpointType {
    /// `checkpoint_<type with - replaced by _>`.
    pub fn reason_code(self) -> &'static str {
        match self {
            CheckpointType::Plan => "checkpoint_plan",
            CheckpointType::Progress => "checkpoint_progress",
            CheckpointType::DecisionNeeded => "checkpoint_decision_needed",
            CheckpointType::Blocked => "checkpoint_blocked",
            CheckpointType::Completed => "checkpoint_completed",
        }
    }

    /// The status and stop reason the checkpoint sets, if any.
    pub fn sets(self) -> Option<(Status, StopReason)> {
        match self {
            CheckpointType::Plan | CheckpointType::Progress => None,
            CheckpointType::DecisionNeeded => {
                Some((Status::DecisionNeeded, StopReason::DecisionNeeded))
            }
            CheckpointType::Blocked => Some((Status::Blocked, StopReason::Blocked)),
            CheckpointType::Completed => Some((Status::Completed, StopReason::Completed)),
        }
    }
}

text_enum! {
    /// An event's type.
    EventType {
        /// `submit`.
        Submitted = "submitted",
        /// `checkpoint add`.
        CheckpointAdded = "checkpoint_added",
        /// `pause`.
        Paused = "paused",
        /// `cancel`.
        Cancelled = "cancelled",
        /// `stop`.
        EmergencyStopAcknowledged = "emergency_stop_acknowledged",
        /// `approve`.
        Approved = "approved",
        /// `resume`.
        Resumed = "resumed",
        /// A tool call for an emergency-stopped job was refused.
        DispatchBlocked = "dispatch_blocked",
    }
}

impl JobState {
    /// Parses a state strictly (one JSON object, repeated and unknown
    /// members refused).
    ///
    /// # Errors
    ///
    /// [`JobError::Parse`], [`JobError::NotObject`] or [`JobError::Shape`].
    pub fn parse(bytes: &[u8]) -> Result<JobState, JobError> {
        parse_object(bytes, "job state")
    }

    /// The typed status (`None` for a status this runtime does not know).
    pub fn status(&self) -> Option<Status> {
        Status::parse(self.status.trim())
    }

    /// Whether the job is emergency-stopped: both `status` and
    /// `stop_reason` say so.
    pub fn is_emergency_stopped(&self) -> bool {
        self.status.trim() == Status::EmergencyStopped.as_str()
            && self.stop_reason.trim() == StopReason::EmergencyStopped.as_str()
    }

    /// Fills in what a reader fills in: the safety-invariant ledger when
    /// missing ([`crate::safety_invariants`]). (A null `checkpoints` is
    /// already `[]`.)
    pub fn fill_defaults(&mut self) {
        if self.safety_invariant_version.trim().is_empty() {
            self.safety_invariant_version = crate::invariants::SAFETY_INVARIANT_VERSION.into();
        }
        if self.safety_invariants.is_empty() {
            self.safety_invariants = crate::invariants::safety_invariants(self);
        }
        if self.safety_invariant_hash.trim().is_empty() {
            self.safety_invariant_hash =
                crate::invariants::safety_invariant_hash(&self.safety_invariants);
        }
    }
}

impl JobEvent {
    /// Parses one event strictly.
    ///
    /// # Errors
    ///
    /// As [`JobState::parse`].
    pub fn parse(bytes: &[u8]) -> Result<JobEvent, JobError> {
        parse_object(bytes, "job event")
    }
}

impl PendingMutation {
    /// Parses a marker strictly.
    ///
    /// # Errors
    ///
    /// As [`JobState::parse`], with `pending mutation` as the subject.
    pub fn parse(bytes: &[u8]) -> Result<PendingMutation, JobError> {
        parse_object(bytes, "pending mutation")
    }
}

pub(crate) fn parse_object<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, JobError> {
    let value = gait_digest::canonical::parse_strict(bytes)
        .map_err(|source| JobError::Parse { what, source })?;
    if !value.is_object() {
        return Err(JobError::NotObject { what });
    }
    serde_json::from_value(value).map_err(|source| JobError::Shape { what, source })
}

/// Parses `events.jsonl`: blank lines skipped, every other line one event.
///
/// # Errors
///
/// [`JobError::EventLine`] naming the first line that is not an event.
pub fn parse_events(bytes: &[u8]) -> Result<Vec<JobEvent>, JobError> {
    let mut events = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let event = JobEvent::parse(line).map_err(|e| JobError::EventLine {
            line: i.saturating_add(1),
            reason: e.to_string(),
        })?;
        events.push(event);
    }
    Ok(events)
}

/// Encodes a document as Go's `encoding/json` does: struct order, HTML
/// characters and U+2028/U+2029 escaped; `pretty` indents by two spaces and
/// adds a trailing newline (state files), otherwise compact (event lines).
pub(crate) fn encode_go<T: Serialize>(
    value: &T,
    what: &'static str,
    pretty: bool,
) -> Result<Vec<u8>, JobError> {
    let raw = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    }
    .map_err(|source| JobError::Encode { what, source })?;
    // These characters only occur inside JSON strings, so replacing them
    // everywhere is the string escaping Go applies.
    let mut out = Vec::with_capacity(raw.len().saturating_add(16));
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if raw.get(i + 1) == Some(&0x80)
                && matches!(raw.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                let last = if raw.get(i + 2) == Some(&0xA8) {
                    b'8'
                } else {
                    b'9'
                };
                out.extend_from_slice(b"\\u202");
                out.push(last);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if pretty {
        out.push(b'\n');
    }
    Ok(out)
}
