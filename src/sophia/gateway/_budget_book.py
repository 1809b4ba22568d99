"""Budgets as people name them — a user's name, a key's prefix, or everyone — with what each has spent.

The one place the CLI (`sophia budgets`), the admin routes (`/v1/budgets`) and the dashboard read and change limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sophia.accounts import AccountService
from sophia.errors import InvalidInput
from sophia.gateway._budgets import GLOBAL_ID, BudgetGuard, Period, Scope
from sophia.gateway._usage import Labels


@dataclass(frozen=True, slots=True)
class BudgetTarget:
    """Who a budget applies to: the id the ledger stores (user id, key id, `*`) and a name to show."""

    scope: Scope
    scope_id: str
    label: str


@dataclass(frozen=True, slots=True)
class BudgetUse:
    scope: Scope
    scope_id: str
    who: str
    period: Period
    limit_usd: float
    spent_usd: float

    @property
    def percent(self) -> float:
        return 100.0 if self.limit_usd <= 0 else min(100.0, 100 * self.spent_usd / self.limit_usd)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "scope_id": self.scope_id,
            "who": self.who,
            "period": self.period.value,
            "limit_usd": self.limit_usd,
            "spent_usd": round(self.spent_usd, 10),
        }


def key_label(name: str, prefix: str) -> str:
    return f"{name} (sph_{prefix})"


async def account_labels(accounts: AccountService, user_id: int | None = None) -> Labels:
    """Names for user and key ids; only `user_id`'s keys when given."""
    users = {str(u.id): u.name for u in await accounts.list_users()}
    keys = {str(k.id): key_label(k.name, k.prefix) for k in await accounts.list_api_keys(user_id)}
    return Labels(users=users, keys=keys)


class BudgetBook:
    def __init__(self, guard: BudgetGuard, accounts: AccountService) -> None:
        self._guard = guard
        self._accounts = accounts

    async def target(self, scope: Scope, who: str | None) -> BudgetTarget:
        """`who` is a user name for `user`, a key prefix (`sph_xxxxxxxx`) for `key`, nothing for `global`."""
        if scope is Scope.GLOBAL:
            if who:
                raise InvalidInput("who: a global budget applies to everyone; name no user or key")
            return BudgetTarget(scope, GLOBAL_ID, "everyone")
        if not who:
            thing = "a user name" if scope is Scope.USER else "a key prefix (sph_xxxxxxxx)"
            raise InvalidInput(f"who: a {scope.value} budget needs {thing}")
        if scope is Scope.USER:
            user = await self._accounts.get_user(who)
            return BudgetTarget(scope, str(user.id), user.name)
        key = await self._accounts.get_api_key(who)
        return BudgetTarget(scope, str(key.id), key_label(key.name, key.prefix))

    async def set(
        self,
        scope: Scope,
        who: str | None,
        *,
        daily_usd: float | None = None,
        monthly_usd: float | None = None,
    ) -> list[BudgetUse]:
        """Set the daily and/or monthly limit; returns the target's budgets as they now stand."""
        limits = {Period.DAILY: daily_usd, Period.MONTHLY: monthly_usd}
        if all(value is None for value in limits.values()):
            raise InvalidInput("give a daily or a monthly limit in USD (or both)")
        target = await self.target(scope, who)
        for period, value in limits.items():
            if value is not None:
                await self._guard.set_limit(scope, target.scope_id, period, value)
        return [use for use in await self.uses() if (use.scope, use.scope_id) == (scope, target.scope_id)]

    async def clear(self, scope: Scope, who: str | None, period: Period | None = None) -> int:
        target = await self.target(scope, who)
        return await self._guard.clear_limit(scope, target.scope_id, period)

    async def uses(self, *, user_id: int | None = None) -> list[BudgetUse]:
        """Every limit with its spend; for `user_id`, only the global budget and that user's own and keys'."""
        labels = await account_labels(self._accounts, user_id)
        out = []
        for limit in await self._guard.list_limits():
            if user_id is not None and not _applies(limit.scope, limit.scope_id, str(user_id), labels):
                continue
            spent = await self._guard.spent(limit.scope, limit.scope_id, limit.period)
            out.append(
                BudgetUse(limit.scope, limit.scope_id, _who(limit.scope, limit.scope_id, labels), limit.period,
                          limit.limit_usd, spent)
            )  # fmt: skip
        return sorted(out, key=lambda u: (list(Scope).index(u.scope), u.who, u.period.value))


def _who(scope: Scope, scope_id: str, labels: Labels) -> str:
    if scope is Scope.GLOBAL:
        return "everyone"
    if scope is Scope.USER:
        return labels.users.get(scope_id, f"user {scope_id}")
    return labels.keys.get(scope_id, f"key {scope_id}")


def _applies(scope: Scope, scope_id: str, user_id: str, labels: Labels) -> bool:
    return (
        scope is Scope.GLOBAL
        or (scope is Scope.USER and scope_id == user_id)
        or (scope is Scope.KEY and scope_id in labels.keys)
    )


__all__ = ["BudgetBook", "BudgetTarget", "BudgetUse", "account_labels", "key_label"]
