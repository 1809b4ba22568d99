"""Linear against its GraphQL stand-in (real HTTP on 127.0.0.1): actions, paging, errors, rate limits, sync."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sophia.config import ConnectorSettings
from sophia.connectors import (
    Connector,
    ConnectorAuthError,
    ConnectorInvalid,
    ConnectorRateLimited,
    SyncEngine,
    build_connector,
)
from sophia.memory import HashingEmbedder, MemoryService
from sophia.secrets import SecretResolver
from sophia.store import Database
from tests.connectors.linear_standin import TOKEN, LinearStandIn
from tests.serving import serve_app


@pytest.fixture
def standin() -> Iterator[tuple[LinearStandIn, str]]:
    service = LinearStandIn()
    service.seed(7)
    with serve_app(service.app()) as url:
        yield service, url


def _linear(tmp_path: Path, url: str, token: str = TOKEN, **options: object) -> Connector:
    settings = ConnectorSettings(
        kind="linear", base_url=url, credentials={"token": "env:LINEAR_TOKEN"}, options=dict(options)
    )
    return build_connector("linear", settings, SecretResolver(tmp_path, environ={"LINEAR_TOKEN": token}))


@pytest.fixture
async def linear(tmp_path: Path, standin: tuple[LinearStandIn, str]) -> AsyncIterator[Connector]:
    connector = _linear(tmp_path, standin[1], sync_page_size=3)
    try:
        yield connector
    finally:
        await connector.aclose()


async def test_issues_page_through_page_info_and_filters_reach_linear(
    linear: Connector, standin: tuple[LinearStandIn, str]
) -> None:
    service, _ = standin
    issues = await linear.issues(team_key="ENG", state="Todo", limit=5)  # type: ignore[attr-defined]
    assert len(issues) == 5 and issues[0]["identifier"] == "ENG-7"  # newest change first
    sent = service.requests[-1]
    assert sent["authorization"] == TOKEN  # a personal key: no "Bearer"
    assert sent["body"]["operationName"] == "Issues"
    assert sent["body"]["variables"]["filter"] == {
        "team": {"key": {"eq": "ENG"}},
        "state": {"name": {"eq": "Todo"}},
    }
    assert "pageInfo { hasNextPage endCursor }" in sent["body"]["query"]
    assert (await linear.teams())[0]["key"] == "ENG"  # type: ignore[attr-defined]
    assert (await linear.projects())[0]["name"] == "Billing revamp"  # type: ignore[attr-defined]
    assert (await linear.cycles(team_key="ENG"))[0]["number"] == 7  # type: ignore[attr-defined]
    state = linear.http.gate.state()
    assert state.limit == 250000 or state.limit == 5000  # the tightest of the two budgets Linear reports


async def test_create_move_and_comment_send_the_documented_mutations(
    linear: Connector, standin: tuple[LinearStandIn, str]
) -> None:
    service, _ = standin
    made = await linear.create_issue(team_id="team-ENG", title="Refund fails", description="Steps")  # type: ignore[attr-defined]
    assert made["identifier"] == "ENG-8" and service.issues[made["id"]]["description"] == "Steps"
    moved = await linear.update_state(issue_id=made["id"], state_id="state-started")  # type: ignore[attr-defined]
    assert moved["state"]["name"] == "In Progress"
    await linear.comment(issue_id=made["id"], body="On it")  # type: ignore[attr-defined]
    assert service.comments[-1]["issueId"] == made["id"] and service.comments[-1]["body"] == "On it"
    with pytest.raises(ConnectorInvalid, match="needs a title"):
        await linear.create_issue(team_id="team-ENG", title="  ")  # type: ignore[attr-defined]


async def test_errors_are_typed_with_linears_words(
    tmp_path: Path, linear: Connector, standin: tuple[LinearStandIn, str]
) -> None:
    service, url = standin
    wrong = _linear(tmp_path, url, token="lin_api_wrong")
    try:
        with pytest.raises(ConnectorAuthError, match="not authenticated"):
            await wrong.check()
    finally:
        await wrong.aclose()
    service.rate_limited = True
    with pytest.raises(ConnectorRateLimited, match="Rate limit exceeded") as caught:
        await linear.teams()  # type: ignore[attr-defined]
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000


async def test_sync_writes_issues_then_only_what_changed_and_notices_deletions(
    database: Database, linear: Connector, standin: tuple[LinearStandIn, str]
) -> None:
    service, _ = standin
    memory = await MemoryService.open(database, HashingEmbedder(dimensions=64))
    try:
        engine = SyncEngine(database, memory)
        first = await engine.run("linear", linear)  # type: ignore[arg-type]
        assert first.totals()["written"] == 7 and first.totals()["pages"] == 3
        hits = await memory.recall("Issue number 3 billing", namespaces="connector:linear", k=10)
        by_url = {h.memory.metadata["url"]: h.memory.content for h in hits}
        assert len(by_url) == 7
        assert by_url["https://linear.app/acme/issue/ENG-4"].startswith("Linear issue ENG-4: Issue number 3")
        service.add_issue("New outage in checkout")
        del service.issues[next(iter(service.issues))]
        again = await engine.run("linear", linear)  # type: ignore[arg-type]
        assert again.totals()["written"] == 1 and again.totals()["deleted"] == 1
        since = service.requests[-2]["body"]["variables"]["filter"]["updatedAt"]["gt"]
        assert since.startswith("2026-04-01T06:00:00")  # incremental: since the newest issue of the first run
        from sophia.business import BusinessStore

        items = await BusinessStore(database).rows("work_items", source="linear")
        assert len(items) == 7 and {i["project"] for i in items} == {"Billing revamp"}
        assert any(i["assignee"] == "ada@acme.test" and i["due_at"] is not None for i in items)
    finally:
        await memory.close()
