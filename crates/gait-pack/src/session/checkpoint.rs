//! The runpack of a checkpoint: one intent and one result per event.

use gait_digest::GoTime;
use serde_json::{Map, Value, json};

use super::record::checkpoint_status;
use super::{SessionError, SessionEvent};
use crate::runpack::{
    IntentRecord, RecordInput, Recorded, ResultRecord, Run, RunRecorder, RunpackError,
    TimelineEvent,
};

/// The checkpoint runpack's run id: `<run_id>_cp_<NNNN>`.
pub(crate) fn checkpoint_run_id(run_id: &str, index: i64) -> String {
    format!("{run_id}_cp_{index:04}")
}

fn null_if_empty(items: &[String]) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

/// The intent and result records of `events` (the events of one
/// checkpoint of the session `session_id`), digests computed.
///
/// Intents: `intent_id` the event's, else `intent_<k>` (k counted within
/// this checkpoint); args `{session_id, sequence, trace_id, trace_path}`
/// are digested (and not kept); `args_digest` is the event's intent digest
/// when set. Results: status `error` for block and require_approval, `ok`
/// otherwise; the digest of `{verdict, reason_codes, violations, trace_id,
/// trace_path}` (empty lists as null).
pub(crate) fn checkpoint_records(
    session_id: &str,
    events: &[SessionEvent],
) -> Result<Vec<(IntentRecord, ResultRecord)>, RunpackError> {
    let mut out = Vec::with_capacity(events.len());
    for (k, e) in events.iter().enumerate() {
        let verdict = e.verdict().ok_or_else(|| {
            RunpackError::Invalid(format!("event {}: unsupported verdict", e.sequence))
        })?;
        let intent_id = if e.intent_id.is_empty() {
            format!("intent_{}", k + 1)
        } else {
            e.intent_id.clone()
        };
        let args_digest = if e.intent_digest.is_empty() {
            gait_digest::digest_json(&json!({
                "session_id": session_id,
                "sequence": e.sequence,
                "trace_id": e.trace_id,
                "trace_path": e.trace_path,
            }))
            .to_hex()
        } else {
            e.intent_digest.clone()
        };
        let mut result = Map::new();
        result.insert("verdict".into(), json!(e.verdict));
        result.insert("reason_codes".into(), null_if_empty(&e.reason_codes));
        result.insert("violations".into(), null_if_empty(&e.violations));
        result.insert("trace_id".into(), json!(e.trace_id));
        result.insert("trace_path".into(), json!(e.trace_path));
        let intent = IntentRecord {
            created_at: e.created_at,
            intent_id: intent_id.clone(),
            tool_name: e.tool_name.clone(),
            args_digest,
            ..IntentRecord::default()
        };
        let result = ResultRecord {
            created_at: e.created_at,
            intent_id,
            status: checkpoint_status(verdict).to_owned(),
            result_digest: gait_digest::digest_json(&Value::Object(result)).to_hex(),
            ..ResultRecord::default()
        };
        out.push((intent, result));
    }
    Ok(out)
}

/// Records the unsigned reference-capture runpack `cp_run_id` of `events`
/// ([`checkpoint_records`]), created at `now`, with a timeline of one
/// `session_event` per event and a final `session_checkpoint_emitted`.
pub(crate) fn record_checkpoint(
    session_id: &str,
    cp_run_id: &str,
    index: i64,
    events: &[SessionEvent],
    producer: &str,
    now: GoTime,
) -> Result<Recorded, RunpackError> {
    let (intents, results) = checkpoint_records(session_id, events)?.into_iter().unzip();
    let mut timeline: Vec<TimelineEvent> = events
        .iter()
        .map(|e| TimelineEvent {
            event: "session_event".to_owned(),
            ts: e.created_at,
            reference: e.trace_id.clone(),
            relationship: None,
        })
        .collect();
    timeline.push(TimelineEvent {
        event: "session_checkpoint_emitted".to_owned(),
        ts: now,
        reference: format!("checkpoint:{index}"),
        relationship: None,
    });
    let input = RecordInput {
        run: Run {
            run_id: cp_run_id.to_owned(),
            created_at: now,
            producer_version: producer.to_owned(),
            timeline: Some(timeline),
            ..Run::default()
        },
        intents,
        results,
        ..RecordInput::default()
    };
    RunRecorder::new(input).now(now).record()
}

/// Errors of checkpoint recording, naming the runpack.
pub(crate) fn runpack_error(path: &std::path::Path, source: RunpackError) -> SessionError {
    SessionError::Runpack {
        path: path.to_path_buf(),
        source,
    }
}
