//! `gait regress`, `capture`, `init`, `check`, `doctor` and the project
//! config of `gate eval`, run as real processes in temporary directories.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env_remove("GAIT_ALLOW_REAL_REPLAY")
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

fn data(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/regress")
            .join(name),
    )
    .unwrap()
}

/// `gait demo` + `gait regress init --from run_demo` in a fresh directory.
fn fixture_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(code(&gait(dir.path(), &["demo", "--json"])), 0);
    let out = gait(
        dir.path(),
        &["regress", "init", "--from", "run_demo", "--json"],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    dir
}

/// Rewrites one entry of a zip (stored entries only are fine for the
/// runpacks Gait writes: the reader accepts any method, the writer here
/// stores).
fn rewrite_zip_entry(path: &Path, name: &str, edit: impl Fn(Vec<u8>) -> Vec<u8>) {
    use std::io::{Read as _, Write as _};
    let bytes = std::fs::read(path).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        let fname = f.name().unwrap().into_owned();
        if fname == name {
            content = edit(content);
        }
        out.start_file(
            fname,
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        out.write_all(&content).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

/// A minimal validator for the JSON Schema subset the regress result
/// schema uses (type, const, enum, pattern ^1\.0\.0$, required,
/// properties, additionalProperties false, items, format date-time).
fn validate(schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {t}"));
            return;
        }
    }
    if let Some(c) = schema.get("const") {
        if c != v {
            errors.push(format!("{at}: expected const {c}"));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(v) {
            errors.push(format!("{at}: {v} not in enum"));
        }
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        assert_eq!(p, "^1\\.0\\.0$", "validator only knows this pattern");
        if v.as_str() != Some("1.0.0") {
            errors.push(format!("{at}: pattern {p}"));
        }
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        let s = v.as_str().unwrap_or_default();
        if gait_digest::GoTime::parse(s).is_err() {
            errors.push(format!("{at}: not a date-time"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{at}: missing {r}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, child) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(s, child, &format!("{at}.{k}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: unexpected {k}"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(items, item, &format!("{at}[{i}]"), errors);
        }
    }
}

fn assert_valid_result(text: &str) {
    let schema: Value = serde_json::from_str(&data("regress_result.schema.json")).unwrap();
    let v: Value = serde_json::from_str(text).unwrap();
    let mut errors = Vec::new();
    validate(&schema, &v, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
}

/// A JUnit test case as an independent XML parser (quick-xml) reads it.
#[derive(Debug, PartialEq)]
struct Case {
    name: String,
    classname: String,
    failure: Option<String>,
}

/// Parses JUnit XML with quick-xml; checks the suite counts against the
/// test cases and returns them.
fn parse_junit(text: &str) -> Vec<Case> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut cases: Vec<Case> = Vec::new();
    let mut suite_tests = None;
    let mut suite_failures = None;
    let attr = |e: &quick_xml::events::BytesStart, key: &str| -> String {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.as_ref() == key)
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned()
            })
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "testsuite" => {
                    suite_tests = Some(attr(&e, "tests").parse::<usize>().unwrap());
                    suite_failures = Some(attr(&e, "failures").parse::<usize>().unwrap());
                }
                "testcase" => cases.push(Case {
                    name: attr(&e, "name"),
                    classname: attr(&e, "classname"),
                    failure: None,
                }),
                "failure" => {
                    assert_eq!(attr(&e, "type"), "regress_failure");
                    cases.last_mut().unwrap().failure = Some(attr(&e, "message"));
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suite_tests, Some(cases.len()));
    assert_eq!(
        suite_failures,
        Some(cases.iter().filter(|c| c.failure.is_some()).count())
    );
    cases
}

#[test]
fn quick_start_matches_the_reference_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&gait(d, &["demo"])), 0);
    assert_eq!(code(&gait(d, &["verify", "run_demo"])), 0);
    let out = gait(
        d,
        &[
            "regress",
            "bootstrap",
            "--from",
            "run_demo",
            "--json",
            "--junit",
            "./gait-out/junit.xml",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["status"], "pass");
    assert_eq!(v["fixture_name"], "run_demo");
    assert_eq!(v["runpack_path"], "fixtures/run_demo/runpack.zip");
    assert_eq!(
        v["artifact_paths"],
        serde_json::json!(["regress_result.json", "./gait-out/junit.xml"])
    );
    assert!(v.get("failed").is_none(), "zero counts are omitted");

    let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    assert_eq!(read("gait.yaml"), data("gait.yaml"));
    assert_eq!(read("gait-out/junit.xml"), data("junit.xml"));
    // Byte-identical to the reference's apart from the producer version.
    let ours = read("regress_result.json").replace(
        &format!("\"producer_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"producer_version\": \"0.0.0-dev\"",
    );
    assert_eq!(ours, data("regress_result.json"));
    assert_valid_result(&read("regress_result.json"));

    // One test case per grader, all passing.
    let cases = parse_junit(&read("gait-out/junit.xml"));
    let names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "diff",
            "expected_exit_code",
            "schema_validation",
            "trajectory"
        ]
    );
    assert!(
        cases
            .iter()
            .all(|c| c.classname == "run_demo" && c.failure.is_none())
    );
}

