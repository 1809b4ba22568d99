"""The memory page: search with reasons, open, forget; a member never reaches another member's memories."""

from __future__ import annotations

import re

from tests.web.conftest import WebStack

_HIT = re.compile(r'data-memory="([^"]+)"')


async def _seed(stack: WebStack) -> tuple[str, str]:
    mia, max_ = stack.users["mia"], stack.users["max"]
    mine = await stack.memory.remember(
        "The launch moved to Friday <script>window.pwned=1</script>", namespace=f"user:{mia}", importance=0.9
    )
    theirs = await stack.memory.remember("Max's launch password hint is the cat", namespace=f"user:{max_}")
    return mine, theirs


async def test_search_shows_only_my_memories_with_why_they_were_recalled(stack: WebStack) -> None:
    mine, theirs = await _seed(stack)
    client, _ = await stack.signed_in("mia")
    async with client:
        page = await client.get("/memory", params={"q": "launch"})
    assert page.status_code == 200
    assert _HIT.findall(page.text) == [mine]
    assert "password hint" not in page.text
    for reason in ("Keyword", "Meaning", "Recency", "Importance", "Final"):
        assert f"<dt>{reason}</dt>" in page.text
    assert "<script>window.pwned" not in page.text and "&lt;script&gt;" in page.text


async def test_open_then_forget_my_memory_needs_csrf_and_removes_it_from_recall(stack: WebStack) -> None:
    mine, _ = await _seed(stack)
    client, csrf = await stack.signed_in("mia")
    async with client:
        opened = await client.get(f"/memory/{mine}")
        assert opened.status_code == 200 and "The launch moved to Friday" in opened.text
        assert (await client.post(f"/memory/{mine}/forget", data={})).status_code == 403
        forgot = await client.post(f"/memory/{mine}/forget", data={"csrf_token": csrf, "q": "launch"})
        assert forgot.status_code == 303 and "forgot=1" in forgot.headers["location"]
        after = await client.get(forgot.headers["location"])
    assert "Forgotten" in after.text and _HIT.findall(after.text) == []
    assert await stack.memory.recall("launch Friday", [f"user:{stack.users['mia']}"]) == []


async def test_an_admin_may_search_any_namespace_and_a_viewer_cannot_forget(stack: WebStack) -> None:
    mine, theirs = await _seed(stack)
    admin, _ = await stack.signed_in("ada")
    async with admin:
        page = await admin.get("/memory", params={"q": "launch", "ns": f"user:{stack.users['max']}"})
        assert _HIT.findall(page.text) == [theirs]
        malformed = await admin.get("/memory", params={"q": "launch", "ns": "users/../all"})
        assert malformed.status_code == 403
    viewer, csrf = await stack.signed_in("vic")
    async with viewer:
        assert (await viewer.post(f"/memory/{mine}/forget", data={"csrf_token": csrf})).status_code == 403


async def test_graph_view_shows_my_entitys_relationships_and_history_only(stack: WebStack) -> None:
    mia, max_ = stack.users["mia"], stack.users["max"]
    first = await stack.memory.remember("Dana owns the Acme account.", namespace=f"user:{mia}")
    await stack.memory.remember("Priya owns the Acme account <b>now</b>.", namespace=f"user:{mia}")
    await stack.memory.remember("Zed owns the Acme account.", namespace=f"user:{max_}")
    client, _ = await stack.signed_in("mia")
    async with client:
        page = await client.get("/memory/graph", params={"entity": "acme"})
        other = await client.get("/memory/graph", params={"entity": "acme", "ns": f"user:{max_}"})
    assert page.status_code == 200 and 'data-entity="Acme"' in page.text
    rows = re.findall(
        r'<tr class="edge (current|closed)" data-relation="owns">\s*<td><a [^>]*>(\w+)</a>', page.text
    )
    assert rows == [("closed", "Dana"), ("current", "Priya")]
    assert f'href="/memory/{first}?' in page.text and "Zed" not in page.text
    assert other.status_code == 403
