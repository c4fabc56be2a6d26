//! Recording a run into a runpack (`gait run record`, `gait demo`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use gait_digest::{GoTime, canonical};
use gait_sign::{SigningKey, Trace};
use serde_json::{Value, json};

use super::context;
use super::decode::{Keys, Obj};
use super::model::{
    IntentRecord, Manifest, ManifestFile, RefReceipt, Refs, ResultRecord, Run, canonical_bytes,
};
use super::verify::{VerifyOptions, VerifyReport, verify_runpack_file};
use super::{
    DEFAULT_PRODUCER_VERSION, INTENT_SCHEMA_ID, MANIFEST_FILE, MANIFEST_SCHEMA_ID, REFS_SCHEMA_ID,
    RESULT_SCHEMA_ID, RUN_SCHEMA_ID, RunpackError, SCHEMA_VERSION,
};
use crate::archive::{NewEntry, write_deterministic_to_vec};

/// The warning of raw capture.
pub const RAW_CAPTURE_WARNING: &str = "raw capture retains raw intent arguments and raw result payloads; handle runpack as sensitive evidence";
/// The warning when reference capture drops raw payloads it was given.
pub const REFERENCE_STRIP_WARNING: &str =
    "reference capture stripped raw intent arguments and raw result payloads after digesting";

/// The largest `run record` input file.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// What a runpack keeps of tool arguments and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureMode {
    /// Digests only: `args` and `result` are removed after digesting (the
    /// default).
    #[default]
    Reference,
    /// Digests and the raw payloads (sensitive; explicit only).
    Raw,
}

impl CaptureMode {
    /// `reference` or `raw`.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Reference => "reference",
            CaptureMode::Raw => "raw",
        }
    }

    /// Parses `reference` or `raw` (trimmed, exact case, as the reference's
    /// CLI).
    pub fn parse(text: &str) -> Result<Self, RunpackError> {
        match text.trim() {
            "reference" => Ok(CaptureMode::Reference),
            "raw" => Ok(CaptureMode::Raw),
            _ => Err(RunpackError::Invalid(
                "capture mode must be one of: reference, raw".to_owned(),
            )),
        }
    }
}

/// Context evidence mode of `refs.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvidenceMode {
    /// Context evidence when available (the default).
    #[default]
    BestEffort,
    /// A context set digest is mandatory.
    Required,
}

impl EvidenceMode {
    /// `best_effort` or `required`.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceMode::BestEffort => "best_effort",
            EvidenceMode::Required => "required",
        }
    }

    /// Parses a mode (trimmed, case-insensitive); empty is `None`.
    pub fn parse(text: &str) -> Result<Option<Self>, RunpackError> {
        match go_lower(text.trim()).as_str() {
            "" => Ok(None),
            "best_effort" => Ok(Some(EvidenceMode::BestEffort)),
            "required" => Ok(Some(EvidenceMode::Required)),
            _ => Err(RunpackError::Invalid(
                "context evidence mode must be best_effort or required".to_owned(),
            )),
        }
    }
}

/// Raw payloads to digest instead of (or to check) the records' digests,
/// by intent id.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Normalization {
    /// Intent arguments by intent id (each a JSON object, or `null`).
    pub intent_args: BTreeMap<String, Value>,
    /// Result payloads by intent id.
    pub result_payloads: BTreeMap<String, Value>,
}

/// The input of `gait run record`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RecordInput {
    /// The run.
    pub run: Run,
    /// Intents, in order.
    pub intents: Vec<IntentRecord>,
    /// Results, in order.
    pub results: Vec<ResultRecord>,
    /// Reference receipts.
    pub refs: Refs,
    /// `reference`, `raw` or empty (the input's own setting).
    pub capture_mode: String,
    /// Raw payloads for digesting.
    pub normalization: Normalization,
}

fn invalid(e: String) -> RunpackError {
    RunpackError::Invalid(e)
}

