"""`GatewayModel` keeps what pydantic-ai's OpenAI model gave: tools, structured output, streaming and usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic_ai import Agent

from sophia.agents import AgentRunner, AgentSpec
from sophia.tools import ToolInvoker
from tests.agents.conftest import call, context

SPEC = AgentSpec("notes", "You file notes.")


class Note(BaseModel):
    title: str
    body: str


async def test_structured_output_streaming_and_usage_come_through_the_gateway(
    scripted_gateway: Any, invoker: ToolInvoker
) -> None:
    seen: list[dict[str, Any]] = []

    def script(body: dict[str, Any]) -> Any:
        seen.append(body)
        return call("final_result", title="milk", body="buy two")

    session = AgentRunner(scripted_gateway(script), invoker).session(context=context())
    agent = Agent(session.model(SPEC, set()), output_type=Note)

    result = await agent.run("file a note about milk")
    async with agent.run_stream("and again, streamed") as stream:
        streamed = await stream.get_output()

    assert result.output == Note(title="milk", body="buy two") == streamed
    assert [tool["function"]["name"] for tool in seen[0]["tools"]] == ["final_result"]
    assert seen[0]["tool_choice"] == "required"  # structured output forces the output tool
    model_steps = [step for step in session.state.records if step.kind == "model"]
    assert len(model_steps) == 2 and all(step.status == "ok" and step.cost_usd > 0 for step in model_steps)
    # pydantic-ai's usage is the gateway's own token count for the step
    assert (result.usage.input_tokens, result.usage.output_tokens) == (
        model_steps[0].input_tokens,
        model_steps[0].output_tokens,
    )
    assert result.usage.input_tokens > 0
