#![allow(clippy::unwrap_used, reason = "tests")]

use super::*;

/// The intent of conformance case ctl-brk-004 (copied).
const INTENT_004: &str = r#"{"schema_id":"gait.gate.intent_request","schema_version":"1.0.0",
"created_at":"2026-01-12T08:00:00Z","producer_version":"conformance","tool_name":"db.update",
"args":{"path":"/repo/src/a/y.json"},
"targets":[{"kind":"path","value":"/repo/src/a/y.json","operation":"write"}],
"context":{"identity":"erin@corp","workspace":"/repo/app","risk_class":"low","run_id":"run-171",
"job_id":"job:alpha:7","session_id":"sess-18","request_id":"req-381"}}"#;

fn request_004() -> BrokerRequest {
    let intent = Intent::from_json_str(INTENT_004).unwrap();
    BrokerRequest::build(
        &intent,
        "github-token",
        &["packages:read".into(), "repo:read".into()],
        &BrokerOverrides::default(),
    )
}

#[test]
fn request_digest_matches_the_reference_vector() {
    let q = request_004();
    assert_eq!(
        q.target_binding,
        "02e26b4d4e265180b3b93a1f08808211d631c3092a147a29bc7ba5402f2828d5"
    );
    assert_eq!(
        q.digest(),
        "e228aca4e2c63c33b01364d0bc02152e86f2793e076be6d5dfad3a801921fca4"
    );
    assert_eq!(
        StubBroker::credential_ref(&q),
        "stub:4ae7a2bdb3872c485a0adb70"
    );
}

#[test]
fn request_digest_is_jcs_of_the_ten_go_fields() {
    // The example request of the spec (§3.3), with a full target binding.
    let q = BrokerRequest {
        tool_name: " Tool.Write ".into(),
        identity: "alice".into(),
        workspace: "/repo/app".into(),
        session_id: "s1".into(),
        request_id: String::new(),
        run_id: "run-1".into(),
        job_id: "job-1".into(),
        reference: "github-token".into(),
        scope: vec!["repo:read".into(), "Repo:Write".into(), "repo:write".into()],
        target_binding: "7b52".into(),
    };
    let canon = gait_digest::canonical::to_vec(&q.normalized().to_json());
    let expected = r#"{"Identity":"alice","JobID":"job-1","Reference":"github-token","RequestID":"","RunID":"run-1","Scope":["repo:read","repo:write"],"SessionID":"s1","TargetBinding":"7b52","ToolName":"tool.write","Workspace":"/repo/app"}"#;
    assert_eq!(String::from_utf8(canon).unwrap(), expected);
    assert_eq!(
        q.digest(),
        gait_digest::sha256(expected.as_bytes()).to_hex()
    );
}

#[test]
fn env_names_are_derived_as_specified() {
    assert_eq!(env_name("github-token"), "GITHUB_TOKEN");
    assert_eq!(env_name("team.Deploy-key v2"), "TEAM_DEPLOY_KEY_V2");
    assert_eq!(env_name("a..b  c"), "A__B_C");
    assert_eq!(env_name("alpha,zeta"), "ALPHA_ZETA");
    assert_eq!(env_name(" ** "), "DEFAULT");
}

#[test]
fn env_broker_keeps_only_a_hash_prefix() {
    let lookup: EnvLookup = Arc::new(|k: &str| {
        (k == "GAIT_BROKER_TOKEN_GITHUB_TOKEN").then(|| " s3cr3t-value ".to_owned())
    });
    let b = EnvBroker::with_lookup("", lookup);
    let q = request_004();
    let issued = issue(&b, &q, GoTime::now_utc()).unwrap();
    let r = &issued.response;
    let hash = gait_digest::sha256(b"s3cr3t-value").to_hex();
    assert_eq!(
        r.credential_ref,
        format!("env:GAIT_BROKER_TOKEN_GITHUB_TOKEN:{}", &hash[..16])
    );
    assert!(!format!("{issued:?}").contains("s3cr3t"));
    let record = serde_json::to_string(&issued.evidence_record("t", GoTime::ZERO, "x")).unwrap();
    assert!(!record.contains("s3cr3t"));
    assert_eq!(
        (r.source.as_str(), r.access_type.as_str()),
        ("env", "unknown")
    );
    // Missing or blank: an issue error naming the variable only.
    let none = EnvBroker::with_lookup("MY_", Arc::new(|_: &str| Some("  ".to_owned())));
    assert_eq!(
        issue(&none, &q, GoTime::now_utc()).unwrap_err(),
        BrokerError::Unavailable("MY_GITHUB_TOKEN".into())
    );
}

fn policy(extra: &str) -> Policy {
    Policy::from_yaml_str(&format!(
        "default_verdict: block\nrules:\n  - name: brokered\n    effect: allow\n    require_broker_credential: true\n    broker_scopes: [repo:read]\n{extra}"
    ))
    .unwrap()
}

fn stub_issued() -> (IssuedCredential, Intent) {
    let intent = Intent::from_json_str(INTENT_004).unwrap();
    let q = request_004();
    (issue(&StubBroker, &q, GoTime::now_utc()).unwrap(), intent)
}

