"""A throw-away database for a benchmark: the DATABASE_URL's PostgreSQL server, or a new SQLite file."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """With a PostgreSQL DATABASE_URL, a new database beside the named one, dropped afterwards;
    otherwise a SQLite file `name`.db in a new temporary directory (or DATABASE_URL itself)."""
    given = os.environ.get("DATABASE_URL")
    if not (given and given.startswith("postgres")):
        yield given or f"sqlite:///{tempfile.mkdtemp()}/{name}.db"
        return
    database = f"peershelf_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(given).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield make_url(given).set(database=database).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
