//! The generated Prometheus rules (generated/ops/chart/rules/) read exactly what a real running
//! service exports: every metric name and label their selectors use appears in `/metrics`, and
//! `promtool check metrics` accepts the exposition. A rule naming a metric the runtime does not
//! export (or a runtime rename the rules did not follow) fails here.
//!
//! It registers process-wide client families, so it shares its process (the ops binary) with
//! no test that asserts on their absence (metrics_from_start has a binary of its own); other
//! tests' series only add to what promtool checks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use nova_tests::metrics::scrape;
use nova_tests::{Scripted, start_scripted};

/// `name{label=..., ...}` selectors of raw metrics in a PromQL expression: name -> label names.
fn selectors(expr: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut found = Vec::new();
    let bytes: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '{' {
            let mut start = i;
            while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == '_' || bytes[start - 1] == ':') {
                start -= 1;
            }
            let name: String = bytes[start..i].iter().collect();
            let end = (i..bytes.len()).find(|&j| bytes[j] == '}').unwrap();
            let body: String = bytes[i + 1..end].iter().collect();
            let labels = body.split(',').filter_map(|m| m.split(['=', '!']).next()).map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
            found.push((name, labels));
            i = end;
        }
        i += 1;
    }
    found
}

/// Family name -> label names seen on its samples.
fn exported(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut families: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, rest) = line.split_once('{').unwrap_or((line.split(' ').next().unwrap(), ""));
        let labels = families.entry(name.to_string()).or_default();
        for pair in rest.split("\",") {
            if let Some((label, _)) = pair.split_once('=') {
                labels.insert(label.trim_start_matches(',').to_string());
            }
        }
    }
    families
}

#[tokio::test]
async fn generated_rules_read_only_what_a_running_service_exports_and_promtool_accepts_it() {
    let server = start_scripted(&Scripted::default()).await;
    // What callers of auth export: a client (cache, retries) and its breaker and retry budget.
    nova_runtime::metrics::register_client(nova_auth::rpc::ALL);
    let _target = nova_runtime::metrics::TargetMetrics::new("auth");
    // What a service exports once its events start: as a publisher, and as a consumer.
    nova_runtime::events::metric::register_publisher("auth");
    nova_runtime::events::metric::register_consumer("user", "nova.auth.users.deleted");
    let text = scrape(server.metrics_addr).await;
    server.stop().await.unwrap();
    let families = exported(&text);

    let rules_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated/ops/chart/rules");
    let mut checked = 0;
    for entry in std::fs::read_dir(&rules_dir).unwrap_or_else(|e| panic!("{}: {e} (run `cargo run -p nova-gen -- generate`)", rules_dir.display())) {
        let path = entry.unwrap().path();
        let rules = std::fs::read_to_string(&path).unwrap();
        for line in rules.lines().filter_map(|l| l.trim().strip_prefix("expr: ")) {
            let expr: String = serde_json::from_str(line).unwrap();
            for (name, labels) in selectors(&expr) {
                // Recording rules (level:metric:op) are checked by promtool's rule tests; `up` is Prometheus' own.
                if name.contains(':') || name == "up" {
                    continue;
                }
                let Some(have) = families.get(&name) else {
                    panic!("{}: `{name}` in `{expr}` is not exported by a running service; /metrics has: {:?}", path.display(), families.keys());
                };
                for label in labels {
                    assert!(
                        have.contains(&label),
                        "{}: label `{label}` of `{name}` in `{expr}` is not on the exported series ({have:?})",
                        path.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "only {checked} selectors found in {}", rules_dir.display());

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool not runnable ({e}): install the ops tools with .ci/ops-tools"));
    promtool.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics refuses the /metrics of a running service:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
