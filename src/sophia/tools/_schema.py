"""JSON schemas from Python signatures, and argument checks that name every problem with its path."""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from sophia.tools._errors import ToolArgumentError
from sophia.tools._model import ToolContext

__all__ = ["ArgumentsSpec", "arguments_model", "check_arguments", "docstring_summary", "format_location"]

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters)\s*:\s*$")
_ARG_LINE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


class ArgumentsSpec(typing.NamedTuple):
    model: type[BaseModel]
    schema: dict[str, Any]
    context_parameter: str | None


def docstring_summary(function: Callable[..., Any]) -> str:
    """The docstring up to its `Args:` section, as one paragraph."""
    lines = inspect.cleandoc(function.__doc__ or "").splitlines()
    summary: list[str] = []
    for line in lines:
        if _ARGS_HEADER.match(line):
            break
        summary.append(line.strip())
    return " ".join(part for part in summary if part).strip()


def _docstring_arguments(function: Callable[..., Any]) -> dict[str, str]:
    described: dict[str, str] = {}
    inside = False
    for line in inspect.cleandoc(function.__doc__ or "").splitlines():
        if _ARGS_HEADER.match(line):
            inside = True
            continue
        match = _ARG_LINE.match(line) if inside else None
        if match:
            described[match.group(1)] = match.group(2).strip()
        elif inside and line.strip() and not line.startswith((" ", "\t")):
            inside = False
    return described


def _field(annotation: Any, default: Any, description: str | None) -> tuple[Any, Any]:
    """Plain strings in `Annotated[...]` are descriptions; other metadata (e.g. `Field(ge=0)`) is kept."""
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        texts = [meta for meta in metadata if isinstance(meta, str)]
        others = tuple(meta for meta in metadata if not isinstance(meta, str))
        description = texts[0] if texts else description
        annotation = Annotated[(base, *others)] if others else base
    options: dict[str, Any] = {} if description is None else {"description": description}
    required = default is inspect.Parameter.empty
    return annotation, Field(... if required else default, **options)


def _is_context(annotation: Any) -> bool:
    return annotation is ToolContext or ToolContext in typing.get_args(annotation)


def arguments_model(function: Callable[..., Any], model_name: str) -> ArgumentsSpec:
    """A pydantic model over the function's parameters; a `ToolContext` parameter is filled in, not asked for."""
    hints = typing.get_type_hints(function, include_extras=True)
    documented = _docstring_arguments(function)
    fields: dict[str, Any] = {}
    context_parameter: str | None = None
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise TypeError(f"tool {model_name}: *args/**kwargs cannot be described by a schema; name them")
        if name not in hints:
            raise TypeError(f"tool {model_name}: parameter {name!r} needs a type annotation")
        if _is_context(hints[name]):
            context_parameter = name
            continue
        fields[name] = _field(hints[name], parameter.default, documented.get(name))
    model = create_model(model_name.replace(".", "_"), __config__=ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.setdefault("properties", {})
    return ArgumentsSpec(model, schema, context_parameter)


def format_location(location: tuple[int | str, ...]) -> str:
    """`items[2].name` style, the path a person reads in an error."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(arguments)"


def check_arguments(
    tool: str, model: type[BaseModel], arguments: Mapping[str, Any] | str | None
) -> BaseModel:
    """Validate `arguments` (a mapping or a JSON object text) or raise ToolArgumentError naming each problem."""
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str | bytes):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as error:
            raise ToolArgumentError(tool, [f"(arguments): not valid JSON ({error.msg})"]) from None
    if not isinstance(arguments, Mapping):
        raise ToolArgumentError(tool, ["(arguments): must be a JSON object"])
    try:
        return model.model_validate(dict(arguments))
    except ValidationError as error:
        problems = [f"{format_location(e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)]
        raise ToolArgumentError(tool, problems) from None