#[test]
fn tampered_fixture_results_exit_5() {
    let dir = fixture_dir();
    let d = dir.path();
    rewrite_zip_entry(
        &d.join("fixtures/run_demo/runpack.zip"),
        "results.jsonl",
        |b| {
            String::from_utf8(b)
                .unwrap()
                .replacen("\"status\":\"ok\"", "\"status\":\"error\"", 1)
                .into_bytes()
        },
    );
    let out = gait(
        d,
        &[
            "regress",
            "run",
            "--json",
            "--junit",
            "./gait-out/junit.xml",
        ],
    );
    assert_eq!(code(&out), 5, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["status"], "fail");
    assert_eq!(v["next_command"], "gait regress run --json");
    assert!(v.get("error").is_none(), "a regression is not an error");
    let result = std::fs::read_to_string(d.join("regress_result.json")).unwrap();
    assert_valid_result(&result);
    let r: Value = serde_json::from_str(&result).unwrap();
    let schema = r["graders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "run_demo/schema_validation")
        .unwrap();
    assert_eq!(
        schema["reason_codes"],
        serde_json::json!(["hash_mismatch", "runpack_parse_error"])
    );
    let cases = parse_junit(&std::fs::read_to_string(d.join("gait-out/junit.xml")).unwrap());
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().all(|c| c.failure.is_some()));

    // Text mode: same exit, a failure summary.
    let out = gait(d, &["regress", "run"]);
    assert_eq!(code(&out), 5);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("regress run failed: fixture_set=default failed=4"),
        "{text}"
    );
}

const CANDIDATE: &str = r#"{
  "run": {"schema_id": "gait.runpack.run", "schema_version": "1.0.0", "created_at": "2026-02-12T00:00:00Z",
          "producer_version": "0.0.0-dev", "run_id": "run_demo_candidate",
          "env": {"os": "linux", "arch": "amd64", "runtime": "go"},
          "timeline": [{"event": "run_started", "ts": "2026-02-12T00:00:00Z"}]},
  "intents": [{"schema_id": "gait.runpack.intent", "schema_version": "1.0.0", "created_at": "2026-02-12T00:00:00Z",
               "producer_version": "0.0.0-dev", "run_id": "run_demo_candidate", "intent_id": "intent_1",
               "tool_name": "tool.write", "args_digest": "1111111111111111111111111111111111111111111111111111111111111111"}],
  "results": [{"schema_id": "gait.runpack.result", "schema_version": "1.0.0", "created_at": "2026-02-12T00:00:00Z",
               "producer_version": "0.0.0-dev", "run_id": "run_demo_candidate", "intent_id": "intent_1",
               "status": "error", "result_digest": "2222222222222222222222222222222222222222222222222222222222222222"}],
  "refs": {"schema_id": "gait.runpack.refs", "schema_version": "1.0.0", "created_at": "2026-02-12T00:00:00Z",
           "producer_version": "0.0.0-dev", "run_id": "run_demo_candidate", "receipts": []},
  "capture_mode": "reference"
}"#;

