//! `gait policy fmt`: the normalised policy as YAML.
//!
//! [`Policy::to_yaml`](super::Policy::to_yaml) writes what a loaded policy
//! means, not what its file said: aliases are folded into their canonical
//! keys (`tool_name` into `tool_names`, `endpoint_class` into
//! `endpoint_classes`, `action` into `effect`, `default_action` into
//! `default_verdict`), lists are trimmed, de-duplicated, sorted and (where
//! the format says so) lowercased, and rules appear in evaluation order.
//! Comments and anchors are not kept.
//!
//! # Layout
//!
//! Two-space indentation; lists in block style, indented under their key.
//! Keys come in a fixed order, the order of the reference's policy model:
//!
//! * top level: `schema_id`, `schema_version`, `default_verdict`,
//!   `scripts`, `fail_closed`, `mcp_trust`, `rules`;
//! * a rule: `name`, `priority`, `effect`, `match`, `endpoint`,
//!   `reason_codes`, `violations`, the agent keys, the credential keys,
//!   `min_approvals`, `require_distinct_approvers`, the context-evidence
//!   keys, the broker keys, `freeze_window`, `sandbox`, `rate_limit`,
//!   `destructive_budget`, `dataflow`;
//! * `match`: `tool_names` … `max_delegation_depth` as in the reference,
//!   then `when`.
//!
//! # What is written
//!
//! * Always: `schema_id`, `schema_version`, `default_verdict`, `rules`
//!   (`[]` when there are none), and each rule's `name`, `priority`,
//!   `effect` and `match` (`{}` when empty).
//! * Otherwise a key appears only when it is set: a non-empty list or
//!   string, a non-zero number, a `true` flag. `max_delegation_depth` and
//!   the tool-annotation hints appear whenever set (`0` and `false` are
//!   real values there).
//! * A configured constraint block (`mcp_trust`, `freeze_window`, `sandbox`,
//!   `dataflow`, `endpoint`) is written with `enabled: true` and with the
//!   defaults that loading filled in made explicit, as the reference's
//!   formatter does (for example `dataflow.tainted_sources: [external,
//!   tool_output]`, `rate_limit.window: minute`, a freeze window's
//!   generated `window-<n>` name). `fail_closed` and `scripts` are written
//!   only when they differ from their defaults.
//!
//! Strings are plain when that is unambiguous, single-quoted when they are
//! printable, and double-quoted with escapes otherwise.
//!
//! Loading the output gives a policy equal to the original (hence the same
//! digest), so formatting formatted output changes nothing.

use std::fmt::Write as _;

use super::Policy;
use super::gocompat::format_duration;
use super::model::{
    Dataflow, EndpointConstraint, FailClosed, FreezeWindow, McpTrust, RateLimit, Rule, RuleMatch,
    Sandbox, ScriptPolicy,
};

/// Renders `policy` as normalised YAML (see the module documentation).
pub(super) fn to_yaml(policy: &Policy) -> String {
    let mut w = Writer::default();
    w.scalar(0, "schema_id", policy.schema_id());
    w.scalar(0, "schema_version", policy.schema_version());
    w.scalar(0, "default_verdict", policy.default_verdict.as_str());
    scripts(&mut w, &policy.scripts);
    fail_closed(&mut w, &policy.fail_closed);
    if let Some(m) = &policy.mcp_trust {
        mcp_trust(&mut w, m);
    }
    if policy.rules.is_empty() {
        w.raw(0, "rules", "[]");
    } else {
        w.key(0, "rules");
        for r in &policy.rules {
            rule(&mut w, r);
        }
    }
    w.out
}

/// Accumulates lines of YAML.
#[derive(Default)]
struct Writer {
    out: String,
    /// Set after a list item's `- `: the next key goes on the same line.
    pending_item: bool,
}

impl Writer {
    fn start(&mut self, indent: usize) {
        if self.pending_item {
            self.pending_item = false;
        } else {
            self.out.extend(std::iter::repeat_n(' ', indent));
        }
    }

    /// `key:` opening a nested block.
    fn key(&mut self, indent: usize, key: &str) {
        self.start(indent);
        self.out.push_str(key);
        self.out.push_str(":\n");
    }

