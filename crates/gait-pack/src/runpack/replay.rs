//! Replaying a runpack: recorded results, deterministic stubs, and the
//! interlocked real-tool mode.
//!
//! Stub replay (the default) never executes anything: each intent gets its
//! recorded result, or a deterministic stub digest when its tool looks like
//! an HTTP, file, database or queue call, or is reported missing.
//!
//! Real replay executes allowlisted tools and is guarded by interlocks
//! ([`plan_replay`]), each an unsafe-operation refusal (exit 8): the
//! `--real-tools` request needs `--unsafe-real-tools`, a non-empty
//! allowlist and an environment variable set to `1`. A reference-capture
//! runpack holds no raw arguments and cannot be replayed for real.
//!
//! Only `echo`/`tool.echo` and `file.write`/`fs.write`/`write_file` run for
//! real. Shell tools (`shell.exec`, `exec`, `command.run`) are never
//! executed by this build: allowlisting one is refused like a missing
//! interlock (the reference runs them with `sh -lc`; a policy gate must not
//! ship a shell executor reachable from replay).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::RunpackError;
use super::model::IntentRecord;
use super::read::{Runpack, read_runpack};

/// The default environment variable that must be `1` for real replay.
pub const REAL_REPLAY_ENV: &str = "GAIT_ALLOW_REAL_REPLAY";

/// Tool names that would execute a shell command; never run by this build.
pub const SHELL_TOOLS: [&str; 3] = ["shell.exec", "exec", "command.run"];

/// How a replay ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayMode {
    /// Recorded results and stubs only.
    Stub,
    /// Allowlisted tools executed.
    Real,
}

impl ReplayMode {
    /// `stub` or `real`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayMode::Stub => "stub",
            ReplayMode::Real => "real",
        }
    }
}

/// One replayed intent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct ReplayStep {
    /// The intent id.
    pub intent_id: String,
    /// The tool the intent called.
    pub tool_name: String,
    /// The recorded status, `stubbed`, `missing_result`, or the status of
    /// a real execution (`ok`, `error`).
    pub status: String,
    /// `recorded`, `stubbed`, `missing` or `executed`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub execution: String,
    /// `http`, `file`, `db` or `queue` for a stubbed step.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub stub_type: String,
    /// The recorded, stubbed or executed result digest.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub result_digest: String,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replay {
    /// The run id (from `run.json`).
    pub run_id: String,
    /// How the replay ran.
    pub mode: ReplayMode,
    /// One step per intent, in file order.
    pub steps: Vec<ReplayStep>,
    /// Intent ids with no result and no stub, sorted.
    pub missing_results: Vec<String>,
}

impl Replay {
    /// Whether every intent got a result (recorded, stubbed or executed).
    pub fn is_ok(&self) -> bool {
        self.missing_results.is_empty()
    }
}

/// The interlock inputs of a replay request.
#[derive(Debug, Clone, Default)]
pub struct ReplayRequest {
    /// `--real-tools`.
    pub real_tools: bool,
    /// `--unsafe-real-tools`.
    pub unsafe_real_tools: bool,
    /// `--allow-tools`, already split on commas (items trimmed, empties
    /// dropped).
    pub allow_tools: Vec<String>,
    /// The name of the environment variable that must be `1`.
    pub env_name: String,
    /// Its value, if set.
    pub env_value: Option<String>,
}

/// What a replay request may do once the interlocks are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayPlan {
    /// Recorded results and stubs only.
    Stub,
    /// Execute these tools (lowercased) for real.
    Real {
        /// The allowlist, trimmed and lowercased.
        allow: BTreeSet<String>,
        /// The warning to report (`allow_tools=<csv>`).
        warning: String,
    },
}

/// A replay request refused by an interlock (exit 8, `unsafe_operation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRefused {
    /// Why.
    pub message: String,
    /// Whether `--unsafe-real-tools` was given.
    pub requested_unsafe: bool,
}

