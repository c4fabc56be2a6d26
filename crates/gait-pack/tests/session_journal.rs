//! Session journals: lifecycle, strict reading, the state cache, locking,
//! checkpoints into verifiable chains, compaction, and tamper detection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use gait_digest::GoTime;
use gait_pack::runpack::{VerifyOptions, read_runpack, verify_runpack_file, verify_session_chain};
use gait_pack::session::{
    EventInput, SessionError, SessionJournal, SessionPath, SessionVerdict, parse_journal,
};
use proptest::prelude::*;

fn sp(p: &Path) -> SessionPath {
    SessionPath::new(p.to_str().unwrap()).unwrap()
}

fn clock() -> GoTime {
    GoTime::parse("2026-02-03T04:05:06.5Z").unwrap()
}

fn journal(dir: &Path) -> SessionJournal {
    SessionJournal::new(sp(&dir.join("sess/s1.journal.jsonl")))
        .with_producer_version("9.9.9-test")
        .with_clock(clock())
}

fn read(j: &SessionJournal) -> Vec<u8> {
    std::fs::read(j.path().as_path()).unwrap()
}

#[test]
fn lifecycle_checkpoints_form_a_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    let s = j.start("s1", "run_s1").unwrap();
    assert_eq!((s.event_count, s.last_sequence), (0, 0));
    // Idempotent for the same ids; refused for others.
    j.start("s1", "run_s1").unwrap();
    let e = j.start("s2", "run_s1").unwrap_err();
    assert!(e.is_identity_conflict(), "{e}");
    assert!(
        e.to_string()
            .starts_with("session journal already initialized with different session/run")
    );

    let e1 = j
        .append(
            &EventInput::new(" tool.read ", SessionVerdict::Allow)
                .with_trace("i1", "t1", "traces/t1.json")
                .with_reasons(
                    vec!["b".into(), " a".into(), "a".into(), String::new()],
                    vec![],
                ),
        )
        .unwrap();
    assert_eq!(e1.sequence, 1);
    assert_eq!(e1.tool_name, "tool.read");
    assert_eq!(e1.reason_codes, vec!["a", "b"]);
    let e2 = j
        .append(
            &EventInput::new("tool.write", SessionVerdict::Block)
                .with_digests(&format!("ABCDEF{}", "0".repeat(58)), &"C".repeat(64)),
        )
        .unwrap();
    assert_eq!(e2.policy_digest, "c".repeat(64));
    let rel = e2.relationship.unwrap();
    assert_eq!(rel["edges"][0]["kind"], "governed_by");
    assert_eq!(rel["policy_ref"]["policy_digest"], "c".repeat(64));

    let cp1 = dir.path().join("cps/cp1.zip");
    let done = j.checkpoint(&sp(&cp1), None).unwrap();
    let c = &done.checkpoint;
    assert_eq!(
        (c.checkpoint_index, c.sequence_start, c.sequence_end),
        (1, 1, 2)
    );
    assert!(c.prev_checkpoint_digest.is_empty());
    assert_eq!(
        done.chain_path,
        dir.path().join("sess/s1.journal_chain.json")
    );
    let e = j
        .checkpoint(&sp(&dir.path().join("x.zip")), None)
        .unwrap_err();
    assert!(matches!(e, SessionError::NothingToCheckpoint { .. }), "{e}");
    assert!(!dir.path().join("x.zip").exists());

    j.append(&EventInput::new("tool.plan", SessionVerdict::DryRun))
        .unwrap();
    let copy = dir.path().join("chain_copy.json");
    let done2 = j
        .checkpoint(&sp(&dir.path().join("cps/cp2.zip")), Some(&sp(&copy)))
        .unwrap();
    assert_eq!(done2.chain_path, copy);
    assert_eq!(done2.checkpoint.prev_checkpoint_digest, c.checkpoint_digest);
    assert_eq!(
        (
            done2.checkpoint.sequence_start,
            done2.checkpoint.sequence_end
        ),
        (3, 3)
    );

    for chain in [done2.default_chain_path.clone(), copy] {
        let report = verify_session_chain(&chain, None, &VerifyOptions::default()).unwrap();
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(report.checkpoints_checked, 2);
    }
    let rp = read_runpack(&cp1).unwrap();
    assert_eq!(rp.run.run_id, "run_s1_cp_0001");
    assert_eq!(rp.intents[0].intent_id, "i1");
    assert_eq!(rp.intents[1].intent_id, "intent_2");
    assert_eq!(rp.results[1].status, "error");
    assert!(
        verify_runpack_file(&cp1, &VerifyOptions::default())
            .unwrap()
            .is_ok(false)
    );
    let v = j.verify().unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert_eq!(v.checkpoints_checked, 2);

    let st = j.status().unwrap();
    assert_eq!(
        (st.event_count, st.checkpoint_count, st.last_sequence),
        (3, 2, 3)
    );
    assert!(!dir.path().join("sess/s1.journal.jsonl.lock").exists());
}

