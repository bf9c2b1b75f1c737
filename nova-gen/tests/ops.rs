//! Ops artifacts (generated/ops): Prometheus rules checked and unit-tested with the real
//! promtool; the Helm chart rendered, linted and schema-checked for every service with a real
//! Helm engine, its manifests validated against the Kubernetes and CRD schemas and
//! cross-checked against the spec; drift and spec changes; broken fixtures fail clearly.
//!
//! Tools: promtool, helm-python-sdk and kubernetes-validate (nova-gen/tests/ops/.venv), the
//! @kubernetes-models CRD validators (nova-gen/tests/ops/node_modules). `.ci/ops-tools`
//! installs them all; a missing one fails the test with that instruction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed setup step is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::TempRepo;
use nova_gen_core::emit::ops;
use nova_gen_core::layout::Layout;

const INSTALL: &str = "install the ops tools with `.ci/ops-tools` (from the repository root)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn ops_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ops")
}

fn run(command: &mut Command, what: &str) -> Output {
    command.output().unwrap_or_else(|e| panic!("{what} could not run ({e}): {INSTALL}"))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn python() -> PathBuf {
    let python = ops_dir().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: {INSTALL}", python.display());
    python
}

fn node_modules_ready() {
    for package in ["argo-rollouts", "prometheus-operator", "cert-manager"] {
        let dir = ops_dir().join("node_modules/@kubernetes-models").join(package);
        assert!(dir.is_dir(), "{} is missing: {INSTALL}", dir.display());
    }
}

/// The generated/ops files of the specs at `layout`, written below a fresh directory.
fn ops_tree(layout: &Layout) -> (tempfile::TempDir, nova_gen_core::Analysis) {
    let (analysis, files) = nova_gen_core::generate_files(layout).unwrap_or_else(|e| panic!("{e:?}"));
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files.owned.iter().filter(|(p, _)| p.starts_with("generated/ops/")) {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, contents).unwrap();
    }
    (dir, analysis)
}

fn real_ops() -> (tempfile::TempDir, nova_gen_core::Analysis) {
    ops_tree(&Layout::at(workspace_root()))
}

fn torture_ops() -> (tempfile::TempDir, nova_gen_core::Analysis) {
    ops_tree(&Layout::at(workspace_root().join("nova-gen/tests/torture")))
}

fn promtool(args: &[&str]) -> Output {
    run(Command::new("promtool").args(args), "promtool")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn promtool_checks_and_unit_tests_every_rule_file() {
    for (dir, analysis) in [real_ops(), torture_ops()] {
        let ops = dir.path().join("generated/ops");
        let rules = files_in(&ops.join("chart/rules"));
        let tests = files_in(&ops.join("tests"));
        assert_eq!(rules.len(), analysis.spec.services.len());
        assert_eq!(tests.len(), analysis.spec.services.len());
        for file in &rules {
            let output = promtool(&["check", "rules", file.to_str().unwrap()]);
            assert!(output.status.success(), "promtool check rules {}:\n{}", file.display(), text(&output));
        }
        // One promtool per file, all at once: each is single-threaded and the long burn-rate
        // series make them the slowest part of the suite.
        let children: Vec<_> = tests
            .iter()
            .map(|file| {
                let child = Command::new("promtool")
                    .args(["test", "rules", file.to_str().unwrap()])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("promtool could not run ({e}): {INSTALL}"));
                (file, child)
            })
            .collect();
        for (file, child) in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "promtool test rules {}:\n{}", file.display(), text(&output));
            assert!(text(&output).contains("SUCCESS"), "{}", text(&output));
        }
    }
}

