//! The job runtime through its public API, on real folders: the commands
//! of `gait job`, the resume gates in order, locking and recovery as
//! another process (or the reference) would leave the files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use gait_job::{
    CheckpointRequest, DurabilityKind, JobError, JobRuntime, Operation, PolicyInput, ResumeRequest,
    Status, SubmitRequest, durability_issues,
};

fn submit(rt: &JobRuntime, id: &str) {
    rt.submit(&SubmitRequest {
        job_id: id.into(),
        environment_fingerprint: "fp".into(),
        ..SubmitRequest::default()
    })
    .unwrap();
}

fn resume_req() -> ResumeRequest {
    ResumeRequest {
        environment_fingerprint: "fp".into(),
        ..ResumeRequest::default()
    }
}

const POLICY: &str = "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\nrules:\n  - name: block-delete\n    effect: block\n    match:\n      tool_names: [tool.delete]\n";

#[test]
fn ids_are_checked_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("jobs");
    let rt = JobRuntime::new(&root);
    for bad in ["../x", "a/b", "a b", ".hidden", "-dash", &"x".repeat(129)] {
        let e = rt
            .submit(&SubmitRequest {
                job_id: bad.into(),
                ..SubmitRequest::default()
            })
            .unwrap_err();
        assert!(matches!(e, JobError::InvalidJobId), "{bad}: {e}");
        assert!(matches!(rt.status(bad), Err(JobError::InvalidJobId)));
    }
    assert!(matches!(
        rt.submit(&SubmitRequest::default()),
        Err(JobError::JobIdRequired)
    ));
    assert!(!root.exists(), "nothing created");
    submit(&rt, &"x".repeat(128));
    submit(&rt, "Job:1.2_3-x");
}

#[test]
fn submit_status_duplicate_and_unknown_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    let s = rt
        .submit(&SubmitRequest {
            job_id: "job_basic".into(),
            actor: "alice".into(),
            environment_fingerprint: "envfp:ci-1".into(),
            producer_version: "1.2.3".into(),
            ..SubmitRequest::default()
        })
        .unwrap();
    assert_eq!(s.identity, "alice");
    assert_eq!(
        s.safety_invariant_hash,
        "cd3ea32a49ae78e7a7d5970ac28d89266422a320d761f169e39fad9268e4ce5d"
    );
    assert_eq!(rt.status("job_basic").unwrap(), s);
    let e = rt
        .submit(&SubmitRequest {
            job_id: "job_basic".into(),
            ..SubmitRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "job already exists: job_basic");
    assert!(matches!(rt.status("job_missing"), Err(JobError::NotFound)));
    // Events without a state still hold a job: no second revision 1.
    fs::remove_file(dir.path().join("job_basic/state.json")).unwrap();
    assert!(matches!(
        rt.submit(&SubmitRequest {
            job_id: "job_basic".into(),
            ..SubmitRequest::default()
        }),
        Err(JobError::AlreadyExists(_))
    ));
    // A mutation of an unknown job is `job not found`, not a lock error.
    assert!(matches!(
        rt.apply("job_missing", &Operation::pause("")),
        Err(JobError::NotFound)
    ));
    assert!(!dir.path().join("job_missing").exists());
    let events = fs::read_to_string(dir.path().join("job_basic/events.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 1);
    assert!(events.contains(r#""type":"submitted","actor":"alice","reason_code":"submitted","payload":{"environment_fingerprint":"envfp:ci-1","identity":"alice"}"#), "{events}");
}

#[test]
fn policy_binding_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    fs::write(&policy, POLICY).unwrap();
    let digest = gait_policy::Policy::from_path(&policy)
        .unwrap()
        .digest()
        .to_hex();
    let rt = JobRuntime::new(dir.path().join("jobs"));
    let s = rt
        .submit(&SubmitRequest {
            job_id: "pj".into(),
            identity: "agent_7".into(),
            environment_fingerprint: "fp1".into(),
            policy: PolicyInput {
                path: Some(policy.clone()),
                digest: Some(format!("sha256:{digest}")),
                reference: None,
            },
            ..SubmitRequest::default()
        })
        .unwrap();
    assert_eq!(s.policy_digest, digest);
    assert_eq!(s.policy_ref, policy.to_string_lossy());
    assert!(
        s.safety_invariants
            .contains(&format!("policy_digest={digest}"))
    );
    let e = rt
        .submit(&SubmitRequest {
            job_id: "pj3".into(),
            policy: PolicyInput {
                path: Some(policy),
                digest: Some("0".repeat(64)),
                reference: None,
            },
            ..SubmitRequest::default()
        })
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("policy digest mismatch: provided="),
        "{e}"
    );
    assert!(!dir.path().join("jobs/pj3").exists());
    let e = rt
        .submit(&SubmitRequest {
            job_id: "pj4".into(),
            policy: PolicyInput {
                path: Some(dir.path().join("nothere.yaml")),
                ..PolicyInput::default()
            },
            ..SubmitRequest::default()
        })
        .unwrap_err();
    assert!(e.to_string().starts_with("load policy: "), "{e}");
}

#[test]
fn checkpoints_validate_and_number() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "cj");
    let add = |t: &str, summary: &str, action: &str| {
        rt.add_checkpoint(
            "cj",
            &CheckpointRequest {
                checkpoint_type: t.into(),
                summary: summary.into(),
                required_action: action.into(),
                actor: " planner ".into(),
            },
        )
    };
    for (t, s, a) in [
        ("progress", "", ""),
        ("progress", "   ", ""),
        ("progress", &"x".repeat(513), ""),
        ("progress", &"é".repeat(300), ""),
        ("decision-needed", "need input", ""),
        ("bogus", "x", ""),
    ] {
        let e = add(t, s, a).unwrap_err();
        assert!(e.to_string().starts_with("invalid checkpoint: "), "{e}");
    }
    let a = add("plan", "  padded plan  ", "ignored").unwrap();
    let cp = a.checkpoint.unwrap();
    assert_eq!(cp.checkpoint_id, "cp_0001");
    assert_eq!(cp.summary, "padded plan");
    assert_eq!(cp.required_action, "");
    assert_eq!(cp.actor, "planner");
    assert_eq!(cp.reason_code, "checkpoint_plan");
    assert_eq!(a.state.status(), Some(Status::Running));
    add("progress", &"é".repeat(256), "").unwrap();
    let b = add("blocked", "waiting", "").unwrap();
    assert_eq!(b.state.status_reason_code, "blocked");
    assert_eq!(b.event.payload["required_action"], "");
    assert_eq!(rt.checkpoints("cj").unwrap().len(), 3);
    assert_eq!(
        rt.checkpoint("cj", "cp_0002").unwrap().checkpoint_id,
        "cp_0002"
    );
    assert_eq!(
        rt.checkpoint("cj", "cp_0099").unwrap_err().to_string(),
        "checkpoint not found: cp_0099"
    );
}

