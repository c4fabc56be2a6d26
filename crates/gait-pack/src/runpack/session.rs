//! Session chains: a long agent session checkpointed into a sequence of
//! runpacks, each checkpoint hash-linked to the one before it.
//!
//! A chain file (`<journal>_chain.json`, schema `gait.runpack.session_chain`)
//! lists checkpoints. Checkpoint `n` covers the journal events
//! `sequence_start..=sequence_end`, names the runpack that holds them and
//! its manifest digest, and carries
//!
//! ```text
//! checkpoint_digest = hex(SHA-256("<manifest_digest>:<prev_checkpoint_digest>:<n>:<sequence_start>:<sequence_end>"))
//! ```
//!
//! where `prev_checkpoint_digest` is the previous checkpoint's digest (empty
//! for the first). [`verify_session_chain`] recomputes every link and
//! verifies every runpack; [`SessionChain::push_checkpoint`] builds chains.
//!
//! Reading is strict: the file is bounded ([`MAX_SESSION_CHAIN_BYTES`],
//! [`MAX_CHECKPOINTS`]), duplicate member names and unknown fields are
//! rejected, and the schema ids must match.

use std::path::{Path, PathBuf};

use gait_digest::{GoTime, canonical, sha256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RunpackError, VerifyOptions, verify_runpack_file};
use crate::runpack::SignatureStatus;

/// `schema_id` of a session chain file.
pub const SESSION_CHAIN_SCHEMA_ID: &str = "gait.runpack.session_chain";
/// `schema_id` of a checkpoint record.
pub const SESSION_CHECKPOINT_SCHEMA_ID: &str = "gait.runpack.session_checkpoint";
/// Schema version of chains and checkpoints.
pub const SESSION_SCHEMA_VERSION: &str = "1.0.0";
/// Largest chain file read (16 MiB).
pub const MAX_SESSION_CHAIN_BYTES: u64 = 16 * 1024 * 1024;
/// Most checkpoints a chain may list.
pub const MAX_CHECKPOINTS: usize = 10_000;

/// One checkpoint of a session chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionCheckpoint {
    /// `gait.runpack.session_checkpoint`.
    #[serde(default)]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default)]
    pub schema_version: String,
    /// When the checkpoint was emitted.
    pub created_at: GoTime,
    /// The producing binary's version.
    #[serde(default)]
    pub producer_version: String,
    /// The session.
    #[serde(default)]
    pub session_id: String,
    /// The session's run id (the checkpoint runpack's own run id is
    /// `<run_id>_cp_<NNNN>`).
    #[serde(default)]
    pub run_id: String,
    /// 1-based position in the chain.
    pub checkpoint_index: i64,
    /// First journal event sequence covered.
    pub sequence_start: i64,
    /// Last journal event sequence covered.
    pub sequence_end: i64,
    /// Where the checkpoint's runpack is (relative paths are relative to
    /// the working directory, as the reference resolves them).
    pub runpack_path: String,
    /// The runpack's manifest digest.
    pub manifest_digest: String,
    /// The previous checkpoint's digest (absent for the first).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prev_checkpoint_digest: String,
    /// This checkpoint's link digest.
    pub checkpoint_digest: String,
    /// Optional relationship envelope, passed through unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<Value>,
    /// Optional safety invariant version, passed through unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub safety_invariant_version: String,
    /// Optional safety invariant hash, passed through unchanged.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub safety_invariant_hash: String,
}

/// A session chain file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SessionChain {
    /// `gait.runpack.session_chain`.
    #[serde(default)]
    pub schema_id: String,
    /// `1.0.0`.
    #[serde(default)]
    pub schema_version: String,
    /// When the chain was written.
    pub created_at: GoTime,
    /// The producing binary's version.
    #[serde(default)]
    pub producer_version: String,
    /// The session.
    #[serde(default)]
    pub session_id: String,
    /// The session's run id.
    #[serde(default)]
    pub run_id: String,
    /// The checkpoints, in order.
    #[serde(default)]
    pub checkpoints: Vec<SessionCheckpoint>,
}

