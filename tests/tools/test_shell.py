"""shell.run: bubblewrap sandbox with no network, only the workspace writable, time and output limits."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.tools import SandboxUnavailable, ShellRunner, ShellSettings, ToolContext

needs_bwrap = pytest.mark.skipif(ShellRunner().bwrap() is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture
def workspace(tmp_path: Path) -> ToolContext:
    root = tmp_path / "workspace"
    root.mkdir()
    return ToolContext(user_id=1, run_id="run-sh", workspace=root)


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.accepted = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.socket.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


def _connect(port: int) -> str:
    return f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected"


@needs_bwrap
async def test_the_sandbox_has_no_network(workspace: ToolContext, listener: Listener) -> None:
    result = await ShellRunner().run(f"bash -c '{_connect(listener.port)}'", workspace)
    assert result["sandboxed"] is True
    assert result["exit_code"] != 0 and "connected" not in result["stdout"]
    assert listener.accepted == 0


async def test_the_same_command_does_connect_without_the_sandbox(
    workspace: ToolContext, listener: Listener
) -> None:
    """The control for the test above: the command itself works, so its failure there is the sandbox's doing."""
    runner = ShellRunner(ShellSettings(bwrap_path="/nonexistent/bwrap", allow_unsandboxed=True))
    result = await runner.run(f"bash -c '{_connect(listener.port)}'", workspace)
    assert result["sandboxed"] is False and "connected" in result["stdout"]
    assert listener.accepted == 1


@needs_bwrap
async def test_only_the_workspace_is_writable(workspace: ToolContext, tmp_path: Path) -> None:
    outside = tmp_path / "escaped.txt"
    result = await ShellRunner().run(
        f"echo inside > made.txt; echo out > {outside}; echo sys > /usr/evil; echo etc > /etc/evil; "
        "echo tmp > /tmp/t && cat /tmp/t; pwd",
        workspace,
    )
    assert workspace.workspace is not None
    assert (workspace.workspace / "made.txt").read_text() == "inside\n"
    assert not outside.exists() and not Path("/usr/evil").exists() and not Path("/etc/evil").exists()
    assert result["stdout"].splitlines() == ["tmp", "/workspace"]


@needs_bwrap
async def test_host_secrets_are_not_visible_inside(
    workspace: ToolContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak-123456")
    result = await ShellRunner().run("env; ls /etc; ls /root 2>&1; ls /home 2>&1", workspace)
    assert "sk-should-not-leak" not in result["stdout"]
    assert "shadow" not in result["stdout"]


@needs_bwrap
async def test_a_runaway_command_is_killed_with_its_children(workspace: ToolContext) -> None:
    runner = ShellRunner(ShellSettings(timeout_seconds=0.5))
    result = await runner.run("sleep 30 & sleep 30; echo never", workspace)
    assert result["timed_out"] is True and result["exit_code"] is None
    assert "never" not in result["stdout"]


async def test_a_flood_of_output_is_cut_with_a_marker(workspace: ToolContext) -> None:
    runner = ShellRunner(ShellSettings(max_output_bytes=1000, allow_unsandboxed=True))
    result = await runner.run("yes | head -c 5000000; echo done >&2", workspace)
    assert result["truncated"] is True and result["exit_code"] == 0
    assert len(result["stdout"]) < 1100 and result["stdout"].endswith("[output cut at 1000 bytes]")
    assert result["stderr"] == "done\n"


async def test_without_a_sandbox_the_shell_is_refused_unless_allowed(workspace: ToolContext) -> None:
    runner = ShellRunner(ShellSettings(bwrap_path="/nonexistent/bwrap"))
    with pytest.raises(SandboxUnavailable, match="apt-get install -y bubblewrap"):
        await runner.run("echo hi", workspace)
