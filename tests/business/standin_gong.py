"""A Gong v2 stand-in serving a generated business's reps, calls and transcripts in Gong's documented shapes:
`/v2/users`, `/v2/calls/extensive` (metaData, parties with affiliation, interaction), `/v2/calls/transcript`
(speaker blocks of timed sentences); paging on `records.cursor`; Basic auth; a 429 with Retry-After now and then;
404 "No calls found" for an empty window."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.business.generator import Business
from tests.business.standin_kit import Faults, page_of

__all__ = ["ACCESS_KEY", "ACCESS_SECRET", "GongData", "gong_app"]

ACCESS_KEY, ACCESS_SECRET = "GONGKEYSTANDIN", "gong-5ecret-standin"
_PAGE = 10


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GongData:
    def __init__(self, business: Business) -> None:
        self.ids = {r.source_id: str(234_599_484_848_400 + n) for n, r in enumerate(business.reps)}
        self.users = [
            {"id": self.ids[r.source_id], "emailAddress": r.email, "created": _iso(r.updated_at), "active": r.active,
             "emailAliases": [], "trustedEmailAddress": r.email, "firstName": r.name.split(" ")[0],
             "lastName": " ".join(r.name.split(" ")[1:]), "title": r.title, "phoneNumber": None, "extension": None,
             "personalMeetingUrls": [], "settings": {}, "managerId": None, "meetingConsentPageUrl": None,
             "spokenLanguages": []}
            for r in business.reps
        ]  # fmt: skip
        self.calls: list[dict[str, Any]] = []
        self.transcripts: dict[str, dict[str, Any]] = {}
        speakers: dict[str, str] = {}
        for n, call in enumerate(business.calls):
            call_id = str(7_782_342_274_025_900_000 + n)
            self.ids[call.source_id] = call_id
            parties = []
            for p in call.participants:
                speakers[p["speaker_id"]] = str(6_432_345_678_555_000 + len(speakers))
                parties.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, p["speaker_id"]).int % 10**18),
                                "emailAddress": p["email"], "name": p["name"], "title": None,
                                "userId": self.ids.get(call.owner_id or "") if p["role"] == "rep" else None,
                                "speakerId": speakers[p["speaker_id"]], "context": [],
                                "affiliation": "Internal" if p["role"] == "rep" else "External",
                                "phoneNumber": None, "methods": ["Invitee"]})  # fmt: skip
            meta = {"id": call_id, "url": f"https://app.gong.io/call?id={call_id}", "title": call.title,
                    "scheduled": _iso(call.started_at), "started": _iso(call.started_at),
                    "duration": int(call.duration_s), "primaryUserId": self.ids.get(call.owner_id or ""),
                    "direction": "Conference", "system": "Zoom", "scope": "External", "media": "Video",
                    "language": "eng", "workspaceId": "623457276584334", "sdrDisposition": None,
                    "clientUniqueId": None, "customData": None, "purpose": None, "meetingUrl": None,
                    "isPrivate": False, "calendarEventId": None}  # fmt: skip
            self.calls.append({"metaData": meta, "parties": parties, "content": {"trackers": []},
                               "interaction": {"speakers": [], "interactionStats": []}})  # fmt: skip
            ordered = sorted(business.sentences_of(call.source_id), key=lambda s: s.position)
            self.transcripts[call_id] = {"callId": call_id, "transcript": [
                {"speakerId": speakers[speaker], "topic": None,
                 "sentences": [{"start": s.start_ms, "end": s.end_ms, "text": s.text} for s in run]}
                for speaker, run in ((k, list(g)) for k, g in groupby(ordered, key=lambda s: s.speaker_id))
            ]}  # fmt: skip


def _records(total: int, page: int, size: int, cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalRecords": total, "currentPageSize": size, "currentPageNumber": page}
    return body | ({"cursor": cursor} if cursor else {})


def _window(calls: list[dict[str, Any]], flt: dict[str, Any]) -> list[dict[str, Any]]:
    ids = set(flt.get("callIds") or [])
    start = flt.get("fromDateTime")
    out = [c for c in calls if (not ids or c["metaData"]["id"] in ids)]
    if start:
        since = datetime.fromisoformat(start.replace("Z", "+00:00"))
        out = [
            c for c in out if datetime.fromisoformat(c["metaData"]["started"].replace("Z", "+00:00")) >= since
        ]
    return out


def gong_app(data: GongData, faults: Faults) -> FastAPI:
    app = FastAPI()
    expected = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{ACCESS_SECRET}".encode()).decode()

    @app.middleware("http")
    async def gate(request: Request, call_next: Any) -> Response:
        request_id = uuid.uuid4().hex[:18]
        if request.headers.get("authorization") != expected:
            return JSONResponse({"requestId": request_id, "errors": ["Invalid access key or secret"]}, 401)
        if faults.throttle():
            return JSONResponse({"requestId": request_id, "errors": ["Too many requests"]}, 429,
                                headers={"Retry-After": "2"})  # fmt: skip
        return await call_next(request)  # type: ignore[no-any-return]

    def _paged(items: list[Any], cursor: str | None, key: str) -> Any:
        if not items:
            errors = ["No calls found corresponding to the provided filters"]
            return JSONResponse({"requestId": uuid.uuid4().hex[:18], "errors": errors}, 404)
        chunk, nxt = page_of(items, cursor, _PAGE)
        page = int(cursor or 0) // _PAGE
        return {"requestId": uuid.uuid4().hex[:18], "records": _records(len(items), page, len(chunk), nxt),
                key: chunk}  # fmt: skip

    @app.get("/v2/users")
    async def users(cursor: str | None = None) -> Any:
        return _paged(data.users, cursor, "users")

    @app.post("/v2/calls/extensive")
    async def extensive(request: Request) -> Any:
        body = await request.json()
        return _paged(_window(data.calls, body.get("filter") or {}), body.get("cursor"), "calls")

    @app.post("/v2/calls/transcript")
    async def transcript(request: Request) -> Any:
        body = await request.json()
        calls = _window(data.calls, body.get("filter") or {})
        found = [data.transcripts[c["metaData"]["id"]] for c in calls]
        return _paged(found, body.get("cursor"), "callTranscripts")

    return app
