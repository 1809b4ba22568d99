"""A code run's output cut back into summary, diff, check outputs and review, as the dashboard shows them."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from sophia.coding import CodingResult, code_view, render_result

DIFF = (
    "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"
    "-    return a - b\n+    return a + b\n"
)


def test_each_section_comes_back_where_render_result_put_it() -> None:
    result = CodingResult(status="resolved", attempts=1, files=["calc.py"], diff=DIFF, review="APPROVE")
    result.checks = [
        {"name": "pytest", "command": "python3 -m pytest -q", "status": "passed", "output": "2 passed"},
        {"name": "ruff", "command": "ruff check .", "status": "failed", "output": "--- x ---\nE501"},
    ]
    view = code_view(render_result(result))
    assert view.summary.startswith("status: resolved after 1 attempt(s)")
    assert view.diff == DIFF
    assert [(c.command, c.status, c.output) for c in view.checks] == [
        ("python3 -m pytest -q", "passed", "2 passed"),
        ("ruff check .", "failed", "--- x ---\nE501"),
    ]
    assert view.review == "APPROVE"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_check_output_without_a_section_marker_survives_the_round_trip(output: str) -> None:
    assume("\n\n--- " not in output)
    result = CodingResult(status="failed", diff=DIFF)
    result.checks = [{"name": "t", "command": "make test", "status": "failed", "output": output}]
    view = code_view(render_result(result))
    assert view.diff == DIFF and len(view.checks) == 1
    assert view.checks[0].output == output[-6000:]
