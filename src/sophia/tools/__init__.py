"""Tools: typed functions with JSON schemas, side-effect levels, the approval policy and the audit trail."""

from sophia.tools._approvals import ApprovalRecord, ToolApprovalRow, list_approvals
from sophia.tools._audit import TOOL_AUDIT_ACTIONS, list_tool_audit, record_tool_audit
from sophia.tools._errors import (
    ApprovalNotFound,
    ApprovalRequired,
    ApprovalStateError,
    ToolArgumentError,
    ToolDenied,
    ToolError,
    ToolFailed,
    ToolTimeout,
    UnknownTool,
)
from sophia.tools._execute import truncate_bytes
from sophia.tools._invoker import ToolInvoker
from sophia.tools._model import SideEffect, Tool, ToolCallResult, ToolContext, ToolResult
from sophia.tools._policy import ApprovalPolicy, Decision, ShellSettings, ToolSettings, WebFetchSettings
from sophia.tools._redaction import is_secret_name, redact_text, redact_value
from sophia.tools._registry import TOOL_GROUPS, ToolRegistry
from sophia.tools._seal import ArgumentSealer

__all__ = [
    "TOOL_AUDIT_ACTIONS",
    "TOOL_GROUPS",
    "ApprovalNotFound",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ApprovalRequired",
    "ApprovalStateError",
    "ArgumentSealer",
    "Decision",
    "ShellSettings",
    "SideEffect",
    "Tool",
    "ToolApprovalRow",
    "ToolArgumentError",
    "ToolCallResult",
    "ToolContext",
    "ToolDenied",
    "ToolError",
    "ToolFailed",
    "ToolInvoker",
    "ToolRegistry",
    "ToolResult",
    "ToolSettings",
    "ToolTimeout",
    "UnknownTool",
    "WebFetchSettings",
    "is_secret_name",
    "list_approvals",
    "list_tool_audit",
    "record_tool_audit",
    "redact_text",
    "redact_value",
    "truncate_bytes",
]
