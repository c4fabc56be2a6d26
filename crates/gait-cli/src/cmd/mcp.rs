//! `gait mcp proxy|bridge|verify|serve`: the reference's decision service
//! for tool-call payloads (`gait-serve`), plus the entry point of the MCP
//! protocol proxy (`gait mcp proxy -- <server command…>`).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use gait_policy::adapters::{Adapter, ServerInfo};
use gait_policy::mcp_trust::{default_verify_risk_class, evaluate_server_trust};
use gait_policy::policy::ConstraintAction;
use gait_policy::profile::Profile;
use gait_policy::{Gate, Policy};
use gait_serve::http::{HttpConfig, MIN_AUTH_TOKEN_CHARS, VerdictStatus, is_loopback_listen};
use gait_serve::{CallOptions, DecisionService, ServiceConfig};
use gait_sign::{KeyMode, Trace};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::cmd::read_input;
use crate::cmd::tokens::TokenFlags;
use crate::exit::{Exit, Failure, failure};
use crate::key_args::{ModeDefault, SigningKeyArgs, optional_public_key};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait mcp …`
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Evaluate one tool-call payload and write its signed trace (never
    /// executes); with `-- <server command…>`, the MCP protocol proxy.
    #[command(
        after_help = "Examples:\n  gait mcp proxy --policy policy.yaml --call tool_call.json --json\n  gait mcp proxy --policy policy.yaml --adapter openai --call - --json < call.json\n  gait mcp proxy --policy policy.yaml -- npx -y @modelcontextprotocol/server-filesystem ."
    )]
    Proxy(Box<McpProxyArgs>),
    /// Alias of `proxy`.
    #[command(
        after_help = "Examples:\n  gait mcp bridge --policy policy.yaml --call tool_call.json --json"
    )]
    Bridge(Box<McpProxyArgs>),
    /// Check an MCP server description against the policy's trust snapshot.
    #[command(
        after_help = "Examples:\n  gait mcp verify --policy policy.yaml --server server.json --json"
    )]
    Verify(McpVerifyArgs),
    /// Serve the decision service over HTTP (reference flags).
    #[command(
        after_help = "Examples:\n  gait mcp serve --policy policy.yaml --listen 127.0.0.1:8787"
    )]
    Serve(Box<ServeArgs>),
}

/// Signing and service flags shared by `mcp proxy` and the servers.
#[derive(Debug, Args, Clone)]
#[command(
    mut_arg("key_mode", |a| a.default_value("dev").help("Signing key mode: dev (an ephemeral key) or prod")),
    mut_arg("private_key", |a| a.help("Path to a base64 private trace signing key")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding a base64 private trace signing key")),
)]
pub struct EvalFlags {
    /// Default payload adapter: mcp, openai, anthropic, langchain,
    /// claude_code.
    #[arg(long, default_value = "mcp", value_name = "NAME")]
    pub adapter: String,
    /// Context evidence envelope (`gait.context.envelope`), read and
    /// verified at startup and bound to every call's intent.
    #[arg(long, value_name = "PATH")]
    pub context_envelope: Option<String>,
    /// Runtime profile: standard or oss-prod.
    #[arg(long, default_value = "standard", value_name = "NAME")]
    pub profile: String,
    /// Job runtime root: a call naming `context.job_id` is blocked when
    /// that job is emergency-stopped or its state cannot be read.
    #[arg(long, default_value = "./gait-out/jobs", value_name = "DIR")]
    pub job_root: String,
    /// Kill-switch state (`gait kill-switch add`), re-read when it
    /// changes: a call matching an active entry is blocked.
    #[arg(long, value_name = "PATH")]
    pub kill_switch_state: Option<String>,
    /// Credential broker for rules with `require_broker_credential`
    /// (without one, such rules block).
    #[command(flatten)]
    pub broker: crate::broker_args::BrokerArgs,
    /// Rate-limit state file (without one, calls under a rate-limited rule
    /// are blocked).
    #[arg(long, value_name = "PATH")]
    pub rate_limit_state: Option<String>,
    /// Public key that approval tokens must be signed with (base64 file).
    #[arg(long, value_name = "PATH")]
    pub approval_public_key: Option<String>,
    /// Environment variable holding the approval public key.
    #[arg(long, value_name = "VAR")]
    pub approval_public_key_env: Option<String>,
    /// Public key that delegation tokens must be signed with (base64 file).
    #[arg(long, value_name = "PATH")]
    pub delegation_public_key: Option<String>,
    /// Environment variable holding the delegation public key.
    #[arg(long, value_name = "VAR")]
    pub delegation_public_key_env: Option<String>,
    /// Append one JSON line per decision to this file.
    #[arg(long, value_name = "PATH")]
    pub export_log_out: Option<String>,
    /// Append one OTel-shaped JSON line per decision to this file.
    #[arg(long, value_name = "PATH")]
    pub export_otel_out: Option<String>,
    /// The trace signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
}

/// `gait mcp proxy` / `gait mcp bridge`
#[derive(Debug, Args)]
pub struct McpProxyArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The tool-call payload file, or `-` for standard input.
    #[arg(long, value_name = "PATH")]
    pub call: Option<String>,
    /// Shared evaluation flags.
    #[command(flatten)]
    pub flags: EvalFlags,
    /// Trace output path (default `trace_<run>_<time>_0.json`).
    #[arg(long, value_name = "PATH")]
    pub trace_out: Option<String>,
    /// Run id of the artifacts.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Token files presented with the call.
    #[command(flatten)]
    pub tokens: TokenFlags,
    /// Write a signed runpack of the decision here.
    #[arg(long, value_name = "PATH")]
    pub runpack_out: Option<String>,
    /// Write a signed PackSpec run pack of the decision here.
    #[arg(long, value_name = "PATH")]
    pub pack_out: Option<String>,
    /// Positional policy and call paths (the reference accepts both forms).
    #[arg(value_name = "ARG")]
    pub positional: Vec<String>,
    /// The MCP server command to run behind the protocol proxy.
    #[arg(last = true, value_name = "SERVER_COMMAND")]
    pub server_command: Vec<String>,
}

/// `gait mcp verify`
#[derive(Debug, Args)]
pub struct McpVerifyArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The server description JSON (`server_id`, `server_name`,
    /// `publisher`, `source`, `endpoint`).
    #[arg(long, value_name = "PATH")]
    pub server: Option<String>,
    /// The risk class to check (default: the most severe required one).
    #[arg(long, value_name = "CLASS")]
    pub risk_class: Option<String>,
}

/// `gait serve` and `gait mcp serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// Listen address (a non-loopback address needs token auth).
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: String,
    /// Serve JSON lines on standard input/output instead of HTTP.
    #[arg(long)]
    pub stdio: bool,
    /// Shared evaluation flags.
    #[command(flatten)]
    pub flags: EvalFlags,
    /// Auth mode: off or token.
    #[arg(long, default_value = "off", value_name = "MODE")]
    pub auth_mode: String,
    /// Environment variable holding the bearer token (`--auth-mode token`).
    #[arg(long, value_name = "VAR")]
    pub auth_token_env: Option<String>,
    /// Trace directory (server-owned paths).
    #[arg(long, value_name = "DIR")]
    pub trace_dir: Option<String>,
    /// Runpack directory (`emit_runpack` requests).
    #[arg(long, value_name = "DIR")]
    pub runpack_dir: Option<String>,
    /// Pack directory (`emit_pack` requests).
    #[arg(long, value_name = "DIR")]
    pub pack_dir: Option<String>,
    /// Session journal directory: requests naming a session append to
    /// `<dir>/<session>.journal.jsonl` (default
    /// ./gait-out/mcp-serve/sessions, ./gait-out/serve/sessions for `gait
    /// serve`).
    #[arg(long, value_name = "DIR")]
    pub session_dir: Option<String>,
    /// Request body (and stdio line) size cap in bytes.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_request_bytes: i64,
    /// HTTP status of decisions: strict (403 block, 409 approval or
    /// dry_run) or compat (always 200). Default: strict for `gait serve`,
    /// compat for `gait mcp serve`.
    #[arg(long, value_name = "MODE")]
    pub http_verdict_status: Option<String>,
    /// Let requests choose their artifact paths.
    #[arg(long)]
    pub allow_client_artifact_paths: bool,
    /// Worker threads of the HTTP server (default: available cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// The most connections served at once.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// Evaluate on the connection's worker thread (fastest when the trace
    /// directory's fsync is cheap, e.g. tmpfs; with a slow disk each fsync
    /// stalls a worker: raise --workers instead).
    #[arg(long)]
    pub eval_inline: bool,
    /// The most JSON values (scalars, arrays, objects, member names) one
    /// request (or stdio line) may hold.
    #[arg(long, default_value_t = gait_serve::DEFAULT_MAX_REQUEST_VALUES, value_name = "N")]
    pub max_request_values: usize,
    /// Buffer space of all request bodies in flight together; a body that
    /// would exceed it is answered 503 with Retry-After.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub max_inflight_request_bytes: usize,
    /// The most evaluations running at once (the rest wait, then 503).
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_concurrent_evaluations: usize,
    /// Retention flags of the reference (accepted; retention is not
    /// applied by this build).
    #[arg(long, value_name = "DUR", hide = true)]
    pub trace_max_age: Option<String>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "N", hide = true)]
    pub trace_max_count: Option<i64>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "DUR", hide = true)]
    pub runpack_max_age: Option<String>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "N", hide = true)]
    pub runpack_max_count: Option<i64>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "DUR", hide = true)]
    pub pack_max_age: Option<String>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "N", hide = true)]
    pub pack_max_count: Option<i64>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "DUR", hide = true)]
    pub session_max_age: Option<String>,
    /// Reference retention flag (accepted, not applied).
    #[arg(long, value_name = "N", hide = true)]
    pub session_max_count: Option<i64>,
}

