"""Migrations bring an empty database to head on both backends, and match the models exactly."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from storage import migrate
from storage.db import make_engine
from storage.search import include_name
from tests.conftest import BACKENDS, POSTGRES_URL, libpq
from tests.test_cli import PEERSHELF, clean_env


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_database")  # skips or fails (in CI) when PostgreSQL is away
    name = f"peershelf_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq(POSTGRES_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_db_upgrade_brings_an_empty_database_to_head(empty_database_url: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [PEERSHELF, "db", "upgrade"],
        cwd=tmp_path,
        env=clean_env(DATABASE_URL=empty_database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"is at revision {migrate.head_revision()}" in result.stdout
    engine = make_engine(empty_database_url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"include_name": include_name})
            drift = compare_metadata(context, SQLModel.metadata)
        assert drift == [], "the models and the migrations disagree; add a migration"
    finally:
        engine.dispose()


def test_db_upgrade_twice_changes_nothing(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine)
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


PRAGMAS = ("journal_mode", "foreign_keys", "busy_timeout")


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with engine.connect() as connection:
            pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in PRAGMAS}
    finally:
        engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10_000}


def test_the_newest_revision_is_read_from_the_file_names_as_alembic_reads_it() -> None:
    from storage import migrate, peek

    assert peek.newest_revision() == migrate.head_revision()


def test_the_newest_migration_can_be_undone_and_done_again(empty_database_url: str) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    engine = make_engine(empty_database_url)
    try:
        config = migrate.alembic_config(engine)
        newest = ScriptDirectory.from_config(config).get_revision("head")
        assert newest is not None
        head, previous = newest.revision, newest.down_revision
        migrate.upgrade(engine)
        command.downgrade(config, str(previous))
        assert migrate.current_revision(engine) == previous
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == head
    finally:
        engine.dispose()
