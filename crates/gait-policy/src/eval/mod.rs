//! Policy evaluation: a normalized [`Intent`] against a loaded [`Policy`]
//! gives a [`Decision`].
//!
//! The algorithm is the reference's, step by step:
//!
//! 1. **Fail closed.** When the policy's `fail_closed` covers the intent's
//!    risk class, missing required fields block, and so does any target
//!    whose endpoint class is unknown.
//! 2. **Scripts** are evaluated step by step (each step as its own
//!    single intent with the script's context), then aggregated with the
//!    script limits (`max_steps`, `require_approval_above`,
//!    `block_mixed_risk`).
//! 3. **Single intents.** Rules are scanned in (priority, name) order. The
//!    first matching rule fixes a priority tier; every matching rule of
//!    that tier is evaluated, each rule's constraints possibly raising its
//!    effect; the tier's verdict is the most restrictive effect, and only
//!    the rules whose effect equals the verdict contribute reasons,
//!    violations and requirements. No match gives the default verdict.
//!
//! Verdicts order by restrictiveness: `allow < dry_run < require_approval
//! < block`. Only `allow` permits execution ([`Decision::permits_execution`]).
//!
//! Evaluation never fails: every error inside it produces a non-`allow`
//! outcome. Errors happen before it, when the policy or intent is loaded.

mod constraints;
mod decision;
mod pattern;
pub(crate) mod single;

use gait_digest::GoTime;

pub use decision::{Decision, FreezeWindowDecision, SandboxDecision, ScriptOutcome, StepVerdict};

use crate::intent::Intent;
use crate::policy::{Policy, Verdict};

/// Options of one evaluation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EvalOptions {
    /// The evaluation time (freeze windows, agent expiry). Defaults to now.
    pub now: GoTime,
    /// The producer version recorded in results (`0.0.0-dev` when empty).
    pub producer_version: String,
    /// A Wrkr inventory: script steps get its `wrkr.*` keys in their
    /// `auth_context` (single intents are enriched before evaluation, see
    /// [`crate::gate`]).
    pub wrkr: Option<std::sync::Arc<crate::wrkr::WrkrInventory>>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            now: GoTime::now_utc(),
            producer_version: String::new(),
            wrkr: None,
        }
    }
}

impl EvalOptions {
    /// Options evaluating at `now`.
    pub fn at(now: GoTime) -> Self {
        Self {
            now: now.to_utc(),
            producer_version: String::new(),
            wrkr: None,
        }
    }

    /// Sets the producer version.
    #[must_use]
    pub fn with_producer_version(mut self, version: &str) -> Self {
        version.trim().clone_into(&mut self.producer_version);
        self
    }
}

/// Restrictiveness rank: allow 0, dry_run 1, require_approval 2, block 3.
pub fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Allow => 0,
        Verdict::DryRun => 1,
        Verdict::RequireApproval => 2,
        Verdict::Block => 3,
    }
}

/// The more restrictive of two verdicts (the first on a tie).
pub fn most_restrictive(current: Verdict, candidate: Verdict) -> Verdict {
    if verdict_rank(candidate) > verdict_rank(current) {
        candidate
    } else {
        current
    }
}

/// Evaluates `intent` (already normalized; it is prepared here by
/// stripping context-evidence claims) against `policy`.
pub fn evaluate(policy: &Policy, intent: &Intent, opts: &EvalOptions) -> Decision {
    if intent.has_context_evidence_claims() {
        let prepared = intent.prepared();
        single::evaluate_prepared(policy, &prepared, opts)
    } else {
        // Nothing to strip: the prepared intent is this one.
        single::evaluate_prepared(policy, intent, opts)
    }
}
