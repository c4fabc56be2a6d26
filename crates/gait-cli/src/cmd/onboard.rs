//! `gait init`, `gait check`, `gait doctor`: the first five minutes.

use clap::Args;
use gait_project::{DoctorOptions, SurfaceContract};
use serde_json::{Map, Value, json};

use crate::cmd::{fail, put_int, put_str, put_strs};
use crate::exit::{Exit, ExitClass as _};
use crate::key_args::SigningKeyArgs;
use crate::output::{Out, stdout_line};

/// `gait init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Starter template: baseline-lowrisk, baseline-mediumrisk or baseline-highrisk.
    #[arg(long, default_value = gait_project::DEFAULT_INIT_TEMPLATE, value_name = "TEMPLATE")]
    pub template: String,
    /// Where to write the repo policy.
    #[arg(long, default_value = gait_project::REPO_POLICY_PATH, value_name = "PATH")]
    pub out: String,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

/// `gait check`
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The repo policy to check.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The policy, as a positional argument.
    #[arg(value_name = "POLICY", num_args = 0..)]
    pub positional: Vec<String>,
}

/// `gait doctor`
#[derive(Debug, Args)]
#[command(
    mut_arg("key_mode", |a| a.default_value("dev").help("Key mode to check: dev or prod")),
    mut_arg("private_key", |a| a.help("Private key file")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding a private key")),
)]
pub struct DoctorArgs {
    /// Workspace to check.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workdir: String,
    /// Output directory to check.
    #[arg(long, default_value = "./gait-out", value_name = "DIR")]
    pub output_dir: String,
    /// The key to check.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
    /// Public key file.
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<String>,
    /// Environment variable holding a public key.
    #[arg(long, value_name = "VAR")]
    pub public_key_env: Option<String>,
    /// Also check production readiness (.gait/config.yaml, policy default verdict); exit 2 when it fails.
    #[arg(long)]
    pub production_readiness: bool,
    /// Text output: the summary line only.
    #[arg(long)]
    pub summary: bool,
    /// Positional arguments are not accepted (reported as an error).
    #[arg(hide = true)]
    pub unexpected: Vec<String>,
}

fn contract_fields(m: &mut Map<String, Value>) {
    m.insert("contract".into(), json!(SurfaceContract::default()));
    // No repository scan in this build: detection is always empty.
    m.insert("detection".into(), json!({}));
}

/// `gait init`
pub fn init(out: &Out, a: &InitArgs) -> Exit {
    let mut m = Map::new();
    contract_fields(&mut m);
    if !a.unexpected.is_empty() {
        return fail(
            out,
            "init",
            m,
            "unexpected positional arguments",
            Exit::InvalidInput,
        );
    }
    match gait_project::init_policy(&a.template, &a.out, a.force) {
        Ok(r) => {
            if out.is_json() {
                m.insert("ok".into(), Value::Bool(true));
                put_str(&mut m, "template", r.template);
                put_str(&mut m, "policy_path", &r.policy_path);
                put_strs(&mut m, "next_commands", &r.next_commands);
                return out.json(m, Exit::Ok);
            }
            stdout_line(&format!(
                "init ok: policy={} template={}",
                r.policy_path, r.template
            ));
            stdout_line(&format!("next: {}", r.next_commands.join(" | ")));
            Exit::Ok
        }
        Err(e) => fail(out, "init", m, &e.to_string(), e.exit()),
    }
}

/// `gait check`
pub fn check(out: &Out, a: &CheckArgs) -> Exit {
    let mut m = Map::new();
    contract_fields(&mut m);
    let path = match (a.policy.as_deref(), a.positional.as_slice()) {
        (None, []) => gait_project::REPO_POLICY_PATH.to_owned(),
        (None, [p]) => p.clone(),
        (Some(p), []) => p.to_owned(),
        _ => {
            return fail(
                out,
                "check",
                m,
                "unexpected positional arguments",
                Exit::InvalidInput,
            );
        }
    };
    match gait_project::check_policy(&path) {
        Ok(r) => {
            if out.is_json() {
                m.insert("ok".into(), Value::Bool(true));
                put_str(&mut m, "policy_path", &r.policy_path);
                put_str(&mut m, "default_verdict", r.default_verdict.as_str());
                put_int(
                    &mut m,
                    "rule_count",
                    i64::try_from(r.rule_count).unwrap_or(i64::MAX),
                );
                if !r.findings.is_empty() {
                    m.insert("findings".into(), json!(r.findings));
                }
                put_strs(&mut m, "gap_warnings", &r.gap_warnings);
                put_strs(&mut m, "next_commands", &r.next_commands);
                put_str(&mut m, "summary", &r.summary);
                return out.json(m, Exit::Ok);
            }
            stdout_line(&format!(
                "check ok: policy={} rules={} warnings={}",
                r.policy_path,
                r.rule_count,
                r.gap_warnings.len()
            ));
            for w in &r.gap_warnings {
                stdout_line(&format!("warning: {w}"));
            }
            stdout_line(&format!("next: {}", r.next_commands.join(" | ")));
            Exit::Ok
        }
        Err(e) => {
            put_str(&mut m, "policy_path", path.trim());
            fail(out, "check", m, &e.to_string(), e.exit())
        }
    }
}

/// `gait doctor`: exit 7 when a problem cannot be fixed by a command, 2
/// when production readiness was asked for and fails, else 0.
pub fn doctor(out: &Out, a: &DoctorArgs) -> Exit {
    if !a.unexpected.is_empty() {
        return fail(
            out,
            "doctor",
            Map::new(),
            "unexpected positional arguments",
            Exit::InvalidInput,
        );
    }
    let opts = {
        let mut o = DoctorOptions::default();
        o.work_dir = a.workdir.clone();
        o.output_dir = a.output_dir.clone();
        o.producer_version = crate::cmd::version::VERSION.to_owned();
        o.key_mode = a.keys.key_mode.clone().unwrap_or_default();
        o.private_key = a.keys.private.private_key.clone();
        o.private_key_env = a.keys.private.private_key_env.clone();
        o.public_key = a.public_key.clone();
        o.public_key_env = a.public_key_env.clone();
        o.production_readiness = a.production_readiness;
        o.created_at = gait_digest::GoTime::now_utc().format();
        o
    };
    let r = gait_project::run_doctor(&opts);
    let (ok, exit) = if r.non_fixable {
        (false, Exit::MissingDependency)
    } else if a.production_readiness && r.status == gait_project::CheckStatus::Fail {
        (false, Exit::VerifyFailed)
    } else {
        (true, Exit::Ok)
    };
    if out.is_json() {
        let Value::Object(mut m) = json!(r) else {
            return out.json_error("encode doctor result", Exit::Internal);
        };
        m.insert("ok".into(), Value::Bool(ok));
        if a.summary {
            m.insert("summary_mode".into(), Value::Bool(true));
        }
        return out.json(m, exit);
    }
    stdout_line(&r.summary);
    if !a.summary {
        for c in &r.checks {
            stdout_line(&format!("[{}] {}: {}", c.status, c.name, c.message));
        }
        for f in &r.fix_commands {
            stdout_line(&format!("fix: {f}"));
        }
        stdout_line(&format!("next: {}", r.next_commands.join(" | ")));
    }
    exit
}