/// The digests the conformance suite pins (scenario s04): the same in
/// every correct implementation.
#[test]
fn checkpoint_digests_are_the_cross_implementation_ones() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    j.start("sess-4", "run_four").unwrap();
    j.append(
        &EventInput::new("tool.read", SessionVerdict::Allow).with_trace(
            "i-1",
            "tr1",
            "traces/1.json",
        ),
    )
    .unwrap();
    j.append(
        &EventInput::new("tool.delete", SessionVerdict::Block)
            .with_reasons(vec!["rule_block".into()], vec!["destructive".into()]),
    )
    .unwrap();
    j.append(
        &EventInput::new("tool.deploy", SessionVerdict::RequireApproval)
            .with_digests(&"a".repeat(64), ""),
    )
    .unwrap();
    j.append(&EventInput::new("tool.plan", SessionVerdict::DryRun).with_trace("", "tr4", ""))
        .unwrap();
    let out = dir.path().join("cp1.zip");
    j.checkpoint(&sp(&out), None).unwrap();
    let rp = read_runpack(&out).unwrap();
    let ids: Vec<_> = rp.intents.iter().map(|i| i.intent_id.as_str()).collect();
    assert_eq!(ids, ["i-1", "intent_2", "intent_3", "intent_4"]);
    let args: Vec<_> = rp.intents.iter().map(|i| i.args_digest.as_str()).collect();
    assert_eq!(
        args,
        [
            "a998abcf88b49ab213aea3f7239dd0f25e32906ab3feadc5ca77f9abe9ddda6e",
            "77bbe81c3d540c80b8e2ba37ad1c876381e70741d4cbfdacaa6c81f95b9c7ebe",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "33f6bc3181af0ab05d530306839e9c454f63032a57a41cfff5c808e5f942f611",
        ]
    );
    let results: Vec<_> = rp
        .results
        .iter()
        .map(|r| r.result_digest.as_str())
        .collect();
    assert_eq!(
        results,
        [
            "144b303c931469bc136220140b10aa6b49ebc482ad75ec99653b2a6030775d0b",
            "3b8e692af2d2ed7cd0c5ce5107f462f4d1b89adf9a4de11eba22ab96d23a804b",
            "7f280e7db16f584e7022e43851bf828ba5c1a3405119152cdb519ba8e3fc16eb",
            "132c830807fa19a2c56fa3d0f6b991cd7e1ae23db9c6ccd00a5705be3008b351",
        ]
    );
    let statuses: Vec<_> = rp.results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["ok", "error", "error", "ok"]);
}

