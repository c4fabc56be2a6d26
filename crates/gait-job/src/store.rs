//! The job folders on disk and the commit protocol (§2.1, §2.9).
//!
//! Every mutation takes the job's lock (`state.json.lock`), settles a
//! pending mutation left by a crash, reads the state, decides, then
//! commits: marker (`pending_mutation.json`) → state → event line →
//! marker removed. A crash at any point is settled by the next access:
//! the marker's event in the log rolls the state forward, otherwise the
//! previous state is restored (or, for a submit, the state removed).

use std::fs;
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use gait_digest::GoTime;

use crate::JobError;
use crate::lock::{APPEND_LOCK, HeldLock, STATE_LOCK};
use crate::model::{
    JobCheckpoint, JobEvent, JobState, PENDING_SCHEMA_ID, PendingMutation, SCHEMA_VERSION,
    encode_go, parse_events,
};
use crate::ops::{self, Applied, CheckpointRequest, Operation, ResumeRequest, SubmitRequest};

/// The default job root.
pub const DEFAULT_JOB_ROOT: &str = "./gait-out/jobs";
/// `state.json`.
pub const STATE_FILE: &str = "state.json";
/// `events.jsonl`.
pub const EVENTS_FILE: &str = "events.jsonl";
/// `pending_mutation.json`.
pub const PENDING_FILE: &str = "pending_mutation.json";
/// `state.json.lock`.
pub const STATE_LOCK_FILE: &str = "state.json.lock";
/// `events.jsonl.lock`.
pub const EVENTS_LOCK_FILE: &str = "events.jsonl.lock";
/// Largest state, marker or event log read (64 MiB).
pub const MAX_JOB_FILE_BYTES: u64 = 64 << 20;

/// Whether `id` matches `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`.
pub fn is_valid_job_id(id: &str) -> bool {
    let b = id.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    b.len() <= 128
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

/// The trimmed id, or why it is refused (before any I/O).
pub(crate) fn check_job_id(id: &str) -> Result<String, JobError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(JobError::JobIdRequired);
    }
    if !is_valid_job_id(id) {
        return Err(JobError::InvalidJobId);
    }
    // The pattern allows `..` inside an id (`a..b`) but no separator, so the
    // folder is always a direct child of the root; a name made only of
    // dots cannot match (the first character is alphanumeric).
    Ok(id.to_owned())
}

/// Where a commit stops early (tests simulate crashes with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitPoint {
    /// After the marker is written.
    Marker,
    /// After the state is written.
    State,
    /// After the event is appended.
    Event,
}

/// The job runtime over one root: every read and mutation of job folders
/// goes through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRuntime {
    root: PathBuf,
}

impl JobRuntime {
    /// Jobs under `root` (blank: `./gait-out/jobs`).
    pub fn new(root: impl Into<PathBuf>) -> JobRuntime {
        let root = root.into();
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(DEFAULT_JOB_ROOT)
        } else {
            root
        };
        JobRuntime { root }
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a job (`<root>/<id>`), the id checked first.
    ///
    /// # Errors
    ///
    /// [`JobError::JobIdRequired`], [`JobError::InvalidJobId`].
    pub fn job_dir(&self, job_id: &str) -> Result<PathBuf, JobError> {
        Ok(self.root.join(check_job_id(job_id)?))
    }

    /// `job submit`: a new job, running, revision 1.
    ///
    /// # Errors
    ///
    /// Invalid id or policy (before anything is written),
    /// [`JobError::AlreadyExists`], lock and write errors.
    pub fn submit(&self, req: &SubmitRequest) -> Result<JobState, JobError> {
        self.submit_at(req, GoTime::now_utc(), None)
    }

    pub(crate) fn submit_at(
        &self,
        req: &SubmitRequest,
        now: GoTime,
        crash: Option<CommitPoint>,
    ) -> Result<JobState, JobError> {
        let (state, event) = ops::submit(req, now)?;
        let dir = self.root.join(&state.job_id);
        gait_sign::create_private_dir(&dir).map_err(|source| JobError::Write {
            path: dir.clone(),
            source,
        })?;
        let _lock = HeldLock::acquire(&dir.join(STATE_LOCK_FILE), STATE_LOCK)?;
        recover(&dir, &state.job_id)?;
        // A folder with a state, or with events but no state (a state
        // removed by hand), holds a job: a new submit would reuse its
        // revisions.
        let has_events = read_bounded(&dir.join(EVENTS_FILE), "job events")?
            .is_some_and(|b| !b.trim_ascii().is_empty());
        if dir.join(STATE_FILE).exists() || has_events {
            return Err(JobError::AlreadyExists(state.job_id));
        }
        commit(&dir, None, &state, &event, now, crash)?;
        Ok(state)
    }

