"""`sophia config show|check` through the real command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.cli import app

runner = CliRunner()


def test_config_check_lists_problems_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text('[[models]]\nname = "m"\nprovider = "opnai"\nmodel = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert 'models[0].provider: unknown provider "opnai" — did you mean "openai"?' in result.output
    assert "Traceback" not in result.output


def test_config_check_accepts_defaults(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "settings are valid" in result.output


def test_config_show_redacts_database_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_STORAGE__URL", "postgresql://sophia:hunter2-canary@db.internal/sophia")
    result = runner.invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "hunter2-canary" not in result.output
    assert "postgresql://sophia:***@db.internal/sophia" in result.output


def test_broken_toml_exits_2_without_traceback(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text("[server\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "config", "show"])
    assert result.exit_code == 2
    assert "is not valid TOML" in result.output
    assert "Traceback" not in result.output


def test_config_check_resolves_references_and_checks_chains(tmp_path: Path) -> None:
    config = tmp_path / "s.toml"
    config.write_text(
        '[[providers]]\nname = "up"\nkind = "openai"\napi_key = "env:SOPHIA_TEST_MISSING_KEY"\n'
        '[[providers]]\nname = "v"\nkind = "openai-compatible"\nbase_url = "http://x"\napi_key = "secret:nope"\n'
        '[routing.chains]\nspeed = ["gpt-4o-mni"]\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 2
    assert "providers[0].api_key: environment variable SOPHIA_TEST_MISSING_KEY is not set" in result.output
    assert "providers[1].api_key:" in result.output and "nope" in result.output
    assert (
        'routing.chains.speed[0]: unknown model "gpt-4o-mni" — did you mean "gpt-4o-mini"?' in result.output
    )
