//! The policy-pack registry (`gait registry install|list|verify`) at the
//! library level: reference-signed manifests install, list and verify;
//! every fail-closed rule refuses and writes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::{Path, PathBuf};

use gait_policy::pack_registry::{
    InstallOptions, MAX_MANIFEST_BYTES, PackManifest, PackRegistryError, install_pack, list_cache,
    parse_allowlist, verify_pack,
};
use gait_sign::{SigningKey, Trace, VerifyingKey};

const DIGEST: &str = "d8c229d08d121224312789378982e835218dc44f87c0a9e7bfe48d9728de593e";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pack_registry")
        .join(name)
}

fn key(name: &str) -> VerifyingKey<Trace> {
    let text = std::fs::read_to_string(data(name)).unwrap();
    VerifyingKey::from_public_text(&text, name).unwrap()
}

fn install(source: &Path, cache: &Path) -> InstallOptions {
    InstallOptions::new(&source.to_string_lossy(), cache.to_path_buf())
}

fn files_under(dir: &Path) -> usize {
    if !dir.exists() {
        return 0;
    }
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { files_under(&p) } else { 1 }
        })
        .sum()
}

#[test]
fn reference_manifest_digest_and_normalization() {
    let m = PackManifest::parse(&std::fs::read(data("pack_signed.json")).unwrap()).unwrap();
    assert_eq!(m.publisher, "acme");
    assert_eq!(m.source, "registry");
    assert_eq!(m.digest().unwrap().to_hex(), DIGEST);
    m.verify_signatures(&m.digest().unwrap(), &key("registry_public.key"))
        .unwrap();
    // Signed over the raw (un-normalized) text: does not verify.
    let raw =
        PackManifest::parse(&std::fs::read(data("pack_signed_raw_case.json")).unwrap()).unwrap();
    assert!(matches!(
        raw.verify_signatures(&raw.digest().unwrap(), &key("registry_public.key")),
        Err(PackRegistryError::NoValidSignature)
    ));
    // Member names match case-insensitively; unknown members are ignored.
    let text = std::fs::read_to_string(data("pack_signed.json"))
        .unwrap()
        .replace("\"pack_name\"", "\"Pack_Name\"")
        .replacen('{', "{\"unknown\": 1,", 1);
    let folded = PackManifest::parse(text.as_bytes()).unwrap();
    assert_eq!(folded.digest().unwrap().to_hex(), DIGEST);
}

#[test]
fn install_list_verify_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let done = install_pack(
        &install(&data("pack_signed.json"), &cache),
        &key("registry_public.key"),
    )
    .unwrap();
    assert_eq!(done.digest, DIGEST);
    assert_eq!(done.pack_name, "baseline-policy");
    let meta = cache.join(format!("baseline-policy/1.2.0/{DIGEST}/registry_pack.json"));
    assert_eq!(done.metadata_path, meta.to_string_lossy());
    let pin = cache.join("pins/baseline-policy.pin");
    assert_eq!(
        std::fs::read_to_string(&pin).unwrap(),
        format!("sha256:{DIGEST}\n")
    );
    #[cfg(unix)]
    for f in [&meta, &pin] {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The cached copy is the normalized manifest, signatures included.
    let cached = PackManifest::parse(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(cached.publisher, "acme");
    assert_eq!(cached.signatures.len(), 1);

    let listed = list_cache(&cache).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].pin_verified);
    assert_eq!(listed[0].digest, DIGEST);

    // verify infers the cache (and its pin) from the path layout.
    let v = verify_pack(&meta, None, &[], &key("registry_public.key")).unwrap();
    assert!(v.ok() && v.pin_present && v.pin_verified && v.signature_verified);
    let wrong = verify_pack(&meta, None, &[], &key("registry_other_public.key")).unwrap();
    assert!(!wrong.ok());
    assert_eq!(wrong.failure_reasons(), ["signature_not_verified"]);
    let denied = verify_pack(
        &meta,
        None,
        &parse_allowlist("nobody"),
        &key("registry_public.key"),
    )
    .unwrap();
    assert!(!denied.ok() && denied.signature_verified);
    assert!(denied.signature_error.contains("not in allowlist"));
    let report: serde_json::Value = serde_json::from_slice(&denied.report_bytes("test")).unwrap();
    assert_eq!(report["status"], "fail");
    assert_eq!(report["failure_reasons"][0], "publisher_not_allowed");
    assert_eq!(report["created_at"], "1980-01-01T00:00:00Z");

    // A changed pin fails verification and shows in the list.
    std::fs::write(&pin, format!("sha256:{}\n", "0".repeat(64))).unwrap();
    let v = verify_pack(&meta, None, &[], &key("registry_public.key")).unwrap();
    assert!(!v.ok() && v.pin_present && !v.pin_verified);
    assert!(!list_cache(&cache).unwrap()[0].pin_verified);

    // A tampered cached manifest: the recomputed digest no longer matches
    // the directory, and the signature does not verify.
    let text = std::fs::read_to_string(&meta)
        .unwrap()
        .replace("\"use_case\":\"ci\"", "\"use_case\":\"prod\"");
    std::fs::write(&meta, text).unwrap();
    let v = verify_pack(&meta, None, &[], &key("registry_public.key")).unwrap();
    assert!(!v.ok() && !v.signature_verified);
    assert!(
        v.pin_path.is_empty(),
        "the cache is not inferred for a changed digest"
    );
}