#[test]
fn resume_gates_are_checked_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    fs::write(&policy, POLICY).unwrap();
    let revoked = dir.path().join("revoked.txt");
    fs::write(&revoked, "# revoked\nagent_1\n  agent_7  \n").unwrap();
    let rt = JobRuntime::new(dir.path().join("jobs"));
    rt.submit(&SubmitRequest {
        job_id: "g".into(),
        identity: "agent_7".into(),
        environment_fingerprint: "fp".into(),
        policy: PolicyInput {
            path: Some(policy.clone()),
            ..PolicyInput::default()
        },
        ..SubmitRequest::default()
    })
    .unwrap();
    // 2. transition (running cannot resume), before everything else.
    let e = rt.resume("g", &resume_req()).unwrap_err();
    assert!(matches!(e, JobError::NotResumable), "{e}");
    rt.add_checkpoint(
        "g",
        &CheckpointRequest {
            checkpoint_type: "decision-needed".into(),
            summary: "ship?".into(),
            required_action: "approve".into(),
            ..CheckpointRequest::default()
        },
    )
    .unwrap();
    // 3. approvals before policy.
    let e = rt.resume("g", &resume_req()).unwrap_err();
    assert!(matches!(e, JobError::ApprovalRequired), "{e}");
    rt.apply("g", &Operation::approve("reviewer", "lgtm"))
        .unwrap();
    // 4. policy: a ref alone is not enough.
    let mut req = resume_req();
    req.policy.reference = Some("just-a-ref".into());
    let e = rt.resume("g", &req).unwrap_err();
    assert!(matches!(e, JobError::PolicyEvaluationRequired), "{e}");
    req.policy = PolicyInput {
        path: Some(policy),
        ..PolicyInput::default()
    };
    // 5. identity.
    req.identity = "agent_8".into();
    let e = rt.resume("g", &req).unwrap_err();
    assert_eq!(
        e.to_string(),
        "identity binding mismatch: expected=agent_7 provided=agent_8"
    );
    req.identity = String::new();
    req.identity_revoked = true;
    assert!(matches!(
        rt.resume("g", &req),
        Err(JobError::IdentityRevoked(_))
    ));
    req.identity_revoked = false;
    req.identity_revocations = Some(revoked);
    assert!(matches!(
        rt.resume("g", &req),
        Err(JobError::IdentityRevoked(_))
    ));
    req.identity_revocations = Some(dir.path().join("missing.txt"));
    assert!(matches!(
        rt.resume("g", &req),
        Err(JobError::ReadRevocations { .. })
    ));
    req.identity_revocations = None;
    // 6. environment.
    req.environment_fingerprint = "fp-new".into();
    let e = rt.resume("g", &req).unwrap_err();
    assert_eq!(
        e.to_string(),
        "environment fingerprint mismatch: expected=fp actual=fp-new"
    );
    // Every refusal left the job as it was.
    assert_eq!(rt.status("g").unwrap().revision, 3);
    req.allow_env_mismatch = true;
    let done = rt.resume("g", &req).unwrap();
    assert_eq!(done.state.status_reason_code, "resumed_with_env_override");
    assert_eq!(done.event.payload["expected_fingerprint"], "fp");
    assert_eq!(done.event.payload["actual_fingerprint"], "fp-new");
    assert_eq!(done.event.payload["policy_changed"], false);
    assert_eq!(done.event.payload["identity"], "agent_7");
}

