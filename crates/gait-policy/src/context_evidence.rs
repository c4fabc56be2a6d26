//! Context evidence at decision time: a verified context envelope bound to
//! the intent.
//!
//! An intent cannot vouch for its own context evidence: without an
//! envelope given at the boundary its claims (`context.context_set_digest`,
//! `context.context_evidence_mode`, `context.context_refs`,
//! `context.auth_context.context_age_seconds`) are removed before it is
//! evaluated ([`Intent::prepared`]). With one, [`ContextEvidence::bind`]
//! checks that the intent's own claims agree with it and sets them from it,
//! with the age of the oldest record at the evaluation time. The envelope
//! file itself is read and verified by `gait_pack::runpack` (one parser for
//! `gait run record` and the gate); this type is what the gate needs of it.
//!
//! ```
//! use gait_digest::{GoTime, Sha256Digest};
//! use gait_policy::context_evidence::ContextEvidence;
//! use gait_policy::intent::ContextEvidenceMode;
//! use gait_policy::Intent;
//!
//! let evidence = ContextEvidence::new(
//!     gait_digest::sha256(b"records"),
//!     ContextEvidenceMode::Required,
//!     vec!["runbook-7".into()],
//!     GoTime::parse("2026-03-01T09:58:00Z")?,
//!     vec![GoTime::parse("2026-03-01T09:55:00Z")?],
//! );
//! let intent = Intent::from_json_str(r#"{"tool_name":"tool.read","args":{},"targets":[],
//!   "context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#)?;
//! let now = GoTime::parse("2026-03-01T10:00:00Z")?;
//! assert_eq!(evidence.age_seconds(now), 300);
//! let bound = evidence.bind(&intent, now)?;
//! assert_eq!(bound.context().context_refs, ["runbook-7"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use gait_digest::{GoTime, Sha256Digest};

use crate::intent::{ContextEvidenceMode, Intent};

/// SHA-256 of `[]`: the digest of an envelope without records.
pub const EMPTY_RECORDS_DIGEST: &str =
    "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

/// What the gate needs of a verified context envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContextEvidence {
    /// The envelope's verified `context_set_digest`.
    pub context_set_digest: Sha256Digest,
    /// The envelope's evidence mode.
    pub evidence_mode: ContextEvidenceMode,
    /// The records' `ref_id`s.
    pub ref_ids: Vec<String>,
    /// The envelope's `created_at` (its age when it has no records).
    pub created_at: GoTime,
    /// Each record's `retrieved_at` (1980 when the record had none).
    pub retrieved_at: Vec<GoTime>,
}

/// Why an intent cannot be bound to an envelope: its own claims contradict
/// it. The intent is then not evaluable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextBindError {
    /// `context.context_set_digest` differs from the envelope's.
    #[error("context envelope digest does not match context.context_set_digest")]
    DigestMismatch,
    /// `context.context_evidence_mode` differs from the envelope's.
    #[error("context envelope evidence mode does not match context.context_evidence_mode")]
    ModeMismatch,
}

impl ContextEvidence {
    /// Evidence from a verified envelope's digest, mode, record ids,
    /// creation time and record retrieval times.
    pub fn new(
        context_set_digest: Sha256Digest,
        evidence_mode: ContextEvidenceMode,
        ref_ids: Vec<String>,
        created_at: GoTime,
        retrieved_at: Vec<GoTime>,
    ) -> Self {
        Self {
            context_set_digest,
            evidence_mode,
            ref_ids,
            created_at,
            retrieved_at,
        }
    }

    /// Whole seconds between the oldest record (or, without records, the
    /// envelope's creation) and `now`; a time after `now` counts as 0.
    pub fn age_seconds(&self, now: GoTime) -> i64 {
        let age_of = |t: &GoTime| {
            let nanos = now.unix_nanos().saturating_sub(t.unix_nanos());
            i64::try_from(nanos / 1_000_000_000)
                .unwrap_or(i64::MAX)
                .max(0)
        };
        if self.retrieved_at.is_empty() {
            age_of(&self.created_at)
        } else {
            self.retrieved_at.iter().map(age_of).max().unwrap_or(0)
        }
    }