#[test]
fn install_refusals_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let k = key("registry_public.key");
    let refuse = |opts: InstallOptions, want: fn(&PackRegistryError) -> bool| {
        let e = install_pack(&opts, &k).unwrap_err();
        assert!(want(&e), "unexpected error: {e}");
        assert_eq!(files_under(&cache), 0, "refused install wrote files: {e}");
    };
    // Unsigned, other signer, raw-case signature: no valid signature.
    for f in [
        "pack_unsigned.json",
        "pack_other_key.json",
        "pack_signed_raw_case.json",
    ] {
        refuse(install(&data(f), &cache), |e| {
            matches!(e, PackRegistryError::NoValidSignature)
        });
    }
    // Wrong key.
    let e = install_pack(
        &install(&data("pack_signed.json"), &cache),
        &key("registry_other_public.key"),
    )
    .unwrap_err();
    assert!(matches!(e, PackRegistryError::NoValidSignature));
    // Pin mismatch (checked before signatures).
    let mut o = install(&data("pack_unsigned.json"), &cache);
    o.pin = Some(format!("sha256:{}", "0".repeat(64)));
    refuse(o, |e| matches!(e, PackRegistryError::PinMismatch));
    // Publisher allowlist (checked before the pin).
    let mut o = install(&data("pack_signed.json"), &cache);
    o.publisher_allowlist = parse_allowlist("other");
    o.pin = Some("sha256:00".into());
    refuse(o, |e| {
        matches!(e, PackRegistryError::PublisherNotAllowed(_))
    });
    // Path traversal in pack_name (signed, so only the name check stops it).
    refuse(install(&data("pack_name_traversal.json"), &cache), |e| {
        matches!(e, PackRegistryError::UnsafeName { .. })
    });
    assert!(!dir.path().join("escaped").exists());
    // Bad schema, skill without publisher, missing file, file:// URL.
    refuse(install(&data("pack_bad_schema.json"), &cache), |e| {
        matches!(
            e,
            PackRegistryError::SchemaId(_) | PackRegistryError::SchemaVersion(_)
        )
    });
    refuse(
        install(&data("pack_skill_no_publisher.json"), &cache),
        |e| matches!(e, PackRegistryError::SkillProvenance),
    );
    refuse(install(&data("nope.json"), &cache), |e| {
        matches!(e, PackRegistryError::Read { .. })
    });
    refuse(
        InstallOptions::new("file://pack_signed.json", cache.clone()),
        |e| matches!(e, PackRegistryError::Read { .. }),
    );
    // Remote sources: https only, an allowlisted host; no fetch in this build.
    refuse(
        InstallOptions::new("https://registry.example.com/p.json", cache.clone()),
        |e| matches!(e, PackRegistryError::NoAllowHost),
    );
    let mut o = InstallOptions::new("http://registry.example.com/p.json", cache.clone());
    o.allow_hosts = parse_allowlist("registry.example.com");
    refuse(o, |e| matches!(e, PackRegistryError::InsecureRemote));
    let mut o = InstallOptions::new("https://evil.example.com:443/p.json", cache.clone());
    o.allow_hosts = parse_allowlist("registry.example.com");
    refuse(
        o,
        |e| matches!(e, PackRegistryError::HostNotAllowed(h) if h == "evil.example.com"),
    );
    let mut o = InstallOptions::new("https://user@registry.example.com/p.json", cache.clone());
    o.allow_hosts = parse_allowlist("registry.example.com");
    refuse(o, |e| {
        matches!(e, PackRegistryError::RemoteFetchUnavailable(_))
    });
    // The cached fallback needs a pin.
    let mut o = InstallOptions::new("https://registry.example.com/p.json", cache.clone());
    o.allow_hosts = parse_allowlist("registry.example.com");
    o.allow_cached_fallback = true;
    refuse(o, |e| matches!(e, PackRegistryError::FallbackNeedsPin));
}

