"""`[bi.reports.NAME]`: scheduled business reports, when they come round and where they are delivered."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sophia.config._durations import seconds

__all__ = ["REPORT_KINDS", "BiSettings", "ReportSettings", "report_problems"]

REPORT_KINDS = ("pipeline", "at_risk", "coaching")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+([01]\d|2[0-3]):([0-5]\d)$")
_DESTINATION = re.compile(r"^(slack|telegram):([a-z][a-z0-9_]*)#(\S{1,200})$")


def _check_every(value: Any) -> str:
    """A duration ("1h", "7d", at least a minute) or a weekly time in UTC ("mon 08:00")."""
    text = str(value).strip().lower()
    if _WEEKLY.match(text):
        return text
    try:
        period = seconds(value)
    except ValueError:
        raise ValueError(
            'every is a duration ("1h", "1d", "7d") or a weekday and UTC time ("mon 08:00")'
        ) from None
    if not isinstance(period, int | float) or period < 60:
        raise ValueError("every must be at least a minute (60s)")
    return f"{float(period):g}s"


def _check_destination(value: str) -> str:
    if not _DESTINATION.match(value):
        raise ValueError(
            f'"{value[:80]}" is not a destination: "slack:CONNECTOR#CHANNEL_ID" or "telegram:CONNECTOR#CHAT_ID"'
        )
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSettings(_Section):
    """One scheduled report: its analysis, its period and its destinations."""

    kind: Literal["pipeline", "at_risk", "coaching"] = Field(
        description="pipeline (weekly pipeline), at_risk (riskiest accounts) or coaching (coaching digest)."
    )
    every: Annotated[str, AfterValidator(_check_every)] = Field(
        default="mon 08:00",
        description='A duration ("1d", "7d": periods aligned to the Unix epoch) or a weekday and UTC time.',
    )
    deliver: list[Annotated[str, AfterValidator(_check_destination)]] = Field(
        default_factory=list,
        description='Destinations: "slack:CONNECTOR#CHANNEL", "telegram:CONNECTOR#CHAT".',
    )
    source: str | None = Field(default=None, description="Only records of this connector (default: all).")
    top: int = Field(default=10, ge=1, le=50, description="Accounts or reps listed in the report.")

    @property
    def weekly(self) -> tuple[int, int, int] | None:
        """(weekday 0 = Monday, hour, minute) for a weekly spec, else None."""
        match = _WEEKLY.match(self.every)
        if match is None:
            return None
        return DAYS.index(match.group(1)), int(match.group(2)), int(match.group(3))

    @property
    def every_seconds(self) -> float:
        return 7 * 86400.0 if self.weekly else float(self.every.removesuffix("s"))

    def destinations(self) -> list[tuple[str, str, str]]:
        """(service, connector, channel or chat) for each destination."""
        out = []
        for text in self.deliver:
            match = _DESTINATION.match(text)
            assert match is not None  # checked at load
            out.append((match.group(1), match.group(2), match.group(3)))
        return out


class BiSettings(_Section):
    reports: dict[str, ReportSettings] = Field(
        default_factory=dict, description="Scheduled reports by name ([bi.reports.weekly_pipeline], …)."
    )


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def report_problems(bi: BiSettings, connectors: Mapping[str, Any]) -> list[str]:
    """Report names and destinations that name no configured connector of the right service."""
    problems = []
    for name, report in bi.reports.items():
        where = f"bi.reports.{name[:64]}"
        if not _NAME.match(name):
            problems.append(f"{where}: a report name is a lower-case word (letters, digits, _)")
        for i, (service, connector, _) in enumerate(report.destinations()):
            configured = connectors.get(connector)
            if configured is None:
                known = ", ".join(sorted(connectors)) or "none configured"
                problems.append(f'{where}.deliver[{i}]: unknown connector "{connector}" ({known})')
                continue
            kind = getattr(configured, "kind", None) or connector
            if kind != service:
                problems.append(f'{where}.deliver[{i}]: connector "{connector}" is {kind}, not {service}')
    return problems
