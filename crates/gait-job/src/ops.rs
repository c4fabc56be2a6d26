//! The state machine (§2.4) and the resume gates (§2.6), as pure
//! functions of a state: nothing here touches the disk, so every rule can
//! be tested (and property-tested) on values.
//!
//! Stricter than the reference (§7.2 of the contract): a completed,
//! cancelled or emergency-stopped job refuses `checkpoint add` and
//! `approve` (an emergency stop is final except for `cancel`), and every
//! decision-needed checkpoint needs its own approval recorded after it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gait_digest::GoTime;
use serde_json::{Map, Value};

use crate::model::{
    CheckpointType, EVENT_SCHEMA_ID, EventType, JobApproval, JobCheckpoint, JobEvent, JobState,
    SCHEMA_VERSION, STATE_SCHEMA_ID, Status, StopReason,
};
use crate::{JobError, invariants};

/// Longest checkpoint summary, in bytes of UTF-8.
pub const MAX_SUMMARY_BYTES: usize = 512;

/// A policy binding as given on the command line: `--policy`,
/// `--policy-digest`, `--policy-ref`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInput {
    /// A policy file to load and digest.
    pub path: Option<PathBuf>,
    /// A digest (64 hex, optionally `sha256:`-prefixed).
    pub digest: Option<String>,
    /// A reference (free text).
    pub reference: Option<String>,
}

/// A resolved policy binding: the digest (bare lowercase hex) and the
/// reference, each when known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyBinding {
    /// The digest.
    pub digest: Option<String>,
    /// The reference.
    pub reference: Option<String>,
}

fn nonblank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `sha256:`-prefix stripped, lowercased, exactly 64 hex characters.
fn normalize_digest(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_prefix("sha256:").unwrap_or(t);
    (t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).then(|| t.to_ascii_lowercase())
}

impl PolicyInput {
    /// Loads and digests the policy (the digest `gate eval` reports),
    /// checks it against the given digest, and defaults the reference to
    /// the cleaned path.
    ///
    /// # Errors
    ///
    /// [`JobError::LoadPolicy`], [`JobError::PolicyDigestMismatch`], or
    /// [`JobError::InvalidPolicyDigest`] for a digest given alone that is
    /// not 64 hex characters.
    pub fn resolve(&self) -> Result<PolicyBinding, JobError> {
        let given = nonblank(self.digest.as_deref());
        let mut reference = nonblank(self.reference.as_deref());
        let path = self
            .path
            .as_deref()
            .map(|p| p.to_string_lossy().trim().to_owned())
            .filter(|p| !p.is_empty());
        let digest = match path {
            Some(p) => {
                let policy =
                    gait_policy::Policy::from_path(Path::new(&p)).map_err(JobError::LoadPolicy)?;
                let computed = policy.digest().to_hex();
                if let Some(given) = &given {
                    if normalize_digest(given).as_deref() != Some(computed.as_str()) {
                        return Err(JobError::PolicyDigestMismatch {
                            provided: given.clone(),
                            computed,
                        });
                    }
                }
                if reference.is_none() {
                    reference = Some(gait_digest::clean_path(&p));
                }
                Some(computed)
            }
            None => match given {
                Some(g) => Some(normalize_digest(&g).ok_or(JobError::InvalidPolicyDigest(g))?),
                None => None,
            },
        };
        Ok(PolicyBinding { digest, reference })
    }
}

/// `job submit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmitRequest {
    /// The job id.
    pub job_id: String,
    /// Who submits (recorded on the event).
    pub actor: String,
    /// The identity bound to the job (default: the actor).
    pub identity: String,
    /// The environment fingerprint (default:
    /// [`invariants::default_environment_fingerprint`]).
    pub environment_fingerprint: String,
    /// The policy binding.
    pub policy: PolicyInput,
    /// The producing CLI's version.
    pub producer_version: String,
}

/// `job checkpoint add`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckpointRequest {
    /// The type's text (`plan`, `progress`, `decision-needed`, `blocked`,
    /// `completed`; empty means `progress`).
    pub checkpoint_type: String,
    /// What happened (non-empty, at most 512 bytes after trimming).
    pub summary: String,
    /// What must be decided (required for `decision-needed`).
    pub required_action: String,
    /// Who adds it.
    pub actor: String,
}

