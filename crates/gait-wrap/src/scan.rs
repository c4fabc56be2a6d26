//! Trace and runpack references in a child's output, found while it is
//! read: every line of standard output and standard error is trimmed, and
//! one that starts with `trace_path=` or `runpack_path=` names a file
//! (the value after `=`, trimmed; empty values are dropped).
//!
//! Scanning is streaming and bounded: a line is kept up to
//! [`MAX_LINE_BYTES`], at most [`MAX_REFERENCES`] distinct values per key
//! are kept. A reference line longer than the bound, or one reference too
//! many, is a [`ScanProblem`] (which `enforce` treats as an invalid trace
//! artifact: a reference the wrapper could not read is never ignored).

use std::collections::BTreeSet;

/// The longest output line examined for a reference (64 KiB).
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// The most distinct values kept per key.
pub const MAX_REFERENCES: usize = 4096;

const TRACE_KEY: &str = "trace_path=";
const RUNPACK_KEY: &str = "runpack_path=";

/// A reference line the scanner could not take in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ScanProblem {
    /// A `trace_path=` or `runpack_path=` line longer than
    /// [`MAX_LINE_BYTES`].
    ReferenceLineTooLong,
    /// More than [`MAX_REFERENCES`] distinct values for one key.
    TooManyReferences,
}

impl std::fmt::Display for ScanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanProblem::ReferenceLineTooLong => write!(
                f,
                "trace reference line longer than {MAX_LINE_BYTES} bytes ignored"
            ),
            ScanProblem::TooManyReferences => {
                write!(
                    f,
                    "more than {MAX_REFERENCES} trace references; the rest ignored"
                )
            }
        }
    }
}

/// The references found in one or more streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct References {
    /// `trace_path=` values, de-duplicated by exact text, sorted.
    pub(crate) traces: BTreeSet<String>,
    /// `runpack_path=` values.
    pub(crate) runpacks: BTreeSet<String>,
    /// What could not be taken in.
    pub(crate) problems: BTreeSet<ScanProblem>,
}

impl References {
    /// Adds the references of `other`.
    pub(crate) fn merge(&mut self, other: References) {
        for t in other.traces {
            insert_bounded(&mut self.traces, t, &mut self.problems);
        }
        for r in other.runpacks {
            insert_bounded(&mut self.runpacks, r, &mut self.problems);
        }
        self.problems.extend(other.problems);
    }
}

fn insert_bounded(set: &mut BTreeSet<String>, value: String, problems: &mut BTreeSet<ScanProblem>) {
    if set.contains(&value) {
        return;
    }
    if set.len() >= MAX_REFERENCES {
        problems.insert(ScanProblem::TooManyReferences);
        return;
    }
    set.insert(value);
}

/// A line scanner over one stream, fed chunks as they are read.
#[derive(Debug, Default)]
pub(crate) struct LineScanner {
    line: Vec<u8>,
    overlong: bool,
    found: References,
}

impl LineScanner {
    /// Scans the next bytes of the stream.
    pub(crate) fn feed(&mut self, mut chunk: &[u8]) {
        while let Some(pos) = chunk.iter().position(|b| *b == b'\n') {
            let (head, rest) = chunk.split_at(pos);
            self.push(head);
            self.end_line();
            chunk = rest.get(1..).unwrap_or_default();
        }
        self.push(chunk);
    }

    /// Ends the stream (its last line needs no newline) and returns what
    /// was found. The scanner is left empty.
    pub(crate) fn finish(&mut self) -> References {
        if !self.line.is_empty() || self.overlong {
            self.end_line();
        }
        std::mem::take(&mut self.found)
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.overlong = true;
        }
        self.line
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    }

    fn end_line(&mut self) {
        let line = String::from_utf8_lossy(&self.line);
        let trimmed = line.trim();
        let (key, set) = if trimmed.starts_with(TRACE_KEY) {
            (TRACE_KEY, &mut self.found.traces)
        } else if trimmed.starts_with(RUNPACK_KEY) {
            (RUNPACK_KEY, &mut self.found.runpacks)
        } else {
            self.line.clear();
            self.overlong = false;
            return;
        };
        if self.overlong {
            self.found
                .problems
                .insert(ScanProblem::ReferenceLineTooLong);
        } else {
            let value = trimmed.get(key.len()..).unwrap_or_default().trim();
            if !value.is_empty() {
                insert_bounded(set, value.to_owned(), &mut self.found.problems);
            }
        }
        self.line.clear();
        self.overlong = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> References {
        let mut s = LineScanner::default();
        for c in chunks {
            s.feed(c);
        }
        s.finish()
    }

    #[test]
    fn lines_are_trimmed_keys_must_start_the_line() {
        let r = scan(&[
            b"start\n   trace_path=a.json   \r\nx trace_path=b.json\nTRACE_PATH=c\n",
            b"trace_path=\ntrace_path=./a.json\nrunpack_path=r.zip\ntrace_path=a.json",
        ]);
        assert_eq!(
            r.traces.into_iter().collect::<Vec<_>>(),
            ["./a.json", "a.json"]
        );
        assert_eq!(r.runpacks.into_iter().collect::<Vec<_>>(), ["r.zip"]);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn a_line_split_across_chunks_is_one_line() {
        let r = scan(&[b"trace_pa", b"th=x.js", b"on\nrunpack", b"_path=y"]);
        assert_eq!(r.traces.into_iter().collect::<Vec<_>>(), ["x.json"]);
        assert_eq!(r.runpacks.into_iter().collect::<Vec<_>>(), ["y"]);
    }

    #[test]
    fn an_overlong_reference_line_is_a_problem_not_a_reference() {
        let long = format!("trace_path={}\n", "a".repeat(MAX_LINE_BYTES));
        let r = scan(&[long.as_bytes(), b"trace_path=ok\n"]);
        assert_eq!(r.traces.into_iter().collect::<Vec<_>>(), ["ok"]);
        assert!(r.problems.contains(&ScanProblem::ReferenceLineTooLong));
        // An overlong line that is no reference is just output.
        let noise = "x".repeat(3 * MAX_LINE_BYTES);
        let r = scan(&[noise.as_bytes(), b"\ntrace_path=t\n"]);
        assert!(r.problems.is_empty());
        assert_eq!(r.traces.len(), 1);
    }

    #[test]
    fn references_are_bounded() {
        let mut s = LineScanner::default();
        for i in 0..=MAX_REFERENCES {
            s.feed(format!("trace_path=t{i}\n").as_bytes());
        }
        let r = s.finish();
        assert_eq!(r.traces.len(), MAX_REFERENCES);
        assert!(r.problems.contains(&ScanProblem::TooManyReferences));
        let mut all = References::default();
        all.merge(r.clone());
        all.merge(r);
        assert_eq!(all.traces.len(), MAX_REFERENCES);
    }
}
