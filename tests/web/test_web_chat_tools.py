"""The web chat has the tools, under the user's approval policy: a held call shows approve and deny in the
chat, and approving it lets the same turn go on. The Approvals page decides calls held anywhere."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sophia.accounts import Role
from sophia.server.web import WebOptions
from sophia.tools import ApprovalRequired, ToolContext
from tests.agents.conftest import call, tool_messages
from tests.web.conftest import PASSWORD, WebStack, build_stack
from tests.web.test_web_routes import _start_chat


def script(body: dict[str, Any]) -> Any:
    """The agent step (tools offered) writes notes.txt, then reports; the streamed answer repeats the findings."""
    if body.get("tools"):
        done = tool_messages(body)
        return call("workspace.write", path="notes.txt", content="hello") if not done else "wrote: " + done[0]
    system = str(body["messages"][0]["content"])
    return "Answer. " + system[system.find("What your tools found") :][:300]


@pytest.fixture
async def tool_stack(
    _isolated_sophia_home: Path, _sqlite_template: Path, web_options: WebOptions
) -> AsyncIterator[WebStack]:
    stack, close = await build_stack(_isolated_sophia_home, _sqlite_template, web_options, script)
    try:
        async with stack.app.router.lifespan_context(stack.app):
            for name, role in (("ada", Role.ADMIN), ("mia", Role.MEMBER), ("max", Role.MEMBER)):
                stack.users[name] = (await stack.services.accounts.create_user(name, role, None, PASSWORD)).id
            yield stack
    finally:
        await close()


async def _pending(stack: WebStack) -> list[Any]:
    invoker = stack.services.toolkit().invoker
    for _ in range(200):
        found = await invoker.approvals(status="pending")
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("no call was held")


async def test_a_held_chat_tool_call_is_approved_in_the_chat_and_the_turn_goes_on(
    tool_stack: WebStack, _isolated_sophia_home: Path
) -> None:
    client, csrf = await tool_stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "write a file notes.txt that says hello")
        streaming = asyncio.ensure_future(client.get(f"/chat/{cid}/messages/{mid}/stream"))
        (held,) = await _pending(tool_stack)
        assert (held.tool, held.resumed_by, held.requested_by_user_id) == (
            "workspace.write",
            "chat",
            tool_stack.users["mia"],
        )
        written = _isolated_sophia_home / "workspaces" / f"chat_{cid}" / "notes.txt"
        assert not written.exists()  # nothing runs before the person decides
        decided = await client.post(
            f"/approvals/{held.id}/approve", headers={"x-csrf-token": csrf, "hx-request": "true"}
        )
        assert decided.status_code == 200 and "approved" in decided.text
        stream = await asyncio.wait_for(streaming, 30)
    events = re.findall(r"^event: (\w+)$", stream.text, re.M)
    assert "approval" in events and events.index("approval") < events.index("done")
    assert (
        f'data-approval="{held.id}"' in stream.text
        and f'hx-post="/approvals/{held.id}/approve"' in stream.text
    )
    assert (
        written.read_text(encoding="utf-8") == "hello"
    )  # the approved call ran, once, in the chat's workspace
    assert "wrote:" in stream.text  # and the same turn carried on with what the tool said


async def test_a_denied_chat_call_never_runs_and_the_turn_still_answers(
    tool_stack: WebStack, _isolated_sophia_home: Path
) -> None:
    client, csrf = await tool_stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "write a file notes.txt that says hello")
        streaming = asyncio.ensure_future(client.get(f"/chat/{cid}/messages/{mid}/stream"))
        (held,) = await _pending(tool_stack)
        denied = await client.post(f"/approvals/{held.id}/deny", headers={"x-csrf-token": csrf})
        assert denied.status_code == 303
        stream = await asyncio.wait_for(streaming, 30)
    assert "event: done" in stream.text and "denied" in stream.text
    assert not (_isolated_sophia_home / "workspaces" / f"chat_{cid}" / "notes.txt").exists()


async def test_the_approvals_page_runs_a_call_held_outside_any_run_and_shows_only_my_own(
    tool_stack: WebStack, tmp_path: Path, _isolated_sophia_home: Path
) -> None:
    workspace = _isolated_sophia_home / "workspaces" / "mcp-call"
    workspace.mkdir(parents=True)
    mia = ToolContext(user_id=tool_stack.users["mia"], user_name="mia", role=Role.MEMBER, workspace=workspace)
    with pytest.raises(ApprovalRequired) as raised:  # as an MCP client's write would be held
        await tool_stack.services.toolkit().invoker.invoke(
            "workspace.write", {"path": "from-mcp.txt", "content": "via the page"}, mia
        )
    approval_id = raised.value.approval.id

    other, other_csrf = await tool_stack.signed_in("max")
    async with other:
        assert approval_id not in (await other.get("/approvals")).text
        refused = await other.post(f"/approvals/{approval_id}/approve", headers={"x-csrf-token": other_csrf})
        assert refused.status_code == 404 and not (workspace / "from-mcp.txt").exists()

    client, csrf = await tool_stack.signed_in("mia")
    async with client:
        page = await client.get("/approvals")
        assert page.status_code == 200 and f'data-approval="{approval_id}"' in page.text
        assert "Requested outside a run" in page.text and 'href="/approvals"' in page.text
        no_token = await client.post(f"/approvals/{approval_id}/approve")
        assert no_token.status_code == 403 and not (workspace / "from-mcp.txt").exists()
        decided = await client.post(
            f"/approvals/{approval_id}/approve", headers={"x-csrf-token": csrf, "hx-request": "true"}
        )
        assert decided.status_code == 200 and "Ran:" in decided.text
        assert approval_id not in (await client.get("/approvals")).text  # no longer pending
        assert approval_id in (await client.get("/approvals?status=all")).text
    assert (workspace / "from-mcp.txt").read_text(encoding="utf-8") == "via the page"


async def test_v1_approvals_lists_my_held_calls_and_approving_one_runs_it(
    tool_stack: WebStack, _isolated_sophia_home: Path
) -> None:
    accounts = tool_stack.services.accounts
    keys = {name: (await accounts.create_api_key(tool_stack.users[name], "k"))[1] for name in ("mia", "max")}
    workspace = _isolated_sophia_home / "workspaces" / "api-call"
    workspace.mkdir(parents=True)
    mia = ToolContext(user_id=tool_stack.users["mia"], user_name="mia", role=Role.MEMBER, workspace=workspace)
    with pytest.raises(ApprovalRequired) as raised:
        await tool_stack.services.toolkit().invoker.invoke(
            "workspace.write", {"path": "api.txt", "content": "over http"}, mia
        )
    approval_id = raised.value.approval.id
    async with tool_stack.client() as client:
        mine = await client.get("/v1/approvals", headers={"Authorization": f"Bearer {keys['mia']}"})
        theirs = await client.get("/v1/approvals", headers={"Authorization": f"Bearer {keys['max']}"})
        assert [a["id"] for a in mine.json()["data"]] == [approval_id] and theirs.json()["data"] == []
        assert (await client.get("/v1/approvals")).status_code == 401
        approved = await client.post(
            f"/v1/approvals/{approval_id}/approve",
            json={},
            headers={"Authorization": f"Bearer {keys['mia']}"},
        )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["execution"] == "succeeded"
    assert (workspace / "api.txt").read_text(encoding="utf-8") == "over http"


async def test_a_turn_stopped_while_waiting_hands_its_call_to_the_approvals_page(
    tool_stack: WebStack, _isolated_sophia_home: Path
) -> None:
    client, csrf = await tool_stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "write a file notes.txt that says hello")
        streaming = asyncio.ensure_future(client.get(f"/chat/{cid}/messages/{mid}/stream"))
        (held,) = await _pending(tool_stack)
        stopped = await client.post(f"/chat/messages/{mid}/stop", headers={"x-csrf-token": csrf})
        assert stopped.status_code == 204
        stream = await asyncio.wait_for(streaming, 30)
        assert "event: done" in stream.text and "stopped" in stream.text
        record = await tool_stack.services.toolkit().invoker.approval(held.id)
        assert (record.status, record.resumed_by) == ("pending", None)  # nobody waits for it any more
        written = _isolated_sophia_home / "workspaces" / f"chat_{cid}" / "notes.txt"
        assert not written.exists()
        decided = await client.post(
            f"/approvals/{held.id}/approve", headers={"x-csrf-token": csrf, "hx-request": "true"}
        )
    assert decided.status_code == 200 and "Ran:" in decided.text
    assert written.read_text(encoding="utf-8") == "hello"
