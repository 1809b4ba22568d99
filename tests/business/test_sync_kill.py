"""The generated business at the issue's size (200 accounts, 1,500 contacts, 600 deals, …) through the HubSpot
stand-in: a real `sophia sync hubspot` is SIGKILLed mid-sync, rerun, and ends with every record exactly once."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.business.generator import generate
from tests.business.standins import hubspot_standin
from tests.serving import clean_env, sophia, sophia_process

pytestmark = pytest.mark.timeout(1200)  # thousands of records, twice, on a loaded machine


def _one(home: Path, sql: str) -> int:
    with sqlite3.connect(home / "sophia.db", timeout=30) as db:
        return int(db.execute(sql).fetchone()[0])


def _counts(home: Path) -> dict[str, int]:
    ns = "namespace = 'connector:hubspot'"
    return {
        "memories": _one(home, f"SELECT count(*) FROM memories WHERE {ns} AND valid_until IS NULL"),
        "records": _one(
            home,
            f"SELECT count(DISTINCT json_extract(metadata, '$.stream') || ':' || json_extract(metadata, '$.id'))"
            f" FROM memories WHERE {ns}",
        ),
        "versions": _one(home, f"SELECT count(*) FROM memories WHERE {ns}"),
        "synced": _one(home, "SELECT count(*) FROM sync_records WHERE connector = 'hubspot'"),
        "accounts": _one(home, "SELECT count(*) FROM biz_accounts WHERE source = 'hubspot'"),
        "contacts": _one(home, "SELECT count(*) FROM biz_contacts WHERE source = 'hubspot'"),
        "deals": _one(home, "SELECT count(*) FROM biz_deals WHERE source = 'hubspot'"),
    }


def _synced_so_far(home: Path) -> int:
    try:
        return _one(home, "SELECT count(*) FROM sync_records WHERE connector = 'hubspot'")
    except sqlite3.OperationalError:  # the database or its tables are not there yet
        return 0


def test_a_killed_sync_of_the_whole_business_resumes_and_duplicates_nothing(tmp_path: Path) -> None:
    business = generate(23)
    home = tmp_path / "home"
    home.mkdir()
    with hubspot_standin(business, throttle_every=40, token_uses=200) as service:
        creds = ", ".join(f'{k} = "env:HS_{k.upper()}"' for k in service.credentials)
        (home / "sophia.toml").write_text(
            f'[connectors.hubspot]\nbase_url = "{service.url}"\ncredentials = {{ {creds} }}\n'
        )
        env = clean_env(home, COLUMNS="200", **{f"HS_{k.upper()}": v for k, v in service.credentials.items()})
        with sophia_process(env, home / "sync.log", "sync", "hubspot", "--embedder", "hashing") as process:
            deadline = time.monotonic() + 600
            while _synced_so_far(home) < 500:  # well into the sync: companies done, contacts under way
                assert process.poll() is None, (home / "sync.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the sync never got going"
                time.sleep(0.2)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
        killed = _counts(home)
        assert (
            killed["memories"] == killed["records"] == killed["synced"] >= 500
        )  # each page whole, or not at all

        sophia(env, "sync", "hubspot", "--embedder", "hashing")
        done = _counts(home)
        again = sophia(env, "sync", "hubspot", "--embedder", "hashing")
    assert done["synced"] > killed["synced"]
    assert done["memories"] == done["records"] == done["versions"] == done["synced"]  # nothing twice
    assert (
        (done["accounts"], done["contacts"], done["deals"])
        == (
            len(business.accounts),
            len(business.contacts),
            len(business.deals),
        )
        == (200, 1500, 600)
    )
    assert done["memories"] >= len(business.accounts) + len(business.contacts) + len(business.deals)
    assert "0 written" in again.stdout and _counts(home) == done
