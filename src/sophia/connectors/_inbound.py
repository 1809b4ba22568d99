"""Inbound webhooks: check the signature, keep the event once (services redeliver), find the run it starts."""

from __future__ import annotations

from dataclasses import dataclass

from sophia.config import EventTrigger
from sophia.connectors._connectors import Connectors
from sophia.connectors._errors import ConnectorNotConfigured
from sophia.connectors._model import WebhookEvent
from sophia.connectors._state import ConnectorState
from sophia.connectors._webhooks import WebhookRefused

__all__ = ["Accepted", "accept_event", "accept_webhook", "trigger_for"]

_MAX_BODY = 2_000_000


@dataclass(frozen=True, slots=True)
class Accepted:
    event: WebhookEvent
    event_id: int | None
    """None when this delivery had been accepted before: it starts nothing a second time."""
    trigger: EventTrigger | None


def trigger_for(triggers: dict[str, EventTrigger], event_type: str) -> EventTrigger | None:
    """The most specific match: `pull_request.opened`, then `pull_request.*`, then `pull_request`, then `*`."""
    if event_type in triggers:
        return triggers[event_type]
    parts = event_type.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        for candidate in (f"{prefix}.*", prefix):
            if candidate in triggers:
                return triggers[candidate]
    return triggers.get("*")


async def accept_webhook(
    connectors: Connectors, state: ConnectorState, name: str, headers: dict[str, str], body: bytes
) -> Accepted:
    """Raises WebhookRefused for a bad signature and ConnectorNotConfigured without a webhook secret."""
    connector = connectors.get(name)
    if not connector.receives_webhooks():
        raise WebhookRefused(f"{connector.title} sends no webhooks Sophia understands")
    if len(body) > _MAX_BODY:
        raise WebhookRefused("the webhook body is larger than Sophia accepts")
    try:
        secret = connector.webhook_secret()
    except ConnectorNotConfigured as error:
        raise ConnectorNotConfigured(
            f"{name} has no webhook secret, so no inbound request can be trusted ({error.message})",
            service=name,
        ) from None
    event = connector.verify_webhook({k.lower(): v for k, v in headers.items()}, body, secret)
    if event.reply is not None:
        return Accepted(event, None, None)
    return await accept_event(connectors, state, name, event)


async def accept_event(
    connectors: Connectors, state: ConnectorState, name: str, event: WebhookEvent
) -> Accepted:
    """Keep a verified (or polled) event once and find the run it starts; a redelivery starts nothing."""
    connector = connectors.get(name)
    event_id = await state.add_event(name, event.id, event.type, event.summary, event.payload)
    trigger = trigger_for(connector.settings.on_event, event.type) if event_id is not None else None
    return Accepted(event, event_id, trigger)
