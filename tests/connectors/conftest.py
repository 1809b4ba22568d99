from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sophia.connectors import register_connector_kind
from tests.connectors.example import Notes


@pytest.fixture(autouse=True)
def _notes_kind() -> Iterator[None]:
    register_connector_kind(Notes)
    yield


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "sophia-home"
