//! `gait approve` and `gait delegate mint|verify` run as real processes in
//! temporary directories; the tokens they write are checked with
//! `gait-policy`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gait_digest::GoTime;
use gait_policy::token::{
    ApprovalCheck, ApprovalToken, ApprovalTokenCode, DelegationCheck, DelegationToken,
    validate_approval_token, validate_delegation_token,
};
use gait_sign::{Approval, Delegation, KeySource, VerifyingKey};
use serde_json::Value;

const INTENT: &str = "4b53bb79e35105ac9170963ac6f84ed0ed15530c68f06a46fc1233c5ec766913";
const POLICY: &str = "07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9";
const BINDING: &str = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";
const INTEROP_KEY_ID: &str = "76de00d38e986f96f08d0a44fde81d6f7ea11a050eb062eb97b4a15d6c965c08";

fn gait(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gait"))
        .args(args)
        .current_dir(dir)
        .env_remove("GAIT_TEST_KEY")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    serde_json::from_str(text.trim()).unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn assert_envelope(v: &Value, error_code: &str, category: &str) {
    assert_eq!(v["ok"], false);
    assert!(!v["error"].as_str().unwrap().is_empty());
    assert_eq!(v["error_code"], error_code);
    assert_eq!(v["error_category"], category);
    assert_eq!(v["retryable"], false);
    assert!(!v["hint"].as_str().unwrap().is_empty());
    assert_eq!(v["correlation_id"].as_str().unwrap().len(), 24);
}

/// `gait keys init --prefix <prefix>` in `dir/k`; returns the key id.
fn keys(dir: &Path, prefix: &str) -> String {
    let out = gait(
        dir,
        &[
            "keys",
            "init",
            "--out-dir",
            "k",
            "--prefix",
            prefix,
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    json(&out)
        .get("key_id")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

fn public_key<R: gait_sign::Role>(path: &Path) -> VerifyingKey<R> {
    KeySource::Path(path.to_path_buf())
        .load_verifying()
        .unwrap()
}

fn data(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn approve_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "approve",
        "--intent-digest",
        INTENT,
        "--policy-digest",
        POLICY,
        "--ttl",
        "1h",
        "--scope",
        "tool:tool.write",
        "--approver",
        "alice@example.com",
        "--reason-code",
        "change_ticket_42",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn approve_prod_token_validates() {
    let dir = tempfile::tempdir().unwrap();
    let key_id = keys(dir.path(), "approver");
    let before = GoTime::now_utc();
    let out = gait(
        dir.path(),
        &[
            "approve",
            "--intent-digest",
            &INTENT.to_uppercase(),
            "--policy-digest",
            POLICY,
            "--delegation-binding-digest",
            BINDING,
            "--ttl",
            "1h30m",
            "--scope",
            " Tool:tool.write, phase:apply,,destructive:apply ",
            "--approver",
            " alice@example.com ",
            "--reason-code",
            "change_ticket_42",
            "--max-targets",
            "2",
            "--max-ops",
            "3",
            "--key-mode",
            "prod",
            "--private-key",
            "k/approver_private.key",
            "--out",
            "tokens/approval.json",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["token_path"], "tokens/approval.json");
    assert_eq!(v["reason_code"], "change_ticket_42");
    assert_eq!(
        v["scope"],
        serde_json::json!(["destructive:apply", "phase:apply", "tool:tool.write"])
    );
    assert_eq!(v["max_targets"], 2);
    assert_eq!(v["max_ops"], 3);
    assert_eq!(v["key_id"], key_id.as_str());
    assert_eq!(v["description"], "signed approval token created");
    assert!(v.get("warnings").is_none(), "prod mode has no warnings");
    let expected_keys = [
        "correlation_id",
        "description",
        "expires_at",
        "key_id",
        "max_ops",
        "max_targets",
        "ok",
        "reason_code",
        "scope",
        "token_id",
        "token_path",
    ];
    assert_eq!(
        v.as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        expected_keys
    );

    let path = dir.path().join("tokens/approval.json");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.ends_with(b"}\n"));
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("tokens")), 0o750);
    }
    let token = ApprovalToken::from_json_slice(&bytes).unwrap();
    assert_eq!(
        token.to_pretty_json(),
        bytes,
        "written as the reference writes it"
    );
    assert_eq!(v["token_id"], token.token_id.as_str());
    assert_eq!(token.intent_digest, INTENT);
    assert_eq!(token.approver_identity, "alice@example.com");
    assert_eq!(token.delegation_binding_digest, BINDING);
    assert_eq!(token.producer_version, env!("CARGO_PKG_VERSION"));
    // Expiry: created_at + 1h30m, printed in seconds precision.
    assert_eq!(
        token.expires_at.unix_nanos() - token.created_at.unix_nanos(),
        5_400_000_000_000
    );
    assert!(
        !token
            .created_at
            .is_before(&GoTime::from_unix(before.unix_seconds(), 0))
    );
    assert_eq!(v["expires_at"], token.expires_at.format_rfc3339());
    assert!(
        v["expires_at"].as_str().unwrap().ends_with('Z')
            && !v["expires_at"].as_str().unwrap().contains('.')
    );

    let vk = public_key::<Approval>(&dir.path().join("k/approver_public.key"));
    let check = ApprovalCheck {
        now: GoTime::now_utc(),
        expected_intent_digest: INTENT.into(),
        expected_policy_digest: POLICY.into(),
        expected_delegation_binding_digest: BINDING.into(),
        required_scope: vec![
            "tool:tool.write".into(),
            "phase:apply".into(),
            "destructive:apply".into(),
        ],
        target_count: 2,
        operation_count: 3,
    };
    validate_approval_token(&token, Some(&vk), &check).unwrap();
    let mut too_many = check.clone();
    too_many.target_count = 3;
    assert_eq!(
        validate_approval_token(&token, Some(&vk), &too_many)
            .unwrap_err()
            .code,
        ApprovalTokenCode::MaxTargetsExceeded
    );
    let mut later = check.clone();
    later.now = token.expires_at;
    assert_eq!(
        validate_approval_token(&token, Some(&vk), &later)
            .unwrap_err()
            .code,
        ApprovalTokenCode::Expired
    );
    let other = keys(dir.path(), "other");
    assert_ne!(other, key_id);
    let wrong = public_key::<Approval>(&dir.path().join("k/other_public.key"));
    assert_eq!(
        validate_approval_token(&token, Some(&wrong), &check)
            .unwrap_err()
            .code,
        ApprovalTokenCode::SignatureInvalid
    );
}

#[test]
fn approve_dev_mode_warns_and_uses_default_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &approve_args(&[]));
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_sign::DEV_MODE_WARNING])
    );
    assert!(
        v.get("max_targets").is_none() && v.get("max_ops").is_none(),
        "zero bounds are omitted"
    );
    let id = v["token_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    let path = format!("approval_{id}.json");
    assert_eq!(v["token_path"], path.as_str());
    let token =
        ApprovalToken::from_json_slice(&std::fs::read(dir.path().join(&path)).unwrap()).unwrap();
    assert_eq!(v["key_id"], token.signature.unwrap().key_id.as_str());

    // Text mode: one line on stdout, the warning on stderr.
    let mut args = approve_args(&[]);
    args.retain(|a| *a != "--json");
    let out = gait(dir.path(), &args);
    assert_eq!(code(&out), 0);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("approval token created: approval_"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("dev mode"));
}

