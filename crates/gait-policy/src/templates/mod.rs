//! Starter policies written by `gait policy init`.
//!
//! Three baselines, from permissive to strict:
//!
//! | name | unmatched calls | summary |
//! |---|---|---|
//! | `baseline-lowrisk` | allow | delete blocked, write needs one approval, read allowed |
//! | `baseline-mediumrisk` | require approval | as low risk, but read is allowed only at low or medium risk |
//! | `baseline-highrisk` | block | fail-closed at high/critical risk, untrusted egress blocked, two distinct approvals for write and deploy |
//!
//! Each is accepted under its name and under the reference's aliases
//! (`baseline_low_risk`, `low`, ...); see [`resolve`].
//!
//! ```
//! use gait_policy::templates;
//!
//! let t = templates::resolve(" Medium ").unwrap();
//! assert_eq!(t.name, "baseline-mediumrisk");
//! let policy = t.load()?;
//! assert_eq!(policy.default_verdict().as_str(), "require_approval");
//! # Ok::<(), gait_policy::policy::PolicyError>(())
//! ```

use crate::policy::{Policy, PolicyError};

/// One starter policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyTemplate {
    /// The canonical name (`baseline-lowrisk`, ...).
    pub name: &'static str,
    /// The YAML text written to disk.
    pub yaml: &'static str,
}

impl PolicyTemplate {
    /// Loads the template as a policy (it always loads; tests check this).
    pub fn load(&self) -> Result<Policy, PolicyError> {
        Policy::from_yaml_str(self.yaml)
    }
}

/// The templates, from the most permissive to the strictest.
pub const TEMPLATES: [PolicyTemplate; 3] = [
    PolicyTemplate {
        name: "baseline-lowrisk",
        yaml: include_str!("baseline-lowrisk.yaml"),
    },
    PolicyTemplate {
        name: "baseline-mediumrisk",
        yaml: include_str!("baseline-mediumrisk.yaml"),
    },
    PolicyTemplate {
        name: "baseline-highrisk",
        yaml: include_str!("baseline-highrisk.yaml"),
    },
];

/// Every accepted spelling and the template it names.
const ALIASES: [(&str, &str); 9] = [
    ("baseline-lowrisk", "baseline-lowrisk"),
    ("baseline-mediumrisk", "baseline-mediumrisk"),
    ("baseline-highrisk", "baseline-highrisk"),
    ("baseline_low_risk", "baseline-lowrisk"),
    ("baseline_medium_risk", "baseline-mediumrisk"),
    ("baseline_high_risk", "baseline-highrisk"),
    ("low", "baseline-lowrisk"),
    ("medium", "baseline-mediumrisk"),
    ("high", "baseline-highrisk"),
];

/// The canonical template names, comma-separated, for messages.
pub fn names() -> String {
    TEMPLATES.map(|t| t.name).join(", ")
}

/// The key a template name is looked up by: trimmed, then lowercased as
/// Go's `strings.ToLower` does (per character, simple mapping).
pub fn lookup_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c == '\u{130}' {
            key.push('i');
        } else {
            key.extend(c.to_lowercase());
        }
    }
    key
}

/// The template named `name` (trimmed, case-insensitive) or one of its
/// aliases.
pub fn resolve(name: &str) -> Option<&'static PolicyTemplate> {
    let key = lookup_key(name);
    let (_, canonical) = ALIASES.iter().find(|(alias, _)| *alias == key)?;
    TEMPLATES.iter().find(|t| t.name == *canonical)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "test code")]

    use super::*;
    use crate::policy::Verdict;

    #[test]
    fn every_template_loads() {
        for t in &TEMPLATES {
            let p = t.load().unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert!(!p.rules().is_empty(), "{}", t.name);
            assert!(t.yaml.ends_with('\n'), "{}", t.name);
        }
    }

    #[test]
    fn defaults_tighten_from_low_to_high() {
        let verdicts: Vec<Verdict> = TEMPLATES
            .iter()
            .map(|t| t.load().unwrap().default_verdict())
            .collect();
        assert_eq!(
            verdicts,
            [Verdict::Allow, Verdict::RequireApproval, Verdict::Block]
        );
        let high = resolve("high").unwrap().load().unwrap();
        assert!(high.fail_closed().enabled);
    }

    #[test]
    fn aliases_resolve() {
        for (alias, canonical) in ALIASES {
            assert_eq!(resolve(alias).unwrap().name, canonical);
        }
        assert_eq!(resolve("  HIGH ").unwrap().name, "baseline-highrisk");
        assert_eq!(
            resolve("Baseline_Low_Risk").unwrap().name,
            "baseline-lowrisk"
        );
        assert_eq!(resolve("h\u{130}gh").unwrap().name, "baseline-highrisk");
        assert!(resolve("critical").is_none());
        assert!(resolve("").is_none());
        assert_eq!(
            names(),
            "baseline-lowrisk, baseline-mediumrisk, baseline-highrisk"
        );
    }
}

/// The policy of `gait demo --policy`: allow by default, block `tool.delete`
/// at high risk with `destructive_tool_blocked`.
pub const DEMO_POLICY_YAML: &str = "schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: block-destructive-tool-delete
    priority: 10
    effect: block
    match:
      tool_names: [tool.delete]
      risk_classes: [high]
    reason_codes: [destructive_tool_blocked]
";

/// The intent of `gait demo --policy` (two-space indented JSON with a
/// trailing newline): a high-risk `tool.delete` of a file, created at
/// 2026-02-14T00:00:00Z.
pub fn demo_intent_json(producer_version: &str) -> Vec<u8> {
    let v = serde_json::json!({
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-14T00:00:00Z",
        "producer_version": producer_version,
        "tool_name": "tool.delete",
        "args": {"path": "/tmp/demo/delete-me.txt"},
        "targets": [{
            "kind": "path",
            "value": "/tmp/demo/delete-me.txt",
            "operation": "delete",
            "endpoint_class": "fs.delete",
            "destructive": true
        }],
        "context": {
            "identity": "demo.user",
            "workspace": "/tmp/demo",
            "risk_class": "high"
        }
    });
    let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod demo_tests {
    use super::*;

    #[test]
    fn demo_policy_blocks_demo_intent() {
        let policy = Policy::from_yaml_str(DEMO_POLICY_YAML).unwrap();
        let intent = crate::Intent::from_json_slice(&demo_intent_json("0.0.0-dev")).unwrap();
        let d = crate::eval::evaluate(&policy, &intent, &crate::EvalOptions::default());
        assert_eq!(d.verdict(), crate::Verdict::Block);
        assert_eq!(d.matched_rule(), "block-destructive-tool-delete");
        assert!(
            d.reason_codes()
                .contains(&"destructive_tool_blocked".to_owned())
        );
    }
}