#[test]
fn checkpoints_are_deterministic() {
    let make = || {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        j.start("s", "run_s").unwrap();
        j.append(&EventInput::new("t", SessionVerdict::Allow))
            .unwrap();
        j.append(&EventInput::new("u", SessionVerdict::Block))
            .unwrap();
        let out = dir.path().join("cp.zip");
        let done = j.checkpoint(&sp(&out), None).unwrap();
        (
            std::fs::read(out).unwrap(),
            done.checkpoint.manifest_digest,
            dir,
        )
    };
    let (a, da, _d1) = make();
    let (b, db, _d2) = make();
    assert_eq!(a, b);
    assert_eq!(da, db);
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut s = lines.join("\n");
    s.push('\n');
    s.into_bytes()
}

fn err_of(bytes: &[u8]) -> String {
    parse_journal(Path::new("j.jsonl"), bytes)
        .unwrap_err()
        .to_string()
}

#[test]
fn strict_reading_refuses_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    j.start("s1", "run_s1").unwrap();
    j.append(&EventInput::new("t1", SessionVerdict::Allow))
        .unwrap();
    j.append(&EventInput::new("t2", SessionVerdict::Allow))
        .unwrap();
    j.checkpoint(&sp(&dir.path().join("cp1.zip")), None)
        .unwrap();
    j.append(&EventInput::new("t3", SessionVerdict::Allow))
        .unwrap();
    let good = read(&j);
    parse_journal(Path::new("j"), &good).unwrap();
    let l = lines(&good);
    assert_eq!(l.len(), 5);

    let mut torn = good.clone();
    torn.truncate(torn.len() - 40);
    assert!(err_of(&torn).starts_with("session journal parse line 5:"));
    let mut no_newline = good.clone();
    no_newline.pop();
    assert!(err_of(&no_newline).starts_with("session journal line 5 is not newline-terminated"));

    let edit = |i: usize, from: &str, to: &str| {
        let mut l = l.clone();
        assert!(l[i].contains(from), "{from} in {}", l[i]);
        l[i] = l[i].replacen(from, to, 1);
        join(&l)
    };
    assert!(
        err_of(&edit(2, "\"sequence\":2", "\"sequence\":5"))
            .starts_with("session event sequence mismatch line 3: got 5 want 2")
    );
    assert!(
        err_of(&edit(
            1,
            "\"session_id\":\"s1\"",
            "\"session_id\":\"other\""
        ))
        .starts_with("session event identity mismatch at line 2")
    );
    assert!(
        err_of(&edit(
            1,
            "\"record_type\":\"event\"",
            "\"record_type\":\"bogus\""
        ))
        .starts_with("session journal line 2 has unsupported record_type \"bogus\"")
    );
    let cp = l[3].clone();
    let digest = cp.split("\"checkpoint_digest\":\"").nth(1).unwrap()[..64].to_owned();
    assert!(
        err_of(&edit(3, &digest, &"0".repeat(64)))
            .starts_with("session checkpoint digest invalid at line 4")
    );
    assert!(
        err_of(&edit(3, "\"checkpoint_index\":1", "\"checkpoint_index\":2"))
            .starts_with("session checkpoint index mismatch line 4")
    );
    assert_eq!(
        err_of(&join(&[l[1].clone()])).split(':').next().unwrap(),
        "session journal event encountered before header"
    );
    assert!(
        err_of(&join(&[l[0].clone(), l[0].clone()]))
            .starts_with("session journal contains duplicate header")
    );
    assert!(err_of(b"\n\n").starts_with("session journal missing header"));
    // Ambiguous JSON: duplicate and case-variant member names, unknown
    // members, and values a reader would have to guess about.
    assert!(
        err_of(&edit(
            1,
            "\"verdict\":\"allow\"",
            "\"verdict\":\"allow\",\"verdict\":\"block\""
        ))
        .starts_with("session journal parse line 2")
    );
    assert!(
        err_of(&edit(
            1,
            "\"verdict\":\"allow\"",
            "\"verdict\":\"allow\",\"Verdict\":\"block\""
        ))
        .contains("differ only in case")
    );
    assert!(
        err_of(&edit(
            1,
            "\"verdict\":\"allow\"",
            "\"verdict\":\"allow\",\"extra\":1"
        ))
        .contains("unknown field")
    );
    assert!(
        err_of(&edit(1, "\"verdict\":\"allow\"", "\"verdict\":\" block\""))
            .contains("is not allow, block")
    );
    assert!(
        err_of(&edit(1, "\"sequence\":1", "\"sequence\":1.0"))
            .starts_with("session journal parse line 2")
    );
    assert!(
        err_of(&edit(0, "gait.runpack.session_journal", "gait.other")).contains("header schema")
    );
    // A relationship that contradicts the event.
    assert!(
        err_of(&edit(
            1,
            "{\"id\":\"t1\",\"kind\":\"tool\"}",
            "{\"id\":\"t9\",\"kind\":\"tool\"}"
        ))
        .contains("entity_refs")
    );
    // Bounded lines.
    let mut long = good.clone();
    long.extend(std::iter::repeat_n(
        b' ',
        gait_pack::session::MAX_JOURNAL_LINE_BYTES + 1,
    ));
    long.push(b'\n');
    assert!(err_of(&long).starts_with("session journal line 6 exceeds"));

    // Every operation refuses a damaged journal, and nothing is repaired.
    std::fs::write(j.path().as_path(), &torn).unwrap();
    for e in [
        j.status().map(drop).unwrap_err(),
        j.append(&EventInput::new("t", SessionVerdict::Allow))
            .map(drop)
            .unwrap_err(),
        j.checkpoint(&sp(&dir.path().join("cpt.zip")), None)
            .map(drop)
            .unwrap_err(),
        j.compact(None, false).map(drop).unwrap_err(),
    ] {
        assert!(matches!(e, SessionError::Corrupt { .. }), "{e}");
    }
    assert_eq!(read(&j), torn);
    assert!(!dir.path().join("cpt.zip").exists());
}

