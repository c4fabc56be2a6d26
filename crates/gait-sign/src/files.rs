//! Key files on disk, and the atomic write every Gait artifact uses.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::key::SigningKey;
use crate::role::Role;

/// The largest key file read (a key is under 100 bytes of text). Bounds
/// memory when a key path points somewhere unexpected (`/dev/zero`).
pub const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Mode of private key files and of every file holding secrets.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of directories Gait creates for keys and artifacts.
pub const PRIVATE_DIR_MODE: u32 = 0o750;

/// Opens `path` for reading only if it is a regular file (after following
/// symlinks). A device (`/dev/zero`), a FIFO, a socket or a directory is
/// refused with `not a regular file` before it is opened, so that opening
/// a FIFO without a writer cannot block and an endless device cannot be
/// read; the open handle is checked again.
pub fn open_regular_file<P: AsRef<Path>>(path: P) -> std::io::Result<fs::File> {
    let path = path.as_ref();
    let not_regular = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (devices, FIFOs, sockets and directories are refused)",
        )
    };
    if !fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Reads a regular file ([`open_regular_file`]) of at most `limit` bytes.
/// A larger file is an [`std::io::ErrorKind::FileTooLarge`] error naming
/// the limit; memory never grows past `limit + 1` bytes.
pub fn read_regular_file_limited<P: AsRef<Path>>(path: P, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular_file(path)?;
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(buf)
}

/// The permission bits of a private key file that give group or others
/// any access.
pub const PRIVATE_KEY_FORBIDDEN_MODE_BITS: u32 = 0o077;

/// Refuses a private key file that group or others may read or write
/// (`mode & 0o077 != 0`, for example 0644, 0640 or 0666), with a message
/// that names the file and the fix (`chmod 600 <file>`). Other platforms
/// than Unix have no such mode and pass.
pub fn check_private_key_mode(path: &Path) -> Result<(), Error> {
    let meta = fs::metadata(path).map_err(|source| Error::KeyRead {
        path: path.to_path_buf(),
        source,
    })?;
    check_mode_of(path, &meta)
}

#[cfg(unix)]
fn check_mode_of(path: &Path, meta: &fs::Metadata) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & PRIVATE_KEY_FORBIDDEN_MODE_BITS != 0 {
        return Err(Error::InsecureKeyFile {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode_of(_path: &Path, _meta: &fs::Metadata) -> Result<(), Error> {
    Ok(())
}

/// Reads a key file: a regular file of at most [`MAX_KEY_FILE_BYTES`] of
/// UTF-8 text. With `private`, the file must not be accessible by group or
/// others ([`check_private_key_mode`]).
pub(crate) fn read_key_file(path: &Path, private: bool) -> Result<Zeroizing<String>, Error> {
    let io_err = |source: std::io::Error| Error::KeyRead {
        path: path.to_path_buf(),
        source,
    };
    let file = open_regular_file(path).map_err(io_err)?;
    if private {
        let meta = file.metadata().map_err(io_err)?;
        check_mode_of(path, &meta)?;
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(128));
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io_err)?;
    if buf.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(Error::InvalidKey {
            source_name: format!("path:{}", path.display()),
            reason: format!("key file larger than {MAX_KEY_FILE_BYTES} bytes"),
        });
    }
    let text = std::str::from_utf8(&buf).map_err(|_| Error::InvalidKey {
        source_name: format!("path:{}", path.display()),
        reason: "key file is not UTF-8 text".to_owned(),
    })?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Creates `dir` and any missing parents with mode 0750.
pub fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir).map_err(|source| Error::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Temporary files of [`write_file_atomic`] are named
/// `.<name>.tmp-<pid>-<16 hex>` beside the target, so a write cut short
/// (the process killed between create and rename) leaves a file that can be
/// recognised, attributed to its process and removed.
pub const TEMP_MARKER: &str = ".tmp-";

/// A temporary file older than this is removed by the next write of the
/// same target even if its process id is in use (ids are reused).
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// At most this many directory entries are examined per write when looking
/// for stale temporary files (bounds the cost in large directories).
const MAX_TEMP_SCAN_ENTRIES: usize = 10_000;

fn temp_name(path: &Path) -> Result<PathBuf, Error> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| Error::Random(std::io::Error::other(e)))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(path.with_file_name(format!(
        ".{name}{TEMP_MARKER}{}-{}",
        std::process::id(),
        gait_digest::hex(&rnd)
    )))
}

