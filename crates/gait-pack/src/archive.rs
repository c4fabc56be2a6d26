//! Zip archives: a deterministic writer and a strict, bounded reader.
//!
//! # Writing
//!
//! [`write_deterministic`] sorts entries by name and writes them with
//! deflate, the fixed 1980-01-01 timestamp and stable Unix modes, so the
//! same entries always give the same bytes.
//!
//! # Reading hostile archives
//!
//! [`Archive::open`] reads only the central directory and checks every
//! entry before anything is trusted. It refuses (see [`ArchiveError`]):
//!
//! * more than [`Limits::max_entries`] entries;
//! * names that are not plain relative paths: absolute, `..` or `.`
//!   segments, empty segments, backslashes, drive letters, control
//!   characters, non-UTF-8;
//! * directory and symlink entries (by name or by Unix mode) and any other
//!   non-regular file type, encrypted entries, and compression methods
//!   other than stored and deflate;
//! * entries larger than [`Limits::max_entry_bytes`], archives whose entries
//!   add up to more than [`Limits::max_total_bytes`], and entries whose
//!   compression ratio exceeds [`Limits::max_ratio`] (a bomb);
//! * local headers that disagree with the central directory, overlapping
//!   entries, local headers the central directory does not list, and an
//!   end record whose directory size and offset run past the record.
//!
//! Duplicate names (after trimming white space) are not an open error: they
//! are reported by [`Archive::duplicates`], and verifiers treat them as a
//! verification failure. Entry data is only ever streamed in bounded
//! chunks; a CRC mismatch surfaces as an error when the entry is read.
//!
//! [`SharedFile`] reads one open file through clones that each keep their
//! own position, so a cloned [`Archive`] can stream several entries on
//! several threads at once (runpack verification hashes entries that way).

use std::io::{Read, Seek, Write};

use gait_digest::{Sha256Digest, Sha256Hasher};
use zip::CompressionMethod;
use zip::read::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

/// Reading limits. The defaults are documented constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most entries an archive may have.
    pub max_entries: usize,
    /// Largest uncompressed entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest sum of uncompressed entry sizes, in bytes.
    pub max_total_bytes: u64,
    /// Largest uncompressed/compressed ratio for entries over
    /// [`RATIO_CHECK_MIN_BYTES`].
    pub max_ratio: u64,
}

/// Default [`Limits::max_entries`]: Gait artifacts have a handful of
/// entries; 4,096 leaves room for packs with evidence files.
pub const MAX_ENTRIES: usize = 4096;
/// Default [`Limits::max_entry_bytes`]: 4 GiB.
pub const MAX_ENTRY_BYTES: u64 = 4 << 30;
/// Default [`Limits::max_total_bytes`]: 16 GiB.
pub const MAX_TOTAL_BYTES: u64 = 16 << 30;
/// Default [`Limits::max_ratio`]: JSON compresses well, but not 200:1.
pub const MAX_RATIO: u64 = 200;
/// Entries smaller than this are not ratio-checked.
pub const RATIO_CHECK_MIN_BYTES: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_entries: MAX_ENTRIES,
            max_entry_bytes: MAX_ENTRY_BYTES,
            max_total_bytes: MAX_TOTAL_BYTES,
            max_ratio: MAX_RATIO,
        }
    }
}

/// Why an archive could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The bytes are not a readable zip archive at all (bad input).
    #[error("not a readable zip archive: {0}")]
    NotAnArchive(String),
    /// The archive is readable but unsafe or inconsistent (verification
    /// failure).
    #[error("unsafe zip archive: {0}")]
    Unsafe(String),
    /// An entry that was asked for is not there.
    #[error("zip entry not found: {0}")]
    Missing(String),
    /// An I/O error while reading or writing.
    #[error("zip i/o: {0}")]
    Io(String),
}

/// One entry of an opened archive (already checked).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EntryInfo {
    /// The name, exactly as stored.
    pub name: String,
    /// Uncompressed size (as declared).
    pub size: u64,
    /// Compressed size.
    pub compressed_size: u64,
    /// Unix permission bits (0644 when the archive records none).
    pub mode: u32,
    index: usize,
}

