//! Legacy guard ("evidence") packs: generated here with the deterministic
//! zip writer and a Trace-role key, then verified through `verify_pack`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use gait_digest::{GoTime, sha256};
use gait_pack::archive::{NewEntry, write_deterministic_to_vec};
use gait_pack::pack::{
    GUARD_MANIFEST_SCHEMA_ID, GuardControl, GuardEvidence, GuardManifest, GuardWindow, PackEntry,
    PackSignature, VerifyOptions, verify_pack, verify_pack_bytes,
};
use gait_pack::runpack::SignatureStatus;
use gait_sign::{SigningKey, Trace};

const FILES: [(&str, &[u8]); 3] = [
    ("evidence/trace_1.json", b"{\"trace_id\":\"t1\"}\n"),
    ("runpack_summary.json", b"{\"run_id\":\"run_guard\"}\n"),
    ("summary.pdf", b"%PDF-1.4 not really\n"),
];

fn key(seed: u8) -> SigningKey<Trace> {
    SigningKey::from_seed(&[seed; 32])
}

fn manifest() -> GuardManifest {
    let at = GoTime::parse("2026-02-03T04:05:06.789+01:00").unwrap();
    GuardManifest {
        schema_id: GUARD_MANIFEST_SCHEMA_ID.into(),
        schema_version: "1.0.0".into(),
        created_at: at,
        producer_version: "0.0.0-dev".into(),
        pack_id: "pack_0123456789abcdef".into(),
        run_id: "run_guard".into(),
        case_id: "case-7".into(),
        template_id: "soc2".into(),
        generated_at: at,
        control_index: vec![GuardControl {
            control_id: "CC7.2".into(),
            title: "Monitoring".into(),
            evidence_paths: Some(vec!["evidence/trace_1.json".into()]),
        }],
        evidence_pointers: vec![GuardEvidence {
            pointer_id: "ptr-1".into(),
            path: "evidence/trace_1.json".into(),
            evidence_type: "trace".into(),
            sha256: sha256(FILES[0].1).to_hex(),
        }],
        incident_window: Some(GuardWindow {
            from: at,
            to: at.add_seconds(60),
            window_seconds: 60,
            selection_anchor: String::new(),
        }),
        rendered: Vec::new(),
        contents: Some(
            FILES
                .iter()
                .map(|(p, d)| PackEntry {
                    path: (*p).into(),
                    sha256: sha256(d).to_hex(),
                    entry_type: if p.ends_with(".json") { "json" } else { "blob" }.into(),
                })
                .collect(),
        ),
        signatures: Vec::new(),
    }
}

fn sign(mut m: GuardManifest, k: &SigningKey<Trace>) -> GuardManifest {
    let env = k.sign_value(&m.signable());
    m.signatures.push(PackSignature::from_envelope(&env));
    m
}

/// A guard pack zip: the manifest written indented (as the reference
/// writes it) plus `files`.
fn zip(m: &GuardManifest, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut entries = vec![NewEntry::file(
        "pack_manifest.json",
        serde_json::to_vec_pretty(m).unwrap(),
    )];
    entries.extend(files.iter().map(|(p, d)| NewEntry::file(p, d.to_vec())));
    write_deterministic_to_vec(entries).unwrap()
}

fn with_key(seed: u8, require: bool) -> VerifyOptions {
    VerifyOptions {
        public_key: Some(key(seed).verifying_key().clone()),
        require_signature: require,
    }
}

#[test]
fn unsigned_guard_pack_verifies() {
    let r = verify_pack_bytes(&zip(&manifest(), &FILES), &VerifyOptions::default()).unwrap();
    assert!(r.ok(false), "{r:?}");
    assert_eq!(r.pack_type, "guard");
    assert_eq!(r.legacy_type, "guard");
    assert_eq!(r.pack_id, "pack_0123456789abcdef");
    assert_eq!(r.source_ref, "run_guard");
    assert_eq!(r.files_checked, 3);
    assert_eq!(r.signature_status, SignatureStatus::Missing);
    assert!(r.signature_errors.is_empty());
    // Required signatures: still `missing`, with the guard verifier's error.
    let r = verify_pack_bytes(&zip(&manifest(), &FILES), &with_key(1, true)).unwrap();
    assert!(!r.ok(true));
    assert_eq!(r.signature_status, SignatureStatus::Missing);
    assert_eq!(r.signature_errors, ["pack manifest has no signatures"]);
}

#[test]
fn signed_guard_pack_verifies_with_its_key() {
    let m = sign(manifest(), &key(1));
    let bytes = zip(&m, &FILES);
    let r = verify_pack_bytes(&bytes, &with_key(1, true)).unwrap();
    assert!(r.ok(true), "{r:?}");
    assert_eq!(r.signature_status, SignatureStatus::Verified);
    assert_eq!((r.signatures_total, r.signatures_valid), (1, 1));
    let v = r.to_value();
    assert_eq!(v["pack_type"], "guard");
    assert_eq!(v["legacy_type"], "guard");
    assert!(v.get("undeclared_files").is_none());

    // By path, the same report.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("guard.zip");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(verify_pack(&p, &with_key(1, true)).unwrap(), r);

    // Without a key: skipped, not failed.
    let r = verify_pack_bytes(&bytes, &VerifyOptions::default()).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Skipped);
    assert_eq!(r.signature_errors, ["public key not configured"]);
    assert!(r.ok(false));
}

