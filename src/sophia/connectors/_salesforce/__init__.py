"""Salesforce: REST + SOQL actions, sync streams and the mapping to the unified business model."""

from sophia.connectors._salesforce._connector import API_VERSION, Salesforce

__all__ = ["API_VERSION", "Salesforce"]
