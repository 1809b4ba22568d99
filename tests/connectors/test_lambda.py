"""Lambda Cloud against a double answering as its OpenAPI document (1.8.3) shows; every request is checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sophia.connectors import (
    ConnectorAuthError,
    ConnectorNotFound,
    ConnectorRateLimited,
    ConnectorUnavailable,
    call_scope,
    connector_kind,
)
from tests.connectors.infra_kit import DATA, connect
from tests.connectors.openapi import OpenApi, SpecService

KEY = "secret_lambda-key-5ecret-fake"
SPEC = OpenApi(DATA / "lambda" / "openapi.json")
TYPE = {
    "name": "gpu_1x_a100_sxm4",
    "description": "1x A100 (40 GB SXM4)",
    "gpu_description": "A100 (40 GB SXM4)",
    "price_cents_per_hour": 129,
    "specs": {"vcpus": 30, "memory_gib": 200, "storage_gib": 512, "gpus": 1},
}
REGION = {"name": "us-east-1", "description": "Virginia, USA"}
AVAILABLE = {"available": True}
INSTANCE = {
    "id": "0920582c7ff041399e34823a0be62549",
    "name": "trainer",
    "ip": "198.51.100.2",
    "status": "active",
    "ssh_key_names": ["ada"],
    "file_system_names": ["shared"],
    "region": REGION,
    "instance_type": TYPE,
    "jupyter_token": "fake-jupyter-token-53968f12",
    "jupyter_url": "https://jupyter-3ac4c5c6-9026.lambdaspaces.com",
    "actions": {k: AVAILABLE for k in ("migrate", "rebuild", "restart", "cold_reboot", "terminate")},
}
FILE_SYSTEM = {
    "id": "398578a2336b49079e74043f0bd2cfe8",
    "name": "shared",
    "mount_point": "/lambda/nfs/shared",
    "created": "2023-02-24T20:48:56+00:00",
    "created_by": {"id": "3da5a70a57a7422ea8a7203f98b2198b", "email": "ada@example.com", "status": "active"},
    "is_in_use": False,
    "region": REGION,
    "bytes_used": 2147483648,
}
ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api/v1/instance-types"): {
        "data": {
            "gpu_1x_a100_sxm4": {"instance_type": TYPE, "regions_with_capacity_available": [REGION]},
            "gpu_8x_h100_sxm5": {
                "instance_type": {**TYPE, "name": "gpu_8x_h100_sxm5", "price_cents_per_hour": 2392},
                "regions_with_capacity_available": [],
            },
        }
    },
    ("GET", "/api/v1/instances"): {"data": [INSTANCE]},
    ("GET", "/api/v1/instances/{id}"): {"data": INSTANCE},
    ("POST", "/api/v1/instance-operations/launch"): {"data": {"instance_ids": [INSTANCE["id"]]}},
    ("POST", "/api/v1/instance-operations/restart"): {"data": {"restarted_instances": [INSTANCE]}},
    ("POST", "/api/v1/instance-operations/terminate"): {
        "data": {"terminated_instances": [{**INSTANCE, "status": "terminating"}]}
    },
    ("GET", "/api/v1/ssh-keys"): {
        "data": [
            {"id": "ddf9a910ceb744a0bb95242cbba6cb50", "name": "ada", "public_key": "ssh-ed25519 AAAA ada"}
        ]
    },
    ("POST", "/api/v1/ssh-keys"): {"data": {"id": "k2", "name": "bob", "public_key": "ssh-ed25519 BBBB bob"}},
    ("DELETE", "/api/v1/ssh-keys/{id}"): (200, {}, {"data": {}}),
    ("GET", "/api/v1/file-systems"): {"data": [FILE_SYSTEM]},
    ("POST", "/api/v1/filesystems"): {"data": FILE_SYSTEM},
    ("DELETE", "/api/v1/filesystems/{id}"): {"data": {"deleted_ids": [FILE_SYSTEM["id"]]}},
}
UNAUTHORIZED = (
    401,
    {},
    {
        "error": {
            "code": "global/invalid-api-key",
            "message": "API key was invalid, expired, or deleted.",
            "suggestion": "Check your API key or create a new one, then try again.",
        }
    },
)


def _lambda(home: Path, service: SpecService) -> Any:
    connector = connect(home, "lambda", KEY, service)
    assert connector.kind == "lambda" and connector.group == "infra"
    return connector


@pytest.fixture
def service() -> SpecService:
    return SpecService(SPEC, dict(ROUTES))


async def test_instance_types_show_prices_and_live_capacity_sorted_available_first(
    home: Path, service: SpecService
) -> None:
    lam = _lambda(home, service)
    types = await lam.instance_types()
    assert [t["name"] for t in types] == ["gpu_1x_a100_sxm4", "gpu_8x_h100_sxm5"]
    assert types[0]["price_usd_per_hour"] == 1.29 and types[0]["regions_available"] == ["us-east-1"]
    assert [t["name"] for t in await lam.instance_types(available_only=True)] == ["gpu_1x_a100_sxm4"]
    assert service.requests[0].headers["authorization"] == f"Bearer {KEY}"


async def test_instances_are_compact_and_never_carry_the_jupyter_token(
    home: Path, service: SpecService
) -> None:
    lam = _lambda(home, service)
    listed = await lam.list_instances()
    assert listed[0]["id"] == INSTANCE["id"] and listed[0]["type"] == "gpu_1x_a100_sxm4"
    assert listed[0]["region"] == "us-east-1" and listed[0]["ip"] == "198.51.100.2"
    assert INSTANCE["jupyter_token"] not in json.dumps(listed)
    assert (await lam.get_instance(INSTANCE["id"]))["status"] == "active"


async def test_launch_restart_terminate_send_the_documented_bodies(home: Path, service: SpecService) -> None:
    lam = _lambda(home, service)
    launched = await lam.launch("us-east-1", "gpu_1x_a100_sxm4", ["ada"], ["shared"], name="trainer")
    assert launched == {"instance_ids": [INSTANCE["id"]]}
    body = json.loads(service.sent("POST", "/launch")[0].content)
    assert body == {
        "region_name": "us-east-1",
        "instance_type_name": "gpu_1x_a100_sxm4",
        "ssh_key_names": ["ada"],
        "file_system_names": ["shared"],
        "name": "trainer",
    }
    assert (await lam.restart([INSTANCE["id"]]))["restarted"][0]["id"] == INSTANCE["id"]
    assert (await lam.terminate([INSTANCE["id"]]))["terminated"][0]["status"] == "terminating"


async def test_keys_and_file_systems(home: Path, service: SpecService) -> None:
    lam = _lambda(home, service)
    assert await lam.ssh_keys() == [{"id": "ddf9a910ceb744a0bb95242cbba6cb50", "name": "ada"}]
    assert await lam.add_ssh_key("bob", "ssh-ed25519 BBBB bob") == {"id": "k2", "name": "bob"}
    assert await lam.delete_ssh_key("k2") == {"deleted": "k2"}
    assert (await lam.file_systems())[0]["mount_point"] == "/lambda/nfs/shared"
    assert (await lam.create_file_system("shared", "us-east-1"))["id"] == FILE_SYSTEM["id"]
    assert await lam.delete_file_system(FILE_SYSTEM["id"]) == {"deleted": [FILE_SYSTEM["id"]]}


@pytest.mark.parametrize(
    ("action", "arguments", "method", "path"),
    [
        ("launch", ("us-east-1", "gpu_1x_a100_sxm4", ["ada"]), "POST", "/api/v1/instance-operations/launch"),
        ("restart", (["i-1"],), "POST", "/api/v1/instance-operations/restart"),
        ("terminate", (["i-1"],), "POST", "/api/v1/instance-operations/terminate"),
        ("add_ssh_key", ("bob", "ssh-ed25519 BBBB"), "POST", "/api/v1/ssh-keys"),
        ("delete_ssh_key", ("k2",), "DELETE", "/api/v1/ssh-keys/k2"),
        ("create_file_system", ("fs", "us-east-1"), "POST", "/api/v1/filesystems"),
        ("delete_file_system", ("fs-1",), "DELETE", "/api/v1/filesystems/fs-1"),
    ],
)
async def test_every_write_dry_runs_without_sending(
    home: Path, service: SpecService, action: str, arguments: tuple[Any, ...], method: str, path: str
) -> None:
    from sophia.connectors import DryRunStop

    lam = _lambda(home, service)
    with call_scope(dry_run=True, tool=f"lambda.{action}", arguments={}, run_id=None):
        with pytest.raises(DryRunStop) as stopped:
            await getattr(lam, action)(*arguments)
    assert service.requests == []
    preview = stopped.value.preview
    assert preview.method == method and httpx.URL(preview.url).path == path
    assert KEY not in json.dumps(preview.to_record())
    if method == "POST":
        SPEC.check_request(httpx.Request(method, preview.url, json=preview.body))


async def test_a_429_is_retried_after_the_wait_lambda_names(home: Path, service: SpecService) -> None:
    lam = _lambda(
        home,
        service.fail(
            (
                429,
                {"retry-after": "2"},
                {"error": {"code": "global/quota-exceeded", "message": "Too many requests"}},
            )
        ),
    )
    assert len(await lam.list_instances()) == 1
    assert len(service.requests) == 2 and 2.0 in lam.http._sleep.delays  # type: ignore[attr-defined]


async def test_a_bad_key_a_missing_instance_and_an_outage_are_typed(home: Path, service: SpecService) -> None:
    lam = _lambda(home, service.fail(UNAUTHORIZED))
    with pytest.raises(ConnectorAuthError, match="API key was invalid"):
        await lam.check()
    service.fail(
        (
            404,
            {},
            {
                "error": {
                    "code": "global/object-does-not-exist",
                    "message": "Specified instance does not exist.",
                }
            },
        )
    )
    with pytest.raises(ConnectorNotFound, match="does not exist"):
        await lam.get_instance("nope")
    service.fail(*[(502, {}, {"error": {"code": "global/unknown", "message": "Bad gateway"}})] * 4)
    with pytest.raises(ConnectorUnavailable):
        await lam.list_instances()
    service.fail((503, {}, {"error": {"code": "global/unknown", "message": "down"}}))
    with pytest.raises(ConnectorUnavailable):
        await lam.launch("us-east-1", "gpu_1x_a100_sxm4", ["ada"])
    assert len(service.sent("POST", "/launch")) == 1, "a launch that may have happened is never sent twice"


async def test_a_wait_longer_than_the_limit_fails_fast(home: Path, service: SpecService) -> None:
    lam = _lambda(home, service.fail((429, {"retry-after": "600"}, {"error": {"message": "slow down"}})))
    with pytest.raises(ConnectorRateLimited) as limited:
        await lam.list_instances()
    assert limited.value.retry_after == 600


def test_the_documented_pace_is_one_request_a_second() -> None:
    assert connector_kind("lambda").default_requests_per_second == 1.0
