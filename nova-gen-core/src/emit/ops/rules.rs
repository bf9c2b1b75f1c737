//! The Prometheus rules of one service: recording rules first (the queries alerts and the
//! canary analysis share), then alerts. Thresholds, `for:` durations and severities come from
//! the spec (the service's `slo`, overridden per RPC by the RPC line's own `slo`).

use std::time::Duration;

use askama::Template;

use super::expr::{self, BURN_WINDOWS, BY_METHOD, BY_SERVICE, record};
use super::yaml::{number, prom_duration, quote};
use crate::emit::EmitError;
use crate::ir::{Service, Slo};

/// The seed's cache objective: hit rate above 85 % for cached RPCs.
pub const CACHE_HIT_RATE_OBJECTIVE: f64 = 0.85;
/// Burn-rate factors and `for:` of the SRE workbook's recommended pairs.
pub const FAST_BURN: [(f64, &str, &str); 2] = [(14.4, "1h", "5m"), (6.0, "6h", "30m")];
pub const SLOW_BURN: [(f64, &str, &str); 2] = [(3.0, "1d", "2h"), (1.0, "3d", "6h")];
pub const FAST_BURN_FOR: Duration = Duration::from_secs(120);
pub const SLOW_BURN_FOR: Duration = Duration::from_secs(900);
pub const CACHE_FOR: Duration = Duration::from_secs(900);
pub const BREAKER_FOR: Duration = Duration::from_secs(60);
pub const RETRY_BUDGET_FOR: Duration = Duration::from_secs(300);
pub const ABSENT_FOR: Duration = Duration::from_secs(300);
/// A dead letter is a fact, not a trend: the alert fires after one minute and resolves once
/// no event was dead-lettered for `DEAD_LETTER_WINDOW`.
pub const DEAD_LETTER_FOR: Duration = Duration::from_secs(60);
pub const DEAD_LETTER_WINDOW: &str = "15m";
/// Outbox rows NATS has not acknowledged, above which (for `OUTBOX_FOR`) events are late.
pub const OUTBOX_BACKLOG_LIMIT: u64 = 1000;
pub const OUTBOX_FOR: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct RuleFile {
    pub service: String,
    pub recording: Vec<Recording>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone)]
pub struct Recording {
    pub record: String,
    pub expr: String,
}

/// What an alert watches, for the generated promtool tests.
#[derive(Debug, Clone)]
pub enum Condition {
    /// P95 of `method` (or every method not in `except`) above `threshold`.
    Latency {
        methods: Methods,
        threshold: Duration,
    },
    ErrorRate {
        methods: Methods,
        threshold: f64,
    },
    BurnFast {
        budget: f64,
    },
    BurnSlow {
        budget: f64,
    },
    CacheHitRate {
        methods: Vec<String>,
    },
    BreakerOpen,
    RetryBudget,
    Absent,
    DeadLettered,
    OutboxBacklog,
}

#[derive(Debug, Clone)]
pub enum Methods {
    One(String),
    AllBut(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub name: &'static str,
    pub expr: String,
    pub wait: Duration,
    /// Sorted by key.
    pub labels: Vec<(String, String)>,
    pub summary: String,
    pub condition: Condition,
}

impl Alert {
    pub fn wait_text(&self) -> String {
        prom_duration(self.wait)
    }
}

#[derive(Template)]
#[template(path = "ops/rules.yml", escape = "none")]
struct RulesView<'a> {
    header: String,
    job: String,
    recording: Vec<(String, String)>,
    alerts: Vec<AlertView<'a>>,
}

struct AlertView<'a> {
    name: &'a str,
    expr: String,
    wait: String,
    labels: Vec<(String, String)>,
    summary: String,
}

