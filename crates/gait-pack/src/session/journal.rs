//! The journal operations: start, append, status, checkpoint, compact.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gait_digest::GoTime;
use serde::Serialize;
use serde_json::Value;

use super::checkpoint::{checkpoint_records, checkpoint_run_id, record_checkpoint, runpack_error};
use super::lock::{JournalLock, LockConfig};
use super::read::{JournalSnapshot, parse_journal, parse_journal_all};
use super::record::{
    EventInput, JournalHeader, SessionEvent, SessionState, checkpoint_relationship, to_value,
};
use super::{MAX_JOURNAL_BYTES, MAX_SIDE_FILE_BYTES, SessionError};
use crate::runpack::{
    DEFAULT_PRODUCER_VERSION, SESSION_CHAIN_SCHEMA_ID, SESSION_CHECKPOINT_SCHEMA_ID,
    SESSION_SCHEMA_VERSION, SessionChain, SessionCheckpoint, VerifyOptions, checkpoint_digest,
    verify_runpack_file,
};

/// A journal, runpack or chain path, checked as the reference does: the
/// text is trimmed and cleaned; empty, `.` and `/` are refused, and so is
/// a relative path with a `..` segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPath {
    text: String,
}

impl SessionPath {
    /// Checks and cleans `text`.
    ///
    /// # Errors
    ///
    /// [`SessionError::Invalid`]: `runpack output path is required`, or
    /// `relative runpack output path must not traverse parent directories`.
    pub fn new(text: &str) -> Result<Self, SessionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(SessionError::Invalid(
                "runpack output path is required".to_owned(),
            ));
        }
        let cleaned = gait_digest::clean_path(trimmed);
        if cleaned == "." || cleaned == "/" || cleaned.is_empty() {
            return Err(SessionError::Invalid(
                "runpack output path is required".to_owned(),
            ));
        }
        gait_digest::check_identifier("path", &cleaned)
            .map_err(|e| SessionError::Invalid(e.to_string()))?;
        let p = Path::new(&cleaned);
        if p.is_relative()
            && p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(SessionError::Invalid(
                "relative runpack output path must not traverse parent directories".to_owned(),
            ));
        }
        Ok(Self { text: cleaned })
    }

    /// The cleaned path text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path.
    pub fn as_path(&self) -> &Path {
        Path::new(&self.text)
    }
}

/// `<dir(J)>/<base(J) minus its last extension>_chain.json`.
pub fn chain_path_for(journal: &Path) -> PathBuf {
    let base = journal
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = match base.rfind('.') {
        Some(i) => base.get(..i).unwrap_or_default().to_owned(),
        None => base,
    };
    let name = format!("{stem}_chain.json");
    match journal.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

fn side_path(journal: &Path, suffix: &str) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// What `start` and `status` report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SessionStatus {
    /// The session.
    pub session_id: String,
    /// The session's run.
    pub run_id: String,
    /// The journal's creation time.
    pub created_at: GoTime,
    /// The session's start time.
    pub started_at: GoTime,
    /// Events in the journal file.
    pub event_count: i64,
    /// Checkpoints in the journal.
    pub checkpoint_count: i64,
    /// The last sequence used.
    pub last_sequence: i64,
}

impl SessionStatus {
    fn of(s: &SessionState) -> Self {
        Self {
            session_id: s.session_id.clone(),
            run_id: s.run_id.clone(),
            created_at: s.created_at,
            started_at: s.started_at,
            event_count: s.event_count,
            checkpoint_count: s.checkpoint_count,
            last_sequence: s.last_sequence,
        }
    }
}

/// What `checkpoint` did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckpointOutcome {
    /// The checkpoint record appended to the journal.
    pub checkpoint: SessionCheckpoint,
    /// The chain reported: `--chain-out` when given, else the default
    /// chain path.
    pub chain_path: PathBuf,
    /// The chain next to the journal (always rewritten).
    pub default_chain_path: PathBuf,
}

