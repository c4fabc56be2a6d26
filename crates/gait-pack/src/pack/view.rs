//! `inspect_pack` and `diff_packs`: read-only views of packs.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use gait_digest::GoTime;
use serde::Serialize;
use serde_json::Value;

use super::error::{PackError, from_archive};
use super::legacy::{LegacySource, read_legacy};
use super::manifest::{MANIFEST_FILE, PackManifest, deterministic_time};
use super::payload::{RUN_PAYLOAD_FILE, RUN_PAYLOAD_SCHEMA_ID, RunPayload, SOURCE_RUNPACK_FILE};
use super::verify::{MAX_PACK_ENTRY_BYTES, check_duplicates, open_path};
use crate::archive::Archive;
use crate::runpack::{Refs, Runpack};

/// One intent and its result, for lineage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentResultLink {
    /// The intent id.
    pub intent_id: String,
    /// The tool called (omitted when unknown).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub tool_name: String,
    /// The result status (omitted when there is no result).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
}

/// What a run pack's embedded runpack says about the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunLineage {
    /// Number of timeline events.
    pub timeline_events: usize,
    /// Number of reference receipts.
    pub receipt_count: usize,
    /// Intents and results joined by intent id, sorted by it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub intent_results: Vec<IntentResultLink>,
}

/// The result of inspecting a pack (the `inspect` object of the CLI
/// output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InspectReport {
    /// The pack id (a legacy runpack's manifest digest).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_id: String,
    /// The pack type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_type: String,
    /// The source reference.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ref: String,
    /// The manifest (absent for legacy runpacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<PackManifest>,
    /// The run payload, when it decodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_payload: Option<RunPayload>,
    /// The run lineage, when the embedded runpack reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_lineage: Option<RunLineage>,
    /// The job payload of a job pack, when it decodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_payload: Option<super::JobPayload>,
    /// The job lineage of a job pack, when its state and events decode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_lineage: Option<super::JobLineage>,
    /// The call payload of a call pack, when it decodes strictly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_payload: Option<super::CallPayload>,
    /// The bundle of an authorization pack, when it decodes strictly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_bundle: Option<super::AuthorizationBundle>,
    /// The payload derived from that bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_payload: Option<super::AuthorizationPayload>,
    /// `runpack` for a legacy runpack.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub legacy_type: String,
}

impl InspectReport {
    /// The report as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn lineage(data: &Runpack) -> RunLineage {
    let mut links: BTreeMap<String, IntentResultLink> = BTreeMap::new();
    for i in &data.intents {
        links.insert(
            i.intent_id.clone(),
            IntentResultLink {
                intent_id: i.intent_id.clone(),
                tool_name: i.tool_name.clone(),
                status: String::new(),
            },
        );
    }
    for r in &data.results {
        let link = links
            .entry(r.intent_id.clone())
            .or_insert_with(|| IntentResultLink {
                intent_id: r.intent_id.clone(),
                tool_name: String::new(),
                status: String::new(),
            });
        link.status.clone_from(&r.status);
    }
    RunLineage {
        timeline_events: data.run.timeline.as_ref().map_or(0, Vec::len),
        receipt_count: data.refs.receipts.len(),
        intent_results: links.into_values().collect(),
    }
}

fn legacy_payload(data: &Runpack, created_at: GoTime) -> RunPayload {
    let receipts = data.refs.receipts.len() as i64;
    RunPayload {
        schema_id: RUN_PAYLOAD_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at,
        run_id: data.run.run_id.clone(),
        capture_mode: data.manifest.capture_mode.clone(),
        manifest_digest: data.manifest.manifest_digest.clone(),
        intents_count: data.intents.len() as i64,
        results_count: data.results.len() as i64,
        refs_count: receipts,
        context_set_digest: data.refs.context_set_digest.clone(),
        context_ref_count: receipts,
        context_evidence_mode: data.refs.context_evidence_mode.clone(),
        context_privacy_mode: super::payload::context_privacy_mode(
            data.refs.receipts.iter().map(|r| r.redaction_mode.as_str()),
        ),
    }
}