/// Checks the real-replay interlocks, in order: `--real-tools` needs
/// `--unsafe-real-tools`; then a non-empty `--allow-tools`; then the
/// environment variable (name and value trimmed) must be `1`; finally no
/// shell tool may be allowlisted (this build never executes one).
pub fn plan_replay(req: &ReplayRequest) -> Result<ReplayPlan, ReplayRefused> {
    if !req.real_tools {
        return Ok(ReplayPlan::Stub);
    }
    let refuse = |message: String, requested_unsafe: bool| ReplayRefused {
        message,
        requested_unsafe,
    };
    if !req.unsafe_real_tools {
        return Err(refuse(
            "real tool execution requires --unsafe-real-tools".to_owned(),
            false,
        ));
    }
    if req.allow_tools.is_empty() {
        return Err(refuse(
            "real tool execution requires --allow-tools with explicit tool names".to_owned(),
            true,
        ));
    }
    let env_name = req.env_name.trim();
    if req.env_value.as_deref().map(str::trim) != Some("1") {
        return Err(refuse(
            format!("real tool execution requires {env_name}=1"),
            true,
        ));
    }
    let allow: BTreeSet<String> = req
        .allow_tools
        .iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if allow.is_empty() {
        return Err(refuse(
            "real tool execution requires --allow-tools with explicit tool names".to_owned(),
            true,
        ));
    }
    let shells: Vec<&str> = allow
        .iter()
        .map(String::as_str)
        .filter(|t| SHELL_TOOLS.contains(t))
        .collect();
    if !shells.is_empty() {
        return Err(refuse(
            format!(
                "real replay of shell tools is not supported by this build: {} (shell.exec, exec and command.run are never executed)",
                shells.join(", ")
            ),
            true,
        ));
    }
    Ok(ReplayPlan::Real {
        allow,
        warning: format!("allow_tools={}", req.allow_tools.join(",")),
    })
}

/// The stub type of a tool name (lowercased substrings, first match wins):
/// `http|fetch|url` → `http`, `file|path|fs|write` → `file`,
/// `db|sql|query|table` → `db`, `queue|topic|publish|kafka` → `queue`.
pub fn classify_stub_type(tool_name: &str) -> Option<&'static str> {
    let name = tool_name.trim().to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if any(&["http", "fetch", "url"]) {
        Some("http")
    } else if any(&["file", "path", "fs", "write"]) {
        Some("file")
    } else if any(&["db", "sql", "query", "table"]) {
        Some("db")
    } else if any(&["queue", "topic", "publish", "kafka"]) {
        Some("queue")
    } else {
        None
    }
}

/// The stub result digest: SHA-256 of
/// `<run_id>:<intent_id>:<lower(trim tool)>:<lower(trim args_digest)>:<stub_type>`.
pub fn stub_digest(
    run_id: &str,
    intent_id: &str,
    tool_name: &str,
    args_digest: &str,
    stub_type: &str,
) -> String {
    let text = format!(
        "{run_id}:{intent_id}:{}:{}:{stub_type}",
        tool_name.trim().to_lowercase(),
        args_digest.trim().to_lowercase()
    );
    gait_digest::sha256(text.as_bytes()).to_hex()
}

/// Replays the runpack at `path` with recorded results and stubs.
pub fn replay_stub(path: &Path) -> Result<Replay, RunpackError> {
    replay_pack(&read_runpack(path)?, None)
}

/// Replays the runpack at `path` executing the allowlisted tools (after
/// [`plan_replay`] allowed it). A reference-capture runpack is invalid
/// input.
pub fn replay_real(path: &Path, allow: &BTreeSet<String>) -> Result<Replay, RunpackError> {
    if allow.is_empty() {
        return Err(RunpackError::Unsafe(
            "real replay requires non-empty allowlist".to_owned(),
        ));
    }
    let pack = read_runpack(path)?;
    if pack
        .manifest
        .capture_mode
        .trim()
        .eq_ignore_ascii_case("reference")
    {
        return Err(RunpackError::Invalid(
            "real replay requires capture_mode=raw; reference-mode runpacks strip raw tool inputs"
                .to_owned(),
        ));
    }
    replay_pack(&pack, Some(allow))
}

