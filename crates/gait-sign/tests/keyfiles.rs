//! Key files: format, permissions, atomic writes, no silent overwrite.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failure should panic"
)]

use std::path::Path;
use std::time::Duration;

use gait_sign::{
    Approval, Delegation, Error, KeyConfig, KeyMode, KeySource, Release, Role, RoleKind,
    SigningKey, Trace,
};

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
#[cfg(not(unix))]
fn chmod(_path: &Path, _mode: u32) {}

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
    chmod(&big, 0o600);
    let err = KeySource::Path(big).load_signing::<Trace>().unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    let bin = dir.path().join("bin.key");
    std::fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
    chmod(&bin, 0o600);
    assert!(KeySource::Path(bin).load_signing::<Trace>().is_err());
    let missing = dir.path().join("missing.key");
    let err = KeySource::Path(missing)
        .load_signing::<Trace>()
        .unwrap_err();
    assert!(err.to_string().contains("missing.key"), "{err}");
    assert!(!err.is_io());
}

/// Issue 11: a private key file that group or others may read or write is
/// refused for signing, naming the file and the fix; 0600 and 0400 load.
#[cfg(unix)]
#[test]
fn private_key_file_open_to_group_or_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let k = SigningKey::<Trace>::generate().unwrap();
    let files = gait_sign::write_key_pair(dir.path(), "gait", &k, false).unwrap();
    let path = files.private_key_path.clone();
    for mode in [
        0o644, 0o666, 0o640, 0o604, 0o660, 0o620, 0o602, 0o610, 0o601, 0o777,
    ] {
        chmod(&path, mode);
        let mut refused = 0;
        let e1 = KeySource::Path(path.clone()).load_signing::<Trace>();
        let e2 = KeyConfig {
            mode: KeyMode::Prod,
            private: Some(KeySource::Path(path.clone())),
            public: Some(KeySource::Path(files.public_key_path.clone())),
        }
        .load_signing::<Approval>()
        .map(|l| l.key);
        let e2 = e2.map(SigningKey::into_role::<Trace>);
        for err in [e1, e2] {
            let err = err.expect_err(&format!("mode {mode:o} must be refused"));
            assert!(matches!(err, Error::InsecureKeyFile { .. }), "{err}");
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("chmod 600 {}", path.display())),
                "{msg}"
            );
            assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
            assert!(!err.is_io() && !err.is_verification_failure());
            refused += 1;
        }
        assert_eq!(refused, 2);
        assert!(matches!(
            gait_sign::check_private_key_mode(&path),
            Err(Error::InsecureKeyFile { .. })
        ));
        // Verifying with the public half signs nothing: it still loads.
        let vk = gait_sign::load_verifying_key::<Trace>(Some(&KeySource::Path(path.clone())), None)
            .unwrap();
        assert_eq!(vk.key_id(), k.key_id());
    }
    for mode in [0o600, 0o400, 0o700] {
        chmod(&path, mode);
        let key = KeySource::Path(path.clone())
            .load_signing::<Trace>()
            .unwrap();
        assert_eq!(key.key_id(), k.key_id());
        gait_sign::check_private_key_mode(&path).unwrap();
    }
    // A public key file has no secret: any mode is fine.
    chmod(&files.public_key_path, 0o644);
    KeySource::Path(files.public_key_path.clone())
        .load_verifying::<Trace>()
        .unwrap();
}

fn load_as(kind: RoleKind, path: &Path) -> Result<(), Error> {
    fn one<R: Role>(path: &Path) -> Result<(), Error> {
        KeySource::Path(path.to_path_buf())
            .load_signing::<R>()
            .map(|_| ())
    }
    match kind {
        RoleKind::Trace => one::<Trace>(path),
        RoleKind::Approval => one::<Approval>(path),
        RoleKind::Delegation => one::<Delegation>(path),
        RoleKind::Release => one::<Release>(path),
        _ => unreachable!(),
    }
}

