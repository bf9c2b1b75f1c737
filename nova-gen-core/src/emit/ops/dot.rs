//! The system picture in Graphviz DOT: services, their databases, and the RPC dependencies
//! declared with `calls`, each edge labelled with the call policy the caller gets (deadlines,
//! cached RPCs). Rendered to SVG with `dot -Tsvg` (see README).

use std::fmt::Write as _;

use crate::ir::{Service, Spec};

pub fn system_dot(spec: &Spec) -> String {
    let mut dot = super::header("//");
    dot.push_str("digraph nova {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for service in &spec.services {
        let _ = writeln!(
            dot,
            "  \"{0}\" [shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9ff\", label=\"{0}\\n:{1}\\n{2}\"];",
            service.name,
            service.port,
            service.proto.full_name()
        );
        // A stateless service (no table) has no database to draw.
        if let Some(database) = &service.database {
            let _ = writeln!(
                dot,
                "  \"db:{0}\" [shape=cylinder, style=filled, fillcolor=\"#fff3cd\", label=\"{1}\\n{2} tables\"];",
                service.name,
                database,
                service.tables.iter().filter(|t| !t.is_plumbing()).count()
            );
            let _ = writeln!(dot, "  \"{0}\" -> \"db:{0}\" [style=dashed, arrowhead=none, label=\"owns\"];", service.name);
        }
    }
    for caller in &spec.services {
        for callee in spec.resolve(&caller.calls) {
            let allowed = caller.allow_cycle.contains(&callee.id);
            let _ = writeln!(
                dot,
                "  \"{}\" -> \"{}\" [label=\"{}\"{}];",
                caller.name,
                callee.name,
                edge_label(callee),
                if allowed { ", style=bold, color=\"#c0392b\"" } else { "" }
            );
        }
    }
    dot.push_str("}\n");
    dot
}

/// What a caller of `callee` gets: deadlines and which RPCs are cached for how long.
fn edge_label(callee: &Service) -> String {
    let mut deadlines: Vec<u128> = callee.rpcs.iter().map(|r| r.policy.deadline.as_millis()).collect();
    deadlines.sort_unstable();
    deadlines.dedup();
    let deadline = match (deadlines.first(), deadlines.last()) {
        (Some(a), Some(b)) if a == b => format!("deadline {a}ms"),
        (Some(a), Some(b)) => format!("deadline {a}-{b}ms"),
        _ => "no RPC".to_string(),
    };
    let cached: Vec<String> = callee
        .rpcs
        .iter()
        .filter_map(|r| {
            r.policy.cache.as_ref().map(|c| format!("{} {}s{}", r.name, c.ttl.as_secs(), if r.policy.fail_closed { " fail-closed" } else { "" }))
        })
        .collect();
    if cached.is_empty() { format!("{deadline}\\nno cache") } else { format!("{deadline}\\ncache: {}", cached.join("\\n")) }
}
