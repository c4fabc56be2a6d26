//! `gait init` (repo policy from a template) and `gait check` (validate it).

use std::path::Path;

use gait_policy::policy::{Policy, Verdict};
use gait_policy::templates;
use serde::Serialize;

use crate::ProjectError;
use crate::config::{
    DEFAULT_CONFIG_PATH, LEGACY_POLICY_SCAFFOLD_PATH, REGRESS_CONFIG_PATH, REPO_POLICY_PATH,
};

/// The template `gait init` uses when none is named.
pub const DEFAULT_INIT_TEMPLATE: &str = "baseline-highrisk";

/// The project paths Gait reads and writes (the "live contract").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SurfaceContract {
    /// `.gait.yaml`.
    pub repo_policy_path: &'static str,
    /// `.gait/config.yaml`.
    pub project_defaults_path: &'static str,
    /// `gait.yaml`.
    pub regress_config_path: &'static str,
    /// `gait.policy.yaml`.
    pub legacy_policy_scaffold_path: &'static str,
}

impl Default for SurfaceContract {
    fn default() -> Self {
        Self {
            repo_policy_path: REPO_POLICY_PATH,
            project_defaults_path: DEFAULT_CONFIG_PATH,
            regress_config_path: REGRESS_CONFIG_PATH,
            legacy_policy_scaffold_path: LEGACY_POLICY_SCAFFOLD_PATH,
        }
    }
}

/// What `gait init` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// The canonical template name.
    pub template: &'static str,
    /// The policy file written.
    pub policy_path: String,
    /// Commands to run next (each works as printed).
    pub next_commands: Vec<String>,
}

/// Writes the repo policy: a short header naming the project paths, then
/// the template. An existing file is kept unless `force`.
pub fn init_policy(template: &str, out: &str, force: bool) -> Result<InitReport, ProjectError> {
    let t = templates::resolve(template).ok_or_else(|| ProjectError::UnknownTemplate {
        name: templates::lookup_key(template),
        known: templates::names(),
    })?;
    let out = out.trim();
    if out.is_empty() {
        return Err(ProjectError::EmptyOutputPath);
    }
    let path = Path::new(out);
    let body = format!(
        "# gait init: starter repo policy ({})\n# repo_policy_path: {REPO_POLICY_PATH}\n# project_defaults_path: {DEFAULT_CONFIG_PATH}\n# regress_config_path: {REGRESS_CONFIG_PATH}\n\n{}",
        t.name,
        t.yaml.trim_start_matches('\n')
    );
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && *p != Path::new("."))
    {
        gait_sign::create_private_dir(parent).map_err(|source| ProjectError::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    gait_sign::write_file_atomic(path, body.as_bytes(), gait_sign::PRIVATE_FILE_MODE, force)
        .map_err(|e| match e {
            gait_sign::Error::AlreadyExists { .. } => ProjectError::OutputExists {
                path: out.to_owned(),
            },
            e => ProjectError::Write(e),
        })?;
    Ok(InitReport {
        template: t.name,
        policy_path: out.to_owned(),
        next_commands: vec![
            format!("gait check --policy {out} --json"),
            format!("gait policy validate {out} --json"),
            "gait doctor --json".to_owned(),
        ],
    })
}

/// One readiness finding of `gait check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Finding {
    /// A stable code such as `policy.default_allow`.
    pub code: &'static str,
    /// `warning` or `info`.
    pub severity: &'static str,
    /// What was found.
    pub summary: &'static str,
    /// Where.
    pub detected_surface: &'static str,
    /// What to do.
    pub remediation: &'static str,
}

/// What `gait check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckReport {
    /// The policy checked.
    pub policy_path: String,
    /// Its default verdict.
    pub default_verdict: Verdict,
    /// Its number of rules.
    pub rule_count: usize,
    /// Its digest.
    pub policy_digest: String,
    /// Readiness findings, in a fixed order.
    pub findings: Vec<Finding>,
    /// One line per warning finding.
    pub gap_warnings: Vec<String>,
    /// Commands to run next (each works as printed in the same directory).
    pub next_commands: Vec<String>,
    /// One-line summary.
    pub summary: String,
}

/// Loads the policy strictly and reports readiness findings: no rules,
/// `default_verdict: allow`, no rule that blocks or asks for approval.
pub fn check_policy(policy_path: &str) -> Result<CheckReport, ProjectError> {
    let path = policy_path.trim();
    if path.is_empty() {
        return Err(ProjectError::EmptyPolicyPath);
    }
    let policy = Policy::from_path(Path::new(path)).map_err(|source| ProjectError::Policy {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    let mut findings = Vec::new();
    if policy.rules().is_empty() {
        findings.push(Finding {
            code: "policy.no_rules",
            severity: "warning",
            summary: "the policy has no rules: every call gets default_verdict",
            detected_surface: "policy.rules",
            remediation: "add rules for the tools your agent calls",
        });
    }
    if policy.default_verdict() == Verdict::Allow {
        findings.push(Finding {
            code: "policy.default_allow",
            severity: "warning",
            summary: "default_verdict is allow: calls no rule matches go through",
            detected_surface: "policy.default_verdict",
            remediation: "set default_verdict to require_approval or block before production",
        });
    }
    if !policy
        .rules()
        .iter()
        .any(|r| matches!(r.effect, Verdict::Block | Verdict::RequireApproval))
    {
        findings.push(Finding {
            code: "policy.no_non_allow_rules",
            severity: "warning",
            summary: "no rule blocks or requires approval",
            detected_surface: "policy.rules",
            remediation: "add block or require_approval rules for writes, deletes and deploys",
        });
    }
    let gap_warnings: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == "warning")
        .map(|f| format!("{}: {}", f.code, f.summary))
        .collect();
    let summary = format!(
        "policy ok: default_verdict={} rules={} findings={} gap_warnings={}",
        policy.default_verdict().as_str(),
        policy.rules().len(),
        findings.len(),
        gap_warnings.len()
    );
    Ok(CheckReport {
        policy_path: path.to_owned(),
        default_verdict: policy.default_verdict(),
        rule_count: policy.rules().len(),
        policy_digest: policy.digest().to_hex(),
        findings,
        gap_warnings,
        next_commands: vec![
            format!("gait policy validate {path} --json"),
            "gait doctor --json".to_owned(),
            "gait demo --json".to_owned(),
        ],
        summary,
    })
}
