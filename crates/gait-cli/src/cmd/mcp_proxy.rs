//! `gait mcp proxy [flags] -- <server command…>`: the MCP stdio protocol
//! proxy (library: `gait-mcp`).
//!
//! Standard output belongs to the MCP client, so everything this command
//! says itself goes to standard error (JSON lines with `--json`).

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use gait_mcp::{CallContext, Governor, PinChangeMode, ProxyConfig};
use gait_policy::{Gate, Policy};
use gait_sign::{KeyMode, Trace};
use gait_trace::DirectorySink;
use serde_json::{Map, Value, json};

use crate::cmd::tokens::TokenFlags;
use crate::exit::{Exit, Failure, failure};
use crate::key_args::{ModeDefault, SigningKeyArgs, optional_public_key};
use crate::output::Out;

/// The default trace directory.
pub const DEFAULT_TRACE_DIR: &str = "gait-out/mcp-proxy/traces";

/// `gait mcp proxy`
#[derive(Debug, Args)]
#[command(
    mut_arg("key_mode", |a| a.default_value("dev").help("Trace signing key mode: dev (ephemeral key) or prod")),
    mut_arg("private_key", |a| a.help("Trace signing private key file (prod mode)")),
    mut_arg("private_key_env", |a| a.help("Trace signing private key environment variable (prod mode)")),
)]
pub struct McpProtocolProxyArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// Directory for the signed trace of every tools/call.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_TRACE_DIR)]
    pub trace_out: String,
    /// Run id recorded in every intent and trace (context.run_id).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Server id used in intents (default: the server's serverInfo.name).
    #[arg(long, value_name = "ID")]
    pub server_id: Option<String>,
    /// Remove tools the policy blocks whatever their arguments from tools/list.
    #[arg(long)]
    pub hide_blocked_tools: bool,
    /// Pin file: tool definition pins are loaded from it and new pins saved
    /// to it, so definitions changed between sessions are caught too.
    #[arg(long, value_name = "PATH")]
    pub pin_file: Option<String>,
    /// What a changed tool definition does: block (default) or warn.
    #[arg(long, value_name = "MODE", default_value = "block")]
    pub on_tool_change: String,
    /// context.identity of the intents.
    #[arg(long, value_name = "ID", default_value = gait_mcp::DEFAULT_IDENTITY)]
    pub identity: String,
    /// context.workspace of the intents.
    #[arg(long, value_name = "PATH", default_value = gait_mcp::DEFAULT_WORKSPACE)]
    pub workspace: String,
    /// context.risk_class of the intents.
    #[arg(long, value_name = "CLASS", default_value = gait_mcp::DEFAULT_RISK_CLASS)]
    pub risk_class: String,
    /// context.session_id of the intents.
    #[arg(long, value_name = "ID")]
    pub session_id: Option<String>,
    /// context.job_id of the intents: with a job id, every call is blocked
    /// while that job is emergency-stopped (or its state unreadable).
    #[arg(long, value_name = "ID")]
    pub job_id: Option<String>,
    /// Job runtime root consulted for the job id's state.
    #[arg(long, value_name = "DIR", default_value = "./gait-out/jobs")]
    pub job_root: String,
    /// Kill-switch state (`gait kill-switch add`), re-read when it
    /// changes: a call matching an active entry is refused.
    #[arg(long, value_name = "PATH")]
    pub kill_switch_state: Option<String>,
    /// A context evidence envelope, verified at startup and bound to every
    /// call's intent.
    #[arg(long, value_name = "PATH")]
    pub context_envelope: Option<String>,
    /// Credential broker for rules with `require_broker_credential`
    /// (without one, such rules block).
    #[command(flatten)]
    pub broker: crate::broker_args::BrokerArgs,
    /// Rate-limit state file.
    #[arg(
        long,
        value_name = "PATH",
        default_value = ".gait-out/gate_rate_limits.json"
    )]
    pub rate_limit_state: String,
    /// Largest message relayed either way, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = gait_mcp::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Deadline of one evaluation (Go duration); a call not decided by then is refused.
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub eval_timeout: String,
    /// Token files presented with every call (each counts only for the
    /// call it is bound to).
    #[command(flatten)]
    pub tokens: TokenFlags,
    /// Public key that approval tokens must be signed with (base64 file).
    #[arg(long, value_name = "PATH")]
    pub approval_public_key: Option<String>,
    /// Public key that delegation tokens must be signed with (base64 file).
    #[arg(long, value_name = "PATH")]
    pub delegation_public_key: Option<String>,
    /// The trace signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
    /// The MCP server command and its arguments (after `--`).
    #[arg(last = true, value_name = "SERVER_COMMAND", required = true)]
    pub command: Vec<String>,
}

