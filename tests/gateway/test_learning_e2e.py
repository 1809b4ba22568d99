"""Routing that learns, end to end: a real `sophia serve` with `[learning]` in sophia.toml, the experiments CLI,
`POST /v1/feedback`, and a fault-injecting upstream that records every request body it is sent."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from sophia.gateway import Experiment, Variant
from tests.gateway.fault_server import running_fault_server
from tests.serving import clean_env, create_key, running_sophia, sophia

pytestmark = pytest.mark.timeout(600)

TERSE = "Answer in one short sentence."
CONFIG = f"""
[[providers]]
name = "faulty"
kind = "openai-compatible"
base_url = "{{base_url}}"
api_key = "env:FAULT_KEY"

[[models]]
name = "good"
provider = "faulty"
model = "ok"
input_price = 1.0
output_price = 2.0

[[models]]
name = "grader"
provider = "faulty"
model = "grader-upstream"
input_price = 0.5
output_price = 1.0

[routing.chains]
creative = ["good"]
research = ["good"]

[learning]
judge_model = "grader"
judge_sample = 1.0
judge_tasks = ["research"]

[learning.prompts]
terse = "{TERSE}"
"""
VARIANTS = ["a=model:good", "b=model:good,temperature:0.2,prompt:terse"]


def _outcomes(home: Path) -> list[tuple[str, str, float, str]]:
    with sqlite3.connect(home / "sophia.db") as db:
        return db.execute(
            "SELECT request_id, model, score, source FROM model_outcomes ORDER BY id"
        ).fetchall()


def _status(home: Path, name: str) -> str:
    with sqlite3.connect(home / "sophia.db") as db:
        return str(db.execute("SELECT status FROM experiments WHERE name = ?", (name,)).fetchone()[0])


def test_variants_prompts_promotion_and_the_judge_through_the_cli_and_http(tmp_path: Path) -> None:
    home = tmp_path
    with running_fault_server() as (base_url, faults):
        faults.replies["grader-upstream"] = '{"score": 0.7}'
        config = home / "sophia.toml"
        config.write_text(CONFIG.format(base_url=base_url), encoding="utf-8")
        env = clean_env(home, SOPHIA_CONFIG=str(config), FAULT_KEY="k", SOPHIA_LOGGING__LEVEL="WARNING")
        key = create_key(env, "alice")
        refused = sophia(
            env, "experiments", "create", "bad", "--task", "coding",
            "--variant", "a=model:good", "--variant", "b=prompt:chatty", check=False,
        )  # fmt: skip
        assert refused.returncode != 0 and 'prompt "chatty" is not one of the learning.prompts (terse)' in (
            refused.stdout + refused.stderr
        )
        args = ["--variant", VARIANTS[0], "--variant", VARIANTS[1], "--split", "conversation"]
        sophia(env, "experiments", "create", "tone", "--task", "creative", *args)
        experiment = Experiment("tone", "creative", [Variant.parse(v) for v in VARIANTS], 1.0, 0.05, 1000)
        experiment.split = "conversation"
        with (
            running_sophia(env, home) as server,
            httpx.Client(
                base_url=server.url, headers={"authorization": f"Bearer {key}"}, timeout=30
            ) as client,
        ):
            promoted = False
            for number in range(300):
                conversation = f"conv-{number}"
                arm = experiment.assign(conversation)
                assert arm is not None
                response = client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "sophia/creative",
                        "messages": [{"role": "user", "content": "a poem please"}],
                        "metadata": {"conversation_id": conversation},
                    },
                )
                assert response.status_code == 200, response.text
                sent = faults.bodies[-1]
                if arm.name == "b":
                    assert sent["temperature"] == 0.2 and sent["messages"][0] == {
                        "role": "system",
                        "content": TERSE,
                    }
                else:
                    assert "temperature" not in sent and sent["messages"][0]["role"] == "user"
                score = 1.0 if arm.name == "b" else 0.0  # planted: the terse variant is better
                feedback = client.post(
                    "/v1/feedback", json={"request_id": response.headers["x-request-id"], "score": score}
                )
                assert feedback.status_code == 200, feedback.text
                if _status(home, "tone") == "promoted":
                    promoted = True
                    break
            assert promoted
            shown = json.loads(sophia(env, "experiments", "show", "tone", "--json").stdout)
            assert shown["status"] == "promoted" and shown["winner"] == "b"
            assert shown["variants"] == VARIANTS and shown["arms"]["b"]["mean"] == 1.0
            # The promotion is the task's routing now: a conversation outside any experiment gets the prompt.
            response = client.post(
                "/v1/chat/completions",
                json={"model": "sophia/creative", "messages": [{"role": "user", "content": "one more poem"}]},
            )
            assert response.status_code == 200
            assert (
                faults.bodies[-1]["messages"][0]["content"] == TERSE
                and faults.bodies[-1]["temperature"] == 0.2
            )
            # The judge scores a research answer in the background, as a judge outcome of the model that answered.
            faults.hits.clear()
            response = client.post(
                "/v1/chat/completions",
                json={
                    "model": "sophia/research",
                    "messages": [{"role": "user", "content": "why is the sky blue"}],
                },
            )
            assert response.status_code == 200
            request_id = response.headers["x-request-id"]
            deadline = time.monotonic() + 30
            while not any(r[0] == request_id for r in _outcomes(home)) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert (request_id, "good", 0.7, "judge") in _outcomes(home)
            assert faults.hits["grader-upstream"] == 1  # the judge's own request was not judged
            assert sum(1 for r in _outcomes(home) if r[3] == "judge") == 1
