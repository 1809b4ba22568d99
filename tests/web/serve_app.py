"""An app factory for `uvicorn --factory`: Sophia's API with the dashboard installed (as `sophia serve` will be).

With WEB_TEST_SCRIPTED_RUNS set, a run worker on a scripted model runs in the same process, so the browser
test can start a run that waits for approval and click Approve.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from sophia.config import load_settings
from sophia.runs import system_database_url
from sophia.server import create_app


def app() -> FastAPI:
    scripted = bool(os.environ.get("WEB_TEST_SCRIPTED_RUNS"))
    if scripted:  # the scripted worker below replaces the one `sophia serve` hosts
        os.environ["SOPHIA_SERVER__RUN_WORKER"] = "false"
    built = create_app(load_settings())
    if scripted:
        from tests.web.scripted_runs import scripted_runs

        inner = built.router.lifespan_context

        @asynccontextmanager
        async def lifespan(started: FastAPI) -> AsyncIterator[Any]:
            async with inner(started) as state:
                services = started.state.services
                async with scripted_runs(started, services.database, system_database_url(services.settings)):
                    yield state

        built.router.lifespan_context = lifespan
    return built
