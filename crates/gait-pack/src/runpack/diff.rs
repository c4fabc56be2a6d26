//! Comparing two runpacks (`gait run diff`).
//!
//! Run metadata (run id, producer version, creation time), digests and
//! signatures are blanked before comparing, so two recordings of the same
//! run compare equal. Intents and results are matched by `intent_id`;
//! refs drift is classified as `none`, `runtime_only` (only retrieval
//! times or the context-set digest differ) or `semantic`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gait_digest::GoTime;
use serde::Serialize;

use super::RunpackError;
use super::model::{IntentRecord, Manifest, Refs, ResultRecord, canonical_bytes};
use super::read::{Runpack, read_runpack};

/// How much of the records a diff looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffPrivacy {
    /// Everything, raw arguments and results included.
    Full,
    /// Records without raw arguments and results; refs by receipt count.
    Metadata,
}

impl DiffPrivacy {
    /// `full` (also for `""`) or `metadata`, exactly; anything else is
    /// `unsupported privacy mode: <text>`.
    pub fn parse(text: &str) -> Result<Self, RunpackError> {
        match text {
            "" | "full" => Ok(DiffPrivacy::Full),
            "metadata" => Ok(DiffPrivacy::Metadata),
            _ => Err(RunpackError::Invalid(format!(
                "unsupported privacy mode: {text}"
            ))),
        }
    }

    /// `full` or `metadata`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffPrivacy::Full => "full",
            DiffPrivacy::Metadata => "metadata",
        }
    }
}

/// The diff summary (field names and `omitempty` as the reference).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct DiffSummary {
    /// The left run id.
    pub run_id_left: String,
    /// The right run id.
    pub run_id_right: String,
    /// The manifests differ after blanking run metadata, digests and
    /// signatures.
    pub manifest_changed: bool,
    /// Paths declared on one side only, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files_changed: Vec<String>,
    /// Some intent differs, or exists on one side only.
    pub intents_changed: bool,
    /// Some result differs, or exists on one side only.
    pub results_changed: bool,
    /// The refs differ (see [`DiffSummary::context_drift_classification`]).
    pub refs_changed: bool,
    /// Intent ids on the left only, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_only_intents: Vec<String>,
    /// Intent ids on the right only, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub right_only_intents: Vec<String>,
    /// Result intent ids on the left only, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_only_results: Vec<String>,
    /// Result intent ids on the right only, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub right_only_results: Vec<String>,
    /// `none`, `runtime_only` or `semantic`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context_drift_classification: String,
    /// Only runtime fields of the refs changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub context_runtime_only_changes: bool,
}

impl DiffSummary {
    /// Whether nothing that matters changed: manifest, intents, results
    /// and refs (a files change always shows as a manifest change).
    pub fn is_unchanged(&self) -> bool {
        !self.manifest_changed
            && !self.intents_changed
            && !self.results_changed
            && !self.refs_changed
    }
}

/// A runpack diff: the privacy mode and the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RunpackDiff {
    /// The privacy mode used.
    pub privacy: DiffPrivacy,
    /// What changed.
    pub summary: DiffSummary,
}

impl RunpackDiff {
    /// The diff as the reference writes it to `--output`: compact JSON,
    /// fields in declaration order, Go's HTML escaping, no newline.
    pub fn to_go_json(&self) -> Vec<u8> {
        let text = serde_json::to_string(self).unwrap_or_default();
        // `<`, `>`, `&`, U+2028 and U+2029 only occur inside strings.
        text.replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
            .into_bytes()
    }
}

/// Compares the runpacks at `left` and `right` (strict reads). The privacy
/// text is checked before either runpack is read.
pub fn diff_runpacks(
    left: &Path,
    right: &Path,
    privacy: &str,
) -> Result<RunpackDiff, RunpackError> {
    let privacy = DiffPrivacy::parse(privacy)?;
    let l = read_runpack(left)?;
    let r = read_runpack(right)?;
    Ok(diff_runpack_contents(&l, &r, privacy))
}