/// Runs `gait mcp …`.
pub fn run(out: &Out, cmd: &McpCommand) -> Exit {
    match cmd {
        McpCommand::Proxy(a) | McpCommand::Bridge(a) => proxy(out, a),
        McpCommand::Verify(a) => verify(out, a),
        McpCommand::Serve(a) => serve(out, a, false),
    }
}

fn fail(out: &Out, label: &str, (msg, exit): Failure) -> Exit {
    let json = out.is_json();
    if json {
        let mut m = Map::new();
        m.insert("ok".into(), Value::Bool(false));
        m.insert("error".into(), Value::String(msg));
        return out.json(m, exit);
    }
    stdout_line(&format!("{label} error: {msg}"));
    exit
}

/// The MCP protocol proxy (`gait mcp proxy [flags] -- <server command…>`).
///
/// This branch does not build it: it answers exit 6. The protocol proxy
/// is wired in here.
pub fn protocol_proxy(out: &Out, args: &McpProxyArgs) -> Exit {
    // `gait mcp proxy … -- <server command…>` is routed to the protocol
    // proxy (`cmd::mcp_proxy`) before parsing; a server command reaching
    // this parser means the routing was bypassed.
    let _ = &args.server_command;
    fail(
        out,
        "mcp proxy",
        (
            "a server command after -- runs the protocol proxy; it cannot be combined with --call"
                .into(),
            Exit::InvalidInput,
        ),
    )
}

