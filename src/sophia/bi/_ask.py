"""`sophia bi ask`: a question → the model writes one DuckDB SELECT over the business tables → code checks and
runs it read-only over in-memory frames → the model words the answer from the result → a checker keeps the
answer only if every number in it appears in the query result; cited records are the result's rows that carry
`source_id`/`source_url`. A two-column series also gets a Vega-Lite spec.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from sophia.errors import SophiaError

__all__ = [
    "CANNOT_ANSWER",
    "Answer",
    "Step",
    "UnsafeQuery",
    "ask",
    "check_select",
    "direct_step",
    "gateway_model",
    "run_select",
    "untraceable_numbers",
]

Row = Mapping[str, Any]
Ask = Callable[[str, str], Awaitable[str]]
Step = Callable[[str, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""`step(name, body)` runs `body` once: directly, or as a checkpointed step of a durable run."""
CANNOT_ANSWER = "cannot answer from the data"
MAX_ROWS = 200
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


class UnsafeQuery(SophiaError):
    """The model's SQL is not a single read-only SELECT."""

    code = "unsafe_query"


def check_select(sql: str) -> str:
    """The one SELECT statement in `sql`, or UnsafeQuery."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise UnsafeQuery(f"the query does not parse: {error}") from error
    if len(statements) != 1:
        raise UnsafeQuery(f"one statement expected, got {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise UnsafeQuery(f"only SELECT is allowed, not {statements[0].type.name}")
    return str(statements[0].query)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    return value


def run_select(frames: Mapping[str, Sequence[Row]], sql: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Run a checked SELECT over the frames (one table per kind) in a DuckDB that cannot touch files or the net."""
    import duckdb
    import pandas as pd

    query = check_select(sql)
    connection = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        for kind, records in frames.items():
            if not records:
                continue  # an empty kind has no columns to register; a query naming it fails as unknown
            frame = pd.DataFrame([{k: _plain(v) for k, v in row.items()} for row in records])
            connection.register(kind, frame)
        connection.execute("SET lock_configuration = true")
        try:
            cursor = connection.execute(query)
        except duckdb.Error as error:
            raise UnsafeQuery(f"the query failed: {error}") from error
        columns = [d[0] for d in cursor.description or []]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchmany(MAX_ROWS)]
    finally:
        connection.close()
    return columns, rows


def _numbers(text: str) -> list[float]:
    return [float(m.replace(",", "")) for m in _NUMBER.findall(text)]


def _result_numbers(rows: Sequence[Row]) -> set[float]:
    found: set[float] = set()
    for row in rows:
        for value in row.values():
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float | Decimal):
                found.add(float(value))
            elif value is not None:
                found.update(_numbers(str(value)))
    return found


def _traceable(number: float, known: set[float]) -> bool:
    return any(
        abs(number - k) <= max(1e-9, 0.005 * abs(k)) or (number.is_integer() and round(k) == number)
        for k in known
    ) or any(abs(number - round(100 * k, 1)) < 0.051 for k in known if abs(k) <= 1)


def untraceable_numbers(answer: str, rows: Sequence[Row], question: str = "") -> list[float]:
    """Numbers in `answer` found neither in the result rows (rounded as people write them, or as a percent of
    a share) nor in the question."""
    known = _result_numbers(rows) | set(_numbers(question))
    return [n for n in _numbers(answer) if not _traceable(n, known)]


def _chart(columns: Sequence[str], rows: Sequence[Row]) -> dict[str, Any] | None:
    if len(columns) != 2 or len(rows) < 2:
        return None
    x, y = columns
    if not all(isinstance(r[y], int | float | Decimal) and not isinstance(r[y], bool) for r in rows):
        return None
    temporal = all(isinstance(r[x], date | datetime) for r in rows) or bool(
        all(
            isinstance(r[x], str) and re.fullmatch(r"\d{4}-\d{2}(-\d{2}([T ][\d:.+]+)?)?", r[x]) for r in rows
        )
    )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": [{x: str(r[x]), y: float(r[y])} for r in rows]},
        "mark": "line" if temporal else "bar",
        "encoding": {
            "x": {"field": x, "type": "temporal" if temporal else "nominal"},
            "y": {"field": y, "type": "quantitative"},
        },
    }


