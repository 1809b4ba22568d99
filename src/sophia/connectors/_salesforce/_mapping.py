"""Salesforce sObjects → the unified business model; the SOQL each stream reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sophia.business import (
    Account,
    Activity,
    BusinessRecord,
    Contact,
    Deal,
    DealStageChange,
    PipelineStage,
    Rep,
)
from sophia.connectors._cursor import parse_time

__all__ = ["STREAMS", "Stream", "business_of", "fields_of"]


@dataclass(frozen=True)
class Stream:
    sobject: str
    fields: tuple[str, ...]
    option_fields: tuple[tuple[str, str], ...] = ()
    """(option name, default custom field) added to the query: where the org keeps churn/champion facts."""


STREAMS: dict[str, Stream] = {
    "users": Stream("User", ("Id", "Name", "Email", "Title", "IsActive", "SystemModstamp")),
    "accounts": Stream(
        "Account",
        ("Id", "Name", "Website", "Industry", "OwnerId", "NumberOfEmployees", "AnnualRevenue", "CreatedDate",
         "SystemModstamp"),
        (("churn_field", "Churn_Date__c"),),
    ),
    "contacts": Stream(
        "Contact",
        ("Id", "Name", "Email", "AccountId", "Title", "CreatedDate", "SystemModstamp"),
        (("champion_field", "Champion__c"), ("left_field", "Left_Company_Date__c")),
    ),
    "stages": Stream(
        "OpportunityStage",
        ("Id", "ApiName", "MasterLabel", "SortOrder", "IsClosed", "IsWon", "DefaultProbability", "IsActive",
         "SystemModstamp"),
    ),
    "opportunities": Stream(
        "Opportunity",
        ("Id", "Name", "AccountId", "OwnerId", "StageName", "Probability", "Amount", "CloseDate", "CreatedDate",
         "IsClosed", "IsWon", "SystemModstamp"),
        (("loss_reason_field", "Loss_Reason__c"),),
    ),
    "opportunity_history": Stream(
        "OpportunityHistory", ("Id", "OpportunityId", "StageName", "CreatedDate", "SystemModstamp")
    ),
    "tasks": Stream(
        "Task",
        ("Id", "Subject", "Description", "TaskSubtype", "Status", "Priority", "WhoId", "WhatId", "AccountId",
         "OwnerId", "CompletedDateTime", "CreatedDate", "SystemModstamp"),
    ),
    "events": Stream(
        "Event",
        ("Id", "Subject", "Description", "StartDateTime", "WhoId", "WhatId", "AccountId", "OwnerId",
         "SystemModstamp"),
    ),
    "notes": Stream("Note", ("Id", "Title", "Body", "ParentId", "OwnerId", "CreatedDate", "SystemModstamp")),
    "cases": Stream(
        "Case",
        ("Id", "Subject", "Description", "Priority", "Status", "IsClosed", "AccountId", "ContactId", "OwnerId",
         "CreatedDate", "SystemModstamp"),
    ),
}  # fmt: skip
"""Stream name → the sObject and fields its SOQL selects."""

_PRIORITIES = {"high": "P1", "medium": "P2", "low": "P3"}
_SUBTYPES = {"Call": "call", "Email": "email", "ListEmail": "email"}


def fields_of(stream: Stream, options: Mapping[str, Any]) -> list[str]:
    return [*stream.fields, *(str(options.get(option, default)) for option, default in stream.option_fields)]


def _prefixed(value: Any, prefix: str) -> str | None:
    """A polymorphic lookup (WhoId, WhatId, ParentId) when it points at the object with this key prefix."""
    return str(value) if isinstance(value, str) and value.startswith(prefix) else None


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


class _Mapper:
    def __init__(self, source: str, instance_url: str | None, options: Mapping[str, Any]) -> None:
        self.source, self.instance_url, self.options = source, instance_url, options

    def common(self, data: Mapping[str, Any], updated: datetime) -> dict[str, Any]:
        record_id = str(data["Id"])
        url = f"{self.instance_url}/{record_id}" if self.instance_url else None
        return {"source": self.source, "source_kind": "salesforce", "source_id": record_id, "source_url": url,
                "updated_at": updated}  # fmt: skip

    def option(self, data: Mapping[str, Any], name: str, default: str) -> Any:
        return data.get(str(self.options.get(name, default)))

    def users(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        return Rep(**self.common(d, updated), name=str(d.get("Name") or d["Id"]), email=d.get("Email"),
                   title=d.get("Title"), active=bool(d.get("IsActive", True)))  # fmt: skip

    def accounts(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        employees = d.get("NumberOfEmployees")
        return Account(
            **self.common(d, updated),
            name=str(d.get("Name") or d["Id"]),
            domain=d.get("Website") or None,
            industry=d.get("Industry"),
            owner_id=d.get("OwnerId"),
            employees=int(employees) if employees is not None else None,
            annual_revenue=_number(d.get("AnnualRevenue")),
            created_at=parse_time(d.get("CreatedDate")),
            churned_at=parse_time(self.option(d, "churn_field", "Churn_Date__c")),
        )

    def contacts(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        return Contact(
            **self.common(d, updated),
            name=str(d.get("Name") or d["Id"]),
            email=d.get("Email"),
            account_id=d.get("AccountId"),
            title=d.get("Title"),
            is_champion=bool(self.option(d, "champion_field", "Champion__c")),
            left_at=parse_time(self.option(d, "left_field", "Left_Company_Date__c")),
            created_at=parse_time(d.get("CreatedDate")),
        )

    def stages(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        probability = _number(d.get("DefaultProbability"))
        return PipelineStage(
            **self.common(d, updated),
            pipeline=str(self.options.get("pipeline", "default")),
            stage=str(d.get("ApiName") or d.get("MasterLabel")),
            label=str(d.get("MasterLabel") or d.get("ApiName")),
            probability=None if probability is None else probability / 100,
            display_order=int(d.get("SortOrder") or 0),
            is_closed=bool(d.get("IsClosed")),
            is_won=bool(d.get("IsWon")),
        )

    def opportunities(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        probability = _number(d.get("Probability"))
        return Deal(
            **self.common(d, updated),
            name=str(d.get("Name") or d["Id"]),
            account_id=d.get("AccountId"),
            owner_id=d.get("OwnerId"),
            pipeline=str(self.options.get("pipeline", "default")),
            stage=d.get("StageName"),
            stage_label=d.get("StageName"),
            probability=None if probability is None else probability / 100,
            amount=_number(d.get("Amount")),
            currency=d.get("CurrencyIsoCode") or self.options.get("currency"),
            close_date=parse_time(d.get("CloseDate")),
            created_at=parse_time(d.get("CreatedDate")),
            is_closed=bool(d.get("IsClosed")),
            is_won=bool(d.get("IsWon")),
            lost_reason=self.option(d, "loss_reason_field", "Loss_Reason__c"),
        )

    def opportunity_history(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        entered = parse_time(d.get("CreatedDate")) or updated
        return DealStageChange(**self.common(d, updated), deal_id=str(d["OpportunityId"]), stage=str(d["StageName"]),
                               stage_label=str(d["StageName"]), entered_at=entered)  # fmt: skip

    def _activity(self, d: Mapping[str, Any], updated: datetime, kind: str, **fields: Any) -> BusinessRecord:
        return Activity(**self.common(d, updated), kind=kind, owner_id=d.get("OwnerId"), **fields)

    def tasks(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        at = parse_time(d.get("CompletedDateTime")) or parse_time(d.get("CreatedDate")) or updated
        return self._activity(
            d, updated, _SUBTYPES.get(str(d.get("TaskSubtype")), "task"), occurred_at=at, subject=d.get("Subject"),
            body=d.get("Description"), account_id=d.get("AccountId"), contact_id=_prefixed(d.get("WhoId"), "003"),
            deal_id=_prefixed(d.get("WhatId"), "006"), status=str(d["Status"]).lower() if d.get("Status") else None,
        )  # fmt: skip

    def events(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        return self._activity(
            d, updated, "meeting", occurred_at=parse_time(d.get("StartDateTime")) or updated,
            subject=d.get("Subject"), body=d.get("Description"), account_id=d.get("AccountId"),
            contact_id=_prefixed(d.get("WhoId"), "003"), deal_id=_prefixed(d.get("WhatId"), "006"),
        )  # fmt: skip

    def notes(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        return self._activity(
            d, updated, "note", occurred_at=parse_time(d.get("CreatedDate")) or updated, subject=d.get("Title"),
            body=d.get("Body"), account_id=_prefixed(d.get("ParentId"), "001"),
            deal_id=_prefixed(d.get("ParentId"), "006"),
        )  # fmt: skip

    def cases(self, d: Mapping[str, Any], updated: datetime) -> BusinessRecord:
        return self._activity(
            d, updated, "ticket", occurred_at=parse_time(d.get("CreatedDate")) or updated,
            subject=d.get("Subject"), body=d.get("Description"), account_id=d.get("AccountId"),
            contact_id=d.get("ContactId"), priority=_PRIORITIES.get(str(d.get("Priority") or "").lower()),
            status="closed" if d.get("IsClosed") else "open",
        )  # fmt: skip


def business_of(
    stream: str,
    data: Mapping[str, Any],
    updated: datetime,
    *,
    source: str,
    instance_url: str | None,
    options: Mapping[str, Any],
) -> Sequence[BusinessRecord]:
    if stream not in STREAMS:
        return []
    mapper = _Mapper(source, instance_url, options)
    return [getattr(mapper, stream)(data, updated)]
