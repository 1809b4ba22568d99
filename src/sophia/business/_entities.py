"""The unified business model's entities: one shape per kind of record, whatever CRM or recorder it came from.

Links between records (`account_id`, `deal_id`, `owner_id`, ...) hold the source's own ids, so records of one
source can arrive in any order; calls and conversations from another source reach accounts by email (`_join.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

__all__ = [
    "ACTIVITY_KINDS",
    "ENTITY_KINDS",
    "Account",
    "Activity",
    "BusinessRecord",
    "Call",
    "CallSentence",
    "Contact",
    "Deal",
    "DealStageChange",
    "PipelineStage",
    "Rep",
    "UsageWeek",
    "WorkItem",
]

ACTIVITY_KINDS = ("call", "email", "meeting", "note", "ticket", "task", "conversation")
"""What `Activity.kind` may be; a ticket carries `priority` (P1..P4) and `status` (open, closed)."""


@dataclass(frozen=True, kw_only=True)
class BusinessRecord:
    """What every record carries: where it came from, a link back for citations, and the source's modified time."""

    KIND: ClassVar[str] = ""
    source: str
    """The connector instance's name (`[connectors.NAME]`)."""
    source_kind: str
    """The service: "hubspot", "salesforce", "gong", ..."""
    source_id: str
    source_url: str | None = None
    updated_at: datetime


@dataclass(frozen=True, kw_only=True)
class Rep(BusinessRecord):
    """A user of the source: a sales rep, an owner of records, a call host."""

    KIND: ClassVar[str] = "reps"
    name: str
    email: str | None = None
    title: str | None = None
    active: bool = True


@dataclass(frozen=True, kw_only=True)
class Account(BusinessRecord):
    KIND: ClassVar[str] = "accounts"
    name: str
    domain: str | None = None
    industry: str | None = None
    owner_id: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    created_at: datetime | None = None
    churned_at: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Contact(BusinessRecord):
    KIND: ClassVar[str] = "contacts"
    name: str
    email: str | None = None
    account_id: str | None = None
    title: str | None = None
    is_champion: bool = False
    left_at: datetime | None = None
    """When the contact left the account's company (a lost champion is a churn signal)."""
    created_at: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class PipelineStage(BusinessRecord):
    """A stage of a deal pipeline with the source's win probability for it."""

    KIND: ClassVar[str] = "pipeline_stages"
    pipeline: str
    stage: str
    label: str
    probability: float | None = None
    display_order: int = 0
    is_closed: bool = False
    is_won: bool = False


@dataclass(frozen=True, kw_only=True)
class Deal(BusinessRecord):
    """A deal (HubSpot) or opportunity (Salesforce); `stage_label` is the human stage name both CRMs show."""

    KIND: ClassVar[str] = "deals"
    name: str
    account_id: str | None = None
    owner_id: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    stage_label: str | None = None
    probability: float | None = None
    amount: float | None = None
    currency: str | None = None
    close_date: datetime | None = None
    created_at: datetime | None = None
    is_closed: bool = False
    is_won: bool = False
    lost_reason: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DealStageChange(BusinessRecord):
    """A deal entered a stage at a time (the stage history)."""

    KIND: ClassVar[str] = "deal_stages"
    deal_id: str
    stage: str
    stage_label: str | None = None
    entered_at: datetime


@dataclass(frozen=True, kw_only=True)
class Activity(BusinessRecord):
    """A touch: call, email, meeting, note, ticket, task or support conversation; `emails` are its participants'."""

    KIND: ClassVar[str] = "activities"
    kind: str
    occurred_at: datetime
    subject: str | None = None
    body: str | None = None
    account_id: str | None = None
    contact_id: str | None = None
    deal_id: str | None = None
    owner_id: str | None = None
    priority: str | None = None
    status: str | None = None
    emails: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Call(BusinessRecord):
    """A recorded call (Gong): `participants` are dicts with speaker_id, name, email and role ("rep"/"customer")."""

    KIND: ClassVar[str] = "calls"
    title: str
    started_at: datetime
    duration_s: float
    owner_id: str | None = None
    account_id: str | None = None
    participants: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    trackers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class CallSentence(BusinessRecord):
    """One timed sentence of a call's transcript, attributed to a speaker."""

    KIND: ClassVar[str] = "call_sentences"
    call_id: str
    position: int
    speaker_id: str
    speaker_role: str
    """"rep" (someone of our company) or "customer"."""
    start_ms: int
    end_ms: int
    text: str


@dataclass(frozen=True, kw_only=True)
class WorkItem(BusinessRecord):
    """An issue or task (Linear, Asana)."""

    KIND: ClassVar[str] = "work_items"
    title: str
    state: str | None = None
    assignee: str | None = None
    project: str | None = None
    due_at: datetime | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class UsageWeek(BusinessRecord):
    """Product usage of an account in one week (a churn signal)."""

    KIND: ClassVar[str] = "usage_weeks"
    account_id: str
    week_start: datetime
    logins: int
    active_users: int = 0


ENTITY_KINDS: dict[str, type[BusinessRecord]] = {
    cls.KIND: cls
    for cls in (
        Rep,
        Account,
        Contact,
        PipelineStage,
        Deal,
        DealStageChange,
        Activity,
        Call,
        CallSentence,
        WorkItem,
        UsageWeek,
    )
}
"""Kind name (the table name without its `biz_` prefix) to entity class."""
