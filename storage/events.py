"""Processed Slack event IDs: the record that makes a retried event count once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.models import ProcessedEvent


def claim_event(*, session: Session, event_id: str, team_id: str | None, now: datetime) -> bool:
    """Record `event_id`; False when it was already recorded (a retry or a duplicate delivery)."""
    session.add(ProcessedEvent(event_id=event_id, team_id=team_id, received_at=now))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def release_event(*, session: Session, event_id: str) -> None:
    """Forget `event_id` so Slack's next retry of an event that failed is processed again."""
    session.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id == event_id))  # type: ignore[arg-type]
    session.commit()


def forget_events_before(*, session: Session, cutoff: datetime) -> int:
    """Drop records older than any retry Slack would still send (it retries within minutes)."""
    result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))  # type: ignore[arg-type]
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
