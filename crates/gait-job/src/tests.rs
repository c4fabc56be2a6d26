//! Crate-internal tests: crash recovery at each commit point, and a
//! property test over random command sequences (with crashes).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::fs;

use gait_digest::GoTime;
use proptest::prelude::*;

use crate::store::{CommitPoint, read_text};
use crate::{
    CheckpointRequest, JobError, JobRuntime, JobState, Operation, ResumeRequest, Status,
    SubmitRequest, apply,
};

fn t(s: i64) -> GoTime {
    GoTime::from_unix(1_800_000_000 + s, 0)
}

fn submit_req() -> SubmitRequest {
    SubmitRequest {
        job_id: "j1".into(),
        environment_fingerprint: "fp".into(),
        producer_version: "9.9.9-test".into(),
        ..SubmitRequest::default()
    }
}

fn resume_op() -> Operation {
    Operation::Resume(
        ResumeRequest {
            environment_fingerprint: "fp".into(),
            ..ResumeRequest::default()
        }
        .resolve()
        .unwrap(),
    )
}

fn cp(kind: &str) -> Operation {
    Operation::Checkpoint(
        CheckpointRequest {
            checkpoint_type: kind.into(),
            summary: "s".into(),
            required_action: "act".into(),
            actor: "a".into(),
        }
        .validate()
        .unwrap(),
    )
}

fn event_revisions(rt: &JobRuntime) -> Vec<i64> {
    rt.inspect("j1")
        .unwrap()
        .1
        .iter()
        .map(|e| e.revision)
        .collect()
}

#[test]
fn a_crash_at_each_commit_point_is_settled_by_the_next_access() {
    for (point, rolled_forward) in [
        (CommitPoint::Marker, false),
        (CommitPoint::State, false),
        (CommitPoint::Event, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rt = JobRuntime::new(dir.path());
        let before = rt.submit_at(&submit_req(), t(0), None).unwrap();
        let after = rt
            .apply_at("j1", &Operation::pause("ops"), t(1), Some(point))
            .unwrap()
            .state;
        assert!(dir.path().join("j1/pending_mutation.json").exists());
        // A read settles it.
        let now = rt.status("j1").unwrap();
        assert_eq!(
            now,
            if rolled_forward { after } else { before },
            "{point:?}"
        );
        assert!(!dir.path().join("j1/pending_mutation.json").exists());
        assert!(!dir.path().join("j1/state.json.lock").exists());
        let revs = event_revisions(&rt);
        assert_eq!(*revs.last().unwrap(), now.revision, "{point:?}");
        // And the job goes on.
        rt.apply("j1", &Operation::stop("")).unwrap();
        assert_eq!(rt.status("j1").unwrap().revision, now.revision + 1);
    }
}

#[test]
fn a_crashed_submit_is_rolled_back_to_no_job() {
    for point in [CommitPoint::Marker, CommitPoint::State] {
        let dir = tempfile::tempdir().unwrap();
        let rt = JobRuntime::new(dir.path());
        rt.submit_at(&submit_req(), t(0), Some(point)).unwrap();
        assert!(matches!(rt.status("j1"), Err(JobError::NotFound)));
        assert!(!dir.path().join("j1/pending_mutation.json").exists());
        // The id is free again.
        rt.submit(&submit_req()).unwrap();
    }
}

#[test]
fn a_torn_event_line_is_cut_and_the_mutation_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    let before = rt.submit_at(&submit_req(), t(0), None).unwrap();
    rt.apply_at("j1", &Operation::pause(""), t(1), Some(CommitPoint::State))
        .unwrap();
    let events = dir.path().join("j1/events.jsonl");
    let mut bytes = fs::read(&events).unwrap();
    bytes.extend_from_slice(br#"{"schema_id":"gait.job.event","revis"#);
    fs::write(&events, &bytes).unwrap();
    rt.apply("j1", &Operation::stop("")).unwrap();
    let (state, evs) = rt.inspect("j1").unwrap();
    assert_eq!(state.revision, before.revision + 1);
    assert_eq!(evs.len(), 2);
    assert!(read_text(&events).ends_with('\n'));
}

#[test]
fn an_invalid_marker_makes_the_job_unusable_until_removed() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    rt.submit(&submit_req()).unwrap();
    let marker = dir.path().join("j1/pending_mutation.json");
    fs::write(&marker, "{").unwrap();
    assert!(matches!(rt.status("j1"), Err(JobError::Parse { .. })));
    assert!(rt.apply("j1", &Operation::pause("")).is_err());
    let other = JobState {
        job_id: "j2".into(),
        ..JobState::default()
    };
    let doc = serde_json::json!({"job_id": "j1", "updated_state": other, "event": {"job_id": "j1", "revision": 2}});
    fs::write(&marker, doc.to_string()).unwrap();
    let e = rt.status("j1").unwrap_err();
    assert!(
        e.to_string().starts_with("invalid pending mutation: "),
        "{e}"
    );
    fs::remove_file(&marker).unwrap();
    assert!(rt.status("j1").is_ok());
}

