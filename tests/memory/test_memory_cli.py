"""`sophia memory ...` through typer's runner: add, search, show, forget, stats, export/import round trip."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sophia.cli._memory import app
from sophia.store import upgrade

runner = CliRunner()


@pytest.fixture
def home(_isolated_sophia_home: Path) -> Path:
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{(_isolated_sophia_home / 'sophia.db').resolve()}"))
    return _isolated_sophia_home


def sophia(*args: str) -> str:
    result = runner.invoke(app, ["--embedder", "hashing", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_add_search_show_forget_round_trip(home: Path) -> None:
    memory_id = sophia("add", "the deploy key lives in the vault", "-n", "project:web").strip()
    assert memory_id in sophia("search", "deploy key vault", "-n", "project:web")
    shown = json.loads(sophia("show", memory_id))
    assert shown["content"] == "the deploy key lives in the vault" and shown["namespace"] == "project:web"
    assert "forgot 1" in sophia("forget", memory_id, "--hard")
    assert json.loads(sophia("stats"))["memories"] == 0


def test_export_then_import_restores_every_memory(home: Path, tmp_path: Path) -> None:
    for i in range(3):
        sophia("add", f"note {i} about exports", "-n", "user:7", "--kind", "outcome")
    target = tmp_path / "memories.jsonl"
    assert "exported 3" in sophia("export", str(target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(r["content"] for r in lines) == [
        "note 0 about exports",
        "note 1 about exports",
        "note 2 about exports",
    ]
    assert "imported 3" in sophia("import", str(target))
    stats = json.loads(sophia("stats"))
    assert stats["memories"] == 6 and stats["by_kind"] == {"outcome": 6}
    assert "reindexed" in sophia("reindex")


def test_bad_input_exits_with_a_clear_error_and_writes_nothing(home: Path, tmp_path: Path) -> None:
    bad = runner.invoke(app, ["--embedder", "hashing", "add", "x", "--kind", "gossip"])
    assert bad.exit_code == 2 and "unknown memory kind" in bad.output
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"content": "ok", "namespace": "global"}\nnot json\n')
    refused = runner.invoke(app, ["--embedder", "hashing", "import", str(broken)])
    assert refused.exit_code == 2 and "line 2" in refused.output
    assert json.loads(sophia("stats"))["memories"] == 0


def test_graph_shows_the_owner_change_with_its_history(home: Path) -> None:
    sophia("add", "Dana owns the Acme account.", "-n", "project:sales")
    sophia("add", "Priya owns the Acme account now.", "-n", "project:sales")
    views = json.loads(sophia("graph", "ACME", "-n", "project:sales", "--json"))
    (acme,) = views
    owners = [(e["subject"], e["valid_until"] is None) for e in acme["edges"] if e["relation"] == "owns"]
    assert acme["namespace"] == "project:sales" and owners == [("Dana", False), ("Priya", True)]
    table = sophia("graph", "acme", "-n", "project:sales")
    assert "Priya" in table and "current" in table
    missing = runner.invoke(app, ["--embedder", "hashing", "graph", "acme"])  # not in global
    assert missing.exit_code == 1 and "no entity 'acme'" in missing.output


def test_index_code_remembers_symbols_with_file_and_line_and_replaces_them(
    home: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "shop"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "billing.py").write_text(
        "class Invoice:\n    def total(self, rate: float) -> float:\n        return 1.0\n\n\n"
        "def refund_invoice(invoice_id: str) -> None:\n    pass\n"
    )
    assert "indexed 3 symbols of shop into project:shop (replaced 0)" in sophia("index-code", str(repo))
    exported = tmp_path / "code.jsonl"
    sophia("export", str(exported))
    records = {r["metadata"]["symbol"]: r for r in map(json.loads, exported.read_text().splitlines())}
    assert {k: (r["kind"], r["metadata"]["path"], r["metadata"]["line"]) for k, r in records.items()} == {
        "Invoice": ("code", "pkg/billing.py", 1),
        "total": ("code", "pkg/billing.py", 2),
        "refund_invoice": ("code", "pkg/billing.py", 6),
    }
    assert "shop/pkg/billing.py:6" in records["refund_invoice"]["content"]
    (repo / "pkg" / "billing.py").write_text("def charge(amount: int) -> int:\n    return amount\n")
    assert "indexed 1 symbols of shop into project:shop (replaced 3)" in sophia("index-code", str(repo))
    sophia("export", str(exported))
    assert [json.loads(line)["metadata"]["symbol"] for line in exported.read_text().splitlines()] == [
        "charge"
    ]