impl RecordInput {
    /// Parses the `run record` input JSON: member names match exactly or
    /// case-insensitively, unknown members are ignored, repeated members
    /// are an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RunpackError> {
        let bad = |e: String| RunpackError::Invalid(format!("parse input json: {e}"));
        let value = canonical::parse_strict(bytes).map_err(|e| bad(e.to_string()))?;
        let Some(o) = Obj::of(&value, "input", Keys::Fold).map_err(bad)? else {
            return Ok(Self::default());
        };
        let run = match o.object("run").map_err(bad)? {
            Some(r) => Run::decode(r).map_err(bad)?,
            None => Run::default(),
        };
        let intents = o
            .list("intents", |v| match Obj::of(v, "intents", Keys::Fold)? {
                Some(i) => IntentRecord::decode(i),
                None => Ok(IntentRecord::default()),
            })
            .map_err(bad)?
            .unwrap_or_default();
        let results = o
            .list("results", |v| match Obj::of(v, "results", Keys::Fold)? {
                Some(r) => ResultRecord::decode(r),
                None => Ok(ResultRecord::default()),
            })
            .map_err(bad)?
            .unwrap_or_default();
        let refs = match o.object("refs").map_err(bad)? {
            Some(r) => Refs::decode(r).map_err(bad)?,
            None => Refs::default(),
        };
        let mut normalization = Normalization::default();
        if let Some(n) = o.object("normalization").map_err(bad)? {
            for (field, target) in [
                ("intent_args", &mut normalization.intent_args),
                ("result_payloads", &mut normalization.result_payloads),
            ] {
                if let Some(m) = n.map(field).map_err(bad)? {
                    target.extend(m);
                }
            }
        }
        Ok(Self {
            run,
            intents,
            results,
            refs,
            capture_mode: o.string("capture_mode").map_err(bad)?,
            normalization,
        })
    }

    /// Whether the input carries any raw payload (non-empty `args` or
    /// `result`, or any normalization payload).
    pub fn has_raw_payloads(&self) -> bool {
        self.intents
            .iter()
            .any(|i| i.args.as_ref().is_some_and(|m| !m.is_empty()))
            || self
                .results
                .iter()
                .any(|r| r.result.as_ref().is_some_and(|m| !m.is_empty()))
            || !self.normalization.intent_args.is_empty()
            || !self.normalization.result_payloads.is_empty()
    }

    /// Applies the `run record` command-line rules, in the reference's
    /// order: a `--run-id` override rewrites every record's run id; a run
    /// id is required; the capture mode is the flag's, else the input's,
    /// else `reference`; the context evidence mode (flag, else refs) is
    /// written into refs (default `best_effort`); receipts with
    /// `redaction_mode` `raw` need `unsafe_context_raw`; `context_ref_count`
    /// defaults to the receipt count; `required` needs a
    /// `context_set_digest`. Returns the capture mode.
    ///
    /// Context envelope warnings are dropped; use
    /// [`apply_settings_with_warnings`](Self::apply_settings_with_warnings)
    /// to keep them.
    pub fn apply_settings(
        &mut self,
        settings: &RecordSettings,
    ) -> Result<CaptureMode, RunpackError> {
        self.apply_settings_with_warnings(settings)
            .map(|a| a.capture_mode)
    }

    /// [`apply_settings`](Self::apply_settings), with a context envelope
    /// ([`RecordSettings::context_envelope`]) applied after the evidence
    /// mode is resolved: its records replace the receipts and set the
    /// context set digest, mode and count. An envelope path climbing out
    /// of the working directory is an error; an envelope that cannot be
    /// read or parsed is a warning (`context envelope ignored: ...`), or
    /// an error in `required` mode; records with `redaction_mode` `raw`
    /// need `unsafe_context_raw`.
    pub fn apply_settings_with_warnings(
        &mut self,
        settings: &RecordSettings,
    ) -> Result<AppliedSettings, RunpackError> {
        let mut warnings = Vec::new();
        let override_id = settings.run_id.as_deref().map(str::trim).unwrap_or("");
        if !override_id.is_empty() {
            let id = override_id.to_owned();
            self.run.run_id.clone_from(&id);
            self.refs.run_id.clone_from(&id);
            for i in &mut self.intents {
                i.run_id.clone_from(&id);
            }
            for r in &mut self.results {
                r.run_id.clone_from(&id);
            }
        }
        if self.run.run_id.trim().is_empty() {
            return Err(invalid(
                "input run.run_id is required (or set --run-id)".to_owned(),
            ));
        }
        // The run id names the runpack file and is printed in the ticket
        // footer: a newline or other control character could forge a line.
        gait_digest::check_identifier("run_id", &self.run.run_id)
            .map_err(|e| invalid(e.to_string()))?;
        let mut capture = settings
            .capture_mode
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        if capture.is_empty() {
            capture = self.capture_mode.trim().to_owned();
        }
        let capture = if capture.is_empty() {
            CaptureMode::Reference
        } else {
            CaptureMode::parse(&capture)?
        };
        let mut mode_text = settings
            .context_evidence_mode
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .to_owned();
        if mode_text.is_empty() {
            mode_text = self.refs.context_evidence_mode.trim().to_owned();
        }
        let mode = EvidenceMode::parse(&mode_text)?.unwrap_or_default();
        self.refs.context_evidence_mode = mode.as_str().to_owned();
        let envelope_path = settings.context_envelope.as_deref().map(str::trim);
        if let Some(path) = envelope_path.filter(|p| !p.is_empty()) {
            let path = context::local_path(path)?;
            match context::read_context_envelope(&path) {
                Err(e) if mode == EvidenceMode::Required => return Err(e),
                Err(e) => warnings.push(format!("context envelope ignored: {e}")),
                Ok(envelope) => {
                    if !settings.unsafe_context_raw && envelope.has_raw_records() {
                        return Err(invalid("context envelope includes redaction_mode=raw; re-run with --unsafe-context-raw to allow unsafe context capture".to_owned()));
                    }
                    envelope.apply_to_refs(&mut self.refs, mode);
                }
            }
        }
        if !settings.unsafe_context_raw && context::has_raw(&self.refs.receipts) {
            return Err(invalid("refs receipts include redaction_mode=raw; re-run with --unsafe-context-raw to allow unsafe context capture".to_owned()));
        }
        if self.refs.context_ref_count == 0 && !self.refs.receipts.is_empty() {
            self.refs.context_ref_count = self.refs.receipts.len() as i64;
        }
        if mode == EvidenceMode::Required && self.refs.context_set_digest.trim().is_empty() {
            return Err(invalid(
                "context evidence mode required but context_set_digest is missing".to_owned(),
            ));
        }
        Ok(AppliedSettings {
            capture_mode: capture,
            warnings,
        })
    }
}

