"""The experiments page: each experiment's variants, outcomes and cost, the running-mean curves and the decision."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from sophia.gateway import Experiment, ExperimentBook
from sophia.server.web._guard import signed_in
from sophia.server.web._render import render
from sophia.server.web._sessions import WebSession
from sophia.server.web._state import web_state

router = APIRouter(tags=["web"], include_in_schema=False)
AnyUser = signed_in()
_WIDTH, _HEIGHT = 640.0, 160.0


@dataclass(frozen=True, slots=True)
class Curve:
    variant: str
    points: str  # an SVG polyline's points
    last: float


def _curves(series: dict[str, list[tuple[int, float]]]) -> list[Curve]:
    longest = max((pts[-1][0] for pts in series.values() if pts), default=1)
    curves = []
    for name, pts in series.items():
        coords = " ".join(f"{_WIDTH * n / longest:.1f},{_HEIGHT - _HEIGHT * mean:.1f}" for n, mean in pts)
        curves.append(Curve(name, coords, pts[-1][1] if pts else 0.0))
    return curves


@router.get("/experiments")
async def experiments_page(request: Request, me: WebSession = AnyUser) -> Response:
    book = ExperimentBook(web_state(request).services.database)
    shown: list[tuple[Experiment, dict[str, dict[str, float]], list[Curve]]] = []
    for experiment in reversed(await book.all()):
        shown.append((experiment, await book.costs(experiment), _curves(await book.curves(experiment))))
    return render(request, "experiments.html", experiments=shown, width=_WIDTH, height=_HEIGHT)
