//! The journal lock, `J.lock`.
//!
//! The file protocol is the reference's, so that both implementations
//! exclude each other: the lock file is created exclusively, holds
//! `{"schema_id":"gait.runpack.session_lock","schema_version":"1.0.0","pid":…,"created_at":…}`
//! and is removed after the operation; a lock whose `created_at` is older
//! than the stale threshold is removed by the next operation; an
//! unparsable lock is never stale, except an empty one nobody holds that is
//! over a second old (its creator died before writing its record).
//!
//! On top of it, the holder keeps an OS lock (`flock`/`LockFileEx`) on the
//! lock file while it works. A lock file whose OS lock is held belongs to
//! a live process and is never broken, however old its `created_at` (the
//! reference would break it after the stale threshold); the OS lock also
//! serializes the processes that consider breaking a stale lock, and one
//! only removes the file it examined (same inode), never a newer lock.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gait_digest::GoTime;
use gait_digest::go_duration::{format_go_duration, parse_go_duration};
use serde::Deserialize;

use super::{MAX_SIDE_FILE_BYTES, SESSION_LOCK_SCHEMA_ID, SessionError};

/// A lock profile (`GAIT_SESSION_LOCK_PROFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockProfile {
    /// 2 s timeout, 50 ms retry, stale after 5 min (the default, also for
    /// unknown names).
    #[default]
    Standard,
    /// 10 s timeout, 20 ms retry, stale after 10 min.
    Swarm,
}

impl LockProfile {
    /// `standard` or `swarm`.
    pub fn as_str(self) -> &'static str {
        match self {
            LockProfile::Standard => "standard",
            LockProfile::Swarm => "swarm",
        }
    }

    /// `swarm` (trimmed, any case) or the standard profile.
    pub fn parse(text: &str) -> Self {
        if text.trim().eq_ignore_ascii_case("swarm") {
            LockProfile::Swarm
        } else {
            LockProfile::Standard
        }
    }
}

impl fmt::Display for LockProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long to wait for the lock and when a lock is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockConfig {
    /// The profile the values came from.
    pub profile: LockProfile,
    /// Give up after this long.
    pub timeout: Duration,
    /// Wait this long between attempts (at most `timeout`).
    pub retry: Duration,
    /// A lock whose `created_at` is older than this is removed.
    pub stale_after: Duration,
}

impl Default for LockConfig {
    fn default() -> Self {
        Self::for_profile(LockProfile::Standard)
    }
}

