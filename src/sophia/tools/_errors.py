"""Tool errors: each one is what an agent gets back as a tool error, in one sentence it can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sophia.errors import Conflict, InvalidInput, NotFound, PermissionDenied, SophiaError

if TYPE_CHECKING:
    from sophia.tools._approvals import ApprovalRecord

__all__ = [
    "ApprovalNotFound",
    "ApprovalRequired",
    "ApprovalStateError",
    "ToolArgumentError",
    "ToolDenied",
    "ToolError",
    "ToolFailed",
    "ToolTimeout",
    "UnknownTool",
]


class ToolError(SophiaError):
    """Base of every error a tool call can end in."""

    code = "tool_error"


class UnknownTool(ToolError, NotFound):
    code = "unknown_tool"
    http_status = 404

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"there is no tool named {name[:80]!r}{hint}")
        self.name = name
        self.suggestions = suggestions


class ToolArgumentError(ToolError, InvalidInput):
    """The arguments do not match the tool's schema; `problems` lists each one with its path."""

    code = "tool_argument_error"
    http_status = 400

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"the arguments for {tool} are invalid: {'; '.join(problems)}")
        self.tool = tool
        self.problems = problems


class ToolDenied(ToolError, PermissionDenied):
    code = "tool_denied"
    http_status = 403

    def __init__(self, message: str, tool: str) -> None:
        super().__init__(message)
        self.tool = tool


class ApprovalRequired(ToolError):
    """The policy says a person must approve this call first; `approval` is the pending record."""

    code = "approval_required"
    http_status = 202

    def __init__(self, approval: ApprovalRecord) -> None:
        super().__init__(
            f"{approval.tool} needs a person's approval before it runs; approval {approval.id} is pending"
        )
        self.approval = approval


class ApprovalNotFound(ToolError, NotFound):
    code = "approval_not_found"
    http_status = 404


class ApprovalStateError(ToolError, Conflict):
    """The approval is not in a state that allows this (already decided, still pending, denied)."""

    code = "approval_state"
    http_status = 409


class ToolFailed(ToolError):
    """The tool ran and raised; the message is safe to show (secrets redacted)."""

    code = "tool_failed"
    http_status = 502

    def __init__(self, message: str, tool: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool
        self.reason = reason
        """The typed error's code when the tool raised one (`connector_not_found`, …), for a caller to branch on."""


class ToolTimeout(ToolFailed):
    code = "tool_timeout"
    http_status = 504