/// A validated checkpoint, ready to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointSpec {
    /// The type.
    pub checkpoint_type: CheckpointType,
    /// The trimmed summary.
    pub summary: String,
    /// The trimmed required action (empty unless decision-needed).
    pub required_action: String,
    /// The trimmed actor.
    pub actor: String,
}

impl CheckpointRequest {
    /// Validates type, summary and required action.
    ///
    /// # Errors
    ///
    /// [`JobError::InvalidCheckpoint`].
    pub fn validate(&self) -> Result<CheckpointSpec, JobError> {
        let t = match self.checkpoint_type.trim() {
            "" => CheckpointType::Progress,
            t => CheckpointType::parse(t).ok_or(JobError::InvalidCheckpoint(
                "type must be one of plan, progress, decision-needed, blocked, completed",
            ))?,
        };
        let summary = self.summary.trim();
        if summary.is_empty() {
            return Err(JobError::InvalidCheckpoint("summary is required"));
        }
        if summary.len() > MAX_SUMMARY_BYTES {
            return Err(JobError::InvalidCheckpoint("summary must be <= 512 bytes"));
        }
        let required_action = if t == CheckpointType::DecisionNeeded {
            let a = self.required_action.trim();
            if a.is_empty() {
                return Err(JobError::InvalidCheckpoint(
                    "required_action is required for decision-needed checkpoints",
                ));
            }
            a.to_owned()
        } else {
            String::new()
        };
        Ok(CheckpointSpec {
            checkpoint_type: t,
            summary: summary.to_owned(),
            required_action,
            actor: self.actor.trim().to_owned(),
        })
    }
}

/// `job resume`, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResumeRequest {
    /// Who resumes.
    pub actor: String,
    /// The identity resuming (checked against the bound one).
    pub identity: String,
    /// Why (default `resume`).
    pub reason: String,
    /// The current environment fingerprint (default: this machine's).
    pub environment_fingerprint: String,
    /// Resume despite a different fingerprint (recorded).
    pub allow_env_mismatch: bool,
    /// The policy to evaluate.
    pub policy: PolicyInput,
    /// Where the identity was validated (recorded; defaults to
    /// `revocation_list` with a revocation file).
    pub identity_validation_source: String,
    /// A revocation list file.
    pub identity_revocations: Option<PathBuf>,
    /// The identity is known to be revoked.
    pub identity_revoked: bool,
}

/// A resume whose command-line inputs are resolved (policy loaded,
/// revocations read): the first gate of §2.6.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumeInputs {
    /// Trimmed actor.
    pub actor: String,
    /// Trimmed identity.
    pub identity: String,
    /// Reason (default `resume`).
    pub reason: String,
    /// The current fingerprint.
    pub environment_fingerprint: String,
    /// `--allow-env-mismatch`.
    pub allow_env_mismatch: bool,
    /// The resolved policy binding.
    pub policy: PolicyBinding,
    /// Validation source.
    pub identity_validation_source: String,
    /// Revoked identities, when a list was given.
    pub revoked: Option<BTreeSet<String>>,
    /// `--identity-revoked`.
    pub identity_revoked: bool,
}

impl ResumeRequest {
    /// Resolves the command-line inputs: loads the policy, reads the
    /// revocation list, fills defaults.
    ///
    /// # Errors
    ///
    /// The policy errors of [`PolicyInput::resolve`];
    /// [`JobError::ReadRevocations`] / [`JobError::ParseRevocations`].
    pub fn resolve(&self) -> Result<ResumeInputs, JobError> {
        let policy = self.policy.resolve()?;
        let revoked = match &self.identity_revocations {
            Some(p) if !p.as_os_str().is_empty() => Some(read_revocations(p)?),
            _ => None,
        };
        let mut source = self.identity_validation_source.trim().to_owned();
        if source.is_empty() && revoked.is_some() {
            source = "revocation_list".into();
        }
        let reason = match self.reason.trim() {
            "" => "resume".to_owned(),
            r => r.to_owned(),
        };
        let fp = match self.environment_fingerprint.trim() {
            "" => invariants::default_environment_fingerprint(),
            f => f.to_owned(),
        };
        Ok(ResumeInputs {
            actor: self.actor.trim().to_owned(),
            identity: self.identity.trim().to_owned(),
            reason,
            environment_fingerprint: fp,
            allow_env_mismatch: self.allow_env_mismatch,
            policy,
            identity_validation_source: source,
            revoked,
            identity_revoked: self.identity_revoked,
        })
    }
}

