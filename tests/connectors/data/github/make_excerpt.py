"""Rebuild openapi.json from GitHub's published REST API description.

Usage: python -m tests.connectors.data.github.make_excerpt API_GITHUB_COM_JSON
The source is `generated/api.github.com.json` in the npm package `@octokit/openapi` (23.0.2 when this was made:
`npm pack @octokit/openapi@23.0.2`), which is github/rest-api-description's api.github.com document with Octokit's
`x-octokit` extension; the upstream repository itself is too large to fetch here. The operations the GitHub
connector calls are kept whole (parameters, request bodies, responses) with the components they reach; the
documentation's example tokens are rewritten as visible fakes so the project's secret scan stays quiet.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tests.connectors.openapi import trim

HERE = Path(__file__).parent
CALLED = [
    ("get", "/user"),
    ("get", "/user/repos"),
    ("get", "/users/{username}/repos"),
    ("get", "/orgs/{org}/repos"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/branches"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("put", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/search/code"),
    ("get", "/search/issues"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/comments"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}/logs"),
    ("post", "/app/installations/{installation_id}/access_tokens"),
]


_CREDENTIAL_KEY = re.compile(r"(?i)token|secret|password")


def _fake_credentials(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _fake_credentials(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_fake_credentials(v, key) for v in node]
    if isinstance(node, str) and _CREDENTIAL_KEY.search(key) and len(node) >= 16:
        prefix = node[:4] if re.match(r"gh[opsu]_", node) else ""
        return f"{prefix}example-not-a-real-{key}"
    return node


def main(source: Path) -> None:
    published = json.loads(source.read_text())
    excerpt = trim(
        published,
        CALLED,
        (
            "github/rest-api-description's api.github.com document as shipped in the npm package"
            f" @octokit/openapi {published['info']['version']} (generated/api.github.com.json),"
            " trimmed to the operations the GitHub connector calls"
        ),
    )
    excerpt["paths"] = _fake_credentials(excerpt["paths"])
    excerpt["components"] = _fake_credentials(excerpt["components"])
    (HERE / "openapi.json").write_text(json.dumps(excerpt, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
