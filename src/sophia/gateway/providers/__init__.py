"""Model providers: each knows one upstream's base URL and credentials, and speaks OpenAI-shaped dicts."""

from sophia.gateway.providers._anthropic import AnthropicProvider
from sophia.gateway.providers._base import ChatProvider, Timeouts, guard_stream, has_content
from sophia.gateway.providers._cohere import CohereProvider
from sophia.gateway.providers._local import LocalProvider, LocalSampling, local_extra_installed
from sophia.gateway.providers._openai import OpenAICompatibleProvider
from sophia.gateway.providers._quirks import (
    GeminiQuirks,
    GroqQuirks,
    MistralQuirks,
    OpenRouterQuirks,
    PerplexityQuirks,
    ReasoningQuirks,
    WireQuirks,
)
from sophia.gateway.providers._scripted import (
    Reply,
    ScriptedProvider,
    ScriptedReply,
    ScriptedToolCall,
    ScriptFunction,
)

__all__ = [
    "AnthropicProvider",
    "ChatProvider",
    "CohereProvider",
    "GeminiQuirks",
    "GroqQuirks",
    "MistralQuirks",
    "OpenRouterQuirks",
    "PerplexityQuirks",
    "ReasoningQuirks",
    "WireQuirks",
    "LocalProvider",
    "LocalSampling",
    "OpenAICompatibleProvider",
    "Reply",
    "ScriptFunction",
    "ScriptedProvider",
    "ScriptedReply",
    "ScriptedToolCall",
    "Timeouts",
    "guard_stream",
    "has_content",
    "local_extra_installed",
]
