//! `.gait/config.yaml`: project defaults.

use std::io::Read as _;
use std::path::Path;

use serde::Deserialize;

use crate::ProjectError;

/// Where the project defaults live.
pub const DEFAULT_CONFIG_PATH: &str = ".gait/config.yaml";
/// Where `gait init` writes the repo policy.
pub const REPO_POLICY_PATH: &str = ".gait.yaml";
/// Where `gait policy init` writes by default.
pub const LEGACY_POLICY_SCAFFOLD_PATH: &str = "gait.policy.yaml";
/// The regress config.
pub const REGRESS_CONFIG_PATH: &str = "gait.yaml";
/// Largest project config read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// `.gait/config.yaml`. Unknown keys are rejected, so that a misspelt
/// default is an error instead of silently not applying.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProjectConfig {
    /// Defaults for `gate eval`.
    pub gate: GateDefaults,
    /// Defaults for `mcp serve` (checked by `doctor --production-readiness`).
    pub mcp_serve: McpServeDefaults,
    /// Retention TTLs (checked by `doctor --production-readiness`).
    pub retention: RetentionDefaults,
}

/// `gate:` defaults; each applies only when its flag was not given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
#[allow(missing_docs, reason = "each field is the flag of the same name")]
pub struct GateDefaults {
    pub policy: String,
    pub profile: String,
    pub key_mode: String,
    pub private_key: String,
    pub private_key_env: String,
    pub approval_public_key: String,
    pub approval_public_key_env: String,
    pub approval_private_key: String,
    pub approval_private_key_env: String,
    pub kill_switch_state: String,
    pub rate_limit_state: String,
    pub credential_broker: String,
    pub credential_env_prefix: String,
    pub credential_ref: String,
    pub credential_scopes: String,
    pub credential_command: String,
    pub credential_command_args: String,
    pub credential_evidence_path: String,
    pub trace_path: String,
    pub wrkr_inventory_path: String,
}

/// `mcp_serve:` defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
#[allow(missing_docs, reason = "fields mirror the reference's mcp_serve keys")]
pub struct McpServeDefaults {
    pub enabled: bool,
    pub listen: String,
    pub auth_mode: String,
    pub auth_token_env: String,
    pub max_request_bytes: i64,
    pub http_verdict_status: String,
    pub allow_client_artifact_paths: bool,
}

/// `retention:` TTLs (Go durations).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
#[allow(missing_docs, reason = "fields mirror the reference's retention keys")]
pub struct RetentionDefaults {
    pub trace_ttl: String,
    pub session_ttl: String,
    pub export_ttl: String,
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_CONFIG_BYTES as usize),
            max_events: 100_000,
            max_aliases: 100,
            max_anchors: 100,
            max_depth: 16,
            max_documents: 1,
            max_nodes: 20_000,
            max_total_scalar_bytes: MAX_CONFIG_BYTES as usize,
            max_merge_keys: 100,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// Reads the project config at `path`. A missing file is an empty config
/// when `allow_missing`; an empty file is an empty config. String values
/// are trimmed; `auth_mode` and `http_verdict_status` are lowercased.
pub fn load_project_config(
    path: &Path,
    allow_missing: bool,
) -> Result<ProjectConfig, ProjectError> {
    let file = match gait_sign::open_regular_file(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && allow_missing => {
            return Ok(ProjectConfig::default());
        }
        Err(source) => {
            return Err(ProjectError::ReadConfig {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut buf = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|source| ProjectError::ReadConfig {
            path: path.to_path_buf(),
            source,
        })?;
    if buf.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ProjectError::ConfigTooLarge {
            path: path.to_path_buf(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    let text = std::str::from_utf8(&buf).map_err(|_| ProjectError::ConfigNotUtf8 {
        path: path.to_path_buf(),
    })?;
    if text.trim().is_empty() {
        return Ok(ProjectConfig::default());
    }
    let parsed: Option<ProjectConfig> = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|source| ProjectError::ParseConfig {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    let mut c = parsed.unwrap_or_default();
    c.normalize();
    Ok(c)
}

impl ProjectConfig {
    fn normalize(&mut self) {
        let g = &mut self.gate;
        for s in [
            &mut g.policy,
            &mut g.profile,
            &mut g.key_mode,
            &mut g.private_key,
            &mut g.private_key_env,
            &mut g.approval_public_key,
            &mut g.approval_public_key_env,
            &mut g.approval_private_key,
            &mut g.approval_private_key_env,
            &mut g.kill_switch_state,
            &mut g.rate_limit_state,
            &mut g.credential_broker,
            &mut g.credential_env_prefix,
            &mut g.credential_ref,
            &mut g.credential_scopes,
            &mut g.credential_command,
            &mut g.credential_command_args,
            &mut g.credential_evidence_path,
            &mut g.trace_path,
            &mut g.wrkr_inventory_path,
            &mut self.mcp_serve.listen,
            &mut self.mcp_serve.auth_token_env,
            &mut self.retention.trace_ttl,
            &mut self.retention.session_ttl,
            &mut self.retention.export_ttl,
        ] {
            *s = s.trim().to_owned();
        }
        self.mcp_serve.auth_mode = self.mcp_serve.auth_mode.trim().to_lowercase();
        self.mcp_serve.http_verdict_status =
            self.mcp_serve.http_verdict_status.trim().to_lowercase();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn load(text: &str) -> Result<ProjectConfig, ProjectError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.yaml");
        std::fs::write(&p, text).unwrap();
        load_project_config(&p, false)
    }

    #[test]
    fn loads_and_trims() {
        let c = load(
            "gate:\n  policy: ' p.yaml '\n  profile: oss-prod\nmcp_serve:\n  auth_mode: TOKEN\n",
        )
        .unwrap();
        assert_eq!(c.gate.policy, "p.yaml");
        assert_eq!(c.gate.profile, "oss-prod");
        assert_eq!(c.mcp_serve.auth_mode, "token");
        assert_eq!(load("").unwrap(), ProjectConfig::default());
        assert_eq!(
            load("# only a comment\n").unwrap(),
            ProjectConfig::default()
        );
    }

    #[test]
    fn rejects_unknown_and_duplicate_keys() {
        assert!(load("gate:\n  polcy: x\n").is_err());
        assert!(load("gate:\n  policy: a\n  policy: b\n").is_err());
        assert!(load("gate: [1, 2]\n").is_err());
    }

    #[test]
    fn missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope.yaml");
        assert_eq!(
            load_project_config(&p, true).unwrap(),
            ProjectConfig::default()
        );
        assert!(load_project_config(&p, false).is_err());
    }
}
