"""Rendering a report: markdown whose every number comes from an analysis, a Vega-Lite spec and its PNG.

The PNG is drawn by vl-convert (Vega-Lite compiled and rendered in-process, no browser, no network), in a thread so
the event loop keeps serving."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sophia.bi._churn import ChurnModel
from sophia.bi._forecast import pipeline_forecast, stage_probabilities
from sophia.bi._load import account_health, churn_model_path, load_coach
from sophia.business import BusinessStore
from sophia.config import ReportSettings

__all__ = ["RenderedReport", "png_of", "render_report"]

_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


@dataclass(frozen=True)
class RenderedReport:
    text: str
    spec: dict[str, Any]
    png: bytes


def _bar_spec(title: str, rows: list[dict[str, Any]], x: str, y: str, y_title: str) -> dict[str, Any]:
    return {
        "$schema": _SCHEMA,
        "title": title,
        "width": 480,
        "height": 240,
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": x, "type": "nominal", "sort": None, "axis": {"labelAngle": -30}},
            "y": {"field": y, "type": "quantitative", "title": y_title},
        },
    }


async def _pipeline(store: BusinessStore, report: ReportSettings) -> tuple[str, dict[str, Any]]:
    frames = await store.frames(source=report.source, kinds=("deals", "deal_stages"))
    forecast = pipeline_forecast(frames["deals"], stage_probabilities(frames["deals"], frames["deal_stages"]))
    lines = [
        "# Weekly pipeline",
        "",
        f"Open pipeline: **{forecast.open_deals}** deals, expected value **{forecast.expected:,.0f}** "
        "(amount × P(won) learned from closed deals' stage history).",
        "",
        "| stage | deals | amount | P(won) | expected |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    rows = []
    for label, slot in forecast.by_stage.items():
        lines.append(
            f"| {label} | {slot['deals']:.0f} | {slot['amount']:,.0f} | {slot['probability']:.2f} "
            f"| {slot['expected']:,.0f} |"
        )
        rows.append({"stage": label, "expected": round(slot["expected"], 2)})
    return "\n".join(lines), _bar_spec(
        "Expected pipeline by stage", rows, "stage", "expected", "expected value"
    )


async def _at_risk(
    store: BusinessStore, report: ReportSettings, home: Path, now: datetime
) -> tuple[str, dict[str, Any]]:
    model = ChurnModel.load(churn_model_path(home))
    scored = (await account_health(store, model, now, source=report.source))[: report.top]
    accounts = await store.frames(source=report.source, kinds=("accounts",))
    names = {str(a["source_id"]): a.get("name") for a in accounts["accounts"]}
    lines = [
        "# At-risk accounts",
        "",
        f"The {len(scored)} accounts with the highest churn probability (model held-out AUC "
        f"{model.metrics.get('auc', 0.0):.3f}).",
        "",
        "| account | churn | health | top drivers |",
        "| --- | ---: | ---: | --- |",
    ]
    rows = []
    for health in scored:
        label = str(names.get(health.account_id) or health.account_id)
        drivers = ", ".join(name for name, _ in health.drivers()) or "none"
        lines.append(f"| {label} | {health.churn_probability:.0%} | {health.score:.1f} | {drivers} |")
        rows.append({"account": label, "churn": round(health.churn_probability, 4)})
    return "\n".join(lines), _bar_spec("Churn probability", rows, "account", "churn", "P(churn)")


async def _coaching(store: BusinessStore, report: ReportSettings) -> tuple[str, dict[str, Any]]:
    team = await load_coach(store, source=report.source)
    reps = sorted(team.reps.values(), key=lambda r: -r.calls)[: report.top]
    lines = ["# Coaching digest", ""]
    if team.team is not None:
        lines.append(
            f"Team: talk ratio {team.team.talk_ratio:.2f}, {team.team.questions_per_call:.1f} questions per call "
            f"over {team.team.calls} calls."
        )
    lines += [
        "",
        "| rep | calls | talk ratio | vs team | questions/call | vs team |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = []
    for rep in reps:
        diff = team.versus_team(rep)
        label = rep.name or str(rep.rep_id)
        lines.append(
            f"| {label} | {rep.calls} | {rep.talk_ratio:.2f} | {diff['talk_ratio']:+.2f} "
            f"| {rep.questions_per_call:.1f} | {diff['questions_per_call']:+.1f} |"
        )
        rows.append({"rep": label, "talk_ratio": round(rep.talk_ratio, 4)})
    return "\n".join(lines), _bar_spec("Talk ratio by rep", rows, "rep", "talk_ratio", "talk ratio")


def _png(spec: dict[str, Any]) -> bytes:
    import vl_convert

    png: bytes = vl_convert.vegalite_to_png(spec, scale=1.0)
    return png


async def png_of(spec: dict[str, Any]) -> bytes:
    return await asyncio.to_thread(_png, spec)


async def render_report(
    store: BusinessStore, report: ReportSettings, *, home: Path, now: datetime
) -> RenderedReport:
    """The report's text and chart from the business tables as they stand at `now`."""
    if report.kind == "pipeline":
        text, spec = await _pipeline(store, report)
    elif report.kind == "at_risk":
        text, spec = await _at_risk(store, report, home, now)
    else:
        text, spec = await _coaching(store, report)
    return RenderedReport(text, spec, await png_of(spec))
