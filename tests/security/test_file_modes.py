"""A fresh install keeps its secrets to its owner: SOPHIA_HOME 0700, the databases and their WAL/SHM files 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from tests.serving import clean_env, create_key, running_sophia


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_home_and_its_database_files_are_private(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"  # does not exist yet: the first `sophia` command creates it
    env = clean_env(home)
    key = create_key(env, "ada")
    with running_sophia(env, home) as server:
        created = httpx.post(
            f"{server.url}/v1/memory", json={"content": "x"}, headers={"authorization": f"Bearer {key}"}
        )
        assert created.status_code == 201
        files = sorted(p for p in home.iterdir() if p.name.startswith(("sophia.db", "dbos.sqlite")))
        names = {p.name for p in files}
        assert {"sophia.db", "sophia.db-wal", "sophia.db-shm", "dbos.sqlite"} <= names, names
        modes = {p.name: oct(_mode(p)) for p in files}
    assert oct(_mode(home)) == "0o700"
    assert set(modes.values()) == {"0o600"}, modes
