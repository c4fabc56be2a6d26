//! The provenance statement: an in-toto Statement v1 with a SLSA
//! Provenance v1 predicate.

use serde_json::{Map, Value, json};

use crate::error::{BuildInfoError, ProvenanceError};
use crate::sums::ChecksumEntry;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// `predicateType`: SLSA Provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// `predicate.buildDefinition.buildType` of a Gait release build.
pub const BUILD_TYPE: &str = "https://example.invalid/gait-rs/release-build/v1";

/// What the provenance statement records about the build. Empty optional
/// fields are left out of the statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BuildInfo {
    /// Who built it (`runDetails.builder.id`), e.g. a CI job URL or
    /// `local`.
    pub builder_id: String,
    /// The git commit the release was built from.
    pub source_commit: String,
    /// SHA-256 hex of the `Cargo.lock` the build resolved dependencies from.
    pub cargo_lock_sha256: String,
    /// The toolchain version (`rustc -V`).
    pub toolchain: String,
    /// The command that built the release.
    pub build_command: String,
}

impl BuildInfo {
    /// Build information with a builder id; set the other fields directly.
    pub fn new(builder_id: &str) -> Self {
        Self {
            builder_id: builder_id.to_owned(),
            ..Self::default()
        }
    }

    /// Checks the fields: a builder id is required, a source commit must be
    /// 40 or 64 hex characters and the `Cargo.lock` digest 64 hex
    /// characters when given. The error names the bad field
    /// ([`BuildInfoError::field`]).
    pub fn validate(&self) -> Result<(), BuildInfoError> {
        if self.builder_id.trim().is_empty() {
            return Err(BuildInfoError::EmptyBuilderId);
        }
        let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        let commit = self.source_commit.trim();
        if !commit.is_empty() && (!(commit.len() == 40 || commit.len() == 64) || !hex(commit)) {
            return Err(BuildInfoError::SourceCommit {
                commit: commit.to_owned(),
            });
        }
        let lock = self.cargo_lock_sha256.trim();
        if !lock.is_empty() && (lock.len() != 64 || !hex(lock)) {
            return Err(BuildInfoError::CargoLockDigest);
        }
        Ok(())
    }
}

/// The statement for `entries` built as `build` describes. No timestamps:
/// the same release and build information always give the same statement.
pub fn statement(entries: &[ChecksumEntry], build: &BuildInfo) -> Value {
    let mut sorted: Vec<&ChecksumEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let subject: Vec<Value> = sorted
        .iter()
        .map(|e| json!({"name": e.name, "digest": {"sha256": e.sha256.to_hex()}}))
        .collect();
    let mut external = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: &str| {
        let v = v.trim();
        if !v.is_empty() {
            m.insert(k.to_owned(), Value::String(v.to_owned()));
        }
    };
    put(&mut external, "buildCommand", &build.build_command);
    put(
        &mut external,
        "sourceCommit",
        &build.source_commit.to_ascii_lowercase(),
    );
    let mut internal = Map::new();
    put(&mut internal, "toolchain", &build.toolchain);
    let mut deps = Vec::new();
    let commit = build.source_commit.trim().to_ascii_lowercase();
    if !commit.is_empty() {
        deps.push(json!({"name": "source", "digest": {"gitCommit": commit}}));
    }
    let lock = build.cargo_lock_sha256.trim().to_ascii_lowercase();
    if !lock.is_empty() {
        deps.push(json!({"name": "Cargo.lock", "digest": {"sha256": lock}}));
    }
    let mut definition = Map::new();
    definition.insert("buildType".into(), Value::String(BUILD_TYPE.into()));
    definition.insert("externalParameters".into(), Value::Object(external));
    if !internal.is_empty() {
        definition.insert("internalParameters".into(), Value::Object(internal));
    }
    if !deps.is_empty() {
        definition.insert("resolvedDependencies".into(), Value::Array(deps));
    }
    json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": Value::Object(definition),
            "runDetails": {"builder": {"id": build.builder_id.trim()}},
        },
    })
}

/// The subjects of a statement as `(name, sha256 hex)` pairs, or why the
/// statement is not one this crate accepts (wrong `_type` or
/// `predicateType`, malformed subjects).
pub fn subjects(statement: &Value) -> Result<Vec<(String, String)>, ProvenanceError> {
    if statement.get("_type").and_then(Value::as_str) != Some(STATEMENT_TYPE) {
        return Err(ProvenanceError::StatementType);
    }
    if statement.get("predicateType").and_then(Value::as_str) != Some(PREDICATE_TYPE) {
        return Err(ProvenanceError::PredicateType);
    }
    let Some(list) = statement.get("subject").and_then(Value::as_array) else {
        return Err(ProvenanceError::SubjectNotArray);
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let name = s.get("name").and_then(Value::as_str);
        let digest = s
            .get("digest")
            .and_then(|d| d.get("sha256"))
            .and_then(Value::as_str);
        match (name, digest) {
            (Some(n), Some(d)) => out.push((n.to_owned(), d.to_owned())),
            _ => return Err(ProvenanceError::Subject { index: i }),
        }
    }
    out.sort();
    Ok(out)
}