/// What [`RecordInput::apply_settings_with_warnings`] resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppliedSettings {
    /// The capture mode.
    pub capture_mode: CaptureMode,
    /// Context envelope warnings (`context envelope ignored: ...`).
    pub warnings: Vec<String>,
}

/// The `run record` command-line settings ([`RecordInput::apply_settings`]).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RecordSettings {
    /// `--run-id`.
    pub run_id: Option<String>,
    /// `--capture-mode`.
    pub capture_mode: Option<String>,
    /// `--context-evidence-mode`.
    pub context_evidence_mode: Option<String>,
    /// `--unsafe-context-raw`.
    pub unsafe_context_raw: bool,
    /// `--context-envelope` (blank means none).
    pub context_envelope: Option<String>,
}

impl RecordSettings {
    /// Settings from the command-line flags.
    pub fn new(
        run_id: Option<String>,
        capture_mode: Option<String>,
        context_evidence_mode: Option<String>,
        unsafe_context_raw: bool,
    ) -> Self {
        Self {
            run_id,
            capture_mode,
            context_evidence_mode,
            unsafe_context_raw,
            context_envelope: None,
        }
    }

    /// Sets `--context-envelope`.
    #[must_use]
    pub fn with_context_envelope(mut self, path: Option<String>) -> Self {
        self.context_envelope = path;
        self
    }
}

