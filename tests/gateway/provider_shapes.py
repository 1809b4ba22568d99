"""Responses shaped exactly like each provider's documented ones (API references, late 2025), for the kind tests.

Each OpenAI-wire kind has a plain completion, a stream (SSE bytes) and an error as the provider documents them,
with the fields that set it apart: Groq's `x_groq` usage, DeepSeek's `reasoning_content` and cache counters,
OpenRouter's `usage.cost` and `: OPENROUTER PROCESSING` comments, Perplexity's `citations` / `search_results` and
its cost object, Gemini's `models/` ids and list-shaped errors, vLLM's and Mistral's error objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

JSONDict = dict[str, Any]
ANSWER = "Paris is the capital of France."
CITATIONS = ["https://en.wikipedia.org/wiki/Paris", "https://www.britannica.com/place/Paris"]
SEARCH_RESULTS = [
    {"title": "Paris - Wikipedia", "url": CITATIONS[0], "date": "2025-09-01", "last_updated": "2025-10-02"},
    {"title": "Paris | Britannica", "url": CITATIONS[1], "date": "2025-07-14", "last_updated": None},
]


def sse(*events: JSONDict | str, done: bool = True, comments: tuple[str, ...] = ()) -> bytes:
    out = b"".join(b": " + c.encode() + b"\n\n" for c in comments)
    for event in events:
        out += b"data: " + (event.encode() if isinstance(event, str) else orjson.dumps(event)) + b"\n\n"
    return out + (b"data: [DONE]\n\n" if done else b"")


def completion(model: str, usage: JSONDict, **extra: Any) -> JSONDict:
    message = {"role": "assistant", "content": ANSWER, **extra.pop("message_extra", {})}
    return {
        "id": "chatcmpl-9d1f",
        "object": "chat.completion",
        "created": 1764800000,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": usage,
        **extra,
    }


def tool_completion(model: str) -> JSONDict:
    call = {
        "id": "call_w1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
    }
    body = completion(model, {"prompt_tokens": 80, "completion_tokens": 17, "total_tokens": 97})
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


def chunk(model: str, delta: JSONDict, finish: str | None = None, **extra: Any) -> JSONDict:
    return {
        "id": "chatcmpl-9d1f",
        "object": "chat.completion.chunk",
        "created": 1764800000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }


USAGE = {"prompt_tokens": 14, "completion_tokens": 8, "total_tokens": 22}


def openai_stream(model: str, *, usage_chunk: bool = True, **last: Any) -> bytes:
    """OpenAI's sequence: a role chunk, content chunks, a finish chunk, then (asked for) a usage-only chunk."""
    events: list[JSONDict] = [
        chunk(model, {"role": "assistant", "content": ""}),
        chunk(model, {"content": "Paris is "}),
        chunk(model, {"content": "the capital of France."}),
        chunk(model, {}, "stop", **last),
    ]
    if usage_chunk:
        events.append({**chunk(model, {}), "choices": [], "usage": USAGE})
    return sse(*events)


@dataclass(frozen=True)
class KindShapes:
    """One kind's documented answers, and what its requests must look like."""

    kind: str
    model: str
    path: str  # the full path the chat request must reach
    plain: JSONDict
    stream: bytes
    error_status: int
    error_body: bytes
    error_text: str  # the upstream's message, which must reach the caller
    auth: tuple[str, str] = ("authorization", "Bearer sk-kind-test-4242")
    stream_options: bool = True  # does the request carry stream_options.include_usage?
    expected_usage: JSONDict = field(default_factory=lambda: dict(USAGE))


