//! What operators read: one plain-text line per call at debug, naming the method, the code,
//! the duration and the request id (the caller's, or a fresh one), and no colour codes.
//! Alone in its binary: it installs the process-wide logger.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::io::Write;
use std::sync::{Arc, Mutex};

use nova_tests::{RawGrpc, TestSystem};
use prost::Message as _;
use tonic::Code;

/// Everything the logger wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap().lines().map(str::to_string).collect()
    }
}

#[tokio::test]
async fn every_call_is_one_debug_line_with_method_code_duration_and_request_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The runtime's plain-text format (what a service writes when stdout is not a terminal).
    tracing_subscriber::fmt().with_env_filter("nova_runtime=debug").with_target(false).with_ansi(false).with_writer(move || writer.clone()).init();

    let mut system = TestSystem::new();
    let auth = system.start_with_callees("auth").await.addr;
    let mut raw = RawGrpc::connect_tls(auth, "auth", &nova_runtime::identity::Peer::Client("edge".to_string())).await;
    let unknown = nova_auth::pb::GetUserRequest { user_id: uuid::Uuid::new_v4().to_string() }.encode_to_vec();
    let path = nova_auth::rpc::GET_USER.path();
    let named = raw.unary(&path, &unknown, &[("x-request-id", "trace-me-42")]).await;
    assert_eq!(named.code, Code::NotFound);
    let anonymous = raw.unary(&path, &unknown, &[]).await;
    assert_eq!(anonymous.code, Code::NotFound);
    system.stop().await;

    let lines = captured.lines();
    let calls: Vec<&String> = lines.iter().filter(|l| l.contains(" call method=\"GetUser\"")).collect();
    assert_eq!(calls.len(), 2, "one line per call: {calls:#?}");
    let named = calls.iter().find(|l| l.contains("request_id=\"trace-me-42\""));
    let named = named.unwrap_or_else(|| panic!("the caller's request id is logged: {calls:#?}"));
    assert!(named.contains("DEBUG") && named.contains("code=NotFound") && named.contains("duration_ms="), "{named}");
    let fresh = calls.iter().find(|l| !l.contains("trace-me-42")).unwrap();
    assert!(fresh.contains("request_id="), "a call without an id gets a fresh one: {fresh}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "no colour codes in plain text");
}
