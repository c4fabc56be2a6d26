//! `gait gate eval`

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use gait_digest::GoTime;
use gait_policy::Gate;
use gait_policy::gate::{FileRateLimitStore, GateOutcome};
use gait_policy::intent::Intent;
use gait_policy::policy::Policy;
use gait_policy::profile::Profile;
use gait_policy::registry::RegistryLoadError;
use gait_policy::token::{ApprovalToken, DelegationToken};
use gait_sign::{Approval, Delegation, KeyMode, Trace, VerifyingKey};
use gait_trace::explain::ProofRefs;
use gait_trace::{Boundary, Decider, DecisionRequest, FileJobStore, FileSink, JobStore};
use serde::Serialize;
use serde_json::Value;

use crate::cmd::{read_input, tokens};
use crate::exit::{Exit, Failure, failure};
use crate::key_args::{KeySources, ModeDefault, SigningKeyArgs};
use crate::output::{Out, omit, stderr_line, stdout_line};

/// The largest intent file accepted.
const MAX_INTENT_BYTES: u64 = 8 << 20;

/// `gait gate …`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Evaluate an intent against a policy and emit a signed trace.
    #[command(
        after_help = "Examples:\n  gait policy init baseline-highrisk\n  gait gate eval --policy gait.policy.yaml --intent intent.json --json\n  gait gate eval --intent intent.json --json   # policy and keys from .gait/config.yaml"
    )]
    Eval(Box<GateEvalArgs>),
}