/// Largest revocation list read.
const MAX_REVOCATIONS_BYTES: u64 = 4 << 20;

/// Reads a revocation list: a JSON array of strings, a JSON object with
/// `revoked_identities` and/or `identities`, or one identity per line
/// (blank lines and `#` comments skipped). Entries are trimmed.
///
/// # Errors
///
/// [`JobError::ReadRevocations`] when the file cannot be read,
/// [`JobError::ParseRevocations`] for JSON of another shape.
pub fn read_revocations(path: &Path) -> Result<BTreeSet<String>, JobError> {
    let bytes =
        gait_sign::read_regular_file_limited(path, MAX_REVOCATIONS_BYTES).map_err(|source| {
            JobError::ReadRevocations {
                path: path.to_path_buf(),
                source,
            }
        })?;
    parse_revocations(&bytes).map_err(|reason| JobError::ParseRevocations {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse_revocations(bytes: &[u8]) -> Result<BTreeSet<String>, String> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    let mut out = BTreeSet::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if !s.is_empty() {
            out.insert(s.to_owned());
        }
    };
    let strings = |v: &Value, what: &str| -> Result<Vec<String>, String> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{what} must hold strings"))
                })
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(format!("{what} must be an array of strings")),
        }
    };
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let value =
            gait_digest::canonical::parse_strict(trimmed.as_bytes()).map_err(|e| e.to_string())?;
        match &value {
            Value::Array(_) => strings(&value, "revocation list")?
                .iter()
                .for_each(|s| add(s)),
            Value::Object(m) => {
                for key in ["revoked_identities", "identities"] {
                    if let Some(v) = m.get(key) {
                        strings(v, key)?.iter().for_each(|s| add(s));
                    }
                }
            }
            _ => return Err("expected an array or an object".into()),
        }
    } else {
        for line in trimmed.lines() {
            let line = line.trim();
            if !line.starts_with('#') {
                add(line);
            }
        }
    }
    Ok(out)
}

/// One mutation of an existing job.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// `checkpoint add`.
    Checkpoint(CheckpointSpec),
    /// `pause`.
    Pause {
        /// Who.
        actor: String,
    },
    /// `stop` (emergency stop).
    Stop {
        /// Who.
        actor: String,
    },
    /// `cancel`.
    Cancel {
        /// Who.
        actor: String,
    },
    /// `approve`.
    Approve {
        /// Who approves (required).
        actor: String,
        /// Why (default `approved`).
        reason: String,
    },
    /// `resume`, its inputs resolved.
    Resume(ResumeInputs),
    /// A tool call for the (emergency-stopped) job was refused.
    DispatchBlocked {
        /// Who refused it (`mcp-proxy`).
        actor: String,
        /// Where (`mcp.proxy`).
        dispatch_path: String,
    },
}

impl Operation {
    /// `pause` by `actor`.
    pub fn pause(actor: &str) -> Operation {
        Operation::Pause {
            actor: actor.trim().to_owned(),
        }
    }

    /// `stop` by `actor`.
    pub fn stop(actor: &str) -> Operation {
        Operation::Stop {
            actor: actor.trim().to_owned(),
        }
    }

    /// `cancel` by `actor`.
    pub fn cancel(actor: &str) -> Operation {
        Operation::Cancel {
            actor: actor.trim().to_owned(),
        }
    }

    /// `approve` by `actor` (reason default `approved`).
    pub fn approve(actor: &str, reason: &str) -> Operation {
        Operation::Approve {
            actor: actor.trim().to_owned(),
            reason: match reason.trim() {
                "" => "approved".to_owned(),
                r => r.to_owned(),
            },
        }
    }

    /// A refused dispatch recorded by `actor` at `dispatch_path`.
    pub fn dispatch_blocked(actor: &str, dispatch_path: &str) -> Operation {
        Operation::DispatchBlocked {
            actor: actor.trim().to_owned(),
            dispatch_path: dispatch_path.trim().to_owned(),
        }
    }

