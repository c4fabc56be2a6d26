//! Arbitrary bytes as a context envelope given at a boundary (issue 12).
//!
//! The one envelope parser (`gait_pack::runpack::parse_context_envelope`)
//! must never panic; an envelope that loads must convert to the gate's
//! `ContextEvidence` and bind to a fixed intent without contradiction, and
//! the bound intent must carry the envelope's digest and a non-negative
//! age.

#![no_main]

use std::sync::LazyLock;

use gait_digest::GoTime;
use gait_pack::runpack::parse_context_envelope;
use gait_policy::Intent;
use libfuzzer_sys::fuzz_target;

static INTENT: LazyLock<Intent> = LazyLock::new(|| {
    Intent::from_json_str(
        r#"{"tool_name":"tool.read","args":{},"targets":[],
            "context":{"identity":"a","workspace":"/w","risk_class":"low"}}"#,
    )
    .expect("the fixed intent loads")
});

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = parse_context_envelope(data) else {
        return;
    };
    let evidence = gait_serve::evidence_of(&envelope).expect("a verified envelope converts");
    let now = GoTime::from_unix(1_770_249_600, 0);
    assert!(evidence.age_seconds(now) >= 0);
    let bound = evidence
        .bind(&INTENT, now)
        .expect("an intent without claims always binds");
    assert_eq!(
        bound.context().context_set_digest,
        Some(evidence.context_set_digest)
    );
});