/// A recorded runpack, in memory.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Recorded {
    /// The run id.
    pub run_id: String,
    /// The manifest written (with its digest and any signature).
    pub manifest: Manifest,
    /// The zip bytes.
    pub zip: Vec<u8>,
    /// Capture warnings ([`RAW_CAPTURE_WARNING`], [`REFERENCE_STRIP_WARNING`]).
    pub warnings: Vec<String>,
}

/// A runpack written to disk and verified again.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Written {
    /// Where it was written.
    pub path: PathBuf,
    /// What was written.
    pub recorded: Recorded,
    /// The re-verification (unsigned mode).
    pub report: VerifyReport,
}

/// Records a run into a runpack.
///
/// ```
/// use gait_pack::runpack::{RunRecorder, demo_input, verify_runpack, VerifyOptions};
///
/// let recorded = RunRecorder::new(demo_input("0.0.0-dev")).record()?;
/// assert_eq!(
///     recorded.manifest.manifest_digest,
///     "436474ad70446539c909ae85bcc156d30197ba68efb8debdaed4f5d2eef2922e"
/// );
/// let report = verify_runpack(std::io::Cursor::new(recorded.zip), &VerifyOptions::default())?;
/// assert!(report.is_ok(false));
/// # Ok::<(), gait_pack::runpack::RunpackError>(())
/// ```
#[derive(Debug)]
pub struct RunRecorder<'k> {
    input: RecordInput,
    capture: CaptureMode,
    key: Option<&'k SigningKey<Trace>>,
    now: Option<GoTime>,
}

impl<'k> RunRecorder<'k> {
    /// A recorder for `input`, in reference capture mode, unsigned.
    pub fn new(input: RecordInput) -> Self {
        Self {
            input,
            capture: CaptureMode::Reference,
            key: None,
            now: None,
        }
    }

    /// Sets the capture mode.
    pub fn capture_mode(mut self, mode: CaptureMode) -> Self {
        self.capture = mode;
        self
    }

    /// Signs the manifest with `key`.
    pub fn sign_with(mut self, key: &'k SigningKey<Trace>) -> Self {
        self.key = Some(key);
        self
    }