/// Replays a runpack already read: stub mode without an allowlist, real
/// mode with one (the capture-mode check is the caller's).
pub fn replay_pack(
    pack: &Runpack,
    allow: Option<&BTreeSet<String>>,
) -> Result<Replay, RunpackError> {
    let mut seen = BTreeSet::new();
    for intent in &pack.intents {
        if !seen.insert(intent.intent_id.as_str()) {
            return Err(RunpackError::Invalid(format!(
                "duplicate intent_id: {}",
                intent.intent_id
            )));
        }
    }
    let mut recorded = BTreeMap::new();
    for result in &pack.results {
        if recorded.insert(result.intent_id.as_str(), result).is_some() {
            return Err(RunpackError::Invalid(format!(
                "duplicate result for intent_id: {}",
                result.intent_id
            )));
        }
    }
    let mut steps = Vec::with_capacity(pack.intents.len());
    let mut missing = Vec::new();
    for intent in &pack.intents {
        let mut step = ReplayStep {
            intent_id: intent.intent_id.clone(),
            tool_name: intent.tool_name.clone(),
            ..ReplayStep::default()
        };
        let allowed = allow.is_some_and(|a| a.contains(&intent.tool_name.trim().to_lowercase()));
        if allowed {
            let (status, digest) = match execute_real_tool(intent) {
                Ok(digest) => ("ok", digest),
                Err(e) => ("error", digest_text(&e)),
            };
            step.status = status.to_owned();
            step.result_digest = digest;
            step.execution = "executed".to_owned();
        } else if let Some(r) = recorded.get(intent.intent_id.as_str()) {
            step.status.clone_from(&r.status);
            step.result_digest.clone_from(&r.result_digest);
            step.execution = "recorded".to_owned();
        } else if let Some(kind) = classify_stub_type(&intent.tool_name) {
            step.status = "stubbed".to_owned();
            step.execution = "stubbed".to_owned();
            step.stub_type = kind.to_owned();
            step.result_digest = stub_digest(
                &pack.run.run_id,
                &intent.intent_id,
                &intent.tool_name,
                &intent.args_digest,
                kind,
            );
        } else {
            step.status = "missing_result".to_owned();
            step.execution = "missing".to_owned();
            missing.push(intent.intent_id.clone());
        }
        steps.push(step);
    }
    missing.sort();
    Ok(Replay {
        run_id: pack.run.run_id.clone(),
        mode: if allow.is_some() {
            ReplayMode::Real
        } else {
            ReplayMode::Stub
        },
        steps,
        missing_results: missing,
    })
}

fn digest_text(text: &str) -> String {
    gait_digest::sha256(text.as_bytes()).to_hex()
}

