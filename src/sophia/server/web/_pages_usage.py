"""The usage page: tokens and cost by day, model, user and key; budgets; failed and fallen-back requests."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from sophia.accounts import Role
from sophia.gateway import UsageFilter, account_labels
from sophia.server.web._charts import bar_chart
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()


@router.get("/usage")
async def usage_page(
    request: Request, me: WebSession = AnyUser, days: int = Query(30, ge=1, le=366), mine: bool = False
) -> Response:
    web = web_state(request)
    scoped = me.role is not Role.ADMIN or mine
    user_id = me.user_id if scoped else None
    labels = await account_labels(web.services.accounts, user_id)
    own = str(user_id) if user_id is not None else None
    report = await web.usage.report(UsageFilter.last_days(days, user_id=own), labels)
    budgets = await web.budgets.uses(user_id=user_id)
    cost_chart = bar_chart([(t.label[5:], t.cost_usd) for t in report.by_day], unit=" USD")
    token_chart = bar_chart([(t.label[5:], float(t.tokens)) for t in report.by_day], unit=" tokens")
    return render(
        request,
        "usage.html",
        report=report,
        budgets=budgets,
        cost_chart=cost_chart,
        token_chart=token_chart,
        scoped=scoped,
        users=labels.users,
        key_names=labels.keys,
        days=days,
    )
