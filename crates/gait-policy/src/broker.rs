//! The credential broker: a short-lived credential for a call the gate
//! allows, when a contributing rule sets `require_broker_credential`.
//!
//! This module holds the rules (request, request digest, response
//! normalisation, provider receipts, receipt checks, the env broker's
//! variable names, the refusal of raw secrets) and three brokers behind
//! the [`CredentialBroker`] trait: [`StubBroker`] (deterministic, for
//! tests), [`EnvBroker`] (a token in an environment variable, of which
//! only a hash prefix is kept) and [`CommandBroker`] (a program run
//! without a shell, with a timeout and an output cap). The gate
//! ([`crate::gate::run`], step 4) asks the broker only for a final
//! `allow`; any failure blocks (`broker_credential_missing`).
//!
//! The credential itself never leaves the broker: an [`IssuedCredential`]
//! carries references, bindings and times only, which are what traces,
//! outputs and the evidence record show.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gait_digest::GoTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::intent::Intent;
use crate::policy::Policy;

/// Reason code: a rule requires a broker credential and no broker is
/// configured.
pub const REASON_BROKER_CREDENTIAL_REQUIRED: &str = "broker_credential_required";
/// Reason code and violation: the broker could not issue a credential.
pub const REASON_BROKER_CREDENTIAL_MISSING: &str = "broker_credential_missing";
/// Reason code: the broker issued a credential that passed every check.
pub const REASON_BROKER_CREDENTIAL_PRESENT: &str = "broker_credential_present";
/// Default prefix of the env broker's variables.
pub const DEFAULT_ENV_PREFIX: &str = "GAIT_BROKER_TOKEN_";
/// Environment variable holding the command broker allowlist (CSV).
pub const COMMAND_ALLOWLIST_ENV: &str = "GAIT_CREDENTIAL_COMMAND_ALLOWLIST";
/// The command broker's timeout.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// The command broker's cap on stdout and on stderr, each.
pub const COMMAND_OUTPUT_CAP: usize = 16 * 1024;
/// The longest accepted `credential_ref`, in bytes.
pub const MAX_CREDENTIAL_REF_BYTES: usize = 256;
/// Schema of the evidence record.
pub const RECORD_SCHEMA_ID: &str = "gait.gate.broker_credential_record";

/// Why a broker could not issue a credential. The gate blocks the call
/// (`broker_credential_missing`). Messages never contain the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The request lacks a tool name or an identity.
    #[error("broker request requires {0}")]
    InvalidRequest(&'static str),
    /// The env broker's variable is missing or blank.
    #[error("credential unavailable: {0}")]
    Unavailable(String),
    /// The command broker failed (not startable, non-zero exit, timeout,
    /// oversized or empty output).
    #[error("{0}")]
    Command(String),
    /// The response or receipt is not acceptable.
    #[error("invalid broker response: {0}")]
    InvalidResponse(String),
}

/// Why a broker configuration is refused before anything is decided
/// (exit 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerConfigError {
    /// Not `off`, `none`, `stub`, `env` or `command`.
    #[error("unsupported credential broker: {0}")]
    Unsupported(String),
    /// `command` without a program.
    #[error("command broker requires --credential-command")]
    MissingCommand,
    /// The program is not on `GAIT_CREDENTIAL_COMMAND_ALLOWLIST`.
    #[error("credential command {0:?} is not in GAIT_CREDENTIAL_COMMAND_ALLOWLIST")]
    NotAllowlisted(String),
}

/// The request sent to a broker (`gait.gate.broker_request`), with the
/// reference's Go field names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct BrokerRequest {
    /// The prepared intent's tool name.
    #[serde(rename = "ToolName")]
    pub tool_name: String,
    /// `context.identity`.
    #[serde(rename = "Identity")]
    pub identity: String,
    /// `context.workspace`.
    #[serde(rename = "Workspace")]
    pub workspace: String,
    /// `context.session_id`.
    #[serde(rename = "SessionID")]
    pub session_id: String,
    /// `context.request_id`.
    #[serde(rename = "RequestID")]
    pub request_id: String,
    /// `context.run_id`.
    #[serde(rename = "RunID")]
    pub run_id: String,
    /// `context.job_id`.
    #[serde(rename = "JobID")]
    pub job_id: String,
    /// The credential reference.
    #[serde(rename = "Reference")]
    pub reference: String,
    /// The requested scopes.
    #[serde(rename = "Scope")]
    pub scope: Vec<String>,
    /// `sha256(JCS(targets))` of the intent.
    #[serde(rename = "TargetBinding")]
    pub target_binding: String,
}

/// Overrides of the rules' broker reference and scopes
/// (`--credential-ref`, `--credential-scopes`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerOverrides {
    /// Replaces the rules' reference when not blank.
    pub reference: String,
    /// Merged with the rules' scopes.
    pub scopes: Vec<String>,
}

impl BrokerOverrides {
    /// Overrides with this reference and these scopes.
    pub fn new(reference: &str, scopes: Vec<String>) -> Self {
        Self {
            reference: reference.to_owned(),
            scopes,
        }
    }
}

