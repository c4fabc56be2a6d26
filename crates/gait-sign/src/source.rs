//! Where keys come from: files, environment variables, or (in dev mode) an
//! ephemeral key.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::files::read_key_file;
use crate::key::{SigningKey, VerifyingKey};
use crate::role::Role;

/// The warning printed when dev mode generates an ephemeral key pair.
pub const DEV_MODE_WARNING: &str =
    "dev mode: ephemeral keypair generated; signatures will not verify across machines";

/// A key source: a file path or the name of an environment variable holding
/// the same text.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file.
    Path(PathBuf),
    /// An environment variable.
    Env(String),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl KeySource {
    /// Builds a source from a `--…-key PATH` / `--…-key-env NAME` flag pair.
    /// Blank values count as absent; both present is an error.
    pub fn from_flags(
        what: &'static str,
        path: Option<&str>,
        env: Option<&str>,
    ) -> Result<Option<KeySource>, Error> {
        let path = path.map(str::trim).filter(|s| !s.is_empty());
        let env = env.map(str::trim).filter(|s| !s.is_empty());
        match (path, env) {
            (Some(_), Some(_)) => Err(Error::BothKeySources { what }),
            (Some(p), None) => Ok(Some(KeySource::Path(PathBuf::from(p)))),
            (None, Some(e)) => Ok(Some(KeySource::Env(e.to_owned()))),
            (None, None) => Ok(None),
        }
    }

    /// `path:<p>` or `env:<NAME>`, as the reference labels sources.
    pub fn label(&self) -> String {
        match self {
            KeySource::Path(p) => format!("path:{}", p.display()),
            KeySource::Env(n) => format!("env:{n}"),
        }
    }

    fn read(&self, what: &'static str, private: bool) -> Result<Zeroizing<String>, Error> {
        match self {
            KeySource::Path(p) => read_key_file(p, private),
            KeySource::Env(name) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Ok(Zeroizing::new(v)),
                Ok(_) | Err(std::env::VarError::NotPresent) => Err(Error::EnvNotSet {
                    what,
                    name: name.clone(),
                }),
                Err(std::env::VarError::NotUnicode(_)) => Err(Error::InvalidKey {
                    source_name: self.label(),
                    reason: "not valid UTF-8".to_owned(),
                }),
            },
        }
    }

    /// Loads a private key from this source, to sign for role `R`.
    ///
    /// A key file must be a regular file that group and others cannot
    /// access ([`Error::InsecureKeyFile`] otherwise; environment variables
    /// have no mode). A key file with a role record
    /// ([`check_key_role`](crate::check_key_role)) must be recorded for
    /// `R` and this key ([`Error::RoleMismatch`], [`Error::RoleRecord`]);
    /// a key file without a record is accepted.
    pub fn load_signing<R: Role>(&self) -> Result<SigningKey<R>, Error> {
        let text = self.read("private key", true)?;
        let key = SigningKey::<R>::from_private_text(&text, &self.label())?;
        if let KeySource::Path(path) = self {
            crate::role_record::check_key_role(path, &key.key_id(), R::KIND)?;
        }
        Ok(key)
    }

    /// The public half of the private key at this source, for verifying
    /// only. Nothing is signed with it, so neither the file's mode nor its
    /// role record is enforced (callers may warn with
    /// [`check_private_key_mode`](crate::check_private_key_mode)); the file
    /// must still be a regular file.
    pub fn load_public_half<R: Role>(&self) -> Result<VerifyingKey<R>, Error> {
        let text = self.read("private key", false)?;
        let key = SigningKey::<R>::from_private_text(&text, &self.label())?;
        Ok(key.verifying_key().clone())
    }

    /// Loads a public key from this source.
    pub fn load_verifying<R: Role>(&self) -> Result<VerifyingKey<R>, Error> {
        let text = self.read("public key", false)?;
        VerifyingKey::from_public_text(&text, &self.label())
    }
}

/// How a signing key is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Generate an ephemeral key pair; explicit sources are refused.
    Dev,
    /// Load the key from an explicit private source.
    Prod,
}

impl KeyMode {
    /// Parses `dev` or `prod` (trimmed, case-insensitive).
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dev" => Ok(KeyMode::Dev),
            "prod" => Ok(KeyMode::Prod),
            other => Err(Error::UnsupportedKeyMode(other.to_owned())),
        }
    }
}

/// The sources configured for one role.
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// Dev or prod.
    pub mode: KeyMode,
    /// The private key source, if any.
    pub private: Option<KeySource>,
    /// The public key source, if any.
    pub public: Option<KeySource>,
}

/// A signing key and how it was obtained.
#[derive(Debug)]
pub struct LoadedSigningKey<R: Role> {
    /// The key.
    pub key: SigningKey<R>,
    /// Set in dev mode: [`DEV_MODE_WARNING`].
    pub warning: Option<&'static str>,
}

impl KeyConfig {
    /// Loads the signing key for this configuration.
    ///
    /// * Dev mode refuses explicit sources and generates an ephemeral pair.
    /// * Prod mode requires a private source; a public source, if given,
    ///   must be the private key's own public key.
    pub fn load_signing<R: Role>(&self) -> Result<LoadedSigningKey<R>, Error> {
        match self.mode {
            KeyMode::Dev => {
                if self.private.is_some() || self.public.is_some() {
                    return Err(Error::DevModeKeySource);
                }
                Ok(LoadedSigningKey {
                    key: SigningKey::generate()?,
                    warning: Some(DEV_MODE_WARNING),
                })
            }
            KeyMode::Prod => {
                let private = self.private.as_ref().ok_or(Error::PrivateKeyRequired)?;
                let key = private.load_signing::<R>()?;
                if let Some(public) = &self.public {
                    let declared = public.load_verifying::<R>()?;
                    if &declared != key.verifying_key() {
                        return Err(Error::PublicKeyMismatch);
                    }
                }
                Ok(LoadedSigningKey { key, warning: None })
            }
        }
    }

    /// Loads the key to verify with: the public source if given, otherwise
    /// the public half of the private source.
    pub fn load_verifying<R: Role>(&self) -> Result<VerifyingKey<R>, Error> {
        load_verifying_key(self.private.as_ref(), self.public.as_ref())
    }
}

/// Resolves a verify key: a public source wins; else the public half of a
/// private source; else `public key not configured`.
pub fn load_verifying_key<R: Role>(
    private: Option<&KeySource>,
    public: Option<&KeySource>,
) -> Result<VerifyingKey<R>, Error> {
    if let Some(public) = public {
        return public.load_verifying();
    }
    if let Some(private) = private {
        return private.load_public_half::<R>();
    }
    Err(Error::PublicKeyNotConfigured)
}
