"""`[connectors.NAME]` settings: credentials are references, base URLs hold no secrets, kinds are known."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sophia.config import ConnectorSettings, Settings, load_settings
from sophia.connectors import connector_kind_problems
from sophia.errors import ConfigError


def test_a_literal_credential_is_refused_with_the_reference_forms() -> None:
    with pytest.raises(ValidationError, match="must be a secret reference"):
        ConnectorSettings(credentials={"token": "ghp_literal_token_value"})


def test_a_base_url_with_credentials_in_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="must not hold credentials"):
        ConnectorSettings(base_url="https://user:pass@api.example.com")
    assert ConnectorSettings(base_url="http://127.0.0.1:9000/api/").base_url == "http://127.0.0.1:9000/api"


def test_an_unknown_kind_is_named_with_a_suggestion() -> None:
    settings = Settings(connectors={"work": ConnectorSettings(kind="noets")})
    assert connector_kind_problems(settings) == [
        'connectors.work.kind: unknown connector kind "noets" — did you mean "notes"?'
    ]
    assert connector_kind_problems(Settings(connectors={"notes": ConnectorSettings()})) == []


def test_sophia_toml_connectors_load_and_bad_names_are_reported(tmp_path: Path) -> None:
    config = tmp_path / "sophia.toml"
    config.write_text(
        '[connectors.notes]\ncredentials = { token = "env:NOTES_TOKEN" }\noptions = { team = "core" }\n'
        '[connectors.notes.on_event."note.created"]\nprompt = "Summarise {summary}"\n'
    )
    settings = load_settings(config)
    assert settings.connectors["notes"].options == {"team": "core"}
    assert settings.connectors["notes"].on_event["note.created"].agent == "chat"
    config.write_text("[connectors.Bad-Name]\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(config)
    assert any("connectors.Bad-Name" in problem for problem in raised.value.problems)


def test_sync_every_takes_a_duration_and_only_fits_a_syncable_connector() -> None:
    assert ConnectorSettings(sync_every="15m").sync_every == 900.0
    assert ConnectorSettings(sync_every="off").sync_every == 0.0
    with pytest.raises(ValidationError, match="a duration is a number with s, m, h or d"):
        ConnectorSettings(sync_every="every quarter hour")
    settings = Settings(
        connectors={
            "notes": ConnectorSettings(sync_every="1h"),
            "linear": ConnectorSettings(sync_every="15m"),
        }
    )
    assert connector_kind_problems(settings) == [
        "connectors.notes.sync_every: notes has no records to sync; remove sync_every"
    ]
