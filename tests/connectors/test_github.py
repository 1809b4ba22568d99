"""The GitHub connector against a stand-in speaking the documented REST API over real HTTP."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from sophia.config import ConnectorSettings
from sophia.connectors import (
    ConnectorAuthError,
    ConnectorInvalid,
    ConnectorNotFound,
    ConnectorRateLimited,
    DryRunStop,
    WebhookRefused,
    build_connector,
    call_scope,
    connector_kind,
    github_signature,
)
from sophia.connectors._github import GitHub
from sophia.secrets import SecretResolver
from tests.connectors.github_standin import TOKEN, GitHubStandIn
from tests.connectors.openapi import OpenApiMismatch
from tests.serving import serve_app


@pytest.fixture(scope="module")
def standin() -> Iterator[tuple[GitHubStandIn, str]]:
    service = GitHubStandIn()
    with serve_app(service.app()) as url:
        yield service, url


def _github(url: str, home: Path, token: str = TOKEN, **options: Any) -> GitHub:
    settings = ConnectorSettings(
        kind="github", base_url=url, credentials={"token": "env:GH_TOKEN"}, options=options, max_retries=2
    )
    connector = build_connector("github", settings, SecretResolver(home, environ={"GH_TOKEN": token}))
    assert isinstance(connector, GitHub)

    async def no_sleep(_: float) -> None:
        return None

    connector.http._sleep = no_sleep
    return connector


@pytest.fixture
async def github(standin: tuple[GitHubStandIn, str], home: Path) -> AsyncIterator[GitHub]:
    service, url = standin
    service.reset()
    connector = _github(url, home)
    try:
        yield connector
    finally:
        await connector.aclose()
        assert service.mismatches == []


def test_the_kind_is_built_in_with_stable_action_names() -> None:
    kind = connector_kind("github")
    names = {spec.name: spec.effect.value for spec, _ in kind.action_methods(kind.__new__(kind))}
    assert names["pulls.create"] == "write" and names["pulls.merge"] == "destroy"
    assert names["checks.list"] == "read" and names["git.push"] == "write" and names["pulls.status"] == "read"
    assert {
        "repos.get",
        "files.get",
        "files.put",
        "issues.comment",
        "actions.dispatch",
        "releases.create",
    } <= set(names)


async def test_check_reads_the_user_and_scopes(github: GitHub) -> None:
    result = await github.check()
    assert result.ok and result.detail == {
        "login": "octocat",
        "scopes": ["repo", "workflow"],
        "rate_limit_remaining": 4999,
    }


async def test_repos_follow_link_paging_to_the_limit(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    repos = await github.list_repos("octo", limit=3)
    assert [r["full_name"] for r in repos] == ["octo/r0", "octo/r1", "octo/r2"]
    everything = await github.list_repos("octo", limit=100)
    assert len(everything) == 5
    assert all(r["html_url"].startswith("https://github.com/octo/") for r in everything)


async def test_files_round_trip_through_base64_and_the_blob_sha(github: GitHub) -> None:
    got = await github.get_file("octo", "app", "README.md")
    assert got["text"] == "# Hello\n" and got["sha"] == "3d21ec53a331a6f037a91c368710b99387d012c1"
    put = await github.put_file(
        "octo", "app", "README.md", "# Bye\n", "docs: bye", sha=got["sha"], branch="b"
    )
    assert put["commit"] == "7638417db6d59f3c431d3e1f261cc637155684cd"
    assert (await github.get_file("octo", "app", "README.md"))["text"] == "# Bye\n"
    with pytest.raises(ConnectorNotFound, match="404"):
        await github.get_file("octo", "app", "missing.txt")


async def test_branch_from_a_base_branch_resolves_its_sha(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    made = await github.create_branch("octo", "app", "feature", "main")
    assert made == {
        "ref": "refs/heads/feature",
        "sha": "aa218f56b14c9653891f9e74264a383fa43fefbd",
        "url": made["url"],
    }
    assert ("GET", "/repos/octo/app/git/ref/heads/main", None) in standin[0].received


async def test_pull_request_opens_as_draft_once_and_is_found_again(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    opened = await github.create_pull("octo", "app", "feature", "main", "Add feature", "body")
    assert opened["draft"] is True and opened["existing"] is False and opened["number"] == 1
    again = await github.create_pull("octo", "app", "feature", "main", "Add feature", "body")
    assert again["existing"] is True and again["number"] == 1
    assert len(standin[0].pulls) == 1
    assert (await github.get_pull("octo", "app", 1))["changed_files"] == 5


async def test_issues_and_pulls_are_edited_field_by_field_and_branches_deleted(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    service, _ = standin
    closed = await github.update_issue(
        "octo", "app", 7, state="closed", state_reason="completed", labels=["bug"]
    )
    assert closed["state"] == "closed" and closed["labels"] == ["bug"]
    assert service.writes()[-1] == (
        "PATCH",
        "/repos/octo/app/issues/7",
        {"state": "closed", "state_reason": "completed", "labels": ["bug"]},
    )
    with pytest.raises(ConnectorInvalid, match="nothing to change"):
        await github.update_issue("octo", "app", 7)
    made = await github.create_pull("octo", "app", "feature", "main", "Add it")
    edited = await github.update_pull("octo", "app", made["number"], title="Add it (v2)", base="develop")
    assert edited["title"] == "Add it (v2)" and edited["base"] == "develop" and edited["state"] == "open"
    assert await github.delete_branch("octo", "app", "feature") == {"deleted": "refs/heads/feature"}
    assert service.deleted_refs == ["heads/feature"]
    with pytest.raises(ConnectorInvalid):  # GitHub's 422: the ref is already gone
        await github.delete_branch("octo", "app", "feature")
    with pytest.raises(ConnectorInvalid, match="not a branch name"):
        await github.delete_branch("octo", "app", "refs/tags/v1")


async def test_status_comes_from_one_graphql_query(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    status = await github.pull_status("octo", "app", 1)
    assert status["review_decision"] == "CHANGES_REQUESTED" and status["checks_state"] == "FAILURE"
    assert [c["name"] for c in status["checks"]] == ["tests", "ci/lint"]
    assert status["unresolved_threads"] == [
        {
            "path": "b.py",
            "line": 7,
            "author": "hubot",
            "body": "off by one",
            "url": "https://github.com/o/r/pull/1#r1",
        }
    ]
    posted = [r for r in standin[0].received if r[1] == "/graphql"]
    assert len(posted) == 1 and posted[0][2]["variables"] == {"owner": "octo", "repo": "app", "number": 1}


async def test_a_dry_run_of_each_write_sends_nothing_and_hides_the_token(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    writes = [
        (github.create_pull, ("octo", "app", "f", "main", "t")),
        (github.comment, ("octo", "app", 1, "hi")),
        (github.create_issue, ("octo", "app", "bug")),
        (github.merge_pull, ("octo", "app", 1)),
        (github.put_file, ("octo", "app", "x.txt", "x", "m")),
        (github.dispatch, ("octo", "app", "ci.yml", "main")),
        (github.create_release, ("octo", "app", "v1")),
        (github.delete_branch, ("octo", "app", "f")),
    ]
    for method, args in writes:
        with (
            call_scope(dry_run=True, tool="github.x", arguments={}, run_id=None),
            pytest.raises(DryRunStop) as stop,
        ):
            await method(*args)
        record = stop.value.preview.to_record()
        assert record["headers"]["authorization"] == "[redacted]" and TOKEN not in json.dumps(record)
    for edit, number in ((github.update_issue, 3), (github.update_pull, 4)):
        with (
            call_scope(dry_run=True, tool="github.x", arguments={}, run_id=None),
            pytest.raises(DryRunStop) as stop,
        ):
            await edit("octo", "app", number, title="renamed")
        record = stop.value.preview.to_record()
        assert record["method"] == "PATCH" and record["body"] == {"title": "renamed"}
        assert record["headers"]["authorization"] == "[redacted]" and TOKEN not in json.dumps(record)
    assert standin[0].writes() == []


async def test_checks_actions_releases_and_search(github: GitHub) -> None:
    checks = await github.list_checks("octo", "app", "feature/x")
    assert checks[0]["name"] == "mighty_readme" and checks[0]["conclusion"] == "neutral"
    assert await github.dispatch("octo", "app", "ci.yml", "main", {"level": "full"}) == {
        "dispatched": "ci.yml",
        "ref": "main",
    }
    logs = await github.run_logs("octo", "app", 30433642)
    assert logs["logs_url"].endswith("/30433642.zip")
    release = await github.create_release("octo", "app", "v1.0.0", body="notes")
    assert release["draft"] is True and release["tag_name"] == "v1.0.0"
    found = await github.search_issues("is:pr repo:octo/app")
    assert found == [
        {
            "number": 1347,
            "title": "Found a bug",
            "state": "open",
            "pull_request": True,
            "html_url": "https://github.com/o/r/issues/1347",
        }
    ]
    merged = await github.merge_pull(
        "octo", "app", 1, "squash", sha="6dcb09b5b57875f334f61aebed695e2e4193db5e"
    )
    assert merged["merged"] is True


async def test_secondary_limit_403_with_retry_after_is_retried(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    limited = JSONResponse(
        {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
        },
        403,
        headers={"retry-after": "1"},
    )
    standin[0].fail_next.append(limited)
    assert (await github.get_repo("octo", "app"))["default_branch"] == "main"


async def test_primary_limit_exhausted_is_typed(github: GitHub, standin: tuple[GitHubStandIn, str]) -> None:
    for _ in range(3):
        standin[0].fail_next.append(
            JSONResponse(
                {"message": "API rate limit exceeded for user ID 1."},
                403,
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1", "retry-after": "0"},
            )
        )
    with pytest.raises(ConnectorRateLimited, match="rate limit"):
        await github.get_repo("octo", "app")


async def test_429_then_5xx_are_retried_for_reads(github: GitHub, standin: tuple[GitHubStandIn, str]) -> None:
    standin[0].fail_next.extend(
        [
            JSONResponse({"message": "slow down"}, 429, headers={"retry-after": "0"}),
            JSONResponse({"message": "Server Error"}, 502),
        ]
    )
    branches = await github.list_branches("octo", "app")
    assert branches == [
        {"name": "main", "sha": "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc", "protected": True}
    ]
    assert [r[1] for r in standin[0].received].count("/repos/octo/app/branches") == 3


async def test_bad_token_is_an_auth_error_without_the_token(
    standin: tuple[GitHubStandIn, str], home: Path
) -> None:
    connector = _github(standin[1], home, token="ghp_wrong0000")
    try:
        with pytest.raises(ConnectorAuthError, match="Bad credentials") as failure:
            await connector.check()
        assert "ghp_wrong0000" not in str(failure.value)
    finally:
        await connector.aclose()


async def test_bad_names_are_refused_before_any_request(
    github: GitHub, standin: tuple[GitHubStandIn, str]
) -> None:
    with pytest.raises(ConnectorInvalid):
        await github.get_repo("octo", "../admin")
    assert standin[0].received == []


def test_the_excerpt_catches_a_wrong_request() -> None:
    from tests.connectors.github_standin import SPEC

    assert SPEC.check("POST", "/repos/o/r/pulls", {}, {"head": "a", "base": "b"}) == "pulls/create"
    with pytest.raises(OpenApiMismatch, match="required"):
        SPEC.check("POST", "/repos/o/r/pulls", {}, {"head": "a"})
    with pytest.raises(OpenApiMismatch, match="unknown query"):
        SPEC.check("GET", "/repos/o/r/pulls", {"colour": "x"}, None)
    with pytest.raises(OpenApiMismatch, match="not in the OpenAPI"):
        SPEC.check("GET", "/repos/o/r/nowhere/x/y/z", {}, None)


def test_webhooks_verify_type_dedup_and_ping(home: Path) -> None:
    connector = _github("https://api.github.com", home)
    body = json.dumps(
        {
            "action": "opened",
            "pull_request": {"number": 5, "title": "Fix"},
            "repository": {"full_name": "octo/app"},
        }
    ).encode()
    headers = {
        "X-Hub-Signature-256": github_signature("s3", body),
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    event = connector.verify_webhook(headers, body, "s3")
    assert (event.type, event.id) == ("pull_request.opened", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert event.summary == "octo/app pull_request opened: #5 Fix"
    with pytest.raises(WebhookRefused):
        connector.verify_webhook(headers, body + b" ", "s3")
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    pinged = connector.verify_webhook(
        {
            "x-hub-signature-256": github_signature("s3", ping),
            "x-github-event": "ping",
            "x-github-delivery": "d",
        },
        ping,
        "s3",
    )
    assert pinged.type == "ping" and pinged.reply == {"ok": True, "zen": "Keep it logically awesome."}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


async def test_push_sends_the_branch_with_the_token_only_in_a_header(tmp_path: Path, home: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "feature")
    (work / "a.txt").write_text("a\n")
    _git(work, "add", "a.txt")
    _git(work, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "a")
    connector = _github("https://api.github.com", home, git_url=str(tmp_path / "{repo}.git"))
    try:
        pushed = await connector.push("octo", "remote", str(work), "feature")
        assert pushed["sha"] == _git(remote, "rev-parse", "refs/heads/feature").strip()
        with (
            call_scope(dry_run=True, tool="github.git.push", arguments={}, run_id=None),
            pytest.raises(DryRunStop),
        ):
            await connector.push("octo", "remote", str(work), "feature")
        assert TOKEN not in _git(work, "config", "--list") and TOKEN not in json.dumps(pushed)
        with pytest.raises(ConnectorInvalid):
            await connector.push("octo", "remote", str(tmp_path), "feature")
    finally:
        await connector.aclose()