    /// Whether the envelope has no records (its digest is that of `[]`):
    /// such an envelope does not satisfy a rule that requires context
    /// evidence.
    pub fn is_empty(&self) -> bool {
        self.ref_ids.is_empty() && self.context_set_digest.to_hex() == EMPTY_RECORDS_DIGEST
    }

    /// The intent bound to this evidence at `now`.
    ///
    /// # Errors
    ///
    /// [`ContextBindError`] when the intent claims a different digest or
    /// evidence mode.
    pub fn bind(&self, intent: &Intent, now: GoTime) -> Result<Intent, ContextBindError> {
        let ctx = intent.context();
        if ctx
            .context_set_digest
            .is_some_and(|d| d != self.context_set_digest)
        {
            return Err(ContextBindError::DigestMismatch);
        }
        if ctx
            .context_evidence_mode
            .is_some_and(|m| m != self.evidence_mode)
        {
            return Err(ContextBindError::ModeMismatch);
        }
        let refs = self
            .ref_ids
            .iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        Ok(intent.with_context_evidence(
            self.context_set_digest,
            self.evidence_mode,
            refs,
            self.age_seconds(now),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn t(s: &str) -> GoTime {
        GoTime::parse(s).unwrap()
    }

    fn evidence(times: &[&str]) -> ContextEvidence {
        ContextEvidence {
            context_set_digest: gait_digest::sha256(b"x"),
            evidence_mode: ContextEvidenceMode::Required,
            ref_ids: vec!["b".into(), "a".into(), "a".into()],
            created_at: t("2026-03-01T09:00:00Z"),
            retrieved_at: times.iter().map(|s| t(s)).collect(),
        }
    }

    fn intent(ctx: &str) -> Intent {
        Intent::from_json_str(&format!(
            r#"{{"tool_name":"tool.read","args":{{}},"targets":[],"context":{{"identity":"a","workspace":"/w","risk_class":"low"{ctx}}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn age_is_the_oldest_record_truncated_and_never_negative() {
        let now = t("2026-03-01T10:00:00.9Z");
        assert_eq!(
            evidence(&["2026-03-01T09:55:00Z", "2026-03-01T09:59:00Z"]).age_seconds(now),
            300
        );
        assert_eq!(evidence(&["2026-03-02T00:00:00Z"]).age_seconds(now), 0);
        assert_eq!(evidence(&[]).age_seconds(now), 3600);
    }

    #[test]
    fn binding_sets_claims_and_refuses_contradictions() {
        let e = evidence(&["2026-03-01T09:55:00Z"]);
        let now = t("2026-03-01T10:00:00Z");
        let b = e.bind(&intent(""), now).unwrap();
        assert_eq!(b.context().context_refs, ["a", "b"]);
        assert_eq!(b.context().context_set_digest, Some(e.context_set_digest));
        assert_ne!(b.intent_digest(), intent("").intent_digest());
        let other = gait_digest::sha256(b"y").to_hex();
        assert_eq!(
            e.bind(&intent(&format!(r#","context_set_digest":"{other}""#)), now),
            Err(ContextBindError::DigestMismatch)
        );
        assert_eq!(
            e.bind(&intent(r#","context_evidence_mode":"best_effort""#), now),
            Err(ContextBindError::ModeMismatch)
        );
        let same = e.context_set_digest.to_hex().to_uppercase();
        assert!(
            e.bind(&intent(&format!(r#","context_set_digest":"{same}""#)), now)
                .is_ok()
        );
    }

    #[test]
    fn empty_envelope() {
        let mut e = evidence(&[]);
        e.ref_ids.clear();
        assert!(!e.is_empty());
        e.context_set_digest = gait_digest::sha256(b"[]");
        assert!(e.is_empty());
    }
}
