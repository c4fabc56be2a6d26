//! The trace journal: append-only, hash-chained segment files holding
//! signed trace records, group commit, signed checkpoints, recovery and
//! offline verification.
//!
//! # Directory
//!
//! * `segment-00000001.gjl`, `segment-00000002.gjl`, ...: the records.
//! * `checkpoints.jsonl`: signed [`Checkpoint`]s, one JSON line each.
//! * `journal.lock`: held (exclusive file lock) by the one open writer.
//!
//! # Segment format (`gait.trace.journal` 1.0.0)
//!
//! A segment starts with the 55-byte header line
//! `gait.trace.journal 1.0.0 <index, 8 digits> <first seq, 20 digits>\n`,
//! then frames, back to back (integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `GJR\x01` (frame format 1) |
//! | 8 | `seq`: the record's number in the journal, from 0 |
//! | 4 | `len`: payload bytes, 1 ..= [`crate::MAX_TRACE_BYTES`] |
//! | 32 | `prev`: the link of record `seq - 1` (zeros for record 0) |
//! | len | the signed trace record, the bytes a `trace_<id>.json` holds |
//! | 32 | `link` = SHA-256(`"gait.trace.journal/1\0"` ‖ seq ‖ len ‖ prev ‖ payload) |
//!
//! A frame is whole when its magic, length and link check; a reader takes
//! nothing else as a record. After the last frame a segment may hold zero
//! bytes (preallocated space: segments are reserved with `fallocate` on
//! Linux and zeros are written ahead of the end, 1 MiB at a time, so an
//! append overwrites initialised blocks and its `fdatasync` has no
//! metadata to commit). Sealed segments are cut to their last frame.
//!
//! # Durability
//!
//! [`Journal::append`] returns once its frame is written and `fdatasync`ed.
//! Appends that arrive while a flush runs are batched into the next flush
//! (group commit): one `fdatasync` covers all of them.
//!
//! # Recovery
//!
//! [`Journal::open`] scans the segments. A frame that is not whole at the
//! end of the last segment, with nothing whole after it, is a torn tail (a
//! crash during a flush, so none of its records was acknowledged): it is
//! reported in [`Recovery::torn_tail`] and cut off. Anything else that
//! does not check (a bad frame with whole frames after it, a broken chain,
//! a missing segment, fewer records than a signed checkpoint covers) is an
//! error: the journal is not opened.

mod checkpoint;
mod format;
mod verify;

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gait_sign::{SigningKey, Trace};

pub use checkpoint::{
    CHECKPOINT_SCHEMA_ID, CHECKPOINT_SCHEMA_VERSION, Checkpoint, CheckpointReason, SegmentEntry,
};
pub use format::{JOURNAL_SCHEMA_ID, JOURNAL_SCHEMA_VERSION};
pub use verify::{JournalProblem, JournalReport, ProblemKind, verify_journal};

use crate::guard::TraceSink;
use crate::record::TraceRecord;
use crate::verify::{MAX_TRACE_BYTES, TraceError};
use checkpoint::{CHECKPOINTS_FILE, line_digest, split_lines};
use format::{GENESIS, HEADER_LEN, Tail};

/// The lock file of a journal directory.
const LOCK_FILE: &str = "journal.lock";
/// The default segment size (rotation threshold and preallocation).
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// The largest segment size accepted (segments are read whole).
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;
/// The default checkpoint interval, in records.
pub const DEFAULT_CHECKPOINT_RECORDS: u64 = 1024;

