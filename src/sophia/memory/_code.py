"""Code memories: a repository's symbols, each remembered with its file and line, replaced whole on re-index.

The symbols come from the caller (the coding layer's repo map reads them), so memory stays below the layers that
parse code; a memory's metadata holds `repo`, `path`, `line`, `symbol` and `symbol_kind`, and `forget` or recall
filters can use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sophia.memory._errors import InvalidMemory

MAX_SIGNATURE = 400


@dataclass(frozen=True)
class CodeSymbol:
    path: str
    line: int
    name: str
    kind: str
    signature: str
    parent: str | None = None

    def content(self, repo: str) -> str:
        owner = f" in {self.parent}" if self.parent else ""
        return f"{self.kind} {self.name}{owner} at {repo}/{self.path}:{self.line}: {self.signature[:MAX_SIGNATURE]}"

    def metadata(self, repo: str) -> dict[str, str | int]:
        return {
            "repo": repo,
            "path": self.path,
            "line": self.line,
            "symbol": self.name,
            "symbol_kind": self.kind,
        }


def check_repo(repo: str) -> str:
    if not isinstance(repo, str) or not repo.strip() or len(repo) > 200 or "\n" in repo:
        raise InvalidMemory("the repository name must be one line of at most 200 characters")
    return repo.strip()
