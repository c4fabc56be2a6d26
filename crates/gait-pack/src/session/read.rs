//! The strict journal reader: one pass over the journal's bytes.

use std::path::Path;

use gait_digest::canonical;
use serde_json::{Map, Value};

use super::record::{JournalHeader, SessionEvent, SessionState, is_hex64};
use super::{
    MAX_JOURNAL_LINE_BYTES, MAX_JOURNAL_RECORDS, SESSION_EVENT_SCHEMA_ID,
    SESSION_JOURNAL_SCHEMA_ID, SessionError,
};
use crate::runpack::{SESSION_CHECKPOINT_SCHEMA_ID, SESSION_SCHEMA_VERSION, SessionCheckpoint};

/// A journal as read: what every operation needs, and the raw lines
/// compaction keeps.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct JournalSnapshot {
    /// The header.
    pub header: JournalHeader,
    /// Every checkpoint record, in order.
    pub checkpoints: Vec<SessionCheckpoint>,
    /// The events after the last checkpoint's `sequence_end`, in order.
    pub pending: Vec<SessionEvent>,
    /// Events in the file.
    pub event_count: usize,
    /// The last event's sequence (0 when none).
    pub last_event_sequence: i64,
    /// The journal's size in bytes.
    pub size: u64,
    /// The raw lines (without newline) of the header, the checkpoints and
    /// the pending events, in that order: the compacted journal.
    pub(crate) kept_lines: KeptLines,
    /// Every event, in order (only when read for verification).
    pub(crate) all_events: Vec<SessionEvent>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct KeptLines {
    pub(crate) header: Vec<u8>,
    pub(crate) checkpoints: Vec<Vec<u8>>,
    pub(crate) pending: Vec<Vec<u8>>,
}

impl JournalSnapshot {
    /// The last sequence used: the larger of the last event's sequence and
    /// the last checkpoint's `sequence_end` (so that a journal compacted
    /// right after a checkpoint continues its numbering).
    pub fn last_sequence(&self) -> i64 {
        self.last_event_sequence
            .max(self.checkpoints.last().map_or(0, |c| c.sequence_end))
    }

    /// The last checkpoint's `sequence_end` (0 when none).
    pub fn last_checkpoint_sequence(&self) -> i64 {
        self.checkpoints.last().map_or(0, |c| c.sequence_end)
    }

    /// The compacted journal: the header, every checkpoint, and the
    /// pending events, each line kept byte for byte.
    pub fn compacted_bytes(&self) -> Vec<u8> {
        let k = &self.kept_lines;
        let mut out = Vec::new();
        for line in std::iter::once(&k.header)
            .chain(k.checkpoints.iter())
            .chain(k.pending.iter())
        {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out
    }

    /// The state cache this journal implies.
    pub fn state(&self, producer: &str, now: gait_digest::GoTime) -> SessionState {
        let (schema_id, schema_version) = SessionState::schema();
        let last = self.checkpoints.last();
        SessionState {
            schema_id,
            schema_version,
            updated_at: now,
            producer_version: producer.to_owned(),
            session_id: self.header.session_id.clone(),
            run_id: self.header.run_id.clone(),
            created_at: self.header.created_at,
            started_at: self.header.started_at,
            event_count: i64::try_from(self.event_count).unwrap_or(i64::MAX),
            last_sequence: self.last_sequence(),
            checkpoint_count: i64::try_from(self.checkpoints.len()).unwrap_or(i64::MAX),
            last_checkpoint_index: last.map_or(0, |c| c.checkpoint_index),
            last_checkpoint_sequence: last.map_or(0, |c| c.sequence_end),
            last_checkpoint_digest: last
                .map(|c| c.checkpoint_digest.clone())
                .unwrap_or_default(),
            journal_size_bytes: i64::try_from(self.size).unwrap_or(i64::MAX),
        }
    }
}

/// Refuses member names that differ only in case (`verdict` and
/// `Verdict`), at any depth: a case-insensitive reader would pick one of
/// them.
fn refuse_case_variants(v: &Value) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            let mut seen = std::collections::HashSet::new();
            for (k, inner) in m {
                let folded: String = k.chars().flat_map(char::to_lowercase).collect();
                if !seen.insert(folded) {
                    return Err(format!("member names differ only in case: {k:?}"));
                }
                refuse_case_variants(inner)?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(refuse_case_variants),
        _ => Ok(()),
    }
}

