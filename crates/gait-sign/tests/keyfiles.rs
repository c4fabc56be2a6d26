//! Key files: format, permissions, atomic writes, no silent overwrite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use gait_sign::{Approval, KeyConfig, KeyMode, KeySource, SigningKey, Trace};

#[test]
fn write_then_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("a/b/keys");
    let k = SigningKey::<Trace>::generate().unwrap();
    let files = gait_sign::write_key_pair(&keys, "gait", &k, false).unwrap();
    let private = std::fs::read_to_string(&files.private_key_path).unwrap();
    assert!(private.ends_with('\n'));
    assert_eq!(private.trim().len(), 88);
    let public = std::fs::read_to_string(&files.public_key_path).unwrap();
    assert_eq!(public.trim().len(), 44);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.private_key_path), 0o600);
        assert_eq!(mode(&files.public_key_path), 0o600);
        assert_eq!(mode(&keys), 0o750);
    }

    let loaded = KeyConfig {
        mode: KeyMode::Prod,
        private: Some(KeySource::Path(files.private_key_path.clone())),
        public: Some(KeySource::Path(files.public_key_path.clone())),
    }
    .load_signing::<Trace>()
    .unwrap();
    assert_eq!(loaded.key.key_id(), k.key_id());
    assert!(loaded.warning.is_none());
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(&keys).unwrap().count(), 2);
}

#[test]
fn refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = SigningKey::<Trace>::generate().unwrap();
    let k2 = SigningKey::<Trace>::generate().unwrap();
    let f1 = gait_sign::write_key_pair(dir.path(), "gait", &k1, false).unwrap();
    let err = gait_sign::write_key_pair(dir.path(), "gait", &k2, false).unwrap_err();
    assert!(
        err.to_string().contains("already exists (use --force)"),
        "{err}"
    );
    let still = KeySource::Path(f1.private_key_path.clone())
        .load_signing::<Trace>()
        .unwrap();
    assert_eq!(still.key_id(), k1.key_id());
    gait_sign::write_key_pair(dir.path(), "gait", &k2, true).unwrap();
    let now = KeySource::Path(f1.private_key_path)
        .load_signing::<Trace>()
        .unwrap();
    assert_eq!(now.key_id(), k2.key_id());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn mismatched_pair_is_rejected_in_prod_mode() {
    let dir = tempfile::tempdir().unwrap();
    let a = gait_sign::write_key_pair(
        dir.path(),
        "a",
        &SigningKey::<Trace>::generate().unwrap(),
        false,
    )
    .unwrap();
    let b = gait_sign::write_key_pair(
        dir.path(),
        "b",
        &SigningKey::<Trace>::generate().unwrap(),
        false,
    )
    .unwrap();
    let err = KeyConfig {
        mode: KeyMode::Prod,
        private: Some(KeySource::Path(a.private_key_path)),
        public: Some(KeySource::Path(b.public_key_path)),
    }
    .load_signing::<Trace>()
    .unwrap_err();
    assert_eq!(err.to_string(), "public key does not match private key");
}

#[test]
fn source_rules() {
    assert!(KeySource::from_flags("private key", Some("a"), Some("B")).is_err());
    assert_eq!(
        KeySource::from_flags("private key", Some("  "), None).unwrap(),
        None
    );
    let err = KeyConfig {
        mode: KeyMode::Prod,
        private: None,
        public: None,
    }
    .load_signing::<Trace>()
    .unwrap_err();
    assert_eq!(err.to_string(), "prod mode requires a private key source");
    let err = KeyConfig {
        mode: KeyMode::Dev,
        private: Some(KeySource::Env("X".into())),
        public: None,
    }
    .load_signing::<Trace>()
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "dev mode does not accept explicit key sources"
    );
    let dev = KeyConfig {
        mode: KeyMode::Dev,
        private: None,
        public: None,
    }
    .load_signing::<Approval>()
    .unwrap();
    assert_eq!(dev.warning, Some(gait_sign::DEV_MODE_WARNING));
    let err = KeySource::Env("GAIT_TEST_SURELY_UNSET_VAR".into())
        .load_signing::<Trace>()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "private key env not set: GAIT_TEST_SURELY_UNSET_VAR"
    );
    let err = gait_sign::load_verifying_key::<Trace>(None, None).unwrap_err();
    assert_eq!(err.to_string(), "public key not configured");
    assert!(KeyMode::parse("Prod").is_ok());
    assert!(KeyMode::parse("staging").is_err());
}

#[test]
fn oversized_or_binary_key_files_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.key");
    std::fs::write(&big, vec![b'A'; 10_000]).unwrap();
    let err = KeySource::Path(big).load_signing::<Trace>().unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    let bin = dir.path().join("bin.key");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    assert!(KeySource::Path(bin).load_signing::<Trace>().is_err());
    let missing = dir.path().join("missing.key");
    let err = KeySource::Path(missing)
        .load_signing::<Trace>()
        .unwrap_err();
    assert!(err.to_string().contains("missing.key"), "{err}");
    assert!(!err.is_io());
}
