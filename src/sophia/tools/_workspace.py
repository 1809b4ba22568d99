"""`workspace.read` / `workspace.write` / `workspace.list`: files confined to the run's workspace directory."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from sophia.errors import InvalidInput
from sophia.tools._model import ToolContext, ToolResult

__all__ = [
    "WorkspaceError",
    "list_files",
    "read_file",
    "resolve_in_workspace",
    "workspace_root",
    "write_file",
]

MAX_READ_BYTES = 2_000_000
MAX_LISTED = 1000
_STATE_CHARS = 20_000


class WorkspaceError(InvalidInput):
    """A path leaves the workspace, or the call has no workspace."""

    code = "workspace_error"


def workspace_root(context: ToolContext) -> Path:
    if context.workspace is None:
        raise WorkspaceError("this call has no workspace directory; run it inside a run that has one")
    root = context.workspace.resolve()
    if not root.is_dir():
        raise WorkspaceError(f"the workspace directory {root} does not exist")
    return root


def resolve_in_workspace(context: ToolContext, path: str) -> Path:
    """The real path of `path` inside the workspace; `..`, absolute paths and escaping symlinks are refused."""
    root = workspace_root(context)
    if "\x00" in path:
        raise WorkspaceError("the path contains a NUL character")
    relative = PurePosixPath(path.replace("\\", "/") or ".")
    if relative.is_absolute() or path.startswith("~"):
        raise WorkspaceError(f"{path[:200]!r} is absolute; give a path relative to the workspace")
    if ".." in relative.parts:
        raise WorkspaceError(f"{path[:200]!r} uses '..'; paths must stay inside the workspace")
    resolved = (root / relative).resolve()
    if resolved != root and not resolved.is_relative_to(root):
        raise WorkspaceError(f"{path[:200]!r} leads outside the workspace (through a symlink); refused")
    return resolved


def _read_text(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(MAX_READ_BYTES + 1)
    text = data[:MAX_READ_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_READ_BYTES:
        text += f"\n…[file cut at {MAX_READ_BYTES} bytes]"
    return text


def read_file(path: Annotated[str, "File path relative to the workspace."], context: ToolContext) -> str:
    """Read a text file from the run's workspace."""
    target = resolve_in_workspace(context, path)
    if not target.is_file():
        raise WorkspaceError(f"{path[:200]!r} is not a file in the workspace")
    return _read_text(target)


def write_file(
    path: Annotated[str, "File path relative to the workspace."],
    content: Annotated[str, "The whole new content of the file."],
    context: ToolContext,
) -> ToolResult[dict[str, Any]]:
    """Create or replace a text file in the run's workspace (parent folders are created)."""
    target = resolve_in_workspace(context, path)
    if target.is_dir():
        raise WorkspaceError(f"{path[:200]!r} is a directory")
    before = _read_text(target)[:_STATE_CHARS] if target.is_file() else None
    target.parent.mkdir(parents=True, exist_ok=True)
    resolve_in_workspace(context, path)  # a parent created meanwhile must not have become an escaping link
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(target, flags, 0o644), "w", encoding="utf-8") as handle:
        handle.write(content)
    relative = str(target.relative_to(workspace_root(context)))
    value = {"path": relative, "bytes": len(content.encode()), "created": before is None}
    return ToolResult(value, before=before, after=content[:_STATE_CHARS])


def _walk(folder: Path) -> list[Path]:
    """Every entry below `folder` without following symlinked folders out of the workspace."""
    found: list[Path] = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        found.extend(Path(top) / name for name in (*dirs, *files))
        if len(found) > MAX_LISTED:
            break
    return found


def list_files(
    context: ToolContext,
    path: Annotated[str, "Folder relative to the workspace."] = ".",
    recursive: bool = False,
) -> list[dict[str, Any]]:
    """List files and folders in the run's workspace (`.git` contents are skipped)."""
    root = workspace_root(context)
    folder = resolve_in_workspace(context, path)
    if not folder.is_dir():
        raise WorkspaceError(f"{path[:200]!r} is not a folder in the workspace")
    entries = _walk(folder) if recursive else folder.iterdir()
    listed: list[dict[str, Any]] = []
    for entry in sorted(entries):
        relative = entry.relative_to(root)
        if ".git" in relative.parts[:1] and relative.parts != (".git",):
            continue
        kind = "link" if entry.is_symlink() else "dir" if entry.is_dir() else "file"
        size = entry.lstat().st_size if kind == "file" else None
        listed.append({"path": relative.as_posix(), "type": kind, "size": size})
        if len(listed) >= MAX_LISTED:
            listed.append({"path": "…", "type": "truncated", "size": None})
            break
    return listed