#[test]
fn cached_fallback_reverifies_the_cached_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let k = key("registry_public.key");
    install_pack(&install(&data("pack_signed.json"), &cache), &k).unwrap();
    let mut o = InstallOptions::new("https://registry.example.com/p.json", cache.clone());
    o.allow_hosts = parse_allowlist("registry.example.com");
    o.allow_cached_fallback = true;
    o.pin = Some(format!("sha256:{}", DIGEST.to_uppercase()));
    let done = install_pack(&o, &k).unwrap();
    assert!(done.fallback_path.is_some());
    // A local source never falls back.
    let mut local = install(&data("nope.json"), &cache);
    local.allow_cached_fallback = true;
    local.pin = o.pin.clone();
    assert!(install_pack(&local, &k).is_err());
    // A tampered cached copy is not installed (its signature fails).
    let meta = cache.join(format!("baseline-policy/1.2.0/{DIGEST}/registry_pack.json"));
    let text = std::fs::read_to_string(&meta)
        .unwrap()
        .replace("\"use_case\":\"ci\"", "\"use_case\":\"prod\"");
    std::fs::write(&meta, text).unwrap();
    assert!(install_pack(&o, &k).is_err());
}

#[test]
fn oversized_manifests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let mut text = std::fs::read_to_string(data("pack_signed.json")).unwrap();
    text.push_str(&" ".repeat(usize::try_from(MAX_MANIFEST_BYTES).unwrap()));
    std::fs::write(&big, text).unwrap();
    let e = install_pack(
        &install(&big, &dir.path().join("cache")),
        &key("registry_public.key"),
    )
    .unwrap_err();
    assert!(matches!(e, PackRegistryError::TooLarge { .. }), "{e}");
    let e = verify_pack(&big, None, &[], &key("registry_public.key")).unwrap_err();
    assert!(matches!(e, PackRegistryError::TooLarge { .. }), "{e}");
}

#[test]
fn a_manifest_signed_by_a_fresh_key_installs_only_with_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let signer = SigningKey::<Trace>::generate().unwrap();
    let mut m = PackManifest::parse(&std::fs::read(data("pack_unsigned.json")).unwrap()).unwrap();
    let digest = m.digest().unwrap();
    m.signatures = vec![signer.sign_digest(&digest)];
    let path = dir.path().join("fresh.json");
    std::fs::write(&path, m.canonical_bytes().unwrap()).unwrap();
    let cache = dir.path().join("cache");
    install_pack(&install(&path, &cache), signer.verifying_key()).unwrap();
    assert!(install_pack(&install(&path, &cache), &key("registry_public.key")).is_err());
}

#[test]
fn list_skips_garbage_and_a_missing_cache_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert!(list_cache(&dir.path().join("none")).unwrap().is_empty());
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("junk/1.0/abc")).unwrap();
    std::fs::write(cache.join("junk/1.0/abc/registry_pack.json"), b"{not json").unwrap();
    std::fs::write(cache.join("stray-file"), b"x").unwrap();
    assert!(list_cache(&cache).unwrap().is_empty());
    // A cache path that is a file cannot be listed.
    assert!(list_cache(&cache.join("stray-file")).is_err());
}