    /// `key: <text>`, text already YAML.
    fn raw(&mut self, indent: usize, key: &str, text: &str) {
        self.start(indent);
        let _ = writeln!(self.out, "{key}: {text}");
    }

    fn scalar(&mut self, indent: usize, key: &str, value: &str) {
        self.raw(indent, key, &quote(value));
    }

    fn non_empty(&mut self, indent: usize, key: &str, value: &str) {
        if !value.is_empty() {
            self.scalar(indent, key, value);
        }
    }

    fn flag(&mut self, indent: usize, key: &str, value: bool) {
        if value {
            self.raw(indent, key, "true");
        }
    }

    fn number(&mut self, indent: usize, key: &str, value: u64) {
        if value != 0 {
            self.raw(indent, key, &value.to_string());
        }
    }

    /// A block list, omitted when empty.
    fn list(&mut self, indent: usize, key: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        self.key(indent, key);
        for v in values {
            self.out.extend(std::iter::repeat_n(' ', indent + 2));
            self.out.push_str("- ");
            self.out.push_str(&quote(v));
            self.out.push('\n');
        }
    }

    /// Opens a list item whose first key follows `- ` on the same line.
    fn item(&mut self, indent: usize) {
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.out.push_str("- ");
        self.pending_item = true;
    }
}

fn scripts(w: &mut Writer, s: &ScriptPolicy) {
    if *s == ScriptPolicy::default() {
        return;
    }
    w.key(0, "scripts");
    w.number(2, "max_steps", s.max_steps);
    w.number(2, "require_approval_above", s.require_approval_above);
    w.flag(2, "block_mixed_risk", s.block_mixed_risk);
}

fn fail_closed(w: &mut Writer, f: &FailClosed) {
    if *f == FailClosed::default() {
        return;
    }
    w.key(0, "fail_closed");
    w.flag(2, "enabled", f.enabled);
    w.list(2, "risk_classes", &f.risk_classes);
    w.list(2, "required_fields", &f.required_fields);
    w.list(2, "required_high_risk_fields", &f.required_high_risk_fields);
}

fn mcp_trust(w: &mut Writer, m: &McpTrust) {
    w.key(0, "mcp_trust");
    w.flag(2, "enabled", true);
    w.scalar(2, "snapshot", &m.snapshot_path);
    w.scalar(2, "action", m.action.as_str());
    w.list(2, "required_risk_classes", &m.required_risk_classes);
    if m.min_score != 0.0 {
        // Rust's shortest round-trip form; an integral score prints without
        // a fraction and loads back as the same number.
        w.raw(2, "min_score", &m.min_score.to_string());
    }
    if let Some(age) = m.max_age {
        let nanos = i64::try_from(age.as_nanos()).unwrap_or(i64::MAX);
        w.scalar(2, "max_age", &format_duration(nanos));
    }
    w.list(2, "publisher_allowlist", &m.publisher_allowlist);
    w.flag(2, "require_registry", m.require_registry);
}

