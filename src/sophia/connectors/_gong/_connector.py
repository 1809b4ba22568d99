"""Gong API v2 (api.gong.io, or your region's host as base_url): users, calls with parties, trackers and
interaction stats (`/v2/calls/extensive`), speaker-attributed timed transcripts (`/v2/calls/transcript`).

Auth: Basic with an access key and its secret (Company settings → Ecosystem → API). Gong allows 3 calls a second
and 10,000 a day and answers a 429 with Retry-After. Listings page on `records.cursor`. A call window with no
calls is a 404 in Gong ("No calls found corresponding to the provided filters"): an empty page here.
Calls reach CRM accounts by their customers' emails (`BusinessStore.linked("calls")`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from sophia.business import CallSentence
from sophia.connectors._auth import Auth, BasicAuth, Resolve
from sophia.connectors._cursor import decode_cursor, encode_cursor, iso_z, parse_time
from sophia.connectors._errors import ConnectorInvalid, ConnectorNotFound
from sophia.connectors._gong._mapping import business_of, participants
from sophia.connectors._model import CheckResult, Connector, Credential, action
from sophia.connectors._sync import SyncPage, SyncRecord
from sophia.secrets import SecretResolver

__all__ = ["Gong"]

_EXPOSED = {
    "parties": True,
    "content": {"trackers": True},
    "interaction": {"speakers": True, "interactionStats": True},
}
_STREAMS = ("users", "calls", "transcripts")


class Gong(Connector):
    kind = "gong"
    title = "Gong"
    group = "business"
    default_base_url = "https://api.gong.io"
    docs_url = "https://gong.app.gong.io/settings/api/documentation"
    default_requests_per_second = 3.0
    credentials = (
        Credential("access_key", "the API access key (Company settings → Ecosystem → API)"),
        Credential("access_key_secret", "the access key's secret"),
    )

    def build_auth(self, resolve: Resolve, secrets: SecretResolver) -> Auth:
        return BasicAuth(resolve, "access_key", "access_key_secret")

    async def check(self) -> CheckResult:
        body = await self.http.json("GET", "/v2/users")
        return CheckResult(
            True, "access key accepted", {"users": (body.get("records") or {}).get("totalRecords")}
        )

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A read over POST; Gong's 404 for "no calls in this window" is an empty answer."""
        try:
            found: dict[str, Any] = await self.http.json("POST", path, json=body, reads=True)
        except ConnectorNotFound:
            return {}
        return found

    async def _extensive(
        self, window: dict[str, Any], cursor: str | None, *, parties_only: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "filter": window,
            "contentSelector": {"exposedFields": {"parties": True} if parties_only else _EXPOSED},
        }
        if cursor:
            body["cursor"] = cursor
        return await self._post("/v2/calls/extensive", body)

    # -- sync ---------------------------------------------------------------------------------------------

    def sync_streams(self) -> Sequence[str]:
        return _STREAMS

    def _window(self, start: str | None) -> dict[str, Any]:
        return {"fromDateTime": start} if start else {}

    async def sync_page(self, stream: str, cursor: str | None, *, since: datetime | None) -> SyncPage:
        """Calls have no modified time in Gong: an incremental sync re-reads calls started since the last sync
        minus `options.lookback_days` (default 3), for calls processed late."""
        if stream not in _STREAMS:
            raise ConnectorInvalid(f"Gong: no stream {stream[:40]!r}; one of {', '.join(_STREAMS)}")
        state = decode_cursor(cursor, "Gong")
        lookback = timedelta(days=float(self.options.get("lookback_days", 3)))
        start = state.get("since") or (iso_z(since - lookback) if since else None)
        if stream == "users":
            body = await self.http.json(
                "GET", "/v2/users", params={"cursor": state["page"]} if "page" in state else None
            )
            items, ids = body.get("users", []), [str(u["id"]) for u in body.get("users", [])]
            records = [
                self._record(stream, i, item, parse_time(item.get("created")))
                for i, item in zip(ids, items, strict=True)
            ]
        elif stream == "calls":
            body = await self._extensive(self._window(start), state.get("page"))
            records = [self._call_record(item) for item in body.get("calls", [])]
        else:
            query: dict[str, Any] = {"filter": self._window(start)}
            if "page" in state:
                query["cursor"] = state["page"]
            body = await self._post("/v2/calls/transcript", query)
            records = await self._transcript_records(body.get("callTranscripts", []))
        nxt = (body.get("records") or {}).get("cursor")
        if not nxt:
            return SyncPage(records, None, True)
        return SyncPage(records, encode_cursor(page=nxt, since=start), False)

    def _record(self, stream: str, record_id: str, data: dict[str, Any], when: datetime | None) -> SyncRecord:
        title = str(
            data.get("title") or " ".join(x for x in (data.get("firstName"), data.get("lastName")) if x)
        )
        return SyncRecord(stream=stream, id=record_id, updated_at=when or datetime.now(UTC), title=title[:200],
                          text=f"Gong user {title} <{data.get('emailAddress')}>", url=None, data=data)  # fmt: skip

    def _call_record(self, item: dict[str, Any]) -> SyncRecord:
        meta = item.get("metaData") or {}
        people = ", ".join(f"{p['name']} ({p['role']})" for p in participants(item.get("parties") or []))
        started = parse_time(meta.get("started"))
        return SyncRecord(
            stream="calls",
            id=str(meta["id"]),
            updated_at=started or datetime.now(UTC),
            title=str(meta.get("title") or meta["id"])[:200],
            text=f"Gong call {meta.get('title')} on {meta.get('started')}, {meta.get('duration')} s, with {people}",
            url=meta.get("url"),
            data=item,
        )

    async def _transcript_records(self, transcripts: list[dict[str, Any]]) -> list[SyncRecord]:
        """Transcripts carry speaker ids only: the calls' parties are fetched alongside to know who is who."""
        ids = [str(t["callId"]) for t in transcripts]
        parties: dict[str, list[dict[str, Any]]] = {}
        page: str | None = None
        while ids:
            body = await self._extensive({"callIds": ids}, page, parties_only=True)
            for call in body.get("calls", []):
                parties[str(call["metaData"]["id"])] = call.get("parties") or []
            page = (body.get("records") or {}).get("cursor")
            if not page:
                break
        records = []
        for item in transcripts:
            call_id = str(item["callId"])
            data = {**item, "parties": parties.get(call_id, [])}
            sentences = [s for block in item.get("transcript") or [] for s in block.get("sentences") or []]
            text = " ".join(str(s.get("text")) for s in sentences)
            when = parse_time(item.get("started")) or datetime.now(UTC).replace(microsecond=0)
            records.append(
                SyncRecord(
                    stream="transcripts",
                    id=call_id,
                    updated_at=when,
                    title=f"Transcript of call {call_id}",
                    text=text[:20_000],
                    url=None,
                    data=data,
                )
            )
        return records

    async def sync_live_ids(self, stream: str) -> set[str] | None:
        return None

    def to_business(self, record: SyncRecord) -> Sequence[object]:
        return business_of(record.stream, record.data, record.updated_at, source=self.name)

    # -- reads ----------------------------------------------------------------------------------------------

    @action("calls.list")
    async def calls(
        self,
        from_time: Annotated[str | None, "Calls started at or after this (ISO 8601)."] = None,
        to_time: Annotated[str | None, "Calls started before this (ISO 8601)."] = None,
        limit: Annotated[int, "How many calls at most."] = 100,
    ) -> list[dict[str, Any]]:
        """Calls with their parties (who is ours, who is the customer), trackers and talk stats."""
        window = {k: v for k, v in (("fromDateTime", from_time), ("toDateTime", to_time)) if v}
        found: list[dict[str, Any]] = []
        page: str | None = None
        while len(found) < limit:
            body = await self._extensive(window, page)
            found.extend(dict(c) for c in body.get("calls", []))
            page = (body.get("records") or {}).get("cursor")
            if not page:
                break
        return found[:limit]

    @action("calls.transcript")
    async def transcript(self, call_id: Annotated[str, "The call's id."]) -> list[dict[str, Any]]:
        """A call's transcript: one entry per sentence with speaker, role (rep/customer), start/end ms, text."""
        body = await self._post("/v2/calls/transcript", {"filter": {"callIds": [call_id]}})
        records = await self._transcript_records(body.get("callTranscripts", []))
        if not records:
            raise ConnectorNotFound(f"Gong has no transcript for call {call_id[:40]}", service=self.title)
        out: list[dict[str, Any]] = []
        for entity in business_of("transcripts", records[0].data, records[0].updated_at, source=self.name):
            if isinstance(entity, CallSentence):
                out.append({"speaker_id": entity.speaker_id, "role": entity.speaker_role,
                            "start_ms": entity.start_ms, "end_ms": entity.end_ms, "text": entity.text})  # fmt: skip
        return out
