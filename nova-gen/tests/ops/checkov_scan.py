"""Runs checkov (the real one, offline) once over every rendered manifest and sorts its results
per service: a failed check fails the test unless SKIPS names it with its reason. Used by
validate_chart.py; checkov is installed in the same venv by .ci/ops-tools.
"""

import json
import os
import subprocess
import sys

# Checks that do not apply to this chart, each with why. Anything else that fails is a problem,
# and so is an entry here that no longer fails anywhere (remove it then).
SKIPS = {
    # The generated values carry a placeholder image tag; the deployer sets each release's
    # image (`--set image.tag=...`, or a digest in image.repository's registry) at deploy time.
    "CKV_K8S_14": "image tag comes from the deployer",
    "CKV_K8S_43": "image digest comes from the deployer",
    # The runtime's contract (issue 17) reads the database and Redis URLs, the cache key and the
    # token issuer's key-encryption key from environment variables, each from a Secret; the
    # TLS key and certificates are files.
    "CKV_K8S_35": "the runtime reads these secrets from env, each from a Secret",
}


def checkov_sees(obj):
    """checkov has no checks for Argo Rollouts: their pod template goes to it inside a
    Deployment, so the canary's pods are held to the same checks as the plain rollout's."""
    if obj.get("kind") != "Rollout":
        return obj
    spec = obj["spec"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": obj["metadata"],
        "spec": {"replicas": spec["replicas"], "selector": spec["selector"], "template": spec["template"]},
    }


def write(directory, service, variant, objects):
    """The objects of one service's rendering, as checkov will read them; returns the file name."""
    name = f"{service}--{variant.replace(' ', '-')}.yaml"
    with open(os.path.join(directory, name), "w") as f:
        for _, obj in objects:
            f.write("---\n")
            f.write(json.dumps(checkov_sees(obj)))  # JSON is YAML: no re-serialisation surprises
            f.write("\n")
    return name


def scan(directory, files):
    """checkov over `directory`. Returns (per file: passed, failed, skipped counts; problems).
    `files` maps each written file name to the label problems are reported under."""
    command = [
        os.path.join(os.path.dirname(sys.executable), "checkov"),
        "--directory", directory,
        "--framework", "kubernetes",
        "--compact",
        "--output", "json",
        # Offline: no guideline download, no platform; BC_SKIP_MAPPING skips the check-ID mapping.
        "--skip-download",
    ]
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE")
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=directory)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {}, [f"checkov did not report (exit {done.returncode}): {done.stderr[-2000:] or done.stdout[-2000:]}"]
    if isinstance(report, list):
        report = next((r for r in report if r.get("check_type") == "kubernetes"), {})
    problems = []
    summary = report.get("summary", {})
    if summary.get("parsing_errors"):
        problems.append(f"checkov could not parse {summary['parsing_errors']} file(s): {report['results'].get('parsing_errors')}")
    counts = {name: {"passed": 0, "failed": 0, "skipped": 0} for name in files}
    skips_used = set()
    results = report.get("results", {})
    for result, outcome in (("passed_checks", "passed"), ("failed_checks", "failed")):
        for check in results.get(result, []):
            name = os.path.basename(check["file_path"])
            if name not in counts:
                problems.append(f"checkov reports a file nobody wrote: {check['file_path']}")
                continue
            if outcome == "failed" and check["check_id"] in SKIPS:
                skips_used.add(check["check_id"])
                counts[name]["skipped"] += 1
                continue
            counts[name][outcome] += 1
            if outcome == "failed":
                problems.append(f"{files[name]}: checkov {check['check_id']} fails on {check['resource']}: {check['check_name']}")
    for name, count in counts.items():
        if not count["passed"]:
            problems.append(f"{files[name]}: checkov checked nothing in it")
    for check_id in sorted(set(SKIPS) - skips_used):
        problems.append(f"checkov skip list: {check_id} ({SKIPS[check_id]}) no longer fails anywhere: remove it from SKIPS")
    return counts, problems
