"""Syncs: a connector's records pulled incrementally into memory and the business model (see `_protocol`)."""

from sophia.connectors._sync._protocol import Syncable, SyncPage, SyncRecord

__all__ = ["SyncPage", "SyncRecord", "Syncable"]
