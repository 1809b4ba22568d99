"""Gong v2 users, calls (extensive) and transcripts → reps, calls and timed call sentences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sophia.business import BusinessRecord, Call, CallSentence, Rep
from sophia.connectors._cursor import parse_time

__all__ = ["business_of", "participants"]


def participants(parties: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Gong parties as the unified model's participants: "rep" for our company's people (affiliation Internal)."""
    return [
        {
            "speaker_id": str(p["speakerId"]) if p.get("speakerId") else None,
            "name": p.get("name"),
            "email": p.get("emailAddress"),
            "role": "rep" if p.get("affiliation") == "Internal" else "customer",
            "user_id": p.get("userId"),
            "title": p.get("title"),
        }
        for p in parties
    ]


def _common(source: str, record_id: str, updated: datetime, url: str | None) -> dict[str, Any]:
    return {"source": source, "source_kind": "gong", "source_id": record_id, "source_url": url,
            "updated_at": updated}  # fmt: skip


def _user(source: str, d: Mapping[str, Any], updated: datetime) -> list[BusinessRecord]:
    name = " ".join(x for x in (d.get("firstName"), d.get("lastName")) if x) or str(d.get("emailAddress"))
    return [Rep(**_common(source, str(d["id"]), updated, None), name=name, email=d.get("emailAddress"),
                title=d.get("title"), active=bool(d.get("active", True)))]  # fmt: skip


def _call(source: str, d: Mapping[str, Any], updated: datetime) -> list[BusinessRecord]:
    meta = d.get("metaData") or {}
    interaction = d.get("interaction") or {}
    trackers = {str(t.get("name")): t.get("count") for t in (d.get("content") or {}).get("trackers") or []}
    stats = {str(s.get("name")): s.get("value") for s in interaction.get("interactionStats") or []}
    talk = {str(s.get("id")): s.get("talkTime") for s in interaction.get("speakers") or []}
    if talk:
        stats["talk_time_by_party"] = talk
    return [
        Call(
            **_common(source, str(meta["id"]), updated, meta.get("url")),
            title=str(meta.get("title") or f"Call {meta['id']}"),
            started_at=parse_time(meta.get("started")) or updated,
            duration_s=float(meta.get("duration") or 0),
            owner_id=str(meta["primaryUserId"]) if meta.get("primaryUserId") else None,
            participants=participants(d.get("parties") or []),
            stats=stats,
            trackers=trackers,
        )
    ]


def _transcript(source: str, d: Mapping[str, Any], updated: datetime) -> list[BusinessRecord]:
    call_id = str(d["callId"])
    roles = {p["speaker_id"]: p["role"] for p in participants(d.get("parties") or []) if p["speaker_id"]}
    out: list[BusinessRecord] = []
    for block in d.get("transcript") or []:
        speaker = str(block.get("speakerId"))
        for sentence in block.get("sentences") or []:
            out.append(
                CallSentence(
                    **_common(source, f"{call_id}:{len(out)}", updated, None),
                    call_id=call_id,
                    position=len(out),
                    speaker_id=speaker,
                    speaker_role=roles.get(speaker, "customer"),
                    start_ms=int(sentence["start"]),
                    end_ms=int(sentence["end"]),
                    text=str(sentence.get("text") or ""),
                )
            )
    return out


def business_of(
    stream: str, data: Mapping[str, Any], updated: datetime, *, source: str
) -> Sequence[BusinessRecord]:
    if stream == "users":
        return _user(source, data, updated)
    if stream == "calls":
        return _call(source, data, updated)
    if stream == "transcripts":
        return _transcript(source, data, updated)
    return []
