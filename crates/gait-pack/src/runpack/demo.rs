//! The offline demo run (`gait demo`).

use gait_digest::GoTime;
use serde_json::{Map, Value, json};

use super::model::{IntentRecord, RefReceipt, Refs, ResultRecord, Run, RunEnv, TimelineEvent};
use super::record::{Normalization, RecordInput};
use super::{INTENT_SCHEMA_ID, REFS_SCHEMA_ID, RESULT_SCHEMA_ID, RUN_SCHEMA_ID, SCHEMA_VERSION};

/// The demo's run id.
pub const DEMO_RUN_ID: &str = "run_demo";

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The demo run as `producer_version` records it: `run_demo` at
/// 2026-02-05T00:00:00Z, three tool calls (`tool.search`, `tool.fetch`,
/// `tool.summarize`) with `ok` results and three `demo` receipts. Record it
/// in reference capture mode, unsigned.
pub fn demo_input(producer_version: &str) -> RecordInput {
    let ts = GoTime::from_unix(1_770_249_600, 0);
    let run = Run {
        schema_id: RUN_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        created_at: ts,
        producer_version: producer_version.to_owned(),
        run_id: DEMO_RUN_ID.to_owned(),
        env: RunEnv {
            os: "demo".to_owned(),
            arch: "demo".to_owned(),
            runtime: "go".to_owned(),
        },
        timeline: Some(vec![
            TimelineEvent {
                event: "start".to_owned(),
                ts,
                ..TimelineEvent::default()
            },
            TimelineEvent {
                event: "finish".to_owned(),
                ts: ts.add_seconds(2),
                ..TimelineEvent::default()
            },
        ]),
    };
    let args = [
        json!({"query": "gait demo: offline verification"}),
        json!({"url": "https://example.local/demo"}),
        json!({"input_ref": "ref_1"}),
    ];
    let tools = ["tool.search", "tool.fetch", "tool.summarize"];
    let mut intents = Vec::new();
    let mut results = Vec::new();
    let mut receipts = Vec::new();
    for (i, (args, tool)) in args.into_iter().zip(tools).enumerate() {
        let n = i + 1;
        let intent_id = format!("intent_{n}");
        let result = json!({"ok": true, "message": format!("demo result {n}")});
        intents.push(IntentRecord {
            schema_id: INTENT_SCHEMA_ID.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            created_at: ts,
            producer_version: producer_version.to_owned(),
            run_id: DEMO_RUN_ID.to_owned(),
            intent_id: intent_id.clone(),
            tool_name: tool.to_owned(),
            args_digest: gait_digest::digest_json(&args).to_hex(),
            args: Some(object(args)),
        });
        results.push(ResultRecord {
            schema_id: RESULT_SCHEMA_ID.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            created_at: ts,
            producer_version: producer_version.to_owned(),
            run_id: DEMO_RUN_ID.to_owned(),
            intent_id,
            status: "ok".to_owned(),
            result_digest: gait_digest::digest_json(&result).to_hex(),
            result: Some(object(result)),
        });
        receipts.push(RefReceipt {
            ref_id: format!("ref_{n}"),
            source_type: "demo".to_owned(),
            source_locator: tool.to_owned(),
            query_digest: gait_digest::sha256(format!("query-{n}").as_bytes()).to_hex(),
            content_digest: gait_digest::sha256(format!("content-{n}").as_bytes()).to_hex(),
            retrieved_at: ts,
            redaction_mode: "reference".to_owned(),
            ..RefReceipt::default()
        });
    }
    let refs = Refs {
        schema_id: REFS_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        created_at: ts,
        producer_version: producer_version.to_owned(),
        run_id: DEMO_RUN_ID.to_owned(),
        receipts,
        ..Refs::default()
    };
    RecordInput {
        run,
        intents,
        results,
        refs,
        capture_mode: "reference".to_owned(),
        normalization: Normalization::default(),
    }
}
