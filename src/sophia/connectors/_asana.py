"""Asana (app.asana.com/api/1.0): workspaces, projects, sections, tasks (list, create, complete, comment).

Auth is a personal access token (`Authorization: Bearer`). Listings page with `limit` and `offset`, the next
offset coming back as `next_page.offset`. 429s carry Retry-After, which the kit's gate obeys.
Syncable: the `tasks` stream walks the projects of `options.workspace` (or `options.projects`) into `WorkItem`s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from sophia.business import WorkItem
from sophia.connectors._errors import ConnectorInvalid, ConnectorNotConfigured
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.tools import SideEffect

__all__ = ["Asana", "asana_time"]

_PAGE = 100
_TASK_FIELDS = (
    "name,completed,completed_at,created_at,modified_at,due_on,due_at,notes,permalink_url,"
    "assignee.name,memberships.project.name,memberships.section.name"
)


class Asana(Connector):
    kind = "asana"
    title = "Asana"
    default_base_url = "https://app.asana.com/api/1.0"
    docs_url = "https://developers.asana.com/reference/rest-api-reference"
    credentials = (
        Credential("token", "an Asana personal access token (My settings → Apps → Developer apps)"),
    )
    default_requests_per_second = 25.0
    """Asana allows 1500 requests a minute on paid plans (150 on free ones); set requests_per_second lower there."""

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/users/me", params={"opt_fields": "name,email"})
        return CheckResult(True, "token accepted", {"user": body["data"].get("name")})

    async def _pages(self, path: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        async def page(offset: str | None) -> tuple[list[dict[str, Any]], str | None]:
            query = {**params, "limit": min(limit, _PAGE)}
            if offset:
                query["offset"] = offset
            body = await self.http.json("GET", path, params=query)
            return list(body.get("data") or []), _next_offset(body)

        return await collect_cursor(page, limit=limit)

    @action("workspaces.list")
    async def workspaces(self, limit: Annotated[int, "How many at most."] = 100) -> list[dict[str, Any]]:
        """The workspaces and organisations the token can see (gid and name)."""
        found = await self._pages("/workspaces", {}, limit)
        return [{"gid": w["gid"], "name": w.get("name")} for w in found]

    @action("projects.list")
    async def projects(
        self,
        workspace: Annotated[str | None, "The workspace gid (default: options.workspace)."] = None,
        archived: Annotated[bool, "Archived projects instead of active ones."] = False,
        limit: Annotated[int, "How many at most."] = 200,
    ) -> list[dict[str, Any]]:
        """A workspace's projects (all pages up to `limit`)."""
        gid = workspace or self._workspace()
        params = {"archived": str(archived).lower(), "opt_fields": "name,permalink_url"}
        found = await self._pages(f"/workspaces/{gid}/projects", params, limit)
        return [{"gid": p["gid"], "name": p.get("name"), "url": p.get("permalink_url")} for p in found]

    @action("sections.list")
    async def sections(
        self, project: Annotated[str, "The project gid."], limit: Annotated[int, "How many at most."] = 100
    ) -> list[dict[str, Any]]:
        """A project's sections (board columns or list headings), in order."""
        found = await self._pages(f"/projects/{project}/sections", {}, limit)
        return [{"gid": s["gid"], "name": s.get("name")} for s in found]

    @action("tasks.list")
    async def tasks(
        self,
        project: Annotated[str, "The project gid."],
        section: Annotated[str | None, "Only this section's tasks."] = None,
        include_completed: Annotated[bool, "Also completed tasks."] = False,
        modified_since: Annotated[str | None, "Only tasks changed after this ISO 8601 time."] = None,
        limit: Annotated[int, "How many at most."] = 200,
    ) -> list[dict[str, Any]]:
        """A project's tasks: name, assignee, section, due date, completed."""
        params: dict[str, Any] = {"opt_fields": _TASK_FIELDS}
        if section:
            params["section"] = section
        else:
            params["project"] = project
        if not include_completed:
            params["completed_since"] = "now"
        if modified_since:
            params["modified_since"] = modified_since
        return [_task(t) for t in await self._pages("/tasks", params, limit)]

    @action("tasks.create", SideEffect.WRITE)
    async def create_task(
        self,
        name: Annotated[str, "The task's title."],
        project: Annotated[str, "The project gid to add it to."],
        notes: Annotated[str | None, "The description (plain text)."] = None,
        assignee: Annotated[str | None, "A user gid, an email, or 'me'."] = None,
        due_on: Annotated[str | None, "Due date YYYY-MM-DD."] = None,
        section: Annotated[str | None, "A section gid of the project to put it in."] = None,
    ) -> dict[str, Any]:
        """Create a task in a project (optionally in one section)."""
        if not name.strip():
            raise ConnectorInvalid("a task needs a name", service=self.title)
        data: dict[str, Any] = {"name": name, "projects": [project]}
        for key, value in (("notes", notes), ("assignee", assignee), ("due_on", due_on)):
            if value:
                data[key] = value
        body = await self.http.json(
            "POST", "/tasks", json={"data": data}, params={"opt_fields": _TASK_FIELDS}
        )
        task = _task(body["data"])
        if section:
            await self.http.json("POST", f"/sections/{section}/addTask", json={"data": {"task": task["gid"]}})
            task["section_gid"] = section
        return task

    @action("tasks.complete", SideEffect.WRITE)
    async def complete_task(
        self,
        task: Annotated[str, "The task gid."],
        completed: Annotated[bool, "False reopens it."] = True,
    ) -> dict[str, Any]:
        """Mark a task complete (or reopen it)."""
        body = await self.http.json(
            "PUT",
            f"/tasks/{task}",
            json={"data": {"completed": completed}},
            params={"opt_fields": _TASK_FIELDS},
        )
        return _task(body["data"])

    @action("tasks.comment", SideEffect.WRITE)
    async def comment(
        self, task: Annotated[str, "The task gid."], text: Annotated[str, "The comment (plain text)."]
    ) -> dict[str, Any]:
        """Add a comment (a story) to a task."""
        if not text.strip():
            raise ConnectorInvalid("a comment needs text", service=self.title)
        body = await self.http.json("POST", f"/tasks/{task}/stories", json={"data": {"text": text}})
        story = body["data"]
        return {"gid": story["gid"], "text": story.get("text"), "created_at": story.get("created_at")}

    def _workspace(self) -> str:
        gid = self.options.get("workspace")
        if not gid:
            raise ConnectorNotConfigured(
                f"{self.name}: give a workspace gid, or set options.workspace under [connectors.{self.name}]",
                service=self.name,
            )
        return str(gid)

    # -- Syncable -----------------------------------------------------------------------------------------

    def sync_streams(self) -> Sequence[str]:
        return ("tasks",)

    async def _sync_projects(self) -> list[str]:
        listed = self.options.get("projects")
        if listed:
            return [str(p) for p in listed]
        return [p["gid"] for p in await self.projects(limit=1000)]

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        """One page of one project's tasks; the cursor is {"projects": [...], "at": index, "offset": …}."""
        if stream != "tasks":
            raise ConnectorInvalid(f"Asana has no stream {stream!r} (it has: tasks)", service=self.title)
        state: dict[str, Any] = (
            json.loads(cursor) if cursor else {"projects": await self._sync_projects(), "at": 0}
        )
        projects: list[str] = state["projects"]
        at: int = state["at"]
        if at >= len(projects):
            return SyncPage([], json.dumps(state), True)
        project = projects[at]
        params: dict[str, Any] = {"project": project, "opt_fields": _TASK_FIELDS, "limit": _PAGE}
        if since is not None:
            params["modified_since"] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if state.get("offset"):
            params["offset"] = state["offset"]
        body = await self.http.json("GET", "/tasks", params=params)
        records = [self._record(t) for t in body.get("data") or []]
        offset = _next_offset(body)
        state = {**state, "offset": offset} if offset else {"projects": projects, "at": at + 1}
        return SyncPage(records, json.dumps(state), not offset and at + 1 >= len(projects))

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        live: set[str] = set()
        for project in await self._sync_projects():
            found = await self._pages("/tasks", {"project": project, "opt_fields": "gid"}, 1_000_000)
            live.update(t["gid"] for t in found)
        return live

    def _record(self, raw: dict[str, Any]) -> SyncRecord:
        task = _task(raw)
        state = "completed" if task["completed"] else (task["section"] or "open")
        text = f"Asana task {task['name']} in {task['project'] or 'no project'}: {state}"
        if task["assignee"]:
            text += f", assigned to {task['assignee']}"
        if task["due_on"]:
            text += f", due {task['due_on']}"
        if raw.get("notes"):
            text += f". {str(raw['notes'])[:500]}"
        return SyncRecord(
            stream="tasks",
            id=str(raw["gid"]),
            updated_at=asana_time(raw.get("modified_at")) or datetime.now(UTC),
            title=task["name"] or raw["gid"],
            text=text,
            url=raw.get("permalink_url"),
            data=raw,
        )

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        task = _task(dict(record.data))
        due = task["due_at"] or (f"{task['due_on']}T00:00:00Z" if task["due_on"] else None)
        return [
            WorkItem(
                source=self.name,
                source_kind=self.kind,
                source_id=record.id,
                source_url=record.url,
                updated_at=record.updated_at,
                title=task["name"] or record.id,
                state="completed" if task["completed"] else (task["section"] or "open"),
                assignee=task["assignee"],
                project=task["project"],
                due_at=asana_time(due),
                completed_at=asana_time(task["completed_at"]),
                created_at=asana_time(record.data.get("created_at")),
            )
        ]


def _next_offset(body: dict[str, Any]) -> str | None:
    next_page = body.get("next_page")
    return str(next_page["offset"]) if isinstance(next_page, dict) and next_page.get("offset") else None


def asana_time(value: Any) -> datetime | None:
    """Asana's ISO 8601 times (`2012-02-22T02:06:58.147Z`) as aware UTC datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _task(raw: dict[str, Any]) -> dict[str, Any]:
    membership = (raw.get("memberships") or [{}])[0] or {}
    return {
        "gid": raw.get("gid"),
        "name": raw.get("name"),
        "completed": bool(raw.get("completed")),
        "completed_at": raw.get("completed_at"),
        "due_on": raw.get("due_on"),
        "due_at": raw.get("due_at"),
        "assignee": (raw.get("assignee") or {}).get("name"),
        "project": (membership.get("project") or {}).get("name"),
        "section": (membership.get("section") or {}).get("name"),
        "url": raw.get("permalink_url"),
    }
