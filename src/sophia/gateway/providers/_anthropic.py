"""Anthropic's Messages API behind the OpenAI-shaped `ChatProvider` interface."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing

import httpx

from sophia.gateway._errors import ProviderBadRequest, ProviderProtocolError, StreamInterrupted
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream
from sophia.gateway.providers._http import HTTPUpstream
from sophia.gateway.wire import AnthropicStreamTranslator
from sophia.gateway.wire.anthropic import ANTHROPIC_VERSION, from_anthropic_response, to_anthropic_request

DEFAULT_BASE_URL = "https://api.anthropic.com/v1"


class AnthropicProvider:
    """Translates requests with `wire.anthropic` and authenticates with `x-api-key`."""

    def __init__(
        self,
        name: str = "anthropic",
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.timeouts = timeouts or Timeouts()
        all_headers = {"anthropic-version": ANTHROPIC_VERSION, **(headers or {})}
        if api_key:
            all_headers["x-api-key"] = api_key
        self._http = HTTPUpstream(
            provider=name,
            base_url=base_url,
            headers=all_headers,
            secrets=(api_key or "",),
            timeouts=self.timeouts,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, base_url={str(self._http.client.base_url)!r})"

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        payload = to_anthropic_request(body, upstream_model=upstream_model)
        response = await self._http.post_json("/messages", payload)
        if not isinstance(response.get("content"), list):
            raise ProviderProtocolError(
                f"Provider '{self.name}' answered without `content`; check its base URL.", provider=self.name
            )
        return from_anthropic_response(response)

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        payload = to_anthropic_request(body, upstream_model=upstream_model, stream=True)
        return guard_stream(self._chunks(payload), provider=self.name, timeouts=self.timeouts)

    async def _chunks(self, payload: JSONDict) -> AsyncGenerator[JSONDict, None]:
        translator = AnthropicStreamTranslator(self.name)
        seen = False
        async with aclosing(self._http.stream_events("/messages", payload)) as events:
            async for event in events:
                seen = True
                for chunk in translator.feed(self._http.decode_object(event.data, what="stream event")):
                    yield chunk
                if translator.done:
                    return
        if not seen:
            raise ProviderProtocolError(
                f"Provider '{self.name}' ended the stream without an event.", provider=self.name
            )
        raise StreamInterrupted(
            f"The stream from '{self.name}' ended before `message_stop`.", provider=self.name
        )

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        raise ProviderBadRequest(
            f"Provider '{self.name}' (Anthropic) has no embeddings API; route embeddings elsewhere.",
            provider=self.name,
        )

    async def aclose(self) -> None:
        await self._http.aclose()


__all__ = ["AnthropicProvider", "DEFAULT_BASE_URL"]
