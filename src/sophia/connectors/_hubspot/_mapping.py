"""HubSpot CRM v3 records → the unified business model (`sophia.business`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
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

__all__ = ["ENGAGEMENTS", "OBJECT_PROPERTIES", "PRIORITIES", "business_of", "first_association"]

ENGAGEMENTS: dict[str, tuple[str, str, str]] = {
    "notes": ("note", "", "hs_note_body"),
    "calls": ("call", "hs_call_title", "hs_call_body"),
    "emails": ("email", "hs_email_subject", "hs_email_text"),
    "meetings": ("meeting", "hs_meeting_title", "hs_meeting_body"),
    "tasks": ("task", "hs_task_subject", "hs_task_body"),
}
"""Engagement object type → (activity kind, subject property, body property)."""

OBJECT_PROPERTIES: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domain", "industry", "hubspot_owner_id", "numberofemployees", "annualrevenue",
                  "createdate", "hs_lastmodifieddate"),
    "contacts": ("firstname", "lastname", "email", "jobtitle", "hs_buying_role", "createdate",
                 "lastmodifieddate"),
    "deals": ("dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hubspot_owner_id",
              "hs_is_closed", "hs_is_closed_won", "closed_lost_reason", "deal_currency_code",
              "hs_deal_stage_probability", "hs_lastmodifieddate"),
    "tickets": ("subject", "content", "hs_ticket_priority", "hs_pipeline_stage", "createdate",
                "hubspot_owner_id", "hs_lastmodifieddate"),
    "notes": ("hs_note_body", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"),
    "calls": ("hs_call_title", "hs_call_body", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"),
    "emails": ("hs_email_subject", "hs_email_text", "hs_timestamp", "hubspot_owner_id", "hs_lastmodifieddate"),
    "meetings": ("hs_meeting_title", "hs_meeting_body", "hs_timestamp", "hubspot_owner_id",
                 "hs_lastmodifieddate"),
    "tasks": ("hs_task_subject", "hs_task_body", "hs_task_status", "hs_task_priority", "hs_timestamp",
              "hubspot_owner_id", "hs_lastmodifieddate"),
}  # fmt: skip
"""The properties asked for per object type (HubSpot returns only the properties named)."""

PRIORITIES = {"HIGH": "P1", "URGENT": "P1", "MEDIUM": "P2", "LOW": "P3"}
"""hs_ticket_priority → the unified P1..P4."""
CLOSED_TICKET_STAGE = "4"
"""The default support pipeline's "Closed" stage."""