fn rule(w: &mut Writer, r: &Rule) {
    const I: usize = 4;
    w.item(2);
    w.scalar(I, "name", &r.name);
    w.raw(I, "priority", &r.priority.to_string());
    w.scalar(I, "effect", r.effect.as_str());
    selector(w, &r.selector);
    if let Some(e) = &r.endpoint {
        endpoint(w, e);
    }
    w.list(I, "reason_codes", &r.reason_codes);
    w.list(I, "violations", &r.violations);
    w.flag(I, "require_declared_agent", r.require_declared_agent);
    w.list(I, "allowed_agent_ids", &r.allowed_agent_ids);
    w.list(I, "denied_agent_ids", &r.denied_agent_ids);
    if let Some(d) = &r.required_agent_manifest_digest {
        w.scalar(I, "required_agent_manifest_digest", &d.to_hex());
    }
    w.list(
        I,
        "allowed_agent_manifest_publishers",
        &r.allowed_agent_manifest_publishers,
    );
    w.list(
        I,
        "allowed_agent_manifest_sources",
        &r.allowed_agent_manifest_sources,
    );
    w.list(
        I,
        "required_agent_lifecycle_states",
        &r.required_agent_lifecycle_states,
    );
    w.flag(I, "require_agent_owner", r.require_agent_owner);
    w.flag(I, "require_unexpired_agent", r.require_unexpired_agent);
    w.flag(
        I,
        "block_standing_credentials",
        r.block_standing_credentials,
    );
    w.list(
        I,
        "allowed_credential_sources",
        &r.allowed_credential_sources,
    );
    w.list(
        I,
        "allowed_credential_issuers",
        &r.allowed_credential_issuers,
    );
    w.list(
        I,
        "allowed_credential_access_types",
        &r.allowed_credential_access_types,
    );
    w.number(
        I,
        "max_credential_ttl_seconds",
        r.max_credential_ttl_seconds,
    );
    w.flag(I, "require_jit_credential", r.require_jit_credential);
    w.number(I, "min_approvals", r.min_approvals);
    w.flag(
        I,
        "require_distinct_approvers",
        r.require_distinct_approvers,
    );
    w.flag(I, "require_context_evidence", r.require_context_evidence);
    if let Some(mode) = &r.required_context_evidence_mode {
        w.scalar(I, "required_context_evidence_mode", mode);
    }
    w.number(I, "max_context_age_seconds", r.max_context_age_seconds);
    w.flag(I, "require_broker_credential", r.require_broker_credential);
    w.non_empty(I, "broker_reference", &r.broker_reference);
    w.list(I, "broker_scopes", &r.broker_scopes);
    if let Some(f) = &r.freeze_window {
        freeze_window(w, f);
    }
    if let Some(s) = &r.sandbox {
        sandbox(w, s);
    }
    if let Some(l) = &r.rate_limit {
        rate_limit(w, "rate_limit", l);
    }
    if let Some(l) = &r.destructive_budget {
        rate_limit(w, "destructive_budget", l);
    }
    if let Some(d) = &r.dataflow {
        dataflow(w, d);
    }
}

fn selector(w: &mut Writer, m: &RuleMatch) {
    const I: usize = 6;
    if *m == RuleMatch::default() {
        w.raw(4, "match", "{}");
        return;
    }
    w.key(4, "match");
    w.list(I, "tool_names", &m.tool_names);
    w.list(I, "risk_classes", &m.risk_classes);
    w.list(I, "target_kinds", &m.target_kinds);
    w.list(I, "target_values", &m.target_values);
    w.list(I, "endpoint_classes", &m.endpoint_classes);
    w.list(I, "discovery_method", &m.discovery_methods);
    let hints = &m.tool_annotations;
    if !hints.is_empty() {
        w.key(I, "tool_annotations");
        for (key, value) in [
            ("readOnlyHint", hints.read_only_hint),
            ("destructiveHint", hints.destructive_hint),
            ("idempotentHint", hints.idempotent_hint),
            ("openWorldHint", hints.open_world_hint),
        ] {
            if let Some(v) = value {
                w.raw(I + 2, key, if v { "true" } else { "false" });
            }
        }
    }
    w.list(I, "skill_publishers", &m.skill_publishers);
    w.list(I, "skill_sources", &m.skill_sources);
    w.list(I, "data_classes", &m.data_classes);
    w.list(I, "destination_kinds", &m.destination_kinds);
    w.list(I, "destination_values", &m.destination_values);
    w.list(I, "destination_operations", &m.destination_operations);
    w.list(I, "provenance_sources", &m.provenance_sources);
    w.list(I, "identities", &m.identities);
    w.list(I, "workspace_prefixes", &m.workspace_prefixes);
    w.list(I, "context_tool_names", &m.context_tool_names);
    w.list(I, "context_data_classes", &m.context_data_classes);
    w.list(I, "context_endpoint_classes", &m.context_endpoint_classes);
    w.list(I, "context_autonomy_levels", &m.context_autonomy_levels);
    w.flag(I, "require_delegation", m.require_delegation);
    w.list(
        I,
        "allowed_delegator_identities",
        &m.allowed_delegator_identities,
    );
    w.list(
        I,
        "allowed_delegate_identities",
        &m.allowed_delegate_identities,
    );
    w.list(I, "delegation_scopes", &m.delegation_scopes);
    if let Some(depth) = m.max_delegation_depth {
        w.raw(I, "max_delegation_depth", &depth.to_string());
    }
    if let Some(when) = &m.when {
        w.scalar(I, "when", when);
    }
}

