//! Offline verification of a journal directory.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use gait_sign::{Trace, VerifyingKey};

use super::checkpoint::{CHECKPOINTS_FILE, Checkpoint, line_digest, split_lines};
use super::format::{self, GENESIS, Tail};
use super::{JournalError, MAX_SEGMENT_BYTES, TornTail, list_segments, read_segment};
use crate::verify::{SignatureStatus, verify_trace_bytes};

/// What kind of problem verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Bytes that are not a whole record where records must be (an edited
    /// byte, a bad segment header).
    Corrupted,
    /// Records are missing between two records (their sequence numbers
    /// skip).
    Deleted,
    /// A record is out of order.
    Reordered,
    /// A record appears twice.
    Duplicated,
    /// Fewer records (or segments) than a signed checkpoint covers.
    Truncated,
    /// A record links to a different predecessor than the one before it
    /// (a record replaced, or the chain rewritten).
    ChainBroken,
    /// A record's trace signature does not verify.
    BadSignature,
    /// A checkpoint is malformed, its signature does not verify, its chain
    /// to the previous checkpoint is broken, or it disagrees with the
    /// records.
    BadCheckpoint,
}

impl ProblemKind {
    /// `corrupted`, `deleted`, `reordered`, `duplicated`, `truncated`,
    /// `chain_broken`, `bad_signature`, `bad_checkpoint`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Corrupted => "corrupted",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Duplicated => "duplicated",
            ProblemKind::Truncated => "truncated",
            ProblemKind::ChainBroken => "chain_broken",
            ProblemKind::BadSignature => "bad_signature",
            ProblemKind::BadCheckpoint => "bad_checkpoint",
        }
    }
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalProblem {
    /// What kind.
    pub kind: ProblemKind,
    /// The file (segment or `checkpoints.jsonl`).
    pub path: PathBuf,
    /// The byte offset in it.
    pub offset: u64,
    /// The record's sequence number, when it is about one record.
    pub seq: Option<u64>,
    /// Details.
    pub detail: String,
}

/// What [`verify_journal`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct JournalReport {
    /// Whole records read.
    pub records: u64,
    /// Segment files.
    pub segments: u64,
    /// Checkpoints read.
    pub checkpoints: u64,
    /// Records the last valid checkpoint covers (those after it are
    /// protected by their own signatures and the chain only: deleting them
    /// from the end is not detectable).
    pub covered_records: u64,
    /// Problems, in file order.
    pub problems: Vec<JournalProblem>,
    /// A torn tail at the end of the last segment (what a crash leaves
    /// before the journal is reopened; none of its records was
    /// acknowledged). Not a problem unless it cuts into covered records,
    /// which is then reported as [`ProblemKind::Truncated`].
    pub torn_tail: Option<TornTail>,
}

impl JournalReport {
    /// No problems.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Meta {
    path_index: usize,
    offset: u64,
    seq: u64,
    prev: [u8; 32],
    link: [u8; 32],
}

