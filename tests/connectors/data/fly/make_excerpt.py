"""Rebuild openapi.json from Fly's published Machines API Swagger 2.0 document (docs.machines.dev).

Usage: python -m tests.connectors.data.fly.make_excerpt SWAGGER_JSON
The operations Sophia calls are converted to OpenAPI 3 and trimmed; the app-secrets operations, which the
published document this was made from predates, are kept from the previous excerpt and marked `x-hand-written`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.connectors.openapi import from_swagger2, trim

HERE = Path(__file__).parent
CALLED = [
    ("get", "/apps"),
    ("post", "/apps"),
    ("get", "/apps/{app_name}"),
    ("get", "/apps/{app_name}/machines"),
    ("post", "/apps/{app_name}/machines"),
    ("get", "/apps/{app_name}/machines/{machine_id}"),
    ("post", "/apps/{app_name}/machines/{machine_id}"),
    ("delete", "/apps/{app_name}/machines/{machine_id}"),
    ("post", "/apps/{app_name}/machines/{machine_id}/restart"),
    ("post", "/apps/{app_name}/machines/{machine_id}/start"),
    ("post", "/apps/{app_name}/machines/{machine_id}/stop"),
    ("get", "/apps/{app_name}/machines/{machine_id}/wait"),
    ("post", "/apps/{app_name}/machines/{machine_id}/lease"),
    ("delete", "/apps/{app_name}/machines/{machine_id}/lease"),
    ("get", "/apps/{app_name}/volumes"),
    ("post", "/apps/{app_name}/volumes"),
    ("delete", "/apps/{app_name}/volumes/{volume_id}"),
]
HAND_WRITTEN = [("get", "/apps/{app_name}/secrets"), ("post", "/apps/{app_name}/secrets"),
                ("delete", "/apps/{app_name}/secrets/{secret_name}")]  # fmt: skip


def main(swagger: Path) -> None:
    published = from_swagger2(json.loads(swagger.read_text()))
    excerpt = trim(
        published,
        CALLED,
        (
            "Fly Machines API Swagger 2.0 (docs.machines.dev; the copy in github.com/jlengrand/"
            "jetbrains-client-api-repository apis/flyio/doc.json), converted to OpenAPI 3 and trimmed to the"
            " operations Sophia calls; the app-secrets operations are hand-written (x-hand-written)"
        ),
    )
    previous = json.loads((HERE / "openapi.json").read_text())
    kept: dict[str, Any] = trim(previous, HAND_WRITTEN, "")
    for template, item in kept["paths"].items():
        for key, value in item.items():
            if isinstance(value, dict):
                value["x-hand-written"] = True
            excerpt["paths"].setdefault(template, {})[key] = value
    for section, found in kept["components"].items():
        for name, schema in found.items():
            excerpt["components"].setdefault(section, {}).setdefault(name, schema)
    (HERE / "openapi.json").write_text(json.dumps(excerpt, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
