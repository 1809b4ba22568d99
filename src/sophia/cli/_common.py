"""What every CLI command shares: loading settings once, and turning Sophia's errors into exit code 2."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from sophia.config import Settings, load_settings
from sophia.errors import ConfigError, SophiaError
from sophia.observability import redactor

if TYPE_CHECKING:
    from sophia.store import Database

P = ParamSpec("P")
T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


class CliState:
    """Per-invocation state set by the root callback (`--config`)."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState(None)
    return root.obj


def settings_of(ctx: typer.Context) -> Settings:
    return state(ctx).settings()


def fail(message: str, problems: list[str] | None = None, code: int = 2) -> NoReturn:
    """Print one clear sentence (and each problem on its own line) to stderr and exit; never a traceback."""
    err_console.print(f"[bold red]error:[/] {redactor.redact(message)}", highlight=False, soft_wrap=True)
    for problem in problems or []:
        err_console.print(f"  - {redactor.redact(problem)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Decorator for commands: a SophiaError becomes a clean message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            fail(exc.message, exc.problems if exc.problems != [exc.message] else None)
        except SophiaError as exc:
            fail(exc.message)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            raise typer.Exit(130) from None

    return wrapper


@asynccontextmanager
async def cli_database(settings: Settings) -> AsyncIterator[Database]:
    """The one way a command opens the database: the embedded SQLite file is created and upgraded on the spot;
    PostgreSQL is upgraded when `server.upgrade_on_start` (the default, as `sophia serve` does), else it must
    already be at the newest migration (`sophia db upgrade`)."""
    from sophia.store import open_database, resolve_database_url

    sqlite = resolve_database_url(settings).startswith("sqlite")
    if sqlite:
        settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    database = await open_database(settings, migrate=sqlite or settings.server.upgrade_on_start)
    try:
        yield database
    finally:
        await database.close()


def run_async(coro: Awaitable[T]) -> T:
    async def _wrap() -> T:
        return await coro

    return asyncio.run(_wrap())


def echo_json(data: Any) -> None:
    import orjson

    console.print_json(orjson.dumps(data, default=str).decode())
