//! Ed25519 keys, key ids and the reference's key text formats.

use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use gait_digest::{Sha256Digest, sha256};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::envelope::{ALG_ED25519, SignatureEnvelope};
use crate::error::{Error, VerifyFailure};
use crate::role::Role;

/// A key id: the SHA-256 of the 32 raw public-key bytes, shown as 64
/// lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(Sha256Digest);

impl KeyId {
    /// The key id of raw public-key bytes.
    pub fn of_public_bytes(public: &[u8; 32]) -> Self {
        Self(sha256(public))
    }
    /// The id as a digest.
    pub fn digest(&self) -> &Sha256Digest {
        &self.0
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.to_hex()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0.to_hex())
    }
}

/// Removes surrounding whitespace and the CR/LF that Go's base64 decoder
/// skips anywhere in the text.
fn clean_key_text(text: &str) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(text.len()));
    s.extend(text.trim().chars().filter(|c| *c != '\r' && *c != '\n'));
    s
}

fn decode_key_text(text: &str, source_name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let cleaned = clean_key_text(text);
    STANDARD
        .decode(cleaned.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| Error::InvalidKey {
            source_name: source_name.to_owned(),
            reason: format!("decode key: {e}"),
        })
}

/// An Ed25519 private key for one [`Role`].
///
/// The secret is zeroized when the key is dropped. `Debug` shows only the
/// role and the key id; there is no `Display`, and the only way to get the
/// secret out is [`SigningKey::to_private_text`], which returns a zeroizing
/// buffer.
pub struct SigningKey<R: Role> {
    inner: ed25519_dalek::SigningKey,
    verifying: VerifyingKey<R>,
}

impl<R: Role> SigningKey<R> {
    /// Generates a fresh key from the operating system's random number
    /// generator.
    pub fn generate() -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| Error::Random(std::io::Error::other(e)))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key for a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    fn from_dalek(inner: ed25519_dalek::SigningKey) -> Self {
        let verifying = VerifyingKey::from_dalek(inner.verifying_key());
        Self { inner, verifying }
    }

    /// Parses the reference's private key text: standard padded base64 of
    /// the 64 bytes seed ‖ public key. Surrounding whitespace is ignored.
    ///
    /// A public half that does not belong to the seed is rejected (the
    /// reference would sign with the seed and publish the wrong key id).
    /// `source_name` names the origin in error messages.
    pub fn from_private_text(text: &str, source_name: &str) -> Result<Self, Error> {
        let bytes = decode_key_text(text, source_name)?;
        let pair: &[u8; 64] = bytes.as_slice().try_into().map_err(|_| Error::InvalidKey {
            source_name: source_name.to_owned(),
            reason: format!("invalid private key length: {}", bytes.len()),
        })?;
        let inner =
            ed25519_dalek::SigningKey::from_keypair_bytes(pair).map_err(|_| Error::InvalidKey {
                source_name: source_name.to_owned(),
                reason: "public key half does not match private key seed".to_owned(),
            })?;
        Ok(Self::from_dalek(inner))
    }

    /// The private key text (base64 of seed ‖ public key, no newline), in a
    /// buffer that is zeroized on drop.
    pub fn to_private_text(&self) -> Zeroizing<String> {
        let pair = Zeroizing::new(self.inner.to_keypair_bytes());
        let mut out = Zeroizing::new(String::with_capacity(88));
        STANDARD.encode_string(pair.as_slice(), &mut out);
        out
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> &VerifyingKey<R> {
        &self.verifying
    }

    /// The key id of the public key.
    pub fn key_id(&self) -> KeyId {
        self.verifying.key_id()
    }

    /// Re-labels this key for another role.
    ///
    /// Roles exist to keep keys apart; use this only where the reference
    /// contract itself falls back from one role to another, and say why at
    /// the call site.
    pub fn into_role<R2: Role>(self) -> SigningKey<R2> {
        SigningKey::from_dalek(self.inner.clone())
    }

    /// Signs a digest: Ed25519 over its 32 raw bytes.
    pub fn sign_digest(&self, digest: &Sha256Digest) -> SignatureEnvelope {
        let sig = self.inner.sign(digest.as_bytes());
        SignatureEnvelope {
            alg: ALG_ED25519.to_owned(),
            key_id: self.key_id().to_hex(),
            sig: STANDARD.encode(sig.to_bytes()),
            signed_digest: digest.to_hex(),
        }
    }

    /// Signs a JSON document: SHA-256 of its canonical form, then
    /// [`sign_digest`](Self::sign_digest). The document must not contain
    /// its own signature.
    pub fn sign_value(&self, signable: &Value) -> SignatureEnvelope {
        self.sign_digest(&gait_digest::digest_json(signable))
    }

    /// Signs arbitrary message bytes (not a digest): standard padded base64
    /// of the 64-byte Ed25519 signature. Proof records in packs sign the
    /// ASCII text of their `record_hash` this way.
    pub fn sign_message_base64(&self, message: &[u8]) -> String {
        STANDARD.encode(self.inner.sign(message).to_bytes())
    }

    /// Serializes `signable` with serde, then signs it as
    /// [`sign_value`](Self::sign_value) does.
    pub fn sign_serialize<T: serde::Serialize + ?Sized>(
        &self,
        signable: &T,
    ) -> Result<SignatureEnvelope, Error> {
        Ok(self.sign_digest(&gait_digest::digest_serialize(signable)?))
    }
}