/// `gait gate eval`
#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("key_mode", |a| a.help("Trace signing key mode: dev (ephemeral key, the default) or prod")),
    mut_arg("private_key", |a| a.help("Trace signing private key file (prod mode)")),
    mut_arg("private_key_env", |a| a.help("Trace signing private key environment variable (prod mode)")),
)]
pub struct GateEvalArgs {
    /// The policy YAML file.
    #[arg(long, value_name = "PATH")]
    pub policy: Option<String>,
    /// The intent JSON file.
    #[arg(long, value_name = "PATH")]
    pub intent: Option<String>,
    /// Where to write the signed trace (default ./trace_<trace_id>.json).
    #[arg(long, value_name = "PATH")]
    pub trace_out: Option<String>,
    /// Evaluate as of this RFC 3339 time (freeze windows, agent expiry).
    #[arg(long, value_name = "RFC3339")]
    pub evaluation_time: Option<String>,
    /// Rate-limit state file (default .gait-out/gate_rate_limits.json).
    #[arg(long, value_name = "PATH")]
    pub rate_limit_state: Option<String>,
    /// An approval token file.
    #[arg(long, value_name = "PATH")]
    pub approval_token: Option<String>,
    /// More approval token files, comma-separated.
    #[arg(long, value_name = "CSV")]
    pub approval_token_chain: Option<String>,
    /// An approval reference recorded in the trace.
    #[arg(long, value_name = "REF")]
    pub approval_token_ref: Option<String>,
    /// Where to write the approval audit record.
    #[arg(long, value_name = "PATH")]
    pub approval_audit_out: Option<String>,
    /// Approval verify key (public key file).
    #[arg(long, value_name = "PATH")]
    pub approval_public_key: Option<String>,
    /// Approval verify key (environment variable).
    #[arg(long, value_name = "VAR")]
    pub approval_public_key_env: Option<String>,
    /// Approval verify key (private key file; its public half is used).
    #[arg(long, value_name = "PATH")]
    pub approval_private_key: Option<String>,
    /// Approval verify key (private key environment variable).
    #[arg(long, value_name = "VAR")]
    pub approval_private_key_env: Option<String>,
    /// A delegation token file.
    #[arg(long, value_name = "PATH")]
    pub delegation_token: Option<String>,
    /// More delegation token files, comma-separated.
    #[arg(long, value_name = "CSV")]
    pub delegation_token_chain: Option<String>,
    /// Where to write the delegation audit record.
    #[arg(long, value_name = "PATH")]
    pub delegation_audit_out: Option<String>,
    /// Delegation verify key (public key file).
    #[arg(long, value_name = "PATH")]
    pub delegation_public_key: Option<String>,
    /// Delegation verify key (environment variable).
    #[arg(long, value_name = "VAR")]
    pub delegation_public_key_env: Option<String>,
    /// Delegation verify key (private key file).
    #[arg(long, value_name = "PATH")]
    pub delegation_private_key: Option<String>,
    /// Delegation verify key (private key environment variable).
    #[arg(long, value_name = "VAR")]
    pub delegation_private_key_env: Option<String>,
    /// The trace signing key.
    #[command(flatten)]
    pub keys: SigningKeyArgs,
    /// Profile: standard (the default) or oss-prod.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Report the decision without enforcing it.
    #[arg(long)]
    pub simulate: bool,
    /// A Wrkr tool inventory (adds wrkr.* context for the context_* selectors).
    #[arg(long, value_name = "PATH")]
    pub wrkr_inventory: Option<String>,
    /// A signed approved-script registry (pre-approves exact scripts).
    #[arg(long, value_name = "PATH")]
    pub approved_script_registry: Option<String>,
    /// Registry verify key (public key file); defaults to the approval key sources.
    #[arg(long, value_name = "PATH")]
    pub approved_script_public_key: Option<String>,
    /// Registry verify key (environment variable).
    #[arg(long, value_name = "VAR")]
    pub approved_script_public_key_env: Option<String>,
    /// Project defaults file (applies to flags not given).
    #[arg(long, value_name = "PATH", default_value = gait_project::DEFAULT_CONFIG_PATH)]
    pub config: String,
    /// Ignore the project defaults file.
    #[arg(long)]
    pub no_config: bool,
    /// Job runtime root: a call whose intent names `context.job_id` is
    /// blocked when that job is emergency-stopped or its state cannot be
    /// read.
    #[arg(long, value_name = "DIR")]
    pub job_root: Option<String>,
    /// Kill-switch state (`gait kill-switch add`): a call matching an
    /// active entry is blocked. A state that cannot be read blocks under
    /// oss-prod or for high/critical risk, and is an error otherwise.
    #[arg(long, value_name = "PATH")]
    pub kill_switch_state: Option<String>,
    /// A context evidence envelope (`gait.context.envelope`), verified and
    /// bound to the intent: the only way context evidence reaches a rule.
    #[arg(long, value_name = "PATH")]
    pub context_envelope: Option<String>,
    /// With --json: print the `gait.gate.policy_explain` document of the
    /// decision instead of the usual output (the decision, its trace and
    /// exit code are unchanged).
    #[arg(long)]
    pub explain: bool,
    /// The credential broker flags.
    #[command(flatten)]
    pub broker: crate::broker_args::BrokerArgs,
    /// Where to write the credential evidence record (default
    /// ./credential_evidence_<trace_id>.json).
    #[arg(long, value_name = "PATH")]
    pub credential_evidence_out: Option<String>,
}

/// Runs a `gate` subcommand.
pub fn run(out: &Out, cmd: &GateCommand) -> Exit {
    match cmd {
        GateCommand::Eval(a) => eval(out, a),
    }
}

fn fail(out: &Out, (msg, exit): Failure) -> Exit {
    let json = out.is_json();
    if json {
        out.json_error(&msg, exit)
    } else {
        stderr_line(&format!("gate eval error: {msg}"));
        exit
    }
}

struct Prepared {
    policy: Policy,
    intent: Intent,
    approval_tokens: Vec<ApprovalToken>,
    delegation_tokens: Vec<DelegationToken>,
}