/// A string argument, trimmed (`""` when absent or not a string).
fn string_arg(args: Option<&Map<String, Value>>, key: &str) -> String {
    args.and_then(|a| a.get(key))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Executes one allowlisted tool; the digest of its output, or the error
/// text.
fn execute_real_tool(intent: &IntentRecord) -> Result<String, String> {
    let tool = intent.tool_name.trim().to_lowercase();
    let args = intent.args.as_ref();
    match tool.as_str() {
        "echo" | "tool.echo" => {
            let message = string_arg(args, "message");
            Ok(digest_text(if message.is_empty() {
                "echo"
            } else {
                &message
            }))
        }
        "file.write" | "fs.write" | "write_file" => {
            let path = string_arg(args, "path");
            let content = string_arg(args, "content");
            if path.is_empty() {
                return Err("file.write requires args.path".to_owned());
            }
            write_tool_file(Path::new(&path), content.as_bytes())?;
            Ok(digest_text(&content))
        }
        // Never reached (plan_replay refuses shell tools), and kept so no
        // path through this module can run a shell.
        t if SHELL_TOOLS.contains(&t) => {
            Err(format!("shell tool not supported: {}", intent.tool_name))
        }
        _ => Err(format!("unsupported real tool: {}", intent.tool_name)),
    }
}

fn write_tool_file(path: &Path, content: &[u8]) -> Result<(), String> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o750);
        }
        builder
            .create(parent)
            .map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    gait_sign::write_file_atomic(path, content, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(real: bool, unsafe_: bool, allow: &[&str], env: Option<&str>) -> ReplayRequest {
        ReplayRequest {
            real_tools: real,
            unsafe_real_tools: unsafe_,
            allow_tools: allow.iter().map(|s| (*s).to_owned()).collect(),
            env_name: REAL_REPLAY_ENV.to_owned(),
            env_value: env.map(str::to_owned),
        }
    }

    #[test]
    fn interlocks_in_order() {
        assert_eq!(
            plan_replay(&req(false, false, &[], None)),
            Ok(ReplayPlan::Stub)
        );
        // --unsafe-real-tools alone does not switch to real mode.
        assert_eq!(
            plan_replay(&req(false, true, &[], None)),
            Ok(ReplayPlan::Stub)
        );

        let e = plan_replay(&req(true, false, &["echo"], Some("1"))).unwrap_err();
        assert_eq!(
            e.message,
            "real tool execution requires --unsafe-real-tools"
        );
        assert!(!e.requested_unsafe);

        let e = plan_replay(&req(true, true, &[], Some("1"))).unwrap_err();
        assert!(e.message.contains("--allow-tools"));
        assert!(e.requested_unsafe);

        let e = plan_replay(&req(true, true, &["echo"], None)).unwrap_err();
        assert_eq!(
            e.message,
            "real tool execution requires GAIT_ALLOW_REAL_REPLAY=1"
        );
        for bad in ["0", "true", "11", ""] {
            assert!(plan_replay(&req(true, true, &["echo"], Some(bad))).is_err());
        }

        for shell in ["shell.exec", "EXEC", " command.run "] {
            let e = plan_replay(&req(true, true, &["echo", shell], Some("1"))).unwrap_err();
            assert!(e.message.contains("shell tools"), "{}", e.message);
            assert!(e.requested_unsafe);
        }

        match plan_replay(&req(true, true, &["Echo", "file.write"], Some(" 1 "))) {
            Ok(ReplayPlan::Real { allow, warning }) => {
                assert!(allow.contains("echo") && allow.contains("file.write"));
                assert_eq!(warning, "allow_tools=Echo,file.write");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stub_types() {
        assert_eq!(classify_stub_type("tool.fetch"), Some("http"));
        assert_eq!(classify_stub_type(" HTTP.get"), Some("http"));
        assert_eq!(classify_stub_type("fs.read"), Some("file"));
        // `write` is a file word even when `query` also matches.
        assert_eq!(classify_stub_type("query_writer"), Some("file"));
        assert_eq!(classify_stub_type("sql.select"), Some("db"));
        assert_eq!(classify_stub_type("kafka.send"), Some("queue"));
        assert_eq!(classify_stub_type("tool.search"), None);
        assert_eq!(classify_stub_type("echo"), None);
    }

    #[test]
    fn stub_digest_input() {
        assert_eq!(
            stub_digest("run_a", "i1", " Tool.Fetch ", " ABCD ", "http"),
            gait_digest::sha256(b"run_a:i1:tool.fetch:abcd:http").to_hex()
        );
    }

    #[test]
    fn echo_digest() {
        let mut intent = IntentRecord {
            tool_name: "tool.echo".into(),
            ..IntentRecord::default()
        };
        assert_eq!(execute_real_tool(&intent), Ok(digest_text("echo")));
        let mut args = Map::new();
        args.insert("message".into(), Value::String(" hi ".into()));
        intent.args = Some(args);
        assert_eq!(execute_real_tool(&intent), Ok(digest_text("hi")));
        intent.tool_name = "exec".into();
        assert!(execute_real_tool(&intent).is_err());
        intent.tool_name = "other".into();
        assert_eq!(
            execute_real_tool(&intent),
            Err("unsupported real tool: other".to_owned())
        );
    }
}