/// Whether `name` is a plain relative path: `/`-separated, no empty, `.`
/// or `..` segments, no backslash, drive letter or control character.
pub fn is_safe_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 1024 || name.starts_with('/') {
        return false;
    }
    if name.contains('\\') || name.chars().any(char::is_control) {
        return false;
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2
        && bytes.get(1) == Some(&b':')
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
    {
        return false;
    }
    name.split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

fn unsafe_err(name: &str, why: &str) -> ArchiveError {
    ArchiveError::Unsafe(format!("entry {name:?}: {why}"))
}

/// An opened, checked archive.
///
/// Cloning (when the reader can be cloned, e.g. a [`SharedFile`] or a
/// `Cursor<&[u8]>`) copies the checked index, not the data: clones read
/// entries independently, from their own position, without re-checking.
#[derive(Clone)]
pub struct Archive<R: Read + Seek> {
    inner: ZipArchive<R>,
    entries: Vec<EntryInfo>,
    duplicates: Vec<String>,
    limits: Limits,
}

impl<R: Read + Seek> std::fmt::Debug for Archive<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("entries", &self.entries.len())
            .field("duplicates", &self.duplicates)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> Archive<R> {
    /// Opens `reader` with the default limits.
    pub fn open(reader: R) -> Result<Self, ArchiveError> {
        Self::open_with(reader, Limits::default())
    }

    /// Opens `reader`, checking every entry against `limits`.
    pub fn open_with(mut reader: R, limits: Limits) -> Result<Self, ArchiveError> {
        // Walk the central directory ourselves first: it bounds the entry
        // count before any index is built, and it lists every copy of a
        // name (the zip crate keeps one entry per name).
        let central = central_directory(&mut reader);
        let raw_names = central.as_ref().and_then(|c| c.names.as_ref());
        if let Some(names) = raw_names {
            if names.len() > limits.max_entries {
                return Err(ArchiveError::Unsafe(format!(
                    "{} entries (at most {} allowed)",
                    names.len(),
                    limits.max_entries
                )));
            }
        }
        reader
            .seek(std::io::SeekFrom::Start(0))
            .map_err(|e| ArchiveError::Io(e.to_string()))?;
        let mut inner =
            ZipArchive::new(reader).map_err(|e| ArchiveError::NotAnArchive(e.to_string()))?;
        // The zip crate reads the directory by its entry count and does not
        // hold the end record's size to it; a directory that would run
        // past the end record is an inconsistent header.
        if central.as_ref().is_some_and(|c| c.overruns) {
            return Err(ArchiveError::Unsafe(
                "central directory size and offset overrun the end record".to_owned(),
            ));
        }
        if inner.len() > limits.max_entries {
            return Err(ArchiveError::Unsafe(format!(
                "{} entries (at most {} allowed)",
                inner.len(),
                limits.max_entries
            )));
        }
        let mut entries = Vec::with_capacity(inner.len());
        let mut total: u64 = 0;
        for index in 0..inner.len() {
            let data = inner
                .by_index_data(index)
                .map_err(|e| ArchiveError::Unsafe(format!("entry {index}: {e}")))?;
            let name = std::str::from_utf8(data.name_raw())
                .map_err(|_| ArchiveError::Unsafe(format!("entry {index}: name is not UTF-8")))?
                .to_owned();
            if !is_safe_name(&name) {
                return Err(unsafe_err(&name, "not a plain relative path"));
            }
            if data.is_dir() || name.ends_with('/') {
                return Err(unsafe_err(&name, "directory entry"));
            }
            if data.is_symlink() {
                return Err(unsafe_err(&name, "symbolic link"));
            }
            // Any other file type than a regular file (a directory, FIFO
            // or device by its Unix mode, whatever the name says).
            if let Some(kind) = data.unix_mode().map(|m| m & 0o170_000) {
                if kind == 0o040_000 {
                    return Err(unsafe_err(&name, "directory entry"));
                }
                if kind != 0 && kind != 0o100_000 {
                    return Err(unsafe_err(&name, "not a regular file"));
                }
            }
            if data.encrypted() {
                return Err(unsafe_err(&name, "encrypted"));
            }
            match data.compression() {
                CompressionMethod::Stored | CompressionMethod::Deflated => {}
                other => {
                    return Err(unsafe_err(
                        &name,
                        &format!("unsupported compression method {other:?}"),
                    ));
                }
            }
            let size = data.size();
            let compressed = data.compressed_size();
            if size > limits.max_entry_bytes {
                return Err(unsafe_err(
                    &name,
                    &format!("{size} bytes (at most {} allowed)", limits.max_entry_bytes),
                ));
            }
            if size > RATIO_CHECK_MIN_BYTES && size / compressed.max(1) > limits.max_ratio {
                return Err(unsafe_err(
                    &name,
                    &format!("compression ratio above {}:1", limits.max_ratio),
                ));
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                return Err(ArchiveError::Unsafe(format!(
                    "entries total more than {} bytes",
                    limits.max_total_bytes
                )));
            }
            let mode = data.unix_mode().map_or(0o644, |m| m & 0o7777);
            entries.push(EntryInfo {
                name,
                size,
                compressed_size: compressed,
                mode,
                index,
            });
        }
        // The zip crate keeps one entry per name; the raw central directory
        // still lists every copy.
        let mut trimmed: Vec<&str> = match raw_names {
            Some(names) => names.iter().map(|n| n.trim()).collect(),
            None => entries.iter().map(|e| e.name.trim()).collect(),
        };
        trimmed.sort_unstable();
        let mut duplicates: Vec<String> = trimmed
            .windows(2)
            .filter_map(|w| match w {
                [a, b] if a == b => Some((*a).to_owned()),
                _ => None,
            })
            .collect();
        duplicates.dedup();
        if duplicates.is_empty() && inner.has_duplicate_names() {
            duplicates.push("<unlisted>".to_owned());
        }
        if duplicates.is_empty() {
            inner
                .validate_header_consistency()
                .map_err(|e| ArchiveError::Unsafe(e.to_string()))?;
        }
        Ok(Self {
            inner,
            entries,
            duplicates,
            limits,
        })
    }

    /// The entries, in archive order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// Names that occur more than once (after trimming), sorted.
    pub fn duplicates(&self) -> &[String] {
        &self.duplicates
    }

    /// The entry called exactly `name`.
    pub fn entry(&self, name: &str) -> Option<&EntryInfo> {
        self.entries.iter().find(|e| e.name == name)
    }

    fn stream(
        &mut self,
        name: &str,
        limit: u64,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<u64, ArchiveError> {
        let info = self
            .entry(name)
            .cloned()
            .ok_or_else(|| ArchiveError::Missing(name.to_owned()))?;
        let limit = limit.min(self.limits.max_entry_bytes);
        let mut file = self
            .inner
            .by_index(info.index)
            .map_err(|e| unsafe_err(name, &e.to_string()))?;
        // 64 KiB chunks; small entries get a buffer just large enough to
        // see the end (and anything past the declared size).
        let cap =
            usize::try_from(info.size.saturating_add(1)).map_or(64 * 1024, |n| n.min(64 * 1024));
        let mut buf = vec![0u8; cap];
        let mut read: u64 = 0;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unsafe_err(name, &e.to_string())),
            };
            read += n as u64;
            if read > limit {
                return Err(unsafe_err(name, &format!("more than {limit} bytes")));
            }
            sink(buf.get(..n).unwrap_or_default());
        }
        if read != info.size {
            return Err(unsafe_err(name, "size differs from the central directory"));
        }
        Ok(read)
    }

    /// Reads a whole entry, at most `limit` bytes (CRC checked).
    pub fn read(&mut self, name: &str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
        let mut out = Vec::new();
        self.stream(name, limit, |chunk| out.extend_from_slice(chunk))?;
        Ok(out)
    }

    /// Streams an entry through SHA-256 in bounded memory (CRC checked);
    /// returns the digest and the size.
    pub fn sha256(&mut self, name: &str) -> Result<(Sha256Digest, u64), ArchiveError> {
        let mut hasher = Sha256Hasher::new();
        let n = self.stream(name, u64::MAX, |chunk| hasher.update(chunk))?;
        Ok((hasher.finalize(), n))
    }
}

