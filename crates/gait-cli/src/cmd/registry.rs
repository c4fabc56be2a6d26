//! `gait registry install|list|verify`: the signed policy-pack registry
//! (the rules live in [`gait_policy::pack_registry`]).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use gait_policy::pack_registry::{
    CachedPack, InstallOptions, default_cache_dir, install_pack, list_cache, parse_allowlist,
    verify_pack, write_report,
};
use gait_sign::Trace;
use serde::Serialize;
use serde_json::Map;

use crate::cmd::fail;
use crate::cmd::version::VERSION;
use crate::exit::{Exit, failure};
use crate::key_args::VerifyKeyArgs;
use crate::output::{Out, stdout_line};

/// `gait registry` subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Verify a signed pack manifest and install it into the cache.
    #[command(
        after_help = "Examples:\n  gait registry install --source pack.json --public-key registry_public.key --pin sha256:<digest> --json\n  gait registry install --source https://registry.example.com/pack.json --allow-host registry.example.com --pin sha256:<digest> --public-key registry_public.key --allow-cached-fallback"
    )]
    Install(InstallArgs),
    /// List the cached packs (signatures are not checked).
    #[command(
        after_help = "Examples:\n  gait registry list --json\n  gait registry list --cache-dir ./cache"
    )]
    List(ListArgs),
    /// Verify a cached (or any) pack manifest: signatures, pin, publisher.
    #[command(
        after_help = "Examples:\n  gait registry verify --path ~/.gait/registry/<name>/<version>/<digest>/registry_pack.json --public-key registry_public.key --report-out report.json --json"
    )]
    Verify(VerifyArgs),
}

/// `gait registry install` arguments.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// A local manifest file (or an https URL with --allow-host).
    #[arg(long, value_name = "PATH|URL")]
    pub source: Option<String>,
    /// Allowed hosts of remote sources (comma-separated).
    #[arg(long, value_name = "CSV")]
    pub allow_host: Option<String>,
    /// Allowed publishers (comma-separated).
    #[arg(long, value_name = "CSV")]
    pub publisher_allowlist: Option<String>,
    /// The expected manifest digest (sha256:<hex>).
    #[arg(long, value_name = "sha256:HEX")]
    pub pin: Option<String>,
    /// The cache directory (default ~/.gait/registry).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<String>,
    /// Retries of a remote fetch (accepted; this build does not fetch).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    pub retry_max_attempts: i64,
    /// Base delay between retries (accepted; this build does not fetch).
    #[arg(long, value_name = "DURATION", default_value = "200ms")]
    pub retry_base_delay: String,
    /// Allow plain http remote sources.
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Install the pinned cached manifest when a remote fetch fails.
    #[arg(long)]
    pub allow_cached_fallback: bool,
    /// The verify key.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
    /// The source, instead of --source.
    #[arg(value_name = "PATH|URL")]
    pub positional: Vec<String>,
}

/// `gait registry list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The cache directory (default ~/.gait/registry).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<String>,
}

/// `gait registry verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The manifest to verify.
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// The cache whose pin applies (inferred from a cache path otherwise).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<String>,
    /// Allowed publishers (comma-separated).
    #[arg(long, value_name = "CSV")]
    pub publisher_allowlist: Option<String>,
    /// Write a gait.registry.verification_report here.
    #[arg(long, value_name = "PATH")]
    pub report_out: Option<String>,
    /// The verify key.
    #[command(flatten)]
    pub keys: VerifyKeyArgs,
}

/// Runs `gait registry …`.
pub fn run(out: &Out, c: &RegistryCommand) -> Exit {
    match c {
        RegistryCommand::Install(a) => install(out, a),
        RegistryCommand::List(a) => list(out, a),
        RegistryCommand::Verify(a) => verify(out, a),
    }
}

fn cache_dir(flag: Option<&String>) -> PathBuf {
    flag.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map_or_else(default_cache_dir, PathBuf::from)
}

#[derive(Serialize)]
struct InstallOutput<'a> {
    ok: bool,
    source: &'a str,
    pack_name: &'a str,
    pack_version: &'a str,
    digest: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    publisher: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pack_source: &'a str,
    metadata_path: &'a str,
    pin_path: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    fallback_used: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fallback_path: Option<&'a str>,
}

