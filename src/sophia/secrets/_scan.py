"""Find credentials committed to files. A finding names the file, line and kind, never the value."""

from __future__ import annotations

import math
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sophia.errors import NotFound

MAX_FILE_BYTES = 2 * 1024 * 1024
ENTROPY_THRESHOLD = 3.0
"""Bits per character a value assigned to a secret-looking name needs before it counts as a real secret."""
MIN_ASSIGNED_LENGTH = 12
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".tox",
        ".nox",
    }
)


@dataclass(frozen=True, order=True)
class Finding:
    """Where a credential was seen; deliberately without the value, so reports are safe to print."""

    path: Path
    line: int
    kind: str


# Group "value" of each pattern is the credential (checked against placeholders); kinds are stable names.
_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("anthropic-api-key", re.compile(r"(?<![\w-])(?P<value>sk-ant-[A-Za-z0-9_-]{20,})")),
    (
        "openai-api-key",
        re.compile(r"(?<![\w-])(?P<value>sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,})"),
    ),
    ("groq-api-key", re.compile(r"(?<![\w-])(?P<value>gsk_[A-Za-z0-9]{20,})")),
    ("github-token", re.compile(r"(?<![\w-])(?P<value>(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,})")),
    ("github-token", re.compile(r"(?<![\w-])(?P<value>github_pat_[A-Za-z0-9_]{22,})")),
    ("slack-token", re.compile(r"(?<![\w-])(?P<value>xox[abprs]-[A-Za-z0-9-]{10,})")),
    ("aws-access-key-id", re.compile(r"(?<![A-Za-z0-9])(?P<value>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])")),
    (
        "aws-secret-access-key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]+\s*[\"']?(?P<value>[A-Za-z0-9/+=]{40})(?![\w/+=])"
        ),
    ),
    (
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[ \t]*\r?\n"
            r"(?:[\w-]+:[^\n]*\r?\n|[ \t]*\r?\n)*(?P<value>[A-Za-z0-9+/=]{40,})"
        ),
    ),
)

_RANDOM_RUN = re.compile(r"[A-Za-z0-9]{10}")
"""Generated tokens have long unbroken runs; `sk-should-not-leak-1` is words a person typed."""
_FREE_FORM_KINDS = frozenset({"aws-secret-access-key", "private-key"})

_ASSIGNMENT = re.compile(
    r"""(?ix)
    (?<![\w.-])(?P<name>[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key
        |auth[_-]?key|private[_-]?key|client[_-]?secret|credentials?)[\w.-]*)
    ["']?[ \t]*(?::[ \t]*[A-Za-z_][\w\[\]|., ]*?[ \t]*=|:=|=>|=|:)[ \t]*
    (?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s"'#,;=(){}\[\]<>]+))
    """
)

_PLACEHOLDER = re.compile(
    r"(?i)x{4}|\.\.\.|your|example|sample|placeholder|dummy|redacted|changeme|change_me|replace|insert"
    r"|<[^>]*>|\$\{|\{\{|\*{3}|^(?:env|secret|file):|fake|test|not[-_]?a?[-_]?real"
    r"|abcdefgh|01234567|12345678"
)
_NAMED_PLACEHOLDER = re.compile(r"(?i)passw|secret|token|api[-_]?key")
"""A value that says what it is (`admin-password-123`, `my-secret-1`) was typed as an example, not generated."""
_CODE_LIKE = re.compile(
    r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|_*[a-z]+(?:_[a-z0-9]+)+|_*[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
)
"""Unquoted values that read as code (attribute access, snake_case names), not as a literal secret."""
_URL_OR_PATH = re.compile(r"[/.~].*|urn:.*|[a-z][a-z0-9+]*://[^@]*")


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s own character distribution."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _is_placeholder(value: str) -> bool:
    """Real credentials are random: they mix letters and digits and are no documentation filler."""
    random_looking = any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)
    return not random_looking or len(set(value)) < 6 or bool(_PLACEHOLDER.search(value))


def _assigned_secret(match: re.Match[str]) -> bool:
    """Whether a `name = value` match assigns a literal that looks like a real secret."""
    quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
    value = quoted if quoted is not None else match.group("bare")
    if len(value) < MIN_ASSIGNED_LENGTH or any(ch.isspace() for ch in value):
        return False
    if _URL_OR_PATH.fullmatch(value) or (quoted is None and _CODE_LIKE.fullmatch(value)):
        return False
    if "{" in value or "%s" in value or "(" in value:
        return False
    if _NAMED_PLACEHOLDER.search(value):
        return False
    return not _is_placeholder(value) and shannon_entropy(value) >= ENTROPY_THRESHOLD


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def scan_text(text: str, path: Path) -> list[Finding]:
    """Every credential in `text`; a generic assignment is not reported where a specific kind already is."""
    findings: set[Finding] = set()
    claimed: list[tuple[int, int]] = []
    for kind, pattern in _TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group("value")
            claimed.append(match.span("value"))  # a recognised format decides, even when it says placeholder
            if _is_placeholder(value) or (kind not in _FREE_FORM_KINDS and not _RANDOM_RUN.search(value)):
                continue
            findings.add(Finding(path, _line_of(text, match.start()), kind))
    for match in _ASSIGNMENT.finditer(text):
        start, end = match.span(match.lastgroup or 0)
        if any(start < c_end and c_start < end for c_start, c_end in claimed):
            continue
        if _assigned_secret(match):
            findings.add(Finding(path, _line_of(text, start), "secret-assignment"))
    return sorted(findings)


def looks_like_credential(text: str) -> bool:
    """True when `text` matches one of the credential kinds; used to avoid echoing a value in an error."""
    return bool(scan_text(text, Path("-")))


def _read_text(path: Path) -> str | None:
    """The file's text, or None for what is not worth scanning: special, large or binary files."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            yield Path(directory, name)


def scan_path(path: Path) -> list[Finding]:
    """Scan a file, or a directory tree (skipping VCS, virtualenv, cache and dependency folders)."""
    if not path.exists():
        raise NotFound(f"{path} does not exist; give a file or directory to scan")
    files = [path] if path.is_file() else _walk(path)
    findings: list[Finding] = []
    for file in files:
        text = _read_text(file)
        if text is not None:
            findings.extend(scan_text(text, file))
    return findings