def _groq() -> KindShapes:
    usage = {
        **USAGE,
        "queue_time": 0.0377,
        "prompt_time": 0.0021,
        "completion_time": 0.0064,
        "total_time": 0.0085,
    }
    final = {"x_groq": {"id": "req_01jb", "usage": USAGE}}
    events = [
        chunk("llama-3.3-70b-versatile", {"role": "assistant", "content": ""}, x_groq={"id": "req_01jb"}),
        chunk("llama-3.3-70b-versatile", {"content": ANSWER}),
        chunk("llama-3.3-70b-versatile", {}, "stop", **final),
    ]
    return KindShapes(
        "groq",
        "llama-3.3-70b-versatile",
        "/openai/v1/chat/completions",
        completion("llama-3.3-70b-versatile", usage, system_fingerprint="fp_c1a4", x_groq={"id": "req_01jb"}),
        sse(*events),
        404,
        orjson.dumps(
            {
                "error": {
                    "message": "The model `llama-9` does not exist or you do not have access to it.",
                    "type": "invalid_request_error",
                    "code": "model_not_found",
                }
            }
        ),
        "does not exist or you do not have access",
    )


def _deepseek() -> KindShapes:
    usage = {
        **USAGE,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 5},
        "prompt_cache_hit_tokens": 0,
        "prompt_cache_miss_tokens": 14,
    }
    model = "deepseek-reasoner"
    events = [
        chunk(model, {"role": "assistant", "content": None, "reasoning_content": ""}),
        chunk(model, {"content": None, "reasoning_content": "The user asks for France's capital."}),
        chunk(model, {"content": ANSWER, "reasoning_content": None}),
        chunk(model, {"content": "", "reasoning_content": None}, "stop", usage=usage),
    ]
    return KindShapes(
        "deepseek",
        model,
        "/chat/completions",
        completion(model, usage, message_extra={"reasoning_content": "The user asks for France's capital."}),
        sse(*events, comments=("keep-alive",)),
        401,
        orjson.dumps(
            {
                "error": {
                    "message": "Authentication Fails, Your api key: ****4242 is invalid",
                    "type": "authentication_error",
                    "param": None,
                    "code": "invalid_request_error",
                }
            }
        ),
        "Authentication Fails",
        expected_usage=usage,
    )


def _openrouter() -> KindShapes:
    usage = {
        **USAGE,
        "cost": 0.00004,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {"upstream_inference_cost": None},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }
    model = "openai/gpt-4o-mini"
    events = [
        chunk(model, {"role": "assistant", "content": ""}, provider="OpenAI"),
        chunk(model, {"role": "assistant", "content": ANSWER}, provider="OpenAI"),
        chunk(
            model,
            {"role": "assistant", "content": ""},
            "stop",
            provider="OpenAI",
            native_finish_reason="stop",
        ),
        {**chunk(model, {"role": "assistant", "content": ""}), "usage": usage},
    ]
    plain = completion(model, usage, provider="OpenAI")
    plain["id"] = "gen-1764800000-AbCd"
    plain["choices"][0]["native_finish_reason"] = "stop"
    return KindShapes(
        "openrouter",
        model,
        "/api/v1/chat/completions",
        plain,
        sse(*events, comments=("OPENROUTER PROCESSING",)),
        402,
        orjson.dumps(
            {
                "error": {
                    "code": 402,
                    "message": "Insufficient credits. Add more using https://openrouter.ai/credits",
                }
            }
        ),
        "Insufficient credits",
        expected_usage=usage,
    )


def _perplexity() -> KindShapes:
    usage = {
        **USAGE,
        "search_context_size": "low",
        "cost": {
            "input_tokens_cost": 0.000014,
            "output_tokens_cost": 0.000008,
            "request_cost": 0.005,
            "total_cost": 0.005022,
        },
    }
    model = "sonar"
    extra = {"citations": CITATIONS, "search_results": SEARCH_RESULTS}
    events = [
        chunk(model, {"role": "assistant", "content": "Paris is "}, usage=usage, **extra),
        chunk(model, {"role": "assistant", "content": "the capital of France [1]."}, usage=usage, **extra),
        chunk(model, {"role": "assistant", "content": ""}, "stop", usage=usage, **extra),
    ]
    html = (
        b"<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
        b"<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>openresty/1.27.4</center>\r\n"
        b"</body>\r\n</html>\r\n"
    )
    return KindShapes(
        "perplexity",
        model,
        "/chat/completions",
        completion(model, usage, **extra),
        sse(*events, done=False),
        401,
        html,
        "401 Authorization Required",
        stream_options=False,
        expected_usage=usage,
    )


