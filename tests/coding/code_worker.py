"""A real worker process for the coding kill-and-resume test: scripted coder, the GitHub connector, a bare remote.

Usage: python -m tests.coding.code_worker DATABASE_URL SYSTEM_URL EXECUTOR_ID TRACE_DIR GITHUB_URL REMOTE
The model answers the edit prompt with the known fix and the review prompt with APPROVE; while TRACE/hold-review
exists, the review call touches TRACE/holding-review and never returns (the test SIGKILLs the process there,
after the edit was applied and checked). Every model call is appended to TRACE/model.log.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from sophia.coding import CodeTools, CodingOrchestrator, github_delivery, register_code_tools
from sophia.config import ConnectorSettings
from sophia.connectors import Connector, build_connector
from sophia.gateway.providers import ScriptedProvider
from sophia.runs import RunRuntime, default_agents
from sophia.secrets import SecretResolver
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ArgumentSealer, ToolInvoker, ToolRegistry
from tests.agents.conftest import build_gateway
from tests.coding.conftest import FIX
from tests.connectors.github_standin import TOKEN
from tests.runs.worker_app import KEY, work_until_sigterm


def script(trace: Path) -> Any:
    def answer(body: dict[str, Any]) -> str:
        review = str(body["messages"][0]["content"]).startswith("You review")
        with (trace / "model.log").open("a") as log:
            log.write(json.dumps({"purpose": "review" if review else "edit"}) + "\n")
        if not review:
            return FIX
        if (trace / "hold-review").exists():
            (trace / "holding-review").touch()
            while True:  # blocks this worker's loop until the test kills it
                time.sleep(0.05)
        return "APPROVE"

    return answer


def tools(github_url: str, remote: str, home: Path) -> tuple[ToolRegistry, Connector]:
    """The code tools delivering through a GitHub connector (close the connector when done)."""
    connector = build_connector(
        "github",
        ConnectorSettings(
            kind="github", base_url=github_url, credentials={"token": "env:GH"}, options={"git_url": remote}
        ),
        SecretResolver(home, environ={"GH": TOKEN}),
    )
    code = CodeTools(github=github_delivery([connector], None), github_repo="octo/app")
    return register_code_tools(ToolRegistry(), code), connector


async def main(
    database_url: str, system_url: str, executor_id: str, trace: Path, github_url: str, remote: str
) -> None:
    database = Database(database_url)
    gateway = build_gateway(database, ScriptedProvider(script(trace), name="scripted"))
    registry, _ = tools(github_url, remote, trace)
    invoker = ToolInvoker(
        registry, database, policy=ApprovalPolicy({"code.*": {"*": "auto"}}), sealer=ArgumentSealer(KEY)
    )
    coder = CodingOrchestrator(gateway, invoker, None)
    runtime = RunRuntime(
        database, gateway, invoker, default_agents(registry), kinds={"code": coder}, approval_poll_seconds=0.5
    )
    await work_until_sigterm(runtime, system_url, executor_id, trace, gateway, database)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5], sys.argv[6]))
