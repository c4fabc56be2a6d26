//! Regress end to end through the library: fixtures on disk, graders,
//! determinism and tamper detection (proptest).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};

use gait_pack::runpack::{RunRecorder, demo_input};
use gait_regress::{
    InitOptions, RegressError, RunOptions, init_fixture, is_valid_fixture_name, run_regress,
    sanitize_fixture_name,
};
use proptest::prelude::*;

/// The demo runpack written under `dir/gait-out`.
fn demo_runpack(dir: &Path) -> PathBuf {
    RunRecorder::new(demo_input("0.0.0-dev"))
        .write_to_dir(&dir.join("gait-out"))
        .unwrap()
        .path
}

fn options(dir: &Path) -> RunOptions {
    let mut o = RunOptions::default();
    o.config_path = dir.join("gait.yaml").to_string_lossy().into_owned();
    o.output_path = dir
        .join("regress_result.json")
        .to_string_lossy()
        .into_owned();
    o.junit_path = Some(dir.join("junit.xml").to_string_lossy().into_owned());
    o
}

/// Fixtures named `names` (all from the demo runpack) in a new directory.
fn workspace(names: &[String]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_runpack(dir.path());
    for n in names {
        init_fixture(&InitOptions::new(&src, dir.path()).with_name(Some(n.clone()))).unwrap();
    }
    dir
}

/// The result and JUnit texts, with the workspace path (which appears in
/// grader details when the config path is absolute) replaced by `<dir>`.
fn outputs(dir: &Path) -> (String, String) {
    let read = |name: &str| {
        String::from_utf8(std::fs::read(dir.join(name)).unwrap())
            .unwrap()
            .replace(&*dir.to_string_lossy(), "<dir>")
    };
    (read("regress_result.json"), read("junit.xml"))
}

#[test]
fn init_writes_the_reference_layout() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_runpack(dir.path());
    let r = init_fixture(&InitOptions::new(&src, dir.path())).unwrap();
    assert_eq!(r.fixture_name, "run_demo");
    assert_eq!(r.fixture_dir, "fixtures/run_demo");
    assert_eq!(r.runpack_path, "fixtures/run_demo/runpack.zip");
    assert_eq!(r.config_path, "gait.yaml");
    assert_eq!(
        std::fs::read(dir.path().join(&r.runpack_path)).unwrap(),
        std::fs::read(&src).unwrap(),
        "a byte copy"
    );
    let mut progress = Vec::new();
    let run = run_regress(&options(dir.path()), &mut |d, t| progress.push((d, t))).unwrap();
    assert!(run.passed());
    assert_eq!(run.result.graders.len(), 4);
    assert_eq!(run.result.created_at, "2026-02-05T00:00:00Z");
    assert_eq!(progress, [(1, 1)]);
}

#[test]
fn session_chain_origin_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_runpack(dir.path());
    let mut opts = InitOptions::new(&src, dir.path());
    opts.session_chain = Some(("sessions/chain.json".into(), 3));
    init_fixture(&opts).unwrap();
    let meta = gait_regress::read_fixture_meta(&dir.path().join("fixtures/run_demo/fixture.json"))
        .unwrap();
    assert_eq!(meta.session_chain, "sessions/chain.json");
    assert_eq!(meta.checkpoint_index, 3);
}

