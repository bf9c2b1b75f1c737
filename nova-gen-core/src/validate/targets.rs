//! Rules about target-service settings: circuit breaker and retry budget bounds.

use super::Validator;
use crate::raw::{RawService, RawTargetPolicy};
use crate::source::Located;

pub(crate) fn check_targets(v: &mut Validator<'_>) {
    let defaults = v.loaded.ownership.defaults.target.clone();
    check_target(v, &defaults);
    let services: Vec<RawService> = v.loaded.ownership.services.clone();
    for service in &services {
        check_target(v, &service.target);
    }
}

fn check_target(v: &mut Validator<'_>, target: &RawTargetPolicy) {
    if let Some(breaker) = &target.breaker {
        let b = &breaker.value;
        in_range(v, &b.window, 1, 10_000, "window", "the number of recent calls the breaker judges by");
        in_range(v, &b.min_calls, 1, 10_000, "min_calls", "how many calls the window needs before the breaker may open");
        in_range(v, &b.half_open_calls, 1, 100, "half_open_calls", "how many probes a half-open breaker admits");
        if let (Some(window), Some(min_calls)) = (&b.window, &b.min_calls)
            && min_calls.value > window.value
        {
            v.report(
                "spec::bad-value",
                min_calls.span.clone(),
                "larger than the window",
                format!("`min_calls` ({}) exceeds `window` ({}), so the breaker could never open", min_calls.value, window.value),
                "make min_calls at most window",
            );
        }
        for duration in [&b.slow_call, &b.open_for].into_iter().flatten() {
            if duration.value.is_zero() {
                v.report("spec::bad-value", duration.span.clone(), "zero", "breaker durations must be longer than zero", "use e.g. \"1s\"");
            }
        }
    }
    if let Some(budget) = &target.retry_budget {
        in_range(v, &budget.value.max_tokens, 1, 1000, "max_tokens", "the size of the retry token bucket (gRFC A6 allows up to 1000)");
        if let Some(ratio) = &budget.value.token_ratio
            && !(ratio.value > 0.0 && ratio.value <= 1.0)
        {
            v.report(
                "spec::bad-value",
                ratio.span.clone(),
                "out of range",
                format!("`token_ratio` is {}, but must be above 0 and at most 1", ratio.value),
                "each success earns back this fraction of a token; gRFC A6 suggests 0.1",
            );
        }
    }
}

fn in_range(v: &mut Validator<'_>, value: &Option<Located<i64>>, min: i64, max: i64, key: &str, meaning: &str) {
    if let Some(n) = value
        && !(min..=max).contains(&n.value)
    {
        v.report(
            "spec::bad-value",
            n.span.clone(),
            "out of range",
            format!("`{key}` is {}, but must be between {min} and {max}", n.value),
            format!("`{key}` is {meaning}"),
        );
    }
}
