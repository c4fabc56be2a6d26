//! `gait release sign|verify`

use std::path::Path;

use clap::{Args, Subcommand};
use gait_release::{BuildInfo, VerifyReport};
use gait_sign::{KeySource, Release, RoleCheck, RoleKind};
use serde_json::{Map, Value};

use crate::cmd::fail;
use crate::exit::{Exit, ExitClass as _, failure};
use crate::key_args::{PrivateKeyArgs, optional_public_key};
use crate::output::{Out, stderr_line, stdout_line};

/// `gait release …`
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Write SHA256SUMS, its signature and a signed provenance statement for a release directory.
    #[command(
        after_help = "Examples:\n  gait release sign --private-key release-keys/gait_private.key dist/ --json"
    )]
    Sign(ReleaseSignArgs),
    /// Verify a signed release directory against a public key.
    #[command(
        after_help = "Examples:\n  gait release verify --public-key release-keys/gait_public.key dist/ --json"
    )]
    Verify(ReleaseVerifyArgs),
}

/// `gait release sign`
#[derive(Debug, Args)]
#[command(
    mut_arg("private_key", |a| a.help("Path to the release private key (base64)")),
    mut_arg("private_key_env", |a| a.help("Environment variable holding the release private key")),
)]
pub struct ReleaseSignArgs {
    /// The release directory (regular files only).
    #[arg(value_name = "DIR")]
    pub dir: String,
    /// The release private key.
    #[command(flatten)]
    pub key: PrivateKeyArgs,
    /// Who built the release (provenance runDetails.builder.id).
    #[arg(long, value_name = "ID", default_value = "local")]
    pub builder_id: String,
    /// The git commit the release was built from.
    #[arg(long, value_name = "SHA")]
    pub source_commit: Option<String>,
    /// The Cargo.lock the build used; its SHA-256 goes into the provenance.
    #[arg(long, value_name = "PATH")]
    pub cargo_lock: Option<String>,
    /// The toolchain version (for example the output of `rustc -V`).
    #[arg(long, value_name = "TEXT")]
    pub toolchain: Option<String>,
    /// The command that built the release.
    #[arg(long, value_name = "TEXT")]
    pub build_command: Option<String>,
}

/// `gait release verify`
#[derive(Debug, Args)]
pub struct ReleaseVerifyArgs {
    /// The release directory.
    #[arg(value_name = "DIR")]
    pub dir: String,
    /// Path to the release public key (base64).
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<String>,
    /// Environment variable holding the release public key.
    #[arg(long, value_name = "VAR")]
    pub public_key_env: Option<String>,
}

/// Runs a `release` subcommand.
pub fn run(out: &Out, cmd: &ReleaseCommand) -> Exit {
    match cmd {
        ReleaseCommand::Sign(a) => sign(out, a),
        ReleaseCommand::Verify(a) => verify(out, a),
    }
}

