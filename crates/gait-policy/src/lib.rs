//! The in-process policy gate for AI agents' tool calls.
//!
//! An agent proposes a tool call as an [`Intent`]; a [`Gate`] evaluates it
//! against a [`Policy`] and returns a [`Decision`]. Only `allow`
//! ([`Decision::permits_execution`]) lets the call run.
//!
//! * [`intent`]: the `gait.gate.intent_request` model, normalization and
//!   digests (byte-identical with the reference implementation).
//! * [`policy`]: strict YAML loading of `gait.gate.policy` and its digest.
//! * [`eval`]: rule matching, constraints, scripts, fail-closed checks.
//! * [`cel`]: optional CEL `when:` conditions on rules.
//! * [`gate`]: the full gate run (rate limits, delegation, approvals,
//!   simulation) and the [`Gate`] facade.
//! * [`token`]: approval and delegation tokens.
//! * [`pack_registry`]: the signed policy-pack registry and its cache.
//! * [`registry`], [`wrkr`], [`ratelimit`]: approved scripts, tool
//!   inventories, rate-limit state.
//! * [`adapters`]: tool-call payloads (Gait's own, OpenAI, Anthropic,
//!   LangChain, Claude Code, MCP `tools/call`) turned into intents, the
//!   same way at every boundary.
//! * [`mcp_trust`]: MCP server trust checks against a local snapshot.
//! * [`profile`]: the `standard` and `oss-prod` runtime profiles.
//!
//! # Example
//!
//! ```
//! use gait_policy::{Gate, Intent, Policy, Verdict};
//!
//! let gate = Gate::new(Policy::from_yaml_str(r#"
//! default_verdict: require_approval
//! rules:
//!   - name: safe-reads
//!     priority: 10
//!     effect: allow
//!     match:
//!       tool_names: [tool.read]
//!   - name: no-deletes
//!     priority: 1
//!     effect: block
//!     match:
//!       tool_names: [tool.delete]
//! "#)?);
//! let call = |tool: &str| Intent::from_json_str(&format!(r#"{{"tool_name":"{tool}","args":{{}},
//!     "targets":[],"context":{{"identity":"agent","workspace":"/w","risk_class":"low"}}}}"#));
//! assert_eq!(gate.evaluate(&call("tool.read")?).verdict(), Verdict::Allow);
//! assert_eq!(gate.evaluate(&call("tool.delete")?).verdict(), Verdict::Block);
//! let pending = gate.evaluate(&call("tool.write")?);
//! assert!(!pending.permits_execution());
//! assert_eq!(pending.reason_codes(), ["default_require_approval"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

pub mod adapters;
pub mod broker;
pub mod cel;
pub mod context_evidence;
pub mod eval;
mod filelock;
pub mod gate;
pub mod intent;
mod jsonfold;
pub mod killswitch;
pub mod mcp_trust;
pub mod pack_registry;
pub mod policy;
pub mod profile;
pub mod ratelimit;
pub mod registry;
pub mod simulate;
pub mod templates;
pub mod token;
pub mod wrkr;

pub use eval::{Decision, EvalOptions};
pub use gate::Gate;
pub use intent::{Intent, IntentError};
pub use policy::{Policy, PolicyError, Verdict};
