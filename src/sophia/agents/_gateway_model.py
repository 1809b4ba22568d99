"""`GatewayModel`: a pydantic-ai model whose every request is one gateway step, with no HTTP client in between.

It is pydantic-ai's OpenAI chat model (pinned, 2.68.0) with the network call replaced: its mapping of messages,
tools and output schemas to the chat-completions wire, and of the answer back to text, tool calls and usage, is
reused as it is, while the request goes straight to `RunState.model_step` as a dict instead of through the OpenAI
SDK, httpx, a transport and JSON in both directions. A streamed request gets the whole answer as one chunk: a
step is checkpointed whole, so a run replays exactly what it saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from sophia.agents._model import AgentSpec
from sophia.agents._state import RunState
from sophia.errors import SophiaError

__all__ = ["GatewayModel"]

# pydantic-ai settings and the chat-completions field each one is sent as (what the gateway forwards).
_FORWARDED = {
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop_sequences": "stop",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "parallel_tool_calls": "parallel_tool_calls",
}


@cache
def _unused_provider() -> OpenAIProvider:
    """What `OpenAIChatModel` is built with (it picks the model profile by it); its client never sends anything."""
    client = AsyncOpenAI(base_url="http://sophia-gateway.invalid/v1", api_key="in-process", max_retries=0)
    return OpenAIProvider(openai_client=client)


class GatewayModel(OpenAIChatModel):
    """One agent's model in one run: each request is `state.model_step(spec, body)`; errors stay for the runner."""

    def __init__(self, state: RunState, spec: AgentSpec, tool_names: set[str]) -> None:
        super().__init__(spec.requested_model, provider=_unused_provider())
        self._state, self._spec, self._tool_names = state, spec, tool_names

    async def _completions_create(  # type: ignore[override]
        self,
        messages: list[ModelMessage],
        stream: bool,
        model_settings: Mapping[str, Any],
        model_request_parameters: ModelRequestParameters,
    ) -> ChatCompletion | ModelResponse:
        body = await self._body(messages, model_settings, model_request_parameters)
        try:
            response = await self._state.model_step(self._spec, body, self._tool_names)
        except SophiaError as error:
            self._state.failure = self._state.failure or error
            raise
        completion = ChatCompletion.model_validate(response)
        if stream:  # `request_stream` hands a ModelResponse on as a stream of one chunk
            return self._process_response(completion)
        return completion

    async def _body(
        self,
        messages: list[ModelMessage],
        model_settings: Mapping[str, Any],
        parameters: ModelRequestParameters,
    ) -> dict[str, Any]:
        settings: Any = dict(model_settings)
        tools, tool_choice = self._get_tool_choice(settings, parameters)
        mapped = await self._map_messages(messages, parameters, model_settings=settings)
        body: dict[str, Any] = {"model": self.model_name, "messages": mapped}
        if tools:
            body["tools"] = tools
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if parameters.output_mode == "native" and parameters.output_object is not None:
            body["response_format"] = self._map_json_schema(parameters.output_object)
        elif parameters.output_mode == "prompted" and self.profile.get("supports_json_object_output", False):
            body["response_format"] = {"type": "json_object"}
        body.update({field: settings[name] for name, field in _FORWARDED.items() if name in settings})
        return body
