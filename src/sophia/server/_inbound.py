"""What an accepted inbound event does, whether a signed webhook delivered it or Sophia polled the service for it.

A button click carries an approval decision (applied as the mapped Sophia user); any other event may start a run
through the connector's `on_event` triggers. The webhook route and the pollers both end here, so the two paths
cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from sophia.accounts import Principal, Role, UserStatus
from sophia.connectors import Accepted, ApprovalDecision, Connectors, ConnectorState
from sophia.errors import SophiaError
from sophia.runs import ApprovalDesk
from sophia.server._runs import app_run_service
from sophia.server._services import Services

__all__ = ["InboundEvents"]


class InboundEvents:
    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    async def handle(self, connectors: Connectors, name: str, accepted: Accepted) -> dict[str, Any]:
        """The event's effect as the webhook answers it: a decision applied, a run started, or nothing new."""
        event = accepted.event
        if accepted.event_id is None:
            return {"accepted": True, "duplicate": True, "event": event.type}
        if event.decision is not None:
            decided = await self._apply_decision(event.decision)
            outcome = decided.get("status") if decided["applied"] else decided.get("reason")
            try:
                await connectors.get(name).acknowledge(event, str(outcome))
            except SophiaError:
                decided["acknowledged"] = False
            return {"accepted": True, "duplicate": False, "event": event.type, "decision": decided}
        run_id = None
        if accepted.trigger is not None:
            owner = await self._first_admin()
            if owner is not None:
                prompt = accepted.trigger.prompt.replace("{event}", event.type).replace(
                    "{summary}", event.summary
                )
                run = await app_run_service(self.app).create(owner, prompt, agent=accepted.trigger.agent)
                run_id = run.id
                await ConnectorState(self.services.database).link_run(accepted.event_id, run_id)
        return {"accepted": True, "duplicate": False, "event": event.type, "run_id": run_id}

    async def _first_admin(self) -> Principal | None:
        users = await self.services.accounts.list_users()
        admin = next((u for u in users if u.role is Role.ADMIN and u.status is UserStatus.ACTIVE), None)
        return None if admin is None else Principal(admin.id, admin.name, Role.ADMIN, None, ("*",), None)

    async def _apply_decision(self, decision: ApprovalDecision) -> dict[str, Any]:
        """A signed button click: the mapped Sophia user approves or denies as if through /v1/approvals."""
        if decision.user is None:
            return {
                "applied": False,
                "reason": "this person is not mapped to a Sophia user (options.approvers)",
            }
        try:
            user = await self.services.accounts.get_user(decision.user)
        except SophiaError:
            return {"applied": False, "reason": "the mapped Sophia user does not exist"}
        if user.status is not UserStatus.ACTIVE:
            return {"applied": False, "reason": "the mapped Sophia user is not active"}
        principal = Principal(user.id, user.name, user.role, None, ("*",), None)
        web = getattr(self.app.state, "web", None)
        chat = getattr(web, "chat", None) if web is not None and getattr(web, "bound", False) else None
        desk = ApprovalDesk(app_run_service(self.app), waiters=chat.wake if chat is not None else None)
        by = f"via button by {decision.external_user}"
        try:
            if decision.approve:
                decided = await desk.approve(principal, decision.approval_id, by)
            else:
                decided = await desk.deny(principal, decision.approval_id, by)
        except SophiaError as error:
            return {"applied": False, "reason": error.message}
        return {"applied": True, **decided.to_dict()}
