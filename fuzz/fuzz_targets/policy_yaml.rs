//! Arbitrary bytes as a policy file.
//!
//! `Policy::from_yaml_bytes` must never panic and must finish in bounded
//! time (run with `-timeout=`; alias bombs and deep nesting are budgeted).
//! A policy that loads must have the digest of its own projection, and must
//! evaluate a fixed single intent and a fixed script intent without
//! panicking.

#![no_main]

use std::sync::LazyLock;

use gait_digest::{GoTime, digest_json};
use gait_policy::eval::{EvalOptions, evaluate};
use gait_policy::intent::Intent;
use gait_policy::policy::{Policy, Verdict};
use libfuzzer_sys::fuzz_target;

/// The typical benchmark intent, plus a destructive host target and a
/// context rich enough for the agent, credential and sandbox constraints.
const SINGLE: &str = r#"{
  "created_at": "2026-02-05T00:00:00Z",
  "tool_name": "tool.write",
  "args": {"path": "/tmp/out.txt", "content": "hello"},
  "targets": [
    {"kind": "path", "value": "/tmp/out.txt"},
    {"kind": "host", "value": "api.example.com", "operation": "delete", "destructive": true}
  ],
  "arg_provenance": [{"arg_path": "$.path", "source": "user"}, {"arg_path": "$.content", "source": "external"}],
  "context": {
    "identity": "bench-user", "workspace": "/tmp/workspace", "risk_class": "high",
    "environment": "prod", "agent_id": "agent.a", "credential_ref": "cred-1",
    "credential_source": "aws_sts", "credential_access_type": "jit", "credential_ttl_seconds": 600,
    "auth_context": {"wrkr.tool_name": "tool.write", "context_age_seconds": 10}
  }
}"#;

/// A three-step script of mixed risk.
const SCRIPT: &str = r#"{
  "tool_name": "script",
  "script": {"steps": [
    {"tool_name": "tool.read", "args": {"path": "/repo/a"}, "targets": [{"kind": "path", "value": "/repo/a"}]},
    {"tool_name": "tool.exec", "targets": [{"kind": "other", "value": "ls", "endpoint_class": "proc.exec"}]},
    {"tool_name": "tool.fetch", "targets": [{"kind": "url", "value": "https://evil.example.com/x"}],
     "arg_provenance": [{"arg_path": "$.url", "source": "tool_output"}]}
  ]},
  "context": {"identity": "bench-user", "workspace": "/repo", "risk_class": "critical", "phase": "plan"}
}"#;

static FIXED: LazyLock<(Vec<Intent>, EvalOptions)> = LazyLock::new(|| {
    let intents = [SINGLE, SCRIPT]
        .into_iter()
        .map(|s| Intent::from_json_str(s).expect("the fixed intents load"))
        .collect();
    let opts = EvalOptions::at(GoTime::from_unix(1_770_249_600, 0));
    (intents, opts)
});

fuzz_target!(|data: &[u8]| {
    let Ok(policy) = Policy::from_yaml_bytes(data) else {
        return;
    };
    assert_eq!(
        digest_json(&policy.projection()),
        policy.digest(),
        "the digest is that of the projection"
    );
    let (intents, opts) = &*FIXED;
    for intent in intents {
        let decision = evaluate(&policy, intent, opts);
        assert_eq!(
            decision.permits_execution(),
            decision.verdict() == Verdict::Allow
        );
        assert_eq!(decision.policy_digest(), &policy.digest());
    }
});
