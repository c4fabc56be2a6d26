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

/// [`raw_runpack`] plus `extra` further declared entries
/// (`attachments/part_NN.jsonl`, each a copy of the intents entry), so that
/// a runpack can hold more than the 4 × 100 MiB its recorded entries are
/// capped at: a verifier hashes every declared entry, whatever its name.
/// The manifest (files and digest) is rewritten to declare them.
pub fn raw_runpack_with_extras(
    entry_bytes: usize,
    records: usize,
    kind: Payload,
    extra: usize,
) -> Result<Vec<u8>, RunpackError> {
    use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
    use gait_pack::runpack::{Manifest, ManifestFile, canonical_bytes};

    let base = raw_runpack(entry_bytes, records, kind)?;
    let fail = |e: &dyn std::fmt::Display| RunpackError::Internal(e.to_string());
    let mut archive = Archive::open(std::io::Cursor::new(base)).map_err(|e| fail(&e))?;
    let names: Vec<String> = archive.entries().iter().map(|e| e.name.clone()).collect();
    let mut entries = Vec::new();
    let mut intents = Vec::new();
    let mut manifest_value = Value::Null;
    for name in names {
        let data = archive.read(&name, u64::MAX).map_err(|e| fail(&e))?;
        if name == "manifest.json" {
            manifest_value = serde_json::from_slice(&data).map_err(|e| fail(&e))?;
            continue;
        }
        if name == "intents.jsonl" {
            intents.clone_from(&data);
        }
        entries.push(NewEntry::file(&name, data));
    }
    let mut manifest = manifest_from_value(&manifest_value)?;
    let mut files = manifest.files.take().unwrap_or_default();
    let digest = gait_digest::sha256(&intents).to_hex();
    for n in 0..extra {
        let path = format!("attachments/part_{n:02}.jsonl");
        let mut f = ManifestFile::default();
        f.path.clone_from(&path);
        f.sha256.clone_from(&digest);
        files.push(f);
        entries.push(NewEntry::file(&path, intents.clone()));
    }
    manifest.files = Some(files);
    manifest.manifest_digest = manifest.compute_digest();
    entries.push(NewEntry::file(
        "manifest.json",
        canonical_bytes::<Manifest>(&manifest),
    ));
    write_deterministic_to_vec(entries).map_err(|e| fail(&e))
}

fn manifest_from_value(v: &Value) -> Result<gait_pack::runpack::Manifest, RunpackError> {
    let mut m = gait_pack::runpack::Manifest::default();
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    m.schema_id = text("schema_id");
    m.schema_version = text("schema_version");
    m.created_at =
        GoTime::parse(&text("created_at")).map_err(|e| RunpackError::Internal(e.to_string()))?;
    m.producer_version = text("producer_version");
    m.run_id = text("run_id");
    m.capture_mode = text("capture_mode");
    let files = v
        .get("files")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| {
                    let mut mf = gait_pack::runpack::ManifestFile::default();
                    mf.path = f
                        .get("path")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    mf.sha256 = f
                        .get("sha256")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    mf
                })
                .collect()
        })
        .unwrap_or_default();
    m.files = Some(files);
    Ok(m)
}

/// A kill-switch store holding a state in memory (benchmarks of the
/// decision core with a kill switch configured but no entry matching).
#[derive(Debug)]
pub struct MemoryKillSwitch(pub std::sync::Arc<gait_policy::killswitch::KillSwitchState>);

impl MemoryKillSwitch {
    /// A valid state with no entries.
    pub fn empty() -> Self {
        Self(std::sync::Arc::new(
            gait_policy::killswitch::KillSwitchState::new(
                GoTime::from_unix(1_767_225_600, 0),
                "bench",
            ),
        ))
    }
}

impl gait_policy::killswitch::KillSwitchStore for MemoryKillSwitch {
    fn load(
        &self,
    ) -> Result<
        std::sync::Arc<gait_policy::killswitch::KillSwitchState>,
        gait_policy::killswitch::KillSwitchError,
    > {
        Ok(self.0.clone())
    }

    fn journal(
        &self,
        _entry: &gait_policy::killswitch::KillSwitchJournalEntry,
    ) -> Result<(), gait_policy::killswitch::KillSwitchError> {
        Ok(())
    }
}
