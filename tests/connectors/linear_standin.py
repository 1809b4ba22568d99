"""A Linear GraphQL stand-in: the operations the connector sends, answered in Linear's documented shapes.

`{"data": ...}` or `{"errors": [{"message", "extensions": {"code"}}]}` (HTTP 400 for RATELIMITED and bad
input), connections with `nodes` and `pageInfo {hasNextPage endCursor}`, issues ordered by `updatedAt` newest
first, and the request/complexity rate-limit headers on every answer. `hold_after` pages, the next issues page
waits until released (a test kills the syncing process there).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = "lin_api_standin"
T0 = datetime(2026, 4, 1, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class LinearStandIn:
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold_after: int | None = None
    rate_limited: bool = False
    issue_pages: int = 0
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def seed(self, n: int) -> None:
        for i in range(n):
            self.add_issue(f"Issue number {i} about billing", updated=T0 + timedelta(hours=i))

    def add_issue(self, title: str, *, updated: datetime | None = None, team: str = "ENG") -> dict[str, Any]:
        number = len(self.issues) + 1
        issue_id = str(uuid.UUID(int=number))
        at = _iso(updated or datetime.now(UTC))
        issue = {
            "id": issue_id,
            "identifier": f"{team}-{number}",
            "title": title,
            "description": None,
            "url": f"https://linear.app/acme/issue/{team}-{number}",
            "priority": 2,
            "createdAt": at,
            "updatedAt": at,
            "completedAt": None,
            "canceledAt": None,
            "dueDate": "2026-06-01",
            "state": {"id": "state-todo", "name": "Todo", "type": "unstarted"},
            "assignee": {"id": "user-1", "name": "Ada Lovelace", "email": "ada@acme.test"},
            "team": {"id": f"team-{team}", "key": team, "name": "Engineering"},
            "project": {"id": "project-1", "name": "Billing revamp"},
        }
        self.issues[issue_id] = issue
        return issue

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/graphql")
        async def graphql(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append({"body": body, "authorization": request.headers.get("authorization")})
            if request.headers.get("authorization") != TOKEN:
                return _errors("Authentication required, not authenticated", "AUTHENTICATION_ERROR")
            if self.rate_limited:
                return _errors("Rate limit exceeded", "RATELIMITED", remaining=0)
            operation = body.get("operationName")
            variables = body.get("variables") or {}
            if operation == "Issues":
                await self._maybe_hold()
            handler = getattr(self, f"_op_{operation}", None)
            if handler is None:
                return _errors(f"Unknown operation {operation}", "GRAPHQL_VALIDATION_FAILED")
            return _data(handler(variables))

        return app

    async def _maybe_hold(self) -> None:
        if self.hold_after is not None and self.issue_pages >= self.hold_after:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        self.issue_pages += 1

    def _op_Viewer(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"viewer": {"id": "user-1", "name": "Ada Lovelace", "email": "ada@acme.test"}}

    def _op_Teams(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"teams": _connection([{"id": "team-ENG", "key": "ENG", "name": "Engineering"}], v, 100)}

    def _op_Issues(self, v: dict[str, Any]) -> dict[str, Any]:
        found = sorted(self.issues.values(), key=lambda i: i["updatedAt"], reverse=True)
        where = v.get("filter") or {}
        if "updatedAt" in where:
            found = [i for i in found if i["updatedAt"] > where["updatedAt"]["gt"].replace("+00:00", "Z")]
        if "team" in where:
            found = [i for i in found if i["team"]["key"] == where["team"]["key"]["eq"]]
        if "state" in where:
            found = [i for i in found if i["state"]["name"] == where["state"]["name"]["eq"]]
        return {"issues": _connection(found, v, int(v.get("first") or 50))}

    def _op_IssueIds(self, v: dict[str, Any]) -> dict[str, Any]:
        found = [{"id": i} for i in sorted(self.issues)]
        return {"issues": _connection(found, v, 250)}

    def _op_Projects(self, v: dict[str, Any]) -> dict[str, Any]:
        project = {
            "id": "project-1",
            "name": "Billing revamp",
            "state": "started",
            "progress": 0.4,
            "targetDate": "2026-07-01",
            "url": "https://linear.app/acme/project/billing",
            "updatedAt": _iso(T0),
        }
        return {"projects": _connection([project], v, 50)}

    def _op_Cycles(self, v: dict[str, Any]) -> dict[str, Any]:
        cycle = {
            "id": "cycle-1",
            "number": 7,
            "name": None,
            "startsAt": _iso(T0),
            "endsAt": _iso(T0 + timedelta(14)),
            "progress": 0.5,
            "team": {"key": "ENG"},
        }
        return {"cycles": _connection([cycle], v, 50)}

    def _op_IssueCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        fields = v["input"]
        issue = self.add_issue(fields["title"])
        issue["description"] = fields.get("description")
        return {"issueCreate": {"success": True, "issue": issue}}

    def _op_IssueUpdate(self, v: dict[str, Any]) -> dict[str, Any]:
        issue = self.issues[v["id"]]
        issue["state"] = {"id": v["input"]["stateId"], "name": "In Progress", "type": "started"}
        issue["updatedAt"] = _iso(datetime.now(UTC))
        return {"issueUpdate": {"success": True, "issue": issue}}

    def _op_CommentCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        comment = {
            "id": f"comment-{len(self.comments) + 1}",
            "body": v["input"]["body"],
            "url": "https://linear.app/acme/comment/1",
            "createdAt": _iso(datetime.now(UTC)),
        }
        self.comments.append({**comment, "issueId": v["input"]["issueId"]})
        return {"commentCreate": {"success": True, "comment": comment}}


def _connection(items: list[dict[str, Any]], v: dict[str, Any], first: int) -> dict[str, Any]:
    start = 0
    if v.get("after"):
        start = next(i for i, item in enumerate(items) if item["id"] == v["after"]) + 1
    chunk = items[start : start + first]
    more = start + first < len(items)
    return {
        "nodes": chunk,
        "pageInfo": {"hasNextPage": more, "endCursor": chunk[-1]["id"] if chunk else None},
    }


def _headers(remaining: int = 4999) -> dict[str, str]:
    reset = str(int((time.time() + 3600) * 1000))
    return {
        "X-RateLimit-Requests-Limit": "5000",
        "X-RateLimit-Requests-Remaining": str(remaining),
        "X-RateLimit-Requests-Reset": reset,
        "X-Complexity": "120",
        "X-RateLimit-Complexity-Limit": "250000",
        "X-RateLimit-Complexity-Remaining": "249880",
        "X-RateLimit-Complexity-Reset": reset,
    }


def _data(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"data": data}, headers=_headers())


def _errors(message: str, code: str, remaining: int = 4999) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code, "type": code.lower()}}]}
    return JSONResponse(body, status_code=400, headers=_headers(remaining))
