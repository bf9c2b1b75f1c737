// Validates the custom resources rendered by validate_chart.py (Rollout, AnalysisTemplate,
// ServiceMonitor, PrometheusRule, Certificate) against their CRDs' schemas, with the validators
// that @kubernetes-models/argo-rollouts, @kubernetes-models/prometheus-operator and
// @kubernetes-models/cert-manager generate from them.
// Usage: node validate_crds.mjs <crds.json>. Run by nova-gen/tests/ops.rs.
import { readFileSync } from "node:fs";
import { Rollout, AnalysisTemplate } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";
import { ServiceMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Certificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1";

const models = { Rollout, AnalysisTemplate, ServiceMonitor, PrometheusRule, Certificate };
const items = JSON.parse(readFileSync(process.argv[2], "utf8"));
let problems = 0;
const seen = new Set();
for (const { where, object } of items) {
  const Model = models[object.kind];
  if (!Model) {
    console.log(`${where}: no CRD schema for kind ${object.kind}`);
    problems++;
    continue;
  }
  seen.add(object.kind);
  try {
    new Model(object).validate();
  } catch (e) {
    console.log(`${where}: ${object.kind} does not match its CRD schema: ${e.message}`);
    problems++;
  }
}
for (const kind of Object.keys(models)) {
  if (!seen.has(kind)) {
    console.log(`no ${kind} was rendered: nothing validated it`);
    problems++;
  }
}
console.log(`validate_crds: ${items.length} custom resources, ${problems} problems`);
process.exit(problems ? 1 : 0);
