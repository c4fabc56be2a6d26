//! `gait pack export`: a pack's verification and run metrics as an index
//! record, written as OTEL-style JSONL and/or PostgreSQL upsert SQL.
//!
//! [`build_export_record`] verifies the pack (no key, no signature
//! requirement) and inspects it; the metrics come from the embedded (or
//! legacy) runpack's results, else from the inspect lineage.
//! [`otel_jsonl`] renders one `gait.pack.verify` span, one metadata event
//! and six metrics; [`postgres_index_sql`] renders an upsert keyed by
//! `pack_id`, optionally preceded by `CREATE TABLE`/`CREATE INDEX` DDL.
//! Every string from the pack reaches the SQL only as a quoted literal and
//! the table name must be a plain identifier (or `schema.table`).

use std::fmt::Write as _;
use std::path::Path;

use gait_digest::GoTime;
use gait_digest::go_json::write_sorted_exact_integers;
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::PackError;
use super::legacy::{LegacySource, read_legacy};
use super::manifest::{MANIFEST_FILE, deterministic_time, is_sha256_hex};
use super::payload::SOURCE_RUNPACK_FILE;
use super::verify::{MAX_PACK_ENTRY_BYTES, VerifyOptions, open_path, verify_pack};
use super::view::{InspectReport, inspect_pack};
use crate::runpack::{ResultRecord, Runpack};

/// The default PostgreSQL table of the pack index.
pub const DEFAULT_POSTGRES_TABLE: &str = "gait_pack_index";

/// Tool-call, policy, approval and regress counts of an exported pack.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExportMetrics {
    /// Results (or intents, when there are no results).
    pub tool_calls_total: i64,
    /// Results with status `ok`.
    pub tool_calls_success: i64,
    /// `tool_calls_success / tool_calls_total` (0 when there are none).
    #[serde(serialize_with = "go_float")]
    pub tool_calls_success_rate: f64,
    /// Results whose `verdict` is `block`.
    pub policy_blocked: i64,
    /// Results whose `verdict` asks for approval.
    pub approval_required: i64,
    /// Results that report a regress failure.
    pub regress_failures: i64,
}

/// The export record of one pack (the `export` object of the CLI output).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportRecord {
    /// The pack id (a legacy runpack's manifest digest).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_id: String,
    /// The pack type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pack_type: String,
    /// The source reference.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_ref: String,
    /// SHA-256 of the canonical manifest (falls back to the pack id).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub manifest_digest: String,
    /// Declared files checked.
    pub files_checked: usize,
    /// Number of hash mismatches.
    pub hash_mismatches: usize,
    /// Number of missing files.
    pub missing_files: usize,
    /// Number of undeclared files.
    pub undeclared_files: usize,
    /// `verified`, `failed`, `missing` or `skipped`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub signature_status: String,
    /// Signatures present.
    pub signatures_total: usize,
    /// Signatures that verified.
    pub signatures_valid: usize,
    /// The manifest's (or payload's) creation time, UTC.
    pub created_at: GoTime,
    /// Run metrics.
    pub metrics: ExportMetrics,
}

impl ExportRecord {
    /// The record as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// No missing, mismatched or undeclared files.
    pub fn integrity_ok(&self) -> bool {
        self.hash_mismatches == 0 && self.missing_files == 0 && self.undeclared_files == 0
    }
}

/// Serializes a float as Go does for integral values (`1`, not `1.0`).
fn go_float<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    float_value(*v).serialize(s)
}

fn float_value(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation, reason = "integral and in range")]
        return Value::from(v as i64);
    }
    serde_json::Number::from_f64(v).map_or(Value::from(0), Value::Number)
}

