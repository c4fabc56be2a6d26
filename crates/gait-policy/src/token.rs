//! Approval and delegation tokens.
//!
//! An **approval token** (`gait.gate.approval_token` 1.0.0) says that a
//! named approver allows one exact tool call: it is bound to the intent
//! digest and the policy digest, scoped (`tool:<name>`, and `phase:apply`
//! plus `destructive:apply` for destructive calls), optionally bounded in
//! targets and operations, and it expires.
//!
//! A **delegation token** (`gait.gate.delegation_token` 1.0.0) says that a
//! delegator lets a delegate act within a scope, optionally bound to an
//! intent and a policy.
//!
//! Both are signed like every Gait document: Ed25519 over the SHA-256 of
//! the canonical JSON of the token without its `signature`. Validation first
//! normalizes the token (trimming, lowercasing digests and scopes) and
//! verifies the signature over the normalized token, then checks the
//! bindings in a fixed order; the first failure decides the reason code.

use std::collections::BTreeSet;

use gait_digest::{GoTime, Sha256Digest, null_as_default, sha256};
use gait_sign::{Approval, Delegation, Role, SignatureEnvelope, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// `schema_id` of approval tokens.
pub const APPROVAL_TOKEN_SCHEMA_ID: &str = "gait.gate.approval_token";
/// `schema_id` of delegation tokens.
pub const DELEGATION_TOKEN_SCHEMA_ID: &str = "gait.gate.delegation_token";
/// `schema_version` of both token kinds.
pub const TOKEN_SCHEMA_VERSION: &str = "1.0.0";
/// The largest token file accepted.
pub const MAX_TOKEN_BYTES: usize = 1 << 20;

/// Why a token file could not be read, a token is invalid, or a token
/// could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token text is larger than [`MAX_TOKEN_BYTES`].
    #[error("parse {kind} token: larger than {max} bytes", max = MAX_TOKEN_BYTES)]
    TooLarge {
        /// `approval` or `delegation`.
        kind: &'static str,
    },
    /// The token text is not strict JSON.
    #[error("parse {kind} token: {source}")]
    Json {
        /// `approval` or `delegation`.
        kind: &'static str,
        /// The parser's reason.
        #[source]
        source: gait_digest::Error,
    },
    /// The JSON is not a token.
    #[error("parse {kind} token: {source}")]
    Decode {
        /// `approval` or `delegation`.
        kind: &'static str,
        /// The decoder's reason.
        #[source]
        source: serde_json::Error,
    },
    /// `schema_id` is not the token kind's.
    #[error("unsupported schema_id: {0}")]
    UnsupportedSchemaId(String),
    /// `schema_version` is not [`TOKEN_SCHEMA_VERSION`].
    #[error("unsupported schema_version: {0}")]
    UnsupportedSchemaVersion(String),
    /// A required token field is empty.
    #[error("{0} is required")]
    MissingField(&'static str),
    /// A required digest field is not 64 hex characters.
    #[error("{0} must be sha256 hex")]
    NotDigest(&'static str),
    /// An optional digest field is set and not 64 hex characters.
    #[error("{0} must be sha256 hex when set")]
    NotDigestWhenSet(&'static str),
    /// A delegation token lacks its delegator or delegate.
    #[error("delegator_identity and delegate_identity are required")]
    MissingDelegationParties,
    /// A bound (`max_targets`, `max_ops`) is negative.
    #[error("{0} must be >= 0")]
    NegativeBound(&'static str),
    /// Minting: the lifetime is not positive.
    #[error("ttl must be greater than 0")]
    NonPositiveTtl,
    /// Minting: no approver identity.
    #[error("approver identity is required")]
    MissingApprover,
    /// Minting: no reason code.
    #[error("reason code is required")]
    MissingReasonCode,
    /// Minting: no delegator or no delegate.
    #[error("delegator and delegate identities are required")]
    MissingMintParties,
    /// Minting: the scope is empty.
    #[error("scope must include at least one value")]
    EmptyScope,
    /// Minting: the token could not be signed.
    #[error("{0}")]
    Sign(#[source] gait_sign::Error),
}

/// The reason code of an approval token that did not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApprovalTokenCode {
    /// `approval_token_invalid`
    Invalid,
    /// `approval_token_signature_missing`
    SignatureMissing,
    /// `approval_token_signature_invalid`
    SignatureInvalid,
    /// `approval_token_intent_mismatch`
    IntentMismatch,
    /// `approval_token_policy_mismatch`
    PolicyMismatch,
    /// `approval_token_delegation_binding_mismatch`
    DelegationBindingMismatch,
    /// `approval_token_expired`
    Expired,
    /// `approval_token_scope_mismatch`
    ScopeMismatch,
    /// `approval_token_max_targets_exceeded`
    MaxTargetsExceeded,
    /// `approval_token_max_ops_exceeded`
    MaxOpsExceeded,
}

impl ApprovalTokenCode {
    /// The reason-code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "approval_token_invalid",
            Self::SignatureMissing => "approval_token_signature_missing",
            Self::SignatureInvalid => "approval_token_signature_invalid",
            Self::IntentMismatch => "approval_token_intent_mismatch",
            Self::PolicyMismatch => "approval_token_policy_mismatch",
            Self::DelegationBindingMismatch => "approval_token_delegation_binding_mismatch",
            Self::Expired => "approval_token_expired",
            Self::ScopeMismatch => "approval_token_scope_mismatch",
            Self::MaxTargetsExceeded => "approval_token_max_targets_exceeded",
            Self::MaxOpsExceeded => "approval_token_max_ops_exceeded",
        }
    }
}

/// The reason code of a delegation token that did not validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DelegationTokenCode {
    /// `delegation_token_invalid`
    Invalid,
    /// `delegation_token_signature_missing`
    SignatureMissing,
    /// `delegation_token_signature_invalid`
    SignatureInvalid,
    /// `delegation_token_expired`
    Expired,
    /// `delegation_token_delegator_mismatch`
    DelegatorMismatch,
    /// `delegation_token_delegate_mismatch`
    DelegateMismatch,
    /// `delegation_token_intent_mismatch`
    IntentMismatch,
    /// `delegation_token_policy_mismatch`
    PolicyMismatch,
    /// `delegation_token_scope_mismatch`
    ScopeMismatch,
    /// `delegation_token_chain_mismatch`
    ChainMismatch,
    /// `delegation_token_missing`
    Missing,
}

impl DelegationTokenCode {
    /// The reason-code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "delegation_token_invalid",
            Self::SignatureMissing => "delegation_token_signature_missing",
            Self::SignatureInvalid => "delegation_token_signature_invalid",
            Self::Expired => "delegation_token_expired",
            Self::DelegatorMismatch => "delegation_token_delegator_mismatch",
            Self::DelegateMismatch => "delegation_token_delegate_mismatch",
            Self::IntentMismatch => "delegation_token_intent_mismatch",
            Self::PolicyMismatch => "delegation_token_policy_mismatch",
            Self::ScopeMismatch => "delegation_token_scope_mismatch",
            Self::ChainMismatch => "delegation_token_chain_mismatch",
            Self::Missing => "delegation_token_missing",
        }
    }
}

