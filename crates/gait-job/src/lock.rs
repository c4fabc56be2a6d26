//! Lock files: `state.json.lock` (mutations) and `events.jsonl.lock`
//! (appends).
//!
//! A lock is a file created exclusively, as the reference does, so the two
//! implementations exclude each other; it is removed on release. This
//! runtime also holds an OS lock (`flock` / `LockFileEx`) on the file it
//! created and writes `gait-rs <pid>` into it. That makes an abandoned
//! lock recognisable: a file with our marker whose OS lock can be taken
//! belongs to a process that died, and is broken at once instead of after
//! the age rule. Any other lock file (the reference's, a hand-made one) is
//! broken only when older than the stale age. A breaker holds the OS lock
//! of the file it removes and checks that the path still names that file,
//! so two breakers cannot remove each other's fresh locks.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::JobError;

const MARKER: &[u8] = b"gait-rs ";

/// How one kind of lock is taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LockRules {
    pub(crate) retry: Duration,
    pub(crate) stale: Duration,
    pub(crate) timeout: Duration,
    pub(crate) timeout_error: fn() -> JobError,
}

/// The mutation lock: 10 ms retries, stale after 30 s, 2 s timeout.
pub(crate) const STATE_LOCK: LockRules = LockRules {
    retry: Duration::from_millis(10),
    stale: Duration::from_secs(30),
    timeout: Duration::from_secs(2),
    timeout_error: || JobError::LockTimeout,
};

/// The append lock: 10 ms retries, stale after 2 min, 30 s timeout.
pub(crate) const APPEND_LOCK: LockRules = LockRules {
    retry: Duration::from_millis(10),
    stale: Duration::from_secs(120),
    timeout: Duration::from_secs(30),
    timeout_error: || JobError::AppendLockTimeout,
};

/// A held lock; released (file removed, OS lock dropped) on drop.
#[derive(Debug)]
pub(crate) struct HeldLock {
    path: PathBuf,
    file: fs::File,
}

impl HeldLock {
    /// Takes the lock at `path`. A missing directory is
    /// [`JobError::NotFound`].
    pub(crate) fn acquire(path: &Path, rules: LockRules) -> Result<HeldLock, JobError> {
        let started = Instant::now();
        loop {
            let mut options = fs::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(gait_sign::PRIVATE_FILE_MODE);
            }
            match options.open(path) {
                Ok(file) => return Self::own(path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if break_if_abandoned(path, rules.stale) {
                        continue;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(JobError::NotFound);
                }
                Err(source) => {
                    return Err(JobError::Lock {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
            if started.elapsed() >= rules.timeout {
                return Err((rules.timeout_error)());
            }
            std::thread::sleep(rules.retry);
        }
    }

    /// Takes the OS lock of the file just created (a breaker inspecting it
    /// may hold it for a moment) and marks it as ours.
    fn own(path: &Path, mut file: fs::File) -> Result<HeldLock, JobError> {
        let lock_err = |source: std::io::Error| JobError::Lock {
            path: path.to_path_buf(),
            source,
        };
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < Duration::from_secs(1) => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    let _ = fs::remove_file(path);
                    return Err(lock_err(std::io::Error::from(
                        std::io::ErrorKind::WouldBlock,
                    )));
                }
                Err(fs::TryLockError::Error(e)) => {
                    let _ = fs::remove_file(path);
                    return Err(lock_err(e));
                }
            }
        }
        let mut marker = MARKER.to_vec();
        marker.extend_from_slice(std::process::id().to_string().as_bytes());
        marker.push(b'\n');
        if let Err(e) = file.write_all(&marker) {
            let _ = fs::remove_file(path);
            return Err(lock_err(e));
        }
        Ok(HeldLock {
            path: path.to_path_buf(),
            file,
        })
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        // Removed while the OS lock is still held; the handle closes after.
        // Only if the path is still our file: another implementation may
        // have broken a lock held past its age rule and taken its own.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Removes the lock file at `path` when its holder is gone: ours and not
/// OS-locked, or anyone's and older than `stale`. Returns whether the
/// caller should retry at once.
fn break_if_abandoned(path: &Path, stale: Duration) -> bool {
    let mut file = match fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) => return e.kind() == std::io::ErrorKind::NotFound,
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(_) => return false,
    }
    if !same_file(&file, path) {
        return true;
    }
    let mut head = Vec::new();
    let ours = (&mut file)
        .take(64)
        .read_to_end(&mut head)
        .is_ok_and(|_| head.starts_with(MARKER));
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > stale);
    if ours || old {
        return fs::remove_file(path).is_ok();
    }
    false
}

#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &fs::File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn quick() -> LockRules {
        LockRules {
            timeout: Duration::from_millis(200),
            ..STATE_LOCK
        }
    }

    #[test]
    fn held_locks_exclude_and_are_removed_on_release() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json.lock");
        let held = HeldLock::acquire(&p, quick()).unwrap();
        assert!(p.exists());
        assert!(fs::read(&p).unwrap().starts_with(MARKER));
        assert!(matches!(
            HeldLock::acquire(&p, quick()),
            Err(JobError::LockTimeout)
        ));
        drop(held);
        assert!(!p.exists());
        drop(HeldLock::acquire(&p, quick()).unwrap());
    }

    #[test]
    fn a_foreign_fresh_lock_blocks_and_an_old_one_is_broken() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json.lock");
        fs::write(&p, b"").unwrap();
        assert!(matches!(
            HeldLock::acquire(&p, quick()),
            Err(JobError::LockTimeout)
        ));
        let old = SystemTime::now() - Duration::from_secs(120);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
        drop(HeldLock::acquire(&p, quick()).unwrap());
        assert!(!p.exists());
    }

    #[test]
    fn an_abandoned_lock_of_ours_is_broken_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json.lock");
        // A process that died holding the lock: our marker, no OS lock.
        fs::write(&p, b"gait-rs 999999\n").unwrap();
        let started = Instant::now();
        drop(HeldLock::acquire(&p, quick()).unwrap());
        assert!(started.elapsed() < Duration::from_millis(150));
    }

    #[test]
    fn release_leaves_a_lock_that_replaced_ours() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json.lock");
        let held = HeldLock::acquire(&p, quick()).unwrap();
        // Another implementation broke it (age rule) and took its own.
        fs::remove_file(&p).unwrap();
        fs::write(&p, b"").unwrap();
        drop(held);
        assert!(p.exists());
    }

    #[test]
    fn a_missing_directory_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/state.json.lock");
        assert!(matches!(
            HeldLock::acquire(&p, quick()),
            Err(JobError::NotFound)
        ));
    }
}