/// What `compact` did (or would do, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Compaction {
    /// The journal read.
    pub journal_path: String,
    /// Where the compacted journal goes.
    pub output_path: String,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// Whether the output differs from the journal (events dropped, other
    /// path, or other size).
    pub compacted: bool,
    /// Events before.
    pub events_before: i64,
    /// Events after.
    pub events_after: i64,
    /// Checkpoints (all kept).
    pub checkpoints: i64,
    /// The last checkpoint's `sequence_end` (0 when none).
    pub last_checkpoint_sequence: i64,
    /// Journal size before.
    pub bytes_before: i64,
    /// Output size.
    pub bytes_after: i64,
}

/// What [`SessionJournal::verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct JournalVerification {
    /// Checkpoints checked.
    pub checkpoints_checked: usize,
    /// Checkpoints whose events were compacted away (their runpacks are
    /// still checked against the record).
    pub compacted_checkpoints: usize,
    /// Every disagreement found.
    pub errors: Vec<String>,
}

impl JournalVerification {
    /// Whether nothing disagreed.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One session journal and its side files.
#[derive(Debug, Clone)]
pub struct SessionJournal {
    path: SessionPath,
    lock: LockConfig,
    producer: String,
    clock: Option<GoTime>,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn io_err(context: &'static str, path: &Path, source: std::io::Error) -> SessionError {
    SessionError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path, source: gait_sign::Error) -> SessionError {
    SessionError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn create_parent(path: &Path) -> Result<(), SessionError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        gait_sign::create_private_dir(dir).map_err(|e| write_err(dir, e))?;
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), SessionError> {
    create_parent(path)?;
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, overwrite)
        .map_err(|e| write_err(path, e))
}

fn line_of(record_type: &str, payload: Value) -> Result<Vec<u8>, SessionError> {
    let mut m = serde_json::Map::new();
    m.insert("record_type".into(), Value::String(record_type.to_owned()));
    m.insert(record_type.to_owned(), payload);
    let mut bytes = serde_json::to_vec(&Value::Object(m))
        .map_err(|e| SessionError::Invalid(format!("encode session record: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn pretty<T: Serialize>(v: &T) -> Result<Vec<u8>, SessionError> {
    let mut bytes = serde_json::to_vec_pretty(v)
        .map_err(|e| SessionError::Invalid(format!("encode session file: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl SessionJournal {
    /// The journal at `path`, with the standard lock profile and the
    /// default producer version.
    pub fn new(path: SessionPath) -> Self {
        Self {
            path,
            lock: LockConfig::default(),
            producer: DEFAULT_PRODUCER_VERSION.to_owned(),
            clock: None,
        }
    }

    /// Sets the lock configuration.
    #[must_use]
    pub fn with_lock_config(mut self, lock: LockConfig) -> Self {
        self.lock = lock;
        self
    }

    /// Sets the producer version written into records.
    #[must_use]
    pub fn with_producer_version(mut self, producer: &str) -> Self {
        producer.clone_into(&mut self.producer);
        self
    }

    /// Fixes the time written into records and runpacks (tests and
    /// reproducible checkpoints); the default is the current time.
    #[must_use]
    pub fn with_clock(mut self, now: GoTime) -> Self {
        self.clock = Some(now);
        self
    }

    /// The journal path (cleaned).
    pub fn path(&self) -> &SessionPath {
        &self.path
    }

    /// The default chain path next to the journal.
    pub fn chain_path(&self) -> PathBuf {
        chain_path_for(self.path.as_path())
    }

    /// The state cache path, `J.state.json`.
    pub fn state_path(&self) -> PathBuf {
        side_path(self.path.as_path(), ".state.json")
    }

    fn now(&self) -> GoTime {
        self.clock.unwrap_or_else(GoTime::now_utc)
    }

    fn journal(&self) -> &Path {
        self.path.as_path()
    }

    /// Fails with `open session journal: …` unless the journal is a file.
    fn require_journal(&self) -> Result<(), SessionError> {
        gait_sign::open_regular_file(self.journal())
            .map(drop)
            .map_err(|source| SessionError::Open {
                path: self.journal().to_path_buf(),
                source,
            })
    }

    /// Reads the journal strictly (bounded).
    fn read(&self) -> Result<JournalSnapshot, SessionError> {
        let bytes = gait_sign::read_regular_file_limited(self.journal(), MAX_JOURNAL_BYTES)
            .map_err(|source| SessionError::Open {
                path: self.journal().to_path_buf(),
                source,
            })?;
        parse_journal(self.journal(), &bytes)
    }

    /// Rewrites the state cache unless it already says what `snap` says.
    fn sync_state(
        &self,
        snap: &JournalSnapshot,
        force: bool,
    ) -> Result<SessionState, SessionError> {
        let state = snap.state(&self.producer, self.now());
        let path = self.state_path();
        if !force {
            let cached = gait_sign::read_regular_file_limited(&path, MAX_SIDE_FILE_BYTES)
                .ok()
                .and_then(|b| serde_json::from_slice::<SessionState>(&b).ok());
            if cached.is_some_and(|c| c.same_counters(&state)) {
                return Ok(state);
            }
        }
        write_atomic(&path, &pretty(&state)?, true)?;
        Ok(state)
    }

    /// Refuses an output path that names the journal or one of its side
    /// files (a runpack written over the journal would destroy it).
    fn refuse_side_file(&self, flag: &str, p: &SessionPath) -> Result<(), SessionError> {
        let j = self.journal();
        let taken = [
            j.to_path_buf(),
            self.state_path(),
            super::lock::lock_path(j),
            self.chain_path(),
        ];
        if taken.iter().any(|t| t.as_path() == p.as_path()) {
            return Err(SessionError::Invalid(format!(
                "{flag} {} would overwrite the session journal or one of its files",
                p.as_str()
            )));
        }
        Ok(())
    }

    /// Starts the session: writes the header and the cache of a new
    /// journal, or checks that an existing one belongs to `session_id` and
    /// `run_id` (idempotent). Parent directories are created (0750).
    ///
    /// # Errors
    ///
    /// [`SessionError::IdentityConflict`] for another session or run; the
    /// errors of strict reading, locking and writing.
    pub fn start(&self, session_id: &str, run_id: &str) -> Result<SessionStatus, SessionError> {
        let (session_id, run_id) = (session_id.trim(), run_id.trim());
        if session_id.is_empty() || run_id.is_empty() {
            return Err(SessionError::Invalid(
                "session id and run id are required".to_owned(),
            ));
        }
        for (field, v) in [("session_id", session_id), ("run_id", run_id)] {
            gait_digest::check_identifier(field, v)
                .map_err(|e| SessionError::Invalid(e.to_string()))?;
        }
        create_parent(self.journal())?;
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let exists = std::fs::symlink_metadata(self.journal()).is_ok();
        if exists {
            let snap = self.read()?;
            if snap.header.session_id != session_id || snap.header.run_id != run_id {
                return Err(SessionError::IdentityConflict {
                    path: self.journal().to_path_buf(),
                    session_id: snap.header.session_id,
                    run_id: snap.header.run_id,
                });
            }
            return Ok(SessionStatus::of(&self.sync_state(&snap, false)?));
        }
        let header = JournalHeader::new(session_id, run_id, &self.producer, self.now());
        let bytes = line_of("header", to_value(&header)?)?;
        write_atomic(self.journal(), &bytes, false)?;
        let snap = parse_journal(self.journal(), &bytes)?;
        Ok(SessionStatus::of(&self.sync_state(&snap, true)?))
    }

    /// The session's status (the cache is rewritten when it differs).
    ///
    /// # Errors
    ///
    /// The errors of strict reading and locking.
    pub fn status(&self) -> Result<SessionStatus, SessionError> {
        self.require_journal()?;
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let snap = self.read()?;
        Ok(SessionStatus::of(&self.sync_state(&snap, false)?))
    }

    /// Appends one event with the next sequence number, durably
    /// (fsync); a failed write is truncated away.
    ///
    /// # Errors
    ///
    /// Invalid event values, and the errors of strict reading, locking and
    /// writing.
    pub fn append(&self, input: &EventInput) -> Result<SessionEvent, SessionError> {
        self.require_journal()?;
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let snap = self.read()?;
        let sequence = snap
            .last_sequence()
            .checked_add(1)
            .ok_or_else(|| SessionError::Invalid("session sequence overflows".to_owned()))?;
        let event = input.normalize(
            &snap.header.session_id,
            &snap.header.run_id,
            sequence,
            &self.producer,
            self.now(),
        )?;
        let line = line_of("event", to_value(&event)?)?;
        self.append_line(&snap, &line)?;
        let mut bytes_len = snap.size;
        bytes_len += line.len() as u64;
        let mut after = snap;
        after.event_count += 1;
        after.last_event_sequence = sequence;
        after.size = bytes_len;
        self.sync_state(&after, true)?;
        Ok(event)
    }

    /// Appends `line` to the journal whose strict read is `snap`, then
    /// syncs it; a partial write is cut back to the previous size.
    fn append_line(&self, snap: &JournalSnapshot, line: &[u8]) -> Result<(), SessionError> {
        let path = self.journal();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_err("open session journal for append", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err("stat session journal", path, e))?
            .len();
        if len != snap.size {
            return Err(SessionError::Invalid(format!(
                "session journal {} changed while locked ({} bytes read, {len} bytes now)",
                path.display(),
                snap.size
            )));
        }
        if let Err(e) = file.write_all(line).and_then(|()| file.sync_data()) {
            let _ = file.set_len(snap.size);
            let _ = file.sync_data();
            return Err(io_err("append session journal", path, e));
        }
        Ok(())
    }

    /// Checkpoints the events after the last checkpoint: writes their
    /// runpack to `out` (0600, atomically; parent directories 0750) and
    /// verifies it, appends the checkpoint record, updates the cache and
    /// rewrites the chain next to the journal (and a copy at `chain_out`).
    ///
    /// # Errors
    ///
    /// [`SessionError::NothingToCheckpoint`], and the errors of strict
    /// reading, locking, recording and writing.
    pub fn checkpoint(
        &self,
        out: &SessionPath,
        chain_out: Option<&SessionPath>,
    ) -> Result<CheckpointOutcome, SessionError> {
        self.require_journal()?;
        self.refuse_side_file("--out", out)?;
        if let Some(c) = chain_out {
            self.refuse_side_file("--chain-out", c)?;
            if c == out {
                return Err(SessionError::Invalid(
                    "--chain-out must differ from --out".to_owned(),
                ));
            }
        }
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let snap = self.read()?;
        if snap.pending.is_empty() {
            return Err(SessionError::NothingToCheckpoint {
                path: self.journal().to_path_buf(),
            });
        }
        let h = &snap.header;
        let index = count(snap.checkpoints.len()).saturating_add(1);
        let cp_run = checkpoint_run_id(&h.run_id, index);
        let now = self.now();
        let out_path = out.as_path();
        let recorded = record_checkpoint(
            &h.session_id,
            &cp_run,
            index,
            &snap.pending,
            &self.producer,
            now,
        )
        .map_err(|e| runpack_error(out_path, e))?;
        write_atomic(out_path, &recorded.zip, true)?;
        let report = verify_runpack_file(out_path, &VerifyOptions::default())
            .map_err(|e| runpack_error(out_path, e))?;
        if !report.is_ok(false) || report.manifest_digest != recorded.manifest.manifest_digest {
            return Err(runpack_error(
                out_path,
                crate::runpack::RunpackError::Verification(
                    "written checkpoint runpack does not verify".to_owned(),
                ),
            ));
        }
        let manifest_digest = recorded.manifest.manifest_digest;
        let prev = snap
            .checkpoints
            .last()
            .map(|c| c.checkpoint_digest.clone())
            .unwrap_or_default();
        let start = snap.pending.first().map_or(0, |e| e.sequence);
        let end = snap.pending.last().map_or(0, |e| e.sequence);
        let digest = checkpoint_digest(&manifest_digest, &prev, index, start, end);
        let invariant = snap.pending.iter().rev().find(|e| {
            !e.safety_invariant_version.is_empty() && !e.safety_invariant_hash.is_empty()
        });
        let relationship =
            checkpoint_relationship(&h.session_id, &h.run_id, &cp_run, &digest, &manifest_digest);
        let checkpoint = SessionCheckpoint {
            schema_id: SESSION_CHECKPOINT_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at: now,
            producer_version: self.producer.clone(),
            session_id: h.session_id.clone(),
            run_id: h.run_id.clone(),
            checkpoint_index: index,
            sequence_start: start,
            sequence_end: end,
            runpack_path: out.as_str().to_owned(),
            manifest_digest,
            prev_checkpoint_digest: prev,
            checkpoint_digest: digest,
            relationship: Some(to_value(&relationship)?),
            safety_invariant_version: invariant
                .map(|e| e.safety_invariant_version.clone())
                .unwrap_or_default(),
            safety_invariant_hash: invariant
                .map(|e| e.safety_invariant_hash.clone())
                .unwrap_or_default(),
        };
        let line = line_of("checkpoint", to_value(&checkpoint)?)?;
        // The commit point: once the record is in the journal, the
        // checkpoint exists; the cache and the chain follow from it (the
        // journal is read again, so they describe what is on disk).
        self.append_line(&snap, &line)?;
        let bytes = gait_sign::read_regular_file_limited(self.journal(), MAX_JOURNAL_BYTES)
            .map_err(|source| SessionError::Open {
                path: self.journal().to_path_buf(),
                source,
            })?;
        let after = parse_journal(self.journal(), &bytes)?;
        self.sync_state(&after, true)?;
        let chain = SessionChain {
            schema_id: SESSION_CHAIN_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at: after.header.created_at,
            producer_version: after.header.producer_version.clone(),
            session_id: after.header.session_id.clone(),
            run_id: after.header.run_id.clone(),
            checkpoints: after.checkpoints.clone(),
        };
        let chain_bytes = chain
            .to_json_bytes()
            .map_err(|e| runpack_error(out_path, e))?;
        let default_chain = self.chain_path();
        write_atomic(&default_chain, &chain_bytes, true)?;
        let chain_path = match chain_out {
            Some(c) => {
                write_atomic(c.as_path(), &chain_bytes, true)?;
                c.as_path().to_path_buf()
            }
            None => default_chain.clone(),
        };
        Ok(CheckpointOutcome {
            checkpoint,
            chain_path,
            default_chain_path: default_chain,
        })
    }

    /// Checks the journal against its checkpoints: each checkpoint's
    /// runpack must read strictly, carry the recorded manifest digest and
    /// the run id `<run_id>_cp_<NNNN>`, and, while the journal still holds
    /// the checkpoint's events, hold exactly the intents and results those
    /// events give (ids, tools, times, statuses, args and result digests);
    /// the chain next to the journal, when present, must list the
    /// journal's checkpoints. Relative runpack paths resolve against the
    /// working directory.
    ///
    /// # Errors
    ///
    /// The errors of strict reading and locking; disagreements are
    /// reported, not errors.
    pub fn verify(&self) -> Result<JournalVerification, SessionError> {
        self.require_journal()?;
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let bytes = gait_sign::read_regular_file_limited(self.journal(), MAX_JOURNAL_BYTES)
            .map_err(|source| SessionError::Open {
                path: self.journal().to_path_buf(),
                source,
            })?;
        let snap = parse_journal_all(self.journal(), &bytes)?;
        let mut report = JournalVerification::default();
        let h = &snap.header;
        for cp in &snap.checkpoints {
            report.checkpoints_checked += 1;
            let n = cp.checkpoint_index;
            let mut err = |m: String| report.errors.push(format!("checkpoint {n}: {m}"));
            let rp = match crate::runpack::read_runpack(Path::new(&cp.runpack_path)) {
                Ok(rp) => rp,
                Err(e) => {
                    err(format!("runpack {}: {e}", cp.runpack_path));
                    continue;
                }
            };
            if rp.manifest.manifest_digest != cp.manifest_digest {
                err("runpack manifest digest differs from the record".to_owned());
            }
            if rp.run.run_id != checkpoint_run_id(&h.run_id, n) {
                err(format!(
                    "runpack run id {} is not the checkpoint's",
                    rp.run.run_id
                ));
            }
            let events: Vec<SessionEvent> = snap
                .all_events
                .iter()
                .filter(|e| (cp.sequence_start..=cp.sequence_end).contains(&e.sequence))
                .cloned()
                .collect();
            if events.is_empty() {
                report.compacted_checkpoints += 1;
                continue;
            }
            let want = cp
                .sequence_end
                .saturating_sub(cp.sequence_start)
                .saturating_add(1);
            if count(events.len()) != want {
                err(format!(
                    "the journal holds {} of the events {}..{}",
                    events.len(),
                    cp.sequence_start,
                    cp.sequence_end
                ));
                continue;
            }
            let expected = match checkpoint_records(&h.session_id, &events) {
                Ok(x) => x,
                Err(e) => {
                    err(e.to_string());
                    continue;
                }
            };
            if expected.len() != rp.intents.len() || expected.len() != rp.results.len() {
                err("runpack does not hold one intent and one result per event".to_owned());
                continue;
            }
            let got = rp.intents.iter().zip(rp.results.iter());
            for ((e, (wi, wr)), (gi, gr)) in events.iter().zip(expected.iter()).zip(got) {
                let same = wi.intent_id == gi.intent_id
                    && wi.tool_name == gi.tool_name
                    && wi.args_digest == gi.args_digest
                    && wi.created_at == gi.created_at
                    && wr.intent_id == gr.intent_id
                    && wr.status == gr.status
                    && wr.result_digest == gr.result_digest
                    && wr.created_at == gr.created_at;
                if !same {
                    err(format!("event {} does not match its runpack", e.sequence));
                }
            }
        }
        let chain_path = self.chain_path();
        if std::fs::symlink_metadata(&chain_path).is_ok() {
            match SessionChain::read(&chain_path) {
                Err(e) => report.errors.push(e.to_string()),
                Ok(chain) => {
                    if chain.checkpoints != snap.checkpoints
                        || chain.created_at != h.created_at
                        || chain.producer_version != h.producer_version
                        || chain.session_id != h.session_id
                        || chain.run_id != h.run_id
                    {
                        report.errors.push(format!(
                            "chain {} does not list the journal's checkpoints",
                            chain_path.display()
                        ));
                    }
                }
            }
        }
        Ok(report)
    }

    /// Compacts the journal: the header, every checkpoint, and only the
    /// events after the last checkpoint, each line kept byte for byte.
    /// Unless `dry_run`, a compacted result is written atomically to `out`
    /// (default: the journal itself, whose cache is then rebuilt).
    ///
    /// # Errors
    ///
    /// The errors of strict reading, locking and writing.
    pub fn compact(
        &self,
        out: Option<&SessionPath>,
        dry_run: bool,
    ) -> Result<Compaction, SessionError> {
        self.require_journal()?;
        let _lock = JournalLock::acquire(self.journal(), &self.lock)?;
        let output = out.cloned().unwrap_or_else(|| self.path.clone());
        let in_place = output == self.path;
        if !in_place {
            self.refuse_side_file("--out", &output)?;
        }
        let _out_lock = if in_place || dry_run {
            None
        } else {
            create_parent(output.as_path())?;
            Some(JournalLock::acquire(output.as_path(), &self.lock)?)
        };
        let snap = self.read()?;
        let bytes = snap.compacted_bytes();
        // The compacted journal must itself read strictly.
        let compacted_snap = parse_journal(output.as_path(), &bytes)?;
        let report = Compaction {
            journal_path: self.path.as_str().to_owned(),
            output_path: output.as_str().to_owned(),
            dry_run,
            compacted: compacted_snap.event_count != snap.event_count
                || !in_place
                || bytes.len() as u64 != snap.size,
            events_before: count(snap.event_count),
            events_after: count(compacted_snap.event_count),
            checkpoints: count(snap.checkpoints.len()),
            last_checkpoint_sequence: snap.last_checkpoint_sequence(),
            bytes_before: i64::try_from(snap.size).unwrap_or(i64::MAX),
            bytes_after: count(bytes.len()),
        };
        if dry_run || !report.compacted {
            return Ok(report);
        }
        write_atomic(output.as_path(), &bytes, true)?;
        if in_place {
            self.sync_state(&compacted_snap, true)?;
        }
        Ok(report)
    }
}
