"""Breakers shared by replicas: one replica's verdict on a deployment reaches the others through Redis.

Nothing is sent per request. When a breaker opens or closes on a replica's own evidence, that replica writes the
verdict to a hash (so a replica that starts later reads the breakers open now) and publishes it; the others apply it
to their own breaker, so a deployment one replica found down is not called by the rest during its cool-down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

from sophia.gateway._breaker import BreakerBoard, BreakerState

__all__ = ["BreakerSync"]

log = logging.getLogger("sophia.gateway")


class BreakerSync:
    def __init__(self, url: str, board: BreakerBoard, prefix: str = "sophia:") -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ImportError("shared breakers need the 'redis' extra: pip install 'sophia[redis]'") from None
        self._redis: Any = aioredis.from_url(url)
        self._board = board
        self._channel = prefix + "breakers"
        self._hash = prefix + "breakers:open"
        self.replica = secrets.token_hex(6)
        self._listener: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.applied = 0
        """Verdicts taken from other replicas (for tests and metrics)."""

    async def start(self) -> None:
        """Apply the breakers other replicas hold open now, then listen for new verdicts."""
        now = time.time()
        for deployment, raw in (await self._redis.hgetall(self._hash)).items():
            until = float(raw)
            if until > now:
                self._board.get(deployment.decode()).apply(BreakerState.OPEN, until - now)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(pubsub))
        self._board.on_transition = self._publish

    def _publish(self, deployment: str, state: BreakerState, cooldown: float) -> None:
        task = asyncio.get_running_loop().create_task(self._send(deployment, state, cooldown))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, deployment: str, state: BreakerState, cooldown: float) -> None:
        message = json.dumps(
            {"from": self.replica, "deployment": deployment, "state": state, "cooldown": cooldown}
        )
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if state is BreakerState.OPEN:
                    pipe.hset(self._hash, deployment, repr(time.time() + cooldown))
                else:
                    pipe.hdel(self._hash, deployment)
                pipe.publish(self._channel, message)
                await pipe.execute()
        except Exception as error:  # noqa: BLE001 - a lost verdict only costs other replicas their own probes
            log.warning("could not share the breaker verdict on %s: %s", deployment, error)

    async def _listen(self, pubsub: Any) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                try:
                    verdict = json.loads(message["data"])
                    if verdict["from"] == self.replica:
                        continue
                    state = BreakerState(verdict["state"])
                    cooldown = float(verdict["cooldown"])
                    deployment = str(verdict["deployment"])
                except (ValueError, KeyError, TypeError):
                    log.warning("ignored a malformed breaker message on %s", self._channel)
                    continue
                self._board.get(deployment).apply(state, cooldown)
                self.applied += 1
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def aclose(self) -> None:
        self._board.on_transition = None
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose()
