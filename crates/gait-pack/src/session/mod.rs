//! Session journals: an append-only JSONL record of one agent session's
//! decisions, checkpointed into a hash-linked chain of runpacks.
//!
//! For a journal `J` ([`SessionJournal`]):
//!
//! | file | what |
//! |---|---|
//! | `J` | one record per line: a `header`, then `event`s and `checkpoint`s |
//! | `J.state.json` | a cache of the journal's counters ([`SessionState`]) |
//! | `J.lock` | the operation lock ([`LockConfig`]) |
//! | `<dir>/<base minus extension>_chain.json` | the session chain ([`crate::runpack::SessionChain`]) |
//!
//! Every operation takes the lock, then reads the whole journal strictly
//! ([`parse_journal`]): bounded lines and records, strict JSON (duplicate
//! or case-variant member names, unknown members and wrong schema ids are
//! refused), one header first, consecutive event sequences with the
//! header's session and run, checkpoints with consecutive indexes,
//! non-overlapping ranges, linked previous digests and recomputing
//! digests, and a newline after the last record (a torn tail). Nothing
//! is repaired. The state cache is never trusted: it is compared with the
//! strict read and rewritten when it differs.
//!
//! A checkpoint ([`SessionJournal::checkpoint`]) turns the events after
//! the previous checkpoint into an unsigned reference-capture runpack
//! (`<run_id>_cp_<NNNN>`; deterministic for a given journal and clock),
//! verifies the written file, appends the checkpoint record (the commit
//! point) and rewrites the chain, which [`crate::runpack::verify_session_chain`]
//! checks.
//!
//! ```
//! use gait_pack::session::{EventInput, SessionJournal, SessionPath, SessionVerdict};
//! use gait_pack::runpack::{verify_session_chain, VerifyOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let journal = SessionJournal::new(SessionPath::new(
//!     dir.path().join("s1.journal.jsonl").to_str().unwrap_or_default(),
//! )?);
//! journal.start("s1", "run_s1")?;
//! let event = journal.append(&EventInput::new("tool.read", SessionVerdict::Allow))?;
//! assert_eq!(event.sequence, 1);
//! let out = SessionPath::new(dir.path().join("cp1.zip").to_str().unwrap_or_default())?;
//! let done = journal.checkpoint(&out, None)?;
//! assert_eq!(done.checkpoint.checkpoint_index, 1);
//! let report = verify_session_chain(&done.chain_path, None, &VerifyOptions::default())?;
//! assert!(report.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod checkpoint;
mod journal;
mod lock;
mod read;
mod record;

use std::path::PathBuf;

pub use journal::{
    CheckpointOutcome, Compaction, JournalVerification, SessionJournal, SessionPath, SessionStatus,
    chain_path_for,
};
pub use lock::{LockConfig, LockProfile};
pub use read::{JournalSnapshot, parse_journal};
pub use record::{
    EventInput, JournalHeader, SessionEvent, SessionState, SessionVerdict, checkpoint_status,
};

use crate::runpack::RunpackError;

/// `schema_id` of the journal header.
pub const SESSION_JOURNAL_SCHEMA_ID: &str = "gait.runpack.session_journal";
/// `schema_id` of a journal event.
pub const SESSION_EVENT_SCHEMA_ID: &str = "gait.runpack.session_event";
/// `schema_id` of the state cache.
pub const SESSION_STATE_SCHEMA_ID: &str = "gait.runpack.session_state";
/// `schema_id` of the lock file.
pub const SESSION_LOCK_SCHEMA_ID: &str = "gait.runpack.session_lock";
/// The longest journal line read (8 MiB, as the reference).
pub const MAX_JOURNAL_LINE_BYTES: usize = 8 << 20;
/// The largest journal read (128 MiB; compaction keeps journals small).
pub const MAX_JOURNAL_BYTES: u64 = 128 << 20;
/// The most records (non-blank lines) a journal may hold.
pub const MAX_JOURNAL_RECORDS: usize = 1_000_000;
/// The largest state cache or lock file read.
pub const MAX_SIDE_FILE_BYTES: u64 = 1 << 20;

/// Why a session operation failed.
///
/// The exit class: [`is_contention`](Self::is_contention) and
/// [`is_io`](Self::is_io) are failures of the local environment (exit 1),
/// a [`Runpack`](Self::Runpack) error takes the runpack error's class, and
/// everything else is invalid input (exit 6): refused paths and values,
/// a missing journal, a journal that does not read strictly, an identity
/// conflict, nothing to checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A refused input value (a path, an id, a digest).
    #[error("{0}")]
    Invalid(String),
    /// The journal does not exist or cannot be opened.
    #[error("open session journal: {}: {source}", path.display())]
    Open {
        /// The journal.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The journal does not read strictly (nothing is repaired).
    #[error("{detail}: journal {}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// What is wrong, and on which line.
        detail: String,
    },
    /// `start` on a journal of another session or run.
    #[error("session journal already initialized with different session/run: journal {} holds session {session_id:?} run {run_id:?}", path.display())]
    IdentityConflict {
        /// The journal.
        path: PathBuf,
        /// The journal's session.
        session_id: String,
        /// The journal's run.
        run_id: String,
    },
    /// `checkpoint` with no event after the last checkpoint.
    #[error("no new session events available for checkpoint: journal {}", path.display())]
    NothingToCheckpoint {
        /// The journal.
        path: PathBuf,
    },
    /// The lock stayed taken until the timeout.
    #[error(
        "session state contention: lock timeout (path={} waited={waited} attempts={attempts} timeout={timeout} retry={retry} profile={profile})",
        path.display()
    )]
    Contention {
        /// The lock file.
        path: PathBuf,
        /// How long it waited (Go duration text).
        waited: String,
        /// How many attempts were made.
        attempts: u64,
        /// The timeout (Go duration text).
        timeout: String,
        /// The retry interval (Go duration text).
        retry: String,
        /// The lock profile.
        profile: LockProfile,
    },
    /// Reading or writing a file failed.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What was being done.
        context: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An atomic write failed.
    #[error("write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: gait_sign::Error,
    },
    /// The checkpoint runpack could not be recorded or does not verify.
    #[error("checkpoint runpack {}: {source}", path.display())]
    Runpack {
        /// The runpack.
        path: PathBuf,
        /// Why.
        #[source]
        source: RunpackError,
    },
}

impl SessionError {
    /// Whether the lock stayed taken (exit 1).
    pub fn is_contention(&self) -> bool {
        matches!(self, SessionError::Contention { .. })
    }

    /// Whether a file could not be read or written (exit 1).
    pub fn is_io(&self) -> bool {
        match self {
            SessionError::Io { .. } | SessionError::Write { .. } => true,
            SessionError::Runpack { source, .. } => source.is_io() || source.is_internal(),
            _ => false,
        }
    }

    /// Whether the written checkpoint runpack failed verification (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, SessionError::Runpack { source, .. } if source.is_verification_failure())
    }

    /// Whether `start` found a journal of another session or run.
    pub fn is_identity_conflict(&self) -> bool {
        matches!(self, SessionError::IdentityConflict { .. })
    }
}