    /// The time used when the run has no `created_at` (default: now, UTC).
    pub fn now(mut self, now: GoTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Records the run in memory.
    pub fn record(self) -> Result<Recorded, RunpackError> {
        record_run(self.input, self.capture, self.key, self.now)
    }

    /// Records the run and writes `<out_dir>/runpack_<run_id>.zip`
    /// atomically with mode 0600 (creating `out_dir` with mode 0750),
    /// replacing an older file, then verifies the written file.
    pub fn write_to_dir(self, out_dir: &Path) -> Result<Written, RunpackError> {
        let recorded = self.record()?;
        let name = runpack_file_name(&recorded.run_id)?;
        let path = out_dir.join(name);
        if path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
            && path.is_relative()
        {
            return Err(invalid(
                "relative runpack output path must not traverse parent directories".to_owned(),
            ));
        }
        if !out_dir.as_os_str().is_empty() {
            gait_sign::create_private_dir(out_dir)
                .map_err(|e| RunpackError::Io(format!("create runpack directory: {e}")))?;
        }
        gait_sign::write_file_atomic(&path, &recorded.zip, gait_sign::PRIVATE_FILE_MODE, true)
            .map_err(|e| RunpackError::Io(format!("write runpack: {e}")))?;
        let report = verify_runpack_file(&path, &VerifyOptions::default())?;
        if !report.is_ok(false) {
            return Err(RunpackError::Verification(
                "recorded runpack failed verification".to_owned(),
            ));
        }
        Ok(Written {
            path,
            recorded,
            report,
        })
    }
}

/// `runpack_<run_id>.zip`. A run id that is not a plain file-name
/// fragment (a path separator, NUL, `.` or `..`) is refused.
pub fn runpack_file_name(run_id: &str) -> Result<String, RunpackError> {
    if run_id.is_empty() || run_id.contains(['/', '\\', '\0']) || run_id == "." || run_id == ".." {
        return Err(invalid(format!(
            "run_id cannot be used in a file name: {run_id:?}"
        )));
    }
    Ok(format!("runpack_{run_id}.zip"))
}

/// The ticket footer: `GAIT run_id=<id> manifest=sha256:<digest> verify="gait verify <id>"`.
pub fn ticket_footer(run_id: &str, manifest_digest: &str) -> String {
    format!(
        r#"GAIT run_id={run_id} manifest=sha256:{manifest_digest} verify="gait verify {run_id}""#
    )
}

/// Whether `footer` follows the ticket-footer contract (`[A-Za-z0-9_-]+`
/// run ids, equal in both places, and a 64-character lowercase hex digest).
pub fn ticket_footer_matches(footer: &str) -> bool {
    fn id(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }
    let Some(rest) = footer.strip_prefix("GAIT run_id=") else {
        return false;
    };
    let Some((run, rest)) = rest.split_once(" manifest=sha256:") else {
        return false;
    };
    let Some((digest, rest)) = rest.split_once(" verify=\"gait verify ") else {
        return false;
    };
    let Some(again) = rest.strip_suffix('"') else {
        return false;
    };
    id(run)
        && run == again
        && digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Go `GOOS` name of this platform.
fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// Go `GOARCH` name of this platform.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        "powerpc64" => {
            if cfg!(target_endian = "little") {
                "ppc64le"
            } else {
                "ppc64"
            }
        }
        other => other,
    }
}

fn digest_value(value: &Value) -> String {
    gait_digest::digest_json(value).to_hex()
}

/// The digest of a normalization payload: an object, or `null`.
fn digest_payload(value: &Value, what: &str) -> Result<String, RunpackError> {
    match value {
        Value::Object(_) | Value::Null => Ok(digest_value(value)),
        _ => Err(invalid(format!("{what}: payload must be a JSON object"))),
    }
}