    /// The job's state (`job status`), after settling a pending mutation.
    ///
    /// # Errors
    ///
    /// [`JobError::NotFound`], parse errors, an invalid marker.
    pub fn status(&self, job_id: &str) -> Result<JobState, JobError> {
        let (dir, id) = self.existing(job_id)?;
        settle_for_read(&dir, &id)?;
        read_state(&dir)
    }

    /// The state and every event (`job inspect`, `pack build --type job`).
    ///
    /// # Errors
    ///
    /// As [`JobRuntime::status`], and an unreadable event log.
    pub fn inspect(&self, job_id: &str) -> Result<(JobState, Vec<JobEvent>), JobError> {
        let (dir, id) = self.existing(job_id)?;
        settle_for_read(&dir, &id)?;
        let state = read_state(&dir)?;
        let events = read_events(&dir)?;
        Ok((state, events))
    }

    /// The checkpoints, sorted by id (`job checkpoint list`).
    ///
    /// # Errors
    ///
    /// As [`JobRuntime::status`].
    pub fn checkpoints(&self, job_id: &str) -> Result<Vec<JobCheckpoint>, JobError> {
        let mut cps = self.status(job_id)?.checkpoints;
        cps.sort_by(|a, b| a.checkpoint_id.cmp(&b.checkpoint_id));
        Ok(cps)
    }

    /// One checkpoint (`job checkpoint show`).
    ///
    /// # Errors
    ///
    /// As [`JobRuntime::status`]; [`JobError::CheckpointNotFound`].
    pub fn checkpoint(&self, job_id: &str, checkpoint_id: &str) -> Result<JobCheckpoint, JobError> {
        let want = checkpoint_id.trim();
        self.status(job_id)?
            .checkpoints
            .into_iter()
            .find(|c| !want.is_empty() && c.checkpoint_id == want)
            .ok_or_else(|| JobError::CheckpointNotFound(want.to_owned()))
    }

    /// `job checkpoint add`.
    ///
    /// # Errors
    ///
    /// [`JobError::InvalidCheckpoint`] (before the job is touched), then as
    /// [`JobRuntime::apply`].
    pub fn add_checkpoint(
        &self,
        job_id: &str,
        req: &CheckpointRequest,
    ) -> Result<Applied, JobError> {
        let spec = req.validate()?;
        self.apply(job_id, &Operation::Checkpoint(spec))
    }

    /// `job resume`: the command-line inputs resolved first (policy loaded,
    /// revocations read), then the gates under the lock.
    ///
    /// # Errors
    ///
    /// The gates' errors in the order of §2.6; as [`JobRuntime::apply`].
    pub fn resume(&self, job_id: &str, req: &ResumeRequest) -> Result<Applied, JobError> {
        check_job_id(job_id)?;
        let inputs = req.resolve()?;
        self.apply(job_id, &Operation::Resume(inputs))
    }

    /// Records that a tool call for the emergency-stopped job was refused
    /// (a `dispatch_blocked` event; status unchanged, revision + 1).
    ///
    /// # Errors
    ///
    /// [`JobError::NotStopped`] when the job is no longer stopped; as
    /// [`JobRuntime::apply`].
    pub fn record_blocked_dispatch(
        &self,
        job_id: &str,
        actor: &str,
        dispatch_path: &str,
    ) -> Result<JobState, JobError> {
        self.apply(job_id, &Operation::dispatch_blocked(actor, dispatch_path))
            .map(|a| a.state)
    }

