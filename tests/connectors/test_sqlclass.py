"""The read/write SQL classifier, property-tested: comments, strings, quoted names and CTEs never hide a write,
and keywords inside strings or comments never make a read look like a write."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.connectors._sqlclass import is_read_only, split_statements

READS = [
    "SELECT * FROM accounts",
    "select id, name from deals where stage = 'won'",
    "WITH won AS (SELECT * FROM deals) SELECT count(*) FROM won",
    "SHOW TABLES",
    "DESCRIBE TABLE accounts",
    "EXPLAIN SELECT 1",
    "select REPLACE(name, 'a', 'b') from t",
]
WRITES = [
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    "DROP TABLE t",
    "CREATE OR REPLACE TABLE t AS SELECT 1",
    "TRUNCATE TABLE t",
    "GRANT SELECT ON t TO ROLE r",
    "COPY INTO t FROM @stage",
    "CALL proc()",
    "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    "ALTER WAREHOUSE w SUSPEND",
]
KEYWORDS = ["DROP", "DELETE", "INSERT", "UPDATE", "; DROP TABLE t", "*/ DELETE FROM t /*", "'; DELETE"]
noise = st.text(alphabet=st.characters(blacklist_characters="'\"\\$*/-\n\r;"), max_size=30)


def _comment(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f"-- {text}\n", f"/* {text.replace('*/', '')} */", f"// {text}\n"])


def _string(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            f"'{text.replace(chr(39), chr(39) * 2)}'",
            f'"{text.replace(chr(34), chr(34) * 2)}"',
            f"$${text.replace('$$', '')}$$",
        ]
    )


@given(st.sampled_from(READS), st.sampled_from(KEYWORDS).flatmap(_comment))
def test_write_keywords_in_a_comment_keep_a_read_a_read(read: str, comment: str) -> None:
    for sql in (f"{comment}{read}", f"{read} {comment}"):
        assert is_read_only(sql) and len(split_statements(sql)) == 1, sql


@given(st.sampled_from(KEYWORDS).flatmap(_string), st.sampled_from(["", " FROM t", " FROM t WHERE a = 'x'"]))
def test_write_keywords_in_a_string_or_quoted_name_keep_a_select_a_read(literal: str, rest: str) -> None:
    sql = f"SELECT {literal} AS x{rest}"
    assert is_read_only(sql) and len(split_statements(sql)) == 1, sql


@given(st.sampled_from(WRITES), st.lists(st.sampled_from(READS), max_size=3), st.integers(0, 3), noise)
@settings(max_examples=150)
def test_a_write_anywhere_makes_the_whole_text_a_write(
    write: str, reads: list[str], at: int, filler: str
) -> None:
    statements = list(reads)
    statements.insert(min(at, len(statements)), write)
    sql = f" /* {filler} */ ;\n".join(statements)
    assert not is_read_only(sql), sql
    assert len(split_statements(sql)) == len(statements)


@given(st.text(max_size=200))
def test_any_text_is_classified_without_error_and_empty_is_never_a_read(text: str) -> None:
    statements = split_statements(text)
    if not statements:
        assert not is_read_only(text)
    assert all(s.words for s in statements)


@given(st.sampled_from(WRITES), st.sampled_from(["--c\n", "/*c*/", "// c\n", " ", "\n\t"]))
def test_comments_before_a_write_do_not_hide_it(write: str, prefix: str) -> None:
    assert not is_read_only(prefix + write)
    assert not is_read_only(f"{prefix}{write.lower()}")
