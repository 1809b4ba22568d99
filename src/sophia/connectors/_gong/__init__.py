"""Gong: calls, parties, trackers and transcripts as actions and sync streams."""

from sophia.connectors._gong._connector import Gong

__all__ = ["Gong"]
