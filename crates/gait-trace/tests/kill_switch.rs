//! Issue 12: the kill switch as an overlay of the decision core. With any
//! kill-switch entry that matches an intent, no decision allows it, even
//! under a policy that allows everything, and the journal holds one line
//! per blocked call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::{Arc, Mutex};

use gait_digest::GoTime;
use gait_policy::killswitch::{
    KillSwitchEntry, KillSwitchError, KillSwitchJournalEntry, KillSwitchState, KillSwitchStore,
};
use gait_policy::{Gate, Intent, Policy, Verdict};
use gait_trace::{Boundary, DecideError, Decider, DecisionRequest, MemorySink};
use proptest::prelude::*;

/// A kill-switch store in memory (a shared store would implement the same
/// trait).
#[derive(Debug)]
struct Memory {
    state: Result<Arc<KillSwitchState>, String>,
    journal: Mutex<Vec<KillSwitchJournalEntry>>,
}

impl KillSwitchStore for Memory {
    fn load(&self) -> Result<Arc<KillSwitchState>, KillSwitchError> {
        self.state.clone().map_err(KillSwitchError::Invalid)
    }
    fn journal(&self, entry: &KillSwitchJournalEntry) -> Result<(), KillSwitchError> {
        self.journal.lock().unwrap().push(entry.clone());
        Ok(())
    }
}

fn now() -> GoTime {
    GoTime::parse("2026-03-01T10:00:00Z").unwrap()
}

fn intent(tool: &str, identity: &str, agent: &str, env: &str, path: &str, risk: &str) -> Intent {
    Intent::from_json_str(&format!(
        r#"{{"tool_name":"{tool}","args":{{}},
            "targets":[{{"kind":"path","value":"{path}","operation":"write"}}],
            "context":{{"identity":"{identity}","agent_id":"{agent}","environment":"{env}",
                        "workspace":"/srv/ws/{identity}","risk_class":"{risk}"}}}}"#
    ))
    .unwrap()
}

fn decider(store: Arc<Memory>) -> Decider {
    Decider::new(
        Gate::new(Policy::from_yaml_str("default_verdict: allow\n").unwrap()),
        Arc::new(MemorySink::new()),
    )
    .with_kill_switch(Some(store), false)
}

fn store_with(entries: Vec<KillSwitchEntry>) -> Arc<Memory> {
    let mut state = KillSwitchState::new(now(), "test");
    state.entries = entries;
    state.normalize().unwrap();
    Arc::new(Memory {
        state: Ok(Arc::new(state)),
        journal: Mutex::new(Vec::new()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any entry built from a subset of the intent's own fields (or none:
    /// a global entry) matches it, and then nothing allows the call.
    #[test]
    fn a_matching_entry_never_allows(
        tool in "[a-z]{1,6}\\.[a-z]{1,6}",
        identity in "[a-z]{1,8}",
        agent in "[a-z]{1,8}",
        env in "[a-z]{1,6}",
        dir in "/[a-z]{1,6}",
        file in "[a-z]{1,6}",
        mask in 0u8..128,
        id in "[a-z0-9-]{0,8}",
    ) {
        let path = format!("{dir}/{file}");
        let intent = intent(&tool.to_uppercase(), &identity, &agent, &env, &path, "low");
        let mut e = KillSwitchEntry::new(now());
        e.entry_id = if mask == 0 { format!("global{id}") } else { id };
        if mask & 1 != 0 { e.tool_name = tool.clone(); }
        if mask & 2 != 0 { e.identity = identity.clone(); }
        if mask & 4 != 0 { e.agent_id = agent.clone(); }
        if mask & 8 != 0 { e.environment = env.to_uppercase(); }
        if mask & 16 != 0 { e.target_kind = "path".into(); e.target_value = path.clone(); }
        if mask & 32 != 0 { e.path_prefixes = vec![format!("{dir}/")]; }
        if mask & 64 != 0 { e.workspace_prefixes = vec!["/srv/ws".into()]; }
        let store = store_with(vec![e]);
        let d = decider(store.clone());
        let out = d.decide(&DecisionRequest::new(&intent, Boundary::Library)).unwrap();
        prop_assert_eq!(out.verdict(), Verdict::Block);
        prop_assert!(out.decision().reason_codes().iter().any(|c| c == "kill_switch_active"));
        prop_assert_eq!(store.journal.lock().unwrap().len(), 1);
        // The same entry, disabled, takes no part.
        let mut off = store.state.clone().unwrap().as_ref().clone();
        off.entries[0].enabled = false;
        let d = decider(Arc::new(Memory { state: Ok(Arc::new(off)), journal: Mutex::new(Vec::new()) }));
        prop_assert_eq!(
            d.decide(&DecisionRequest::new(&intent, Boundary::Library)).unwrap().verdict(),
            Verdict::Allow
        );
    }
}

#[test]
fn unavailable_state_blocks_when_required_and_errors_otherwise() {
    let store = Arc::new(Memory {
        state: Err("corrupt".into()),
        journal: Mutex::new(Vec::new()),
    });
    let d = decider(store.clone());
    let high = intent("tool.x", "a", "b", "c", "/p/q", "high");
    let out = d
        .decide(&DecisionRequest::new(&high, Boundary::Library))
        .unwrap();
    assert_eq!(out.verdict(), Verdict::Block);
    assert_eq!(
        out.decision().reason_codes(),
        ["kill_switch_state_unavailable"]
    );
    assert_eq!(out.decision().matched_rule(), "");
    let low = intent("tool.x", "a", "b", "c", "/p/q", "low");
    let err = d
        .decide(&DecisionRequest::new(&low, Boundary::Library))
        .unwrap_err();
    assert!(matches!(err, DecideError::KillSwitchState { .. }));
    assert!(err.is_invalid_input());
    // A caller that declares no risk class does not make it required, even
    // though its intent defaults to high risk (the MCP rule).
    let mut req = DecisionRequest::new(&high, Boundary::DecisionService);
    req.declared_risk_class = Some("");
    assert!(d.decide(&req).is_err());
    // The oss-prod profile requires it for every call.
    let strict = Decider::new(
        Gate::new(Policy::from_yaml_str("default_verdict: allow\n").unwrap()),
        Arc::new(MemorySink::new()),
    )
    .with_kill_switch(Some(store), true);
    assert_eq!(
        strict
            .decide(&DecisionRequest::new(&low, Boundary::Library))
            .unwrap()
            .verdict(),
        Verdict::Block
    );
}
