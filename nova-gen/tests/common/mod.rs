//! The throwaway repository of nova-gen-core's tests (one copy, included by path) and, in
//! [`pg`], scratch databases on the local PostgreSQL server.

#![allow(dead_code)]

#[path = "../../../nova-gen-core/tests/common/mod.rs"]
mod temp_repo;

pub mod pg;

#[allow(unused_imports)] // not every test file uses it
pub use temp_repo::TempRepo;
