//! Building run packs: reference-compatible payloads, determinism, the
//! build → verify round trip, signatures, and tamper detection (proptests).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]

use std::io::Cursor;
use std::path::PathBuf;

use gait_pack::archive::{Archive, NewEntry, write_deterministic_to_vec};
use gait_pack::pack::{
    BuildOptions, MANIFEST_FILE, PackManifest, VerifyOptions, build_run_pack, build_run_pack_bytes,
    verify_pack, verify_pack_bytes,
};
use gait_sign::{SigningKey, Trace};
use proptest::prelude::*;

const RUNPACKS: [&str; 3] = [
    "runpack_run_demo.zip",
    "runpack_run_tck_unsigned.zip",
    "runpack_run_tck_signed.zip",
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(data(name)).unwrap()
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = Archive::open(Cursor::new(zip)).unwrap();
    let names: Vec<String> = a.entries().iter().map(|e| e.name.clone()).collect();
    names
        .into_iter()
        .map(|n| {
            let d = a.read(&n, u64::MAX).unwrap();
            (n, d)
        })
        .collect()
}

fn entry(zip: &[u8], name: &str) -> Vec<u8> {
    entries(zip)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

fn rezip(list: Vec<(String, Vec<u8>)>) -> Vec<u8> {
    write_deterministic_to_vec(
        list.into_iter()
            .map(|(n, d)| NewEntry::file(&n, d))
            .collect(),
    )
    .unwrap()
}

fn key(seed: u8) -> SigningKey<Trace> {
    SigningKey::from_seed(&[seed; 32])
}

#[test]
fn payload_and_context_envelope_match_the_reference() {
    // The reference built pack_run_demo_*.zip from the demo runpack with
    // producer version 0.0.0-dev.
    let built = build_run_pack_bytes(&read("runpack_run_demo.zip"), "", None).unwrap();
    let reference = read("pack_run_demo_unsigned.zip");
    for name in ["run_payload.json", "context_envelope.json"] {
        assert_eq!(entry(&built.bytes, name), entry(&reference, name), "{name}");
    }
    let m = &built.manifest;
    assert_eq!(m.producer_version, "0.0.0-dev");
    assert_eq!(m.source_ref, "run_demo");
    let paths: Vec<&str> = m.contents.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "context_envelope.json",
            "proof_records.jsonl",
            "run_payload.json",
            "source/runpack.zip"
        ]
    );
    // Proof records differ from the reference only through the hash of
    // source/runpack.zip (Go's deflate output differs from ours): the
    // first record, for context_envelope.json, is identical.
    let ours = entry(&built.bytes, "proof_records.jsonl");
    let theirs = entry(&reference, "proof_records.jsonl");
    let first = |b: &[u8]| b.split(|c| *c == b'\n').next().unwrap().to_vec();
    assert_eq!(first(&ours), first(&theirs));
    // The embedded runpack holds the same entries as the source.
    assert_eq!(
        entries(&entry(&built.bytes, "source/runpack.zip")),
        entries(&read("runpack_run_demo.zip"))
    );
}

#[test]
fn tck_runpack_payload() {
    // The TCK runpack: one `metadata` receipt, best-effort evidence.
    let built = build_run_pack_bytes(&read("runpack_run_tck_unsigned.zip"), "", None).unwrap();
    assert!(
        built
            .manifest
            .contents
            .iter()
            .any(|c| c.path == "context_envelope.json")
    );
    let payload: serde_json::Value =
        serde_json::from_slice(&entry(&built.bytes, "run_payload.json")).unwrap();
    assert_eq!(payload["context_privacy_mode"], "metadata");
    assert_eq!(payload["context_evidence_mode"], "best_effort");
    assert_eq!(payload["refs_count"], 1);
}