fn record_run(
    input: RecordInput,
    capture: CaptureMode,
    key: Option<&SigningKey<Trace>>,
    now: Option<GoTime>,
) -> Result<Recorded, RunpackError> {
    let warnings = match capture {
        CaptureMode::Raw => vec![RAW_CAPTURE_WARNING.to_owned()],
        CaptureMode::Reference if input.has_raw_payloads() => {
            vec![REFERENCE_STRIP_WARNING.to_owned()]
        }
        CaptureMode::Reference => Vec::new(),
    };
    let RecordInput {
        mut run,
        mut intents,
        mut results,
        mut refs,
        normalization,
        ..
    } = input;
    if run.run_id.is_empty() {
        return Err(invalid("run_id is required".to_owned()));
    }

    // Defaults.
    fill(&mut run.schema_id, RUN_SCHEMA_ID);
    fill(&mut run.schema_version, SCHEMA_VERSION);
    if run.created_at.is_zero() {
        run.created_at = now.unwrap_or_else(GoTime::now_utc);
    }
    fill(&mut run.producer_version, DEFAULT_PRODUCER_VERSION);
    fill(&mut run.env.os, go_os());
    fill(&mut run.env.arch, go_arch());
    fill(&mut run.env.runtime, "go");
    for i in &mut intents {
        fill(&mut i.schema_id, INTENT_SCHEMA_ID);
        fill(&mut i.schema_version, SCHEMA_VERSION);
        if i.created_at.is_zero() {
            i.created_at = run.created_at;
        }
        fill(&mut i.producer_version, &run.producer_version);
        fill(&mut i.run_id, &run.run_id);
    }
    for r in &mut results {
        fill(&mut r.schema_id, RESULT_SCHEMA_ID);
        fill(&mut r.schema_version, SCHEMA_VERSION);
        if r.created_at.is_zero() {
            r.created_at = run.created_at;
        }
        fill(&mut r.producer_version, &run.producer_version);
        fill(&mut r.run_id, &run.run_id);
    }
    fill(&mut refs.schema_id, REFS_SCHEMA_ID);
    fill(&mut refs.schema_version, SCHEMA_VERSION);
    if refs.created_at.is_zero() {
        refs.created_at = run.created_at;
    }
    fill(&mut refs.producer_version, &run.producer_version);
    fill(&mut refs.run_id, &run.run_id);

    normalize_digests(&mut intents, &mut results, &mut refs, &normalization)
        .map_err(|e| invalid(format!("normalize digest-bearing fields: {e}")))?;
    let refs = normalize_refs(refs).map_err(|e| invalid(format!("normalize refs: {e}")))?;

    if capture == CaptureMode::Reference {
        for i in &mut intents {
            i.args = None;
        }
        for r in &mut results {
            r.result = None;
        }
    }

    let run_bytes = canonical_bytes(&run);
    let intents_bytes = jsonl(&intents);
    let results_bytes = jsonl(&results);
    let refs_bytes = canonical_bytes(&refs);
    let hex = |b: &[u8]| gait_digest::sha256(b).to_hex();
    let mut manifest = Manifest {
        schema_id: MANIFEST_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        created_at: run.created_at,
        producer_version: run.producer_version.clone(),
        run_id: run.run_id.clone(),
        capture_mode: capture.as_str().to_owned(),
        files: Some(vec![
            ManifestFile::new("intents.jsonl", &hex(&intents_bytes)),
            ManifestFile::new("refs.json", &hex(&refs_bytes)),
            ManifestFile::new("results.jsonl", &hex(&results_bytes)),
            ManifestFile::new("run.json", &hex(&run_bytes)),
        ]),
        manifest_digest: String::new(),
        signatures: Vec::new(),
    };
    manifest.manifest_digest = manifest.compute_digest();
    if let Some(key) = key {
        let signable = serde_json::to_value(&manifest)
            .map_err(|e| invalid(format!("marshal manifest: {e}")))?;
        manifest.signatures = vec![key.sign_value(&signable)];
    }
    let manifest_bytes = canonical_bytes(&manifest);
    let zip = write_deterministic_to_vec(vec![
        NewEntry::file(MANIFEST_FILE, manifest_bytes),
        NewEntry::file("run.json", run_bytes),
        NewEntry::file("intents.jsonl", intents_bytes),
        NewEntry::file("results.jsonl", results_bytes),
        NewEntry::file("refs.json", refs_bytes),
    ])
    .map_err(|e| RunpackError::Io(format!("write runpack zip: {e}")))?;
    Ok(Recorded {
        run_id: run.run_id,
        manifest,
        zip,
        warnings,
    })
}

fn fill(field: &mut String, default: &str) {
    if field.is_empty() {
        *field = default.to_owned();
    }
}

fn jsonl<T: serde::Serialize>(records: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(&canonical_bytes(r));
        out.push(b'\n');
    }
    out
}

