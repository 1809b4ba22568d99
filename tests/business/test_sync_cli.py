"""`sophia sync hubspot` as a user runs it (a real process) pulls the stand-in business into memory and the
business tables; a second run writes nothing new."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.business.generator import generate
from tests.business.standins import hubspot_standin
from tests.serving import clean_env, sophia


def test_sophia_sync_hubspot_fills_memory_and_the_business_tables(tmp_path: Path) -> None:
    business = generate(41, "small")
    home = tmp_path / "home"
    home.mkdir()
    with hubspot_standin(business, throttle_every=25, token_uses=30) as service:
        creds = ", ".join(f'{k} = "env:HS_{k.upper()}"' for k in service.credentials)
        (home / "sophia.toml").write_text(
            f'[connectors.hubspot]\nbase_url = "{service.url}"\ncredentials = {{ {creds} }}\n'
        )
        env = clean_env(home, COLUMNS="200", **{f"HS_{k.upper()}": v for k, v in service.credentials.items()})
        sophia(env, "sync", "hubspot", "--embedder", "hashing")
        again = sophia(env, "sync", "hubspot", "--embedder", "hashing")
    with sqlite3.connect(home / "sophia.db") as db:
        one = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
        accounts = one("SELECT count(*) FROM biz_accounts WHERE source = 'hubspot'")
        deals = one("SELECT count(*) FROM biz_deals WHERE source = 'hubspot'")
        memories = one("SELECT count(*) FROM memories WHERE namespace = 'connector:hubspot'")
    assert (accounts, deals) == (len(business.accounts), len(business.deals))
    assert memories >= len(business.accounts) + len(business.contacts) + len(business.deals)
    assert "0 written" in again.stdout
    assert service.traffic.throttled >= 1