/// A token that did not validate: the reason code and a detail message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<C> {
    /// The reason code.
    pub code: C,
    /// Why, for humans.
    pub detail: String,
}

fn reject<C>(code: C, detail: impl Into<String>) -> Rejection<C> {
    Rejection {
        code,
        detail: detail.into(),
    }
}

fn is_go_zero_i64(v: &i64) -> bool {
    *v == 0
}

/// An approval token as stored in `approval_<token_id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalToken {
    /// `gait.gate.approval_token`
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    /// `1.0.0`
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    /// When the token was minted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    /// The version of the minting binary.
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    /// The token id (24 hex).
    #[serde(default, deserialize_with = "null_as_default")]
    pub token_id: String,
    /// Who approved.
    #[serde(default, deserialize_with = "null_as_default")]
    pub approver_identity: String,
    /// Why (free text, for example a change ticket).
    #[serde(default, deserialize_with = "null_as_default")]
    pub reason_code: String,
    /// The approved intent's digest.
    #[serde(default, deserialize_with = "null_as_default")]
    pub intent_digest: String,
    /// The policy digest the approval is bound to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub policy_digest: String,
    /// The digest of the intent's normalized delegation, when delegated.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub delegation_binding_digest: String,
    /// What the approval covers (`tool:<name>`, `phase:apply`, `*`, …).
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: Vec<String>,
    /// Largest number of targets covered (0: unbounded).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_go_zero_i64"
    )]
    pub max_targets: i64,
    /// Largest number of operations covered (0: unbounded).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_go_zero_i64"
    )]
    pub max_ops: i64,
    /// Expiry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub expires_at: GoTime,
    /// The signature over the token without this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureEnvelope>,
}

/// A delegation token as stored in `delegation_<token_id>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DelegationToken {
    /// `gait.gate.delegation_token`
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_id: String,
    /// `1.0.0`
    #[serde(default, deserialize_with = "null_as_default")]
    pub schema_version: String,
    /// When the token was minted.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created_at: GoTime,
    /// The version of the minting binary.
    #[serde(default, deserialize_with = "null_as_default")]
    pub producer_version: String,
    /// The token id (24 hex).
    #[serde(default, deserialize_with = "null_as_default")]
    pub token_id: String,
    /// Who delegates.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delegator_identity: String,
    /// To whom.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delegate_identity: String,
    /// The delegated scopes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub scope: Vec<String>,
    /// A scope class that also counts as a scope.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub scope_class: String,
    /// An intent digest the delegation is bound to, if any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub intent_digest: String,
    /// A policy digest the delegation is bound to, if any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub policy_digest: String,
    /// Expiry.
    #[serde(default, deserialize_with = "null_as_default")]
    pub expires_at: GoTime,
    /// The signature over the token without this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureEnvelope>,
}

fn parse_token<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    kind: &'static str,
) -> Result<T, TokenError> {
    if bytes.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::TooLarge { kind });
    }
    let value = gait_digest::canonical::parse_strict(bytes)
        .map_err(|source| TokenError::Json { kind, source })?;
    T::deserialize(&value).map_err(|source| TokenError::Decode { kind, source })
}

fn pretty(value: &impl Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

impl ApprovalToken {
    /// Parses token JSON (duplicate keys rejected, unknown keys ignored).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, TokenError> {
        parse_token(bytes, "approval")
    }

    /// The token as the reference writes it: indented JSON and a newline.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        pretty(self)
    }

    /// The normalized token (see the module docs), or why it is invalid.
    ///
    /// # Errors
    ///
    /// [`TokenError`] naming the invalid field.
    pub fn normalized(&self) -> Result<ApprovalToken, TokenError> {
        let mut t = self.clone();
        normalize_schema(
            &mut t.schema_id,
            &mut t.schema_version,
            APPROVAL_TOKEN_SCHEMA_ID,
        )?;
        t.token_id = required_trimmed(&t.token_id, "token_id")?;
        t.approver_identity = required_trimmed(&t.approver_identity, "approver_identity")?;
        t.reason_code = required_trimmed(&t.reason_code, "reason_code")?;
        t.intent_digest = digest_field(&t.intent_digest, "intent_digest", true)?;
        t.policy_digest = digest_field(&t.policy_digest, "policy_digest", true)?;
        t.delegation_binding_digest = digest_field(
            &t.delegation_binding_digest,
            "delegation_binding_digest",
            false,
        )?;
        t.scope = normalize_scope(&t.scope);
        if t.scope.is_empty() {
            return Err(TokenError::MissingField("scope"));
        }
        if t.max_targets < 0 {
            return Err(TokenError::NegativeBound("max_targets"));
        }
        if t.max_ops < 0 {
            return Err(TokenError::NegativeBound("max_ops"));
        }
        required_times(&t.created_at, &t.expires_at)?;
        Ok(t)
    }
}

