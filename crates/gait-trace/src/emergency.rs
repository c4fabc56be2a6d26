//! Emergency stops by job: the decision core's view of the job runtime.
//!
//! A call whose intent names `context.job_id` is checked against that
//! job's state when the decision core has a job store
//! ([`crate::Decider::with_job_store`]): an emergency-stopped job blocks the
//! call (`emergency_stop_preempted`), and a job whose state cannot be read
//! blocks it too (`emergency_stop_state_unavailable`). Both carry the
//! violation `emergency_stop_active`.
//!
//! [`FileJobStore`] reads the job runtime's folders
//! (`<root>/<job_id>/state.json`, `events.jsonl`, `pending_mutation.json`)
//! with the runtime's own mutation protocol: a half-finished mutation is
//! settled under the job's lock before the state is trusted, and a refused
//! dispatch is recorded as a `dispatch_blocked` event with the state's
//! revision incremented.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use gait_digest::GoTime;
use serde::Serialize;
use serde_json::{Map, Value};

/// Reason code: the job is emergency-stopped.
pub const REASON_EMERGENCY_STOP_PREEMPTED: &str = "emergency_stop_preempted";
/// Reason code: the job's state could not be read.
pub const REASON_EMERGENCY_STOP_STATE_UNAVAILABLE: &str = "emergency_stop_state_unavailable";
/// Violation of both emergency-stop reasons.
pub const VIOLATION_EMERGENCY_STOP_ACTIVE: &str = "emergency_stop_active";

/// What the job store says of a job.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobStatus {
    /// The job is emergency-stopped; the string is the `job_id` recorded
    /// in its state.
    Stopped(String),
    /// The job exists and is not stopped.
    Running,
    /// The job's state could not be read (why).
    Unavailable(JobError),
}

