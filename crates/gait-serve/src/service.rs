//! The decision service core: payload → adapter → intent → gate → trust →
//! signed trace written → response.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gait_digest::GoTime;
use gait_policy::adapters::{Adapter, ToolCall, decode_tool_call_value};
use gait_policy::gate::{FileRateLimitStore, RateLimitStore};
use gait_policy::token::{ApprovalToken, DelegationToken};
use gait_policy::{Gate, Intent, Verdict};
use gait_sign::{Approval, Delegation, SigningKey, Trace, VerifyingKey};
use gait_trace::{
    Boundary, Decider, DecisionRequest, FileJobStore, JobStore, TraceError, TraceRecord, TraceSink,
    write_trace,
};
use serde_json::{Map, Value};

use crate::error::ServeError;
use crate::session::RunSession;

/// The `gait` exit code of a verdict at the decision service: 0 allow, 3
/// block and dry_run, 4 require_approval. (The reference returns 0 for
/// `dry_run` here; a dry run never executes, so it is reported as not
/// allowed.)
pub fn verdict_exit_code(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::Block | Verdict::DryRun => 3,
        Verdict::RequireApproval => 4,
    }
}

/// A run id as the reference sanitizes it: characters other than ASCII
/// letters, digits, `_` and `-` become `_`, outer `_` are trimmed, and
/// `run_` is prefixed when missing. Empty stays empty.
pub fn normalize_run_id(raw: &str) -> String {
    let mut out = String::new();
    let mut in_bad = false;
    for c in raw.trim().chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
            in_bad = false;
        } else if !in_bad {
            out.push('_');
            in_bad = true;
        }
    }
    let t = out.trim_matches('_');
    if t.is_empty() {
        String::new()
    } else if t.starts_with("run_") {
        t.to_owned()
    } else {
        format!("run_{t}")
    }
}

/// How the service is set up.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The gate (policy loaded once).
    pub gate: Gate,
    /// The trace signing key (traces, runpacks and packs).
    pub signer: Arc<SigningKey<Trace>>,
    /// Where traces go (server-owned).
    pub trace_dir: PathBuf,
    /// Where runpacks go when a request asks for one.
    pub runpack_dir: Option<PathBuf>,
    /// Where packs go when a request asks for one (`--pack-dir`).
    pub pack_dir: Option<PathBuf>,
    /// Rate-limit state (without one, calls under a rate-limited rule are
    /// blocked with `rate_limit_state_unavailable`).
    pub rate_limit_state: Option<PathBuf>,
    /// The key approval tokens must be signed with (without one, no
    /// presented token is valid).
    pub approval_key: Option<VerifyingKey<Approval>>,
    /// The key delegation tokens must be signed with (without one, no
    /// presented token is valid).
    pub delegation_key: Option<VerifyingKey<Delegation>>,
    /// The job runtime root: calls naming `context.job_id` are blocked
    /// when that job is emergency-stopped or its state cannot be read.
    pub job_root: Option<PathBuf>,
    /// The kill switch, consulted on every decision (a file store re-reads
    /// its state when the file changes, so an operator's `gait
    /// kill-switch add` applies without a restart).
    pub kill_switch: Option<Arc<dyn gait_policy::killswitch::KillSwitchStore>>,
    /// The credential broker asked for a short-lived credential when an
    /// allowing rule requires one (without one, such rules block with
    /// `broker_credential_missing`), and the overrides of the rules'
    /// reference and scopes.
    pub broker: Option<Arc<dyn gait_policy::broker::CredentialBroker>>,
    /// See [`ServiceConfig::broker`].
    pub broker_overrides: gait_policy::broker::BrokerOverrides,
    /// The verified context envelope given at startup, bound to every
    /// call's intent.
    pub context_evidence: Option<Arc<gait_policy::context_evidence::ContextEvidence>>,
    /// The adapter of requests that name none.
    pub default_adapter: Adapter,
    /// The producer version written into traces.
    pub producer_version: String,
    /// Whether requests may choose artifact paths.
    pub allow_client_artifact_paths: bool,
    /// The `oss-prod` profile: calls must carry identity, workspace and
    /// session id.
    pub oss_prod: bool,
    /// JSONL decision log export.
    pub log_export: Option<PathBuf>,
    /// OTel-shaped JSONL export.
    pub otel_export: Option<PathBuf>,
    /// Warnings added to every response (for example the dev-key notice).
    pub warnings: Vec<String>,
    /// Session journals: without them (the one-shot proxy), requests
    /// naming a session are not journaled.
    pub sessions: Option<crate::journal::SessionJournals>,
}

