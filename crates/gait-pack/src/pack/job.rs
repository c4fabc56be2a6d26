//! Job packs (`pack_type: job`): the state and event log of a durable job,
//! with `job_payload.json` summarizing them.
//!
//! | entry | content |
//! |---|---|
//! | `job_payload.json` | [`JobPayload`] (canonical JSON) |
//! | `job_state.json` | the job's [`JobState`] (canonical JSON) |
//! | `job_events.jsonl` | one [`JobEvent`] per line (canonical JSON) |
//!
//! [`check_job_contract`] is the payload contract a verifier applies (the
//! three entries decode strictly, ids agree, counts match the state);
//! [`build_job_pack_bytes`] builds a pack from a state and its events, and
//! [`read_job_dir`] reads them from a job runtime directory
//! (`<job_root>/<job_id>/state.json` and `events.jsonl`).

use std::path::{Path, PathBuf};

use gait_digest::{GoTime, null_as_default};
use gait_sign::{SigningKey, Trace};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::build::{BuildOptions, BuildResult, BuiltPack, assemble, write_built};
use super::error::{ContractError, PackError, parse_strict};
use super::manifest::is_sha256_hex;

/// `job_payload.json`.
pub const JOB_PAYLOAD_FILE: &str = "job_payload.json";
/// `job_state.json`.
pub const JOB_STATE_FILE: &str = "job_state.json";
/// `job_events.jsonl`.
pub const JOB_EVENTS_FILE: &str = "job_events.jsonl";
/// `schema_id` of a job payload.
pub const JOB_PAYLOAD_SCHEMA_ID: &str = "gait.pack.job";
/// Longest `job_events.jsonl` line accepted (10 MiB, as the reference).
pub const MAX_JOB_EVENT_LINE_BYTES: usize = 10 * 1024 * 1024;
/// Largest job state or event log read from a job directory (64 MiB).
pub const MAX_JOB_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The statuses a job can be in.
pub const JOB_STATUSES: [&str; 7] = [
    "running",
    "paused",
    "decision_needed",
    "blocked",
    "completed",
    "cancelled",
    "emergency_stopped",
];

/// `job_payload.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct JobPayload {
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
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
    #[serde(default, deserialize_with = "null_as_default")]
    pub checkpoint_count: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub approval_count: i64,
}

pub use gait_job::{JobApproval, JobCheckpoint, JobEvent, JobState};

/// One checkpoint in a job lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct JobCheckpointRef {
    pub checkpoint_id: String,
    #[serde(rename = "type")]
    pub checkpoint_type: String,
    pub reason_code: String,
}

/// `pack inspect`'s `job_lineage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JobLineage {
    /// Number of events.
    pub event_count: usize,
    /// The last event's type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_event_type: String,
    /// The checkpoints, sorted by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checkpoint_refs: Vec<JobCheckpointRef>,
}

impl JobPayload {
    /// Parses a payload strictly (one JSON value, unknown and repeated
    /// members rejected).
    pub fn parse(bytes: &[u8]) -> Result<Self, ContractError> {
        parse_strict(bytes)
    }

    /// The payload summarizing `state`.
    pub fn from_state(state: &JobState) -> Self {
        let created = if state.created_at.is_zero() {
            super::manifest::deterministic_time()
        } else {
            state.created_at.to_utc()
        };
        Self {
            schema_id: JOB_PAYLOAD_SCHEMA_ID.into(),
            schema_version: "1.0.0".into(),
            created_at: created,
            job_id: state.job_id.clone(),
            status: state.status.clone(),
            stop_reason: state.stop_reason.clone(),
            status_reason_code: state.status_reason_code.clone(),
            environment_fingerprint: state.environment_fingerprint.clone(),
            safety_invariant_version: state.safety_invariant_version.trim().to_owned(),
            safety_invariant_hash: state.safety_invariant_hash.trim().to_owned(),
            checkpoint_count: i64::try_from(state.checkpoints.len()).unwrap_or(i64::MAX),
            approval_count: i64::try_from(state.approvals.len()).unwrap_or(i64::MAX),
        }
    }

