//! The project layer end to end: init a policy, check it, doctor the
//! workspace, load project defaults.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use gait_project::{
    CheckStatus, DoctorOptions, ProjectError, check_policy, init_policy, load_project_config,
    run_doctor,
};

#[test]
fn init_then_check_every_template() {
    for (template, verdict, default_allow) in [
        ("baseline-lowrisk", "allow", true),
        ("medium", "require_approval", false),
        ("high", "block", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("policies/.gait.yaml");
        let out = out.to_str().unwrap();
        let r = init_policy(template, out, false).unwrap();
        assert_eq!(r.policy_path, out);
        assert!(r.next_commands.iter().all(|c| c.starts_with("gait ")));
        let text = std::fs::read_to_string(out).unwrap();
        assert!(text.starts_with("# gait init: starter repo policy"));
        let c = check_policy(out).unwrap();
        assert_eq!(c.default_verdict.as_str(), verdict, "{template}");
        assert!(c.rule_count > 0);
        assert_eq!(
            c.findings.iter().any(|f| f.code == "policy.default_allow"),
            default_allow
        );
        assert_eq!(c.policy_digest.len(), 64);
        // Existing files are kept unless forced.
        assert!(matches!(
            init_policy(template, out, false),
            Err(ProjectError::OutputExists { .. })
        ));
        init_policy(template, out, true).unwrap();
    }
}

#[test]
fn bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.yaml");
    assert!(init_policy("nope", out.to_str().unwrap(), false).is_err());
    assert!(init_policy("high", " ", false).is_err());
    assert!(check_policy("").is_err());
    assert!(check_policy(dir.path().join("missing.yaml").to_str().unwrap()).is_err());
    std::fs::write(&out, "default_verdict: allow\nrules: []\n").unwrap();
    let c = check_policy(out.to_str().unwrap()).unwrap();
    let codes: Vec<_> = c.findings.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        [
            "policy.no_rules",
            "policy.default_allow",
            "policy.no_non_allow_rules"
        ]
    );
    assert_eq!(c.gap_warnings.len(), 3);
}

#[test]
fn doctor_reports_key_problems() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    std::fs::write(&key, "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut o = DoctorOptions::default();
    o.work_dir = dir.path().to_string_lossy().into_owned();
    o.key_mode = "prod".into();
    o.private_key = Some("k.key".into());
    let r = run_doctor(&o);
    let status = |name: &str| {
        r.checks
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.status)
            .unwrap()
    };
    assert_eq!(status("key_config"), CheckStatus::Fail);
    #[cfg(unix)]
    {
        assert_eq!(status("key_permissions"), CheckStatus::Fail);
        assert!(r.fix_commands.contains(&"chmod 600 k.key".to_owned()));
    }
    assert_eq!(r.status, CheckStatus::Fail);
    assert!(!r.non_fixable);

    o.key_mode = "sideways".into();
    let r = run_doctor(&o);
    assert!(
        r.checks
            .iter()
            .any(|c| c.name == "key_config" && c.status == CheckStatus::Fail)
    );
    o.key_mode = "dev".into();
    o.private_key_env = Some("X".into());
    let r = run_doctor(&o);
    assert!(
        r.checks
            .iter()
            .any(|c| c.name == "key_source_ambiguity" && c.status == CheckStatus::Fail)
    );
}

#[test]
fn project_config_from_the_reference_template_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.yaml");
    std::fs::write(
        &p,
        "gate:\n  policy: examples/policy/base_high_risk.yaml\n  profile: oss-prod\n  key_mode: prod\n  private_key: examples/scenarios/keys/approval_private.key\nmcp_serve:\n  enabled: true\n  listen: 127.0.0.1:8787\n  auth_mode: token\n  auth_token_env: GAIT_MCP_TOKEN\n  max_request_bytes: 1048576\n  http_verdict_status: strict\n  allow_client_artifact_paths: false\nretention:\n  trace_ttl: 168h\n  session_ttl: 336h\n  export_ttl: 168h\n",
    )
    .unwrap();
    let c = load_project_config(&p, false).unwrap();
    assert_eq!(c.gate.profile, "oss-prod");
    assert!(c.mcp_serve.enabled);
    assert_eq!(c.mcp_serve.max_request_bytes, 1_048_576);
    assert_eq!(c.retention.session_ttl, "336h");
}
