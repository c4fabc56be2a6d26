//! Key role records: which role a key pair on disk was made for.
//!
//! Key files keep the reference's format (one line of base64), which has no
//! room for a role. A role record is a small JSON file written beside the
//! private key by `gait keys init --role <role>`:
//!
//! ```text
//! <dir>/<prefix>_private.key
//! <dir>/<prefix>_public.key
//! <dir>/<prefix>_private.key.role.json   {"key_id":"<hex>","role":"release","schema_id":"gait.key.role","schema_version":"1.0.0"}
//! ```
//!
//! The record's path is the private key's path plus `.role.json`
//! ([`role_record_path`]). A command that needs a key of one role reads the
//! record with [`check_key_role`]: a record for another role, for another
//! key or that cannot be read is refused; a key without a record is
//! accepted, and the caller warns (keys made before roles were recorded keep
//! working).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::files::{PRIVATE_FILE_MODE, write_file_atomic};
use crate::key::KeyId;
use crate::role::RoleKind;

/// `schema_id` of a role record.
pub const ROLE_RECORD_SCHEMA_ID: &str = "gait.key.role";
/// `schema_version` of a role record.
pub const ROLE_RECORD_SCHEMA_VERSION: &str = "1.0.0";
/// Suffix appended to the private key's path to name its role record.
pub const ROLE_RECORD_SUFFIX: &str = ".role.json";
/// The largest role record read.
const MAX_ROLE_RECORD_BYTES: u64 = 4096;

/// The role record of a key pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyRoleRecord {
    /// Always [`ROLE_RECORD_SCHEMA_ID`].
    pub schema_id: String,
    /// Always [`ROLE_RECORD_SCHEMA_VERSION`].
    pub schema_version: String,
    /// `trace`, `approval`, `delegation` or `release`.
    pub role: String,
    /// The key id (hex SHA-256 of the public key bytes).
    pub key_id: String,
}

impl KeyRoleRecord {
    /// A record for `role` and `key_id`.
    pub fn new(role: RoleKind, key_id: &KeyId) -> Self {
        Self {
            schema_id: ROLE_RECORD_SCHEMA_ID.to_owned(),
            schema_version: ROLE_RECORD_SCHEMA_VERSION.to_owned(),
            role: role.as_str().to_owned(),
            key_id: key_id.to_hex(),
        }
    }

    /// The recorded role, if it names one.
    pub fn role_kind(&self) -> Option<RoleKind> {
        RoleKind::parse(&self.role)
    }
}

/// Where the role record of the private key at `private_key_path` lives:
/// the same path with [`ROLE_RECORD_SUFFIX`] appended.
pub fn role_record_path(private_key_path: &Path) -> PathBuf {
    let mut name = private_key_path.as_os_str().to_owned();
    name.push(ROLE_RECORD_SUFFIX);
    PathBuf::from(name)
}

/// Writes the role record for the private key at `private_key_path`
/// (canonical JSON and a newline, mode 0600, atomically) and returns its
/// path.
pub fn write_role_record(
    private_key_path: &Path,
    record: &KeyRoleRecord,
    overwrite: bool,
) -> Result<PathBuf, Error> {
    let path = role_record_path(private_key_path);
    let mut bytes = gait_digest::canonical::to_vec_from(record)?;
    bytes.push(b'\n');
    write_file_atomic(&path, &bytes, PRIVATE_FILE_MODE, overwrite)?;
    Ok(path)
}