fn take_payload<T: serde::de::DeserializeOwned>(
    mut obj: Map<String, Value>,
    kind: &str,
) -> Result<T, String> {
    if let Some(other) = obj.keys().find(|k| *k != "record_type" && *k != kind) {
        return Err(format!("unexpected member {other:?} in a {kind} record"));
    }
    match obj.remove(kind) {
        None | Some(Value::Null) => Err(format!("{kind} record has no {kind} payload")),
        Some(v) => serde_json::from_value(v).map_err(|e| format!("{kind}: {e}")),
    }
}

fn check_schema(kind: &str, id: &str, version: &str, want: &str) -> Result<(), String> {
    if id != want || version != SESSION_SCHEMA_VERSION {
        return Err(format!(
            "{kind} schema must be {want} {SESSION_SCHEMA_VERSION}, got {id:?} {version:?}"
        ));
    }
    Ok(())
}

/// Reads a journal's bytes strictly (see the [module](super) docs).
/// `path` only names the journal in errors.
///
/// # Errors
///
/// [`SessionError::Corrupt`] naming the line and the fault.
pub fn parse_journal(path: &Path, bytes: &[u8]) -> Result<JournalSnapshot, SessionError> {
    parse(bytes, false).map_err(|detail| SessionError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })
}

/// [`parse_journal`], keeping every event (for verification).
pub(crate) fn parse_journal_all(
    path: &Path,
    bytes: &[u8],
) -> Result<JournalSnapshot, SessionError> {
    parse(bytes, true).map_err(|detail| SessionError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })
}

struct Cursor {
    expected_sequence: i64,
    last_index: i64,
    last_end: i64,
    last_digest: String,
}

