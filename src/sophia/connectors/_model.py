"""What a connector is: a service, its credentials, a cheap check, and actions declared with `@action`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sophia.config import ConnectorSettings
from sophia.connectors._auth import Auth, HeaderToken, Resolve
from sophia.connectors._http import ConnectorHttp
from sophia.secrets import SecretResolver
from sophia.tools import SideEffect

__all__ = [
    "ActionSpec",
    "ApprovalDecision",
    "CheckResult",
    "Connector",
    "Credential",
    "WebhookEvent",
    "action",
]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__sophia_action__"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    effect: SideEffect
    description: str | None = None


def action(
    name: str, effect: SideEffect | str = SideEffect.READ, description: str | None = None
) -> Callable[[F], F]:
    """Mark a connector method as an action; it becomes the tool `<instance>.<name>` with this side effect."""

    def mark(function: F) -> F:
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"connector action {name} must be an async method")
        setattr(function, _ATTRIBUTE, ActionSpec(name, SideEffect(effect), description))
        return function

    return mark


@dataclass(frozen=True, slots=True)
class Credential:
    """A credential the connector needs (`[connectors.NAME.credentials]` holds its reference)."""

    name: str
    description: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """A person's click on an approve/deny button sent by a messaging service (Slack, Telegram).

    `user` is the Sophia user the service's person maps to (the connector's `approvers` option); None when the
    clicker is not mapped, and then the decision is refused: it decides nothing.
    """

    approval_id: str
    approve: bool
    external_user: str
    user: str | None


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """An inbound event whose signature was checked: `type` like `pull_request.opened`, `id` for deduplication."""

    type: str
    id: str
    payload: dict[str, Any]
    summary: str = ""
    reply: Any = None
    """What to answer the service with instead of the usual acknowledgement (Slack's url_verification)."""
    decision: ApprovalDecision | None = None
    """A click on an approval button; the webhook route applies it through the approvals desk."""


class Connector:
    """Base of every service. Subclasses set the class attributes, build `self.http`, and declare actions."""

    kind: ClassVar[str]
    title: ClassVar[str]
    group: ClassVar[str] = "integrations"
    default_base_url: ClassVar[str]
    docs_url: ClassVar[str] = ""
    credentials: ClassVar[tuple[Credential, ...]] = ()
    idempotency_header: ClassVar[str | None] = None
    default_requests_per_second: ClassVar[float | None] = None
    """The service's documented pace, used unless `requests_per_second` is set."""
    default_headers: ClassVar[dict[str, str]] = {}
    """Headers sent on every request (an API version pin such as GitHub's `X-GitHub-Api-Version`)."""

    def __init__(self, name: str, settings: ConnectorSettings, http: ConnectorHttp) -> None:
        self.name = name
        self.settings = settings
        self.http = http
        self._resolve: Resolve | None = None

    def bind_credentials(self, resolve: Resolve) -> None:
        self._resolve = resolve

    def credential(self, name: str) -> str:
        """A credential's value (raises ConnectorNotConfigured naming the setting when it is missing)."""
        if self._resolve is None:
            raise RuntimeError(f"connector {self.name} was built without credentials; use build_connector")
        return self._resolve(name)

    @property
    def options(self) -> dict[str, Any]:
        return self.settings.options

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        """How requests are authenticated; default `Authorization: Bearer <credentials.token>`."""
        return HeaderToken(resolve)

    def webhook_secret(self) -> str:
        """The shared secret inbound requests are signed with (`credentials.webhook_secret`)."""
        return self.credential("webhook_secret")

    async def check(self) -> CheckResult:
        """A cheap authenticated read that proves the credentials work (override per service)."""
        raise NotImplementedError

    def verify_webhook(self, headers: dict[str, str], body: bytes, secret: str) -> WebhookEvent:
        """Check an inbound request's signature and parse it; raise WebhookRefused when it does not verify."""
        raise NotImplementedError(f"{self.title} sends no webhooks Sophia understands")

    async def acknowledge(self, event: WebhookEvent, outcome: str) -> None:
        """After an event's decision was applied: tell the service (Telegram's answerCallbackQuery); optional."""
        return None

    def announces_approvals(self) -> bool:
        """True when this instance posts approve/deny buttons for held calls (a destination is configured)."""
        return False

    async def announce_approval(self, approval_id: str, tool: str, summary: str) -> None:
        """Post the approve/deny message for one held call to the configured destination."""
        raise NotImplementedError(f"{self.title} does not post approval requests")

    def polls_events(self) -> bool:
        """True when Sophia should fetch this instance's events itself (no public webhook URL)."""
        return False

    async def poll_events(
        self, after: str | None, wait_seconds: float
    ) -> tuple[list[WebhookEvent], str | None]:
        """Events after the position `after` (None: the oldest unconfirmed), and the position to ask from next."""
        raise NotImplementedError(f"{self.title} has no event feed Sophia can poll")

    @classmethod
    def receives_webhooks(cls) -> bool:
        return cls.verify_webhook is not Connector.verify_webhook

    def action_methods(self) -> list[tuple[ActionSpec, Callable[..., Any]]]:
        found: list[tuple[ActionSpec, Callable[..., Any]]] = []
        for attribute in dir(type(self)):
            function = getattr(type(self), attribute, None)
            spec = getattr(function, _ATTRIBUTE, None)
            if isinstance(spec, ActionSpec):
                found.append((spec, getattr(self, attribute)))
        return sorted(found, key=lambda pair: pair[0].name)

    async def aclose(self) -> None:
        await self.http.aclose()
