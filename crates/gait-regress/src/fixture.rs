//! The on-disk fixture layout: `gait.yaml` and `fixtures/<name>/fixture.json`.

use std::path::Path;

use gait_pack::runpack::{ResultRecord, Runpack};
use serde::{Deserialize, Serialize};

use crate::RegressError;
use crate::io::{MAX_JSON_FILE_BYTES, read_bounded, to_go_indented_json, write_atomic};

/// The regress config file name (JSON content despite the extension).
pub const CONFIG_FILE: &str = "gait.yaml";
/// The directory holding one sub-directory per fixture.
pub const FIXTURES_DIR: &str = "fixtures";
/// The metadata file of a fixture.
pub const FIXTURE_FILE: &str = "fixture.json";
/// The runpack file of a fixture.
pub const FIXTURE_RUNPACK: &str = "runpack.zip";
/// `gait.yaml` `schema_id`.
pub const CONFIG_SCHEMA_ID: &str = "gait.regress.config";
/// `fixture.json` `schema_id`.
pub const FIXTURE_SCHEMA_ID: &str = "gait.regress.fixture";
/// Schema version of the config and fixture files.
pub(crate) const SCHEMA_VERSION: &str = "1.0.0";
/// The fixture set name `gait regress init` writes.
pub const DEFAULT_FIXTURE_SET: &str = "default";

/// `fixtures/<name>/fixture.json` (fields in the reference's order).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FixtureMeta {
    /// `gait.regress.fixture`.
    #[serde(default)]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default)]
    pub schema_version: String,
    /// The fixture name (equals its directory name).
    #[serde(default)]
    pub name: String,
    /// The run id of the fixture runpack.
    #[serde(default)]
    pub run_id: String,
    /// The runpack file name inside the fixture directory.
    #[serde(default)]
    pub runpack: String,
    /// Exit code stub replay must give (0, or 2 when results are missing).
    #[serde(default)]
    pub expected_replay_exit_code: i64,
    /// Tool names in intent order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_tool_sequence: Vec<String>,
    /// Verdicts in result order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_verdict_sequence: Vec<String>,
    /// A runpack to grade against the fixture (relative to the fixture
    /// directory), instead of the fixture runpack itself.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub candidate_runpack: String,
    /// `required` or `none`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context_conformance: String,
    /// Accept context drift in runtime fields only.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_context_runtime_drift: bool,
    /// The context set digest the candidate must carry.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expected_context_set_digest: String,
    /// Runpack files allowed to differ in the diff grader.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff_allow_changed_files: Vec<String>,
    /// The session chain the fixture came from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub session_chain: String,
    /// The checkpoint of that chain.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub checkpoint_index: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// `gait.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConfigFile {
    /// `gait.regress.config` (may be empty when read).
    #[serde(default)]
    pub schema_id: String,
    /// `1.0.0` (may be empty when read).
    #[serde(default)]
    pub schema_version: String,
    /// The fixture set name (`default` when empty).
    #[serde(default)]
    pub fixture_set: String,
    /// The fixtures, sorted by name.
    #[serde(default)]
    pub fixtures: Vec<ConfigFixture>,
}

/// One fixture of `gait.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConfigFixture {
    /// The fixture name.
    #[serde(default)]
    pub name: String,
    /// The run id (checked against the fixture when set).
    #[serde(default)]
    pub run_id: String,
    /// The runpack path, relative to the config's directory.
    #[serde(default)]
    pub runpack: String,
}

