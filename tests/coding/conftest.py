"""A small repository with a seeded bug, a local bare remote, and the coding parts on a scripted model."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sophia.store import Database

_ENV = {
    "PATH": "/usr/bin:/bin",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}

CALC = "def add(a, b):\n    return a - b\n\n\ndef double(x):\n    return add(x, x)\n"
TEST = (
    "from calc import add, double\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_double():\n    assert double(2) == 4\n"
)
FIX = "calc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n>>>>>>> REPLACE\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=_ENV, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def buggy_repo(tmp_path: Path) -> tuple[Path, Path]:
    """(local repository, its bare origin); the bare remote counts the pushes it receives."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    hook = remote / "hooks" / "post-receive"
    hook.write_text('#!/bin/sh\ncat >> "$GIT_DIR/pushes.log"\n')
    hook.chmod(0o755)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "calc.py").write_text(CALC)
    (repo / "test_calc.py").write_text(TEST)
    (repo / "pyproject.toml").write_text("[project]\nname = 'calc'\nversion = '0'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "calc")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    (remote / "pushes.log").unlink(missing_ok=True)
    return repo, remote


@pytest.fixture
async def sqlite_db(tmp_path: Path, _sqlite_template: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database (a copy of the suite's template); the loop's steps need no PostgreSQL."""
    target = tmp_path / "coding.db"
    shutil.copyfile(_sqlite_template, target)
    database = Database(f"sqlite+aiosqlite:///{target}")
    try:
        yield database
    finally:
        await database.close()
