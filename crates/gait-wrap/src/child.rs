//! Running the child: no shell, its own process group, empty stdin, both
//! output streams read by two threads into bounded buffers (and scanned
//! for references as they arrive), a deadline, and on timeout SIGTERM to
//! the whole group, then SIGKILL to the whole group after a grace period.
//!
//! Nothing here waits without a bound: the main thread polls the child
//! and the readers; once the deadline and the grace periods are over it
//! stops waiting for readers whose pipe is still held open (by a process
//! that left the group) and takes what they have read so far.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::scan::{LineScanner, References};

/// One output stream as read so far.
#[derive(Debug, Default)]
struct Stream {
    kept: Vec<u8>,
    dropped: u64,
    scanner: LineScanner,
}

/// A captured stream.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// The first bytes (at most the budget), lossily decoded.
    pub(crate) text: String,
    /// How many bytes beyond the budget were read and dropped.
    pub(crate) dropped: u64,
}

/// What happened to the child.
#[derive(Debug)]
pub(crate) struct ChildRun {
    pub(crate) start_error: Option<String>,
    pub(crate) status: Option<ExitStatus>,
    pub(crate) wait_error: Option<String>,
    pub(crate) timed_out: bool,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    pub(crate) references: References,
    pub(crate) elapsed: Duration,
}

/// How a child is run.
#[derive(Debug, Clone)]
pub(crate) struct Spawn<'a> {
    pub(crate) argv: &'a [String],
    pub(crate) cwd: &'a Path,
    pub(crate) env: &'a [(String, String)],
    pub(crate) timeout: Duration,
    pub(crate) kill_grace: Duration,
    pub(crate) max_output_bytes: usize,
}

const READ_CHUNK: usize = 64 << 10;
/// After SIGKILL, how long to wait for the child to be reaped and the
/// readers to see end of file.
const REAP_GRACE: Duration = Duration::from_secs(1);

fn lock(s: &Mutex<Stream>) -> std::sync::MutexGuard<'_, Stream> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

fn reader(
    mut pipe: impl std::io::Read + Send + 'static,
    state: Arc<Mutex<Stream>>,
    budget: usize,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gait-wrap-reader".into())
        .spawn(move || {
            let mut buf = vec![0u8; READ_CHUNK];
            loop {
                let n = match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                let chunk = buf.get(..n).unwrap_or_default();
                let mut s = lock(&state);
                let room = budget.saturating_sub(s.kept.len());
                let keep = room.min(chunk.len());
                s.kept
                    .extend_from_slice(chunk.get(..keep).unwrap_or_default());
                s.dropped = s.dropped.saturating_add((chunk.len() - keep) as u64);
                s.scanner.feed(chunk);
            }
        })
}

fn take(state: &Mutex<Stream>) -> (Captured, References) {
    let mut s = lock(state);
    let refs = s.scanner.finish();
    let captured = Captured {
        text: String::from_utf8_lossy(&std::mem::take(&mut s.kept)).into_owned(),
        dropped: s.dropped,
    };
    (captured, refs)
}

/// Sends `signal` to the child's process group (the child is its leader).
#[cfg(unix)]
fn signal_group(child: &std::process::Child, signal: rustix::process::Signal) {
    let pgid = rustix::process::Pid::from_child(child);
    // ESRCH (the group is gone) is the expected outcome when everything
    // already exited.
    let _ = rustix::process::kill_process_group(pgid, signal);
}

/// Runs the child to completion, timeout or failure to start.
pub(crate) fn run(spec: &Spawn<'_>) -> ChildRun {
    let started = Instant::now();
    let mut result = ChildRun {
        start_error: None,
        status: None,
        wait_error: None,
        timed_out: false,
        stdout: Captured::default(),
        stderr: Captured::default(),
        references: References::default(),
        elapsed: Duration::ZERO,
    };
    let Some((program, args)) = spec.argv.split_first() else {
        result.start_error = Some("no child command".to_owned());
        return result;
    };
    if !spec.cwd.is_dir() {
        result.start_error = Some(format!("chdir {}: no such directory", spec.cwd.display()));
        result.elapsed = started.elapsed();
        return result;
    }
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            result.start_error = Some(format!("start {program}: {e}"));
            result.elapsed = started.elapsed();
            return result;
        }
    };
    let out_state = Arc::new(Mutex::new(Stream::default()));
    let err_state = Arc::new(Mutex::new(Stream::default()));
    let mut readers = Vec::with_capacity(2);
    let mut reader_error = None;
    if let Some(pipe) = child.stdout.take() {
        match reader(pipe, Arc::clone(&out_state), spec.max_output_bytes) {
            Ok(h) => readers.push(h),
            Err(e) => reader_error = Some(e),
        }
    }
    if let Some(pipe) = child.stderr.take() {
        match reader(pipe, Arc::clone(&err_state), spec.max_output_bytes) {
            Ok(h) => readers.push(h),
            Err(e) => reader_error = Some(e),
        }
    }
    let deadline = after(started, spec.timeout);
    if let Some(e) = reader_error {
        // Without a reader the child could block on a full pipe: stop it.
        terminate(&mut child, &mut result, &readers, spec.kill_grace);
        result.wait_error = Some(format!("read child output: {e}"));
    } else {
        let done = wait_until(&mut child, &mut result, &readers, deadline);
        if !done && result.wait_error.is_none() {
            result.timed_out = true;
            terminate(&mut child, &mut result, &readers, spec.kill_grace);
        }
    }
    let (stdout, out_refs) = take(&out_state);
    let (stderr, err_refs) = take(&err_state);
    result.stdout = stdout;
    result.stderr = stderr;
    result.references = out_refs;
    result.references.merge(err_refs);
    result.elapsed = started.elapsed();
    result
}

