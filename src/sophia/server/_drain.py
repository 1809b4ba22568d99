"""SIGTERM in two steps, so a load balancer stops sending before the listener closes.

On the first SIGTERM (or SIGINT) the server keeps serving for `drain_seconds` while `/readyz` answers 503, so
Kubernetes' endpoints controller or any health-checking proxy takes the replica out of rotation; then uvicorn's own
graceful shutdown closes the listener, lets in-flight requests and streams finish (up to
`graceful_shutdown_seconds`), and the app's lifespan flushes the ledger and stops the run worker, whose missing
heartbeat row hands its runs to the other workers at their next beat. A second signal skips the rest of the drain.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

import uvicorn

__all__ = ["DrainingServer", "is_draining"]

log = logging.getLogger("sophia.serve")


def is_draining(app: Any) -> bool:
    return bool(getattr(app.state, "draining", False))


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, app: Any, drain_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_seconds = drain_seconds
        self._timer: threading.Timer | None = None
        app.state.draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_seconds <= 0 or self._timer is not None:
            if self._timer is not None:
                self._timer.cancel()
            super().handle_exit(sig, frame)
            return
        self._app.state.draining = True
        log.info(
            "draining: /readyz answers 503 for %.1f s, then in-flight requests finish", self._drain_seconds
        )
        self._timer = threading.Timer(self._drain_seconds, super().handle_exit, (sig, None))
        self._timer.daemon = True
        self._timer.start()
