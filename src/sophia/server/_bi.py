"""`/v1/bi/*`: the sales coach, account health, the churn model's training, the forecast and `ask` over the
business tables. Admins and members may read (an API key needs the `bi:read` scope, or `bi:*`); training writes
the saved model, so it is for admins (scope `bi:train`). `POST /v1/bi/ask` with `"run": true` queues a durable
`bi` run instead and answers 202 with its id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sophia.accounts import Principal, Role
from sophia.bi import BiService, parse_as_of
from sophia.errors import InvalidInput
from sophia.server._auth import require_role, require_scope, services
from sophia.server._openai import caller_of
from sophia.server._runs import run_service

__all__ = ["bi_service", "router"]

router = APIRouter(prefix="/v1/bi", tags=["bi"])
Reader = Annotated[Principal, require_role(Role.ADMIN, Role.MEMBER)]
Admin = Annotated[Principal, require_role(Role.ADMIN)]
Source = Annotated[str | None, Query(max_length=100, description="Only records of this connector.")]


def bi_service(request: Request) -> BiService:
    held = services(request)
    return BiService(held.database, held.settings.home, held.gateway)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/coach")
async def coach(
    request: Request,
    principal: Reader,
    rep: Annotated[str | None, Query(max_length=200, description="A rep's name or id.")] = None,
    source: Source = None,
    advice: Annotated[
        bool,
        Query(description="Also the model's coaching advice, each item citing a call moment (needs rep)."),
    ] = False,
    model: Annotated[
        str, Query(min_length=1, max_length=200, description="The advice's model or task.")
    ] = "auto",
) -> dict[str, Any]:
    """Each rep's call metrics against the team (or one rep's), with per-call metrics and timestamped quotes."""
    require_scope(principal, "bi:read")
    if advice and rep is None:
        raise InvalidInput("coaching advice is per rep: give rep=NAME")
    reports = await bi_service(request).coach(
        rep, source=source, advice_model=model if advice else None, caller=caller_of(principal)
    )
    return {"object": "list", "data": reports}


@router.get("/health")
async def health(
    request: Request,
    principal: Reader,
    as_of: Annotated[
        datetime | None, Query(description="ISO time the signals are read at; default now.")
    ] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = 50,
    source: Source = None,
) -> dict[str, Any]:
    """Account health, riskiest first, with each signal's contribution; 409 until a churn model is trained."""
    require_scope(principal, "bi:read")
    scored = await bi_service(request).health(_aware(as_of), source=source)
    return {"object": "list", "as_of": _aware(as_of).isoformat(), "data": scored[:top]}


class TrainChurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: datetime | None = Field(default=None, description="Signals at this time; default 90 days ago.")
    source: str | None = Field(default=None, max_length=100)


@router.post("/train/churn")
async def train_churn(request: Request, principal: Admin, body: TrainChurn | None = None) -> dict[str, Any]:
    """Retrain the churn model (time-based split; held-out AUC and Brier in `metrics`) and save it."""
    require_scope(principal, "bi:train")
    chosen = body or TrainChurn()
    as_of = _aware(chosen.as_of) if chosen.as_of is not None else parse_as_of(None, 90)
    model = await bi_service(request).train_churn(as_of, source=chosen.source)
    return {"object": "bi.churn_model", **model.__dict__}


@router.get("/forecast")
async def forecast(
    request: Request,
    principal: Reader,
    horizon: Annotated[int, Query(ge=1, le=24, description="Months of bookings to forecast.")] = 6,
    until: Annotated[datetime | None, Query(description="History up to this time; default now.")] = None,
    source: Source = None,
) -> dict[str, Any]:
    """Stage probabilities, the weighted open pipeline, bookings history, forecast with intervals, backtest."""
    require_scope(principal, "bi:read")
    return await bi_service(request).forecast(horizon=horizon, until=_aware(until), source=source)


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=3, max_length=2000)
    model: str = Field(default="auto", min_length=1, max_length=200, description="A model or task name.")
    source: str | None = Field(default=None, max_length=100)
    run: bool = Field(default=False, description="Queue a durable `bi` run and answer 202 with its id.")


@router.post("/ask", response_model=None)
async def ask(request: Request, principal: Reader, body: AskBody) -> dict[str, Any] | JSONResponse:
    """The answer, the SQL, the rows, the cited records (ids and links) and a Vega-Lite spec for a series."""
    require_scope(principal, "bi:read")
    if body.run:
        options = {"model": body.model, "source": body.source}
        run = await run_service(request).create(principal, body.question, agent="bi", options=options)
        return JSONResponse(
            {"object": "bi.run", "id": run.id, "status": run.status, "url": f"/v1/runs/{run.id}"}, 202
        )
    answer = await bi_service(request).ask(
        body.question, model=body.model, caller=caller_of(principal), source=body.source
    )
    return {"object": "bi.answer", **answer.json()}
