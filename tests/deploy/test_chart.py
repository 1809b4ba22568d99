"""The Helm chart: Helm's own lint and render (Go SDK), then every manifest against the Kubernetes schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "sophia"
KUBERNETES = "1.33.0"
BASE: dict[str, Any] = {"secrets": {"existingSecret": "sophia-secrets"}}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    manifests = helm.Chart.load(CHART).render(values, name="prod", namespace="ai", is_install=True)
    docs = [doc for text in manifests.values() for doc in yaml.safe_load_all(text) if doc]
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def named(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(doc for doc in docs if doc["metadata"]["name"] == name)


def test_helm_lint_strict_finds_no_warning_or_error() -> None:
    report = helm.lint(CHART, BASE, strict=True)
    serious = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and serious == [], report


FULL = {
    **BASE,
    "ingress": {"enabled": True, "className": "nginx", "tls": [{"secretName": "t", "hosts": ["a.example"]}]},
    "worker": {"autoscaling": {"queueDepth": {"enabled": True}}},
}


@pytest.mark.parametrize("values", [BASE, FULL], ids=["defaults", "everything-on"])
def test_every_rendered_manifest_validates_against_the_kubernetes_schemas(values: dict[str, Any]) -> None:
    docs = render(values)
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job"} <= {
        d["kind"] for d in docs
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def test_broken_manifest_is_refused_by_the_schema_check() -> None:
    deployment = named(render(BASE), "prod-sophia-api")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_api_and_worker_run_the_real_commands_with_probes_on_the_real_routes() -> None:
    docs = render(BASE)
    api = named(docs, "prod-sophia-api")["spec"]["template"]["spec"]["containers"][0]
    worker = named(docs, "prod-sophia-worker")["spec"]["template"]["spec"]["containers"][0]
    assert api["args"][0] == "serve" and worker["args"][:1] == ["worker"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["startupProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in api["env"]}
    assert env["SOPHIA_STORAGE__URL"]["value"] == "file:/run/secrets/sophia/database-url"
    assert env["SOPHIA_SERVER__RUN_WORKER"]["value"] == "false"
    assert env["SOPHIA_SERVER__UPGRADE_ON_START"]["value"] == "false"
    for container in (api, worker):  # every pod opens held tool calls with the Secret's one key
        seal = {e["name"]: e for e in container["env"]}["SOPHIA_RUNS__SEAL_KEY"]
        assert seal["value"] == "file:/run/secrets/sophia/runs-seal-key"
        assert "/run/secrets/sophia" in {m["mountPath"] for m in container["volumeMounts"]}
    assert api["resources"]["requests"]["cpu"] and worker["resources"]["requests"]["memory"]


def test_a_terminating_api_pod_drains_then_finishes_its_requests_before_kubernetes_kills_it() -> None:
    spec = named(
        render({**BASE, "api": {"drainSeconds": 7, "gracefulShutdownSeconds": 25}}), "prod-sophia-api"
    )
    pod = spec["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert (
        env["SOPHIA_SERVER__DRAIN_SECONDS"] == "7" and env["SOPHIA_SERVER__GRACEFUL_SHUTDOWN_SECONDS"] == "25"
    )
    assert (
        pod["terminationGracePeriodSeconds"] > 7 + 25
    )  # SIGKILL only after the drain and the graceful shutdown


def test_rendered_environment_names_are_real_settings() -> None:
    from sophia.config import Settings

    api = named(render(BASE), "prod-sophia-api")["spec"]["template"]["spec"]["containers"][0]
    for variable in (e["name"] for e in api["env"]):
        if variable in ("SOPHIA_CONFIG", "SOPHIA_HOME", "SOPHIA_MASTER_KEY"):
            continue
        section, _, field = variable.removeprefix("SOPHIA_").lower().partition("__")
        model = Settings.model_fields[section].annotation
        assert field in model.model_fields, variable  # type: ignore[union-attr]


def test_migrations_run_as_a_pre_install_and_pre_upgrade_hook_before_the_pods() -> None:
    docs = render(BASE)
    job = by_kind(docs, "Job")[0]
    hooks = job["metadata"]["annotations"]
    assert hooks["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    config = named(docs, volumes["config"]["configMap"]["name"])
    assert config["metadata"]["annotations"]["helm.sh/hook"] == hooks["helm.sh/hook"]
    assert int(config["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(hooks["helm.sh/hook-weight"])
    off = render({**BASE, "migrations": {"enabled": False}})
    assert not by_kind(off, "Job")
    api_env = named(off, "prod-sophia-api")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "SOPHIA_SERVER__UPGRADE_ON_START" not in {e["name"] for e in api_env}


def test_config_map_carries_sophia_toml_and_pods_read_it() -> None:
    docs = render({**BASE, "config": '[routing]\npolicy = "cost"\n'})
    assert named(docs, "prod-sophia")["data"]["sophia.toml"] == '[routing]\npolicy = "cost"\n'
    api = named(docs, "prod-sophia-api")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in api["containers"][0]["env"]}
    mount = next(m for m in api["containers"][0]["volumeMounts"] if m["name"] == "config")
    assert env["SOPHIA_CONFIG"] == f"{mount['mountPath']}/sophia.toml"


def test_worker_hpa_scales_on_cpu_and_on_queue_depth_when_a_metric_is_named() -> None:
    hpa = named(by_kind(render(FULL), "HorizontalPodAutoscaler"), "prod-sophia-worker")
    kinds = [m["type"] for m in hpa["spec"]["metrics"]]
    assert kinds == ["Resource", "External"]
    metric = hpa["spec"]["metrics"][1]["external"]["metric"]
    assert metric == {"name": "sophia_runs", "selector": {"matchLabels": {"status": "queued"}}}
    unnamed = {"enabled": True, "metricName": ""}
    with pytest.raises(helm.HelmError, match="queueDepth.metricName"):
        render({**BASE, "worker": {"autoscaling": {"queueDepth": unnamed}}})


def test_secrets_come_by_reference_and_never_as_values() -> None:
    with pytest.raises(helm.HelmError, match="existingSecret"):
        render({})
    external = {
        "secrets": {
            "externalSecret": {
                "enabled": True,
                "secretStoreRef": {"name": "vault-backend"},
                "data": [{"secretKey": "database-url", "remoteRef": {"key": "sophia/db", "property": "url"}}],
            }
        }
    }
    docs = render(external)
    secret = by_kind(docs, "ExternalSecret")[0]
    assert secret["spec"]["secretStoreRef"] == {"name": "vault-backend", "kind": "ClusterSecretStore"}
    assert secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    volumes = named(docs, "prod-sophia-api")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "secrets", "secret": {"secretName": secret["spec"]["target"]["name"]}} in volumes
    assert not by_kind(docs, "Secret")
