"""Is a SQL text read-only? A small lexer that skips comments, strings and quoted names, then splits statements.

Read-only means every statement starts with a reading keyword (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, LIST,
VALUES) and no writing keyword appears anywhere outside strings and comments (so `WITH x AS (…) INSERT …` or a
`SELECT … ; DROP …` is a write). It errs on the side of "write": a read it cannot prove is refused, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SqlStatement", "is_read_only", "split_statements"]

_READ_START = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "LIST", "LS", "VALUES"})
_WRITE_WORDS = frozenset(
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE",
        "COPY", "PUT", "GET", "REMOVE", "RM", "CALL", "EXECUTE", "USE", "SET", "UNSET", "BEGIN", "START",
        "COMMIT", "ROLLBACK", "UNDROP", "COMMENT", "UPSERT", "INTO",
    }
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True, slots=True)
class SqlStatement:
    text: str
    """The statement as written (comments kept), without its `;`."""
    words: tuple[str, ...]
    """Its bare keywords and names in upper case, strings, comments and quoted names left out."""

    @property
    def first(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def reads_only(self) -> bool:
        return self.first in _READ_START and not _WRITE_WORDS.intersection(self.words)


def _skip_quoted(sql: str, at: int, quote: str) -> int:
    """Index after the closing quote (a doubled quote or a backslash escape stays inside)."""
    index = at + 1
    while index < len(sql):
        char = sql[index]
        if char == "\\" and quote == "'":
            index += 2
            continue
        if char == quote:
            if index + 1 < len(sql) and sql[index + 1] == quote:
                index += 2
                continue
            return index + 1
        index += 1
    return len(sql)


def _skip(sql: str, at: int) -> int | None:
    """If a comment, a string or a quoted name starts at `at`: the index after it; else None."""
    two = sql[at : at + 2]
    if two in ("--", "//"):
        end = sql.find("\n", at)
        return len(sql) if end < 0 else end + 1
    if two == "/*":
        end = sql.find("*/", at + 2)
        return len(sql) if end < 0 else end + 2
    if two == "$$":
        end = sql.find("$$", at + 2)
        return len(sql) if end < 0 else end + 2
    if sql[at] in "'\"":
        return _skip_quoted(sql, at, sql[at])
    return None


def split_statements(sql: str) -> list[SqlStatement]:
    """The statements of a SQL text, split at `;` outside strings and comments; empty ones dropped."""
    statements: list[SqlStatement] = []
    words: list[str] = []
    start = index = 0
    while index < len(sql):
        after = _skip(sql, index)
        if after is not None:
            index = after
            continue
        if sql[index] == ";":
            _close(statements, sql[start:index], words)
            words, start, index = [], index + 1, index + 1
            continue
        match = _WORD.match(sql, index)
        if match and (index == 0 or not (sql[index - 1].isalnum() or sql[index - 1] in "_$")):
            words.append(match.group().upper())
            index = match.end()
            continue
        index += 1
    _close(statements, sql[start:], words)
    return statements


def _close(statements: list[SqlStatement], text: str, words: list[str]) -> None:
    if words:
        statements.append(SqlStatement(text.strip(), tuple(words)))


def is_read_only(sql: str) -> bool:
    """True only when there is at least one statement and every statement only reads."""
    statements = split_statements(sql)
    return bool(statements) and all(s.reads_only for s in statements)
