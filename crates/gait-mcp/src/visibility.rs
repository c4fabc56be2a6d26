//! Which tools a policy blocks whatever their arguments (so the proxy may
//! hide them from `tools/list`).

use gait_policy::{Policy, Verdict};
use serde_json::Value;

/// Whether `policy` blocks every call of `tool_name` (lowercased), whatever
/// its arguments and context.
///
/// Evaluation takes the first priority tier with a matching rule and the
/// most restrictive effect within it; constraints only ever raise an
/// effect. So if every rule that *could* match the tool (its `tool_names`
/// is empty or names the tool) has effect `block`, any match blocks; the
/// call is then always blocked when the default verdict is `block` too, or
/// when one of those rules matches on the tool name alone. The answer errs
/// on the side of showing a tool: a tool shown but blocked is still
/// blocked at `tools/call`.
pub fn always_blocked(policy: &Policy, tool_name: &str) -> bool {
    let tool = tool_name.trim().to_lowercase();
    let projection = policy.projection();
    let projected = projection
        .get("Rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut surely_matched = false;
    for (i, rule) in policy.rules().iter().enumerate() {
        let names = &rule.selector.tool_names;
        let may_match = names.is_empty() || names.contains(&tool);
        if !may_match {
            continue;
        }
        if rule.effect != Verdict::Block {
            return false;
        }
        if !names.is_empty() {
            let only_names = projected
                .get(i)
                .filter(|r| r.get("Name").and_then(Value::as_str) == Some(rule.name.as_str()))
                .and_then(|r| r.get("Match"))
                .is_some_and(match_is_tool_names_only);
            surely_matched |= only_names;
        }
    }
    surely_matched || policy.default_verdict() == Verdict::Block
}

/// Whether a projected `Match` sets nothing but `ToolNames`.
fn match_is_tool_names_only(m: &Value) -> bool {
    let Some(map) = m.as_object() else {
        return false;
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "ToolNames")
        .all(|(_, v)| is_zero(v))
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_zero),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn policy(yaml: &str) -> Policy {
        Policy::from_yaml_str(yaml).unwrap()
    }

    #[test]
    fn default_block_with_allow_rules() {
        let p = policy(
            "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [read_file]\n",
        );
        assert!(!always_blocked(&p, "read_file"));
        assert!(always_blocked(&p, "write_file"));
    }

    #[test]
    fn explicit_block_rule_under_default_allow() {
        let p = policy(
            "default_verdict: allow\nrules:\n  - name: no-writes\n    priority: 1\n    effect: block\n    match:\n      tool_names: [write_file]\n",
        );
        assert!(always_blocked(&p, "Write_File"));
        assert!(!always_blocked(&p, "read_file"));
    }

    #[test]
    fn conditional_block_is_not_always() {
        let p = policy(
            "default_verdict: allow\nrules:\n  - name: no-high-writes\n    effect: block\n    match:\n      tool_names: [write_file]\n      risk_classes: [high]\n",
        );
        assert!(!always_blocked(&p, "write_file"));
    }

    #[test]
    fn catch_all_allow_keeps_everything() {
        let p = policy(
            "default_verdict: block\nrules:\n  - name: all\n    priority: 100\n    effect: require_approval\n    match: {}\n",
        );
        assert!(!always_blocked(&p, "write_file"));
    }
}
