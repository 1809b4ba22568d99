"""Syncs: a connector's records pulled incrementally into memory and the business model (see `_protocol`)."""