fn positive_duration(text: Option<String>) -> Option<Duration> {
    let nanos = parse_go_duration(text?.trim()).ok()?;
    if nanos <= 0 {
        return None;
    }
    Some(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

impl LockConfig {
    /// The values of `profile`.
    pub fn for_profile(profile: LockProfile) -> Self {
        match profile {
            LockProfile::Standard => Self {
                profile,
                timeout: Duration::from_secs(2),
                retry: Duration::from_millis(50),
                stale_after: Duration::from_secs(300),
            },
            LockProfile::Swarm => Self {
                profile,
                timeout: Duration::from_secs(10),
                retry: Duration::from_millis(20),
                stale_after: Duration::from_secs(600),
            },
        }
    }

    /// The configuration from environment variables, read through `var`:
    /// `GAIT_SESSION_LOCK_PROFILE`, then `GAIT_SESSION_LOCK_TIMEOUT`,
    /// `GAIT_SESSION_LOCK_RETRY` and `GAIT_SESSION_LOCK_STALE_AFTER` (Go
    /// durations; invalid or non-positive values are ignored; the retry is
    /// capped at the timeout).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let profile = LockProfile::parse(&var("GAIT_SESSION_LOCK_PROFILE").unwrap_or_default());
        let mut c = Self::for_profile(profile);
        if let Some(d) = positive_duration(var("GAIT_SESSION_LOCK_TIMEOUT")) {
            c.timeout = d;
        }
        if let Some(d) = positive_duration(var("GAIT_SESSION_LOCK_RETRY")) {
            c.retry = d;
        }
        if let Some(d) = positive_duration(var("GAIT_SESSION_LOCK_STALE_AFTER")) {
            c.stale_after = d;
        }
        c.retry = c.retry.min(c.timeout);
        c
    }
}

/// The path of `journal`'s lock: `J.lock`.
pub(crate) fn lock_path(journal: &Path) -> PathBuf {
    let mut s = journal.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// A held journal lock: the file is removed and the OS lock released when
/// dropped.
#[derive(Debug)]
pub(crate) struct JournalLock {
    path: PathBuf,
    file: File,
}

#[derive(Deserialize)]
struct LockFile {
    created_at: GoTime,
    /// [`HOLDER`] in the locks this implementation writes.
    #[serde(default)]
    holder: String,
}

/// The `holder` member of the locks this implementation writes (the
/// reference ignores it): such a lock is held with an OS lock for as long
/// as its holder lives, so a free OS lock means the holder died (killed,
/// crashed) and the lock is broken at once instead of after the stale
/// threshold.
const HOLDER: &str = "gait-rs";

fn go_text(d: Duration) -> String {
    format_go_duration(i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

fn io_err(context: &'static str, path: &Path, source: std::io::Error) -> SessionError {
    SessionError::Io {
        context,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

impl JournalLock {
    /// Takes the lock of `journal`, retrying until the timeout.
    pub(crate) fn acquire(journal: &Path, cfg: &LockConfig) -> Result<Self, SessionError> {
        let path = lock_path(journal);
        let started = Instant::now();
        let mut attempts = 0_u64;
        loop {
            attempts += 1;
            let mut options = OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(gait_sign::PRIVATE_FILE_MODE);
            }
            match options.open(&path) {
                Ok(file) => return Self::hold(path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if Self::break_if_stale(&path, cfg)? {
                        continue;
                    }
                }
                Err(e) => return Err(io_err("create session lock", &path, e)),
            }
            let waited = started.elapsed();
            if waited >= cfg.timeout {
                return Err(SessionError::Contention {
                    path,
                    waited: go_text(waited),
                    attempts,
                    timeout: go_text(cfg.timeout),
                    retry: go_text(cfg.retry),
                    profile: cfg.profile,
                });
            }
            std::thread::sleep(cfg.retry.min(cfg.timeout.saturating_sub(waited)));
        }
    }

    /// The lock file was created by us: take the OS lock (a process
    /// examining the empty file for staleness may hold it for a moment;
    /// an empty file is unparsable, so never stale), then write the
    /// record.
    fn hold(path: PathBuf, file: File) -> Result<Self, SessionError> {
        if let Err(e) = file.lock() {
            let _ = std::fs::remove_file(&path);
            return Err(io_err("lock session lock", &path, e));
        }
        let record = serde_json::json!({
            "schema_id": SESSION_LOCK_SCHEMA_ID,
            "schema_version": "1.0.0",
            "pid": std::process::id(),
            "created_at": GoTime::now_utc().format_rfc3339(),
            "holder": HOLDER,
        });
        let mut bytes = serde_json::to_vec(&record).unwrap_or_default();
        bytes.push(b'\n');
        let mut lock = Self { path, file };
        lock.file
            .write_all(&bytes)
            .and_then(|()| lock.file.sync_data())
            .map_err(|e| io_err("write session lock", &lock.path, e))?;
        Ok(lock)
    }

    /// Removes the lock file at `path` when no live process holds its OS
    /// lock and either this implementation wrote it (its holder died) or
    /// its `created_at` is older than the stale threshold.
    /// Returns whether it was removed (or vanished).
    fn break_if_stale(path: &Path, cfg: &LockConfig) -> Result<bool, SessionError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(io_err("open session lock", path, e)),
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(io_err("lock session lock", path, e));
            }
        }
        let mut bytes = Vec::new();
        (&file)
            .take(MAX_SIDE_FILE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err("read session lock", path, e))?;
        let Ok(record) = serde_json::from_slice::<LockFile>(&bytes) else {
            // An empty lock nobody holds, older than any creator takes to
            // write its record (ours takes the OS lock right after creating
            // the file): its creator died between the two steps.
            let abandoned_empty = bytes.is_empty()
                && file
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > EMPTY_LOCK_GRACE);
            if abandoned_empty {
                return remove_examined(&file, path);
            }
            return Ok(false);
        };
        let age_nanos = GoTime::now_utc().unix_nanos() - record.created_at.unix_nanos();
        // Ours with its OS lock free: the holder is dead. Another
        // implementation's: only the stale threshold tells.
        let abandoned = record.holder == HOLDER;
        let stale = abandoned
            || u128::try_from(age_nanos).is_ok_and(|age| age > cfg.stale_after.as_nanos());
        if !stale {
            return Ok(false);
        }
        remove_examined(&file, path)
    }
}

/// How old an empty, unheld lock file must be before it counts as
/// abandoned.
const EMPTY_LOCK_GRACE: Duration = Duration::from_secs(1);

/// Removes the lock file at `path` if it is still the file examined
/// (`file`), not a newer lock; returns whether the path is free to try.
fn remove_examined(file: &File, path: &Path) -> Result<bool, SessionError> {
    let (Ok(held), Ok(named)) = (file.metadata(), std::fs::metadata(path)) else {
        return Ok(true);
    };
    if !same_file(&held, &named) {
        return Ok(true);
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_err("remove stale session lock", path, e)),
    }
}