    /// Writes a whole job whose history is known in advance (a demo, a
    /// fixture): `events.jsonl` then `state.json`, each replaced
    /// atomically, under the job's lock, with the runtime's encoding. A
    /// pending mutation of an earlier job in the folder is discarded.
    /// Normal changes go through [`JobRuntime::apply`].
    ///
    /// # Errors
    ///
    /// An invalid id; an event of another job or a state whose revision
    /// is not its last event's ([`JobError::InvalidSnapshot`]); lock and
    /// write errors.
    pub fn write_snapshot(
        &self,
        state: &JobState,
        events: &[JobEvent],
    ) -> Result<PathBuf, JobError> {
        let id = check_job_id(&state.job_id)?;
        if events.iter().any(|e| e.job_id.trim() != id) {
            return Err(JobError::InvalidSnapshot("an event names another job"));
        }
        if events.last().map(|e| e.revision) != Some(state.revision) {
            return Err(JobError::InvalidSnapshot(
                "the state's revision is not its last event's",
            ));
        }
        let dir = self.root.join(&id);
        gait_sign::create_private_dir(&dir).map_err(|source| JobError::Write {
            path: dir.clone(),
            source,
        })?;
        let _lock = HeldLock::acquire(&dir.join(STATE_LOCK_FILE), STATE_LOCK)?;
        let mut log = Vec::new();
        for e in events {
            log.extend(encode_go(e, "job event", false)?);
            log.push(b'\n');
        }
        let path = dir.join(EVENTS_FILE);
        gait_sign::write_file_atomic(&path, &log, gait_sign::PRIVATE_FILE_MODE, true)
            .map_err(|source| JobError::Write { path, source })?;
        write_state(&dir, state)?;
        remove(&dir.join(PENDING_FILE))?;
        Ok(dir)
    }

    /// Applies one mutation under the job's lock with the commit protocol.
    /// A refusal writes nothing.
    ///
    /// # Errors
    ///
    /// [`JobError::NotFound`] for an unknown job; the operation's refusal;
    /// lock, read and write errors.
    pub fn apply(&self, job_id: &str, op: &Operation) -> Result<Applied, JobError> {
        self.apply_at(job_id, op, GoTime::now_utc(), None)
    }

    pub(crate) fn apply_at(
        &self,
        job_id: &str,
        op: &Operation,
        now: GoTime,
        crash: Option<CommitPoint>,
    ) -> Result<Applied, JobError> {
        let (dir, id) = self.existing(job_id)?;
        let _lock = HeldLock::acquire(&dir.join(STATE_LOCK_FILE), STATE_LOCK)?;
        recover(&dir, &id)?;
        let previous = read_state(&dir)?;
        let applied = ops::apply(&previous, op, now)?;
        commit(
            &dir,
            Some(&previous),
            &applied.state,
            &applied.event,
            now,
            crash,
        )?;
        Ok(applied)
    }

    /// The folder of an existing job (its folder must exist: a mutation of
    /// an unknown job is `job not found`, not a lock error).
    fn existing(&self, job_id: &str) -> Result<(PathBuf, String), JobError> {
        let id = check_job_id(job_id)?;
        let dir = self.root.join(&id);
        if !dir.is_dir() {
            return Err(JobError::NotFound);
        }
        Ok((dir, id))
    }
}

fn read_bounded(path: &Path, what: &'static str) -> Result<Option<Vec<u8>>, JobError> {
    match gait_sign::read_regular_file_limited(path, MAX_JOB_FILE_BYTES) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(JobError::Read { what, source }),
    }
}

/// Reads and checks `state.json`: missing is `job not found`, an empty
/// `job_id` is refused, the invariant ledger is filled in.
pub(crate) fn read_state(dir: &Path) -> Result<JobState, JobError> {
    let bytes = read_bounded(&dir.join(STATE_FILE), "job state")?.ok_or(JobError::NotFound)?;
    let mut state = JobState::parse(&bytes)?;
    let id = state.job_id.trim();
    if id.is_empty() {
        return Err(JobError::MissingJobId);
    }
    // The inner id need not equal the folder's (the reference reads such a
    // state, and an emergency stop in it must still stop calls naming the
    // folder); events are recorded under the inner id.
    state.fill_defaults();
    Ok(state)
}

/// The complete lines of `events.jsonl` (a last line without its newline
/// is an append in progress or torn by a crash, and not an event yet).
fn complete_lines(bytes: &[u8]) -> &[u8] {
    match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => bytes.get(..=i).unwrap_or_default(),
        None => &[],
    }
}

pub(crate) fn read_events(dir: &Path) -> Result<Vec<JobEvent>, JobError> {
    match read_bounded(&dir.join(EVENTS_FILE), "job events")? {
        Some(bytes) => parse_events(complete_lines(&bytes)),
        None => Ok(Vec::new()),
    }
}

/// Reads settle a marker under the lock, and take no lock otherwise.
fn settle_for_read(dir: &Path, id: &str) -> Result<(), JobError> {
    if dir.join(PENDING_FILE).exists() {
        let _lock = HeldLock::acquire(&dir.join(STATE_LOCK_FILE), STATE_LOCK)?;
        recover(dir, id)?;
    }
    Ok(())
}