/// Loads the policy and signing key and builds the service.
pub fn build_service(
    policy_path: &str,
    flags: &EvalFlags,
    trace_dir: PathBuf,
) -> Result<ServiceConfig, Failure> {
    let profile: Profile = flags
        .profile
        .parse()
        .map_err(|e: gait_policy::profile::ProfileError| failure(e))?;
    let adapter = Adapter::parse(&flags.adapter).map_err(failure)?;
    let key_mode = flags.keys.mode(ModeDefault::Strict(KeyMode::Dev))?;
    profile.check_run(key_mode, false).map_err(failure)?;
    let policy = Policy::from_path(std::path::Path::new(policy_path.trim())).map_err(failure)?;
    profile.check_policy(&policy).map_err(failure)?;
    let signer = flags.keys.load::<Trace>(key_mode)?;
    let gate = Gate::new(policy).with_producer_version(crate::cmd::version::VERSION);
    let mut cfg = ServiceConfig::new(gate, signer.key, trace_dir);
    cfg.default_adapter = adapter;
    cfg.producer_version = crate::cmd::version::VERSION.to_owned();
    cfg.oss_prod = profile.is_oss_prod();
    cfg.warnings = signer.warning.map(str::to_owned).into_iter().collect();
    let path = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
    };
    cfg.log_export = path(&flags.export_log_out);
    cfg.rate_limit_state = path(&flags.rate_limit_state);
    cfg.approval_key = optional_public_key::<gait_sign::Approval>(
        "approval public key",
        flags.approval_public_key.as_deref(),
        flags.approval_public_key_env.as_deref(),
    )?;
    cfg.delegation_key = optional_public_key::<gait_sign::Delegation>(
        "delegation public key",
        flags.delegation_public_key.as_deref(),
        flags.delegation_public_key_env.as_deref(),
    )?;
    cfg.otel_export = path(&flags.export_otel_out);
    cfg.job_root = Some(PathBuf::from(flags.job_root.trim()));
    cfg.kill_switch = crate::cmd::kill_switch::store(flags.kill_switch_state.as_deref())?;
    (cfg.broker, cfg.broker_overrides) = flags.broker.resolve()?;
    cfg.context_evidence =
        crate::cmd::kill_switch::context_evidence(flags.context_envelope.as_deref())?.map(Arc::new);
    Ok(cfg)
}