    /// The contract every job payload must meet.
    pub fn validate(&self) -> Result<(), ContractError> {
        let fail = |m: &'static str| Err(ContractError::Rule(m));
        if self.schema_id != JOB_PAYLOAD_SCHEMA_ID {
            return fail("job payload schema_id must be gait.pack.job");
        }
        if self.schema_version != "1.0.0" {
            return fail("job payload schema_version must be 1.0.0");
        }
        if self.created_at.is_zero() {
            return fail("job payload created_at is required");
        }
        if self.job_id.trim().is_empty() {
            return fail("job payload job_id is required");
        }
        if !JOB_STATUSES.contains(&self.status.as_str()) {
            return fail("job payload status is invalid");
        }
        if self.stop_reason.trim().is_empty() {
            return fail("job payload stop_reason is required");
        }
        if self.status_reason_code.trim().is_empty() {
            return fail("job payload status_reason_code is required");
        }
        if self.environment_fingerprint.trim().is_empty() {
            return fail("job payload environment_fingerprint is required");
        }
        if !self.safety_invariant_version.trim().is_empty()
            && !is_sha256_hex(self.safety_invariant_hash.trim())
        {
            return fail(
                "job payload safety_invariant_hash must be sha256 hex when safety_invariant_version is set",
            );
        }
        if self.checkpoint_count < 0 || self.approval_count < 0 {
            return fail("job payload counts must be >= 0");
        }
        Ok(())
    }
}

/// The contract every packed job state must meet.
pub fn validate_job_state(state: &JobState) -> Result<(), ContractError> {
    let fail = |m: &'static str| Err(ContractError::Rule(m));
    if state.job_id.trim().is_empty() {
        return fail("job_state job_id is required");
    }
    if !JOB_STATUSES.contains(&state.status.as_str()) {
        return fail("job_state status is invalid");
    }
    if state.stop_reason.trim().is_empty() {
        return fail("job_state stop_reason is required");
    }
    if state.status_reason_code.trim().is_empty() {
        return fail("job_state status_reason_code is required");
    }
    if state.environment_fingerprint.trim().is_empty() {
        return fail("job_state environment_fingerprint is required");
    }
    if !state.safety_invariant_version.trim().is_empty()
        && !is_sha256_hex(state.safety_invariant_hash.trim())
    {
        return fail(
            "job_state safety_invariant_hash must be sha256 hex when safety_invariant_version is set",
        );
    }
    Ok(())
}

/// Parses `job_events.jsonl` (blank lines skipped, every other line one
/// strict event of at most [`MAX_JOB_EVENT_LINE_BYTES`]).
pub fn parse_job_events(bytes: &[u8]) -> Result<Vec<JobEvent>, ContractError> {
    let mut events = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let n = i.saturating_add(1);
        if line.len() > MAX_JOB_EVENT_LINE_BYTES {
            return Err(ContractError::EventLineTooLong { line: n });
        }
        let event: JobEvent = parse_strict(line).map_err(|e| ContractError::Event {
            line: n,
            source: Box::new(e),
        })?;
        events.push(event);
    }
    Ok(events)
}

/// The payload contract of a job pack, given the three entries' bytes (a
/// missing entry is `None`).
pub fn check_job_contract(
    source_ref: &str,
    payload: Option<&[u8]>,
    state: Option<&[u8]>,
    events: Option<&[u8]>,
) -> Result<(), ContractError> {
    let payload = payload.ok_or(ContractError::MissingEntry(JOB_PAYLOAD_FILE))?;
    let state = state.ok_or(ContractError::MissingEntry(JOB_STATE_FILE))?;
    let events = events.ok_or(ContractError::MissingEntry(JOB_EVENTS_FILE))?;
    let payload =
        JobPayload::parse(payload).map_err(|e| ContractError::parse(JOB_PAYLOAD_FILE, e))?;
    payload.validate()?;
    let state: JobState =
        parse_strict(state).map_err(|e| ContractError::parse(JOB_STATE_FILE, e))?;
    validate_job_state(&state)?;
    let events = parse_job_events(events)?;
    if payload.job_id != source_ref.trim() {
        return Err(ContractError::Rule(
            "job payload job_id does not match manifest source_ref",
        ));
    }
    if state.job_id != payload.job_id {
        return Err(ContractError::Rule(
            "job_state job_id does not match job payload",
        ));
    }
    if usize::try_from(payload.checkpoint_count).ok() != Some(state.checkpoints.len()) {
        return Err(ContractError::Rule(
            "job payload checkpoint_count does not match job_state",
        ));
    }
    if usize::try_from(payload.approval_count).ok() != Some(state.approvals.len()) {
        return Err(ContractError::Rule(
            "job payload approval_count does not match job_state",
        ));
    }
    if events.iter().any(|e| e.job_id.trim() != payload.job_id) {
        return Err(ContractError::Rule(
            "job event job_id does not match job payload",
        ));
    }
    Ok(())
}

