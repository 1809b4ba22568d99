"""`sophia serve` as a user meets it: embedded defaults, health, request ids, one error shape, clean failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.serving import Server, clean_env, running_sophia, sophia


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("serve")
    with running_sophia(clean_env(home), home) as running:
        yield running


def test_serve_on_embedded_defaults_is_live_and_ready(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
    assert (Path(server.env["SOPHIA_HOME"]) / "sophia.db").is_file()


def test_request_id_is_echoed_and_logged(server: Server) -> None:
    response = httpx.get(f"{server.url}/healthz", headers={"x-request-id": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert generated.startswith("req_")
    lines = [orjson.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert any(entry.get("request_id") == "trace-me-123" and entry.get("status") == 200 for entry in lines)


def test_every_error_has_one_json_shape(server: Server) -> None:
    missing = httpx.get(f"{server.url}/no/such/route")
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"message", "type", "code", "param", "request_id"}
    unauthorised = httpx.get(f"{server.url}/v1/models")
    assert unauthorised.status_code == 401
    assert unauthorised.json()["error"]["type"] == "authentication_error"
    assert unauthorised.headers["www-authenticate"] == "Bearer"
    wrong_method = httpx.delete(f"{server.url}/healthz")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "method_not_allowed"


def test_broken_config_refuses_to_serve_with_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text("[server]\nport = 'eighty'\nbogus = 1\n", encoding="utf-8")
    result = sophia(clean_env(tmp_path), "--config", str(config), "serve", check=False)
    assert result.returncode == 2
    assert "server.port:" in result.stderr and "server.bogus: unknown setting" in result.stderr
    assert "Traceback" not in result.stderr