fn proxy(out: &Out, a: &McpProxyArgs) -> Exit {
    if !a.server_command.is_empty() {
        return protocol_proxy(out, a);
    }
    match proxy_inner(a) {
        Ok((m, exit)) => {
            if out.is_json() {
                return out.json(m, exit);
            }
            let s = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            stdout_line(&format!("mcp proxy: verdict={}", s("verdict")));
            stdout_line(&format!("trace: {}", s("trace_path")));
            if !s("runpack_path").is_empty() {
                stdout_line(&format!("runpack: {}", s("runpack_path")));
            }
            if !s("pack_path").is_empty() {
                stdout_line(&format!("pack: {}", s("pack_path")));
            }
            exit
        }
        Err(f) => fail(out, "mcp proxy", f),
    }
}

fn proxy_inner(a: &McpProxyArgs) -> Result<(Map<String, Value>, Exit), Failure> {
    let mut positional = a.positional.iter();
    let mut policy = a.policy.clone().unwrap_or_default();
    if policy.trim().is_empty() {
        policy = positional.next().cloned().unwrap_or_default();
    }
    let mut call = a.call.clone().unwrap_or_default();
    if call.trim().is_empty() {
        call = positional.next().cloned().unwrap_or_default();
    }
    if policy.trim().is_empty() || call.trim().is_empty() || positional.next().is_some() {
        return Err((
            "expected --policy <policy.yaml> and --call <tool_call.json|->".into(),
            Exit::InvalidInput,
        ));
    }
    let limit = gait_policy::adapters::MAX_PAYLOAD_BYTES as u64;
    let payload = if call.trim() == "-" {
        use std::io::Read as _;
        let mut buf = Vec::new();
        std::io::stdin()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| (format!("read stdin payload: {e}"), Exit::InvalidInput))?;
        buf
    } else {
        read_input(call.trim(), "call payload", limit)?
    };
    let value = gait_digest::canonical::parse_strict(&payload).map_err(|e| {
        (
            format!("parse {} tool call: {e}", a.flags.adapter.trim()),
            Exit::InvalidInput,
        )
    })?;
    gait_policy::adapters::refuse_wide_integer_literals(&payload)
        .map_err(|e| (format!("call payload: {e}"), Exit::InvalidInput))?;
    let cfg = build_service(&policy, &a.flags, PathBuf::new())?;
    let service = DecisionService::new(cfg).map_err(failure)?;
    let run_id = a.run_id.clone().unwrap_or_default();
    gait_digest::check_identifier("--run-id", &run_id)
        .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    let trace_path = a
        .trace_out
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let mut opts = CallOptions::default();
    opts.run_id = run_id;
    opts.trace_path = trace_path;
    opts.runpack_out = a
        .runpack_out
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    (opts.approval_tokens, opts.delegation_tokens) = a.tokens.load()?;
    opts.pack_out = a
        .pack_out
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let eval = service.evaluate_call(&value, &opts).map_err(failure)?;
    Ok((eval.output.clone(), Exit::from_code(eval.exit_code)))
}

fn verify(out: &Out, a: &McpVerifyArgs) -> Exit {
    match verify_inner(a) {
        Ok((report, exit)) => {
            if out.is_json() {
                return out.json_typed(&report, exit);
            }
            stdout_line(&format!("mcp verify: verdict={}", report.verdict));
            exit
        }
        Err(f) => fail(out, "mcp verify", f),
    }
}

/// The startup line of `serve` and `mcp serve` under `--json`.
#[derive(Serialize)]
struct ServeStarted<'a> {
    ok: bool,
    listen: String,
    policy: &'a str,
    adapter: &'a str,
    profile: &'a str,
}