impl<R: Role> fmt::Debug for SigningKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("role", &R::KIND)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key for one [`Role`].
pub struct VerifyingKey<R: Role> {
    inner: ed25519_dalek::VerifyingKey,
    id: KeyId,
    role: PhantomData<R>,
}

impl<R: Role> Clone for VerifyingKey<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            id: self.id,
            role: PhantomData,
        }
    }
}

impl<R: Role> PartialEq for VerifyingKey<R> {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}
impl<R: Role> Eq for VerifyingKey<R> {}

impl<R: Role> fmt::Debug for VerifyingKey<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("role", &R::KIND)
            .field("key_id", &self.id)
            .finish()
    }
}

impl<R: Role> VerifyingKey<R> {
    fn from_dalek(inner: ed25519_dalek::VerifyingKey) -> Self {
        Self {
            id: KeyId::of_public_bytes(inner.as_bytes()),
            inner,
            role: PhantomData,
        }
    }

    /// A public key from its 32 raw bytes. Bytes that are not a valid
    /// curve point are rejected.
    pub fn from_bytes(bytes: &[u8; 32], source_name: &str) -> Result<Self, Error> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self::from_dalek)
            .map_err(|_| Error::InvalidKey {
                source_name: source_name.to_owned(),
                reason: "not a valid ed25519 public key".to_owned(),
            })
    }

    /// Parses the reference's public key text: standard padded base64 of the
    /// 32 raw bytes. Surrounding whitespace is ignored.
    pub fn from_public_text(text: &str, source_name: &str) -> Result<Self, Error> {
        let bytes = decode_key_text(text, source_name)?;
        let raw: &[u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::InvalidKey {
            source_name: source_name.to_owned(),
            reason: format!("invalid public key length: {}", bytes.len()),
        })?;
        Self::from_bytes(raw, source_name)
    }

    /// The public key text (base64 of the 32 bytes, no newline).
    pub fn to_public_text(&self) -> String {
        STANDARD.encode(self.inner.as_bytes())
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.inner.as_bytes()
    }

    /// The key id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Re-labels this key for another role (see [`SigningKey::into_role`]).
    pub fn into_role<R2: Role>(self) -> VerifyingKey<R2> {
        VerifyingKey {
            inner: self.inner,
            id: self.id,
            role: PhantomData,
        }
    }

    /// Verifies `envelope` against the digest of a document, with the
    /// reference's checks in the reference's order:
    ///
    /// 1. `signed_digest` is present and equals `digest`;
    /// 2. it decodes to 32 bytes;
    /// 3. `alg` is `ed25519`;
    /// 4. a non-empty `key_id` names this key;
    /// 5. `sig` decodes to 64 bytes;
    /// 6. Ed25519 (strict: small-order keys and non-canonical signatures are
    ///    rejected) over the 32 raw digest bytes.
    pub fn verify_digest(
        &self,
        digest: &Sha256Digest,
        envelope: &SignatureEnvelope,
    ) -> Result<(), VerifyFailure> {
        let signed = envelope.signed_digest.as_str();
        if signed.is_empty() {
            return Err(VerifyFailure::MissingSignedDigest);
        }
        if signed != digest.to_hex() {
            return Err(VerifyFailure::SignedDigestMismatch);
        }
        // `signed` equals our own lowercase hex, so it decodes to 32 bytes.
        if envelope.alg != ALG_ED25519 {
            return Err(VerifyFailure::UnsupportedAlg(envelope.alg.clone()));
        }
        if !envelope.key_id.is_empty() && envelope.key_id != self.id.to_hex() {
            return Err(VerifyFailure::KeyIdMismatch);
        }
        let raw = STANDARD
            .decode(envelope.sig.as_bytes())
            .map_err(|e| VerifyFailure::DecodeSig(e.to_string()))?;
        let sig_bytes: [u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| VerifyFailure::InvalidSignatureLength(raw.len()))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        self.inner
            .verify_strict(digest.as_bytes(), &sig)
            .map_err(|_| VerifyFailure::BadSignature)
    }

    /// Verifies a standard base64 Ed25519 signature over arbitrary message
    /// bytes (see [`SigningKey::sign_message_base64`]). A non-empty
    /// `key_id` must name this key; then the signature must decode to 64
    /// bytes and verify (strict).
    pub fn verify_message_base64(
        &self,
        message: &[u8],
        sig_base64: &str,
        key_id: &str,
    ) -> Result<(), VerifyFailure> {
        if !key_id.is_empty() && key_id != self.id.to_hex() {
            return Err(VerifyFailure::KeyIdMismatch);
        }
        let raw = STANDARD
            .decode(sig_base64.as_bytes())
            .map_err(|e| VerifyFailure::DecodeSig(e.to_string()))?;
        let sig_bytes: [u8; 64] = raw
            .as_slice()
            .try_into()
            .map_err(|_| VerifyFailure::InvalidSignatureLength(raw.len()))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        self.inner
            .verify_strict(message, &sig)
            .map_err(|_| VerifyFailure::BadSignature)
    }

    /// Verifies `envelope` over a JSON document (without its signature).
    pub fn verify_value(
        &self,
        signable: &Value,
        envelope: &SignatureEnvelope,
    ) -> Result<(), VerifyFailure> {
        self.verify_digest(&gait_digest::digest_json(signable), envelope)
    }

    /// Verifies `envelope` over a serializable document.
    pub fn verify_serialize<T: serde::Serialize + ?Sized>(
        &self,
        signable: &T,
        envelope: &SignatureEnvelope,
    ) -> Result<(), Error> {
        let digest = gait_digest::digest_serialize(signable)?;
        Ok(self.verify_digest(&digest, envelope)?)
    }

    /// Verifies a document that carries its own signature in the member
    /// `field` (for example `"signature"`): the signable is the document
    /// minus that member.
    ///
    /// This is the reference's rule for documents it produced itself; typed
    /// artifacts whose signable is a projection are verified by their own
    /// crates.
    pub fn verify_embedded(&self, document: &Value, field: &str) -> Result<(), VerifyFailure> {
        let (signable, envelope) = crate::envelope::split_embedded(document, field)?;
        self.verify_value(&signable, &envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::{Approval, Trace};

    #[test]
    fn message_signatures() {
        let k = SigningKey::<Trace>::from_seed(&[3; 32]);
        let other = SigningKey::<Trace>::from_seed(&[4; 32]);
        let msg = b"sha256:0123";
        let sig = k.sign_message_base64(msg);
        let vk = k.verifying_key();
        let id = k.key_id().to_hex();
        assert_eq!(vk.verify_message_base64(msg, &sig, &id), Ok(()));
        assert_eq!(vk.verify_message_base64(msg, &sig, ""), Ok(()));
        assert_eq!(
            vk.verify_message_base64(b"sha256:0124", &sig, &id),
            Err(VerifyFailure::BadSignature)
        );
        assert_eq!(
            other.verifying_key().verify_message_base64(msg, &sig, &id),
            Err(VerifyFailure::KeyIdMismatch)
        );
        assert!(matches!(
            vk.verify_message_base64(msg, "!!", &id),
            Err(VerifyFailure::DecodeSig(_))
        ));
        assert_eq!(
            vk.verify_message_base64(msg, "AAAA", &id),
            Err(VerifyFailure::InvalidSignatureLength(3))
        );
    }

    #[test]
    fn text_round_trip() {
        let k = SigningKey::<Trace>::generate().unwrap();
        let text = k.to_private_text();
        assert_eq!(text.len(), 88);
        let back =
            SigningKey::<Trace>::from_private_text(&format!("  {}\r\n", *text), "t").unwrap();
        assert_eq!(back.key_id(), k.key_id());
        let public = k.verifying_key().to_public_text();
        let vk = VerifyingKey::<Trace>::from_public_text(&public, "t").unwrap();
        assert_eq!(&vk, k.verifying_key());
    }

    #[test]
    fn rejects_wrong_lengths_and_mismatched_halves() {
        let k = SigningKey::<Trace>::from_seed(&[7; 32]);
        let err =
            SigningKey::<Trace>::from_private_text(&STANDARD.encode([1u8; 32]), "x").unwrap_err();
        assert!(
            err.to_string().contains("invalid private key length: 32"),
            "{err}"
        );
        let err =
            VerifyingKey::<Trace>::from_public_text(&STANDARD.encode([1u8; 64]), "x").unwrap_err();
        assert!(
            err.to_string().contains("invalid public key length: 64"),
            "{err}"
        );
        let mut pair = Zeroizing::new([0u8; 64]);
        pair[..32].copy_from_slice(&[7; 32]);
        pair[32..].copy_from_slice(
            SigningKey::<Trace>::from_seed(&[8; 32])
                .verifying_key()
                .as_bytes(),
        );
        assert!(
            SigningKey::<Trace>::from_private_text(&STANDARD.encode(pair.as_slice()), "x").is_err()
        );
        assert!(SigningKey::<Trace>::from_private_text("not base64!", "x").is_err());
        drop(k);
    }

    #[test]
    fn debug_never_shows_secret() {
        let k = SigningKey::<Approval>::from_seed(&[9; 32]);
        let dbg = format!("{k:?}");
        assert!(dbg.contains("Approval"));
        assert!(!dbg.contains(k.to_private_text().as_str()));
    }

    #[test]
    fn verify_order_and_messages() {
        let k = SigningKey::<Trace>::from_seed(&[3; 32]);
        let doc = serde_json::json!({"a": 1});
        let env = k.sign_value(&doc);
        let vk = k.verifying_key();
        vk.verify_value(&doc, &env).unwrap();

        let mut e = env.clone();
        e.signed_digest.clear();
        assert_eq!(
            vk.verify_value(&doc, &e),
            Err(VerifyFailure::MissingSignedDigest)
        );
        assert_eq!(
            vk.verify_value(&serde_json::json!({"a": 2}), &env),
            Err(VerifyFailure::SignedDigestMismatch)
        );
        let mut e = env.clone();
        e.alg = "rsa".into();
        assert_eq!(
            vk.verify_value(&doc, &e).unwrap_err().to_string(),
            "unsupported alg: rsa"
        );
        let other = SigningKey::<Trace>::from_seed(&[4; 32]);
        assert_eq!(
            other.verifying_key().verify_value(&doc, &env),
            Err(VerifyFailure::KeyIdMismatch)
        );
        let mut e = env.clone();
        e.key_id.clear();
        assert_eq!(
            other.verifying_key().verify_value(&doc, &e),
            Err(VerifyFailure::BadSignature)
        );
        let mut e = env.clone();
        e.sig = STANDARD.encode([0u8; 63]);
        assert_eq!(
            vk.verify_value(&doc, &e),
            Err(VerifyFailure::InvalidSignatureLength(63))
        );
        let mut e = env;
        e.sig = "***".into();
        assert!(matches!(
            vk.verify_value(&doc, &e),
            Err(VerifyFailure::DecodeSig(_))
        ));
    }
}
