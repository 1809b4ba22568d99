"""Wire formats: translation between Sophia's canonical OpenAI Chat Completions dicts and other APIs."""

from sophia.gateway.wire._anthropic_request import from_anthropic_request
from sophia.gateway.wire._anthropic_reverse import (
    AnthropicEvent,
    OpenAIToAnthropicStream,
    to_anthropic_response,
)
from sophia.gateway.wire._anthropic_stream import AnthropicStreamTranslator
from sophia.gateway.wire.anthropic import from_anthropic_response, to_anthropic_request
from sophia.gateway.wire.openai import ChunkAccumulator, collect_chunks, prepare_chat_request

__all__ = [
    "AnthropicEvent",
    "OpenAIToAnthropicStream",
    "to_anthropic_response",
    "AnthropicStreamTranslator",
    "ChunkAccumulator",
    "collect_chunks",
    "from_anthropic_request",
    "from_anthropic_response",
    "prepare_chat_request",
    "to_anthropic_request",
]
