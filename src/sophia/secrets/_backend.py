"""The interface every secret store implements, so HashiCorp Vault or Pulumi ESC can be added as extras."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class SecretBackend(Protocol):
    """A named store of secret strings. `secret:NAME` references are resolved through one of these."""

    def get(self, name: str) -> str | None:
        """The value stored under `name`, or None when there is none."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store `value` under `name`, replacing any previous value."""
        ...

    def delete(self, name: str) -> bool:
        """Remove `name`; True when it existed."""
        ...

    def names(self) -> list[str]:
        """Every stored name, sorted; never the values."""
        ...
