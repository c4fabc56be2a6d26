//! `gait delegate mint|verify`

use gait_digest::GoTime;
use gait_policy::token::{
    DelegationCheck, DelegationMint, DelegationToken, MAX_TOKEN_BYTES, mint_delegation_token,
    validate_delegation_token,
};
use gait_sign::Delegation;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::args::{DelegateCommand, DelegateMintArgs, DelegateVerifyArgs};
use crate::cmd::tokens::{MintFlags, MintReport, Minted, mint_token, report_minted};
use crate::cmd::version::VERSION;
use crate::cmd::{fail, parse_csv, put_str, read_input};
use crate::exit::{Exit, Failure};
use crate::output::{Out, omit, stdout_line};

/// Runs a `delegate` subcommand.
pub fn run(out: &Out, cmd: &DelegateCommand) -> Exit {
    match cmd {
        DelegateCommand::Mint(a) => mint(out, a),
        DelegateCommand::Verify(a) => verify(out, a),
    }
}

/// The `--json` object of `delegate mint` and `delegate verify`.
#[derive(Serialize)]
struct DelegationOutput<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "omit::blank")]
    token_id: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    token_path: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    delegator_identity: &'a str,
    #[serde(skip_serializing_if = "omit::blank")]
    delegate_identity: &'a str,
    #[serde(skip_serializing_if = "omit::no_items")]
    scope: &'a [String],
    #[serde(skip_serializing_if = "omit::blank")]
    scope_class: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    expires_at: String,
    #[serde(skip_serializing_if = "omit::blank")]
    key_id: &'a str,
    #[serde(skip_serializing_if = "omit::no_items")]
    warnings: &'a [String],
    description: &'static str,
}

impl<'a> DelegationOutput<'a> {
    /// The members describing token `t` at `path`.
    fn new(t: &'a DelegationToken, path: &'a str, description: &'static str) -> Self {
        Self {
            ok: true,
            token_id: &t.token_id,
            token_path: path,
            delegator_identity: &t.delegator_identity,
            delegate_identity: &t.delegate_identity,
            scope: &t.scope,
            scope_class: &t.scope_class,
            expires_at: t.expires_at.to_utc().format_rfc3339(),
            key_id: t.signature.as_ref().map_or("", |s| s.key_id.as_str()),
            warnings: &[],
            description,
        }
    }
}

fn mint(out: &Out, a: &DelegateMintArgs) -> Exit {
    let minted = mint_inner(a);
    let report = match &minted {
        Ok(m) => {
            let mut output =
                DelegationOutput::new(&m.token, &m.path, "signed delegation token created");
            output.warnings = &m.warnings;
            Ok(MintReport {
                output,
                warnings: m.warnings.clone(),
                line: format!("delegation token ok: {}", m.path),
            })
        }
        Err(f) => Err(f.clone()),
    };
    report_minted(out, "delegate", report)
}

fn mint_inner(a: &DelegateMintArgs) -> Result<Minted<DelegationToken>, Failure> {
    let flags = MintFlags {
        ttl: a.ttl.as_deref(),
        scope: a.scope.as_deref(),
        out: a.out.as_deref(),
        keys: &a.keys,
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    mint_token::<Delegation, _, _>(&flags, |ttl_nanos, scope, key| {
        mint_delegation_token(
            &DelegationMint {
                producer_version: VERSION.into(),
                delegator_identity: opt(&a.delegator),
                delegate_identity: opt(&a.delegate),
                scope,
                scope_class: opt(&a.scope_class),
                intent_digest: opt(&a.intent_digest),
                policy_digest: opt(&a.policy_digest),
                ttl_nanos,
                now: GoTime::now_utc(),
            },
            key,
        )
    })
}

fn verify(out: &Out, a: &DelegateVerifyArgs) -> Exit {
    let failed = |m: Map<String, Value>, msg: &str, exit: Exit| fail(out, "delegate", m, msg, exit);
    let path = a.token.as_deref().unwrap_or_default();
    if path.trim().is_empty() {
        return failed(Map::new(), "--token is required", Exit::InvalidInput);
    }
    // The reference resolves the key before it reads the token.
    let key = match a.keys.load::<Delegation>() {
        Ok(k) => k,
        Err((msg, exit)) => return failed(Map::new(), &msg, exit),
    };
    let token = match read_input(path, "delegation token", MAX_TOKEN_BYTES as u64).and_then(|b| {
        DelegationToken::from_json_slice(&b).map_err(|e| (e.to_string(), Exit::InvalidInput))
    }) {
        Ok(t) => t,
        Err((msg, exit)) => return failed(Map::new(), &msg, exit),
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let check = DelegationCheck {
        now: GoTime::now_utc(),
        expected_delegator: opt(&a.delegator),
        expected_delegate: opt(&a.delegate),
        required_scope: parse_csv(a.scope.as_deref()),
        expected_intent_digest: opt(&a.intent_digest),
        expected_policy_digest: opt(&a.policy_digest),
    };
    if let Err(r) = validate_delegation_token(&token, Some(&key), &check) {
        let mut m = Map::new();
        put_str(&mut m, "token_id", &token.token_id);
        put_str(&mut m, "token_path", path);
        put_str(&mut m, "error_code", r.code.as_str());
        let msg = format!("{}: {}", r.code.as_str(), r.detail);
        return failed(m, &msg, Exit::VerifyFailed);
    }
    if out.is_json() {
        let output = DelegationOutput::new(&token, path, "delegation token verified");
        return out.json_typed(&output, Exit::Ok);
    }
    stdout_line(&format!("delegation token ok: {path}"));
    Exit::Ok
}
