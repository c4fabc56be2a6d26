//! MCP server trust: a policy's `mcp_trust` block checked against a local
//! trust snapshot (`gait.mcp.trust_snapshot` 1.0.0).
//!
//! The snapshot is an unsigned file rendered from a scanner's report; Gait
//! only enforces it. [`evaluate_server_trust`] finds the server (by its
//! lowercased id, else name) and checks status, publisher allowlist,
//! registry verification, age and score. The result is enforced only when
//! the call's **normalized** risk class is one of
//! `required_risk_classes`: then [`apply_trust`] tightens the verdict
//! toward the policy's action and adds the violation `mcp_trust_policy`;
//! otherwise only the reason codes are added.
//!
//! Unlike the reference, the risk class used is the intent's normalized
//! one, so a call that omits `context.risk_class` (defaulted to `high`) is
//! trust-enforced too.

use std::time::Duration;

use gait_digest::GoTime;
use serde_json::{Map, Value};

use crate::adapters::ServerInfo;
use crate::eval::Decision;
use crate::policy::{ConstraintAction, McpTrust, Verdict};

/// The snapshot schema id.
pub const SNAPSHOT_SCHEMA_ID: &str = "gait.mcp.trust_snapshot";
/// The snapshot schema version.
pub const SNAPSHOT_SCHEMA_VERSION: &str = "1.0.0";
/// The largest snapshot read (16 MiB).
pub const MAX_SNAPSHOT_BYTES: u64 = 16 << 20;

/// The status of a trust decision (`mcp_trust.status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TrustStatus {
    /// `trusted`: every check passed.
    Trusted,
    /// `missing`: no server identifier, or no snapshot.
    Missing,
    /// `invalid`: the snapshot is invalid, or registry verification failed.
    Invalid,
    /// `unknown`: the snapshot does not list the server.
    Unknown,
    /// `untrusted`: the entry's status or publisher is not trusted (and
    /// the status until a decision is made).
    #[default]
    Untrusted,
    /// `stale`: the entry is older than `max_age`.
    Stale,
    /// `below_threshold`: the entry's score is below `min_score`.
    BelowThreshold,
}

impl TrustStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TrustStatus::Trusted => "trusted",
            TrustStatus::Missing => "missing",
            TrustStatus::Invalid => "invalid",
            TrustStatus::Unknown => "unknown",
            TrustStatus::Untrusted => "untrusted",
            TrustStatus::Stale => "stale",
            TrustStatus::BelowThreshold => "below_threshold",
        }
    }
}

impl std::fmt::Display for TrustStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The trust decision (`mcp_trust` of outputs and traces).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TrustDecision {
    /// `server_id`.
    pub server_id: String,
    /// `server_name`.
    pub server_name: String,
    /// `publisher` (lowercased).
    pub publisher: String,
    /// `source` (lowercased).
    pub source: String,
    /// The outcome of the checks.
    pub status: TrustStatus,
    /// The snapshot path, or the entry's evidence path.
    pub decision_source: String,
    /// The entry's score.
    pub score: f64,
    /// The policy's `min_score`.
    pub threshold: f64,
    /// The entry's `updated_at`.
    pub updated_at: GoTime,
    /// The policy's `max_age` in seconds.
    pub max_age_seconds: i64,
    /// Whether the call's risk class requires trust.
    pub required: bool,
    /// Whether the decision tightens the verdict.
    pub enforced: bool,
    /// Whether registry verification passed (when required).
    pub registry_verified: bool,
    /// Whether the publisher is allowlisted (when an allowlist is set).
    pub publisher_allowed: bool,
    /// `mcp_trust_*` reason codes.
    pub reason_codes: Vec<String>,
}

impl TrustDecision {
    /// The JSON form (empty members dropped; `updated_at` always present).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("server_id", &self.server_id),
            ("server_name", &self.server_name),
            ("publisher", &self.publisher),
            ("source", &self.source),
            ("status", &self.status.as_str().to_owned()),
            ("decision_source", &self.decision_source),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if self.score != 0.0 {
            m.insert("score".into(), Value::from(self.score));
        }
        if self.threshold != 0.0 {
            m.insert("threshold".into(), Value::from(self.threshold));
        }
        m.insert("updated_at".into(), Value::String(self.updated_at.format()));
        if self.max_age_seconds != 0 {
            m.insert("max_age_seconds".into(), Value::from(self.max_age_seconds));
        }
        for (k, v) in [
            ("required", self.required),
            ("enforced", self.enforced),
            ("registry_verified", self.registry_verified),
            ("publisher_allowed", self.publisher_allowed),
        ] {
            if v {
                m.insert(k.into(), Value::Bool(true));
            }
        }
        if !self.reason_codes.is_empty() {
            m.insert(
                "reason_codes".into(),
                Value::Array(
                    self.reason_codes
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    server_id: String,
    server_name: String,
    publisher: String,
    source: String,
    status: String,
    updated_at: GoTime,
    score: f64,
    evidence_path: String,
    registry_ok: bool,
}

enum SnapshotFailure {
    Unavailable,
    Invalid,
}

fn server_key(id: &str, name: &str) -> String {
    let id = id.trim().to_lowercase();
    if id.is_empty() {
        name.trim().to_lowercase()
    } else {
        id
    }
}

fn str_of(obj: &Map<String, Value>, k: &str) -> Result<String, SnapshotFailure> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(SnapshotFailure::Invalid),
    }
}

fn bool_of(obj: &Map<String, Value>, k: &str) -> Result<bool, SnapshotFailure> {
    match obj.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(SnapshotFailure::Invalid),
    }
}

