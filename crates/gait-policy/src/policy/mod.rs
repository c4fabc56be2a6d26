//! Policies (`gait.gate.policy` 1.0.0): the model, strict YAML loading and
//! the policy digest.
//!
//! A [`Policy`] is loaded from YAML with [`Policy::from_yaml_str`] or
//! [`Policy::from_path`]. Loading is strict and bounded:
//!
//! * input larger than [`MAX_POLICY_BYTES`] is refused before parsing;
//!   anchors, aliases, nesting and node counts are budgeted, so an alias
//!   bomb fails fast;
//! * a duplicate key, an unknown key, a value of the wrong type, or a
//!   top-level key of the withdrawn proposal format (`version`, `name`,
//!   `boundaries`, `defaults`, `trust_sources`, `unknown_server`) is an
//!   error naming the field, its line and column, and the file;
//! * every field of the format is parsed and validated, including those
//!   whose enforcement is advanced (freeze windows, sandbox, MCP trust, ...),
//!   so that the digest covers them.
//!
//! Loading then normalises the policy as the reference does before
//! digesting: keywords trimmed and lowercased, lists de-duplicated and
//! sorted, aliases (`tool_name`, `endpoint_class`, `action`,
//! `default_action`) folded in, defaults filled in, and rules sorted into
//! evaluation order (priority ascending, then name by bytes).
//!
//! # Digest
//!
//! [`Policy::digest`] is `sha256(JCS(P))` where `P` is the normalised
//! policy keyed by the reference's Go field names, with its omit-empty
//! rules (see [`Policy::projection`]); it is byte-identical with the
//! reference's `policy_digest`, and computed once, at load.
//!
//! # `match.when`
//!
//! Beyond the reference, a rule's `match` may carry `when:`, a CEL
//! expression over the variable `intent` (see [`crate::cel`]). It is
//! trimmed (blank is an error) and compiled once, at load, into
//! [`RuleMatch::condition`]; a syntax error, a variable other than
//! `intent`, an undeclared function or an invalid literal `matches()`
//! pattern fails the load with an [`PolicyError::Invalid`] naming
//! `rules[i].match.when` and the rule. The evaluator evaluates it.
//!
//! A rule with `when` adds `"When": <expr>` to its `Match` object in the
//! digest input; a policy without any `when` therefore has exactly the
//! reference's digest, while adding, changing or removing a condition
//! changes the digest (so approvals bound to a digest are bound to the
//! conditions too).
//!
//! # Example
//!
//! ```
//! use gait_policy::policy::{Policy, Verdict};
//!
//! let policy = Policy::from_yaml_str(
//!     "default_verdict: block\n\
//!      rules:\n\
//!      \x20 - name: allow-read\n\
//!      \x20   effect: allow\n\
//!      \x20   match:\n\
//!      \x20     tool_names: [Tool.Read]\n",
//! )?;
//! assert_eq!(policy.default_verdict(), Verdict::Block);
//! assert_eq!(policy.rules()[0].selector.tool_names, ["tool.read"]);
//! assert_eq!(policy.digest().to_hex().len(), 64);
//! # Ok::<(), gait_policy::policy::PolicyError>(())
//! ```

mod decode;
mod error;
mod fmt;
mod gocompat;
mod model;
mod normalize;
mod projection;
mod yaml;

use std::io::Read;
use std::path::Path;

use gait_digest::{Sha256Digest, digest_json};

pub use error::PolicyError;
pub use model::{
    ConstraintAction, Dataflow, EndpointConstraint, FailClosed, FreezeWindow, FreezeWindowRange,
    McpTrust, RateLimit, RateLimitScope, RateLimitWindow, Rule, RuleMatch, Sandbox, ScriptPolicy,
    ToolAnnotations, Verdict,
};
pub use yaml::MAX_POLICY_BYTES;

/// The policy format's `schema_id`.
pub const POLICY_SCHEMA_ID: &str = "gait.gate.policy";
/// The policy format's `schema_version`.
pub const POLICY_SCHEMA_VERSION: &str = "1.0.0";

/// A loaded, validated and normalised policy, with its digest.
///
/// Immutable: the digest always describes exactly what the accessors
/// return.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    default_verdict: Verdict,
    scripts: ScriptPolicy,
    fail_closed: FailClosed,
    mcp_trust: Option<McpTrust>,
    rules: Vec<Rule>,
    digest: Sha256Digest,
}

