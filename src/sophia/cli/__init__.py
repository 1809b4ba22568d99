"""The `sophia` command. Each sub-command group lives in its own module; this file only wires them.

The groups that reach the agents, runs, coding, connectors' sync and memory layers (~85 MB resident once imported:
DBOS, pydantic-ai, NumPy, trafilatura) are added on first use of `app`, and `sophia serve …` never adds them, so
`sophia serve --only gateway` holds only what the gateway needs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

import sophia
from sophia.cli import (
    _accounts,
    _budgets,
    _config,
    _db,
    _experiments,
    _mcp,
    _models,
    _research,
    _secrets,
    _serve,
    _usage,
)
from sophia.cli._common import CliState

_app = typer.Typer(
    name="sophia",
    help="Sophia: a self-hosted AI orchestrator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@_app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Settings file (else SOPHIA_CONFIG, ./sophia.toml, SOPHIA_HOME/sophia.toml).",
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(config)


@_app.command()
def version() -> None:
    """Print Sophia's version."""
    typer.echo(sophia.__version__)


_app.command("serve")(_serve.serve)
_app.command("ask")(_models.ask)
_app.command("usage")(_usage.usage_command)
_app.command("research")(_research.research_command)
_app.add_typer(_models.app)
_app.add_typer(_experiments.app)
_app.add_typer(_config.app)
_app.add_typer(_secrets.app)
_app.add_typer(_db.app)
_app.add_typer(_accounts.users_app)
_app.add_typer(_accounts.keys_app)
_app.add_typer(_budgets.app)
_app.add_typer(_mcp.app)
_complete = False


def _full() -> typer.Typer:
    """The whole command: the heavy groups are imported and added once."""
    global _complete
    if not _complete:
        from sophia.cli import _approvals, _bi, _bi_reports, _code, _connectors, _memory, _runs, _sync

        _app.command("run")(_runs.run_command)
        _app.command("worker")(_runs.worker_command)
        _app.command("code")(_code.code_command)
        _app.command("sync")(_sync.sync_command)
        _app.add_typer(_runs.runs_app)
        _app.add_typer(_approvals.app)
        _app.add_typer(_memory.app)
        _app.add_typer(_connectors.app)
        _bi_reports.register(_bi.app)
        _app.add_typer(_bi.app)
        _complete = True
    return _app


def __getattr__(name: str) -> Any:
    if name == "app":
        return _full()
    raise AttributeError(f"module 'sophia.cli' has no attribute {name!r}")


def main() -> None:
    serving = len(sys.argv) > 1 and sys.argv[1] == "serve"
    (_app if serving else _full())()


__all__ = ["app", "main"]
