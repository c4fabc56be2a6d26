//! Issue 11's acceptance: one decision core, one answer.
//!
//! Each kind of input (plain allow and block, an approval token, a
//! delegation token, a rate limit, MCP trust, a changed tool definition, a
//! job id naming a stopped job, a malformed call, a case-variant duplicate
//! key, an oversized integer, a CEL budget overrun; issue 12: an active
//! kill-switch entry, an expired one, an unreadable state for a high- and
//! a low-risk call) goes through every
//! boundary that can express it:
//!
//! * the library (`gait_trace::Decider`, the decision core itself);
//! * `gait gate eval` (the intent file);
//! * `gait mcp proxy --call` (one shot);
//! * `gait serve --stdio` and `gait serve` over HTTP on a loopback port;
//! * `gait hook pre-tool` (Gait's own call shape) and `gait hook
//!   claude-code` (a Claude Code `PreToolUse` payload);
//! * the MCP protocol proxy `gait mcp proxy … -- <fake server>`.
//!
//! A boundary's input format decides which intent it builds: the call shape
//! (library, gate eval, mcp proxy, serve, pre-tool hook) builds one intent,
//! the Claude Code payload and the MCP `tools/call` their own. For every
//! boundary the test computes, with the library, the intent that boundary
//! builds and the core's answer for it, and requires the boundary to give
//! the same verdict, reason codes and intent digest; the boundaries sharing
//! a format must share the intent digest; and every trace written verifies.
//! A kind that an input format cannot carry (a Claude Code payload has no
//! job id and no delegation; only the protocol proxy pins tool
//! definitions) is skipped for that format, and the skips are asserted so
//! that coverage cannot shrink unnoticed. The MCP protocol proxy has no
//! exit code per call, so the kind the other boundaries refuse with exit 6
//! (an unreadable kill-switch state that a low-risk call does not require)
//! is skipped there; the proxy refuses that call unrun (`gait-mcp` tests).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use gait_digest::GoTime;
use gait_mcp::{CallContext, ServerIdentity, ToolPins};
use gait_policy::adapters::{Adapter, decode_tool_call_value};
use gait_policy::broker::{BrokerOverrides, CredentialBroker, EnvBroker, StubBroker};
use gait_policy::gate::{FileRateLimitStore, RateLimitStore};
use gait_policy::killswitch::FileKillSwitchStore;
use gait_policy::token::{
    ApprovalMint, ApprovalToken, DelegationMint, DelegationToken, mint_approval_token,
    mint_delegation_token,
};
use gait_policy::{Gate, Intent, Policy};
use gait_sign::{Approval, Delegation, SigningKey, Trace};
use gait_trace::{
    Boundary, Decider, DecisionRequest, FileJobStore, JobStore, MemorySink, ToolDefinitionCheck,
};
use serde_json::{Value, json};

mod common;
use common::{RECV, fake_server, gait_bin, pump_all, pump_lines};

const HOUR: i128 = 3_600_000_000_000;

const POLICY: &str = "\
default_verdict: block
rules:
  - name: reads
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
  - name: no-writes
    priority: 1
    effect: block
    reason_codes: [writes_forbidden]
    match:
      tool_names: [tool.write]
  - name: deploys
    priority: 5
    effect: require_approval
    match:
      tool_names: [tool.deploy]
  - name: delegated
    priority: 6
    effect: allow
    match:
      tool_names: [tool.delegated]
      require_delegation: true
  - name: limited
    priority: 7
    effect: allow
    rate_limit:
      requests: 1
      window: hour
    match:
      tool_names: [tool.limited]
  - name: contextual
    priority: 9
    effect: allow
    require_context_evidence: true
    max_context_age_seconds: 60
    match:
      tool_names: [tool.ctx]
  - name: brokered
    priority: 4
    effect: allow
    require_broker_credential: true
    broker_reference: deploy-token
    match:
      tool_names: [tool.brokered]
  - name: computed
    priority: 8
    effect: allow
    match:
      tool_names: [tool.cel]
      when: CEL_CONDITION
";

/// A condition that loads (three nested macros, within every load-time
/// limit) but exceeds the evaluation budget (a million iterations).
fn cel_condition() -> String {
    let hundred = format!(
        "[{}]",
        (0..100)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    format!("{hundred}.map(a, {hundred}.map(b, {hundred}.map(c, 1))).size() == 0")
}

fn policy_text() -> String {
    POLICY.replace("CEL_CONDITION", &format!("'{}'", cel_condition()))
}

fn trust_policy(snapshot: &Path) -> String {
    format!(
        "default_verdict: allow\nmcp_trust:\n  snapshot: {}\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
        snapshot.display()
    )
}

const TOOLS: &[&str] = &[
    "tool.read",
    "tool.write",
    "tool.deploy",
    "tool.delegated",
    "tool.limited",
    "tool.cel",
    "tool.ctx",
    "tool.brokered",
];

// ------------------------------------------------------------ processes

fn run(dir: &Path, args: &[String], stdin: Option<&str>) -> Output {
    let mut child = Command::new(gait_bin())
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut i = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            i.write_all(s.as_bytes()).unwrap();
        }
    }
    let out = pump_all(child.stdout.take().unwrap());
    let err = pump_all(child.stderr.take().unwrap());
    let deadline = Instant::now() + RECV;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gait {args:?} did not exit in time");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.recv_timeout(RECV).unwrap(),
        stderr: err.recv_timeout(RECV).unwrap(),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

// ------------------------------------------------------------- answers

/// What a boundary answered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    /// A decision: verdict, sorted reason codes, intent digest.
    Decided {
        verdict: String,
        reason_codes: Vec<String>,
        intent_digest: String,
    },
    /// The input was refused before any decision (no verdict).
    Refused,
}

