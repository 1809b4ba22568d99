"""`sophia secrets ...`: the encrypted vault behind `secret:NAME` references, and a scan for leaked keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sophia.cli._common import err_console, handle_errors, settings_of
from sophia.errors import NotFound
from sophia.secrets import MASTER_KEY_ENV, Finding, Vault, check_name, encode_key, generate_key, scan_path

app = typer.Typer(
    name="secrets",
    no_args_is_help=True,
    help="The encrypted vault behind secret:NAME references, and a scanner for credentials left in files.",
)


def _vault(ctx: typer.Context) -> Vault:
    settings = settings_of(ctx)
    return Vault(settings.home, settings.secrets.key_file)


def _read_value(name: str) -> str:
    """Piped input is taken as is (minus the final newline); a terminal gets a hidden, confirmed prompt."""
    if not sys.stdin.isatty():
        return sys.stdin.read().rstrip("\r\n")
    value: str = typer.prompt(f"value for {name}", hide_input=True, confirmation_prompt=True)
    return value


def _say(text: str) -> None:
    """Status lines go to stderr, so stdout carries only data (values, names, findings)."""
    err_console.print(text, highlight=False, soft_wrap=True)


def _missing(vault: Vault, name: str) -> NotFound:
    return NotFound(f"the vault at {vault.path} has no entry {name!r}; list names with `sophia secrets list`")


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


@app.command("set")
@handle_errors
def set_secret(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Entry name, referenced as secret:NAME.")],
    value: Annotated[
        str | None,
        typer.Option("--value", help="The value (kept in shell history: prefer the hidden prompt or stdin)."),
    ] = None,
) -> None:
    """Store a secret in the vault (replacing any previous value)."""
    check_name(name)
    vault = _vault(ctx)
    vault.set(name, _read_value(name) if value is None else value)
    _say(f"stored {name} in {vault.path}; reference it as secret:{name}")


@app.command("get")
@handle_errors
def get_secret(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Entry name.")]) -> None:
    """Print a secret's value on stdout."""
    vault = _vault(ctx)
    value = vault.get(name)
    if value is None:
        raise _missing(vault, name)
    typer.echo(value)


@app.command("list")
@handle_errors
def list_secrets(ctx: typer.Context) -> None:
    """Print the names in the vault, one a line (never the values)."""
    vault = _vault(ctx)
    names = vault.names()
    for name in names:
        typer.echo(name)
    if not names:
        _say(f"the vault at {vault.path} is empty")


@app.command("delete")
@handle_errors
def delete_secret(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Entry name.")]) -> None:
    """Remove a secret from the vault."""
    vault = _vault(ctx)
    if not vault.delete(name):
        raise _missing(vault, name)
    _say(f"deleted {name} from {vault.path}")


@app.command("rotate-key")
@handle_errors
def rotate_key(ctx: typer.Context) -> None:
    """Re-encrypt every entry with a new key: saved to the key file, or printed for SOPHIA_MASTER_KEY."""
    vault = _vault(ctx)
    count = len(vault.names())  # opens the vault first: a wrong key stops here, before a new key is shown
    if vault.key_file is None:
        new_key = generate_key()
        _say(f"new master key; set {MASTER_KEY_ENV} to it (it is not stored anywhere else):")
        typer.echo(encode_key(new_key))
        vault.rotate_key(new_key)
        _say(f"re-encrypted {_entries(count)} in {vault.path}")
        return
    vault.rotate_key()
    _say(
        f"re-encrypted {_entries(count)} in {vault.path}; new key in {vault.key_file}",
    )


def _report(findings: list[Finding]) -> None:
    for finding in findings:
        typer.echo(f"{finding.path}:{finding.line}: {finding.kind}")


@app.command("scan")
@handle_errors
def scan(paths: Annotated[list[Path], typer.Argument(help="Files or directories to scan.")]) -> None:
    """Find credentials in files; print file:line: kind (never the value) and exit 1 when any is found."""
    findings = [finding for path in paths for finding in scan_path(path)]
    _report(findings)
    if findings:
        files = len({finding.path for finding in findings})
        _say(f"{len(findings)} possible credential(s) in {files} file(s)")
        raise typer.Exit(1)
    _say("no credentials found")