/// The lineage `pack inspect` shows for a job pack.
pub fn job_lineage(state: &JobState, events: &[JobEvent]) -> JobLineage {
    let mut refs: Vec<JobCheckpointRef> = state
        .checkpoints
        .iter()
        .map(|c| JobCheckpointRef {
            checkpoint_id: c.checkpoint_id.clone(),
            checkpoint_type: c.checkpoint_type.clone(),
            reason_code: c.reason_code.clone(),
        })
        .collect();
    refs.sort_by(|a, b| a.checkpoint_id.cmp(&b.checkpoint_id));
    JobLineage {
        event_count: events.len(),
        last_event_type: events
            .last()
            .map(|e| e.event_type.clone())
            .unwrap_or_default(),
        checkpoint_refs: refs,
    }
}

/// Builds a job pack in memory from a job's state and events. Missing
/// status fields take the reference's defaults (`running`, `none`,
/// `submitted`); the environment fingerprint must be set. The same input
/// gives the same bytes.
pub fn build_job_pack_bytes(
    state: &JobState,
    events: &[JobEvent],
    producer_version: &str,
    signing_key: Option<&SigningKey<Trace>>,
) -> Result<BuiltPack, PackError> {
    let mut state = state.clone();
    if state.job_id.trim().is_empty() {
        return Err(PackError::invalid("job state job_id is required"));
    }
    let default = |field: &mut String, value: &str| {
        if field.trim().is_empty() {
            *field = value.to_owned();
        }
    };
    default(&mut state.status, "running");
    default(&mut state.stop_reason, "none");
    default(&mut state.status_reason_code, "submitted");
    if state.environment_fingerprint.trim().is_empty() {
        return Err(PackError::invalid(
            "job state environment_fingerprint is required",
        ));
    }
    let payload = JobPayload::from_state(&state);
    payload
        .validate()
        .map_err(|e| PackError::invalid(e.to_string()))?;
    validate_job_state(&state).map_err(|e| PackError::invalid(e.to_string()))?;
    if let Some(e) = events.iter().find(|e| e.job_id.trim() != state.job_id) {
        return Err(PackError::invalid(format!(
            "job event of job {:?} in the events of job {:?}",
            e.job_id, state.job_id
        )));
    }
    let payload_bytes = canonical("job payload", &payload)?;
    let state_bytes = canonical("job state", &state)?;
    let mut lines = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            lines.push(b'\n');
        }
        lines.extend(canonical("job event", e)?);
    }
    if !events.is_empty() {
        lines.push(b'\n');
    }
    let files = vec![
        (JOB_PAYLOAD_FILE.to_owned(), payload_bytes),
        (JOB_STATE_FILE.to_owned(), state_bytes),
        (JOB_EVENTS_FILE.to_owned(), lines),
    ];
    assemble(
        "job",
        state.job_id.trim(),
        producer_version,
        files,
        signing_key,
    )
}

fn canonical<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, PackError> {
    gait_digest::canonical::to_vec_from(value)
        .map_err(|e| PackError::invalid(format!("encode {what}: {e}")))
}

/// Whether `job_id` is a valid job id (`[A-Za-z0-9][A-Za-z0-9._:-]{0,127}`).
pub fn is_valid_job_id(job_id: &str) -> bool {
    gait_job::is_valid_job_id(job_id)
}

/// The directory of a job under a job root.
pub fn job_dir(job_root: &Path, job_id: &str) -> Result<PathBuf, PackError> {
    if !is_valid_job_id(job_id) {
        return Err(PackError::invalid(format!("invalid job_id {job_id:?}")));
    }
    Ok(job_root.join(job_id))
}

