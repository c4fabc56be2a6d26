//! `gait policy init|validate|test|fmt|simulate`

use std::path::Path;

use gait_policy::policy::Policy;
use gait_policy::simulate;
use gait_policy::templates;
use serde_json::{Map, Value};

use crate::args::{
    PolicyCommand, PolicyFmtArgs, PolicyInitArgs, PolicySimulateArgs, PolicyValidateArgs,
};
use crate::cmd::{fail, parse_csv, put_int, put_str, put_strs};
use crate::exit::{Exit, failure};
use crate::output::{Out, stdout_line, stdout_text};

/// Runs a `policy` subcommand.
pub fn run(out: &Out, cmd: &PolicyCommand) -> Exit {
    match cmd {
        PolicyCommand::Init(a) => init(out, a),
        PolicyCommand::Validate(a) => validate(out, a),
        PolicyCommand::Test(a) => test(out, a),
        PolicyCommand::Fmt(a) => fmt(out, a),
        PolicyCommand::Simulate(a) => simulate(out, a),
    }
}

fn init(out: &Out, a: &PolicyInitArgs) -> Exit {
    match init_inner(a) {
        Ok((name, path, next)) => {
            if out.is_json() {
                let mut m = Map::new();
                m.insert("ok".into(), Value::Bool(true));
                put_str(&mut m, "template", name);
                put_str(&mut m, "policy_path", &path);
                put_strs(&mut m, "next_commands", &next);
                return out.json(m, Exit::Ok);
            }
            stdout_line(&format!("policy init ok: template={name} output={path}"));
            stdout_line(&format!("next: {}", next.join(" | ")));
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, "policy init", Map::new(), &msg, exit),
    }
}

fn init_inner(a: &PolicyInitArgs) -> Result<(&'static str, String, Vec<String>), (String, Exit)> {
    let [name] = a.template.as_slice() else {
        return Err((
            format!("expected <template>, one of: {}", templates::names()),
            Exit::InvalidInput,
        ));
    };
    let Some(template) = templates::resolve(name) else {
        return Err((
            format!("unknown template: {}", templates::lookup_key(name)),
            Exit::InvalidInput,
        ));
    };
    let path = a.out.trim();
    if path.is_empty() {
        return Err(("output path must not be empty".into(), Exit::InvalidInput));
    }
    let err = |e: gait_sign::Error| match e {
        gait_sign::Error::AlreadyExists { .. } => (
            format!("output path already exists (use --force to overwrite): {path}"),
            Exit::InvalidInput,
        ),
        e => failure(e),
    };
    let file = Path::new(path);
    if let Some(parent) = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && *p != Path::new("."))
    {
        gait_sign::create_private_dir(parent).map_err(err)?;
    }
    // Without --force the file is created only if absent, with no window
    // between the check and the write.
    gait_sign::write_file_atomic(
        file,
        template.yaml.as_bytes(),
        gait_sign::PRIVATE_FILE_MODE,
        a.force,
    )
    .map_err(err)?;
    let next = vec![
        format!("gait policy validate {path} --json"),
        format!("gait policy fmt {path} --write --json"),
        "gait doctor --json".to_owned(),
    ];
    Ok((template.name, path.to_owned(), next))
}

fn validate(out: &Out, a: &PolicyValidateArgs) -> Exit {
    let [path] = a.policy.as_slice() else {
        return fail(
            out,
            "policy validate",
            Map::new(),
            "expected <policy.yaml>",
            Exit::InvalidInput,
        );
    };
    let policy = match Policy::from_path(Path::new(path)) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                out,
                "policy validate",
                Map::new(),
                &e.to_string(),
                Exit::InvalidInput,
            );
        }
    };
    let digest = policy.digest().to_hex();
    let verdict = policy.default_verdict().as_str();
    let rule_count = policy.rules().len();
    let summary =
        format!("policy validate ok: default={verdict} rules={rule_count} digest={digest}");
    if !out.is_json() {
        stdout_line(&summary);
        return Exit::Ok;
    }
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(true));
    put_str(&mut m, "schema_id", policy.schema_id());
    put_str(&mut m, "schema_version", policy.schema_version());
    put_str(&mut m, "policy_digest", &digest);
    put_str(&mut m, "default_verdict", verdict);
    put_int(
        &mut m,
        "rule_count",
        i64::try_from(rule_count).unwrap_or(i64::MAX),
    );
    put_str(&mut m, "summary", &summary);
    out.json(m, Exit::Ok)
}

