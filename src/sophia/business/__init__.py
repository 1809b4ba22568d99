"""The unified business model: accounts, contacts, deals, activities, calls, work items and usage from every CRM,
call recorder and tracker in the same `biz_*` tables, so an analysis written once runs on any source."""

from sophia.business._entities import (
    ACTIVITY_KINDS,
    ENTITY_KINDS,
    Account,
    Activity,
    BusinessRecord,
    Call,
    CallSentence,
    Contact,
    Deal,
    DealStageChange,
    PipelineStage,
    Rep,
    UsageWeek,
    WorkItem,
)
from sophia.business._errors import UnknownBusinessKind
from sophia.business._join import (
    FREE_MAIL_DOMAINS,
    AccountIndex,
    AccountMatch,
    email_domain,
    normalise_domain,
)
from sophia.business._store import BusinessStore, Row
from sophia.business._tables import TABLES, entity_columns, table_for

__all__ = [
    "ACTIVITY_KINDS",
    "ENTITY_KINDS",
    "FREE_MAIL_DOMAINS",
    "TABLES",
    "Account",
    "AccountIndex",
    "AccountMatch",
    "Activity",
    "BusinessRecord",
    "BusinessStore",
    "Call",
    "CallSentence",
    "Contact",
    "Deal",
    "DealStageChange",
    "PipelineStage",
    "Rep",
    "Row",
    "UnknownBusinessKind",
    "UsageWeek",
    "WorkItem",
    "email_domain",
    "entity_columns",
    "normalise_domain",
    "table_for",
]