impl ServiceConfig {
    /// A configuration with defaults: traces in `trace_dir`, adapter
    /// `mcp`, no runpacks or exports, standard profile.
    pub fn new(gate: Gate, signer: SigningKey<Trace>, trace_dir: impl Into<PathBuf>) -> Self {
        Self {
            gate,
            signer: Arc::new(signer),
            trace_dir: trace_dir.into(),
            runpack_dir: None,
            pack_dir: None,
            rate_limit_state: None,
            approval_key: None,
            delegation_key: None,
            job_root: None,
            kill_switch: None,
            broker: None,
            broker_overrides: gait_policy::broker::BrokerOverrides::default(),
            context_evidence: None,
            default_adapter: Adapter::Mcp,
            producer_version: "0.0.0-dev".to_owned(),
            allow_client_artifact_paths: false,
            oss_prod: false,
            log_export: None,
            otel_export: None,
            warnings: Vec::new(),
            sessions: None,
        }
    }
}

/// Per-call options.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallOptions {
    /// The adapter (default: the service's).
    pub adapter: Option<Adapter>,
    /// The run id (`--run-id`, `run_id`).
    pub run_id: String,
    /// The session id given beside the call.
    pub session_id: String,
    /// The exact trace path (one-shot proxy `--trace-out`, or a client
    /// path when allowed).
    pub trace_path: Option<PathBuf>,
    /// Write a runpack of the decision to this path.
    pub runpack_out: Option<PathBuf>,
    /// Write a runpack into the service's runpack directory.
    pub emit_runpack: bool,
    /// Write a PackSpec run pack of the decision to this path.
    pub pack_out: Option<PathBuf>,
    /// Write a pack into the service's pack directory.
    pub emit_pack: bool,
    /// Approval tokens presented with the call.
    pub approval_tokens: Vec<ApprovalToken>,
    /// Delegation tokens presented with the call.
    pub delegation_tokens: Vec<DelegationToken>,
    /// The client's session journal path (`request.session_journal`, only
    /// with `allow_client_artifact_paths`).
    pub session_journal: Option<String>,
    /// Checkpoint the session every this many events (needs the service's
    /// runpack directory); 0 or less: never.
    pub checkpoint_interval: i64,
}

/// A decision, its trace written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Evaluation {
    /// The response object (the reference's proxy output fields).
    pub output: Map<String, Value>,
    /// The verdict.
    pub verdict: Verdict,
    /// The exit code of the verdict.
    pub exit_code: u8,
    /// The signed trace.
    pub trace: TraceRecord,
    /// Where it was written.
    pub trace_path: PathBuf,
}

impl Evaluation {
    /// The response with `exit_code` (serve and stdio).
    pub fn response(&self) -> Map<String, Value> {
        let mut m = self.output.clone();
        m.insert("exit_code".into(), Value::from(self.exit_code));
        m
    }
}

/// The decision service. `Send + Sync`: one instance serves all requests.
#[derive(Debug)]
pub struct DecisionService {
    cfg: ServiceConfig,
    decider: Decider,
    seq: AtomicU64,
    export_lock: Mutex<()>,
}

