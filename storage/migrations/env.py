"""Alembic environment: runs against the engine that `storage.migrate` hands in.

Migrations run through Peershelf's own commands (`peershelf db upgrade`, `peershelf db revision`,
and `peershelf run` at start-up), which read DATABASE_URL from the environment or `.env`.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.search import include_name

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise SystemExit("Run migrations with `peershelf db upgrade` or `peershelf db revision`, which know DATABASE_URL.")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