fn parse(bytes: &[u8], keep_all: bool) -> Result<JournalSnapshot, String> {
    let mut all_events = Vec::new();
    let mut header: Option<(JournalHeader, Vec<u8>)> = None;
    let mut checkpoints = Vec::new();
    let mut pending: Vec<(SessionEvent, Vec<u8>)> = Vec::new();
    let mut kept_checkpoints = Vec::new();
    let mut event_count = 0_usize;
    let mut last_event_sequence = 0_i64;
    let mut records = 0_usize;
    let mut cur = Cursor {
        expected_sequence: 1,
        last_index: 0,
        last_end: 0,
        last_digest: String::new(),
    };
    let mut rest = bytes;
    let mut n = 0_usize;
    while !rest.is_empty() {
        n += 1;
        let (raw, terminated, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                true,
                rest.get(i + 1..).unwrap_or_default(),
            ),
            None => (rest, false, &[][..]),
        };
        rest = next;
        if raw.len() > MAX_JOURNAL_LINE_BYTES {
            return Err(format!(
                "session journal line {n} exceeds {MAX_JOURNAL_LINE_BYTES} bytes"
            ));
        }
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        records += 1;
        if records > MAX_JOURNAL_RECORDS {
            return Err(format!(
                "session journal holds more than {MAX_JOURNAL_RECORDS} records"
            ));
        }
        let value = canonical::parse_strict(line)
            .map_err(|e| format!("session journal parse line {n}: {e}"))?;
        refuse_case_variants(&value).map_err(|e| format!("session journal parse line {n}: {e}"))?;
        if !terminated {
            return Err(format!(
                "session journal line {n} is not newline-terminated (torn write)"
            ));
        }
        let Value::Object(obj) = value else {
            return Err(format!(
                "session journal parse line {n}: a record must be a JSON object"
            ));
        };
        let record_type = match obj.get("record_type") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => {
                return Err(format!(
                    "session journal parse line {n}: record_type must be a string"
                ));
            }
        };
        let bad = |e: String| format!("session journal parse line {n}: {e}");
        match record_type.as_str() {
            "header" => {
                let h: JournalHeader = take_payload(obj, "header").map_err(bad)?;
                if header.is_some() {
                    return Err("session journal contains duplicate header".to_owned());
                }
                check_schema(
                    "header",
                    &h.schema_id,
                    &h.schema_version,
                    SESSION_JOURNAL_SCHEMA_ID,
                )
                .map_err(bad)?;
                if h.session_id.trim().is_empty() || h.run_id.trim().is_empty() {
                    return Err(format!(
                        "session journal header missing session_id/run_id at line {n}"
                    ));
                }
                header = Some((h, line.to_vec()));
            }
            "event" => {
                let e: SessionEvent = take_payload(obj, "event").map_err(bad)?;
                let Some((h, _)) = &header else {
                    return Err("session journal event encountered before header".to_owned());
                };
                check_schema(
                    "event",
                    &e.schema_id,
                    &e.schema_version,
                    SESSION_EVENT_SCHEMA_ID,
                )
                .map_err(bad)?;
                if e.sequence != cur.expected_sequence {
                    return Err(format!(
                        "session event sequence mismatch line {n}: got {} want {}",
                        e.sequence, cur.expected_sequence
                    ));
                }
                if e.session_id != h.session_id || e.run_id != h.run_id {
                    return Err(format!("session event identity mismatch at line {n}"));
                }
                check_event(&e).map_err(bad)?;
                if keep_all {
                    all_events.push(e.clone());
                }
                cur.expected_sequence = e
                    .sequence
                    .checked_add(1)
                    .ok_or_else(|| bad("sequence overflows".to_owned()))?;
                event_count += 1;
                last_event_sequence = e.sequence;
                pending.push((e, line.to_vec()));
            }
            "checkpoint" => {
                let c: SessionCheckpoint = take_payload(obj, "checkpoint").map_err(bad)?;
                let Some((h, _)) = &header else {
                    return Err("session journal checkpoint encountered before header".to_owned());
                };
                check_schema(
                    "checkpoint",
                    &c.schema_id,
                    &c.schema_version,
                    SESSION_CHECKPOINT_SCHEMA_ID,
                )
                .map_err(bad)?;
                check_checkpoint(&c, h, &cur, n)?;
                cur.last_index = c.checkpoint_index;
                cur.last_end = c.sequence_end;
                cur.last_digest.clone_from(&c.checkpoint_digest);
                let after = c
                    .sequence_end
                    .checked_add(1)
                    .ok_or_else(|| bad("sequence overflows".to_owned()))?;
                cur.expected_sequence = cur.expected_sequence.max(after);
                pending.retain(|(e, _)| e.sequence > c.sequence_end);
                kept_checkpoints.push(line.to_vec());
                checkpoints.push(c);
            }
            other => {
                return Err(format!(
                    "session journal line {n} has unsupported record_type {other:?}"
                ));
            }
        }
    }
    let Some((header, header_line)) = header else {
        return Err("session journal missing header".to_owned());
    };
    let (pending, pending_lines): (Vec<_>, Vec<_>) = pending.into_iter().unzip();
    Ok(JournalSnapshot {
        header,
        checkpoints,
        pending,
        event_count,
        last_event_sequence,
        size: bytes.len() as u64,
        kept_lines: KeptLines {
            header: header_line,
            checkpoints: kept_checkpoints,
            pending: pending_lines,
        },
        all_events,
    })
}

