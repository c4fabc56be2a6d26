//! `gait run session …` and `gait mcp serve` session journals, run as a
//! real process in a temporary directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const J: &str = "sess/s1.journal.jsonl";

fn gait_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = Command::new(common::gait_bin());
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, text)
}

fn gait(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    gait_env(dir, args, &[])
}

fn start(dir: &Path) {
    let (code, v, text) = gait(
        dir,
        &[
            "run",
            "session",
            "start",
            "--journal",
            J,
            "--session-id",
            "s1",
            "--run-id",
            "run_s1",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["status"]["event_count"], 0);
}

fn append(dir: &Path, tool: &str, verdict: &str) -> Value {
    let (code, v, text) = gait(
        dir,
        &[
            "run",
            "session",
            "append",
            "--journal",
            J,
            "--tool",
            tool,
            "--verdict",
            verdict,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{text}");
    v
}

#[test]
fn session_lifecycle_ends_in_a_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    start(d);
    let e = append(d, "tool.read", " Allow ");
    assert_eq!(e["operation"], "append");
    assert_eq!(e["event"]["sequence"], 1);
    assert_eq!(e["event"]["verdict"], "allow");
    let (code, v, _) = gait(
        d,
        &[
            "run",
            "session",
            "append",
            "--journal",
            J,
            "--tool",
            "tool.write",
            "--verdict",
            "block",
            "--reason-codes",
            "b, a,a,",
            "--violations",
            "v2,v1",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["event"]["reason_codes"], serde_json::json!(["a", "b"]));
    assert_eq!(v["event"]["violations"], serde_json::json!(["v1", "v2"]));

    let (code, v, text) = gait(
        d,
        &[
            "run",
            "session",
            "checkpoint",
            "--journal",
            J,
            "--out",
            "cps/cp1.zip",
            "--chain-out",
            "copy.json",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["chain_path"], "copy.json");
    assert_eq!(v["checkpoint"]["checkpoint_index"], 1);
    assert_eq!(v["checkpoint"]["runpack_path"], "cps/cp1.zip");
    let (code, v, _) = gait(
        d,
        &[
            "run",
            "session",
            "checkpoint",
            "--journal",
            J,
            "--out",
            "cps/cpx.zip",
            "--json",
        ],
    );
    assert_eq!(code, 6);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("no new session events available for checkpoint")
    );
    assert_eq!(v["operation"], "checkpoint");
    assert!(!d.join("cps/cpx.zip").exists());

    let (code, v, text) = gait(d, &["verify", "cps/cp1.zip", "--json"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["run_id"], "run_s1_cp_0001");
    for chain in ["sess/s1.journal_chain.json", "copy.json"] {
        let (code, v, text) = gait(d, &["verify", "session-chain", "--chain", chain, "--json"]);
        assert_eq!(code, 0, "{text}");
        assert_eq!(v["checkpoints_checked"], 1);
    }
    // A swapped checkpoint runpack fails the chain (exit 2).
    std::fs::copy(d.join("cps/cp1.zip"), d.join("cps/keep.zip")).unwrap();
    append(d, "tool.plan", "dry_run");
    let (code, _, _) = gait(
        d,
        &[
            "run",
            "session",
            "checkpoint",
            "--journal",
            J,
            "--out",
            "cps/cp2.zip",
        ],
    );
    assert_eq!(code, 0);
    std::fs::copy(d.join("cps/cp1.zip"), d.join("cps/cp2.zip")).unwrap();
    let (code, v, _) = gait(
        d,
        &[
            "verify",
            "session-chain",
            "--chain",
            "sess/s1.journal_chain.json",
            "--json",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        v["checkpoint_errors"][0],
        "checkpoint 2 manifest digest mismatch"
    );

    // Text output names no tool.
    let (code, _, text) = gait(
        d,
        &[
            "run",
            "session",
            "append",
            "--journal",
            J,
            "--tool",
            "secret.tool",
            "--verdict",
            "allow",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        text.trim(),
        "session append: sequence=4 tool=redacted verdict=allow"
    );
    let (code, _, text) = gait(d, &["run", "session", "status", "--journal", J]);
    assert_eq!(code, 0);
    assert!(text.starts_with("session status: session_id=s1 run_id=run_s1 events=4 checkpoints=2 last_sequence=4\njournal: sess/s1.journal.jsonl"), "{text}");

    // Compaction keeps numbering.
    let (code, v, _) = gait(d, &["run", "session", "compact", "--journal", J, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["compaction"]["events_before"], 4);
    assert_eq!(v["compaction"]["events_after"], 1);
    assert_eq!(v["compaction"]["compacted"], true);
    assert_eq!(append(d, "tool.read", "allow")["event"]["sequence"], 5);
    assert!(!d.join("sess/s1.journal.jsonl.lock").exists());
}

#[test]
fn usage_errors_are_invalid_input_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&[&str], &str)] = &[
        (
            &["start", "--journal", J, "--session-id", "s1"],
            "--journal, --session-id, and --run-id are required",
        ),
        (
            &[
                "start",
                "--journal",
                J,
                "--session-id",
                " ",
                "--run-id",
                "r",
            ],
            "--journal, --session-id, and --run-id are required",
        ),
        (
            &[
                "append",
                "--journal",
                J,
                "--tool",
                "t",
                "--verdict",
                "allow",
            ],
            "open session journal",
        ),
        (
            &["append", "--journal", J, "--verdict", "allow"],
            "--journal, --tool, and --verdict are required",
        ),
        (
            &["append", "--journal", J, "--tool", "t", "--verdict", "deny"],
            "unsupported --verdict value (expected allow|block|dry_run|require_approval)",
        ),
        (&["status"], "--journal is required"),
        (
            &["status", "--journal", J, "extra"],
            "unexpected positional arguments",
        ),
        (
            &["checkpoint", "--journal", J],
            "--journal and --out are required",
        ),
        (&["compact"], "--journal is required"),
        (
            &[
                "start",
                "--journal",
                "../escape.jsonl",
                "--session-id",
                "s",
                "--run-id",
                "r",
            ],
            "relative runpack output path must not traverse parent directories",
        ),
        (
            &[
                "start",
                "--journal",
                "/",
                "--session-id",
                "s",
                "--run-id",
                "r",
            ],
            "runpack output path is required",
        ),
    ];
    for (args, class) in cases {
        let mut full = vec!["run", "session"];
        full.extend_from_slice(args);
        full.push("--json");
        let (code, v, text) = gait(d, &full);
        assert_eq!(code, 6, "{args:?}: {text}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["operation"], args[0]);
        assert_eq!(v["error_code"], "invalid_input");
        let err = v["error"].as_str().unwrap();
        assert_eq!(err.split(':').next().unwrap(), *class, "{args:?}: {err}");
    }
    assert_eq!(
        std::fs::read_dir(d).unwrap().count(),
        0,
        "nothing was created"
    );
    assert!(!d.parent().unwrap().join("escape.jsonl").exists());
    for args in [&["run", "session"][..], &["run", "session", "bogus"]] {
        let (code, _, _) = gait(d, args);
        assert_eq!(code, 6);
    }
    let (code, _, text) = gait(d, &["run", "session", "checkpoint", "--explain"]);
    assert_eq!(code, 0);
    assert!(text.contains("runpack"), "{text}");
}

#[test]
fn another_session_is_refused_and_damage_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    start(d);
    let (code, v, _) = gait(
        d,
        &[
            "run",
            "session",
            "start",
            "--journal",
            J,
            "--session-id",
            "s2",
            "--run-id",
            "run_s1",
            "--json",
        ],
    );
    assert_eq!(code, 6);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("session journal already initialized with different session/run")
    );
    append(d, "t1", "allow");
    append(d, "t2", "allow");
    let good = std::fs::read(d.join(J)).unwrap();
    // A torn last line (a crash during an append): every operation refuses
    // with exit 6 and nothing is repaired.
    std::fs::write(d.join(J), &good[..good.len() - 20]).unwrap();
    for args in [
        &["status", "--journal", J][..],
        &[
            "append",
            "--journal",
            J,
            "--tool",
            "t",
            "--verdict",
            "allow",
        ],
        &["checkpoint", "--journal", J, "--out", "cp.zip"],
        &["compact", "--journal", J],
    ] {
        let mut full = vec!["run", "session"];
        full.extend_from_slice(args);
        full.push("--json");
        let (code, v, _) = gait(d, &full);
        assert_eq!(code, 6, "{args:?}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with("session journal parse line 3"),
            "{v}"
        );
    }
    assert_eq!(std::fs::read(d.join(J)).unwrap(), &good[..good.len() - 20]);
    assert!(!d.join("cp.zip").exists());
    // A cache edited without changing its size does not make status lie.
    std::fs::write(d.join(J), &good).unwrap();
    let state = d.join("sess/s1.journal.jsonl.state.json");
    let text = std::fs::read_to_string(&state).unwrap();
    std::fs::write(
        &state,
        text.replace("\"last_sequence\": 2", "\"last_sequence\": 7"),
    )
    .unwrap();
    let (_, v, _) = gait(d, &["run", "session", "status", "--journal", J, "--json"]);
    assert_eq!(v["status"]["last_sequence"], 2);
    assert_eq!(append(d, "t3", "allow")["event"]["sequence"], 3);
}

#[test]
fn a_held_lock_is_contention_and_a_stale_one_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    start(d);
    let lock = d.join("sess/s1.journal.jsonl.lock");
    let now = gait_digest::GoTime::now_utc().format_rfc3339();
    std::fs::write(&lock, format!("{{\"schema_id\":\"gait.runpack.session_lock\",\"schema_version\":\"1.0.0\",\"pid\":1,\"created_at\":\"{now}\"}}\n")).unwrap();
    let env = [("GAIT_SESSION_LOCK_TIMEOUT", "200ms")];
    let (code, v, _) = gait_env(
        d,
        &["run", "session", "status", "--journal", J, "--json"],
        &env,
    );
    assert_eq!(code, 1);
    assert_eq!(v["error_code"], "internal_failure");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("session state contention: lock timeout")
    );
    std::fs::write(&lock, "not json\n").unwrap();
    let (code, _, _) = gait_env(
        d,
        &["run", "session", "status", "--journal", J, "--json"],
        &[
            ("GAIT_SESSION_LOCK_TIMEOUT", "200ms"),
            ("GAIT_SESSION_LOCK_STALE_AFTER", "1ms"),
        ],
    );
    assert_eq!(code, 1, "an unparsable lock is never stale");
    std::fs::write(&lock, "{\"created_at\":\"2001-01-01T00:00:00Z\"}\n").unwrap();
    let (code, _, text) = gait_env(
        d,
        &["run", "session", "status", "--journal", J, "--json"],
        &env,
    );
    assert_eq!(code, 0, "{text}");
    assert!(!lock.exists());
}

const POLICY: &str = "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\nrules:\n  - name: block-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n";

fn body(tool: &str, extra: &str) -> String {
    format!(
        r#"{{{extra}"call":{{"name":"{tool}","args":{{"path":"/a"}},"context":{{"identity":"alice","workspace":"/repo","risk_class":"low"}}}}}}"#
    )
}

#[test]
fn mcp_serve_journals_sessions_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    let args: Vec<String> = [
        "mcp",
        "serve",
        "--policy",
        "policy.yaml",
        "--listen",
        "127.0.0.1:0",
        "--runpack-dir",
        "rp",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let session = r#""run_id":"r1","session_id":"sA","checkpoint_interval":2,"#;
    let bodies = vec![
        body("tool.read", session),
        body("tool.delete", session),
        body("tool.read", r#""run_id":"r2","session_id":"sA","#),
        body(
            "tool.read",
            r#""session_id":"c1","session_journal":"client/c1.jsonl","#,
        ),
        body("tool.read", ""),
    ];
    let (answers, _) = common::serve_http(d, &args, &bodies);
    let json: Vec<Value> = answers
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let warnings = |i: usize| -> Vec<String> {
        json[i]["warnings"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .filter(|s| s.starts_with("session_"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(answers[0].0, 200, "{}", answers[0].1);
    assert_eq!(
        warnings(0),
        ["session_journal=gait-out/mcp-serve/sessions/sA.journal.jsonl sequence=1"]
    );
    assert_eq!(json[1]["verdict"], "block");
    assert_eq!(
        warnings(1),
        [
            "session_journal=gait-out/mcp-serve/sessions/sA.journal.jsonl sequence=2",
            "session_checkpoint=rp/sA_cp_000002.zip chain=gait-out/mcp-serve/sessions/sA.journal_chain.json",
        ]
    );
    assert_eq!(
        warnings(2),
        ["session_journal=gait-out/mcp-serve/sessions/sA_run_r2.journal.jsonl sequence=1"]
    );
    // A client-chosen journal needs --allow-client-artifact-paths.
    assert_eq!(answers[3].0, 400);
    assert_eq!(
        json[3]["error"],
        "request.session_journal is not allowed by server configuration"
    );
    assert!(!d.join("client").exists());
    assert!(warnings(4).is_empty());

    let (code, v, text) = gait(
        d,
        &[
            "verify",
            "session-chain",
            "--chain",
            "gait-out/mcp-serve/sessions/sA.journal_chain.json",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert_eq!(v["run_id"], "run_r1");
    let (code, v, _) = gait(
        d,
        &[
            "run",
            "session",
            "status",
            "--journal",
            "gait-out/mcp-serve/sessions/sA.journal.jsonl",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(v["status"]["event_count"], 2);
    assert_eq!(v["status"]["checkpoint_count"], 1);
    let journal =
        std::fs::read_to_string(d.join("gait-out/mcp-serve/sessions/sA.journal.jsonl")).unwrap();
    let event: Value = serde_json::from_str(journal.lines().nth(2).unwrap()).unwrap();
    assert_eq!(
        event["event"]["reason_codes"],
        serde_json::json!(["matched_rule_block_delete"])
    );
    assert_eq!(event["event"]["relationship"]["edges"][1]["kind"], "calls");

    // A damaged journal fails the request (HTTP 400): no verdict without
    // its journal entry.
    std::fs::write(
        d.join("gait-out/mcp-serve/sessions/sA.journal.jsonl"),
        &journal[..journal.len() - 5],
    )
    .unwrap();
    let (answers, _) = common::serve_http(d, &args, &[body("tool.read", session)]);
    assert_eq!(answers[0].0, 400, "{}", answers[0].1);
    let v: Value = serde_json::from_str(&answers[0].1).unwrap();
    assert!(v.get("verdict").is_none(), "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("session journal parse line 4"),
        "{v}"
    );
}

#[test]
fn serve_events_carry_the_named_jobs_safety_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("policy.yaml"), POLICY).unwrap();
    std::fs::create_dir_all(d.join("gait-out/jobs/job1")).unwrap();
    let hash = "ab".repeat(32);
    std::fs::write(
        d.join("gait-out/jobs/job1/state.json"),
        format!(r#"{{"job_id":"job1","status":"running","safety_invariant_version":"1","safety_invariant_hash":"{hash}"}}"#),
    )
    .unwrap();
    let args: Vec<String> = [
        "mcp",
        "serve",
        "--policy",
        "policy.yaml",
        "--listen",
        "127.0.0.1:0",
        "--runpack-dir",
        "rp",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let call = |job: &str| {
        format!(
            r#"{{"session_id":"s","run_id":"r","checkpoint_interval":2,"call":{{"name":"tool.read","args":{{}},"context":{{"identity":"alice","workspace":"/repo","risk_class":"low","job_id":"{job}"}}}}}}"#
        )
    };
    let (answers, _) = common::serve_http(d, &args, &[call("job1"), call("nojob")]);
    assert!(answers.iter().all(|(st, _)| *st == 200), "{answers:?}");
    let journal =
        std::fs::read_to_string(d.join("gait-out/mcp-serve/sessions/s.journal.jsonl")).unwrap();
    let lines: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[1]["event"]["safety_invariant_hash"], hash.as_str());
    assert_eq!(lines[1]["event"]["safety_invariant_version"], "1");
    assert!(lines[2]["event"].get("safety_invariant_hash").is_none());
    // The checkpoint takes them from the last event that has both.
    assert_eq!(
        lines[3]["checkpoint"]["safety_invariant_hash"],
        hash.as_str()
    );
}
