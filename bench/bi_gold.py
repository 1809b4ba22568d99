"""Known answers to bench/data/bi_questions.json, computed from a generated business's planted truth.

`params(name, business)` gives a template's parameter values; `gold(name, business, value)` its answer:
{"numbers": [...], "names": [...]} the answer must state, or {"refuse": True}. `correct(gold, answer)` judges one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.business.generator import STAGES, Business

Gold = dict[str, Any]
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?")


def _open(business: Business, label: str) -> list[Any]:
    return [d for d in business.deals if not d.is_closed and d.stage_label == label]


def _account(business: Business, name: str) -> Any:
    return next(a for a in business.accounts if a.name == name)


def _rep(business: Business, name: str) -> str:
    return next(r.source_id for r in business.reps if r.name == name)


def _by_revenue(business: Business) -> list[Any]:
    return sorted(business.accounts, key=lambda a: (-(a.annual_revenue or 0.0), a.source_id))


PARAMS: dict[str, Callable[[Business], list[str]]] = {
    "none": lambda b: [""],
    "open_stages": lambda b: [label for _, label, p in STAGES if 0 < p < 1],
    "recent_months": lambda b: [m for m, v in sorted(b.truth.monthly_bookings.items()) if v][-6:],
    "top_revenue_accounts": lambda b: [str(a.name) for a in _by_revenue(b)],
    "p1_accounts": lambda b: [
        str(_account_by_id(b, t.account_id).name)
        for t in sorted(b.truth.churn.values(), key=lambda t: (-t.open_p1_tickets, t.account_id))
    ],
    "reps": lambda b: [r.name for r in b.reps],
    "lost_reasons": lambda b: sorted({d.lost_reason for d in b.deals if d.lost_reason}),
}


def _account_by_id(business: Business, account_id: str) -> Any:
    return next(a for a in business.accounts if a.source_id == account_id)


GOLD: dict[str, Callable[[Business, str], Gold]] = {
    "open_deals_in_stage": lambda b, v: {"numbers": [len(_open(b, v))]},
    "open_amount_in_stage": lambda b, v: {"numbers": [sum(d.amount or 0.0 for d in _open(b, v))]},
    "bookings_in_month": lambda b, v: {"numbers": [b.truth.monthly_bookings[v]]},
    "top_accounts_by_revenue": lambda b, v: {"names": [str(a.name) for a in _by_revenue(b)[:3]]},
    "revenue_of_account": lambda b, v: {"numbers": [_account(b, v).annual_revenue]},
    "churned_accounts": lambda b, v: {"numbers": [sum(t.churned for t in b.truth.churn.values())]},
    "open_p1_of_account": lambda b, v: {"numbers": [b.truth.churn[_account(b, v).source_id].open_p1_tickets]},
    "talk_ratio_of_rep": lambda b, v: {"numbers": [b.truth.reps[_rep(b, v)].talk_ratio]},
    "calls_of_rep": lambda b, v: {"numbers": [b.truth.reps[_rep(b, v)].calls]},
    "lost_with_reason": lambda b, v: {
        "numbers": [sum(1 for d in b.deals if d.is_closed and not d.is_won and d.lost_reason == v)]
    },
    "refuse": lambda b, v: {"refuse": True},
}


def questions(templates: list[dict[str, Any]], business: Business) -> list[dict[str, Any]]:
    """Every template filled with its parameter values, with its gold answer and the scripted model's SQL."""
    out = []
    for t in templates:
        for value in PARAMS[t["over"]](business)[: t["limit"]]:
            out.append(
                {
                    "id": f"{t['id']}:{value}" if value else t["id"],
                    "question": t["template"].format(value=value),
                    "sql": t["sql"].replace("{value}", value.replace("'", "''")) if t["sql"] else None,
                    "gold": GOLD[t["gold"]](business, value),
                }
            )
    return out


def correct(gold: Gold, answered: bool, text: str) -> bool:
    """Refusals must refuse; else every gold number is stated (to 0.5 %, or to 0.001 for shares, or as a
    percent) and every gold name is mentioned."""
    if gold.get("refuse"):
        return not answered
    if not answered:
        return False
    stated = [float(n.replace(",", "")) for n in _NUMBER.findall(text)]

    def said(g: float) -> bool:
        tolerance = 0.001 if abs(g) < 1 else 0.005 * abs(g)
        return any(abs(s - g) <= tolerance or (abs(g) < 1 and abs(s - 100 * g) <= 0.1) for s in stated)

    names_ok = all(re.search(rf"\b{re.escape(n)}\b", text, re.I) for n in gold.get("names", []))
    return names_ok and all(said(float(g)) for g in gold.get("numbers", []))
