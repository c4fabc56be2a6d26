//! Criterion benchmarks for Gait; run with `cargo bench -p gait-benches`.
//!
//! The library holds what the benches and the `make_runpack` tool share:
//! [`raw_runpack`] builds a large raw-capture runpack for the verify
//! throughput measurements.

use gait_digest::GoTime;
use gait_pack::runpack::{CaptureMode, RecordInput, RunRecorder, RunpackError, demo_input};
use serde_json::{Map, Value, json};

/// Words the generated payloads are drawn from: text that deflates about
/// 3:1, like the prose and JSON tools usually exchange.
const WORDS: &[&str] = &[
    "the",
    "agent",
    "tool",
    "call",
    "result",
    "policy",
    "gate",
    "trace",
    "file",
    "write",
    "read",
    "fetch",
    "search",
    "summary",
    "query",
    "token",
    "approval",
    "intent",
    "digest",
    "record",
    "runpack",
    "verify",
    "context",
    "evidence",
    "http",
    "https",
    "example",
    "local",
    "path",
    "tmp",
    "workspace",
    "user",
    "system",
    "error",
    "status",
    "ok",
    "value",
    "number",
    "list",
    "object",
    "string",
    "budget",
    "rate",
    "limit",
    "delegation",
    "signature",
    "key",
    "manifest",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
];

/// A deterministic pseudo-random text of about `len` bytes.
fn text(seed: &mut u64, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        // xorshift64*
        *seed ^= *seed >> 12;
        *seed ^= *seed << 25;
        *seed ^= *seed >> 27;
        let r = seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let word = WORDS
            .get((r >> 33) as usize % WORDS.len())
            .copied()
            .unwrap_or("x");
        out.push_str(word);
        out.push(if r & 0xF == 0 { '\n' } else { ' ' });
        if r & 0x3F0 == 0 {
            // Some digits and hex, as ids and digests.
            out.push_str(&format!("{:016x} ", r));
        }
    }
    out
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// What the generated payloads look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Words drawn at random (deflates about 4:1; inflating it costs about
    /// as much as hashing it twice).
    Text,
    /// One 16 KiB block of such text repeated, after a short unique part
    /// per record (deflates about 15:1 and inflates at memory speed, so
    /// hashing dominates).
    Repetitive,
}

/// A raw-capture runpack (deterministic zip bytes) whose `intents.jsonl`
/// and `results.jsonl` each hold about `entry_bytes` bytes: `records`
/// intents with raw `args` and as many results with raw `result` payloads.
pub fn raw_runpack(
    entry_bytes: usize,
    records: usize,
    kind: Payload,
) -> Result<Vec<u8>, RunpackError> {
    let mut input: RecordInput = demo_input("0.0.0-bench");
    let template_intent = input.intents.first().cloned().unwrap_or_default();
    let template_result = input.results.first().cloned().unwrap_or_default();
    let records = records.max(1);
    let payload = entry_bytes / records;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let block = text(&mut seed, 16 << 10);
    let target = payload.saturating_sub(300);
    let fill = |seed: &mut u64| match kind {
        Payload::Text => text(seed, target),
        Payload::Repetitive => {
            let mut t = text(seed, 200);
            while t.len() < target {
                // `block` is ASCII: any byte index is a char boundary.
                let take = block.len().min(target - t.len());
                t.push_str(block.get(..take).unwrap_or_default());
            }
            t
        }
    };
    input.intents.clear();
    input.results.clear();
    for n in 0..records {
        let intent_id = format!("intent_{n}");
        let args = json!({
            "query": fill(&mut seed),
            "path": format!("/tmp/work/{n}.txt"),
        });
        let result = json!({
            "ok": true,
            "content": fill(&mut seed),
        });
        let mut intent = template_intent.clone();
        intent.intent_id.clone_from(&intent_id);
        intent.tool_name = "tool.fetch".to_owned();
        intent.args_digest = gait_digest::digest_json(&args).to_hex();
        intent.args = Some(object(args));
        let mut res = template_result.clone();
        res.intent_id = intent_id;
        res.result_digest = gait_digest::digest_json(&result).to_hex();
        res.result = Some(object(result));
        input.intents.push(intent);
        input.results.push(res);
    }
    input.refs.receipts.clear();
    let recorded = RunRecorder::new(input)
        .capture_mode(CaptureMode::Raw)
        .now(GoTime::from_unix(1_770_249_600, 0))
        .record()?;
    Ok(recorded.zip)
}