fn normalize_digests(
    intents: &mut [IntentRecord],
    results: &mut [ResultRecord],
    refs: &mut Refs,
    normalization: &Normalization,
) -> Result<(), String> {
    let mut intent_index: HashMap<String, usize> = HashMap::new();
    for (index, intent) in intents.iter_mut().enumerate() {
        let id = intent.intent_id.clone();
        if let Some(raw) = normalization.intent_args.get(&id) {
            let expected = digest_payload(raw, &format!("intent {id} args digest"))
                .map_err(|e| e.to_string())?;
            if intent.args_digest.is_empty() {
                intent.args_digest = expected;
            } else if !intent.args_digest.eq_ignore_ascii_case(&expected) {
                return Err(format!("intent {id} args digest mismatch"));
            }
        } else if intent.args_digest.is_empty() {
            let Some(args) = &intent.args else {
                return Err(format!(
                    "intent {id} requires args_digest or normalization.intent_args"
                ));
            };
            intent.args_digest = digest_value(&Value::Object(args.clone()));
        }
        intent_index.insert(id, index);
    }
    let mut result_index: HashMap<String, usize> = HashMap::new();
    for (index, result) in results.iter_mut().enumerate() {
        let id = result.intent_id.clone();
        if let Some(raw) = normalization.result_payloads.get(&id) {
            let expected =
                digest_payload(raw, &format!("result {id} digest")).map_err(|e| e.to_string())?;
            if result.result_digest.is_empty() {
                result.result_digest = expected;
            } else if !result.result_digest.eq_ignore_ascii_case(&expected) {
                return Err(format!("result {id} digest mismatch"));
            }
        } else if result.result_digest.is_empty() {
            let Some(payload) = &result.result else {
                return Err(format!(
                    "result {id} requires result_digest or normalization.result_payloads"
                ));
            };
            result.result_digest = digest_value(&Value::Object(payload.clone()));
        }
        result_index.insert(id, index);
    }
    for receipt in &mut refs.receipts {
        normalize_receipt(receipt, intents, results, &intent_index, &result_index)?;
    }
    Ok(())
}

fn normalize_receipt(
    receipt: &mut RefReceipt,
    intents: &[IntentRecord],
    results: &[ResultRecord],
    intent_index: &HashMap<String, usize>,
    result_index: &HashMap<String, usize>,
) -> Result<(), String> {
    let ref_id = receipt.ref_id.trim();
    let derived = receipt
        .source_type
        .trim()
        .eq_ignore_ascii_case("gait.trace")
        && ref_id.starts_with("trace_");
    if !derived {
        if receipt.query_digest.is_empty() {
            return Err(format!("receipt {} requires query_digest", receipt.ref_id));
        }
        if receipt.content_digest.is_empty() {
            return Err(format!(
                "receipt {} requires content_digest",
                receipt.ref_id
            ));
        }
        return Ok(());
    }
    let intent_id = ref_id.strip_prefix("trace_").unwrap_or_default().to_owned();
    let Some(intent) = intent_index.get(&intent_id).and_then(|&i| intents.get(i)) else {
        return Err(format!(
            "receipt {} references unknown intent {intent_id}",
            receipt.ref_id
        ));
    };
    let expected_query = digest_value(&json!({
        "tool_name": intent.tool_name,
        "args_digest": intent.args_digest,
    }));
    if receipt.query_digest.is_empty() {
        receipt.query_digest = expected_query;
    } else if !receipt.query_digest.eq_ignore_ascii_case(&expected_query) {
        return Err(format!("receipt {} query digest mismatch", receipt.ref_id));
    }
    let Some(result) = result_index.get(&intent_id).and_then(|&i| results.get(i)) else {
        return Err(format!(
            "receipt {} references unknown result for intent {intent_id}",
            receipt.ref_id
        ));
    };
    let expected_content = result.result_digest.clone();
    if expected_content.is_empty() {
        return Err(format!(
            "receipt {} content digest cannot be derived",
            receipt.ref_id
        ));
    }
    if receipt.content_digest.is_empty() {
        receipt.content_digest = expected_content;
    } else if !receipt
        .content_digest
        .eq_ignore_ascii_case(&expected_content)
    {
        return Err(format!(
            "receipt {} content digest mismatch",
            receipt.ref_id
        ));
    }
    Ok(())
}

