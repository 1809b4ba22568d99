"""The coding benchmark: seeded bugs in small real Python projects, fixed through the real edit/check/commit machinery.

    .venv/bin/python bench/coding.py                         # the built-in task set, scripted model (oracle fixes)
    .venv/bin/python bench/coding.py --tasks FILE [--oracle FIXES.json] [--model NAME] [--out RESULTS.jsonl]

Each task: `{"id", "repo" (a path or a .tar.gz with one top folder holding a git repository), "task",
"fail_to_pass", "pass_to_pass", "test_command"?}`. With `--model scripted` (the default) the model replays the
oracle's unified diff for the task; any other name goes through the gateway of `sophia.toml` (`local`, a
configured model). A task is resolved, as SWE-bench judges it, when every fail_to_pass and pass_to_pass test is
PASSED in a `-rA` run of its test command in the sandbox after the change, and no test was weakened;
`loop_resolved` is the loop's own verdict (the whole suite passed). Last line:
`coding: resolved=R/N`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agents.conftest import build_gateway  # noqa: E402

from sophia.accounts import Role  # noqa: E402
from sophia.agents import DirectSteps, RunLimits  # noqa: E402
from sophia.coding import (  # noqa: E402
    CodeSession,
    CodeTools,
    CodingOptions,
    CodingTask,
    check_shell,
    detect_checks,
    register_code_tools,
)
from sophia.config import load_settings  # noqa: E402
from sophia.gateway import build_gateway as build_settings_gateway  # noqa: E402
from sophia.gateway.providers import ScriptedProvider  # noqa: E402
from sophia.store import Database, upgrade  # noqa: E402
from sophia.tools import ApprovalPolicy, ToolContext, ToolInvoker, ToolRegistry  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "coding"
CHECK_ENV = Path(__file__).resolve().parents[1] / ".cache" / "check-env"


def _oracle(current: dict[str, str]) -> Any:
    """Replays the fix of the task being run (`current["fix"]`); two tasks may share a task text."""

    def answer(body: dict[str, Any]) -> str:
        first = str(body["messages"][0]["content"])
        if first.startswith("You review"):
            return "APPROVE"
        return current.get("fix") or "no fix known"

    return answer


async def _graded(tools: CodeTools, context: Any, task: dict[str, Any], workspace: Path) -> dict[str, Any]:
    """SWE-bench's judgement: every fail_to_pass and pass_to_pass test PASSED in one `-rA` run of the task's
    test command in the sandbox (ids as the builder recorded them: cut at the first space)."""
    command = task.get("test_command") or next(
        (c.command for c in detect_checks(workspace) if c.name == "pytest"), "python3 -m pytest -q"
    )
    ran = await tools.test(context, f"{command} -rA | grep -E '^(PASSED|FAILED|ERROR) '")
    output = "".join(str(r["output"]) for r in ran["results"])
    passed = set(re.findall(r"^PASSED (\S+)", output, re.MULTILINE))
    wanted = [*task.get("fail_to_pass", []), *task.get("pass_to_pass", [])]
    missing = [t for t in wanted if t not in passed]
    return {"graded": not missing and bool(wanted), "missing": missing[:5]}


def _checkout(task: dict[str, Any], base: Path, scratch: Path) -> Path:
    repo = base / task["repo"]
    if repo.is_dir():
        return repo
    with tarfile.open(repo) as archive:
        archive.extractall(scratch / task["id"], filter="data")
    (top,) = list((scratch / task["id"]).iterdir())
    return top


async def _one(
    database: Database,
    gateway: Any,
    task: dict[str, Any],
    source: Path,
    work: Path,
    model: str,
    python: Path | None,
) -> dict[str, Any]:
    tools = CodeTools(shell=check_shell(python=python))
    registry = register_code_tools(ToolRegistry(), tools)
    invoker = ToolInvoker(registry, database, policy=ApprovalPolicy({"code.*": {"*": "auto"}}))
    workspace = work / f"ws-{task['id']}"
    context = ToolContext(
        user_id=1, user_name="bench", role=Role.MEMBER, run_id=task["id"], workspace=workspace
    )
    limits = RunLimits(max_steps=40)
    session = CodeSession(gateway, invoker, DirectSteps(), context=context, limits=limits, model=model)
    entry = gateway.catalog.get(model)
    options = CodingOptions(
        source=str(source),
        push=False,
        max_attempts=3,
        test_command=task.get("test_command"),
        context_tokens=entry.context_window if entry is not None else None,
    )
    started = time.monotonic()
    result = await CodingTask(session, workspace, options).run(task["task"])
    graded = await _graded(tools, context, task, workspace)
    shutil.rmtree(workspace, ignore_errors=True)
    return {
        "id": task["id"],
        "resolved": graded["graded"] and not result.weakened,
        "loop_resolved": result.status == "resolved",
        "missing": graded["missing"],
        "steps": session.seq,
        "cost": result.cost_usd,
        "seconds": time.monotonic() - started,
        "edits_clean": result.edits_clean,
        "tests_detected": result.tests_detected,
        "weakened": bool(result.weakened),
        "failing_before": any(c["status"] == "failed" for c in result.checks_before),
        "problems": [p[:200] for p in result.problems],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=Path, default=DATA / "tasks.json")
    parser.add_argument("--oracle", type=Path, default=None, help="FIXES.json: {id: unified diff}")
    parser.add_argument("--model", default="scripted")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=None, help="append each task's result to this JSONL file as it finishes"
    )
    parser.add_argument(
        "--python",
        type=Path,
        default=CHECK_ENV if CHECK_ENV.is_dir() else None,
        help="the Python environment the checks run with ([coding] python); default: .cache/check-env when"
        " present (python -m venv .cache/check-env && .cache/check-env/bin/pip install pytest==8.3.5),"
        " else Sophia's",
    )
    args = parser.parse_args()
    python: Path | None = args.python
    tasks: list[dict[str, Any]] = json.loads(args.tasks.read_text())
    tasks = tasks[: args.limit] if args.limit else tasks
    oracle = args.oracle or (args.tasks.parent / "fixes.json")
    fixes = json.loads(oracle.read_text()) if oracle.exists() else {}
    current: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        url = f"sqlite+aiosqlite:///{scratch / 'bench.db'}"
        await upgrade(url)
        database = Database(url)
        if args.model == "scripted":
            gateway = build_gateway(database, ScriptedProvider(_oracle(current), name="scripted"))
            model = "sophia/coding"
        else:  # `local` (the bundled model) or a model of sophia.toml, through the real gateway
            gateway = await build_settings_gateway(load_settings(), database)
            model = args.model
        rows = []
        for task in tasks:
            current["fix"] = fixes.get(task["id"], "")
            source = _checkout(task, args.tasks.parent, scratch)
            row = await _one(database, gateway, task, source, scratch, model, python)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out is not None:  # a partial run keeps the tasks it finished
                with args.out.open("a") as out:
                    out.write(json.dumps(row) + "\n")
        await gateway.aclose()
        await database.close()
    n = len(rows)
    resolved = sum(r["resolved"] for r in rows)
    print(
        f"model={args.model} python={python or sys.prefix} tasks={n} resolved_rate={resolved / max(n, 1):.3f} "
        f"mean_steps={sum(r['steps'] for r in rows) / max(n, 1):.1f} cost=${sum(r['cost'] for r in rows):.4f} "
        f"wall={sum(r['seconds'] for r in rows):.1f}s edits_clean={sum(r['edits_clean'] for r in rows)}/{n} "
        f"tests_detected={sum(r['tests_detected'] for r in rows)}/{n} "
        f"loop_resolved={sum(r['loop_resolved'] for r in rows)}/{n} "
        f"failing_before={sum(r['failing_before'] for r in rows)}/{n} weakened={sum(r['weakened'] for r in rows)}"
    )
    print(f"coding: resolved={resolved}/{n}")


if __name__ == "__main__":
    asyncio.run(main())