impl DelegationToken {
    /// Parses token JSON (duplicate keys rejected, unknown keys ignored).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, TokenError> {
        parse_token(bytes, "delegation")
    }

    /// The token as the reference writes it: indented JSON and a newline.
    pub fn to_pretty_json(&self) -> Vec<u8> {
        pretty(self)
    }

    /// The normalized token (see the module docs), or why it is invalid.
    ///
    /// # Errors
    ///
    /// [`TokenError`] naming the invalid field.
    pub fn normalized(&self) -> Result<DelegationToken, TokenError> {
        let mut t = self.clone();
        normalize_schema(
            &mut t.schema_id,
            &mut t.schema_version,
            DELEGATION_TOKEN_SCHEMA_ID,
        )?;
        t.token_id = required_trimmed(&t.token_id, "token_id")?;
        t.delegator_identity = t.delegator_identity.trim().to_owned();
        t.delegate_identity = t.delegate_identity.trim().to_owned();
        if t.delegator_identity.is_empty() || t.delegate_identity.is_empty() {
            return Err(TokenError::MissingDelegationParties);
        }
        t.scope = normalize_scope(&t.scope);
        if t.scope.is_empty() {
            return Err(TokenError::MissingField("scope"));
        }
        t.scope_class = t.scope_class.trim().to_lowercase();
        t.intent_digest = digest_field(&t.intent_digest, "intent_digest", false)?;
        t.policy_digest = digest_field(&t.policy_digest, "policy_digest", false)?;
        required_times(&t.created_at, &t.expires_at)?;
        Ok(t)
    }
}

fn normalize_schema(id: &mut String, version: &mut String, want: &str) -> Result<(), TokenError> {
    if id.is_empty() {
        want.clone_into(id);
    }
    if id != want {
        return Err(TokenError::UnsupportedSchemaId(id.clone()));
    }
    if version.is_empty() {
        TOKEN_SCHEMA_VERSION.clone_into(version);
    }
    if version != TOKEN_SCHEMA_VERSION {
        return Err(TokenError::UnsupportedSchemaVersion(version.clone()));
    }
    Ok(())
}

fn required_trimmed(value: &str, field: &'static str) -> Result<String, TokenError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(TokenError::MissingField(field));
    }
    Ok(v.to_owned())
}

fn digest_field(value: &str, field: &'static str, required: bool) -> Result<String, TokenError> {
    let v = value.trim().to_lowercase();
    if v.is_empty() && !required {
        return Ok(v);
    }
    if !is_digest_hex(&v) {
        return Err(if required {
            TokenError::NotDigest(field)
        } else {
            TokenError::NotDigestWhenSet(field)
        });
    }
    Ok(v)
}

fn required_times(created: &GoTime, expires: &GoTime) -> Result<(), TokenError> {
    if created.is_zero() {
        return Err(TokenError::MissingField("created_at"));
    }
    if expires.is_zero() {
        return Err(TokenError::MissingField("expires_at"));
    }
    Ok(())
}