const REQUEST_KEYS: &[&str] = &[
    "call",
    "intent",
    "adapter",
    "run_id",
    "session_id",
    "session_journal",
    "checkpoint_interval",
    "trace_path",
    "runpack_out",
    "emit_runpack",
    "pack_out",
    "emit_pack",
    "approval_tokens",
    "delegation_tokens",
    "id",
];

fn invalid(msg: impl Into<String>) -> ServeError {
    ServeError::InvalidInput(msg.into())
}

fn req_str(obj: &Map<String, Value>, key: &str) -> Result<String, ServeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        Some(_) => Err(invalid(format!("decode request: {key}: expected a string"))),
    }
}

fn req_bool(obj: &Map<String, Value>, key: &str) -> Result<bool, ServeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(format!(
            "decode request: {key}: expected a boolean"
        ))),
    }
}

/// Tokens presented in a request member (an array of token objects).
fn req_tokens<T, E: std::fmt::Display>(
    obj: &Map<String, Value>,
    key: &str,
    parse: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<Vec<T>, ServeError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(tokens)) => tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bytes =
                    serde_json::to_vec(t).map_err(|e| invalid(format!("{key}[{i}]: {e}")))?;
                parse(&bytes).map_err(|e| invalid(format!("{key}[{i}]: {e}")))
            })
            .collect(),
        Some(_) => Err(invalid(format!("decode request: {key}: expected an array"))),
    }
}

fn put_str(m: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        m.insert(k.into(), Value::String(v.to_owned()));
    }
}

fn put_strs(m: &mut Map<String, Value>, k: &str, v: &[String]) {
    if !v.is_empty() {
        m.insert(
            k.into(),
            Value::Array(v.iter().cloned().map(Value::String).collect()),
        );
    }
}

/// A compact UTC timestamp for file names (`20261125T204500.123456789`).
fn file_stamp(t: &GoTime) -> String {
    let secs = t.unix_seconds();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:09}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        t.subsec_nanos()
    )
}