/// Compares two runpacks already read.
pub fn diff_runpack_contents(left: &Runpack, right: &Runpack, privacy: DiffPrivacy) -> RunpackDiff {
    let (intents_changed, left_only_intents, right_only_intents) = diff_records(
        &left.intents,
        &right.intents,
        |i: &IntentRecord| i.intent_id.clone(),
        |i| intent_digest(i, privacy),
    );
    let (results_changed, left_only_results, right_only_results) = diff_records(
        &left.results,
        &right.results,
        |r: &ResultRecord| r.intent_id.clone(),
        |r| result_digest(r, privacy),
    );
    let (refs_changed, drift, runtime_only) = match privacy {
        DiffPrivacy::Full => classify_refs_drift(&left.refs, &right.refs),
        DiffPrivacy::Metadata => (
            left.refs.receipts.len() != right.refs.receipts.len(),
            "none",
            false,
        ),
    };
    RunpackDiff {
        privacy,
        summary: DiffSummary {
            run_id_left: left.run.run_id.clone(),
            run_id_right: right.run.run_id.clone(),
            manifest_changed: blank_manifest(&left.manifest) != blank_manifest(&right.manifest),
            files_changed: files_changed(&left.manifest, &right.manifest),
            intents_changed,
            results_changed,
            refs_changed,
            left_only_intents,
            right_only_intents,
            left_only_results,
            right_only_results,
            context_drift_classification: drift.to_owned(),
            context_runtime_only_changes: runtime_only,
        },
    }
}

fn blank_manifest(m: &Manifest) -> Manifest {
    let mut m = m.clone();
    m.run_id = String::new();
    m.producer_version = String::new();
    m.created_at = GoTime::ZERO;
    m.manifest_digest = String::new();
    m.signatures = Vec::new();
    for f in m.files.iter_mut().flatten() {
        f.sha256 = String::new();
    }
    m
}

fn files_changed(left: &Manifest, right: &Manifest) -> Vec<String> {
    let paths = |m: &Manifest| -> BTreeSet<String> {
        m.files.iter().flatten().map(|f| f.path.clone()).collect()
    };
    let (l, r) = (paths(left), paths(right));
    l.symmetric_difference(&r).cloned().collect()
}

fn hex_digest(bytes: &[u8]) -> String {
    gait_digest::sha256(bytes).to_hex()
}

fn intent_digest(i: &IntentRecord, privacy: DiffPrivacy) -> String {
    let mut i = i.clone();
    i.run_id = String::new();
    i.producer_version = String::new();
    i.created_at = GoTime::ZERO;
    if privacy == DiffPrivacy::Metadata {
        i.args = None;
    }
    hex_digest(&canonical_bytes(&i))
}

fn result_digest(r: &ResultRecord, privacy: DiffPrivacy) -> String {
    let mut r = r.clone();
    r.run_id = String::new();
    r.producer_version = String::new();
    r.created_at = GoTime::ZERO;
    if privacy == DiffPrivacy::Metadata {
        r.result = None;
    }
    hex_digest(&canonical_bytes(&r))
}

/// `(changed, left_only, right_only)`; with repeated keys the last record
/// of a side counts.
fn diff_records<T>(
    left: &[T],
    right: &[T],
    key: impl Fn(&T) -> String,
    digest: impl Fn(&T) -> String,
) -> (bool, Vec<String>, Vec<String>) {
    let index = |records: &[T]| -> BTreeMap<String, String> {
        records.iter().map(|r| (key(r), digest(r))).collect()
    };
    let (l, r) = (index(left), index(right));
    let left_only: Vec<String> = l.keys().filter(|k| !r.contains_key(*k)).cloned().collect();
    let right_only: Vec<String> = r.keys().filter(|k| !l.contains_key(*k)).cloned().collect();
    let changed = !left_only.is_empty()
        || !right_only.is_empty()
        || l.iter().any(|(k, d)| r.get(k) != Some(d));
    (changed, left_only, right_only)
}

fn blank_refs(refs: &Refs) -> Refs {
    let mut refs = refs.clone();
    refs.run_id = String::new();
    refs.producer_version = String::new();
    refs.created_at = GoTime::ZERO;
    refs
}

