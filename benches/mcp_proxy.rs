//! MCP protocol proxy benchmarks (issue 6, build item 3).
//!
//! Run with
//! `cargo bench -p gait-benches --bench mcp_proxy -- --warm-up-time 1 --measurement-time 3`;
//! results are recorded in `docs/PERFORMANCE.md`.
//!
//! * `mcp_proxy/intent_for_call`: a `tools/call` params object (a
//!   filesystem read with a pinned, read-only tool) turned into a
//!   normalized intent with its digests;
//! * `mcp_proxy/decide`: the same plus the gate run and
//!   trace building, signing and recording into memory
//!   (`Governor::decide`, everything the proxy does per call except the
//!   file write and the relay);
//! * `mcp_proxy/tool_definition_digest`: the pin digest of one
//!   filesystem-server tool definition (done per tool per `tools/list`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gait_mcp::{CallContext, Governor, ServerIdentity, ToolPins, intent_for_call};
use gait_policy::{Gate, Policy};
use gait_sign::{SigningKey, Trace};
use gait_trace::{TraceError, TraceRecord, TraceSink};
use serde_json::json;

const POLICY: &str = "default_verdict: block
rules:
  - name: reads
    priority: 10
    effect: allow
    match:
      tool_names: [read_text_file, list_directory]
  - name: no-writes
    priority: 1
    effect: block
    reason_codes: [writes_forbidden]
    match:
      tool_names: [write_file, edit_file]
";

/// Keeps nothing: measures the proxy's work, not a growing vector.
struct NullSink;
impl TraceSink for NullSink {
    fn record(&self, trace: &TraceRecord) -> Result<(), TraceError> {
        black_box(trace);
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let tool = json!({
        "name": "read_text_file",
        "title": "Read Text File",
        "description": "Read the complete contents of a file from the file system as text.",
        "inputSchema": {"type": "object", "properties": {
            "path": {"type": "string"},
            "tail": {"type": "number", "description": "If provided, returns only the last N lines of the file"},
            "head": {"type": "number", "description": "If provided, returns only the first N lines of the file"}},
            "required": ["path"], "additionalProperties": false,
            "$schema": "http://json-schema.org/draft-07/schema#"},
        "annotations": {"readOnlyHint": true, "openWorldHint": false}
    });
    let mut pins = ToolPins::new();
    pins.observe(std::slice::from_ref(&tool));
    let info = pins.get("read_text_file").cloned();
    let server = ServerIdentity::with_id("secure-filesystem-server");
    let params =
        json!({"name": "read_text_file", "arguments": {"path": "/tmp/sandbox/readme.txt"}});
    let ctx = CallContext::default();
    let governor = Governor::new(
        Gate::new(Policy::from_yaml_str(POLICY).unwrap()),
        SigningKey::<Trace>::generate().unwrap(),
        Box::new(NullSink),
    )
    .unwrap();
    assert!(governor.decide(&params, &server, &pins).unwrap().forward);

    let mut g = c.benchmark_group("mcp_proxy");
    g.bench_function("intent_for_call", |b| {
        b.iter(|| intent_for_call(black_box(&params), &server, info.as_ref(), &ctx).unwrap());
    });
    g.bench_function("decide", |b| {
        b.iter(|| governor.decide(black_box(&params), &server, &pins).unwrap());
    });
    g.bench_function("tool_definition_digest", |b| {
        b.iter(|| gait_mcp::tool_definition_digest(black_box(&tool)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
