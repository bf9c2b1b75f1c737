//! `promtool test rules` unit tests for every alert of a service, with synthetic series. Each
//! alert gets a scenario where its condition holds (pending before its `for:`, firing after,
//! resolved once the condition stops) and one just on the safe side of its threshold (silent).

use askama::Template;
use nova_constants::metrics::LATENCY_BUCKETS;

use super::expr::{self, BREAKER_OPEN};
use super::rules::{Alert, Condition, Methods, RuleFile};
use super::yaml::{number, quote};
use crate::emit::EmitError;
use crate::ir::Service;

/// Calls per minute in the synthetic series: large enough that 0.9 x a 0.1 % objective is a
/// whole number of errors.
const CALLS_PER_MINUTE: u64 = 100_000;
/// Observations per minute in the latency histograms.
const OBSERVATIONS: u64 = 1000;

#[derive(Template)]
#[template(path = "ops/rules_test.yml", escape = "none")]
struct TestFileView {
    header: String,
    service: String,
    tests: Vec<TestCase>,
}

struct TestCase {
    name: String,
    series: Vec<(String, String)>,
    checks: Vec<Check>,
    /// `promql_expr_test`s: (eval time, quoted expression, expected value of its one `{}` sample).
    exprs: Vec<(String, String, u8)>,
}

struct Check {
    eval_time: String,
    alert: String,
    /// `None`: the alert must not fire; else the labels of the one alert that fires.
    firing: Option<Vec<(String, String)>>,
    summary: String,
}

pub fn test_file(service: &Service, rules: &RuleFile) -> Result<String, EmitError> {
    let mut tests = Vec::new();
    for alert in &rules.alerts {
        tests.extend(cases(service, alert)?);
    }
    tests.extend(analysis_case(service)?);
    let view = TestFileView { header: super::header("#"), service: service.name.clone(), tests };
    view.render().map_err(|e| EmitError::new(format!("promtool test template: {e}")))
}

fn series_text(name: &str, labels: &[(&str, &str)]) -> String {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

/// A counter rising by `first` per minute for `minutes`, then by `then` per minute for `after`.
fn two_phases(first: u64, minutes: u64, then: u64, after: u64) -> String {
    let top = first * minutes;
    format!("0+{first}x{minutes} {}+{then}x{after}", top + then)
}

fn minutes(d: std::time::Duration) -> u64 {
    d.as_secs().div_ceil(60)
}

/// The alert's labels plus those its expression keeps.
fn firing(alert: &Alert, kept: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels = alert.labels.clone();
    labels.extend(kept.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    labels.sort();
    labels.into_iter().map(|(k, v)| (k, quote(&v))).collect()
}

fn check(alert: &Alert, at: u64, labels: Option<Vec<(String, String)>>) -> Check {
    Check { eval_time: format!("{at}m"), alert: alert.name.to_string(), firing: labels, summary: quote(&alert.summary) }
}

fn method_of(service: &Service, methods: &Methods) -> Option<String> {
    match methods {
        Methods::One(m) => Some(m.clone()),
        Methods::AllBut(except) => service.rpcs.iter().map(|r| r.name.clone()).find(|m| !except.contains(m)),
    }
}

/// What every test case of one alert shares.
struct Scene<'a> {
    service: &'a Service,
    alert: &'a Alert,
    /// The service's `grpc_service` label.
    g: String,
    /// How long the condition must hold before the alert fires, in whole minutes.
    wait: u64,
}

impl Scene<'_> {
    /// A case's name: the alert and the service, then `what`.
    fn name(&self, what: &str) -> String {
        quote(&format!("{} {}: {what}", self.alert.name, self.service.name))
    }
}

