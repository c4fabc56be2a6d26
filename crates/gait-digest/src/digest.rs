//! SHA-256 and BLAKE3 digests, lowercase hex and short ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::error::{Error, excerpt};

/// The lowercase hex digit for the low four bits of `n`.
pub(crate) fn hex_digit(n: u8) -> u8 {
    let n = n & 0xf;
    if n < 10 { b'0' + n } else { b'a' + n - 10 }
}

/// Lowercase hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(hex_digit(b >> 4)));
        s.push(char::from(hex_digit(b)));
    }
    s
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A SHA-256 digest.
///
/// Displays as 64 lowercase hex characters with no `sha256:` prefix, the form
/// every Gait artifact uses. Parsing trims surrounding whitespace and accepts
/// either case, as the reference compares digests case-insensitively.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes (what Gait signs).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// The 24-hex short id: the first 12 bytes in lowercase hex.
    pub fn short_id(&self) -> String {
        hex(self.0.get(..12).unwrap_or_default())
    }

    /// Parses 64 hex characters (either case, surrounding whitespace
    /// trimmed).
    pub fn parse_hex(text: &str) -> Result<Self, Error> {
        let t = text.trim().as_bytes();
        if t.len() != 64 {
            return Err(Error::InvalidDigest(excerpt(text)));
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(t.chunks_exact(2)) {
            match (
                pair.first().and_then(|&c| hex_val(c)),
                pair.get(1).and_then(|&c| hex_val(c)),
            ) {
                (Some(h), Some(l)) => *o = (h << 4) | l,
                _ => return Err(Error::InvalidDigest(excerpt(text))),
            }
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

impl FromStr for Sha256Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse_hex(s)
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest(sha2::Sha256::digest(bytes).into())
}

/// Hex of the first 12 bytes of SHA-256 of `bytes`: the reference's
/// `trace_id`, `event_id`, `token_id` and `correlation_id` form.
pub fn short_id(bytes: &[u8]) -> String {
    sha256(bytes).short_id()
}

/// SHA-256 of the canonical (RFC 8785) form of `value`.
pub fn digest_json(value: &serde_json::Value) -> Sha256Digest {
    sha256(&crate::canonical::to_vec(value))
}

/// SHA-256 of the canonical form of any serializable value.
pub fn digest_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Sha256Digest, Error> {
    Ok(sha256(&crate::canonical::to_vec_from(value)?))
}

/// Streaming SHA-256 for inputs too large to hold in memory.
///
/// Implements [`std::io::Write`] so it can be the target of `io::copy`.
#[derive(Clone, Default)]
pub struct Sha256Hasher(sha2::Sha256);

impl Sha256Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    /// The digest of everything fed so far.
    pub fn finalize(self) -> Sha256Digest {
        Sha256Digest(self.0.finalize().into())
    }
}

impl fmt::Debug for Sha256Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256Hasher")
    }
}

impl std::io::Write for Sha256Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A BLAKE3 digest: a fast content address for internal use (caches,
/// de-duplication). No reference artifact format uses it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Blake3Digest([u8; 32]);

impl Blake3Digest {
    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    /// Lowercase hex (64 characters).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Display for Blake3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Blake3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blake3Digest({})", self.to_hex())
    }
}

/// BLAKE3 of `bytes`.
pub fn blake3(bytes: &[u8]) -> Blake3Digest {
    Blake3Digest(*::blake3::hash(bytes).as_bytes())
}

/// Streaming BLAKE3.
#[derive(Clone, Default)]
pub struct Blake3Hasher(::blake3::Hasher);

impl Blake3Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    /// The digest of everything fed so far.
    pub fn finalize(&self) -> Blake3Digest {
        Blake3Digest(*self.0.finalize().as_bytes())
    }
}

impl fmt::Debug for Blake3Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Blake3Hasher")
    }
}

impl std::io::Write for Blake3Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(short_id(b"abc"), "ba7816bf8f01cfea414140de");
        assert_eq!(
            blake3(b"abc").to_hex(),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn hex_parse_is_case_insensitive_and_trims() {
        let d = sha256(b"x");
        let upper = format!("  {}\n", d.to_hex().to_uppercase());
        assert_eq!(Sha256Digest::parse_hex(&upper).unwrap(), d);
        assert!(Sha256Digest::parse_hex("sha256:00").is_err());
        assert!(Sha256Digest::parse_hex(&"g".repeat(64)).is_err());
        assert!(Sha256Digest::parse_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = Sha256Hasher::new();
        for chunk in data.chunks(977) {
            h.update(chunk);
        }
        assert_eq!(h.finalize(), sha256(&data));
        let mut b = Blake3Hasher::new();
        for chunk in data.chunks(977) {
            b.update(chunk);
        }
        assert_eq!(b.finalize(), blake3(&data));
    }
}
