"""Response shapes for the OpenAPI document, so clients and schemathesis know what every route answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str
    param: str | None
    request_id: str | None


class ErrorBody(BaseModel):
    """Every error, on every route: a superset of OpenAI's error shape."""

    error: ErrorDetail


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


class OpenObject(BaseModel):
    """A JSON object whose fields follow an upstream format (OpenAI's), documented there."""

    model_config = ConfigDict(extra="allow")


_ERROR_TEXT = {
    400: "Malformed request",
    401: "Missing or invalid API key",
    403: "Role or scope does not allow this",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Request body does not match the schema",
    429: "Rate limit or budget exceeded",
    500: "Internal error",
    502: "A model provider failed",
    503: "No model or dependency available",
    504: "A model provider timed out",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, all with the one error shape."""
    return {status: {"model": ErrorBody, "description": _ERROR_TEXT[status]} for status in statuses}


def ok(model: type[BaseModel], description: str = "Success") -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}}


def _no_bool(value: object) -> object:
    """JSON true/false is not a number; pydantic's lax mode would read it as 1/0."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Number = BeforeValidator(_no_bool)
"""Annotate numeric request fields with it: `Annotated[int, Number]`."""


def _in_utc_range(value: datetime) -> datetime:
    """Aware times are normalised to UTC here, so one near year 1 or 9999 is a 422, not an overflow later."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("the time is outside the years 1 to 9999 once converted to UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_in_utc_range)]
"""A request datetime that is representable in UTC; naive values are taken as UTC."""

MAX_TTL_SECONDS = 100 * 365 * 24 * 3600
"""A century: longer lifetimes would overflow the calendar when added to now."""
