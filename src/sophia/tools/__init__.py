"""Tools: typed functions with JSON schemas, side-effect levels, the approval policy and the audit trail."""

from sophia.tools._approvals import ApprovalRecord, ToolApprovalRow, list_approvals
from sophia.tools._audit import TOOL_AUDIT_ACTIONS, list_tool_audit, record_tool_audit
from sophia.tools._builtins import register_builtin_tools, register_memory_tools
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
from sophia.tools._git import GitError
from sophia.tools._invoker import ToolInvoker
from sophia.tools._model import DRY_RUN_TAG, SideEffect, Tool, ToolCallResult, ToolContext, ToolResult
from sophia.tools._notify import ApprovalNotifier
from sophia.tools._policy import (
    BUILTIN_RULES,
    ApprovalPolicy,
    Decision,
    ShellSettings,
    ToolSettings,
    WebFetchSettings,
)
from sophia.tools._redaction import is_secret_name, redact_text, redact_value
from sophia.tools._registry import TOOL_GROUPS, ToolRegistry
from sophia.tools._seal import ArgumentSealer
from sophia.tools._shell import SandboxUnavailable, ShellRunner
from sophia.tools._web import (
    FetchError,
    FetchRefused,
    WebFetcher,
    forbidden_reason,
    literal_address,
    system_resolver,
)
from sophia.tools._workspace import WorkspaceError, resolve_in_workspace
from sophia.tools._workspace_roots import WorkspaceMissing, WorkspaceRefused, WorkspaceRoots

__all__ = [
    "BUILTIN_RULES",
    "DRY_RUN_TAG",
    "TOOL_AUDIT_ACTIONS",
    "TOOL_GROUPS",
    "ApprovalNotFound",
    "ApprovalNotifier",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ApprovalRequired",
    "ApprovalStateError",
    "ArgumentSealer",
    "Decision",
    "FetchError",
    "FetchRefused",
    "GitError",
    "SandboxUnavailable",
    "ShellRunner",
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
    "WebFetcher",
    "WorkspaceError",
    "WorkspaceMissing",
    "WorkspaceRefused",
    "WorkspaceRoots",
    "forbidden_reason",
    "is_secret_name",
    "list_approvals",
    "list_tool_audit",
    "literal_address",
    "system_resolver",
    "record_tool_audit",
    "redact_text",
    "redact_value",
    "register_builtin_tools",
    "register_memory_tools",
    "resolve_in_workspace",
    "truncate_bytes",
]
