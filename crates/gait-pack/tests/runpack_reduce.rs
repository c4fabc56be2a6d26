//! `reduce_runpack` / `reduce_to_files` on the conformance inputs
//! (`tests/data/reduce/*.json`, the run record inputs of the jobs suite's
//! r01 and r06), with the manifest digests the reference binary produced.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;
use std::path::Path;

use gait_pack::runpack::{
    CaptureMode, RecordInput, RecordSettings, ReducePredicate, RunRecorder, Runpack, read_runpack,
    read_runpack_from, reduce_runpack, reduce_to_files, reduced_run_id,
};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/reduce")
            .join(name),
    )
    .unwrap()
}

fn record(name: &str, capture: CaptureMode) -> (Vec<u8>, String) {
    // As `gait run record --input <name> --capture-mode <capture>`.
    let mut input = RecordInput::from_json(&data(name)).unwrap();
    let settings = RecordSettings::new(None, Some(capture.as_str().to_owned()), None, false);
    let capture = input.apply_settings(&settings).unwrap();
    let recorded = RunRecorder::new(input)
        .capture_mode(capture)
        .record()
        .unwrap();
    (recorded.zip, recorded.manifest.manifest_digest)
}

fn pack(name: &str, capture: CaptureMode) -> Runpack {
    read_runpack_from(Cursor::new(record(name, capture).0)).unwrap()
}

#[test]
fn reduced_runpacks_have_the_reference_manifest_digests() {
    let (_, original) = record("run_red.json", CaptureMode::Raw);
    assert_eq!(
        original,
        "078fd9bb3ec8eb18af1cbefa103339022219272c40a978f461658ef1dfcfd5ea"
    );
    let cases = [
        (
            "run_red.json",
            CaptureMode::Raw,
            ReducePredicate::MissingResult,
            "i_b",
            "db3a592c073dc01e0e5767e49ba7bf6df05000271aad400281ed5222b2bbec9a",
        ),
        (
            "run_red.json",
            CaptureMode::Raw,
            ReducePredicate::NonOkStatus,
            "i_c",
            "ebb96f6e33fc566977125b2c88c4263486ec4d99de5fd05b035aee7dc5e9e59e",
        ),
        (
            "run_red.json",
            CaptureMode::Reference,
            ReducePredicate::NonOkStatus,
            "i_c",
            "c1a4d6668c424a1e4343d0dfb965f65e903e7eb5f42201c22eb4fd07d1c98ad6",
        ),
        (
            "run_red.json",
            CaptureMode::Reference,
            ReducePredicate::MissingResult,
            "i_b",
            "61232463224f5fc946394cb09d3c7109ae36745b99335b7e71c10656ecd235a2",
        ),
        (
            "run_multi.json",
            CaptureMode::Raw,
            ReducePredicate::NonOkStatus,
            "m_mid",
            "5e852a079177d1cee596e35f4aec7c4133fd745a6acc300dba537d9488564a3f",
        ),
    ];
    for (name, capture, predicate, selected, digest) in cases {
        let reduced = reduce_runpack(&pack(name, capture), predicate).unwrap();
        assert_eq!(
            reduced.report.selected_intent_id, selected,
            "{name} {predicate:?}"
        );
        assert_eq!(
            reduced.recorded.manifest.manifest_digest, digest,
            "{name} {capture:?} {predicate:?}"
        );
        // Deterministic: the same bytes every time.
        let again = reduce_runpack(&pack(name, capture), predicate).unwrap();
        assert_eq!(again.recorded.zip, reduced.recorded.zip);
    }
}

