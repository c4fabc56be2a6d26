//! Gait's decision service: one tool-call payload in, one decision out,
//! its signed trace written first.
//!
//! [`DecisionService`] is the core every out-of-process boundary shares:
//! it decodes a payload with an adapter
//! ([`gait_policy::adapters`]), builds the intent, runs the gate, applies
//! the MCP trust overlay, signs the trace and **writes it durably before
//! returning anything**; a decision whose trace could not be written is
//! an error, never a verdict. On top of it:
//!
//! * [`http::serve`]: HTTP/1.1 (`GET /healthz`, `POST /v1/evaluate`, and
//!   the reference's `/v1/evaluate/sse` and `/v1/evaluate/stream`), with
//!   a body cap, bearer-token auth, strict or compat status codes and
//!   graceful shutdown. What clients can hold is bounded (defaults; see
//!   [`http::HttpConfig`]): at most 16,384 JSON values per request
//!   ([`check_json_values`]), 64 MiB of request bodies in flight, 8
//!   evaluations at once, headers within 5 s, bodies at 8 KiB/s or more
//!   after 5 s and within 30 s; when all 1,024 connection slots are
//!   taken, a new client takes the slot of the connection that has kept
//!   the server waiting longest (at least 1 s), or gets 503 with
//!   `Retry-After: 1` after waiting 2 s;
//! * [`stdio::serve_lines`]: one JSON request per line in, one response
//!   per line out;
//! * [`DecisionService::evaluate_call`]: the one-shot `gait mcp proxy`;
//! * [`RunSession`]: decisions (or guarded calls, as a
//!   [`gait_trace::CallRecorder`]) collected into a runpack.
//!
//! ```
//! use gait_policy::{Gate, Policy};
//! use gait_serve::{DecisionService, ServiceConfig};
//! use gait_sign::{SigningKey, Trace};
//!
//! let dir = tempfile::tempdir()?;
//! let gate = Gate::new(Policy::from_yaml_str(
//!     "default_verdict: block\nrules:\n  - name: reads\n    effect: allow\n    match:\n      tool_names: [tool.read]\n",
//! )?);
//! let service = DecisionService::new(ServiceConfig::new(
//!     gate,
//!     SigningKey::<Trace>::generate()?,
//!     dir.path(),
//! ))?;
//! let eval = service.handle_request(br#"{"call": {"name": "tool.read", "args": {"path": "/tmp/a"}}}"#)?;
//! assert_eq!(eval.output["verdict"], "allow");
//! assert_eq!(eval.exit_code, 0);
//! assert!(eval.trace_path.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(unreachable_pub)]

mod envelope;
mod error;
pub mod http;
mod journal;
mod limits;
mod service;
mod session;
mod slots;
pub mod stdio;

pub use envelope::{EnvelopeError, evidence_of, load_context_evidence, local_envelope_path};
pub use error::ServeError;
pub use journal::{SessionJournals, session_file_base};
pub use limits::{DEFAULT_MAX_REQUEST_VALUES, check_json_values};
pub use service::{
    CallOptions, DecisionService, Evaluation, ServiceConfig, normalize_run_id, verdict_exit_code,
};
pub use session::RunSession;
