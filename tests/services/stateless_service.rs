//! A service that owns no table (the torture spec's `gamma` gateway) runs with no database at
//! all: its configuration reads no database settings, its server reports SERVING from the
//! first health update (it waits for nothing), and calls reach its (scaffolded) logic over
//! real gRPC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_gamma::pb;
use nova_gamma::pb::gamma_service_client::GammaServiceClient;
use nova_tests::{HealthWatch, RunningService, pki};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn a_gateway_without_tables_serves_at_once_without_a_database() {
    // Its description names no database, so its configuration holds none, whatever the
    // environment's NOVA_DATABASE_* say (they are not read).
    assert_eq!(nova_gamma::server::DESCRIPTION.database, None);
    // The environment of the tests sets no TLS material: refused, naming what to set (there is
    // no silent plaintext default).
    let refused = nova_gamma::server::config_from_env().unwrap_err().to_string();
    assert!(refused.contains("NOVA_TLS_CA") && !refused.contains("DATABASE"), "{refused}");
    let mut config = nova_runtime::server::ServiceConfig::loopback_without_database();
    config.transport = pki::service("gamma");
    assert!(config.database.is_none(), "a service without tables got database settings: {:?}", config.database);
    assert!(matches!(config.database(), Err(nova_runtime::server::StartError::NoDatabase)));

    let service = RunningService::start(move |listeners, shutdown| nova_gamma_service::start(config, listeners, shutdown)).await;
    // The very first status is SERVING: there is no database to wait for.
    let mut watch = HealthWatch::start_tls(service.addr, &nova_gamma::server::DESCRIPTION).await;
    assert_eq!(watch.next().await, Some(ServingStatus::Serving));

    // Calls are admitted at once and reach the scaffolded logic (UNIMPLEMENTED), never refused
    // with UNAVAILABLE as a service waiting for its database would.
    let edge = pki::material(&nova_runtime::identity::Peer::Client("edge".to_string()));
    let mut client = GammaServiceClient::new(nova_runtime::client::tls_channel(&service.uri(), &edge, "gamma").unwrap());
    let echoed = client.echo(pb::EchoRequest { text: "no database here".into() }).await.unwrap_err();
    assert_eq!(echoed.code(), Code::Unimplemented, "{echoed:?}");
    let forwarded = client.forward(pb::ForwardRequest { item: None }).await.unwrap_err();
    assert_eq!(forwarded.code(), Code::Unimplemented, "{forwarded:?}");

    service.stop().await.unwrap();
}