#[test]
fn forced_drift_candidate_exits_5_with_trajectory_reasons() {
    let dir = fixture_dir();
    let d = dir.path();
    std::fs::write(d.join("fixtures/run_demo/candidate_record.json"), CANDIDATE).unwrap();
    let out = gait(
        d,
        &[
            "run",
            "record",
            "--input",
            "fixtures/run_demo/candidate_record.json",
            "--out-dir",
            "fixtures/run_demo",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let meta_path = d.join("fixtures/run_demo/fixture.json");
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["candidate_runpack"] = Value::String("runpack_run_demo_candidate.zip".into());
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta).unwrap()).unwrap();

    let out = gait(d, &["regress", "run", "--json", "--junit", "junit.xml"]);
    assert_eq!(code(&out), 5);
    let v = json(&out);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["top_failure_reason"], "unexpected_diff");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("regress_result.json")).unwrap())
            .unwrap();
    let traj = r["graders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "run_demo/trajectory")
        .unwrap();
    assert_eq!(
        traj["reason_codes"],
        serde_json::json!(["unexpected_tool_sequence", "unexpected_verdict_sequence"])
    );
    assert_eq!(traj["details"]["tool_sequence_mismatch_index"], 0);
    assert_eq!(
        traj["details"]["tool_sequence_actual_at_mismatch"],
        "tool.write"
    );
    let cases = parse_junit(&std::fs::read_to_string(d.join("junit.xml")).unwrap());
    let failed: Vec<_> = cases
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(failed, ["diff", "trajectory"]);
    assert_eq!(
        cases
            .iter()
            .find(|c| c.name == "trajectory")
            .unwrap()
            .failure
            .as_deref(),
        Some("unexpected_tool_sequence,unexpected_verdict_sequence")
    );
}

#[test]
fn regress_run_is_byte_deterministic() {
    let dir = fixture_dir();
    let d = dir.path();
    let run = |out: &str, junit: &str| {
        let o = gait(
            d,
            &[
                "regress", "run", "--json", "--output", out, "--junit", junit,
            ],
        );
        assert_eq!(code(&o), 0);
        (
            std::fs::read(d.join(out)).unwrap(),
            std::fs::read(d.join(junit)).unwrap(),
        )
    };
    let a = run("a.json", "a.xml");
    let b = run("b.json", "b.xml");
    assert_eq!(a, b);
    // A second fixture in another directory gives the same bytes too.
    let other = fixture_dir();
    let o = gait(
        other.path(),
        &[
            "regress", "run", "--json", "--output", "a.json", "--junit", "a.xml",
        ],
    );
    assert_eq!(code(&o), 0);
    assert_eq!(std::fs::read(other.path().join("a.json")).unwrap(), a.0);
}