#[test]
fn receipt_checks_find_every_mismatch() {
    let (mut issued, intent) = stub_issued();
    let p = policy("    max_credential_ttl_seconds: 60\n    require_jit_credential: true\n");
    assert_eq!(
        check_receipt(&p, "brokered", &issued, &intent),
        ["broker_ttl_exceeded"]
    );
    // A receipt for other targets, runs and jobs, without the scope,
    // answering another request, standing.
    let r = &mut issued.response;
    r.target_binding = "0".repeat(64);
    r.run_binding = "run-other".into();
    r.job_binding = "job-other".into();
    r.scope = vec!["packages:read".into()];
    r.request_digest = "f".repeat(64);
    r.access_type = "standing".into();
    r.ttl_seconds = 30;
    let p = policy(
        "    block_standing_credentials: true\n    require_jit_credential: true\n    allowed_credential_sources: [vault_dynamic]\n    allowed_credential_issuers: [vault.corp]\n    allowed_credential_access_types: [jit]\n",
    );
    assert_eq!(
        check_receipt(&p, "brokered", &issued, &intent),
        [
            "broker_job_binding_mismatch",
            "broker_request_digest_mismatch",
            "broker_run_binding_mismatch",
            "broker_scope_mismatch",
            "broker_target_binding_mismatch",
            "credential_access_type_disallowed",
            "credential_issuer_disallowed",
            "credential_not_jit",
            "credential_source_disallowed",
            "standing_credential_disallowed",
        ]
    );
    // No matched rule by that name: nothing to check against.
    assert!(check_receipt(&p, "other", &issued, &intent).is_empty());
}

#[test]
fn uppercase_cli_scopes_do_not_fail_the_scope_check_d4() {
    let intent = Intent::from_json_str(INTENT_004).unwrap();
    let q = BrokerRequest::build(
        &intent,
        "github-token",
        &["repo:read".into()],
        &BrokerOverrides::new("", vec!["Repo:Write".into()]),
    );
    let issued = issue(&StubBroker, &q, GoTime::now_utc()).unwrap();
    // Sorted as given, then lowercased (the reference order).
    assert_eq!(issued.response.scope, ["repo:write", "repo:read"]);
    assert!(check_receipt(&policy(""), "brokered", &issued, &intent).is_empty());
}

#[test]
fn intent_credential_ref_must_equal_the_receipt() {
    let json = INTENT_004.replace(
        r#""request_id":"req-381""#,
        r#""request_id":"req-381","credential_ref":"ref:other""#,
    );
    let intent = Intent::from_json_str(&json).unwrap();
    let (issued, _) = stub_issued();
    assert_eq!(
        check_receipt(&policy(""), "brokered", &issued, &intent),
        ["broker_credential_ref_mismatch"]
    );
}