/// What an event must hold beyond its sequence and identity: a tool, a
/// known verdict, digests that are digests.
fn check_event(e: &SessionEvent) -> Result<(), String> {
    if e.tool_name.trim().is_empty() {
        return Err("event.tool_name is required".to_owned());
    }
    if e.verdict().is_none() {
        return Err(format!(
            "event.verdict {:?} is not allow, block, dry_run or require_approval",
            e.verdict
        ));
    }
    for (field, v) in [
        ("intent_digest", &e.intent_digest),
        ("policy_digest", &e.policy_digest),
    ] {
        if !v.is_empty() && !is_hex64(v) {
            return Err(format!("event.{field} must be 64 lowercase hex characters"));
        }
    }
    match &e.relationship {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(r)) => check_event_relationship(e, r),
        Some(_) => Err("event.relationship must be an object".to_owned()),
    }
}

/// The parts of an event's relationship that follow from its fields must
/// agree with them: the parent session, the policy reference, and the run,
/// tool, trace and policy entities.
fn check_event_relationship(e: &SessionEvent, r: &Map<String, Value>) -> Result<(), String> {
    let session = serde_json::json!({"kind": "session", "id": e.session_id});
    if r.get("parent_ref") != Some(&session)
        || r.get("parent_record_id").and_then(Value::as_str) != Some(e.session_id.as_str())
    {
        return Err("event.relationship does not name the event's session".to_owned());
    }
    let policy = crate::runpack::PolicyRef {
        policy_id: e.policy_id.clone(),
        policy_version: e.policy_version.clone(),
        policy_digest: e.policy_digest.clone(),
        matched_rule_ids: e.matched_rule_ids.clone(),
    };
    let expected = serde_json::to_value(&policy).map_err(|x| x.to_string())?;
    let empty = expected.as_object().is_none_or(Map::is_empty);
    let stored = r.get("policy_ref");
    if (empty && stored.is_some_and(|v| !v.is_null())) || (!empty && stored != Some(&expected)) {
        return Err("event.relationship.policy_ref does not match the event's policy".to_owned());
    }
    let refs = r.get("entity_refs").and_then(Value::as_array);
    for (kind, id) in [
        ("run", &e.run_id),
        ("tool", &e.tool_name),
        ("trace", &e.trace_id),
        ("policy", &e.policy_digest),
    ] {
        if id.is_empty() {
            continue;
        }
        let want = serde_json::json!({"kind": kind, "id": id});
        if !refs.is_some_and(|list| list.contains(&want)) {
            return Err(format!(
                "event.relationship.entity_refs does not hold the event's {kind}"
            ));
        }
    }
    Ok(())
}

fn check_checkpoint(
    c: &SessionCheckpoint,
    h: &JournalHeader,
    cur: &Cursor,
    n: usize,
) -> Result<(), String> {
    if c.session_id != h.session_id || c.run_id != h.run_id {
        return Err(format!("session checkpoint identity mismatch at line {n}"));
    }
    if Some(c.checkpoint_index) != cur.last_index.checked_add(1) {
        return Err(format!(
            "session checkpoint index mismatch line {n}: got {} want {}",
            c.checkpoint_index,
            cur.last_index.saturating_add(1)
        ));
    }
    if c.sequence_start < 1 || c.sequence_end < c.sequence_start {
        return Err(format!(
            "session checkpoint sequence range invalid at line {n}"
        ));
    }
    if c.sequence_start <= cur.last_end {
        return Err(format!("session checkpoint sequence overlap at line {n}"));
    }
    if c.checkpoint_index >= 2 && c.prev_checkpoint_digest != cur.last_digest {
        return Err(format!(
            "session checkpoint prev digest mismatch at line {n}"
        ));
    }
    if c.checkpoint_index == 1 && !c.prev_checkpoint_digest.is_empty() {
        return Err(format!(
            "session checkpoint prev digest mismatch at line {n}"
        ));
    }
    if !is_hex64(&c.manifest_digest) {
        return Err(format!(
            "session checkpoint manifest_digest invalid at line {n}"
        ));
    }
    if !c.digest_matches() {
        return Err(format!("session checkpoint digest invalid at line {n}"));
    }
    if c.runpack_path.trim().is_empty() {
        return Err(format!(
            "session checkpoint runpack_path missing at line {n}"
        ));
    }
    Ok(())
}
