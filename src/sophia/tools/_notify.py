"""Who hears that a call is held: Slack or Telegram posts approve/deny buttons the moment an approval is asked."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from sophia.tools._approvals import ApprovalRecord

__all__ = ["ApprovalNotifier", "announce_approval"]

log = logging.getLogger("sophia.tools")

_ANNOUNCE_SECONDS = 15.0


class ApprovalNotifier(Protocol):
    async def approval_requested(self, approval: ApprovalRecord) -> None:
        """Tell people a call waits for them; raising is logged and never undoes the hold."""


async def announce_approval(notifiers: list[ApprovalNotifier], approval: ApprovalRecord) -> None:
    """Every notifier hears of the held call; one that fails or hangs is logged and the others still hear."""
    for notifier in notifiers:
        try:
            await asyncio.wait_for(notifier.approval_requested(approval), _ANNOUNCE_SECONDS)
        except Exception as error:  # an announcement is a courtesy: the approval itself is already stored
            log.warning(
                "could not announce approval %s of %s: %s", approval.id, approval.tool, type(error).__name__
            )
