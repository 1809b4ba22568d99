"""A model stand-in speaking OpenAI's Chat Completions (the documented response shape) that plays a coder:
it answers the coding prompt with a known fix and the self-review prompt with APPROVE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.gateway.provider_shapes import completion

MODEL_KEY = "sk-standin-coder"


@dataclass
class CoderStandIn:
    fix: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> str:
        system = str(body["messages"][0]["content"])
        return "APPROVE" if system.startswith("You review") else self.fix

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {MODEL_KEY}":
                error = {"message": "Incorrect API key provided", "type": "invalid_request_error"}
                return JSONResponse({"error": error}, 401)
            body = await request.json()
            self.requests.append(body)
            usage = {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960}
            made = completion(str(body["model"]), usage)
            made["choices"][0]["message"]["content"] = self.answer(body)
            return JSONResponse(made)

        return app


def sophia_toml(model_url: str, github_url: str, remote: str, coding: str = "", extra: str = "") -> str:
    """`sophia.toml` for a coding run: the stand-in model, the GitHub connector pushing to a local bare remote;
    `coding` adds lines to `[coding]`, `extra` whole sections."""
    return f"""
[[providers]]
name = "standin"
kind = "openai-compatible"
base_url = "{model_url}/v1"
api_key = "env:CODER_KEY"
max_retries = 0

[[models]]
name = "coder"
provider = "standin"
model = "coder-1"
input_price = 1.0
output_price = 2.0

[coding]
model = "coder"
github_repo = "octo/app"
{coding}

[connectors.github]
base_url = "{github_url}"
credentials = {{ token = "env:GH_TOKEN" }}
options = {{ git_url = "{remote}" }}
{extra}
"""