fn load_inputs(a: &GateEvalArgs) -> Result<Prepared, Failure> {
    let policy_path = a
        .policy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ("missing required --policy".to_owned(), Exit::InvalidInput))?;
    let intent_path = a
        .intent
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ("missing required --intent".to_owned(), Exit::InvalidInput))?;
    let policy = Policy::from_path(Path::new(policy_path)).map_err(failure)?;
    let bytes = read_input(intent_path, "intent", MAX_INTENT_BYTES)?;
    let intent = Intent::from_json_slice(&bytes)
        .map_err(|e| (format!("intent {intent_path}: {e}"), Exit::InvalidInput))?;
    let approval_tokens = tokens::approval_tokens(&tokens::token_paths(
        a.approval_token.as_deref(),
        a.approval_token_chain.as_deref(),
    ))?;
    let delegation_tokens = tokens::delegation_tokens(&tokens::token_paths(
        a.delegation_token.as_deref(),
        a.delegation_token_chain.as_deref(),
    ))?;
    Ok(Prepared {
        policy,
        intent,
        approval_tokens,
        delegation_tokens,
    })
}

fn eval(out: &Out, a: &GateEvalArgs) -> Exit {
    let a = &match crate::cmd::project_config::apply_gate_defaults(a) {
        Ok(a) => a,
        Err(f) => return fail(out, f),
    };
    match eval_inner(out, a) {
        Ok(exit) => exit,
        Err(f) => fail(out, f),
    }
}