/// The broker settings a boundary is configured with (the
/// `--credential-*` flags, or the project config's `gate.credential_*`
/// keys), before they are resolved into a broker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerSettings {
    /// `off`, `none`, `stub`, `env` or `command` (case-insensitive; blank is
    /// `off`).
    pub broker: String,
    /// Env broker: the variable-name prefix (blank: [`DEFAULT_ENV_PREFIX`]).
    pub env_prefix: String,
    /// Replaces the rules' broker reference when not blank.
    pub reference: String,
    /// Extra scopes, comma-separated, merged with the rules' scopes.
    pub scopes: String,
    /// Command broker: the program (run without a shell).
    pub command: String,
    /// Command broker: its arguments, comma-separated.
    pub command_args: String,
}

impl BrokerSettings {
    /// Resolves the settings into a broker (`None` for `off`) and the
    /// overrides. `allowlist` is the value of
    /// [`COMMAND_ALLOWLIST_ENV`] (CSV; empty allows any program).
    ///
    /// Resolution happens before anything is decided, whether or not a
    /// rule needs a broker, so that a misconfigured boundary refuses to
    /// start rather than failing later.
    ///
    /// # Errors
    ///
    /// [`BrokerConfigError`]: an unknown broker name, `command` without a
    /// program, or a program off the allowlist.
    pub fn resolve(
        &self,
        allowlist: &str,
    ) -> Result<(Option<Arc<dyn CredentialBroker>>, BrokerOverrides), BrokerConfigError> {
        let name = self.broker.trim();
        let broker: Option<Arc<dyn CredentialBroker>> = match name.to_lowercase().as_str() {
            "" | "off" | "none" => None,
            "stub" => Some(Arc::new(StubBroker)),
            "env" => Some(Arc::new(EnvBroker::new(self.env_prefix.trim()))),
            "command" => {
                let command = self.command.trim();
                if command.is_empty() {
                    return Err(BrokerConfigError::MissingCommand);
                }
                check_command_allowlist(command, allowlist)?;
                Some(Arc::new(CommandBroker::new(
                    command,
                    CommandBroker::split_args(self.command_args.trim()),
                )))
            }
            _ => return Err(BrokerConfigError::Unsupported(name.to_owned())),
        };
        let scopes = self
            .scopes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        Ok((broker, BrokerOverrides::new(self.reference.trim(), scopes)))
    }
}

/// `sha256(JCS(targets))` of an intent's normalised targets (`[]` when
/// it has none).
pub fn target_binding(intent: &Intent) -> String {
    let json = intent.to_json();
    let targets = match json.get("targets") {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        _ => Value::Array(Vec::new()),
    };
    gait_digest::digest_json(&targets).to_hex()
}

fn sorted_unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = items
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

