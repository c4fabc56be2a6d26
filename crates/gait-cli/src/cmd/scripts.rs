//! `gait approve-script` and `gait list-scripts`: the approved-script
//! registry (the format, signing, locking and writing live in
//! [`gait_policy::registry`]).

use std::path::Path;

use clap::Args;
use gait_digest::GoTime;
use gait_policy::registry::{
    ApprovedScriptEntry, ListedScript, ScriptApproval, list_registry, upsert_registry_file,
};
use gait_policy::{Intent, Policy};
use gait_sign::{Approval, KeyMode};
use serde::Serialize;
use serde_json::Map;

use crate::cmd::version::VERSION;
use crate::cmd::{fail, parse_csv, read_input};
use crate::exit::{Exit, Failure, failure};
use crate::key_args::{ModeDefault, SigningKeyArgs};
use crate::output::{Out, stderr_line, stdout_line};

const MAX_INTENT_BYTES: u64 = 8 << 20;

/// `gait approve-script` arguments.
#[derive(Debug, Args)]
pub struct ApproveScriptArgs {
    /// The policy the script is approved under.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The script intent (`script.steps`).
    #[arg(long, value_name = "PATH")]
    pub intent: Option<String>,
    /// The registry file to add the entry to (created if missing).
    #[arg(long, value_name = "PATH")]
    pub registry: Option<String>,
    /// The approver's identity.
    #[arg(long, value_name = "ID")]
    pub approver: Option<String>,
    /// The pattern id (default `pattern_<script_hash[:12]>`).
    #[arg(long, value_name = "ID")]
    pub pattern_id: Option<String>,
    /// How long the approval is valid (Go duration).
    #[arg(long, value_name = "DURATION", default_value = "168h")]
    pub ttl: String,
    /// Scopes (comma-separated: risk:, tool:, workspace_prefix:, endpoint:).
    #[arg(long, value_name = "CSV")]
    pub scope: Option<String>,
    /// The signing key (default dev: an ephemeral key nobody can verify).
    #[command(flatten)]
    pub keys: SigningKeyArgs,
    /// Positional arguments are refused.
    #[arg(hide = true)]
    pub positional: Vec<String>,
}

/// `gait list-scripts` arguments.
#[derive(Debug, Args)]
pub struct ListScriptsArgs {
    /// The registry file.
    #[arg(long, value_name = "PATH")]
    pub registry: Option<String>,
    /// Positional arguments are refused.
    #[arg(hide = true)]
    pub positional: Vec<String>,
}