/// Issue 11: a key whose role record names another role is refused for
/// trace, approval, delegation and release signing alike; a key without a
/// record signs for every role (as before).
#[test]
fn key_recorded_for_another_role_is_refused_for_every_signing_role() {
    let dir = tempfile::tempdir().unwrap();
    for recorded in RoleKind::ALL {
        let k = SigningKey::<Trace>::generate().unwrap();
        let prefix = format!("k_{recorded}");
        let files = gait_sign::write_key_pair(dir.path(), &prefix, &k, false).unwrap();
        for wanted in RoleKind::ALL {
            load_as(wanted, &files.private_key_path).unwrap();
        }
        let record = gait_sign::KeyRoleRecord::new(recorded, &k.key_id());
        gait_sign::write_role_record(&files.private_key_path, &record, false).unwrap();
        for wanted in RoleKind::ALL {
            let got = load_as(wanted, &files.private_key_path);
            if wanted == recorded {
                got.unwrap();
            } else {
                let err = got.unwrap_err();
                assert!(matches!(err, Error::RoleMismatch { .. }), "{err}");
                let msg = err.to_string();
                assert!(
                    msg.contains(&format!("recorded for role {recorded}"))
                        && msg.contains(&format!("not {wanted}")),
                    "{msg}"
                );
            }
        }
        // Verification only needs the public half: the record is not consulted.
        gait_sign::load_verifying_key::<Approval>(
            Some(&KeySource::Path(files.private_key_path.clone())),
            None,
        )
        .unwrap();
    }
}

/// Issue 11: a key path that is a device or a FIFO is refused as "not a
/// regular file" without blocking (a FIFO without a writer) or reading an
/// endless stream (/dev/zero).
#[cfg(unix)]
#[test]
fn key_path_that_is_a_device_or_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.key");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    for path in [Path::new("/dev/zero").to_path_buf(), fifo] {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let signing = KeySource::Path(p.clone())
                .load_signing::<Trace>()
                .map(|_| ());
            let public = KeySource::Path(p).load_verifying::<Trace>().map(|_| ());
            let _ = tx.send((signing, public));
        });
        let (signing, public) = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("{} blocked", path.display()));
        for err in [signing.unwrap_err(), public.unwrap_err()] {
            assert!(err.to_string().contains("not a regular file"), "{err}");
            assert!(
                err.to_string().contains(&path.display().to_string()),
                "{err}"
            );
        }
    }
}

/// Issue 11: temporary files left by a killed atomic write are named
/// `.<name>.tmp-<pid>-<16 hex>` and removed by the next rewrite of the same
/// file when their process is gone or they are old; a fresh temporary file
/// of a live process (a write in progress) and other files are kept.
#[test]
fn stale_temp_files_of_killed_writes_are_removed_by_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let target = d.join("trace.json");
    std::fs::write(&target, b"old\n").unwrap();
    // A process that has exited: its pid is (almost surely) not in use.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let me = std::process::id();
    let hex = "0123456789abcdef";
    let dead_tmp = d.join(format!(".trace.json.tmp-{dead}-{hex}"));
    let old_tmp = d.join(format!(".trace.json.tmp-{me}-fedcba9876543210"));
    let live_tmp = d.join(format!(".trace.json.tmp-{me}-{hex}"));
    let other_target = d.join(format!(".other.json.tmp-{dead}-{hex}"));
    let not_ours = d.join(format!(".trace.json.tmp-{dead}-nothex"));
    for p in [&dead_tmp, &old_tmp, &live_tmp, &other_target, &not_ours] {
        std::fs::write(p, b"partial").unwrap();
    }
    let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old_tmp)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();

    gait_sign::write_file_atomic(&target, b"{}\n", 0o600, true).unwrap();

    assert_eq!(std::fs::read(&target).unwrap(), b"{}\n");
    if cfg!(target_os = "linux") {
        assert!(!dead_tmp.exists(), "temp of a dead process removed");
    }
    assert!(!old_tmp.exists(), "old temp removed");
    assert!(live_tmp.exists(), "a live writer's fresh temp is kept");
    assert!(other_target.exists(), "temps of other files are kept");
    assert!(not_ours.exists(), "names outside the pattern are kept");
    // The write itself leaves no temporary file behind.
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
}