fn install(out: &Out, a: &InstallArgs) -> Exit {
    let label = "registry install";
    // The key first: a missing or unreadable key is a usage error (6).
    let key = match a.keys.load::<Trace>() {
        Ok(k) => k,
        Err((msg, exit)) => return fail(out, label, Map::new(), &msg, exit),
    };
    let source = match (a.source.as_deref().map(str::trim), a.positional.as_slice()) {
        (Some(s), []) if !s.is_empty() => s.to_owned(),
        (None | Some(""), [p]) => p.trim().to_owned(),
        (None | Some(""), []) => {
            return fail(
                out,
                label,
                Map::new(),
                "--source is required",
                Exit::InvalidInput,
            );
        }
        _ => {
            return fail(
                out,
                label,
                Map::new(),
                "unexpected positional arguments",
                Exit::InvalidInput,
            );
        }
    };
    let mut opts = InstallOptions::new(&source, cache_dir(a.cache_dir.as_ref()));
    opts.allow_hosts = parse_allowlist(a.allow_host.as_deref().unwrap_or_default());
    opts.publisher_allowlist =
        parse_allowlist(a.publisher_allowlist.as_deref().unwrap_or_default());
    opts.pin = a.pin.clone().filter(|p| !p.trim().is_empty());
    opts.allow_insecure_http = a.allow_insecure_http;
    opts.allow_cached_fallback = a.allow_cached_fallback;
    // Every install refusal exits 2, as in the reference (documented).
    let done = match install_pack(&opts, &key) {
        Ok(d) => d,
        Err(e) => return fail(out, label, Map::new(), &e.to_string(), Exit::VerifyFailed),
    };
    if out.is_json() {
        return out.json_typed(
            &InstallOutput {
                ok: true,
                source: &done.source,
                pack_name: &done.pack_name,
                pack_version: &done.pack_version,
                digest: &done.digest,
                publisher: &done.publisher,
                pack_source: &done.pack_source,
                metadata_path: &done.metadata_path,
                pin_path: &done.pin_path,
                fallback_used: done.fallback_path.is_some(),
                fallback_path: done.fallback_path.as_deref(),
            },
            Exit::Ok,
        );
    }
    stdout_line(&format!(
        "registry install ok: {}@{}",
        done.pack_name, done.pack_version
    ));
    stdout_line(&format!("digest: sha256:{}", done.digest));
    if let Some(p) = &done.fallback_path {
        stdout_line(&format!("fallback: cached manifest {p}"));
    }
    Exit::Ok
}

#[derive(Serialize)]
struct ListOutput<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "<[CachedPack]>::is_empty")]
    packs: &'a [CachedPack],
}

fn list(out: &Out, a: &ListArgs) -> Exit {
    let packs = match list_cache(&cache_dir(a.cache_dir.as_ref())) {
        Ok(p) => p,
        Err(e) => {
            return fail(
                out,
                "registry list",
                Map::new(),
                &e.to_string(),
                Exit::InvalidInput,
            );
        }
    };
    if out.is_json() {
        return out.json_typed(
            &ListOutput {
                ok: true,
                packs: &packs,
            },
            Exit::Ok,
        );
    }
    stdout_line(&format!("registry list: {} packs", packs.len()));
    for p in &packs {
        stdout_line(&format!(
            "- {}@{} sha256:{} pin_verified={}",
            p.pack_name, p.pack_version, p.digest, p.pin_verified
        ));
    }
    Exit::Ok
}

#[derive(Serialize)]
struct VerifyOutput<'a> {
    ok: bool,
    pack_name: &'a str,
    pack_version: &'a str,
    digest: &'a str,
    metadata_path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pin_path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pin_digest: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pin_present: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pin_verified: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    signature_verified: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    signature_error: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    publisher: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pack_source: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    publisher_allowed: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    report_path: &'a str,
}

fn verify(out: &Out, a: &VerifyArgs) -> Exit {
    let label = "registry verify";
    let Some(path) = a.path.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
        return fail(
            out,
            label,
            Map::new(),
            "--path is required",
            Exit::InvalidInput,
        );
    };
    let key = match a.keys.load::<Trace>() {
        Ok(k) => k,
        Err((msg, exit)) => return fail(out, label, Map::new(), &msg, exit),
    };
    let allowlist = parse_allowlist(a.publisher_allowlist.as_deref().unwrap_or_default());
    let cache = a
        .cache_dir
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(PathBuf::from);
    let v = match verify_pack(Path::new(path), cache.as_deref(), &allowlist, &key) {
        Ok(v) => v,
        Err(e) => {
            let (msg, exit) = failure(e);
            return fail(out, label, Map::new(), &msg, exit);
        }
    };
    let report_path = a
        .report_out
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or_default();
    if !report_path.is_empty() {
        if let Err(e) = write_report(Path::new(report_path), &v.report_bytes(VERSION)) {
            return fail(out, label, Map::new(), &e.to_string(), Exit::InvalidInput);
        }
    }
    let exit = if v.ok() { Exit::Ok } else { Exit::VerifyFailed };
    if out.is_json() {
        return out.json_typed(
            &VerifyOutput {
                ok: v.ok(),
                pack_name: &v.pack_name,
                pack_version: &v.pack_version,
                digest: &v.digest,
                metadata_path: &v.metadata_path,
                pin_path: &v.pin_path,
                pin_digest: &v.pin_digest,
                pin_present: v.pin_present,
                pin_verified: v.pin_verified,
                signature_verified: v.signature_verified,
                signature_error: &v.signature_error,
                publisher: &v.publisher,
                pack_source: &v.pack_source,
                publisher_allowed: v.publisher_allowed,
                report_path,
            },
            exit,
        );
    }
    stdout_line(&format!(
        "registry verify {}: {}@{} sha256:{}",
        if v.ok() { "ok" } else { "failed" },
        v.pack_name,
        v.pack_version,
        v.digest
    ));
    if !v.signature_error.is_empty() {
        stdout_line(&format!("signature_error: {}", v.signature_error));
    }
    exit
}