#[test]
fn missing_journal_and_path_rules() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    let e = j.status().unwrap_err();
    assert!(e.to_string().starts_with("open session journal:"), "{e}");
    assert!(!dir.path().join("sess").exists(), "nothing created");
    for (bad, msg) in [
        ("", "runpack output path is required"),
        (" . ", "runpack output path is required"),
        ("/", "runpack output path is required"),
        (
            "../x.jsonl",
            "relative runpack output path must not traverse parent directories",
        ),
        (
            "a/../../x",
            "relative runpack output path must not traverse parent directories",
        ),
    ] {
        assert_eq!(
            SessionPath::new(bad).unwrap_err().to_string(),
            msg,
            "{bad:?}"
        );
    }
    assert_eq!(
        SessionPath::new(" ./a/b/../c.jsonl ").unwrap().as_str(),
        "a/c.jsonl"
    );
    // Outputs never overwrite the journal or its side files.
    let j = journal(dir.path());
    j.start("s1", "run_s1").unwrap();
    j.append(&EventInput::new("t", SessionVerdict::Allow))
        .unwrap();
    let before = read(&j);
    for (out, chain) in [
        (j.path().clone(), None),
        (sp(&j.state_path()), None),
        (sp(&j.chain_path()), None),
        (sp(&dir.path().join("cp.zip")), Some(j.path().clone())),
        (
            sp(&dir.path().join("cp.zip")),
            Some(sp(&dir.path().join("cp.zip"))),
        ),
    ] {
        let e = j.checkpoint(&out, chain.as_ref()).unwrap_err();
        assert!(matches!(e, SessionError::Invalid(_)), "{e}");
    }
    assert!(j.compact(Some(&sp(&j.state_path())), false).is_err());
    assert_eq!(read(&j), before);
    assert!(!dir.path().join("cp.zip").exists());
    assert_eq!(
        gait_pack::session::chain_path_for(Path::new("client/c1.jsonl")),
        PathBuf::from("client/c1_chain.json")
    );
    assert_eq!(
        gait_pack::session::chain_path_for(Path::new("j.journal.jsonl")),
        PathBuf::from("j.journal_chain.json")
    );
}

