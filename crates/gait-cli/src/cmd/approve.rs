//! `gait approve`

use gait_digest::GoTime;
use gait_policy::token::{ApprovalMint, mint_approval_token};
use gait_sign::Approval;
use serde_json::{Map, Value};

use crate::args::ApproveArgs;
use crate::cmd::tokens::{MintFlags, MintReport, mint_token, report_minted};
use crate::cmd::version::VERSION;
use crate::cmd::{put_int, put_str, put_strs};
use crate::exit::{Exit, Failure};
use crate::output::Out;

/// Runs `gait approve`.
pub fn run(out: &Out, a: &ApproveArgs) -> Exit {
    report_minted(out, "approve", mint(a))
}

fn mint(a: &ApproveArgs) -> Result<MintReport, Failure> {
    let flags = MintFlags {
        ttl: a.ttl.as_deref(),
        scope: a.scope.as_deref(),
        out: a.out.as_deref(),
        keys: &a.keys,
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let minted = mint_token::<Approval, _, _>(&flags, |ttl_nanos, scope, key| {
        mint_approval_token(
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
            key,
        )
    })?;
    let token = &minted.token;
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(true));
    put_str(&mut m, "token_id", &token.token_id);
    put_str(&mut m, "token_path", &minted.path);
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
    put_strs(&mut m, "warnings", &minted.warnings);
    put_str(&mut m, "description", "signed approval token created");
    let line = format!("approval token created: {}", minted.path);
    Ok((m, minted.warnings, line))
}
