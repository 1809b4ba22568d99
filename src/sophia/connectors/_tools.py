"""A connector's actions as registered tools: `<instance>.<action>`, dry-runnable, idempotent inside a run."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

from sophia.connectors._dryrun import DryRunStop, call_scope
from sophia.connectors._model import ActionSpec, Connector
from sophia.tools import DRY_RUN_TAG, SideEffect, ToolContext, ToolRegistry

__all__ = ["action_tool", "register_connector_tools"]

_DRY_RUN = Annotated[
    bool, "Return the exact request this call would send (credentials redacted); send nothing."
]


def action_tool(connector: Connector, spec: ActionSpec, method: Callable[..., Any]) -> Callable[..., Any]:
    """The method with `dry_run` added (writes and destroys) and the caller's context taken for the key."""
    tool_name = f"{connector.name}.{spec.name}"
    writes = spec.effect is not SideEffect.READ
    signature = inspect.signature(method)
    hints = typing.get_type_hints(method, include_extras=True)
    parameters = list(signature.parameters.values())
    annotations: dict[str, Any] = {p.name: hints[p.name] for p in parameters if p.name in hints}
    if writes:
        parameters.append(inspect.Parameter("dry_run", inspect.Parameter.KEYWORD_ONLY, default=False))
        annotations["dry_run"] = _DRY_RUN
    parameters.append(inspect.Parameter("call_context", inspect.Parameter.KEYWORD_ONLY))
    annotations["call_context"] = ToolContext

    async def call(**arguments: Any) -> Any:
        context: ToolContext = arguments.pop("call_context")
        dry_run = bool(arguments.pop("dry_run", False))
        with call_scope(dry_run=dry_run, tool=tool_name, arguments=arguments, run_id=context.run_id):
            try:
                value = await method(**arguments)
            except DryRunStop as stop:
                return {"dry_run": True, "sent": False, "request": stop.preview.to_record()}
        if dry_run:
            return {"dry_run": True, "sent": False, "request": None, "note": "this call would change nothing"}
        return value

    call.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    call.__doc__ = method.__doc__
    call.__name__ = spec.name.replace(".", "_")
    return call


def register_connector_tools(registry: ToolRegistry, connector: Connector) -> int:
    """Every action of the connector as a tool in its group; returns how many were added."""
    count = 0
    for spec, method in connector.action_methods():
        registry.add(
            action_tool(connector, spec, method),
            name=f"{connector.name}.{spec.name}",
            group=connector.group,
            effect=spec.effect,
            description=spec.description,
            tags=(DRY_RUN_TAG,) if spec.effect is not SideEffect.READ else (),
            timeout=connector.settings.timeout_seconds * (connector.settings.max_retries + 2),
        )
        count += 1
    return count
