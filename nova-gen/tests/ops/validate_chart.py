"""Renders the generated Helm chart for every service with a real Helm engine (helm-python-sdk,
offline), lints it, validates the values against values.schema.json, validates every rendered
built-in manifest against the Kubernetes 1.34 schemas (kubernetes-validate, strict), runs
checkov over all of them (checkov_scan.py), and cross-checks the result against what the spec
says (expect.json, written by nova-gen/tests/ops.rs) and against the security contract: mTLS
certificates, NetworkPolicies from the spec's calls, the Restricted Pod Security Standard,
secrets only from Secrets. Custom resources are written to crds_out for validate_crds.mjs.

Each service is rendered three ways: as generated (canary on), canary off, and with every
option on (edge client certificate, restricted egress with an extra rule, selectors set).

Usage: validate_chart.py <chart dir> <values dir> <expect.json> <crds_out.json>
Exit code 1 with one line per problem when anything is wrong. Run by nova-gen/tests/ops.rs;
.ci/ops-tools installs its packages in nova-gen/tests/ops/.venv.
"""

import copy
import json
import re
import sys
import tempfile

import kubernetes_validate
import yaml
from helm_python import chart as helm

import checkov_scan

BUILTIN = {"ConfigMap", "Service", "ServiceAccount", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"}
CUSTOM = {"Rollout", "AnalysisTemplate", "ServiceMonitor", "PrometheusRule", "Certificate"}
K8S_VERSION = "1.34"
NAMESPACE = "nova-apps"
TLS_DIR = "/etc/nova/tls"
SERVICE_USAGES = {"server auth", "client auth", "digital signature", "key encipherment"}
# Secrets by value: a URL with a password, key material.
SECRET_VALUE = re.compile(r"://[^/@\s]*:[^/@\s]+@|PRIVATE KEY|BEGIN CERTIFICATE")


def variants(values):
    """(label, values) for each rendering of one service."""
    on = copy.deepcopy(values)
    off = copy.deepcopy(values)
    off["canary"]["enabled"] = False
    options = copy.deepcopy(off)
    options["edgeClientCertificate"]["enabled"] = True
    np = options["networkPolicy"]
    np["edge"]["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}
    np["prometheus"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    np["egress"]["restrict"] = True
    np["egress"]["extra"] = [{"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 5432, "protocol": "TCP"}]}]
    return [("canary on", on), ("canary off", off), ("options on", options)]


def main(chart_dir, values_dir, expect_path, crds_out):
    expect = json.load(open(expect_path))
    problems = []
    custom = []
    loaded = helm.Chart.load(chart_dir)
    scratch = tempfile.TemporaryDirectory(prefix="nova-checkov-")
    scan_dir = scratch.name
    scanned = {}  # file -> label
    per_service = {}  # service -> [(variant, file)]
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
        problems += check_values(where, values)
        for variant, variant_values in variants(values):
            label = f"{where} ({variant})"
            try:
                loaded.validate_schema(variant_values)
                rendered = loaded.render(variant_values, name=values["service"]["fullname"], namespace=NAMESPACE)
            except Exception as e:
                problems.append(f"{label}: helm render failed: {e}")
                continue
            objects = []
            for path, text in sorted(rendered.items()):
                for doc in yaml.safe_load_all(text):
                    if doc:
                        objects.append((path, doc))
            problems += check_service(label, want, variant_values, objects, expect)
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
            file = checkov_scan.write(scan_dir, name, variant, objects)
            scanned[file] = label
            per_service.setdefault(name, []).append((variant, file))
    counts, checkov_problems = checkov_scan.scan(scan_dir, scanned) if scanned else ({}, [])
    scratch.cleanup()
    problems += checkov_problems
    json.dump(custom, open(crds_out, "w"))
    for name, files in sorted(per_service.items()):
        parts = [f"{variant} {counts[f]['passed']}/{counts[f]['failed']}/{counts[f]['skipped']}" for variant, f in files if f in counts]
        print(f"checkov {name} (passed/failed/skipped): {', '.join(parts)}")
    for problem in problems:
        print(problem)
    print(f"validate_chart: {len(expect['services'])} services, {len(custom)} custom resources, {len(problems)} problems")
    return 1 if problems else 0


def check_values(where, values):
    """Secrets are references, never literals, in the values themselves (the schema already
    refuses a literal redis.url or database URL)."""
    problems = []
    for path, text in strings(values, ""):
        if SECRET_VALUE.search(text):
            problems.append(f"{where}: {path} holds a secret (a password or key, not shown here): refer to a Secret instead")
    return problems


def strings(value, path):
    """(path, text) of every string in the values."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings(item, f"{path}[{i}]")


def by_kind(objects):
    kinds = {}
    for _, obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def check_service(label, want, values, objects, expect):
    """The spec's facts and the security contract, as the rendered manifests state them."""
    problems = []
    kinds = by_kind(objects)
    canary = values["canary"]["enabled"]
    edge_cert = values["edgeClientCertificate"]["enabled"]
    expected_kinds = {"ConfigMap", "Service", "ServiceAccount", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule", "Certificate", "NetworkPolicy"}
    expected_kinds |= {"Rollout", "AnalysisTemplate"} if canary else {"Deployment"}
    if set(kinds) != expected_kinds:
        problems.append(f"{label}: rendered kinds {sorted(kinds)}, expected {sorted(expected_kinds)}")
        return problems
    if len(kinds["Certificate"]) != (2 if edge_cert else 1):
        problems.append(f"{label}: {len(kinds['Certificate'])} Certificates, expected {2 if edge_cert else 1} (edgeClientCertificate.enabled is {edge_cert})")
    for _, obj in objects:
        if obj["metadata"].get("namespace") != NAMESPACE:
            problems.append(f"{label}: {obj['kind']} {obj['metadata']['name']} is in namespace {obj['metadata'].get('namespace')}, not the release's {NAMESPACE}")
    workload = kinds["Rollout" if canary else "Deployment"][0]
    pod = workload["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    if ports.get("grpc") != want["port"]:
        problems.append(f"{label}: container grpc port {ports.get('grpc')}, the spec says {want['port']}")
    if set(ports) != {"grpc", "metrics"} or any("hostPort" in p for p in container["ports"]):
        problems.append(f"{label}: the container exposes {container['ports']}, expected only grpc and metrics")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = container.get(probe, {}).get("httpGet", {})
        port = ports.get(get.get("port"), get.get("port"))
        if get.get("path") != path or port != ports.get("metrics") or get.get("scheme", "HTTP") != "HTTP":
            problems.append(f"{label}: {probe} is not an HTTP GET {path} on the metrics port {ports.get('metrics')}: {container.get(probe)}")
    if pod.get("terminationGracePeriodSeconds") != expect["termination_grace_period_seconds"]:
        problems.append(f"{label}: terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds')}, expected {expect['termination_grace_period_seconds']}")
    config = kinds["ConfigMap"][0]["data"]
    problems += check_pod_security(label, pod, kinds["ServiceAccount"][0])
    problems += check_storage(label, pod, container, config)
    problems += check_secrets(label, want, values, container, config)
    problems += check_tls(label, want, values, pod, container, kinds["Certificate"])
    problems += check_network_policy(label, want, values, workload["spec"]["template"]["metadata"]["labels"], kinds["NetworkPolicy"][0])
    if want["database"] is not None and values.get("database", {}).get("name") != want["database"]:
        problems.append(f"{label}: database {values.get('database', {}).get('name')}, the spec says {want['database']}")
    endpoints = {k: v for k, v in config.items() if k.endswith("_ENDPOINT")}
    if endpoints != want["endpoints"]:
        problems.append(f"{label}: endpoints {endpoints}, the spec's calls give {want['endpoints']}")
    for key, seconds in (("NOVA_SHUTDOWN_DRAIN_DELAY_SECONDS", expect["drain_delay_seconds"]), ("NOVA_SHUTDOWN_GRACE_SECONDS", expect["grace_seconds"])):
        if config.get(key) != str(seconds):
            problems.append(f"{label}: {key} is {config.get(key)}, the runtime's default is {seconds}")
    service = kinds["Service"][0]
    service_ports = {p["name"]: p["port"] for p in service["spec"]["ports"]}
    if service_ports.get("grpc") != want["port"]:
        problems.append(f"{label}: Service grpc port {service_ports.get('grpc')}, the spec says {want['port']}")
    if set(service_ports) != {"grpc", "metrics"} or service["spec"].get("type") != "ClusterIP" or service["spec"].get("externalIPs"):
        problems.append(f"{label}: the Service exposes more than grpc and metrics inside the cluster: {service['spec']}")
    if service["metadata"]["name"] != want["job"]:
        problems.append(f"{label}: Service is named {service['metadata']['name']}, the rules expect job {want['job']}")
    rules = yaml.safe_load(open(want["rules"]))
    if kinds["PrometheusRule"][0]["spec"]["groups"] != rules["groups"]:
        problems.append(f"{label}: the PrometheusRule does not carry {want['rules']} unchanged")
    if canary:
        problems += check_canary(label, want, workload, kinds["AnalysisTemplate"][0])
    return problems


def check_pod_security(label, pod, account):
    """The Restricted Pod Security Standard, field by field, so a missing one is named."""
    problems = []
    context = pod.get("securityContext", {})
    wants = {
        "runAsNonRoot": lambda v: v is True,
        "runAsUser": lambda v: isinstance(v, int) and v >= 10000,
        "runAsGroup": lambda v: isinstance(v, int) and v >= 10000,
        "fsGroup": lambda v: isinstance(v, int) and v >= 10000,
        "seccompProfile": lambda v: (v or {}).get("type") == "RuntimeDefault",
    }
    for field, ok in wants.items():
        if not ok(context.get(field)):
            problems.append(f"{label}: pod securityContext.{field} is {context.get(field)!r}: the Restricted Pod Security Standard wants it set (a UID/GID >= 10000, RuntimeDefault seccomp)")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            problems.append(f"{label}: pod {field} is on")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{label}: pod automountServiceAccountToken is {pod.get('automountServiceAccountToken')!r}, expected false: the service needs no Kubernetes API token")
    if pod.get("serviceAccountName") != account["metadata"]["name"] or account.get("automountServiceAccountToken") is not False:
        problems.append(f"{label}: the pod's service account {pod.get('serviceAccountName')!r} is not the chart's own token-less {account['metadata']['name']}")
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        context = container.get("securityContext", {})
        capabilities = context.get("capabilities", {})
        checks = (
            ("allowPrivilegeEscalation", context.get("allowPrivilegeEscalation"), False),
            ("readOnlyRootFilesystem", context.get("readOnlyRootFilesystem"), True),
            ("privileged", context.get("privileged"), False),
            ("capabilities.drop", capabilities.get("drop"), ["ALL"]),
        )
        for field, actual, wanted in checks:
            if actual != wanted:
                problems.append(f"{label}: container {container['name']} securityContext.{field} is {actual!r}, the Restricted Pod Security Standard wants {wanted!r}")
        if capabilities.get("add"):
            problems.append(f"{label}: container {container['name']} adds capabilities {capabilities['add']}")
    allowed = {"secret", "emptyDir", "configMap", "projected", "downwardAPI"}
    for volume in pod.get("volumes", []):
        kind = set(volume) - {"name"}
        if not kind <= allowed:
            problems.append(f"{label}: volume {volume['name']} is of a kind the Restricted standard refuses: {sorted(kind)}")
    return problems


def check_storage(label, pod, container, config):
    """A read-only root: /tmp and the data directory are writable emptyDir volumes."""
    problems = []
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m for m in container.get("volumeMounts", [])}
    data_dir = config.get("NOVA_DATA_DIR")
    if not data_dir:
        problems.append(f"{label}: the ConfigMap sets no NOVA_DATA_DIR: the service would write under its read-only working directory")
    for path in ("/tmp", data_dir):
        mount = mounts.get(path)
        if mount is None or mount.get("readOnly") or "emptyDir" not in volumes.get(mount["name"], {}):
            problems.append(f"{label}: {path} is not a writable emptyDir volume: {mount}")
    return problems


def secret_ref(env):
    return env is not None and "value" not in env and "secretKeyRef" in env.get("valueFrom", {})


def check_secrets(label, want, values, container, config):
    problems = []
    env = {e["name"]: e for e in container.get("env", [])}
    for name in want["secret_env"]:
        if not secret_ref(env.get(name)):
            problems.append(f"{label}: {name} must come from a Secret, not a literal: {env.get(name)}")
    db = env.get("NOVA_DATABASE_URL")
    if want["database"] is None and (db is not None or "database" in values):
        problems.append(f"{label}: the spec gives this service no database, the chart does: {db or values.get('database')}")
    extra = {e["name"] for e in container.get("env", []) if "valueFrom" in e} - set(want["secret_env"])
    if extra:
        problems.append(f"{label}: Secret environment the spec does not call for: {sorted(extra)}")
    for key, value in sorted(config.items()):
        if key in want["secret_env"] or key == "NOVA_TLS_KEY" or SECRET_VALUE.search(str(value)):
            problems.append(f"{label}: the ConfigMap carries a secret: {key}")
    # Events: streams replicated across the 3-server JetStream cluster the values describe.
    replicas = config.get("NOVA_EVENTS_REPLICAS")
    if want["events"] and replicas != str(values.get("events", {}).get("replicas")):
        problems.append(f"{label}: NOVA_EVENTS_REPLICAS is {replicas!r}, the values say {values.get('events', {}).get('replicas')!r}")
    if want["events"] and values.get("events", {}).get("replicas", 0) < 3:
        problems.append(f"{label}: events.replicas below 3: an acknowledged event would not survive the loss of a NATS server")
    if not want["events"] and (replicas is not None or "events" in values):
        problems.append(f"{label}: the spec gives this service no events, the chart configures them")
    return problems


def check_tls(label, want, values, pod, container, certificates):
    """cert-manager issues the certificate the pod mounts; its SANs are what peers check."""
    problems = []
    job = want["job"]
    own = [c for c in certificates if c["metadata"]["name"] == job]
    if len(own) != 1:
        return [f"{label}: no Certificate named {job}: {[c['metadata']['name'] for c in certificates]}"]
    spec = own[0]["spec"]
    dns = [job, f"{job}.{NAMESPACE}.svc", f"{job}.{NAMESPACE}.svc.cluster.local"]
    if spec.get("uris") != [want["identity"]]:
        problems.append(f"{label}: Certificate uris {spec.get('uris')}, the service's identity is {want['identity']}")
    if spec.get("dnsNames") != dns:
        problems.append(f"{label}: Certificate dnsNames {spec.get('dnsNames')}, clients dial {dns}")
    if set(spec.get("usages", [])) != SERVICE_USAGES:
        problems.append(f"{label}: Certificate usages {spec.get('usages')}, expected {sorted(SERVICE_USAGES)}")
    key = spec.get("privateKey", {})
    if (key.get("algorithm"), key.get("size"), key.get("rotationPolicy")) != ("ECDSA", 256, "Always"):
        problems.append(f"{label}: Certificate privateKey {key}, expected ECDSA P-256 rotated at every renewal")
    if spec.get("issuerRef") != values["tls"]["issuerRef"]:
        problems.append(f"{label}: Certificate issuerRef {spec.get('issuerRef')}, values say {values['tls']['issuerRef']}")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == TLS_DIR), None)
    secret = volumes.get(mount["name"], {}).get("secret", {}) if mount else {}
    if mount is None or not mount.get("readOnly") or secret.get("secretName") != spec.get("secretName"):
        problems.append(f"{label}: the pod does not mount the Certificate's Secret {spec.get('secretName')} read-only at {TLS_DIR}: {mount}, {secret}")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    for name, file in (("NOVA_TLS_CA", "ca.crt"), ("NOVA_TLS_CERT", "tls.crt"), ("NOVA_TLS_KEY", "tls.key")):
        if env.get(name) != f"{TLS_DIR}/{file}":
            problems.append(f"{label}: {name} is {env.get(name)!r}, expected {TLS_DIR}/{file}")
    if values["edgeClientCertificate"]["enabled"]:
        edge = [c for c in certificates if c["metadata"]["name"] != job]
        edge_spec = edge[0]["spec"] if edge else {}
        if edge_spec.get("uris") != [values["edgeClientCertificate"]["identity"]] or not edge_spec.get("uris", [""])[0].startswith("spiffe://nova.local/client/"):
            problems.append(f"{label}: the edge client Certificate's uris are {edge_spec.get('uris')}")
        if set(edge_spec.get("usages", [])) != {"client auth", "digital signature"} or edge_spec.get("dnsNames"):
            problems.append(f"{label}: the edge client Certificate must be for client auth only: {edge_spec}")
    return problems


def peers_of(rule, key):
    return rule.get(key) or []


def rule_ports(rule):
    return {p.get("port") for p in rule.get("ports") or []}


def check_network_policy(label, want, values, pod_labels, policy):
    """Ingress to gRPC only from the spec's callers and the edge, to metrics only from
    Prometheus; egress, when restricted, to DNS, the callees and the extra rules only."""
    problems = []
    spec = policy["spec"]
    np = values["networkPolicy"]
    selector = spec.get("podSelector", {}).get("matchLabels", {})
    if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
        problems.append(f"{label}: the NetworkPolicy's podSelector {selector} does not select this service's pods {pod_labels}")
    types = spec.get("policyTypes", [])
    if "Ingress" not in types:
        problems.append(f"{label}: the NetworkPolicy does not restrict ingress: policyTypes {types}")
    grpc, metrics = values["ports"]["grpc"], values["ports"]["metrics"]
    callers, edge_seen, scrapers = set(), False, 0
    for rule in spec.get("ingress", []):
        peers, ports = peers_of(rule, "from"), rule_ports(rule)
        if not peers or not ports:
            problems.append(f"{label}: an ingress rule without peers or ports admits everyone: {rule}")
            continue
        if ports - {grpc, metrics} or ports == {grpc, metrics}:
            problems.append(f"{label}: an ingress rule opens ports {sorted(ports)}; only {grpc} (gRPC) or {metrics} (metrics) alone")
            continue
        for peer in peers:
            names = (peer.get("podSelector") or {}).get("matchLabels", {})
            if ports == {grpc} and set(peer) == {"podSelector"} and set(names) == {"app.kubernetes.io/name"}:
                callers.add(names["app.kubernetes.io/name"])
            elif ports == {grpc} and np["edge"]["enabled"] and peer.get("podSelector") == np["edge"]["podSelector"] and peer.get("namespaceSelector") == np["edge"].get("namespaceSelector"):
                edge_seen = True
            elif ports == {metrics} and peer.get("namespaceSelector") == np["prometheus"]["namespaceSelector"] and peer.get("podSelector") == np["prometheus"].get("podSelector"):
                scrapers += 1
            else:
                problems.append(f"{label}: the NetworkPolicy admits an unexpected peer to port {sorted(ports)}: {peer}")
    if callers != set(want["callers"]):
        problems.append(f"{label}: the NetworkPolicy admits callers {sorted(callers)} to the gRPC port, the spec's reverse calls give {sorted(want['callers'])}")
    if edge_seen != np["edge"]["enabled"]:
        problems.append(f"{label}: the edge is {'' if edge_seen else 'not '}admitted, networkPolicy.edge.enabled is {np['edge']['enabled']}")
    if scrapers != 1:
        problems.append(f"{label}: the metrics port admits {scrapers} Prometheus peers, expected exactly the configured one")
    restrict = np["egress"]["restrict"]
    if restrict != ("Egress" in types):
        problems.append(f"{label}: egress restriction is {'Egress' in types} in the NetworkPolicy, networkPolicy.egress.restrict is {restrict}")
    if restrict:
        problems += check_egress(label, want, np, spec.get("egress", []))
    return problems


def check_egress(label, want, np, rules):
    problems = []
    callees, dns, extra = {}, False, []
    for rule in rules:
        peers, ports = peers_of(rule, "to"), rule_ports(rule)
        names = [(p.get("podSelector") or {}).get("matchLabels", {}) for p in peers]
        if not peers:
            problems.append(f"{label}: an egress rule without peers allows every destination: {rule}")
        elif ports == {53} and peers == [{"namespaceSelector": np["egress"]["dns"]["namespaceSelector"], "podSelector": np["egress"]["dns"]["podSelector"]}]:
            dns = True
        elif len(peers) == 1 and set(peers[0]) == {"podSelector"} and set(names[0]) == {"app.kubernetes.io/name"} and len(ports) == 1:
            callees[names[0]["app.kubernetes.io/name"]] = next(iter(ports))
        else:
            extra.append(rule)
    if not dns:
        problems.append(f"{label}: restricted egress without DNS")
    if callees != want["callees"]:
        problems.append(f"{label}: restricted egress reaches {callees}, the spec's calls give {want['callees']}")
    if extra != np["egress"]["extra"]:
        problems.append(f"{label}: restricted egress has extra rules {extra}, values give {np['egress']['extra']}")
    return problems


def check_canary(label, want, workload, template):
    problems = []
    steps = [s["setWeight"] for s in workload["spec"]["strategy"]["canary"]["steps"] if "setWeight" in s]
    if steps != [10, 50] or not any("pause" in s for s in workload["spec"]["strategy"]["canary"]["steps"]):
        problems.append(f"{label}: canary steps {steps}, expected 10 % -> 50 % (-> 100 %) with pauses")
    metrics = {m["name"]: m for m in template["spec"]["metrics"]}
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
