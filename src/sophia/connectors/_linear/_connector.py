"""The Linear connector: actions over its GraphQL API and a `Syncable` "issues" stream (ordered by updatedAt).

A personal API key goes in `Authorization: <key>` with no scheme (an OAuth token would be `Bearer`); set
`options.oauth = true` for the latter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from sophia.business import WorkItem
from sophia.connectors._auth import Auth, HeaderToken, Resolve
from sophia.connectors._errors import ConnectorInvalid
from sophia.connectors._linear import _queries as q
from sophia.connectors._linear._graphql import graphql
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._paging import collect_cursor
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = ["Linear"]

_SYNC_PAGE = 50


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Linear(Connector):
    kind = "linear"
    title = "Linear"
    group = "integrations"
    default_base_url = "https://api.linear.app"
    docs_url = "https://linear.app/developers/graphql"
    credentials = (
        Credential("token", "a Linear personal API key (Settings → Security & access) or OAuth token"),
    )

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return HeaderToken(resolve, scheme="Bearer" if self.options.get("oauth") else "")

    async def _query(self, operation: str, query: str, **variables: Any) -> dict[str, Any]:
        return await graphql(self.http, operation, query, variables, reads=True)

    async def _mutate(self, operation: str, query: str, **variables: Any) -> dict[str, Any]:
        data = await graphql(self.http, operation, query, variables, reads=False)
        result: dict[str, Any] = next(iter(data.values()))
        if not result.get("success"):
            raise ConnectorInvalid(f"Linear did not apply {operation}", service="Linear")
        return result

    async def _nodes(
        self, operation: str, query: str, field: str, limit: int, **variables: Any
    ) -> list[dict[str, Any]]:
        async def page(cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
            data = (await self._query(operation, query, after=cursor, **variables))[field]
            info = data["pageInfo"]
            return data["nodes"], info["endCursor"] if info["hasNextPage"] else None

        return await collect_cursor(page, limit=limit)

    async def check(self) -> CheckResult:
        viewer = (await self._query("Viewer", q.VIEWER))["viewer"]
        return CheckResult(True, f"signed in as {viewer.get('name')}", {"email": viewer.get("email")})

    @action("teams.list")
    async def teams(self, limit: Annotated[int, "How many teams at most."] = 100) -> list[dict[str, Any]]:
        """The workspace's teams: id, key (the issue prefix), name."""
        return await self._nodes("Teams", q.TEAMS, "teams", limit)

    @action("issues.list")
    async def issues(
        self,
        team_key: Annotated[str | None, "Only this team's issues (its key, e.g. ENG)."] = None,
        state: Annotated[str | None, "Only issues in this workflow state (e.g. In Progress)."] = None,
        assignee_email: Annotated[str | None, "Only issues assigned to this person."] = None,
        limit: Annotated[int, "How many issues at most."] = 50,
    ) -> list[dict[str, Any]]:
        """Issues, newest change first, filtered with Linear's IssueFilter."""
        where: dict[str, Any] = {}
        if team_key:
            where["team"] = {"key": {"eq": team_key}}
        if state:
            where["state"] = {"name": {"eq": state}}
        if assignee_email:
            where["assignee"] = {"email": {"eq": assignee_email}}
        return await self._nodes(
            "Issues", q.ISSUES, "issues", limit, first=min(limit, 100), filter=where or None
        )

    @action("projects.list")
    async def projects(
        self, limit: Annotated[int, "How many projects at most."] = 50
    ) -> list[dict[str, Any]]:
        """Projects with their state, progress and target date."""
        return await self._nodes("Projects", q.PROJECTS, "projects", limit)

    @action("cycles.list")
    async def cycles(
        self,
        team_key: Annotated[str | None, "Only this team's cycles."] = None,
        limit: Annotated[int, "How many cycles at most."] = 20,
    ) -> list[dict[str, Any]]:
        """Cycles (sprints) with their dates and progress."""
        where = {"team": {"key": {"eq": team_key}}} if team_key else None
        return await self._nodes("Cycles", q.CYCLES, "cycles", limit, filter=where)

    @action("issues.create", SideEffect.WRITE)
    async def create_issue(
        self,
        team_id: Annotated[str, "The team's id (teams.list)."],
        title: Annotated[str, "The issue's title."],
        description: Annotated[str | None, "Markdown body."] = None,
        priority: Annotated[int | None, "0 none, 1 urgent, 2 high, 3 medium, 4 low."] = None,
    ) -> dict[str, Any]:
        """Open an issue in a team."""
        if not title.strip():
            raise ConnectorInvalid("an issue needs a title", service="Linear")
        fields: dict[str, Any] = {"teamId": team_id, "title": title}
        if description is not None:
            fields["description"] = description
        if priority is not None:
            fields["priority"] = priority
        issue: dict[str, Any] = (await self._mutate("IssueCreate", q.ISSUE_CREATE, input=fields))["issue"]
        return issue

    @action("issues.update_state", SideEffect.WRITE)
    async def update_state(
        self,
        issue_id: Annotated[str, "The issue's id or identifier (ENG-12)."],
        state_id: Annotated[str, "The workflow state's id to move it to."],
    ) -> dict[str, Any]:
        """Move an issue to another workflow state."""
        result = await self._mutate("IssueUpdate", q.ISSUE_UPDATE, id=issue_id, input={"stateId": state_id})
        issue: dict[str, Any] = result["issue"]
        return issue

    @action("issues.comment", SideEffect.WRITE)
    async def comment(
        self,
        issue_id: Annotated[str, "The issue's id."],
        body: Annotated[str, "The comment, in Markdown."],
    ) -> dict[str, Any]:
        """Comment on an issue."""
        if not body.strip():
            raise ConnectorInvalid("a comment needs a body", service="Linear")
        made: dict[str, Any] = (
            await self._mutate("CommentCreate", q.COMMENT_CREATE, input={"issueId": issue_id, "body": body})
        )["comment"]
        return made

    # ------------------------------------------------------------------------------------------------ sync

    def sync_streams(self) -> Sequence[str]:
        return ("issues",)

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        where = {"updatedAt": {"gt": since.isoformat()}} if since is not None else None
        size = int(self.options.get("sync_page_size", _SYNC_PAGE))
        data = (await self._query("Issues", q.ISSUES, first=size, after=cursor, filter=where))["issues"]
        info = data["pageInfo"]
        records = [self._record(node) for node in data["nodes"]]
        more = bool(info["hasNextPage"])
        return SyncPage(records, info["endCursor"] if more else cursor, not more)

    def _record(self, node: dict[str, Any]) -> SyncRecord:
        state = (node.get("state") or {}).get("name")
        assignee = (node.get("assignee") or {}).get("name")
        text = f"Linear issue {node['identifier']}: {node['title']}. State {state or 'unknown'}"
        text += f", assigned to {assignee}." if assignee else ", unassigned."
        if node.get("description"):
            text += f"\n{node['description']}"
        updated = _when(node["updatedAt"])
        assert updated is not None
        return SyncRecord(
            "issues",
            node["id"],
            updated,
            f"{node['identifier']} {node['title']}",
            text,
            node.get("url"),
            node,
        )

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        nodes = await self._nodes("IssueIds", q.ISSUE_IDS, "issues", 1_000_000)
        return {n["id"] for n in nodes}

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        node = record.data
        return [
            WorkItem(
                source=self.name,
                source_kind="linear",
                source_id=record.id,
                source_url=record.url,
                updated_at=record.updated_at,
                title=str(node["title"]),
                state=(node.get("state") or {}).get("name"),
                assignee=(node.get("assignee") or {}).get("email")
                or (node.get("assignee") or {}).get("name"),
                project=(node.get("project") or {}).get("name"),
                due_at=_when(node.get("dueDate")),
                completed_at=_when(node.get("completedAt")),
                created_at=_when(node.get("createdAt")),
            )
        ]
