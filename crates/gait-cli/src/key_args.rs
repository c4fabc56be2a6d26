//! The key flags of every command and the one place they are loaded.
//!
//! Signing commands flatten [`SigningKeyArgs`] (`--key-mode`,
//! `--private-key`, `--private-key-env`); verifying commands flatten
//! [`VerifyKeyArgs`]. Flags under other names (`gate eval`'s
//! `--approval-private-key`…) go through the same loaders
//! ([`KeySources::from_flags`], [`optional_public_key`]).

use clap::Args;
use gait_sign::{KeyConfig, KeyMode, KeySource, LoadedSigningKey, Role, VerifyingKey};

use crate::exit::{Failure, failure};

/// A private key source (`--private-key PATH` or `--private-key-env VAR`).
#[derive(Debug, Args, Clone, Default)]
pub struct PrivateKeyArgs {
    /// Path to a base64 private signing key (prod mode).
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// Environment variable holding a base64 private signing key (prod mode).
    #[arg(long, value_name = "VAR")]
    pub private_key_env: Option<String>,
}

impl PrivateKeyArgs {
    /// The configured source, if any (blank values count as absent; both
    /// a path and a variable is an error).
    pub fn source(&self) -> Result<Option<KeySource>, Failure> {
        KeySource::from_flags(
            "private key",
            self.private_key.as_deref(),
            self.private_key_env.as_deref(),
        )
        .map_err(failure)
    }
}

/// Signing-key flags of every command that signs. Each command keeps its
/// own default and help for `--key-mode` (`mut_arg` on its arguments).
#[derive(Debug, Args, Clone, Default)]
pub struct SigningKeyArgs {
    /// Signing key mode: dev (an ephemeral key) or prod (an explicit key).
    #[arg(long, value_name = "MODE")]
    pub key_mode: Option<String>,
    /// The private key source.
    #[command(flatten)]
    pub private: PrivateKeyArgs,
}

/// How an absent `--key-mode` resolves.
#[derive(Debug, Clone, Copy)]
pub enum ModeDefault {
    /// The flag has a clap default; an explicit blank value is refused as
    /// any unknown mode.
    Strict(KeyMode),
    /// The flag has no clap default: absent or blank is this mode.
    BlankIs(KeyMode),
}

impl SigningKeyArgs {
    /// Whether any of the three flags was given a non-blank value.
    pub fn any_given(&self) -> bool {
        [
            &self.key_mode,
            &self.private.private_key,
            &self.private.private_key_env,
        ]
        .iter()
        .any(|s| s.as_deref().is_some_and(|v| !v.trim().is_empty()))
    }

    /// The key mode (`dev` or `prod`, trimmed, any case).
    pub fn mode(&self, default: ModeDefault) -> Result<KeyMode, Failure> {
        let text = self.key_mode.as_deref();
        match default {
            ModeDefault::Strict(d) => match text {
                None => Ok(d),
                Some(t) => KeyMode::parse(t).map_err(failure),
            },
            ModeDefault::BlankIs(d) => match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(d),
                Some(t) => KeyMode::parse(t).map_err(failure),
            },
        }
    }

    /// Loads the signing key for `mode` from the private source.
    pub fn load<R: Role>(&self, mode: KeyMode) -> Result<LoadedSigningKey<R>, Failure> {
        load_signing(mode, self.private.source()?)
    }
}

/// Loads a signing key: dev mode generates one (and refuses a source),
/// prod mode loads the source.
pub fn load_signing<R: Role>(
    mode: KeyMode,
    private: Option<KeySource>,
) -> Result<LoadedSigningKey<R>, Failure> {
    KeyConfig {
        mode,
        private,
        public: None,
    }
    .load_signing::<R>()
    .map_err(failure)
}

/// Key source flags of verifying commands.
#[derive(Debug, Args, Clone, Default)]
pub struct VerifyKeyArgs {
    /// Path to a base64 public key file.
    #[arg(long, value_name = "PATH")]
    pub public_key: Option<String>,
    /// Environment variable holding a base64 public key.
    #[arg(long, value_name = "VAR")]
    pub public_key_env: Option<String>,
    /// Path to a base64 private key file (its public half is used).
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// Environment variable holding a base64 private key (its public half is used).
    #[arg(long, value_name = "VAR")]
    pub private_key_env: Option<String>,
}

impl VerifyKeyArgs {
    /// The configured sources.
    pub fn sources(&self) -> Result<KeySources, Failure> {
        KeySources::from_flags(
            self.public_key.as_deref(),
            self.public_key_env.as_deref(),
            self.private_key.as_deref(),
            self.private_key_env.as_deref(),
        )
    }

