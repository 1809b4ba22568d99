"""`BiService`: the analyses over one database, the one path the CLI, `/v1/bi/*`, the `bi.*` tools, the `bi`
run kind and the dashboard all take, so each surface only parses its input and renders the result."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sophia.bi._advice import coach_advice
from sophia.bi._ask import Answer, Step, ask, direct_step, gateway_model
from sophia.bi._churn import ChurnModel, train_churn
from sophia.bi._coach import TeamCoach, coach
from sophia.bi._forecast import ForecastError
from sophia.bi._load import FORECAST_KINDS, churn_model_path, forecast_of, health_of, load_churn_frames
from sophia.bi._overview import at_risk_arr, bookings_chart, coaching_trend, trend_chart
from sophia.business import BusinessStore
from sophia.errors import Conflict, InvalidInput, NotFound
from sophia.gateway import Caller, Gateway
from sophia.store import Database

__all__ = ["BiService", "ChurnModelMissing", "parse_as_of"]

Source = str | Sequence[str] | None


class ChurnModelMissing(Conflict):
    """Health needs a trained churn model and there is none yet."""

    code = "churn_model_missing"


def parse_as_of(value: str | None, default_days_back: int = 0) -> datetime:
    """An ISO date or time (UTC when it names no zone), or `default_days_back` days before now."""
    if value is None:
        return datetime.now(UTC) - timedelta(days=default_days_back)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(f"not an ISO date: {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class BiService:
    def __init__(self, database: Database, home: Path, gateway: Gateway | None = None) -> None:
        self.database = database
        self.home = home
        self.gateway = gateway

    @property
    def store(self) -> BusinessStore:
        return BusinessStore(self.database)

    async def coach(
        self,
        rep: str | None = None,
        *,
        source: Source = None,
        advice_model: str | None = None,
        caller: Caller | None = None,
    ) -> list[dict[str, Any]]:
        """Every rep's report against the team, or the one rep named (by name or id), with the model's advice
        (each item citing a call moment; the call charged to `caller`) when `advice_model` names one."""
        team = await self._team(source)
        if rep is None:
            return [team.report(r) for r in team.reps.values()]
        found = team.rep(rep)
        if found is None:
            known = ", ".join(r.name or str(r.rep_id) for r in team.reps.values()) or "none"
            raise NotFound(f"no rep {rep!r} has calls; reps with calls: {known}")
        report = team.report(found)
        if advice_model is not None:
            if self.gateway is None:
                raise Conflict("coaching advice needs the model gateway")
            model = gateway_model(self.gateway, caller or Caller(), advice_model)
            advice = await coach_advice(team, found, model)
            report["advice"] = advice.json()
        return [report]

    @property
    def churn_path(self) -> Path:
        return churn_model_path(self.home)

    async def train_churn(self, as_of: datetime, *, source: Source = None) -> ChurnModel:
        """Train on the signals at `as_of` (churn in the 90 days after) and save the model under the home."""
        frames = await load_churn_frames(self.store, source=source)
        model = await asyncio.to_thread(train_churn, frames, as_of)
        model.save(self.churn_path)
        return model

    def churn_model(self) -> ChurnModel:
        if not self.churn_path.is_file():
            raise ChurnModelMissing(
                "no churn model is trained yet: run `sophia bi train churn` (or POST /v1/bi/train/churn)"
            )
        return ChurnModel.load(self.churn_path)

    async def health(
        self, as_of: datetime, *, source: Source = None, account: str | None = None
    ) -> list[dict[str, Any]]:
        """Every live account's health, riskiest first (or the one account asked for)."""
        model = self.churn_model()
        frames = await load_churn_frames(self.store, source=source)
        scored = [h.json() for h in await asyncio.to_thread(health_of, frames, model, as_of)]
        if account is not None:
            scored = [h for h in scored if h["account_id"] == account]
            if not scored:
                raise NotFound(f"no live account {account!r}")
        return scored

    async def forecast(
        self, *, horizon: int = 6, until: datetime | None = None, source: Source = None
    ) -> dict[str, Any]:
        frames = await self.store.frames(source=source, kinds=FORECAST_KINDS)
        return await asyncio.to_thread(forecast_of, frames, horizon=horizon, until=until)

    async def _team(self, source: Source = None) -> TeamCoach:
        """The coach over every live call (computed off the event loop: every sentence of every call)."""
        frames = await self.store.frames(source=source, kinds=("reps", "calls", "call_sentences"))
        return await asyncio.to_thread(coach, frames["calls"], frames["call_sentences"], frames["reps"])

    async def ask(
        self,
        question: str,
        *,
        model: str = "auto",
        caller: Caller | None = None,
        source: Source = None,
        step: Step = direct_step,
    ) -> Answer:
        """Answer from the business tables; `step` runs each model call and the query (durably in a run)."""
        if self.gateway is None:
            raise Conflict("this process has no model gateway; ask through `sophia serve` or `sophia bi ask`")
        frames = await self.store.frames(source=source)
        return await ask(question, frames, gateway_model(self.gateway, caller or Caller(), model), step=step)

    async def overview(self, as_of: datetime | None = None, *, months: int = 6) -> dict[str, Any]:
        """The executive KPIs and their charts; a part the data cannot support yet says why instead."""
        moment = as_of or datetime.now(UTC)
        out: dict[str, Any] = {"as_of": moment.isoformat(), "missing": {}}
        try:
            forecast = await self.forecast(horizon=months, until=moment)
        except ForecastError as error:
            out["missing"]["forecast"] = error.message
        else:
            pipeline, history = forecast["pipeline"], forecast["history"]
            points = forecast["bookings"]["points"]
            out["pipeline"] = {
                "open_deals": pipeline["open_deals"],
                "open_amount": sum(s["amount"] for s in pipeline["by_stage"].values()),
                "weighted": pipeline["expected"],
            }
            out["bookings"] = {
                "months": months,
                "last": sum(list(history.values())[-months:]),
                "forecast": sum(p["mean"] for p in points),
                "backtest_mape": forecast["backtest"]["mape"],
            }
            out["bookings_chart"] = bookings_chart(history, points)
        if self.churn_path.is_file():
            health = await self.health(moment)
            accounts = (await self.store.frames(kinds=("accounts",)))["accounts"]
            arr, risky = at_risk_arr(health, accounts)
            out["at_risk"] = {"arr": arr, "accounts": len(risky), "of": len(health)}
            out["health"] = health
        else:
            out["missing"]["health"] = "no churn model is trained yet: run `sophia bi train churn`"
        team = await self._team()
        calls = (await self.store.frames(kinds=("calls",)))["calls"]
        trend = coaching_trend(calls, team.calls)
        out["coaching"] = {
            "team": team.team.json() if team.team else None,
            "reps": [team.report(r)["rep"] for r in team.reps.values()],
            "trend": trend,
        }
        out["coaching_chart"] = trend_chart(trend)
        return out