impl DecisionService {
    /// A service; creates the trace (and runpack) directory with mode
    /// 0750.
    ///
    /// # Errors
    ///
    /// [`ServeError::Config`] when a directory cannot be created.
    pub fn new(cfg: ServiceConfig) -> Result<Self, ServeError> {
        if !cfg.trace_dir.as_os_str().is_empty() {
            gait_sign::create_private_dir(&cfg.trace_dir)
                .map_err(|e| ServeError::Config(format!("create trace directory: {e}")))?;
        }
        if let Some(d) = &cfg.runpack_dir {
            gait_sign::create_private_dir(d)
                .map_err(|e| ServeError::Config(format!("create runpack directory: {e}")))?;
        }
        if let Some(d) = &cfg.pack_dir {
            gait_sign::create_private_dir(d)
                .map_err(|e| ServeError::Config(format!("create pack directory: {e}")))?;
        }
        let rate_limits = cfg
            .rate_limit_state
            .clone()
            .map(|p| Arc::new(FileRateLimitStore::new(p)) as Arc<dyn RateLimitStore>);
        let jobs = cfg
            .job_root
            .clone()
            .map(|r| Arc::new(FileJobStore::new(r)) as Arc<dyn JobStore>);
        let decider = Decider::new(
            cfg.gate.clone(),
            Arc::new(gait_trace::DirectorySink::new(cfg.trace_dir.clone())),
        )
        .with_signer(cfg.signer.clone())
        .with_producer_version(&cfg.producer_version)
        .with_rate_limits(rate_limits)
        .with_approval_key(cfg.approval_key.clone())
        .with_delegation_key(cfg.delegation_key.clone())
        .with_job_store(jobs)
        .with_kill_switch(cfg.kill_switch.clone(), cfg.oss_prod)
        .with_broker(cfg.broker.clone(), cfg.broker_overrides.clone());
        Ok(Self {
            cfg,
            decider,
            seq: AtomicU64::new(0),
            export_lock: Mutex::new(()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.cfg
    }

    /// Handles one request body of the serve/stdio shape: the reference's
    /// `{call, adapter, run_id, session_id, …}` or `{"intent": …}`
    /// (unknown members are rejected; `id` is echoed back).
    ///
    /// # Errors
    ///
    /// [`ServeError`]; no decision is returned then.
    pub fn handle_request(&self, body: &[u8]) -> Result<Evaluation, ServeError> {
        let value = gait_digest::canonical::parse_strict(body)
            .map_err(|e| invalid(format!("decode request: {e}")))?;
        gait_policy::adapters::refuse_wide_integer_literals(body)
            .map_err(|e| invalid(format!("decode request: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("decode request: expected a JSON object"))?;
        if let Some(k) = obj.keys().find(|k| !REQUEST_KEYS.contains(&k.as_str())) {
            return Err(invalid(format!("decode request: unknown field \"{k}\"")));
        }
        let allow = self.cfg.allow_client_artifact_paths;
        let mut opts = CallOptions {
            run_id: req_str(obj, "run_id")?,
            session_id: req_str(obj, "session_id")?,
            emit_runpack: req_bool(obj, "emit_runpack")?,
            emit_pack: req_bool(obj, "emit_pack")?,
            ..CallOptions::default()
        };
        // The session id is echoed into responses and exports: one line of
        // visible text (the run id is sanitized as the reference does).
        gait_digest::check_identifier("request.session_id", &opts.session_id)
            .map_err(|e| invalid(format!("decode request: {e}")))?;
        let adapter = req_str(obj, "adapter")?;
        if !adapter.is_empty() {
            opts.adapter = Some(Adapter::parse(&adapter).map_err(|e| invalid(e.to_string()))?);
        }
        for key in ["trace_path", "runpack_out", "pack_out", "session_journal"] {
            if !req_str(obj, key)?.is_empty() && !allow {
                return Err(invalid(format!(
                    "request.{key} is not allowed by server configuration"
                )));
            }
        }
        if opts.emit_pack && self.cfg.pack_dir.is_none() {
            return Err(invalid("request.emit_pack requires server --pack-dir"));
        }
        opts.approval_tokens = req_tokens(obj, "approval_tokens", ApprovalToken::from_json_slice)?;
        opts.delegation_tokens =
            req_tokens(obj, "delegation_tokens", DelegationToken::from_json_slice)?;
        let po = req_str(obj, "pack_out")?;
        if !po.is_empty() {
            opts.pack_out = Some(PathBuf::from(po));
        }
        match obj.get("checkpoint_interval") {
            None | Some(Value::Null) => {}
            Some(v) if v.is_i64() || v.is_u64() => {
                opts.checkpoint_interval = v.as_i64().unwrap_or(i64::MAX);
            }
            Some(_) => {
                return Err(invalid(
                    "decode request: checkpoint_interval: expected an integer",
                ));
            }
        }
        let sj = req_str(obj, "session_journal")?;
        if !sj.is_empty() {
            // Checked before deciding: a refused path leaves no trace.
            gait_pack::session::SessionPath::new(&sj)
                .map_err(|e| invalid(format!("request.session_journal: {e}")))?;
            opts.session_journal = Some(sj);
        }
        let tp = req_str(obj, "trace_path")?;
        if !tp.is_empty() {
            opts.trace_path = Some(PathBuf::from(tp));
        }
        let rp = req_str(obj, "runpack_out")?;
        if !rp.is_empty() {
            opts.runpack_out = Some(PathBuf::from(rp));
        }
        let mut eval = match (obj.get("call"), obj.get("intent")) {
            (Some(_), Some(_)) => {
                return Err(invalid("request must hold either call or intent, not both"));
            }
            // By reference: no copy of the call (its arguments may be
            // most of a 1 MiB body).
            (Some(call @ Value::Object(m)), None) if !m.is_empty() => {
                self.evaluate_call(call, &opts)?
            }
            (Some(_), None) => return Err(invalid("request.call is required")),
            (None, Some(intent @ Value::Object(_))) => {
                let intent =
                    Intent::from_value(intent).map_err(|e| invalid(format!("intent: {e}")))?;
                self.decide(None, intent, "intent", &opts)?
            }
            (None, Some(_)) => return Err(invalid("request.intent must be an object")),
            (None, None) => return Err(invalid("request.call is required")),
        };
        if let Some(id) = obj.get("id") {
            eval.output.insert("id".into(), id.clone());
        }
        Ok(eval)
    }

    /// Evaluates one tool-call payload (the one-shot `gait mcp proxy`).
    ///
    /// # Errors
    ///
    /// [`ServeError::InvalidInput`] for a bad payload,
    /// [`ServeError::Internal`] when the decision or its trace failed.
    pub fn evaluate_call(
        &self,
        payload: &Value,
        opts: &CallOptions,
    ) -> Result<Evaluation, ServeError> {
        let adapter = opts.adapter.unwrap_or(self.cfg.default_adapter);
        let call = decode_tool_call_value(adapter, payload).map_err(|e| invalid(e.to_string()))?;
        if !call.context.context_envelope_path.trim().is_empty() {
            return Err(invalid(
                "call.context.context_envelope_path is not supported; use --context-envelope at the boundary",
            ));
        }
        if self.cfg.oss_prod {
            for (v, name) in [
                (&call.context.identity, "identity"),
                (&call.context.workspace, "workspace"),
                (&call.context.session_id, "session_id"),
            ] {
                if v.trim().is_empty() {
                    return Err(invalid(format!(
                        "context.{name} is required in strict profile"
                    )));
                }
            }
        }
        let intent = call.to_intent().map_err(|e| invalid(e.to_string()))?;
        self.decide(Some(&call), intent, adapter.as_str(), opts)
    }

    /// Evaluates an already decoded tool call (for example one built by
    /// [`gait_policy::adapters::mcp_protocol::tool_call`] from an MCP
    /// `tools/call`): the call's server goes through the trust check.
    ///
    /// # Errors
    ///
    /// [`ServeError::InvalidInput`] for an invalid call,
    /// [`ServeError::Internal`] when the decision or its trace failed.
    pub fn evaluate_tool_call(
        &self,
        call: &ToolCall,
        adapter: &str,
        opts: &CallOptions,
    ) -> Result<Evaluation, ServeError> {
        let intent = call.to_intent().map_err(|e| invalid(e.to_string()))?;
        self.decide(Some(call), intent, adapter, opts)
    }

    /// Evaluates an intent (the in-process path and `{"intent": …}`).
    ///
    /// # Errors
    ///
    /// [`ServeError::Internal`] when the decision or its trace failed.
    pub fn evaluate_intent(
        &self,
        intent: Intent,
        opts: &CallOptions,
    ) -> Result<Evaluation, ServeError> {
        self.decide(None, intent, "intent", opts)
    }

    fn decide(
        &self,
        call: Option<&ToolCall>,
        intent: Intent,
        adapter: &str,
        opts: &CallOptions,
    ) -> Result<Evaluation, ServeError> {
        let started = Instant::now();
        let mut given_run_id = normalize_run_id(&opts.run_id);
        if given_run_id.is_empty() {
            given_run_id = normalize_run_id(call.map_or("", |c| c.context.run_id.as_str()));
        }
        let sink = RequestSink {
            service: self,
            given_run_id: &given_run_id,
            trace_path: opts.trace_path.as_deref(),
            written: Mutex::new(None),
        };
        let mut request = DecisionRequest::new(&intent, Boundary::DecisionService)
            .with_approval_tokens(&opts.approval_tokens)
            .with_delegation_tokens(&opts.delegation_tokens)
            .with_server(call.and_then(|c| c.server.as_ref()))
            .with_sink(&sink);
        // The kill-switch state is required by the call's own risk class
        // (a call without one is evaluated as high risk, but does not make
        // a broken state a block rather than an error).
        request.declared_risk_class = call.map(|c| c.context.risk_class.as_str());
        request.context_evidence = self.cfg.context_evidence.as_deref();
        // INVARIANT: nothing is returned (least of all a verdict) unless
        // the signed trace is durably written (the decision core records it
        // through `sink` before answering).
        let decided = self.decider.decide(&request).map_err(|e| match e {
            gait_trace::DecideError::KillSwitchState { .. }
            | gait_trace::DecideError::KillSwitchJournal { .. }
            | gait_trace::DecideError::ContextEvidence { .. } => {
                ServeError::InvalidInput(e.to_string())
            }
            _ => ServeError::Internal(e.to_string()),
        })?;
        let mut warnings = self.cfg.warnings.clone();
        warnings.extend(decided.warnings.iter().cloned());
        let trust = decided.trust;
        let trace = decided.trace;
        let outcome = decided.outcome;
        let prepared = &outcome.prepared_intent;
        let run_id = run_id_for(&given_run_id, &trace);
        let trace_path = sink
            .written
            .into_inner()
            .ok()
            .flatten()
            .ok_or_else(|| ServeError::Internal("trace was not recorded".into()))?;

        let decision = &outcome.decision;
        let verdict = decision.verdict();
        let ctx = prepared.context();
        let session_id = if opts.session_id.is_empty() {
            ctx.session_id.clone()
        } else {
            opts.session_id.clone()
        };
        let mut runpack_path = String::new();
        let runpack_target = match (&opts.runpack_out, opts.emit_runpack, &self.cfg.runpack_dir) {
            (Some(p), _, _) => Some(p.clone()),
            (None, true, Some(dir)) => Some(dir.join(format!(
                "runpack_{run_id}_{}.zip",
                file_stamp(&trace.observed_at)
            ))),
            _ => None,
        };
        let pack_target = match (&opts.pack_out, opts.emit_pack, &self.cfg.pack_dir) {
            (Some(p), _, _) => Some(p.clone()),
            (None, true, Some(dir)) => Some(dir.join(format!(
                "pack_{run_id}_{}.zip",
                file_stamp(&trace.observed_at)
            ))),
            _ => None,
        };
        let (mut pack_path, mut pack_id) = (String::new(), String::new());
        if runpack_target.is_some() || pack_target.is_some() {
            let session = RunSession::new(&run_id, &self.cfg.producer_version);
            session.add_decision(prepared, decision, &trace, false);
            if let Some(path) = runpack_target {
                session
                    .write(&path, &self.cfg.signer)
                    .map_err(|e| ServeError::Internal(format!("write runpack: {e}")))?;
                runpack_path = path.to_string_lossy().into_owned();
            }
            if let Some(path) = pack_target {
                pack_id = session
                    .write_pack(&path, &self.cfg.signer)
                    .map_err(|e| ServeError::Internal(format!("write pack: {e}")))?;
                pack_path = path.to_string_lossy().into_owned();
            }
        }
        if let Some(sessions) = self
            .cfg
            .sessions
            .as_ref()
            .filter(|_| !session_id.is_empty())
        {
            // After the trace is written (the decision happened); a session
            // that cannot be journaled fails the request, so no verdict
            // is delivered without its journal entry.
            let invariant = match (&self.cfg.job_root, ctx.job_id.trim()) {
                (Some(root), id) if !id.is_empty() => {
                    gait_trace::FileJobStore::new(root.clone()).safety_invariant(id)
                }
                _ => None,
            };
            let event = crate::journal::event_of(
                &trace,
                &trace_path,
                decision.reason_codes(),
                decision.violations(),
                invariant.as_ref(),
            )?;
            let request = crate::journal::JournalRequest {
                session_id: &session_id,
                run_id: &run_id,
                client_journal: opts.session_journal.as_deref(),
                checkpoint_interval: opts.checkpoint_interval,
                runpack_dir: self.cfg.runpack_dir.as_deref(),
                producer: &self.cfg.producer_version,
            };
            warnings.extend(crate::journal::journal_decision(
                sessions, &request, &event,
            )?);
        }
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);

        let mut out = Map::new();
        out.insert("ok".into(), Value::Bool(true));
        out.insert("executed".into(), Value::Bool(false));
        put_str(&mut out, "adapter", adapter);
        put_str(&mut out, "run_id", &run_id);
        put_str(&mut out, "job_id", &ctx.job_id);
        put_str(&mut out, "phase", ctx.phase.as_str());
        put_str(&mut out, "session_id", &session_id);
        put_str(&mut out, "tool_name", prepared.tool_name());
        put_str(&mut out, "verdict", verdict.as_str());
        put_strs(&mut out, "reason_codes", decision.reason_codes());
        put_strs(&mut out, "violations", decision.violations());
        if let Some(ks) = &outcome.kill_switch {
            out.insert("kill_switch".into(), ks.to_json());
        }
        put_str(&mut out, "policy_digest", &trace.policy_digest);
        put_str(&mut out, "policy_id", &trace.policy_id);
        put_str(&mut out, "policy_version", &trace.policy_version);
        put_strs(&mut out, "matched_rule_ids", &trace.matched_rule_ids);
        put_str(&mut out, "intent_digest", &trace.intent_digest);
        if latency_ms > 0 {
            out.insert("decision_latency_ms".into(), Value::from(latency_ms));
        }
        put_str(&mut out, "trace_id", &trace.trace_id);
        put_str(&mut out, "trace_path", &trace_path.to_string_lossy());
        put_str(&mut out, "runpack_path", &runpack_path);
        put_str(&mut out, "pack_path", &pack_path);
        put_str(&mut out, "pack_id", &pack_id);
        if let Some(t) = &trust {
            out.insert("mcp_trust".into(), t.to_json());
        }
        put_strs(&mut out, "warnings", &warnings);
        if let Some(rel) = &trace.relationship {
            out.insert("relationship".into(), rel.clone());
        }
        self.export(
            &trace,
            &run_id,
            &session_id,
            latency_ms,
            decision.reason_codes(),
        )?;
        if let Some(p) = &self.cfg.log_export {
            put_str(&mut out, "log_export", &p.to_string_lossy());
        }
        if let Some(p) = &self.cfg.otel_export {
            put_str(&mut out, "otel_export", &p.to_string_lossy());
        }
        Ok(Evaluation {
            output: out,
            verdict,
            exit_code: verdict_exit_code(verdict),
            trace,
            trace_path,
        })
    }

    fn export(
        &self,
        trace: &TraceRecord,
        run_id: &str,
        session_id: &str,
        latency_ms: i64,
        reasons: &[String],
    ) -> Result<(), ServeError> {
        if self.cfg.log_export.is_none() && self.cfg.otel_export.is_none() {
            return Ok(());
        }
        let created_at = if trace.created_at.is_zero() {
            GoTime::from_unix(315_532_800, 0)
        } else {
            trace.created_at.to_utc()
        };
        let _guard = self
            .export_lock
            .lock()
            .map_err(|_| ServeError::Internal("export lock poisoned".into()))?;
        if let Some(path) = &self.cfg.log_export {
            let mut m = Map::new();
            m.insert("created_at".into(), Value::String(created_at.format()));
            m.insert(
                "producer_version".into(),
                Value::String(trace.producer_version.clone()),
            );
            m.insert("run_id".into(), Value::String(run_id.to_owned()));
            put_str(&mut m, "session_id", session_id);
            m.insert("trace_id".into(), Value::String(trace.trace_id.clone()));
            m.insert("tool_name".into(), Value::String(trace.tool_name.clone()));
            m.insert("verdict".into(), Value::String(trace.verdict.clone()));
            put_strs(&mut m, "reason_codes", reasons);
            m.insert(
                "policy_digest".into(),
                Value::String(trace.policy_digest.clone()),
            );
            m.insert(
                "intent_digest".into(),
                Value::String(trace.intent_digest.clone()),
            );
            if latency_ms > 0 {
                m.insert("decision_latency_ms".into(), Value::from(latency_ms));
            }
            append_line(path, &Value::Object(m))?;
        }
        if let Some(path) = &self.cfg.otel_export {
            let v = serde_json::json!({
                "time_unix_nano": i64::try_from(created_at.unix_nanos()).unwrap_or(0),
                "severity_text": "INFO",
                "body": "gait.mcp.proxy.decision",
                "trace_id": trace.trace_id,
                "attributes": {
                    "gait.run_id": run_id,
                    "gait.session_id": session_id,
                    "gait.tool_name": trace.tool_name,
                    "gait.verdict": trace.verdict,
                    "gait.policy_digest": trace.policy_digest,
                    "gait.intent_digest": trace.intent_digest,
                    "gait.decision_latency_ms": latency_ms,
                    "gait.reason_codes": reasons,
                },
            });
            append_line(path, &v)?;
        }
        Ok(())
    }
}

/// The run id of a decision: the one given, else `run_mcp_<intent digest
/// prefix>`.
fn run_id_for(given: &str, trace: &TraceRecord) -> String {
    if given.is_empty() {
        let digest = &trace.intent_digest;
        format!("run_mcp_{}", digest.get(..12).unwrap_or(digest))
    } else {
        given.to_owned()
    }
}

/// One request's trace file: the client's or operator's path, else
/// `<trace_dir>/trace_<run_id>_<time>_<n>.json`.
struct RequestSink<'a> {
    service: &'a DecisionService,
    given_run_id: &'a str,
    trace_path: Option<&'a Path>,
    written: Mutex<Option<PathBuf>>,
}

impl TraceSink for RequestSink<'_> {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        let path = match self.trace_path {
            Some(p) => p.to_path_buf(),
            None => {
                let run_id = run_id_for(self.given_run_id, trace);
                let n = self.service.seq.fetch_add(1, Ordering::Relaxed);
                self.service.cfg.trace_dir.join(format!(
                    "trace_{run_id}_{}_{n}.json",
                    file_stamp(&trace.observed_at)
                ))
            }
        };
        write_trace(&path, trace)?;
        *self
            .written
            .lock()
            .map_err(|_| TraceError::Write("trace sink lock poisoned".into()))? = Some(path);
        Ok(())
    }
}

fn append_line(path: &Path, value: &Value) -> Result<(), ServeError> {
    use std::io::Write as _;
    let mut line = serde_json::to_vec(value)
        .map_err(|e| ServeError::Internal(format!("encode export: {e}")))?;
    line.push(b'\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| ServeError::Internal(format!("append export {}: {e}", path.display())))?;
    f.write_all(&line)
        .and_then(|()| f.sync_data())
        .map_err(|e| ServeError::Internal(format!("append export {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn run_ids() {
        assert_eq!(normalize_run_id(""), "");
        assert_eq!(normalize_run_id(" a b//c "), "run_a_b_c");
        assert_eq!(normalize_run_id("run_x"), "run_x");
        assert_eq!(normalize_run_id("!!"), "");
    }

    #[test]
    fn stamps() {
        assert_eq!(
            file_stamp(&GoTime::from_unix(1_770_249_600, 5)),
            "20260205T000000.000000005"
        );
        assert_eq!(
            file_stamp(&GoTime::from_unix(0, 0)),
            "19700101T000000.000000000"
        );
    }
}
