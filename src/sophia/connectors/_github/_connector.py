"""The GitHub connector: every action group on one class, usable as a tool set or from Python."""

from __future__ import annotations

from sophia.connectors._github._code import CodeActions
from sophia.connectors._github._work import WorkActions

__all__ = ["GitHub"]


class GitHub(CodeActions, WorkActions):
    """GitHub's REST API (and GraphQL for a pull request's status), with a token; GitHub Enterprise via base_url."""
