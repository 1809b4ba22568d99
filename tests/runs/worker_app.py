"""A real `sophia worker` process for the durable-run tests: scripted model, tools that leave traces on disk.

Usage: python -m tests.runs.worker_app DATABASE_URL SYSTEM_DATABASE_URL EXECUTOR_ID TRACE_DIR
The model script is a pure function of the conversation, so a restarted process answers as the first did.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from sophia.gateway.providers import ScriptedProvider, ScriptedReply, ScriptedToolCall
from sophia.runs import RunRuntime, RunSettings, RunWorker, default_agents
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ArgumentSealer, SideEffect, ToolInvoker, ToolRegistry
from tests.agents.conftest import build_gateway

KEY = bytes(range(32))  # every process of the test shares the sealing key, as one install would


def _log(trace: Path, name: str, line: str) -> None:
    with (trace / name).open("a") as handle:
        handle.write(line + "\n")
        handle.flush()


async def _until(path: Path) -> None:
    while not path.exists():
        await asyncio.sleep(0.05)


def registry(trace: Path) -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("notes.write", group="data", effect=SideEffect.WRITE)
    async def write(title: str, hold: bool = False) -> str:
        """Append a note (a real side effect on disk)."""
        _log(trace, "writes.log", title)
        if hold:
            (trace / "holding").touch()
            await _until(trace / "release")
        return f"wrote {title}"

    @registry.tool("notes.wait", group="data")
    async def wait(title: str) -> str:
        """Block until the test releases it."""
        (trace / "waiting").touch()
        await _until(trace / "release")
        return f"waited {title}"

    @registry.tool("notes.delete", group="data", effect=SideEffect.DESTROY)
    def delete(title: str) -> str:
        """Delete a note (needs approval)."""
        _log(trace, "deletes.log", title)
        return f"deleted {title}"

    return registry


def script(trace: Path) -> Any:
    def answer(body: dict[str, Any]) -> Any:
        task = next(m["content"] for m in body["messages"] if m["role"] == "user")
        done = [m for m in body["messages"] if m["role"] == "tool"]
        _log(trace, "model.log", json.dumps({"task": task, "tools_done": len(done)}))
        plan = {
            "write-then-wait": [("notes_write", {"title": "a"}), ("notes_wait", {"title": "b"})],
            "write-and-hold": [("notes_write", {"title": "a", "hold": True})],
            "delete": [("notes_delete", {"title": "old"})],
        }[str(task)]
        if len(done) < len(plan):
            name, arguments = plan[len(done)]
            return ScriptedReply(tool_calls=[ScriptedToolCall(name, arguments)])
        return "finished: " + " | ".join(str(m["content"]) for m in done)

    return answer


async def main(database_url: str, system_url: str, executor_id: str, trace: Path) -> None:
    database = Database(database_url)
    gateway = build_gateway(database, ScriptedProvider(script(trace), name="scripted"))
    gateway.ledger.start()
    tools = registry(trace)
    policy = ApprovalPolicy({"notes.write": {"*": "auto"}})
    invoker = ToolInvoker(tools, database, policy=policy, sealer=ArgumentSealer(KEY))
    agents = default_agents(tools)
    agents["chat"] = type(agents["chat"])(
        "chat", "test agent", tools=("notes.write", "notes.wait", "notes.delete")
    )
    runtime = RunRuntime(database, gateway, invoker, agents, approval_poll_seconds=2.0)
    await work_until_sigterm(runtime, system_url, executor_id, trace, gateway, database)


async def work_until_sigterm(
    runtime: RunRuntime, system_url: str, executor_id: str, trace: Path, gateway: Any, database: Any
) -> None:
    """Run a worker with fast heartbeats, say `ready-<id>` in `trace`, and stop cleanly on SIGTERM."""
    settings = RunSettings(heartbeat_seconds=0.5, stale_seconds=2.0, queue_poll_seconds=0.2)
    worker = RunWorker(runtime, system_database_url=system_url, executor_id=executor_id, settings=settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await worker.start()
    (trace / f"ready-{executor_id}").touch()
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await gateway.aclose()
        await database.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