def _number(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


def first_association(data: Mapping[str, Any], to: str) -> str | None:
    """The first associated id of type `to` in a v3 record's `associations` block."""
    results = ((data.get("associations") or {}).get(to) or {}).get("results") or []
    return str(results[0]["id"]) if results else None


class _Mapper:
    def __init__(self, source: str, portal: str | None) -> None:
        self.source, self.portal = source, portal

    def common(self, record_id: str, updated: datetime, path: str) -> dict[str, Any]:
        url = f"https://app.hubspot.com/contacts/{self.portal}/{path}/{record_id}" if self.portal else None
        return {
            "source": self.source,
            "source_kind": "hubspot",
            "source_id": record_id,
            "source_url": url,
            "updated_at": updated,
        }

    def owner(self, data: Mapping[str, Any]) -> list[BusinessRecord]:
        name = " ".join(p for p in (data.get("firstName"), data.get("lastName")) if p) or str(
            data.get("email")
        )
        updated = parse_time(data.get("updatedAt")) or datetime.now(UTC)
        return [
            Rep(
                **self.common(str(data["id"]), updated, "settings/users"),
                name=name,
                email=data.get("email"),
                active=not data.get("archived", False),
            )
        ]

    def pipeline(self, data: Mapping[str, Any]) -> list[BusinessRecord]:
        stages: list[BusinessRecord] = []
        for stage in data.get("stages") or []:
            meta = stage.get("metadata") or {}
            probability = _number(meta.get("probability"))
            closed = _flag(meta.get("isClosed"))
            updated = parse_time(stage.get("updatedAt")) or parse_time(data.get("updatedAt"))
            stages.append(
                PipelineStage(
                    **self.common(str(stage["id"]), updated or datetime.now(UTC), "deals/pipelines"),
                    pipeline=str(data["id"]),
                    stage=str(stage["id"]),
                    label=str(stage.get("label") or stage["id"]),
                    probability=probability,
                    display_order=int(stage.get("displayOrder") or 0),
                    is_closed=closed,
                    is_won=closed and probability == 1.0,
                )
            )
        return stages

    def company(
        self, data: Mapping[str, Any], updated: datetime, churn_property: str
    ) -> list[BusinessRecord]:
        p = data.get("properties") or {}
        employees = _number(p.get("numberofemployees"))
        return [
            Account(
                **self.common(str(data["id"]), updated, "company"),
                name=p.get("name") or f"Company {data['id']}",
                domain=p.get("domain") or None,
                industry=p.get("industry") or None,
                owner_id=p.get("hubspot_owner_id") or None,
                employees=int(employees) if employees is not None else None,
                annual_revenue=_number(p.get("annualrevenue")),
                created_at=parse_time(p.get("createdate")),
                churned_at=parse_time(p.get(churn_property)),
                properties={k: v for k, v in p.items() if v not in (None, "")},
            )
        ]

    def contact(self, data: Mapping[str, Any], updated: datetime, left_property: str) -> list[BusinessRecord]:
        p = data.get("properties") or {}
        name = (
            " ".join(x for x in (p.get("firstname"), p.get("lastname")) if x) or p.get("email") or data["id"]
        )
        roles = str(p.get("hs_buying_role") or "").split(";")
        return [
            Contact(
                **self.common(str(data["id"]), updated, "contact"),
                name=str(name),
                email=p.get("email") or None,
                account_id=first_association(data, "companies"),
                title=p.get("jobtitle") or None,
                is_champion="CHAMPION" in roles,
                left_at=parse_time(p.get(left_property)),
                created_at=parse_time(p.get("createdate")),
            )
        ]

    def deal(
        self, data: Mapping[str, Any], updated: datetime, labels: Mapping[str, str]
    ) -> list[BusinessRecord]:
        p = data.get("properties") or {}
        deal_id, stage = str(data["id"]), p.get("dealstage") or None
        out: list[BusinessRecord] = [
            Deal(
                **self.common(deal_id, updated, "deal"),
                name=p.get("dealname") or f"Deal {deal_id}",
                account_id=first_association(data, "companies"),
                owner_id=p.get("hubspot_owner_id") or None,
                pipeline=p.get("pipeline") or None,
                stage=stage,
                stage_label=labels.get(stage or "", stage),
                probability=_number(p.get("hs_deal_stage_probability")),
                amount=_number(p.get("amount")),
                currency=p.get("deal_currency_code") or None,
                close_date=parse_time(p.get("closedate")),
                created_at=parse_time(p.get("createdate")),
                is_closed=_flag(p.get("hs_is_closed")),
                is_won=_flag(p.get("hs_is_closed_won")),
                lost_reason=p.get("closed_lost_reason") or None,
            )
        ]
        history = (data.get("propertiesWithHistory") or {}).get("dealstage") or []
        for entry in sorted(history, key=lambda h: str(h.get("timestamp"))):
            entered = parse_time(entry.get("timestamp"))
            if entered is None or not entry.get("value"):
                continue
            out.append(
                DealStageChange(
                    **self.common(
                        f"{deal_id}:{entry['value']}:{int(entered.timestamp() * 1000)}", entered, "deal"
                    ),
                    deal_id=deal_id,
                    stage=str(entry["value"]),
                    stage_label=labels.get(str(entry["value"]), str(entry["value"])),
                    entered_at=entered,
                )
            )
        return out

    def engagement(self, stream: str, data: Mapping[str, Any], updated: datetime) -> list[BusinessRecord]:
        p = data.get("properties") or {}
        status: str | None
        if stream == "tickets":
            kind, subject, body = "ticket", p.get("subject"), p.get("content")
            occurred = parse_time(p.get("createdate"))
            priority = PRIORITIES.get(str(p.get("hs_ticket_priority") or "").upper())
            status = "closed" if str(p.get("hs_pipeline_stage")) == CLOSED_TICKET_STAGE else "open"
        else:
            kind, subject_property, body_property = ENGAGEMENTS[stream]
            subject, body = p.get(subject_property) if subject_property else None, p.get(body_property)
            occurred, priority = parse_time(p.get("hs_timestamp")), None
            status = str(p["hs_task_status"]).lower() if p.get("hs_task_status") else None
        return [
            Activity(
                **self.common(str(data["id"]), updated, "record/0-5" if stream == "tickets" else "record"),
                kind=kind,
                occurred_at=occurred or updated,
                subject=subject or None,
                body=body or None,
                account_id=first_association(data, "companies"),
                contact_id=first_association(data, "contacts"),
                deal_id=first_association(data, "deals"),
                owner_id=p.get("hubspot_owner_id") or None,
                priority=priority,
                status=status,
            )
        ]


def business_of(
    stream: str,
    data: Mapping[str, Any],
    updated: datetime,
    *,
    source: str,
    portal: str | None,
    stage_labels: Mapping[str, str],
    options: Mapping[str, Any],
) -> Sequence[BusinessRecord]:
    mapper = _Mapper(source, portal)
    if stream == "owners":
        return mapper.owner(data)
    if stream == "pipelines":
        return mapper.pipeline(data)
    if stream == "companies":
        return mapper.company(data, updated, str(options.get("churn_property", "churn_date")))
    if stream == "contacts":
        return mapper.contact(data, updated, str(options.get("left_property", "left_company_date")))
    if stream == "deals":
        return mapper.deal(data, updated, stage_labels)
    return mapper.engagement(stream, data, updated)