impl RuleFile {
    pub fn render(&self) -> Result<String, EmitError> {
        let view = RulesView {
            header: super::header("#"),
            job: expr::job_name(&self.service),
            recording: self.recording.iter().map(|r| (r.record.clone(), quote(&r.expr))).collect(),
            alerts: self
                .alerts
                .iter()
                .map(|a| AlertView {
                    name: a.name,
                    expr: quote(&a.expr),
                    wait: a.wait_text(),
                    labels: a.labels.iter().map(|(k, v)| (k.clone(), quote(v))).collect(),
                    summary: quote(&a.summary),
                })
                .collect(),
        };
        view.render().map_err(|e| EmitError::new(format!("rules template: {e}")))
    }
}

pub fn rule_file(service: &Service) -> RuleFile {
    let g = expr::grpc_service(service);
    let errors = expr::error_codes_regex();
    let handled = expr::SERVER_HANDLED;
    let mut recording = vec![
        Recording { record: record::METHOD_REQUESTS.into(), expr: format!("sum by ({BY_METHOD}) (rate({handled}{{grpc_service=\"{g}\"}}[5m]))") },
        Recording {
            record: record::METHOD_ERRORS.into(),
            expr: format!("sum by ({BY_METHOD}) (rate({handled}{{grpc_service=\"{g}\",grpc_code=~\"{errors}\"}}[5m]))"),
        },
        Recording {
            record: record::METHOD_ERROR_RATIO.into(),
            expr: format!("{}{{grpc_service=\"{g}\"}} / {}{{grpc_service=\"{g}\"}}", record::METHOD_ERRORS, record::METHOD_REQUESTS),
        },
        Recording {
            record: record::METHOD_P95.into(),
            expr: format!("histogram_quantile(0.95, sum by ({BY_METHOD}, le) (rate({}{{grpc_service=\"{g}\"}}[5m])))", expr::SERVER_SECONDS_BUCKET),
        },
        Recording {
            record: record::SERVICE_P95.into(),
            expr: format!("histogram_quantile(0.95, sum by ({BY_SERVICE}, le) (rate({}{{grpc_service=\"{g}\"}}[5m])))", expr::SERVER_SECONDS_BUCKET),
        },
    ];
    for window in BURN_WINDOWS {
        recording.push(Recording {
            record: record::service_error_ratio(window),
            expr: format!(
                "sum by ({BY_SERVICE}) (rate({handled}{{grpc_service=\"{g}\",grpc_code=~\"{errors}\"}}[{window}])) / sum by ({BY_SERVICE}) (rate({handled}{{grpc_service=\"{g}\"}}[{window}]))"
            ),
        });
    }
    let cached: Vec<String> = service.rpcs.iter().filter(|r| r.policy.cache.is_some()).map(|r| r.name.clone()).collect();
    if !cached.is_empty() {
        let c = expr::CLIENT_CACHE_REQUESTS;
        recording.push(Recording {
            record: record::METHOD_CACHE_HIT_RATIO.into(),
            expr: format!(
                "sum by (grpc_service, grpc_method) (rate({c}{{grpc_service=\"{g}\",result=\"hit\"}}[5m])) / sum by (grpc_service, grpc_method) (rate({c}{{grpc_service=\"{g}\"}}[5m]))"
            ),
        });
    }
    RuleFile { service: service.name.clone(), recording, alerts: alerts(service, &cached) }
}

fn labels(service: &Service, severity: &str, more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = vec![("service".into(), service.name.clone()), ("severity".into(), severity.into())];
    labels.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    labels.sort();
    labels
}

fn alerts(service: &Service, cached: &[String]) -> Vec<Alert> {
    let mut alerts = slo_alerts(service);
    alerts.extend(budget_alerts(service));
    alerts.extend(caller_alerts(service, cached));
    alerts.extend(event_alerts(service));
    alerts.push(absent_alert(service));
    alerts
}

