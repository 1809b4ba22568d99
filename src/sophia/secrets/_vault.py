"""The local vault: an encrypted file under SOPHIA_HOME, opened by SOPHIA_MASTER_KEY or a private key file.

Every operation reads the file afresh under an inter-process lock and checks the key before writing anything.
Rotation writes the new key to `vault.key.new`, then replaces the vault, then replaces the key file; opening a
vault finishes a rotation that a crash interrupted, so the vault stays openable at every instant.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from sophia.errors import InvalidInput, SecretError
from sophia.observability import redactor
from sophia.secrets._document import VaultDocument
from sophia.secrets._files import (
    check_private,
    ensure_private_dir,
    exclusive_lock,
    fsync_dir,
    replace_durably,
    write_atomically,
)
from sophia.secrets._keys import KEY_BYTES, MASTER_KEY_ENV, decode_key, encode_key, generate_key

VAULT_FILE = "vault.json"
KEY_FILE = "vault.key"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/@:]{0,127}")


def check_name(name: str) -> str:
    """Entry names appear in clear in the file and in `secret:NAME` references, so keep them plain."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid secret name; use up to 128 letters, digits and _ . - / @ :,"
            " starting with a letter or digit"
        )
    return name


class Vault:
    """The local implementation of `SecretBackend`: AES-256-GCM entries in `home/vault.json`."""

    def __init__(
        self,
        home: Path,
        key_file: Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.home = home
        self.path = home / VAULT_FILE
        self._lock_path = home / f"{VAULT_FILE}.lock"
        self._env_key: bytes | None = None
        if env.get(MASTER_KEY_ENV):
            self._env_key = decode_key(env[MASTER_KEY_ENV], MASTER_KEY_ENV)
            redactor.add(env[MASTER_KEY_ENV].strip())
        self.key_file: Path | None = None if self._env_key else (key_file or home / KEY_FILE)

    @property
    def pending_key_file(self) -> Path | None:
        """Where a rotation in progress keeps the new key until the vault has been re-encrypted."""
        return None if self.key_file is None else self.key_file.with_name(self.key_file.name + ".new")

    # -- SecretBackend -------------------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        if not self.path.exists():
            return None
        with self._locked():
            opened = self._open()
        if opened is None:
            return None
        key, doc = opened
        value = doc.unseal(key, name, self.path)
        if value is not None:
            redactor.add(value)
        return value

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value:
            raise InvalidInput(f"the value for {name!r} is empty; give the secret's value")
        redactor.add(value)
        with self._locked(create_home=True):
            key, doc = self._open() or self._create()
            doc.seal(key, name, value)
            write_atomically(self.path, doc.serialize())

    def delete(self, name: str) -> bool:
        if not self.path.exists():
            return False
        with self._locked():
            opened = self._open()
            if opened is None or name not in opened[1].entries:
                return False
            _, doc = opened
            del doc.entries[name]
            write_atomically(self.path, doc.serialize())
        return True

    def names(self) -> list[str]:
        if not self.path.exists():
            return []
        with self._locked():
            opened = self._open()
        return [] if opened is None else sorted(opened[1].entries)

    # -- key management ------------------------------------------------------------------------------------

    def rotate_key(self, new_key: bytes | None = None) -> bytes:
        """Re-encrypt every entry with a new key and return it.

        With a key file, the file is updated; with SOPHIA_MASTER_KEY nothing but the vault is written, and the
        caller must show the returned key (print it before calling, so a crash cannot lose it).
        """
        key = generate_key() if new_key is None else new_key
        if len(key) != KEY_BYTES:
            raise InvalidInput(f"a vault key must be {KEY_BYTES} bytes long; make one with generate_key()")
        with self._locked(create_home=True):
            old_key, doc = self._open() or self._create()
            fresh = doc.reencrypted(old_key, key, self.path)
            pending = self.pending_key_file
            if self.key_file is not None and pending is not None:
                write_atomically(pending, (encode_key(key) + "\n").encode("ascii"))
                write_atomically(self.path, fresh.serialize())
                replace_durably(pending, self.key_file)
            else:
                write_atomically(self.path, fresh.serialize())
                self._env_key = key
        redactor.add(encode_key(key))
        return key

    # -- internals -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, create_home: bool = False) -> Iterator[None]:
        if create_home:
            ensure_private_dir(self.home)
        with exclusive_lock(self._lock_path):
            yield

    def _open(self) -> tuple[bytes, VaultDocument] | None:
        """Read the vault and the key that opens it, finishing an interrupted rotation; None if no vault."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretError(
                f"the vault file {self.path} cannot be read ({exc.strerror}); check its permissions"
            ) from None
        doc = VaultDocument.parse(data, self.path)
        key = self._env_key if self._env_key is not None else self._read_key_file(self.key_file)
        if key is not None and doc.opens_with(key):
            self._discard_leftovers()
            return key, doc
        pending = self._read_key_file(self.pending_key_file)
        if pending is not None and doc.opens_with(pending) and self.key_file and self.pending_key_file:
            replace_durably(self.pending_key_file, self.key_file)
            return pending, doc
        if key is None:
            raise SecretError(
                f"the vault at {self.path} exists but its key file {self.key_file} is missing;"
                f" restore the key file or set {MASTER_KEY_ENV} to the vault's key"
            )
        if self.key_file is None:
            raise SecretError(
                f"the master key does not open the vault at {self.path};"
                f" set {MASTER_KEY_ENV} to the key it was created with"
            )
        raise SecretError(
            f"the key in {self.key_file} does not open the vault at {self.path};"
            f" restore the key file the vault was created with, or set {MASTER_KEY_ENV} to that key"
        )

    def _create(self) -> tuple[bytes, VaultDocument]:
        """A new, empty vault: the key comes from the environment, an existing key file or a new key file."""
        if self._env_key is not None:
            return self._env_key, VaultDocument.new(self._env_key)
        assert self.key_file is not None
        key = self._read_key_file(self.key_file)
        if key is None:
            key = generate_key()
            ensure_private_dir(self.key_file.parent)
            write_atomically(self.key_file, (encode_key(key) + "\n").encode("ascii"))
        return key, VaultDocument.new(key)

    def _read_key_file(self, path: Path | None) -> bytes | None:
        if path is None:
            return None
        try:
            check_private(path)
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            raise SecretError(f"the key file {path} cannot be read; check it is a file you own") from None
        key = decode_key(text, f"the key file {path}")
        redactor.add(text.strip())
        return key

    def _discard_leftovers(self) -> None:
        """Remove what a crashed writer left: temporary files, and a `vault.key.new` that does not open the vault.

        Called under the lock once the current key opened the vault, so no writer is in the middle of its work.
        """
        leftovers = list(self.home.glob(f".{VAULT_FILE}.*.tmp"))
        if self.key_file is not None and self.pending_key_file is not None:
            leftovers += self.key_file.parent.glob(f".{self.key_file.name}*.tmp")
            leftovers += [self.pending_key_file] if self.pending_key_file.exists() else []
        for path in leftovers:
            path.unlink(missing_ok=True)
        for directory in {path.parent for path in leftovers}:
            fsync_dir(directory)