/// `start + wait`, or the latest instant this platform can represent
/// near it (a huge timeout must not overflow).
fn after(start: Instant, wait: Duration) -> Instant {
    let mut wait = wait;
    loop {
        if let Some(t) = start.checked_add(wait) {
            return t;
        }
        wait /= 2;
    }
}

/// Polls until the child has exited and both readers are done (true), or
/// `deadline` passes or waiting fails (false).
fn wait_until(
    child: &mut std::process::Child,
    result: &mut ChildRun,
    readers: &[JoinHandle<()>],
    deadline: Instant,
) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        if result.status.is_none() {
            match child.try_wait() {
                Ok(Some(s)) => result.status = Some(s),
                Ok(None) => {}
                Err(e) => {
                    result.wait_error = Some(format!("wait for child: {e}"));
                    return false;
                }
            }
        }
        if result.status.is_some() && readers.iter().all(JoinHandle::is_finished) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// SIGTERM to the group, a grace period, SIGKILL to the group (always:
/// members that ignored SIGTERM or outlived the leader go too), then a
/// bounded wait for the reap and the readers.
fn terminate(
    child: &mut std::process::Child,
    result: &mut ChildRun,
    readers: &[JoinHandle<()>],
    grace: Duration,
) {
    #[cfg(unix)]
    {
        // The group id is the leader's pid: it cannot have been reused
        // while the leader is unreaped, nor while a member of its group
        // still holds an output pipe open.
        let running =
            |r: &ChildRun| r.status.is_none() || !readers.iter().all(JoinHandle::is_finished);
        if running(result) {
            signal_group(child, rustix::process::Signal::TERM);
            wait_until(child, result, readers, after(Instant::now(), grace));
        }
        if running(result) {
            signal_group(child, rustix::process::Signal::KILL);
        }
    }
    if result.status.is_none() {
        let _ = child.kill();
    }
    wait_until(child, result, readers, after(Instant::now(), REAP_GRACE));
    if result.status.is_none() {
        result.wait_error = Some("child did not exit after SIGKILL".to_owned());
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str, timeout: Duration) -> ChildRun {
        let argv = vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()];
        run(&Spawn {
            argv: &argv,
            cwd: Path::new("."),
            env: &[("GAIT_WRAP_TEST".to_owned(), "v".to_owned())],
            timeout,
            kill_grace: Duration::from_millis(300),
            max_output_bytes: 1024,
        })
    }

    #[test]
    fn output_is_captured_and_scanned_and_env_is_set() {
        let r = sh(
            "echo \"x=$GAIT_WRAP_TEST\"; echo trace_path=a >&2; exit 4",
            Duration::from_secs(20),
        );
        assert_eq!(r.stdout.text, "x=v\n");
        assert_eq!(r.stderr.text, "trace_path=a\n");
        assert_eq!(r.status.and_then(|s| s.code()), Some(4));
        assert!(!r.timed_out);
        assert_eq!(r.references.traces.len(), 1);
    }

    #[test]
    fn output_beyond_the_budget_is_dropped_but_still_scanned() {
        let r = sh(
            "head -c 5000 /dev/zero | tr '\\0' x; echo; echo trace_path=late",
            Duration::from_secs(20),
        );
        assert_eq!(r.stdout.text.len(), 1024);
        assert!(r.stdout.dropped > 3000);
        assert!(r.references.traces.contains("late"));
    }

    #[test]
    fn timeout_kills_the_whole_group_even_when_sigterm_is_ignored() {
        let begun = Instant::now();
        // The grandchild ignores SIGTERM and holds stdout open.
        let r = sh(
            "echo trace_path=early; trap '' TERM; (trap '' TERM; sleep 30) & wait",
            Duration::from_millis(300),
        );
        assert!(r.timed_out);
        assert!(begun.elapsed() < Duration::from_secs(10));
        assert!(r.references.traces.contains("early"));
        assert!(r.status.is_some());
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let now = Instant::now();
        assert!(after(now, Duration::MAX) > now);
        let r = sh("echo trace_path=x", Duration::MAX);
        assert!(!r.timed_out);
        assert!(r.references.traces.contains("x"));
    }

    #[test]
    fn start_failures_are_reported() {
        let argv = vec!["./surely-no-such-program".to_owned()];
        let r = run(&Spawn {
            argv: &argv,
            cwd: Path::new("."),
            env: &[],
            timeout: Duration::from_secs(1),
            kill_grace: Duration::from_millis(100),
            max_output_bytes: 10,
        });
        assert!(r.start_error.is_some());
        let argv = vec!["true".to_owned()];
        let r = run(&Spawn {
            argv: &argv,
            cwd: Path::new("no/such/dir"),
            env: &[],
            timeout: Duration::from_secs(1),
            kill_grace: Duration::from_millis(100),
            max_output_bytes: 10,
        });
        assert!(r.start_error.is_some_and(|e| e.contains("no/such/dir")));
    }
}