#[test]
fn approve_out_is_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("token.json");
    std::fs::write(&target, "old\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = gait(dir.path(), &approve_args(&["--out", "token.json"]));
    assert_eq!(code(&out), 0);
    let first = std::fs::read(&target).unwrap();
    assert!(ApprovalToken::from_json_slice(&first).is_ok());
    #[cfg(unix)]
    assert_eq!(mode(&target), 0o600, "a replaced token is private again");
    let out = gait(dir.path(), &approve_args(&["--out", "token.json"]));
    assert_eq!(code(&out), 0);
    assert_ne!(std::fs::read(&target).unwrap(), first);
    // Only the token: no temporary leftovers.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // A symlink at the token path is replaced, not written through.
    #[cfg(unix)]
    {
        std::fs::write(dir.path().join("victim.txt"), "keep\n").unwrap();
        std::os::unix::fs::symlink("victim.txt", dir.path().join("link.json")).unwrap();
        let out = gait(dir.path(), &approve_args(&["--out", "link.json"]));
        assert_eq!(code(&out), 0);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("victim.txt")).unwrap(),
            "keep\n"
        );
        assert!(
            std::fs::symlink_metadata(dir.path().join("link.json"))
                .unwrap()
                .is_file()
        );
    }
}

#[test]
fn approve_invalid_input_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    keys(dir.path(), "approver");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            approve_args(&["--ttl", "1d"]),
            "invalid --ttl, expected positive duration",
        ),
        (
            approve_args(&["--ttl", "-1h"]),
            "invalid --ttl, expected positive duration",
        ),
        (
            approve_args(&["--ttl", "0"]),
            "invalid --ttl, expected positive duration",
        ),
        (
            vec!["approve", "--scope", "x", "--json"],
            "invalid --ttl, expected positive duration",
        ),
        (approve_args(&["--scope", " , "]), "scope is required"),
        (
            approve_args(&["--intent-digest", "abc"]),
            "intent_digest must be sha256 hex",
        ),
        (
            approve_args(&["--delegation-binding-digest", "xyz"]),
            "delegation_binding_digest must be sha256 hex when set",
        ),
        (
            approve_args(&["--approver", " "]),
            "approver identity is required",
        ),
        (
            approve_args(&["--reason-code", ""]),
            "reason code is required",
        ),
        (approve_args(&["--max-ops", "-1"]), "max_ops must be >= 0"),
        (
            approve_args(&["--key-mode", "staging"]),
            "unsupported key mode: staging",
        ),
        (
            approve_args(&["--private-key", "k/approver_private.key"]),
            "dev mode does not accept explicit key sources",
        ),
        (
            approve_args(&["--key-mode", "prod"]),
            "prod mode requires a private key source",
        ),
        (
            approve_args(&["--key-mode", "prod", "--private-key", "k/missing.key"]),
            "k/missing.key",
        ),
    ];
    for (args, message) in cases {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_envelope(&v, "invalid_input", "invalid_input");
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{args:?}: {v}"
        );
    }
    for args in [
        approve_args(&["--max-targets", "many"]),
        approve_args(&["extra"]),
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        assert_envelope(&json(&out), "invalid_input", "invalid_input");
    }
    // Nothing was written.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Text mode: the error goes to stderr.
    let out = gait(dir.path(), &["approve", "--ttl", "soon"]);
    assert_eq!(code(&out), 6);
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("approve error: invalid --ttl"));
}