fn lower_unique_keep_order(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for s in items {
        let l = s.trim().to_lowercase();
        if !l.is_empty() && !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

impl BrokerRequest {
    /// The request for `intent` (prepared) under the tier's joined rule
    /// `reference` and `scopes`, with the caller's `overrides`.
    pub fn build(
        intent: &Intent,
        reference: &str,
        scopes: &[String],
        overrides: &BrokerOverrides,
    ) -> Self {
        let ctx = intent.context();
        let reference = if overrides.reference.trim().is_empty() {
            reference.trim()
        } else {
            overrides.reference.trim()
        };
        Self {
            tool_name: intent.tool_name().to_owned(),
            identity: ctx.identity.clone(),
            workspace: ctx.workspace.clone(),
            session_id: ctx.session_id.clone(),
            request_id: ctx.request_id.clone(),
            run_id: ctx.run_id.clone(),
            job_id: ctx.job_id.clone(),
            reference: reference.to_owned(),
            scope: sorted_unique(scopes.iter().chain(&overrides.scopes).cloned()),
            target_binding: target_binding(intent),
        }
    }

    /// The normalised request: strings trimmed, tool name and scopes
    /// lowercased, scopes de-duplicated (order kept). The receipt is
    /// checked against this form (so `Repo:Write` is `repo:write`: D4).
    pub fn normalized(&self) -> Self {
        Self {
            tool_name: self.tool_name.trim().to_lowercase(),
            identity: self.identity.trim().to_owned(),
            workspace: self.workspace.trim().to_owned(),
            session_id: self.session_id.trim().to_owned(),
            request_id: self.request_id.trim().to_owned(),
            run_id: self.run_id.trim().to_owned(),
            job_id: self.job_id.trim().to_owned(),
            reference: self.reference.trim().to_owned(),
            scope: lower_unique_keep_order(&self.scope),
            target_binding: self.target_binding.trim().to_owned(),
        }
    }

    /// The request as JSON (the ten Go field names).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The request digest: `sha256(JCS(normalised request))`, hex.
    pub fn digest(&self) -> String {
        gait_digest::digest_json(&self.normalized().to_json()).to_hex()
    }

    fn validate(&self) -> Result<(), BrokerError> {
        if self.tool_name.trim().is_empty() {
            return Err(BrokerError::InvalidRequest("tool_name"));
        }
        if self.identity.trim().is_empty() {
            return Err(BrokerError::InvalidRequest("identity"));
        }
        Ok(())
    }
}

/// What a broker answers: references, bindings and times; never the
/// credential itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BrokerResponse {
    /// Who issued it (defaults to the broker name).
    pub issued_by: String,
    /// The credential source (lowercased).
    pub source: String,
    /// The access type (lowercased).
    pub access_type: String,
    /// The issuer.
    pub issuer: String,
    /// The subject.
    pub subject: String,
    /// The owner.
    pub owner: String,
    /// Granted scopes (lowercased).
    pub scope: Vec<String>,
    /// A reference to the credential (required).
    pub credential_ref: String,
    /// The target binding it was issued for.
    pub target_binding: String,
    /// The run it is bound to.
    pub run_binding: String,
    /// The job it is bound to.
    pub job_binding: String,
    /// The request digest it answers.
    pub request_digest: String,
    /// When it was issued (zero: unknown).
    #[serde(deserialize_with = "go_time_or_zero")]
    pub issued_at: GoTime,
    /// When it expires (zero: unknown).
    #[serde(deserialize_with = "go_time_or_zero")]
    pub expires_at: GoTime,
    /// Its lifetime in seconds (0: unknown).
    pub ttl_seconds: i64,
}

fn go_time_or_zero<'de, D: serde::Deserializer<'de>>(d: D) -> Result<GoTime, D::Error> {
    let s = String::deserialize(d)?;
    GoTime::parse(&s).map_err(serde::de::Error::custom)
}

impl BrokerResponse {
    /// The issuer shown in outputs: `issuer`, else `issued_by`.
    pub fn display_issuer(&self) -> &str {
        if self.issuer.is_empty() {
            &self.issued_by
        } else {
            &self.issuer
        }
    }

    /// Normalises a response of broker `broker` to `request` at `now`
    /// (defaults, lowercasing, derived times and TTL) and checks its
    /// `credential_ref` (non-empty, at most 256 bytes, no CR/LF/TAB, no
    /// raw secret).
    ///
    /// # Errors
    ///
    /// [`BrokerError::InvalidResponse`] when the reference is unusable.
    pub fn normalize(
        mut self,
        broker: &str,
        request: &BrokerRequest,
        now: GoTime,
    ) -> Result<Self, BrokerError> {
        let trim = |s: &mut String| {
            let t = s.trim();
            if t.len() != s.len() {
                *s = t.to_owned();
            }
        };
        for s in [
            &mut self.issued_by,
            &mut self.source,
            &mut self.access_type,
            &mut self.issuer,
            &mut self.subject,
            &mut self.owner,
            &mut self.credential_ref,
            &mut self.target_binding,
            &mut self.run_binding,
            &mut self.job_binding,
            &mut self.request_digest,
        ] {
            trim(s);
        }
        if self.issued_by.is_empty() {
            broker.clone_into(&mut self.issued_by);
        }
        self.source = self.source.to_lowercase();
        if self.source.is_empty() {
            self.source = broker.to_lowercase();
        }
        self.access_type = self.access_type.to_lowercase();
        self.scope = lower_unique_keep_order(&self.scope);
        self.request_digest = self.request_digest.to_lowercase();
        if self.request_digest.is_empty() {
            self.request_digest = request.digest();
        }
        check_credential_ref(&self.credential_ref)?;
        self.issued_at = self.issued_at.to_utc();
        self.expires_at = self.expires_at.to_utc();
        if self.issued_at.is_zero() && !self.expires_at.is_zero() {
            self.issued_at = now.to_utc();
        }
        if !self.issued_at.is_zero()
            && !self.expires_at.is_zero()
            && self.expires_at.is_after(&self.issued_at)
            && self.ttl_seconds == 0
        {
            self.ttl_seconds = self
                .expires_at
                .unix_seconds()
                .saturating_sub(self.issued_at.unix_seconds());
        }
        if self.ttl_seconds > 0 && !self.issued_at.is_zero() && self.expires_at.is_zero() {
            self.expires_at = self.issued_at.add_seconds(self.ttl_seconds);
        }
        Ok(self)
    }
}

/// Checks a `credential_ref`: non-empty, at most 256 bytes, free of CR,
/// LF and TAB, and not raw credential material. Applied to every
/// receipt, plain or provider (D14).
///
/// # Errors
///
/// [`BrokerError::InvalidResponse`] naming the problem (never the value).
pub fn check_credential_ref(value: &str) -> Result<(), BrokerError> {
    if value.trim().is_empty() {
        return Err(BrokerError::InvalidResponse(
            "credential_ref is required".into(),
        ));
    }
    if value.len() > MAX_CREDENTIAL_REF_BYTES {
        return Err(BrokerError::InvalidResponse(format!(
            "credential_ref exceeds {MAX_CREDENTIAL_REF_BYTES} bytes"
        )));
    }
    if value.contains(['\r', '\n', '\t']) {
        return Err(BrokerError::InvalidResponse(
            "credential_ref must not contain control characters".into(),
        ));
    }
    refuse_secret("credential_ref", value)
}

const REF_PREFIXES: [&str; 11] = [
    "ref:",
    "stub:",
    "cmd:",
    "env:",
    "aws_sts:",
    "github_oidc:",
    "vault_dynamic:",
    "gcp_sts:",
    "azure_federated:",
    "okta_cyberark:",
    "file:",
];
const SECRET_PREFIXES: [&str; 6] = ["ghp_", "gho_", "github_pat_", "sk-", "akia", "asia"];

/// Whether `value` looks like raw credential material: it starts
/// (case-insensitively) with `ghp_ gho_ github_pat_ sk- AKIA ASIA`, unless
/// it starts with a reference prefix (`ref: stub: cmd: env: aws_sts:
/// github_oidc: vault_dynamic: gcp_sts: azure_federated: okta_cyberark:
/// file:`).
pub fn looks_like_secret(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    if REF_PREFIXES.iter().any(|p| v.starts_with(p)) {
        return false;
    }
    SECRET_PREFIXES.iter().any(|p| v.starts_with(p))
}

fn refuse_secret(field: &str, value: &str) -> Result<(), BrokerError> {
    if looks_like_secret(value) {
        return Err(BrokerError::InvalidResponse(format!(
            "{field} must not contain raw credential material"
        )));
    }
    Ok(())
}

/// Issues a credential for a call.
///
/// Implementations must not put the credential itself in the response:
/// only a reference to it. Errors block the call.
pub trait CredentialBroker: Send + Sync + std::fmt::Debug {
    /// The broker's name (`stub`, `env`, `command`, …): the default of
    /// `issued_by` and `source`.
    fn name(&self) -> &str;

    /// Issues a credential for `request`.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when no credential can be issued.
    fn issue(&self, request: &BrokerRequest) -> Result<BrokerResponse, BrokerError>;
}

/// A credential a broker issued, normalised, with the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedCredential {
    /// The request as built (before normalisation).
    pub request: BrokerRequest,
    /// The request's digest.
    pub request_digest: String,
    /// The normalised response.
    pub response: BrokerResponse,
}