/// The `mcp verify --json` object.
#[derive(Serialize)]
struct McpVerifyOutput {
    ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    server_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    server_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    trust_model: Option<&'static str>,
    #[serde(skip_serializing_if = "String::is_empty")]
    snapshot_path: String,
    verdict: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reason_codes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    violations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mcp_trust: Option<Value>,
}

fn verify_inner(a: &McpVerifyArgs) -> Result<(McpVerifyOutput, Exit), Failure> {
    let policy = a.policy.as_deref().unwrap_or_default().trim();
    let server = a.server.as_deref().unwrap_or_default().trim();
    if policy.is_empty() || server.is_empty() {
        return Err((
            "expected --policy <policy.yaml> and --server <server.json>".into(),
            Exit::InvalidInput,
        ));
    }
    let policy = Policy::from_path(std::path::Path::new(policy)).map_err(failure)?;
    let raw = read_input(server, "server description", 1 << 20)?;
    let value = gait_digest::canonical::parse_strict(&raw)
        .map_err(|e| (format!("parse server description: {e}"), Exit::InvalidInput))?;
    let info = ServerInfo::from_value(&value, "server")
        .map_err(|e| (format!("parse server description: {e}"), Exit::InvalidInput))?;
    if info.server_id.trim().is_empty() && info.server_name.trim().is_empty() {
        return Err((
            "server description requires server_id or server_name".into(),
            Exit::InvalidInput,
        ));
    }
    let Some(trust_policy) = policy.mcp_trust() else {
        let report = McpVerifyOutput {
            ok: true,
            server_id: info.server_id.trim().to_owned(),
            server_name: info.server_name.trim().to_owned(),
            trust_model: None,
            snapshot_path: String::new(),
            verdict: "allow",
            reason_codes: Vec::new(),
            violations: Vec::new(),
            mcp_trust: None,
        };
        return Ok((report, Exit::Ok));
    };
    let risk = match a
        .risk_class
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(r) => r.to_lowercase(),
        None => default_verify_risk_class(trust_policy),
    };
    let decision = evaluate_server_trust(
        trust_policy,
        Some(&info),
        &risk,
        gait_digest::GoTime::now_utc(),
    );
    let (verdict, exit, violations) = if decision.enforced {
        match trust_policy.action {
            ConstraintAction::Block => (
                "block",
                Exit::PolicyBlocked,
                vec!["mcp_trust_policy".to_owned()],
            ),
            ConstraintAction::RequireApproval => (
                "require_approval",
                Exit::ApprovalRequired,
                vec!["mcp_trust_policy".to_owned()],
            ),
        }
    } else {
        ("allow", Exit::Ok, Vec::new())
    };
    let report = McpVerifyOutput {
        ok: exit == Exit::Ok,
        server_id: decision.server_id.clone(),
        server_name: decision.server_name.clone(),
        trust_model: Some("local_snapshot"),
        snapshot_path: trust_policy.snapshot_path.trim().to_owned(),
        verdict,
        reason_codes: decision.reason_codes.clone(),
        violations,
        mcp_trust: Some(decision.to_json()),
    };
    Ok((report, exit))
}

/// Runs `gait serve` (`compat_default` false) or `gait mcp serve` (true).
pub fn serve(out: &Out, a: &ServeArgs, our_serve: bool) -> Exit {
    match serve_inner(out, a, our_serve) {
        Ok(exit) => exit,
        Err(f) => fail(out, if our_serve { "serve" } else { "mcp serve" }, f),
    }
}