/// Verifies and inspects the pack at `path` and builds its export record.
/// Verification errors (for example a `pack_id` mismatch) are returned as
/// errors; a report with failures still gives a record.
pub fn build_export_record(path: &Path) -> Result<ExportRecord, PackError> {
    let report = verify_pack(path, &VerifyOptions::default())?;
    let inspect = inspect_pack(path)?;
    let pick = |a: &str, b: &str| {
        let a = a.trim();
        if a.is_empty() { b.trim() } else { a }.to_owned()
    };
    let mut record = ExportRecord {
        pack_id: pick(&report.pack_id, &inspect.pack_id),
        pack_type: pick(&report.pack_type, &inspect.pack_type),
        source_ref: pick(&report.source_ref, &inspect.source_ref),
        manifest_digest: String::new(),
        files_checked: report.files_checked,
        hash_mismatches: report.hash_mismatches.len(),
        missing_files: report.missing_files.len(),
        undeclared_files: report.undeclared_files.len(),
        signature_status: report.signature_status.as_str().to_owned(),
        signatures_total: report.signatures_total,
        signatures_valid: report.signatures_valid,
        created_at: created_at(&inspect),
        metrics: metrics(path, &inspect),
    };
    record.manifest_digest = manifest_digest(path, &inspect).unwrap_or_default();
    if record.manifest_digest.is_empty() {
        record.manifest_digest.clone_from(&record.pack_id);
    }
    Ok(record)
}

fn created_at(inspect: &InspectReport) -> GoTime {
    let manifest = inspect.manifest.as_ref().map(|m| m.created_at);
    let payload = inspect.run_payload.as_ref().map(|p| p.created_at);
    [manifest, payload]
        .into_iter()
        .flatten()
        .find(|t| !t.is_zero())
        .map_or_else(deterministic_time, GoTime::to_utc)
}

/// SHA-256 of the canonical `pack_manifest.json` (or legacy
/// `manifest.json`), else the run payload's manifest digest.
fn manifest_digest(path: &Path, inspect: &InspectReport) -> Option<String> {
    if let Ok(mut archive) = open_path(path) {
        for name in [MANIFEST_FILE, "manifest.json"] {
            if archive.entry(name).is_some() {
                let bytes = archive.read(name, MAX_PACK_ENTRY_BYTES).ok()?;
                let canonical = gait_digest::canonical::from_slice(&bytes).ok()?;
                return Some(gait_digest::sha256(&canonical).to_hex());
            }
        }
    }
    inspect
        .run_payload
        .as_ref()
        .map(|p| p.manifest_digest.trim().to_owned())
        .filter(|d| !d.is_empty())
}

/// The runpack behind a pack: `source/runpack.zip`, or the legacy runpack
/// itself.
fn export_runpack(path: &Path) -> Option<Runpack> {
    let mut archive = open_path(path).ok()?;
    if archive.entry(SOURCE_RUNPACK_FILE).is_some() {
        let bytes = archive
            .read(SOURCE_RUNPACK_FILE, MAX_PACK_ENTRY_BYTES)
            .ok()?;
        return read_legacy(LegacySource::Bytes(&bytes)).ok();
    }
    if archive.entry("manifest.json").is_some() {
        drop(archive);
        return read_legacy(LegacySource::Path(path)).ok();
    }
    None
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn metrics(path: &Path, inspect: &InspectReport) -> ExportMetrics {
    let mut m = ExportMetrics::default();
    if let Some(data) = export_runpack(path) {
        m.tool_calls_total = count(if data.results.is_empty() {
            data.intents.len()
        } else {
            data.results.len()
        });
        for r in &data.results {
            if r.status.trim().eq_ignore_ascii_case("ok") {
                m.tool_calls_success += 1;
            }
            match verdict(r) {
                Some("block") => m.policy_blocked += 1,
                Some("require_approval") => m.approval_required += 1,
                _ => {}
            }
            if is_regress_failure(r) {
                m.regress_failures += 1;
            }
        }
    } else if let Some(lineage) = &inspect.run_lineage {
        m.tool_calls_total = count(lineage.intent_results.len());
        m.tool_calls_success = count(
            lineage
                .intent_results
                .iter()
                .filter(|l| l.status.trim().eq_ignore_ascii_case("ok"))
                .count(),
        );
    }
    if m.tool_calls_total > 0 {
        #[allow(clippy::cast_precision_loss, reason = "a ratio of counts")]
        let rate = m.tool_calls_success as f64 / m.tool_calls_total as f64;
        m.tool_calls_success_rate = rate;
    }
    m
}

fn str_of<'a>(payload: &'a Map<String, Value>, key: &str) -> &'a str {
    payload.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// `result.verdict` normalized to `allow`, `block` or `require_approval`.
