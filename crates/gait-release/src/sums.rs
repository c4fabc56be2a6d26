//! The `SHA256SUMS` file: `<hex>  <name>` lines sorted by name.

use gait_digest::Sha256Digest;

use crate::error::SumsError;

/// One line of a checksum file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChecksumEntry {
    /// The file name (no directory part).
    pub name: String,
    /// The SHA-256 of the file's bytes.
    pub sha256: Sha256Digest,
}

/// Whether `name` may appear in a release: a plain, printable file name
/// without separators, so that it fits on one checksum line and resolves
/// inside the release directory only.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
}

/// Renders entries as the checksum file: sorted by name (byte order), one
/// `<lowercase hex>  <name>\n` line each (the format `sha256sum -c` reads).
pub fn render(entries: &[ChecksumEntry]) -> String {
    let mut sorted: Vec<&ChecksumEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut out = String::new();
    for e in sorted {
        out.push_str(&e.sha256.to_hex());
        out.push_str("  ");
        out.push_str(&e.name);
        out.push('\n');
    }
    out
}

/// Parses a checksum file strictly: UTF-8, every line
/// `<64 lowercase hex>  <name>` ending in `\n`, valid names, names strictly
/// increasing (so sorted and unique). The error says which line is wrong.
pub fn parse(bytes: &[u8]) -> Result<Vec<ChecksumEntry>, SumsError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SumsError::NotUtf8)?;
    if text.is_empty() {
        return Err(SumsError::Empty);
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err(SumsError::MissingFinalNewline);
    };
    let mut entries: Vec<ChecksumEntry> = Vec::new();
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        let (hex, name) = line
            .split_once("  ")
            .ok_or(SumsError::Malformed { line: n })?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(SumsError::Digest { line: n });
        }
        let sha256 = Sha256Digest::parse_hex(hex)
            .map_err(|source| SumsError::DigestParse { line: n, source })?;
        if !valid_file_name(name) {
            return Err(SumsError::InvalidName {
                line: n,
                name: name.to_owned(),
            });
        }
        if let Some(prev) = entries.last() {
            if prev.name.as_bytes() >= name.as_bytes() {
                return Err(SumsError::OutOfOrder {
                    line: n,
                    name: name.to_owned(),
                });
            }
        }
        entries.push(ChecksumEntry {
            name: name.to_owned(),
            sha256,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn entry(name: &str, b: u8) -> ChecksumEntry {
        ChecksumEntry {
            name: name.to_owned(),
            sha256: Sha256Digest::from_bytes([b; 32]),
        }
    }

    #[test]
    fn render_sorts_and_parse_round_trips() {
        let entries = vec![entry("b.txt", 2), entry("a.bin", 1), entry("B", 3)];
        let text = render(&entries);
        let names: Vec<String> = parse(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["B", "a.bin", "b.txt"]);
        assert!(text.starts_with(&format!("{}  B\n", "03".repeat(32))));
    }

    #[test]
    fn parse_rejects_malformed_files() {
        let h = "ab".repeat(32);
        for bad in [
            String::new(),
            format!("{h}  a"),
            format!("{h} a\n"),
            format!("{}  a\n", "AB".repeat(32)),
            format!("{h}  b\n{h}  a\n"),
            format!("{h}  a\n{h}  a\n"),
            format!("{h}  ../a\n"),
            format!("{h}  a\n\n"),
            format!("{h}  a\r\n"),
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
