//! The normalized intent model: closed value sets as enums, free-form
//! strings as `String`, digests as [`Sha256Digest`], times in UTC.
//!
//! These types are produced by [`Intent`](super::Intent) normalization and
//! read through its accessors; their fields are public for reading.

use std::fmt;

use gait_digest::{GoTime, Sha256Digest};
use serde_json::{Map, Value};

/// Declares a closed set of wire strings as an enum.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire form.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value whose wire form is exactly `text` (already
            /// normalized: trimmed and lowercased).
            pub fn from_wire(text: &str) -> Option<Self> {
                match text {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// What a target names (`targets[].kind`).
    TargetKind {
        /// A file-system path.
        Path => "path",
        /// A URL.
        Url => "url",
        /// A host name.
        Host => "host",
        /// A source repository.
        Repo => "repo",
        /// An object-store bucket.
        Bucket => "bucket",
        /// A database table.
        Table => "table",
        /// A message queue.
        Queue => "queue",
        /// A pub/sub topic.
        Topic => "topic",
        /// Anything else (commands included).
        Other => "other",
    }
);

wire_enum!(
    /// The kind of effect a target has (`targets[].endpoint_class`).
    EndpointClass {
        /// Reads files.
        FsRead => "fs.read",
        /// Writes files.
        FsWrite => "fs.write",
        /// Deletes files.
        FsDelete => "fs.delete",
        /// Runs a process.
        ProcExec => "proc.exec",
        /// Makes an HTTP request.
        NetHttp => "net.http",
        /// Resolves a name.
        NetDns => "net.dns",
        /// Clicks in a UI.
        UiClick => "ui.click",
        /// Types into a UI.
        UiType => "ui.type",
        /// Navigates a UI.
        UiNavigate => "ui.navigate",
        /// Unclassified.
        Other => "other",
    }
);

impl EndpointClass {
    /// Whether this is a network class (`net.*`).
    pub const fn is_network(self) -> bool {
        matches!(self, EndpointClass::NetHttp | EndpointClass::NetDns)
    }
}

wire_enum!(
    /// How the tool behind a target was discovered
    /// (`targets[].discovery_method`).
    DiscoveryMethod {
        /// WebMCP.
        Webmcp => "webmcp",
        /// Dynamically registered MCP server.
        DynamicMcp => "dynamic_mcp",
        /// Agent-to-agent protocol.
        A2a => "a2a",
        /// MCP.
        Mcp => "mcp",
        /// Statically configured MCP server.
        StaticMcp => "static_mcp",
        /// Configured by hand.
        Manual => "manual",
        /// Not stated (the default).
        Unknown => "unknown",
    }
);

wire_enum!(
    /// Where an argument value came from (`arg_provenance[].source`).
    ProvenanceSource {
        /// The user.
        User => "user",
        /// The output of another tool.
        ToolOutput => "tool_output",
        /// An external source.
        External => "external",
        /// The system.
        System => "system",
    }
);

wire_enum!(
    /// The evaluation phase (`context.phase`, default `apply`).
    Phase {
        /// Planning: destructive targets are dry-run.
        Plan => "plan",
        /// Applying.
        Apply => "apply",
    }
);

wire_enum!(
    /// How the caller's credential was obtained
    /// (`context.credential_source`).
    CredentialSource {
        /// AWS IAM user keys.
        AwsIamUser => "aws_iam_user",
        /// AWS STS.
        AwsSts => "aws_sts",
        /// Azure federated identity.
        AzureFederated => "azure_federated",
        /// A command.
        Command => "command",
        /// An environment variable.
        Env => "env",
        /// GCP STS.
        GcpSts => "gcp_sts",
        /// GitHub OIDC.
        GithubOidc => "github_oidc",
        /// A GitHub personal access token.
        GithubPat => "github_pat",
        /// A Kubernetes service account.
        KubernetesServiceAccount => "kubernetes_service_account",
        /// A stub (tests).
        Stub => "stub",
        /// Unknown.
        Unknown => "unknown",
        /// Vault dynamic secrets.
        VaultDynamic => "vault_dynamic",
    }
);

wire_enum!(
    /// The credential's access pattern (`context.credential_access_type`).
    CredentialAccessType {
        /// Cloud administrator.
        CloudAdmin => "cloud_admin",
        /// Inherited from the environment.
        Inherited => "inherited",
        /// Just-in-time.
        Jit => "jit",
        /// Standing.
        Standing => "standing",
        /// Static.
        Static => "static",
        /// Unknown.
        Unknown => "unknown",
    }
);

wire_enum!(
    /// How strictly context evidence is required
    /// (`context.context_evidence_mode`).
    ContextEvidenceMode {
        /// Best effort.
        BestEffort => "best_effort",
        /// Required.
        Required => "required",
    }
);

wire_enum!(
    /// Sandbox network mode (`context.sandbox.network_mode`).
    NetworkMode {
        /// No network.
        Disabled => "disabled",
        /// Egress to an allowlist.
        EgressAllowlist => "egress_allowlist",
        /// Full network.
        Full => "full",
    }
);

wire_enum!(
    /// Sandbox environment exposure (`context.sandbox.env_exposure_mode`).
    EnvExposureMode {
        /// Allowlisted variables.
        Allowlist => "allowlist",
        /// The whole environment.
        Full => "full",
        /// Nothing.
        None => "none",
    }
);

wire_enum!(
    /// Sandbox file-system isolation
    /// (`context.sandbox.filesystem_isolation`).
    FilesystemIsolation {
        /// A container.
        Container => "container",
        /// None.
        None => "none",
        /// The workspace.
        Workspace => "workspace",
    }
);

wire_enum!(
    /// Sandbox user (`context.sandbox.user_mode`).
    UserMode {
        /// The default user.
        Default => "default",
        /// Root.
        Root => "root",
        /// An unprivileged user.
        Unprivileged => "unprivileged",
    }
);

/// A normalized target (`targets[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Target {
    /// What the target names.
    pub kind: TargetKind,
    /// The target itself (trimmed, case kept).
    pub value: String,
    /// The operation (lowercased; may be empty).
    pub operation: String,
    /// Data sensitivity (lowercased; may be empty).
    pub sensitivity: String,
    /// The endpoint class, inferred when not given.
    pub endpoint_class: EndpointClass,
    /// The endpoint's domain (lowercased), inferred for `host` and `url`
    /// targets when not given; may be empty.
    pub endpoint_domain: String,
    /// Whether the target is destructive (given, hinted or inferred).
    pub destructive: bool,
    /// How the tool was discovered (`unknown` when not given).
    pub discovery_method: DiscoveryMethod,
    /// MCP `readOnlyHint`.
    pub read_only_hint: bool,
    /// MCP `destructiveHint`.
    pub destructive_hint: bool,
    /// MCP `idempotentHint`.
    pub idempotent_hint: bool,
    /// MCP `openWorldHint`.
    pub open_world_hint: bool,
}

