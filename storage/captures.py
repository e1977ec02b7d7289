"""The capture queue: messages with links, kept at the ack and captured by a worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.claims import claim_due
from storage.db import write_now
from storage.models import CaptureQueue


def add(engine: Engine, *, team_id: str, message: str, key: str, now: datetime) -> None:
    """Queue a message: one statement on its own connection, committed by itself (this runs for
    every message with a link, while Slack waits for its answer). `key` names the message (its
    edits and deletion carry the same one)."""
    row = {"team_id": team_id, "message": message, "message_key": key[:100], "received_at": now, "attempts": 0}
    write_now(engine, _ADD, row)


_ADD = insert(CaptureQueue.__table__)  # type: ignore[attr-defined]


def claim(*, session: Session, now: datetime, lease: timedelta, limit: int, holder: str | None) -> list[CaptureQueue]:
    """The oldest messages due for capture, leased to `holder`. A message's edit or deletion waits
    until what came before it for the same message is captured, whichever worker holds that."""
    earlier = aliased(CaptureQueue)
    due = and_(
        or_(col(CaptureQueue.next_try_at).is_(None), col(CaptureQueue.next_try_at) <= now),
        ~exists().where(
            col(earlier.message_key) == col(CaptureQueue.message_key), col(earlier.id) < col(CaptureQueue.id)
        ),
    )
    order = [col(CaptureQueue.id)]
    return claim_due(session, CaptureQueue, due=due, order_by=order, now=now, lease=lease, limit=limit, holder=holder)


def done(*, session: Session, row_id: int) -> bool:
    """Captured: gone from the queue, in the transaction that records the capture. False when the
    row was gone already (its author was forgotten since it was claimed): nothing of it may be
    recorded. The row stays locked until the transaction ends (on SQLite, the whole file), so a
    deletion of queued messages (storage.forget) waits for the capture, or the capture for it."""
    deleted = session.execute(delete(CaptureQueue).where(col(CaptureQueue.id) == row_id))
    return bool(deleted.rowcount)  # type: ignore[attr-defined]


def retry(*, session: Session, row_id: int, attempts: int, at: datetime, error: str) -> None:
    session.execute(
        update(CaptureQueue)
        .where(col(CaptureQueue.id) == row_id)
        .values(attempts=attempts, next_try_at=at, error=error[:512], claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def waiting(*, session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(CaptureQueue)).one())