#[test]
fn wrong_key_fails_the_signature() {
    let bytes = zip(&sign(manifest(), &key(1)), &FILES);
    let r = verify_pack_bytes(&bytes, &with_key(2, false)).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert_eq!(r.signatures_valid, 0);
    assert!(!r.signature_errors.is_empty());
    assert!(!r.ok(false));
    assert!(r.missing_files.is_empty() && r.hash_mismatches.is_empty());
}

#[test]
fn signature_covers_the_projection() {
    // A bad signature from the right key: `signature verification failed`.
    let k = key(1);
    let mut m = sign(manifest(), &k);
    let other = sign(
        GuardManifest {
            run_id: "run_other".into(),
            ..manifest()
        },
        &k,
    );
    m.signatures[0].sig.clone_from(&other.signatures[0].sig);
    let r = verify_pack_bytes(&zip(&m, &FILES), &with_key(1, false)).unwrap();
    assert_eq!(r.signature_status, SignatureStatus::Failed);
    assert_eq!(r.signature_errors, ["signature verification failed"]);

    // Editing a signed member after signing breaks the signature.
    for edit in [
        &(|m: &mut GuardManifest| m.case_id = "case-8".into()) as &dyn Fn(&mut GuardManifest),
        &|m| m.incident_window = None,
        &|m| m.control_index[0].evidence_paths = None,
        &|m| m.created_at = m.created_at.add_seconds(1),
    ] {
        let mut m = sign(manifest(), &k);
        edit(&mut m);
        let r = verify_pack_bytes(&zip(&m, &FILES), &with_key(1, false)).unwrap();
        assert_eq!(r.signature_status, SignatureStatus::Failed, "{m:?}");
        assert!(
            r.signature_errors
                .iter()
                .any(|e| e.contains("signed_digest mismatch")),
            "{r:?}"
        );
    }

    // Canonical whitespace or member order does not matter: a compact
    // rewrite of the same manifest still verifies.
    let m = sign(manifest(), &k);
    let compact = write_deterministic_to_vec(
        std::iter::once(NewEntry::file(
            "pack_manifest.json",
            gait_digest::canonical::to_vec(&m.to_value()),
        ))
        .chain(FILES.iter().map(|(p, d)| NewEntry::file(p, d.to_vec())))
        .collect(),
    )
    .unwrap();
    let r = verify_pack_bytes(&compact, &with_key(1, true)).unwrap();
    assert!(r.ok(true), "{r:?}");
}

#[test]
fn tampered_and_missing_entries_fail() {
    let m = sign(manifest(), &key(1));
    let tampered: Vec<(&str, &[u8])> = vec![
        FILES[0],
        ("runpack_summary.json", b"{\"run_id\":\"forged\"}\n"),
        FILES[2],
    ];
    let r = verify_pack_bytes(&zip(&m, &tampered), &with_key(1, true)).unwrap();
    assert!(!r.ok(true));
    assert_eq!(r.hash_mismatches.len(), 1);
    assert_eq!(r.hash_mismatches[0].path, "runpack_summary.json");
    assert_eq!(r.hash_mismatches[0].expected, sha256(FILES[1].1).to_hex());
    assert_eq!(
        r.hash_mismatches[0].actual,
        sha256(b"{\"run_id\":\"forged\"}\n").to_hex()
    );
    // The manifest itself is intact: its signature still verifies.
    assert_eq!(r.signature_status, SignatureStatus::Verified);

    let r = verify_pack_bytes(&zip(&m, &[FILES[0]]), &VerifyOptions::default()).unwrap();
    assert!(!r.ok(false));
    assert_eq!(r.missing_files, ["runpack_summary.json", "summary.pdf"]);
}

#[test]
fn no_pack_id_or_undeclared_check() {
    // The guard pack id is not recomputed, and undeclared entries are not
    // reported (the reference guard verifier does neither).
    let m = GuardManifest {
        pack_id: "anything".into(),
        ..manifest()
    };
    let mut files = FILES.to_vec();
    files.push(("extra.txt", b"extra"));
    let r = verify_pack_bytes(&zip(&m, &files), &VerifyOptions::default()).unwrap();
    assert!(r.ok(false), "{r:?}");
    assert!(r.undeclared_files.is_empty());
    assert_eq!(r.pack_id, "anything");
}

#[test]
fn malformed_guard_manifests_are_verification_failures() {
    let mut v = manifest().to_value();
    v["unsigned_extra"] = "x".into();
    let bytes = write_deterministic_to_vec(vec![NewEntry::file(
        "pack_manifest.json",
        serde_json::to_vec(&v).unwrap(),
    )])
    .unwrap();
    let e = verify_pack_bytes(&bytes, &VerifyOptions::default()).unwrap_err();
    assert!(e.is_verification_failure());
    assert!(
        e.to_string().starts_with("parse guard pack manifest:"),
        "{e}"
    );

    // A manifest naming another schema is not routed to the guard verifier.
    let mut v = manifest().to_value();
    v["schema_id"] = "gait.other".into();
    let bytes = write_deterministic_to_vec(vec![NewEntry::file(
        "pack_manifest.json",
        serde_json::to_vec(&v).unwrap(),
    )])
    .unwrap();
    let e = verify_pack_bytes(&bytes, &VerifyOptions::default()).unwrap_err();
    assert!(e.is_verification_failure());
    assert!(e.to_string().starts_with("parse manifest:"), "{e}");
}