/// The default fixture name for a run id: lowercased, `[a-z0-9._-]` kept,
/// every run of other characters replaced by one `-`, `-._` trimmed from
/// both ends; `fixture` when nothing is left.
pub fn sanitize_fixture_name(run_id: &str) -> String {
    let mut out = String::with_capacity(run_id.len());
    let mut last_dash = false;
    for c in run_id.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
            out.push(c);
            last_dash = false;
        } else if !last_dash {
            out.push('-');
            last_dash = true;
        }
    }
    let trimmed = out.trim_matches(|c| matches!(c, '-' | '.' | '_'));
    if trimmed.is_empty() {
        "fixture".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Whether `name` matches `^[a-z0-9][a-z0-9._-]*$`.
pub fn is_valid_fixture_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Reads and checks a `fixture.json`, normalizing its sequences and
/// context fields as the reference does.
pub fn read_fixture_meta(path: &Path) -> Result<FixtureMeta, RegressError> {
    let bytes = read_bounded(path, "fixture metadata", MAX_JSON_FILE_BYTES)?;
    let shown = path.display();
    let mut meta: FixtureMeta = serde_json::from_slice(&bytes)
        .map_err(|e| RegressError::invalid(format!("parse fixture metadata {shown}: {e}")))?;
    if meta.name.is_empty() || meta.run_id.is_empty() || meta.runpack.is_empty() {
        return Err(RegressError::invalid(format!(
            "fixture metadata incomplete: {shown} (name, run_id and runpack are required)"
        )));
    }
    if meta.expected_replay_exit_code < 0 {
        return Err(RegressError::invalid(format!(
            "fixture expected_replay_exit_code must be >= 0: {shown}"
        )));
    }
    if meta.checkpoint_index < 0 {
        return Err(RegressError::invalid(format!(
            "fixture checkpoint_index must be >= 0: {shown}"
        )));
    }
    meta.context_conformance = meta.context_conformance.trim().to_lowercase();
    if !matches!(meta.context_conformance.as_str(), "" | "required" | "none") {
        return Err(RegressError::invalid(format!(
            "fixture context_conformance must be one of required|none: {shown}"
        )));
    }
    meta.expected_context_set_digest = meta.expected_context_set_digest.trim().to_owned();
    if !meta.expected_context_set_digest.is_empty()
        && !is_sha256_hex(&meta.expected_context_set_digest)
    {
        return Err(RegressError::invalid(format!(
            "fixture expected_context_set_digest must be sha256 hex: {shown}"
        )));
    }
    meta.expected_tool_sequence = normalize_sequence(&meta.expected_tool_sequence);
    let mut verdicts = Vec::with_capacity(meta.expected_verdict_sequence.len());
    for v in normalize_sequence(&meta.expected_verdict_sequence) {
        let n = normalize_verdict(&v).ok_or_else(|| {
            RegressError::invalid(format!(
                "fixture expected_verdict_sequence invalid: invalid verdict {v:?} ({shown})"
            ))
        })?;
        verdicts.push(n.to_owned());
    }
    meta.expected_verdict_sequence = verdicts;
    Ok(meta)
}

/// Trimmed items, empty ones dropped.
pub(crate) fn normalize_sequence(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Maps verdict spellings to `allow`, `block`, `require_approval`,
/// `dry_run` or `error`; `None` for anything else.
pub(crate) fn normalize_verdict(value: &str) -> Option<&'static str> {
    let v = value.trim().to_lowercase().replace(['-', ' '], "_");
    Some(match v.as_str() {
        "allow" | "ok" | "pass" | "passed" | "success" => "allow",
        "block" | "blocked" | "deny" | "denied" => "block",
        "require_approval" | "approval_required" | "needs_approval" | "needsapproval" => {
            "require_approval"
        }
        "dry_run" | "dryrun" | "simulate" | "simulated" => "dry_run",
        "error" | "failed" | "failure" => "error",
        _ => return None,
    })
}

/// Tool names of a runpack's intents, in order (empty names skipped).
pub(crate) fn tool_sequence(pack: &Runpack) -> Vec<String> {
    pack.intents
        .iter()
        .map(|i| i.tool_name.trim())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Verdicts of a runpack's results, in order: a `result.verdict` that
/// normalizes wins, else the status (`ok` → `allow`, unknown → `error`).
pub(crate) fn verdict_sequence(pack: &Runpack) -> Vec<String> {
    pack.results
        .iter()
        .map(|r| derive_verdict(r).to_owned())
        .collect()
}

fn derive_verdict(result: &ResultRecord) -> &'static str {
    if let Some(v) = result.result.as_ref().and_then(|m| m.get("verdict")) {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(n) = normalize_verdict(&text) {
            return n;
        }
    }
    match result.status.trim().to_lowercase().as_str() {
        "ok" | "pass" | "passed" | "success" => "allow",
        "block" | "blocked" | "deny" | "denied" => "block",
        "require_approval" | "approval_required" | "needs_approval" => "require_approval",
        "dry_run" | "dry-run" | "dryrun" | "simulate" | "simulated" => "dry_run",
        _ => "error",
    }
}

/// Rewrites `<work_dir>/gait.yaml` from the fixture directories on disk.
pub(crate) fn write_config(work_dir: &Path) -> Result<(), RegressError> {
    let fixtures = load_fixture_entries(&work_dir.join(FIXTURES_DIR))?;
    let cfg = ConfigFile {
        schema_id: CONFIG_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        fixture_set: DEFAULT_FIXTURE_SET.to_owned(),
        fixtures,
    };
    write_atomic(
        &work_dir.join(CONFIG_FILE),
        &to_go_indented_json(&cfg)?,
        CONFIG_FILE,
    )
}

/// Scans `fixtures/*/fixture.json`. Directories without a fixture file and
/// without a runpack are other fixture families and are skipped; a runpack
/// without metadata is an error.
fn load_fixture_entries(root: &Path) -> Result<Vec<ConfigFixture>, RegressError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RegressError::ListFixtures(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(RegressError::ListFixtures)?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if !is_dir || !is_valid_fixture_name(&name) {
            continue;
        }
        let dir = root.join(&name);
        let meta_path = dir.join(FIXTURE_FILE);
        if !meta_path.exists() {
            if dir.join(FIXTURE_RUNPACK).exists() {
                return Err(RegressError::invalid(format!(
                    "fixture metadata missing for {name}"
                )));
            }
            continue;
        }
        let meta = read_fixture_meta(&meta_path)?;
        if meta.name != name {
            return Err(RegressError::invalid(format!(
                "fixture metadata name mismatch for {name}"
            )));
        }
        if meta.runpack.contains(['/', '\\']) || meta.runpack == ".." || meta.runpack == "." {
            return Err(RegressError::invalid(format!(
                "fixture runpack path must be a filename for {name}"
            )));
        }
        if !dir.join(&meta.runpack).is_file() {
            return Err(RegressError::invalid(format!(
                "fixture runpack missing for {name}"
            )));
        }
        out.push(ConfigFixture {
            runpack: format!("{FIXTURES_DIR}/{name}/{}", meta.runpack),
            name: meta.name,
            run_id: meta.run_id,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads and checks a regress config: schema id and version when set,
/// fixture names and runpacks present, no duplicate names; fixtures are
/// returned sorted by name.
pub fn read_config(path: &Path) -> Result<ConfigFile, RegressError> {
    let bytes = read_bounded(path, "regress config", MAX_JSON_FILE_BYTES)?;
    let shown = path.display();
    let mut cfg: ConfigFile = serde_json::from_slice(&bytes)
        .map_err(|e| RegressError::invalid(format!("parse config {shown}: {e}")))?;
    if !cfg.schema_id.is_empty() && cfg.schema_id != CONFIG_SCHEMA_ID {
        return Err(RegressError::invalid(format!(
            "unsupported config schema_id: {} ({shown})",
            cfg.schema_id
        )));
    }
    if !cfg.schema_version.is_empty() && cfg.schema_version != SCHEMA_VERSION {
        return Err(RegressError::invalid(format!(
            "unsupported config schema_version: {} ({shown})",
            cfg.schema_version
        )));
    }
    if cfg.fixture_set.is_empty() {
        cfg.fixture_set = DEFAULT_FIXTURE_SET.to_owned();
    }
    cfg.fixtures.sort_by(|a, b| a.name.cmp(&b.name));
    for f in &cfg.fixtures {
        if f.name.trim().is_empty() {
            return Err(RegressError::invalid(format!(
                "fixture name is required ({shown})"
            )));
        }
        if f.runpack.trim().is_empty() {
            return Err(RegressError::invalid(format!(
                "fixture runpack is required for {} ({shown})",
                f.name
            )));
        }
    }
    for pair in cfg.fixtures.windows(2) {
        if let [a, b] = pair {
            if a.name == b.name {
                return Err(RegressError::invalid(format!(
                    "duplicate fixture name {} ({shown})",
                    a.name
                )));
            }
        }
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_names() {
        assert_eq!(sanitize_fixture_name("run_demo"), "run_demo");
        assert_eq!(sanitize_fixture_name("Run Demo!!x"), "run-demo-x");
        assert_eq!(sanitize_fixture_name("__"), "fixture");
        assert_eq!(sanitize_fixture_name("-a.b-"), "a.b");
        assert!(is_valid_fixture_name("a.b_c-1"));
        assert!(!is_valid_fixture_name("_a"));
        assert!(!is_valid_fixture_name(""));
        assert!(!is_valid_fixture_name("A"));
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            normalize_verdict("Needs Approval"),
            Some("require_approval")
        );
        assert_eq!(normalize_verdict("dry-run"), Some("dry_run"));
        assert_eq!(normalize_verdict("maybe"), None);
    }
}
