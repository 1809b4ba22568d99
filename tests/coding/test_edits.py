"""Search/replace edits and the unified-diff fallback: exact, whitespace-tolerant, or a refusal the model can act on."""

from __future__ import annotations

import difflib

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sophia.coding import (
    EditBlock,
    EditRefused,
    apply_block,
    check_edit_path,
    parse_blocks,
    parse_edits,
    parse_unified_diff,
)

_LINE = st.text(alphabet="abcdefgh(): =+-", min_size=1, max_size=12).map(str.strip).filter(bool)
_LINES = st.lists(_LINE, min_size=3, max_size=25, unique=True)


def _block(path: str, search: str, replace: str) -> str:
    return f"{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


@settings(max_examples=60, deadline=None)
@given(_LINES, st.data())
def test_an_exact_block_replaces_exactly_the_quoted_lines(lines: list[str], data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(lines) - 1))
    end = data.draw(st.integers(start + 1, len(lines)))
    new = data.draw(st.lists(_LINE, max_size=4))
    content = "".join(f"{line}\n" for line in lines)
    search = "".join(f"{line}\n" for line in lines[start:end])
    replace = "".join(f"{line}\n" for line in new)
    assume(("\n" + content).count("\n" + search) == 1)

    (block,) = parse_blocks(_block("pkg/mod.py", search, replace))
    result = apply_block(content, block)

    assert result == "".join(f"{line}\n" for line in lines[:start] + new + lines[end:])


@settings(max_examples=60, deadline=None)
@given(_LINES, st.data())
def test_a_block_quoted_with_other_indentation_matches_and_keeps_the_files_indentation(
    lines: list[str], data: st.DataObject
) -> None:
    indent = data.draw(st.sampled_from(["    ", "        ", "\t"]))
    start = data.draw(st.integers(0, len(lines) - 1))
    end = data.draw(st.integers(start + 1, len(lines)))
    content = "def f():\n" + "".join(f"{indent}{line}\n" for line in lines)
    search = "".join(f"{line}\n" for line in lines[start:end])  # the model dropped the indentation
    replace = "changed = 1\n"

    result = apply_block(content, EditBlock("m.py", search, replace))

    expected = "def f():\n" + "".join(
        f"{indent}{line}\n" for line in lines[:start] + ["changed = 1"] + lines[end:]
    )
    assert result == expected


@settings(max_examples=50, deadline=None)
@given(_LINES, _LINE)
def test_a_block_whose_text_is_not_in_the_file_is_refused_with_the_closest_lines(
    lines: list[str], missing: str
) -> None:
    content = "".join(f"{line}\n" for line in lines)
    search = f"{missing} not there at all\n"
    with pytest.raises(EditRefused) as refused:
        apply_block(content, EditBlock("m.py", search, "x\n"))
    assert "not found in m.py" in refused.value.message
    assert "closest lines" in refused.value.message


def test_an_ambiguous_block_is_refused_rather_than_guessed() -> None:
    content = "x = 1\ny = 2\nx = 1\n"
    with pytest.raises(EditRefused, match="occurs 2 times"):
        apply_block(content, EditBlock("m.py", "x = 1\n", "x = 3\n"))


def test_an_empty_search_creates_a_new_file_but_never_overwrites_one() -> None:
    assert apply_block(None, EditBlock("new.py", "", "print(1)\n")) == "print(1)\n"
    with pytest.raises(EditRefused, match="file exists"):
        apply_block("keep me\n", EditBlock("old.py", "", "print(1)\n"))


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../outside.py", "a/../../b.py", "~/x.py", ".git/config", "pkg/../../x"]
)
def test_a_path_outside_the_repository_is_refused(path: str) -> None:
    with pytest.raises(EditRefused):
        check_edit_path(path)
    with pytest.raises(EditRefused):
        parse_blocks(_block(path, "a\n", "b\n"))


def test_blocks_inside_markdown_fences_with_the_path_above_are_parsed() -> None:
    text = (
        "Here is the fix.\n\n`src/calc.py`\n```python\n<<<<<<< SEARCH\n    return a - b\n=======\n"
        "    return a + b\n>>>>>>> REPLACE\n```\n"
    )
    (block,) = parse_blocks(text)
    assert block == EditBlock("src/calc.py", "    return a - b\n", "    return a + b\n")


def test_an_unclosed_block_is_refused() -> None:
    with pytest.raises(EditRefused, match="not closed"):
        parse_blocks("m.py\n<<<<<<< SEARCH\na\n=======\nb\n")


@settings(max_examples=50, deadline=None)
@given(_LINES, st.data())
def test_a_unified_diff_of_a_change_applies_back_to_the_changed_file(
    lines: list[str], data: st.DataObject
) -> None:
    changed = list(lines)
    index = data.draw(st.integers(0, len(lines) - 1))
    changed[index] = changed[index] + " + 1"
    old = "".join(f"{line}\n" for line in lines)
    new = "".join(f"{line}\n" for line in changed)
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/m.py", "b/m.py"))

    content = old
    for block in parse_edits(diff):
        assert block.path == "m.py"
        content = apply_block(content, block)
    assert content == new


def test_a_diff_that_deletes_a_file_is_refused() -> None:
    diff = "--- a/tests/test_x.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-assert True\n"
    with pytest.raises(EditRefused, match="deletes"):
        parse_unified_diff(diff)


def test_text_with_no_edit_is_refused_with_the_format() -> None:
    with pytest.raises(EditRefused, match="SEARCH/REPLACE"):
        parse_edits("I think the bug is in parse().")


def test_an_edit_sent_again_after_it_was_applied_changes_nothing_and_is_not_refused() -> None:
    block = EditBlock("calc.py", "    return a - b\n", "    return a + b\n")
    once = apply_block("def add(a, b):\n    return a - b\n", block)
    assert apply_block(once, block) == once == "def add(a, b):\n    return a + b\n"
    with pytest.raises(EditRefused):
        apply_block("def add(a, b):\n    return a * b\n", block)
