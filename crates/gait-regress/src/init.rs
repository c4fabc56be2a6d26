//! `regress init` / `regress add`: a fixture from a verified runpack.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use gait_pack::runpack::{VerifyOptions, read_runpack_from, verify_runpack};

use crate::RegressError;
use crate::fixture::{
    CONFIG_FILE, FIXTURE_FILE, FIXTURE_RUNPACK, FIXTURE_SCHEMA_ID, FIXTURES_DIR, FixtureMeta,
    SCHEMA_VERSION, is_valid_fixture_name, sanitize_fixture_name, tool_sequence, verdict_sequence,
    write_config,
};
use crate::io::{to_go_indented_json, write_atomic};

/// The largest source runpack or pack read (as the runpack entry cap).
pub const MAX_SOURCE_BYTES: u64 = 512 << 20;

/// What to turn into a fixture.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InitOptions {
    /// The source runpack (or a PackSpec run pack embedding one).
    pub source: PathBuf,
    /// The fixture name; by default derived from the run id.
    pub fixture_name: Option<String>,
    /// The working directory holding `gait.yaml` and `fixtures/`.
    pub work_dir: PathBuf,
    /// The session chain and checkpoint index the runpack came from,
    /// recorded in `fixture.json`.
    pub session_chain: Option<(String, i64)>,
}

impl InitOptions {
    /// Options for `source` in `work_dir`.
    pub fn new(source: impl Into<PathBuf>, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            source: source.into(),
            fixture_name: None,
            work_dir: work_dir.into(),
            session_chain: None,
        }
    }

    /// Options for a resolved `--from` in `work_dir`.
    pub fn from_source(source: crate::Source, work_dir: impl Into<PathBuf>) -> Self {
        Self {
            session_chain: source.session_chain,
            ..Self::new(source.runpack, work_dir)
        }
    }

    /// Sets the fixture name.
    pub fn with_name(mut self, name: Option<String>) -> Self {
        self.fixture_name = name.filter(|n| !n.trim().is_empty());
        self
    }
}

/// A fixture written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitResult {
    /// The run id of the fixture runpack.
    pub run_id: String,
    /// The fixture name.
    pub fixture_name: String,
    /// `fixtures/<name>`.
    pub fixture_dir: String,
    /// `fixtures/<name>/runpack.zip`.
    pub runpack_path: String,
    /// `gait.yaml`.
    pub config_path: String,
    /// What to run next.
    pub next_commands: Vec<String>,
}

/// Copies a verified runpack into `fixtures/<name>/runpack.zip`, writes
/// its `fixture.json` (expected tool and verdict sequences, context
/// expectations) and regenerates `gait.yaml`.
///
/// The source must verify without missing files or hash mismatches; a
/// PackSpec run pack that verifies contributes its embedded runpack.
pub fn init_fixture(opts: &InitOptions) -> Result<InitResult, RegressError> {
    let bytes = materialize_source(&opts.source)?;
    let report = verify_runpack(Cursor::new(&bytes), &VerifyOptions::default())
        .map_err(|e| RegressError::from_runpack("verify source runpack", e))?;
    if !report.missing_files.is_empty()
        || !report.hash_mismatches.is_empty()
        || !report.undeclared_files.is_empty()
    {
        return Err(RegressError::invalid(format!(
            "source runpack failed integrity checks: {}",
            opts.source.display()
        )));
    }
    if report.run_id.is_empty() {
        return Err(RegressError::invalid("source runpack missing run_id"));
    }
    let name = match &opts.fixture_name {
        Some(n) => n.trim().to_owned(),
        None => sanitize_fixture_name(&report.run_id),
    };
    if !is_valid_fixture_name(&name) {
        return Err(RegressError::invalid(format!(
            "invalid fixture name: {name} (must match ^[a-z0-9][a-z0-9._-]*$)"
        )));
    }
    let fixture_dir = opts.work_dir.join(FIXTURES_DIR).join(&name);
    write_atomic(
        &fixture_dir.join(FIXTURE_RUNPACK),
        &bytes,
        "fixture runpack",
    )?;

    let mut meta = FixtureMeta {
        schema_id: FIXTURE_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        name: name.clone(),
        run_id: report.run_id.clone(),
        runpack: FIXTURE_RUNPACK.to_owned(),
        ..FixtureMeta::default()
    };
    if let Some((chain, index)) = &opts.session_chain {
        meta.session_chain = chain.clone();
        meta.checkpoint_index = *index;
    }
    if let Ok(pack) = read_runpack_from(Cursor::new(&bytes)) {
        meta.expected_tool_sequence = tool_sequence(&pack);
        meta.expected_verdict_sequence = verdict_sequence(&pack);
        let digest = pack.refs.context_set_digest.trim();
        if !digest.is_empty() {
            meta.context_conformance = "required".to_owned();
            meta.expected_context_set_digest = digest.to_owned();
        }
    }
    write_atomic(
        &fixture_dir.join(FIXTURE_FILE),
        &to_go_indented_json(&meta)?,
        "fixture metadata",
    )?;
    write_config(&opts.work_dir)?;
    Ok(InitResult {
        run_id: report.run_id,
        fixture_dir: format!("{FIXTURES_DIR}/{name}"),
        runpack_path: format!("{FIXTURES_DIR}/{name}/{FIXTURE_RUNPACK}"),
        fixture_name: name,
        config_path: CONFIG_FILE.to_owned(),
        next_commands: vec!["gait regress run --json".to_owned()],
    })
}

/// The runpack bytes of a source: the file itself when it verifies as a
/// runpack, else the embedded runpack of a PackSpec run pack that
/// verifies.
fn materialize_source(path: &Path) -> Result<Vec<u8>, RegressError> {
    let bytes = crate::io::read_bounded(path, "source runpack", MAX_SOURCE_BYTES)?;
    let runpack_err = match verify_runpack(Cursor::new(&bytes), &VerifyOptions::default()) {
        Ok(_) => return Ok(bytes),
        Err(e) => e,
    };
    let pack_opts = gait_pack::pack::VerifyOptions::default();
    let is_pack = gait_pack::pack::verify_pack_bytes(&bytes, &pack_opts)
        .is_ok_and(|r| r.ok(false) && r.legacy_type.is_empty());
    if is_pack {
        let mut archive =
            gait_pack::archive::Archive::open(Cursor::new(&bytes)).map_err(|source| {
                RegressError::Archive {
                    context: format!("open pack {}", path.display()),
                    source,
                }
            })?;
        if archive
            .entry(gait_pack::pack::SOURCE_RUNPACK_FILE)
            .is_some()
        {
            return archive
                .read(gait_pack::pack::SOURCE_RUNPACK_FILE, MAX_SOURCE_BYTES)
                .map_err(|source| RegressError::Archive {
                    context: format!("read embedded runpack of {}", path.display()),
                    source,
                });
        }
    }
    Err(RegressError::from_runpack(
        &format!("verify source runpack {}", path.display()),
        runpack_err,
    ))
}