    fn event_type(&self) -> EventType {
        match self {
            Operation::Checkpoint(_) => EventType::CheckpointAdded,
            Operation::Pause { .. } => EventType::Paused,
            Operation::Stop { .. } => EventType::EmergencyStopAcknowledged,
            Operation::Cancel { .. } => EventType::Cancelled,
            Operation::Approve { .. } => EventType::Approved,
            Operation::Resume(_) => EventType::Resumed,
            Operation::DispatchBlocked { .. } => EventType::DispatchBlocked,
        }
    }
}

/// The outcome of an operation: the new state, its event, and the new
/// checkpoint for `checkpoint add`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Applied {
    /// The state after the operation.
    pub state: JobState,
    /// The event recording it.
    pub event: JobEvent,
    /// The checkpoint added, if any.
    pub checkpoint: Option<JobCheckpoint>,
}

fn event(
    state: &JobState,
    kind: EventType,
    actor: &str,
    reason_code: &str,
    payload: Map<String, Value>,
    now: GoTime,
) -> JobEvent {
    JobEvent {
        schema_id: EVENT_SCHEMA_ID.into(),
        schema_version: SCHEMA_VERSION.into(),
        created_at: now,
        job_id: state.job_id.clone(),
        revision: state.revision,
        event_type: kind.as_str().into(),
        actor: actor.to_owned(),
        reason_code: reason_code.to_owned(),
        payload,
    }
}

fn set(state: &mut JobState, status: Status, stop: StopReason, code: &str) {
    state.status = status.as_str().into();
    state.stop_reason = stop.as_str().into();
    state.status_reason_code = code.into();
}

/// The state and event of a new job.
///
/// # Errors
///
/// The policy errors of [`PolicyInput::resolve`]; [`JobError::JobIdRequired`]
/// and [`JobError::InvalidJobId`].
pub fn submit(req: &SubmitRequest, now: GoTime) -> Result<(JobState, JobEvent), JobError> {
    let job_id = crate::store::check_job_id(&req.job_id)?;
    let policy = req.policy.resolve()?;
    let actor = req.actor.trim();
    let identity = match req.identity.trim() {
        "" => actor,
        i => i,
    };
    let fp = match req.environment_fingerprint.trim() {
        "" => invariants::default_environment_fingerprint(),
        f => f.to_owned(),
    };
    let mut state = JobState {
        schema_id: STATE_SCHEMA_ID.into(),
        schema_version: SCHEMA_VERSION.into(),
        created_at: now,
        updated_at: now,
        producer_version: req.producer_version.trim().to_owned(),
        job_id,
        environment_fingerprint: fp,
        policy_digest: policy.digest.unwrap_or_default(),
        policy_ref: policy.reference.unwrap_or_default(),
        identity: identity.to_owned(),
        revision: 1,
        ..JobState::default()
    };
    set(
        &mut state,
        Status::Running,
        StopReason::None,
        EventType::Submitted.as_str(),
    );
    state.safety_invariant_version = invariants::SAFETY_INVARIANT_VERSION.into();
    state.safety_invariants = invariants::safety_invariants(&state);
    state.safety_invariant_hash = invariants::safety_invariant_hash(&state.safety_invariants);
    let mut payload = Map::new();
    payload.insert(
        "environment_fingerprint".into(),
        state.environment_fingerprint.clone().into(),
    );
    for (k, v) in [
        ("policy_digest", &state.policy_digest),
        ("policy_ref", &state.policy_ref),
        ("identity", &state.identity),
    ] {
        if !v.is_empty() {
            payload.insert(k.into(), v.clone().into());
        }
    }
    let ev = event(
        &state,
        EventType::Submitted,
        actor,
        EventType::Submitted.as_str(),
        payload,
        now,
    );
    Ok((state, ev))
}

