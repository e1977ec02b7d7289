"""Storage helpers behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services import Services
from storage import digests
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, yield_to_acks
from storage.events import claim_event
from storage.people import remember_person


def test_looking_people_up_by_id_matches_whole_ids_only(services: Services) -> None:
    longest = "W" + "0" * 31  # as long as an id column holds
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    with services.new_session() as session:
        for user_id in (longest, "U0ANA0001"):
            remember_person(session=session, team_id="T1", user_id=user_id, name=None, is_bot=False, tz=None, now=now)
        assert set(digests.people(session=session, team_id="T1", user_ids=[longest, "U0ANA0001"])) == {
            longest,
            "U0ANA0001",
        }
        assert digests.people(session=session, team_id="T1", user_ids=[longest + "1", "U0ANA"]) == {}


def test_an_ack_write_waits_out_a_held_write_lock_and_leaves_the_connection_as_it_was(services: Services) -> None:
    """Slack's ack writes one row while a worker may hold the database's write lock: it goes in as
    soon as the lock is free, and the pooled connection keeps its usual busy timeout after."""
    engine = services.engine
    held, release = threading.Event(), threading.Event()

    def worker_transaction() -> None:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                connection.execute(text("LOCK TABLE processed_event IN EXCLUSIVE MODE"))
            held.set()
            release.wait(5)
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql("COMMIT")
            else:
                connection.rollback()

    thread = threading.Thread(target=worker_transaction)
    thread.start()
    held.wait(5)
    threading.Timer(0.2, release.set).start()
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert claim_event(engine, event_id="Ev0001", team_id="T1", now=now)
    assert not claim_event(engine, event_id="Ev0001", team_id="T1", now=now)  # recorded once
    thread.join()
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS


def test_a_transaction_that_fails_leaves_nothing_it_began_even_inside_a_savepoint(services: Services) -> None:
    """One message's items, tags and shares are recorded together or not at all: the insert that
    opens a transaction inside a savepoint (a new item) goes with the rest when it rolls back."""
    from datetime import UTC, datetime

    from storage.items import get_or_create_item
    from tests.helpers import items

    class Failed(Exception):
        pass

    with pytest.raises(Failed), services.transaction() as session:
        get_or_create_item(
            session=session, team_id="T1", canonical_url="https://example.com/a", url="https://example.com/a",
            kind="article", now=datetime(2026, 12, 1, tzinfo=UTC),
        )  # fmt: skip
        raise Failed
    assert items(services) == []


def test_on_sqlite_the_workers_threads_take_turns_and_leave_an_ack_the_gap_between(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Two of the worker's threads want to write while a third holds the lock: when it commits,
    Slack's ack (another process's connection) goes in before the next of them, and a turn whose
    transaction failed, or whose connection went back to the pool uncommitted, is given back.
    (SQLite only: PostgreSQL has no single write lock to take turns at.)"""
    path = tmp_path / "peershelf.db"
    shutil.copy(sqlite_template, path)
    worker, web = make_engine(f"sqlite:///{path}"), make_engine(f"sqlite:///{path}")
    yield_to_acks(worker)
    order: list[str] = []
    holding, waiting = threading.Event(), threading.Event()
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def write(name: str, *, hold: bool = False) -> None:
        with worker.begin() as connection:
            if not hold:
                waiting.set()
            connection.execute(text("INSERT INTO processed_event (event_id, received_at) VALUES (:id, :at)"),
                               {"id": f"Ev-{name}", "at": now})  # fmt: skip
            if hold:
                holding.set()
                while not (waiting.is_set() and ack_waiting.is_set()):
                    time.sleep(0.01)
                time.sleep(0.1)  # the others are at the lock by now
            order.append(name)

    ack_waiting = threading.Event()

    def ack() -> None:
        ack_waiting.set()
        claim_event(web, event_id="Ev-ack", team_id="T1", now=now)
        order.append("ack")

    first = threading.Thread(target=write, args=("first",), kwargs={"hold": True})
    first.start()
    holding.wait(5)
    threads = [threading.Thread(target=write, args=("second",)), threading.Thread(target=ack)]
    for thread in threads:
        thread.start()
    for thread in (first, *threads):
        thread.join(10)
    assert order == ["first", "ack", "second"]

    with pytest.raises(RuntimeError), worker.begin() as connection:
        connection.execute(text("DELETE FROM processed_event WHERE event_id = 'Ev-first'"))
        raise RuntimeError("the transaction fails after its first write")
    with worker.connect() as connection:  # a write left uncommitted when the connection goes back
        connection.execute(text("DELETE FROM processed_event WHERE event_id = 'Ev-second'"))
    started = time.monotonic()
    with worker.begin() as connection:
        connection.execute(text("DELETE FROM processed_event WHERE event_id = 'Ev-ack'"))
    assert time.monotonic() - started < SQLITE_BUSY_TIMEOUT_MS / 1000 / 2  # its turn came, no timeout waited
    with web.connect() as connection:
        assert connection.execute(text("SELECT event_id FROM processed_event ORDER BY event_id")).scalars().all() == [
            "Ev-first",
            "Ev-second",
        ]
    worker.dispose()
    web.dispose()