#[test]
fn every_alert_of_every_service_has_firing_silent_and_resolved_tests() {
    let (dir, analysis) = real_ops();
    for service in &analysis.spec.services {
        let tests = std::fs::read_to_string(dir.path().join(format!("generated/ops/tests/{}.test.yml", service.name))).unwrap();
        let mut alerts = vec![
            "GRPCLatencyHigh",
            "GRPCErrorRateHigh",
            "GRPCErrorBudgetBurnFast",
            "GRPCErrorBudgetBurnSlow",
            "GRPCCircuitBreakerOpen",
            "GRPCRetryBudgetExhausted",
            "GRPCServiceAbsent",
        ];
        if service.rpcs.iter().any(|r| r.policy.cache.is_some()) {
            alerts.push("GRPCCacheHitRateLow");
        }
        for alert in alerts {
            let checks: Vec<&str> = tests.split("- eval_time:").filter(|c| c.contains(&format!("alertname: {alert}\n"))).collect();
            assert!(checks.iter().any(|c| c.contains("exp_alerts:\n")), "{}: no test where {alert} fires", service.name);
            assert!(
                checks.iter().filter(|c| c.contains("exp_alerts: []")).count() >= 2,
                "{}: {alert} lacks a silent and a resolved check",
                service.name
            );
        }
        // The canary analysis' own queries, judged on a failing canary beside a healthy stable version.
        assert!(
            tests.contains("promql_expr_test:") && tests.contains(r#"rollouts_pod_template_hash=\"canary\""#),
            "{}: no canary analysis test",
            service.name
        );
    }
}

/// A copy of the real rules and tests of `service` with `from` replaced by `to` in the rules.
fn broken_rules(service: &str, from: &str, to: &str) -> Output {
    let (dir, _) = real_ops();
    let rules = dir.path().join(format!("generated/ops/chart/rules/{service}.rules.yml"));
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains(from), "{from} not in {}", rules.display());
    std::fs::write(&rules, text.replace(from, to)).unwrap();
    let check = promtool(&["check", "rules", rules.to_str().unwrap()]);
    assert!(check.status.success(), "the broken rules are still valid PromQL: {}", self::text(&check));
    promtool(&["test", "rules", dir.path().join(format!("generated/ops/tests/{service}.test.yml")).to_str().unwrap()])
}

#[test]
fn a_broken_threshold_fails_the_rule_tests_naming_the_alert() {
    // auth's P95 objective is 50ms: an alert at 500ms stays silent where it must fire.
    let output = broken_rules(
        "auth",
        "grpc_server_handling_seconds:p95_5m{grpc_service=\\\"nova.auth.v1.AuthService\\\"} > 0.05",
        "grpc_server_handling_seconds:p95_5m{grpc_service=\\\"nova.auth.v1.AuthService\\\"} > 0.5",
    );
    assert!(!output.status.success(), "promtool accepted a broken threshold:\n{}", text(&output));
    assert!(text(&output).contains("alertname: GRPCLatencyHigh"), "{}", text(&output));
    // Just below the objective must stay silent: an alert at 0.02 fires there.
    let output = broken_rules(
        "auth",
        "grpc_server_error_ratio:rate5m{grpc_service=\\\"nova.auth.v1.AuthService\\\"} > 0.001",
        "grpc_server_error_ratio:rate5m{grpc_service=\\\"nova.auth.v1.AuthService\\\"} > 0.0005",
    );
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("alertname: GRPCErrorRateHigh"), "{}", text(&output));
}

#[test]
fn a_broken_metric_name_fails_the_rule_tests() {
    let output = broken_rules("auth", "grpc_client_circuit_breaker_state{", "grpc_client_breaker_state{");
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("alertname: GRPCCircuitBreakerOpen"), "{}", text(&output));
}

