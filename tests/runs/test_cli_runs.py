"""`sophia run --workspace` and `--agent consensus`, and `sophia mcp list`, as real `sophia` subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.serving import clean_env, sophia


def test_sophia_run_checks_the_workspace_and_queues_consensus_runs(tmp_path: Path) -> None:
    home, repos, outside = tmp_path / "home", tmp_path / "repos", tmp_path / "outside"
    for folder in (home, repos / "app", outside):
        folder.mkdir(parents=True)
    (home / "sophia.toml").write_text(f'[tools]\nworkspace_roots = ["{repos}"]\n', encoding="utf-8")
    env = clean_env(home)

    refused = sophia(env, "run", "fix it", "--detach", "--workspace", str(outside), check=False)
    assert refused.returncode != 0
    assert "is outside the allowed roots" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr

    sophia(env, "run", "fix it", "--detach", "--workspace", str(repos / "app"))
    sophia(env, "run", "how many moons?", "--detach", "--agent", "consensus")
    runs = {run["task"]: run for run in json.loads(sophia(env, "runs", "list", "--json").stdout)}
    assert runs["fix it"]["workspace"] == str((repos / "app").resolve())
    consensus = runs["how many moons?"]
    assert consensus["agent"] == "consensus" and consensus["status"] == "queued"
    assert consensus["workspace"] == str((home / "workspaces" / consensus["id"]).resolve())


def test_sophia_mcp_list_names_only_the_servers_that_carry_tools(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    listed = json.loads(sophia(clean_env(home), "mcp", "list", "--json").stdout)
    served = {row["name"]: row["tools"] for row in listed if row.get("sophia")}
    assert list(served) == [
        "memory",
        "research",
        "code",
        "data",
        "all",
    ]  # infra, integrations: no connector configured; data: the BI tools (bi.ask needs a gateway)
    assert "memory.remember" in served["memory"]
    assert served["research"] == ["research.fetch", "research.report", "research.search", "web.fetch"]
    assert served["data"] == ["bi.coach", "bi.forecast", "bi.health", "bi.recruit_match", "bi.strategy"]
    refused = sophia(clean_env(home), "mcp", "serve", "infra", check=False)
    assert (
        refused.returncode != 0 and "the infra MCP server has no tools yet" in refused.stdout + refused.stderr
    )
