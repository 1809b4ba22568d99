"""A real worker process for the pull-request end-to-end test: scripted model, the GitHub connector, Slack.

Usage: python -m tests.connectors.pr_worker DATABASE_URL SYSTEM_URL EXECUTOR_ID TRACE_DIR GITHUB_URL SLACK_URL
The model script is a pure function of the conversation, so a restarted process answers as the first did.
Slack is the real Slack connector against a Slack-shaped stand-in; it also announces every held call with
approve/deny buttons in the approvals channel.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

from sophia.config import ConnectorSettings
from sophia.connectors import ApprovalAnnouncer, Connector, build_connector, register_connector_tools
from sophia.gateway.providers import ScriptedProvider, ScriptedReply, ScriptedToolCall
from sophia.runs import RunRuntime, default_agents
from sophia.secrets import SecretResolver
from sophia.store import Database
from sophia.tools import ApprovalPolicy, ArgumentSealer, ToolInvoker, ToolRegistry
from tests.agents.conftest import build_gateway
from tests.connectors.github_standin import TOKEN
from tests.runs.worker_app import work_until_sigterm

KEY = bytes(range(32))
SLACK_TOKEN = "xoxb-standin-5ecret"
TOOLS = ("github.pulls.create", "slack.chat.post")
APPROVALS_CHANNEL = "C0APPROVALS"
PULL = {"owner": "octo", "repo": "app", "head": "fix-typo", "base": "main", "title": "Fix the typo"}


def connectors(github_url: str, slack_url: str, home: Path) -> tuple[Connector, Connector]:
    secrets = SecretResolver(home, environ={"GH": TOKEN, "SLACK": SLACK_TOKEN})
    github = build_connector(
        "github",
        ConnectorSettings(kind="github", base_url=github_url, credentials={"token": "env:GH"}),
        secrets,
    )
    slack = build_connector(
        "slack",
        ConnectorSettings(
            kind="slack",
            base_url=slack_url,
            credentials={"token": "env:SLACK"},
            options={"approvals_channel": APPROVALS_CHANNEL},
        ),
        secrets,
    )
    return github, slack


def registry(github_url: str, slack_url: str, home: Path) -> ToolRegistry:
    tools = ToolRegistry()
    for connector in connectors(github_url, slack_url, home):
        register_connector_tools(tools, connector)
    return tools


def script(trace: Path) -> Any:
    def answer(body: dict[str, Any]) -> Any:
        done = [str(m["content"]) for m in body["messages"] if m["role"] == "tool"]
        with (trace / "model.log").open("a") as log:
            log.write(json.dumps({"tools_done": len(done)}) + "\n")
        if not done or "interrupted" in done[-1]:
            return ScriptedReply(tool_calls=[ScriptedToolCall("github_pulls_create", PULL)])
        url = re.search(r"https://github\.com/octo/app/pull/\d+", done[-1])
        if url and len(done) < 4 and not any('"ts"' in d for d in done):
            text = f"Opened {url.group(0)}"
            return ScriptedReply(
                tool_calls=[ScriptedToolCall("slack_chat_post", {"channel": "C1", "text": text})]
            )
        return "done: " + done[-1]

    return answer


async def main(
    database_url: str, system_url: str, executor_id: str, trace: Path, gh: str, slack: str
) -> None:
    database = Database(database_url)
    gateway = build_gateway(database, ScriptedProvider(script(trace), name="scripted"))
    gateway.ledger.start()
    github, slack_connector = connectors(gh, slack, trace)
    tools = ToolRegistry()
    register_connector_tools(tools, github)
    register_connector_tools(tools, slack_connector)
    policy = ApprovalPolicy({"slack.chat.post": {"*": "auto"}})
    invoker = ToolInvoker(
        tools,
        database,
        policy=policy,
        sealer=ArgumentSealer(KEY),
        notifiers=[ApprovalAnnouncer([github, slack_connector])],
    )
    agents = default_agents(tools)
    agents["chat"] = type(agents["chat"])("chat", "test agent", tools=TOOLS)
    runtime = RunRuntime(database, gateway, invoker, agents, approval_poll_seconds=0.5)
    await work_until_sigterm(runtime, system_url, executor_id, trace, gateway, database)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5], sys.argv[6]))