impl Answer {
    fn of_json(v: &Value) -> Self {
        let mut reason_codes: Vec<String> = v["reason_codes"]
            .as_array()
            .map(|a| a.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        reason_codes.sort();
        Answer::Decided {
            verdict: v["verdict"]
                .as_str()
                .unwrap_or_else(|| panic!("no verdict: {v}"))
                .to_owned(),
            reason_codes,
            intent_digest: v["intent_digest"].as_str().unwrap_or_default().to_owned(),
        }
    }

    fn verdict(&self) -> &str {
        match self {
            Answer::Decided { verdict, .. } => verdict,
            Answer::Refused => "refused",
        }
    }

    fn without_digest(&self) -> Self {
        match self {
            Answer::Decided {
                verdict,
                reason_codes,
                ..
            } => Answer::Decided {
                verdict: verdict.clone(),
                reason_codes: reason_codes.clone(),
                intent_digest: String::new(),
            },
            Answer::Refused => Answer::Refused,
        }
    }
}

// --------------------------------------------------------------- kinds

const EMPTY_KILL_SWITCH: &str = r#"{"schema_id":"gait.gate.kill_switch_state","schema_version":"1.0.0","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[]}"#;
const ACTIVE_KILL_SWITCH: &str = r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":"freeze-read","enabled":true,"tool_name":"TOOL.READ","reason":"incident","created_at":"2026-01-01T00:00:00Z"}]}"#;
const EXPIRED_KILL_SWITCH: &str = r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":"old","enabled":true,"tool_name":"tool.read","created_at":"2020-01-01T00:00:00Z","expires_at":"2020-01-02T00:00:00Z"}]}"#;
/// A context envelope whose one record was retrieved at `retrieved_at`;
/// with `digest`, that declared `context_set_digest`.
fn envelope(retrieved_at: &str, digest: Option<&str>) -> String {
    let mut e = json!({
        "schema_id": "gait.context.envelope",
        "schema_version": "1.0.0",
        "created_at": "2026-01-01T00:00:00Z",
        "context_set_id": "ctx-1",
        "evidence_mode": "required",
        "records": [{
            "ref_id": "runbook-7", "source_type": "wiki", "source_locator": "wiki://ops/7",
            "query_digest": "a".repeat(64), "content_digest": "b".repeat(64),
            "retrieved_at": retrieved_at, "redaction_mode": "none", "immutability": "immutable"
        }]
    });
    if let Some(d) = digest {
        e["context_set_digest"] = json!(d);
    }
    e.to_string()
}

/// The broker every boundary of a kind is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestBroker {
    /// No `--credential-broker`.
    Off,
    /// The stub broker: issues a credential.
    Stub,
    /// The env broker, reading a variable that does not exist: fails.
    MissingEnv,
}

const ABSENT_ENV_PREFIX: &str = "GAIT_ONE_ANSWER_ABSENT_";

/// `--context-envelope env.json` for a kind with an envelope, and the
/// kind's `--credential-*` flags.
fn envelope_args(k: &Kind) -> Vec<String> {
    let mut args = if k.envelope.is_some() {
        strings(&["--context-envelope", "env.json"])
    } else {
        Vec::new()
    };
    match k.broker {
        TestBroker::Off => {}
        TestBroker::Stub => args.extend(strings(&["--credential-broker", "stub"])),
        TestBroker::MissingEnv => args.extend(strings(&[
            "--credential-broker",
            "env",
            "--credential-env-prefix",
            ABSENT_ENV_PREFIX,
        ])),
    }
    args
}

const CORRUPT_KILL_SWITCH: &str = r#"{"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","entries":[{"entry_id":"x","target_kind":"ip","created_at":"2026-01-01T00:00:00Z"}"#;

/// One kind of input.
struct Kind {
    name: &'static str,
    tool: &'static str,
    args: Value,
    /// Context members added to the call shape (job id).
    context: Value,
    /// The call shape's `delegation` member.
    delegation: Option<Value>,
    /// Present a valid approval / delegation token.
    approval: bool,
    delegate: bool,
    /// Decide twice; the answer of the second call is compared.
    twice: bool,
    /// A stopped job of this id exists under the job root.
    stopped_job: Option<&'static str>,
    /// A job of this id exists under the job root, its state unreadable.
    corrupt_job: Option<&'static str>,
    /// The kill-switch state every boundary is given (default: a valid
    /// state with no entries).
    kill_switch: &'static str,
    /// A context envelope every boundary is given.
    envelope: Option<String>,
    /// The credential broker every boundary is given.
    broker: TestBroker,
    /// The bound context age (whole seconds since a record was retrieved)
    /// is part of the intent digest, so boundaries asked seconds apart
    /// have different digests: compare verdicts and reason codes only.
    clock_digest: bool,
    /// Servers refuse to start (exit 6) rather than answer a call.
    refused_at_startup: bool,
    /// The MCP trust policy instead of the main one.
    trust: bool,
    /// The protocol proxy sees the tool's definition change (pins).
    changed_tool: bool,
    /// Raw texts replacing the well-formed inputs (refusal kinds): the
    /// call shape, the intent, the MCP arguments, the Claude Code payload.
    raw: Option<[String; 4]>,
    /// What every boundary must answer (verdict, or `refused`).
    expect: &'static str,
    /// Reason codes every decided answer must contain.
    must_have: &'static [&'static str],
    /// Input formats that cannot carry this kind.
    skip: &'static [Format],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    CallShape,
    Claude,
    Mcp,
}

fn kind(name: &'static str, tool: &'static str, expect: &'static str) -> Kind {
    Kind {
        name,
        tool,
        args: json!({"path": "/w/notes.txt"}),
        context: json!({}),
        delegation: None,
        approval: false,
        delegate: false,
        twice: false,
        stopped_job: None,
        corrupt_job: None,
        kill_switch: EMPTY_KILL_SWITCH,
        envelope: None,
        broker: TestBroker::Off,
        clock_digest: false,
        refused_at_startup: false,
        trust: false,
        changed_tool: false,
        raw: None,
        expect,
        must_have: &[],
        skip: &[],
    }
}

