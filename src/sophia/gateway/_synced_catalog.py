"""Catalogs refreshed from providers' models endpoints, kept as JSON files under `SOPHIA_HOME/catalogs/`.

`sophia models sync PROVIDER` writes `<provider>.json`; every process that builds a catalog (`sophia serve`,
`sophia models list`, …) reads it, so prices and context windows follow the provider without a release.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sophia.gateway._catalog_entry import ModelEntry

log = logging.getLogger("sophia.gateway.catalog")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class SyncedModel:
    """What a models endpoint said about one model; `None` where it says nothing (the built-in value stays)."""

    upstream: str
    input_price: float | None = None
    output_price: float | None = None
    context_window: int | None = None
    tools: bool | None = None
    vision: bool | None = None
    json_mode: bool | None = None
    reasoning: bool | None = None

    def applied_to(self, entry: ModelEntry) -> ModelEntry:
        known = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "upstream"}
        return replace(entry, **{k: v for k, v in known.items() if v is not None})


def catalog_path(home: Path, provider: str) -> Path:
    return home / "catalogs" / f"{_UNSAFE.sub('_', provider)}.json"


def read_synced(home: Path, provider: str) -> list[SyncedModel] | None:
    path = catalog_path(home, provider)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("the synced catalog %s cannot be read (%s); using the built-in one", path, error)
        return None
    names = {f.name for f in fields(SyncedModel)}
    models: list[SyncedModel] = []
    for raw in data.get("models") or () if isinstance(data, dict) else ():
        if isinstance(raw, dict) and isinstance(raw.get("upstream"), str):
            models.append(SyncedModel(**{k: v for k, v in raw.items() if k in names}))
    return models


def write_synced(home: Path, provider: str, kind: str, models: list[SyncedModel]) -> Path:
    """Atomically (a crash mid-write leaves the previous file whole)."""
    path = catalog_path(home, provider)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "provider": provider,
        "kind": kind,
        "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": [asdict(m) for m in models],
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sync-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=1)
    os.replace(temporary, path)
    return path


__all__ = ["SyncedModel", "catalog_path", "read_synced", "write_synced"]
