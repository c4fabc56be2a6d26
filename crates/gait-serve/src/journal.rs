//! Session journals at the decision service: every decision of a request
//! that names a session is appended to that session's journal, and
//! checkpointed every `checkpoint_interval` events.

use std::path::{Path, PathBuf};

use gait_pack::session::{
    EventInput, LockConfig, SessionError, SessionJournal, SessionPath, SessionVerdict,
};
use gait_trace::TraceRecord;

use crate::error::ServeError;

/// Where and how the service journals sessions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionJournals {
    /// The directory of server-chosen journals
    /// (`<dir>/<session>.journal.jsonl`).
    pub dir: PathBuf,
    /// The journal lock configuration.
    pub lock: LockConfig,
}

impl SessionJournals {
    /// Journals in `dir` with the standard lock profile.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: LockConfig::default(),
        }
    }

    /// Sets the lock configuration.
    #[must_use]
    pub fn with_lock_config(mut self, lock: LockConfig) -> Self {
        self.lock = lock;
        self
    }
}

/// A session id as a file name: `/`, `\`, space and `:` become `_`,
/// leading and trailing `.` and `_` are trimmed; `session` when nothing is
/// left.
pub fn session_file_base(session_id: &str) -> String {
    let mapped: String = session_id
        .trim()
        .chars()
        .map(|c| match c {
            '/' | '\\' | ' ' | ':' => '_',
            c => c,
        })
        .collect();
    let t = mapped.trim_matches(|c| c == '.' || c == '_');
    if t.is_empty() {
        "session".to_owned()
    } else {
        t.to_owned()
    }
}

/// What one decision adds to its session.
pub(crate) struct JournalRequest<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) run_id: &'a str,
    pub(crate) client_journal: Option<&'a str>,
    pub(crate) checkpoint_interval: i64,
    pub(crate) runpack_dir: Option<&'a Path>,
    pub(crate) producer: &'a str,
}

fn session_err(e: SessionError) -> ServeError {
    ServeError::InvalidInput(format!("session journal: {e}"))
}

fn path(p: &Path) -> Result<SessionPath, ServeError> {
    SessionPath::new(&p.to_string_lossy()).map_err(session_err)
}

/// Journals one decision: starts the session (run id = the decision's),
/// appends the event and, every `checkpoint_interval` events with a
/// runpack directory, writes a checkpoint. Returns the warnings to add.
///
/// A server-chosen journal that belongs to another run is replaced by
/// `<session>_<run>.journal.jsonl`; a client-chosen one is an error.
pub(crate) fn journal_decision(
    cfg: &SessionJournals,
    req: &JournalRequest<'_>,
    event: &EventInput,
) -> Result<Vec<String>, ServeError> {
    let base = session_file_base(req.session_id);
    let open = |p: SessionPath| {
        SessionJournal::new(p)
            .with_lock_config(cfg.lock)
            .with_producer_version(req.producer)
    };
    // Checkpoint runpacks are named after the journal, so that the
    // journal of another run never overwrites the first run's evidence.
    let (journal, cp_base) = match req.client_journal {
        Some(text) => {
            let j = open(SessionPath::new(text).map_err(session_err)?);
            j.start(req.session_id, req.run_id).map_err(session_err)?;
            (j, base.clone())
        }
        None => {
            let j = open(path(&cfg.dir.join(format!("{base}.journal.jsonl")))?);
            match j.start(req.session_id, req.run_id) {
                Ok(_) => (j, base.clone()),
                Err(e) if e.is_identity_conflict() => {
                    let alt_base = format!("{base}_{}", req.run_id);
                    let alt = open(path(&cfg.dir.join(format!("{alt_base}.journal.jsonl")))?);
                    alt.start(req.session_id, req.run_id).map_err(session_err)?;
                    (alt, alt_base)
                }
                Err(e) => return Err(session_err(e)),
            }
        }
    };
    let appended = journal.append(event).map_err(session_err)?;
    let mut warnings = vec![format!(
        "session_journal={} sequence={}",
        journal.path().as_str(),
        appended.sequence
    )];
    if let Some(dir) = req.runpack_dir {
        let n = req.checkpoint_interval;
        if n > 0 && appended.sequence % n == 0 {
            let out = path(&dir.join(format!("{cp_base}_cp_{:06}.zip", appended.sequence)))?;
            let done = journal.checkpoint(&out, None).map_err(session_err)?;
            warnings.push(format!(
                "session_checkpoint={} chain={}",
                out.as_str(),
                done.chain_path.display()
            ));
        }
    }
    Ok(warnings)
}

/// The event of a decision's trace (with the safety invariant of the
/// job the call names, when it has one).
pub(crate) fn event_of(
    trace: &TraceRecord,
    trace_path: &Path,
    reason_codes: &[String],
    violations: &[String],
    invariant: Option<&(String, String)>,
) -> Result<EventInput, ServeError> {
    let verdict = SessionVerdict::parse(&trace.verdict).map_err(session_err)?;
    Ok(EventInput::new(&trace.tool_name, verdict)
        .with_trace("", &trace.trace_id, &trace_path.to_string_lossy())
        .with_digests(&trace.intent_digest, &trace.policy_digest)
        .with_policy(
            &trace.policy_id,
            &trace.policy_version,
            trace.matched_rule_ids.clone(),
        )
        .with_reasons(reason_codes.to_vec(), violations.to_vec())
        .with_decision_relationship(trace.relationship.as_ref())
        .with_safety_invariant(
            invariant.map_or("", |(v, _)| v.as_str()),
            invariant.map_or("", |(_, h)| h.as_str()),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        assert_eq!(session_file_base("ctx/sess"), "ctx_sess");
        assert_eq!(session_file_base(" a b:c\\d "), "a_b_c_d");
        assert_eq!(session_file_base("._x._"), "x");
        assert_eq!(session_file_base("/..//"), "session");
        assert_eq!(session_file_base(""), "session");
    }
}
