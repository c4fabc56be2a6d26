//! Typed decoding of the located YAML tree into the raw policy fields.
//!
//! This is the strict step: every key must be one `gait.gate.policy` 1.0.0
//! defines, and every value must have the field's type. Nothing is
//! normalised here (that is `normalize.rs`); values keep their positions so
//! that later validation errors can point at them.
//!
//! Type rules (the reference's, except where marked *stricter*):
//! * `null` (or an empty value) anywhere means "not set": the zero value.
//! * Strings take any scalar. An unquoted number or boolean reads as the
//!   reference reads it (`0x1F` is `"31"`, `True` is `"true"`).
//! * Booleans take only `true`/`false` (YAML 1.2 spellings); `yes` is an
//!   error.
//! * Integers take only YAML integers. *Stricter:* the reference also takes
//!   floats (truncating `1.9` to `1`) and numeric strings (`"5"`).
//! * Floats take integers and floats. *Stricter:* not numeric strings, and
//!   never NaN or infinity.
//! * Lists take a YAML sequence (or null); mappings take a YAML mapping (or
//!   null). A `null` list element is an empty string, which normalisation
//!   then drops, as in the reference.

use super::error::PolicyError;
use super::gocompat::plain_scalar_as_string;
use super::yaml::{Node, Pos, Value};

/// A decoded value with the position of the YAML node it came from (the
/// default position when the key was absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct At<T> {
    pub(crate) v: T,
    pub(crate) pos: Pos,
}

pub(crate) type Str = At<String>;
pub(crate) type StrList = At<Vec<Str>>;

#[derive(Debug, Default)]
pub(crate) struct RawPolicy {
    pub(crate) pos: Pos,
    pub(crate) schema_id: Str,
    pub(crate) schema_version: Str,
    pub(crate) default_verdict: Str,
    pub(crate) default_action: Str,
    pub(crate) scripts: RawScripts,
    pub(crate) fail_closed: RawFailClosed,
    pub(crate) mcp_trust: RawMcpTrust,
    pub(crate) rules: Vec<RawRule>,
}

