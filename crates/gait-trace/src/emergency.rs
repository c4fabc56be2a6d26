//! Emergency stops by job: the decision core's view of the job runtime.
//!
//! A call whose intent names `context.job_id` is checked against that
//! job's state when the decision core has a job store
//! ([`crate::Decider::with_job_store`]): an emergency-stopped job blocks the
//! call (`emergency_stop_preempted`), and a job whose state cannot be read
//! blocks it too (`emergency_stop_state_unavailable`). Both carry the
//! violation `emergency_stop_active`.
//!
//! [`FileJobStore`] is the job runtime itself ([`gait_job::JobRuntime`]):
//! the same reader (a half-finished mutation is settled under the job's
//! lock before the state is trusted) and the same commit protocol (a
//! refused dispatch is a `dispatch_blocked` event, revision + 1). There is
//! no second implementation of the job folders here.

use std::path::{Path, PathBuf};

use gait_job::JobRuntime;

pub use gait_job::{
    JobError, REASON_EMERGENCY_STOP_PREEMPTED, REASON_EMERGENCY_STOP_STATE_UNAVAILABLE,
    VIOLATION_EMERGENCY_STOP_ACTIVE,
};

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
    runtime: JobRuntime,
}

impl FileJobStore {
    /// Jobs under `root` (`./gait-out/jobs` by default at the boundaries).
    /// A relative root is made absolute against the current directory.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(gait_job::DEFAULT_JOB_ROOT)
        } else {
            root
        };
        let root = std::path::absolute(&root).unwrap_or(root);
        Self {
            runtime: JobRuntime::new(root),
        }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        self.runtime.root()
    }

    /// The job's `safety_invariant_version` and `safety_invariant_hash`
    /// (trimmed), when `job_id` is valid, its state reads and both are
    /// set (session journals record them with each decision).
    pub fn safety_invariant(&self, job_id: &str) -> Option<(String, String)> {
        let state = self.runtime.status(job_id.trim()).ok()?;
        let version = state.safety_invariant_version.trim();
        let hash = state.safety_invariant_hash.trim();
        (!version.is_empty() && !hash.is_empty()).then(|| (version.to_owned(), hash.to_owned()))
    }
}

impl JobStore for FileJobStore {
    fn status(&self, job_id: &str) -> JobStatus {
        match self.runtime.status(job_id) {
            Ok(state) if state.is_emergency_stopped() => JobStatus::Stopped(state.job_id),
            Ok(_) => JobStatus::Running,
            Err(e) => JobStatus::Unavailable(e),
        }
    }

    fn record_blocked_dispatch(
        &self,
        job_id: &str,
        actor: &str,
        dispatch_path: &str,
    ) -> Result<(), JobError> {
        self.runtime
            .record_blocked_dispatch(job_id, actor, dispatch_path)
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use std::fs;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    use super::*;

    fn stopped_state(id: &str, revision: i64) -> String {
        format!(
            r#"{{"schema_id":"gait.job.runtime","schema_version":"1.0.0","job_id":"{id}","status":"emergency_stopped","stop_reason":"emergency_stopped","revision":{revision},"checkpoints":[]}}"#
        )
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
        assert_eq!(state["status"], "emergency_stopped");
        let events = fs::read_to_string(dir.path().join("j1/events.jsonl")).unwrap();
        let event: Value = serde_json::from_str(events.trim()).unwrap();
        assert_eq!(event["type"], "dispatch_blocked");
        assert_eq!(event["revision"], 4);
        assert_eq!(event["actor"], "mcp-proxy");
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