/// Test cases for one alert: one per condition kind, each showing that the alert fires (and
/// resolves) when it should and stays silent just short of it.
fn cases(service: &Service, alert: &Alert) -> Result<Vec<TestCase>, EmitError> {
    let scene = Scene { service, alert, g: expr::grpc_service(service), wait: minutes(alert.wait) };
    Ok(match &alert.condition {
        Condition::Latency { methods, threshold } => latency_cases(&scene, methods, threshold)?,
        Condition::ErrorRate { methods, threshold } => error_rate_cases(&scene, methods, threshold),
        Condition::BurnFast { budget } | Condition::BurnSlow { budget } => burn_cases(&scene, budget),
        Condition::CacheHitRate { methods } => cache_cases(&scene, methods),
        Condition::BreakerOpen => breaker_cases(&scene),
        Condition::RetryBudget => retry_budget_cases(&scene),
        Condition::Absent => absent_cases(&scene),
        Condition::DeadLettered => dead_letter_cases(&scene),
        Condition::OutboxBacklog => outbox_cases(&scene),
    })
}

/// P95 latency: a histogram just above the threshold fires and resolves, one just below stays silent.
fn latency_cases(scene: &Scene<'_>, methods: &Methods, threshold: &std::time::Duration) -> Result<Vec<TestCase>, EmitError> {
    let (service, alert, g, wait) = (scene.service, scene.alert, &scene.g, scene.wait);
    let name = |what: &str| scene.name(what);
    let Some(m) = method_of(service, methods) else { return Ok(Vec::new()) };
    let limit = threshold.as_secs_f64();
    let above =
        placement(|p| p > limit * (1.0 + 1e-9), true).ok_or_else(|| EmitError::new(format!("no histogram placement puts P95 above {limit}s")))?;
    let below =
        placement(|p| p < limit * (1.0 - 1e-9), false).ok_or_else(|| EmitError::new(format!("no histogram placement puts P95 below {limit}s")))?;
    let fast = bucket_counts(0, 0);
    let phase = wait + 15;
    let histogram = |during: &[u64]| -> Vec<(String, String)> {
        let mut cumulative = (0u64, 0u64);
        (0..=LATENCY_BUCKETS.len())
            .map(|i| {
                cumulative.0 += during[i];
                cumulative.1 += fast[i];
                let le = LATENCY_BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), f64::to_string);
                let labels = [("grpc_type", "unary"), ("grpc_service", g.as_str()), ("grpc_method", m.as_str()), ("le", le.as_str())];
                (quote(&series_text(expr::SERVER_SECONDS_BUCKET, &labels)), quote(&two_phases(cumulative.0, phase, cumulative.1, 20)))
            })
            .collect()
    };
    let kept = [("grpc_service", g.as_str()), ("grpc_method", m.as_str())];
    Ok(vec![
        TestCase {
            name: name(&format!("{m} P95 just above {}s fires after {wait}m, resolves when it drops", number(limit))),
            series: histogram(&above),
            checks: vec![check(alert, wait, None), check(alert, wait + 5, Some(firing(alert, &kept))), check(alert, phase + 10, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name(&format!("{m} P95 just below {}s stays silent", number(limit))),
            series: histogram(&below),
            checks: vec![check(alert, wait + 5, None)],
            exprs: Vec::new(),
        },
    ])
}

/// Error rate: 1.5x the objective fires and resolves, 0.9x stays silent.
fn error_rate_cases(scene: &Scene<'_>, methods: &Methods, threshold: &f64) -> Vec<TestCase> {
    let (service, alert, g, wait) = (scene.service, scene.alert, &scene.g, scene.wait);
    let name = |what: &str| scene.name(what);
    let Some(m) = method_of(service, methods) else { return Vec::new() };
    let above = (threshold * CALLS_PER_MINUTE as f64 * 1.5).ceil() as u64;
    let below = (threshold * CALLS_PER_MINUTE as f64 * 0.9).floor() as u64;
    let phase = wait + 15;
    let kept = [("grpc_service", g.as_str()), ("grpc_method", m.as_str())];
    let calls = |errors: u64| handled(g, &m, errors, phase, 0, 20);
    vec![
        TestCase {
            name: name(&format!("{m} {above} errors in {CALLS_PER_MINUTE} calls fires after {wait}m, resolves without errors")),
            series: calls(above),
            checks: vec![check(alert, wait, None), check(alert, wait + 5, Some(firing(alert, &kept))), check(alert, phase + 10, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name(&format!("{m} {below} errors in {CALLS_PER_MINUTE} calls stays silent")),
            series: calls(below),
            checks: vec![check(alert, wait + 5, None)],
            exprs: Vec::new(),
        },
    ]
}

/// Error-budget burn (fast or slow, after `alert`): over the pair's factor fires, just under its lowest factor stays silent.
fn burn_cases(scene: &Scene<'_>, budget: &f64) -> Vec<TestCase> {
    let (service, alert, g, wait) = (scene.service, scene.alert, &scene.g, scene.wait);
    let name = |what: &str| scene.name(what);
    let Some(m) = service.rpcs.first().map(|r| r.name.clone()) else { return Vec::new() };
    let fast = matches!(alert.condition, Condition::BurnFast { .. });
    // Fast: 18x the budget (over 14.4x) for 30m; slow: 4x (over 3x) for 3h. Just below:
    // 0.98 x the lowest factor of the pair.
    let (factor, below_factor, phase, resolved_after, fire_at) = if fast { (18.0, 0.98 * 6.0, 30, 35, 15) } else { (4.0, 0.98, 180, 300, 60) };
    let errors = |f: f64| ((budget * f * CALLS_PER_MINUTE as f64).ceil() as u64).min(CALLS_PER_MINUTE);
    let kept = [("grpc_service", g.as_str())];
    vec![
        TestCase {
            name: name(&format!("{}x the error budget fires after {wait}m, resolves without errors", number(factor))),
            series: handled(g, &m, errors(factor), phase, 0, resolved_after + 10),
            checks: vec![check(alert, wait, None), check(alert, fire_at, Some(firing(alert, &kept))), check(alert, phase + resolved_after, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name(&format!("{}x the error budget stays silent", number(below_factor))),
            series: handled(g, &m, (budget * below_factor * CALLS_PER_MINUTE as f64).floor() as u64, phase + resolved_after, 0, 0),
            checks: vec![check(alert, phase + resolved_after - 10, None)],
            exprs: Vec::new(),
        },
    ]
}

/// Cache hit rate: 50% fires and resolves at 100%, 86% stays silent.
fn cache_cases(scene: &Scene<'_>, methods: &[String]) -> Vec<TestCase> {
    let (alert, g, wait) = (scene.alert, &scene.g, scene.wait);
    let name = |what: &str| scene.name(what);
    let Some(m) = methods.first() else { return Vec::new() };
    let phase = wait + 15;
    let cache = |hits: u64| {
        let hit = [("grpc_service", g.as_str()), ("grpc_method", m.as_str()), ("level", "l1"), ("result", "hit")];
        let miss = [("grpc_service", g.as_str()), ("grpc_method", m.as_str()), ("level", "none"), ("result", "miss")];
        vec![
            (quote(&series_text(expr::CLIENT_CACHE_REQUESTS, &hit)), quote(&two_phases(hits, phase, 100, 20))),
            (quote(&series_text(expr::CLIENT_CACHE_REQUESTS, &miss)), quote(&two_phases(100 - hits, phase, 0, 20))),
        ]
    };
    let kept = [("grpc_service", g.as_str()), ("grpc_method", m.as_str())];
    vec![
        TestCase {
            name: name(&format!("{m} 50% hits fires after {wait}m, resolves at 100%")),
            series: cache(50),
            checks: vec![check(alert, wait, None), check(alert, wait + 5, Some(firing(alert, &kept))), check(alert, phase + 10, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name(&format!("{m} 86% hits stays silent")),
            series: cache(86),
            checks: vec![check(alert, wait + 5, None)],
            exprs: Vec::new(),
        },
    ]
}

/// An open breaker fires, a half-open one stays silent.
fn breaker_cases(scene: &Scene<'_>) -> Vec<TestCase> {
    let (service, alert, wait) = (scene.service, scene.alert, scene.wait);
    let name = |what: &str| scene.name(what);
    let state = quote(&series_text(expr::CLIENT_BREAKER_STATE, &[("target", service.name.as_str())]));
    let kept = [("target", service.name.as_str())];
    let open = BREAKER_OPEN;
    vec![
        TestCase {
            name: name("an open breaker fires, a closed one resolves"),
            series: vec![(state.clone(), quote(&format!("0x4 {open}x{} 0x30", wait + 20)))],
            checks: vec![check(alert, 5 + wait - 1, None), check(alert, 5 + wait + 5, Some(firing(alert, &kept))), check(alert, wait + 30, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("a half-open breaker stays silent"),
            series: vec![(state, quote(&format!("2x{}", wait + 20)))],
            checks: vec![check(alert, wait + 10, None)],
            exprs: Vec::new(),
        },
    ]
}

/// Dropped retries fire, none stays silent.
fn retry_budget_cases(scene: &Scene<'_>) -> Vec<TestCase> {
    let (service, alert, wait) = (scene.service, scene.alert, scene.wait);
    let name = |what: &str| scene.name(what);
    let throttled = quote(&series_text(expr::CLIENT_RETRIES_THROTTLED, &[("target", service.name.as_str())]));
    let kept = [("target", service.name.as_str())];
    let rising = wait + 20;
    vec![
        TestCase {
            name: name("dropped retries fire, and resolve when retries flow again"),
            series: vec![(throttled.clone(), quote(&format!("0x4 1+1x{rising} {}+0x30", rising + 1)))],
            checks: vec![
                check(alert, 5 + wait - 1, None),
                check(alert, 5 + wait + 5, Some(firing(alert, &kept))),
                check(alert, 5 + rising + 10, None),
            ],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("no dropped retry stays silent"),
            series: vec![(throttled, quote(&format!("0x{}", wait + 20)))],
            checks: vec![check(alert, wait + 10, None)],
            exprs: Vec::new(),
        },
    ]
}

/// One dead-lettered event fires, and resolves once the window holds none; none stays silent.
fn dead_letter_cases(scene: &Scene<'_>) -> Vec<TestCase> {
    let (service, alert, wait) = (scene.service, scene.alert, scene.wait);
    let name = |what: &str| scene.name(what);
    let subject = "nova.auth.users.deleted";
    let parked = quote(&series_text(expr::EVENTS_DEAD_LETTERED, &[("service", service.name.as_str()), ("subject", subject)]));
    let kept = [("subject", subject)];
    vec![
        TestCase {
            name: name("one dead letter fires, and resolves once the window holds none"),
            series: vec![(parked.clone(), quote("0x4 1x60"))],
            checks: vec![check(alert, 4, None), check(alert, 5 + wait + 1, Some(firing(alert, &kept))), check(alert, 5 + 15 + wait + 5, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("no dead letter stays silent"),
            series: vec![(parked, quote(&format!("0x{}", wait + 30)))],
            checks: vec![check(alert, wait + 20, None)],
            exprs: Vec::new(),
        },
    ]
}

/// A backlog above the limit for the whole wait fires and resolves when drained; one at the
/// limit stays silent.
fn outbox_cases(scene: &Scene<'_>) -> Vec<TestCase> {
    let (service, alert, wait) = (scene.service, scene.alert, scene.wait);
    let name = |what: &str| scene.name(what);
    let backlog = quote(&series_text(expr::EVENTS_OUTBOX_BACKLOG, &[("service", service.name.as_str())]));
    let kept: [(&str, &str); 0] = [];
    let over = crate::emit::ops::rules::OUTBOX_BACKLOG_LIMIT + 1;
    let at = crate::emit::ops::rules::OUTBOX_BACKLOG_LIMIT;
    vec![
        TestCase {
            name: name("a backlog over the limit fires, and resolves when drained"),
            series: vec![(backlog.clone(), quote(&format!("0x4 {over}x{} 0x30", wait + 20)))],
            checks: vec![check(alert, 5 + wait - 1, None), check(alert, 5 + wait + 5, Some(firing(alert, &kept))), check(alert, wait + 40, None)],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("a backlog at the limit stays silent"),
            series: vec![(backlog, quote(&format!("{at}x{}", wait + 20)))],
            checks: vec![check(alert, wait + 10, None)],
            exprs: Vec::new(),
        },
    ]
}

/// A failing scrape and a missing target fire, an answering target stays silent.
fn absent_cases(scene: &Scene<'_>) -> Vec<TestCase> {
    let (service, alert, wait) = (scene.service, scene.alert, scene.wait);
    let name = |what: &str| scene.name(what);
    let job = expr::job_name(&service.name);
    let up = quote(&series_text("up", &[("job", job.as_str()), ("instance", "10.0.0.1:51051")]));
    let other = quote(&series_text("up", &[("job", "some-other-job"), ("instance", "10.0.0.2:51051")]));
    let down = wait + 10;
    vec![
        TestCase {
            name: name("a failing scrape fires, and resolves when the target is back"),
            series: vec![(up.clone(), quote(&format!("1x10 0x{down} 1x30")))],
            checks: vec![
                check(alert, 11 + wait - 1, None),
                check(alert, 11 + wait + 2, Some(firing(alert, &[("job", job.as_str()), ("instance", "10.0.0.1:51051")]))),
                check(alert, 11 + down + 5, None),
            ],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("a target missing from the scrapes fires"),
            series: vec![(other, quote(&format!("1x{}", wait + 10)))],
            checks: vec![check(alert, wait + 5, Some(firing(alert, &[("job", job.as_str())])))],
            exprs: Vec::new(),
        },
        TestCase {
            name: name("a target that answers stays silent"),
            series: vec![(up, quote(&format!("1x{}", wait + 20)))],
            checks: vec![check(alert, wait + 10, None)],
            exprs: Vec::new(),
        },
    ]
}

/// `grpc_server_handled_total` of one method: `errors` Internal and the rest OK per minute for
/// `minutes`, then `then_errors` for `after` minutes.
fn handled(g: &str, m: &str, errors: u64, minutes: u64, then_errors: u64, after: u64) -> Vec<(String, String)> {
    ["OK", "Internal"]
        .iter()
        .map(|code| {
            let labels = [("grpc_type", "unary"), ("grpc_service", g), ("grpc_method", m), ("grpc_code", code)];
            let (first, then) = if *code == "OK" { (CALLS_PER_MINUTE - errors, CALLS_PER_MINUTE - then_errors) } else { (errors, then_errors) };
            (quote(&series_text(expr::SERVER_HANDLED, &labels)), quote(&two_phases(first, minutes, then, after)))
        })
        .collect()
}

/// Per-bucket (not cumulative) counts: `low` observations in bucket `k - 1`, the rest in `k`.
fn bucket_counts(k: usize, low: u64) -> Vec<u64> {
    let mut counts = vec![0; LATENCY_BUCKETS.len() + 1];
    if let Some(slot) = counts.get_mut(k) {
        *slot = OBSERVATIONS - low;
    }
    if k > 0
        && let Some(slot) = counts.get_mut(k - 1)
    {
        *slot += low;
    }
    counts
}

/// Of all placements of observations over two adjacent finite buckets, the one whose P95 (as
/// Prometheus' `histogram_quantile` computes it) is closest to the threshold on the wanted
/// side: `above` picks the smallest P95 that `accept`s, else the largest.
fn placement(accept: impl Fn(f64) -> bool, above: bool) -> Option<Vec<u64>> {
    let mut best: Option<(f64, Vec<u64>)> = None;
    for k in 0..LATENCY_BUCKETS.len() {
        for low in 0..OBSERVATIONS {
            let counts = bucket_counts(k, if k == 0 { 0 } else { low });
            let p95 = quantile(0.95, &counts);
            if !accept(p95) {
                continue;
            }
            let better = best.as_ref().is_none_or(|(b, _)| if above { p95 < *b } else { p95 > *b });
            if better {
                best = Some((p95, counts));
            }
        }
    }
    best.map(|(_, counts)| counts)
}

/// Prometheus' `histogram_quantile` on per-bucket counts (the last one `+Inf`).
fn quantile(q: f64, counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let rank = q * total as f64;
    let mut cumulative = 0u64;
    for (i, count) in counts.iter().enumerate() {
        let previous = cumulative;
        cumulative += count;
        if cumulative as f64 >= rank {
            let Some(upper) = LATENCY_BUCKETS.get(i) else { return LATENCY_BUCKETS.last().copied().unwrap_or(0.0) };
            let lower = if i == 0 { 0.0 } else { LATENCY_BUCKETS.get(i - 1).copied().unwrap_or(0.0) };
            return lower + (upper - lower) * (rank - previous as f64) / (cumulative - previous) as f64;
        }
    }
    f64::NAN
}

/// The canary analysis' queries (the same strings the values give the AnalysisTemplate), on a
/// canary whose errors and latency breach the SLO beside a healthy stable version: each query
/// judges only its own version's pods, and a version without series reads as 0 (passes).
fn analysis_case(service: &Service) -> Result<Vec<TestCase>, EmitError> {
    let Some(m) = service.rpcs.first().map(|r| r.name.clone()) else { return Ok(Vec::new()) };
    let g = expr::grpc_service(service);
    let ratio = service.slo.error_rate_percent / 100.0;
    let limit = service.slo.p95_latency.as_secs_f64();
    let slow =
        placement(|p| p > limit * (1.0 + 1e-9), true).ok_or_else(|| EmitError::new(format!("no histogram placement puts P95 above {limit}s")))?;
    let fast = bucket_counts(0, 0);
    let mut series = Vec::new();
    for (hash, errors, buckets) in [("canary", (ratio * CALLS_PER_MINUTE as f64 * 2.0).ceil() as u64, &slow), ("stable", 0, &fast)] {
        for code in ["OK", "Internal"] {
            let labels = [
                ("grpc_type", "unary"),
                ("grpc_service", g.as_str()),
                ("grpc_method", m.as_str()),
                ("grpc_code", code),
                ("rollouts_pod_template_hash", hash),
            ];
            let count = if code == "OK" { CALLS_PER_MINUTE - errors } else { errors };
            series.push((quote(&series_text(expr::SERVER_HANDLED, &labels)), quote(&format!("0+{count}x30"))));
        }
        let mut cumulative = 0u64;
        for (i, count) in buckets.iter().enumerate() {
            cumulative += count;
            let le = LATENCY_BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), f64::to_string);
            let labels = [
                ("grpc_type", "unary"),
                ("grpc_service", g.as_str()),
                ("grpc_method", m.as_str()),
                ("le", le.as_str()),
                ("rollouts_pod_template_hash", hash),
            ];
            series.push((quote(&series_text(expr::SERVER_SECONDS_BUCKET, &labels)), quote(&format!("0+{cumulative}x30"))));
        }
    }
    let judged = |query: String, limit: f64| quote(&format!("({query}) > bool {}", number(limit)));
    let mut exprs = Vec::new();
    for (hash, breached) in [("canary", 1), ("stable", 0), ("no-such-version", 0)] {
        exprs.push(("10m".to_string(), judged(expr::analysis_error_ratio_query(service, hash), ratio), breached));
        exprs.push(("10m".to_string(), judged(expr::analysis_p95_query(service, hash), limit), breached));
    }
    Ok(vec![TestCase {
        name: quote(&format!("canary analysis {}: a canary over the SLO fails, the stable version and a version without traffic pass", service.name)),
        series,
        checks: Vec::new(),
        exprs,
    }])
}
