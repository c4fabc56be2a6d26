//! Flag values from a fixed set, as `FromStr` types.
//!
//! Each is parsed where the command checks it (not by clap), so the
//! reference's order of checks, its message and exit 6 stay as they are.
//! Library-owned sets parse in their crates (`KeyMode::parse`,
//! `Profile::from_str`, `Adapter::parse`, `VerdictStatus::parse`).

use std::str::FromStr;

/// `--profile` of the verifying commands (`verify`, `pack verify`,
/// `verify chain`, `verify session-chain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyProfile {
    /// Signatures checked when present (also an empty value).
    Standard,
    /// A verified signature and a key are required.
    Strict,
}

impl FromStr for VerifyProfile {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_lowercase().as_str() {
            "" | "standard" => Ok(Self::Standard),
            "strict" => Ok(Self::Strict),
            _ => Err(format!(
                "unsupported --profile value {text:?} (expected standard or strict)"
            )),
        }
    }
}

/// `pack build --key-mode`: `none` (the default; signs as prod when a
/// private key source is given), `dev` or `prod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackKeyMode {
    /// No signature unless a private source is given.
    None,
    /// An ephemeral key.
    Dev,
    /// The given private key.
    Prod,
}

impl FromStr for PackKeyMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Self::None),
            "dev" => Ok(Self::Dev),
            "prod" => Ok(Self::Prod),
            _ => Err("--key-mode must be none, dev, or prod".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_the_reference_messages() {
        assert_eq!(" Strict ".parse(), Ok(VerifyProfile::Strict));
        assert_eq!("".parse(), Ok(VerifyProfile::Standard));
        assert_eq!(
            "lax".parse::<VerifyProfile>(),
            Err("unsupported --profile value \"lax\" (expected standard or strict)".to_owned())
        );
        assert_eq!("PROD".parse(), Ok(PackKeyMode::Prod));
        assert_eq!("".parse(), Ok(PackKeyMode::None));
        assert_eq!(
            "test".parse::<PackKeyMode>(),
            Err("--key-mode must be none, dev, or prod".to_owned())
        );
    }
}