#[test]
fn a_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    rt.submit(&submit_req()).unwrap();
    let state = fs::read(dir.path().join("j1/state.json")).unwrap();
    let events = fs::read(dir.path().join("j1/events.jsonl")).unwrap();
    assert!(rt.apply("j1", &resume_op()).is_err());
    assert!(rt.apply("j1", &Operation::approve("", "")).is_err());
    assert_eq!(fs::read(dir.path().join("j1/state.json")).unwrap(), state);
    assert_eq!(
        fs::read(dir.path().join("j1/events.jsonl")).unwrap(),
        events
    );
}

#[test]
fn state_files_are_go_encoded() {
    let dir = tempfile::tempdir().unwrap();
    let rt = JobRuntime::new(dir.path());
    rt.submit(&submit_req()).unwrap();
    rt.add_checkpoint(
        "j1",
        &CheckpointRequest {
            summary: "a<b & c\u{2028}>d".into(),
            ..CheckpointRequest::default()
        },
    )
    .unwrap();
    let text = read_text(&dir.path().join("j1/state.json"));
    assert!(
        text.contains(r#""summary": "a\u003cb \u0026 c\u2028\u003ed""#),
        "{text}"
    );
    assert!(text.starts_with("{\n  \"schema_id\": \"gait.job.runtime\""));
    assert!(text.ends_with("}\n"));
    let st = rt.status("j1").unwrap();
    assert_eq!(st.checkpoints[0].summary, "a<b & c\u{2028}>d");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in ["state.json", "events.jsonl"] {
            let mode = fs::metadata(dir.path().join("j1").join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let mode = fs::metadata(dir.path().join("j1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
    }
}

fn op_strategy() -> impl Strategy<Value = Operation> {
    prop_oneof![
        Just(Operation::pause("u")),
        Just(Operation::stop("u")),
        Just(Operation::cancel("u")),
        Just(Operation::approve("r", "")),
        Just(cp("plan")),
        Just(cp("progress")),
        Just(cp("decision-needed")),
        Just(cp("blocked")),
        Just(cp("completed")),
        Just(resume_op()),
        Just(Operation::dispatch_blocked("mcp-proxy", "mcp.proxy")),
    ]
}

fn crash_strategy() -> impl Strategy<Value = Option<CommitPoint>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(CommitPoint::Marker)),
        1 => Just(Some(CommitPoint::State)),
        1 => Just(Some(CommitPoint::Event)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Pure state machine: terminal states stay terminal, a stopped job
    /// never runs again, refusals change nothing, revisions count events.
    #[test]
    fn the_state_machine_never_leaves_a_final_state(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        let (mut state, _) = crate::submit(&submit_req(), t(0)).unwrap();
        let mut stopped = false;
        for (i, op) in ops.iter().enumerate() {
            let before = state.status().unwrap();
            if let Ok(a) = apply(&state, op, t(i as i64 + 1)) {
                prop_assert_eq!(a.state.revision, state.revision + 1);
                prop_assert_eq!(a.event.revision, a.state.revision);
                let after = a.state.status().unwrap();
                if matches!(before, Status::Completed | Status::Cancelled) {
                    prop_assert!(false, "{:?} left {:?}", op, before);
                }
                if before == Status::EmergencyStopped {
                    prop_assert!(matches!(after, Status::EmergencyStopped | Status::Cancelled), "{:?} -> {:?}", op, after);
                }
                state = a.state;
            }
            stopped |= state.status() == Some(Status::EmergencyStopped);
            if stopped {
                prop_assert_ne!(state.status(), Some(Status::Running));
                prop_assert!(matches!(state.status(), Some(Status::EmergencyStopped | Status::Cancelled)));
            }
        }
    }

    /// On disk, with crashes at random commit points: the next access
    /// settles to the state before or after the crashed mutation (after
    /// only when its event reached the log), events and state agree, and
    /// the folder is left without marker or lock.
    #[test]
    fn crash_recovery_leaves_a_consistent_job(
        steps in proptest::collection::vec((op_strategy(), crash_strategy()), 1..16)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let rt = JobRuntime::new(dir.path());
        let mut model = rt.submit_at(&submit_req(), t(0), None).unwrap();
        let mut stopped = false;
        for (i, (op, crash)) in steps.iter().enumerate() {
            let now = t(i as i64 + 1);
            let expected = apply(&model, op, now).ok().map(|a| a.state);
            let got = rt.apply_at("j1", op, now, *crash);
            prop_assert_eq!(got.is_ok(), expected.is_some());
            let settled = rt.status("j1").unwrap();
            let want = match (&expected, crash) {
                (Some(next), None | Some(CommitPoint::Event)) => next.clone(),
                _ => model.clone(),
            };
            prop_assert_eq!(&settled, &want);
            let (_, events) = rt.inspect("j1").unwrap();
            let revs: Vec<i64> = events.iter().map(|e| e.revision).collect();
            let expect_revs: Vec<i64> = (1..=settled.revision).collect();
            prop_assert_eq!(revs, expect_revs);
            prop_assert!(!dir.path().join("j1/pending_mutation.json").exists());
            prop_assert!(!dir.path().join("j1/state.json.lock").exists());
            model = settled;
            stopped |= model.status() == Some(Status::EmergencyStopped);
            if stopped {
                prop_assert!(matches!(model.status(), Some(Status::EmergencyStopped | Status::Cancelled)));
            }
        }
    }
}