#[test]
fn the_state_cache_is_never_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    j.start("s1", "run_s1").unwrap();
    j.append(&EventInput::new("t1", SessionVerdict::Allow))
        .unwrap();
    j.append(&EventInput::new("t2", SessionVerdict::Allow))
        .unwrap();
    let state = j.state_path();
    // Missing, unparsable, foreign.
    std::fs::remove_file(&state).unwrap();
    assert_eq!(j.status().unwrap().last_sequence, 2);
    assert!(state.exists());
    std::fs::write(&state, "{not json").unwrap();
    assert_eq!(j.status().unwrap().event_count, 2);
    // Edited without changing its size (the reference trusts it: §7.2).
    let text = std::fs::read_to_string(&state).unwrap();
    let edited = text.replace("\"last_sequence\": 2", "\"last_sequence\": 9");
    assert_ne!(text, edited);
    assert_eq!(text.len(), edited.len());
    std::fs::write(&state, edited).unwrap();
    assert_eq!(j.status().unwrap().last_sequence, 2);
    assert_eq!(
        j.append(&EventInput::new("t3", SessionVerdict::Allow))
            .unwrap()
            .sequence,
        3
    );
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("\"last_sequence\": 3")
    );
}

#[test]
fn compaction_keeps_numbering_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path());
    j.start("s1", "run_s1").unwrap();
    for t in ["t1", "t2", "t3"] {
        j.append(&EventInput::new(t, SessionVerdict::Allow))
            .unwrap();
    }
    j.checkpoint(&sp(&dir.path().join("cp1.zip")), None)
        .unwrap();
    // Compaction right after a checkpoint keeps no event: the next append
    // still continues at 4 (the reference reuses 1: §7.2).
    let before = read(&j);
    let dry = j.compact(None, true).unwrap();
    assert!(dry.compacted && dry.dry_run);
    assert_eq!((dry.events_before, dry.events_after), (3, 0));
    assert_eq!(read(&j), before, "a dry run writes nothing");
    let other = dir.path().join("copy/compacted.jsonl");
    let c = j.compact(Some(&sp(&other)), false).unwrap();
    assert!(c.compacted);
    assert_eq!(read(&j), before, "--out leaves the journal alone");
    assert_eq!(lines(&std::fs::read(&other).unwrap()).len(), 2);
    let c = j.compact(None, false).unwrap();
    assert!(c.compacted);
    assert_eq!(c.last_checkpoint_sequence, 3);
    assert_eq!(j.status().unwrap().last_sequence, 3);
    let again = j.compact(None, false).unwrap();
    assert!(
        !again.compacted,
        "a second compaction changes nothing (lines are kept byte for byte)"
    );
    assert_eq!(
        j.append(&EventInput::new("t4", SessionVerdict::Block))
            .unwrap()
            .sequence,
        4
    );
    let done = j
        .checkpoint(&sp(&dir.path().join("cp2.zip")), None)
        .unwrap();
    assert_eq!(
        (done.checkpoint.sequence_start, done.checkpoint.sequence_end),
        (4, 4)
    );
    let report =
        verify_session_chain(&done.default_chain_path, None, &VerifyOptions::default()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let v = j.verify().unwrap();
    assert!(v.is_ok(), "{v:?}");
    assert_eq!(v.compacted_checkpoints, 1);
}

#[test]
fn appends_are_serialized_across_threads() {
    let dir = tempfile::tempdir().unwrap();
    let j = journal(dir.path()).with_lock_config(gait_pack::session::LockConfig::from_vars(|k| {
        (k == "GAIT_SESSION_LOCK_TIMEOUT").then(|| "20s".to_owned())
    }));
    j.start("s1", "run_s1").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..5 {
                    j.append(&EventInput::new("t", SessionVerdict::Allow))
                        .unwrap();
                }
            });
        }
    });
    let st = j.status().unwrap();
    assert_eq!((st.event_count, st.last_sequence), (20, 20));
}

