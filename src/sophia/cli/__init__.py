"""The `sophia` command. Each sub-command group lives in its own module; this file only wires them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import sophia
from sophia.cli import (
    _accounts,
    _approvals,
    _bi,
    _budgets,
    _code,
    _config,
    _connectors,
    _db,
    _mcp,
    _memory,
    _models,
    _research,
    _runs,
    _secrets,
    _serve,
    _usage,
)
from sophia.cli._common import CliState

app = typer.Typer(
    name="sophia",
    help="Sophia: a self-hosted AI orchestrator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
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


@app.command()
def version() -> None:
    """Print Sophia's version."""
    typer.echo(sophia.__version__)


app.command("serve")(_serve.serve)
app.command("ask")(_models.ask)
app.command("run")(_runs.run_command)
app.command("worker")(_runs.worker_command)
app.command("code")(_code.code_command)
app.command("usage")(_usage.usage_command)
app.command("research")(_research.research_command)
app.add_typer(_runs.runs_app)
app.add_typer(_approvals.app)
app.add_typer(_models.app)
app.add_typer(_config.app)
app.add_typer(_secrets.app)
app.add_typer(_db.app)
app.add_typer(_accounts.users_app)
app.add_typer(_accounts.keys_app)
app.add_typer(_budgets.app)
app.add_typer(_mcp.app)
app.add_typer(_memory.app)
app.add_typer(_connectors.app)
app.add_typer(_bi.app)


def main() -> None:
    app()


__all__ = ["app", "main"]