/// Reads the role record of the private key at `private_key_path`:
/// `Ok(None)` when there is none, an error when it exists but is not a
/// valid record.
pub fn read_role_record(private_key_path: &Path) -> Result<Option<KeyRoleRecord>, Error> {
    let path = role_record_path(private_key_path);
    let bad = |reason: String| Error::RoleRecord {
        path: path.clone(),
        reason,
    };
    let file = match crate::files::open_regular_file(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut buf = Vec::new();
    file.take(MAX_ROLE_RECORD_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    if buf.len() as u64 > MAX_ROLE_RECORD_BYTES {
        return Err(bad(format!("larger than {MAX_ROLE_RECORD_BYTES} bytes")));
    }
    let record: KeyRoleRecord = serde_json::from_slice(&buf).map_err(|e| bad(e.to_string()))?;
    if record.schema_id != ROLE_RECORD_SCHEMA_ID {
        return Err(bad(format!(
            "schema_id must be {ROLE_RECORD_SCHEMA_ID}, found {:?}",
            record.schema_id
        )));
    }
    if record.schema_version != ROLE_RECORD_SCHEMA_VERSION {
        return Err(bad(format!(
            "unsupported schema_version {:?}",
            record.schema_version
        )));
    }
    if record.role_kind().is_none() {
        return Err(bad(format!("unknown role {:?}", record.role)));
    }
    Ok(Some(record))
}

/// What [`check_key_role`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoleCheck {
    /// A record names this key and the wanted role.
    Recorded(PathBuf),
    /// No record exists: accepted, but the caller should warn.
    Unrecorded,
}

/// Checks that the key at `private_key_path`, whose id is `key_id`, may be
/// used for `wanted`: its role record, if any, must name `wanted` and
/// `key_id`. A record for another role or another key is
/// [`Error::RoleMismatch`]; an unreadable or malformed record is
/// [`Error::RoleRecord`].
pub fn check_key_role(
    private_key_path: &Path,
    key_id: &KeyId,
    wanted: RoleKind,
) -> Result<RoleCheck, Error> {
    let Some(record) = read_role_record(private_key_path)? else {
        return Ok(RoleCheck::Unrecorded);
    };
    let path = role_record_path(private_key_path);
    if record.key_id != key_id.to_hex() {
        return Err(Error::RoleRecord {
            path,
            reason: format!(
                "records key_id {} but the key's id is {}",
                record.key_id,
                key_id.to_hex()
            ),
        });
    }
    if record.role != wanted.as_str() {
        return Err(Error::RoleMismatch {
            path,
            recorded: record.role,
            wanted: wanted.as_str(),
        });
    }
    Ok(RoleCheck::Recorded(path))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::{Release, SigningKey, Trace};
    use std::fs;

    #[test]
    fn record_round_trip_and_role_checks() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("rel_private.key");
        let key = SigningKey::<Release>::generate().unwrap();
        assert_eq!(
            check_key_role(&key_path, &key.key_id(), RoleKind::Release).unwrap(),
            RoleCheck::Unrecorded
        );
        let record = KeyRoleRecord::new(RoleKind::Release, &key.key_id());
        let path = write_role_record(&key_path, &record, false).unwrap();
        assert_eq!(path, dir.path().join("rel_private.key.role.json"));
        assert_eq!(read_role_record(&key_path).unwrap(), Some(record));
        assert!(matches!(
            check_key_role(&key_path, &key.key_id(), RoleKind::Release).unwrap(),
            RoleCheck::Recorded(_)
        ));
        let err = check_key_role(&key_path, &key.key_id(), RoleKind::Trace).unwrap_err();
        assert!(matches!(err, Error::RoleMismatch { .. }), "{err}");
        let other = SigningKey::<Trace>::generate().unwrap();
        let err = check_key_role(&key_path, &other.key_id(), RoleKind::Release).unwrap_err();
        assert!(matches!(err, Error::RoleRecord { .. }), "{err}");
    }

    #[test]
    fn malformed_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("k_private.key");
        let key = SigningKey::<Release>::generate().unwrap();
        for text in [
            "not json",
            r#"{"schema_id":"gait.key.role","schema_version":"1.0.0","role":"root","key_id":"x"}"#,
            r#"{"schema_id":"other","schema_version":"1.0.0","role":"release","key_id":"x"}"#,
            r#"{"schema_id":"gait.key.role","schema_version":"1.0.0","role":"release","key_id":"x","extra":1}"#,
        ] {
            fs::write(role_record_path(&key_path), text).unwrap();
            let err = check_key_role(&key_path, &key.key_id(), RoleKind::Release).unwrap_err();
            assert!(matches!(err, Error::RoleRecord { .. }), "{text}: {err}");
        }
    }
}
