"""Sending a rendered report to one destination through its connector: Slack (the PNG uploaded with the text as
its comment) or Telegram (the text, then the PNG by sendPhoto)."""

from __future__ import annotations

from sophia.connectors import Connectors, Slack, Telegram
from sophia.errors import ConfigError

__all__ = ["deliver_to"]

TELEGRAM_TEXT_LIMIT = 4000
"""The Bot API takes 4096 characters per message; escaping adds some."""


async def deliver_to(
    connectors: Connectors | None, destination: str, name: str, text: str, png: bytes
) -> None:
    service, _, rest = destination.partition(":")
    connector_name, _, target = rest.partition("#")
    if connectors is None:
        raise ConfigError(f"report {name}: no connectors are open to deliver to {destination}")
    connector = connectors.get(connector_name)
    if service == "slack" and isinstance(connector, Slack):
        await connector.upload_bytes(
            f"{name}.png", png, channel=target, title=name.replace("_", " "), initial_comment=text
        )
    elif service == "telegram" and isinstance(connector, Telegram):
        await connector.send_message(target, text[:TELEGRAM_TEXT_LIMIT])
        await connector.send_photo_file(target, png, filename=f"{name}.png", caption=name.replace("_", " "))
    else:
        raise ConfigError(f"report {name}: connector {connector_name} is not a {service} connector")