#[test]
fn stop_then_approve_then_resume_does_not_bring_a_job_back() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "es");
    rt.apply("es", &Operation::stop("secops")).unwrap();
    let dn = CheckpointRequest {
        checkpoint_type: "decision-needed".into(),
        summary: "let me run".into(),
        required_action: "approve".into(),
        ..CheckpointRequest::default()
    };
    let e = rt.add_checkpoint("es", &dn).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid transition: checkpoint_added from emergency_stopped"
    );
    assert!(rt.apply("es", &Operation::approve("boss", "")).is_err());
    assert!(rt.resume("es", &resume_req()).is_err());
    assert!(rt.apply("es", &Operation::pause("")).is_err());
    let s = rt.status("es").unwrap();
    assert!(s.is_emergency_stopped());
    assert_eq!(s.revision, 2);
    let c = rt.apply("es", &Operation::cancel("secops")).unwrap();
    assert_eq!(c.state.status(), Some(Status::Cancelled));
    for op in [
        Operation::stop(""),
        Operation::cancel(""),
        Operation::pause(""),
    ] {
        assert!(rt.apply("es", &op).is_err());
    }
}

#[test]
fn a_blocked_dispatch_is_journaled_only_for_a_stopped_job() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "jm");
    assert!(matches!(
        rt.record_blocked_dispatch("jm", "mcp-proxy", "mcp.proxy"),
        Err(JobError::NotStopped)
    ));
    rt.apply("jm", &Operation::stop("secops")).unwrap();
    let s = rt
        .record_blocked_dispatch("jm", "mcp-proxy", "mcp.proxy")
        .unwrap();
    assert_eq!(s.revision, 3);
    assert!(s.is_emergency_stopped());
    let (_, events) = rt.inspect("jm").unwrap();
    assert_eq!(events[2].event_type, "dispatch_blocked");
    assert_eq!(events[2].actor, "mcp-proxy");
}

fn age(path: &Path, secs: u64) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn a_live_lock_refuses_after_two_seconds_and_a_stale_one_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "lk");
    let lock = dir.path().join("lk/state.json.lock");
    fs::write(&lock, "").unwrap();
    let started = Instant::now();
    let e = rt.apply("lk", &Operation::pause("")).unwrap_err();
    assert!(matches!(e, JobError::LockTimeout));
    assert!(e.is_internal());
    assert!(started.elapsed() >= Duration::from_millis(1900));
    // Reads without a pending mutation take no lock.
    assert_eq!(rt.status("lk").unwrap().revision, 1);
    age(&lock, 120);
    assert_eq!(
        rt.apply("lk", &Operation::pause(""))
            .unwrap()
            .state
            .revision,
        2
    );
    assert!(!lock.exists());
}