fn is_digest(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The reference's refs normalization (also applied when reading).
pub(crate) fn normalize_refs(mut refs: Refs) -> Result<Refs, String> {
    refs.context_evidence_mode = EvidenceMode::parse(&refs.context_evidence_mode)
        .map_err(|e| e.to_string())?
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    refs.context_set_digest = go_lower(refs.context_set_digest.trim());
    if !refs.context_set_digest.is_empty() && !is_digest(&refs.context_set_digest) {
        return Err("refs context_set_digest must be sha256 hex".to_owned());
    }
    if refs.context_ref_count < 0 {
        return Err("refs context_ref_count must be >= 0".to_owned());
    }
    let epoch_1980 = GoTime::from_unix(315_532_800, 0);
    for r in &mut refs.receipts {
        r.query_digest = go_lower(r.query_digest.trim());
        r.content_digest = go_lower(r.content_digest.trim());
        r.immutability = go_lower(r.immutability.trim());
        if r.immutability.is_empty() {
            r.immutability = "unknown".to_owned();
        }
        r.retrieved_at = if r.retrieved_at.is_zero() {
            epoch_1980
        } else {
            r.retrieved_at.to_utc()
        };
    }
    refs.receipts.sort_by(|a, b| a.ref_id.cmp(&b.ref_id));
    if refs.context_ref_count == 0 && !refs.receipts.is_empty() {
        refs.context_ref_count = refs.receipts.len() as i64;
    }
    Ok(refs)
}

/// Go's `strings.ToLower`: each character mapped on its own.
fn go_lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_contract() {
        let d = "a".repeat(64);
        let f = ticket_footer("run_demo", &d);
        assert_eq!(
            f,
            format!(r#"GAIT run_id=run_demo manifest=sha256:{d} verify="gait verify run_demo""#)
        );
        assert!(ticket_footer_matches(&f));
        assert!(!ticket_footer_matches(&ticket_footer("run demo", &d)));
        assert!(!ticket_footer_matches(&ticket_footer(
            "run_x",
            &"A".repeat(64)
        )));
        assert!(!ticket_footer_matches(&ticket_footer("run_x", "abc")));
        assert!(!ticket_footer_matches(
            &f.replace("verify run_demo", "verify run_other")
        ));
        assert!(!ticket_footer_matches(&format!("{f} ")));
    }

    #[test]
    fn names_and_modes() {
        assert_eq!(runpack_file_name("run_1").unwrap(), "runpack_run_1.zip");
        for bad in ["", "a/b", "a\\b", "..", ".", "a\0b"] {
            assert!(runpack_file_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(CaptureMode::parse(" raw ").unwrap(), CaptureMode::Raw);
        assert!(CaptureMode::parse("Raw").is_err());
        assert_eq!(
            EvidenceMode::parse(" REQUIRED ").unwrap(),
            Some(EvidenceMode::Required)
        );
        assert_eq!(EvidenceMode::parse("").unwrap(), None);
        assert!(EvidenceMode::parse("always").is_err());
        assert_eq!(go_lower("ΑΣ"), "ασ");
        assert!(["amd64", "arm64", "386"].contains(&go_arch()) || !go_arch().is_empty());
        assert_ne!(go_os(), "macos");
    }

    #[test]
    fn refs_normalization_errors() {
        let refs = Refs {
            context_ref_count: -1,
            ..Refs::default()
        };
        assert!(normalize_refs(refs).is_err());
        let refs = Refs {
            context_evidence_mode: "sometimes".into(),
            ..Refs::default()
        };
        assert!(normalize_refs(refs).is_err());
        let refs = Refs {
            context_set_digest: format!(" {} ", "AB".repeat(32)),
            ..Refs::default()
        };
        assert_eq!(
            normalize_refs(refs).unwrap().context_set_digest,
            "ab".repeat(32)
        );
    }
}