/// What the chart must say for each service, from the IR, the runtime's own defaults and its
/// security contract (issue 17), computed here independently of the generator.
fn expectations(analysis: &nova_gen_core::Analysis, ops: &Path) -> serde_json::Value {
    let spec = &analysis.spec;
    let services: serde_json::Map<String, serde_json::Value> = spec
        .services
        .iter()
        .map(|s| {
            // Clients verify the callee's certificate by its Service name, over mTLS only.
            let endpoints: serde_json::Map<String, serde_json::Value> = spec
                .resolve(&s.calls)
                .map(|c| (format!("NOVA_{}_ENDPOINT", c.name.to_ascii_uppercase()), format!("https://{}:{}", ops::job_name(&c.name), c.port).into()))
                .collect();
            let callees: serde_json::Map<String, serde_json::Value> =
                spec.resolve(&s.calls).map(|c| (ops::job_name(&c.name), c.port.into())).collect();
            // The reverse edges: every service whose `calls` name this one.
            let callers: Vec<String> = spec.services.iter().filter(|c| c.calls.contains(&s.id)).map(|c| ops::job_name(&c.name)).collect();
            let mut secret_env = vec!["NOVA_REDIS_URL", "NOVA_CACHE_KEY"];
            if s.database.is_some() {
                secret_env.push("NOVA_DATABASE_URL");
            }
            if s.name == "auth" {
                secret_env.push("NOVA_AUTH_KEY_ENCRYPTION_KEY");
            }
            // A service with events reaches NATS with credentials of its own.
            if s.events.any() {
                secret_env.push("NOVA_NATS_URL");
            }
            let value = serde_json::json!({
                "port": s.port,
                "database": s.database,
                "job": ops::job_name(&s.name),
                "endpoints": endpoints,
                "callees": callees,
                "callers": callers,
                "identity": format!("spiffe://nova.local/svc/{}", s.name),
                "secret_env": secret_env,
                "events": s.events.any(),
                "rules": ops.join(format!("chart/rules/{}.rules.yml", s.name)),
                "max_error_ratio": s.slo.error_rate_percent / 100.0,
                "max_p95_seconds": s.slo.p95_latency.as_secs_f64(),
                "recording_rules": ops::ANALYSIS_RECORDS,
            });
            (s.name.clone(), value)
        })
        .collect();
    serde_json::json!({
        "services": services,
        "drain_delay_seconds": nova_runtime::server::DEFAULT_DRAIN_DELAY.as_secs(),
        "grace_seconds": nova_runtime::server::DEFAULT_GRACE.as_secs(),
        "termination_grace_period_seconds": ops::TERMINATION_GRACE_PERIOD_SECONDS,
    })
}

/// validate_chart.py on the tree's chart and values; then validate_crds.mjs on what it rendered.
fn validate_chart(ops: &Path, analysis: &nova_gen_core::Analysis) -> (Output, Option<Output>) {
    let work = tempfile::tempdir().unwrap();
    let expect = work.path().join("expect.json");
    std::fs::write(&expect, expectations(analysis, ops).to_string()).unwrap();
    let crds = work.path().join("crds.json");
    let chart = run(
        // No __pycache__ beside the sources (validate_chart.py imports checkov_scan.py).
        Command::new(python())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg(ops_dir().join("validate_chart.py"))
            .arg(ops.join("chart"))
            .arg(ops.join("values"))
            .arg(&expect)
            .arg(&crds),
        "validate_chart.py",
    );
    if !chart.status.success() {
        return (chart, None);
    }
    node_modules_ready();
    let crd = run(Command::new("node").arg(ops_dir().join("validate_crds.mjs")).arg(&crds).current_dir(ops_dir()), "node");
    (chart, Some(crd))
}

