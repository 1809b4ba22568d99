"""Interventions for at-risk accounts: a rule table keyed by the churn signal that drives an account's risk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["INTERVENTIONS", "interventions"]

INTERVENTIONS: dict[str, str] = {
    "open_p1_tickets": "escalate support: get the open P1 tickets owned by an engineer and agree a fix date",
    "champion_left": "multi-thread: find and brief a new champion, meet the economic buyer",
    "login_trend": "enablement session: logins are falling, run a training and adoption review",
    "login_level": "adoption plan: usage is low, agree success milestones with the account",
    "open_other_tickets": "support review: walk the account through its open tickets",
    "lost_deals_180d": "executive business review: recent deals were lost, revisit value and fit",
    "open_deals": "deal review: keep the open deals moving with a mutual close plan",
}
"""Signal → the action suggested when it is one of an account's top drivers."""


def interventions(drivers: Sequence[str]) -> list[dict[str, Any]]:
    """The suggested action for each driver (in the drivers' order), one per driver that has a rule."""
    return [{"driver": d, "action": INTERVENTIONS[d]} for d in drivers if d in INTERVENTIONS]
