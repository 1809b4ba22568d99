"""Held calls announced where people are: each messaging connector with an approvals destination posts buttons."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable

from sophia.connectors._model import Connector
from sophia.tools import ApprovalRecord

__all__ = ["ApprovalAnnouncer", "approval_summary"]

_SUMMARY_CHARS = 900


def approval_summary(approval: ApprovalRecord) -> str:
    """Who asked, from which run, and the (already redacted) arguments, short enough for a chat message."""
    who = (
        f"user {approval.requested_by_user_id}" if approval.requested_by_user_id is not None else "a service"
    )
    where = f" in run {approval.run_id}" if approval.run_id else ""
    arguments = json.dumps(approval.arguments, ensure_ascii=False, sort_keys=True, default=str)
    if len(arguments) > _SUMMARY_CHARS:
        arguments = arguments[: _SUMMARY_CHARS - 1] + "…"
    return f"{approval.effect} requested by {who}{where}\n{arguments}"


def _wants(connector: Connector, tool: str) -> bool:
    patterns = connector.options.get("approvals_for") or ["*"]
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(tool, str(p)) for p in patterns)


class ApprovalAnnouncer:
    """The tools layer's ApprovalNotifier over the configured connectors (`options.approvals_for` filters)."""

    def __init__(self, connectors: Iterable[Connector]) -> None:
        self.connectors = [c for c in connectors if c.announces_approvals()]

    def __bool__(self) -> bool:
        return bool(self.connectors)

    async def approval_requested(self, approval: ApprovalRecord) -> None:
        failures: list[str] = []
        summary = approval_summary(approval)
        for connector in self.connectors:
            if not _wants(connector, approval.tool):
                continue
            try:
                await connector.announce_approval(approval.id, approval.tool, summary)
            except Exception as error:  # one channel down must not keep the others from hearing
                failures.append(f"{connector.name}: {type(error).__name__}")
        if failures:
            raise RuntimeError("approval not announced on " + ", ".join(failures))
