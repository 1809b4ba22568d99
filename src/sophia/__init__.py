"""Sophia: a self-hosted AI orchestrator."""

__version__ = "0.1.0"

__all__ = ["__version__"]