/// The process id of a temporary file name of `target_name`, if it is one.
fn temp_owner(file_name: &str, target_name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .strip_prefix(target_name)?
        .strip_prefix(TEMP_MARKER)?;
    let (pid, rnd) = rest.split_once('-')?;
    let hex = |s: &str| s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(rnd) || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` is certainly gone (only answerable where `/proc`
/// lists processes).
fn process_gone(pid: u32) -> bool {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        return !Path::new("/proc").join(pid.to_string()).exists();
    }
    false
}

/// Removes temporary files of earlier writes of `path` (see
/// [`TEMP_MARKER`]) whose process is gone, or that are older than
/// [`STALE_TEMP_AGE`]. Temporary files of this process younger than that
/// belong to writes in progress and are kept. Best effort: errors are
/// ignored.
pub fn remove_stale_temps(path: &Path) {
    let Some(target) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.take(MAX_TEMP_SCAN_ENTRIES).flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| temp_owner(n, target)) else {
            continue;
        };
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let old = meta
            .modified()
            .ok()
            .and_then(|t| std::time::SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > STALE_TEMP_AGE);
        if old || (pid != me && process_gone(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn sync_parent(path: &Path) {
    // Best effort: make the rename durable. Some filesystems refuse to
    // fsync a directory; the data itself is already synced.
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// complete new one, never a partial write: a temporary file in the same
/// directory is written with `mode`, synced, then moved into place.
///
/// Without `overwrite`, an existing `path` is an error and is left
/// untouched (the move is a hard link, which cannot replace a file, so the
/// check has no race).
///
/// The temporary file is named `.<name>.tmp-<pid>-<random>`. When an
/// existing `path` is overwritten, temporary files of `path` left by writes
/// that were killed are removed first ([`remove_stale_temps`]).
pub fn write_file_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
) -> Result<(), Error> {
    let werr = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    // Rewriting a file (state, registries, a fixed trace path) sweeps the
    // temporaries earlier killed writes of it left. A first write of a new
    // file skips the directory scan, so writers of many uniquely named
    // files (trace directories) pay nothing; their temporaries stay
    // findable by name.
    if overwrite && fs::symlink_metadata(path).is_ok() {
        remove_stale_temps(path);
    }
    let tmp = temp_name(path)?;
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let result = (|| {
        let mut file = options.open(&tmp).map_err(werr)?;
        file.write_all(bytes).map_err(werr)?;
        file.sync_all().map_err(werr)?;
        drop(file);
        if overwrite {
            fs::rename(&tmp, path).map_err(werr)
        } else {
            match fs::hard_link(&tmp, path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(Error::AlreadyExists {
                        what: "file",
                        path: path.to_path_buf(),
                    })
                }
                Err(e) => Err(werr(e)),
            }
        }
    })();
    // After a rename the temporary name is gone; after a link (or an error)
    // it must be removed.
    let _ = fs::remove_file(&tmp);
    if result.is_ok() {
        sync_parent(path);
    }
    result
}

/// The files written by [`write_key_pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    /// `<dir>/<prefix>_private.key`
    pub private_key_path: PathBuf,
    /// `<dir>/<prefix>_public.key`
    pub public_key_path: PathBuf,
}

/// Writes `<dir>/<prefix>_private.key` and `<dir>/<prefix>_public.key`, each
/// the key text plus a newline, mode 0600, atomically; `dir` is created with
/// mode 0750 if missing.
///
/// Without `overwrite`, nothing is written when either file exists. The
/// prefix must be a plain file-name fragment (no path separators).
pub fn write_key_pair<R: Role>(
    dir: &Path,
    prefix: &str,
    key: &SigningKey<R>,
    overwrite: bool,
) -> Result<KeyPairFiles, Error> {
    let prefix = prefix.trim();
    if prefix.is_empty() {
        return Err(Error::EmptyPrefix);
    }
    if prefix.contains(['/', '\\', '\0']) || prefix == "." || prefix == ".." {
        return Err(Error::InvalidPrefix(prefix.to_owned()));
    }
    if dir.as_os_str().is_empty() {
        return Err(Error::EmptyOutDir);
    }
    create_private_dir(dir)?;
    let files = KeyPairFiles {
        private_key_path: dir.join(format!("{prefix}_private.key")),
        public_key_path: dir.join(format!("{prefix}_public.key")),
    };
    if !overwrite {
        for (what, path) in [
            ("private key", &files.private_key_path),
            ("public key", &files.public_key_path),
        ] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(Error::AlreadyExists {
                    what,
                    path: path.clone(),
                });
            }
        }
    }
    let mut private = Zeroizing::new(Vec::with_capacity(89));
    private.extend_from_slice(key.to_private_text().as_bytes());
    private.push(b'\n');
    write_file_atomic(
        &files.private_key_path,
        &private,
        PRIVATE_FILE_MODE,
        overwrite,
    )
    .map_err(|e| match e {
        Error::AlreadyExists { path, .. } => Error::AlreadyExists {
            what: "private key",
            path,
        },
        other => other,
    })?;
    let public = format!("{}\n", key.verifying_key().to_public_text());
    if let Err(e) = write_file_atomic(
        &files.public_key_path,
        public.as_bytes(),
        PRIVATE_FILE_MODE,
        overwrite,
    ) {
        if !overwrite {
            // Do not leave half a pair behind.
            let _ = fs::remove_file(&files.private_key_path);
        }
        return Err(match e {
            Error::AlreadyExists { path, .. } => Error::AlreadyExists {
                what: "public key",
                path,
            },
            other => other,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn temp_names_carry_the_pid_and_are_recognised() {
        let tmp = temp_name(Path::new("/x/trace.json")).unwrap();
        let name = tmp.file_name().unwrap().to_str().unwrap().to_owned();
        let prefix = format!(".trace.json.tmp-{}-", std::process::id());
        assert!(name.starts_with(&prefix), "{name}");
        assert_eq!(temp_owner(&name, "trace.json"), Some(std::process::id()));
        assert_eq!(temp_owner(&name, "trace.jso"), None);
        assert_eq!(
            temp_owner(".trace.json.tmp--0123456789abcdef", "trace.json"),
            None
        );
        assert_eq!(
            temp_owner(".trace.json.tmp-12-0123456789abcde", "trace.json"),
            None
        );
        assert_eq!(
            temp_owner("trace.json.tmp-12-0123456789abcdef", "trace.json"),
            None
        );
    }
}