/// Whether `s` is 64 lowercase hexadecimal characters.
pub fn is_digest_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Trims and lowercases each item, drops empty ones, de-duplicates and
/// sorts.
pub fn normalize_scope(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn verify_typed<T: Serialize, R: Role>(
    signable: &T,
    envelope: &SignatureEnvelope,
    key: &VerifyingKey<R>,
) -> Result<(), gait_sign::Error> {
    key.verify_serialize(signable, envelope)
}

/// What an approval token must match.
#[derive(Debug, Clone, Default)]
pub struct ApprovalCheck {
    /// The evaluation time.
    pub now: GoTime,
    /// The prepared intent's digest (empty: not checked).
    pub expected_intent_digest: String,
    /// The policy digest (empty: not checked).
    pub expected_policy_digest: String,
    /// The delegation binding digest (empty: not checked).
    pub expected_delegation_binding_digest: String,
    /// The scopes the call needs ([`required_approval_scope`]).
    pub required_scope: Vec<String>,
    /// The number of targets of the call.
    pub target_count: i64,
    /// The number of operations of the call.
    pub operation_count: i64,
}

/// The scopes an approval must cover: `tool:<tool_name>`, plus
/// `phase:apply` and `destructive:apply` when the call is a destructive
/// apply.
pub fn required_approval_scope(
    tool_name: &str,
    phase_apply: bool,
    destructive: bool,
) -> Vec<String> {
    let mut scope = vec![format!("tool:{tool_name}")];
    if phase_apply && destructive {
        scope.push("phase:apply".into());
        scope.push("destructive:apply".into());
    }
    normalize_scope(&scope)
}

/// Validates an approval token; on success returns the normalized token.
///
/// Checks, in order (the first failure decides the code): normalization,
/// a verify key is present, a signature is present, the signature, the
/// intent digest, the policy digest, the delegation binding, expiry
/// (`now >= expires_at` is expired, no skew allowance), scope (`*` covers
/// everything), target and operation bounds.
pub fn validate_approval_token(
    token: &ApprovalToken,
    key: Option<&VerifyingKey<Approval>>,
    check: &ApprovalCheck,
) -> Result<ApprovalToken, Rejection<ApprovalTokenCode>> {
    use ApprovalTokenCode as C;
    let normalized = token
        .normalized()
        .map_err(|e| reject(C::Invalid, e.to_string()))?;
    let key =
        key.ok_or_else(|| reject(C::SignatureInvalid, "verification public key is required"))?;
    let envelope = normalized
        .signature
        .clone()
        .ok_or_else(|| reject(C::SignatureMissing, "signature missing"))?;
    let mut signable = normalized.clone();
    signable.signature = None;
    verify_typed(&signable, &envelope, key)
        .map_err(|e| reject(C::SignatureInvalid, e.to_string()))?;

    let expected = check.expected_intent_digest.trim().to_lowercase();
    if !expected.is_empty() && normalized.intent_digest != expected {
        return Err(reject(C::IntentMismatch, "intent digest mismatch"));
    }
    let expected = check.expected_policy_digest.trim().to_lowercase();
    if !expected.is_empty() && normalized.policy_digest != expected {
        return Err(reject(C::PolicyMismatch, "policy digest mismatch"));
    }
    let expected = check
        .expected_delegation_binding_digest
        .trim()
        .to_lowercase();
    if !expected.is_empty() && normalized.delegation_binding_digest != expected {
        return Err(reject(
            C::DelegationBindingMismatch,
            "delegation binding digest mismatch",
        ));
    }
    if !check.now.is_before(&normalized.expires_at) {
        return Err(reject(C::Expired, "token expired"));
    }
    let required = normalize_scope(&check.required_scope);
    if !required.is_empty() && !scope_covers_all(&required, &normalized.scope) {
        return Err(reject(C::ScopeMismatch, "scope mismatch"));
    }
    if normalized.max_targets > 0 && check.target_count > normalized.max_targets {
        return Err(reject(
            C::MaxTargetsExceeded,
            "target count exceeds token max_targets",
        ));
    }
    if normalized.max_ops > 0 && check.operation_count > normalized.max_ops {
        return Err(reject(
            C::MaxOpsExceeded,
            "operation count exceeds token max_ops",
        ));
    }
    Ok(normalized)
}

fn scope_covers_all(required: &[String], token_scope: &[String]) -> bool {
    token_scope.iter().any(|s| s == "*") || required.iter().all(|r| token_scope.contains(r))
}

fn scope_covers_any(required: &[String], token_scope: &[String], scope_class: &str) -> bool {
    let has = |s: &str| {
        token_scope.iter().any(|t| t == s) || (!scope_class.is_empty() && scope_class == s)
    };
    has("*") || required.iter().any(|r| has(r))
}

/// What a delegation token must match.
#[derive(Debug, Clone, Default)]
pub struct DelegationCheck {
    /// The evaluation time.
    pub now: GoTime,
    /// The expected delegator (empty: not checked).
    pub expected_delegator: String,
    /// The expected delegate (empty: not checked).
    pub expected_delegate: String,
    /// Scopes of which the token must cover at least one (empty: any).
    pub required_scope: Vec<String>,
    /// The intent digest (checked only if the token carries one).
    pub expected_intent_digest: String,
    /// The policy digest (checked only if the token carries one).
    pub expected_policy_digest: String,
}

/// Validates a delegation token; on success returns the normalized token.
///
/// Checks, in order: normalization, key, signature presence, signature,
/// expiry, delegator, delegate, intent binding, policy binding, scope
/// (any-of over the token's scopes and scope class; `*` covers everything).
pub fn validate_delegation_token(
    token: &DelegationToken,
    key: Option<&VerifyingKey<Delegation>>,
    check: &DelegationCheck,
) -> Result<DelegationToken, Rejection<DelegationTokenCode>> {
    use DelegationTokenCode as C;
    let normalized = token
        .normalized()
        .map_err(|e| reject(C::Invalid, e.to_string()))?;
    let key =
        key.ok_or_else(|| reject(C::SignatureInvalid, "verification public key is required"))?;
    let envelope = normalized
        .signature
        .clone()
        .ok_or_else(|| reject(C::SignatureMissing, "signature missing"))?;
    let mut signable = normalized.clone();
    signable.signature = None;
    verify_typed(&signable, &envelope, key)
        .map_err(|e| reject(C::SignatureInvalid, e.to_string()))?;
    if !check.now.is_before(&normalized.expires_at) {
        return Err(reject(C::Expired, "token expired"));
    }
    let expected = check.expected_delegator.trim();
    if !expected.is_empty() && normalized.delegator_identity != expected {
        return Err(reject(C::DelegatorMismatch, "delegator mismatch"));
    }
    let expected = check.expected_delegate.trim();
    if !expected.is_empty() && normalized.delegate_identity != expected {
        return Err(reject(C::DelegateMismatch, "delegate mismatch"));
    }
    let expected = check.expected_intent_digest.trim().to_lowercase();
    if !expected.is_empty()
        && !normalized.intent_digest.is_empty()
        && normalized.intent_digest != expected
    {
        return Err(reject(C::IntentMismatch, "intent digest mismatch"));
    }
    let expected = check.expected_policy_digest.trim().to_lowercase();
    if !expected.is_empty()
        && !normalized.policy_digest.is_empty()
        && normalized.policy_digest != expected
    {
        return Err(reject(C::PolicyMismatch, "policy digest mismatch"));
    }
    let required = normalize_scope(&check.required_scope);
    if !required.is_empty()
        && !scope_covers_any(&required, &normalized.scope, &normalized.scope_class)
    {
        return Err(reject(C::ScopeMismatch, "scope mismatch"));
    }
    Ok(normalized)
}

/// Options for minting an approval token.
#[derive(Debug, Clone, Default)]
pub struct ApprovalMint {
    /// The version recorded in the token (`0.0.0-dev` when empty).
    pub producer_version: String,
    /// Who approves.
    pub approver_identity: String,
    /// Why.
    pub reason_code: String,
    /// The approved intent's digest.
    pub intent_digest: String,
    /// The policy digest.
    pub policy_digest: String,
    /// The delegation binding digest, if the intent is delegated.
    pub delegation_binding_digest: String,
    /// The scopes.
    pub scope: Vec<String>,
    /// Largest number of targets (0: unbounded).
    pub max_targets: i64,
    /// Largest number of operations (0: unbounded).
    pub max_ops: i64,
    /// Lifetime in nanoseconds (must be positive).
    pub ttl_nanos: i128,
    /// The minting time (UTC is used).
    pub now: GoTime,
}

pub(crate) fn add_nanos(t: GoTime, nanos: i128) -> GoTime {
    let total = t.unix_nanos().saturating_add(nanos);
    let secs = i64::try_from(total.div_euclid(1_000_000_000)).unwrap_or(i64::MAX);
    let sub = u32::try_from(total.rem_euclid(1_000_000_000)).unwrap_or(0);
    GoTime::from_unix(secs, sub)
}

fn producer_or_dev(v: &str) -> String {
    let v = v.trim();
    if v.is_empty() {
        "0.0.0-dev".to_owned()
    } else {
        v.to_owned()
    }
}

/// The token id of an approval: the first 12 bytes of SHA-256 over
/// `intent:policy:approver:reason:scope_csv:max_targets:max_ops:expires_at`.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per component of the reference's id formula"
)]
pub fn approval_token_id(
    intent: &str,
    policy: &str,
    approver: &str,
    reason: &str,
    scope: &[String],
    max_targets: i64,
    max_ops: i64,
    expires_at: &GoTime,
) -> String {
    let raw = format!(
        "{intent}:{policy}:{approver}:{reason}:{}:{max_targets}:{max_ops}:{}",
        scope.join(","),
        expires_at.to_utc().format()
    );
    sha256(raw.as_bytes()).short_id()
}

