//! `gait hook claude-code` and `gait hook pre-tool`: pre-tool-use hooks
//! that fail closed.
//!
//! * `claude-code` reads a Claude Code `PreToolUse` payload on standard
//!   input and prints `{"hookSpecificOutput": {"hookEventName":
//!   "PreToolUse", "permissionDecision": "allow"|"deny"|"ask",
//!   "permissionDecisionReason": …}}`: `allow` only for an `allow`
//!   verdict, `ask` for `require_approval`, `deny` otherwise. Any error
//!   (unreadable payload, bad policy, a trace that could not be written)
//!   prints `deny` and exits 2, which Claude Code treats as blocking
//!   whatever it makes of the output.
//! * `pre-tool` reads a tool call in Gait's own shape (or `--adapter`)
//!   and prints `{"permission_decision", "verdict", "reason_codes",
//!   "trace_id", "trace_path", "intent_digest", "message", "exit_code"}`;
//!   its exit code is the contract's (0 allow, 3 block or dry_run, 4
//!   approval, 6 invalid input, 1 internal): run the tool only on 0.

use std::io::Read as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use gait_policy::Verdict;
use gait_policy::adapters::Adapter;
use gait_serve::{CallOptions, DecisionService, Evaluation};
use serde_json::{Map, Value, json};

use crate::cmd::mcp::{EvalFlags, build_service};
use crate::cmd::tokens::TokenFlags;
use crate::exit::{Exit, failure};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait hook …`
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Claude Code `PreToolUse` hook (stdin → hookSpecificOutput).
    #[command(
        after_help = "Examples:\n  gait hook claude-code --policy policy.yaml < pre_tool_use.json"
    )]
    ClaudeCode(HookArgs),
    /// Generic pre-tool hook in Gait's own shape.
    #[command(after_help = "Examples:\n  gait hook pre-tool --policy policy.yaml < tool_call.json")]
    PreTool(HookArgs),
}

/// Flags of the hooks.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// Where traces are written.
    #[arg(long, default_value = "./gait-out/hooks/traces", value_name = "DIR")]
    pub trace_dir: String,
    /// Shared evaluation flags (`--adapter` applies to `pre-tool`).
    #[command(flatten)]
    pub flags: EvalFlags,
    /// Token files presented with the call.
    #[command(flatten)]
    pub tokens: TokenFlags,
}

/// The largest hook payload read (1 MiB).
const MAX_PAYLOAD: u64 = 1 << 20;

/// Runs a hook.
pub fn run(_out: &Out, cmd: &HookCommand) -> Exit {
    match cmd {
        HookCommand::ClaudeCode(a) => claude_code(a),
        HookCommand::PreTool(a) => pre_tool(a),
    }
}

fn decide(a: &HookArgs, adapter: Adapter) -> Result<Evaluation, (String, Exit)> {
    let policy = a.policy.as_deref().unwrap_or_default().trim();
    if policy.is_empty() {
        return Err(("expected --policy <policy.yaml>".into(), Exit::InvalidInput));
    }
    let mut payload = Vec::new();
    std::io::stdin()
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut payload)
        .map_err(|e| (format!("read stdin: {e}"), Exit::InvalidInput))?;
    if payload.len() as u64 > MAX_PAYLOAD {
        return Err((
            format!("hook payload larger than {MAX_PAYLOAD} bytes"),
            Exit::InvalidInput,
        ));
    }
    let value = gait_digest::canonical::parse_strict(&payload)
        .map_err(|e| (format!("parse hook payload: {e}"), Exit::InvalidInput))?;
    gait_policy::adapters::refuse_wide_integer_literals(&payload)
        .map_err(|e| (format!("hook payload: {e}"), Exit::InvalidInput))?;
    let mut cfg = build_service(policy, &a.flags, PathBuf::from(a.trace_dir.trim()))?;
    cfg.default_adapter = adapter;
    let service = DecisionService::new(cfg).map_err(failure)?;
    let mut opts = CallOptions::default();
    (opts.approval_tokens, opts.delegation_tokens) = a.tokens.load()?;
    service.evaluate_call(&value, &opts).map_err(failure)
}

fn permission(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::RequireApproval => "ask",
        Verdict::Block | Verdict::DryRun => "deny",
    }
}

/// The `reason_codes` of a decision's output.
fn reason_codes(eval: &Evaluation) -> Vec<String> {
    eval.output
        .get("reason_codes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn reason_text(eval: &Evaluation) -> String {
    let reasons = reason_codes(eval);
    let trace = eval.trace.trace_id.as_str();
    format!(
        "gait: verdict={} reasons={} trace={trace}",
        eval.verdict.as_str(),
        if reasons.is_empty() {
            "-".to_owned()
        } else {
            reasons.join(",")
        }
    )
}

fn print(value: &Value) {
    stdout_line(&serde_json::to_string(value).unwrap_or_default());
}

fn claude_code(a: &HookArgs) -> Exit {
    match decide(a, Adapter::ClaudeCode) {
        Ok(eval) => {
            print(&json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": permission(eval.verdict),
                "permissionDecisionReason": reason_text(&eval),
            }}));
            Exit::Ok
        }
        Err((msg, _)) => {
            let reason = format!("gait: failing closed: {msg}");
            print(&json!({"hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": reason,
            }}));
            stderr_line(&reason);
            // Exit 2 blocks the tool call in Claude Code even if the
            // output is not read.
            Exit::VerifyFailed
        }
    }
}

fn pre_tool(a: &HookArgs) -> Exit {
    let adapter = match Adapter::parse(&a.flags.adapter) {
        Ok(ad) => ad,
        Err(e) => return pre_tool_error(&e.to_string(), Exit::InvalidInput),
    };
    match decide(a, adapter) {
        Ok(eval) => {
            let mut m = Map::new();
            m.insert(
                "permission_decision".into(),
                json!(permission(eval.verdict)),
            );
            for k in [
                "verdict",
                "reason_codes",
                "violations",
                "trace_id",
                "trace_path",
                "intent_digest",
            ] {
                if let Some(v) = eval.output.get(k) {
                    m.insert(k.into(), v.clone());
                }
            }
            let message = if eval.verdict == Verdict::Allow {
                String::new()
            } else {
                gait_trace::refusal_message(
                    eval.verdict,
                    &reason_codes(&eval),
                    &eval.trace.trace_id,
                )
            };
            if !message.is_empty() {
                m.insert("message".into(), json!(message));
            }
            m.insert("exit_code".into(), json!(eval.exit_code));
            print(&Value::Object(m));
            Exit::from_code(eval.exit_code)
        }
        Err((msg, exit)) => pre_tool_error(&msg, exit),
    }
}

fn pre_tool_error(msg: &str, exit: Exit) -> Exit {
    print(&json!({
        "permission_decision": "deny",
        "error": msg,
        "message": format!("Tool call not executed: the policy gate failed ({msg})."),
        "exit_code": exit.code(),
    }));
    exit
}
