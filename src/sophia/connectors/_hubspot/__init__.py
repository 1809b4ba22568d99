"""HubSpot CRM: actions, sync streams and the mapping to the unified business model."""

from sophia.connectors._hubspot._connector import HubSpot, hubspot_error

__all__ = ["HubSpot", "hubspot_error"]
