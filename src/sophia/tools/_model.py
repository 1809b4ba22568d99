"""What a tool is: a typed function with a side-effect level, the context it runs in and what it returns."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from sophia.accounts import Principal, Role

__all__ = ["DRY_RUN_TAG", "SideEffect", "Tool", "ToolCallResult", "ToolContext", "ToolResult"]

DRY_RUN_TAG = "dry_run"
"""A tool with this tag takes `dry_run: bool`; a dry-run call sends nothing and skips the approval question."""

T = TypeVar("T")


class SideEffect(enum.StrEnum):
    """What calling the tool does to the world; writes and destroys go through approvals and the audit log."""

    READ = "read"
    WRITE = "write"
    DESTROY = "destroy"


@dataclass(frozen=True, slots=True)
class ToolResult(Generic[T]):
    """A tool's return value plus, where the tool can say, the state before and after it acted (for audit)."""

    value: T
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who is calling and for which run: never taken from the arguments, so a model cannot forge it."""

    user_id: int | None = None
    user_name: str | None = None
    role: Role = Role.MEMBER
    key_id: int | None = None
    run_id: str | None = None
    agent: str | None = None
    workspace: Path | None = None
    memory_namespaces: tuple[str, ...] = ()
    resumed_by: str | None = None
    """Who carries a held call on once approved: a run (`run_id`), a live chat turn ("chat"), or, when
    neither, the approval itself runs it."""

    @classmethod
    def of(cls, principal: Principal, **extra: Any) -> ToolContext:
        return cls(
            user_id=principal.user_id,
            user_name=principal.user_name,
            role=principal.role,
            key_id=principal.key_id,
            **extra,
        )

    def to_record(self) -> dict[str, Any]:
        """The plain-JSON form stored with a pending approval, so the approved call runs as the requester."""
        return {
            "user_id": self.user_id,
            "user_name": self.user_name,
            "role": self.role.value,
            "key_id": self.key_id,
            "run_id": self.run_id,
            "agent": self.agent,
            "workspace": str(self.workspace) if self.workspace is not None else None,
            "memory_namespaces": list(self.memory_namespaces),
            "resumed_by": self.resumed_by,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ToolContext:
        workspace = record.get("workspace")
        return cls(
            user_id=record.get("user_id"),
            user_name=record.get("user_name"),
            role=Role(record.get("role", Role.MEMBER.value)),
            key_id=record.get("key_id"),
            run_id=record.get("run_id"),
            agent=record.get("agent"),
            workspace=Path(workspace) if workspace else None,
            memory_namespaces=tuple(record.get("memory_namespaces") or ()),
            resumed_by=record.get("resumed_by"),
        )


@dataclass(frozen=True)
class Tool:
    """A registered tool. `arguments` validates input; `context_parameter` receives the `ToolContext`."""

    name: str
    description: str
    group: str
    effect: SideEffect
    function: Callable[..., Any]
    arguments: type[BaseModel]
    input_schema: dict[str, Any]
    is_async: bool
    context_parameter: str | None = None
    timeout: float | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    precheck: Callable[[BaseModel, ToolContext], Awaitable[None]] | None = None
    """Run before the policy asks a person: raises when the call could never succeed for this caller (not found)."""

    @property
    def wire_name(self) -> str:
        """The name sent to model APIs, which allow only `[A-Za-z0-9_-]`: dots become underscores."""
        return self.name.replace(".", "_")

    def openai_definition(self) -> dict[str, Any]:
        """The OpenAI chat-completions `tools` entry the gateway sends to a model."""
        return {
            "type": "function",
            "function": {
                "name": self.wire_name,
                "description": self.description,
                "parameters": self.input_schema,
            },
        }

    def mcp_definition(self) -> dict[str, Any]:
        """The MCP `tools/list` entry, with hints a client uses to warn before writes."""
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {
                "readOnlyHint": self.effect is SideEffect.READ,
                "destructiveHint": self.effect is SideEffect.DESTROY,
                "idempotentHint": self.effect is SideEffect.READ,
            },
        }


@dataclass(frozen=True, slots=True)
class ToolCallResult:
    """The outcome of one call: JSON-ready `output`, its text, and whether it was cut to the output limit."""

    tool: str
    output: Any
    text: str
    truncated: bool = False
    approval_id: str | None = None
    before: Any = None
    after: Any = None

    def to_record(self) -> dict[str, Any]:
        return {"tool": self.tool, "output": self.output, "text": self.text, "truncated": self.truncated}

    @classmethod
    def from_record(cls, record: dict[str, Any], approval_id: str | None) -> ToolCallResult:
        return cls(
            tool=record["tool"],
            output=record["output"],
            text=record["text"],
            truncated=bool(record.get("truncated")),
            approval_id=approval_id,
        )