fn sign(out: &Out, a: &ReleaseSignArgs) -> Exit {
    let mut warnings = Vec::new();
    match sign_inner(a, &mut warnings) {
        Ok(signed) => {
            if out.is_json() {
                let mut m = match serde_json::to_value(&signed) {
                    Ok(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                m.insert("ok".into(), Value::Bool(true));
                let files: Vec<Value> = signed
                    .files
                    .iter()
                    .map(|(name, sha)| serde_json::json!({"name": name, "sha256": sha}))
                    .collect();
                m.insert("files".into(), Value::Array(files));
                let written: Vec<Value> = gait_release::GENERATED_FILES
                    .iter()
                    .map(|n| Value::String((*n).to_owned()))
                    .collect();
                m.insert("written".into(), Value::Array(written));
                m.insert(
                    "warnings".into(),
                    Value::Array(warnings.into_iter().map(Value::String).collect()),
                );
                out.json(m, Exit::Ok)
            } else {
                stdout_line(&format!(
                    "release sign ok: dir={} files={} key_id={} wrote {}",
                    signed.dir,
                    signed.files.len(),
                    signed.key_id,
                    gait_release::GENERATED_FILES.join(", ")
                ));
                Exit::Ok
            }
        }
        Err((msg, exit)) => {
            let mut m = Map::new();
            if !warnings.is_empty() {
                m.insert(
                    "warnings".into(),
                    Value::Array(warnings.into_iter().map(Value::String).collect()),
                );
            }
            fail(out, "release sign", m, &msg, exit)
        }
    }
}

fn sign_inner(
    a: &ReleaseSignArgs,
    warnings: &mut Vec<String>,
) -> Result<gait_release::SignedRelease, (String, Exit)> {
    let source = a.key.source()?.ok_or_else(|| {
        (
            "a release key is required (--private-key or --private-key-env)".to_owned(),
            Exit::InvalidInput,
        )
    })?;
    let key = source.load_signing::<Release>().map_err(failure)?;
    let key_id = key.key_id();
    let unrecorded = match &source {
        KeySource::Path(path) => !matches!(
            gait_sign::check_key_role(path, &key_id, RoleKind::Release).map_err(failure)?,
            RoleCheck::Recorded(_)
        ),
        KeySource::Env(_) => true,
    };
    if unrecorded {
        let w = format!(
            "key {} ({}) has no role record; using it as a release key (create release keys with `gait keys init --role release`)",
            key_id.to_hex(),
            source.label()
        );
        stderr_line(&format!("warning: {w}"));
        warnings.push(w);
    }
    let mut build = BuildInfo::new(a.builder_id.trim());
    build.source_commit = a.source_commit.clone().unwrap_or_default();
    build.toolchain = a.toolchain.clone().unwrap_or_default();
    build.build_command = a.build_command.clone().unwrap_or_default();
    if let Some(lock) = a.cargo_lock.as_deref() {
        build.cargo_lock_sha256 = gait_release::file_sha256(Path::new(lock))
            .map_err(|e| (format!("--cargo-lock {e}"), e.exit()))?;
    }
    let dir = gait_digest::clean_path(a.dir.trim());
    gait_release::sign_release(Path::new(&dir), &key, &build).map_err(failure)
}

fn verify(out: &Out, a: &ReleaseVerifyArgs) -> Exit {
    let report = match verify_inner(a) {
        Ok(r) => r,
        Err((msg, exit)) => return fail(out, "release verify", Map::new(), &msg, exit),
    };
    let exit = if report.ok {
        Exit::Ok
    } else {
        Exit::VerifyFailed
    };
    if out.is_json() {
        let mut m = match report.to_json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Some(first) = report.failures.first() {
            m.insert(
                "error".into(),
                Value::String(format!(
                    "release verification failed: {}: {}",
                    first.file, first.reason
                )),
            );
        }
        return out.json(m, exit);
    }
    if report.ok {
        stdout_line(&format!(
            "release verify ok: dir={} files={} key_id={}",
            report.dir,
            report.files.len(),
            report.key_id
        ));
    } else {
        stdout_line(&format!(
            "release verify failed: dir={} failures={}",
            report.dir,
            report.failures.len()
        ));
        for f in &report.failures {
            stdout_line(&format!("  {}: {}", f.file, f.reason));
        }
    }
    exit
}

fn verify_inner(a: &ReleaseVerifyArgs) -> Result<VerifyReport, (String, Exit)> {
    let key = optional_public_key::<Release>(
        "public key",
        a.public_key.as_deref(),
        a.public_key_env.as_deref(),
    )?
    .ok_or_else(|| {
        (
            "a release public key is required (--public-key or --public-key-env)".to_owned(),
            Exit::InvalidInput,
        )
    })?;
    let dir = gait_digest::clean_path(a.dir.trim());
    gait_release::verify_release(Path::new(&dir), &key).map_err(failure)
}