#[test]
fn session_chain_sources() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A reference-style chain of one checkpoint: the demo runpack.
    let (code_demo, _) = (code(&gait(d, &["demo", "--json"])), ());
    assert_eq!(code_demo, 0);
    let runpack = d.join("gait-out/runpack_run_demo.zip");
    let v = json(&gait(d, &["verify", "run_demo", "--json"]));
    let manifest = v["manifest_digest"].as_str().unwrap().to_owned();
    let mut chain = gait_pack::runpack::SessionChain::new(
        "sess_cli",
        "run_demo",
        "0.0.0-dev",
        gait_digest::GoTime::from_unix(1_770_249_600, 0),
    );
    chain.push_checkpoint(
        runpack.to_str().unwrap(),
        &manifest,
        1,
        3,
        gait_digest::GoTime::from_unix(1_770_249_601, 0),
    );
    std::fs::write(d.join("chain.json"), chain.to_json_bytes().unwrap()).unwrap();

    let out = gait(d, &["regress", "init", "--from", "chain.json", "--json"]);
    assert_eq!(code(&out), 0, "{}", json(&out));
    let fixture: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("fixtures/run_demo/fixture.json")).unwrap())
            .unwrap();
    assert_eq!(fixture["session_chain"], "chain.json");
    assert_eq!(fixture["checkpoint_index"], 1);
    let out = gait(
        d,
        &[
            "capture",
            "--from",
            "chain.json",
            "--checkpoint",
            "1",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", json(&out));

    // Broken chains and misplaced --checkpoint are invalid input.
    std::fs::write(
        d.join("broken.json"),
        r#"{"schema_id":"gait.runpack.session_chain"}"#,
    )
    .unwrap();
    for args in [
        &["regress", "init", "--from", "broken.json", "--json"][..],
        &["regress", "bootstrap", "--from", "broken.json", "--json"],
        &["regress", "add", "--from", "broken.json", "--json"],
        &[
            "regress",
            "init",
            "--from",
            "chain.json",
            "--checkpoint",
            "7",
            "--json",
        ],
        &[
            "regress",
            "init",
            "--from",
            "run_demo",
            "--checkpoint",
            "latest",
            "--json",
        ],
        &["capture", "--from", "broken.json", "--json"],
    ] {
        let out = gait(d, args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_eq!(v["error_code"], "invalid_input", "{v}");
    }
}

#[test]
fn bad_inputs_exit_6() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&[&str], &str)> = vec![
        (&["regress", "run", "--json"], "gait.yaml"),
        (&["regress", "init", "--json"], "missing required --from"),
        (
            &["regress", "init", "--from", "nope", "--json"],
            "runpack not found",
        ),
        (
            &["regress", "init", "--from", "run_demo", "extra", "--json"],
            "unexpected positional",
        ),
        (&["capture", "--json"], "missing required --from"),
    ];
    for (args, needle) in cases {
        let out = gait(d, args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{args:?}: {v}"
        );
    }
    // A fixture name that does not fit the grammar; a config with unknown fields.
    let fx = fixture_dir();
    let out = gait(
        fx.path(),
        &[
            "regress", "init", "--from", "run_demo", "--name", "Bad Name", "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    std::fs::write(
        fx.path().join("gait.yaml"),
        r#"{"fixture_set":"default","fixtures":[],"extra":1}"#,
    )
    .unwrap();
    let out = gait(fx.path(), &["regress", "run", "--json"]);
    assert_eq!(code(&out), 6);
    assert!(json(&out)["error"].as_str().unwrap().contains("extra"));
}

#[test]
fn capture_then_add_then_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&gait(d, &["demo"])), 0);
    let out = gait(d, &["capture", "--from", "run_demo", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["schema_id"], "gait.capture.receipt");
    assert_eq!(v["artifact_type"], "runpack");
    assert_eq!(v["run_id"], "run_demo");
    assert_eq!(v["output_path"], "gait-out/capture.json");
    let receipt: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("gait-out/capture.json")).unwrap())
            .unwrap();
    assert_eq!(receipt["artifact_path"], "gait-out/runpack_run_demo.zip");
    let out = gait(
        d,
        &[
            "regress",
            "add",
            "--from",
            "gait-out/capture.json",
            "--name",
            "incident-1",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["source"], "gait-out/capture.json");
    assert_eq!(v["fixture_name"], "incident-1");
    assert_eq!(
        v["next_commands"],
        serde_json::json!(["gait regress run --json"])
    );
    let out = gait(d, &["regress", "run", "--json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["graders"], 4);
}

#[test]
fn capture_accepts_a_gate_trace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("p.yaml"), "default_verdict: block\n").unwrap();
    std::fs::write(
        d.join("i.json"),
        r#"{"tool_name":"tool.read","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
    )
    .unwrap();
    let out = gait(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "p.yaml",
            "--intent",
            "i.json",
            "--trace-out",
            "trace.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 3);
    let out = gait(
        d,
        &[
            "capture",
            "--from",
            "trace.json",
            "--out",
            "cap.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["artifact_type"], "trace");
    // A trace receipt cannot become a fixture.
    let out = gait(d, &["regress", "add", "--from", "cap.json", "--json"]);
    assert_eq!(code(&out), 6);
}

/// Runs each command line (`gait …`, simple words only) in `dir`.
fn run_all(dir: &Path, commands: &[Value]) {
    for c in commands {
        let line = c.as_str().unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], "gait", "{line}");
        let out = gait(dir, &words[1..]);
        assert_eq!(
            code(&out),
            0,
            "{line}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn doctor_and_check_next_commands_work_as_printed() {
    // doctor in an empty directory: valid JSON, every next command runs.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = gait(d, &["doctor", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["schema_id"], "gait.doctor.result");
    assert_eq!(v["status"], "warn");
    let next = v["next_commands"].as_array().unwrap().clone();
    assert!(!next.is_empty());
    let fresh = tempfile::tempdir().unwrap();
    run_all(fresh.path(), &next);
    // Fix commands are shell commands that work as printed (gait on PATH).
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_gait"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    for f in v["fix_commands"].as_array().unwrap() {
        let ok = Command::new("sh")
            .arg("-c")
            .arg(f.as_str().unwrap())
            .env("PATH", &path)
            .current_dir(d)
            .status()
            .unwrap();
        assert!(ok.success(), "{f}");
    }
    let after = json(&gait(d, &["doctor", "--json"]));
    assert_eq!(after["status"], "pass", "{after}");

    // check after init in another empty directory.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = gait(d, &["init", "--json"]);
    assert_eq!(code(&out), 0);
    let init = json(&out);
    assert_eq!(init["policy_path"], ".gait.yaml");
    assert_eq!(init["template"], "baseline-highrisk");
    assert_eq!(init["contract"]["regress_config_path"], "gait.yaml");
    let out = gait(d, &["check", "--json"]);
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["default_verdict"], "block");
    assert_eq!(v["contract"]["repo_policy_path"], ".gait.yaml");
    run_all(d, v["next_commands"].as_array().unwrap());
    run_all(d, init["next_commands"].as_array().unwrap());
}

#[test]
fn init_and_check_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(code(&gait(d, &["init"])), 0);
    let out = gait(d, &["init", "--json"]);
    assert_eq!(code(&out), 6);
    assert!(json(&out)["error"].as_str().unwrap().contains("--force"));
    assert_eq!(
        code(&gait(
            d,
            &["init", "--force", "--template", "low", "--json"]
        )),
        0
    );
    let v = json(&gait(d, &["check", "--json"]));
    assert_eq!(v["default_verdict"], "allow");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "policy.default_allow")
    );
    let out = gait(d, &["init", "--template", "nope", "--json"]);
    assert_eq!(code(&out), 6);
    std::fs::write(d.join("bad.yaml"), "default_verdict: maybe\n").unwrap();
    let out = gait(d, &["check", "bad.yaml", "--json"]);
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["policy_path"], "bad.yaml");
    let out = gait(d, &["check", "--policy", "missing.yaml", "--json"]);
    assert_eq!(code(&out), 6);
}

