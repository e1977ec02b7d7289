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


def test_notes_keyed_by_their_permalink_move_to_their_message_and_keep_only_their_own_audience(
    empty_database_url: str,
) -> None:
    """Before 0016 a note was keyed by its permalink, so a colleague who typed or posted that link
    joined the note; after it the note is keyed by its message, and those shares have a link item
    of their own. Typed links leave the channel they were typed in."""
    from sqlalchemy import text

    engine = make_engine(empty_database_url)
    try:
        migrate.upgrade(engine, "0013")
        secret = "https://acme.slack.com/archives/G0SECRET01/p1764200000000400"
        public = "https://acme.slack.com/archives/C0GENERAL1/p1764200000000500"
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO channel (team_id, channel_id, name, is_private, refreshed_at) VALUES "
                    "('T1', 'G0SECRET01', 'secret', true, '2026-11-01 00:00:00'),"
                    " ('T1', 'C0GENERAL1', 'general', false, '2026-11-01 00:00:00')"
                )
            )
            ids = {}
            for key, is_public, state in (
                (secret, True, "none"),
                (public, True, "none"),
                ("https://x.test/", False, "done"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO item (team_id, canonical_url, url, kind, title, is_public, fetch_state,"
                        " fetch_attempts, created_at, updated_at) VALUES ('T1', :key, :key, 'other', 'words',"
                        " :public, :state, 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
                    ),
                    {"key": key, "public": is_public, "state": state},
                )
                ids[key] = connection.execute(
                    text("SELECT id FROM item WHERE canonical_url = :key"), {"key": key}
                ).one()[0]
            # Carol posted the secret note's permalink in #general (which made it public), and typed
            # a link in #general.
            for ts, key, kind, private in (
                ("1.1", secret, "channel", False),
                ("1.2", "https://x.test/", "command", True),
            ):
                connection.execute(
                    text(
                        "INSERT INTO share (team_id, item_id, user_id, channel_id, channel_type, message_ts,"
                        " is_private, shared_at) VALUES ('T1', :item, 'U0CAROL01', 'C0GENERAL1', :kind, :ts,"
                        " :private, '2026-11-01 00:00:00')"
                    ),
                    {"item": ids[key], "kind": kind, "ts": ts, "private": private},
                )
        migrate.upgrade(engine)
        with engine.connect() as connection:
            found = {
                key: (bool(public), int(item_id))
                for item_id, key, public in connection.execute(text("SELECT id, canonical_url, is_public FROM item"))
            }
            shares: dict[str, int] = dict(connection.execute(text("SELECT message_ts, item_id FROM share")).all())
            typed = connection.execute(text("SELECT channel_id FROM share WHERE message_ts = '1.2'")).scalar_one()
        assert found["urn:peershelf:note:G0SECRET01:1764200000.000400"] == (False, ids[secret])  # private again
        assert found["urn:peershelf:note:C0GENERAL1:1764200000.000500"] == (True, ids[public])
        assert found[secret][0] is True and shares["1.1"] == found[secret][1] != ids[secret]  # Carol's post
        assert typed == ""
    finally:
        engine.dispose()


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