/// A read-only file whose clones share one open file but each keep their
/// own position, reading with positional I/O (`pread`): clones can read
/// concurrently from threads, and all of them read the very file that was
/// opened (no second `open` of the path, which could name another file by
/// then). Small reads go through a 16 KiB buffer per clone.
#[derive(Debug)]
pub struct SharedFile {
    file: std::sync::Arc<std::fs::File>,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`; `buf` holds valid bytes only.
    buf_at: u64,
}

impl SharedFile {
    const BUF: usize = 16 * 1024;

    /// Wraps an open file (its length is read once, now).
    pub fn new(file: std::fs::File) -> std::io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file: std::sync::Arc::new(file),
            len,
            pos: 0,
            buf: Vec::new(),
            buf_at: 0,
        })
    }

    /// Opens `path` read-only.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        Self::new(std::fs::File::open(path)?)
    }

    /// The file's length when it was wrapped.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty when it was wrapped.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether clones can read concurrently from several threads (the
    /// target has positional reads).
    pub const fn concurrent() -> bool {
        cfg!(any(unix, windows))
    }
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, out: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, out, at)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, out: &mut [u8], at: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, out, at)
}

#[cfg(not(any(unix, windows)))]
fn read_at(mut file: &std::fs::File, out: &mut [u8], at: u64) -> std::io::Result<usize> {
    // No positional reads: seek and read on the shared handle. Clones used
    // from several threads may then interfere; such targets read one
    // entry at a time (see `SharedFile::concurrent`).
    file.seek(std::io::SeekFrom::Start(at))?;
    file.read(out)
}

impl Clone for SharedFile {
    /// Another reader of the same open file, at the same position, with
    /// an empty buffer of its own.
    fn clone(&self) -> Self {
        Self {
            file: std::sync::Arc::clone(&self.file),
            len: self.len,
            pos: self.pos,
            buf: Vec::new(),
            buf_at: 0,
        }
    }
}

impl Read for SharedFile {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        // Served from the buffer?
        if let Some(start) = self.pos.checked_sub(self.buf_at) {
            if let Some(avail) = usize::try_from(start)
                .ok()
                .and_then(|s| self.buf.get(s..))
                .filter(|a| !a.is_empty())
            {
                let n = avail.len().min(out.len());
                out.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(avail.get(..n).unwrap_or_default());
                self.pos += n as u64;
                return Ok(n);
            }
        }
        // Large reads bypass the buffer.
        if out.len() >= Self::BUF {
            let n = read_at(&self.file, out, self.pos)?;
            self.pos += n as u64;
            return Ok(n);
        }
        self.buf.resize(Self::BUF, 0);
        let n = read_at(&self.file, &mut self.buf, self.pos)?;
        self.buf.truncate(n);
        self.buf_at = self.pos;
        let m = n.min(out.len());
        out.get_mut(..m)
            .unwrap_or_default()
            .copy_from_slice(self.buf.get(..m).unwrap_or_default());
        self.pos += m as u64;
        Ok(m)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        use std::io::SeekFrom;
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

fn le16(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ])))
}

/// The largest central directory walked directly.
const MAX_CENTRAL_DIRECTORY_BYTES: u64 = 64 << 20;

/// What the plain (non-zip64) end of central directory record says.
struct CentralDirectory {
    /// Every name in the directory, in order; `None` when the directory
    /// could not be walked (too large, or not a chain of central headers):
    /// the zip crate then decides.
    names: Option<Vec<String>>,
    /// The record's offset + size reach past the record itself.
    overruns: bool,
}

/// Reads the end of central directory record and walks the directory it
/// points to. `None` when there is no plain (non-zip64) record.
fn central_directory<R: Read + Seek>(r: &mut R) -> Option<CentralDirectory> {
    use std::io::SeekFrom;
    let len = r.seek(SeekFrom::End(0)).ok()?;
    let tail_len = len.min(22 + 65_535);
    let tail_start = len - tail_len;
    r.seek(SeekFrom::Start(tail_start)).ok()?;
    let mut tail = vec![0u8; usize::try_from(tail_len).ok()?];
    r.read_exact(&mut tail).ok()?;
    let eocd = (0..=tail.len().checked_sub(22)?)
        .rev()
        .find(|&i| tail.get(i..i + 4) == Some(&[0x50, 0x4b, 0x05, 0x06][..]))?;
    let count = le16(&tail, eocd + 10)?;
    let size = le32(&tail, eocd + 12)?;
    let offset = le32(&tail, eocd + 16)?;
    if count == 0xFFFF || offset == 0xFFFF_FFFF || size == 0xFFFF_FFFF {
        return None;
    }
    let eocd_at = tail_start + eocd as u64;
    let overruns = offset + size > eocd_at;
    let names = if overruns || size > MAX_CENTRAL_DIRECTORY_BYTES {
        None
    } else {
        walk_names(r, offset, size)
    };
    Some(CentralDirectory { names, overruns })
}

/// The names of the central headers in `size` bytes at `offset`.
fn walk_names<R: Read + Seek>(r: &mut R, offset: u64, size: u64) -> Option<Vec<String>> {
    r.seek(std::io::SeekFrom::Start(offset)).ok()?;
    let mut cd = vec![0u8; usize::try_from(size).ok()?];
    r.read_exact(&mut cd).ok()?;
    let mut names = Vec::new();
    let mut at = 0usize;
    while at + 46 <= cd.len() {
        if cd.get(at..at + 4) != Some(&[0x50, 0x4b, 0x01, 0x02][..]) {
            return None;
        }
        let n = le16(&cd, at + 28)?;
        let m = le16(&cd, at + 30)?;
        let k = le16(&cd, at + 32)?;
        let name = cd.get(at + 46..at + 46 + n)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + n + m + k;
    }
    Some(names)
}

/// One entry to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The name (`/`-separated relative path).
    pub name: String,
    /// The contents.
    pub data: Vec<u8>,
    /// Unix permission bits: any execute bit gives 0755, else 0644.
    pub mode: u32,
}

impl NewEntry {
    /// A regular 0644 entry.
    pub fn file(name: &str, data: Vec<u8>) -> Self {
        Self {
            name: name.to_owned(),
            data,
            mode: 0o644,
        }
    }
}

/// Writes `entries` as a deterministic zip: sorted by name, deflated, with
/// the 1980-01-01 timestamp and 0644/0755 modes. Names must be safe (see
/// [`is_safe_name`]) and unique.
pub fn write_deterministic<W: Write + Seek>(
    out: W,
    mut entries: Vec<NewEntry>,
) -> Result<W, ArchiveError> {
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    for pair in entries.windows(2) {
        if let [a, b] = pair {
            if a.name == b.name {
                return Err(ArchiveError::Unsafe(format!(
                    "duplicate entry {:?}",
                    a.name
                )));
            }
        }
    }
    let mut zip = ZipWriter::new(out);
    for e in &entries {
        if !is_safe_name(&e.name) {
            return Err(unsafe_err(&e.name, "not a plain relative path"));
        }
        let mode = if e.mode & 0o111 != 0 { 0o755 } else { 0o644 };
        let options = SimpleFileOptions::DEFAULT
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode)
            .large_file(e.data.len() as u64 >= u64::from(u32::MAX));
        zip.start_file(e.name.as_str(), options)
            .map_err(|err| ArchiveError::Io(err.to_string()))?;
        zip.write_all(&e.data)
            .map_err(|err| ArchiveError::Io(err.to_string()))?;
    }
    zip.finish().map_err(|e| ArchiveError::Io(e.to_string()))
}

/// [`write_deterministic`] into memory.
pub fn write_deterministic_to_vec(entries: Vec<NewEntry>) -> Result<Vec<u8>, ArchiveError> {
    Ok(write_deterministic(std::io::Cursor::new(Vec::new()), entries)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        write_deterministic_to_vec(
            entries
                .iter()
                .map(|(n, d)| NewEntry::file(n, d.to_vec()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_and_determinism() {
        let a = zip_of(&[("b.json", b"{}"), ("a.jsonl", b"x\n")]);
        let b = zip_of(&[("a.jsonl", b"x\n"), ("b.json", b"{}")]);
        assert_eq!(a, b);
        let mut ar = Archive::open(std::io::Cursor::new(a)).unwrap();
        let names: Vec<_> = ar.entries().iter().map(|e| e.name.clone()).collect();
        assert_eq!(names, vec!["a.jsonl", "b.json"]);
        assert_eq!(ar.read("b.json", 10).unwrap(), b"{}");
        assert_eq!(ar.sha256("a.jsonl").unwrap().0, gait_digest::sha256(b"x\n"));
        assert!(ar.read("b.json", 1).is_err());
        assert!(matches!(ar.read("nope", 10), Err(ArchiveError::Missing(_))));
        assert!(ar.duplicates().is_empty());
        assert_eq!(ar.entry("a.jsonl").unwrap().mode, 0o644);
    }

    #[test]
    fn names() {
        for ok in ["a", "a/b.json", "source/runpack.zip", "é/ü"] {
            assert!(is_safe_name(ok), "{ok}");
        }
        for bad in [
            "", "/abs", "a/../b", "..", "./a", "a//b", "a\\b", "C:x", "a/", "a\u{0}b", "a/./b",
        ] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        assert!(write_deterministic_to_vec(vec![NewEntry::file("../x", vec![])]).is_err());
        assert!(
            write_deterministic_to_vec(vec![
                NewEntry::file("a", vec![]),
                NewEntry::file("a", vec![])
            ])
            .is_err()
        );
    }

    #[test]
    fn garbage_is_not_an_archive() {
        assert!(matches!(
            Archive::open(std::io::Cursor::new(b"nope".to_vec())),
            Err(ArchiveError::NotAnArchive(_))
        ));
        assert!(matches!(
            Archive::open(std::io::Cursor::new(Vec::new())),
            Err(ArchiveError::NotAnArchive(_))
        ));
    }

    #[test]
    fn bombs_and_limits() {
        let big = vec![0u8; 8 << 20];
        let z = zip_of(&[("zeros", &big)]);
        assert!(matches!(
            Archive::open(std::io::Cursor::new(z.clone())),
            Err(ArchiveError::Unsafe(_))
        ));
        let mut lenient = Limits {
            max_ratio: u64::MAX,
            ..Limits::default()
        };
        assert!(Archive::open_with(std::io::Cursor::new(z.clone()), lenient).is_ok());
        lenient.max_entry_bytes = 1024;
        assert!(Archive::open_with(std::io::Cursor::new(z), lenient).is_err());
        let many: Vec<NewEntry> = (0..5000)
            .map(|i| NewEntry::file(&format!("f{i}"), vec![]))
            .collect();
        let z = write_deterministic_to_vec(many).unwrap();
        assert!(matches!(
            Archive::open(std::io::Cursor::new(z)),
            Err(ArchiveError::Unsafe(_))
        ));
    }

    #[test]
    fn shared_file_clones_read_independently() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let mut a = SharedFile::open(&path).unwrap();
        assert_eq!(a.len(), 100_000);
        let mut small = [0u8; 10];
        a.seek(std::io::SeekFrom::Start(50)).unwrap();
        a.read_exact(&mut small).unwrap();
        assert_eq!(&small[..], &data[50..60]);
        let mut b = a.clone();
        let mut big = vec![0u8; 40_000];
        b.read_exact(&mut big).unwrap();
        assert_eq!(big, &data[60..40_060]);
        a.read_exact(&mut small).unwrap();
        assert_eq!(&small[..], &data[60..70]);
        a.seek(std::io::SeekFrom::End(-5)).unwrap();
        let mut rest = Vec::new();
        a.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &data[99_995..]);
        assert!(a.seek(std::io::SeekFrom::Current(-200_000)).is_err());
        let z = zip_of(&[("a.json", b"{}"), ("b.json", b"[]")]);
        std::fs::write(&path, &z).unwrap();
        let ar = Archive::open(SharedFile::open(&path).unwrap()).unwrap();
        let mut c = ar.clone();
        let mut d = ar;
        assert_eq!(c.read("b.json", 10).unwrap(), b"[]");
        assert_eq!(d.read("a.json", 10).unwrap(), b"{}");
    }

    #[test]
    fn non_regular_files_and_lying_end_records_fail() {
        // A FIFO by its Unix mode, and an end record whose directory size
        // runs past the record.
        let mut z = zip_of(&[("a.json", b"{}")]);
        let cd = z
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        let mut fifo = z.clone();
        fifo[cd + 38..cd + 42].copy_from_slice(&(0o010_644u32 << 16).to_le_bytes());
        assert!(matches!(
            Archive::open(std::io::Cursor::new(fifo)),
            Err(ArchiveError::Unsafe(m)) if m.contains("not a regular file")
        ));
        let eocd = z.len() - 22;
        z[eocd + 12..eocd + 16].copy_from_slice(&0x00FF_FFFFu32.to_le_bytes());
        assert!(matches!(
            Archive::open(std::io::Cursor::new(z)),
            Err(ArchiveError::Unsafe(m)) if m.contains("overrun")
        ));
    }

    #[test]
    fn truncated_and_flipped_archives_fail() {
        let z = zip_of(&[("a.json", b"{\"k\":\"some content here\"}")]);
        for cut in [z.len() / 2, z.len() - 5] {
            let r = Archive::open(std::io::Cursor::new(z.get(..cut).unwrap().to_vec()));
            assert!(r.is_err());
        }
        // A flipped byte in the compressed data is caught by the CRC or the
        // inflater when the entry is read.
        let mut bad = z.clone();
        let pos = 30 + "a.json".len() + 9 + 2;
        bad[pos] ^= 0xff;
        let outcome =
            Archive::open(std::io::Cursor::new(bad)).and_then(|mut a| a.read("a.json", 1 << 20));
        assert!(outcome.is_err());
    }
}
