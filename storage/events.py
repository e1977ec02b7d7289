"""Processed Slack event IDs: the record that makes a retried event count once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage.db import write_now
from storage.models import ProcessedEvent


def claim_event(engine: Engine, *, event_id: str, team_id: str | None, now: datetime) -> bool:
    """Record `event_id`; False when it was already recorded (a retry or a duplicate delivery).
    One INSERT … ON CONFLICT DO NOTHING, committed by itself: this runs for every event Slack sends."""
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    insert_for = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    row = insert_for(table).values(event_id=event_id, team_id=team_id, received_at=now)
    statement = row.on_conflict_do_nothing(index_elements=["event_id"]).returning(table.c.event_id)
    return bool(write_now(engine, statement))


def release_event(*, session: Session, event_id: str) -> None:
    """Forget `event_id` so Slack's next retry of an event that failed is processed again."""
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id == event_id))  # type: ignore[arg-type]
    session.commit()


def forget_events_before(*, session: Session, cutoff: datetime) -> int:
    """Drop records older than any retry Slack would still send (it retries within minutes)."""
    result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))  # type: ignore[arg-type]
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
