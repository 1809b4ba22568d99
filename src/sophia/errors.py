"""Sophia's typed error hierarchy: every error a user can meet says what to fix."""

from __future__ import annotations


class SophiaError(Exception):
    """Base of every error Sophia raises on purpose.

    `code` is a stable machine-readable name; the message is one sentence for a person.
    """

    code = "sophia_error"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SophiaError):
    """The settings are wrong; `problems` lists each one with its path."""

    code = "config_error"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class SecretError(SophiaError):
    """A secret reference cannot be resolved, or the vault cannot be opened."""

    code = "secret_error"


class StorageError(SophiaError):
    """The database cannot be reached or is not at the expected migration."""

    code = "storage_error"
    http_status = 503


class AuthError(SophiaError):
    """Missing, unknown, revoked or expired credentials."""

    code = "unauthorized"
    http_status = 401


class PermissionDenied(SophiaError):
    """The caller is known but their role or scopes do not allow this."""

    code = "forbidden"
    http_status = 403


class NotFound(SophiaError):
    code = "not_found"
    http_status = 404


class InvalidInput(SophiaError):
    """The request or argument is malformed; nothing was written."""

    code = "invalid_input"
    http_status = 400


class BodyTooLarge(InvalidInput):
    """A request body over its route's limit; refused before it is read whole."""

    code = "body_too_large"
    http_status = 413


class Conflict(SophiaError):
    code = "conflict"
    http_status = 409