/// Whether every decision-needed checkpoint has its own approval recorded
/// at or after it (and a `decision_needed` status with no decision
/// checkpoint has at least one approval).
pub fn decisions_approved(state: &JobState) -> bool {
    let mut decisions: Vec<i128> = state
        .checkpoints
        .iter()
        .filter(|c| c.checkpoint_type.trim() == CheckpointType::DecisionNeeded.as_str())
        .map(|c| c.created_at.unix_nanos())
        .collect();
    let mut approvals: Vec<i128> = state
        .approvals
        .iter()
        .map(|a| a.created_at.unix_nanos())
        .collect();
    if decisions.is_empty() {
        return state.status() != Some(Status::DecisionNeeded) || !approvals.is_empty();
    }
    decisions.sort_unstable();
    approvals.sort_unstable();
    let mut next = approvals.iter();
    decisions.iter().all(|d| next.by_ref().any(|a| a >= d))
}

/// Applies `op` to `state` at `now`: the new state (revision + 1,
/// `updated_at` = now) and its event, or why the operation is refused.
///
/// # Errors
///
/// [`JobError::InvalidTransition`], [`JobError::NotResumable`], the resume
/// gates' errors, [`JobError::ApprovalActorRequired`],
/// [`JobError::NotStopped`], [`JobError::RevisionOverflow`].
pub fn apply(state: &JobState, op: &Operation, now: GoTime) -> Result<Applied, JobError> {
    let status = state.status();
    let kind = op.event_type();
    let refuse = || JobError::InvalidTransition {
        event: kind.as_str(),
        from: state.status.clone(),
    };
    let legal = |from: &[Status]| status.is_some_and(|s| from.contains(&s));
    use Status::{Blocked, DecisionNeeded, EmergencyStopped, Paused, Running};
    let mut next = state.clone();
    next.revision = state
        .revision
        .checked_add(1)
        .ok_or(JobError::RevisionOverflow)?;
    next.updated_at = now;
    let mut payload = Map::new();
    let mut checkpoint = None;
    let (actor, code): (String, String) = match op {
        Operation::Pause { actor } => {
            if !legal(&[Running, DecisionNeeded]) {
                return Err(refuse());
            }
            set(&mut next, Paused, StopReason::PausedByUser, "paused");
            (actor.clone(), "paused".into())
        }
        Operation::Stop { actor } => {
            if !legal(&[Running, Paused, DecisionNeeded, Blocked]) {
                return Err(refuse());
            }
            let code = crate::REASON_EMERGENCY_STOP_PREEMPTED;
            set(
                &mut next,
                EmergencyStopped,
                StopReason::EmergencyStopped,
                code,
            );
            (actor.clone(), code.into())
        }
        Operation::Cancel { actor } => {
            if !legal(&[Running, Paused, DecisionNeeded, Blocked, EmergencyStopped]) {
                return Err(refuse());
            }
            set(
                &mut next,
                Status::Cancelled,
                StopReason::CancelledByUser,
                "cancelled",
            );
            (actor.clone(), "cancelled".into())
        }
        Operation::Approve { actor, reason } => {
            if actor.trim().is_empty() {
                return Err(JobError::ApprovalActorRequired);
            }
            if !legal(&[Running, Paused, DecisionNeeded, Blocked]) {
                return Err(refuse());
            }
            next.status_reason_code = "approval_recorded".into();
            next.approvals.push(JobApproval {
                created_at: now,
                actor: actor.clone(),
                reason: reason.clone(),
            });
            payload.insert("reason".into(), reason.clone().into());
            (actor.clone(), "approval_recorded".into())
        }
        Operation::Checkpoint(spec) => {
            if !legal(&[Running, Paused, DecisionNeeded, Blocked]) {
                return Err(refuse());
            }
            let n = state.checkpoints.len().saturating_add(1);
            let cp = JobCheckpoint {
                checkpoint_id: format!("cp_{n:04}"),
                created_at: now,
                checkpoint_type: spec.checkpoint_type.as_str().into(),
                summary: spec.summary.clone(),
                required_action: spec.required_action.clone(),
                reason_code: spec.checkpoint_type.reason_code().into(),
                actor: spec.actor.clone(),
            };
            if let Some((s, stop)) = spec.checkpoint_type.sets() {
                set(&mut next, s, stop, s.as_str());
            }
            payload.insert("checkpoint_id".into(), cp.checkpoint_id.clone().into());
            payload.insert(
                "checkpoint_type".into(),
                spec.checkpoint_type.as_str().into(),
            );
            payload.insert(
                "required_action".into(),
                spec.required_action.clone().into(),
            );
            next.checkpoints.push(cp.clone());
            checkpoint = Some(cp);
            (
                spec.actor.clone(),
                spec.checkpoint_type.reason_code().into(),
            )
        }
        Operation::Resume(r) => {
            let code = resume_gates(state, &mut next, r, &mut payload)?;
            (r.actor.clone(), code)
        }
        Operation::DispatchBlocked {
            actor,
            dispatch_path,
        } => {
            if !state.is_emergency_stopped() {
                return Err(JobError::NotStopped);
            }
            payload.insert("dispatch_path".into(), dispatch_path.clone().into());
            (actor.clone(), crate::REASON_EMERGENCY_STOP_PREEMPTED.into())
        }
    };
    let ev = event(&next, kind, &actor, &code, payload, now);
    Ok(Applied {
        state: next,
        event: ev,
        checkpoint,
    })
}