/// Runs a boundary once, or twice for a kind decided on its second call
/// (the rate limit), and returns the last answer.
fn decided<T>(k: &Kind, mut call: impl FnMut() -> T) -> T {
    let first = call();
    if k.twice { call() } else { first }
}

fn kinds() -> Vec<Kind> {
    let case_variant = [
        r#"{"name":"tool.read","NAME":"tool.write","args":{},"context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#"{"tool_name":"tool.read","TOOL_NAME":"tool.write","args":{},"targets":[],"context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#"{"path":"/w/a","PATH":"/etc/passwd"}"#.to_owned(),
        r#"{"hook_event_name":"PreToolUse","tool_name":"tool.read","TOOL_NAME":"tool.write","tool_input":{}}"#.to_owned(),
    ];
    let big = [
        r#"{"name":"tool.read","args":{"to_account":12345678901234567},"context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#"{"tool_name":"tool.read","args":{"to_account":12345678901234567},"targets":[],"context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#"{"to_account":12345678901234567}"#.to_owned(),
        r#"{"hook_event_name":"PreToolUse","tool_name":"tool.read","tool_input":{"to_account":12345678901234567}}"#.to_owned(),
    ];
    let malformed = [
        r#"{"name":"tool.read","args":"not an object","context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#"{"tool_name":"tool.read","args":"not an object","targets":[],"context":{"identity":"agent","workspace":"/w","risk_class":"low"}}"#.to_owned(),
        r#""not an object""#.to_owned(),
        r#"{"hook_event_name":"PreToolUse","tool_name":"tool.read","tool_input":7}"#.to_owned(),
    ];
    vec![
        Kind {
            must_have: &["matched_rule_reads"],
            ..kind("plain allow", "tool.read", "allow")
        },
        Kind {
            must_have: &["writes_forbidden"],
            ..kind("plain block", "tool.write", "block")
        },
        Kind {
            approval: true,
            must_have: &["approval_granted"],
            ..kind("approval token", "tool.deploy", "allow")
        },
        Kind {
            delegation: Some(json!({"requester_identity": "agent", "scope_class": "write"})),
            delegate: true,
            must_have: &["delegation_granted"],
            skip: &[Format::Claude, Format::Mcp],
            ..kind("delegation token", "tool.delegated", "allow")
        },
        Kind {
            twice: true,
            must_have: &["rate_limit_exceeded"],
            ..kind("rate limit", "tool.limited", "block")
        },
        Kind {
            trust: true,
            ..kind("mcp trust", "tool.read", "block")
        },
        Kind {
            changed_tool: true,
            must_have: &["mcp_tool_definition_changed"],
            skip: &[Format::CallShape, Format::Claude],
            ..kind("changed tool definition", "tool.read", "block")
        },
        Kind {
            context: json!({"job_id": "job-1001"}),
            stopped_job: Some("job-1001"),
            must_have: &["emergency_stop_preempted"],
            skip: &[Format::Claude],
            ..kind("stopped job", "tool.read", "block")
        },
        Kind {
            context: json!({"job_id": "job-1002"}),
            corrupt_job: Some("job-1002"),
            must_have: &["emergency_stop_state_unavailable"],
            skip: &[Format::Claude],
            ..kind("unreadable job state", "tool.read", "block")
        },
        Kind {
            raw: Some(malformed),
            ..kind("malformed call", "tool.read", "refused")
        },
        Kind {
            raw: Some(case_variant),
            ..kind("case-variant duplicate key", "tool.read", "refused")
        },
        Kind {
            raw: Some(big),
            ..kind("oversized integer", "tool.read", "refused")
        },
        Kind {
            must_have: &["cel_limit_exceeded"],
            ..kind("CEL budget overrun", "tool.cel", "block")
        },
        Kind {
            kill_switch: ACTIVE_KILL_SWITCH,
            must_have: &[
                "kill_switch_active",
                "kill_switch_tool_name_active",
                "matched_rule_reads",
            ],
            ..kind("kill switch: active entry", "tool.read", "block")
        },
        Kind {
            kill_switch: EXPIRED_KILL_SWITCH,
            must_have: &["matched_rule_reads"],
            ..kind("kill switch: expired entry", "tool.read", "allow")
        },
        Kind {
            kill_switch: CORRUPT_KILL_SWITCH,
            // A high-risk call requires the state: blocked, with a trace.
            context: json!({"risk_class": "high"}),
            must_have: &["kill_switch_state_unavailable"],
            skip: &[Format::Claude],
            ..kind("kill switch: unreadable state", "tool.read", "block")
        },
        Kind {
            envelope: Some(envelope("2099-01-01T00:00:00Z", None)),
            must_have: &["matched_rule_contextual"],
            ..kind("context envelope: fresh", "tool.ctx", "allow")
        },
        Kind {
            envelope: Some(envelope("2020-01-01T00:00:00Z", None)),
            clock_digest: true,
            must_have: &["context_freshness_exceeded"],
            ..kind("context envelope: stale", "tool.ctx", "block")
        },
        Kind {
            envelope: Some(envelope("2099-01-01T00:00:00Z", Some(&"c".repeat(64)))),
            // Servers and the protocol proxy refuse to start (exit 6)
            // before any call.
            refused_at_startup: true,
            skip: &[Format::Mcp],
            ..kind("context envelope: wrong digest", "tool.ctx", "refused")
        },
        Kind {
            broker: TestBroker::Stub,
            must_have: &["broker_credential_present", "matched_rule_brokered"],
            ..kind("credential broker: issued", "tool.brokered", "allow")
        },
        Kind {
            broker: TestBroker::MissingEnv,
            must_have: &["broker_credential_missing"],
            ..kind("credential broker: failed", "tool.brokered", "block")
        },
        Kind {
            kill_switch: CORRUPT_KILL_SWITCH,
            // A low-risk call does not: the command fails rather than
            // ignore the configured state.
            skip: &[Format::Mcp],
            ..kind(
                "kill switch: unreadable state, low risk",
                "tool.read",
                "refused",
            )
        },
    ]
}

