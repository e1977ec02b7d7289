"""Claiming rows of work (pages to fetch, feeds to poll) so that no two workers take the same one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, update
from sqlmodel import Session, SQLModel, col, select

Row = TypeVar("Row", bound=SQLModel)


def claim_due(
    session: Session,
    model: type[Row],
    *,
    due: ColumnElement[bool],
    order_by: list[Any],
    now: datetime,
    lease: timedelta,
    limit: int,
) -> list[Row]:
    """Lease up to `limit` rows that are `due` and not leased, for `lease`; return them.

    One UPDATE … WHERE id IN (due rows) RETURNING: atomic on SQLite (one writer at a time); on
    PostgreSQL the inner select skips rows another worker is claiming (FOR UPDATE SKIP LOCKED). A
    lease runs out by itself, so work held by a process that died is taken again.
    """
    table: Any = model
    wanted = (
        select(table.id)
        .where(due, (col(table.claimed_until).is_(None)) | (col(table.claimed_until) < now))
        .order_by(*order_by)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        wanted = wanted.with_for_update(skip_locked=True)
    claim = (
        update(table)
        .where(col(table.id).in_(wanted))
        .values(claimed_until=now + lease)
        .returning(col(table.id))
        .execution_options(synchronize_session=False)
    )
    ids = [int(row[0]) for row in session.execute(claim)]
    session.commit()
    if not ids:
        return []
    return list(session.exec(select(model).where(col(table.id).in_(ids)).order_by(col(table.id))))
