//! The record pipeline's rules, and verification of what it writes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;

use gait_digest::GoTime;
use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use gait_pack::runpack::{
    CaptureMode, RAW_CAPTURE_WARNING, RecordInput, RecordSettings, RunRecorder, RunpackError,
    SignatureStatus, VerifyOptions, read_runpack_from, verify_runpack,
};
use gait_sign::{SigningKey, Trace};
use serde_json::{Value, json};

fn input(v: Value) -> RecordInput {
    RecordInput::from_json(v.to_string().as_bytes()).unwrap()
}

fn base() -> Value {
    json!({
        "run": {"run_id": "run_x", "created_at": "2026-02-14T00:00:00Z", "producer_version": "9.9.9",
                "env": {"os": "linux", "arch": "amd64", "runtime": "go"}},
        "intents": [{"intent_id": "i1", "tool_name": "tool.a", "args": {"q": "x", "n": 1.0}}],
        "results": [{"intent_id": "i1", "status": "ok", "result": {"ok": true}}],
        "refs": {"receipts": []}
    })
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = Archive::open(Cursor::new(zip.to_vec())).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, 1 << 24).unwrap();
            (n, d)
        })
        .collect()
}

fn entry(zip: &[u8], name: &str) -> String {
    let (_, d) = entries(zip).into_iter().find(|(n, _)| n == name).unwrap();
    String::from_utf8(d).unwrap()
}

fn verify(zip: &[u8]) -> Result<gait_pack::runpack::VerifyReport, RunpackError> {
    verify_runpack(Cursor::new(zip.to_vec()), &VerifyOptions::default())
}

#[test]
fn reference_capture_strips_after_digesting() {
    let rec = RunRecorder::new(input(base())).record().unwrap();
    let intents = entry(&rec.zip, "intents.jsonl");
    assert!(!intents.contains("\"args\""));
    let digest = gait_digest::digest_json(&json!({"q": "x", "n": 1})).to_hex();
    assert!(intents.contains(&digest), "{intents}");
    assert!(!entry(&rec.zip, "results.jsonl").contains("\"result\""));
    assert_eq!(rec.manifest.capture_mode, "reference");
    assert_eq!(rec.warnings.len(), 1);
    assert!(verify(&rec.zip).unwrap().is_ok(false));
}

