"""Dates a query names ("on 13 October, 2023", "in June", "in 2022"), as periods to match memories' session dates.

Conversation turns carry when they were said (`occurred_at`); a question that names a day, month or year is most
often answered by a turn said in that period or shortly after it ("last week" said a few days later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sophia.memory._model import Memory

_MONTH_NAMES = "january february march april may june july august september october november december".split()
_MONTH = (
    r"(?P<month>" + "|".join(m for m in _MONTH_NAMES) + "|" + "|".join(m[:3] for m in _MONTH_NAMES) + r")\.?"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS = (
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b", re.I),  # 13 October, 2023
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b", re.I),  # October 13, 2023
    re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b", re.I),  # October 2023
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b", re.I),  # 13 October
    re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?!\s*,?\s*(?:19|20)\d\d)", re.I),  # October 13
    re.compile(rf"\b(?:in|during|of|since|before|after)\s+{_MONTH}\b", re.I),  # in June
    re.compile(rf"\b{_YEAR}\b"),  # 2023
)
AFTER_SLACK = timedelta(days=10)
"""How long after a named period a turn still counts as about it (people tell of things days later)."""


@dataclass(frozen=True)
class Period:
    """A named span; `year` None means the month (or day) in any year."""

    year: int | None
    month: int | None
    day: int | None

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` falls in the period or within `AFTER_SLACK` after it."""
        for year in (moment.year, moment.year - 1) if self.year is None else (self.year,):
            start, end = self._span(year)
            if start <= moment < end + AFTER_SLACK:
                return True
        return False

    def _span(self, year: int) -> tuple[datetime, datetime]:
        if self.month is None:
            return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        if self.day is not None:
            start = datetime(year, self.month, 1, tzinfo=UTC) + timedelta(days=self.day - 1)
            return start, start + timedelta(days=1)
        start = datetime(year, self.month, 1, tzinfo=UTC)
        return start, (start + timedelta(days=32)).replace(day=1)


def _month_number(name: str) -> int:
    prefix = name.lower().rstrip(".")[:3]
    return next(i for i, m in enumerate(_MONTH_NAMES, start=1) if m.startswith(prefix))


def periods_in(query: str) -> tuple[Period, ...]:
    """Every period the query names, most specific reading first; overlapping text is read once."""
    found: list[Period] = []
    taken: list[tuple[int, int]] = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(query):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            parts = match.groupdict()
            day = int(parts["day"]) if parts.get("day") else None
            if day is not None and not 1 <= day <= 31:
                continue
            month = _month_number(parts["month"]) if parts.get("month") else None
            year = int(parts["year"]) if parts.get("year") else None
            if month == 5 and day is None and year is None and match.group(0).lower().endswith("may"):
                if not re.search(r"\b(?:in|during|of|since|before|after)\s+may\b", query, re.I):
                    continue  # "may" the verb
            taken.append((match.start(), match.end()))
            found.append(Period(year, month, day))
    return tuple(found)


def said_in(memory: Memory, periods: tuple[Period, ...]) -> bool:
    moment = memory.occurred_at
    return moment is not None and any(period.contains(moment) for period in periods)
