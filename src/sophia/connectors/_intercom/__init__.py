"""Intercom (api.intercom.io): contacts, companies, conversations (list, reply, close, assign), tickets; sync."""

from sophia.connectors._intercom._connector import Intercom

__all__ = ["Intercom"]
