"""Neon against a double answering with the examples of its OpenAPI document; SQL runs on the real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.connectors import (
    ConnectorAuthError,
    ConnectorInvalid,
    ConnectorNotFound,
    ConnectorUnavailable,
    DryRunStop,
    call_scope,
)
from sophia.observability import redactor
from tests.connectors.infra_kit import DATA, connect
from tests.connectors.openapi import OpenApi, SpecService

KEY = "neon-api-key-5ecret-fake"
PASSWORD = "npg_Pa55word5ecret_fake"
SPEC = OpenApi(DATA / "neon" / "openapi.json", base="/api/v2")
P = "/projects/{project_id}"


def _routes(uri: str) -> dict[tuple[str, str], Any]:
    def projects(request: httpx.Request) -> Any:
        page = SPEC.example("GET", "/projects")
        first = page["projects"][0]
        if "cursor" not in request.url.params:
            return {**page, "projects": [first], "pagination": {"cursor": "c-1"}}
        if request.url.params["cursor"] == "c-1":
            return {
                **page,
                "projects": [{**first, "id": "second-project-1"}],
                "pagination": {"cursor": "c-2"},
            }
        return {**page, "projects": [], "pagination": {"cursor": "c-2"}}

    def branches(request: httpx.Request) -> Any:
        page = SPEC.example("GET", f"{P}/branches")  # its pagination.next is "eyJjcmVhdGV"
        if request.url.params.get("cursor") != page["pagination"]["next"]:
            return page
        second = {**page["branches"][0], "id": "br-second-page-1", "default": False}
        return {**page, "branches": [second], "pagination": {"sort_by": "updated_at", "sort_order": "desc"}}

    return {
        ("GET", "/projects"): projects,
        ("GET", f"{P}/branches"): branches,
        ("POST", f"{P}/branches"): (201, {}, _created()),
        ("DELETE", f"{P}/branches/{{branch_id}}"): SPEC.example("DELETE", f"{P}/branches/{{branch_id}}"),
        ("GET", f"{P}/endpoints"): SPEC.example("GET", f"{P}/endpoints"),
        ("GET", f"{P}/branches/{{branch_id}}/roles"): SPEC.example(
            "GET", f"{P}/branches/{{branch_id}}/roles"
        ),
        ("GET", f"{P}/connection_uri"): {"uri": uri},
    }


def _created() -> dict[str, Any]:
    """CreatedBranch has no example in the document: the branch and operations of the delete example, the
    endpoint of the endpoints example, and roles/databases/connection_uris shaped by the schema (checked)."""
    deleted = SPEC.example("DELETE", f"{P}/branches/{{branch_id}}")
    endpoint = SPEC.example("GET", f"{P}/endpoints")["endpoints"][0]
    return {
        "branch": deleted["branch"],
        "endpoints": [endpoint],
        "operations": deleted["operations"],
        "roles": [],
        "databases": [],
        "connection_uris": [],
    }


@pytest.fixture
def pg_uri(postgres_url: str) -> str:
    """The real local PostgreSQL as a Neon connection URI would name it (trust auth ignores the password)."""
    rest = postgres_url.split("://", 1)[1]
    user, _, host = rest.partition("@")
    return f"postgresql://{user.split(':')[0]}:{PASSWORD}@{host}"


@pytest.fixture
def service() -> SpecService:
    return SpecService(
        SPEC, _routes(f"postgresql://alex:{PASSWORD}@ep-cool-darkness-123456.us-east-2.aws.neon.tech/neondb")
    )


def _neon(home: Path, service: SpecService) -> Any:
    return connect(home, "neon", KEY, service)


async def test_projects_follow_the_cursor_until_an_empty_page(home: Path, service: SpecService) -> None:
    neon = _neon(home, service)
    projects = await neon.projects()
    assert [p["id"] for p in projects] == ["shiny-wind-028834", "second-project-1"]
    assert [r.url.params.get("cursor") for r in service.requests] == [None, "c-1", "c-2"]
    assert service.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert len(await neon.projects(limit=1)) == 1


async def test_branches_endpoints_and_roles_are_compact(home: Path, service: SpecService) -> None:
    neon = _neon(home, service)
    branches = await neon.branches("shiny-wind-028834")
    assert branches[0]["id"].startswith("br-") and "cpu_used_sec" not in branches[0]
    assert branches[-1]["id"] == "br-second-page-1"  # the cursor in pagination.next was followed
    assert [r.url.params.get("cursor") for r in service.sent("GET", "/branches")] == [None, "eyJjcmVhdGV"]
    endpoints = await neon.endpoints("shiny-wind-028834")
    assert endpoints[0]["host"].endswith("neon.tech")
    roles = await neon.roles("shiny-wind-028834", branches[0]["id"])
    assert roles and all("password" not in role for role in roles)


async def test_a_branch_from_a_point_in_time_sends_parent_timestamp(home: Path, service: SpecService) -> None:
    neon = _neon(home, service)
    created = await neon.create_branch(
        "shiny-wind-028834",
        name="before-migration",
        parent_id="br-aged-salad-637688",
        parent_timestamp="2026-12-01T12:00:00Z",
    )
    body = json.loads(service.sent("POST", "/branches")[0].content)
    assert body == {
        "branch": {
            "name": "before-migration",
            "parent_id": "br-aged-salad-637688",
            "parent_timestamp": "2026-12-01T12:00:00Z",
        },
        "endpoints": [{"type": "read_write"}],
    }
    assert created["branch"]["id"] and created["operations"]
    await neon.create_branch("shiny-wind-028834", parent_lsn="0/1DE2850", with_endpoint=False)
    assert json.loads(service.sent("POST", "/branches")[1].content) == {"branch": {"parent_lsn": "0/1DE2850"}}


async def test_bad_branch_points_are_refused_before_anything_is_sent(
    home: Path, service: SpecService
) -> None:
    neon = _neon(home, service)
    with pytest.raises(ConnectorInvalid, match="not both"):
        await neon.create_branch("p", parent_timestamp="2026-12-01T12:00:00Z", parent_lsn="0/1")
    with pytest.raises(ConnectorInvalid, match="ISO 8601"):
        await neon.create_branch("p", parent_timestamp="yesterday")
    assert service.requests == []


async def test_deleting_a_branch_is_a_destroy_with_a_dry_run(home: Path, service: SpecService) -> None:
    neon = _neon(home, service)
    spec = {s.name: s for s, _ in neon.action_methods()}
    assert spec["branches.delete"].effect.value == "destroy" and spec["sql"].effect.value == "read"
    assert spec["sql_write"].effect.value == "write" and spec["branches.create"].effect.value == "write"
    with call_scope(dry_run=True, tool="neon.branches.delete", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await neon.delete_branch("shiny-wind-028834", "br-x")
        with pytest.raises(DryRunStop) as create:
            await neon.create_branch("shiny-wind-028834", name="b")
    assert stopped.value.preview.method == "DELETE" and service.requests == []
    assert create.value.preview.body == {"branch": {"name": "b"}, "endpoints": [{"type": "read_write"}]}
    assert (await neon.delete_branch("shiny-wind-028834", "br-x"))["deleted"]["id"]


async def test_the_connection_uri_password_is_redacted_unless_asked(home: Path, service: SpecService) -> None:
    neon = _neon(home, service)
    shown = await neon.connection_uri("shiny-wind-028834", "neondb", "alex")
    assert PASSWORD not in json.dumps(shown) and "[redacted]" in shown["uri"] and shown["password_redacted"]
    assert redactor.redact(f"x {PASSWORD} y") != f"x {PASSWORD} y", (
        "the password is registered with the redactor"
    )
    revealed = await neon.connection_uri(
        "shiny-wind-028834", "neondb", "alex", branch_id="br-1", pooled=True, reveal=True
    )
    assert PASSWORD in revealed["uri"]
    assert (
        service.requests[-1].url.params["pooled"] == "true"
        and service.requests[-1].url.params["branch_id"] == "br-1"
    )


@pytest.fixture
def pg_service(pg_uri: str) -> Iterator[SpecService]:
    yield SpecService(SPEC, _routes(pg_uri))


async def test_sql_reads_typed_rows_from_a_real_postgres_and_refuses_writes(
    home: Path, pg_service: SpecService
) -> None:
    neon = _neon(home, pg_service)
    where = {"project_id": "shiny-wind-028834", "database_name": "neondb", "role_name": "alex"}
    result = await neon.sql(
        query="SELECT 1::int AS n, 2.50::numeric AS price, 'x'::text AS t, now() > '2000-01-01'::timestamptz AS ok,"
        " '2026-12-06'::date AS d, NULL::text AS nothing, $1::int + 1 AS arg",
        args=[41],
        **where,
    )
    assert [c["name"] for c in result["columns"]] == ["n", "price", "t", "ok", "d", "nothing", "arg"]
    assert result["columns"][1]["type"] == "numeric"
    assert result["rows"] == [[1, "2.50", "x", True, "2026-12-06", None, 42]]
    with pytest.raises(ConnectorInvalid, match="read-only transaction"):
        await neon.sql(query="CREATE TABLE t (id int)", **where)
    with pytest.raises(ConnectorInvalid, match="statement timeout"):
        await neon.sql(query="SELECT pg_sleep(5)", timeout_seconds=0.05, **where)


async def test_sql_write_is_a_separate_write_that_dry_runs_without_touching_the_database(
    home: Path, pg_service: SpecService
) -> None:
    neon = _neon(home, pg_service)
    where = {"project_id": "shiny-wind-028834", "database_name": "neondb", "role_name": "alex"}
    with call_scope(dry_run=True, tool="neon.sql_write", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await neon.sql_write(statement="CREATE TABLE notes (id int)", **where)
    preview = stopped.value.preview.to_record()
    assert preview["method"] == "SQL" and PASSWORD not in json.dumps(preview)
    made = await neon.sql_write(statement="CREATE TABLE notes (id int, body text)", **where)
    assert made["status"] == "CREATE TABLE"
    await neon.sql_write(statement="INSERT INTO notes VALUES ($1, $2)", args=[1, "hi"], **where)
    assert (await neon.sql(query="SELECT id, body FROM notes", **where))["rows"] == [[1, "hi"]]


async def test_a_bad_key_a_missing_project_and_an_outage_are_typed(home: Path, service: SpecService) -> None:
    neon = _neon(home, service.fail((401, {}, {"code": "", "message": "authentication required"})))
    with pytest.raises(ConnectorAuthError, match="authentication required"):
        await neon.check()
    service.fail((404, {}, {"code": "", "message": "project not found"}))
    with pytest.raises(ConnectorNotFound, match="project not found"):
        await neon.branches("nope")
    service.fail((429, {"retry-after": "1"}, {"code": "", "message": "rate limit exceeded"}))
    assert await neon.branches("shiny-wind-028834")
    service.fail((503, {}, {"code": "", "message": "unavailable"}))
    with pytest.raises(ConnectorUnavailable):
        await neon.create_branch("shiny-wind-028834")
    assert len(service.sent("POST", "/branches")) == 1, "a POST that failed with a 5xx is not resent"