/// A normalized provenance entry (`arg_provenance[]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ArgProvenance {
    /// The argument path (trimmed).
    pub arg_path: String,
    /// Where the value came from.
    pub source: ProvenanceSource,
    /// A reference to the source (trimmed; may be empty).
    pub source_ref: String,
    /// A digest of the value, when given.
    pub integrity_digest: Option<Sha256Digest>,
}

/// Normalized skill provenance (`skill_provenance`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkillProvenance {
    /// The skill's name.
    pub skill_name: String,
    /// The skill's version (may be empty).
    pub skill_version: String,
    /// Where the skill came from (lowercased).
    pub source: String,
    /// The skill's publisher.
    pub publisher: String,
    /// The skill's digest, when given.
    pub digest: Option<Sha256Digest>,
    /// The key id of the skill's signature (may be empty).
    pub signature_key_id: String,
}

/// One link of a delegation chain (`delegation.chain[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DelegationLink {
    /// Who delegated.
    pub delegator_identity: String,
    /// To whom.
    pub delegate_identity: String,
    /// The scope class (lowercased; may be empty).
    pub scope_class: String,
    /// The token backing this link (may be empty).
    pub token_ref: String,
    /// When the delegation was issued (UTC), if stated.
    pub issued_at: Option<GoTime>,
    /// When it expires (UTC), if stated.
    pub expires_at: Option<GoTime>,
}

