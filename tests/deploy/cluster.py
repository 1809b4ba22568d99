"""A round-robin load balancer for the scale-out tests: health-checked like a Kubernetes Service or Fly's proxy.

Replicas whose `/readyz` is not 200 get no new requests (checked every `check_seconds` from a thread); a request
whose connection is refused (a listener already closed) goes to the next replica, since it was never accepted. A
request a replica accepted is never resent: its answer, whatever it is, is the answer.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.serving import serve_app

_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class RoundRobin:
    def __init__(self, replicas: list[str], check_seconds: float = 0.2) -> None:
        self.replicas = replicas
        self.ready = {url: True for url in replicas}
        self.served: Counter[str] = Counter()
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._check_seconds = check_seconds
        self._checker = threading.Thread(target=self._check, daemon=True)

    def _check(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self._stop.wait(self._check_seconds):
                for url in self.replicas:
                    try:
                        self.ready[url] = client.get(f"{url}/readyz").status_code == 200
                    except httpx.TransportError:
                        self.ready[url] = False

    def _order(self) -> list[str]:
        start = next(self._turn)
        rotated = [self.replicas[(start + i) % len(self.replicas)] for i in range(len(self.replicas))]
        return [url for url in rotated if self.ready[url]] or rotated

    def app(self) -> Starlette:
        async def forward(request: Request) -> Response:
            body = await request.body()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            async with httpx.AsyncClient(timeout=120) as client:
                for url in self._order():
                    try:
                        answer = await client.request(
                            request.method,
                            f"{url}{request.url.path}",
                            params=request.query_params.multi_items(),
                            content=body,
                            headers=headers,
                        )
                    except httpx.ConnectError:
                        continue  # not accepted: the next replica may take it
                    self.served[url] += 1
                    response = Response(answer.content, status_code=answer.status_code)
                    for name, value in answer.headers.multi_items():  # every Set-Cookie, not one joined
                        if name.lower() not in _HOP_BY_HOP:
                            response.headers.append(name, value)
                    return response
            return Response(b'{"error": "no replica accepted the request"}', status_code=502)

        return Starlette(
            routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
        )

    @contextmanager
    def running(self) -> Iterator[str]:
        self._checker.start()
        try:
            with serve_app(self.app()) as url:
                yield url
        finally:
            self._stop.set()
            self._checker.join(timeout=5)
