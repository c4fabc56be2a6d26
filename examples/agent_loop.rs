//! A minimal Rust agent loop with a guarded tool dispatcher.
//!
//! A scripted "model" asks for tool calls in OpenAI's function-call
//! shape. The dispatcher turns each into an intent with the `openai`
//! adapter and runs it through a [`Guard`]: the tool runs only on
//! `allow`, after its signed trace is written; otherwise the refusal's
//! short message goes back to the model in place of a result. Every call
//! also lands in a run session, written as a signed runpack at the end.
//!
//! Run with `cargo run -p gait-examples --example agent_loop`.

use std::sync::Arc;

use gait_policy::adapters::{Adapter, intent_from_payload};
use gait_policy::{Gate, Policy};
use gait_serve::RunSession;
use gait_sign::{SigningKey, Trace};
use gait_trace::{DirectorySink, Guard, SignatureStatus, verify_trace_bytes};
use serde_json::{Value, json};

const POLICY: &str = r#"
default_verdict: block
rules:
  - name: read-notes
    priority: 10
    effect: allow
    match:
      tool_names: [notes.read, notes.list]
  - name: writes-need-a-human
    priority: 20
    effect: require_approval
    match:
      tool_names: [notes.write]
"#;

/// The tools themselves: they only ever run when the guard allows.
fn run_tool(name: &str, args: &Value) -> String {
    match name {
        "notes.list" => "groceries.txt, todo.txt".to_owned(),
        "notes.read" => format!(
            "contents of {}",
            args.get("path").and_then(Value::as_str).unwrap_or("?")
        ),
        other => format!("{other} executed"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::temp_dir().join(format!("gait-agent-loop-{}", std::process::id()));
    let signer = SigningKey::<Trace>::generate()?;
    let public = signer.verifying_key().clone();
    let session = Arc::new(RunSession::new("run_agent_loop", "0.0.0-dev"));
    let guard = Guard::new(
        Gate::new(Policy::from_yaml_str(POLICY)?),
        signer,
        Box::new(DirectorySink::new(out.join("traces"))),
    )
    .with_recorder(session.clone());

    // What the model asks for, turn by turn.
    let model_turns = [
        json!({"function": {"name": "notes.list", "arguments": "{}"}}),
        json!({"function": {"name": "notes.read", "arguments": "{\"path\":\"todo.txt\"}"}}),
        json!({"function": {"name": "notes.write", "arguments": "{\"path\":\"todo.txt\",\"text\":\"done\"}"}}),
        json!({"function": {"name": "shell.exec", "arguments": "{\"command\":\"rm -rf ~\"}"}}),
    ];
    let mut transcript = String::new();
    for call in &model_turns {
        let intent = intent_from_payload(Adapter::OpenAi, call.to_string().as_bytes())?;
        let name = intent.tool_name().to_owned();
        let args = Value::Object(intent.args().clone());
        // The dispatcher: execute only on allow; hand refusals back.
        let reply = match guard.guard(&intent, || run_tool(&name, &args)) {
            Ok(result) => format!("ok: {result}"),
            Err(refusal) => refusal.model_message().to_owned(),
        };
        transcript.push_str(&format!("{name:<12} -> {reply}\n"));
    }

    // Evidence: every decision left a trace that verifies offline, and the
    // session is one runpack.
    let mut verified = 0;
    for entry in std::fs::read_dir(out.join("traces"))? {
        let report = verify_trace_bytes(&std::fs::read(entry?.path())?, &public)?;
        assert_eq!(report.status, SignatureStatus::Verified);
        verified += 1;
    }
    let key = SigningKey::<Trace>::generate()?;
    session.write(&out.join("runpack_agent_loop.zip"), &key)?;
    transcript.push_str(&format!(
        "{verified} signed traces verified; runpack of {} calls written\n",
        session.len()
    ));
    std::io::Write::write_all(&mut std::io::stdout(), transcript.as_bytes())?;
    std::fs::remove_dir_all(&out)?;
    Ok(())
}
