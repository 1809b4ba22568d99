"""Cross-source joins: a call (Gong) or conversation (Intercom) reaches a CRM account by its people's emails.

A participant's exact email on a CRM contact wins; otherwise the email's domain against the account's domain.
Free-mail domains never match an account by domain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FREE_MAIL_DOMAINS", "AccountIndex", "AccountMatch", "email_domain", "normalise_domain"]

FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
     "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.com", "yandex.com"}
)  # fmt: skip


def normalise_domain(domain: str | None) -> str | None:
    """`https://www.Acme.com/about` → `acme.com`; None for nothing usable."""
    if not domain:
        return None
    text = domain.strip().lower()
    text = text.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.")
    return text or None


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return normalise_domain(email.rsplit("@", 1)[1])


@dataclass(frozen=True, slots=True)
class AccountMatch:
    source: str
    account_id: str
    name: str
    matched_by: str
    """"contact_email" or "domain"."""


class AccountIndex:
    """Accounts and contacts of one or more CRM sources, indexed by contact email and by account domain."""

    def __init__(self, accounts: Iterable[Mapping[str, Any]], contacts: Iterable[Mapping[str, Any]]) -> None:
        self._accounts: dict[tuple[str, str], str] = {}
        self._by_domain: dict[str, tuple[str, str]] = {}
        for account in sorted(accounts, key=lambda a: (a["source"], a["source_id"])):
            key = (account["source"], account["source_id"])
            self._accounts[key] = account["name"]
            domain = normalise_domain(account.get("domain"))
            if domain and domain not in FREE_MAIL_DOMAINS:
                self._by_domain.setdefault(domain, key)
        self._by_email: dict[str, tuple[str, str]] = {}
        for contact in contacts:
            email, account_id = (contact.get("email") or "").strip().lower(), contact.get("account_id")
            key = (contact["source"], str(account_id or ""))
            if email and key in self._accounts:
                self._by_email.setdefault(email, key)

    def _vote(self, keys: list[tuple[str, str]], matched_by: str) -> AccountMatch | None:
        if not keys:
            return None
        counts = Counter(keys)
        best = max(sorted(counts), key=lambda k: counts[k])
        return AccountMatch(best[0], best[1], self._accounts[best], matched_by)

    def match(self, emails: Iterable[str | None]) -> AccountMatch | None:
        """The account most of these emails belong to, by contact email first and then by domain."""
        addresses = [e.strip().lower() for e in emails if e]
        by_email = self._vote([self._by_email[a] for a in addresses if a in self._by_email], "contact_email")
        if by_email is not None:
            return by_email
        domains = [email_domain(a) for a in addresses]
        return self._vote([self._by_domain[d] for d in domains if d in self._by_domain], "domain")
