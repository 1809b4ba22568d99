"""Check requests (and stand-in responses) against a service's OpenAPI document, or a trimmed excerpt of it.

`OpenApi(path, base="/v1")` loads a JSON document; `check_request(request)` asserts the method and path match a
documented operation, every query parameter is declared, required ones are present, and the JSON body validates
against the request schema; `check_response(method, path, status, body)` validates a stand-in's answer.
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


class OpenApi:
    def __init__(self, path: Path, *, base: str = "") -> None:
        self.document: dict[str, Any] = _nullable(json.loads(path.read_text()))
        self.base = base.rstrip("/")
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource("urn:doc", resource)
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"), template)
            for template in self.document["paths"]
        ]

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        """The documented operation for a request path (without the base), and its parameters."""
        local = path[len(self.base) :] if self.base and path.startswith(self.base) else path
        matches = [template for pattern, template in self._routes if pattern.match(local)]
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
        raise AssertionError(f"{method} {path} is not in the OpenAPI document")

    def check_request(self, request: httpx.Request) -> str:
        """Assert the request is one the document describes; returns the matched path template."""
        template, operation, parameters = self.operation(request.method, request.url.path)
        query = {p["name"]: p for p in parameters if p.get("in") == "query"}
        sent = {key for key, _ in request.url.params.multi_items()}
        unknown = sent - set(query)
        assert not unknown, f"{request.method} {template}: undocumented query parameters {sorted(unknown)}"
        for name, parameter in query.items():
            if parameter.get("required"):
                assert name in sent, f"{request.method} {template}: missing required query parameter {name}"
        body = operation.get("requestBody")
        if request.content:
            assert body is not None, f"{request.method} {template} takes no body"
            schema = self._deref(body)["content"]["application/json"]["schema"]
            self._validate(json.loads(request.content), schema, f"{request.method} {template} body")
        elif body is not None and self._deref(body).get("required"):
            raise AssertionError(f"{request.method} {template} requires a body")
        return template

    def check_response(self, method: str, path: str, status: int, body: Any) -> None:
        template, operation, _ = self.operation(method, path)
        responses = operation["responses"]
        answer = responses.get(str(status)) or responses.get("default")
        assert answer is not None, f"{method} {template} documents no {status} answer"
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
        assert not errors, (
            f"{what} does not match the document: {errors[0].message} at {list(errors[0].path)}"
        )


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [..., "null"]`."""
    if isinstance(node, dict):
        out = {key: _nullable(value) for key, value in node.items() if key != "nullable"}
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
