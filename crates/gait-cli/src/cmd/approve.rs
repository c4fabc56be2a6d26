//! `gait approve`

use gait_digest::GoTime;
use gait_policy::token::{ApprovalMint, mint_approval_token};
use gait_sign::Approval;
use serde::Serialize;

use crate::args::ApproveArgs;
use crate::cmd::tokens::{MintFlags, MintReport, mint_token, report_minted};
use crate::cmd::version::VERSION;
use crate::exit::{Exit, Failure};
use crate::output::{Out, omit};

/// Runs `gait approve`.
pub fn run(out: &Out, a: &ApproveArgs) -> Exit {
    report_minted(out, "approve", mint(a))
}

fn mint(a: &ApproveArgs) -> Result<MintReport<ApproveOutput>, Failure> {
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
    let output = ApproveOutput {
        ok: true,
        token_id: token.token_id.clone(),
        token_path: minted.path.clone(),
        expires_at: token.expires_at.to_utc().format_rfc3339(),
        reason_code: token.reason_code.clone(),
        scope: token.scope.clone(),
        max_targets: token.max_targets,
        max_ops: token.max_ops,
        key_id: token
            .signature
            .as_ref()
            .map_or_else(String::new, |s| s.key_id.clone()),
        warnings: minted.warnings.clone(),
        description: "signed approval token created",
    };
    Ok(MintReport {
        output,
        line: format!("approval token created: {}", minted.path),
        warnings: minted.warnings,
    })
}

/// The `gait approve --json` object.
#[derive(Serialize)]
struct ApproveOutput {
    ok: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    expires_at: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason_code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scope: Vec<String>,
    #[serde(skip_serializing_if = "omit::zero_i64")]
    max_targets: i64,
    #[serde(skip_serializing_if = "omit::zero_i64")]
    max_ops: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    key_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    description: &'static str,
}
