"""Thumbs on a chat answer: the score reaches the router's quality estimate for the answer's task and model."""

from __future__ import annotations

import re

from tests.web.conftest import WebStack
from tests.web.test_web_routes import _start_chat


async def test_thumbs_up_on_an_answer_is_feedback_for_its_model_and_only_its_owner_may_give_it(
    stack: WebStack,
) -> None:
    client, csrf = await stack.signed_in("mia")
    async with client:
        cid, mid = await _start_chat(client, csrf, "write a poem about the sea")
        await client.get(f"/chat/{cid}/messages/{mid}/stream")
        await stack.services.gateway.ledger.flush()
        page = await client.get(f"/chat/{cid}")
        assert f'hx-post="/chat/messages/{mid}/feedback"' in page.text
        rated = await client.post(
            f"/chat/messages/{mid}/feedback", data={"score": "1"}, headers={"x-csrf-token": csrf}
        )
        assert rated.status_code == 200 and "thanks" in rated.text
    other, other_csrf = await stack.signed_in("max")
    async with other:
        refused = await other.post(
            f"/chat/messages/{mid}/feedback", data={"score": "0"}, headers={"x-csrf-token": other_csrf}
        )
        assert refused.status_code == 404
    book = stack.services.gateway.router.quality
    ((task, model),) = book.known()
    assert model == "local" and book.estimate(task, model, 0.5).evidence == 1


async def test_the_experiments_page_lists_experiments_with_their_variants_and_curves(stack: WebStack) -> None:
    from sophia.gateway import ExperimentBook

    book = ExperimentBook(stack.services.database)
    await book.create("local-vs-local", "creative", ["a=model:local", "b=model:local"], share=1.0)
    stack.services.gateway.experiments = book
    client, csrf = await stack.signed_in("mia")
    async with client:
        chat = {"csrf_token": csrf, "content": "write a poem about the sea", "model": "sophia/creative"}
        cid = (await client.post("/chat", data=chat)).headers["location"].rsplit("/", 1)[1]
        mid = int(re.findall(r'id="m-(\d+)"', (await client.get(f"/chat/{cid}")).text)[-1])
        await client.get(f"/chat/{cid}/messages/{mid}/stream")
        await stack.services.gateway.ledger.flush()
        await client.post(
            f"/chat/messages/{mid}/feedback", data={"score": "1"}, headers={"x-csrf-token": csrf}
        )
        page = await client.get("/experiments")
    assert page.status_code == 200 and 'id="exp-local-vs-local"' in page.text
    assert "a=model:local" in page.text and "<polyline" in page.text and "running" in page.text
    experiment = await book.get("local-vs-local")
    assert sum(arm.n for arm in experiment.arms.values()) == 1
