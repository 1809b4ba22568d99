"""`AgentRunner`: pydantic-ai agents whose only model is Sophia's gateway and whose tools are the registry's.

Each agent's model is a `GatewayModel`: every request is one gateway step (routing, fallbacks, budgets,
ledger), called directly; nothing is sent over a network by this layer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from pydantic_ai import Agent, Tool
from pydantic_ai.exceptions import AgentRunError, UnexpectedModelBehavior
from pydantic_ai.models import Model
from pydantic_ai.usage import UsageLimits

from sophia.agents._gateway_model import GatewayModel
from sophia.agents._model import AgentError, AgentResult, AgentSpec, RunLimits, TimeLimitExceeded
from sophia.agents._state import RunState
from sophia.agents._steps import DirectSteps, StepExecutor
from sophia.errors import SophiaError
from sophia.gateway import Caller, Gateway
from sophia.tools import ToolContext, ToolInvoker

__all__ = ["AgentRunner", "RunSession"]

_MAX_DELEGATION_DEPTH = 2


class RunSession:
    """One run of one or more agents sharing limits, steps and cost (a team's members, delegates)."""

    def __init__(self, runner: AgentRunner, state: RunState) -> None:
        self.runner = runner
        self.state = state

    async def run(self, spec: AgentSpec, task: str, *, depth: int = 0) -> AgentResult:
        """Run `spec` on `task` to its final answer; limits stop it with a typed error."""
        first_step = len(self.state.records)
        cost_before = self.state.cost_usd
        agent = self._agent(spec, depth)
        remaining = self.state.limits.max_seconds - (time.monotonic() - self.state.started)
        try:
            async with asyncio.timeout(max(remaining, 0.001)):
                result = await agent.run(task, usage_limits=UsageLimits(request_limit=None))
        except TimeoutError:
            raise TimeLimitExceeded(
                f"the run took longer than its limit of {self.state.limits.max_seconds:g} seconds; "
                "raise max_seconds"
            ) from None
        except (AgentRunError, UnexpectedModelBehavior) as error:
            raise self._failure(error) from None
        except Exception as error:
            if self.state.failure is not None:
                raise self._failure(error) from None
            raise
        if self.state.failure is not None:
            raise self._failure(None)
        return AgentResult(
            agent=spec.name,
            output=str(result.output),
            steps=self.state.records[first_step:],
            cost_usd=self.state.cost_usd - cost_before,
            models=list(self.state.models),
            errors=list(self.state.errors),
        )

    def _failure(self, error: BaseException | None) -> SophiaError:
        failure, self.state.failure = self.state.failure, None
        if failure is not None:
            return failure
        return AgentError(f"the agent stopped: {error}")

    def _agent(self, spec: AgentSpec, depth: int) -> Agent[None, str]:
        tools = [self._registry_tool(spec, name) for name in spec.tools]
        if spec.delegates and depth < _MAX_DELEGATION_DEPTH:
            tools.append(self._delegate_tool(spec, depth))
        model = self.model(spec, {tool.name for tool in tools})
        return Agent(model, instructions=spec.instructions, tools=tools, retries=3, name=spec.name)

    def model(self, spec: AgentSpec, tool_names: set[str]) -> Model:
        """What `spec`'s agent talks to: the gateway, one step per request."""
        return GatewayModel(self.state, spec, tool_names)

    def _registry_tool(self, spec: AgentSpec, name: str) -> Tool[None]:
        tool = self.runner.invoker.registry.get(name)

        async def call(**arguments: Any) -> str:
            return await self.state.tool_step(spec, tool.name, arguments)

        return Tool.from_schema(call, tool.wire_name, tool.description, tool.input_schema, sequential=True)

    def _delegate_tool(self, spec: AgentSpec, depth: int) -> Tool[None]:
        schema = {
            "type": "object",
            "properties": {
                "agent": {"type": "string", "enum": list(spec.delegates)},
                "task": {"type": "string", "description": "What the other agent should do, self-contained."},
            },
            "required": ["agent", "task"],
        }

        async def delegate(agent: str = "", task: str = "") -> str:
            target = self.runner.agents.get(agent)
            if target is None or agent not in spec.delegates:
                return f"TOOL ERROR (unknown_agent): {spec.name} cannot delegate to {agent[:60]!r}"
            result = await self.run(target, task, depth=depth + 1)
            return result.output

        description = "Hand a self-contained sub-task to a specialist agent and get its answer back."
        return Tool.from_schema(delegate, "delegate", description, schema, sequential=True)


class AgentRunner:
    """Builds runs: the gateway for models, the invoker for tools, and named agents for delegation."""

    def __init__(
        self,
        gateway: Gateway,
        invoker: ToolInvoker,
        *,
        agents: Sequence[AgentSpec] = (),
    ) -> None:
        self.gateway = gateway
        self.invoker = invoker
        self.agents: dict[str, AgentSpec] = {spec.name: spec for spec in agents}

    def session(
        self,
        *,
        context: ToolContext,
        caller: Caller | None = None,
        limits: RunLimits | None = None,
        steps: StepExecutor | None = None,
    ) -> RunSession:
        """A fresh run whose steps go through `steps` (direct by default)."""
        caller = caller or Caller(user_id=str(context.user_id) if context.user_id is not None else None)
        state = RunState(
            self.gateway,
            self.invoker,
            steps or DirectSteps(),
            caller=caller,
            context=context,
            limits=limits or RunLimits(),
        )
        return RunSession(self, state)

    async def run(
        self,
        spec: AgentSpec,
        task: str,
        *,
        context: ToolContext,
        caller: Caller | None = None,
        limits: RunLimits | None = None,
        steps: StepExecutor | None = None,
    ) -> AgentResult:
        """One agent, one task, one run."""
        session = self.session(context=context, caller=caller, limits=limits, steps=steps)
        return await session.run(spec, task)