// ------------------------------------------------------------ fixtures

struct Fixture {
    dir: tempfile::TempDir,
    approver: SigningKey<Approval>,
    delegator: SigningKey<Delegation>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = run(
        d,
        &strings(&["keys", "init", "--out-dir", "keys", "--json"]),
        None,
    );
    assert!(keys.status.success(), "{keys:?}");
    let approver = SigningKey::<Approval>::from_seed(&[7; 32]);
    let delegator = SigningKey::<Delegation>::from_seed(&[9; 32]);
    std::fs::write(
        d.join("approval_public.key"),
        approver.verifying_key().to_public_text(),
    )
    .unwrap();
    std::fs::write(
        d.join("delegation_public.key"),
        delegator.verifying_key().to_public_text(),
    )
    .unwrap();
    std::fs::write(d.join("policy.yaml"), policy_text()).unwrap();
    let snapshot = d.join("trust.json");
    std::fs::write(
        &snapshot,
        r#"{"schema_id":"gait.mcp.trust_snapshot","schema_version":"1.0.0","entries":[{"server_id":"someone-else","status":"trusted","score":0.9}]}"#,
    )
    .unwrap();
    std::fs::write(d.join("trust.yaml"), trust_policy(&snapshot)).unwrap();
    Fixture {
        dir,
        approver,
        delegator,
    }
}

impl Fixture {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn policy_file(&self, k: &Kind) -> &'static str {
        if k.trust { "trust.yaml" } else { "policy.yaml" }
    }

    fn policy(&self, k: &Kind) -> Policy {
        Policy::from_path(&self.path().join(self.policy_file(k))).unwrap()
    }

    /// A fresh working folder for one kind at one boundary, with the
    /// kind's job state.
    fn cell(&self, k: &Kind, boundary: &str) -> PathBuf {
        let slug: String = k
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let cell = self.path().join(format!("{slug}-{boundary}"));
        std::fs::create_dir_all(&cell).unwrap();
        std::fs::write(cell.join("ks.json"), k.kill_switch).unwrap();
        if let Some(e) = &k.envelope {
            std::fs::write(cell.join("env.json"), e).unwrap();
        }
        if let Some(job) = k.stopped_job {
            let jd = cell.join("jobs").join(job);
            std::fs::create_dir_all(&jd).unwrap();
            std::fs::write(
                jd.join("state.json"),
                format!(
                    r#"{{"schema_id":"gait.job.runtime","schema_version":"1.0.0","job_id":"{job}","status":"emergency_stopped","stop_reason":"emergency_stopped","revision":3,"checkpoints":[]}}"#
                ),
            )
            .unwrap();
        }
        if let Some(job) = k.corrupt_job {
            let jd = cell.join("jobs").join(job);
            std::fs::create_dir_all(&jd).unwrap();
            std::fs::write(jd.join("state.json"), r#"{"job_id":"#).unwrap();
        }
        cell
    }

    /// Tokens for `intent` under the kind's policy, written to files in
    /// `cell`; returns the token flag arguments.
    fn tokens(
        &self,
        k: &Kind,
        intent: &Intent,
        cell: &Path,
    ) -> (Vec<ApprovalToken>, Vec<DelegationToken>, Vec<String>) {
        let (a, d) = self.mint(k, intent);
        let mut args = Vec::new();
        if let Some(t) = a.first() {
            let p = cell.join("approval.token.json");
            std::fs::write(&p, serde_json::to_vec(t).unwrap()).unwrap();
            args.extend(["--approval-token".to_owned(), p.display().to_string()]);
        }
        if let Some(t) = d.first() {
            let p = cell.join("delegation.token.json");
            std::fs::write(&p, serde_json::to_vec(t).unwrap()).unwrap();
            args.extend(["--delegation-token".to_owned(), p.display().to_string()]);
        }
        (a, d, args)
    }

    fn mint(&self, k: &Kind, intent: &Intent) -> (Vec<ApprovalToken>, Vec<DelegationToken>) {
        let policy = self.policy(k);
        let mut approvals = Vec::new();
        if k.approval {
            let opts = ApprovalMint {
                approver_identity: "reviewer@example.com".into(),
                reason_code: "reviewed".into(),
                intent_digest: intent.intent_digest().to_hex(),
                policy_digest: policy.digest().to_hex(),
                scope: vec![format!("tool:{}", intent.tool_name())],
                ttl_nanos: HOUR,
                now: GoTime::now_utc(),
                ..ApprovalMint::default()
            };
            approvals.push(mint_approval_token(&opts, &self.approver).unwrap());
        }
        let mut delegations = Vec::new();
        if k.delegate {
            let opts = DelegationMint {
                delegator_identity: "lead".into(),
                delegate_identity: "agent".into(),
                scope: vec!["write".into()],
                ttl_nanos: HOUR,
                now: GoTime::now_utc(),
                ..DelegationMint::default()
            };
            delegations.push(mint_delegation_token(&opts, &self.delegator).unwrap());
        }
        (approvals, delegations)
    }

    /// The core's answer for `intent` (`None`: the input does not decode).
    fn library(
        &self,
        k: &Kind,
        intent: &Intent,
        cell: &Path,
        check: ToolDefinitionCheck,
        server: Option<&gait_policy::adapters::ServerInfo>,
        declared_risk_class: Option<&str>,
    ) -> Answer {
        let (approvals, delegations) = self.mint(k, intent);
        let store: Arc<dyn RateLimitStore> =
            Arc::new(FileRateLimitStore::new(cell.join("library-rate.json")));
        let jobs: Arc<dyn JobStore> = Arc::new(FileJobStore::new(cell.join("jobs")));
        let decider = Decider::new(Gate::new(self.policy(k)), Arc::new(MemorySink::new()))
            .with_signer(Arc::new(SigningKey::<Trace>::generate().unwrap()))
            .with_rate_limits(Some(store))
            .with_approval_key(Some(self.approver.verifying_key().clone()))
            .with_delegation_key(Some(self.delegator.verifying_key().clone()))
            .with_job_store(Some(jobs))
            .with_kill_switch(
                Some(Arc::new(FileKillSwitchStore::new(cell.join("ks.json")))),
                false,
            )
            .with_broker(
                match k.broker {
                    TestBroker::Off => None,
                    TestBroker::Stub => {
                        Some(Arc::new(StubBroker::default()) as Arc<dyn CredentialBroker>)
                    }
                    TestBroker::MissingEnv => Some(Arc::new(EnvBroker::new(ABSENT_ENV_PREFIX))),
                },
                BrokerOverrides::default(),
            );
        let mut request = DecisionRequest::new(intent, Boundary::Library)
            .with_approval_tokens(&approvals)
            .with_delegation_tokens(&delegations)
            .with_tool_definition(check)
            .with_server(server);
        request.declared_risk_class = declared_risk_class;
        let evidence = match &k.envelope {
            Some(_) => match gait_serve::load_context_evidence(
                &cell.join("env.json").display().to_string(),
            ) {
                Ok(e) => Some(e),
                Err(_) => return Answer::Refused,
            },
            None => None,
        };
        request.context_evidence = evidence.as_ref();
        let Ok(mut d) = decider.decide(&request) else {
            return Answer::Refused;
        };
        if k.twice {
            d = decider.decide(&request).unwrap();
        }
        let mut reason_codes = d.decision().reason_codes().to_vec();
        reason_codes.sort();
        Answer::Decided {
            verdict: d.verdict().as_str().to_owned(),
            reason_codes,
            intent_digest: d.decision().intent_digest().to_hex(),
        }
    }
}

