"""`bench/bi.py` runs end to end on the small business (a real process, its own SOPHIA_HOME): the last line has
the documented shape and every answer's numbers trace to the result it cites."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving import clean_env

ROOT = Path(__file__).resolve().parents[2]
LAST = re.compile(
    r"bi: churn_auc=(0\.\d{3}|1\.000) baseline_auc=(0\.\d{3}|1\.000) brier=0\.\d{3} forecast_mape=\d+\.\d{3} "
    r"naive_mape=\d+\.\d{3} answered=(0\.\d{3}|1\.000) traceable=(0\.\d{3}|1\.000)"
)


@pytest.mark.timeout(900)
def test_the_bi_bench_runs_on_the_small_business(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bi.py"), "--seed", "2", "--size", "small"],
        env=clean_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    match = LAST.fullmatch(lines[-1])
    assert match, lines[-1]
    assert match.group(4) == "1.000"
    assert "questions (scripted): " in result.stdout and " of 37 correct" in result.stdout
    coach = next(line for line in lines if line.startswith("coach: "))
    assert "call_mismatches 0" in coach and "rep_call_count_errors 0" in coach
