//! What operators read: the Prometheus rules against real `/metrics`, and the README's policy
//! table against the services.

mod metrics_rules_sync;
mod readme_access;
