//! Errors are typed variants that keep their cause as `source()`, and their
//! texts are the ones the CLI prints (and the conformance suites compare).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::error::Error as _;

use gait_policy::cel::{CompileError, Condition};
use gait_policy::registry::{EntryError, RegistryError, read_registry};
use gait_policy::token::{ApprovalToken, DelegationToken, TokenError};
use gait_policy::wrkr::{WrkrError, WrkrInventory};

#[test]
fn cel_compile_errors_are_variants_with_the_same_texts() {
    let e = Condition::compile("intnet.tool_name == 'x'").unwrap_err();
    assert!(matches!(&e, CompileError::UndeclaredVariable(name) if name == "intnet"));
    assert_eq!(
        e.to_string(),
        "undeclared variable \"intnet\": conditions can only refer to `intent`"
    );
    let e = Condition::compile("intent.tool_name.startswith('x')").unwrap_err();
    assert_eq!(e.to_string(), "undeclared function \"startswith\"");
    let e = Condition::compile("intent.tool_name.matches('(')").unwrap_err();
    assert!(matches!(e, CompileError::InvalidPattern(_)));
    assert!(e.to_string().starts_with("invalid matches() pattern: "));
    assert!(e.source().is_some(), "the regex error is the source");
    let e = Condition::compile(&"x".repeat(5000)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "condition too long: 5000 bytes (at most 4096)"
    );
    let e = Condition::compile("intent.tool_name ==").unwrap_err();
    assert!(matches!(&e, CompileError::Syntax(errors) if !errors.is_empty()));
    assert!(e.to_string().starts_with("syntax error at 1:"), "{e}");
}

#[test]
fn registry_errors_are_variants_with_the_same_texts() {
    let e = read_registry(b"{").unwrap_err();
    assert!(matches!(e, RegistryError::Json(_)));
    assert!(e.source().is_some());
    assert!(
        e.to_string()
            .starts_with("parse approved script registry: invalid JSON"),
        "{e}"
    );
    let e = read_registry(b"{}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse approved script registry: expected an array or {\"entries\": [...]}"
    );
    let e = read_registry(br#"{"entries":{}}"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse approved script registry: entries must be an array"
    );
    let e = read_registry(br#"[{"pattern_id":""}]"#).unwrap_err();
    assert!(matches!(&e, RegistryError::Entry { index: 0, .. }));
    assert_eq!(
        e.to_string(),
        "approved script entries[0]: pattern_id is required"
    );
    assert!(matches!(
        e.source().and_then(|s| s.downcast_ref::<EntryError>()),
        Some(EntryError::MissingField("pattern_id"))
    ));
}

#[test]
fn wrkr_errors_are_variants_with_the_same_texts() {
    let e = WrkrInventory::from_json_slice(br#"{"items":{}}"#).unwrap_err();
    assert!(matches!(e, WrkrError::ItemsNotArray));
    assert_eq!(
        e.to_string(),
        "parse wrkr inventory: items must be an array"
    );
    let e = WrkrInventory::from_json_slice(b"7").unwrap_err();
    assert_eq!(
        e.to_string(),
        "parse wrkr inventory: expected an array or {\"items\": [...]}"
    );
    let e = WrkrInventory::from_json_slice(br#"[{"tool_name":7}]"#).unwrap_err();
    assert!(matches!(e, WrkrError::Item { index: 0, .. }));
    assert!(e.source().is_some());
}

#[test]
fn token_errors_are_variants_with_the_same_texts() {
    let e = ApprovalToken::from_json_slice(b"[").unwrap_err();
    assert!(matches!(
        e,
        TokenError::Json {
            kind: "approval",
            ..
        }
    ));
    assert!(e.to_string().starts_with("parse approval token: "), "{e}");
    let token = ApprovalToken::from_json_slice(br#"{"token_id":""}"#).unwrap();
    let e = token.normalized().unwrap_err();
    assert!(matches!(e, TokenError::MissingField("token_id")));
    assert_eq!(e.to_string(), "token_id is required");
    let token = DelegationToken::from_json_slice(br#"{"schema_id":"other"}"#).unwrap();
    let e = token.normalized().unwrap_err();
    assert_eq!(e.to_string(), "unsupported schema_id: other");
}
