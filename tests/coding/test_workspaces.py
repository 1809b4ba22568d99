"""Which checkout a `code` call acts on: only an allowed one when the call has none of its own, and never another
than its own when it has one (a run, a stdio session). Property-tested: no other string reaches a directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sophia.coding._workspaces import in_workspace
from sophia.tools import ToolContext, WorkspaceError


def test_an_allowed_workspace_is_named_by_path_or_folder_name(tmp_path: Path) -> None:
    allowed = tmp_path / "app"
    allowed.mkdir()
    plain = ToolContext(user_id=1)
    assert in_workspace(plain, "app", [allowed]).workspace == allowed.resolve()
    assert in_workspace(plain, str(allowed), [allowed]).workspace == allowed.resolve()
    with pytest.raises(WorkspaceError, match="name the workspace"):
        in_workspace(plain, None, [allowed])
    with pytest.raises(WorkspaceError, match="allows none"):
        in_workspace(plain, "app", [])
    with pytest.raises(WorkspaceError, match="not an allowed workspace"):
        in_workspace(plain, f"{allowed}/../app2", [allowed])


def test_a_call_with_its_own_workspace_cannot_name_another(tmp_path: Path) -> None:
    own, other = tmp_path / "run", tmp_path / "app"
    own.mkdir()
    other.mkdir()
    run = ToolContext(user_id=1, workspace=own)
    assert in_workspace(run, None, [other]) is run and in_workspace(run, "run", [other]) is run
    with pytest.raises(WorkspaceError, match="its own workspace"):
        in_workspace(run, "app", [other])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_no_other_string_reaches_a_directory(name: str) -> None:
    allowed = Path("/srv/checkouts/widgets")
    context = ToolContext(user_id=1)
    if name in ("widgets", str(allowed)) or (
        name.startswith(("/", "~")) and "\x00" not in name and Path(name).expanduser().resolve() == allowed
    ):
        return
    with pytest.raises(WorkspaceError):
        in_workspace(context, name, [allowed])
