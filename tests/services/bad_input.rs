//! Bad input on the real auth service (its own database on the shared PostgreSQL): every
//! case is `INVALID_ARGUMENT` with a short message that names the field, whatever the size
//! or bytes sent; nothing reaches the database as `INTERNAL`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::pb;
use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_runtime::identity::Peer;
use nova_tests::{RawGrpc, TestSystem, pki};
use tonic::Code;

/// A plain tonic client of auth at `uri` over mutual TLS as `peer`.
fn raw_client(uri: &str, peer: Peer) -> AuthServiceClient<tonic::transport::Channel> {
    AuthServiceClient::new(nova_runtime::client::tls_channel(uri, &pki::material(&peer), "auth").unwrap())
}

/// Longest message a caller gets back here: the input is quoted, at most 64 characters of it.
const SHORT: usize = 200;

#[tokio::test]
async fn oversized_nul_and_undecodable_input_is_invalid_argument_with_a_short_message() {
    let mut system = TestSystem::new();
    let service = system.start_with_callees("auth").await;
    let (uri, addr) = (service.uri(), service.addr);
    // A plain tonic client: no deadline of its own (a 1 MB request on a loaded machine may
    // take longer than GetUser's 200 ms policy), so what it reads is the server's answer. The
    // edge's certificate; GetUserByEmail is for services, so it is asked as one.
    let mut client = raw_client(&uri, Peer::Client("edge".to_string()));
    let mut as_service = raw_client(&uri, Peer::Service("user".to_string()));

    for size in [20 * 1024, 1024 * 1024] {
        let huge = client.get_user(pb::GetUserRequest { user_id: "x".repeat(size) }).await.unwrap_err();
        assert_eq!(huge.code(), Code::InvalidArgument, "{size} bytes: {huge:?}");
        assert!(huge.message().len() < SHORT, "{size} bytes: {} bytes of message", huge.message().len());
        assert!(huge.message().contains("user_id") && huge.message().contains(&format!("({size} bytes)")), "{}", huge.message());
    }

    let nul_email = pb::RegisterRequest { email: "nul\0@example.com".into(), username: "nul".into(), password: "correct horse battery".into() };
    let rejected = client.register(nul_email).await.unwrap_err();
    assert_eq!(rejected.code(), Code::InvalidArgument, "{rejected:?}");
    assert!(rejected.message().contains("email"), "{}", rejected.message());
    let lookup = as_service.get_user_by_email(pb::GetUserByEmailRequest { email: "a\0b@example.com".into() }).await.unwrap_err();
    assert_eq!(lookup.code(), Code::InvalidArgument, "{lookup:?}");
    let nul_id = client.get_user(pb::GetUserRequest { user_id: "\0".into() }).await.unwrap_err();
    assert_eq!(nul_id.code(), Code::InvalidArgument, "{nul_id:?}");

    let mut raw = RawGrpc::connect_tls(addr, "auth", &Peer::Client("edge".to_string())).await;
    let garbage = raw.unary("/nova.auth.v1.AuthService/GetUser", b"\xff\xfe\xfd garbage \x00\x01", &[]).await;
    assert_eq!(garbage.code, Code::InvalidArgument, "{garbage:?}");
    assert!(garbage.message.len() < SHORT, "{garbage:?}");

    // The service is unharmed and stored nothing.
    let ok =
        client.register(pb::RegisterRequest { email: "ok@example.com".into(), username: "okay".into(), password: "correct horse battery".into() });
    assert_eq!(ok.await.unwrap().into_inner().user.unwrap().email, "ok@example.com");
    let mut db = system.connect("auth").await;
    let users: i64 = nova_runtime::codegen::sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut db).await.unwrap();
    assert_eq!(users, 1);
    system.stop().await;
}