/// Reads a job's `state.json` and `events.jsonl` from
/// `<job_root>/<job_id>/` through the job runtime's reader
/// ([`gait_job::JobRuntime::inspect`]): a pending mutation left by a crash
/// is settled (rolled forward or back) first, as every reader does.
pub fn read_job_dir(job_root: &Path, job_id: &str) -> Result<(JobState, Vec<JobEvent>), PackError> {
    let runtime = gait_job::JobRuntime::new(job_root);
    runtime.inspect(job_id).map_err(|e| match e {
        gait_job::JobError::NotFound => PackError::invalid(format!(
            "job not found: {job_id} (no {})",
            job_root.join(job_id).join(gait_job::STATE_FILE).display()
        )),
        gait_job::JobError::JobIdRequired | gait_job::JobError::InvalidJobId => {
            PackError::invalid(format!("invalid job_id {job_id:?}"))
        }
        e if e.is_internal() => PackError::Io(format!("read job {job_id}: {e}")),
        e => PackError::invalid(format!("read job {job_id}: {e}")),
    })
}

/// Resolves a job source as the reference does: an existing directory is
/// the job directory itself, an existing `state.json` names its directory,
/// anything else is a job id under `default_root` (`./gait-out/jobs` when
/// blank). Returns the job root and the job id.
pub fn resolve_job_source(from: &str, default_root: &str) -> Result<(PathBuf, String), PackError> {
    let from = from.trim();
    if from.is_empty() {
        return Err(PackError::invalid("job source is required"));
    }
    let p = Path::new(from);
    let split = |dir: &Path| -> (PathBuf, String) {
        let id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let root = dir.parent().map(Path::to_path_buf).unwrap_or_default();
        (root, id)
    };
    if p.is_dir() {
        return Ok(split(p));
    }
    if p.is_file()
        && p.file_name()
            .is_some_and(|n| n.to_string_lossy().eq_ignore_ascii_case("state.json"))
    {
        let dir = p.parent().unwrap_or(Path::new("."));
        return Ok(split(dir));
    }
    let root = match default_root.trim() {
        "" => "./gait-out/jobs",
        r => r,
    };
    Ok((PathBuf::from(root), from.to_owned()))
}

/// Builds a job pack from `<job_root>/<job_id>/` and writes it to
/// `options.output_path` or `./gait-out/pack_<pack_id>.zip`.
pub fn build_job_pack(
    job_root: &Path,
    job_id: &str,
    options: &BuildOptions,
) -> Result<BuildResult, PackError> {
    let (state, events) = read_job_dir(job_root, job_id)?;
    let built = build_job_pack_bytes(
        &state,
        &events,
        &options.producer_version,
        options.signing_key.as_ref(),
    )?;
    let out = match &options.output_path {
        Some(p) => p.clone(),
        None => Path::new("gait-out").join(format!("pack_{}.zip", built.manifest.pack_id)),
    };
    write_built(&out, built)
}

/// The job id of the durable demo.
pub const DEMO_JOB_ID: &str = "job_demo_durable";

/// The safety invariants a job records, derived from its state, sorted.
fn safety_invariants(state: &JobState) -> Vec<String> {
    let mut values = vec![
        "control_boundary=runtime_rust".to_owned(),
        "fail_closed=true".to_owned(),
        "default_privacy=reference_receipts".to_owned(),
    ];
    for (name, value) in [
        ("policy_digest", &state.policy_digest),
        ("policy_ref", &state.policy_ref),
        ("identity", &state.identity),
    ] {
        if !value.trim().is_empty() {
            values.push(format!("{name}={}", value.trim()));
        }
    }
    values.sort();
    values
}

/// SHA-256 (hex) of the trimmed, non-empty invariants, sorted and joined
/// by `|` (the job runtime's formula).
pub fn safety_invariant_hash(values: &[String]) -> String {
    gait_job::safety_invariant_hash(values)
}

