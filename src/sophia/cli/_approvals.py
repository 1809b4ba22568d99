"""`sophia approvals list|approve|deny ID`: held tool calls from anywhere — runs, the chat, MCP clients.

Approving a call held outside a run and outside a live chat turn runs it here, once, and prints its result.
The terminal acts as the install's first admin, as `sophia runs` does.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from sophia.cli._common import console, echo_json, handle_errors, run_async, settings_of
from sophia.cli._runs import local_admin, open_parts
from sophia.runs import ApprovalDesk

__all__ = ["app"]

app = typer.Typer(
    name="approvals", help="Tool calls waiting for a person: list, approve, deny.", no_args_is_help=True
)


@app.command("list")
@handle_errors
def list_approvals(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="pending, approved, denied, or all.")] = "pending",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Held tool calls, newest first (pending ones by default)."""

    async def go() -> list[dict[str, Any]]:
        async with open_parts(settings_of(ctx)) as parts:
            desk = ApprovalDesk(parts.service)
            chosen = None if status == "all" else status
            found = await desk.list(await local_admin(parts.database), status=chosen)
            return [
                {
                    "id": a.id,
                    "tool": a.tool,
                    "effect": a.effect,
                    "status": a.status,
                    "run_id": a.run_id,
                    "arguments": a.arguments,
                    "requested_at": a.requested_at.isoformat(),
                }
                for a in found
            ]

    rows = run_async(go())
    if as_json:
        echo_json(rows)
        return
    if not rows:
        console.print(f"no {status} approvals" if status != "all" else "no approvals yet")
        return
    table = Table("id", "tool", "effect", "status", "from", "requested", "arguments")
    for row in rows:
        source = row["run_id"] or "outside a run"
        arguments = str(row["arguments"])[:60]
        table.add_row(
            row["id"], row["tool"], row["effect"], row["status"], source, row["requested_at"][:19], arguments
        )
    console.print(table)


def _decide(ctx: typer.Context, approval_id: str, reason: str | None, approve: bool) -> None:
    async def go() -> dict[str, Any]:
        async with open_parts(settings_of(ctx)) as parts:
            desk = ApprovalDesk(parts.service)
            principal = await local_admin(parts.database)
            decide = desk.approve if approve else desk.deny
            return (await decide(principal, approval_id, reason)).to_dict()

    decided = run_async(go())
    console.print(f"approval {approval_id}: {decided['status']}", highlight=False)
    if "output" in decided:
        echo_json(decided["output"])
    elif "error" in decided:
        console.print(f"[red]the tool failed:[/] {decided['error']}", highlight=False)
        raise typer.Exit(1)
    elif decided.get("run_id"):
        console.print(f"run {decided['run_id']} carries on", highlight=False)


@app.command("approve")
@handle_errors
def approve(
    ctx: typer.Context, approval_id: str, reason: Annotated[str | None, typer.Option()] = None
) -> None:
    """Approve a held call: a run or chat turn carries on; any other call runs now, once."""
    _decide(ctx, approval_id, reason, True)


@app.command("deny")
@handle_errors
def deny(ctx: typer.Context, approval_id: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Deny a held call; it never runs."""
    _decide(ctx, approval_id, reason, False)
