"""Secret references (`env:`, `secret:`, `file:`, `vault:PATH#KEY`, `esc:PROJECT/ENV#KEY`) and their resolver.

Every value resolved here is registered with the process redactor, so it cannot reach a log line in clear.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from sophia.config import Settings
from sophia.errors import InvalidInput, SecretError
from sophia.observability import redactor
from sophia.secrets._backend import SecretBackend
from sophia.secrets._scan import looks_like_credential, shannon_entropy
from sophia.secrets._vault import Vault, check_name

_REF = re.compile(r"(env|secret|file|vault|esc):(\S.*)", re.DOTALL)
_LOCAL = ("env", "secret", "file")


class RemoteSecrets(Protocol):
    """A central secret manager: `read("PATH#KEY")` gives one value (cached for a bounded time)."""

    def read(self, ref: str) -> str: ...


_managers: dict[tuple[str, str], RemoteSecrets] = {}
"""One client per manager configuration in the process, so every resolver shares its token and cache."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _could_be_a_secret(name: str) -> bool:
    """A reference's name goes into error messages, unless it may be a secret pasted in by mistake."""
    return looks_like_credential(name) or (len(name) >= 24 and shannon_entropy(name) >= 4.0)


def is_secret_ref(value: str) -> bool:
    """True for `env:NAME`, `secret:NAME` and `file:/path`; a literal secret is never a reference."""
    return _REF.fullmatch(value) is not None


class SecretResolver:
    """Resolves references at use; `secret:` goes to the local vault unless another backend is given."""

    def __init__(
        self,
        home: Path,
        key_file: Path | None = None,
        *,
        backend: SecretBackend | None = None,
        environ: Mapping[str, str] | None = None,
        remote: Mapping[str, RemoteSecrets] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._home = home
        self._key_file = key_file
        self._backend = backend
        self._remote = dict(remote or {})

    @classmethod
    def for_settings(cls, settings: Settings) -> SecretResolver:
        """The resolver for these settings, with `[secrets.vault]` and `[secrets.esc]` when configured."""
        from sophia.secrets._remote import HashiCorpVault, PulumiEsc  # httpx only when a manager is used

        local = cls(settings.home, settings.secrets.key_file)
        remote: dict[str, RemoteSecrets] = {}
        vault, esc = settings.secrets.vault, settings.secrets.esc
        if vault is not None:
            key = ("vault", vault.model_dump_json())
            if key not in _managers:
                _managers[key] = HashiCorpVault(vault, local.resolve)
            remote["vault"] = _managers[key]
        if esc is not None:
            key = ("esc", esc.model_dump_json())
            if key not in _managers:
                _managers[key] = PulumiEsc(esc, local.resolve)
            remote["esc"] = _managers[key]
        return cls(settings.home, settings.secrets.key_file, remote=remote)

    @property
    def backend(self) -> SecretBackend:
        """The store behind `secret:` references, opened on first use (a config without one needs no key)."""
        if self._backend is None:
            self._backend = Vault(self._home, self._key_file, environ=self._environ)
        return self._backend

    def setting(self, value: str | None) -> str | None:
        """A setting that may be a secret reference (a Redis URL with its password, say), as its value."""
        return None if value is None else self.resolve(value).strip() if is_secret_ref(value) else value

    def resolve(self, ref: str) -> str:
        """The secret a reference points to; a SecretError names what to fix and never contains a value."""
        match = _REF.fullmatch(ref)
        if match is None:
            raise SecretError(
                "a secret setting holds a literal value instead of a reference;"
                " store the secret and use env:NAME, secret:NAME, file:/path, vault:PATH#KEY or esc:PROJECT/ENV#KEY"
            )
        scheme, target = match.group(1), match.group(2).strip()
        if scheme not in _LOCAL:
            value = self._from_manager(scheme, target)
        elif scheme == "env":
            value = self._from_env(target)
        elif scheme == "secret":
            value = self._from_backend(target)
        else:
            value = self._from_file(target)
        redactor.add(value)
        return value

    def _from_manager(self, scheme: str, target: str) -> str:
        manager = self._remote.get(scheme)
        if manager is None:
            raise SecretError(f"a {scheme}: reference needs [secrets.{scheme}] in the settings")
        return manager.read(target)

    def _from_env(self, name: str) -> str:
        if not _ENV_NAME.fullmatch(name) or _could_be_a_secret(name):
            raise SecretError(
                "an env: reference does not hold an environment variable name (letters, digits and _);"
                " fix the reference and keep the secret itself in the environment"
            )
        value = self._environ.get(name)
        if value is None:
            raise SecretError(
                f"environment variable {name} is not set (referenced as env:{name});"
                " export it or change the reference"
            )
        if not value:
            raise SecretError(
                f"environment variable {name} is empty (referenced as env:{name}); export its value"
                " or change the reference"
            )
        return value

    def _from_backend(self, name: str) -> str:
        if _could_be_a_secret(name):
            raise SecretError(
                "a secret: reference holds what looks like a credential instead of a vault entry name;"
                " store the secret with `sophia secrets set NAME` and reference secret:NAME"
            )
        try:
            check_name(name)
        except InvalidInput as exc:
            raise SecretError(exc.message) from None
        value = self.backend.get(name)
        if value is None:
            where = f" at {self._home / 'vault.json'}" if isinstance(self.backend, Vault) else ""
            raise SecretError(
                f"the vault{where} has no entry {name} (referenced as secret:{name});"
                f" add it with `sophia secrets set {name}` or change the reference"
            )
        return value

    def _from_file(self, target: str) -> str:
        path = Path(target).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SecretError(
                f"the file {path} does not exist (referenced as file:{target});"
                " create it or change the reference"
            ) from None
        except (OSError, UnicodeDecodeError):
            raise SecretError(
                f"the file {path} cannot be read as UTF-8 text (referenced as file:{target});"
                " check its permissions and content"
            ) from None
        value = text.strip()
        if not value:
            raise SecretError(
                f"the file {path} is empty (referenced as file:{target}); write the secret into it"
            )
        return value