def _simple(
    kind: str, model: str, path: str, error_status: int, error: JSONDict | list[Any], text: str, **kw: Any
) -> KindShapes:
    return KindShapes(
        kind,
        model,
        path,
        kw.pop("plain", None) or completion(model, USAGE, **kw.pop("plain_extra", {})),
        kw.pop("stream", None) or openai_stream(model),
        error_status,
        orjson.dumps(error),
        text,
        **kw,
    )


def _mistral() -> KindShapes:
    model = "mistral-small-latest"
    plain = completion(model, USAGE)
    plain["choices"][0]["message"].update({"tool_calls": None, "prefix": False})
    events = [
        chunk(model, {"role": "assistant", "content": ""}),
        chunk(model, {"content": ANSWER}),
        {**chunk(model, {"content": ""}, "stop"), "usage": USAGE},
    ]
    error = {
        "object": "error",
        "message": {
            "detail": [
                {"type": "extra_forbidden", "loc": ["body", "foo"], "msg": "Extra inputs are not permitted"}
            ]
        },
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return _simple(
        "mistral",
        model,
        "/v1/chat/completions",
        422,
        error,
        "Extra inputs are not permitted",
        plain=plain,
        stream=sse(*events),
        stream_options=False,
    )


def _gemini() -> KindShapes:
    model = "gemini-2.5-flash"
    error = [
        {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
            }
        }
    ]
    events = [
        chunk(model, {"role": "assistant", "content": ANSWER}),
        {**chunk(model, {}, "stop"), "usage": USAGE},
    ]
    return _simple(
        "gemini",
        model,
        "/v1beta/openai/chat/completions",
        400,
        error,
        "API key not valid",
        stream=sse(*events),
    )


KINDS: dict[str, KindShapes] = {
    s.kind: s
    for s in (
        _groq(),
        _deepseek(),
        _openrouter(),
        _perplexity(),
        _mistral(),
        _gemini(),
        _simple(
            "xai",
            "grok-4-fast-non-reasoning",
            "/v1/chat/completions",
            400,
            {
                "code": "Client specified an invalid argument",
                "error": "Incorrect API key provided: xa***42. You can obtain an API key from https://console.x.ai.",
            },
            "Incorrect API key provided",
            plain_extra={"system_fingerprint": "fp_9a4f"},
        ),
        _simple(
            "together",
            "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            "/v1/chat/completions",
            401,
            {
                "error": {
                    "message": "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            },
            "Invalid API key provided",
            plain_extra={"prompt": []},
        ),
        _simple(
            "huggingface",
            "openai/gpt-oss-120b:cerebras",
            "/v1/chat/completions",
            429,
            {"error": "You have exceeded your monthly included credits for Inference Providers."},
            "exceeded your monthly included credits",
        ),
        _simple(
            "ollama",
            "llama3.2",
            "/v1/chat/completions",
            404,
            {
                "error": {
                    "message": 'model "llama3.2" not found, try pulling it first',
                    "type": "api_error",
                    "param": None,
                    "code": None,
                }
            },
            "try pulling it first",
            auth=("authorization", ""),
            plain_extra={"system_fingerprint": "fp_ollama"},
        ),
        _simple(
            "vllm",
            "Qwen/Qwen2.5-7B-Instruct",
            "/v1/chat/completions",
            404,
            {
                "object": "error",
                "message": "The model `Qwen/Qwen2.5-7B` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            },
            "does not exist",
            auth=("authorization", ""),
            plain_extra={"prompt_logprobs": None, "kv_transfer_params": None},
        ),
        _simple(
            "llamacpp",
            "gpt-3.5-turbo",
            "/v1/chat/completions",
            503,
            {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
            "Loading model",
            auth=("authorization", ""),
            plain_extra={"timings": {"prompt_n": 14, "predicted_n": 8, "predicted_per_second": 41.2}},
        ),
        _simple(
            "portkey",
            "gpt-4o-mini",
            "/v1/chat/completions",
            401,
            {"status": "failure", "message": "Invalid API Key. Error Code: 03"},
            "Invalid API Key",
            auth=("x-portkey-api-key", "sk-kind-test-4242"),
        ),
    )
}