/// Writes a two-checkpoint chain (absolute runpack paths) into `dir`.
fn write_chain(dir: &Path) -> (PathBuf, gait_pack::runpack::SessionChain) {
    use gait_digest::GoTime;
    let mut chain = gait_pack::runpack::SessionChain::new(
        "sess_r",
        "run_sess",
        "0.0.0-dev",
        GoTime::from_unix(1_770_249_600, 0),
    );
    for n in 1..=2_i64 {
        let mut input = demo_input("0.0.0-dev");
        let id = format!("run_sess_cp_{n:04}");
        input.run.run_id.clone_from(&id);
        for i in &mut input.intents {
            i.run_id.clone_from(&id);
        }
        for r in &mut input.results {
            r.run_id.clone_from(&id);
        }
        input.refs.run_id.clone_from(&id);
        let rec = RunRecorder::new(input).record().unwrap();
        let path = dir.join(format!("runpack_{id}.zip"));
        std::fs::write(&path, &rec.zip).unwrap();
        chain.push_checkpoint(
            path.to_str().unwrap(),
            &rec.manifest.manifest_digest,
            (n - 1) * 3 + 1,
            n * 3,
            GoTime::from_unix(1_770_249_600 + n, 0),
        );
    }
    let path = dir.join("chain.json");
    std::fs::write(&path, chain.to_json_bytes().unwrap()).unwrap();
    (path, chain)
}

#[test]
fn session_chain_checkpoints_resolve_to_verified_runpacks() {
    let dir = tempfile::tempdir().unwrap();
    let (path, chain) = write_chain(dir.path());
    let p = path.to_str().unwrap();
    let latest = gait_regress::resolve_session_checkpoint(p, "latest").unwrap();
    assert_eq!(latest.checkpoint_index, 2);
    assert_eq!(latest.run_id, "run_sess_cp_0002");
    assert_eq!(latest.session_chain_path, p);
    let first = gait_regress::resolve_session_checkpoint(p, " 1 ").unwrap();
    assert_eq!(first.run_id, "run_sess_cp_0001");
    for bad in ["3", "0", "-1", "x"] {
        let err = gait_regress::resolve_session_checkpoint(p, bad).unwrap_err();
        assert!(
            matches!(err, RegressError::SessionChain(_)) && !err.is_io(),
            "{bad}"
        );
    }
    let src = gait_regress::resolve_source(p, None).unwrap();
    assert_eq!(src.session_chain, Some((p.to_owned(), 2)));

    // A checkpoint whose digest does not recompute, or whose runpack is not
    // the one the chain records, is refused.
    let mut bad = chain.clone();
    bad.checkpoints[1].sequence_end += 1;
    std::fs::write(&path, bad.to_json_bytes().unwrap()).unwrap();
    assert!(gait_regress::resolve_session_checkpoint(p, "latest").is_err());
    let mut swapped = chain.clone();
    swapped.checkpoints[1].runpack_path = chain.checkpoints[0].runpack_path.clone();
    std::fs::write(&path, swapped.to_json_bytes().unwrap()).unwrap();
    assert!(gait_regress::resolve_session_checkpoint(p, "latest").is_err());
    std::fs::write(&path, b"{}").unwrap();
    assert!(gait_regress::resolve_session_checkpoint(p, "latest").is_err());
}

#[test]
fn no_fixtures_and_missing_config_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let err = run_regress(&options(dir.path()), &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(err, RegressError::Read { .. }) && !err.is_io(),
        "{err}"
    );
    std::fs::write(dir.path().join("gait.yaml"), r#"{"fixtures":[]}"#).unwrap();
    let err = run_regress(&options(dir.path()), &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("no fixtures"), "{err}");
}

