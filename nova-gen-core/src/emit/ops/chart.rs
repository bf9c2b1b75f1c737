//! The Helm chart: one chart for every service, kept as a template directory (templates/helm/)
//! and copied verbatim into generated/ops/chart, beside which the rules are placed so that the
//! PrometheusRule template can carry them (`.Files.Get "rules/<svc>.rules.yml"`).

use crate::fileset::FileSet;
use crate::layout::out::OPS;

/// (path inside the chart, contents)
const CHART_FILES: [(&str, &str); 17] = [
    ("Chart.yaml", include_str!("../../../../templates/helm/Chart.yaml")),
    ("values.yaml", include_str!("../../../../templates/helm/values.yaml")),
    ("values.schema.json", include_str!("../../../../templates/helm/values.schema.json")),
    ("templates/_helpers.tpl", include_str!("../../../../templates/helm/templates/_helpers.tpl")),
    ("templates/analysistemplate.yaml", include_str!("../../../../templates/helm/templates/analysistemplate.yaml")),
    ("templates/certificate.yaml", include_str!("../../../../templates/helm/templates/certificate.yaml")),
    ("templates/configmap.yaml", include_str!("../../../../templates/helm/templates/configmap.yaml")),
    ("templates/deployment.yaml", include_str!("../../../../templates/helm/templates/deployment.yaml")),
    ("templates/edgeclientcertificate.yaml", include_str!("../../../../templates/helm/templates/edgeclientcertificate.yaml")),
    ("templates/hpa.yaml", include_str!("../../../../templates/helm/templates/hpa.yaml")),
    ("templates/networkpolicy.yaml", include_str!("../../../../templates/helm/templates/networkpolicy.yaml")),
    ("templates/pdb.yaml", include_str!("../../../../templates/helm/templates/pdb.yaml")),
    ("templates/prometheusrule.yaml", include_str!("../../../../templates/helm/templates/prometheusrule.yaml")),
    ("templates/rollout.yaml", include_str!("../../../../templates/helm/templates/rollout.yaml")),
    ("templates/service.yaml", include_str!("../../../../templates/helm/templates/service.yaml")),
    ("templates/serviceaccount.yaml", include_str!("../../../../templates/helm/templates/serviceaccount.yaml")),
    ("templates/servicemonitor.yaml", include_str!("../../../../templates/helm/templates/servicemonitor.yaml")),
];

pub fn emit_chart(files: &mut FileSet) {
    for (path, contents) in CHART_FILES {
        // A template partial's comments are template comments.
        let text = if path.ends_with(".json") {
            // JSON Schema's own comment keyword carries the header.
            let comment = serde_json::Value::String(super::header("").split_whitespace().collect::<Vec<_>>().join(" "));
            contents.replacen("{\n", &format!("{{\n  \"$comment\": {comment},\n"), 1)
        } else if path.ends_with(".tpl") {
            format!("{{{{/*\n{}*/}}}}\n{contents}", super::header(""))
        } else {
            format!("{}{contents}", super::header("#"))
        };
        files.owned(format!("{OPS}/chart/{path}"), text);
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file of templates/helm/ is in the chart: a template added there but not to
    /// CHART_FILES would silently be missing from every release.
    #[test]
    fn chart_files_are_exactly_the_template_directory() {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/helm");
        let mut on_disk = Vec::new();
        walk(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut listed: Vec<String> = super::CHART_FILES.iter().map(|(path, _)| path.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "CHART_FILES (nova-gen-core/src/emit/ops/chart.rs) and templates/helm/ differ");
    }
}