/// Writes one diagnostic line to standard error.
fn diag(json: bool, fields: Map<String, Value>) {
    let line = if json {
        gait_digest::go_json::to_sorted_string(&Value::Object(fields))
    } else {
        let msg = fields
            .get("message")
            .or_else(|| fields.get("error"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        format!("gait mcp proxy: {msg}")
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

fn event(kind: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("event".into(), json!(kind));
    m.insert("message".into(), json!(message));
    m
}

/// Runs the proxy until the client or the server is done.
pub fn run(out: &Out, args: &McpProtocolProxyArgs) -> Exit {
    match run_inner(out, args) {
        Ok(exit) => exit,
        Err((msg, exit)) => {
            let mut m = Map::new();
            m.insert("ok".into(), json!(false));
            m.insert("error".into(), json!(msg));
            m.insert("error_code".into(), json!(exit.error_code()));
            m.insert("error_category".into(), json!(exit.error_category()));
            m.insert("exit_code".into(), json!(exit.code()));
            m.insert("correlation_id".into(), json!(out.correlation()));
            diag(out.is_json(), m);
            exit
        }
    }
}

fn run_inner(out: &Out, a: &McpProtocolProxyArgs) -> Result<Exit, Failure> {
    let policy_path = a
        .policy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ("missing required --policy".to_owned(), Exit::InvalidInput))?;
    let policy = Policy::from_path(Path::new(policy_path)).map_err(failure)?;
    let pin_change = PinChangeMode::parse(&a.on_tool_change)
        .map_err(|e| (format!("--on-tool-change: {e}"), Exit::InvalidInput))?;
    let eval_ns = gait_digest::go_duration::parse_go_duration(a.eval_timeout.trim())
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            (
                "invalid --eval-timeout, expected a positive duration".to_owned(),
                Exit::InvalidInput,
            )
        })?;
    let eval_timeout = Duration::from_nanos(u64::try_from(eval_ns).unwrap_or(u64::MAX));
    for (flag, value) in [("--run-id", &a.run_id), ("--session-id", &a.session_id)] {
        gait_digest::check_identifier(flag, value.as_deref().unwrap_or_default())
            .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    }
    if a.max_message_bytes < 1024 {
        return Err((
            "--max-message-bytes must be at least 1024".into(),
            Exit::InvalidInput,
        ));
    }
    let trace_dir = a.trace_out.trim();
    if trace_dir.is_empty() {
        return Err(("--trace-out must not be empty".into(), Exit::InvalidInput));
    }
    // The trace directory must be usable before any call is relayed.
    gait_sign::create_private_dir(Path::new(trace_dir))
        .map_err(|e| (format!("--trace-out {trace_dir}: {e}"), Exit::Internal))?;

    let key_mode = a.keys.mode(ModeDefault::Strict(KeyMode::Dev))?;
    let signer = a.keys.load::<Trace>(key_mode)?;
    if let Some(w) = signer.warning {
        diag(out.is_json(), event("warning", w));
    }

    let context = {
        let mut c = CallContext::default();
        c.identity = a.identity.trim().to_owned();
        c.workspace = a.workspace.trim().to_owned();
        c.risk_class = a.risk_class.trim().to_owned();
        c.session_id = a
            .session_id
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_owned();
        c.run_id = a.run_id.as_deref().unwrap_or_default().trim().to_owned();
        c.job_id = a.job_id.as_deref().unwrap_or_default().trim().to_owned();
        c
    };
    let (approval_tokens, delegation_tokens) = a.tokens.load()?;
    let approval_key = optional_public_key::<gait_sign::Approval>(
        "approval public key",
        a.approval_public_key.as_deref(),
        None,
    )?;
    let delegation_key = optional_public_key::<gait_sign::Delegation>(
        "delegation public key",
        a.delegation_public_key.as_deref(),
        None,
    )?;
    let kill_switch = crate::cmd::kill_switch::store(a.kill_switch_state.as_deref())?;
    let context_evidence =
        crate::cmd::kill_switch::context_evidence(a.context_envelope.as_deref())?;
    let broker = a.broker.resolve()?;
    let gate = Gate::new(policy).with_producer_version(crate::cmd::version::VERSION);
    let mut governor = Governor::new(gate, signer.key, Box::new(DirectorySink::new(trace_dir)))
        .map_err(|e| (e.to_string(), Exit::InvalidInput))?
        .with_producer_version(crate::cmd::version::VERSION)
        .with_rate_limit_state(a.rate_limit_state.trim())
        .with_job_root(a.job_root.trim())
        .with_pin_change(pin_change)
        .with_tokens(
            (approval_tokens, approval_key),
            (delegation_tokens, delegation_key),
        )
        .with_context(context);
    if let Some(store) = kill_switch {
        governor = governor.with_kill_switch(store, false);
    }
    if let Some(evidence) = context_evidence {
        governor = governor.with_context_evidence(evidence);
    }
    if let (Some(broker), overrides) = broker {
        governor = governor.with_broker(broker, overrides);
    }

    let mut config = ProxyConfig::new(a.command.clone());
    config.server_id = a
        .server_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    config.hide_blocked_tools = a.hide_blocked_tools;
    config.max_message_bytes = a.max_message_bytes;
    config.eval_timeout = eval_timeout;
    config.pin_file = a
        .pin_file
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from);

    let json_log = out.is_json();
    let log: gait_mcp::Log = Arc::new(move |msg: &str| diag(json_log, event("log", msg)));
    let report = gait_mcp::run(config, governor, std::io::stdin(), std::io::stdout(), log)
        .map_err(failure)?;
    let exit = if report.server_died {
        Exit::Internal
    } else {
        Exit::Ok
    };
    let mut m = event(
        "summary",
        &format!(
            "session ended: {} calls forwarded, {} refused, {} tool definition changes{}",
            report.calls_forwarded,
            report.calls_refused,
            report.pin_changes,
            if report.server_died {
                "; the server exited first"
            } else {
                ""
            }
        ),
    );
    m.insert("calls_forwarded".into(), json!(report.calls_forwarded));
    m.insert("calls_refused".into(), json!(report.calls_refused));
    m.insert("pin_changes".into(), json!(report.pin_changes));
    m.insert("server_died".into(), json!(report.server_died));
    m.insert("server_exit_code".into(), json!(report.server_exit_code));
    m.insert("trace_dir".into(), json!(trace_dir));
    m.insert("exit_code".into(), json!(exit.code()));
    diag(out.is_json(), m);
    Ok(exit)
}
