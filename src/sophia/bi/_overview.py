"""The executive overview: KPI cards (open pipeline, weighted forecast, bookings against the forecast, at-risk
ARR, coaching trend) and their Vega-Lite charts, from the same analyses the other surfaces show."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["AT_RISK", "at_risk_arr", "bookings_chart", "coaching_trend", "trend_chart"]

AT_RISK = 0.5
"""Churn probability from which an account counts as at risk."""
_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
Row = Mapping[str, Any]


def at_risk_arr(health: Sequence[Row], accounts: Sequence[Row]) -> tuple[float, list[str]]:
    """Annual revenue of the accounts at risk, and their ids (riskiest first)."""
    revenue = {str(a["source_id"]): float(a.get("annual_revenue") or 0.0) for a in accounts}
    risky = [str(h["account_id"]) for h in health if float(h["churn_probability"]) >= AT_RISK]
    return sum(revenue.get(i, 0.0) for i in risky), risky


def coaching_trend(calls: Sequence[Row], metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per month: the team's calls, mean talk ratio and questions per call (from each call's metrics)."""
    months: dict[str, list[Any]] = defaultdict(list)
    for call in calls:
        found = metrics.get(str(call["source_id"]))
        started = call.get("started_at")
        if found is not None and started is not None:
            months[str(started)[:7]].append(found)
    return [
        {
            "month": month,
            "calls": len(found),
            "talk_ratio": sum(m.talk_ratio for m in found) / len(found),
            "questions_per_call": sum(m.questions for m in found) / len(found),
        }
        for month, found in sorted(months.items())
    ]


def bookings_chart(history: Mapping[str, float], points: Sequence[Row]) -> dict[str, Any]:
    """Monthly bookings and the forecast's mean with its interval band."""
    values = [{"month": m, "series": "bookings", "amount": v} for m, v in history.items()]
    values += [
        {
            "month": p["month"],
            "series": "forecast",
            "amount": p["mean"],
            "lower": p["lower"],
            "upper": p["upper"],
        }
        for p in points
    ]
    x = {"field": "month", "type": "temporal", "title": None}
    return {
        "$schema": _SCHEMA,
        "width": 520,
        "height": 180,
        "data": {"values": values},
        "layer": [
            {
                "transform": [{"filter": "datum.series == 'forecast'"}],
                "mark": {"type": "area", "opacity": 0.25},
                "encoding": {
                    "x": x,
                    "y": {"field": "lower", "type": "quantitative"},
                    "y2": {"field": "upper"},
                },
            },
            {
                "mark": "line",
                "encoding": {
                    "x": x,
                    "y": {"field": "amount", "type": "quantitative", "title": "bookings"},
                    "color": {"field": "series", "type": "nominal", "title": None},
                },
            },
        ],
    }


def trend_chart(trend: Sequence[Row], field: str = "talk_ratio") -> dict[str, Any]:
    return {
        "$schema": _SCHEMA,
        "width": 520,
        "height": 140,
        "data": {"values": list(trend)},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "month", "type": "temporal", "title": None},
            "y": {"field": field, "type": "quantitative", "title": field.replace("_", " ")},
        },
    }
