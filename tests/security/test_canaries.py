"""Canaries: a secret value planted in the environment, the vault or a database URL never reaches a log line or
the terminal. (The gateway's end-to-end test plants one in an upstream key too: tests/gateway/test_gateway_e2e.py.)"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from sophia.observability import REDACTED, configure_logging
from sophia.secrets import SecretResolver
from tests.core.test_secrets_refs import _canary, _log_everywhere, _set_elsewhere
from tests.core.test_secrets_refs import log_stream as log_stream  # noqa: F401 (the fixture)
from tests.serving import clean_env, sophia


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize("source", ["env", "vault"])
def test_resolved_canary_never_appears_in_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO, fmt: str, source: str
) -> None:
    stream = log_stream
    canary = _canary()
    if source == "env":
        resolver = SecretResolver(tmp_path, environ={"CANARY_TOKEN": canary})
        value = resolver.resolve("env:CANARY_TOKEN")
    else:
        _set_elsewhere(monkeypatch, tmp_path, "canary", canary)
        value = SecretResolver(tmp_path).resolve("secret:canary")
    assert value == canary
    configure_logging("INFO", fmt, stream=stream)

    _log_everywhere(logging.getLogger("sophia.test.secrets"), canary)

    output = stream.getvalue()
    assert "exception text holds" in output and "args hold" in output
    assert canary not in output
    # message, args, exception; the JSON format also carries the extra fields (the console format drops them)
    assert output.count(REDACTED) >= (5 if fmt == "json" else 3)


def test_unreachable_database_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    env = clean_env(tmp_path, SOPHIA_STORAGE__URL="postgresql://sophia:pw-canary-123@127.0.0.1:1/sophia")
    result = sophia(env, "serve", "--port", "1", check=False)
    assert result.returncode == 2
    assert "cannot reach" in result.stderr and "storage.url" in result.stderr
    assert "pw-canary-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
