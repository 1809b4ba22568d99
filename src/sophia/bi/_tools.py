"""`bi.ask`, `bi.health`, `bi.coach`, `bi.forecast`: the analyses as tools of the `data` group (so the chat agent
can call them and the `data` MCP server serves them). All four only read the business tables and the saved churn
model, so none needs an approval."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sophia.bi._service import BiService, parse_as_of
from sophia.errors import InvalidInput
from sophia.gateway import Caller
from sophia.tools import SideEffect, ToolContext, ToolRegistry

__all__ = ["BiTools", "register_bi_tools"]

IsoDate = Annotated[str | None, Field(max_length=40), "An ISO date the signals are read at; default now."]


class BiTools:
    def __init__(self, service: BiService) -> None:
        self.service = service

    async def ask(
        self,
        question: Annotated[str, Field(min_length=3, max_length=2000), "A question about the business data."],
        context: ToolContext,
    ) -> dict[str, Any]:
        """Answer a business question from the synced records (CRM, calls, usage, tickets) with read-only SQL:
        the answer, the SQL, the result rows and the cited records with links; every number is in the result."""
        return (await self.service.ask(question, caller=_caller(context))).json()

    async def health(
        self,
        as_of: IsoDate = None,
        top: Annotated[int, Field(ge=1, le=200), "How many of the riskiest accounts."] = 10,
    ) -> dict[str, Any]:
        """Account health (100 = no churn risk), riskiest first, with each signal's contribution and top drivers."""
        moment = parse_as_of(as_of)
        return {"as_of": moment.isoformat(), "accounts": (await self.service.health(moment))[:top]}

    async def coach(
        self,
        context: ToolContext,
        rep: Annotated[str | None, Field(max_length=200), "A rep's name or id; default every rep."] = None,
        advice: Annotated[
            bool, "Also the model's coaching advice for the rep, each item citing a call moment (needs rep)."
        ] = False,
    ) -> dict[str, Any]:
        """Sales-call metrics per rep (talk ratio, questions, monologues, next steps, objections) against the
        team; one rep named also gets each call's metrics with timestamped quotes, and with `advice` the model's
        advice tied to those moments."""
        if advice and (rep is None or self.service.gateway is None):
            raise InvalidInput("advice needs a rep and a process with the model gateway")
        reports = await self.service.coach(
            rep, advice_model="auto" if advice else None, caller=_caller(context)
        )
        if rep is not None:
            return reports[0]
        return {
            "team": reports[0]["team"] if reports else None,
            "reps": [{"rep": r["rep"], "versus_team": r["versus_team"]} for r in reports],
        }

    async def forecast(
        self, horizon: Annotated[int, Field(ge=1, le=24), "Months of bookings to forecast."] = 6
    ) -> dict[str, Any]:
        """Weighted open pipeline from learned stage probabilities and the monthly bookings forecast with
        intervals and its backtest."""
        return await self.service.forecast(horizon=horizon)


def _caller(context: ToolContext) -> Caller:
    return Caller(user_id=None if context.user_id is None else str(context.user_id))


def register_bi_tools(registry: ToolRegistry, service: BiService) -> None:
    """`bi.ask` needs the model gateway: a process without one (`sophia mcp serve` over stdio) offers the rest."""
    tools = BiTools(service)
    names = (
        ("ask", "health", "coach", "forecast")
        if service.gateway is not None
        else ("health", "coach", "forecast")
    )
    for name in names:
        registry.add(getattr(tools, name), name=f"bi.{name}", group="data", effect=SideEffect.READ)