/// Verifies the journal in `dir` offline: every record's trace signature
/// with `key`, every chain link, every checkpoint signature and its chain,
/// and that the records agree with the checkpoints (heads, counts,
/// segments). Problems are reported, not returned as errors; an error
/// means the directory could not be read.
pub fn verify_journal(
    dir: &Path,
    key: &VerifyingKey<Trace>,
) -> Result<JournalReport, JournalError> {
    let mut report = JournalReport::default();
    let mut problems = Vec::new();
    let mut problem = |kind, path: &Path, offset, seq, detail: String| {
        problems.push(JournalProblem {
            kind,
            path: path.to_path_buf(),
            offset,
            seq,
            detail,
        });
    };
    let meta = std::fs::symlink_metadata(dir).map_err(super::io("open", dir))?;
    if !meta.is_dir() {
        return Err(super::io("open", dir)(std::io::Error::other(
            "not a directory",
        )));
    }

    // Checkpoints.
    let cp_path = dir.join(CHECKPOINTS_FILE);
    let cp_bytes = match gait_sign::read_regular_file_limited(&cp_path, MAX_SEGMENT_BYTES) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(super::io("read", &cp_path)(e)),
    };
    let mut checkpoints: Vec<(u64, Checkpoint)> = Vec::new();
    match &cp_bytes {
        None => problem(
            ProblemKind::BadCheckpoint,
            &cp_path,
            0,
            None,
            "no checkpoints file".into(),
        ),
        Some(bytes) => {
            let (lines, torn) = split_lines(bytes);
            let mut prev = GENESIS;
            let mut last_count = 0u64;
            for (offset, line) in &lines {
                match Checkpoint::parse_line(line, key) {
                    Ok(cp) => {
                        if cp.prev_checkpoint != gait_digest::hex(&prev) {
                            problem(
                                ProblemKind::BadCheckpoint,
                                &cp_path,
                                *offset,
                                None,
                                "checkpoint does not link to the one before it (a checkpoint deleted, reordered or inserted)".into(),
                            );
                        }
                        if cp.record_count < last_count {
                            problem(
                                ProblemKind::BadCheckpoint,
                                &cp_path,
                                *offset,
                                None,
                                format!(
                                    "record count {} below the previous checkpoint's {last_count}",
                                    cp.record_count
                                ),
                            );
                        }
                        last_count = last_count.max(cp.record_count);
                        checkpoints.push((*offset, cp));
                    }
                    Err(p) => problem(
                        ProblemKind::BadCheckpoint,
                        &cp_path,
                        *offset,
                        None,
                        p.to_string(),
                    ),
                }
                prev = line_digest(line);
            }
            if torn > 0 {
                problem(
                    ProblemKind::BadCheckpoint,
                    &cp_path,
                    (bytes.len() - torn) as u64,
                    None,
                    format!("{torn} bytes after the last whole checkpoint line"),
                );
            }
            if lines.is_empty() && torn == 0 {
                problem(
                    ProblemKind::BadCheckpoint,
                    &cp_path,
                    0,
                    None,
                    "no checkpoint".into(),
                );
            }
        }
    }
    report.checkpoints = checkpoints.len() as u64;
    report.covered_records = checkpoints
        .iter()
        .map(|(_, c)| c.record_count)
        .max()
        .unwrap_or(0);
    // Heads to compare: record `count - 1` must have link `head`.
    let mut heads: BTreeMap<u64, Vec<(u64, [u8; 32])>> = BTreeMap::new();
    for (offset, cp) in &checkpoints {
        match cp.head_bytes() {
            Some(h) if cp.record_count > 0 => heads
                .entry(cp.record_count - 1)
                .or_default()
                .push((*offset, h)),
            Some(h) if h == GENESIS => {}
            _ => problem(
                ProblemKind::BadCheckpoint,
                &cp_path,
                *offset,
                None,
                "checkpoint head is not a digest".into(),
            ),
        }
    }

    // Segments: structure and signatures.
    let segments = list_segments(dir)?;
    report.segments = segments.len() as u64;
    let paths: Vec<PathBuf> = segments.iter().map(|(_, p)| p.clone()).collect();
    let mut frames: Vec<Meta> = Vec::new();
    let mut seg_counts: BTreeMap<String, (u64, u64)> = BTreeMap::new(); // name -> (first_seq, records)
    let n = segments.len();
    for (pos, (index, path)) in segments.iter().enumerate() {
        if *index != pos as u64 + 1 {
            problem(
                ProblemKind::Truncated,
                path,
                0,
                None,
                format!("segment {} is missing (segment files deleted)", pos + 1),
            );
        }
        let bytes = read_segment(path)?;
        let first = match format::parse_header(&bytes) {
            Some((hidx, first)) => {
                if hidx != *index {
                    problem(
                        ProblemKind::Corrupted,
                        path,
                        0,
                        None,
                        format!("segment header names segment {hidx}"),
                    );
                }
                first
            }
            None => {
                problem(
                    ProblemKind::Corrupted,
                    path,
                    0,
                    None,
                    "not a gait.trace.journal 1.0.0 segment header".into(),
                );
                u64::MAX
            }
        };
        let mut scan = format::scan(&bytes);
        let mut count = 0u64;
        loop {
            for f in &scan.frames {
                let payload = bytes.get(f.payload.clone()).unwrap_or_default();
                match verify_trace_bytes(payload, key) {
                    Ok(r) if r.status == SignatureStatus::Verified => {}
                    Ok(r) => problem(
                        ProblemKind::BadSignature,
                        path,
                        f.offset,
                        Some(f.seq),
                        r.error.unwrap_or_else(|| "signature not verified".into()),
                    ),
                    Err(e) => problem(
                        ProblemKind::BadSignature,
                        path,
                        f.offset,
                        Some(f.seq),
                        e.to_string(),
                    ),
                }
                frames.push(Meta {
                    path_index: pos,
                    offset: f.offset,
                    seq: f.seq,
                    prev: f.prev,
                    link: f.link,
                });
                count += 1;
            }
            match scan.tail {
                Tail::Clean => break,
                Tail::Bad {
                    offset,
                    resync: Some(r),
                } => {
                    problem(
                        ProblemKind::Corrupted,
                        path,
                        offset,
                        None,
                        format!("{} bytes that are not a whole record", r - offset),
                    );
                    scan = format::scan_from(&bytes, usize::try_from(r).unwrap_or(usize::MAX));
                }
                Tail::Bad {
                    offset,
                    resync: None,
                } => {
                    let nonzero_end = bytes.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
                    let tail = TornTail {
                        path: path.clone(),
                        offset,
                        discarded_bytes: (nonzero_end as u64).saturating_sub(offset),
                    };
                    if pos + 1 == n {
                        report.torn_tail = Some(tail);
                    } else {
                        problem(
                            ProblemKind::Corrupted,
                            path,
                            offset,
                            None,
                            "bad record at the end of a sealed segment".into(),
                        );
                    }
                    break;
                }
            }
        }
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            seg_counts.insert(name.to_owned(), (first, count));
        }
    }
    report.records = frames.len() as u64;

    // The chain.
    let seqs_after: Vec<u64> = frames.iter().map(|f| f.seq).collect();
    let mut seen: HashSet<[u8; 32]> = HashSet::new();
    let mut expected = 0u64;
    let mut head = GENESIS;
    for (i, f) in frames.iter().enumerate() {
        let path = paths.get(f.path_index).map_or(dir, |p| p.as_path());
        if !seen.insert(f.link) {
            problem(
                ProblemKind::Duplicated,
                path,
                f.offset,
                Some(f.seq),
                format!("record {} appears again", f.seq),
            );
            continue;
        }
        if f.seq == expected {
            if f.prev != head {
                problem(
                    ProblemKind::ChainBroken,
                    path,
                    f.offset,
                    Some(f.seq),
                    format!(
                        "record {} does not link to record {}",
                        f.seq,
                        expected.wrapping_sub(1)
                    ),
                );
            }
        } else if f.seq > expected {
            let later = seqs_after
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .any(|s| (expected..f.seq).contains(s));
            if later {
                problem(
                    ProblemKind::Reordered,
                    path,
                    f.offset,
                    Some(f.seq),
                    format!("record {} where record {expected} belongs", f.seq),
                );
            } else {
                problem(
                    ProblemKind::Deleted,
                    path,
                    f.offset,
                    Some(f.seq),
                    format!(
                        "{} record(s) missing before record {} (from record {expected})",
                        f.seq - expected,
                        f.seq
                    ),
                );
            }
        } else {
            problem(
                ProblemKind::Reordered,
                path,
                f.offset,
                Some(f.seq),
                format!("record {} after record {}", f.seq, expected.wrapping_sub(1)),
            );
            continue;
        }
        expected = f.seq + 1;
        head = f.link;
        if let Some(list) = heads.get(&f.seq) {
            for (cp_offset, h) in list {
                if *h != f.link {
                    problem(
                        ProblemKind::BadCheckpoint,
                        &cp_path,
                        *cp_offset,
                        Some(f.seq),
                        format!(
                            "checkpoint head differs from record {} (records rewritten)",
                            f.seq
                        ),
                    );
                }
            }
        }
    }
    if report.covered_records > expected {
        let path = paths.last().map_or(dir, |p| p.as_path());
        problem(
            ProblemKind::Truncated,
            path,
            report.torn_tail.as_ref().map_or(0, |t| t.offset),
            Some(expected),
            format!(
                "a signed checkpoint covers {} records; the chain ends after {expected}",
                report.covered_records
            ),
        );
    }
    // Segment lists of the checkpoints.
    if let Some((_, cp)) = checkpoints.last() {
        let last = cp.segments.len().saturating_sub(1);
        for (i, entry) in cp.segments.iter().enumerate() {
            match seg_counts.get(&entry.name) {
                None => problem(
                    ProblemKind::Truncated,
                    &dir.join(&entry.name),
                    0,
                    None,
                    format!(
                        "segment {} listed by the last checkpoint is missing",
                        entry.name
                    ),
                ),
                Some((first, count)) => {
                    let kind = if *first != entry.first_seq {
                        Some(ProblemKind::Corrupted)
                    } else if *count < entry.records {
                        Some(ProblemKind::Truncated)
                    } else if i != last && *count > entry.records {
                        Some(ProblemKind::BadCheckpoint)
                    } else {
                        None
                    };
                    if let Some(kind) = kind {
                        problem(
                            kind,
                            &dir.join(&entry.name),
                            0,
                            None,
                            format!(
                                "the last checkpoint lists {} from record {} with {} records; its header says record {first}, {count} records found",
                                entry.name, entry.first_seq, entry.records
                            ),
                        );
                    }
                }
            }
        }
    }
    report.problems = problems;
    Ok(report)
}