/// What went wrong with a journal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A file operation failed.
    #[error("trace journal: {op} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer holds the journal.
    #[error("trace journal: {} is locked by another writer", .0.display())]
    Locked(PathBuf),
    /// A segment or checkpoint does not check (not a torn tail).
    #[error("trace journal: {} at byte {offset}: {problem}", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The byte offset.
        offset: u64,
        /// What is wrong.
        problem: String,
    },
    /// A record is empty or larger than [`MAX_TRACE_BYTES`].
    #[error("trace journal: record of {0} bytes (1 to {max} accepted)", max = MAX_TRACE_BYTES)]
    RecordSize(usize),
    /// A checkpoint or record could not be encoded.
    #[error("trace journal: encode: {0}")]
    Encode(#[source] serde_json::Error),
    /// The options are out of range.
    #[error("trace journal: {0}")]
    Options(&'static str),
    /// The journal was closed.
    #[error("trace journal: closed")]
    Closed,
    /// An earlier write or sync failed; the journal takes no more records
    /// (reopen it to recover).
    #[error("trace journal: an earlier write failed; reopen to recover")]
    Failed,
}

/// Journal options.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalOptions {
    /// Rotate to a new segment when a flush would take the current one
    /// past this size; also the size preallocated per segment.
    pub segment_bytes: u64,
    /// Write a signed checkpoint after this many records (0: only at open,
    /// rotation and close).
    pub checkpoint_records: u64,
    /// Also write one when this much time has passed since the last and
    /// records were added (checked at each flush).
    pub checkpoint_interval: Option<Duration>,
    /// Preallocate segments (`fallocate` on Linux, `set_len` elsewhere).
    pub preallocate: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            checkpoint_records: DEFAULT_CHECKPOINT_RECORDS,
            checkpoint_interval: None,
            preallocate: true,
        }
    }
}

impl JournalOptions {
    /// Sets [`JournalOptions::segment_bytes`].
    pub fn with_segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// Sets [`JournalOptions::checkpoint_records`].
    pub fn with_checkpoint_records(mut self, records: u64) -> Self {
        self.checkpoint_records = records;
        self
    }

    /// Sets [`JournalOptions::checkpoint_interval`].
    pub fn with_checkpoint_interval(mut self, interval: Option<Duration>) -> Self {
        self.checkpoint_interval = interval;
        self
    }

    /// Sets [`JournalOptions::preallocate`].
    pub fn with_preallocate(mut self, preallocate: bool) -> Self {
        self.preallocate = preallocate;
        self
    }
}

/// A torn tail found (and cut off) by [`Journal::open`], or found by
/// [`verify_journal`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TornTail {
    /// The file.
    pub path: PathBuf,
    /// Where the whole records (or lines) end.
    pub offset: u64,
    /// The bytes after it that are not all zero padding.
    pub discarded_bytes: u64,
}

/// What [`Journal::open`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Recovery {
    /// Whole records in the journal.
    pub records: u64,
    /// Segments.
    pub segments: u64,
    /// The torn record tail cut off the last segment.
    pub torn_tail: Option<TornTail>,
    /// The torn line cut off `checkpoints.jsonl`.
    pub torn_checkpoint: Option<TornTail>,
}

/// Where an appended record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// Its sequence number.
    pub seq: u64,
    /// Its link digest (the journal head right after it).
    pub link: [u8; 32],
}

/// The state appenders share (short critical sections).
#[derive(Debug)]
struct State {
    /// The next sequence number.
    next_seq: u64,
    /// The link of record `next_seq - 1`.
    head: [u8; 32],
    /// Frames not yet handed to a flush.
    pending: Vec<u8>,
    /// Records `0..durable` are written and synced.
    durable: u64,
    /// A flush is running.
    flushing: bool,
    failed: bool,
    closed: bool,
    /// Flushes (`fdatasync`s of record batches) since open.
    flushes: u64,
}

/// The files (held by the one flusher).
#[derive(Debug)]
struct Writer {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    index: u64,
    first_seq: u64,
    /// Logical end of the current segment.
    end: u64,
    /// Bytes of the current segment written (zeros past `end`): appends
    /// inside them are overwrites of initialised blocks, so `fdatasync`
    /// has no metadata to commit.
    zeroed: u64,
    /// Sealed segments.
    sealed: Vec<SegmentEntry>,
    /// Records durable (all segments).
    count: u64,
    head: [u8; 32],
    checkpoints: File,
    checkpoint_count: u64,
    checkpoint_digest: [u8; 32],
    checkpoint_at: Instant,
}