/// The events pipeline: a consumer that gave up on an event (it waits in the dead-letter
/// stream for `nova-gen events replay`), and a publisher whose outbox NATS is not draining.
fn event_alerts(service: &Service) -> Vec<Alert> {
    let name = &service.name;
    let mut alerts = Vec::new();
    if !service.events.consumes.is_empty() {
        alerts.push(Alert {
            name: "EventsDeadLettered",
            expr: format!("sum by (subject) (increase({}{{service=\"{name}\"}}[{DEAD_LETTER_WINDOW}])) > 0", expr::EVENTS_DEAD_LETTERED),
            wait: DEAD_LETTER_FOR,
            labels: labels(service, "ticket", &[]),
            summary: format!("{name} gave up on an event and parked it in NOVA_DEAD_LETTERS: fix the cause, then `nova-gen events replay {name}`"),
            condition: Condition::DeadLettered,
        });
    }
    if !service.events.publishes.is_empty() {
        alerts.push(Alert {
            name: "EventsOutboxBacklog",
            expr: format!("max({}{{service=\"{name}\"}}) > {OUTBOX_BACKLOG_LIMIT}", expr::EVENTS_OUTBOX_BACKLOG),
            wait: OUTBOX_FOR,
            labels: labels(service, "ticket", &[]),
            summary: format!("more than {OUTBOX_BACKLOG_LIMIT} events of {name} wait in its outbox: NATS is not acknowledging them"),
            condition: Condition::OutboxBacklog,
        });
    }
    alerts
}

/// One latency and one error-rate alert for the RPCs held to the service's SLO, then one each
/// for every RPC with its own.
fn slo_alerts(service: &Service) -> Vec<Alert> {
    let g = expr::grpc_service(service);
    let name = &service.name;
    let mut alerts = Vec::new();
    let own: Vec<String> = service.rpcs.iter().filter(|r| r.own_slo).map(|r| r.name.clone()).collect();
    let mut groups: Vec<(Methods, &Slo)> = vec![(Methods::AllBut(own.clone()), &service.slo)];
    groups.extend(service.rpcs.iter().filter(|r| r.own_slo).map(|r| (Methods::One(r.name.clone()), &r.slo)));
    for (methods, slo) in groups {
        let selector = match &methods {
            Methods::One(m) => format!("grpc_service=\"{g}\",grpc_method=\"{m}\""),
            Methods::AllBut(except) if except.is_empty() => format!("grpc_service=\"{g}\""),
            Methods::AllBut(except) => format!("grpc_service=\"{g}\",grpc_method!~\"{}\"", except.join("|")),
        };
        let which = match &methods {
            Methods::One(m) => format!("{name} {m}"),
            Methods::AllBut(_) => name.clone(),
        };
        let threshold = slo.p95_latency;
        alerts.push(Alert {
            name: "GRPCLatencyHigh",
            expr: format!("{}{{{selector}}} > {}", record::METHOD_P95, number(threshold.as_secs_f64())),
            wait: slo.alert_for,
            labels: labels(service, &slo.severity, &[("slo", "latency")]),
            summary: format!("{which}: P95 latency above the {}ms SLO", threshold.as_millis()),
            condition: Condition::Latency { methods: methods.clone(), threshold },
        });
        let ratio = slo.error_rate_percent / 100.0;
        alerts.push(Alert {
            name: "GRPCErrorRateHigh",
            expr: format!("{}{{{selector}}} > {}", record::METHOD_ERROR_RATIO, number(ratio)),
            wait: slo.alert_for,
            // `rollout = abort`: a rollout (and whoever reads the alert) may act on it.
            labels: labels(service, &slo.severity, &[("slo", "error_rate"), ("rollout", "abort")]),
            summary: format!("{which}: error rate above the {}% objective", number(slo.error_rate_percent)),
            condition: Condition::ErrorRate { methods, threshold: ratio },
        });
    }
    alerts
}