/// Normalized delegation (`delegation`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delegation {
    /// The identity asking for the action; the chain ends with it.
    pub requester_identity: String,
    /// The scope class (lowercased; may be empty).
    pub scope_class: String,
    /// Delegation token references (trimmed, de-duplicated, sorted).
    pub token_refs: Vec<String>,
    /// The chain, in order.
    pub chain: Vec<DelegationLink>,
    /// When the delegation was issued (UTC), if stated.
    pub issued_at: Option<GoTime>,
    /// When it expires (UTC), if stated.
    pub expires_at: Option<GoTime>,
}

/// A normalized agent identity (`context.agent_identity`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentIdentity {
    /// Lifecycle states (trimmed, de-duplicated, sorted).
    pub lifecycle_states: Vec<String>,
    /// The owner (may be empty).
    pub owner: String,
    /// The manifest digest, when given.
    pub manifest_digest: Option<Sha256Digest>,
    /// The manifest publisher (may be empty).
    pub publisher: String,
    /// The manifest source (lowercased; may be empty).
    pub source: String,
    /// When the identity was issued (UTC), if stated.
    pub issued_at: Option<GoTime>,
    /// When it was approved (UTC), if stated.
    pub approved_at: Option<GoTime>,
    /// When it expires (UTC), if stated.
    pub expires_at: Option<GoTime>,
    /// Whether it has been revoked.
    pub revoked: bool,
}

/// Normalized sandbox metadata (`context.sandbox`); never all-empty.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sandbox {
    /// Network mode.
    pub network_mode: Option<NetworkMode>,
    /// Writable paths (cleaned, de-duplicated, sorted).
    pub writable_paths: Vec<String>,
    /// Read-only roots (cleaned, de-duplicated, sorted).
    pub read_only_roots: Vec<String>,
    /// Environment exposure.
    pub env_exposure_mode: Option<EnvExposureMode>,
    /// Timeout in seconds (0 when not stated).
    pub timeout_seconds: i64,
    /// File-system isolation.
    pub filesystem_isolation: Option<FilesystemIsolation>,
    /// User mode.
    pub user_mode: Option<UserMode>,
    /// A reference to sandbox evidence (may be empty).
    pub evidence_ref: String,
    /// A digest of the sandbox evidence, when given.
    pub evidence_digest: Option<Sha256Digest>,
}

/// The normalized request context (`context`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Context {
    /// Who is acting (required).
    pub identity: String,
    /// The workspace, with `\` turned into `/` (required).
    pub workspace: String,
    /// The risk class, lowercased (required).
    pub risk_class: String,
    /// The phase (default `apply`).
    pub phase: Phase,
    /// The agent's id (may be empty).
    pub agent_id: String,
    /// The agent's identity record.
    pub agent_identity: Option<AgentIdentity>,
    /// Run id (may be empty).
    pub run_id: String,
    /// Workflow id (may be empty).
    pub workflow_id: String,
    /// Repository (may be empty).
    pub repo: String,
    /// Environment, case kept (may be empty).
    pub environment: String,
    /// Job id (may be empty).
    pub job_id: String,
    /// Session id (may be empty).
    pub session_id: String,
    /// Request id (may be empty).
    pub request_id: String,
    /// Credential reference (may be empty).
    pub credential_ref: String,
    /// Credential source.
    pub credential_source: Option<CredentialSource>,
    /// Credential access type.
    pub credential_access_type: Option<CredentialAccessType>,
    /// Credential issuer (may be empty).
    pub credential_issuer: String,
    /// Credential subject (may be empty).
    pub credential_subject: String,
    /// Credential owner (may be empty).
    pub credential_owner: String,
    /// Digest the credential is bound to (may be empty).
    pub credential_target_binding: String,
    /// Run the credential is bound to (may be empty).
    pub credential_run_binding: String,
    /// Job the credential is bound to (may be empty).
    pub credential_job_binding: String,
    /// Credential lifetime in seconds (0 when not stated; never negative).
    pub credential_ttl_seconds: i64,
    /// Approval reference (may be empty).
    pub approval_ref: String,
    /// Wrkr inventory reference (may be empty).
    pub wrkr_inventory_ref: String,
    /// Agent action BOM reference (may be empty).
    pub agent_action_bom_ref: String,
    /// Free-form authorization context, normalized like `args`; never an
    /// empty object.
    pub auth_context: Option<Map<String, Value>>,
    /// Sandbox metadata.
    pub sandbox: Option<Sandbox>,
    /// Credential scopes (trimmed, de-duplicated, sorted).
    pub credential_scopes: Vec<String>,
    /// Environment fingerprint (may be empty).
    pub environment_fingerprint: String,
    /// Claimed digest of the context evidence set.
    pub context_set_digest: Option<Sha256Digest>,
    /// Claimed context evidence mode.
    pub context_evidence_mode: Option<ContextEvidenceMode>,
    /// Context record references (trimmed, de-duplicated, sorted).
    pub context_refs: Vec<String>,
}