    /// Whether any of the four flags was given a non-empty value.
    pub fn any_given(&self) -> bool {
        [
            &self.public_key,
            &self.public_key_env,
            &self.private_key,
            &self.private_key_env,
        ]
        .iter()
        .any(|s| s.as_deref().is_some_and(|v| !v.is_empty()))
    }

    /// The verify key: a public source wins, else the public half of a
    /// private source.
    pub fn load<R: Role>(&self) -> Result<VerifyingKey<R>, Failure> {
        self.sources()?.load()
    }
}

/// The verify-key sources of one role: a private source (its public half
/// is used) and a public source.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    /// The private source.
    pub private: Option<KeySource>,
    /// The public source.
    pub public: Option<KeySource>,
}

impl KeySources {
    /// Sources from a public path/variable pair and a private path/variable
    /// pair, whatever the flags are called (the private pair is checked
    /// first).
    pub fn from_flags(
        public_path: Option<&str>,
        public_env: Option<&str>,
        private_path: Option<&str>,
        private_env: Option<&str>,
    ) -> Result<Self, Failure> {
        let private =
            KeySource::from_flags("private key", private_path, private_env).map_err(failure)?;
        let public =
            KeySource::from_flags("public key", public_path, public_env).map_err(failure)?;
        Ok(Self { private, public })
    }

    /// Whether neither source is configured.
    pub fn is_empty(&self) -> bool {
        self.private.is_none() && self.public.is_none()
    }

    /// The verify key: a public source wins, else the public half of the
    /// private source, else `public key not configured`.
    pub fn load<R: Role>(&self) -> Result<VerifyingKey<R>, Failure> {
        gait_sign::load_verifying_key(self.private.as_ref(), self.public.as_ref()).map_err(failure)
    }
}

/// An optional verify key from a public path/variable pair named `what`
/// in messages (`None` when neither is given).
pub fn optional_public_key<R: Role>(
    what: &'static str,
    path: Option<&str>,
    env: Option<&str>,
) -> Result<Option<VerifyingKey<R>>, Failure> {
    match KeySource::from_flags(what, path, env).map_err(failure)? {
        Some(src) => src.load_verifying::<R>().map(Some).map_err(failure),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Exit;

    fn args(mode: Option<&str>) -> SigningKeyArgs {
        SigningKeyArgs {
            key_mode: mode.map(str::to_owned),
            private: PrivateKeyArgs::default(),
        }
    }

    #[test]
    fn key_mode_defaults_and_errors() {
        use ModeDefault::{BlankIs, Strict};
        assert_eq!(args(None).mode(Strict(KeyMode::Dev)), Ok(KeyMode::Dev));
        assert_eq!(
            args(Some(" PROD ")).mode(Strict(KeyMode::Dev)),
            Ok(KeyMode::Prod)
        );
        assert_eq!(
            args(Some(" ")).mode(BlankIs(KeyMode::Prod)),
            Ok(KeyMode::Prod)
        );
        // A flag with a clap default refuses an explicit blank value.
        assert_eq!(
            args(Some("")).mode(Strict(KeyMode::Dev)),
            Err(("unsupported key mode: ".to_owned(), Exit::InvalidInput))
        );
        assert_eq!(
            args(Some("test")).mode(BlankIs(KeyMode::Dev)),
            Err(("unsupported key mode: test".to_owned(), Exit::InvalidInput))
        );
    }

    #[test]
    fn one_loader_for_every_source_error() {
        let both = PrivateKeyArgs {
            private_key: Some("k".into()),
            private_key_env: Some("K".into()),
        };
        assert_eq!(
            both.source(),
            Err((
                "private key: set either path or env".to_owned(),
                Exit::InvalidInput
            ))
        );
        let none = KeySources::from_flags(None, Some(" "), None, None).unwrap_or_default();
        assert!(none.is_empty());
        assert_eq!(
            none.load::<gait_sign::Trace>().map(|_| ()),
            Err(("public key not configured".to_owned(), Exit::InvalidInput))
        );
        let dev_with_source = SigningKeyArgs {
            key_mode: None,
            private: PrivateKeyArgs {
                private_key: Some("k".into()),
                private_key_env: None,
            },
        };
        assert_eq!(
            dev_with_source
                .load::<gait_sign::Trace>(KeyMode::Dev)
                .map(|_| ()),
            Err((
                "dev mode does not accept explicit key sources".to_owned(),
                Exit::InvalidInput
            ))
        );
    }
}