#[test]
fn reduction_keeps_the_intent_its_failing_result_receipts_and_timeline() {
    let reduced = reduce_runpack(
        &pack("run_red.json", CaptureMode::Raw),
        ReducePredicate::NonOkStatus,
    )
    .unwrap();
    let back = read_runpack_from(Cursor::new(reduced.recorded.zip)).unwrap();
    assert_eq!(back.run.run_id, "run_red_reduced_nonokstatus");
    assert_eq!(back.intents.len(), 1);
    assert_eq!(back.intents[0].run_id, "run_red_reduced_nonokstatus");
    assert_eq!(back.results.len(), 1);
    assert_eq!(back.results[0].status, "error");
    let refs: Vec<&str> = back
        .refs
        .receipts
        .iter()
        .map(|r| r.ref_id.as_str())
        .collect();
    assert_eq!(refs, ["ref_3"]);
    assert_eq!(back.refs.run_id, "run_red_reduced_nonokstatus");
    let events: Vec<(&str, &str)> = back
        .run
        .timeline
        .as_deref()
        .unwrap()
        .iter()
        .map(|e| (e.event.as_str(), e.reference.as_str()))
        .collect();
    assert_eq!(events, [("start", ""), ("call", "i_c"), ("finish", "")]);
    let r = &reduced.report;
    assert_eq!(
        (
            r.original_intent_count,
            r.reduced_intent_count,
            r.original_result_count,
            r.reduced_result_count,
            r.original_ref_count,
            r.reduced_ref_count
        ),
        (3, 1, 2, 1, 3, 1)
    );
    let json = String::from_utf8(r.to_json().unwrap()).unwrap();
    assert!(json.starts_with(r#"{"schema_id":"gait.runpack.reduce_report","schema_version":"1.0.0","created_at":"2001-02-03T04:05:06Z","producer_version":"9.9.9-test","run_id":"run_red""#));
    assert!(json.ends_with(r#""still_failing":true}"#));
}

#[test]
fn predicates_ids_and_refusals() {
    assert_eq!(
        ReducePredicate::parse(" NON_OK_STATUS ").unwrap(),
        ReducePredicate::NonOkStatus
    );
    assert_eq!(
        ReducePredicate::parse("").unwrap(),
        ReducePredicate::MissingResult
    );
    assert_eq!(
        ReducePredicate::parse("bogus").unwrap_err().to_string(),
        "unsupported predicate \"bogus\""
    );
    assert_eq!(
        reduced_run_id("plain", ReducePredicate::MissingResult),
        "run_plain_reduced_missingresult"
    );
    assert_eq!(
        reduced_run_id("run_x", ReducePredicate::NonOkStatus),
        "run_x_reduced_nonokstatus"
    );
    // run_multi: every intent has a result.
    let e = reduce_runpack(
        &pack("run_multi.json", CaptureMode::Raw),
        ReducePredicate::MissingResult,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "predicate missing_result not triggered by runpack"
    );
    // A reduced runpack reduced again with the other predicate.
    let only_error = reduce_runpack(
        &pack("run_red.json", CaptureMode::Raw),
        ReducePredicate::NonOkStatus,
    )
    .unwrap();
    let p = read_runpack_from(Cursor::new(only_error.recorded.zip)).unwrap();
    assert!(reduce_runpack(&p, ReducePredicate::MissingResult).is_err());
}

#[test]
fn files_are_written_only_when_every_path_is_acceptable() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.zip");
    std::fs::write(&input, record("run_red.json", CaptureMode::Raw).0).unwrap();

    // The report's directory must exist: nothing is written otherwise.
    let out = dir.path().join("out/red.zip");
    let report = dir.path().join("missing/rep.json");
    let e = reduce_to_files(
        &input,
        ReducePredicate::NonOkStatus,
        "",
        Some(&out),
        Some(&report),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("open "), "{e}");
    assert!(!out.exists());

    // A report beside a runpack whose directories are created is fine.
    let nested = dir.path().join("a/b/red.zip");
    let beside = dir.path().join("a/rep.json");
    reduce_to_files(
        &input,
        ReducePredicate::NonOkStatus,
        "",
        Some(&nested),
        Some(&beside),
    )
    .unwrap();
    assert!(nested.is_file() && beside.is_file());

    // `..` in a relative output path is refused.
    let e = reduce_to_files(
        &input,
        ReducePredicate::NonOkStatus,
        "",
        Some(Path::new("../escape.zip")),
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("parent"), "{e}");

    // Defaults: beside the input, the predicate as written.
    let done = reduce_to_files(
        &input,
        ReducePredicate::NonOkStatus,
        "NON_OK_STATUS",
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        done.output,
        dir.path().join("runpack_run_red_reduced_NON_OK_STATUS.zip")
    );
    assert_eq!(
        done.report_path,
        dir.path()
            .join("runpack_run_red_reduced_NON_OK_STATUS.zip.reduce_report.json")
    );
    let back = read_runpack(&done.output).unwrap();
    assert_eq!(
        back.manifest.manifest_digest,
        done.reduced.recorded.manifest.manifest_digest
    );
    let report_bytes = std::fs::read(&done.report_path).unwrap();
    assert_eq!(report_bytes, done.reduced.report.to_json().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for p in [&done.output, &done.report_path] {
            let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", p.display());
        }
    }
}
