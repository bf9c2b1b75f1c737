//! Every RPC of every service has an implementation: each is called, with an empty request
//! over raw gRPC, on the running service (its callees running too), with credentials its
//! access policy admits (a fresh signed-in user holding every permission the spec names, or a
//! service the policy lists), so that the call reaches its handler; none answers UNIMPLEMENTED.
//! The services come from the generated registry, so a service or RPC added to the spec is
//! covered here without a change to this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_runtime::codegen::sqlx;
use nova_runtime::identity::{Access, Peer};
use nova_tests::{RawGrpc, TestSystem};
use tonic::Code;

#[tokio::test]
async fn no_rpc_answers_unimplemented() {
    let mut unimplemented = Vec::new();
    let mut refused = Vec::new();
    let mut called = 0;
    let permissions: Vec<&str> = nova_services::SERVICES
        .iter()
        .flat_map(|s| s.description.rpcs.iter())
        .filter_map(|rpc| match rpc.access.access {
            Access::Permission(permission) => Some(permission),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for service in nova_services::SERVICES {
        let mut system = TestSystem::new();
        let running = system.start_with_callees(service.name).await;
        let addr = running.addr;
        for (index, rpc) in service.description.rpcs.iter().enumerate() {
            let (peer, headers) = match (rpc.access.access, rpc.access.services.first()) {
                (Access::Service, Some(caller)) => (Peer::Service((*caller).to_string()), Vec::new()),
                _ => {
                    // A user of its own per call: a call may sign its user out or delete it.
                    let user = system.sign_up(&format!("probe{index}")).await;
                    let mut db = system.connect("auth").await;
                    for permission in &permissions {
                        sqlx::query("INSERT INTO user_permissions (user_id, permission) VALUES ($1::uuid, $2)")
                            .bind(&user.id)
                            .bind(permission)
                            .execute(&mut db)
                            .await
                            .unwrap();
                    }
                    (Peer::Client("edge".to_string()), vec![("authorization".to_string(), format!("Bearer {}", user.token))])
                }
            };
            let mut raw = RawGrpc::connect_tls(addr, service.name, &peer).await;
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let reply = raw.unary(&rpc.path(), &[], &headers).await;
            called += 1;
            if reply.code == Code::Unimplemented {
                unimplemented.push(rpc.path());
            }
            // Refused before the handler ran would make this test say nothing about it.
            if reply.code == Code::Unauthenticated || (reply.code == Code::PermissionDenied && reply.message.contains("may")) {
                refused.push(format!("{}: {:?} {}", rpc.path(), reply.code, reply.message));
            }
        }
        system.stop().await;
    }
    assert_eq!(nova_services::SERVICES.len(), 8, "the registry lists the eight services");
    assert!(called > 0, "the services have RPCs");
    assert!(unimplemented.is_empty(), "answer UNIMPLEMENTED: {unimplemented:#?}");
    assert!(refused.is_empty(), "refused by their access policy, so not called: {refused:#?}");
}