// ---------------------------------------------------- the call shape

fn call_shape(k: &Kind) -> Value {
    let mut context = json!({"identity": "agent", "workspace": "/w", "risk_class": "low"});
    if k.trust {
        context["risk_class"] = json!("high");
    }
    for (key, v) in k.context.as_object().unwrap() {
        context[key] = v.clone();
    }
    let mut call = json!({"name": k.tool, "args": k.args, "context": context});
    if let Some(d) = &k.delegation {
        call["delegation"] = d.clone();
    }
    call
}

/// The signing and verify key flags every boundary takes, with paths
/// under the fixture root (the boundaries run in their own folders).
fn key_args(root: &Path) -> Vec<String> {
    let path = |p: &str| root.join(p).display().to_string();
    vec![
        "--key-mode".to_owned(),
        "prod".to_owned(),
        "--private-key".to_owned(),
        path("keys/gait_private.key"),
        "--approval-public-key".to_owned(),
        path("approval_public.key"),
        "--delegation-public-key".to_owned(),
        path("delegation_public.key"),
    ]
}

fn verify_traces(root: &Path, dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("trace_") || name.ends_with(".trace.json")) {
            continue;
        }
        let o = run(
            root,
            &strings(&[
                "trace",
                "verify",
                "--public-key",
                "keys/gait_public.key",
                "--json",
                p.to_str().unwrap(),
            ]),
            None,
        );
        assert!(o.status.success(), "{}: {o:?}", p.display());
        n += 1;
    }
    n
}

