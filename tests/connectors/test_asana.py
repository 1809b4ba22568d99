"""Asana against a double checked by Asana's own OpenAPI document (trimmed): paging, writes, 429, sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.business import WorkItem
from sophia.connectors import ConnectorInvalid, Syncable
from tests.connectors.infra_kit import DATA, connect
from tests.connectors.openapi import OpenApi, SpecService

TOKEN = "2/1200000000000000/asana-pat-5ecret-fake"
SPEC = OpenApi(DATA / "asana" / "openapi.json", base="/api/1.0")
PROJECT = "1200000000000001"


def _task(gid: str, name: str, *, completed: bool = False, section: str = "Doing") -> dict[str, Any]:
    return {
        "gid": gid,
        "resource_type": "task",
        "name": name,
        "completed": completed,
        "completed_at": "2026-11-30T10:00:00.000Z" if completed else None,
        "created_at": "2026-11-01T09:00:00.000Z",
        "modified_at": "2026-12-01T12:30:00.000Z",
        "due_on": "2026-12-10",
        "due_at": None,
        "notes": "Ask the customer about the SSO rollout.",
        "permalink_url": f"https://app.asana.com/0/{PROJECT}/{gid}",
        "assignee": {"gid": "12", "resource_type": "user", "name": "Greg Sanchez"},
        "memberships": [
            {
                "project": {"gid": PROJECT, "resource_type": "project", "name": "Onboarding"},
                "section": {"gid": "77", "resource_type": "section", "name": section},
            }
        ],
    }


TASKS = [
    _task("301", "Kick-off call"),
    _task("302", "Send contract", completed=True),
    _task("303", "SSO setup"),
]


def _routes() -> dict[tuple[str, str], Any]:
    def tasks(request: httpx.Request) -> Any:
        offset = request.url.params.get("offset")
        if offset is None:
            return {
                "data": TASKS[:2],
                "next_page": {
                    "offset": "eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9",
                    "path": "/tasks?offset=eyJ0",
                    "uri": "https://app.asana.com/api/1.0/tasks?offset=eyJ0",
                },
            }
        return {"data": TASKS[2:], "next_page": None}

    def created(request: httpx.Request) -> Any:
        data = json.loads(request.content)["data"]
        return 201, {}, {"data": {**_task("399", data["name"]), "notes": data.get("notes", "")}}

    def updated(request: httpx.Request) -> Any:
        done = json.loads(request.content)["data"]["completed"]
        return {"data": _task("301", "Kick-off call", completed=done)}

    return {
        ("GET", "/users/{user_gid}"): {
            "data": {"gid": "12", "resource_type": "user", "name": "Greg Sanchez"}
        },
        ("GET", "/workspaces"): {
            "data": [{"gid": "1000", "resource_type": "workspace", "name": "My Company Workspace"}],
            "next_page": None,
        },
        ("GET", "/workspaces/{workspace_gid}/projects"): {
            "data": [{"gid": PROJECT, "resource_type": "project", "name": "Onboarding"}],
            "next_page": None,
        },
        ("GET", "/projects/{project_gid}/sections"): {
            "data": [
                {"gid": "76", "resource_type": "section", "name": "To do"},
                {"gid": "77", "resource_type": "section", "name": "Doing"},
            ],
            "next_page": None,
        },
        ("GET", "/tasks"): tasks,
        ("POST", "/tasks"): created,
        ("PUT", "/tasks/{task_gid}"): updated,
        ("POST", "/sections/{section_gid}/addTask"): {"data": {}},
        ("POST", "/tasks/{task_gid}/stories"): (
            201,
            {},
            {
                "data": {
                    "gid": "501",
                    "resource_type": "story",
                    "text": "Done on our side",
                    "created_at": "2026-12-07T07:00:00.000Z",
                    "type": "comment",
                }
            },
        ),
    }


@pytest.fixture
def service() -> SpecService:
    return SpecService(SPEC, _routes())


def _asana(home: Path, service: SpecService) -> Any:
    return connect(home, "asana", TOKEN, service, options={"workspace": "1000"})


async def test_tasks_follow_next_page_offset_with_the_pat(home: Path, service: SpecService) -> None:
    asana = _asana(home, service)
    found = await asana.tasks(PROJECT, include_completed=True)
    assert [t["gid"] for t in found] == ["301", "302", "303"]
    assert found[0]["section"] == "Doing" and found[0]["assignee"] == "Greg Sanchez"
    sent = service.sent("GET", "/tasks")
    assert [r.url.params.get("offset") for r in sent] == [None, "eyJ0eXAiOJiKV1iQLCJhbGciOiJIUzI1NiJ9"]
    assert sent[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert sent[0].url.params["project"] == PROJECT and "completed_since" not in sent[0].url.params
    await asana.tasks(PROJECT)
    assert service.sent("GET", "/tasks")[-1].url.params["completed_since"] == "now"


async def test_workspaces_projects_and_sections_list(home: Path, service: SpecService) -> None:
    asana = _asana(home, service)
    assert await asana.workspaces() == [{"gid": "1000", "name": "My Company Workspace"}]
    projects = await asana.projects()
    assert projects[0]["gid"] == PROJECT and service.requests[-1].url.path.endswith(
        "/workspaces/1000/projects"
    )
    assert [s["name"] for s in await asana.sections(PROJECT)] == ["To do", "Doing"]
    assert (await asana.check()).ok


async def test_create_complete_and_comment_send_documented_bodies(home: Path, service: SpecService) -> None:
    asana = _asana(home, service)
    task = await asana.create_task("Renewal prep", PROJECT, notes="Q1", due_on="2026-12-20", section="76")
    body = json.loads(service.sent("POST", "/tasks")[0].content)
    assert body == {
        "data": {
            "name": "Renewal prep",
            "projects": [PROJECT],
            "notes": "Q1",
            "due_on": "2026-12-20",
        }
    }
    assert json.loads(service.sent("POST", "/sections/76/addTask")[0].content) == {"data": {"task": "399"}}
    assert task["gid"] == "399"
    done = await asana.complete_task("301")
    assert done["completed"] is True
    assert json.loads(service.sent("PUT", "/tasks/301")[0].content) == {"data": {"completed": True}}
    story = await asana.comment("301", "Done on our side")
    assert story["gid"] == "501"
    with pytest.raises(ConnectorInvalid):
        await asana.comment("301", "  ")


async def test_a_429_waits_retry_after_then_succeeds(home: Path, service: SpecService) -> None:
    asana = _asana(home, service)
    service.fail(
        (429, {"Retry-After": "7"}, {"errors": [{"message": "You have made too many requests recently."}]})
    )
    assert len(await asana.workspaces()) == 1
    assert 7.0 in asana.http._sleep.delays and len(service.sent("GET", "/workspaces")) == 2


async def test_sync_pages_tasks_project_by_project_into_work_items(home: Path, service: SpecService) -> None:
    asana = _asana(home, service)
    assert isinstance(asana, Syncable) and list(asana.sync_streams()) == ["tasks"]
    since = datetime(2026, 11, 1, tzinfo=UTC)
    first = await asana.sync_page("tasks", None, since=since)
    assert [r.id for r in first.records] == ["301", "302"] and not first.done
    assert service.sent("GET", "/tasks")[0].url.params["modified_since"] == "2026-11-01T00:00:00Z"
    second = await asana.sync_page("tasks", first.cursor, since=since)
    assert [r.id for r in second.records] == ["303"] and second.done
    assert "Greg Sanchez" in first.records[0].text and first.records[0].url.endswith("/301")
    items = [e for r in [*first.records, *second.records] for e in asana.to_business(r)]
    assert all(isinstance(i, WorkItem) for i in items)
    done = items[1]
    assert isinstance(done, WorkItem) and done.state == "completed" and done.completed_at is not None
    assert items[0].project == "Onboarding" and items[0].due_at == datetime(2026, 12, 10, tzinfo=UTC)
    assert await asana.sync_live_ids("tasks") == {"301", "302", "303"}