fn eval_inner(out: &Out, a: &GateEvalArgs) -> Result<Exit, Failure> {
    let profile: Profile = a
        .profile
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(failure)?;
    let key_mode = a.keys.mode(ModeDefault::BlankIs(KeyMode::Dev))?;
    let evaluation_time = match a
        .evaluation_time
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(t) => Some(
            GoTime::parse(t)
                .map_err(|e| (format!("--evaluation-time: {e}"), Exit::InvalidInput))?
                .to_utc(),
        ),
        None => None,
    };
    let inputs = load_inputs(a)?;
    profile.check_run(key_mode, a.simulate).map_err(failure)?;
    profile.check_policy(&inputs.policy).map_err(failure)?;
    profile
        .check_broker_policy(&inputs.policy)
        .map_err(failure)?;

    // The trace signing key.
    let signer = a.keys.load::<Trace>(key_mode)?;
    let mut warnings: Vec<String> = signer.warning.map(str::to_owned).into_iter().collect();
    let signer = Arc::new(signer.key);

    // Verify keys, with the reference's fallbacks: approvals fall back to
    // the trace key; delegations to the approval sources, then the trace key.
    let approval_sources = KeySources::from_flags(
        a.approval_public_key.as_deref(),
        a.approval_public_key_env.as_deref(),
        a.approval_private_key.as_deref(),
        a.approval_private_key_env.as_deref(),
    )?;
    let delegation_sources = KeySources::from_flags(
        a.delegation_public_key.as_deref(),
        a.delegation_public_key_env.as_deref(),
        a.delegation_private_key.as_deref(),
        a.delegation_private_key_env.as_deref(),
    )?;
    let approval_key: VerifyingKey<Approval> = if !approval_sources.is_empty() {
        approval_sources.load()?
    } else {
        if !inputs.approval_tokens.is_empty() {
            warnings.push("no approval verify key configured; approval tokens are checked against the trace signing key".into());
        }
        // Deliberate role fallback, kept for compatibility with the
        // reference contract.
        signer.verifying_key().clone().into_role()
    };
    let delegation_key: VerifyingKey<Delegation> = if !delegation_sources.is_empty() {
        delegation_sources.load()?
    } else if !approval_sources.is_empty() {
        approval_sources.load()?
    } else {
        // Deliberate role fallback, as above.
        signer.verifying_key().clone().into_role()
    };

    // Fail-closed loading of optional context: under oss-prod or for
    // high/critical risk an unusable input stops the call (exit 3).
    let fail_closed =
        gait_policy::gate::optional_inputs_fail_closed(profile.is_oss_prod(), &inputs.intent);
    let mut wrkr = None;
    if let Some(path) = a
        .wrkr_inventory
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let loaded = read_input(
            path,
            "wrkr inventory",
            gait_policy::wrkr::MAX_INVENTORY_BYTES as u64,
        )
        .map_err(|(m, _)| m)
        .and_then(|b| {
            gait_policy::wrkr::WrkrInventory::from_json_slice(&b).map_err(|e| e.to_string())
        });
        match loaded {
            Ok(inv) => wrkr = Some((Arc::new(inv), gait_digest::clean_path(path))),
            Err(e) if fail_closed => {
                return Err((
                    format!("wrkr inventory unavailable in fail-closed mode: {e}"),
                    Exit::PolicyBlocked,
                ));
            }
            Err(_) => warnings
                .push("wrkr inventory unavailable; continuing without context enrichment".into()),
        }
    }
    let (broker, broker_overrides) = a.broker.resolve()?;
    profile
        .check_broker(&inputs.policy, broker.is_some())
        .map_err(failure)?;
    let approved_scripts = load_registry(a, &approval_sources, fail_closed, &mut warnings)?;

    let rate_limit_state = a
        .rate_limit_state
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or(".gait-out/gate_rate_limits.json");
    let jobs = a
        .job_root
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|root| Arc::new(FileJobStore::new(root)) as Arc<dyn JobStore>);
    let kill_switch = crate::cmd::kill_switch::store(a.kill_switch_state.as_deref())?;
    let context_evidence =
        crate::cmd::kill_switch::context_evidence(a.context_envelope.as_deref())?;
    let trace_out = a
        .trace_out
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    let sink = Arc::new(FileSink::new(trace_out));
    let Prepared {
        policy,
        intent,
        approval_tokens,
        delegation_tokens,
    } = inputs;
    let gate = Gate::new(policy).with_producer_version(crate::cmd::version::VERSION);
    let decider = Decider::new(gate, sink.clone())
        .with_signer(signer)
        .with_producer_version(crate::cmd::version::VERSION)
        .with_rate_limits(Some(Arc::new(FileRateLimitStore::new(rate_limit_state))))
        .with_approval_key(Some(approval_key))
        .with_delegation_key(Some(delegation_key))
        .with_job_store(jobs)
        .with_kill_switch(kill_switch, profile.is_oss_prod())
        .with_broker(broker, broker_overrides);
    let mut request = DecisionRequest::new(&intent, Boundary::GateEval)
        .with_approval_tokens(&approval_tokens)
        .with_delegation_tokens(&delegation_tokens);
    request.evaluation_time = evaluation_time;
    request.simulate = a.simulate;
    request.wrkr = wrkr;
    request.approved_scripts = &approved_scripts;
    request.context_evidence = context_evidence.as_ref();
    let correlation = out.correlation();
    request.correlation_id = correlation;
    request.approval_token_ref = a.approval_token_ref.as_deref().unwrap_or_default();
    // The signed trace is always written, whatever the verdict.
    let decided = decider.decide(&request).map_err(failure)?;
    if let Some(err) = &decided.evaluation_error {
        return Err((err.clone(), Exit::Internal));
    }
    warnings.extend(decided.warnings.iter().cloned());
    let outcome = &decided.outcome;
    let trace = &decided.trace;
    let trace_path = sink
        .written()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();

    let mut approval_audit_path = String::new();
    if outcome.required_approvals > 0 || !outcome.approval_entries.is_empty() {
        approval_audit_path = a
            .approval_audit_out
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(
                || format!("approval_audit_{}.json", trace.trace_id),
                str::to_owned,
            );
        let record = gait_trace::approval_audit_record(trace, outcome, &outcome.approval_entries);
        write_json_file(&approval_audit_path, &record)?;
    }
    let mut delegation_audit_path = String::new();
    if outcome.delegation_required || !outcome.delegation_entries.is_empty() {
        delegation_audit_path = a
            .delegation_audit_out
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(
                || format!("delegation_audit_{}.json", trace.trace_id),
                str::to_owned,
            );
        let record =
            gait_trace::delegation_audit_record(trace, outcome, &outcome.delegation_entries);
        write_json_file(&delegation_audit_path, &record)?;
    }

    // The credential evidence record, once the trace id is known.
    let mut credential_evidence_path = String::new();
    if let Some(credential) = &outcome.credential {
        credential_evidence_path = a
            .credential_evidence_out
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_or_else(
                || format!("credential_evidence_{}.json", trace.trace_id),
                str::to_owned,
            );
        let record = credential.evidence_record(
            &trace.trace_id,
            outcome.decision.created_at(),
            crate::cmd::version::VERSION,
        );
        let record = serde_json::to_value(&record).map_err(|e| (e.to_string(), Exit::Internal))?;
        write_json_file(&credential_evidence_path, &record)?;
    }

    let exit = Exit::for_verdict(decided.verdict());
    if a.explain {
        let mut refs = ProofRefs::default();
        refs.trace_path.clone_from(&trace_path);
        refs.approval_audit_path = approval_audit_path;
        refs.delegation_audit_path = delegation_audit_path;
        refs.credential_evidence_path = credential_evidence_path;
        let doc = gait_trace::explain::policy_explain(
            &decided,
            decider.gate().policy(),
            crate::cmd::version::VERSION,
            &refs,
        );
        return Ok(out.json(doc, exit));
    }
    let report = Report {
        profile: profile.as_str(),
        outcome,
        intent: &outcome.prepared_intent,
        trace_id: &trace.trace_id,
        trace_path: &trace_path,
        approval_audit_path: &approval_audit_path,
        delegation_audit_path: &delegation_audit_path,
        credential_evidence_path: &credential_evidence_path,
        warnings: &warnings,
    };
    if out.is_json() {
        return Ok(report.print_json(out, exit));
    }
    for w in &warnings {
        stderr_line(&format!("warning: {w}"));
    }
    report.print_text();
    Ok(exit)
}

