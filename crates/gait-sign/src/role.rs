//! Key roles.
//!
//! Gait keeps a separate key for each purpose so that the compromise or
//! misuse of one cannot forge evidence of another kind. Keys carry their
//! role in their type: a [`SigningKey<Approval>`](crate::SigningKey) cannot
//! be passed where a `SigningKey<Trace>` is expected. Changing a key's role
//! takes an explicit call ([`SigningKey::into_role`](crate::SigningKey::into_role)),
//! which is easy to find in review.

use std::fmt;

mod sealed {
    pub trait Sealed {}
}

/// A key role. Implemented only by the marker types of this module.
pub trait Role: sealed::Sealed + Copy + Send + Sync + fmt::Debug + 'static {
    /// The role as a value.
    const KIND: RoleKind;
}

/// The role of a key, as a value (for messages and configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RoleKind {
    /// Signs gate traces and run artifacts (runpacks, packs).
    Trace,
    /// Signs approval tokens.
    Approval,
    /// Signs delegation tokens.
    Delegation,
    /// Signs release checksums (CI only).
    Release,
}

impl RoleKind {
    /// A lowercase name: `trace`, `approval`, `delegation`, `release`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Trace => "trace",
            RoleKind::Approval => "approval",
            RoleKind::Delegation => "delegation",
            RoleKind::Release => "release",
        }
    }
}

impl RoleKind {
    /// Every role, in a fixed order.
    pub const ALL: [RoleKind; 4] = [
        RoleKind::Trace,
        RoleKind::Approval,
        RoleKind::Delegation,
        RoleKind::Release,
    ];

    /// The role named by [`as_str`](Self::as_str)'s text (surrounding
    /// whitespace and case ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for RoleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! role {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;
        impl sealed::Sealed for $name {}
        impl Role for $name {
            const KIND: RoleKind = RoleKind::$name;
        }
    };
}

role!(
    /// The trace and artifact signing role (`--private-key`).
    Trace
);
role!(
    /// The approval token role (`--approval-*-key`).
    Approval
);
role!(
    /// The delegation token role (`--delegation-*-key`).
    Delegation
);
role!(
    /// The release signing role.
    Release
);