/// Mints and signs an approval token.
pub fn mint_approval_token(
    opts: &ApprovalMint,
    key: &SigningKey<Approval>,
) -> Result<ApprovalToken, TokenError> {
    if opts.ttl_nanos <= 0 {
        return Err(TokenError::NonPositiveTtl);
    }
    let intent = digest_field(&opts.intent_digest, "intent_digest", true)?;
    let policy = digest_field(&opts.policy_digest, "policy_digest", true)?;
    let binding = digest_field(
        &opts.delegation_binding_digest,
        "delegation_binding_digest",
        false,
    )?;
    let approver = opts.approver_identity.trim().to_owned();
    if approver.is_empty() {
        return Err(TokenError::MissingApprover);
    }
    let reason = opts.reason_code.trim().to_owned();
    if reason.is_empty() {
        return Err(TokenError::MissingReasonCode);
    }
    let scope = normalize_scope(&opts.scope);
    if scope.is_empty() {
        return Err(TokenError::EmptyScope);
    }
    if opts.max_targets < 0 {
        return Err(TokenError::NegativeBound("max_targets"));
    }
    if opts.max_ops < 0 {
        return Err(TokenError::NegativeBound("max_ops"));
    }
    let created = if opts.now.is_zero() {
        GoTime::now_utc()
    } else {
        opts.now.to_utc()
    };
    let expires = add_nanos(created, opts.ttl_nanos);
    let mut token = ApprovalToken {
        schema_id: APPROVAL_TOKEN_SCHEMA_ID.into(),
        schema_version: TOKEN_SCHEMA_VERSION.into(),
        created_at: created,
        producer_version: producer_or_dev(&opts.producer_version),
        token_id: approval_token_id(
            &intent,
            &policy,
            &approver,
            &reason,
            &scope,
            opts.max_targets,
            opts.max_ops,
            &expires,
        ),
        approver_identity: approver,
        reason_code: reason,
        intent_digest: intent,
        policy_digest: policy,
        delegation_binding_digest: binding,
        scope,
        max_targets: opts.max_targets,
        max_ops: opts.max_ops,
        expires_at: expires,
        signature: None,
    };
    token.signature = Some(key.sign_serialize(&token).map_err(TokenError::Sign)?);
    Ok(token)
}

/// Options for minting a delegation token.
#[derive(Debug, Clone, Default)]
pub struct DelegationMint {
    /// The version recorded in the token (`0.0.0-dev` when empty).
    pub producer_version: String,
    /// Who delegates.
    pub delegator_identity: String,
    /// To whom.
    pub delegate_identity: String,
    /// The delegated scopes.
    pub scope: Vec<String>,
    /// An optional scope class.
    pub scope_class: String,
    /// An optional intent binding.
    pub intent_digest: String,
    /// An optional policy binding.
    pub policy_digest: String,
    /// Lifetime in nanoseconds (must be positive).
    pub ttl_nanos: i128,
    /// The minting time (UTC is used).
    pub now: GoTime,
}

/// The token id of a delegation: the first 12 bytes of SHA-256 over the
/// colon-joined delegator, delegate, scope CSV, scope class, intent digest,
/// policy digest and expiry.
pub fn delegation_token_id(
    delegator: &str,
    delegate: &str,
    scope: &[String],
    scope_class: &str,
    intent: &str,
    policy: &str,
    expires_at: &GoTime,
) -> String {
    let raw = [
        delegator,
        delegate,
        &scope.join(","),
        scope_class,
        intent,
        policy,
        &expires_at.to_utc().format(),
    ]
    .join(":");
    sha256(raw.as_bytes()).short_id()
}

