"""`sophia serve`: check the database first (clean error, exit 2), then run uvicorn on uvloop + httptools."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from sophia.cli._common import console, handle_errors, run_async, settings_of
from sophia.config import Settings
from sophia.observability import configure_logging

log = logging.getLogger("sophia.serve")


async def _preflight(settings: Settings) -> None:
    from sophia.server._services import open_database

    database = await open_database(settings, migrate=settings.server.upgrade_on_start)
    await database.close()


@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8080).")] = None,
) -> None:
    """Start Sophia's HTTP server on the configured database (SQLite under SOPHIA_HOME by default)."""
    import uvicorn

    from sophia.server import create_app

    settings = settings_of(ctx)
    configure_logging(settings.logging.level, settings.logging.format)
    settings.home.mkdir(parents=True, exist_ok=True)
    run_async(_preflight(settings))
    bind_host = host or settings.server.host
    bind_port = port or settings.server.port
    console.print(f"Sophia serving on http://{bind_host}:{bind_port} (data in {settings.home.resolve()})")
    config = uvicorn.Config(
        create_app(settings),
        host=bind_host,
        port=bind_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()
