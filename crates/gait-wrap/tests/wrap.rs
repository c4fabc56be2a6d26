//! The wrapper library end to end: real children (`sh -c`), real trace
//! files, every fail-closed rule of `enforce`.

#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use gait_policy::Verdict;
use gait_sign::{SigningKey, Trace};
use gait_trace::TraceRecord;
use gait_wrap::{FailureReason, Mode, Outcome, WrapOptions, WrapReport, run};

fn trace_json(verdict: &str) -> String {
    serde_json::json!({
        "schema_id": "gait.gate.trace",
        "schema_version": "1.0.0",
        "created_at": "2001-02-03T04:05:06Z",
        "producer_version": "0.0.0-fixture",
        "trace_id": format!("t_{}", verdict.trim()),
        "tool_name": "tool.x",
        "args_digest": "a".repeat(64),
        "intent_digest": "b".repeat(64),
        "policy_digest": "c".repeat(64),
        "verdict": verdict
    })
    .to_string()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Runs `sh -c script` in `dir` under `mode`.
fn wrap(dir: &Path, mode: Mode, script: &str) -> WrapReport {
    run(&options(dir, mode, script))
}

fn options(dir: &Path, mode: Mode, script: &str) -> WrapOptions {
    let argv = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    WrapOptions::new(mode, argv)
        .cwd(dir.to_str().unwrap())
        .timeout(Duration::from_secs(20))
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for v in ["allow", "block", "dry_run", "require_approval"] {
        write(dir.path(), &format!("{v}.json"), &trace_json(v));
    }
    dir
}

#[test]
fn enforce_maps_verdicts_to_exit_codes() {
    let dir = fixture();
    let d = dir.path();
    let r = wrap(d, Mode::Enforce, "echo trace_path=allow.json");
    assert_eq!((r.outcome, r.ok), (Outcome::Ok, true));
    let r = wrap(d, Mode::Enforce, "echo trace_path=block.json");
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
    let r = wrap(d, Mode::Enforce, "echo trace_path=dry_run.json");
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
    let r = wrap(
        d,
        Mode::Enforce,
        "echo trace_path=require_approval.json; echo trace_path=allow.json",
    );
    assert_eq!(r.outcome, Outcome::ApprovalRequired);
    assert_eq!(r.verdict_counts.len(), 2);
    assert_eq!(r.verdict_counts[0].verdict, Verdict::Allow);
    // test and trace only observe.
    for mode in [Mode::Test, Mode::Trace] {
        let r = wrap(d, mode, "echo trace_path=block.json");
        assert_eq!(r.outcome, Outcome::Ok);
    }
}

#[test]
fn enforce_without_a_trace_reference_fails_closed() {
    let dir = fixture();
    for script in [
        "echo working",
        "echo oops >&2; exit 9",
        "echo trace_path=",
        "echo note trace_path=allow.json",
    ] {
        let r = wrap(dir.path(), Mode::Enforce, script);
        assert_eq!(r.outcome, Outcome::InvalidInput, "{script}");
        assert_eq!(r.failure_reason, Some(FailureReason::MissingTraceReference));
        assert!(!r.ok);
    }
}

/// Each invalid trace, next to a valid `allow`: enforce exits 3, test 0
/// with a warning.
fn assert_invalid_fails_closed(dir: &Path, name: &str) {
    let script = format!("echo trace_path=allow.json; echo trace_path={name}");
    let r = wrap(dir, Mode::Enforce, &script);
    assert_eq!(
        r.outcome,
        Outcome::PolicyBlocked,
        "{name}: {:?}",
        r.warnings
    );
    assert_eq!(r.failure_reason, Some(FailureReason::InvalidTraceArtifact));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].starts_with("trace ignored: "));
    let r = wrap(dir, Mode::Test, &script);
    assert_eq!(r.outcome, Outcome::Ok, "{name}");
    assert_eq!(r.warnings.len(), 1);
}

#[test]
fn enforce_with_an_unreadable_trace_fails_closed() {
    let dir = fixture();
    std::fs::create_dir(dir.path().join("a_dir.json")).unwrap();
    assert_invalid_fails_closed(dir.path(), "missing.json");
    assert_invalid_fails_closed(dir.path(), "a_dir.json");
    // A FIFO is refused without being opened (no hang).
    let fifo = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo.json"))
        .status()
        .unwrap();
    assert!(fifo.success());
    assert_invalid_fails_closed(dir.path(), "fifo.json");
}

#[test]
fn enforce_with_a_malformed_trace_fails_closed() {
    let dir = fixture();
    let d = dir.path();
    write(d, "not_json.json", "trace_id=nope\n");
    write(
        d,
        "schema.json",
        &trace_json("allow").replace("gait.gate.trace", "gait.gate.other"),
    );
    write(
        d,
        "upper.json",
        &trace_json("allow").replace(&"a".repeat(64), &"A".repeat(64)),
    );
    write(
        d,
        "dup.json",
        &trace_json("allow").replace(
            r#""verdict":"allow""#,
            r#""verdict":"allow","verdict":"block""#,
        ),
    );
    for name in ["not_json.json", "schema.json", "upper.json", "dup.json"] {
        assert_invalid_fails_closed(d, name);
    }
}

