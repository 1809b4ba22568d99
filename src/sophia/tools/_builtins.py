"""Register Sophia's built-in tools, the same way a connector registers its own."""

from __future__ import annotations

import httpx

from sophia.memory import MemoryService
from sophia.tools._git import git_commit, git_diff, git_status
from sophia.tools._memory_tools import MemoryTools
from sophia.tools._model import SideEffect
from sophia.tools._policy import ToolSettings
from sophia.tools._registry import ToolRegistry
from sophia.tools._shell import ShellRunner
from sophia.tools._web import Resolver, WebFetcher
from sophia.tools._workspace import list_files, read_file, write_file

__all__ = ["register_builtin_tools", "register_memory_tools"]

READ, WRITE, DESTROY = SideEffect.READ, SideEffect.WRITE, SideEffect.DESTROY


def register_memory_tools(registry: ToolRegistry, memory: MemoryService) -> None:
    tools = MemoryTools(memory)
    registry.add(tools.remember, name="memory.remember", group="memory", effect=WRITE)
    registry.add(tools.recall, name="memory.recall", group="memory", effect=READ)
    registry.add(tools.graph, name="memory.graph", group="memory", effect=READ)
    registry.add(
        tools.forget, name="memory.forget", group="memory", effect=DESTROY, precheck=tools.check_forgettable
    )
    registry.add(tools.stats, name="memory.stats", group="memory", effect=READ)


def register_builtin_tools(
    registry: ToolRegistry,
    settings: ToolSettings | None = None,
    *,
    memory: MemoryService | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ToolRegistry:
    """web, workspace, shell and git tools; memory tools too when a `MemoryService` is given."""
    settings = settings or ToolSettings()
    fetcher = WebFetcher(settings.web, resolver=resolver, transport=transport)
    shell = ShellRunner(settings.shell)
    registry.add(fetcher.fetch, name="web.fetch", group="research", effect=READ)
    registry.add(read_file, name="workspace.read", group="code", effect=READ)
    registry.add(write_file, name="workspace.write", group="code", effect=WRITE)
    registry.add(list_files, name="workspace.list", group="code", effect=READ)
    registry.add(shell.run, name="shell.run", group="code", effect=WRITE)
    registry.add(git_status, name="git.status", group="code", effect=READ)
    registry.add(git_diff, name="git.diff", group="code", effect=READ)
    registry.add(git_commit, name="git.commit", group="code", effect=WRITE)
    if memory is not None:
        register_memory_tools(registry, memory)
    return registry