#[test]
fn plain_receipts_are_checked_and_defaulted() {
    let q = request_004();
    let r = parse_receipt(
        br#"{"credential_ref":"cmd:x","ttl_seconds":120,"access_type":"JIT"}"#,
        &q,
    )
    .unwrap()
    .normalize("command", &q, GoTime::now_utc())
    .unwrap();
    assert_eq!(r.issued_by, "command");
    assert_eq!(r.source, "command");
    assert_eq!(r.access_type, "jit");
    assert_eq!(r.scope, q.scope);
    assert_eq!(r.run_binding, "run-171");
    assert_eq!(r.request_digest, q.digest());
    for bad in [
        &b""[..],
        b"  \n",
        b"not json",
        b"[1]",
        br#"{"credential_ref":5}"#,
        br#"{"credential_ref":""}"#,
        br#"{"credential_ref":"a\tb"}"#,
        br#"{"credential_ref":"x","issued_at":"yesterday"}"#,
        br#"{"credential_ref":"x","credential_ref":"y"}"#,
    ] {
        assert!(
            parse_receipt(bad, &q).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let long = format!(r#"{{"credential_ref":"cmd:{}"}}"#, "a".repeat(260));
    assert!(parse_receipt(long.as_bytes(), &q).is_err());
}

#[test]
fn provider_receipts_get_the_plain_reference_checks_d14() {
    let q = request_004();
    // A 300-byte reference with a TAB: the reference accepts it here.
    let long = format!(
        r#"{{"provider":"vault","credential_ref":"vault_dynamic:{}\tx"}}"#,
        "a".repeat(300)
    );
    assert!(parse_receipt(long.as_bytes(), &q).is_err());
    let tab = r#"{"provider":"vault","credential_ref":"vault_dynamic:a\tb"}"#;
    assert!(parse_receipt(tab.as_bytes(), &q).is_err());
    // Derived references and defaults.
    let aws = parse_receipt(
        br#"{"provider":"aws","assumed_role_arn":"arn:aws:sts::1:assumed-role/g/s1","ttl_seconds":900}"#,
        &q,
    )
    .unwrap();
    assert_eq!(
        aws.credential_ref,
        "aws_sts:arn:aws:sts::1:assumed-role/g/s1"
    );
    assert_eq!(
        (aws.issued_by.as_str(), aws.issuer.as_str()),
        ("aws_sts", "sts.amazonaws.com")
    );
    let gh = parse_receipt(
        br#"{"provider":"github","repository":"o/r","workflow_ref":"w@main"}"#,
        &q,
    )
    .unwrap();
    assert_eq!(gh.credential_ref, "github_oidc:o/r:w@main");
    assert!(parse_receipt(br#"{"provider":"vault"}"#, &q).is_err());
    assert!(parse_receipt(br#"{"provider":"file"}"#, &q).is_err());
    assert!(
        parse_receipt(
            br#"{"provider":"gcp","principal":"p","issued_at":"bad"}"#,
            &q
        )
        .is_err()
    );
}

#[test]
fn secret_like_values_are_refused() {
    let q = request_004();
    // Decode errors never quote the output.
    let e = parse_receipt(
        br#"{"credential_ref":"cmd:x","ttl_seconds":"ghp_SECRET"}"#,
        &q,
    )
    .unwrap_err()
    .to_string();
    assert!(!e.contains("SECRET"), "{e}");
    for v in [
        "ghp_abc",
        "gho_x",
        "github_pat_1",
        "sk-live",
        "AKIAXYZ",
        "ASIA1",
        "akia2",
    ] {
        assert!(looks_like_secret(v), "{v}");
        let plain = format!(r#"{{"credential_ref":"{v}"}}"#);
        assert!(parse_receipt(plain.as_bytes(), &q).is_err(), "{v}");
        let lease = format!(r#"{{"provider":"vault","lease_id":"{v}"}}"#);
        assert!(parse_receipt(lease.as_bytes(), &q).is_err(), "{v}");
    }
    for v in ["ref:ghp_abc", "STUB:sk-1", "cmd:x", "vault_dynamic:lease-1"] {
        assert!(!looks_like_secret(v), "{v}");
    }
}

#[test]
fn times_and_ttl_are_derived() {
    let q = request_004();
    let r = parse_receipt(
        br#"{"credential_ref":"cmd:x","issued_at":"2026-01-12T08:58:00Z","expires_at":"2026-01-12T09:08:00+00:00"}"#,
        &q,
    )
    .unwrap()
    .normalize("command", &q, GoTime::now_utc())
    .unwrap();
    assert_eq!(r.ttl_seconds, 600);
    let now = GoTime::parse("2026-01-12T08:00:00Z").unwrap();
    let r = BrokerResponse {
        credential_ref: "ref:a".into(),
        expires_at: GoTime::parse("2026-01-12T08:10:00Z").unwrap(),
        ..BrokerResponse::default()
    }
    .normalize("x", &q, now)
    .unwrap();
    assert_eq!((r.issued_at, r.ttl_seconds), (now, 600));
}

#[test]
fn command_allowlist_matches_cleaned_path_or_base_name() {
    assert!(check_command_allowlist("./broker.py", "").is_ok());
    assert!(check_command_allowlist("./broker.py", " x , broker.py").is_ok());
    assert!(check_command_allowlist("/opt/b/broker.py", "broker.py").is_ok());
    assert!(check_command_allowlist("./broker.py", "other-broker,/usr/bin/true").is_err());
}

#[cfg(unix)]
mod command {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &std::path::Path, body: &str) -> String {
        let p = dir.join("broker.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn command_broker_reads_stdout_only_d11() {
        let dir = tempfile::tempdir().unwrap();
        let b = CommandBroker::new(
            &script(
                dir.path(),
                "cat >/dev/null\necho 'log line' >&2\nprintf '{\"credential_ref\":\"cmd:%s\"}' \"$1\"",
            ),
            vec!["a1".into()],
        );
        let issued = issue(&b, &request_004(), GoTime::now_utc()).unwrap();
        assert_eq!(issued.response.credential_ref, "cmd:a1");
    }

    #[test]
    fn command_broker_failures_are_issue_errors() {
        let dir = tempfile::tempdir().unwrap();
        let q = request_004();
        let fails = |body: &str| {
            let b = CommandBroker::new(&script(dir.path(), body), Vec::new())
                .with_timeout(Duration::from_millis(700));
            issue(&b, &q, GoTime::now_utc()).unwrap_err()
        };
        let started = Instant::now();
        assert_eq!(
            fails("exec sleep 5"),
            BrokerError::Command("command broker timed out".into())
        );
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(fails("head -c 20000 /dev/zero"), over_cap());
        assert_eq!(
            fails("head -c 20000 /dev/zero >&2; echo '{\"credential_ref\":\"cmd:x\"}'"),
            over_cap()
        );
        assert!(matches!(
            fails("echo '{\"credential_ref\":\"cmd:x\"}'; exit 3"),
            BrokerError::Command(_)
        ));
        assert!(matches!(fails("true"), BrokerError::InvalidResponse(_)));
        let spaced = CommandBroker::new("./broker.sh --flag", Vec::new());
        assert!(issue(&spaced, &q, GoTime::now_utc()).is_err());
        let missing = CommandBroker::new("./no-such-broker", Vec::new());
        assert!(issue(&missing, &q, GoTime::now_utc()).is_err());
    }
}