fn endpoint(w: &mut Writer, e: &EndpointConstraint) {
    const I: usize = 6;
    w.key(4, "endpoint");
    w.flag(I, "enabled", true);
    w.list(I, "path_allowlist", &e.path_allowlist);
    w.list(I, "path_denylist", &e.path_denylist);
    w.list(I, "domain_allowlist", &e.domain_allowlist);
    w.list(I, "domain_denylist", &e.domain_denylist);
    w.list(I, "egress_classes", &e.egress_classes);
    w.scalar(I, "action", e.action.as_str());
    if let Some(a) = e.destructive_action {
        w.scalar(I, "destructive_action", a.as_str());
    }
    w.scalar(I, "reason_code", &e.reason_code);
    w.scalar(I, "violation", &e.violation);
}

fn freeze_window(w: &mut Writer, f: &FreezeWindow) {
    const I: usize = 6;
    w.key(4, "freeze_window");
    w.flag(I, "enabled", true);
    w.scalar(I, "timezone", &f.timezone);
    w.scalar(I, "effect", f.effect.as_str());
    w.non_empty(I, "reason", &f.reason);
    w.list(I, "environments", &f.environments);
    w.list(I, "risk_classes", &f.risk_classes);
    w.key(I, "windows");
    for window in &f.windows {
        w.item(I + 2);
        w.scalar(I + 4, "name", &window.name);
        w.scalar(I + 4, "start", &window.start);
        w.scalar(I + 4, "end", &window.end);
    }
}

fn sandbox(w: &mut Writer, s: &Sandbox) {
    const I: usize = 6;
    w.key(4, "sandbox");
    w.flag(I, "enabled", true);
    w.list(I, "allowed_network_modes", &s.allowed_network_modes);
    w.list(
        I,
        "allowed_writable_path_prefixes",
        &s.allowed_writable_path_prefixes,
    );
    w.list(I, "required_read_only_roots", &s.required_read_only_roots);
    w.list(
        I,
        "allowed_env_exposure_modes",
        &s.allowed_env_exposure_modes,
    );
    w.number(I, "max_timeout_seconds", s.max_timeout_seconds);
    w.list(
        I,
        "allowed_filesystem_isolations",
        &s.allowed_filesystem_isolations,
    );
    w.list(I, "allowed_user_modes", &s.allowed_user_modes);
}

fn rate_limit(w: &mut Writer, key: &str, l: &RateLimit) {
    const I: usize = 6;
    w.key(4, key);
    w.number(I, "requests", l.requests);
    w.scalar(I, "window", l.window.as_str());
    w.scalar(I, "scope", l.scope.as_str());
}

fn dataflow(w: &mut Writer, d: &Dataflow) {
    const I: usize = 6;
    w.key(4, "dataflow");
    w.flag(I, "enabled", true);
    w.list(I, "tainted_sources", &d.tainted_sources);
    w.list(I, "destination_kinds", &d.destination_kinds);
    w.list(I, "destination_values", &d.destination_values);
    w.list(I, "destination_operations", &d.destination_operations);
    w.scalar(I, "action", d.action.as_str());
    w.scalar(I, "reason_code", &d.reason_code);
    w.scalar(I, "violation", &d.violation);
}

/// A string as a YAML scalar that loads back as exactly this string.
fn quote(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else if s.chars().all(is_printable) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

/// Whether `s` can be written unquoted: a conservative character set, no
/// leading or trailing space, not starting like a number, an indicator or
/// a tag, and not a word any YAML schema reads as a boolean or null.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let path_like = s.starts_with("./") || s.starts_with("../");
    // `1.0.0`: digits with two or more dots is no number in any schema.
    let dotted = s.split('.').count() >= 3
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if dotted {
        return true;
    }
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_' || path_like)
        || s.ends_with(' ')
    {
        return false;
    }
    let charset = s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | '-' | '+' | '@' | '*' | '=' | ' ')
    });
    if !charset || s.contains("  ") {
        return false;
    }
    const RESERVED: [&str; 11] = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf",
    ];
    !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s))
}