#[test]
fn concurrent_writers_are_serialized() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "c");
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                let mut ok = 0;
                for j in 0..5 {
                    let r = rt.add_checkpoint(
                        "c",
                        &CheckpointRequest {
                            summary: format!("t{i} n{j}"),
                            ..CheckpointRequest::default()
                        },
                    );
                    match r {
                        Ok(_) => ok += 1,
                        Err(JobError::LockTimeout) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                ok
            })
        })
        .collect();
    let ok: i64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let (state, events) = rt.inspect("c").unwrap();
    assert_eq!(state.revision, 1 + ok);
    assert_eq!(events.len() as i64, 1 + ok);
    let revs: Vec<i64> = events.iter().map(|e| e.revision).collect();
    assert_eq!(revs, (1..=1 + ok).collect::<Vec<_>>());
    let ids: std::collections::BTreeSet<_> = state
        .checkpoints
        .iter()
        .map(|c| c.checkpoint_id.clone())
        .collect();
    assert_eq!(ids.len() as i64, ok);
}

#[test]
fn recovery_from_files_another_process_left() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    submit(&rt, "k1");
    let job = dir.path().join("k1");
    let before = fs::read_to_string(job.join("state.json")).unwrap();
    rt.apply("k1", &Operation::pause("")).unwrap();
    let after = fs::read_to_string(job.join("state.json")).unwrap();
    let events = fs::read_to_string(job.join("events.jsonl")).unwrap();
    let last = events.lines().last().unwrap().to_owned();
    let marker = format!(
        r#"{{"schema_id":"gait.job.pending_mutation","schema_version":"1.0.0","created_at":"2001-02-03T04:05:06Z","job_id":"k1","previous_state":{before},"updated_state":{after},"event":{last}}}"#
    );
    // Crash after the state write, before the append: rolled back.
    fs::write(job.join("pending_mutation.json"), &marker).unwrap();
    let first_line = events.lines().next().unwrap();
    fs::write(job.join("events.jsonl"), format!("{first_line}\n")).unwrap();
    let kinds: Vec<DurabilityKind> = durability_issues(dir.path())
        .iter()
        .map(|i| i.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            DurabilityKind::PendingMutation,
            DurabilityKind::StateAheadOfEventLog
        ]
    );
    assert_eq!(rt.status("k1").unwrap().status(), Some(Status::Running));
    assert!(!job.join("pending_mutation.json").exists());
    assert!(durability_issues(dir.path()).is_empty());
    // Crash after the append, state stale: rolled forward.
    rt.apply("k1", &Operation::pause("")).unwrap();
    let paused = fs::read_to_string(job.join("state.json")).unwrap();
    fs::write(job.join("state.json"), &before).unwrap();
    let events = fs::read_to_string(job.join("events.jsonl")).unwrap();
    let last = events.lines().last().unwrap();
    fs::write(
        job.join("pending_mutation.json"),
        format!(
            r#"{{"job_id":"k1","previous_state":{before},"updated_state":{paused},"event":{last}}}"#
        ),
    )
    .unwrap();
    let issues: Vec<String> = durability_issues(dir.path())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        issues,
        ["k1:event_log_ahead_of_state", "k1:pending_mutation"]
    );
    let (state, events) = rt.inspect("k1").unwrap();
    assert_eq!(state.status(), Some(Status::Paused));
    assert_eq!(events.len(), 2);
}

#[test]
fn a_snapshot_is_a_job_the_runtime_continues() {
    let dir = tempfile::tempdir().unwrap();
    let src = JobRuntime::new(dir.path().join("a"));
    submit(&src, "snap");
    src.apply("snap", &Operation::pause("ops")).unwrap();
    let (state, events) = src.inspect("snap").unwrap();
    let dst = JobRuntime::new(dir.path().join("b"));
    let written = dst.write_snapshot(&state, &events).unwrap();
    assert_eq!(
        fs::read(written.join("events.jsonl")).unwrap(),
        fs::read(dir.path().join("a/snap/events.jsonl")).unwrap()
    );
    assert_eq!(
        dst.inspect("snap").unwrap(),
        (state.clone(), events.clone())
    );
    assert_eq!(dst.resume("snap", &resume_req()).unwrap().state.revision, 3);
    let mut foreign = events.clone();
    foreign[0].job_id = "other".into();
    assert!(matches!(
        dst.write_snapshot(&state, &foreign),
        Err(JobError::InvalidSnapshot(_))
    ));
    assert!(matches!(
        dst.write_snapshot(&state, &events[..1]),
        Err(JobError::InvalidSnapshot(_))
    ));
}
