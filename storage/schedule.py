"""When the next weekly digest can fall due, so a digest pass with nothing to do costs one query.

A full pass that finds nothing left to send records the earliest instant anything could become
due (`DigestSchedule`). Until then `digest run` from cron, and the scheduler inside `peershelf
run`, only read that row. The row belongs to a *basis*: the settings that decide slots and which
workspaces are served, so changing SHELF_DIGEST_DAY, SHELF_DIGEST_TIME, the bot token or the
release makes the next pass a full one. Anything that can bring a digest forward (a person's new
day or time, a workspace installed again) calls `forget`.

`digest run` reads the row without SQLAlchemy (storage.peek); this module writes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import column, insert, table, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from storage.peek import EPOCH, QUERY, Recorded, from_row
from storage.types import UTCDateTime

_schedule = table(
    "digest_schedule",
    column("basis"),
    column("next_at", UTCDateTime()),
    column("version"),
    column("updated_at", UTCDateTime()),
)


def peek(connection: Connection, basis: str) -> Recorded | None:
    """What is recorded for `basis`, or None when nothing is or the database is not at the newest
    migration (the full pass then upgrades it)."""
    query = text(QUERY.format(basis=":basis")).bindparams(basis=basis)
    try:
        row = connection.execute(query).first()
    except DBAPIError:  # no schema yet, or an older one: the full pass upgrades it
        connection.rollback()
        return None
    return from_row(row)


def begin(engine: Engine, basis: str, *, now: datetime) -> Recorded:
    """Before a full pass: the row for `basis`, made if missing, so that a `forget` during the pass
    changes its version and the pass's `record` does not overwrite what it no longer knows."""
    with engine.connect() as connection:
        found = peek(connection, basis)
    if found is not None:
        return found
    try:
        with engine.begin() as connection:
            connection.execute(insert(_schedule).values(basis=basis, next_at=EPOCH, version=0, updated_at=now))
    except IntegrityError:  # a concurrent pass made it first
        pass
    with engine.connect() as connection:
        found = peek(connection, basis)
    return found or Recorded(EPOCH, -1)


def record(engine: Engine, basis: str, next_at: datetime | None, *, seen: Recorded, now: datetime) -> None:
    """After a full pass that began at `seen`: keep `next_at` (None: look again next time), unless
    something was forgotten meanwhile."""
    with engine.begin() as connection:
        connection.execute(
            update(_schedule)
            .where(_schedule.c.basis == basis, _schedule.c.version == seen.version)
            .values(next_at=next_at or EPOCH, updated_at=now)
        )


def forget(connection: Connection) -> None:
    """Something may now be due sooner than recorded: the next pass, whatever its basis, is a full one."""
    connection.execute(update(_schedule).values(next_at=EPOCH, version=_schedule.c.version + 1))