/// Validates `request`, asks `broker`, and normalises its answer.
///
/// # Errors
///
/// [`BrokerError`] when the request is incomplete, the broker fails, or
/// the response is unusable.
pub fn issue(
    broker: &dyn CredentialBroker,
    request: &BrokerRequest,
    now: GoTime,
) -> Result<IssuedCredential, BrokerError> {
    request.validate()?;
    let response = broker.issue(request)?;
    let response = response.normalize(broker.name(), request, now)?;
    Ok(IssuedCredential {
        request: request.clone(),
        request_digest: request.digest(),
        response,
    })
}

/// The evidence record `gait.gate.broker_credential_record` 1.0.0.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BrokerCredentialRecord {
    schema_id: &'static str,
    schema_version: &'static str,
    created_at: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    producer_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    trace_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    tool_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    identity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    broker: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    reference: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_access_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_issuer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_subject: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_owner: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scope: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    credential_ref: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    target_binding: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    run_binding: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    job_binding: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    request_digest: String,
    issued_at: GoTime,
    expires_at: GoTime,
    #[serde(skip_serializing_if = "is_zero")]
    ttl_seconds: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl IssuedCredential {
    /// The evidence record of this credential for the trace `trace_id`,
    /// dated `created_at` (the gate result's time).
    pub fn evidence_record(
        &self,
        trace_id: &str,
        created_at: GoTime,
        producer_version: &str,
    ) -> BrokerCredentialRecord {
        let r = &self.response;
        let q = self.request.normalized();
        BrokerCredentialRecord {
            schema_id: RECORD_SCHEMA_ID,
            schema_version: "1.0.0",
            created_at: created_at.to_utc(),
            producer_version: producer_version.to_owned(),
            trace_id: trace_id.to_owned(),
            tool_name: q.tool_name,
            identity: q.identity,
            broker: r.issued_by.clone(),
            reference: q.reference,
            credential_source: r.source.clone(),
            credential_access_type: r.access_type.clone(),
            credential_issuer: r.display_issuer().to_owned(),
            credential_subject: r.subject.clone(),
            credential_owner: r.owner.clone(),
            scope: q.scope,
            credential_ref: r.credential_ref.clone(),
            target_binding: r.target_binding.clone(),
            run_binding: r.run_binding.clone(),
            job_binding: r.job_binding.clone(),
            request_digest: r.request_digest.clone(),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            ttl_seconds: r.ttl_seconds,
        }
    }
}

// ------------------------------------------------------------ receipt checks

const STANDING_ACCESS_TYPES: [&str; 6] = [
    "",
    "cloud_admin",
    "inherited",
    "standing",
    "static",
    "unknown",
];

