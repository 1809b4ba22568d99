"""The test-weakening check: a change must not delete tests or assertions to make the checks pass.

For each test file the change touched, count test functions and assertions (``assert``, ``self.assert*``,
``pytest.raises``/``warns``/``approx``, ``expect(…)``) before and after; any drop is flagged with the file.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SuiteStrength", "is_test_file", "suite_strength", "weakened_tests"]

_TEST_PATH = re.compile(r"(^|/)(tests?/|test_[^/]*$|[^/]*_test\.[a-z]+$|[^/]*\.(test|spec)\.[jt]sx?$)")
_ASSERT_CALLS = ("raises", "warns", "approx", "fail")
_GENERIC_ASSERTS = re.compile(r"\b(assert\w*|expect|require\.\w+|t\.(Error|Fatal)\w*)\s*[(!]")


def is_test_file(path: str) -> bool:
    return bool(_TEST_PATH.search(path))


@dataclass(frozen=True, slots=True)
class SuiteStrength:
    tests: int
    assertions: int


def _python_strength(text: str) -> SuiteStrength | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    tests = assertions = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            tests += 1
        elif isinstance(node, ast.Assert):
            assertions += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name.startswith("assert") or name in _ASSERT_CALLS:
                assertions += 1
    return SuiteStrength(tests, assertions)


def suite_strength(path: str, text: str) -> SuiteStrength:
    if path.endswith(".py"):
        found = _python_strength(text)
        if found is not None:
            return found
        return SuiteStrength(0, 0)  # a test file that no longer parses has lost every test
    tests = len(re.findall(r"\b(it|test|describe)\s*\(|\bfunc Test\w+|#\[test\]", text))
    return SuiteStrength(tests, len(_GENERIC_ASSERTS.findall(text)))


def weakened_tests(before: Mapping[str, str | None], after: Mapping[str, str | None]) -> list[str]:
    """One line per test file that lost tests or assertions (a deleted test file counts as losing all)."""
    findings: list[str] = []
    for path in sorted(set(before) | set(after)):
        if not is_test_file(path):
            continue
        old_text, new_text = before.get(path), after.get(path)
        if old_text is None:
            continue  # a new test file only adds
        old = suite_strength(path, old_text)
        new = suite_strength(path, new_text) if new_text is not None else SuiteStrength(0, 0)
        if new.tests < old.tests or new.assertions < old.assertions:
            findings.append(
                f"{path}: tests {old.tests} -> {new.tests}, assertions {old.assertions} -> {new.assertions}"
            )
    return findings
