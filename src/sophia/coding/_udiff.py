"""The unified-diff fallback: each hunk becomes a search/replace block, applied by the same matcher."""

from __future__ import annotations

import re

from sophia.coding._edits import EditBlock, EditRefused, check_edit_path

__all__ = ["looks_like_diff", "parse_unified_diff"]

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
_DEV_NULL = "/dev/null"


def looks_like_diff(text: str) -> bool:
    return bool(re.search(r"^--- .+\n\+\+\+ .+\n@@ ", text, re.MULTILINE))


def _diff_path(header: str) -> str:
    name = header[4:].split("\t", 1)[0].strip()
    if name == _DEV_NULL:
        return name
    if name.startswith(("a/", "b/")):
        name = name[2:]
    return check_edit_path(name)


def _hunk_block(path: str, lines: list[str]) -> EditBlock:
    old: list[str] = []
    new: list[str] = []
    for line in lines:
        if line.startswith("\\"):
            continue  # "\ No newline at end of file"
        tag, body = (line[:1], line[1:]) if line else (" ", "")
        if tag in (" ", "-"):
            old.append(body)
        if tag in (" ", "+"):
            new.append(body)
    search = "\n".join(old) + "\n" if old else ""
    replace = "\n".join(new) + "\n" if new else ""
    return EditBlock(path, search, replace)


def parse_unified_diff(text: str) -> list[EditBlock]:
    """Blocks for every hunk of every file in a `diff -u` / `git diff` text; deleting a file is refused."""
    lines = text.splitlines()
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if not (lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        source, target = _diff_path(lines[i]), _diff_path(lines[i + 1])
        if target == _DEV_NULL:
            raise EditRefused(f"the diff deletes {source}; Sophia does not delete files, change them instead")
        i += 2
        while i < len(lines) and (header := _HUNK.match(lines[i])):
            old_left = int(header.group(1) or 1)
            new_left = int(header.group(2) or 1)
            j = i + 1
            while j < len(lines) and (old_left > 0 or new_left > 0 or lines[j].startswith("\\")):
                tag = lines[j][:1] or " "
                if tag == "\\":
                    j += 1
                    continue
                if tag not in (" ", "-", "+"):
                    raise EditRefused(
                        f"the diff of {target} ends a hunk early; its @@ line counts more lines"
                    )
                old_left -= tag in (" ", "-")
                new_left -= tag in (" ", "+")
                j += 1
            block = _hunk_block(target, lines[i + 1 : j])
            blocks.append(EditBlock(target, "", block.replace) if source == _DEV_NULL else block)
            i = j
    if not blocks:
        raise EditRefused("the diff has no hunks; give @@ hunks or SEARCH/REPLACE blocks")
    return blocks
