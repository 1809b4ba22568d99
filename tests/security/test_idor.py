"""IDOR: a member reaches nothing of another member's by guessing or reusing its id (conversations, keys,
memories over the dashboard). The REST memory routes have their own such test in
tests/memory/test_memory_http.py, and MCP's in test_roles.py."""

from __future__ import annotations

from tests.web.conftest import WebStack
from tests.web.conftest import empty_stack as empty_stack  # noqa: F401
from tests.web.conftest import stack as stack  # noqa: F401
from tests.web.conftest import web_options as web_options  # noqa: F401
from tests.web.test_web_memory import _seed
from tests.web.test_web_routes import _start_chat


async def test_a_second_member_gets_404_for_every_route_on_anothers_conversation(stack: WebStack) -> None:
    owner, owner_csrf = await stack.signed_in("mia")
    other, csrf = await stack.signed_in("max")
    async with owner, other:
        cid, mid = await _start_chat(owner, owner_csrf, "my secret plans")
        form = {"csrf_token": csrf, "content": "hi", "title": "mine now"}
        responses = [
            await other.get(f"/chat/{cid}"),
            await other.get(f"/chat/{cid}/messages/{mid}/stream"),
            await other.post(f"/chat/{cid}/messages", data=form),
            await other.post(f"/chat/{cid}/rename", data=form),
            await other.post(f"/chat/{cid}/regenerate", data=form),
            await other.post(f"/chat/{cid}/delete", data=form),
            await other.post(f"/chat/messages/{mid}/stop", data=form),
        ]
        listing = await other.get("/chat")
        still_there = await owner.get(f"/chat/{cid}")
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert "my secret plans" not in listing.text
    assert still_there.status_code == 200 and "my secret plans" in still_there.text
    assert stack.provider.calls == []  # the other member's stream request never reached the model


async def test_a_member_cannot_see_or_revoke_another_members_key(stack: WebStack) -> None:
    info, _ = await stack.services.accounts.create_api_key(stack.users["mia"], "mias-key")
    client, csrf = await stack.signed_in("max")
    async with client:
        page = await client.get("/keys")
        revoke = await client.post(f"/keys/{info.id}/revoke", data={"csrf_token": csrf})
    assert "mias-key" not in page.text
    assert revoke.status_code == 404
    assert not (await stack.services.accounts.get_api_key(info.id)).revoked


async def test_a_member_cannot_search_open_or_forget_another_members_memory(stack: WebStack) -> None:
    _, theirs = await _seed(stack)
    other_ns = f"user:{stack.users['max']}"
    client, csrf = await stack.signed_in("mia")
    async with client:
        assert (await client.get("/memory", params={"q": "launch", "ns": other_ns})).status_code == 403
        assert (await client.get(f"/memory/{theirs}")).status_code == 404
        assert (await client.get(f"/memory/{theirs}", params={"ns": other_ns})).status_code == 403
        forget = await client.post(f"/memory/{theirs}/forget", data={"csrf_token": csrf})
        assert forget.status_code == 404
        forget = await client.post(f"/memory/{theirs}/forget", data={"csrf_token": csrf, "ns": other_ns})
        assert forget.status_code == 403
    still = await stack.memory.recall("password hint", [other_ns])
    assert [hit.memory.id for hit in still] == [theirs]