/// An opened pack: its manifest or, for a legacy runpack, `None`.
fn open_manifest<R: Read + Seek>(
    archive: &mut Archive<R>,
) -> Result<Option<(Vec<u8>, PackManifest)>, PackError> {
    check_duplicates(archive)?;
    if archive.entry(MANIFEST_FILE).is_none() {
        if archive.entry("manifest.json").is_some() {
            return Ok(None);
        }
        return Err(PackError::invalid(format!("missing {MANIFEST_FILE}")));
    }
    let bytes = archive
        .read(MANIFEST_FILE, MAX_PACK_ENTRY_BYTES)
        .map_err(|e| from_archive("read manifest", e))?;
    let manifest = PackManifest::parse(&bytes).map_err(|e| PackError::invalid(e.0))?;
    Ok(Some((bytes, manifest)))
}

fn read_optional<R: Read + Seek>(archive: &mut Archive<R>, name: &str) -> Option<Vec<u8>> {
    archive.entry(name)?;
    archive.read(name, MAX_PACK_ENTRY_BYTES).ok()
}

fn embedded_runpack<R: Read + Seek>(archive: &mut Archive<R>) -> Option<Runpack> {
    let bytes = read_optional(archive, SOURCE_RUNPACK_FILE)?;
    read_legacy(LegacySource::Bytes(&bytes)).ok()
}

/// Inspects a pack: manifest, decoded run payload and run lineage (from
/// the embedded runpack), the job payload and lineage of a job pack, the
/// call payload of a call pack, the bundle and derived payload of an
/// authorization pack. A legacy runpack is shown as a run pack. Parts that
/// do not decode are left out.
pub fn inspect_pack(path: &Path) -> Result<InspectReport, PackError> {
    let mut archive = open_path(path)?;
    let Some((_, manifest)) = open_manifest(&mut archive)? else {
        drop(archive);
        let data = read_legacy(LegacySource::Path(path))?;
        return Ok(InspectReport {
            pack_id: data.manifest.manifest_digest.clone(),
            pack_type: "run".into(),
            source_ref: data.run.run_id.clone(),
            manifest: None,
            run_payload: Some(legacy_payload(&data, data.run.created_at)),
            run_lineage: Some(lineage(&data)),
            job_payload: None,
            job_lineage: None,
            call_payload: None,
            authorization_bundle: None,
            authorization_payload: None,
            legacy_type: "runpack".into(),
        });
    };
    let mut report = InspectReport {
        pack_id: manifest.pack_id.clone(),
        pack_type: manifest.pack_type.clone(),
        source_ref: manifest.source_ref.clone(),
        manifest: Some(manifest.clone()),
        run_payload: None,
        run_lineage: None,
        job_payload: None,
        job_lineage: None,
        call_payload: None,
        authorization_bundle: None,
        authorization_payload: None,
        legacy_type: String::new(),
    };
    if manifest.pack_type == "call" {
        report.call_payload = read_optional(&mut archive, super::CALL_PAYLOAD_FILE)
            .and_then(|b| super::CallPayload::parse(&b).ok());
    }
    if manifest.pack_type == "authorization" {
        report.authorization_bundle = read_optional(&mut archive, super::AUTHORIZATION_BUNDLE_FILE)
            .and_then(|b| super::AuthorizationBundle::parse(&b).ok());
        report.authorization_payload = report
            .authorization_bundle
            .as_ref()
            .map(super::AuthorizationBundle::payload);
    }
    if manifest.pack_type == "run" {
        report.run_payload =
            read_optional(&mut archive, RUN_PAYLOAD_FILE).and_then(|b| RunPayload::parse(&b).ok());
        report.run_lineage = embedded_runpack(&mut archive).map(|d| lineage(&d));
    }
    if manifest.pack_type == "job" {
        report.job_payload = read_optional(&mut archive, super::JOB_PAYLOAD_FILE)
            .and_then(|b| super::JobPayload::parse(&b).ok());
        let state = read_optional(&mut archive, super::JOB_STATE_FILE)
            .and_then(|b| super::JobState::parse(&b).ok());
        let events = read_optional(&mut archive, super::JOB_EVENTS_FILE)
            .and_then(|b| super::parse_job_events(&b).ok());
        if let (Some(state), Some(events)) = (state, events) {
            report.job_lineage = Some(super::job_lineage(&state, &events));
        }
    }
    Ok(report)
}