/// Mints and signs a delegation token.
pub fn mint_delegation_token(
    opts: &DelegationMint,
    key: &SigningKey<Delegation>,
) -> Result<DelegationToken, TokenError> {
    if opts.ttl_nanos <= 0 {
        return Err(TokenError::NonPositiveTtl);
    }
    let delegator = opts.delegator_identity.trim().to_owned();
    let delegate = opts.delegate_identity.trim().to_owned();
    if delegator.is_empty() || delegate.is_empty() {
        return Err(TokenError::MissingMintParties);
    }
    let scope = normalize_scope(&opts.scope);
    if scope.is_empty() {
        return Err(TokenError::EmptyScope);
    }
    let intent = digest_field(&opts.intent_digest, "intent_digest", false)?;
    let policy = digest_field(&opts.policy_digest, "policy_digest", false)?;
    let scope_class = opts.scope_class.trim().to_lowercase();
    let created = if opts.now.is_zero() {
        GoTime::now_utc()
    } else {
        opts.now.to_utc()
    };
    let expires = add_nanos(created, opts.ttl_nanos);
    let mut token = DelegationToken {
        schema_id: DELEGATION_TOKEN_SCHEMA_ID.into(),
        schema_version: TOKEN_SCHEMA_VERSION.into(),
        created_at: created,
        producer_version: producer_or_dev(&opts.producer_version),
        token_id: delegation_token_id(
            &delegator,
            &delegate,
            &scope,
            &scope_class,
            &intent,
            &policy,
            &expires,
        ),
        delegator_identity: delegator,
        delegate_identity: delegate,
        scope,
        scope_class,
        intent_digest: intent,
        policy_digest: policy,
        expires_at: expires,
        signature: None,
    };
    token.signature = Some(key.sign_serialize(&token).map_err(TokenError::Sign)?);
    Ok(token)
}

/// One audit entry of an approval check (`gait.gate.approval_audit_record`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ApprovalAuditEntry {
    /// The token id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_id: String,
    /// The approver.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub approver_identity: String,
    /// The approval's reason.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason_code: String,
    /// The token's scopes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// The token's expiry (UTC).
    pub expires_at: GoTime,
    /// Whether the token counted.
    pub valid: bool,
    /// Why not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
}

/// The outcome of checking the approval tokens of a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApprovalOutcome {
    /// Approvals needed (at least 1).
    pub required: usize,
    /// Valid approvals found.
    pub valid: usize,
    /// Whether the call is approved.
    pub approved: bool,
    /// Reason codes to add to the decision (sorted, unique).
    pub reason_codes: Vec<String>,
    /// The valid token ids, sorted.
    pub valid_token_ids: Vec<String>,
    /// Distinct valid approvers, sorted.
    pub approvers: Vec<String>,
    /// One entry per token, sorted by (token id, approver, reason, expiry, scope).
    pub entries: Vec<ApprovalAuditEntry>,
}

/// Checks a set of approval tokens against one call.
///
/// `min_approvals` below 1 counts as 1. With `distinct_approvers` and more
/// than one approval required, the valid tokens must come from at least
/// that many different approvers.
pub fn evaluate_approvals(
    tokens: &[ApprovalToken],
    key: Option<&VerifyingKey<Approval>>,
    check: &ApprovalCheck,
    min_approvals: usize,
    distinct_approvers: bool,
) -> ApprovalOutcome {
    let required = min_approvals.max(1);
    let mut reasons = BTreeSet::new();
    let mut entries = Vec::with_capacity(tokens.len());
    let mut valid_ids = BTreeSet::new();
    let mut approvers = BTreeSet::new();
    let mut valid = 0usize;
    for token in tokens {
        match validate_approval_token(token, key, check) {
            Ok(n) => {
                valid += 1;
                valid_ids.insert(n.token_id.clone());
                approvers.insert(n.approver_identity.clone());
                entries.push(ApprovalAuditEntry {
                    token_id: n.token_id,
                    approver_identity: n.approver_identity,
                    reason_code: n.reason_code,
                    scope: n.scope,
                    expires_at: n.expires_at.to_utc(),
                    valid: true,
                    error_code: String::new(),
                });
            }
            Err(r) => {
                reasons.insert(r.code.as_str().to_owned());
                entries.push(ApprovalAuditEntry {
                    token_id: token.token_id.trim().to_owned(),
                    approver_identity: token.approver_identity.trim().to_owned(),
                    reason_code: token.reason_code.trim().to_owned(),
                    scope: normalize_scope(&token.scope),
                    expires_at: token.expires_at.to_utc(),
                    valid: false,
                    error_code: r.code.as_str().to_owned(),
                });
            }
        }
    }
    entries.sort_by(|a, b| {
        (
            &a.token_id,
            &a.approver_identity,
            &a.reason_code,
            a.expires_at,
            &a.scope,
        )
            .cmp(&(
                &b.token_id,
                &b.approver_identity,
                &b.reason_code,
                b.expires_at,
                &b.scope,
            ))
    });
    // As in the reference, the insufficient-chain and distinct-approver
    // checks are independent: both reasons can appear.
    let approved = if tokens.is_empty() {
        reasons.insert("approval_token_missing".into());
        false
    } else {
        let mut ok = true;
        if valid < required {
            reasons.insert("approval_chain_insufficient".into());
            ok = false;
        }
        if distinct_approvers && required > 1 && approvers.len() < required {
            reasons.insert("approval_distinct_approvers_required".into());
            ok = false;
        }
        if ok {
            reasons.insert("approval_granted".into());
        }
        ok
    };
    ApprovalOutcome {
        required,
        valid,
        approved,
        reason_codes: reasons.into_iter().collect(),
        valid_token_ids: valid_ids.into_iter().collect(),
        approvers: approvers.into_iter().collect(),
        entries,
    }
}

/// One required link of a delegation chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequiredLink {
    /// The delegator (empty: not checked).
    pub delegator: String,
    /// The delegate.
    pub delegate: String,
}

/// One audit entry of a delegation check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DelegationAuditEntry {
    /// The token id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_id: String,
    /// The delegator.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub delegator_identity: String,
    /// The delegate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub delegate_identity: String,
    /// The token's scopes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// The token's expiry (UTC).
    pub expires_at: GoTime,
    /// Whether the token counted.
    pub valid: bool,
    /// Why not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
}