impl Drop for JournalLock {
    fn drop(&mut self) {
        // Remove only our own file (a reference process may have broken
        // a lock it considered stale and taken it).
        if let (Ok(held), Ok(named)) = (self.file.metadata(), std::fs::metadata(&self.path)) {
            if same_file(&held, &named) {
                let _ = std::fs::remove_file(&self.path);
            }
        }
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn profiles_and_overrides() {
        let c = LockConfig::from_vars(vars(&[]));
        assert_eq!(c, LockConfig::for_profile(LockProfile::Standard));
        let c = LockConfig::from_vars(vars(&[("GAIT_SESSION_LOCK_PROFILE", " SWARM ")]));
        assert_eq!(c.timeout, Duration::from_secs(10));
        assert_eq!(c.profile, LockProfile::Swarm);
        let c = LockConfig::from_vars(vars(&[
            ("GAIT_SESSION_LOCK_PROFILE", "other"),
            ("GAIT_SESSION_LOCK_TIMEOUT", "300ms"),
            ("GAIT_SESSION_LOCK_RETRY", "1s"),
            ("GAIT_SESSION_LOCK_STALE_AFTER", "-1s"),
        ]));
        assert_eq!(c.profile, LockProfile::Standard);
        assert_eq!(c.timeout, Duration::from_millis(300));
        assert_eq!(c.retry, Duration::from_millis(300), "retry capped");
        assert_eq!(c.stale_after, Duration::from_secs(300), "negative ignored");
        let c = LockConfig::from_vars(vars(&[("GAIT_SESSION_LOCK_TIMEOUT", "2")]));
        assert_eq!(c.timeout, Duration::from_secs(2), "no unit: ignored");
    }

    fn quick() -> LockConfig {
        LockConfig {
            timeout: Duration::from_millis(150),
            retry: Duration::from_millis(10),
            ..LockConfig::default()
        }
    }

    #[test]
    fn held_lock_contends_then_releases() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j.jsonl");
        let held = JournalLock::acquire(&j, &quick()).unwrap();
        let text = std::fs::read_to_string(lock_path(&j)).unwrap();
        assert!(text.contains("gait.runpack.session_lock") && text.ends_with('\n'));
        let err = JournalLock::acquire(&j, &quick()).unwrap_err();
        assert!(err.is_contention(), "{err}");
        assert!(
            err.to_string()
                .starts_with("session state contention: lock timeout (path=")
        );
        drop(held);
        assert!(!lock_path(&j).exists());
        drop(JournalLock::acquire(&j, &quick()).unwrap());
    }

    #[test]
    fn live_lock_is_never_broken_even_when_old() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j.jsonl");
        let _held = JournalLock::acquire(&j, &quick()).unwrap();
        let cfg = LockConfig {
            stale_after: Duration::from_nanos(1),
            ..quick()
        };
        std::thread::sleep(Duration::from_millis(5));
        assert!(JournalLock::acquire(&j, &cfg).unwrap_err().is_contention());
        assert!(lock_path(&j).exists());
    }

    #[test]
    fn a_lock_of_ours_whose_holder_died_is_broken_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j.jsonl");
        // What a killed holder leaves: its fresh record, no OS lock.
        let now = GoTime::now_utc().format_rfc3339();
        let ours = format!(
            r#"{{"schema_id":"gait.runpack.session_lock","schema_version":"1.0.0","pid":1,"created_at":"{now}","holder":"gait-rs"}}"#
        );
        std::fs::write(lock_path(&j), &ours).unwrap();
        drop(JournalLock::acquire(&j, &quick()).unwrap());
        // The same record without the holder (another implementation's)
        // is only broken once stale.
        let foreign = ours.replace(r#","holder":"gait-rs""#, "");
        std::fs::write(lock_path(&j), &foreign).unwrap();
        assert!(
            JournalLock::acquire(&j, &quick())
                .unwrap_err()
                .is_contention()
        );
    }

    #[test]
    fn an_empty_unheld_lock_is_broken_after_its_grace() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j.jsonl");
        // What a holder killed between creating the file and writing its
        // record leaves.
        let f = std::fs::File::create(lock_path(&j)).unwrap();
        f.set_modified(std::time::SystemTime::now() - Duration::from_secs(5))
            .unwrap();
        drop(f);
        drop(JournalLock::acquire(&j, &quick()).unwrap());
        // A fresh empty one (a creator about to write) is left alone.
        std::fs::File::create(lock_path(&j)).unwrap();
        assert!(
            JournalLock::acquire(&j, &quick())
                .unwrap_err()
                .is_contention()
        );
    }

    #[test]
    fn stale_and_unparsable_foreign_locks() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("j.jsonl");
        std::fs::write(
            lock_path(&j),
            r#"{"schema_id":"gait.runpack.session_lock","schema_version":"1.0.0","pid":1,"created_at":"2001-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        drop(JournalLock::acquire(&j, &quick()).unwrap());
        std::fs::write(lock_path(&j), "not json\n").unwrap();
        assert!(
            JournalLock::acquire(&j, &quick())
                .unwrap_err()
                .is_contention()
        );
        let fresh = format!(
            r#"{{"created_at":"{}"}}"#,
            GoTime::now_utc().format_rfc3339()
        );
        std::fs::write(lock_path(&j), fresh).unwrap();
        assert!(
            JournalLock::acquire(&j, &quick())
                .unwrap_err()
                .is_contention()
        );
    }
}