/// Checks an issued credential against every rule named in
/// `matched_rule` (comma-joined) and against the intent: digest, scope,
/// TTL, JIT, standing, allowed lists, reference and bindings. Returns the
/// findings (each a reason code and violation), sorted and unique; empty
/// when the receipt is acceptable.
pub fn check_receipt(
    policy: &Policy,
    matched_rule: &str,
    issued: &IssuedCredential,
    intent: &Intent,
) -> Vec<String> {
    let mut findings: Vec<&'static str> = Vec::new();
    let r = &issued.response;
    // Compared in the normalised form the broker received (D4).
    let request = issued.request.normalized();
    let ctx = intent.context();
    let rules = matched_rule
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .filter_map(|n| policy.rule(n));
    let mut any_rule = false;
    for rule in rules {
        any_rule = true;
        if r.request_digest != issued.request_digest {
            findings.push("broker_request_digest_mismatch");
        }
        if !request.scope.is_empty() && request.scope.iter().any(|s| !r.scope.contains(s)) {
            findings.push("broker_scope_mismatch");
        }
        if rule.max_credential_ttl_seconds > 0
            && (r.ttl_seconds <= 0
                || u64::try_from(r.ttl_seconds).unwrap_or(u64::MAX)
                    > rule.max_credential_ttl_seconds)
        {
            findings.push("broker_ttl_exceeded");
        }
        if rule.require_jit_credential && r.access_type != "jit" {
            findings.push("credential_not_jit");
        }
        if rule.block_standing_credentials
            && STANDING_ACCESS_TYPES.contains(&r.access_type.as_str())
        {
            findings.push("standing_credential_disallowed");
        }
        if !rule.allowed_credential_sources.is_empty()
            && (r.source.is_empty() || !rule.allowed_credential_sources.contains(&r.source))
        {
            findings.push("credential_source_disallowed");
        }
        let issuer = r.display_issuer();
        if !rule.allowed_credential_issuers.is_empty()
            && (issuer.is_empty()
                || !rule
                    .allowed_credential_issuers
                    .iter()
                    .any(|i| i.trim() == issuer))
        {
            findings.push("credential_issuer_disallowed");
        }
        if !rule.allowed_credential_access_types.is_empty()
            && (r.access_type.is_empty()
                || !rule
                    .allowed_credential_access_types
                    .contains(&r.access_type))
        {
            findings.push("credential_access_type_disallowed");
        }
    }
    if any_rule {
        let intent_ref = ctx.credential_ref.trim();
        if !intent_ref.is_empty() && intent_ref != r.credential_ref {
            findings.push("broker_credential_ref_mismatch");
        }
        if r.target_binding != request.target_binding {
            findings.push("broker_target_binding_mismatch");
        }
        let run = ctx.run_id.trim();
        if !run.is_empty() && r.run_binding != run {
            findings.push("broker_run_binding_mismatch");
        }
        let job = ctx.job_id.trim();
        if !job.is_empty() && r.job_binding != job {
            findings.push("broker_job_binding_mismatch");
        }
    }
    let mut out: Vec<String> = findings.into_iter().map(str::to_owned).collect();
    out.sort();
    out.dedup();
    out
}

// --------------------------------------------------------------------- stub

/// The deterministic test broker: a `stub:` reference derived from the
/// request, JIT, five minutes.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct StubBroker;

impl StubBroker {
    /// The stub's reference for `request` (normalised):
    /// `stub:` + the first 24 hex digits of
    /// `sha256(ToolName|Identity|Workspace|SessionID|RequestID|Reference|Scope…)`.
    pub fn credential_ref(request: &BrokerRequest) -> String {
        let q = request.normalized();
        let text = [
            q.tool_name.as_str(),
            &q.identity,
            &q.workspace,
            &q.session_id,
            &q.request_id,
            &q.reference,
            &q.scope.join(","),
        ]
        .join("|");
        let hex = gait_digest::sha256(text.as_bytes()).to_hex();
        format!("stub:{}", hex.get(..24).unwrap_or(&hex))
    }
}

impl CredentialBroker for StubBroker {
    fn name(&self) -> &str {
        "stub"
    }

    fn issue(&self, request: &BrokerRequest) -> Result<BrokerResponse, BrokerError> {
        let q = request.normalized();
        let now = GoTime::now_utc();
        Ok(BrokerResponse {
            issued_by: "stub".into(),
            source: "stub".into(),
            access_type: "jit".into(),
            issuer: "stub".into(),
            subject: q.identity.clone(),
            owner: q.identity.clone(),
            scope: q.scope.clone(),
            credential_ref: Self::credential_ref(request),
            target_binding: q.target_binding.clone(),
            run_binding: q.run_id.clone(),
            job_binding: q.job_id.clone(),
            request_digest: request.digest(),
            issued_at: now,
            expires_at: now.add_seconds(300),
            ttl_seconds: 300,
        })
    }
}

// ---------------------------------------------------------------------- env

/// Looks up an environment variable.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The env broker: the credential is the value of `prefix +
/// N(reference)`; only `env:KEY:` and a 16-digit hash prefix of the value
/// are kept.
#[derive(Clone)]
pub struct EnvBroker {
    prefix: String,
    lookup: EnvLookup,
}

impl std::fmt::Debug for EnvBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvBroker")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl EnvBroker {
    /// An env broker reading the process environment; a blank `prefix`
    /// is [`DEFAULT_ENV_PREFIX`].
    pub fn new(prefix: &str) -> Self {
        Self::with_lookup(prefix, Arc::new(|k: &str| std::env::var(k).ok()))
    }

    /// An env broker reading variables through `lookup`.
    pub fn with_lookup(prefix: &str, lookup: EnvLookup) -> Self {
        let p = prefix.trim();
        Self {
            prefix: if p.is_empty() {
                DEFAULT_ENV_PREFIX.to_owned()
            } else {
                p.to_owned()
            },
            lookup,
        }
    }

    /// The variable holding the credential for `request`.
    pub fn key(&self, request: &BrokerRequest) -> String {
        let q = request.normalized();
        let base = if q.reference.is_empty() {
            &q.tool_name
        } else {
            &q.reference
        };
        format!("{}{}", self.prefix, env_name(base))
    }

    fn var(&self, key: &str) -> String {
        (self.lookup)(key)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }
}

