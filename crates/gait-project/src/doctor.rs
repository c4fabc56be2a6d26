//! `gait doctor`: checks of the local environment and project.
//!
//! Every check reports what it actually tested; a check this build cannot
//! perform is left out rather than reported as passing. `fix_command`s are
//! shell commands that can be run as printed.

use std::path::{Path, PathBuf};

use gait_policy::policy::{Policy, Verdict};
use gait_sign::{KeyConfig, KeyMode, KeySource, Trace};
use serde::Serialize;

use crate::config::{
    DEFAULT_CONFIG_PATH, LEGACY_POLICY_SCAFFOLD_PATH, REPO_POLICY_PATH, load_project_config,
};

const PASS: CheckStatus = CheckStatus::Pass;
const WARN: CheckStatus = CheckStatus::Warn;
const FAIL: CheckStatus = CheckStatus::Fail;

/// The outcome of a check, and of the whole report: `pass`, `warn` or
/// `fail` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The check held.
    Pass,
    /// Works, but not as recommended.
    Warn,
    /// The check failed.
    Fail,
}

impl CheckStatus {
    /// `pass`, `warn` or `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "fail",
        }
    }
}

impl std::fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which group a check belongs to: `universal` or `production_readiness`
/// on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckScope {
    /// Checked on every run.
    Universal,
    /// Checked with `--production-readiness` only.
    ProductionReadiness,
}

/// What to check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DoctorOptions {
    /// The workspace (default `.`).
    pub work_dir: String,
    /// The output directory (default `./gait-out`, relative to the workspace).
    pub output_dir: String,
    /// The version recorded as `producer_version`.
    pub producer_version: String,
    /// `dev` or `prod`.
    pub key_mode: String,
    /// Private key file.
    pub private_key: Option<String>,
    /// Private key environment variable.
    pub private_key_env: Option<String>,
    /// Public key file.
    pub public_key: Option<String>,
    /// Public key environment variable.
    pub public_key_env: Option<String>,
    /// Add the production readiness checks of `.gait/config.yaml`.
    pub production_readiness: bool,
    /// The time recorded as `created_at` (RFC 3339).
    pub created_at: String,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        Self {
            work_dir: ".".into(),
            output_dir: "./gait-out".into(),
            producer_version: "0.0.0-dev".into(),
            key_mode: "dev".into(),
            private_key: None,
            private_key_env: None,
            public_key: None,
            public_key_env: None,
            production_readiness: false,
            created_at: String::new(),
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DoctorCheck {
    /// A stable name such as `output_dir`.
    pub name: &'static str,
    /// `universal` or `production_readiness`.
    pub scope: CheckScope,
    /// `pass`, `warn` or `fail`.
    pub status: CheckStatus,
    /// What was found.
    pub message: String,
    /// A shell command that fixes it, when there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix_command: String,
    /// Nothing the user can run fixes it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_fixable: bool,
}

fn check(name: &'static str, status: CheckStatus, message: impl Into<String>) -> DoctorCheck {
    DoctorCheck {
        name,
        scope: CheckScope::Universal,
        status,
        message: message.into(),
        fix_command: String::new(),
        non_fixable: false,
    }
}

impl DoctorCheck {
    fn fix(mut self, cmd: impl Into<String>) -> Self {
        self.fix_command = cmd.into();
        self
    }
}

/// `gait.doctor.result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DoctorReport {
    /// `gait.doctor.result`.
    pub schema_id: &'static str,
    /// `1.0.0`.
    pub schema_version: &'static str,
    /// When the checks ran.
    pub created_at: String,
    /// The producing Gait's version.
    pub producer_version: String,
    /// Always `installed_binary` (this is not a reference Go checkout).
    pub onboarding_mode: &'static str,
    /// `fail` if any check failed, else `warn` if any warned, else `pass`.
    pub status: CheckStatus,
    /// Some failure cannot be fixed by a command.
    pub non_fixable: bool,
    /// One-line summary.
    pub summary: String,
    /// The distinct fix commands, sorted.
    pub fix_commands: Vec<String>,
    /// Commands to run next, in order (each works as printed in the
    /// checked workspace).
    pub next_commands: Vec<String>,
    /// The checks, in a fixed order.
    pub checks: Vec<DoctorCheck>,
}

/// Single-quotes `s` for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '=' | '+')
        })
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn join(base: &str, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(base).join(path)
    }
}

