//! Rate limits and destructive budgets: counters in a state file shared by
//! every `gate eval` on the machine, guarded by a lock file.
//!
//! The state (`gait.gate.rate_limit_state` 1.0.0) holds `{key, count}`
//! counters sorted by key. A key is
//! `window|scope|<bucket start, RFC 3339>|<tool | identity | tool|identity>`;
//! counters of the same window from older buckets are dropped on every
//! update. A call whose counter has reached the limit is refused (and not
//! counted); otherwise the counter is incremented.
//!
//! The lock is `<state>.lock`, created exclusively. A writer retries every
//! 15 ms for up to 3 s, and a lock older than 15 s is considered stale and
//! removed. Unlike the reference, the state's directory is created when
//! missing.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use gait_digest::GoTime;
use serde::{Deserialize, Serialize};

use crate::policy::{RateLimit, RateLimitScope, RateLimitWindow};

/// The default state path, relative to the working directory.
pub const DEFAULT_STATE_PATH: &str = ".gait-out/gate_rate_limits.json";

const LOCK_RETRY: Duration = Duration::from_millis(15);
const LOCK_TIMEOUT: Duration = Duration::from_secs(3);
const LOCK_STALE_AFTER: Duration = Duration::from_secs(15);
/// The largest state file read.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// Why the limiter could not decide. A failure here must not let a call
/// through: callers treat it as an internal error (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The lock could not be taken in time.
    #[error("acquire rate limit lock: timeout waiting for {}", .0.display())]
    LockTimeout(PathBuf),
    /// The state could not be read, parsed or written.
    #[error("{0}")]
    State(String),
}

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitDecision {
    /// Whether the call is within the limit.
    pub allowed: bool,
    /// The limit.
    pub limit: u64,
    /// Calls counted in this bucket (including this one when allowed).
    pub used: u64,
    /// Calls left in this bucket.
    pub remaining: u64,
    /// `tool`, `identity` or `tool_identity`.
    pub scope: String,
    /// The scope key (`tool`, `identity` or `tool|identity`).
    pub key: String,
}

#[derive(Serialize, Deserialize, Default)]
struct State {
    #[serde(default)]
    schema_id: String,
    #[serde(default)]
    schema_version: String,
    #[serde(default)]
    counters: Vec<Counter>,
}

#[derive(Serialize, Deserialize)]
struct Counter {
    #[serde(default)]
    key: String,
    #[serde(default)]
    count: i64,
}

fn bucket_start(window: RateLimitWindow, now: &GoTime) -> String {
    let secs = now.unix_seconds();
    let unit = match window {
        RateLimitWindow::Minute => 60,
        RateLimitWindow::Hour => 3600,
    };
    GoTime::from_unix(secs - secs.rem_euclid(unit), 0).format()
}

/// Counts one call of `tool_name` by `identity` against `limit`, in the
/// state file at `state_path`.
pub fn enforce(
    state_path: &Path,
    limit: &RateLimit,
    tool_name: &str,
    identity: &str,
    now: &GoTime,
) -> Result<RateLimitDecision, RateLimitError> {
    if limit.requests == 0 {
        return Ok(RateLimitDecision {
            allowed: true,
            ..RateLimitDecision::default()
        });
    }
    let window = limit.window.as_str();
    let scope = limit.scope.as_str();
    let scope_key = match limit.scope {
        RateLimitScope::Tool => tool_name.to_owned(),
        RateLimitScope::Identity => identity.to_owned(),
        RateLimitScope::ToolIdentity => format!("{tool_name}|{identity}"),
    };
    let bucket = bucket_start(limit.window, &now.to_utc());
    let counter_key = format!("{window}|{scope}|{bucket}|{scope_key}");
    let _lock = Lock::acquire(state_path)?;
    let mut counters = load(state_path)?;
    counters.retain(|key, _| {
        let parts: Vec<&str> = key.splitn(4, '|').collect();
        match parts.as_slice() {
            [w, _, b, _] => *w != window || *b == bucket,
            _ => false,
        }
    });
    let used = counters.get(&counter_key).copied().unwrap_or(0);
    if used >= limit.requests {
        return Ok(RateLimitDecision {
            allowed: false,
            limit: limit.requests,
            used,
            remaining: 0,
            scope: scope.to_owned(),
            key: scope_key,
        });
    }
    let used = used + 1;
    counters.insert(counter_key, used);
    store(state_path, &counters)?;
    Ok(RateLimitDecision {
        allowed: true,
        limit: limit.requests,
        used,
        remaining: limit.requests - used,
        scope: scope.to_owned(),
        key: scope_key,
    })
}