fn write_state(dir: &Path, state: &JobState) -> Result<(), JobError> {
    let path = dir.join(STATE_FILE);
    let bytes = encode_go(state, "job state", true)?;
    gait_sign::write_file_atomic(&path, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|source| JobError::Write { path, source })
}

fn remove(path: &Path) -> Result<(), JobError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(JobError::Io {
            action: "remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Cuts a torn last line (a crashed append) off `events.jsonl`. Only
/// called under the job's lock, where no append can be in progress.
fn trim_torn_tail(dir: &Path) -> Result<(), JobError> {
    let path = dir.join(EVENTS_FILE);
    let Some(bytes) = read_bounded(&path, "job events")? else {
        return Ok(());
    };
    if bytes.is_empty() || bytes.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = complete_lines(&bytes).len() as u64;
    let io = |source| JobError::Io {
        action: "truncate",
        path: path.clone(),
        source,
    };
    let f = fs::OpenOptions::new().write(true).open(&path).map_err(io)?;
    f.set_len(keep).map_err(io)?;
    f.sync_all().map_err(io)
}

fn log_has_revision(dir: &Path, revision: i64) -> Result<bool, JobError> {
    let Some(bytes) = read_bounded(&dir.join(EVENTS_FILE), "job events")? else {
        return Ok(false);
    };
    Ok(complete_lines(&bytes)
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .any(|e| e.get("revision").and_then(serde_json::Value::as_i64) == Some(revision)))
}

/// Settles a pending mutation (must hold the job's lock): roll forward when
/// its event is in the log, else roll back; then remove the marker.
pub(crate) fn recover(dir: &Path, folder_id: &str) -> Result<(), JobError> {
    trim_torn_tail(dir)?;
    let path = dir.join(PENDING_FILE);
    let Some(bytes) = read_bounded(&path, "pending mutation")? else {
        return Ok(());
    };
    let pending = PendingMutation::parse(&bytes)?;
    let same = |id: &str| id.trim() == folder_id;
    if !same(&pending.job_id) {
        return Err(JobError::InvalidPending(
            "job_id does not match the job folder",
        ));
    }
    if !same(&pending.updated_state.job_id) {
        return Err(JobError::InvalidPending(
            "updated_state job_id does not match the job folder",
        ));
    }
    if !same(&pending.event.job_id) {
        return Err(JobError::InvalidPending(
            "event job_id does not match the job folder",
        ));
    }
    if let Some(p) = &pending.previous_state {
        if !same(&p.job_id) {
            return Err(JobError::InvalidPending(
                "previous_state job_id does not match the job folder",
            ));
        }
    }
    if log_has_revision(dir, pending.event.revision)? {
        write_state(dir, &pending.updated_state)?;
    } else if let Some(p) = &pending.previous_state {
        write_state(dir, p)?;
    } else {
        remove(&dir.join(STATE_FILE))?;
    }
    remove(&path)
}

/// The commit of one mutation (must hold the job's lock).
fn commit(
    dir: &Path,
    previous: Option<&JobState>,
    updated: &JobState,
    event: &JobEvent,
    now: GoTime,
    crash: Option<CommitPoint>,
) -> Result<(), JobError> {
    let marker_path = dir.join(PENDING_FILE);
    let marker = PendingMutation {
        schema_id: PENDING_SCHEMA_ID.into(),
        schema_version: SCHEMA_VERSION.into(),
        created_at: now,
        job_id: updated.job_id.clone(),
        previous_state: previous.cloned(),
        updated_state: updated.clone(),
        event: event.clone(),
    };
    let bytes = encode_go(&marker, "pending mutation", true)?;
    gait_sign::write_file_atomic(&marker_path, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|source| JobError::Write {
            path: marker_path.clone(),
            source,
        })?;
    if crash == Some(CommitPoint::Marker) {
        return Ok(());
    }
    if previous != Some(updated) {
        if let Err(e) = write_state(dir, updated) {
            let _ = fs::remove_file(&marker_path);
            return Err(e);
        }
    }
    if crash == Some(CommitPoint::State) {
        return Ok(());
    }
    if let Err(e) = append_event(dir, event) {
        if !log_has_revision(dir, event.revision).unwrap_or(false) {
            let restored = match previous {
                Some(p) => write_state(dir, p),
                None => remove(&dir.join(STATE_FILE)),
            };
            if restored.is_ok() {
                let _ = fs::remove_file(&marker_path);
            }
        } else {
            let _ = fs::remove_file(&marker_path);
        }
        return Err(e);
    }
    if crash == Some(CommitPoint::Event) {
        return Ok(());
    }
    remove(&marker_path)
}

/// Appends one compact event line under `events.jsonl.lock`, synced.
fn append_event(dir: &Path, event: &JobEvent) -> Result<(), JobError> {
    let mut line = encode_go(event, "job event", false)?;
    line.push(b'\n');
    let _lock = HeldLock::acquire(&dir.join(EVENTS_LOCK_FILE), APPEND_LOCK)?;
    let mut opts = fs::OpenOptions::new();
    opts.create(true).read(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(gait_sign::PRIVATE_FILE_MODE);
    }
    let mut f = opts
        .open(dir.join(EVENTS_FILE))
        .map_err(JobError::AppendEvent)?;
    // A log that does not end with a newline (a torn line another writer
    // left) gets one first, so this event stays a line of its own.
    let len = f.metadata().map_err(JobError::AppendEvent)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(std::io::SeekFrom::Start(len - 1))
            .and_then(|_| f.read_exact(&mut last))
            .map_err(JobError::AppendEvent)?;
        if last != [b'\n'] {
            line.insert(0, b'\n');
        }
    }
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .map_err(JobError::AppendEvent)
}

/// A divergence `gait doctor` reports for a job folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DurabilityKind {
    /// A pending mutation marker is present.
    PendingMutation,
    /// Events without a state.
    MissingStateWithEvents,
    /// The state's revision is ahead of the last event's.
    StateAheadOfEventLog,
    /// The last event's revision is ahead of the state's.
    EventLogAheadOfState,
}