#[test]
fn the_chart_renders_lints_and_validates_for_every_service_and_matches_the_spec() {
    // The runtime's shutdown defaults are what the chart's grace period must cover.
    assert_eq!(ops::DRAIN_DELAY_SECONDS, nova_runtime::server::DEFAULT_DRAIN_DELAY.as_secs());
    assert_eq!(ops::GRACE_SECONDS, nova_runtime::server::DEFAULT_GRACE.as_secs());
    let runtime_stop = nova_runtime::server::DEFAULT_DRAIN_DELAY + nova_runtime::server::DEFAULT_GRACE;
    assert!(
        std::time::Duration::from_secs(ops::TERMINATION_GRACE_PERIOD_SECONDS) > runtime_stop,
        "the pod would be killed before the runtime's drain and grace end"
    );
    for (dir, analysis) in [real_ops(), torture_ops()] {
        let (chart, crds) = validate_chart(&dir.path().join("generated/ops"), &analysis);
        println!("{}", text(&chart)); // checkov's figures per service, shown with --nocapture
        assert!(chart.status.success(), "chart validation failed:\n{}", text(&chart));
        let count = analysis.spec.services.len();
        // Per service: canary on (Rollout, AnalysisTemplate, ServiceMonitor, PrometheusRule,
        // Certificate), canary off (the last three) and options on (those and the edge's Certificate).
        let custom = count * (5 + 3 + 4);
        assert!(text(&chart).contains(&format!("validate_chart: {count} services, {custom} custom resources, 0 problems")), "{}", text(&chart));
        let crds = crds.unwrap();
        assert!(crds.status.success(), "CRD validation failed:\n{}", text(&crds));
        assert!(text(&crds).contains(&format!("validate_crds: {custom} custom resources, 0 problems")), "{}", text(&crds));
    }
}

#[test]
fn a_broken_values_key_or_value_fails_chart_validation_clearly() {
    let (dir, analysis) = real_ops();
    let values = dir.path().join("generated/ops/values/auth.yaml");
    let original = std::fs::read_to_string(&values).unwrap();
    std::fs::write(&values, original.replace("\nreplicas: 3\n", "\nreplica: 3\n")).unwrap();
    let (chart, _) = validate_chart(&dir.path().join("generated/ops"), &analysis);
    assert!(!chart.status.success(), "{}", text(&chart));
    assert!(text(&chart).contains("values/auth.yaml: values.schema.json refuses the values"), "{}", text(&chart));
    assert!(text(&chart).contains("replica"), "{}", text(&chart));
    // A value the schema allows but the spec contradicts: the cross-check names it.
    std::fs::write(&values, original.replace("  grpc: 50051\n", "  grpc: 50999\n")).unwrap();
    let (chart, _) = validate_chart(&dir.path().join("generated/ops"), &analysis);
    assert!(!chart.status.success(), "{}", text(&chart));
    assert!(text(&chart).contains("container grpc port 50999, the spec says 50051"), "{}", text(&chart));
}

#[test]
fn a_security_regression_fails_chart_validation_naming_it() {
    let (dir, analysis) = real_ops();
    let ops = dir.path().join("generated/ops");
    let edit = |path: &str, from: &str, to: &str| {
        let file = ops.join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(from), "{from} not in {}", file.display());
        std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
    };
    // A writable root filesystem: the direct Pod Security check and checkov both name it.
    edit("chart/templates/_helpers.tpl", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
    // media calls auth, but auth's NetworkPolicy no longer admits it.
    edit("values/auth.yaml", "  - name: \"media\"\n    fullname: \"nova-media\"\n", "");
    // A password in the ConfigMap.
    edit("chart/templates/configmap.yaml", "  NOVA_DATA_DIR:", "  NOVA_REDIS_URL: \"redis://nova:hunter2@redis:6379\"\n  NOVA_DATA_DIR:");
    let (chart, _) = validate_chart(&ops, &analysis);
    let report = text(&chart);
    assert!(!chart.status.success(), "{report}");
    for expected in [
        "values/user.yaml (canary on): container user securityContext.readOnlyRootFilesystem is False, the Restricted Pod Security Standard wants True",
        "values/user.yaml (canary on): checkov CKV_K8S_22 fails on Deployment.nova-apps.nova-user: Use read-only filesystem",
        "values/auth.yaml (canary off): the NetworkPolicy admits callers ['nova-content', 'nova-feed', 'nova-messaging', 'nova-search', 'nova-streaming', 'nova-user'] to the gRPC port, the spec's reverse calls give ['nova-content', 'nova-feed', 'nova-media', 'nova-messaging', 'nova-search', 'nova-streaming', 'nova-user']",
        "values/feed.yaml (options on): the ConfigMap carries a secret: NOVA_REDIS_URL",
    ] {
        assert!(report.contains(expected), "no `{expected}` in:\n{report}");
    }
}

