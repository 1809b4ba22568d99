"""Which checkout a `code` tool call acts on: its own workspace, or one that `[coding] workspaces` allows.

A run and a stdio session (`--workspace DIR`) carry their workspace in the context; a call over HTTP MCP has none
and names one of the configured checkouts by path or folder name. Anything else is refused, so an HTTP caller can
never point the tools at an arbitrary directory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from sophia.tools import ToolContext, WorkspaceError

__all__ = ["in_workspace"]


def in_workspace(context: ToolContext, workspace: str | None, allowed: Sequence[Path]) -> ToolContext:
    if context.workspace is not None:
        own = Path(context.workspace).resolve()
        if workspace is None or _matches(workspace, own):
            return context
        raise WorkspaceError(
            f"this call works in its own workspace ({own.name}); it cannot name another ({workspace[:120]!r})"
        )
    if workspace is None:
        raise WorkspaceError(_offer("name the workspace to work in", allowed))
    for folder in allowed:
        resolved = Path(folder).expanduser().resolve()
        if _matches(workspace, resolved):
            if not resolved.is_dir():
                raise WorkspaceError(f"the configured workspace {resolved.name!r} is not a directory")
            return dataclasses.replace(context, workspace=resolved)
    raise WorkspaceError(_offer(f"{workspace[:120]!r} is not an allowed workspace", allowed))


def _matches(given: str, folder: Path) -> bool:
    if "\x00" in given:
        return False
    if given == folder.name:
        return True
    return Path(given).expanduser().resolve() == folder if given.startswith(("/", "~")) else False


def _offer(reason: str, allowed: Sequence[Path]) -> str:
    if not allowed:
        return f"{reason}: this server allows none; an admin lists checkouts in [coding] workspaces"
    names = ", ".join(sorted(Path(folder).name for folder in allowed))
    return f"{reason}: one of [coding] workspaces ({names})"
