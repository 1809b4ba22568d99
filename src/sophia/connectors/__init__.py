"""Connectors: external services whose actions are tools (read, write, destroy), with one HTTP kit for all.

A service is a `Connector` subclass in its own module (`_github.py`, …) listed in `BUILTIN_KINDS` (or added by a
package's `sophia.connectors` entry point). Its `@action` methods become tools named `<instance>.<action>`, in the
connector's MCP group, under the approval policy, with `dry_run` on every write and destroy.
"""

from sophia.connectors._announce import ApprovalAnnouncer, approval_summary
from sophia.connectors._auth import Auth, BasicAuth, HeaderToken, NoAuth, OAuthRefresh, Resolve
from sophia.connectors._connectors import ConnectorInfo, Connectors, build_connector
from sophia.connectors._dryrun import CallScope, DryRunStop, RequestPreview, call_scope, current_call
from sophia.connectors._errors import (
    ConnectorAuthError,
    ConnectorConflict,
    ConnectorError,
    ConnectorInvalid,
    ConnectorNotConfigured,
    ConnectorNotFound,
    ConnectorRateLimited,
    ConnectorUnavailable,
    UnknownConnector,
    error_from_response,
    parse_retry_after,
)
from sophia.connectors._http import Classify, ConnectorHttp
from sophia.connectors._inbound import Accepted, accept_event, accept_webhook, trigger_for
from sophia.connectors._kinds import (
    BUILTIN_KINDS,
    ENTRY_POINT_GROUP,
    connector_kind,
    connector_kind_names,
    connector_kind_problems,
    register_connector_kind,
)
from sophia.connectors._model import (
    ActionSpec,
    ApprovalDecision,
    CheckResult,
    Connector,
    Credential,
    WebhookEvent,
    action,
)
from sophia.connectors._paging import collect_cursor, collect_links, next_link
from sophia.connectors._ratelimit import KeyedRateGates, RateGate, RateState
from sophia.connectors._slack import Slack
from sophia.connectors._state import CheckRecord, ConnectorState, EventRecord
from sophia.connectors._sync import (
    NotSyncable,
    StreamResult,
    StreamStatus,
    Syncable,
    SyncEngine,
    SyncPage,
    SyncRecord,
    SyncReport,
    SyncSchedule,
    SyncStatus,
    TickingSchedule,
    UnknownStream,
    namespace_of,
    run_sync,
    sync_overview,
    syncable_names,
)
from sophia.connectors._telegram import Telegram
from sophia.connectors._tools import action_tool, register_connector_tools
from sophia.connectors._webhooks import (
    SLACK_REPLAY_WINDOW,
    WebhookRefused,
    github_signature,
    slack_signature,
    verify_github,
    verify_slack,
    verify_token,
)

__all__ = [
    "Slack",
    "Telegram",
    "Accepted",
    "BUILTIN_KINDS",
    "ENTRY_POINT_GROUP",
    "SLACK_REPLAY_WINDOW",
    "ActionSpec",
    "ApprovalAnnouncer",
    "ApprovalDecision",
    "Auth",
    "BasicAuth",
    "CallScope",
    "CheckRecord",
    "CheckResult",
    "Classify",
    "Connector",
    "ConnectorAuthError",
    "ConnectorConflict",
    "ConnectorError",
    "ConnectorHttp",
    "ConnectorInfo",
    "ConnectorInvalid",
    "ConnectorNotConfigured",
    "ConnectorNotFound",
    "ConnectorRateLimited",
    "ConnectorState",
    "ConnectorUnavailable",
    "Connectors",
    "Credential",
    "DryRunStop",
    "EventRecord",
    "HeaderToken",
    "KeyedRateGates",
    "NoAuth",
    "NotSyncable",
    "OAuthRefresh",
    "RateGate",
    "RateState",
    "RequestPreview",
    "Resolve",
    "StreamResult",
    "StreamStatus",
    "SyncEngine",
    "SyncPage",
    "SyncRecord",
    "SyncReport",
    "SyncSchedule",
    "TickingSchedule",
    "SyncStatus",
    "Syncable",
    "UnknownConnector",
    "UnknownStream",
    "WebhookEvent",
    "WebhookRefused",
    "accept_event",
    "accept_webhook",
    "action",
    "action_tool",
    "approval_summary",
    "build_connector",
    "call_scope",
    "collect_cursor",
    "namespace_of",
    "collect_links",
    "connector_kind",
    "connector_kind_names",
    "connector_kind_problems",
    "current_call",
    "error_from_response",
    "github_signature",
    "next_link",
    "parse_retry_after",
    "register_connector_kind",
    "register_connector_tools",
    "run_sync",
    "sync_overview",
    "slack_signature",
    "syncable_names",
    "trigger_for",
    "verify_github",
    "verify_slack",
    "verify_token",
]
