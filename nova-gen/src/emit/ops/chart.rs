//! The Helm chart: one chart for every service, kept as a template directory (templates/helm/)
//! and copied verbatim into generated/ops/chart, beside which the rules are placed so that the
//! PrometheusRule template can carry them (`.Files.Get "rules/<svc>.rules.yml"`).

use crate::fileset::FileSet;
use crate::layout::out::OPS;

/// (path inside the chart, contents)
const CHART_FILES: [(&str, &str); 1] = [("Chart.yaml", include_str!("../../../../templates/helm/Chart.yaml"))];

pub fn emit_chart(files: &mut FileSet) {
    for (path, contents) in CHART_FILES {
        let text = if path.ends_with(".json") { contents.to_string() } else { format!("{}{contents}", super::header("#")) };
        files.owned(format!("{OPS}/chart/{path}"), text);
    }
}