#[test]
fn doctor_production_readiness() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".gait")).unwrap();
    std::fs::create_dir_all(d.join("gait-out")).unwrap();
    let config = "gate:\n  policy: p.yaml\n  profile: oss-prod\n  key_mode: prod\nretention:\n  trace_ttl: 168h\n  session_ttl: 168h\n  export_ttl: 168h\n";
    std::fs::write(d.join(".gait/config.yaml"), config).unwrap();
    std::fs::write(d.join("p.yaml"), "default_verdict: allow\n").unwrap();
    let out = gait(d, &["doctor", "--production-readiness", "--json"]);
    assert_eq!(code(&out), 2);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "production_policy")
        .unwrap();
    assert_eq!(c["status"], "fail");
    assert_eq!(c["scope"], "production_readiness");
    std::fs::write(d.join("p.yaml"), "default_verdict: block\n").unwrap();
    let out = gait(d, &["doctor", "--production-readiness", "--json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    // Without production readiness a failing check does not change the exit.
    std::fs::write(d.join("p.yaml"), "default_verdict: maybe\n").unwrap();
    let out = gait(d, &["doctor", "--json"]);
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["status"], "fail");
}

#[test]
fn gate_eval_reads_project_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".gait")).unwrap();
    std::fs::write(d.join("p.yaml"), "default_verdict: block\n").unwrap();
    std::fs::write(d.join("allow.yaml"), "default_verdict: allow\n").unwrap();
    std::fs::write(
        d.join("i.json"),
        r#"{"tool_name":"tool.read","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
    )
    .unwrap();
    std::fs::write(
        d.join(".gait/config.yaml"),
        "gate:\n  policy: p.yaml\n  trace_path: traces/t.json\n",
    )
    .unwrap();
    // The policy and trace path come from the config.
    let out = gait(d, &["gate", "eval", "--intent", "i.json", "--json"]);
    assert_eq!(code(&out), 3, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["trace_path"], "traces/t.json");
    assert!(d.join("traces/t.json").is_file());
    // A flag wins over the config.
    let out = gait(
        d,
        &[
            "gate",
            "eval",
            "--policy",
            "allow.yaml",
            "--intent",
            "i.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    // --no-config ignores it: no policy then.
    let out = gait(
        d,
        &[
            "gate",
            "eval",
            "--intent",
            "i.json",
            "--no-config",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
    assert_eq!(json(&out)["error"], "missing required --policy");
    // Bad configs are invalid input, never ignored.
    for (text, needle) in [
        ("gate:\n  polcy: p.yaml\n", "polcy"),
        ("gate:\n  policy: p.yaml\n  policy: q.yaml\n", "duplicate"),
        // Applied (issue 12): a configured state that is missing is an
        // error for this low-risk call, never ignored.
        (
            "gate:\n  policy: p.yaml\n  kill_switch_state: ks.json\n",
            "kill switch state not found",
        ),
        (
            "gate:\n  policy: p.yaml\n  credential_broker: vault\n",
            "unsupported credential broker: vault",
        ),
        ("gate:\n  policy: p.yaml\n  profile: oss-prod\n", "oss-prod"),
    ] {
        std::fs::write(d.join(".gait/config.yaml"), text).unwrap();
        let out = gait(d, &["gate", "eval", "--intent", "i.json", "--json"]);
        assert_eq!(code(&out), 6, "{text}");
        let e = json(&out)["error"].as_str().unwrap().to_lowercase();
        assert!(e.contains(needle), "{text}: {e}");
    }
    // An explicit --config must exist.
    let out = gait(
        d,
        &[
            "gate",
            "eval",
            "--intent",
            "i.json",
            "--config",
            "nope.yaml",
            "--json",
        ],
    );
    assert_eq!(code(&out), 6);
}

#[test]
fn gate_eval_takes_key_sources_from_project_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        code(&gait(d, &["keys", "init", "--out-dir", "keys", "--json"])),
        0
    );
    std::fs::create_dir_all(d.join(".gait")).unwrap();
    std::fs::write(d.join("p.yaml"), "default_verdict: allow\n").unwrap();
    std::fs::write(
        d.join("i.json"),
        r#"{"tool_name":"tool.read","args":{},"targets":[],"context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
    )
    .unwrap();
    std::fs::write(
        d.join(".gait/config.yaml"),
        "gate:\n  policy: p.yaml\n  key_mode: prod\n  private_key: keys/gait_private.key\n  trace_path: t.json\n",
    )
    .unwrap();
    let out = gait(d, &["gate", "eval", "--intent", "i.json", "--json"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert!(
        v.get("warnings")
            .is_none_or(|w| !w.to_string().contains("dev")),
        "{v}"
    );
    // The trace verifies with the configured key's public half.
    let out = gait(
        d,
        &[
            "trace",
            "verify",
            "t.json",
            "--public-key",
            "keys/gait_public.key",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["signature_status"], "verified");
}

#[test]
fn version_json() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&gait(dir.path(), &["version", "--json"]));
    assert_eq!(v["ok"], true);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn no_progress_bar_without_a_tty() {
    // stderr is a pipe here: nothing but the result is printed.
    let dir = fixture_dir();
    let out = gait(dir.path(), &["regress", "run"]);
    assert_eq!(code(&out), 0);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
