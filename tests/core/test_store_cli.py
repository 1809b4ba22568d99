"""`sophia db ...` through the real Typer app, on both engines."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.cli._db import app
from sophia.store import current_revision, head_revision

runner = CliRunner()


def _revision(url: str) -> str | None:
    """The CLI runs its own event loop, so these tests are synchronous."""
    return asyncio.run(current_revision(url))


@pytest.fixture
def configured(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOPHIA_STORAGE__URL", database_url)
    return database_url


def test_upgrade_current_and_downgrade_round_trip(configured: str) -> None:
    result = runner.invoke(app, ["current"])
    assert result.exit_code == 0, result.output
    assert "current:  none" in result.output and "behind: run `sophia db upgrade`" in result.output

    result = runner.invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert f"to {head_revision()}" in result.output
    assert _revision(configured) == head_revision()

    result = runner.invoke(app, ["upgrade"])
    assert "already at" in result.output

    result = runner.invoke(app, ["current"])
    assert "up to date" in result.output

    result = runner.invoke(app, ["downgrade", "base", "--yes"])
    assert result.exit_code == 0, result.output
    assert _revision(configured) is None


def test_downgrade_asks_first_and_does_nothing_when_refused(configured: str) -> None:
    assert runner.invoke(app, ["upgrade"]).exit_code == 0
    result = runner.invoke(app, ["downgrade", "base"], input="n\n")
    assert result.exit_code == 1
    assert _revision(configured) == head_revision()


def test_an_unknown_revision_exits_2_with_the_choices(configured: str) -> None:
    result = runner.invoke(app, ["upgrade", "9999"])
    assert result.exit_code == 2
    assert "unknown migration revision '9999'" in result.output and "Traceback" not in result.output


def test_an_unreachable_database_exits_2_without_password_or_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOPHIA_STORAGE__URL", "postgresql://sophia:hunter2-canary@127.0.0.1:1/sophia")
    result = runner.invoke(app, ["current"])
    assert result.exit_code == 2
    assert "cannot reach the database" in result.output
    assert "hunter2-canary" not in result.output and "Traceback" not in result.output
    assert "storage.url" in result.output


def test_without_a_url_the_database_is_sqlite_under_sophia_home() -> None:
    result = runner.invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert (Path(os.environ["SOPHIA_HOME"]) / "sophia.db").is_file()


def test_the_url_may_be_an_env_reference(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORAGE__URL", "env:SOPHIA_TEST_DATABASE_URL_REF")
    monkeypatch.setenv("SOPHIA_TEST_DATABASE_URL_REF", sqlite_url)
    result = runner.invoke(app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert _revision(sqlite_url) == head_revision()
