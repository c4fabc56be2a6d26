//! `gait approve`

use gait_digest::GoTime;
use gait_policy::token::{ApprovalMint, mint_approval_token};
use gait_sign::{Approval, KeyMode};
use serde_json::{Map, Value};

use crate::args::ApproveArgs;
use crate::cmd::version::VERSION;
use crate::cmd::{fail, parse_csv, parse_ttl, put_int, put_str, put_strs, write_token_file};
use crate::exit::Exit;
use crate::key_args::ModeDefault;
use crate::output::{Out, stderr_line, stdout_line};

/// Runs `gait approve`.
pub fn run(out: &Out, a: &ApproveArgs) -> Exit {
    match mint(a) {
        Ok((m, path, warnings)) => {
            if out.is_json() {
                return out.json(m, Exit::Ok);
            }
            for w in &warnings {
                stderr_line(&format!("warning: {w}"));
            }
            stdout_line(&format!("approval token created: {path}"));
            Exit::Ok
        }
        Err((msg, exit)) => fail(out, "approve", Map::new(), &msg, exit),
    }
}

type Minted = (Map<String, Value>, String, Vec<String>);

/// Checks in the reference's order: ttl, scope, key, token fields, file.
fn mint(a: &ApproveArgs) -> Result<Minted, (String, Exit)> {
    let ttl_nanos = parse_ttl(a.ttl.as_deref())?;
    let scope = parse_csv(a.scope.as_deref());
    if scope.is_empty() {
        return Err(("scope is required".into(), Exit::InvalidInput));
    }
    let loaded = a
        .keys
        .load::<Approval>(a.keys.mode(ModeDefault::Strict(KeyMode::Dev))?)?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let token = mint_approval_token(
        &ApprovalMint {
            producer_version: VERSION.into(),
            approver_identity: opt(&a.approver),
            reason_code: opt(&a.reason_code),
            intent_digest: opt(&a.intent_digest),
            policy_digest: opt(&a.policy_digest),
            delegation_binding_digest: opt(&a.delegation_binding_digest),
            scope,
            max_targets: a.max_targets,
            max_ops: a.max_ops,
            ttl_nanos,
            now: GoTime::now_utc(),
        },
        &loaded.key,
    )
    .map_err(|e| (e.to_string(), Exit::InvalidInput))?;
    let path = a
        .out
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map_or_else(
            || format!("approval_{}.json", token.token_id),
            str::to_owned,
        );
    write_token_file(&path, &token.to_pretty_json())?;

    let warnings: Vec<String> = loaded.warning.iter().map(|w| (*w).to_owned()).collect();
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(true));
    put_str(&mut m, "token_id", &token.token_id);
    put_str(&mut m, "token_path", &path);
    put_str(
        &mut m,
        "expires_at",
        &token.expires_at.to_utc().format_rfc3339(),
    );
    put_str(&mut m, "reason_code", &token.reason_code);
    put_strs(&mut m, "scope", &token.scope);
    put_int(&mut m, "max_targets", token.max_targets);
    put_int(&mut m, "max_ops", token.max_ops);
    put_str(
        &mut m,
        "key_id",
        token.signature.as_ref().map_or("", |s| s.key_id.as_str()),
    );
    put_strs(&mut m, "warnings", &warnings);
    put_str(&mut m, "description", "signed approval token created");
    Ok((m, path, warnings))
}
