"""Alembic environment: runs Sophia's migrations on the connection `sophia.store` hands over."""

from __future__ import annotations

from alembic import context

from sophia.store._base import Base

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations with `sophia db upgrade` or sophia.store.upgrade(url)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