#[test]
fn raw_capture_retains_payloads() {
    let rec = RunRecorder::new(input(base()))
        .capture_mode(CaptureMode::Raw)
        .record()
        .unwrap();
    assert_eq!(rec.warnings, [RAW_CAPTURE_WARNING]);
    assert!(entry(&rec.zip, "intents.jsonl").contains(r#""args":{"n":1,"q":"x"}"#));
    assert!(entry(&rec.zip, "results.jsonl").contains(r#""result":{"ok":true}"#));
    let pack = read_runpack_from(Cursor::new(rec.zip)).unwrap();
    assert_eq!(pack.manifest.capture_mode, "raw");
    assert_eq!(pack.intents[0].args.as_ref().unwrap()["q"], "x");
}

#[test]
fn defaults_and_projection() {
    let mut v = base();
    v["run"] =
        json!({"run_id": "run_x", "created_at": "2026-02-14T02:00:00.500+02:00", "extra": 1});
    let rec = RunRecorder::new(input(v)).record().unwrap();
    let run = entry(&rec.zip, "run.json");
    assert!(
        run.contains(r#""created_at":"2026-02-14T02:00:00.5+02:00""#),
        "{run}"
    );
    assert!(run.contains(r#""timeline":null"#));
    assert!(run.contains(r#""runtime":"go""#));
    assert!(run.contains(r#""producer_version":"0.0.0-dev""#));
    assert!(!run.contains("extra"));
    let refs = entry(&rec.zip, "refs.json");
    assert!(refs.contains(r#""receipts":[]"#), "{refs}");
    assert!(refs.contains(r#""schema_id":"gait.runpack.refs""#));
    // No created_at: the recorder's clock.
    let mut v = base();
    v["run"]["created_at"] = Value::Null;
    v["run"]["timeline"] = json!([]);
    let now = GoTime::parse("2030-01-02T03:04:05.000000006Z").unwrap();
    let rec = RunRecorder::new(input(v)).now(now).record().unwrap();
    let run = entry(&rec.zip, "run.json");
    assert!(run.contains(r#""created_at":"2030-01-02T03:04:05.000000006Z""#));
    assert!(run.contains(r#""timeline":[]"#));
    assert!(entry(&rec.zip, "intents.jsonl").contains("2030-01-02T03:04:05.000000006Z"));
}

#[test]
fn digest_rules() {
    // A given args_digest is never checked against args.
    let mut v = base();
    v["intents"][0]["args_digest"] = json!("ab".repeat(32));
    let rec = RunRecorder::new(input(v)).record().unwrap();
    assert!(entry(&rec.zip, "intents.jsonl").contains(&"ab".repeat(32)));

    // Normalization payloads fill or must match (case-insensitively).
    let args = json!({"k": "v"});
    let d = gait_digest::digest_json(&args).to_hex();
    let mut v = base();
    v["intents"][0]["args_digest"] = json!(d.to_uppercase());
    v["normalization"] = json!({"intent_args": {"i1": args}});
    assert!(RunRecorder::new(input(v.clone())).record().is_ok());
    v["intents"][0]["args_digest"] = json!("00".repeat(32));
    let e = RunRecorder::new(input(v)).record().unwrap_err();
    assert!(
        e.to_string().contains("intent i1 args digest mismatch"),
        "{e}"
    );

    let mut v = base();
    v["results"][0]["result_digest"] = json!("00".repeat(32));
    v["normalization"] = json!({"result_payloads": {"i1": {"z": 1}}});
    let e = RunRecorder::new(input(v)).record().unwrap_err();
    assert!(e.to_string().contains("result i1 digest mismatch"), "{e}");

    let mut v = base();
    v["normalization"] = json!({"intent_args": {"i1": [1]}});
    assert!(RunRecorder::new(input(v)).record().is_err());

    // args null: nothing to digest; args {}: the digest of {}.
    let mut v = base();
    v["intents"][0]["args"] = Value::Null;
    let e = RunRecorder::new(input(v)).record().unwrap_err();
    assert!(e.to_string().contains("requires args_digest"), "{e}");
    let mut v = base();
    v["intents"][0]["args"] = json!({});
    let rec = RunRecorder::new(input(v))
        .capture_mode(CaptureMode::Raw)
        .record()
        .unwrap();
    let line = entry(&rec.zip, "intents.jsonl");
    assert!(line.contains(&gait_digest::sha256(b"{}").to_hex()));
    assert!(!line.contains("\"args\""));
}

#[test]
fn receipts_and_refs_normalization() {
    let mut v = base();
    v["refs"] = json!({"receipts": [
        {"ref_id": "z_ref", "source_type": "http", "source_locator": "u", "redaction_mode": "reference",
         "query_digest": " AA ", "content_digest": "BB", "immutability": " Mutable ",
         "retrieved_at": "2026-02-14T02:00:00+02:00"},
        {"ref_id": "trace_i1", "source_type": "GAIT.TRACE", "source_locator": "t", "redaction_mode": "reference"}
    ]});
    let rec = RunRecorder::new(input(v)).record().unwrap();
    let refs: Value = serde_json::from_str(&entry(&rec.zip, "refs.json")).unwrap();
    let receipts = refs["receipts"].as_array().unwrap();
    assert_eq!(receipts[0]["ref_id"], "trace_i1");
    assert_eq!(receipts[1]["ref_id"], "z_ref");
    assert_eq!(receipts[1]["query_digest"], "aa");
    assert_eq!(receipts[1]["immutability"], "mutable");
    assert_eq!(receipts[1]["retrieved_at"], "2026-02-14T00:00:00Z");
    assert_eq!(receipts[0]["retrieved_at"], "1980-01-01T00:00:00Z");
    assert_eq!(receipts[0]["immutability"], "unknown");
    let args_digest = gait_digest::digest_json(&json!({"q": "x", "n": 1})).to_hex();
    let query =
        gait_digest::digest_json(&json!({"tool_name": "tool.a", "args_digest": args_digest}));
    assert_eq!(receipts[0]["query_digest"], query.to_hex());
    let result = gait_digest::digest_json(&json!({"ok": true})).to_hex();
    assert_eq!(receipts[0]["content_digest"], result);
    assert_eq!(refs["context_ref_count"], 2);

    for (receipt, want) in [
        (
            json!({"ref_id": "r", "source_type": "http", "content_digest": "aa"}),
            "requires query_digest",
        ),
        (
            json!({"ref_id": "r", "source_type": "http", "query_digest": "aa"}),
            "requires content_digest",
        ),
        (
            json!({"ref_id": "trace_nope", "source_type": "gait.trace"}),
            "unknown intent nope",
        ),
        (
            json!({"ref_id": "trace_i1", "source_type": "gait.trace", "content_digest": "00"}),
            "content digest mismatch",
        ),
    ] {
        let mut v = base();
        v["refs"] = json!({"receipts": [receipt]});
        let e = RunRecorder::new(input(v)).record().unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
    }
    let mut v = base();
    v["refs"]["context_set_digest"] = json!("xyz");
    assert!(RunRecorder::new(input(v)).record().is_err());
}

#[test]
fn input_decoding() {
    // Case-insensitive member names, unknown members ignored.
    let v = json!({"RUN": {"Run_ID": "run_y", "CREATED_AT": "2026-02-14T00:00:00Z"}, "junk": [1],
                   "Intents": [], "capture_MODE": "raw"});
    let i = input(v);
    assert_eq!(i.run.run_id, "run_y");
    assert_eq!(i.capture_mode, "raw");
    // Repeated or ambiguous members, and wrong types, are errors.
    for bad in [
        r#"{"run":{"run_id":"a","run_id":"b"}}"#,
        r#"{"run":{"run_id":"a","RUN_ID":"b"}}"#,
        r#"{"run":{"run_id":5}}"#,
        r#"{"intents":{}}"#,
        r#"{"refs":{"context_ref_count":1.5}}"#,
        r#"{"run":{"created_at":"yesterday"}}"#,
        r#"[1]"#,
    ] {
        assert!(RecordInput::from_json(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn settings_rules() {
    let mut i = input(base());
    let s = RecordSettings::new(
        Some(" run_z ".into()),
        None,
        Some("BEST_EFFORT".into()),
        false,
    );
    assert_eq!(i.apply_settings(&s).unwrap(), CaptureMode::Reference);
    assert_eq!(i.run.run_id, "run_z");
    assert_eq!(i.intents[0].run_id, "run_z");
    assert_eq!(i.refs.context_evidence_mode, "best_effort");

    let mut v = base();
    v["refs"]["receipts"] = json!([{"ref_id": "r", "source_type": "http", "redaction_mode": " RAW ",
        "query_digest": "aa", "content_digest": "bb"}]);
    let mut i = input(v.clone());
    let e = i.apply_settings(&RecordSettings::default()).unwrap_err();
    assert!(e.to_string().contains("--unsafe-context-raw"));
    let mut i = input(v);
    let s = RecordSettings::new(None, Some("raw".into()), None, true);
    assert_eq!(i.apply_settings(&s).unwrap(), CaptureMode::Raw);
    assert_eq!(i.refs.context_ref_count, 1);
}

#[test]
fn signed_runpacks() {
    let key = SigningKey::<Trace>::generate().unwrap();
    let other = SigningKey::<Trace>::generate().unwrap();
    let rec = RunRecorder::new(input(base()))
        .sign_with(&key)
        .record()
        .unwrap();
    assert_eq!(rec.manifest.signatures.len(), 1);
    assert_eq!(rec.manifest.signatures[0].key_id, key.key_id().to_hex());
    let check = |zip: &[u8], k: &SigningKey<Trace>| {
        verify_runpack(
            Cursor::new(zip.to_vec()),
            &VerifyOptions::new(Some(k.verifying_key().clone()), true),
        )
        .unwrap()
    };
    let r = check(&rec.zip, &key);
    assert_eq!(r.signature_status, SignatureStatus::Verified);
    assert!(r.is_ok(true));
    let r = check(&rec.zip, &other);
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert!(!r.is_ok(false));

    // The signature covers the raw manifest: an unknown member added to
    // it leaves the digest intact but breaks the signature.
    let mut files = entries(&rec.zip);
    for (name, data) in &mut files {
        if name == "manifest.json" {
            let mut m: Value = serde_json::from_slice(data).unwrap();
            m["note"] = json!("added");
            *data = m.to_string().into_bytes();
        }
    }
    let zip = rezip(files);
    let r = check(&zip, &key);
    assert!(r.hash_mismatches.is_empty());
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert_eq!(r.signature_errors, ["signed_digest mismatch"]);
}

fn rezip(files: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    write_deterministic_to_vec(
        files
            .into_iter()
            .map(|(n, d)| NewEntry::file(&n, d))
            .collect(),
    )
    .unwrap()
}

#[test]
fn manifest_member_names_are_exact() {
    let rec = RunRecorder::new(input(base())).record().unwrap();
    for (from, to) in [
        ("\"capture_mode\"", "\"Capture_mode\""),
        ("\"manifest_digest\"", "\"manifest_Digest\""),
        ("\"sha256\"", "\"SHA256\""),
    ] {
        let mut files = entries(&rec.zip);
        for (name, data) in &mut files {
            if name == "manifest.json" {
                *data = String::from_utf8(data.clone())
                    .unwrap()
                    .replacen(from, to, 1)
                    .into_bytes();
            }
        }
        let r = verify(&rezip(files)).unwrap();
        assert!(!r.is_ok(false), "{to}");
    }
}

#[test]
fn write_to_dir_writes_0600_and_reverifies() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/out");
    let w = RunRecorder::new(input(base())).write_to_dir(&out).unwrap();
    assert_eq!(w.path, out.join("runpack_run_x.zip"));
    assert!(w.report.is_ok(false));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&w.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(std::fs::read(&w.path).unwrap(), w.recorded.zip);
    // Again: replaced in place.
    assert!(RunRecorder::new(input(base())).write_to_dir(&out).is_ok());
    let mut v = base();
    v["run"]["run_id"] = json!("a/b");
    assert!(RunRecorder::new(input(v)).write_to_dir(&out).is_err());
}

#[test]
fn empty_records_and_strict_read() {
    let v = json!({"run": {"run_id": "run_e", "created_at": "2026-02-14T00:00:00Z"}});
    let rec = RunRecorder::new(input(v)).record().unwrap();
    assert_eq!(entry(&rec.zip, "intents.jsonl"), "");
    let pack = read_runpack_from(Cursor::new(rec.zip.clone())).unwrap();
    assert!(pack.intents.is_empty() && pack.results.is_empty());
    assert!(verify(&rec.zip).unwrap().is_ok(false));
}

fn context_envelope_json(redaction: &str) -> Value {
    json!({
        "schema_id": "gait.context.envelope",
        "schema_version": "1.0.0",
        "context_set_id": "ctx_1",
        "evidence_mode": "best_effort",
        "records": [
            {"ref_id": "ctx_b", "source_type": "doc", "source_locator": "file://b",
             "query_digest": "1".repeat(64), "content_digest": "2".repeat(64),
             "retrieved_at": "2026-02-14T01:00:00+01:00", "redaction_mode": redaction,
             "immutability": "Immutable"},
            {"ref_id": "ctx_a", "source_type": "doc", "source_locator": "file://a",
             "query_digest": "3".repeat(64), "content_digest": "4".repeat(64),
             "redaction_mode": "reference"}
        ]
    })
}

fn with_receipt() -> Value {
    let mut v = base();
    v["refs"]["receipts"] = json!([{"ref_id": "old", "source_type": "http", "source_locator": "x",
        "redaction_mode": "reference", "query_digest": "aa", "content_digest": "bb"}]);
    v["refs"]["context_ref_count"] = json!(7);
    v
}

fn envelope_settings(path: &std::path::Path, mode: Option<&str>, raw: bool) -> RecordSettings {
    RecordSettings::new(None, None, mode.map(str::to_owned), raw)
        .with_context_envelope(Some(path.display().to_string()))
}

#[test]
fn context_envelope_replaces_receipts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctx.json");
    std::fs::write(&path, context_envelope_json("reference").to_string()).unwrap();
    let want = gait_pack::runpack::read_context_envelope(&path).unwrap();

    let mut i = input(with_receipt());
    let applied = i
        .apply_settings_with_warnings(&envelope_settings(&path, Some("required"), false))
        .unwrap();
    assert_eq!(applied.capture_mode, CaptureMode::Reference);
    assert!(applied.warnings.is_empty());
    assert_eq!(i.refs.context_set_digest, want.context_set_digest);
    assert_eq!(i.refs.context_evidence_mode, "required");
    assert_eq!(i.refs.context_ref_count, 2);
    let ids: Vec<&str> = i.refs.receipts.iter().map(|r| r.ref_id.as_str()).collect();
    assert_eq!(ids, ["ctx_a", "ctx_b"]);
    assert_eq!(i.refs.receipts[1].immutability, "immutable");
    assert_eq!(
        i.refs.receipts[1].retrieved_at.format(),
        "2026-02-14T00:00:00Z"
    );

    // The recorded runpack carries the envelope's receipts and digest, and
    // the pack builder's envelope rules accept them.
    let rec = RunRecorder::new(i).record().unwrap();
    verify(&rec.zip).unwrap();
    let refs: Value = serde_json::from_str(&entry(&rec.zip, "refs.json")).unwrap();
    assert_eq!(refs["context_set_digest"], want.context_set_digest.as_str());
    assert_eq!(refs["context_evidence_mode"], "required");
    assert_eq!(refs["context_ref_count"], 2);
    assert_eq!(refs["receipts"].as_array().unwrap().len(), 2);
    let pack = read_runpack_from(Cursor::new(rec.zip)).unwrap();
    assert_eq!(pack.refs.receipts, want.records);
}

#[test]
fn context_envelope_warnings_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let bad = dir.path().join("bad.json");
    let mut v = context_envelope_json("reference");
    v["context_set_digest"] = json!("f".repeat(64));
    std::fs::write(&bad, v.to_string()).unwrap();
    let raw = dir.path().join("raw.json");
    std::fs::write(&raw, context_envelope_json(" Raw ").to_string()).unwrap();

    // best_effort: an unreadable or invalid envelope is a warning and the
    // refs are left alone.
    for (path, want) in [
        (
            &missing,
            "context envelope ignored: read context envelope: ",
        ),
        (
            &bad,
            "context envelope ignored: context_set_digest mismatch",
        ),
    ] {
        let mut i = input(with_receipt());
        let applied = i
            .apply_settings_with_warnings(&envelope_settings(path, None, false))
            .unwrap();
        assert_eq!(applied.warnings.len(), 1);
        assert!(applied.warnings[0].starts_with(want), "{applied:?}");
        assert_eq!(i.refs.receipts[0].ref_id, "old");
        assert_eq!(i.refs.context_ref_count, 7);
        assert_eq!(i.refs.context_evidence_mode, "best_effort");
    }
    // required: the same are errors (bad input, exit 6).
    for (path, want) in [
        (&missing, "read context envelope: "),
        (&bad, "context_set_digest mismatch"),
    ] {
        let e = input(with_receipt())
            .apply_settings_with_warnings(&envelope_settings(path, Some("REQUIRED"), false))
            .unwrap_err();
        assert!(matches!(e, RunpackError::Invalid(_)), "{e:?}");
        assert!(e.to_string().starts_with(want), "{e}");
    }
    // required without an envelope digest.
    let e = input(with_receipt())
        .apply_settings(&RecordSettings::new(
            None,
            None,
            Some("required".into()),
            false,
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "context evidence mode required but context_set_digest is missing"
    );
    // raw records need the unsafe flag.
    let e = input(with_receipt())
        .apply_settings_with_warnings(&envelope_settings(&raw, None, false))
        .unwrap_err();
    assert!(matches!(e, RunpackError::Invalid(_)));
    assert!(
        e.to_string()
            .starts_with("context envelope includes redaction_mode=raw")
    );
    let mut i = input(with_receipt());
    i.apply_settings_with_warnings(&envelope_settings(&raw, None, true))
        .unwrap();
    assert_eq!(i.refs.context_ref_count, 2);
    // A path climbing out of the working directory is refused in any mode.
    let e = input(with_receipt())
        .apply_settings_with_warnings(
            &RecordSettings::new(None, None, None, false)
                .with_context_envelope(Some("../ctx.json".into())),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "context envelope path must be a local filesystem path"
    );
    // A blank path means no envelope.
    let mut i = input(with_receipt());
    let applied = i
        .apply_settings_with_warnings(
            &RecordSettings::default().with_context_envelope(Some("  ".into())),
        )
        .unwrap();
    assert!(applied.warnings.is_empty());
    assert_eq!(i.refs.receipts[0].ref_id, "old");
}
