//! What the runtime's metrics look like to the generated alert rules.

/// Latency buckets (seconds): fine below 100 ms so that "P95 > 100 ms" can be answered, and
/// up to the seed's 1 s P99 target and beyond.
pub const LATENCY_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0];
