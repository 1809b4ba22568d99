"""The GraphQL query that pays for itself: a pull request's review state, checks and open threads at once."""

from __future__ import annotations

from typing import Any

from sophia.connectors._errors import ConnectorInvalid, ConnectorNotFound

__all__ = ["PULL_STATUS", "shape_pull_status"]

PULL_STATUS = """
query($owner: String!, $repo: String!, $number: Int!) {
  repository(owner: $owner, name: $repo) {
    pullRequest(number: $number) {
      number title state isDraft url reviewDecision mergeable
      commits(last: 1) { nodes { commit { oid statusCheckRollup { state
        contexts(first: 50) { nodes {
          ... on CheckRun { __typename name status conclusion detailsUrl }
          ... on StatusContext { __typename context state targetUrl } } } } } } }
      reviewThreads(first: 50) { nodes { isResolved path line
        comments(first: 1) { nodes { author { login } body url } } } }
    }
  }
}
"""


def shape_pull_status(body: Any) -> dict[str, Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        message = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
        kind = ConnectorNotFound if any(e.get("type") == "NOT_FOUND" for e in errors) else ConnectorInvalid
        raise kind(f"GitHub GraphQL: {message}", service="GitHub")
    pull = body["data"]["repository"]["pullRequest"]
    commits = pull["commits"]["nodes"]
    rollup = commits[0]["commit"].get("statusCheckRollup") if commits else None
    checks = []
    for node in (rollup or {}).get("contexts", {}).get("nodes", []):
        if node.get("__typename") == "CheckRun":
            checks.append(
                {"name": node["name"], "status": node["status"], "conclusion": node.get("conclusion")}
            )
        else:
            checks.append(
                {"name": node.get("context"), "status": "COMPLETED", "conclusion": node.get("state")}
            )
    threads = []
    for thread in pull["reviewThreads"]["nodes"]:
        if thread["isResolved"]:
            continue
        first = (thread["comments"]["nodes"] or [{}])[0]
        author = (first.get("author") or {}).get("login")
        threads.append(
            {
                "path": thread["path"],
                "line": thread.get("line"),
                "author": author,
                "body": first.get("body"),
                "url": first.get("url"),
            }
        )
    return {
        "number": pull["number"],
        "title": pull["title"],
        "state": pull["state"],
        "draft": pull["isDraft"],
        "url": pull["url"],
        "review_decision": pull.get("reviewDecision"),
        "mergeable": pull.get("mergeable"),
        "head_sha": commits[0]["commit"]["oid"] if commits else None,
        "checks_state": (rollup or {}).get("state"),
        "checks": checks,
        "unresolved_threads": threads,
    }