/// Loads and verifies the approved-script registry, failing closed (exit 3)
/// when the registry or its verification is unusable and `fail_closed`
/// (the rule lives in [`gait_policy::registry::load_for_decision`]).
fn load_registry(
    a: &GateEvalArgs,
    approval_sources: &KeySources,
    fail_closed: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<gait_policy::registry::ApprovedScriptEntry>, Failure> {
    let Some(path) = a
        .approved_script_registry
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return Ok(Vec::new());
    };
    let own = KeySources::from_flags(
        a.approved_script_public_key.as_deref(),
        a.approved_script_public_key_env.as_deref(),
        None,
        None,
    )?;
    let sources = if !own.is_empty() {
        own
    } else {
        approval_sources.clone()
    };
    let key = || -> Result<Option<VerifyingKey<Approval>>, gait_sign::Error> {
        if !sources.is_empty() {
            gait_sign::load_verifying_key(sources.private.as_ref(), sources.public.as_ref())
                .map(Some)
        } else {
            Ok(None)
        }
    };
    match gait_policy::registry::load_for_decision(
        Path::new(path),
        fail_closed,
        &GoTime::now_utc(),
        key,
    ) {
        Ok(loaded) => {
            warnings.extend(loaded.warnings);
            Ok(loaded.entries)
        }
        Err(RegistryLoadError::Key(e)) => Err(failure(e)),
        Err(e) => Err((e.to_string(), Exit::PolicyBlocked)),
    }
}

fn write_json_file(path: &str, value: &Value) -> Result<(), Failure> {
    let p = Path::new(path);
    if p.is_relative() && path.split(['/', '\\']).any(|s| s == "..") {
        return Err((
            format!("output path must not contain '..': {path}"),
            Exit::InvalidInput,
        ));
    }
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        gait_sign::create_private_dir(dir).map_err(|e| (e.to_string(), Exit::Internal))?;
    }
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| (e.to_string(), Exit::Internal))?;
    bytes.push(b'\n');
    gait_sign::write_file_atomic(p, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| (e.to_string(), Exit::Internal))
}

