"""Housekeeping inside `peershelf run`: the scheduler keeps going, old event IDs are forgotten."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from bot.runtime.scheduler import Job, Scheduler
from bot.services import Services
from bot.services.events import prune_processed_events
from storage import migrate
from storage.db import make_engine, optimize
from storage.events import claim_event
from storage.models import ProcessedEvent


def test_a_failing_job_is_retried_and_does_not_stop_the_others() -> None:
    runs = {"flaky": 0, "steady": 0}
    enough = threading.Event()

    def flaky() -> None:
        runs["flaky"] += 1
        raise RuntimeError("Slack is down")

    def steady() -> None:
        runs["steady"] += 1
        if runs["steady"] >= 3 and runs["flaky"] >= 3:
            enough.set()

    scheduler = Scheduler([Job("flaky", 0.01, flaky), Job("steady", 0.01, steady)])
    scheduler.start()
    try:
        assert enough.wait(timeout=5)
    finally:
        scheduler.stop()
    assert runs["flaky"] >= 3


def test_a_long_job_does_not_hold_up_the_others() -> None:
    release = threading.Event()
    quick_runs = 0
    enough = threading.Event()

    def long_digest_pass() -> None:
        release.wait(timeout=5)

    def notices() -> None:
        nonlocal quick_runs
        quick_runs += 1
        if quick_runs >= 3:
            enough.set()

    scheduler = Scheduler([Job("digests", 0.01, long_digest_pass), Job("notices", 0.01, notices)])
    scheduler.start()
    try:
        assert enough.wait(timeout=3)  # while the long job is still running
        assert not release.is_set()
    finally:
        release.set()
        scheduler.stop()


def test_old_event_ids_are_forgotten_and_recent_ones_kept(services: Services) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert claim_event(services.engine, event_id="Ev-old", team_id="T1", now=now - timedelta(days=2))
    assert claim_event(services.engine, event_id="Ev-new", team_id="T1", now=now - timedelta(hours=1))
    assert not claim_event(services.engine, event_id="Ev-new", team_id="T1", now=now)
    services.clock = lambda: now
    assert prune_processed_events(services) == 1
    with services.new_session() as session:
        assert [e.event_id for e in session.exec(select(ProcessedEvent))] == ["Ev-new"]


def test_sqlite_gets_the_statistics_its_planner_needs(tmp_path: Path) -> None:
    # PostgreSQL's autovacuum keeps its own statistics; SQLite has none until it is asked.
    engine = make_engine(f"sqlite:///{tmp_path / 'shelf.db'}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO workspace (team_id, installed_at) VALUES ('T1', '2026-11-27')"))
        connection.commit()
        assert connection.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar() == 0
    optimize(engine)
    with engine.connect() as connection:
        analysed = {row[0] for row in connection.execute(text("SELECT tbl FROM sqlite_stat1"))}
    engine.dispose()
    assert "workspace" in analysed