/// One normalized script step (`script.steps[]`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScriptStep {
    /// The step's tool (trimmed, lowercased).
    pub tool_name: String,
    /// The step's arguments, normalized.
    pub args: Map<String, Value>,
    /// The step's targets, normalized with the step's tool name.
    pub targets: Vec<Target>,
    /// The step's provenance, normalized.
    pub arg_provenance: Vec<ArgProvenance>,
}

/// A normalized script (`script`): 1 to 64 steps, in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Script {
    /// The steps.
    pub steps: Vec<ScriptStep>,
}

/// A `{kind, id}` node reference in a relationship envelope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RelationshipRef {
    /// The node kind (lowercased).
    pub kind: String,
    /// The node id.
    pub id: String,
}

/// A policy reference in a relationship envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelationshipPolicyRef {
    /// Policy id (may be empty).
    pub policy_id: String,
    /// Policy version (may be empty).
    pub policy_version: String,
    /// Policy digest, lowercased (may be empty).
    pub policy_digest: String,
    /// Matched rule ids (trimmed, de-duplicated, sorted).
    pub matched_rule_ids: Vec<String>,
}

/// An agent in a relationship's agent chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RelationshipAgentLink {
    /// The agent's identity.
    pub identity: String,
    /// `requester`, `delegator` or `delegate`.
    pub role: String,
}

/// An edge of a relationship graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RelationshipEdge {
    /// The edge kind (lowercased).
    pub kind: String,
    /// Where it starts.
    pub from: RelationshipRef,
    /// Where it ends.
    pub to: RelationshipRef,
}

/// One agent-lineage entry of a relationship envelope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RelationshipAgentLineage {
    /// The agent.
    pub agent_id: String,
    /// Who delegated to it (may be empty).
    pub delegated_by: String,
    /// The delegation record (may be empty).
    pub delegation_record_id: String,
}

/// A normalized relationship envelope (`relationship`). It is carried along
/// but never digested.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Relationship {
    /// The parent node.
    pub parent_ref: Option<RelationshipRef>,
    /// Entity references (allowed kinds only, de-duplicated, sorted).
    pub entity_refs: Vec<RelationshipRef>,
    /// The policy reference.
    pub policy_ref: Option<RelationshipPolicyRef>,
    /// The agent chain (allowed roles only, de-duplicated, sorted).
    pub agent_chain: Vec<RelationshipAgentLink>,
    /// Edges (allowed kinds only, de-duplicated, sorted).
    pub edges: Vec<RelationshipEdge>,
    /// The parent record id (may be empty).
    pub parent_record_id: String,
    /// Related record ids (trimmed, de-duplicated, sorted).
    pub related_record_ids: Vec<String>,
    /// Related entity ids (trimmed, de-duplicated, sorted; derived from the
    /// entity references when not given).
    pub related_entity_ids: Vec<String>,
    /// Agent lineage (de-duplicated, sorted).
    pub agent_lineage: Vec<RelationshipAgentLineage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_round_trip() {
        for kind in TargetKind::ALL {
            assert_eq!(TargetKind::from_wire(kind.as_str()), Some(*kind));
        }
        for class in EndpointClass::ALL {
            assert_eq!(EndpointClass::from_wire(&class.to_string()), Some(*class));
        }
        assert_eq!(CredentialSource::ALL.len(), 12);
        assert_eq!(
            DiscoveryMethod::from_wire("dynamic_mcp"),
            Some(DiscoveryMethod::DynamicMcp)
        );
        assert_eq!(Phase::from_wire("Apply"), None);
        assert!(EndpointClass::NetDns.is_network());
        assert!(!EndpointClass::FsRead.is_network());
    }
}