#[test]
fn a_broken_custom_resource_fails_crd_validation() {
    let (dir, analysis) = real_ops();
    let rollout = dir.path().join("generated/ops/chart/templates/rollout.yaml");
    let text_before = std::fs::read_to_string(&rollout).unwrap();
    std::fs::write(&rollout, text_before.replace("revisionHistoryLimit: 3", "revisionHistoryLimit: \"three\"")).unwrap();
    let (chart, crds) = validate_chart(&dir.path().join("generated/ops"), &analysis);
    assert!(chart.status.success(), "{}", text(&chart));
    let crds = crds.unwrap();
    assert!(!crds.status.success(), "{}", text(&crds));
    assert!(text(&crds).contains("Rollout does not match its CRD schema") && text(&crds).contains("revisionHistoryLimit"), "{}", text(&crds));
}

fn nova_gen_cli(root: &Path, command: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nova-gen")).arg(command).arg("--root").arg(root).output().unwrap()
}

#[test]
fn changing_an_slo_a_port_or_a_dependency_changes_rules_values_and_picture_and_check_reports_drift() {
    let repo = TempRepo::with_fixture("mini");
    assert!(nova_gen_cli(repo.root(), "generate").status.success());
    for service in ["accounts", "notes"] {
        repo.migrate(service, "init", false).unwrap_or_else(|e| panic!("{e:?}"));
    }
    assert!(nova_gen_cli(repo.root(), "generate").status.success());
    let check = nova_gen_cli(repo.root(), "check");
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let read = |path: &str| repo.read(&format!("generated/ops/{path}"));
    let (rules, values, dot) = (read("chart/rules/notes.rules.yml"), read("values/notes.yaml"), read("system.dot"));
    assert!(
        rules.contains("grpc_service_method:grpc_server_handling_seconds:p95_5m{grpc_service=\\\"nova.notes.v1.NotesService\\\"} > 0.15"),
        "{rules}"
    );
    assert!(values.contains("NOVA_ACCOUNTS_ENDPOINT") && dot.contains("\"notes\" -> \"accounts\""), "{values}\n{dot}");
    assert!(read("values/accounts.yaml").contains("callers:\n  - name: \"notes\"\n"), "{}", read("values/accounts.yaml"));

    repo.edit("specs/ownership.toml", "slo = { p95 = \"150ms\" }", "slo = { p95 = \"7ms\" }");
    repo.edit("specs/ownership.toml", "[notes]\n", "[notes]\nport = 50777\n");
    repo.edit("specs/ownership.toml", "calls = [\"accounts\"]\n", "");
    // With no caller left, accounts' service-only read would admit nobody: open it.
    repo.edit("specs/ownership.toml", "rpc.GetAccount = {", "rpc.GetAccount = { access = \"public\",");
    let check = nova_gen_cli(repo.root(), "check");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    for drifted in [
        "generated/ops/chart/rules/notes.rules.yml",
        "generated/ops/tests/notes.test.yml",
        "generated/ops/values/notes.yaml",
        // The callee's NetworkPolicy admits its callers: accounts' values change too.
        "generated/ops/values/accounts.yaml",
        "generated/ops/system.dot",
    ] {
        assert!(text(&check).contains(drifted), "check does not report {drifted}:\n{}", text(&check));
    }
    assert!(nova_gen_cli(repo.root(), "generate").status.success());
    let (rules, values, dot) = (read("chart/rules/notes.rules.yml"), read("values/notes.yaml"), read("system.dot"));
    assert!(rules.contains("> 0.007"), "{rules}");
    assert!(values.contains("grpc: 50777") && !values.contains("NOVA_ACCOUNTS_ENDPOINT"), "{values}");
    assert!(read("values/accounts.yaml").contains("callers: []\n"), "{}", read("values/accounts.yaml"));
    assert!(dot.contains(":50777") && !dot.contains("\"notes\" -> \"accounts\""), "{dot}");
    assert_eq!(nova_gen_cli(repo.root(), "check").status.code(), Some(0));
}