fn probe_write(dir: &Path) -> Result<(), std::io::Error> {
    let probe = dir.join(format!(".gait-doctor-writecheck-{}", std::process::id()));
    std::fs::write(&probe, b"ok")?;
    std::fs::remove_file(&probe)
}

fn check_workdir(work_dir: &str) -> DoctorCheck {
    let p = Path::new(work_dir);
    match std::fs::metadata(p) {
        Err(e) => check("workdir", FAIL, format!("workdir not accessible: {e}"))
            .fix(format!("mkdir -p {}", shell_quote(work_dir))),
        Ok(m) if !m.is_dir() => check("workdir", FAIL, "workdir is not a directory"),
        Ok(_) => match probe_write(p) {
            Ok(()) => check("workdir", PASS, "workdir is writable"),
            Err(e) => check("workdir", FAIL, format!("workdir not writable: {e}"))
                .fix(format!("chmod u+w {}", shell_quote(work_dir))),
        },
    }
}

fn check_output_dir(shown: &str, dir: &Path) -> DoctorCheck {
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => check(
            "output_dir",
            WARN,
            format!("output directory {shown} does not exist yet (commands create it)"),
        )
        .fix(format!("mkdir -p {}", shell_quote(shown))),
        Err(e) => check(
            "output_dir",
            FAIL,
            format!("output directory check failed: {e}"),
        ),
        Ok(m) if !m.is_dir() => check(
            "output_dir",
            FAIL,
            format!("output path {shown} is not a directory"),
        ),
        Ok(_) => match probe_write(dir) {
            Ok(()) => check("output_dir", PASS, "output directory is writable"),
            Err(e) => check(
                "output_dir",
                FAIL,
                format!("output directory not writable: {e}"),
            )
            .fix(format!("chmod u+w {}", shell_quote(shown))),
        },
    }
}

fn check_temp_dir() -> DoctorCheck {
    let dir = std::env::temp_dir();
    match probe_write(&dir) {
        Ok(()) => check("temp_dir", PASS, "temporary directory is writable"),
        Err(e) => check(
            "temp_dir",
            FAIL,
            format!("temporary directory {} is not writable: {e}", dir.display()),
        ),
    }
}

fn nonempty(s: Option<&String>) -> Option<&str> {
    s.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn check_key_ambiguity(o: &DoctorOptions) -> DoctorCheck {
    if nonempty(o.private_key.as_ref()).is_some() && nonempty(o.private_key_env.as_ref()).is_some()
    {
        return check(
            "key_source_ambiguity",
            FAIL,
            "private key path and env are both set; set only one of --private-key or --private-key-env",
        );
    }
    if nonempty(o.public_key.as_ref()).is_some() && nonempty(o.public_key_env.as_ref()).is_some() {
        return check(
            "key_source_ambiguity",
            FAIL,
            "public key path and env are both set; set only one of --public-key or --public-key-env",
        );
    }
    check(
        "key_source_ambiguity",
        PASS,
        "key source configuration is unambiguous",
    )
}

fn check_key_permissions(o: &DoctorOptions) -> DoctorCheck {
    let Some(p) = nonempty(o.private_key.as_ref()) else {
        return check("key_permissions", PASS, "no private key file configured");
    };
    let path = join(&o.work_dir, p);
    match std::fs::metadata(&path) {
        Err(e) => check(
            "key_permissions",
            FAIL,
            format!("private key file {p}: {e}"),
        ),
        #[cfg(unix)]
        Ok(m) => {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                check("key_permissions", FAIL, format!("private key file {p} has mode {mode:04o}; group and others must have no access"))
                    .fix(format!("chmod 600 {}", shell_quote(p)))
            } else {
                check(
                    "key_permissions",
                    PASS,
                    format!("private key file {p} has mode {mode:04o}"),
                )
            }
        }
        #[cfg(not(unix))]
        Ok(_) => check(
            "key_permissions",
            PASS,
            "file modes are not checked on this platform",
        ),
    }
}

