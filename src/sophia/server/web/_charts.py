"""Bar-chart geometry for server-rendered SVG; the template draws it, so every label passes through autoescaping."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "bar_chart"]


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: float
    baseline: float


def bar_chart(
    points: Sequence[tuple[str, float]], *, width: int = 640, height: int = 160, unit: str = ""
) -> BarChart:
    """One bar per point, scaled to the largest; labels thin out so they never overlap."""
    top, bottom = 12.0, 22.0
    plot = height - top - bottom
    peak = max((v for _, v in points), default=0.0)
    slot = width / max(1, len(points))
    gap = min(6.0, slot * 0.25)
    every = max(1, round(len(points) / 8))
    bars = []
    for i, (label, value) in enumerate(points):
        h = 0.0 if peak <= 0 else max(1.0 if value > 0 else 0.0, plot * value / peak)
        shown = label if i % every == 0 else ""
        bars.append(
            Bar(
                i * slot + gap / 2,
                top + plot - h,
                slot - gap,
                h,
                shown,
                value,
                f"{label}: {value:,.6g}{unit}",
            )
        )
    return BarChart(width, height, tuple(bars), peak, top + plot)
