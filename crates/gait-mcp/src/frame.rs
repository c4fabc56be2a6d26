//! Newline-delimited framing with a size bound, and a best-effort look at
//! the `id` of a message too large to parse.

use std::io::{BufRead, ErrorKind};

use serde_json::Value;

/// One unit read from a newline-delimited stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete line, without its `\n` (and without a trailing `\r`).
    Line(Vec<u8>),
    /// A line longer than the limit. Only its first `limit` bytes are
    /// kept; the rest was read and discarded up to the newline.
    TooLong {
        /// The first bytes of the line.
        prefix: Vec<u8>,
        /// The line's full length in bytes.
        len: u64,
    },
    /// End of stream.
    Eof,
}

/// Reads lines of at most `limit` bytes from a buffered reader. Memory use
/// stays under `limit` plus the reader's buffer whatever the input.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    limit: usize,
}

impl<R: BufRead> LineReader<R> {
    /// A reader returning lines of at most `limit` bytes.
    pub fn new(inner: R, limit: usize) -> Self {
        Self { inner, limit }
    }

    /// Reads the next frame. A last line without a newline is returned as a
    /// line; interrupted reads are retried.
    ///
    /// # Errors
    ///
    /// Read errors of the underlying stream.
    pub fn next_frame(&mut self) -> std::io::Result<Frame> {
        let mut line: Vec<u8> = Vec::new();
        let mut len: u64 = 0;
        let mut over = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if len == 0 {
                    return Ok(Frame::Eof);
                }
                return Ok(self.finish(line, len, over));
            }
            let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (buf.get(..i).unwrap_or_default(), Some(i)),
                None => (buf, None),
            };
            len = len.saturating_add(chunk.len() as u64);
            if !over {
                let room = self.limit.saturating_sub(line.len());
                if chunk.len() > room {
                    line.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    over = true;
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let consumed = found.map_or(chunk.len(), |i| i + 1);
            self.inner.consume(consumed);
            if found.is_some() {
                return Ok(self.finish(line, len, over));
            }
        }
    }

    fn finish(&self, mut line: Vec<u8>, len: u64, over: bool) -> Frame {
        if over {
            return Frame::TooLong { prefix: line, len };
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Frame::Line(line)
    }
}

/// Finds the value of the top-level `"id"` member in the first bytes of a
/// JSON object (a message too large to parse whole). Only string, integer
/// and `null` ids are recognized; anything unclear gives `None`.
pub fn sniff_id(prefix: &[u8]) -> Option<Value> {
    let mut i = skip_ws(prefix, 0);
    if prefix.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    let mut depth: usize = 1;
    // Whether the next string at depth 1 is a member name.
    let mut expect_key = true;
    while let Some(&b) = prefix.get(i) {
        match b {
            b'"' => {
                let end = string_end(prefix, i)?;
                if depth == 1 && expect_key {
                    let key = prefix.get(i + 1..end)?;
                    let mut j = skip_ws(prefix, end + 1);
                    if prefix.get(j) != Some(&b':') {
                        return None;
                    }
                    j = skip_ws(prefix, j + 1);
                    if key == b"id" {
                        return scalar_at(prefix, j);
                    }
                    expect_key = false;
                    i = j;
                    continue;
                }
                i = end + 1;
            }
            b'{' | b'[' => {
                depth += 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return None;
                }
                i += 1;
            }
            b',' => {
                if depth == 1 {
                    expect_key = true;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// The index of the closing quote of the string opening at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
}

fn scalar_at(bytes: &[u8], i: usize) -> Option<Value> {
    match bytes.get(i)? {
        b'"' => {
            let end = string_end(bytes, i)?;
            serde_json::from_slice(bytes.get(i..=end)?).ok()
        }
        b'n' => bytes
            .get(i..i + 4)
            .filter(|s| *s == b"null")
            .map(|_| Value::Null),
        b'-' | b'0'..=b'9' => {
            let mut end = i + 1;
            while matches!(bytes.get(end), Some(b'0'..=b'9')) {
                end += 1;
            }
            // A fraction or exponent, or digits cut off by the prefix end:
            // not an id we can be sure of.
            if !matches!(
                bytes.get(end),
                Some(b',' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
            ) {
                return None;
            }
            serde_json::from_slice(bytes.get(i..end)?).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn frames(input: &[u8], limit: usize) -> Vec<Frame> {
        let mut r = LineReader::new(std::io::BufReader::with_capacity(4, input), limit);
        let mut out = Vec::new();
        loop {
            let f = r.next_frame().unwrap();
            if f == Frame::Eof {
                return out;
            }
            out.push(f);
        }
    }

    #[test]
    fn lines_and_limits() {
        let got = frames(b"ab\r\n\ncdefghij\nxyz", 5);
        assert_eq!(
            got,
            vec![
                Frame::Line(b"ab".to_vec()),
                Frame::Line(Vec::new()),
                Frame::TooLong {
                    prefix: b"cdefg".to_vec(),
                    len: 8
                },
                Frame::Line(b"xyz".to_vec()),
            ]
        );
    }

    #[test]
    fn sniffs_top_level_ids() {
        assert_eq!(
            sniff_id(br#"{"jsonrpc":"2.0","id":7,"params":{"x":"#),
            Some(Value::from(7))
        );
        assert_eq!(
            sniff_id(br#"{"params":{"id":1,"a":[{"id":2}]},"id":"a\"b","#),
            Some(Value::from("a\"b"))
        );
        assert_eq!(sniff_id(br#"{"a":"x","id":null}"#), Some(Value::Null));
        assert_eq!(sniff_id(br#"{"params":{"id":1"#), None);
        assert_eq!(sniff_id(br#"{"id":12"#), None);
        assert_eq!(sniff_id(br#"{"id":1.5,"#), None);
        assert_eq!(sniff_id(b"[1,2]"), None);
    }
}