impl Policy {
    /// Loads a policy from YAML text.
    ///
    /// An empty document is the default policy (verdict
    /// `require_approval`, no rules), as in the reference.
    pub fn from_yaml_str(yaml: &str) -> Result<Policy, PolicyError> {
        let root = yaml::parse(yaml)?;
        let raw = decode::Decoder::new(yaml).policy(&root)?;
        let n = normalize::normalize(raw)?;
        let projection = projection::policy(
            POLICY_SCHEMA_ID,
            POLICY_SCHEMA_VERSION,
            n.default_verdict,
            &n.scripts,
            &n.fail_closed,
            n.mcp_trust.as_ref(),
            &n.rules,
        );
        Ok(Policy {
            default_verdict: n.default_verdict,
            scripts: n.scripts,
            fail_closed: n.fail_closed,
            mcp_trust: n.mcp_trust,
            rules: n.rules,
            digest: digest_json(&projection),
        })
    }

    /// Loads a policy from YAML bytes, which must be UTF-8.
    pub fn from_yaml_bytes(yaml: &[u8]) -> Result<Policy, PolicyError> {
        if yaml.len() > MAX_POLICY_BYTES {
            return Err(too_large(yaml.len() as u64));
        }
        let text = std::str::from_utf8(yaml).map_err(|_| PolicyError::NotUtf8 { path: None })?;
        Self::from_yaml_str(text)
    }

    /// Loads a policy file. Errors carry `path`.
    ///
    /// At most [`MAX_POLICY_BYTES`] are read; a larger file is refused.
    pub fn from_path(path: &Path) -> Result<Policy, PolicyError> {
        Self::from_path_with_source(path).map(|(policy, _)| policy)
    }

    /// Loads a policy file like [`Policy::from_path`], and also returns the
    /// bytes read (for `policy fmt`, which compares them with
    /// [`Policy::to_yaml`]).
    pub fn from_path_with_source(path: &Path) -> Result<(Policy, Vec<u8>), PolicyError> {
        Self::read_limited(path)
            .and_then(|bytes| Ok((Self::from_yaml_bytes(&bytes)?, bytes)))
            .map_err(|e| e.with_path(path))
    }

    fn read_limited(path: &Path) -> Result<Vec<u8>, PolicyError> {
        let io = |e: std::io::Error| PolicyError::Io {
            path: None,
            message: e.to_string(),
        };
        // Devices, FIFOs and other non-regular files are refused before
        // they are opened: nothing blocks or streams forever.
        let file = gait_sign::open_regular_file(path).map_err(io)?;
        let limit = MAX_POLICY_BYTES as u64;
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() > MAX_POLICY_BYTES {
            let size = std::fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
            return Err(too_large(size));
        }
        Ok(bytes)
    }

    /// The `schema_id`, always [`POLICY_SCHEMA_ID`].
    pub fn schema_id(&self) -> &'static str {
        POLICY_SCHEMA_ID
    }

    /// The `schema_version`, always [`POLICY_SCHEMA_VERSION`].
    pub fn schema_version(&self) -> &'static str {
        POLICY_SCHEMA_VERSION
    }

    /// The verdict when no rule matches (`default_verdict`, or its alias
    /// `default_action`; `require_approval` when neither is set).
    pub fn default_verdict(&self) -> Verdict {
        self.default_verdict
    }

    /// The `scripts` limits.
    pub fn scripts(&self) -> &ScriptPolicy {
        &self.scripts
    }

    /// The `fail_closed` settings.
    pub fn fail_closed(&self) -> &FailClosed {
        &self.fail_closed
    }

    /// The `mcp_trust` settings, if configured.
    pub fn mcp_trust(&self) -> Option<&McpTrust> {
        self.mcp_trust.as_ref()
    }

    /// The rules in evaluation order: priority ascending, then name
    /// (byte order); rules equal in both keep their file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule (in evaluation order) named `name`.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The policy digest (`policy_digest`), byte-identical with the
    /// reference's.
    pub fn digest(&self) -> Sha256Digest {
        self.digest
    }

    /// The policy as normalised YAML (`gait policy fmt`): canonical keys in
    /// a fixed order, normalised lists, the defaults that loading filled in
    /// made explicit. Loading the text gives a policy equal to this one,
    /// with the same digest; see the `fmt` module documentation for the
    /// layout.
    pub fn to_yaml(&self) -> String {
        fmt::to_yaml(self)
    }

    /// The JSON object whose canonical (RFC 8785) form the digest hashes:
    /// the normalised policy keyed by the reference's Go field names
    /// (`SchemaID`, `DefaultVerdict`, `Rules[].Match.ToolNames`, ...), with
    /// the reference's rules for which keys are present. Useful to explain a
    /// digest.
    pub fn projection(&self) -> serde_json::Value {
        projection::policy(
            POLICY_SCHEMA_ID,
            POLICY_SCHEMA_VERSION,
            self.default_verdict,
            &self.scripts,
            &self.fail_closed,
            self.mcp_trust.as_ref(),
            &self.rules,
        )
    }
}

fn too_large(size: u64) -> PolicyError {
    PolicyError::TooLarge {
        path: None,
        size,
        limit: MAX_POLICY_BYTES as u64,
    }
}

#[cfg(test)]
mod tests;