#[test]
fn enforce_refuses_an_unknown_verdict() {
    let dir = fixture();
    write(dir.path(), "deny.json", &trace_json("deny"));
    write(dir.path(), "upper.json", &trace_json("ALLOW"));
    assert_invalid_fails_closed(dir.path(), "deny.json");
    assert_invalid_fails_closed(dir.path(), "upper.json");
}

/// The reference trims the verdict when validating but not when counting,
/// so `" block"` lands in no bucket and enforce exits 0.
#[test]
fn enforce_refuses_a_padded_verdict() {
    let dir = fixture();
    write(dir.path(), "padded.json", &trace_json(" block"));
    write(dir.path(), "padded2.json", &trace_json("block\n"));
    assert_invalid_fails_closed(dir.path(), "padded.json");
    assert_invalid_fails_closed(dir.path(), "padded2.json");
    let r = wrap(dir.path(), Mode::Enforce, "echo trace_path=padded.json");
    assert_ne!(r.outcome, Outcome::Ok);
}

/// Go's case-insensitive decoding reads `"Verdict":"allow"` over
/// `"verdict":"block"`.
#[test]
fn enforce_refuses_case_variant_verdict_members() {
    let dir = fixture();
    let text = trace_json("block").replace(
        r#""verdict":"block""#,
        r#""verdict":"block","Verdict":"allow""#,
    );
    write(dir.path(), "variant.json", &text);
    assert_invalid_fails_closed(dir.path(), "variant.json");
    let r = wrap(dir.path(), Mode::Enforce, "echo trace_path=variant.json");
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
    assert!(
        r.warnings[0].contains("differ only in case"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn enforce_refuses_a_trace_that_does_not_verify_with_the_key() {
    let dir = fixture();
    let d = dir.path();
    let key = SigningKey::<Trace>::generate().unwrap();
    let other = SigningKey::<Trace>::generate().unwrap();
    let mut record = TraceRecord::new(
        "tool.write",
        &"a".repeat(64),
        &"b".repeat(64),
        &"c".repeat(64),
        Verdict::Allow,
    );
    record.created_at = gait_digest::GoTime::now_utc();
    record.sign(&key).unwrap();
    std::fs::write(d.join("signed.json"), record.to_pretty_json()).unwrap();
    record.sign(&other).unwrap();
    std::fs::write(d.join("other.json"), record.to_pretty_json()).unwrap();

    let with_key = |script: &str| {
        run(&options(d, Mode::Enforce, script).trace_key(Some(key.verifying_key().clone())))
    };
    let r = with_key("echo trace_path=signed.json");
    assert_eq!(r.outcome, Outcome::Ok, "{:?}", r.warnings);
    assert!(r.signatures_checked);
    // Unsigned (a hand-written allow), signed by another key.
    for name in ["allow.json", "other.json"] {
        let r = with_key(&format!(
            "echo trace_path=signed.json; echo trace_path={name}"
        ));
        assert_eq!(r.outcome, Outcome::PolicyBlocked, "{name}");
        assert_eq!(r.failure_reason, Some(FailureReason::InvalidTraceArtifact));
        assert!(r.warnings[0].contains("signature"), "{:?}", r.warnings);
    }
}

#[test]
fn enforce_refuses_an_overlong_reference_line() {
    let dir = fixture();
    let long = "x".repeat(gait_wrap::MAX_LINE_BYTES + 10);
    let script = format!("echo trace_path=allow.json; echo trace_path={long}");
    let r = wrap(dir.path(), Mode::Enforce, &script);
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("trace reference ignored"))
    );
    let r = wrap(dir.path(), Mode::Test, &script);
    assert_eq!(r.outcome, Outcome::Ok);
}

#[test]
fn timeout_is_exit_1_whatever_the_traces_say() {
    let dir = fixture();
    let begun = Instant::now();
    let r = run(&options(
        dir.path(),
        Mode::Enforce,
        "echo trace_path=allow.json; sleep 30",
    )
    .timeout(Duration::from_millis(300))
    .kill_grace(Duration::from_millis(200)));
    assert!(begun.elapsed() < Duration::from_secs(10));
    assert_eq!(r.outcome, Outcome::Internal);
    assert_eq!(r.failure_reason, Some(FailureReason::ChildTimedOut));
    assert!(r.timed_out);
    assert_eq!(r.child_exit_code, Some(-1));
    assert_eq!(
        r.error.as_deref(),
        Some("child command timed out after 300ms")
    );
    assert_eq!(r.trace_paths, ["allow.json"]);
}

#[test]
fn a_grandchild_holding_the_output_open_does_not_hang_the_wrapper() {
    let dir = fixture();
    let begun = Instant::now();
    // The child exits at once; a grandchild in its group ignores SIGTERM
    // and keeps stdout open.
    let r = run(&options(
        dir.path(),
        Mode::Test,
        "echo trace_path=allow.json; (trap '' TERM; sleep 30) &",
    )
    .timeout(Duration::from_millis(500))
    .kill_grace(Duration::from_millis(200)));
    assert!(begun.elapsed() < Duration::from_secs(10));
    assert!(r.timed_out);
    assert_eq!(r.outcome, Outcome::Internal);
}

#[test]
fn a_child_killed_by_a_signal_is_exit_1_not_255() {
    let dir = fixture();
    let r = wrap(
        dir.path(),
        Mode::Test,
        "echo trace_path=allow.json; kill -9 $$",
    );
    assert_eq!(r.outcome, Outcome::Internal);
    assert_eq!(r.outcome.code(), 1);
    assert_eq!(r.child_exit_code, Some(-1));
    assert_eq!(r.child_signal, Some(9));
    assert!(r.error.unwrap().contains("signal 9"));
}

#[test]
fn child_exit_codes_pass_through_when_traces_were_emitted() {
    let dir = fixture();
    let r = wrap(
        dir.path(),
        Mode::Enforce,
        "echo trace_path=block.json; exit 7",
    );
    assert_eq!(r.outcome, Outcome::ChildExit(7));
    assert_eq!(r.child_exit_code, Some(7));
    let r = wrap(
        dir.path(),
        Mode::Test,
        "echo trace_path=allow.json; exit 200",
    );
    assert_eq!(r.outcome.code(), 200);
}

#[test]
fn relative_trace_paths_are_read_from_the_child_cwd() {
    let dir = fixture();
    let sub = dir.path().join("agent");
    std::fs::create_dir(&sub).unwrap();
    write(&sub, "here.json", &trace_json("block"));
    let r = wrap(&sub, Mode::Enforce, "echo trace_path=here.json");
    assert_eq!(r.outcome, Outcome::PolicyBlocked, "{:?}", r.warnings);
    assert!(r.warnings.is_empty());
}

#[test]
fn environment_stdin_and_start_failures() {
    let dir = fixture();
    let r = wrap(
        dir.path(),
        Mode::Trace,
        "echo \"mode=$GAIT_WRAPPER_MODE\"; cat; echo trace_path=allow.json",
    );
    assert_eq!(r.stdout, "mode=trace\ntrace_path=allow.json\n");
    let argv = vec!["./no-such-program".to_owned()];
    let r = run(&WrapOptions::new(Mode::Enforce, argv).cwd(dir.path().to_str().unwrap()));
    assert_eq!(r.failure_reason, Some(FailureReason::ChildStartFailed));
    assert_eq!(r.outcome, Outcome::Internal);
    let argv = vec!["true".to_owned()];
    let r = run(&WrapOptions::new(Mode::Test, argv).cwd("no/such/dir"));
    assert_eq!(r.failure_reason, Some(FailureReason::ChildStartFailed));
}

#[test]
fn output_is_bounded_and_truncation_is_reported() {
    let dir = fixture();
    let r = run(&options(
        dir.path(),
        Mode::Enforce,
        "head -c 100000 /dev/zero | tr '\\0' x; echo; echo trace_path=block.json",
    )
    .max_output_bytes(1000));
    assert_eq!(r.stdout.len(), 1000);
    assert!(r.warnings.iter().any(|w| w.starts_with("stdout truncated")));
    // The reference after the budget is still found, and still enforced.
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
}

#[test]
fn timeouts_are_go_durations_greater_than_zero() {
    assert_eq!(
        gait_wrap::parse_timeout("1.5s").unwrap(),
        Duration::from_millis(1500)
    );
    assert_eq!(
        gait_wrap::parse_timeout("2m").unwrap(),
        Duration::from_secs(120)
    );
    for bad in ["5", "soon", ""] {
        let e = gait_wrap::parse_timeout(bad).unwrap_err();
        assert!(e.to_string().starts_with("parse --timeout"), "{bad}: {e}");
    }
    for bad in ["0", "0s", "-2s"] {
        let e = gait_wrap::parse_timeout(bad).unwrap_err();
        assert_eq!(e.to_string(), "--timeout must be > 0", "{bad}");
    }
}

/// §1.6's order: no reference and an invalid trace (enforce) come before
/// the child's exit code; the child's exit code before the verdicts.
#[test]
fn outcome_rules_apply_in_order() {
    let dir = fixture();
    let d = dir.path();
    let r = wrap(d, Mode::Enforce, "echo oops; exit 9");
    assert_eq!(r.outcome, Outcome::InvalidInput);
    assert_eq!(r.child_exit_code, Some(9));
    let r = wrap(d, Mode::Enforce, "echo trace_path=missing.json; exit 9");
    assert_eq!(r.outcome, Outcome::PolicyBlocked);
    assert_eq!(r.failure_reason, Some(FailureReason::InvalidTraceArtifact));
    let r = wrap(d, Mode::Test, "echo trace_path=missing.json; exit 9");
    assert_eq!(r.outcome, Outcome::ChildExit(9));
    let r = wrap(d, Mode::Enforce, "echo trace_path=block.json; exit 2");
    assert_eq!(r.outcome, Outcome::ChildExit(2));
    assert_eq!(r.failure_reason, None);
    assert_eq!(r.error, None);
}
