"""The usage ledger keeps only the indexes its queries use: time, API key and user.

Every report and budget query filters on a time range first (then on a key or a user); none looks requests up by
model or status alone. Each secondary index is one more B-tree insert per request on the gateway's hot write path.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = ("model", "status")


def upgrade() -> None:
    for column in _DROPPED:
        op.drop_index(op.f(f"ix_usage_requests_{column}"), table_name="usage_requests")


def downgrade() -> None:
    for column in _DROPPED:
        op.create_index(op.f(f"ix_usage_requests_{column}"), "usage_requests", [column])
