"""A throw-away database for a benchmark, removed afterwards whatever happens.

The backend comes from DATABASE_URL: with a PostgreSQL URL, a new database is created on that
server (the database the URL names is never touched) and dropped at the end; otherwise a SQLite
file in a new temporary directory, deleted at the end. A benchmark never writes to a database
someone uses.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """The URL of a new, empty database named after the benchmark; gone when the block ends."""
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith("postgres"):
        with tempfile.TemporaryDirectory(prefix=f"peershelf-bench-{name}-") as folder:
            yield f"sqlite:///{folder}/{name}.db"
        return

    import psycopg

    database = f"peershelf_bench_{name}_{uuid.uuid4().hex[:8]}"
    server = make_url(given).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield server.set(drivername="postgresql+psycopg", database=database).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def describe(url: str) -> str:
    """The database a benchmark ran on, as its figures should name it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return "SQLite (a new file in a temporary directory)"
    return f"PostgreSQL at {parsed.host}:{parsed.port or 5432} (a new database, dropped after)"