fn check_key_config(o: &DoctorOptions) -> DoctorCheck {
    let mode = match KeyMode::parse(&o.key_mode) {
        Ok(m) => m,
        Err(_) => {
            return check(
                "key_config",
                FAIL,
                format!(
                    "unsupported key mode {:?}: use --key-mode dev or --key-mode prod",
                    o.key_mode.trim()
                ),
            );
        }
    };
    let private = KeySource::from_flags(
        "private key",
        o.private_key.as_deref(),
        o.private_key_env.as_deref(),
    );
    let public = KeySource::from_flags(
        "public key",
        o.public_key.as_deref(),
        o.public_key_env.as_deref(),
    );
    let (private, public) = match (private, public) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return check("key_config", FAIL, e.to_string()),
    };
    let private = private.map(|s| match s {
        KeySource::Path(p) => KeySource::Path(join(&o.work_dir, &p.to_string_lossy())),
        other => other,
    });
    let public = public.map(|s| match s {
        KeySource::Path(p) => KeySource::Path(join(&o.work_dir, &p.to_string_lossy())),
        other => other,
    });
    match mode {
        KeyMode::Dev => {
            if private.is_some() || public.is_some() {
                check(
                    "key_config",
                    WARN,
                    "dev mode ignores explicit key sources; use --key-mode prod to check them",
                )
            } else {
                check(
                    "key_config",
                    PASS,
                    "dev key mode: an ephemeral key signs local artifacts (not for production)",
                )
            }
        }
        _ => {
            let cfg = KeyConfig {
                mode,
                private,
                public,
            };
            match cfg.load_signing::<Trace>() {
                Ok(_) => check(
                    "key_config",
                    PASS,
                    "prod signing key loads and matches its public key",
                ),
                Err(e) => check(
                    "key_config",
                    FAIL,
                    format!("invalid prod signing key config: {e}"),
                ),
            }
        }
    }
}

/// Where the policy is: `gate.policy` of the project config, else
/// `.gait.yaml`, else `gait.policy.yaml`.
fn find_policy(work_dir: &str, configured: &str) -> Option<String> {
    if !configured.is_empty() {
        return Some(configured.to_owned());
    }
    [REPO_POLICY_PATH, LEGACY_POLICY_SCAFFOLD_PATH]
        .into_iter()
        .find(|p| join(work_dir, p).is_file())
        .map(str::to_owned)
}

fn check_policy_file(work_dir: &str, policy: Option<&str>) -> (DoctorCheck, Option<Policy>) {
    let Some(p) = policy else {
        return (
            check("policy", WARN, format!("no policy found ({REPO_POLICY_PATH}, {LEGACY_POLICY_SCAFFOLD_PATH} or gate.policy in {DEFAULT_CONFIG_PATH})"))
                .fix("gait init"),
            None,
        );
    };
    match Policy::from_path(&join(work_dir, p)) {
        Ok(pol) => (
            check(
                "policy",
                PASS,
                format!(
                    "policy {p} is valid: default_verdict={} rules={}",
                    pol.default_verdict().as_str(),
                    pol.rules().len()
                ),
            ),
            Some(pol),
        ),
        Err(e) => (
            check("policy", FAIL, format!("policy {p} is invalid: {e}")),
            None,
        ),
    }
}

fn production_checks(
    config_present: bool,
    cfg: &crate::ProjectConfig,
    policy: Option<&Policy>,
) -> Vec<DoctorCheck> {
    let mut out = Vec::new();
    out.push(if config_present {
        check("production_readiness_config", PASS, format!("{DEFAULT_CONFIG_PATH} present"))
    } else {
        check("production_readiness_config", FAIL, format!("missing {DEFAULT_CONFIG_PATH} (set gate.profile, gate.key_mode, gate.policy and retention TTLs)"))
    });
    let g = &cfg.gate;
    out.push(if g.profile.eq_ignore_ascii_case("oss-prod") {
        check("production_profile", PASS, "gate.profile is oss-prod")
    } else {
        check(
            "production_profile",
            FAIL,
            format!("gate.profile must be oss-prod in {DEFAULT_CONFIG_PATH}"),
        )
    });
    out.push(if g.key_mode.eq_ignore_ascii_case("prod") {
        check("production_key_mode", PASS, "gate.key_mode is prod")
    } else {
        check(
            "production_key_mode",
            FAIL,
            format!("gate.key_mode must be prod in {DEFAULT_CONFIG_PATH}"),
        )
    });
    let r = &cfg.retention;
    let ttl = |name: &str, v: &str| -> Result<(), String> {
        if v.is_empty() {
            return Err(format!("retention.{name} is required"));
        }
        gait_digest::go_duration::parse_go_duration(v)
            .map(|_| ())
            .map_err(|e| format!("invalid retention.{name}: {e}"))
    };
    out.push(
        match ttl("trace_ttl", &r.trace_ttl)
            .and_then(|()| ttl("session_ttl", &r.session_ttl))
            .and_then(|()| ttl("export_ttl", &r.export_ttl))
        {
            Ok(()) => check(
                "production_retention",
                PASS,
                "retention TTLs are configured",
            ),
            Err(e) => check("production_retention", FAIL, e),
        },
    );
    out.push(service_boundary(&cfg.mcp_serve));
    out.push(if !g.profile.eq_ignore_ascii_case("oss-prod") {
        check(
            "production_context_strictness",
            FAIL,
            "strict context enforcement requires gate.profile=oss-prod",
        )
    } else if g.policy.is_empty() {
        check(
            "production_context_strictness",
            FAIL,
            format!("gate.policy must be set in {DEFAULT_CONFIG_PATH}"),
        )
    } else {
        check(
            "production_context_strictness",
            PASS,
            "strict context profile is configured",
        )
    });
    out.push(match policy {
        None => check("production_policy", FAIL, "no valid policy found"),
        Some(p) if p.default_verdict() == Verdict::Allow => check(
            "production_policy",
            FAIL,
            "default_verdict: allow is not production ready (unmatched calls would pass); use block or require_approval",
        ),
        Some(p) => check("production_policy", PASS, format!("default_verdict is {}", p.default_verdict().as_str())),
    });
    for c in &mut out {
        c.scope = CheckScope::ProductionReadiness;
    }
    out
}

