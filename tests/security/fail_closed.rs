//! Authorization decisions fail closed: when auth cannot answer, `VerifyToken` fails
//! UNAVAILABLE and is never answered from a stale cache (`fail_closed = true` in the spec).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::time::Duration;

use nova_auth::pb::auth_service_client::AuthServiceClient;
use nova_auth::{AuthClient, pb};
use nova_runtime::client::{ClientCore, ClientOptions};
use nova_runtime::rpc::{CachePolicy, RpcDescriptor};
use nova_tests::{Scripted, start_scripted};
use tonic::Code;

fn token(value: &str) -> pb::VerifyTokenRequest {
    pb::VerifyTokenRequest { access_token: value.to_string() }
}

async fn verify(core: &ClientCore, rpc: &'static RpcDescriptor, value: &str) -> Result<pb::VerifyTokenResponse, tonic::Status> {
    core.unary(rpc, token(value), |_| Vec::new(), |channel, request| async move { AuthServiceClient::new(channel).verify_token(request).await }).await
}

/// VerifyToken as the spec declares it, except that its cached answers expire at once and may
/// be served stale for an hour: only `fail_closed` stands between an outage and a stale answer.
fn expiring_verify_token(fail_closed: bool) -> &'static RpcDescriptor {
    let mut rpc = nova_auth::rpc::VERIFY_TOKEN;
    rpc.policy.cache = Some(CachePolicy { ttl: Duration::ZERO, stale_if_error: Duration::from_secs(3600) });
    rpc.policy.fail_closed = fail_closed;
    Box::leak(Box::new(rpc))
}

#[test]
fn the_spec_makes_authorization_decisions_fail_closed() {
    for rpc in [
        &nova_auth::rpc::VERIFY_TOKEN,
        &nova_auth::rpc::CHECK_PERMISSION,
        &nova_auth::rpc::GET_USER_PERMISSIONS,
        &nova_user::rpc::CHECK_USER_RELATIONSHIP,
    ] {
        assert!(rpc.policy.fail_closed, "{} is an authorization decision", rpc.method);
        assert_eq!(rpc.policy.cache.map(|c| c.stale_if_error), Some(Duration::ZERO), "{} keeps no stale window", rpc.method);
    }
}

#[tokio::test]
async fn with_auth_down_verify_token_fails_unavailable_and_is_never_served_stale() {
    // (fail_closed, whether the outage is answered from the stale entry)
    for (fail_closed, served_stale) in [(false, true), (true, false)] {
        let scripted = Scripted::default();
        let server = start_scripted(&scripted).await;
        let channel = nova_runtime::client::channel(&server.uri()).unwrap();
        let rpc = expiring_verify_token(fail_closed);
        let core = ClientCore::new(&nova_auth::rpc::TARGET, channel.clone(), ClientOptions::in_process());
        assert!(verify(&core, rpc, "t1").await.unwrap().valid);
        // Auth goes away: its server stops and nothing listens on its port any more.
        server.stop().await.unwrap();
        let during_outage = verify(&core, rpc, "t1").await;
        if served_stale {
            assert!(during_outage.unwrap().valid, "the control case serves its stale entry");
        } else {
            assert_eq!(during_outage.unwrap_err().code(), Code::Unavailable, "fail-closed: no stale answer");
        }
        assert_eq!(scripted.calls(), 1, "only the first call reached auth");
        // The generated client, with nothing cached, fails the same way.
        let client = AuthClient::with_options(channel, ClientOptions::in_process());
        assert_eq!(client.verify_token(token("t2")).await.unwrap_err().code(), Code::Unavailable);
    }
}
