"""Provider kinds are a registry: built-ins, and a third-party kind from a real `sophia.providers` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from sophia.config import PROVIDER_KINDS, ProviderSettings, Settings
from sophia.errors import ConfigError
from sophia.gateway import (
    ProviderSpec,
    build_provider,
    provider_kind_problems,
    provider_kinds,
    register_provider_kind,
    reload_provider_kinds,
)
from sophia.gateway.providers import ChatProvider, OpenAICompatibleProvider, ScriptedProvider
from sophia.secrets import SecretResolver
from tests.serving import clean_env, sophia

PLUGIN = '''
"""A third-party provider kind: answers every request by shouting it back."""

from sophia.gateway.providers import ScriptedProvider


def build_echo(spec):
    prefix = spec.headers.get("x-prefix", "")
    return ScriptedProvider(
        lambda body: prefix + str(body["messages"][-1]["content"]).upper(), name=spec.name
    )
'''


def _install_plugin(site: Path) -> None:
    """A plugin as pip would leave it: a module and its dist-info with an entry point, on sys.path."""
    (site / "sophia_echo.py").write_text(PLUGIN, encoding="utf-8")
    info = site / "sophia_echo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sophia-echo\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[sophia.providers]\necho = sophia_echo:build_echo\n", encoding="utf-8"
    )


CONFIG = """
[[providers]]
name = "shouter"
kind = "{kind}"
headers = {{ x-prefix = "echo: " }}

[[models]]
name = "loud"
provider = "shouter"
model = "loud-1"
"""


def test_a_kind_from_an_entry_point_is_usable_from_sophia_toml(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site)
    home = tmp_path / "home"
    home.mkdir()
    config = home / "sophia.toml"
    config.write_text(CONFIG.format(kind="echo"), encoding="utf-8")
    env = clean_env(home, SOPHIA_CONFIG=str(config), PYTHONPATH=str(site))

    assert "settings are valid" in sophia(env, "config", "check").stdout
    answer = sophia(env, "ask", "hello there", "--model", "loud")
    assert "echo: HELLO THERE" in answer.stdout

    config.write_text(CONFIG.format(kind="ecoh"), encoding="utf-8")
    typo = sophia(env, "config", "check", check=False)
    assert typo.returncode == 2
    assert 'providers[0].kind: unknown provider kind "ecoh" — did you mean "echo"?' in typo.stderr

    without_plugin = sophia(clean_env(home, SOPHIA_CONFIG=str(config)), "config", "check", check=False)
    assert 'unknown provider kind "ecoh"' in without_plugin.stderr and '"echo"' not in without_plugin.stderr


def test_built_in_kinds_are_registered_like_any_other() -> None:
    assert set(PROVIDER_KINDS) <= set(provider_kinds())
    resolver = SecretResolver(Path("."), None)
    provider = build_provider(
        ProviderSettings(name="up", kind="openai-compatible", base_url="http://127.0.0.1:9"), resolver
    )
    assert isinstance(provider, OpenAICompatibleProvider) and provider.name == "up"


async def test_register_provider_kind_in_process_and_bad_builders() -> None:
    seen: list[ProviderSpec] = []

    def build(spec: ProviderSpec) -> ChatProvider:
        seen.append(spec)
        return ScriptedProvider("hi", name=spec.name)

    register_provider_kind("test-scripted", build)
    settings = Settings(providers=[{"name": "s", "kind": "test-scripted", "first_token_timeout": 3}])
    assert provider_kind_problems(settings) == []
    built = build_provider(settings.providers[0], SecretResolver(Path("."), None))
    assert built.name == "s" and seen[0].timeouts.first_token == 3

    register_provider_kind("test-not-a-provider", lambda spec: object())  # type: ignore[arg-type, return-value]
    with pytest.raises(ConfigError, match="is not a ChatProvider"):
        build_provider(
            ProviderSettings(name="x", kind="test-not-a-provider"), SecretResolver(Path("."), None)
        )
    with pytest.raises(ConfigError, match='unknown provider kind "opnai-compatible" — did you mean'):
        build_provider(ProviderSettings(name="x", kind="opnai-compatible"), SecretResolver(Path("."), None))
    with pytest.raises(TypeError):
        register_provider_kind("test-broken", "not callable")  # type: ignore[arg-type]


def test_a_plugin_whose_entry_point_fails_is_named_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "sophia_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sophia-broken\nVersion: 0.1\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[sophia.providers]\nbroken = sophia_no_such_module:build\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reload_provider_kinds()
    settings = Settings(providers=[{"name": "b", "kind": "broken"}, {"name": "o", "kind": "openai"}])
    assert provider_kind_problems(settings) == [
        'providers[0].kind: provider kind "broken" is installed but its entry point '
        "'sophia_no_such_module:build' failed to load: No module named 'sophia_no_such_module'"
    ]
    assert "openai" in provider_kinds() and "broken" not in provider_kinds()