fn service_boundary(m: &crate::McpServeDefaults) -> DoctorCheck {
    const NAME: &str = "production_service_boundary";
    if !m.enabled && m.listen.is_empty() {
        return check(NAME, PASS, "mcp_serve not configured");
    }
    let listen = if m.listen.is_empty() {
        "127.0.0.1:8787"
    } else {
        m.listen.as_str()
    };
    let Some((host, port)) = listen.rsplit_once(':') else {
        return check(
            NAME,
            FAIL,
            format!("invalid mcp_serve.listen {listen:?}: expected host:port"),
        );
    };
    if port.parse::<u16>().is_err() {
        return check(
            NAME,
            FAIL,
            format!("invalid mcp_serve.listen {listen:?}: bad port"),
        );
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback && m.auth_mode != "token" {
        return check(
            NAME,
            FAIL,
            "non-loopback mcp_serve.listen requires mcp_serve.auth_mode=token",
        );
    }
    if m.auth_mode == "token" && m.auth_token_env.is_empty() {
        return check(
            NAME,
            FAIL,
            "mcp_serve.auth_mode=token requires mcp_serve.auth_token_env",
        );
    }
    if m.allow_client_artifact_paths {
        return check(
            NAME,
            FAIL,
            "mcp_serve.allow_client_artifact_paths must be false in production",
        );
    }
    if m.max_request_bytes <= 0 || m.max_request_bytes > 4 << 20 {
        return check(
            NAME,
            FAIL,
            "mcp_serve.max_request_bytes must be >0 and <=4194304",
        );
    }
    if m.http_verdict_status != "strict" {
        return check(
            NAME,
            FAIL,
            "mcp_serve.http_verdict_status must be strict in production",
        );
    }
    check(
        NAME,
        PASS,
        "service boundary hardening settings are configured",
    )
}

/// `job_runtime_durability`: job folders under `<output>/jobs` with a
/// half-finished commit (a pending mutation, or state and event log out of
/// step). Nothing is changed; the next access to a job settles it.
fn check_job_runtime(jobs: &Path) -> DoctorCheck {
    let issues = gait_job::durability_issues(jobs);
    if issues.is_empty() {
        return check(
            "job_runtime_durability",
            PASS,
            "job durable state is consistent",
        );
    }
    let list: Vec<String> = issues.iter().map(ToString::to_string).collect();
    check(
        "job_runtime_durability",
        FAIL,
        format!("durable job state divergence detected: {}", list.join(",")),
    )
}

/// Runs the checks. Never fails: problems are checks with status `fail`.
pub fn run_doctor(o: &DoctorOptions) -> DoctorReport {
    let work_dir = if o.work_dir.trim().is_empty() {
        "."
    } else {
        o.work_dir.trim()
    };
    let out_shown = if o.output_dir.trim().is_empty() {
        "./gait-out"
    } else {
        o.output_dir.trim()
    };
    let config_path = join(work_dir, DEFAULT_CONFIG_PATH);
    let config_present = config_path.is_file();
    let (cfg, config_check) = match load_project_config(&config_path, true) {
        Ok(c) => (
            c,
            if config_present {
                check(
                    "project_config",
                    PASS,
                    format!("{DEFAULT_CONFIG_PATH} parses"),
                )
            } else {
                check(
                    "project_config",
                    PASS,
                    format!("no {DEFAULT_CONFIG_PATH} (built-in defaults apply)"),
                )
            },
        ),
        Err(e) => (
            crate::ProjectConfig::default(),
            check("project_config", FAIL, e.to_string()),
        ),
    };
    let policy_path = find_policy(work_dir, &cfg.gate.policy);
    let (policy_check, policy) = check_policy_file(work_dir, policy_path.as_deref());
    let mut checks = vec![
        check_workdir(work_dir),
        check_output_dir(out_shown, &join(work_dir, out_shown)),
        check_temp_dir(),
        check_key_ambiguity(o),
        check_key_permissions(o),
        check_key_config(o),
        config_check,
        policy_check,
        check_job_runtime(&join(work_dir, out_shown).join("jobs")),
    ];
    if o.production_readiness {
        checks.extend(production_checks(config_present, &cfg, policy.as_ref()));
    }
    let failed = checks.iter().filter(|c| c.status == FAIL).count();
    let warned = checks.iter().filter(|c| c.status == WARN).count();
    let non_fixable = checks.iter().any(|c| c.non_fixable);
    let status = if failed > 0 {
        FAIL
    } else if warned > 0 {
        WARN
    } else {
        PASS
    };
    let mut fix_commands: Vec<String> = checks
        .iter()
        .filter(|c| !c.fix_command.is_empty())
        .map(|c| c.fix_command.clone())
        .collect();
    fix_commands.sort();
    fix_commands.dedup();
    let mut next_commands = Vec::new();
    match &policy_path {
        None => {
            next_commands.push("gait init --json".to_owned());
            next_commands.push("gait check --json".to_owned());
        }
        Some(p) if policy.is_some() => {
            next_commands.push(format!("gait check --policy {} --json", shell_quote(p)))
        }
        Some(_) => {}
    }
    next_commands.push("gait demo --json".to_owned());
    next_commands.push("gait verify run_demo --json".to_owned());
    next_commands.push(
        "gait regress bootstrap --from run_demo --json --junit ./gait-out/junit.xml".to_owned(),
    );
    DoctorReport {
        schema_id: "gait.doctor.result",
        schema_version: "1.0.0",
        created_at: o.created_at.clone(),
        producer_version: o.producer_version.clone(),
        onboarding_mode: "installed_binary",
        status,
        non_fixable,
        summary: format!(
            "doctor: onboarding_mode=installed_binary status={status} failed={failed} warned={warned} non_fixable={non_fixable}"
        ),
        fix_commands,
        next_commands,
        checks,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn opts(dir: &Path) -> DoctorOptions {
        DoctorOptions {
            work_dir: dir.to_string_lossy().into_owned(),
            ..DoctorOptions::default()
        }
    }

    #[test]
    fn fresh_directory_warns_but_does_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        let r = run_doctor(&opts(dir.path()));
        assert_eq!(r.status, WARN, "{r:?}");
        assert!(r.fix_commands.contains(&"mkdir -p ./gait-out".to_owned()));
        assert_eq!(
            r.next_commands.first().map(String::as_str),
            Some("gait init --json")
        );
    }

    #[test]
    fn production_readiness_rejects_default_allow() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".gait")).unwrap();
        std::fs::create_dir_all(dir.path().join("gait-out")).unwrap();
        std::fs::write(
            dir.path().join(".gait/config.yaml"),
            "gate:\n  policy: p.yaml\n  profile: oss-prod\n  key_mode: prod\nretention:\n  trace_ttl: 24h\n  session_ttl: 24h\n  export_ttl: 24h\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("p.yaml"), "default_verdict: allow\n").unwrap();
        let mut o = opts(dir.path());
        o.production_readiness = true;
        let r = run_doctor(&o);
        assert_eq!(r.status, FAIL);
        let c = r
            .checks
            .iter()
            .find(|c| c.name == "production_policy")
            .unwrap();
        assert_eq!(c.status, FAIL);
        std::fs::write(dir.path().join("p.yaml"), "default_verdict: block\n").unwrap();
        let r = run_doctor(&o);
        let c = r
            .checks
            .iter()
            .find(|c| c.name == "production_policy")
            .unwrap();
        assert_eq!(c.status, PASS, "{r:?}");
        assert_eq!(r.status, PASS, "{r:?}");
    }

    #[test]
    fn invalid_policy_fails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gait.yaml"), "default_verdict: maybe\n").unwrap();
        let r = run_doctor(&opts(dir.path()));
        assert_eq!(r.status, FAIL);
    }
}
