//! Unit tests of nova-runtime's public API (kept out of src/ so that src/ holds only code
//! that runs in services).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use nova_runtime::{LogicError, RepoError};
use tonic::{Code, Status};
#[test]
fn every_variant_maps_to_its_code() {
    let cases = [
        (LogicError::not_found("x"), Code::NotFound),
        (LogicError::invalid_argument("x"), Code::InvalidArgument),
        (LogicError::AlreadyExists("x".into()), Code::AlreadyExists),
        (LogicError::Aborted("x".into()), Code::Aborted),
        (LogicError::FailedPrecondition("x".into()), Code::FailedPrecondition),
        (LogicError::PermissionDenied("x".into()), Code::PermissionDenied),
        (LogicError::Unauthenticated("x".into()), Code::Unauthenticated),
        (LogicError::ResourceExhausted("x".into()), Code::ResourceExhausted),
        (LogicError::Unavailable("x".into()), Code::Unavailable),
        (LogicError::DeadlineExceeded, Code::DeadlineExceeded),
        (LogicError::Unimplemented("GetUser"), Code::Unimplemented),
        (LogicError::internal("x", std::io::Error::other("disk")), Code::Internal),
    ];
    for (error, code) in cases {
        assert_eq!(error.into_status("M", "r").code(), code);
    }
}

#[test]
fn internal_causes_stay_inside() {
    let status = LogicError::internal("hashing", std::io::Error::other("secret detail")).into_status("M", "req-1");
    assert!(!status.message().contains("secret"));
    assert!(status.message().contains("req-1"));
}

#[test]
fn upstream_outages_stay_retryable_and_the_rest_is_internal() {
    assert_eq!(LogicError::from_upstream(Status::unavailable("down")).code(), Code::Unavailable);
    assert_eq!(LogicError::from_upstream(Status::deadline_exceeded("slow")).code(), Code::DeadlineExceeded);
    assert_eq!(LogicError::from_upstream(Status::not_found("user")).code(), Code::Internal);
}

#[test]
fn repository_errors_map_to_actionable_codes() {
    let conflict = RepoError::VersionConflict { table: "users", expected: 1, actual: 2 };
    assert_eq!(LogicError::from(conflict).code(), Code::Aborted);
    let unique = RepoError::UniqueViolation { table: "users", constraint: Some("users_email_key".into()) };
    assert_eq!(LogicError::from(unique).code(), Code::AlreadyExists);
    assert_eq!(LogicError::from(RepoError::NotFound { table: "users" }).code(), Code::NotFound);
}