/// The multi-window burn-rate alerts of the service's error budget: a fast burn pages, a slow
/// one opens a ticket.
fn budget_alerts(service: &Service) -> Vec<Alert> {
    let g = expr::grpc_service(service);
    let name = &service.name;
    let mut alerts = Vec::new();
    let budget = service.slo.error_rate_percent / 100.0;
    let burn = |pairs: &[(f64, &str, &str)]| {
        pairs
            .iter()
            .map(|(factor, long, short)| {
                let limit = number(factor * budget);
                format!(
                    "({} > {limit} and {} > {limit})",
                    format_args!("{}{{grpc_service=\"{g}\"}}", record::service_error_ratio(long)),
                    format_args!("{}{{grpc_service=\"{g}\"}}", record::service_error_ratio(short))
                )
            })
            .collect::<Vec<_>>()
            .join(" or ")
    };
    alerts.push(Alert {
        name: "GRPCErrorBudgetBurnFast",
        expr: burn(&FAST_BURN),
        wait: FAST_BURN_FOR,
        labels: labels(service, "page", &[("slo", "error_budget")]),
        summary: format!("{name} is burning its {}% error budget fast (14.4x over 1h, or 6x over 6h)", number(service.slo.error_rate_percent)),
        condition: Condition::BurnFast { budget },
    });
    alerts.push(Alert {
        name: "GRPCErrorBudgetBurnSlow",
        expr: burn(&SLOW_BURN),
        wait: SLOW_BURN_FOR,
        labels: labels(service, "ticket", &[("slo", "error_budget")]),
        summary: format!("{name} is burning its {}% error budget (3x over 1d, or 1x over 3d)", number(service.slo.error_rate_percent)),
        condition: Condition::BurnSlow { budget },
    });
    alerts
}

/// What the service's callers see: a low cache hit rate (when some RPC is cached), an open
/// breaker, a drained retry budget.
fn caller_alerts(service: &Service, cached: &[String]) -> Vec<Alert> {
    let g = expr::grpc_service(service);
    let name = &service.name;
    let mut alerts = Vec::new();
    if !cached.is_empty() {
        alerts.push(Alert {
            name: "GRPCCacheHitRateLow",
            expr: format!(
                "{}{{grpc_service=\"{g}\",grpc_method=~\"{}\"}} < {}",
                record::METHOD_CACHE_HIT_RATIO,
                cached.join("|"),
                number(CACHE_HIT_RATE_OBJECTIVE)
            ),
            wait: CACHE_FOR,
            labels: labels(service, "ticket", &[("slo", "cache_hit_rate")]),
            summary: format!("callers of {name} hit their cache less than {}% of the time", number(CACHE_HIT_RATE_OBJECTIVE * 100.0)),
            condition: Condition::CacheHitRate { methods: cached.to_vec() },
        });
    }
    alerts.push(Alert {
        name: "GRPCCircuitBreakerOpen",
        expr: format!("max by (target) ({}{{target=\"{name}\"}}) == {}", expr::CLIENT_BREAKER_STATE, expr::BREAKER_OPEN),
        wait: BREAKER_FOR,
        labels: labels(service, "ticket", &[]),
        summary: format!("a caller's circuit breaker towards {name} is open: calls fail fast"),
        condition: Condition::BreakerOpen,
    });
    alerts.push(Alert {
        name: "GRPCRetryBudgetExhausted",
        expr: format!("sum by (target) (rate({}{{target=\"{name}\"}}[5m])) > 0", expr::CLIENT_RETRIES_THROTTLED),
        wait: RETRY_BUDGET_FOR,
        labels: labels(service, "ticket", &[]),
        summary: format!("callers of {name} have exhausted their retry budget: retries are being dropped"),
        condition: Condition::RetryBudget,
    });
    alerts
}

/// Prometheus no longer scrapes the service.
fn absent_alert(service: &Service) -> Alert {
    let name = &service.name;
    let job = expr::job_name(name);
    Alert {
        name: "GRPCServiceAbsent",
        expr: format!("up{{job=\"{job}\"}} == 0 or absent(up{{job=\"{job}\"}})"),
        wait: ABSENT_FOR,
        labels: labels(service, "page", &[]),
        summary: format!("{name} is absent from Prometheus' scrapes"),
        condition: Condition::Absent,
    }
}