#[derive(Debug, Default)]
pub(crate) struct RawScripts {
    pub(crate) pos: Pos,
    pub(crate) max_steps: At<i64>,
    pub(crate) require_approval_above: At<i64>,
    pub(crate) block_mixed_risk: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RawFailClosed {
    pub(crate) enabled: bool,
    pub(crate) risk_classes: StrList,
    pub(crate) required_fields: StrList,
    pub(crate) required_high_risk_fields: StrList,
}

#[derive(Debug, Default)]
pub(crate) struct RawMcpTrust {
    pub(crate) pos: Pos,
    pub(crate) enabled: bool,
    pub(crate) snapshot: Str,
    pub(crate) action: Str,
    pub(crate) required_risk_classes: StrList,
    pub(crate) min_score: At<f64>,
    pub(crate) max_age: Str,
    pub(crate) publisher_allowlist: StrList,
    pub(crate) require_registry: bool,
}

#[derive(Debug, Default)]
pub(crate) struct RawRule {
    pub(crate) pos: Pos,
    /// Index in the file, for error paths.
    pub(crate) index: usize,
    pub(crate) name: Str,
    pub(crate) priority: At<i64>,
    pub(crate) effect: Str,
    pub(crate) action: Str,
    pub(crate) selector: RawMatch,
    pub(crate) endpoint: RawEndpoint,
    pub(crate) reason_codes: StrList,
    pub(crate) violations: StrList,
    pub(crate) require_declared_agent: bool,
    pub(crate) allowed_agent_ids: StrList,
    pub(crate) denied_agent_ids: StrList,
    pub(crate) required_agent_manifest_digest: Str,
    pub(crate) allowed_agent_manifest_publishers: StrList,
    pub(crate) allowed_agent_manifest_sources: StrList,
    pub(crate) required_agent_lifecycle_states: StrList,
    pub(crate) require_agent_owner: bool,
    pub(crate) require_unexpired_agent: bool,
    pub(crate) block_standing_credentials: bool,
    pub(crate) allowed_credential_sources: StrList,
    pub(crate) allowed_credential_issuers: StrList,
    pub(crate) allowed_credential_access_types: StrList,
    pub(crate) max_credential_ttl_seconds: At<i64>,
    pub(crate) require_jit_credential: bool,
    pub(crate) min_approvals: At<i64>,
    pub(crate) require_distinct_approvers: bool,
    pub(crate) require_context_evidence: bool,
    pub(crate) required_context_evidence_mode: Str,
    pub(crate) max_context_age_seconds: At<i64>,
    pub(crate) require_broker_credential: bool,
    pub(crate) broker_reference: Str,
    pub(crate) broker_scopes: StrList,
    pub(crate) freeze_window: RawFreezeWindow,
    pub(crate) sandbox: RawSandbox,
    pub(crate) rate_limit: RawRateLimit,
    pub(crate) destructive_budget: RawRateLimit,
    pub(crate) dataflow: RawDataflow,
}

#[derive(Debug, Default)]
pub(crate) struct RawMatch {
    pub(crate) pos: Pos,
    pub(crate) tool_name: Str,
    pub(crate) tool_names: StrList,
    pub(crate) risk_classes: StrList,
    pub(crate) target_kinds: StrList,
    pub(crate) target_values: StrList,
    pub(crate) endpoint_class: StrList,
    pub(crate) endpoint_classes: StrList,
    pub(crate) discovery_methods: StrList,
    pub(crate) tool_annotations: RawToolAnnotations,
    pub(crate) skill_publishers: StrList,
    pub(crate) skill_sources: StrList,
    pub(crate) data_classes: StrList,
    pub(crate) destination_kinds: StrList,
    pub(crate) destination_values: StrList,
    pub(crate) destination_operations: StrList,
    pub(crate) provenance_sources: StrList,
    pub(crate) identities: StrList,
    pub(crate) workspace_prefixes: StrList,
    pub(crate) context_tool_names: StrList,
    pub(crate) context_data_classes: StrList,
    pub(crate) context_endpoint_classes: StrList,
    pub(crate) context_autonomy_levels: StrList,
    pub(crate) require_delegation: bool,
    pub(crate) allowed_delegator_identities: StrList,
    pub(crate) allowed_delegate_identities: StrList,
    pub(crate) delegation_scopes: StrList,
    pub(crate) max_delegation_depth: At<Option<i64>>,
    /// Beyond the reference: a CEL condition (`match.when`).
    pub(crate) when: At<Option<String>>,
}

#[derive(Debug, Default)]
pub(crate) struct RawToolAnnotations {
    pub(crate) read_only_hint: Option<bool>,
    pub(crate) destructive_hint: Option<bool>,
    pub(crate) idempotent_hint: Option<bool>,
    pub(crate) open_world_hint: Option<bool>,
}

#[derive(Debug, Default)]
pub(crate) struct RawFreezeWindow {
    pub(crate) pos: Pos,
    pub(crate) enabled: bool,
    pub(crate) timezone: Str,
    pub(crate) effect: Str,
    pub(crate) reason: Str,
    pub(crate) environments: StrList,
    pub(crate) risk_classes: StrList,
    pub(crate) windows: Vec<RawWindow>,
}

#[derive(Debug, Default)]
pub(crate) struct RawWindow {
    pub(crate) pos: Pos,
    pub(crate) name: Str,
    pub(crate) start: Str,
    pub(crate) end: Str,
}

#[derive(Debug, Default)]
pub(crate) struct RawSandbox {
    pub(crate) pos: Pos,
    pub(crate) enabled: bool,
    pub(crate) allowed_network_modes: StrList,
    pub(crate) allowed_writable_path_prefixes: StrList,
    pub(crate) required_read_only_roots: StrList,
    pub(crate) allowed_env_exposure_modes: StrList,
    pub(crate) max_timeout_seconds: At<i64>,
    pub(crate) allowed_filesystem_isolations: StrList,
    pub(crate) allowed_user_modes: StrList,
}

#[derive(Debug, Default)]
pub(crate) struct RawRateLimit {
    pub(crate) pos: Pos,
    pub(crate) requests: At<i64>,
    pub(crate) window: Str,
    pub(crate) scope: Str,
}

#[derive(Debug, Default)]
pub(crate) struct RawDataflow {
    pub(crate) pos: Pos,
    pub(crate) enabled: bool,
    pub(crate) tainted_sources: StrList,
    pub(crate) destination_kinds: StrList,
    pub(crate) destination_values: StrList,
    pub(crate) destination_operations: StrList,
    pub(crate) action: Str,
    pub(crate) reason_code: Str,
    pub(crate) violation: Str,
}

#[derive(Debug, Default)]
pub(crate) struct RawEndpoint {
    pub(crate) pos: Pos,
    pub(crate) enabled: bool,
    pub(crate) path_allowlist: StrList,
    pub(crate) path_denylist: StrList,
    pub(crate) domain_allowlist: StrList,
    pub(crate) domain_denylist: StrList,
    pub(crate) egress_classes: StrList,
    pub(crate) action: Str,
    pub(crate) destructive_action: Str,
    pub(crate) reason_code: Str,
    pub(crate) violation: Str,
}

/// Top-level keys of the withdrawn proposal format, in the order the
/// reference lists them: the key, the keys that replace it (none: remove
/// it), and the reference's advice.
const LEGACY_FIELDS: [(&str, Option<&str>, Option<&str>); 6] = [
    (
        "version",
        Some("schema_id|schema_version"),
        Some("set schema_id=gait.gate.policy and schema_version=1.0.0"),
    ),
    (
        "name",
        None,
        Some("remove the top-level policy name; rule names remain under rules[].name when needed"),
    ),
    ("boundaries", Some("rules|mcp_trust"), None),
    ("defaults", Some("default_verdict|fail_closed"), None),
    (
        "trust_sources",
        Some("mcp_trust.snapshot"),
        Some("render external trust data to a local snapshot before evaluation"),
    ),
    (
        "unknown_server",
        Some("mcp_trust.action"),
        Some("enforce unknown servers through local snapshot coverage and a fail-closed action"),
    ),
];

/// Decoding context: the source text (for unquoted scalars' spelling).
pub(crate) struct Decoder<'s> {
    source: &'s str,
}

