"""A scripted model for the BI surfaces: it writes known SQL for known questions and words the answer from the
result rows it is shown (so every number it states is in the result); with tools offered it calls `bi.ask`."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.agents.conftest import call, tool_messages

AT_RISK = "Which accounts are at risk and why?"
BOOKINGS = "Bookings by month?"
WON = "How many won deals do we have?"

_SQL = {
    AT_RISK: (
        "SELECT a.source, a.source_id, a.source_url, a.name, count(*) AS tickets FROM accounts a "
        "JOIN activities t ON t.account_id = a.source_id WHERE t.kind = 'ticket' AND a.churned_at IS NULL "
        "GROUP BY ALL ORDER BY tickets DESC, a.source_id LIMIT 3"
    ),
    BOOKINGS: (
        "SELECT strftime(close_date, '%Y-%m') AS month, sum(amount) AS bookings FROM deals "
        "WHERE is_won GROUP BY 1 ORDER BY 1"
    ),
    WON: "SELECT count(*) AS won FROM deals WHERE is_won",
}


def _worded(user: str) -> str:
    rows = json.loads(user[user.index("Result rows: ") + len("Result rows: ") :])
    first = rows[0]
    if "tickets" in first:
        named = ", ".join(f"{r['name']} ({r['tickets']} tickets)" for r in rows)
        return json.dumps({"answer": f"Most support tickets: {named}."})
    if "bookings" in first:
        best = max(rows, key=lambda r: r["bookings"])
        return json.dumps({"answer": f"The best month was {best['month']}."})
    return json.dumps({"answer": f"{first['won']} deals were won."})


ADVICE = "Keep closing on a dated next step, as here."
_MOMENT = re.compile(r"^- (\S+) (\d{2,}:\d{2}) ", re.M)


def _advice(user: str) -> str:
    """One item citing the first moment offered, and one citing a moment that is not there (to be dropped)."""
    call_id, at = _MOMENT.findall(user)[0]
    items = [
        {"text": ADVICE, "call_id": call_id, "at": at},
        {"text": "Talk less.", "call_id": call_id, "at": "99:59"},
    ]
    return json.dumps({"advice": items})


def bi_script(body: dict[str, Any]) -> Any:
    messages = body["messages"]
    system = str(messages[0]["content"]) if messages[0]["role"] == "system" else ""
    user = str(messages[-1]["content"])
    if system.startswith("You answer business questions"):
        return json.dumps({"sql": _SQL.get(user)})
    if system.startswith("Write the answer"):
        return _worded(user)
    if system.startswith("You are a sales coach"):
        return _advice(user)
    if body.get("tools"):
        done = tool_messages(body)
        if not done:
            return call("bi.ask", question=AT_RISK)
        cited = sorted(set(re.findall(r'"source_id": "([^"]+)"', done[0])))
        return "At risk, from the records: " + ", ".join(cited)
    found = re.search(r"At risk, from the records: [^\n]*", json.dumps(messages))
    return found.group() if found else "I have no data."


NEXT_STEP = "Next step: I will send over the proposal by Friday."


def with_next_steps(records: list[Any]) -> list[Any]:
    """The business with each call's last rep sentence a next step agreed (the generator's transcripts carry no
    coaching phrases), so the coach has timestamped quotes to show."""
    from dataclasses import replace

    from sophia.business import CallSentence

    last: dict[str, int] = {}
    for record in records:
        if isinstance(record, CallSentence) and record.speaker_role == "rep":
            last[record.call_id] = max(last.get(record.call_id, -1), record.position)
    return [
        replace(r, text=NEXT_STEP) if isinstance(r, CallSentence) and r.position == last[r.call_id] else r
        for r in records
    ]