/// An open trace journal (the one writer of its directory). Share it with
/// an [`Arc`]; [`JournalSink`] makes it a [`TraceSink`].
#[derive(Debug)]
pub struct Journal {
    state: Mutex<State>,
    flushed: Condvar,
    writer: Mutex<Writer>,
    key: SigningKey<Trace>,
    options: JournalOptions,
    recovery: Recovery,
    _lock: File,
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io { op, path, source }
}

fn corrupt(path: &Path, offset: u64, problem: impl Into<String>) -> JournalError {
    JournalError::Corrupt {
        path: path.to_path_buf(),
        offset,
        problem: problem.into(),
    }
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync directory", dir))
}

/// Reserves `len` bytes of `file` from `offset`.
fn preallocate(file: &File, path: &Path, offset: u64, len: u64) -> Result<(), JournalError> {
    #[cfg(target_os = "linux")]
    {
        let r = rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len);
        if r.is_ok() {
            return Ok(());
        }
    }
    let want = offset.saturating_add(len);
    let have = file.metadata().map_err(io("stat", path))?.len();
    if want > have {
        file.set_len(want).map_err(io("preallocate", path))?;
    }
    Ok(())
}

/// The segment files of `dir`, by index; an error when the indices are not
/// 1, 2, 3, ...
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io("read directory", dir))? {
        let entry = entry.map_err(io("read directory", dir))?;
        let name = entry.file_name();
        if let Some(index) = name.to_str().and_then(format::parse_segment_name) {
            segments.push((index, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Reads a whole segment (bounded).
pub(crate) fn read_segment(path: &Path) -> Result<Vec<u8>, JournalError> {
    gait_sign::read_regular_file_limited(path, MAX_SEGMENT_BYTES + u64::from(u32::MAX))
        .map_err(io("read segment", path))
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, JournalError> {
    m.lock().map_err(|_| JournalError::Failed)
}

impl Journal {
    /// Opens (or creates) the journal in `dir`, recovering a torn tail, and
    /// writes a checkpoint when records were added since the last one.
    pub fn open(
        dir: impl Into<PathBuf>,
        key: SigningKey<Trace>,
        options: JournalOptions,
    ) -> Result<Journal, JournalError> {
        let dir = dir.into();
        if options.segment_bytes < (HEADER_LEN as u64) + 1
            || options.segment_bytes > MAX_SEGMENT_BYTES
        {
            return Err(JournalError::Options(
                "segment size must be between 56 bytes and 1 GiB",
            ));
        }
        gait_sign::create_private_dir(&dir).map_err(|e| JournalError::Io {
            op: "create directory",
            path: dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io("open", &lock_path))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(JournalError::Locked(dir)),
            Err(fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        remove_temps(&dir);
        let verifying = key.verifying_key().clone();

        // Checkpoints first: the recovered records must cover the last one.
        let cp_path = dir.join(CHECKPOINTS_FILE);
        let cp_bytes = match gait_sign::read_regular_file_limited(&cp_path, MAX_SEGMENT_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("read", &cp_path)(e)),
        };
        let (lines, torn_len) = split_lines(&cp_bytes);
        let mut last_cp: Option<Checkpoint> = None;
        let mut cp_digest = GENESIS;
        for (offset, line) in &lines {
            let cp = Checkpoint::parse_line(line, &verifying)
                .map_err(|p| corrupt(&cp_path, *offset, p.to_string()))?;
            if cp.prev_checkpoint != gait_digest::hex(&cp_digest) {
                return Err(corrupt(&cp_path, *offset, "checkpoint chain broken"));
            }
            if last_cp
                .as_ref()
                .is_some_and(|l| l.record_count > cp.record_count)
            {
                return Err(corrupt(
                    &cp_path,
                    *offset,
                    "checkpoint record count decreases",
                ));
            }
            cp_digest = line_digest(line);
            last_cp = Some(cp);
        }
        let whole_len = cp_bytes.len() - torn_len;
        let mut torn_checkpoint = None;
        let checkpoints = private_options()
            .read(true)
            .append(true)
            .create(true)
            .open(&cp_path)
            .map_err(io("open", &cp_path))?;
        if torn_len > 0 {
            checkpoints
                .set_len(whole_len as u64)
                .and_then(|()| checkpoints.sync_all())
                .map_err(io("cut torn checkpoint", &cp_path))?;
            torn_checkpoint = Some(TornTail {
                path: cp_path.clone(),
                offset: whole_len as u64,
                discarded_bytes: torn_len as u64,
            });
        }
        let (cp_count, cp_head) = match &last_cp {
            Some(cp) => (
                cp.record_count,
                cp.head_bytes()
                    .ok_or_else(|| corrupt(&cp_path, 0, "checkpoint head is not a digest"))?,
            ),
            None => (0, GENESIS),
        };

        // Segments.
        let segments = list_segments(&dir)?;
        let mut seq = 0u64;
        let mut head = GENESIS;
        let mut sealed = Vec::new();
        let mut torn_tail = None;
        let mut current: Option<(u64, PathBuf, u64, u64)> = None; // index, path, first_seq, end
        let n = segments.len();
        for (pos, (index, path)) in segments.iter().enumerate() {
            if *index != pos as u64 + 1 {
                return Err(corrupt(path, 0, format!("segment {} is missing", pos + 1)));
            }
            let bytes = read_segment(path)?;
            let (hidx, first) = format::parse_header(&bytes)
                .ok_or_else(|| corrupt(path, 0, "not a gait.trace.journal 1.0.0 segment header"))?;
            if hidx != *index || first != seq {
                return Err(corrupt(
                    path,
                    0,
                    format!(
                        "segment header says segment {hidx} from record {first}; expected segment {index} from record {seq}"
                    ),
                ));
            }
            let scan = format::scan(&bytes);
            for f in &scan.frames {
                if f.seq != seq || f.prev != head {
                    return Err(corrupt(
                        path,
                        f.offset,
                        format!(
                            "hash chain broken at record {} (expected record {seq})",
                            f.seq
                        ),
                    ));
                }
                if seq + 1 == cp_count && f.link != cp_head {
                    return Err(corrupt(
                        path,
                        f.offset,
                        "record differs from the head of the last signed checkpoint",
                    ));
                }
                head = f.link;
                seq += 1;
            }
            let last = pos + 1 == n;
            if let Tail::Bad { offset, resync } = scan.tail {
                if !last {
                    return Err(corrupt(path, offset, "bad record in a sealed segment"));
                }
                if let Some(r) = resync {
                    return Err(corrupt(
                        path,
                        offset,
                        format!("bad record followed by a whole record at byte {r}"),
                    ));
                }
                let nonzero_end = bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
                torn_tail = Some(TornTail {
                    path: path.clone(),
                    offset,
                    discarded_bytes: (nonzero_end as u64).saturating_sub(offset),
                });
            }
            if last {
                current = Some((*index, path.clone(), first, scan.end));
            } else {
                sealed.push(SegmentEntry {
                    name: format::segment_name(*index),
                    first_seq: first,
                    records: seq - first,
                });
            }
        }
        if seq < cp_count {
            return Err(corrupt(
                &cp_path,
                0,
                format!(
                    "the last signed checkpoint covers {cp_count} records; {seq} found (truncated)"
                ),
            ));
        }
        if cp_count == 0
            && last_cp
                .as_ref()
                .is_some_and(|c| c.head_bytes() != Some(GENESIS))
        {
            return Err(corrupt(
                &cp_path,
                0,
                "empty checkpoint with a non-empty head",
            ));
        }

        // The segment to write to.
        let (index, path, first_seq, end, file) = match current {
            Some((index, path, first, end)) => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(io("open segment", &path))?;
                if torn_tail.is_some() {
                    file.set_len(end).map_err(io("cut torn tail", &path))?;
                }
                if options.preallocate && end < options.segment_bytes {
                    preallocate(&file, &path, end, options.segment_bytes - end)?;
                }
                file.sync_all().map_err(io("sync segment", &path))?;
                (index, path, first, end, file)
            }
            None => {
                let (path, file) = create_segment(&dir, 1, 0, &options)?;
                (1, path, 0, HEADER_LEN as u64, file)
            }
        };

        let mut writer = Writer {
            dir,
            file,
            path,
            index,
            first_seq,
            end,
            zeroed: end,
            sealed,
            count: seq,
            head,
            checkpoints,
            checkpoint_count: cp_count,
            checkpoint_digest: cp_digest,
            checkpoint_at: Instant::now(),
        };
        if last_cp.is_none() || seq > cp_count {
            writer.checkpoint(&key, CheckpointReason::Open)?;
        }
        let recovery = Recovery {
            records: seq,
            segments: writer.sealed.len() as u64 + 1,
            torn_tail,
            torn_checkpoint,
        };
        Ok(Journal {
            state: Mutex::new(State {
                next_seq: seq,
                head,
                pending: Vec::new(),
                durable: seq,
                flushing: false,
                failed: false,
                closed: false,
                flushes: 0,
            }),
            flushed: Condvar::new(),
            writer: Mutex::new(writer),
            key,
            options,
            recovery,
            _lock: lock_file,
        })
    }

    /// What opening found (and repaired).
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Records durable so far.
    pub fn record_count(&self) -> u64 {
        self.state.lock().map(|s| s.durable).unwrap_or(0)
    }

    /// Flushes (each one `fdatasync` of a batch of records) since open:
    /// below the records appended since open when group commit batched.
    pub fn flushes(&self) -> u64 {
        self.state.lock().map(|s| s.flushes).unwrap_or(0)
    }

    /// Appends a signed trace record (as [`TraceRecord::to_pretty_json`]).
    pub fn append_trace(&self, trace: &TraceRecord) -> Result<Appended, JournalError> {
        self.append(&trace.to_pretty_json())
    }

    /// Appends one record's bytes and returns once they are durable (written
    /// and `fdatasync`ed, possibly together with other appends).
    pub fn append(&self, payload: &[u8]) -> Result<Appended, JournalError> {
        if payload.is_empty() || payload.len() > MAX_TRACE_BYTES {
            return Err(JournalError::RecordSize(payload.len()));
        }
        let mut st = lock(&self.state)?;
        if st.closed {
            return Err(JournalError::Closed);
        }
        if st.failed {
            return Err(JournalError::Failed);
        }
        let seq = st.next_seq;
        let prev = st.head;
        let link = format::encode_frame(&mut st.pending, seq, &prev, payload);
        st.head = link;
        st.next_seq += 1;
        loop {
            if st.durable > seq {
                return Ok(Appended { seq, link });
            }
            if st.failed {
                return Err(JournalError::Failed);
            }
            if st.flushing {
                st = self.flushed.wait(st).map_err(|_| JournalError::Failed)?;
                continue;
            }
            st = self.lead_flush(st)?;
        }
    }

    /// Takes the pending frames and flushes them (the caller becomes the
    /// flusher); appends arriving meanwhile queue for the next flush.
    fn lead_flush<'a>(
        &'a self,
        mut st: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>, JournalError> {
        let batch = std::mem::take(&mut st.pending);
        let upto = st.next_seq;
        let head = st.head;
        st.flushing = true;
        drop(st);
        let result = lock(&self.writer)
            .and_then(|mut w| w.flush(&batch, upto, head, &self.key, &self.options));
        let mut st = lock(&self.state)?;
        st.flushing = false;
        match result {
            Ok(()) => {
                st.durable = upto;
                st.flushes += 1;
            }
            Err(_) => st.failed = true,
        }
        self.flushed.notify_all();
        result.map(|()| st)
    }

    /// Writes a signed checkpoint now (after flushing).
    pub fn checkpoint(&self) -> Result<(), JournalError> {
        drop(self.drain()?);
        lock(&self.writer)?.checkpoint(&self.key, CheckpointReason::Manual)
    }

    /// Waits until nothing is pending or being flushed.
    fn drain(&self) -> Result<MutexGuard<'_, State>, JournalError> {
        let mut st = lock(&self.state)?;
        loop {
            if st.failed {
                return Err(JournalError::Failed);
            }
            if st.flushing {
                st = self.flushed.wait(st).map_err(|_| JournalError::Failed)?;
            } else if !st.pending.is_empty() {
                st = self.lead_flush(st)?;
            } else {
                return Ok(st);
            }
        }
    }

    /// Clean shutdown: flushes, writes the shutdown checkpoint, cuts the
    /// preallocated tail. Later appends fail with [`JournalError::Closed`].
    pub fn close(&self) -> Result<(), JournalError> {
        let mut st = self.drain()?;
        if st.closed {
            return Ok(());
        }
        st.closed = true;
        drop(st);
        let mut w = lock(&self.writer)?;
        let end = w.end;
        w.file
            .set_len(end)
            .and_then(|()| w.file.sync_all())
            .map_err(io("cut preallocation", &w.path))?;
        if w.count != w.checkpoint_count {
            w.checkpoint(&self.key, CheckpointReason::Shutdown)?;
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// How far ahead of the logical end a flush writes zeros.
const ZERO_AHEAD: u64 = 1 << 20;

/// Writes zeros over `from..to` of `file`.
fn write_zeros(file: &mut File, from: u64, to: u64) -> std::io::Result<()> {
    static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
    file.seek(SeekFrom::Start(from))?;
    let mut left = to.saturating_sub(from);
    while left > 0 {
        let n = usize::try_from(left.min(ZEROS.len() as u64)).unwrap_or(ZEROS.len());
        file.write_all(ZEROS.get(..n).unwrap_or_default())?;
        left -= n as u64;
    }
    Ok(())
}

fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(gait_sign::PRIVATE_FILE_MODE);
    }
    o
}

fn temp_name(index: u64) -> String {
    format!(".{}.tmp", format::segment_name(index))
}

/// Removes segment temporaries left by a crash during rotation.
fn remove_temps(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".segment-") && name.ends_with(".gjl.tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Creates segment `index` atomically: header, preallocation, sync,
/// rename, directory sync.
fn create_segment(
    dir: &Path,
    index: u64,
    first_seq: u64,
    options: &JournalOptions,
) -> Result<(PathBuf, File), JournalError> {
    let tmp = dir.join(temp_name(index));
    let path = dir.join(format::segment_name(index));
    let mut file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(io("create segment", &tmp))?;
    file.write_all(&format::header(index, first_seq))
        .map_err(io("write segment header", &tmp))?;
    if options.preallocate {
        let header = HEADER_LEN as u64;
        preallocate(
            &file,
            &tmp,
            header,
            options.segment_bytes.saturating_sub(header),
        )?;
    }
    file.sync_all().map_err(io("sync segment", &tmp))?;
    fs::rename(&tmp, &path).map_err(io("rename segment", &path))?;
    sync_dir(dir)?;
    Ok((path, file))
}

impl Writer {
    fn flush(
        &mut self,
        batch: &[u8],
        upto: u64,
        head: [u8; 32],
        key: &SigningKey<Trace>,
        options: &JournalOptions,
    ) -> Result<(), JournalError> {
        let len = batch.len() as u64;
        if self.end > HEADER_LEN as u64 && self.end.saturating_add(len) > options.segment_bytes {
            self.rotate(key, options)?;
        }
        let need = self.end.saturating_add(len);
        if options.preallocate && need > self.zeroed {
            // Write zeros ahead (1 MiB at a time, within the segment size):
            // the sync below makes them durable once, and the appends that
            // follow overwrite initialised blocks.
            let target = need.max(
                self.zeroed
                    .saturating_add(ZERO_AHEAD)
                    .min(options.segment_bytes),
            );
            write_zeros(&mut self.file, self.zeroed, target)
                .map_err(io("preallocate", &self.path))?;
            self.zeroed = target;
        }
        self.file
            .seek(SeekFrom::Start(self.end))
            .and_then(|_| self.file.write_all(batch))
            .and_then(|()| self.file.sync_data())
            .map_err(io("append", &self.path))?;
        self.end += len;
        self.count = upto;
        self.head = head;
        let by_count = options.checkpoint_records > 0
            && self.count - self.checkpoint_count >= options.checkpoint_records;
        let by_time = options
            .checkpoint_interval
            .is_some_and(|i| self.checkpoint_at.elapsed() >= i);
        if by_count || (by_time && self.count > self.checkpoint_count) {
            self.checkpoint(key, CheckpointReason::Interval)?;
        }
        Ok(())
    }

    /// Seals the current segment (cut to its last record, synced) and
    /// starts the next.
    fn rotate(
        &mut self,
        key: &SigningKey<Trace>,
        options: &JournalOptions,
    ) -> Result<(), JournalError> {
        self.file
            .set_len(self.end)
            .and_then(|()| self.file.sync_all())
            .map_err(io("seal segment", &self.path))?;
        self.sealed.push(SegmentEntry {
            name: format::segment_name(self.index),
            first_seq: self.first_seq,
            records: self.count - self.first_seq,
        });
        let index = self.index + 1;
        let (path, file) = create_segment(&self.dir, index, self.count, options)?;
        self.file = file;
        self.path = path;
        self.index = index;
        self.first_seq = self.count;
        self.end = HEADER_LEN as u64;
        self.zeroed = self.end;
        self.checkpoint(key, CheckpointReason::Rotate)
    }

    fn segments(&self) -> Vec<SegmentEntry> {
        let mut list = self.sealed.clone();
        list.push(SegmentEntry {
            name: format::segment_name(self.index),
            first_seq: self.first_seq,
            records: self.count - self.first_seq,
        });
        list
    }

    fn checkpoint(
        &mut self,
        key: &SigningKey<Trace>,
        reason: CheckpointReason,
    ) -> Result<(), JournalError> {
        let path = self.dir.join(CHECKPOINTS_FILE);
        let mut line = Checkpoint::signed_line(
            key,
            reason,
            self.count,
            &self.head,
            &self.checkpoint_digest,
            self.segments(),
        )?;
        let digest = line_digest(&line);
        line.push(b'\n');
        self.checkpoints
            .write_all(&line)
            .and_then(|()| self.checkpoints.sync_data())
            .map_err(io("append checkpoint", &path))?;
        self.checkpoint_count = self.count;
        self.checkpoint_digest = digest;
        self.checkpoint_at = Instant::now();
        Ok(())
    }
}

/// A [`TraceSink`] writing to a shared [`Journal`]: `record` returns once
/// the trace is durable in the journal.
#[derive(Debug, Clone)]
pub struct JournalSink {
    journal: Arc<Journal>,
}

impl JournalSink {
    /// A sink over `journal`.
    pub fn new(journal: Arc<Journal>) -> Self {
        Self { journal }
    }

    /// The journal.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.journal
    }
}

impl TraceSink for JournalSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        self.journal
            .append_trace(trace)
            .map(|_| ())
            .map_err(|e| TraceError::Write(Box::new(e)))
    }
}