/// The outcome of checking a delegation chain.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DelegationOutcome {
    /// Whether every link has a valid token.
    pub complete: bool,
    /// Links required.
    pub required: usize,
    /// Valid links.
    pub valid: usize,
    /// Valid token ids, sorted and unique.
    pub valid_token_ids: Vec<String>,
    /// Entries in chain order, then leftover tokens.
    pub entries: Vec<DelegationAuditEntry>,
}

/// Matches tokens to the links of a delegation chain, in link order: each
/// link consumes the first unused token that validates for it. Links
/// without a token become `delegation_token_missing` entries; leftover
/// tokens carry the first error they produce against an unmatched link, or
/// `delegation_token_chain_mismatch`.
pub fn evaluate_delegation_chain(
    links: &[RequiredLink],
    tokens: &[DelegationToken],
    key: Option<&VerifyingKey<Delegation>>,
    base: &DelegationCheck,
) -> DelegationOutcome {
    let check_for = |link: &RequiredLink| DelegationCheck {
        expected_delegator: link.delegator.trim().to_owned(),
        expected_delegate: link.delegate.trim().to_owned(),
        ..base.clone()
    };
    let mut used = vec![false; tokens.len()];
    let mut matched = vec![false; links.len()];
    let mut entries = Vec::with_capacity(tokens.len() + links.len());
    let mut ids = BTreeSet::new();
    let mut valid = 0usize;
    for (li, link) in links.iter().enumerate() {
        let check = check_for(link);
        let found = tokens.iter().enumerate().find(|(ti, t)| {
            !used.get(*ti).copied().unwrap_or(true)
                && validate_delegation_token(t, key, &check).is_ok()
        });
        if let Some((ti, t)) = found {
            if let Some(u) = used.get_mut(ti) {
                *u = true;
            }
            if let Some(m) = matched.get_mut(li) {
                *m = true;
            }
            valid += 1;
            if !t.token_id.is_empty() {
                ids.insert(t.token_id.clone());
            }
            entries.push(delegation_entry(t, true, ""));
        } else {
            entries.push(DelegationAuditEntry {
                token_id: String::new(),
                delegator_identity: link.delegator.trim().to_owned(),
                delegate_identity: link.delegate.trim().to_owned(),
                scope: Vec::new(),
                expires_at: GoTime::ZERO,
                valid: false,
                error_code: DelegationTokenCode::Missing.as_str().to_owned(),
            });
        }
    }
    for (ti, token) in tokens.iter().enumerate() {
        if used.get(ti).copied().unwrap_or(false) {
            continue;
        }
        let mut code = DelegationTokenCode::ChainMismatch;
        for (li, link) in links.iter().enumerate() {
            if matched.get(li).copied().unwrap_or(false) {
                continue;
            }
            match validate_delegation_token(token, key, &check_for(link)) {
                Ok(_) => break,
                Err(r) => {
                    code = r.code;
                    break;
                }
            }
        }
        entries.push(delegation_entry(token, false, code.as_str()));
    }
    DelegationOutcome {
        complete: valid == links.len(),
        required: links.len(),
        valid,
        valid_token_ids: ids.into_iter().collect(),
        entries,
    }
}

fn delegation_entry(t: &DelegationToken, valid: bool, code: &str) -> DelegationAuditEntry {
    DelegationAuditEntry {
        token_id: t.token_id.clone(),
        delegator_identity: t.delegator_identity.clone(),
        delegate_identity: t.delegate_identity.clone(),
        scope: t
            .scope
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        expires_at: t.expires_at.to_utc(),
        valid,
        error_code: code.to_owned(),
    }
}