#[test]
fn ports_stay_put_when_a_service_is_added_before_the_others() {
    let repo = TempRepo::with_fixture("mini");
    let before = nova_gen_core::analyse(&repo.layout()).unwrap_or_else(|e| panic!("{e:?}"));
    let port = |analysis: &nova_gen_core::Analysis, name: &str| analysis.spec.service(name).unwrap().port;
    assert_eq!(port(&before, "accounts"), 50100, "declared");
    assert_eq!(i64::from(port(&before, "notes")), nova_gen_core::raw::derived_port("notes"), "derived from the name");
    repo.write(
        "specs/proto/nova/aaa/v1/aaa.proto",
        "syntax = \"proto3\";\npackage nova.aaa.v1;\nservice AaaService {\n  rpc Ping(PingRequest) returns (PingResponse);\n}\nmessage PingRequest {}\nmessage PingResponse {}\n",
    );
    repo.edit(
        "specs/ownership.toml",
        "[accounts]\n",
        "[aaa]\nrpc.Ping = { access = \"public\" }\n\n[aaa.tables.pings]\ncolumns.id = \"uuid pk\"\n\n[accounts]\n",
    );
    let after = nova_gen_core::analyse(&repo.layout()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(port(&after, "accounts"), port(&before, "accounts"));
    assert_eq!(port(&after, "notes"), port(&before, "notes"));
    assert_eq!(i64::from(port(&after, "aaa")), nova_gen_core::raw::derived_port("aaa"));
}

#[test]
fn check_refuses_a_client_dependency_the_spec_does_not_declare() {
    let repo = TempRepo::with_fixture("mini");
    repo.edit("specs/ownership.toml", "calls = [\"accounts\"]\n", "");
    repo.edit("specs/ownership.toml", "rpc.GetAccount = {", "rpc.GetAccount = { access = \"public\",");
    assert!(nova_gen_cli(repo.root(), "generate").status.success());
    for service in ["accounts", "notes"] {
        repo.migrate(service, "init", false).unwrap_or_else(|e| panic!("{e:?}"));
    }
    assert!(nova_gen_cli(repo.root(), "generate").status.success());
    repo.edit(
        "handwritten/notes/Cargo.toml",
        "[dependencies]\n",
        "[dependencies]\nnova-accounts-api = { path = \"../../generated/accounts-api\" }\n",
    );
    let check = nova_gen_cli(repo.root(), "check");
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let line = repo.read("handwritten/notes/Cargo.toml").lines().position(|l| l.starts_with("nova-accounts-api")).unwrap() + 1;
    let report = text(&check);
    assert!(report.contains(&format!("handwritten/notes/Cargo.toml:{line}:1: error[boundary::undeclared-call]")), "{report}");
    assert!(report.contains("add \"accounts\" to `calls` in [notes]"), "{report}");
}

#[test]
fn the_committed_picture_is_the_rendering_of_the_generated_dot() {
    let dot = workspace_root().join("generated/ops/system.dot");
    let output = run(Command::new("dot").arg("-Tsvg").arg(&dot), "dot (Debian graphviz)");
    assert!(output.status.success(), "{}", text(&output));
    let committed = workspace_root().join("docs/system.svg");
    let committed = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        committed == String::from_utf8_lossy(&output.stdout),
        "docs/system.svg is not the rendering of generated/ops/system.dot: run `dot -Tsvg generated/ops/system.dot -o docs/system.svg`"
    );
}