/// Why a job's state could not be read or a refused dispatch could not be
/// recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The job id is not a job runtime id.
    #[error("job_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{{0,127}}$")]
    InvalidJobId,
    /// The job id would leave the job root.
    #[error("job path escapes the job root")]
    EscapesRoot,
    /// The job has no folder or no state.
    #[error("job not found")]
    NotFound,
    /// A job file could not be read.
    #[error("read {what}: {source}")]
    Read {
        /// `job state` or `pending mutation`.
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
    /// The state names no job.
    #[error("job state has no job_id")]
    MissingJobId,
    /// The job was resumed before the refusal could be recorded.
    #[error("job is no longer emergency-stopped")]
    NotStopped,
    /// The state's revision cannot be incremented.
    #[error("job revision overflows")]
    RevisionOverflow,
    /// A pending mutation lacks its updated state or event.
    #[error("pending mutation is incomplete")]
    PendingIncomplete,
    /// A pending mutation names another job than its folder.
    #[error("pending mutation names another job")]
    PendingForeign,
    /// A pending mutation's event has no revision.
    #[error("pending mutation event has no revision")]
    PendingNoRevision,
    /// The event log could not be read.
    #[error("read job events: {0}")]
    ReadEvents(#[source] std::io::Error),
    /// The state could not be rolled back.
    #[error("roll back job state: {0}")]
    RollBack(#[source] std::io::Error),
    /// The pending mutation could not be removed.
    #[error("remove pending mutation: {0}")]
    RemovePending(#[source] std::io::Error),
    /// A document could not be encoded.
    #[error("{0}")]
    Encode(#[source] serde_json::Error),
    /// A job file could not be written.
    #[error("write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: gait_sign::Error,
    },
    /// The event could not be appended.
    #[error("append job event: {0}")]
    AppendEvent(#[source] std::io::Error),
    /// The job's lock could not be taken.
    #[error("state lock: {0}")]
    Lock(#[source] std::io::Error),
    /// The job's lock stayed taken.
    #[error("state contention: lock timeout")]
    LockTimeout,
    /// Another [`JobStore`] implementation's error.
    #[error("{0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where the decision core looks up jobs. Implementations must fail
/// closed: anything they cannot establish is [`JobStatus::Unavailable`].
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// The status of `job_id`.
    fn status(&self, job_id: &str) -> JobStatus;

    /// Records that a dispatch of a call for the stopped job `job_id` was
    /// refused at `dispatch_path` by `actor`.
    ///
    /// # Errors
    ///
    /// Why the record could not be written (the call stays blocked).
    fn record_blocked_dispatch(
        &self,
        job_id: &str,
        actor: &str,
        dispatch_path: &str,
    ) -> Result<(), JobError>;
}

/// The job runtime's folders under one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJobStore {
    root: PathBuf,
}

const LOCK_RETRY: Duration = Duration::from_millis(10);
const LOCK_STALE: Duration = Duration::from_secs(30);
const LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest state, pending-mutation or event log file read.
const MAX_JOB_FILE_BYTES: u64 = 16 << 20;

impl FileJobStore {
    /// Jobs under `root` (`./gait-out/jobs` by default at the boundaries).
    /// A relative root is made absolute against the current directory.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.as_os_str().is_empty() {
            PathBuf::from("./gait-out/jobs")
        } else {
            root
        };
        let root = std::path::absolute(&root).unwrap_or(root);
        Self { root }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The job's `safety_invariant_version` and `safety_invariant_hash`
    /// (trimmed), when `job_id` is valid, its state reads and both are
    /// set (session journals record them with each decision).
    pub fn safety_invariant(&self, job_id: &str) -> Option<(String, String)> {
        let dir = self.job_dir(job_id.trim()).ok()?;
        let state = read_state(&dir).ok()?;
        let get = |k: &str| {
            state
                .get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        let (version, hash) = (
            get("safety_invariant_version"),
            get("safety_invariant_hash"),
        );
        (!version.is_empty() && !hash.is_empty()).then_some((version, hash))
    }

    fn job_dir(&self, job_id: &str) -> Result<PathBuf, JobError> {
        if !valid_job_id(job_id) {
            return Err(JobError::InvalidJobId);
        }
        if job_id == "." || job_id == ".." || job_id.contains("..") {
            return Err(JobError::EscapesRoot);
        }
        Ok(self.root.join(job_id))
    }

    fn read_status(&self, job_id: &str) -> Result<JobStatus, JobError> {
        let dir = self.job_dir(job_id)?;
        if dir.join(PENDING).exists() {
            let _lock = JobLock::acquire(&dir)?;
            settle_pending(&dir, job_id)?;
        }
        let state = read_state(&dir)?;
        Ok(if is_stopped(&state) {
            JobStatus::Stopped(state_job_id(&state)?)
        } else {
            JobStatus::Running
        })
    }

    fn record(&self, job_id: &str, actor: &str, dispatch_path: &str) -> Result<(), JobError> {
        let dir = self.job_dir(job_id)?;
        let _lock = JobLock::acquire(&dir)?;
        settle_pending(&dir, job_id)?;
        let previous = read_state(&dir)?;
        if !is_stopped(&previous) {
            return Err(JobError::NotStopped);
        }
        let state_id = state_job_id(&previous)?;
        let revision = previous
            .get("revision")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            .checked_add(1)
            .ok_or(JobError::RevisionOverflow)?;
        let now = GoTime::now_utc().format();
        let mut updated = previous.clone();
        updated.insert("updated_at".into(), Value::String(now.clone()));
        updated.insert("revision".into(), Value::from(revision));
        let event = JobEvent {
            schema_id: "gait.job.event",
            schema_version: "1.0.0",
            created_at: now.clone(),
            job_id: state_id.clone(),
            revision,
            kind: "dispatch_blocked",
            actor,
            reason_code: REASON_EMERGENCY_STOP_PREEMPTED,
            payload: DispatchPayload { dispatch_path },
        };
        let pending = serde_json::json!({
            "schema_id": "gait.job.pending_mutation",
            "schema_version": "1.0.0",
            "created_at": now,
            "job_id": state_id,
            "previous_state": Value::Object(previous),
            "updated_state": Value::Object(updated.clone()),
            "event": event,
        });
        write_pretty(&dir.join(PENDING), &pending)?;
        write_pretty(&dir.join(STATE), &Value::Object(updated))?;
        append_event(&dir.join(EVENTS), &event)?;
        fs::remove_file(dir.join(PENDING)).map_err(JobError::RemovePending)
    }
}

impl JobStore for FileJobStore {
    fn status(&self, job_id: &str) -> JobStatus {
        match self.read_status(job_id.trim()) {
            Ok(s) => s,
            Err(e) => JobStatus::Unavailable(e),
        }
    }

    fn record_blocked_dispatch(
        &self,
        job_id: &str,
        actor: &str,
        dispatch_path: &str,
    ) -> Result<(), JobError> {
        self.record(job_id.trim(), actor, dispatch_path)
    }
}

const STATE: &str = "state.json";
const EVENTS: &str = "events.jsonl";
const PENDING: &str = "pending_mutation.json";

/// `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`
fn valid_job_id(id: &str) -> bool {
    let b = id.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    b.len() <= 128
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

#[derive(Serialize)]
struct DispatchPayload<'a> {
    dispatch_path: &'a str,
}

#[derive(Serialize)]
struct JobEvent<'a> {
    schema_id: &'static str,
    schema_version: &'static str,
    created_at: String,
    job_id: String,
    revision: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    actor: &'a str,
    reason_code: &'static str,
    payload: DispatchPayload<'a>,
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, std::io::Error> {
    use std::io::Read as _;
    let f = fs::File::open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut buf = Vec::new();
    f.take(MAX_JOB_FILE_BYTES + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_JOB_FILE_BYTES {
        return Err(std::io::Error::other("file too large"));
    }
    Ok(buf)
}

fn read_object(path: &Path, what: &'static str) -> Result<Map<String, Value>, JobError> {
    let bytes = read_bounded(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            JobError::NotFound
        } else {
            JobError::Read { what, source }
        }
    })?;
    match gait_digest::canonical::parse_strict(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(JobError::NotObject { what }),
        Err(source) => Err(JobError::Parse { what, source }),
    }
}

fn read_state(dir: &Path) -> Result<Map<String, Value>, JobError> {
    let state = read_object(&dir.join(STATE), "job state")?;
    state_job_id(&state)?;
    Ok(state)
}

fn state_job_id(state: &Map<String, Value>) -> Result<String, JobError> {
    match state.get("job_id").and_then(Value::as_str).map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err(JobError::MissingJobId),
    }
}

fn is_stopped(state: &Map<String, Value>) -> bool {
    let field = |k: &str| state.get(k).and_then(Value::as_str).map(str::trim);
    field("status") == Some("emergency_stopped")
        && field("stop_reason") == Some("emergency_stopped")
}

/// Settles a half-finished mutation: rolled forward when its event is in
/// the log, else rolled back. Must hold the job's lock.
fn settle_pending(dir: &Path, folder_id: &str) -> Result<(), JobError> {
    let path = dir.join(PENDING);
    let pending = match read_object(&path, "pending mutation") {
        Ok(p) => p,
        Err(JobError::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let id_of = |v: Option<&Value>| {
        v.and_then(|x| x.get("job_id"))
            .and_then(Value::as_str)
            .map(str::trim)
            .map(str::to_owned)
    };
    let named = pending.get("job_id").and_then(Value::as_str).map(str::trim);
    let updated = pending.get("updated_state").and_then(Value::as_object);
    let previous = pending.get("previous_state");
    let event = pending.get("event").and_then(Value::as_object);
    let (Some(updated), Some(event)) = (updated, event) else {
        return Err(JobError::PendingIncomplete);
    };
    let mut ids = vec![
        named.map(str::to_owned),
        id_of(Some(&Value::Object(updated.clone()))),
        event
            .get("job_id")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned()),
    ];
    if let Some(p) = previous.filter(|p| !p.is_null()) {
        ids.push(id_of(Some(p)));
    }
    if ids.iter().any(|id| id.as_deref() != Some(folder_id)) {
        return Err(JobError::PendingForeign);
    }
    let revision = event
        .get("revision")
        .and_then(Value::as_i64)
        .ok_or(JobError::PendingNoRevision)?;
    let applied = match read_bounded(&dir.join(EVENTS)) {
        Ok(bytes) => bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
            .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
            .any(|e| e.get("revision").and_then(Value::as_i64) == Some(revision)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(JobError::ReadEvents(e)),
    };
    if applied {
        write_pretty(&dir.join(STATE), &Value::Object(updated.clone()))?;
    } else if let Some(p) = previous.filter(|p| p.is_object()) {
        write_pretty(&dir.join(STATE), p)?;
    } else {
        match fs::remove_file(dir.join(STATE)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(JobError::RollBack(e)),
        }
    }
    fs::remove_file(&path).map_err(JobError::RemovePending)
}

fn write_pretty(path: &Path, value: &Value) -> Result<(), JobError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(JobError::Encode)?;
    bytes.push(b'\n');
    gait_sign::write_file_atomic(path, &bytes, gait_sign::PRIVATE_FILE_MODE, true).map_err(
        |source| JobError::Write {
            path: path.to_path_buf(),
            source,
        },
    )
}

fn append_event(path: &Path, event: &JobEvent<'_>) -> Result<(), JobError> {
    let mut line = serde_json::to_vec(event).map_err(JobError::Encode)?;
    line.push(b'\n');
    let mut opts = fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(gait_sign::PRIVATE_FILE_MODE);
    }
    let mut f = opts.open(path).map_err(JobError::AppendEvent)?;
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .map_err(JobError::AppendEvent)
}

/// The job runtime's lock: `state.json.lock`, created exclusively.
struct JobLock {
    path: PathBuf,
}

impl JobLock {
    fn acquire(dir: &Path) -> Result<Self, JobError> {
        let path = dir.join("state.json.lock");
        let started = Instant::now();
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > LOCK_STALE);
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(JobError::NotFound);
                }
                Err(e) => return Err(JobError::Lock(e)),
            }
            if started.elapsed() >= LOCK_TIMEOUT {
                return Err(JobError::LockTimeout);
            }
            std::thread::sleep(LOCK_RETRY);
        }
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn stopped_state(id: &str, revision: i64) -> String {
        format!(
            r#"{{"schema_id":"gait.job.runtime","schema_version":"1.0.0","job_id":"{id}","status":"emergency_stopped","stop_reason":"emergency_stopped","revision":{revision},"checkpoints":[]}}"#
        )
    }

    #[test]
    fn job_ids() {
        assert!(valid_job_id("job-1001"));
        assert!(valid_job_id("a.b:c_d"));
        assert!(!valid_job_id(""));
        assert!(!valid_job_id("-x"));
        assert!(!valid_job_id("a/b"));
        assert!(!valid_job_id(&"a".repeat(129)));
    }

    #[test]
    fn stopped_running_and_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileJobStore::new(dir.path());
        assert!(matches!(store.status("nope"), JobStatus::Unavailable(_)));
        assert!(matches!(store.status("../x"), JobStatus::Unavailable(_)));
        fs::create_dir_all(dir.path().join("j1")).unwrap();
        fs::write(dir.path().join("j1/state.json"), stopped_state("j1", 3)).unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Stopped(id) if id == "j1"));
        fs::write(
            dir.path().join("j1/state.json"),
            r#"{"job_id":"j1","status":"running"}"#,
        )
        .unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Running));
        fs::write(dir.path().join("j1/state.json"), r#"{"status":"running"}"#).unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Unavailable(_)));
        fs::write(dir.path().join("j1/state.json"), "{").unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Unavailable(_)));
    }

    #[test]
    fn dispatch_record_increments_revision_and_appends_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileJobStore::new(dir.path());
        fs::create_dir_all(dir.path().join("j1")).unwrap();
        fs::write(dir.path().join("j1/state.json"), stopped_state("j1", 3)).unwrap();
        store
            .record_blocked_dispatch("j1", "mcp-proxy", "mcp.proxy")
            .unwrap();
        let state: Value =
            serde_json::from_slice(&fs::read(dir.path().join("j1/state.json")).unwrap()).unwrap();
        assert_eq!(state["revision"], 4);
        let events = fs::read_to_string(dir.path().join("j1/events.jsonl")).unwrap();
        let event: Value = serde_json::from_str(events.trim()).unwrap();
        assert_eq!(event["type"], "dispatch_blocked");
        assert_eq!(event["revision"], 4);
        assert_eq!(event["payload"]["dispatch_path"], "mcp.proxy");
        assert!(!dir.path().join("j1/pending_mutation.json").exists());
        assert!(!dir.path().join("j1/state.json.lock").exists());
    }

    #[test]
    fn pending_mutations_are_settled_before_the_state_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileJobStore::new(dir.path());
        let job = dir.path().join("j1");
        fs::create_dir_all(&job).unwrap();
        // Not applied (no event): rolled back to the previous (stopped) state.
        fs::write(
            job.join("state.json"),
            r#"{"job_id":"j1","status":"running"}"#,
        )
        .unwrap();
        let pending = format!(
            r#"{{"job_id":"j1","previous_state":{},"updated_state":{{"job_id":"j1","status":"running"}},"event":{{"job_id":"j1","revision":4}}}}"#,
            stopped_state("j1", 3)
        );
        fs::write(job.join("pending_mutation.json"), &pending).unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Stopped(id) if id == "j1"));
        assert!(!job.join("pending_mutation.json").exists());
        // A pending mutation naming another job: unavailable.
        fs::write(
            job.join("pending_mutation.json"),
            pending.replacen("\"job_id\":\"j1\"", "\"job_id\":\"j2\"", 1),
        )
        .unwrap();
        assert!(matches!(store.status("j1"), JobStatus::Unavailable(_)));
    }

    #[test]
    fn a_held_lock_makes_settling_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileJobStore::new(dir.path());
        let job = dir.path().join("j1");
        fs::create_dir_all(&job).unwrap();
        fs::write(job.join("state.json"), stopped_state("j1", 3)).unwrap();
        fs::write(job.join("pending_mutation.json"), "{}").unwrap();
        fs::write(job.join("state.json.lock"), "1").unwrap();
        let started = Instant::now();
        assert!(matches!(store.status("j1"), JobStatus::Unavailable(_)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