/// The link digest of a checkpoint (lowercase hex).
pub fn checkpoint_digest(
    manifest_digest: &str,
    prev_checkpoint_digest: &str,
    checkpoint_index: i64,
    sequence_start: i64,
    sequence_end: i64,
) -> String {
    let text = format!(
        "{manifest_digest}:{prev_checkpoint_digest}:{checkpoint_index}:{sequence_start}:{sequence_end}"
    );
    sha256(text.as_bytes()).to_hex()
}

impl SessionChain {
    /// An empty chain for a session.
    pub fn new(session_id: &str, run_id: &str, producer_version: &str, created_at: GoTime) -> Self {
        Self {
            schema_id: SESSION_CHAIN_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at,
            producer_version: producer_version.to_owned(),
            session_id: session_id.to_owned(),
            run_id: run_id.to_owned(),
            checkpoints: Vec::new(),
        }
    }

    /// Appends a checkpoint covering `sequence_start..=sequence_end`,
    /// linked to the last one, and returns it.
    pub fn push_checkpoint(
        &mut self,
        runpack_path: &str,
        manifest_digest: &str,
        sequence_start: i64,
        sequence_end: i64,
        created_at: GoTime,
    ) -> &SessionCheckpoint {
        let prev = self
            .checkpoints
            .last()
            .map(|c| c.checkpoint_digest.clone())
            .unwrap_or_default();
        let index = i64::try_from(self.checkpoints.len())
            .unwrap_or(i64::MAX - 1)
            .saturating_add(1);
        let digest = checkpoint_digest(manifest_digest, &prev, index, sequence_start, sequence_end);
        self.checkpoints.push(SessionCheckpoint {
            schema_id: SESSION_CHECKPOINT_SCHEMA_ID.to_owned(),
            schema_version: SESSION_SCHEMA_VERSION.to_owned(),
            created_at,
            producer_version: self.producer_version.clone(),
            session_id: self.session_id.clone(),
            run_id: self.run_id.clone(),
            checkpoint_index: index,
            sequence_start,
            sequence_end,
            runpack_path: runpack_path.to_owned(),
            manifest_digest: manifest_digest.to_owned(),
            prev_checkpoint_digest: prev,
            checkpoint_digest: digest,
            relationship: None,
            safety_invariant_version: String::new(),
            safety_invariant_hash: String::new(),
        });
        #[allow(
            clippy::unwrap_used,
            reason = "an element was pushed on the line above"
        )]
        self.checkpoints.last().unwrap()
    }

    /// The chain as the reference writes it: two-space indented JSON and a
    /// trailing newline.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, RunpackError> {
        let mut out = serde_json::to_vec_pretty(self)
            .map_err(|e| RunpackError::Internal(format!("encode session chain: {e}")))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Parses a chain strictly (duplicate members, unknown fields, wrong
    /// schema ids, missing session or run ids and empty chains are errors).
    pub fn parse(bytes: &[u8]) -> Result<Self, RunpackError> {
        let value = canonical::parse_strict(bytes)
            .map_err(|e| RunpackError::Invalid(format!("parse session chain: {e}")))?;
        let mut chain: SessionChain = serde_json::from_value(value)
            .map_err(|e| RunpackError::Invalid(format!("parse session chain: {e}")))?;
        if chain.schema_id.is_empty() {
            chain.schema_id = SESSION_CHAIN_SCHEMA_ID.to_owned();
        }
        if chain.schema_version.is_empty() {
            chain.schema_version = SESSION_SCHEMA_VERSION.to_owned();
        }
        if chain.schema_id != SESSION_CHAIN_SCHEMA_ID
            || chain.schema_version != SESSION_SCHEMA_VERSION
        {
            return Err(RunpackError::Invalid(
                "unsupported session chain schema".into(),
            ));
        }
        if chain.session_id.is_empty() || chain.run_id.is_empty() {
            return Err(RunpackError::Invalid(
                "session chain missing session_id/run_id".into(),
            ));
        }
        if chain.checkpoints.is_empty() {
            return Err(RunpackError::Invalid(
                "session chain has no checkpoints".into(),
            ));
        }
        if chain.checkpoints.len() > MAX_CHECKPOINTS {
            return Err(RunpackError::Invalid(format!(
                "session chain lists {} checkpoints (limit {MAX_CHECKPOINTS})",
                chain.checkpoints.len()
            )));
        }
        for (i, cp) in chain.checkpoints.iter().enumerate() {
            let sid = if cp.schema_id.is_empty() {
                SESSION_CHECKPOINT_SCHEMA_ID
            } else {
                cp.schema_id.as_str()
            };
            let ver = if cp.schema_version.is_empty() {
                SESSION_SCHEMA_VERSION
            } else {
                cp.schema_version.as_str()
            };
            if sid != SESSION_CHECKPOINT_SCHEMA_ID || ver != SESSION_SCHEMA_VERSION {
                return Err(RunpackError::Invalid(format!(
                    "checkpoints[{i}]: unsupported session checkpoint schema"
                )));
            }
            if cp.runpack_path.trim().is_empty() {
                return Err(RunpackError::Invalid(format!(
                    "checkpoints[{i}].runpack_path is required"
                )));
            }
        }
        Ok(chain)
    }

    /// Selects a checkpoint: `latest` (or blank) is the last one, a
    /// positive integer the checkpoint with that index.
    pub fn checkpoint(&self, reference: &str) -> Result<&SessionCheckpoint, RunpackError> {
        let r = reference.trim();
        if r.is_empty() || r.eq_ignore_ascii_case("latest") {
            return self
                .checkpoints
                .last()
                .ok_or_else(|| RunpackError::Invalid("session chain has no checkpoints".into()));
        }
        let index: i64 =
            r.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                RunpackError::Invalid(format!("invalid checkpoint reference: {r}"))
            })?;
        self.checkpoints
            .iter()
            .find(|c| c.checkpoint_index == index)
            .ok_or_else(|| RunpackError::Invalid(format!("checkpoint {index} not found")))
    }

    /// Reads and parses a chain file (bounded by
    /// [`MAX_SESSION_CHAIN_BYTES`]); errors end with `: chain <path>`, so
    /// that the text before the first `:` is the error's class (`session
    /// chain has no checkpoints`), as the reference prints it.
    pub fn read(path: &Path) -> Result<Self, RunpackError> {
        let bytes = read_bounded(path)?;
        Self::parse(&bytes).map_err(|e| match e {
            RunpackError::Invalid(m) => {
                RunpackError::Invalid(format!("{m}: chain {}", path.display()))
            }
            other => other,
        })
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, RunpackError> {
    use std::io::Read as _;
    let file = gait_sign::open_regular_file(path).map_err(|e| {
        RunpackError::Invalid(format!("read session chain {}: {e}", path.display()))
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_SESSION_CHAIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            RunpackError::Invalid(format!("read session chain {}: {e}", path.display()))
        })?;
    if bytes.len() as u64 > MAX_SESSION_CHAIN_BYTES {
        return Err(RunpackError::Invalid(format!(
            "session chain {} exceeds {MAX_SESSION_CHAIN_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Reads the chain at `chain_path` and resolves checkpoint `reference`
/// (`latest` or an index) to its runpack, refusing a checkpoint whose
/// digest does not recompute or whose runpack does not verify with the
/// manifest digest the chain records. Returns the checkpoint and the
/// runpack's verify report. Relative runpack paths resolve against the
/// working directory.
pub fn resolve_checkpoint_runpack(
    chain_path: &Path,
    reference: &str,
) -> Result<(SessionCheckpoint, super::VerifyReport), RunpackError> {
    let chain = SessionChain::read(chain_path)?;
    let cp = chain.checkpoint(reference)?.clone();
    let n = cp.checkpoint_index;
    let name = chain_path.display();
    if !cp.digest_matches() {
        return Err(RunpackError::Invalid(format!(
            "session chain {name}: checkpoint_digest mismatch at checkpoint {n}"
        )));
    }
    let report = verify_runpack_file(Path::new(&cp.runpack_path), &VerifyOptions::default())
        .map_err(|e| RunpackError::Invalid(format!("session chain {name}: checkpoint {n}: {e}")))?;
    if !report.is_ok(false) || report.manifest_digest != cp.manifest_digest {
        return Err(RunpackError::Invalid(format!(
            "session chain {name}: checkpoint {n} runpack does not verify or does not match the chain"
        )));
    }
    Ok((cp, report))
}

/// The outcome of [`verify_session_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct SessionChainReport {
    /// The session.
    pub session_id: String,
    /// The session's run id.
    pub run_id: String,
    /// How many checkpoints were checked.
    pub checkpoints_checked: usize,
    /// Broken links: indexes, previous digests, sequence overlaps,
    /// recomputed checkpoint digests.
    pub linkage_errors: Vec<String>,
    /// Checkpoint runpacks that do not verify or do not match.
    pub checkpoint_errors: Vec<String>,
}

impl SessionChainReport {
    /// Whether the chain verified: no linkage and no checkpoint errors.
    pub fn is_ok(&self) -> bool {
        self.linkage_errors.is_empty() && self.checkpoint_errors.is_empty()
    }
}

/// Verifies a session chain file and every runpack it names.
///
/// Relative `runpack_path`s resolve against `base_dir` when given, else
/// against the working directory (the reference's behaviour).
///
/// Checks, per checkpoint: the index is the previous one plus one; from the
/// second on, `prev_checkpoint_digest` equals the previous checkpoint's
/// digest; the sequence range is well-formed and does not overlap the
/// previous one; the checkpoint digest recomputes; the checkpoint belongs to
/// the chain's session; the runpack verifies (no missing, mismatched or
/// undeclared files, no failed signature, a verified signature when
/// required) and its manifest digest is the one recorded.
pub fn verify_session_chain(
    path: &Path,
    base_dir: Option<&Path>,
    options: &VerifyOptions,
) -> Result<SessionChainReport, RunpackError> {
    let chain = SessionChain::read(path)?;
    Ok(verify_chain(&chain, base_dir, options))
}

/// [`verify_session_chain`] over an already parsed chain.
pub fn verify_chain(
    chain: &SessionChain,
    base_dir: Option<&Path>,
    options: &VerifyOptions,
) -> SessionChainReport {
    let mut report = SessionChainReport {
        session_id: chain.session_id.clone(),
        run_id: chain.run_id.clone(),
        checkpoints_checked: chain.checkpoints.len(),
        ..SessionChainReport::default()
    };
    let mut last_digest = String::new();
    let mut last_index = 0_i64;
    let mut last_end = 0_i64;
    for (pos, cp) in chain.checkpoints.iter().enumerate() {
        let n = cp.checkpoint_index;
        let link = &mut report.linkage_errors;
        if Some(n) != last_index.checked_add(1) {
            link.push(format!("checkpoint index mismatch at position {pos}"));
        }
        if n > 1 && cp.prev_checkpoint_digest != last_digest {
            link.push(format!("prev_checkpoint_digest mismatch at checkpoint {n}"));
        }
        if n <= 1 && !cp.prev_checkpoint_digest.is_empty() && pos == 0 {
            link.push(format!(
                "first checkpoint {n} must not carry prev_checkpoint_digest"
            ));
        }
        if cp.sequence_start <= last_end {
            link.push(format!("sequence overlap at checkpoint {n}"));
        }
        if cp.sequence_end < cp.sequence_start {
            link.push(format!("sequence range invalid at checkpoint {n}"));
        }
        let expected = checkpoint_digest(
            &cp.manifest_digest,
            &cp.prev_checkpoint_digest,
            n,
            cp.sequence_start,
            cp.sequence_end,
        );
        if cp.checkpoint_digest != expected {
            link.push(format!("checkpoint_digest mismatch at checkpoint {n}"));
        }
        if (!cp.session_id.is_empty() && cp.session_id != chain.session_id)
            || (!cp.run_id.is_empty() && cp.run_id != chain.run_id)
        {
            link.push(format!("checkpoint {n} belongs to another session or run"));
        }
        check_runpack(cp, base_dir, options, &mut report.checkpoint_errors);
        last_digest.clone_from(&cp.checkpoint_digest);
        last_index = n;
        last_end = cp.sequence_end;
    }
    report
}

impl SessionCheckpoint {
    /// The run id of this checkpoint's runpack: `<run_id>_cp_<NNNN>`.
    pub fn runpack_run_id(&self) -> String {
        format!("{}_cp_{:04}", self.run_id, self.checkpoint_index)
    }

    /// Whether `checkpoint_digest` recomputes from the other fields.
    pub fn digest_matches(&self) -> bool {
        checkpoint_digest(
            &self.manifest_digest,
            &self.prev_checkpoint_digest,
            self.checkpoint_index,
            self.sequence_start,
            self.sequence_end,
        ) == self.checkpoint_digest
    }
}

fn resolve(runpack_path: &str, base_dir: Option<&Path>) -> PathBuf {
    let p = PathBuf::from(runpack_path);
    match base_dir {
        Some(base) if p.is_relative() => base.join(p),
        _ => p,
    }
}

fn check_runpack(
    cp: &SessionCheckpoint,
    base_dir: Option<&Path>,
    options: &VerifyOptions,
    errors: &mut Vec<String>,
) {
    let n = cp.checkpoint_index;
    let path = resolve(&cp.runpack_path, base_dir);
    match verify_runpack_file(&path, options) {
        Err(e) => errors.push(format!("checkpoint {n} verify error: {e}")),
        Ok(r) => {
            if r.manifest_digest != cp.manifest_digest {
                errors.push(format!("checkpoint {n} manifest digest mismatch"));
            }
            if !r.missing_files.is_empty()
                || !r.hash_mismatches.is_empty()
                || !r.undeclared_files.is_empty()
            {
                errors.push(format!("checkpoint {n} runpack integrity failure"));
            }
            let failed = r.signature_status == SignatureStatus::Failed
                || (options.require_signature && r.signature_status != SignatureStatus::Verified);
            if failed {
                errors.push(format!("checkpoint {n} signature verification failed"));
            }
        }
    }
}

/// Compares two session chains by checkpoint digests (what `gait run diff`
/// reports for two `.json` chains): checkpoints are matched by index; a
/// different `checkpoint_digest` is `checkpoint_<n>` in `files_changed`,
/// unmatched ones are `left_only_checkpoint_<n>` / `right_only_checkpoint_<n>`
/// (sorted), and any of these marks the manifest, intents, results and refs
/// as changed.
pub fn diff_session_chains(
    left: &SessionChain,
    right: &SessionChain,
    privacy: super::DiffPrivacy,
) -> super::RunpackDiff {
    use std::collections::BTreeMap;
    let by_index = |c: &SessionChain| -> BTreeMap<i64, String> {
        c.checkpoints
            .iter()
            .map(|cp| (cp.checkpoint_index, cp.checkpoint_digest.clone()))
            .collect()
    };
    let (l, r) = (by_index(left), by_index(right));
    let mut files = Vec::new();
    for (idx, digest) in &l {
        match r.get(idx) {
            None => files.push(format!("left_only_checkpoint_{idx}")),
            Some(other) if other != digest => files.push(format!("checkpoint_{idx}")),
            Some(_) => {}
        }
    }
    for idx in r.keys().filter(|i| !l.contains_key(i)) {
        files.push(format!("right_only_checkpoint_{idx}"));
    }
    files.sort();
    let changed = !files.is_empty();
    let summary = super::DiffSummary {
        run_id_left: left.run_id.clone(),
        run_id_right: right.run_id.clone(),
        manifest_changed: changed,
        files_changed: files,
        intents_changed: changed,
        results_changed: changed,
        refs_changed: changed,
        ..super::DiffSummary::default()
    };
    super::RunpackDiff { privacy, summary }
}
