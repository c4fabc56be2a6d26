//! `gait policy init|validate`

use std::path::Path;

use gait_policy::policy::Policy;
use gait_policy::templates;
use serde_json::{Map, Value};

use crate::args::{PolicyCommand, PolicyInitArgs, PolicyValidateArgs};
use crate::cmd::{fail, put_int, put_str, put_strs, sign_error_exit};
use crate::exit::Exit;
use crate::output::{Out, stdout_line};

/// Runs a `policy` subcommand.
pub fn run(out: &Out, cmd: &PolicyCommand) -> Exit {
    match cmd {
        PolicyCommand::Init(a) => init(out, a),
        PolicyCommand::Validate(a) => validate(out, a),
        PolicyCommand::Test(a) => test(out, a),
    }
}

fn init(out: &Out, a: &PolicyInitArgs) -> Exit {
    match init_inner(a) {
        Ok((name, path, next)) => {
            if a.json {
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
        Err((msg, exit)) => fail(out, a.json, "policy init", Map::new(), &msg, exit),
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
        e => (e.to_string(), sign_error_exit(&e)),
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
    // The reference also suggests `policy fmt` and `doctor`, which this
    // build does not have yet (see docs/compatibility.md).
    let next = vec![format!("gait policy validate {path} --json")];
    Ok((template.name, path.to_owned(), next))
}

fn validate(out: &Out, a: &PolicyValidateArgs) -> Exit {
    let [path] = a.policy.as_slice() else {
        return fail(
            out,
            a.json,
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
                a.json,
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
    if !a.json {
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
        if a.json {
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
    let exit = match d.verdict() {
        gait_policy::Verdict::Block => Exit::PolicyBlocked,
        gait_policy::Verdict::RequireApproval => Exit::ApprovalRequired,
        _ => Exit::Ok,
    };
    let summary = d.summary(240);
    if a.json {
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