fn load(path: &Path) -> Result<BTreeMap<String, u64>, RateLimitError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(RateLimitError::State(format!("read rate limit state: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(MAX_STATE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| RateLimitError::State(format!("read rate limit state: {e}")))?;
    let state: State = serde_json::from_slice(&bytes)
        .map_err(|e| RateLimitError::State(format!("parse rate limit state: {e}")))?;
    Ok(state
        .counters
        .into_iter()
        .filter_map(|c| {
            let key = c.key.trim().to_owned();
            let count = u64::try_from(c.count).ok().filter(|n| *n > 0)?;
            (!key.is_empty()).then_some((key, count))
        })
        .collect())
}

fn store(path: &Path, counters: &BTreeMap<String, u64>) -> Result<(), RateLimitError> {
    let state = serde_json::json!({
        "schema_id": "gait.gate.rate_limit_state",
        "schema_version": "1.0.0",
        "counters": counters.iter().map(|(k, v)| serde_json::json!({"key": k, "count": v})).collect::<Vec<_>>(),
    });
    let mut bytes =
        serde_json::to_vec_pretty(&state).map_err(|e| RateLimitError::State(e.to_string()))?;
    bytes.push(b'\n');
    gait_sign::write_file_atomic(path, &bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| RateLimitError::State(format!("write rate limit state: {e}")))
}

struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(state_path: &Path) -> Result<Lock, RateLimitError> {
        if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(|e| RateLimitError::State(e.to_string()))?;
        }
        let mut name = state_path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let deadline = Instant::now() + LOCK_TIMEOUT;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let meta = serde_json::json!({
                        "schema_id": "gait.gate.rate_limit_lock",
                        "schema_version": "1.0.0",
                        "pid": std::process::id(),
                        "created_at": GoTime::now_utc().format(),
                    });
                    let _ = f.write_all(meta.to_string().as_bytes());
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > LOCK_STALE_AFTER);
                    if stale {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(RateLimitError::LockTimeout(path));
                    }
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(e) => {
                    return Err(RateLimitError::State(format!(
                        "acquire rate limit lock: {e}"
                    )));
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(requests: u64) -> RateLimit {
        RateLimit::new_for_tests(
            requests,
            RateLimitWindow::Minute,
            RateLimitScope::ToolIdentity,
        )
    }

    #[test]
    fn counts_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("fresh/dir/state.json");
        let now = GoTime::parse("2026-01-01T00:00:30Z").unwrap();
        let a = enforce(&state, &limit(2), "tool.x", "alice", &now).unwrap();
        assert!(a.allowed);
        assert_eq!((a.used, a.remaining), (1, 1));
        let b = enforce(&state, &limit(2), "tool.x", "alice", &now).unwrap();
        assert!(b.allowed);
        let c = enforce(&state, &limit(2), "tool.x", "alice", &now).unwrap();
        assert!(!c.allowed);
        assert_eq!(c.key, "tool.x|alice");
        // Another identity has its own counter; the next minute starts anew.
        assert!(
            enforce(&state, &limit(2), "tool.x", "bob", &now)
                .unwrap()
                .allowed
        );
        let later = now.add_seconds(60);
        assert!(
            enforce(&state, &limit(2), "tool.x", "alice", &later)
                .unwrap()
                .allowed
        );
        let text = std::fs::read_to_string(&state).unwrap();
        assert!(text.contains("gait.gate.rate_limit_state"));
        assert!(
            !text.contains("2026-01-01T00:00:00Z|tool.x|alice"),
            "old bucket pruned: {text}"
        );
    }

    #[test]
    fn corrupt_state_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        std::fs::write(&state, "not json").unwrap();
        assert!(enforce(&state, &limit(1), "t", "i", &GoTime::now_utc()).is_err());
    }
}