struct Report<'a> {
    profile: &'a str,
    outcome: &'a GateOutcome,
    intent: &'a Intent,
    trace_id: &'a str,
    trace_path: &'a str,
    approval_audit_path: &'a str,
    delegation_audit_path: &'a str,
    credential_evidence_path: &'a str,
    warnings: &'a [String],
}

/// The `gate eval --json` object (members with Go's `omitempty`: empty
/// strings and lists, zero counts and false flags are left out).
#[derive(Serialize)]
struct GateEvalOutput<'a, V: Serialize + ?Sized, F: Serialize, S: Serialize> {
    ok: bool,
    #[serde(skip_serializing_if = "omit::blank")]
    profile: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    verdict: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    approval_ref: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    approval_audit_path: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    delegation_ref: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    delegation_audit_path: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    trace_id: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    trace_path: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    policy_digest: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    intent_digest: String,
    #[serde(skip_serializing_if = "omit::blank")]
    matched_rule: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    context_source: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    pattern_id: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    registry_reason: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    phase: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    context_set_digest: String,
    #[serde(skip_serializing_if = "omit::blank")]
    context_evidence_mode: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    script_hash: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    composite_risk_class: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    simulated_verdict: &'a str,
    #[serde(skip_serializing_if = "omit::no_items")]
    reason_codes: &'a [String],
    #[serde(skip_serializing_if = "omit::no_items")]
    violations: &'a [String],
    #[serde(skip_serializing_if = "omit::no_items")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "omit::no_items")]
    simulated_reason_codes: &'a [String],
    #[serde(skip_serializing_if = "omit::zero")]
    required_approvals: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    valid_approvals: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    valid_delegations: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    context_ref_count: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    rate_limit_used: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    rate_limit_remaining: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    destructive_budget_used: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    destructive_budget_remaining: u64,
    #[serde(skip_serializing_if = "omit::zero")]
    step_count: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    delegation_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pre_approved: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    script: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    simulate_mode: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    would_have_blocked: bool,
    // Present (even when empty) whenever the rate limit or budget applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destructive_budget_scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destructive_budget_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_verdicts: Option<&'a V>,
    #[serde(skip_serializing_if = "Option::is_none")]
    freeze_window: Option<&'a F>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<&'a S>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kill_switch: Option<&'a gait_policy::killswitch::KillSwitchDecision>,
    #[serde(skip_serializing_if = "omit::blank")]
    credential_issuer: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    credential_source: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    credential_access_type: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    credential_ref: &'a str,
    #[serde(skip_serializing_if = "omit::zero")]
    credential_ttl_seconds: u64,
    #[serde(skip_serializing_if = "omit::blank")]
    credential_evidence_path: &'a str,
}

