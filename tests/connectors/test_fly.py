"""Fly.io Machines against a double answering as the Machines API reference documents; requests are checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.connectors import (
    ConnectorAuthError,
    ConnectorNotFound,
    ConnectorUnavailable,
    DryRunStop,
    call_scope,
)
from tests.connectors.infra_kit import DATA, connect
from tests.connectors.openapi import OpenApi, SpecService

TOKEN = "fly-token-5ecret-fake"
SECRET_VALUE = "postgres://u:very-5ecret-value-fake@db/x"
SPEC = OpenApi(DATA / "fly" / "openapi.json", base="/v1")
A = "/apps/{app_name}"
M = A + "/machines/{machine_id}"


def machine(machine_id: str, created: str, image: str = "registry.fly.io/web:v1") -> dict[str, Any]:
    return {
        "id": machine_id,
        "name": f"m-{machine_id}",
        "state": "started",
        "region": "ams",
        "instance_id": f"01H{machine_id}",
        "private_ip": "fdaa:0:3ec2:a7b:8566:845e:9f47:2",
        "config": {
            "image": image,
            "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
            "env": {"PORT": "8080"},
        },
        "image_ref": {"registry": "registry.fly.io", "repository": "web", "tag": "v1"},
        "created_at": created,
        "events": [{"type": "start", "status": "started", "source": "user", "timestamp": 1652987256000}],
    }


MACHINES = [
    machine("3d8d9014b32e89", "2026-12-01T10:00:00Z"),
    machine("148ed193b95589", "2026-12-02T10:00:00Z"),
]
VOLUME = {
    "id": "vol_1234",
    "name": "data",
    "state": "created",
    "region": "ams",
    "size_gb": 1,
    "encrypted": True,
    "attached_machine_id": "148ed193b95589",
    "created_at": "2026-12-01T10:00:00Z",
}


def _routes() -> dict[tuple[str, str], Any]:
    def created(request: httpx.Request) -> Any:
        body = json.loads(request.content)
        return machine("new0000000001", "2026-12-06T10:00:00Z", body["config"]["image"])

    def updated(request: httpx.Request) -> Any:
        body = json.loads(request.content)
        return {
            **machine(request.url.path.rsplit("/", 1)[1], "2026-12-01T10:00:00Z", body["config"]["image"]),
            "instance_id": "01HNEW",
        }

    def lease(request: httpx.Request) -> Any:
        machine_id = request.url.path.split("/")[-2]
        return {"nonce": f"nonce-{machine_id}", "expires_at": 1765000000, "owner": "ada", "version": "1"}

    return {
        ("GET", "/apps"): {
            "total_apps": 1,
            "apps": [{"id": "web", "name": "web", "machine_count": 2, "network": "default"}],
        },
        ("POST", "/apps"): (201, {}, None),
        ("GET", A): {
            "id": "web",
            "name": "web",
            "status": "deployed",
            "organization": {"name": "Ada", "slug": "personal"},
        },
        ("GET", A + "/machines"): MACHINES,
        ("POST", A + "/machines"): created,
        ("GET", M): MACHINES[0],
        ("POST", M): updated,
        ("DELETE", M): {"ok": True},
        ("POST", M + "/start"): {"previous_state": "stopped"},
        ("POST", M + "/stop"): {"ok": True},
        ("POST", M + "/restart"): {"ok": True},
        ("GET", M + "/wait"): {"ok": True},
        ("POST", M + "/lease"): lease,
        ("DELETE", M + "/lease"): {"ok": True},
        ("GET", A + "/volumes"): [VOLUME],
        ("POST", A + "/volumes"): VOLUME,
        ("DELETE", A + "/volumes/{volume_id}"): VOLUME,
        ("GET", A + "/secrets"): {
            "secrets": [
                {
                    "name": "DATABASE_URL",
                    "digest": "0c8f1b2a",
                    "created_at": "2026-12-01T10:00:00Z",
                    "updated_at": "2026-12-01T10:00:00Z",
                }
            ]
        },
        ("POST", A + "/secrets"): {"ok": True},
        ("DELETE", A + "/secrets/{secret_name}"): {"ok": True},
    }


@pytest.fixture
def service() -> SpecService:
    return SpecService(SPEC, _routes())


def _fly(home: Path, service: SpecService) -> Any:
    return connect(home, "fly", TOKEN, service, options={"org_slug": "personal"})


async def test_apps_machines_and_volumes_are_listed_compactly(home: Path, service: SpecService) -> None:
    fly = _fly(home, service)
    assert (await fly.check()).ok and service.requests[0].url.params["org_slug"] == "personal"
    assert service.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert (await fly.apps())[0] == {"id": "web", "name": "web", "machine_count": 2, "network": "default"}
    assert (await fly.app("web"))["org"] == "personal"
    listed = await fly.machines("web")
    assert [m["id"] for m in listed] == ["3d8d9014b32e89", "148ed193b95589"] and listed[0][
        "image"
    ] == "registry.fly.io/web:v1"
    assert (await fly.machine("web", "3d8d9014b32e89"))["events"][0]["status"] == "started"
    assert (await fly.volumes("web"))[0]["size_gb"] == 1
    status = await fly.status("web")
    assert status["consistent"] and status["images"] == ["registry.fly.io/web:v1"]


async def test_machine_lifecycle_calls_follow_the_reference(home: Path, service: SpecService) -> None:
    fly = _fly(home, service)
    made = await fly.create_machine("web", "registry.fly.io/web:v2", region="ams", memory_mb=512)
    assert made["image"] == "registry.fly.io/web:v2"
    assert json.loads(service.sent("POST", "/machines")[0].content) == {
        "config": {
            "image": "registry.fly.io/web:v2",
            "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 512},
        },
        "region": "ams",
    }
    for verb in ("start", "stop", "restart"):
        assert (await getattr(fly, verb)("web", "3d8d9014b32e89"))["requested"] == verb
    assert await fly.destroy("web", "3d8d9014b32e89", force=True) == {"destroyed": "3d8d9014b32e89"}
    assert service.requests[-1].url.params["force"] == "true"
    assert (await fly.create_volume("web", "data", "ams", 3))["id"] == "vol_1234"
    assert await fly.delete_volume("web", "vol_1234") == {"deleted": "vol_1234"}
    await fly.create_app("web2", network="isolated")
    assert json.loads(service.sent("POST", "/apps")[0].content) == {
        "app_name": "web2",
        "org_slug": "personal",
        "network": "isolated",
    }


async def test_scaling_clones_the_newest_machine_or_destroys_the_newest_surplus(
    home: Path, service: SpecService
) -> None:
    fly = _fly(home, service)
    up = await fly.scale("web", 3)
    assert up == {"count": 3, "added": ["new0000000001"], "destroyed": []}
    clone = json.loads(service.sent("POST", "/machines")[0].content)
    assert clone["config"] == MACHINES[1]["config"] and clone["region"] == "ams"
    down = await fly.scale("web", 1)
    assert down == {"count": 1, "added": [], "destroyed": ["148ed193b95589"]}
    assert {s.name: s.effect.value for s, _ in fly.action_methods()}["machines.scale"] == "destroy"


async def test_deploy_updates_each_machine_image_under_a_lease_and_waits_for_it(
    home: Path, service: SpecService
) -> None:
    fly = _fly(home, service)
    result = await fly.deploy("web", "registry.fly.io/web:v2")
    assert [m["id"] for m in result["machines"]] == ["3d8d9014b32e89", "148ed193b95589"]
    updates = [r for r in service.requests if r.method == "POST" and not r.url.path.endswith("/lease")]
    assert all(json.loads(r.content)["config"]["image"] == "registry.fly.io/web:v2" for r in updates)
    assert json.loads(updates[0].content)["config"]["env"] == {"PORT": "8080"}, (
        "the rest of the config is kept"
    )
    assert [u.headers["fly-machine-lease-nonce"] for u in updates] == [
        "nonce-3d8d9014b32e89",
        "nonce-148ed193b95589",
    ]
    released = service.sent("DELETE", "/lease")
    assert [r.headers["fly-machine-lease-nonce"] for r in released] == [
        "nonce-3d8d9014b32e89",
        "nonce-148ed193b95589",
    ]
    waits = service.sent("GET", "/wait")
    assert [w.url.params["instance_id"] for w in waits] == ["01HNEW", "01HNEW"] and waits[0].url.params[
        "state"
    ] == "started"


async def test_a_machine_that_does_not_start_rolls_the_deploy_back(home: Path) -> None:
    routes = _routes()
    update, images_now = routes[("POST", M)], dict[str, str]()

    def updated(request: httpx.Request) -> Any:
        images_now[request.url.path.rsplit("/", 1)[1]] = json.loads(request.content)["config"]["image"]
        return update(request)

    def wait(request: httpx.Request) -> Any:
        machine_id = request.url.path.split("/")[-2]
        if machine_id == "148ed193b95589" and images_now[machine_id].endswith(":v2"):  # v2 never starts there
            return (408, {}, {"error": "deadline_exceeded: timeout waiting for machine to be started"})
        return {"ok": True}

    service = SpecService(SPEC, {**routes, ("POST", M): updated, ("GET", M + "/wait"): wait})
    fly = _fly(home, service)
    with pytest.raises(ConnectorUnavailable, match="2 of 2 machines were put back") as failed:
        await fly.deploy("web", "registry.fly.io/web:v2")
    assert "148ed193b95589" in failed.value.message
    images = [
        (r.url.path.rsplit("/", 1)[1], json.loads(r.content)["config"]["image"])
        for r in service.requests
        if r.method == "POST" and r.url.path.split("/")[-2] == "machines"
    ]
    old = MACHINES[0]["config"]["image"]
    assert images == [
        ("3d8d9014b32e89", "registry.fly.io/web:v2"),
        ("148ed193b95589", "registry.fly.io/web:v2"),
        ("148ed193b95589", MACHINES[1]["config"]["image"]),
        ("3d8d9014b32e89", old),
    ]
    assert len(service.sent("DELETE", "/lease")) == len(service.sent("POST", "/lease")) == 4


async def test_secrets_show_names_only_and_a_set_never_shows_the_value(
    home: Path, service: SpecService
) -> None:
    fly = _fly(home, service)
    assert await fly.secrets("web") == [
        {"name": "DATABASE_URL", "digest": "0c8f1b2a", "updated_at": "2026-12-01T10:00:00Z"}
    ]
    with call_scope(dry_run=True, tool="fly.secrets.set", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await fly.set_secrets("web", {"DATABASE_URL": SECRET_VALUE})
    assert SECRET_VALUE not in json.dumps(stopped.value.preview.to_record()) and TOKEN not in json.dumps(
        stopped.value.preview.to_record()
    )
    assert await fly.set_secrets("web", {"DATABASE_URL": SECRET_VALUE}) == {"set": ["DATABASE_URL"]}
    assert await fly.unset_secret("web", "DATABASE_URL") == {"unset": "DATABASE_URL"}


@pytest.mark.parametrize(
    ("action", "arguments", "method", "path"),
    [
        ("create_app", ("web2",), "POST", "/v1/apps"),
        ("create_machine", ("web", "img"), "POST", "/v1/apps/web/machines"),
        ("start", ("web", "m1"), "POST", "/v1/apps/web/machines/m1/start"),
        ("stop", ("web", "m1"), "POST", "/v1/apps/web/machines/m1/stop"),
        ("restart", ("web", "m1"), "POST", "/v1/apps/web/machines/m1/restart"),
        ("destroy", ("web", "m1"), "DELETE", "/v1/apps/web/machines/m1"),
        ("scale", ("web", 1), "DELETE", "/v1/apps/web/machines/148ed193b95589"),
        ("create_volume", ("web", "d", "ams"), "POST", "/v1/apps/web/volumes"),
        ("delete_volume", ("web", "v1"), "DELETE", "/v1/apps/web/volumes/v1"),
        ("unset_secret", ("web", "X"), "DELETE", "/v1/apps/web/secrets/X"),
        ("deploy", ("web", "img:v2"), "POST", "/v1/apps/web/machines/3d8d9014b32e89/lease"),  # lease first
    ],
)
async def test_every_write_dry_runs_and_sends_only_reads(
    home: Path, service: SpecService, action: str, arguments: tuple[Any, ...], method: str, path: str
) -> None:
    fly = _fly(home, service)
    with call_scope(dry_run=True, tool=f"fly.{action}", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await getattr(fly, action)(*arguments)
    assert all(r.method == "GET" for r in service.requests)
    preview = stopped.value.preview
    assert preview.method == method and httpx.URL(preview.url).path == path


async def test_errors_are_typed_and_a_429_waits_as_told(home: Path, service: SpecService) -> None:
    fly = _fly(home, service.fail((401, {}, {"error": "Authenticate: token validation error"})))
    with pytest.raises(ConnectorAuthError, match="token validation error"):
        await fly.apps()
    service.fail((404, {}, {"error": "machine not found"}))
    with pytest.raises(ConnectorNotFound, match="machine not found"):
        await fly.machine("web", "nope")
    service.fail((429, {"retry-after": "3"}, {"error": "rate limit exceeded"}))
    assert await fly.machines("web")
    assert 3.0 in fly.http._sleep.delays
    service.fail(*[(500, {}, {"error": "internal"})] * 4)
    with pytest.raises(ConnectorUnavailable):
        await fly.machines("web")
    service.fail((503, {}, {"error": "unavailable"}))
    with pytest.raises(ConnectorUnavailable):
        await fly.create_machine("web", "img")
    assert len(service.sent("POST", "/machines")) == 1


def test_a_flyv1_macaroon_token_is_sent_as_it_is(home: Path) -> None:
    import asyncio

    service = SpecService(SPEC, _routes())
    fly = connect(home, "fly", "FlyV1 fm2_abc", service)
    asyncio.run(fly.apps())
    assert service.requests[0].headers["authorization"] == "FlyV1 fm2_abc"
