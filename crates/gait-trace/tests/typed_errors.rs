//! Trace and job-store errors are typed variants with the texts the CLI
//! prints.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::error::Error as _;

use gait_sign::{SigningKey, Trace};
use gait_trace::{FileJobStore, JobError, JobStatus, JobStore, TraceError, verify_trace_bytes};

#[test]
fn trace_parse_errors_are_variants_with_the_same_texts() {
    let key = SigningKey::<Trace>::generate().unwrap();
    let key = key.verifying_key();
    let e = verify_trace_bytes(b"[]", key).unwrap_err();
    assert!(matches!(e, TraceError::NotObject));
    assert_eq!(e.to_string(), "parse trace record: not a JSON object");
    let e = verify_trace_bytes(br#"{"verdict": 1}"#, key).unwrap_err();
    assert!(matches!(e, TraceError::NotString("verdict")));
    assert_eq!(
        e.to_string(),
        "parse trace record: verdict: expected a string"
    );
    let e = verify_trace_bytes(b"{", key).unwrap_err();
    assert!(matches!(e, TraceError::Json(_)));
    assert!(e.source().is_some());
    let e = verify_trace_bytes(br#"{"signature": 7}"#, key).unwrap_err();
    assert!(matches!(e, TraceError::Envelope(_)));
    assert!(
        e.to_string()
            .starts_with("parse trace record: signature: malformed signature: "),
        "{e}"
    );
}

#[test]
fn job_store_errors_are_variants_with_the_same_texts() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileJobStore::new(dir.path());
    let JobStatus::Unavailable(e) = store.status("-x") else {
        panic!("an invalid job id is unavailable");
    };
    assert!(matches!(e, JobError::InvalidJobId));
    assert_eq!(
        e.to_string(),
        "job_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
    );
    let JobStatus::Unavailable(e) = store.status("job-1") else {
        panic!("a missing job is unavailable");
    };
    assert!(matches!(e, JobError::NotFound));
    assert_eq!(e.to_string(), "job not found");
    std::fs::create_dir_all(dir.path().join("job-2")).unwrap();
    std::fs::write(dir.path().join("job-2/state.json"), b"[]").unwrap();
    let JobStatus::Unavailable(e) = store.status("job-2") else {
        panic!("a state that is not an object is unavailable");
    };
    assert_eq!(e.to_string(), "parse job state: expected a JSON object");
}