impl Report<'_> {
    fn print_json(&self, out: &Out, exit: Exit) -> Exit {
        let o = self.outcome;
        let d = &o.decision;
        let ctx = self.intent.context();
        let script = d.script();
        let sim = o.simulation.as_ref();
        let cred = o.credential.as_ref().map(|c| &c.response);
        let output = GateEvalOutput {
            ok: true,
            profile: self.profile,
            verdict: d.verdict().as_str(),
            approval_ref: &o.approval_ref,
            approval_audit_path: self.approval_audit_path,
            delegation_ref: &o.delegation_ref,
            delegation_audit_path: self.delegation_audit_path,
            trace_id: self.trace_id,
            trace_path: self.trace_path,
            policy_digest: d.policy_digest().to_hex(),
            intent_digest: d.intent_digest().to_hex(),
            matched_rule: d.matched_rule(),
            context_source: &o.context_source,
            pattern_id: &o.pattern_id,
            registry_reason: &o.registry_reason,
            phase: ctx.phase.as_str(),
            context_set_digest: ctx
                .context_set_digest
                .map(|x| x.to_hex())
                .unwrap_or_default(),
            context_evidence_mode: ctx
                .context_evidence_mode
                .map(|x| x.as_str())
                .unwrap_or_default(),
            script_hash: script.map(|s| s.script_hash.as_str()).unwrap_or_default(),
            composite_risk_class: script
                .map(|s| s.composite_risk_class.as_str())
                .unwrap_or_default(),
            simulated_verdict: sim.map(|s| s.verdict.as_str()).unwrap_or_default(),
            reason_codes: d.reason_codes(),
            violations: d.violations(),
            warnings: self.warnings,
            simulated_reason_codes: sim.map(|s| s.reason_codes.as_slice()).unwrap_or_default(),
            required_approvals: o.required_approvals,
            valid_approvals: o.valid_approvals as u64,
            valid_delegations: o.valid_delegations as u64,
            context_ref_count: ctx.context_refs.len() as u64,
            rate_limit_used: o.rate_limit.as_ref().map_or(0, |r| r.used),
            rate_limit_remaining: o.rate_limit.as_ref().map_or(0, |r| r.remaining),
            destructive_budget_used: o.destructive_budget.as_ref().map_or(0, |r| r.used),
            destructive_budget_remaining: o.destructive_budget.as_ref().map_or(0, |r| r.remaining),
            step_count: script.map_or(0, |s| s.step_count as u64),
            delegation_required: o.delegation_required,
            pre_approved: o.pre_approved,
            script: script.is_some(),
            simulate_mode: sim.is_some(),
            would_have_blocked: sim.is_some_and(|s| s.would_have_blocked),
            rate_limit_scope: o.rate_limit.as_ref().map(|r| r.scope.as_str()),
            rate_limit_key: o.rate_limit.as_ref().map(|r| r.key.as_str()),
            destructive_budget_scope: o.destructive_budget.as_ref().map(|r| r.scope.as_str()),
            destructive_budget_key: o.destructive_budget.as_ref().map(|r| r.key.as_str()),
            step_verdicts: script.map(|s| &s.step_verdicts),
            freeze_window: d.freeze_window(),
            sandbox: d.sandbox(),
            kill_switch: o.kill_switch.as_ref(),
            credential_issuer: cred.map(|c| c.display_issuer()).unwrap_or_default(),
            credential_source: cred.map(|c| c.source.as_str()).unwrap_or_default(),
            credential_access_type: cred.map(|c| c.access_type.as_str()).unwrap_or_default(),
            credential_ref: cred.map(|c| c.credential_ref.as_str()).unwrap_or_default(),
            credential_ttl_seconds: cred.map_or(0, |c| u64::try_from(c.ttl_seconds).unwrap_or(0)),
            credential_evidence_path: self.credential_evidence_path,
        };
        out.json_typed(&output, exit)
    }

    fn print_text(&self) {
        let d = &self.outcome.decision;
        stdout_line(&format!("gate eval: verdict={}", d.verdict().as_str()));
        if !d.reason_codes().is_empty() {
            stdout_line(&format!("reasons: {}", d.reason_codes().join(",")));
        }
        if !d.violations().is_empty() {
            stdout_line(&format!("violations: {}", d.violations().join(",")));
        }
        if !d.matched_rule().is_empty() {
            stdout_line(&format!("matched_rule: {}", d.matched_rule()));
        }
        stdout_line(&format!("trace: {}", self.trace_path));
        if !self.approval_audit_path.is_empty() {
            stdout_line(&format!("approval_audit: {}", self.approval_audit_path));
        }
        if !self.delegation_audit_path.is_empty() {
            stdout_line(&format!("delegation_audit: {}", self.delegation_audit_path));
        }
        if !self.credential_evidence_path.is_empty() {
            stdout_line(&format!(
                "credential_evidence: {}",
                self.credential_evidence_path
            ));
        }
    }
}
