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
//! The lock is an operating-system file lock (`flock` on Unix, `LockFileEx`
//! on Windows) on `<state>.lock`, taken with a non-blocking attempt every
//! 15 ms for up to 3 s; a timeout is an error, which fails closed. The
//! lock file itself is left in place (removing a lock file others may have
//! open would let two writers hold "the" lock): its existence means
//! nothing, so a lock file left behind by a killed process never blocks,
//! and no live holder's lock is ever broken by an age rule (the reference
//! creates the file exclusively and removes one older than 15 s). The
//! state file's format is the reference's. Unlike the reference, the
//! state's directory is created when missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gait_digest::GoTime;
use serde::{Deserialize, Serialize};

use crate::policy::{RateLimit, RateLimitScope, RateLimitWindow};

/// The default state path, relative to the working directory.
pub const DEFAULT_STATE_PATH: &str = ".gait-out/gate_rate_limits.json";

const LOCK_RETRY: Duration = Duration::from_millis(15);
const LOCK_TIMEOUT: Duration = Duration::from_secs(3);
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
    let file = match gait_sign::open_regular_file(path) {
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

/// The held lock: an exclusive OS lock on the open lock file, released
/// when the handle is closed (also when the process dies).
struct Lock {
    _file: std::fs::File,
}

impl Lock {
    fn acquire(state_path: &Path) -> Result<Lock, RateLimitError> {
        Self::acquire_within(state_path, LOCK_TIMEOUT)
    }

    fn lock_path(state_path: &Path) -> PathBuf {
        let mut name = state_path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn acquire_within(state_path: &Path, timeout: Duration) -> Result<Lock, RateLimitError> {
        if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
            gait_sign::create_private_dir(dir).map_err(|e| RateLimitError::State(e.to_string()))?;
        }
        let path = Self::lock_path(state_path);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(gait_sign::PRIVATE_FILE_MODE);
        }
        let file = options
            .open(&path)
            .map_err(|e| RateLimitError::State(format!("acquire rate limit lock: {e}")))?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(RateLimitError::LockTimeout(path));
                    }
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(RateLimitError::State(format!(
                        "acquire rate limit lock {}: {e}",
                        path.display()
                    )));
                }
            }
        }
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

    /// Issue 11: a lock file left behind (by a killed process of this
    /// build or of the reference, whose lock is the file's existence) does
    /// not block: only a held OS lock does.
    #[test]
    fn leftover_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        std::fs::write(
            Lock::lock_path(&state),
            r#"{"schema_id":"gait.gate.rate_limit_lock","schema_version":"1.0.0","pid":999999}"#,
        )
        .unwrap();
        let started = Instant::now();
        let now = GoTime::parse("2026-01-01T00:00:30Z").unwrap();
        assert!(enforce(&state, &limit(5), "t", "i", &now).unwrap().allowed);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    /// Issue 11: while another holder has the lock, a writer waits a bounded
    /// time and then fails (closed) with a timeout; once the holder is gone
    /// the lock is free at once.
    #[test]
    fn held_lock_times_out_then_frees_when_holder_drops() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let held = Lock::acquire(&state).unwrap();
        let started = Instant::now();
        let err = match Lock::acquire_within(&state, Duration::from_millis(200)) {
            Err(e) => e,
            Ok(_) => panic!("second holder got the lock"),
        };
        assert!(matches!(err, RateLimitError::LockTimeout(_)), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(held);
        assert!(Lock::acquire_within(&state, Duration::from_millis(200)).is_ok());
    }

    /// Issue 11: contending writers never lose an update: 4 threads x 25
    /// calls count to exactly 100 (a limit of 100 is reached, not passed).
    #[test]
    fn contending_threads_count_every_call_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let now = GoTime::parse("2026-01-01T00:00:30Z").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let state = state.clone();
                std::thread::spawn(move || {
                    (0..25)
                        .filter(|_| {
                            enforce(&state, &limit(100), "t", "i", &now)
                                .unwrap()
                                .allowed
                        })
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(allowed, 100);
        assert!(
            !enforce(&state, &limit(100), "t", "i", &now)
                .unwrap()
                .allowed
        );
    }

    /// Issue 11: a process holding the lock (`flock(1)`) blocks writers
    /// until it is killed; after `kill -9` the next writer proceeds at once.
    #[cfg(target_os = "linux")]
    #[test]
    fn lock_held_by_killed_process_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let lock = Lock::lock_path(&state);
        let ready = dir.path().join("ready");
        use std::os::unix::process::CommandExt as _;
        let Ok(mut child) = std::process::Command::new("flock")
            .process_group(0)
            .arg("--exclusive")
            .arg(&lock)
            .arg("sh")
            .arg("-c")
            .arg(format!("touch '{}' && sleep 60", ready.display()))
            .spawn()
        else {
            eprintln!("flock(1) not available: skipped");
            return;
        };
        let waited = Instant::now();
        while !ready.exists() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(ready.exists());
        assert!(matches!(
            Lock::acquire_within(&state, Duration::from_millis(100)),
            Err(RateLimitError::LockTimeout(_))
        ));
        // Kill the holder and everything it started (SIGKILL: no cleanup).
        let group = format!("-{}", child.id());
        let status = std::process::Command::new("kill")
            .args(["-9", "--", &group])
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap();
        let started = Instant::now();
        let now = GoTime::parse("2026-01-01T00:00:30Z").unwrap();
        assert!(enforce(&state, &limit(5), "t", "i", &now).unwrap().allowed);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(
            lock.exists(),
            "the lock file stays; only the OS lock matters"
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
