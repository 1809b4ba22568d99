"""`sophia secrets ...` through typer's test runner, with SOPHIA_HOME in a temporary directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import sophia
from sophia.cli._secrets import app
from sophia.secrets import Vault, decode_key, encode_key, generate_key


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray ./sophia.toml
    return Path(os.environ["SOPHIA_HOME"])


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input, env=env)


def test_set_get_list_delete_round_trip(home: Path) -> None:
    assert run("set", "github", "--value", "gh-value-12345").exit_code == 0
    assert run("set", "openai", input="oa-value-67890\n").exit_code == 0
    got = run("get", "openai")
    assert got.exit_code == 0 and got.stdout == "oa-value-67890\n"
    listed = run("list")
    assert listed.stdout == "github\nopenai\n"
    assert "gh-value" not in listed.output
    assert run("delete", "github").exit_code == 0
    assert run("list").stdout == "openai\n"
    assert (home / "vault.json").exists()


def test_value_from_stdin_keeps_inner_whitespace(home: Path) -> None:
    assert run("set", "multi", input="line one\nline two\n").exit_code == 0
    assert Vault(home).get("multi") == "line one\nline two"


def test_set_reports_where_and_how_to_reference(home: Path) -> None:
    result = run("set", "db", "--value", "postgres-value-1")
    assert "reference it as secret:db" in result.stderr
    assert "postgres-value-1" not in result.output


@pytest.mark.parametrize("command", [["get", "nope"], ["delete", "nope"]])
def test_missing_entry_exits_2_with_one_sentence(home: Path, command: list[str]) -> None:
    run("set", "other", "--value", "other-value-1")
    result = run(*command)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: the vault at ")
    assert "has no entry 'nope'" in result.stderr


def test_invalid_name_exits_2(home: Path) -> None:
    result = run("set", "has space", "--value", "some-value-1")
    assert result.exit_code == 2
    assert "not a valid secret name" in result.stderr


_COMMANDS = [
    ["get", "x"],
    ["set", "y", "--value", "new-value-999"],
    ["list"],
    ["delete", "x"],
    ["rotate-key"],
]


@pytest.mark.parametrize("command", _COMMANDS, ids=lambda c: c[0])
def test_wrong_master_key_exits_2_and_leaves_vault_unchanged(home: Path, command: list[str]) -> None:
    canary = "canary-" + os.urandom(8).hex()
    right, wrong = encode_key(generate_key()), encode_key(generate_key())
    assert run("set", "x", "--value", canary, env={"SOPHIA_MASTER_KEY": right}).exit_code == 0
    before = (home / "vault.json").read_bytes()

    result = run(*command, env={"SOPHIA_MASTER_KEY": wrong})

    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: the master key does not open the vault at {home / 'vault.json'}; "
        "set SOPHIA_MASTER_KEY to the key it was created with"
    )
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert canary not in result.output and wrong not in result.output and right not in result.output
    assert (home / "vault.json").read_bytes() == before


def test_rotate_key_with_key_file_keeps_values(home: Path) -> None:
    run("set", "a", "--value", "value-a-123")
    run("set", "b", "--value", "value-b-456")
    old_key = (home / "vault.key").read_text()
    result = run("rotate-key")
    assert result.exit_code == 0
    assert "re-encrypted 2 entries" in result.stderr
    assert result.stdout == ""  # the key stays in the key file, never on screen
    assert (home / "vault.key").read_text() != old_key
    assert run("get", "a").stdout == "value-a-123\n"
    assert run("get", "b", env={"SOPHIA_MASTER_KEY": old_key.strip()}).exit_code == 2


def test_rotate_key_with_master_key_prints_the_new_key(home: Path) -> None:
    old = encode_key(generate_key())
    run("set", "a", "--value", "value-a-123", env={"SOPHIA_MASTER_KEY": old})
    result = run("rotate-key", env={"SOPHIA_MASTER_KEY": old})
    assert result.exit_code == 0
    new = result.stdout.strip()
    assert len(decode_key(new, "test")) == 32
    assert not (home / "vault.key").exists()
    assert run("get", "a", env={"SOPHIA_MASTER_KEY": new}).stdout == "value-a-123\n"
    assert run("get", "a", env={"SOPHIA_MASTER_KEY": old}).exit_code == 2


def test_scan_reports_file_line_kind_and_exits_1(tmp_path: Path) -> None:
    token = "gh" + "p_" + "Z3k9Qm2Lx7Vb1Nc8Rt5Yw4Hs6Jd0Fg2Ka8Pq"
    leak = tmp_path / "tree" / "deploy.sh"
    leak.parent.mkdir()
    leak.write_text("#!/bin/sh\n\nexport GH_TOKEN=" + token + "\n")
    result = run("scan", str(tmp_path / "tree"))
    assert result.exit_code == 1
    assert result.stdout == f"{leak}:3: github-token\n"
    assert token not in result.output
    assert "1 possible credential(s) in 1 file(s)" in result.stderr


def test_scan_of_clean_tree_exits_0(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text('api_key = "env:OPENAI_API_KEY"\n')
    result = run("scan", str(tmp_path))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_scan_of_project_sources_is_clean() -> None:
    result = run("scan", str(Path(sophia.__file__).parent))
    assert result.exit_code == 0, result.stdout


def test_scan_of_missing_path_exits_2(tmp_path: Path) -> None:
    result = run("scan", str(tmp_path / "absent"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
