"""`scripts/pytest` (what `scripts/test` and `.ci/run` use) prints a summary even when a native crash ends pytest."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_segfault_in_a_test_still_ends_the_run_with_a_summary_line(tmp_path: Path) -> None:
    (tmp_path / "test_crashing.py").write_text(
        "import ctypes\n\n"
        "def test_first():\n    assert True\n\n"
        "def test_second():\n    assert True\n\n"
        "def test_native_crash():\n    ctypes.string_at(0)\n\n"
        "def test_never_reached():\n    assert True\n"
    )
    result = subprocess.run(
        [str(ROOT / "scripts" / "pytest"), str(tmp_path), "-q", "-p", "no:cacheprovider", "-c", "/dev/null"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 128 + 11, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("==== pytest crashed (killed by SIGSEGV) while running ")
    assert last.endswith("test_crashing.py::test_native_crash; before that: 2 passed ====")