fn mint_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "delegate",
        "mint",
        "--delegator",
        "lead-agent",
        "--delegate",
        "worker-agent",
        "--scope",
        "tool:tool.write",
        "--scope-class",
        "Write",
        "--ttl",
        "2h",
        "--json",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn delegate_mint_then_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key_id = keys(dir.path(), "delegation");
    keys(dir.path(), "other");
    let out = gait(
        dir.path(),
        &mint_args(&[
            "--intent-digest",
            INTENT,
            "--key-mode",
            "prod",
            "--private-key",
            "k/delegation_private.key",
            "--out",
            "d/token.json",
        ]),
    );
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["token_path"], "d/token.json");
    assert_eq!(v["delegator_identity"], "lead-agent");
    assert_eq!(v["delegate_identity"], "worker-agent");
    assert_eq!(v["scope"], serde_json::json!(["tool:tool.write"]));
    assert_eq!(v["scope_class"], "write");
    assert_eq!(v["key_id"], key_id.as_str());
    assert_eq!(v["description"], "signed delegation token created");
    assert!(v.get("warnings").is_none());
    let token_id = v["token_id"].as_str().unwrap().to_owned();

    let bytes = std::fs::read(dir.path().join("d/token.json")).unwrap();
    #[cfg(unix)]
    assert_eq!(mode(&dir.path().join("d/token.json")), 0o600);
    let token = DelegationToken::from_json_slice(&bytes).unwrap();
    assert_eq!(token.token_id, token_id);
    assert_eq!(v["expires_at"], token.expires_at.format_rfc3339());
    let vk = public_key::<Delegation>(&dir.path().join("k/delegation_public.key"));
    let check = DelegationCheck {
        now: GoTime::now_utc(),
        expected_delegator: "lead-agent".into(),
        expected_delegate: "worker-agent".into(),
        required_scope: vec!["write".into()],
        expected_intent_digest: INTENT.into(),
        expected_policy_digest: POLICY.into(),
    };
    validate_delegation_token(&token, Some(&vk), &check).unwrap();

    let verify = |extra: &[&str]| {
        let mut args = vec!["delegate", "verify", "--token", "d/token.json", "--json"];
        args.extend_from_slice(extra);
        gait(dir.path(), &args)
    };
    for keys in [
        &["--public-key", "k/delegation_public.key"][..],
        &["--private-key", "k/delegation_private.key"],
        &[
            "--public-key",
            "k/delegation_public.key",
            "--delegator",
            "lead-agent",
            "--delegate",
            "worker-agent",
            "--scope",
            "other,write",
            "--intent-digest",
            INTENT,
            "--policy-digest",
            POLICY,
        ],
    ] {
        let out = verify(keys);
        assert_eq!(
            code(&out),
            0,
            "{keys:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = json(&out);
        assert_eq!(v["ok"], true);
        assert_eq!(v["token_id"], token_id.as_str());
        assert_eq!(v["key_id"], key_id.as_str());
        assert_eq!(v["description"], "delegation token verified");
    }

    for (extra, error_code) in [
        (
            &["--public-key", "k/other_public.key"][..],
            "delegation_token_signature_invalid",
        ),
        (
            &[
                "--public-key",
                "k/delegation_public.key",
                "--delegator",
                "someone",
            ],
            "delegation_token_delegator_mismatch",
        ),
        (
            &[
                "--public-key",
                "k/delegation_public.key",
                "--delegate",
                "someone",
            ],
            "delegation_token_delegate_mismatch",
        ),
        (
            &[
                "--public-key",
                "k/delegation_public.key",
                "--scope",
                "deploy",
            ],
            "delegation_token_scope_mismatch",
        ),
        (
            &[
                "--public-key",
                "k/delegation_public.key",
                "--intent-digest",
                BINDING,
            ],
            "delegation_token_intent_mismatch",
        ),
    ] {
        let out = verify(extra);
        assert_eq!(code(&out), 2, "{extra:?}");
        let v = json(&out);
        assert_envelope(&v, error_code, "verification_failed");
        assert_eq!(v["token_id"], token_id.as_str());
        assert_eq!(v["token_path"], "d/token.json");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{error_code}: "))
        );
    }

    // Text mode.
    let out = gait(
        dir.path(),
        &[
            "delegate",
            "verify",
            "--token",
            "d/token.json",
            "--public-key",
            "k/delegation_public.key",
        ],
    );
    assert_eq!(code(&out), 0);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "delegation token ok: d/token.json\n"
    );
    let out = gait(
        dir.path(),
        &[
            "delegate",
            "verify",
            "--token",
            "d/token.json",
            "--public-key",
            "k/other_public.key",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("delegate error: delegation_token_signature_invalid")
    );
}

