"""Cohere's native v2 Chat API behind the OpenAI-shaped `ChatProvider` interface (Bearer key, `/v2/chat`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing

import httpx

from sophia.gateway._errors import ProviderProtocolError, StreamInterrupted, error_from_status
from sophia.gateway.providers._base import JSONDict, Timeouts, guard_stream
from sophia.gateway.providers._http import HTTPUpstream
from sophia.gateway.wire.cohere import CohereStreamTranslator, from_cohere_response, to_cohere_request

DEFAULT_BASE_URL = "https://api.cohere.com"


class CohereProvider:
    """Translates with `wire.cohere`; embeddings go through Cohere's own `/v2/embed` shape."""

    def __init__(
        self,
        name: str = "cohere",
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.timeouts = timeouts or Timeouts()
        all_headers = dict(headers or {})
        if api_key:
            all_headers["authorization"] = f"Bearer {api_key}"
        self._http = HTTPUpstream(
            provider=name,
            base_url=base_url,
            headers=all_headers,
            secrets=(api_key or "",),
            timeouts=self.timeouts,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"CohereProvider(name={self.name!r}, base_url={str(self._http.client.base_url)!r})"

    async def complete(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        response = await self._http.post_json(
            "/v2/chat", to_cohere_request(body, upstream_model=upstream_model)
        )
        if not isinstance(response.get("message"), Mapping):
            raise ProviderProtocolError(
                f"Provider '{self.name}' answered without `message`; check its base URL.", provider=self.name
            )
        completion = from_cohere_response(response)
        completion["model"] = completion["model"] or upstream_model
        return completion

    def stream(self, body: JSONDict, *, upstream_model: str) -> AsyncIterator[JSONDict]:
        payload = to_cohere_request(body, upstream_model=upstream_model, stream=True)
        return guard_stream(self._chunks(payload, upstream_model), provider=self.name, timeouts=self.timeouts)

    async def _chunks(self, payload: JSONDict, model: str) -> AsyncGenerator[JSONDict, None]:
        translator = CohereStreamTranslator(model)
        seen = False
        async with aclosing(self._http.stream_events("/v2/chat", payload)) as events:
            async for event in events:
                if event.is_done:
                    break
                seen = True
                data = self._http.decode_object(event.data, what="stream event")
                if data.get("type") == "error" or event.event == "error":
                    raise error_from_status(self.name, 500, body=event.data)
                for chunk in translator.feed(data):
                    yield chunk
                if translator.done:
                    return
        if not seen:
            raise ProviderProtocolError(
                f"Provider '{self.name}' ended the stream without an event.", provider=self.name
            )
        raise StreamInterrupted(
            f"The stream from '{self.name}' ended before `message-end`.", provider=self.name
        )

    async def embed(self, body: JSONDict, *, upstream_model: str) -> JSONDict:
        texts = body.get("input")
        inputs = [texts] if isinstance(texts, str) else list(texts or [])
        response = await self._http.post_json(
            "/v2/embed",
            {
                "model": upstream_model,
                "texts": inputs,
                "input_type": "search_document",
                "embedding_types": ["float"],
            },
        )
        vectors = (response.get("embeddings") or {}).get("float")
        if not isinstance(vectors, list):
            raise ProviderProtocolError(
                f"Provider '{self.name}' answered embeddings without `embeddings.float`.", provider=self.name
            )
        units = ((response.get("meta") or {}).get("billed_units") or {}).get("input_tokens") or 0
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": upstream_model,
            "usage": {"prompt_tokens": int(units), "total_tokens": int(units)},
        }

    async def aclose(self) -> None:
        await self._http.aclose()


__all__ = ["CohereProvider", "DEFAULT_BASE_URL"]
