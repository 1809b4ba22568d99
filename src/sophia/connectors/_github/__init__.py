"""GitHub: repositories, branches, files, issues, pull requests, checks, Actions, releases, search, webhooks."""

from sophia.connectors._github._connector import GitHub

__all__ = ["GitHub"]
