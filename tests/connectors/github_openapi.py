"""Check the requests the GitHub stand-in receives against its OpenAPI excerpt, server side.

`openapi.py` checks a client's httpx requests; one helper should serve both (a follow-up).

`OpenApi.load(path).check(method, url_path, query, body)` raises `OpenApiMismatch` naming what does not fit:
an unknown path or method, a missing required or unknown query parameter, or a JSON body that breaks the
operation's request schema (jsonschema, `$ref`s into `components` resolved).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

__all__ = ["OpenApi", "OpenApiMismatch"]


class OpenApiMismatch(AssertionError):
    pass


@dataclass(frozen=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    operations: dict[str, Any]


class OpenApi:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.routes = [
            _Route(template, _compile(template), operations)
            for template, operations in document.get("paths", {}).items()
        ]
        # Literal segments beat parameters: /repos/{o}/{r}/git/refs before /repos/{o}/{r}/{x}/refs.
        self.routes.sort(key=lambda route: route.template.count("{"))

    @classmethod
    def load(cls, path: Path) -> OpenApi:
        return cls(json.loads(path.read_text()))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        known = False
        for route in self.routes:
            if route.pattern.fullmatch(path):
                known = True
                found = route.operations.get(method.lower())
                if found is not None:
                    return route.template, found
        what = f"method {method} on" if known else "path"
        raise OpenApiMismatch(f"{what} {path} is not in the OpenAPI description")

    def check(self, method: str, path: str, query: dict[str, str], body: Any) -> str:
        """The operationId the request matches; OpenApiMismatch when it does not fit the description."""
        template, operation = self.operation(method, path)
        parameters = [self._deref(p) for p in operation.get("parameters", [])]
        allowed = {p["name"] for p in parameters if p["in"] == "query"}
        for parameter in parameters:
            if parameter["in"] == "query" and parameter.get("required") and parameter["name"] not in query:
                raise OpenApiMismatch(f"{method} {template}: query parameter {parameter['name']} is required")
        unknown = set(query) - allowed
        if unknown:
            raise OpenApiMismatch(f"{method} {template}: unknown query parameters {sorted(unknown)}")
        request_body = operation.get("requestBody")
        if request_body is not None:
            request_body = self._deref(request_body)
            if body is None and request_body.get("required"):
                raise OpenApiMismatch(f"{method} {template}: a request body is required")
            schema = request_body.get("content", {}).get("application/json", {}).get("schema")
            if body is not None and schema is not None:
                try:
                    jsonschema.validate(body, {**schema, "components": self.document.get("components", {})})
                except jsonschema.ValidationError as error:
                    raise OpenApiMismatch(
                        f"{method} {template}: body does not fit: {error.message}"
                    ) from None
        elif body is not None:
            raise OpenApiMismatch(f"{method} {template}: takes no body")
        return str(operation.get("operationId", template))

    def _deref(self, item: dict[str, Any]) -> dict[str, Any]:
        ref = item.get("$ref")
        if not ref:
            return item
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return self._deref(node)


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        # {path} (contents) and {ref} (heads/main) span slashes; other parameters are one segment.
        ("(.+)" if part in ("{path}", "{ref}") else "([^/]+)") if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)
