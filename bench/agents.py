"""Agent steps: CPU per step with `GatewayModel` against the old in-process HTTP path, measured in the same run.

    python bench/agents.py [--runs 200] [--rounds 5]

Each run is one agent on the scripted provider: a model step that calls a tool, the tool step, and a model step
that answers (3 steps). "old" is pydantic-ai's OpenAI chat model talking to the gateway through the OpenAI SDK,
httpx and an in-process transport (JSON out and back), as `sophia.agents` did before `GatewayModel`; "new" calls
the gateway directly. Rounds alternate old and new; the medians of the rounds are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from openai import AsyncOpenAI
from pydantic_ai.models import Model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agents.conftest import build_gateway, call, context, tool_messages  # noqa: E402

from sophia.agents import AgentRunner, AgentSpec, RunSession  # noqa: E402
from sophia.errors import SophiaError  # noqa: E402
from sophia.gateway.providers import ScriptedProvider  # noqa: E402
from sophia.store import Database, upgrade  # noqa: E402
from sophia.tools import ToolInvoker, ToolRegistry  # noqa: E402

SPEC = AgentSpec("notes", "You read notes.", tools=("notes.read",))
STEPS_PER_RUN = 3


class _OldTransport(httpx.AsyncBaseTransport):
    """The removed path: the OpenAI client's HTTP request, decoded and handed to the gateway as one step."""

    def __init__(self, session: RunSession, spec: AgentSpec, tool_names: set[str]) -> None:
        self._state, self._spec, self._tool_names = session.state, spec, tool_names

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        try:
            response = await self._state.model_step(self._spec, body, self._tool_names)
        except SophiaError as error:
            self._state.failure = self._state.failure or error
            return httpx.Response(500, json={"error": {"message": error.message, "type": error.code}})
        return httpx.Response(200, json=response)


class _OldSession(RunSession):
    def model(self, spec: AgentSpec, tool_names: set[str]) -> Model:
        client = AsyncOpenAI(
            base_url="http://sophia-gateway.invalid/v1",
            api_key="in-process",
            max_retries=0,
            http_client=httpx.AsyncClient(transport=_OldTransport(self, spec, tool_names)),  # type: ignore[arg-type]
        )
        return OpenAIChatModel(spec.requested_model, provider=OpenAIProvider(openai_client=client))


def _script(body: dict[str, Any]) -> Any:
    done = tool_messages(body)
    return call("notes.read", title="shopping") if not done else f"The note says: {done[0]}"


def _registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool("notes.read", group="data")
    def read_note(title: str) -> str:
        """Read a note by its title."""
        return f"note {title}: remember the milk"

    return registry


async def _cpu_per_step(runner: AgentRunner, old: bool, runs: int) -> float:
    started = time.process_time()
    for _ in range(runs):
        session = runner.session(context=context())
        if old:
            session = _OldSession(runner, session.state)
        result = await session.run(SPEC, "what is in my shopping note?")
        assert len(result.steps) == STEPS_PER_RUN, result.steps
    return (time.process_time() - started) / (runs * STEPS_PER_RUN)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200, help="agent runs per round and path")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="sophia-bench-agents-"))
    url = f"sqlite+aiosqlite:///{home / 'sophia.db'}"
    await upgrade(url)
    database = Database(url)
    gateway = build_gateway(database, ScriptedProvider(_script, name="scripted"))
    runner = AgentRunner(gateway, ToolInvoker(_registry(), database))
    try:
        await _cpu_per_step(runner, True, 10)  # warm-up: imports, pydantic schemas, SQLite pages
        await _cpu_per_step(runner, False, 10)
        old, new = [], []
        for _ in range(args.rounds):
            old.append(await _cpu_per_step(runner, True, args.runs))
            new.append(await _cpu_per_step(runner, False, args.runs))
    finally:
        await gateway.aclose()
        await database.close()
    old_us, new_us = statistics.median(old) * 1e6, statistics.median(new) * 1e6
    print(f"CPU per agent step (median of {args.rounds} rounds x {args.runs} runs x {STEPS_PER_RUN} steps)")
    print(f"  old (OpenAI SDK + httpx transport): {old_us:8.0f} µs")
    print(f"  new (GatewayModel, direct):        {new_us:8.0f} µs")
    print(f"  ratio new/old: {new_us / old_us:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