impl<'s> Decoder<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Self { source }
    }

    /// Decodes the document root.
    pub(crate) fn policy(&self, root: &Node) -> Result<RawPolicy, PolicyError> {
        let mut raw = RawPolicy {
            pos: root.pos,
            ..RawPolicy::default()
        };
        if matches!(root.value, Value::Null) {
            return Ok(raw);
        }
        let entries = self.mapping(root, "policy")?;
        check_legacy(&entries)?;
        for (key, value) in entries {
            let path = key.0.clone();
            match key.0.as_str() {
                "schema_id" => raw.schema_id = self.string(value, &path)?,
                "schema_version" => raw.schema_version = self.string(value, &path)?,
                "default_verdict" => raw.default_verdict = self.string(value, &path)?,
                "default_action" => raw.default_action = self.string(value, &path)?,
                "scripts" => raw.scripts = self.scripts(value, &path)?,
                "fail_closed" => raw.fail_closed = self.fail_closed(value, &path)?,
                "mcp_trust" => raw.mcp_trust = self.mcp_trust(value, &path)?,
                "rules" => {
                    raw.rules = Vec::new();
                    for (index, item) in self
                        .sequence(value, &path, "a list of rules")?
                        .iter()
                        .enumerate()
                    {
                        let item_path = format!("{path}[{index}]");
                        let mut rule = self.rule(item, &item_path)?;
                        rule.index = index;
                        raw.rules.push(rule);
                    }
                }
                _ => return Err(unknown(&key, "")),
            }
        }
        Ok(raw)
    }

    fn scripts(&self, node: &Node, path: &str) -> Result<RawScripts, PolicyError> {
        let mut raw = RawScripts {
            pos: node.pos,
            ..RawScripts::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "max_steps" => raw.max_steps = self.int(value, &p)?,
                "require_approval_above" => raw.require_approval_above = self.int(value, &p)?,
                "block_mixed_risk" => raw.block_mixed_risk = self.boolean(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(raw)
    }

    fn fail_closed(&self, node: &Node, path: &str) -> Result<RawFailClosed, PolicyError> {
        let mut raw = RawFailClosed::default();
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => raw.enabled = self.boolean(value, &p)?,
                "risk_classes" => raw.risk_classes = self.strings(value, &p)?,
                "required_fields" => raw.required_fields = self.strings(value, &p)?,
                "required_high_risk_fields" => {
                    raw.required_high_risk_fields = self.strings(value, &p)?;
                }
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(raw)
    }

    fn mcp_trust(&self, node: &Node, path: &str) -> Result<RawMcpTrust, PolicyError> {
        let mut raw = RawMcpTrust {
            pos: node.pos,
            ..RawMcpTrust::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => raw.enabled = self.boolean(value, &p)?,
                "snapshot" => raw.snapshot = self.string(value, &p)?,
                "action" => raw.action = self.string(value, &p)?,
                "required_risk_classes" => raw.required_risk_classes = self.strings(value, &p)?,
                "min_score" => raw.min_score = self.float(value, &p)?,
                "max_age" => raw.max_age = self.string(value, &p)?,
                "publisher_allowlist" => raw.publisher_allowlist = self.strings(value, &p)?,
                "require_registry" => raw.require_registry = self.boolean(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(raw)
    }

    fn rule(&self, node: &Node, path: &str) -> Result<RawRule, PolicyError> {
        let mut r = RawRule {
            pos: node.pos,
            ..RawRule::default()
        };
        // Absent keys point at the rule itself.
        r.name.pos = node.pos;
        r.effect.pos = node.pos;
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "name" => r.name = self.string(value, &p)?,
                "priority" => r.priority = self.int(value, &p)?,
                "effect" => r.effect = self.string(value, &p)?,
                "action" => r.action = self.string(value, &p)?,
                "match" => r.selector = self.selector(value, &p)?,
                "endpoint" => r.endpoint = self.endpoint(value, &p)?,
                "reason_codes" => r.reason_codes = self.strings(value, &p)?,
                "violations" => r.violations = self.strings(value, &p)?,
                "require_declared_agent" => r.require_declared_agent = self.boolean(value, &p)?,
                "allowed_agent_ids" => r.allowed_agent_ids = self.strings(value, &p)?,
                "denied_agent_ids" => r.denied_agent_ids = self.strings(value, &p)?,
                "required_agent_manifest_digest" => {
                    r.required_agent_manifest_digest = self.string(value, &p)?;
                }
                "allowed_agent_manifest_publishers" => {
                    r.allowed_agent_manifest_publishers = self.strings(value, &p)?;
                }
                "allowed_agent_manifest_sources" => {
                    r.allowed_agent_manifest_sources = self.strings(value, &p)?;
                }
                "required_agent_lifecycle_states" => {
                    r.required_agent_lifecycle_states = self.strings(value, &p)?;
                }
                "require_agent_owner" => r.require_agent_owner = self.boolean(value, &p)?,
                "require_unexpired_agent" => r.require_unexpired_agent = self.boolean(value, &p)?,
                "block_standing_credentials" => {
                    r.block_standing_credentials = self.boolean(value, &p)?;
                }
                "allowed_credential_sources" => {
                    r.allowed_credential_sources = self.strings(value, &p)?;
                }
                "allowed_credential_issuers" => {
                    r.allowed_credential_issuers = self.strings(value, &p)?;
                }
                "allowed_credential_access_types" => {
                    r.allowed_credential_access_types = self.strings(value, &p)?;
                }
                "max_credential_ttl_seconds" => {
                    r.max_credential_ttl_seconds = self.int(value, &p)?
                }
                "require_jit_credential" => r.require_jit_credential = self.boolean(value, &p)?,
                "min_approvals" => r.min_approvals = self.int(value, &p)?,
                "require_distinct_approvers" => {
                    r.require_distinct_approvers = self.boolean(value, &p)?;
                }
                "require_context_evidence" => {
                    r.require_context_evidence = self.boolean(value, &p)?;
                }
                "required_context_evidence_mode" => {
                    r.required_context_evidence_mode = self.string(value, &p)?;
                }
                "max_context_age_seconds" => r.max_context_age_seconds = self.int(value, &p)?,
                "require_broker_credential" => {
                    r.require_broker_credential = self.boolean(value, &p)?;
                }
                "broker_reference" => r.broker_reference = self.string(value, &p)?,
                "broker_scopes" => r.broker_scopes = self.strings(value, &p)?,
                "freeze_window" => r.freeze_window = self.freeze_window(value, &p)?,
                "sandbox" => r.sandbox = self.sandbox(value, &p)?,
                "rate_limit" => r.rate_limit = self.rate_limit(value, &p)?,
                "destructive_budget" => r.destructive_budget = self.rate_limit(value, &p)?,
                "dataflow" => r.dataflow = self.dataflow(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(r)
    }

    fn selector(&self, node: &Node, path: &str) -> Result<RawMatch, PolicyError> {
        let mut m = RawMatch {
            pos: node.pos,
            ..RawMatch::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "tool_name" => m.tool_name = self.string(value, &p)?,
                "tool_names" => m.tool_names = self.strings(value, &p)?,
                "risk_classes" => m.risk_classes = self.strings(value, &p)?,
                "target_kinds" => m.target_kinds = self.strings(value, &p)?,
                "target_values" => m.target_values = self.strings(value, &p)?,
                "endpoint_class" => m.endpoint_class = self.strings(value, &p)?,
                "endpoint_classes" => m.endpoint_classes = self.strings(value, &p)?,
                "discovery_method" => m.discovery_methods = self.strings(value, &p)?,
                "tool_annotations" => m.tool_annotations = self.tool_annotations(value, &p)?,
                "skill_publishers" => m.skill_publishers = self.strings(value, &p)?,
                "skill_sources" => m.skill_sources = self.strings(value, &p)?,
                "data_classes" => m.data_classes = self.strings(value, &p)?,
                "destination_kinds" => m.destination_kinds = self.strings(value, &p)?,
                "destination_values" => m.destination_values = self.strings(value, &p)?,
                "destination_operations" => m.destination_operations = self.strings(value, &p)?,
                "provenance_sources" => m.provenance_sources = self.strings(value, &p)?,
                "identities" => m.identities = self.strings(value, &p)?,
                "workspace_prefixes" => m.workspace_prefixes = self.strings(value, &p)?,
                "context_tool_names" => m.context_tool_names = self.strings(value, &p)?,
                "context_data_classes" => m.context_data_classes = self.strings(value, &p)?,
                "context_endpoint_classes" => {
                    m.context_endpoint_classes = self.strings(value, &p)?;
                }
                "context_autonomy_levels" => m.context_autonomy_levels = self.strings(value, &p)?,
                "require_delegation" => m.require_delegation = self.boolean(value, &p)?,
                "allowed_delegator_identities" => {
                    m.allowed_delegator_identities = self.strings(value, &p)?;
                }
                "allowed_delegate_identities" => {
                    m.allowed_delegate_identities = self.strings(value, &p)?;
                }
                "delegation_scopes" => m.delegation_scopes = self.strings(value, &p)?,
                "max_delegation_depth" => m.max_delegation_depth = self.optional_int(value, &p)?,
                "when" => m.when = self.optional_string(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(m)
    }

    fn tool_annotations(&self, node: &Node, path: &str) -> Result<RawToolAnnotations, PolicyError> {
        let mut t = RawToolAnnotations::default();
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "readOnlyHint" => t.read_only_hint = self.optional_boolean(value, &p)?,
                "destructiveHint" => t.destructive_hint = self.optional_boolean(value, &p)?,
                "idempotentHint" => t.idempotent_hint = self.optional_boolean(value, &p)?,
                "openWorldHint" => t.open_world_hint = self.optional_boolean(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(t)
    }

    fn freeze_window(&self, node: &Node, path: &str) -> Result<RawFreezeWindow, PolicyError> {
        let mut f = RawFreezeWindow {
            pos: node.pos,
            ..RawFreezeWindow::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => f.enabled = self.boolean(value, &p)?,
                "timezone" => f.timezone = self.string(value, &p)?,
                "effect" => f.effect = self.string(value, &p)?,
                "reason" => f.reason = self.string(value, &p)?,
                "environments" => f.environments = self.strings(value, &p)?,
                "risk_classes" => f.risk_classes = self.strings(value, &p)?,
                "windows" => {
                    f.windows = Vec::new();
                    for (i, item) in self
                        .sequence(value, &p, "a list of windows")?
                        .iter()
                        .enumerate()
                    {
                        f.windows.push(self.window(item, &format!("{p}[{i}]"))?);
                    }
                }
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(f)
    }

    fn window(&self, node: &Node, path: &str) -> Result<RawWindow, PolicyError> {
        let mut w = RawWindow {
            pos: node.pos,
            ..RawWindow::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "name" => w.name = self.string(value, &p)?,
                "start" => w.start = self.string(value, &p)?,
                "end" => w.end = self.string(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(w)
    }

    fn sandbox(&self, node: &Node, path: &str) -> Result<RawSandbox, PolicyError> {
        let mut s = RawSandbox {
            pos: node.pos,
            ..RawSandbox::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => s.enabled = self.boolean(value, &p)?,
                "allowed_network_modes" => s.allowed_network_modes = self.strings(value, &p)?,
                "allowed_writable_path_prefixes" => {
                    s.allowed_writable_path_prefixes = self.strings(value, &p)?;
                }
                "required_read_only_roots" => {
                    s.required_read_only_roots = self.strings(value, &p)?;
                }
                "allowed_env_exposure_modes" => {
                    s.allowed_env_exposure_modes = self.strings(value, &p)?;
                }
                "max_timeout_seconds" => s.max_timeout_seconds = self.int(value, &p)?,
                "allowed_filesystem_isolations" => {
                    s.allowed_filesystem_isolations = self.strings(value, &p)?;
                }
                "allowed_user_modes" => s.allowed_user_modes = self.strings(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(s)
    }

    fn rate_limit(&self, node: &Node, path: &str) -> Result<RawRateLimit, PolicyError> {
        let mut r = RawRateLimit {
            pos: node.pos,
            ..RawRateLimit::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "requests" => r.requests = self.int(value, &p)?,
                "window" => r.window = self.string(value, &p)?,
                "scope" => r.scope = self.string(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(r)
    }

    fn dataflow(&self, node: &Node, path: &str) -> Result<RawDataflow, PolicyError> {
        let mut d = RawDataflow {
            pos: node.pos,
            ..RawDataflow::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => d.enabled = self.boolean(value, &p)?,
                "tainted_sources" => d.tainted_sources = self.strings(value, &p)?,
                "destination_kinds" => d.destination_kinds = self.strings(value, &p)?,
                "destination_values" => d.destination_values = self.strings(value, &p)?,
                "destination_operations" => d.destination_operations = self.strings(value, &p)?,
                "action" => d.action = self.string(value, &p)?,
                "reason_code" => d.reason_code = self.string(value, &p)?,
                "violation" => d.violation = self.string(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(d)
    }

    fn endpoint(&self, node: &Node, path: &str) -> Result<RawEndpoint, PolicyError> {
        let mut e = RawEndpoint {
            pos: node.pos,
            ..RawEndpoint::default()
        };
        for (key, value) in self.mapping_or_null(node, path)? {
            let p = join(path, &key.0);
            match key.0.as_str() {
                "enabled" => e.enabled = self.boolean(value, &p)?,
                "path_allowlist" => e.path_allowlist = self.strings(value, &p)?,
                "path_denylist" => e.path_denylist = self.strings(value, &p)?,
                "domain_allowlist" => e.domain_allowlist = self.strings(value, &p)?,
                "domain_denylist" => e.domain_denylist = self.strings(value, &p)?,
                "egress_classes" => e.egress_classes = self.strings(value, &p)?,
                "action" => e.action = self.string(value, &p)?,
                "destructive_action" => e.destructive_action = self.string(value, &p)?,
                "reason_code" => e.reason_code = self.string(value, &p)?,
                "violation" => e.violation = self.string(value, &p)?,
                _ => return Err(unknown(&key, path)),
            }
        }
        Ok(e)
    }

    // ---- typed leaves -------------------------------------------------

    /// The entries of a mapping, keys as text with their positions.
    fn mapping<'n>(&self, node: &'n Node, path: &str) -> Result<Vec<(Key, &'n Node)>, PolicyError> {
        let Value::Map(entries) = &node.value else {
            return Err(wrong_type(node, path, "a mapping"));
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            out.push((self.key(k, path)?, v));
        }
        Ok(out)
    }

    fn mapping_or_null<'n>(
        &self,
        node: &'n Node,
        path: &str,
    ) -> Result<Vec<(Key, &'n Node)>, PolicyError> {
        if matches!(node.value, Value::Null) {
            return Ok(Vec::new());
        }
        self.mapping(node, path)
    }

    /// A mapping key. Field names are strings; any other key cannot name a
    /// field, so it is reported as unknown (by its spelling).
    fn key(&self, node: &Node, path: &str) -> Result<Key, PolicyError> {
        match &node.value {
            Value::Str(s) => Ok(Key(s.clone(), node.pos)),
            Value::Seq(_) | Value::Map(_) => Err(PolicyError::UnknownField {
                path: None,
                line: node.pos.line,
                column: node.pos.column,
                field: join(path, "<complex key>"),
            }),
            _ => {
                let text = node.source_text(self.source).unwrap_or("~").to_owned();
                Err(unknown(&Key(text, node.pos), path))
            }
        }
    }

    fn sequence<'n>(
        &self,
        node: &'n Node,
        path: &str,
        expected: &'static str,
    ) -> Result<&'n [Node], PolicyError> {
        match &node.value {
            Value::Null => Ok(&[]),
            Value::Seq(items) => Ok(items),
            _ => Err(wrong_type(node, path, expected)),
        }
    }

    fn string(&self, node: &Node, path: &str) -> Result<Str, PolicyError> {
        let v = match &node.value {
            Value::Null => String::new(),
            Value::Str(s) => s.clone(),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => match node.source_text(self.source)
            {
                Some(text) => plain_scalar_as_string(text),
                None => scalar_fallback_text(&node.value),
            },
            Value::Seq(_) | Value::Map(_) => return Err(wrong_type(node, path, "a string")),
        };
        Ok(At { v, pos: node.pos })
    }

    fn optional_string(&self, node: &Node, path: &str) -> Result<At<Option<String>>, PolicyError> {
        if matches!(node.value, Value::Null) {
            return Ok(At {
                v: None,
                pos: node.pos,
            });
        }
        let s = self.string(node, path)?;
        Ok(At {
            v: Some(s.v),
            pos: s.pos,
        })
    }

    fn strings(&self, node: &Node, path: &str) -> Result<StrList, PolicyError> {
        let items = self.sequence(node, path, "a list of strings")?;
        let mut v = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if matches!(item.value, Value::Seq(_) | Value::Map(_)) {
                return Err(wrong_type(item, &format!("{path}[{i}]"), "a string"));
            }
            v.push(self.string(item, path)?);
        }
        Ok(At { v, pos: node.pos })
    }

    fn boolean(&self, node: &Node, path: &str) -> Result<bool, PolicyError> {
        Ok(self.optional_boolean(node, path)?.unwrap_or(false))
    }

    fn optional_boolean(&self, node: &Node, path: &str) -> Result<Option<bool>, PolicyError> {
        match node.value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(b)),
            _ => Err(wrong_type(node, path, "a boolean (true or false)")),
        }
    }

    fn int(&self, node: &Node, path: &str) -> Result<At<i64>, PolicyError> {
        let v = self.optional_int(node, path)?;
        Ok(At {
            v: v.v.unwrap_or(0),
            pos: v.pos,
        })
    }

    fn optional_int(&self, node: &Node, path: &str) -> Result<At<Option<i64>>, PolicyError> {
        match node.value {
            Value::Null => Ok(At {
                v: None,
                pos: node.pos,
            }),
            Value::Int(i) => match i64::try_from(i) {
                Ok(v) => Ok(At {
                    v: Some(v),
                    pos: node.pos,
                }),
                Err(_) => Err(invalid(node.pos, path, "integer out of range")),
            },
            _ => Err(wrong_type(node, path, "an integer")),
        }
    }

    fn float(&self, node: &Node, path: &str) -> Result<At<f64>, PolicyError> {
        let v = match node.value {
            Value::Null => 0.0,
            // Integers beyond 2^53 round, as they do in the reference.
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => i as f64,
            Value::Float(f) if f.is_finite() => f,
            Value::Float(_) => return Err(invalid(node.pos, path, "must be a finite number")),
            _ => return Err(wrong_type(node, path, "a number")),
        };
        Ok(At { v, pos: node.pos })
    }
}

/// A mapping key's text and position.
#[derive(Debug, Clone)]
struct Key(String, Pos);

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn unknown(key: &Key, parent: &str) -> PolicyError {
    PolicyError::UnknownField {
        path: None,
        line: key.1.line,
        column: key.1.column,
        field: join(parent, &key.0),
    }
}

fn wrong_type(node: &Node, path: &str, expected: &'static str) -> PolicyError {
    PolicyError::WrongType {
        path: None,
        line: node.pos.line,
        column: node.pos.column,
        field: path.to_owned(),
        expected,
        found: node.kind(),
    }
}

pub(crate) fn invalid(pos: Pos, field: &str, message: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        path: None,
        line: pos.line,
        column: pos.column,
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The text of a typed scalar when its source spelling is unavailable.
fn scalar_fallback_text(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => super::gocompat::format_float(*f),
        _ => String::new(),
    }
}

/// Rejects the withdrawn proposal format's top-level keys, naming each
/// key's replacement. Keys are compared trimmed, as the reference does.
fn check_legacy(entries: &[(Key, &Node)]) -> Result<(), PolicyError> {
    let mut first: Option<Pos> = None;
    let mut names: Vec<&str> = Vec::new();
    let mut details: Vec<String> = Vec::new();
    for (name, replacement, note) in LEGACY_FIELDS {
        let Some((key, _)) = entries.iter().find(|(k, _)| k.0.trim() == name) else {
            continue;
        };
        names.push(name);
        if first.is_none_or(|p| (key.1.line, key.1.column) < (p.line, p.column)) {
            first = Some(key.1);
        }
        details.push(match (replacement, note) {
            (Some(r), Some(n)) => format!("{name}->{r} ({n})"),
            (Some(r), None) => format!("{name}->{r}"),
            (None, Some(n)) => format!("{name}->{n}"),
            (None, None) => format!("{name}->remove"),
        });
    }
    let Some(pos) = first else {
        return Ok(());
    };
    Err(PolicyError::LegacyFields {
        path: None,
        line: pos.line,
        column: pos.column,
        fields: names.iter().map(|s| (*s).to_owned()).collect(),
        message: format!(
            "legacy policy proposal fields are not supported [{}]: {}",
            names.join(", "),
            details.join("; ")
        ),
    })
}
