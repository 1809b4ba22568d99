"""An app factory for `uvicorn --factory`: Sophia's API with the dashboard installed (as `sophia serve` will be)."""

from __future__ import annotations

from fastapi import FastAPI

from sophia.config import load_settings
from sophia.server import create_app


def app() -> FastAPI:
    return create_app(load_settings())