fn serve_inner(out: &Out, a: &ServeArgs, our_serve: bool) -> Result<Exit, Failure> {
    let policy = a.policy.as_deref().unwrap_or_default().trim();
    if policy.is_empty() {
        return Err(("expected --policy <policy.yaml>".into(), Exit::InvalidInput));
    }
    let status = match a.http_verdict_status.as_deref() {
        Some(s) => VerdictStatus::parse(s).map_err(failure)?,
        None if our_serve => VerdictStatus::Strict,
        None => VerdictStatus::Compat,
    };
    if a.max_request_bytes <= 0 {
        return Err(("--max-request-bytes must be > 0".into(), Exit::InvalidInput));
    }
    let max = usize::try_from(a.max_request_bytes).unwrap_or(usize::MAX);
    for (value, flag) in [
        (a.max_request_values, "--max-request-values"),
        (a.max_inflight_request_bytes, "--max-inflight-request-bytes"),
        (a.max_concurrent_evaluations, "--max-concurrent-evaluations"),
        (a.max_connections, "--max-connections"),
    ] {
        if value == 0 {
            return Err((format!("{flag} must be > 0"), Exit::InvalidInput));
        }
    }
    let auth_mode = a.auth_mode.trim().to_lowercase();
    if auth_mode != "off" && auth_mode != "token" {
        return Err((
            "unsupported --auth-mode value (expected off or token)".into(),
            Exit::InvalidInput,
        ));
    }
    let mut token = None;
    if !a.stdio {
        let loopback = is_loopback_listen(&a.listen).map_err(failure)?;
        if !loopback && auth_mode != "token" {
            return Err((
                "non-loopback --listen requires --auth-mode token".into(),
                Exit::InvalidInput,
            ));
        }
    }
    if auth_mode == "token" {
        let var = a.auth_token_env.as_deref().unwrap_or_default().trim();
        if var.is_empty() {
            return Err((
                "--auth-mode token requires --auth-token-env".into(),
                Exit::InvalidInput,
            ));
        }
        let value = std::env::var(var).unwrap_or_default();
        if value.trim().is_empty() {
            return Err((
                "--auth-token-env did not resolve to a non-empty value".into(),
                Exit::InvalidInput,
            ));
        }
        let value = value.trim();
        let chars = value.chars().count();
        if chars < MIN_AUTH_TOKEN_CHARS {
            return Err((
                format!(
                    "--auth-token-env {var}: the bearer token has {chars} characters; at least {MIN_AUTH_TOKEN_CHARS} are required"
                ),
                Exit::InvalidInput,
            ));
        }
        token = Some(value.to_owned());
    }
    let default_dir = if our_serve {
        "./gait-out/serve/traces"
    } else {
        "./gait-out/mcp-serve/traces"
    };
    let trace_dir = a
        .trace_dir
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(default_dir);
    let mut cfg = build_service(policy, &a.flags, PathBuf::from(trace_dir))?;
    cfg.allow_client_artifact_paths = a.allow_client_artifact_paths;
    cfg.pack_dir = a
        .pack_dir
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    cfg.runpack_dir = a
        .runpack_dir
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let session_dir = a
        .session_dir
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(if our_serve {
            "./gait-out/serve/sessions"
        } else {
            "./gait-out/mcp-serve/sessions"
        });
    cfg.sessions = Some(
        gait_serve::SessionJournals::new(session_dir)
            .with_lock_config(crate::cmd::session::lock_config()),
    );
    let service = Arc::new(DecisionService::new(cfg).map_err(failure)?);
    if a.stdio {
        let stdin = std::io::stdin();
        let stdout = std::io::stdout();
        gait_serve::stdio::serve_lines_limited(
            &service,
            stdin.lock(),
            stdout.lock(),
            max,
            a.max_request_values,
        )
        .map_err(|e| (format!("serve --stdio: {e}"), Exit::Internal))?;
        return Ok(Exit::Ok);
    }
    let mut http = HttpConfig::default();
    http.max_request_bytes = max;
    http.verdict_status = status;
    http.auth_token = token;
    http.eval_inline = a.eval_inline;
    http.max_connections = a.max_connections;
    http.max_request_values = a.max_request_values;
    http.max_inflight_body_bytes = a.max_inflight_request_bytes;
    http.max_concurrent_evaluations = a.max_concurrent_evaluations;
    http.service_name = if our_serve {
        "gait.serve"
    } else {
        "gait.mcp.serve"
    }
    .into();
    let workers = a.workers.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let json = out.is_json();
    let adapter = a.flags.adapter.trim().to_lowercase();
    let policy_s = policy.to_owned();
    let profile = a.flags.profile.trim().to_lowercase();
    let out2 = out.clone();
    gait_serve::http::run_blocking(&a.listen, service, http, workers, move |addr| {
        let label = if our_serve { "serve" } else { "mcp serve" };
        if json {
            let started = ServeStarted {
                ok: true,
                listen: addr.to_string(),
                policy: &policy_s,
                adapter: &adapter,
                profile: &profile,
            };
            let _ = out2.json_typed(&started, Exit::Ok);
        } else {
            stdout_line(&format!("{label}: listening={addr} adapter={adapter}"));
        }
    })
    .map_err(failure)?;
    stderr_line("serve: shut down");
    Ok(Exit::Ok)
}