/// The env broker's name for a reference: trimmed and uppercased, each
/// `.` and `-` turned into `_`, every run of other characters outside
/// `[A-Z0-9_]` into one `_`, `_` trimmed at both ends; `DEFAULT` when
/// nothing is left.
pub fn env_name(reference: &str) -> String {
    let upper = reference.trim().to_uppercase();
    let mut out = String::with_capacity(upper.len());
    let mut in_run = false;
    for c in upper.chars() {
        if c == '.' || c == '-' {
            out.push('_');
            in_run = false;
        } else if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    let t = out.trim_matches('_');
    if t.is_empty() {
        "DEFAULT".to_owned()
    } else {
        t.to_owned()
    }
}

impl CredentialBroker for EnvBroker {
    fn name(&self) -> &str {
        "env"
    }

    fn issue(&self, request: &BrokerRequest) -> Result<BrokerResponse, BrokerError> {
        let q = request.normalized();
        let key = self.key(request);
        let value = self.var(&key);
        if value.is_empty() {
            return Err(BrokerError::Unavailable(key));
        }
        let hash = gait_digest::sha256(value.as_bytes()).to_hex();
        let credential_ref = format!("env:{key}:{}", hash.get(..16).unwrap_or(&hash));
        let opt = |suffix: &str, default: &str| {
            let v = self.var(&format!("{key}_{suffix}"));
            if v.is_empty() { default.to_owned() } else { v }
        };
        let scope_csv = self.var(&format!("{key}_SCOPE"));
        let scope = if scope_csv.is_empty() {
            q.scope.clone()
        } else {
            scope_csv
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let time = |suffix: &str| {
            GoTime::parse(&self.var(&format!("{key}_{suffix}"))).unwrap_or(GoTime::ZERO)
        };
        let ttl = self
            .var(&format!("{key}_TTL_SECONDS"))
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(0);
        Ok(BrokerResponse {
            issued_by: "env".into(),
            source: opt("SOURCE", "env"),
            access_type: opt("ACCESS_TYPE", "unknown"),
            issuer: opt("ISSUER", "env"),
            subject: opt("SUBJECT", &q.identity),
            owner: opt("OWNER", &q.identity),
            scope,
            credential_ref,
            target_binding: opt("TARGET_BINDING", &q.target_binding),
            run_binding: opt("RUN_BINDING", &q.run_id),
            job_binding: opt("JOB_BINDING", &q.job_id),
            request_digest: String::new(),
            issued_at: time("ISSUED_AT"),
            expires_at: time("EXPIRES_AT"),
            ttl_seconds: ttl,
        })
    }
}

// ------------------------------------------------------------------ command

/// Checks `command` against an allowlist (CSV, as in
/// `GAIT_CREDENTIAL_COMMAND_ALLOWLIST`): items are trimmed and
/// path-cleaned, empty items dropped; with any item left, the cleaned
/// command or its base name must equal one.
///
/// # Errors
///
/// [`BrokerConfigError::NotAllowlisted`].
pub fn check_command_allowlist(command: &str, allowlist: &str) -> Result<(), BrokerConfigError> {
    let items: Vec<String> = allowlist
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(gait_digest::clean_path)
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    let cleaned = gait_digest::clean_path(command.trim());
    let base = cleaned.rsplit('/').next().unwrap_or(&cleaned).to_owned();
    if items.iter().any(|i| *i == cleaned || *i == base) {
        Ok(())
    } else {
        Err(BrokerConfigError::NotAllowlisted(command.trim().to_owned()))
    }
}

/// The variables a command broker inherits; everything else is cleared.
pub const COMMAND_ENV_PASSTHROUGH: [&str; 9] = [
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "USER",
    "SYSTEMROOT",
];

/// The command broker: runs a program (no shell) with the normalised
/// request as compact JSON on stdin and reads its receipt from stdout.
/// Stderr is capped and discarded, never parsed (D11). A program that
/// cannot start, exits non-zero, runs past the timeout (it is killed),
/// writes more than 16 KiB on either stream, or prints nothing usable is
/// an issue error.
#[derive(Debug, Clone)]
pub struct CommandBroker {
    program: String,
    args: Vec<String>,
    timeout: Duration,
    env: Vec<String>,
}

impl CommandBroker {
    /// A broker running `program` with `args`.
    pub fn new(program: &str, args: Vec<String>) -> Self {
        Self {
            program: program.trim().to_owned(),
            args,
            timeout: COMMAND_TIMEOUT,
            env: COMMAND_ENV_PASSTHROUGH
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }

    /// Splits CSV arguments (`--credential-command-args`): items trimmed,
    /// empty items dropped.
    pub fn split_args(csv: &str) -> Vec<String> {
        csv.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Uses `timeout` instead of 5 s.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Also passes the variable `name` to the program, when set.
    #[must_use]
    pub fn pass_env(mut self, name: &str) -> Self {
        self.env.push(name.to_owned());
        self
    }

    fn run(&self, input: &[u8]) -> Result<Vec<u8>, BrokerError> {
        if self.program.is_empty() || self.program.chars().any(char::is_whitespace) {
            return Err(BrokerError::Command(
                "credential command must be a single program path without whitespace".into(),
            ));
        }
        let mut cmd = std::process::Command::new(&self.program);
        cmd.args(&self.args)
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for name in &self.env {
            if let Some(v) = std::env::var_os(name) {
                cmd.env(name, v);
            }
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| BrokerError::Command(format!("start credential command: {e}")))?;
        let over = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel::<(bool, Vec<u8>)>();
        let mut readers = 0;
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, true, over.clone(), tx.clone());
            readers += 1;
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, false, over.clone(), tx.clone());
            readers += 1;
        }
        drop(tx);
        if let Some(mut stdin) = child.stdin.take() {
            let input = input.to_vec();
            // A program that never reads its input must not block us: a
            // broken pipe is ignored, and the write runs on its own thread.
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            if over.load(Ordering::SeqCst) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(over_cap());
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(BrokerError::Command(format!(
                        "wait credential command: {e}"
                    )));
                }
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(BrokerError::Command("command broker timed out".into()));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut stdout = Vec::new();
        for _ in 0..readers {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((true, bytes)) => stdout = bytes,
                Ok((false, _)) => {}
                Err(_) => return Err(BrokerError::Command("command broker timed out".into())),
            }
        }
        if over.load(Ordering::SeqCst) {
            return Err(over_cap());
        }
        if !status.success() {
            return Err(BrokerError::Command(format!(
                "credential command failed: {status}"
            )));
        }
        Ok(stdout)
    }
}

