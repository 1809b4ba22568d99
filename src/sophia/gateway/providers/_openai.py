"""Any OpenAI-compatible upstream: OpenAI, OpenRouter, Groq, Together, DeepSeek, xAI, Mistral, vLLM…"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing

import httpx

from sophia.gateway._errors import ProviderProtocolError, StreamInterrupted, error_from_stream_event
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream
from sophia.gateway.providers._http import HTTPUpstream
from sophia.gateway.providers._quirks import WireQuirks
from sophia.gateway.wire.openai import make_chunk, prepare_chat_request, prepare_embedding_request


class OpenAICompatibleProvider:
    """Forwards Sophia's canonical bodies almost untouched: only `model` and stream options change.

    A kind with its own small differences (Groq's stream usage, Mistral's field names, OpenRouter's routing
    preferences…) passes `quirks`; `secret_headers` are credentials sent in headers other than
    `Authorization` (Portkey's), kept out of every error like the API key. Set `stream_usage=False` for servers
    that reject `stream_options`.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        stream_usage: bool = True,
        quirks: WireQuirks | None = None,
        secret_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.timeouts = timeouts or Timeouts()
        self._quirks = quirks
        self.stream_usage = stream_usage and (quirks is None or quirks.stream_usage)
        self.reports_cost = quirks is not None and quirks.reports_cost
        all_headers = {**(headers or {}), **(secret_headers or {})}
        if api_key:
            all_headers["authorization"] = f"Bearer {api_key}"
        self._http = HTTPUpstream(
            provider=name,
            base_url=base_url,
            headers=all_headers,
            secrets=(api_key or "", *(secret_headers or {}).values()),
            timeouts=self.timeouts,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleProvider(name={self.name!r}, base_url={str(self._http.client.base_url)!r})"

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        payload = prepare_chat_request(body, upstream_model=upstream_model, stream=False)
        if self._quirks is not None:
            payload = self._quirks.request(payload, stream=False)
        response = await self._http.post_json("/chat/completions", payload)
        if not isinstance(response.get("choices"), list):
            raise ProviderProtocolError(
                f"Provider '{self.name}' answered without `choices`; it may not be OpenAI-compatible.",
                provider=self.name,
            )
        return response if self._quirks is None else self._quirks.response(response)

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        payload = prepare_chat_request(
            body, upstream_model=upstream_model, stream=True, include_usage=self.stream_usage
        )
        if self._quirks is not None:
            payload = self._quirks.request(payload, stream=True)
        return guard_stream(self._chunks(payload), provider=self.name, timeouts=self.timeouts)

    async def _chunks(self, payload: JSONDict) -> AsyncGenerator[JSONDict, None]:
        ended = finished = False
        last: JSONDict | None = None
        usage_seen = False
        async with aclosing(self._http.stream_events("/chat/completions", payload)) as events:
            async for event in events:
                if event.is_done:
                    ended = True
                    break
                chunk = self._http.decode_object(event.data, what="stream chunk")
                if event.event == "error" or "error" in chunk:
                    raise error_from_stream_event(self.name, chunk)
                if self._quirks is not None:
                    chunk = self._quirks.chunk(chunk)
                usage_seen = usage_seen or bool(chunk.get("usage"))
                finished = finished or any(c.get("finish_reason") for c in chunk.get("choices") or ())
                last = chunk
                yield chunk
        if last is None:
            raise ProviderProtocolError(
                f"Provider '{self.name}' ended the stream without a chunk.", provider=self.name
            )
        if not (ended or finished):
            raise StreamInterrupted(
                f"The stream from '{self.name}' ended before it finished.", provider=self.name
            )
        if not usage_seen:  # the contract: the last chunk carries usage, `None` when the upstream kept it
            yield make_chunk(
                completion_id=str(last.get("id", "")),
                model=str(last.get("model", "")),
                created=int(last.get("created") or 0),
                with_choice=False,
            )

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        payload = prepare_embedding_request(body, upstream_model=upstream_model)
        response = await self._http.post_json("/embeddings", payload)
        if not isinstance(response.get("data"), list):
            raise ProviderProtocolError(
                f"Provider '{self.name}' answered embeddings without `data`.", provider=self.name
            )
        return response

    async def aclose(self) -> None:
        await self._http.aclose()


__all__ = ["OpenAICompatibleProvider"]
