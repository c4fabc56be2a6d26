//! `gait serve --stdio`: one JSON request per line in, one JSON response
//! per line out.

use std::io::{BufRead, Write};

use serde_json::{Map, Value};

use crate::error::ServeError;
use crate::limits::{DEFAULT_MAX_REQUEST_VALUES, check_json_values};
use crate::service::DecisionService;

/// The response line of an error: `{"ok":false,"error":…,"exit_code":…}`.
pub fn error_response(e: &ServeError) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ok".into(), Value::Bool(false));
    m.insert("error".into(), Value::String(e.to_string()));
    m.insert("exit_code".into(), Value::from(e.exit_code()));
    m
}

/// Serves requests from `input` until end of input, one response line per
/// non-blank request line, in order. A line over `max_line_bytes`, or
/// with more than [`DEFAULT_MAX_REQUEST_VALUES`] JSON values, is answered
/// with an error and skipped. Returns the number of requests answered.
///
/// # Errors
///
/// An I/O error reading `input` or writing `output`.
pub fn serve_lines(
    service: &DecisionService,
    input: impl BufRead,
    output: impl Write,
    max_line_bytes: usize,
) -> std::io::Result<u64> {
    serve_lines_limited(
        service,
        input,
        output,
        max_line_bytes,
        DEFAULT_MAX_REQUEST_VALUES,
    )
}

/// [`serve_lines`] with a limit on the JSON values of one request line
/// ([`crate::check_json_values`]).
///
/// # Errors
///
/// An I/O error reading `input` or writing `output`.
pub fn serve_lines_limited(
    service: &DecisionService,
    mut input: impl BufRead,
    mut output: impl Write,
    max_line_bytes: usize,
    max_values: usize,
) -> std::io::Result<u64> {
    let mut answered = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = u64::try_from(max_line_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let n = std::io::Read::take(&mut input, limit).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(answered);
        }
        let response = if line.len() > max_line_bytes && line.last() != Some(&b'\n') {
            // Discard the rest of the oversized line.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let m = std::io::Read::take(&mut input, 1 << 16).read_until(b'\n', &mut sink)?;
                if m == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            error_response(&ServeError::TooLarge(max_line_bytes))
        } else {
            let text = trim_ascii(&line);
            if text.is_empty() {
                continue;
            }
            match check_json_values(text, max_values).and_then(|()| service.handle_request(text)) {
                Ok(eval) => eval.response(),
                Err(e) => error_response(&e),
            }
        };
        let mut bytes = serde_json::to_vec(&Value::Object(response)).unwrap_or_else(|_| {
            br#"{"ok":false,"error":"encode response","exit_code":1}"#.to_vec()
        });
        bytes.push(b'\n');
        output.write_all(&bytes)?;
        output.flush()?;
        answered += 1;
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    b.get(start..end).unwrap_or_default()
}
