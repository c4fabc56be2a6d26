//! `gait approve-script`, `gait list-scripts` and `gait registry
//! install|list|verify` run as real processes in temporary directories,
//! including each fail-closed rule (exit codes of spec §10).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

mod common;
use common::{exit_code as code, json_line as json, run_in as gait};

use std::path::{Path, PathBuf};
use std::process::Output;

use gait_sign::{Approval, SigningKey};
use serde_json::Value;

const DIGEST: &str = "d8c229d08d121224312789378982e835218dc44f87c0a9e7bfe48d9728de593e";

fn policy_data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gait-policy/tests/data")
        .join(sub)
}

/// A temporary directory holding the script vectors, the registry
/// vectors and a fresh approval key pair (0600 private key).
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["scripts", "pack_registry"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(policy_data(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    let key = SigningKey::<Approval>::generate().unwrap();
    let private = dir.path().join("approval_private.key");
    std::fs::write(&private, key.to_private_text().as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        dir.path().join("approval_public.key"),
        key.verifying_key().to_public_text(),
    )
    .unwrap();
    dir
}

const APPROVE: &[&str] = &[
    "approve-script",
    "--policy",
    "scripts/policy.yaml",
    "--intent",
    "scripts/intent_script.json",
    "--registry",
    "out/reg.json",
    "--approver",
    "secops@example.com",
    "--ttl",
    "24h",
    "--scope",
    "risk:high",
    "--key-mode",
    "prod",
    "--private-key",
    "approval_private.key",
    "--json",
];

fn with(replace: &[(usize, &'static str)], extra: &[&'static str]) -> Vec<&'static str> {
    let mut args: Vec<&'static str> = APPROVE.to_vec();
    for (i, v) in replace {
        args[*i] = v;
    }
    args.extend(extra);
    args
}

fn gate_eval(dir: &Path, registry: &str, key: &str, intent: &str) -> Output {
    gait(
        dir,
        &[
            "gate",
            "eval",
            "--policy",
            "scripts/policy.yaml",
            "--intent",
            intent,
            "--no-config",
            "--approved-script-registry",
            registry,
            "--approved-script-public-key",
            key,
            "--json",
        ],
    )
}

#[test]
fn approve_script_then_list_then_gate_allows() {
    let ws = workspace();
    let dir = ws.path();
    let out = gait(dir, APPROVE);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["pattern_id"], "pattern_04deb2150a5f");
    assert_eq!(
        v["tool_sequence"],
        serde_json::json!(["tool.read", "tool.write"])
    );
    assert_eq!(v["registry_path"], "out/reg.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("out/reg.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let listed = gait(
        dir,
        &["list-scripts", "--registry", "out/reg.json", "--json"],
    );
    assert_eq!(code(&listed), 0);
    let l = json(&listed);
    assert_eq!(l["count"], 1);
    assert_eq!(l["entries"][0]["expired"], false);

    let allow = gate_eval(
        dir,
        "out/reg.json",
        "approval_public.key",
        "scripts/intent_script.json",
    );
    assert_eq!(code(&allow), 0);
    let a = json(&allow);
    assert_eq!(a["verdict"], "allow");
    assert_eq!(
        a["reason_codes"],
        serde_json::json!(["approved_script_match"])
    );
    // Another key: the high-risk call fails closed (exit 3).
    let other = gate_eval(
        dir,
        "out/reg.json",
        "scripts/approval_public.key",
        "scripts/intent_script.json",
    );
    assert_eq!(code(&other), 3);

    // A second approval with another pattern is upserted.
    let mut second: Vec<&str> = APPROVE.to_vec();
    second[4] = "scripts/intent_script_other.json";
    second.extend(["--pattern-id", "pattern_other"]);
    assert_eq!(code(&gait(dir, &second)), 0);
    let l = json(&gait(
        dir,
        &["list-scripts", "--registry", "out/reg.json", "--json"],
    ));
    assert_eq!(l["count"], 2);
}

#[test]
fn approve_script_refusals_exit_6_and_write_nothing() {
    let ws = workspace();
    let dir = ws.path();
    let cases: Vec<Vec<&str>> = vec![
        // Not a script.
        with(&[(4, "scripts/intent_plain.json")], &[]),
        // Missing approver.
        with(&[(8, " ")], &[]),
        // Bad ttl.
        with(&[(10, "-1h")], &[]),
        with(&[(10, "soon")], &[]),
        // Dev mode with an explicit key.
        with(&[(14, "dev")], &[]),
        // Positional arguments.
        with(&[], &["extra"]),
        // A private key readable by others is refused (not loosened).
        with(&[(16, "world_readable.key")], &[]),
    ];
    std::fs::copy(
        dir.join("approval_private.key"),
        dir.join("world_readable.key"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.join("world_readable.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    for args in cases {
        let out = gait(dir, &args);
        assert_eq!(
            code(&out),
            6,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["ok"], false);
        assert!(
            !dir.join("out/reg.json").exists(),
            "{args:?} wrote the registry"
        );
    }
    // A corrupt registry is refused and left as it is.
    let before = std::fs::read(dir.join("scripts/registry_not_array.json")).unwrap();
    let out = gait(dir, &with(&[(6, "scripts/registry_not_array.json")], &[]));
    assert_eq!(code(&out), 6);
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .contains("entries must be an array")
    );
    assert_eq!(
        std::fs::read(dir.join("scripts/registry_not_array.json")).unwrap(),
        before
    );
}

#[test]
fn approve_script_dev_mode_warns() {
    let ws = workspace();
    let dir = ws.path();
    let out = gait(
        dir,
        &[
            "approve-script",
            "--policy",
            "scripts/policy.yaml",
            "--intent",
            "scripts/intent_script.json",
            "--registry",
            "out/reg.json",
            "--approver",
            "x",
        ],
    );
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: dev mode"));
}

#[test]
fn list_scripts_shapes() {
    let ws = workspace();
    let dir = ws.path();
    let l = json(&gait(
        dir,
        &[
            "list-scripts",
            "--registry",
            "scripts/registry_two.json",
            "--json",
        ],
    ));
    assert_eq!(l["count"], 2);
    assert_eq!(l["entries"][1]["expired"], true);
    let missing = json(&gait(
        dir,
        &["list-scripts", "--registry", "nope.json", "--json"],
    ));
    assert_eq!(missing["ok"], true);
    assert!(missing.get("entries").is_none());
    let bad = gait(
        dir,
        &[
            "list-scripts",
            "--registry",
            "scripts/registry_not_array.json",
            "--json",
        ],
    );
    assert_eq!(code(&bad), 6);
    let text = gait(
        dir,
        &["list-scripts", "--registry", "scripts/registry_two.json"],
    );
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("list-scripts: 2 entries in scripts/registry_two.json"));
    assert!(stdout.contains("(expired)"));
}

#[test]
fn gate_fails_closed_on_an_expired_or_tampered_entry() {
    let ws = workspace();
    let dir = ws.path();
    let key = "scripts/approval_public.key";
    let intent = "scripts/intent_script.json";
    assert_eq!(
        code(&gate_eval(dir, "scripts/registry.json", key, intent)),
        0
    );
    for reg in [
        "scripts/registry_two.json",
        "scripts/registry_tool_added.json",
        "scripts/registry_expiry_extended.json",
    ] {
        let out = gate_eval(dir, reg, key, intent);
        assert_eq!(code(&out), 3, "{reg}");
        assert_eq!(json(&out)["ok"], false, "{reg}");
    }
    // Low risk: the fast path is off with a warning, evaluation continues.
    let low = gate_eval(
        dir,
        "scripts/registry_two.json",
        key,
        "scripts/intent_script_low.json",
    );
    assert_ne!(code(&low), 3);
}

fn install(dir: &Path, source: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "registry",
        "install",
        "--source",
        source,
        "--cache-dir",
        "out/cache",
        "--public-key",
        "pack_registry/registry_public.key",
        "--json",
    ];
    args.extend(extra);
    gait(dir, &args)
}

#[test]
fn registry_install_list_verify() {
    let ws = workspace();
    let dir = ws.path();
    let out = install(dir, "pack_registry/pack_signed.json", &[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["digest"], DIGEST);
    assert_eq!(v["publisher"], "acme");
    let meta = format!("out/cache/baseline-policy/1.2.0/{DIGEST}/registry_pack.json");
    assert_eq!(v["metadata_path"], meta.as_str());
    assert_eq!(
        std::fs::read_to_string(dir.join("out/cache/pins/baseline-policy.pin")).unwrap(),
        format!("sha256:{DIGEST}\n")
    );
    let l = json(&gait(
        dir,
        &["registry", "list", "--cache-dir", "out/cache", "--json"],
    ));
    assert_eq!(l["packs"][0]["pin_verified"], true);
    let verify = |key: &str, extra: &[&str]| {
        let mut args = vec![
            "registry",
            "verify",
            "--path",
            &meta,
            "--public-key",
            key,
            "--json",
        ];
        args.extend(extra);
        gait(dir, &args)
    };
    let ok = verify(
        "pack_registry/registry_public.key",
        &["--report-out", "out/report.json"],
    );
    assert_eq!(code(&ok), 0);
    assert_eq!(json(&ok)["pin_verified"], true);
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/report.json")).unwrap()).unwrap();
    assert_eq!(report["status"], "pass");
    let wrong = verify("pack_registry/registry_other_public.key", &[]);
    assert_eq!(code(&wrong), 2);
    assert_eq!(json(&wrong)["ok"], false);
    let denied = verify(
        "pack_registry/registry_public.key",
        &[
            "--publisher-allowlist",
            "nobody",
            "--report-out",
            "out/r2.json",
        ],
    );
    assert_eq!(code(&denied), 2);
    let r2: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/r2.json")).unwrap()).unwrap();
    assert_eq!(
        r2["failure_reasons"],
        serde_json::json!(["publisher_not_allowed"])
    );
    // No key: exit 6.
    let nokey = gait(dir, &["registry", "verify", "--path", &meta, "--json"]);
    assert_eq!(code(&nokey), 6);
    // A tampered cached copy fails verification.
    let text = std::fs::read_to_string(dir.join(&meta))
        .unwrap()
        .replace("\"use_case\":\"ci\"", "\"use_case\":\"prod\"");
    std::fs::write(dir.join(&meta), text).unwrap();
    assert_eq!(code(&verify("pack_registry/registry_public.key", &[])), 2);
}

#[test]
fn registry_install_refusals() {
    let ws = workspace();
    let dir = ws.path();
    // No key: 6, before anything is read.
    let nokey = gait(
        dir,
        &[
            "registry",
            "install",
            "--source",
            "pack_registry/pack_signed.json",
            "--cache-dir",
            "out/cache",
            "--json",
        ],
    );
    assert_eq!(code(&nokey), 6);
    let zeros = format!("sha256:{}", "0".repeat(64));
    let refused: Vec<(&str, Vec<&str>)> = vec![
        ("pack_registry/pack_unsigned.json", vec![]),
        ("pack_registry/pack_other_key.json", vec![]),
        ("pack_registry/pack_signed_raw_case.json", vec![]),
        ("pack_registry/pack_signed.json", vec!["--pin", &zeros]),
        (
            "pack_registry/pack_signed.json",
            vec!["--publisher-allowlist", "other"],
        ),
        ("pack_registry/pack_name_traversal.json", vec![]),
        ("pack_registry/pack_bad_schema.json", vec![]),
        ("pack_registry/pack_skill_no_publisher.json", vec![]),
        ("pack_registry/nope.json", vec![]),
        ("file://pack_registry/pack_signed.json", vec![]),
        ("https://registry.example.com/p.json", vec![]),
        (
            "https://registry.example.com/p.json",
            vec!["--allow-host", "other.example.com"],
        ),
        (
            "http://registry.example.com/p.json",
            vec!["--allow-host", "registry.example.com"],
        ),
        (
            "https://registry.example.com/p.json",
            vec![
                "--allow-host",
                "registry.example.com",
                "--allow-cached-fallback",
            ],
        ),
    ];
    for (source, extra) in refused {
        let out = install(dir, source, &extra);
        assert_eq!(
            code(&out),
            2,
            "{source} {extra:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(json(&out)["ok"], false);
        assert!(
            !dir.join("out/cache").exists(),
            "{source} {extra:?} wrote the cache"
        );
        assert!(!dir.join("out/escaped").exists());
    }
    // The flags `--allow-cached-fallback` and `--allow-insecure-http` are
    // booleans: they do not swallow the next argument (reference D4).
    let pin = format!("sha256:{DIGEST}");
    assert_eq!(
        code(&install(dir, "pack_registry/pack_signed.json", &[])),
        0
    );
    let out = install(
        dir,
        "https://registry.example.com/p.json",
        &[
            "--allow-cached-fallback",
            "--pin",
            &pin,
            "--allow-host",
            "registry.example.com",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(json(&out)["fallback_used"], true);
}
