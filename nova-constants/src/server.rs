//! A server's shutdown timing and its metrics listener, which the generated Helm values
//! must match.

use std::time::Duration;

/// How long a server keeps serving after SIGTERM while reporting NOT_SERVING (load
/// balancers need that long to stop sending calls).
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
/// How long calls in flight may take to finish once the server stops accepting.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(20);
/// The metrics listener's default port: the service's gRPC port plus this.
pub const METRICS_PORT_OFFSET: u16 = 1000;
