"""A model stand-in speaking OpenAI's Chat Completions (the documented response shape) that answers the BI
prompts as `tests.bi.scripted.bi_script` does, for a real `sophia serve` process."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.bi.scripted import bi_script
from tests.gateway.provider_shapes import completion

MODEL_KEY = "sk-standin-analyst"


def standin_app(requests: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {MODEL_KEY}":
            error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, 401)
        body = await request.json()
        requests.append(body)
        made = completion(
            str(body["model"]), {"prompt_tokens": 400, "completion_tokens": 40, "total_tokens": 440}
        )
        made["choices"][0]["message"]["content"] = str(bi_script(body))
        return JSONResponse(made)

    return app


def sophia_toml(model_url: str) -> str:
    return f"""
[[providers]]
name = "standin"
kind = "openai-compatible"
base_url = "{model_url}/v1"
api_key = "env:ANALYST_KEY"
max_retries = 0

[[models]]
name = "analyst"
provider = "standin"
model = "analyst-1"
input_price = 1.0
output_price = 2.0
"""