fn over_cap() -> BrokerError {
    BrokerError::Command(format!(
        "credential command output exceeds {COMMAND_OUTPUT_CAP} bytes"
    ))
}

fn spawn_reader<R: Read + Send + 'static>(
    stream: R,
    is_stdout: bool,
    over: Arc<AtomicBool>,
    tx: std::sync::mpsc::Sender<(bool, Vec<u8>)>,
) {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let limit = u64::try_from(COMMAND_OUTPUT_CAP).unwrap_or(u64::MAX) + 1;
        let _ = stream.take(limit).read_to_end(&mut buf);
        if buf.len() > COMMAND_OUTPUT_CAP {
            over.store(true, Ordering::SeqCst);
        }
        let _ = tx.send((is_stdout, buf));
    });
}

impl CredentialBroker for CommandBroker {
    fn name(&self) -> &str {
        "command"
    }

    fn issue(&self, request: &BrokerRequest) -> Result<BrokerResponse, BrokerError> {
        let input = serde_json::to_vec(&request.normalized())
            .map_err(|e| BrokerError::Command(format!("encode request: {e}")))?;
        let out = self.run(&input)?;
        parse_receipt(&out, request)
    }
}

/// Parses a command broker's stdout: a provider receipt (an object with a
/// recognised `provider`), else a plain response object.
///
/// # Errors
///
/// [`BrokerError::InvalidResponse`] for empty output, anything that is not
/// such an object, bad types or times, an unusable or secret-looking
/// reference.
pub fn parse_receipt(
    output: &[u8],
    request: &BrokerRequest,
) -> Result<BrokerResponse, BrokerError> {
    let text = std::str::from_utf8(output)
        .map_err(|_| BrokerError::InvalidResponse("output is not UTF-8".into()))?
        .trim();
    if text.is_empty() {
        return Err(BrokerError::InvalidResponse("empty output".into()));
    }
    let q = request.normalized();
    if text.starts_with('{') {
        // Decode errors never quote the output: it may hold a secret.
        let value = gait_digest::canonical::parse_strict(text.as_bytes()).map_err(|_| {
            BrokerError::InvalidResponse("decode: malformed or ambiguous JSON".into())
        })?;
        if let Some(provider) = value
            .get("provider")
            .and_then(Value::as_str)
            .and_then(provider_name)
        {
            return provider_receipt(provider, &value, &q);
        }
    }
    let mut r: BrokerResponse = serde_json::from_str(text).map_err(|e| {
        BrokerError::InvalidResponse(format!(
            "decode: not a receipt object (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if r.scope.is_empty() {
        r.scope.clone_from(&q.scope);
    }
    default_bindings(&mut r, &q);
    if r.issued_by.trim().is_empty() {
        r.issued_by = "command".into();
    }
    r.credential_ref = r.credential_ref.trim().to_owned();
    check_credential_ref(&r.credential_ref)?;
    Ok(r)
}

fn default_bindings(r: &mut BrokerResponse, q: &BrokerRequest) {
    if r.target_binding.trim().is_empty() {
        r.target_binding.clone_from(&q.target_binding);
    }
    if r.run_binding.trim().is_empty() {
        r.run_binding.clone_from(&q.run_id);
    }
    if r.job_binding.trim().is_empty() {
        r.job_binding.clone_from(&q.job_id);
    }
}

fn provider_name(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_lowercase().as_str() {
        "aws" | "aws_sts" | "sts" => "aws_sts",
        "github" | "github_oidc" | "oidc" => "github_oidc",
        "vault" | "vault_dynamic" => "vault_dynamic",
        "gcp" | "gcp_sts" => "gcp_sts",
        "azure" | "azure_federated" => "azure_federated",
        "okta" | "cyberark" | "okta_cyberark" => "okta_cyberark",
        "command" => "command",
        "file" => "file",
        _ => return None,
    })
}

fn provider_issuer(provider: &str) -> &'static str {
    match provider {
        "aws_sts" => "sts.amazonaws.com",
        "github_oidc" => "token.actions.githubusercontent.com",
        "vault_dynamic" => "vault",
        "gcp_sts" => "sts.googleapis.com",
        "azure_federated" => "login.microsoftonline.com",
        "okta_cyberark" => "okta-cyberark",
        "command" => "command",
        _ => "file",
    }
}

fn provider_receipt(
    provider: &'static str,
    v: &Value,
    q: &BrokerRequest,
) -> Result<BrokerResponse, BrokerError> {
    let s = |key: &str| -> Result<String, BrokerError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.trim().to_owned()),
            Some(_) => Err(BrokerError::InvalidResponse(format!(
                "{key} must be a string"
            ))),
        }
    };
    let time = |key: &str| -> Result<GoTime, BrokerError> {
        let t = s(key)?;
        if t.is_empty() {
            return Ok(GoTime::ZERO);
        }
        GoTime::parse(&t)
            .map_err(|_| BrokerError::InvalidResponse(format!("{key} must be RFC 3339")))
    };
    let scope = match v.get("scope") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str().map(|s| s.trim().to_owned()).ok_or_else(|| {
                    BrokerError::InvalidResponse("scope must be a list of strings".into())
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => {
            return Err(BrokerError::InvalidResponse(
                "scope must be a list of strings".into(),
            ));
        }
    };
    let ttl_seconds = match v.get("ttl_seconds") {
        None | Some(Value::Null) => 0,
        Some(n) => n
            .as_i64()
            .ok_or_else(|| BrokerError::InvalidResponse("ttl_seconds must be an integer".into()))?,
    };
    for key in ["session_arn", "lease_id", "broker_session_id"] {
        refuse_secret(key, &s(key)?)?;
    }
    let mut credential_ref = s("credential_ref")?;
    if credential_ref.is_empty() {
        let need = |key: &str| -> Result<String, BrokerError> {
            let x = s(key)?;
            if x.is_empty() {
                Err(BrokerError::InvalidResponse(format!(
                    "{provider} receipt requires credential_ref or {key}"
                )))
            } else {
                Ok(x)
            }
        };
        let either = |a: &str, b: &str| -> Result<String, BrokerError> {
            let x = s(a)?;
            if x.is_empty() { need(b) } else { Ok(x) }
        };
        let with_opt = |base: String, key: &str| -> Result<String, BrokerError> {
            let x = s(key)?;
            Ok(if x.is_empty() {
                base
            } else {
                format!("{base}:{x}")
            })
        };
        credential_ref = match provider {
            "aws_sts" => format!("aws_sts:{}", either("assumed_role_arn", "session_arn")?),
            "github_oidc" => with_opt(
                format!("github_oidc:{}", need("repository")?),
                "workflow_ref",
            )?,
            "vault_dynamic" => format!("vault_dynamic:{}", need("lease_id")?),
            "gcp_sts" => format!(
                "gcp_sts:{}",
                either("principal", "workload_identity_provider")?
            ),
            "azure_federated" => with_opt(
                format!("azure_federated:{}", need("service_principal_id")?),
                "federated_credential_id",
            )?,
            "okta_cyberark" => format!("okta_cyberark:{}", need("broker_session_id")?),
            _ => {
                return Err(BrokerError::InvalidResponse(format!(
                    "{provider} receipt requires credential_ref"
                )));
            }
        };
    }
    // D14: the same reference checks as a plain response.
    check_credential_ref(&credential_ref)?;
    let or = |x: String, d: &str| if x.is_empty() { d.to_owned() } else { x };
    let mut r = BrokerResponse {
        issued_by: or(s("issued_by")?, provider),
        source: or(s("source")?, provider).to_lowercase(),
        access_type: or(s("access_type")?, "jit").to_lowercase(),
        issuer: or(s("issuer")?, provider_issuer(provider)),
        subject: or(s("subject")?, &q.identity),
        owner: or(s("owner")?, &q.identity),
        scope: if scope.is_empty() {
            q.scope.clone()
        } else {
            scope
        },
        credential_ref,
        target_binding: s("target_binding")?,
        run_binding: s("run_binding")?,
        job_binding: s("job_binding")?,
        request_digest: s("request_digest")?,
        issued_at: time("issued_at")?,
        expires_at: time("expires_at")?,
        ttl_seconds,
    };
    default_bindings(&mut r, q);
    if r.request_digest.is_empty() {
        r.request_digest = q.digest();
    }
    Ok(r)
}

#[cfg(test)]
mod tests;