/// The boundaries that take the call shape; returns (boundary, answer).
fn call_shape_boundaries(f: &Fixture, k: &Kind) -> Vec<(&'static str, Answer)> {
    let root = f.path();
    let mut out = Vec::new();
    let payload_text = match &k.raw {
        Some(raw) => raw[0].clone(),
        None => call_shape(k).to_string(),
    };
    let intent_text = match &k.raw {
        Some(raw) => raw[1].clone(),
        None => {
            let payload: Value = serde_json::from_str(&payload_text).unwrap();
            let call = decode_tool_call_value(Adapter::Mcp, &payload).unwrap();
            call.to_intent().unwrap().to_json().to_string()
        }
    };
    // The library.
    let lib_cell = f.cell(k, "library");
    let lib_intent = serde_json::from_str::<Value>(&payload_text)
        .ok()
        .and_then(|p| decode_tool_call_value(Adapter::Mcp, &p).ok())
        .and_then(|c| c.to_intent().ok());
    let lib = match &lib_intent {
        Some(i) => f.library(
            k,
            i,
            &lib_cell,
            ToolDefinitionCheck::default(),
            None,
            Some(i.context().risk_class.as_str()),
        ),
        None => Answer::Refused,
    };
    out.push(("library", lib.clone()));
    let policy = root.join(f.policy_file(k)).display().to_string();
    let token_args = |cell: &Path| match &lib_intent {
        Some(i) => f.tokens(k, i, cell).2,
        None => Vec::new(),
    };

    // gait gate eval.
    let cell = f.cell(k, "gate");
    std::fs::write(cell.join("intent.json"), &intent_text).unwrap();
    let mut args = strings(&["gate", "eval", "--policy"]);
    args.push(policy.clone());
    args.extend(strings(&[
        "--intent",
        "intent.json",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
        "--json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    if let Some(i) = &lib_intent {
        let (_, _, t) = f.tokens(k, i, &cell);
        let mut it = t.into_iter();
        while let (Some(flag), Some(path)) = (it.next(), it.next()) {
            args.push(flag);
            args.push(path);
        }
    }
    let gate = |args: &[String]| {
        let o = run(&cell, args, None);
        let code = o.status.code().unwrap();
        if code == 6 {
            Answer::Refused
        } else {
            Answer::of_json(
                &serde_json::from_slice::<Value>(&o.stdout)
                    .unwrap_or_else(|_| panic!("gate eval: {o:?}")),
            )
        }
    };
    let a = decided(k, || gate(&args));
    out.push(("gate eval", a));
    assert!(
        k.expect == "refused" || verify_traces(root, &cell) >= 1,
        "{}: gate eval wrote no verifiable trace",
        k.name
    );

    // gait mcp proxy --call.
    let cell = f.cell(k, "proxy");
    std::fs::write(cell.join("call.json"), &payload_text).unwrap();
    let mut args = strings(&["mcp", "proxy", "--policy"]);
    args.push(policy.clone());
    args.extend(strings(&[
        "--call",
        "call.json",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
        "--json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    args.extend(token_args(&cell));
    let proxy = |args: &[String]| {
        let o = run(&cell, args, None);
        if o.status.code() == Some(6) {
            Answer::Refused
        } else {
            Answer::of_json(
                &serde_json::from_slice::<Value>(&o.stdout)
                    .unwrap_or_else(|_| panic!("mcp proxy: {o:?}")),
            )
        }
    };
    let a = decided(k, || proxy(&args));
    out.push(("mcp proxy --call", a));
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell) >= 1,
            "{}: mcp proxy --call traces",
            k.name
        );
    }

    // gait serve --stdio (a second line for `twice`).
    let cell = f.cell(k, "stdio");
    let request = |cell: &Path| -> String {
        let call: Value = match serde_json::from_str(&payload_text) {
            Ok(v) => v,
            Err(_) => return format!("{{\"call\":{payload_text}}}"),
        };
        let mut req = json!({"call": call});
        if let Some(i) = &lib_intent {
            let (a, d, _) = f.tokens(k, i, cell);
            if !a.is_empty() {
                req["approval_tokens"] = json!(a);
            }
            if !d.is_empty() {
                req["delegation_tokens"] = json!(d);
            }
        }
        // Raw kinds keep their raw text (a re-serialized Value would lose
        // what makes them ambiguous).
        if k.raw.is_some() {
            return format!("{{\"call\":{payload_text}}}");
        }
        req.to_string()
    };
    let line = request(&cell);
    let lines = if k.twice {
        format!("{line}\n{line}\n")
    } else {
        format!("{line}\n")
    };
    let mut args = strings(&["serve", "--policy"]);
    args.push(policy.clone());
    args.extend(strings(&[
        "--stdio",
        "--trace-dir",
        "traces",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    let o = run(&cell, &args, Some(&lines));
    let stdio = if k.refused_at_startup {
        assert_eq!(o.status.code(), Some(6), "{}: serve --stdio: {o:?}", k.name);
        Answer::Refused
    } else {
        let last: Value = String::from_utf8_lossy(&o.stdout)
            .lines()
            .last()
            .map(|l| serde_json::from_str(l).unwrap())
            .unwrap_or_else(|| panic!("serve --stdio answered nothing: {o:?}"));
        if last["ok"] == false {
            Answer::Refused
        } else {
            Answer::of_json(&last)
        }
    };
    out.push(("serve --stdio", stdio));
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell.join("traces")) >= 1,
            "{}: serve --stdio traces",
            k.name
        );
    }

    // gait serve over HTTP.
    let cell = f.cell(k, "http");
    let body = request(&cell);
    let bodies = if k.twice {
        vec![body.clone(), body]
    } else {
        vec![body]
    };
    let mut args = strings(&["serve", "--policy"]);
    args.push(policy.clone());
    args.extend(strings(&[
        "--listen",
        "127.0.0.1:0",
        "--trace-dir",
        "traces",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    let http = if k.refused_at_startup {
        let o = run(&cell, &args, None);
        assert_eq!(o.status.code(), Some(6), "{}: serve: {o:?}", k.name);
        Answer::Refused
    } else {
        serve_http(&cell, &args, &bodies).last().unwrap().clone()
    };
    out.push(("serve http", http));
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell.join("traces")) >= 1,
            "{}: serve http traces",
            k.name
        );
    }

    // gait hook pre-tool.
    let cell = f.cell(k, "pretool");
    let mut args = strings(&["hook", "pre-tool", "--policy"]);
    args.push(policy);
    args.extend(strings(&[
        "--trace-dir",
        "traces",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    args.extend(token_args(&cell));
    let hook = |args: &[String]| {
        let o = run(&cell, args, Some(&payload_text));
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("pre-tool: {o:?}"));
        if v.get("error").is_some() {
            assert_eq!(v["permission_decision"], "deny");
            Answer::Refused
        } else {
            Answer::of_json(&v)
        }
    };
    let a = decided(k, || hook(&args));
    out.push(("hook pre-tool", a));
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell.join("traces")) >= 1,
            "{}: pre-tool traces",
            k.name
        );
    }
    out
}

fn serve_http(cell: &Path, args: &[String], bodies: &[String]) -> Vec<Answer> {
    let (answers, _) = common::serve_http(cell, args, bodies);
    answers
        .into_iter()
        .map(|(status, body)| {
            if status == 400 {
                Answer::Refused
            } else {
                Answer::of_json(
                    &serde_json::from_str(&body)
                        .unwrap_or_else(|_| panic!("http {status}: {body}")),
                )
            }
        })
        .collect()
}

// --------------------------------------------------------- Claude Code

fn claude_payload(k: &Kind) -> String {
    match &k.raw {
        Some(raw) => raw[3].clone(),
        None => json!({"hook_event_name": "PreToolUse", "session_id": "s1", "tool_name": k.tool, "tool_input": k.args}).to_string(),
    }
}

fn claude_boundaries(f: &Fixture, k: &Kind) -> Vec<(&'static str, Answer)> {
    let root = f.path();
    let payload = claude_payload(k);
    let intent = serde_json::from_str::<Value>(&payload)
        .ok()
        .and_then(|p| decode_tool_call_value(Adapter::ClaudeCode, &p).ok())
        .and_then(|c| c.to_intent().ok());
    let lib_cell = f.cell(k, "claude-library");
    let lib = match &intent {
        // A Claude Code payload declares no risk class (its intent gets the
        // default, high, but the kill-switch state is not required by it).
        Some(i) => f.library(
            k,
            i,
            &lib_cell,
            ToolDefinitionCheck::default(),
            None,
            Some(""),
        ),
        None => Answer::Refused,
    };
    let cell = f.cell(k, "claude");
    let mut args = strings(&["hook", "claude-code", "--policy"]);
    args.push(root.join(f.policy_file(k)).display().to_string());
    args.extend(strings(&[
        "--trace-dir",
        "traces",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
    ]));
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    if let Some(i) = &intent {
        args.extend(f.tokens(k, i, &cell).2);
    }
    let hook = |args: &[String]| {
        let o = run(&cell, args, Some(&payload));
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("claude-code: {o:?}"));
        let out = &v["hookSpecificOutput"];
        let reason = out["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if reason.starts_with("gait: failing closed") {
            assert_eq!(out["permissionDecision"], "deny");
            assert_eq!(o.status.code(), Some(2));
            return Answer::Refused;
        }
        // "gait: verdict=<v> reasons=<a,b|-> trace=<id>"
        let field = |name: &str| {
            reason
                .split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        let mut reason_codes: Vec<String> = match field("reasons=").as_str() {
            "-" | "" => Vec::new(),
            r => r.split(',').map(str::to_owned).collect(),
        };
        reason_codes.sort();
        // The intent digest is in the trace the hook wrote.
        let trace_id = field("trace=");
        let digest = std::fs::read_dir(cell.join("traces"))
            .unwrap()
            .filter_map(|e| {
                let t: Value =
                    serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
                (t["trace_id"] == trace_id.as_str())
                    .then(|| t["intent_digest"].as_str().unwrap().to_owned())
            })
            .next()
            .unwrap_or_else(|| panic!("no trace {trace_id}"));
        Answer::Decided {
            verdict: field("verdict="),
            reason_codes,
            intent_digest: digest,
        }
    };
    let a = decided(k, || hook(&args));
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell.join("traces")) >= 1,
            "{}: claude-code traces",
            k.name
        );
    }
    vec![("claude library", lib), ("hook claude-code", a)]
}