const COVERED: &[&str] = &[
    "schema_id",
    "schema_version",
    "created_at",
    "session_id",
    "run_id",
    "sequence",
    "intent_id",
    "tool_name",
    "intent_digest",
    "policy_digest",
    "policy_id",
    "policy_version",
    "matched_rule_ids",
    "trace_id",
    "trace_path",
    "verdict",
    "reason_codes",
    "violations",
];

fn read_runpack_bytes(bytes: &[u8]) -> gait_pack::runpack::Runpack {
    gait_pack::runpack::read_runpack_from(std::io::Cursor::new(bytes.to_vec())).unwrap()
}

fn event_strategy() -> impl Strategy<Value = EventInput> {
    let verdict = prop_oneof![
        Just(SessionVerdict::Allow),
        Just(SessionVerdict::Block),
        Just(SessionVerdict::DryRun),
        Just(SessionVerdict::RequireApproval),
    ];
    (
        "[a-z][a-z._]{0,8}",
        verdict,
        "[a-z0-9_]{0,6}",
        "[a-z0-9]{0,6}",
        proptest::collection::vec("[a-z_]{1,6}", 0..3),
        proptest::option::of("[0-9a-f]{64}"),
    )
        .prop_map(|(tool, verdict, intent, trace, reasons, policy)| {
            EventInput::new(&tool, verdict)
                .with_trace(&intent, &trace, "")
                .with_digests("", policy.as_deref().unwrap_or(""))
                .with_reasons(reasons, vec![])
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Append N random events, checkpoint: the chain verifies. Then one
    /// changed byte anywhere in the journal is refused by the strict
    /// reader or found by `verify` (the journal against its checkpoint),
    /// unless it lies in a value no checkpoint covers (listed in
    /// docs/threat_model.md); one changed byte of the checkpoint runpack
    /// or of the chain fails `verify session-chain`.
    #[test]
    fn tampering_is_detected(
        events in proptest::collection::vec(event_strategy(), 1..6),
        pick in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        j.start("s1", "run_s1").unwrap();
        for e in &events {
            j.append(e).unwrap();
        }
        let cp = dir.path().join("cp.zip");
        let done = j.checkpoint(&sp(&cp), None).unwrap();
        let chain = done.default_chain_path.clone();
        prop_assert!(verify_session_chain(&chain, None, &VerifyOptions::default()).unwrap().is_ok());
        prop_assert!(j.verify().unwrap().is_ok());

        // The journal.
        let good = read(&j);
        let at = pick.index(good.len());
        let mut bad = good.clone();
        bad[at] ^= flip;
        std::fs::write(j.path().as_path(), &bad).unwrap();
        let detected = match j.verify() {
            Err(_) => true,
            Ok(v) => !v.is_ok(),
        };
        if !detected {
            // Which event members changed? Only uncovered ones may.
            let (gl, bl) = (lines(&good), lines(&bad));
            prop_assert_eq!(gl.len(), bl.len());
            for (g, b) in gl.iter().zip(bl.iter()).filter(|(g, b)| g != b) {
                let g: serde_json::Value = serde_json::from_str(g).unwrap();
                let b: serde_json::Value = serde_json::from_str(b).unwrap();
                if g["record_type"] == "header" {
                    // The header's start time is in no checkpoint or chain.
                    let mut b = b.clone();
                    b["header"]["started_at"] = g["header"]["started_at"].clone();
                    prop_assert_eq!(&g, &b, "undetected header change at byte {}", at);
                    continue;
                }
                let (g, b) = (&g["event"], &b["event"]);
                prop_assert!(g.is_object(), "undetected change outside an event at byte {}", at);
                for k in COVERED {
                    prop_assert_eq!(&g[*k], &b[*k], "covered member {} changed undetected", k);
                }
            }
        }
        std::fs::write(j.path().as_path(), &good).unwrap();

        // The checkpoint runpack.
        let zip = std::fs::read(&cp).unwrap();
        let mut bad = zip.clone();
        let at = pick.index(zip.len());
        bad[at] ^= flip;
        std::fs::write(&cp, &bad).unwrap();
        let report = verify_session_chain(&chain, None, &VerifyOptions::default());
        if report.map(|r| r.is_ok()).unwrap_or(false) {
            // The flip landed in zip metadata: the content is unchanged.
            let (g, b) = (read_runpack_bytes(&zip), read_runpack_bytes(&bad));
            prop_assert_eq!(g.manifest.manifest_digest, b.manifest.manifest_digest);
            prop_assert_eq!(g.intents, b.intents);
            prop_assert_eq!(g.results, b.results);
        }
        std::fs::write(&cp, &zip).unwrap();

        // The chain.
        let text = std::fs::read(&chain).unwrap();
        let mut bad = text.clone();
        let at = pick.index(text.len());
        bad[at] ^= flip;
        std::fs::write(&chain, &bad).unwrap();
        let report = verify_session_chain(&chain, None, &VerifyOptions::default());
        let detected = report.map(|r| !r.is_ok()).unwrap_or(true);
        if !detected {
            // Only the chain's own created_at/producer and the record's
            // relationship and times are not linked into the digests.
            let g: serde_json::Value = serde_json::from_slice(&text).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&bad).unwrap();
            if g == b {
                // Whitespace of the indented file: nothing changed.
                return Ok(());
            }
            for k in ["schema_id", "session_id", "run_id"] {
                prop_assert_eq!(&g[k], &b[k]);
            }
            for (gc, bc) in g["checkpoints"].as_array().unwrap().iter().zip(b["checkpoints"].as_array().unwrap()) {
                for k in ["checkpoint_index", "sequence_start", "sequence_end", "manifest_digest", "prev_checkpoint_digest", "checkpoint_digest"] {
                    prop_assert_eq!(&gc[k], &bc[k], "chain member {} changed undetected", k);
                }
            }
            // The journal still holds the true chain: verify notices.
            prop_assert!(!j.verify().unwrap().is_ok());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Hostile journal bytes are an error or a snapshot, never a panic;
    /// what reads is consistent.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(snap) = parse_journal(Path::new("j"), &bytes) {
            prop_assert!(snap.last_sequence() >= 0);
            prop_assert!(snap.pending.len() <= snap.event_count);
        }
    }

    /// Lines spliced from a valid journal in any order read only when they
    /// form a valid journal, and then compact to a journal that reads.
    #[test]
    fn reordered_lines_read_strictly(order in proptest::collection::vec(0usize..6, 0..8)) {
        let good = sample_journal();
        let l = lines(&good);
        let picked: Vec<String> = order.iter().map(|i| l[i % l.len()].clone()).collect();
        if picked.is_empty() {
            prop_assert!(parse_journal(Path::new("j"), b"").is_err());
            return Ok(());
        }
        if let Ok(snap) = parse_journal(Path::new("j"), &join(&picked)) {
            prop_assert_eq!(&picked[0], &l[0], "a valid journal starts with its header");
            parse_journal(Path::new("j"), &snap.compacted_bytes()).unwrap();
        }
    }
}

fn sample_journal() -> Vec<u8> {
    static CELL: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    CELL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let j = journal(dir.path());
        j.start("s1", "run_s1").unwrap();
        j.append(&EventInput::new("t1", SessionVerdict::Allow))
            .unwrap();
        j.append(&EventInput::new("t2", SessionVerdict::Block))
            .unwrap();
        j.checkpoint(&sp(&dir.path().join("cp.zip")), None).unwrap();
        j.append(&EventInput::new("t3", SessionVerdict::DryRun))
            .unwrap();
        j.checkpoint(&sp(&dir.path().join("cp2.zip")), None)
            .unwrap();
        read(&j)
    })
    .clone()
}
