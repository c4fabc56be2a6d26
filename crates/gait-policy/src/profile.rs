//! Runtime profiles: `standard` (the default) and `oss-prod`, the
//! production profile that refuses configurations which could weaken the
//! gate.
//!
//! ```
//! use gait_policy::profile::Profile;
//!
//! assert_eq!("".parse::<Profile>()?, Profile::Standard);
//! assert_eq!(" OSS-Prod ".parse::<Profile>()?, Profile::OssProd);
//! assert!("strict".parse::<Profile>().is_err());
//! # Ok::<(), gait_policy::profile::ProfileError>(())
//! ```

use std::str::FromStr;

use gait_sign::KeyMode;

use crate::policy::{Policy, Verdict};

/// A runtime profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Profile {
    /// The default.
    #[default]
    Standard,
    /// Production: prod signing keys, no `default_verdict: allow`, no
    /// `--simulate`, optional inputs fail closed, strict call context.
    OssProd,
}

/// Why a profile or a configuration under it is refused (exit 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// Not `standard` or `oss-prod`.
    #[error("unsupported profile: {0}")]
    Unsupported(String),
    /// `oss-prod` with `--simulate`.
    #[error("oss-prod profile does not allow --simulate")]
    Simulate,
    /// `oss-prod` without prod signing keys.
    #[error("oss-prod profile requires --key-mode prod")]
    DevKeys,
    /// `oss-prod` with a policy whose default verdict is `allow`.
    #[error("oss-prod profile rejects default_verdict allow")]
    DefaultAllow,
    /// `oss-prod` with a high-risk allow/approval rule that does not
    /// require a broker credential.
    #[error(
        "oss-prod profile requires high-risk allow/approval rules to set require_broker_credential: true"
    )]
    UnbrokeredHighRisk,
    /// `oss-prod` with brokered high-risk rules and no broker.
    #[error("oss-prod profile requires --credential-broker for high-risk policies")]
    BrokerRequired,
}

impl FromStr for Profile {
    type Err = ProfileError;

    /// Parses a profile name: trimmed, case-insensitive; empty is
    /// `standard`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = text.trim();
        match t.to_lowercase().as_str() {
            "" | "standard" => Ok(Self::Standard),
            "oss-prod" => Ok(Self::OssProd),
            _ => Err(ProfileError::Unsupported(t.to_owned())),
        }
    }
}

impl Profile {
    /// The profile's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::OssProd => "oss-prod",
        }
    }

    /// Whether this is `oss-prod`.
    pub fn is_oss_prod(self) -> bool {
        self == Self::OssProd
    }

    /// Checks the signing key mode and `--simulate` before anything is
    /// loaded.
    ///
    /// # Errors
    ///
    /// [`ProfileError`] for a configuration the profile refuses.
    pub fn check_run(self, key_mode: KeyMode, simulate: bool) -> Result<(), ProfileError> {
        if self != Self::OssProd {
            return Ok(());
        }
        if simulate {
            return Err(ProfileError::Simulate);
        }
        if key_mode != KeyMode::Prod {
            return Err(ProfileError::DevKeys);
        }
        Ok(())
    }

    /// Checks the loaded policy.
    ///
    /// # Errors
    ///
    /// [`ProfileError::DefaultAllow`] under `oss-prod` when the policy's
    /// default verdict is `allow`.
    pub fn check_policy(self, policy: &Policy) -> Result<(), ProfileError> {
        if self != Self::OssProd {
            return Ok(());
        }
        if policy.default_verdict() == Verdict::Allow {
            return Err(ProfileError::DefaultAllow);
        }
        Ok(())
    }

    /// `gate eval`'s broker rule for the loaded policy: under `oss-prod`,
    /// every rule matching `high` or `critical` risk whose effect is not
    /// `block` must require a broker credential. (The MCP boundaries have
    /// no broker and do not apply it.)
    ///
    /// # Errors
    ///
    /// [`ProfileError::UnbrokeredHighRisk`].
    pub fn check_broker_policy(self, policy: &Policy) -> Result<(), ProfileError> {
        if self == Self::OssProd && high_risk_actions(policy).any(|r| !r.require_broker_credential)
        {
            return Err(ProfileError::UnbrokeredHighRisk);
        }
        Ok(())
    }

    /// Checks, once the credential broker is resolved, that a policy with
    /// brokered high-risk rules has a broker under `oss-prod`.
    ///
    /// # Errors
    ///
    /// [`ProfileError::BrokerRequired`].
    pub fn check_broker(
        self,
        policy: &Policy,
        broker_configured: bool,
    ) -> Result<(), ProfileError> {
        if self == Self::OssProd
            && !broker_configured
            && high_risk_actions(policy).any(|r| r.require_broker_credential)
        {
            return Err(ProfileError::BrokerRequired);
        }
        Ok(())
    }
}

/// Rules matching `high` or `critical` risk whose effect is not `block`.
fn high_risk_actions(policy: &Policy) -> impl Iterator<Item = &crate::policy::Rule> {
    policy.rules().iter().filter(|r| {
        r.effect != Verdict::Block
            && r.selector
                .risk_classes
                .iter()
                .any(|c| c == "high" || c == "critical")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn oss_prod_refuses_weak_configurations() {
        let p = Profile::OssProd;
        assert_eq!(p.check_run(KeyMode::Dev, false), Err(ProfileError::DevKeys));
        assert_eq!(
            p.check_run(KeyMode::Prod, true),
            Err(ProfileError::Simulate)
        );
        assert_eq!(p.check_run(KeyMode::Prod, false), Ok(()));
        let allow = Policy::from_yaml_str("default_verdict: allow\n").unwrap();
        assert_eq!(p.check_policy(&allow), Err(ProfileError::DefaultAllow));
        assert_eq!(Profile::Standard.check_policy(&allow), Ok(()));
        assert_eq!(Profile::Standard.check_run(KeyMode::Dev, true), Ok(()));
    }

    #[test]
    fn oss_prod_requires_brokers_for_high_risk_actions() {
        let p = Profile::OssProd;
        let unbrokered = Policy::from_yaml_str(
            "default_verdict: block\nrules:\n  - name: w\n    effect: allow\n    match:\n      risk_classes: [high]\n",
        )
        .unwrap();
        assert_eq!(
            p.check_broker_policy(&unbrokered),
            Err(ProfileError::UnbrokeredHighRisk)
        );
        // Not a rule of the policy itself: the MCP boundaries accept it.
        assert_eq!(p.check_policy(&unbrokered), Ok(()));
        assert_eq!(Profile::Standard.check_broker_policy(&unbrokered), Ok(()));
        let brokered = Policy::from_yaml_str(
            "default_verdict: block\nrules:\n  - name: w\n    effect: require_approval\n    require_broker_credential: true\n    match:\n      risk_classes: [critical]\n  - name: b\n    effect: block\n    match:\n      risk_classes: [high]\n",
        )
        .unwrap();
        assert_eq!(p.check_broker_policy(&brokered), Ok(()));
        assert_eq!(
            p.check_broker(&brokered, false),
            Err(ProfileError::BrokerRequired)
        );
        assert_eq!(p.check_broker(&brokered, true), Ok(()));
        assert_eq!(Profile::Standard.check_broker(&brokered, false), Ok(()));
    }
}