// ------------------------------------------------- MCP protocol proxy

struct Rpc {
    child: Child,
    lines: Receiver<String>,
}

impl Rpc {
    fn send_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn wait_for(&mut self, id: &Value) -> Value {
        let deadline = Instant::now() + RECV;
        while Instant::now() < deadline {
            let Ok(line) = self.lines.recv_timeout(RECV) else {
                break;
            };
            let Ok(m) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
        }
        panic!("no response to {id}");
    }

    fn request(&mut self, id: Value, method: &str, params: &str) -> Value {
        self.send_line(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
        ));
        self.wait_for(&id)
    }

    fn finish(mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + RECV;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("proxy did not exit in time");
    }
}

impl Drop for Rpc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const INIT: &str =
    r#"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}"#;

/// What the fake server lists, asked directly.
fn server_listing(cell: &Path, description: &str) -> (Value, Vec<Value>) {
    let mut child = Command::new("python3")
        .arg(fake_server())
        .arg(cell.join("listing.log"))
        .env("FAKE_TOOLS", TOOLS.join(","))
        .env("FAKE_ECHO_DESCRIPTION", description)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = pump_lines(child.stdout.take().unwrap());
    let mut s = Rpc { child, lines };
    let init = s.request(json!(1), "initialize", INIT);
    s.send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let list = s.request(json!(2), "tools/list", "{}");
    s.finish();
    (
        init["result"].clone(),
        list["result"]["tools"].as_array().unwrap().clone(),
    )
}

