//! A runpack's timeline (`gait run inspect`): each intent in recorded
//! order joined to its result, the results no intent names, and the intent
//! ids with more than one result.
//!
//! The first result of an intent id counts; later ones are reported as
//! duplicates. Results whose intent id names no recorded intent are listed
//! as unmatched, sorted by intent id, then result digest.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::model::ResultRecord;
use super::read::Runpack;

/// What a result says, as far as it can be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct ResultSummary {
    /// The intent id it answers (set for unmatched results only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    /// `status`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// `result_digest`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub result_digest: String,
    /// The raw result's `verdict` (raw capture only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub verdict: String,
    /// The raw result's `reason_codes`, trimmed, sorted, unique.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<String>,
    /// The raw result's `violations`, trimmed, sorted, unique.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
}

impl ResultSummary {
    fn of(r: &ResultRecord, with_intent: bool) -> Self {
        let payload = r.result.as_ref();
        let verdict = payload
            .and_then(|p| p.get("verdict"))
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let list = |key: &str| -> Vec<String> {
            let items: Vec<String> = match payload.and_then(|p| p.get(key)) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_owned())
                    .collect(),
                Some(Value::String(s)) => vec![s.trim().to_owned()],
                _ => Vec::new(),
            };
            let set: BTreeSet<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
            set.into_iter().collect()
        };
        Self {
            intent_id: with_intent.then(|| r.intent_id.clone()),
            status: r.status.clone(),
            result_digest: r.result_digest.clone(),
            verdict,
            reason_codes: list("reason_codes"),
            violations: list("violations"),
        }
    }
}

/// One intent of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TimelineEntry {
    /// 1-based position in `intents.jsonl`.
    pub index: usize,
    /// `intent_id`.
    pub intent_id: String,
    /// `tool_name`.
    pub tool_name: String,
    /// `created_at`, UTC.
    pub created_at: String,
    /// `args_digest`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub args_digest: String,
    /// Its (first) result, when there is one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultSummary>,
}

/// The timeline of a runpack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Timeline {
    /// The intents in recorded order.
    pub entries: Vec<TimelineEntry>,
    /// Results naming no recorded intent.
    pub unmatched: Vec<ResultSummary>,
    /// Intent ids with more than one result (`(empty)` for an empty id).
    pub duplicates: Vec<String>,
}

impl Timeline {
    /// The warnings `gait run inspect` prints for duplicates.
    pub fn warnings(&self) -> Vec<String> {
        self.duplicates
            .iter()
            .map(|id| format!("multiple result records for intent_id={id} (kept first)"))
            .collect()
    }
}

/// Builds the timeline of `pack`.
pub fn timeline(pack: &Runpack) -> Timeline {
    let mut first: BTreeMap<&str, &ResultRecord> = BTreeMap::new();
    let mut duplicates: BTreeSet<String> = BTreeSet::new();
    for r in &pack.results {
        if first.contains_key(r.intent_id.as_str()) {
            let id = r.intent_id.trim();
            duplicates.insert(if id.is_empty() {
                "(empty)".to_owned()
            } else {
                id.to_owned()
            });
        } else {
            first.insert(&r.intent_id, r);
        }
    }
    let entries = pack
        .intents
        .iter()
        .enumerate()
        .map(|(i, intent)| TimelineEntry {
            index: i + 1,
            intent_id: intent.intent_id.clone(),
            tool_name: intent.tool_name.clone(),
            created_at: intent.created_at.to_utc().format(),
            args_digest: intent.args_digest.clone(),
            result: first
                .get(intent.intent_id.as_str())
                .map(|r| ResultSummary::of(r, false)),
        })
        .collect();
    let intent_ids: BTreeSet<&str> = pack.intents.iter().map(|i| i.intent_id.as_str()).collect();
    let mut unmatched: Vec<&ResultRecord> = pack
        .results
        .iter()
        .filter(|r| !intent_ids.contains(r.intent_id.as_str()))
        .collect();
    unmatched.sort_by(|x, y| {
        x.intent_id
            .cmp(&y.intent_id)
            .then_with(|| x.result_digest.cmp(&y.result_digest))
    });
    Timeline {
        entries,
        unmatched: unmatched
            .into_iter()
            .map(|r| ResultSummary::of(r, true))
            .collect(),
        duplicates: duplicates.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing, reason = "tests")]
    use super::*;
    use crate::runpack::model::{IntentRecord, Manifest, Refs, Run};

    fn intent(id: &str, tool: &str) -> IntentRecord {
        IntentRecord {
            intent_id: id.into(),
            tool_name: tool.into(),
            ..IntentRecord::default()
        }
    }

    fn result(id: &str, digest: &str, verdict: &str) -> ResultRecord {
        let mut payload = serde_json::Map::new();
        payload.insert("verdict".into(), Value::from(verdict));
        payload.insert(
            "reason_codes".into(),
            serde_json::json!([" b ", "a", "a", ""]),
        );
        ResultRecord {
            intent_id: id.into(),
            status: "ok".into(),
            result_digest: digest.into(),
            result: Some(payload),
            ..ResultRecord::default()
        }
    }

    #[test]
    fn joins_first_results_and_reports_the_rest() {
        let pack = Runpack {
            manifest: Manifest::default(),
            run: Run::default(),
            intents: vec![intent("i1", "tool.read"), intent("i2", "tool.write")],
            results: vec![
                result("i1", "d1", "allow"),
                result("i1", "d2", "block"),
                result("zz", "d4", "allow"),
                result("", "d3", "allow"),
                result("", "d5", "allow"),
            ],
            refs: Refs::default(),
        };
        let t = timeline(&pack);
        assert_eq!(t.entries.len(), 2);
        let first = t.entries[0].result.as_ref().map(|r| r.verdict.as_str());
        assert_eq!(first, Some("allow"), "the first result counts");
        assert_eq!(
            t.entries[0].result.as_ref().map(|r| r.reason_codes.clone()),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(t.entries[1].result.is_none());
        assert_eq!(t.entries[1].index, 2);
        let unmatched: Vec<(Option<&str>, &str)> = t
            .unmatched
            .iter()
            .map(|r| (r.intent_id.as_deref(), r.result_digest.as_str()))
            .collect();
        assert_eq!(
            unmatched,
            [(Some(""), "d3"), (Some(""), "d5"), (Some("zz"), "d4")]
        );
        assert_eq!(t.duplicates, ["(empty)", "i1"]);
        assert_eq!(
            t.warnings()[1],
            "multiple result records for intent_id=i1 (kept first)"
        );
        let json = serde_json::to_value(&t.entries[0]).unwrap_or_default();
        assert_eq!(json["verdict"], "allow");
        assert!(json.get("intent_id").is_some() && json.get("args_digest").is_none());
    }
}