fn verdict(r: &ResultRecord) -> Option<&'static str> {
    let payload = r.result.as_ref()?;
    match str_of(payload, "verdict")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "allow" => Some("allow"),
        "block" => Some("block"),
        "require_approval" | "approval_required" | "needs_approval" | "needsapproval" => {
            Some("require_approval")
        }
        _ => None,
    }
}

/// A JSON number truncated to an integer, when it fits an `i64`.
fn int_of(v: Option<&Value>) -> Option<i64> {
    let n = v?.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?.trunc();
    // i64 covers [-2^63, 2^63).
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    Some(f as i64)
}

fn is_regress_failure(r: &ResultRecord) -> bool {
    let Some(payload) = r.result.as_ref().filter(|p| !p.is_empty()) else {
        return false;
    };
    if ["regress_failures", "failed"]
        .iter()
        .any(|k| int_of(payload.get(*k)).is_some_and(|n| n > 0))
    {
        return true;
    }
    if ["regress_status", "status", "result_status"]
        .iter()
        .any(|k| {
            matches!(
                str_of(payload, k).trim().to_ascii_lowercase().as_str(),
                "fail" | "failed" | "regress_failed"
            )
        })
    {
        return true;
    }
    let codes = payload
        .get("reason_codes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    codes
        .chain([str_of(payload, "reason"), str_of(payload, "failure_reason")])
        .map(|s| s.trim().to_ascii_lowercase())
        .any(|s| s.contains("regress") && (s.contains("fail") || s.contains("drift")))
}

/// OTEL trace and span ids: the first 32 and next 16 hex digits of the pack
/// id, else the manifest digest, else SHA-256 of `pack_type|source_ref`.
fn otel_ids(record: &ExportRecord) -> (String, String) {
    let pack_id = record.pack_id.trim().to_ascii_lowercase();
    let digest = record.manifest_digest.trim().to_ascii_lowercase();
    let seed = if is_sha256_hex(&pack_id) {
        pack_id
    } else if is_sha256_hex(&digest) {
        digest
    } else {
        gait_digest::sha256(
            format!("{}|{}", record.pack_type.trim(), record.source_ref.trim()).as_bytes(),
        )
        .to_hex()
    };
    (seed[..32].to_owned(), seed[32..48].to_owned())
}

/// The OTEL-style JSONL lines of a record: one `gait.pack.verify` span, one
/// `gait.pack.export.metadata` event and six `gait.pack.*` metrics, each
/// line ending in `\n`.
pub fn otel_jsonl(record: &ExportRecord) -> Vec<u8> {
    let created_at = if record.created_at.is_zero() {
        deterministic_time()
    } else {
        record.created_at.to_utc()
    };
    let nanos = i64::try_from(created_at.unix_nanos()).unwrap_or(i64::MAX);
    let (trace_id, span_id) = otel_ids(record);
    let integrity_ok = record.integrity_ok();
    let m = &record.metrics;
    let attributes = serde_json::json!({
        "gait.pack_id": record.pack_id.trim(),
        "gait.pack_type": record.pack_type.trim(),
        "gait.source_ref": record.source_ref.trim(),
        "gait.manifest_digest": record.manifest_digest.trim(),
        "gait.files_checked": record.files_checked,
        "gait.hash_mismatches": record.hash_mismatches,
        "gait.missing_files": record.missing_files,
        "gait.undeclared_files": record.undeclared_files,
        "gait.signature_status": record.signature_status.trim(),
        "gait.signatures_total": record.signatures_total,
        "gait.signatures_valid": record.signatures_valid,
        "gait.integrity_ok": integrity_ok,
        "gait.tool_calls_total": m.tool_calls_total,
        "gait.tool_calls_ok": m.tool_calls_success,
        "gait.policy_blocked": m.policy_blocked,
        "gait.approval_required": m.approval_required,
        "gait.regress_failures": m.regress_failures,
    });
    let mut lines = vec![
        serde_json::json!({
            "record_type": "span",
            "trace_id": trace_id,
            "span_id": span_id,
            "name": "gait.pack.verify",
            "start_time_unix_nano": nanos,
            "end_time_unix_nano": nanos,
            "status": {"code": if integrity_ok { "ok" } else { "error" }},
            "attributes": attributes,
            "instrumentation_scope": "gait.pack.export",
        }),
        serde_json::json!({
            "record_type": "event",
            "time_unix_nano": nanos,
            "severity_text": "INFO",
            "body": "gait.pack.export.metadata",
            "trace_id": trace_id,
            "span_id": span_id,
            "attributes": attributes,
        }),
    ];
    let metrics: [(&str, Value, &str); 6] = [
        ("gait.pack.tool_calls_total", m.tool_calls_total.into(), "1"),
        (
            "gait.pack.tool_calls_success_total",
            m.tool_calls_success.into(),
            "1",
        ),
        (
            "gait.pack.tool_calls_success_rate",
            float_value(m.tool_calls_success_rate),
            "ratio",
        ),
        (
            "gait.pack.policy_blocked_total",
            m.policy_blocked.into(),
            "1",
        ),
        (
            "gait.pack.approval_required_total",
            m.approval_required.into(),
            "1",
        ),
        (
            "gait.pack.regress_failures_total",
            m.regress_failures.into(),
            "1",
        ),
    ];
    for (name, value, unit) in metrics {
        let key = if unit == "ratio" {
            "value_double"
        } else {
            "value_int"
        };
        let mut line = serde_json::json!({
            "record_type": "metric",
            "time_unix_nano": nanos,
            "name": name,
            "unit": unit,
            "attributes": attributes,
        });
        if let Some(o) = line.as_object_mut() {
            o.insert(key.into(), value);
        }
        lines.push(line);
    }
    let mut out = Vec::new();
    for line in &lines {
        // Compact, byte-sorted keys, Go's escaping, integers exact.
        write_sorted_exact_integers(&mut out, line);
        out.push(b'\n');
    }
    out
}

/// Appends the record's OTEL lines to `path` (as the reference does),
/// replacing the file atomically with mode 0600.
pub fn write_otel_jsonl(path: &Path, record: &ExportRecord) -> Result<(), PackError> {
    if path.as_os_str().is_empty() {
        return Err(PackError::invalid("otel output path is required"));
    }
    let mut bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(PackError::Io(format!("read otel output: {e}"))),
    };
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(&otel_jsonl(record));
    write_output(path, &bytes, "write otel export record")
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_output(path: &Path, bytes: &[u8], what: &str) -> Result<(), PackError> {
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true)
        .map_err(|e| PackError::Io(format!("{what}: {e}")))
}