fn time_of(obj: &Map<String, Value>, k: &str) -> Result<GoTime, SnapshotFailure> {
    let s = str_of(obj, k)?;
    if s.is_empty() {
        return Ok(GoTime::ZERO);
    }
    GoTime::parse(&s).map_err(|_| SnapshotFailure::Invalid)
}

fn load_snapshot(path: &str) -> Result<Vec<Entry>, SnapshotFailure> {
    use std::io::Read as _;
    let path = path.trim();
    if path.is_empty() {
        return Err(SnapshotFailure::Invalid);
    }
    let file = gait_sign::open_regular_file(path).map_err(|_| SnapshotFailure::Unavailable)?;
    let mut bytes = Vec::new();
    file.take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| SnapshotFailure::Unavailable)?;
    if bytes.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(SnapshotFailure::Invalid);
    }
    let value =
        gait_digest::canonical::parse_strict(&bytes).map_err(|_| SnapshotFailure::Invalid)?;
    let obj = value.as_object().ok_or(SnapshotFailure::Invalid)?;
    let id = str_of(obj, "schema_id")?;
    if !id.trim().is_empty() && id != SNAPSHOT_SCHEMA_ID {
        return Err(SnapshotFailure::Invalid);
    }
    let version = str_of(obj, "schema_version")?;
    if !version.trim().is_empty() && version != SNAPSHOT_SCHEMA_VERSION {
        return Err(SnapshotFailure::Invalid);
    }
    let raw_entries = match obj.get("entries") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(SnapshotFailure::Invalid),
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut entries = Vec::with_capacity(raw_entries.len());
    for raw in raw_entries {
        let e = raw.as_object().ok_or(SnapshotFailure::Invalid)?;
        let registry_ok = match e.get("registry_verification") {
            None | Some(Value::Null) => false,
            Some(Value::Object(r)) => {
                bool_of(r, "signature_verified")?
                    && bool_of(r, "publisher_allowed")?
                    && (!bool_of(r, "pin_present")? || bool_of(r, "pin_verified")?)
            }
            Some(_) => return Err(SnapshotFailure::Invalid),
        };
        let score = match e.get("score") {
            None | Some(Value::Null) => 0.0,
            Some(v) => v.as_f64().ok_or(SnapshotFailure::Invalid)?,
        };
        let entry = Entry {
            server_id: str_of(e, "server_id")?.trim().to_owned(),
            server_name: str_of(e, "server_name")?.trim().to_owned(),
            publisher: str_of(e, "publisher")?.trim().to_lowercase(),
            source: str_of(e, "source")?.trim().to_lowercase(),
            status: str_of(e, "status")?.trim().to_lowercase(),
            updated_at: time_of(e, "updated_at")?,
            score,
            evidence_path: str_of(e, "evidence_path")?.trim().to_owned(),
            registry_ok,
        };
        let key = server_key(&entry.server_id, &entry.server_name);
        if key.is_empty() || !seen.insert(key) {
            return Err(SnapshotFailure::Invalid);
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn duration_seconds(d: Option<Duration>) -> i64 {
    d.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn status_for(reasons: &[&str]) -> TrustStatus {
    match reasons.first().copied() {
        Some("mcp_trust_registry_unverified") => TrustStatus::Invalid,
        Some("mcp_trust_stale") => TrustStatus::Stale,
        Some("mcp_trust_below_threshold") => TrustStatus::BelowThreshold,
        _ => TrustStatus::Untrusted,
    }
}

/// Checks `server` against the policy's trust snapshot for a call of
/// `risk_class` (normalized), at `now`.
pub fn evaluate_server_trust(
    policy: &McpTrust,
    server: Option<&ServerInfo>,
    risk_class: &str,
    now: GoTime,
) -> TrustDecision {
    let risk = risk_class.trim().to_lowercase();
    let mut d = TrustDecision {
        threshold: policy.min_score,
        decision_source: policy.snapshot_path.trim().to_owned(),
        max_age_seconds: duration_seconds(policy.max_age),
        required: policy
            .required_risk_classes
            .iter()
            .any(|c| c.trim().to_lowercase() == risk),
        ..TrustDecision::default()
    };
    if let Some(s) = server {
        s.server_id.trim().clone_into(&mut d.server_id);
        s.server_name.trim().clone_into(&mut d.server_name);
        d.publisher = s.publisher.trim().to_lowercase();
        d.source = s.source.trim().to_lowercase();
    }
    let fail = |mut d: TrustDecision, status: TrustStatus, reason: &str| {
        d.status = status;
        d.reason_codes = vec![reason.to_owned()];
        d.enforced = d.required;
        d
    };
    let key = server_key(&d.server_id, &d.server_name);
    if key.is_empty() {
        return fail(d, TrustStatus::Missing, "mcp_trust_identifier_missing");
    }
    let entries = match load_snapshot(&policy.snapshot_path) {
        Ok(e) => e,
        Err(SnapshotFailure::Invalid) => {
            return fail(d, TrustStatus::Invalid, "mcp_trust_snapshot_invalid");
        }
        Err(SnapshotFailure::Unavailable) => {
            return fail(d, TrustStatus::Missing, "mcp_trust_snapshot_unavailable");
        }
    };
    let Some(entry) = entries
        .into_iter()
        .find(|e| server_key(&e.server_id, &e.server_name) == key)
    else {
        return fail(d, TrustStatus::Unknown, "mcp_trust_server_unknown");
    };
    d.server_id.clone_from(&entry.server_id);
    d.server_name.clone_from(&entry.server_name);
    d.publisher.clone_from(&entry.publisher);
    d.source.clone_from(&entry.source);
    d.score = entry.score;
    d.updated_at = entry.updated_at.to_utc();
    if !entry.evidence_path.is_empty() {
        d.decision_source.clone_from(&entry.evidence_path);
    }
    let mut reasons: Vec<&str> = Vec::new();
    if !matches!(entry.status.as_str(), "" | "trusted" | "allow" | "pass") {
        reasons.push("mcp_trust_status_untrusted");
    }
    if !policy.publisher_allowlist.is_empty() {
        d.publisher_allowed = policy
            .publisher_allowlist
            .iter()
            .any(|p| p.trim().to_lowercase() == entry.publisher);
        if !d.publisher_allowed {
            reasons.push("mcp_trust_publisher_untrusted");
        }
    }
    if policy.require_registry {
        d.registry_verified = entry.registry_ok;
        if !entry.registry_ok {
            reasons.push("mcp_trust_registry_unverified");
        }
    }
    if d.max_age_seconds > 0
        && (entry.updated_at.is_zero()
            || entry
                .updated_at
                .add_seconds(d.max_age_seconds)
                .is_before(&now))
    {
        reasons.push("mcp_trust_stale");
    }
    if policy.min_score > 0.0 && entry.score < policy.min_score {
        reasons.push("mcp_trust_below_threshold");
    }
    if reasons.is_empty() {
        d.status = TrustStatus::Trusted;
        d.reason_codes = vec!["mcp_trust_verified".to_owned()];
        return d;
    }
    d.status = status_for(&reasons);
    let mut codes: Vec<String> = reasons.iter().map(|s| (*s).to_owned()).collect();
    codes.sort();
    codes.dedup();
    d.reason_codes = codes;
    d.enforced = d.required;
    d
}

/// The verdict `trust` tightens `current` to: `block` and `dry_run`
/// stay; otherwise the action wins when it is stricter.
pub fn tightened(current: Verdict, action: ConstraintAction) -> Verdict {
    match (current, action) {
        (Verdict::Block | Verdict::DryRun, _) => current,
        (_, ConstraintAction::Block) => Verdict::Block,
        (Verdict::RequireApproval, _) | (_, ConstraintAction::RequireApproval) => {
            Verdict::RequireApproval
        }
    }
}

/// Merges a trust decision into a gate decision: its reason codes always;
/// when enforced, the verdict tightened toward `policy.action` and the
/// violation `mcp_trust_policy`.
pub fn apply_trust(decision: &mut Decision, policy: &McpTrust, trust: &TrustDecision) {
    decision.add_reasons(trust.reason_codes.iter().cloned());
    if trust.enforced {
        decision.verdict = tightened(decision.verdict, policy.action);
        decision.add_violations(["mcp_trust_policy".to_owned()]);
    }
}

/// The risk class `gait mcp verify` checks when none is given: the most
/// severe of `required_risk_classes` (`critical` > `high` > `medium` >
/// `low` > others), `high` when the list is empty.
pub fn default_verify_risk_class(policy: &McpTrust) -> String {
    let rank = |c: &str| match c {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        _ => 5,
    };
    policy
        .required_risk_classes
        .iter()
        .min_by_key(|c| rank(c))
        .cloned()
        .unwrap_or_else(|| "high".to_owned())
}
