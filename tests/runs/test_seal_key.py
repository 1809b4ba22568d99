"""`[runs]`: worker timing from `sophia.toml`, and the key that seals held tool calls shared through a secret
reference, so a call held on one node is opened on another (and, without it, is not)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.accounts import Role
from sophia.config import Settings, load_settings
from sophia.errors import ConfigError
from sophia.runs import RunSettings, load_sealing_key
from sophia.store import Database
from sophia.tools import (
    ApprovalRequired,
    ApprovalStateError,
    ArgumentSealer,
    SideEffect,
    ToolContext,
    ToolInvoker,
    ToolRegistry,
)
from tests.tools.conftest import principal

KEY = bytes(range(32))


def _settings(tmp_path: Path, name: str, text: str) -> Settings:
    """Settings of a node whose SOPHIA_HOME is its own (`tmp_path/name`)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOPHIA_HOME", str(tmp_path / name))
        return load_settings(path)


def test_runs_timing_comes_from_the_settings_file(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "a", "[runs]\nheartbeat_seconds = 0.5\nstale_seconds = 3\n")
    timing = RunSettings.of(settings, concurrency=2)
    assert (timing.heartbeat_seconds, timing.stale_seconds, timing.concurrency) == (0.5, 3.0, 2)
    assert RunSettings.of(Settings()) == RunSettings()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[runs]\nheartbeat_seconds = 5\nstale_seconds = 10\n", "must exceed two heartbeats"),
        ("[runs]\nheartbeat_seconds = 0\n", "greater than 0"),
        ('[runs]\nseal_key = "00112233"\n', "must be references"),
        ("[runs]\nheartbet_seconds = 1\n", "unknown setting"),
    ],
)
def test_bad_runs_settings_are_refused_with_the_path(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, "bad", text)
    assert any(p.startswith("runs") and problem in p for p in caught.value.problems), caught.value.problems


def test_without_seal_key_each_home_has_its_own_key_and_with_it_all_share_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = [_settings(tmp_path, name, "") for name in ("a", "b")]
    assert load_sealing_key(alone[0]) == load_sealing_key(alone[0])  # the home's file, read again
    assert load_sealing_key(alone[0]) != load_sealing_key(alone[1])
    monkeypatch.setenv("SEAL_KEY", KEY.hex())
    shared = [_settings(tmp_path, name, '[runs]\nseal_key = "env:SEAL_KEY"\n') for name in ("c", "d")]
    assert load_sealing_key(shared[0]) == load_sealing_key(shared[1]) == KEY
    assert not (tmp_path / "c" / "runs-seal.key").exists()


@given(st.binary(min_size=32, max_size=32), st.booleans())
def test_a_seal_key_is_read_as_hex_or_base64(key: bytes, as_hex: bool) -> None:
    text = key.hex() if as_hex else base64.b64encode(key).decode()
    settings = Settings(runs={"seal_key": "env:SOPHIA_TEST_SEAL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOPHIA_TEST_SEAL", f" {text}\n")
        assert load_sealing_key(settings) == key


@pytest.mark.parametrize("value", ["  ", "zz" * 32, KEY.hex()[:-2], base64.b64encode(KEY[:16]).decode()])
def test_a_seal_key_of_the_wrong_size_is_a_config_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SOPHIA_TEST_SEAL", value)
    with pytest.raises(ConfigError, match="32 bytes") as caught:
        load_sealing_key(Settings(runs={"seal_key": "env:SOPHIA_TEST_SEAL"}))
    assert value.strip()[:16] not in str(caught.value) or not value.strip()  # the value is never shown


def _invoker(database: Database, settings: Settings, ran: list[str]) -> ToolInvoker:
    registry = ToolRegistry()

    @registry.tool("notes.write", group="data", effect=SideEffect.WRITE)
    def write_note(title: str) -> str:
        """Write a note."""
        ran.append(title)
        return f"saved {title}"

    return ToolInvoker(registry, database, sealer=ArgumentSealer(load_sealing_key(settings)))


async def _held(invoker: ToolInvoker) -> str:
    context = ToolContext(user_id=1, user_name="ada", role=Role.MEMBER, run_id="run-1", agent="chat")
    with pytest.raises(ApprovalRequired) as caught:
        await invoker.invoke("notes.write", {"title": "t"}, context)
    approval_id = caught.value.approval.id
    await invoker.approve(approval_id, principal(2, Role.ADMIN, "admin"))
    return approval_id


async def test_a_call_held_on_one_node_opens_on_another_only_with_the_shared_key(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    own = [_invoker(database, _settings(tmp_path, name, ""), ran) for name in ("a", "b")]
    approval_id = await _held(own[0])
    with pytest.raises(ApprovalStateError, match="cannot be opened"):
        await own[1].invoke_approved(approval_id)
    assert ran == []

    monkeypatch.setenv("SEAL_KEY", base64.b64encode(KEY).decode())
    text = '[runs]\nseal_key = "env:SEAL_KEY"\n'
    shared = [_invoker(database, _settings(tmp_path, name, text), ran) for name in ("c", "d")]
    approval_id = await _held(shared[0])
    assert (await shared[1].invoke_approved(approval_id)).output == "saved t"
    assert (await shared[0].invoke_approved(approval_id)).output == "saved t"  # stored, not run again
    assert ran == ["t"]