/// Options of [`postgres_index_sql`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSqlOptions {
    /// `table` or `schema.table`; blank means [`DEFAULT_POSTGRES_TABLE`].
    pub table: String,
    /// Emit `CREATE TABLE IF NOT EXISTS` and two indexes first.
    pub include_ddl: bool,
}

impl Default for PostgresSqlOptions {
    fn default() -> Self {
        Self {
            table: DEFAULT_POSTGRES_TABLE.into(),
            include_ddl: true,
        }
    }
}

/// Whether `s` matches `^[A-Za-z_][A-Za-z0-9_]*$`.
pub(crate) fn is_plain_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A double-quoted PostgreSQL identifier.
pub(crate) fn quote_identifier(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A single-quoted PostgreSQL string literal. Quotes are doubled; a NUL
/// (which PostgreSQL text cannot hold) is dropped. With
/// `standard_conforming_strings` (the default since 9.1) backslashes are
/// literal.
pub(crate) fn sql_string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\0' => {}
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The quoted table and the index-name prefix (lower-cased table name).
pub(crate) fn postgres_table(raw: &str) -> Result<(String, String), PackError> {
    let table = match raw.trim() {
        "" => DEFAULT_POSTGRES_TABLE,
        t => t,
    };
    let parts: Vec<&str> = table.split('.').map(str::trim).collect();
    if parts.len() > 2 {
        return Err(PackError::invalid(
            "postgres table must be <table> or <schema.table>",
        ));
    }
    if !parts.iter().all(|p| is_plain_identifier(p)) {
        return Err(PackError::invalid(
            "postgres identifier must match ^[A-Za-z_][A-Za-z0-9_]*$",
        ));
    }
    let quoted: Vec<String> = parts.iter().map(|p| quote_identifier(p)).collect();
    let prefix = parts
        .last()
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_default();
    Ok((quoted.join("."), prefix))
}

const COLUMNS: [(&str, &str); 18] = [
    ("pack_id", "TEXT PRIMARY KEY"),
    ("pack_type", "TEXT NOT NULL"),
    ("source_ref", "TEXT NOT NULL"),
    ("manifest_digest", "TEXT NOT NULL"),
    ("files_checked", "INTEGER NOT NULL"),
    ("hash_mismatches", "INTEGER NOT NULL"),
    ("missing_files", "INTEGER NOT NULL"),
    ("undeclared_files", "INTEGER NOT NULL"),
    ("signature_status", "TEXT NOT NULL"),
    ("signatures_total", "INTEGER NOT NULL"),
    ("signatures_valid", "INTEGER NOT NULL"),
    ("tool_calls_total", "INTEGER NOT NULL"),
    ("tool_calls_success", "INTEGER NOT NULL"),
    ("tool_calls_success_rate", "DOUBLE PRECISION NOT NULL"),
    ("policy_blocked", "INTEGER NOT NULL"),
    ("approval_required", "INTEGER NOT NULL"),
    ("regress_failures", "INTEGER NOT NULL"),
    ("created_at", "TIMESTAMPTZ NOT NULL"),
];

/// PostgreSQL upsert SQL (`INSERT … ON CONFLICT (pack_id) DO UPDATE`) for
/// the record, with optional DDL. Fails only on an invalid table name.
pub fn postgres_index_sql(
    record: &ExportRecord,
    options: &PostgresSqlOptions,
) -> Result<String, PackError> {
    let (table, prefix) = postgres_table(&options.table)?;
    let mut sql = String::new();
    if options.include_ddl {
        let _ = writeln!(sql, "CREATE TABLE IF NOT EXISTS {table} (");
        let defs: Vec<String> = COLUMNS.iter().map(|(c, t)| format!("  {c} {t}")).collect();
        let _ = writeln!(sql, "{}\n);", defs.join(",\n"));
        let _ = writeln!(
            sql,
            "CREATE INDEX IF NOT EXISTS {} ON {table} (pack_type, created_at DESC);",
            quote_identifier(&format!("idx_{prefix}_pack_type_created_at"))
        );
        let _ = writeln!(
            sql,
            "CREATE INDEX IF NOT EXISTS {} ON {table} (source_ref);\n",
            quote_identifier(&format!("idx_{prefix}_source_ref"))
        );
    }
    let m = &record.metrics;
    let created_at = if record.created_at.is_zero() {
        deterministic_time()
    } else {
        record.created_at.to_utc()
    };
    let text = |s: &str| sql_string_literal(s.trim());
    let values: [String; 18] = [
        text(&record.pack_id),
        text(&record.pack_type),
        text(&record.source_ref),
        text(&record.manifest_digest),
        record.files_checked.to_string(),
        record.hash_mismatches.to_string(),
        record.missing_files.to_string(),
        record.undeclared_files.to_string(),
        text(&record.signature_status),
        record.signatures_total.to_string(),
        record.signatures_valid.to_string(),
        m.tool_calls_total.to_string(),
        m.tool_calls_success.to_string(),
        format!("{:.6}", m.tool_calls_success_rate),
        m.policy_blocked.to_string(),
        m.approval_required.to_string(),
        m.regress_failures.to_string(),
        format!("{}::timestamptz", sql_string_literal(&created_at.format())),
    ];
    let names: Vec<String> = COLUMNS.iter().map(|(c, _)| format!("  {c}")).collect();
    let vals: Vec<String> = values.iter().map(|v| format!("  {v}")).collect();
    let updates: Vec<String> = COLUMNS
        .iter()
        .skip(1)
        .map(|(c, _)| format!("  {c} = EXCLUDED.{c}"))
        .collect();
    let _ = write!(
        sql,
        "INSERT INTO {table} (\n{}\n) VALUES (\n{}\n)\nON CONFLICT (pack_id) DO UPDATE SET\n{};\n",
        names.join(",\n"),
        vals.join(",\n"),
        updates.join(",\n")
    );
    Ok(sql)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failure should panic"
)]
mod tests {
    use super::*;

