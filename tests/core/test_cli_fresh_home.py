"""Every command works as the first one on a fresh SOPHIA_HOME: the embedded SQLite database is made on the spot.

PostgreSQL is upgraded the same way unless `server.upgrade_on_start = false`; then every command asks for
`sophia db upgrade` in one sentence, as `sophia serve` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.cli import app

runner = CliRunner()
HASHING = ("memory", "--embedder", "hashing")


@pytest.mark.parametrize(
    "args",
    [
        (*HASHING, "add", "the first memory of a new install"),
        (*HASHING, "search", "anything"),
        (*HASHING, "stats"),
        (*HASHING, "consolidate"),
        ("users", "list"),
        ("keys", "list"),
        ("runs", "list"),
    ],
    ids=lambda args: " ".join(a for a in args if not a.startswith("-") and a != "hashing")[:30],
)
def test_a_command_on_a_fresh_home_creates_the_database_it_needs(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    home = tmp_path / "new-home"  # does not exist yet
    result = runner.invoke(app, list(args), env={"SOPHIA_HOME": str(home)})
    assert result.exit_code == 0, result.output
    assert "db upgrade" not in result.output
    assert (home / "sophia.db").is_file()


def test_memory_commands_share_one_fresh_home_one_after_another(tmp_path: Path) -> None:
    env = {"SOPHIA_HOME": str(tmp_path / "home")}
    added = runner.invoke(app, [*HASHING, "add", "fresh homes just work"], env=env)
    assert added.exit_code == 0, added.output
    found = runner.invoke(app, [*HASHING, "search", "fresh homes"], env=env)
    assert added.output.strip() in found.output
    assert runner.invoke(app, ["users", "create", "ada", "--admin"], env=env).exit_code == 0


@pytest.mark.postgres
def test_postgresql_without_upgrade_on_start_asks_for_an_explicit_upgrade(
    tmp_path: Path, postgres_url: str
) -> None:
    strict = {
        "SOPHIA_HOME": str(tmp_path),
        "SOPHIA_STORAGE__URL": postgres_url,
        "SOPHIA_SERVER__UPGRADE_ON_START": "false",
    }
    refused = runner.invoke(app, [*HASHING, "stats"], env=strict)
    assert refused.exit_code == 2 and "needs migrations; run `sophia db upgrade`" in refused.output
    assert runner.invoke(app, ["db", "upgrade"], env=strict).exit_code == 0
    assert runner.invoke(app, [*HASHING, "stats"], env=strict).exit_code == 0


@pytest.mark.postgres
def test_postgresql_is_upgraded_by_default_as_sophia_serve_does(tmp_path: Path, postgres_url: str) -> None:
    env = {"SOPHIA_HOME": str(tmp_path), "SOPHIA_STORAGE__URL": postgres_url}
    added = runner.invoke(app, [*HASHING, "add", "a memory in an empty PostgreSQL"], env=env)
    assert added.exit_code == 0, added.output
    assert "up to date" in runner.invoke(app, ["db", "current"], env=env).output