/// Gates 2–6 of §2.6 in order; on success updates `next` and the payload
/// and returns the reason code.
fn resume_gates(
    state: &JobState,
    next: &mut JobState,
    r: &ResumeInputs,
    payload: &mut Map<String, Value>,
) -> Result<String, JobError> {
    // 2. Transition.
    if !matches!(
        state.status(),
        Some(Status::Paused | Status::DecisionNeeded | Status::Blocked)
    ) {
        return Err(JobError::NotResumable);
    }
    // 3. Approvals, each bound to its decision.
    if !decisions_approved(state) {
        return Err(JobError::ApprovalRequired);
    }
    // 4. Policy.
    let prev_digest = state.policy_digest.trim().to_owned();
    let prev_ref = state.policy_ref.trim().to_owned();
    let policy_required = r.policy.digest.is_some()
        || r.policy.reference.is_some()
        || !prev_digest.is_empty()
        || !prev_ref.is_empty();
    let mut policy_changed = false;
    if policy_required {
        let Some(digest) = &r.policy.digest else {
            return Err(JobError::PolicyEvaluationRequired);
        };
        policy_changed = !prev_digest.is_empty() && &prev_digest != digest;
        next.policy_digest = digest.clone();
    }
    if let Some(reference) = &r.policy.reference {
        next.policy_ref = reference.clone();
    }
    // 5. Identity.
    let bound = state.identity.trim().to_owned();
    if !bound.is_empty() && !r.identity.is_empty() && bound != r.identity {
        return Err(JobError::IdentityBindingMismatch {
            expected: bound,
            provided: r.identity.clone(),
        });
    }
    let identity = if r.identity.is_empty() {
        bound.clone()
    } else {
        r.identity.clone()
    };
    let identity_required = !r.identity.is_empty() || r.revoked.is_some() || !bound.is_empty();
    if identity_required && identity.is_empty() {
        return Err(JobError::IdentityValidationRequired);
    }
    let listed = r.revoked.as_ref().is_some_and(|l| l.contains(&identity));
    if !identity.is_empty() && (r.identity_revoked || listed) {
        return Err(JobError::IdentityRevoked(identity));
    }
    if bound.is_empty() && !identity.is_empty() {
        next.identity = identity.clone();
    }
    // 6. Environment.
    let expected = state.environment_fingerprint.trim().to_owned();
    let actual = r.environment_fingerprint.clone();
    let mismatch = !expected.is_empty() && expected != actual;
    if mismatch && !r.allow_env_mismatch {
        return Err(JobError::EnvironmentMismatch { expected, actual });
    }
    let code = match (mismatch, policy_changed) {
        (false, false) => "resumed",
        (false, true) => "resumed_with_policy_transition",
        (true, false) => "resumed_with_env_override",
        (true, true) => "resumed_with_env_override_policy_transition",
    };
    set(next, Status::Running, StopReason::None, code);
    let mut put = |k: &str, v: Value| {
        payload.insert(k.to_owned(), v);
    };
    put("reason", r.reason.clone().into());
    if !expected.is_empty() {
        put("expected_fingerprint", expected.into());
    }
    if !actual.is_empty() {
        put("actual_fingerprint", actual.into());
    }
    if policy_required {
        put("policy_evaluation_required", true.into());
    }
    if !prev_digest.is_empty() || !next.policy_digest.is_empty() {
        put("previous_policy_digest", prev_digest.into());
        put("current_policy_digest", next.policy_digest.clone().into());
        put("policy_changed", policy_changed.into());
    }
    if !prev_ref.is_empty() || !next.policy_ref.is_empty() {
        put("previous_policy_ref", prev_ref.into());
        put("current_policy_ref", next.policy_ref.clone().into());
    }
    if identity_required {
        put("identity_validation_required", true.into());
    }
    if !identity.is_empty() {
        put("identity", identity.into());
    }
    if !r.identity_validation_source.is_empty() {
        put(
            "identity_validation_source",
            r.identity_validation_source.clone().into(),
        );
    }
    Ok(code.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn t(s: i64) -> GoTime {
        GoTime::from_unix(1_800_000_000 + s, 0)
    }

    fn job() -> JobState {
        submit(
            &SubmitRequest {
                job_id: "j".into(),
                environment_fingerprint: "fp".into(),
                ..SubmitRequest::default()
            },
            t(0),
        )
        .unwrap()
        .0
    }

    fn resume() -> Operation {
        Operation::Resume(
            ResumeRequest {
                environment_fingerprint: "fp".into(),
                ..ResumeRequest::default()
            }
            .resolve()
            .unwrap(),
        )
    }

    fn cp(kind: &str) -> Operation {
        Operation::Checkpoint(
            CheckpointRequest {
                checkpoint_type: kind.into(),
                summary: "s".into(),
                required_action: "a".into(),
                actor: String::new(),
            }
            .validate()
            .unwrap(),
        )
    }

    #[test]
    fn stop_is_final_except_for_cancel() {
        let s = apply(&job(), &Operation::stop("secops"), t(1))
            .unwrap()
            .state;
        assert_eq!(s.status(), Some(Status::EmergencyStopped));
        for op in [
            cp("decision-needed"),
            cp("progress"),
            Operation::approve("r", ""),
            Operation::pause(""),
            Operation::stop(""),
            resume(),
        ] {
            let e = apply(&s, &op, t(2)).unwrap_err();
            assert!(
                matches!(
                    e,
                    JobError::InvalidTransition { .. } | JobError::NotResumable
                ),
                "{op:?}: {e}"
            );
        }
        let c = apply(&s, &Operation::cancel(""), t(3)).unwrap().state;
        assert_eq!(c.status(), Some(Status::Cancelled));
    }

    #[test]
    fn an_approval_before_the_decision_does_not_count() {
        let s = apply(&job(), &Operation::approve("early", ""), t(1))
            .unwrap()
            .state;
        let s = apply(&s, &cp("decision-needed"), t(2)).unwrap().state;
        assert!(matches!(
            apply(&s, &resume(), t(3)),
            Err(JobError::ApprovalRequired)
        ));
        let s = apply(&s, &Operation::approve("late", ""), t(4))
            .unwrap()
            .state;
        assert_eq!(
            apply(&s, &resume(), t(5)).unwrap().state.status(),
            Some(Status::Running)
        );
    }

    #[test]
    fn revocation_lists_in_three_forms() {
        let want: BTreeSet<String> = ["a".to_owned(), "b".to_owned()].into();
        assert_eq!(parse_revocations(b"# x\n a \n\nb\n").unwrap(), want);
        assert_eq!(parse_revocations(br#"["a"," b "]"#).unwrap(), want);
        assert_eq!(
            parse_revocations(br#"{"revoked_identities":["a"],"identities":["b"]}"#).unwrap(),
            want
        );
        assert!(parse_revocations(b"").unwrap().is_empty());
        assert!(parse_revocations(br#"{"identities":7}"#).is_err());
    }

    #[test]
    fn policy_digests_are_normalized_and_checked() {
        let d = "AB".repeat(32);
        let b = PolicyInput {
            digest: Some(format!("sha256:{d}")),
            ..PolicyInput::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(b.digest, Some("ab".repeat(32)));
        assert!(matches!(
            PolicyInput {
                digest: Some("nothex".into()),
                ..PolicyInput::default()
            }
            .resolve(),
            Err(JobError::InvalidPolicyDigest(_))
        ));
    }
}