/// Characters that may appear literally inside a quoted scalar.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        ))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "test code: a failure should panic"
    )]

    use super::*;

    fn round_trip(yaml: &str) -> (Policy, String) {
        let p = Policy::from_yaml_str(yaml).unwrap();
        let text = p.to_yaml();
        let q = Policy::from_yaml_str(&text)
            .unwrap_or_else(|e| panic!("formatted policy does not load: {e}\n{text}"));
        assert_eq!(q.digest(), p.digest(), "{text}");
        assert_eq!(q, p, "{text}");
        assert_eq!(q.to_yaml(), text, "formatting is idempotent");
        (p, text)
    }

    #[test]
    fn empty_policy() {
        let (_, text) = round_trip("");
        assert_eq!(
            text,
            "schema_id: gait.gate.policy\nschema_version: 1.0.0\n\
             default_verdict: require_approval\nrules: []\n"
        );
    }

    #[test]
    fn aliases_fold_and_lists_normalise() {
        let (_, text) = round_trip(
            "default_action: BLOCK\nrules:\n  - name: ' b '\n    action: Allow\n    priority: 5\n    match:\n      tool_name: Tool.Write\n      tool_names: [tool.read, TOOL.READ, '']\n      endpoint_class: [fs.read]\n  - name: a\n    effect: block\n",
        );
        assert_eq!(
            text,
            "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\n\
             rules:\n  - name: a\n    priority: 0\n    effect: block\n    match: {}\n\
             \x20 - name: b\n    priority: 5\n    effect: allow\n    match:\n\
             \x20     tool_names:\n        - tool.read\n        - tool.write\n\
             \x20     endpoint_classes:\n        - fs.read\n"
        );
    }

    /// Every field of the model, with the defaults loading fills in.
    const FULL: &str = r##"
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: dry_run
scripts: {max_steps: 8, require_approval_above: 3, block_mixed_risk: true}
fail_closed:
  enabled: true
  required_fields: [targets, arg_provenance]
  required_high_risk_fields: [agent_id]
mcp_trust:
  snapshot: ./trust.json
  min_score: 0.75
  max_age: 90m
  publisher_allowlist: [Acme]
  require_registry: true
