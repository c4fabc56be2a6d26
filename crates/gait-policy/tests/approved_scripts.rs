//! The approved-script registry writer (`gait approve-script`) and lister
//! (`gait list-scripts`): one format implementation with the reader the
//! gate uses, so what is written is what `gate eval` verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use gait_digest::GoTime;
use gait_policy::registry::{
    ApproveScriptError, ApprovedScriptEntry, RegistryError, ScriptApproval, list_registry,
    match_script, read_registry, read_registry_path, registry_file_bytes, upsert_registry_file,
};
use gait_policy::{Intent, Policy};
use gait_sign::{Approval, SigningKey, VerifyingKey};

const HOUR: i128 = 3_600_000_000_000;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/scripts")
        .join(name)
}

fn intent(name: &str) -> Intent {
    Intent::from_json_slice(&std::fs::read(data(name)).unwrap()).unwrap()
}

fn policy_digest() -> String {
    Policy::from_path(&data("policy.yaml"))
        .unwrap()
        .digest()
        .to_hex()
}

fn entry(key: &SigningKey<Approval>, name: &str, pattern: &str) -> ApprovedScriptEntry {
    let approval = ScriptApproval::new("secops@example.com", 24 * HOUR, "test")
        .with_pattern_id(pattern)
        .with_scope(vec![" RISK:high ".into(), "risk:high".into()]);
    ApprovedScriptEntry::approve(&intent(name), &policy_digest(), &approval, key).unwrap()
}

#[test]
fn a_written_entry_verifies_and_matches_at_the_gate() {
    let key = SigningKey::<Approval>::generate().unwrap();
    let e = entry(&key, "intent_script.json", "");
    assert_eq!(e.pattern_id, "pattern_04deb2150a5f");
    assert_eq!(
        e.script_hash,
        "04deb2150a5fb52324ef55b0c2df977c0be10e6dfea92d5bfa6ed712bb945acb"
    );
    assert_eq!(e.scope, ["risk:high"]);
    let now = GoTime::now_utc();
    e.verify(key.verifying_key(), &now).unwrap();
    let other = SigningKey::<Approval>::generate().unwrap();
    assert!(e.verify(other.verifying_key(), &now).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/reg.json");
    upsert_registry_file(&path, e.clone()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let read = read_registry_path(&path).unwrap();
    assert_eq!(read, vec![e]);
    let m = match_script(&intent("intent_script.json"), &policy_digest(), &read, &now);
    assert!(m.matched);
    // The file is `{"entries":[…]}`, two-space indented, newline-terminated.
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"{\n  \"entries\": [\n    {\n      \"schema_id\""));
    assert!(bytes.ends_with(b"}\n"));
    assert_eq!(bytes, registry_file_bytes(&read));
}

#[test]
fn upsert_replaces_by_pattern_and_keeps_order() {
    let key = SigningKey::<Approval>::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.json");
    std::fs::copy(data("registry.json"), &path).unwrap();
    let before = read_registry_path(&path).unwrap();
    assert_eq!(before.len(), 1);
    upsert_registry_file(
        &path,
        entry(&key, "intent_script_other.json", "pattern_other"),
    )
    .unwrap();
    let replaced = entry(&key, "intent_script.json", "");
    let all = upsert_registry_file(&path, replaced.clone()).unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.pattern_id.as_str()).collect();
    assert_eq!(ids, ["pattern_04deb2150a5f", "pattern_other"]);
    assert_eq!(all[0], replaced, "same pattern id: replaced in place");
    assert_eq!(read_registry_path(&path).unwrap(), all);
}

#[test]
fn refusals_leave_the_registry_untouched() {
    let key = SigningKey::<Approval>::generate().unwrap();
    let approval = ScriptApproval::new("a", HOUR, "test");
    let e = ApprovedScriptEntry::approve(
        &intent("intent_plain.json"),
        &policy_digest(),
        &approval,
        &key,
    )
    .unwrap_err();
    assert!(matches!(e, ApproveScriptError::NotScript));
    let zero = ScriptApproval::new("a", 0, "test");
    let e =
        ApprovedScriptEntry::approve(&intent("intent_script.json"), &policy_digest(), &zero, &key)
            .unwrap_err();
    assert!(matches!(e, ApproveScriptError::BadTtl));
    let blank = ScriptApproval::new("  ", HOUR, "test");
    assert!(
        ApprovedScriptEntry::approve(
            &intent("intent_script.json"),
            &policy_digest(),
            &blank,
            &key
        )
        .is_err()
    );
    // An invalid registry is not overwritten.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.json");
    std::fs::copy(data("registry_not_array.json"), &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = upsert_registry_file(&path, entry(&key, "intent_script.json", "")).unwrap_err();
    assert!(matches!(err, RegistryError::EntriesNotArray), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn concurrent_writers_lose_no_entry() {
    let key = SigningKey::<Approval>::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.json");
    std::thread::scope(|s| {
        for i in 0..8 {
            let (key, path) = (&key, &path);
            s.spawn(move || {
                upsert_registry_file(path, entry(key, "intent_script.json", &format!("p{i}")))
                    .unwrap();
            });
        }
    });
    assert_eq!(read_registry_path(&path).unwrap().len(), 8);
}

#[test]
fn list_reads_the_reference_registry_without_verifying() {
    let now = GoTime::now_utc();
    let listed = list_registry(&data("registry_two.json"), &now).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!listed[0].expired);
    assert!(listed[1].expired);
    assert_eq!(listed[0].scope, ["risk:high", "workspace_prefix:/repo"]);
    assert!(list_registry(&data("nope.json"), &now).unwrap().is_empty());
    assert!(list_registry(&data("registry_bare_array.json"), &now).is_ok());
    assert!(matches!(
        list_registry(&data("registry_not_array.json"), &now),
        Err(RegistryError::EntriesNotArray)
    ));
    // The reference-signed entry verifies with the reference approval key;
    // tampered copies do not.
    let text = std::fs::read_to_string(data("approval_public.key")).unwrap();
    let key = VerifyingKey::<Approval>::from_public_text(&text, "approval_public.key").unwrap();
    let good = read_registry(&std::fs::read(data("registry.json")).unwrap()).unwrap();
    good[0].verify(&key, &now).unwrap();
    for tampered in ["registry_tool_added.json", "registry_expiry_extended.json"] {
        let t = read_registry(&std::fs::read(data(tampered)).unwrap()).unwrap();
        assert!(t[0].verify(&key, &now).is_err(), "{tampered}");
    }
}

#[test]
fn member_names_match_as_go_does_and_ambiguity_is_refused() {
    let text = std::fs::read_to_string(data("registry.json")).unwrap();
    let key_text = std::fs::read_to_string(data("approval_public.key")).unwrap();
    let key = VerifyingKey::<Approval>::from_public_text(&key_text, "k").unwrap();
    let folded = text
        .replace("\"pattern_id\"", "\"Pattern_ID\"")
        .replace("\"signed_digest\"", "\"Signed_Digest\"");
    let entries = read_registry(folded.as_bytes()).unwrap();
    entries[0].verify(&key, &GoTime::now_utc()).unwrap();
    let doubled = text.replacen(
        "\"pattern_id\"",
        "\"PATTERN_ID\": \"evil\", \"pattern_id\"",
        1,
    );
    assert!(matches!(
        read_registry(doubled.as_bytes()),
        Err(RegistryError::AmbiguousMember { index: 0, .. })
    ));
}
