"""`[tools]` in sophia.toml: the approval policy, web.fetch's allowed hosts and workspace roots, all read and
checked by `sophia config check`; `server.workers` is gone."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.accounts import Role
from sophia.cli import app
from sophia.config import load_settings
from sophia.server import open_toolkit
from sophia.store import Database, upgrade
from sophia.tools import ApprovalPolicy, Decision, ToolContext, ToolFailed, ToolRegistry, ToolSettings

runner = CliRunner()


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sophia.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _check(config: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    return result.exit_code, result.output


def _tool(name: str, effect: str) -> object:
    registry = ToolRegistry()
    return registry.add(lambda: None, name=name, group="memory", effect=effect, description="x")


def test_the_policy_in_sophia_toml_decides_per_tool_and_role(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        '[tools.policy."memory.remember"]\nmember = "ask"\n'
        '[tools.policy."git.*"]\n"*" = "deny"\nadmin = "auto"\n',
    )
    assert _check(config)[0] == 0
    policy = ApprovalPolicy.from_settings(load_settings(config).tools)
    remember, commit = _tool("memory.remember", "write"), _tool("git.commit", "write")
    assert policy.decide(remember, Role.MEMBER) is Decision.ASK  # the file overrides the built-in rule
    assert policy.decide(remember, Role.ADMIN) is Decision.AUTO  # the built-in rule still holds for admins
    assert policy.decide(commit, Role.MEMBER) is Decision.DENY
    assert policy.decide(commit, Role.ADMIN) is Decision.AUTO


def test_defaults_read_auto_write_and_destroy_ask_and_own_memory_writes_auto() -> None:
    policy = ApprovalPolicy.from_settings(ToolSettings())
    assert policy.decide(_tool("web.fetch", "read"), Role.MEMBER) is Decision.AUTO
    assert policy.decide(_tool("workspace.write", "write"), Role.MEMBER) is Decision.ASK
    assert policy.decide(_tool("memory.forget", "destroy"), Role.ADMIN) is Decision.ASK
    assert policy.decide(_tool("memory.remember", "write"), Role.MEMBER) is Decision.AUTO
    assert policy.decide(_tool("memory.remember", "write"), Role.VIEWER) is Decision.DENY


def test_config_check_names_each_bad_tools_setting_with_its_path(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        '[tools]\nworkspace_roots = ["/definitely/not/here"]\n[tools.policy."web.fetch"]\nowner = "auto"\n',
    )
    code, output = _check(config)
    assert code == 2
    assert "tools.policy.web.fetch: unknown role 'owner'" in output
    assert "tools.workspace_roots[0]: /definitely/not/here is not an existing directory" in output

    code, output = _check(_config(tmp_path, '[tools.policy."web.fetch"]\nmember = "sometimes"\n'))
    assert code == 2 and "tools.policy.web.fetch.member" in output
    code, output = _check(_config(tmp_path, '[tools]\nworkspace_roots = ["relative/dir"]\n'))
    assert code == 2 and "workspace roots must be absolute" in output
    code, output = _check(_config(tmp_path, '[tools.web]\nallowed_hosts = ["http://x/y"]\n'))
    assert code == 2 and "tools.web.allowed_hosts" in output


def test_server_workers_is_no_longer_a_setting(tmp_path: Path) -> None:
    code, output = _check(_config(tmp_path, "[server]\nworkers = 2\n"))
    assert code == 2 and "server.workers: unknown setting" in output


@pytest.fixture
def local_page() -> Iterator[int]:
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><p>internal wiki page</p></body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_allowed_hosts_from_sophia_toml_let_web_fetch_reach_the_host_it_refused(
    tmp_path: Path, local_page: int
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sophia.db'}"
    await upgrade(url)
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER)
    database = Database(url)
    try:
        plain = await open_toolkit(load_settings(_config(tmp_path, f'home = "{tmp_path}"\n')), database, None)
        with pytest.raises(ToolFailed) as refused:
            await plain.invoker.invoke("web.fetch", {"url": f"http://127.0.0.1:{local_page}/"}, context)
        assert "tools.web.allowed_hosts" in refused.value.message  # the message names the setting ...
        config = _config(
            tmp_path, f'home = "{tmp_path}"\n[tools.web]\nallowed_hosts = ["127.0.0.1:{local_page}"]\n'
        )
        assert _check(config)[0] == 0  # ... and `sophia config check` accepts it
        allowed = await open_toolkit(load_settings(config), database, None)
        fetched = await allowed.invoker.invoke(
            "web.fetch", {"url": f"http://127.0.0.1:{local_page}/"}, context
        )
        assert "internal wiki page" in fetched.text
    finally:
        await database.close()
