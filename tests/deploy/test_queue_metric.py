"""The worker autoscaler's queue depth: `sophia_runs{status="queued"}` on /metrics of a real `sophia serve`."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.serving import clean_env, create_key, running_sophia


def queued(server_url: str, key: str) -> float:
    text = httpx.get(f"{server_url}/metrics", headers={"Authorization": f"Bearer {key}"}, timeout=10).text
    samples = {
        sample.labels.get("status"): sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "sophia_runs"
        for sample in family.samples
    }
    assert set(samples) >= {"queued", "running", "succeeded"}
    return samples["queued"]


def test_queued_runs_are_exported_as_the_queue_depth(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, SOPHIA_SERVER__RUN_WORKER="false")  # no worker: created runs stay queued
    key = create_key(env, "ops")
    with running_sophia(env, home) as server:
        assert queued(server.url, key) == 0
        headers = {"Authorization": f"Bearer {key}"}
        for task in ("first", "second"):
            answer = httpx.post(f"{server.url}/v1/runs", json={"task": task}, headers=headers, timeout=30)
            assert answer.status_code == 201, answer.text
        assert queued(server.url, key) == 2