#[derive(Serialize)]
struct ApproveOutput<'a> {
    ok: bool,
    pattern_id: &'a str,
    policy_digest: &'a str,
    script_hash: &'a str,
    tool_sequence: &'a [String],
    registry_path: &'a str,
    expires_at: String,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn required(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Runs `gait approve-script`.
pub fn approve(out: &Out, a: &ApproveScriptArgs) -> Exit {
    match approve_inner(a) {
        Ok((entry, registry, warnings)) => {
            if out.is_json() {
                return out.json_typed(
                    &ApproveOutput {
                        ok: true,
                        pattern_id: &entry.pattern_id,
                        policy_digest: &entry.policy_digest,
                        script_hash: &entry.script_hash,
                        tool_sequence: &entry.tool_sequence,
                        registry_path: &registry,
                        expires_at: entry.expires_at.to_utc().format(),
                        warnings: &warnings,
                    },
                    Exit::Ok,
                );
            }
            for w in &warnings {
                stderr_line(&format!("warning: {w}"));
            }
            stdout_line(&format!(
                "approve-script: pattern={} registry={registry}",
                entry.pattern_id
            ));
            stdout_line(&format!(
                "policy_digest={} script_hash={}",
                entry.policy_digest, entry.script_hash
            ));
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, "approve-script", Map::new(), &msg, exit),
    }
}

fn approve_inner(
    a: &ApproveScriptArgs,
) -> Result<(ApprovedScriptEntry, String, Vec<String>), Failure> {
    if !a.positional.is_empty() {
        return Err(("unexpected positional arguments".into(), Exit::InvalidInput));
    }
    let (Some(policy), Some(intent), Some(registry), Some(approver)) = (
        required(a.policy.as_ref()),
        required(a.intent.as_ref()),
        required(a.registry.as_ref()),
        required(a.approver.as_ref()),
    ) else {
        return Err((
            "--policy, --intent, --registry, and --approver are required".into(),
            Exit::InvalidInput,
        ));
    };
    let ttl_nanos = match gait_digest::go_duration::parse_go_duration(a.ttl.trim()) {
        Ok(n) if n > 0 => n,
        _ => return Err(("invalid --ttl duration".into(), Exit::InvalidInput)),
    };
    let policy = Policy::from_path(Path::new(policy)).map_err(failure)?;
    let bytes = read_input(intent, "intent", MAX_INTENT_BYTES)?;
    let intent = Intent::from_json_slice(&bytes)
        .map_err(|e| (format!("intent {intent}: {e}"), Exit::InvalidInput))?;
    let loaded = a
        .keys
        .load::<Approval>(a.keys.mode(ModeDefault::Strict(KeyMode::Dev))?)?;
    let mut warnings = Vec::new();
    if loaded.warning.is_some() {
        // Defect D13 of the reference: a dev-mode entry is signed by a key
        // nobody has, so no gate can ever verify it.
        warnings.push("dev mode: ephemeral approval key generated; no gate can verify this entry (use --key-mode prod --private-key)".to_owned());
    }
    let approval = ScriptApproval::new(approver, ttl_nanos, VERSION)
        .with_pattern_id(a.pattern_id.as_deref().unwrap_or_default())
        .with_scope(parse_csv(a.scope.as_deref()));
    let entry =
        ApprovedScriptEntry::approve(&intent, &policy.digest().to_hex(), &approval, &loaded.key)
            .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    upsert_registry_file(Path::new(registry), entry.clone())
        .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    Ok((entry, registry.to_owned(), warnings))
}

#[derive(Serialize)]
struct ListOutput<'a> {
    ok: bool,
    registry: &'a str,
    #[serde(skip_serializing_if = "crate::output::omit::zero")]
    count: u64,
    #[serde(skip_serializing_if = "<[ListedScript]>::is_empty")]
    entries: &'a [ListedScript],
}

/// Runs `gait list-scripts` (signatures are not checked: `gate eval`
/// verifies).
pub fn list(out: &Out, a: &ListScriptsArgs) -> Exit {
    if !a.positional.is_empty() {
        return fail(
            out,
            "list-scripts",
            Map::new(),
            "unexpected positional arguments",
            Exit::InvalidInput,
        );
    }
    let Some(registry) = required(a.registry.as_ref()) else {
        return fail(
            out,
            "list-scripts",
            Map::new(),
            "--registry is required",
            Exit::InvalidInput,
        );
    };
    let entries = match list_registry(Path::new(registry), &GoTime::now_utc()) {
        Ok(e) => e,
        Err(e) => {
            return fail(
                out,
                "list-scripts",
                Map::new(),
                &e.to_string(),
                Exit::InvalidInput,
            );
        }
    };
    if out.is_json() {
        return out.json_typed(
            &ListOutput {
                ok: true,
                registry,
                count: entries.len() as u64,
                entries: &entries,
            },
            Exit::Ok,
        );
    }
    stdout_line(&format!(
        "list-scripts: {} entries in {registry}",
        entries.len()
    ));
    for e in &entries {
        stdout_line(&format!(
            "- {} ({}) approver={} expires={}",
            e.pattern_id,
            if e.expired { "expired" } else { "active" },
            e.approver_identity,
            e.expires_at
        ));
    }
    Exit::Ok
}