fn mcp_boundaries(f: &Fixture, k: &Kind) -> Vec<(&'static str, Answer)> {
    let root = f.path();
    let cell = f.cell(k, "mcp");
    // The call the proxy will see, mapped by the library the way the proxy
    // maps it (server identity and pins from the fake server's listing).
    let (init, tools) = server_listing(&cell, "Echo the arguments back");
    let mut server = ServerIdentity::default();
    server.learn(&init);
    let mut pins = ToolPins::new();
    pins.observe(&tools);
    if k.changed_tool {
        // The definition seen in this session differs from the pinned one.
        let (_, changed) = server_listing(&cell, "Echo the arguments back (and upload them)");
        let renamed: Vec<Value> = changed
            .into_iter()
            .map(|mut t| {
                if t["name"] == k.tool {
                    t["description"] = json!("changed");
                }
                t
            })
            .collect();
        pins.observe(&renamed);
    }
    let mut context = CallContext::default();
    context.identity = "agent".into();
    context.workspace = "/w".into();
    let high = k.trust || k.context.get("risk_class") == Some(&json!("high"));
    context.risk_class = if high { "high".into() } else { "low".into() };
    if let Some(job) = k.context.get("job_id").and_then(Value::as_str) {
        context.job_id = job.into();
    }
    let arguments_text = match &k.raw {
        Some(raw) => raw[2].clone(),
        None => k.args.to_string(),
    };
    let params_text = format!(r#"{{"name":"{}","arguments":{arguments_text}}}"#, k.tool);
    let intent = serde_json::from_str::<Value>(&params_text)
        .ok()
        .filter(|_| {
            k.raw.is_none() || gait_digest::canonical::parse_strict(params_text.as_bytes()).is_ok()
        })
        .and_then(|p| gait_mcp::intent_for_call(&p, &server, pins.get(k.tool), &context).ok());
    let check = ToolDefinitionCheck::new(false, k.changed_tool, true);
    let info = {
        let mut i = gait_policy::adapters::ServerInfo::new(&server.server_id);
        i.server_name.clone_from(&server.name);
        i.server_version.clone_from(&server.version);
        i
    };
    let lib = match &intent {
        Some(i) => f.library(k, i, &cell, check, Some(&info), None),
        None => Answer::Refused,
    };

    // The proxy, with a pin file holding the original definitions when the
    // tool is to change.
    let mut args = strings(&["mcp", "proxy", "--policy"]);
    args.push(root.join(f.policy_file(k)).display().to_string());
    args.extend(strings(&[
        "--trace-out",
        "traces",
        "--rate-limit-state",
        "rate.json",
        "--job-root",
        "jobs",
        "--kill-switch-state",
        "ks.json",
        "--identity",
        "agent",
        "--workspace",
        "/w",
        "--risk-class",
    ]));
    args.push(if high { "high".into() } else { "low".into() });
    if let Some(job) = k.context.get("job_id").and_then(Value::as_str) {
        args.extend(["--job-id".to_owned(), job.to_owned()]);
    }
    args.extend(key_args(root));
    args.extend(envelope_args(k));
    if let Some(i) = &intent {
        args.extend(f.tokens(k, i, &cell).2);
    }
    if k.changed_tool {
        args.extend(strings(&["--pin-file", "pins.json"]));
        // First session: pin the original definitions.
        let mut first = args.clone();
        first.extend([
            "--".to_owned(),
            "python3".to_owned(),
            fake_server().display().to_string(),
            cell.join("pin.log").display().to_string(),
        ]);
        let mut s = spawn_proxy(&cell, &first, "Echo the arguments back", false);
        s.request(json!(0), "initialize", INIT);
        s.send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        s.request(json!(1), "tools/list", "{}");
        s.finish();
    }
    args.extend([
        "--".to_owned(),
        "python3".to_owned(),
        fake_server().display().to_string(),
        cell.join("calls.log").display().to_string(),
    ]);
    let mut proxy = spawn_proxy(&cell, &args, "Echo the arguments back", k.changed_tool);
    proxy.request(json!(0), "initialize", INIT);
    proxy.send_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    proxy.request(json!("list"), "tools/list", "{}");
    let mut r = proxy.request(json!(1), "tools/call", &params_text);
    if k.twice {
        r = proxy.request(json!(2), "tools/call", &params_text);
    }
    proxy.finish();
    let answer = if r.get("error").is_some() {
        Answer::Refused
    } else if r["result"]["isError"] == true {
        let meta = &r["result"]["_meta"]["gait/decision"];
        assert!(meta.is_object(), "{}: {r}", k.name);
        Answer::of_json(meta)
    } else {
        // Forwarded: the verdict and digest are in the newest trace; an
        // allowed call carries no reason codes on the wire, so compare the
        // library's.
        let traces: Vec<Value> = std::fs::read_dir(cell.join("traces"))
            .unwrap()
            .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
            .collect();
        let t = traces.last().unwrap();
        match &lib {
            Answer::Decided { reason_codes, .. } => Answer::Decided {
                verdict: t["verdict"].as_str().unwrap().to_owned(),
                reason_codes: reason_codes.clone(),
                intent_digest: t["intent_digest"].as_str().unwrap().to_owned(),
            },
            Answer::Refused => panic!("{}: forwarded a call the library refuses", k.name),
        }
    };
    if k.expect != "refused" {
        assert!(
            verify_traces(root, &cell.join("traces")) >= 1,
            "{}: protocol proxy traces",
            k.name
        );
    }
    vec![("mcp library", lib), ("mcp protocol proxy", answer)]
}

fn spawn_proxy(cell: &Path, args: &[String], description: &str, changed: bool) -> Rpc {
    let mut cmd = Command::new(gait_bin());
    cmd.current_dir(cell)
        .args(args)
        .env("FAKE_TOOLS", TOOLS.join(","))
        .env("FAKE_ECHO_DESCRIPTION", description)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if changed {
        cmd.env("FAKE_TOOLS_DESCRIPTION", "changed");
    }
    let mut child = cmd.spawn().unwrap();
    let lines = pump_lines(child.stdout.take().unwrap());
    Rpc { child, lines }
}

// ----------------------------------------------------------------- test

#[test]
fn every_kind_of_input_gets_one_answer_at_every_boundary() {
    let f = fixture();
    let mut report = Vec::new();
    let mut skipped = Vec::new();
    for k in kinds() {
        let mut families: Vec<Vec<(&'static str, Answer)>> = Vec::new();
        for format in [Format::CallShape, Format::Claude, Format::Mcp] {
            if k.skip.contains(&format) {
                skipped.push(format!("{} / {format:?}", k.name));
                continue;
            }
            families.push(match format {
                Format::CallShape => call_shape_boundaries(&f, &k),
                Format::Claude => claude_boundaries(&f, &k),
                Format::Mcp => mcp_boundaries(&f, &k),
            });
        }
        for family in &families {
            let (lib_name, lib) = &family[0];
            for (name, a) in family {
                if k.clock_digest {
                    assert_eq!(
                        a.without_digest(),
                        lib.without_digest(),
                        "{}: {name} differs from {lib_name}",
                        k.name
                    );
                } else {
                    assert_eq!(a, lib, "{}: {name} differs from {lib_name}", k.name);
                }
                assert_eq!(a.verdict(), k.expect, "{}: {name}", k.name);
                if let Answer::Decided { reason_codes, .. } = a {
                    for r in k.must_have {
                        assert!(
                            reason_codes.iter().any(|c| c == r),
                            "{}: {name} lacks {r}: {reason_codes:?}",
                            k.name
                        );
                    }
                }
                report.push(format!("{} / {name}: {}", k.name, a.verdict()));
            }
        }
        // The same verdict and reason codes whatever the input format.
        let firsts: Vec<Answer> = families.iter().map(|f| f[0].1.without_digest()).collect();
        if k.name != "mcp trust" {
            for a in &firsts {
                assert_eq!(
                    a.verdict(),
                    firsts[0].verdict(),
                    "{}: formats disagree",
                    k.name
                );
            }
        }
    }
    // Coverage cannot shrink unnoticed: these are the only cells a format
    // cannot express.
    assert_eq!(
        skipped,
        [
            "delegation token / Claude",
            "delegation token / Mcp",
            "changed tool definition / CallShape",
            "changed tool definition / Claude",
            "stopped job / Claude",
            "unreadable job state / Claude",
            "kill switch: unreadable state / Claude",
            "context envelope: wrong digest / Mcp",
            "kill switch: unreadable state, low risk / Mcp",
        ]
    );
    assert!(report.len() >= 12 * 6, "{report:#?}");
}
