//! An exclusive OS lock on a lock file, released when dropped (also when
//! the process dies, so a killed writer never blocks the next one).

use std::path::Path;
use std::time::{Duration, Instant};

const RETRY: Duration = Duration::from_millis(10);

pub(crate) struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    /// Takes the lock on `path` (created with mode 0600), waiting at most
    /// `timeout` for another holder.
    pub(crate) fn acquire(path: &Path, timeout: Duration) -> std::io::Result<FileLock> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(gait_sign::PRIVATE_FILE_MODE);
        }
        let file = options.open(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("open lock {}: {e}", path.display()))
        })?;
        let deadline = Instant::now() + timeout;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("timed out waiting for lock {}", path.display()),
                        ));
                    }
                    std::thread::sleep(RETRY);
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("lock {}: {e}", path.display()),
                    ));
                }
            }
        }
    }
}