    fn data(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn hostile_record() -> ExportRecord {
        ExportRecord {
            pack_id: "x'; DROP TABLE x; --".into(),
            pack_type: "run".into(),
            source_ref: "o'brien\\'); DELETE FROM y; --\0".into(),
            manifest_digest: String::new(),
            files_checked: 1,
            hash_mismatches: 0,
            missing_files: 0,
            undeclared_files: 0,
            signature_status: "''".into(),
            signatures_total: 0,
            signatures_valid: 0,
            created_at: deterministic_time(),
            metrics: ExportMetrics::default(),
        }
    }

    #[test]
    fn string_literals_double_quotes() {
        assert_eq!(
            sql_string_literal("'; DROP TABLE x; --"),
            "'''; DROP TABLE x; --'"
        );
        assert_eq!(sql_string_literal("a\0b"), "'ab'");
        assert_eq!(sql_string_literal(""), "''");
        // Every quote inside the literal is doubled, so the literal never
        // ends early.
        let lit = sql_string_literal("o'brien''");
        let inner = &lit[1..lit.len() - 1];
        assert!(inner.replace("''", "").chars().all(|c| c != '\''));
    }

    #[test]
    fn hostile_values_stay_inside_literals() {
        let sql = postgres_index_sql(&hostile_record(), &PostgresSqlOptions::default()).unwrap();
        assert!(sql.contains("  'x''; DROP TABLE x; --',\n"));
        assert!(sql.contains("  'o''brien\\''); DELETE FROM y; --',\n"));
        assert!(sql.contains("  '''''',\n"));
        assert!(!sql.contains('\0'));
        // Outside string literals only our own statements remain.
        let mut outside = String::new();
        let mut in_lit = false;
        for c in sql.chars() {
            if c == '\'' {
                in_lit = !in_lit;
            } else if !in_lit {
                outside.push(c);
            }
        }
        assert!(!in_lit);
        assert!(!outside.contains("DROP"));
        assert!(!outside.contains("DELETE"));
        assert_eq!(outside.matches(';').count(), 4);
    }

    #[test]
    fn table_names_are_validated() {
        assert_eq!(
            postgres_table("").unwrap(),
            (
                "\"gait_pack_index\"".to_owned(),
                "gait_pack_index".to_owned()
            )
        );
        assert_eq!(
            postgres_table(" Audit.Pack_Index ").unwrap(),
            (
                "\"Audit\".\"Pack_Index\"".to_owned(),
                "pack_index".to_owned()
            )
        );
        for bad in [
            "x; DROP TABLE y",
            "a.b.c",
            "1abc",
            "bad-name",
            "a.",
            ".a",
            "\"quoted\"",
            "tab le",
            "é",
            "x'--",
        ] {
            assert!(postgres_table(bad).is_err(), "{bad}");
            let options = PostgresSqlOptions {
                table: bad.into(),
                include_ddl: false,
            };
            assert!(postgres_index_sql(&hostile_record(), &options).is_err());
        }
        assert!(is_plain_identifier("_a1"));
        assert!(!is_plain_identifier(""));
    }

    #[test]
    fn ddl_is_optional() {
        let mut options = PostgresSqlOptions::default();
        let sql = postgres_index_sql(&hostile_record(), &options).unwrap();
        assert!(sql.starts_with("CREATE TABLE IF NOT EXISTS \"gait_pack_index\" (\n"));
        assert!(sql.contains(
            "CREATE INDEX IF NOT EXISTS \"idx_gait_pack_index_source_ref\" ON \"gait_pack_index\" (source_ref);\n\nINSERT INTO"
        ));
        assert!(sql.contains("  '1980-01-01T00:00:00Z'::timestamptz\n)\nON CONFLICT"));
        assert!(sql.ends_with("  created_at = EXCLUDED.created_at;\n"));
        options.include_ddl = false;
        let sql = postgres_index_sql(&hostile_record(), &options).unwrap();
        assert!(sql.starts_with("INSERT INTO \"gait_pack_index\" (\n  pack_id,\n"));
    }

    #[test]
    fn record_of_signed_demo_pack() {
        let record = build_export_record(&data("pack_run_demo_signed.zip")).unwrap();
        assert_eq!(record.pack_type, "run");
        assert_eq!(record.source_ref, "run_demo");
        assert!(is_sha256_hex(&record.pack_id));
        assert!(is_sha256_hex(&record.manifest_digest));
        assert!(record.integrity_ok());
        assert_eq!(record.metrics.tool_calls_total, 3);
        assert_eq!(record.metrics.tool_calls_success, 3);
        assert_eq!(record.created_at, deterministic_time());
        let v = record.to_value();
        assert_eq!(v["metrics"]["tool_calls_success_rate"], 1);
        assert_eq!(v["created_at"], "1980-01-01T00:00:00Z");

        let otel = String::from_utf8(otel_jsonl(&record)).unwrap();
        let lines: Vec<Value> = otel
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0]["name"], "gait.pack.verify");
        assert_eq!(lines[0]["trace_id"], &record.pack_id[..32]);
        assert_eq!(lines[0]["span_id"], &record.pack_id[32..48]);
        assert_eq!(lines[0]["status"]["code"], "ok");
        assert_eq!(
            lines[0]["start_time_unix_nano"],
            315_532_800_000_000_000_i64
        );
        assert_eq!(lines[1]["body"], "gait.pack.export.metadata");
        assert_eq!(lines[2]["name"], "gait.pack.tool_calls_total");
        assert_eq!(lines[2]["value_int"], 3);
        assert_eq!(lines[4]["value_double"], 1);
        assert_eq!(lines[4]["unit"], "ratio");
        assert_eq!(lines[7]["name"], "gait.pack.regress_failures_total");
        assert_eq!(lines[1]["attributes"]["gait.tool_calls_ok"], 3);
    }

    #[test]
    fn legacy_runpack_record() {
        let record = build_export_record(&data("runpack_run_demo.zip")).unwrap();
        assert_eq!(record.pack_type, "run");
        assert_eq!(record.metrics.tool_calls_total, 3);
        assert!(is_sha256_hex(&record.manifest_digest));
    }

    #[test]
    fn regress_and_verdict_detection() {
        let mk = |v: Value| ResultRecord {
            result: v.as_object().cloned(),
            ..ResultRecord::default()
        };
        assert!(is_regress_failure(&mk(serde_json::json!({"failed": 2.7}))));
        assert!(is_regress_failure(&mk(
            serde_json::json!({"status": " FAILED "})
        )));
        assert!(is_regress_failure(&mk(
            serde_json::json!({"reason_codes": ["x", "regress_drift"]})
        )));
        assert!(!is_regress_failure(&mk(
            serde_json::json!({"failed": 0, "reason": "fail"})
        )));
        assert_eq!(
            verdict(&mk(serde_json::json!({"verdict": "Needs_Approval"}))),
            Some("require_approval")
        );
        assert_eq!(verdict(&mk(serde_json::json!({"verdict": 1}))), None);
    }
}
