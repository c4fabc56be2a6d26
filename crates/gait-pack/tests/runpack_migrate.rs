//! `gait migrate` at the library level: legacy encodings of 1.0.0
//! runpacks (vectors recorded from the reference) migrate to runpacks whose
//! manifest digest matches the reference's migration, migrating again
//! changes nothing, and every refusal of the spec holds.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use gait_pack::runpack::{
    MigrateStatus, MigrateTarget, RAW_STRIPPED_WARNING, RunpackError, SIGNATURES_DROPPED_WARNING,
    VerifyOptions, default_migrate_output, migrate_runpack, read_runpack, verify_runpack_file,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/migrate")
        .join(name)
}

/// (vector, run id, manifest digest of the reference's migration).
const VECTORS: &[(&str, &str)] = &[
    (
        "legacy_pretty.zip",
        "f39d408d42316d4f9223c003d07d4d02c8ec9a08cb6e9959e308baaeac9ddacc",
    ),
    (
        "legacy_no_capture_mode.zip",
        "ca928583fa75aa00797e8214a364a0fc0c82076b5c0e80c2bfa1a1fe77b6ed0f",
    ),
    (
        "legacy_raw.zip",
        "39d38848511b5d55e2622cf1758c2454bd6fd83ccfdf0cc775a645c855b45781",
    ),
    (
        "legacy_no_digests.zip",
        "9060a171f19c912150d8b49a11780d02bea4bf5a1f581d62ada8cc33011ac9fd",
    ),
    (
        "signed_current.zip",
        "48a395834b6ddd88b9262a6a383c52deafd9ab1aeaef349d42b6f7b30424e64b",
    ),
];

#[test]
fn legacy_runpacks_migrate_like_the_reference_and_then_do_not_change() {
    let dir = tempfile::tempdir().unwrap();
    for (name, digest) in VECTORS {
        let out = dir.path().join(format!("m_{name}"));
        let m = migrate_runpack(&data(name), Some(&out)).unwrap();
        assert_eq!(m.status, MigrateStatus::Migrated, "{name}");
        assert_eq!(m.output, out);
        let report = verify_runpack_file(&out, &VerifyOptions::default()).unwrap();
        assert!(report.is_ok(false), "{name}");
        assert_eq!(&report.manifest_digest, digest, "{name}");
        assert_eq!(report.run_id, m.run_id);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name}");
        }
        let again = dir.path().join(format!("m2_{name}"));
        let m2 = migrate_runpack(&out, Some(&again)).unwrap();
        assert_eq!(m2.status, MigrateStatus::NoChange, "{name}");
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    }
}

#[test]
fn dropped_signatures_and_stripped_payloads_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let signed =
        migrate_runpack(&data("signed_current.zip"), Some(&dir.path().join("s.zip"))).unwrap();
    assert!(
        signed
            .warnings
            .contains(&SIGNATURES_DROPPED_WARNING.to_owned())
    );
    let report = verify_runpack_file(&dir.path().join("s.zip"), &VerifyOptions::default()).unwrap();
    assert_eq!(report.signatures_total, 0);
    let stripped = migrate_runpack(
        &data("legacy_no_capture_mode.zip"),
        Some(&dir.path().join("n.zip")),
    )
    .unwrap();
    assert!(stripped.warnings.contains(&RAW_STRIPPED_WARNING.to_owned()));
    let pretty =
        migrate_runpack(&data("legacy_pretty.zip"), Some(&dir.path().join("p.zip"))).unwrap();
    assert!(pretty.warnings.is_empty());
    // Raw mode keeps the payloads.
    migrate_runpack(&data("legacy_raw.zip"), Some(&dir.path().join("r.zip"))).unwrap();
    let raw = read_runpack(&dir.path().join("r.zip")).unwrap();
    assert!(raw.intents.iter().any(|i| i.args.is_some()));
}

#[test]
fn refusals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.zip");
    let message = |e: RunpackError| e.to_string();
    // Not a zip.
    let e = migrate_runpack(&data("not_a_runpack.json"), Some(&out)).unwrap_err();
    assert!(message(e).contains("only runpack zip"));
    // Schema 0.9 is not a 1.0.0 runpack.
    let e = migrate_runpack(&data("legacy_v0_9.zip"), Some(&out)).unwrap_err();
    assert!(message(e).contains("schema_version must be 1.0.0"));
    // Tampered inputs: a hash mismatch, and duplicate entries (a
    // verification failure).
    assert!(migrate_runpack(&data("migrate_legacy_hash_mismatch.zip"), Some(&out)).is_err());
    let e = migrate_runpack(&data("migrate_duplicate_entry.zip"), Some(&out)).unwrap_err();
    assert!(e.is_verification_failure(), "{e}");
    assert!(!out.exists(), "nothing is written for a refused input");
    // The output may not be the input, however it is spelled.
    let copy = dir.path().join("in.zip");
    std::fs::copy(data("legacy_pretty.zip"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let spelled = dir.path().join(".").join("in.zip");
    let e = migrate_runpack(&copy, Some(&spelled)).unwrap_err();
    assert!(message(e).contains("--out must differ from input path"));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    // Targets.
    assert!(MigrateTarget::parse("v1").is_ok());
    assert!(MigrateTarget::parse(" V1 ").is_ok());
    assert!(MigrateTarget::parse("v2").is_err());
}

#[test]
fn default_output_is_beside_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("legacy.zip");
    std::fs::copy(data("legacy_pretty.zip"), &copy).unwrap();
    let m = migrate_runpack(&copy, None).unwrap();
    assert_eq!(m.output, default_migrate_output(&copy, &m.run_id));
    assert_eq!(
        m.output,
        dir.path()
            .join(format!("runpack_{}_migrated.zip", m.run_id))
    );
    assert!(m.output.is_file());
}