@dataclass
class Answer:
    question: str
    text: str
    answered: bool
    sql: str | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    refused: str | None = None

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(orjson.dumps(self.__dict__, default=str))
        return data


def _schema(frames: Mapping[str, Sequence[Row]]) -> str:
    lines = []
    for kind, rows in frames.items():
        columns = ", ".join(rows[0].keys()) if rows else "(empty)"
        lines.append(f"{kind}({columns})")
    return "\n".join(lines)


def _object(text: str) -> dict[str, Any]:
    match = re.search(r"\{.*\}", text, re.S)
    try:
        data = orjson.loads(match.group()) if match else {}
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _citations(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [
        {"source": r.get("source"), "source_id": r["source_id"], "source_url": r.get("source_url")}
        for r in rows
        if r.get("source_id") is not None
    ]


async def direct_step(name: str, body: Callable[[], Awaitable[Any]]) -> Any:
    return await body()


async def _query(frames: Mapping[str, Sequence[Row]], sql: str) -> dict[str, Any]:
    try:
        columns, rows = await asyncio.to_thread(run_select, frames, sql)
    except UnsafeQuery as error:
        return {"error": str(error)}
    return {"columns": columns, "rows": rows}


async def ask(
    question: str, frames: Mapping[str, Sequence[Row]], model: Ask, *, step: Step = direct_step
) -> Answer:
    """Answer `question` from `frames` with `model(system, user) -> text`; never a number the data lacks.

    The two model calls and the query each go through `step`, so a durable run replays them, not repeats."""
    system = (
        "You answer business questions with DuckDB SQL over these tables (one per line, with columns):\n"
        f"{_schema(frames)}\n"
        'Answer with JSON only: {"sql": "one SELECT"} — include source_id and source_url columns when the '
        'answer is about specific records — or {"sql": null} when the tables cannot answer the question.'
    )
    planned = _object(await step("model:plan", lambda: model(system, question)))
    sql = planned.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        return Answer(question, CANNOT_ANSWER, False, refused="the model found no query for it")
    found = await step("query", lambda: _query(frames, sql))
    if "error" in found:
        return Answer(question, CANNOT_ANSWER, False, sql=sql, refused=str(found["error"]))
    columns, rows = list(found["columns"]), list(found["rows"])
    if not rows:
        return Answer(
            question, CANNOT_ANSWER, False, sql=sql, columns=columns, refused="the query found no rows"
        )
    result = orjson.dumps(rows, default=str).decode()
    worded = _object(
        await step(
            "model:answer",
            lambda: model(
                'Write the answer from the query result only. Answer with JSON only: {"answer": "one or two '
                'sentences"}. Use only numbers that appear in the result.',
                f"Question: {question}\nSQL: {sql}\nResult rows: {result}",
            ),
        )
    ).get("answer")
    text = worded if isinstance(worded, str) and worded.strip() else ""
    answer = Answer(question, text, True, sql, columns, rows, _citations(rows), _chart(columns, rows))
    bad = untraceable_numbers(text, rows, question) if text else []
    if not text or bad:
        answer.text, answer.answered = CANNOT_ANSWER, False
        answer.refused = f"numbers not in the result: {bad}" if bad else "the model gave no answer"
    return answer


def gateway_model(gateway: Any, caller: Any, model: str = "auto") -> Ask:
    """`ask`'s model through the gateway (chat completions, temperature 0)."""

    async def call(system: str, user: str) -> str:
        body = {
            "model": model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
            "max_tokens": 600,
        }
        response, _ = await gateway.complete(body, caller, f"bi-{uuid.uuid4().hex[:12]}")
        choices = response.get("choices") or [{}]
        return str((choices[0].get("message") or {}).get("content") or "")

    return call
