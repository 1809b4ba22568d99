"""Check requests (and stand-in responses) against a service's OpenAPI document, or a trimmed excerpt of it.

`OpenApi(path, base="/v1")` loads a JSON document. The client side, `check_request(request)` on an httpx request,
and the server side, `check(method, path, query, body)` in a stand-in's route, run the same checks: the method and
path match a documented operation, every query parameter is declared, required ones are present, and the JSON body
validates against the request schema. A mismatch raises `OpenApiMismatch` naming what does not fit.
`check_response(method, path, status, body)` validates a stand-in's answer.
`trim(document, operations)` keeps only the named operations and the components they reference (used to make the
committed excerpts under tests/connectors/data/<service>/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from fastapi import FastAPI, Request, Response
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_METHODS = ("get", "post", "put", "patch", "delete")
_SPANNING = (
    "{path}",
    "{ref}",
)  # GitHub's contents path and git ref span slashes; other parameters are one segment


class OpenApiMismatch(AssertionError):
    """A request or answer the document does not describe."""


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile(
        "".join(
            ("(.+)" if part in _SPANNING else "([^/]+)") if part.startswith("{") else re.escape(part)
            for part in parts
        )
    )


class OpenApi:
    def __init__(self, path: Path, *, base: str = "") -> None:
        self.document: dict[str, Any] = _nullable(json.loads(path.read_text()))
        self.base = base.rstrip("/")
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource("urn:doc", resource)
        self._routes = [(_compile(template), template) for template in self.document["paths"]]

    @classmethod
    def load(cls, path: Path, *, base: str = "") -> OpenApi:
        return cls(path, base=base)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        """The documented operation for a request path (without the base), and its parameters."""
        local = path[len(self.base) :] if self.base and path.startswith(self.base) else path
        matches = [template for pattern, template in self._routes if pattern.fullmatch(local)]
        # a literal segment beats a template segment (`/instances/{id}` vs `/instances/launch`)
        matches.sort(key=lambda template: template.count("{"))
        for template in matches:
            item = self.document["paths"][template]
            if method.lower() in item:
                operation = item[method.lower()]
                parameters = [
                    self._deref(p) for p in item.get("parameters", []) + operation.get("parameters", [])
                ]
                return template, operation, parameters
        what = f"method {method} on" if matches else "path"
        raise OpenApiMismatch(f"{what} {path} is not in the OpenAPI document")

    def check_request(self, request: httpx.Request) -> str:
        """Client side: the httpx request is one the document describes; returns the matched path template."""
        body = json.loads(request.content) if request.content else None
        query = [key for key, _ in request.url.params.multi_items()]
        return self._check(request.method, request.url.path, query, body)[0]

    def check(self, method: str, path: str, query: Any, body: Any) -> str:
        """Server side (a stand-in's route): the operationId (or template) the request matches."""
        template, operation = self._check(method, path, list(query), body)
        return str(operation.get("operationId", template))

    def _check(self, method: str, path: str, query: list[str], body: Any) -> tuple[str, dict[str, Any]]:
        template, operation, parameters = self.operation(method, path)
        declared = {p["name"]: p for p in parameters if p.get("in") == "query"}
        unknown = set(query) - set(declared)
        if unknown:
            raise OpenApiMismatch(f"{method} {template}: unknown query parameters {sorted(unknown)}")
        for name, parameter in declared.items():
            if parameter.get("required") and name not in query:
                raise OpenApiMismatch(f"{method} {template}: query parameter {name} is required")
        request_body = operation.get("requestBody")
        if body is not None:
            if request_body is None:
                raise OpenApiMismatch(f"{method} {template}: takes no body")
            schema = self._deref(request_body)["content"]["application/json"]["schema"]
            self._validate(body, schema, f"{method} {template} body")
        elif request_body is not None and self._deref(request_body).get("required"):
            raise OpenApiMismatch(f"{method} {template}: a request body is required")
        return template, operation

    def check_response(self, method: str, path: str, status: int, body: Any) -> None:
        template, operation, _ = self.operation(method, path)
        responses = operation["responses"]
        answer = responses.get(str(status)) or responses.get("default")
        if answer is None:
            raise OpenApiMismatch(f"{method} {template} documents no {status} answer")
        schema = (self._deref(answer).get("content") or {}).get("application/json", {}).get("schema")
        if schema is not None:
            self._validate(body, schema, f"{method} {template} {status} answer")

    def example(self, method: str, path: str, status: str = "200") -> Any:
        """The document's own example answer for an operation (a deep copy)."""
        _, operation, _ = self.operation(method, path)
        content = self._deref(operation["responses"][status])["content"]["application/json"]
        if "example" in content:
            return json.loads(json.dumps(content["example"]))
        first = next(iter(content["examples"].values()))
        return json.loads(json.dumps(self._deref(first)["value"]))

    def _deref(self, value: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in value:
            value = _pointer(self.document, value["$ref"])
        return value

    def _validate(self, instance: Any, schema: dict[str, Any], what: str) -> None:
        wrapped = {"$ref": "urn:doc" + schema["$ref"]} if "$ref" in schema else _rebase(schema)
        validator = jsonschema.Draft202012Validator(wrapped, registry=self._registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise OpenApiMismatch(
                f"{what} does not fit the document: {errors[0].message} at {list(errors[0].path)}"
            )


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [..., "null"]`."""
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items() if not (k == "nullable" and isinstance(v, bool))}
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            out["type"] = [node["type"], "null"]
        if "enum" in out and node.get("nullable") is True:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    return node


def _rebase(schema: Any) -> Any:
    """Point `#/components/…` references at the loaded document."""
    if isinstance(schema, dict):
        return {
            key: ("urn:doc" + value if key == "$ref" and value.startswith("#") else _rebase(value))
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_rebase(item) for item in schema]
    return schema


def _pointer(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


def trim(document: dict[str, Any], operations: list[tuple[str, str]], note: str) -> dict[str, Any]:
    """Only `operations` ((method, path template) pairs) and the components they reach; `note` names the source."""
    paths: dict[str, Any] = {}
    for method, template in operations:
        item = document["paths"][template]
        kept = paths.setdefault(template, {k: v for k, v in item.items() if k not in _METHODS})
        kept[method] = item[method]
    components: dict[str, dict[str, Any]] = {}
    pending = [paths]
    while pending:
        for ref in _refs(pending.pop()):
            _, section, name = ref.removeprefix("#/").split("/", 2)
            if name not in components.setdefault(section, {}):
                components[section][name] = document["components"][section][name]
                pending.append(components[section][name])
    return {
        "openapi": document.get("openapi", "3.0.0"),
        "info": {**document.get("info", {}), "x-excerpt-source": note},
        "paths": paths,
        "components": components,
    }


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


Answer = tuple[int, dict[str, str], Any]


class SpecService:
    """An httpx MockTransport handler: every request is checked against the document, answered from `routes`
    ((METHOD, path template) -> body, or a function of the request returning a body or an Answer), and every
    2xx answer is checked against the document's response schema. `fail(…)` queues answers that come first."""

    def __init__(
        self, spec: OpenApi, routes: dict[tuple[str, str], Any], outside: dict[str, Any] | None = None
    ) -> None:
        self.spec, self.routes, self.outside = spec, routes, outside or {}
        self.requests: list[httpx.Request] = []
        self.queued: list[Answer] = []

    def fail(self, *answers: Answer) -> SpecService:
        self.queued.extend(answers)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """`outside` answers URLs that are not part of the API (a webhook), by full URL, unchecked."""
        self.requests.append(request)
        if str(request.url) in self.outside:
            status, headers, body = self.outside[str(request.url)]
            content = json.dumps(body).encode()
            return httpx.Response(
                status, headers={"content-type": "application/json", **headers}, content=content
            )
        template = self.spec.check_request(request)
        if self.queued:
            status, headers, body = self.queued.pop(0)
        else:
            found = self.routes[(request.method, template)]
            answer = found(request) if callable(found) else found
            status, headers, body = answer if isinstance(answer, tuple) else (200, {}, answer)
        if 200 <= status < 300:
            self.spec.check_response(request.method, request.url.path, status, body)
        content = b"" if body is None else json.dumps(body).encode()
        return httpx.Response(
            status, headers={"content-type": "application/json", **headers}, content=content
        )

    def sent(self, method: str, template_end: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path.endswith(template_end)]


def spec_app(service: SpecService) -> Any:
    """A FastAPI app answering every request through `service` (for `serve_app`: real HTTP, same checks)."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def answer(request: Request) -> Response:
        forwarded = httpx.Request(
            request.method, str(request.url), headers=dict(request.headers), content=await request.body()
        )
        reply = service(forwarded)
        return Response(reply.content, status_code=reply.status_code, headers=dict(reply.headers))

    return app


def from_swagger2(document: dict[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 document (Fly's Machines API publishes one) as OpenAPI 3: body parameters become
    `requestBody`, response schemas move under `content`, `definitions` become `components.schemas`."""

    def moved(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    value.replace("#/definitions/", "#/components/schemas/")
                    if key == "$ref" and isinstance(value, str)
                    else moved(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [moved(item) for item in node]
        return node

    def parameter(p: dict[str, Any]) -> dict[str, Any]:
        schema = {k: p[k] for k in ("type", "enum", "items", "format", "default") if k in p}
        return {k: p[k] for k in ("name", "in", "description", "required") if k in p} | {"schema": schema}

    paths: dict[str, Any] = {}
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            converted = {
                k: v for k, v in operation.items() if k not in ("parameters", "responses", "produces")
            }
            params = operation.get("parameters", [])
            converted["parameters"] = [parameter(p) for p in params if p["in"] != "body"]
            for body in (p for p in params if p["in"] == "body"):
                converted["requestBody"] = {
                    "required": bool(body.get("required")),
                    "content": {"application/json": {"schema": body["schema"]}},
                }
            converted["responses"] = {
                status: {"description": answer.get("description", "")}
                | (
                    {"content": {"application/json": {"schema": answer["schema"]}}}
                    if "schema" in answer
                    else {}
                )
                for status, answer in operation["responses"].items()
            }
            paths.setdefault(template, {})[method] = converted
    return moved(
        {
            "openapi": "3.0.3",
            "info": document.get("info", {}),
            "servers": [{"url": f"https://{document.get('host', '')}{document.get('basePath', '')}"}],
            "paths": paths,
            "components": {"schemas": document.get("definitions", {})},
        }
    )
