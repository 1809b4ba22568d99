"""uvicorn's httptools protocol, writing a fixed-length response's head and body in one system call.

uvicorn writes the status line and headers as soon as `http.response.start` arrives and the body on the next
message: two socket writes per response. Under load that second system call was a measurable share of the gateway's
CPU per request. Here a start message that carries `content-length` (a complete body follows, never a stream) is
held until its first body message, and both go out in one write. Responses without `content-length` (SSE and other
streams) are written exactly as before, so streamed headers are never delayed.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

__all__ = ["CoalescingHttpToolsProtocol", "proxy_options"]


class _Capture:
    """Stands in for the transport while uvicorn renders one response: writes are joined, a close waits for them."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.parts: list[bytes] = []
        self.close_requested = False

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def close(self) -> None:
        self.close_requested = True

    def release(self) -> None:
        if self.parts and not self.real.is_closing():
            self.real.write(b"".join(self.parts))
        if self.close_requested:
            self.real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _has_length(message: Any) -> bool:
    return any(name.lower() == b"content-length" for name, _ in message.get("headers", ()))


class _CoalescingCycle(RequestResponseCycle):
    _held: Any = None

    async def send(self, message: Any) -> None:
        held = self._held
        if held is not None and message["type"] == "http.response.start":
            # A second start: uvicorn's own 500 for an app that failed after its start; the held one never went out.
            held = self._held = None
        if held is None:
            if (
                message["type"] == "http.response.start"
                and not self.response_started
                and _has_length(message)
            ):
                self._held = message
                return
            await super().send(message)
            return
        self._held = None
        real = self.transport
        capture = _Capture(real)
        self.transport = capture  # type: ignore[assignment]
        try:
            await super().send(held)
            await super().send(message)
        finally:
            self.transport = real
            capture.release()


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """Pass as uvicorn's `http=`; every request's cycle (pipelined ones too) starts through `_start_asgi_task`."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.__class__ = _CoalescingCycle
        super()._start_asgi_task(cycle, app)


def http_protocol() -> Any:
    """The coalescing protocol when this uvicorn has the hook it needs, else uvicorn's own httptools protocol."""
    if hasattr(HttpToolsProtocol, "_start_asgi_task"):
        return CoalescingHttpToolsProtocol
    return "httptools"


def proxy_options(trusted_proxies: list[str]) -> dict[str, Any]:
    """uvicorn believes X-Forwarded-For only from `server.trusted_proxies`; its own default trusts localhost."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": ",".join(trusted_proxies) or None}
