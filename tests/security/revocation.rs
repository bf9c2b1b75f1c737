//! Revocation reaches every service: after Logout, ChangePassword or DeleteUser, the token
//! stops verifying in every other service (each verifies tokens itself, against the
//! revocations it polls from auth every `refresh`; the test system polls every 200 ms). The
//! tests wait for the refusal in each service (never time it: BENCHMARKS.md measures it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_auth::AuthClient;
use nova_auth::pb as auth_pb;
use nova_runtime::identity::Peer;
use nova_tests::eventually::eventually;
use nova_tests::{RawGrpc, TestSystem, TestUser};
use tonic::Code;

/// What `service` answers a call of a public RPC carrying `token` (an empty request): a
/// revoked token is UNAUTHENTICATED whatever the RPC, a good one reaches the handler.
async fn answer(system: &TestSystem, service: &nova_services::Service, token: &str) -> Code {
    let rpc = service
        .description
        .rpcs
        .iter()
        .find(|rpc| matches!(rpc.access.access, nova_runtime::identity::Access::Public | nova_runtime::identity::Access::User))
        .unwrap_or_else(|| panic!("{} has no public or user RPC", service.name));
    let addr = system.member(service.name).service.addr;
    let mut raw = RawGrpc::connect_tls(addr, service.name, &Peer::Client("edge".to_string())).await;
    let header = format!("Bearer {token}");
    raw.unary(&rpc.path(), &[], &[("authorization", header.as_str())]).await.code
}

/// Every service accepts `user`'s token now, and refuses it once `revoke` ran.
async fn revoked_everywhere(system: &TestSystem, user: &TestUser, bystander: &TestUser, revoke: impl std::future::Future<Output = ()>) {
    for service in nova_services::SERVICES {
        assert_ne!(answer(system, service, &user.token).await, Code::Unauthenticated, "{} refuses a good token", service.name);
    }
    revoke.await;
    for service in nova_services::SERVICES {
        eventually(&format!("{} refuses the revoked token", service.name), || async {
            answer(system, service, &user.token).await == Code::Unauthenticated
        })
        .await;
        // Only that token: another user's still verifies.
        assert_ne!(answer(system, service, &bystander.token).await, Code::Unauthenticated, "{} refuses a bystander", service.name);
    }
}

/// All eight services, with ada and bob signed in, and a client of auth acting as ada.
async fn scene() -> (TestSystem, TestUser, TestUser, AuthClient) {
    let mut system = TestSystem::new();
    system.start_all().await;
    let ada = system.sign_up("ada").await;
    let bob = system.sign_up("bob").await;
    let auth = system.client(AuthClient::from_peers).with_token(&ada.token);
    (system, ada, bob, auth)
}

#[tokio::test]
async fn logout_reaches_every_service() {
    let (system, ada, bob, auth) = scene().await;
    revoked_everywhere(&system, &ada, &bob, async {
        auth.logout(auth_pb::LogoutRequest { session_id: ada.session_id.clone() }).await.unwrap();
    })
    .await;
    // Her other session (a second sign-in) is not affected.
    let again = system.sign_in(&ada.email).await;
    for service in nova_services::SERVICES {
        assert_ne!(answer(&system, service, &again.token).await, Code::Unauthenticated, "{}", service.name);
    }
    system.stop().await;
}

#[tokio::test]
async fn deleting_an_account_reaches_every_service() {
    let (system, ada, bob, auth) = scene().await;
    revoked_everywhere(&system, &ada, &bob, async {
        auth.delete_user(auth_pb::DeleteUserRequest { user_id: ada.id.clone() }).await.unwrap();
    })
    .await;
    system.stop().await;
}

#[tokio::test]
async fn a_password_change_signs_out_the_other_sessions_everywhere() {
    let (system, ada, _, auth) = scene().await;
    let elsewhere = system.sign_in(&ada.email).await;
    revoked_everywhere(&system, &elsewhere, &ada, async {
        let request = auth_pb::ChangePasswordRequest {
            user_id: ada.id.clone(),
            current_password: nova_tests::system::PASSWORD.to_string(),
            new_password: "another correct horse".to_string(),
        };
        auth.change_password(request).await.unwrap();
    })
    .await;
    system.stop().await;
}