#[test]
fn fixture_metadata_problems_are_invalid() {
    let dir = workspace(&["a".into()]);
    let meta = dir.path().join("fixtures/a/fixture.json");
    let original = std::fs::read_to_string(&meta).unwrap();
    for (edit, needle) in [
        (
            original.replace("\"allow\"", "\"maybe\""),
            "expected_verdict_sequence",
        ),
        (
            original.replace("\"name\": \"a\"", "\"name\": \"b\""),
            "name mismatch",
        ),
        (
            original.replace("\"run_id\": \"run_demo\"", "\"run_id\": \"other\""),
            "run_id mismatch",
        ),
        (original.replacen('{', "{\"unknown\": 1,", 1), "unknown"),
        (
            original.replace(
                "\"expected_replay_exit_code\": 0",
                "\"expected_replay_exit_code\": -1",
            ),
            ">= 0",
        ),
    ] {
        std::fs::write(&meta, edit).unwrap();
        let err = run_regress(&options(dir.path()), &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn expected_exit_code_mismatch_fails() {
    let dir = workspace(&["a".into()]);
    let meta = dir.path().join("fixtures/a/fixture.json");
    let text = std::fs::read_to_string(&meta).unwrap().replace(
        "\"expected_replay_exit_code\": 0",
        "\"expected_replay_exit_code\": 2",
    );
    std::fs::write(&meta, text).unwrap();
    let run = run_regress(&options(dir.path()), &mut |_, _| {}).unwrap();
    assert!(!run.passed());
    assert_eq!(run.failed, 1);
    assert_eq!(
        run.top_failure_reason().as_deref(),
        Some("unexpected_exit_code")
    );
}

#[test]
fn context_conformance_when_asked() {
    let dir = workspace(&["a".into()]);
    let mut o = options(dir.path());
    o.context_conformance = true;
    let run = run_regress(&o, &mut |_, _| {}).unwrap();
    let g = run
        .result
        .graders
        .iter()
        .find(|g| g.name == "a/context_conformance")
        .unwrap();
    // The demo has no context evidence: enforced conformance fails.
    assert_eq!(g.reason_codes, ["context_evidence_missing"]);
    assert_eq!(g.context_conformance, "missing");
}

#[test]
fn source_must_verify() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.zip");
    std::fs::write(&bad, b"not a zip").unwrap();
    assert!(init_fixture(&InitOptions::new(&bad, dir.path())).is_err());
    let src = demo_runpack(dir.path());
    let err =
        init_fixture(&InitOptions::new(&src, dir.path()).with_name(Some("-x".into()))).unwrap_err();
    assert!(err.to_string().contains("invalid fixture name"));
}

fn flip_results_byte(zip_path: &Path, at: usize) {
    use std::io::{Read as _, Write as _};
    let bytes = std::fs::read(zip_path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        if name == "results.jsonl" {
            let i = at % content.len();
            content[i] ^= 0x01;
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&content).unwrap();
    }
    std::fs::write(zip_path, out.finish().unwrap().into_inner()).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn default_names_are_valid(run_id in "\\PC{0,24}") {
        prop_assert!(is_valid_fixture_name(&sanitize_fixture_name(&run_id)));
    }

    /// Two runs over the same fixtures, in the same directory or in
    /// another one, write the same bytes (the result has no wall-clock
    /// field: created_at is the first fixture run's).
    #[test]
    fn runs_are_byte_identical(names in proptest::collection::btree_set("[a-z][a-z0-9._-]{0,8}", 1..4)) {
        let names: Vec<String> = names.into_iter().collect();
        let a = workspace(&names);
        run_regress(&options(a.path()), &mut |_, _| {}).unwrap();
        let first = outputs(a.path());
        run_regress(&options(a.path()), &mut |_, _| {}).unwrap();
        prop_assert_eq!(&outputs(a.path()), &first);
        let b = workspace(&names);
        run_regress(&options(b.path()), &mut |_, _| {}).unwrap();
        prop_assert_eq!(&outputs(b.path()), &first);
        prop_assert!(first.0.contains("\"status\": \"pass\""));
    }

    /// Any change to the recorded results of a fixture is a regression
    /// (status fail), never a pass and never a load error.
    #[test]
    fn tampered_results_fail(at in any::<usize>()) {
        let dir = workspace(&["a".into(), "b".into()]);
        flip_results_byte(&dir.path().join("fixtures/b/runpack.zip"), at);
        let run = run_regress(&options(dir.path()), &mut |_, _| {}).unwrap();
        prop_assert!(!run.passed());
        let schema = run.result.graders.iter().find(|g| g.name == "b/schema_validation").unwrap();
        prop_assert!(schema.reason_codes.contains(&"hash_mismatch".to_owned()));
        prop_assert!(run.result.graders.iter().filter(|g| g.name.starts_with("a/")).all(|g| g.passed()));
    }
}
