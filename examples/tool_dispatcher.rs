//! A Rust agent's tool dispatcher that executes a tool call only when the
//! gate allows it, leaving a signed trace for every decision.
//!
//! Run with `cargo run -p gait-examples --example tool_dispatcher`.

use gait_policy::{Gate, Intent, Policy};
use gait_sign::{SigningKey, Trace};
use gait_trace::{Guard, MemorySink, SignatureStatus, verify_trace_bytes};

const POLICY: &str = r#"
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: read-workspace
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
      workspace_prefixes: [/srv/agent]
  - name: select-only
    priority: 20
    effect: allow
    match:
      tool_names: [db.query]
      when: 'intent.args.sql.startsWith("SELECT")'
"#;

fn intent(tool: &str, args: &str) -> Result<Intent, gait_policy::IntentError> {
    Intent::from_json_str(&format!(
        r#"{{"tool_name":"{tool}","args":{args},"targets":[],
            "context":{{"identity":"agent.demo","workspace":"/srv/agent","risk_class":"medium"}}}}"#
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gate = Gate::new(Policy::from_yaml_str(POLICY)?);
    let signer = SigningKey::<Trace>::generate()?;
    let public = signer.verifying_key().clone();
    let sink = std::sync::Arc::new(MemorySink::new());
    let guard = Guard::new(gate, signer, Box::new(sink.clone()));

    let calls = [
        ("tool.read", r#"{"path":"/srv/agent/notes.txt"}"#),
        ("db.query", r#"{"sql":"SELECT * FROM orders"}"#),
        ("db.query", r#"{"sql":"DROP TABLE orders"}"#),
        ("tool.delete", r#"{"path":"/srv/agent/notes.txt"}"#),
    ];
    let mut out = String::new();
    for (tool, args) in calls {
        let guarded = guard.call(&intent(tool, args)?, || format!("executed {tool}"))?;
        out.push_str(&format!(
            "{tool:<12} {:<16} {:<28} {}\n",
            guarded.decision.verdict().as_str(),
            guarded.decision.reason_codes().join(","),
            guarded.output.unwrap_or_else(|| "not executed".into()),
        ));
    }
    // Every decision left a trace that verifies offline with the public key.
    for trace in sink.traces() {
        let report = verify_trace_bytes(&trace.to_pretty_json(), &public)?;
        assert_eq!(report.status, SignatureStatus::Verified);
    }
    out.push_str(&format!("{} signed traces verified\n", sink.traces().len()));
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}