rules:
  - name: everything
    priority: -3
    effect: require_approval
    match:
      tool_names: [tool.write]
      risk_classes: [HIGH]
      target_kinds: [path]
      target_values: ["/Tmp/x", "yes", "007", "a: b", "it's", "tab\there", "~", ""]
      endpoint_classes: [fs.write]
      discovery_method: [mcp]
      tool_annotations: {readOnlyHint: false, openWorldHint: true}
      skill_publishers: [acme]
      skill_sources: [registry]
      data_classes: [pii]
      destination_kinds: [url]
      destination_values: [https://example.com/x?y=1#z]
      destination_operations: [write]
      provenance_sources: [user]
      identities: [Alice]
      workspace_prefixes: [/repo]
      context_tool_names: [tool.read]
      context_data_classes: [secret]
      context_endpoint_classes: [net.http]
      context_autonomy_levels: [full]
      require_delegation: true
      allowed_delegator_identities: [Boss]
      allowed_delegate_identities: [Agent]
      delegation_scopes: [Write]
      max_delegation_depth: 0
      when: 'intent.tool_name == "tool.write" && intent.context.environment != "prod"'
    endpoint:
      path_allowlist: ["**/safe/*"]
      domain_denylist: [Evil.example]
      egress_classes: [net.http]
      destructive_action: require_approval
    reason_codes: [Needs-Review, "#hash"]
    violations: [v1]
    require_declared_agent: true
    allowed_agent_ids: [agent-1]
    denied_agent_ids: [agent-2]
    required_agent_manifest_digest: 0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B0C0D0E0F0A0B
    allowed_agent_manifest_publishers: [acme]
    allowed_agent_manifest_sources: [registry]
    required_agent_lifecycle_states: [active]
    require_agent_owner: true
    require_unexpired_agent: true
    block_standing_credentials: true
    allowed_credential_sources: [github_oidc]
    allowed_credential_issuers: [Issuer]
    allowed_credential_access_types: [jit]
    max_credential_ttl_seconds: 900
    require_jit_credential: true
    min_approvals: 2
    require_context_evidence: true
    max_context_age_seconds: 60
    require_broker_credential: true
    broker_reference: vault://x
    broker_scopes: [Read]
    freeze_window:
      timezone: Europe/Paris
      reason: "Release freeze: Q4"
      environments: [Prod]
      windows:
        - {start: "2025-12-20T00:00:00", end: "2026-01-02T00:00:00"}
        - {name: second, start: "2026-02-01T00:00:00", end: "2026-02-02T00:00:00"}
    sandbox:
      allowed_network_modes: [disabled]
      allowed_writable_path_prefixes: [/tmp//out/]
      required_read_only_roots: [/usr]
      allowed_env_exposure_modes: [none]
      max_timeout_seconds: 30
      allowed_filesystem_isolations: [container]
      allowed_user_modes: [unprivileged]
    rate_limit: {requests: 10}
    destructive_budget: {requests: 2, window: hour, scope: tool}
    dataflow:
      destination_kinds: [url]
      destination_values: [https://x]
      destination_operations: [post]
  - name: enabled-only
    effect: allow
    match:
      when: |
        intent.targets.all(t, t.value.startsWith("/tmp/"))
          && true
    sandbox: {enabled: true}
    dataflow: {enabled: true}
    endpoint: {enabled: true}
    freeze_window: {enabled: true, timezone: UTC, windows: [{start: a, end: b}]}
"##;

    #[test]
    fn every_field_round_trips() {
        let (p, text) = round_trip(FULL);
        assert!(p.rules().iter().all(|r| r.selector.when.is_some()));
        for needle in [
            "      when: 'intent.tool_name == \"tool.write\" && intent.context.environment != \"prod\"'\n",
            "      when: \"intent.targets.all(t, t.value.startsWith(\\\"/tmp/\\\"))\\n  && true\"\n",
            "        - name: window-1\n",
            "      tainted_sources:\n        - external\n        - tool_output\n",
            "      window: minute\n      scope: tool_identity\n",
            "  max_age: '1h30m0s'\n",
            "  snapshot: ./trust.json\n",
            "  min_score: 0.75\n",
            "  risk_classes:\n    - critical\n    - high\n",
            "      max_delegation_depth: 0\n",
            "        readOnlyHint: false\n        openWorldHint: true\n",
            "        - \"tab\\there\"\n",
            "        - '~'\n",
            "        - 'yes'\n",
            "        - '007'\n",
            "        - 'it''s'\n",
            "    require_distinct_approvers: true\n",
            "    required_context_evidence_mode: required\n",
            "        - /tmp/out\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn scalars_load_back_verbatim() {
        for s in [
            "",
            " x",
            "x ",
            "a  b",
            "true",
            "True",
            "NULL",
            "~",
            "-",
            "- x",
            "? x",
            "1",
            "1.0",
            "0x1F",
            "1e3",
            ".inf",
            "-.inf",
            "a: b",
            "a #b",
            "#c",
            "&a",
            "*a",
            "!t",
            "%p",
            "@x",
            "`x",
            "'",
            "\"",
            "\\",
            "new\nline",
            "nul\0",
            "del\u{7f}",
            "\u{85}",
            "\u{2028}",
            "\u{feff}",
            "é",
            "日本",
            "😀",
            "{a}",
            "[a]",
            "a,b",
            "|",
            ">",
            "x=y",
            "on",
            "N",
        ] {
            let yaml = format!(
                "rules:\n  - name: r\n    effect: allow\n    match:\n      target_values: [{}]\n",
                double_quoted(s)
            );
            let (p, _) = round_trip(&yaml);
            let want: Vec<String> = if s.trim().is_empty() {
                Vec::new()
            } else {
                vec![s.trim().to_owned()]
            };
            assert_eq!(p.rules()[0].selector.target_values, want, "{s:?}");
            // And `quote` itself, on the untrimmed value.
            let doc = format!("k: {}\n", quote(s));
            let v: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
            assert_eq!(v["k"], s, "{doc:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_strings_round_trip(s in "\\PC*|[ -~]{0,12}|[\\x00-\\x7f]{0,6}") {
            let doc = format!("k: {}\n", quote(&s));
            let v: std::collections::BTreeMap<String, String> =
                serde_saphyr::from_str(&doc).unwrap();
            proptest::prop_assert_eq!(&v["k"], &s);
            let yaml = format!(
                "rules:\n  - name: r\n    effect: allow\n    reason_codes: [{}]\n",
                double_quoted(&s)
            );
            if let Ok(p) = Policy::from_yaml_str(&yaml) {
                let q = Policy::from_yaml_str(&p.to_yaml()).unwrap();
                proptest::prop_assert_eq!(q.digest(), p.digest());
            }
        }
    }
}
