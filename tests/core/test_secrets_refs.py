"""Secret references: resolution from env, vault and files, clear errors, and redaction of what was resolved."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.errors import SecretError
from sophia.observability import REDACTED, Redactor, redactor
from sophia.secrets import SecretResolver, Vault, _vault, encode_key, generate_key, is_secret_ref


def _canary() -> str:
    return "canary-" + os.urandom(12).hex()


class MemoryBackend:
    """A real, minimal SecretBackend: what a HashiCorp Vault or Pulumi ESC extra would plug in."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> bool:
        return self.values.pop(name, None) is not None

    def names(self) -> list[str]:
        return sorted(self.values)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("env:OPENAI_API_KEY", True),
        ("secret:github", True),
        ("file:/run/secrets/db", True),
        ("env:", False),
        ("secret: ", False),
        ("plain-literal-value", False),
        ("http://host", False),
        ("ENV:NAME", False),
    ],
)
def test_is_secret_ref(value: str, expected: bool) -> None:
    assert is_secret_ref(value) is expected


def test_resolves_env_reference_and_registers_it(tmp_path: Path) -> None:
    canary = _canary()
    resolver = SecretResolver(tmp_path, environ={"MY_TOKEN": canary})
    assert resolver.resolve("env:MY_TOKEN") == canary
    assert redactor.redact(f"x {canary} y") == f"x {REDACTED} y"


def _set_elsewhere(monkeypatch: pytest.MonkeyPatch, home: Path, name: str, value: str) -> None:
    """Store a value as another process would, so this process's redactor has not seen it yet."""
    with monkeypatch.context() as patch:
        patch.setattr(_vault, "redactor", Redactor())
        Vault(home).set(name, value)
    assert canary_visible(value)


def canary_visible(value: str) -> bool:
    return redactor.redact(value) == value


def test_resolves_vault_reference_and_registers_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = _canary()
    _set_elsewhere(monkeypatch, tmp_path, "github", canary)
    assert SecretResolver(tmp_path).resolve("secret:github") == canary
    assert not canary_visible(canary)


def test_resolves_vault_reference_opened_by_master_key(tmp_path: Path) -> None:
    environ = {"SOPHIA_MASTER_KEY": encode_key(generate_key())}
    Vault(tmp_path, environ=environ).set("db", "postgres-value-1")
    assert SecretResolver(tmp_path, environ=environ).resolve("secret:db") == "postgres-value-1"


def test_resolves_file_reference_without_trailing_newline(tmp_path: Path) -> None:
    canary = _canary()
    (tmp_path / "token").write_text(canary + "\n")
    assert SecretResolver(tmp_path).resolve(f"file:{tmp_path / 'token'}") == canary
    assert not canary_visible(canary)


def test_other_backends_plug_in_for_secret_references(tmp_path: Path) -> None:
    backend = MemoryBackend()
    backend.set("slack", "slack-value-123")
    assert SecretResolver(tmp_path, backend=backend).resolve("secret:slack") == "slack-value-123"
    assert not (tmp_path / "vault.json").exists()


def test_missing_env_var_names_what_to_fix(tmp_path: Path) -> None:
    with pytest.raises(SecretError) as caught:
        SecretResolver(tmp_path, environ={}).resolve("env:OPENAI_API_KEY")
    assert caught.value.message == (
        "environment variable OPENAI_API_KEY is not set (referenced as env:OPENAI_API_KEY);"
        " export it or change the reference"
    )


def test_empty_env_var_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="OPENAI_API_KEY is empty"):
        SecretResolver(tmp_path, environ={"OPENAI_API_KEY": ""}).resolve("env:OPENAI_API_KEY")


def test_missing_vault_entry_names_the_command_to_run(tmp_path: Path) -> None:
    Vault(tmp_path).set("other", "other-value-1")
    with pytest.raises(SecretError, match=r"has no entry github .*`sophia secrets set github`"):
        SecretResolver(tmp_path).resolve("secret:github")


def test_missing_vault_file_is_a_missing_entry_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="has no entry github"):
        SecretResolver(tmp_path / "nowhere").resolve("secret:github")
    assert not (tmp_path / "nowhere").exists()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"the file .*absent does not exist .*create it"):
        SecretResolver(tmp_path).resolve(f"file:{tmp_path / 'absent'}")


def test_literal_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    canary = _canary()
    with pytest.raises(SecretError, match="literal value instead of a reference") as caught:
        SecretResolver(tmp_path).resolve(canary)
    assert canary not in str(caught.value)


@pytest.mark.parametrize("scheme", ["env", "secret"])
def test_credential_pasted_into_a_reference_is_not_echoed(tmp_path: Path, scheme: str) -> None:
    pasted = "gs" + "k_" + "Q8v2LmN4pR7sT1wX3yZ5aB6cD9eF0gH2"
    with pytest.raises(SecretError) as caught:
        SecretResolver(tmp_path, environ={}).resolve(f"{scheme}:{pasted}")
    assert pasted not in str(caught.value)


def test_wrong_master_key_error_does_not_contain_keys_or_values(tmp_path: Path) -> None:
    canary = _canary()
    right, wrong = encode_key(generate_key()), encode_key(generate_key())
    Vault(tmp_path, environ={"SOPHIA_MASTER_KEY": right}).set("x", canary)
    with pytest.raises(SecretError) as caught:
        SecretResolver(tmp_path, environ={"SOPHIA_MASTER_KEY": wrong}).resolve("secret:x")
    text = str(caught.value)
    assert canary not in text and right not in text and wrong not in text


# -- the canary never reaches a log line ---------------------------------------------------------------------


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield io.StringIO()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _log_everywhere(logger: logging.Logger, canary: str) -> None:
    logger.info("message holds %s inline " + canary, "nothing")
    logger.info("args hold %s", canary)
    logger.info("extra holds it", extra={"api_key": canary, "nested": {"value": canary}})
    try:
        raise RuntimeError(f"exception text holds {canary}")
    except RuntimeError:
        logger.exception("failed")
