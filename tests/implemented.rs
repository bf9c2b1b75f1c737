//! Every RPC of every service has an implementation: each is called, with an empty request
//! over raw gRPC, on the running service (its callees running too), and none answers
//! UNIMPLEMENTED. The services come from the generated registry, so a service or RPC added to
//! the spec is covered here without a change to this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use nova_tests::{RawGrpc, TestSystem};
use tonic::Code;

#[tokio::test]
async fn no_rpc_answers_unimplemented() {
    let mut unimplemented = Vec::new();
    let mut called = 0;
    for service in nova_services::SERVICES {
        let mut system = TestSystem::new();
        let running = system.start_with_callees(service.name).await;
        let mut raw = RawGrpc::connect(running.addr).await;
        for rpc in service.description.rpcs {
            let reply = raw.unary(&rpc.path(), &[], &[]).await;
            called += 1;
            if reply.code == Code::Unimplemented {
                unimplemented.push(rpc.path());
            }
        }
        system.stop().await;
    }
    assert_eq!(nova_services::SERVICES.len(), 8, "the registry lists the eight services");
    assert!(called > 0, "the services have RPCs");
    assert!(unimplemented.is_empty(), "answer UNIMPLEMENTED: {unimplemented:#?}");
}
