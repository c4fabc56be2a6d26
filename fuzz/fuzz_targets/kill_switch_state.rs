//! Arbitrary bytes as a kill-switch state file (issue 12).
//!
//! `KillSwitchState::from_json_slice` must never panic. A state that loads
//! must be normalized (entries sorted by id, no entry without an id and a
//! selector), survive its own pretty JSON unchanged, and, matched against
//! a fixed intent, give a decision that is `active` exactly when it names
//! matching entries: an active decision always carries
//! `kill_switch_active`.

#![no_main]

use std::sync::LazyLock;

use gait_digest::GoTime;
use gait_policy::Intent;
use gait_policy::killswitch::{KillSwitchState, KillSwitchStatus};
use libfuzzer_sys::fuzz_target;

static INTENT: LazyLock<Intent> = LazyLock::new(|| {
    Intent::from_json_str(
        r#"{"tool_name":"fs.write_file","args":{"path":"/srv/data/x"},
            "targets":[{"kind":"path","value":"/srv/data/x","operation":"write"},
                       {"kind":"host","value":"api.example.com"}],
            "context":{"identity":"alice@corp","workspace":"/srv/ws/main","risk_class":"high",
                       "agent_id":"agent_ops","environment":"prod"}}"#,
    )
    .expect("the fixed intent loads")
});

fuzz_target!(|data: &[u8]| {
    let Ok(state) = KillSwitchState::from_json_slice(data) else {
        return;
    };
    assert!(
        state
            .entries
            .windows(2)
            .all(|w| w[0].entry_id <= w[1].entry_id),
        "entries not sorted"
    );
    let text = state.to_pretty_json().expect("a loaded state serializes");
    let again = KillSwitchState::from_json_slice(&text).expect("its own JSON must load");
    assert_eq!(again.entries, state.entries, "round trip");
    let now = GoTime::from_unix(1_770_249_600, 0);
    let d = state.evaluate(&INTENT, now);
    match d.status {
        KillSwitchStatus::Active => {
            assert!(d.reason_codes.iter().any(|c| c == "kill_switch_active"));
            assert!(d.reason_codes.windows(2).all(|w| w[0] < w[1]));
        }
        _ => assert!(d.reason_codes.is_empty() && d.matched_entry_ids.is_empty()),
    }
});