/// What changed between two packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffSummary {
    /// Whether anything changed.
    pub changed: bool,
    /// Paths only on the right.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added_files: Vec<String>,
    /// Paths only on the left.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_files: Vec<String>,
    /// Paths on both sides with different hashes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed_files: Vec<String>,
    /// The manifests differ (or the pack types do).
    pub manifest_delta: bool,
    /// The context evidence changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub context_changed: bool,
    /// Only runtime context fields changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub context_runtime_only_changes: bool,
    /// `none`, `runtime_only` or `semantic`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub context_drift_classification: String,
}

/// `gait.pack.diff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffResult {
    /// `gait.pack.diff`.
    pub schema_id: String,
    /// `1.0.0`.
    pub schema_version: String,
    /// Always 1980-01-01T00:00:00Z.
    pub created_at: GoTime,
    /// Left pack id.
    pub left_pack_id: String,
    /// Right pack id.
    pub right_pack_id: String,
    /// Left pack type.
    pub left_pack_type: String,
    /// Right pack type.
    pub right_pack_type: String,
    /// The comparison.
    pub summary: DiffSummary,
}

impl DiffResult {
    /// The result as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Compact JSON in field order with Go's HTML escaping, no newline (the
    /// `--output` file).
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

struct ArtifactInfo {
    pack_id: String,
    pack_type: String,
    manifest_digest: String,
    files: BTreeMap<String, String>,
    context_set_digest: String,
    context_evidence_mode: String,
    context_ref_count: i64,
    refs: Option<Refs>,
}

fn collect(path: &Path) -> Result<ArtifactInfo, PackError> {
    let mut archive = open_path(path)?;
    let Some((bytes, manifest)) = open_manifest(&mut archive)? else {
        drop(archive);
        let data = read_legacy(LegacySource::Path(path))?;
        return Ok(ArtifactInfo {
            pack_id: data.manifest.manifest_digest.clone(),
            pack_type: "run".into(),
            manifest_digest: data.manifest.manifest_digest.clone(),
            files: data
                .manifest
                .files
                .iter()
                .flatten()
                .map(|f| (f.path.clone(), f.sha256.clone()))
                .collect(),
            context_set_digest: data.refs.context_set_digest.clone(),
            context_evidence_mode: data.refs.context_evidence_mode.clone(),
            context_ref_count: data.refs.receipts.len() as i64,
            refs: Some(data.refs),
        });
    };
    let manifest_digest = gait_digest::canonical::from_slice(&bytes)
        .map(|c| gait_digest::sha256(&c).to_hex())
        .map_err(|e| PackError::invalid(format!("digest manifest: {e}")))?;
    let mut info = ArtifactInfo {
        pack_id: manifest.pack_id.clone(),
        pack_type: manifest.pack_type.clone(),
        manifest_digest,
        files: manifest
            .contents
            .iter()
            .map(|c| (c.path.clone(), c.sha256.clone()))
            .collect(),
        context_set_digest: String::new(),
        context_evidence_mode: String::new(),
        context_ref_count: 0,
        refs: None,
    };
    if manifest.pack_type == "run" {
        if let Some(p) =
            read_optional(&mut archive, RUN_PAYLOAD_FILE).and_then(|b| RunPayload::parse(&b).ok())
        {
            info.context_set_digest = p.context_set_digest.trim().to_owned();
            info.context_evidence_mode = p.context_evidence_mode.trim().to_owned();
            info.context_ref_count = p.context_ref_count;
        }
        if let Some(data) = embedded_runpack(&mut archive) {
            info.context_set_digest = data.refs.context_set_digest.trim().to_owned();
            info.context_evidence_mode = data.refs.context_evidence_mode.trim().to_owned();
            info.context_ref_count = data.refs.receipts.len() as i64;
            info.refs = Some(data.refs);
        }
    }
    Ok(info)
}

fn refs_digest(refs: &Refs) -> String {
    gait_digest::digest_serialize(refs)
        .map(|d| d.to_hex())
        .unwrap_or_default()
}

/// Context drift between two refs: `none` when equal, `runtime_only` when
/// they differ only in `retrieved_at` times and the context set digest,
/// else `semantic`. Returns (class, changed, runtime only).
fn classify_refs_drift(left: &Refs, right: &Refs) -> (&'static str, bool, bool) {
    let same_meta = left.context_evidence_mode == right.context_evidence_mode
        && left.context_ref_count == right.context_ref_count;
    if refs_digest(left) == refs_digest(right)
        && left.context_set_digest == right.context_set_digest
        && same_meta
    {
        return ("none", false, false);
    }
    let runtime = |r: &Refs| {
        let mut c = r.clone();
        c.context_set_digest.clear();
        for receipt in &mut c.receipts {
            receipt.retrieved_at = deterministic_time();
        }
        refs_digest(&c)
    };
    if runtime(left) == runtime(right) && same_meta {
        return ("runtime_only", true, true);
    }
    ("semantic", true, false)
}

/// Compares two packs (or legacy runpacks): declared files by path and
/// hash, the manifests (canonical digest of the raw manifest; for legacy
/// runpacks the manifest digest) and pack types, and, for two run packs,
/// their context evidence.
pub fn diff_packs(left: &Path, right: &Path) -> Result<DiffResult, PackError> {
    let l = collect(left)?;
    let r = collect(right)?;
    let added: Vec<String> = r
        .files
        .keys()
        .filter(|k| !l.files.contains_key(*k))
        .cloned()
        .collect();
    let mut removed = Vec::new();
    let mut changed = Vec::new();
    for (k, v) in &l.files {
        match r.files.get(k) {
            None => removed.push(k.clone()),
            Some(rv) if rv != v => changed.push(k.clone()),
            Some(_) => {}
        }
    }
    let manifest_delta = l.manifest_digest != r.manifest_digest || l.pack_type != r.pack_type;
    let (mut class, mut context_changed, mut runtime_only) = ("none", false, false);
    if l.pack_type == "run" && r.pack_type == "run" {
        match (&l.refs, &r.refs) {
            (Some(lr), Some(rr)) => {
                (class, context_changed, runtime_only) = classify_refs_drift(lr, rr);
            }
            _ => {
                let any = !l.context_set_digest.is_empty()
                    || !r.context_set_digest.is_empty()
                    || l.context_ref_count > 0
                    || r.context_ref_count > 0;
                let same = l.context_set_digest == r.context_set_digest
                    && l.context_evidence_mode == r.context_evidence_mode
                    && l.context_ref_count == r.context_ref_count;
                if any && !same {
                    (class, context_changed) = ("semantic", true);
                }
            }
        }
    }
    let any_change = manifest_delta
        || !added.is_empty()
        || !removed.is_empty()
        || !changed.is_empty()
        || context_changed;
    Ok(DiffResult {
        schema_id: "gait.pack.diff".into(),
        schema_version: "1.0.0".into(),
        created_at: deterministic_time(),
        left_pack_id: l.pack_id,
        right_pack_id: r.pack_id,
        left_pack_type: l.pack_type,
        right_pack_type: r.pack_type,
        summary: DiffSummary {
            changed: any_change,
            added_files: added,
            removed_files: removed,
            changed_files: changed,
            manifest_delta,
            context_changed,
            context_runtime_only_changes: runtime_only,
            context_drift_classification: class.into(),
        },
    })
}