/// The durable demo job (`gait demo --durable`): submitted at
/// 2026-02-14T00:00:00Z, stopped at a decision-needed checkpoint, resumed
/// only after an approval, then completed. A resume attempted before the
/// approval is refused and leaves no event. Deterministic apart from the
/// producer version.
pub fn demo_durable_job(producer_version: &str) -> (JobState, Vec<JobEvent>) {
    let t = |minutes: i64| GoTime::from_unix(1_771_027_200 + minutes * 60, 0);
    let user = "demo.user";
    let fp = "envfp:demo-durable";
    let mut state = JobState {
        schema_id: "gait.job.runtime".into(),
        schema_version: "1.0.0".into(),
        created_at: t(0),
        updated_at: t(5),
        producer_version: producer_version.into(),
        job_id: DEMO_JOB_ID.into(),
        status: "completed".into(),
        stop_reason: "completed".into(),
        status_reason_code: "completed".into(),
        environment_fingerprint: fp.into(),
        safety_invariant_version: "1".into(),
        identity: user.into(),
        revision: 5,
        checkpoints: vec![
            JobCheckpoint {
                checkpoint_id: "cp_0001".into(),
                created_at: t(1),
                checkpoint_type: "decision-needed".into(),
                summary: "approval required to continue".into(),
                required_action: "security_review".into(),
                reason_code: "checkpoint_decision_needed".into(),
                actor: user.into(),
            },
            JobCheckpoint {
                checkpoint_id: "cp_0002".into(),
                created_at: t(5),
                checkpoint_type: "completed".into(),
                summary: "durable demo complete".into(),
                required_action: String::new(),
                reason_code: "checkpoint_completed".into(),
                actor: user.into(),
            },
        ],
        approvals: vec![JobApproval {
            created_at: t(3),
            actor: "demo.approver".into(),
            reason: "approved_for_resume".into(),
        }],
        ..JobState::default()
    };
    state.safety_invariants = safety_invariants(&state);
    state.safety_invariant_hash = safety_invariant_hash(&state.safety_invariants);
    let event =
        |minutes: i64, revision: i64, kind: &str, actor: &str, reason: &str, payload: Value| {
            JobEvent {
                schema_id: "gait.job.event".into(),
                schema_version: "1.0.0".into(),
                created_at: t(minutes),
                job_id: DEMO_JOB_ID.into(),
                revision,
                event_type: kind.into(),
                actor: actor.into(),
                reason_code: reason.into(),
                payload: match payload {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
            }
        };
    let events = vec![
        event(
            0,
            1,
            "submitted",
            user,
            "submitted",
            serde_json::json!({"environment_fingerprint": fp, "identity": user}),
        ),
        event(
            1,
            2,
            "checkpoint_added",
            user,
            "checkpoint_decision_needed",
            serde_json::json!({"checkpoint_id": "cp_0001", "checkpoint_type": "decision-needed", "required_action": "security_review"}),
        ),
        event(
            3,
            3,
            "approved",
            "demo.approver",
            "approval_recorded",
            serde_json::json!({"reason": "approved_for_resume"}),
        ),
        event(
            4,
            4,
            "resumed",
            user,
            "resumed",
            serde_json::json!({
                "actual_fingerprint": fp,
                "expected_fingerprint": fp,
                "identity": user,
                "identity_validation_required": true,
                "reason": "approved_resume"
            }),
        ),
        event(
            5,
            5,
            "checkpoint_added",
            user,
            "checkpoint_completed",
            serde_json::json!({"checkpoint_id": "cp_0002", "checkpoint_type": "completed", "required_action": ""}),
        ),
    ];
    (state, events)
}

/// Writes a job's `state.json` (two-space indented, trailing newline) and
/// `events.jsonl` (one compact event per line) into
/// `<job_root>/<job_id>/` through the job runtime
/// ([`gait_job::JobRuntime::write_snapshot`]: atomic, under the job's
/// lock, 0600 files, 0750 directories).
pub fn write_job_dir(
    job_root: &Path,
    state: &JobState,
    events: &[JobEvent],
) -> Result<PathBuf, PackError> {
    job_dir(job_root, &state.job_id)?;
    gait_job::JobRuntime::new(job_root)
        .write_snapshot(state, events)
        .map_err(|e| {
            if e.is_internal() {
                PackError::Io(format!("write job {}: {e}", state.job_id))
            } else {
                PackError::invalid(format!("write job {}: {e}", state.job_id))
            }
        })
}