/// `gait policy test <policy> <intent>`: evaluation only (no trace, no
/// tokens); exit 0, 3 or 4 by verdict. The intent digest reported is the
/// normalized intent's, as in the reference.
fn test(out: &Out, a: &crate::args::PolicyTestArgs) -> Exit {
    let fail = |msg: String, exit: Exit| {
        if out.is_json() {
            out.json_error(&msg, exit)
        } else {
            crate::output::stderr_line(&format!("policy test error: {msg}"));
            exit
        }
    };
    let [policy_path, intent_path] = a.files.as_slice() else {
        return fail(
            "expected <policy.yaml> <intent_fixture.json>".into(),
            Exit::InvalidInput,
        );
    };
    let policy = match gait_policy::Policy::from_path(std::path::Path::new(policy_path)) {
        Ok(p) => p,
        Err(e) => return fail(e.to_string(), Exit::InvalidInput),
    };
    let bytes = match crate::cmd::read_input(intent_path, "intent", 8 << 20) {
        Ok(b) => b,
        Err((m, e)) => return fail(m, e),
    };
    let intent = match gait_policy::Intent::from_json_slice(&bytes) {
        Ok(i) => i,
        Err(e) => return fail(format!("intent {intent_path}: {e}"), Exit::InvalidInput),
    };
    let opts =
        gait_policy::EvalOptions::default().with_producer_version(crate::cmd::version::VERSION);
    let d = gait_policy::eval::evaluate(&policy, &intent, &opts);
    let exit = Exit::for_verdict(d.verdict());
    let summary = d.summary(240);
    if out.is_json() {
        let mut m = serde_json::Map::new();
        m.insert("ok".into(), serde_json::Value::Bool(true));
        m.insert("schema_id".into(), "gait.policytest.result".into());
        m.insert("schema_version".into(), "1.0.0".into());
        m.insert("created_at".into(), d.created_at().format().into());
        m.insert("policy_digest".into(), d.policy_digest().to_hex().into());
        m.insert(
            "intent_digest".into(),
            intent.intent_digest().to_hex().into(),
        );
        m.insert("verdict".into(), d.verdict().as_str().into());
        if !d.reason_codes().is_empty() {
            m.insert("reason_codes".into(), serde_json::json!(d.reason_codes()));
        }
        if !d.violations().is_empty() {
            m.insert("violations".into(), serde_json::json!(d.violations()));
        }
        if !d.matched_rule().is_empty() {
            m.insert("matched_rule".into(), d.matched_rule().into());
        }
        m.insert("summary".into(), summary.into());
        return out.json(m, exit);
    }
    crate::output::stdout_line(&summary);
    exit
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `gait policy fmt <policy> [--write]`: the policy as normalized YAML
/// (`Policy::to_yaml`). Without `--write` the text is printed (or returned
/// as `formatted` under `--json`); with it the file is replaced when the
/// text differs.
fn fmt(out: &Out, a: &PolicyFmtArgs) -> Exit {
    let label = "policy fmt";
    let [path] = a.policy.as_slice() else {
        return fail(
            out,
            label,
            Map::new(),
            "expected <policy.yaml>",
            Exit::InvalidInput,
        );
    };
    let path = path.trim();
    if path.is_empty() {
        return fail(
            out,
            label,
            Map::new(),
            "policy path must not be empty",
            Exit::InvalidInput,
        );
    }
    let (policy, source) = match Policy::from_path_with_source(Path::new(path)) {
        Ok(loaded) => loaded,
        Err(e) => {
            return fail(out, label, Map::new(), &e.to_string(), Exit::InvalidInput);
        }
    };
    let formatted = policy.to_yaml();
    let changed = source != formatted.as_bytes();
    let written = a.write && changed;
    if written {
        if let Err((msg, exit)) = write_in_place(Path::new(path), formatted.as_bytes()) {
            return fail(out, label, Map::new(), &msg, exit);
        }
    }
    let rule_count = policy.rules().len();
    if !out.is_json() {
        if a.write {
            stdout_line(&format!(
                "policy fmt ok: path={path} changed={changed} written={written} rules={rule_count}"
            ));
        } else {
            stdout_text(&formatted);
        }
        return Exit::Ok;
    }
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(true));
    put_str(&mut m, "path", path);
    if written {
        m.insert("written".into(), Value::Bool(true));
    }
    if changed {
        m.insert("changed".into(), Value::Bool(true));
    }
    put_str(&mut m, "policy_digest", &policy.digest().to_hex());
    put_str(&mut m, "default_verdict", policy.default_verdict().as_str());
    put_int(&mut m, "rule_count", count(rule_count));
    if !a.write {
        put_str(&mut m, "formatted", &formatted);
    }
    out.json(m, Exit::Ok)
}