impl DurabilityKind {
    /// The reference's text.
    pub fn as_str(self) -> &'static str {
        match self {
            DurabilityKind::PendingMutation => "pending_mutation",
            DurabilityKind::MissingStateWithEvents => "missing_state_with_events",
            DurabilityKind::StateAheadOfEventLog => "state_ahead_of_event_log",
            DurabilityKind::EventLogAheadOfState => "event_log_ahead_of_state",
        }
    }
}

/// One job's divergence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DurabilityIssue {
    /// The job (its folder name).
    pub job_id: String,
    /// What diverges.
    pub kind: DurabilityKind,
}

impl std::fmt::Display for DurabilityIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.job_id, self.kind.as_str())
    }
}

/// Most job folders scanned by [`durability_issues`].
const MAX_SCANNED_JOBS: usize = 100_000;

/// Scans `<root>/*` (folders with valid ids) for half-finished commits,
/// without changing anything. Sorted by text (`<job>:<kind>`). A missing
/// root has none.
pub fn durability_issues(root: &Path) -> Vec<DurabilityIssue> {
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut issues = Vec::new();
    for entry in entries.flatten().take(MAX_SCANNED_JOBS) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        if !is_valid_job_id(&name) || !dir.is_dir() {
            continue;
        }
        let mut push = |kind| {
            issues.push(DurabilityIssue {
                job_id: name.clone(),
                kind,
            })
        };
        if dir.join(PENDING_FILE).exists() {
            push(DurabilityKind::PendingMutation);
        }
        let last_event = read_bounded(&dir.join(EVENTS_FILE), "job events")
            .ok()
            .flatten()
            .and_then(|b| {
                complete_lines(&b)
                    .split(|c| *c == b'\n')
                    .rev()
                    .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
                    .find_map(|e| e.get("revision").and_then(serde_json::Value::as_i64))
            });
        let state_revision = read_bounded(&dir.join(STATE_FILE), "job state")
            .ok()
            .flatten()
            .map(|b| {
                serde_json::from_slice::<serde_json::Value>(&b)
                    .ok()
                    .and_then(|s| s.get("revision").and_then(serde_json::Value::as_i64))
                    .unwrap_or(0)
            });
        match (state_revision, last_event) {
            (None, Some(_)) => push(DurabilityKind::MissingStateWithEvents),
            (Some(s), Some(e)) if s > e => push(DurabilityKind::StateAheadOfEventLog),
            (Some(s), None) if s > 0 => push(DurabilityKind::StateAheadOfEventLog),
            (Some(s), Some(e)) if e > s => push(DurabilityKind::EventLogAheadOfState),
            _ => {}
        }
    }
    issues.sort_by_key(ToString::to_string);
    issues
}

/// Reads the whole of a small file (tests).
#[cfg(test)]
pub(crate) fn read_text(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}
