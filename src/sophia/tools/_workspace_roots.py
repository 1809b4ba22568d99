"""Which directories a run may work in: a fresh one under SOPHIA_HOME/workspaces, or an allowed existing one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sophia.tools._workspace import WorkspaceError

__all__ = ["WorkspaceMissing", "WorkspaceRefused", "WorkspaceRoots"]


class WorkspaceMissing(WorkspaceError):
    """The directory asked for does not exist (or is a file)."""

    http_status = 404


class WorkspaceRefused(WorkspaceError):
    """The directory lies outside every allowed root."""

    http_status = 403


_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class WorkspaceRoots:
    """`SOPHIA_HOME/workspaces` plus `[tools] workspace_roots`; a given path must be a directory under one."""

    def __init__(self, home: Path, roots: Iterable[Path] = ()) -> None:
        self.base = (Path(home).expanduser() / "workspaces").resolve()
        self.roots = (self.base, *(Path(root).expanduser().resolve() for root in roots))

    def fresh(self, run_id: str) -> Path:
        """A new, empty directory for one run: SOPHIA_HOME/workspaces/<run id>."""
        if not _RUN_ID.match(run_id):
            raise WorkspaceError(f"{run_id[:80]!r} cannot name a workspace directory")
        path = self.base / run_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def check(self, requested: str | Path) -> Path:
        """The real path of an existing directory under an allowed root; anything else is refused."""
        text = str(requested)
        if not text.strip() or "\x00" in text:
            raise WorkspaceError("the workspace path is empty or contains a NUL character")
        path = Path(text).expanduser()
        if not path.is_absolute():
            raise WorkspaceError(f"the workspace {text[:200]!r} is relative; give an absolute path")
        try:
            resolved = path.resolve()
            exists = resolved.exists()
        except OSError as error:  # a name too long, a loop of symlinks, …
            raise WorkspaceMissing(f"the workspace {text[:200]!r} cannot be used: {error.strerror}") from None
        if not exists:
            raise WorkspaceMissing(f"the workspace {text[:200]!r} does not exist; create it first")
        if not resolved.is_dir():
            raise WorkspaceMissing(f"the workspace {text[:200]!r} is not a directory")
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            allowed = ", ".join(str(root) for root in self.roots)
            raise WorkspaceRefused(
                f"the workspace {text[:200]!r} is outside the allowed roots ({allowed}); "
                "add its parent to [tools] workspace_roots in sophia.toml"
            )
        return resolved