#[test]
fn build_writes_next_to_the_runpack_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("runpack_run_demo.zip");
    std::fs::copy(data("runpack_run_demo.zip"), &src).unwrap();
    let a = build_run_pack(&src, &BuildOptions::default()).unwrap();
    assert_eq!(
        a.path,
        dir.path().join(format!("pack_{}.zip", a.manifest.pack_id))
    );
    let out = dir.path().join("sub/dir/p.zip");
    let b = build_run_pack(
        &src,
        &BuildOptions {
            output_path: Some(out.clone()),
            ..BuildOptions::default()
        },
    )
    .unwrap();
    assert_eq!(b.path, out);
    assert_eq!(
        std::fs::read(&a.path).unwrap(),
        std::fs::read(&out).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let r = verify_pack(&out, &VerifyOptions::default()).unwrap();
    assert!(r.ok(false));
    // A relative output path climbing out of the working directory is
    // refused, as by the reference.
    let e = build_run_pack(
        &src,
        &BuildOptions {
            output_path: Some("../x.zip".into()),
            ..BuildOptions::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("traverse"), "{e}");
}

#[test]
fn broken_runpacks_are_refused() {
    for name in [
        "tampered/runpack_duplicate_entry.zip",
        "tampered/runpack_result_modified.zip",
        "tampered/runpack_run_json_missing.zip",
    ] {
        let e = build_run_pack_bytes(&read(name), "", None).unwrap_err();
        if name.contains("duplicate") {
            assert!(e.is_verification_failure(), "{name}: {e}");
        }
    }
    assert!(build_run_pack_bytes(b"not a zip", "", None).is_err());
    // A pack is not a runpack.
    assert!(build_run_pack_bytes(&read("pack_run_demo_unsigned.zip"), "", None).is_err());
}

#[test]
fn signed_build_verifies_with_its_key_only() {
    let k = key(1);
    let built =
        build_run_pack_bytes(&read("runpack_run_tck_signed.zip"), "1.2.3", Some(&k)).unwrap();
    assert_eq!(built.manifest.signatures.len(), 1);
    assert_eq!(built.manifest.signatures[0].key_id, k.key_id().to_hex());
    let opts = |seed: u8, require: bool| VerifyOptions {
        public_key: Some(key(seed).verifying_key().clone()),
        require_signature: require,
    };
    let r = verify_pack_bytes(&built.bytes, &opts(1, true)).unwrap();
    assert!(r.ok(true), "{r:?}");
    assert_eq!(r.signature_status.as_str(), "verified");
    assert_eq!(r.proof_records, 3);
    for require in [false, true] {
        let r = verify_pack_bytes(&built.bytes, &opts(2, require)).unwrap();
        assert!(!r.ok(require));
        assert_eq!(r.signature_status.as_str(), "failed");
    }
    // Dropping the manifest signature but keeping signed proof records:
    // the pack id still matches (signatures are not part of it), the
    // status is missing, and require-signature fails.
    let mut m = built.manifest.clone();
    m.signatures.clear();
    let list: Vec<(String, Vec<u8>)> = entries(&built.bytes)
        .into_iter()
        .map(|(n, d)| {
            if n == MANIFEST_FILE {
                (n, m.to_canonical())
            } else {
                (n, d)
            }
        })
        .collect();
    let stripped = rezip(list);
    let r = verify_pack_bytes(&stripped, &opts(1, false)).unwrap();
    assert!(r.ok(false));
    assert_eq!(r.signature_status.as_str(), "missing");
    assert!(
        !verify_pack_bytes(&stripped, &opts(1, true))
            .unwrap()
            .ok(true)
    );
}

/// Whether a flipped manifest differs from the original only in the case
/// of its pack id (case-insensitive by contract, so not a tamper).
fn only_pack_id_case(original: &PackManifest, flipped: &[u8]) -> bool {
    let Ok(f) = PackManifest::parse(flipped) else {
        return false;
    };
    let mut g = f.clone();
    g.pack_id.clone_from(&original.pack_id);
    g == *original && f.pack_id.eq_ignore_ascii_case(&original.pack_id)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn build_verify_round_trip_and_determinism(
        which in 0usize..3,
        version in "[0-9]\\.[0-9]\\.[0-9]{1,2}(-dev)?",
        seed in proptest::option::of(any::<u8>()),
    ) {
        let src = read(RUNPACKS[which]);
        let k = seed.map(key);
        let a = build_run_pack_bytes(&src, &version, k.as_ref()).unwrap();
        let b = build_run_pack_bytes(&src, &version, k.as_ref()).unwrap();
        prop_assert_eq!(&a.bytes, &b.bytes);
        let opts = VerifyOptions {
            public_key: k.as_ref().map(|k| k.verifying_key().clone()),
            require_signature: k.is_some(),
        };
        let r = verify_pack_bytes(&a.bytes, &opts).unwrap();
        prop_assert!(r.ok(k.is_some()), "{:?}", r);
        prop_assert_eq!(&r.pack_id, &a.manifest.pack_id);
        prop_assert_eq!(r.files_checked, a.manifest.contents.len());
        prop_assert_eq!(r.proof_records, a.manifest.contents.len() - 1);
        prop_assert_eq!(&a.manifest.producer_version, &version);
    }

    #[test]
    fn any_single_byte_flip_in_any_entry_fails(
        which in 0usize..3,
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        signed in any::<bool>(),
    ) {
        let k = key(9);
        let built = build_run_pack_bytes(&read(RUNPACKS[which]), "", signed.then_some(&k)).unwrap();
        let mut list = entries(&built.bytes);
        let i = pick.index(list.len());
        let name = list[i].0.clone();
        let data = &mut list[i].1;
        prop_assume!(!data.is_empty());
        let j = at.index(data.len());
        data[j] ^= xor;
        let flipped_manifest = (name == MANIFEST_FILE).then(|| data.clone());
        let tampered = rezip(list);
        let opts = VerifyOptions {
            public_key: Some(k.verifying_key().clone()),
            require_signature: signed,
        };
        match verify_pack_bytes(&tampered, &opts) {
            Err(e) => prop_assert!(e.is_verification_failure(), "{}: {}", name, e),
            Ok(r) => {
                let benign = flipped_manifest
                    .as_deref()
                    .is_some_and(|m| only_pack_id_case(&built.manifest, m));
                prop_assert!(!r.ok(signed) || benign, "{} byte {} ^ {}: {:?}", name, j, xor, r);
            }
        }
    }

    #[test]
    fn any_byte_flip_in_the_zip_never_verifies_silently_wrong(
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        // Raw zip bytes: either the archive is refused, or the flip lands
        // where it changes nothing the pack vouches for (zip metadata) and
        // every declared entry still hashes to its declared digest.
        let built = build_run_pack_bytes(&read(RUNPACKS[0]), "", None).unwrap();
        let mut bytes = built.bytes.clone();
        let j = at.index(bytes.len());
        bytes[j] ^= xor;
        if let Ok(r) = verify_pack_bytes(&bytes, &VerifyOptions::default()) {
            if r.ok(false) {
                let mut a = Archive::open(Cursor::new(bytes.as_slice())).unwrap();
                for c in &built.manifest.contents {
                    prop_assert_eq!(a.sha256(&c.path).unwrap().0.to_hex(), c.sha256.clone());
                }
            }
        }
    }
}