/// Replaces the policy file atomically, keeping its permissions. A symbolic
/// link is written through (its target is the file that was read and
/// formatted), as the reference does.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), (String, Exit)> {
    let io = |e: std::io::Error| {
        (
            format!("write policy {}: {e}", path.display()),
            Exit::Internal,
        )
    };
    let target = std::fs::canonicalize(path).map_err(io)?;
    let permissions = std::fs::metadata(&target).map_err(io)?.permissions();
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        permissions.mode() & 0o7777
    };
    #[cfg(not(unix))]
    let mode = gait_sign::PRIVATE_FILE_MODE;
    gait_sign::write_file_atomic(&target, bytes, mode, true).map_err(failure)?;
    // The new file was created under the umask; restore the exact mode.
    std::fs::set_permissions(&target, permissions).map_err(io)
}

/// `gait policy simulate --policy C --baseline B --fixtures csv`: every
/// fixture evaluated under both policies; exit 0 whatever changed.
fn simulate(out: &Out, a: &PolicySimulateArgs) -> Exit {
    match simulate_inner(a) {
        Ok(sim) => {
            let summary = sim.summary();
            if !out.is_json() {
                stdout_line(&summary);
                return Exit::Ok;
            }
            let mut m = Map::new();
            m.insert("ok".into(), Value::Bool(true));
            put_str(
                &mut m,
                "baseline_policy_digest",
                &sim.baseline_policy_digest.to_hex(),
            );
            put_str(
                &mut m,
                "candidate_policy_digest",
                &sim.candidate_policy_digest.to_hex(),
            );
            put_int(&mut m, "fixtures_total", count(sim.fixtures_total));
            put_int(&mut m, "changed_fixtures", count(sim.changed.len()));
            let counts = |c: &[(gait_policy::Verdict, usize)]| {
                Value::Array(
                    c.iter()
                        .map(|(v, n)| serde_json::json!({"verdict": v.as_str(), "count": n}))
                        .collect(),
                )
            };
            if !sim.baseline_verdicts.is_empty() {
                m.insert("baseline_verdicts".into(), counts(&sim.baseline_verdicts));
            }
            if !sim.candidate_verdicts.is_empty() {
                m.insert("candidate_verdicts".into(), counts(&sim.candidate_verdicts));
            }
            put_str(&mut m, "recommendation", sim.recommendation.as_str());
            put_str(&mut m, "summary", &summary);
            if !sim.changed.is_empty() {
                m.insert(
                    "changed".into(),
                    Value::Array(sim.changed.iter().map(change_json).collect()),
                );
            }
            out.json(m, Exit::Ok)
        }
        Err((msg, exit)) => fail(out, "policy simulate", Map::new(), &msg, exit),
    }
}

fn simulate_inner(a: &PolicySimulateArgs) -> Result<simulate::Simulation, (String, Exit)> {
    let invalid = |msg: String| (msg, Exit::InvalidInput);
    if !a.unexpected.is_empty() {
        return Err(invalid("unexpected positional arguments".into()));
    }
    let candidate_path = a.policy.as_deref().unwrap_or_default().trim();
    if candidate_path.is_empty() {
        return Err(invalid(
            "missing required --policy <candidate_policy.yaml>".into(),
        ));
    }
    let baseline_path = a.baseline.as_deref().unwrap_or_default().trim();
    if baseline_path.is_empty() {
        return Err(invalid(
            "missing required --baseline <baseline_policy.yaml>".into(),
        ));
    }
    let paths = simulate::resolve_fixture_paths(&parse_csv(a.fixtures.as_deref()))
        .map_err(|e| invalid(e.to_string()))?;
    let load = |p: &str| Policy::from_path(Path::new(p)).map_err(|e| invalid(e.to_string()));
    let candidate = load(candidate_path)?;
    let baseline = load(baseline_path)?;
    let fixtures = paths
        .iter()
        .map(simulate::Fixture::load)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(simulate::simulate(
        &baseline,
        &candidate,
        &fixtures,
        &gait_policy::EvalOptions::default(),
    ))
}

fn change_json(c: &simulate::FixtureChange) -> Value {
    let mut m = Map::new();
    m.insert("fixture_path".into(), c.fixture_path.clone().into());
    m.insert("intent_digest".into(), c.intent_digest.to_hex().into());
    m.insert(
        "baseline_verdict".into(),
        c.baseline.verdict.as_str().into(),
    );
    m.insert(
        "candidate_verdict".into(),
        c.candidate.verdict.as_str().into(),
    );
    put_strs(&mut m, "baseline_reason_codes", &c.baseline.reason_codes);
    put_strs(&mut m, "candidate_reason_codes", &c.candidate.reason_codes);
    put_strs(&mut m, "baseline_violations", &c.baseline.violations);
    put_strs(&mut m, "candidate_violations", &c.candidate.violations);
    put_str(&mut m, "baseline_matched_rule", &c.baseline.matched_rule);
    put_str(&mut m, "candidate_matched_rule", &c.candidate.matched_rule);
    m.insert("changed".into(), Value::Bool(true));
    Value::Object(m)
}
