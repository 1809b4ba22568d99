"""Budgets and usage from outside Python: `sophia budgets|usage` and `/v1/budgets`, `/v1/usage` on a real server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.server.conftest import COST_PER_REQUEST, Stack


def _error(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code", "param", "request_id"}
    error: dict[str, object] = body["error"]
    return error


def test_a_member_cannot_read_another_users_usage_or_touch_budgets(stack: Stack) -> None:
    alice_key = stack.keys["alice"]
    with stack.client("bob") as bob:
        refused = [
            bob.get("/v1/usage", params={"user": "alice"}),
            bob.get("/v1/usage", params={"all": "true"}),
            bob.get("/v1/usage", params={"key": alice_key[:12]}),
            bob.get("/v1/budgets"),
            bob.put("/v1/budgets/user/bob", json={"daily_usd": 1000}),
            bob.put("/v1/budgets/global", json={"monthly_usd": 1000}),
            bob.delete("/v1/budgets/global"),
        ]
        own = bob.get("/v1/usage", params={"user": "bob"})
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert all(_error(r)["type"] == "permission_error" for r in refused)
    assert own.status_code == 200 and own.json()["user"] == "bob"
    with stack.client("alice") as alice:
        assert "bob" not in alice.get("/v1/budgets").text  # the refused PUT wrote nothing


def test_usage_is_the_callers_own_unless_an_admin_asks_for_more(stack: Stack) -> None:
    before = stack.usage("alice", all="true")["total"]["requests"]
    assert [stack.chat("dave").status_code for _ in range(2)] == [200, 200]
    assert stack.chat("alice").status_code == 200
    stack.wait_for(
        lambda: stack.usage("alice", all="true")["total"]["requests"] == before + 3, "the three requests"
    )

    dave = stack.usage("dave")
    assert dave["user"] == "dave" and dave["total"]["requests"] == 2
    assert dave["total"]["cost_usd"] == pytest.approx(2 * COST_PER_REQUEST)
    assert dave["total"]["input_tokens"] == 2000 and dave["total"]["output_tokens"] == 1000
    assert [row["label"] for row in dave["by_user"]] == ["dave"]
    assert [(row["label"], row["requests"]) for row in dave["by_model"]] == [("good", 2)]
    assert dave["by_key"][0]["label"].startswith("default (sph_")
    today = datetime.now(UTC).date().isoformat()
    assert {row["id"]: row["requests"] for row in dave["by_day"]}[today] == 2

    everyone = stack.usage("alice", all="true")
    assert everyone["user"] is None and {"alice", "dave"} <= {row["label"] for row in everyone["by_user"]}
    assert stack.usage("alice", user="dave")["total"] == dave["total"]
    assert stack.usage("alice")["user"] == "alice"  # an admin's default is their own, too

    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert stack.usage("dave", since=tomorrow)["total"]["requests"] == 0
    with stack.client("dave") as client:
        backwards = client.get("/v1/usage", params={"since": today, "until": "2020-01-01"})
    with stack.client("alice") as client:
        unknown = client.get("/v1/usage", params={"user": "nobody"})
        timestamp = client.get("/v1/usage", params={"until": "0.5"})
    assert backwards.status_code == 400 and _error(backwards)["message"] == "until: must be after since"
    assert timestamp.status_code == 422 and _error(timestamp)["param"] == "until"
    assert unknown.status_code == 404 and _error(unknown)["code"] == "not_found"


def test_a_budget_set_by_the_cli_is_enforced_on_chat_completions(stack: Stack) -> None:
    table = stack.cli("budgets", "set", "user", "carol", "--daily", "0.001").stdout
    assert "carol" in table and "daily" in table and "$0.00" in table
    assert stack.chat("carol").status_code == 200  # nothing spent yet: this one goes through and costs $0.002
    stack.wait_for(lambda: stack.usage("carol")["total"]["requests"] == 1, "carol's request")

    refused = stack.chat("carol")
    assert refused.status_code == 429
    assert _error(refused)["code"] == "budget_exceeded" and _error(refused)["type"] == "rate_limit_error"
    assert "daily budget of $0.00 for user" in str(_error(refused)["message"])
    assert 1 <= int(refused.headers["retry-after"]) <= 86_400
    assert stack.chat("bob").status_code == 200  # another user is not held back

    listed = json.loads(stack.cli("budgets", "list", "--json").stdout)
    carol = next(row for row in listed if row["who"] == "carol")
    assert carol["period"] == "daily" and carol["limit_usd"] == 0.001
    assert carol["spent_usd"] == pytest.approx(COST_PER_REQUEST)

    assert "removed 1 limit(s)" in stack.cli("budgets", "clear", "user", "carol").stdout
    assert stack.chat("carol").status_code == 200


def test_admin_budget_routes_set_list_and_clear(stack: Stack) -> None:
    prefix = stack.keys["bob"][:12]  # sph_ and the eight-character prefix
    with stack.client("alice") as alice:
        put_global = alice.put("/v1/budgets/global", json={"monthly_usd": 500})
        put_key = alice.put(f"/v1/budgets/key/{prefix}", json={"daily_usd": 50, "monthly_usd": 400})
        listed = alice.get("/v1/budgets").json()["data"]
        empty = alice.put("/v1/budgets/user/bob", json={})
        negative = alice.put("/v1/budgets/user/bob", json={"daily_usd": -1})
        nobody = alice.put("/v1/budgets/user/nobody", json={"daily_usd": 1})
        cleared_daily = alice.delete(f"/v1/budgets/key/{prefix}", params={"period": "daily"})
        cleared_global = alice.delete("/v1/budgets/global")
        after = alice.get("/v1/budgets").json()["data"]
    assert put_global.status_code == 200
    assert [(b["scope"], b["who"], b["limit_usd"]) for b in put_global.json()["data"]] == [
        ("global", "everyone", 500.0)
    ]
    assert [(b["period"], b["limit_usd"]) for b in put_key.json()["data"]] == [
        ("daily", 50.0),
        ("monthly", 400.0),
    ]
    assert {(b["scope"], b["period"]) for b in listed} >= {
        ("global", "monthly"),
        ("key", "daily"),
        ("key", "monthly"),
    }
    assert empty.status_code == 400 and "daily or a monthly limit" in str(_error(empty)["message"])
    assert negative.status_code == 422 and _error(negative)["param"] == "daily_usd"
    assert nobody.status_code == 404
    assert cleared_daily.json() == {"removed": 1} and cleared_global.json() == {"removed": 1}
    assert [(b["scope"], b["period"]) for b in after if b["scope"] != "user"] == [("key", "monthly")]
    assert "budget_exceeded" not in stack.chat("bob").text  # $400 a month is far off


def test_sophia_usage_prints_tables_and_the_same_json_as_the_api(stack: Stack) -> None:
    assert stack.chat("dave").status_code == 200
    stack.wait_for(lambda: stack.usage("dave")["total"]["requests"] >= 1, "dave's request")
    printed = json.loads(stack.cli("usage", "--json", "--user", "dave").stdout)
    served = stack.usage("alice", user="dave")
    assert printed["total"] == served["total"] and printed["by_model"] == served["by_model"]
    table = stack.cli("usage", "--days", "7").stdout
    assert "By model" in table and "good" in table and "dave" in table and "By API key" in table
    unknown = stack.cli("usage", "--user", "nobody", check=False)
    assert unknown.returncode == 2 and "no user 'nobody'" in unknown.stderr
