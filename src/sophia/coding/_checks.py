"""The project's own checks: detected from its files (or configured), run in the sandbox, summarised for the model."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sophia.tools import ShellRunner, ShellSettings

__all__ = ["Check", "CheckResult", "check_shell", "detect_checks", "failure_digest"]

_NOT_FOUND = 127
_DIGEST_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    command: str

    def to_record(self) -> dict[str, str]:
        return {"name": self.name, "command": self.command}


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    command: str
    status: str
    """`passed`, `failed`, `timed_out` or `unavailable` (the tool is not installed in the sandbox)."""
    exit_code: int | None
    output: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def blocking(self) -> bool:
        """Failed or timed out: the change is not done. `unavailable` proves nothing either way."""
        return self.status in ("failed", "timed_out")

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "status": self.status,
            "exit_code": self.exit_code,
            "output": self.output,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CheckResult:
        return cls(record["name"], record["command"], record["status"], record["exit_code"], record["output"])

    @classmethod
    def of_shell(cls, check: Check, shell: dict[str, Any]) -> CheckResult:
        output = (str(shell.get("stdout") or "") + str(shell.get("stderr") or "")).strip()
        code = shell.get("exit_code")
        if shell.get("timed_out"):
            status = "timed_out"
        elif code == _NOT_FOUND or (code not in (0, None) and _missing_tool(output)):
            status = "unavailable"
        else:
            status = "passed" if code == 0 else "failed"
        return cls(check.name, check.command, status, code, output)


def _missing_tool(output: str) -> bool:
    return bool(re.search(r"No module named (pytest|ruff|mypy)\b", output))


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads((root / "pyproject.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _has_python_tests(root: Path) -> bool:
    for pattern in ("test_*.py", "*_test.py"):
        for found in root.rglob(pattern):
            if not any(part in (".git", ".venv", "node_modules") for part in found.parts):
                return True
    return False


def _python_checks(root: Path) -> list[Check]:
    checks: list[Check] = []
    project = _pyproject(root)
    tool = project.get("tool", {})
    markers = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini")
    if any((root / m).exists() for m in markers) or _has_python_tests(root):
        if _has_python_tests(root) or "pytest" in tool:
            prefix = "PYTHONPATH=src " if (root / "src").is_dir() else ""
            checks.append(Check("pytest", f"{prefix}python3 -m pytest -q -p no:cacheprovider"))
    if "ruff" in tool or (root / "ruff.toml").exists() or (root / ".ruff.toml").exists():
        checks.append(Check("ruff", "ruff check --no-cache ."))
    if "mypy" in tool or (root / "mypy.ini").exists():
        checks.append(Check("mypy", "python3 -m mypy --no-incremental ."))
    return checks


def _npm_test(root: Path) -> list[Check]:
    try:
        package = json.loads((root / "package.json").read_text())
    except (OSError, ValueError):
        return []
    script = str((package.get("scripts") or {}).get("test") or "")
    if not script or "no test specified" in script:
        return []
    return [Check("npm test", "npm test --silent")]


def _make_test(root: Path) -> list[Check]:
    for name in ("Makefile", "makefile", "GNUmakefile"):
        try:
            text = (root / name).read_text()
        except OSError:
            continue
        if re.search(r"^test\s*:", text, re.MULTILINE):
            return [Check("make test", "make test")]
    return []


def detect_checks(root: Path, configured: Sequence[str] = ()) -> list[Check]:
    """Configured commands win; otherwise what the repository's own files say it runs."""
    if configured:
        return [Check(command.split()[0], command) for command in configured]
    checks = _python_checks(root) + _npm_test(root)
    if (root / "go.mod").exists():
        checks.append(Check("go test", "go test ./..."))
    if (root / "Cargo.toml").exists():
        checks.append(Check("cargo test", "cargo test --offline"))
    make = _make_test(root)
    if make and not checks:
        checks += make
    return checks


def failure_digest(results: Sequence[CheckResult]) -> str:
    """What the model reads after a failed attempt: each failed check's command and its output's tail."""
    parts: list[str] = []
    for result in results:
        if not result.blocking:
            continue
        tail = result.output[-_DIGEST_CHARS:]
        parts.append(f"$ {result.command}  ({result.status}, exit {result.exit_code})\n{tail}")
    return "\n\n".join(parts)


def check_shell(settings: ShellSettings | None = None, python: Path | None = None) -> ShellRunner:
    """The sandbox the checks run in, with a Python environment bound read-only and first on PATH, so
    `python3 -m pytest` finds pytest and the project's test dependencies: `python` (a virtualenv or an install
    prefix, `[coding] python`), else the environment Sophia runs on."""
    prefix = python.expanduser().resolve() if python is not None else Path(sys.prefix)
    prefixes = dict.fromkeys((str(prefix), str(_base_prefix(prefix))))
    return ShellRunner(settings, read_only=tuple(prefixes), path_prefix=(str(prefix / "bin"),))


def _base_prefix(prefix: Path) -> Path:
    """A virtualenv's interpreter lives in the `home` its pyvenv.cfg names; an install prefix is its own."""
    if prefix == Path(sys.prefix):
        return Path(sys.base_prefix)
    try:
        config = (prefix / "pyvenv.cfg").read_text()
    except OSError:
        return prefix
    found = re.search(r"^home\s*=\s*(.+)$", config, re.MULTILINE)
    return Path(found.group(1).strip()).parent if found else prefix
