"""`GET /v1/usage` (the caller's own, or anyone's for an admin) and the admin budget routes `/v1/budgets...`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sophia.accounts import Principal, Role
from sophia.errors import InvalidInput, PermissionDenied
from sophia.gateway import BudgetBook, BudgetUse, Period, Scope, UsageFilter, UsageReports, account_labels
from sophia.server._auth import CurrentPrincipal, require_role, services
from sophia.server._schemas import Number

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["usage"])
Admin = require_role(Role.ADMIN)
Money = Annotated[float | None, Field(ge=0, le=1_000_000_000), Number]


def _iso_time(value: object) -> object:
    """A time in ISO 8601, not a Unix timestamp (pydantic would read "0.5" as half a second after 1970)."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("must be an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z")
    return value


IsoTime = BeforeValidator(_iso_time)


class UsageTotals(BaseModel):
    id: str | None = Field(description="What the ledger stores: the day, model name, user id or key id.")
    label: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class CacheUsage(BaseModel):
    hits: int = Field(description="Chat requests the response cache answered.")
    requests: int = Field(description="All chat requests in the range.")
    hit_rate: float
    saved_usd: float = Field(description="What the cached answers had cost when first made.")


class Usage(BaseModel):
    object: Literal["usage"] = "usage"
    since: datetime
    until: datetime
    user: str | None = Field(description="Whose usage this is; null for everyone's.")
    total: UsageTotals
    cache: CacheUsage
    by_day: list[UsageTotals]
    by_model: list[UsageTotals]
    by_user: list[UsageTotals]
    by_key: list[UsageTotals]


class Budget(BaseModel):
    scope: Scope
    scope_id: str = Field(description="The user id, the key id, or * for global.")
    who: str
    period: Period
    limit_usd: float
    spent_usd: float = Field(description="Spent in the current period.")


class BudgetList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Budget]


def _one_limit_at_least(schema: dict[str, Any]) -> None:
    """The document says what the route accepts: one limit or both, each a number (null is refused)."""
    schema["minProperties"] = 1
    for field in schema["properties"].values():
        field.pop("anyOf", None)
        field.update(type="number", minimum=0, maximum=1_000_000_000)


class BudgetChange(BaseModel):
    """Either limit or both; a limit left out keeps its value."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_limit_at_least)

    daily_usd: Money = None
    monthly_usd: Money = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("daily_usd", "monthly_usd"):
                if name in data and data[name] is None:
                    raise ValueError(f"{name}: a number; leave it out to keep the limit as it is")
        return data


class BudgetsCleared(BaseModel):
    removed: int


async def _scope_of_usage(
    request: Request, principal: Principal, user: str | None, key: str | None, everyone: bool
) -> tuple[str | None, str | None, str | None]:
    """(user id, key id, user name) to report on; a non-admin may only read their own."""
    admin = principal.role is Role.ADMIN
    if everyone and user:
        raise InvalidInput("all: ask for everyone or for one user, not both")
    if not admin and (everyone or (user is not None and user != principal.user_name)):
        raise PermissionDenied("only an admin may read other users' usage; drop `user` and `all`")
    accounts = services(request).accounts
    key_id = None
    if key is not None:
        info = await accounts.get_api_key(key)
        if not admin and info.user_id != principal.user_id:
            raise PermissionDenied("only an admin may read the usage of another user's key")
        key_id = str(info.id)
    if everyone:
        return None, key_id, None
    if user is not None and user != principal.user_name:
        found = await accounts.get_user(user)
        return str(found.id), key_id, found.name
    return str(principal.user_id), key_id, principal.user_name


@router.get("/usage", summary="Usage and cost by day, model, user and key (the caller's own unless admin)")
async def get_usage(
    request: Request,
    principal: CurrentPrincipal,
    since: Annotated[
        datetime | None, IsoTime, Query(description="Start (ISO 8601; UTC when no zone).")
    ] = None,
    until: Annotated[datetime | None, IsoTime, Query(description="End, exclusive; default now.")] = None,
    days: Annotated[int, Query(ge=1, le=366, description="The last N days, when since is not given.")] = 30,
    user: Annotated[str | None, Query(description="A user's name (admins; others only their own).")] = None,
    key: Annotated[str | None, Query(description="Only this API key (prefix sph_xxxxxxxx).")] = None,
    everyone: Annotated[bool, Query(alias="all", description="Everyone's usage (admins only).")] = False,
) -> Usage:
    user_id, key_id, name = await _scope_of_usage(request, principal, user, key, everyone)
    query = UsageFilter.between(since, until, days, user_id=user_id, api_key_id=key_id)
    admin = principal.role is Role.ADMIN
    labels = await account_labels(services(request).accounts, None if admin else principal.user_id)
    report = await UsageReports(services(request).database).report(query, labels, rows=0)
    return Usage.model_validate({**report.to_dict(), "user": name})


def _book(request: Request) -> BudgetBook:
    found = services(request)
    return BudgetBook(found.gateway.budgets, found.accounts)


def _listed(uses: list[BudgetUse]) -> BudgetList:
    return BudgetList(data=[Budget.model_validate(use.to_dict()) for use in uses])


@router.get("/budgets", summary="Every budget with its spend in the current period (admin)")
async def list_budgets(request: Request, _: Principal = Admin) -> BudgetList:
    return _listed(await _book(request).uses())


@router.put("/budgets/global", summary="Set the global daily and/or monthly limit (admin)")
async def set_global_budget(request: Request, change: BudgetChange, _: Principal = Admin) -> BudgetList:
    return _listed(
        await _book(request).set(
            Scope.GLOBAL, None, daily_usd=change.daily_usd, monthly_usd=change.monthly_usd
        )
    )


@router.put("/budgets/{scope}/{who}", summary="Set a user's (by name) or key's (by prefix) limits (admin)")
async def set_budget(
    request: Request, scope: Literal["user", "key"], who: str, change: BudgetChange, _: Principal = Admin
) -> BudgetList:
    book = _book(request)
    return _listed(
        await book.set(Scope(scope), who, daily_usd=change.daily_usd, monthly_usd=change.monthly_usd)
    )


@router.delete("/budgets/global", summary="Remove the global limits, or one period's (admin)")
async def clear_global_budget(
    request: Request, period: Period | None = None, _: Principal = Admin
) -> BudgetsCleared:
    return BudgetsCleared(removed=await _book(request).clear(Scope.GLOBAL, None, period))


@router.delete("/budgets/{scope}/{who}", summary="Remove a user's or key's limits, or one period's (admin)")
async def clear_budget(
    request: Request,
    scope: Literal["user", "key"],
    who: str,
    period: Period | None = None,
    _: Principal = Admin,
) -> BudgetsCleared:
    return BudgetsCleared(removed=await _book(request).clear(Scope(scope), who, period))
