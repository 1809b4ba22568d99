"""`sophia serve`: check the database first (clean error, exit 2), then run uvicorn (or granian) on uvloop."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import typer

from sophia.cli._common import console, handle_errors, run_async, settings_of
from sophia.config import Settings
from sophia.errors import ConfigError
from sophia.observability import configure_logging

log = logging.getLogger("sophia.serve")


async def _preflight(settings: Settings) -> None:
    from sophia.store import open_database

    database = await open_database(settings, migrate=settings.server.upgrade_on_start)
    await database.close()


@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8080).")] = None,
    only: Annotated[
        str | None,
        typer.Option(
            help="'gateway': serve the model API alone (chat, messages, embeddings, models, usage, budgets, health), "
            "without memory, tools, runs, the dashboard or MCP."
        ),
    ] = None,
) -> None:
    """Start Sophia's HTTP server on the configured database (SQLite under SOPHIA_HOME by default)."""
    if only not in (None, "gateway"):
        raise ConfigError(f"--only takes 'gateway', not {only!r}")
    settings = settings_of(ctx)
    configure_logging(settings.logging.level, settings.logging.format)
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_async(_preflight(settings))
    bind_host = host or settings.server.host
    bind_port = port or settings.server.port
    what = "gateway" if only == "gateway" else "serving"
    console.print(f"Sophia {what} on http://{bind_host}:{bind_port} (data in {settings.home.resolve()})")
    if only == "gateway":
        from sophia.server import create_gateway_app

        app = _with_frozen_heap(create_gateway_app(settings))
    else:
        from sophia.server import create_app

        app = _with_frozen_heap(create_app(settings))
    if settings.server.engine == "granian":
        _run_granian(app, bind_host, bind_port, settings)
    else:
        _run_uvicorn(app, bind_host, bind_port, settings)


def _run_uvicorn(app: Any, host: str, port: int, settings: Settings) -> None:
    import uvicorn

    from sophia.server import DrainingServer, http_protocol, proxy_options

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=http_protocol(),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=round(settings.server.graceful_shutdown_seconds),
        **proxy_options(settings.server.trusted_proxies),
    )
    DrainingServer(config, app=app, drain_seconds=settings.server.drain_seconds).run()


class _QuietEmbedWarning(logging.Filter):
    """Granian warns on every start that its embedded mode is experimental; say it once here, not in every log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def _run_granian(app: Any, host: str, port: int, settings: Settings) -> None:
    """Granian (`server.engine = "granian"`): HTTP parsing in Rust, on a Rust thread beside the event loop.

    Measured on one core it costs more CPU per request than uvicorn + httptools (the hand-off between its thread
    and the loop's), so uvicorn stays the default. The embedded server runs in this process on our uvloop loop and
    runs the app's lifespan; SIGINT/SIGTERM close the listener, then the lifespan shutdown flushes the ledger.
    """
    try:
        import uvloop
        from granian.constants import HTTPModes, Interfaces
        from granian.log import LogLevels
        from granian.server.embed import Server
    except ImportError:
        raise ConfigError(
            "server.engine = 'granian' needs the granian package: pip install granian, or set engine = 'uvicorn'"
        ) from None

    server = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        runtime_threads=1,
        log_level=LogLevels.warning,
        log_dictconfig={"loggers": {"_granian": {"level": "WARNING", "propagate": True}}},
    )
    server.workers_kill_timeout = round(settings.server.graceful_shutdown_seconds)
    # Granian installs its logging config with `dictConfig`; put Sophia's handler back on the root logger.
    configure_logging(settings.logging.level, settings.logging.format)
    logging.getLogger("_granian").addFilter(_QuietEmbedWarning())

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        await server.serve()

    uvloop.run(main())


def _with_frozen_heap(app: Any) -> Any:
    """Once started, move every object built so far out of the collector's sight (`gc.freeze`).

    Ledger records live long enough to reach the oldest generation, so full collections run every few hundred
    requests, and each one walked the whole heap of imported modules (FastAPI, SQLAlchemy, pydantic): tens of
    microseconds a request on average for objects that live as long as the process.
    """
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        async with inner(started) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app
