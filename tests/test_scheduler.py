"""Housekeeping inside `peershelf run`: the scheduler keeps going, old event IDs are forgotten."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.runtime.scheduler import Job, Scheduler
from bot.services import Services
from bot.services.events import prune_processed_events
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
    with services.new_session() as session:
        assert claim_event(session=session, event_id="Ev-old", team_id="T1", now=now - timedelta(days=2))
        assert claim_event(session=session, event_id="Ev-new", team_id="T1", now=now - timedelta(hours=1))
        assert not claim_event(session=session, event_id="Ev-new", team_id="T1", now=now)
    services.clock = lambda: now
    assert prune_processed_events(services) == 1
    with services.new_session() as session:
        assert [e.event_id for e in session.exec(select(ProcessedEvent))] == ["Ev-new"]


def test_database_statistics_are_refreshed(services: Services) -> None:
    from sqlalchemy import inspect, text

    from storage.db import optimize

    optimize(services.engine)  # on SQLite this writes sqlite_stat1, which the planner needs
    if services.engine.dialect.name == "sqlite":
        with services.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM sqlite_stat1")).scalar()
    assert "item" in inspect(services.engine).get_table_names()
