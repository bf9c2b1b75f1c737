"""Renders the generated Helm chart for every service with a real Helm engine (helm-python-sdk,
offline), lints it, validates the values against values.schema.json, validates every rendered
built-in manifest against the Kubernetes 1.34 schemas (kubernetes-validate, strict), and
cross-checks the result against what the spec says (expect.json, written by nova-gen/tests/ops.rs).
Custom resources are written to crds_out for validate_crds.mjs.

Usage: validate_chart.py <chart dir> <values dir> <expect.json> <crds_out.json>
Exit code 1 with one line per problem when anything is wrong. Run by nova-gen/tests/ops.rs;
.ci/ops-tools installs its packages in nova-gen/tests/ops/.venv.
"""

import json
import sys

import kubernetes_validate
import yaml
from helm_python import chart as helm

BUILTIN = {"ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
CUSTOM = {"Rollout", "AnalysisTemplate", "ServiceMonitor", "PrometheusRule"}
K8S_VERSION = "1.34"


def main(chart_dir, values_dir, expect_path, crds_out):
    expect = json.load(open(expect_path))
    problems = []
    custom = []
    loaded = helm.Chart.load(chart_dir)
    for name, want in sorted(expect["services"].items()):
        where = f"{values_dir}/{name}.yaml"
        values = yaml.safe_load(open(where))
        try:
            loaded.validate_schema(values)
        except Exception as e:  # the engine's own message names the key
            problems.append(f"{where}: values.schema.json refuses the values: {e}")
            continue
        lint = helm.lint(chart_dir, values)
        for message in lint.get("messages", []):
            if message.get("severity", 0) >= 2:
                problems.append(f"{where}: helm lint: {message.get('path')}: {message.get('error')}")
        for error in lint.get("errors", []) or []:
            problems.append(f"{where}: helm lint: {error}")
        for canary in (True, False):
            variant = json.loads(json.dumps(values))
            variant["canary"]["enabled"] = canary
            label = f"{where} (canary {'on' if canary else 'off'})"
            try:
                rendered = loaded.render(variant, name=values["service"]["fullname"])
            except Exception as e:
                problems.append(f"{label}: helm render failed: {e}")
                continue
            objects = []
            for path, text in sorted(rendered.items()):
                for doc in yaml.safe_load_all(text):
                    if doc:
                        objects.append((path, doc))
            problems += check_service(label, name, want, variant, objects, expect)
            for path, obj in objects:
                kind = obj.get("kind")
                if kind in BUILTIN:
                    try:
                        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
                    except Exception as e:
                        problems.append(f"{label}: {path}: {kind} is not valid Kubernetes {K8S_VERSION}: {e}")
                elif kind in CUSTOM:
                    custom.append({"where": f"{label}: {path}", "object": obj})
                else:
                    problems.append(f"{label}: {path}: unexpected kind {kind}")
    json.dump(custom, open(crds_out, "w"))
    for problem in problems:
        print(problem)
    print(f"validate_chart: {len(expect['services'])} services, {len(custom)} custom resources, {len(problems)} problems")
    return 1 if problems else 0


def check_service(label, name, want, values, objects, expect):
    """The spec's facts, as the rendered manifests state them."""
    problems = []
    kinds = {}
    for _, obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    canary = values["canary"]["enabled"]
    expected_kinds = {"ConfigMap", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule"}
    expected_kinds |= {"Rollout", "AnalysisTemplate"} if canary else {"Deployment"}
    if set(kinds) != expected_kinds:
        problems.append(f"{label}: rendered kinds {sorted(kinds)}, expected {sorted(expected_kinds)}")
        return problems
    workload = kinds["Rollout" if canary else "Deployment"][0]
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    if ports.get("grpc") != want["port"]:
        problems.append(f"{label}: container grpc port {ports.get('grpc')}, the spec says {want['port']}")
    for probe in ("readinessProbe", "livenessProbe"):
        grpc = container.get(probe, {}).get("grpc", {})
        if grpc.get("port") != want["port"]:
            problems.append(f"{label}: {probe} is not a gRPC health probe on port {want['port']}: {container.get(probe)}")
    if pod.get("terminationGracePeriodSeconds") != expect["termination_grace_period_seconds"]:
        problems.append(f"{label}: terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds')}, expected {expect['termination_grace_period_seconds']}")
    env = {e["name"]: e for e in container.get("env", [])}
    db = env.get("NOVA_DATABASE_URL")
    if want["database"] is None:
        if db is not None or "database" in values:
            problems.append(f"{label}: the spec gives this service no database, the chart does: {db or values.get('database')}")
    elif db is None or "value" in db or "secretKeyRef" not in db.get("valueFrom", {}):
        problems.append(f"{label}: NOVA_DATABASE_URL must come from a Secret, not a literal: {db}")
    elif values.get("database", {}).get("name") != want["database"]:
        problems.append(f"{label}: database {values.get('database', {}).get('name')}, the spec says {want['database']}")
    config = kinds["ConfigMap"][0]["data"]
    endpoints = {k: v for k, v in config.items() if k.endswith("_ENDPOINT")}
    if endpoints != want["endpoints"]:
        problems.append(f"{label}: endpoints {endpoints}, the spec's calls give {want['endpoints']}")
    for key, seconds in (("NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS", expect["drain_delay_seconds"]), ("NOVA_SHUTDOWN_GRACE_SECONDS", expect["grace_seconds"])):
        if config.get(key) != str(seconds):
            problems.append(f"{label}: {key} is {config.get(key)}, the runtime's default is {seconds}")
    service_ports = {p["name"]: p["port"] for p in kinds["Service"][0]["spec"]["ports"]}
    if service_ports.get("grpc") != want["port"]:
        problems.append(f"{label}: Service grpc port {service_ports.get('grpc')}, the spec says {want['port']}")
    if kinds["Service"][0]["metadata"]["name"] != want["job"]:
        problems.append(f"{label}: Service is named {kinds['Service'][0]['metadata']['name']}, the rules expect job {want['job']}")
    rules = yaml.safe_load(open(want["rules"]))
    if kinds["PrometheusRule"][0]["spec"]["groups"] != rules["groups"]:
        problems.append(f"{label}: the PrometheusRule does not carry {want['rules']} unchanged")
    if canary:
        steps = [s["setWeight"] for s in workload["spec"]["strategy"]["canary"]["steps"] if "setWeight" in s]
        if steps != [10, 50] or not any("pause" in s for s in workload["spec"]["strategy"]["canary"]["steps"]):
            problems.append(f"{label}: canary steps {steps}, expected 10 % -> 50 % (-> 100 %) with pauses")
        metrics = {m["name"]: m for m in kinds["AnalysisTemplate"][0]["spec"]["metrics"]}
        for metric, limit in (("error-ratio", want["max_error_ratio"]), ("p95-latency", want["max_p95_seconds"])):
            condition = metrics.get(metric, {}).get("successCondition", "")
            if not condition.endswith(f"<= {limit}"):
                problems.append(f"{label}: analysis {metric} succeeds on `{condition}`, the SLO gives {limit}")
            query = metrics.get(metric, {}).get("provider", {}).get("prometheus", {}).get("query", "")
            if "{{args.canary-hash}}" not in query:
                problems.append(f"{label}: analysis {metric} query `{query}` is not restricted to the canary's pods")
            if not any(f"{record}{{" in query for record in want["recording_rules"]):
                problems.append(f"{label}: analysis {metric} query `{query}` reads no recording rule of {want['rules']}")
    return problems


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
