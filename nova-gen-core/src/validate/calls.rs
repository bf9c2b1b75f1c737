//! Rules about the dependencies between services, declared once as `calls = [...]`: every
//! callee is a service of the spec, and the call graph has no cycle except through edges the
//! spec marks with `allow_cycle`. Helm values, the system picture and the alerts read the list;
//! the boundary check holds the handwritten crates to it.

use std::collections::{BTreeMap, BTreeSet};

use super::Validator;
use crate::load::toml_read::closest;
use crate::source::Span;

pub(crate) fn check_calls(v: &mut Validator<'_>) {
    let services = v.loaded.ownership.services.clone();
    let names: Vec<&str> = services.iter().map(|s| s.name.value.as_str()).collect();
    // caller -> callee -> span of the callee in `calls`
    let mut edges: BTreeMap<String, BTreeMap<String, Span>> = BTreeMap::new();
    for service in &services {
        let caller = &service.name.value;
        let mut seen = BTreeSet::new();
        for callee in &service.calls {
            if callee.value == *caller {
                v.report(
                    "spec::self-call",
                    callee.span.clone(),
                    "the service itself",
                    format!("service `{caller}` lists itself in `calls`"),
                    "a service calls its own logic directly: remove it from `calls`",
                );
                continue;
            }
            if !names.contains(&callee.value.as_str()) {
                let help = match closest(&callee.value, &names) {
                    Some(best) => format!("did you mean `{best}`? Services: {}", names.join(", ")),
                    None => format!("name a service of this spec: {}", names.join(", ")),
                };
                v.report(
                    "spec::unknown-callee",
                    callee.span.clone(),
                    "no such service",
                    format!("`calls` of `{caller}` names unknown service `{}`", callee.value),
                    help,
                );
                continue;
            }
            if !seen.insert(callee.value.clone()) {
                v.report(
                    "spec::duplicate-callee",
                    callee.span.clone(),
                    "listed twice",
                    format!("`{}` appears twice in the `calls` of `{caller}`", callee.value),
                    "list each callee once",
                );
                continue;
            }
            edges.entry(caller.clone()).or_default().insert(callee.value.clone(), callee.span.clone());
        }
        for allowed in &service.allow_cycle {
            if !service.calls.iter().any(|c| c.value == allowed.value) {
                v.report(
                    "spec::bad-allow-cycle",
                    allowed.span.clone(),
                    "not a callee",
                    format!("`allow_cycle` of `{caller}` names `{}`, which is not in its `calls`", allowed.value),
                    "allow_cycle marks edges of `calls` that may close a cycle: add the service to `calls` or remove it here",
                );
            }
        }
    }
    // Cycles only count edges that are not allowed to close one.
    let allowed = |caller: &str, callee: &str| {
        services.iter().find(|s| s.name.value == caller).is_some_and(|s| s.allow_cycle.iter().any(|a| a.value == callee))
    };
    let strict: BTreeMap<&str, Vec<&str>> = edges
        .iter()
        .map(|(caller, callees)| (caller.as_str(), callees.keys().map(String::as_str).filter(|callee| !allowed(caller, callee)).collect()))
        .collect();
    for cycle in cycles(&strict) {
        let (Some(first), Some(second)) = (cycle.first(), cycle.get(1)) else { continue };
        let Some(span) = edges.get(*first).and_then(|c| c.get(*second)).cloned() else { continue };
        let path = cycle.iter().chain(cycle.first()).copied().collect::<Vec<_>>().join(" -> ");
        v.report(
            "spec::call-cycle",
            span,
            "closes a cycle",
            format!("services call each other in a cycle: {path}"),
            format!(
                "break the cycle (e.g. publish an event instead of calling back), or, if it is intended, add `allow_cycle = [\"{second}\"]` to [{first}]"
            ),
        );
    }
}

/// Each elementary cycle once, starting at its smallest service (deterministic order).
fn cycles<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    let mut found: BTreeSet<Vec<&str>> = BTreeSet::new();
    for &start in graph.keys() {
        let mut path = vec![start];
        walk(graph, start, &mut path, &mut found);
    }
    found.into_iter().collect()
}

fn walk<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>, start: &'a str, path: &mut Vec<&'a str>, found: &mut BTreeSet<Vec<&'a str>>) {
    let Some(&last) = path.last() else { return };
    for &next in graph.get(last).into_iter().flatten() {
        if next == start {
            found.insert(path.clone());
        } else if next > start && !path.contains(&next) {
            path.push(next);
            walk(graph, start, path, found);
            path.pop();
        }
    }
}
