//! Tool-call payloads through every adapter: decoding must never panic,
//! and whatever decodes must give a deterministic intent digest.
#![no_main]

use gait_policy::adapters::{Adapter, intent_from_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for adapter in [
        Adapter::Mcp,
        Adapter::OpenAi,
        Adapter::Anthropic,
        Adapter::LangChain,
        Adapter::ClaudeCode,
    ] {
        if let Ok(a) = intent_from_payload(adapter, data) {
            let b = intent_from_payload(adapter, data).ok();
            assert_eq!(Some(a.intent_digest()), b.map(|b| b.intent_digest()));
        }
    }
});
