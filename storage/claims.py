"""Claiming rows of work (pages to fetch, feeds to poll, digests and DMs to send) so that no two
processes take the same one, and taking over the work of a process that died.

A claim is a lease (`claimed_until`) and a holder (`claimed_by`). Each process that claims work
beats (`beat`) every few seconds while it runs; a holder whose last beat is older than GRACE is
gone, and what it held is free at once, whatever its lease says. The lease stays as the last
resort for holders that never beat.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, delete, exists, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from storage.models import WorkerHeartbeat

Row = TypeVar("Row", bound=SQLModel)

BEAT = timedelta(seconds=5)  # how often a running process says it is alive
GRACE = timedelta(seconds=20)  # no beat for this long: the holder is gone
STOPPED = datetime(1970, 1, 1, tzinfo=UTC)  # the beat of a process that stopped cleanly


def holder_gone(table: Any, now: datetime) -> ColumnElement[bool]:
    """The row's holder beat once and has not for GRACE: it died, or stopped."""
    return exists().where(
        col(WorkerHeartbeat.holder) == col(table.claimed_by), col(WorkerHeartbeat.beat_at) < now - GRACE
    )


def unclaimed(table: Any, now: datetime) -> ColumnElement[bool]:
    """Nobody holds the row: never claimed, lease run out, or its holder gone."""
    return or_(col(table.claimed_until).is_(None), col(table.claimed_until) < now, holder_gone(table, now))


def beat(*, session: Session, holder: str, now: datetime, pid: int | None = None) -> None:
    """Say that `holder` is alive (the first beat records it)."""
    changed = session.execute(
        update(WorkerHeartbeat)
        .where(col(WorkerHeartbeat.holder) == holder)
        .values(beat_at=now)
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        host = socket.gethostname()[:255]
        session.add(WorkerHeartbeat(holder=holder, host=host, pid=pid, started_at=now, beat_at=now))
        try:
            session.commit()
        except IntegrityError:  # cannot happen for a fresh holder id; harmless if it does
            session.rollback()
        return
    session.commit()


def stop_beating(*, session: Session, holder: str) -> None:
    """A clean stop: whatever `holder` still holds is free for others at once."""
    session.execute(
        update(WorkerHeartbeat)
        .where(col(WorkerHeartbeat.holder) == holder)
        .values(beat_at=STOPPED)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def forget_heartbeats(*, session: Session, before: datetime) -> int:
    """Remove the beats of processes gone since before `before` (their claims were taken over)."""
    result = session.execute(delete(WorkerHeartbeat).where(col(WorkerHeartbeat.beat_at) < before))
    session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


def claim_due(
    session: Session,
    model: type[Row],
    *,
    due: ColumnElement[bool],
    order_by: list[Any],
    now: datetime,
    lease: timedelta,
    limit: int,
    holder: str | None = None,
) -> list[Row]:
    """Lease up to `limit` rows that are `due` and unclaimed to `holder`, for `lease`; return them.

    One UPDATE … WHERE id IN (due rows) RETURNING: atomic on SQLite (one writer at a time); on
    PostgreSQL the inner select skips rows another worker is claiming (FOR UPDATE SKIP LOCKED).
    Work held by a process that died is taken again once it stops beating, or its lease runs out.
    """
    table: Any = model
    wanted = select(table.id).where(due, unclaimed(table, now)).order_by(*order_by).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        wanted = wanted.with_for_update(skip_locked=True)
    claim = (
        update(table)
        .where(col(table.id).in_(wanted))
        .values(claimed_until=now + lease, claimed_by=holder)
        .returning(col(table.id))
        .execution_options(synchronize_session=False)
    )
    ids = [int(row[0]) for row in session.execute(claim)]
    session.commit()
    if not ids:
        return []
    return list(session.exec(select(model).where(col(table.id).in_(ids)).order_by(*order_by)))  # in their turn


def renew(session: Session, model: type[Row], *, ids: list[int], holder: str, until: datetime) -> None:
    """Extend `holder`'s lease on the rows `ids` it still holds to `until` (work waiting its turn)."""
    table: Any = model
    for chunk in _chunks(ids):
        session.execute(
            update(table)
            .where(col(table.id).in_(chunk), col(table.claimed_by) == holder)
            .values(claimed_until=until)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def give_back(session: Session, model: type[Row], *, ids: list[int], holder: str) -> None:
    """Release `holder`'s claims on the rows `ids` at once, for any process to take again."""
    table: Any = model
    for chunk in _chunks(ids):
        session.execute(
            update(table)
            .where(col(table.id).in_(chunk), col(table.claimed_by) == holder)
            .values(claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
