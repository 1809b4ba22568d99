"""A GitHub stand-in on real HTTP: responses shaped like the REST description's examples, every request checked.

`GitHubStandIn.app()` is a FastAPI app; each request is validated against data/github/openapi.json and a
mismatch answers 599 (so a test fails loudly) and is kept in `mismatches`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.connectors.openapi import OpenApi, OpenApiMismatch

SPEC = OpenApi.load(Path(__file__).parent / "data" / "github" / "openapi.json")
TOKEN = "ghp_standin5ecret0000000000000000000000"
API = "http://api.standin"


def _user(login: str = "octocat") -> dict[str, Any]:
    return {"login": login, "id": 1, "type": "User", "html_url": f"https://github.com/{login}"}


def repo_body(owner: str, repo: str) -> dict[str, Any]:
    return {
        "id": 1296269,
        "name": repo,
        "full_name": f"{owner}/{repo}",
        "owner": _user(owner),
        "private": False,
        "html_url": f"https://github.com/{owner}/{repo}",
        "description": "This your first repo!",
        "default_branch": "main",
        "archived": False,
    }


def pull_body(
    owner: str, repo: str, number: int, head: str, base: str, title: str, draft: bool
) -> dict[str, Any]:
    return {
        "id": 1000 + number,
        "number": number,
        "state": "open",
        "title": title,
        "body": "",
        "draft": draft,
        "merged": False,
        "mergeable": None,
        "user": _user(),
        "html_url": f"https://github.com/{owner}/{repo}/pull/{number}",
        "head": {"label": f"{owner}:{head}", "ref": head, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
        "base": {"label": f"{owner}:{base}", "ref": base, "sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6"},
        "additions": 100,
        "deletions": 3,
        "changed_files": 5,
        "commits": 3,
    }


@dataclass
class GitHubStandIn:
    pulls: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    received: list[tuple[str, str, Any]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    fail_next: list[Response] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=lambda: {"README.md": "# Hello\n"})
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted_refs: list[str] = field(default_factory=list)
    hold_pull: Path | None = None
    """When set, creating a pull request touches that file and answers only once it is removed."""

    def reset(self) -> None:
        self.pulls.clear()
        self.comments.clear()
        self.issues.clear()
        self.deleted_refs.clear()
        self.received.clear()
        self.mismatches.clear()
        self.fail_next.clear()

    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.received if r[0] not in ("GET", "HEAD")]

    def app(self) -> FastAPI:  # noqa: C901 - one route per documented operation
        app = FastAPI()
        state = self

        @app.middleware("http")
        async def check(request: Request, call_next: Any) -> Response:
            raw = await request.body()
            body = json.loads(raw) if raw else None
            path = request.url.path
            state.received.append((request.method, path, body))
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return JSONResponse(
                    {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401
                )
            if request.headers.get("x-github-api-version") != "2022-11-28":
                state.mismatches.append(f"{request.method} {path}: no X-GitHub-Api-Version")
            if path != "/graphql":
                try:
                    SPEC.check(request.method, path, dict(request.query_params), body)
                except OpenApiMismatch as error:
                    state.mismatches.append(str(error))
                    return JSONResponse({"message": str(error)}, 599)
            if state.fail_next:
                return state.fail_next.pop(0)
            response: Response = await call_next(request)
            return response

        @app.get("/user")
        async def me() -> Response:
            return JSONResponse(
                _user(), headers={"x-oauth-scopes": "repo, workflow", "x-ratelimit-remaining": "4999"}
            )

        @app.get("/repos/{owner}/{repo}")
        async def get_repo(owner: str, repo: str) -> Any:
            return repo_body(owner, repo)

        @app.get("/users/{user}/repos")
        async def user_repos(user: str, request: Request) -> Response:
            page = int(request.query_params.get("page", "1"))
            names = [f"r{i}" for i in range(5)]
            per = int(request.query_params.get("per_page", "30"))
            chunk = names[(page - 1) * per : page * per]
            headers = {}
            if page * per < len(names):
                nxt = f"{request.base_url}users/{user}/repos?per_page={per}&page={page + 1}"
                headers["link"] = (
                    f'<{nxt}>; rel="next", <{request.base_url}users/{user}/repos?page=9>; rel="last"'
                )
            return JSONResponse([repo_body(user, n) for n in chunk], headers=headers)

        @app.get("/repos/{owner}/{repo}/branches")
        async def branches() -> Any:
            commit = {"sha": "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc", "url": ""}
            return [{"name": "main", "commit": commit, "protected": True}]

        @app.get("/repos/{owner}/{repo}/git/ref/{ref:path}")
        async def get_ref(owner: str, repo: str, ref: str) -> Any:
            return {
                "ref": f"refs/{ref}",
                "node_id": "x",
                "url": f"{API}/repos/{owner}/{repo}/git/refs/{ref}",
                "object": {"type": "commit", "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd", "url": ""},
            }

        @app.post("/repos/{owner}/{repo}/git/refs", status_code=201)
        async def create_ref(owner: str, repo: str, request: Request) -> Any:
            body = await request.json()
            return {
                "ref": body["ref"],
                "node_id": "y",
                "url": f"{API}/repos/{owner}/{repo}/git/{body['ref']}",
                "object": {"type": "commit", "sha": body["sha"], "url": ""},
            }

        @app.get("/repos/{owner}/{repo}/contents/{path:path}")
        async def get_content(owner: str, repo: str, path: str) -> Response:
            if path not in state.files:
                return JSONResponse({"message": "Not Found", "documentation_url": "x", "status": "404"}, 404)
            text = state.files[path]
            return JSONResponse(
                {
                    "type": "file",
                    "encoding": "base64",
                    "size": len(text.encode()),
                    "name": path.rsplit("/", 1)[-1],
                    "path": path,
                    "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
                    "content": base64.encodebytes(text.encode()).decode(),
                    "html_url": f"https://github.com/{owner}/{repo}/blob/main/{path}",
                }
            )

        @app.put("/repos/{owner}/{repo}/contents/{path:path}")
        async def put_content(owner: str, repo: str, path: str, request: Request) -> Response:
            body = await request.json()
            if path in state.files and body.get("sha") != "3d21ec53a331a6f037a91c368710b99387d012c1":
                return JSONResponse({"message": f"{path} does not match 3d21ec5", "status": "409"}, 409)
            created = path not in state.files
            state.files[path] = base64.b64decode(body["content"]).decode()
            return JSONResponse(
                {
                    "content": {
                        "name": path,
                        "path": path,
                        "sha": "95b966ae1c166bd92f8ae7d1c313e738c731dfc3",
                    },
                    "commit": {
                        "sha": "7638417db6d59f3c431d3e1f261cc637155684cd",
                        "html_url": f"https://github.com/{owner}/{repo}/git/commit/7638417",
                    },
                },
                201 if created else 200,
            )

        @app.get("/repos/{owner}/{repo}/pulls")
        async def list_pulls(request: Request) -> Any:
            head, base = request.query_params.get("head"), request.query_params.get("base")
            return [
                p
                for p in state.pulls
                if (not head or p["head"]["label"] == head) and (not base or p["base"]["ref"] == base)
            ]

        @app.post("/repos/{owner}/{repo}/pulls", status_code=201)
        async def create_pull(owner: str, repo: str, request: Request) -> Response:
            body = await request.json()
            if any(
                p["head"]["ref"] == body["head"] and p["base"]["ref"] == body["base"] for p in state.pulls
            ):
                return JSONResponse(
                    {
                        "message": "Validation Failed",
                        "errors": [
                            {
                                "resource": "PullRequest",
                                "code": "custom",
                                "message": f"A pull request already exists for {owner}:{body['head']}.",
                            }
                        ],
                    },
                    422,
                )
            made = pull_body(
                owner,
                repo,
                len(state.pulls) + 1,
                body["head"],
                body["base"],
                body["title"],
                body.get("draft", False),
            )
            state.pulls.append(made)
            if state.hold_pull is not None:
                hold = state.hold_pull
                hold.touch()
                while hold.exists():
                    await asyncio.sleep(0.05)
            return JSONResponse(made, 201)

        @app.get("/repos/{owner}/{repo}/pulls/{number}")
        async def get_pull(number: int) -> Response:
            for pull in state.pulls:
                if pull["number"] == number:
                    return JSONResponse(pull)
            return JSONResponse({"message": "Not Found", "documentation_url": "x", "status": "404"}, 404)

        @app.patch("/repos/{owner}/{repo}/pulls/{number}")
        async def update_pull(number: int, request: Request) -> Response:
            changes = await request.json()
            for pull in state.pulls:
                if pull["number"] == number:
                    pull.update({k: changes[k] for k in ("title", "body", "state") if k in changes})
                    if "base" in changes:
                        pull["base"] = {**pull["base"], "ref": changes["base"]}
                    return JSONResponse(pull)
            return JSONResponse({"message": "Not Found", "documentation_url": "x", "status": "404"}, 404)

        @app.patch("/repos/{owner}/{repo}/issues/{number}")
        async def update_issue(owner: str, repo: str, number: int, request: Request) -> Any:
            changes = await request.json()
            issue = state.issues.setdefault(
                number,
                {
                    "number": number,
                    "title": "Found a bug",
                    "state": "open",
                    "user": _user(),
                    "labels": [],
                    "comments": 0,
                    "html_url": f"https://github.com/{owner}/{repo}/issues/{number}",
                },
            )
            issue.update({k: v for k, v in changes.items() if k not in ("labels", "assignees")})
            if "labels" in changes:
                issue["labels"] = [{"id": i, "name": name} for i, name in enumerate(changes["labels"])]
            return issue

        @app.delete("/repos/{owner}/{repo}/git/refs/{ref:path}", status_code=204)
        async def delete_ref(ref: str) -> Response:
            if ref in state.deleted_refs:
                return JSONResponse(
                    {"message": "Reference does not exist", "documentation_url": "x", "status": "422"}, 422
                )
            state.deleted_refs.append(ref)
            return Response(status_code=204)

        @app.put("/repos/{owner}/{repo}/pulls/{number}/merge")
        async def merge(number: int) -> Any:
            return {
                "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
                "merged": True,
                "message": "Pull Request successfully merged",
            }

        @app.post("/repos/{owner}/{repo}/issues/{number}/comments", status_code=201)
        async def comment(owner: str, repo: str, number: int, request: Request) -> Any:
            body = await request.json()
            made = {
                "id": 1 + len(state.comments),
                "body": body["body"],
                "user": _user(),
                "html_url": f"https://github.com/{owner}/{repo}/issues/{number}#issuecomment-1",
            }
            state.comments.append(made)
            return made

        @app.get("/repos/{owner}/{repo}/commits/{ref:path}/check-runs")
        async def checks(ref: str) -> Any:
            run = {
                "id": 4,
                "head_sha": ref,
                "name": "mighty_readme",
                "status": "completed",
                "conclusion": "neutral",
                "html_url": "https://github.com/github/hello-world/runs/4",
                "started_at": "2018-05-04T01:14:52Z",
                "completed_at": "2018-05-04T01:14:52Z",
            }
            return {"total_count": 1, "check_runs": [run]}

        @app.post("/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches", status_code=204)
        async def dispatch() -> Response:
            return Response(status_code=204)

        @app.get("/repos/{owner}/{repo}/actions/runs/{run_id}/logs")
        async def logs(run_id: int) -> Response:
            return Response(
                status_code=302,
                headers={"location": f"https://pipelines.actions.githubusercontent.com/logs/{run_id}.zip"},
            )

        @app.post("/repos/{owner}/{repo}/releases", status_code=201)
        async def release(owner: str, repo: str, request: Request) -> Any:
            body = await request.json()
            return {
                "id": 1,
                "tag_name": body["tag_name"],
                "name": body.get("name"),
                "draft": body.get("draft", False),
                "prerelease": body.get("prerelease", False),
                "published_at": None,
                "html_url": f"https://github.com/{owner}/{repo}/releases/{body['tag_name']}",
            }

        @app.get("/search/issues")
        async def search() -> Any:
            item = {
                "number": 1347,
                "title": "Found a bug",
                "state": "open",
                "html_url": "https://github.com/o/r/issues/1347",
                "pull_request": {"url": "x"},
            }
            return {"total_count": 1, "incomplete_results": False, "items": [item]}

        @app.post("/graphql")
        async def graphql() -> Any:
            pull = {
                "number": 1,
                "title": "Fix",
                "state": "OPEN",
                "isDraft": True,
                "url": "https://github.com/o/r/pull/1",
                "reviewDecision": "CHANGES_REQUESTED",
                "mergeable": "MERGEABLE",
                "commits": {
                    "nodes": [
                        {
                            "commit": {
                                "oid": "abc",
                                "statusCheckRollup": {
                                    "state": "FAILURE",
                                    "contexts": {
                                        "nodes": [
                                            {
                                                "__typename": "CheckRun",
                                                "name": "tests",
                                                "status": "COMPLETED",
                                                "conclusion": "FAILURE",
                                                "detailsUrl": "u",
                                            },
                                            {
                                                "__typename": "StatusContext",
                                                "context": "ci/lint",
                                                "state": "SUCCESS",
                                                "targetUrl": "u",
                                            },
                                        ]
                                    },
                                },
                            }
                        }
                    ]
                },
                "reviewThreads": {
                    "nodes": [
                        {"isResolved": True, "path": "a.py", "line": 1, "comments": {"nodes": []}},
                        {
                            "isResolved": False,
                            "path": "b.py",
                            "line": 7,
                            "comments": {
                                "nodes": [
                                    {
                                        "author": {"login": "hubot"},
                                        "body": "off by one",
                                        "url": "https://github.com/o/r/pull/1#r1",
                                    }
                                ]
                            },
                        },
                    ]
                },
            }
            return {"data": {"repository": {"pullRequest": pull}}}

        return app
