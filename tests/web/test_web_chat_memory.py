"""Chat with memory: the answer is given the user's memories, cites them, and the turn is remembered."""

from __future__ import annotations

import re

from tests.web.conftest import WebStack
from tests.web.test_web_routes import _start_chat


async def test_an_answer_gets_my_memories_as_cited_notes_and_the_turn_is_remembered(stack: WebStack) -> None:
    mia, max_ = f"user:{stack.users['mia']}", f"user:{stack.users['max']}"
    mine = await stack.memory.remember("My favourite colour is teal", namespace=mia, kind="preference")
    await stack.memory.remember("My favourite colour is orange", namespace=max_, kind="preference")
    client, csrf = await stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "what is my favourite colour?")
        stream = await client.get(f"/chat/{cid}/messages/{mid}/stream")
    events = re.findall(r"^event: (\w+)$", stream.text, re.M)
    assert events[:2] == ["citations", "meta"] and events[-1] == "done" and "token" in events
    assert f'href="/memory/{mine}"' in stream.text and 'data-citation="M1"' in stream.text

    (body,) = stack.provider.calls
    system = body["messages"][0]
    assert system["role"] == "system" and "[M1] (preference) My favourite colour is teal" in system["content"]
    assert "orange" not in str(body["messages"])  # another member's memory never reaches the prompt

    remembered = await stack.memory.recall("favourite colour question", [mia], kinds=["conversation"])
    assert {"what is my favourite colour?", "You said: what is my favourite colour?"} <= {
        hit.memory.content for hit in remembered
    }
    assert await stack.memory.recall("what is my favourite colour", [max_], kinds=["conversation"]) == []


async def test_chat_without_memories_sends_no_notes_and_still_streams(stack: WebStack) -> None:
    client, csrf = await stack.signed_in("max")
    async with client:
        cid, mid = await _start_chat(client, csrf, "hello")
        stream = await client.get(f"/chat/{cid}/messages/{mid}/stream")
    assert "event: citations" not in stream.text and "event: done" in stream.text
    (body,) = stack.provider.calls
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "What you remember" not in body["messages"][0]["content"]  # no notes when nothing was recalled


async def test_citations_are_saved_with_the_answer_and_shown_after_a_reload(stack: WebStack) -> None:
    mia = f"user:{stack.users['mia']}"
    mine = await stack.memory.remember("My dog is called Biscuit", namespace=mia, kind="fact")
    client, csrf = await stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "what is my dog called?")
        await client.get(f"/chat/{cid}/messages/{mid}/stream")
        page = await client.get(f"/chat/{cid}")
    answer = page.text[page.text.index(f'id="m-{mid}"') :]
    assert f'href="/memory/{mine}"' in answer and 'data-citation="M1"' in answer
    (message,) = [
        m for m in await stack.app.state.web.conversations.messages(stack.users["mia"], cid) if m.id == mid
    ]
    assert message.status == "done" and [(c.ref, c.id) for c in message.citations] == [("M1", mine)]


async def test_the_answer_is_given_the_conversation_so_far_and_shows_model_tokens_and_cost(
    stack: WebStack,
) -> None:
    client, csrf = await stack.signed_in("max")
    async with client:
        cid, first = await _start_chat(client, csrf, "my name is Max")
        await client.get(f"/chat/{cid}/messages/{first}/stream")
        sent = await client.post(
            f"/chat/{cid}/messages", data={"content": "what is my name?", "csrf_token": csrf, "model": "auto"}
        )
        second = int(re.findall(r'id="m-(\d+)"', sent.text)[-1])
        stream = await client.get(f"/chat/{cid}/messages/{second}/stream")
    body = stack.provider.calls[-1]
    assert [(m["role"], m["content"]) for m in body["messages"][1:]] == [
        ("user", "my name is Max"),
        ("assistant", "You said: my name is Max"),
        ("user", "what is my name?"),
    ]
    (message,) = [
        m for m in await stack.app.state.web.conversations.messages(stack.users["max"], cid) if m.id == second
    ]
    assert message.model and message.input_tokens > 0 and message.output_tokens > 0 and message.cost_usd >= 0
    done = stream.text[stream.text.index("event: done") :]
    assert message.model in done and "tokens" in done