#[test]
fn delegate_mint_dev_mode_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = gait(dir.path(), &mint_args(&[]));
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(
        v["warnings"],
        serde_json::json!([gait_sign::DEV_MODE_WARNING])
    );
    let path = format!("delegation_{}.json", v["token_id"].as_str().unwrap());
    assert_eq!(v["token_path"], path.as_str());
    assert!(dir.path().join(&path).is_file());

    for (args, message) in [
        (
            mint_args(&["--ttl", "forever"]),
            "invalid --ttl, expected positive duration",
        ),
        (mint_args(&["--scope", ""]), "scope is required"),
        (
            mint_args(&["--delegate", " "]),
            "delegator and delegate identities are required",
        ),
        (
            mint_args(&["--policy-digest", "nope"]),
            "policy_digest must be sha256 hex when set",
        ),
        (
            mint_args(&["--key-mode", "prod"]),
            "prod mode requires a private key source",
        ),
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_envelope(&v, "invalid_input", "invalid_input");
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{args:?}: {v}"
        );
    }
}

#[test]
fn interop_delegation_token() {
    let dir = tempfile::tempdir().unwrap();
    let token = data("tests/data/delegation_token.json");
    let out = gait(
        dir.path(),
        &[
            "delegate",
            "verify",
            "--token",
            &token,
            "--public-key",
            &data("../gait-sign/tests/data/approval_public.key"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["key_id"], INTEROP_KEY_ID);
    assert_eq!(v["token_id"], "5d43c3087e100f4e508bb896");
    assert_eq!(v["delegator_identity"], "lead-agent");
    assert_eq!(v["delegate_identity"], "worker-agent");
    assert_eq!(v["scope_class"], "write");
    assert_eq!(v["expires_at"], "2036-11-22T17:18:34Z");

    let out = gait(
        dir.path(),
        &[
            "delegate",
            "verify",
            "--token",
            &token,
            "--public-key",
            &data("../gait-sign/tests/data/other_public.key"),
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    let v = json(&out);
    assert_envelope(
        &v,
        "delegation_token_signature_invalid",
        "verification_failed",
    );
    assert_eq!(v["token_id"], "5d43c3087e100f4e508bb896");
}

#[test]
fn delegate_verify_unreadable_input_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    keys(dir.path(), "k");
    std::fs::write(dir.path().join("garbage.json"), "{not json").unwrap();
    std::fs::write(
        dir.path().join("dup.json"),
        r#"{"token_id":"a","token_id":"b"}"#,
    )
    .unwrap();
    let pk = "k/k_public.key";
    for (args, message) in [
        (
            vec!["delegate", "verify", "--public-key", pk, "--json"],
            "--token is required",
        ),
        (
            vec![
                "delegate",
                "verify",
                "--token",
                "missing.json",
                "--public-key",
                pk,
                "--json",
            ],
            "read delegation token missing.json",
        ),
        (
            vec![
                "delegate",
                "verify",
                "--token",
                "garbage.json",
                "--public-key",
                pk,
                "--json",
            ],
            "parse delegation token",
        ),
        (
            vec![
                "delegate",
                "verify",
                "--token",
                "dup.json",
                "--public-key",
                pk,
                "--json",
            ],
            "parse delegation token",
        ),
        (
            vec!["delegate", "verify", "--token", "garbage.json", "--json"],
            "public key not configured",
        ),
        (
            vec![
                "delegate",
                "verify",
                "--token",
                "garbage.json",
                "--public-key",
                "k/none.key",
                "--json",
            ],
            "k/none.key",
        ),
    ] {
        let out = gait(dir.path(), &args);
        assert_eq!(code(&out), 6, "{args:?}");
        let v = json(&out);
        assert_envelope(&v, "invalid_input", "invalid_input");
        assert!(
            v["error"].as_str().unwrap().contains(message),
            "{args:?}: {v}"
        );
    }
    // A token that parses but is not valid is a verification failure.
    std::fs::write(dir.path().join("empty.json"), "{}").unwrap();
    let out = gait(
        dir.path(),
        &[
            "delegate",
            "verify",
            "--token",
            "empty.json",
            "--public-key",
            pk,
            "--json",
        ],
    );
    assert_eq!(code(&out), 2);
    assert_eq!(json(&out)["error_code"], "delegation_token_invalid");
    // No subcommand: usage, exit 6.
    assert_eq!(code(&gait(dir.path(), &["delegate"])), 6);
}

#[test]
fn explain_texts() {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for args in [
        &["approve", "--explain"][..],
        &["delegate", "--explain"],
        &["delegate", "mint", "--explain"],
        &["delegate", "verify", "--token", "x", "--explain"],
    ] {
        let out = gait(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.starts_with("Gait is"), "{args:?} has its own text");
        assert!(seen.insert(text), "{args:?} repeats another command's text");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "--explain must not act"
    );
}
