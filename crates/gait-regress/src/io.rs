//! File helpers: bounded reads, Go-style indented JSON, atomic writes.

use std::io::Read as _;
use std::path::Path;

use serde::Serialize;

use crate::RegressError;

/// The largest `gait.yaml`, `fixture.json` or capture receipt read.
pub(crate) const MAX_JSON_FILE_BYTES: u64 = 16 << 20;

/// Reads at most `limit` bytes of `path`; a missing file or one over the
/// limit is invalid input naming the file.
pub(crate) fn read_bounded(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, RegressError> {
    let read_err = |source| RegressError::Read {
        context: format!("read {what} {}", path.display()),
        source,
    };
    let file = gait_sign::open_regular_file(path).map_err(read_err)?;
    let mut buf = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(read_err)?;
    if buf.len() as u64 > limit {
        return Err(RegressError::invalid(format!(
            "read {what} {}: larger than {limit} bytes",
            path.display()
        )));
    }
    Ok(buf)
}

/// Serializes `value` as Go's `json.MarshalIndent(v, "", "  ")` does:
/// fields in declaration order, maps sorted by key, two-space indent,
/// `<`, `>`, `&`, U+2028 and U+2029 escaped; a newline is appended.
pub fn to_go_indented_json<T: Serialize>(value: &T) -> Result<Vec<u8>, RegressError> {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    value.serialize(&mut ser).map_err(RegressError::Encode)?;
    // serde_json writes UTF-8 only.
    let text = String::from_utf8_lossy(&buf);
    // These characters only occur inside strings in JSON text.
    let mut out = text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
        .into_bytes();
    out.push(b'\n');
    Ok(out)
}

/// Writes `bytes` atomically with mode 0600, creating missing parent
/// directories with mode 0750.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], what: &str) -> Result<(), RegressError> {
    let io = |source| RegressError::Write {
        context: format!("write {what} {}", path.display()),
        source,
    };
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && *p != Path::new("."))
    {
        gait_sign::create_private_dir(parent).map_err(io)?;
    }
    gait_sign::write_file_atomic(path, bytes, gait_sign::PRIVATE_FILE_MODE, true).map_err(io)
}

/// Joins a relative slash path onto `base` the way Go's `filepath.Join`
/// does (lexically cleaned); an absolute `rel` is returned cleaned.
pub(crate) fn go_join(base: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        return gait_digest::clean_path(rel);
    }
    if base.is_empty() {
        return gait_digest::clean_path(rel);
    }
    gait_digest::clean_path(&format!("{base}/{rel}"))
}

/// Go's `filepath.Dir` on slash paths.
pub(crate) fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => gait_digest::clean_path(path.get(..i).unwrap_or_default()),
        None => ".".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_helpers() {
        assert_eq!(
            go_join(".", "fixtures/a/runpack.zip"),
            "fixtures/a/runpack.zip"
        );
        assert_eq!(go_join("work", "x.zip"), "work/x.zip");
        assert_eq!(go_join("work", "/abs/x.zip"), "/abs/x.zip");
        assert_eq!(go_dir("fixtures/a/runpack.zip"), "fixtures/a");
        assert_eq!(go_dir("gait.yaml"), ".");
        assert_eq!(go_dir("/gait.yaml"), "/");
    }

    #[test]
    fn indented_json_matches_go() {
        #[derive(Serialize)]
        struct S {
            b: Vec<String>,
            a: Option<Vec<String>>,
            m: std::collections::BTreeMap<String, i32>,
        }
        let s = S {
            b: vec![],
            a: None,
            m: [("z".to_owned(), 1), ("<".to_owned(), 2)]
                .into_iter()
                .collect(),
        };
        let text =
            String::from_utf8(to_go_indented_json(&s).unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            text,
            "{\n  \"b\": [],\n  \"a\": null,\n  \"m\": {\n    \"\\u003c\": 2,\n    \"z\": 1\n  }\n}\n"
        );
    }
}