/// `(changed, classification, runtime_only)` for two (normalized) refs.
fn classify_refs_drift(left: &Refs, right: &Refs) -> (bool, &'static str, bool) {
    if blank_refs(left) == blank_refs(right) {
        return (false, "none", false);
    }
    // Past this point the reference digests the refs with their run
    // metadata, so refs that differ in content and in run id are semantic
    // drift.
    let same_counts = left.context_evidence_mode == right.context_evidence_mode
        && left.context_ref_count == right.context_ref_count;
    if hex_digest(&canonical_bytes(left)) == hex_digest(&canonical_bytes(right))
        && left.context_set_digest == right.context_set_digest
        && same_counts
    {
        return (false, "none", false);
    }
    let runtime_comparable = |refs: &Refs| -> Refs {
        let mut refs = refs.clone();
        refs.context_set_digest = String::new();
        for r in &mut refs.receipts {
            r.retrieved_at = GoTime::from_unix(315_532_800, 0);
        }
        refs
    };
    if hex_digest(&canonical_bytes(&runtime_comparable(left)))
        == hex_digest(&canonical_bytes(&runtime_comparable(right)))
        && same_counts
    {
        return (true, "runtime_only", true);
    }
    (true, "semantic", false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runpack::{RefReceipt, RunpackError};

    fn refs(run_id: &str, retrieved: i64, locator: &str) -> Refs {
        let receipt = RefReceipt {
            ref_id: "ref_1".into(),
            source_locator: locator.into(),
            retrieved_at: GoTime::from_unix(retrieved, 0),
            ..RefReceipt::default()
        };
        Refs {
            run_id: run_id.into(),
            receipts: vec![receipt],
            context_ref_count: 1,
            ..Refs::default()
        }
    }

    #[test]
    fn privacy_parse() {
        assert_eq!(DiffPrivacy::parse("").unwrap(), DiffPrivacy::Full);
        assert_eq!(
            DiffPrivacy::parse("metadata").unwrap(),
            DiffPrivacy::Metadata
        );
        assert!(matches!(
            DiffPrivacy::parse("FULL"),
            Err(RunpackError::Invalid(m)) if m == "unsupported privacy mode: FULL"
        ));
    }

    #[test]
    fn refs_drift() {
        let a = refs("run_a", 1_700_000_000, "x");
        assert_eq!(classify_refs_drift(&a, &a), (false, "none", false));
        // Run metadata alone is blanked.
        assert_eq!(
            classify_refs_drift(&a, &refs("run_b", 1_700_000_000, "x")),
            (false, "none", false)
        );
        assert_eq!(
            classify_refs_drift(&a, &refs("run_a", 1_700_000_999, "x")),
            (true, "runtime_only", true)
        );
        assert_eq!(
            classify_refs_drift(&a, &refs("run_a", 1_700_000_000, "y")),
            (true, "semantic", false)
        );
        // A runtime change across run ids counts as semantic (as the
        // reference digests the refs with their run metadata).
        assert_eq!(
            classify_refs_drift(&a, &refs("run_b", 1_700_000_999, "x")),
            (true, "semantic", false)
        );
    }

    #[test]
    fn records_by_intent_id() {
        let rec = |id: &str, tool: &str| IntentRecord {
            intent_id: id.into(),
            tool_name: tool.into(),
            run_id: format!("run_{id}"),
            ..IntentRecord::default()
        };
        let d = |i: &IntentRecord| intent_digest(i, DiffPrivacy::Full);
        let k = |i: &IntentRecord| i.intent_id.clone();
        let l = vec![rec("a", "t"), rec("b", "t")];
        let r = vec![rec("b", "t"), rec("c", "t")];
        assert_eq!(
            diff_records(&l, &r, k, d),
            (true, vec!["a".to_owned()], vec!["c".to_owned()])
        );
        // Run ids are blanked.
        let r2 = vec![rec("b", "t"), rec("a", "t")];
        assert_eq!(diff_records(&l, &r2, k, d), (false, vec![], vec![]));
        let r3 = vec![rec("a", "t"), rec("b", "u")];
        assert_eq!(diff_records(&l, &r3, k, d), (true, vec![], vec![]));
    }

    #[test]
    fn metadata_privacy_drops_args() {
        let a = IntentRecord {
            intent_id: "i".into(),
            ..IntentRecord::default()
        };
        let mut b = a.clone();
        let mut args = serde_json::Map::new();
        args.insert("k".into(), serde_json::Value::from(1));
        b.args = Some(args);
        assert_ne!(
            intent_digest(&a, DiffPrivacy::Full),
            intent_digest(&b, DiffPrivacy::Full)
        );
        assert_eq!(
            intent_digest(&a, DiffPrivacy::Metadata),
            intent_digest(&b, DiffPrivacy::Metadata)
        );
    }

    #[test]
    fn go_json_order() {
        let d = RunpackDiff {
            privacy: DiffPrivacy::Full,
            summary: DiffSummary {
                run_id_left: "a<b".into(),
                context_drift_classification: "none".into(),
                ..DiffSummary::default()
            },
        };
        assert_eq!(
            String::from_utf8(d.to_go_json()).unwrap(),
            r#"{"privacy":"full","summary":{"run_id_left":"a\u003cb","run_id_right":"","manifest_changed":false,"intents_changed":false,"results_changed":false,"refs_changed":false,"context_drift_classification":"none"}}"#
        );
    }
}