/// The digest of a document that binds an approval to a delegation:
/// SHA-256 of the canonical JSON of the normalized delegation.
pub fn delegation_binding_digest(normalized_delegation: &serde_json::Value) -> Sha256Digest {
    gait_digest::digest_json(normalized_delegation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approval_key() -> SigningKey<Approval> {
        SigningKey::from_seed(&[5; 32])
    }

    fn now() -> GoTime {
        GoTime::parse("2026-03-01T00:00:00Z").unwrap()
    }

    fn mint(scope: &[&str]) -> ApprovalToken {
        mint_approval_token(
            &ApprovalMint {
                approver_identity: " alice ".into(),
                reason_code: "chg-1".into(),
                intent_digest: "A".repeat(64),
                policy_digest: "b".repeat(64),
                scope: scope.iter().map(|s| (*s).to_owned()).collect(),
                ttl_nanos: 3600 * 1_000_000_000,
                now: now(),
                ..Default::default()
            },
            &approval_key(),
        )
        .unwrap()
    }

    fn check() -> ApprovalCheck {
        ApprovalCheck {
            now: now().add_seconds(60),
            expected_intent_digest: "a".repeat(64),
            expected_policy_digest: "b".repeat(64),
            required_scope: vec!["tool:tool.write".into()],
            target_count: 1,
            operation_count: 1,
            ..Default::default()
        }
    }

    #[test]
    fn minted_token_validates_and_round_trips() {
        let t = mint(&["Tool:tool.write"]);
        assert_eq!(t.approver_identity, "alice");
        assert_eq!(t.scope, vec!["tool:tool.write"]);
        assert_eq!(t.intent_digest, "a".repeat(64));
        let vk = approval_key().verifying_key().clone();
        validate_approval_token(&t, Some(&vk), &check()).unwrap();
        let back = ApprovalToken::from_json_slice(&t.to_pretty_json()).unwrap();
        assert_eq!(back, t);
        validate_approval_token(&back, Some(&vk), &check()).unwrap();
    }

    #[test]
    fn approval_codes_in_order() {
        let vk = approval_key().verifying_key().clone();
        let t = mint(&["tool:tool.write"]);
        let code = |t: &ApprovalToken, c: &ApprovalCheck, k: Option<&VerifyingKey<Approval>>| {
            validate_approval_token(t, k, c).unwrap_err().code
        };
        assert_eq!(
            code(&t, &check(), None),
            ApprovalTokenCode::SignatureInvalid
        );
        let mut bad = t.clone();
        bad.scope.clear();
        assert_eq!(code(&bad, &check(), Some(&vk)), ApprovalTokenCode::Invalid);
        let mut bad = t.clone();
        bad.signature = None;
        assert_eq!(
            code(&bad, &check(), Some(&vk)),
            ApprovalTokenCode::SignatureMissing
        );
        let mut bad = t.clone();
        bad.scope.push("*".into());
        assert_eq!(
            code(&bad, &check(), Some(&vk)),
            ApprovalTokenCode::SignatureInvalid
        );
        let other = SigningKey::<Approval>::from_seed(&[6; 32]);
        assert_eq!(
            code(&t, &check(), Some(other.verifying_key())),
            ApprovalTokenCode::SignatureInvalid
        );
        let mut c = check();
        c.expected_intent_digest = "c".repeat(64);
        assert_eq!(code(&t, &c, Some(&vk)), ApprovalTokenCode::IntentMismatch);
        let mut c = check();
        c.expected_policy_digest = "c".repeat(64);
        assert_eq!(code(&t, &c, Some(&vk)), ApprovalTokenCode::PolicyMismatch);
        let mut c = check();
        c.expected_delegation_binding_digest = "d".repeat(64);
        assert_eq!(
            code(&t, &c, Some(&vk)),
            ApprovalTokenCode::DelegationBindingMismatch
        );
        let mut c = check();
        c.now = t.expires_at;
        assert_eq!(code(&t, &c, Some(&vk)), ApprovalTokenCode::Expired);
        let mut c = check();
        c.required_scope.push("destructive:apply".into());
        assert_eq!(code(&t, &c, Some(&vk)), ApprovalTokenCode::ScopeMismatch);
        let star = mint(&["*"]);
        validate_approval_token(&star, Some(&vk), &c).unwrap();
    }

    #[test]
    fn approvals_aggregate() {
        let vk = approval_key().verifying_key().clone();
        let t = mint(&["tool:tool.write"]);
        let out = evaluate_approvals(&[], Some(&vk), &check(), 1, false);
        assert_eq!(out.reason_codes, vec!["approval_token_missing"]);
        let out = evaluate_approvals(std::slice::from_ref(&t), Some(&vk), &check(), 1, false);
        assert!(out.approved);
        assert_eq!(out.reason_codes, vec!["approval_granted"]);
        let out = evaluate_approvals(&[t.clone(), t.clone()], Some(&vk), &check(), 2, true);
        assert!(!out.approved);
        assert_eq!(
            out.reason_codes,
            vec!["approval_distinct_approvers_required"]
        );
        let out = evaluate_approvals(std::slice::from_ref(&t), Some(&vk), &check(), 2, false);
        assert_eq!(out.reason_codes, vec!["approval_chain_insufficient"]);
        let out = evaluate_approvals(std::slice::from_ref(&t), Some(&vk), &check(), 2, true);
        assert_eq!(
            out.reason_codes,
            vec![
                "approval_chain_insufficient",
                "approval_distinct_approvers_required"
            ]
        );
    }

    #[test]
    fn delegation_chain() {
        let key = SigningKey::<Delegation>::from_seed(&[7; 32]);
        let vk = key.verifying_key().clone();
        let mint = |from: &str, to: &str| {
            mint_delegation_token(
                &DelegationMint {
                    delegator_identity: from.into(),
                    delegate_identity: to.into(),
                    scope: vec!["egress".into()],
                    ttl_nanos: 3600 * 1_000_000_000,
                    now: now(),
                    ..Default::default()
                },
                &key,
            )
            .unwrap()
        };
        let links = vec![
            RequiredLink {
                delegator: "a".into(),
                delegate: "b".into(),
            },
            RequiredLink {
                delegator: "b".into(),
                delegate: "c".into(),
            },
        ];
        let base = DelegationCheck {
            now: now().add_seconds(1),
            required_scope: vec!["egress".into()],
            ..Default::default()
        };
        let out =
            evaluate_delegation_chain(&links, &[mint("b", "c"), mint("a", "b")], Some(&vk), &base);
        assert!(out.complete);
        assert_eq!(out.valid, 2);
        let out =
            evaluate_delegation_chain(&links, &[mint("a", "b"), mint("x", "y")], Some(&vk), &base);
        assert!(!out.complete);
        let codes: Vec<_> = out.entries.iter().map(|e| e.error_code.as_str()).collect();
        assert_eq!(
            codes,
            vec![
                "",
                "delegation_token_missing",
                "delegation_token_delegator_mismatch"
            ]
        );
        let mut c = base.clone();
        c.required_scope = vec!["other".into()];
        let t = mint("a", "b");
        assert_eq!(
            validate_delegation_token(&t, Some(&vk), &c)
                .unwrap_err()
                .code,
            DelegationTokenCode::ScopeMismatch
        );
    }

    #[test]
    fn token_ids_are_deterministic() {
        let exp = GoTime::parse("2026-01-01T00:00:00.5Z").unwrap();
        let a = approval_token_id("i", "p", "alice", "r", &["tool:x".into()], 0, 0, &exp);
        assert_eq!(
            a,
            sha256(b"i:p:alice:r:tool:x:0:0:2026-01-01T00:00:00.5Z").short_id()
        );
        let d = delegation_token_id("a", "b", &["s".into()], "", "", "", &exp);
        assert_eq!(d, sha256(b"a:b:s::::2026-01-01T00:00:00.5Z").short_id());
    }
}
