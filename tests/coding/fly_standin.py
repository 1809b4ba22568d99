"""A Fly.io Machines stand-in that remembers each machine's image: an update changes what `GET machines` answers
next, so a deploy and its rollback can be followed. Requests and answers are checked against the Machines API
excerpt (tests/connectors/data/fly) by `SpecService`; `spec_app(service)` serves it over real HTTP."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx

from tests.connectors.openapi import SpecService
from tests.connectors.test_fly import SPEC, _routes, machine

M = "/apps/{app_name}/machines/{machine_id}"
OLD_IMAGES = {"3d8d9014b32e89": "registry.fly.io/web:v1", "148ed193b95589": "registry.fly.io/web:v0"}
"""Two machines on DIFFERENT images before a deploy, so a rollback must put each back on its own."""


def fly_service() -> SpecService:
    machines = {
        machine_id: machine(machine_id, f"2026-12-0{n}T10:00:00Z", image)
        for n, (machine_id, image) in enumerate(OLD_IMAGES.items(), 1)
    }

    def listed(request: httpx.Request) -> Any:
        return [copy.deepcopy(m) for m in machines.values()]

    def updated(request: httpx.Request) -> Any:
        machine_id = request.url.path.rsplit("/", 1)[1]
        config = json.loads(request.content)["config"]
        machines[machine_id] = {
            **machines[machine_id],
            "config": config,
            "instance_id": f"01HNEW{machine_id}",
        }
        return copy.deepcopy(machines[machine_id])

    routes = _routes()
    routes[("GET", "/apps/{app_name}/machines")] = listed
    routes[("POST", M)] = updated
    return SpecService(SPEC, routes)


def images_sent(service: SpecService) -> list[tuple[str, str]]:
    """(machine id, image) of every machine update the stand-in received, in order."""
    updates = [r for r in service.requests if r.method == "POST" and r.url.path.split("/")[-2] == "machines"]
    return [(r.url.path.rsplit("/", 1)[1], json.loads(r.content)["config"]["image"]) for r in updates]
