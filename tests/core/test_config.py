"""Settings: lookup order, environment overrides, and one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sophia.config import find_config_file, format_location, load_settings, redact_url
from sophia.errors import ConfigError

GOOD = """
[server]
port = 9001

[[providers]]
name = "openrouter"
kind = "openai-compatible"
base_url = "https://openrouter.ai/api/v1"
api_key = "env:OPENROUTER_API_KEY"

[[models]]
name = "fast"
provider = "openrouter"
model = "openai/gpt-4o-mini"
input_price = 0.15
output_price = 0.60

[routing.chains]
speed = ["fast", "local"]
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_explicit_file_is_loaded_and_typed(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path / "s.toml", GOOD))
    assert settings.server.port == 9001
    assert settings.models[0].input_price == pytest.approx(0.15)
    assert settings.routing.chains["speed"] == ["fast", "local"]


def test_lookup_order_prefers_flag_then_env_then_cwd_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOPHIA_HOME", str(home))
    assert find_config_file() is None
    write(home / "sophia.toml", "")
    assert find_config_file() == home / "sophia.toml"
    write(tmp_path / "sophia.toml", "")
    assert find_config_file() == Path("sophia.toml")
    monkeypatch.setenv("SOPHIA_CONFIG", str(tmp_path / "env.toml"))
    assert find_config_file() == tmp_path / "env.toml"
    assert find_config_file(Path("flag.toml")) == Path("flag.toml")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_SERVER__PORT", "9555")
    settings = load_settings(write(tmp_path / "s.toml", GOOD))
    assert settings.server.port == 9555


def test_unknown_provider_names_the_path_and_suggests(tmp_path: Path) -> None:
    text = GOOD + '\n[[models]]\nname = "x"\nprovider = "opnai"\nmodel = "gpt-4o"\n'
    text += '\n[[providers]]\nname = "openai"\nkind = "openai"\napi_key = "env:OPENAI_API_KEY"\n'
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path / "s.toml", text))
    assert 'models[1].provider: unknown provider "opnai" — did you mean "openai"?' in caught.value.problems


def test_every_problem_is_listed_with_its_path(tmp_path: Path) -> None:
    text = """
[server]
port = "many"
colour = "blue"

[[providers]]
name = "p"
kind = "opnai"
api_key = "sk-literal-secret-value"
"""
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path / "s.toml", text))
    problems = "\n".join(caught.value.problems)
    assert "server.port:" in problems
    assert "server.colour: unknown setting" in problems
    assert "providers[0].api_key:" in problems and "references" in problems
    assert "sk-literal-secret-value" not in problems


def test_reference_problems_suggest_close_names(tmp_path: Path) -> None:
    text = GOOD.replace('speed = ["fast", "local"]', 'sped = ["fats"]')
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path / "s.toml", text))
    assert any(
        'routing.chains.sped: unknown task "sped" — did you mean "speed"?' in p for p in caught.value.problems
    )


def test_broken_toml_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not valid TOML"):
        load_settings(write(tmp_path / "s.toml", "[server\nport = 1"))


def test_missing_explicit_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_default_database_is_sqlite_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOPHIA_HOME", str(tmp_path / "h"))
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{(tmp_path / 'h' / 'sophia.db').resolve()}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://bob:s3cret@db:5432/x", "postgresql://bob:***@db:5432/x"),
        ("postgresql+asyncpg://bob:p%40ss@db/x", "postgresql+asyncpg://bob:***@db/x"),
        ("sqlite+aiosqlite:///tmp/x.db", "sqlite+aiosqlite:///tmp/x.db"),
    ],
)
def test_redact_url_hides_passwords(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@given(st.text(alphabet=st.characters(blacklist_characters="@/:", blacklist_categories=("Cs",)), min_size=1))
def test_redact_url_never_leaks_a_password(password: str) -> None:
    assert (
        password not in redact_url(f"postgresql://user:{password}@host/db").split("@", 1)[0].split(":", 2)[2]
    )


@given(st.lists(st.one_of(st.integers(0, 99), st.from_regex(r"[a-z_]{1,8}", fullmatch=True)), max_size=5))
def test_format_location_renders_indexes_in_brackets(loc: list[int | str]) -> None:
    rendered = format_location(loc)
    for part in loc:
        assert (f"[{part}]" if isinstance(part, int) else part) in rendered
